/*
 * relief_int.h: internals shared by the relief_*.c files; not part of the API.
 * Nothing here prints, allocates outside struct relief_obj, or keeps global state.
 */
#ifndef AM_RELIEF_INT_H
#define AM_RELIEF_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "relief.h"

/* ---- Text ---- */

/* snprintf into err (when err and errcap are non-zero). */
void relief_seterr(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Untrusted bytes as a quoted, escaped C string of at most ~40 characters into out. */
void relief_quote(char *out, size_t cap, const uint8_t *p, size_t n);

/* Names, units and notes follow the rule of printable text: am_text.h. */
/* Identifier alphabets; first byte always [a-z0-9] (lot: [A-Za-z0-9]). */
int relief_slug_ok(const uint8_t *p, size_t n); /* [a-z0-9-] */
int relief_code_ok(const uint8_t *p, size_t n); /* [a-z0-9._-] */
int relief_lang_ok(const uint8_t *p, size_t n); /* [a-z]{2,3} (RELIEF_LANG_MAX) */
int relief_lot_ok(const uint8_t *p, size_t n);  /* [A-Za-z0-9._/-] */

/* Index of p[0..n) in a NULL-terminated table of names, 1-based; 0 when absent. */
int relief_lookup(const char *const *names, const uint8_t *p, size_t n);
extern const char *const relief_type_names[];   /* [0] unused */
extern const char *const relief_kind_names[];   /* [0] unused */
extern const char *const relief_pri_names[];    /* [0] unused */
extern const char *const relief_status_names[]; /* [0] unused */
extern const char *const relief_reason_names[]; /* [0] unused */
extern const char *const relief_key_names[];    /* by enum relief_key_id */

/* ---- msgpack-c writing into a fixed buffer that also counts what did not fit ---- */

struct relief_wbuf {
    uint8_t *p;
    size_t len; /* bytes the packer asked to write */
    size_t cap;
};
int relief_wbuf_write(void *data, const char *buf, size_t len);

/* ---- Object state (relief_obj.c, relief_cell.c, relief_dump.c) ---- */

/* A ref whose author is interned in the object's author table. */
struct relief_aref {
    uint64_t seq;
    uint32_t aidx;
};

/* One op's writes to registers (site, item, need.open/upd/close). */
struct relief_wrec {
    uint64_t seq, hlc;
    uint32_t aidx;
    uint32_t mask;                       /* 1u << RELIEF_F_* written by this op */
    uint32_t sup_off, sup_n;             /* into obj->arefs */
    struct relief_val v[RELIEF_F_COUNT]; /* strings malloc'd, owned */
};

struct relief_drec { /* a delivery */
    uint64_t seq, hlc;
    int64_t q;
    uint32_t aidx;
};

struct relief_mrec { /* a stock move */
    uint64_t seq, hlc;
    int64_t delta;
    uint32_t aidx;
    uint32_t reason;
};

struct relief_crec { /* a stock count; its ctx never names its own author */
    uint64_t seq, hlc;
    int64_t q;
    uint32_t aidx;
    uint32_t ctx_off, ctx_n; /* into obj->arefs */
};

struct relief_urec { /* a succession; in the ref index under RELIEF_TAG_D (no deliveries there) */
    uint64_t seq, hlc;
    uint64_t oseq;
    uint32_t aidx;
    uint8_t head[AM_HASH_LEN];
};

/* An op of a shipment (a shipment object only): its bytes as its entry holds them (the
 * encoding of an op built in memory), owned; in the ref index under RELIEF_TAG_W (no
 * register writes there). */
struct relief_prec {
    uint64_t seq, hlc;
    uint32_t aidx;
    int type;
    uint8_t *bytes;
    uint32_t len;
};

/* What a ship.dsp or ship.rcv does to one cell (a cell object only): q, the sum of the
 * op's lines naming the cell (0 .. RELIEF_LINES_MAX x RELIEF_QTY_MAX); in the ref index
 * under RELIEF_TAG_W (no register writes in a cell). */
struct relief_srec {
    uint64_t seq, hlc;
    int64_t q;
    uint32_t aidx;
    uint32_t rcv; /* 0: a dispatch (out of the cell), 1: a receipt (into it) */
    uint8_t ship[RELIEF_ID_LEN];
};

/* Slot of the ref index: (seq, aidx) -> (index << 2 | tag) + 1; slot 0 = empty. */
enum { RELIEF_TAG_W = 0, RELIEF_TAG_D = 1, RELIEF_TAG_M = 2, RELIEF_TAG_C = 3 };
struct relief_rslot {
    uint64_t seq;
    uint32_t aidx;
    uint32_t v;
};

/* A sort key that carries the author bytes, so qsort needs no context. */
struct relief_skey {
    uint64_t hlc, seq;
    const uint8_t *author;
    uint32_t idx;
};

/* Computed register of one field (cache). */
struct relief_regc {
    uint32_t n_writes, off, n_heads;
    int conflict;
};

struct relief_obj {
    struct relief_key key;

    /* interned authors and their hash index (slot = aidx + 1) */
    uint8_t (*authors)[AM_PK_LEN];
    uint32_t n_authors, cap_authors;
    uint32_t *aslots;
    uint32_t cap_aslots; /* power of two */

    /* ref index over every op in the set */
    struct relief_rslot *rslots;
    uint32_t cap_rslots; /* power of two */
    uint32_t n_ops;

    struct relief_aref *arefs; /* pool: sup lists and count contexts */
    uint32_t n_arefs, cap_arefs;

    struct relief_wrec *w;
    uint32_t n_w, cap_w;
    struct relief_drec *d;
    uint32_t n_d, cap_d;
    struct relief_mrec *m;
    uint32_t n_m, cap_m;
    struct relief_crec *c;
    uint32_t n_c, cap_c;
    struct relief_urec *u; /* successions (a succession object only) */
    uint32_t n_u, cap_u;
    struct relief_prec *p; /* shipment ops (a shipment only) */
    uint32_t n_p, cap_p;
    struct relief_srec *sr; /* shipment records (a cell only) */
    uint32_t n_sr, cap_sr;

    /* need.open */
    int opened;
    uint32_t open_w; /* index in w */
    char open_site[RELIEF_SLUG_MAX + 1], open_item[RELIEF_SLUG_MAX + 1];

    /* view cache, valid while !dirty */
    int dirty;
    struct relief_regc regs[RELIEF_F_COUNT];
    struct relief_head *heads;
    uint32_t n_heads, cap_heads;
    struct relief_need_view need;
    struct relief_cell_view cell;
    struct relief_count_ref *maximal;
    uint32_t cap_maximal;
    struct relief_move_ref audit[RELIEF_AUDIT_MAX];
    struct relief_successor *succ; /* the first successions, ascending (RELIEF_AUDIT_MAX) */
    uint32_t n_succ, cap_succ;
    struct relief_ship_view ship;  /* a shipment */
    struct relief_count_ref *sdup; /* its receipts that do not count */
    uint32_t cap_sdup;
    struct relief_mrec *smv; /* a cell: its counted shipment records, as moves */
    uint32_t n_smv, cap_smv;
    uint32_t *sidx; /* scratch of relief_ship.c */
    uint32_t cap_sidx;

    /* scratch */
    uint64_t *lim; /* per author */
    uint32_t cap_lim;
    struct relief_aref *named;
    uint32_t cap_named;
    uint32_t *idx;
    uint32_t cap_idx;
    struct relief_skey *skeys;
    uint32_t cap_skeys;
};

/* Fields of each object kind, as a mask of 1u << RELIEF_F_*. */
uint32_t relief_obj_fields(int kind);
/* Makes the view cache valid (relief_obj.c; for a cell it calls relief_cell_compute).
 * Returns AM_OK or AM_ENOMEM. */
int relief_obj_compute(struct relief_obj *o);
/* Computes the cell part of the cache (relief_cell.c). Called only by relief_obj_compute:
 * relief_obj.c calls into relief_cell.c, never the reverse; what both need is below. */
int relief_cell_compute(struct relief_obj *o);

/* The ref index and author table of relief_obj.c, for relief_ship.c: intern an author
 * (AM_OK, AM_ENOMEM); make room for n ops in the index (AM_OK, AM_ENOMEM); the slot of
 * (aidx, seq), empty (v == 0) or holding it; call after reserving. */
int relief_obj_intern(struct relief_obj *o, const uint8_t *a, uint32_t *aidx);
int relief_obj_ref_reserve(struct relief_obj *o, uint32_t n);
struct relief_rslot *relief_obj_slot(const struct relief_obj *o, uint32_t aidx, uint64_t seq);

/* ---- Shipments (relief_ship.c; PROTOCOL.md 10.4, 10.8.4, 10.8.6) ---- */

struct mp_cur;
struct msgpack_packer;
/* Reads and validates the "ln" of an op of `type` at c (the rules of 10.4); AM_OK,
 * AM_ELIMIT, AM_EMALFORMED with a sentence in err. */
int relief_lines_read(struct mp_cur *c, int type, struct relief_lines *out, char *err,
                      size_t errcap);
void relief_lines_pack(struct msgpack_packer *pk, const struct relief_lines *l);
/* relief_op_check_refs for the ship.* types. */
int relief_ship_check_refs(const struct relief_op *op,
                           int (*exists)(void *ctx, const struct relief_key *key), void *ctx,
                           char *err, size_t errcap);
/* relief_obj_apply of a ship.* op: to its shipment, or to a cell its lines name. */
int relief_ship_apply(struct relief_obj *o, const struct relief_op *op,
                      const struct relief_ref *ref, uint64_t hlc, const uint8_t *hash);
/* A shipment record into a cell (apply, and the cell record's load). AM_OK, AM_EFORK,
 * AM_ELIMIT, AM_ENOMEM, AM_EINVAL (q out of range). */
int relief_cell_apply_ship(struct relief_obj *o, const uint8_t ship[RELIEF_ID_LEN], int rcv,
                           const struct relief_ref *ref, uint64_t hlc, int64_t q);
/* The counted shipment records of a cell as moves (10.8.4), into o->smv. */
int relief_cell_ship_moves(struct relief_obj *o);
/* The view of a shipment into o->ship (relief_obj_compute). */
int relief_ship_compute(struct relief_obj *o);
void relief_ship_dump(struct relief_obj *o, struct msgpack_packer *pk);
void relief_ship_free(struct relief_obj *o);

/* ---- Helpers of relief_obj.c and relief_cell.c (inline, so neither calls the other) ---- */

/* Grows *p (elements of size sz) to hold at least `need`; AM_OK or AM_ENOMEM, and then *p
 * and *cap are unchanged. */
static inline int relief_grow(void **p, uint32_t *cap, uint32_t need, size_t sz)
{
    uint32_t c = *cap ? *cap : 8;
    void *q;

    if (need <= *cap)
        return AM_OK;
    while (c < need) {
        if (c > UINT32_MAX / 2)
            return AM_ENOMEM;
        c *= 2;
    }
    if ((size_t)c > SIZE_MAX / sz)
        return AM_ENOMEM;
    q = realloc(*p, (size_t)c * sz);
    if (!q)
        return AM_ENOMEM;
    *p = q;
    *cap = c;
    return AM_OK;
}

/* The full ref of an interned one. */
static inline void relief_obj_ref(const struct relief_obj *o, uint32_t aidx, uint64_t seq,
                                  struct relief_ref *out)
{
    memcpy(out->author, o->authors[aidx], AM_PK_LEN);
    out->seq = seq;
}

/* Order by (hlc, author bytes, seq): <0, 0, >0. */
static inline int relief_obj_cmp(const struct relief_obj *o, uint64_t hlc_a, uint32_t aidx_a,
                                 uint64_t seq_a, uint64_t hlc_b, uint32_t aidx_b, uint64_t seq_b)
{
    int c;
    if (hlc_a != hlc_b)
        return hlc_a < hlc_b ? -1 : 1;
    if (aidx_a != aidx_b && (c = memcmp(o->authors[aidx_a], o->authors[aidx_b], AM_PK_LEN)))
        return c;
    return seq_a < seq_b ? -1 : seq_a > seq_b;
}

/* qsort order of struct relief_skey, descending (hlc, author, seq): the display order of
 * heads and maximal counts. */
static inline int relief_skey_cmp_desc(const void *a, const void *b)
{
    const struct relief_skey *x = a, *y = b;
    int c;
    if (x->hlc != y->hlc)
        return x->hlc > y->hlc ? -1 : 1;
    if ((c = memcmp(x->author, y->author, AM_PK_LEN)))
        return -c;
    return x->seq > y->seq ? -1 : x->seq < y->seq;
}

#endif
