/*
 * ship_ops.h: shipments made the one way (PROTOCOL.md 10.4, 10.8.6, 10.11): create,
 * dispatch, receive and cancel, each one op, checked against what this node sees (one query
 * snapshot) before anything is written.
 *
 *  - create: from one defined site to another, lines of defined items, each linked to an
 *    open need of the same item at will, a lot only if the site holds it;
 *  - dispatch: a shipment created and not yet dispatched, received or cancelled; lines
 *    without lot take from the lots of the site first expiry first out (query_fefo), as
 *    `stock issue` does, and the op records each lot, so every node moves the same stock;
 *    too little stock is refused unless forced (the rest then comes from the cell without
 *    lot, or the named lot, which show overdrawn);
 *  - receive: a dispatched shipment not yet received (a cancel that did not see the
 *    dispatch does not stop it: the receipt wins); per dispatched line what arrived, never
 *    more; a shortfall needs its reason (a loss in transit);
 *  - cancel: a shipment created and not dispatched.
 *
 * Never prints. Refusals say why in err (cap >= 256 recommended) in a sentence for a person,
 * with no command-line flag in it; the return code tells the caller which words to add.
 */
#ifndef AM_SHIP_OPS_H
#define AM_SHIP_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"
#include "query.h"
#include "relief.h"

/* A line to create: item, quantity, optional lot ("" none) and need. */
struct ship_line_in {
    char item[RELIEF_SLUG_MAX + 1];
    int64_t q;
    char lot[RELIEF_SLUG_MAX + 1];
    int has_need;
    uint8_t need[RELIEF_ID_LEN];
};

/*
 * Creates a shipment of lines ln[0..nl) from `from` to `to` (by: needed-by day, 0 none;
 * doc, note: NULL or "" none). force: also to or from a site, of an item or a lot not known
 * here. On success id is the new shipment's. Returns AM_OK; AM_EINVAL (from is to, no line
 * or too many, a need of another item or not open, a lot not held at from), AM_ENOTFOUND
 * (a site, item or need unknown), relief_node_write's errors; err says which.
 */
int ship_ops_create(struct node *n, struct query *q, const char *from, const char *to,
                    const struct ship_line_in *ln, size_t nl, uint32_t by, const char *doc,
                    const char *note, int force, char *err, size_t cap, uint8_t id[RELIEF_ID_LEN]);

/*
 * Dispatches shipment s (a row of q). The lines written are copied to out[0..*nout) (cap
 * RELIEF_LINES_MAX; nullable). Returns AM_OK; AM_ESTATE (not in status created, or its
 * creation has not arrived), AM_ELIMIT (this node sees too little stock: not forced; or more
 * than RELIEF_LINES_MAX lots), AM_ENOTFOUND (a named lot is not held at the site), a query
 * or write error; err says which.
 */
int ship_ops_dispatch(struct node *n, struct query *q, const struct query_ship *s, int force,
                      const char *note, char *err, size_t cap, struct query_ship_line *out,
                      size_t *nout);

/*
 * Receives shipment s: qty[0..nq) what arrived of each dispatched line, in the dispatch's
 * order (nq 0: all of it); reason (NULL or ""): why less arrived, required then. Returns
 * AM_OK; AM_ESTATE (not dispatched, already received, cancelled before dispatch), AM_EINVAL
 * (nq not the number of lines, more than dispatched, a shortfall without reason), or a write
 * error; err says which.
 */
int ship_ops_receive(struct node *n, const struct query_ship *s, const int64_t *qty, size_t nq,
                     const char *reason, char *err, size_t cap);

/* Cancels shipment s: AM_OK, AM_ESTATE (dispatched, received or cancelled already), or a
 * write error; err says which. */
int ship_ops_cancel(struct node *n, const struct query_ship *s, const char *note, char *err,
                    size_t cap);

#endif
