/*
 * webapp.c: the phone pages (see webapp.h). Pages are written into a memory stream; every
 * stored or typed string goes through html_esc. Reads run under store_guarded, so a
 * damaged store is an error page, not a crash.
 */
#include "webapp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "html.h"
#include "query.h"
#include "relief.h"
#include "relief_node.h"
#include "store.h"

static const char head_css[] =
    "body{font:16px/1.4 sans-serif;margin:.6em;max-width:40em}"
    "nav a{margin-right:1em}.sync{color:#555;font-size:.9em}"
    "input,select,button{font-size:1em;padding:.35em;margin:.2em 0;box-sizing:border-box}"
    "form.f label{display:block;margin-top:.5em}form.f input,form.f select{width:100%}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;"
    "padding:.3em;text-align:left;vertical-align:top}td.n{text-align:right}.p1{color:#b00;font-"
    "weight:bold}"
    ".p2{color:#a50}.msg{border-left:4px solid #b00;padding:.3em .6em;background:#fee}";

/* ---- the sync line ---------------------------------------------------------------------- */

static void ago(uint64_t now, uint64_t then, char *out, size_t cap)
{
    uint64_t s = now > then ? (now - then) / 1000 : 0;
    if (s < 90)
        snprintf(out, cap, "%llu s ago", (unsigned long long)s);
    else if (s < 90 * 60)
        snprintf(out, cap, "%llu min ago", (unsigned long long)(s / 60));
    else if (s < 36 * 3600)
        snprintf(out, cap, "%llu h ago", (unsigned long long)(s / 3600));
    else
        snprintf(out, cap, "%llu d ago", (unsigned long long)(s / 86400));
}

/* "in sync with hub-a", "last synced with clinic-2 5 min ago", or "not synced yet". */
static void sync_line(FILE *f, struct status_snapshot *sn, uint64_t now)
{
    struct node_status st;
    const char *who = NULL;
    uint64_t when = 0;
    int live = 0;
    char *json = NULL, when_s[32];

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
        fputs("in sync with ", f);
        html_escs(f, who);
    } else if (who) {
        ago(now, when, when_s, sizeof when_s);
        fputs("last synced with ", f);
        html_escs(f, who);
        fprintf(f, " %s", when_s);
    } else {
        fputs(sn ? "not synced with another node yet" : "sync status: the node is not running", f);
    }
    fputs("</p>\n", f);
    status_free(&st);
    free(json);
}

static void page_top(FILE *f, const struct webapp_ctx *w, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>",
          f);
    html_escs(f, title);
    fprintf(f,
            " - aidmesh</title><style>%s</style></head><body>\n<nav><a href=\"/needs\">Needs</a>",
            head_css);
    if (w->can_write)
        fputs("<a href=\"/needs/new\">Add a need</a>", f);
    fputs("<a href=\"/stock\">Stock</a><a href=\"/\">Overview</a></nav>\n", f);
    sync_line(f, w->status, node_wall_ms());
}

/* ---- the needs -------------------------------------------------------------------------- */

struct needs_run {
    const struct webapp_ctx *w;
    FILE *f;
    const char *site, *q;
    int status, priority;
};

static int pick(const char *v, const char *(*name)(int), int n)
{
    for (int i = 1; v && i <= n; i++)
        if (!strcmp(v, name(i)))
            return i;
    return 0;
}

static void option(FILE *f, const char *value, const char *label, int selected)
{
    fputs("<option value=\"", f);
    html_escs(f, value);
    fprintf(f, "\"%s>", selected ? " selected" : "");
    html_escs(f, label);
    fputs("</option>", f);
}

/* A filter's text box named `name`, holding v (NULL: empty). */
static void text_input(FILE *f, const char *name, const char *v)
{
    fprintf(f, "<input name=\"%s\" placeholder=\"%s\" value=\"", name, name);
    html_escs(f, v ? v : "");
    fputs("\"> ", f);
}

/* A list page's top: the page's head and its filter form's opening, for `path`. */
static void list_top(FILE *f, const struct webapp_ctx *w, const char *title, const char *path,
                     const char *site)
{
    page_top(f, w, title);
    fprintf(f, "<form method=\"get\" action=\"%s\">", path);
    text_input(f, "site", site);
}

/* A list page's filter form's end, the count of rows (`what`, plural with an s) and the
 * head of their table (`cols`: its th cells), when there are rows. */
static void list_head(FILE *f, size_t n, const char *what, const char *cols)
{
    fprintf(f, "<button type=\"submit\">Show</button></form>\n<p>%zu %s%s</p>\n", n, what,
            n == 1 ? "" : "s");
    if (n)
        fprintf(f, "<table><tr>%s</tr>\n", cols);
}

static int needs_build(void *ctx)
{
    struct needs_run *r = ctx;
    FILE *f = r->f;
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
    list_top(f, r->w, "Needs", "/needs", r->site);
    fputs("<select name=\"status\">", f);
    option(f, "any", "any status", r->status == 0);
    for (int i = 1; i <= 3; i++)
        option(f, relief_status_name(i), relief_status_name(i), r->status == i);
    fputs("</select> <select name=\"priority\">", f);
    option(f, "any", "any priority", r->priority == 0);
    for (int i = 1; i <= 4; i++)
        option(f, relief_priority_name(i), relief_priority_name(i), r->priority == i);
    fputs("</select> ", f);
    text_input(f, "q", r->q);
    list_head(f, n, "need", "<th>priority</th><th>item, site</th><th>done/qty</th><th>status</th>");
    for (size_t i = 0; i < shown; i++) {
        const struct query_need *x = &rows[i];
        char day[11] = "";
        if (x->by)
            relief_day_format(x->by, day);
        fprintf(f, "<tr class=\"need\" data-id=\"");
        for (unsigned k = 0; k < x->digits && k < 2 * RELIEF_ID_LEN; k++)
            fputc("0123456789abcdef"[(x->v.id[k / 2] >> (k % 2 ? 0 : 4)) & 15], f);
        /* four columns fit a 360-pixel screen: the site under the item, the needed-by
         * day under the status */
        fprintf(f, "\"><td class=\"p%d\">%s</td><td>", x->pri,
                x->pri ? relief_priority_name(x->pri) : "?");
        html_escs(f, x->v.item);
        fputs("<br><small>", f);
        html_escs(f, x->v.site);
        fprintf(f, "</small></td><td class=\"n\">%lld/%lld</td><td>%s", (long long)x->v.delivered,
                (long long)x->q, relief_status_name(x->v.status));
        if (day[0])
            fprintf(f, "<br><small>by %s</small>", day);
        fputs("</td></tr>\n", f);
    }
    if (n)
        fputs("</table>\n", f);
    if (n > WEBAPP_ROWS_MAX)
        fprintf(f,
                "<p>The first %d are shown: choose a site, a status or a priority to see "
                "the others.</p>\n",
                WEBAPP_ROWS_MAX);
    fputs("</body></html>\n", f);
    query_close(q);
    return AM_OK;
}

/* Runs build(run) with run's FILE a memory stream; *out the page. */
static int render(struct node *n, int (*build)(void *), void *run, FILE **fp, char **out,
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
    return render(w->n, needs_build, &r, &r.f, out, len);
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
    } flags[] = {{QUERY_CELL_OVERDRAWN, "overdrawn"},     {QUERY_CELL_CONFLICT, "counts disagree"},
                 {QUERY_CELL_EXPIRED, "expired"},         {QUERY_CELL_EXPIRING, "expiring"},
                 {QUERY_CELL_BELOW_MIN, "below minimum"}, {QUERY_CELL_CHECK, "check"}};
    struct stock_run *r = ctx;
    FILE *f = r->f;
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
    list_top(f, r->w, "Stock", "/stock", r->site);
    text_input(f, "item", r->item);
    list_head(f, n, "lot", "<th>item, site</th><th>lot</th><th>stock</th>");
    for (size_t i = 0; i < n && i < WEBAPP_ROWS_MAX; i++) {
        const struct query_cell *x = &rows[i];
        char day[11] = "";
        int first = 1;
        if (x->v.exp)
            relief_day_format(x->v.exp, day);
        /* three columns fit a 360-pixel screen: the site under the item, the expiry under
         * the lot, the warnings under the stock */
        fputs("<tr class=\"cell\"><td>", f);
        html_escs(f, x->v.item);
        fputs("<br><small>", f);
        html_escs(f, x->v.site);
        fputs("</small></td><td>", f);
        html_escs(f, x->v.lot[0] ? x->v.lot : "-");
        if (day[0])
            fprintf(f, "<br><small>exp. %s</small>", day);
        fprintf(f, "</td><td class=\"n\">%lld", (long long)x->v.value);
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
            if (x->flags & flags[k].flag) {
                fprintf(f, "%s%s", first ? "<br><small class=\"p1\">" : ", ", flags[k].word);
                first = 0;
            }
        fputs(first ? "</td></tr>\n" : "</small></td></tr>\n", f);
    }
    if (n)
        fputs("</table>\n", f);
    if (n > WEBAPP_ROWS_MAX)
        fprintf(f, "<p>The first %d are shown: choose a site or an item to see the others.</p>\n",
                WEBAPP_ROWS_MAX);
    fputs("</body></html>\n", f);
    query_close(q);
    return AM_OK;
}

int webapp_stock(const struct webapp_ctx *w, const char *site, const char *item, char **out,
                 size_t *len)
{
    struct stock_run r = {.w = w, .site = site, .item = item};
    return render(w->n, stock_build, &r, &r.f, out, len);
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
    page_top(f, r->w, "Add a need");
    fputs("<h1>Add a need</h1>\n", f);
    if (r->msg) {
        fputs("<p class=\"msg\">", f);
        html_escs(f, r->msg);
        fputs("</p>\n", f);
    }
    fputs("<form class=\"f\" method=\"post\" action=\"/needs\"><label for=\"site\">Site</label>"
          "<select id=\"site\" name=\"site\" required>",
          f);
    for (size_t i = 0; i < ns; i++)
        option(f, sites[i].slug, sites[i].slug, v && !strcmp(v->site, sites[i].slug));
    fputs("</select><label for=\"item\">Item</label><select id=\"item\" name=\"item\" required>",
          f);
    for (size_t i = 0; i < ni; i++)
        option(f, items[i].code, items[i].code, v && !strcmp(v->item, items[i].code));
    fputs("</select>", f);
    field(f, "Quantity (base units)", "qty", v ? v->qty : "",
          "inputmode=\"numeric\" pattern=\"[0-9]+\" maxlength=\"16\" required");
    fputs("<label for=\"priority\">Priority</label><select id=\"priority\" name=\"priority\">", f);
    for (int i = 1; i <= 4; i++)
        option(f, relief_priority_name(i), relief_priority_name(i),
               v && v->priority[0] ? !strcmp(v->priority, relief_priority_name(i))
                                   : i == RELIEF_PRI_NORMAL);
    fputs("</select>", f);
    field(f, "Note (optional)", "note", v ? v->note : "", "maxlength=\"500\"");
    fprintf(f, "<input type=\"hidden\" name=\"nonce\" value=\"%s\">", nonce);
    if (r->w->csrf && *r->w->csrf) {
        fputs("<input type=\"hidden\" name=\"csrf\" value=\"", f);
        html_escs(f, r->w->csrf);
        fputs("\">", f);
    }
    fputs("<button type=\"submit\">Add the need</button></form>\n</body></html>\n", f);
    query_close(q);
    return AM_OK;
}

int webapp_need_form(const struct webapp_ctx *w, const struct webapp_need_form *f, const char *msg,
                     char **out, size_t *len)
{
    struct form_run r = {.w = w, .v = f, .msg = msg};
    return render(w->n, form_build, &r, &r.f, out, len);
}

int webapp_need_add(const struct webapp_ctx *w, const struct webapp_need_form *f, char *id_hex,
                    char *msg, size_t cap)
{
    struct relief_op op;
    uint8_t hash[AM_HASH_LEN], id[RELIEF_ID_LEN];
    char err[RELIEF_ERR_MAX + 64], *end;
    unsigned long long v;
    int rc;

    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_OPEN;
    if (!f->site[0] || !f->item[0]) {
        snprintf(msg, cap, "Choose a site and an item.");
        return AM_EINVAL;
    }
    errno = 0;
    v = f->qty[0] >= '0' && f->qty[0] <= '9' ? strtoull(f->qty, &end, 10) : 0;
    if (!f->qty[0] || f->qty[0] < '0' || f->qty[0] > '9' || errno || *end || v == 0 ||
        v > (unsigned long long)RELIEF_QTY_MAX) {
        snprintf(msg, cap, "The quantity must be a whole number from 1 to %llu.",
                 (unsigned long long)RELIEF_QTY_MAX);
        return AM_EINVAL;
    }
    op.q = (int64_t)v;
    op.pri = f->priority[0] ? pick(f->priority, relief_priority_name, 4) : RELIEF_PRI_NORMAL;
    if (!op.pri) {
        snprintf(msg, cap, "Choose a priority: critical, high, normal or low.");
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
    rc = relief_node_write(w->n, &op, 0, err, sizeof err, hash);
    if (rc != AM_OK) {
        snprintf(msg, cap, "%s", err[0] ? err : am_strerror(rc));
        return rc == AM_ELIMIT ? AM_EINVAL : rc;
    }
    relief_need_id(hash, id);
    relief_id_hex(id, id_hex);
    return AM_OK;
}
