/*
 * store_logs.c: the logs of an author whose entries fork (PROTOCOL.md 6, "Logs"): placing
 * each entry of a batch by its link, splitting a log where two branches part, keeping every
 * branch up to AM_LOGS_PER_AUTHOR, and resolving the refs of ops written on or about a
 * split log (PROTOCOL.md 10.8.5). Part of the store module (store_int.h); store.c takes
 * the fast path for an author with one log and hands a group here when it forks.
 *
 * Must never: let the logs depend on the order or batching of arrival, store an entry no
 * good signature covers, move a stored entry outside the write transaction, or keep more
 * than AM_LOGS_PER_AUTHOR logs of one author. Never prints.
 */
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <sodium.h>

#include "am_err.h"
#include "am_grow.h"
#include "entry.h"
#include "store_int.h"

#define LMAX AM_LOGS_PER_AUTHOR
#define NONE UINT32_MAX

/* ---- planning ---- */

struct plog {
    uint8_t id[AM_PK_LEN];
    int parent; /* index in the plan, -1 for the root log */
    uint64_t first, last;
    uint8_t last_hash[AM_HASH_LEN];
    uint64_t last_hlc;
    int split;
    uint64_t st_lo, st_hi; /* stored entries under this id as planned (st_hi < st_lo: none) */
    /* as loaded (stored logs only): where its entries are before any move, for reading */
    int loaded;
    uint64_t o_last;
    uint8_t o_hash[AM_HASH_LEN];
    uint32_t o_flags;
};

struct pmove {
    uint8_t from, to;
    uint64_t lo, hi;
};

/* Where an item links: nowhere, the start of the author's entries (seq 1), a stored entry
 * (orig log, seq) or a batch item. */
enum { P_NONE, P_START, P_STORED, P_BATCH };

struct plink {
    uint8_t kind;
    uint8_t orig; /* P_STORED: the loaded log that physically holds it */
    uint32_t b;   /* P_BATCH: item index */
};

struct logs_plan {
    uint8_t author[AM_PK_LEN];
    size_t lo, hi;
    size_t n, n_loaded;
    struct plog l[LMAX];
    struct plog loaded[LMAX];
    struct pmove mv[2 * LMAX];
    size_t nmv;
    int had_root;
    int was_abusive, abusive;
    int splits;
    struct plink *link; /* per item of [lo, hi) */
};

void logs_plan_free(struct logs_plan *p)
{
    if (p) {
        free(p->link);
        free(p);
    }
}

const uint8_t *logs_plan_log_id(const struct logs_plan *p, const struct item *it)
{
    return p->l[it->log].id;
}

/* A stored log's last entry and flags, as its head record says. */
static void plog_from_head(struct plog *r, const struct store_head *h)
{
    r->last = r->o_last = h->seq;
    memcpy(r->last_hash, h->hash, AM_HASH_LEN);
    memcpy(r->o_hash, h->hash, AM_HASH_LEN);
    r->last_hlc = h->hlc;
    r->split = (h->flags & STORE_HEAD_SPLIT) != 0;
    r->o_flags = h->flags;
    r->loaded = 1;
}

/* Reads the author's logs in txn into p->loaded. */
static int load_logs(struct store *s, MDB_txn *txn, struct logs_plan *p)
{
    struct store_head h;
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t key[2 * AM_PK_LEN];
    int rc, op = MDB_SET_RANGE;

    p->n_loaded = 0;
    rc = store_head_read(txn, s, p->author, &h);
    if (rc != AM_OK && rc != AM_ENOTFOUND)
        return rc;
    p->had_root = rc == AM_OK;
    if (!p->had_root)
        memset(&h, 0, sizeof h);
    {
        struct plog *r = &p->loaded[0];
        memset(r, 0, sizeof *r);
        memcpy(r->id, p->author, AM_PK_LEN);
        r->parent = -1;
        r->first = 1;
        if (p->had_root)
            plog_from_head(r, &h);
        r->st_lo = 1;
        r->st_hi = r->last;
        p->n_loaded = 1;
        p->was_abusive = (h.flags & STORE_HEAD_ABUSIVE) != 0;
    }
    if (!p->had_root || !(h.flags & STORE_HEAD_FORKED) || !s->has_logs)
        return AM_OK;

    uint8_t parents[LMAX][AM_PK_LEN];
    if ((rc = mdb_cursor_open(txn, s->logs, &cur)) != 0)
        return store_mdb_err(rc);
    memcpy(key, p->author, AM_PK_LEN);
    memset(key + AM_PK_LEN, 0, AM_PK_LEN);
    k.mv_size = sizeof key;
    k.mv_data = key;
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        struct plog *r;
        const uint8_t *id = (const uint8_t *)k.mv_data + AM_PK_LEN;
        op = MDB_NEXT;
        if (k.mv_size != sizeof key || memcmp(k.mv_data, p->author, AM_PK_LEN) != 0)
            break;
        if (memcmp(id, p->author, AM_PK_LEN) == 0)
            continue; /* the root log, read above */
        if (p->n_loaded == LMAX) {
            rc = AM_ECORRUPT;
            break;
        }
        if ((rc = store_head_read(txn, s, id, &h)) != AM_OK) {
            rc = rc == AM_ENOTFOUND ? AM_ECORRUPT : rc;
            break;
        }
        r = &p->loaded[p->n_loaded];
        memset(r, 0, sizeof *r);
        memcpy(r->id, id, AM_PK_LEN);
        memcpy(parents[p->n_loaded], h.parent, AM_PK_LEN);
        r->first = h.first_seq;
        plog_from_head(r, &h);
        r->st_lo = r->first;
        r->st_hi = r->last;
        p->n_loaded++;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc < 0 && rc > -100 ? rc : store_mdb_err(rc);
    for (size_t i = 1; i < p->n_loaded; i++) {
        p->loaded[i].parent = -2;
        for (size_t j = 0; j < p->n_loaded; j++)
            if (j != i && memcmp(parents[i], p->loaded[j].id, AM_PK_LEN) == 0)
                p->loaded[i].parent = (int)j;
        if (p->loaded[i].parent < 0 || p->loaded[i].first < 2 - (p->loaded[i].parent == 0))
            return AM_ECORRUPT;
    }
    return AM_OK;
}

/* The logical log (index in p->l) of the stored entry physically at (orig, seq). */
static int logical(const struct logs_plan *p, int orig, uint64_t seq)
{
    int cur = orig;
    for (size_t i = 0; i < p->nmv; i++)
        if (p->mv[i].from == cur && seq >= p->mv[i].lo && seq <= p->mv[i].hi)
            cur = p->mv[i].to;
    return cur;
}

/* The stored entry at seq `seq` in loaded log i: its bytes (valid in txn). */
static int stored_at(struct store *s, MDB_txn *txn, const struct plog *r, uint64_t seq, MDB_val *v)
{
    uint8_t key[STORE_KEY_LEN];
    MDB_val k = {STORE_KEY_LEN, key};
    int rc;
    memcpy(key, r->id, AM_PK_LEN);
    store_be64_put(key + AM_PK_LEN, seq);
    rc = mdb_get(txn, s->entries, &k, v);
    if (rc == MDB_NOTFOUND)
        return AM_ECORRUPT; /* the head says it is there */
    return rc ? store_mdb_err(rc) : AM_OK;
}

/* Finds the stored entry at seq with hash h: *orig its loaded log, or -1. */
static int stored_find(struct store *s, MDB_txn *txn, const struct logs_plan *p, uint64_t seq,
                       const uint8_t *h, int *orig, int *any)
{
    *orig = -1;
    for (size_t i = 0; i < p->n_loaded; i++) {
        const struct plog *r = &p->loaded[i];
        MDB_val v;
        struct entry e;
        uint8_t eh[AM_HASH_LEN];
        int rc;
        if (!r->loaded || seq < r->first || seq > r->o_last)
            continue;
        *any = 1;
        if (seq == r->o_last) {
            if (memcmp(r->o_hash, h, AM_HASH_LEN) == 0) {
                *orig = (int)i;
                return AM_OK;
            }
            continue;
        }
        if ((rc = stored_at(s, txn, r, seq, &v)) != AM_OK)
            return rc;
        if (entry_decode(&e, v.mv_data, v.mv_size) != AM_OK)
            return AM_ECORRUPT;
        entry_hash(&e, eh);
        if (memcmp(eh, h, AM_HASH_LEN) == 0) {
            *orig = (int)i;
            return AM_OK;
        }
    }
    return AM_OK;
}

/* 1 when the stored entry at seq has exactly the bytes of it. */
static int stored_dup(struct store *s, MDB_txn *txn, const struct logs_plan *p,
                      const struct item *it, int *dup)
{
    *dup = 0;
    for (size_t i = 0; i < p->n_loaded; i++) {
        const struct plog *r = &p->loaded[i];
        MDB_val v;
        int rc;
        if (!r->loaded || it->e.seq < r->first || it->e.seq > r->o_last)
            continue;
        if (it->e.seq == r->o_last) {
            if (memcmp(r->o_hash, it->hash, AM_HASH_LEN) == 0) {
                *dup = 1;
                return AM_OK;
            }
            continue;
        }
        if ((rc = stored_at(s, txn, r, it->e.seq, &v)) != AM_OK)
            return rc;
        if (v.mv_size == it->e.raw_len && memcmp(v.mv_data, it->e.raw, v.mv_size) == 0) {
            *dup = 1;
            return AM_OK;
        }
    }
    return AM_OK;
}

/* hlc of the stored entry (orig, seq). */
static int stored_hlc(struct store *s, MDB_txn *txn, const struct logs_plan *p, int orig,
                      uint64_t seq, uint64_t *hlc)
{
    MDB_val v;
    struct entry e;
    int rc = stored_at(s, txn, &p->loaded[orig], seq, &v);
    if (rc != AM_OK)
        return rc;
    if (entry_decode(&e, v.mv_data, v.mv_size) != AM_OK)
        return AM_ECORRUPT;
    *hlc = e.hlc;
    return AM_OK;
}

static int new_log(struct logs_plan *p, const uint8_t *first_hash, int parent, uint64_t first)
{
    struct plog *r = &p->l[p->n];
    memset(r, 0, sizeof *r);
    entry_log_id(r->id, p->author, first_hash);
    r->parent = parent;
    r->first = first;
    r->last = first - 1;
    r->st_lo = 1;
    r->st_hi = 0;
    return (int)p->n++;
}

/* Splits log L at seq q (its entries from q on go to a new child log named by its own
 * entry at q, whose hash is `at_hash`); `px_hash`/`px_hlc` describe L's entry at q - 1. */
static void split_log(struct logs_plan *p, struct item *items, int L, uint64_t q,
                      const uint8_t *at_hash, const uint8_t *px_hash, uint64_t px_hlc)
{
    struct plog *l = &p->l[L];
    int M = new_log(p, at_hash, L, q);
    struct plog *m = &p->l[M];

    m->last = l->last;
    memcpy(m->last_hash, l->last_hash, AM_HASH_LEN);
    m->last_hlc = l->last_hlc;
    m->split = l->split;
    for (size_t i = 0; i + 1 < p->n; i++)
        if (p->l[i].parent == L && (int)i != M)
            p->l[i].parent = M;
    if (l->st_hi >= q && l->st_hi >= l->st_lo) {
        p->mv[p->nmv++] = (struct pmove){(uint8_t)L, (uint8_t)M, q, l->st_hi};
        m->st_lo = q;
        m->st_hi = l->st_hi;
        l->st_hi = q - 1;
    }
    for (size_t i = p->lo; i < p->hi; i++)
        if ((items[i].verdict == V_NEW || items[i].verdict == V_FORK) && items[i].log == L &&
            items[i].e.seq >= q)
            items[i].log = (uint8_t)M;
    l->last = q - 1;
    if (px_hash)
        memcpy(l->last_hash, px_hash, AM_HASH_LEN);
    else
        memset(l->last_hash, 0, AM_HASH_LEN);
    l->last_hlc = px_hlc;
    l->split = 1;
    p->splits++;
}

/* One placement pass over the group: verdicts V_NEW/V_FORK (tentative), V_DUP, V_GAP,
 * V_UNLINKED, V_CAPPED. Items already V_BADSIG stay so. */
static int place(struct store *s, MDB_txn *txn, struct logs_plan *p, struct item *items)
{
    static const uint8_t zero[AM_HASH_LEN];
    int rc;

    memcpy(p->l, p->loaded, sizeof p->l);
    p->n = p->n_loaded;
    p->nmv = 0;
    p->splits = 0;
    p->abusive = p->was_abusive;
    if (!p->had_root) {
        memset(&p->l[0], 0, sizeof p->l[0]);
        memcpy(p->l[0].id, p->author, AM_PK_LEN);
        p->l[0].parent = -1;
        p->l[0].first = 1;
        p->l[0].st_lo = 1;
    }

    for (size_t i = p->lo; i < p->hi; i++) {
        struct item *it = &items[i];
        struct plink *lk = &p->link[i - p->lo];
        uint64_t q = it->e.seq;
        int L, any = 0, dup;

        lk->kind = P_NONE;
        it->parent = NONE;
        if (it->verdict == V_BADSIG)
            continue;
        it->verdict = V_PENDING;

        /* the same bytes stored, or earlier in this batch: a duplicate */
        if ((rc = stored_dup(s, txn, p, it, &dup)) != AM_OK)
            return rc;
        /* a second copy in the batch counts as a duplicate, whatever befell the first */
        for (size_t j = i; !dup && j-- > p->lo && items[j].e.seq == q;)
            dup = !memcmp(items[j].hash, it->hash, AM_HASH_LEN);
        if (dup) {
            it->verdict = V_DUP;
            continue;
        }

        /* what it links to */
        if (q == 1) {
            if (memcmp(it->e.prev, zero, AM_HASH_LEN) == 0)
                lk->kind = P_START;
            any = 1;
        } else {
            for (size_t j = i; j-- > p->lo && items[j].e.seq >= q - 1;) {
                if (items[j].e.seq != q - 1)
                    continue;
                any = 1; /* something was signed at q - 1: this links elsewhere */
                if ((items[j].verdict == V_NEW || items[j].verdict == V_FORK) &&
                    !memcmp(items[j].hash, it->e.prev, AM_HASH_LEN)) {
                    lk->kind = P_BATCH;
                    lk->b = (uint32_t)j;
                    break;
                }
            }
            if (lk->kind == P_NONE) {
                int orig;
                if ((rc = stored_find(s, txn, p, q - 1, it->e.prev, &orig, &any)) != AM_OK)
                    return rc;
                if (orig >= 0) {
                    lk->kind = P_STORED;
                    lk->orig = (uint8_t)orig;
                }
            }
        }
        if (lk->kind == P_NONE) {
            it->verdict = any ? V_UNLINKED : V_GAP;
            continue;
        }
        L = lk->kind == P_START   ? 0
            : lk->kind == P_BATCH ? items[lk->b].log
                                  : logical(p, lk->orig, q - 1);
        if (lk->kind == P_BATCH)
            it->parent = lk->b;

        if (p->l[L].last < q && !p->l[L].split) {
            /* extends its log */
            it->verdict = V_NEW;
            it->log = (uint8_t)L;
            p->l[L].last = q;
            memcpy(p->l[L].last_hash, it->hash, AM_HASH_LEN);
            p->l[L].last_hlc = it->e.hlc;
            continue;
        }
        /* a fork: its parent already has a child */
        {
            int cont = p->l[L].last >= q;
            size_t need = cont ? 2 : 1;
            if (p->n + need > LMAX) {
                /* beyond the bound: evidence only, if the author really signed it */
                it->verdict = item_sig_ok(it) ? V_CAPPED : V_BADSIG;
                if (it->verdict == V_CAPPED)
                    p->abusive = 1;
                continue;
            }
            if (cont) {
                /* L goes on past the parent: its entry at q starts one child, this the other */
                uint8_t at_hash[AM_HASH_LEN], px_hash[AM_HASH_LEN];
                uint64_t px_hlc = 0;
                int found = 0;
                for (size_t j = p->lo; j < i && !found; j++)
                    if ((items[j].verdict == V_NEW || items[j].verdict == V_FORK) &&
                        items[j].log == L && items[j].e.seq == q) {
                        memcpy(at_hash, items[j].hash, AM_HASH_LEN);
                        found = 1;
                    }
                if (!found) {
                    /* stored: L's entry at q, physically in some loaded log */
                    for (size_t o = 0; o < p->n_loaded && !found; o++) {
                        const struct plog *r = &p->loaded[o];
                        MDB_val v;
                        struct entry e;
                        if (!r->loaded || q < r->first || q > r->o_last ||
                            logical(p, (int)o, q) != L)
                            continue;
                        if ((rc = stored_at(s, txn, r, q, &v)) != AM_OK)
                            return rc;
                        if (entry_decode(&e, v.mv_data, v.mv_size) != AM_OK)
                            return AM_ECORRUPT;
                        entry_hash(&e, at_hash);
                        found = 1;
                    }
                }
                if (!found)
                    return AM_ECORRUPT;
                if (lk->kind == P_START) {
                    split_log(p, items, L, q, at_hash, NULL, 0);
                } else {
                    memcpy(px_hash, it->e.prev, AM_HASH_LEN);
                    if (lk->kind == P_BATCH)
                        px_hlc = items[lk->b].e.hlc;
                    else if ((rc = stored_hlc(s, txn, p, lk->orig, q - 1, &px_hlc)) != AM_OK)
                        return rc;
                    split_log(p, items, L, q, at_hash, px_hash, px_hlc);
                }
            }
            {
                int N = new_log(p, it->hash, L, q);
                p->l[N].last = q;
                memcpy(p->l[N].last_hash, it->hash, AM_HASH_LEN);
                p->l[N].last_hlc = it->e.hlc;
                it->verdict = V_FORK;
                it->log = (uint8_t)N;
            }
        }
    }
    return AM_OK;
}

/* Verify the tip, hash the chain, over a tree: every placed item is covered by a good
 * signature of itself or of a batch item below it. Good leaves first; then each bad leaf
 * keeps, by bisection, the longest run above it whose last signature is good. An item
 * some leaf keeps is kept, whatever another leaf's run decided. Returns the number of
 * items newly refused, or SIZE_MAX when out of memory. ok[]: 1 kept, 2 refused. */
static size_t verify_placed(struct logs_plan *p, struct item *items, uint8_t *ok)
{
    size_t n = p->hi - p->lo, refused = 0;
    uint32_t *kids = calloc(n, sizeof *kids), *path = NULL;
    size_t npath;

    if (!kids)
        return SIZE_MAX;
    for (size_t i = p->lo; i < p->hi; i++) {
        ok[i - p->lo] = 0;
        if ((items[i].verdict == V_NEW || items[i].verdict == V_FORK) && items[i].parent != NONE)
            kids[items[i].parent - p->lo]++;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = p->lo; i < p->hi; i++) {
            struct item *it = &items[i];
            if ((it->verdict != V_NEW && it->verdict != V_FORK) || kids[i - p->lo] ||
                ok[i - p->lo] == 1)
                continue;
            if (pass == 0) {
                if (!item_sig_ok(it))
                    continue;
                for (uint32_t j = (uint32_t)i; j != NONE && ok[j - p->lo] != 1; j = items[j].parent)
                    ok[j - p->lo] = 1;
                continue;
            }
            /* a bad leaf: the run above it, up to an item already kept */
            if (!path && !(path = malloc(n * sizeof *path))) {
                free(kids);
                return SIZE_MAX;
            }
            npath = 0;
            for (uint32_t j = (uint32_t)i; j != NONE && ok[j - p->lo] != 1; j = items[j].parent)
                path[npath++] = j;
            /* path runs upward; the top `lo` of it are kept */
            {
                size_t lo = 0, hi = npath - 1; /* the leaf itself is bad */
                while (lo < hi) {
                    size_t mid = lo + (hi - lo + 1) / 2;
                    if (item_sig_ok(&items[path[npath - mid]]))
                        lo = mid;
                    else
                        hi = mid - 1;
                }
                for (size_t k = 0; k < npath; k++)
                    ok[path[k] - p->lo] = k >= npath - lo ? 1 : 2;
            }
        }
    }
    for (size_t i = p->lo; i < p->hi; i++)
        if (ok[i - p->lo] == 2) {
            items[i].verdict = V_BADSIG;
            refused++;
        }
    free(kids);
    free(path);
    return refused;
}

static int item_seq_hash_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->e.seq != y->e.seq)
        return x->e.seq < y->e.seq ? -1 : 1;
    return memcmp(x->hash, y->hash, AM_HASH_LEN);
}

int logs_plan_group(struct store *s, MDB_txn *txn, struct item *items, size_t lo, size_t hi,
                    struct logs_plan **out)
{
    struct logs_plan *p = calloc(1, sizeof *p);
    uint8_t *ok = NULL;
    int rc;

    *out = NULL;
    if (!p)
        return AM_ENOMEM;
    p->lo = lo;
    p->hi = hi;
    memcpy(p->author, items[lo].e.author, AM_PK_LEN);
    if (!(p->link = calloc(hi - lo, sizeof *p->link)) || !(ok = malloc(hi - lo))) {
        rc = AM_ENOMEM;
        goto fail;
    }
    /* the order of a seq's entries is their hashes': nothing depends on arrival */
    qsort(items + lo, hi - lo, sizeof *items, item_seq_hash_cmp);
    for (size_t i = lo; i < hi; i++)
        items[i].verdict = V_PENDING;
    if ((rc = load_logs(s, txn, p)) != AM_OK)
        goto fail;
    for (size_t round = 0; round <= hi - lo; round++) {
        size_t refused;
        if ((rc = place(s, txn, p, items)) != AM_OK)
            goto fail;
        refused = verify_placed(p, items, ok);
        if (refused == SIZE_MAX) {
            rc = AM_ENOMEM;
            goto fail;
        }
        if (refused == 0)
            break;
    }
    free(ok);
    *out = p;
    return AM_OK;
fail:
    free(ok);
    logs_plan_free(p);
    return rc;
}

/* ---- writing ---- */

/* 1 when the author's logs are no longer what p was planned against. */
static int stale(struct store *s, MDB_txn *txn, const struct logs_plan *p, int *err)
{
    struct logs_plan now;
    memset(&now, 0, sizeof now);
    memcpy(now.author, p->author, AM_PK_LEN);
    if ((*err = load_logs(s, txn, &now)) != AM_OK)
        return 0;
    if (now.had_root != p->had_root || now.n_loaded != p->n_loaded)
        return 1;
    for (size_t i = 0; i < now.n_loaded; i++) {
        const struct plog *a = &now.loaded[i], *b = &p->loaded[i];
        if (memcmp(a->id, b->id, AM_PK_LEN) || a->o_last != b->o_last || a->o_flags != b->o_flags ||
            memcmp(a->o_hash, b->o_hash, AM_HASH_LEN))
            return 1;
    }
    return 0;
}

static int put_head(struct store *s, MDB_txn *txn, const struct logs_plan *p, size_t i,
                    uint32_t author_flags)
{
    const struct plog *r = &p->l[i];
    struct store_head h;
    uint8_t hv[HEAD_CHILD_LEN];
    size_t len;
    MDB_val k = {AM_PK_LEN, (void *)r->id}, v;

    memset(&h, 0, sizeof h);
    memcpy(h.author, p->author, AM_PK_LEN);
    memcpy(h.log, r->id, AM_PK_LEN);
    if (r->parent >= 0)
        memcpy(h.parent, p->l[r->parent].id, AM_PK_LEN);
    h.first_seq = r->first;
    h.seq = r->last;
    memcpy(h.hash, r->last_hash, AM_HASH_LEN);
    h.hlc = r->last_hlc;
    h.flags = author_flags | (r->split ? STORE_HEAD_SPLIT : 0);
    store_head_encode(hv, &len, &h);
    v.mv_size = len;
    v.mv_data = hv;
    return mdb_put(txn, s->heads, &k, &v, 0);
}

int logs_write_group(struct store *s, MDB_txn *txn, struct logs_plan *p, struct item *items,
                     struct hlc *clk, uint64_t wall_ms, int *seen_changed, int *resplit,
                     uint64_t *fork_dups)
{
    uint8_t key[STORE_KEY_LEN + AM_HASH_LEN], *buf = NULL;
    size_t cap = 0;
    uint32_t aflags;
    int rc, err = AM_OK, changed = 0;

    if (stale(s, txn, p, &err))
        return 1;
    if (err != AM_OK)
        return err;

    /* split logs' stored entries move to their child logs, in the order planned */
    for (size_t m = 0; m < p->nmv; m++) {
        const struct pmove *mv = &p->mv[m];
        for (uint64_t q = mv->lo; q <= mv->hi; q++) {
            MDB_val k = {STORE_KEY_LEN, key}, v;
            memcpy(key, p->l[mv->from].id, AM_PK_LEN);
            store_be64_put(key + AM_PK_LEN, q);
            if ((rc = mdb_get(txn, s->entries, &k, &v)) != 0)
                goto out;
            /* copied out: the put below may move the page v points into */
            if (AM_GROW(buf, cap, v.mv_size ? v.mv_size : 1, 512) != AM_OK) {
                rc = AM_ENOMEM;
                goto out;
            }
            memcpy(buf, v.mv_data, v.mv_size);
            v.mv_data = buf;
            if ((rc = mdb_del(txn, s->entries, &k, NULL)) != 0)
                goto out;
            memcpy(key, p->l[mv->to].id, AM_PK_LEN);
            if ((rc = mdb_put(txn, s->entries, &k, &v, MDB_NOOVERWRITE)) != 0)
                goto out;
        }
        changed = 1;
    }
    for (size_t i = p->lo; i < p->hi; i++) {
        struct item *it = &items[i];
        MDB_val k, v = {it->e.raw_len, (void *)it->e.raw};
        if (it->verdict == V_NEW || it->verdict == V_FORK) {
            memcpy(key, p->l[it->log].id, AM_PK_LEN);
            store_be64_put(key + AM_PK_LEN, it->e.seq);
            k.mv_size = STORE_KEY_LEN;
            k.mv_data = key;
            if ((rc = mdb_put(txn, s->entries, &k, &v, MDB_NOOVERWRITE)) != 0) {
                rc = rc == MDB_KEYEXIST ? 1 : rc;
                goto out;
            }
            if (hlc_observe(clk, it->e.hlc, wall_ms) == 0)
                *seen_changed = 1;
            changed = 1;
        } else if (it->verdict == V_CAPPED) {
            memcpy(key, p->author, AM_PK_LEN);
            store_be64_put(key + AM_PK_LEN, it->e.seq);
            memcpy(key + STORE_KEY_LEN, it->hash, AM_HASH_LEN);
            k.mv_size = STORE_KEY_LEN + AM_HASH_LEN;
            k.mv_data = key;
            rc = mdb_put(txn, s->forks, &k, &v, MDB_NOOVERWRITE);
            if (rc == MDB_KEYEXIST) {
                ++*fork_dups;
                continue;
            }
            if (rc != 0)
                goto out;
            changed = 1;
        }
    }
    if (p->abusive != p->was_abusive || p->n != p->n_loaded)
        changed = 1;
    if (!changed) {
        rc = 0;
        goto out;
    }
    /* forked stays: a store of an earlier version marked it with evidence only */
    aflags = (p->n > 1 || (p->loaded[0].o_flags & STORE_HEAD_FORKED) ? STORE_HEAD_FORKED : 0) |
             (p->abusive ? STORE_HEAD_ABUSIVE : 0);
    for (size_t i = 0; i < p->n; i++)
        if ((rc = put_head(s, txn, p, i, aflags)) != 0)
            goto out;
    if (p->n > 1 && (p->n != p->n_loaded || p->splits || p->abusive != p->was_abusive)) {
        uint8_t gen[8];
        for (size_t i = 0; i < p->n; i++) {
            uint8_t lk[2 * AM_PK_LEN];
            MDB_val k = {sizeof lk, lk}, v = {0, ""};
            memcpy(lk, p->author, AM_PK_LEN);
            memcpy(lk + AM_PK_LEN, p->l[i].id, AM_PK_LEN);
            if ((rc = mdb_put(txn, s->logs, &k, &v, 0)) != 0)
                goto out;
        }
        /* the views' copy of the logs (logs_ctx) is keyed by this */
        randombytes_buf(gen, sizeof gen);
        if ((rc = store_meta_put(txn, s, "logs_gen", gen, sizeof gen)) != 0)
            goto out;
    }
    /* a new log changes how refs resolve (a ctx naming it gains its ancestry): the views
     * are made again from all entries, so they stay a function of the set of entries */
    *resplit |= p->n != p->n_loaded || p->splits > 0 || (p->abusive && !p->was_abusive);
    rc = 0;
out:
    free(buf);
    return rc;
}

/* ---- the logs as the views see them ---- */

struct logs_crec {
    uint8_t id[AM_PK_LEN], author[AM_PK_LEN], parent_id[AM_PK_LEN];
    int parent; /* index, -1: root */
    uint64_t first;
    uint64_t end; /* first seq of its child logs; 0 when it has none */
    int abusive;
};

struct logs_ctx {
    uint8_t gen[8];
    size_t n;
    struct logs_crec *r; /* by id */
};

void logs_ctx_free(struct logs_ctx *c)
{
    if (c) {
        free(c->r);
        free(c);
    }
}

static int crec_cmp(const void *a, const void *b)
{
    return memcmp(((const struct logs_crec *)a)->id, ((const struct logs_crec *)b)->id, AM_PK_LEN);
}

static const struct logs_crec *crec_find(const struct logs_ctx *c, const uint8_t *id)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = memcmp(c->r[mid].id, id, AM_PK_LEN);
        if (d == 0)
            return &c->r[mid];
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int logs_ctx_load(struct store *s, MDB_txn *txn, struct logs_ctx **out)
{
    static const uint8_t zero[AM_PK_LEN];
    struct logs_ctx *c = calloc(1, sizeof *c);
    MDB_cursor *cur = NULL;
    MDB_stat ms;
    MDB_val k, v;
    int rc, op = MDB_FIRST;

    *out = NULL;
    if (!c)
        return AM_ENOMEM;
    if (store_meta_get(txn, s, "logs_gen", &v) == 0 && v.mv_size == sizeof c->gen)
        memcpy(c->gen, v.mv_data, sizeof c->gen);
    if (!s->has_logs) {
        *out = c;
        return AM_OK;
    }
    if ((rc = mdb_stat(txn, s->logs, &ms)) != 0)
        goto fail;
    if (ms.ms_entries > 0 && !(c->r = calloc(ms.ms_entries, sizeof *c->r))) {
        rc = AM_ENOMEM;
        goto fail;
    }
    if ((rc = mdb_cursor_open(txn, s->logs, &cur)) != 0)
        goto fail;
    while (c->n < ms.ms_entries && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        struct store_head h;
        struct logs_crec *r = &c->r[c->n];
        op = MDB_NEXT;
        if (k.mv_size != 2 * AM_PK_LEN) {
            rc = AM_ECORRUPT;
            goto fail;
        }
        if ((rc = store_head_read(txn, s, (const uint8_t *)k.mv_data + AM_PK_LEN, &h)) != AM_OK) {
            rc = rc == AM_ENOTFOUND ? AM_ECORRUPT : rc;
            goto fail;
        }
        memcpy(r->id, h.log, AM_PK_LEN);
        memcpy(r->author, k.mv_data, AM_PK_LEN);
        memcpy(r->parent_id, h.parent, AM_PK_LEN);
        r->first = h.first_seq;
        r->abusive = (h.flags & STORE_HEAD_ABUSIVE) != 0;
        c->n++;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto fail;
    mdb_cursor_close(cur);
    cur = NULL;
    if (c->n > 1)
        qsort(c->r, c->n, sizeof *c->r, crec_cmp);
    for (size_t i = 0; i < c->n; i++) {
        const struct logs_crec *par;
        c->r[i].parent = -1;
        if (!memcmp(c->r[i].parent_id, zero, AM_PK_LEN))
            continue; /* a root log */
        if (!(par = crec_find(c, c->r[i].parent_id))) {
            rc = AM_ECORRUPT;
            goto fail;
        }
        c->r[i].parent = (int)(par - c->r);
    }
    for (size_t i = 0; i < c->n; i++)
        if (c->r[i].parent >= 0)
            c->r[c->r[i].parent].end = c->r[i].first;
    *out = c;
    return AM_OK;
fail:
    mdb_cursor_close(cur);
    logs_ctx_free(c);
    return rc < 0 && rc > -100 ? rc : store_mdb_err(rc);
}

int logs_ctx_get(struct store *s, MDB_txn *txn, const struct logs_ctx **out)
{
    MDB_val v;
    uint8_t gen[8] = {0};
    int rc;

    *out = NULL;
    if (store_meta_get(txn, s, "logs_gen", &v) == 0 && v.mv_size == sizeof gen)
        memcpy(gen, v.mv_data, sizeof gen);
    if (!s->logs_ctx || memcmp(s->logs_ctx->gen, gen, sizeof gen) != 0) {
        struct logs_ctx *c;
        if ((rc = logs_ctx_load(s, txn, &c)) != AM_OK)
            return rc;
        logs_ctx_free(s->logs_ctx);
        s->logs_ctx = c;
    }
    *out = s->logs_ctx->n ? s->logs_ctx : NULL;
    return AM_OK;
}

const uint8_t *logs_ctx_author(const struct logs_ctx *c, const uint8_t *log)
{
    const struct logs_crec *r = c ? crec_find(c, log) : NULL;
    return r ? r->author : log;
}

int logs_ctx_abusive(const struct logs_ctx *c, const uint8_t *author)
{
    const struct logs_crec *r = c ? crec_find(c, author) : NULL;
    return r && r->abusive;
}

/* ---- resolving refs (PROTOCOL.md 10.8.5) ---- */

static int sc_push(struct logs_scratch *sc, size_t *n, const uint8_t *id, uint64_t seq)
{
    if (seq == 0)
        return AM_OK;
    if (AM_GROW(sc->r, sc->cap, *n + 1, 64) != AM_OK)
        return AM_ENOMEM;
    memcpy(sc->r[*n].author, id, AM_PK_LEN);
    sc->r[*n].seq = seq;
    ++*n;
    return AM_OK;
}

/* The entry a ref names: rule 1 (the writer's own author: along the writer's ancestry)
 * or rule 2 (another log: within it, or its last entry when it was split below). */
static const struct logs_crec *resolve(const struct logs_ctx *c, const struct relief_ref *in,
                                       const struct logs_crec *writer, const uint8_t *author,
                                       uint8_t out_id[AM_PK_LEN], uint64_t *out_seq)
{
    const struct logs_crec *r;
    memcpy(out_id, in->author, AM_PK_LEN);
    *out_seq = in->seq;
    if (writer && memcmp(in->author, author, AM_PK_LEN) == 0) {
        r = writer;
        while (r->parent >= 0 && in->seq < r->first)
            r = &c->r[r->parent];
        memcpy(out_id, r->id, AM_PK_LEN);
        return r;
    }
    r = crec_find(c, in->author);
    if (r && r->end && in->seq >= r->end)
        *out_seq = r->end - 1;
    return r;
}

int logs_resolve_op(const struct logs_ctx *c, struct relief_op *op, const uint8_t *writer_log,
                    const uint8_t *author, struct logs_scratch *sc)
{
    const struct logs_crec *writer;
    struct relief_ref_iter it;
    struct relief_ref r;
    size_t nsup = 0, nctx = 0;
    int need = 0, rc;

    if (!c)
        return AM_OK;
    writer = crec_find(c, writer_log);
    /* a count's past holds its writer's own ancestry: the logs above a child log */
    need = writer && writer->parent >= 0 && (op->has & RELIEF_HAS(RELIEF_K_CTX));
    for (int l = 0; l < 2 && !need; l++) {
        relief_refs_begin(&it, l ? &op->ctx : &op->sup);
        while (!need && relief_refs_next(&it, &r))
            need = crec_find(c, r.author) != NULL;
    }
    if (!need)
        return AM_OK;

    /* sup: each ref resolved */
    relief_refs_begin(&it, &op->sup);
    while (relief_refs_next(&it, &r)) {
        uint8_t id[AM_PK_LEN];
        uint64_t seq;
        resolve(c, &r, writer, author, id, &seq);
        if ((rc = sc_push(sc, &nsup, id, seq)) != AM_OK)
            return rc;
    }
    /* ctx: each ref resolved, with the ancestry of the log it lands in, and the writer's */
    nctx = nsup;
    relief_refs_begin(&it, &op->ctx);
    while (relief_refs_next(&it, &r)) {
        uint8_t id[AM_PK_LEN];
        uint64_t seq;
        const struct logs_crec *x = resolve(c, &r, writer, author, id, &seq);
        if ((rc = sc_push(sc, &nctx, id, seq)) != AM_OK)
            return rc;
        for (; x && x->parent >= 0; x = &c->r[x->parent])
            if ((rc = sc_push(sc, &nctx, c->r[x->parent].id, x->first - 1)) != AM_OK)
                return rc;
    }
    if (op->has & RELIEF_HAS(RELIEF_K_CTX))
        for (const struct logs_crec *x = writer; x && x->parent >= 0; x = &c->r[x->parent])
            if ((rc = sc_push(sc, &nctx, c->r[x->parent].id, x->first - 1)) != AM_OK)
                return rc;
    {
        uint32_t ns = (uint32_t)nsup, nc = (uint32_t)(nctx - nsup);
        relief_refs_sort(sc->r, &ns);
        relief_ctx_normalize(sc->r + nsup, &nc);
        op->sup.n = ns;
        op->sup.arr = sc->r;
        op->sup.mp = NULL;
        op->ctx.n = nc;
        op->ctx.arr = sc->r + nsup;
        op->ctx.mp = NULL;
    }
    return AM_OK;
}

int logs_ctx_forked(const struct logs_ctx *c, const uint8_t *author)
{
    return c && crec_find(c, author) != NULL;
}
