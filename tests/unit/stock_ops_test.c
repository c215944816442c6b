/*
 * stock_ops_test.c: the one way a stock movement or count and a change to a need are made
 * (node/stock_ops.h, node/need_ops.h), shared by the CLI and the phone pages, over a real
 * node home and store: an issue without lot split first expiry first out across two lots
 * and written as one append; too little stock refused with what this node sees, nothing
 * written, unless forced (the rest on the cell without lot); a receipt without lot of an
 * item kept in lots refused unless "no lot"; unknown sites and items; a count's context;
 * the digests that tell a stale form: equal while nothing changes, different after a write
 * of the cell or the need, and a need plan refused on a stale digest.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "home.h"
#include "need_ops.h"
#include "node.h"
#include "query.h"
#include "relief.h"
#include "relief_node.h"
#include "stock_ops.h"
#include "store.h"
#include "testutil.h"

static char *g_tmp;
static char g_home[AM_HOME_PATH_MAX];
static struct node g_node;
static struct stock_plan *g_plan;

#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

static struct relief_str S(const char *s) {
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

static void
write_op(const struct relief_op *op, uint8_t hash[AM_HASH_LEN])
{
    char err[RELIEF_ERR_MAX] = "";
    int rc = relief_node_write(&g_node, op, 0, err, sizeof err, hash);
    cr_assert_eq(rc, AM_OK, "relief_node_write: %s (%s)", am_strerror(rc), err);
}

static uint64_t entries(void)
{
    struct store_stats st;
    cr_assert_eq(store_stats(g_node.store, &st), AM_OK);
    return st.entries;
}

/* A stock movement (reason) or, with reason 0, a count of qty ors at clinic-2. */
static struct relief_op stock_op(int reason, int64_t qty, const char *lot, uint32_t exp)
{
    struct relief_op op;
    memset(&op, 0, sizeof op);
    op.type = reason ? RELIEF_T_STOCK_MOVE : RELIEF_T_STOCK_COUNT;
    op.site = S("clinic-2");
    op.item = S("ors");
    op.q = qty;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q);
    if (reason) {
        op.reason = reason;
        HAS(&op, R);
    }
    if (lot) {
        op.lot = S(lot);
        HAS(&op, LOT);
    }
    if (exp) {
        op.exp = exp;
        HAS(&op, EXP);
    }
    return op;
}

static int64_t cell_value(const char *lot, uint32_t exp)
{
    struct query *q = NULL;
    const struct query_cell *c;
    int64_t v;
    cr_assert_eq(query_open(g_node.store, 0, &q), AM_OK);
    cr_assert_eq(query_cell(q, "clinic-2", "ors", lot, exp, &c), AM_OK, "no cell %s", lot);
    v = c->v.value;
    query_close(q);
    return v;
}

/* Plans op under a fresh query; the plan's return. */
static int plan(const struct relief_op *op, unsigned flags)
{
    struct query *q = NULL;
    int rc;
    cr_assert_eq(query_open(g_node.store, 0, &q), AM_OK);
    rc = stock_ops_plan(&g_node, q, op, flags, g_plan);
    query_close(q);
    return rc;
}

static void digest_now(uint8_t out[STOCK_OPS_DIGEST_LEN])
{
    struct query *q = NULL;
    cr_assert_eq(query_open(g_node.store, 0, &q), AM_OK);
    cr_assert_eq(stock_ops_digest(q, "clinic-2", "ors", out), AM_OK);
    query_close(q);
}

static uint32_t day(const char *s)
{
    uint32_t d;
    cr_assert_eq(relief_day_parse(s, &d), AM_OK);
    return d;
}

static void setup(void)
{
    uint8_t seed[AM_SEED_LEN], secret[AM_NETSECRET_LEN];
    struct relief_op op;
    cr_assert(sodium_init() >= 0);
    g_tmp = tu_tmpdir();
    cr_assert_eq(home_path(g_home, g_tmp, "home"), AM_OK);
    randombytes_buf(seed, sizeof seed);
    randombytes_buf(secret, sizeof secret);
    cr_assert_eq(home_init(g_home, seed, secret, "clinic", 0), AM_OK);
    cr_assert_eq(node_open(&g_node, g_home, NULL, NULL), AM_OK);
    cr_assert(g_plan = calloc(1, sizeof *g_plan));
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_SITE;
    op.site = S("clinic-2");
    op.name = S("Clinic 2");
    HAS(&op, SLUG), HAS(&op, NAME);
    write_op(&op, NULL);
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_ITEM;
    op.item = S("ors");
    op.name = S("ORS sachet");
    HAS(&op, CODE), HAS(&op, NAME);
    write_op(&op, NULL);
    op = stock_op(RELIEF_R_RECEIVED, 50, "L1", day("2039-01-01"));
    write_op(&op, NULL);
    op = stock_op(RELIEF_R_RECEIVED, 100, "L2", day("2040-01-01"));
    write_op(&op, NULL);
}

static void teardown(void)
{
    free(g_plan);
    node_close(&g_node);
    tu_rmrf(g_tmp);
    free(g_tmp);
}

TestSuite(stock_ops, .init = setup, .fini = teardown);

Test(stock_ops, issue_without_lot_takes_first_expiry_first)
{
    struct relief_op op = stock_op(RELIEF_R_ISSUED, 60, NULL, 0);
    uint64_t n0 = entries();
    char err[RELIEF_ERR_MAX];
    cr_assert_eq(plan(&op, 0), AM_OK, "%s", g_plan->msg);
    cr_assert(g_plan->fefo);
    cr_assert_eq(g_plan->n, 2);
    cr_assert_str_eq(g_plan->take[0].lot, "L1");
    cr_assert_eq(g_plan->take[0].qty, 50);
    cr_assert_str_eq(g_plan->take[1].lot, "L2");
    cr_assert_eq(g_plan->take[1].qty, 10);
    cr_assert_eq(g_plan->ops[1].exp, day("2040-01-01"));
    cr_assert_eq(stock_ops_write(&g_node, g_plan, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(entries(), n0 + 2);
    cr_assert_eq(cell_value("L1", day("2039-01-01")), 0);
    cr_assert_eq(cell_value("L2", day("2040-01-01")), 90);
}

Test(stock_ops, too_little_stock_is_refused_unless_forced)
{
    struct relief_op op = stock_op(RELIEF_R_ISSUED, 200, NULL, 0);
    char err[RELIEF_ERR_MAX];
    cr_assert_eq(plan(&op, 0), AM_ELIMIT);
    cr_assert_eq(g_plan->refused, STOCK_REFUSED_SHORT);
    cr_assert_eq(g_plan->seen, 150);
    cr_assert_str_eq(g_plan->lots, "L1, L2");
    cr_assert(strstr(g_plan->msg, "sees only 150 ors to issue at clinic-2"), "%s", g_plan->msg);
    cr_assert_null(strstr(g_plan->msg, "--force"), "no command-line flag for a phone");
    cr_assert_eq(plan(&op, STOCK_OPS_FORCE), AM_OK);
    cr_assert_eq(g_plan->n, 3, "both lots, then the rest on the cell without lot");
    cr_assert_eq(g_plan->take[2].lot[0], 0);
    cr_assert_eq(g_plan->take[2].qty, 50);
    cr_assert_eq(stock_ops_write(&g_node, g_plan, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(cell_value("", 0), -50);
}

Test(stock_ops, receipt_without_lot_asks_for_one)
{
    struct relief_op op = stock_op(RELIEF_R_RECEIVED, 5, NULL, 0);
    cr_assert_eq(plan(&op, 0), AM_EINVAL);
    cr_assert_eq(g_plan->refused, STOCK_REFUSED_NEED_LOT);
    cr_assert_str_eq(g_plan->lots, "L1, L2");
    cr_assert_eq(plan(&op, STOCK_OPS_NO_LOT), AM_OK);
    cr_assert_eq(g_plan->n, 1);
    cr_assert_not(g_plan->fefo);
    op = stock_op(RELIEF_R_RECEIVED, 5, "L3", 0);
    cr_assert_eq(plan(&op, 0), AM_OK, "a lot named: one op on its cell");
    cr_assert_str_eq(g_plan->take[0].lot, "L3");
}

Test(stock_ops, unknown_site_or_item)
{
    struct relief_op op = stock_op(RELIEF_R_RECEIVED, 5, "L1", 0);
    op.site = S("clinic-9");
    cr_assert_eq(plan(&op, 0), AM_ENOTFOUND);
    cr_assert_eq(g_plan->refused, STOCK_REFUSED_SITE);
    cr_assert(strstr(g_plan->msg, "'clinic-9'"), "%s", g_plan->msg);
    op.site = S("clinic-2");
    op.item = S("orz");
    cr_assert_eq(plan(&op, 0), AM_ENOTFOUND);
    cr_assert_eq(g_plan->refused, STOCK_REFUSED_ITEM);
    cr_assert_eq(plan(&op, STOCK_OPS_FORCE), AM_OK);
}

Test(stock_ops, count_carries_its_context_and_the_digest_sees_writes)
{
    struct relief_op op = stock_op(0, 47, "L1", day("2039-01-01"));
    uint8_t d0[STOCK_OPS_DIGEST_LEN], d1[STOCK_OPS_DIGEST_LEN], d2[STOCK_OPS_DIGEST_LEN];
    char err[RELIEF_ERR_MAX];
    digest_now(d0);
    digest_now(d1);
    cr_assert_eq(memcmp(d0, d1, sizeof d0), 0, "nothing written: the same digest");
    cr_assert_eq(plan(&op, 0), AM_OK, "%s", g_plan->msg);
    cr_assert_eq(memcmp(g_plan->digest, d0, sizeof d0), 0, "the plan's snapshot's digest");
    cr_assert(g_plan->ops[0].has & RELIEF_HAS(RELIEF_K_CTX));
    cr_assert_eq(stock_ops_write(&g_node, g_plan, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(cell_value("L1", day("2039-01-01")), 47);
    digest_now(d2);
    cr_assert_neq(memcmp(d0, d2, sizeof d0), 0, "a count changes the digest");
    /* a count of the value the cell holds changes it too: a count was recorded */
    op.q = 47;
    cr_assert_eq(plan(&op, 0), AM_OK);
    cr_assert_eq(stock_ops_write(&g_node, g_plan, err, sizeof err), AM_OK, "%s", err);
    digest_now(d1);
    cr_assert_neq(memcmp(d1, d2, sizeof d1), 0);
}

/* ---- needs ------------------------------------------------------------------------------ */

static const struct query_need *need_row(struct query **q, const uint8_t id[RELIEF_ID_LEN])
{
    const struct query_need *w;
    cr_assert_eq(query_open(g_node.store, 0, q), AM_OK);
    cr_assert_eq(query_need(*q, id, &w), AM_OK);
    return w;
}

Test(stock_ops, need_change_is_refused_on_a_stale_digest)
{
    struct relief_op op;
    struct need_plan *np = calloc(1, sizeof *np);
    uint8_t hash[AM_HASH_LEN], id[RELIEF_ID_LEN], d0[NEED_OPS_DIGEST_LEN], d1[NEED_OPS_DIGEST_LEN];
    char err[RELIEF_ERR_MAX];
    struct query *q = NULL;
    const struct query_need *w;

    cr_assert(np);
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_OPEN;
    op.site = S("clinic-2");
    op.item = S("ors");
    op.q = 100;
    op.pri = RELIEF_PRI_NORMAL;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
    write_op(&op, hash);
    relief_need_id(hash, id);
    w = need_row(&q, id);
    need_ops_digest(w, d0);
    /* a delivery: adds, names no heads */
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_DLV;
    op.q = 30;
    HAS(&op, Q);
    cr_assert_eq(need_ops_plan(w, &op, 0, d0, np), AM_OK, "%s", np->msg);
    cr_assert_not(np->op.has & RELIEF_HAS(RELIEF_K_SUP));
    cr_assert_eq(memcmp(np->op.need, id, RELIEF_ID_LEN), 0);
    query_close(q);
    cr_assert_eq(need_ops_write(&g_node, np, err, sizeof err, NULL), AM_OK, "%s", err);
    /* a form opened before the delivery is stale now */
    w = need_row(&q, id);
    cr_assert_eq(w->v.delivered, 30);
    need_ops_digest(w, d1);
    cr_assert_neq(memcmp(d0, d1, sizeof d0), 0);
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_UPD;
    op.pri = RELIEF_PRI_HIGH;
    HAS(&op, PRI);
    cr_assert_eq(need_ops_plan(w, &op, 0, d0, np), AM_ESTATE);
    cr_assert_eq(np->refused, NEED_REFUSED_STALE);
    cr_assert(strstr(np->msg, "changed since you opened it"), "%s", np->msg);
    /* on the state it shows now: the priority's head is named (sup) */
    cr_assert_eq(need_ops_plan(w, &op, 0, d1, np), AM_OK, "%s", np->msg);
    cr_assert(np->op.has & RELIEF_HAS(RELIEF_K_SUP));
    cr_assert_eq(np->op.sup.n, 1);
    query_close(q);
    cr_assert_eq(need_ops_write(&g_node, np, err, sizeof err, NULL), AM_OK, "%s", err);
    w = need_row(&q, id);
    cr_assert_eq(w->pri, RELIEF_PRI_HIGH);
    cr_assert_not(w->conflict, "sup named the head it replaced");
    query_close(q);
    free(np);
}
