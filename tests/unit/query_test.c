/*
 * query_test.c: the read model (node/query.h) on stores built in a temp dir: the one order
 * of needs, every filter, a snapshot that does not move while writes land, stock flags,
 * names, and the authors of the most needed needs.
 *
 * Expectations are computed from what the test wrote (its own record of each need), never
 * from the rows the query returns.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "am_err.h"
#include "entry.h"
#include "hlc.h"
#include "query.h"
#include "relief.h"
#include "store.h"
#include "testutil.h"

#define DAY_MS   86400000ULL
#define NOW_MS   (20454ULL * DAY_MS + 3600000ULL) /* a fixed clock: 2026-01-01 01:00 */
#define TODAY    20454u
#define NAUTH    3
#define ENTRYCAP 20000

struct author {
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN], prev[AM_HASH_LEN];
    uint64_t seq;
};

/* What the test wrote of one need. */
struct wneed {
    uint8_t id[RELIEF_ID_LEN];
    int author, pri, status;
    uint32_t by;
    uint64_t hlc;
    const char *site, *item, *note;
};

struct world {
    char *dir;
    struct store *s;
    struct author au[NAUTH];
    uint64_t clock;
};

static struct relief_str S(const char *s) {
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

static void
w_open(struct world *w)
{
    memset(w, 0, sizeof *w);
    cr_assert(sodium_init() >= 0);
    w->dir = tu_tmpdir();
    cr_assert_eq(store_open(&w->s, w->dir, NULL), AM_OK);
    for (int a = 0; a < NAUTH; a++)
        crypto_sign_keypair(w->au[a].pk, w->au[a].sk);
    w->clock = hlc_pack(NOW_MS - 10 * DAY_MS, 0);
}

static void w_close(struct world *w)
{
    store_close(w->s);
    tu_rmrf(w->dir);
    free(w->dir);
}

/* Appends op as the next entry of author a, stamped hlc; returns the entry's hash. */
static void w_write(struct world *w, int a, uint64_t hlc, const struct relief_op *op,
                    uint8_t hash[AM_HASH_LEN])
{
    struct author *au = &w->au[a];
    uint8_t opb[AM_OP_MAX], raw[ENTRYCAP];
    const uint8_t *p = raw;
    size_t ol, len;
    char err[RELIEF_ERR_MAX] = "";
    struct entry e;
    struct store_ingest_stats is;

    cr_assert_eq(relief_op_encode(op, opb, sizeof opb, &ol, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(entry_build(raw, sizeof raw, &len, au->sk, au->seq + 1, au->prev, hlc, opb, ol),
                 AM_OK);
    cr_assert_eq(store_ingest(w->s, &p, &len, 1, NOW_MS, &is), AM_OK);
    cr_assert_eq(is.added, 1);
    cr_assert_eq(entry_decode(&e, raw, len), AM_OK);
    entry_hash(&e, au->prev);
    au->seq++;
    if (hash)
        memcpy(hash, au->prev, AM_HASH_LEN);
}

static void w_site(struct world *w, const char *slug, const char *name)
{
    struct relief_op op = {.type = RELIEF_T_SITE};
    op.site = S(slug);
    op.name = S(name);
    HAS(&op, SLUG), HAS(&op, NAME);
    w_write(w, 0, ++w->clock, &op, NULL);
}

static void w_item(struct world *w, const char *code, const char *name, const char *unit)
{
    struct relief_op op = {.type = RELIEF_T_ITEM};
    op.item = S(code);
    op.name = S(name);
    op.unit = S(unit);
    HAS(&op, CODE), HAS(&op, NAME), HAS(&op, UNIT);
    w_write(w, 0, ++w->clock, &op, NULL);
}

static void w_need(struct world *w, struct wneed *n)
{
    struct relief_op op = {.type = RELIEF_T_NEED_OPEN};
    uint8_t hash[AM_HASH_LEN];
    op.site = S(n->site);
    op.item = S(n->item);
    op.q = 10;
    op.pri = n->pri;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
    if (n->by) {
        op.by = n->by;
        HAS(&op, BY);
    }
    if (n->note) {
        op.note = S(n->note);
        HAS(&op, NOTE);
    }
    w_write(w, n->author, n->hlc, &op, hash);
    relief_need_id(hash, n->id);
    n->status = RELIEF_ST_OPEN;
}

static void w_close_need(struct world *w, struct wneed *n, int st)
{
    struct relief_op op = {.type = RELIEF_T_NEED_CLOSE};
    memcpy(op.need, n->id, RELIEF_ID_LEN);
    op.st = st;
    HAS(&op, NEED), HAS(&op, ST);
    w_write(w, n->author, ++w->clock, &op, NULL);
    n->status = st;
}

static void w_move(struct world *w, const char *site, const char *item, const char *lot,
                   uint32_t exp, int reason, int64_t q)
{
    struct relief_op op = {.type = RELIEF_T_STOCK_MOVE};
    op.site = S(site);
    op.item = S(item);
    op.q = q;
    op.reason = reason;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, R);
    if (lot) {
        op.lot = S(lot);
        HAS(&op, LOT);
    }
    if (exp) {
        op.exp = exp;
        HAS(&op, EXP);
    }
    w_write(w, 0, ++w->clock, &op, NULL);
}

/* The one order, from what the test wrote: priority, needed-by (none last), age, id. */
static int want_cmp(const struct wneed *x, const struct wneed *y)
{
    uint32_t bx = x->by ? x->by : UINT32_MAX, by = y->by ? y->by : UINT32_MAX;
    if (x->pri != y->pri)
        return x->pri < y->pri ? -1 : 1;
    if (bx != by)
        return bx < by ? -1 : 1;
    if (x->hlc != y->hlc)
        return x->hlc < y->hlc ? -1 : 1;
    return memcmp(x->id, y->id, RELIEF_ID_LEN);
}

static const struct wneed *find(const struct wneed *v, size_t n, const uint8_t *id)
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(v[i].id, id, RELIEF_ID_LEN))
            return &v[i];
    return NULL;
}

static int holds_ci(const char *s, const char *t)
{
    size_t n = strlen(s), m = strlen(t);
    for (size_t i = 0; i + m <= n; i++)
        if (!strncasecmp(s + i, t, m))
            return 1;
    return 0;
}

static int wanted(const struct wneed *n, const struct query_need_filter *f, const struct world *w)
{
    if (f->site && strcmp(n->site, f->site))
        return 0;
    if (f->item && strcmp(n->item, f->item))
        return 0;
    if (f->status && n->status != f->status)
        return 0;
    if (f->priority && n->pri != f->priority)
        return 0;
    if (f->author && memcmp(w->au[n->author].pk, f->author, AM_PK_LEN))
        return 0;
    if (f->text && f->text[0] && !holds_ci(n->site, f->text) && !holds_ci(n->item, f->text) &&
        !(n->note && holds_ci(n->note, f->text)))
        return 0;
    return 1;
}

/* Checks one listing against the written needs: exactly the wanted ones, in the order. */
static void check_listing(struct world *w, struct query *q, const struct query_need_filter *f,
                          const struct wneed *v, size_t nv, uint64_t seed)
{
    static const struct query_need_filter none = {0};
    const struct query_need *rows;
    size_t n, expect = 0;
    cr_assert_eq(query_needs(q, f, &rows, &n), AM_OK);
    if (!f)
        f = &none; /* NULL: every need */
    for (size_t i = 0; i < nv; i++)
        expect += (size_t)wanted(&v[i], f, w);
    cr_assert_eq(n, expect, "seed %llu: %zu rows, %zu wanted", (unsigned long long)seed, n, expect);
    for (size_t i = 0; i < n; i++) {
        const struct wneed *me = find(v, nv, rows[i].v.id);
        cr_assert(me, "seed %llu: a row the test never wrote", (unsigned long long)seed);
        cr_assert(wanted(me, f, w), "seed %llu: row %zu does not match the filter",
                  (unsigned long long)seed, i);
        cr_assert_eq(rows[i].pri, me->pri);
        cr_assert_eq(rows[i].by, me->by);
        if (i) {
            const struct wneed *prev = find(v, nv, rows[i - 1].v.id);
            cr_assert(want_cmp(prev, me) < 0, "seed %llu: rows %zu and %zu out of order",
                      (unsigned long long)seed, i - 1, i);
        }
    }
    /* a page of the same listing: its first rows, alike in every field, and its count */
    for (int t = 0; t < 3; t++) {
        size_t lim = t == 0 ? 1 + (size_t)(seed % 5) : t == 1 ? n / 2 + 1 : n + 3, pn, total;
        const struct query_need *pg;
        cr_assert_eq(query_needs_page(q, f, lim, &pg, &pn, &total), AM_OK);
        cr_assert_eq(total, n, "seed %llu: a page counts %zu of %zu", (unsigned long long)seed,
                     total, n);
        cr_assert_eq(pn, n < lim ? n : lim);
        for (size_t i = 0; i < pn; i++) {
            const struct query_need *a = &pg[i], *b = &rows[i];
            cr_assert_eq(memcmp(a->v.id, b->v.id, RELIEF_ID_LEN), 0,
                         "seed %llu: row %zu of a page of %zu", (unsigned long long)seed, i, lim);
            cr_assert(a->digits == b->digits && a->pri == b->pri && a->by == b->by &&
                          a->q == b->q && a->conflict == b->conflict && a->late == b->late &&
                          a->forked == b->forked && a->over == b->over && a->dup == b->dup &&
                          a->by_past == b->by_past && a->v.status == b->v.status &&
                          a->v.delivered == b->v.delivered && !strcmp(a->v.site, b->v.site),
                      "seed %llu: row %zu differs", (unsigned long long)seed, i);
            cr_assert(!a->dup || !memcmp(a->dup_of, b->dup_of, RELIEF_ID_LEN));
        }
    }
}

static const char *const sites[] = {"hub-north", "clinic-2", "shelter-3"};
static const char *const items[] = {"ors-20.5", "water-5l", "tarp"};
static const char *const notes[] = {NULL, "Children under five", "urgent: CHOLERA ward",
                                    "for the night shift"};

Test(query, needs_in_one_order_with_every_filter)
{
    uint64_t seed = tu_seed("query needs"), st = seed;
    struct world w;
    struct wneed v[60];
    struct query *q;
    size_t nv = sizeof v / sizeof v[0];

    w_open(&w);
    for (int i = 0; i < 3; i++)
        w_site(&w, sites[i], sites[i]);
    for (int i = 0; i < 3; i++)
        w_item(&w, items[i], items[i], "unit");
    for (size_t i = 0; i < nv; i++) {
        memset(&v[i], 0, sizeof v[i]);
        v[i].author = (int)(tu_rand(&st) % NAUTH);
        v[i].pri = 1 + (int)(tu_rand(&st) % 4);
        /* few distinct days and stamps, so ties fall through to the next key */
        v[i].by = tu_rand(&st) % 3 ? 0 : TODAY - 2 + (uint32_t)(tu_rand(&st) % 5);
        v[i].hlc = hlc_pack(NOW_MS - DAY_MS * (tu_rand(&st) % 3), (uint16_t)(tu_rand(&st) % 2));
        v[i].site = sites[tu_rand(&st) % 3];
        v[i].item = items[tu_rand(&st) % 3];
        v[i].note = notes[tu_rand(&st) % 4];
        w_need(&w, &v[i]);
    }
    for (size_t i = 0; i < nv; i += 7)
        w_close_need(&w, &v[i], i % 2 ? RELIEF_ST_FULFILLED : RELIEF_ST_CANCELLED);

    cr_assert_eq(query_open(w.s, NOW_MS, &q), AM_OK);
    {
        struct query_need_filter all = {0}, open = {.status = RELIEF_ST_OPEN};
        check_listing(&w, q, &all, v, nv, seed);
        check_listing(&w, q, NULL, v, nv, seed);
        check_listing(&w, q, &open, v, nv, seed);
    }
    for (int k = 0; k < 40; k++) {
        struct query_need_filter f = {0};
        static const char *const texts[] = {"cholera", "NORTH", "5l", "night", "nothing-holds"};
        if (tu_rand(&st) % 2)
            f.site = sites[tu_rand(&st) % 3];
        if (tu_rand(&st) % 3 == 0)
            f.item = items[tu_rand(&st) % 3];
        if (tu_rand(&st) % 2)
            f.status = 1 + (int)(tu_rand(&st) % 3);
        if (tu_rand(&st) % 3 == 0)
            f.priority = 1 + (int)(tu_rand(&st) % 4);
        if (tu_rand(&st) % 3 == 0)
            f.author = w.au[tu_rand(&st) % NAUTH].pk;
        if (tu_rand(&st) % 3 == 0)
            f.text = texts[tu_rand(&st) % 5];
        check_listing(&w, q, &f, v, nv, seed);
    }
    /* late: open, with a needed-by day before today */
    {
        struct query_need_filter open = {.status = RELIEF_ST_OPEN};
        const struct query_need *rows;
        size_t n;
        cr_assert_eq(query_needs(q, &open, &rows, &n), AM_OK);
        for (size_t i = 0; i < n; i++) {
            const struct wneed *me = find(v, nv, rows[i].v.id);
            cr_assert_eq(rows[i].late, me->by && me->by < TODAY, "seed %llu",
                         (unsigned long long)seed);
        }
    }
    /* the authors of the open needs, in the order of their first need */
    {
        struct query_need_filter open = {.status = RELIEF_ST_OPEN};
        const struct query_need *rows;
        const uint8_t *au;
        size_t n, na, k = 0;
        int seen[NAUTH] = {0};
        cr_assert_eq(query_needs(q, &open, &rows, &n), AM_OK);
        cr_assert_eq(query_need_authors(q, &au, &na), AM_OK);
        for (size_t i = 0; i < n; i++) {
            int a = find(v, nv, rows[i].v.id)->author;
            if (seen[a]++)
                continue;
            cr_assert_lt(k, na);
            cr_assert_eq(memcmp(au + k * AM_PK_LEN, w.au[a].pk, AM_PK_LEN), 0,
                         "seed %llu: author %zu of the ranking", (unsigned long long)seed, k);
            k++;
        }
        cr_assert_eq(k, na);
    }
    /* a need by id and by a prefix of it */
    {
        const struct query_need *row;
        uint8_t id[RELIEF_ID_LEN];
        char hex[33];
        unsigned matches;
        relief_id_hex(v[3].id, hex);
        hex[12] = 0;
        cr_assert_eq(query_need_find(q, hex, id, &matches), AM_OK);
        cr_assert_eq(matches, 1);
        cr_assert_eq(memcmp(id, v[3].id, RELIEF_ID_LEN), 0);
        cr_assert_eq(query_need(q, id, &row), AM_OK);
        cr_assert_eq(row->pri, v[3].pri);
        cr_assert_geq(row->digits, RELIEF_ID_SHORT_MIN);
        id[0] ^= 0x01;
        cr_assert_eq(query_need(q, id, &row), AM_ENOTFOUND);
    }
    query_close(q);
    w_close(&w);
}

Test(query, a_snapshot_does_not_move_while_writes_land)
{
    struct world w;
    struct wneed v[6];
    struct query *q, *q2;
    const struct query_need *rows, *rows2;
    const struct query_cell *cells;
    struct query_state s1, s2;
    size_t n, n2, nc;

    w_open(&w);
    w_site(&w, "hub-north", "Hub North");
    w_item(&w, "tarp", "Tarpaulin", "sheet");
    for (int i = 0; i < 6; i++) {
        memset(&v[i], 0, sizeof v[i]);
        v[i].pri = 1 + i % 4;
        v[i].site = "hub-north";
        v[i].item = "tarp";
        v[i].hlc = ++w.clock;
        if (i < 3)
            w_need(&w, &v[i]);
    }
    w_move(&w, "hub-north", "tarp", NULL, 0, RELIEF_R_RECEIVED, 5);
    cr_assert_eq(query_open(w.s, NOW_MS, &q), AM_OK);
    cr_assert_eq(query_needs(q, NULL, &rows, &n), AM_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(query_state(q, &s1), AM_OK);
    /* writes land: three more needs, one closed, more stock */
    for (int i = 3; i < 6; i++)
        w_need(&w, &v[i]);
    w_close_need(&w, &v[0], RELIEF_ST_FULFILLED);
    w_move(&w, "hub-north", "tarp", NULL, 0, RELIEF_R_ISSUED, 9);
    w_site(&w, "clinic-2", "Clinic 2");
    /* the open query still shows its moment, in every call */
    cr_assert_eq(query_needs(q, NULL, &rows2, &n2), AM_OK);
    cr_assert_eq(n2, 3, "the snapshot moved: %zu needs", n2);
    for (size_t i = 0; i < n2; i++)
        cr_assert_eq(rows2[i].v.status, RELIEF_ST_OPEN);
    cr_assert_eq(query_cells(q, NULL, &cells, &nc), AM_OK);
    cr_assert_eq(nc, 1);
    cr_assert_eq(cells[0].v.value, 5);
    cr_assert_eq(cells[0].flags & QUERY_CELL_OVERDRAWN, 0);
    cr_assert_null(query_site(q, "clinic-2"));
    cr_assert_not_null(query_site(q, "hub-north"));
    cr_assert_eq(query_state(q, &s2), AM_OK);
    cr_assert_eq(s2.store.entries, s1.store.entries);
    cr_assert_eq(memcmp(s2.views.fingerprint, s1.views.fingerprint, STORE_VIEW_FP_LEN), 0);
    /* a new query sees the writes */
    cr_assert_eq(query_open(w.s, NOW_MS, &q2), AM_OK);
    cr_assert_eq(query_needs(q2, NULL, &rows2, &n2), AM_OK);
    cr_assert_eq(n2, 6);
    cr_assert_eq(query_cells(q2, NULL, &cells, &nc), AM_OK);
    cr_assert_eq(cells[0].v.value, -4);
    cr_assert(cells[0].flags & QUERY_CELL_OVERDRAWN);
    cr_assert_not_null(query_site(q2, "clinic-2"));
    cr_assert_eq(query_state(q2, &s2), AM_OK);
    cr_assert_eq(s2.store.entries, s1.store.entries + 6);
    query_close(q2);
    query_close(q);
    w_close(&w);
}

Test(query, stock_flags_and_names)
{
    struct world w;
    struct query *q;
    const struct query_cell *rows, *one;
    const struct relief_node_item *it;
    const struct relief_node_site *sites_v;
    size_t n, len;
    const char *t;

    w_open(&w);
    w_site(&w, "hub-north", "Hub North");
    w_site(&w, "clinic-2", "Clinic 2");
    w_item(&w, "ors-20.5", "ORS sachet", "sachet");
    w_move(&w, "hub-north", "ors-20.5", "L1", TODAY - 1, RELIEF_R_RECEIVED, 10); /* expired */
    w_move(&w, "hub-north", "ors-20.5", "L2", TODAY, RELIEF_R_RECEIVED, 10);     /* expired */
    w_move(&w, "hub-north", "ors-20.5", "L3", TODAY + QUERY_EXPIRING_DAYS, RELIEF_R_RECEIVED,
           10); /* expiring */
    w_move(&w, "hub-north", "ors-20.5", "L4", TODAY + QUERY_EXPIRING_DAYS + 1, RELIEF_R_RECEIVED,
           10);                                                          /* neither */
    w_move(&w, "clinic-2", "ors-20.5", NULL, 0, RELIEF_R_ISSUED, 3);     /* overdrawn */
    w_move(&w, "alpha-camp", "ors-20.5", NULL, 0, RELIEF_R_RECEIVED, 1); /* a longer slug */
    cr_assert_eq(query_open(w.s, NOW_MS, &q), AM_OK);
    cr_assert_eq(query_cells(q, NULL, &rows, &n), AM_OK);
    cr_assert_eq(n, 6);
    for (size_t i = 0; i < n; i++) {
        const struct relief_node_cell *c = &rows[i].v;
        unsigned want = 0;
        if (!strcmp(c->site, "clinic-2"))
            want = QUERY_CELL_OVERDRAWN;
        else if (!strcmp(c->lot, "L1") || !strcmp(c->lot, "L2"))
            want = QUERY_CELL_EXPIRED;
        else if (!strcmp(c->lot, "L3"))
            want = QUERY_CELL_EXPIRING;
        cr_assert_eq(rows[i].flags, want, "cell %s/%s", c->site, c->lot);
        if (c->exp)
            cr_assert_eq(rows[i].days_left, (int64_t)c->exp - TODAY);
    }
    /* alphabetical by site (the store's keys would put the shorter slug first), then lot */
    cr_assert_str_eq(rows[0].v.site, "alpha-camp");
    cr_assert_str_eq(rows[1].v.site, "clinic-2");
    cr_assert_str_eq(rows[2].v.lot, "L1");
    cr_assert_str_eq(rows[5].v.lot, "L4");
    {
        struct query_cell_filter f = {.flags = QUERY_CELL_EXPIRED | QUERY_CELL_OVERDRAWN};
        cr_assert_eq(query_cells(q, &f, &rows, &n), AM_OK);
        cr_assert_eq(n, 3);
        f.flags = 0;
        f.site = "hub-north";
        cr_assert_eq(query_cells(q, &f, &rows, &n), AM_OK);
        cr_assert_eq(n, 4);
    }
    cr_assert_eq(query_cell(q, "hub-north", "ors-20.5", "L3", TODAY + QUERY_EXPIRING_DAYS, &one),
                 AM_OK);
    cr_assert_eq(one->v.value, 10);
    cr_assert_eq(one->flags, QUERY_CELL_EXPIRING);
    cr_assert_eq(query_cell(q, "hub-north", "ors-20.5", "L3", 0, &one), AM_ENOTFOUND);
    it = query_item(q, "ors-20.5");
    cr_assert_not_null(it);
    t = query_reg_text(&it->unit, &len);
    cr_assert_eq(len, 6);
    cr_assert_eq(memcmp(t, "sachet", 6), 0);
    cr_assert_null(query_item(q, "ors"));
    cr_assert_eq(query_sites(q, &sites_v, &n), AM_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(sites_v[0].slug, "clinic-2");
    cr_assert_str_eq(sites_v[1].slug, "hub-north");
    query_close(q);
    w_close(&w);
}

/* ---- minimum levels and totals (stock.min) ---- */

static void w_min(struct world *w, int a, const char *site, const char *item, int64_t q,
                  const struct relief_ref *sup, uint32_t nsup, uint8_t hash[AM_HASH_LEN])
{
    struct relief_op op = {.type = RELIEF_T_STOCK_MIN};
    op.site = S(site);
    op.item = S(item);
    op.q = q;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q);
    if (nsup) {
        op.sup = (struct relief_refs){nsup, sup, NULL};
        HAS(&op, SUP);
    }
    w_write(w, a, ++w->clock, &op, hash);
}

static const struct query_level *level_of(const struct query_level *v, size_t n, const char *site,
                                          const char *item)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].site, site) && !strcmp(v[i].item, item))
            return &v[i];
    return NULL;
}

Test(query, minimum_levels_below_min_and_totals)
{
    struct world w;
    struct query *q;
    const struct query_cell *rows, *one;
    const struct query_level *lv, *l;
    const struct query_total *tv;
    size_t n;
    struct relief_ref heads[2];

    w_open(&w);
    w_site(&w, "hub-north", "Hub North");
    w_site(&w, "clinic-2", "Clinic 2");
    w_item(&w, "ors", "ORS sachet", "sachet");
    w_item(&w, "water", "Water", "l");
    w_move(&w, "hub-north", "ors", "L1", TODAY + 10, RELIEF_R_RECEIVED, 30); /* expiring */
    w_move(&w, "hub-north", "ors", "L2", TODAY + 100, RELIEF_R_RECEIVED, 20);
    w_move(&w, "hub-north", "water", NULL, 0, RELIEF_R_RECEIVED, 5);
    w_move(&w, "clinic-2", "ors", NULL, 0, RELIEF_R_ISSUED, 3); /* overdrawn */
    w_min(&w, 0, "hub-north", "ors", 60, NULL, 0, NULL);        /* 50 held: below */
    w_min(&w, 0, "hub-north", "water", 5, NULL, 0, NULL);       /* 5 held: not below */
    w_min(&w, 0, "shelter-3", "water", 10, NULL, 0, NULL);      /* no stock at all: below */
    /* two nodes set a minimum at clinic-2 without seeing each other */
    w_min(&w, 1, "clinic-2", "ors", 5, NULL, 0, NULL);
    w_min(&w, 2, "clinic-2", "ors", 7, NULL, 0, NULL);
    memcpy(heads[0].author, w.au[1].pk, AM_PK_LEN);
    heads[0].seq = w.au[1].seq;
    memcpy(heads[1].author, w.au[2].pk, AM_PK_LEN);
    heads[1].seq = w.au[2].seq;

    cr_assert_eq(query_open(w.s, NOW_MS, &q), AM_OK);
    cr_assert_eq(query_cells(q, NULL, &rows, &n), AM_OK);
    cr_assert_eq(n, 4);
    for (size_t i = 0; i < n; i++) {
        const struct relief_node_cell *c = &rows[i].v;
        int below = strcmp(c->item, "ors") == 0;
        cr_assert_eq((rows[i].flags & QUERY_CELL_BELOW_MIN) != 0, below, "cell %s/%s/%s", c->site,
                     c->item, c->lot);
        if (!strcmp(c->site, "hub-north") && below) {
            cr_assert_eq(rows[i].held, 50);
            cr_assert_eq(rows[i].min, 60);
        }
    }
    {
        struct query_cell_filter f = {.flags = QUERY_CELL_BELOW_MIN, .site = "hub-north"};
        cr_assert_eq(query_cells(q, &f, &rows, &n), AM_OK);
        cr_assert_eq(n, 2);
    }
    cr_assert_eq(query_cell(q, "hub-north", "ors", "L1", TODAY + 10, &one), AM_OK);
    cr_assert_eq(one->flags, QUERY_CELL_EXPIRING | QUERY_CELL_BELOW_MIN);
    cr_assert_eq(one->held, 50);

    cr_assert_eq(query_levels(q, NULL, NULL, &lv, &n), AM_OK);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(lv[0].site, "clinic-2");
    cr_assert_str_eq(lv[3].site, "shelter-3");
    l = level_of(lv, n, "clinic-2", "ors");
    cr_assert_not_null(l);
    cr_assert(l->reg.conflict, "two concurrent minimums are a conflict");
    cr_assert_eq(l->reg.n_heads, 2);
    cr_assert_eq(l->min, 7, "the winner: the greater stamp");
    cr_assert_eq(l->held, -3);
    cr_assert(l->below && l->overdrawn);
    l = level_of(lv, n, "hub-north", "ors");
    cr_assert(l && l->below && l->expiring && !l->expired && l->n_cells == 2);
    l = level_of(lv, n, "hub-north", "water");
    cr_assert(l && !l->below && l->held == 5 && l->min == 5);
    l = level_of(lv, n, "shelter-3", "water");
    cr_assert(l && l->below && l->held == 0 && l->n_cells == 0 && l->min == 10);
    cr_assert_eq(query_level(q, "shelter-3", "ors", &l), AM_ENOTFOUND);

    cr_assert_eq(query_below_min(q, NULL, NULL, &lv, &n), AM_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(query_below_min(q, "hub-north", NULL, &lv, &n), AM_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(query_below_min(q, NULL, "water", &lv, &n), AM_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(lv[0].site, "shelter-3");

    cr_assert_eq(query_totals(q, NULL, &tv, &n), AM_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(tv[0].item, "ors");
    cr_assert_eq(tv[0].held, 47);
    cr_assert_eq(tv[0].sites, 2);
    cr_assert_eq(tv[0].below_min, 2);
    cr_assert_eq(tv[0].overdrawn, 1);
    cr_assert_eq(tv[0].expiring, 1);
    cr_assert_eq(tv[0].expired, 0);
    cr_assert_str_eq(tv[1].item, "water");
    cr_assert_eq(tv[1].held, 5);
    cr_assert_eq(tv[1].sites, 2);
    cr_assert_eq(tv[1].below_min, 1);
    cr_assert_eq(query_totals(q, "water", &tv, &n), AM_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(query_totals(q, "nothing", &tv, &n), AM_OK);
    cr_assert_eq(n, 0);
    query_close(q);

    /* a write that names both heads settles the conflict; 0 means no minimum */
    relief_refs_sort(heads, &(uint32_t){2});
    w_min(&w, 0, "clinic-2", "ors", 0, heads, 2, NULL);
    cr_assert_eq(query_open(w.s, NOW_MS, &q), AM_OK);
    cr_assert_eq(query_level(q, "clinic-2", "ors", &l), AM_OK);
    cr_assert_not(l->reg.conflict);
    cr_assert_eq(l->min, 0);
    cr_assert_not(l->below);
    cr_assert_eq(query_totals(q, "ors", &tv, &n), AM_OK);
    cr_assert_eq(tv[0].below_min, 1);
    query_close(q);
    w_close(&w);
}

/* ---- checks that catch slips: over, by_past, dup ---- */

static const struct query_need *need_row(const struct query_need *v, size_t n, const uint8_t *id)
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(v[i].v.id, id, RELIEF_ID_LEN))
            return &v[i];
    return NULL;
}

Test(query, need_slip_flags)
{
    struct world w;
    struct query *q;
    const struct query_need *rows, *r;
    size_t n;
    uint64_t t0 = NOW_MS - 5 * DAY_MS;
    struct wneed a = {.author = 1, .pri = RELIEF_PRI_HIGH, .site = "shelter-3", .item = "ors"};
    struct wneed b = {.author = 1, .pri = RELIEF_PRI_NORMAL, .site = "clinic-2", .item = "ors"};
    struct wneed c = {.author = 2, .pri = RELIEF_PRI_LOW, .site = "hub-north", .item = "water"};
    struct wneed d = {.author = 1, .pri = RELIEF_PRI_NORMAL, .site = "hub-north", .item = "water"};
    struct wneed e = {.author = 2, .pri = RELIEF_PRI_NORMAL, .site = "hub-north", .item = "water"};
    struct wneed f = {.author = 1, .pri = RELIEF_PRI_NORMAL, .site = "clinic-2", .item = "water"};

    w_open(&w);
    a.hlc = hlc_pack(t0, 0);
    w_need(&w, &a);
    {
        struct relief_op op = {.type = RELIEF_T_NEED_DLV};
        memcpy(op.need, a.id, RELIEF_ID_LEN);
        op.q = 15; /* 10 asked */
        HAS(&op, NEED), HAS(&op, Q);
        w_write(&w, 0, hlc_pack(t0 + 1000, 0), &op, NULL);
    }
    b.hlc = hlc_pack(t0 + 2000, 0);
    b.by = (uint32_t)(t0 / DAY_MS) - 1; /* the day before it was written */
    w_need(&w, &b);
    c.hlc = hlc_pack(t0 + 3000, 0);
    c.by = (uint32_t)(t0 / DAY_MS); /* the same day: not past */
    w_need(&w, &c);
    d.hlc = hlc_pack(t0 + 3000 + 2 * 3600000ULL, 0); /* two hours after c */
    w_need(&w, &d);
    e.hlc = hlc_pack(t0 + 3000 + 3 * DAY_MS, 0); /* three days after d */
    w_need(&w, &e);
    f.hlc = hlc_pack(t0 + 3000 + 60000, 0); /* another site */
    w_need(&w, &f);

    cr_assert_eq(query_open(w.s, NOW_MS, &q), AM_OK);
    {
        struct query_need_filter all = {0};
        cr_assert_eq(query_needs(q, &all, &rows, &n), AM_OK);
    }
    cr_assert_eq(n, 6);
    r = need_row(rows, n, a.id);
    cr_assert(r->over && !r->by_past && !r->dup, "delivered 15 of 10");
    r = need_row(rows, n, b.id);
    cr_assert(!r->over && r->by_past && !r->dup);
    r = need_row(rows, n, c.id);
    cr_assert(!r->by_past && !r->dup, "the first of two is not the dup");
    r = need_row(rows, n, d.id);
    cr_assert(r->dup && !memcmp(r->dup_of, c.id, RELIEF_ID_LEN));
    cr_assert(!need_row(rows, n, e.id)->dup, "three days later: a new need");
    cr_assert(!need_row(rows, n, f.id)->dup, "another site");
    /* a filter that hides c still flags d (c is read for the check) */
    {
        struct query_need_filter nf = {.status = RELIEF_ST_OPEN, .priority = RELIEF_PRI_NORMAL};
        cr_assert_eq(query_needs(q, &nf, &rows, &n), AM_OK);
        r = need_row(rows, n, d.id);
        cr_assert_not_null(r);
        cr_assert(r->dup && !memcmp(r->dup_of, c.id, RELIEF_ID_LEN));
        cr_assert_null(need_row(rows, n, c.id));
    }
    cr_assert_eq(query_need(q, d.id, &r), AM_OK);
    cr_assert(r->dup);
    cr_assert_eq(query_need(q, a.id, &r), AM_OK);
    cr_assert(r->over);
    query_close(q);

    /* once c is closed, d is the only open one: no longer a dup */
    w_close_need(&w, &c, RELIEF_ST_CANCELLED);
    cr_assert_eq(query_open(w.s, NOW_MS, &q), AM_OK);
    cr_assert_eq(query_need(q, d.id, &r), AM_OK);
    cr_assert_not(r->dup);
    query_close(q);
    w_close(&w);
}
