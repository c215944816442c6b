/*
 * store_int.h: internals of the store module (store.c and store_views.c), not part of
 * its API. Only the store module includes this header, and with it lmdb.h.
 *
 * store.c owns the environment, the logs (entries, heads, forks, meta) and the write
 * transactions; store_views.c keeps the relief views (PROTOCOL.md section 7, view
 * databases) and is called by store.c from inside those transactions.
 */
#ifndef AM_STORE_INT_H
#define AM_STORE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "store.h"

#define STORE_FORMAT  1
#define STORE_KEY_LEN (AM_PK_LEN + 8) /* author || be64 seq */

struct views_cache;

struct store {
    MDB_env *env;
    MDB_dbi entries;  /* author || be64 seq -> entry bytes */
    MDB_dbi heads;    /* author -> be64 seq || hash || be64 hlc || be32 flags */
    MDB_dbi forks;    /* author || be64 seq || hash of evidence -> evidence bytes */
    MDB_dbi meta;     /* name -> value */
    MDB_dbi vrefs;    /* views, during a rebuild only: object key -> refs record (scratch) */
    MDB_dbi views;    /* views: object key -> varint(view length) || view || ops or cell record */
    MDB_dbi vneeds;   /* views: needs by site || status || priority || id -> "" */
    MDB_dbi vcells;   /* views: cells by item || site || lot || expiry -> "" */
    MDB_dbi vinvalid; /* views: author || be64 seq -> why the entry's op is invalid */
    uint64_t map_max;
    int read_only;
    uint8_t install_id[AM_INSTALL_ID_LEN];
    uint8_t copied_from[AM_INSTALL_ID_LEN];
    uint64_t cache_max;        /* bytes the view cache may hold (estimated) */
    struct views_cache *cache; /* NULL until the first write that touches views */
    pthread_mutex_t cache_lock;
    char *record;            /* path of the store record (store_opts.record), or NULL */
    uint64_t record_entries; /* the entry count the record holds now */
    int faulted;             /* a guarded scan faulted: the store is not used again */
};

static inline void store_be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint64_t store_be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* An LMDB return code as an am_err.h code. */
int store_mdb_err(int rc);
/* Begins a transaction, adopting a map another process has grown meanwhile. Returns an
 * LMDB code. */
int store_txn_begin(struct store *s, unsigned flags, MDB_txn **txn);
/* Doubles the map up to map_max; call with no transaction open. AM_OK or AM_EFULL. */
int store_grow_map(struct store *s);
/* meta records by name; LMDB codes. */
int store_meta_get(MDB_txn *txn, struct store *s, const char *name, MDB_val *v);
int store_meta_put(MDB_txn *txn, struct store *s, const char *name, const void *p, size_t n);

/* ---- views (store_views.c) ---- */

/* A new entry of a write transaction, as the views see it. Pointers live as long as the
 * transaction's caller keeps the entry's bytes. */
struct views_entry {
    const uint8_t *author;
    uint64_t seq;
    uint64_t hlc;
    const uint8_t *hash; /* the entry's hash (BLAKE2b-256 of its bytes) */
    const uint8_t *op;   /* the op of an entry entry_decode accepted (relief_op_decode_entry_op) */
    size_t op_len;
};

/* Opens (dbflags MDB_CREATE: creates) the view databases in `txn`. LMDB code. */
int views_open_dbs(struct store *s, MDB_txn *txn, unsigned dbflags);

/* Inside a write transaction: whether the views are of the format this build writes.
 * Returns 1 (current), 0 (absent or another format: store_reindex rebuilds them), or a
 * negative LMDB/am_err code. */
int views_current(struct store *s, MDB_txn *txn);

/*
 * Inside a write transaction, after the entries themselves are put: brings the views up
 * to date with n new entries (ops decoded, invalid ones recorded, touched objects
 * recomputed, indexes and fingerprint updated). Touches nothing outside `txn` except the
 * view cache, whose entries for touched objects stay pending until views_txn_end().
 * *invalid (nullable) is the number of ops it recorded as invalid. Holds the cache lock
 * until views_txn_end(), which must follow on every path. Returns 0, an LMDB code (MDB_MAP_FULL:
 * grow and retry), or a negative am_err code.
 */
int views_update(struct store *s, MDB_txn *txn, const struct views_entry *e, size_t n,
                 uint64_t *invalid);

/* Must follow every views_update() once its transaction is over: committed = 1 when
 * the commit succeeded (pending cache entries become valid), 0 when the transaction was
 * aborted or its commit failed (pending cache entries are dropped). */
void views_txn_end(struct store *s, int committed);

/* Rebuilds the views when they are absent or of another format (a store made before
 * views existed, or by another build). AM_OK or a store error. */
int views_ensure(struct store *s);

/* Frees the view cache (with cache_lock held, or with no other user). */
void views_cache_free(struct store *s);

#endif
