/* sync_test.c: two sync engines against each other over memory, on a fake clock, with
 * real LMDB stores: full sync, resumption after a cut, live pushes, forks, bad peers. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "store.h"
#include "sync.h"
#include "syncstore.h"
#include "testutil.h"

#define WALL 1700000000000ULL

struct peer {
    char *dir;
    struct store *st;
    struct sync_store ss;
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    uint8_t install[AM_INSTALL_ID_LEN];
    struct sync_session sess;
};

/* Bytes of an in-sync reconnection of peers that know each other (PROTOCOL.md 8.1): two
 * preambles, three framed handshake messages (e / e, s / s, with the psk's tags and two
 * 34-byte HELLOs). WHO and IDENT: framed transport messages of 2 and 36 bytes. */
#define SYNC_INSYNC_BYTES (2 * 8 + (2 + 32 + 16) + (2 + 32 + 48 + 34 + 16) + (2 + 48 + 34 + 16))
#define WHO_BYTES         (2 + 2 + 16)
#define IDENT_BYTES       (2 + 36 + 16)

static uint8_t netkey[AM_NETKEY_LEN];
static uint64_t rng;

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

/* Appends n entries by a fresh author (or by `sk` if given) into p's store. */
static void write_entries(struct peer *p, const uint8_t *sk, size_t n)
{
    uint8_t pk[AM_PK_LEN], own[AM_SK_LEN];
    uint8_t op[64] = {0x81, 0xa1, 'n', 0xd9, 50};
    const uint8_t *ops[100];
    size_t lens[100];
    if (!sk) {
        crypto_sign_keypair(pk, own);
        sk = own;
    }
    memset(op + 5, 'x', 50);
    for (size_t i = 0; i < 100; i++) {
        ops[i] = op;
        lens[i] = 55;
    }
    while (n > 0) {
        size_t k = n < 100 ? n : 100;
        static unsigned calls;
        op[6] = (uint8_t)('a' + (tu_rand(&rng) % 26));
        op[7] = (uint8_t)('A' + (calls++ % 26)); /* two calls never write the same entry */
        cr_assert_eq(store_append(p->st, sk, ops, lens, k, WALL, NULL), AM_OK);
        n -= k;
    }
}

static void start(struct peer *p, int initiator, uint64_t now, const uint8_t *key)
{
    struct sync_config c = {
        .initiator = initiator,
        .netkey = key ? key : netkey,
        .sk = p->sk,
        .install_id = p->install,
        .store = &p->ss,
        .now_ms = now,
    };
    sync_free(&p->sess);
    cr_assert_eq(sync_init(&p->sess, &c), AM_OK);
}

/* Moves bytes both ways, in random chunks, until nothing moves or `budget` bytes have
 * gone (then the "connection" is cut). Returns the bytes moved. */
static size_t pump(struct peer *a, struct peer *b, size_t budget)
{
    size_t moved = 0;
    for (int idle = 0; idle < 2 && moved < budget;) {
        int any = 0;
        struct peer *pair[2][2] = {{a, b}, {b, a}};
        for (int d = 0; d < 2; d++) {
            struct peer *from = pair[d][0], *to = pair[d][1];
            size_t n;
            const uint8_t *out = sync_output(&from->sess, &n);
            if (n == 0 || (sync_state(&to->sess) & SYNC_CLOSED))
                continue;
            size_t chunk = 1 + tu_rand(&rng) % (n < 70000 ? n : 70000);
            if (chunk > budget - moved)
                chunk = budget - moved;
            if (chunk == 0)
                break;
            sync_feed(&to->sess, out, chunk);
            sync_flush(&to->sess); /* what is read now is stored, as a caller does */
            sync_output_done(&from->sess, chunk);
            moved += chunk;
            any = 1;
        }
        idle = any ? 0 : idle + 1;
    }
    return moved;
}

struct vv {
    struct sync_head h[2048];
    size_t n;
};

static int add_head(void *ctx, const struct sync_head *h)
{
    struct vv *v = ctx;
    cr_assert_lt(v->n, 2048);
    v->h[v->n++] = *h;
    return 0;
}

static void heads_of(struct peer *p, struct vv *v)
{
    v->n = 0;
    cr_assert_eq(p->ss.heads(p->ss.ctx, add_head, v), AM_OK);
}

static void assert_same(struct peer *a, struct peer *b)
{
    static struct vv va, vb;
    heads_of(a, &va);
    heads_of(b, &vb);
    cr_assert_eq(va.n, vb.n, "authors: %zu vs %zu", va.n, vb.n);
    for (size_t i = 0; i < va.n; i++) {
        cr_assert_eq(memcmp(va.h[i].author, vb.h[i].author, AM_PK_LEN), 0);
        cr_assert_eq(va.h[i].seq, vb.h[i].seq, "author %zu: seq %llu vs %llu", i,
                     (unsigned long long)va.h[i].seq, (unsigned long long)vb.h[i].seq);
        cr_assert_eq(memcmp(va.h[i].hash, vb.h[i].hash, AM_HASH_LEN), 0);
    }
}

static uint64_t entries_of(struct peer *p)
{
    struct store_stats st;
    cr_assert_eq(store_stats(p->st, &st), AM_OK);
    return st.entries;
}

static struct peer A, B;

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    rng = tu_seed("sync");
    randombytes_buf(netkey, sizeof netkey);
    peer_open(&A);
    peer_open(&B);
}

static void teardown(void)
{
    peer_close(&A);
    peer_close(&B);
}

TestSuite(sync, .init = setup, .fini = teardown, .timeout = 120);

Test(sync, empty_peers_are_in_sync_after_the_handshake)
{
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    size_t bytes = pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&A.sess) & SYNC_IN_SYNC);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_eq(memcmp(sync_peer_author(&A.sess), B.pk, AM_PK_LEN), 0);
    cr_assert_eq(memcmp(sync_peer_author(&B.sess), A.pk, AM_PK_LEN), 0);
    cr_assert_eq(memcmp(sync_peer_install(&A.sess), B.install, SYNC_INSTALL_TAG_LEN), 0);
    /* first contact: each names itself by a hint the other cannot resolve, so each asks
     * WHO once and learns the other's id from an IDENT */
    cr_log_info("first in-sync handshake: %zu bytes both ways", bytes);
    cr_assert_eq(bytes, SYNC_INSYNC_BYTES + 2 * (WHO_BYTES + IDENT_BYTES), "%zu", bytes);
    /* the next time, both know each other: the preambles and three handshake messages */
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    bytes = pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&A.sess) & SYNC_IN_SYNC);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_eq(memcmp(sync_peer_author(&A.sess), B.pk, AM_PK_LEN), 0);
    cr_assert_eq(memcmp(sync_peer_author(&B.sess), A.pk, AM_PK_LEN), 0);
    cr_assert_eq(bytes, SYNC_INSYNC_BYTES, "in-sync reconnection: %zu bytes", bytes);
}

Test(sync, a_peer_with_entries_is_known_by_its_hint_and_an_imposter_is_not)
{
    /* A's own log reaches B, so B knows A's id from its heads without having met A */
    write_entries(&A, A.sk, 3);
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    assert_same(&A, &B);
    cr_assert_eq(sync_stats(&B.sess)->bytes_out >= WHO_BYTES, 1);
    /* a third node whose id shares A's first 8 bytes cannot exist in practice; one that
     * claims A's hint with its own static key is not resolved to A: it is asked WHO */
    struct peer C;
    peer_open(&C);
    memcpy(C.pk, A.pk, 8); /* the hint now names A; the key is C's own */
    memcpy(C.sk + AM_SEED_LEN, C.pk, AM_PK_LEN);
    start(&C, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&C, &B, SIZE_MAX);
    cr_assert_neq(memcmp(sync_peer_author(&B.sess), A.pk, AM_PK_LEN), 0);
    cr_assert_neq(sync_error(&B.sess), AM_OK, "C's IDENT does not match its static key");
    cr_assert(!(sync_state(&B.sess) & SYNC_HANDSHAKEN));
    peer_close(&C);
}

Test(sync, one_sided_full_sync)
{
    for (int i = 0; i < 5; i++)
        write_entries(&A, NULL, 300);
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    cr_assert_eq(sync_error(&B.sess), 0, "B: %s", am_strerror(sync_error(&B.sess)));
    cr_assert_eq(sync_error(&A.sess), 0, "%s", am_strerror(sync_error(&A.sess)));
    cr_assert_eq(sync_error(&B.sess), 0, "%s", am_strerror(sync_error(&B.sess)));
    cr_assert(sync_state(&A.sess) & SYNC_IN_SYNC);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_eq(entries_of(&B), 1500);
    cr_assert_eq(sync_stats(&B.sess)->added, 1500);
    cr_assert_eq(sync_stats(&B.sess)->authors_in, 5);
    cr_assert_eq(sync_stats(&A.sess)->entries_out, 1500, "each entry sent once");
    assert_same(&A, &B);
}

Test(sync, both_sides_gain)
{
    uint8_t pk[AM_PK_LEN], shared[AM_SK_LEN];
    crypto_sign_keypair(pk, shared);
    write_entries(&A, shared, 50);
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    /* now both hold `shared` 1..50; each side grows on its own */
    write_entries(&A, shared, 20);
    for (int i = 0; i < 40; i++)
        write_entries(&A, NULL, 3);
    for (int i = 0; i < 30; i++)
        write_entries(&B, NULL, 4);
    start(&A, 0, 0, NULL); /* roles swapped this time */
    start(&B, 1, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&A.sess) & SYNC_IN_SYNC);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_eq(entries_of(&A), 70 + 120 + 120);
    assert_same(&A, &B);
}

Test(sync, interrupted_sync_resumes_and_loses_nothing)
{
    for (int i = 0; i < 8; i++)
        write_entries(&A, NULL, 400);
    for (int i = 0; i < 3; i++)
        write_entries(&B, NULL, 200);
    int rounds = 0;
    uint64_t last = 0;
    for (; rounds < 200; rounds++) {
        start(&A, 1, 0, NULL);
        start(&B, 0, 0, NULL);
        size_t budget = 2000 + tu_rand(&rng) % 150000; /* the cable is pulled after this */
        pump(&A, &B, budget);
        uint64_t now = entries_of(&A) + entries_of(&B);
        if (getenv("AM_DEBUG_SYNC"))
            fprintf(stderr, "round %d budget %zu: %llu entries\n", rounds, budget,
                    (unsigned long long)now);
        cr_assert_geq(now, last, "nothing is ever lost");
        last = now;
        if ((sync_state(&A.sess) & SYNC_IN_SYNC) && (sync_state(&B.sess) & SYNC_IN_SYNC))
            break;
    }
    cr_assert_lt(rounds, 200, "converged after %d reconnections", rounds);
    cr_assert_gt(rounds, 1, "the cuts happened mid-sync");
    cr_assert_eq(entries_of(&A), 3800);
    assert_same(&A, &B);
}

Test(sync, live_push_after_sync)
{
    write_entries(&A, NULL, 10);
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    /* A writes; its daemon would notify the session */
    write_entries(&A, A.sk, 3);
    sync_notify(&A.sess, A.pk, 3);
    pump(&A, &B, SIZE_MAX);
    cr_assert_eq(entries_of(&B), 13);
    assert_same(&A, &B);
    /* and the other way */
    write_entries(&B, B.sk, 2);
    sync_notify(&B.sess, B.pk, 2);
    pump(&A, &B, SIZE_MAX);
    assert_same(&A, &B);
}

Test(sync, reconnect_with_one_changed_author_among_many_is_small)
{
    for (int i = 0; i < 1000; i++)
        write_entries(&A, NULL, 1);
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    assert_same(&A, &B);
    /* reconnect in sync: handshake only */
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    size_t bytes = pump(&A, &B, SIZE_MAX);
    cr_assert_eq(bytes, SYNC_INSYNC_BYTES, "in sync: %zu bytes", bytes);
    /* one author appends one entry */
    write_entries(&A, A.sk, 1);
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    assert_same(&A, &B);
    uint64_t summary = sync_stats(&A.sess)->summary_out + sync_stats(&B.sess)->summary_out;
    cr_log_info("summary bytes, 1 of 1001 authors changed: %llu", (unsigned long long)summary);
    cr_assert_lt(summary, 4096, "summary cost grows with what changed: %llu",
                 (unsigned long long)summary);
    cr_assert_eq(sync_stats(&A.sess)->entries_out, 1);
}

Test(sync, wrong_network_key_learns_nothing_and_stores_nothing)
{
    uint8_t other[AM_NETKEY_LEN];
    randombytes_buf(other, sizeof other);
    write_entries(&A, NULL, 10);
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, other);
    pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&B.sess) & SYNC_CLOSED);
    cr_assert_eq(sync_error(&B.sess), AM_EBADMAC);
    cr_assert(!(sync_state(&A.sess) & SYNC_HANDSHAKEN), "the initiator never learns who B is");
    cr_assert_eq(entries_of(&B), 0);
}

Test(sync, other_major_version_is_named_on_both_sides)
{
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    size_t n;
    uint8_t *out = (uint8_t *)sync_output(&A.sess, &n);
    out[4] = SYNC_VERSION_MAJOR + 1; /* A claims a newer major version */
    pump(&A, &B, SIZE_MAX);
    cr_assert_eq(sync_error(&B.sess), AM_EVERSION);
    /* B's preamble reached A before B closed */
    cr_assert(sync_state(&B.sess) & SYNC_CLOSED);
    /* each can name both versions: its own and the one the peer spoke */
    unsigned major, minor;
    sync_peer_version(&B.sess, &major, &minor);
    cr_assert_eq(major, SYNC_VERSION_MAJOR + 1);
    sync_peer_version(&A.sess, &major, &minor);
    cr_assert_eq(major, SYNC_VERSION_MAJOR);
    cr_assert_eq(minor, SYNC_VERSION_MINOR);
}

Test(sync, a_version_2_peer_is_refused_and_stores_nothing)
{
    /* a node from before logs (protocol 2) would take a child log's entries for broken
     * links; it refuses major 3 at our preamble, and we refuse its */
    write_entries(&A, NULL, 3);
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    size_t n;
    uint8_t *out = (uint8_t *)sync_output(&A.sess, &n);
    out[4] = 2;
    pump(&A, &B, SIZE_MAX);
    cr_assert_eq(sync_error(&B.sess), AM_EVERSION);
    unsigned major, minor;
    sync_peer_version(&B.sess, &major, &minor);
    cr_assert_eq(major, 2);
    cr_assert_eq(entries_of(&B), 0);
}

Test(sync, garbage_after_the_handshake_closes_cleanly)
{
    uint8_t junk[300];
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&B.sess) & SYNC_HANDSHAKEN);
    randombytes_buf(junk, sizeof junk);
    junk[0] = 0;
    junk[1] = 200;
    cr_assert_eq(sync_feed(&B.sess, junk, sizeof junk), AM_EBADMAC);
    cr_assert(sync_state(&B.sess) & SYNC_CLOSED);
}

/* Both stores hold the same logs and the same views. */
static void assert_same_views(struct peer *a, struct peer *b)
{
    uint8_t da[AM_HASH_LEN], db[AM_HASH_LEN];
    assert_same(a, b);
    cr_assert_eq(entries_of(a), entries_of(b));
    cr_assert_eq(store_views_digest(a->st, da), AM_OK);
    cr_assert_eq(store_views_digest(b->st, db), AM_OK);
    cr_assert_eq(memcmp(da, db, AM_HASH_LEN), 0, "the views are byte-identical");
}

/* The logs of `author` in p's store (its root and child logs). */
struct logs_of {
    const uint8_t *author;
    size_t n, split;
};

static int count_log(void *ctx, const struct store_head *h)
{
    struct logs_of *l = ctx;
    if (memcmp(h->author, l->author, AM_PK_LEN) == 0) {
        l->n++;
        l->split += (h->flags & STORE_HEAD_SPLIT) != 0;
    }
    return 0;
}

static size_t logs_of(struct peer *p, const uint8_t *author, size_t *split)
{
    struct logs_of l = {author, 0, 0};
    cr_assert_eq(store_heads_each(p->st, count_log, &l), AM_OK);
    if (split)
        *split = l.split;
    return l.n;
}

Test(sync, forked_author_keeps_both_branches_on_both_sides)
{
    /* A cloned laptop: one identity writes different entries on two machines, from seq 1. */
    uint8_t pk[AM_PK_LEN], clone[AM_SK_LEN];
    struct store_head h;
    crypto_sign_keypair(pk, clone);
    write_entries(&A, clone, 5);
    write_entries(&B, clone, 5);
    write_entries(&B, NULL, 7);
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&A.sess) & SYNC_IN_SYNC);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_eq(store_head_get(A.st, pk, &h), AM_OK);
    cr_assert(h.flags & STORE_HEAD_FORKED, "A knows the fork");
    cr_assert_eq(store_head_get(B.st, pk, &h), AM_OK);
    cr_assert(h.flags & STORE_HEAD_FORKED, "B knows the fork");
    cr_assert_eq(logs_of(&A, pk, NULL), 3, "the (empty) root and one log per branch");
    cr_assert_eq(entries_of(&A), 17, "both branches, and the other author, are stored");
    assert_same_views(&A, &B);
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    cr_assert_eq(pump(&A, &B, SIZE_MAX), SYNC_INSYNC_BYTES);
}

Test(sync, branches_reach_the_longer_branch_and_a_node_whose_log_is_not_split)
{
    /* A laptop is cloned after 3 entries; the original writes 7 more, the copy 4. */
    uint8_t pk[AM_PK_LEN], clone[AM_SK_LEN];
    struct store_head h;
    struct peer C;
    size_t split;
    crypto_sign_keypair(pk, clone);
    peer_open(&C);
    write_entries(&A, clone, 3);
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    write_entries(&A, clone, 7); /* the longer branch, seqs 4..10 */
    write_entries(&B, clone, 4); /* the shorter one, seqs 4..7 */
    /* C holds the longer branch, as A does, before anyone knows of the fork */
    start(&C, 1, 0, NULL);
    start(&A, 0, 0, NULL);
    pump(&C, &A, SIZE_MAX);
    cr_assert_eq(store_head_get(C.st, pk, &h), AM_OK);
    cr_assert_eq(h.seq, 10);

    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&A.sess) & SYNC_IN_SYNC);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_eq(store_head_get(B.st, pk, &h), AM_OK);
    cr_assert(h.flags & STORE_HEAD_SPLIT, "the shorter branch's node split the log");
    cr_assert_eq(h.seq, 3, "the root log ends where the branches part");
    cr_assert_eq(logs_of(&B, pk, NULL), 3);
    cr_assert_eq(entries_of(&B), 14, "both branches are stored");
    assert_same_views(&A, &B);

    /* C's log goes on to 10 unsplit; A's ends at 3 and goes on in two child logs: one
     * session brings C the other branch (C splits too) */
    start(&C, 1, 0, NULL);
    start(&A, 0, 0, NULL);
    pump(&C, &A, SIZE_MAX);
    cr_assert(sync_state(&C.sess) & SYNC_IN_SYNC);
    cr_assert_eq(logs_of(&C, pk, &split), 3);
    cr_assert_eq(split, 1);
    assert_same_views(&A, &C);
    /* and now they are in sync: a reconnection is the handshake only */
    start(&C, 1, 0, NULL);
    start(&A, 0, 0, NULL);
    cr_assert_eq(pump(&C, &A, SIZE_MAX), SYNC_INSYNC_BYTES);
    peer_close(&C);
}

Test(sync, two_branches_that_no_side_has_split_converge_in_one_session)
{
    /* One identity on two machines: the same entries 1..4, then each writes 5..10 of its
     * own. Neither node knows of the other branch: both hold one log, to seq 10. */
    uint8_t pk[AM_PK_LEN], clone[AM_SK_LEN];
    struct store_head ha, hb;
    const struct sync_stats *sa, *sb;
    crypto_sign_keypair(pk, clone);
    write_entries(&A, clone, 4);
    for (int i = 0; i < 50; i++)
        write_entries(&A, NULL, 2); /* and some authors that never forked */
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    write_entries(&A, clone, 6);
    write_entries(&B, clone, 6);
    cr_assert_eq(store_head_get(A.st, pk, &ha), AM_OK);
    cr_assert_eq(store_head_get(B.st, pk, &hb), AM_OK);
    cr_assert_eq(ha.seq, 10);
    cr_assert_eq(hb.seq, 10);
    cr_assert_neq(memcmp(ha.hash, hb.hash, AM_HASH_LEN), 0);

    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    size_t bytes = pump(&A, &B, SIZE_MAX);
    sa = sync_stats(&A.sess);
    sb = sync_stats(&B.sess);
    cr_log_info("fork found: %zu bytes, entries sent %llu + %llu, added %llu + %llu", bytes,
                (unsigned long long)sa->entries_out, (unsigned long long)sb->entries_out,
                (unsigned long long)sa->added, (unsigned long long)sb->added);
    cr_assert_eq(sync_error(&A.sess), AM_OK, "%s", am_strerror(sync_error(&A.sess)));
    cr_assert_eq(sync_error(&B.sess), AM_OK, "%s", am_strerror(sync_error(&B.sess)));
    cr_assert(sync_state(&A.sess) & SYNC_IN_SYNC);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_eq(sa->refused + sb->refused, 0, "every entry of both branches is placed");
    /* the first entry of a branch counts as a fork (stored), the others as added */
    cr_assert_eq(sa->forks, 1);
    cr_assert_eq(sb->forks, 1);
    cr_assert_eq(sa->added + sa->forks, 6, "A gains B's branch");
    cr_assert_eq(sb->added + sb->forks, 6, "B gains A's branch");
    /* what finding the fork costs: each side's log from its first entry (the 4 entries
     * before the fork go as duplicates), and its own branch once more when the split
     * lands while that log is still going out (then a child log it is now) */
    cr_assert_leq(sa->entries_out + sb->entries_out, 2 * (10 + 6));
    cr_assert_eq(store_head_get(A.st, pk, &ha), AM_OK);
    cr_assert(ha.flags & STORE_HEAD_SPLIT);
    cr_assert_eq(ha.seq, 4, "the root log ends at the fork");
    cr_assert_eq(logs_of(&A, pk, NULL), 3);
    cr_assert_eq(entries_of(&A), 4 + 6 + 6 + 100);
    assert_same_views(&A, &B);

    /* a reconnection sends nothing but the handshake: the same cost as with no fork */
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    bytes = pump(&A, &B, SIZE_MAX);
    cr_log_info("in-sync reconnection with a forked author: %zu bytes", bytes);
    cr_assert_eq(bytes, SYNC_INSYNC_BYTES, "%zu", bytes);
    /* roles swapped: the same */
    start(&A, 0, 0, NULL);
    start(&B, 1, 0, NULL);
    cr_assert_eq(pump(&A, &B, SIZE_MAX), SYNC_INSYNC_BYTES);
}

/* Moves bytes both ways in chunks of at most `most` bytes (SIZE_MAX: all there is, so a
 * side reads several messages at once) until nothing moves. */
static void pump_small(struct peer *a, struct peer *b, size_t most)
{
    for (int idle = 0; idle < 2;) {
        int any = 0;
        struct peer *pair[2][2] = {{a, b}, {b, a}};
        for (int d = 0; d < 2; d++) {
            struct peer *from = pair[d][0], *to = pair[d][1];
            size_t n;
            const uint8_t *out = sync_output(&from->sess, &n);
            if (n == 0 || (sync_state(&to->sess) & SYNC_CLOSED))
                continue;
            size_t chunk = most == SIZE_MAX ? n : 1 + tu_rand(&rng) % (n < most ? n : most);
            sync_feed(&to->sess, out, chunk);
            sync_flush(&to->sess);
            sync_output_done(&from->sess, chunk);
            any = 1;
        }
        idle = any ? 0 : idle + 1;
    }
}

Test(sync, branches_converge_however_the_bytes_interleave)
{
    /* Whichever side's entries are stored first, a log split while our copy of it was
     * still queued for the peer must not count as sent: each round, fresh stores, two
     * unsplit branches (fork at 3), the bytes read all at once or in small chunks. */
    for (int round = 0; round < 12; round++) {
        uint8_t pk[AM_PK_LEN], clone[AM_SK_LEN];
        peer_close(&A);
        peer_close(&B);
        peer_open(&A);
        peer_open(&B);
        crypto_sign_keypair(pk, clone);
        write_entries(&A, clone, 2);
        start(&A, 1, 0, NULL);
        start(&B, 0, 0, NULL);
        pump(&A, &B, SIZE_MAX);
        write_entries(&A, clone, 3 + round % 4);
        write_entries(&B, clone, 3 + round % 3);
        for (int i = 0; i < round % 3; i++)
            write_entries(round % 2 ? &A : &B, NULL, 40); /* entries ahead of the clone's */
        start(&A, round % 2, 0, NULL);
        start(&B, !(round % 2), 0, NULL);
        pump_small(&A, &B, round % 3 ? 64 + 200 * (size_t)(round % 4) : SIZE_MAX);
        cr_assert(sync_state(&A.sess) & SYNC_IN_SYNC, "round %d", round);
        cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC, "round %d", round);
        cr_assert_eq(logs_of(&A, pk, NULL), 3, "round %d", round);
        assert_same_views(&A, &B);
    }
}

Test(sync, idle_peer_times_out_and_pings_keep_alive)
{
    start(&A, 1, 0, NULL);
    start(&B, 0, 0, NULL);
    pump(&A, &B, SIZE_MAX);
    uint64_t t = sync_next_deadline(&A.sess);
    cr_assert_leq(t, SYNC_PING_MS);
    sync_tick(&A.sess, t);
    size_t n;
    sync_output(&A.sess, &n);
    cr_assert_gt(n, 0, "a ping");
    /* B hears nothing for too long */
    sync_tick(&B.sess, SYNC_IDLE_TIMEOUT_MS + 1);
    cr_assert(sync_state(&B.sess) & SYNC_CLOSED);
    cr_assert_eq(sync_error(&B.sess), AM_ETIMEOUT);
}

Test(sync, handshake_deadline)
{
    start(&A, 1, 0, NULL);
    sync_tick(&A.sess, SYNC_HANDSHAKE_TIMEOUT_MS);
    cr_assert_eq(sync_error(&A.sess), AM_ETIMEOUT);
}

Test(sync, self_connection_is_refused)
{
    /* the same store and identity on both ends */
    struct peer C = A;
    memset(&C.sess, 0, sizeof C.sess);
    start(&A, 1, 0, NULL);
    start(&C, 0, 0, NULL);
    pump(&A, &C, SIZE_MAX);
    cr_assert_eq(sync_error(&A.sess), AM_ESELF, "the initiator sees itself in message 2");
    cr_assert(!(sync_state(&C.sess) & SYNC_HANDSHAKEN));
    sync_free(&C.sess);
}

/* A store table that counts reads of every head (the work a handshake defers). */
static unsigned heads_calls;
static const struct sync_store *counted_inner;

static int counted_heads(void *ctx, int (*cb)(void *cbctx, const struct sync_head *h), void *cbctx)
{
    heads_calls++;
    return counted_inner->heads(ctx, cb, cbctx);
}

Test(sync, no_store_work_and_little_memory_before_message_1_authenticates)
{
    struct sync_store counted = B.ss;
    uint8_t other[AM_NETKEY_LEN];
    struct sync_config c = {
        .initiator = 0, .netkey = netkey, .sk = B.sk, .install_id = B.install, .now_ms = 0};
    size_t n;

    counted_inner = &B.ss;
    counted.heads = counted_heads;
    c.store = &counted;
    write_entries(&B, NULL, 10);
    randombytes_buf(other, sizeof other);

    /* an outsider (another network key): preamble and message 1 */
    start(&A, 1, 0, other);
    heads_calls = 0;
    sync_free(&B.sess);
    cr_assert_eq(sync_init(&B.sess, &c), AM_OK);
    cr_assert_eq(heads_calls, 0, "sync_init reads no heads");
    cr_assert_leq(B.sess.in_cap, 2 + SYNC_HS_MSG_MAX, "no frame-sized buffer before the handshake");
    cr_assert_null(B.sess.msg);
    cr_assert_null(B.sess.plain);
    sync_output(&A.sess, &n);
    pump(&A, &B, SIZE_MAX);
    cr_assert_eq(sync_error(&B.sess), AM_EBADMAC);
    cr_assert_eq(heads_calls, 0, "a message 1 without the network key costs no store work");

    /* a member: the heads are read once, after message 1 */
    start(&A, 1, 0, NULL);
    sync_free(&B.sess);
    cr_assert_eq(sync_init(&B.sess, &c), AM_OK);
    pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_eq(heads_calls, 1);
    cr_assert_eq(entries_of(&A), 10);
}

Test(sync, an_oversized_handshake_frame_is_refused_unbuffered)
{
    /* preamble, then a frame header announcing 4,000 bytes */
    static const uint8_t pre[SYNC_PREAMBLE_LEN] = {
        'A', 'M', 'S', 'Y', SYNC_VERSION_MAJOR, SYNC_VERSION_MINOR, 0, 0};
    uint8_t hdr[2] = {4000 >> 8, 4000 & 0xff};
    uint8_t body[300];
    start(&B, 0, 0, NULL);
    cr_assert_eq(sync_feed(&B.sess, pre, sizeof pre), AM_OK);
    memset(body, 0x5a, sizeof body);
    sync_feed(&B.sess, hdr, sizeof hdr);
    sync_feed(&B.sess, body, sizeof body);
    cr_assert(sync_state(&B.sess) & SYNC_CLOSED);
    cr_assert_eq(sync_error(&B.sess), AM_ELIMIT);
    cr_assert_leq(B.sess.in_cap, 2 + SYNC_HS_MSG_MAX);
}

Test(sync, a_handshake_that_trickles_meets_its_deadline)
{
    static const uint8_t pre[SYNC_PREAMBLE_LEN] = {
        'A', 'M', 'S', 'Y', SYNC_VERSION_MAJOR, SYNC_VERSION_MINOR, 0, 0};
    uint8_t one = 0x5a, hdr[2] = {0, 96};
    start(&B, 0, 0, NULL);
    sync_feed(&B.sess, pre, sizeof pre);
    sync_feed(&B.sess, hdr, sizeof hdr); /* a 96-byte message 1 announced... */
    /* ...whose bytes come one a second: that does not move the deadline */
    for (uint64_t t = 1000; t < SYNC_HANDSHAKE_TIMEOUT_MS; t += 1000) {
        sync_clock(&B.sess, t);
        sync_feed(&B.sess, &one, 1);
        sync_tick(&B.sess, t);
        cr_assert(!(sync_state(&B.sess) & SYNC_CLOSED));
    }
    cr_assert_eq(sync_next_deadline(&B.sess), SYNC_HANDSHAKE_TIMEOUT_MS);
    sync_tick(&B.sess, SYNC_HANDSHAKE_TIMEOUT_MS);
    cr_assert_eq(sync_error(&B.sess), AM_ETIMEOUT);
}

/* As start(), with `name` in the config (NULL: none, as a node older than names). */
static void start_named(struct peer *p, int initiator, const char *name)
{
    struct sync_config c = {
        .initiator = initiator,
        .netkey = netkey,
        .sk = p->sk,
        .install_id = p->install,
        .store = &p->ss,
        .now_ms = 0,
        .name = name,
    };
    sync_free(&p->sess);
    cr_assert_eq(sync_init(&p->sess, &c), AM_OK);
}

Test(sync, each_side_learns_the_name_the_other_gave)
{
    char longest[AM_NAME_MAX + 1];
    start_named(&A, 1, "hub");
    start_named(&B, 0, "clinic — north");
    pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&A.sess) & SYNC_IN_SYNC);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_str_eq(sync_peer_name(&A.sess), "clinic — north");
    cr_assert_str_eq(sync_peer_name(&B.sess), "hub");
    /* known peers now: the handshake alone, each HELLO longer by 1 + its name */
    start_named(&A, 1, "hub");
    start_named(&B, 0, "clinic — north");
    size_t bytes = pump(&A, &B, SIZE_MAX);
    cr_assert_eq(bytes, SYNC_INSYNC_BYTES + 2 + 3 + strlen("clinic — north"), "%zu", bytes);
    /* the longest name fits the handshake's limit, both ways */
    memset(longest, 'n', AM_NAME_MAX);
    longest[AM_NAME_MAX] = 0;
    start_named(&A, 1, longest);
    start_named(&B, 0, longest);
    pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&A.sess) & SYNC_IN_SYNC);
    cr_assert_str_eq(sync_peer_name(&A.sess), longest);
    cr_assert_str_eq(sync_peer_name(&B.sess), longest);
}

Test(sync, a_node_without_a_name_and_one_with_a_bad_name_still_sync)
{
    /* a node older than names sends the fixed HELLO only: it is understood, and it skips
     * the name it is sent (older code ignores bytes after the fixed fields) */
    write_entries(&A, A.sk, 3);
    start_named(&A, 1, NULL);
    start_named(&B, 0, "clinic");
    pump(&A, &B, SIZE_MAX);
    assert_same(&A, &B);
    cr_assert_str_eq(sync_peer_name(&B.sess), "");
    cr_assert_str_eq(sync_peer_name(&A.sess), "clinic");
    /* a name that is not printable text (a terminal escape) is ignored, not the session */
    start_named(&A, 1, "evil\x1b[2Jname");
    start_named(&B, 0, "clinic");
    pump(&A, &B, SIZE_MAX);
    cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC);
    cr_assert_eq(sync_error(&B.sess), AM_OK);
    cr_assert_str_eq(sync_peer_name(&B.sess), "");
    cr_assert_str_eq(sync_peer_name(&A.sess), "clinic");
}

Test(sync, refusals_are_bounded_and_merged)
{
    struct sync_refusals a, b;
    uint8_t author[AM_PK_LEN];
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    for (int i = 0; i < SYNC_REFUSALS_MAX + 2; i++) {
        memset(author, i + 1, sizeof author);
        sync_refusals_add(&a, author, AM_EBADSIG, 3);
    }
    cr_assert_eq(a.n, SYNC_REFUSALS_MAX);
    cr_assert_eq(a.unlisted, 6, "the pairs beyond the list are counted");
    memset(author, 1, sizeof author);
    sync_refusals_add(&b, author, AM_EBADSIG, 2);
    sync_refusals_add(&b, author, AM_EGAP, 1);
    sync_refusals_add(&b, NULL, AM_EMALFORMED, 1);
    cr_assert_eq(b.n, 3, "one row per author and reason; unknown authors too");
    sync_refusals_merge(&b, &a);
    cr_assert_eq(b.r[0].count, 5, "the same pair adds up");
    cr_assert_eq(b.n, SYNC_REFUSALS_MAX);
    cr_assert_eq(b.unlisted, 6 + 2 * 3, "authors 7 and 8 find no room");
}

/* The sender's ranking (sync_config.author_rank): authors of rank 1.. go out before the
 * others, so a contact cut short carries them; a full contact still carries everything. */
static const uint8_t *ranked_author;
static uint32_t rank_one(void *ctx, const uint8_t author[AM_PK_LEN])
{
    (void)ctx;
    return memcmp(author, ranked_author, AM_PK_LEN) == 0 ? 1 : 0;
}

static uint64_t head_seq(struct peer *p, const uint8_t *author)
{
    struct store_head h;
    return store_head_get(p->st, author, &h) == AM_OK ? h.seq : 0;
}

static void start_ranked(struct peer *p, int initiator, int ranked)
{
    struct sync_config c = {
        .initiator = initiator,
        .netkey = netkey,
        .sk = p->sk,
        .install_id = p->install,
        .store = &p->ss,
        .author_rank = ranked ? rank_one : NULL,
    };
    sync_free(&p->sess);
    cr_assert_eq(sync_init(&p->sess, &c), AM_OK);
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, AM_PK_LEN + AM_SK_LEN);
}

/* Whether the ranked author's entries all arrived before any other author's: no other
 * author has an entry at B unless the ranked one is complete (ENTRIES are stored a message
 * at a time, so this holds at any cut). */
static int ranked_first(struct peer *b, uint8_t keys[4][AM_PK_LEN + AM_SK_LEN], int r)
{
    uint64_t others = 0;
    for (int i = 0; i < 4; i++)
        if (i != r)
            others += head_seq(b, keys[i]);
    return others == 0 || head_seq(b, keys[r]) == 600;
}

Test(sync, ranked_authors_go_first_when_a_contact_is_cut_short)
{
    uint8_t keys[4][AM_PK_LEN + AM_SK_LEN];
    for (int i = 0; i < 4; i++)
        crypto_sign_keypair(keys[i], keys[i] + AM_PK_LEN);
    /* sorted by id: without a ranking the last goes last in every turn */
    qsort(keys, 4, sizeof keys[0], key_cmp);
    for (int i = 0; i < 4; i++)
        write_entries(&A, keys[i] + AM_PK_LEN, 600);
    ranked_author = keys[3];
    /* without a ranking, a cut contact shares out in turns: others before keys[3] */
    start_ranked(&A, 1, 0);
    start_ranked(&B, 0, 0);
    pump(&A, &B, 200000);
    cr_assert_gt(entries_of(&B), 0, "the contact carried entries");
    cr_assert(!ranked_first(&B, keys, 3), "in turns, keys[3] is not first (%llu of it)",
              (unsigned long long)head_seq(&B, keys[3]));
    /* a fresh receiver, with the sender ranking keys[3] first */
    peer_close(&B);
    peer_open(&B);
    start_ranked(&A, 1, 1);
    start_ranked(&B, 0, 0);
    pump(&A, &B, 200000);
    cr_assert_gt(head_seq(&B, keys[3]), 0,
                 "the ranked author's entries arrived (B holds %llu: %llu %llu %llu)",
                 (unsigned long long)entries_of(&B), (unsigned long long)head_seq(&B, keys[0]),
                 (unsigned long long)head_seq(&B, keys[1]),
                 (unsigned long long)head_seq(&B, keys[2]));
    cr_assert(ranked_first(&B, keys, 3),
              "another author's entries came before the ranked one's "
              "were all in (%llu of 600)",
              (unsigned long long)head_seq(&B, keys[3]));
    /* a long contact still carries everything, ranked or not */
    start_ranked(&A, 1, 1);
    start_ranked(&B, 0, 0);
    pump(&A, &B, SIZE_MAX);
    cr_assert_eq(entries_of(&B), 2400);
    assert_same(&A, &B);
}

/* Moves a's output to b only in whole frames (the preamble counts as one), and no more than
 * its first max_frames; b's output moves freely. Then the "cable" is cut. Returns the
 * frames of a that moved. */
static unsigned pump_frames(struct peer *a, struct peer *b, unsigned max_frames)
{
    size_t off = 0, done_end = 0, cur_end = SYNC_PREAMBLE_LEN; /* stream offsets of a */
    unsigned frames = 0;
    for (int idle = 0; idle < 2;) {
        const uint8_t *out;
        size_t n, move;
        int any = 0;
        out = sync_output(&b->sess, &n);
        if (n && !(sync_state(&a->sess) & SYNC_CLOSED)) {
            sync_feed(&a->sess, out, n);
            sync_flush(&a->sess);
            sync_output_done(&b->sess, n);
            any = 1;
        }
        out = sync_output(&a->sess, &n);
        while (frames < max_frames) {
            if (!cur_end) { /* the next frame's header: its 2-byte length */
                if (done_end + 2 > off + n)
                    break;
                cur_end =
                    done_end + 2 + ((size_t)out[done_end - off] << 8 | out[done_end - off + 1]);
            }
            if (cur_end > off + n)
                break;
            frames++;
            done_end = cur_end;
            cur_end = 0;
        }
        move = done_end - off;
        if (move && !(sync_state(&b->sess) & SYNC_CLOSED)) {
            sync_feed(&b->sess, out, move);
            sync_flush(&b->sess);
            sync_output_done(&a->sess, move);
            off += move;
            any = 1;
        }
        idle = any ? 0 : idle + 1;
    }
    return frames;
}

Test(sync, a_contact_cut_at_every_frame_boundary_loses_nothing_and_the_next_resumes)
{
    unsigned k, frames;
    uint64_t total, had;
    write_entries(&A, NULL, 300);
    write_entries(&A, NULL, 200);
    total = entries_of(&A);
    for (k = 1;; k++) {
        peer_close(&B); /* a receiver that has nothing, cut after A's k-th frame */
        peer_open(&B);
        start(&A, 1, 0, NULL);
        start(&B, 0, 0, NULL);
        frames = pump_frames(&A, &B, k);
        had = entries_of(&B);
        cr_assert_leq(had, total);
        /* the next contact is whole: it resumes where the cut one stopped */
        start(&A, 1, 0, NULL);
        start(&B, 0, 0, NULL);
        pump(&A, &B, SIZE_MAX);
        cr_assert(sync_state(&A.sess) & SYNC_IN_SYNC, "cut after frame %u: A in sync", k);
        cr_assert(sync_state(&B.sess) & SYNC_IN_SYNC, "cut after frame %u: B in sync", k);
        cr_assert_eq(entries_of(&B), total, "cut after frame %u: nothing lost", k);
        cr_assert_leq(sync_stats(&B.sess)->entries_in, total - had,
                      "cut after frame %u: %llu stored then, %llu sent again", k,
                      (unsigned long long)had, (unsigned long long)sync_stats(&B.sess)->entries_in);
        assert_same(&A, &B);
        if (frames < k)
            break; /* the whole session fit in fewer frames: every boundary was a cut */
    }
    if (getenv("AM_DEBUG_SYNC"))
        fprintf(stderr, "cut at each of %u frame boundaries\n", k);
    cr_assert_gt(k, 4, "a session of several frames (%u)", k);
}
