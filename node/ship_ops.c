/*
 * ship_ops.c: create, dispatch, receive and cancel a shipment (ship_ops.h; PROTOCOL.md
 * 10.4, 10.8.6, 10.11): each checked against one query snapshot, then written as one op
 * through relief_node_write. Never prints.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "relief_node.h"
#include "ship_ops.h"

__attribute__((format(printf, 3, 4))) static void say(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (!err || !cap)
        return;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static struct relief_str S(const char *s) {
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

/* The first digits of a shipment's id, as people see it. */
static void
short_id(const struct query_ship *s, char out[33])
{
    relief_id_hex(s->id, out);
    out[s->digits < 32 ? s->digits : 32] = 0;
}

static const char *status_word(const struct query_ship *s)
{
    return s->status ? relief_ship_status_name(s->status) : "unknown";
}

int ship_ops_create(struct node *n, struct query *q, const char *from, const char *to,
                    const struct ship_line_in *ln, size_t nl, uint32_t by, const char *doc,
                    const char *note, int force, char *err, size_t cap, uint8_t id[RELIEF_ID_LEN])
{
    struct relief_line lines[RELIEF_LINES_MAX];
    struct relief_op op;
    uint8_t hash[AM_HASH_LEN];
    int rc;

    if (!strcmp(from, to)) {
        say(err, cap, "a shipment goes from one site to another: from and to are both \"%s\"",
            from);
        return AM_EINVAL;
    }
    if (nl == 0 || nl > RELIEF_LINES_MAX) {
        say(err, cap, "a shipment has 1 to %d lines, not %zu", RELIEF_LINES_MAX, nl);
        return AM_EINVAL;
    }
    memset(lines, 0, sizeof lines);
    for (size_t i = 0; i < nl; i++) {
        const struct ship_line_in *l = &ln[i];
        lines[i].item = S(l->item);
        lines[i].q = l->q;
        lines[i].lot = S(l->lot);
        lines[i].has_need = l->has_need;
        memcpy(lines[i].need, l->need, RELIEF_ID_LEN);
        if (l->has_need) {
            const struct query_need *w;
            char hex[33];
            relief_id_hex(l->need, hex);
            rc = query_need(q, l->need, &w);
            if (rc == AM_ENOTFOUND || (rc == AM_OK && !w->v.opened)) {
                if (force)
                    continue;
                say(err, cap, "line %zu: need %.12s has not been opened here", i + 1, hex);
                return AM_ENOTFOUND;
            }
            if (rc != AM_OK) {
                say(err, cap, "line %zu: cannot read need %.12s: %s", i + 1, hex, am_strerror(rc));
                return rc;
            }
            if (strcmp(w->v.item, l->item) != 0) {
                say(err, cap, "line %zu: need %.12s asks for %s, not %s", i + 1, hex, w->v.item,
                    l->item);
                return AM_EINVAL;
            }
            if (w->v.status != RELIEF_ST_OPEN && !force) {
                say(err, cap, "line %zu: need %.12s is %s, no longer open", i + 1, hex,
                    relief_status_name(w->v.status));
                return AM_EINVAL;
            }
        }
        if (l->lot[0] && !force) {
            struct query_cell_filter f = {.site = from, .item = l->item};
            const struct query_cell *rows;
            size_t nr, k;
            if ((rc = query_cells(q, &f, &rows, &nr)) != AM_OK) {
                say(err, cap, "cannot read the stock of %s: %s", from, am_strerror(rc));
                return rc;
            }
            for (k = 0; k < nr && strcmp(rows[k].v.lot, l->lot) != 0; k++)
                ;
            if (k == nr) {
                say(err, cap, "line %zu: %s holds no lot %s of %s", i + 1, from, l->lot, l->item);
                return AM_EINVAL;
            }
        }
    }
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_SHIP_NEW;
    op.site = S(from);
    op.to = S(to);
    op.ln = (struct relief_lines){(uint32_t)nl, lines, NULL};
    op.has = RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_TO) | RELIEF_HAS(RELIEF_K_LN);
    if (by) {
        op.by = by;
        op.has |= RELIEF_HAS(RELIEF_K_BY);
    }
    if (doc && doc[0]) {
        op.doc = S(doc);
        op.has |= RELIEF_HAS(RELIEF_K_DOC);
    }
    if (note && note[0]) {
        op.note = S(note);
        op.has |= RELIEF_HAS(RELIEF_K_NOTE);
    }
    if ((rc = relief_node_write(n, &op, force, err, cap, hash)) != AM_OK)
        return rc;
    relief_need_id(hash, id);
    return AM_OK;
}

/* Whether shipment s may move to dispatched; else the sentence. */
static int check_created(const struct query_ship *s, const char *what, char *err, size_t cap)
{
    char sid[33];
    short_id(s, sid);
    if (!s->made.present) {
        say(err, cap, "shipment %s: its creation has not reached this node yet", sid);
        return AM_ESTATE;
    }
    if (s->status == RELIEF_SHIP_CREATED)
        return AM_OK;
    if (s->status == RELIEF_SHIP_DISPATCHED || s->status == RELIEF_SHIP_RECEIVED)
        say(err, cap, "shipment %s was dispatched already (it is %s): it cannot be %s", sid,
            status_word(s), what);
    else
        say(err, cap, "shipment %s is %s: it cannot be %s", sid, status_word(s), what);
    return AM_ESTATE;
}

/* Appends a dispatch line; AM_ELIMIT past RELIEF_LINES_MAX. */
static int put_line(struct query_ship_line *out, size_t *n, const struct query_ship_line *src,
                    const char *lot, uint32_t exp, int64_t q)
{
    struct query_ship_line *l;
    if (*n == RELIEF_LINES_MAX)
        return AM_ELIMIT;
    l = &out[(*n)++];
    *l = *src;
    snprintf(l->lot, sizeof l->lot, "%s", lot);
    l->exp = exp;
    l->q = q;
    return AM_OK;
}

#define FEFO_CAP 256

int ship_ops_dispatch(struct node *n, struct query *q, const struct query_ship *s, int force,
                      const char *note, char *err, size_t cap, struct query_ship_line *out,
                      size_t *nout)
{
    struct query_ship_line *dl = calloc(RELIEF_LINES_MAX, sizeof *dl);
    struct relief_line *rl = calloc(RELIEF_LINES_MAX, sizeof *rl);
    struct query_take *lots = calloc(FEFO_CAP, sizeof *lots);
    size_t nd = 0;
    struct relief_op op;
    int rc;

    if (nout)
        *nout = 0;
    if (!dl || !rl || !lots) {
        rc = AM_ENOMEM;
        goto out;
    }
    if ((rc = check_created(s, "dispatched again", err, cap)) != AM_OK)
        goto out;
    for (uint32_t i = 0; i < s->made.n; i++) {
        const struct query_ship_line *l = &s->made.ln[i];
        size_t nl = 0;
        int64_t short_by, want = l->q;

        /* the lots of the item at the site, first expiry first out; what earlier lines of
         * this shipment took is taken off them */
        rc = query_fefo(q, s->from, l->item, RELIEF_R_ISSUED, RELIEF_QTY_MAX, lots, FEFO_CAP, &nl,
                        &short_by);
        if (rc != AM_OK) {
            say(err, cap, "cannot read the stock of %s at %s: %s", l->item, s->from,
                am_strerror(rc));
            goto out;
        }
        for (size_t k = 0; k < nl; k++) {
            lots[k].qty = lots[k].had;
            for (size_t d = 0; d < nd; d++)
                if (!strcmp(dl[d].item, l->item) && !strcmp(dl[d].lot, lots[k].lot) &&
                    dl[d].exp == lots[k].exp)
                    lots[k].qty -= dl[d].q;
        }
        for (size_t k = 0; k < nl && want > 0; k++) {
            int64_t take;
            if (lots[k].qty <= 0 || (l->lot[0] && strcmp(lots[k].lot, l->lot) != 0))
                continue;
            take = lots[k].qty < want ? lots[k].qty : want;
            if ((rc = put_line(dl, &nd, l, lots[k].lot, lots[k].exp, take)) != AM_OK)
                goto many;
            want -= take;
        }
        if (want > 0) {
            const char *lot = l->lot;
            uint32_t exp = 0;
            if (!force) {
                say(err, cap, "this node sees %" PRId64 " %s%s%s at %s to dispatch, not %" PRId64,
                    l->q - want, l->item, lot[0] ? " of lot " : "", lot, s->from, l->q);
                rc = AM_ELIMIT;
                goto out;
            }
            if (lot[0]) { /* the named lot, overdrawn: its first cell, else without expiry */
                for (size_t k = 0; k < nl; k++)
                    if (!strcmp(lots[k].lot, lot)) {
                        exp = lots[k].exp;
                        break;
                    }
            }
            if ((rc = put_line(dl, &nd, l, lot, exp, want)) != AM_OK)
                goto many;
        }
    }
    for (size_t i = 0; i < nd; i++) {
        rl[i].item = S(dl[i].item);
        rl[i].q = dl[i].q;
        rl[i].lot = S(dl[i].lot);
        rl[i].exp = dl[i].exp;
        rl[i].has_need = dl[i].has_need;
        memcpy(rl[i].need, dl[i].need, RELIEF_ID_LEN);
    }
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_SHIP_DSP;
    memcpy(op.ship, s->id, RELIEF_ID_LEN);
    op.site = S(s->from);
    op.ln = (struct relief_lines){(uint32_t)nd, rl, NULL};
    op.has = RELIEF_HAS(RELIEF_K_SHIP) | RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_LN);
    if (note && note[0]) {
        op.note = S(note);
        op.has |= RELIEF_HAS(RELIEF_K_NOTE);
    }
    if ((rc = relief_node_write(n, &op, 1, err, cap, NULL)) != AM_OK)
        goto out;
    if (out && nout) {
        memcpy(out, dl, nd * sizeof *dl);
        *nout = nd;
    }
    goto out;
many:
    say(err, cap, "the shipment takes from more than %d lots: split it into two shipments",
        RELIEF_LINES_MAX);
out:
    free(dl);
    free(rl);
    free(lots);
    return rc;
}

int ship_ops_receive(struct node *n, const struct query_ship *s, const int64_t *qty, size_t nq,
                     const char *reason, char *err, size_t cap)
{
    struct relief_line rl[RELIEF_LINES_MAX];
    struct relief_op op;
    int short_any = 0;
    char sid[33];

    short_id(s, sid);
    if (!s->dsp.present) {
        say(err, cap, "shipment %s has not been dispatched%s: receive it once it has left", sid,
            s->status == RELIEF_SHIP_CANCELLED ? " (it is cancelled)" : "");
        return AM_ESTATE;
    }
    if (s->rcv.present) {
        say(err, cap, "shipment %s was received already: a second receipt would move nothing", sid);
        return AM_ESTATE;
    }
    if (!s->to[0]) {
        say(err, cap, "shipment %s: its creation has not reached this node yet", sid);
        return AM_ESTATE;
    }
    if (nq && nq != s->dsp.n) {
        say(err, cap,
            "shipment %s left in %" PRIu32 " line%s: give what arrived of each, in the order "
            "the shipment lists them (or none: all arrived)",
            sid, s->dsp.n, s->dsp.n == 1 ? "" : "s");
        return AM_EINVAL;
    }
    memset(rl, 0, sizeof rl);
    for (uint32_t i = 0; i < s->dsp.n; i++) {
        const struct query_ship_line *l = &s->dsp.ln[i];
        int64_t got = nq ? qty[i] : l->q;
        if (got < 0 || got > l->q) {
            say(err, cap,
                "line %" PRIu32 ": %" PRId64 " %s arrived, but %" PRId64 " left: a receipt "
                "takes at most what was dispatched",
                i + 1, got, l->item, l->q);
            return AM_EINVAL;
        }
        short_any |= got < l->q;
        rl[i].item = S(l->item);
        rl[i].q = got;
        rl[i].lot = S(l->lot);
        rl[i].exp = l->exp;
        rl[i].has_need = l->has_need;
        memcpy(rl[i].need, l->need, RELIEF_ID_LEN);
    }
    if (short_any && (!reason || !reason[0])) {
        say(err, cap,
            "less arrived than left: give the reason (it is recorded as lost in "
            "transit)");
        return AM_EINVAL;
    }
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_SHIP_RCV;
    memcpy(op.ship, s->id, RELIEF_ID_LEN);
    op.site = S(s->to);
    op.ln = (struct relief_lines){s->dsp.n, rl, NULL};
    op.has = RELIEF_HAS(RELIEF_K_SHIP) | RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_LN);
    if (reason && reason[0]) {
        op.note = S(reason);
        op.has |= RELIEF_HAS(RELIEF_K_NOTE);
    }
    return relief_node_write(n, &op, 1, err, cap, NULL);
}

int ship_ops_cancel(struct node *n, const struct query_ship *s, const char *note, char *err,
                    size_t cap)
{
    struct relief_op op;
    int rc;

    if (s->status != RELIEF_SHIP_CREATED || !s->made.present) {
        char sid[33];
        short_id(s, sid);
        if (s->status == RELIEF_SHIP_DISPATCHED)
            say(err, cap,
                "shipment %s has left %s already: it cannot be cancelled; receive it where it "
                "arrives (what never arrives is recorded as lost)",
                sid, s->from);
        else if ((rc = check_created(s, "cancelled", err, cap)) == AM_OK)
            say(err, cap, "shipment %s is %s: it cannot be cancelled", sid, status_word(s));
        return AM_ESTATE;
    }
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_SHIP_CXL;
    memcpy(op.ship, s->id, RELIEF_ID_LEN);
    op.has = RELIEF_HAS(RELIEF_K_SHIP);
    if (note && note[0]) {
        op.note = S(note);
        op.has |= RELIEF_HAS(RELIEF_K_NOTE);
    }
    return relief_node_write(n, &op, 1, err, cap, NULL);
}
