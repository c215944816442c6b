/* i18n_test.c: the web app's languages (node/i18n.c). Accept-Language is weighed by q
 * (ties: the first), with limits, and a bad item is skipped; the lang cookie and ?lang=
 * come first; the catalogues built from po/ give French, Spanish and Arabic sentences; an
 * unknown language or a sentence without a translation falls back to the msgid (English);
 * plural forms match gettext's own ngettext for small and large n; numbers and days are
 * written the language's way; the pairing page is French in French and right to left in
 * Arabic. The catalogues are read from the build tree (i18n_init's default when the test
 * runs from it), before main: i18n_init refuses to run beside other threads (AM_ESTATE),
 * and Criterion's workers have some. */
#include <criterion/criterion.h>
#include <libintl.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "http_pair.h"
#include "i18n.h"
#include "relief.h"

/* i18n_init must run before any thread starts, and Criterion's workers run threads of
 * their own: the catalogues are read before main, and each test's process inherits them. */
static int init_rc;
static char init_err[400];
__attribute__((constructor)) static void read_catalogues(void)
{
    init_rc = i18n_init(NULL, init_err, sizeof init_err);
}

static void load(void)
{
    cr_assert_eq(init_rc, AM_OK, "i18n_init: %d %s", init_rc, init_err);
}

Test(i18n, accept_language_by_q_then_order)
{
    cr_assert_eq(i18n_accept("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7"), I18N_FR);
    cr_assert_eq(i18n_accept("de-CH, de;q=0.9, es;q=0.5, ar;q=0.6"), I18N_AR);
    cr_assert_eq(i18n_accept("en;q=0.5, es;q=0.5"), I18N_EN, "a tie: the first");
    cr_assert_eq(i18n_accept("ES"), I18N_ES, "case is ignored");
    cr_assert_eq(i18n_accept("ar-EG"), I18N_AR, "a region: its language");
    cr_assert_eq(i18n_accept("de, *;q=0.1"), I18N_EN, "* is English");
    cr_assert_eq(i18n_accept("de, pt-BR"), -1, "none shipped");
    cr_assert_eq(i18n_accept(""), -1);
    cr_assert_eq(i18n_accept(NULL), -1);
    cr_assert_eq(i18n_accept("fr;q=0, es;q=0.001"), I18N_ES, "q=0 refuses");
    cr_assert_eq(i18n_accept("fr;q=0"), -1);
    cr_assert_eq(i18n_accept("fr;q=1.000"), I18N_FR);
    cr_assert_eq(i18n_accept("  es ; q=0.3 ,\tfr\t;\tQ=0.4 "), I18N_FR, "spaces and tabs");
}

Test(i18n, accept_language_skips_bad_items)
{
    cr_assert_eq(i18n_accept("fr;q=2, es;q=0.1"), I18N_ES, "q over 1");
    cr_assert_eq(i18n_accept("fr;q=0.1234, es;q=0.1"), I18N_ES, "four decimals");
    cr_assert_eq(i18n_accept("fr;q=1.5, es;q=0.1"), I18N_ES);
    cr_assert_eq(i18n_accept("fr;q=, es;q=0.1"), I18N_ES);
    cr_assert_eq(i18n_accept("fr;level=1, es;q=0.1"), I18N_ES, "a parameter other than q");
    cr_assert_eq(i18n_accept("f*r, es;q=0.1"), I18N_ES, "a star inside a tag");
    cr_assert_eq(i18n_accept("fr<script>, es;q=0.1"), I18N_ES);
    cr_assert_eq(i18n_accept("fr;q=0.5;q=0.9, es;q=0.1"), I18N_ES, "two weights");
    cr_assert_eq(i18n_accept(",,,, es"), I18N_ES, "empty items");
    cr_assert_eq(i18n_accept("fra, es;q=0.1"), I18N_ES, "a three-letter code not shipped");
}

Test(i18n, accept_language_limits)
{
    char h[4096], tag[64];
    size_t o = 0;
    /* I18N_ACCEPT_ITEMS items of German, then French: French is past the limit */
    for (int i = 0; i < I18N_ACCEPT_ITEMS; i++)
        o += (size_t)snprintf(h + o, sizeof h - o, "de;q=0.%d,", i % 10);
    snprintf(h + o, sizeof h - o, "fr");
    cr_assert_eq(i18n_accept(h), -1, "items past I18N_ACCEPT_ITEMS are not weighed");
    /* a long header: French past I18N_HEADER_MAX bytes */
    memset(h, ' ', sizeof h);
    memcpy(h + I18N_HEADER_MAX, ",fr", 4);
    cr_assert_eq(i18n_accept(h), -1, "bytes past I18N_HEADER_MAX are not read");
    memcpy(h + I18N_HEADER_MAX - 4, ",fr", 4);
    cr_assert_eq(i18n_accept(h), I18N_FR);
    /* a tag over I18N_TAG_MAX */
    memset(tag, 'a', sizeof tag);
    memcpy(tag, "fr-", 3);
    tag[I18N_TAG_MAX + 1] = 0;
    snprintf(h, sizeof h, "%s, es;q=0.1", tag);
    cr_assert_eq(i18n_accept(h), I18N_ES, "an over-long tag is skipped");
    tag[I18N_TAG_MAX] = 0;
    snprintf(h, sizeof h, "%s, es;q=0.1", tag);
    cr_assert_eq(i18n_accept(h), I18N_FR);
}

Test(i18n, cookie_and_choice)
{
    int set;
    cr_assert_eq(i18n_cookie("lang=ar"), I18N_AR);
    cr_assert_eq(i18n_cookie("am_dev=abc; lang=es; x=y"), I18N_ES);
    cr_assert_eq(i18n_cookie("xlang=fr; lang = fr "), I18N_FR, "a longer name is another cookie");
    cr_assert_eq(i18n_cookie("lang=de; lang=fr"), -1, "the first lang cookie decides");
    cr_assert_eq(i18n_cookie("lang"), -1);
    cr_assert_eq(i18n_cookie("lang=frr"), -1);
    cr_assert_eq(i18n_cookie(NULL), -1);
    cr_assert_eq(i18n_pick("fr", "lang=ar", "es", &set), I18N_FR);
    cr_assert_eq(set, 1, "?lang= is kept in a cookie");
    cr_assert_eq(i18n_pick("xx", "lang=ar", "es", &set), I18N_AR);
    cr_assert_eq(set, 0);
    cr_assert_eq(i18n_pick(NULL, NULL, "es-MX", &set), I18N_ES);
    cr_assert_eq(i18n_pick(NULL, "lang=zz", "de", &set), I18N_EN, "else English");
    cr_assert_str_eq(i18n_set_cookie(I18N_AR),
                     "lang=ar; Path=/; Max-Age=31536000; SameSite=Strict; HttpOnly");
}

Test(i18n, lookups_and_fallbacks)
{
    load();
    for (int l = 0; l < I18N_LANGS; l++)
        cr_assert(i18n_loaded(l), "%s's catalogue was read", i18n_code(l));
    cr_assert_str_eq(i18n_s(I18N_FR, "Needs"), "Besoins");
    cr_assert_str_eq(i18n_s(I18N_ES, "Needs"), "Necesidades");
    cr_assert_str_eq(i18n_s(I18N_AR, "Needs"), "الاحتياجات");
    cr_assert_str_eq(i18n_s(I18N_FR, "Add a need"), "Ajouter un besoin");
    cr_assert_str_eq(i18n_s(I18N_EN, "Needs"), "Needs");
    cr_assert_str_eq(i18n_s(9, "Needs"), "Needs", "an unknown language: English");
    cr_assert_str_eq(i18n_s(-1, "Needs"), "Needs");
    cr_assert_str_eq(i18n_s(I18N_FR, "a sentence no catalogue holds"),
                     "a sentence no catalogue holds", "no translation: the msgid");
    cr_assert_str_eq(i18n_n(I18N_FR, "one %s thing", "%s things", 1), "one %s thing");
    cr_assert_str_eq(i18n_n(I18N_FR, "one %s thing", "%s things", 2), "%s things");
    cr_assert_str_eq(i18n_n(I18N_FR, "%s minute ago", "%s minutes ago", 0), "il y a %s minute");
    cr_assert_str_eq(i18n_n(I18N_FR, "%s minute ago", "%s minutes ago", 5), "il y a %s minutes");
    cr_assert_str_eq(i18n_n(I18N_AR, "%s minute ago", "%s minutes ago", 2), "منذ دقيقتين");
    cr_assert_str_eq(i18n_n(I18N_AR, "%s minute ago", "%s minutes ago", 5), "منذ %s دقائق");
    cr_assert_str_eq(i18n_n(I18N_AR, "%s minute ago", "%s minutes ago", 11), "منذ %s دقيقة");
    cr_assert_str_eq(i18n_n(I18N_EN, "%s minute ago", "%s minutes ago", 1), "%s minute ago");
    cr_assert_eq(i18n_rtl(I18N_AR), 1);
    cr_assert_eq(i18n_rtl(I18N_FR), 0);
    char err[8];
    cr_assert_eq(i18n_init("/nonexistent", err, sizeof err), AM_OK, "a second call: the first");
}

/* The table's plural forms against gettext's own, for every plural msgid and many n
 * (below and above I18N_PLURAL_SPAN): the rule i18n.c relies on for large n holds. */
Test(i18n, plural_forms_match_ngettext)
{
    locale_t c = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0), prev;
    static const unsigned long long big[] = {
        200,  201,   202,     203,     210,     211,     299,           300,
        1000, 1001,  1002,    1003,    1011,    1099,    1100,          1101,
        1102, 12345, 1000000, 1000001, 1000002, 1000011, 4294967295ULL, 4294967296ULL};
    load();
    cr_assert(c != NULL);
    prev = uselocale(c);
    for (int l = I18N_FR; l < I18N_LANGS; l++) {
        setenv("LANGUAGE", i18n_code(l), 1);
        textdomain(textdomain(NULL));
        for (size_t i = 0; i < i18n_n_msgids; i++) {
            const struct i18n_msgid *m = &i18n_msgids[i];
            if (!m->many)
                continue;
            for (unsigned long long n = 0; n < 1200 + sizeof big / sizeof big[0]; n++) {
                unsigned long long v = n < 1200 ? n : big[n - 1200];
                const char *want = dngettext(I18N_DOMAIN, m->one, m->many, (unsigned long)v);
                cr_assert_str_eq(i18n_n(l, m->one, m->many, v), want, "%s n=%llu '%s'",
                                 i18n_code(l), v, m->one);
            }
        }
    }
    unsetenv("LANGUAGE");
    uselocale(prev);
    freelocale(c);
}

Test(i18n, numbers)
{
    char b[I18N_NUM_MAX];
    i18n_num(I18N_EN, 10316, b);
    cr_assert_str_eq(b, "10,316");
    i18n_num(I18N_FR, 10316, b);
    cr_assert_str_eq(b, "10\u202f316");
    i18n_num(I18N_ES, 10316, b);
    cr_assert_str_eq(b, "10.316");
    i18n_num(I18N_ES, 1000, b);
    cr_assert_str_eq(b, "1000", "Spanish groups from five digits");
    i18n_num(I18N_AR, 10316, b);
    cr_assert_str_eq(b, "10\u066c316");
    i18n_num(I18N_EN, 999, b);
    cr_assert_str_eq(b, "999");
    i18n_num(I18N_EN, 1000, b);
    cr_assert_str_eq(b, "1,000");
    i18n_num(I18N_EN, -1234567, b);
    cr_assert_str_eq(b, "-1,234,567");
    i18n_num(I18N_EN, 0, b);
    cr_assert_str_eq(b, "0");
    i18n_num(I18N_EN, LLONG_MIN, b);
    cr_assert_str_eq(b, "-9,223,372,036,854,775,808");
    i18n_num(I18N_FR, LLONG_MIN, b); /* the longest: 6 three-byte separators */
    cr_assert_eq(strlen(b), 1 + 19 + 6 * 3);
}

Test(i18n, days)
{
    char b[I18N_DAY_MAX];
    uint32_t day;
    load();
    cr_assert_eq(relief_day_parse("2026-12-08", &day), AM_OK);
    i18n_day(I18N_EN, day, b);
    cr_assert_str_eq(b, "8 Dec 2026");
    i18n_day(I18N_FR, day, b);
    cr_assert_str_eq(b, "8 déc. 2026");
    i18n_day(I18N_ES, day, b);
    cr_assert_str_eq(b, "8 dic 2026");
    i18n_day(I18N_AR, day, b);
    cr_assert_str_eq(b, "8 ديسمبر 2026");
    i18n_day(I18N_EN, 0, b);
    cr_assert_str_eq(b, "1 Jan 1970");
}

Test(i18n, pairing_page_in_french_and_arabic)
{
    size_t len;
    char *p;
    load();
    p = http_pair_page_lang(I18N_FR, NULL, &len);
    cr_assert(p != NULL);
    cr_assert(strstr(p, "<html lang=\"fr\" dir=\"ltr\">") != NULL);
    cr_assert(strstr(p, "<h1>Appairer ce téléphone</h1>") != NULL);
    cr_assert(strstr(p, "Code d’appairage") != NULL);
    cr_assert(strstr(p, "<a href=\"/pair?lang=ar\" lang=\"ar\"") != NULL, "the switcher");
    free(p);
    p = http_pair_page_lang(I18N_AR, "<b>", &len);
    cr_assert(p != NULL);
    cr_assert(strstr(p, "<html lang=\"ar\" dir=\"rtl\">") != NULL);
    cr_assert(strstr(p, "إقران هذا الهاتف") != NULL);
    cr_assert(strstr(p, "&lt;b&gt;") != NULL, "the sentence is escaped");
    free(p);
    p = http_pair_page(NULL, &len);
    cr_assert(strstr(p, "<html lang=\"en\" dir=\"ltr\">") != NULL);
    cr_assert(strstr(p, "<h1>Pair this phone</h1>") != NULL);
    free(p);
}
