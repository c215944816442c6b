/*
 * webapp_forms_test.c: the phone pages that change records (node/webapp_forms.h), called
 * as http.c calls them, over a real node home and store: the stock page of an item at a
 * site and its forms; an issue without lot (first expiry first out) written once, a second
 * tap answered with what the first recorded and nothing written; a form opened before a
 * write refused as stale with the record as it is now and the form as typed; bad input
 * (quantities, lots, an oversized field, unknown site and lot) refused with nothing
 * written; a need's page, a delivery, a stale delivery, a change of priority; pages under
 * 100 kB with typed markup escaped. Under the sanitizers this also checks that every page
 * path frees what it takes.
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
#include "store.h"
#include "testutil.h"
#include "webapp_forms.h"

static char *g_tmp;
static char g_home[AM_HOME_PATH_MAX];
static struct node g_node;
static struct webapp_ctx g_w;
static struct webapp_answer g_a;
static char g_need[33];

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

static void receive(const char *lot, const char *exp, int64_t q)
{
    struct relief_op op = {.type = RELIEF_T_STOCK_MOVE,
                           .site = S("clinic-2"),
                           .item = S("ors"),
                           .q = q,
                           .reason = RELIEF_R_RECEIVED,
                           .lot = S(lot)};
    cr_assert_eq(relief_day_parse(exp, &op.exp), AM_OK);
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, R), HAS(&op, LOT), HAS(&op, EXP);
    write_op(&op, NULL);
}

static void setup(void)
{
    uint8_t seed[AM_SEED_LEN], secret[AM_NETSECRET_LEN], hash[AM_HASH_LEN], id[RELIEF_ID_LEN];
    struct relief_op site = {.type = RELIEF_T_SITE, .site = S("clinic-2"), .name = S("C2")};
    struct relief_op item = {.type = RELIEF_T_ITEM, .item = S("ors"), .name = S("ORS")};
    struct relief_op need = {.type = RELIEF_T_NEED_OPEN,
                             .site = S("clinic-2"),
                             .item = S("ors"),
                             .q = 200,
                             .pri = RELIEF_PRI_NORMAL};
    cr_assert(sodium_init() >= 0);
    g_tmp = tu_tmpdir();
    cr_assert_eq(home_path(g_home, g_tmp, "home"), AM_OK);
    randombytes_buf(seed, sizeof seed);
    randombytes_buf(secret, sizeof secret);
    cr_assert_eq(home_init(g_home, seed, secret, "clinic", 0), AM_OK);
    cr_assert_eq(node_open(&g_node, g_home, NULL, NULL), AM_OK);
    HAS(&site, SLUG), HAS(&site, NAME), HAS(&item, CODE), HAS(&item, NAME);
    write_op(&site, NULL);
    write_op(&item, NULL);
    receive("L1", "2039-01-01", 50);
    receive("L2", "2040-01-01", 100);
    HAS(&need, SITE), HAS(&need, ITEM), HAS(&need, Q), HAS(&need, PRI);
    write_op(&need, hash);
    relief_need_id(hash, id);
    relief_id_hex(id, g_need);
    memset(&g_w, 0, sizeof g_w);
    g_w.n = &g_node;
    g_w.can_write = 1;
    g_w.csrf = "";
    memset(&g_a, 0, sizeof g_a);
}

static void teardown(void)
{
    free(g_a.out);
    node_close(&g_node);
    tu_rmrf(g_tmp);
    free(g_tmp);
}

TestSuite(webapp_forms, .init = setup, .fini = teardown);

/* The page of the last answer, NUL-terminated (the answer's bytes are not). */
static char g_page[200000];
static const char *page(void)
{
    cr_assert_lt(g_a.len, 102400, "a page over 100 kB: %zu", g_a.len);
    memcpy(g_page, g_a.out, g_a.len);
    g_page[g_a.len] = 0;
    free(g_a.out);
    g_a.out = NULL;
    return g_page;
}

/* The state (head) form `op` of the last page carries into out. */
static void head_of(const char *op, char out[40])
{
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "name=\"op\" value=\"%s\"", op);
    cr_assert(p = strstr(g_page, pat), "no form %s", op);
    cr_assert(p = strstr(p, "name=\"head\" value=\""));
    p += strlen("name=\"head\" value=\"");
    snprintf(out, 40, "%.*s", (int)strcspn(p, "\""), p);
}

static void stock_form(struct webapp_change_form *f, const char *op, const char *qty,
                       const char *lot, const char *head, const char *nonce)
{
    memset(f, 0, sizeof *f);
    snprintf(f->op, sizeof f->op, "%s", op);
    snprintf(f->site, sizeof f->site, "clinic-2");
    snprintf(f->item, sizeof f->item, "ors");
    snprintf(f->qty, sizeof f->qty, "%s", qty);
    snprintf(f->lot, sizeof f->lot, "%s", lot);
    snprintf(f->head, sizeof f->head, "%s", head);
    snprintf(f->nonce, sizeof f->nonce, "%s", nonce);
}

static int64_t cell(const char *lot)
{
    struct query *q = NULL;
    const struct query_cell *rows;
    struct query_cell_filter cf = {.site = "clinic-2", .item = "ors"};
    size_t n;
    int64_t v = -999;
    cr_assert_eq(query_open(g_node.store, 0, &q), AM_OK);
    cr_assert_eq(query_cells(q, &cf, &rows, &n), AM_OK);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rows[i].v.lot, lot))
            v = rows[i].v.value;
    query_close(q);
    return v;
}

Test(webapp_forms, issue_once_then_stale_then_bad_input)
{
    struct webapp_change_form f;
    char head[40], old[40];
    uint64_t n0;

    cr_assert_eq(webapp_stock_page(&g_w, "clinic-2", "ors", &g_a), AM_OK);
    cr_assert_eq(g_a.status, 200);
    page();
    head_of("issue", head);
    cr_assert_eq(strlen(head), 16);
    memcpy(old, head, sizeof old);
    n0 = entries();
    stock_form(&f, "issue", "60", "", head, "nonce-1");
    cr_assert_eq(webapp_stock_change(&g_w, &f, 0, NULL, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 200);
    cr_assert(g_a.written);
    cr_assert(strstr(page(), "first expiry first out: 50 from lot L1 (0 left), 10 from lot L2 "
                             "(90 left)"),
              "%s", g_page);
    cr_assert(strstr(g_a.done, "50 from lot L1"));
    cr_assert_eq(entries(), n0 + 2);
    cr_assert_eq(cell("L1"), 0);
    cr_assert_eq(cell("L2"), 90);

    /* the second tap: http.c hands back what the first recorded */
    {
        char first[WEBAPP_DONE_MAX];
        memcpy(first, g_a.done, sizeof first);
        cr_assert_eq(webapp_stock_change(&g_w, &f, 0, first, &g_a), AM_OK);
        cr_assert_not(g_a.written);
        cr_assert(strstr(page(), "Recorded already"));
        cr_assert_eq(entries(), n0 + 2);
    }

    /* the page opened before the issue: stale */
    stock_form(&f, "count", "77", "L2", old, "nonce-2");
    cr_assert_eq(webapp_stock_change(&g_w, &f, 0, NULL, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 409);
    cr_assert_not(g_a.written);
    cr_assert(strstr(page(), "changed since you opened this page"));
    cr_assert(strstr(g_page, "name=\"qty\" inputmode=\"numeric\" pattern=\"[0-9]+\" "
                             "maxlength=\"16\" required value=\"77\""),
              "the count as typed");
    cr_assert_eq(cell("L2"), 90);
    head_of("count", head);
    cr_assert_str_neq(head, old, "the page carries the state it shows now");

    /* bad input: a sentence, the form as typed, nothing written */
    {
        static const struct {
            const char *qty, *lot;
            unsigned status;
            const char *says;
        } bad[] = {{"-5", "", 422, "whole number"},
                   {"5x", "", 422, "whole number"},
                   {"99999999999999999999", "", 422, "whole number"},
                   {"9007199254740992", "", 422, "whole number"},
                   {"0", "", 422, "whole number"},
                   {"", "", 422, "whole number"},
                   {"1", "L9", 422, "No lot L9"},
                   {"1", "<b>", 422, "A lot is"},
                   {"1000", "", 422, "sees only 90 ors to issue"}};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            stock_form(&f, "issue", bad[i].qty, bad[i].lot, head, "nonce-3");
            cr_assert_eq(webapp_stock_change(&g_w, &f, 0, NULL, &g_a), AM_OK);
            cr_assert_eq(g_a.status, bad[i].status, "qty %s lot %s", bad[i].qty, bad[i].lot);
            cr_assert_not(g_a.written);
            cr_assert(strstr(page(), bad[i].says), "qty %s: %s", bad[i].qty, g_page);
            cr_assert(strstr(g_page, "id=\"refused\""));
            cr_assert_null(strstr(g_page, "<b>"), "typed markup escaped");
        }
        stock_form(&f, "issue", "1", "", head, "nonce-4");
        cr_assert_eq(webapp_stock_change(&g_w, &f, 1, NULL, &g_a), AM_OK);
        cr_assert_eq(g_a.status, 422);
        cr_assert(strstr(page(), "longer than it may be"));
        snprintf(f.site, sizeof f.site, "nowhere");
        cr_assert_eq(webapp_stock_change(&g_w, &f, 0, NULL, &g_a), AM_OK);
        cr_assert_eq(g_a.status, 404);
        cr_assert(strstr(page(), "knows no site"));
        snprintf(f.site, sizeof f.site, "clinic-2");
        snprintf(f.op, sizeof f.op, "steal");
        cr_assert_eq(webapp_stock_change(&g_w, &f, 0, NULL, &g_a), AM_OK);
        cr_assert_eq(g_a.status, 422);
        page();
        cr_assert_eq(entries(), n0 + 2, "nothing written by any of them");
    }
}

Test(webapp_forms, receive_and_count)
{
    struct webapp_change_form f;
    char head[40];
    cr_assert_eq(webapp_stock_page(&g_w, "clinic-2", "ors", &g_a), AM_OK);
    page();
    head_of("receive", head);
    stock_form(&f, "receive", "5", "", head, "n1");
    cr_assert_eq(webapp_stock_change(&g_w, &f, 0, NULL, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 422);
    cr_assert(strstr(page(), "is kept by lot (L1, L2)"));
    snprintf(f.nolot, sizeof f.nolot, "1");
    snprintf(f.expiry, sizeof f.expiry, "2030-01-01");
    cr_assert_eq(webapp_stock_change(&g_w, &f, 0, NULL, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 422, "no lot and an expiry say opposite things");
    page();
    f.expiry[0] = 0;
    cr_assert_eq(webapp_stock_change(&g_w, &f, 0, NULL, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 200);
    page();
    cr_assert_eq(cell(""), 5);
    head_of("count", head);
    stock_form(&f, "count", "0", "L1", head, "n2");
    cr_assert_eq(webapp_stock_change(&g_w, &f, 0, NULL, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 200);
    cr_assert(strstr(page(), "Counted 0 ors at clinic-2 (lot L1, expires 1 Jan 2039): stock "
                             "now 0"),
              "%s", g_page);
    cr_assert_eq(cell("L1"), 0);
}

Test(webapp_forms, chooser_and_read_only)
{
    cr_assert_eq(webapp_stock_page(&g_w, NULL, NULL, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 200);
    cr_assert(strstr(page(), "<option value=\"clinic-2\">"));
    cr_assert_eq(webapp_stock_page(&g_w, "clinic-2", "nothing", &g_a), AM_OK);
    cr_assert_eq(g_a.status, 404);
    cr_assert(strstr(page(), "knows no item"));
    g_w.can_write = 0;
    cr_assert_eq(webapp_stock_page(&g_w, "clinic-2", "ors", &g_a), AM_OK);
    cr_assert_null(strstr(page(), "method=\"post\""), "no forms for a read-only phone");
    cr_assert_eq(webapp_need_page(&g_w, g_need, &g_a), AM_OK);
    cr_assert_null(strstr(page(), "method=\"post\""));
}

Test(webapp_forms, need_deliver_stale_priority)
{
    struct webapp_change_form f;
    char head[40], old[40];
    uint64_t n0 = entries();

    cr_assert_eq(webapp_need_page(&g_w, g_need, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 200);
    cr_assert(strstr(page(), "<td id=\"v-qty\">200</td>"));
    head_of("deliver", old);
    memset(&f, 0, sizeof f);
    snprintf(f.op, sizeof f.op, "deliver");
    snprintf(f.qty, sizeof f.qty, "30");
    snprintf(f.head, sizeof f.head, "%s", old);
    cr_assert_eq(webapp_need_change(&g_w, g_need, &f, 0, NULL, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 200);
    cr_assert(g_a.written);
    cr_assert(strstr(page(), "Recorded a delivery of 30: 30 of 200 delivered now, open."));
    cr_assert_eq(entries(), n0 + 1);
    /* the same page's other form, opened before the delivery */
    snprintf(f.op, sizeof f.op, "priority");
    snprintf(f.priority, sizeof f.priority, "high");
    cr_assert_eq(webapp_need_change(&g_w, g_need, &f, 0, NULL, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 409);
    cr_assert(strstr(page(), "This need changed since you opened it"));
    cr_assert(strstr(g_page, "<option value=\"high\" selected>"), "the choice as made");
    cr_assert_eq(entries(), n0 + 1);
    head_of("priority", head);
    snprintf(f.head, sizeof f.head, "%s", head);
    cr_assert_eq(webapp_need_change(&g_w, g_need, &f, 0, NULL, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 200);
    cr_assert(strstr(page(), "the priority is high now"));
    /* bad input */
    snprintf(f.op, sizeof f.op, "deliver");
    snprintf(f.qty, sizeof f.qty, "-1");
    cr_assert_eq(webapp_need_change(&g_w, g_need, &f, 0, NULL, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 422);
    page();
    cr_assert_eq(webapp_need_change(&g_w, "ffffffff", &f, 0, NULL, &g_a), AM_OK);
    cr_assert_eq(g_a.status, 404);
    cr_assert(strstr(page(), "No need has that id"));
    cr_assert_eq(entries(), n0 + 2);
}
