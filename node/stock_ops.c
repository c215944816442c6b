/*
 * stock_ops.c: planning and writing a stock movement or count (see stock_ops.h).
 * Reads only through the query it is given (and relief_node_ctx for a count's context);
 * writes only in stock_ops_write. Never prints.
 */
#include "stock_ops.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"

#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))
#define LOT_OR_EXP (RELIEF_HAS(RELIEF_K_LOT) | RELIEF_HAS(RELIEF_K_EXP))

size_t stock_ops_lots_held(struct query *q, const char *site, const char *item, char *out,
                           size_t cap)
{
    struct query_cell_filter f = {.site = site, .item = item};
    const struct query_cell *rows;
    size_t nr, k = 0, o = 0;
    if (cap)
        out[0] = 0;
    if (query_cells(q, &f, &rows, &nr) != AM_OK)
        return 0;
    for (size_t i = 0; i < nr; i++)
        if (rows[i].v.lot[0] && rows[i].v.value > 0) {
            if (o < cap)
                o += (size_t)snprintf(out + o, cap - o, "%s%s", k ? ", " : "", rows[i].v.lot);
            k++;
        }
    return k;
}

int stock_ops_digest(struct query *q, const char *site, const char *item,
                     uint8_t out[static STOCK_OPS_DIGEST_LEN])
{
    struct query_cell_filter f = {.site = site, .item = item};
    const struct query_cell *rows;
    crypto_generichash_state st;
    uint8_t h[crypto_generichash_BYTES_MIN];
    size_t n;
    int rc = query_cells(q, &f, &rows, &n);
    if (rc != AM_OK)
        return rc;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    for (size_t i = 0; i < n; i++) {
        const struct relief_node_cell *c = &rows[i].v;
        /* every op on a cell raises its moves or its counts: that is enough to see a change */
        int64_t nums[5] = {c->exp, c->value, c->n_moves, c->n_counts, c->has_winner};
        crypto_generichash_update(&st, (const uint8_t *)c->lot, strlen(c->lot) + 1);
        crypto_generichash_update(&st, (const uint8_t *)nums, sizeof nums);
    }
    crypto_generichash_final(&st, h, sizeof h);
    memcpy(out, h, STOCK_OPS_DIGEST_LEN);
    return AM_OK;
}

/* The sentence of a refusal of too little stock. */
static void say_short(struct stock_plan *p, const struct relief_op *op, const char *site,
                      const char *item)
{
    snprintf(p->msg, sizeof p->msg,
             "This node sees only %lld %s %s at %s%s%s%s. Record what was really given out; the "
             "rest can be recorded once the stock that is missing here arrives.",
             (long long)p->seen, item,
             op->reason == RELIEF_R_EXPIRED ? "in expired lots" : "to issue", site,
             p->lots[0] ? " (lots: " : "", p->lots, p->lots[0] ? ")" : "");
}

/* An outgoing movement that names no lot: the lots it takes from, first expiry first out. */
static int plan_fefo(struct query *q, const struct relief_op *op, const char *site,
                     const char *item, struct stock_plan *p)
{
    size_t nt = 0;
    int64_t short_by = 0;
    int rc = query_fefo(q, site, item, op->reason, op->q, p->take, RELIEF_NODE_OPS_MAX - 1, &nt,
                        &short_by);
    if (rc != AM_OK) {
        p->refused = STOCK_REFUSED_READ;
        snprintf(p->msg, sizeof p->msg, "The stock cannot be read on this node: %s.",
                 am_strerror(rc));
        return rc;
    }
    if (short_by > 0 && !p->force) {
        p->refused = STOCK_REFUSED_SHORT;
        p->seen = op->q - short_by;
        stock_ops_lots_held(q, site, item, p->lots, sizeof p->lots);
        say_short(p, op, site, item);
        return AM_ELIMIT;
    }
    if (short_by > 0) { /* forced: the rest on the cell without lot, as before */
        size_t i = 0;
        while (i < nt && (p->take[i].lot[0] || p->take[i].exp))
            i++;
        if (i == nt) {
            memset(&p->take[nt], 0, sizeof p->take[nt]);
            nt++;
        }
        p->take[i].qty += short_by; /* one movement per cell, never two on one */
    }
    for (size_t i = 0; i < nt; i++) {
        p->ops[i] = *op;
        p->ops[i].q = p->take[i].qty;
        if (p->take[i].lot[0]) {
            p->ops[i].lot.p = p->take[i].lot;
            p->ops[i].lot.len = (uint32_t)strlen(p->take[i].lot);
            HAS(&p->ops[i], LOT);
        }
        if (p->take[i].exp) {
            p->ops[i].exp = p->take[i].exp;
            HAS(&p->ops[i], EXP);
        }
    }
    p->n = nt;
    p->fefo = 1;
    return AM_OK;
}

int stock_ops_plan(struct node *n, struct query *q, const struct relief_op *op, unsigned flags,
                   struct stock_plan *p)
{
    return stock_ops_plan_as(n, NULL, q, op, flags, p);
}

int stock_ops_plan_as(struct node *n, const uint8_t *sk, struct query *q,
                      const struct relief_op *op, unsigned flags, struct stock_plan *p)
{
    char site[RELIEF_SLUG_MAX + 1], item[RELIEF_SLUG_MAX + 1];
    struct relief_key key;
    int rc;

    p->n = 0;
    p->fefo = 0;
    p->force = (flags & STOCK_OPS_FORCE) != 0;
    p->refused = STOCK_REFUSED_NONE;
    p->lots[0] = 0;
    p->seen = 0;
    p->msg[0] = 0;
    snprintf(site, sizeof site, "%.*s", (int)op->site.len, op->site.p);
    snprintf(item, sizeof item, "%.*s", (int)op->item.len, op->item.p);
    if ((rc = stock_ops_digest(q, site, item, p->digest)) != AM_OK) {
        p->refused = STOCK_REFUSED_READ;
        snprintf(p->msg, sizeof p->msg, "The stock cannot be read on this node: %s.",
                 am_strerror(rc));
        return rc;
    }
    if (!p->force && (!query_site(q, site) || !query_item(q, item))) {
        int no_site = !query_site(q, site);
        p->refused = no_site ? STOCK_REFUSED_SITE : STOCK_REFUSED_ITEM;
        snprintf(p->msg, sizeof p->msg,
                 "This node knows no %s '%s': choose one of the list (or sync with the hub "
                 "first).",
                 no_site ? "site" : "item", no_site ? site : item);
        return AM_ENOTFOUND;
    }
    if (op->type == RELIEF_T_STOCK_MOVE && !(op->has & LOT_OR_EXP) && !(flags & STOCK_OPS_NO_LOT)) {
        if (relief_reason_sign(op->reason) < 0)
            return plan_fefo(q, op, site, item, p);
        if (stock_ops_lots_held(q, site, item, p->lots, sizeof p->lots)) {
            p->refused = STOCK_REFUSED_NEED_LOT;
            snprintf(p->msg, sizeof p->msg,
                     "%s at %s is kept by lot (%s): give the lot and its expiry date, as "
                     "printed on the box.",
                     item, site, p->lots);
            return AM_EINVAL;
        }
    }
    /* one op, on the cell it names */
    p->ops[0] = *op;
    p->n = 1;
    memset(&p->take[0], 0, sizeof p->take[0]);
    snprintf(p->take[0].lot, sizeof p->take[0].lot, "%.*s",
             (op->has & RELIEF_HAS(RELIEF_K_LOT)) ? (int)op->lot.len : 0,
             (op->has & RELIEF_HAS(RELIEF_K_LOT)) ? op->lot.p : "");
    p->take[0].exp = op->exp;
    p->take[0].qty = op->q;
    if (op->type != RELIEF_T_STOCK_COUNT)
        return AM_OK;
    memset(&key, 0, sizeof key);
    key.kind = RELIEF_OBJ_CELL;
    memcpy(key.site, site, sizeof key.site); /* arrays of one size: never cut */
    memcpy(key.item, item, sizeof key.item);
    memcpy(key.lot, p->take[0].lot, sizeof key.lot);
    key.exp = op->exp;
    {
        uint32_t nc = 0;
        rc = relief_node_ctx(n->store, &key, sk ? sk + AM_SEED_LEN : n->pk, p->ctx, RELIEF_REFS_MAX,
                             &nc);
        if (rc != AM_OK) {
            p->refused = STOCK_REFUSED_CTX;
            snprintf(p->msg, sizeof p->msg,
                     "The count cannot be recorded: what this node saw of the cell cannot be "
                     "read (%s).",
                     am_strerror(rc));
            return rc;
        }
        p->ops[0].ctx.n = nc;
        p->ops[0].ctx.arr = p->ctx;
        HAS(&p->ops[0], CTX);
    }
    return AM_OK;
}

int stock_ops_write(struct node *n, const struct stock_plan *p, char *err, size_t cap)
{
    return stock_ops_write_as(n, NULL, p, err, cap);
}

int stock_ops_write_as(struct node *n, const uint8_t *sk, const struct stock_plan *p, char *err,
                       size_t cap)
{
    if (cap)
        err[0] = 0;
    if (p->n == 0)
        return AM_EINVAL;
    return relief_node_write_as(n, sk, p->ops, p->n, p->force, err, cap, NULL);
}
