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

#include "store.h"

#define STORE_FORMAT  1
#define STORE_KEY_LEN (AM_PK_LEN + 8) /* author || be64 seq */

struct views_cache;

/* A read snapshot (store.h): one read transaction of the store. */
struct store_snap {
    struct store *s;
    MDB_txn *txn;
};

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
