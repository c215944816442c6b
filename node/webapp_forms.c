/*
 * webapp_forms.c: a need's page and its update forms (webapp_forms.h), and the pieces of
 * forms the stock page (webapp_stock.c) shares (webapp_int.h). Reads run under
 * store_guarded (webapp_render, and the plan before a write); the write itself goes
 * through need_ops_write, as `aidmesh need deliver|close|update` does, signed by the key of
 * the phone that sent it (webapp_ctx.sk). Every sentence is in the page's language
 * (i18n.h); every stored or typed string goes through html_esc. Never prints.
 */
#include "webapp_forms.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "html.h"
#include "i18n.h"
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

int webapp_form_qty(int lang, const char *in, int allow_zero, int64_t *q, char *msg, size_t cap)
{
    unsigned long long v = 0;
    char *end = NULL, lo[I18N_NUM_MAX], hi[I18N_NUM_MAX];
    int ok = in[0] >= '0' && in[0] <= '9'; /* no sign, no space, not empty */
    if (ok) {
        errno = 0;
        v = strtoull(in, &end, 10);
        ok = !errno && !*end && v <= (unsigned long long)RELIEF_QTY_MAX && (allow_zero || v);
    }
    if (!ok) {
        i18n_num(lang, allow_zero ? 0 : 1, lo);
        i18n_num(lang, (long long)RELIEF_QTY_MAX, hi);
        snprintf(msg, cap,
                 i18n_s(lang, "The quantity must be a whole number of base units from %s to "
                              "%s, not \"%.24s\"."),
                 lo, hi, in);
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

void webapp_fmt_esc(FILE *f, const char *fmt, ...)
{
    const char *arg[WEBAPP_FMT_ARGS] = {NULL};
    size_t k = 0, next = 0;
    va_list ap;
    /* as many arguments as conversions (a translation uses each once: msgfmt -c) */
    for (const char *p = fmt; *p; p++)
        if (p[0] == '%' && p[1] == '%')
            p++;
        else if (p[0] == '%')
            k++;
    va_start(ap, fmt);
    for (size_t i = 0; i < k && i < WEBAPP_FMT_ARGS; i++)
        arg[i] = va_arg(ap, const char *);
    va_end(ap);
    for (const char *p = fmt; *p;) {
        size_t run = strcspn(p, "%");
        const char *a = NULL;
        if (run) { /* whole runs: a UTF-8 character is never cut */
            html_esc(f, p, run);
            p += run;
            continue;
        }
        if (p[1] == '%') {
            fputc('%', f);
            p += 2;
            continue;
        }
        if (p[1] == 's') {
            a = next < WEBAPP_FMT_ARGS ? arg[next++] : NULL;
            p += 2;
        } else if (p[1] >= '1' && p[1] <= '0' + WEBAPP_FMT_ARGS && p[2] == '$' && p[3] == 's') {
            a = arg[p[1] - '1'];
            p += 4;
        } else {
            p++; /* a lone % (never in the catalogue): dropped */
        }
        fputs("<bdi>", f); /* a name keeps its own direction on a right-to-left page */
        html_escs(f, a ? a : "?");
        fputs("</bdi>", f);
    }
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
    int l = r->w->lang;
    uint8_t id[RELIEF_ID_LEN];
    unsigned matches = 0;
    int rc = query_need_find(q, r->hex, id, &matches);
    if (rc == AM_OK && matches > 1)
        rc = AM_ENOTFOUND;
    if (rc == AM_OK)
        rc = query_need(q, id, row);
    if (rc == AM_ENOTFOUND || rc == AM_EINVAL) {
        r->msg = matches > 1 ? i18n_s(l, "More than one need begins with that id: open it "
                                         "from the list of needs.")
                             : i18n_s(l, "No need has that id on this node: open it from the "
                                         "list of needs (it may not have synced here yet).");
        r->a->status = 404;
        return AM_ENOTFOUND;
    }
    return rc;
}

/* What was recorded, in a sentence, from the need as it is now. */
static void need_done(struct need_run *r, const struct query_need *x)
{
    char *d = r->a->done, q[I18N_NUM_MAX], dl[I18N_NUM_MAX], asked[I18N_NUM_MAX];
    size_t cap = sizeof r->a->done, o;
    int l = r->w->lang;
    if (r->op.type == RELIEF_T_NEED_DLV) {
        i18n_num(l, r->op.q, q);
        i18n_num(l, x->v.delivered, dl);
        i18n_num(l, x->q, asked);
        snprintf(d, cap, i18n_s(l, "Recorded a delivery of %s: %s of %s delivered now, %s."), q, dl,
                 asked, i18n_s(l, relief_status_name(x->v.status)));
        o = strlen(d);
        if (x->over && o + 1 < cap)
            snprintf(d + o, cap - o, " %s",
                     i18n_s(l, "More was delivered than asked: check the deliveries."));
    } else if (r->op.type == RELIEF_T_NEED_CLOSE) {
        snprintf(d, cap, i18n_s(l, "Recorded: the need is %s now."),
                 i18n_s(l, relief_status_name(x->v.status)));
    } else {
        snprintf(d, cap, i18n_s(l, "Recorded: the priority is %s now."),
                 x->pri ? i18n_s(l, relief_priority_name(x->pri)) : i18n_s(l, "not known yet"));
    }
}

static void row(FILE *f, const char *label, const char *id, const char *value, const char *cls)
{
    fputs("<tr><th>", f);
    html_escs(f, label);
    fprintf(f, "</th><td id=\"%s\"%s%s%s>", id, cls ? " class=\"" : "", cls ? cls : "",
            cls ? "\"" : "");
    html_escs(f, value);
    fputs("</td></tr>\n", f);
}

/* A form's heading, an anchor its action scrolls the answer to (no script needed), and
 * above the form that was sent, what it did or why not. */
static void section(struct need_run *r, int i, const char *id, const char *title)
{
    fprintf(r->f, "<h2 id=\"%s\">", id);
    html_escs(r->f, title);
    fputs("</h2>\n", r->f);
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
    int pri = x->pri, l = r->w->lang;

    need_ops_digest(x, dg);
    webapp_hex(dg, sizeof dg, head);
    section(r, 0, "deliver", i18n_s(l, "Record a delivery"));
    snprintf(to, sizeof to, "%s#deliver", action);
    webapp_form_open(f, r->w, to, "deliver", head);
    webapp_form_input(f, i18n_s(l, "Quantity delivered (base units)"), "d-qty", "qty",
                      v && !strcmp(op, "deliver") ? v->qty : "",
                      "inputmode=\"numeric\" pattern=\"[0-9]+\" maxlength=\"16\" required");
    fprintf(f, "<button type=\"submit\">%s</button></form>\n", i18n_s(l, "Record the delivery"));
    section(r, 1, "priority", i18n_s(l, "Priority"));
    snprintf(to, sizeof to, "%s#priority", action);
    webapp_form_open(f, r->w, to, "priority", head);
    fprintf(f, "<label for=\"p-pri\">%s</label><select id=\"p-pri\" name=\"priority\">",
            i18n_s(l, "Priority"));
    if (v && !strcmp(op, "priority")) {
        pri = 0;
        for (int i = 1; i <= 4; i++)
            if (!strcmp(v->priority, relief_priority_name(i)))
                pri = i;
    }
    for (int i = 1; i <= 4; i++)
        webapp_option(f, relief_priority_name(i), i18n_s(l, relief_priority_name(i)), i == pri);
    fprintf(f, "</select><button type=\"submit\">%s</button></form>\n",
            i18n_s(l, "Change the priority"));
    section(r, 2, "close", i18n_s(l, "Close it"));
    snprintf(to, sizeof to, "%s#close", action);
    if (x->v.status != RELIEF_ST_FULFILLED) {
        webapp_form_open(f, r->w, to, "fulfil", head);
        fprintf(f, "<button type=\"submit\">%s</button></form>\n", i18n_s(l, "Mark it fulfilled"));
    }
    if (x->v.status != RELIEF_ST_CANCELLED) {
        webapp_form_open(f, r->w, to, "cancel", head);
        fprintf(f, "<button type=\"submit\">%s</button></form>\n", i18n_s(l, "Cancel the need"));
    }
}

static int need_build(void *ctx)
{
    struct need_run *r = ctx;
    FILE *f = r->f;
    struct query *q = NULL;
    const struct query_need *x = NULL;
    char hex[33], action[48], num[I18N_NUM_MAX], day[I18N_DAY_MAX] = "-";
    const char *note, *unknown;
    size_t nl;
    int l = r->w->lang;
    int rc = query_open(r->w->n->store, 0, &q);
    if (rc == AM_OK)
        rc = need_find(r, q, &x);
    if (rc == AM_ENOTFOUND) {
        webapp_page_top(f, r->w, i18n_s(l, "No such need"));
        fprintf(f, "<h1>%s</h1>\n", i18n_s(l, "No such need"));
        webapp_form_msg(f, r->msg, 0);
        fprintf(f, "<p><a href=\"/needs\">%s</a></p>\n</body></html>\n", i18n_s(l, "The needs"));
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
    webapp_page_top(f, r->w, i18n_s(l, "A need"));
    fputs("<h1>", f);
    /* TRANSLATORS: a need's heading: the item (first %s) at the site (second %s). */
    webapp_fmt_esc(f, i18n_s(l, "%s at %s"), x->v.opened ? x->v.item : "?",
                   x->v.opened ? x->v.site : "?");
    fputs("</h1>\n", f);
    if (!(r->w->can_write && x->v.opened) || r->sent < 0) { /* else above the form sent */
        webapp_form_msg(f, r->a->done, 1);
        webapp_form_msg(f, r->msg, 0);
    }
    unknown = i18n_s(l, "not known here yet");
    fputs("<table>\n", f);
    row(f, i18n_s(l, "Site"), "v-site", x->v.opened ? x->v.site : unknown, NULL);
    row(f, i18n_s(l, "Item"), "v-item", x->v.opened ? x->v.item : unknown, NULL);
    i18n_num(l, x->q, num);
    row(f, i18n_s(l, "Asked"), "v-qty", num, NULL);
    i18n_num(l, x->v.delivered, num);
    row(f, i18n_s(l, "Delivered"), "v-delivered", num, NULL);
    row(f, i18n_s(l, "Status"), "v-status",
        x->late ? i18n_s(l, "open, late") : i18n_s(l, relief_status_name(x->v.status)), NULL);
    snprintf(num, sizeof num, "p%d", x->pri);
    row(f, i18n_s(l, "Priority"), "v-priority",
        x->pri ? i18n_s(l, relief_priority_name(x->pri)) : "?", num);
    if (x->by)
        i18n_day(l, x->by, day);
    row(f, i18n_s(l, "Needed by"), "v-by", day, NULL);
    note = query_reg_text(&x->v.note, &nl);
    fprintf(f, "<tr><th>%s</th><td id=\"v-note\">", i18n_s(l, "Note"));
    html_esc(f, note, nl);
    fputs("</td></tr>\n", f);
    snprintf(num, sizeof num, "%.*s", (int)x->digits, hex); /* as the lists show it */
    row(f, i18n_s(l, "Id"), "v-id", num, NULL);
    fputs("</table>\n", f);
    if (x->conflict)
        fprintf(f, "<p>%s</p>\n",
                i18n_s(l, "Two nodes changed this need at once: it shows the latest change. A "
                          "new change settles it."));
    if (r->w->can_write && x->v.opened)
        need_forms(r, x, action);
    else if (!x->v.opened)
        fprintf(f, "<p>%s</p>\n",
                i18n_s(l, "This need has not been opened on this node yet: its changes wait for "
                          "the next sync."));
    fprintf(f, "<p><a href=\"/needs\">%s</a></p>\n</body></html>\n", i18n_s(l, "All the needs"));
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
    int l = r->w->lang;
    memset(op, 0, sizeof *op);
    if (!strcmp(v->op, "deliver")) {
        op->type = RELIEF_T_NEED_DLV;
        if (webapp_form_qty(l, v->qty, 0, &op->q, msg, cap))
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
            snprintf(msg, cap, "%s",
                     i18n_s(l, "Choose a priority: critical, high, normal or low."));
            return -1;
        }
        op->has = RELIEF_HAS(RELIEF_K_PRI);
    } else {
        snprintf(msg, cap, "%s",
                 i18n_s(l, "Choose what to record: a delivery, fulfilled, cancelled, or a "
                           "priority."));
        return -1;
    }
    op->has |= RELIEF_HAS(RELIEF_K_T);
    return 0;
}

/* need_ops_plan's refusal in lang (its own sentence, English, for one it does not name). */
static const char *need_refusal(int lang, int refused, const char *msg)
{
    switch (refused) {
    case NEED_REFUSED_NOT_OPENED:
        return i18n_s(lang, "This need has not been opened on this node yet (its first entry is "
                            "on its way): wait for a sync, then try again.");
    case NEED_REFUSED_HEADS:
        return i18n_s(lang, "This need holds more concurrent changes than one update can settle; "
                            "ask the coordinator to check the node (aidmesh doctor).");
    case NEED_REFUSED_STALE:
        return i18n_s(lang, "This need changed since you opened it (an update from another node "
                            "or phone arrived): the page shows what it is now. Nothing was "
                            "written; send your change again if it still holds.");
    default:
        return msg;
    }
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
            r->msg = need_refusal(r->w->lang, r->plan.refused, r->plan.msg);
            r->a->status = r->plan.refused == NEED_REFUSED_HEADS ? 422 : 409;
        }
    }
    query_close(q);
    return rc;
}

unsigned webapp_write_failed(int lang, int rc, const char *err, char *msg, size_t cap)
{
    if (rc == AM_EINVAL || rc == AM_ELIMIT || rc == AM_EMALFORMED || rc == AM_ENOTFOUND) {
        /* TRANSLATORS: %s is the node's reason, in English (the op's rules). */
        snprintf(msg, cap, i18n_s(lang, "Nothing was written: %s."),
                 err[0] ? err : am_strerror(rc));
        return 422;
    }
    if (rc == AM_EFORK)
        snprintf(msg, cap, "%s",
                 i18n_s(lang, "Nothing was written: this node's key is in use on two machines, "
                              "so it writes nothing more until the coordinator runs `aidmesh "
                              "identity rotate` on it."));
    else if (rc == AM_EFULL)
        snprintf(msg, cap, "%s",
                 i18n_s(lang, "Nothing was written: the node's disk is full. Tell the "
                              "coordinator."));
    else
        snprintf(msg, cap,
                 i18n_s(lang, "Nothing was written: the node could not store it (%s). Try again "
                              "in a moment."),
                 am_strerror(rc));
    return 503;
}

void webapp_again(int lang, const char *again, char *done, size_t cap)
{
    if (again[0])
        /* TRANSLATORS: %s is what the first tap recorded (a sentence of this page). */
        snprintf(done, cap, i18n_s(lang, "Recorded already: a second tap writes nothing. %s"),
                 again);
    else
        snprintf(done, cap, "%s", i18n_s(lang, "Recorded already: a second tap writes nothing."));
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
        webapp_again(w->lang, again, a->done, sizeof a->done);
        r->form = NULL;
    } else if (bad) {
        r->msg = i18n_s(w->lang, "A field is longer than it may be: shorten it (a note holds "
                                 "1000 bytes).");
        a->status = 422;
    } else if (need_op_parse(r, f, msg, sizeof msg)) {
        r->msg = msg;
        a->status = 422;
    } else if (webapp_unhex(f->head, expect, sizeof expect)) {
        r->msg = i18n_s(w->lang, "This form does not say which state of the need it was opened "
                                 "on: open the need's page again and send it from there.");
        a->status = 422;
    } else {
        r->expect = expect;
        rc = store_guarded(w->n->store, need_plan_step, r, NULL);
        if (rc == AM_OK) {
            rc = need_ops_write_as(w->n, w->sk, &r->plan, err, sizeof err, NULL);
            if (rc == AM_OK) {
                r->written = a->written = 1;
                r->form = NULL; /* the page shows fresh forms */
            } else {
                a->status = webapp_write_failed(w->lang, rc, err, msg, sizeof msg);
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
