/*
 * store_views_rebuild.c: rebuilds every view database from the entries and the lane
 * (store_reindex; views_ensure when the views are absent or of another format), in one
 * write transaction that grows the map once when it is full. Part of the store module
 * (store_views_int.h).
 *
 * Must never: give a result that differs by a byte from the live update of the same
 * entries, leave the scratch refs database (vrefs) filled once it is done, run on a
 * read-only store, or commit a half-built set of views. Never prints.
 */
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <sodium.h>

#include "am_err.h"
#include "entry.h"
#include "relief.h"
#include "store_int.h"
#include "store_views.h"
#include "store_views_int.h"

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
            rc = views_refs_decode(d.mv_data, d.mv_size, 0, &v);
        else if (rc == MDB_NOTFOUND)
            rc = 0;
        if (rc != 0)
            break;
        for (; j < n && p[j].klen == p[i].klen && !memcmp(p[j].key, p[i].key, p[i].klen); j++) {
            struct relief_ref r;
            relief_ref_unpack(p[j].ref, &r);
            if ((rc = views_refv_push(&add, r.author, r.seq)) != AM_OK)
                break;
        }
        if (rc == 0) {
            views_refv_normalize(&add); /* sorted already; drops repeats */
            rc = views_refv_merge(&v, &add);
        }
        if (rc == 0)
            rc = views_refs_encode(&v, 0, &w->rbuf, &w->rcap, &len);
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

/* Pass 1 of a rebuild: what it gathers, and where. */
struct pass1 {
    struct wctx *w;
    const struct logs_ctx *lc;
    struct pair *p;
    size_t np;
    unsigned iflags; /* vinvalid puts: MDB_APPEND while in key order */
    struct store_reindex_stats *st;
};

/* One entry (k: its ref, author || be64 seq) to its object's refs, or to the invalid
 * list. 0 or an LMDB/am_err code. */
static int pass1_entry(struct pass1 *q, const MDB_val *k, const MDB_val *v)
{
    struct store *s = q->w->s;
    struct store_reindex_stats *st = q->st;
    struct pair *pr = &q->p[q->np];
    struct entry e;
    struct relief_op rop;
    struct relief_key rk;
    uint8_t hash[AM_HASH_LEN];
    char err[RELIEF_ERR_MAX];
    size_t kl;
    int drc;

    if (entry_decode(&e, v->mv_data, v->mv_size) != AM_OK) {
        st->undecodable++; /* `aidmesh verify` names it */
        return 0;
    }
    drc = relief_op_decode(e.op, e.op_len, &rop, err, sizeof err);
    if (drc == AM_EVERSION) {
        st->newer++;
        return 0;
    }
    if (q->lc && logs_ctx_abusive(q->lc, e.author))
        return 0;     /* as views_update: an abusive author's ops stay out */
    if (drc == AM_OK) /* as views_update: what needs the entry's author */
        drc = relief_op_check_author(&rop, e.author, err, sizeof err);
    if (drc == AM_OK) /* as views_update: what needs the store */
        drc = views_check_state(q->lc, &rop, err, sizeof err);
    if (drc != AM_OK) {
        MDB_val ik = {STORE_KEY_LEN, k->mv_data}, iv = {strlen(err), err};
        st->invalid++;
        return mdb_put(q->w->txn, s->vinvalid, &ik, &iv, q->iflags);
    }
    if (rop.type == RELIEF_T_NEED_OPEN || rop.type == RELIEF_T_SHIP_NEW)
        entry_hash(&e, hash);
    if (relief_op_key(&rop, hash, &rk) != AM_OK || relief_key_encode(&rk, pr->key, &kl) != AM_OK) {
        MDB_val ik = {STORE_KEY_LEN, k->mv_data}, iv = {18, (void *)"op names no object"};
        st->invalid++;
        return mdb_put(q->w->txn, s->vinvalid, &ik, &iv, q->iflags);
    }
    st->ops++;
    pr->klen = (uint8_t)kl;
    memcpy(pr->ref, k->mv_data, REF_LEN);
    if (++q->np == PAIRS_CHUNK) {
        q->np = 0;
        if ((drc = flush_pairs(q->w, q->p, PAIRS_CHUNK)) != 0)
            return drc;
    }
    /* a dispatch or a receipt is also an op of each cell its lines name (PROTOCOL.md 10.7) */
    for (uint32_t i = 0; relief_op_cell(&rop, i, &rk) == AM_OK; i++) {
        pr = &q->p[q->np];
        if (relief_key_encode(&rk, pr->key, &kl) != AM_OK)
            continue;
        pr->klen = (uint8_t)kl;
        memcpy(pr->ref, k->mv_data, REF_LEN);
        if (++q->np == PAIRS_CHUNK) {
            q->np = 0;
            if ((drc = flush_pairs(q->w, q->p, PAIRS_CHUNK)) != 0)
                return drc;
        }
    }
    return 0;
}

/* Pass 1 over the lane (PROTOCOL.md 6, "Lane"): the entries held there of authors not
 * forked here, whose log has not reached them, as if stored in their root log. */
static int pass1_lane(struct pass1 *q, MDB_cursor *cur)
{
    MDB_txn *txn = q->w->txn;
    struct store *s = q->w->s;
    MDB_val k, v, d;
    int rc, op;

    q->iflags = 0; /* lane keys come between the entries' */
    for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        if (k.mv_size != STORE_KEY_LEN || v.mv_size > AM_ENTRY_MAX)
            return AM_ECORRUPT;
        if (q->lc && logs_ctx_forked(q->lc, k.mv_data))
            continue;
        if ((rc = mdb_get(txn, s->entries, &k, &d)) == 0)
            continue; /* its log has it: applied as stored */
        if (rc != MDB_NOTFOUND || (rc = pass1_entry(q, &k, &v)) != 0)
            return rc;
    }
    return rc;
}

/* Empties every view database and builds them again from the entries, in `txn`. */
static int rebuild(struct store *s, MDB_txn *txn, struct store_reindex_stats *st)
{
    struct pair *p = malloc(PAIRS_CHUNK * sizeof *p);
    struct wctx w = {.s = s, .txn = txn, .put_flags = MDB_APPEND};
    struct pass1 q = {.w = &w, .p = p, .iflags = MDB_APPEND, .st = st};
    const struct logs_ctx *lc;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc, op;

    memset(st, 0, sizeof *st);
    if (!p)
        return AM_ENOMEM;
    if ((rc = logs_ctx_get(s, txn, &lc)) != AM_OK)
        goto out;
    q.lc = lc;
    if ((rc = mdb_drop(txn, s->vrefs, 0)) != 0 || (rc = mdb_drop(txn, s->views, 0)) != 0 ||
        (rc = mdb_drop(txn, s->vneeds, 0)) != 0 || (rc = mdb_drop(txn, s->vcells, 0)) != 0 ||
        (rc = mdb_drop(txn, s->vinvalid, 0)) != 0 || (rc = mdb_drop(txn, s->vorder, 0)) != 0 ||
        (rc = mdb_drop(txn, s->vdup, 0)) != 0)
        goto out;

    /* Pass 1: every entry's op to its object's refs (or to the invalid list), then the
     * lane's. */
    if ((rc = mdb_cursor_open(txn, s->entries, &cur)) != 0)
        goto out;
    for (op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        st->entries++;
        if ((rc = pass1_entry(&q, &k, &v)) != 0)
            goto out;
    }
    if (rc != MDB_NOTFOUND)
        goto out;
    mdb_cursor_close(cur);
    cur = NULL;
    if (s->has_lane) {
        if ((rc = mdb_cursor_open(txn, s->lane, &cur)) != 0)
            goto out;
        if ((rc = pass1_lane(&q, cur)) != MDB_NOTFOUND)
            goto out;
        mdb_cursor_close(cur);
        cur = NULL;
    }
    if ((rc = flush_pairs(&w, p, q.np)) != 0)
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
        rc = views_refs_decode(v.mv_data, v.mv_size, 0, &refs); /* copies: a put may move v */
        if (rc == AM_OK)
            rc = views_load_obj(s, txn, key, klen, &refs, &o); /* points the refs at their ops */
        if (rc == AM_OK) {
            rc = views_has_ops(key) ? views_refs_encode(&refs, 1, &w.rbuf, &w.rcap, &rlen)
                                    : views_save_cell(o, &w.rbuf, &w.rcap, &rlen);
            if (rc != AM_OK)
                relief_obj_free(o);
        }
        free(refs.r);
        if (rc != 0)
            goto out;
        rc = views_write_view(&w, o, key, klen, w.rbuf, rlen, 0, NULL, NULL, term);
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
            (rc = views_counts_write(s, txn, &w.vc)) != 0 ||
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
        pthread_mutex_lock(&s->cache_lock); /* the logs' copy (logs_ctx) is under it */
        rc = rebuild(s, txn, st);
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        /* The cache's objects are still the stored sets, but start afresh anyway. */
        views_cache_free(s);
        pthread_mutex_unlock(&s->cache_lock);
        if (rc == 0)
            return AM_OK;
        if (rc == MDB_MAP_FULL && !grown) {
            grown = 1;
            if ((rc = store_grow_map(s)) != AM_OK)
                return rc;
            continue;
        }
        return rc < 0 && rc > -100 ? rc : store_mdb_err(rc);
    }
}

int views_rebuild_in(struct store *s, MDB_txn *txn, uint64_t *invalid)
{
    struct store_reindex_stats st;
    pthread_mutex_lock(&s->cache_lock); /* released by views_txn_end */
    views_cache_free(s);
    if (invalid)
        *invalid = 0;
    return rebuild(s, txn, &st);
}

int store_reindex(struct store *s, struct store_reindex_stats *st)
{
    return reindex_txn(s, 0, st);
}

int views_ensure(struct store *s)
{
    return reindex_txn(s, 1, NULL);
}
