/*
 * stick.h: the sneakernet format and its sync (PROTOCOL.md section 11, "Stick").
 *
 * A USB stick (FAT32 or exFAT) carries the entries of one relief network from site to
 * site. On it, in AIDMESH/<NETWORK ID>/, sit append-only segment files S0000001.AMS, ...,
 * each a crypto_secretstream of chunks holding entries, visit records (what a site held
 * when the stick left it) and cut notes (a damaged segment's readable length), closed by an
 * END chunk; and a manifest in two slots (MANIFA.AMM / MANIFB.AMM), a cache of what a scan
 * of the segments finds. Nothing but the network id and sizes is readable without the
 * network key. Segments are never appended to once written: every export starts new ones,
 * so a cut or damaged file never makes later data unreadable.
 *
 * This module holds the whole format and the sync logic: keys, segment writer and reader,
 * manifest encode/decode, the scan, "what does the stick lack / what does the node lack",
 * import (through struct sync_store's ingest, which verifies exactly like network
 * entries) and export. It reaches files only through struct stick_fops (a small table a
 * test can swap to cut writes short like a yanked stick) and the node only through struct
 * sync_store. Never includes uv.h or lmdb.h, never prints, never reads a clock (time comes
 * in stick_cfg.now_ms). Random bytes: the secretstream headers and manifest nonces come
 * from libsodium's CSPRNG.
 */
#ifndef AM_STICK_H
#define AM_STICK_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "am_limits.h"
#include "sync.h"

/* ---- Names and constants (PROTOCOL.md 11.1-11.4) ---- */

#define STICK_DIR_NAME       "AIDMESH" /* top folder on the volume; matched case-insensitively */
#define STICK_FORMAT_VERSION 1         /* segments, and a manifest without child logs */
/* A manifest whose log table holds child logs (branches of a forked author): an older
 * node refuses that slot (AM_EVERSION) and scans instead. */
#define STICK_MAN_VERSION_LOGS 2
#define STICK_SEG_MAGIC        "AMSG" /* 41 4d 53 47 */
#define STICK_MAN_MAGIC        "AMMF" /* 41 4d 4d 46 */
#define STICK_MAN_SLOT_A       "MANIFA.AMM"
#define STICK_MAN_SLOT_B       "MANIFB.AMM"
/* Keys: stick key = BLAKE2b-256 keyed by the network key of this label (no NUL); segment
 * key n = crypto_kdf_derive_from_key(32, n, STICK_SEG_KDF_CTX, stick key); manifest key =
 * crypto_kdf_derive_from_key(32, 1, STICK_MAN_KDF_CTX, stick key). */
#define STICK_KEY_LABEL   "aidmesh stick v1"
#define STICK_SEG_KDF_CTX "amstick1"
#define STICK_MAN_KDF_CTX "amstman1"

#define STICK_SEG_HEADER_LEN 44 /* magic 4, version 1, zero 3, netid 8, number 4, ss header 24 */
#define STICK_HEADER_ID_LEN  16 /* first 16 bytes of a segment's secretstream header */
#define STICK_MAN_HEADER_LEN                                                                       \
    52 /* magic 4, version 1, slot 1, zero 2, netid 8, gen 8, nonce 24,                            \
          body length 4 */
#define STICK_ABYTES   crypto_secretstream_xchacha20poly1305_ABYTES /* 17 */
#define STICK_NAME_LEN 12                                           /* "S0000001.AMS" */

/* Chunk record types: the first plaintext byte of a chunk. */
#define STICK_REC_ENTRIES 1 /* u16 length + entry, repeated */
#define STICK_REC_VISIT   2 /* a site's version vector when the stick left it */
#define STICK_REC_CUT     3 /* "segment n holds valid data up to offset x; the rest is garbage" */
#define STICK_REC_END     4 /* last chunk (TAG_FINAL): the segment was closed cleanly */
/* Entries carried ahead of their logs, most needed first (the priority lane, PROTOCOL.md
 * 11.3): each is taken by its own signature (sync_store.lane_ingest). Same layout as
 * ENTRIES; a reader that predates it skips it (an unknown type). */
#define STICK_REC_LANE 5

/* ---- Sizes a writer aims at (PROTOCOL.md 11.6): tunables of what aidmesh writes ---- */

/* Writers close a segment before it grows past this: small enough that one file is
 * quick to re-copy and far below FAT32's 4 GiB file limit. */
#define STICK_SEGMENT_TARGET (32u << 20)
/* Writers fill a chunk up to about this much plaintext: one authentication tag and
 * 4 length bytes per 64 KiB keep the overhead near 0.03 %. */
#define STICK_CHUNK_TARGET (64u << 10)

/* ---- Limits on what a stick holds (am_limits.h, PROTOCOL.md §2) ---- */

#define STICK_SEGMENT_MAX    AM_STICK_SEGMENT_MAX
#define STICK_CHUNK_MAX      AM_STICK_CHUNK_MAX
#define STICK_MANIFEST_MAX   AM_STICK_MANIFEST_MAX
#define STICK_SEGMENTS_MAX   AM_STICK_SEGMENTS_MAX
#define STICK_AUTHORS_MAX    AM_STICK_AUTHORS_MAX
#define STICK_SITES_MAX      AM_STICK_SITES_MAX
#define STICK_VISIT_EXC_MAX  AM_STICK_VISIT_EXC_MAX
#define STICK_FORK_TRACK_MAX AM_STICK_FORK_TRACK_MAX
/* Damage findings kept in a report (all are counted). */
#define STICK_DAMAGE_MAX 32

/* ---- Files: the swappable table ---- */

#define STICK_OPEN_READ   0 /* existing file, read only */
#define STICK_OPEN_WRITE  1 /* existing or new file, read-write, never truncated */
#define STICK_OPEN_CREATE 2 /* new file only (AM_EEXIST if it exists), read-write */

/*
 * File operations on the stick. Paths are built by this module (root + "/" + names) and
 * are only valid during the call. Every function returns AM_OK or an am_err.h code:
 * AM_ENOTFOUND (no such file or folder), AM_EEXIST (create of an existing file), AM_EFULL
 * (the volume is full: ENOSPC, EDQUOT, EFBIG, or a FUSE driver's EPERM after a short write),
 * AM_EPERM (read-only volume, permission), AM_ESYS (anything else: errno is set).
 */
struct stick_fops {
    void *ctx;
    int (*open)(void *ctx, const char *path, int mode, int *fd);
    /* Reads up to n bytes at off; *got < n only at the end of the file. */
    int (*read)(void *ctx, int fd, uint64_t off, uint8_t *buf, size_t n, size_t *got);
    /* Writes all n bytes at off (always the file's end here: sticks are written in order). */
    int (*write)(void *ctx, int fd, uint64_t off, const uint8_t *buf, size_t n);
    int (*fsync)(void *ctx, int fd);
    int (*close)(void *ctx, int fd);
    int (*size)(void *ctx, int fd, uint64_t *size);
    /* Cuts the file to len bytes. Callers close the file right after (a FUSE FAT driver
     * mishandles writes after a truncate on the same descriptor). */
    int (*truncate)(void *ctx, int fd, uint64_t len);
    /* Calls cb for each name in folder `path` (not "." or ".."), is_dir set for folders;
     * stops when cb returns non-zero. */
    int (*list)(void *ctx, const char *path, int (*cb)(void *cbctx, const char *name, int is_dir),
                void *cbctx);
    int (*mkdir)(void *ctx, const char *path);
    /* Flushes a folder's entries (best effort; AM_OK where it means nothing). */
    int (*fsync_dir)(void *ctx, const char *path);
    /* Bytes the volume can still take and its allocation unit; *avail = UINT64_MAX when
     * the volume does not say (some FUSE drivers report zero blocks). */
    int (*space)(void *ctx, const char *path, uint64_t *avail, uint64_t *unit);
    /* Deletes a file. Only used on a segment this sync created and could put nothing in
     * (a stick that is already full). */
    int (*remove)(void *ctx, const char *path);
};

/* ---- Keys ---- */

struct stick_keys {
    uint8_t stick[32];    /* root of the stick keys */
    uint8_t manifest[32]; /* manifest AEAD key */
    uint8_t netid[AM_NETID_LEN];
};

/* Derives the stick keys and network id from the network key. Wipe with
 * stick_keys_wipe(). */
void stick_keys_init(struct stick_keys *k, const uint8_t netkey[static AM_NETKEY_LEN]);
void stick_keys_wipe(struct stick_keys *k);
/* The secretstream key of segment `number`. The caller wipes `key`. */
void stick_segment_key(const struct stick_keys *k, uint32_t number, uint8_t key[static 32]);

/* ---- What a stick holds ---- */

enum stick_seg_state {
    STICK_SEG_SEALED = 0,  /* read to its END chunk, nothing after it */
    STICK_SEG_CUT = 1,     /* ends early (pulled mid-write) or damaged: see the damage list */
    STICK_SEG_CUT_ACK = 2, /* ended early, and a later cut note says so: the readable part
                              is all there is, nothing to report */
    STICK_SEG_NEWER = 3,   /* a newer format version (or a flipped version byte): skipped,
                              reported at every sync, never cut */
};

struct stick_seg_info {
    uint32_t number;
    uint8_t state;    /* enum stick_seg_state */
    uint64_t size;    /* bytes of the file */
    uint64_t valid;   /* bytes read and authenticated, from 0 */
    uint64_t entries; /* entries read from it */
};

/* One log on the stick (PROTOCOL.md 11.4): a row of the manifest's log table. An author's
 * root log is named by the author id: `seq` is the contiguous run from seq 1 the stick
 * holds (entries beyond a hole are counted in `entries` but not in `seq`), counted over
 * every entry of the author except those of the child rows. A child row (first_seq > 1
 * or `owner` differing from `author`) is a branch the stick holds: `author` is its log id,
 * BLAKE2b-256("aidmesh log v1" || owner || hash of its first entry), `seq` its last seq. */
struct stick_author {
    uint8_t author[AM_PK_LEN]; /* the log id: the author id for a root log */
    uint64_t seq;
    uint64_t entries;         /* entries of this log read from the stick, duplicates included */
    uint8_t owner[AM_PK_LEN]; /* who signs it: equal to `author` for a root log (all
                                 zero is read as a root log too) */
    uint64_t first_seq;       /* 1 for a root log */
};

struct stick_vv {
    uint8_t author[AM_PK_LEN];
    uint64_t seq;
};

/* A site the stick visited: the newest visit record of that site. */
struct stick_visit {
    uint8_t install[AM_INSTALL_ID_LEN];
    uint8_t author[AM_PK_LEN];
    char name[AM_NAME_MAX + 1];
    uint64_t time_ms; /* the site's wall clock when the stick left */
    /* What the site held, as the authors where it differs from the stick (the view's
     * authors), sorted by author: every other author it held exactly as the stick. */
    struct stick_vv *vv;
    size_t n_vv;
};

enum stick_dmg_kind {
    STICK_DMG_CUT = 1,      /* the file ends before its END chunk (pulled mid-write) */
    STICK_DMG_BAD = 2,      /* bytes that fail authentication, a bad header or length */
    STICK_DMG_TRAIL = 3,    /* bytes after the END chunk */
    STICK_DMG_ENTRY = 4,    /* an authentic chunk with an entry that does not decode */
    STICK_DMG_MANIFEST = 5, /* a manifest slot that does not authenticate (torn write) */
};

struct stick_damage {
    char file[STICK_NAME_LEN + 1];
    uint8_t kind;    /* enum stick_dmg_kind */
    int code;        /* am_err.h: AM_EAGAIN (cut), AM_EBADMAC, AM_EMALFORMED, AM_ELIMIT... */
    uint64_t offset; /* where the unreadable part begins (the entry's chunk for ENTRY) */
    uint64_t lost;   /* bytes from offset to the end of the file (ENTRY: 0) */
};

/* The stick's content as a scan or the manifest sees it. */
struct stick_view {
    struct stick_seg_info *segs; /* by number */
    size_t n_segs;
    struct stick_author *authors; /* sorted by author; seq 0 ones are authors only a visit
                                     names */
    size_t n_authors;
    struct stick_visit *visits; /* sorted by (install, author) */
    size_t n_visits;
    uint64_t entries;    /* entries read, duplicates included */
    uint64_t bytes;      /* bytes of all segment files */
    uint64_t generation; /* the manifest's, 0 when none */
    int from_manifest;   /* 1: read from the manifest, no scan */
};

void stick_view_free(struct stick_view *v); /* NULL-safe; leaves *v zeroed */

/* ---- Sync ---- */

#define STICK_F_CREATE    1u /* a blank volume (no AIDMESH/<id> folder) may be set up */
#define STICK_F_NO_WRITE  2u /* import only: write nothing to the stick */
#define STICK_F_NO_IMPORT 4u /* do not ingest (status: scan only) */

enum stick_phase { STICK_PHASE_IMPORT = 1, STICK_PHASE_EXPORT = 2 };

/* At most this many of cfg->first_authors are looked at (the rest go in turns like others):
 * bounds the export's ranking work at nj x this comparisons. */
#define STICK_FIRST_AUTHORS_MAX 1024

/* One log of the node (PROTOCOL.md 6): what struct sync_head says of an author, for every
 * log of it. */
struct stick_log {
    uint8_t log[AM_PK_LEN];    /* the log id (the author id for a root log) */
    uint8_t author[AM_PK_LEN]; /* who signs its entries */
    uint8_t parent[AM_PK_LEN]; /* the parent log (all zero for a root log) */
    uint64_t first_seq;        /* 1 for a root log */
    uint64_t seq;              /* its last entry: first_seq - 1 when it has none */
    uint8_t hash[AM_HASH_LEN]; /* hash of its last entry */
    uint32_t flags;            /* STICK_LOG_* */
};

#define STICK_LOG_FORKED 1u /* the author's entries form more than one log */

/* The node's logs, beside struct sync_store (nullable in stick_cfg: then every head of
 * sync_store.heads is taken for a root log, and no branch is carried). */
struct stick_logs {
    void *ctx;
    /* Calls cb for every log, in log-id order; stops when cb returns non-zero. */
    int (*each)(void *ctx, int (*cb)(void *cbctx, const struct stick_log *l), void *cbctx);
    /* Calls cb for the entries of log `log` from from_seq on, in order, until cb returns
     * non-zero or the log ends. AM_OK or a store error. */
    int (*entries)(void *ctx, const uint8_t log[AM_PK_LEN], uint64_t from_seq,
                   int (*cb)(void *cbctx, const uint8_t *raw, size_t len), void *cbctx);
};

struct stick_cfg {
    const struct stick_fops *fops;
    /* The node's logs (nullable): with them, every branch of a forked author travels. */
    const struct stick_logs *logs;
    const char *root;      /* the volume (or any folder) holding AIDMESH/ */
    const uint8_t *netkey; /* AM_NETKEY_LEN */
    /* This site, for its visit record: */
    const uint8_t *install_id; /* AM_INSTALL_ID_LEN */
    const uint8_t *author;     /* AM_PK_LEN */
    const char *name;          /* up to AM_NAME_MAX bytes; NULL or "" for none */
    uint64_t now_ms;           /* wall clock, ms since the epoch */
    unsigned flags;            /* STICK_F_* */
    uint64_t max_bytes;        /* export writes at most this many bytes; 0: no limit */
    uint64_t segment_target;   /* 0: STICK_SEGMENT_TARGET (tests make it small) */
    uint32_t chunk_target;     /* 0: STICK_CHUNK_TARGET */
    /* Authors whose entries go first in each turn of the export, in this order (AM_PK_LEN
     * bytes each; nullable): the node passes the authors of its open needs, most needed
     * first (the read model's order), so a stick that fills up carries them. */
    const uint8_t *first_authors;
    size_t n_first_authors;
    /* Progress of long phases (nullable): import counts bytes read, export entries. */
    void (*progress)(void *ctx, int phase, uint64_t done, uint64_t total);
    void *progress_ctx;
};

enum stick_loc {
    STICK_LOC_OURS = 1,  /* AIDMESH/<our id>/ exists */
    STICK_LOC_BLANK = 2, /* no AIDMESH folder of any network */
    STICK_LOC_OTHER = 3, /* only folders of other networks: never touched */
};

struct stick_report {
    int error;                         /* am_err.h code that stopped the sync early, 0 if none */
    int sys_errno;                     /* errno when error is AM_ESYS */
    int location;                      /* enum stick_loc */
    uint8_t other_netid[AM_NETID_LEN]; /* STICK_LOC_OTHER: the first other network seen */
    int created;                       /* the folder was set up by this sync */
    int readonly_why; /* 0, or AM_EPERM: nothing was written, the volume is read-only */
    /* import */
    uint64_t segments, stick_bytes;
    uint64_t read;                             /* entries read and decoded */
    uint64_t added, duplicate, forks, refused; /* forks: stored, each the first of a branch */
    uint64_t capped;               /* kept as evidence only (beyond AM_LOGS_PER_AUTHOR) */
    struct sync_refusals refusals; /* the refused, by author and reason */
    uint64_t malformed;            /* entries in authentic chunks that do not decode */
    uint64_t n_damage;             /* damage findings (the first STICK_DAMAGE_MAX are listed) */
    struct stick_damage damage[STICK_DAMAGE_MAX];
    uint64_t acknowledged;   /* cut segments noted earlier: not damage */
    uint64_t foreign, newer; /* segment files naming another network / a newer format (both
                                also in the damage list) */
    unsigned manifest_slots; /* bit 0: slot A authenticates, bit 1: slot B */
    /* the lane (LANE records): entries read, and of those, taken into the node's lane */
    uint64_t lane_read, lane_added;
    /* export */
    uint64_t to_export; /* entries the stick lacked */
    uint64_t exported, exported_bytes, exported_authors, evidence;
    int full;               /* the stick filled up: not everything fit */
    uint64_t unfit_entries; /* of to_export, not written */
    uint64_t unfit_authors;
    uint64_t new_segments, written_bytes;
    uint64_t cut_notes; /* damaged segments acknowledged now (and cut back) */
    uint64_t lane_out;  /* entries written ahead of their logs (LANE records) */
    int visit_written, manifest_written;
    /* the stick afterwards */
    uint64_t stick_entries;
    uint64_t stick_authors; /* who signed them (a forked author once) */
    uint64_t stick_logs;    /* the logs they form (a forked author's branches each) */
    uint64_t free_bytes;    /* UINT64_MAX when the volume does not say */
};

/*
 * Syncs the node behind `ss` with the stick of cfg->root, with no round trip:
 *  1. finds AIDMESH/<network id>/ (case-insensitively); a volume holding only other
 *     networks' folders is refused (STICK_LOC_OTHER, AM_EOTHERNET) with nothing read or written;
 *     a blank one is set up only with STICK_F_CREATE (else AM_ENOTFOUND);
 *  2. scans every segment in order, authenticating each chunk, decoding each entry within
 *     the entry limits, and hands the entries to ss->ingest in batches of at most
 *     AM_INGEST_BATCH_MAX, in the order written (each author's chain in seq order), so
 *     the store verifies them exactly like network entries (tip signatures, hash chains,
 *     fork evidence). Damage is reported by file and offset; everything readable is
 *     imported;
 *  3. unless STICK_F_NO_WRITE: writes what the stick lacks (per author, after the stick's
 *     contiguous run, oldest missing first; authors in turns, cfg->first_authors first in
 *     each turn, then those the most visited sites lack), then this node's fork evidence the stick
 * lacks, then a cut note for each new damaged segment and this site's visit record, into new
 * segment(s), each closed and fsynced; cuts damaged segments back to their readable length; then
 *     writes the manifest to its older slot and fsyncs it. When the volume or max_bytes
 *     runs out it stops at a chunk boundary, closes the segment cleanly, and reports what
 *     did not fit (r->full). Nothing is written when nothing changed: replaying a stick is
 *     a no-op.
 * `r` is always filled. Returns AM_OK (also when full or damaged: see r), AM_ENOTFOUND
 * (blank volume without STICK_F_CREATE, or no such folder), AM_EOTHERNET (another network's
 * stick), AM_EINVAL, AM_ENOMEM, AM_ESYS / AM_EPERM / AM_EFULL from the files, or a store
 * error from ingest (then nothing more is done).
 */
int stick_sync(const struct stick_cfg *cfg, const struct sync_store *ss, struct stick_report *r);

/*
 * What the stick holds, for `stick status`: the newest manifest slot that authenticates,
 * when the segment files it lists are exactly those present with the same sizes, else a
 * scan (also with force_scan). Reads only. On success *v is the caller's (stick_view_free).
 * `r` (nullable) receives the location, damage and slot findings. Returns AM_OK, or the
 * errors of stick_sync's step 1 and of the files.
 */
int stick_inspect(const struct stick_cfg *cfg, int force_scan, struct stick_view *v,
                  struct stick_report *r);

/* The seq of `author` the visited site held when the stick left it. */
uint64_t stick_visit_seq(const struct stick_view *view, const struct stick_visit *v,
                         const uint8_t author[static AM_PK_LEN]);
/* How far a visited site is behind `heads` (sorted by author, e.g. the node's): entries
 * and authors it lacks. */
void stick_visit_behind(const struct stick_view *view, const struct stick_visit *v,
                        const struct sync_head *heads, size_t n, uint64_t *entries,
                        uint64_t *authors);

/* ---- Decoders, exposed for tests and fuzzing ---- */

/* Checks a segment header; on AM_OK *number is its segment number and ss_header points
 * into buf. Returns AM_OK, AM_EAGAIN (fewer than STICK_SEG_HEADER_LEN bytes),
 * AM_EMALFORMED (not a segment), AM_EVERSION, AM_EBADMAC (another network id). */
int stick_seg_header_decode(const uint8_t *buf, size_t len,
                            const uint8_t netid[static AM_NETID_LEN], uint32_t *number);

/* Walks the plaintext of one ENTRIES chunk (after its type byte): cb gets each entry's
 * bytes (checked against AM_ENTRY_MAX, not decoded). Returns AM_OK, AM_EMALFORMED (a length
 * running past the end, or zero), AM_ELIMIT, or cb's non-zero value. */
int stick_entries_walk(const uint8_t *p, size_t n,
                       int (*cb)(void *ctx, const uint8_t *entry, size_t len), void *ctx);

/* Decodes a visit record's plaintext (after its type byte). exc points into p (n_exc items
 * of 40 bytes: author, be64 seq). Returns AM_OK, AM_EMALFORMED or AM_ELIMIT. */
int stick_visit_decode(const uint8_t *p, size_t n, struct stick_visit *v, const uint8_t **exc,
                       uint32_t *n_exc);

/*
 * Decodes a manifest slot: header, authentication under k->manifest, body. On AM_OK *v
 * holds the view (caller frees) and *gen the generation. `slot` is 'A' or 'B' (the file
 * it was read from). Trailing bytes after the ciphertext are ignored (slots are rewritten
 * in place). Returns AM_OK, AM_EAGAIN (too short), AM_EMALFORMED, AM_ELIMIT, AM_EVERSION,
 * AM_EBADMAC (another network, a torn write or tampering), AM_ENOMEM.
 */
int stick_manifest_decode(const struct stick_keys *k, char slot, const uint8_t *buf, size_t len,
                          struct stick_view *v, uint64_t *gen);
/* Encodes the view (segments, authors, visits) as a manifest slot into a malloc'd buffer
 * (*out, caller frees). Returns AM_OK, AM_ELIMIT (over STICK_MANIFEST_MAX), AM_ENOMEM. */
int stick_manifest_encode(const struct stick_keys *k, char slot, uint64_t gen,
                          const struct stick_view *v, uint8_t **out, size_t *len);

#endif
