/*
 * store_views.c: the relief views of the store (PROTOCOL.md section 7.1, "View
 * databases"): for every site, item, need and stock cell, its canonical view
 * (relief_obj_dump) and the record of its ops it is rebuilt from (an ops record, or a
 * cell record from relief_save.c), the listing indexes, the invalid ops, and an additive
 * fingerprint over all views. Part of the store module (store_int.h).
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

/* 2: heads of one value agree; 3: refs inside the views value; 4: ops records; 5: text
 * with a bidirectional control makes an op invalid (§10.2), so views of 4 may hold ops
 * that 5 refuses, and are rebuilt */
#define VIEWS_FORMAT 5
#define REF_LEN      RELIEF_REF_LEN /* author || be64 seq: also the entries key */
#define TERM_LEN     32
/* Largest index key: len(site) site status pri id / len(item) item len(site) site ... */
#define IDX_MAX (RELIEF_KEY_MAX + 8)
/* Objects with at least this many ops are kept in the cache (cells always are). */
#define CACHE_MIN_OPS 16

/* ---- fingerprint arithmetic: 256-bit little-endian integers mod 2^256 ---- */

static void fp_add(uint8_t sum[TERM_LEN], const uint8_t t[TERM_LEN])
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
static void fp_term(const uint8_t *key, size_t klen, const uint8_t *view, size_t vlen,
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
static void fp_show(const uint8_t sum[TERM_LEN], uint64_t objects, uint8_t out[STORE_VIEW_FP_LEN])
{
    crypto_generichash_state st;
    uint8_t n[8];
    store_be64_put(n, objects);
    crypto_generichash_init(&st, NULL, 0, STORE_VIEW_FP_LEN);
    crypto_generichash_update(&st, n, 8);
    crypto_generichash_update(&st, sum, TERM_LEN);
    crypto_generichash_final(&st, out, STORE_VIEW_FP_LEN);
}

/* ---- the cache: committed objects of this process, checked before every use ---- */

struct cache_ent {
    struct cache_ent *hnext;               /* hash chain */
    struct cache_ent *newer, *older;       /* LRU list */
    struct cache_ent *pnext;               /* pending list of the open transaction */
    struct relief_obj *obj;                /* owned */
    uint64_t bytes;                        /* estimated memory */
    int valid;                             /* tag names the committed view of obj */
    int pending;                           /* changed by the open transaction */
    uint8_t tag[TERM_LEN], next[TERM_LEN]; /* fp_term of obj's view: committed, pending */
    uint8_t klen;
    uint8_t key[RELIEF_KEY_MAX];
};

struct views_cache {
    struct cache_ent **b; /* buckets */
    size_t nb, n;
    struct cache_ent lru; /* sentinel: lru.older = newest */
    struct cache_ent *pending;
    uint64_t bytes;
    uint8_t sip[crypto_shorthash_KEYBYTES];
    struct store_view_cache_stats st;
};

/* Memory of a cached object, estimated from its ops (measured with mallinfo2 on the
 * benchmark's cells: about 190 bytes per move or count, tables grown by doubling). */
static uint64_t est_bytes(const struct relief_obj *o)
{
    size_t n = relief_obj_nops(o);
    return 2048 + (uint64_t)n * (relief_obj_key(o)->kind == RELIEF_OBJ_CELL ? 192 : 768);
}

static size_t bucket_of(const struct views_cache *c, const uint8_t *key, size_t klen)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v = 0;
    crypto_shorthash(h, key, klen, c->sip);
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return (size_t)(v & (c->nb - 1));
}

static void lru_unlink(struct cache_ent *e)
{
    e->newer->older = e->older;
    e->older->newer = e->newer;
}

static void lru_push(struct views_cache *c, struct cache_ent *e)
{
    e->older = c->lru.older;
    e->newer = &c->lru;
    c->lru.older->newer = e;
    c->lru.older = e;
}

static struct views_cache *cache_get(struct store *s)
{
    struct views_cache *c = s->cache;
    if (c)
        return c;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->nb = 1024;
    c->b = calloc(c->nb, sizeof *c->b);
    if (!c->b) {
        free(c);
        return NULL;
    }
    c->lru.newer = c->lru.older = &c->lru;
    crypto_shorthash_keygen(c->sip);
    s->cache = c;
    return c;
}

static struct cache_ent *cache_find(struct views_cache *c, const uint8_t *key, size_t klen)
{
    for (struct cache_ent *e = c->b[bucket_of(c, key, klen)]; e; e = e->hnext)
        if (e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    return NULL;
}

static void cache_drop(struct views_cache *c, struct cache_ent *e)
{
    struct cache_ent **pp = &c->b[bucket_of(c, e->key, e->klen)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(e);
    c->bytes -= e->bytes;
    c->n--;
    c->st.evicted++;
    relief_obj_free(e->obj);
    free(e);
}

static void cache_grow(struct views_cache *c)
{
    size_t nb = c->nb * 2;
    struct cache_ent **b = calloc(nb, sizeof *b);
    struct cache_ent **old = c->b;
    size_t onb = c->nb;
    if (!b)
        return; /* longer chains; still correct */
    c->b = b;
    c->nb = nb;
    for (size_t i = 0; i < onb; i++) {
        struct cache_ent *e = old[i], *next;
        for (; e; e = next) {
            size_t k = bucket_of(c, e->key, e->klen);
            next = e->hnext;
            e->hnext = b[k];
            b[k] = e;
        }
    }
    free(old);
}

/* Adds obj under key as pending (not yet valid). Returns the entry, or NULL when out of
 * memory (the caller keeps and frees obj). */
static struct cache_ent *cache_add(struct views_cache *c, const uint8_t *key, size_t klen,
                                   struct relief_obj *obj)
{
    struct cache_ent *e = calloc(1, sizeof *e);
    size_t k;
    if (!e)
        return NULL;
    if (c->n >= c->nb)
        cache_grow(c);
    memcpy(e->key, key, klen);
    e->klen = (uint8_t)klen;
    e->obj = obj;
    k = bucket_of(c, key, klen);
    e->hnext = c->b[k];
    c->b[k] = e;
    lru_push(c, e);
    c->n++;
    return e;
}

int store_view_cache_stats(struct store *s, struct store_view_cache_stats *st)
{
    pthread_mutex_lock(&s->cache_lock);
    memset(st, 0, sizeof *st);
    if (s->cache) {
        *st = s->cache->st;
        st->objects = s->cache->n;
        st->bytes = s->cache->bytes;
    }
    pthread_mutex_unlock(&s->cache_lock);
    return AM_OK;
}

void views_cache_free(struct store *s)
{
    struct views_cache *c = s->cache;
    if (!c)
        return;
    while (c->lru.older != &c->lru)
        cache_drop(c, c->lru.older);
    free(c->b);
    free(c);
    s->cache = NULL;
}

void views_txn_end(struct store *s, int committed)
{
    struct views_cache *c = s->cache;
    if (c) {
        struct cache_ent *e = c->pending, *next;
        for (; e; e = next) {
            next = e->pnext;
            e->pnext = NULL;
            e->pending = 0;
            if (committed) {
                memcpy(e->tag, e->next, TERM_LEN);
                e->valid = 1;
                c->bytes -= e->bytes;
                e->bytes = est_bytes(e->obj);
                c->bytes += e->bytes;
            } else {
                cache_drop(c, e);
            }
        }
        c->pending = NULL;
        while (c->bytes > s->cache_max && c->lru.newer != &c->lru)
            cache_drop(c, c->lru.newer); /* the least recently used */
    }
    pthread_mutex_unlock(&s->cache_lock);
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
    return 0;
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

/* Counts of objects per kind, kept in meta "view_counts": be64 sites, items, needs, cells. */
struct vcounts {
    uint64_t n[4];
};

static int kind_slot(int kind)
{
    switch (kind) {
    case RELIEF_OBJ_SITE:
        return 0;
    case RELIEF_OBJ_ITEM:
        return 1;
    case RELIEF_OBJ_NEED:
        return 2;
    default:
        return 3;
    }
}

static void counts_read(struct store *s, MDB_txn *txn, struct vcounts *vc)
{
    MDB_val v;
    memset(vc, 0, sizeof *vc);
    if (store_meta_get(txn, s, "view_counts", &v) == 0 && v.mv_size == 32)
        for (int i = 0; i < 4; i++)
            vc->n[i] = store_be64_get((const uint8_t *)v.mv_data + 8 * i);
}

static int counts_write(struct store *s, MDB_txn *txn, const struct vcounts *vc)
{
    uint8_t b[32];
    for (int i = 0; i < 4; i++)
        store_be64_put(b + 8 * i, vc->n[i]);
    return store_meta_put(txn, s, "view_counts", b, 32);
}

static void sum_read(struct store *s, MDB_txn *txn, uint8_t sum[TERM_LEN])
{
    MDB_val v;
    memset(sum, 0, TERM_LEN);
    if (store_meta_get(txn, s, "view_fp", &v) == 0 && v.mv_size == TERM_LEN)
        memcpy(sum, v.mv_data, TERM_LEN);
}

/* ---- index keys ---- */

static void put_lp(uint8_t *out, size_t *o, const char *str)
{
    size_t n = strlen(str);
    out[(*o)++] = (uint8_t)n;
    memcpy(out + *o, str, n);
    *o += n;
}

/* vneeds key of a need object in its current state: len(site) site status pri id. */
static int need_idx_key(struct relief_obj *o, uint8_t out[IDX_MAX], size_t *len)
{
    struct relief_need_view nv;
    struct relief_reg r;
    size_t k = 0;
    int rc;

    if ((rc = relief_need_view(o, &nv)) != AM_OK || (rc = relief_obj_reg(o, RELIEF_F_PRI, &r)))
        return rc;
    put_lp(out, &k, nv.opened ? nv.site : "");
    out[k++] = (uint8_t)nv.status;
    out[k++] = (uint8_t)(r.n_heads ? r.heads[0].v.i : 0);
    memcpy(out + k, relief_obj_key(o)->need, RELIEF_ID_LEN);
    *len = k + RELIEF_ID_LEN;
    return AM_OK;
}

/* vcells key of a cell: len(item) item len(site) site len(lot) lot be32 exp. */
static void cell_idx_key(const struct relief_key *k, uint8_t out[IDX_MAX], size_t *len)
{
    size_t o = 0;
    put_lp(out, &o, k->item);
    put_lp(out, &o, k->site);
    put_lp(out, &o, k->lot);
    for (int i = 0; i < 4; i++)
        out[o++] = (uint8_t)(k->exp >> (24 - 8 * i));
    *len = o;
}

/* The object key of a cell from its vcells key. Returns AM_OK or AM_ECORRUPT. */
static int cell_key_from_idx(const uint8_t *in, size_t len, uint8_t out[RELIEF_KEY_MAX],
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

/* One op of an object: its ref and, in an ops record, its entry's hlc and op bytes. */
struct vref {
    struct relief_ref r;
    uint64_t hlc;
    const uint8_t *op; /* NULL when unknown (a refs record); not owned */
    size_t op_len;
};

/* A growable array of refs, sorted by (author, seq) when it comes from a record. */
struct refv {
    struct vref *r;
    uint32_t n, cap;
};

/* Whether the views value of object `key` ends with an ops record (else a cell record). */
static int has_ops(const uint8_t *key)
{
    return key[0] != RELIEF_OBJ_CELL;
}

static int refv_add(struct refv *v, const struct vref *x)
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

static int refv_push(struct refv *v, const uint8_t *author, uint64_t seq)
{
    struct vref x = {.r.seq = seq};
    memcpy(x.r.author, author, AM_PK_LEN);
    return refv_add(v, &x);
}

/* Appends the refs of a record to v; with_ops: an ops record, whose op bytes v then points
 * into (p must outlive v's use). */
static int refs_decode(const uint8_t *p, size_t len, int with_ops, struct refv *v)
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
            if (refv_add(v, &x) != AM_OK)
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
static void refv_normalize(struct refv *v)
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
static int refv_merge(struct refv *v, const struct refv *add)
{
    struct refv m = {0};
    uint32_t i = 0, j = 0;
    if (add->n == 0)
        return AM_OK;
    if (v->n == 0 || ref_cmp(&v->r[v->n - 1], &add->r[0]) < 0) {
        /* the usual case: everything new comes after (or there was nothing) */
        for (; j < add->n; j++)
            if (refv_add(v, &add->r[j]) != AM_OK)
                return AM_ENOMEM;
        return AM_OK;
    }
    while (i < v->n || j < add->n) {
        const struct vref *x;
        int c = i == v->n ? 1 : j == add->n ? -1 : ref_cmp(&v->r[i], &add->r[j]);
        x = c <= 0 ? &v->r[i++] : &add->r[j++];
        if (c == 0)
            j++;
        if (refv_add(&m, x) != AM_OK) {
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
static int refs_encode(const struct refv *v, int with_ops, uint8_t **buf, size_t *cap, size_t *len)
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
static int apply_stored(struct store *s, MDB_txn *txn, struct relief_obj *o, struct vref *vr)
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

    if (rc == MDB_NOTFOUND)
        return AM_ECORRUPT;
    if (rc != 0)
        return rc;
    if (entry_decode(&e, v.mv_data, v.mv_size) != AM_OK ||
        relief_op_decode(e.op, e.op_len, &op, NULL, 0) != AM_OK)
        return AM_ECORRUPT;
    if (op.type == RELIEF_T_NEED_OPEN)
        entry_hash(&e, hash);
    vr->hlc = e.hlc;
    vr->op = e.op;
    vr->op_len = e.op_len;
    rc = relief_obj_apply(o, &op, r, e.hlc, op.type == RELIEF_T_NEED_OPEN ? hash : NULL);
    return rc == AM_OK || rc == AM_ENOMEM ? rc : AM_ECORRUPT;
}

/* Applies the op that an ops record holds for vr to o. */
static int apply_recorded(struct relief_obj *o, const struct vref *vr)
{
    struct relief_op op;
    uint8_t hash[AM_HASH_LEN] = {0};
    int rc;
    if (relief_op_decode(vr->op, vr->op_len, &op, NULL, 0) != AM_OK)
        return AM_ECORRUPT;
    /* a need.open joined this object because its entry's hash starts with the id */
    memcpy(hash, relief_obj_key(o)->need, RELIEF_ID_LEN);
    rc = relief_obj_apply(o, &op, &vr->r, vr->hlc, op.type == RELIEF_T_NEED_OPEN ? hash : NULL);
    return rc == AM_OK || rc == AM_ENOMEM ? rc : AM_ECORRUPT;
}

/* Builds the object `key` from its refs: from the ops they carry when they come from an
 * ops record, else from their stored entries (then pointing each ref at its op). *out is
 * the caller's. */
static int load_obj(struct store *s, MDB_txn *txn, const uint8_t *key, size_t klen,
                    struct refv *refs, struct relief_obj **out)
{
    struct relief_key rk;
    struct relief_obj *o;
    int rc = AM_OK;

    *out = NULL;
    if (relief_key_decode(key, klen, &rk) != AM_OK)
        return AM_ECORRUPT;
    if (!(o = relief_obj_new(&rk)))
        return AM_ENOMEM;
    if (refs->n && relief_obj_reserve(o, refs->n) == AM_ENOMEM)
        rc = AM_ENOMEM;
    for (uint32_t i = 0; i < refs->n && rc == AM_OK; i++)
        rc = refs->r[i].op ? apply_recorded(o, &refs->r[i]) : apply_stored(s, txn, o, &refs->r[i]);
    if (rc == AM_OK)
        *out = o;
    else
        relief_obj_free(o);
    return rc;
}

/* A views value: varint(dump length) || the object's view (relief_obj_dump) || its refs
 * record. One value per object, so a touched object dirties one page, not two. Splits
 * it; AM_ECORRUPT when it does not parse. */
static int view_split(const MDB_val *val, MDB_val *dump, MDB_val *refs)
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
static int load_cell(const uint8_t *key, size_t klen, const MDB_val *rec, struct relief_obj **out)
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
static int save_cell(struct relief_obj *o, uint8_t **buf, size_t *cap, size_t *len)
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
 * and the fingerprint change. old_idx: the need's vneeds key before, if it existed. */
struct wctx {
    struct store *s;
    MDB_txn *txn;
    uint8_t sum[TERM_LEN];
    struct vcounts vc;
    uint8_t *buf; /* dumps */
    size_t cap;
    uint8_t *rbuf; /* ops, cell and refs records */
    size_t rcap;
    uint8_t *vbuf; /* views values: length, dump, refs */
    size_t vcap;
    uint8_t *obuf; /* the views value being updated, copied: its ops outlive the puts */
    size_t ocap;
    unsigned put_flags; /* MDB_APPEND while rebuilding in key order */
    MDB_cursor *vcur;   /* live update: on `views`, left at the object being updated */
};

static int write_view(struct wctx *w, struct relief_obj *o, const uint8_t *key, size_t klen,
                      const uint8_t *refs, size_t rlen, int had_old,
                      const uint8_t old_term[TERM_LEN], const uint8_t *old_idx, size_t old_idx_len,
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
    fp_term(key, klen, w->buf, len, new_term);
    if (had_old)
        fp_sub(w->sum, old_term);
    else
        w->vc.n[kind_slot(rk->kind)]++;
    fp_add(w->sum, new_term);

    if (rk->kind == RELIEF_OBJ_NEED) {
        if ((rc = need_idx_key(o, idx, &il)) != AM_OK)
            return rc;
        if (had_old && old_idx_len == il && memcmp(old_idx, idx, il) == 0)
            return 0;
        if (had_old) {
            MDB_val ok = {old_idx_len, (void *)old_idx};
            rc = mdb_del(w->txn, w->s->vneeds, &ok, NULL);
            if (rc != 0 && rc != MDB_NOTFOUND)
                return rc;
        }
    } else if (rk->kind == RELIEF_OBJ_CELL && !had_old) {
        cell_idx_key(rk, idx, &il);
    } else {
        return 0;
    }
    k.mv_size = il;
    k.mv_data = idx;
    v.mv_size = 0;
    v.mv_data = idx;
    return mdb_put(w->txn, rk->kind == RELIEF_OBJ_NEED ? w->s->vneeds : w->s->vcells, &k, &v, 0);
}

/* ---- live update ---- */

/* One op to apply, with what it needs of its entry copied while the entry is at hand: the
 * touches are sorted by object, the entries are not. */
struct touch {
    uint8_t key[RELIEF_KEY_MAX];
    uint8_t klen;
    struct vref x;
    const uint8_t *hash;
    struct relief_op op;
};

static int put_invalid(struct store *s, MDB_txn *txn, const uint8_t *author, uint64_t seq,
                       const char *why)
{
    uint8_t key[STORE_KEY_LEN];
    MDB_val k = {STORE_KEY_LEN, key}, v = {strlen(why), (void *)why};
    int rc;
    memcpy(key, author, AM_PK_LEN);
    store_be64_put(key + AM_PK_LEN, seq);
    rc = mdb_put(txn, s->vinvalid, &k, &v, MDB_NOOVERWRITE);
    return rc == MDB_KEYEXIST ? 0 : rc;
}

/* Touches grouped by object: sorted by a hash of the object key (then by arrival), so
 * sorting moves 16 bytes per op, not a touch. Objects are thus visited in no particular
 * key order, which no view depends on. */
struct tord {
    uint64_t h;
    uint32_t i; /* index into the touches */
};

/* A 64-bit mix of an object key: only groups touches (equal keys, equal hashes), so it
 * need not resist anyone; a collision only splits a group. */
static uint64_t key_hash(const uint8_t *key, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ len;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t w = 0;
        memcpy(&w, key + i, len - i < 8 ? len - i : 8);
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 33;
    }
    return h;
}

static int tord_cmp(const void *a, const void *b)
{
    const struct tord *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Applies the touches t[ord[0..n).i] (one object) to its object and writes its view. */
static int update_obj(struct wctx *w, struct views_cache *c, const struct touch *t,
                      const struct tord *ord, size_t n)
{
    struct store *s = w->s;
    const uint8_t *key = t[ord[0].i].key;
    size_t klen = t[ord[0].i].klen, old_idx_len = 0;
    uint8_t old_term[TERM_LEN], new_term[TERM_LEN], old_idx[IDX_MAX];
    MDB_val k = {klen, (void *)key}, v;
    struct cache_ent *ce = c ? cache_find(c, key, klen) : NULL;
    struct relief_obj *o = NULL;
    struct refv refs = {0}, add = {0};
    MDB_val rv = {0, NULL};
    size_t rlen;
    int rc, had_old, cell = !has_ops(key);

    rc = mdb_cursor_get(w->vcur, &k, &v, MDB_SET_KEY);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    had_old = rc == 0;
    if (had_old) {
        MDB_val dump;
        if (!cell) { /* the merged record points into it until the put */
            if ((rc = AM_GROW(w->obuf, w->ocap, v.mv_size, 1024)) != AM_OK)
                return rc;
            memcpy(w->obuf, v.mv_data, v.mv_size);
            v.mv_data = w->obuf;
        }
        if (view_split(&v, &dump, &rv) != AM_OK)
            return AM_ECORRUPT;
        fp_term(key, klen, dump.mv_data, dump.mv_size, old_term);
        /* a cell's record is rewritten from the object; an ops record is merged */
        if (!cell && (rc = refs_decode(rv.mv_data, rv.mv_size, 1, &refs)) != 0)
            goto fail;
    }

    if (ce && !ce->pending && ce->valid && had_old && !memcmp(ce->tag, old_term, TERM_LEN)) {
        o = ce->obj; /* the cache holds exactly the stored set */
        c->st.hits++;
    } else {
        if (had_old) {
            if ((rc = cell ? load_cell(key, klen, &rv, &o)
                           : load_obj(s, w->txn, key, klen, &refs, &o)) != 0)
                goto fail;
            if (c) {
                c->st.loads++;
                c->st.ops_loaded += relief_obj_nops(o);
            }
        } else {
            struct relief_key rk;
            if (relief_key_decode(key, klen, &rk) != AM_OK || !(o = relief_obj_new(&rk))) {
                rc = AM_ENOMEM;
                goto fail;
            }
        }
        if (ce) {
            relief_obj_free(ce->obj);
            ce->obj = o;
            ce->valid = 0;
        }
    }
    if (ce) {
        /* From here on the entry holds uncommitted ops until views_txn_end. */
        ce->valid = 0;
        if (!ce->pending) {
            ce->pending = 1;
            ce->pnext = c->pending;
            c->pending = ce;
        }
        lru_unlink(ce);
        lru_push(c, ce);
    }

    if (had_old && relief_obj_key(o)->kind == RELIEF_OBJ_NEED &&
        (rc = need_idx_key(o, old_idx, &old_idx_len)) != AM_OK)
        goto out;

    for (size_t i = 0; i < n; i++) {
        const struct touch *ti = &t[ord[i].i];
        const struct vref *x = &ti->x;
        rc = relief_obj_apply(o, &ti->op, &x->r, x->hlc, ti->hash);
        if (rc == AM_ENOMEM)
            goto out;
        if (rc != AM_OK) {
            /* Decoded, but refused by the merge rules (a second op under one ref, an object
             * of 2^30 ops): a function of the bytes, so every node refuses it alike. */
            char why[RELIEF_ERR_MAX + 64];
            snprintf(why, sizeof why, "%s: refused by the merge rules: %s",
                     relief_type_name(ti->op.type), am_strerror(rc));
            if ((rc = put_invalid(s, w->txn, x->r.author, x->r.seq, why)) != 0)
                goto out;
            continue;
        }
        if (!cell && (rc = refv_add(&add, x)) != AM_OK)
            goto out;
    }
    if (relief_obj_nops(o) == 0) { /* nothing was applied: no object */
        rc = 0;
        goto out;
    }
    if (cell) {
        if ((rc = save_cell(o, &w->rbuf, &w->rcap, &rlen)) != AM_OK)
            goto out;
    } else {
        refv_normalize(&add);
        if ((rc = refv_merge(&refs, &add)) != AM_OK ||
            (rc = refs_encode(&refs, 1, &w->rbuf, &w->rcap, &rlen)) != AM_OK)
            goto out;
    }
    free(refs.r);
    free(add.r);
    refs.r = add.r = NULL;
    rc = write_view(w, o, key, klen, w->rbuf, rlen, had_old, old_term, old_idx, old_idx_len,
                    new_term);
    if (rc != 0)
        goto out;
    if (ce) {
        memcpy(ce->next, new_term, TERM_LEN);
        return 0;
    }
    if (c && (relief_obj_key(o)->kind == RELIEF_OBJ_CELL || relief_obj_nops(o) >= CACHE_MIN_OPS) &&
        s->cache_max > 0) {
        ce = cache_add(c, key, klen, o);
        if (ce) {
            ce->pending = 1;
            ce->pnext = c->pending;
            c->pending = ce;
            memcpy(ce->next, new_term, TERM_LEN);
            return 0;
        }
    }
    relief_obj_free(o);
    return 0;
out:
    if (!ce)
        relief_obj_free(o);
fail:
    free(refs.r);
    free(add.r);
    return rc;
}

int views_update(struct store *s, MDB_txn *txn, const struct views_entry *ents, size_t n,
                 uint64_t *invalid)
{
    struct touch *t = NULL;
    struct tord *ord = NULL;
    struct views_cache *c;
    struct wctx w = {.s = s, .txn = txn};
    size_t nt = 0;
    int rc = 0;

    pthread_mutex_lock(&s->cache_lock); /* released by views_txn_end */
    if (invalid)
        *invalid = 0;
    c = s->cache_max > 0 ? cache_get(s) : NULL;
    if (n == 0)
        return 0;
    t = malloc(n * sizeof *t);
    if (!t)
        return AM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct views_entry *e = &ents[i];
        struct relief_key rk;
        size_t kl;
        char err[RELIEF_ERR_MAX];
        int drc = relief_op_decode_entry_op(e->op, e->op_len, &t[nt].op, err, sizeof err);
        if (drc == AM_EVERSION)
            continue; /* an op of a newer version: not ours to judge */
        if (drc != AM_OK) {
            if ((rc = put_invalid(s, txn, e->author, e->seq, err)) != 0)
                goto out;
            if (invalid)
                ++*invalid;
            continue;
        }
        if (relief_op_key(&t[nt].op, e->hash, &rk) != AM_OK ||
            relief_key_encode(&rk, t[nt].key, &kl) != AM_OK) {
            /* cannot happen for a decoded op; never let it stop a batch */
            if ((rc = put_invalid(s, txn, e->author, e->seq, "op names no object")) != 0)
                goto out;
            if (invalid)
                ++*invalid;
            continue;
        }
        t[nt].klen = (uint8_t)kl;
        memcpy(t[nt].x.r.author, e->author, AM_PK_LEN);
        t[nt].x.r.seq = e->seq;
        t[nt].x.hlc = e->hlc;
        t[nt].x.op = e->op;
        t[nt].x.op_len = e->op_len;
        t[nt].hash = e->hash;
        nt++;
    }
    if (nt == 0)
        goto out;
    if (!(ord = malloc(nt * sizeof *ord))) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nt; i++) {
        ord[i].h = key_hash(t[i].key, t[i].klen);
        ord[i].i = (uint32_t)i;
    }
    qsort(ord, nt, sizeof *ord, tord_cmp);
    if ((rc = mdb_cursor_open(txn, s->views, &w.vcur)) != 0)
        goto out;
    sum_read(s, txn, w.sum);
    counts_read(s, txn, &w.vc);
    for (size_t i = 0; i < nt;) {
        const struct touch *a = &t[ord[i].i];
        size_t j = i + 1;
        /* a hash shared by two keys splits an object's touches in runs: each run is
         * applied in turn, as a later batch would */
        while (j < nt && ord[j].h == ord[i].h && t[ord[j].i].klen == a->klen &&
               !memcmp(t[ord[j].i].key, a->key, a->klen))
            j++;
        if ((rc = update_obj(&w, c, t, ord + i, j - i)) != 0)
            goto out;
        i = j;
    }
    if ((rc = store_meta_put(txn, s, "view_fp", w.sum, TERM_LEN)) != 0 ||
        (rc = counts_write(s, txn, &w.vc)) != 0)
        goto out;
out:
    mdb_cursor_close(w.vcur);
    free(t);
    free(ord);
    free(w.buf);
    free(w.rbuf);
    free(w.vbuf);
    free(w.obuf);
    return rc;
}

/* ---- rebuild ---- */

struct pair {
    uint8_t key[RELIEF_KEY_MAX];
    uint8_t klen;
    uint8_t ref[REF_LEN];
};

static int pair_cmp(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    size_t l = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, l);
    if (c)
        return c;
    if (x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    return memcmp(x->ref, y->ref, REF_LEN);
}

#define PAIRS_CHUNK 65536

/* Adds a chunk of (object, ref) pairs to the objects' refs records. */
static int flush_pairs(struct wctx *w, struct pair *p, size_t n)
{
    struct refv v = {0}, add = {0};
    int rc = 0;
    qsort(p, n, sizeof *p, pair_cmp);
    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = i, len;
        MDB_val k = {p[i].klen, p[i].key}, d;
        v.n = add.n = 0;
        rc = mdb_get(w->txn, w->s->vrefs, &k, &d); /* the scratch refs of rebuild */
        if (rc == 0)
            rc = refs_decode(d.mv_data, d.mv_size, 0, &v);
        else if (rc == MDB_NOTFOUND)
            rc = 0;
        if (rc != 0)
            break;
        for (; j < n && p[j].klen == p[i].klen && !memcmp(p[j].key, p[i].key, p[i].klen); j++) {
            struct relief_ref r;
            relief_ref_unpack(p[j].ref, &r);
            if ((rc = refv_push(&add, r.author, r.seq)) != AM_OK)
                break;
        }
        if (rc == 0) {
            refv_normalize(&add); /* sorted already; drops repeats */
            rc = refv_merge(&v, &add);
        }
        if (rc == 0)
            rc = refs_encode(&v, 0, &w->rbuf, &w->rcap, &len);
        if (rc == 0) {
            d.mv_size = len;
            d.mv_data = w->rbuf;
            rc = mdb_put(w->txn, w->s->vrefs, &k, &d, 0);
        }
        i = j;
    }
    free(v.r);
    free(add.r);
    return rc;
}

/* Empties every view database and builds them again from the entries, in `txn`. */
static int rebuild(struct store *s, MDB_txn *txn, struct store_reindex_stats *st)
{
    struct pair *p = malloc(PAIRS_CHUNK * sizeof *p);
    struct wctx w = {.s = s, .txn = txn, .put_flags = MDB_APPEND};
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    size_t np = 0;
    int rc, op;

    memset(st, 0, sizeof *st);
    if (!p)
        return AM_ENOMEM;
    if ((rc = mdb_drop(txn, s->vrefs, 0)) != 0 || (rc = mdb_drop(txn, s->views, 0)) != 0 ||
        (rc = mdb_drop(txn, s->vneeds, 0)) != 0 || (rc = mdb_drop(txn, s->vcells, 0)) != 0 ||
        (rc = mdb_drop(txn, s->vinvalid, 0)) != 0)
        goto out;

    /* Pass 1: every entry's op to its object's refs (or to the invalid list). */
    if ((rc = mdb_cursor_open(txn, s->entries, &cur)) != 0)
        goto out;
    for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        struct entry e;
        struct relief_op rop;
        struct relief_key rk;
        uint8_t hash[AM_HASH_LEN];
        char err[RELIEF_ERR_MAX];
        size_t kl;
        int drc;

        st->entries++;
        if (entry_decode(&e, v.mv_data, v.mv_size) != AM_OK) {
            st->undecodable++; /* `aidmesh verify` names it */
            continue;
        }
        drc = relief_op_decode(e.op, e.op_len, &rop, err, sizeof err);
        if (drc == AM_EVERSION) {
            st->newer++;
            continue;
        }
        if (drc != AM_OK) {
            MDB_val ik = {STORE_KEY_LEN, k.mv_data}, iv = {strlen(err), err};
            st->invalid++;
            if ((rc = mdb_put(txn, s->vinvalid, &ik, &iv, MDB_APPEND)) != 0)
                goto out;
            continue;
        }
        if (rop.type == RELIEF_T_NEED_OPEN)
            entry_hash(&e, hash);
        if (relief_op_key(&rop, hash, &rk) != AM_OK ||
            relief_key_encode(&rk, p[np].key, &kl) != AM_OK) {
            MDB_val ik = {STORE_KEY_LEN, k.mv_data}, iv = {18, (void *)"op names no object"};
            st->invalid++;
            if ((rc = mdb_put(txn, s->vinvalid, &ik, &iv, MDB_APPEND)) != 0)
                goto out;
            continue;
        }
        st->ops++;
        p[np].klen = (uint8_t)kl;
        memcpy(p[np].ref, k.mv_data, REF_LEN);
        if (++np == PAIRS_CHUNK) {
            if ((rc = flush_pairs(&w, p, np)) != 0)
                goto out;
            np = 0;
        }
    }
    if (rc != MDB_NOTFOUND)
        goto out;
    mdb_cursor_close(cur);
    cur = NULL;
    if ((rc = flush_pairs(&w, p, np)) != 0)
        goto out;

    /* Pass 2: every object, in key order, from its refs. */
    if ((rc = mdb_cursor_open(txn, s->vrefs, &cur)) != 0)
        goto out;
    for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        uint8_t key[RELIEF_KEY_MAX], term[TERM_LEN];
        size_t klen = k.mv_size, rlen;
        struct relief_obj *o;
        struct refv refs = {0};
        if (klen > RELIEF_KEY_MAX) {
            rc = AM_ECORRUPT;
            goto out;
        }
        memcpy(key, k.mv_data, klen);
        rc = refs_decode(v.mv_data, v.mv_size, 0, &refs); /* copies: a put may move v */
        if (rc == AM_OK)
            rc = load_obj(s, txn, key, klen, &refs, &o); /* points the refs at their ops */
        if (rc == AM_OK) {
            rc = has_ops(key) ? refs_encode(&refs, 1, &w.rbuf, &w.rcap, &rlen)
                              : save_cell(o, &w.rbuf, &w.rcap, &rlen);
            if (rc != AM_OK)
                relief_obj_free(o);
        }
        free(refs.r);
        if (rc != 0)
            goto out;
        rc = write_view(&w, o, key, klen, w.rbuf, rlen, 0, NULL, NULL, 0, term);
        relief_obj_free(o);
        if (rc != 0)
            goto out;
        st->objects++;
    }
    if (rc != MDB_NOTFOUND)
        goto out;
    mdb_cursor_close(cur);
    cur = NULL;
    if ((rc = mdb_drop(txn, s->vrefs, 0)) != 0) /* the scratch is no longer needed */
        goto out;
    {
        uint8_t f = VIEWS_FORMAT;
        if ((rc = store_meta_put(txn, s, "view_fp", w.sum, TERM_LEN)) != 0 ||
            (rc = counts_write(s, txn, &w.vc)) != 0 ||
            (rc = store_meta_put(txn, s, "views_format", &f, 1)) != 0)
            goto out;
    }
    rc = 0;
out:
    mdb_cursor_close(cur);
    free(p);
    free(w.buf);
    free(w.rbuf);
    free(w.vbuf);
    return rc;
}

/* Runs rebuild in a write transaction, growing the map once when it is full. With
 * only_if_stale, does nothing when the views are current. */
static int reindex_txn(struct store *s, int only_if_stale, struct store_reindex_stats *st)
{
    struct store_reindex_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    if (s->read_only)
        return AM_ESTATE;
    for (int grown = 0;;) {
        MDB_txn *txn;
        int rc = store_txn_begin(s, 0, &txn);
        if (rc != 0)
            return store_mdb_err(rc);
        if (only_if_stale) {
            rc = views_current(s, txn);
            if (rc == 1) {
                mdb_txn_abort(txn);
                return AM_OK;
            }
            if (rc < 0) {
                mdb_txn_abort(txn);
                return rc > -100 ? rc : store_mdb_err(rc);
            }
        }
        rc = rebuild(s, txn, st);
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        if (rc == 0) {
            /* The cache's objects are still the stored sets, but start afresh anyway. */
            pthread_mutex_lock(&s->cache_lock);
            views_cache_free(s);
            pthread_mutex_unlock(&s->cache_lock);
            return AM_OK;
        }
        if (rc == MDB_MAP_FULL && !grown) {
            grown = 1;
            if ((rc = store_grow_map(s)) != AM_OK)
                return rc;
            continue;
        }
        return rc < 0 && rc > -100 ? rc : store_mdb_err(rc);
    }
}

int store_reindex(struct store *s, struct store_reindex_stats *st)
{
    return reindex_txn(s, 0, st);
}

int views_ensure(struct store *s)
{
    return reindex_txn(s, 1, NULL);
}

/* ---- reading ---- */

static int read_begin(struct store *s, MDB_txn **txn)
{
    int rc = store_txn_begin(s, MDB_RDONLY, txn);
    return rc == 0 ? AM_OK : store_mdb_err(rc);
}

static int finish_scan(int rc, int stop)
{
    if (stop)
        return stop;
    if (rc == MDB_NOTFOUND || rc == 0)
        return AM_OK;
    return rc < 0 && rc > -100 ? rc : store_mdb_err(rc);
}

int store_view_get(struct store *s, const uint8_t *key, size_t klen, uint8_t *buf, size_t cap,
                   size_t *len)
{
    MDB_txn *txn;
    MDB_val k = {klen, (void *)key}, v;
    int rc = read_begin(s, &txn);
    if (rc != AM_OK)
        return rc;
    rc = mdb_get(txn, s->views, &k, &v);
    if (rc == 0) {
        MDB_val dump, refs;
        if (view_split(&v, &dump, &refs) != AM_OK) {
            rc = AM_ECORRUPT;
        } else {
            *len = dump.mv_size;
            if (dump.mv_size > cap)
                rc = AM_ELIMIT;
            else
                memcpy(buf, dump.mv_data, dump.mv_size);
        }
    } else {
        rc = store_mdb_err(rc);
    }
    mdb_txn_abort(txn);
    return rc;
}

static unsigned common_nibbles(const uint8_t *a, const uint8_t *b)
{
    unsigned n = 0;
    for (int i = 0; i < RELIEF_ID_LEN; i++) {
        if (a[i] == b[i]) {
            n += 2;
            continue;
        }
        return n + ((a[i] >> 4) == (b[i] >> 4));
    }
    return n;
}

/* Hex digits that tell need `id` apart from every other need of the views. */
static unsigned id_digits(MDB_cursor *cur, const uint8_t id[RELIEF_ID_LEN])
{
    uint8_t key[1 + RELIEF_ID_LEN];
    MDB_val k = {sizeof key, key}, v;
    unsigned need = 0, c;
    key[0] = RELIEF_OBJ_NEED;
    memcpy(key + 1, id, RELIEF_ID_LEN);
    if (mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) == 0) {
        const uint8_t *p = k.mv_data;
        if (k.mv_size == sizeof key && p[0] == RELIEF_OBJ_NEED && !memcmp(p + 1, id, RELIEF_ID_LEN))
            if (mdb_cursor_get(cur, &k, &v, MDB_NEXT) != 0)
                k.mv_size = 0;
        p = k.mv_data;
        if (k.mv_size == sizeof key && p[0] == RELIEF_OBJ_NEED &&
            (c = common_nibbles(id, p + 1)) > need)
            need = c;
        k.mv_size = sizeof key;
        k.mv_data = key;
        if (mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) == 0 &&
            mdb_cursor_get(cur, &k, &v, MDB_PREV) == 0) {
            p = k.mv_data;
            if (k.mv_size == sizeof key && p[0] == RELIEF_OBJ_NEED &&
                (c = common_nibbles(id, p + 1)) > need)
                need = c;
        }
    }
    need++;
    if (need < RELIEF_ID_SHORT_MIN)
        need = RELIEF_ID_SHORT_MIN;
    return need > 32 ? 32 : need;
}

/* Calls cb with the object `key` of the views (if present); idcur: for need ids. */
static int emit(MDB_txn *txn, struct store *s, MDB_cursor *idcur, const uint8_t *key, size_t klen,
                const MDB_val *view, store_view_fn cb, void *ctx)
{
    struct store_view_row r;
    MDB_val v, dump, refs;
    if (!view) {
        MDB_val k = {klen, (void *)key};
        int rc = mdb_get(txn, s->views, &k, &v);
        if (rc == MDB_NOTFOUND)
            return AM_ECORRUPT; /* an index names an object without a view */
        if (rc != 0)
            return store_mdb_err(rc);
        view = &v;
    }
    if (view_split(view, &dump, &refs) != AM_OK)
        return AM_ECORRUPT;
    r.key = key;
    r.key_len = klen;
    r.view = dump.mv_data;
    r.view_len = dump.mv_size;
    r.id_digits = 0;
    if (klen == 1 + RELIEF_ID_LEN && key[0] == RELIEF_OBJ_NEED && idcur)
        r.id_digits = id_digits(idcur, key + 1);
    return cb(ctx, &r);
}

int store_views_each(struct store *s, const uint8_t *prefix, size_t plen, store_view_fn cb,
                     void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL, *idcur = NULL;
    MDB_val k = {plen, (void *)prefix}, v;
    int rc = read_begin(s, &txn), stop = 0, op = plen ? MDB_SET_RANGE : MDB_FIRST;

    if (rc != AM_OK)
        return rc;
    if ((rc = mdb_cursor_open(txn, s->views, &cur)) != 0 ||
        (rc = mdb_cursor_open(txn, s->views, &idcur)) != 0)
        goto out;
    for (; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        uint8_t key[RELIEF_KEY_MAX];
        if (k.mv_size < plen || (plen && memcmp(k.mv_data, prefix, plen) != 0))
            break;
        if (k.mv_size > RELIEF_KEY_MAX) {
            stop = AM_ECORRUPT;
            break;
        }
        memcpy(key, k.mv_data, k.mv_size);
        if ((stop = emit(txn, s, idcur, key, k.mv_size, &v, cb, ctx)) != 0)
            break;
    }
out:
    mdb_cursor_close(idcur);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return finish_scan(rc, stop);
}

int store_needs_each(struct store *s, const char *site, int status, store_view_fn cb, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL, *idcur = NULL;
    uint8_t prefix[2 + RELIEF_SLUG_MAX];
    size_t plen = 0;
    MDB_val k, v;
    int rc = read_begin(s, &txn), stop = 0, op;

    if (rc != AM_OK)
        return rc;
    if (site) {
        if (strlen(site) > RELIEF_SLUG_MAX) {
            mdb_txn_abort(txn);
            return AM_OK; /* no such site */
        }
        put_lp(prefix, &plen, site);
        if (status)
            prefix[plen++] = (uint8_t)status;
    }
    if ((rc = mdb_cursor_open(txn, s->vneeds, &cur)) != 0 ||
        (rc = mdb_cursor_open(txn, s->views, &idcur)) != 0)
        goto out;
    k.mv_size = plen;
    k.mv_data = prefix;
    for (op = plen ? MDB_SET_RANGE : MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0;
         op = MDB_NEXT) {
        const uint8_t *p = k.mv_data;
        uint8_t key[1 + RELIEF_ID_LEN];
        if (k.mv_size < plen || memcmp(p, prefix, plen) != 0)
            break;
        if (k.mv_size < 3 + RELIEF_ID_LEN || (size_t)p[0] + 3 + RELIEF_ID_LEN != k.mv_size) {
            stop = AM_ECORRUPT;
            break;
        }
        if (status && p[1 + p[0]] != status)
            continue;
        key[0] = RELIEF_OBJ_NEED;
        memcpy(key + 1, p + k.mv_size - RELIEF_ID_LEN, RELIEF_ID_LEN);
        if ((stop = emit(txn, s, idcur, key, sizeof key, NULL, cb, ctx)) != 0)
            break;
    }
out:
    mdb_cursor_close(idcur);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return finish_scan(rc, stop);
}

int store_cells_each(struct store *s, const char *site, const char *item, store_view_fn cb,
                     void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    uint8_t prefix[3 + 2 * RELIEF_SLUG_MAX];
    size_t plen = 0;
    MDB_val k, v;
    int rc, stop = 0, op;

    if ((site && strlen(site) > RELIEF_SLUG_MAX) || (item && strlen(item) > RELIEF_SLUG_MAX))
        return AM_OK; /* nothing can match */
    if (site || !item) {
        /* the views hold cells in site, item, lot, expiry order */
        prefix[plen++] = RELIEF_OBJ_CELL;
        if (site) {
            put_lp(prefix, &plen, site);
            if (item)
                put_lp(prefix, &plen, item);
        }
        return store_views_each(s, prefix, plen, cb, ctx);
    }
    if ((rc = read_begin(s, &txn)) != AM_OK)
        return rc;
    put_lp(prefix, &plen, item);
    if ((rc = mdb_cursor_open(txn, s->vcells, &cur)) != 0)
        goto out;
    k.mv_size = plen;
    k.mv_data = prefix;
    for (op = MDB_SET_RANGE; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        uint8_t key[RELIEF_KEY_MAX];
        size_t kl;
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if ((stop = cell_key_from_idx(k.mv_data, k.mv_size, key, &kl)) != 0)
            break;
        if ((stop = emit(txn, s, NULL, key, kl, NULL, cb, ctx)) != 0)
            break;
    }
out:
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return finish_scan(rc, stop);
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int store_need_find(struct store *s, const char *hex, uint8_t id[static RELIEF_ID_LEN],
                    unsigned *matches)
{
    uint8_t key[1 + RELIEF_ID_LEN] = {RELIEF_OBJ_NEED};
    size_t nh = strlen(hex);
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k = {1 + (nh + 1) / 2, key}, v;
    int rc, op;

    *matches = 0;
    if (nh == 0 || nh > 2 * RELIEF_ID_LEN)
        return AM_EINVAL;
    for (size_t i = 0; i < nh; i++) {
        int x = hexval((unsigned char)hex[i]);
        if (x < 0)
            return AM_EINVAL;
        key[1 + i / 2] |= (uint8_t)(i % 2 ? x : x << 4);
    }
    if ((rc = read_begin(s, &txn)) != AM_OK)
        return rc;
    if ((rc = mdb_cursor_open(txn, s->views, &cur)) != 0)
        goto out;
    for (op = MDB_SET_RANGE; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        const uint8_t *p = k.mv_data;
        size_t i;
        if (k.mv_size != 1 + RELIEF_ID_LEN || p[0] != RELIEF_OBJ_NEED)
            break;
        for (i = 0; i < nh; i++) {
            int a = i % 2 ? p[1 + i / 2] & 15 : p[1 + i / 2] >> 4;
            if (a != hexval((unsigned char)hex[i]))
                break;
        }
        if (i < nh)
            break;
        if (++*matches == 1)
            memcpy(id, p + 1, RELIEF_ID_LEN);
        if (*matches > 1)
            break;
    }
out:
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    rc = finish_scan(rc, 0);
    if (rc == AM_OK && *matches == 0)
        return AM_ENOTFOUND;
    return rc;
}

unsigned store_need_digits(struct store *s, const uint8_t id[static RELIEF_ID_LEN])
{
    MDB_txn *txn;
    MDB_cursor *cur;
    unsigned d = 2 * RELIEF_ID_LEN;
    if (read_begin(s, &txn) != AM_OK)
        return d;
    if (mdb_cursor_open(txn, s->views, &cur) == 0) {
        d = id_digits(cur, id);
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return d;
}

int store_obj_authors(struct store *s, const uint8_t *key, size_t klen,
                      int (*cb)(void *ctx, const uint8_t author[AM_PK_LEN]), void *ctx)
{
    MDB_txn *txn;
    MDB_val k = {klen, (void *)key}, d, dump, rec;
    struct refv v = {0};
    int rc = read_begin(s, &txn), stop = 0;

    if (rc != AM_OK)
        return rc;
    rc = mdb_get(txn, s->views, &k, &d);
    if (rc == MDB_NOTFOUND) {
        rc = 0; /* no object: no authors */
    } else if (rc == 0 && view_split(&d, &dump, &rec) != AM_OK) {
        rc = AM_ECORRUPT;
    } else if (rc == 0 && has_ops(key)) {
        rc = refs_decode(rec.mv_data, rec.mv_size, 1, &v);
    } else if (rc == 0) {
        const uint8_t *authors;
        uint32_t n;
        rc = relief_cell_record_authors(rec.mv_data, rec.mv_size, &authors, &n);
        for (uint32_t i = 0; rc == 0 && i < n; i++)
            rc = refv_push(&v, authors + (size_t)i * AM_PK_LEN, 1);
    }
    mdb_txn_abort(txn); /* v holds copies */
    for (uint32_t i = 0; rc == 0 && i < v.n && !stop; i++)
        if (i == 0 || memcmp(v.r[i].r.author, v.r[i - 1].r.author, AM_PK_LEN) != 0)
            stop = cb(ctx, v.r[i].r.author);
    free(v.r);
    return finish_scan(rc, stop);
}

int store_invalid_each(struct store *s,
                       int (*cb)(void *ctx, const uint8_t *author, uint64_t seq, const char *why,
                                 size_t len),
                       void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = read_begin(s, &txn), stop = 0, op;

    if (rc != AM_OK)
        return rc;
    if ((rc = mdb_cursor_open(txn, s->vinvalid, &cur)) != 0)
        goto out;
    for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        if (k.mv_size != STORE_KEY_LEN) {
            stop = AM_ECORRUPT;
            break;
        }
        if ((stop = cb(ctx, k.mv_data, store_be64_get((const uint8_t *)k.mv_data + AM_PK_LEN),
                       v.mv_data, v.mv_size)) != 0)
            break;
    }
out:
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return finish_scan(rc, stop);
}

int store_view_stats(struct store *s, struct store_view_stats *st)
{
    MDB_txn *txn;
    MDB_stat ms;
    struct vcounts vc;
    uint8_t sum[TERM_LEN];
    int rc = read_begin(s, &txn);

    memset(st, 0, sizeof *st);
    if (rc != AM_OK)
        return rc;
    counts_read(s, txn, &vc);
    sum_read(s, txn, sum);
    st->sites = vc.n[0];
    st->items = vc.n[1];
    st->needs = vc.n[2];
    st->cells = vc.n[3];
    if ((rc = mdb_stat(txn, s->views, &ms)) == 0)
        st->objects = ms.ms_entries;
    if (rc == 0 && (rc = mdb_stat(txn, s->vinvalid, &ms)) == 0)
        st->invalid = ms.ms_entries;
    st->current = views_current(s, txn) == 1;
    mdb_txn_abort(txn);
    fp_show(sum, st->objects, st->fingerprint);
    return rc == 0 ? AM_OK : store_mdb_err(rc);
}

int store_view_fingerprint_scan(struct store *s, uint8_t fp[static STORE_VIEW_FP_LEN])
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t sum[TERM_LEN] = {0}, t[TERM_LEN];
    uint64_t n = 0;
    int rc = read_begin(s, &txn), op;

    if (rc != AM_OK)
        return rc;
    if ((rc = mdb_cursor_open(txn, s->views, &cur)) != 0)
        goto out;
    for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        MDB_val dump, refs;
        if (view_split(&v, &dump, &refs) != AM_OK) {
            rc = AM_ECORRUPT;
            break;
        }
        fp_term(k.mv_data, k.mv_size, dump.mv_data, dump.mv_size, t);
        fp_add(sum, t);
        n++;
    }
out:
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    rc = finish_scan(rc, 0);
    if (rc == AM_OK)
        fp_show(sum, n, fp);
    return rc;
}

int store_views_digest(struct store *s, uint8_t out[static AM_HASH_LEN])
{
    static const char *const metas[] = {"view_fp", "view_counts", "views_format"};
    crypto_generichash_state h;
    MDB_txn *txn;
    MDB_dbi dbs[5];
    int rc = read_begin(s, &txn);

    if (rc != AM_OK)
        return rc;
    dbs[0] = s->vrefs;
    dbs[1] = s->views;
    dbs[2] = s->vneeds;
    dbs[3] = s->vcells;
    dbs[4] = s->vinvalid;
    crypto_generichash_init(&h, NULL, 0, AM_HASH_LEN);
    for (int d = 0; d < 5 && rc == AM_OK; d++) {
        MDB_cursor *cur;
        MDB_val k, v;
        int op;
        uint8_t sep[9] = {0xff, (uint8_t)d};
        crypto_generichash_update(&h, sep, 2);
        if ((rc = mdb_cursor_open(txn, dbs[d], &cur)) != 0) {
            rc = store_mdb_err(rc);
            break;
        }
        for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
            store_be64_put(sep, k.mv_size);
            crypto_generichash_update(&h, sep, 8);
            crypto_generichash_update(&h, k.mv_data, k.mv_size);
            store_be64_put(sep, v.mv_size);
            crypto_generichash_update(&h, sep, 8);
            crypto_generichash_update(&h, v.mv_data, v.mv_size);
        }
        mdb_cursor_close(cur);
        rc = finish_scan(rc, 0);
    }
    for (size_t i = 0; i < sizeof metas / sizeof metas[0] && rc == AM_OK; i++) {
        MDB_val v;
        uint8_t sep[8];
        int g = store_meta_get(txn, s, metas[i], &v);
        if (g != 0) {
            v.mv_size = 0;
            v.mv_data = sep;
        }
        store_be64_put(sep, g == 0 ? v.mv_size : UINT64_MAX);
        crypto_generichash_update(&h, sep, 8);
        crypto_generichash_update(&h, v.mv_data, v.mv_size);
    }
    mdb_txn_abort(txn);
    crypto_generichash_final(&h, out, AM_HASH_LEN);
    return rc;
}
