/*
 * cell_record_test.c: the cell record (crdt/relief_save.c, PROTOCOL.md section 7.1), a
 * stock cell's moves and counts saved in a few bytes per op and loaded back through
 * relief_obj_apply.
 *
 * Seeded random cells of several authors (moves of every reason, counts whose contexts
 * name other authors, among them authors with no op in the cell; seqs near 2^63 and hlc
 * stamps that jump, go backwards and wrap) must survive save and load exactly: the same
 * view dump, the same ops (every original op re-applied to the loaded cell is a
 * duplicate), and the same record bytes again. The record must not depend on the order
 * the ops arrived in. A hand-made cell gives the byte table of PROTOCOL.md 7.1 exactly;
 * relief_cell_record_authors lists the authors with ops, never context-only ones; a
 * buffer too small gives AM_ELIMIT with the size, a site, item or need AM_EINVAL.
 * Truncations, byte flips and hand-made bad records must never crash or leak (this runs
 * under ASan in CI), and whatever loads must save back to a fixed point. Last, the
 * committed fuzz corpus (tests/fuzz/corpus/cell_record/, found through $AM_SOURCE_DIR,
 * which ctest sets) is replayed: ok-* files are canonical records, malformed-* files are
 * refused, other names (noncanonical-*, files a fuzzer added) only go through the same
 * checks as a flipped record. Seeds are printed: rerun with AM_SEED=...
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "relief.h"
#include "testutil.h"

#define NAUTH_MAX 6 /* authors that may write ops in a random cell */
#define NGHOST    2 /* authors named only by count contexts */
#define CTX_MAX   (NAUTH_MAX + NGHOST)

/* LeakSanitizer's check, present when the build has it (AM_SANITIZE). Criterion's workers
 * only print a leak report on stderr when they exit, which fails nothing (nor does an
 * assertion in a .fini), so every test here ends by asking for a check itself. */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static void assert_no_leaks(void)
{
    if (__lsan_do_recoverable_leak_check)
        cr_assert_eq(__lsan_do_recoverable_leak_check(), 0,
                     "memory leaked: LeakSanitizer's report is above");
}

TestSuite(cell_record, .timeout = 600);

/* ---- random cells ---- */

/* One op of a cell, kept as plain values so it can be applied in any order. */
struct gop {
    struct relief_ref ref;
    uint64_t hlc;
    int reason; /* enum relief_reason for a move, 0 for a count */
    int64_t q;
    uint32_t nctx;
    struct relief_ref ctx[CTX_MAX];
};

struct gcell {
    struct relief_key key;
    uint8_t pk[NAUTH_MAX + NGHOST][AM_PK_LEN]; /* [NAUTH_MAX..]: the ghosts */
    uint64_t seq[NAUTH_MAX], hlc[NAUTH_MAX];
    struct gop *ops;
    size_t n, cap;
};

static uint64_t rnd(uint64_t *st, uint64_t n)
{
    return tu_rand(st) % n;
}

static struct relief_str S(const char *s) {
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

static struct relief_key
cell_key(const char *site, const char *item, const char *lot, uint32_t exp)
{
    struct relief_key k;
    memset(&k, 0, sizeof k);
    k.kind = RELIEF_OBJ_CELL;
    cr_assert_lt(strlen(site), sizeof k.site);
    cr_assert_lt(strlen(item), sizeof k.item);
    cr_assert_lt(strlen(lot), sizeof k.lot);
    snprintf(k.site, sizeof k.site, "%s", site);
    snprintf(k.item, sizeof k.item, "%s", item);
    snprintf(k.lot, sizeof k.lot, "%s", lot);
    k.exp = exp;
    return k;
}

/* The op of g for the cell k. Its strings and ctx point into k and g. */
static struct relief_op mk_op(const struct relief_key *k, const struct gop *g)
{
    struct relief_op op;
    memset(&op, 0, sizeof op);
    op.type = g->reason ? RELIEF_T_STOCK_MOVE : RELIEF_T_STOCK_COUNT;
    op.site = S(k->site);
    op.item = S(k->item);
    op.q = g->q;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q);
    if (k->lot[0]) {
        op.lot = S(k->lot);
        HAS(&op, LOT);
    }
    if (k->exp) {
        op.exp = k->exp;
        HAS(&op, EXP);
    }
    if (g->reason) {
        op.reason = g->reason;
        HAS(&op, R);
    } else {
        op.ctx.n = g->nctx;
        op.ctx.arr = g->ctx;
        HAS(&op, CTX);
    }
    return op;
}

static int gop_apply(struct relief_obj *o, const struct gop *g)
{
    struct relief_op op = mk_op(relief_obj_key(o), g);
    return relief_obj_apply(o, &op, &g->ref, g->hlc, NULL);
}

/* Checks that g is an op relief_op_decode accepts (so apply sees only realistic ops). */
static void g_check(const struct gcell *c, const struct gop *g)
{
    struct relief_op op = mk_op(&c->key, g);
    uint8_t buf[AM_OP_MAX];
    size_t len;
    char err[RELIEF_ERR_MAX] = "";
    cr_assert_eq(relief_op_encode(&op, buf, sizeof buf, &len, err, sizeof err), AM_OK, "%s", err);
}

/* Appends an op of author a (index into c->pk) at its current seq and clock. A count's
 * ctx is filled in afterwards. */
static struct gop *g_push(struct gcell *c, int a, int reason, int64_t q)
{
    struct gop *g;

    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->ops = realloc(c->ops, c->cap * sizeof *c->ops);
        cr_assert(c->ops);
    }
    g = &c->ops[c->n++];
    memset(g, 0, sizeof *g);
    memcpy(g->ref.author, c->pk[a], AM_PK_LEN);
    g->ref.seq = c->seq[a];
    g->hlc = c->hlc[a];
    g->reason = reason;
    g->q = q;
    g_check(c, g);
    return g;
}

/* Moves author a's seq and clock on: small steps mostly, and now and then a clock that
 * goes backwards, wraps near 2^64 - 1 or 0, or jumps anywhere. */
static void g_tick(struct gcell *c, int a, uint64_t *st)
{
    unsigned r = (unsigned)rnd(st, 100);
    c->seq[a] += 1 + (rnd(st, 4) == 0 ? rnd(st, 1000) : 0);
    if (r < 55)
        c->hlc[a] += 1 + rnd(st, 1000);
    else if (r < 70)
        c->hlc[a] -= 1 + rnd(st, 1000);
    else if (r < 80)
        c->hlc[a] = UINT64_MAX - rnd(st, 3);
    else if (r < 90)
        c->hlc[a] = rnd(st, 3);
    else
        c->hlc[a] = tu_rand(st);
}

static int64_t rnd_q(uint64_t *st, int count)
{
    unsigned r = (unsigned)rnd(st, 20);
    if (r == 0)
        return RELIEF_QTY_MAX;
    if (r == 1)
        return count ? 0 : 1;
    if (r == 2)
        return (int64_t)rnd(st, RELIEF_QTY_MAX) + 1;
    return (int64_t)rnd(st, 1000) + !count;
}

/* A count by author a that names, besides itself now and then (apply drops that), each
 * other author with probability 1/2, or every other author when `all`. */
static void g_count(struct gcell *c, int a, int nauth, int all, uint64_t *st)
{
    struct gop *g;
    g_tick(c, a, st);
    g = g_push(c, a, 0, rnd_q(st, 1));
    for (int b = 0; b < NAUTH_MAX + NGHOST; b++) {
        struct relief_ref *r;
        if (b >= nauth && b < NAUTH_MAX)
            continue;
        if (b == a ? rnd(st, 10) != 0 : !all && rnd(st, 2))
            continue;
        r = &g->ctx[g->nctx++];
        memcpy(r->author, c->pk[b], AM_PK_LEN);
        if (rnd(st, 8) == 0)
            r->seq = INT64_MAX - rnd(st, 5);
        else if (b < NAUTH_MAX)
            r->seq = 1 + rnd(st, c->seq[b] % 2000 + 5);
        else
            r->seq = 1 + rnd(st, 1000);
    }
    relief_ctx_normalize(g->ctx, &g->nctx);
    g_check(c, g);
}

/* A random cell of nops ops (and a few more): every reason, a count naming every other
 * author (ghosts too), then random moves and counts by random authors. */
static void g_cell(struct gcell *c, uint64_t *st, size_t nops)
{
    int nauth = 2 + (int)rnd(st, NAUTH_MAX - 1);
    static const struct relief_key keys[2] = {
        {.kind = RELIEF_OBJ_CELL, .site = "hub-north", .item = "ors-20.5"},
        {.kind = RELIEF_OBJ_CELL,
         .site = "clinic-2",
         .item = "water-5l",
         .lot = "L2026/03",
         .exp = 20640}};

    memset(c, 0, sizeof *c);
    c->key = keys[rnd(st, 2)];
    for (int a = 0; a < NAUTH_MAX + NGHOST; a++)
        for (int i = 0; i < AM_PK_LEN; i++)
            c->pk[a][i] = (uint8_t)tu_rand(st);
    for (int a = 0; a < NAUTH_MAX; a++) {
        c->seq[a] = rnd(st, 3) == 0 ? (uint64_t)INT64_MAX - (1u << 20) : rnd(st, 50);
        c->hlc[a] = tu_rand(st);
    }
    for (int reason = RELIEF_R_RECEIVED; reason <= RELIEF_R_DAMAGED; reason++) {
        int a = (int)rnd(st, (uint64_t)nauth);
        g_tick(c, a, st);
        g_push(c, a, reason, rnd_q(st, 0));
    }
    g_count(c, (int)rnd(st, (uint64_t)nauth), nauth, 1, st);
    while (c->n < nops) {
        int a = (int)rnd(st, (uint64_t)nauth);
        if (rnd(st, 3) == 0) {
            g_count(c, a, nauth, 0, st);
        } else {
            g_tick(c, a, st);
            g_push(c, a, 1 + (int)rnd(st, RELIEF_R_DAMAGED), rnd_q(st, 0));
        }
    }
}

static void g_free(struct gcell *c)
{
    free(c->ops);
    c->ops = NULL;
    c->n = c->cap = 0;
}

/* A cell object holding the ops of c in the order perm gives (NULL: as made). */
static struct relief_obj *g_obj(const struct gcell *c, const size_t *perm)
{
    struct relief_obj *o = relief_obj_new(&c->key);
    cr_assert(o);
    for (size_t i = 0; i < c->n; i++) {
        int rc = gop_apply(o, &c->ops[perm ? perm[i] : i]);
        cr_assert_eq(rc, AM_OK, "apply: %s", am_strerror(rc));
    }
    cr_assert_eq(relief_obj_nops(o), c->n);
    return o;
}

/* ---- saving, dumping, comparing ---- */

/* The record of o in a malloc'd buffer of exactly its size. */
static uint8_t *save_all(const struct relief_obj *o, size_t *len)
{
    size_t need = 0, got = 0;
    uint8_t *buf;
    cr_assert_eq(relief_cell_save(o, NULL, 0, &need), AM_ELIMIT);
    cr_assert_gt(need, 0);
    buf = malloc(need);
    cr_assert(buf);
    cr_assert_eq(relief_cell_save(o, buf, need, &got), AM_OK);
    cr_assert_eq(got, need);
    *len = got;
    return buf;
}

static uint8_t *dump_all(struct relief_obj *o, size_t *len)
{
    size_t need = 0, got = 0;
    uint8_t *buf;
    cr_assert_eq(relief_obj_dump(o, NULL, 0, &need), AM_ELIMIT);
    buf = malloc(need);
    cr_assert(buf);
    cr_assert_eq(relief_obj_dump(o, buf, need, &got), AM_OK);
    cr_assert_eq(got, need);
    *len = got;
    return buf;
}

static int same_bytes(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    return al == bl && memcmp(a, b, al) == 0;
}

/*
 * Loads p[0..len) into a fresh cell of key k. Whatever it returns, it must not crash; it
 * must return AM_OK or AM_ECORRUPT; and when it loads, the cell must save, the record
 * must load again into the same cell (same dump, same number of ops) and save to the
 * same bytes. Returns the load's code.
 */
static int load_checked(const struct relief_key *k, const uint8_t *p, size_t len)
{
    struct relief_obj *o = relief_obj_new(k), *o2 = relief_obj_new(k);
    uint8_t *in = tu_dup_exact(p, len), *r1, *r2, *d1, *d2;
    size_t l1, l2, dl1, dl2;
    int rc;

    cr_assert(o && o2);
    rc = relief_cell_load(o, in, len);
    cr_assert(rc == AM_OK || rc == AM_ECORRUPT, "load gave %s", am_strerror(rc));
    if (rc == AM_OK) {
        r1 = save_all(o, &l1);
        cr_assert_eq(relief_cell_load(o2, r1, l1), AM_OK);
        cr_assert_eq(relief_obj_nops(o2), relief_obj_nops(o));
        r2 = save_all(o2, &l2);
        cr_assert(same_bytes(r1, l1, r2, l2), "the saved record is not a fixed point");
        d1 = dump_all(o, &dl1);
        d2 = dump_all(o2, &dl2);
        cr_assert(same_bytes(d1, dl1, d2, dl2), "a reloaded record gives another view");
        free(r1);
        free(r2);
        free(d1);
        free(d2);
    } else {
        /* a partly loaded cell still gives a view and a record, and frees cleanly (an
         * empty one is left to an_empty_cell_is_two_zero_bytes) */
        uint8_t *d = dump_all(o, &dl1);
        free(d);
        if (relief_obj_nops(o) > 0)
            free(save_all(o, &l1));
    }
    free(in);
    relief_obj_free(o);
    relief_obj_free(o2);
    return rc;
}

static int pk_cmp(const void *a, const void *b)
{
    return memcmp(a, b, AM_PK_LEN);
}

/* The distinct authors of c's ops, ascending, into out; returns how many. */
static uint32_t op_authors(const struct gcell *c, uint8_t (*out)[AM_PK_LEN])
{
    uint32_t n = 0;
    for (int a = 0; a < NAUTH_MAX; a++)
        for (size_t i = 0; i < c->n; i++)
            if (memcmp(c->ops[i].ref.author, c->pk[a], AM_PK_LEN) == 0) {
                memcpy(out[n++], c->pk[a], AM_PK_LEN);
                break;
            }
    qsort(out, n, AM_PK_LEN, pk_cmp);
    return n;
}

static void shuffle(size_t *perm, size_t n, uint64_t *st)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rnd(st, i), t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

/* ---- round trip ---- */

/* Saves a random cell, loads it into fresh objects, and compares everything. */
static void round_trip(const struct gcell *c, uint64_t *st)
{
    struct relief_obj *o = g_obj(c, NULL), *l = relief_obj_new(&c->key), *part;
    uint8_t *rec, *rec2, *rec3, *d1, *d2;
    size_t rl, rl2, rl3, dl1, dl2;
    uint8_t want[NAUTH_MAX][AM_PK_LEN];
    const uint8_t *authors;
    uint32_t na, nwant;

    cr_assert(l);
    rec = save_all(o, &rl);
    cr_assert_eq(relief_cell_load(l, rec, rl), AM_OK);
    cr_assert_eq(relief_obj_nops(l), relief_obj_nops(o));

    d1 = dump_all(o, &dl1);
    d2 = dump_all(l, &dl2);
    cr_assert(same_bytes(d1, dl1, d2, dl2), "the loaded cell's view differs (%zu ops)", c->n);
    rec2 = save_all(l, &rl2);
    cr_assert(same_bytes(rec, rl, rec2, rl2), "saving the loaded cell gives another record");

    /* the loaded ops are the original ops, hlc, quantity, reason and ctx included: each
     * original op is a duplicate there, while a changed stamp is a fork */
    for (size_t i = 0; i < c->n; i++)
        cr_assert_eq(gop_apply(l, &c->ops[i]), AM_OK, "op %zu came back changed", i);
    cr_assert_eq(relief_obj_nops(l), c->n);
    {
        struct gop g = c->ops[rnd(st, c->n)];
        g.hlc ^= 1;
        cr_assert_eq(gop_apply(l, &g), AM_EFORK);
    }

    /* the authors with ops, ascending; never the context-only ones */
    nwant = op_authors(c, want);
    cr_assert_eq(relief_cell_record_authors(rec, rl, &authors, &na), AM_OK);
    cr_assert_eq(na, nwant);
    cr_assert(authors >= rec && authors + (size_t)na * AM_PK_LEN <= rec + rl);
    cr_assert(memcmp(authors, want, (size_t)na * AM_PK_LEN) == 0);
    /* an author that contexts name, with no op in the cell, is in the record after them */
    for (int x = 0; x < NGHOST; x++) {
        const uint8_t *gp = c->pk[NAUTH_MAX + x];
        int named = 0, found = 0;
        for (size_t i = 0; i < c->n; i++)
            for (uint32_t j = 0; j < c->ops[i].nctx; j++)
                named |= memcmp(c->ops[i].ctx[j].author, gp, AM_PK_LEN) == 0;
        for (size_t j = na;
             j < (size_t)na + NAUTH_MAX + NGHOST && authors + (j + 1) * AM_PK_LEN <= rec + rl; j++)
            found |= memcmp(authors + j * AM_PK_LEN, gp, AM_PK_LEN) == 0;
        if (named)
            cr_assert(found, "context-only author %d is not in the record", x);
    }

    /* loading into a cell that holds some of the ops already gives the same cell */
    part = relief_obj_new(&c->key);
    cr_assert(part);
    for (size_t i = 0; i < c->n; i++)
        if (rnd(st, 2))
            cr_assert_eq(gop_apply(part, &c->ops[i]), AM_OK);
    cr_assert_eq(relief_cell_load(part, rec, rl), AM_OK);
    cr_assert_eq(relief_obj_nops(part), c->n);
    rec3 = save_all(part, &rl3);
    cr_assert(same_bytes(rec, rl, rec3, rl3));

    free(rec);
    free(rec2);
    free(rec3);
    free(d1);
    free(d2);
    relief_obj_free(o);
    relief_obj_free(l);
    relief_obj_free(part);
}

Test(cell_record, random_cells_survive_save_and_load)
{
    uint64_t seed = tu_seed("cell_record.round_trip"), st = seed;
    struct gcell c;

    for (int iter = 0; iter < 150; iter++) {
        size_t nops = iter % 10 == 9 ? 400 + rnd(&st, 200) : 9 + rnd(&st, 60);
        g_cell(&c, &st, nops);
        round_trip(&c, &st);
        g_free(&c);
    }
    assert_no_leaks();
}

/* ---- canonical ---- */

Test(cell_record, the_record_does_not_depend_on_arrival_order)
{
    uint64_t seed = tu_seed("cell_record.canonical"), st = seed;
    struct gcell c;

    for (int iter = 0; iter < 60; iter++) {
        size_t *perm;
        struct relief_obj *o1, *o2, *o3;
        uint8_t *r1, *r2, *r3;
        size_t l1, l2, l3;

        g_cell(&c, &st, 9 + rnd(&st, 80));
        perm = malloc(c.n * sizeof *perm);
        cr_assert(perm);
        o1 = g_obj(&c, NULL);
        /* a random order, every op a second time at random afterwards */
        shuffle(perm, c.n, &st);
        o2 = g_obj(&c, perm);
        for (size_t i = 0; i < c.n; i++)
            if (rnd(&st, 3) == 0)
                cr_assert_eq(gop_apply(o2, &c.ops[perm[rnd(&st, c.n)]]), AM_OK);
        /* the reverse order: every author's ops by descending seq, authors met anew */
        for (size_t i = 0; i < c.n; i++)
            perm[i] = c.n - 1 - i;
        o3 = g_obj(&c, perm);

        r1 = save_all(o1, &l1);
        r2 = save_all(o2, &l2);
        r3 = save_all(o3, &l3);
        cr_assert(same_bytes(r1, l1, r2, l2), "a shuffled arrival gives another record");
        cr_assert(same_bytes(r1, l1, r3, l3), "the reverse arrival gives another record");
        free(r1);
        free(r2);
        free(r3);
        free(perm);
        relief_obj_free(o1);
        relief_obj_free(o2);
        relief_obj_free(o3);
        g_free(&c);
    }
    assert_no_leaks();
}

/* ---- the byte table, hand-made ---- */

/*
 * A: 32 x 0x11, B: 32 x 0x22 write ops; G: 32 x 0x05 is only named by a context (so it
 * sorts before A by its bytes, yet comes after the authors with ops).
 *   A seq 1 hlc 1000        issued 1
 *   A seq 2 hlc 999         damaged 2         (the clock went back by one)
 *   A seq 5 hlc 2^64 - 2    count 0, ctx {B:7}
 *   B seq 7 hlc 2^64 - 1    received 300
 *   B seq 8 hlc 0           count 5, ctx {G:9, A:2}  (2^64 - 1 -> 0 is a step of +1)
 */
static void known_cell(struct gcell *c, const struct relief_key *k)
{
    struct gop *g;
    memset(c, 0, sizeof *c);
    c->key = *k;
    memset(c->pk[0], 0x11, AM_PK_LEN);
    memset(c->pk[1], 0x22, AM_PK_LEN);
    memset(c->pk[NAUTH_MAX], 0x05, AM_PK_LEN);

    c->seq[0] = 1, c->hlc[0] = 1000;
    g_push(c, 0, RELIEF_R_ISSUED, 1);
    c->seq[0] = 2, c->hlc[0] = 999;
    g_push(c, 0, RELIEF_R_DAMAGED, 2);
    c->seq[0] = 5, c->hlc[0] = UINT64_MAX - 1;
    g = g_push(c, 0, 0, 0);
    memcpy(g->ctx[0].author, c->pk[1], AM_PK_LEN);
    g->ctx[0].seq = 7;
    g->nctx = 1;
    c->seq[1] = 7, c->hlc[1] = UINT64_MAX;
    g_push(c, 1, RELIEF_R_RECEIVED, 300);
    c->seq[1] = 8, c->hlc[1] = 0;
    g = g_push(c, 1, 0, 5);
    memcpy(g->ctx[0].author, c->pk[NAUTH_MAX], AM_PK_LEN);
    g->ctx[0].seq = 9;
    memcpy(g->ctx[1].author, c->pk[0], AM_PK_LEN);
    g->ctx[1].seq = 2;
    g->nctx = 2;
    relief_ctx_normalize(g->ctx, &g->nctx);
}

/* The record of known_cell, from the table of PROTOCOL.md 7.1. */
static size_t known_record(uint8_t *out)
{
    static const uint8_t a_ops[] = {
        0x03,                         /* A: 3 ops */
        0x01, 0xe8, 0x07, 0x02, 0x01, /* seq 1, hlc 1000, issued, q 1 */
        0x01, 0x01, 0x08, 0x02,       /* seq +1, hlc zigzag(-1) = 1, damaged, q 2 */
        0x03, 0xd1, 0x0f, 0x00, 0x00, /* seq +3, hlc zigzag(-1001) = 2001, count, q 0 */
        0x01, 0x01, 0x07,             /* ctx: 1 entry, B (index 1) seq 7 */
    };
    static const uint8_t b_ops[] = {
        0x02,                                                             /* B: 2 ops */
        0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, /* seq 7, 2^64-1 */
        0x01, 0xac, 0x02,                                                 /* received, q 300 */
        0x01, 0x02, 0x00, 0x05,       /* seq +1, hlc zigzag(+1) = 2, count, q 5 */
        0x02, 0x02, 0x09, 0x00, 0x02, /* ctx: G (index 2) seq 9, A (index 0) seq 2 */
    };
    size_t n = 0;
    out[n++] = 2; /* na */
    out[n++] = 1; /* nx */
    memset(out + n, 0x11, AM_PK_LEN), n += AM_PK_LEN;
    memset(out + n, 0x22, AM_PK_LEN), n += AM_PK_LEN;
    memset(out + n, 0x05, AM_PK_LEN), n += AM_PK_LEN;
    memcpy(out + n, a_ops, sizeof a_ops), n += sizeof a_ops;
    memcpy(out + n, b_ops, sizeof b_ops), n += sizeof b_ops;
    return n;
}

Test(cell_record, a_known_cell_gives_the_bytes_of_the_protocol_table)
{
    struct relief_key k = cell_key("hub", "ors", "", 0);
    struct gcell c;
    struct relief_obj *o, *l;
    uint8_t want[256], *rec, *d1, *d2;
    size_t wl = known_record(want), rl, dl1, dl2;
    const uint8_t *authors;
    uint32_t na;

    known_cell(&c, &k);
    o = g_obj(&c, NULL);
    rec = save_all(o, &rl);
    cr_assert_eq(rl, wl, "record of %zu bytes, the table says %zu", rl, wl);
    for (size_t i = 0; i < wl; i++)
        cr_assert_eq(rec[i], want[i], "byte %zu: 0x%02x, the table says 0x%02x", i, rec[i],
                     want[i]);

    /* hlc 2^64 - 1, 0, 2^64 - 2 and a step back come back exact */
    l = relief_obj_new(&k);
    cr_assert(l);
    cr_assert_eq(relief_cell_load(l, rec, rl), AM_OK);
    for (size_t i = 0; i < c.n; i++)
        cr_assert_eq(gop_apply(l, &c.ops[i]), AM_OK, "op %zu came back changed", i);
    cr_assert_eq(relief_obj_nops(l), c.n);
    d1 = dump_all(o, &dl1);
    d2 = dump_all(l, &dl2);
    cr_assert(same_bytes(d1, dl1, d2, dl2));

    /* A and B, pointing into the record; not G */
    cr_assert_eq(relief_cell_record_authors(rec, rl, &authors, &na), AM_OK);
    cr_assert_eq(na, 2);
    cr_assert_eq(authors, rec + 2);
    cr_assert(memcmp(authors, c.pk[0], AM_PK_LEN) == 0);
    cr_assert(memcmp(authors + AM_PK_LEN, c.pk[1], AM_PK_LEN) == 0);

    free(rec);
    free(d1);
    free(d2);
    relief_obj_free(o);
    relief_obj_free(l);
    g_free(&c);
    assert_no_leaks();
}

/* ---- hlc stamps at the ends of the range ---- */

Test(cell_record, hlc_deltas_wrap_modulo_2_64)
{
    /* clang-format off */
    static const uint64_t stamps[] = {
        UINT64_MAX, 0, UINT64_MAX - 1, 1,   /* across the wrap, both ways */
        1ULL << 63, (1ULL << 63) - 1,       /* half the range, then back by one */
        0, UINT64_MAX, 5, 4, 3,             /* and backwards in small steps */
        UINT64_MAX, UINT64_MAX - 7, 1ULL << 62, 0,
    };
    /* clang-format on */
    const size_t n = sizeof stamps / sizeof stamps[0];
    struct relief_key k = cell_key("hub", "ors", "L1", 20000);
    struct gcell c;
    struct relief_obj *o;
    uint8_t *rec;
    size_t rl;
    uint64_t st = 1;

    /* one author walking the stamps, a second taking them in reverse, counts among them */
    memset(&c, 0, sizeof c);
    c.key = k;
    memset(c.pk[0], 0xa0, AM_PK_LEN);
    memset(c.pk[1], 0x0a, AM_PK_LEN);
    for (size_t i = 0; i < n; i++) {
        c.seq[0] = i + 1;
        c.hlc[0] = stamps[i];
        c.seq[1] = 2 * i + 3;
        c.hlc[1] = stamps[n - 1 - i];
        if (i % 4 == 3) {
            struct gop *g = g_push(&c, 0, 0, (int64_t)i);
            memcpy(g->ctx[0].author, c.pk[1], AM_PK_LEN);
            g->ctx[0].seq = c.seq[1];
            g->nctx = 1;
        } else {
            g_push(&c, 0, 1 + (int)(i % RELIEF_R_DAMAGED), (int64_t)i + 1);
        }
        g_push(&c, 1, 1 + (int)((i + 3) % RELIEF_R_DAMAGED), (int64_t)i + 7);
    }
    round_trip(&c, &st);

    /* a wrap costs a byte or two, not a 10-byte stamp: two ops per author, stamps
     * 2^64 - 1 then 0 (+1) and 0 then 2^64 - 1 (-1) */
    g_free(&c);
    memset(&c, 0, sizeof c);
    c.key = k;
    memset(c.pk[0], 0x01, AM_PK_LEN);
    c.seq[0] = 1, c.hlc[0] = UINT64_MAX;
    g_push(&c, 0, RELIEF_R_RECEIVED, 1);
    c.seq[0] = 2, c.hlc[0] = 0;
    g_push(&c, 0, RELIEF_R_RECEIVED, 1);
    c.seq[0] = 3, c.hlc[0] = UINT64_MAX;
    g_push(&c, 0, RELIEF_R_RECEIVED, 1);
    o = g_obj(&c, NULL);
    rec = save_all(o, &rl);
    /* na nx author n | seq hlc(10) kind q | seq hlc kind q | seq hlc kind q */
    cr_assert_eq(rl, 1 + 1 + AM_PK_LEN + 1 + (1 + 10 + 1 + 1) + 4 + 4);
    cr_assert_eq(rec[rl - 7], 2, "+1 across the wrap is zigzag 2");
    cr_assert_eq(rec[rl - 3], 1, "-1 across the wrap is zigzag 1");
    round_trip(&c, &st);
    free(rec);
    relief_obj_free(o);
    g_free(&c);
    assert_no_leaks();
}

/* ---- authors ---- */

Test(cell_record, record_authors_lists_only_authors_with_ops)
{
    uint64_t seed = tu_seed("cell_record.authors"), st = seed;
    struct relief_key k = cell_key("hub", "ors", "", 0);
    struct gcell c;
    struct relief_obj *o;
    uint8_t *rec;
    size_t rl;
    const uint8_t *authors;
    uint32_t na;

    /* random cells: checked inside round_trip; here a cell of counts naming ghosts only */
    memset(&c, 0, sizeof c);
    c.key = k;
    for (int a = 0; a < NAUTH_MAX + NGHOST; a++)
        for (int i = 0; i < AM_PK_LEN; i++)
            c.pk[a][i] = (uint8_t)tu_rand(&st);
    for (int i = 0; i < 6; i++) {
        struct gop *g;
        c.seq[i % 3] += 1;
        c.hlc[i % 3] += 10;
        g = g_push(&c, i % 3, 0, i);
        for (int x = 0; x < NGHOST; x++) {
            memcpy(g->ctx[x].author, c.pk[NAUTH_MAX + x], AM_PK_LEN);
            g->ctx[x].seq = (uint64_t)i + 1;
        }
        g->nctx = NGHOST;
        relief_ctx_normalize(g->ctx, &g->nctx);
    }
    o = g_obj(&c, NULL);
    rec = save_all(o, &rl);
    cr_assert_eq(relief_cell_record_authors(rec, rl, &authors, &na), AM_OK);
    cr_assert_eq(na, 3);
    for (uint32_t i = 0; i < na; i++) {
        int found = 0;
        for (int a = 0; a < 3; a++)
            found |= memcmp(authors + (size_t)i * AM_PK_LEN, c.pk[a], AM_PK_LEN) == 0;
        cr_assert(found, "author %u is not one with ops", i);
        if (i)
            cr_assert_lt(memcmp(authors + (size_t)(i - 1) * AM_PK_LEN,
                                authors + (size_t)i * AM_PK_LEN, AM_PK_LEN),
                         0, "authors not ascending");
    }
    relief_obj_free(o);
    free(rec);
    g_free(&c);
    assert_no_leaks();
}

/* An empty cell (a fresh one, as a store holds before its first op): two zero bytes, no
 * authors, and it loads back as an empty cell. */
Test(cell_record, an_empty_cell_is_two_zero_bytes)
{
    struct relief_key k = cell_key("hub", "ors", "", 0);
    struct relief_obj *o;
    uint8_t *rec;
    size_t rl;
    const uint8_t *authors;
    uint32_t na;

    o = relief_obj_new(&k);
    cr_assert(o);
    rec = save_all(o, &rl);
    cr_assert_eq(rl, 2);
    cr_assert(rec[0] == 0 && rec[1] == 0);
    cr_assert_eq(relief_cell_record_authors(rec, rl, &authors, &na), AM_OK);
    cr_assert_eq(na, 0);
    relief_obj_free(o);
    o = relief_obj_new(&k);
    cr_assert(o);
    cr_assert_eq(relief_cell_load(o, rec, rl), AM_OK);
    cr_assert_eq(relief_obj_nops(o), 0);
    relief_obj_free(o);
    free(rec);
    assert_no_leaks();
}

/* ---- size and kind errors ---- */

Test(cell_record, a_small_buffer_gives_elimit_with_the_size)
{
    struct relief_key k = cell_key("hub", "ors", "", 0);
    struct gcell c;
    struct relief_obj *o;
    uint8_t want[256], *buf;
    size_t wl = known_record(want), len;

    known_cell(&c, &k);
    o = g_obj(&c, NULL);
    for (size_t cap = 0; cap < wl; cap++) {
        buf = tu_dup_exact(want, cap); /* exactly cap bytes: ASan sees a write past them */
        len = 12345;
        cr_assert_eq(relief_cell_save(o, buf, cap, &len), AM_ELIMIT, "cap %zu", cap);
        cr_assert_eq(len, wl, "cap %zu: *len %zu, the record has %zu", cap, len, wl);
        free(buf);
    }
    len = 0;
    cr_assert_eq(relief_cell_save(o, NULL, 0, &len), AM_ELIMIT);
    cr_assert_eq(len, wl);
    buf = malloc(wl + 10);
    cr_assert(buf);
    cr_assert_eq(relief_cell_save(o, buf, wl + 10, &len), AM_OK);
    cr_assert_eq(len, wl);
    cr_assert(memcmp(buf, want, wl) == 0);
    free(buf);
    relief_obj_free(o);
    g_free(&c);
    assert_no_leaks();
}

Test(cell_record, objects_other_than_cells_give_einval)
{
    struct relief_key ks[3];
    uint8_t rec[256], buf[256];
    size_t rl = known_record(rec), len;

    memset(ks, 0, sizeof ks);
    ks[0].kind = RELIEF_OBJ_SITE;
    snprintf(ks[0].site, sizeof ks[0].site, "hub");
    ks[1].kind = RELIEF_OBJ_ITEM;
    snprintf(ks[1].item, sizeof ks[1].item, "ors");
    ks[2].kind = RELIEF_OBJ_NEED;
    memset(ks[2].need, 0x5a, RELIEF_ID_LEN);
    for (int i = 0; i < 3; i++) {
        struct relief_obj *o = relief_obj_new(&ks[i]);
        cr_assert(o, "key %d", i);
        cr_assert_eq(relief_cell_save(o, buf, sizeof buf, &len), AM_EINVAL, "key %d", i);
        cr_assert_eq(relief_cell_save(o, NULL, 0, &len), AM_EINVAL, "key %d", i);
        cr_assert_eq(relief_cell_load(o, rec, rl), AM_EINVAL, "key %d", i);
        cr_assert_eq(relief_cell_load(o, rec, 0), AM_EINVAL, "key %d", i);
        cr_assert_eq(relief_obj_nops(o), 0);
        relief_obj_free(o);
    }
    assert_no_leaks();
}

/* ---- damaged records ---- */

Test(cell_record, every_truncation_is_refused)
{
    uint64_t seed = tu_seed("cell_record.truncation"), st = seed;
    struct relief_key k = cell_key("hub", "ors", "", 0);
    uint8_t want[256];
    size_t wl = known_record(want);

    /* the known record: the authors are readable once the 2 + 3 x 32 bytes are there */
    for (size_t len = 0; len < wl; len++) {
        uint8_t *p = tu_dup_exact(want, len);
        const uint8_t *authors;
        uint32_t na;
        int rc = relief_cell_record_authors(p, len, &authors, &na);
        cr_assert_eq(load_checked(&k, p, len), AM_ECORRUPT, "prefix of %zu bytes", len);
        if (len < 2 + 3 * AM_PK_LEN) {
            cr_assert_eq(rc, AM_ECORRUPT, "prefix of %zu bytes", len);
        } else {
            cr_assert_eq(rc, AM_OK, "prefix of %zu bytes", len);
            cr_assert_eq(na, 2);
        }
        free(p);
    }

    /* random records */
    for (int iter = 0; iter < 8; iter++) {
        struct gcell c;
        struct relief_obj *o;
        uint8_t *rec;
        size_t rl;

        g_cell(&c, &st, 9 + rnd(&st, 30));
        o = g_obj(&c, NULL);
        rec = save_all(o, &rl);
        for (size_t len = 0; len < rl; len++)
            cr_assert_eq(load_checked(&c.key, rec, len), AM_ECORRUPT, "prefix of %zu of %zu", len,
                         rl);
        cr_assert_eq(load_checked(&c.key, rec, rl), AM_OK);
        free(rec);
        relief_obj_free(o);
        g_free(&c);
    }
    assert_no_leaks();
}

Test(cell_record, byte_flips_never_crash_and_what_loads_saves_canonically)
{
    uint64_t seed = tu_seed("cell_record.flips"), st = seed;
    static const uint8_t xors[] = {0x01, 0x02, 0x40, 0x80, 0xff};
    /* and masks that make the byte one of these values (or, when it holds it already, its
     * complement): always a change, so every case damages the record */
    static const uint8_t sets[] = {0x00, 0x01, 0x7f, 0x80, 0xff};

    for (int iter = 0; iter < 4; iter++) {
        struct gcell c;
        struct relief_obj *o;
        uint8_t *rec, *p;
        size_t rl;
        unsigned ok = 0, bad = 0;

        g_cell(&c, &st, 9 + rnd(&st, 20));
        o = g_obj(&c, NULL);
        rec = save_all(o, &rl);
        p = malloc(rl + 1);
        cr_assert(p);
        for (size_t i = 0; i < rl; i++) {
            for (size_t x = 0; x < sizeof xors + sizeof sets; x++) {
                uint8_t m = x < sizeof xors ? xors[x] : (uint8_t)(rec[i] ^ sets[x - sizeof xors]);
                memcpy(p, rec, rl);
                p[i] ^= m ? m : 0xff;
                if (load_checked(&c.key, p, rl) == AM_OK)
                    ok++;
                else
                    bad++;
            }
        }
        cr_assert_gt(bad, 0);
        cr_assert_gt(ok, 0); /* a flipped author byte, quantity or stamp still loads */
        /* a byte more at the end */
        memcpy(p, rec, rl);
        p[rl] = 0;
        cr_assert_eq(load_checked(&c.key, p, rl + 1), AM_ECORRUPT);
        free(p);
        free(rec);
        relief_obj_free(o);
        g_free(&c);
    }
    assert_no_leaks();
}

/* A record built by hand. */
struct bb {
    uint8_t b[2048];
    size_t n;
};

static void bb_v(struct bb *b, uint64_t v)
{
    while (v >= 0x80) {
        b->b[b->n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->b[b->n++] = (uint8_t)v;
}

static void bb_author(struct bb *b, uint8_t fill)
{
    memset(b->b + b->n, fill, AM_PK_LEN);
    b->n += AM_PK_LEN;
}

/* na = 1 (author 0x11), nx = 0 or 1 (author 0x05), then `n` ops follow. */
static void bb_head(struct bb *b, uint64_t nx, uint64_t n)
{
    b->n = 0;
    bb_v(b, 1);
    bb_v(b, nx);
    bb_author(b, 0x11);
    if (nx)
        bb_author(b, 0x05);
    bb_v(b, n);
}

/* One move: seq (or gap), hlc (or zigzag), kind, q. */
static void bb_move(struct bb *b, uint64_t seq, uint64_t hlc, uint8_t kind, uint64_t q)
{
    bb_v(b, seq);
    bb_v(b, hlc);
    b->b[b->n++] = kind;
    bb_v(b, q);
}

static int load_bb(const struct bb *b)
{
    struct relief_key k = cell_key("hub", "ors", "", 0);
    return load_checked(&k, b->b, b->n);
}

Test(cell_record, hand_made_bad_records_are_refused)
{
    struct relief_key k = cell_key("hub", "ors", "", 0);
    struct bb b;
    const uint8_t *authors;
    uint32_t na;
    int rc;

    /* empty */
    cr_assert_eq(load_checked(&k, (const uint8_t *)"", 0), AM_ECORRUPT);
    {
        uint8_t *p = tu_dup_exact(NULL, 0);
        cr_assert_eq(relief_cell_record_authors(p, 0, &authors, &na), AM_ECORRUPT);
        free(p);
    }

    /* author counts far beyond the bytes, including ones whose x 32 wraps */
    {
        static const uint64_t huge[] = {2,          1ULL << 32,       1ULL << 59,
                                        1ULL << 63, (1ULL << 59) + 1, UINT64_MAX};
        for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++)
            for (int which = 0; which < 3; which++) {
                uint8_t *p;
                b.n = 0;
                bb_v(&b, which == 1 ? 1 : huge[i]);
                bb_v(&b, which == 0 ? 0 : huge[i]);
                bb_author(&b, 0x11);
                bb_v(&b, 1);
                bb_move(&b, 1, 1, RELIEF_R_RECEIVED, 1);
                p = tu_dup_exact(b.b, b.n);
                cr_assert_eq(load_checked(&k, p, b.n), AM_ECORRUPT, "na/nx %d of %#llx", which,
                             (unsigned long long)huge[i]);
                cr_assert_eq(relief_cell_record_authors(p, b.n, &authors, &na), AM_ECORRUPT,
                             "na/nx %d of %#llx", which, (unsigned long long)huge[i]);
                free(p);
            }
    }

    /* a varint of 11 bytes */
    b.n = 0;
    for (int i = 0; i < 10; i++)
        b.b[b.n++] = 0x80;
    b.b[b.n++] = 0;
    b.b[b.n++] = 0;
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    cr_assert_eq(relief_cell_record_authors(b.b, b.n, &authors, &na), AM_ECORRUPT);

    /* the smallest good record, then one thing wrong at a time */
    bb_head(&b, 0, 1);
    bb_move(&b, 1, 7, RELIEF_R_RECEIVED, 1);
    cr_assert_eq(load_bb(&b), AM_OK);

    bb_head(&b, 0, 0); /* an author of no ops */
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    bb_head(&b, 0, 1); /* seq 0 */
    bb_move(&b, 0, 7, RELIEF_R_RECEIVED, 1);
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    bb_head(&b, 0, 1); /* seq 2^63 */
    bb_move(&b, 1ULL << 63, 7, RELIEF_R_RECEIVED, 1);
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    bb_head(&b, 0, 1); /* seq 2^63 - 1: the largest */
    bb_move(&b, INT64_MAX, 7, RELIEF_R_RECEIVED, 1);
    cr_assert_eq(load_bb(&b), AM_OK);
    bb_head(&b, 0, 2); /* a gap of 0 */
    bb_move(&b, 5, 7, RELIEF_R_RECEIVED, 1);
    bb_move(&b, 0, 2, RELIEF_R_ISSUED, 1);
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    bb_head(&b, 0, 2); /* a gap that wraps the seq past 2^64 */
    bb_move(&b, INT64_MAX, 7, RELIEF_R_RECEIVED, 1);
    bb_move(&b, (1ULL << 63) + 2, 2, RELIEF_R_ISSUED, 1);
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    bb_head(&b, 0, 1); /* kind 9 */
    bb_move(&b, 1, 7, RELIEF_R_DAMAGED + 1, 1);
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    bb_head(&b, 0, 1); /* kind 0xff */
    bb_move(&b, 1, 7, 0xff, 1);
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    bb_head(&b, 0, 1); /* q over the limit */
    bb_move(&b, 1, 7, RELIEF_R_RECEIVED, (uint64_t)RELIEF_QTY_MAX + 1);
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    bb_head(&b, 0, 1); /* q at the limit */
    bb_move(&b, 1, 7, RELIEF_R_ISSUED, (uint64_t)RELIEF_QTY_MAX);
    cr_assert_eq(load_bb(&b), AM_OK);
    bb_head(&b, 0, 1); /* no kind byte */
    bb_v(&b, 1);
    bb_v(&b, 7);
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    bb_head(&b, 0, 1); /* a byte more */
    bb_move(&b, 1, 7, RELIEF_R_RECEIVED, 1);
    b.b[b.n++] = 0;
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);

    /* counts: a ctx index in range, one past it, too many entries, a huge number */
    bb_head(&b, 1, 1);
    bb_move(&b, 1, 7, 0, 3);
    bb_v(&b, 1);
    bb_v(&b, 1); /* author 0x05 */
    bb_v(&b, 4);
    cr_assert_eq(load_bb(&b), AM_OK);
    cr_assert_eq(relief_cell_record_authors(b.b, b.n, &authors, &na), AM_OK);
    cr_assert_eq(na, 1);
    bb_head(&b, 1, 1);
    bb_move(&b, 1, 7, 0, 3);
    bb_v(&b, 1);
    bb_v(&b, 2); /* na + nx */
    bb_v(&b, 4);
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    bb_head(&b, 1, 1);
    bb_move(&b, 1, 7, 0, 3);
    bb_v(&b, RELIEF_REFS_MAX + 1);
    for (int i = 0; i < RELIEF_REFS_MAX + 1; i++) {
        bb_v(&b, 1);
        bb_v(&b, (uint64_t)i + 1);
    }
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    bb_head(&b, 1, 1);
    bb_move(&b, 1, 7, 0, 3);
    bb_v(&b, UINT64_MAX);
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);
    bb_head(&b, 1, 1); /* ends inside the ctx */
    bb_move(&b, 1, 7, 0, 3);
    bb_v(&b, 2);
    bb_v(&b, 1);
    bb_v(&b, 4);
    cr_assert_eq(load_bb(&b), AM_ECORRUPT);

    /* one author twice with two contents for one seq: a fork, refused */
    b.n = 0;
    bb_v(&b, 2);
    bb_v(&b, 0);
    bb_author(&b, 0x11);
    bb_author(&b, 0x11);
    bb_v(&b, 1);
    bb_move(&b, 3, 7, RELIEF_R_RECEIVED, 1);
    bb_v(&b, 1);
    bb_move(&b, 3, 7, RELIEF_R_RECEIVED, 2);
    rc = load_bb(&b);
    cr_assert_eq(rc, AM_ECORRUPT);
    assert_no_leaks();
}

/* ---- the committed fuzz corpus ---- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(cell_record, the_fuzz_corpus_replays_with_the_verdicts_its_names_give)
{
    const char *src = getenv("AM_SOURCE_DIR");
    struct relief_key k = cell_key("hub-north", "ors-20.5", "L2026-03", 20640);
    char dir[4096], *names[256];
    size_t n = 0, nok = 0, nbad = 0;
    struct dirent *de;
    DIR *d;

    cr_assert(src && *src, "AM_SOURCE_DIR is not set: run this test through ctest, or set "
                           "AM_SOURCE_DIR to the top of the source tree");
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/cell_record", src);
    d = opendir(dir);
    cr_assert(d, "cannot open the corpus directory %s", dir);
    while ((de = readdir(d)) != NULL && n < 256)
        if (de->d_name[0] != '.') {
            names[n] = strdup(de->d_name);
            cr_assert(names[n]);
            n++;
        }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    cr_assert_gt(n, 0, "the corpus %s is empty", dir);

    for (size_t i = 0; i < n; i++) {
        char path[8192];
        uint8_t *p;
        size_t len = 0;
        int rc;

        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        p = tu_read_file(path, &len);
        cr_assert(p, "cannot read %s", path);
        rc = load_checked(&k, p, len);
        if (strncmp(names[i], "ok-", 3) == 0) {
            /* made by relief_cell_save: loads, and saves back to the same bytes */
            struct relief_obj *o = relief_obj_new(&k);
            uint8_t *rec;
            size_t rl;
            cr_assert_eq(rc, AM_OK, "%s: %s", names[i], am_strerror(rc));
            cr_assert(o);
            cr_assert_eq(relief_cell_load(o, p, len), AM_OK);
            rec = save_all(o, &rl);
            cr_assert(same_bytes(rec, rl, p, len), "%s is not canonical", names[i]);
            free(rec);
            relief_obj_free(o);
            nok++;
        } else if (strncmp(names[i], "malformed-", 10) == 0) {
            cr_assert_eq(rc, AM_ECORRUPT, "%s: %s", names[i], am_strerror(rc));
            nbad++;
        }
        free(p);
        free(names[i]);
    }
    cr_assert_gt(nok, 0);
    cr_assert_gt(nbad, 0);
    assert_no_leaks();
}
