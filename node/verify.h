/*
 * verify.h: a full check of a store, for `aidmesh verify`: every chain from seq 1, every
 * hash link, every signature (not just tips), every head record, every piece of fork
 * evidence, and the relief views against a fingerprint recomputed from every stored
 * view. Slow on purpose: it trusts nothing the store holds. Never prints: each
 * problem goes to a callback with the author, the seq and a sentence.
 *
 * A bad signature is damage unless a later entry of the same log, linked to it by hashes,
 * carries a valid signature: the author then signed over the bad entry's exact bytes,
 * every node accepts such a run (PROTOCOL.md §6, "verify the tip, hash the chain"), and
 * verify reports the author as misbehaving, not the store as damaged.
 */
#ifndef AM_VERIFY_H
#define AM_VERIFY_H

#include <stdint.h>

#include "store.h"

struct verify_report {
    uint64_t authors, entries, forks, problems;
    uint64_t logs;        /* logs walked: one per author, and one per branch of a forked author */
    uint64_t invalid_ops; /* entries whose op is invalid (not damage: see store_invalid_each) */
    /* Authors whose log holds entries with a bad signature that a later valid signature
     * covers (not damage: see above), and how many such entries in all. */
    uint64_t misbehaving, covered_bad_sigs;
    /* When verify_store returns AM_ECORRUPT: where the store file itself is damaged
     * (store_damage_text words it). */
    struct store_damage damage;
};

/* Called once per problem; `what` is a static or short-lived sentence. seq 0 means the
 * problem concerns the author as a whole. */
typedef void (*verify_problem_fn)(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t seq,
                                  const char *what);
/* Called once per misbehaving author (see above): `count` entries from `first_seq` on have
 * a bad signature, each covered by a later valid one. */
typedef void (*verify_misbehaving_fn)(void *ctx, const uint8_t author[AM_PK_LEN],
                                      uint64_t first_seq, uint64_t count);

/* Returns AM_OK when the walk completed (see r->problems for what it found), or an
 * error of the store that stopped it: AM_ECORRUPT when the store file is damaged beyond a
 * record-by-record report (r->damage says how). The walk runs under store_guarded(): a
 * page that makes LMDB fault ends it with AM_ECORRUPT, not a crash, and the store must
 * then be closed. A log whose records LMDB cannot hand out whole is reported as a problem
 * of its author, and the walk goes on. */
int verify_store(struct store *s, verify_problem_fn problem, void *ctx, struct verify_report *r);
/* verify_store() that also names each misbehaving author (misbehaving: nullable). */
int verify_store_all(struct store *s, verify_problem_fn problem, verify_misbehaving_fn misbehaving,
                     void *ctx, struct verify_report *r);

/* store_invalid_each() under store_guarded(), for the listing `verify` prints after its
 * walk: AM_ECORRUPT (and *damage, nullable) instead of a fault on a damaged page. */
int verify_invalid_each(struct store *s,
                        int (*cb)(void *ctx, const uint8_t *author, uint64_t seq, const char *why,
                                  size_t len),
                        void *ctx, struct store_damage *damage);

#endif
