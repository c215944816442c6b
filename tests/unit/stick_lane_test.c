/* stick_lane_test.c: the priority lane on a stick (PROTOCOL.md 11.3, 11.7): a stick that
 * fills up still carries a site's critical and high needs, ahead of the long backlog of
 * their log; the next site takes them by their own signatures; an export does not write
 * them again; once the stick has room, every site converges and the lane empties into the
 * logs. Shared fixture (three sites with real stores, a folder as the stick) in stick_tu.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "relief.h"
#include "relief_node.h"
#include "stick.h"
#include "stick_tu.h"
#include "store.h"
#include "testutil.h"

TestSuite(stick_lane, .init = stick_tu_setup, .fini = stick_tu_teardown, .timeout = 600);

#define NEEDS 7 /* 5 critical, 2 high */

struct need_at {
    uint64_t seq;
    uint8_t hash[AM_HASH_LEN];
};

/* Appends one need.open of priority pri at site s as the site's next entry; returns where
 * it went. */
static struct need_at add_need(struct site *s, int pri, int i)
{
    struct relief_op op;
    char item[32], err[RELIEF_ERR_MAX] = "";
    uint8_t buf[AM_OP_MAX];
    const uint8_t *p = buf;
    size_t len;
    struct store_head h;
    struct need_at at;

    snprintf(item, sizeof item, "ors-%d", i);
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_OPEN;
    op.site.p = "clinic-2";
    op.site.len = 8;
    op.item.p = item;
    op.item.len = (uint32_t)strlen(item);
    op.q = 100 + i;
    op.pri = pri;
    op.has = RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_ITEM) | RELIEF_HAS(RELIEF_K_Q) |
             RELIEF_HAS(RELIEF_K_PRI);
    cr_assert_eq(relief_op_encode(&op, buf, sizeof buf, &len, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(store_append(s->st, s->sk, &p, &len, 1, WALL, &h), AM_OK);
    at.seq = h.seq;
    memcpy(at.hash, h.hash, AM_HASH_LEN);
    return at;
}

/* Whether site s shows the need opened by the entry of hash h. */
static int need_shown(struct site *s, const uint8_t h[AM_HASH_LEN])
{
    struct relief_key k;
    struct relief_node_need nd;
    uint8_t *v = NULL;
    size_t len;
    int rc;
    memset(&k, 0, sizeof k);
    k.kind = RELIEF_OBJ_NEED;
    relief_need_id(h, k.need);
    rc = relief_node_view(s->st, &k, &v, &len);
    if (rc == AM_ENOTFOUND)
        return 0;
    cr_assert_eq(rc, AM_OK);
    cr_assert_eq(relief_node_need_parse(v, len, &nd), AM_OK);
    free(v);
    return nd.opened;
}

static uint64_t lane_count(struct site *s)
{
    uint64_t n = 0;
    cr_assert_eq(store_lane_count(s->st, &n), AM_OK);
    return n;
}

/* A: a long backlog of notes, then NEEDS needs; the stick takes 100 kB from A. */
static void fill_a(struct need_at at[NEEDS], struct stick_report *r)
{
    struct stick_cfg c;
    write_notes(&A, NULL, 3000, "backlog");
    for (int i = 0; i < NEEDS; i++)
        at[i] = add_need(&A, i < 5 ? 1 : 2, i);
    c = cfg_for(&A, stick, NULL);
    c.max_bytes = 100000;
    cr_assert_eq(stick_sync(&c, &A.ss, r), AM_OK);
}

Test(stick_lane, full_stick_carries_the_critical_needs_first)
{
    struct need_at at[NEEDS];
    struct stick_report r, rb;

    fill_a(at, &r);
    cr_assert(r.full, "100 kB cannot hold 3,007 entries");
    cr_assert_lt(r.exported, 3000);
    cr_assert_eq(r.lane_out, NEEDS, "every critical and high need rides ahead (%llu)",
                 (unsigned long long)r.lane_out);
    /* the baseline, log order: the log on the stick stops long before the needs */
    for (int i = 0; i < NEEDS; i++)
        cr_assert_gt(at[i].seq, r.exported);

    cr_assert_eq(do_sync(&B, stick, &rb), AM_OK);
    cr_assert_eq(rb.lane_read, NEEDS);
    cr_assert_eq(rb.lane_added, NEEDS);
    cr_assert_eq(entries_of(&B), r.exported, "the log arrived only as far as the stick held it");
    cr_assert_eq(lane_count(&B), NEEDS);
    for (int i = 0; i < NEEDS; i++)
        cr_assert(need_shown(&B, at[i].hash), "need %d shown at the next site", i);
    /* and the site after it gets them from B's own export too */
    cr_assert_eq(do_sync(&C, stick, &rb), AM_OK);
    for (int i = 0; i < NEEDS; i++)
        cr_assert(need_shown(&C, at[i].hash), "need %d shown two sites on", i);
}

Test(stick_lane, an_export_does_not_write_the_lane_twice_and_all_converge)
{
    struct need_at at[NEEDS];
    struct stick_report r, r2;
    struct stick_cfg c;

    fill_a(at, &r);
    cr_assert_eq(r.lane_out, NEEDS);
    /* A again, still short of room: the needs are on the stick already */
    c = cfg_for(&A, stick, NULL);
    c.max_bytes = 100000;
    cr_assert_eq(stick_sync(&c, &A.ss, &r2), AM_OK);
    cr_assert_eq(r2.lane_read, NEEDS);
    cr_assert_eq(r2.lane_out, 0, "wrote %llu lane entries again", (unsigned long long)r2.lane_out);
    cr_assert_gt(r2.exported, 0, "the backlog goes on");
    /* room at last: every site converges, and B's lane empties into the logs */
    cr_assert_eq(do_sync(&B, stick, &r2), AM_OK);
    cr_assert_eq(lane_count(&B), NEEDS);
    cr_assert_eq(do_sync(&A, stick, &r2), AM_OK);
    cr_assert_eq(do_sync(&B, stick, &r2), AM_OK);
    assert_same(&A, &B);
    cr_assert_eq(entries_of(&B), 3000 + NEEDS);
    cr_assert_eq(lane_count(&B), 0, "held in the log now");
    for (int i = 0; i < NEEDS; i++)
        cr_assert(need_shown(&B, at[i].hash));
}

Test(stick_lane, a_lane_entry_already_in_the_log_adds_nothing)
{
    struct need_at at[NEEDS];
    struct stick_report r;

    fill_a(at, &r);
    /* A reads its own stick back: what the lane carries, A holds in its log */
    cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
    cr_assert_eq(r.lane_read, NEEDS);
    cr_assert_eq(r.lane_added, 0);
    cr_assert_eq(lane_count(&A), 0);
}
