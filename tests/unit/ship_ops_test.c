/*
 * ship_ops_test.c: shipments over real node homes and stores (node/ship_ops.h, the read
 * model's query_ships and query_need_ships; PROTOCOL.md 10.8.6), in the scenarios of a
 * relief warehouse: a shipment dispatched first expiry first, lost in part and received;
 * received on two nodes at once (their entries exchanged, every node shows one receipt and
 * the stock moved once); cancelled on a node that had not seen the dispatch while the
 * receipt was on its way (the receipt wins everywhere); a need served by two shipments and
 * one direct delivery. And every refusal writes nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "home.h"
#include "node.h"
#include "query.h"
#include "relief.h"
#include "relief_node.h"
#include "ship_ops.h"
#include "store.h"
#include "testutil.h"

#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))
#define WALL       1767225600000ULL

static char *g_tmp;
static struct node g_n[3]; /* 0: the hub, 1 and 2: two nodes at the clinic */

static struct relief_str S(const char *s) {
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

static void
write_op(struct node *n, const struct relief_op *op, uint8_t hash[AM_HASH_LEN])
{
    char err[RELIEF_ERR_MAX] = "";
    int rc = relief_node_write(n, op, 1, err, sizeof err, hash);
    cr_assert_eq(rc, AM_OK, "relief_node_write: %s (%s)", am_strerror(rc), err);
}

static uint64_t entries(struct node *n)
{
    struct store_stats st;
    cr_assert_eq(store_stats(n->store, &st), AM_OK);
    return st.entries;
}

static uint32_t day(const char *s)
{
    uint32_t d;
    cr_assert_eq(relief_day_parse(s, &d), AM_OK);
    return d;
}

/* ---- moving entries from one store to another, as a sync would ---- */

struct batch {
    uint8_t *raw[4096];
    size_t len[4096];
    size_t n;
};

static int grab(void *ctx, const uint8_t *raw, size_t len)
{
    struct batch *b = ctx;
    cr_assert(b->n < 4096);
    b->raw[b->n] = tu_dup_exact(raw, len);
    b->len[b->n++] = len;
    return 0;
}

static void sync_to(struct node *from, struct node *to)
{
    struct batch *b = calloc(1, sizeof *b);
    struct store_ingest_stats st;
    cr_assert(b);
    cr_assert_eq(store_entries_each(from->store, NULL, 1, grab, b), AM_OK);
    cr_assert_eq(
        store_ingest(to->store, (const uint8_t *const *)b->raw, b->len, b->n, WALL * 2, &st),
        AM_OK);
    for (size_t i = 0; i < b->n; i++)
        free(b->raw[i]);
    free(b);
}

static void fingerprint(struct node *n, uint8_t out[STORE_VIEW_FP_LEN])
{
    struct store_view_stats vs;
    cr_assert_eq(store_view_stats(n->store, &vs), AM_OK);
    memcpy(out, vs.fingerprint, STORE_VIEW_FP_LEN);
}

/* ---- reading ---- */

static int64_t cell(struct node *n, const char *site, const char *lot, uint32_t exp)
{
    struct query *q;
    const struct query_cell *c;
    int64_t v;
    cr_assert_eq(query_open(n->store, 0, &q), AM_OK);
    if (query_cell(q, site, "ors", lot, exp, &c) != AM_OK) {
        query_close(q);
        return 0;
    }
    v = c->v.value;
    query_close(q);
    return v;
}

/* The only shipment of node n, copied (its lines are not: do not read them afterwards). */
static struct query_ship ship_of(struct node *n, struct query **q)
{
    const struct query_ship *rows;
    size_t k;
    cr_assert_eq(query_open(n->store, 0, q), AM_OK);
    cr_assert_eq(query_ships(*q, NULL, &rows, &k), AM_OK);
    cr_assert_eq(k, 1);
    return rows[0];
}

/* ---- setup: three nodes, two sites, one item, stock in two lots at the hub ---- */

static void setup(void)
{
    struct relief_op op;
    cr_assert(sodium_init() >= 0);
    g_tmp = tu_tmpdir();
    for (int i = 0; i < 3; i++) {
        char home[AM_HOME_PATH_MAX], name[8];
        uint8_t seed[AM_SEED_LEN], secret[AM_NETSECRET_LEN];
        snprintf(name, sizeof name, "n%d", i);
        cr_assert_eq(home_path(home, g_tmp, name), AM_OK);
        randombytes_buf(seed, sizeof seed);
        memset(secret, 7, sizeof secret);
        cr_assert_eq(home_init(home, seed, secret, name, 0), AM_OK);
        cr_assert_eq(node_open(&g_n[i], home, NULL, NULL), AM_OK);
    }
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_SITE;
    op.site = S("hub-north");
    op.name = S("Hub North");
    HAS(&op, SLUG), HAS(&op, NAME);
    write_op(&g_n[0], &op, NULL);
    op.site = S("clinic-2");
    op.name = S("Clinic 2");
    write_op(&g_n[0], &op, NULL);
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_ITEM;
    op.item = S("ors");
    op.name = S("ORS sachet");
    HAS(&op, CODE), HAS(&op, NAME);
    write_op(&g_n[0], &op, NULL);
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_STOCK_MOVE;
    op.site = S("hub-north");
    op.item = S("ors");
    op.reason = RELIEF_R_RECEIVED;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, R), HAS(&op, LOT), HAS(&op, EXP);
    op.q = 30, op.lot = S("L1"), op.exp = day("2039-01-01");
    write_op(&g_n[0], &op, NULL);
    op.q = 20, op.lot = S("L2"), op.exp = day("2040-01-01");
    write_op(&g_n[0], &op, NULL);
}

static void teardown(void)
{
    for (int i = 0; i < 3; i++)
        node_close(&g_n[i]);
    tu_rmrf(g_tmp);
    free(g_tmp);
}

TestSuite(ship_ops, .init = setup, .fini = teardown);

/* Creates a shipment of qty ors (for need, when not NULL) at the hub, to clinic-2. */
static void create(struct node *n, int64_t qty, const uint8_t *need, uint8_t id[RELIEF_ID_LEN])
{
    struct ship_line_in ln;
    struct query *q;
    char err[256] = "";
    memset(&ln, 0, sizeof ln);
    strcpy(ln.item, "ors");
    ln.q = qty;
    if (need) {
        ln.has_need = 1;
        memcpy(ln.need, need, RELIEF_ID_LEN);
    }
    cr_assert_eq(query_open(n->store, 0, &q), AM_OK);
    cr_assert_eq(ship_ops_create(n, q, "hub-north", "clinic-2", &ln, 1, 0, "WB-1", NULL, 0, err,
                                 sizeof err, id),
                 AM_OK, "%s", err);
    query_close(q);
}

static const struct query_ship *find(struct query *q, const uint8_t id[RELIEF_ID_LEN])
{
    const struct query_ship *s;
    cr_assert_eq(query_ship(q, id, &s), AM_OK);
    return s;
}

static void dispatch(struct node *n, const uint8_t id[RELIEF_ID_LEN])
{
    struct query *q;
    char err[256] = "";
    cr_assert_eq(query_open(n->store, 0, &q), AM_OK);
    cr_assert_eq(ship_ops_dispatch(n, q, find(q, id), 0, NULL, err, sizeof err, NULL, NULL), AM_OK,
                 "%s", err);
    query_close(q);
}

static int receive(struct node *n, const uint8_t id[RELIEF_ID_LEN], const int64_t *qty, size_t nq,
                   const char *why)
{
    struct query *q;
    char err[256] = "";
    int rc;
    cr_assert_eq(query_open(n->store, 0, &q), AM_OK);
    rc = ship_ops_receive(n, find(q, id), qty, nq, why, err, sizeof err);
    query_close(q);
    return rc;
}

Test(ship_ops, dispatched_lost_in_part_received)
{
    uint8_t id[RELIEF_ID_LEN], fa[STORE_VIEW_FP_LEN], fb[STORE_VIEW_FP_LEN];
    int64_t got[2] = {30, 5};
    struct query *q;
    struct query_ship s;

    create(&g_n[0], 40, NULL, id);
    dispatch(&g_n[0], id);
    /* first expiry first: all of L1, then 10 of L2 */
    cr_assert_eq(cell(&g_n[0], "hub-north", "L1", day("2039-01-01")), 0);
    cr_assert_eq(cell(&g_n[0], "hub-north", "L2", day("2040-01-01")), 10);
    s = ship_of(&g_n[0], &q);
    cr_assert_eq(s.status, RELIEF_SHIP_DISPATCHED);
    cr_assert_eq(s.dsp.n, 2);
    cr_assert_str_eq(s.dsp.ln[0].lot, "L1");
    cr_assert_eq(s.dsp.ln[0].q, 30);
    cr_assert_eq(s.dsp.ln[1].q, 10);
    query_close(q);

    sync_to(&g_n[0], &g_n[1]);
    cr_assert_eq(receive(&g_n[1], id, got, 2, "a box fell off"), AM_OK);
    cr_assert_eq(cell(&g_n[1], "clinic-2", "L1", day("2039-01-01")), 30);
    cr_assert_eq(cell(&g_n[1], "clinic-2", "L2", day("2040-01-01")), 5);
    s = ship_of(&g_n[1], &q);
    cr_assert_eq(s.status, RELIEF_SHIP_RECEIVED);
    cr_assert_eq(s.sent, 40);
    cr_assert_eq(s.arrived, 35);
    cr_assert_eq(s.lost, 5);
    cr_assert_eq(s.rcv.note_len, strlen("a box fell off"));
    query_close(q);

    sync_to(&g_n[1], &g_n[0]);
    cr_assert_eq(cell(&g_n[0], "clinic-2", "L2", day("2040-01-01")), 5);
    fingerprint(&g_n[0], fa);
    fingerprint(&g_n[1], fb);
    cr_assert(!memcmp(fa, fb, sizeof fa), "the two nodes see the same views");
    /* a reindex gives the same views as the live updates */
    {
        struct store_reindex_stats rs;
        cr_assert_eq(store_reindex(g_n[0].store, &rs), AM_OK);
        fingerprint(&g_n[0], fb);
        cr_assert(!memcmp(fa, fb, sizeof fa));
    }
}

Test(ship_ops, refusals_write_nothing)
{
    uint8_t id[RELIEF_ID_LEN], id2[RELIEF_ID_LEN];
    struct ship_line_in ln;
    int64_t more[2] = {31, 10}, less[2] = {29, 10};
    struct query *q;
    char err[256];
    uint64_t n0;

    create(&g_n[0], 40, NULL, id);
    n0 = entries(&g_n[0]);
    cr_assert_eq(receive(&g_n[0], id, NULL, 0, NULL), AM_ESTATE, "receive before dispatch");
    memset(&ln, 0, sizeof ln);
    strcpy(ln.item, "ors");
    ln.q = 5;
    cr_assert_eq(query_open(g_n[0].store, 0, &q), AM_OK);
    cr_assert_eq(ship_ops_create(&g_n[0], q, "hub-north", "hub-north", &ln, 1, 0, NULL, NULL, 0,
                                 err, sizeof err, id2),
                 AM_EINVAL);
    cr_assert(strstr(err, "from one site to another"), "%s", err);
    strcpy(ln.lot, "L9");
    cr_assert_eq(ship_ops_create(&g_n[0], q, "hub-north", "clinic-2", &ln, 1, 0, NULL, NULL, 0, err,
                                 sizeof err, id2),
                 AM_EINVAL);
    cr_assert(strstr(err, "holds no lot L9"), "%s", err);
    cr_assert_eq(ship_ops_cancel(&g_n[0], find(q, id), NULL, err, sizeof err), AM_OK);
    query_close(q);
    cr_assert_eq(entries(&g_n[0]), n0 + 1);
    cr_assert_eq(query_open(g_n[0].store, 0, &q), AM_OK);
    cr_assert_eq(ship_ops_dispatch(&g_n[0], q, find(q, id), 0, NULL, err, sizeof err, NULL, NULL),
                 AM_ESTATE, "a cancelled shipment does not leave");
    query_close(q);

    /* too little stock, then dispatch twice, more than dispatched, a shortfall unexplained */
    create(&g_n[0], 60, NULL, id);
    n0 = entries(&g_n[0]);
    cr_assert_eq(query_open(g_n[0].store, 0, &q), AM_OK);
    cr_assert_eq(ship_ops_dispatch(&g_n[0], q, find(q, id), 0, NULL, err, sizeof err, NULL, NULL),
                 AM_ELIMIT);
    cr_assert(strstr(err, "sees 50 ors"), "%s", err);
    query_close(q);
    cr_assert_eq(entries(&g_n[0]), n0);
    create(&g_n[0], 40, NULL, id);
    dispatch(&g_n[0], id);
    n0 = entries(&g_n[0]);
    cr_assert_eq(query_open(g_n[0].store, 0, &q), AM_OK);
    cr_assert_eq(ship_ops_dispatch(&g_n[0], q, find(q, id), 0, NULL, err, sizeof err, NULL, NULL),
                 AM_ESTATE);
    cr_assert(strstr(err, "dispatched already"), "%s", err);
    cr_assert_eq(ship_ops_cancel(&g_n[0], find(q, id), NULL, err, sizeof err), AM_ESTATE);
    query_close(q);
    cr_assert_eq(receive(&g_n[0], id, more, 2, NULL), AM_EINVAL);
    cr_assert_eq(receive(&g_n[0], id, less, 2, NULL), AM_EINVAL, "a shortfall needs its reason");
    cr_assert_eq(receive(&g_n[0], id, less, 1, "x"), AM_EINVAL, "one quantity per line");
    cr_assert_eq(entries(&g_n[0]), n0);
    cr_assert_eq(receive(&g_n[0], id, NULL, 0, NULL), AM_OK);
    cr_assert_eq(receive(&g_n[0], id, NULL, 0, NULL), AM_ESTATE, "received twice on one node");
    cr_assert_eq(entries(&g_n[0]), n0 + 1);
}

Test(ship_ops, received_on_two_nodes_at_once_counts_once)
{
    uint8_t id[RELIEF_ID_LEN], f[3][STORE_VIEW_FP_LEN];
    struct query *q;
    struct query_ship s;

    create(&g_n[0], 40, NULL, id);
    dispatch(&g_n[0], id);
    sync_to(&g_n[0], &g_n[1]);
    sync_to(&g_n[0], &g_n[2]);
    /* two people at the clinic each record the arrival, on their own node */
    cr_assert_eq(receive(&g_n[1], id, NULL, 0, NULL), AM_OK);
    cr_assert_eq(receive(&g_n[2], id, NULL, 0, NULL), AM_OK);
    cr_assert_eq(cell(&g_n[1], "clinic-2", "L1", day("2039-01-01")), 30);
    sync_to(&g_n[1], &g_n[2]);
    sync_to(&g_n[2], &g_n[1]);
    sync_to(&g_n[1], &g_n[0]);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(cell(&g_n[i], "clinic-2", "L1", day("2039-01-01")), 30, "node %d", i);
        cr_assert_eq(cell(&g_n[i], "clinic-2", "L2", day("2040-01-01")), 10, "node %d", i);
        s = ship_of(&g_n[i], &q);
        cr_assert_eq(s.status, RELIEF_SHIP_RECEIVED);
        cr_assert_eq(s.n_rcv, 2, "node %d", i);
        cr_assert_eq(s.arrived, 40);
        query_close(q);
        fingerprint(&g_n[i], f[i]);
    }
    cr_assert(!memcmp(f[0], f[1], sizeof f[0]) && !memcmp(f[1], f[2], sizeof f[0]));
}

Test(ship_ops, cancelled_while_a_receipt_is_in_flight)
{
    uint8_t id[RELIEF_ID_LEN];
    struct query *q;
    struct query_ship s;
    char err[256];

    create(&g_n[0], 40, NULL, id);
    sync_to(&g_n[0], &g_n[2]); /* node 2 sees the shipment created, nothing more */
    dispatch(&g_n[0], id);
    sync_to(&g_n[0], &g_n[1]);
    cr_assert_eq(receive(&g_n[1], id, NULL, 0, NULL), AM_OK);
    cr_assert_eq(query_open(g_n[2].store, 0, &q), AM_OK);
    cr_assert_eq(ship_ops_cancel(&g_n[2], find(q, id), "not needed", err, sizeof err), AM_OK, "%s",
                 err);
    query_close(q);
    s = ship_of(&g_n[2], &q);
    cr_assert_eq(s.status, RELIEF_SHIP_CANCELLED);
    query_close(q);
    sync_to(&g_n[2], &g_n[1]);
    sync_to(&g_n[1], &g_n[0]);
    sync_to(&g_n[0], &g_n[2]);
    for (int i = 0; i < 3; i++) {
        s = ship_of(&g_n[i], &q);
        cr_assert_eq(s.status, RELIEF_SHIP_RECEIVED, "node %d: the receipt wins", i);
        cr_assert(s.cxl.present);
        query_close(q);
        cr_assert_eq(cell(&g_n[i], "clinic-2", "L1", day("2039-01-01")), 30);
        cr_assert_eq(cell(&g_n[i], "hub-north", "L2", day("2040-01-01")), 10);
    }
}

Test(ship_ops, a_need_served_by_two_shipments_and_a_direct_delivery)
{
    uint8_t hash[AM_HASH_LEN], need[RELIEF_ID_LEN], s1[RELIEF_ID_LEN], s2[RELIEF_ID_LEN];
    int64_t got[2] = {25, 10};
    struct query_need_ships ns;
    const struct query_need *w;
    struct relief_op op;
    struct query *q;

    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_OPEN;
    op.site = S("clinic-2");
    op.item = S("ors");
    op.q = 100;
    op.pri = RELIEF_PRI_HIGH;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
    write_op(&g_n[0], &op, hash);
    relief_need_id(hash, need);

    create(&g_n[0], 40, need, s1);
    create(&g_n[0], 10, need, s2);
    cr_assert_eq(query_open(g_n[0].store, 0, &q), AM_OK);
    cr_assert_eq(query_need_ships(q, need, &ns), AM_OK);
    cr_assert_eq(ns.committed, 50);
    cr_assert_eq(ns.n_ships, 2);
    query_close(q);

    dispatch(&g_n[0], s1);
    dispatch(&g_n[0], s2);
    cr_assert_eq(receive(&g_n[0], s1, got, 2, "wet"), AM_OK);
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_DLV;
    memcpy(op.need, need, RELIEF_ID_LEN);
    op.q = 20;
    HAS(&op, NEED), HAS(&op, Q);
    write_op(&g_n[0], &op, NULL);

    cr_assert_eq(query_open(g_n[0].store, 0, &q), AM_OK);
    cr_assert_eq(query_need_ships(q, need, &ns), AM_OK);
    cr_assert_eq(ns.committed, 0);
    cr_assert_eq(ns.in_transit, 10);
    cr_assert_eq(ns.delivered, 35);
    cr_assert_eq(ns.lost, 5);
    cr_assert_eq(query_need(q, need, &w), AM_OK);
    cr_assert_eq(w->v.delivered, 20, "the direct delivery stays the need's own");
    query_close(q);
}
