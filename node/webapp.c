/*
 * webapp.c: the phone pages (see webapp.h). Pages are written into a memory stream; every
 * stored or typed string goes through html_esc. Reads run under store_guarded, so a
 * damaged store is an error page, not a crash.
 */
#include "webapp.h"
#include "webapp_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "html.h"
#include "i18n.h"
#include "query.h"
#include "relief.h"
#include "relief_node.h"
#include "store.h"

static const char head_css[] =
    "body{font:16px/1.4 sans-serif;margin:.6em;max-width:40em}"
    "nav a,.langs a,.langs b{margin-inline-end:1em}.sync,.langs{color:#555;font-size:.9em}"
    "input,select,button{font-size:1em;padding:.35em;margin:.2em 0;box-sizing:border-box}"
    "form.f label{display:block;margin-top:.5em}form.f input,form.f select{width:100%}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;"
    "padding:.3em;text-align:start;vertical-align:top}td.n{text-align:end}.p1{color:#b00;font-"
    "weight:bold}"
    ".p2{color:#a50}.msg{border-inline-start:4px solid #b00;padding:.3em .6em;background:#fee}";

/* ---- the sync line ---------------------------------------------------------------------- */

static void ago(int lang, uint64_t now, uint64_t then, char *out, size_t cap)
{
    uint64_t s = now > then ? (now - then) / 1000 : 0;
    char num[I18N_NUM_MAX];
    if (s < 90) {
        i18n_num(lang, (long long)s, num);
        snprintf(out, cap, i18n_n(lang, "%s second ago", "%s seconds ago", s), num);
    } else if (s < 90 * 60) {
        i18n_num(lang, (long long)(s / 60), num);
        snprintf(out, cap, i18n_n(lang, "%s minute ago", "%s minutes ago", s / 60), num);
    } else if (s < 36 * 3600) {
        i18n_num(lang, (long long)(s / 3600), num);
        snprintf(out, cap, i18n_n(lang, "%s hour ago", "%s hours ago", s / 3600), num);
    } else {
        i18n_num(lang, (long long)(s / 86400), num);
        snprintf(out, cap, i18n_n(lang, "%s day ago", "%s days ago", s / 86400), num);
    }
}

/* s as HTML inside a <bdi> (a peer's name keeps its own direction on a right-to-left
 * page), into out. */
static const char *bdi(const char *s, char *out, size_t cap)
{
    FILE *m = fmemopen(out, cap, "w");
    out[0] = 0;
    if (m) {
        fputs("<bdi>", m);
        html_escs(m, s);
        fputs("</bdi>", m);
        if (ferror(m))
            out[0] = 0;
        fclose(m);
    }
    return out;
}

/* "in sync with hub-a", "last synced with clinic-2 5 min ago", or "not synced yet". */
static void sync_line(FILE *f, int lang, struct status_snapshot *sn, uint64_t now)
{
    struct node_status st;
    const char *who = NULL;
    uint64_t when = 0;
    int live = 0;
    char *json = NULL, when_s[96], who_h[2048];

    status_init(&st);
    if (sn) {
        pthread_mutex_lock(&sn->mu);
        if (sn->json)
            json = strdup(sn->json);
        pthread_mutex_unlock(&sn->mu);
    }
    if (json && status_from_json(json, strlen(json), &st, NULL, 0) == AM_OK) {
        for (size_t i = 0; i < st.n_connected && !live; i++)
            if (!strcmp(st.connected[i].state, "in sync")) {
                who = st.connected[i].name[0] ? st.connected[i].name : st.connected[i].address;
                live = 1;
            }
        for (size_t i = 0; i < st.n_known && !live; i++)
            if (st.known[i].last_seen > when && !st.known[i].self) {
                when = st.known[i].last_seen;
                who = st.known[i].name[0] ? st.known[i].name : st.known[i].address;
            }
    }
    fputs("<p class=\"sync\">", f);
    if (live) {
        fprintf(f, i18n_s(lang, "in sync with %s"), bdi(who, who_h, sizeof who_h));
    } else if (who) {
        ago(lang, now, when, when_s, sizeof when_s);
        /* TRANSLATORS: the first %s is a node's name, the second "5 minutes ago" */
        fprintf(f, i18n_s(lang, "last synced with %s %s"), bdi(who, who_h, sizeof who_h), when_s);
    } else {
        fputs(sn ? i18n_s(lang, "not synced with another node yet")
                 : i18n_s(lang, "sync status: the node is not running"),
              f);
    }
    fputs("</p>\n", f);
    status_free(&st);
    free(json);
}

/* The head of a page, its title, the navigation, the languages (a switcher linking to
 * w->path) and the sync line. */
void webapp_page_top(FILE *f, const struct webapp_ctx *w, const char *title)
{
    int l = w->lang;
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"%s\" dir=\"%s\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>",
            i18n_code(l), i18n_rtl(l) ? "rtl" : "ltr");
    html_escs(f, title);
    fprintf(f, " - aidmesh</title><style>%s</style></head><body>\n<nav><a href=\"/needs\">%s</a>",
            head_css, i18n_s(l, "Needs"));
    if (w->can_write)
        fprintf(f, "<a href=\"/needs/new\">%s</a>", i18n_s(l, "Add a need"));
    fprintf(f, "<a href=\"/stock\">%s</a><a href=\"/catalogue\">%s</a><a href=\"/\">%s</a></nav>\n",
            i18n_s(l, "Stock"), i18n_s(l, "Catalogue"), i18n_s(l, "Overview"));
    webapp_languages(f, l, w->path ? w->path : "/needs");
    sync_line(f, l, w->status, node_wall_ms());
}

void webapp_languages(FILE *f, int lang, const char *path)
{
    fputs("<p class=\"langs\">", f);
    for (int i = 0; i < I18N_LANGS; i++) {
        if (i == lang) {
            fprintf(f, "<b lang=\"%s\">%s</b>", i18n_code(i), i18n_name(i));
            continue;
        }
        fputs("<a href=\"", f);
        html_escs(f, path);
        fprintf(f, "?lang=%s\" lang=\"%s\" hreflang=\"%s\">%s</a>", i18n_code(i), i18n_code(i),
                i18n_code(i), i18n_name(i));
    }
    fputs("</p>\n", f);
}

/* ---- the needs -------------------------------------------------------------------------- */

struct needs_run {
    const struct webapp_ctx *w;
    FILE *f;
    const char *site, *q;
    int status, priority;
};

/* The words relief.h names statuses and priorities with, marked for the catalogue. */
static const char *const relief_words[] = {
    I18N_NOOP("open"), I18N_NOOP("fulfilled"), I18N_NOOP("cancelled"), I18N_NOOP("critical"),
    I18N_NOOP("high"), I18N_NOOP("normal"),    I18N_NOOP("low")};

/* A status's or priority's name (relief_status_name, relief_priority_name) in lang. */
static const char *word(int lang, const char *name)
{
    for (size_t i = 0; name && i < sizeof relief_words / sizeof relief_words[0]; i++)
        if (!strcmp(name, relief_words[i]))
            return i18n_s(lang, relief_words[i]);
    return name ? name : "?";
}

static int pick(const char *v, const char *(*name)(int), int n)
{
    for (int i = 1; v && i <= n; i++)
        if (!strcmp(v, name(i)))
            return i;
    return 0;
}

void webapp_option(FILE *f, const char *value, const char *label, int selected)
{
    fputs("<option value=\"", f);
    html_escs(f, value);
    fprintf(f, "\"%s>", selected ? " selected" : "");
    html_escs(f, label);
    fputs("</option>", f);
}

/* A filter's text box named `name`, showing `hint` while empty, holding v (NULL: empty). */
static void text_input(FILE *f, const char *name, const char *hint, const char *v)
{
    fprintf(f, "<input name=\"%s\" placeholder=\"", name);
    html_escs(f, hint);
    fputs("\" value=\"", f);
    html_escs(f, v ? v : "");
    fputs("\"> ", f);
}

/* A list page's top: the page's head and its filter form's opening, for `path`. */
static void list_top(FILE *f, const struct webapp_ctx *w, const char *title, const char *path,
                     const char *site)
{
    webapp_page_top(f, w, title);
    fprintf(f, "<form method=\"get\" action=\"%s\">", path);
    text_input(f, "site", i18n_s(w->lang, "site"), site);
}

/* A list page's filter form's end, the count of rows (`count`, a sentence made for their
 * number) and the head of their table (`cols`: the labels of its columns), when there are
 * rows. */
static void list_head(FILE *f, int lang, size_t n, const char *count, const char *const *cols,
                      size_t n_cols)
{
    fprintf(f, "<button type=\"submit\">%s</button></form>\n<p>%s</p>\n", i18n_s(lang, "Show"),
            count);
    if (!n)
        return;
    fputs("<table><tr>", f);
    for (size_t i = 0; i < n_cols; i++)
        fprintf(f, "<th>%s</th>", cols[i]);
    fputs("</tr>\n", f);
}

static int needs_build(void *ctx)
{
    struct needs_run *r = ctx;
    FILE *f = r->f;
    int l = r->w->lang;
    const char *const cols[] = {i18n_s(l, "priority"), i18n_s(l, "item, site"),
                                i18n_s(l, "done/qty"), i18n_s(l, "status")};
    char num[I18N_NUM_MAX], count[160];
    struct query *q = NULL;
    const struct query_need *rows;
    size_t n, shown;
    struct query_need_filter nf = {.site = r->site && *r->site ? r->site : NULL,
                                   .status = r->status,
                                   .priority = r->priority,
                                   .text = r->q};
    int rc = query_open(r->w->n->store, 0, &q);
    if (rc == AM_OK)
        rc = query_needs_page(q, &nf, WEBAPP_ROWS_MAX, &rows, &shown, &n);
    if (rc != AM_OK) {
        query_close(q);
        return rc;
    }
    list_top(f, r->w, i18n_s(l, "Needs"), "/needs", r->site);
    fputs("<select name=\"status\">", f);
    webapp_option(f, "any", i18n_s(l, "any status"), r->status == 0);
    for (int i = 1; i <= 3; i++)
        webapp_option(f, relief_status_name(i), word(l, relief_status_name(i)), r->status == i);
    fputs("</select> <select name=\"priority\">", f);
    webapp_option(f, "any", i18n_s(l, "any priority"), r->priority == 0);
    for (int i = 1; i <= 4; i++)
        webapp_option(f, relief_priority_name(i), word(l, relief_priority_name(i)),
                      r->priority == i);
    fputs("</select> ", f);
    text_input(f, "q", i18n_s(l, "search"), r->q);
    i18n_num(l, (long long)n, num);
    snprintf(count, sizeof count, i18n_n(l, "%s need", "%s needs", n), num);
    list_head(f, l, n, count, cols, sizeof cols / sizeof cols[0]);
    for (size_t i = 0; i < shown; i++) {
        const struct query_need *x = &rows[i];
        char day[I18N_DAY_MAX] = "", done[I18N_NUM_MAX], qty[I18N_NUM_MAX];
        if (x->by)
            i18n_day(l, x->by, day);
        i18n_num(l, x->v.delivered, done);
        i18n_num(l, x->q, qty);
        fprintf(f, "<tr class=\"need\" data-id=\"");
        for (unsigned k = 0; k < x->digits && k < 2 * RELIEF_ID_LEN; k++)
            fputc("0123456789abcdef"[(x->v.id[k / 2] >> (k % 2 ? 0 : 4)) & 15], f);
        /* four columns fit a 360-pixel screen: the site under the item, the needed-by
         * day under the status */
        fprintf(f, "\"><td class=\"p%d\">%s</td><td>", x->pri,
                x->pri ? word(l, relief_priority_name(x->pri)) : "?");
        fputs("<a href=\"/needs/", f); /* the need's page (webapp_forms.h) */
        for (size_t k = 0; k < RELIEF_ID_LEN; k++)
            fprintf(f, "%02x", x->v.id[k]);
        fputs("\">", f);
        html_escs(f, x->v.item);
        fputs("</a><br><small>", f);
        html_escs(f, x->v.site);
        fprintf(f, "</small></td><td class=\"n\">%s/%s</td><td>%s", done, qty,
                word(l, relief_status_name(x->v.status)));
        if (day[0]) {
            fputs("<br><small>", f);
            /* TRANSLATORS: %s is a day ("8 Dec 2026") the need must be met by */
            fprintf(f, i18n_s(l, "by %s"), day);
            fputs("</small>", f);
        }
        fputs("</td></tr>\n", f);
    }
    if (n)
        fputs("</table>\n", f);
    if (n > WEBAPP_ROWS_MAX) {
        fputs("<p>", f);
        fprintf(f,
                i18n_s(l, "The first %d are shown: choose a site, a status or a priority to "
                          "see the others."),
                WEBAPP_ROWS_MAX);
        fputs("</p>\n", f);
    }
    fputs("</body></html>\n", f);
    query_close(q);
    return AM_OK;
}

/* Runs build(run) with run's FILE a memory stream; *out the page. */
int webapp_render(struct node *n, int (*build)(void *), void *run, FILE **fp, char **out,
                  size_t *len)
{
    char *buf = NULL;
    size_t blen = 0;
    int rc;
    *out = NULL;
    *len = 0;
    if (!(*fp = open_memstream(&buf, &blen)))
        return AM_ENOMEM;
    rc = store_guarded(n->store, build, run, NULL);
    if (rc == AM_OK && ferror(*fp))
        rc = AM_ENOMEM;
    if (fclose(*fp) != 0 && rc == AM_OK)
        rc = AM_ENOMEM;
    if (rc != AM_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = blen;
    return AM_OK;
}

int webapp_needs(const struct webapp_ctx *w, const char *site, const char *status,
                 const char *priority, const char *q, char **out, size_t *len)
{
    struct needs_run r = {.w = w, .site = site, .q = q};
    r.status = pick(status, relief_status_name, 3);
    r.priority = pick(priority, relief_priority_name, 4);
    if (!status) /* the page opens on what is still needed */
        r.status = RELIEF_ST_OPEN;
    return webapp_render(w->n, needs_build, &r, &r.f, out, len);
}

/* ---- the stock -------------------------------------------------------------------------- */

struct stock_run {
    const struct webapp_ctx *w;
    FILE *f;
    const char *site, *item;
};

static int stock_build(void *ctx)
{
    static const struct {
        unsigned flag;
        const char *word;
    } flags[] = {{QUERY_CELL_OVERDRAWN, I18N_NOOP("overdrawn")},
                 {QUERY_CELL_CONFLICT, I18N_NOOP("counts disagree")},
                 {QUERY_CELL_EXPIRED, I18N_NOOP("expired")},
                 {QUERY_CELL_EXPIRING, I18N_NOOP("expiring")},
                 {QUERY_CELL_BELOW_MIN, I18N_NOOP("below minimum")},
                 {QUERY_CELL_CHECK, I18N_NOOP("check")}};
    struct stock_run *r = ctx;
    FILE *f = r->f;
    int l = r->w->lang;
    const char *const cols[] = {i18n_s(l, "item, site"), i18n_s(l, "lot"), i18n_s(l, "stock")};
    char num[I18N_NUM_MAX], count[160];
    struct query *q = NULL;
    const struct query_cell *rows;
    size_t n;
    struct query_cell_filter cf = {.site = r->site && *r->site ? r->site : NULL,
                                   .item = r->item && *r->item ? r->item : NULL,
                                   .nonzero = 1};
    int rc = query_open(r->w->n->store, 0, &q);
    if (rc == AM_OK)
        rc = query_cells(q, &cf, &rows, &n);
    if (rc != AM_OK) {
        query_close(q);
        return rc;
    }
    list_top(f, r->w, i18n_s(l, "Stock"), "/stock", r->site);
    text_input(f, "item", i18n_s(l, "item"), r->item);
    i18n_num(l, (long long)n, num);
    snprintf(count, sizeof count, i18n_n(l, "%s lot", "%s lots", n), num);
    list_head(f, l, n, count, cols, sizeof cols / sizeof cols[0]);
    for (size_t i = 0; i < n && i < WEBAPP_ROWS_MAX; i++) {
        const struct query_cell *x = &rows[i];
        char day[I18N_DAY_MAX] = "", value[I18N_NUM_MAX];
        int first = 1;
        if (x->v.exp)
            i18n_day(l, x->v.exp, day);
        i18n_num(l, x->v.value, value);
        /* three columns fit a 360-pixel screen: the site under the item, the expiry under
         * the lot, the warnings under the stock */
        fputs("<tr class=\"cell\"><td><a href=\"/stock/update?site=", f); /* record stock */
        html_escs(f, x->v.site);
        fputs("&amp;item=", f);
        html_escs(f, x->v.item);
        fputs("\">", f);
        html_escs(f, x->v.item);
        fputs("</a><br><small>", f);
        html_escs(f, x->v.site);
        fputs("</small></td><td>", f);
        html_escs(f, x->v.lot[0] ? x->v.lot : "-");
        if (day[0]) {
            fputs("<br><small>", f);
            /* TRANSLATORS: %s is the day a lot expires ("8 Dec 2026") */
            fprintf(f, i18n_s(l, "exp. %s"), day);
            fputs("</small>", f);
        }
        fprintf(f, "</td><td class=\"n\">%s", value);
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
            if (x->flags & flags[k].flag) {
                fprintf(f, "%s%s", first ? "<br><small class=\"p1\">" : i18n_s(l, ", "),
                        i18n_s(l, flags[k].word));
                first = 0;
            }
        fputs(first ? "</td></tr>\n" : "</small></td></tr>\n", f);
    }
    if (n)
        fputs("</table>\n", f);
    if (n > WEBAPP_ROWS_MAX) {
        fputs("<p>", f);
        fprintf(f, i18n_s(l, "The first %d are shown: choose a site or an item to see the others."),
                WEBAPP_ROWS_MAX);
        fputs("</p>\n", f);
    }
    fputs("</body></html>\n", f);
    query_close(q);
    return AM_OK;
}

int webapp_stock(const struct webapp_ctx *w, const char *site, const char *item, char **out,
                 size_t *len)
{
    struct stock_run r = {.w = w, .site = site, .item = item};
    return webapp_render(w->n, stock_build, &r, &r.f, out, len);
}

/* ---- a new need ------------------------------------------------------------------------- */

struct form_run {
    const struct webapp_ctx *w;
    FILE *f;
    const struct webapp_need_form *v;
    const char *msg;
};

static void field(FILE *f, const char *label, const char *name, const char *value,
                  const char *extra)
{
    fprintf(f, "<label for=\"%s\">%s</label><input id=\"%s\" name=\"%s\" %s value=\"", name, label,
            name, name, extra);
    html_escs(f, value);
    fputs("\">", f);
}

static int form_build(void *ctx)
{
    struct form_run *r = ctx;
    FILE *f = r->f;
    int l = r->w->lang;
    const struct webapp_need_form *v = r->v;
    struct query *q = NULL;
    const struct relief_node_site *sites;
    const struct relief_node_item *items;
    size_t ns = 0, ni = 0;
    uint8_t raw[16];
    char nonce[WEBAPP_NONCE_LEN + 1];
    int rc = query_open(r->w->n->store, 0, &q);
    if (rc == AM_OK)
        rc = query_sites(q, &sites, &ns);
    if (rc == AM_OK)
        rc = query_items(q, &items, &ni);
    if (rc != AM_OK) {
        query_close(q);
        return rc;
    }
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(nonce, sizeof nonce, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    webapp_page_top(f, r->w, i18n_s(l, "Add a need"));
    fprintf(f, "<h1>%s</h1>\n", i18n_s(l, "Add a need"));
    if (r->msg) {
        fputs("<p class=\"msg\">", f);
        html_escs(f, r->msg);
        fputs("</p>\n", f);
    }
    fprintf(f,
            "<form class=\"f\" method=\"post\" action=\"/needs\"><label for=\"site\">%s</label>"
            "<select id=\"site\" name=\"site\" required>",
            i18n_s(l, "Site"));
    for (size_t i = 0; i < ns; i++)
        webapp_option(f, sites[i].slug, sites[i].slug, v && !strcmp(v->site, sites[i].slug));
    fprintf(f, "</select><label for=\"item\">%s</label><select id=\"item\" name=\"item\" required>",
            i18n_s(l, "Item"));
    for (size_t i = 0; i < ni; i++)
        webapp_option(f, items[i].code, items[i].code, v && !strcmp(v->item, items[i].code));
    fputs("</select>", f);
    field(f, i18n_s(l, "Quantity (base units)"), "qty", v ? v->qty : "",
          "inputmode=\"numeric\" pattern=\"[0-9]+\" maxlength=\"16\" required");
    fprintf(f, "<label for=\"priority\">%s</label><select id=\"priority\" name=\"priority\">",
            i18n_s(l, "Priority"));
    for (int i = 1; i <= 4; i++)
        webapp_option(f, relief_priority_name(i), word(l, relief_priority_name(i)),
                      v && v->priority[0] ? !strcmp(v->priority, relief_priority_name(i))
                                          : i == RELIEF_PRI_NORMAL);
    fputs("</select>", f);
    field(f, i18n_s(l, "Note (optional)"), "note", v ? v->note : "", "maxlength=\"500\"");
    fprintf(f, "<input type=\"hidden\" name=\"nonce\" value=\"%s\">", nonce);
    if (r->w->csrf && *r->w->csrf) {
        fputs("<input type=\"hidden\" name=\"csrf\" value=\"", f);
        html_escs(f, r->w->csrf);
        fputs("\">", f);
    }
    fprintf(f, "<button type=\"submit\">%s</button></form>\n</body></html>\n",
            i18n_s(l, "Add the need"));
    query_close(q);
    return AM_OK;
}

int webapp_need_form(const struct webapp_ctx *w, const struct webapp_need_form *f, const char *msg,
                     char **out, size_t *len)
{
    struct form_run r = {.w = w, .v = f, .msg = msg};
    return webapp_render(w->n, form_build, &r, &r.f, out, len);
}

int webapp_need_add(const struct webapp_ctx *w, const struct webapp_need_form *f, char *id_hex,
                    char *msg, size_t cap)
{
    struct relief_op op;
    uint8_t hash[AM_HASH_LEN], id[RELIEF_ID_LEN];
    char err[RELIEF_ERR_MAX + 64], *end, max[I18N_NUM_MAX];
    unsigned long long v;
    int rc, l = w->lang;

    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_OPEN;
    if (!f->site[0] || !f->item[0]) {
        snprintf(msg, cap, "%s", i18n_s(l, "Choose a site and an item."));
        return AM_EINVAL;
    }
    errno = 0;
    v = f->qty[0] >= '0' && f->qty[0] <= '9' ? strtoull(f->qty, &end, 10) : 0;
    if (!f->qty[0] || f->qty[0] < '0' || f->qty[0] > '9' || errno || *end || v == 0 ||
        v > (unsigned long long)RELIEF_QTY_MAX) {
        i18n_num(l, (long long)RELIEF_QTY_MAX, max);
        snprintf(msg, cap, i18n_s(l, "The quantity must be a whole number from 1 to %s."), max);
        return AM_EINVAL;
    }
    op.q = (int64_t)v;
    op.pri = f->priority[0] ? pick(f->priority, relief_priority_name, 4) : RELIEF_PRI_NORMAL;
    if (!op.pri) {
        snprintf(msg, cap, "%s", i18n_s(l, "Choose a priority: critical, high, normal or low."));
        return AM_EINVAL;
    }
    op.site.p = f->site;
    op.site.len = (uint32_t)strlen(f->site);
    op.item.p = f->item;
    op.item.len = (uint32_t)strlen(f->item);
    op.has = RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_ITEM) | RELIEF_HAS(RELIEF_K_Q) |
             RELIEF_HAS(RELIEF_K_PRI);
    if (f->note[0]) {
        op.note.p = f->note;
        op.note.len = (uint32_t)strlen(f->note);
        op.has |= RELIEF_HAS(RELIEF_K_NOTE);
    }
    err[0] = 0;
    rc = relief_node_write_as(w->n, w->sk, &op, 1, 0, err, sizeof err, hash);
    if (rc == AM_ENOTFOUND) {
        snprintf(msg, cap, "%s",
                 i18n_s(l, "This node does not know that site or item (yet): choose one from "
                           "the list, or sync with the hub first."));
        return rc;
    }
    if (rc != AM_OK) {
        /* TRANSLATORS: %s is the node's reason, in English */
        snprintf(msg, cap, i18n_s(l, "The need was not stored: %s"),
                 err[0] ? err : am_strerror(rc));
        return rc == AM_ELIMIT ? AM_EINVAL : rc;
    }
    relief_need_id(hash, id);
    relief_id_hex(id, id_hex);
    return AM_OK;
}
