/*
 * relief_test.c: merge rules of relief objects (crdt/relief_obj.c, relief_cell.c,
 * relief_dump.c): the named field scenarios, register and counter edge cases, and seeded
 * property tests (random multi-author histories of every op kind, delivered in many
 * orders with duplicates, must give byte-identical view dumps; chunked application with
 * views read in between must equal all at once). Seeds are printed: rerun with
 * AM_SEED=...
 *
 * A small in-memory "node" below plays the part of the node layer: decode each entry's
 * op, skip invalid ones (counted) and ones of a newer version, find the object by
 * relief_op_key, apply, and dump every object in key order.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "relief.h"
#include "testutil.h"

/* ---- entries and a tiny node ---- */

struct tentry {
    struct relief_ref ref;
    uint64_t hlc;
    uint8_t hash[AM_HASH_LEN];
    uint8_t *op;
    size_t op_len;
};

struct tauthor {
    uint8_t pk[AM_PK_LEN];
    uint64_t seq;
};

static void author_init(struct tauthor *a, uint8_t b)
{
    memset(a->pk, b, AM_PK_LEN);
    a->seq = 0;
}

/* An entry by `a` holding the bytes of `op` (which must encode). */
static struct tentry mk_raw(struct tauthor *a, uint64_t hlc, const uint8_t *op, size_t len)
{
    struct tentry e;
    crypto_generichash_state st;

    memcpy(e.ref.author, a->pk, AM_PK_LEN);
    e.ref.seq = ++a->seq;
    e.hlc = hlc;
    e.op = malloc(len);
    cr_assert(e.op);
    memcpy(e.op, op, len);
    e.op_len = len;
    /* stands in for the entry hash: unique per (author, seq, hlc, op) */
    crypto_generichash_init(&st, NULL, 0, AM_HASH_LEN);
    crypto_generichash_update(&st, a->pk, AM_PK_LEN);
    crypto_generichash_update(&st, (const uint8_t *)&e.ref.seq, sizeof e.ref.seq);
    crypto_generichash_update(&st, (const uint8_t *)&hlc, sizeof hlc);
    crypto_generichash_update(&st, op, len);
    crypto_generichash_final(&st, e.hash, AM_HASH_LEN);
    return e;
}

static struct tentry mk(struct tauthor *a, uint64_t hlc, const struct relief_op *op)
{
    uint8_t buf[AM_OP_MAX];
    size_t len;
    char err[RELIEF_ERR_MAX] = "";
    int rc = relief_op_encode(op, buf, sizeof buf, &len, err, sizeof err);
    cr_assert_eq(rc, AM_OK, "encode %s: %s", relief_type_name(op->type), err);
    return mk_raw(a, hlc, buf, len);
}

struct tobj {
    uint8_t key[RELIEF_KEY_MAX];
    size_t klen;
    struct relief_obj *o;
};

struct tnode {
    struct tobj *objs;
    size_t n, cap;
    unsigned invalid, newer, applied;
};

static void tn_free(struct tnode *n)
{
    for (size_t i = 0; i < n->n; i++)
        relief_obj_free(n->objs[i].o);
    free(n->objs);
    memset(n, 0, sizeof *n);
}

static struct relief_obj *tn_find(struct tnode *n, const struct relief_key *k, int create)
{
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl;
    cr_assert_eq(relief_key_encode(k, kb, &kl), AM_OK);
    for (size_t i = 0; i < n->n; i++)
        if (n->objs[i].klen == kl && memcmp(n->objs[i].key, kb, kl) == 0)
            return n->objs[i].o;
    if (!create)
        return NULL;
    if (n->n == n->cap) {
        n->cap = n->cap ? 2 * n->cap : 16;
        n->objs = realloc(n->objs, n->cap * sizeof *n->objs);
        cr_assert(n->objs);
    }
    memcpy(n->objs[n->n].key, kb, kl);
    n->objs[n->n].klen = kl;
    n->objs[n->n].o = relief_obj_new(k);
    cr_assert(n->objs[n->n].o);
    return n->objs[n->n++].o;
}

static void tn_ingest(struct tnode *n, const struct tentry *e)
{
    struct relief_op op;
    struct relief_key k;
    char err[RELIEF_ERR_MAX];
    int rc = relief_op_decode(e->op, e->op_len, &op, err, sizeof err);

    if (rc == AM_EVERSION) {
        n->newer++;
        return;
    }
    if (rc != AM_OK) {
        n->invalid++; /* the node reports it; views ignore it */
        return;
    }
    cr_assert_eq(relief_op_key(&op, e->hash, &k), AM_OK);
    rc = relief_obj_apply(tn_find(n, &k, 1), &op, &e->ref, e->hlc, e->hash);
    cr_assert_eq(rc, AM_OK, "apply %s: %s", relief_type_name(op.type), am_strerror(rc));
    n->applied++;
}

static int tobj_cmp(const void *a, const void *b)
{
    const struct tobj *x = a, *y = b;
    size_t l = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, l);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Every object's key and view, in key order. The caller frees *out. */
static size_t tn_dump(struct tnode *n, uint8_t **out)
{
    size_t len = 0, cap = 4096;
    uint8_t *buf = malloc(cap);
    cr_assert(buf);
    if (n->n)
        qsort(n->objs, n->n, sizeof *n->objs, tobj_cmp);
    for (size_t i = 0; i < n->n; i++) {
        size_t vl;
        int rc;
        for (;;) {
            if (cap - len < n->objs[i].klen + 1 + 64) {
                cap *= 2;
                buf = realloc(buf, cap);
                cr_assert(buf);
                continue;
            }
            buf[len] = (uint8_t)n->objs[i].klen;
            memcpy(buf + len + 1, n->objs[i].key, n->objs[i].klen);
            rc = relief_obj_dump(n->objs[i].o, buf + len + 1 + n->objs[i].klen,
                                 cap - len - 1 - n->objs[i].klen, &vl);
            if (rc == AM_OK)
                break;
            cr_assert_eq(rc, AM_ELIMIT);
            while (cap - len - 1 - n->objs[i].klen < vl)
                cap *= 2;
            buf = realloc(buf, cap);
            cr_assert(buf);
        }
        len += 1 + n->objs[i].klen + vl;
    }
    *out = buf;
    return len;
}

/* ---- op builders for scenarios ---- */

static struct relief_str S(const char *s) {
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

static struct relief_ref sorted_refs[RELIEF_REFS_MAX];

/* refs given as (entry pointers); sorted into a static array the op points at */
static struct relief_refs refs_of(const struct tentry *const *es, uint32_t n, int ctx)
{
    struct relief_refs l = {0, sorted_refs, NULL};
    for (uint32_t i = 0; i < n; i++)
        sorted_refs[i] = es[i]->ref;
    l.n = n;
    if (ctx)
        relief_ctx_normalize(sorted_refs, &l.n);
    else
        relief_refs_sort(sorted_refs, &l.n);
    return l;
}

static struct relief_op op_site(const char *slug, const char *name, int kind,
                                const struct tentry *const *sup, uint32_t nsup)
{
    struct relief_op op;
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_SITE;
    op.site = S(slug);
    HAS(&op, SLUG);
    if (name) {
        op.name = S(name);
        HAS(&op, NAME);
    }
    if (kind) {
        op.kind = kind;
        HAS(&op, KIND);
    }
    if (nsup) {
        op.sup = refs_of(sup, nsup, 0);
        HAS(&op, SUP);
    }
    return op;
}

static struct relief_op op_move(const char *site, const char *item, int64_t q, int reason)
{
    struct relief_op op;
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_STOCK_MOVE;
    op.site = S(site);
    op.item = S(item);
    op.q = q;
    op.reason = reason;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, R);
    return op;
}

/* a count that saw exactly the entries `seen` (the highest seq per author is taken) */
static struct relief_op op_count(const char *site, const char *item, int64_t q,
                                 const struct tentry *const *seen, uint32_t nseen)
{
    struct relief_op op;
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_STOCK_COUNT;
    op.site = S(site);
    op.item = S(item);
    op.q = q;
    op.ctx = refs_of(seen, nseen, 1);
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, CTX);
    return op;
}

static struct relief_op op_open(const char *site, const char *item, int64_t q, int pri)
{
    struct relief_op op;
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_OPEN;
    op.site = S(site);
    op.item = S(item);
    op.q = q;
    op.pri = pri;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
    return op;
}

static struct relief_op op_need(int type, const struct tentry *open)
{
    struct relief_op op;
    memset(&op, 0, sizeof op);
    op.type = type;
    relief_need_id(open->hash, op.need);
    HAS(&op, NEED);
    return op;
}

static struct relief_op op_dlv(const struct tentry *open, int64_t q)
{
    struct relief_op op = op_need(RELIEF_T_NEED_DLV, open);
    op.q = q;
    HAS(&op, Q);
    return op;
}

static struct relief_op op_close(const struct tentry *open, int st, const struct tentry *const *sup,
                                 uint32_t nsup)
{
    struct relief_op op = op_need(RELIEF_T_NEED_CLOSE, open);
    op.st = st;
    HAS(&op, ST);
    if (nsup) {
        op.sup = refs_of(sup, nsup, 0);
        HAS(&op, SUP);
    }
    return op;
}

static struct relief_op op_upd_q(const struct tentry *open, int64_t q,
                                 const struct tentry *const *sup, uint32_t nsup)
{
    struct relief_op op = op_need(RELIEF_T_NEED_UPD, open);
    op.q = q;
    HAS(&op, Q);
    if (nsup) {
        op.sup = refs_of(sup, nsup, 0);
        HAS(&op, SUP);
    }
    return op;
}

/* Applies entries (in the given order) to a fresh node. */
static void ingest_all(struct tnode *n, const struct tentry *es, size_t ne)
{
    memset(n, 0, sizeof *n);
    for (size_t i = 0; i < ne; i++)
        tn_ingest(n, &es[i]);
}

static void free_entries(struct tentry *es, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(es[i].op);
}

static struct relief_key cell_key(const char *site, const char *item)
{
    struct relief_key k;
    memset(&k, 0, sizeof k);
    k.kind = RELIEF_OBJ_CELL;
    cr_assert_lt(strlen(site), sizeof k.site);
    cr_assert_lt(strlen(item), sizeof k.item);
    snprintf(k.site, sizeof k.site, "%s", site);
    snprintf(k.item, sizeof k.item, "%s", item);
    return k;
}

static struct relief_key need_key(const struct tentry *open)
{
    struct relief_key k;
    memset(&k, 0, sizeof k);
    k.kind = RELIEF_OBJ_NEED;
    relief_need_id(open->hash, k.need);
    return k;
}

static struct relief_key site_key(const char *slug)
{
    struct relief_key k;
    memset(&k, 0, sizeof k);
    k.kind = RELIEF_OBJ_SITE;
    cr_assert_lt(strlen(slug), sizeof k.site);
    snprintf(k.site, sizeof k.site, "%s", slug);
    return k;
}

static int same_ref(const struct relief_ref *a, const struct relief_ref *b)
{
    return a->seq == b->seq && memcmp(a->author, b->author, AM_PK_LEN) == 0;
}

/* All n! orders of up to 6 entries give one dump; returns that dump's node view. */
static void check_all_orders(const struct tentry *es, size_t n)
{
    size_t perm[6], c[6] = {0}, i = 1;
    uint8_t *ref, *d;
    size_t rl, dl;
    struct tentry ord[6];
    struct tnode tn;

    cr_assert(n <= 6);
    for (size_t k = 0; k < n; k++)
        perm[k] = k;
    ingest_all(&tn, es, n);
    rl = tn_dump(&tn, &ref);
    tn_free(&tn);
    /* Heap's algorithm */
    while (i < n) {
        if (c[i] < i) {
            size_t t, j = i % 2 ? c[i] : 0;
            t = perm[j], perm[j] = perm[i], perm[i] = t;
            for (size_t k = 0; k < n; k++)
                ord[k] = es[perm[k]];
            ingest_all(&tn, ord, n);
            dl = tn_dump(&tn, &d);
            tn_free(&tn);
            cr_assert(dl == rl && memcmp(d, ref, rl) == 0, "an order of arrival changes the view");
            free(d);
            c[i]++;
            i = 1;
        } else {
            c[i++] = 0;
        }
    }
    free(ref);
}

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
}

TestSuite(relief, .init = setup);

/* ---- named scenarios ---- */

Test(relief, count_absorbs_what_it_saw_and_moves_elsewhere_add_on_top)
{
    struct tauthor clerk, medic;
    struct tentry es[6];
    struct tnode n;
    struct relief_cell_view v;
    struct relief_op op;

    author_init(&clerk, 0xa1);
    author_init(&medic, 0xb2);
    op = op_move("hub", "ors", 100, RELIEF_R_RECEIVED);
    es[0] = mk(&clerk, 100, &op);
    op = op_move("hub", "ors", 20, RELIEF_R_ISSUED);
    es[1] = mk(&clerk, 200, &op);
    /* the medic issues 5 at a tent while the clerk counts: the clerk has not seen it */
    op = op_move("hub", "ors", 5, RELIEF_R_ISSUED);
    es[2] = mk(&medic, 250, &op);
    /* the clerk counts 78 (2 went missing), having seen its own two moves */
    {
        const struct tentry *seen[] = {&es[0], &es[1]};
        op = op_count("hub", "ors", 78, seen, 2);
        es[3] = mk(&clerk, 300, &op);
    }
    /* later: the medic issues 4 more, the clerk issues 3 */
    op = op_move("hub", "ors", 4, RELIEF_R_ISSUED);
    es[4] = mk(&medic, 400, &op);
    op = op_move("hub", "ors", 3, RELIEF_R_ISSUED);
    es[5] = mk(&clerk, 500, &op);

    ingest_all(&n, es, 6);
    {
        struct relief_key k = cell_key("hub", "ors");
        cr_assert_eq(relief_cell_view(tn_find(&n, &k, 0), &v), AM_OK);
    }
    cr_assert_eq(v.value, 78 - 5 - 4 - 3, "the count replaces 100-20; moves it did not see add on");
    cr_assert(v.has_winner);
    cr_assert(same_ref(&v.winner.ref, &es[3].ref));
    cr_assert_not(v.count_conflict);
    cr_assert_not(v.overdrawn);
    cr_assert_eq(v.after, -12);
    cr_assert_eq(v.n_moves, 5);
    cr_assert_eq(v.n_counts, 1);
    /* the medic's 5, stamped before the count but not in its context, is flagged */
    cr_assert_eq(v.n_audit, 1);
    cr_assert_eq(v.n_audit_listed, 1);
    cr_assert(same_ref(&v.audit[0].ref, &es[2].ref));
    cr_assert_eq(v.audit[0].delta, -5);
    cr_assert_eq(v.audit[0].reason, RELIEF_R_ISSUED);
    tn_free(&n);

    /* before the count: plain sum */
    ingest_all(&n, es, 3);
    {
        struct relief_key k = cell_key("hub", "ors");
        cr_assert_eq(relief_cell_view(tn_find(&n, &k, 0), &v), AM_OK);
    }
    cr_assert_eq(v.value, 75);
    cr_assert_not(v.has_winner);
    tn_free(&n);
    check_all_orders(es, 6);
    free_entries(es, 6);
}

Test(relief, concurrent_counts_conflict_and_a_later_count_resolves)
{
    struct tauthor a, b, c;
    struct tentry es[5];
    struct tnode n;
    struct relief_cell_view v;
    struct relief_op op;
    struct relief_key k = cell_key("wh-1", "tarp");

    author_init(&a, 1);
    author_init(&b, 2);
    author_init(&c, 3);
    op = op_move("wh-1", "tarp", 50, RELIEF_R_RECEIVED);
    es[0] = mk(&a, 10, &op);
    {
        const struct tentry *seen[] = {&es[0]};
        op = op_count("wh-1", "tarp", 48, seen, 1);
        es[1] = mk(&a, 20, &op); /* a counts 48 */
        op = op_count("wh-1", "tarp", 47, seen, 1);
        es[2] = mk(&b, 21, &op); /* b, at the same time, counts 47 */
    }
    op = op_move("wh-1", "tarp", 2, RELIEF_R_ISSUED);
    es[3] = mk(&b, 30, &op); /* b issues 2 after its count */

    ingest_all(&n, es, 4);
    cr_assert_eq(relief_cell_view(tn_find(&n, &k, 0), &v), AM_OK);
    cr_assert(v.count_conflict, "two counts that did not see each other");
    cr_assert(same_ref(&v.winner.ref, &es[2].ref), "the later stamp is shown");
    cr_assert_eq(v.value, 47 - 2);
    cr_assert_eq(v.n_maximal, 1);
    cr_assert(same_ref(&v.maximal[0].ref, &es[1].ref));
    cr_assert_eq(v.maximal[0].q, 48);
    tn_free(&n);

    /* c has seen both counts and b's issue, and counts again: resolved */
    {
        const struct tentry *seen[] = {&es[0], &es[1], &es[2], &es[3]};
        op = op_count("wh-1", "tarp", 46, seen, 4);
        es[4] = mk(&c, 25, &op); /* even with an earlier stamp than b's move */
    }
    ingest_all(&n, es, 5);
    cr_assert_eq(relief_cell_view(tn_find(&n, &k, 0), &v), AM_OK);
    cr_assert_not(v.count_conflict);
    cr_assert(same_ref(&v.winner.ref, &es[4].ref));
    cr_assert_eq(v.value, 46, "b's issue is inside the resolving count");
    cr_assert_eq(v.n_maximal, 0);
    cr_assert_eq(v.n_audit, 0);
    tn_free(&n);
    check_all_orders(es, 5);
    free_entries(es, 5);
}

Test(relief, overdraft_is_flagged_never_clamped)
{
    struct tauthor hub, m1, m2;
    struct tentry es[3];
    struct tnode n;
    struct relief_cell_view v;
    struct relief_op op;
    struct relief_key k = cell_key("clinic-2", "amox-250");

    author_init(&hub, 9);
    author_init(&m1, 10);
    author_init(&m2, 11);
    op = op_move("clinic-2", "amox-250", 10, RELIEF_R_RECEIVED);
    es[0] = mk(&hub, 100, &op);
    /* two medics, offline, each issue the last 10 */
    op = op_move("clinic-2", "amox-250", 10, RELIEF_R_ISSUED);
    es[1] = mk(&m1, 200, &op);
    op = op_move("clinic-2", "amox-250", 10, RELIEF_R_ISSUED);
    es[2] = mk(&m2, 201, &op);

    /* each medic's device alone: 0, fine */
    {
        struct tentry one[2] = {es[0], es[1]};
        ingest_all(&n, one, 2);
        cr_assert_eq(relief_cell_view(tn_find(&n, &k, 0), &v), AM_OK);
        cr_assert_eq(v.value, 0);
        cr_assert_not(v.overdrawn);
        tn_free(&n);
    }
    ingest_all(&n, es, 3);
    cr_assert_eq(relief_cell_view(tn_find(&n, &k, 0), &v), AM_OK);
    cr_assert_eq(v.value, -10, "the negative value is kept as is");
    cr_assert(v.overdrawn);
    cr_assert_not(v.saturated);
    tn_free(&n);
    check_all_orders(es, 3);
    free_entries(es, 3);
}

Test(relief, clock_a_year_ahead_does_not_win_a_later_edit)
{
    const uint64_t now = (uint64_t)1740000000000ULL << 16;
    const uint64_t year = (365ULL * 24 * 3600 * 1000) << 16;
    struct tauthor fast, b, c;
    struct tentry es[3];
    struct tnode n;
    struct relief_reg r;
    struct relief_op op;
    struct relief_key k = site_key("shelter-3");

    author_init(&fast, 0xee); /* the greatest author id too: it would win every tie */
    author_init(&b, 0x01);
    author_init(&c, 0x02);
    op = op_site("shelter-3", "School gym", RELIEF_KIND_SHELTER, NULL, 0);
    es[0] = mk(&fast, now + year, &op);
    {
        /* b saw it and renames the shelter, with its correct clock */
        const struct tentry *sup[] = {&es[0]};
        op = op_site("shelter-3", "Town hall", 0, sup, 1);
        es[1] = mk(&b, now + 5, &op);
    }
    ingest_all(&n, es, 2);
    cr_assert_eq(relief_obj_reg(tn_find(&n, &k, 0), RELIEF_F_NAME, &r), AM_OK);
    cr_assert_eq(r.n_heads, 1);
    cr_assert_not(r.conflict);
    cr_assert_str_eq(r.heads[0].v.s, "Town hall", "the write that saw the other wins");
    cr_assert_eq(r.n_writes, 2);
    /* the kind written only by the fast device stays */
    cr_assert_eq(relief_obj_reg(tn_find(&n, &k, 0), RELIEF_F_KIND, &r), AM_OK);
    cr_assert_eq(r.heads[0].v.i, RELIEF_KIND_SHELTER);
    tn_free(&n);

    /* control: c renames without having seen the fast write: now it is a conflict, and
     * the clock breaks the tie for display only */
    op = op_site("shelter-3", "Market", 0, NULL, 0);
    es[2] = mk(&c, now + 6, &op);
    {
        struct tentry two[2] = {es[0], es[2]};
        ingest_all(&n, two, 2);
        cr_assert_eq(relief_obj_reg(tn_find(&n, &k, 0), RELIEF_F_NAME, &r), AM_OK);
        cr_assert(r.conflict);
        cr_assert_eq(r.n_heads, 2);
        cr_assert_str_eq(r.heads[0].v.s, "School gym");
        cr_assert_str_eq(r.heads[1].v.s, "Market");
        tn_free(&n);
    }
    check_all_orders(es, 3);
    free_entries(es, 3);
}

Test(relief, deliveries_from_two_teams_add_up_to_fulfilled)
{
    struct tauthor hq, t1, t2;
    struct tentry es[3];
    struct tnode n;
    struct relief_need_view v;
    struct relief_op op;
    struct relief_key k;

    author_init(&hq, 5);
    author_init(&t1, 6);
    author_init(&t2, 7);
    op = op_open("shelter-3", "water-5l", 200, RELIEF_PRI_CRITICAL);
    es[0] = mk(&hq, 10, &op);
    k = need_key(&es[0]);
    op = op_dlv(&es[0], 120);
    es[1] = mk(&t1, 20, &op);
    op = op_dlv(&es[0], 80);
    es[2] = mk(&t2, 21, &op);

    ingest_all(&n, es, 2);
    cr_assert_eq(relief_need_view(tn_find(&n, &k, 0), &v), AM_OK);
    cr_assert_eq(v.status, RELIEF_ST_OPEN);
    cr_assert_eq(v.delivered, 120);
    tn_free(&n);

    ingest_all(&n, es, 3);
    tn_ingest(&n, &es[1]); /* the same delivery again, as a resent entry */
    tn_ingest(&n, &es[2]);
    cr_assert_eq(relief_need_view(tn_find(&n, &k, 0), &v), AM_OK);
    cr_assert(v.opened);
    cr_assert_str_eq(v.site, "shelter-3");
    cr_assert_str_eq(v.item, "water-5l");
    cr_assert_eq(v.delivered, 200, "each delivery counts once");
    cr_assert_eq(v.n_deliveries, 2);
    cr_assert_eq(v.status, RELIEF_ST_FULFILLED);
    cr_assert(v.derived);
    tn_free(&n);

    /* deliveries that arrive before the need itself are kept */
    {
        struct tentry late[2] = {es[1], es[2]};
        ingest_all(&n, late, 2);
        cr_assert_eq(relief_need_view(tn_find(&n, &k, 0), &v), AM_OK);
        cr_assert_not(v.opened);
        cr_assert_eq(v.delivered, 200);
        cr_assert_eq(v.status, RELIEF_ST_OPEN, "no quantity known yet");
        tn_ingest(&n, &es[0]);
        cr_assert_eq(relief_need_view(tn_find(&n, &k, 0), &v), AM_OK);
        cr_assert_eq(v.status, RELIEF_ST_FULFILLED);
        tn_free(&n);
    }
    check_all_orders(es, 3);
    free_entries(es, 3);
}

Test(relief, cancelled_stays_cancelled)
{
    struct tauthor hq, team, ed;
    struct tentry es[5];
    struct tnode n;
    struct relief_need_view v;
    struct relief_reg r;
    struct relief_op op;
    struct relief_key k;

    author_init(&hq, 5);
    author_init(&team, 6);
    author_init(&ed, 7);
    op = op_open("shelter-3", "blanket", 10, RELIEF_PRI_HIGH);
    es[0] = mk(&hq, 10, &op);
    k = need_key(&es[0]);
    {
        const struct tentry *sup[] = {&es[0]};
        op = op_close(&es[0], RELIEF_ST_CANCELLED, sup, 1);
        es[1] = mk(&hq, 20, &op);
        /* concurrently, someone lowers the quantity (saw only the open) */
        op = op_upd_q(&es[0], 5, sup, 1);
        es[2] = mk(&ed, 30, &op);
    }
    /* a team that never heard of the cancellation delivers everything */
    op = op_dlv(&es[0], 10);
    es[3] = mk(&team, 40, &op);
    op = op_dlv(&es[0], 7);
    es[4] = mk(&team, 50, &op);

    ingest_all(&n, es, 5);
    cr_assert_eq(relief_need_view(tn_find(&n, &k, 0), &v), AM_OK);
    cr_assert_eq(v.status, RELIEF_ST_CANCELLED);
    cr_assert_not(v.derived);
    cr_assert_eq(v.delivered, 17, "deliveries are still recorded");
    cr_assert_eq(relief_obj_reg(tn_find(&n, &k, 0), RELIEF_F_ST, &r), AM_OK);
    cr_assert_not(r.conflict);
    cr_assert_eq(r.n_heads, 1);
    cr_assert(same_ref(&r.heads[0].ref, &es[1].ref));
    cr_assert_eq(relief_obj_reg(tn_find(&n, &k, 0), RELIEF_F_Q, &r), AM_OK);
    cr_assert_eq(r.heads[0].v.i, 5);
    tn_free(&n);
    check_all_orders(es, 5);
    free_entries(es, 5);
}

/* ---- registers ---- */

Test(relief, concurrent_defines_merge_field_by_field)
{
    struct tauthor a, b, c;
    struct tentry es[3];
    struct tnode n;
    struct relief_reg r;
    struct relief_op op;
    struct relief_key k = site_key("hub-n");
    struct relief_obj *o;

    author_init(&a, 1);
    author_init(&b, 2);
    author_init(&c, 3);
    op = op_site("hub-n", "Hub North", RELIEF_KIND_HUB, NULL, 0);
    es[0] = mk(&a, 100, &op);
    op = op_site("hub-n", "North hub", 0, NULL, 0);
    op.ll_set = 1, op.lat = 52500000, op.lon = 13400000, HAS(&op, LL);
    es[1] = mk(&b, 90, &op);
    ingest_all(&n, es, 2);
    o = tn_find(&n, &k, 0);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_NAME, &r), AM_OK);
    cr_assert(r.conflict);
    cr_assert_eq(r.n_heads, 2);
    cr_assert_str_eq(r.heads[0].v.s, "Hub North", "greater hlc shown first");
    cr_assert(same_ref(&r.heads[1].ref, &es[1].ref));
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_KIND, &r), AM_OK);
    cr_assert_not(r.conflict);
    cr_assert_eq(r.heads[0].v.i, RELIEF_KIND_HUB);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_LL, &r), AM_OK);
    cr_assert_not(r.conflict);
    cr_assert_eq(r.heads[0].v.i, 52500000);
    cr_assert_eq(r.heads[0].v.j, 13400000);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_UNIT, &r), AM_EINVAL, "not a field of a site");
    tn_free(&n);

    /* c saw both names: its write supersedes both; a write of name does not touch kind */
    {
        const struct tentry *sup[] = {&es[0], &es[1]};
        op = op_site("hub-n", "North Hub (school)", 0, sup, 2);
        es[2] = mk(&c, 95, &op);
    }
    ingest_all(&n, es, 3);
    o = tn_find(&n, &k, 0);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_NAME, &r), AM_OK);
    cr_assert_not(r.conflict);
    cr_assert_eq(r.n_heads, 1);
    cr_assert_str_eq(r.heads[0].v.s, "North Hub (school)");
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_KIND, &r), AM_OK);
    cr_assert_eq(r.n_heads, 1);
    cr_assert(same_ref(&r.heads[0].ref, &es[0].ref), "naming a ref supersedes only fields written");
    tn_free(&n);
    check_all_orders(es, 3);
    free_entries(es, 3);
}

Test(relief, concurrent_writes_of_one_value_agree)
{
    struct tauthor a, b;
    struct tentry es[2];
    struct tnode n;
    struct relief_reg r;
    struct relief_op op;
    struct relief_key k = site_key("riverside");
    struct relief_obj *o;

    /* two laptops add the same site alike before they first sync */
    author_init(&a, 1);
    author_init(&b, 2);
    op = op_site("riverside", "Riverside shelter", RELIEF_KIND_SHELTER, NULL, 0);
    es[0] = mk(&a, 100, &op);
    op = op_site("riverside", "Riverside shelter", RELIEF_KIND_SHELTER, NULL, 0);
    es[1] = mk(&b, 90, &op);
    ingest_all(&n, es, 2);
    o = tn_find(&n, &k, 0);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_NAME, &r), AM_OK);
    cr_assert_eq(r.n_heads, 2, "both writes stay heads");
    cr_assert_not(r.conflict, "but they hold one value: no conflict");
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_KIND, &r), AM_OK);
    cr_assert_not(r.conflict);
    tn_free(&n);
    check_all_orders(es, 2);
    free_entries(es, 2);

    /* the same two writes with names one letter apart do conflict */
    op = op_site("riverside", "Riverside shelter", RELIEF_KIND_SHELTER, NULL, 0);
    es[0] = mk(&a, 100, &op);
    op = op_site("riverside", "Riverside Shelter", RELIEF_KIND_SHELTER, NULL, 0);
    es[1] = mk(&b, 90, &op);
    ingest_all(&n, es, 2);
    cr_assert_eq(relief_obj_reg(tn_find(&n, &k, 0), RELIEF_F_NAME, &r), AM_OK);
    cr_assert(r.conflict);
    tn_free(&n);
    free_entries(es, 2);
}

Test(relief, an_author_supersedes_its_own_earlier_writes)
{
    struct tauthor a;
    struct tentry es[3];
    struct tnode n;
    struct relief_reg r;
    struct relief_op op;
    struct relief_key k = site_key("s");

    author_init(&a, 1);
    op = op_site("s", "one", 0, NULL, 0);
    es[0] = mk(&a, 500, &op); /* a clock that later went backwards */
    op = op_site("s", "two", 0, NULL, 0);
    es[1] = mk(&a, 100, &op);
    op = op_site("s", NULL, 0, NULL, 0);
    op.ll_set = 0, HAS(&op, LL); /* clears the location */
    es[2] = mk(&a, 101, &op);
    ingest_all(&n, es, 3);
    cr_assert_eq(relief_obj_reg(tn_find(&n, &k, 0), RELIEF_F_NAME, &r), AM_OK);
    cr_assert_not(r.conflict);
    cr_assert_str_eq(r.heads[0].v.s, "two", "a later seq of one author wins whatever its stamp");
    cr_assert_eq(relief_obj_reg(tn_find(&n, &k, 0), RELIEF_F_LL, &r), AM_OK);
    cr_assert_eq(r.n_heads, 1);
    cr_assert_eq(r.heads[0].v.set, 0);
    tn_free(&n);
    free_entries(es, 3);
}

/* A stand-in entry that only carries a ref, for refs a device could not have seen. */
static struct tentry ghost(const struct tauthor *a, uint64_t seq)
{
    struct tentry e;
    memset(&e, 0, sizeof e);
    memcpy(e.ref.author, a->pk, AM_PK_LEN);
    e.ref.seq = seq;
    return e;
}

Test(relief, a_ref_cycle_is_resolved_the_same_way_everywhere)
{
    /* only a misbehaving device names a write it cannot have seen; every node must still
     * show the same thing */
    struct tauthor a, b;
    struct tentry es[2], ga, gb;
    struct tnode n;
    struct relief_reg r;
    struct relief_op op;
    struct relief_key k = site_key("s");

    author_init(&a, 1);
    author_init(&b, 2);
    ga = ghost(&a, 1);
    gb = ghost(&b, 1);
    {
        const struct tentry *sup[] = {&gb};
        op = op_site("s", "x", 0, sup, 1);
        es[0] = mk(&a, 7, &op);
    }
    {
        const struct tentry *sup[] = {&ga};
        op = op_site("s", "y", 0, sup, 1);
        es[1] = mk(&b, 5, &op);
    }
    ingest_all(&n, es, 2);
    cr_assert_eq(relief_obj_reg(tn_find(&n, &k, 0), RELIEF_F_NAME, &r), AM_OK);
    cr_assert(r.conflict);
    cr_assert_eq(r.n_heads, 1);
    cr_assert_str_eq(r.heads[0].v.s, "x");
    tn_free(&n);
    check_all_orders(es, 2);
    free_entries(es, 2);
}

Test(relief, a_write_that_names_itself_is_not_superseded)
{
    struct tauthor a;
    struct tentry es[1], self;
    struct tnode n;
    struct relief_reg r;
    struct relief_op op;
    struct relief_key k = site_key("s");

    author_init(&a, 1);
    self = ghost(&a, 1);
    {
        const struct tentry *sup[] = {&self};
        op = op_site("s", "x", 0, sup, 1);
        es[0] = mk(&a, 7, &op);
    }
    ingest_all(&n, es, 1);
    cr_assert_eq(relief_obj_reg(tn_find(&n, &k, 0), RELIEF_F_NAME, &r), AM_OK);
    cr_assert_not(r.conflict);
    cr_assert_eq(r.n_heads, 1);
    tn_free(&n);
    free_entries(es, 1);
}

Test(relief, count_context_cycle_and_own_author)
{
    struct tauthor a, b;
    struct tentry es[3], ga, gb;
    struct tnode n;
    struct relief_cell_view v;
    struct relief_op op;
    struct relief_key k = cell_key("s", "i");

    author_init(&a, 1);
    author_init(&b, 2);
    ga = ghost(&a, 1);
    gb = ghost(&b, 1);
    {
        const struct tentry *seen[] = {&gb};
        op = op_count("s", "i", 10, seen, 1);
        es[0] = mk(&a, 3, &op);
    }
    {
        const struct tentry *seen[] = {&ga};
        op = op_count("s", "i", 20, seen, 1);
        es[1] = mk(&b, 2, &op);
    }
    op = op_move("s", "i", 1, RELIEF_R_FOUND);
    es[2] = mk(&b, 9, &op);
    ingest_all(&n, es, 3);
    cr_assert_eq(relief_cell_view(tn_find(&n, &k, 0), &v), AM_OK);
    cr_assert(v.count_conflict, "a cycle is flagged");
    cr_assert(same_ref(&v.winner.ref, &es[0].ref), "greatest stamp among all counts");
    cr_assert_eq(v.value, 11);
    tn_free(&n);
    check_all_orders(es, 3);
    free_entries(es, 3);

    /* a count whose context claims a future of its own author: ignored for that author */
    author_init(&a, 1);
    {
        struct tentry own = ghost(&a, 100);
        const struct tentry *seen[] = {&own};
        op = op_count("s", "i", 50, seen, 1);
        es[0] = mk(&a, 1, &op);
    }
    op = op_move("s", "i", 5, RELIEF_R_ISSUED);
    es[1] = mk(&a, 2, &op);
    ingest_all(&n, es, 2);
    cr_assert_eq(relief_cell_view(tn_find(&n, &k, 0), &v), AM_OK);
    cr_assert_eq(v.value, 45, "the author's later move is not inside its own count");
    cr_assert_not(v.count_conflict);
    tn_free(&n);
    free_entries(es, 2);
}

Test(relief, duplicates_forks_and_foreign_ops)
{
    struct tauthor a, b;
    struct tentry e1, other, open, fork;
    struct relief_op op, d1;
    struct relief_key k = cell_key("s", "i");
    struct relief_obj *o = relief_obj_new(&k), *need;
    struct relief_cell_view v;
    char err[RELIEF_ERR_MAX];
    uint8_t before[512], after[512];
    size_t bl, al;

    cr_assert(o);
    author_init(&a, 1);
    author_init(&b, 2);
    op = op_move("s", "i", 4, RELIEF_R_RECEIVED);
    e1 = mk(&a, 10, &op);
    cr_assert_eq(relief_op_decode(e1.op, e1.op_len, &d1, err, sizeof err), AM_OK);
    cr_assert_eq(relief_obj_apply(o, &d1, &e1.ref, e1.hlc, NULL), AM_OK);
    cr_assert_eq(relief_obj_apply(o, &d1, &e1.ref, e1.hlc, NULL), AM_OK);
    cr_assert_eq(relief_obj_nops(o), 1);
    cr_assert_eq(relief_obj_dump(o, before, sizeof before, &bl), AM_OK);

    /* same ref, other content: refused, nothing changes */
    {
        struct relief_op f = op_move("s", "i", 5, RELIEF_R_RECEIVED), df;
        struct tauthor again = a;
        again.seq = 0;
        fork = mk(&again, 10, &f);
        cr_assert_eq(relief_op_decode(fork.op, fork.op_len, &df, err, sizeof err), AM_OK);
        cr_assert_eq(relief_obj_apply(o, &df, &fork.ref, fork.hlc, NULL), AM_EFORK);
        /* same content but another stamp: also another entry */
        cr_assert_eq(relief_obj_apply(o, &d1, &e1.ref, e1.hlc + 1, NULL), AM_EFORK);
        free(fork.op);
    }
    /* an op of another cell */
    op = op_move("s", "j", 4, RELIEF_R_RECEIVED);
    other = mk(&b, 11, &op);
    cr_assert_eq(relief_op_decode(other.op, other.op_len, &op, err, sizeof err), AM_OK);
    cr_assert_eq(relief_obj_apply(o, &op, &other.ref, other.hlc, NULL), AM_EINVAL);
    /* seq 0 */
    {
        struct relief_ref z = e1.ref;
        z.seq = 0;
        cr_assert_eq(relief_obj_apply(o, &d1, &z, 1, NULL), AM_EINVAL);
    }
    cr_assert_eq(relief_obj_nops(o), 1);
    cr_assert_eq(relief_obj_dump(o, after, sizeof after, &al), AM_OK);
    cr_assert(al == bl && memcmp(before, after, bl) == 0);
    cr_assert_eq(relief_cell_view(o, &v), AM_OK);
    cr_assert_eq(v.value, 4);
    {
        struct relief_reg r;
        struct relief_need_view nv;
        cr_assert_eq(relief_obj_reg(o, RELIEF_F_NAME, &r), AM_EINVAL);
        cr_assert_eq(relief_need_view(o, &nv), AM_EINVAL);
    }

    /* need.open: the hash must be the one the need's id came from */
    op = op_open("s", "i", 3, RELIEF_PRI_LOW);
    open = mk(&a, 12, &op);
    {
        struct relief_key nk = need_key(&open);
        struct relief_op dop;
        uint8_t wrong[AM_HASH_LEN];
        need = relief_obj_new(&nk);
        cr_assert(need);
        cr_assert_eq(relief_op_decode(open.op, open.op_len, &dop, err, sizeof err), AM_OK);
        cr_assert_eq(relief_obj_apply(need, &dop, &open.ref, open.hlc, NULL), AM_EINVAL);
        memcpy(wrong, open.hash, sizeof wrong);
        wrong[3] ^= 1;
        cr_assert_eq(relief_obj_apply(need, &dop, &open.ref, open.hlc, wrong), AM_EINVAL);
        cr_assert_eq(relief_obj_apply(need, &dop, &open.ref, open.hlc, open.hash), AM_OK);
        cr_assert_eq(relief_obj_apply(need, &dop, &open.ref, open.hlc, open.hash), AM_OK);
        cr_assert_eq(relief_obj_nops(need), 1);
        /* a cell op is not for a need */
        cr_assert_eq(relief_obj_apply(need, &d1, &e1.ref, e1.hlc, NULL), AM_EINVAL);
    }
    cr_assert_null(relief_obj_new(&(struct relief_key){.kind = 'x'}));
    cr_assert_null(relief_obj_new(&(struct relief_key){.kind = RELIEF_OBJ_SITE}));
    relief_obj_free(need);
    relief_obj_free(o);
    relief_obj_free(NULL);
    free(e1.op);
    free(other.op);
    free(open.op);
}

Test(relief, audit_list_keeps_the_latest_moves_before_the_count)
{
    struct tauthor clerk, far;
    struct tentry es[44];
    struct tnode n;
    struct relief_cell_view v;
    struct relief_op op;
    struct relief_key k = cell_key("s", "i");
    uint64_t seed = tu_seed("relief.audit_list"), st = seed;

    author_init(&clerk, 1);
    author_init(&far, 2);
    op = op_count("s", "i", 100, NULL, 0);
    es[0] = mk(&clerk, 1000, &op);
    for (int i = 1; i <= 40; i++) {
        op = op_move("s", "i", i, RELIEF_R_ISSUED);
        es[i] = mk(&far, (uint64_t)(i * 10), &op); /* all before the count */
    }
    for (int i = 41; i < 44; i++) {
        op = op_move("s", "i", 1, RELIEF_R_FOUND);
        es[i] = mk(&far, (uint64_t)(2000 + i), &op); /* after it */
    }
    ingest_all(&n, es, 44);
    cr_assert_eq(relief_cell_view(tn_find(&n, &k, 0), &v), AM_OK);
    cr_assert_eq(v.n_audit, 40);
    cr_assert_eq(v.n_audit_listed, RELIEF_AUDIT_MAX);
    for (uint32_t i = 0; i < v.n_audit_listed; i++) {
        cr_assert_eq(v.audit[i].hlc, (uint64_t)(9 + i) * 10, "ascending, the latest 32");
        cr_assert_eq(v.audit[i].delta, -(int64_t)(9 + i));
    }
    cr_assert_eq(v.value, 100 - 40 * 41 / 2 + 3);
    {
        uint8_t *ref, *d;
        size_t rl = tn_dump(&n, &ref), dl;
        tn_free(&n);
        for (int round = 0; round < 20; round++) {
            struct tentry sh[44];
            memcpy(sh, es, sizeof sh);
            for (int i = 43; i > 0; i--) {
                int j = (int)(tu_rand(&st) % (uint64_t)(i + 1));
                struct tentry t = sh[i];
                sh[i] = sh[j], sh[j] = t;
            }
            ingest_all(&n, sh, 44);
            dl = tn_dump(&n, &d);
            cr_assert(dl == rl && memcmp(d, ref, rl) == 0, "seed %llu", (unsigned long long)seed);
            free(d);
            tn_free(&n);
        }
        free(ref);
    }
    free_entries(es, 44);
}

Test(relief, sums_saturate_the_same_way_in_every_order)
{
    struct tauthor a;
    struct relief_key k = cell_key("s", "i");
    struct relief_obj *o1 = relief_obj_new(&k), *o2 = relief_obj_new(&k);
    struct tentry *es = calloc(1104, sizeof *es);
    struct relief_cell_view v;
    struct relief_op op;
    char err[RELIEF_ERR_MAX];
    uint8_t d1[1024], d2[1024];
    size_t l1, l2;

    cr_assert(o1 && o2 && es);
    author_init(&a, 1);
    for (int i = 0; i < 1104; i++) {
        op = op_move("s", "i", RELIEF_QTY_MAX, i < 1100 ? RELIEF_R_RECEIVED : RELIEF_R_LOST);
        es[i] = mk(&a, (uint64_t)i, &op);
    }
    for (int i = 0; i < 1104; i++) {
        cr_assert_eq(relief_op_decode(es[i].op, es[i].op_len, &op, err, sizeof err), AM_OK);
        cr_assert_eq(relief_obj_apply(o1, &op, &es[i].ref, es[i].hlc, NULL), AM_OK);
        cr_assert_eq(relief_op_decode(es[1103 - i].op, es[1103 - i].op_len, &op, err, sizeof err),
                     AM_OK);
        cr_assert_eq(relief_obj_apply(o2, &op, &es[1103 - i].ref, es[1103 - i].hlc, NULL), AM_OK);
    }
    cr_assert_eq(relief_cell_view(o1, &v), AM_OK);
    cr_assert(v.saturated);
    cr_assert_eq(v.value, INT64_MAX - 4 * RELIEF_QTY_MAX);
    cr_assert_eq(relief_obj_dump(o1, d1, sizeof d1, &l1), AM_OK);
    cr_assert_eq(relief_obj_dump(o2, d2, sizeof d2, &l2), AM_OK);
    cr_assert(l1 == l2 && memcmp(d1, d2, l1) == 0);
    relief_obj_free(o1);
    relief_obj_free(o2);

    /* delivered: saturates too */
    {
        struct tauthor b;
        struct tentry open;
        struct relief_key nk;
        struct relief_obj *need;
        struct relief_need_view nv;
        author_init(&b, 2);
        op = op_open("s", "i", RELIEF_QTY_MAX, RELIEF_PRI_LOW);
        open = mk(&b, 1, &op);
        nk = need_key(&open);
        need = relief_obj_new(&nk);
        cr_assert(need);
        cr_assert_eq(relief_op_decode(open.op, open.op_len, &op, err, sizeof err), AM_OK);
        cr_assert_eq(relief_obj_apply(need, &op, &open.ref, open.hlc, open.hash), AM_OK);
        for (int i = 0; i < 1100; i++) {
            struct tentry e;
            op = op_dlv(&open, RELIEF_QTY_MAX);
            e = mk(&b, 2, &op);
            cr_assert_eq(relief_op_decode(e.op, e.op_len, &op, err, sizeof err), AM_OK);
            cr_assert_eq(relief_obj_apply(need, &op, &e.ref, e.hlc, NULL), AM_OK);
            free(e.op);
        }
        cr_assert_eq(relief_need_view(need, &nv), AM_OK);
        cr_assert(nv.saturated);
        cr_assert_eq(nv.delivered, INT64_MAX);
        cr_assert_eq(nv.status, RELIEF_ST_FULFILLED);
        relief_obj_free(need);
        free(open.op);
    }
    free_entries(es, 1104);
    free(es);
}

Test(relief, need_registers)
{
    struct tauthor a, b, c;
    struct tentry es[5];
    struct tnode n;
    struct relief_reg r;
    struct relief_need_view v;
    struct relief_op op;
    struct relief_key k;
    struct relief_obj *o;

    author_init(&a, 1);
    author_init(&b, 2);
    author_init(&c, 3);
    op = op_open("hub", "rice-kg", 10, RELIEF_PRI_NORMAL);
    op.by = 20100, HAS(&op, BY);
    op.note = S("for the kitchen"), HAS(&op, NOTE);
    es[0] = mk(&a, 1, &op);
    k = need_key(&es[0]);
    {
        const struct tentry *sup[] = {&es[0]};
        op = op_need(RELIEF_T_NEED_UPD, &es[0]);
        op.pri = RELIEF_PRI_CRITICAL, HAS(&op, PRI);
        op.sup = refs_of(sup, 1, 0), HAS(&op, SUP);
        es[1] = mk(&b, 5, &op);
        op = op_need(RELIEF_T_NEED_UPD, &es[0]);
        op.pri = RELIEF_PRI_HIGH, HAS(&op, PRI);
        op.by = 0, HAS(&op, BY); /* clears the date */
        op.sup = refs_of(sup, 1, 0), HAS(&op, SUP);
        es[2] = mk(&c, 4, &op);
    }
    ingest_all(&n, es, 3);
    o = tn_find(&n, &k, 0);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_PRI, &r), AM_OK);
    cr_assert(r.conflict);
    cr_assert_eq(r.heads[0].v.i, RELIEF_PRI_CRITICAL);
    cr_assert_eq(r.heads[1].v.i, RELIEF_PRI_HIGH);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_BY, &r), AM_OK);
    cr_assert_not(r.conflict);
    cr_assert_eq(r.heads[0].v.set, 0);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_NOTE, &r), AM_OK);
    cr_assert_str_eq(r.heads[0].v.s, "for the kitchen");
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_NAME, &r), AM_EINVAL);
    tn_free(&n);

    /* the writer names both heads; a close with a note writes the note as well */
    {
        const struct tentry *sup[] = {&es[0], &es[1], &es[2]};
        op = op_need(RELIEF_T_NEED_UPD, &es[0]);
        op.pri = RELIEF_PRI_HIGH, HAS(&op, PRI);
        op.sup = refs_of(sup, 3, 0), HAS(&op, SUP);
        es[3] = mk(&a, 6, &op);
        op = op_close(&es[0], RELIEF_ST_FULFILLED, sup, 3);
        op.note = S("done by the kitchen itself"), HAS(&op, NOTE);
        es[4] = mk(&b, 7, &op);
    }
    ingest_all(&n, es, 5);
    o = tn_find(&n, &k, 0);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_PRI, &r), AM_OK);
    cr_assert_not(r.conflict);
    cr_assert_eq(r.heads[0].v.i, RELIEF_PRI_HIGH);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_NOTE, &r), AM_OK);
    cr_assert_str_eq(r.heads[0].v.s, "done by the kitchen itself");
    cr_assert_eq(relief_need_view(o, &v), AM_OK);
    cr_assert_eq(v.status, RELIEF_ST_FULFILLED, "closed as fulfilled with nothing delivered");
    cr_assert_not(v.derived);
    cr_assert_eq(v.delivered, 0);
    tn_free(&n);
    check_all_orders(es, 5);
    free_entries(es, 5);
}

Test(relief, the_node_ignores_invalid_and_newer_ops)
{
    struct tauthor a;
    struct tentry es[3];
    struct tnode n;
    /* {"t": "stock.move", "site": "s", "item": "i", "q": -3, "r": "issued"} */
    static const uint8_t neg[] = {0x85, 0xa1, 't', 0xaa, 's',  't', 'o',  'c', 'k',  '.',
                                  'm',  'o',  'v', 'e',  0xa4, 's', 'i',  't', 'e',  0xa1,
                                  's',  0xa4, 'i', 't',  'e',  'm', 0xa1, 'i', 0xa1, 'q',
                                  0xfd, 0xa1, 'r', 0xa6, 'i',  's', 's',  'u', 'e',  'd'};
    /* {"t": "stock.transfer", "x": 1} */
    static const uint8_t newer[] = {0x82, 0xa1, 't', 0xae, 's', 't', 'o', 'c',  'k', '.', 't',
                                    'r',  'a',  'n', 's',  'f', 'e', 'r', 0xa1, 'x', 0x01};
    struct relief_op op;

    author_init(&a, 1);
    es[0] = mk_raw(&a, 1, neg, sizeof neg);
    es[1] = mk_raw(&a, 2, newer, sizeof newer);
    op = op_move("s", "i", 3, RELIEF_R_ISSUED);
    es[2] = mk(&a, 3, &op);
    ingest_all(&n, es, 3);
    cr_assert_eq(n.invalid, 1);
    cr_assert_eq(n.newer, 1);
    cr_assert_eq(n.applied, 1);
    cr_assert_eq(n.n, 1);
    tn_free(&n);
    free_entries(es, 3);
}

Test(relief, dump_reports_the_size_it_needs)
{
    struct relief_key k = site_key("s");
    struct relief_obj *o = relief_obj_new(&k);
    struct tauthor a;
    struct tentry e;
    struct relief_op op;
    char err[RELIEF_ERR_MAX];
    uint8_t small[8], *big;
    size_t need, len;

    cr_assert(o);
    cr_assert_eq(relief_obj_dump(o, small, sizeof small, &need), AM_ELIMIT);
    big = malloc(need);
    cr_assert(big);
    cr_assert_eq(relief_obj_dump(o, big, need, &len), AM_OK);
    cr_assert_eq(len, need);
    free(big);
    author_init(&a, 1);
    op = op_site("s", "A name long enough to need some room", RELIEF_KIND_KIT, NULL, 0);
    e = mk(&a, 1, &op);
    cr_assert_eq(relief_op_decode(e.op, e.op_len, &op, err, sizeof err), AM_OK);
    cr_assert_eq(relief_obj_apply(o, &op, &e.ref, e.hlc, NULL), AM_OK);
    cr_assert_eq(relief_obj_dump(o, small, sizeof small, &need), AM_ELIMIT);
    cr_assert(need > 100);
    big = malloc(need);
    cr_assert(big);
    cr_assert_eq(relief_obj_dump(o, big, need, &len), AM_OK);
    cr_assert_eq(len, need);
    /* pinned start: {"k": "site", "slug": "s", "name": {"cf": false, "n": 1, "h": [[ref, 1,
     * "A..."]]} */
    cr_assert_eq(memcmp(big,
                        "\x85\xa1k\xa4site\xa4slug\xa1s\xa4name\x83\xa2"
                        "cf\xc2\xa1n\x01\xa1h\x91\x93\xc4\x28",
                        34),
                 0);
    free(big);
    free(e.op);
    relief_obj_free(o);
}

Test(relief, ten_thousand_moves_and_a_count)
{
    struct tauthor a, b;
    struct relief_key k = cell_key("wh", "ors");
    struct relief_obj *o = relief_obj_new(&k);
    struct relief_cell_view v;
    struct relief_op op;
    char err[RELIEF_ERR_MAX];
    struct tentry cnt;
    int64_t expect = 0;

    cr_assert(o);
    author_init(&a, 1);
    author_init(&b, 2);
    for (int i = 0; i < 10000; i++) {
        struct tentry e;
        struct tauthor *w = i % 3 ? &a : &b;
        int64_t q = 1 + i % 7;
        op = op_move("wh", "ors", q, i % 2 ? RELIEF_R_ISSUED : RELIEF_R_RECEIVED);
        e = mk(w, (uint64_t)i, &op);
        if (w == &b && e.ref.seq > 1000)
            expect += i % 2 ? -q : q; /* b's moves after seq 1000 are outside the count */
        cr_assert_eq(relief_op_decode(e.op, e.op_len, &op, err, sizeof err), AM_OK);
        cr_assert_eq(relief_obj_apply(o, &op, &e.ref, e.hlc, NULL), AM_OK);
        cr_assert_eq(relief_obj_apply(o, &op, &e.ref, e.hlc, NULL), AM_OK);
        free(e.op);
    }
    {
        struct tentry gb = ghost(&b, 1000);
        const struct tentry *seen[] = {&gb};
        op = op_count("wh", "ors", 5000, seen, 1);
        cnt = mk(&a, 20000, &op);
        cr_assert_eq(relief_op_decode(cnt.op, cnt.op_len, &op, err, sizeof err), AM_OK);
        cr_assert_eq(relief_obj_apply(o, &op, &cnt.ref, cnt.hlc, NULL), AM_OK);
    }
    cr_assert_eq(relief_obj_nops(o), 10001);
    cr_assert_eq(relief_cell_view(o, &v), AM_OK);
    cr_assert_eq(v.value, 5000 + expect);
    cr_assert_eq(v.n_moves, 10000);
    cr_assert_eq(v.n_audit, 10000 / 3 + 1 - 1000,
                 "b's moves outside the count, all stamped before");
    free(cnt.op);
    relief_obj_free(o);
}

/* ---- property tests: random multi-author histories ---- */

#define P_AUTHORS 5

/* What a generated entry is, for the generator's own "what has this device seen". */
struct pmeta {
    uint8_t key[RELIEF_KEY_MAX];
    size_t klen;
    int type; /* 0: not a valid op */
};

struct phist {
    struct tauthor au[P_AUTHORS];
    struct tentry *es[P_AUTHORS];
    struct pmeta *meta[P_AUTHORS];
    size_t n[P_AUTHORS], cap[P_AUTHORS];
    uint64_t seen[P_AUTHORS][P_AUTHORS]; /* seen[a][b]: how many of b's entries a has */
    uint64_t clock[P_AUTHORS];
    size_t total;
};

static const char *const p_sites[] = {"s1", "s2", "s3"};
static const char *const p_items[] = {"i1", "i2"};
static const char *const p_names[] = {"Alpha", "Beta", "Gamma", "Delta", "école"};

static uint64_t rnd(uint64_t *st, uint64_t n)
{
    return tu_rand(st) % n;
}

static void p_push(struct phist *h, int a, struct tentry e)
{
    struct relief_op op;
    struct relief_key k;
    struct pmeta m;

    memset(&m, 0, sizeof m);
    if (relief_op_decode(e.op, e.op_len, &op, NULL, 0) == AM_OK &&
        relief_op_key(&op, e.hash, &k) == AM_OK) {
        cr_assert_eq(relief_key_encode(&k, m.key, &m.klen), AM_OK);
        m.type = op.type;
    }
    if (h->n[a] == h->cap[a]) {
        h->cap[a] = h->cap[a] ? 2 * h->cap[a] : 64;
        h->es[a] = realloc(h->es[a], h->cap[a] * sizeof *h->es[a]);
        h->meta[a] = realloc(h->meta[a], h->cap[a] * sizeof *h->meta[a]);
        cr_assert(h->es[a] && h->meta[a]);
    }
    h->es[a][h->n[a]] = e;
    h->meta[a][h->n[a]] = m;
    h->n[a]++;
    h->seen[a][a] = h->n[a];
    h->total++;
}

static int is_write(int type)
{
    return type == RELIEF_T_SITE || type == RELIEF_T_ITEM || type == RELIEF_T_NEED_OPEN ||
           type == RELIEF_T_NEED_UPD || type == RELIEF_T_NEED_CLOSE;
}

/* Entries author a has seen that are writes to the object with key kb (all of them, or a
 * random subset when `all` is 0). */
static uint32_t p_seen_writes(struct phist *h, int a, const uint8_t *kb, size_t kl,
                              const struct tentry **out, int all, uint64_t *st)
{
    uint32_t n = 0;
    for (int b = 0; b < P_AUTHORS; b++)
        for (uint64_t i = 0; i < h->seen[a][b] && n < RELIEF_REFS_MAX; i++) {
            const struct pmeta *m = &h->meta[b][i];
            if (is_write(m->type) && m->klen == kl && memcmp(m->key, kb, kl) == 0 &&
                (all || rnd(st, 2)))
                out[n++] = &h->es[b][i];
        }
    return n;
}

/* A need.open author a has seen, or NULL. */
static const struct tentry *p_seen_need(struct phist *h, int a, uint64_t *st)
{
    const struct tentry *c[64];
    int n = 0;
    for (int b = 0; b < P_AUTHORS; b++)
        for (uint64_t i = 0; i < h->seen[a][b]; i++)
            if (h->meta[b][i].type == RELIEF_T_NEED_OPEN && n < 64)
                c[n++] = &h->es[b][i];
    return n ? c[rnd(st, (uint64_t)n)] : NULL;
}

static void p_key_of(struct relief_op *op, const uint8_t *hash, uint8_t *kb, size_t *kl)
{
    struct relief_key k;
    cr_assert_eq(relief_op_key(op, hash, &k), AM_OK);
    cr_assert_eq(relief_key_encode(&k, kb, kl), AM_OK);
}

static void p_sup(struct phist *h, int a, struct relief_op *op, const uint8_t *hash, uint64_t *st)
{
    const struct tentry *w[RELIEF_REFS_MAX];
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl;
    uint32_t n;
    p_key_of(op, hash, kb, &kl);
    /* mostly what the CLI does (every write it has seen); sometimes a partial view */
    n = p_seen_writes(h, a, kb, kl, w, rnd(st, 10) < 7, st);
    if (n) {
        op->sup = refs_of(w, n, 0);
        HAS(op, SUP);
    }
}

static void p_step(struct phist *h, uint64_t *st)
{
    int a = (int)rnd(st, P_AUTHORS);
    unsigned r = (unsigned)rnd(st, 100);
    struct relief_op op;
    const struct tentry *need;
    uint64_t hlc;
    static const uint8_t newer[] = {0x82, 0xa1, 't', 0xa9, 'n', 'e',  'e', 'd',
                                    '.',  'm',  'o', 'v',  'e', 0xa1, 'x', 0x01};
    static const uint8_t bad[] = {0x83, 0xa1, 't', 0xa4, 's',  'i', 't', 'e', 0xa4, 's', 'l', 'u',
                                  'g',  0xa2, 's', '1',  0xa5, 'c', 'o', 'l', 'o',  'r', 0x01};

    /* gossip: a learns everything b has seen (prefix-closed per author) */
    if (rnd(st, 100) < 25) {
        int b = (int)rnd(st, P_AUTHORS);
        for (int x = 0; x < P_AUTHORS; x++)
            if (h->seen[b][x] > h->seen[a][x])
                h->seen[a][x] = h->seen[b][x];
    }
    /* small clock steps so stamps often tie across authors; author 4 runs a year ahead */
    h->clock[a] += 1 + rnd(st, 3);
    hlc = h->clock[a] + (a == 4 ? 1000000 : 0);

    memset(&op, 0, sizeof op);
    if (r < 10) {
        op = op_site(p_sites[rnd(st, 3)], NULL, 0, NULL, 0);
        do {
            if (rnd(st, 2))
                op.name = S(p_names[rnd(st, 5)]), HAS(&op, NAME);
            if (rnd(st, 2))
                op.kind = 1 + (int)rnd(st, 5), HAS(&op, KIND);
            if (rnd(st, 3) == 0) {
                op.ll_set = (int)rnd(st, 4) != 0;
                op.lat = (int32_t)rnd(st, 1000), op.lon = -(int32_t)rnd(st, 1000);
                HAS(&op, LL);
            }
        } while (!(op.has & (RELIEF_HAS(RELIEF_K_NAME) | RELIEF_HAS(RELIEF_K_KIND) |
                             RELIEF_HAS(RELIEF_K_LL))));
        p_sup(h, a, &op, NULL, st);
    } else if (r < 16) {
        memset(&op, 0, sizeof op);
        op.type = RELIEF_T_ITEM;
        op.item = S(p_items[rnd(st, 2)]), HAS(&op, CODE);
        op.name = S(p_names[rnd(st, 5)]), HAS(&op, NAME);
        if (rnd(st, 2))
            op.unit = S(rnd(st, 2) ? "sachet" : "box"), HAS(&op, UNIT);
        if (rnd(st, 2))
            op.cat = S(rnd(st, 2) ? "health" : "wash"), HAS(&op, CAT);
        p_sup(h, a, &op, NULL, st);
    } else if (r < 24) {
        op = op_open(p_sites[rnd(st, 3)], p_items[rnd(st, 2)], 1 + (int64_t)rnd(st, 40),
                     1 + (int)rnd(st, 4));
        if (rnd(st, 2))
            op.note = S("n"), HAS(&op, NOTE);
        if (rnd(st, 2))
            op.by = 20000 + (uint32_t)rnd(st, 30), HAS(&op, BY);
    } else if (r < 50 && (need = p_seen_need(h, a, st)) != NULL) {
        unsigned s = (unsigned)rnd(st, 10);
        if (s < 4) {
            op = op_dlv(need, 1 + (int64_t)rnd(st, 15));
        } else if (s < 7) {
            op = op_need(RELIEF_T_NEED_UPD, need);
            do {
                if (rnd(st, 2))
                    op.q = 1 + (int64_t)rnd(st, 40), HAS(&op, Q);
                if (rnd(st, 2))
                    op.pri = 1 + (int)rnd(st, 4), HAS(&op, PRI);
                if (rnd(st, 3) == 0)
                    op.note = S(rnd(st, 2) ? "" : "later"), HAS(&op, NOTE);
                if (rnd(st, 3) == 0)
                    op.by = rnd(st, 2) ? 0 : 20040, HAS(&op, BY);
            } while (!(op.has & (RELIEF_HAS(RELIEF_K_Q) | RELIEF_HAS(RELIEF_K_PRI) |
                                 RELIEF_HAS(RELIEF_K_NOTE) | RELIEF_HAS(RELIEF_K_BY))));
            p_sup(h, a, &op, NULL, st);
        } else {
            op = op_close(need, rnd(st, 2) ? RELIEF_ST_FULFILLED : RELIEF_ST_CANCELLED, NULL, 0);
            if (rnd(st, 2))
                op.note = S("closed"), HAS(&op, NOTE);
            p_sup(h, a, &op, NULL, st);
        }
    } else if (r < 94) {
        const char *site = p_sites[rnd(st, 2)], *item = p_items[rnd(st, 2)];
        int lot = (int)rnd(st, 2);
        if (r < 80) {
            op = op_move(site, item, 1 + (int64_t)rnd(st, 30), 1 + (int)rnd(st, 8));
        } else {
            /* a count with the device's context: every author it has seen anything of,
             * or only those that touched this cell */
            struct tentry marks[P_AUTHORS];
            const struct tentry *seen[P_AUTHORS];
            uint32_t ns = 0;
            int only_cell = (int)rnd(st, 2);
            uint8_t kb[RELIEF_KEY_MAX];
            size_t kl;
            op = op_count(site, item, (int64_t)rnd(st, 120), NULL, 0);
            if (lot)
                op.lot = S("L1"), HAS(&op, LOT);
            p_key_of(&op, NULL, kb, &kl);
            for (int b = 0; b < P_AUTHORS; b++) {
                uint64_t top = h->seen[a][b];
                if (only_cell) {
                    while (top > 0 && !(h->meta[b][top - 1].klen == kl &&
                                        memcmp(h->meta[b][top - 1].key, kb, kl) == 0))
                        top--;
                }
                if (top) {
                    marks[ns] = ghost(&h->au[b], top);
                    seen[ns] = &marks[ns];
                    ns++;
                }
            }
            op.ctx = refs_of(seen, ns, 1);
        }
        if (lot && !(op.has & RELIEF_HAS(RELIEF_K_LOT)))
            op.lot = S("L1"), HAS(&op, LOT);
    } else if (r < 97) {
        p_push(h, a, mk_raw(&h->au[a], hlc, bad, sizeof bad));
        return;
    } else {
        p_push(h, a, mk_raw(&h->au[a], hlc, newer, sizeof newer));
        return;
    }
    if (!op.type) /* no need seen yet: a move instead */
        op = op_move(p_sites[0], p_items[0], 1 + (int64_t)rnd(st, 9), 1 + (int)rnd(st, 8));
    p_push(h, a, mk(&h->au[a], hlc, &op));
}

static void p_gen(struct phist *h, size_t steps, uint64_t *st)
{
    memset(h, 0, sizeof *h);
    for (int a = 0; a < P_AUTHORS; a++) {
        author_init(&h->au[a], 0);
        for (int i = 0; i < AM_PK_LEN; i++)
            h->au[a].pk[i] = (uint8_t)tu_rand(st);
    }
    while (h->total < steps)
        p_step(h, st);
}

static void p_free(struct phist *h)
{
    for (int a = 0; a < P_AUTHORS; a++) {
        free_entries(h->es[a], h->n[a]);
        free(h->es[a]);
        free(h->meta[a]);
    }
}

/* One arrival order: each author's entries in seq order, authors interleaved at random,
 * and about one in ten deliveries a repeat of an entry delivered before. */
static size_t p_order(const struct phist *h, const struct tentry **out, size_t cap, uint64_t *st)
{
    size_t pos[P_AUTHORS] = {0}, n = 0;
    for (;;) {
        int left = 0, a;
        for (int b = 0; b < P_AUTHORS; b++)
            left += pos[b] < h->n[b];
        if (!left)
            break;
        if (n > 0 && n < cap && rnd(st, 10) == 0) {
            out[n] = out[rnd(st, n)];
            n++;
            continue;
        }
        do
            a = (int)rnd(st, P_AUTHORS);
        while (pos[a] >= h->n[a]);
        cr_assert(n < cap);
        out[n++] = &h->es[a][pos[a]++];
    }
    return n;
}

/* Feature counts over a node's views, so a run that exercised nothing fails. */
struct pstats {
    unsigned reg_conflicts, count_conflicts, overdrawn, audits, derived, cancelled, fulfilled,
        invalid, newer, orphan_needs;
};

static void p_stats(struct tnode *n, struct pstats *s)
{
    s->invalid += n->invalid;
    s->newer += n->newer;
    for (size_t i = 0; i < n->n; i++) {
        struct relief_obj *o = n->objs[i].o;
        const struct relief_key *k = relief_obj_key(o);
        if (k->kind == RELIEF_OBJ_CELL) {
            struct relief_cell_view v;
            cr_assert_eq(relief_cell_view(o, &v), AM_OK);
            s->count_conflicts += v.count_conflict;
            s->overdrawn += v.overdrawn;
            s->audits += v.n_audit > 0;
            continue;
        }
        for (int f = 0; f < RELIEF_F_COUNT; f++) {
            struct relief_reg r;
            if (relief_obj_reg(o, f, &r) == AM_OK)
                s->reg_conflicts += r.conflict;
        }
        if (k->kind == RELIEF_OBJ_NEED) {
            struct relief_need_view v;
            cr_assert_eq(relief_need_view(o, &v), AM_OK);
            s->derived += v.derived;
            s->cancelled += v.status == RELIEF_ST_CANCELLED;
            s->fulfilled += v.status == RELIEF_ST_FULFILLED && !v.derived;
            s->orphan_needs += !v.opened;
        }
    }
}

/* every_rule: the histories must have exercised every merge rule (many short histories
 * do; a few long ones check scale and may miss a rare one, such as an overdrawn cell) */
static void p_run(const char *name, int histories, size_t steps, int orders, int every_rule)
{
    uint64_t seed = tu_seed(name), st = seed;
    struct pstats stats;

    memset(&stats, 0, sizeof stats);
    for (int hi = 0; hi < histories; hi++) {
        struct phist h;
        const struct tentry **ord;
        size_t cap, n;
        uint8_t *ref, *d;
        size_t rl, dl;
        struct tnode tn;

        p_gen(&h, steps, &st);
        cap = 2 * h.total + 16;
        ord = malloc(cap * sizeof *ord);
        cr_assert(ord);

        /* reference: every author's log in turn, no repeats */
        memset(&tn, 0, sizeof tn);
        for (int a = 0; a < P_AUTHORS; a++)
            for (size_t i = 0; i < h.n[a]; i++)
                tn_ingest(&tn, &h.es[a][i]);
        rl = tn_dump(&tn, &ref);
        p_stats(&tn, &stats);
        tn_free(&tn);

        for (int o = 0; o < orders; o++) {
            n = p_order(&h, ord, cap, &st);
            memset(&tn, 0, sizeof tn);
            if (o % 2 == 0) {
                for (size_t i = 0; i < n; i++)
                    tn_ingest(&tn, ord[i]);
            } else {
                /* in chunks, reading every view between chunks (the live path) */
                size_t i = 0;
                while (i < n) {
                    size_t c = 1 + (size_t)rnd(&st, 24);
                    uint8_t *mid;
                    for (; c > 0 && i < n; c--, i++)
                        tn_ingest(&tn, ord[i]);
                    free((tn_dump(&tn, &mid), mid));
                }
            }
            dl = tn_dump(&tn, &d);
            cr_assert(dl == rl && memcmp(d, ref, rl) == 0,
                      "%s: history %d order %d gives another view (%zu vs %zu bytes); rerun "
                      "with AM_SEED=%llu",
                      name, hi, o, dl, rl, (unsigned long long)seed);
            free(d);
            tn_free(&tn);
        }
        free(ref);
        free(ord);
        p_free(&h);
    }
    cr_log_info("%s: conflicts %u, count conflicts %u, overdrawn %u, audited cells %u, "
                "derived fulfilled %u, cancelled %u, closed fulfilled %u, invalid %u, newer %u",
                name, stats.reg_conflicts, stats.count_conflicts, stats.overdrawn, stats.audits,
                stats.derived, stats.cancelled, stats.fulfilled, stats.invalid, stats.newer);
    /* the histories must have exercised every rule, or the property says little */
    if (!every_rule) {
        cr_assert(stats.reg_conflicts > 0 && stats.invalid > 0,
                  "%s: the histories did nothing interesting; seed %llu", name,
                  (unsigned long long)seed);
        return;
    }
    cr_assert(stats.reg_conflicts > 0 && stats.count_conflicts > 0 && stats.overdrawn > 0 &&
                  stats.audits > 0 && stats.derived > 0 && stats.cancelled > 0 &&
                  stats.fulfilled > 0 && stats.invalid > 0 && stats.newer > 0,
              "%s: a rule was never exercised; seed %llu", name, (unsigned long long)seed);
}

Test(relief, property_every_arrival_order_gives_the_same_views, .timeout = 300)
{
    p_run("relief.property_orders", 30, 150, 16, 1);
}

Test(relief, property_long_histories, .timeout = 300)
{
    p_run("relief.property_long", 3, 1500, 6, 0);
}

/* A view differs when the set differs: dropping any one valid entry changes the dump of
 * at least its own object (or removes the object). Guards against a dump that ignores
 * what it should show. */
Test(relief, property_views_depend_on_every_op, .timeout = 300)
{
    uint64_t seed = tu_seed("relief.property_depends"), st = seed;
    struct phist h;
    struct tnode tn;
    uint8_t *ref, *d;
    size_t rl, dl;
    unsigned same = 0, checked = 0;

    p_gen(&h, 120, &st);
    memset(&tn, 0, sizeof tn);
    for (int a = 0; a < P_AUTHORS; a++)
        for (size_t i = 0; i < h.n[a]; i++)
            tn_ingest(&tn, &h.es[a][i]);
    rl = tn_dump(&tn, &ref);
    tn_free(&tn);
    for (int a = 0; a < P_AUTHORS; a++)
        for (size_t skip = 0; skip < h.n[a]; skip++) {
            if (!h.meta[a][skip].type)
                continue; /* invalid or newer: never in a view */
            memset(&tn, 0, sizeof tn);
            for (int b = 0; b < P_AUTHORS; b++)
                for (size_t i = 0; i < h.n[b]; i++)
                    if (b != a || i != skip)
                        tn_ingest(&tn, &h.es[b][i]);
            dl = tn_dump(&tn, &d);
            checked++;
            if (dl == rl && memcmp(d, ref, rl) == 0) {
                same++;
                cr_log_info("no trace: %s by author %d seq %zu",
                            relief_type_name(h.meta[a][skip].type), a, skip + 1);
            }
            free(d);
            tn_free(&tn);
        }
    cr_assert(checked > 50);
    cr_assert_eq(same, 0, "%u of %u ops leave no trace in the views; seed %llu", same, checked,
                 (unsigned long long)seed);
    free(ref);
    p_free(&h);
}
