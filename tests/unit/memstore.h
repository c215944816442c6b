/*
 * memstore.h: an in-memory struct sync_store for tests, with no LMDB.
 *
 * It keeps what the sync engine (transport/sync.h) sees of node/store.c, with the same
 * verdicts: every entry is decoded and verified (crdt/entry.h), chained per author by seq
 * and prev hash; an entry already held is a duplicate; one beyond a gap or one that does
 * not link is refused; a second, validly signed entry for a position already held (whose
 * kept entry is validly signed too), or one naming another predecessor, is kept as fork
 * evidence and marks the author's head as forked; a local append to a forked author is
 * refused. A run that links to the head is kept up to its last good signature, found by
 * bisection as store.c finds it. A batch is stored all or nothing
 * (AM_ENOMEM leaves the store as it was). No views, no clock, no files; not thread-safe.
 */
#ifndef AM_MEMSTORE_H
#define AM_MEMSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "sync.h"

struct memstore;

/* A new empty store into *out (free it with memstore_free). AM_OK or AM_ENOMEM. */
int memstore_new(struct memstore **out);
void memstore_free(struct memstore *m); /* NULL-safe */

/* Fills `out` so that the engine reaches m (which must outlive every session using it). */
void memstore_table(struct memstore *m, struct sync_store *out);

/* The table's ingest, callable directly: n entries of raw[i][0..lens[i]) (borrowed for
 * the call; the store keeps copies). AM_OK (see *res) or AM_ENOMEM. */
int memstore_ingest(struct memstore *m, const uint8_t *const *raw, const size_t *lens, size_t n,
                    struct sync_ingest_result *res);

/* Builds, signs and stores the next entry of the author of `sk` (seed || pk) with the
 * given hlc and op (one msgpack map). The new head goes to *head (nullable). Returns
 * AM_OK, AM_EFORK (the store holds fork evidence against this author), an error of
 * entry_build, or AM_ENOMEM. */
int memstore_append(struct memstore *m, const uint8_t sk[static AM_SK_LEN], uint64_t hlc,
                    const uint8_t *op, size_t op_len, struct sync_head *head);

/* The stored entry of (author, seq): *raw points into the store, valid until the next
 * ingest or append. AM_OK or AM_ENOTFOUND. */
int memstore_entry(const struct memstore *m, const uint8_t author[static AM_PK_LEN], uint64_t seq,
                   const uint8_t **raw, size_t *len);

/* Totals: entries in all logs, pieces of fork evidence, authors. */
uint64_t memstore_entries(const struct memstore *m);
uint64_t memstore_forks(const struct memstore *m);
size_t memstore_authors(const struct memstore *m);

/* The i-th head in author order (i < memstore_authors()). */
void memstore_head_at(const struct memstore *m, size_t i, struct sync_head *h);

/* The fingerprint the engine computes over all heads (sync_fingerprint). AM_OK or
 * AM_ENOMEM. */
int memstore_fingerprint(const struct memstore *m, uint8_t fp[static SYNC_FP_LEN]);

#endif
