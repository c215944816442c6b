/*
 * relief_node.h: relief data at the node layer (PROTOCOL.md section 10.11).
 *
 *  - Reading: typed views of the bytes the store keeps per object (relief_obj_dump,
 *    PROTOCOL.md 10.9), for the CLI, the tests and the benchmark.
 *  - Writing: an op made the way section 10 asks a writer to: validated by encoding,
 *    its references checked against this node's views, `sup` naming the current heads of
 *    the registers it writes, a count's `ctx` naming what this node has seen of the
 *    authors that touched the cell; then appended to the node's log.
 *
 * Never prints: errors are am_err.h codes plus, where a person must read them, a sentence
 * in a caller's buffer.
 */
#ifndef AM_RELIEF_NODE_H
#define AM_RELIEF_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"
#include "relief.h"
#include "store.h"

/* A register of a view (10.9): its winner and how many heads it has. Text values point
 * into the view bytes given to the parser (not NUL-terminated) and live as long as they. */
struct relief_node_reg {
    int conflict;
    uint32_t n_writes;
    uint32_t n_heads;          /* 0: never written */
    struct relief_ref win_ref; /* the winner (when n_heads > 0) */
    uint64_t win_hlc;
    int set;          /* the winner holds a value (0: it cleared the field, or no winner) */
    int64_t i, j;     /* q, by (days), kind/pri/status (enums), lat / lon (micro-degrees) */
    const char *s;    /* name, unit, cat, note */
    uint32_t len;     /* of s */
    const uint8_t *h; /* the heads array (msgpack), for relief_node_reg_refs */
    size_t h_len;
};

struct relief_node_site {
    char slug[RELIEF_SLUG_MAX + 1];
    struct relief_node_reg name, kind, ll;
};

struct relief_node_item {
    char code[RELIEF_SLUG_MAX + 1];
    struct relief_node_reg name, unit, cat;
};

struct relief_node_need {
    uint8_t id[RELIEF_ID_LEN];
    int opened; /* the need.open has arrived */
    struct relief_ref open_ref;
    uint64_t open_hlc;
    char site[RELIEF_SLUG_MAX + 1], item[RELIEF_SLUG_MAX + 1]; /* "" until opened */
    struct relief_node_reg q, pri, note, by, st;
    int status; /* displayed: enum relief_status */
    int derived;
    int64_t delivered;
    uint32_t n_deliveries;
    int saturated;
};

struct relief_node_count {
    struct relief_ref ref;
    uint64_t hlc;
    int64_t q;
};

struct relief_node_cell {
    char site[RELIEF_SLUG_MAX + 1], item[RELIEF_SLUG_MAX + 1], lot[RELIEF_SLUG_MAX + 1];
    uint32_t exp; /* 0: none */
    int64_t value;
    int overdrawn, count_conflict, saturated;
    uint32_t n_moves, n_counts;
    int has_winner;
    struct relief_node_count winner;
    uint32_t n_maximal; /* other maximal counts (a count conflict) */
    const uint8_t *mx;  /* their array (msgpack); see relief_node_cell_count */
    size_t mx_len;
    int64_t after;    /* moves on top of the winning count (all moves if none) */
    uint32_t n_audit; /* moves stamped before the count but not in its context */
};

/* The minimum level of an item at a site (stock.min, PROTOCOL.md 10.7): register q, the
 * minimum in base units (0: no minimum). */
struct relief_node_min {
    char site[RELIEF_SLUG_MAX + 1], item[RELIEF_SLUG_MAX + 1];
    struct relief_node_reg q;
};

/* A named pack of an item (item.pack, PROTOCOL.md 10.4): register q, its units in base
 * units (0: removed). */
struct relief_node_pack {
    char item[RELIEF_SLUG_MAX + 1], pack[RELIEF_SLUG_MAX + 1];
    struct relief_node_reg q;
};

/* An item's name in one language (item.name, PROTOCOL.md 10.4): register name ("" or no
 * value: removed). */
struct relief_node_lname {
    char item[RELIEF_SLUG_MAX + 1], lang[RELIEF_LANG_MAX + 1];
    struct relief_node_reg name;
};

/* Parse a view of each kind. Return AM_OK or AM_ECORRUPT (not such a view). */
int relief_node_site_parse(const uint8_t *v, size_t len, struct relief_node_site *out);
int relief_node_item_parse(const uint8_t *v, size_t len, struct relief_node_item *out);
int relief_node_need_parse(const uint8_t *v, size_t len, struct relief_node_need *out);
int relief_node_cell_parse(const uint8_t *v, size_t len, struct relief_node_cell *out);
int relief_node_min_parse(const uint8_t *v, size_t len, struct relief_node_min *out);
int relief_node_pack_parse(const uint8_t *v, size_t len, struct relief_node_pack *out);
int relief_node_lname_parse(const uint8_t *v, size_t len, struct relief_node_lname *out);
/* 1 when any register of a parsed need holds concurrent writes (a listing flags it). */
int relief_node_need_conflict(const struct relief_node_need *n);
/* The i-th (0-based) other maximal count of a parsed cell. AM_OK or AM_ECORRUPT. */
int relief_node_cell_count(const struct relief_node_cell *c, uint32_t i,
                           struct relief_node_count *out);

/* Appends the refs of every head of r to out[*n..cap), raising *n. AM_OK, AM_ELIMIT
 * (more than cap), AM_ECORRUPT. Sort the result with relief_refs_sort. */
int relief_node_reg_refs(const struct relief_node_reg *r, struct relief_ref *out, uint32_t cap,
                         uint32_t *n);

/* Head i (0-based; head 0 is the winner, the value shown) of register r of field f
 * (enum relief_field) into *out: out->win_ref and win_hlc say who wrote it and when,
 * set / i / j / s / len its value (s points into the view bytes, as r's does); the other
 * fields are zero. AM_OK, AM_ENOTFOUND (no head i), AM_ECORRUPT. */
int relief_node_reg_head(const struct relief_node_reg *r, int f, uint32_t i,
                         struct relief_node_reg *out);

/* Reads the view of object `key` into a malloc'd buffer (*view, *len; the caller frees).
 * AM_OK, AM_ENOTFOUND, AM_ENOMEM, or a store error. */
int relief_node_view(struct store *s, const struct relief_key *key, uint8_t **view, size_t *len);

/* For relief_op_check_refs, with ctx a struct store *: 1 when the object is defined here
 * (a site or item any op has written; a need whose need.open has arrived). */
int relief_node_exists(void *ctx, const struct relief_key *key);

/* A stock count's context (10.8.4): for each author that has touched `cell` here, other
 * than `self`, its head seq in this store; normalized. AM_OK, AM_ELIMIT (over cap
 * authors), or a store error. */
int relief_node_ctx(struct store *s, const struct relief_key *cell,
                    const uint8_t self[static AM_PK_LEN], struct relief_ref *out, uint32_t cap,
                    uint32_t *n);

/*
 * Writes one op as a new entry of this node: encodes it (the validation: a bad value is
 * AM_EINVAL / AM_ELIMIT with a sentence), checks what it refers to unless `force`
 * (AM_ENOTFOUND with a sentence), and appends it. The caller fills `sup` / `ctx` (see
 * relief_node_reg_refs, relief_node_ctx). On success hash (nullable) is the new entry's
 * hash (a need.open's id is relief_need_id of it). Other returns: store_append's errors.
 */
int relief_node_write(struct node *n, const struct relief_op *op, int force, char *err,
                      size_t errcap, uint8_t hash[AM_HASH_LEN]);

/* relief_node_write of k ops (1..RELIEF_NODE_OPS_MAX) as k consecutive entries in one
 * append: all are written or none (a movement split across lots). hash: the last one's. */
#define RELIEF_NODE_OPS_MAX 32
int relief_node_write_ops(struct node *n, const struct relief_op *ops, size_t k, int force,
                          char *err, size_t errcap, uint8_t hash[AM_HASH_LEN]);

/* relief_node_write_ops signed by sk (seed || pk, AM_SK_LEN bytes: another author whose key
 * this node keeps, a paired phone's, node/webkey.h) instead of the node's key: the entries
 * go into that author's log, which syncs like any other. sk NULL: the node's key. */
int relief_node_write_as(struct node *n, const uint8_t *sk, const struct relief_op *ops, size_t k,
                         int force, char *err, size_t errcap, uint8_t hash[AM_HASH_LEN]);

/* relief_node_write of k ops (1..RELIEF_NODE_BATCH_MAX, the ingest batch) as k consecutive
 * entries in one store_append, one write transaction: all are written or none (an import
 * of a spreadsheet). When an op is refused, *bad (nullable) is its index and err says
 * why. Returns relief_node_write's codes, AM_EINVAL for k out of range, AM_ENOMEM. */
#define RELIEF_NODE_BATCH_MAX AM_INGEST_BATCH_MAX
int relief_node_write_batch(struct node *n, const struct relief_op *ops, size_t k, int force,
                            char *err, size_t errcap, size_t *bad, uint8_t hash[AM_HASH_LEN]);

/* The checks of relief_node_write (encoding, then what the op refers to unless force)
 * without writing: for a dry run, and to report every bad row of an import rather than
 * the first. AM_OK, AM_EINVAL / AM_ELIMIT / AM_EMALFORMED / AM_ENOTFOUND with a sentence
 * in err, AM_ENOMEM. */
int relief_node_check(struct node *n, const struct relief_op *op, int force, char *err,
                      size_t errcap);

#endif
