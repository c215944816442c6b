/*
 * syncstore.h: the LMDB store seen through the sync engine's narrow interface
 * (struct sync_store of transport/sync.h).
 */
#ifndef AM_SYNCSTORE_H
#define AM_SYNCSTORE_H

#include "store.h"
#include "sync.h"

/* Fills `out` so that the engine reaches `s`. `s` must outlive every session using it.
 * Its lane (PROTOCOL.md 8.4) offers, most needed first, the entries of the open needs of
 * priority critical, then high (the read model's order: the need.open, the winners of q
 * and pri), then the winning counts of their sites' stock cells of their items; only
 * authors not forked here. Its lane_ingest is store_lane_ingest. */
void syncstore_init(struct sync_store *out, struct store *s);

/* The engine's ingest (sync_store.ingest) on store s with the clock at wall_ms: n entries,
 * AM_INGEST_BATCH_MAX per transaction. future (nullable) gains the entries stamped
 * beyond the clock's drift bound. AM_OK or the store's error. */
int syncstore_ingest(struct store *s, const uint8_t *const *raw, const size_t *lens, size_t n,
                     uint64_t wall_ms, struct sync_ingest_result *res, uint64_t *future);

/* The refusal r of a sync or a stick as words for the operator, e.g. "2 entries from
 * author 1a2b3c4d5e6f7a8b: bad signature (forged, or damaged on the way)": the count,
 * the author's short id (16 hex digits; "that do not decode" when unknown) and why. */
void syncstore_refusal_text(const struct sync_refusal *r, char *buf, size_t cap);

#endif
