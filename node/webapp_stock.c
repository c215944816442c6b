/*
 * webapp_stock.c: recording stock from a phone (webapp_forms.h): the lots of one item at
 * one site, and the forms to receive, issue and count them. Each write is planned and
 * written by stock_ops.h, as `aidmesh stock receive|issue|count` does: an issue that names
 * no lot takes first expiry first out, and is refused when this node sees too little stock
 * (the command line's --force is not offered here). Reads run under store_guarded; every
 * stored or typed string goes through html_esc. Never prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "html.h"
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

static const char *const verbs[] = {"Received", "Issued", "Counted"};

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

/* The form to choose a site and an item (no such pair given, or an unknown one). */
static int chooser(struct stock_run *r, struct query *q)
{
    FILE *f = r->f;
    const struct relief_node_site *sites;
    const struct relief_node_item *items;
    size_t ns = 0, ni = 0;
    int rc = query_sites(q, &sites, &ns);
    if (rc == AM_OK)
        rc = query_items(q, &items, &ni);
    if (rc != AM_OK)
        return rc;
    if (!r->msg && ((r->site && *r->site) || (r->item && *r->item))) {
        int no_site = !r->site || !*r->site || !query_site(q, r->site);
        snprintf(r->msgbuf, sizeof r->msgbuf,
                 "This node knows no %s '%.32s': choose one of the list (or sync with the hub "
                 "first).",
                 no_site ? "site" : "item", no_site ? (r->site ? r->site : "") : r->item);
        r->msg = r->msgbuf;
        r->a->status = 404;
    }
    webapp_page_top(f, r->w, "Record stock");
    fputs("<h1>Record stock</h1>\n", f);
    webapp_form_msg(f, r->msg, 0);
    fputs("<form class=\"f\" method=\"get\" action=\"/stock/update\"><label for=\"site\">Site"
          "</label><select id=\"site\" name=\"site\" required>",
          f);
    for (size_t i = 0; i < ns; i++)
        webapp_option(f, sites[i].slug, sites[i].slug, r->site && !strcmp(r->site, sites[i].slug));
    fputs("</select><label for=\"item\">Item</label><select id=\"item\" name=\"item\" required>",
          f);
    for (size_t i = 0; i < ni; i++)
        webapp_option(f, items[i].code, items[i].code, r->item && !strcmp(r->item, items[i].code));
    fputs("</select><button type=\"submit\">Open</button></form>\n</body></html>\n", f);
    return AM_OK;
}

/* What was recorded, in a sentence, from the cells as they are now. */
static void stock_done(struct stock_run *r, struct query *q)
{
    const struct stock_plan *p = r->plan;
    char *d = r->a->done, day[11];
    size_t cap = sizeof r->a->done, o = 0;
    int k = r->op.type == RELIEF_T_STOCK_COUNT ? 2 : relief_reason_sign(r->op.reason) < 0;

    o += (size_t)snprintf(d + o, cap - o, "%s %lld %s at %s", verbs[k], (long long)r->op.q, r->item,
                          r->site);
    if (p->fefo && o < cap)
        o += (size_t)snprintf(d + o, cap - o, ", first expiry first out:");
    for (size_t i = 0; i < p->n && o < cap; i++) {
        const struct query_take *t = &p->take[i];
        const struct query_cell *c = NULL;
        int have = query_cell(q, r->site, r->item, t->lot, t->exp, &c) == AM_OK;
        day[0] = 0;
        if (t->exp)
            relief_day_format(t->exp, day);
        if (p->fefo)
            o += (size_t)snprintf(d + o, cap - o, "%s %lld from %s%s", i ? "," : "",
                                  (long long)t->qty, t->lot[0] ? "lot " : "",
                                  t->lot[0] ? t->lot : "no lot");
        else if (t->lot[0] || t->exp)
            o += (size_t)snprintf(d + o, cap - o, " (lot %s%s%s)", t->lot[0] ? t->lot : "-",
                                  day[0] ? ", expires " : "", day);
        if (have && o < cap)
            o += (size_t)snprintf(d + o, cap - o, p->fefo ? " (%lld left%s)" : ": stock now %lld%s",
                                  (long long)c->v.value, c->v.overdrawn ? ", overdrawn" : "");
        if (have && c->v.count_conflict && o < cap)
            o += (size_t)snprintf(d + o, cap - o,
                                  "; two counts were taken without seeing each "
                                  "other: count again to settle it");
    }
    if (o < cap)
        snprintf(d + o, cap - o, ".");
}

/* The lots of the cells, for the lot choice of an issue (held: only those that hold stock)
 * or a count (all). */
static void lot_select(FILE *f, const struct query_cell *rows, size_t n, const char *first,
                       int held, const char *chosen)
{
    fputs("<label for=\"", f);
    fputs(held ? "i-lot" : "c-lot", f);
    fprintf(f, "\">Lot</label><select id=\"%s\" name=\"lot\">", held ? "i-lot" : "c-lot");
    webapp_option(f, "", first, !chosen || !*chosen);
    for (size_t i = 0, listed = 0; i < n && listed < WEBAPP_ROWS_MAX; i++) {
        char label[80], day[11] = "-";
        if (!rows[i].v.lot[0] || (held && rows[i].v.value <= 0))
            continue;
        listed++; /* a page stays far under 100 kB */
        if (rows[i].v.exp)
            relief_day_format(rows[i].v.exp, day);
        snprintf(label, sizeof label, "%s (expires %s, %lld here)", rows[i].v.lot, day,
                 (long long)rows[i].v.value);
        webapp_option(f, rows[i].v.lot, label, chosen && !strcmp(chosen, rows[i].v.lot));
    }
    fputs("</select>", f);
}

/* A form's heading, an anchor its action scrolls the answer to (no script needed), and
 * above the form that was sent, what it did or why not. */
static void section(struct stock_run *r, int i, const char *id, const char *title)
{
    fprintf(r->f, "<h2 id=\"%s\">%s</h2>\n", id, title);
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
    int k = v ? op_index(v->op) : -1;

#define KEPT(i, field) (k == (i) ? v->field : "")
    section(r, 0, "receive", "Receive");
    webapp_form_open(f, r->w, "/stock/update#receive", "receive", head);
    fputs("<input type=\"hidden\" name=\"site\" value=\"", f);
    html_escs(f, r->site);
    fputs("\"><input type=\"hidden\" name=\"item\" value=\"", f);
    html_escs(f, r->item);
    fputs("\">", f);
    webapp_form_input(f, "Quantity (base units)", "r-qty", "qty", KEPT(0, qty), qty_in);
    webapp_form_input(f, "Lot, as on the box (optional)", "r-lot", "lot", KEPT(0, lot), lot_in);
    webapp_form_input(f, "Expiry date (optional)", "r-exp", "expiry", KEPT(0, expiry),
                      "type=\"date\" maxlength=\"10\"");
    fprintf(f,
            "<label><input type=\"checkbox\" name=\"nolot\" value=\"1\"%s style=\"width:auto\"> "
            "No lot on the box</label>",
            k == 0 && v->nolot[0] ? " checked" : "");
    webapp_form_input(f, "Note (optional)", "r-note", "note", KEPT(0, note), note_in);
    fputs("<button type=\"submit\">Record the receipt</button></form>\n", f);

    section(r, 1, "issue", "Issue");
    webapp_form_open(f, r->w, "/stock/update#issue", "issue", head);
    fputs("<input type=\"hidden\" name=\"site\" value=\"", f);
    html_escs(f, r->site);
    fputs("\"><input type=\"hidden\" name=\"item\" value=\"", f);
    html_escs(f, r->item);
    fputs("\">", f);
    webapp_form_input(f, "Quantity (base units)", "i-qty", "qty", KEPT(1, qty), qty_in);
    lot_select(f, rows, n, "Any lot: first expiry first out", 1, KEPT(1, lot));
    webapp_form_input(f, "Note (optional)", "i-note", "note", KEPT(1, note), note_in);
    fputs("<button type=\"submit\">Record the issue</button></form>\n", f);

    section(r, 2, "count", "Count");
    webapp_form_open(f, r->w, "/stock/update#count", "count", head);
    fputs("<input type=\"hidden\" name=\"site\" value=\"", f);
    html_escs(f, r->site);
    fputs("\"><input type=\"hidden\" name=\"item\" value=\"", f);
    html_escs(f, r->item);
    fputs("\">", f);
    lot_select(f, rows, n, "No lot", 0, KEPT(2, lot));
    webapp_form_input(f, "Quantity counted (base units)", "c-qty", "qty", KEPT(2, qty),
                      "inputmode=\"numeric\" pattern=\"[0-9]+\" maxlength=\"16\" required");
    webapp_form_input(f, "Note (optional)", "c-note", "note", KEPT(2, note), note_in);
    fputs("<button type=\"submit\">Record the count</button></form>\n", f);
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
    char head[STOCK_OPS_DIGEST_HEX + 1];
    size_t n = 0, shown = 0;
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
    webapp_page_top(f, r->w, "Record stock");
    fputs("<h1>", f);
    html_escs(f, r->item);
    fputs(" at ", f);
    html_escs(f, r->site);
    fputs("</h1>\n", f);
    if (!r->w->can_write || r->sent < 0) { /* else above the form sent */
        webapp_form_msg(f, r->a->done, 1);
        webapp_form_msg(f, r->msg, 0);
    }
    for (size_t i = 0; i < n; i++)
        shown += rows[i].v.value != 0 || rows[i].v.overdrawn;
    fprintf(f, "<p>%zu lot%s hold%s stock here</p>\n", shown, shown == 1 ? "" : "s",
            shown == 1 ? "s" : "");
    if (shown)
        fputs("<table><tr><th>lot</th><th>expires</th><th>stock</th></tr>\n", f);
    for (size_t i = 0, listed = 0; i < n && listed < WEBAPP_ROWS_MAX; i++) {
        const struct query_cell *x = &rows[i];
        char day[11] = "-";
        if (x->v.value == 0 && !x->v.overdrawn)
            continue;
        listed++;
        if (x->v.exp)
            relief_day_format(x->v.exp, day);
        fputs("<tr class=\"lot\"><td>", f);
        html_escs(f, x->v.lot[0] ? x->v.lot : "-");
        fprintf(f, "</td><td>%s</td><td class=\"n\">%lld%s</td></tr>\n", day, (long long)x->v.value,
                x->v.overdrawn                     ? "<br><small class=\"p1\">overdrawn</small>"
                : (x->flags & QUERY_CELL_EXPIRED)  ? "<br><small class=\"p1\">expired</small>"
                : (x->flags & QUERY_CELL_EXPIRING) ? "<br><small class=\"p2\">expiring</small>"
                                                   : "");
    }
    if (shown)
        fputs("</table>\n", f);
    if (shown > WEBAPP_ROWS_MAX)
        fprintf(f, "<p>The first %d are shown.</p>\n", WEBAPP_ROWS_MAX);
    if (r->w->can_write)
        stock_forms(r, rows, n, head);
    fputs("<p><a href=\"/stock\">All the stock</a> <a href=\"/stock/update\">Another item"
          "</a></p>\n</body></html>\n",
          f);
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
    int k = op_index(v->op);
    char *m = r->msgbuf;
    size_t cap = sizeof r->msgbuf;

    memset(op, 0, sizeof *op);
    r->msg = m;
    if (k < 0) {
        snprintf(m, cap, "Choose what to record: a receipt, an issue or a count.");
        return -1;
    }
    if (!v->site[0] || !v->item[0]) {
        snprintf(m, cap, "Choose a site and an item.");
        return -1;
    }
    if (webapp_form_qty(v->qty, k == 2, &op->q, m, cap))
        return -1;
    if (v->lot[0] && !lot_ok(v->lot)) {
        snprintf(m, cap,
                 "A lot is 1 to %d characters of A-Z, a-z, 0-9 and . _ / -, as printed "
                 "on the box.",
                 RELIEF_SLUG_MAX);
        return -1;
    }
    if (k == 0 && v->expiry[0] && relief_day_parse(v->expiry, &op->exp) != AM_OK) {
        snprintf(m, cap, "The expiry date must be a date as YYYY-MM-DD (e.g. 2027-03-01).");
        return -1;
    }
    r->no_lot = k == 0 && v->nolot[0];
    if (r->no_lot && (v->lot[0] || op->exp)) {
        snprintf(m, cap,
                 "\"No lot on the box\" and a lot or an expiry date say opposite things: "
                 "give one.");
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
    if (query_cells(q, &cf, &rows, &n) != AM_OK)
        n = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rows[i].v.lot, r->lot)) {
            c = &rows[i];
            found++;
        }
    if (found != 1) {
        snprintf(r->msgbuf, sizeof r->msgbuf,
                 found ? "Lot %s of %s at %s is recorded here with %zu expiry dates: record this "
                         "on the node with `aidmesh stock`, naming the expiry date."
                       : "No lot %s of %s at %s is recorded on this node: choose one of the "
                         "list (a new lot comes in with a receipt).",
                 r->lot, r->item, r->site, found);
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

/* Under store_guarded: the stock as it is now, and the plan of the change on it. */
static int stock_plan_step(void *ctx)
{
    struct stock_run *r = ctx;
    struct query *q = NULL;
    uint8_t now[STOCK_OPS_DIGEST_LEN];
    int rc = query_open(r->w->n->store, 0, &q);
    if (rc == AM_OK && (!query_site(q, r->site) || !query_item(q, r->item))) {
        int no_site = !query_site(q, r->site);
        snprintf(r->msgbuf, sizeof r->msgbuf,
                 "This node knows no %s '%s': choose one of the list (or sync with the hub "
                 "first).",
                 no_site ? "site" : "item", no_site ? r->site : r->item);
        r->msg = r->msgbuf;
        r->a->status = 404;
        rc = AM_ENOTFOUND;
    }
    if (rc == AM_OK)
        rc = stock_ops_digest(q, r->site, r->item, now);
    if (rc == AM_OK && memcmp(now, r->expect, sizeof now) != 0) {
        snprintf(r->msgbuf, sizeof r->msgbuf,
                 "The stock of %s at %s changed since you opened this page (a movement or a "
                 "count from another node or phone arrived): the lots above are what it is now. "
                 "Nothing was written; send it again if it still holds.",
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
        rc = stock_ops_plan(r->w->n, q, &r->op, r->no_lot ? STOCK_OPS_NO_LOT : 0, r->plan);
        if (rc != AM_OK) {
            r->msg = r->plan->msg;
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
        snprintf(a->done, sizeof a->done, "Recorded already: a second tap writes nothing%s%.400s",
                 again[0] ? ". " : ".", again);
        r->form = NULL;
    } else if (bad) {
        r->msg = WEBAPP_TOO_LONG;
        a->status = 422;
    } else if (stock_parse(r, f)) {
        a->status = 422;
    } else if (webapp_unhex(f->head, r->expect, sizeof r->expect)) {
        r->msg = "This form does not say which state of the stock it was opened on: open the "
                 "page again and send it from there.";
        a->status = 422;
    } else {
        rc = store_guarded(w->n->store, stock_plan_step, r, NULL);
        if (rc == AM_OK) {
            rc = stock_ops_write(w->n, r->plan, err, sizeof err);
            if (rc == AM_OK) {
                r->written = a->written = 1;
                r->form = NULL; /* the page shows fresh forms */
            } else {
                a->status = webapp_write_failed(rc, err, r->msgbuf, sizeof r->msgbuf);
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
