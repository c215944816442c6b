/*
 * store.h: the node's LMDB store: the signed logs of every author, their heads, fork
 * evidence, the store's install id, and the relief views kept from the logs (PROTOCOL.md
 * section 7, "Home and store"; the views: section 7.1, implemented in store_views.c).
 *
 * Several processes may open one store at once (the CLI while the daemon runs): every
 * write happens in one LMDB write transaction, which LMDB serialises across processes,
 * and every plan made outside a transaction is re-checked inside it.
 * Ingest follows "verify the tip, hash the chain": for each author's run in a batch, the
 * hash links to the stored head are checked and only the run's last signature is
 * verified, before the write transaction opens. A crash at any instant leaves a batch
 * whole or absent, its views included. Only this module (store.c, store_views.c,
 * store_int.h) includes lmdb.h. Never prints. A struct store may be used from several
 * threads; its view cache is guarded by a mutex.
 */
#ifndef AM_STORE_H
#define AM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"
#include "entry.h"

struct store;

/* What store_open (or a guarded scan, store_guarded) found wrong with the files of a store
 * that it refused with AM_ECORRUPT. Facts only; store_damage_text() words them. */
enum store_damage_kind {
    STORE_DAMAGE_NONE,
    STORE_DAMAGE_FORMAT,   /* LMDB opened it, but it is not an aidmesh store of this format */
    STORE_DAMAGE_NOTFILE,  /* data.mdb is not a regular file */
    STORE_DAMAGE_HEADER,   /* a meta page (page `page`) is not an LMDB meta page */
    STORE_DAMAGE_SHORT,    /* the file (`size` bytes) is shorter than its records (`need`) */
    STORE_DAMAGE_EMPTY,    /* data.mdb has zero length, but the record says a store was here */
    STORE_DAMAGE_MISSING,  /* data.mdb is gone, but the record says a store was here */
    STORE_DAMAGE_REPLACED, /* data.mdb belongs to another install than the record names */
    STORE_DAMAGE_FAULT,    /* reading the mapped file faulted at byte `offset` (page `page`;
                              offset UINT64_MAX: at an address outside the file) */
    STORE_DAMAGE_PAGES,    /* LMDB or a bounds check found a page or record that does not
                              hold together (a page number, size or offset out of place) */
};

struct store_damage {
    enum store_damage_kind kind;
    uint64_t size, need;  /* SHORT: the file's length and the length its meta page needs */
    uint64_t offset;      /* FAULT: byte of data.mdb whose read faulted */
    uint64_t page;        /* HEADER, FAULT: the LMDB page */
    uint64_t had_entries; /* EMPTY, MISSING, REPLACED: entries the record says it held */
    uint8_t had_id[AM_INSTALL_ID_LEN];   /* EMPTY, MISSING, REPLACED: the record's install id */
    uint8_t found_id[AM_INSTALL_ID_LEN]; /* REPLACED: the install id data.mdb holds */
};

/* The record kept beside a node's store (PROTOCOL.md §7, "Store record"), in the home. */
#define STORE_RECORD_FILE "store.id"

struct store_opts {
    uint64_t map_initial; /* 0: AM_STORE_MAP_INITIAL */
    uint64_t map_max;     /* 0: AM_STORE_MAP_MAX; growth stops here with AM_EFULL */
    int read_only;        /* open without creating or writing anything */
    /* Memory (estimated bytes) this process may use to keep recently updated view
     * objects between write transactions, so a stock cell of many moves is not decoded
     * from its record at every batch. 0: STORE_VIEW_CACHE_DEFAULT; UINT64_MAX: no
     * bound. STORE_VIEW_CACHE_OFF: no cache. */
    uint64_t view_cache;
    /* Path of the store's record (PROTOCOL.md §7, "Store record"; the node keeps it at
     * HOME/store.id): it names the install and the entries the store held, so a data.mdb
     * that was emptied, removed or swapped for another install's is refused instead of
     * silently replaced by a new empty store. NULL: no record (tests, benches). The
     * string is copied. */
    const char *record;
    /* Nullable: filled when store_open returns AM_ECORRUPT, saying what is wrong. */
    struct store_damage *damage;
};

#define STORE_VIEW_CACHE_DEFAULT (128ULL << 20)
#define STORE_VIEW_CACHE_OFF     1ULL

/* Flags of a log's head. FORKED and ABUSIVE are the author's and are set on every log of
 * that author; SPLIT is the log's own. */
#define STORE_HEAD_FORKED 1u /* the author's entries form more than one log (a fork) */
#define STORE_HEAD_SPLIT  2u /* this log ended at a fork: its entries go on in child logs */
#define STORE_HEAD_ABUSIVE                                                                         \
    4u /* the author signed more branches than AM_LOGS_PER_AUTHOR:                                 \
          the rest are kept as evidence only, and the views leave out                              \
          every op of this author (PROTOCOL.md 6) */

/*
 * The head of a log (PROTOCOL.md 6, "Logs"). An author's entries form a tree by their
 * `prev` links; a log is a maximal chain of it with no branching inside. The chain from
 * seq 1 is the author's root log, whose id is the author id: an author that never forked
 * has one log, named by its author id. Where entries part, each branch starts a child log
 * whose id is BLAKE2b-256("aidmesh log v1" || author id || hash of its first entry)
 * (entry_log_id).
 * The logs, and so every id, are a function of the set of entries a store holds.
 */
struct store_head {
    uint8_t author[AM_PK_LEN]; /* who signs the log's entries */
    uint8_t log[AM_PK_LEN];    /* the log's id (equal to author for the root log) */
    uint8_t parent[AM_PK_LEN]; /* the parent log's id (all zero for the root log) */
    uint64_t first_seq;        /* seq of the log's first entry (1 for the root log) */
    uint64_t seq;              /* seq of its last entry: first_seq - 1 when it has none */
    uint8_t hash[AM_HASH_LEN]; /* hash of its last entry (all zero when it has none) */
    uint64_t hlc;              /* stamp of its last entry */
    uint32_t flags;            /* STORE_HEAD_* */
};

#define STORE_REFUSED_BY_MAX 8 /* refused (author, reason) pairs named per ingest */

/* What one ingest did with each entry it was given. Every entry lands in exactly one
 * count: nothing is dropped without being counted. */
struct store_ingest_stats {
    uint64_t added;           /* new, stored */
    uint64_t duplicate;       /* already stored, byte for byte: no-op */
    uint64_t forks;           /* new, stored, and the first of a branch: a fork (a child log) */
    uint64_t capped;          /* the first of a branch beyond AM_LOGS_PER_AUTHOR: kept as
                                 evidence only, its author marked abusive */
    uint64_t gap;             /* refused: earlier entries of its author are missing */
    uint64_t unlinked;        /* refused: prev hash does not link (an entry of another branch) */
    uint64_t badsig;          /* refused: no valid signature covers it */
    uint64_t malformed;       /* refused: does not decode (see the first_error fields) */
    uint64_t future;          /* of the added: stamped beyond AM_HLC_MAX_DRIFT_MS ahead */
    uint64_t invalid_ops;     /* of the added: the op is invalid (stored; views ignore it) */
    int first_error;          /* am_err.h code of the first refused entry, 0 if none */
    size_t first_error_index; /* its index in the batch */
    /* Whose entries were refused and why: the first STORE_REFUSED_BY_MAX (author, reason)
     * pairs of the batch with their counts (author all zero: entries that do not decode;
     * reason: the am_err.h code). Refusals of further pairs are only in the counts above. */
    size_t n_refused_by;
    struct store_refused_by {
        uint8_t author[AM_PK_LEN];
        int reason;
        uint64_t count;
    } refused_by[STORE_REFUSED_BY_MAX];
};

/*
 * Opens (creating if needed, unless read_only) the store in directory `dir`. On success
 * *out is owned by the caller and released with store_close(). Before LMDB maps
 * data.mdb, its two meta pages are read with pread() and the file must be as long as the
 * newer one says its records reach (a shorter file would fault when read); with a record
 * (opts->record), an empty or missing data.mdb, or one of another install, is refused.
 * Returns AM_OK, AM_ESYS, AM_ENOTFOUND (read_only, and no store or one never set up),
 * AM_ECORRUPT (damaged, emptied, replaced, not an aidmesh store, or a format this build
 * does not read: opts->damage says which), AM_EFULL.
 */
int store_open(struct store **out, const char *dir, const struct store_opts *opts);
/* Closes; when the store was opened for writing with a record and the entry count
 * changed, rewrites the record first (best effort). NULL is fine. */
void store_close(struct store *s);

/* A sentence for the operator about damage found in the store in `dir` (its record at
 * `record`, nullable): what happened, and what to do. */
void store_damage_text(const struct store_damage *d, const char *dir, const char *record, char *buf,
                       size_t cap);

/* Moves the record at `record` aside as "<record>.replaced-<unix time>" (never deleted),
 * so the next store_open accepts whatever store it finds and records it: for `aidmesh
 * init --force`, the operator's way to start over. Returns AM_OK (also when there is no
 * record), AM_ESYS. */
int store_record_set_aside(const char *record);

/* Parses len bytes of a store record's text (PROTOCOL.md 7, "Store record"; at most
 * STORE_RECORD_MAX bytes, need not be NUL-terminated) into the store's install id and
 * entry count. Returns AM_OK, or AM_ECORRUPT for anything that is not exactly a record. */
#define STORE_RECORD_MAX AM_STORE_RECORD_MAX
int store_record_parse(const char *text, size_t len, uint8_t id[static AM_INSTALL_ID_LEN],
                       uint64_t *entries);

/*
 * Runs fn(ctx) and returns its value, with a SIGBUS/SIGSEGV handler installed for the
 * calling thread that turns a fault inside the store's map into AM_ECORRUPT (and *damage,
 * nullable, kind STORE_DAMAGE_FAULT with the offset) instead of a crash. LMDB keeps no
 * checksums: a flipped byte in a page can make it follow a wild offset, and the open-time
 * checks cannot see inside pages. This is the last resort for whole-store scans (verify,
 * doctor), not a way to keep using a damaged store: after a fault the frames fn was in are
 * abandoned (their memory is leaked, a read transaction stays open), and every later call
 * on `s` fails with AM_ECORRUPT; close it and exit. Faults outside the map are passed on
 * to the handler that was there before. Only one thread at a time may be inside.
 */
int store_guarded(struct store *s, int (*fn)(void *ctx), void *ctx, struct store_damage *damage);

/* 1 when a read_only open found what an open to write would do first (views of an older
 * format rebuilt, evidence of an older version placed): reopen to write to read it whole.
 * The commands that only look (status, verify, doctor) open read-only, so a damaged store
 * is never written to by them (LMDB, writing on a damaged page, may write out of bounds). */
int store_wants_write(const struct store *s);

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

/* The last entry this store itself appended under `author` (store_append): on a key in
 * use on two machines, the tip of this machine's own branch. AM_OK, AM_ENOTFOUND (it
 * never appended under that key, or the store predates the record), or a store error. */
int store_self_head(struct store *s, const uint8_t author[static AM_PK_LEN], uint64_t *seq,
                    uint8_t hash[static AM_HASH_LEN]);

/* The head of log `log` (an author id names the author's root log): AM_OK or
 * AM_ENOTFOUND. */
int store_head_get(struct store *s, const uint8_t log[static AM_PK_LEN], struct store_head *h);

/* Calls cb for every log's head in log-id order (an author that never forked: one log, its
 * root, whose id is the author id); stops early (and returns that value) when cb returns
 * non-zero. Returns AM_OK, or an error. */
int store_heads_each(struct store *s, int (*cb)(void *ctx, const struct store_head *h), void *ctx);

/* Peers met: the author ids of nodes this store synced with, so a later handshake can
 * name them by a short hint (PROTOCOL.md 8.1). store_peer_note writes only when `author`
 * is new. store_peers_each calls cb for each remembered author beginning with the plen
 * bytes of prefix, in order, until cb returns non-zero (then returns that value). */
int store_peer_note(struct store *s, const uint8_t author[static AM_PK_LEN]);
int store_peers_each(struct store *s, const uint8_t *prefix, size_t plen,
                     int (*cb)(void *ctx, const uint8_t author[AM_PK_LEN]), void *ctx);

/* Calls cb for the entries of log `log` (NULL: every log) with seq >= from_seq, in
 * (log id, seq) order. `raw` is valid only during the call. Stops early when cb returns
 * non-zero (and returns that value). */
int store_entries_each(struct store *s, const uint8_t *author, uint64_t from_seq,
                       int (*cb)(void *ctx, const uint8_t *raw, size_t len), void *ctx);

/* Copies the entry at (log, seq) into buf. Returns AM_OK, AM_ENOTFOUND, AM_ELIMIT
 * (cap too small; *len says how much is needed). */
int store_entry_get(struct store *s, const uint8_t log[static AM_PK_LEN], uint64_t seq,
                    uint8_t *buf, size_t cap, size_t *len);

/* Calls cb for each piece of fork evidence: an entry signed by `author` at `seq` that the
 * store keeps as evidence only (the first entry of a branch beyond AM_LOGS_PER_AUTHOR).
 * `raw` is valid only during the call. */
int store_forks_each(struct store *s,
                     int (*cb)(void *ctx, const uint8_t *author, uint64_t seq, const uint8_t *raw,
                               size_t len),
                     void *ctx);

struct store_stats {
    uint64_t authors;
    uint64_t logs; /* logs of every author (authors + child logs) */
    uint64_t entries;
    uint64_t forks;    /* pieces of fork evidence */
    uint64_t forked;   /* authors whose entries form more than one log */
    uint64_t abusive;  /* authors beyond AM_LOGS_PER_AUTHOR */
    uint64_t lane;     /* entries held in the priority lane (store_lane_ingest) */
    uint64_t map_size; /* bytes of the LMDB map */
    uint64_t map_used; /* bytes of it in use */
};

/* Counts of the store. Runs under store_guarded(): on a damaged store it returns
 * AM_ECORRUPT instead of faulting (and the store is not read again). */
int store_stats(struct store *s, struct store_stats *st);

struct store_snap;

/* ---- The priority lane (PROTOCOL.md 6, "Lane") ---------------------------------------------
 *
 * Entries received out of their log's order, each verified by its own signature, held
 * until the log reaches them; their ops are in the views at once. Only entries of an
 * author that is not forked here and beyond its stored head are taken; at most
 * AM_LANE_MAX are held. */

struct store_lane_stats {
    uint64_t added;     /* new, held in the lane, applied to the views */
    uint64_t duplicate; /* already held in the lane or stored in the log */
    uint64_t skipped;   /* of a forked author, or at or below its stored head (different
                           bytes): its log brings it */
    uint64_t badsig;    /* refused: its own signature does not verify */
    uint64_t malformed; /* refused: does not decode */
    uint64_t full;      /* refused: the lane holds AM_LANE_MAX entries already */
};

/* Takes n entries into the lane in one write transaction. Returns AM_OK (see *st),
 * AM_ELIMIT (n > AM_INGEST_BATCH_MAX), AM_ESTATE (read-only), AM_EFULL, AM_ENOMEM,
 * AM_ESYS. */
int store_lane_ingest(struct store *s, const uint8_t *const *raw, const size_t *lens, size_t n,
                      uint64_t wall_ms, struct store_lane_stats *st);
/* Lane entries held now. */
int store_lane_count(struct store *s, uint64_t *n);
/* Where this process's next lane offer starts among the critical needs (syncstore): the
 * sender cannot see its peer's lane, so each contact goes on where the last one stopped
 * and repeated short contacts carry different needs. Not stored. */
size_t store_lane_cursor(struct store *s);
void store_lane_cursor_set(struct store *s, size_t v);
/* The lane entry at (author, seq), pointing into the snapshot: so a node passes on what it
 * holds only in its lane (a runner carrying a critical need to the next hub). AM_OK,
 * AM_ENOTFOUND, AM_ECORRUPT or a store error. */
int store_snap_lane_entry(struct store_snap *sn, const uint8_t author[static AM_PK_LEN],
                          uint64_t seq, const uint8_t **raw, size_t *len);
/* Every lane entry, in (author, seq) order, as held (for `aidmesh verify`). Returns AM_OK,
 * the callback's non-zero value, AM_ECORRUPT or a store error. */
int store_lane_each(struct store *s,
                    int (*cb)(void *ctx, const uint8_t *author, uint64_t seq, const uint8_t *raw,
                              size_t len),
                    void *ctx);

/* ---- Relief views (PROTOCOL.md section 7.1, "View databases") ------------------------------
 *
 * For every site, item, need and stock cell (relief.h), its canonical view
 * (relief_obj_dump), kept up to date in the write transaction of every store_ingest and
 * store_append, and rebuilt from the entries by store_reindex with the same bytes. Object
 * keys are relief_key_encode bytes. Entries whose op is invalid are stored like any other;
 * their op is recorded with the reason and ignored by the views.
 */

#define STORE_VIEW_FP_LEN 16

/* One object of a listing. Pointers are valid only during the callback. */
struct store_view_row {
    const uint8_t *key; /* the object's key (relief_key_encode) */
    size_t key_len;
    const uint8_t *view; /* its view (relief_obj_dump bytes) */
    size_t view_len;
    unsigned id_digits; /* needs: hex digits of the shortest unique id prefix (>= 6); else 0 */
};
/* Returns 0 to go on; anything else stops the listing, which then returns that value. */
typedef int (*store_view_fn)(void *ctx, const struct store_view_row *r);

/* Copies the view of object `key` into buf. Returns AM_OK, AM_ENOTFOUND, AM_ELIMIT (cap
 * too small: *len says how much is needed), or a store error. */
int store_view_get(struct store *s, const uint8_t *key, size_t key_len, uint8_t *buf, size_t cap,
                   size_t *len);

/* Every object whose key begins with prefix[0..plen) (e.g. one kind byte, 's'), in key
 * order. Returns AM_OK, the callback's non-zero value, or a store error. */
int store_views_each(struct store *s, const uint8_t *prefix, size_t plen, store_view_fn cb,
                     void *ctx);

/* The needs of `site` (NULL: every site; needs whose need.open has not arrived count as
 * site "") with displayed status `status` (enum relief_status; 0: any), by site, status,
 * priority (critical first), id. */
int store_needs_each(struct store *s, const char *site, int status, store_view_fn cb, void *ctx);

/* The stock cells of `site` and/or `item` (NULL: any), by site, item, lot, expiry (by
 * item first when only the item is given). */
int store_cells_each(struct store *s, const char *site, const char *item, store_view_fn cb,
                     void *ctx);

/* The need whose lowercase or uppercase hex id begins with `hex` (1..32 digits). *matches
 * is 0, 1, or 2 (two or more: type more digits); id is the first match. Returns AM_OK,
 * AM_ENOTFOUND, AM_EINVAL (not hex), or a store error. */
int store_need_find(struct store *s, const char *hex, uint8_t id[static 16], unsigned *matches);

/* Hex digits that tell need `id` apart from every other need here (>= 6; as listings
 * show them). Returns the count, or 32 when the store cannot be read. */
unsigned store_need_digits(struct store *s, const uint8_t id[static 16]);

/* Calls cb once for each author that has an op in object `key`, in author order. */
int store_obj_authors(struct store *s, const uint8_t *key, size_t key_len,
                      int (*cb)(void *ctx, const uint8_t author[AM_PK_LEN]), void *ctx);

/* Every entry whose op is invalid, in (author, seq) order, with the reason (why[0..len),
 * not NUL-terminated). */
int store_invalid_each(struct store *s,
                       int (*cb)(void *ctx, const uint8_t *author, uint64_t seq, const char *why,
                                 size_t len),
                       void *ctx);

struct store_view_stats {
    uint64_t objects, sites, items, needs, cells;
    uint64_t invalid; /* entries whose op is invalid */
    int current;      /* the views are of this build's format (else: store_reindex) */
    /* BLAKE2b-128(be64(objects) || sum): equal on two nodes with the same views */
    uint8_t fingerprint[STORE_VIEW_FP_LEN];
};
int store_view_stats(struct store *s, struct store_view_stats *st);

/* The fingerprint recomputed from every stored view (slow: for tests and checks); equals
 * store_view_stats' one unless the store is damaged. */
int store_view_fingerprint_scan(struct store *s, uint8_t fp[static STORE_VIEW_FP_LEN]);

/* BLAKE2b-256 over every record of every view database and the view meta records: equal
 * on two stores exactly when their views are byte-identical. For tests. */
int store_views_digest(struct store *s, uint8_t out[static AM_HASH_LEN]);

/* This process's view cache (see store_opts.view_cache): since the store was opened. */
struct store_view_cache_stats {
    uint64_t hits;           /* objects taken from the cache */
    uint64_t loads;          /* objects rebuilt from their stored entries */
    uint64_t ops_loaded;     /* ops those rebuilds read */
    uint64_t evicted;        /* objects dropped (least recently used, or an aborted write) */
    uint64_t objects, bytes; /* held now (bytes estimated) */
};
int store_view_cache_stats(struct store *s, struct store_view_cache_stats *st);

struct store_reindex_stats {
    uint64_t entries;     /* entries read */
    uint64_t ops;         /* valid ops applied */
    uint64_t objects;     /* views written */
    uint64_t invalid;     /* invalid ops recorded */
    uint64_t newer;       /* ops of a newer version, ignored */
    uint64_t undecodable; /* stored entries that do not decode (see `aidmesh verify`) */
};

/* Empties every view database and rebuilds it from the entries, in one write
 * transaction: readers see the old views or the new ones, never a mix. The result is
 * byte-identical to views kept up to date entry by entry. `st` is nullable. Returns
 * AM_OK, AM_ESTATE (read-only), AM_EFULL, AM_ENOMEM, AM_ECORRUPT, AM_ESYS. */
int store_reindex(struct store *s, struct store_reindex_stats *st);

/* ---- Read snapshots ----------------------------------------------------------------------
 *
 * A snapshot is one read transaction: every read made through it sees the store as it was
 * at store_snap_begin, whatever writes land meanwhile (in this process or another), so a
 * page or a listing built from several reads shows one moment. A view pointer it hands out
 * stays valid until store_snap_end. Hold one for one page or one listing, not longer:
 * while it is held, LMDB cannot reuse the pages it sees. One thread at a time.
 *
 * The store_snap_X functions do what store_X does (above), inside the snapshot; each
 * store_X is store_snap_X in a snapshot of its own.
 */
struct store_snap;

/* Returns AM_OK with *out set, AM_ENOMEM, or a store error (*out NULL). */
int store_snap_begin(struct store *s, struct store_snap **out);
/* Ends it (NULL: nothing). */
void store_snap_end(struct store_snap *sn);

int store_snap_views_each(struct store_snap *sn, const uint8_t *prefix, size_t plen,
                          store_view_fn cb, void *ctx);
int store_snap_needs_each(struct store_snap *sn, const char *site, int status, store_view_fn cb,
                          void *ctx);
int store_snap_cells_each(struct store_snap *sn, const char *site, const char *item,
                          store_view_fn cb, void *ctx);
/* The needs of status `status` (and priority `pri`; 0: any) in the order of the needs
 * pages (query_need_cmp), from an index alone: cb gets each one's id, site and item
 * (NUL-terminated, "" before its need.open arrived; valid during the call) and returns
 * 0 to go on. AM_OK, AM_ESTATE (views of an older format opened read-only: no index), or
 * a store error. */
int store_snap_needs_ordered_each(struct store_snap *sn, int status, int pri,
                                  int (*cb)(void *ctx, const uint8_t id[16], const char *site,
                                            const char *item),
                                  void *ctx);
/* The open need of `site` and `item` just before (hlc, id) in the order (open time, id):
 * AM_OK with *prev_hlc and prev_id, AM_ENOTFOUND (none), AM_ESTATE (as above), or a store
 * error. */
int store_snap_need_open_before(struct store_snap *sn, const char *site, const char *item,
                                uint64_t hlc, const uint8_t id[16], uint64_t *prev_hlc,
                                uint8_t prev_id[16]);
/* The view of object `key`, pointing into the snapshot (valid until store_snap_end).
 * Returns AM_OK, AM_ENOTFOUND, or a store error. */
int store_snap_view(struct store_snap *sn, const uint8_t *key, size_t key_len, const uint8_t **view,
                    size_t *len);
int store_snap_need_find(struct store_snap *sn, const char *hex, uint8_t id[static 16],
                         unsigned *matches);
unsigned store_snap_need_digits(struct store_snap *sn, const uint8_t id[static 16]);
int store_snap_obj_authors(struct store_snap *sn, const uint8_t *key, size_t key_len,
                           int (*cb)(void *ctx, const uint8_t author[AM_PK_LEN]), void *ctx);
int store_snap_view_stats(struct store_snap *sn, struct store_view_stats *st);
int store_snap_heads_each(struct store_snap *sn, int (*cb)(void *ctx, const struct store_head *h),
                          void *ctx);
int store_snap_forks_each(struct store_snap *sn,
                          int (*cb)(void *ctx, const uint8_t *author, uint64_t seq,
                                    const uint8_t *raw, size_t len),
                          void *ctx);
/* The stored entry at (log, seq), pointing into the snapshot. AM_OK, AM_ENOTFOUND,
 * AM_ECORRUPT, or a store error. */
int store_snap_entry(struct store_snap *sn, const uint8_t log[static AM_PK_LEN], uint64_t seq,
                     const uint8_t **raw, size_t *len);
/* The author of log `log` (a child log's head names it; an author id is its own root
 * log's), into author (which may be log itself); log itself when the store has no such
 * child log. */
void store_snap_log_author(struct store_snap *sn, const uint8_t log[static AM_PK_LEN],
                           uint8_t author[static AM_PK_LEN]);
/* store_head_get inside the snapshot. */
int store_snap_head(struct store_snap *sn, const uint8_t log[static AM_PK_LEN],
                    struct store_head *h);
/* store_stats without its fault guard: a caller that may meet a damaged store runs its
 * reads under store_guarded. */
int store_snap_stats(struct store_snap *sn, struct store_stats *st);

/* For tests of `verify` only: overwrites the bytes at (author, seq) with no check at
 * all, as a failing disk or a hostile editor could. Returns AM_OK or a store error. */
int store_debug_put_raw(struct store *s, const uint8_t author[static AM_PK_LEN], uint64_t seq,
                        const uint8_t *raw, size_t len);

#endif
