/*
 * stock_ops.h: a stock movement or count, made the one way the CLI (`aidmesh stock`) and
 * the phone pages (webapp_forms.c) both make it (PROTOCOL.md 10.7, 10.8.4, 10.11):
 *
 *  - a movement out that names no lot takes from the lots this node sees, first expiry
 *    first out (query_fefo), as one op per lot, written together; when this node sees too
 *    little stock it is refused unless forced (the rest then lands on the cell without
 *    lot, which shows overdrawn);
 *  - a receipt without a lot of an item the site keeps in lots is refused (give the lot,
 *    or say "no lot");
 *  - a count carries its context (relief_node_ctx): what this node has seen of the cell.
 *
 * A plan is made under a query (one snapshot), then written (stock_ops_write). The plan
 * also carries a digest of the (site, item) as the snapshot showed it, so a form opened on
 * one state can be refused when the stock changed before it was sent.
 *
 * Never prints. Sentences for a person (no command-line flags in them) go into the plan's
 * msg; the CLI words its own refusals from the plan's fields.
 */
#ifndef AM_STOCK_OPS_H
#define AM_STOCK_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"
#include "query.h"
#include "relief.h"
#include "relief_node.h"

/* The flags of stock_ops_plan. */
#define STOCK_OPS_FORCE  1u /* refer to a site or item not defined here; issue more than seen */
#define STOCK_OPS_NO_LOT 2u /* record a movement without lot where the item is kept in lots */

/* Why a plan was refused (stock_plan.refused). */
enum stock_refusal {
    STOCK_REFUSED_NONE = 0,
    STOCK_REFUSED_SITE,     /* the site is not defined here (AM_ENOTFOUND) */
    STOCK_REFUSED_ITEM,     /* the item is not defined here (AM_ENOTFOUND) */
    STOCK_REFUSED_NEED_LOT, /* a receipt without lot of an item kept in lots (AM_EINVAL) */
    STOCK_REFUSED_SHORT,    /* this node sees too little stock to issue (AM_ELIMIT) */
    STOCK_REFUSED_READ,     /* the stock could not be read (the store's error) */
    STOCK_REFUSED_CTX,      /* a count's context could not be built (its error) */
};

/* The digest of a (site, item)'s stock as one snapshot shows it: every cell's lot,
 * expiry, value, moves and counts. As hex: STOCK_OPS_DIGEST_HEX + 1 bytes with its NUL. */
#define STOCK_OPS_DIGEST_LEN 8
#define STOCK_OPS_DIGEST_HEX (2 * STOCK_OPS_DIGEST_LEN)

/*
 * What is to be written. Fields point into the plan itself (lots) and into the op given to
 * stock_ops_plan (site, item, note, lot): the plan is not to be copied, and that op's
 * strings must outlive it. Large (some 30 kB): allocate it, or keep it off small stacks.
 */
struct stock_plan {
    struct relief_op ops[RELIEF_NODE_OPS_MAX];
    struct query_take take[RELIEF_NODE_OPS_MAX]; /* per op: lot, expiry, qty (had: before) */
    size_t n;                                    /* ops to write (1..RELIEF_NODE_OPS_MAX) */
    int fefo;                                    /* resolved first expiry first out */
    int force;                                   /* to pass to the write */
    struct relief_ref ctx[RELIEF_REFS_MAX];      /* a count's context (ops[0].ctx) */
    uint8_t digest[STOCK_OPS_DIGEST_LEN];        /* of the (site, item) in the snapshot */
    /* when refused: */
    int refused;    /* enum stock_refusal */
    char lots[256]; /* NEED_LOT, SHORT: the lots that hold stock, "L1, L2" ("" none) */
    int64_t seen;   /* SHORT: what this node sees to issue */
    char msg[640];  /* the reason in a sentence for the person at the phone */
};

/*
 * Plans op (RELIEF_T_STOCK_MOVE with its reason, or RELIEF_T_STOCK_COUNT; site, item and q
 * set, lot / exp / note when given) for node n under query q (its snapshot decides: the
 * known sites and items, the lots, the digest). flags: STOCK_OPS_*. Returns AM_OK (p->n
 * ops), or with p->refused and p->msg set: AM_ENOTFOUND (site or item unknown),
 * AM_EINVAL (the lot is needed), AM_ELIMIT (too little stock), or a store / context error.
 */
int stock_ops_plan(struct node *n, struct query *q, const struct relief_op *op, unsigned flags,
                   struct stock_plan *p);
/* stock_ops_plan for ops to be signed by sk (a paired phone's key, relief_node_write_as;
 * NULL: the node's): a count's context leaves out that author, as it leaves out the node
 * for the node's own count. */
int stock_ops_plan_as(struct node *n, const uint8_t *sk, struct query *q,
                      const struct relief_op *op, unsigned flags, struct stock_plan *p);

/* Writes a plan's ops as one append (relief_node_write_ops): AM_OK, or its errors with err
 * (cap >= RELIEF_ERR_MAX) saying why. */
int stock_ops_write(struct node *n, const struct stock_plan *p, char *err, size_t cap);
/* stock_ops_write signed by sk (NULL: the node's key), the sk its plan was made for. */
int stock_ops_write_as(struct node *n, const uint8_t *sk, const struct stock_plan *p, char *err,
                       size_t cap);

/* The digest of (site, item) under q into out. AM_OK or a store error. */
int stock_ops_digest(struct query *q, const char *site, const char *item,
                     uint8_t out[static STOCK_OPS_DIGEST_LEN]);

/* The lots of item at site that hold stock, as "L1, L2" into out (cut to cap); their
 * number (0 also when they cannot be read). */
size_t stock_ops_lots_held(struct query *q, const char *site, const char *item, char *out,
                           size_t cap);

#endif
