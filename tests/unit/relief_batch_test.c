/*
 * relief_batch_test.c: relief_node_write_batch and relief_node_check (node/relief_node.h)
 * over a real node home and store, as `aidmesh import` uses them: many ops written in one
 * append, consecutive entries of this node; one refused op (anywhere in the batch) leaves
 * the store as it was and names its index; relief_node_check refuses what the write
 * refuses and writes nothing; the batch bounds.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "home.h"
#include "node.h"
#include "relief.h"
#include "relief_node.h"
#include "store.h"
#include "testutil.h"

#define N_OPS 300 /* well past RELIEF_NODE_OPS_MAX */

static char *g_tmp;
static char g_home[AM_HOME_PATH_MAX];
static struct node g_node;
static char g_slugs[N_OPS][RELIEF_SLUG_MAX + 1];
static struct relief_op g_ops[N_OPS];

static void setup(void)
{
    uint8_t seed[AM_SEED_LEN], secret[AM_NETSECRET_LEN];
    cr_assert(sodium_init() >= 0);
    g_tmp = tu_tmpdir();
    cr_assert_eq(home_path(g_home, g_tmp, "home"), AM_OK);
    randombytes_buf(seed, sizeof seed);
    randombytes_buf(secret, sizeof secret);
    cr_assert_eq(home_init(g_home, seed, secret, "batch", 0), AM_OK);
    cr_assert_eq(node_open(&g_node, g_home, NULL, NULL), AM_OK);
    for (int i = 0; i < N_OPS; i++) {
        struct relief_op *op = &g_ops[i];
        snprintf(g_slugs[i], sizeof g_slugs[i], "site-%d", i);
        memset(op, 0, sizeof *op);
        op->type = RELIEF_T_SITE;
        op->site = (struct relief_str){g_slugs[i], (uint32_t)strlen(g_slugs[i])};
        op->name = (struct relief_str){"A site", 6};
        op->has = RELIEF_HAS(RELIEF_K_SLUG) | RELIEF_HAS(RELIEF_K_NAME);
    }
}

static void teardown(void)
{
    node_close(&g_node);
    tu_rmrf(g_tmp);
    free(g_tmp);
}

TestSuite(relief_batch, .init = setup, .fini = teardown);

static uint64_t entries(void)
{
    struct store_stats st;
    cr_assert_eq(store_stats(g_node.store, &st), AM_OK);
    return st.entries;
}

static int site_defined(int i)
{
    struct relief_key key;
    memset(&key, 0, sizeof key);
    key.kind = RELIEF_OBJ_SITE;
    snprintf(key.site, sizeof key.site, "%s", g_slugs[i]);
    return relief_node_exists(g_node.store, &key);
}

Test(relief_batch, writes_every_op_in_one_append)
{
    char err[RELIEF_ERR_MAX + 64];
    size_t bad = 99;
    uint8_t hash[AM_HASH_LEN];
    struct store_head h;
    int rc = relief_node_write_batch(&g_node, g_ops, N_OPS, 0, err, sizeof err, &bad, hash);
    cr_assert_eq(rc, AM_OK, "%s (%s)", am_strerror(rc), err);
    cr_assert_eq(entries(), N_OPS);
    cr_assert_eq(bad, 0);
    cr_assert_eq(store_head_get(g_node.store, g_node.pk, &h), AM_OK);
    cr_assert_eq(h.seq, N_OPS, "consecutive entries of this node: the head is the last");
    cr_assert_eq(memcmp(h.hash, hash, AM_HASH_LEN), 0);
    cr_assert(site_defined(0) && site_defined(N_OPS / 2) && site_defined(N_OPS - 1));
}

Test(relief_batch, one_bad_op_writes_nothing_and_is_named)
{
    static const size_t at[] = {0, 137, N_OPS - 1};
    for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
        char err[RELIEF_ERR_MAX + 64] = "";
        size_t bad = 0;
        struct relief_op good = g_ops[at[k]];
        int rc;
        g_ops[at[k]].name = (struct relief_str){"two\nlines", 9}; /* not printable text */
        rc = relief_node_write_batch(&g_node, g_ops, N_OPS, 0, err, sizeof err, &bad, NULL);
        cr_assert_eq(rc, AM_EINVAL, "op %zu: %s", at[k], am_strerror(rc));
        cr_assert_eq(bad, at[k]);
        cr_assert(strstr(err, "printable") != NULL, "%s", err);
        cr_assert_eq(entries(), 0, "nothing of the batch is written");
        cr_assert(!site_defined(0));
        g_ops[at[k]] = good;
    }
}

Test(relief_batch, an_unknown_reference_refuses_the_batch_unless_forced)
{
    char err[RELIEF_ERR_MAX + 64];
    size_t bad = 0;
    struct relief_op ops[3] = {g_ops[0], g_ops[1], {0}};
    ops[2].type = RELIEF_T_NEED_OPEN;
    ops[2].site = (struct relief_str){"nowhere", 7};
    ops[2].item = (struct relief_str){"ors", 3};
    ops[2].q = 5;
    ops[2].pri = RELIEF_PRI_NORMAL;
    ops[2].has = RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_ITEM) | RELIEF_HAS(RELIEF_K_Q) |
                 RELIEF_HAS(RELIEF_K_PRI);
    cr_assert_eq(relief_node_check(&g_node, &ops[2], 0, err, sizeof err), AM_ENOTFOUND);
    cr_assert_eq(relief_node_check(&g_node, &ops[2], 1, err, sizeof err), AM_OK);
    cr_assert_eq(relief_node_check(&g_node, &ops[0], 0, err, sizeof err), AM_OK);
    cr_assert_eq(entries(), 0, "relief_node_check never writes");
    cr_assert_eq(relief_node_write_batch(&g_node, ops, 3, 0, err, sizeof err, &bad, NULL),
                 AM_ENOTFOUND);
    cr_assert_eq(bad, 2);
    cr_assert_eq(entries(), 0);
    cr_assert_eq(relief_node_write_batch(&g_node, ops, 3, 1, err, sizeof err, &bad, NULL), AM_OK);
    cr_assert_eq(entries(), 3);
}

Test(relief_batch, bounds)
{
    char err[64];
    cr_assert_eq(relief_node_write_batch(&g_node, g_ops, 0, 0, err, sizeof err, NULL, NULL),
                 AM_EINVAL);
    cr_assert_eq(relief_node_write_batch(&g_node, g_ops, RELIEF_NODE_BATCH_MAX + 1, 0, err,
                                         sizeof err, NULL, NULL),
                 AM_EINVAL);
    cr_assert_eq(
        relief_node_write_ops(&g_node, g_ops, RELIEF_NODE_OPS_MAX + 1, 0, err, sizeof err, NULL),
        AM_EINVAL);
    cr_assert_eq(
        relief_node_write_ops(&g_node, g_ops, RELIEF_NODE_OPS_MAX, 0, err, sizeof err, NULL),
        AM_OK);
    cr_assert_eq(entries(), RELIEF_NODE_OPS_MAX);
}
