/*
 * store_views.h: the interface through which store.c keeps the relief views (PROTOCOL.md
 * section 7.1): open their databases, bring them up to date inside a write transaction,
 * settle the cache after it, rebuild them when stale. Internal to the store module (only
 * node/store*.c include it), not part of its API (store.h).
 *
 * Implemented by store_views.c (databases), store_views_update.c (update and cache) and
 * store_views_rebuild.c (rebuild). This header declares what store.c calls and nothing
 * of the views' internals, which stay in store_views_int.h; the views in turn use the
 * store's internals (store_int.h), so the dependency points one way.
 */
#ifndef AM_STORE_VIEWS_H
#define AM_STORE_VIEWS_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

struct store;

/* A new entry of a write transaction, as the views see it. Pointers live as long as the
 * transaction's caller keeps the entry's bytes. */
struct views_entry {
    const uint8_t *log;    /* the entry's log (PROTOCOL.md 6): its author for a root log */
    const uint8_t *author; /* who signed it */
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

/* Inside a write transaction whose entries were renamed (a log split, or an author found
 * abusive): empties the views and rebuilds them from every entry, like store_reindex.
 * Holds the cache lock (and drops the cache) until views_txn_end(), which must follow.
 * *invalid (nullable) is set to 0. Returns 0, an LMDB code, or a negative am_err code. */
int views_rebuild_in(struct store *s, MDB_txn *txn, uint64_t *invalid);

/* Rebuilds the views when they are absent or of another format (a store made before
 * views existed, or by another build). AM_OK or a store error. */
int views_ensure(struct store *s);

/* Frees the view cache (with cache_lock held, or with no other user). */
void views_cache_free(struct store *s);

#endif
