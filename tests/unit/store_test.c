/* store_test.c: the LMDB store: ingest ("verify the tip, hash the chain"), dedupe, forks,
 * gaps, local append, map full. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "entry.h"
#include "hlc.h"
#include "store.h"
#include "testutil.h"

#define WALL 1700000000000ULL

struct chain {
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    size_t n;
    uint8_t *buf[64];
    size_t len[64];
};

static uint8_t op_note[] = {0x81, 0xa1, 'n', 0x00};

/* Builds entries 1..n of a chain for the key made from `seed_byte`; each op differs by
 * `variant` so two chains of one key fork. */
static void chain_make(struct chain *c, uint8_t seed_byte, size_t n, uint8_t variant)
{
    uint8_t seed[AM_SEED_LEN] = {0}, prev[AM_HASH_LEN] = {0};
    seed[0] = seed_byte;
    crypto_sign_seed_keypair(c->pk, c->sk, seed);
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        struct entry e;
        c->buf[i] = malloc(AM_ENTRY_MAX);
        op_note[3] = (uint8_t)((i + variant * 31) & 0x7f);
        cr_assert_eq(entry_build(c->buf[i], AM_ENTRY_MAX, &c->len[i], c->sk, i + 1, prev,
                                 hlc_pack(WALL, (uint16_t)i), op_note, sizeof op_note),
                     AM_OK);
        cr_assert_eq(entry_decode(&e, c->buf[i], c->len[i]), AM_OK);
        entry_hash(&e, prev);
    }
}

static void chain_free(struct chain *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->buf[i]);
}

static char *dir;
static struct store *st;

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    dir = tu_tmpdir();
    cr_assert_eq(store_open(&st, dir, NULL), AM_OK);
}

static void teardown(void)
{
    store_close(st);
    tu_rmrf(dir);
    free(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

struct peers_found {
    int n;
    uint8_t last[AM_PK_LEN];
};

static int peers_count(void *ctx, const uint8_t author[AM_PK_LEN])
{
    struct peers_found *f = ctx;
    f->n++;
    memcpy(f->last, author, AM_PK_LEN);
    return 0;
}

static int ingest(const struct chain *c, const size_t *idx, size_t n, struct store_ingest_stats *s)
{
    const uint8_t *p[64];
    size_t l[64];
    for (size_t i = 0; i < n; i++) {
        p[i] = c->buf[idx[i]];
        l[i] = c->len[idx[i]];
    }
    return store_ingest(st, p, l, n, WALL, s);
}

static uint64_t head_seq(const struct chain *c)
{
    struct store_head h;
    if (store_head_get(st, c->pk, &h) != AM_OK)
        return 0;
    return h.seq;
}

Test(store, install_id_is_random_and_stable)
{
    uint8_t a[AM_INSTALL_ID_LEN], b[AM_INSTALL_ID_LEN], from[AM_INSTALL_ID_LEN];
    char *dir2 = tu_tmpdir();
    struct store *s2;

    store_install_id(st, a, from);
    cr_assert(!sodium_is_zero(a, sizeof a));
    cr_assert(sodium_is_zero(from, sizeof from), "never copied");
    cr_assert_eq(store_open(&s2, dir2, NULL), AM_OK);
    store_install_id(s2, b, NULL);
    cr_assert_neq(memcmp(a, b, sizeof a), 0, "each store has its own id");
    store_close(s2);
    /* reopening keeps the id */
    store_close(st);
    cr_assert_eq(store_open(&st, dir, NULL), AM_OK);
    store_install_id(st, b, NULL);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    tu_rmrf(dir2);
    free(dir2);
}

Test(store, read_only_open_reads_and_writes_nothing)
{
    struct store *ro;
    struct store_stats a, b;
    struct store_opts o = {.read_only = 1};
    uint8_t op[] = {0x81, 0xa1, 'n', 0x01}, pk[AM_PK_LEN], sk[AM_SK_LEN], peer[AM_PK_LEN] = {9};
    const uint8_t *ops[1] = {op};
    size_t lens[1] = {sizeof op};

    crypto_sign_keypair(pk, sk);
    cr_assert_eq(store_append(st, sk, ops, lens, 1, WALL, NULL), AM_OK);
    cr_assert_eq(store_stats(st, &a), AM_OK);
    cr_assert_eq(store_open(&ro, dir, &o), AM_OK);
    cr_assert_eq(store_stats(ro, &b), AM_OK, "the databases stay open after a read-only open");
    cr_assert_eq(b.entries, a.entries);
    cr_assert_eq(store_peer_note(ro, peer), AM_OK, "a read-only store ignores the note");
    store_close(ro);
    struct peers_found f = {0};
    cr_assert_eq(store_peers_each(st, peer, 1, peers_count, &f), AM_OK);
    cr_assert_eq(f.n, 0, "nothing was written");
}

Test(store, peers_met_are_remembered_once_and_found_by_prefix)
{
    uint8_t p1[AM_PK_LEN], p2[AM_PK_LEN];
    struct peers_found f = {0};
    memset(p1, 0xab, sizeof p1);
    memset(p2, 0xab, sizeof p2);
    p2[5] = 0x01; /* shares 5 bytes with p1 */
    cr_assert_eq(store_peer_note(st, p1), AM_OK);
    cr_assert_eq(store_peer_note(st, p1), AM_OK);
    cr_assert_eq(store_peer_note(st, p2), AM_OK);
    cr_assert_eq(store_peers_each(st, p1, 5, peers_count, &f), AM_OK);
    cr_assert_eq(f.n, 2, "both share the 5-byte prefix, each once");
    f.n = 0;
    cr_assert_eq(store_peers_each(st, p1, 8, peers_count, &f), AM_OK);
    cr_assert_eq(f.n, 1);
    cr_assert_eq(memcmp(f.last, p1, AM_PK_LEN), 0);
}

Test(store, copied_store_gets_a_new_install_id)
{
    char *dir2 = tu_tmpdir(), cmd[8192];
    uint8_t a[AM_INSTALL_ID_LEN], b[AM_INSTALL_ID_LEN], from[AM_INSTALL_ID_LEN];
    struct store *s2;

    store_install_id(st, a, NULL);
    store_close(st);
    st = NULL;
    snprintf(cmd, sizeof cmd, "cp %s/data.mdb %s/data.mdb", dir, dir2);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(store_open(&s2, dir2, NULL), AM_OK);
    store_install_id(s2, b, from);
    cr_assert_neq(memcmp(a, b, sizeof a), 0, "the copy is told apart");
    cr_assert_eq(memcmp(a, from, sizeof a), 0, "and remembers where it came from");
    store_close(s2);
    cr_assert_eq(store_open(&st, dir, NULL), AM_OK);
    store_install_id(st, b, NULL);
    cr_assert_eq(memcmp(a, b, sizeof a), 0, "the original keeps its id");
    tu_rmrf(dir2);
    free(dir2);
}

Test(store, valid_chain_in_any_order_is_stored)
{
    struct chain c;
    struct store_ingest_stats s;
    size_t idx[] = {4, 0, 3, 1, 2};
    chain_make(&c, 1, 5, 0);
    cr_assert_eq(ingest(&c, idx, 5, &s), AM_OK);
    cr_assert_eq(s.added, 5);
    cr_assert_eq(head_seq(&c), 5);
    /* the stored bytes are the bytes given */
    for (size_t i = 0; i < 5; i++) {
        uint8_t buf[AM_ENTRY_MAX];
        size_t len;
        cr_assert_eq(store_entry_get(st, c.pk, i + 1, buf, sizeof buf, &len), AM_OK);
        cr_assert_eq(len, c.len[i]);
        cr_assert_eq(memcmp(buf, c.buf[i], len), 0);
    }
    chain_free(&c);
}

Test(store, duplicates_are_no_ops)
{
    struct chain c;
    struct store_ingest_stats s;
    size_t idx[] = {0, 1, 1, 2, 0};
    struct store_stats ss;
    chain_make(&c, 1, 3, 0);
    cr_assert_eq(ingest(&c, idx, 5, &s), AM_OK);
    cr_assert_eq(s.added, 3);
    cr_assert_eq(s.duplicate, 2);
    cr_assert_eq(ingest(&c, idx, 5, &s), AM_OK);
    cr_assert_eq(s.added, 0);
    cr_assert_eq(s.duplicate, 5);
    cr_assert_eq(store_stats(st, &ss), AM_OK);
    cr_assert_eq(ss.entries, 3);
    cr_assert_eq(ss.authors, 1);
    chain_free(&c);
}

Test(store, gap_is_refused_with_a_count)
{
    struct chain c;
    struct store_ingest_stats s;
    size_t idx[] = {0, 1, 3, 4};
    chain_make(&c, 1, 5, 0);
    cr_assert_eq(ingest(&c, idx, 4, &s), AM_OK);
    cr_assert_eq(s.added, 2);
    cr_assert_eq(s.gap, 2);
    cr_assert_eq(s.first_error, AM_EGAP);
    cr_assert_eq(s.first_error_index, 2);
    cr_assert_eq(head_seq(&c), 2);
    /* the missing entry arrives: the rest follows */
    size_t rest[] = {2, 3, 4};
    cr_assert_eq(ingest(&c, rest, 3, &s), AM_OK);
    cr_assert_eq(s.added, 3);
    cr_assert_eq(head_seq(&c), 5);
    chain_free(&c);
}

Test(store, refusals_name_the_author_and_the_reason)
{
    struct chain c, other;
    struct store_ingest_stats s;
    size_t all[] = {0, 1, 2}, late[] = {2, 3};
    chain_make(&c, 1, 3, 0);
    chain_make(&other, 2, 4, 0);
    c.buf[2][c.len[2] - 1] ^= 0x01; /* the tip's signature */
    cr_assert_eq(ingest(&c, all, 3, &s), AM_OK);
    cr_assert_eq(s.n_refused_by, 1);
    cr_assert_eq(memcmp(s.refused_by[0].author, c.pk, AM_PK_LEN), 0);
    cr_assert_eq(s.refused_by[0].reason, AM_EBADSIG);
    cr_assert_eq(s.refused_by[0].count, 1);
    cr_assert_eq(ingest(&other, late, 2, &s), AM_OK);
    cr_assert_eq(s.n_refused_by, 1, "one author, one reason: one row");
    cr_assert_eq(memcmp(s.refused_by[0].author, other.pk, AM_PK_LEN), 0);
    cr_assert_eq(s.refused_by[0].reason, AM_EGAP);
    cr_assert_eq(s.refused_by[0].count, 2);
    chain_free(&c);
    chain_free(&other);
}

Test(store, tip_only_verification_accepts_valid_run)
{
    struct chain c;
    struct store_ingest_stats s;
    size_t idx[] = {0, 1, 2, 3, 4, 5, 6, 7};
    chain_make(&c, 1, 8, 0);
    /* Break the signature of a middle entry: its hash changes, so the next entry no longer
     * links to it. Tip-only verification must not accept entries past the break. */
    c.buf[3][c.len[3] - 1] ^= 1;
    cr_assert_eq(ingest(&c, idx, 8, &s), AM_OK);
    cr_assert_eq(s.added, 3, "entries 1..3 are covered by a good signature");
    cr_assert_eq(s.unlinked + s.badsig, 5);
    cr_assert_eq(head_seq(&c), 3);
    chain_free(&c);
}

Test(store, run_with_bad_tip_signature_keeps_only_signed_prefix)
{
    struct chain c;
    struct store_ingest_stats s;
    size_t idx[] = {0, 1, 2, 3, 4, 5};
    chain_make(&c, 1, 6, 0);
    c.buf[5][c.len[5] - 3] ^= 0x10; /* the tip's signature */
    cr_assert_eq(ingest(&c, idx, 6, &s), AM_OK);
    cr_assert_eq(s.badsig, 1);
    cr_assert_eq(s.added, 5, "the prefix up to a good signature is kept");
    cr_assert_eq(head_seq(&c), 5);
    chain_free(&c);
}

Test(store, resigned_entry_does_not_link)
{
    /* An attacker with another key re-signs entry 3 under their own name: it is an entry
     * of another author (whose chain has a gap), never one of c's. Same with entry 3 of
     * a chain of c's key with other content (a fork). */
    struct chain c, other;
    struct store_ingest_stats s;
    size_t first[] = {0, 1}, mid[] = {2};
    chain_make(&c, 1, 4, 0);
    chain_make(&other, 2, 4, 0);
    cr_assert_eq(ingest(&c, first, 2, &s), AM_OK);
    cr_assert_eq(ingest(&other, mid, 1, &s), AM_OK);
    cr_assert_eq(s.gap, 1);
    cr_assert_eq(head_seq(&c), 2);
    chain_free(&c);
    chain_free(&other);
}

Test(store, swapped_entries_do_not_link)
{
    /* Entry 3's bytes placed where entry 4 should come: same author, right count, wrong
     * link. */
    struct chain c;
    struct store_ingest_stats s;
    size_t idx[] = {0, 1, 2};
    chain_make(&c, 1, 4, 0);
    cr_assert_eq(ingest(&c, idx, 3, &s), AM_OK);
    size_t swapped[] = {3, 2};
    cr_assert_eq(ingest(&c, swapped, 2, &s), AM_OK);
    cr_assert_eq(s.duplicate, 1);
    cr_assert_eq(s.added, 1);
    /* entry 2 again, then entry 4, skipping 3: a gap */
    struct chain d;
    chain_make(&d, 3, 4, 0);
    size_t skip[] = {0, 1, 3};
    cr_assert_eq(ingest(&d, skip, 3, &s), AM_OK);
    cr_assert_eq(s.added, 2);
    cr_assert_eq(s.gap, 1);
    chain_free(&c);
    chain_free(&d);
}

static int count_forks(void *ctx, const uint8_t *author, uint64_t seq, const uint8_t *raw,
                       size_t len)
{
    (void)author;
    (void)raw;
    (void)len;
    cr_assert_eq(seq, 3);
    ++*(int *)ctx;
    return 0;
}

Test(store, fork_evidence_is_kept_and_other_authors_go_on)
{
    struct chain a, b, x;
    struct store_ingest_stats s;
    struct store_head h;
    struct store_stats ss;
    size_t all[] = {0, 1, 2, 3};
    int nforks = 0;

    chain_make(&a, 1, 4, 0);
    chain_make(&b, 1, 4, 1); /* same key, other content from seq 1 on */
    chain_make(&x, 5, 4, 0);
    cr_assert_eq(ingest(&a, all, 3, &s), AM_OK);

    /* One batch with b's entry 3 (conflicting) and x's entries: x goes on. */
    const uint8_t *p[5] = {b.buf[2], x.buf[0], x.buf[1], x.buf[2], x.buf[3]};
    size_t l[5] = {b.len[2], x.len[0], x.len[1], x.len[2], x.len[3]};
    cr_assert_eq(store_ingest(st, p, l, 5, WALL, &s), AM_OK);
    cr_assert_eq(s.forks, 1);
    cr_assert_eq(s.added, 4);
    cr_assert_eq(store_head_get(st, a.pk, &h), AM_OK);
    cr_assert(h.flags & STORE_HEAD_FORKED);
    cr_assert_eq(h.seq, 3, "the first branch is kept");
    cr_assert_eq(store_forks_each(st, count_forks, &nforks), AM_OK);
    cr_assert_eq(nforks, 1);
    /* the same evidence again is a duplicate */
    cr_assert_eq(store_ingest(st, p, l, 1, WALL, &s), AM_OK);
    cr_assert_eq(s.duplicate, 1);
    cr_assert_eq(s.forks, 0);
    cr_assert_eq(store_stats(st, &ss), AM_OK);
    cr_assert_eq(ss.forks, 1);
    cr_assert_eq(ss.forked, 1);
    /* the kept branch still grows from peers */
    size_t four[] = {3};
    cr_assert_eq(ingest(&a, four, 1, &s), AM_OK);
    cr_assert_eq(s.added, 1);
    chain_free(&a);
    chain_free(&b);
    chain_free(&x);
}

Test(store, forged_fork_is_not_evidence)
{
    /* A different entry at a known position whose signature is bad proves nothing. */
    struct chain a, b;
    struct store_ingest_stats s;
    struct store_head h;
    size_t all[] = {0, 1, 2};
    chain_make(&a, 1, 3, 0);
    chain_make(&b, 1, 3, 1);
    cr_assert_eq(ingest(&a, all, 3, &s), AM_OK);
    b.buf[1][b.len[1] - 1] ^= 4;
    size_t one[] = {1};
    cr_assert_eq(ingest(&b, one, 1, &s), AM_OK);
    cr_assert_eq(s.forks, 0);
    cr_assert_eq(s.badsig, 1);
    cr_assert_eq(store_head_get(st, a.pk, &h), AM_OK);
    cr_assert_eq(h.flags & STORE_HEAD_FORKED, 0);
    chain_free(&a);
    chain_free(&b);
}

Test(store, entry_of_other_branch_beyond_head_is_evidence)
{
    struct chain a, b;
    struct store_ingest_stats s;
    struct store_head h;
    size_t first[] = {0, 1}, later[] = {2, 3};
    chain_make(&a, 1, 4, 0);
    chain_make(&b, 1, 4, 1);
    cr_assert_eq(ingest(&a, first, 2, &s), AM_OK);
    cr_assert_eq(ingest(&b, later, 2, &s), AM_OK);
    cr_assert_eq(s.forks, 1, "b's entry 3 names a predecessor other than a's entry 2");
    cr_assert_eq(s.unlinked, 1);
    cr_assert_eq(store_head_get(st, a.pk, &h), AM_OK);
    cr_assert(h.flags & STORE_HEAD_FORKED);
    chain_free(&a);
    chain_free(&b);
}

Test(store, malformed_entries_are_counted)
{
    struct chain c;
    struct store_ingest_stats s;
    uint8_t junk[] = {0xc1, 0x00};
    chain_make(&c, 1, 1, 0);
    const uint8_t *p[2] = {junk, c.buf[0]};
    size_t l[2] = {sizeof junk, c.len[0]};
    cr_assert_eq(store_ingest(st, p, l, 2, WALL, &s), AM_OK);
    cr_assert_eq(s.malformed, 1);
    cr_assert_eq(s.added, 1);
    cr_assert_eq(s.first_error, AM_EMALFORMED);
    cr_assert_eq(s.first_error_index, 0);
    chain_free(&c);
}

Test(store, local_append_chains_and_reaches_ingest)
{
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    const uint8_t *ops[3] = {op_note, op_note, op_note};
    size_t lens[3] = {sizeof op_note, sizeof op_note, sizeof op_note};
    struct store_head h;
    char *dir2 = tu_tmpdir();
    struct store *s2;

    crypto_sign_keypair(pk, sk);
    cr_assert_eq(store_append(st, sk, ops, lens, 3, WALL, &h), AM_OK);
    cr_assert_eq(h.seq, 3);
    cr_assert_eq(store_append(st, sk, ops, lens, 2, WALL - 5000, &h), AM_OK);
    cr_assert_eq(h.seq, 5);
    cr_assert_gt(h.hlc, hlc_pack(WALL, 0), "a clock set back never goes back");

    /* Everything appended ingests into a second store as a valid chain. */
    cr_assert_eq(store_open(&s2, dir2, NULL), AM_OK);
    const uint8_t *p[5];
    size_t l[5];
    uint8_t bufs[5][AM_ENTRY_MAX];
    for (uint64_t i = 0; i < 5; i++) {
        cr_assert_eq(store_entry_get(st, pk, i + 1, bufs[i], AM_ENTRY_MAX, &l[i]), AM_OK);
        p[i] = bufs[i];
    }
    struct store_ingest_stats s;
    cr_assert_eq(store_ingest(s2, p, l, 5, WALL, &s), AM_OK);
    cr_assert_eq(s.added, 5);
    store_close(s2);
    tu_rmrf(dir2);
    free(dir2);
}

Test(store, append_refuses_a_forked_author)
{
    struct chain a, b;
    struct store_ingest_stats s;
    size_t all[] = {0, 1}, one[] = {1};
    const uint8_t *ops[1] = {op_note};
    size_t lens[1] = {sizeof op_note};
    chain_make(&a, 1, 2, 0);
    chain_make(&b, 1, 2, 1);
    cr_assert_eq(ingest(&a, all, 2, &s), AM_OK);
    cr_assert_eq(ingest(&b, one, 1, &s), AM_OK);
    cr_assert_eq(store_append(st, a.sk, ops, lens, 1, WALL, NULL), AM_EFORK);
    chain_free(&a);
    chain_free(&b);
}

Test(store, far_future_entries_are_accepted_but_counted)
{
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN], buf[AM_ENTRY_MAX], prev[AM_HASH_LEN] = {0};
    size_t len;
    struct store_ingest_stats s;
    struct store_head h;
    const uint8_t *p[1] = {buf};
    const uint8_t *ops[1] = {op_note};
    size_t lens[1] = {sizeof op_note};
    uint64_t year = 365ULL * 24 * 3600 * 1000;

    crypto_sign_keypair(pk, sk);
    cr_assert_eq(entry_build(buf, sizeof buf, &len, sk, 1, prev, hlc_pack(WALL + year, 0), op_note,
                             sizeof op_note),
                 AM_OK);
    cr_assert_eq(store_ingest(st, p, &len, 1, WALL, &s), AM_OK);
    cr_assert_eq(s.added, 1);
    cr_assert_eq(s.future, 1);
    /* our own next write is not dragged a year ahead */
    uint8_t pk2[AM_PK_LEN], sk2[AM_SK_LEN];
    crypto_sign_keypair(pk2, sk2);
    cr_assert_eq(store_append(st, sk2, ops, lens, 1, WALL, &h), AM_OK);
    cr_assert_lt(h.hlc, hlc_pack(WALL + 1, 0));
}

Test(store, map_full_grows_or_reports)
{
    /* A tiny map that may not grow: "disk full", nothing of the batch stored. */
    char *d2 = tu_tmpdir();
    struct store *s2;
    struct store_opts o = {.map_initial = 128 * 1024, .map_max = 128 * 1024};
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    uint8_t big_op[6 + 3996];
    const uint8_t *ops[64];
    size_t lens[64];
    struct store_stats ss;
    int rc = AM_OK;

    crypto_sign_keypair(pk, sk);
    big_op[0] = 0x81;
    big_op[1] = 0xa1;
    big_op[2] = 'n';
    big_op[3] = 0xda; /* str16 of 3996 bytes */
    big_op[4] = 3996 >> 8;
    big_op[5] = 3996 & 0xff;
    memset(big_op + 6, 'x', sizeof big_op - 6);
    for (int i = 0; i < 64; i++) {
        ops[i] = big_op;
        lens[i] = sizeof big_op;
    }
    cr_assert_eq(store_open(&s2, d2, &o), AM_OK);
    uint64_t before = 0;
    for (int round = 0; round < 20 && rc == AM_OK; round++) {
        cr_assert_eq(store_stats(s2, &ss), AM_OK);
        before = ss.entries;
        rc = store_append(s2, sk, ops, lens, 16, WALL, NULL);
    }
    cr_assert_eq(rc, AM_EFULL, "rc %d", rc);
    cr_assert_eq(store_stats(s2, &ss), AM_OK);
    cr_assert_eq(ss.entries, before, "the failed batch left nothing behind");
    store_close(s2);

    /* The same store with room to grow: the map doubles and the batch goes in. */
    o.map_max = 0;
    cr_assert_eq(store_open(&s2, d2, &o), AM_OK);
    cr_assert_eq(store_append(s2, sk, ops, lens, 16, WALL, NULL), AM_OK);
    cr_assert_eq(store_stats(s2, &ss), AM_OK);
    cr_assert_eq(ss.entries, before + 16);
    cr_assert_gt(ss.map_size, 128 * 1024);
    store_close(s2);
    tu_rmrf(d2);
    free(d2);
}

/* ---- damaged stores (PROTOCOL.md §7, "Damaged stores", "Store record") ------------------ */

/* Opens dir/store with the record dir/store.id; *d receives what is wrong. */
static int open_recorded(struct store **s, const char *base, struct store_damage *d)
{
    char sdir[4096], rec[4096];
    struct store_opts o = {0};
    snprintf(sdir, sizeof sdir, "%s/store", base);
    snprintf(rec, sizeof rec, "%s/store.id", base);
    o.record = rec;
    o.damage = d;
    return store_open(s, sdir, &o);
}

/* A store of `n` entries under base/store, with its record; closed. */
static void recorded_store(const char *base, size_t n)
{
    struct store *s;
    struct store_damage d;
    struct store_ingest_stats ist;
    struct chain c;
    cr_assert_eq(open_recorded(&s, base, &d), AM_OK);
    chain_make(&c, 9, n, 0);
    cr_assert_eq(store_ingest(s, (const uint8_t *const *)c.buf, c.len, n, WALL, &ist), AM_OK);
    cr_assert_eq(ist.added, n);
    store_close(s);
    chain_free(&c);
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

Test(store, a_file_cut_short_is_refused_before_it_is_mapped)
{
    char *base = tu_tmpdir(), data[4096];
    struct store *s = NULL;
    struct store_damage d;
    long size;

    recorded_store(base, 40);
    snprintf(data, sizeof data, "%s/store/data.mdb", base);
    size = file_size(data);
    /* cut to its two meta pages: more than the 8 pages of slack are missing */
    cr_assert_gt(size, 12 * 4096, "%ld bytes", size);
    size = 2 * 8192; /* the checks below read size / 2: the length it is cut to */
    cr_assert_eq(truncate(data, size / 2), 0);
    cr_assert_eq(open_recorded(&s, base, &d), AM_ECORRUPT);
    cr_assert_null(s);
    cr_assert_eq(d.kind, STORE_DAMAGE_SHORT);
    cr_assert_eq(d.size, (uint64_t)(size / 2));
    cr_assert_geq(d.need, (uint64_t)size / 2 + 1, "it needs more than it has");
    cr_assert_eq(file_size(data), size / 2, "nothing was written to it");
    tu_rmrf(base);
    free(base);
}

Test(store, a_flipped_meta_page_is_named)
{
    char *base = tu_tmpdir(), data[4096];
    struct store *s = NULL;
    struct store_damage d;
    uint8_t b;
    FILE *f;

    recorded_store(base, 5);
    snprintf(data, sizeof data, "%s/store/data.mdb", base);
    f = fopen(data, "r+b");
    cr_assert_not_null(f);
    /* the magic of meta page 0, after its page header */
    cr_assert_eq(fseek(f, 17, SEEK_SET), 0);
    cr_assert_eq(fread(&b, 1, 1, f), 1);
    b ^= 0x40;
    cr_assert_eq(fseek(f, 17, SEEK_SET), 0);
    cr_assert_eq(fwrite(&b, 1, 1, f), 1);
    fclose(f);
    cr_assert_eq(open_recorded(&s, base, &d), AM_ECORRUPT);
    cr_assert_eq(d.kind, STORE_DAMAGE_HEADER);
    cr_assert_eq(d.page, 0);
    tu_rmrf(base);
    free(base);
}

Test(store, an_emptied_or_removed_store_is_noticed_from_its_record)
{
    char *base = tu_tmpdir(), data[4096], rec[4096], text[2048];
    struct store *s = NULL;
    struct store_damage d;
    struct store_stats sst;

    recorded_store(base, 12);
    snprintf(data, sizeof data, "%s/store/data.mdb", base);
    snprintf(rec, sizeof rec, "%s/store.id", base);
    cr_assert_eq(truncate(data, 0), 0);
    cr_assert_eq(open_recorded(&s, base, &d), AM_ECORRUPT);
    cr_assert_eq(d.kind, STORE_DAMAGE_EMPTY);
    cr_assert_eq(d.had_entries, 12, "the record knew how many entries there were");
    cr_assert_eq(file_size(data), 0, "no new store was made in its place");
    store_damage_text(&d, "S", rec, text, sizeof text);
    cr_assert(strstr(text, "emptied or replaced") && strstr(text, "12 entries"), "%s", text);

    cr_assert_eq(unlink(data), 0);
    cr_assert_eq(open_recorded(&s, base, &d), AM_ECORRUPT);
    cr_assert_eq(d.kind, STORE_DAMAGE_MISSING);
    cr_assert_eq(file_size(data), -1);

    /* starting over: the record set aside, a new empty store is accepted and recorded */
    cr_assert_eq(store_record_set_aside(rec), AM_OK);
    cr_assert_eq(open_recorded(&s, base, &d), AM_OK);
    cr_assert_eq(store_stats(s, &sst), AM_OK);
    cr_assert_eq(sst.entries, 0);
    store_close(s);
    cr_assert_geq(file_size(rec), 1);
    tu_rmrf(base);
    free(base);
}

Test(store, another_installs_store_is_refused_a_copy_of_this_one_is_not)
{
    char *a = tu_tmpdir(), *b = tu_tmpdir(), cmd[16384];
    struct store *s = NULL;
    struct store_damage d;
    uint8_t ida[AM_INSTALL_ID_LEN];

    recorded_store(a, 3);
    recorded_store(b, 4);
    /* a copy of a's own file (a restore): accepted, and the record follows it */
    snprintf(cmd, sizeof cmd,
             "cp %s/store/data.mdb %s/x && rm %s/store/data.mdb && mv %s/x %s/store/data.mdb", a, a,
             a, a, a);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(open_recorded(&s, a, &d), AM_OK);
    store_install_id(s, ida, NULL);
    store_close(s);
    cr_assert_eq(open_recorded(&s, a, &d), AM_OK, "still accepted after the record follows it");
    store_close(s);
    /* b's file in a's home: refused, nothing written to it */
    snprintf(cmd, sizeof cmd, "cp %s/store/data.mdb %s/store/data.mdb", b, a);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(open_recorded(&s, a, &d), AM_ECORRUPT);
    cr_assert_eq(d.kind, STORE_DAMAGE_REPLACED);
    cr_assert_eq(memcmp(d.had_id, ida, AM_INSTALL_ID_LEN), 0);
    cr_assert_eq(d.had_entries, 3);
    tu_rmrf(a);
    tu_rmrf(b);
    free(a);
    free(b);
}

static int fault_now(void *ctx)
{
    (void)ctx;
    raise(SIGSEGV); /* as LMDB following a wild pointer would */
    return AM_OK;
}

static int no_fault(void *ctx)
{
    return *(int *)ctx;
}

Test(store, a_fault_in_a_guarded_scan_is_damage_not_a_crash)
{
    struct store_damage d;
    struct store_stats sst;
    int v = 7;

    cr_assert_eq(store_guarded(st, no_fault, &v, &d), 7, "the callback's value passes through");
    cr_assert_eq(store_guarded(st, fault_now, NULL, &d), AM_ECORRUPT);
    cr_assert_eq(d.kind, STORE_DAMAGE_FAULT);
    cr_assert_eq(store_stats(st, &sst), AM_ECORRUPT, "the store is not read again");
    cr_assert_eq(store_guarded(st, no_fault, &v, &d), AM_ECORRUPT);
}

Test(store, a_store_record_parses_only_as_written)
{
    static const char ok[] =
        "aidmesh-store-v1\ninstall_id = 0123456789abcdef0123456789abcdef\nentries = 1234\n";
    static const char *const bad[] = {
        "aidmesh-store-v1\ninstall_id = 0123456789abcdef0123456789abcdef\nentries = 1234\nx\n",
        "aidmesh-store-v1\ninstall_id = 0123456789ABCDEF0123456789ABCDEF\nentries = 1234\n",
        "aidmesh-store-v1\ninstall_id = 0123456789abcdef0123456789abcdef\nentries = 01234\n",
        "aidmesh-store-v1\ninstall_id=0123456789abcdef0123456789abcdef\nentries = 1234\n",
        "aidmesh-store-v1\ninstall_id = 0123456789abcdef\nentries = 1234\n",
        "aidmesh-store-v1\ninstall_id = 0123456789abcdef0123456789abcdef\nentries = 1234",
    };
    uint8_t id[AM_INSTALL_ID_LEN];
    uint64_t n = 0;
    cr_assert_eq(store_record_parse(ok, strlen(ok), id, &n), AM_OK);
    cr_assert_eq(n, 1234);
    cr_assert_eq(id[0], 0x01);
    cr_assert_eq(id[15], 0xef);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(store_record_parse(bad[i], strlen(bad[i]), id, &n), AM_ECORRUPT, "case %zu",
                     i);
    /* a length that stops short of the text is what is parsed */
    cr_assert_eq(store_record_parse(ok, strlen(ok) - 1, id, &n), AM_ECORRUPT);
}
