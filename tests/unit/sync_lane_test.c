/* sync_lane_test.c: the priority lane (LANE, PROTOCOL.md 8.4) between two sync engines
 * over memory with real LMDB stores: a contact cut early still carries the critical open
 * needs at the end of a long log; a long one converges with the lane emptied; forged lane
 * entries are refused and the session goes on; the per-session caps; strict decoding. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "entry.h"
#include "query.h"
#include "relief.h"
#include "store.h"
#include "sync.h"
#include "syncstore.h"
#include "testutil.h"

#define WALL     1700000000000ULL
#define BACKLOG  2000  /* entries of the sender's one author */
#define CRITICAL 5     /* need.open of priority critical, the last entries of that log */
#define CUT      10240 /* bytes of sender output a short contact carries */
/* more needs than a session's lane carries, and a LANE message's entries: two of them are
 * more than a session takes (each within one message's container limit) */
#define NEEDS_OVER_CAP (SYNC_LANE_MAX + 44)
#define LANE_BINS      (SYNC_LANE_MAX / 2 + 100)

#define S(x)       ((struct relief_str){(x), (uint32_t)strlen(x)})
#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

struct peer {
    char *dir;
    struct store *st;
    struct sync_store ss;
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    uint8_t install[AM_INSTALL_ID_LEN];
    struct sync_session sess;
};

static uint8_t netkey[AM_NETKEY_LEN];
static uint64_t rng;
static struct peer A, B;
static uint8_t author_sk[AM_SK_LEN], author_pk[AM_PK_LEN];

static void peer_open(struct peer *p)
{
    memset(p, 0, sizeof *p);
    p->dir = tu_tmpdir();
    cr_assert_eq(store_open(&p->st, p->dir, NULL), AM_OK);
    syncstore_init(&p->ss, p->st);
    crypto_sign_keypair(p->pk, p->sk);
    store_install_id(p->st, p->install, NULL);
}

static void peer_close(struct peer *p)
{
    sync_free(&p->sess);
    store_close(p->st);
    tu_rmrf(p->dir);
    free(p->dir);
}

static void start(struct peer *p, int initiator, const struct sync_store *ss)
{
    struct sync_config c = {
        .initiator = initiator,
        .netkey = netkey,
        .sk = p->sk,
        .install_id = p->install,
        .store = ss ? ss : &p->ss,
    };
    sync_free(&p->sess);
    cr_assert_eq(sync_init(&p->sess, &c), AM_OK);
}

/* Moves bytes both ways in random chunks until nothing moves, or until `budget` bytes of
 * a's output have gone (then the contact is cut). Returns the bytes of a's output moved. */
static int hold_want; /* pump holds b's output back while a's offer awaits its WANT */

static size_t pump(struct peer *a, struct peer *b, size_t budget)
{
    size_t from_a = 0;
    for (int idle = 0; idle < 2;) {
        int any = 0;
        struct peer *pair[2][2] = {{a, b}, {b, a}};
        for (int d = 0; d < 2; d++) {
            struct peer *from = pair[d][0], *to = pair[d][1];
            size_t n, chunk;
            const uint8_t *out = sync_output(&from->sess, &n);
            if (n == 0 || (sync_state(&to->sess) & SYNC_CLOSED))
                continue;
            if (d == 1 && hold_want && a->sess.lane_offered)
                continue; /* a peer that stalls after reconciliation */
            chunk = 1 + tu_rand(&rng) % (n < 4096 ? n : 4096);
            if (d == 0 && chunk > budget - from_a)
                chunk = budget - from_a;
            if (chunk == 0)
                continue;
            sync_feed(&to->sess, out, chunk);
            sync_flush(&to->sess);
            sync_output_done(&from->sess, chunk);
            if (d == 0)
                from_a += chunk;
            any = 1;
        }
        idle = any ? 0 : idle + 1;
    }
    return from_a;
}

static void append_op(struct store *st, const struct relief_op *op)
{
    uint8_t buf[AM_OP_MAX];
    const uint8_t *ops[1] = {buf};
    size_t len;
    char err[RELIEF_ERR_MAX] = "";
    cr_assert_eq(relief_op_encode(op, buf, sizeof buf, &len, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(store_append(st, author_sk, ops, &len, 1, WALL, NULL), AM_OK);
}

static void need_open(struct store *st, const char *site, const char *item, int pri)
{
    struct relief_op op = {.type = RELIEF_T_NEED_OPEN};
    op.site = S(site);
    op.item = S(item);
    op.q = 10;
    op.pri = pri;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
    append_op(st, &op);
}

/* The sender's backlog: one author, BACKLOG entries; a stock count of the critical need's
 * site and item in the middle, low needs around it, the CRITICAL needs last. */
static void write_backlog(struct store *st)
{
    char site[32];
    for (int i = 0; i < BACKLOG - CRITICAL; i++) {
        if (i == BACKLOG / 2) {
            struct relief_op op = {.type = RELIEF_T_STOCK_COUNT};
            op.site = S("camp-9");
            op.item = S("water");
            op.q = 40;
            HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, CTX); /* ctx: none seen */
            append_op(st, &op);
            continue;
        }
        snprintf(site, sizeof site, "site-%d", i % 97);
        need_open(st, site, "rice", RELIEF_PRI_LOW);
    }
    for (int i = 0; i < CRITICAL; i++) {
        snprintf(site, sizeof site, "camp-%d", 9 - i % 2);
        need_open(st, site, i % 2 ? "tents" : "water", RELIEF_PRI_CRITICAL);
    }
}

static size_t critical_open(struct store *st)
{
    struct query *q;
    const struct query_need *rows;
    size_t n;
    struct query_need_filter f = {.status = RELIEF_ST_OPEN, .priority = RELIEF_PRI_CRITICAL};
    cr_assert_eq(query_open(st, WALL, &q), AM_OK);
    cr_assert_eq(query_needs(q, &f, &rows, &n), AM_OK);
    query_close(q);
    return n;
}

static int has_count(struct store *st)
{
    struct query *q;
    const struct query_cell *rows;
    size_t n;
    int found = 0;
    struct query_cell_filter f = {.site = "camp-9", .item = "water"};
    cr_assert_eq(query_open(st, WALL, &q), AM_OK);
    cr_assert_eq(query_cells(q, &f, &rows, &n), AM_OK);
    for (size_t i = 0; i < n; i++)
        found |= rows[i].v.has_winner && rows[i].v.winner.q == 40;
    query_close(q);
    return found;
}

static uint64_t lane_held(struct store *st)
{
    uint64_t n;
    cr_assert_eq(store_lane_count(st, &n), AM_OK);
    return n;
}

static uint64_t entries_of(struct store *st)
{
    struct store_stats s;
    cr_assert_eq(store_stats(st, &s), AM_OK);
    return s.entries;
}

static void assert_same_views(void)
{
    uint8_t da[AM_HASH_LEN], db[AM_HASH_LEN];
    cr_assert_eq(store_views_digest(A.st, da), AM_OK);
    cr_assert_eq(store_views_digest(B.st, db), AM_OK);
    cr_assert_eq(memcmp(da, db, AM_HASH_LEN), 0, "the views digests differ");
}

static void setup(void)
{
    hold_want = 0;
    cr_assert(sodium_init() >= 0);
    rng = tu_seed("sync_lane");
    randombytes_buf(netkey, sizeof netkey);
    crypto_sign_keypair(author_pk, author_sk);
    peer_open(&A);
    peer_open(&B);
}

static void teardown(void)
{
    peer_close(&A);
    peer_close(&B);
}

TestSuite(sync_lane, .init = setup, .fini = teardown, .timeout = 300);

Test(sync_lane, a_cut_contact_carries_the_critical_needs_and_a_long_one_converges)
{
    struct sync_store nolane;
    size_t sent, step;

    write_backlog(A.st);
    cr_assert_eq(critical_open(A.st), CRITICAL);

    /* baseline: the logs in order only (no lane at the sender) */
    nolane = A.ss;
    nolane.lane = NULL;
    start(&A, 1, &nolane);
    start(&B, 0, NULL);
    sent = pump(&A, &B, CUT);
    cr_log_info("log order, contact cut at %zu bytes of sender output: receiver holds %llu "
                "entries, %zu of %d critical needs",
                sent, (unsigned long long)entries_of(B.st), critical_open(B.st), CRITICAL);
    cr_assert_eq(critical_open(B.st), 0, "the baseline carries a critical need: no test");
    cr_assert_eq(A.sess.stats.lane_out, 0);

    /* with the lane, on a fresh receiver */
    peer_close(&B);
    peer_open(&B);
    start(&A, 1, NULL);
    start(&B, 0, NULL);
    sent = pump(&A, &B, CUT);
    cr_log_info("lane, contact cut at %zu bytes of sender output: %llu lane entries sent, "
                "receiver holds %zu of %d critical needs, %llu in its lane, %llu in its logs",
                sent, (unsigned long long)A.sess.stats.lane_out, critical_open(B.st), CRITICAL,
                (unsigned long long)lane_held(B.st), (unsigned long long)entries_of(B.st));
    cr_assert_eq(sent, CUT);
    cr_assert_eq(critical_open(B.st), CRITICAL);
    cr_assert(has_count(B.st), "the stock count of the critical need's item came in the lane");
    cr_assert_eq(A.sess.stats.lane_out, CRITICAL + 1);
    cr_assert_eq(B.sess.stats.lane_in, CRITICAL + 1);
    cr_assert_eq(B.sess.stats.lane_added, CRITICAL + 1);
    cr_assert_eq(lane_held(B.st), CRITICAL + 1);

    /* how little it takes: sender output, a little at a time, until all are in */
    peer_close(&B);
    peer_open(&B);
    start(&A, 1, NULL);
    start(&B, 0, NULL);
    for (sent = 0, step = 0; critical_open(B.st) < CRITICAL && step < 64; step++)
        sent += pump(&A, &B, 256);
    cr_assert_eq(critical_open(B.st), CRITICAL);
    cr_log_info("the receiver holds all %d critical needs after %zu bytes of sender output",
                CRITICAL, sent);
    cr_assert_leq(sent, CUT);

    /* a long contact: everything, the lane emptied, the same views */
    start(&A, 1, NULL);
    start(&B, 0, NULL);
    sent = pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_eq(entries_of(B.st), BACKLOG);
    cr_assert_eq(lane_held(B.st), 0, "the log took over every lane entry");
    assert_same_views();
    cr_log_info("the long contact: %zu bytes of sender output, %llu lane entries sent again", sent,
                (unsigned long long)A.sess.stats.lane_out);
}

/* A lane that forges: the sender's real candidates with one signature byte flipped. */
struct forge {
    int (*cb)(void *cbctx, const uint8_t log[AM_PK_LEN], uint64_t seq, const uint8_t *raw,
              size_t len);
    void *cbctx;
};

static int forge_one(void *ctx, const uint8_t log[AM_PK_LEN], uint64_t seq, const uint8_t *raw,
                     size_t len)
{
    struct forge *f = ctx;
    uint8_t copy[AM_ENTRY_MAX];
    cr_assert_leq(len, sizeof copy);
    memcpy(copy, raw, len);
    copy[len - 1] ^= 0x01; /* the signature is the entry's last bytes */
    return f->cb(f->cbctx, log, seq, copy, len);
}

static int forging_lane(void *ctx,
                        int (*cb)(void *cbctx, const uint8_t log[AM_PK_LEN], uint64_t seq,
                                  const uint8_t *raw, size_t len),
                        void *cbctx)
{
    struct forge f = {cb, cbctx};
    return A.ss.lane(ctx, forge_one, &f);
}

Test(sync_lane, forged_lane_entries_are_refused_and_the_session_goes_on)
{
    struct sync_store forger = A.ss;
    forger.lane = forging_lane;
    write_backlog(A.st);
    start(&A, 1, &forger);
    start(&B, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    cr_assert_eq(A.sess.stats.lane_out, CRITICAL + 1);
    cr_assert_eq(B.sess.stats.lane_in, CRITICAL + 1);
    cr_assert_eq(B.sess.stats.lane_added, 0, "a forged entry was taken");
    cr_assert_eq(sync_error(&B.sess), AM_OK);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC, "the session went on to the end");
    cr_assert_eq(entries_of(B.st), BACKLOG);
    cr_assert_eq(lane_held(B.st), 0);
    cr_assert_eq(critical_open(B.st), CRITICAL);
    assert_same_views();
}

/* A lane of every entry of the author, in seq order: more than a session sends. */
struct all_ctx {
    int (*cb)(void *cbctx, const uint8_t log[AM_PK_LEN], uint64_t seq, const uint8_t *raw,
              size_t len);
    void *cbctx;
    uint64_t seq;
};

static int all_one(void *ctx, const uint8_t *raw, size_t len)
{
    struct all_ctx *c = ctx;
    return c->cb(c->cbctx, author_pk, ++c->seq, raw, len);
}

static int all_lane(void *ctx,
                    int (*cb)(void *cbctx, const uint8_t log[AM_PK_LEN], uint64_t seq,
                              const uint8_t *raw, size_t len),
                    void *cbctx)
{
    struct all_ctx c = {cb, cbctx, 0};
    int rc = store_entries_each(ctx, author_pk, 1, all_one, &c);
    return rc > 0 ? AM_OK : rc;
}

Test(sync_lane, a_session_sends_at_most_the_lane_cap_and_only_what_the_peer_lacks)
{
    struct sync_store big = A.ss;
    char site[32];
    big.lane = all_lane;
    for (int i = 0; i < NEEDS_OVER_CAP; i++) {
        snprintf(site, sizeof site, "s-%d", i);
        need_open(A.st, site, "rice", RELIEF_PRI_HIGH);
    }
    /* the receiver holds the first 20 already */
    {
        uint8_t raw[AM_ENTRY_MAX];
        size_t len;
        struct store_ingest_stats is;
        for (uint64_t seq = 1; seq <= 20; seq++) {
            const uint8_t *p = raw;
            cr_assert_eq(store_entry_get(A.st, author_pk, seq, raw, sizeof raw, &len), AM_OK);
            cr_assert_eq(store_ingest(B.st, &p, &len, 1, WALL, &is), AM_OK);
            cr_assert_eq(is.added, 1);
        }
    }
    start(&A, 1, &big);
    start(&B, 0, NULL);
    /* the offer and the lane, cut as soon as the lane is in: the logs have barely begun */
    for (size_t moved = 0; B.sess.stats.lane_added < SYNC_LANE_MAX && moved < (64u << 20);)
        moved += pump(&A, &B, 4096);
    cr_assert_lt(entries_of(B.st), NEEDS_OVER_CAP, "the log went through: no cut");
    cr_assert_eq(A.sess.stats.lane_out, SYNC_LANE_MAX);
    cr_assert_eq(B.sess.stats.lane_added, SYNC_LANE_MAX, "the first %d were skipped as held", 20);
    cr_assert_eq(lane_held(B.st), SYNC_LANE_MAX);
    start(&A, 1, &big);
    start(&B, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    cr_assert_eq(entries_of(B.st), NEEDS_OVER_CAP);
    cr_assert_eq(lane_held(B.st), 0);
    assert_same_views();
}

/* The receiver's side, message by message. */
static uint64_t handed;
static int count_ingest(void *ctx, const uint8_t *const *raw, const size_t *lens, size_t n,
                        uint64_t *added)
{
    handed += n;
    return B.ss.lane_ingest(ctx, raw, lens, n, added);
}

Test(sync_lane, lane_messages_decode_strictly_and_a_session_takes_at_most_the_cap)
{
    struct sync_store counting = B.ss;
    static uint8_t msg[8192];
    size_t len = 0;
    counting.lane_ingest = count_ingest;
    handed = 0;

    /* [11, [LANE_BINS x bin "x"]] twice: not entries (refused as malformed by the store),
     * and more in all than a session hands over */
    start(&B, 0, &counting);
    msg[len++] = 0x92;
    msg[len++] = 11;
    msg[len++] = 0xdc;
    msg[len++] = LANE_BINS >> 8;
    msg[len++] = LANE_BINS & 0xff;
    for (int i = 0; i < LANE_BINS; i++) {
        msg[len++] = 0xc4;
        msg[len++] = 1;
        msg[len++] = 'x';
    }
    cr_assert_eq(sync_debug_message(&B.sess, msg, len), AM_OK);
    cr_assert_eq(B.sess.stats.lane_in, LANE_BINS);
    cr_assert_eq(handed, LANE_BINS);
    cr_assert_eq(sync_debug_message(&B.sess, msg, len), AM_OK);
    cr_assert_eq(handed, SYNC_LANE_MAX, "the second LANE was handed over up to the cap only");
    cr_assert_eq(sync_debug_message(&B.sess, msg, len), AM_OK);
    cr_assert_eq(handed, SYNC_LANE_MAX, "a third LANE of the session was handed over");
    cr_assert_eq(lane_held(B.st), 0);

    /* malformed: no list, a list of non-bins, an extra field, a str for a bin */
    {
        static const uint8_t bad[][8] = {
            {0x91, 11},
            {0x92, 11, 0x91, 0x01},
            {0x93, 11, 0x90, 0x01},
            {0x92, 11, 0x91, 0xa1, 'x'},
            {0x92, 11, 0xc4, 0x01, 'x'},
        };
        static const size_t bad_len[] = {2, 4, 4, 5, 5};
        for (size_t i = 0; i < sizeof bad_len / sizeof bad_len[0]; i++) {
            start(&B, 0, &counting);
            cr_assert_eq(sync_debug_message(&B.sess, bad[i], bad_len[i]), AM_EMALFORMED, "case %zu",
                         i);
        }
    }
    /* a store without a lane ignores LANE */
    counting.lane_ingest = NULL;
    handed = 0;
    start(&B, 0, &counting);
    cr_assert_eq(sync_debug_message(&B.sess, msg, len), AM_OK);
    cr_assert_eq(handed, 0);
    cr_assert_eq(B.sess.stats.lane_in, LANE_BINS);
}

Test(sync_lane, a_second_short_contact_sends_only_the_lane_entries_the_peer_lacks)
{
    write_backlog(A.st);
    start(&A, 1, NULL);
    start(&B, 0, NULL);
    pump(&A, &B, CUT);
    cr_assert_eq(A.sess.stats.lane_out, CRITICAL + 1);
    cr_assert_eq(critical_open(B.st), CRITICAL);
    cr_assert_lt(entries_of(B.st), BACKLOG, "the first contact was not cut");

    /* three more critical needs at new (site, item)s: the next short contact offers all
     * it has, the receiver wants only those three */
    need_open(A.st, "camp-1", "soap", RELIEF_PRI_CRITICAL);
    need_open(A.st, "camp-2", "soap", RELIEF_PRI_CRITICAL);
    need_open(A.st, "camp-3", "soap", RELIEF_PRI_CRITICAL);
    start(&A, 1, NULL);
    start(&B, 0, NULL);
    pump(&A, &B, CUT);
    cr_log_info("second contact: %llu lane entries sent, receiver holds %zu critical needs",
                (unsigned long long)A.sess.stats.lane_out, critical_open(B.st));
    cr_assert_eq(A.sess.stats.lane_out, 3, "lane entries the receiver held went again");
    cr_assert_eq(B.sess.stats.lane_in, 3);
    cr_assert_eq(B.sess.stats.lane_added, 3);
    cr_assert_eq(critical_open(B.st), CRITICAL + 3);

    /* a third: nothing new to want, nothing sent; then a long one converges */
    start(&A, 1, NULL);
    start(&B, 0, NULL);
    pump(&A, &B, CUT);
    cr_assert_eq(A.sess.stats.lane_out, 0);
    start(&A, 1, NULL);
    start(&B, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_eq(entries_of(B.st), BACKLOG + 3);
    cr_assert_eq(lane_held(B.st), 0);
    assert_same_views();
}

Test(sync_lane, a_peer_that_never_wants_holds_the_logs_back_only_until_the_bound)
{
    uint64_t d;
    write_backlog(A.st);
    hold_want = 1;
    start(&A, 1, NULL);
    start(&B, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    cr_assert_eq(A.sess.lane_offered, CRITICAL + 1, "no offer went out");
    cr_assert_eq(A.sess.stats.entries_out, 0, "a log streamed before the WANT");
    cr_assert_eq(A.sess.stats.lane_out, 0);
    d = sync_next_deadline(&A.sess);
    cr_assert_eq(d, SYNC_LANE_WANT_MS, "the deadline is not the wait's end (%llu)",
                 (unsigned long long)d);
    sync_tick(&A.sess, d - 1);
    pump(&A, &B, SIZE_MAX);
    cr_assert_eq(A.sess.stats.entries_out, 0, "the wait ended early");
    sync_tick(&A.sess, d);
    pump(&A, &B, SIZE_MAX);
    cr_assert_eq(A.sess.stats.entries_out, BACKLOG, "the logs did not go after the wait");
    cr_assert_eq(entries_of(B.st), BACKLOG);
    cr_assert_eq(A.sess.stats.lane_out, 0);
    /* the late WANT answers the offer: checked, nothing more sent, the session goes on */
    hold_want = 0;
    pump(&A, &B, SIZE_MAX);
    cr_assert_eq(sync_error(&A.sess), AM_OK);
    cr_assert_eq(A.sess.lane_offered, 0);
    cr_assert_eq(A.sess.stats.lane_out, 0);
    cr_assert(sync_state(&A.sess) & SYNC_IN_SYNC);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    assert_same_views();
}

Test(sync_lane, a_receiver_without_a_lane_wants_nothing_and_the_logs_go_at_once)
{
    struct sync_store nolane = B.ss;
    nolane.lane = NULL;
    nolane.lane_ingest = NULL;
    write_backlog(A.st);
    start(&A, 1, NULL);
    start(&B, 0, &nolane);
    pump(&A, &B, SIZE_MAX); /* no tick: the logs do not wait for the bound */
    cr_assert_eq(A.sess.stats.lane_out, 0);
    cr_assert_eq(A.sess.stats.entries_out, BACKLOG);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_eq(critical_open(B.st), CRITICAL);
}

Test(sync_lane, offer_and_want_decode_strictly)
{
    static uint8_t offer[16 + (SYNC_LANE_MAX + 1) * 54];
    size_t n = 0;
    uint8_t item[54] = {0x93, 0xc4, 32};

    /* a WANT that answers no offer */
    {
        static const uint8_t want[] = {0x92, 13, 0xc4, 0x00};
        start(&B, 0, NULL);
        cr_assert_eq(sync_debug_message(&B.sess, want, sizeof want), AM_EMALFORMED);
    }
    /* B offers its CRITICAL + 1 once reconciliation is over (RECONCILED from the peer) */
    write_backlog(B.st);
    {
        static const uint8_t reconciled[] = {0x91, 4};
        static const uint8_t bad[][8] = {
            {0x92, 13, 0xc4, 0x02, 0x3f, 0x00}, /* too long */
            {0x92, 13, 0xc4, 0x00},             /* too short */
            {0x92, 13, 0xc4, 0x01, 0x7f},       /* a bit beyond the offer */
            {0x92, 13, 0xa1, 0x3f},             /* a str */
            {0x92, 13, 0x3f},                   /* an int */
        };
        static const size_t bad_len[] = {6, 4, 5, 4, 3};
        static const uint8_t good[] = {0x92, 13, 0xc4, 0x01, 0x15};
        for (size_t i = 0; i < sizeof bad_len / sizeof bad_len[0]; i++) {
            start(&B, 0, NULL);
            cr_assert_eq(sync_debug_message(&B.sess, reconciled, sizeof reconciled), AM_OK);
            cr_assert_eq(B.sess.lane_offered, CRITICAL + 1);
            cr_assert_eq(B.sess.stats.entries_out, 0);
            cr_assert_eq(sync_debug_message(&B.sess, bad[i], bad_len[i]), AM_EMALFORMED, "case %zu",
                         i);
        }
        start(&B, 0, NULL);
        cr_assert_eq(sync_debug_message(&B.sess, reconciled, sizeof reconciled), AM_OK);
        cr_assert_eq(sync_debug_message(&B.sess, good, sizeof good), AM_OK);
        cr_assert_eq(B.sess.stats.lane_out, 3, "items 0, 2 and 4 were wanted");
        cr_assert_eq(sync_debug_message(&B.sess, good, sizeof good), AM_EMALFORMED,
                     "a second WANT answers no offer");
    }
    /* OFFERs: one well formed (answered), then a second one in the session. The log id is
     * fixed bytes, not a random key: a flip below shifts its last byte into the next field,
     * and a random byte there could be refused as over a limit instead of malformed */
    memset(item + 3, 0x11, AM_PK_LEN);
    item[35] = 0x07; /* seq 7 */
    item[36] = 0xc4;
    item[37] = 8;
    offer[n++] = 0x92;
    offer[n++] = 12;
    offer[n++] = 0x91;
    memcpy(offer + n, item, 46);
    n += 46;
    start(&B, 0, NULL);
    cr_assert_eq(sync_debug_message(&B.sess, offer, n), AM_OK);
    cr_assert_eq(sync_debug_message(&B.sess, offer, n), AM_EMALFORMED, "a second OFFER");
    /* malformed items: a short log id, seq 0, a short hash, a fourth field */
    {
        struct {
            size_t at;
            uint8_t x;
        } flips[] = {{2, 32 ^ 31}, {35, 0x07}, {37, 8 ^ 9}, {0, 0x93 ^ 0x94}};
        for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
            uint8_t m[3 + 46];
            memcpy(m, offer, sizeof m);
            m[3 + flips[i].at] ^= flips[i].x;
            start(&B, 0, NULL);
            cr_assert_eq(sync_debug_message(&B.sess, m, sizeof m), AM_EMALFORMED, "case %zu", i);
        }
    }
    /* more items than SYNC_LANE_MAX (also more than a message's container limit: refused
     * as over a limit before the offer is read) */
    n = 0;
    offer[n++] = 0x92;
    offer[n++] = 12;
    offer[n++] = 0xdc;
    offer[n++] = (SYNC_LANE_MAX + 1) >> 8;
    offer[n++] = (SYNC_LANE_MAX + 1) & 0xff;
    for (int i = 0; i <= SYNC_LANE_MAX; i++) {
        memcpy(offer + n, item, 46);
        n += 46;
    }
    start(&B, 0, NULL);
    {
        int rc = sync_debug_message(&B.sess, offer, n);
        cr_assert(rc == AM_EMALFORMED || rc == AM_ELIMIT, "an offer of %d items: %s",
                  SYNC_LANE_MAX + 1, am_strerror(rc));
    }
}
