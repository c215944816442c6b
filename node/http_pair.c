/*
 * http_pair.c: the guard against guessed pairing codes and the pairing page (see
 * http_pair.h). Pure but for memory: no I/O, no clock (time comes in now_ms).
 */
#include "http_pair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "i18n.h"
#include "webapp.h"

/* A count that started more than the lock's length ago is stale: it starts again. */
static void refresh(uint32_t *fails, uint64_t *first_ms, uint64_t now_ms)
{
    if (*fails && now_ms - *first_ms >= (uint64_t)HTTP_PAIR_LOCK_S * 1000)
        *fails = 0;
}

static struct http_pair_addr *find(const struct http_pair_guard *g, const uint8_t key[16])
{
    for (size_t i = 0; i < HTTP_PAIR_ADDRS; i++)
        if ((g->a[i].fails || g->a[i].until_ms) && memcmp(g->a[i].key, key, 16) == 0)
            return (struct http_pair_addr *)&g->a[i];
    return NULL;
}

static unsigned secs_left(uint64_t until_ms, uint64_t now_ms)
{
    return until_ms > now_ms ? (unsigned)((until_ms - now_ms + 999) / 1000) : 0;
}

unsigned http_pair_wait(const struct http_pair_guard *g, const uint8_t key[16], uint64_t now_ms)
{
    const struct http_pair_addr *a = find(g, key);
    unsigned all = secs_left(g->all_until_ms, now_ms), one = a ? secs_left(a->until_ms, now_ms) : 0;
    return all > one ? all : one;
}

void http_pair_failed(struct http_pair_guard *g, const uint8_t key[16], uint64_t now_ms)
{
    struct http_pair_addr *a = find(g, key);
    if (!a) { /* a free slot, else the unlocked one whose first failure is oldest, else
                 the one whose lock ends first: a locked address is the last forgotten */
        for (size_t i = 0; i < HTTP_PAIR_ADDRS; i++) {
            struct http_pair_addr *b = &g->a[i];
            int free_b = b->until_ms <= now_ms, free_a = a && a->until_ms <= now_ms;
            if (!b->fails && free_b) {
                a = b;
                break;
            }
            if (!a || (free_b && !free_a) ||
                (free_b == free_a &&
                 (free_b ? b->first_ms < a->first_ms : b->until_ms < a->until_ms)))
                a = b;
        }
        memset(a, 0, sizeof *a);
        memcpy(a->key, key, 16);
    }
    refresh(&a->fails, &a->first_ms, now_ms);
    if (a->fails++ == 0)
        a->first_ms = now_ms;
    if (a->fails >= HTTP_PAIR_FAILS_PER_ADDR) {
        a->until_ms = now_ms + (uint64_t)HTTP_PAIR_LOCK_S * 1000;
        a->fails = 0;
    }
    refresh(&g->all_fails, &g->all_first_ms, now_ms);
    if (g->all_fails++ == 0)
        g->all_first_ms = now_ms;
    if (g->all_fails >= HTTP_PAIR_FAILS_ALL) {
        g->all_until_ms = now_ms + (uint64_t)HTTP_PAIR_LOCK_S * 1000;
        g->all_fails = 0;
    }
}

void http_pair_succeeded(struct http_pair_guard *g, const uint8_t key[16])
{
    struct http_pair_addr *a = find(g, key);
    if (a)
        a->fails = 0;
}

/* ---- the page ------------------------------------------------------------------------- */

static const char page_css[] =
    "body{font:16px/1.4 sans-serif;margin:1em;max-width:30em}"
    "input,button{font-size:1.2em;padding:.4em;width:100%;box-sizing:border-box;margin:.3em 0}"
    ".msg{border-inline-start:4px solid #b00;padding:.3em .6em;background:#fee}"
    ".langs{color:#555;font-size:.9em}.langs a,.langs b{margin-inline-end:1em}";

char *http_pair_page_lang(int lang, const char *sentence, size_t *len)
{
    char *buf = NULL;
    size_t blen = 0;
    int bad;
    FILE *f = open_memstream(&buf, &blen);
    if (!f)
        return NULL;
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"%s\" dir=\"%s\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>%s - aidmesh</title><style>%s</style></head><body>",
            i18n_code(lang), i18n_rtl(lang) ? "rtl" : "ltr", i18n_s(lang, "Pair this phone"),
            page_css);
    webapp_languages(f, lang, "/pair");
    fprintf(f, "<h1>%s</h1>\n", i18n_s(lang, "Pair this phone"));
    if (sentence) {
        fputs("<p class=\"msg\">", f);
        html_escs(f, sentence);
        fputs("</p>\n", f);
    }
    fputs("<p>", f);
    /* TRANSLATORS: %s is the command, shown as code: aidmesh web pair */
    fprintf(f,
            i18n_s(lang, "Ask the coordinator for a pairing code: on the node, %s shows one. It "
                         "works once, for ten minutes."),
            "<code>aidmesh web pair</code>");
    fprintf(f,
            "</p>\n<form method=\"post\" action=\"/pair\"><label for=\"code\">%s</label>"
            "<input id=\"code\" name=\"code\" autocomplete=\"off\" autocapitalize=\"characters\" "
            "spellcheck=\"false\" maxlength=\"16\" required>"
            "<button type=\"submit\">%s</button></form>\n</body></html>\n",
            i18n_s(lang, "Pairing code"), i18n_s(lang, "Pair"));
    bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(buf);
        return NULL;
    }
    *len = blen;
    return buf;
}

char *http_pair_unpaired_page(int lang, size_t *len)
{
    char *buf = NULL;
    size_t blen = 0;
    int bad;
    FILE *f = open_memstream(&buf, &blen);
    if (!f)
        return NULL;
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"%s\" dir=\"%s\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>aidmesh</title><style>%s</style></head><body>",
            i18n_code(lang), i18n_rtl(lang) ? "rtl" : "ltr", page_css);
    webapp_languages(f, lang, "/pair");
    fprintf(f, "<p>%s</p>\n<p><a href=\"/pair\">%s</a></p>\n</body></html>\n",
            i18n_s(lang, "This phone is not paired with this node (or it was removed)."),
            i18n_s(lang, "Pair it with a code from the coordinator"));
    bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(buf);
        return NULL;
    }
    *len = blen;
    return buf;
}

char *http_pair_page(const char *sentence, size_t *len)
{
    return http_pair_page_lang(I18N_EN, sentence, len);
}
