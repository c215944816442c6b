/*
 * relief.h: relief data ops (sites, items, needs, stock cells) and their merge rules
 * (PROTOCOL.md section 10, "Relief data").
 *
 * Three parts:
 *  1. Ops: relief_op_decode() validates the msgpack map inside an entry and reads it
 *     without copying; relief_op_encode() builds one (and never builds one that decode
 *     rejects). Validation looks only at the op's own bytes, so every node reaches the
 *     same verdict; relief_op_check_refs() is the separate, state-dependent check a
 *     writer runs at creation time ("is site X defined?").
 *  2. Objects: every valid op belongs to exactly one object (site, item, need, stock cell,
 *     the successions of one key, a minimum level, a shipment), named by relief_op_key();
 *     a shipment's dispatch or receipt also to each stock cell its lines name
 *     (relief_op_cell), which it moves. A struct relief_obj holds the set of ops of one object;
 *     relief_obj_apply() adds one op (idempotent, order-independent), and the view
 *     (registers, need status, cell value) is a pure function of that set, computed
 *     lazily when asked for.
 *  3. Views: typed getters, and relief_obj_dump(), canonical msgpack bytes of the view
 *     that are identical for identical sets of ops whatever the order of arrival.
 *
 * Pure: no I/O, no clock, no randomness, no global state; never prints. Allocates only
 * inside struct relief_obj (malloc; caller frees with relief_obj_free).
 */
#ifndef AM_RELIEF_H
#define AM_RELIEF_H

#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"

/* ---- Limits of relief ops (am_limits.h, PROTOCOL.md §2; all lengths in bytes) ---- */

#define RELIEF_SLUG_MAX AM_RELIEF_SLUG_MAX
#define RELIEF_NAME_MAX AM_NAME_MAX /* site and item names: one line on a screen */
#define RELIEF_LANG_MAX 3           /* a language code (item.name): ISO 639, 2 or 3 of a-z */
#define RELIEF_UNIT_MAX AM_RELIEF_UNIT_MAX
#define RELIEF_NOTE_MAX AM_RELIEF_NOTE_MAX
#define RELIEF_QTY_MAX  AM_RELIEF_QTY_MAX
#define RELIEF_DAY_MAX  AM_RELIEF_DAY_MAX
#define RELIEF_REFS_MAX AM_RELIEF_REFS_MAX
#define RELIEF_LAT_MAX  AM_RELIEF_LAT_MAX
#define RELIEF_LON_MAX  AM_RELIEF_LON_MAX
/* A need's id: the first 16 bytes of its creating entry's hash. */
#define RELIEF_ID_LEN 16
/* Shortest id prefix shown to people, in hex digits. */
#define RELIEF_ID_SHORT_MIN 6
/* A ref on the wire: author (32) || seq (8, big-endian), as a msgpack bin of 40 bytes. */
#define RELIEF_REF_LEN   40
#define RELIEF_AUDIT_MAX AM_RELIEF_AUDIT_MAX
#define RELIEF_LINES_MAX AM_RELIEF_LINES_MAX
/* Encoded object key (relief_key_encode). */
#define RELIEF_KEY_MAX 104
/* A buffer of this size holds every error sentence of this module. */
#define RELIEF_ERR_MAX 200

/* ---- Vocabulary ---- */

enum relief_type {
    RELIEF_T_SITE = 1,    /* "site" */
    RELIEF_T_ITEM,        /* "item" */
    RELIEF_T_NEED_OPEN,   /* "need.open" */
    RELIEF_T_NEED_UPD,    /* "need.upd" */
    RELIEF_T_NEED_DLV,    /* "need.dlv" */
    RELIEF_T_NEED_CLOSE,  /* "need.close" */
    RELIEF_T_STOCK_MOVE,  /* "stock.move" */
    RELIEF_T_STOCK_COUNT, /* "stock.count" */
    RELIEF_T_SUCCESSION,  /* "succession": a new key takes over from a forked one */
    RELIEF_T_STOCK_MIN,   /* "stock.min": the minimum level of an item at a site */
    RELIEF_T_SHIP_NEW,    /* "ship.new": a shipment from one site to another, its lines */
    RELIEF_T_SHIP_DSP,    /* "ship.dsp": it left; the lots that left (moves stock out) */
    RELIEF_T_SHIP_RCV,    /* "ship.rcv": it arrived; what arrived (moves stock in) */
    RELIEF_T_SHIP_CXL,    /* "ship.cxl": it is cancelled */
    RELIEF_T_ITEM_PACK,   /* "item.pack": a named pack of an item, its units (0: removed) */
    RELIEF_T_ITEM_NAME    /* "item.name": an item's name in one language ("": removed) */
};
#define RELIEF_T_LAST RELIEF_T_ITEM_NAME

/* Status of a shipment, derived from its ops (PROTOCOL.md 10.8.6). */
enum relief_ship_status {
    RELIEF_SHIP_CREATED = 1,
    RELIEF_SHIP_DISPATCHED,
    RELIEF_SHIP_RECEIVED,
    RELIEF_SHIP_CANCELLED
};

enum relief_site_kind {
    RELIEF_KIND_HUB = 1,
    RELIEF_KIND_SHELTER,
    RELIEF_KIND_CLINIC,
    RELIEF_KIND_WAREHOUSE,
    RELIEF_KIND_KIT
};

enum relief_priority {
    RELIEF_PRI_CRITICAL = 1,
    RELIEF_PRI_HIGH,
    RELIEF_PRI_NORMAL,
    RELIEF_PRI_LOW
};

enum relief_status { RELIEF_ST_OPEN = 1, RELIEF_ST_FULFILLED, RELIEF_ST_CANCELLED };

/* Reasons of a stock move; the reason fixes the sign (received, transfer-in, found add). */
enum relief_reason {
    RELIEF_R_RECEIVED = 1,
    RELIEF_R_ISSUED,
    RELIEF_R_TRANSFER_IN,
    RELIEF_R_TRANSFER_OUT,
    RELIEF_R_EXPIRED,
    RELIEF_R_LOST,
    RELIEF_R_FOUND,
    RELIEF_R_DAMAGED
};

/* Keys of an op map, in the order relief_op_encode writes them. Bit (1u << RELIEF_K_x)
 * of relief_op.has says that key is present. */
enum relief_key_id {
    RELIEF_K_T = 0, /* "t" */
    RELIEF_K_SLUG,  /* "slug" (site) */
    RELIEF_K_CODE,  /* "code" (item) */
    RELIEF_K_SITE,  /* "site" (need.open, stock.*) */
    RELIEF_K_ITEM,  /* "item" (need.open, stock.*) */
    RELIEF_K_NEED,  /* "need" */
    RELIEF_K_NAME,  /* "name" */
    RELIEF_K_KIND,  /* "kind" */
    RELIEF_K_LL,    /* "ll" */
    RELIEF_K_UNIT,  /* "unit" */
    RELIEF_K_CAT,   /* "cat" */
    RELIEF_K_Q,     /* "q" */
    RELIEF_K_PRI,   /* "pri" */
    RELIEF_K_ST,    /* "st" */
    RELIEF_K_R,     /* "r" */
    RELIEF_K_LOT,   /* "lot" */
    RELIEF_K_EXP,   /* "exp" */
    RELIEF_K_BY,    /* "by" */
    RELIEF_K_NOTE,  /* "note" */
    RELIEF_K_CTX,   /* "ctx" */
    RELIEF_K_SUP,   /* "sup" */
    RELIEF_K_OLD,   /* "old" (succession): the key succeeded */
    RELIEF_K_SEQ,   /* "seq" (succession): the old key's head seq on the writing node */
    RELIEF_K_HEAD,  /* "head" (succession): the hash of that head entry */
    RELIEF_K_OSIG,  /* "osig" (succession): the old key's signature (relief_succession_msg) */
    RELIEF_K_SHIP,  /* "ship" (ship.dsp, .rcv, .cxl): the shipment's id */
    RELIEF_K_TO,    /* "to" (ship.new): the site it goes to */
    RELIEF_K_LN,    /* "ln" (ship.*): the lines */
    RELIEF_K_DOC,   /* "doc" (ship.new): the reference people use (waybill number) */
    RELIEF_K_PACK,  /* "pack" (item.pack): the pack's name, a slug */
    RELIEF_K_LANG,  /* "lang" (item.name): a language code, 2 or 3 of a-z */
    RELIEF_K_COUNT
};
#define RELIEF_HAS(k) (1u << (k))

/* Causal registers of objects. A site has NAME, KIND, LL; an item NAME, UNIT, CAT; a
 * need Q, PRI, NOTE, BY, ST; a minimum level Q (the minimum, in base units); a pack Q (its
 * units, 0: removed); a name in a language NAME ("": removed). */
enum relief_field {
    RELIEF_F_NAME = 0,
    RELIEF_F_KIND,
    RELIEF_F_LL,
    RELIEF_F_UNIT,
    RELIEF_F_CAT,
    RELIEF_F_Q,
    RELIEF_F_PRI,
    RELIEF_F_NOTE,
    RELIEF_F_BY,
    RELIEF_F_ST,
    RELIEF_F_COUNT
};

/* The name of a value, e.g. relief_type_name(RELIEF_T_NEED_OPEN) = "need.open"; "?" when
 * out of range. Static strings. */
const char *relief_type_name(int type);
const char *relief_kind_name(int kind);
const char *relief_priority_name(int pri);
const char *relief_status_name(int st);
const char *relief_reason_name(int reason);
const char *relief_field_name(int field);
const char *relief_ship_status_name(int st); /* "created" .. "cancelled" */
/* +1 for the reasons that add stock (received, transfer-in, found), -1 for the others,
 * 0 for a value out of range. */
int relief_reason_sign(int reason);

/* ---- Refs ---- */

/* An entry is named by (author, seq); seq is 1 .. 2^63-1. */
struct relief_ref {
    uint8_t author[AM_PK_LEN];
    uint64_t seq;
};

/* A list of refs: "sup" (strictly ascending by (author, seq)) or "ctx" (strictly
 * ascending by author: one highest-seen seq per author). Exactly one representation:
 *  - arr: n refs in memory (what a caller gives relief_op_encode);
 *  - mp:  n validated msgpack bin-40 objects in an op's bytes (what decode gives).
 * Read either with relief_refs_begin/next. */
struct relief_refs {
    uint32_t n;
    const struct relief_ref *arr;
    const uint8_t *mp;
};
struct relief_ref_iter {
    const struct relief_refs *l;
    uint32_t i;
    const uint8_t *p;
};
void relief_refs_begin(struct relief_ref_iter *it, const struct relief_refs *l);
/* Stores the next ref in *out and returns 1, or returns 0 at the end. */
int relief_refs_next(struct relief_ref_iter *it, struct relief_ref *out);

/* Sorts refs by (author, seq) and removes duplicates in place: the form a "sup" list
 * must have. *n is updated. */
void relief_refs_sort(struct relief_ref *refs, uint32_t *n);
/* Sorts by author and keeps, per author, only the highest seq, in place: the form a
 * "ctx" list must have. *n is updated. */
void relief_ctx_normalize(struct relief_ref *refs, uint32_t *n);
/* Ref <-> its 40 wire bytes. */
void relief_ref_pack(const struct relief_ref *r, uint8_t out[static RELIEF_REF_LEN]);
void relief_ref_unpack(const uint8_t in[static RELIEF_REF_LEN], struct relief_ref *r);

/* ---- Ops ---- */

/* A string inside an op: not NUL-terminated. Decoded ops point into the op's bytes. */
struct relief_str {
    const char *p;
    uint32_t len;
};

/* One line of a shipment op, on the wire [item, q, lot or nil, exp or nil, need or nil]
 * (PROTOCOL.md 10.4). lot.len 0: no lot; exp 0: no expiry; has_need 0: no need. */
struct relief_line {
    struct relief_str item;
    int64_t q;
    struct relief_str lot;
    uint32_t exp;
    int has_need;
    uint8_t need[RELIEF_ID_LEN];
};
/* The lines of an op: arr (n lines in memory, to encode) or mp (n validated lines in the
 * op's bytes, from decode). Read either with relief_lines_begin/next. */
struct relief_lines {
    uint32_t n;
    const struct relief_line *arr;
    const uint8_t *mp;
};
struct relief_line_iter {
    const struct relief_lines *l;
    uint32_t i;
    const uint8_t *p;
};
void relief_lines_begin(struct relief_line_iter *it, const struct relief_lines *l);
/* Stores the next line in *out (pointing into the op's bytes or the array) and returns 1,
 * or returns 0 at the end. */
int relief_lines_next(struct relief_line_iter *it, struct relief_line *out);

/*
 * One op. Which members mean something depends on type and on `has` (RELIEF_HAS bits of
 * the keys present). A decoded op points into the bytes given to relief_op_decode and
 * lives as long as they do. To build one: zero it, set type, the members and their has
 * bits (RELIEF_K_T is implied), then call relief_op_encode.
 */
struct relief_op {
    int type;                    /* enum relief_type */
    uint32_t has;                /* RELIEF_HAS(RELIEF_K_*) of every key present */
    struct relief_str site;      /* "slug" of a site op; "site" of need.open and stock ops */
    struct relief_str item;      /* "code" of an item op; "item" of need.open and stock ops */
    uint8_t need[RELIEF_ID_LEN]; /* "need": the need's id */
    struct relief_str name;
    int kind;         /* enum relief_site_kind */
    int ll_set;       /* "ll": 1 = lat/lon below, 0 = nil (clears the location) */
    int32_t lat, lon; /* micro-degrees */
    struct relief_str unit;
    struct relief_str cat;
    int64_t q;  /* 0 .. RELIEF_QTY_MAX (0 only in a count) */
    int pri;    /* enum relief_priority */
    int st;     /* enum relief_status: FULFILLED or CANCELLED */
    int reason; /* enum relief_reason */
    struct relief_str lot;
    uint32_t exp; /* days; 1 .. RELIEF_DAY_MAX */
    uint32_t by;  /* days; 1 .. RELIEF_DAY_MAX, or 0 = nil (need.upd: clears) */
    struct relief_str note;
    struct relief_refs ctx;
    struct relief_refs sup;
    /* succession (PROTOCOL.md 10.4): "old", "seq", "head", "osig" */
    uint8_t old[AM_PK_LEN];
    uint64_t oseq; /* 1 .. 2^63-1 */
    uint8_t head[AM_HASH_LEN];
    uint8_t osig[AM_SIG_LEN];
    /* shipments (PROTOCOL.md 10.4): "ship", "to", "ln", "doc"; "site" is where it leaves
     * (ship.new, ship.dsp) or arrives (ship.rcv) */
    uint8_t ship[RELIEF_ID_LEN];
    struct relief_str to;
    struct relief_lines ln;
    struct relief_str doc;
    struct relief_str pack; /* item.pack: "pack" (its units are "q", its item "code") */
    struct relief_str lang; /* item.name: "lang" (the name is "name", "" removes it) */
    /* decode: the bytes decoded (op, len), which a shipment's object keeps; NULL for an op
     * built in memory (one changed after decoding must be set back to NULL) */
    const uint8_t *raw;
    size_t raw_len;
};

/* The message a succession's "osig" signs (PROTOCOL.md §1, 10.4): the label (21 bytes
 * and one NUL) || new author (32) || be64(seq) || head (32). */
#define RELIEF_SUCC_LABEL     "aidmesh succession v1"
#define RELIEF_SUCC_LABEL_LEN 22 /* the label with its NUL */
#define RELIEF_SUCC_MSG_LEN   (RELIEF_SUCC_LABEL_LEN + AM_PK_LEN + 8 + AM_HASH_LEN)
void relief_succession_msg(const uint8_t new_author[static AM_PK_LEN], uint64_t seq,
                           const uint8_t head[static AM_HASH_LEN],
                           uint8_t out[static RELIEF_SUCC_MSG_LEN]);

/*
 * The checks of an op that need its entry's author (PROTOCOL.md 10.7, "Validation"):
 * relief_op_decode sees only the op's bytes. Only a succession has any: "old" must not be
 * `author` (a key cannot succeed itself) and "osig" must be old's signature over
 * relief_succession_msg(author, seq, head). Every other op passes. A function of the
 * entry's bytes, so every node reaches the same verdict. Returns AM_OK, AM_EMALFORMED
 * (old is the author) or AM_EBADSIG, with a sentence in err (nullable).
 */
int relief_op_check_author(const struct relief_op *op, const uint8_t author[static AM_PK_LEN],
                           char *err, size_t errcap);

/*
 * Validates and reads one op: `len` bytes holding exactly one msgpack map
 * (PROTOCOL.md 10.2, 10.4). Nothing is copied: *out points into `op`. On failure a
 * precise English sentence naming the field goes to err (errcap bytes, NUL-terminated,
 * truncated if need be; err may be NULL). Returns
 *   AM_OK;
 *   AM_EVERSION   the "t" is not a type this version knows (an op from a newer version:
 *                 views ignore it; not an error to report);
 *   AM_ELIMIT     over a limit: op size, a string length, a quantity, a list length;
 *   AM_EMALFORMED anything else: not a map, no "t", a missing, unknown or repeated key,
 *                 a wrong type, a value out of its set or range, a negative quantity.
 * Pure function of the bytes: every node gives the same verdict.
 */
int relief_op_decode(const uint8_t *op, size_t len, struct relief_op *out, char *err,
                     size_t errcap);
/* The same for the op of an entry that entry_decode accepted: entry_decode's msgpack
 * pass (mp_check) already covered the op with these limits, so it is not made again. The
 * verdict is relief_op_decode's on such bytes, and only such bytes may be passed. */
int relief_op_decode_entry_op(const uint8_t *op, size_t len, struct relief_op *out, char *err,
                              size_t errcap);

/*
 * Encodes `op` into buf[0..cap) with keys in the canonical order (enum relief_key_id),
 * each value in its shortest msgpack form, and then checks the result with
 * relief_op_decode, so it never produces an op that decode rejects. Sup lists must be
 * sorted (relief_refs_sort), ctx lists normalized (relief_ctx_normalize). Returns AM_OK
 * with *len set, AM_EINVAL (a value decode would refuse: err says which), AM_ELIMIT
 * (over a limit, or over cap).
 */
int relief_op_encode(const struct relief_op *op, uint8_t *buf, size_t cap, size_t *len, char *err,
                     size_t errcap);

/* ---- Objects and their keys ---- */

enum relief_obj_kind {
    RELIEF_OBJ_SITE = 's',
    RELIEF_OBJ_ITEM = 'i',
    RELIEF_OBJ_NEED = 'n',
    RELIEF_OBJ_CELL = 'c',
    RELIEF_OBJ_SUCC = 'u', /* the successions of one (old) key */
    RELIEF_OBJ_MIN = 'm',  /* the minimum level of an item at a site (stock.min) */
    RELIEF_OBJ_SHIP = 'p', /* a shipment (ship.*): its id in key.need */
    RELIEF_OBJ_PACK = 'k', /* a named pack of an item (item.pack): key.item, key.pack */
    RELIEF_OBJ_LNAME = 'l' /* an item's name in a language (item.name): key.item, key.lang */
};

/* The object an op belongs to. Unused members are zero; strings NUL-terminated. */
struct relief_key {
    int kind;                       /* enum relief_obj_kind */
    char site[RELIEF_SLUG_MAX + 1]; /* site: its slug; cell, minimum: its site */
    char item[RELIEF_SLUG_MAX + 1]; /* item: its code; cell, minimum: its item */
    char lot[RELIEF_SLUG_MAX + 1];  /* cell: "" for no lot */
    uint32_t exp;                   /* cell: 0 for no expiry */
    uint8_t need[RELIEF_ID_LEN];    /* need; shipment: its id */
    uint8_t author[AM_PK_LEN];      /* succession: the old key */
    char pack[RELIEF_SLUG_MAX + 1]; /* pack: its name (its item in item) */
    char lang[RELIEF_SLUG_MAX + 1]; /* name in a language: the code (its item in item) */
};

/* A need's id from the hash of its creating entry (entry_hash). */
void relief_need_id(const uint8_t hash[static AM_HASH_LEN], uint8_t id[static RELIEF_ID_LEN]);

/* The key of the object a decoded op belongs to. `hash` (the entry's hash) is needed for
 * need.open and ship.new only and may be NULL otherwise. Returns AM_OK or AM_EINVAL
 * (need.open or ship.new without hash, or an op that did not come from
 * relief_op_decode/encode). */
int relief_op_key(const struct relief_op *op, const uint8_t *hash, struct relief_key *key);

/* The stock cells a ship.dsp or ship.rcv also moves (PROTOCOL.md 10.7): the i-th distinct
 * (site, item, lot, exp) of its lines, in line order, into *key. Returns AM_OK, or
 * AM_ENOTFOUND when i is past the last one (or the op is of another type). */
int relief_op_cell(const struct relief_op *op, uint32_t i, struct relief_key *key);

/* Canonical bytes of a key (for LMDB keys and for sorting): kind byte, then
 *   site: slug;  item: code;  need: 16-byte id;
 *   cell: len(site) site len(item) item len(lot) lot exp (4 bytes, big-endian);
 *   succession: the old key (32 bytes);  minimum: len(site) site len(item) item;
 *   pack: len(item) item len(pack) pack;  name in a language: len(item) item len(lang) lang.
 * Returns AM_OK or AM_EINVAL (a key relief_op_key could not have made). */
int relief_key_encode(const struct relief_key *key, uint8_t out[static RELIEF_KEY_MAX],
                      size_t *len);
/* The inverse. Returns AM_OK or AM_EMALFORMED. */
int relief_key_decode(const uint8_t *in, size_t len, struct relief_key *key);

/*
 * Creation-time check of what an op refers to (PROTOCOL.md 10.7): the
 * site and item of need.open and stock ops (stock.min included), the need of need.upd/dlv/close.
 * `exists` answers 1 when the caller's view has the object (defined by some entry), else 0. Returns
 * AM_OK, or AM_ENOTFOUND with a sentence in err. Views never call this: an op from the network that
 * refers to an unknown object is applied as usual.
 */
int relief_op_check_refs(const struct relief_op *op,
                         int (*exists)(void *ctx, const struct relief_key *key), void *ctx,
                         char *err, size_t errcap);

/* ---- Object state ---- */

struct relief_obj;

/* A new, empty object for `key`. Returns NULL when out of memory or key is invalid. The
 * caller owns it and frees it with relief_obj_free (NULL is fine). */
struct relief_obj *relief_obj_new(const struct relief_key *key);
void relief_obj_free(struct relief_obj *o);
/* The object's key (lives as long as the object). */
const struct relief_key *relief_obj_key(const struct relief_obj *o);

/*
 * Adds one decoded op, written in entry `ref` stamped `hlc`, to the object's set.
 * `hash` is the entry's hash: needed for need.open and ship.new (checked against the
 * need's or shipment's id), may be NULL for every other op. A ship.dsp or ship.rcv also
 * applies to a cell its lines name (relief_op_cell): a shipment record (10.8.4). Copies
 * what it keeps: op and its bytes may go afterwards. Adding an op whose ref is already in
 * the set changes nothing. Views are recomputed lazily, so a batch of applies costs one
 * recomputation. Returns
 *   AM_OK      added, or already there;
 *   AM_EINVAL  the op belongs to another object (relief_op_key), seq is 0 or over
 *              2^63-1, need.open without a matching hash, a succession whose "old" is
 *              ref->author (pass only ops relief_op_check_author accepted: apply does not
 *              verify "osig"), or an op decode would refuse
 *              (only a few such checks are made: pass ops from relief_op_decode);
 *   AM_EFORK   the ref is in the set with other content (never happens with a store
 *              that keeps one entry per (author, seq)): nothing changes;
 *   AM_ELIMIT  the object holds 2^30 ops already;
 *   AM_ENOMEM  out of memory: nothing changes.
 */
int relief_obj_apply(struct relief_obj *o, const struct relief_op *op, const struct relief_ref *ref,
                     uint64_t hlc, const uint8_t *hash);

/* Optional: makes room for `n` ops in all (moves of a cell, deliveries of a need, writes
 * of a site or item), so rebuilding a view from a stored set of ops of known size does
 * not grow tables as it goes. Returns AM_OK, AM_ELIMIT (n over 2^30), AM_ENOMEM. */
int relief_obj_reserve(struct relief_obj *o, uint32_t n);

/* Number of distinct ops in the set. */
size_t relief_obj_nops(const struct relief_obj *o);

/* ---- Views. Pointers returned live until the next apply or free of the object. ---- */

/* One register value. Which members matter depends on the field. */
struct relief_val {
    int set;       /* 0: the write cleared the field ("ll" or "by" nil) */
    int64_t i;     /* Q: qty; BY: days; KIND/PRI/ST: the enum; LL: latitude */
    int64_t j;     /* LL: longitude */
    const char *s; /* NAME, UNIT, CAT, NOTE: NUL-terminated text, len bytes; else NULL */
    uint32_t len;
};
/* An unsuperseded write of a register. */
struct relief_head {
    struct relief_ref ref;
    uint64_t hlc;
    struct relief_val v;
};
struct relief_reg {
    uint32_t n_writes;               /* writes of this field in the set */
    uint32_t n_heads;                /* 0 when never written */
    int conflict;                    /* concurrent writes: n_heads > 1 (or a ref cycle) */
    const struct relief_head *heads; /* winner first, then by (hlc, author, seq) down */
};
/* The register `field` of a site, item or need. A writer names all heads' refs in "sup"
 * to supersede the current value. Returns AM_OK, AM_EINVAL (field not of this kind of
 * object), AM_ENOMEM. */
int relief_obj_reg(struct relief_obj *o, int field, struct relief_reg *out);

struct relief_need_view {
    int opened;                 /* the need.open is in the set */
    struct relief_ref open_ref; /* when opened */
    uint64_t open_hlc;
    const char *site, *item; /* when opened; else "" */
    int64_t delivered;       /* sum of distinct deliveries, saturated at INT64_MAX */
    uint32_t n_deliveries;
    int status;    /* displayed status, enum relief_status */
    int derived;   /* fulfilled because delivered >= q (status register open) */
    int saturated; /* the delivered sum hit INT64_MAX */
};
/* Returns AM_OK, AM_EINVAL (not a need), AM_ENOMEM. */
int relief_need_view(struct relief_obj *o, struct relief_need_view *out);

struct relief_count_ref {
    struct relief_ref ref;
    uint64_t hlc;
    int64_t q;
};
struct relief_move_ref {
    struct relief_ref ref;
    uint64_t hlc;
    int64_t delta; /* signed: the reason's sign times q */
    int reason;
};
struct relief_cell_view {
    int64_t value;      /* winner.q + moves not in its past (or sum of all moves) */
    int overdrawn;      /* value < 0: stored as is, never clamped */
    int count_conflict; /* two or more maximal counts (or a context cycle) */
    int saturated;      /* a sum left int64: value is INT64_MIN/INT64_MAX or inexact */
    uint32_t n_moves, n_counts;
    int has_winner;
    struct relief_count_ref winner;
    uint32_t n_maximal;                     /* maximal counts other than the winner */
    const struct relief_count_ref *maximal; /* by (hlc, author, seq) down */
    uint32_t n_audit;                       /* moves not in the winner's past, stamped before it */
    uint32_t n_audit_listed;                /* min(n_audit, RELIEF_AUDIT_MAX): the latest of them */
    const struct relief_move_ref *audit;    /* by (hlc, author, seq) up */
    int64_t after; /* sum of the moves not in the winner's past (all moves if none) */
};
/* Returns AM_OK, AM_EINVAL (not a cell), AM_ENOMEM. n_ship (below) counts the
 * shipment records of the cell, counted or not (PROTOCOL.md 10.8.4). */
int relief_cell_view(struct relief_obj *o, struct relief_cell_view *out);
/* Shipment records in a cell (ship.dsp, ship.rcv ops naming it), counted or not. */
uint32_t relief_cell_nship(const struct relief_obj *o);

/* One op of a shipment: present, its ref and stamp, and the op (decoded; pointing into
 * the object, valid until the next apply or free). */
struct relief_ship_op {
    int present;
    struct relief_ref ref;
    uint64_t hlc;
    struct relief_op op;
    const uint8_t *bytes; /* the op's bytes as in its entry (relief_op_encode of an op
                             built in memory) */
    size_t len;
};
struct relief_ship_view {
    int status;                 /* enum relief_ship_status; 0 before any op */
    struct relief_ship_op made; /* the ship.new */
    struct relief_ship_op dsp;  /* the dispatch that counts: least (hlc, author, seq) */
    struct relief_ship_op rcv;  /* the receipt that counts: least (hlc, author, seq) */
    struct relief_ship_op cxl;  /* the least cancel */
    uint32_t n_dsp, n_rcv, n_cxl;
    uint32_t n_dup;                     /* receipts that do not count (n_rcv - 1), listed: */
    const struct relief_count_ref *dup; /* the first RELIEF_AUDIT_MAX, ascending; q unused */
};
/* The view of a shipment (PROTOCOL.md 10.8.6). AM_OK, AM_EINVAL (not a shipment),
 * AM_ENOMEM. */
int relief_ship_view(struct relief_obj *o, struct relief_ship_view *out);

/* One succession of a key: the entry that holds it (its author is the new key) and what
 * it names of the old key's log. */
struct relief_successor {
    struct relief_ref ref; /* ref.author: the new key */
    uint64_t hlc;
    uint64_t seq;              /* the old key's head seq that the new key's node had */
    uint8_t head[AM_HASH_LEN]; /* that head entry's hash: which branch */
    int refused; /* 1: an earlier succession (in the order below) names the same head: one
                    successor per branch, so this one does not count */
};
/* The successions of a succession object (validated ops only: relief_op_check_author),
 * at most RELIEF_AUDIT_MAX of them, the first by (hlc, author, seq) ascending; *total
 * counts them all. Of those naming one head, only the first in that order counts: the
 * others are listed with `refused` set (PROTOCOL.md 10.4). Returns AM_OK, AM_EINVAL (not
 * a succession object), AM_ENOMEM. */
int relief_succession_view(struct relief_obj *o, const struct relief_successor **out, uint32_t *n,
                           uint32_t *total);

/*
 * Canonical msgpack bytes of the object's view (PROTOCOL.md 10.9): the same
 * bytes for the same set of ops, whatever the order or repetition of applies. Writes
 * into buf[0..cap); *len is the view's size, also when it does not fit. Returns AM_OK,
 * AM_ELIMIT (cap too small: call again with *len bytes), AM_ENOMEM.
 */
int relief_obj_dump(struct relief_obj *o, uint8_t *buf, size_t cap, size_t *len);

/*
 * The cell record (PROTOCOL.md section 7.1): a stock cell's moves and counts, canonical
 * (the same bytes for the same set of ops), a few bytes per op. relief_cell_save writes
 * it into buf[0..cap) with *len its size, also when it does not fit; AM_OK, AM_ELIMIT
 * (call again with *len bytes), AM_EINVAL (not a cell), AM_ENOMEM.
 * relief_cell_load applies the ops of a record to o, a cell (fresh from relief_obj_new,
 * or holding some of the same ops); AM_OK, AM_ECORRUPT (the bytes are not a record of
 * this cell), AM_EINVAL (not a cell), AM_ENOMEM.
 * relief_cell_record_authors: the authors of the record's ops, n x 32 bytes ascending,
 * pointing into p; AM_OK or AM_ECORRUPT.
 */
int relief_cell_save(const struct relief_obj *o, uint8_t *buf, size_t cap, size_t *len);
int relief_cell_load(struct relief_obj *o, const uint8_t *p, size_t len);
int relief_cell_record_authors(const uint8_t *p, size_t len, const uint8_t **authors, uint32_t *n);

/* ---- Dates and ids for people ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date. Returns AM_OK, or AM_EINVAL for a
 * date that does not exist or is outside 1970-01-02 .. 9999-12-31. */
int relief_day_from_ymd(int y, int m, int d, uint32_t *day);
void relief_day_to_ymd(uint32_t day, int *y, int *m, int *d);
/* "YYYY-MM-DD" <-> day. Parse returns AM_OK or AM_EINVAL. */
int relief_day_parse(const char *s, uint32_t *day);
void relief_day_format(uint32_t day, char out[static 11]);

/* Lowercase hex of a need id (33 bytes with the NUL). */
void relief_id_hex(const uint8_t id[static RELIEF_ID_LEN], char out[static 33]);
/* Hex digits to show for ids[i] so that no other id of ids[0..n) (sorted ascending,
 * distinct) shares the prefix: at least RELIEF_ID_SHORT_MIN, at most 32. */
unsigned relief_id_short_len(const uint8_t (*ids)[RELIEF_ID_LEN], size_t n, size_t i);

#endif
