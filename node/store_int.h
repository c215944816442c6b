/*
 * store_int.h: internals of the store module, not part of its API. Only the store module
 * (node/store*.c) includes this header, and with it lmdb.h.
 *
 * store.c owns the environment, the logs (entries, heads, forks, meta) and the write
 * transactions; the relief views (PROTOCOL.md section 7.1, view databases) are kept by
 * store_views*.c and called by store.c from inside those transactions.
 *
 * The dependency points one way: the views files include this header and use the store's
 * internals declared here (struct store, transactions, meta records); store.c reaches the
 * views only through the small interface in store_views.h and never sees their own
 * internals (store_views_int.h). Nothing about the views is declared here but the opaque
 * struct views_cache that struct store points to.
 */
#ifndef AM_STORE_INT_H
#define AM_STORE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "am_err.h"
#include "entry.h"
#include "hlc.h"
#include "relief.h"
#include "store.h"

#define STORE_FORMAT 2 /* logs (PROTOCOL.md 6) */
#define STORE_FORMAT_CHAINS                                                                        \
    1 /* one chain per author: read, and raised to 2 when opened to write                          \
       */
#define STORE_KEY_LEN (AM_PK_LEN + 8) /* author || be64 seq */

struct views_cache;
struct logs_ctx;

/* A read snapshot (store.h): one read transaction of the store. */
struct store_snap {
    struct store *s;
    MDB_txn *txn;
};

struct store {
    MDB_env *env;
    MDB_dbi entries;  /* author || be64 seq -> entry bytes */
    MDB_dbi heads;    /* log id -> be64 seq || hash || be64 hlc || be32 flags, and for a child
                         log: || author || parent log id || be64 first seq */
    MDB_dbi logs;     /* author || log id -> "": every log of an author whose entries fork */
    int has_logs;     /* the logs database exists (a read-only store made before it: no) */
    MDB_dbi forks;    /* author || be64 seq || hash of evidence -> evidence bytes */
    MDB_dbi meta;     /* name -> value */
    MDB_dbi lane;     /* author || be64 seq -> entry bytes: the priority lane (store_lane.c) */
    int has_lane;     /* the lane database exists (a read-only store made before it: no) */
    MDB_dbi vrefs;    /* views, during a rebuild only: object key -> refs record (scratch) */
    MDB_dbi views;    /* views: object key -> varint(view length) || view || ops or cell record */
    MDB_dbi vneeds;   /* views: needs by site || status || priority || id -> "" */
    MDB_dbi vcells;   /* views: cells by item || site || lot || expiry -> "" */
    MDB_dbi vinvalid; /* views: author || be64 seq -> why the entry's op is invalid */
    MDB_dbi vorder;   /* views: needs in the pages' order (views_need_keys) */
    MDB_dbi vdup;     /* views: open needs by site, item, time (views_need_keys) */
    int has_order;    /* vorder and vdup exist (a read-only open of older views: not) */
    uint64_t map_max;
    int read_only;
    int wants_write; /* read_only: an open to write would upgrade the store first */
    uint8_t install_id[AM_INSTALL_ID_LEN];
    uint8_t copied_from[AM_INSTALL_ID_LEN];
    uint64_t cache_max;        /* bytes the view cache may hold (estimated) */
    struct views_cache *cache; /* NULL until the first write that touches views */
    struct logs_ctx *logs_ctx; /* the logs as the views resolve refs (store_logs.c); guarded
                                  by cache_lock */
    size_t lane_cursor;        /* store_lane_cursor: where the next lane offer starts */
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

/* ---- ingest, shared by store.c and store_logs.c ------------------------------------------ */

enum verdict {
    V_PENDING,
    V_NEW,
    V_DUP,
    V_FORK,   /* stored: the first entry of a branch */
    V_CAPPED, /* the first entry of a branch beyond AM_LOGS_PER_AUTHOR: evidence only */
    V_GAP,
    V_UNLINKED,
    V_BADSIG,
    V_MALFORMED
};
enum check { CHK_NONE, CHK_BATCHDUP, CHK_UNLINKED };

struct item {
    struct entry e;
    uint8_t hash[AM_HASH_LEN];
    size_t idx;      /* position in the caller's batch */
    size_t ref;      /* CHK_BATCHDUP: the item holding this seq's first copy */
    uint8_t verdict; /* enum verdict */
    uint8_t check;   /* enum check */
    int8_t sig;      /* signature checked alone: -1 not yet, 0 bad, 1 good */
    uint8_t in_run;  /* links to the head: accepted if a later signature covers it */
    uint8_t log;     /* store_logs.c: index of its log in the author's plan */
    uint32_t parent; /* store_logs.c: the batch item it links to, or UINT32_MAX */
};

static inline int item_sig_ok(struct item *it)
{
    if (it->sig < 0)
        it->sig = entry_verify(&it->e) == AM_OK;
    return it->sig;
}

#define HEAD_ROOT_LEN  (8 + AM_HASH_LEN + 8 + 4)
#define HEAD_CHILD_LEN (HEAD_ROOT_LEN + 2 * AM_PK_LEN + 8)
void store_head_encode(uint8_t v[HEAD_CHILD_LEN], size_t *len, const struct store_head *h);
int store_head_decode(struct store_head *h, const uint8_t *log, const MDB_val *v);
int store_head_read(MDB_txn *txn, struct store *s, const uint8_t *log, struct store_head *h);

/* ---- store_logs.c: the logs of forked authors (PROTOCOL.md 6) ---------------------------- */

/* One author's logs as an ingest plans a batch against them (store_logs.c). */
struct logs_plan;

/* Plans the items[lo..hi) of one author (sorted by seq) against its logs, read in txn:
 * every item gets its verdict, the new ones their log. Verifies signatures (call with no
 * write transaction open unless the caller holds the writer lock anyway). *out is the
 * caller's, freed with logs_plan_free. AM_OK, AM_ENOMEM, AM_ECORRUPT or a store error. */
int logs_plan_group(struct store *s, MDB_txn *txn, struct item *items, size_t lo, size_t hi,
                    struct logs_plan **out);
void logs_plan_free(struct logs_plan *p);
/* Inside the write transaction: re-checks the author's logs against the plan (1: another
 * process changed them, plan again), then moves split logs' entries, stores the new
 * entries and evidence, and writes every head and log record. *resplit is set when the
 * author's logs changed (a new log, a split) or it became abusive: the views must then be
 * rebuilt, since refs resolve against the logs (PROTOCOL.md 10.8.5). Returns
 * 0, 1 (replan), or an LMDB/am_err code. */
int logs_write_group(struct store *s, MDB_txn *txn, struct logs_plan *p, struct item *items,
                     struct hlc *clk, uint64_t wall_ms, int *seen_changed, int *resplit,
                     uint64_t *fork_dups);
/* The log id of entry `it` as planned (its author for the root log). */
const uint8_t *logs_plan_log_id(const struct logs_plan *p, const struct item *it);

/* The logs of every forked author as the views resolve refs (PROTOCOL.md 10.8.5), loaded
 * in txn when they changed; *out NULL when no author is forked (nothing to resolve).
 * Call with cache_lock held. AM_OK, AM_ENOMEM or a store error. */
int logs_ctx_get(struct store *s, MDB_txn *txn, const struct logs_ctx **out);
/* A ctx loaded for one read (no lock): free it with logs_ctx_free. */
int logs_ctx_load(struct store *s, MDB_txn *txn, struct logs_ctx **out);
void logs_ctx_free(struct logs_ctx *c);
/* The author of log `log` (log itself when it is no forked author's child log). */
const uint8_t *logs_ctx_author(const struct logs_ctx *c, const uint8_t *log);
/* 1 when `author` signed more branches than AM_LOGS_PER_AUTHOR (its ops stay out). */
int logs_ctx_abusive(const struct logs_ctx *c, const uint8_t *author);
/* 1 when `author` is forked here: its id is a log of c (c NULL: no author is). */
int logs_ctx_forked(const struct logs_ctx *c, const uint8_t *author);

/* Scratch for logs_resolve_op: owned by the caller, freed with free(r). */
struct logs_scratch {
    struct relief_ref *r;
    size_t cap;
};
/* Rewrites the refs of `op`, written in entry (writer_log, seq) by `author`, to the
 * entries they name among the logs (PROTOCOL.md 10.8.5): the op's "sup" and "ctx" then
 * point into sc. Does nothing when c is NULL or nothing needs it. AM_OK or AM_ENOMEM. */
int logs_resolve_op(const struct logs_ctx *c, struct relief_op *op, const uint8_t *writer_log,
                    const uint8_t *author, struct logs_scratch *sc);

/* ---- store_lane.c: the priority lane (PROTOCOL.md 6, "Lane") ---------------------------- */

/* Opens the lane database in txn (dbflags as the others'); tolerates its absence on a
 * read-only store. LMDB code. */
int lane_open_db(struct store *s, MDB_txn *txn, unsigned dbflags);
/* The lane record at key (author || be64 seq); LMDB code (MDB_NOTFOUND: none). */
int lane_get(MDB_txn *txn, struct store *s, const uint8_t key[STORE_KEY_LEN], MDB_val *v);
/* Sets st->lane, the entries the lane holds. */
void lane_stat(MDB_txn *txn, struct store *s, struct store_stats *st);
/* Inside an ingest's write transaction, after the items[0..n) (sorted by author, seq) are
 * stored: a placed entry whose (author, seq) has a lane record with the same bytes ends
 * it; other bytes there, or an author now forked, drop the author's lane records and set
 * *resplit (the views are rebuilt without them). One mdb_stat when the lane is empty.
 * 0 or an LMDB code. */
int lane_settle(struct store *s, MDB_txn *txn, const struct item *items, size_t n, int *resplit);

/* ---- store_check.c: damaged and swapped data files (PROTOCOL.md 7) ---------------------- */

enum data_state { DATA_MISSING, DATA_EMPTY, DATA_PRESENT };

/* Checks data.mdb at `path` against its meta pages without mapping it. Returns AM_OK
 * (*state says whether there is a file with contents), AM_ECORRUPT (*d says why), AM_ESYS. */
int store_check_data_file(const char *path, enum data_state *state, struct store_damage *d);
/* The store record at `path`: AM_OK, AM_ENOTFOUND (none), AM_ECORRUPT (not a record),
 * AM_EPERM, AM_ESYS. */
int store_record_read(const char *path, uint8_t id[static AM_INSTALL_ID_LEN], uint64_t *entries);
int store_record_write(const char *path, const uint8_t id[static AM_INSTALL_ID_LEN],
                       uint64_t entries);
int store_entry_count(struct store *s, uint64_t *n);
/* After a fault in a guarded call: the environment is left open (see store_guarded). */
void store_guard_abandon(MDB_env *env);
/* LMDB's assertion hook: ends a guarded call as a fault (store_check.c). */
void store_guard_assert(MDB_env *env, const char *msg);

#endif
