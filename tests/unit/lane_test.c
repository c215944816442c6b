/*
 * lane_test.c: the priority lane of the store (node/store_lane.c, PROTOCOL.md 6, "Lane"):
 * a lane entry's op is in the views at once; its log arriving later changes no view byte
 * and empties the lane; lane then log gives the views of log alone, over seeded random
 * histories (the seed is printed: rerun with AM_SEED=...); a forged lane entry, one of a
 * forked author, one its log has reached and one beyond AM_LANE_MAX are refused or
 * skipped; other bytes at a lane entry's seq arriving by log drop the author's lane
 * records and give the views of a store that never held them; reindex equals live with
 * lane entries held, and verify finds nothing wrong with them.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "entry.h"
#include "hlc.h"
#include "relief.h"
#include "relief_node.h"
#include "store.h"
#include "testutil.h"
#include "verify.h"

#define WALL     1767225600000ULL /* 2026-01-01 */
#define NAUTH    3
#define ENTRYCAP 1024

/* ---- histories ---- */

struct lentry {
    uint8_t *raw;
    size_t len;
    uint8_t hash[AM_HASH_LEN];
    int need; /* a need.open */
};

struct lauthor {
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    uint8_t prev[AM_HASH_LEN];
    struct lentry *e;
    size_t n, cap;
};

struct lhist {
    struct lauthor au[NAUTH];
    uint64_t clock;
};

static struct relief_str S(const char *s) {
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

static void
h_init(struct lhist *h, uint64_t *st)
{
    memset(h, 0, sizeof *h);
    for (int a = 0; a < NAUTH; a++) {
        uint8_t seed[AM_SEED_LEN];
        for (int i = 0; i < AM_SEED_LEN; i++)
            seed[i] = (uint8_t)tu_rand(st);
        crypto_sign_seed_keypair(h->au[a].pk, h->au[a].sk, seed);
    }
}

static void h_free(struct lhist *h)
{
    for (int a = 0; a < NAUTH; a++) {
        for (size_t i = 0; i < h->au[a].n; i++)
            free(h->au[a].e[i].raw);
        free(h->au[a].e);
    }
}

/* Signs op bytes as author a's entry at seq after prev (the author's chain unless given). */
static void sign_at(struct lauthor *au, uint64_t seq, const uint8_t prev[AM_HASH_LEN], uint64_t hlc,
                    const uint8_t *op, size_t ol, struct lentry *out)
{
    struct entry e;
    memset(out, 0, sizeof *out);
    out->raw = malloc(ENTRYCAP);
    cr_assert(out->raw);
    cr_assert_eq(entry_build(out->raw, ENTRYCAP, &out->len, au->sk, seq, prev, hlc, op, ol), AM_OK);
    cr_assert_eq(entry_decode(&e, out->raw, out->len), AM_OK);
    entry_hash(&e, out->hash);
}

static void enc(const struct relief_op *op, uint8_t *buf, size_t *len)
{
    char err[RELIEF_ERR_MAX] = "";
    cr_assert_eq(relief_op_encode(op, buf, AM_OP_MAX, len, err, sizeof err), AM_OK, "%s", err);
}

/* Appends op bytes as author a's next entry. */
static struct lentry *h_push(struct lhist *h, int a, const uint8_t *op, size_t ol)
{
    struct lauthor *au = &h->au[a];
    struct lentry *le;
    if (au->n == au->cap) {
        au->cap = au->cap ? 2 * au->cap : 64;
        au->e = realloc(au->e, au->cap * sizeof *au->e);
        cr_assert(au->e);
    }
    le = &au->e[au->n];
    h->clock += 1000;
    sign_at(au, au->n + 1, au->prev, hlc_pack(WALL + h->clock, 0), op, ol, le);
    memcpy(au->prev, le->hash, AM_HASH_LEN);
    au->n++;
    return le;
}

static struct lentry *h_op(struct lhist *h, int a, const struct relief_op *op)
{
    uint8_t buf[AM_OP_MAX];
    size_t len;
    enc(op, buf, &len);
    return h_push(h, a, buf, len);
}

static struct relief_op need_open(int pri, int64_t q)
{
    struct relief_op op;
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_OPEN;
    op.site = S("clinic-2");
    op.item = S("ors-20.5");
    op.q = q;
    op.pri = pri;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
    return op;
}

static struct relief_op stock_move(int64_t q)
{
    struct relief_op op;
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_STOCK_MOVE;
    op.site = S("clinic-2");
    op.item = S("ors-20.5");
    op.q = q;
    op.reason = RELIEF_R_RECEIVED;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, R);
    return op;
}

static struct relief_ref g_sup[1];

/* One random entry by a random author: needs, updates of a need (naming its opening as
 * what it supersedes), deliveries, stock moves, and now and then an invalid op. */
static void h_step(struct lhist *h, uint64_t *st)
{
    int a = (int)(tu_rand(st) % NAUTH);
    unsigned r = (unsigned)(tu_rand(st) % 100);
    struct relief_op op;
    const struct lentry *ne = NULL;
    int nb = 0;
    uint64_t nseq = 0;

    /* a need opened by anyone */
    for (int t = 0; t < 8 && !ne; t++) {
        int b = (int)(tu_rand(st) % NAUTH);
        if (h->au[b].n) {
            uint64_t i = tu_rand(st) % h->au[b].n;
            if (h->au[b].e[i].need)
                ne = &h->au[b].e[i], nb = b, nseq = i + 1;
        }
    }
    memset(&op, 0, sizeof op);
    if (r < 30 || (!ne && r < 60)) {
        op = need_open(1 + (int)(tu_rand(st) % 4), 1 + (int64_t)(tu_rand(st) % 40));
        h_op(h, a, &op)->need = 1;
        return;
    }
    if (r < 60) {
        op.type = RELIEF_T_NEED_UPD;
        relief_need_id(ne->hash, op.need);
        HAS(&op, NEED);
        op.q = 1 + (int64_t)(tu_rand(st) % 40), HAS(&op, Q);
        op.pri = 1 + (int)(tu_rand(st) % 4), HAS(&op, PRI);
        memcpy(g_sup[0].author, h->au[nb].pk, AM_PK_LEN);
        g_sup[0].seq = nseq;
        op.sup.n = 1;
        op.sup.arr = g_sup;
        HAS(&op, SUP);
    } else if (r < 75 && ne) {
        op.type = RELIEF_T_NEED_DLV;
        relief_need_id(ne->hash, op.need);
        HAS(&op, NEED);
        op.q = 1 + (int64_t)(tu_rand(st) % 10), HAS(&op, Q);
    } else if (r < 95) {
        op = stock_move(1 + (int64_t)(tu_rand(st) % 30));
    } else {
        /* {"t": "need.dlv", "need": bin16, "q": -5}: invalid */
        uint8_t bad[64];
        size_t bl = 0;
        bad[bl++] = 0x83;
        bad[bl++] = 0xa1, bad[bl++] = 't';
        bad[bl++] = 0xa8;
        memcpy(bad + bl, "need.dlv", 8), bl += 8;
        bad[bl++] = 0xa4;
        memcpy(bad + bl, "need", 4), bl += 4;
        bad[bl++] = 0xc4, bad[bl++] = 16;
        memset(bad + bl, 0x11, 16), bl += 16;
        bad[bl++] = 0xa1, bad[bl++] = 'q';
        bad[bl++] = 0xfb;
        h_push(h, a, bad, bl);
        return;
    }
    h_op(h, a, &op);
}

/* ---- stores ---- */

struct tstore {
    char *dir;
    struct store *s;
};

static void ts_open(struct tstore *t, uint64_t cache)
{
    struct store_opts o = {0};
    o.view_cache = cache;
    t->dir = tu_tmpdir();
    cr_assert_eq(store_open(&t->s, t->dir, &o), AM_OK);
}

static void ts_close(struct tstore *t)
{
    store_close(t->s);
    tu_rmrf(t->dir);
    free(t->dir);
    t->s = NULL;
}

/* Author a's entries [from, to) (0-based) by log, in one batch. */
static void log_in(struct store *s, const struct lhist *h, int a, size_t from, size_t to)
{
    const uint8_t **p;
    size_t *l;
    struct store_ingest_stats is;
    if (to <= from)
        return;
    p = malloc((to - from) * sizeof *p);
    l = malloc((to - from) * sizeof *l);
    cr_assert(p && l);
    for (size_t i = from; i < to; i++) {
        p[i - from] = h->au[a].e[i].raw;
        l[i - from] = h->au[a].e[i].len;
    }
    cr_assert_eq(store_ingest(s, p, l, to - from, WALL, &is), AM_OK);
    cr_assert_eq(is.added, to - from, "log_in: %llu of %zu added (gap %llu)",
                 (unsigned long long)is.added, to - from, (unsigned long long)is.gap);
    free(p);
    free(l);
}

static struct store_lane_stats lane_in(struct store *s, const struct lentry *const *e, size_t n)
{
    const uint8_t *p[64];
    size_t l[64];
    struct store_lane_stats ls;
    cr_assert(n <= 64);
    for (size_t i = 0; i < n; i++) {
        p[i] = e[i]->raw;
        l[i] = e[i]->len;
    }
    cr_assert_eq(store_lane_ingest(s, p, l, n, WALL, &ls), AM_OK);
    return ls;
}

static struct store_lane_stats lane_one(struct store *s, const struct lentry *e)
{
    return lane_in(s, &e, 1);
}

static uint64_t lane_count(struct store *s)
{
    uint64_t n = 99999;
    struct store_stats st;
    cr_assert_eq(store_lane_count(s, &n), AM_OK);
    cr_assert_eq(store_stats(s, &st), AM_OK);
    cr_assert_eq(st.lane, n);
    return n;
}

static void digest(struct store *s, uint8_t d[AM_HASH_LEN])
{
    cr_assert_eq(store_views_digest(s, d), AM_OK);
}

static void same_views(struct store *a, struct store *b, const char *what, uint64_t seed)
{
    uint8_t da[AM_HASH_LEN], db[AM_HASH_LEN];
    digest(a, da);
    digest(b, db);
    cr_assert(!memcmp(da, db, AM_HASH_LEN), "%s: the views differ; AM_SEED=%llu", what,
              (unsigned long long)seed);
}

static void problem(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t seq, const char *what)
{
    (void)author;
    cr_log_error("verify: seq %llu: %s", (unsigned long long)seq, what);
    ++*(int *)ctx;
}

static void verify_clean(struct store *s)
{
    struct verify_report r;
    int n = 0;
    cr_assert_eq(verify_store(s, problem, &n, &r), AM_OK);
    cr_assert_eq(r.problems, 0);
}

/* The need opened by entry e, as the views show it: 1 when opened, with its ref. */
static int need_seen(struct store *s, const struct lentry *e, struct relief_ref *open_ref)
{
    struct relief_key k;
    struct relief_node_need nd;
    uint8_t *v = NULL;
    size_t len;
    int rc;
    memset(&k, 0, sizeof k);
    k.kind = RELIEF_OBJ_NEED;
    relief_need_id(e->hash, k.need);
    rc = relief_node_view(s, &k, &v, &len);
    if (rc == AM_ENOTFOUND)
        return 0;
    cr_assert_eq(rc, AM_OK);
    cr_assert_eq(relief_node_need_parse(v, len, &nd), AM_OK);
    if (open_ref)
        *open_ref = nd.open_ref;
    free(v);
    return nd.opened;
}

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
}

TestSuite(lane, .init = setup);

/* ---- the lane and the views ---- */

/* A fixed history: author 0 writes filler, then a critical need at its end. */
static void h_critical(struct lhist *h, uint64_t *st, size_t filler)
{
    struct relief_op op;
    h_init(h, st);
    for (size_t i = 0; i < filler; i++) {
        op = stock_move(1 + (int64_t)i);
        h_op(h, 0, &op);
    }
    op = need_open(RELIEF_PRI_CRITICAL, 12);
    h_op(h, 0, &op)->need = 1;
}

Test(lane, need_in_views_at_once_and_log_later_changes_nothing)
{
    uint64_t seed = tu_seed("lane.at_once"), st = seed;
    for (int cache = 0; cache < 2; cache++) {
        struct lhist h;
        struct tstore l, p;
        struct store_lane_stats ls;
        struct relief_ref r;
        uint8_t d1[AM_HASH_LEN], d2[AM_HASH_LEN];
        const struct lentry *need;

        h_critical(&h, &st, 20);
        need = &h.au[0].e[20];
        ts_open(&l, cache ? 0 : STORE_VIEW_CACHE_OFF);
        ts_open(&p, 0);
        log_in(l.s, &h, 0, 0, 5); /* a contact cut early: 5 of 21 */
        cr_assert_eq(need_seen(l.s, need, NULL), 0);

        ls = lane_one(l.s, need);
        cr_assert_eq(ls.added, 1);
        cr_assert_eq(lane_count(l.s), 1);
        cr_assert_eq(need_seen(l.s, need, &r), 1, "the lane entry's need is in the views");
        cr_assert(!memcmp(r.author, h.au[0].pk, AM_PK_LEN));
        cr_assert_eq(r.seq, 21);
        /* again: a duplicate, nothing changes */
        digest(l.s, d1);
        ls = lane_one(l.s, need);
        cr_assert_eq(ls.duplicate, 1);
        cr_assert_eq(ls.added, 0);
        digest(l.s, d2);
        cr_assert(!memcmp(d1, d2, AM_HASH_LEN));
        verify_clean(l.s);

        /* the log up to just before the lane entry: the lane holds on */
        log_in(l.s, &h, 0, 5, 20);
        cr_assert_eq(lane_count(l.s), 1);
        /* the need's own entry by log: the views do not change, the lane empties */
        digest(l.s, d1);
        log_in(l.s, &h, 0, 20, 21);
        digest(l.s, d2);
        cr_assert(!memcmp(d1, d2, AM_HASH_LEN), "the log brought the lane entry: same views");
        cr_assert_eq(lane_count(l.s), 0);

        log_in(p.s, &h, 0, 0, 21);
        same_views(l.s, p.s, "lane then log, log only", seed);
        /* once its log has it, the entry is a duplicate for the lane */
        ls = lane_one(l.s, need);
        cr_assert_eq(ls.duplicate, 1);
        cr_assert_eq(lane_count(l.s), 0);
        verify_clean(l.s);
        ts_close(&l);
        ts_close(&p);
        h_free(&h);
    }
}

/* Random histories: each store takes a random prefix of every log, then random entries
 * beyond it by lane (in random batches, repeats included), then the rest of the logs in
 * random pieces. With lane entries held: reindex equals live, verify is clean; at the end
 * the views equal those of the logs alone and the lane is empty. */
Test(lane, property_lane_then_log_equals_log_only, .timeout = 600)
{
    uint64_t seed = tu_seed("lane.property"), st = seed, total_held = 0;
    for (int hi = 0; hi < 12; hi++) {
        struct lhist h;
        struct tstore p;
        size_t steps = 40 + (size_t)(tu_rand(&st) % 120);

        h_init(&h, &st);
        for (size_t i = 0; i < steps; i++)
            h_step(&h, &st);
        ts_open(&p, 0);
        for (int a = 0; a < NAUTH; a++)
            log_in(p.s, &h, a, 0, h.au[a].n);

        for (int k = 0; k < 2; k++) {
            struct tstore l, m;
            size_t pos[NAUTH];
            uint64_t held = 0;
            ts_open(&l, k ? 2048 : 0);
            ts_open(&m, STORE_VIEW_CACHE_OFF);
            for (int a = 0; a < NAUTH; a++) {
                pos[a] = h.au[a].n ? (size_t)(tu_rand(&st) % (h.au[a].n + 1)) : 0;
                log_in(l.s, &h, a, 0, pos[a]);
            }
            for (int round = 0; round < 4; round++) {
                const struct lentry *b[16];
                size_t nb = 1 + (size_t)(tu_rand(&st) % 16);
                struct store_lane_stats ls;
                for (size_t i = 0; i < nb; i++) {
                    int a = (int)(tu_rand(&st) % NAUTH);
                    size_t at;
                    if (h.au[a].n == 0) {
                        a = 0;
                        while (h.au[a].n == 0)
                            a++;
                    }
                    at = (size_t)(tu_rand(&st) % h.au[a].n);
                    b[i] = &h.au[a].e[at];
                }
                ls = lane_in(l.s, b, nb);
                cr_assert_eq(ls.added + ls.duplicate + ls.skipped, nb, "AM_SEED=%llu",
                             (unsigned long long)seed);
                cr_assert_eq(ls.badsig + ls.malformed + ls.full, 0);
                held += ls.added;
            }
            cr_assert_eq(lane_count(l.s), held);
            total_held += held;
            if (k == 0) {
                /* with lane entries held: reindex equals live, and verify is clean */
                uint8_t d1[AM_HASH_LEN], d2[AM_HASH_LEN];
                digest(l.s, d1);
                cr_assert_eq(store_reindex(l.s, NULL), AM_OK);
                digest(l.s, d2);
                cr_assert(!memcmp(d1, d2, AM_HASH_LEN),
                          "history %d: reindex differs from live with %llu lane entries; "
                          "AM_SEED=%llu",
                          hi, (unsigned long long)held, (unsigned long long)seed);
                verify_clean(l.s);
            }
            /* the rest of the logs, in pieces, authors interleaved */
            for (int left = 1; left;) {
                left = 0;
                for (int a = 0; a < NAUTH; a++) {
                    size_t to = pos[a] + 1 + (size_t)(tu_rand(&st) % 8);
                    if (to > h.au[a].n)
                        to = h.au[a].n;
                    log_in(l.s, &h, a, pos[a], to);
                    pos[a] = to;
                    left |= pos[a] < h.au[a].n;
                }
            }
            cr_assert_eq(lane_count(l.s), 0, "AM_SEED=%llu", (unsigned long long)seed);
            same_views(l.s, p.s, "lane and log vs log only", seed);
            /* and a store reindexed from the same entries */
            for (int a = 0; a < NAUTH; a++)
                log_in(m.s, &h, a, 0, h.au[a].n);
            cr_assert_eq(store_reindex(l.s, NULL), AM_OK);
            same_views(l.s, m.s, "reindexed after the lane emptied", seed);
            ts_close(&l);
            ts_close(&m);
        }
        ts_close(&p);
        h_free(&h);
    }
    cr_log_info("lane.property: %llu lane entries held in all", (unsigned long long)total_held);
    cr_assert(total_held > 0, "no lane entry was ever held; AM_SEED=%llu",
              (unsigned long long)seed);
}

/* ---- what the lane refuses or skips ---- */

Test(lane, forged_and_malformed_entries_are_refused)
{
    uint64_t seed = tu_seed("lane.forged"), st = seed;
    struct lhist h;
    struct tstore l, p;
    struct store_lane_stats ls;
    const uint8_t *raw[2];
    size_t lens[2];
    uint8_t *forged, *cut;
    const struct lentry *need;

    h_critical(&h, &st, 3);
    need = &h.au[0].e[3];
    ts_open(&l, 0);
    ts_open(&p, 0);
    forged = tu_dup_exact(need->raw, need->len);
    forged[need->len - 1 - (size_t)(tu_rand(&st) % AM_SIG_LEN)] ^= 0x01; /* a signature byte */
    cut = tu_dup_exact(need->raw, need->len - 1);
    raw[0] = forged, lens[0] = need->len;
    raw[1] = cut, lens[1] = need->len - 1;
    cr_assert_eq(store_lane_ingest(l.s, raw, lens, 2, WALL, &ls), AM_OK);
    cr_assert_eq(ls.badsig, 1);
    cr_assert_eq(ls.malformed, 1);
    cr_assert_eq(ls.added, 0);
    cr_assert_eq(lane_count(l.s), 0);
    cr_assert_eq(need_seen(l.s, need, NULL), 0);
    same_views(l.s, p.s, "after a forged lane entry", seed);
    /* the real one is taken */
    ls = lane_one(l.s, need);
    cr_assert_eq(ls.added, 1);
    free(forged);
    free(cut);
    ts_close(&l);
    ts_close(&p);
    h_free(&h);
}

Test(lane, entries_the_log_reached_are_duplicates_or_skipped)
{
    uint64_t seed = tu_seed("lane.reached"), st = seed;
    struct lhist h;
    struct tstore l;
    struct store_lane_stats ls;
    struct lentry other;
    struct relief_op op = stock_move(99);
    uint8_t buf[AM_OP_MAX];
    size_t len;

    h_critical(&h, &st, 4);
    ts_open(&l, 0);
    log_in(l.s, &h, 0, 0, 4);
    ls = lane_one(l.s, &h.au[0].e[2]); /* stored: the same bytes */
    cr_assert_eq(ls.duplicate, 1);
    /* other bytes at a stored seq: not the lane's business (its log brings forks) */
    enc(&op, buf, &len);
    sign_at(&h.au[0], 3, h.au[0].e[1].hash, hlc_pack(WALL, 7), buf, len, &other);
    ls = lane_one(l.s, &other);
    cr_assert_eq(ls.skipped, 1);
    cr_assert_eq(lane_count(l.s), 0);
    free(other.raw);
    ts_close(&l);
    h_free(&h);
}

/* A key this store appends under: only its own log brings its entries. */
Test(lane, entries_of_this_stores_own_key_are_skipped)
{
    uint64_t seed = tu_seed("lane.own_key"), st = seed;
    struct lhist h;
    struct tstore l;
    struct relief_op op = stock_move(4);
    uint8_t buf[AM_OP_MAX];
    const uint8_t *ops[1] = {buf};
    size_t len;

    h_critical(&h, &st, 2);
    ts_open(&l, 0);
    enc(&op, buf, &len);
    cr_assert_eq(store_append(l.s, h.au[0].sk, ops, &len, 1, WALL, NULL), AM_OK);
    cr_assert_eq(lane_one(l.s, &h.au[0].e[2]).skipped, 1); /* seq 3 of another machine */
    cr_assert_eq(lane_count(l.s), 0);
    cr_assert_eq(need_seen(l.s, &h.au[0].e[2], NULL), 0);
    /* another key is taken */
    {
        struct lhist g;
        h_critical(&g, &st, 2);
        cr_assert_eq(lane_one(l.s, &g.au[0].e[2]).added, 1);
        h_free(&g);
    }
    ts_close(&l);
    h_free(&h);
}

Test(lane, entries_of_a_forked_author_are_skipped)
{
    uint64_t seed = tu_seed("lane.forked"), st = seed;
    struct lhist h;
    struct tstore l;
    struct store_lane_stats ls;
    struct store_ingest_stats is;
    struct store_head hd;
    struct lentry branch;
    struct relief_op op = stock_move(77);
    uint8_t buf[AM_OP_MAX];
    size_t len;
    const uint8_t *raw;

    h_critical(&h, &st, 5);
    ts_open(&l, 0);
    log_in(l.s, &h, 0, 0, 3);
    /* a second entry at seq 3, after the same seq 2: two branches, the author forked */
    enc(&op, buf, &len);
    sign_at(&h.au[0], 3, h.au[0].e[1].hash, hlc_pack(WALL, 9), buf, len, &branch);
    raw = branch.raw;
    cr_assert_eq(store_ingest(l.s, &raw, &branch.len, 1, WALL, &is), AM_OK);
    cr_assert_eq(is.forks, 1);
    cr_assert_eq(store_head_get(l.s, h.au[0].pk, &hd), AM_OK);
    cr_assert(hd.flags & STORE_HEAD_FORKED);
    ls = lane_one(l.s, &h.au[0].e[5]);
    cr_assert_eq(ls.skipped, 1);
    cr_assert_eq(ls.added, 0);
    cr_assert_eq(lane_count(l.s), 0);
    cr_assert_eq(need_seen(l.s, &h.au[0].e[5], NULL), 0);
    /* two different entries at one seq in one lane batch: the author forked, both skipped */
    {
        struct lhist g;
        struct lentry twin;
        const struct lentry *b[3];
        h_critical(&g, &st, 2);
        enc(&op, buf, &len);
        sign_at(&g.au[0], 3, g.au[0].e[1].hash, hlc_pack(WALL, 9), buf, len, &twin);
        b[0] = &g.au[0].e[2], b[1] = &twin, b[2] = &g.au[0].e[2];
        ls = lane_in(l.s, b, 3);
        cr_assert_eq(ls.skipped, 2);
        cr_assert_eq(ls.duplicate, 1);
        cr_assert_eq(lane_count(l.s), 0);
        free(twin.raw);
        h_free(&g);
    }
    free(branch.raw);
    ts_close(&l);
    h_free(&h);
}

Test(lane, holds_at_most_AM_LANE_MAX, .timeout = 300)
{
    uint64_t seed = tu_seed("lane.bound"), st = seed;
    struct lhist h;
    struct tstore l;
    struct store_lane_stats ls;
    const uint8_t **p = malloc((AM_LANE_MAX + 2) * sizeof *p);
    size_t *lens = malloc((AM_LANE_MAX + 2) * sizeof *lens);
    uint64_t n;

    cr_assert(p && lens);
    h_init(&h, &st);
    for (size_t i = 0; i < AM_LANE_MAX + 2; i++) {
        struct relief_op op = need_open(1 + (int)(i % 4), 1 + (int64_t)(i % 50));
        h_op(&h, 0, &op)->need = 1;
    }
    ts_open(&l, 0);
    /* seq 2 .. AM_LANE_MAX + 1: the lane fills */
    for (size_t i = 0; i < AM_LANE_MAX; i++) {
        p[i] = h.au[0].e[i + 1].raw;
        lens[i] = h.au[0].e[i + 1].len;
    }
    cr_assert_eq(store_lane_ingest(l.s, p, lens, AM_LANE_MAX, WALL, &ls), AM_OK);
    cr_assert_eq(ls.added, AM_LANE_MAX);
    /* one more: refused, counted, not in the views */
    p[0] = h.au[0].e[AM_LANE_MAX + 1].raw;
    lens[0] = h.au[0].e[AM_LANE_MAX + 1].len;
    cr_assert_eq(store_lane_ingest(l.s, p, lens, 1, WALL, &ls), AM_OK);
    cr_assert_eq(ls.full, 1);
    cr_assert_eq(ls.added, 0);
    cr_assert_eq(store_lane_count(l.s, &n), AM_OK);
    cr_assert_eq(n, AM_LANE_MAX);
    cr_assert_eq(need_seen(l.s, &h.au[0].e[AM_LANE_MAX + 1], NULL), 0);
    cr_assert_eq(need_seen(l.s, &h.au[0].e[AM_LANE_MAX], NULL), 1);
    /* the log reaches them all: the lane empties */
    log_in(l.s, &h, 0, 0, AM_LANE_MAX + 2);
    cr_assert_eq(lane_count(l.s), 0);
    ts_close(&l);
    h_free(&h);
    free(p);
    free(lens);
}

/* ---- other bytes by log ---- */

/* The lane holds entries of author 0 at seq 6 and 7 (of one branch); the log brings
 * other bytes at seq 6 and goes on from there. The lane records are dropped and the views
 * are those of a store that never held them. */
Test(lane, other_bytes_by_log_drop_the_lane_records)
{
    uint64_t seed = tu_seed("lane.other_bytes"), st = seed;
    for (int cache = 0; cache < 2; cache++) {
        struct lhist h;
        struct tstore l, p;
        struct lentry x6, x7;
        const struct lentry *b[2] = {&x6, &x7};
        struct store_lane_stats ls;
        struct relief_op op = need_open(RELIEF_PRI_CRITICAL, 5);
        uint8_t buf[AM_OP_MAX];
        size_t len;

        h_critical(&h, &st, 8); /* seq 1..8 filler, 9 a need */
        enc(&op, buf, &len);
        sign_at(&h.au[0], 6, h.au[0].e[4].hash, hlc_pack(WALL, 3), buf, len, &x6);
        op = need_open(RELIEF_PRI_HIGH, 6);
        enc(&op, buf, &len);
        sign_at(&h.au[0], 7, x6.hash, hlc_pack(WALL, 4), buf, len, &x7);

        ts_open(&l, cache ? 0 : STORE_VIEW_CACHE_OFF);
        ts_open(&p, 0);
        log_in(l.s, &h, 0, 0, 3);
        ls = lane_in(l.s, b, 2);
        cr_assert_eq(ls.added, 2);
        cr_assert_eq(need_seen(l.s, &x6, NULL), 1);
        /* the log up to seq 5 leaves them */
        log_in(l.s, &h, 0, 3, 5);
        cr_assert_eq(lane_count(l.s), 2);
        /* seq 6 by log, other bytes: both dropped, the views made again */
        log_in(l.s, &h, 0, 5, 6);
        cr_assert_eq(lane_count(l.s), 0);
        cr_assert_eq(need_seen(l.s, &x6, NULL), 0);
        cr_assert_eq(need_seen(l.s, &x7, NULL), 0);
        log_in(p.s, &h, 0, 0, 6);
        same_views(l.s, p.s, "after other bytes by log", seed);
        log_in(l.s, &h, 0, 6, 9);
        log_in(p.s, &h, 0, 6, 9);
        same_views(l.s, p.s, "and the rest of the log", seed);
        verify_clean(l.s);
        free(x6.raw);
        free(x7.raw);
        ts_close(&l);
        ts_close(&p);
        h_free(&h);
    }
}

/* The author forks by log (another branch from seq 2) while the lane holds its seq 6:
 * the lane entry leaves, and the views are those of the logs alone. */
Test(lane, an_author_forking_by_log_drops_its_lane_records)
{
    uint64_t seed = tu_seed("lane.fork_by_log"), st = seed;
    struct lhist h;
    struct tstore l, p;
    struct lentry branch;
    struct store_ingest_stats is;
    struct relief_op op = stock_move(55);
    uint8_t buf[AM_OP_MAX];
    size_t len;
    const uint8_t *raw;

    h_critical(&h, &st, 5); /* 1..5 filler, 6 a need */
    enc(&op, buf, &len);
    sign_at(&h.au[0], 3, h.au[0].e[1].hash, hlc_pack(WALL, 11), buf, len, &branch);
    ts_open(&l, 0);
    ts_open(&p, 0);
    log_in(l.s, &h, 0, 0, 4);
    cr_assert_eq(lane_one(l.s, &h.au[0].e[5]).added, 1);
    cr_assert_eq(need_seen(l.s, &h.au[0].e[5], NULL), 1);
    raw = branch.raw;
    cr_assert_eq(store_ingest(l.s, &raw, &branch.len, 1, WALL, &is), AM_OK);
    cr_assert_eq(is.forks, 1);
    cr_assert_eq(lane_count(l.s), 0);
    cr_assert_eq(need_seen(l.s, &h.au[0].e[5], NULL), 0);
    log_in(p.s, &h, 0, 0, 4);
    cr_assert_eq(store_ingest(p.s, &raw, &branch.len, 1, WALL, &is), AM_OK);
    same_views(l.s, p.s, "an author forked by log", seed);
    cr_assert_eq(store_reindex(l.s, NULL), AM_OK);
    same_views(l.s, p.s, "and reindexed", seed);
    free(branch.raw);
    ts_close(&l);
    ts_close(&p);
    h_free(&h);
}
