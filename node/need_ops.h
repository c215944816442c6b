/*
 * need_ops.h: a change to a need (need.upd, need.dlv, need.close: PROTOCOL.md 10.7),
 * made the one way the CLI (`aidmesh need update|deliver|close`) and the phone pages
 * (webapp_forms.c) both make it: on a need whose need.open has arrived (unless forced),
 * with `sup` naming the heads this node sees of every register the op writes (10.8.1).
 *
 * A plan is made from a need row of a query (one snapshot), then written
 * (need_ops_write). need_ops_digest names the state a form was opened on, so a change
 * made on a need that changed meanwhile (another node's update synced in) can be refused.
 *
 * Never prints: sentences for a person (no command-line flags in them) go into the plan's
 * msg; the CLI words its own refusals from plan.refused.
 */
#ifndef AM_NEED_OPS_H
#define AM_NEED_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"
#include "query.h"
#include "relief.h"

/* Why a plan was refused (need_plan.refused). */
enum need_refusal {
    NEED_REFUSED_NONE = 0,
    NEED_REFUSED_NOT_OPENED, /* its need.open has not arrived (AM_ESTATE) */
    NEED_REFUSED_HEADS,      /* more concurrent heads than an op can name (AM_ELIMIT) */
    NEED_REFUSED_STALE,      /* it changed since the form was opened (AM_ESTATE) */
};

/* The digest of a need as one snapshot shows it: its site and item, every register's heads
 * and winner, its deliveries and status. As hex: NEED_OPS_DIGEST_HEX + 1 bytes. */
#define NEED_OPS_DIGEST_LEN 8
#define NEED_OPS_DIGEST_HEX (2 * NEED_OPS_DIGEST_LEN)

/* The op to write. op's strings point where the op given to need_ops_plan pointed, and
 * op.sup into the plan: the plan is not to be copied. */
struct need_plan {
    struct relief_op op;
    struct relief_ref sup[RELIEF_REFS_MAX];
    int refused;   /* enum need_refusal */
    char msg[200]; /* the reason in a sentence for the person at the phone */
};

/* The digest of need w (a row of a query) into out. */
void need_ops_digest(const struct query_need *w, uint8_t out[static NEED_OPS_DIGEST_LEN]);

/*
 * Plans op (type RELIEF_T_NEED_UPD, _DLV or _CLOSE with the fields it sets) on need w.
 * force: also on a need whose need.open has not arrived. expect (nullable): the digest
 * the form was opened on; when w's differs the plan is refused as stale. Returns AM_OK,
 * or with p->refused and p->msg set: AM_ESTATE (not opened, or stale), AM_ELIMIT (heads).
 */
int need_ops_plan(const struct query_need *w, const struct relief_op *op, int force,
                  const uint8_t *expect, struct need_plan *p);

/* Writes the plan's op (relief_node_write; the need was found, so its reference is not
 * checked again). AM_OK, or relief_node_write's errors with err (cap >= RELIEF_ERR_MAX). */
int need_ops_write(struct node *n, const struct need_plan *p, char *err, size_t cap,
                   uint8_t hash[AM_HASH_LEN]);
/* need_ops_write signed by sk (relief_node_write_as: a paired phone's key; NULL: the
 * node's). */
int need_ops_write_as(struct node *n, const uint8_t *sk, const struct need_plan *p, char *err,
                      size_t cap, uint8_t hash[AM_HASH_LEN]);

#endif
