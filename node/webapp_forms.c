/*
 * webapp_forms.c: a need's page and its update forms (webapp_forms.h), and the pieces of
 * forms the stock page (webapp_stock.c) shares (webapp_int.h). Reads run under
 * store_guarded (webapp_render, and the plan before a write); the write itself goes
 * through need_ops_write, as `aidmesh need deliver|close|update` does. Every stored or
 * typed string goes through html_esc. Never prints.
 */
#include "webapp_forms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "html.h"
#include "need_ops.h"
#include "query.h"
#include "relief.h"
#include "store.h"
#include "webapp_int.h"

/* ---- pieces of forms -------------------------------------------------------------------- */

char *webapp_change_field(struct webapp_change_form *f, const char *key, size_t *cap)
{
    struct {
        const char *k;
        char *b;
        size_t cap;
    } t[] = {{"op", f->op, sizeof f->op},          {"site", f->site, sizeof f->site},
             {"item", f->item, sizeof f->item},    {"qty", f->qty, sizeof f->qty},
             {"lot", f->lot, sizeof f->lot},       {"expiry", f->expiry, sizeof f->expiry},
             {"nolot", f->nolot, sizeof f->nolot}, {"priority", f->priority, sizeof f->priority},
             {"note", f->note, sizeof f->note},    {"head", f->head, sizeof f->head},
             {"nonce", f->nonce, sizeof f->nonce}, {"csrf", f->csrf, sizeof f->csrf}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(key, t[i].k) == 0) {
            *cap = t[i].cap;
            return t[i].b;
        }
    return NULL;
}

int webapp_form_qty(const char *in, int allow_zero, int64_t *q, char *msg, size_t cap)
{
    unsigned long long v = 0;
    char *end = NULL;
    int ok = in[0] >= '0' && in[0] <= '9'; /* no sign, no space, not empty */
    if (ok) {
        errno = 0;
        v = strtoull(in, &end, 10);
        ok = !errno && !*end && v <= (unsigned long long)RELIEF_QTY_MAX && (allow_zero || v);
    }
    if (!ok) {
        snprintf(msg, cap,
                 "The quantity must be a whole number of base units from %d to %llu, not "
                 "\"%.24s\".",
                 allow_zero ? 0 : 1, (unsigned long long)RELIEF_QTY_MAX, in);
        return -1;
    }
    *q = (int64_t)v;
    return 0;
}

void webapp_form_msg(FILE *f, const char *msg, int good)
{
    if (!msg || !msg[0])
        return;
    /* the style's .msg is a refusal's red; what was recorded shows green */
    fprintf(f, "<p class=\"msg\"%s>",
            good ? " id=\"done\" style=\"border-color:#080;background:#efe\"" : " id=\"refused\"");
    html_escs(f, msg);
    fputs("</p>\n", f);
}

void webapp_form_open(FILE *f, const struct webapp_ctx *w, const char *action, const char *op,
                      const char *head)
{
    uint8_t raw[16];
    char nonce[WEBAPP_NONCE_LEN + 1];
    /* one per form: a tap on one form of a page never passes for a second tap on another */
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(nonce, sizeof nonce, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    fputs("<form class=\"f\" method=\"post\" action=\"", f);
    html_escs(f, action);
    fputs("\"><input type=\"hidden\" name=\"op\" value=\"", f);
    html_escs(f, op);
    fputs("\"><input type=\"hidden\" name=\"head\" value=\"", f);
    html_escs(f, head);
    fprintf(f, "\"><input type=\"hidden\" name=\"nonce\" value=\"%s\">", nonce);
    if (w->csrf && *w->csrf) {
        fputs("<input type=\"hidden\" name=\"csrf\" value=\"", f);
        html_escs(f, w->csrf);
        fputs("\">", f);
    }
}

void webapp_form_input(FILE *f, const char *label, const char *id, const char *name,
                       const char *value, const char *extra)
{
    fprintf(f, "<label for=\"%s\">", id);
    html_escs(f, label);
    fprintf(f, "</label><input id=\"%s\" name=\"%s\" %s value=\"", id, name, extra);
    html_escs(f, value ? value : "");
    fputs("\">", f);
}

void webapp_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = "0123456789abcdef"[b[i] >> 4];
        out[2 * i + 1] = "0123456789abcdef"[b[i] & 15];
    }
    out[2 * n] = 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int webapp_unhex(const char *in, uint8_t *out, size_t n)
{
    if (strlen(in) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* ---- a need's page ---------------------------------------------------------------------- */

struct need_run {
    const struct webapp_ctx *w;
    FILE *f;
    const char *hex;                       /* the id as the address gave it */
    const struct webapp_change_form *form; /* as typed (NULL: a fresh page) */
    const char *msg;                       /* a refusal (NULL: none) */
    int sent; /* the form sent: 0 deliver, 1 priority, 2 fulfil or cancel; -1 none */
    struct webapp_answer *a;
    /* a change: */
    struct relief_op op;
    const uint8_t *expect; /* the digest the form was opened on */
    struct need_plan plan;
    int written;
};

/* The need the address names into *row (under q); on failure r->msg and r->a->status say
 * why. AM_OK, AM_ENOTFOUND (said), or a store error. */
static int need_find(struct need_run *r, struct query *q, const struct query_need **row)
{
    static char none[] = "No need has that id on this node: open it from the list of needs "
                         "(it may not have synced here yet).";
    static char many[] = "More than one need begins with that id: open it from the list of "
                         "needs.";
    uint8_t id[RELIEF_ID_LEN];
    unsigned matches = 0;
    int rc = query_need_find(q, r->hex, id, &matches);
    if (rc == AM_OK && matches > 1)
        rc = AM_ENOTFOUND;
    if (rc == AM_OK)
        rc = query_need(q, id, row);
    if (rc == AM_ENOTFOUND || rc == AM_EINVAL) {
        r->msg = matches > 1 ? many : none;
        r->a->status = 404;
        return AM_ENOTFOUND;
    }
    return rc;
}

/* What was recorded, in a sentence, from the need as it is now. */
static void need_done(struct need_run *r, const struct query_need *x)
{
    char *d = r->a->done;
    size_t cap = sizeof r->a->done;
    if (r->op.type == RELIEF_T_NEED_DLV)
        snprintf(d, cap, "Recorded a delivery of %lld: %lld of %lld delivered now, %s.%s",
                 (long long)r->op.q, (long long)x->v.delivered, (long long)x->q,
                 relief_status_name(x->v.status),
                 x->over ? " More was delivered than asked: check the deliveries." : "");
    else if (r->op.type == RELIEF_T_NEED_CLOSE)
        snprintf(d, cap, "Recorded: the need is %s now.", relief_status_name(x->v.status));
    else
        snprintf(d, cap, "Recorded: the priority is %s now.",
                 x->pri ? relief_priority_name(x->pri) : "not known yet");
}

static void row(FILE *f, const char *label, const char *id, const char *value, const char *cls)
{
    fprintf(f, "<tr><th>%s</th><td id=\"%s\"%s%s%s>", label, id, cls ? " class=\"" : "",
            cls ? cls : "", cls ? "\"" : "");
    html_escs(f, value);
    fputs("</td></tr>\n", f);
}

/* A form's heading, an anchor its action scrolls the answer to (no script needed), and
 * above the form that was sent, what it did or why not. */
static void section(struct need_run *r, int i, const char *id, const char *title)
{
    fprintf(r->f, "<h2 id=\"%s\">%s</h2>\n", id, title);
    if (i == r->sent) {
        webapp_form_msg(r->f, r->a->done, 1);
        webapp_form_msg(r->f, r->msg, 0);
    }
}

static void need_forms(struct need_run *r, const struct query_need *x, const char *action)
{
    FILE *f = r->f;
    const struct webapp_change_form *v = r->form;
    const char *op = v ? v->op : "";
    uint8_t dg[NEED_OPS_DIGEST_LEN];
    char head[NEED_OPS_DIGEST_HEX + 1], to[64];
    int pri = x->pri;

    need_ops_digest(x, dg);
    webapp_hex(dg, sizeof dg, head);
    section(r, 0, "deliver", "Record a delivery");
    snprintf(to, sizeof to, "%s#deliver", action);
    webapp_form_open(f, r->w, to, "deliver", head);
    webapp_form_input(f, "Quantity delivered (base units)", "d-qty", "qty",
                      v && !strcmp(op, "deliver") ? v->qty : "",
                      "inputmode=\"numeric\" pattern=\"[0-9]+\" maxlength=\"16\" required");
    fputs("<button type=\"submit\">Record the delivery</button></form>\n", f);
    section(r, 1, "priority", "Priority");
    snprintf(to, sizeof to, "%s#priority", action);
    webapp_form_open(f, r->w, to, "priority", head);
    fputs("<label for=\"p-pri\">Priority</label><select id=\"p-pri\" name=\"priority\">", f);
    if (v && !strcmp(op, "priority")) {
        pri = 0;
        for (int i = 1; i <= 4; i++)
            if (!strcmp(v->priority, relief_priority_name(i)))
                pri = i;
    }
    for (int i = 1; i <= 4; i++)
        webapp_option(f, relief_priority_name(i), relief_priority_name(i), i == pri);
    fputs("</select><button type=\"submit\">Change the priority</button></form>\n", f);
    section(r, 2, "close", "Close it");
    snprintf(to, sizeof to, "%s#close", action);
    if (x->v.status != RELIEF_ST_FULFILLED) {
        webapp_form_open(f, r->w, to, "fulfil", head);
        fputs("<button type=\"submit\">Mark it fulfilled</button></form>\n", f);
    }
    if (x->v.status != RELIEF_ST_CANCELLED) {
        webapp_form_open(f, r->w, to, "cancel", head);
        fputs("<button type=\"submit\">Cancel the need</button></form>\n", f);
    }
}

static int need_build(void *ctx)
{
    struct need_run *r = ctx;
    FILE *f = r->f;
    struct query *q = NULL;
    const struct query_need *x = NULL;
    char hex[33], action[48], num[32], day[11] = "-";
    const char *note;
    size_t nl;
    int rc = query_open(r->w->n->store, 0, &q);
    if (rc == AM_OK)
        rc = need_find(r, q, &x);
    if (rc == AM_ENOTFOUND) {
        webapp_page_top(f, r->w, "No such need");
        fputs("<h1>No such need</h1>\n", f);
        webapp_form_msg(f, r->msg, 0);
        fputs("<p><a href=\"/needs\">The needs</a></p>\n</body></html>\n", f);
        query_close(q);
        return AM_OK;
    }
    if (rc != AM_OK) {
        query_close(q);
        return rc;
    }
    if (r->written)
        need_done(r, x);
    relief_id_hex(x->v.id, hex);
    snprintf(action, sizeof action, "/needs/%s", hex);
    webapp_page_top(f, r->w, "A need");
    fputs("<h1>", f);
    html_escs(f, x->v.opened ? x->v.item : "?");
    fputs(" at ", f);
    html_escs(f, x->v.opened ? x->v.site : "?");
    fputs("</h1>\n", f);
    if (!(r->w->can_write && x->v.opened) || r->sent < 0) { /* else above the form sent */
        webapp_form_msg(f, r->a->done, 1);
        webapp_form_msg(f, r->msg, 0);
    }
    fputs("<table>\n", f);
    row(f, "Site", "v-site", x->v.opened ? x->v.site : "not known here yet", NULL);
    row(f, "Item", "v-item", x->v.opened ? x->v.item : "not known here yet", NULL);
    snprintf(num, sizeof num, "%lld", (long long)x->q);
    row(f, "Asked", "v-qty", num, NULL);
    snprintf(num, sizeof num, "%lld", (long long)x->v.delivered);
    row(f, "Delivered", "v-delivered", num, NULL);
    row(f, "Status", "v-status", x->late ? "open, late" : relief_status_name(x->v.status), NULL);
    snprintf(num, sizeof num, "p%d", x->pri);
    row(f, "Priority", "v-priority", x->pri ? relief_priority_name(x->pri) : "?", num);
    if (x->by)
        relief_day_format(x->by, day);
    row(f, "Needed by", "v-by", day, NULL);
    note = query_reg_text(&x->v.note, &nl);
    fputs("<tr><th>Note</th><td id=\"v-note\">", f);
    html_esc(f, note, nl);
    fputs("</td></tr>\n", f);
    snprintf(num, sizeof num, "%.*s", (int)x->digits, hex); /* as the lists show it */
    row(f, "Id", "v-id", num, NULL);
    fputs("</table>\n", f);
    if (x->conflict)
        fputs("<p>Two nodes changed this need at once: it shows the latest change. A new "
              "change settles it.</p>\n",
              f);
    if (r->w->can_write && x->v.opened)
        need_forms(r, x, action);
    else if (!x->v.opened)
        fputs("<p>This need has not been opened on this node yet: its changes wait for the "
              "next sync.</p>\n",
              f);
    fputs("<p><a href=\"/needs\">All the needs</a></p>\n</body></html>\n", f);
    query_close(q);
    return AM_OK;
}

int webapp_need_page(const struct webapp_ctx *w, const char *id, struct webapp_answer *a)
{
    struct need_run *r = calloc(1, sizeof *r);
    int rc;
    if (!r)
        return AM_ENOMEM;
    a->status = 200;
    a->done[0] = 0;
    a->written = 0;
    r->w = w;
    r->hex = id;
    r->a = a;
    r->sent = -1;
    rc = webapp_render(w->n, need_build, r, &r->f, &a->out, &a->len);
    free(r);
    return rc;
}

/* The op the form asks for into r->op; 0, or -1 with r->msg. */
static int need_op_parse(struct need_run *r, const struct webapp_change_form *v, char *msg,
                         size_t cap)
{
    struct relief_op *op = &r->op;
    memset(op, 0, sizeof *op);
    if (!strcmp(v->op, "deliver")) {
        op->type = RELIEF_T_NEED_DLV;
        if (webapp_form_qty(v->qty, 0, &op->q, msg, cap))
            return -1;
        op->has = RELIEF_HAS(RELIEF_K_Q);
    } else if (!strcmp(v->op, "fulfil") || !strcmp(v->op, "cancel")) {
        op->type = RELIEF_T_NEED_CLOSE;
        op->st = v->op[0] == 'f' ? RELIEF_ST_FULFILLED : RELIEF_ST_CANCELLED;
        op->has = RELIEF_HAS(RELIEF_K_ST);
    } else if (!strcmp(v->op, "priority")) {
        op->type = RELIEF_T_NEED_UPD;
        for (int i = 1; i <= 4; i++)
            if (!strcmp(v->priority, relief_priority_name(i)))
                op->pri = i;
        if (!op->pri) {
            snprintf(msg, cap, "Choose a priority: critical, high, normal or low.");
            return -1;
        }
        op->has = RELIEF_HAS(RELIEF_K_PRI);
    } else {
        snprintf(msg, cap,
                 "Choose what to record: a delivery, fulfilled, cancelled, or a "
                 "priority.");
        return -1;
    }
    op->has |= RELIEF_HAS(RELIEF_K_T);
    return 0;
}

/* Under store_guarded: the need as it is now, and the plan of the change on it. */
static int need_plan_step(void *ctx)
{
    struct need_run *r = ctx;
    struct query *q = NULL;
    const struct query_need *x;
    int rc = query_open(r->w->n->store, 0, &q);
    if (rc == AM_OK)
        rc = need_find(r, q, &x);
    if (rc == AM_OK) {
        rc = need_ops_plan(x, &r->op, 0, r->expect, &r->plan);
        if (rc != AM_OK) {
            r->msg = r->plan.msg;
            r->a->status = r->plan.refused == NEED_REFUSED_HEADS ? 422 : 409;
        }
    }
    query_close(q);
    return rc;
}

unsigned webapp_write_failed(int rc, const char *err, char *msg, size_t cap)
{
    if (rc == AM_EINVAL || rc == AM_ELIMIT || rc == AM_EMALFORMED || rc == AM_ENOTFOUND) {
        snprintf(msg, cap, "Nothing was written: %s.", err[0] ? err : am_strerror(rc));
        return 422;
    }
    if (rc == AM_EFORK)
        snprintf(msg, cap,
                 "Nothing was written: this node's key is in use on two machines, so "
                 "it writes nothing more until the coordinator runs `aidmesh identity "
                 "rotate` on it.");
    else if (rc == AM_EFULL)
        snprintf(msg, cap, "Nothing was written: the node's disk is full. Tell the coordinator.");
    else
        snprintf(msg, cap,
                 "Nothing was written: the node could not store it (%s). Try again "
                 "in a moment.",
                 am_strerror(rc));
    return 503;
}

int webapp_need_change(const struct webapp_ctx *w, const char *id,
                       const struct webapp_change_form *f, int bad, const char *again,
                       struct webapp_answer *a)
{
    struct need_run *r = calloc(1, sizeof *r);
    uint8_t expect[NEED_OPS_DIGEST_LEN];
    char msg[RELIEF_ERR_MAX + 200], err[RELIEF_ERR_MAX + 64];
    int rc;
    if (!r)
        return AM_ENOMEM;
    a->status = 200;
    a->done[0] = 0;
    a->written = 0;
    r->w = w;
    r->hex = id;
    r->a = a;
    r->form = f;
    r->sent = !strcmp(f->op, "deliver")                              ? 0
              : !strcmp(f->op, "priority")                           ? 1
              : !strcmp(f->op, "fulfil") || !strcmp(f->op, "cancel") ? 2
                                                                     : -1;
    if (again) { /* a second tap: the first one wrote */
        snprintf(a->done, sizeof a->done, "Recorded already: a second tap writes nothing%s%.400s",
                 again[0] ? ". " : ".", again);
        r->form = NULL;
    } else if (bad) {
        r->msg = WEBAPP_TOO_LONG;
        a->status = 422;
    } else if (need_op_parse(r, f, msg, sizeof msg)) {
        r->msg = msg;
        a->status = 422;
    } else if (webapp_unhex(f->head, expect, sizeof expect)) {
        r->msg = "This form does not say which state of the need it was opened on: open the "
                 "need's page again and send it from there.";
        a->status = 422;
    } else {
        r->expect = expect;
        rc = store_guarded(w->n->store, need_plan_step, r, NULL);
        if (rc == AM_OK) {
            rc = need_ops_write(w->n, &r->plan, err, sizeof err, NULL);
            if (rc == AM_OK) {
                r->written = a->written = 1;
                r->form = NULL; /* the page shows fresh forms */
            } else {
                a->status = webapp_write_failed(rc, err, msg, sizeof msg);
                r->msg = msg;
            }
        } else if (!r->msg) {
            free(r);
            return rc;
        }
    }
    rc = webapp_render(w->n, need_build, r, &r->f, &a->out, &a->len);
    free(r);
    return rc;
}
