/*
 * store_views_update.c: the live update of the views (views_update, PROTOCOL.md section
 * 7.1), run by store.c inside the write transaction of the entries they come from, and
 * the in-memory cache of objects it reuses from one transaction to the next
 * (views_txn_end settles the cache once the transaction is over). Part of the store
 * module (store_views_int.h).
 *
 * Must never: let a view depend on the order or batching of arrival, change anything
 * outside the transaction it is given (the cache holds only committed states, checked
 * against the stored view before use; what an aborted transaction put in it is dropped),
 * drop an invalid op without recording it, or release the cache lock anywhere but in
 * views_txn_end. Never prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <sodium.h>

#include "am_err.h"
#include "am_grow.h"
#include "relief.h"
#include "store_int.h"
#include "store_views.h"
#include "store_views_int.h"

/* ---- the cache: committed objects of this process, checked before every use ---- */

struct cache_ent {
    struct cache_ent *hnext;               /* hash chain */
    struct cache_ent *newer, *older;       /* LRU list */
    struct cache_ent *pnext;               /* pending list of the open transaction */
    struct relief_obj *obj;                /* owned */
    uint64_t bytes;                        /* estimated memory */
    int valid;                             /* tag names the committed view of obj */
    int pending;                           /* changed by the open transaction */
    uint8_t tag[TERM_LEN], next[TERM_LEN]; /* views_fp_term of obj's view: committed, pending */
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

/* ---- checks that need the store's state ---- */

int views_check_state(const struct logs_ctx *lc, const struct relief_op *op, char *err,
                      size_t errcap)
{
    char hex[17];
    if (op->type != RELIEF_T_SUCCESSION || logs_ctx_forked(lc, op->old))
        return AM_OK;
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", op->old[i]);
    snprintf(err, errcap,
             "succession: the old key %s is not forked here (a key is succeeded only once it "
             "is seen signing two branches; this counts when that fork arrives)",
             hex);
    return AM_ESTATE;
}

/* ---- live update ---- */

/* One op to apply to one object: 12 bytes, so a batch of 65,536 touches stays in the CPU
 * cache while it is sorted and grouped. The op itself is decoded again when it is applied
 * (relief_op_decode_entry_op of bytes the first pass accepted: the same op), rather than
 * kept here decoded (a struct relief_op is ~370 bytes). */
struct touch {
    uint32_t e;    /* its entry: an index into the batch */
    uint32_t koff; /* its object's key: tlist.keys + koff */
    uint8_t klen;
};

/* The touches of a batch and the pool of their object keys (offsets: the pool grows). */
struct tlist {
    struct touch *t;
    size_t n, cap;
    uint8_t *keys;
    size_t klen, kcap;
};

/* Appends a touch of entry e on the object rk. AM_OK, AM_ENOMEM, or AM_EINVAL when rk has
 * no key (cannot happen for a decoded op; the caller records the op as invalid). */
static int tlist_push(struct tlist *l, uint32_t e, const struct relief_key *rk)
{
    size_t kl;
    if (AM_GROW(l->t, l->cap, l->n + 1, 1024) != AM_OK ||
        AM_GROW(l->keys, l->kcap, l->klen + RELIEF_KEY_MAX, 16384) != AM_OK)
        return AM_ENOMEM;
    if (relief_key_encode(rk, l->keys + l->klen, &kl) != AM_OK)
        return AM_EINVAL;
    l->t[l->n].e = e;
    l->t[l->n].koff = (uint32_t)l->klen;
    l->t[l->n].klen = (uint8_t)kl;
    l->n++;
    l->klen += kl;
    return AM_OK;
}

/* What update_obj reads of the batch: its entries, the logs context of the transaction,
 * and the scratch of the refs resolved for an op of a forked log (the object copies them
 * when the op is applied, so one scratch serves every op). */
struct tbatch {
    const struct views_entry *ents;
    const struct logs_ctx *lc;
    struct logs_scratch sc;
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
 * sorting moves 16 bytes per op, not a touch; once grouped, i names the touch's entry. The
 * objects are then visited in key order (struct tgrp): neighbours in the views tree one
 * after the other, so each descent and each put finds its pages hot. No view depends on
 * the order of visits. */
struct tord {
    uint64_t h;
    uint32_t i; /* index into the touches */
};

/* The touches of one object: ord[lo, hi). */
struct tgrp {
    const uint8_t *key;
    uint32_t lo, hi;
    uint8_t klen;
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

/* Sorts ord[0..n) by h, keeping arrival order among equal hashes (ord comes in arrival
 * order): a stable radix sort, a byte per pass, through tmp (n entries); passes where
 * every hash has the same byte are skipped. */
static void tord_sort(struct tord *ord, struct tord *tmp, size_t n)
{
    size_t cnt[256];
    for (int sh = 0; sh < 64; sh += 8) {
        size_t at = 0;
        memset(cnt, 0, sizeof cnt);
        for (size_t i = 0; i < n; i++)
            cnt[(ord[i].h >> sh) & 0xff]++;
        if (cnt[(ord[0].h >> sh) & 0xff] == n)
            continue;
        for (int b = 0; b < 256; b++) {
            size_t c = cnt[b];
            cnt[b] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[cnt[(ord[i].h >> sh) & 0xff]++] = ord[i];
        memcpy(ord, tmp, n * sizeof *ord);
    }
}

/* Object keys in the views tree's order (LMDB's default: bytes, then length). */
static int tgrp_cmp(const void *a, const void *b)
{
    const struct tgrp *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->klen < y->klen ? x->klen : y->klen);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* tgrp_cmp, then the runs of one key (a hash collision split it) in the order of ord. */
static int tgrp_cmp_lo(const void *a, const void *b)
{
    const struct tgrp *x = a, *y = b;
    int c = tgrp_cmp(a, b);
    return c ? c : (x->lo > y->lo) - (x->lo < y->lo);
}

/* The entries of an object's touches lie anywhere in the batch: while one object is
 * updated, the entries of the one VISIT_AHEAD later, and then the bytes they point to (log
 * and op) of the one VISIT_AHEAD / 2 later, are fetched into the CPU cache (at most
 * PREFETCH_TOUCHES per object), so its update does not wait on memory. Not further ahead:
 * an update moves pages of LMDB and buffers of kilobytes through the cache, which would
 * push out what was fetched too early. */
#define VISIT_AHEAD      2
#define PREFETCH_TOUCHES 8

static void touch_prefetch(const struct tbatch *b, const struct tord *ord, const struct tgrp *g,
                           int ops)
{
    for (uint32_t k = g->lo; k < g->hi && k - g->lo < PREFETCH_TOUCHES; k++) {
        const struct views_entry *e = &b->ents[ord[k].i];
        if (!ops) {
            __builtin_prefetch(e);
            continue;
        }
        __builtin_prefetch(e->log); /* the ref's author */
        __builtin_prefetch(e->op);
        if (e->op_len > 64)
            __builtin_prefetch(e->op + 64);
    }
}

/* Applies the ops of the entries ents[ord[0..n).i] (one object, key[0..klen)) to its
 * object and writes its view. */
static int update_obj(struct wctx *w, struct views_cache *c, struct tbatch *b,
                      const struct tord *ord, size_t n, const uint8_t *key, size_t klen)
{
    struct store *s = w->s;
    uint8_t old_term[TERM_LEN], new_term[TERM_LEN];
    struct need_keys old_keys, *old = NULL;
    MDB_val k = {klen, (void *)key}, v;
    struct cache_ent *ce = c ? cache_find(c, key, klen) : NULL;
    struct relief_obj *o = NULL;
    struct refv refs = {0}, add = {0};
    MDB_val rv = {0, NULL};
    size_t rlen;
    int rc, had_old, cell = !views_has_ops(key);

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
        if (views_view_split(&v, &dump, &rv) != AM_OK)
            return AM_ECORRUPT;
        views_fp_term(key, klen, dump.mv_data, dump.mv_size, old_term);
        /* a cell's record is rewritten from the object; an ops record is merged */
        if (!cell && (rc = views_refs_decode(rv.mv_data, rv.mv_size, 1, &refs)) != 0)
            goto fail;
    }

    if (ce && !ce->pending && ce->valid && had_old && !memcmp(ce->tag, old_term, TERM_LEN)) {
        o = ce->obj; /* the cache holds exactly the stored set */
        c->st.hits++;
    } else {
        if (had_old) {
            if ((rc = cell ? views_load_cell(key, klen, &rv, &o)
                           : views_load_obj(s, w->txn, key, klen, &refs, &o)) != 0)
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

    if (had_old && relief_obj_key(o)->kind == RELIEF_OBJ_NEED) {
        if ((rc = views_need_keys(o, &old_keys)) != AM_OK)
            goto out;
        old = &old_keys;
    }

    for (size_t i = 0; i < n; i++) {
        const struct views_entry *e = &b->ents[ord[i].i];
        struct relief_op op;
        struct vref x = {.r.seq = e->seq, .hlc = e->hlc, .op = e->op, .op_len = e->op_len};
        memcpy(x.r.author, e->log, AM_PK_LEN);
        /* accepted by the first pass of views_update: decodes to the same op */
        if (relief_op_decode_entry_op(e->op, e->op_len, &op, NULL, 0) != AM_OK) {
            rc = AM_ECORRUPT;
            goto out;
        }
        /* the refs of an op on or about a forked author's logs (PROTOCOL.md 10.8.5) */
        if ((rc = logs_resolve_op(b->lc, &op, e->log, e->author, &b->sc)) != AM_OK)
            goto out;
        rc = relief_obj_apply(o, &op, &x.r, x.hlc, e->hash);
        if (rc == AM_ENOMEM)
            goto out;
        if (rc != AM_OK) {
            /* Decoded, but refused by the merge rules (a second op under one ref, an object
             * of 2^30 ops): a function of the bytes, so every node refuses it alike. */
            char why[RELIEF_ERR_MAX + 64];
            snprintf(why, sizeof why, "%s: refused by the merge rules: %s",
                     relief_type_name(op.type), am_strerror(rc));
            if ((rc = put_invalid(s, w->txn, x.r.author, x.r.seq, why)) != 0)
                goto out;
            continue;
        }
        if (!cell && (rc = views_refv_add(&add, &x)) != AM_OK)
            goto out;
    }
    if (relief_obj_nops(o) == 0) { /* nothing was applied: no object */
        rc = 0;
        goto out;
    }
    if (cell) {
        if ((rc = views_save_cell(o, &w->rbuf, &w->rcap, &rlen)) != AM_OK)
            goto out;
    } else {
        views_refv_normalize(&add);
        if ((rc = views_refv_merge(&refs, &add)) != AM_OK ||
            (rc = views_refs_encode(&refs, 1, &w->rbuf, &w->rcap, &rlen)) != AM_OK)
            goto out;
    }
    free(refs.r);
    free(add.r);
    refs.r = add.r = NULL;
    rc = views_write_view(w, o, key, klen, w->rbuf, rlen, had_old, old_term, old, new_term);
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

/* A ship.dsp or ship.rcv (op, of entry e, whose touch of its shipment is in l) also
 * touches each stock cell its lines name (PROTOCOL.md 10.7): one more touch per cell, the
 * same op. AM_OK or AM_ENOMEM. */
static int add_cell_touches(struct tlist *l, uint32_t e, const struct relief_op *op)
{
    struct relief_key rk;

    for (uint32_t i = 0; relief_op_cell(op, i, &rk) == AM_OK; i++)
        if (tlist_push(l, e, &rk) == AM_ENOMEM)
            return AM_ENOMEM;
    return AM_OK;
}

int views_update(struct store *s, MDB_txn *txn, const struct views_entry *ents, size_t n,
                 uint64_t *invalid)
{
    struct tlist tl = {0};
    struct tbatch b = {.ents = ents};
    struct tord *ord = NULL;
    struct tgrp *grp = NULL;
    struct views_cache *c;
    struct idx_defer defer = {0};
    struct wctx w = {.s = s, .txn = txn, .defer = &defer};
    const struct logs_ctx *lc;
    size_t nt, ng = 0;
    int rc = 0;

    pthread_mutex_lock(&s->cache_lock); /* released by views_txn_end */
    if (invalid)
        *invalid = 0;
    c = s->cache_max > 0 ? cache_get(s) : NULL;
    if (n == 0)
        return 0;
    if (n > UINT32_MAX)
        return AM_ELIMIT; /* a touch names its entry in 32 bits (a batch is 65,536 at most) */
    if ((rc = logs_ctx_get(s, txn, &lc)) != AM_OK)
        return rc;
    b.lc = lc;
    if (AM_GROW(tl.t, tl.cap, n, 1024) != AM_OK)
        return AM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct views_entry *e = &ents[i];
        struct relief_op op;     /* checked here, decoded again when applied (struct touch) */
        if (i + VISIT_AHEAD < n) /* the entries' bytes lie anywhere in memory */
            __builtin_prefetch(ents[i + VISIT_AHEAD].op);
        struct relief_key rk;
        char err[RELIEF_ERR_MAX];
        int drc = relief_op_decode_entry_op(e->op, e->op_len, &op, err, sizeof err);
        if (drc == AM_EVERSION)
            continue; /* an op of a newer version: not ours to judge */
        if (lc && logs_ctx_abusive(lc, e->author))
            continue;     /* signed more branches than the bound: none of its ops count */
        if (drc == AM_OK) /* what needs the entry's author: a succession's two keys */
            drc = relief_op_check_author(&op, e->author, err, sizeof err);
        if (drc == AM_OK) /* what needs the store: a succession's old key forked here */
            drc = views_check_state(lc, &op, err, sizeof err);
        if (drc != AM_OK) {
            if ((rc = put_invalid(s, txn, e->log, e->seq, err)) != 0)
                goto out;
            if (invalid)
                ++*invalid;
            continue;
        }
        rc = relief_op_key(&op, e->hash, &rk) != AM_OK ? AM_EINVAL
                                                       : tlist_push(&tl, (uint32_t)i, &rk);
        if (rc == AM_ENOMEM)
            goto out;
        if (rc != AM_OK) {
            /* cannot happen for a decoded op; never let it stop a batch */
            if ((rc = put_invalid(s, txn, e->log, e->seq, "op names no object")) != 0)
                goto out;
            if (invalid)
                ++*invalid;
            continue;
        }
        if ((op.type == RELIEF_T_SHIP_DSP || op.type == RELIEF_T_SHIP_RCV) &&
            (rc = add_cell_touches(&tl, (uint32_t)i, &op)) != AM_OK)
            goto out;
    }
    nt = tl.n;
    if (nt == 0)
        goto out;
    /* ord and its radix scratch in one block; then the groups, at most one per touch */
    if (!(ord = malloc(2 * nt * sizeof *ord)) || !(grp = malloc(nt * sizeof *grp))) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nt; i++) {
        ord[i].h = key_hash(tl.keys + tl.t[i].koff, tl.t[i].klen);
        ord[i].i = (uint32_t)i;
    }
    tord_sort(ord, ord + nt, nt);
    for (size_t i = 0; i < nt;) {
        const struct touch *a = &tl.t[ord[i].i];
        const uint8_t *ak = tl.keys + a->koff;
        size_t j = i + 1;
        /* a hash shared by two keys splits an object's touches in runs: each run is
         * applied in turn, as a later batch would (equal keys, so the runs stay in
         * arrival order through the stable sort below) */
        while (j < nt && ord[j].h == ord[i].h && tl.t[ord[j].i].klen == a->klen &&
               !memcmp(tl.keys + tl.t[ord[j].i].koff, ak, a->klen))
            j++;
        grp[ng].key = ak;
        grp[ng].klen = a->klen;
        grp[ng].lo = (uint32_t)i;
        grp[ng].hi = (uint32_t)j;
        ng++;
        i = j;
    }
    /* equal keys only from a split (above): kept in run order by the tie on lo */
    qsort(grp, ng, sizeof *grp, tgrp_cmp_lo);
    for (size_t i = 0; i < nt; i++) /* from here on, the entry of each touch */
        ord[i].i = tl.t[ord[i].i].e;
    if ((rc = mdb_cursor_open(txn, s->views, &w.vcur)) != 0)
        goto out;
    views_sum_read(s, txn, w.sum);
    views_counts_read(s, txn, &w.vc);
    for (size_t g = 0; g < ng; g++) {
        if (g + VISIT_AHEAD < ng)
            touch_prefetch(&b, ord, &grp[g + VISIT_AHEAD], 0);
        if (g + VISIT_AHEAD / 2 < ng)
            touch_prefetch(&b, ord, &grp[g + VISIT_AHEAD / 2], 1);
        if ((rc = update_obj(&w, c, &b, ord + grp[g].lo, grp[g].hi - grp[g].lo, grp[g].key,
                             grp[g].klen)) != 0)
            goto out;
    }
    if ((rc = views_idx_flush(&w)) != 0 ||
        (rc = store_meta_put(txn, s, "view_fp", w.sum, TERM_LEN)) != 0 ||
        (rc = views_counts_write(s, txn, &w.vc)) != 0)
        goto out;
out:
    mdb_cursor_close(w.vcur);
    views_idx_free(&defer);
    free(b.sc.r);
    free(tl.t);
    free(tl.keys);
    free(ord);
    free(grp);
    free(w.buf);
    free(w.rbuf);
    free(w.vbuf);
    free(w.obuf);
    return rc;
}
