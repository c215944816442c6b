/*
 * store_lane.c: the priority lane (PROTOCOL.md 6, "Lane"): entries received out of their
 * log's order, each authenticated by its own signature, held in the `lane` database until
 * their log reaches them. Their ops are in the views at once, named (author, seq) like any
 * entry of a root log, so the log bringing the same entry later changes nothing there.
 * Part of the store module (store_int.h); store.c settles the lane in the write
 * transaction of every ingest (lane_settle), the rebuild applies the lane after the
 * entries (store_views_rebuild.c).
 *
 * Must never: take an entry of an author forked here, or one its log has reached; hold a
 * write transaction while verifying signatures; hold more than AM_LANE_MAX entries; leave
 * a lane entry whose log brought other bytes at its seq in the views. Never prints.
 */
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "am_err.h"
#include "entry.h"
#include "hlc.h"
#include "store_int.h"
#include "store_views.h"

#define FORKED_FLAGS (STORE_HEAD_FORKED | STORE_HEAD_SPLIT | STORE_HEAD_ABUSIVE)

static void lane_key(uint8_t key[STORE_KEY_LEN], const uint8_t *author, uint64_t seq)
{
    memcpy(key, author, AM_PK_LEN);
    store_be64_put(key + AM_PK_LEN, seq);
}

int lane_open_db(struct store *s, MDB_txn *txn, unsigned dbflags)
{
    /* a read-only store made before the lane: none held */
    int rc = mdb_dbi_open(txn, "lane", dbflags, &s->lane);
    s->has_lane = rc == 0;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int lane_get(MDB_txn *txn, struct store *s, const uint8_t key[STORE_KEY_LEN], MDB_val *v)
{
    MDB_val k = {STORE_KEY_LEN, (void *)key};
    if (!s->has_lane)
        return MDB_NOTFOUND;
    return mdb_get(txn, s->lane, &k, v);
}

void lane_stat(MDB_txn *txn, struct store *s, struct store_stats *st)
{
    MDB_stat ms;
    if (s->has_lane && mdb_stat(txn, s->lane, &ms) == 0)
        st->lane = ms.ms_entries;
}

/* ---- settling the lane as logs arrive ---------------------------------------------------- */

/* Deletes every lane record of `author`. LMDB code. */
static int drop_author(struct store *s, MDB_txn *txn, const uint8_t *author)
{
    uint8_t key[STORE_KEY_LEN];
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    lane_key(key, author, 0);
    if ((rc = mdb_cursor_open(txn, s->lane, &cur)) != 0)
        return rc;
    for (;;) {
        k.mv_size = STORE_KEY_LEN;
        k.mv_data = key;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc != 0 || k.mv_size != STORE_KEY_LEN || memcmp(k.mv_data, author, AM_PK_LEN) != 0)
            break;
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Whether the lane holds a record of `author`. */
static int author_held(struct store *s, MDB_txn *txn, const uint8_t *author)
{
    uint8_t key[STORE_KEY_LEN];
    MDB_cursor *cur;
    MDB_val k = {STORE_KEY_LEN, key}, v;
    int rc, held;

    lane_key(key, author, 0);
    if ((rc = mdb_cursor_open(txn, s->lane, &cur)) != 0)
        return rc;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    held = rc == 0 && k.mv_size == STORE_KEY_LEN && !memcmp(k.mv_data, author, AM_PK_LEN);
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? held : rc;
}

int lane_settle(struct store *s, MDB_txn *txn, const struct item *items, size_t n, int *resplit)
{
    MDB_stat ms;
    int rc;

    if (!s->has_lane || n == 0)
        return 0;
    if ((rc = mdb_stat(txn, s->lane, &ms)) != 0)
        return rc;
    if (ms.ms_entries == 0)
        return 0; /* the usual case: one stat per write transaction */
    /* items are sorted by author, then seq */
    for (size_t lo = 0, hi; lo < n; lo = hi) {
        const uint8_t *author = items[lo].e.author;
        struct store_head h;
        int drop = 0;

        for (hi = lo + 1; hi < n && !memcmp(items[hi].e.author, author, AM_PK_LEN); hi++)
            ;
        if ((rc = author_held(s, txn, author)) <= 0) {
            if (rc < 0)
                return rc;
            continue;
        }
        rc = store_head_read(txn, s, author, &h);
        if (rc != AM_OK && rc != AM_ENOTFOUND)
            return rc;
        /* an author forked here: its lane entries leave (the rebuild left them out) */
        drop = rc == AM_OK && (h.flags & FORKED_FLAGS);
        for (size_t i = lo; i < hi && !drop; i++) {
            const struct item *it = &items[i];
            uint8_t key[STORE_KEY_LEN];
            MDB_val k = {STORE_KEY_LEN, key}, v;
            if (it->verdict != V_NEW && it->verdict != V_FORK)
                continue;
            lane_key(key, author, it->e.seq);
            rc = mdb_get(txn, s->lane, &k, &v);
            if (rc == MDB_NOTFOUND)
                continue;
            if (rc != 0)
                return rc;
            if (v.mv_size == it->e.raw_len && !memcmp(v.mv_data, it->e.raw, v.mv_size)) {
                /* its log reached it: the op is in the views already */
                if ((rc = mdb_del(txn, s->lane, &k, NULL)) != 0)
                    return rc;
            } else {
                drop = 1; /* the author signed two entries at this seq */
            }
        }
        if (drop) {
            if ((rc = drop_author(s, txn, author)) != 0)
                return rc;
            *resplit = 1; /* the views are made again without them */
        }
    }
    return 0;
}

/* ---- taking entries into the lane ------------------------------------------------------- */

enum lane_verdict { L_PENDING, L_ADD, L_DUP, L_SKIP, L_BADSIG, L_FULL };

struct litem {
    struct entry e;
    uint8_t hash[AM_HASH_LEN];
    size_t idx;
    uint8_t verdict; /* enum lane_verdict */
    uint8_t twin;    /* another entry of the batch at its (author, seq) has other bytes */
    uint8_t cand;    /* its signature verified: the write transaction decides */
};

static int litem_cmp(const void *a, const void *b)
{
    const struct litem *x = a, *y = b;
    int c = memcmp(x->e.author, y->e.author, AM_PK_LEN);
    if (c)
        return c;
    if (x->e.seq != y->e.seq)
        return x->e.seq < y->e.seq ? -1 : 1;
    if ((c = memcmp(x->hash, y->hash, AM_HASH_LEN)) != 0)
        return c; /* copies of one entry side by side */
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int same(const struct entry *e, const MDB_val *v)
{
    return v->mv_size == e->raw_len && memcmp(v->mv_data, e->raw, v->mv_size) == 0;
}

/* What the store says of li now, read in txn: L_PENDING (take it), L_DUP or L_SKIP.
 * *rc: an LMDB or am_err code when the store cannot be read. */
static int classify(struct store *s, MDB_txn *txn, const struct litem *li, int *rc)
{
    uint8_t key[STORE_KEY_LEN];
    MDB_val k = {STORE_KEY_LEN, key}, v;
    struct store_head h;
    int r;

    *rc = 0;
    r = store_head_read(txn, s, li->e.author, &h);
    if (r != AM_OK && r != AM_ENOTFOUND) {
        *rc = r;
        return L_SKIP;
    }
    if (r == AM_ENOTFOUND)
        memset(&h, 0, sizeof h);
    if (h.flags & FORKED_FLAGS)
        return L_SKIP; /* its logs are many: the lane carries unforked authors only */
    {
        /* a key this store appends under (meta self/, PROTOCOL.md 7): only its own log
         * brings its entries, or another machine using the key forks it */
        uint8_t name[5 + AM_PK_LEN];
        memcpy(name, "self/", 5);
        memcpy(name + 5, li->e.author, AM_PK_LEN);
        k.mv_size = sizeof name;
        k.mv_data = name;
        r = mdb_get(txn, s->meta, &k, &v);
        if (r != MDB_NOTFOUND) {
            *rc = r; /* 0: the key is this store's own */
            return L_SKIP;
        }
        k.mv_size = STORE_KEY_LEN;
        k.mv_data = key;
    }
    lane_key(key, li->e.author, li->e.seq);
    if (li->e.seq <= h.seq) {
        r = mdb_get(txn, s->entries, &k, &v);
        if (r != 0 && r != MDB_NOTFOUND)
            *rc = r;
        return r == 0 && same(&li->e, &v) ? L_DUP : L_SKIP;
    }
    r = lane_get(txn, s, key, &v);
    if (r == 0)
        return same(&li->e, &v) ? L_DUP : L_SKIP;
    if (r != MDB_NOTFOUND)
        *rc = r;
    return li->twin ? L_SKIP : L_PENDING;
}

/* The write transaction of a lane ingest: re-check, bound, put, stamps. *nve: the entries
 * for the views. 0 or an LMDB/am_err code. */
static int lane_write(struct store *s, MDB_txn *txn, struct litem *li, size_t n, uint64_t wall_ms,
                      struct views_entry *ve, size_t *nve)
{
    struct hlc clk = {0};
    MDB_stat ms;
    MDB_val v;
    uint64_t held;
    int rc, seen_changed = 0;

    *nve = 0;
    if ((rc = mdb_stat(txn, s->lane, &ms)) != 0)
        return rc;
    held = ms.ms_entries;
    if (store_meta_get(txn, s, "hlc_seen", &v) == 0 && v.mv_size == 8)
        clk.last = store_be64_get(v.mv_data);
    for (size_t i = 0; i < n; i++) {
        struct litem *x = &li[i];
        uint8_t key[STORE_KEY_LEN];
        MDB_val k = {STORE_KEY_LEN, key}, val = {x->e.raw_len, (void *)x->e.raw};
        if (!x->cand)
            continue;
        /* again inside the transaction: another process may have written meanwhile */
        if ((x->verdict = (uint8_t)classify(s, txn, x, &rc)) != L_PENDING) {
            if (rc != 0)
                return rc;
            continue;
        }
        if (held >= AM_LANE_MAX) {
            x->verdict = L_FULL;
            continue;
        }
        lane_key(key, x->e.author, x->e.seq);
        if ((rc = mdb_put(txn, s->lane, &k, &val, MDB_NOOVERWRITE)) != 0)
            return rc; /* KEYEXIST cannot be: classify looked, and twins are skipped */
        x->verdict = L_ADD;
        held++;
        if (hlc_observe(&clk, x->e.hlc, wall_ms) == 0)
            seen_changed = 1;
        ve[*nve].log = x->e.author;
        ve[*nve].author = x->e.author;
        ve[*nve].seq = x->e.seq;
        ve[*nve].hlc = x->e.hlc;
        ve[*nve].hash = x->hash;
        ve[*nve].op = x->e.op;
        ve[*nve].op_len = x->e.op_len;
        ++*nve;
    }
    if (seen_changed) {
        uint8_t b[8];
        store_be64_put(b, clk.last);
        if ((rc = store_meta_put(txn, s, "hlc_seen", b, 8)) != 0)
            return rc;
    }
    return 0;
}

int store_lane_ingest(struct store *s, const uint8_t *const *raw, const size_t *lens, size_t n,
                      uint64_t wall_ms, struct store_lane_stats *st)
{
    struct litem *li = NULL;
    struct views_entry *ve = NULL;
    size_t nl = 0, nve;
    MDB_txn *txn;
    int rc = AM_OK;

    memset(st, 0, sizeof *st);
    if (s->read_only || !s->has_lane)
        return AM_ESTATE;
    if (n > AM_INGEST_BATCH_MAX)
        return AM_ELIMIT;
    if (n == 0)
        return AM_OK;
    li = malloc(n * sizeof *li);
    ve = malloc(n * sizeof *ve);
    if (!li || !ve) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct litem *x = &li[nl];
        if (entry_decode(&x->e, raw[i], lens[i]) != AM_OK) {
            st->malformed++;
            continue;
        }
        entry_hash(&x->e, x->hash);
        x->idx = i;
        x->verdict = L_PENDING;
        x->twin = 0;
        x->cand = 0;
        nl++;
    }
    qsort(li, nl, sizeof *li, litem_cmp);
    /* one copy of each (author, seq); two different entries there: the author forked */
    for (size_t i = 1; i < nl; i++) {
        struct litem *a = &li[i - 1], *b = &li[i];
        if (memcmp(a->e.author, b->e.author, AM_PK_LEN) || a->e.seq != b->e.seq)
            continue;
        if (b->e.raw_len == a->e.raw_len && !memcmp(a->e.raw, b->e.raw, a->e.raw_len)) {
            b->verdict = L_DUP;
            b->twin = a->twin;
        } else {
            a->twin = b->twin = 1;
        }
    }
    for (size_t i = nl; i-- > 1;) /* a twin marks every copy of its seq */
        if (li[i].twin && !memcmp(li[i - 1].e.author, li[i].e.author, AM_PK_LEN) &&
            li[i - 1].e.seq == li[i].e.seq)
            li[i - 1].twin = 1;

    /* What the store holds already, then the signatures, with no write transaction open. */
    if ((rc = store_txn_begin(s, MDB_RDONLY, &txn)) != 0) {
        rc = store_mdb_err(rc);
        goto out;
    }
    for (size_t i = 0; i < nl && rc == 0; i++)
        if (li[i].verdict == L_PENDING)
            li[i].verdict = (uint8_t)classify(s, txn, &li[i], &rc);
    mdb_txn_abort(txn);
    if (rc != 0) {
        rc = rc < 0 && rc > -100 ? rc : store_mdb_err(rc);
        goto out;
    }
    for (size_t i = 0; i < nl; i++)
        if (li[i].verdict == L_PENDING) {
            li[i].cand = entry_verify(&li[i].e) == AM_OK;
            li[i].verdict = li[i].cand ? L_PENDING : L_BADSIG;
        }

    for (int grown = 0;;) {
        int wrc, viewed = 0;
        if ((rc = store_txn_begin(s, 0, &txn)) != 0) {
            rc = store_mdb_err(rc);
            goto out;
        }
        wrc = lane_write(s, txn, li, nl, wall_ms, ve, &nve);
        if (wrc == 0 && nve > 0) {
            viewed = 1; /* views_update holds the cache lock until views_txn_end */
            wrc = views_update(s, txn, ve, nve, NULL);
        }
        if (wrc == 0)
            wrc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
        if (viewed)
            views_txn_end(s, wrc == 0);
        if (wrc == MDB_MAP_FULL && !grown) {
            grown = 1;
            if ((rc = store_grow_map(s)) != AM_OK)
                goto out;
            continue;
        }
        if (wrc != 0) {
            rc = wrc < 0 && wrc > -100 ? wrc : store_mdb_err(wrc);
            goto out;
        }
        break;
    }
    for (size_t i = 0; i < nl; i++) {
        switch (li[i].verdict) {
        case L_ADD:
            st->added++;
            break;
        case L_DUP:
            st->duplicate++;
            break;
        case L_BADSIG:
            st->badsig++;
            break;
        case L_FULL:
            st->full++;
            break;
        default:
            st->skipped++;
            break;
        }
    }
    rc = AM_OK;
out:
    free(li);
    free(ve);
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------ */

int store_lane_count(struct store *s, uint64_t *n)
{
    struct store_stats st = {0};
    MDB_txn *txn;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc != 0)
        return store_mdb_err(rc);
    lane_stat(txn, s, &st);
    mdb_txn_abort(txn);
    *n = st.lane;
    return AM_OK;
}

int store_lane_each(struct store *s,
                    int (*cb)(void *ctx, const uint8_t *author, uint64_t seq, const uint8_t *raw,
                              size_t len),
                    void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, op = MDB_FIRST, stop = 0;

    if (!s->has_lane)
        return AM_OK;
    if ((rc = store_txn_begin(s, MDB_RDONLY, &txn)) != 0)
        return store_mdb_err(rc);
    if ((rc = mdb_cursor_open(txn, s->lane, &cur)) != 0) {
        mdb_txn_abort(txn);
        return store_mdb_err(rc);
    }
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        op = MDB_NEXT;
        if (k.mv_size != STORE_KEY_LEN || v.mv_size > AM_ENTRY_MAX) {
            rc = AM_ECORRUPT;
            break;
        }
        if ((stop = cb(ctx, k.mv_data, store_be64_get((uint8_t *)k.mv_data + AM_PK_LEN), v.mv_data,
                       v.mv_size)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return stop ? stop : rc == MDB_NOTFOUND ? AM_OK : rc == AM_ECORRUPT ? rc : store_mdb_err(rc);
}

int store_snap_lane_entry(struct store_snap *sn, const uint8_t author[static AM_PK_LEN],
                          uint64_t seq, const uint8_t **raw, size_t *len)
{
    uint8_t key[STORE_KEY_LEN];
    MDB_val v;
    int rc;
    memcpy(key, author, AM_PK_LEN);
    store_be64_put(key + AM_PK_LEN, seq);
    if ((rc = lane_get(sn->txn, sn->s, key, &v)) != 0)
        return store_mdb_err(rc);
    if (v.mv_size > AM_ENTRY_MAX)
        return AM_ECORRUPT;
    *raw = v.mv_data;
    *len = v.mv_size;
    return AM_OK;
}

size_t store_lane_cursor(struct store *s)
{
    size_t v;
    pthread_mutex_lock(&s->cache_lock);
    v = s->lane_cursor;
    pthread_mutex_unlock(&s->cache_lock);
    return v;
}

void store_lane_cursor_set(struct store *s, size_t v)
{
    pthread_mutex_lock(&s->cache_lock);
    s->lane_cursor = v;
    pthread_mutex_unlock(&s->cache_lock);
}
