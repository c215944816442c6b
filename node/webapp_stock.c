/*
 * webapp_stock.c: recording stock from a phone (webapp_forms.h): the lots of one item at
 * one site, and the forms to receive, issue and count them. Each write is planned and
 * written by stock_ops.h, as `aidmesh stock receive|issue|count` does: an issue that names
 * no lot takes first expiry first out, and is refused when this node sees too little stock
 * (the command line's --force is not offered here). Each write is signed by the key of the
 * phone that sent it (webapp_ctx.sk). Reads run under store_guarded; every sentence is in
 * the page's language (i18n.h), every stored or typed string goes through html_esc.
 * Never prints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "html.h"
#include "i18n.h"
#include "query.h"
#include "relief.h"
#include "stock_ops.h"
#include "store.h"
#include "webapp_forms.h"
#include "webapp_int.h"

struct stock_run {
    const struct webapp_ctx *w;
    FILE *f;
    const char *site, *item;               /* as asked (NULL: not given) */
    const struct webapp_change_form *form; /* as typed (NULL: a fresh page) */
    const char *msg;                       /* a refusal (NULL: none) */
    char msgbuf[RELIEF_ERR_MAX + 200];
    struct webapp_answer *a;
    /* a change: */
    struct relief_op op;
    char lot[RELIEF_SLUG_MAX + 1]; /* the lot an issue or a count names */
    uint8_t expect[STOCK_OPS_DIGEST_LEN];
    struct stock_plan *plan;
    int no_lot, written;
    int sent; /* the form sent (op_index; -1: none): its answer is shown above it */
};

/* 0 receive, 1 issue, 2 count, -1 another word. */
static int op_index(const char *op)
{
    return !strcmp(op, "receive") ? 0 : !strcmp(op, "issue") ? 1 : !strcmp(op, "count") ? 2 : -1;
}

/* A lot as printed on the box (as `aidmesh stock --lot` takes it). */
static int lot_ok(const char *s)
{
    size_t n = strlen(s);
    int ok = n >= 1 && n <= RELIEF_SLUG_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             (i > 0 && (c == '.' || c == '_' || c == '/' || c == '-'));
    }
    return ok;
}

/* ---- the page --------------------------------------------------------------------------- */

/* "This node knows no site (item) 'name'" into r->msg. */
static void unknown(struct stock_run *r, int site, const char *name)
{
    int l = r->w->lang;
    if (site)
        snprintf(r->msgbuf, sizeof r->msgbuf,
                 i18n_s(l, "This node knows no site '%.32s': choose one of the list (or sync "
                           "with the hub first)."),
                 name);
    else
        snprintf(r->msgbuf, sizeof r->msgbuf,
                 i18n_s(l, "This node knows no item '%.32s': choose one of the list (or sync "
                           "with the hub first)."),
                 name);
    r->msg = r->msgbuf;
}

/* Appends fmt's text to d[0..cap) (cut at cap). */
static void add(char *d, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *d, size_t cap, const char *fmt, ...)
{
    size_t o = strlen(d);
    va_list ap;
    if (o + 1 >= cap)
        return;
    va_start(ap, fmt);
    vsnprintf(d + o, cap - o, fmt, ap);
    va_end(ap);
}

/* The form to choose a site and an item (no such pair given, or an unknown one). */
static int chooser(struct stock_run *r, struct query *q)
{
    FILE *f = r->f;
    const struct relief_node_site *sites;
    const struct relief_node_item *items;
    size_t ns = 0, ni = 0;
    int l = r->w->lang;
    int rc = query_sites(q, &sites, &ns);
    if (rc == AM_OK)
        rc = query_items(q, &items, &ni);
    if (rc != AM_OK)
        return rc;
    if (!r->msg && ((r->site && *r->site) || (r->item && *r->item))) {
        int no_site = !r->site || !*r->site || !query_site(q, r->site);
        unknown(r, no_site, no_site ? (r->site ? r->site : "") : r->item);
        r->a->status = 404;
    }
    webapp_page_top(f, r->w, i18n_s(l, "Record stock"));
    fprintf(f, "<h1>%s</h1>\n", i18n_s(l, "Record stock"));
    webapp_form_msg(f, r->msg, 0);
    fprintf(f,
            "<form class=\"f\" method=\"get\" action=\"/stock/update\"><label for=\"site\">%s"
            "</label><select id=\"site\" name=\"site\" required>",
            i18n_s(l, "Site"));
    for (size_t i = 0; i < ns; i++)
        webapp_option(f, sites[i].slug, sites[i].slug, r->site && !strcmp(r->site, sites[i].slug));
    fprintf(f, "</select><label for=\"item\">%s</label><select id=\"item\" name=\"item\" required>",
            i18n_s(l, "Item"));
    for (size_t i = 0; i < ni; i++)
        webapp_option(f, items[i].code, items[i].code, r->item && !strcmp(r->item, items[i].code));
    fprintf(f, "</select><button type=\"submit\">%s</button></form>\n</body></html>\n",
            i18n_s(l, "Open"));
    return AM_OK;
}

/* What was recorded, in a sentence, from the cells as they are now. */
static void stock_done(struct stock_run *r, struct query *q)
{
    const struct stock_plan *p = r->plan;
    char *d = r->a->done, day[I18N_DAY_MAX], num[I18N_NUM_MAX];
    size_t cap = sizeof r->a->done;
    int l = r->w->lang;

    i18n_num(l, r->op.q, num);
    /* TRANSLATORS: quantity, item, site */
    if (r->op.type == RELIEF_T_STOCK_COUNT)
        snprintf(d, cap, i18n_s(l, "Counted %s %s at %s"), num, r->item, r->site);
    else if (relief_reason_sign(r->op.reason) < 0)
        snprintf(d, cap, i18n_s(l, "Issued %s %s at %s"), num, r->item, r->site);
    else
        snprintf(d, cap, i18n_s(l, "Received %s %s at %s"), num, r->item, r->site);
    if (p->fefo)
        add(d, cap, "%s", i18n_s(l, ", first expiry first out:"));
    for (size_t i = 0; i < p->n; i++) {
        const struct query_take *t = &p->take[i];
        const struct query_cell *c = NULL;
        int have = query_cell(q, r->site, r->item, t->lot, t->exp, &c) == AM_OK;
        day[0] = 0;
        if (t->exp)
            i18n_day(l, t->exp, day);
        if (p->fefo) {
            i18n_num(l, t->qty, num);
            add(d, cap, "%s ", i ? "," : "");
            if (t->lot[0])
                add(d, cap, i18n_s(l, "%s from lot %s"), num, t->lot);
            else
                add(d, cap, i18n_s(l, "%s from no lot"), num);
        } else if (t->lot[0] || t->exp) {
            add(d, cap, " (");
            add(d, cap, i18n_s(l, "lot %s"), t->lot[0] ? t->lot : "-");
            if (day[0])
                add(d, cap, i18n_s(l, ", expires %s"), day);
            add(d, cap, ")");
        }
        if (have) {
            i18n_num(l, c->v.value, num);
            if (p->fefo && c->v.overdrawn)
                add(d, cap, i18n_s(l, " (%s left, overdrawn)"), num);
            else if (p->fefo)
                add(d, cap, i18n_s(l, " (%s left)"), num);
            else if (c->v.overdrawn)
                add(d, cap, i18n_s(l, ": stock now %s, overdrawn"), num);
            else
                add(d, cap, i18n_s(l, ": stock now %s"), num);
        }
        if (have && c->v.count_conflict)
            add(d, cap, "%s",
                i18n_s(l, "; two counts were taken without seeing each other: count again to "
                          "settle it"));
    }
    add(d, cap, ".");
}

/* The lots of the cells, for the lot choice of an issue (held: only those that hold stock)
 * or a count (all). */
static void lot_select(FILE *f, int l, const struct query_cell *rows, size_t n, const char *first,
                       int held, const char *chosen)
{
    fprintf(f, "<label for=\"%s\">%s</label><select id=\"%s\" name=\"lot\">",
            held ? "i-lot" : "c-lot", i18n_s(l, "Lot"), held ? "i-lot" : "c-lot");
    webapp_option(f, "", first, !chosen || !*chosen);
    for (size_t i = 0, listed = 0; i < n && listed < WEBAPP_ROWS_MAX; i++) {
        char label[200], day[I18N_DAY_MAX] = "-", num[I18N_NUM_MAX];
        if (!rows[i].v.lot[0] || (held && rows[i].v.value <= 0))
            continue;
        listed++; /* a page stays far under 100 kB */
        if (rows[i].v.exp)
            i18n_day(l, rows[i].v.exp, day);
        i18n_num(l, rows[i].v.value, num);
        /* TRANSLATORS: a lot in a list: its name, its expiry date, its stock here */
        snprintf(label, sizeof label, i18n_s(l, "%s (expires %s, %s here)"), rows[i].v.lot, day,
                 num);
        webapp_option(f, rows[i].v.lot, label, chosen && !strcmp(chosen, rows[i].v.lot));
    }
    fputs("</select>", f);
}

/* A form's heading, an anchor its action scrolls the answer to (no script needed), and
 * above the form that was sent, what it did or why not. */
static void section(struct stock_run *r, int i, const char *id, const char *title)
{
    fprintf(r->f, "<h2 id=\"%s\">", id);
    html_escs(r->f, title);
    fputs("</h2>\n", r->f);
    if (i == r->sent) {
        webapp_form_msg(r->f, r->a->done, 1);
        webapp_form_msg(r->f, r->msg, 0);
    }
}

static void stock_forms(struct stock_run *r, const struct query_cell *rows, size_t n,
                        const char *head)
{
    static const char qty_in[] = "inputmode=\"numeric\" pattern=\"[0-9]+\" maxlength=\"16\" "
                                 "required";
    static const char note_in[] = "maxlength=\"1000\"";
    static const char lot_in[] = "maxlength=\"32\" pattern=\"[A-Za-z0-9][A-Za-z0-9._/\\-]*\"";
    FILE *f = r->f;
    const struct webapp_change_form *v = r->form;
    int k = v ? op_index(v->op) : -1, l = r->w->lang;
    const char *qty_label = i18n_s(l, "Quantity (base units)"),
               *note_label = i18n_s(l, "Note (optional)");

#define KEPT(i, field) (k == (i) ? v->field : "")
    section(r, 0, "receive", i18n_s(l, "Receive"));
    webapp_form_open(f, r->w, "/stock/update#receive", "receive", head);
    fputs("<input type=\"hidden\" name=\"site\" value=\"", f);
    html_escs(f, r->site);
    fputs("\"><input type=\"hidden\" name=\"item\" value=\"", f);
    html_escs(f, r->item);
    fputs("\">", f);
    webapp_form_input(f, qty_label, "r-qty", "qty", KEPT(0, qty), qty_in);
    webapp_form_input(f, i18n_s(l, "Lot, as on the box (optional)"), "r-lot", "lot", KEPT(0, lot),
                      lot_in);
    webapp_form_input(f, i18n_s(l, "Expiry date (optional)"), "r-exp", "expiry", KEPT(0, expiry),
                      "type=\"date\" maxlength=\"10\"");
    fprintf(f,
            "<label><input type=\"checkbox\" name=\"nolot\" value=\"1\"%s style=\"width:auto\"> "
            "%s</label>",
            k == 0 && v->nolot[0] ? " checked" : "", i18n_s(l, "No lot on the box"));
    webapp_form_input(f, note_label, "r-note", "note", KEPT(0, note), note_in);
    fprintf(f, "<button type=\"submit\">%s</button></form>\n", i18n_s(l, "Record the receipt"));

    section(r, 1, "issue", i18n_s(l, "Issue"));
    webapp_form_open(f, r->w, "/stock/update#issue", "issue", head);
    fputs("<input type=\"hidden\" name=\"site\" value=\"", f);
    html_escs(f, r->site);
    fputs("\"><input type=\"hidden\" name=\"item\" value=\"", f);
    html_escs(f, r->item);
    fputs("\">", f);
    webapp_form_input(f, qty_label, "i-qty", "qty", KEPT(1, qty), qty_in);
    lot_select(f, l, rows, n, i18n_s(l, "Any lot: first expiry first out"), 1, KEPT(1, lot));
    webapp_form_input(f, note_label, "i-note", "note", KEPT(1, note), note_in);
    fprintf(f, "<button type=\"submit\">%s</button></form>\n", i18n_s(l, "Record the issue"));

    section(r, 2, "count", i18n_s(l, "Count"));
    webapp_form_open(f, r->w, "/stock/update#count", "count", head);
    fputs("<input type=\"hidden\" name=\"site\" value=\"", f);
    html_escs(f, r->site);
    fputs("\"><input type=\"hidden\" name=\"item\" value=\"", f);
    html_escs(f, r->item);
    fputs("\">", f);
    lot_select(f, l, rows, n, i18n_s(l, "No lot"), 0, KEPT(2, lot));
    webapp_form_input(f, i18n_s(l, "Quantity counted (base units)"), "c-qty", "qty", KEPT(2, qty),
                      qty_in);
    webapp_form_input(f, note_label, "c-note", "note", KEPT(2, note), note_in);
    fprintf(f, "<button type=\"submit\">%s</button></form>\n", i18n_s(l, "Record the count"));
#undef KEPT
}

static int stock_build(void *ctx)
{
    struct stock_run *r = ctx;
    FILE *f = r->f;
    struct query *q = NULL;
    const struct query_cell *rows;
    struct query_cell_filter cf = {.site = r->site, .item = r->item};
    uint8_t dg[STOCK_OPS_DIGEST_LEN];
    char head[STOCK_OPS_DIGEST_HEX + 1], num[I18N_NUM_MAX], count[200];
    size_t n = 0, shown = 0;
    int l = r->w->lang;
    int rc = query_open(r->w->n->store, 0, &q);

    if (rc == AM_OK &&
        (!r->site || !r->item || !query_site(q, r->site) || !query_item(q, r->item))) {
        rc = chooser(r, q);
        query_close(q);
        return rc;
    }
    if (rc == AM_OK)
        rc = query_cells(q, &cf, &rows, &n);
    if (rc == AM_OK)
        rc = stock_ops_digest(q, r->site, r->item, dg);
    if (rc != AM_OK) {
        query_close(q);
        return rc;
    }
    if (r->written)
        stock_done(r, q);
    webapp_hex(dg, sizeof dg, head);
    webapp_page_top(f, r->w, i18n_s(l, "Record stock"));
    fputs("<h1>", f);
    /* TRANSLATORS: a stock page's heading: the item (first %s) at the site (second %s). */
    webapp_fmt_esc(f, i18n_s(l, "%s at %s"), r->item, r->site);
    fputs("</h1>\n", f);
    if (!r->w->can_write || r->sent < 0) { /* else above the form sent */
        webapp_form_msg(f, r->a->done, 1);
        webapp_form_msg(f, r->msg, 0);
    }
    for (size_t i = 0; i < n; i++)
        shown += rows[i].v.value != 0 || rows[i].v.overdrawn;
    i18n_num(l, (long long)shown, num);
    snprintf(count, sizeof count,
             i18n_n(l, "%s lot holds stock here", "%s lots hold stock here", shown), num);
    fputs("<p>", f);
    html_escs(f, count);
    fputs("</p>\n", f);
    if (shown)
        fprintf(f, "<table><tr><th>%s</th><th>%s</th><th>%s</th></tr>\n", i18n_s(l, "lot"),
                i18n_s(l, "expires"), i18n_s(l, "stock"));
    for (size_t i = 0, listed = 0; i < n && listed < WEBAPP_ROWS_MAX; i++) {
        const struct query_cell *x = &rows[i];
        char day[I18N_DAY_MAX] = "-";
        if (x->v.value == 0 && !x->v.overdrawn)
            continue;
        listed++;
        if (x->v.exp)
            i18n_day(l, x->v.exp, day);
        i18n_num(l, x->v.value, num);
        fputs("<tr class=\"lot\"><td>", f);
        html_escs(f, x->v.lot[0] ? x->v.lot : "-");
        fprintf(f, "</td><td>%s</td><td class=\"n\">%s", day, num);
        if (x->v.overdrawn)
            fprintf(f, "<br><small class=\"p1\">%s</small>", i18n_s(l, "overdrawn"));
        else if (x->flags & QUERY_CELL_EXPIRED)
            fprintf(f, "<br><small class=\"p1\">%s</small>", i18n_s(l, "expired"));
        else if (x->flags & QUERY_CELL_EXPIRING)
            fprintf(f, "<br><small class=\"p2\">%s</small>", i18n_s(l, "expiring"));
        fputs("</td></tr>\n", f);
    }
    if (shown)
        fputs("</table>\n", f);
    if (shown > WEBAPP_ROWS_MAX) {
        i18n_num(l, WEBAPP_ROWS_MAX, num);
        snprintf(count, sizeof count, i18n_s(l, "The first %s are shown."), num);
        fputs("<p>", f);
        html_escs(f, count);
        fputs("</p>\n", f);
    }
    if (r->w->can_write)
        stock_forms(r, rows, n, head);
    fprintf(f,
            "<p><a href=\"/stock\">%s</a> <a href=\"/stock/update\">%s</a></p>\n</body></html>\n",
            i18n_s(l, "All the stock"), i18n_s(l, "Another item"));
    query_close(q);
    return AM_OK;
}

int webapp_stock_page(const struct webapp_ctx *w, const char *site, const char *item,
                      struct webapp_answer *a)
{
    struct stock_run *r = calloc(1, sizeof *r);
    int rc;
    if (!r)
        return AM_ENOMEM;
    a->status = 200;
    a->done[0] = 0;
    a->written = 0;
    r->w = w;
    r->sent = -1;
    r->site = site && *site ? site : NULL;
    r->item = item && *item ? item : NULL;
    r->a = a;
    rc = webapp_render(w->n, stock_build, r, &r->f, &a->out, &a->len);
    free(r);
    return rc;
}

/* ---- a change --------------------------------------------------------------------------- */

/* The op the form asks for into r->op; 0, or -1 with r->msg. */
static int stock_parse(struct stock_run *r, const struct webapp_change_form *v)
{
    struct relief_op *op = &r->op;
    int k = op_index(v->op), l = r->w->lang;
    char *m = r->msgbuf, num[I18N_NUM_MAX];
    size_t cap = sizeof r->msgbuf;

    memset(op, 0, sizeof *op);
    r->msg = m;
    if (k < 0) {
        snprintf(m, cap, "%s", i18n_s(l, "Choose what to record: a receipt, an issue or a count."));
        return -1;
    }
    if (!v->site[0] || !v->item[0]) {
        snprintf(m, cap, "%s", i18n_s(l, "Choose a site and an item."));
        return -1;
    }
    if (webapp_form_qty(l, v->qty, k == 2, &op->q, m, cap))
        return -1;
    if (v->lot[0] && !lot_ok(v->lot)) {
        i18n_num(l, RELIEF_SLUG_MAX, num);
        snprintf(m, cap,
                 i18n_s(l, "A lot is 1 to %s characters of A-Z, a-z, 0-9 and . _ / -, as "
                           "printed on the box."),
                 num);
        return -1;
    }
    if (k == 0 && v->expiry[0] && relief_day_parse(v->expiry, &op->exp) != AM_OK) {
        snprintf(m, cap, "%s",
                 i18n_s(l, "The expiry date must be a date as YYYY-MM-DD (e.g. 2027-03-01)."));
        return -1;
    }
    r->no_lot = k == 0 && v->nolot[0];
    if (r->no_lot && (v->lot[0] || op->exp)) {
        snprintf(m, cap, "%s",
                 i18n_s(l, "\"No lot on the box\" and a lot or an expiry date say opposite "
                           "things: give one."));
        return -1;
    }
    r->msg = NULL;
    op->type = k == 2 ? RELIEF_T_STOCK_COUNT : RELIEF_T_STOCK_MOVE;
    op->reason = k == 0 ? RELIEF_R_RECEIVED : k == 1 ? RELIEF_R_ISSUED : 0;
    op->site.p = v->site;
    op->site.len = (uint32_t)strlen(v->site);
    op->item.p = v->item;
    op->item.len = (uint32_t)strlen(v->item);
    op->has = RELIEF_HAS(RELIEF_K_T) | RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_ITEM) |
              RELIEF_HAS(RELIEF_K_Q) | (k == 2 ? 0 : RELIEF_HAS(RELIEF_K_R));
    if (k == 0 && v->lot[0]) {
        op->lot.p = v->lot;
        op->lot.len = (uint32_t)strlen(v->lot);
        op->has |= RELIEF_HAS(RELIEF_K_LOT);
    }
    if (op->exp)
        op->has |= RELIEF_HAS(RELIEF_K_EXP);
    if (k != 0)
        snprintf(r->lot, sizeof r->lot, "%s", v->lot); /* resolved to its cell in the plan */
    if (v->note[0]) {
        op->note.p = v->note;
        op->note.len = (uint32_t)strlen(v->note);
        op->has |= RELIEF_HAS(RELIEF_K_NOTE);
    }
    return 0;
}

/* The cell of lot r->lot (an issue's or a count's) into r->op: 0, or -1 with r->msg. */
static int lot_cell(struct stock_run *r, struct query *q)
{
    struct query_cell_filter cf = {.site = r->site, .item = r->item};
    const struct query_cell *rows, *c = NULL;
    size_t n, found = 0;
    int l = r->w->lang;
    if (query_cells(q, &cf, &rows, &n) != AM_OK)
        n = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rows[i].v.lot, r->lot)) {
            c = &rows[i];
            found++;
        }
    if (found > 1) {
        char num[I18N_NUM_MAX];
        i18n_num(l, (long long)found, num);
        snprintf(r->msgbuf, sizeof r->msgbuf,
                 i18n_n(l,
                        "Lot %s of %s at %s is recorded here with %s expiry date: record this "
                        "on the node with `aidmesh stock`, naming the expiry date.",
                        "Lot %s of %s at %s is recorded here with %s expiry dates: record this "
                        "on the node with `aidmesh stock`, naming the expiry date.",
                        found),
                 r->lot, r->item, r->site, num);
        r->msg = r->msgbuf;
        return -1;
    }
    if (!found) {
        snprintf(r->msgbuf, sizeof r->msgbuf,
                 i18n_s(l, "No lot %s of %s at %s is recorded on this node: choose one of the "
                           "list (a new lot comes in with a receipt)."),
                 r->lot, r->item, r->site);
        r->msg = r->msgbuf;
        return -1;
    }
    r->op.lot.p = r->lot;
    r->op.lot.len = (uint32_t)strlen(r->lot);
    r->op.has |= RELIEF_HAS(RELIEF_K_LOT);
    if (c->v.exp) {
        r->op.exp = c->v.exp;
        r->op.has |= RELIEF_HAS(RELIEF_K_EXP);
    }
    return 0;
}

/* stock_ops_plan's refusal into r->msg, in the page's language (its own sentence, English,
 * for one not named here). */
static void stock_refusal(struct stock_run *r)
{
    const struct stock_plan *p = r->plan;
    char num[I18N_NUM_MAX];
    int l = r->w->lang;
    r->msg = r->msgbuf;
    if (p->refused == STOCK_REFUSED_SITE || p->refused == STOCK_REFUSED_ITEM) {
        unknown(r, p->refused == STOCK_REFUSED_SITE,
                p->refused == STOCK_REFUSED_SITE ? r->site : r->item);
    } else if (p->refused == STOCK_REFUSED_NEED_LOT) {
        snprintf(r->msgbuf, sizeof r->msgbuf,
                 i18n_s(l, "%s at %s is kept by lot (%s): give the lot and its expiry date, as "
                           "printed on the box."),
                 r->item, r->site, p->lots);
    } else if (p->refused == STOCK_REFUSED_SHORT) {
        i18n_num(l, p->seen, num);
        if (p->lots[0])
            snprintf(r->msgbuf, sizeof r->msgbuf,
                     i18n_s(l, "This node sees only %s %s to issue at %s (lots: %s). Record what "
                               "was really given out; the rest can be recorded once the stock "
                               "that is missing here arrives."),
                     num, r->item, r->site, p->lots);
        else
            snprintf(r->msgbuf, sizeof r->msgbuf,
                     i18n_s(l, "This node sees only %s %s to issue at %s. Record what was really "
                               "given out; the rest can be recorded once the stock that is "
                               "missing here arrives."),
                     num, r->item, r->site);
    } else {
        r->msg = p->msg;
    }
}

/* Under store_guarded: the stock as it is now, and the plan of the change on it. */
static int stock_plan_step(void *ctx)
{
    struct stock_run *r = ctx;
    struct query *q = NULL;
    uint8_t now[STOCK_OPS_DIGEST_LEN];
    int l = r->w->lang;
    int rc = query_open(r->w->n->store, 0, &q);
    if (rc == AM_OK && (!query_site(q, r->site) || !query_item(q, r->item))) {
        int no_site = !query_site(q, r->site);
        unknown(r, no_site, no_site ? r->site : r->item);
        r->a->status = 404;
        rc = AM_ENOTFOUND;
    }
    if (rc == AM_OK)
        rc = stock_ops_digest(q, r->site, r->item, now);
    if (rc == AM_OK && memcmp(now, r->expect, sizeof now) != 0) {
        snprintf(r->msgbuf, sizeof r->msgbuf,
                 i18n_s(l, "The stock of %s at %s changed since you opened this page (a "
                           "movement or a count from another node or phone arrived): the lots "
                           "above are what it is now. Nothing was written; send it again if it "
                           "still holds."),
                 r->item, r->site);
        r->msg = r->msgbuf;
        r->a->status = 409;
        rc = AM_ESTATE;
    }
    if (rc == AM_OK && r->lot[0] && lot_cell(r, q)) {
        r->a->status = 422;
        rc = AM_ENOTFOUND;
    }
    if (rc == AM_OK) {
        rc = stock_ops_plan_as(r->w->n, r->w->sk, q, &r->op, r->no_lot ? STOCK_OPS_NO_LOT : 0,
                               r->plan);
        if (rc != AM_OK) {
            stock_refusal(r);
            r->a->status =
                r->plan->refused == STOCK_REFUSED_READ || r->plan->refused == STOCK_REFUSED_CTX
                    ? 503
                    : 422;
        }
    }
    query_close(q);
    return rc;
}

int webapp_stock_change(const struct webapp_ctx *w, const struct webapp_change_form *f, int bad,
                        const char *again, struct webapp_answer *a)
{
    struct stock_run *r = calloc(1, sizeof *r);
    char err[RELIEF_ERR_MAX + 64];
    int rc;
    if (!r || !(r->plan = calloc(1, sizeof *r->plan))) {
        free(r);
        return AM_ENOMEM;
    }
    a->status = 200;
    a->done[0] = 0;
    a->written = 0;
    r->w = w;
    r->a = a;
    r->form = f;
    r->sent = op_index(f->op);
    r->site = f->site[0] ? f->site : NULL;
    r->item = f->item[0] ? f->item : NULL;
    if (again) { /* a second tap: the first one wrote */
        webapp_again(w->lang, again, a->done, sizeof a->done);
        r->form = NULL;
    } else if (bad) {
        r->msg = i18n_s(w->lang, "A field is longer than it may be: shorten it (a note holds "
                                 "1000 bytes).");
        a->status = 422;
    } else if (stock_parse(r, f)) {
        a->status = 422;
    } else if (webapp_unhex(f->head, r->expect, sizeof r->expect)) {
        r->msg = i18n_s(w->lang, "This form does not say which state of the stock it was opened "
                                 "on: open the page again and send it from there.");
        a->status = 422;
    } else {
        rc = store_guarded(w->n->store, stock_plan_step, r, NULL);
        if (rc == AM_OK) {
            rc = stock_ops_write_as(w->n, w->sk, r->plan, err, sizeof err);
            if (rc == AM_OK) {
                r->written = a->written = 1;
                r->form = NULL; /* the page shows fresh forms */
            } else {
                a->status = webapp_write_failed(w->lang, rc, err, r->msgbuf, sizeof r->msgbuf);
                r->msg = r->msgbuf;
            }
        } else if (!r->msg) {
            free(r->plan);
            free(r);
            return rc;
        }
    }
    rc = webapp_render(w->n, stock_build, r, &r->f, &a->out, &a->len);
    free(r->plan);
    free(r);
    return rc;
}
