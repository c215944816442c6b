/*
 * store_views.c: the relief views of the store (PROTOCOL.md section 7.1, "View
 * databases"): for every site, item, need and stock cell, its canonical view
 * (relief_obj_dump) and the record of its ops it is rebuilt from (an ops record, or a
 * cell record from relief_save.c), the listing indexes, the invalid ops, and an additive
 * fingerprint over all views. Part of the store module (store_int.h).
 *
 * This file holds the view databases and the pieces the other views files share
 * (store_views_int.h): the fingerprint arithmetic, the counts, the index keys, the ops
 * and refs records, loading an object, and writing one object's view with its index
 * entries (in a live update gathered, then applied in key order: views_idx_flush) and
 * fingerprint term. The live update and its cache are in store_views_update.c,
 * the rebuild (store_reindex) in store_views_rebuild.c, the reads in store_views_read.c.
 *
 * Kept in the write transaction of the entries they come from (views_update, called by
 * store.c before it commits), and rebuilt from the entries alone by store_reindex with a
 * byte-identical result: a view is a pure function of its object's set of ops.
 *
 * Must never: let a view depend on the order or batching of arrival, change anything
 * outside the transaction it is given (the in-memory cache holds only committed states,
 * checked against the stored view before use), or drop an invalid op without recording
 * it. Never prints.
 */
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <sodium.h>

#include "am_err.h"
#include "am_grow.h"
#include "am_varint.h"
#include "entry.h"
#include "relief.h"
#include "store_int.h"
#include "store_views.h"
#include "store_views_int.h"

/* ---- fingerprint arithmetic: 256-bit little-endian integers mod 2^256 ---- */

void views_fp_add(uint8_t sum[TERM_LEN], const uint8_t t[TERM_LEN])
{
    unsigned c = 0;
    for (int i = 0; i < TERM_LEN; i++) {
        c += (unsigned)sum[i] + t[i];
        sum[i] = (uint8_t)c;
        c >>= 8;
    }
}

static void fp_sub(uint8_t sum[TERM_LEN], const uint8_t t[TERM_LEN])
{
    int b = 0;
    for (int i = 0; i < TERM_LEN; i++) {
        int d = (int)sum[i] - t[i] - b;
        b = d < 0;
        sum[i] = (uint8_t)(d + (b ? 256 : 0));
    }
}

/* BLAKE2b-256(len(key) || key || view): one object's term of the fingerprint sum. */
void views_fp_term(const uint8_t *key, size_t klen, const uint8_t *view, size_t vlen,
                   uint8_t t[TERM_LEN])
{
    crypto_generichash_state st;
    uint8_t l = (uint8_t)klen;
    crypto_generichash_init(&st, NULL, 0, TERM_LEN);
    crypto_generichash_update(&st, &l, 1);
    crypto_generichash_update(&st, key, klen);
    crypto_generichash_update(&st, view, vlen);
    crypto_generichash_final(&st, t, TERM_LEN);
}

/* The fingerprint shown to people: BLAKE2b-128(be64(objects) || sum). */
void views_fp_show(const uint8_t sum[TERM_LEN], uint64_t objects, uint8_t out[STORE_VIEW_FP_LEN])
{
    crypto_generichash_state st;
    uint8_t n[8];
    store_be64_put(n, objects);
    crypto_generichash_init(&st, NULL, 0, STORE_VIEW_FP_LEN);
    crypto_generichash_update(&st, n, 8);
    crypto_generichash_update(&st, sum, TERM_LEN);
    crypto_generichash_final(&st, out, STORE_VIEW_FP_LEN);
}

/* ---- databases ---- */

int views_open_dbs(struct store *s, MDB_txn *txn, unsigned dbflags)
{
    int rc;
    if ((rc = mdb_dbi_open(txn, "vrefs", dbflags, &s->vrefs)) != 0 ||
        (rc = mdb_dbi_open(txn, "views", dbflags, &s->views)) != 0 ||
        (rc = mdb_dbi_open(txn, "vneeds", dbflags, &s->vneeds)) != 0 ||
        (rc = mdb_dbi_open(txn, "vcells", dbflags, &s->vcells)) != 0 ||
        (rc = mdb_dbi_open(txn, "vinvalid", dbflags, &s->vinvalid)) != 0)
        return rc;
    /* views made before format 9 lack these: read-only, the queries do without them */
    rc = mdb_dbi_open(txn, "vorder", dbflags, &s->vorder);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "vdup", dbflags, &s->vdup);
    s->has_order = rc == 0;
    return rc == MDB_NOTFOUND && s->read_only ? 0 : rc;
}

int views_current(struct store *s, MDB_txn *txn)
{
    MDB_val v;
    int rc = store_meta_get(txn, s, "views_format", &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    return v.mv_size == 1 && *(const uint8_t *)v.mv_data == VIEWS_FORMAT;
}

static int kind_slot(int kind)
{
    switch (kind) {
    case RELIEF_OBJ_SITE:
        return 0;
    case RELIEF_OBJ_ITEM:
        return 1;
    case RELIEF_OBJ_NEED:
        return 2;
    case RELIEF_OBJ_CELL:
        return 3;
    default:
        return -1; /* successions: not one of the four counts */
    }
}

void views_counts_read(struct store *s, MDB_txn *txn, struct vcounts *vc)
{
    MDB_val v;
    memset(vc, 0, sizeof *vc);
    if (store_meta_get(txn, s, "view_counts", &v) == 0 && v.mv_size == 32)
        for (int i = 0; i < 4; i++)
            vc->n[i] = store_be64_get((const uint8_t *)v.mv_data + 8 * i);
}

int views_counts_write(struct store *s, MDB_txn *txn, const struct vcounts *vc)
{
    uint8_t b[32];
    for (int i = 0; i < 4; i++)
        store_be64_put(b + 8 * i, vc->n[i]);
    return store_meta_put(txn, s, "view_counts", b, 32);
}

void views_sum_read(struct store *s, MDB_txn *txn, uint8_t sum[TERM_LEN])
{
    MDB_val v;
    memset(sum, 0, TERM_LEN);
    if (store_meta_get(txn, s, "view_fp", &v) == 0 && v.mv_size == TERM_LEN)
        memcpy(sum, v.mv_data, TERM_LEN);
}

/* ---- index keys ---- */

void views_put_lp(uint8_t *out, size_t *o, const char *str)
{
    size_t n = strlen(str);
    out[(*o)++] = (uint8_t)n;
    memcpy(out + *o, str, n);
    *o += n;
}

static void put_be(uint8_t *out, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        out[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

int views_need_keys(struct relief_obj *o, struct need_keys *k)
{
    const uint8_t *id = relief_obj_key(o)->need;
    const char *site, *item;
    struct relief_need_view nv;
    struct relief_reg r;
    uint32_t by = UINT32_MAX;
    size_t n = 0;
    int rc, pri;

    if ((rc = relief_need_view(o, &nv)) != AM_OK || (rc = relief_obj_reg(o, RELIEF_F_BY, &r)))
        return rc;
    if (r.n_heads && r.heads[0].v.set && (uint32_t)r.heads[0].v.i)
        by = (uint32_t)r.heads[0].v.i;
    if ((rc = relief_obj_reg(o, RELIEF_F_PRI, &r)) != AM_OK)
        return rc;
    pri = r.n_heads ? (int)r.heads[0].v.i : 0;
    site = nv.opened ? nv.site : "";
    item = nv.opened ? nv.item : "";
    views_put_lp(k->idx, &n, site);
    k->idx[n++] = (uint8_t)nv.status;
    k->idx[n++] = (uint8_t)pri;
    memcpy(k->idx + n, id, RELIEF_ID_LEN);
    k->idx_len = n + RELIEF_ID_LEN;

    k->ord[0] = (uint8_t)nv.status;
    k->ord[1] = (uint8_t)(pri ? pri : RELIEF_PRI_LOW + 1);
    put_be(k->ord + 2, by, 4);
    put_be(k->ord + 6, nv.open_hlc, 8);
    memcpy(k->ord + 14, id, RELIEF_ID_LEN);
    k->ordv_len = 0;
    views_put_lp(k->ordv, &k->ordv_len, site);
    views_put_lp(k->ordv, &k->ordv_len, item);

    k->dup_len = 0;
    if (nv.opened && nv.status == RELIEF_ST_OPEN) {
        views_put_lp(k->dup, &k->dup_len, site);
        views_put_lp(k->dup, &k->dup_len, item);
        put_be(k->dup + k->dup_len, nv.open_hlc, 8);
        memcpy(k->dup + k->dup_len + 8, id, RELIEF_ID_LEN);
        k->dup_len += 8 + RELIEF_ID_LEN;
    }
    return AM_OK;
}

/* The index database of slot db (struct idx_op). */
static MDB_dbi idx_dbi(const struct store *s, int db)
{
    return db == 0 ? s->vneeds : db == 1 ? s->vorder : s->vdup;
}

/* Gathers one index change into d. AM_OK or AM_ENOMEM. */
static int idx_defer_push(struct idx_defer *d, int db, int del, const uint8_t *key, size_t kl,
                          const uint8_t *val, size_t vl)
{
    if (d->plen + kl + vl > UINT32_MAX || d->n >= UINT32_MAX)
        return AM_ENOMEM;
    if (AM_GROW(d->op, d->cap, d->n + 1, 256) != AM_OK ||
        AM_GROW(d->pool, d->pcap, d->plen + kl + vl, 16384) != AM_OK)
        return AM_ENOMEM;
    d->op[d->n] = (struct idx_op){(uint32_t)d->plen, (uint32_t)d->n, (uint8_t)db,
                                  (uint8_t)del,      (uint8_t)kl,    (uint8_t)vl};
    memcpy(d->pool + d->plen, key, kl);
    if (vl)
        memcpy(d->pool + d->plen + kl, val, vl);
    d->plen += kl + vl;
    d->n++;
    return AM_OK;
}

/* Replaces the entry old (ol bytes; 0: none) of index db by new -> val (nl bytes; 0:
 * none), or gathers the change when the write defers them (w->defer). */
static int idx_swap(struct wctx *w, int db, const uint8_t *old, size_t ol, const uint8_t *new,
                    size_t nl, const uint8_t *val, size_t vl)
{
    MDB_txn *txn = w->txn;
    MDB_dbi dbi = idx_dbi(w->s, db);
    MDB_val k = {ol, (void *)old}, v = {vl, (void *)val};
    int rc;
    if (w->defer) {
        if (ol && (rc = idx_defer_push(w->defer, db, 1, old, ol, NULL, 0)) != AM_OK)
            return rc;
        return nl ? idx_defer_push(w->defer, db, 0, new, nl, val, vl) : 0;
    }
    if (ol) {
        rc = mdb_del(txn, dbi, &k, NULL);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
    }
    if (!nl)
        return 0;
    k.mv_size = nl;
    k.mv_data = (void *)new;
    return mdb_put(txn, dbi, &k, &v, 0);
}

/* The need's index entries from old (NULL: it had none) to its state now. */
static int need_index(struct wctx *w, struct relief_obj *o, const struct need_keys *old)
{
    struct need_keys nk;
    int rc;
    if ((rc = views_need_keys(o, &nk)) != AM_OK)
        return rc;
    if ((!old || old->idx_len != nk.idx_len || memcmp(old->idx, nk.idx, nk.idx_len) != 0) &&
        (rc = idx_swap(w, 0, old ? old->idx : NULL, old ? old->idx_len : 0, nk.idx, nk.idx_len,
                       NULL, 0)) != 0)
        return rc;
    if ((!old || memcmp(old->ord, nk.ord, VORDER_KEY_LEN) != 0 || old->ordv_len != nk.ordv_len ||
         memcmp(old->ordv, nk.ordv, nk.ordv_len) != 0) &&
        (rc = idx_swap(w, 1, old ? old->ord : NULL, old ? VORDER_KEY_LEN : 0, nk.ord,
                       VORDER_KEY_LEN, nk.ordv, nk.ordv_len)) != 0)
        return rc;
    if ((!old || old->dup_len != nk.dup_len || memcmp(old->dup, nk.dup, nk.dup_len) != 0) &&
        (rc = idx_swap(w, 2, old ? old->dup : NULL, old ? old->dup_len : 0, nk.dup, nk.dup_len,
                       NULL, 0)) != 0)
        return rc;
    return 0;
}

/* A gathered index change with its bytes, for sorting. */
struct idx_sop {
    const uint8_t *key;
    const struct idx_op *op;
};

/* By index, then key in the order of the index (LMDB's default: bytes, then length), then
 * order of gathering: the changes of one key stay in the order they were made. */
static int idx_sop_cmp(const void *a, const void *b)
{
    const struct idx_sop *x = a, *y = b;
    int c;
    if (x->op->db != y->op->db)
        return x->op->db < y->op->db ? -1 : 1;
    c = memcmp(x->key, y->key, x->op->klen < y->op->klen ? x->op->klen : y->op->klen);
    if (c)
        return c;
    if (x->op->klen != y->op->klen)
        return x->op->klen < y->op->klen ? -1 : 1;
    return x->op->seq < y->op->seq ? -1 : x->op->seq > y->op->seq;
}

int views_idx_flush(struct wctx *w)
{
    struct idx_defer *d = w->defer;
    struct idx_sop *so;
    MDB_cursor *cur[3] = {NULL, NULL, NULL};
    int rc = 0;

    if (!d || d->n == 0)
        return 0;
    if (!(so = malloc(d->n * sizeof *so)))
        return AM_ENOMEM;
    for (size_t i = 0; i < d->n; i++) {
        so[i].key = d->pool + d->op[i].off;
        so[i].op = &d->op[i];
    }
    qsort(so, d->n, sizeof *so, idx_sop_cmp);
    /* one cursor per index: LMDB finds a key on the cursor's page without a descent */
    for (size_t i = 0; i < d->n && rc == 0; i++) {
        const struct idx_op *op = so[i].op;
        MDB_val k = {op->klen, (void *)so[i].key}, v = {op->vlen, (void *)(so[i].key + op->klen)};
        if (!cur[op->db] && (rc = mdb_cursor_open(w->txn, idx_dbi(w->s, op->db), &cur[op->db])))
            break;
        if (op->del) {
            MDB_val data;
            rc = mdb_cursor_get(cur[op->db], &k, &data, MDB_SET);
            if (rc == 0)
                rc = mdb_cursor_del(cur[op->db], 0);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        } else {
            rc = mdb_cursor_put(cur[op->db], &k, &v, 0);
        }
    }
    for (int i = 0; i < 3; i++)
        mdb_cursor_close(cur[i]);
    free(so);
    d->n = d->plen = 0;
    return rc;
}

void views_idx_free(struct idx_defer *d)
{
    free(d->op);
    free(d->pool);
}

/* vcells key of a cell: len(item) item len(site) site len(lot) lot be32 exp. */
static void cell_idx_key(const struct relief_key *k, uint8_t out[IDX_MAX], size_t *len)
{
    size_t o = 0;
    views_put_lp(out, &o, k->item);
    views_put_lp(out, &o, k->site);
    views_put_lp(out, &o, k->lot);
    for (int i = 0; i < 4; i++)
        out[o++] = (uint8_t)(k->exp >> (24 - 8 * i));
    *len = o;
}

/* The object key of a cell from its vcells key. Returns AM_OK or AM_ECORRUPT. */
int views_cell_key_from_idx(const uint8_t *in, size_t len, uint8_t out[RELIEF_KEY_MAX],
                            size_t *olen)
{
    size_t p = 0, li, ls, ll;
    const uint8_t *item, *site, *lot;
    if (len < 1 || (li = in[0]) + 2 > len)
        return AM_ECORRUPT;
    item = in + 1;
    p = 1 + li;
    ls = in[p];
    site = in + p + 1;
    p += 1 + ls;
    if (p + 1 > len)
        return AM_ECORRUPT;
    ll = in[p];
    lot = in + p + 1;
    p += 1 + ll;
    if (p + 4 != len || 1 + 3 + li + ls + ll + 4 > RELIEF_KEY_MAX)
        return AM_ECORRUPT;
    p = 0;
    out[p++] = RELIEF_OBJ_CELL;
    out[p++] = (uint8_t)ls;
    memcpy(out + p, site, ls);
    p += ls;
    out[p++] = (uint8_t)li;
    memcpy(out + p, item, li);
    p += li;
    out[p++] = (uint8_t)ll;
    memcpy(out + p, lot, ll);
    p += ll;
    memcpy(out + p, in + len - 4, 4);
    *olen = p + 4;
    return AM_OK;
}

/* ---- the ops of an object (the tail of its views value) ----
 *
 * Canonical (one encoding per set): varint number of authors, then per author in
 * ascending byte order: author (32) || varint n || n refs, the first a varint seq and each
 * next one a varint gap to the previous seq (>= 1). Varints are unsigned LEB128. A refs
 * record (the scratch of a rebuild, in vrefs) is just that; an ops record (the tail of a
 * site's, item's or need's views value) also has, after each seq or gap, varint hlc ||
 * varint op length || the op bytes, so the object is rebuilt from its value alone: a need
 * of two ops takes about 250 bytes. A stock cell's tail is a cell record (relief_save.c).
 */

/* Whether the views value of object `key` ends with an ops record (else a cell record). */
int views_has_ops(const uint8_t *key)
{
    return key[0] != RELIEF_OBJ_CELL;
}

int views_refv_add(struct refv *v, const struct vref *x)
{
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? 2 * v->cap : 64;
        void *p;
        if (cap < v->cap)
            return AM_ENOMEM;
        p = realloc(v->r, (size_t)cap * sizeof *v->r);
        if (!p)
            return AM_ENOMEM;
        v->r = p;
        v->cap = cap;
    }
    v->r[v->n++] = *x;
    return AM_OK;
}

int views_refv_push(struct refv *v, const uint8_t *author, uint64_t seq)
{
    struct vref x = {.r.seq = seq};
    memcpy(x.r.author, author, AM_PK_LEN);
    return views_refv_add(v, &x);
}

/* Appends the refs of a record to v; with_ops: an ops record, whose op bytes v then points
 * into (p must outlive v's use). */
int views_refs_decode(const uint8_t *p, size_t len, int with_ops, struct refv *v)
{
    const uint8_t *end = p + len;
    uint64_t na, n, seq, gap, hlc, ol;
    if (am_varint_get(&p, end, &na) != AM_OK)
        return AM_ECORRUPT;
    for (uint64_t a = 0; a < na; a++) {
        const uint8_t *author = p;
        if ((size_t)(end - p) < AM_PK_LEN ||
            (a > 0 && memcmp(author, v->r[v->n - 1].r.author, AM_PK_LEN) <= 0))
            return AM_ECORRUPT; /* authors strictly ascending */
        p += AM_PK_LEN;
        if (am_varint_get(&p, end, &n) != AM_OK || n == 0 || am_varint_get(&p, end, &seq) != AM_OK)
            return AM_ECORRUPT;
        for (uint64_t i = 0; i < n; i++) {
            if (i && (am_varint_get(&p, end, &gap) != AM_OK || gap == 0 || seq + gap < seq))
                return AM_ECORRUPT;
            struct vref x = {.r.seq = seq};
            if (i)
                seq += gap;
            x.r.seq = seq;
            memcpy(x.r.author, author, AM_PK_LEN);
            if (with_ops) {
                if (am_varint_get(&p, end, &hlc) != AM_OK || am_varint_get(&p, end, &ol) != AM_OK ||
                    ol == 0 || ol > AM_OP_MAX || ol > (uint64_t)(end - p))
                    return AM_ECORRUPT;
                x.hlc = hlc;
                x.op = p;
                x.op_len = (size_t)ol;
                p += ol;
            }
            if (views_refv_add(v, &x) != AM_OK)
                return AM_ENOMEM;
        }
    }
    return p == end ? AM_OK : AM_ECORRUPT;
}

static int ref_cmp(const void *a, const void *b)
{
    const struct relief_ref *x = &((const struct vref *)a)->r, *y = &((const struct vref *)b)->r;
    int c = memcmp(x->author, y->author, AM_PK_LEN);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts v and drops repeats. */
void views_refv_normalize(struct refv *v)
{
    uint32_t k = 0;
    if (v->n > 1)
        qsort(v->r, v->n, sizeof *v->r, ref_cmp);
    for (uint32_t i = 0; i < v->n; i++)
        if (k == 0 || ref_cmp(&v->r[k - 1], &v->r[i]) != 0)
            v->r[k++] = v->r[i];
    v->n = k;
}

/* Merges the normalized `add` into the normalized v (both sorted, no repeats). */
int views_refv_merge(struct refv *v, const struct refv *add)
{
    struct refv m = {0};
    uint32_t i = 0, j = 0;
    if (add->n == 0)
        return AM_OK;
    if (v->n == 0 || ref_cmp(&v->r[v->n - 1], &add->r[0]) < 0) {
        /* the usual case: everything new comes after (or there was nothing) */
        for (; j < add->n; j++)
            if (views_refv_add(v, &add->r[j]) != AM_OK)
                return AM_ENOMEM;
        return AM_OK;
    }
    while (i < v->n || j < add->n) {
        const struct vref *x;
        int c = i == v->n ? 1 : j == add->n ? -1 : ref_cmp(&v->r[i], &add->r[j]);
        x = c <= 0 ? &v->r[i++] : &add->r[j++];
        if (c == 0)
            j++;
        if (views_refv_add(&m, x) != AM_OK) {
            free(m.r);
            return AM_ENOMEM;
        }
    }
    free(v->r);
    *v = m;
    return AM_OK;
}

/* The record of a normalized v, into *buf (grown as needed); with_ops: an ops record (every
 * ref of v has its op). */
int views_refs_encode(const struct refv *v, int with_ops, uint8_t **buf, size_t *cap, size_t *len)
{
    size_t need = 10 + (size_t)v->n * (AM_PK_LEN + 40);
    uint32_t na = 0;
    uint8_t *p;
    for (uint32_t i = 0; with_ops && i < v->n; i++) {
        if (!v->r[i].op)
            return AM_ECORRUPT;
        need += v->r[i].op_len;
    }
    if (need > *cap) {
        uint8_t *nb = realloc(*buf, need);
        if (!nb)
            return AM_ENOMEM;
        *buf = nb;
        *cap = need;
    }
    for (uint32_t i = 0; i < v->n; i++)
        na += i == 0 || memcmp(v->r[i].r.author, v->r[i - 1].r.author, AM_PK_LEN) != 0;
    p = *buf;
    p = am_varint_put(p, na);
    for (uint32_t i = 0; i < v->n;) {
        uint32_t j = i + 1;
        while (j < v->n && !memcmp(v->r[j].r.author, v->r[i].r.author, AM_PK_LEN))
            j++;
        memcpy(p, v->r[i].r.author, AM_PK_LEN);
        p += AM_PK_LEN;
        p = am_varint_put(p, j - i);
        for (uint32_t k = i; k < j; k++) {
            p = am_varint_put(p, k == i ? v->r[k].r.seq : v->r[k].r.seq - v->r[k - 1].r.seq);
            if (with_ops) {
                p = am_varint_put(p, v->r[k].hlc);
                p = am_varint_put(p, v->r[k].op_len);
                memcpy(p, v->r[k].op, v->r[k].op_len);
                p += v->r[k].op_len;
            }
        }
        i = j;
    }
    *len = (size_t)(p - *buf);
    return AM_OK;
}

/* ---- objects from the store ---- */

/* Applies the op of the stored entry r->r to o, and points r at the entry's hlc and op
 * bytes (valid while txn does not write the entries). Returns AM_OK, AM_ENOMEM,
 * AM_ECORRUPT (missing or undecodable entry), or an LMDB code. */
static int apply_stored(struct store *s, MDB_txn *txn, const struct logs_ctx *lc,
                        struct relief_obj *o, struct vref *vr, struct logs_scratch *sc)
{
    const struct relief_ref *r = &vr->r;
    uint8_t key[REF_LEN];
    MDB_val k = {REF_LEN, key}, v;
    struct entry e;
    struct relief_op op;
    uint8_t hash[AM_HASH_LEN];
    int rc;

    relief_ref_pack(r, key); /* a ref's bytes are its entry's key */
    rc = mdb_get(txn, s->entries, &k, &v);
    if (rc == MDB_NOTFOUND) /* a lane entry its log has not reached (PROTOCOL.md 6) */
        rc = lane_get(txn, s, key, &v);
    if (rc == MDB_NOTFOUND)
        return AM_ECORRUPT;
    if (rc != 0)
        return rc;
    if (entry_decode(&e, v.mv_data, v.mv_size) != AM_OK ||
        relief_op_decode(e.op, e.op_len, &op, NULL, 0) != AM_OK)
        return AM_ECORRUPT;
    if ((rc = logs_resolve_op(lc, &op, r->author, e.author, sc)) != AM_OK)
        return rc;
    if (op.type == RELIEF_T_NEED_OPEN || op.type == RELIEF_T_SHIP_NEW)
        entry_hash(&e, hash);
    vr->hlc = e.hlc;
    vr->op = e.op;
    vr->op_len = e.op_len;
    rc = relief_obj_apply(o, &op, r, e.hlc,
                          op.type == RELIEF_T_NEED_OPEN || op.type == RELIEF_T_SHIP_NEW ? hash
                                                                                        : NULL);
    return rc == AM_OK || rc == AM_ENOMEM ? rc : AM_ECORRUPT;
}

/* Applies the op that an ops record holds for vr to o. */
static int apply_recorded(const struct logs_ctx *lc, struct relief_obj *o, const struct vref *vr,
                          struct logs_scratch *sc)
{
    struct relief_op op;
    uint8_t hash[AM_HASH_LEN] = {0};
    int rc;
    if (relief_op_decode(vr->op, vr->op_len, &op, NULL, 0) != AM_OK)
        return AM_ECORRUPT;
    if ((rc = logs_resolve_op(lc, &op, vr->r.author, logs_ctx_author(lc, vr->r.author), sc)) !=
        AM_OK)
        return rc;
    /* a need.open (a ship.new) joined this object because its entry's hash starts with the
     * id */
    memcpy(hash, relief_obj_key(o)->need, RELIEF_ID_LEN);
    rc = relief_obj_apply(o, &op, &vr->r, vr->hlc,
                          op.type == RELIEF_T_NEED_OPEN || op.type == RELIEF_T_SHIP_NEW ? hash
                                                                                        : NULL);
    return rc == AM_OK || rc == AM_ENOMEM ? rc : AM_ECORRUPT;
}

/* Builds the object `key` from its refs: from the ops they carry when they come from an
 * ops record, else from their stored entries (then pointing each ref at its op). *out is
 * the caller's. */
int views_load_obj(struct store *s, MDB_txn *txn, const uint8_t *key, size_t klen,
                   struct refv *refs, struct relief_obj **out)
{
    struct relief_key rk;
    struct relief_obj *o;
    const struct logs_ctx *lc;
    struct logs_scratch sc = {0};
    int rc = AM_OK;

    *out = NULL;
    if (relief_key_decode(key, klen, &rk) != AM_OK)
        return AM_ECORRUPT;
    if ((rc = logs_ctx_get(s, txn, &lc)) != AM_OK)
        return rc;
    if (!(o = relief_obj_new(&rk)))
        return AM_ENOMEM;
    if (refs->n && relief_obj_reserve(o, refs->n) == AM_ENOMEM)
        rc = AM_ENOMEM;
    /* an op's resolved refs live in sc only until it is applied: the object copies them */
    for (uint32_t i = 0; i < refs->n && rc == AM_OK; i++)
        rc = refs->r[i].op ? apply_recorded(lc, o, &refs->r[i], &sc)
                           : apply_stored(s, txn, lc, o, &refs->r[i], &sc);
    free(sc.r);
    if (rc == AM_OK)
        *out = o;
    else
        relief_obj_free(o);
    return rc;
}

/* A views value: varint(dump length) || the object's view (relief_obj_dump) || its refs
 * record. One value per object, so a touched object dirties one page, not two. Splits
 * it; AM_ECORRUPT when it does not parse. */
int views_view_split(const MDB_val *val, MDB_val *dump, MDB_val *refs)
{
    const uint8_t *p = val->mv_data, *end = p + val->mv_size;
    uint64_t dl;
    if (am_varint_get(&p, end, &dl) != AM_OK || dl > (uint64_t)(end - p))
        return AM_ECORRUPT;
    dump->mv_data = (void *)p;
    dump->mv_size = (size_t)dl;
    refs->mv_data = (void *)(p + dl);
    refs->mv_size = (size_t)(end - p - dl);
    return AM_OK;
}

/* Builds the cell `key` from its cell record. *out is the caller's. */
int views_load_cell(const uint8_t *key, size_t klen, const MDB_val *rec, struct relief_obj **out)
{
    struct relief_key rk;
    int rc;
    *out = NULL;
    if (relief_key_decode(key, klen, &rk) != AM_OK)
        return AM_ECORRUPT;
    if (!(*out = relief_obj_new(&rk)))
        return AM_ENOMEM;
    rc = relief_cell_load(*out, rec->mv_data, rec->mv_size);
    if (rc != AM_OK) {
        relief_obj_free(*out);
        *out = NULL;
    }
    return rc;
}

/* The cell record of o into *buf (grown as needed). */
int views_save_cell(struct relief_obj *o, uint8_t **buf, size_t *cap, size_t *len)
{
    int rc = relief_cell_save(o, *buf, *cap, len);
    if (rc == AM_ELIMIT) {
        if ((rc = AM_GROW(*buf, *cap, *len, 1024)) != AM_OK)
            return rc;
        rc = relief_cell_save(o, *buf, *cap, len);
    }
    return rc;
}

/* Dumps o into *buf (grown as needed). */
static int dump_obj(struct relief_obj *o, uint8_t **buf, size_t *cap, size_t *len)
{
    int rc = relief_obj_dump(o, *buf, *cap, len);
    if (rc == AM_ELIMIT) {
        size_t ncap = *len + 1024;
        uint8_t *nb = realloc(*buf, ncap);
        if (!nb)
            return AM_ENOMEM;
        *buf = nb;
        *cap = ncap;
        rc = relief_obj_dump(o, *buf, *cap, len);
    }
    return rc;
}

/* Writes the view of o (whose previous view, if any, had term old), its index entries,
 * and the fingerprint change. old: the need's index entries before, if it existed. */
int views_write_view(struct wctx *w, struct relief_obj *o, const uint8_t *key, size_t klen,
                     const uint8_t *refs, size_t rlen, int had_old,
                     const uint8_t old_term[TERM_LEN], const struct need_keys *old,
                     uint8_t new_term[TERM_LEN])
{
    const struct relief_key *rk = relief_obj_key(o);
    uint8_t idx[IDX_MAX], *p;
    size_t len, il;
    MDB_val k = {klen, (void *)key}, v;
    int rc;

    if ((rc = dump_obj(o, &w->buf, &w->cap, &len)) != AM_OK)
        return rc;
    if ((rc = AM_GROW(w->vbuf, w->vcap, 10 + len + rlen, 1024)) != AM_OK)
        return rc;
    p = w->vbuf;
    p = am_varint_put(p, len);
    memcpy(p, w->buf, len);
    memcpy(p + len, refs, rlen);
    v.mv_size = (size_t)(p - w->vbuf) + len + rlen;
    v.mv_data = w->vbuf;
    /* in a live update the cursor still stands on the old value (or where the new one
     * goes): no second descent of the tree */
    rc = w->vcur ? mdb_cursor_put(w->vcur, &k, &v, had_old ? MDB_CURRENT : 0)
                 : mdb_put(w->txn, w->s->views, &k, &v, w->put_flags);
    if (rc != 0)
        return rc;
    views_fp_term(key, klen, w->buf, len, new_term);
    if (had_old)
        fp_sub(w->sum, old_term);
    else if (kind_slot(rk->kind) >= 0)
        w->vc.n[kind_slot(rk->kind)]++;
    views_fp_add(w->sum, new_term);

    if (rk->kind == RELIEF_OBJ_NEED)
        return need_index(w, o, had_old ? old : NULL);
    if (rk->kind != RELIEF_OBJ_CELL || had_old)
        return 0;
    cell_idx_key(rk, idx, &il);
    k.mv_size = il;
    k.mv_data = idx;
    v.mv_size = 0;
    v.mv_data = idx;
    return mdb_put(w->txn, w->s->vcells, &k, &v, 0);
}
