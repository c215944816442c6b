/*
 * syncstore_compare_test.c: the in-memory store of the tests (memstore.h) and the LMDB
 * store (node/syncstore.h) must answer the sync engine alike. The same batches of signed
 * entries by several authors (in order, beyond a gap, repeated, forked, with a broken
 * link, a flipped signature or body byte, cut short) go through the ingest of both
 * struct sync_store tables; after every batch each answer is compared: the ingest's code
 * and counts, every head, the entries listed from every seq (also when the callback stops
 * early), the fork evidence, the peers met. A fixed case also checks the counts against
 * what the rules say. Random cases print their seed: rerun one with AM_SEED=<seed>
 * AM_PROP_CASES=1.
 *
 * Only histories WITHOUT forks: the memory store is a model of the old rule (the first
 * branch met is the log, another branch's entry is one piece of evidence), while the LMDB
 * store now keeps every branch in logs of their own (issue 14, PROTOCOL.md §6). No
 * author here signs two entries that share a parent, and no damaged copy is a validly
 * signed entry. Forked histories are tested against the design in store_test.c (fixed
 * cases) and branches_test.c (random histories, every arrival order); this file goes back
 * to forks when memstore.c models the logs.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "entry.h"
#include "hlc.h"
#include "memstore.h"
#include "store.h"
#include "sync.h"
#include "syncstore.h"
#include "testutil.h"

#define WALL       1767225600000ULL /* 2026-01-01 */
#define NAUTH      4
#define CHAIN_MAX  24
#define BRANCH_MAX 4
#define BATCH_MAX  12
#define BATCHES    24
#define PEER_IDS   6

static uint64_t g_seed; /* the case running, for the failure message */

#define PA(cond, ...)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr,                                                                        \
                    "syncstore_compare: case seed %llu failed (rerun: AM_SEED=%llu "               \
                    "AM_PROP_CASES=1)\n",                                                          \
                    (unsigned long long)g_seed, (unsigned long long)g_seed);                       \
            cr_assert(cond, __VA_ARGS__);                                                          \
        }                                                                                          \
    } while (0)

/* ---- signed entries ---------------------------------------------------------------------- */

struct blob {
    uint8_t *p;
    size_t len;
};

struct author {
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    struct blob main[CHAIN_MAX]; /* seq i + 1 */
    size_t n_main;
    struct blob branch[BRANCH_MAX]; /* seq fork_at + i, linked to each other */
    size_t n_branch;
    uint64_t fork_at;
};

static struct blob build(const struct author *a, uint64_t seq, const uint8_t prev[AM_HASH_LEN],
                         uint8_t variant)
{
    /* {"n": seq & 0x7f, "v": variant}: not a relief op, stored and recorded as invalid */
    uint8_t op[] = {0x82, 0xa1, 'n', (uint8_t)(seq & 0x7f), 0xa1, 'v', (uint8_t)(variant & 0x7f)};
    struct blob b = {malloc(AM_ENTRY_MAX), 0};
    cr_assert(b.p);
    cr_assert_eq(entry_build(b.p, AM_ENTRY_MAX, &b.len, a->sk, seq, prev,
                             hlc_pack(WALL + seq * 1000, variant), op, sizeof op),
                 AM_OK);
    return b;
}

static void hash_of(const struct blob *b, uint8_t h[AM_HASH_LEN])
{
    struct entry e;
    cr_assert_eq(entry_decode(&e, b->p, b->len), AM_OK);
    entry_hash(&e, h);
}

/* A chain of n entries, and a branch of nb entries from seq fork_at (its first names the
 * same predecessor as main[fork_at - 1] does, with other content). With bad_at, the
 * chain's entry of that seq has a flipped signature bit and the author went on signing
 * after it, naming it. */
static void author_make(struct author *a, const uint8_t seed[AM_SEED_LEN], size_t n,
                        uint64_t fork_at, size_t nb, uint64_t bad_at)
{
    uint8_t prev[AM_HASH_LEN] = {0};
    memset(a, 0, sizeof *a);
    crypto_sign_seed_keypair(a->pk, a->sk, seed);
    for (size_t i = 0; i < n; i++) {
        a->main[i] = build(a, i + 1, prev, 0);
        if (i + 1 == bad_at)
            a->main[i].p[a->main[i].len - 3] ^= 0x20;
        hash_of(&a->main[i], prev);
    }
    a->n_main = n;
    a->fork_at = fork_at;
    if (fork_at >= 1 && fork_at <= n) {
        memset(prev, 0, sizeof prev);
        if (fork_at > 1)
            hash_of(&a->main[fork_at - 2], prev);
        for (size_t i = 0; i < nb; i++) {
            a->branch[i] = build(a, fork_at + i, prev, 1);
            hash_of(&a->branch[i], prev);
        }
        a->n_branch = nb;
    }
}

static void author_free(struct author *a)
{
    for (size_t i = 0; i < a->n_main; i++)
        free(a->main[i].p);
    for (size_t i = 0; i < a->n_branch; i++)
        free(a->branch[i].p);
}

/* ---- the two stores ------------------------------------------------------------------------ */

struct pair {
    char *dir;
    struct store *st;
    struct memstore *ms;
    struct sync_store lm, mem; /* LMDB, memory */
};

static void pair_open(struct pair *p)
{
    memset(p, 0, sizeof *p);
    p->dir = tu_tmpdir();
    cr_assert_eq(store_open(&p->st, p->dir, NULL), AM_OK);
    cr_assert_eq(memstore_new(&p->ms), AM_OK);
    syncstore_init(&p->lm, p->st);
    memstore_table(p->ms, &p->mem);
}

static void pair_close(struct pair *p)
{
    store_close(p->st);
    memstore_free(p->ms);
    tu_rmrf(p->dir);
    free(p->dir);
}

/* What a listing callback was given. */
struct list {
    struct blob *v;
    size_t n, cap, stop_after; /* stop_after > 0: the callback returns 1 after that many */
};

static int list_add(void *ctx, const uint8_t *raw, size_t len)
{
    struct list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        cr_assert(l->v);
    }
    l->v[l->n].p = tu_dup_exact(raw, len);
    l->v[l->n].len = len;
    l->n++;
    return l->stop_after && l->n >= l->stop_after ? 1 : 0;
}

static void list_free(struct list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].p);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static void list_same(const struct list *x, const struct list *y, const char *what,
                      const uint8_t *author, uint64_t from)
{
    PA(x->n == y->n, "%s of author %02x%02x.. from %llu: LMDB gives %zu, memory %zu", what,
       author[0], author[1], (unsigned long long)from, x->n, y->n);
    for (size_t i = 0; i < x->n; i++)
        PA(x->v[i].len == y->v[i].len && memcmp(x->v[i].p, y->v[i].p, x->v[i].len) == 0,
           "%s of author %02x%02x.. from %llu: item %zu differs", what, author[0], author[1],
           (unsigned long long)from, i);
}

struct heads {
    struct sync_head v[NAUTH + 8];
    size_t n;
};

static int heads_add(void *ctx, const struct sync_head *h)
{
    struct heads *hs = ctx;
    PA(hs->n < sizeof hs->v / sizeof hs->v[0], "more heads than authors");
    hs->v[hs->n++] = *h;
    return 0;
}

static void head_same(const struct sync_head *x, const struct sync_head *y)
{
    PA(memcmp(x->author, y->author, AM_PK_LEN) == 0, "heads of different authors");
    PA(x->seq == y->seq, "author %02x%02x..: head seq %llu in LMDB, %llu in memory", x->author[0],
       x->author[1], (unsigned long long)x->seq, (unsigned long long)y->seq);
    PA(memcmp(x->hash, y->hash, AM_HASH_LEN) == 0, "author %02x%02x..: head hashes differ",
       x->author[0], x->author[1]);
    PA(x->flags == y->flags, "author %02x%02x..: head flags %u in LMDB, %u in memory", x->author[0],
       x->author[1], x->flags, y->flags);
}

/* Every answer of the two tables about `authors`, compared. Returns the LMDB heads. */
static void compare_all(struct pair *p, const struct author *au, size_t na, uint64_t *rng)
{
    struct heads hl = {0}, hm = {0};
    PA(p->lm.heads(p->lm.ctx, heads_add, &hl) == AM_OK, "LMDB heads");
    PA(p->mem.heads(p->mem.ctx, heads_add, &hm) == AM_OK, "memory heads");
    PA(hl.n == hm.n, "%zu heads in LMDB, %zu in memory", hl.n, hm.n);
    for (size_t i = 0; i < hl.n; i++)
        head_same(&hl.v[i], &hm.v[i]);

    for (size_t a = 0; a <= na; a++) {
        uint8_t other[AM_PK_LEN];
        const uint8_t *pk = a < na ? au[a].pk : other;
        struct sync_head x, y;
        int rl, rm;
        uint64_t top;
        memset(other, 0xee, sizeof other); /* an author nobody has */
        rl = p->lm.head(p->lm.ctx, pk, &x);
        rm = p->mem.head(p->mem.ctx, pk, &y);
        PA(rl == rm, "head(): %d in LMDB, %d in memory", rl, rm);
        if (rl == AM_OK)
            head_same(&x, &y);
        top = rl == AM_OK ? x.seq : 0;
        for (uint64_t from = 0; from <= top + 2; from++) {
            struct list ll = {0}, lm = {0};
            if (tu_rand(rng) % 3 == 0)
                ll.stop_after = lm.stop_after = 1 + tu_rand(rng) % 3;
            rl = p->lm.entries(p->lm.ctx, pk, from, list_add, &ll);
            rm = p->mem.entries(p->mem.ctx, pk, from, list_add, &lm);
            PA(rl == rm, "entries(): %d in LMDB, %d in memory", rl, rm);
            list_same(&ll, &lm, "entries", pk, from);
            list_free(&ll);
            list_free(&lm);
        }
        {
            struct list ll = {0}, lm = {0};
            rl = p->lm.forks(p->lm.ctx, pk, list_add, &ll);
            rm = p->mem.forks(p->mem.ctx, pk, list_add, &lm);
            PA(rl == rm, "forks(): %d in LMDB, %d in memory", rl, rm);
            list_same(&ll, &lm, "fork evidence", pk, 0);
            list_free(&ll);
            list_free(&lm);
        }
    }
}

static void ingest_both(struct pair *p, struct blob *const *batch, size_t n,
                        struct sync_ingest_result *out)
{
    const uint8_t *raw[BATCH_MAX + 8];
    size_t lens[BATCH_MAX + 8];
    struct sync_ingest_result rl, rm;
    int cl, cm;
    cr_assert(n <= BATCH_MAX + 8);
    /* each store gets exact-size copies, so ASan sees any read past an entry */
    for (size_t i = 0; i < n; i++) {
        raw[i] = tu_dup_exact(batch[i]->p, batch[i]->len);
        lens[i] = batch[i]->len;
    }
    cl = p->lm.ingest(p->lm.ctx, raw, lens, n, &rl);
    cm = p->mem.ingest(p->mem.ctx, raw, lens, n, &rm);
    for (size_t i = 0; i < n; i++)
        free((void *)raw[i]);
    PA(cl == cm, "ingest: %d in LMDB, %d in memory", cl, cm);
    /* A batch that carries one entry twice: its second copy, when the first is refused,
     * counts as a duplicate in the memory store and in the LMDB store's path for an
     * author that does not fork, but as refused when the LMDB store plans the author's
     * logs (a damaged copy parting from a stored entry sends it there). Reported to the
     * lead; until one rule is chosen only their sum is compared for such a batch. */
    int twice = 0;
    for (size_t i = 0; i < n && !twice; i++)
        for (size_t j = 0; j < i && !twice; j++)
            twice = batch[i]->len == batch[j]->len &&
                    memcmp(batch[i]->p, batch[j]->p, batch[i]->len) == 0;
    PA(rl.added == rm.added && rl.forks == rm.forks &&
           (twice ? rl.duplicate + rl.refused == rm.duplicate + rm.refused
                  : rl.duplicate == rm.duplicate && rl.refused == rm.refused),
       "ingest of %zu: LMDB added %llu dup %llu forks %llu refused %llu; memory %llu %llu %llu "
       "%llu",
       n, (unsigned long long)rl.added, (unsigned long long)rl.duplicate,
       (unsigned long long)rl.forks, (unsigned long long)rl.refused, (unsigned long long)rm.added,
       (unsigned long long)rm.duplicate, (unsigned long long)rm.forks,
       (unsigned long long)rm.refused);
    PA(rl.added + rl.duplicate + rl.forks + rl.refused == n, "every entry counted once");
    if (out)
        *out = rl;
}

/* ---- peers met ------------------------------------------------------------------------------ */

struct ids {
    uint8_t v[PEER_IDS + 2][AM_PK_LEN];
    size_t n;
};

static int ids_add(void *ctx, const uint8_t author[AM_PK_LEN])
{
    struct ids *x = ctx;
    PA(x->n < PEER_IDS + 2, "more peers than were met");
    memcpy(x->v[x->n++], author, AM_PK_LEN);
    return 0;
}

static void compare_peers(struct pair *p, const uint8_t ids[][AM_PK_LEN], uint64_t *rng)
{
    for (int k = 0; k < 4; k++) {
        const uint8_t *hint = ids[tu_rand(rng) % PEER_IDS];
        size_t hl = (size_t)(tu_rand(rng) % 6);
        struct ids a = {0}, b = {0};
        int rl, rm;
        if (hl == 5)
            hl = AM_PK_LEN;
        rl = p->lm.peers(p->lm.ctx, hint, hl, ids_add, &a);
        rm = p->mem.peers(p->mem.ctx, hint, hl, ids_add, &b);
        PA(rl == rm, "peers(): %d in LMDB, %d in memory", rl, rm);
        PA(a.n == b.n, "peers with a %zu-byte hint: %zu in LMDB, %zu in memory", hl, a.n, b.n);
        PA(memcmp(a.v, b.v, a.n * AM_PK_LEN) == 0, "peers listed differ");
    }
}

/* ---- the fixed case ------------------------------------------------------------------------ */

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
}

TestSuite(syncstore_compare, .init = setup, .timeout = 300);

static struct blob flip(const struct blob *b, size_t at, uint8_t mask)
{
    struct blob c = {tu_dup_exact(b->p, b->len), b->len};
    c.p[at] ^= mask;
    return c;
}

static void expect_res(const struct sync_ingest_result *r, uint64_t added, uint64_t dup,
                       uint64_t forks, uint64_t refused, const char *step)
{
    cr_expect(
        r->added == added && r->duplicate == dup && r->forks == forks && r->refused == refused,
        "%s: added %llu dup %llu forks %llu refused %llu, want %llu %llu %llu %llu", step,
        (unsigned long long)r->added, (unsigned long long)r->duplicate,
        (unsigned long long)r->forks, (unsigned long long)r->refused, (unsigned long long)added,
        (unsigned long long)dup, (unsigned long long)forks, (unsigned long long)refused);
}

Test(syncstore_compare, fixed_case)
{
    struct author au[2];
    uint8_t seed[AM_SEED_LEN] = {0};
    struct pair p;
    struct sync_ingest_result r;
    struct sync_head h;
    struct blob badsig, cut, junk;
    uint8_t junk_bytes[] = {0x96, 0x01, 0xc4};
    uint64_t rng = 0x5eed;

    g_seed = 0;
    seed[0] = 1;
    author_make(&au[0], seed, 8, 0, 0, 0); /* no branch: see the top of this file */
    seed[0] = 2;
    author_make(&au[1], seed, 5, 0, 0, 0);
    badsig = flip(&au[1].main[2], au[1].main[2].len - 7, 0x10);
    cut =
        (struct blob){tu_dup_exact(au[1].main[3].p, au[1].main[3].len - 9), au[1].main[3].len - 9};
    junk = (struct blob){junk_bytes, sizeof junk_bytes};
    pair_open(&p);

    /* 1. A's 1..2 in order; B's 2 beyond a gap */
    {
        struct blob *b[] = {&au[0].main[1], &au[0].main[0], &au[1].main[1]};
        ingest_both(&p, b, 3, &r);
        expect_res(&r, 2, 0, 0, 1, "first batch");
        compare_all(&p, au, 2, &rng);
    }
    /* 2. A's 2 again and 3, twice; B's 1; a cut entry, junk, B's 3 with a flipped
     * signature bit */
    {
        struct blob *b[] = {&au[0].main[1], &au[0].main[2], &au[0].main[2], &au[1].main[0],
                            &cut,           &junk,          &badsig};
        ingest_both(&p, b, 7, &r);
        expect_res(&r, 2, 2, 0, 3, "second batch");
        compare_all(&p, au, 2, &rng);
    }
    /* 3. A's 4 alone; then 5 and 6 with 4 again */
    {
        struct blob *b[] = {&au[0].main[3]};
        ingest_both(&p, b, 1, &r);
        expect_res(&r, 1, 0, 0, 0, "A's next entry alone");
    }
    {
        struct blob *b[] = {&au[0].main[5], &au[0].main[3], &au[0].main[4]};
        ingest_both(&p, b, 3, &r);
        expect_res(&r, 2, 1, 0, 0, "A's 5 and 6, and 4 again");
        compare_all(&p, au, 2, &rng);
    }
    cr_assert_eq(p.mem.head(p.mem.ctx, au[0].pk, &h), AM_OK);
    cr_expect_eq(h.seq, 6);
    cr_expect_eq(h.flags, 0u, "A never forked");
    /* 4. A's 3 again counts as a duplicate; B's 2 now links */
    {
        struct blob *b[] = {&au[0].main[2], &au[1].main[1], &au[1].main[2]};
        ingest_both(&p, b, 3, &r);
        expect_res(&r, 2, 1, 0, 0, "B's 2 and 3 after its 1");
        compare_all(&p, au, 2, &rng);
    }
    cr_assert_eq(p.lm.head(p.lm.ctx, au[1].pk, &h), AM_OK);
    cr_expect_eq(h.seq, 3);
    cr_expect_eq(h.flags, 0u);
    /* 5. peers met, in any order */
    cr_assert_eq(p.lm.peer_met(p.lm.ctx, au[1].pk), AM_OK);
    cr_assert_eq(p.mem.peer_met(p.mem.ctx, au[1].pk), AM_OK);
    cr_assert_eq(p.lm.peer_met(p.lm.ctx, au[0].pk), AM_OK);
    cr_assert_eq(p.mem.peer_met(p.mem.ctx, au[0].pk), AM_OK);
    {
        uint8_t ids[PEER_IDS][AM_PK_LEN];
        for (int i = 0; i < PEER_IDS; i++)
            memcpy(ids[i], au[i % 2].pk, AM_PK_LEN);
        compare_peers(&p, (const uint8_t(*)[AM_PK_LEN])ids, &rng);
    }

    pair_close(&p);
    free(badsig.p);
    free(cut.p);
    author_free(&au[0]);
    author_free(&au[1]);
}

/* ---- seeded random sequences --------------------------------------------------------------- */

/* The entries of one random case: the authors' chains and branches, and damaged copies
 * made as the batches go (kept until the case ends). */
struct pool {
    struct author au[NAUTH];
    struct blob made[BATCHES * BATCH_MAX];
    size_t n_made;
};

static uint64_t rnd(uint64_t *rng, uint64_t n)
{
    return n ? tu_rand(rng) % n : 0;
}

static void damage_once(struct blob *c, const struct blob *b, uint64_t *rng);

/* A damaged copy of b: a flipped bit of its signature, a flipped bit anywhere, or cut.
 * Never a validly signed entry: a flip of an entry whose signature was already bad (an
 * author's bad_at) may undo that damage, and the good entry so made would part from the
 * kept bad one: a fork, which this file leaves out. Such a copy is damaged again. */
static struct blob *damaged(struct pool *pl, const struct blob *b, uint64_t *rng)
{
    struct blob *c = &pl->made[pl->n_made++];
    struct entry e;
    for (;;) {
        damage_once(c, b, rng);
        if (entry_decode(&e, c->p, c->len) != AM_OK || entry_verify(&e) != AM_OK)
            return c;
        free(c->p);
    }
}

static void damage_once(struct blob *c, const struct blob *b, uint64_t *rng)
{
    switch (rnd(rng, 3)) {
    case 0:
        *c = flip(b, b->len - 1 - rnd(rng, 64), (uint8_t)(1u << rnd(rng, 8)));
        break;
    case 1:
        *c = flip(b, rnd(rng, b->len), (uint8_t)(1u << rnd(rng, 8)));
        break;
    default: {
        size_t n = rnd(rng, b->len);
        c->p = tu_dup_exact(b->p, n);
        c->len = n;
    }
    }
}

/* The seq the memory store holds for author a (0: none). */
static uint64_t held(struct pair *p, const struct author *a)
{
    struct sync_head h;
    return p->mem.head(p->mem.ctx, a->pk, &h) == AM_OK ? h.seq : 0;
}

/* One batch: mostly each author's next entries (sometimes past a gap, sometimes a run
 * given in any order), with entries held already, damaged copies and entries from
 * anywhere in a chain mixed in (branch entries only if a case made any: none now). */
static size_t pick_batch(struct pair *p, struct pool *pl, uint64_t *rng, struct blob **b)
{
    size_t n = 1 + rnd(rng, BATCH_MAX), k = 0;
    while (k < n) {
        struct author *a = &pl->au[rnd(rng, NAUTH)];
        uint64_t h = held(p, a), r = rnd(rng, 100);
        if (r < 45) { /* a run from the next seq on, or from just past it */
            uint64_t at = h + (rnd(rng, 5) == 0 ? 1 + rnd(rng, 2) : 0);
            size_t len = 1 + rnd(rng, 4);
            for (size_t j = 0; j < len && k < n && at + j < a->n_main; j++)
                b[k++] = &a->main[at + j];
        } else if (r < 55 && h > 0) { /* held already */
            b[k++] = &a->main[rnd(rng, h)];
        } else if (r < 70 && a->n_branch) {
            b[k++] = &a->branch[rnd(rng, a->n_branch)];
        } else if (r < 82) {
            b[k++] = damaged(pl, &a->main[rnd(rng, a->n_main)], rng);
        } else {
            b[k++] = &a->main[rnd(rng, a->n_main)];
        }
    }
    for (size_t i = k; i > 1; i--) { /* shuffle */
        size_t j = rnd(rng, i);
        struct blob *t = b[i - 1];
        b[i - 1] = b[j];
        b[j] = t;
    }
    if (k > 1 && rnd(rng, 4) == 0) /* the same entry twice in one batch */
        b[k - 1] = b[rnd(rng, k - 1)];
    /* Damaged copies go after the rest, in their shuffled order. Under the old rule the
     * memory store models, a damaged copy given before the good entry of its seq in one
     * batch is taken for that seq's entry and the good one is refused with it (another
     * branch); the LMDB store now keeps the good one. No fork: see the top of this file. */
    {
        struct blob *good[BATCH_MAX], *bad[BATCH_MAX];
        size_t ng = 0, nb = 0;
        for (size_t i = 0; i < k; i++) {
            if (b[i] >= pl->made && b[i] < pl->made + pl->n_made)
                bad[nb++] = b[i];
            else
                good[ng++] = b[i];
        }
        memcpy(b, good, ng * sizeof *b);
        memcpy(b + ng, bad, nb * sizeof *b);
    }
    return k;
}

static void run_case(uint64_t seed)
{
    struct pool *pl = calloc(1, sizeof *pl);
    struct pair p;
    uint64_t rng = seed;
    uint8_t ids[PEER_IDS][AM_PK_LEN];

    cr_assert(pl);
    g_seed = seed;
    for (int a = 0; a < NAUTH; a++) {
        uint8_t s[AM_SEED_LEN];
        size_t n = 3 + rnd(&rng, CHAIN_MAX - 3);
        for (int i = 0; i < AM_SEED_LEN; i++)
            s[i] = (uint8_t)tu_rand(&rng);
        /* one author in four signs after an entry whose signature is bad; no author forks
         * (see the top of this file) */
        author_make(&pl->au[a], s, n, 0, 0, rnd(&rng, 4) == 0 ? 1 + rnd(&rng, n) : 0);
    }
    /* peer ids: the authors, and two that share a first byte with one of them */
    for (int i = 0; i < PEER_IDS; i++) {
        memcpy(ids[i], pl->au[i % NAUTH].pk, AM_PK_LEN);
        if (i >= NAUTH)
            ids[i][1 + rnd(&rng, AM_PK_LEN - 1)] ^= (uint8_t)(1u << rnd(&rng, 8));
    }
    pair_open(&p);
    for (int round = 0; round < BATCHES; round++) {
        struct blob *b[BATCH_MAX];
        size_t n = pick_batch(&p, pl, &rng, b);
        ingest_both(&p, b, n, NULL);
        compare_all(&p, pl->au, NAUTH, &rng);
        if (rnd(&rng, 3) == 0) {
            const uint8_t *id = ids[rnd(&rng, PEER_IDS)];
            int rl = p.lm.peer_met(p.lm.ctx, id), rm = p.mem.peer_met(p.mem.ctx, id);
            PA(rl == AM_OK && rm == AM_OK, "peer_met: %d in LMDB, %d in memory", rl, rm);
        }
        compare_peers(&p, (const uint8_t(*)[AM_PK_LEN])ids, &rng);
    }
    pair_close(&p);
    for (int a = 0; a < NAUTH; a++)
        author_free(&pl->au[a]);
    for (size_t i = 0; i < pl->n_made; i++)
        free(pl->made[i].p);
    free(pl);
}

Test(syncstore_compare, seeded_sequences)
{
    uint64_t base = tu_seed("syncstore_compare"), rng = base;
    const char *env = getenv("AM_PROP_CASES");
    long cases = env && *env ? strtol(env, NULL, 10) : 24;
    for (long c = 0; c < cases; c++) {
        /* the first case runs the printed seed itself, so AM_PROP_CASES=1 replays it */
        uint64_t seed = c == 0 ? base : tu_rand(&rng);
        if (seed == 0)
            seed = 1;
        run_case(seed);
    }
}

/*
 * An author that signs an entry naming a predecessor whose own signature is bad. In one
 * run, good signatures then come after bad ones: the LMDB store bisects for the members
 * to keep (so a forged run costs a few checks), which keeps nothing of [bad, good, bad],
 * though [bad, good] alone is kept whole (the good tip vouches for its predecessor).
 * (A good seq 1 against the kept bad one, which the old rule refused, is left out: under
 * the logs it is a fork question, see the top of this file.)
 */
Test(syncstore_compare, bad_signature_inside_a_linked_run)
{
    struct author a;
    uint8_t seed[AM_SEED_LEN] = {0}, prev[AM_HASH_LEN] = {0};
    struct blob e1, e1b, e2, e3, e3b;
    struct pair p;
    struct sync_ingest_result r;
    uint64_t rng = 7;

    g_seed = 0;
    seed[0] = 3;
    author_make(&a, seed, 0, 0, 0, 0);
    e1 = build(&a, 1, prev, 0);
    e1b = flip(&e1, e1.len - 5, 0x01);
    hash_of(&e1b, prev);
    e2 = build(&a, 2, prev, 0);
    hash_of(&e2, prev);
    e3 = build(&a, 3, prev, 0);
    e3b = flip(&e3, e3.len - 5, 0x01);
    pair_open(&p);
    {
        struct blob *b[] = {&e1b, &e2, &e3b};
        ingest_both(&p, b, 3, &r);
        expect_res(&r, 0, 0, 0, 3, "bad, good, bad");
        compare_all(&p, &a, 1, &rng);
    }
    {
        struct blob *b[] = {&e2, &e1b};
        ingest_both(&p, b, 2, &r);
        expect_res(&r, 2, 0, 0, 0, "bad, good");
        compare_all(&p, &a, 1, &rng);
    }
    {
        struct blob *b[] = {&e3, &e3b};
        ingest_both(&p, b, 2, &r);
        expect_res(&r, 1, 0, 0, 1, "a good and a bad signature for one seq");
        compare_all(&p, &a, 1, &rng);
    }
    pair_close(&p);
    free(e1.p);
    free(e1b.p);
    free(e2.p);
    free(e3.p);
    free(e3b.p);
}
