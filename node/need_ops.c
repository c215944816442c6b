/*
 * need_ops.c: planning and writing a change to a need (see need_ops.h).
 * Reads only the row it is given; writes only in need_ops_write. Never prints.
 */
#include "need_ops.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "relief_node.h"

static void digest_reg(crypto_generichash_state *st, const struct relief_node_reg *r)
{
    uint64_t nums[4] = {r->n_heads, r->n_writes, r->win_hlc, r->win_ref.seq};
    crypto_generichash_update(st, (const uint8_t *)nums, sizeof nums);
    crypto_generichash_update(st, r->win_ref.author, sizeof r->win_ref.author);
    if (r->h && r->h_len) /* every head, not only the winner */
        crypto_generichash_update(st, r->h, r->h_len);
}

void need_ops_digest(const struct query_need *w, uint8_t out[static NEED_OPS_DIGEST_LEN])
{
    const struct relief_node_need *v = &w->v;
    crypto_generichash_state st;
    uint8_t h[crypto_generichash_BYTES_MIN];
    int64_t nums[6] = {v->opened,    v->status,       v->derived,
                       v->delivered, v->n_deliveries, v->saturated};

    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, v->id, sizeof v->id);
    crypto_generichash_update(&st, (const uint8_t *)v->site, strlen(v->site) + 1);
    crypto_generichash_update(&st, (const uint8_t *)v->item, strlen(v->item) + 1);
    crypto_generichash_update(&st, (const uint8_t *)nums, sizeof nums);
    digest_reg(&st, &v->q);
    digest_reg(&st, &v->pri);
    digest_reg(&st, &v->note);
    digest_reg(&st, &v->by);
    digest_reg(&st, &v->st);
    crypto_generichash_final(&st, h, sizeof h);
    memcpy(out, h, NEED_OPS_DIGEST_LEN);
}

int need_ops_plan(const struct query_need *w, const struct relief_op *op, int force,
                  const uint8_t *expect, struct need_plan *p)
{
    const struct relief_node_need *nv = &w->v;
    uint32_t nsup = 0;
    int bad = 0;

    p->op = *op;
    p->refused = NEED_REFUSED_NONE;
    p->msg[0] = 0;
    if (expect) {
        uint8_t now[NEED_OPS_DIGEST_LEN];
        need_ops_digest(w, now);
        if (memcmp(now, expect, sizeof now) != 0) {
            p->refused = NEED_REFUSED_STALE;
            snprintf(p->msg, sizeof p->msg,
                     "This need changed since you opened it (an update from another node or "
                     "phone arrived): the page shows what it is now. Nothing was written; send "
                     "your change again if it still holds.");
            return AM_ESTATE;
        }
    }
    if (!nv->opened && !force) {
        p->refused = NEED_REFUSED_NOT_OPENED;
        snprintf(p->msg, sizeof p->msg,
                 "This need has not been opened on this node yet (its first entry is on its "
                 "way): wait for a sync, then try again.");
        return AM_ESTATE;
    }
    memcpy(p->op.need, nv->id, RELIEF_ID_LEN);
    p->op.has |= RELIEF_HAS(RELIEF_K_NEED);
    p->op.has &= ~RELIEF_HAS(RELIEF_K_SUP);
    p->op.sup.n = 0;
    p->op.sup.arr = NULL;
    if (op->type == RELIEF_T_NEED_DLV) /* a delivery adds; it replaces nothing */
        return AM_OK;
    if ((op->has & RELIEF_HAS(RELIEF_K_Q)) && op->type == RELIEF_T_NEED_UPD)
        bad |= relief_node_reg_refs(&nv->q, p->sup, RELIEF_REFS_MAX, &nsup);
    if (op->has & RELIEF_HAS(RELIEF_K_PRI))
        bad |= relief_node_reg_refs(&nv->pri, p->sup, RELIEF_REFS_MAX, &nsup);
    if (op->has & RELIEF_HAS(RELIEF_K_NOTE))
        bad |= relief_node_reg_refs(&nv->note, p->sup, RELIEF_REFS_MAX, &nsup);
    if (op->has & RELIEF_HAS(RELIEF_K_BY))
        bad |= relief_node_reg_refs(&nv->by, p->sup, RELIEF_REFS_MAX, &nsup);
    if (op->has & RELIEF_HAS(RELIEF_K_ST))
        bad |= relief_node_reg_refs(&nv->st, p->sup, RELIEF_REFS_MAX, &nsup);
    if (bad) {
        p->refused = NEED_REFUSED_HEADS;
        snprintf(p->msg, sizeof p->msg,
                 "This need holds more concurrent changes than one update can settle; ask the "
                 "coordinator to check the node (aidmesh doctor).");
        return AM_ELIMIT;
    }
    relief_refs_sort(p->sup, &nsup);
    if (nsup) {
        p->op.sup.n = nsup;
        p->op.sup.arr = p->sup;
        p->op.has |= RELIEF_HAS(RELIEF_K_SUP);
    }
    return AM_OK;
}

int need_ops_write(struct node *n, const struct need_plan *p, char *err, size_t cap,
                   uint8_t hash[AM_HASH_LEN])
{
    return need_ops_write_as(n, NULL, p, err, cap, hash);
}

int need_ops_write_as(struct node *n, const uint8_t *sk, const struct need_plan *p, char *err,
                      size_t cap, uint8_t hash[AM_HASH_LEN])
{
    return relief_node_write_as(n, sk, &p->op, 1, 1, err, cap, hash);
}
