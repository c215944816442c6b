/*
 * store_views_read.c: the reads of the views (see store.h: store_view_get, the listings
 * store_views_each, store_needs_each and store_cells_each, store_need_find,
 * store_need_digits, store_obj_authors, store_invalid_each, store_view_stats,
 * store_view_fingerprint_scan, store_views_digest). Each opens one read transaction and
 * ends it before it returns. Part of the store module (store_views_int.h).
 *
 * Must never: write, keep a read transaction past its return, hand a caller a pointer
 * into the map that outlives the callback it was given to, or trust an index entry or a
 * value without checking its length. Never prints.
 */
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <sodium.h>

#include "am_err.h"
#include "relief.h"
#include "store_int.h"
#include "store_views.h"
#include "store_views_int.h"

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

/* ---- snapshots ---- */

int store_snap_begin(struct store *s, struct store_snap **out)
{
    struct store_snap *sn = malloc(sizeof *sn);
    int rc;
    *out = NULL;
    if (!sn)
        return AM_ENOMEM;
    sn->s = s;
    if ((rc = read_begin(s, &sn->txn)) != AM_OK) {
        free(sn);
        return rc;
    }
    *out = sn;
    return AM_OK;
}

void store_snap_end(struct store_snap *sn)
{
    if (!sn)
        return;
    mdb_txn_abort(sn->txn);
    free(sn);
}

/* Runs fn(snapshot, a) in a snapshot of its own: what each store_X(s, ...) read does. */
#define IN_OWN_SNAP(s, call)                                                                       \
    do {                                                                                           \
        struct store_snap own_ = {(s), NULL};                                                      \
        struct store_snap *sn = &own_;                                                             \
        int rc_ = read_begin((s), &own_.txn);                                                      \
        if (rc_ != AM_OK)                                                                          \
            return rc_;                                                                            \
        rc_ = (call);                                                                              \
        mdb_txn_abort(own_.txn);                                                                   \
        return rc_;                                                                                \
    } while (0)

int store_snap_view(struct store_snap *sn, const uint8_t *key, size_t klen, const uint8_t **view,
                    size_t *len)
{
    MDB_val k = {klen, (void *)key}, v, dump, refs;
    int rc = mdb_get(sn->txn, sn->s->views, &k, &v);
    if (rc != 0)
        return store_mdb_err(rc);
    if (views_view_split(&v, &dump, &refs) != AM_OK)
        return AM_ECORRUPT;
    *view = dump.mv_data;
    *len = dump.mv_size;
    return AM_OK;
}

static int view_copy(struct store_snap *sn, const uint8_t *key, size_t klen, uint8_t *buf,
                     size_t cap, size_t *len)
{
    const uint8_t *v = NULL;
    int rc = store_snap_view(sn, key, klen, &v, len);
    if (rc == AM_OK && *len > cap)
        return AM_ELIMIT;
    if (rc == AM_OK)
        memcpy(buf, v, *len);
    return rc;
}

int store_view_get(struct store *s, const uint8_t *key, size_t klen, uint8_t *buf, size_t cap,
                   size_t *len)
{
    IN_OWN_SNAP(s, view_copy(sn, key, klen, buf, cap, len));
}

int store_views_each(struct store *s, const uint8_t *prefix, size_t plen, store_view_fn cb,
                     void *ctx)
{
    IN_OWN_SNAP(s, store_snap_views_each(sn, prefix, plen, cb, ctx));
}

int store_needs_each(struct store *s, const char *site, int status, store_view_fn cb, void *ctx)
{
    IN_OWN_SNAP(s, store_snap_needs_each(sn, site, status, cb, ctx));
}

int store_cells_each(struct store *s, const char *site, const char *item, store_view_fn cb,
                     void *ctx)
{
    IN_OWN_SNAP(s, store_snap_cells_each(sn, site, item, cb, ctx));
}

int store_need_find(struct store *s, const char *hex, uint8_t id[static RELIEF_ID_LEN],
                    unsigned *matches)
{
    *matches = 0;
    IN_OWN_SNAP(s, store_snap_need_find(sn, hex, id, matches));
}

unsigned store_need_digits(struct store *s, const uint8_t id[static RELIEF_ID_LEN])
{
    struct store_snap own = {s, NULL};
    unsigned d;
    if (read_begin(s, &own.txn) != AM_OK)
        return 2 * RELIEF_ID_LEN;
    d = store_snap_need_digits(&own, id);
    mdb_txn_abort(own.txn);
    return d;
}

int store_obj_authors(struct store *s, const uint8_t *key, size_t klen,
                      int (*cb)(void *ctx, const uint8_t author[AM_PK_LEN]), void *ctx)
{
    IN_OWN_SNAP(s, store_snap_obj_authors(sn, key, klen, cb, ctx));
}

int store_view_stats(struct store *s, struct store_view_stats *st)
{
    memset(st, 0, sizeof *st);
    IN_OWN_SNAP(s, store_snap_view_stats(sn, st));
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
    if (views_view_split(view, &dump, &refs) != AM_OK)
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

int store_snap_views_each(struct store_snap *sn, const uint8_t *prefix, size_t plen,
                          store_view_fn cb, void *ctx)
{
    struct store *s = sn->s;
    MDB_txn *txn = sn->txn;
    MDB_cursor *cur = NULL, *idcur = NULL;
    MDB_val k = {plen, (void *)prefix}, v;
    int rc, stop = 0, op = plen ? MDB_SET_RANGE : MDB_FIRST;

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
    return finish_scan(rc, stop);
}

int store_snap_needs_each(struct store_snap *sn, const char *site, int status, store_view_fn cb,
                          void *ctx)
{
    struct store *s = sn->s;
    MDB_txn *txn = sn->txn;
    MDB_cursor *cur = NULL, *idcur = NULL;
    uint8_t prefix[2 + RELIEF_SLUG_MAX];
    size_t plen = 0;
    MDB_val k, v;
    int rc, stop = 0, op;

    if (site) {
        if (strlen(site) > RELIEF_SLUG_MAX)
            return AM_OK; /* no such site */
        views_put_lp(prefix, &plen, site);
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
    return finish_scan(rc, stop);
}

/* len(str) str at p[*o] (bounded by n) into out (cap RELIEF_SLUG_MAX + 1). */
static int lp_get(const uint8_t *p, size_t n, size_t *o, char out[RELIEF_SLUG_MAX + 1])
{
    size_t l;
    if (*o >= n || (l = p[*o]) > RELIEF_SLUG_MAX || *o + 1 + l > n)
        return AM_ECORRUPT;
    memcpy(out, p + *o + 1, l);
    out[l] = 0;
    *o += 1 + l;
    return AM_OK;
}

int store_snap_needs_ordered_each(struct store_snap *sn, int status, int pri,
                                  int (*cb)(void *ctx, const uint8_t id[RELIEF_ID_LEN],
                                            const char *site, const char *item),
                                  void *ctx)
{
    MDB_cursor *cur = NULL;
    uint8_t prefix[2] = {(uint8_t)status, (uint8_t)pri};
    size_t plen = pri ? 2 : 1;
    MDB_val k = {plen, prefix}, v;
    int rc, stop = 0, op;

    if (!sn->s->has_order)
        return AM_ESTATE;
    if ((rc = mdb_cursor_open(sn->txn, sn->s->vorder, &cur)) != 0)
        return store_mdb_err(rc);
    for (op = MDB_SET_RANGE; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        char site[RELIEF_SLUG_MAX + 1], item[RELIEF_SLUG_MAX + 1];
        size_t o = 0;
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if (k.mv_size != VORDER_KEY_LEN || lp_get(v.mv_data, v.mv_size, &o, site) != AM_OK ||
            lp_get(v.mv_data, v.mv_size, &o, item) != AM_OK || o != v.mv_size) {
            stop = AM_ECORRUPT;
            break;
        }
        if ((stop = cb(ctx, (const uint8_t *)k.mv_data + 14, site, item)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return finish_scan(rc, stop);
}

int store_snap_need_open_before(struct store_snap *sn, const char *site, const char *item,
                                uint64_t hlc, const uint8_t id[RELIEF_ID_LEN], uint64_t *prev_hlc,
                                uint8_t prev_id[RELIEF_ID_LEN])
{
    uint8_t key[IDX_MAX];
    size_t n = 0, plen;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    if (!sn->s->has_order)
        return AM_ESTATE;
    if (strlen(site) > RELIEF_SLUG_MAX || strlen(item) > RELIEF_SLUG_MAX)
        return AM_ENOTFOUND;
    views_put_lp(key, &n, site);
    views_put_lp(key, &n, item);
    plen = n;
    for (int i = 0; i < 8; i++)
        key[n++] = (uint8_t)(hlc >> (56 - 8 * i));
    memcpy(key + n, id, RELIEF_ID_LEN);
    k.mv_size = n + RELIEF_ID_LEN;
    k.mv_data = key;
    if ((rc = mdb_cursor_open(sn->txn, sn->s->vdup, &cur)) != 0)
        return store_mdb_err(rc);
    /* the first entry at or after (site, item, hlc, id), then the one before it */
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    rc = mdb_cursor_get(cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
    if (rc == 0) {
        const uint8_t *p = k.mv_data;
        if (k.mv_size != plen + 8 + RELIEF_ID_LEN || memcmp(p, key, plen) != 0) {
            rc = MDB_NOTFOUND;
        } else {
            *prev_hlc = 0;
            for (int i = 0; i < 8; i++)
                *prev_hlc = *prev_hlc << 8 | p[plen + i];
            memcpy(prev_id, p + plen + 8, RELIEF_ID_LEN);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? AM_ENOTFOUND : rc ? store_mdb_err(rc) : AM_OK;
}

int store_snap_cells_each(struct store_snap *sn, const char *site, const char *item,
                          store_view_fn cb, void *ctx)
{
    struct store *s = sn->s;
    MDB_txn *txn = sn->txn;
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
            views_put_lp(prefix, &plen, site);
            if (item)
                views_put_lp(prefix, &plen, item);
        }
        return store_snap_views_each(sn, prefix, plen, cb, ctx);
    }
    views_put_lp(prefix, &plen, item);
    if ((rc = mdb_cursor_open(txn, s->vcells, &cur)) != 0)
        goto out;
    k.mv_size = plen;
    k.mv_data = prefix;
    for (op = MDB_SET_RANGE; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        uint8_t key[RELIEF_KEY_MAX];
        size_t kl;
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if ((stop = views_cell_key_from_idx(k.mv_data, k.mv_size, key, &kl)) != 0)
            break;
        if ((stop = emit(txn, s, NULL, key, kl, NULL, cb, ctx)) != 0)
            break;
    }
out:
    mdb_cursor_close(cur);
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

int store_snap_need_find(struct store_snap *sn, const char *hex, uint8_t id[static RELIEF_ID_LEN],
                         unsigned *matches)
{
    uint8_t key[1 + RELIEF_ID_LEN] = {RELIEF_OBJ_NEED};
    size_t nh = strlen(hex);
    MDB_txn *txn = sn->txn;
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
    if ((rc = mdb_cursor_open(txn, sn->s->views, &cur)) != 0)
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
    rc = finish_scan(rc, 0);
    if (rc == AM_OK && *matches == 0)
        return AM_ENOTFOUND;
    return rc;
}

unsigned store_snap_need_digits(struct store_snap *sn, const uint8_t id[static RELIEF_ID_LEN])
{
    MDB_cursor *cur;
    unsigned d = 2 * RELIEF_ID_LEN;
    if (mdb_cursor_open(sn->txn, sn->s->views, &cur) == 0) {
        d = id_digits(cur, id);
        mdb_cursor_close(cur);
    }
    return d;
}

int store_snap_obj_authors(struct store_snap *sn, const uint8_t *key, size_t klen,
                           int (*cb)(void *ctx, const uint8_t author[AM_PK_LEN]), void *ctx)
{
    struct store *s = sn->s;
    MDB_txn *txn = sn->txn;
    MDB_val k = {klen, (void *)key}, d, dump, rec;
    struct refv v = {0};
    int rc, stop = 0;

    rc = mdb_get(txn, s->views, &k, &d);
    if (rc == MDB_NOTFOUND) {
        rc = 0; /* no object: no authors */
    } else if (rc == 0 && views_view_split(&d, &dump, &rec) != AM_OK) {
        rc = AM_ECORRUPT;
    } else if (rc == 0 && views_has_ops(key)) {
        rc = views_refs_decode(rec.mv_data, rec.mv_size, 1, &v);
    } else if (rc == 0) {
        const uint8_t *authors;
        uint32_t n;
        rc = relief_cell_record_authors(rec.mv_data, rec.mv_size, &authors, &n);
        for (uint32_t i = 0; rc == 0 && i < n; i++)
            rc = views_refv_push(&v, authors + (size_t)i * AM_PK_LEN, 1);
    }
    if (rc == 0 && v.n > 0) {
        /* ops are named by their log: a branch's log names its author (PROTOCOL.md 6) */
        struct logs_ctx *lc = NULL;
        rc = logs_ctx_load(s, txn, &lc);
        for (uint32_t i = 0; rc == 0 && i < v.n; i++) {
            const uint8_t *a = logs_ctx_author(lc, v.r[i].r.author);
            if (a != v.r[i].r.author)
                memcpy(v.r[i].r.author, a, AM_PK_LEN);
        }
        logs_ctx_free(lc);
        views_refv_normalize(&v);
    }
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

int store_snap_view_stats(struct store_snap *sn, struct store_view_stats *st)
{
    struct store *s = sn->s;
    MDB_txn *txn = sn->txn;
    MDB_stat ms;
    struct vcounts vc;
    uint8_t sum[TERM_LEN];
    int rc;

    memset(st, 0, sizeof *st);
    views_counts_read(s, txn, &vc);
    views_sum_read(s, txn, sum);
    st->sites = vc.n[0];
    st->items = vc.n[1];
    st->needs = vc.n[2];
    st->cells = vc.n[3];
    if ((rc = mdb_stat(txn, s->views, &ms)) == 0)
        st->objects = ms.ms_entries;
    if (rc == 0 && (rc = mdb_stat(txn, s->vinvalid, &ms)) == 0)
        st->invalid = ms.ms_entries;
    st->current = views_current(s, txn) == 1;
    views_fp_show(sum, st->objects, st->fingerprint);
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
        if (views_view_split(&v, &dump, &refs) != AM_OK) {
            rc = AM_ECORRUPT;
            break;
        }
        views_fp_term(k.mv_data, k.mv_size, dump.mv_data, dump.mv_size, t);
        views_fp_add(sum, t);
        n++;
    }
out:
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    rc = finish_scan(rc, 0);
    if (rc == AM_OK)
        views_fp_show(sum, n, fp);
    return rc;
}

int store_views_digest(struct store *s, uint8_t out[static AM_HASH_LEN])
{
    static const char *const metas[] = {"view_fp", "view_counts", "views_format"};
    crypto_generichash_state h;
    MDB_txn *txn;
    MDB_dbi dbs[7];
    int nd = s->has_order ? 7 : 5;
    int rc = read_begin(s, &txn);

    if (rc != AM_OK)
        return rc;
    dbs[0] = s->vrefs;
    dbs[1] = s->views;
    dbs[2] = s->vneeds;
    dbs[3] = s->vcells;
    dbs[4] = s->vinvalid;
    dbs[5] = s->vorder;
    dbs[6] = s->vdup;
    crypto_generichash_init(&h, NULL, 0, AM_HASH_LEN);
    for (int d = 0; d < nd && rc == AM_OK; d++) {
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
