/*
 * stick_int.h: internals of the stick module, shared by its files and by nothing else
 * (not an API: only transport/stick*.c include it; callers use stick.h).
 *
 * The module is four files: stick_format.c (keys, names, the segment header, record
 * decoders, manifest encode/decode), stick_scan.c (reading a stick: the folder, the
 * manifest slots, every segment, the author table, ingest batches, the view), stick_write.c
 * (new segments and what goes in them) and stick.c (stick_sync and stick_inspect, which
 * drive the others). Bytes are in PROTOCOL.md section 11.
 *
 * Must never: include uv.h or lmdb.h, print, read a clock, or reach a file other than
 * through stick_fops.
 */
#ifndef AM_STICK_INT_H
#define AM_STICK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "stick.h"

#define PATH_CAP        4096
#define READ_BLOCK      (1u << 20)
#define BATCH_ARENA_MAX AM_STICK_BATCH_BYTES_MAX /* bytes of entries waiting for one ingest */
#define SNAP_TOTAL_MAX  AM_STICK_SNAP_SEQS_MAX   /* seqs kept over all visit snapshots */
#define RANGES_MAX      AM_STICK_HOLES_MAX       /* ranges of seqs tracked per author */
#define CHUNK_OVERHEAD  (4 + STICK_ABYTES)       /* length prefix + tag */
#define END_CHUNK_LEN   (CHUNK_OVERHEAD + 1)
#define CUT_REC_LEN     (1 + 4 + 8 + STICK_HEADER_ID_LEN)
#define VISIT_FIXED_LEN (1 + AM_INSTALL_ID_LEN + AM_PK_LEN + 8 + 1 + 4) /* without name, exc */
#define EXC_LEN         (AM_PK_LEN + 8)
#define MAN_SEG_LEN     (4 + 1 + 8 + 8 + 8)
#define MAN_AUTHOR_LEN  (AM_PK_LEN + 8 + 8)
#define MAN_VISIT_FIXED (AM_INSTALL_ID_LEN + AM_PK_LEN + 8 + 1 + 4)
#define MAN_EXC_LEN     (4 + 8)
#define NO_INDEX        UINT32_MAX

/* ---- bytes (big-endian) ---------------------------------------------------------------- */

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static inline uint64_t round_up(uint64_t v, uint64_t unit)
{
    return unit > 1 ? (v + unit - 1) / unit * unit : v;
}

/* ---- shared state ---------------------------------------------------------------------- */

/* A growing byte buffer; err (sticky) is the first failure, and later writes do nothing. */
struct buf {
    uint8_t *p;
    size_t len, cap;
    int err;
};

struct range {
    uint64_t lo, hi;
};

/* A run of hash-linked entries of one author the stick holds, as a scan meets them: every
 * entry from `first` to `last` is an ancestor of the entry at `last` (PROTOCOL.md 11.5). */
struct chain {
    uint64_t first, last, entries;
    uint8_t first_hash[AM_HASH_LEN], last_hash[AM_HASH_LEN];
    int branch; /* it began at or below a seq the stick already held: another branch (a
                   child log row of the manifest) */
};

#define CHAINS_MAX (4 * AM_LOGS_PER_AUTHOR) /* chains tracked per author; more are ignored */

struct aitem {
    uint8_t author[AM_PK_LEN];
    uint64_t head;    /* contiguous run from seq 1 on the stick */
    uint64_t entries; /* entries read (and written), duplicates included */
    struct range *rg; /* seqs held beyond a hole, sorted, disjoint, not adjacent */
    uint32_t n_rg, cap_rg;
    struct chain *ch; /* the author's chains, in the order the scan met them */
    uint32_t n_ch, cap_ch;
    uint64_t top; /* the largest seq read */
};

/* An entry of a LANE record: its author, seq and the first bytes of its hash. */
struct lane_key {
    uint8_t author[AM_PK_LEN];
    uint64_t seq;
    uint8_t h8[8];
};
/* qsort / bsearch order of lane keys. */
int stick_lane_key_cmp(const void *a, const void *b);

struct atab {
    struct aitem *it;
    size_t n, cap;
    uint32_t *slot; /* open addressing over a keyed hash of the author */
    size_t nslot;
    uint8_t key[crypto_shorthash_KEYBYTES];
};

struct sfile {
    struct stick_seg_info info;
    char name[STICK_NAME_LEN + 1];
    uint8_t header_id[STICK_HEADER_ID_LEN];
    uint8_t dmg_kind; /* what ended a CUT file */
    int dmg_code;
    int noted;   /* a cut note for it was written by this sync */
    int foreign; /* its header names another network: noted, never cut */
};

struct note {
    uint32_t number;
    uint64_t valid;
    uint8_t header_id[STICK_HEADER_ID_LEN];
};

struct site {
    struct stick_visit v; /* v.vv unused */
    uint64_t *snap;       /* seq per author index when the stick left the site */
    size_t n_snap;
};

/* An entry of this node's fork evidence (or the kept entry at its seq) looked for on the
 * stick, so that the stick carries both sides of every fork the node knows. */
struct interest {
    uint8_t author[AM_PK_LEN];
    uint64_t seq;
    uint8_t hash[AM_HASH_LEN];
    int evidence; /* 1: the evidence entry, 0: the entry the log keeps */
    int found;
};

struct rd {
    const struct stick_fops *f;
    int fd;
    uint8_t *buf;
    size_t cap, len;
    uint64_t base;
};

struct ctx {
    const struct stick_cfg *cfg;
    const struct stick_fops *f;
    const struct sync_store *ss; /* NULL: nothing is ingested */
    struct stick_report *r;
    struct stick_keys keys;
    char dir[PATH_CAP];
    char slot_file[2][STICK_NAME_LEN + 1];
    int slot_present[2], slot_ok[2];
    uint64_t slot_gen[2];
    struct stick_view man; /* the newest slot that authenticates */
    int man_slot;          /* 0 (A), 1 (B), -1: none */
    struct sfile *files;
    size_t n_files, cap_files;
    struct note *notes;
    size_t n_notes, cap_notes;
    struct atab at;
    struct site *sites;
    size_t n_sites, cap_sites, snap_total;
    struct interest *intr;
    size_t n_intr;
    /* entries waiting for one ingest call */
    uint8_t *arena;
    size_t arena_len, arena_cap;
    size_t *boff, *blen;
    const uint8_t **bptr;
    size_t nb;
    /* LANE records: the entries met (for the node's lane, after the logs are imported)
     * and which they are (so an export does not write them again), AM_STICK_LANE_MAX */
    uint8_t *lane_arena;
    size_t lane_len, lane_cap;
    size_t *lane_off, *lane_lens;
    size_t n_lane;
    struct lane_key *lane_on; /* sorted once the scan is over */
    size_t n_lane_on;
    /* the chunk being handled */
    const char *cur_file;
    uint64_t cur_off, cur_entries;
    int cur_bad;
    int fatal;  /* an error that stops everything (store, memory) */
    int rescan; /* reading back what this sync wrote: nothing imported, counted or reported */
    uint64_t prog_done, prog_total, prog_next;
    uint32_t max_number;
    struct rd rd;
    uint8_t *plain;
};

/* Whether the stick holds (author, seq) in a log (scanned or written by this sync). */
int stick_holds(struct ctx *c, const uint8_t *author, uint64_t seq);

/* The node's logs, sorted by log id (so a root log is found by its author id). */
struct heads {
    struct stick_log *h;
    size_t n, cap;
};

struct job {
    uint8_t author[AM_PK_LEN];
    uint8_t log[AM_PK_LEN];  /* the log written: the author id for a root log */
    struct job *parent;      /* the job of its parent log, which must end first (NULL: none) */
    uint64_t from, next, to; /* the stick lacks from..to; next is the next to write */
    uint64_t written;
    uint32_t pending; /* entries of it in the chunk being filled */
    uint32_t behind;  /* visited sites that lack entries of this author */
    uint32_t rank;    /* 1 + its place in cfg->first_authors; 0 when not there */
    int forked;       /* a log of a forked author: the view is read back after the export */
    int done;
};

/* ---- stick_format.c -------------------------------------------------------------------- */

/* Whether two names are equal ignoring ASCII case (FAT names). */
int stick_ieq(const char *a, const char *b);
/* "S0000001.AMS" in any case -> 1; 0 when not a segment name. */
uint32_t stick_seg_number(const char *name);
/* The segment file name of `number`, upper case. */
void stick_seg_name(uint32_t number, char out[STICK_NAME_LEN + 1]);
/* A 16-hex-digit folder name -> network id. 0, or -1 when it is not one. */
int stick_parse_netid(const char *name, uint8_t id[AM_NETID_LEN]);
/* "a/b" into out. AM_OK, or AM_EINVAL when it does not fit PATH_CAP. */
int stick_join(char out[PATH_CAP], const char *a, const char *b);
/* qsort order of visits: by install id, then author. */
int stick_visit_cmp(const void *a, const void *b);
/* Appends to b (see struct buf). */
void stick_buf_u8(struct buf *b, uint8_t v);
void stick_buf_u32(struct buf *b, uint32_t v);
void stick_buf_u64(struct buf *b, uint64_t v);
void stick_buf_mem(struct buf *b, const void *m, size_t n);
/* The manifest body of a view into b (deterministic). AM_OK, AM_EINVAL, AM_ENOMEM,
 * AM_ELIMIT (over STICK_MANIFEST_MAX). */
int stick_manifest_body(const struct stick_view *v, struct buf *b);

/* ---- stick_scan.c ---------------------------------------------------------------------- */

/* Finds `author` in the author table (inserting it when `insert`). AM_OK, AM_ENOTFOUND,
 * AM_ELIMIT (STICK_AUTHORS_MAX reached), AM_ENOMEM. */
int stick_atab_get(struct atab *t, const uint8_t *author, int insert, uint32_t *idx);
/* Extends an author's contiguous run to `head` and absorbs the ranges it now reaches. */
void stick_vv_extend(struct aitem *a, uint64_t head);
/* Records that the stick holds `seq` of this author (contiguous run or ranges). */
void stick_vv_add(struct aitem *a, uint64_t seq);
/* Notes an entry (seq, prev, hash) of the author in its chains. */
void stick_chain_add(struct aitem *a, uint64_t seq, const uint8_t *prev, const uint8_t *hash);
/* Scans the segments from index `from` on again without importing or reporting damage
 * (the ones this sync wrote), so the view says what a later scan will. */
int stick_rescan_from(struct ctx *c, size_t from);
/* qsort order of a report's damage: by file, then offset. */
int stick_damage_cmp(const void *a, const void *b);
/* rc, noting errno in the report when rc is AM_ESYS. */
int stick_sys_err(struct ctx *c, int rc);
/* Calls the progress callback, unless `force` at most once per 1 % of total (or per
 * 65,536 units done, whichever is more). */
void stick_progress(struct ctx *c, int phase, uint64_t done, uint64_t total, int force);
/* qsort order of interests: by author, then seq. */
int stick_intr_cmp(const void *a, const void *b);
/* The site of (install, author), added when `insert`; NULL when absent or not added. */
struct site *stick_site_get(struct ctx *c, const uint8_t *install, const uint8_t *author,
                            int insert);
/* Sets a site's snapshot from the stick's heads with `exc` (n pairs) applied. AM_OK or
 * AM_ENOMEM. */
int stick_site_snapshot(struct ctx *c, struct site *s, const uint8_t *exc, uint32_t n);
/* A site's seq of the author at table index idx (0 when unknown). */
uint64_t stick_site_seq(const struct site *s, uint32_t idx);
/* Finds AIDMESH/<our id>/ (any case); with `create`, makes it on a blank volume. */
int stick_locate(struct ctx *c, int create);
/* The size of the file `name` of our folder. */
int stick_file_size(struct ctx *c, const char *name, uint64_t *size);
/* Lists our folder: the segment files (sorted, sized) and the manifest slots. */
int stick_list_dir(struct ctx *c);
/* Reads both manifest slots; the newest that authenticates becomes c->man. */
void stick_read_slots(struct ctx *c);
/* Scans every segment, importing through c->ss, then settles the cuts. */
int stick_scan_all(struct ctx *c);
/* The stick's view as the scan (and any export) found it. AM_OK or AM_ENOMEM. */
int stick_build_view(struct ctx *c, struct stick_view *v);
/* Sets up c for one sync or inspect (and clears r); stick_ctx_free must follow. */
int stick_ctx_init(struct ctx *c, const struct stick_cfg *cfg, const struct sync_store *ss,
                   struct stick_report *r);
void stick_ctx_free(struct ctx *c);

/* ---- stick_write.c --------------------------------------------------------------------- */

/* qsort order of jobs: most behind sites first, then the shortest, then by author. */
int stick_job_cmp(const void *a, const void *b);
/* Writes what the stick lacks into new segments: cut notes, the jobs' entries, fork
 * evidence, this site's visit record (nh: the node's heads). Nothing at all when there is
 * nothing to say (site_same: the stick's visit of this site is current). AM_OK (a full or
 * read-only volume is said in the report), or an error. */
int stick_export_all(struct ctx *c, const struct heads *nh, struct job *jobs, size_t nj,
                     int site_same);

/* ---- stick.c --------------------------------------------------------------------------- */

/* Calls cb for the node's entries of log `log` from `from` on (cfg->logs, else
 * sync_store.entries); the callback's non-zero value stops it. */
int stick_log_entries(struct ctx *c, const uint8_t *log, uint64_t from,
                      int (*cb)(void *cbctx, const uint8_t *raw, size_t len), void *cbctx);
/* The node's log `log` (its root log when given an author id), or NULL. */
const struct stick_log *stick_heads_find(const struct heads *hv, const uint8_t *log);

#endif
