/*
 * store.h: the node's LMDB store: the signed logs of every author, their heads, fork
 * evidence, and the store's install id (PROTOCOL.md section "Store").
 *
 * Several processes may open one store at once (the CLI while the daemon runs): every
 * write happens in one LMDB write transaction, which LMDB serialises across processes,
 * and every plan made outside a transaction is re-checked inside it.
 * Ingest follows "verify the tip, hash the chain": for each author's run in a batch, the
 * hash links to the stored head are checked and only the run's last signature is
 * verified, before the write transaction opens. A crash at any instant leaves a batch
 * whole or absent. Only this module includes lmdb.h. Never prints.
 */
#ifndef AM_STORE_H
#define AM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"
#include "entry.h"

struct store;

struct store_opts {
    uint64_t map_initial; /* 0: AM_STORE_MAP_INITIAL */
    uint64_t map_max;     /* 0: AM_STORE_MAP_MAX; growth stops here with AM_EFULL */
    int read_only;        /* open without creating or writing anything */
};

#define STORE_HEAD_FORKED 1u /* fork evidence exists for this author */

/* An author's head: the last entry of the chain the store keeps. */
struct store_head {
    uint8_t author[AM_PK_LEN];
    uint64_t seq;
    uint8_t hash[AM_HASH_LEN];
    uint64_t hlc;
    uint32_t flags;
};

/* What one ingest did with each entry it was given. Every entry lands in exactly one
 * count: nothing is dropped without being counted. */
struct store_ingest_stats {
    uint64_t added;           /* new, stored */
    uint64_t duplicate;       /* already stored, byte for byte: no-op */
    uint64_t forks;           /* a different signed entry at a known position: kept as evidence */
    uint64_t gap;             /* refused: earlier entries of its author are missing */
    uint64_t unlinked;        /* refused: prev hash does not link (an entry of another branch) */
    uint64_t badsig;          /* refused: no valid signature covers it */
    uint64_t malformed;       /* refused: does not decode (see the first_error fields) */
    uint64_t future;          /* of the added: stamped beyond AM_HLC_MAX_DRIFT_MS ahead */
    int first_error;          /* am_err.h code of the first refused entry, 0 if none */
    size_t first_error_index; /* its index in the batch */
};

/*
 * Opens (creating if needed, unless read_only) the store in directory `dir`. On success
 * *out is owned by the caller and released with store_close(). Returns AM_OK, AM_ESYS,
 * AM_ENOTFOUND (read_only and no store), AM_ECORRUPT (not an aidmesh store, or a format
 * this build does not read), AM_EFULL.
 */
int store_open(struct store **out, const char *dir, const struct store_opts *opts);
void store_close(struct store *s); /* NULL is fine */

/* The random id of this store. `copied_from` (nullable) receives the id the store had
 * before it was found copied to another file (all zero when it never was). */
void store_install_id(const struct store *s, uint8_t id[static AM_INSTALL_ID_LEN],
                      uint8_t copied_from[AM_INSTALL_ID_LEN]);

/*
 * Ingests n raw entries (entries[i] of lens[i] bytes, in any order, from any authors) in
 * one write transaction. Refused entries are counted in *st and do not stop the others.
 * `wall_ms` is the local wall clock, for the HLC policy. Returns AM_OK (see *st for
 * what happened to each entry), AM_ELIMIT (n > AM_INGEST_BATCH_MAX), AM_EFULL (disk or
 * map full: nothing of the batch stored), AM_ENOMEM, AM_ESYS.
 */
int store_ingest(struct store *s, const uint8_t *const *entries, const size_t *lens, size_t n,
                 uint64_t wall_ms, struct store_ingest_stats *st);

/*
 * Appends n ops as new entries of the author of `sk` (seq || pk, libsodium form), stamped
 * with the HLC, signed and stored in one write transaction. ops[i] / op_lens[i] are
 * msgpack maps. On success *head (nullable) is the author's new head. Returns AM_OK,
 * AM_EINVAL (an op is not a map), AM_ELIMIT (n > AM_INGEST_BATCH_MAX or an op too big),
 * AM_EFORK (this author is marked forked: the store refuses to extend a forked log
 * until the operator acts), AM_EFULL, AM_ENOMEM, AM_ESYS.
 */
int store_append(struct store *s, const uint8_t sk[static AM_SK_LEN], const uint8_t *const *ops,
                 const size_t *op_lens, size_t n, uint64_t wall_ms, struct store_head *head);

/* The head of `author`: AM_OK or AM_ENOTFOUND. */
int store_head_get(struct store *s, const uint8_t author[static AM_PK_LEN], struct store_head *h);

/* Calls cb for every author's head in author order; stops early (and returns that value)
 * when cb returns non-zero. Returns AM_OK, or an error. */
int store_heads_each(struct store *s, int (*cb)(void *ctx, const struct store_head *h), void *ctx);

/* Calls cb for the entries of `author` (NULL: every author) with seq >= from_seq, in
 * (author, seq) order. `raw` is valid only during the call. Stops early when cb returns
 * non-zero (and returns that value). */
int store_entries_each(struct store *s, const uint8_t *author, uint64_t from_seq,
                       int (*cb)(void *ctx, const uint8_t *raw, size_t len), void *ctx);

/* Copies the entry at (author, seq) into buf. Returns AM_OK, AM_ENOTFOUND, AM_ELIMIT
 * (cap too small; *len says how much is needed). */
int store_entry_get(struct store *s, const uint8_t author[static AM_PK_LEN], uint64_t seq,
                    uint8_t *buf, size_t cap, size_t *len);

/* Calls cb for each piece of fork evidence: the entry signed by `author` at `seq` that
 * differs from the one the log keeps. `raw` is valid only during the call. */
int store_forks_each(struct store *s,
                     int (*cb)(void *ctx, const uint8_t *author, uint64_t seq, const uint8_t *raw,
                               size_t len),
                     void *ctx);

struct store_stats {
    uint64_t authors;
    uint64_t entries;
    uint64_t forks;    /* pieces of fork evidence */
    uint64_t forked;   /* authors marked forked */
    uint64_t map_size; /* bytes of the LMDB map */
    uint64_t map_used; /* bytes of it in use */
};

int store_stats(struct store *s, struct store_stats *st);

/* For tests of `verify` only: overwrites the bytes at (author, seq) with no check at
 * all, as a failing disk or a hostile editor could. Returns AM_OK or a store error. */
int store_debug_put_raw(struct store *s, const uint8_t author[static AM_PK_LEN], uint64_t seq,
                        const uint8_t *raw, size_t len);

#endif
