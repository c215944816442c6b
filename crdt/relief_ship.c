/*
 * relief_ship.c: shipments (PROTOCOL.md 10.4, 10.8.4, 10.8.6). The lines of the ship.*
 * ops (strict reading and canonical writing), the shipment object (its ops as a set; the
 * view: the dispatch and the receipt that count, the status), and what a dispatch or a
 * receipt does to the stock cells its lines name: in each cell, of the records of one
 * shipment and one direction only the least by (hlc, author, seq) counts, so a shipment
 * received twice moves its stock once, on every node, whatever the order of arrival.
 * Pure: never prints, no clock, allocates only inside struct relief_obj.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "am_err.h"
#include "mp.h"
#include "relief_int.h"

#define GROW(arr, cap, need) relief_grow((void **)&(arr), &(cap), (need), sizeof *(arr))

static int is_ship(int type)
{
    return type >= RELIEF_T_SHIP_NEW && type <= RELIEF_T_SHIP_CXL;
}

/* ---- Lines: [item, q, lot or nil, exp or nil, need or nil] ---- */

void relief_lines_begin(struct relief_line_iter *it, const struct relief_lines *l)
{
    it->l = l;
    it->i = 0;
    it->p = l->mp;
}

/* Reads one line of validated bytes (relief_lines_read accepted them). */
static void line_get(struct mp_cur *c, struct relief_line *out)
{
    const uint8_t *p;
    uint32_t n;
    uint64_t u;
    int64_t i;

    memset(out, 0, sizeof *out);
    mp_get_array(c, &n);
    mp_get_str(c, &p, &n);
    out->item = (struct relief_str){(const char *)p, n};
    if (mp_peek(c) == 'u') {
        mp_get_uint(c, &u);
        out->q = (int64_t)u;
    } else {
        mp_get_int(c, &i);
        out->q = i;
    }
    if (mp_get_nil(c) != AM_OK) {
        mp_get_str(c, &p, &n);
        out->lot = (struct relief_str){(const char *)p, n};
    }
    if (mp_get_nil(c) != AM_OK) {
        if (mp_peek(c) == 'u') {
            mp_get_uint(c, &u);
        } else {
            mp_get_int(c, &i);
            u = (uint64_t)i;
        }
        out->exp = (uint32_t)u;
    }
    if (mp_get_nil(c) != AM_OK) {
        mp_get_bin(c, &p, &n);
        out->has_need = 1;
        memcpy(out->need, p, RELIEF_ID_LEN);
    }
}

int relief_lines_next(struct relief_line_iter *it, struct relief_line *out)
{
    struct mp_cur c;

    if (it->i >= it->l->n)
        return 0;
    if (it->l->arr) {
        *out = it->l->arr[it->i++];
        return 1;
    }
    c.p = it->p;
    c.end = it->p + AM_OP_MAX; /* validated bytes: the line ends well before */
    line_get(&c, out);
    it->p = c.p;
    it->i++;
    return 1;
}

/* A non-negative integer in any msgpack integer form: 1 and *v, 0 not an integer, -1 a
 * negative one (*neg). */
static int get_nonneg(struct mp_cur *c, uint64_t *v, int64_t *neg)
{
    int cls = mp_peek(c);
    int64_t i;
    if (cls == 'u')
        return mp_get_uint(c, v) == AM_OK;
    if (cls != 'i' || mp_get_int(c, &i) != AM_OK)
        return 0;
    if (i < 0) {
        *neg = i;
        return -1;
    }
    *v = (uint64_t)i;
    return 1;
}

int relief_lines_read(struct mp_cur *c, int type, struct relief_lines *out, char *err,
                      size_t errcap)
{
    const char *t = relief_type_name(type);
    uint32_t n;

    if (mp_get_array(c, &n) != AM_OK) {
        relief_seterr(err, errcap, "%s: \"ln\" must be an array of lines", t);
        return AM_EMALFORMED;
    }
    if (n == 0) {
        relief_seterr(err, errcap, "%s: \"ln\" must hold at least one line", t);
        return AM_EMALFORMED;
    }
    if (n > RELIEF_LINES_MAX) {
        relief_seterr(err, errcap, "%s: \"ln\" has %" PRIu32 " lines, over the limit of %d", t, n,
                      RELIEF_LINES_MAX);
        return AM_ELIMIT;
    }
    out->n = n;
    out->arr = NULL;
    out->mp = c->p;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p;
        uint32_t k, len;
        uint64_t v = 0;
        int64_t neg = 0;
        char q[64];
        int r;

        if (mp_get_array(c, &k) != AM_OK || k != 5) {
            relief_seterr(err, errcap,
                          "%s: line #%" PRIu32 " must be [item, q, lot or nil, exp or nil, "
                          "need or nil]",
                          t, i);
            return AM_EMALFORMED;
        }
        if (mp_get_str(c, &p, &len) != AM_OK || len == 0 || len > RELIEF_SLUG_MAX ||
            !relief_code_ok(p, len)) {
            if (mp_peek(c) == 0 || len == 0 || len > RELIEF_SLUG_MAX)
                relief_seterr(err, errcap,
                              "%s: line #%" PRIu32 ": the item must be an item code of 1 to %d "
                              "bytes",
                              t, i, RELIEF_SLUG_MAX);
            else {
                relief_quote(q, sizeof q, p, len);
                relief_seterr(err, errcap,
                              "%s: line #%" PRIu32 ": item %s must be a-z, 0-9, '.', '_' and "
                              "'-', starting with a letter or digit",
                              t, i, q);
            }
            return AM_EMALFORMED;
        }
        r = get_nonneg(c, &v, &neg);
        if (r < 0) {
            relief_seterr(err, errcap,
                          "%s: line #%" PRIu32 ": the quantity must not be negative (got %" PRId64
                          ")",
                          t, i, neg);
            return AM_EMALFORMED;
        }
        if (r == 0) {
            relief_seterr(err, errcap,
                          "%s: line #%" PRIu32 ": the quantity must be an integer (base units)", t,
                          i);
            return AM_EMALFORMED;
        }
        if (v > (uint64_t)RELIEF_QTY_MAX) {
            relief_seterr(err, errcap,
                          "%s: line #%" PRIu32 ": the quantity %" PRIu64
                          " is over the limit of %lld",
                          t, i, v, (long long)RELIEF_QTY_MAX);
            return AM_ELIMIT;
        }
        if (v == 0 && type != RELIEF_T_SHIP_RCV) {
            relief_seterr(err, errcap, "%s: line #%" PRIu32 ": the quantity must be at least 1", t,
                          i);
            return AM_EMALFORMED;
        }
        if (mp_get_nil(c) != AM_OK && (mp_get_str(c, &p, &len) != AM_OK || len == 0 ||
                                       len > RELIEF_SLUG_MAX || !relief_lot_ok(p, len))) {
            relief_seterr(err, errcap,
                          "%s: line #%" PRIu32 ": the lot must be nil or 1 to %d bytes of A-Z, "
                          "a-z, 0-9, '.', '_', '/' and '-', starting with a letter or digit",
                          t, i, RELIEF_SLUG_MAX);
            return AM_EMALFORMED;
        }
        if (mp_get_nil(c) != AM_OK) {
            if (type == RELIEF_T_SHIP_NEW) {
                relief_seterr(err, errcap,
                              "%s: line #%" PRIu32 ": the expiry must be nil (the dispatch "
                              "names the lots and their expiry)",
                              t, i);
                return AM_EMALFORMED;
            }
            if (get_nonneg(c, &v, &neg) != 1 || v < 1 || v > RELIEF_DAY_MAX) {
                relief_seterr(err, errcap,
                              "%s: line #%" PRIu32 ": the expiry must be nil or a day number "
                              "from 1 to %u",
                              t, i, RELIEF_DAY_MAX);
                return AM_EMALFORMED;
            }
        }
        if (mp_get_nil(c) != AM_OK && (mp_get_bin(c, &p, &len) != AM_OK || len != RELIEF_ID_LEN)) {
            relief_seterr(err, errcap,
                          "%s: line #%" PRIu32 ": the need must be nil or a bin of 16 bytes (a "
                          "need's id)",
                          t, i);
            return AM_EMALFORMED;
        }
    }
    return AM_OK;
}

void relief_lines_pack(struct msgpack_packer *pk, const struct relief_lines *l)
{
    struct relief_line_iter it;
    struct relief_line ln;

    msgpack_pack_array(pk, l->n);
    relief_lines_begin(&it, l);
    while (relief_lines_next(&it, &ln)) {
        msgpack_pack_array(pk, 5);
        msgpack_pack_str(pk, ln.item.len);
        msgpack_pack_str_body(pk, ln.item.p ? ln.item.p : "", ln.item.len);
        msgpack_pack_int64(pk, ln.q);
        if (ln.lot.len) {
            msgpack_pack_str(pk, ln.lot.len);
            msgpack_pack_str_body(pk, ln.lot.p, ln.lot.len);
        } else {
            msgpack_pack_nil(pk);
        }
        if (ln.exp)
            msgpack_pack_uint32(pk, ln.exp);
        else
            msgpack_pack_nil(pk);
        if (ln.has_need) {
            msgpack_pack_bin(pk, RELIEF_ID_LEN);
            msgpack_pack_bin_body(pk, ln.need, RELIEF_ID_LEN);
        } else {
            msgpack_pack_nil(pk);
        }
    }
}

/* ---- The cells a dispatch or a receipt moves ---- */

static int same_str(const struct relief_str *a, const struct relief_str *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static int copy_slug(char dst[static RELIEF_SLUG_MAX + 1], const struct relief_str *s)
{
    if (s->len > RELIEF_SLUG_MAX || (s->len && !s->p))
        return AM_EINVAL;
    if (s->len)
        memcpy(dst, s->p, s->len);
    dst[s->len] = 0;
    return AM_OK;
}

int relief_op_cell(const struct relief_op *op, uint32_t i, struct relief_key *key)
{
    struct relief_line_iter it, jt;
    struct relief_line a, b;
    uint32_t k = 0;

    if (op->type != RELIEF_T_SHIP_DSP && op->type != RELIEF_T_SHIP_RCV)
        return AM_ENOTFOUND;
    relief_lines_begin(&it, &op->ln);
    for (uint32_t x = 0; relief_lines_next(&it, &a); x++) {
        int seen = 0;
        relief_lines_begin(&jt, &op->ln);
        for (uint32_t y = 0; y < x && relief_lines_next(&jt, &b); y++)
            if (same_str(&a.item, &b.item) && same_str(&a.lot, &b.lot) && a.exp == b.exp) {
                seen = 1;
                break;
            }
        if (seen)
            continue;
        if (k++ < i)
            continue;
        memset(key, 0, sizeof *key);
        key->kind = RELIEF_OBJ_CELL;
        if (copy_slug(key->site, &op->site) != AM_OK || copy_slug(key->item, &a.item) != AM_OK ||
            copy_slug(key->lot, &a.lot) != AM_OK)
            return AM_ENOTFOUND;
        key->exp = a.exp;
        return AM_OK;
    }
    return AM_ENOTFOUND;
}

/* ---- References (creation time) ---- */

int relief_ship_check_refs(const struct relief_op *op,
                           int (*exists)(void *ctx, const struct relief_key *key), void *ctx,
                           char *err, size_t errcap)
{
    const char *t = relief_type_name(op->type);
    struct relief_line_iter it;
    struct relief_line ln;
    struct relief_key k;

    if (op->type != RELIEF_T_SHIP_NEW) {
        char hex[33];
        memset(&k, 0, sizeof k);
        k.kind = RELIEF_OBJ_SHIP;
        memcpy(k.need, op->ship, RELIEF_ID_LEN);
        if (!exists(ctx, &k)) {
            relief_id_hex(op->ship, hex);
            relief_seterr(err, errcap, "%s: shipment %s is not known here", t, hex);
            return AM_ENOTFOUND;
        }
        return AM_OK;
    }
    for (int w = 0; w < 2; w++) {
        memset(&k, 0, sizeof k);
        k.kind = RELIEF_OBJ_SITE;
        if (copy_slug(k.site, w ? &op->to : &op->site) != AM_OK)
            return AM_EINVAL;
        if (!exists(ctx, &k)) {
            relief_seterr(err, errcap, "%s: site \"%s\" is not defined (define it with a site op)",
                          t, k.site);
            return AM_ENOTFOUND;
        }
    }
    relief_lines_begin(&it, &op->ln);
    while (relief_lines_next(&it, &ln)) {
        memset(&k, 0, sizeof k);
        k.kind = RELIEF_OBJ_ITEM;
        if (copy_slug(k.item, &ln.item) != AM_OK)
            return AM_EINVAL;
        if (!exists(ctx, &k)) {
            relief_seterr(err, errcap, "%s: item \"%s\" is not defined (define it with an item op)",
                          t, k.item);
            return AM_ENOTFOUND;
        }
        if (ln.has_need) {
            char hex[33];
            memset(&k, 0, sizeof k);
            k.kind = RELIEF_OBJ_NEED;
            memcpy(k.need, ln.need, RELIEF_ID_LEN);
            if (!exists(ctx, &k)) {
                relief_id_hex(ln.need, hex);
                relief_seterr(err, errcap, "%s: need %s has not been opened here", t, hex);
                return AM_ENOTFOUND;
            }
        }
    }
    return AM_OK;
}

/* ---- Apply ---- */

int relief_cell_apply_ship(struct relief_obj *o, const uint8_t ship[RELIEF_ID_LEN], int rcv,
                           const struct relief_ref *ref, uint64_t hlc, int64_t q)
{
    struct relief_rslot *slot;
    uint32_t aidx;
    int rc;

    if (o->key.kind != RELIEF_OBJ_CELL || q < 0 || q > RELIEF_LINES_MAX * RELIEF_QTY_MAX || !ref ||
        ref->seq == 0 || ref->seq > INT64_MAX)
        return AM_EINVAL;
    if ((rc = relief_obj_intern(o, ref->author, &aidx)) != AM_OK ||
        (rc = relief_obj_ref_reserve(o, o->n_ops + 1)) != AM_OK)
        return rc;
    slot = relief_obj_slot(o, aidx, ref->seq);
    if (slot->v) {
        const struct relief_srec *r = &o->sr[(slot->v - 1) >> 2];
        return ((slot->v - 1) & 3) == RELIEF_TAG_W && r->hlc == hlc && r->q == q &&
                       r->rcv == (uint32_t)(rcv != 0) && !memcmp(r->ship, ship, RELIEF_ID_LEN)
                   ? AM_OK
                   : AM_EFORK;
    }
    if (o->n_ops >= (1u << 30) - 1)
        return AM_ELIMIT;
    if (GROW(o->sr, o->cap_sr, o->n_sr + 1) != AM_OK)
        return AM_ENOMEM;
    o->sr[o->n_sr] = (struct relief_srec){ref->seq, hlc, q, aidx, rcv != 0, {0}};
    memcpy(o->sr[o->n_sr].ship, ship, RELIEF_ID_LEN);
    slot->seq = ref->seq;
    slot->aidx = aidx;
    slot->v = (o->n_sr << 2 | RELIEF_TAG_W) + 1;
    o->n_sr++;
    o->n_ops++;
    o->dirty = 1;
    return AM_OK;
}

/* A dispatch or receipt into a cell: the sum of its lines naming the cell. */
static int apply_cell(struct relief_obj *o, const struct relief_op *op,
                      const struct relief_ref *ref, uint64_t hlc)
{
    const struct relief_key *k = &o->key;
    struct relief_line_iter it;
    struct relief_line ln;
    int64_t q = 0;
    int mine = 0;

    if (op->type != RELIEF_T_SHIP_DSP && op->type != RELIEF_T_SHIP_RCV)
        return AM_EINVAL;
    if (op->site.len != strlen(k->site) || memcmp(op->site.p, k->site, op->site.len) != 0)
        return AM_EINVAL;
    relief_lines_begin(&it, &op->ln);
    while (relief_lines_next(&it, &ln)) {
        if (ln.item.len != strlen(k->item) || memcmp(ln.item.p, k->item, ln.item.len) != 0 ||
            ln.lot.len != strlen(k->lot) || (ln.lot.len && memcmp(ln.lot.p, k->lot, ln.lot.len)) ||
            ln.exp != k->exp)
            continue;
        if (ln.q < 0 || ln.q > RELIEF_QTY_MAX)
            return AM_EINVAL;
        q += ln.q; /* at most RELIEF_LINES_MAX lines: no overflow */
        mine = 1;
    }
    if (!mine)
        return AM_EINVAL;
    return relief_cell_apply_ship(o, op->ship, op->type == RELIEF_T_SHIP_RCV, ref, hlc, q);
}

int relief_ship_apply(struct relief_obj *o, const struct relief_op *op,
                      const struct relief_ref *ref, uint64_t hlc, const uint8_t *hash)
{
    struct relief_rslot *slot;
    uint8_t enc[AM_OP_MAX];
    const uint8_t *bytes = op->raw;
    uint8_t *keep;
    size_t len = op->raw_len;
    uint32_t aidx;
    int rc;

    if (!is_ship(op->type) || !ref || ref->seq == 0 || ref->seq > INT64_MAX)
        return AM_EINVAL;
    if (o->key.kind == RELIEF_OBJ_CELL)
        return apply_cell(o, op, ref, hlc);
    if (o->key.kind != RELIEF_OBJ_SHIP)
        return AM_EINVAL;
    if (op->type == RELIEF_T_SHIP_NEW ? !hash || memcmp(o->key.need, hash, RELIEF_ID_LEN) != 0
                                      : memcmp(o->key.need, op->ship, RELIEF_ID_LEN) != 0)
        return AM_EINVAL;
    /* the op's bytes as its entry holds them (the same on every node); an op built in
     * memory: its encoding */
    if (!bytes || !len || len > AM_OP_MAX) {
        if ((rc = relief_op_encode(op, enc, sizeof enc, &len, NULL, 0)) != AM_OK)
            return rc == AM_ELIMIT ? AM_ELIMIT : AM_EINVAL;
        bytes = enc;
    }
    if ((rc = relief_obj_intern(o, ref->author, &aidx)) != AM_OK ||
        (rc = relief_obj_ref_reserve(o, o->n_ops + 1)) != AM_OK)
        return rc;
    slot = relief_obj_slot(o, aidx, ref->seq);
    if (slot->v) {
        const struct relief_prec *p = &o->p[(slot->v - 1) >> 2];
        return p->hlc == hlc && p->type == op->type && p->len == len &&
                       !memcmp(p->bytes, bytes, len)
                   ? AM_OK
                   : AM_EFORK;
    }
    if (o->n_ops >= (1u << 30) - 1)
        return AM_ELIMIT;
    if (GROW(o->p, o->cap_p, o->n_p + 1) != AM_OK || !(keep = malloc(len)))
        return AM_ENOMEM;
    memcpy(keep, bytes, len);
    o->p[o->n_p] = (struct relief_prec){ref->seq, hlc, aidx, op->type, keep, (uint32_t)len};
    slot->seq = ref->seq;
    slot->aidx = aidx;
    slot->v = (o->n_p << 2 | RELIEF_TAG_W) + 1;
    o->n_p++;
    o->n_ops++;
    o->dirty = 1;
    return AM_OK;
}

/* ---- Views ---- */

/* Order of shipment records in a cell: ship id, direction, then (hlc, author, seq). */
static int srec_cmp(const void *a, const void *b, void *ctx)
{
    const struct relief_obj *o = ctx;
    const struct relief_srec *x = &o->sr[*(const uint32_t *)a], *y = &o->sr[*(const uint32_t *)b];
    int c = memcmp(x->ship, y->ship, RELIEF_ID_LEN);
    if (c)
        return c;
    if (x->rcv != y->rcv)
        return x->rcv < y->rcv ? -1 : 1;
    return relief_obj_cmp(o, x->hlc, x->aidx, x->seq, y->hlc, y->aidx, y->seq);
}

int relief_cell_ship_moves(struct relief_obj *o)
{
    o->n_smv = 0;
    if (o->n_sr == 0)
        return AM_OK;
    if (GROW(o->sidx, o->cap_sidx, o->n_sr) != AM_OK || GROW(o->smv, o->cap_smv, o->n_sr) != AM_OK)
        return AM_ENOMEM;
    for (uint32_t i = 0; i < o->n_sr; i++)
        o->sidx[i] = i;
    qsort_r(o->sidx, o->n_sr, sizeof *o->sidx, srec_cmp, o);
    for (uint32_t i = 0; i < o->n_sr; i++) {
        const struct relief_srec *r = &o->sr[o->sidx[i]];
        if (i > 0) {
            const struct relief_srec *p = &o->sr[o->sidx[i - 1]];
            if (p->rcv == r->rcv && !memcmp(p->ship, r->ship, RELIEF_ID_LEN))
                continue; /* the least of its shipment and direction counts, only it */
        }
        o->smv[o->n_smv++] = (struct relief_mrec){r->seq, r->hlc, r->rcv ? r->q : -r->q, r->aidx,
                                                  r->rcv ? (uint32_t)RELIEF_R_TRANSFER_IN
                                                         : (uint32_t)RELIEF_R_TRANSFER_OUT};
    }
    return AM_OK;
}

uint32_t relief_cell_nship(const struct relief_obj *o)
{
    return o->key.kind == RELIEF_OBJ_CELL ? o->n_sr : 0;
}

static int prec_less(const struct relief_obj *o, const struct relief_prec *a,
                     const struct relief_prec *b)
{
    return relief_obj_cmp(o, a->hlc, a->aidx, a->seq, b->hlc, b->aidx, b->seq) < 0;
}

/* The step's ref, stamp and bytes; its op is decoded when a view is asked for. */
static void set_op(const struct relief_obj *o, struct relief_ship_op *s,
                   const struct relief_prec *p)
{
    s->present = 1;
    relief_obj_ref(o, p->aidx, p->seq, &s->ref);
    s->hlc = p->hlc;
    s->bytes = p->bytes;
    s->len = p->len;
}

static int dup_cmp(const void *a, const void *b)
{
    const struct relief_count_ref *x = a, *y = b;
    int c;
    if (x->hlc != y->hlc)
        return x->hlc < y->hlc ? -1 : 1;
    if ((c = memcmp(x->ref.author, y->ref.author, AM_PK_LEN)))
        return c;
    return x->ref.seq < y->ref.seq ? -1 : x->ref.seq > y->ref.seq;
}

int relief_ship_compute(struct relief_obj *o)
{
    struct relief_ship_view *v = &o->ship;
    const struct relief_prec *best[RELIEF_T_SHIP_CXL - RELIEF_T_SHIP_NEW + 1] = {NULL};
    uint32_t nd = 0;

    memset(v, 0, sizeof *v);
    for (uint32_t i = 0; i < o->n_p; i++) {
        const struct relief_prec *p = &o->p[i];
        int k = p->type - RELIEF_T_SHIP_NEW;
        if (!best[k] || prec_less(o, p, best[k]))
            best[k] = p;
        v->n_dsp += p->type == RELIEF_T_SHIP_DSP;
        v->n_rcv += p->type == RELIEF_T_SHIP_RCV;
        v->n_cxl += p->type == RELIEF_T_SHIP_CXL;
    }
    if (best[0])
        set_op(o, &v->made, best[0]);
    if (best[1])
        set_op(o, &v->dsp, best[1]);
    if (best[2])
        set_op(o, &v->rcv, best[2]);
    if (best[3])
        set_op(o, &v->cxl, best[3]);
    /* the receipts that do not count: every one but the least */
    if (v->n_rcv > 1) {
        if (GROW(o->sdup, o->cap_sdup, v->n_rcv) != AM_OK)
            return AM_ENOMEM;
        for (uint32_t i = 0; i < o->n_p; i++) {
            const struct relief_prec *p = &o->p[i];
            if (p->type != RELIEF_T_SHIP_RCV || p == best[2])
                continue;
            relief_obj_ref(o, p->aidx, p->seq, &o->sdup[nd].ref);
            o->sdup[nd].hlc = p->hlc;
            o->sdup[nd].q = 0;
            nd++;
        }
        qsort(o->sdup, nd, sizeof *o->sdup, dup_cmp);
    }
    v->n_dup = nd;
    v->dup = o->sdup;
    v->status = v->rcv.present    ? RELIEF_SHIP_RECEIVED
                : v->cxl.present  ? RELIEF_SHIP_CANCELLED
                : v->dsp.present  ? RELIEF_SHIP_DISPATCHED
                : v->made.present ? RELIEF_SHIP_CREATED
                                  : 0;
    return AM_OK;
}

int relief_ship_view(struct relief_obj *o, struct relief_ship_view *out)
{
    int rc;
    if (o->key.kind != RELIEF_OBJ_SHIP)
        return AM_EINVAL;
    if ((rc = relief_obj_compute(o)) != AM_OK)
        return rc;
    *out = o->ship;
    /* the ops, decoded from bytes that decoded when they were applied */
    {
        struct relief_ship_op *st[4] = {&out->made, &out->dsp, &out->rcv, &out->cxl};
        for (int i = 0; i < 4; i++)
            if (st[i]->present &&
                relief_op_decode(st[i]->bytes, st[i]->len, &st[i]->op, NULL, 0) != AM_OK)
                return AM_EINVAL;
    }
    return AM_OK;
}

static void pk_key(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pk_ref(msgpack_packer *pk, const struct relief_ref *r)
{
    uint8_t b[RELIEF_REF_LEN];
    relief_ref_pack(r, b);
    msgpack_pack_bin(pk, RELIEF_REF_LEN);
    msgpack_pack_bin_body(pk, b, RELIEF_REF_LEN);
}

/* [ref, hlc, op (bin: its canonical bytes)] or nil */
static void pk_sop(msgpack_packer *pk, const struct relief_ship_op *s)
{
    if (!s->present) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_array(pk, 3);
    pk_ref(pk, &s->ref);
    msgpack_pack_uint64(pk, s->hlc);
    msgpack_pack_bin(pk, s->len);
    msgpack_pack_bin_body(pk, s->bytes, s->len);
}

/* PROTOCOL.md 10.9, "Shipment": a map of 11. */
void relief_ship_dump(struct relief_obj *o, struct msgpack_packer *pk)
{
    const struct relief_ship_view *v = &o->ship;
    uint32_t nl = v->n_dup < RELIEF_AUDIT_MAX ? v->n_dup : RELIEF_AUDIT_MAX;

    msgpack_pack_map(pk, 11);
    pk_key(pk, "k");
    pk_key(pk, "ship");
    pk_key(pk, "id");
    msgpack_pack_bin(pk, RELIEF_ID_LEN);
    msgpack_pack_bin_body(pk, o->key.need, RELIEF_ID_LEN);
    pk_key(pk, "status");
    pk_key(pk, v->status ? relief_ship_status_name(v->status) : "");
    pk_key(pk, "new");
    pk_sop(pk, &v->made);
    pk_key(pk, "dsp");
    pk_sop(pk, &v->dsp);
    pk_key(pk, "ndsp");
    msgpack_pack_uint32(pk, v->n_dsp);
    pk_key(pk, "rcv");
    pk_sop(pk, &v->rcv);
    pk_key(pk, "nrcv");
    msgpack_pack_uint32(pk, v->n_rcv);
    pk_key(pk, "dup");
    msgpack_pack_array(pk, nl);
    for (uint32_t i = 0; i < nl; i++) {
        msgpack_pack_array(pk, 2);
        pk_ref(pk, &v->dup[i].ref);
        msgpack_pack_uint64(pk, v->dup[i].hlc);
    }
    pk_key(pk, "cxl");
    pk_sop(pk, &v->cxl);
    pk_key(pk, "ncxl");
    msgpack_pack_uint32(pk, v->n_cxl);
}

void relief_ship_free(struct relief_obj *o)
{
    for (uint32_t i = 0; i < o->n_p; i++)
        free(o->p[i].bytes);
    free(o->p);
    free(o->sr);
    free(o->sdup);
    free(o->smv);
    free(o->sidx);
}
