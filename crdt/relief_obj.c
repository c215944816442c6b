/*
 * relief_obj.c: the set of ops of one object (site, item, need or stock cell), and the
 * causal registers and need status computed from it (PROTOCOL.md 10.8, "Merge rules").
 *
 * The state is a set: adding an op is idempotent and commutes with every other add, and
 * every view is computed from the whole set with total orders only, so any order of
 * arrival gives the same view. The views (relief_obj_reg, relief_need_view,
 * relief_cell_view) are computed here, a stock cell's by relief_cell.c, which never calls
 * back into this file. Never prints; allocates only inside the object, and on failure
 * leaves the object as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "relief_int.h"

#define GROW(arr, cap, need) relief_grow((void **)&(arr), &(cap), (need), sizeof *(arr))

uint32_t relief_obj_fields(int kind)
{
    switch (kind) {
    case RELIEF_OBJ_SITE:
        return 1u << RELIEF_F_NAME | 1u << RELIEF_F_KIND | 1u << RELIEF_F_LL;
    case RELIEF_OBJ_ITEM:
        return 1u << RELIEF_F_NAME | 1u << RELIEF_F_UNIT | 1u << RELIEF_F_CAT;
    case RELIEF_OBJ_NEED:
        return 1u << RELIEF_F_Q | 1u << RELIEF_F_PRI | 1u << RELIEF_F_NOTE | 1u << RELIEF_F_BY |
               1u << RELIEF_F_ST;
    case RELIEF_OBJ_MIN:
    case RELIEF_OBJ_PACK:
        return 1u << RELIEF_F_Q;
    case RELIEF_OBJ_LNAME:
        return 1u << RELIEF_F_NAME;
    default:
        return 0;
    }
}

struct relief_obj *relief_obj_new(const struct relief_key *key)
{
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl;
    struct relief_obj *o;

    if (relief_key_encode(key, kb, &kl) != AM_OK)
        return NULL;
    o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    relief_key_decode(kb, kl, &o->key); /* a clean copy: unused members zero */
    o->dirty = 1;
    return o;
}

void relief_obj_free(struct relief_obj *o)
{
    if (!o)
        return;
    for (uint32_t i = 0; i < o->n_w; i++)
        for (int f = 0; f < RELIEF_F_COUNT; f++)
            free((char *)o->w[i].v[f].s);
    free(o->authors);
    free(o->aslots);
    free(o->rslots);
    free(o->arefs);
    free(o->w);
    free(o->d);
    free(o->m);
    free(o->c);
    free(o->u);
    free(o->succ);
    free(o->heads);
    free(o->maximal);
    free(o->lim);
    free(o->named);
    free(o->idx);
    free(o->skeys);
    relief_ship_free(o);
    free(o);
}

const struct relief_key *relief_obj_key(const struct relief_obj *o)
{
    return &o->key;
}

size_t relief_obj_nops(const struct relief_obj *o)
{
    return o->n_ops;
}

/* ---- Hash indexes (deterministic: no seed; their order never reaches a view) ---- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t author_hash(const uint8_t *a)
{
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = (h << 8) | a[i];
    return mix(h);
}

static uint32_t *author_slot(const struct relief_obj *o, const uint8_t *a)
{
    uint32_t mask = o->cap_aslots - 1, i = (uint32_t)author_hash(a) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t s = o->aslots[i];
        if (s == 0 || memcmp(o->authors[s - 1], a, AM_PK_LEN) == 0)
            return &o->aslots[i];
    }
}

static int author_intern(struct relief_obj *o, const uint8_t *a, uint32_t *aidx)
{
    uint32_t *slot;

    if ((uint64_t)(o->n_authors + 1) * 2 > o->cap_aslots) {
        uint32_t cap = o->cap_aslots ? o->cap_aslots * 2 : 16;
        uint32_t *old = o->aslots, oldcap = o->cap_aslots;
        if (cap > (1u << 30))
            return AM_ENOMEM;
        o->aslots = calloc(cap, sizeof *o->aslots);
        if (!o->aslots) {
            o->aslots = old;
            return AM_ENOMEM;
        }
        o->cap_aslots = cap;
        for (uint32_t i = 0; i < oldcap; i++)
            if (old[i])
                *author_slot(o, o->authors[old[i] - 1]) = old[i];
        free(old);
    }
    slot = author_slot(o, a);
    if (*slot) {
        *aidx = *slot - 1;
        return AM_OK;
    }
    if (GROW(o->authors, o->cap_authors, o->n_authors + 1) != AM_OK ||
        GROW(o->lim, o->cap_lim, o->n_authors + 1) != AM_OK)
        return AM_ENOMEM;
    memcpy(o->authors[o->n_authors], a, AM_PK_LEN);
    *slot = ++o->n_authors;
    *aidx = *slot - 1;
    return AM_OK;
}

static struct relief_rslot *ref_slot(const struct relief_obj *o, uint32_t aidx, uint64_t seq)
{
    uint32_t mask = o->cap_rslots - 1;
    uint32_t i = (uint32_t)mix(seq * 0x9e3779b97f4a7c15ULL ^ aidx) & mask;
    for (;; i = (i + 1) & mask) {
        struct relief_rslot *s = &o->rslots[i];
        if (s->v == 0 || (s->seq == seq && s->aidx == aidx))
            return s;
    }
}

/* Makes room in the ref index for `n` ops in all. */
static int ref_reserve(struct relief_obj *o, uint32_t n)
{
    uint32_t cap, oldcap = o->cap_rslots;
    struct relief_rslot *old = o->rslots;

    if ((uint64_t)n * 2 <= o->cap_rslots)
        return AM_OK;
    cap = oldcap ? oldcap : 16;
    while ((uint64_t)n * 2 > cap) {
        if (cap >= (1u << 31))
            return AM_ENOMEM;
        cap *= 2;
    }
    o->rslots = calloc(cap, sizeof *o->rslots);
    if (!o->rslots) {
        o->rslots = old;
        return AM_ENOMEM;
    }
    o->cap_rslots = cap;
    for (uint32_t i = 0; i < oldcap; i++)
        if (old[i].v)
            *ref_slot(o, old[i].aidx, old[i].seq) = old[i];
    free(old);
    return AM_OK;
}

int relief_obj_reserve(struct relief_obj *o, uint32_t n)
{
    if (n > (1u << 30))
        return AM_ELIMIT;
    if (ref_reserve(o, n) != AM_OK)
        return AM_ENOMEM;
    switch (o->key.kind) {
    case RELIEF_OBJ_CELL:
        return GROW(o->m, o->cap_m, n);
    case RELIEF_OBJ_NEED:
        return GROW(o->d, o->cap_d, n);
    case RELIEF_OBJ_SUCC:
        return GROW(o->u, o->cap_u, n);
    default:
        return GROW(o->w, o->cap_w, n) == AM_OK ? GROW(o->idx, o->cap_idx, n) : AM_ENOMEM;
    }
}

int relief_obj_intern(struct relief_obj *o, const uint8_t *a, uint32_t *aidx)
{
    return author_intern(o, a, aidx);
}

int relief_obj_ref_reserve(struct relief_obj *o, uint32_t n)
{
    return ref_reserve(o, n);
}

struct relief_rslot *relief_obj_slot(const struct relief_obj *o, uint32_t aidx, uint64_t seq)
{
    return ref_slot(o, aidx, seq);
}

/* ---- Apply ---- */

static int id_equal(const char *id, const struct relief_str *s)
{
    return s->len <= RELIEF_SLUG_MAX && (s->len == 0 || memcmp(id, s->p, s->len) == 0) &&
           id[s->len] == 0;
}

/* Whether op belongs to this object (what relief_op_key would say, without building a
 * key: this runs once per op). */
static int op_is_mine(const struct relief_obj *o, const struct relief_op *op, const uint8_t *hash)
{
    const struct relief_key *k = &o->key;
    switch (op->type) {
    case RELIEF_T_SITE:
        return k->kind == RELIEF_OBJ_SITE && op->site.len && id_equal(k->site, &op->site);
    case RELIEF_T_ITEM:
        return k->kind == RELIEF_OBJ_ITEM && op->item.len && id_equal(k->item, &op->item);
    case RELIEF_T_NEED_OPEN:
        return k->kind == RELIEF_OBJ_NEED && hash && memcmp(k->need, hash, RELIEF_ID_LEN) == 0;
    case RELIEF_T_NEED_UPD:
    case RELIEF_T_NEED_DLV:
    case RELIEF_T_NEED_CLOSE:
        return k->kind == RELIEF_OBJ_NEED && memcmp(k->need, op->need, RELIEF_ID_LEN) == 0;
    case RELIEF_T_STOCK_MOVE:
    case RELIEF_T_STOCK_COUNT: {
        static const struct relief_str none = {"", 0};
        int lot = (op->has & RELIEF_HAS(RELIEF_K_LOT)) != 0;
        int exp = (op->has & RELIEF_HAS(RELIEF_K_EXP)) != 0;
        return k->kind == RELIEF_OBJ_CELL && op->site.len && op->item.len &&
               id_equal(k->site, &op->site) && id_equal(k->item, &op->item) &&
               id_equal(k->lot, lot ? &op->lot : &none) && k->exp == (exp ? op->exp : 0);
    }
    case RELIEF_T_SUCCESSION:
        return k->kind == RELIEF_OBJ_SUCC && memcmp(k->author, op->old, AM_PK_LEN) == 0;
    case RELIEF_T_STOCK_MIN:
        return k->kind == RELIEF_OBJ_MIN && op->site.len && op->item.len &&
               id_equal(k->site, &op->site) && id_equal(k->item, &op->item);
    case RELIEF_T_ITEM_PACK:
        return k->kind == RELIEF_OBJ_PACK && op->item.len && op->pack.len &&
               id_equal(k->item, &op->item) && id_equal(k->pack, &op->pack);
    case RELIEF_T_ITEM_NAME:
        return k->kind == RELIEF_OBJ_LNAME && op->item.len && op->lang.len &&
               id_equal(k->item, &op->item) && id_equal(k->lang, &op->lang);
    default:
        return 0;
    }
}

/* Interns a ref list into the pool at [n_arefs, n_arefs + *n) without committing it.
 * `skip_aidx` (ctx) drops the entry of the op's own author. */
static int stage_refs(struct relief_obj *o, const struct relief_refs *l, uint32_t skip_aidx,
                      int skip, uint32_t *n)
{
    struct relief_ref_iter it;
    struct relief_ref r;
    uint32_t k = 0;
    int rc;

    if (GROW(o->arefs, o->cap_arefs, o->n_arefs + l->n) != AM_OK)
        return AM_ENOMEM;
    relief_refs_begin(&it, l);
    while (relief_refs_next(&it, &r)) {
        uint32_t a;
        if ((rc = author_intern(o, r.author, &a)) != AM_OK)
            return rc;
        if (skip && a == skip_aidx)
            continue;
        o->arefs[o->n_arefs + k].aidx = a;
        o->arefs[o->n_arefs + k].seq = r.seq;
        k++;
    }
    *n = k;
    return AM_OK;
}

static int arefs_equal(const struct relief_obj *o, uint32_t off_a, uint32_t off_b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (o->arefs[off_a + i].aidx != o->arefs[off_b + i].aidx ||
            o->arefs[off_a + i].seq != o->arefs[off_b + i].seq)
            return 0;
    return 1;
}

static void set_text(struct relief_val *v, const struct relief_str *s)
{
    v->set = 1;
    v->s = s->p ? s->p : "";
    v->len = s->p ? s->len : 0;
}

/* The register writes of an op, with strings still pointing into the op. */
static void proto_writes(const struct relief_op *op, struct relief_wrec *w)
{
    uint32_t has = op->has;
    struct relief_str empty = {"", 0};

#define WR(f) (w->mask |= 1u << (f), &w->v[f])
    switch (op->type) {
    case RELIEF_T_SITE:
        if (has & RELIEF_HAS(RELIEF_K_NAME))
            set_text(WR(RELIEF_F_NAME), &op->name);
        if (has & RELIEF_HAS(RELIEF_K_KIND))
            *WR(RELIEF_F_KIND) = (struct relief_val){.set = 1, .i = op->kind};
        if (has & RELIEF_HAS(RELIEF_K_LL))
            *WR(RELIEF_F_LL) = (struct relief_val){
                .set = op->ll_set, .i = op->ll_set ? op->lat : 0, .j = op->ll_set ? op->lon : 0};
        break;
    case RELIEF_T_ITEM_NAME: /* "": the name in that language is removed */
        set_text(WR(RELIEF_F_NAME), &op->name);
        break;
    case RELIEF_T_ITEM:
        if (has & RELIEF_HAS(RELIEF_K_NAME))
            set_text(WR(RELIEF_F_NAME), &op->name);
        if (has & RELIEF_HAS(RELIEF_K_UNIT))
            set_text(WR(RELIEF_F_UNIT), &op->unit);
        if (has & RELIEF_HAS(RELIEF_K_CAT))
            set_text(WR(RELIEF_F_CAT), &op->cat);
        break;
    case RELIEF_T_NEED_OPEN: /* writes every register of the need */
        *WR(RELIEF_F_Q) = (struct relief_val){.set = 1, .i = op->q};
        *WR(RELIEF_F_PRI) = (struct relief_val){.set = 1, .i = op->pri};
        set_text(WR(RELIEF_F_NOTE), (has & RELIEF_HAS(RELIEF_K_NOTE)) ? &op->note : &empty);
        *WR(RELIEF_F_BY) = (struct relief_val){.set = op->by != 0, .i = op->by};
        *WR(RELIEF_F_ST) = (struct relief_val){.set = 1, .i = RELIEF_ST_OPEN};
        break;
    case RELIEF_T_NEED_UPD:
        if (has & RELIEF_HAS(RELIEF_K_Q))
            *WR(RELIEF_F_Q) = (struct relief_val){.set = 1, .i = op->q};
        if (has & RELIEF_HAS(RELIEF_K_PRI))
            *WR(RELIEF_F_PRI) = (struct relief_val){.set = 1, .i = op->pri};
        if (has & RELIEF_HAS(RELIEF_K_NOTE))
            set_text(WR(RELIEF_F_NOTE), &op->note);
        if (has & RELIEF_HAS(RELIEF_K_BY))
            *WR(RELIEF_F_BY) = (struct relief_val){.set = op->by != 0, .i = op->by};
        break;
    case RELIEF_T_NEED_CLOSE:
        *WR(RELIEF_F_ST) = (struct relief_val){.set = 1, .i = op->st};
        if (has & RELIEF_HAS(RELIEF_K_NOTE))
            set_text(WR(RELIEF_F_NOTE), &op->note);
        break;
    case RELIEF_T_STOCK_MIN: /* q 0: no minimum */
    case RELIEF_T_ITEM_PACK: /* q 0: the pack is removed */
        *WR(RELIEF_F_Q) = (struct relief_val){.set = 1, .i = op->q};
        break;
    default:
        break;
    }
#undef WR
}

static int vals_equal(const struct relief_wrec *a, const struct relief_wrec *b)
{
    if (a->mask != b->mask || a->hlc != b->hlc)
        return 0;
    for (int f = 0; f < RELIEF_F_COUNT; f++) {
        const struct relief_val *x = &a->v[f], *y = &b->v[f];
        if (!(a->mask & (1u << f)))
            continue;
        if (x->set != y->set || x->i != y->i || x->j != y->j || x->len != y->len ||
            (x->len && memcmp(x->s, y->s, x->len) != 0))
            return 0;
    }
    return 1;
}

/* Compares an op with the record already stored under its ref. */
static int same_content(struct relief_obj *o, const struct relief_op *op, uint32_t v,
                        const struct relief_wrec *nw, uint32_t staged_n, uint64_t hlc)
{
    uint32_t tag = (v - 1) & 3, idx = (v - 1) >> 2;

    switch (tag) {
    case RELIEF_TAG_W: {
        const struct relief_wrec *w = &o->w[idx];
        int is_open = o->opened && o->open_w == idx;
        if (!vals_equal(w, nw) || w->sup_n != staged_n ||
            !arefs_equal(o, w->sup_off, o->n_arefs, staged_n))
            return 0;
        if ((op->type == RELIEF_T_NEED_OPEN) != is_open)
            return 0;
        return !is_open || (strlen(o->open_site) == op->site.len &&
                            memcmp(o->open_site, op->site.p, op->site.len) == 0 &&
                            strlen(o->open_item) == op->item.len &&
                            memcmp(o->open_item, op->item.p, op->item.len) == 0);
    }
    case RELIEF_TAG_D:
        if (o->key.kind == RELIEF_OBJ_SUCC)
            return op->type == RELIEF_T_SUCCESSION && o->u[idx].hlc == hlc &&
                   o->u[idx].oseq == op->oseq && !memcmp(o->u[idx].head, op->head, AM_HASH_LEN);
        return op->type == RELIEF_T_NEED_DLV && o->d[idx].hlc == hlc && o->d[idx].q == op->q;
    case RELIEF_TAG_M:
        return op->type == RELIEF_T_STOCK_MOVE && o->m[idx].hlc == hlc &&
               o->m[idx].reason == (uint32_t)op->reason &&
               o->m[idx].delta == relief_reason_sign(op->reason) * op->q;
    default:
        return op->type == RELIEF_T_STOCK_COUNT && o->c[idx].hlc == hlc && o->c[idx].q == op->q &&
               o->c[idx].ctx_n == staged_n &&
               arefs_equal(o, o->c[idx].ctx_off, o->n_arefs, staged_n);
    }
}

static int insert_writes(struct relief_obj *o, const struct relief_op *op, struct relief_wrec *nw)
{
    struct relief_wrec *w;
    int f;

    if (GROW(o->w, o->cap_w, o->n_w + 1) != AM_OK || GROW(o->idx, o->cap_idx, o->n_w + 1) != AM_OK)
        return AM_ENOMEM;
    w = &o->w[o->n_w];
    *w = *nw;
    for (f = 0; f < RELIEF_F_COUNT; f++) {
        char *s;
        if (!(w->mask & (1u << f)) || !nw->v[f].s) {
            w->v[f].s = NULL;
            continue;
        }
        s = malloc((size_t)nw->v[f].len + 1);
        if (!s)
            break;
        memcpy(s, nw->v[f].s, nw->v[f].len);
        s[nw->v[f].len] = 0;
        w->v[f].s = s;
    }
    if (f < RELIEF_F_COUNT) {
        for (int g = 0; g < f; g++)
            free((char *)w->v[g].s);
        return AM_ENOMEM;
    }
    if (op->type == RELIEF_T_NEED_OPEN) {
        memcpy(o->open_site, op->site.p, op->site.len);
        o->open_site[op->site.len] = 0;
        memcpy(o->open_item, op->item.p, op->item.len);
        o->open_item[op->item.len] = 0;
        o->opened = 1;
        o->open_w = o->n_w;
    }
    o->n_w++;
    return AM_OK;
}

int relief_obj_apply(struct relief_obj *o, const struct relief_op *op, const struct relief_ref *ref,
                     uint64_t hlc, const uint8_t *hash)
{
    struct relief_wrec nw;
    struct relief_rslot *slot;
    uint32_t aidx, staged = 0, idx, tag;
    int rc;

    if (!ref || ref->seq == 0 || ref->seq > INT64_MAX)
        return AM_EINVAL;
    if (op->type >= RELIEF_T_SHIP_NEW && op->type <= RELIEF_T_SHIP_CXL)
        return relief_ship_apply(o, op, ref, hlc, hash); /* relief_ship.c */
    if (!op_is_mine(o, op, hash))
        return AM_EINVAL;
    /* a key never succeeds itself (relief_op_check_author, which also checks "osig") */
    if (op->type == RELIEF_T_SUCCESSION &&
        (memcmp(op->old, ref->author, AM_PK_LEN) == 0 || op->oseq < 1 || op->oseq > INT64_MAX))
        return AM_EINVAL;
    /* the sums rely on these; a decoded op always has them */
    if (op->q < 0 || op->q > RELIEF_QTY_MAX ||
        (op->type == RELIEF_T_STOCK_MOVE && relief_reason_sign(op->reason) == 0))
        return AM_EINVAL;
    if ((rc = author_intern(o, ref->author, &aidx)) != AM_OK)
        return rc;
    if (op->type == RELIEF_T_STOCK_COUNT)
        rc = stage_refs(o, &op->ctx, aidx, 1, &staged);
    else if (op->has & RELIEF_HAS(RELIEF_K_SUP))
        rc = stage_refs(o, &op->sup, 0, 0, &staged);
    if (rc != AM_OK)
        return rc;

    /* register writes: prepared only for ops that have them */
    nw.mask = 0;
    if (op->type != RELIEF_T_NEED_DLV && op->type != RELIEF_T_STOCK_MOVE &&
        op->type != RELIEF_T_STOCK_COUNT && op->type != RELIEF_T_SUCCESSION)
        memset(&nw, 0, sizeof nw);
    nw.seq = ref->seq;
    nw.hlc = hlc;
    nw.aidx = aidx;
    nw.sup_off = o->n_arefs;
    nw.sup_n = staged;
    proto_writes(op, &nw);

    if ((rc = ref_reserve(o, o->n_ops + 1)) != AM_OK)
        return rc;
    slot = ref_slot(o, aidx, ref->seq);
    if (slot->v)
        return same_content(o, op, slot->v, &nw, staged, hlc) ? AM_OK : AM_EFORK;
    if (o->n_ops >= (1u << 30) - 1)
        return AM_ELIMIT;

    switch (op->type) {
    case RELIEF_T_NEED_DLV:
        if (GROW(o->d, o->cap_d, o->n_d + 1) != AM_OK)
            return AM_ENOMEM;
        o->d[o->n_d] = (struct relief_drec){ref->seq, hlc, op->q, aidx};
        idx = o->n_d++;
        tag = RELIEF_TAG_D;
        break;
    case RELIEF_T_STOCK_MOVE:
        if (GROW(o->m, o->cap_m, o->n_m + 1) != AM_OK)
            return AM_ENOMEM;
        o->m[o->n_m] = (struct relief_mrec){ref->seq, hlc, relief_reason_sign(op->reason) * op->q,
                                            aidx, (uint32_t)op->reason};
        idx = o->n_m++;
        tag = RELIEF_TAG_M;
        break;
    case RELIEF_T_STOCK_COUNT:
        if (GROW(o->c, o->cap_c, o->n_c + 1) != AM_OK)
            return AM_ENOMEM;
        o->c[o->n_c] = (struct relief_crec){ref->seq, hlc, op->q, aidx, o->n_arefs, staged};
        o->n_arefs += staged;
        idx = o->n_c++;
        tag = RELIEF_TAG_C;
        break;
    case RELIEF_T_SUCCESSION:
        if (GROW(o->u, o->cap_u, o->n_u + 1) != AM_OK)
            return AM_ENOMEM;
        o->u[o->n_u] =
            (struct relief_urec){.seq = ref->seq, .hlc = hlc, .oseq = op->oseq, .aidx = aidx};
        memcpy(o->u[o->n_u].head, op->head, AM_HASH_LEN);
        idx = o->n_u++;
        tag = RELIEF_TAG_D;
        break;
    default:
        if ((rc = insert_writes(o, op, &nw)) != AM_OK)
            return rc;
        o->n_arefs += staged;
        idx = o->n_w - 1;
        tag = RELIEF_TAG_W;
        break;
    }
    slot->seq = ref->seq;
    slot->aidx = aidx;
    slot->v = (idx << 2 | tag) + 1;
    o->n_ops++;
    o->dirty = 1;
    return AM_OK;
}

/* ---- Registers ---- */

static int aref_cmp(const void *a, const void *b)
{
    const struct relief_aref *x = a, *y = b;
    if (x->aidx != y->aidx)
        return x->aidx < y->aidx ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int val_eq(const struct relief_val *a, const struct relief_val *b)
{
    if (a->set != b->set)
        return 0;
    if (!a->set)
        return 1;
    if (a->i != b->i || a->j != b->j || a->len != b->len || !a->s != !b->s)
        return 0;
    return !a->s || memcmp(a->s, b->s, a->len) == 0;
}

static int compute_reg(struct relief_obj *o, int f)
{
    struct relief_regc *rc = &o->regs[f];
    uint32_t n = 0, nn = 0, nh = 0;
    struct relief_skey *keys;

    memset(rc, 0, sizeof *rc);
    rc->off = o->n_heads;
    for (uint32_t i = 0; i < o->n_w; i++)
        if (o->w[i].mask & (1u << f))
            o->idx[n++] = i;
    rc->n_writes = n;
    if (n == 0)
        return AM_OK;

    /* refs named by a write of this field (other than itself), and each author's latest
     * write of it: a write is superseded by either */
    for (uint32_t i = 0; i < n; i++)
        nn += o->w[o->idx[i]].sup_n;
    if (GROW(o->named, o->cap_named, nn + 1) != AM_OK)
        return AM_ENOMEM;
    nn = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct relief_wrec *w = &o->w[o->idx[i]];
        o->lim[w->aidx] = 0;
        for (uint32_t j = 0; j < w->sup_n; j++) {
            const struct relief_aref *r = &o->arefs[w->sup_off + j];
            if (r->aidx != w->aidx || r->seq != w->seq)
                o->named[nn++] = *r;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct relief_wrec *w = &o->w[o->idx[i]];
        if (w->seq > o->lim[w->aidx])
            o->lim[w->aidx] = w->seq;
    }
    qsort(o->named, nn, sizeof *o->named, aref_cmp);
    for (uint32_t i = 0; i < n; i++) {
        const struct relief_wrec *w = &o->w[o->idx[i]];
        struct relief_aref me = {w->seq, w->aidx};
        if (o->lim[w->aidx] > w->seq || bsearch(&me, o->named, nn, sizeof me, aref_cmp))
            continue;
        o->idx[nh++] = o->idx[i];
    }
    if (nh == 0) {
        /* every write superseded: only a cycle of refs does that, which no honest device
         * makes. Show the greatest write by (hlc, author, seq), flagged. */
        uint32_t best = o->idx[0];
        for (uint32_t i = 0; i < o->n_w; i++) {
            const struct relief_wrec *w = &o->w[i], *b = &o->w[best];
            if ((w->mask & (1u << f)) &&
                relief_obj_cmp(o, w->hlc, w->aidx, w->seq, b->hlc, b->aidx, b->seq) > 0)
                best = i;
        }
        o->idx[0] = best;
        nh = 1;
        rc->conflict = 1;
    } else {
        rc->conflict = nh > 1;
    }

    if (GROW(o->heads, o->cap_heads, o->n_heads + nh) != AM_OK)
        return AM_ENOMEM;
    if (GROW(o->skeys, o->cap_skeys, nh) != AM_OK)
        return AM_ENOMEM;
    keys = o->skeys;
    for (uint32_t i = 0; i < nh; i++) {
        const struct relief_wrec *w = &o->w[o->idx[i]];
        keys[i] = (struct relief_skey){w->hlc, w->seq, o->authors[w->aidx], o->idx[i]};
    }
    qsort(keys, nh, sizeof *keys, relief_skey_cmp_desc);
    for (uint32_t i = 0; i < nh; i++) {
        const struct relief_wrec *w = &o->w[keys[i].idx];
        struct relief_head *h = &o->heads[o->n_heads + i];
        relief_obj_ref(o, w->aidx, w->seq, &h->ref);
        h->hlc = w->hlc;
        h->v = w->v[f];
    }
    if (rc->conflict && nh > 1) {
        /* concurrent writes of one value (two laptops adding the same site) agree */
        const struct relief_head *h0 = &o->heads[o->n_heads];
        uint32_t same = 1;
        while (same < nh && val_eq(&h0->v, &h0[same].v))
            same++;
        rc->conflict = same < nh;
    }
    o->n_heads += nh;
    rc->n_heads = nh;
    return AM_OK;
}

static void compute_need(struct relief_obj *o)
{
    struct relief_need_view *v = &o->need;
    const struct relief_regc *st = &o->regs[RELIEF_F_ST], *q = &o->regs[RELIEF_F_Q];
    int64_t sum = 0;

    memset(v, 0, sizeof *v);
    v->opened = o->opened;
    v->site = o->opened ? o->open_site : "";
    v->item = o->opened ? o->open_item : "";
    if (o->opened) {
        relief_obj_ref(o, o->w[o->open_w].aidx, o->w[o->open_w].seq, &v->open_ref);
        v->open_hlc = o->w[o->open_w].hlc;
    }
    /* a sum of non-negative terms saturates the same way in every order */
    for (uint32_t i = 0; i < o->n_d; i++) {
        if (o->d[i].q > INT64_MAX - sum) {
            sum = INT64_MAX;
            v->saturated = 1;
        } else {
            sum += o->d[i].q;
        }
    }
    v->delivered = sum;
    v->n_deliveries = o->n_d;
    v->status = st->n_heads ? (int)o->heads[st->off].v.i : RELIEF_ST_OPEN;
    if (v->status == RELIEF_ST_OPEN && q->n_heads && sum >= o->heads[q->off].v.i) {
        v->status = RELIEF_ST_FULFILLED;
        v->derived = 1;
    }
}

/* The successions in (hlc, author, seq) order, the first RELIEF_AUDIT_MAX kept. Those
 * kept are a prefix of the order, so whether an earlier one names the same head (one
 * successor per branch: a later one is refused) is decided among them alone. */
static int compute_succ(struct relief_obj *o)
{
    uint32_t n = o->n_u, keep = n < RELIEF_AUDIT_MAX ? n : RELIEF_AUDIT_MAX;
    struct relief_skey *keys;

    o->n_succ = 0;
    if (n == 0)
        return AM_OK;
    if (GROW(o->skeys, o->cap_skeys, n) != AM_OK || GROW(o->succ, o->cap_succ, keep) != AM_OK)
        return AM_ENOMEM;
    keys = o->skeys;
    for (uint32_t i = 0; i < n; i++)
        keys[i] = (struct relief_skey){o->u[i].hlc, o->u[i].seq, o->authors[o->u[i].aidx], i};
    qsort(keys, n, sizeof *keys, relief_skey_cmp_desc);
    for (uint32_t i = 0; i < keep; i++) { /* ascending: from the end of the descending list */
        const struct relief_urec *u = &o->u[keys[n - 1 - i].idx];
        struct relief_successor *s = &o->succ[i];
        relief_obj_ref(o, u->aidx, u->seq, &s->ref);
        s->hlc = u->hlc;
        s->seq = u->oseq;
        memcpy(s->head, u->head, AM_HASH_LEN);
        s->refused = 0;
        for (uint32_t j = 0; j < i && !s->refused; j++)
            s->refused = memcmp(o->succ[j].head, s->head, AM_HASH_LEN) == 0;
    }
    o->n_succ = keep;
    return AM_OK;
}

int relief_obj_compute(struct relief_obj *o)
{
    uint32_t fields = relief_obj_fields(o->key.kind);
    int rc;

    if (!o->dirty)
        return AM_OK;
    o->n_heads = 0;
    if (o->key.kind == RELIEF_OBJ_CELL) {
        if ((rc = relief_cell_compute(o)) != AM_OK)
            return rc;
    } else if (o->key.kind == RELIEF_OBJ_SUCC) {
        if ((rc = compute_succ(o)) != AM_OK)
            return rc;
    } else if (o->key.kind == RELIEF_OBJ_SHIP) {
        if ((rc = relief_ship_compute(o)) != AM_OK)
            return rc;
    } else {
        for (int f = 0; f < RELIEF_F_COUNT; f++)
            if ((fields & (1u << f)) && (rc = compute_reg(o, f)) != AM_OK)
                return rc;
        if (o->key.kind == RELIEF_OBJ_NEED)
            compute_need(o);
    }
    o->dirty = 0;
    return AM_OK;
}

int relief_obj_reg(struct relief_obj *o, int field, struct relief_reg *out)
{
    int rc;
    if (field < 0 || field >= RELIEF_F_COUNT || !(relief_obj_fields(o->key.kind) & (1u << field)))
        return AM_EINVAL;
    if ((rc = relief_obj_compute(o)) != AM_OK)
        return rc;
    out->n_writes = o->regs[field].n_writes;
    out->n_heads = o->regs[field].n_heads;
    out->conflict = o->regs[field].conflict;
    out->heads = o->n_heads ? &o->heads[o->regs[field].off] : NULL;
    return AM_OK;
}

int relief_need_view(struct relief_obj *o, struct relief_need_view *out)
{
    int rc;
    if (o->key.kind != RELIEF_OBJ_NEED)
        return AM_EINVAL;
    if ((rc = relief_obj_compute(o)) != AM_OK)
        return rc;
    *out = o->need;
    return AM_OK;
}

int relief_cell_view(struct relief_obj *o, struct relief_cell_view *out)
{
    int rc;
    if (o->key.kind != RELIEF_OBJ_CELL)
        return AM_EINVAL;
    if ((rc = relief_obj_compute(o)) != AM_OK)
        return rc;
    *out = o->cell;
    return AM_OK;
}

int relief_succession_view(struct relief_obj *o, const struct relief_successor **out, uint32_t *n,
                           uint32_t *total)
{
    int rc;
    if (o->key.kind != RELIEF_OBJ_SUCC)
        return AM_EINVAL;
    if ((rc = relief_obj_compute(o)) != AM_OK)
        return rc;
    *out = o->succ;
    *n = o->n_succ;
    *total = o->n_u;
    return AM_OK;
}
