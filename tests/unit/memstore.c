/*
 * memstore.c: struct sync_store in memory (see memstore.h). The verdicts follow
 * store_ingest() of node/store.c: plan each author's entries against its head, verify the
 * tip of the run that links to the head (the hash chain covers the rest), then store the
 * run and the fork evidence. Never includes lmdb.h, never prints.
 */
#include "memstore.h"

#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "entry.h"

struct ms_blob {
    uint8_t *raw;
    size_t len;
};

struct ms_fork {
    uint64_t seq;
    uint8_t hash[AM_HASH_LEN];
    struct ms_blob b;
};

struct ms_author {
    struct sync_head head; /* seq 0 while only fork evidence is held */
    struct ms_blob *log;   /* log[i] holds seq i + 1; head.seq of them */
    size_t log_cap;
    struct ms_fork *forks; /* sorted by (seq, hash) */
    size_t n_forks, forks_cap;
};

struct memstore {
    struct ms_author **a; /* sorted by author id */
    size_t n, cap;
    uint8_t (*peers)[AM_PK_LEN]; /* sorted */
    size_t n_peers, peers_cap;
};

int memstore_new(struct memstore **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? AM_OK : AM_ENOMEM;
}

void memstore_free(struct memstore *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        struct ms_author *a = m->a[i];
        for (uint64_t s = 0; s < a->head.seq; s++)
            free(a->log[s].raw);
        for (size_t f = 0; f < a->n_forks; f++)
            free(a->forks[f].b.raw);
        free(a->log);
        free(a->forks);
        free(a);
    }
    free(m->a);
    free(m->peers);
    free(m);
}

/* Index of `author` in m->a, or where it would go (*found says which). */
static size_t author_pos(const struct memstore *m, const uint8_t *author, int *found)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(m->a[mid]->head.author, author, AM_PK_LEN);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static struct ms_author *author_get(const struct memstore *m, const uint8_t *author)
{
    int found;
    size_t i = author_pos(m, author, &found);
    return found ? m->a[i] : NULL;
}

/* ---- the engine's reads ---------------------------------------------------------------- */

static int ms_heads(void *ctx, int (*cb)(void *cbctx, const struct sync_head *h), void *cbctx)
{
    struct memstore *m = ctx;
    for (size_t i = 0; i < m->n; i++) {
        int rc = cb(cbctx, &m->a[i]->head);
        if (rc != 0)
            return rc;
    }
    return AM_OK;
}

static int ms_head(void *ctx, const uint8_t author[AM_PK_LEN], struct sync_head *h)
{
    struct ms_author *a = author_get(ctx, author);
    if (!a)
        return AM_ENOTFOUND;
    *h = a->head;
    return AM_OK;
}

static int ms_entries(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t from_seq,
                      int (*cb)(void *cbctx, const uint8_t *raw, size_t len), void *cbctx)
{
    struct ms_author *a = author_get(ctx, author);
    if (!a)
        return AM_OK;
    for (uint64_t s = from_seq > 0 ? from_seq : 1; s <= a->head.seq; s++)
        if (cb(cbctx, a->log[s - 1].raw, a->log[s - 1].len) != 0)
            break;
    return AM_OK;
}

static int ms_forks(void *ctx, const uint8_t author[AM_PK_LEN],
                    int (*cb)(void *cbctx, const uint8_t *raw, size_t len), void *cbctx)
{
    struct ms_author *a = author_get(ctx, author);
    if (!a)
        return AM_OK;
    for (size_t f = 0; f < a->n_forks; f++)
        if (cb(cbctx, a->forks[f].b.raw, a->forks[f].b.len) != 0)
            break;
    return AM_OK;
}

static int ms_peers(void *ctx, const uint8_t *hint, size_t hint_len,
                    int (*cb)(void *cbctx, const uint8_t author[AM_PK_LEN]), void *cbctx)
{
    struct memstore *m = ctx;
    if (hint_len > AM_PK_LEN)
        return AM_EINVAL;
    for (size_t i = 0; i < m->n_peers; i++)
        if (memcmp(m->peers[i], hint, hint_len) == 0 && cb(cbctx, m->peers[i]) != 0)
            break;
    return AM_OK;
}

static int ms_peer_met(void *ctx, const uint8_t author[AM_PK_LEN])
{
    struct memstore *m = ctx;
    size_t i = 0;
    while (i < m->n_peers && memcmp(m->peers[i], author, AM_PK_LEN) < 0)
        i++;
    if (i < m->n_peers && memcmp(m->peers[i], author, AM_PK_LEN) == 0)
        return AM_OK;
    if (m->n_peers == m->peers_cap) {
        size_t cap = m->peers_cap ? 2 * m->peers_cap : 8;
        void *p = realloc(m->peers, cap * sizeof *m->peers);
        if (!p)
            return AM_ENOMEM;
        m->peers = p;
        m->peers_cap = cap;
    }
    memmove(m->peers + i + 1, m->peers + i, (m->n_peers - i) * sizeof *m->peers);
    memcpy(m->peers[i], author, AM_PK_LEN);
    m->n_peers++;
    return AM_OK;
}

/* ---- ingest ------------------------------------------------------------------------------ */

enum ms_verdict { MV_PENDING, MV_NEW, MV_DUP, MV_FORK, MV_REFUSED };
enum ms_check { MC_NONE, MC_BATCHDUP, MC_UNLINKED };

struct ms_item {
    struct entry e;
    uint8_t hash[AM_HASH_LEN];
    size_t idx, ref; /* position in the batch; MC_BATCHDUP: the first copy of this seq */
    uint8_t verdict, check, in_run;
    int8_t sig;    /* -1 not checked yet */
    uint8_t *copy; /* what the store will keep (MV_NEW, MV_FORK) */
};

static int item_order(const void *x, const void *y)
{
    const struct ms_item *a = x, *b = y;
    int c = memcmp(a->e.author, b->e.author, AM_PK_LEN);
    if (c)
        return c;
    if (a->e.seq != b->e.seq)
        return a->e.seq < b->e.seq ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int sig_ok(struct ms_item *it)
{
    if (it->sig < 0)
        it->sig = entry_verify(&it->e) == AM_OK;
    return it->sig;
}

static int same(const struct entry *e, const struct ms_blob *b)
{
    return e->raw_len == b->len && memcmp(e->raw, b->raw, b->len) == 0;
}

/* The kept entry's own signature: a log may keep an entry whose signature is bad when a
 * later, validly signed entry of its run named it (the hash chain vouched for it). */
static int kept_sig_ok(const struct ms_blob *b)
{
    struct entry e;
    return entry_decode(&e, b->raw, b->len) == AM_OK && entry_verify(&e) == AM_OK;
}

/* Index in it[0..n) of the k-th (0-based) member of the run. */
static size_t run_at(const struct ms_item *it, size_t n, size_t k)
{
    for (size_t i = 0; i < n; i++)
        if (it[i].in_run && k-- == 0)
            return i;
    return n;
}

/* Verdicts of one author's items it[0..n) (sorted by seq) against its stored state a
 * (NULL: none). */
static void plan_author(const struct ms_author *a, struct ms_item *it, size_t n)
{
    uint64_t held = a ? a->head.seq : 0, next = held + 1;
    uint8_t prev[AM_HASH_LEN] = {0};
    size_t first = 0, nrun = 0, good = 0, last_run = 0;
    int broken = 0, pred_kept;

    if (a)
        memcpy(prev, a->head.hash, AM_HASH_LEN);
    for (size_t i = 0; i < n; i++) {
        struct ms_item *x = &it[i];
        if (i == 0 || x->e.seq != it[i - 1].e.seq)
            first = i;
        if (x->e.seq <= held) {
            /* a position held: the same bytes, or a second signed entry for it */
            if (same(&x->e, &a->log[x->e.seq - 1]))
                x->verdict = MV_DUP;
            else
                x->verdict = sig_ok(x) && kept_sig_ok(&a->log[x->e.seq - 1]) ? MV_FORK : MV_REFUSED;
            continue;
        }
        if (broken) {
            x->verdict = MV_REFUSED;
            continue;
        }
        if (first != i) {
            if (x->e.raw_len == it[first].e.raw_len &&
                memcmp(x->e.raw, it[first].e.raw, x->e.raw_len) == 0) {
                x->verdict = MV_DUP;
            } else {
                x->check = MC_BATCHDUP;
                x->ref = first;
            }
            continue;
        }
        if (x->e.seq == next && memcmp(x->e.prev, prev, AM_HASH_LEN) == 0) {
            x->in_run = 1;
            next++;
            memcpy(prev, x->hash, AM_HASH_LEN);
            nrun++;
            last_run = i;
        } else {
            if (x->e.seq == next)
                x->check = MC_UNLINKED; /* names another predecessor: a fork if signed */
            else
                x->verdict = MV_REFUSED; /* a gap */
            broken = 1;
        }
    }

    /* The run links by hashes to the head: a good signature vouches for all of the run
     * before it. A good tip keeps the whole run; else the members kept are found by
     * bisection, as store.c does (a few checks however long a forged run is): exact when
     * the signatures are good up to some member and bad after it, and keeping less than
     * the longest prefix with a good last signature when an author signed after a member
     * whose signature is bad. */
    if (nrun > 0) {
        if (sig_ok(&it[last_run])) {
            good = nrun;
        } else {
            size_t lo = 0, hi = nrun - 1;
            while (lo < hi) {
                size_t mid = lo + (hi - lo + 1) / 2;
                if (sig_ok(&it[run_at(it, n, mid - 1)]))
                    lo = mid;
                else
                    hi = mid - 1;
            }
            good = lo;
        }
    }
    {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (it[i].in_run)
                it[i].verdict = k++ < good ? MV_NEW : MV_REFUSED;
    }
    pred_kept = nrun > 0 ? good == nrun : held > 0;
    for (size_t i = 0; i < n; i++) {
        struct ms_item *x = &it[i];
        if (x->check == MC_BATCHDUP) {
            struct ms_item *r = &it[x->ref];
            if (r->verdict != MV_NEW)
                x->verdict = MV_REFUSED;
            else
                x->verdict = sig_ok(x) && sig_ok(r) ? MV_FORK : MV_REFUSED;
        } else if (x->check == MC_UNLINKED) {
            x->verdict = sig_ok(x) && pred_kept ? MV_FORK : MV_REFUSED;
        }
    }
}

static int fork_cmp(const struct ms_fork *f, uint64_t seq, const uint8_t *hash)
{
    if (f->seq != seq)
        return f->seq < seq ? -1 : 1;
    return memcmp(f->hash, hash, AM_HASH_LEN);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t c = *cap ? *cap : 16;
    void *q;
    if (need <= *cap)
        return AM_OK;
    while (c < need)
        c *= 2;
    if (!(q = realloc(*p, c * size)))
        return AM_ENOMEM;
    *p = q;
    *cap = c;
    return AM_OK;
}

/* Room for what the group it[0..n) adds to `a` (NULL: a new author, allocated into
 * *fresh). Nothing visible changes. */
static int reserve_author(struct ms_author *a, struct ms_item *it, size_t n,
                          struct ms_author **fresh)
{
    size_t adds = 0, forks = 0;
    for (size_t i = 0; i < n; i++) {
        if (it[i].verdict != MV_NEW && it[i].verdict != MV_FORK)
            continue;
        adds += it[i].verdict == MV_NEW;
        forks += it[i].verdict == MV_FORK;
        if (!(it[i].copy = malloc(it[i].e.raw_len ? it[i].e.raw_len : 1)))
            return AM_ENOMEM;
        memcpy(it[i].copy, it[i].e.raw, it[i].e.raw_len);
    }
    *fresh = NULL;
    if (adds + forks == 0)
        return AM_OK;
    if (!a) {
        if (!(a = *fresh = calloc(1, sizeof *a)))
            return AM_ENOMEM;
        memcpy(a->head.author, it[0].e.author, AM_PK_LEN);
    }
    if (grow((void **)&a->log, &a->log_cap, a->head.seq + adds, sizeof *a->log) != AM_OK ||
        grow((void **)&a->forks, &a->forks_cap, a->n_forks + forks, sizeof *a->forks) != AM_OK)
        return AM_ENOMEM;
    return AM_OK;
}

/* Stores the group's verdicts into a (room reserved); counts fork evidence already held
 * as duplicates. */
static void commit_author(struct ms_author *a, struct ms_item *it, size_t n,
                          struct sync_ingest_result *res)
{
    for (size_t i = 0; i < n; i++) {
        struct ms_item *x = &it[i];
        if (x->verdict == MV_NEW) {
            a->log[a->head.seq].raw = x->copy;
            a->log[a->head.seq].len = x->e.raw_len;
            a->head.seq = x->e.seq;
            memcpy(a->head.hash, x->hash, AM_HASH_LEN);
            x->copy = NULL;
            res->added++;
        } else if (x->verdict == MV_FORK) {
            size_t f = 0;
            while (f < a->n_forks && fork_cmp(&a->forks[f], x->e.seq, x->hash) < 0)
                f++;
            if (f < a->n_forks && fork_cmp(&a->forks[f], x->e.seq, x->hash) == 0) {
                res->duplicate++; /* evidence already kept */
                continue;
            }
            memmove(a->forks + f + 1, a->forks + f, (a->n_forks - f) * sizeof *a->forks);
            a->forks[f].seq = x->e.seq;
            memcpy(a->forks[f].hash, x->hash, AM_HASH_LEN);
            a->forks[f].b.raw = x->copy;
            a->forks[f].b.len = x->e.raw_len;
            a->n_forks++;
            x->copy = NULL;
            a->head.flags |= 1u;
            res->forks++;
        } else if (x->verdict == MV_DUP) {
            res->duplicate++;
        } else {
            res->refused++;
        }
    }
}

int memstore_ingest(struct memstore *m, const uint8_t *const *raw, const size_t *lens, size_t n,
                    struct sync_ingest_result *res)
{
    struct ms_item *it = n ? calloc(n, sizeof *it) : NULL;
    struct ms_author **fresh = n ? calloc(n, sizeof *fresh) : NULL;
    size_t ni = 0, ng = 0;
    uint64_t malformed = 0;
    int rc = AM_OK;

    memset(res, 0, sizeof *res);
    if (n == 0)
        return AM_OK;
    if (!it || !fresh) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct ms_item *x = &it[ni];
        if (entry_decode(&x->e, raw[i], lens[i]) != AM_OK) {
            malformed++;
            continue;
        }
        entry_hash(&x->e, x->hash);
        x->idx = i;
        x->sig = -1;
        ni++;
    }
    qsort(it, ni, sizeof *it, item_order);

    /* plan and reserve every author first, then change the store: all or nothing */
    for (size_t lo = 0, hi; lo < ni; lo = hi, ng++) {
        for (hi = lo + 1; hi < ni && memcmp(it[hi].e.author, it[lo].e.author, AM_PK_LEN) == 0;)
            hi++;
        struct ms_author *a = author_get(m, it[lo].e.author);
        plan_author(a, it + lo, hi - lo);
        if ((rc = reserve_author(a, it + lo, hi - lo, &fresh[ng])) != AM_OK)
            goto out;
        if (fresh[ng] && grow((void **)&m->a, &m->cap, m->n + 1 + ng, sizeof *m->a) != AM_OK) {
            rc = AM_ENOMEM;
            goto out;
        }
    }
    for (size_t lo = 0, hi, g = 0; lo < ni; lo = hi, g++) {
        for (hi = lo + 1; hi < ni && memcmp(it[hi].e.author, it[lo].e.author, AM_PK_LEN) == 0;)
            hi++;
        struct ms_author *a = author_get(m, it[lo].e.author);
        if (!a && fresh[g]) {
            int found;
            size_t at = author_pos(m, it[lo].e.author, &found);
            memmove(m->a + at + 1, m->a + at, (m->n - at) * sizeof *m->a);
            m->a[at] = a = fresh[g];
            fresh[g] = NULL;
            m->n++;
        }
        if (a) {
            commit_author(a, it + lo, hi - lo, res);
        } else {
            struct ms_author none = {0};
            commit_author(&none, it + lo, hi - lo, res); /* only counts */
        }
    }
    res->refused += malformed;
out:
    for (size_t i = 0; i < ni; i++)
        free(it[i].copy);
    for (size_t g = 0; fresh && g < ng; g++) {
        if (fresh[g]) {
            free(fresh[g]->log);
            free(fresh[g]->forks);
            free(fresh[g]);
        }
    }
    free(it);
    free(fresh);
    if (rc != AM_OK)
        memset(res, 0, sizeof *res);
    return rc;
}

static int ms_ingest(void *ctx, const uint8_t *const *raw, const size_t *lens, size_t n,
                     struct sync_ingest_result *res)
{
    return memstore_ingest(ctx, raw, lens, n, res);
}

void memstore_table(struct memstore *m, struct sync_store *out)
{
    out->ctx = m;
    out->heads = ms_heads;
    out->head = ms_head;
    out->entries = ms_entries;
    out->forks = ms_forks;
    out->ingest = ms_ingest;
    out->peers = ms_peers;
    out->peer_met = ms_peer_met;
}

/* ---- for tests -------------------------------------------------------------------------- */

int memstore_append(struct memstore *m, const uint8_t sk[static AM_SK_LEN], uint64_t hlc,
                    const uint8_t *op, size_t op_len, struct sync_head *head)
{
    const struct ms_author *a = author_get(m, sk + AM_SEED_LEN);
    uint8_t zero[AM_HASH_LEN] = {0}, *buf = malloc(AM_ENTRY_MAX);
    const uint8_t *raw[1];
    struct sync_ingest_result res;
    size_t len;
    int rc;

    if (!buf)
        return AM_ENOMEM;
    if (a && (a->head.flags & 1u)) {
        rc = AM_EFORK;
        goto out;
    }
    rc = entry_build(buf, AM_ENTRY_MAX, &len, sk, a ? a->head.seq + 1 : 1, a ? a->head.hash : zero,
                     hlc, op, op_len);
    if (rc != AM_OK)
        goto out;
    raw[0] = buf;
    if ((rc = memstore_ingest(m, raw, &len, 1, &res)) != AM_OK)
        goto out;
    if (res.added != 1) {
        rc = AM_ECORRUPT; /* our own entry must link */
        goto out;
    }
    if (head)
        *head = author_get(m, sk + AM_SEED_LEN)->head;
out:
    free(buf);
    return rc;
}

int memstore_entry(const struct memstore *m, const uint8_t author[static AM_PK_LEN], uint64_t seq,
                   const uint8_t **raw, size_t *len)
{
    const struct ms_author *a = author_get(m, author);
    if (!a || seq == 0 || seq > a->head.seq)
        return AM_ENOTFOUND;
    *raw = a->log[seq - 1].raw;
    *len = a->log[seq - 1].len;
    return AM_OK;
}

uint64_t memstore_entries(const struct memstore *m)
{
    uint64_t t = 0;
    for (size_t i = 0; i < m->n; i++)
        t += m->a[i]->head.seq;
    return t;
}

uint64_t memstore_forks(const struct memstore *m)
{
    uint64_t t = 0;
    for (size_t i = 0; i < m->n; i++)
        t += m->a[i]->n_forks;
    return t;
}

size_t memstore_authors(const struct memstore *m)
{
    return m->n;
}

void memstore_head_at(const struct memstore *m, size_t i, struct sync_head *h)
{
    *h = m->a[i]->head;
}

int memstore_fingerprint(const struct memstore *m, uint8_t fp[static SYNC_FP_LEN])
{
    struct sync_head *h = malloc((m->n ? m->n : 1) * sizeof *h);
    if (!h)
        return AM_ENOMEM;
    for (size_t i = 0; i < m->n; i++)
        h[i] = m->a[i]->head;
    sync_fingerprint(h, m->n, fp);
    free(h);
    return AM_OK;
}
