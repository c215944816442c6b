/*
 * store_views_int.h: what the files of the store's views share (store_views.c,
 * store_views_update.c, store_views_rebuild.c, store_views_read.c), and nothing else
 * includes. Not an API: store.c reaches the views through store_views.h only.
 *
 * store_views.c defines everything declared here but views_check_state: the fingerprint
 * arithmetic, the counts, the index keys, the ops and refs records (their bytes are
 * described there, and in PROTOCOL.md section 7.1), loading an object, and writing one
 * object's view.
 */
#ifndef AM_STORE_VIEWS_INT_H
#define AM_STORE_VIEWS_INT_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "relief.h"
#include "store_int.h"

/* 2: heads of one value agree; 3: refs inside the views value; 4: ops records; 5: text
 * with a bidirectional control makes an op invalid (§10.2), so views of 4 may hold ops
 * that 5 refuses, and are rebuilt; 6: succession objects (§10.7), whose ops views of 5
 * ignored as newer; 7: minimum levels (stock.min, §10.7), which views of 6 ignored as
 * newer; 8: a succession counts only while its old key is forked here, and its rows say
 * whether it is a refused second successor of its branch (§10.4, §10.9); 9: the needs in
 * the pages' order (vorder) and the open needs by site, item and time (vdup); 10: shipments
 * (ship.*, §10.7), which views of 9 ignored as newer, and their records in cells; and packs of
 * items (item.pack, §10.7), which views of 9 ignored as newer too; 11: names of items per
 * language (item.name, §10.7), which views of 10 ignored as newer */
#define VIEWS_FORMAT 11
#define REF_LEN      RELIEF_REF_LEN /* author || be64 seq: also the entries key */
#define TERM_LEN     32
/* Largest index key: len(site) site status pri id / len(item) item len(site) site ... */
#define IDX_MAX        (RELIEF_KEY_MAX + 8)
#define VORDER_KEY_LEN (1 + 1 + 4 + 8 + RELIEF_ID_LEN)
/* Objects with at least this many ops are kept in the cache (cells always are). */
#define CACHE_MIN_OPS 16

/* Counts of objects per kind, kept in meta "view_counts": be64 sites, items, needs, cells. */
struct vcounts {
    uint64_t n[4];
};

/* One op of an object: its ref and, in an ops record, its entry's hlc and op bytes. */
struct vref {
    struct relief_ref r;
    uint64_t hlc;
    const uint8_t *op; /* NULL when unknown (a refs record); not owned */
    size_t op_len;
};

/* A growable array of refs, sorted by (author, seq) when it comes from a record. */
struct refv {
    struct vref *r;
    uint32_t n, cap;
};

/* The changes of the needs' indexes (vneeds, vorder, vdup) of a live update, gathered
 * while its objects are written and applied at its end in the indexes' key order
 * (views_idx_flush): neighbouring keys one after the other, so each descent finds its pages
 * hot, or none is needed. Every key names its need, so only the changes of one need, kept
 * in their order, could depend on each other. */
struct idx_op {
    uint32_t off; /* key, then value: bytes of the pool */
    uint32_t seq; /* order of gathering */
    uint8_t db;   /* 0 vneeds, 1 vorder, 2 vdup */
    uint8_t del;  /* 1: delete key; 0: put key -> value */
    uint8_t klen, vlen;
};
struct idx_defer {
    struct idx_op *op;
    size_t n, cap;
    uint8_t *pool;
    size_t plen, pcap;
};

/* One write of views (a live update or a rebuild) in txn: the fingerprint sum and the
 * counts it keeps up to date, and its buffers (owned, freed by the writer's caller). */
struct wctx {
    struct store *s;
    MDB_txn *txn;
    uint8_t sum[TERM_LEN];
    struct vcounts vc;
    uint8_t *buf; /* dumps */
    size_t cap;
    uint8_t *rbuf; /* ops, cell and refs records */
    size_t rcap;
    uint8_t *vbuf; /* views values: length, dump, refs */
    size_t vcap;
    uint8_t *obuf; /* the views value being updated, copied: its ops outlive the puts */
    size_t ocap;
    unsigned put_flags;      /* MDB_APPEND while rebuilding in key order */
    MDB_cursor *vcur;        /* live update: on `views`, left at the object being updated */
    struct idx_defer *defer; /* live update: index changes wait here; NULL: made at once */
};

/* ---- fingerprint: 256-bit little-endian integers mod 2^256 ---- */

/* sum += t. */
void views_fp_add(uint8_t sum[TERM_LEN], const uint8_t t[TERM_LEN]);
/* BLAKE2b-256(len(key) || key || view): one object's term of the fingerprint sum. */
void views_fp_term(const uint8_t *key, size_t klen, const uint8_t *view, size_t vlen,
                   uint8_t t[TERM_LEN]);
/* The fingerprint shown to people: BLAKE2b-128(be64(objects) || sum). */
void views_fp_show(const uint8_t sum[TERM_LEN], uint64_t objects, uint8_t out[STORE_VIEW_FP_LEN]);

/* ---- meta records of the views ---- */

/* The counts in meta "view_counts" (zeros when absent or malformed). */
void views_counts_read(struct store *s, MDB_txn *txn, struct vcounts *vc);
/* Puts the counts into meta "view_counts". LMDB code. */
int views_counts_write(struct store *s, MDB_txn *txn, const struct vcounts *vc);
/* The fingerprint sum in meta "view_fp" (zeros when absent or malformed). */
void views_sum_read(struct store *s, MDB_txn *txn, uint8_t sum[TERM_LEN]);

/* ---- index keys ---- */

/* Appends len(str) || str at out + *o and advances *o; the caller made room. */
void views_put_lp(uint8_t *out, size_t *o, const char *str);
/* The index entries of a need in its current state:
 *   vneeds: len(site) site status pri id -> "";
 *   vorder: status rank(pri) be32(by) be64(open hlc) id -> len(site) site len(item) item,
 *     in the order of query_need_cmp (rank: pri, or after low when unset; by: the needed-by
 *     day, or 2^32-1 when unset);
 *   vdup: len(site) site len(item) item be64(open hlc) id -> "", open needs only
 *     (dup_len 0 otherwise). */
struct need_keys {
    uint8_t idx[IDX_MAX], ord[VORDER_KEY_LEN], ordv[2 + 2 * RELIEF_SLUG_MAX], dup[IDX_MAX];
    size_t idx_len, ordv_len, dup_len;
};
int views_need_keys(struct relief_obj *o, struct need_keys *k);
/* The object key of a cell from its vcells key. Returns AM_OK or AM_ECORRUPT. */
int views_cell_key_from_idx(const uint8_t *in, size_t len, uint8_t out[RELIEF_KEY_MAX],
                            size_t *olen);

/* ---- ops and refs records ---- */

/* Whether the views value of object `key` ends with an ops record (else a cell record). */
int views_has_ops(const uint8_t *key);
/* Appends x (or a ref of author, seq) to v. AM_OK or AM_ENOMEM. */
int views_refv_add(struct refv *v, const struct vref *x);
int views_refv_push(struct refv *v, const uint8_t *author, uint64_t seq);
/* Appends the refs of a record to v; with_ops: an ops record, whose op bytes v then points
 * into (p must outlive v's use). AM_OK, AM_ENOMEM or AM_ECORRUPT. */
int views_refs_decode(const uint8_t *p, size_t len, int with_ops, struct refv *v);
/* Sorts v and drops repeats. */
void views_refv_normalize(struct refv *v);
/* Merges the normalized `add` into the normalized v. AM_OK or AM_ENOMEM. */
int views_refv_merge(struct refv *v, const struct refv *add);
/* The record of a normalized v, into *buf (grown as needed); with_ops: an ops record. */
int views_refs_encode(const struct refv *v, int with_ops, uint8_t **buf, size_t *cap, size_t *len);

/* Applies the index changes gathered in w->defer, in key order, and empties it. 0 or an
 * LMDB code. */
int views_idx_flush(struct wctx *w);
/* Frees what d holds (not d). */
void views_idx_free(struct idx_defer *d);

/* ---- objects ---- */

/* Builds the object `key` from its refs (their ops, or their stored entries). *out is the
 * caller's. AM_OK, AM_ENOMEM, AM_ECORRUPT, or an LMDB code. */
int views_load_obj(struct store *s, MDB_txn *txn, const uint8_t *key, size_t klen,
                   struct refv *refs, struct relief_obj **out);
/* Splits a views value into the object's view and its record; AM_ECORRUPT when it does
 * not parse. The halves point into val. */
int views_view_split(const MDB_val *val, MDB_val *dump, MDB_val *refs);
/* Builds the cell `key` from its cell record. *out is the caller's. */
int views_load_cell(const uint8_t *key, size_t klen, const MDB_val *rec, struct relief_obj **out);
/* The cell record of o into *buf (grown as needed). */
int views_save_cell(struct relief_obj *o, uint8_t **buf, size_t *cap, size_t *len);
/* Writes the view of o (whose previous view, if any, had term old_term), its index
 * entries, and the fingerprint change; new_term receives its term. old: the need's
 * index entries before, if it existed (else NULL). 0, an am_err code, or an LMDB code. */
int views_write_view(struct wctx *w, struct relief_obj *o, const uint8_t *key, size_t klen,
                     const uint8_t *refs, size_t rlen, int had_old,
                     const uint8_t old_term[TERM_LEN], const struct need_keys *old,
                     uint8_t new_term[TERM_LEN]);

/* ---- checks that need the store (store_views_update.c) ---- */

/* The validity of a decoded op that depends on what this store holds, checked in the
 * same way by the live update and the rebuild (PROTOCOL.md 10.4): a succession counts
 * only while its old key is forked here (lc: logs_ctx_get). AM_OK, or AM_ESTATE with the
 * reason in err. */
int views_check_state(const struct logs_ctx *lc, const struct relief_op *op, char *err,
                      size_t errcap);

#endif
