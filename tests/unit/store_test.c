/* store_test.c: the LMDB store: ingest ("verify the tip, hash the chain"), dedupe, forks
 * (every branch kept in logs of its own, PROTOCOL.md §6), gaps, local append, map full. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "am_err.h"
#include "entry.h"
#include "hlc.h"
#include "relief.h"
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

/* ---- branches: every branch kept in a log of its own (PROTOCOL.md §6, issue 14) -------- */

/* One entry of an author's tree; its op moves q units into one stock cell, so every
 * branch's entries show in the views. */
struct tnode {
    uint8_t *raw;
    size_t len;
    uint8_t hash[AM_HASH_LEN];
    uint64_t seq;
};

struct tree {
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    struct tnode n[48];
    size_t count;
};

static void tree_init(struct tree *t, uint8_t seed_byte)
{
    uint8_t seed[AM_SEED_LEN] = {0};
    memset(t, 0, sizeof *t);
    seed[0] = seed_byte;
    seed[1] = 0x7e;
    crypto_sign_seed_keypair(t->pk, t->sk, seed);
}

static void tree_free(struct tree *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->n[i].raw);
}

/* A new entry after `parent` (NULL: a seq 1), moving q units in. */
static struct tnode *tree_add(struct tree *t, const struct tnode *parent, int64_t q)
{
    static const uint8_t zero[AM_HASH_LEN];
    struct tnode *nd;
    struct relief_op op;
    struct entry e;
    uint8_t ob[AM_OP_MAX];
    size_t ol;
    char err[RELIEF_ERR_MAX] = "";

    cr_assert(t->count < sizeof t->n / sizeof t->n[0]);
    nd = &t->n[t->count++];
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_STOCK_MOVE;
    op.site = (struct relief_str){"hub-north", 9};
    op.item = (struct relief_str){"ors-20.5", 8};
    op.q = q;
    op.reason = RELIEF_R_RECEIVED;
    op.has = RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_ITEM) | RELIEF_HAS(RELIEF_K_Q) |
             RELIEF_HAS(RELIEF_K_R);
    cr_assert_eq(relief_op_encode(&op, ob, sizeof ob, &ol, err, sizeof err), AM_OK, "%s", err);
    nd->seq = parent ? parent->seq + 1 : 1;
    nd->raw = malloc(AM_ENTRY_MAX);
    cr_assert(nd->raw);
    cr_assert_eq(entry_build(nd->raw, AM_ENTRY_MAX, &nd->len, t->sk, nd->seq,
                             parent ? parent->hash : zero,
                             hlc_pack(WALL + nd->seq * 1000 + (uint64_t)q, 0), ob, ol),
                 AM_OK);
    cr_assert_eq(entry_decode(&e, nd->raw, nd->len), AM_OK);
    entry_hash(&e, nd->hash);
    return nd;
}

/* `len` entries in a row after `parent`, moving q, q + 1, ...; returns the first. The
 * rest follow it in t->n. */
static struct tnode *tree_run(struct tree *t, const struct tnode *parent, size_t len, int64_t q)
{
    struct tnode *first = NULL;
    for (size_t i = 0; i < len; i++) {
        struct tnode *nd = tree_add(t, parent, q + (int64_t)i);
        if (!first)
            first = nd;
        parent = nd;
    }
    return first;
}

static int put(struct store *s, struct tnode *const *v, size_t n, struct store_ingest_stats *ist)
{
    const uint8_t *p[48];
    size_t l[48];
    cr_assert(n <= 48);
    for (size_t i = 0; i < n; i++) {
        p[i] = v[i]->raw;
        l[i] = v[i]->len;
    }
    return store_ingest(s, p, l, n, WALL, ist);
}

/* The id of the child log whose first entry has hash `first` (PROTOCOL.md §6 as the
 * store names it: BLAKE2b-256("aidmesh log v1" || author || hash of its first entry)). */
static void child_id(const uint8_t author[AM_PK_LEN], const uint8_t first[AM_HASH_LEN],
                     uint8_t out[AM_PK_LEN])
{
    crypto_generichash_state g;
    crypto_generichash_init(&g, NULL, 0, AM_PK_LEN);
    crypto_generichash_update(&g, (const uint8_t *)"aidmesh log v1", 14);
    crypto_generichash_update(&g, author, AM_PK_LEN);
    crypto_generichash_update(&g, first, AM_HASH_LEN);
    crypto_generichash_final(&g, out, AM_PK_LEN);
}

struct rows {
    struct store_head h[24];
    size_t n;
};

static int rows_add(void *ctx, const struct store_head *h)
{
    struct rows *rw = ctx;
    cr_assert(rw->n < sizeof rw->h / sizeof rw->h[0], "more logs than expected");
    rw->h[rw->n++] = *h;
    return 0;
}

static void rows_of(struct store *s, struct rows *rw)
{
    memset(rw, 0, sizeof *rw);
    cr_assert_eq(store_heads_each(s, rows_add, rw), AM_OK);
}

static size_t rows_of_author(const struct rows *rw, const uint8_t author[AM_PK_LEN])
{
    size_t n = 0;
    for (size_t i = 0; i < rw->n; i++)
        n += memcmp(rw->h[i].author, author, AM_PK_LEN) == 0;
    return n;
}

static const struct store_head *row_find(const struct rows *rw, const uint8_t log[AM_PK_LEN])
{
    for (size_t i = 0; i < rw->n; i++)
        if (memcmp(rw->h[i].log, log, AM_PK_LEN) == 0)
            return &rw->h[i];
    return NULL;
}

static void rows_same(const struct rows *a, const struct rows *b)
{
    cr_assert_eq(a->n, b->n, "%zu logs against %zu", a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct store_head *x = &a->h[i], *y = &b->h[i];
        cr_assert(!memcmp(x->author, y->author, AM_PK_LEN) && !memcmp(x->log, y->log, AM_PK_LEN) &&
                      !memcmp(x->parent, y->parent, AM_PK_LEN) && x->first_seq == y->first_seq &&
                      x->seq == y->seq && !memcmp(x->hash, y->hash, AM_HASH_LEN) &&
                      x->hlc == y->hlc && x->flags == y->flags,
                  "log row %zu differs", i);
    }
}

/* Log `log` of `t`: its parent (NULL: none, the root), first seq, last seq and last hash
 * (NULL: all zero) and flags. */
static void check_log(const struct rows *rw, const struct tree *t, const uint8_t *log,
                      const uint8_t *parent, uint64_t first, uint64_t seq, const uint8_t *hash,
                      uint32_t flags, const char *what)
{
    static const uint8_t zero[AM_HASH_LEN];
    const struct store_head *h = row_find(rw, log);
    cr_assert_not_null(h, "%s: no such log", what);
    cr_assert_eq(memcmp(h->author, t->pk, AM_PK_LEN), 0, "%s: author", what);
    cr_assert_eq(memcmp(h->parent, parent ? parent : zero, AM_PK_LEN), 0, "%s: parent", what);
    cr_assert_eq(h->first_seq, first, "%s: first seq %llu", what, (unsigned long long)h->first_seq);
    cr_assert_eq(h->seq, seq, "%s: seq %llu", what, (unsigned long long)h->seq);
    cr_assert_eq(memcmp(h->hash, hash ? hash : zero, AM_HASH_LEN), 0, "%s: hash", what);
    cr_assert_eq(h->flags, flags, "%s: flags %u, want %u", what, h->flags, flags);
}

/* The entry at (log, seq) is exactly nd's bytes. */
static void check_entry(struct store *s, const uint8_t *log, const struct tnode *nd)
{
    uint8_t buf[AM_ENTRY_MAX];
    size_t len = 0;
    cr_assert_eq(store_entry_get(s, log, nd->seq, buf, sizeof buf, &len), AM_OK, "seq %llu",
                 (unsigned long long)nd->seq);
    cr_assert_eq(len, nd->len);
    cr_assert_eq(memcmp(buf, nd->raw, len), 0);
}

static void check_no_entry(struct store *s, const uint8_t *log, uint64_t seq)
{
    uint8_t buf[AM_ENTRY_MAX];
    size_t len = 0;
    cr_assert_eq(store_entry_get(s, log, seq, buf, sizeof buf, &len), AM_ENOTFOUND, "seq %llu",
                 (unsigned long long)seq);
}

static void digest_of(struct store *s, uint8_t d[AM_HASH_LEN])
{
    cr_assert_eq(store_views_digest(s, d), AM_OK);
}

/* A second store, empty. */
static struct store *store2(char **d2)
{
    struct store *s;
    *d2 = tu_tmpdir();
    cr_assert_eq(store_open(&s, *d2, NULL), AM_OK);
    return s;
}

static void store2_close(struct store *s, char *d2)
{
    store_close(s);
    tu_rmrf(d2);
    free(d2);
}

#define FS (STORE_HEAD_FORKED | STORE_HEAD_SPLIT)

Test(store, a_later_branch_is_kept_in_a_child_log)
{
    struct tree t;
    struct store_ingest_stats s;
    struct rows rw;
    uint8_t la[AM_PK_LEN], lb[AM_PK_LEN];

    tree_init(&t, 1);
    struct tnode *a = tree_run(&t, NULL, 4, 1);   /* a[0..3]: seq 1..4 */
    struct tnode *b = tree_run(&t, &a[1], 2, 10); /* b[0..1]: seq 3..4 after a's 2 */
    struct tnode *va[] = {&a[0], &a[1], &a[2], &a[3]}, *vb[] = {&b[0], &b[1]};
    cr_assert_eq(put(st, va, 4, &s), AM_OK);
    cr_assert_eq(s.added, 4);
    cr_assert_eq(put(st, vb, 2, &s), AM_OK);
    cr_assert_eq(s.forks, 1, "b's seq 3 starts a branch");
    cr_assert_eq(s.added, 1, "b's seq 4 extends it");
    cr_assert_eq(s.unlinked + s.gap + s.badsig + s.capped, 0);

    child_id(t.pk, a[2].hash, la);
    child_id(t.pk, b[0].hash, lb);
    rows_of(st, &rw);
    cr_assert_eq(rw.n, 3, "the root and two child logs");
    check_log(&rw, &t, t.pk, NULL, 1, 2, a[1].hash, FS, "root");
    check_log(&rw, &t, la, t.pk, 3, 4, a[3].hash, STORE_HEAD_FORKED, "a's branch");
    check_log(&rw, &t, lb, t.pk, 3, 4, b[1].hash, STORE_HEAD_FORKED, "b's branch");
    /* entries by log id: a's 3 and 4 moved to their child log */
    check_entry(st, t.pk, &a[0]);
    check_entry(st, t.pk, &a[1]);
    check_no_entry(st, t.pk, 3);
    check_entry(st, la, &a[2]);
    check_entry(st, la, &a[3]);
    check_entry(st, lb, &b[0]);
    check_entry(st, lb, &b[1]);

    struct store_stats ss;
    cr_assert_eq(store_stats(st, &ss), AM_OK);
    cr_assert_eq(ss.entries, 6);
    cr_assert_eq(ss.forks, 0, "every branch is kept: no piece of evidence");
    /* the branch again: duplicates */
    cr_assert_eq(put(st, vb, 2, &s), AM_OK);
    cr_assert_eq(s.duplicate, 2);
    cr_assert_eq(s.forks + s.added, 0);
    tree_free(&t);
}

Test(store, stats_count_authors_logs_and_forked_authors)
{
    struct tree t;
    struct store_ingest_stats s;
    struct store_stats ss;
    tree_init(&t, 1);
    struct tnode *a = tree_run(&t, NULL, 3, 1);
    struct tnode *b = tree_run(&t, &a[0], 2, 10);
    struct tnode *v[] = {&a[0], &a[1], &a[2], &b[0], &b[1]};
    cr_assert_eq(put(st, v, 5, &s), AM_OK);
    cr_assert_eq(store_stats(st, &ss), AM_OK);
    cr_assert_eq(ss.entries, 5);
    cr_assert_eq(ss.authors, 1, "one author, got %llu", (unsigned long long)ss.authors);
    cr_assert_eq(ss.logs, 3, "got %llu", (unsigned long long)ss.logs);
    cr_assert_eq(ss.forked, 1, "one forked author, got %llu", (unsigned long long)ss.forked);
    cr_assert_eq(ss.abusive, 0);
    tree_free(&t);
}

Test(store, append_refuses_a_forked_author)
{
    struct tree t;
    struct store_ingest_stats s;
    struct store_head h;
    const uint8_t *ops[1] = {op_note};
    size_t lens[1] = {sizeof op_note};
    uint8_t pk2[AM_PK_LEN], sk2[AM_SK_LEN];

    tree_init(&t, 1);
    struct tnode *a = tree_run(&t, NULL, 2, 1);
    struct tnode *b = tree_add(&t, &a[0], 10);
    struct tnode *v[] = {&a[0], &a[1]}, *vb[] = {b};
    cr_assert_eq(put(st, v, 2, &s), AM_OK);
    cr_assert_eq(store_append(st, t.sk, ops, lens, 1, WALL, NULL), AM_OK, "not forked yet");
    cr_assert_eq(put(st, vb, 1, &s), AM_OK);
    cr_assert_eq(s.forks, 1);
    cr_assert_eq(store_head_get(st, t.pk, &h), AM_OK);
    cr_assert_eq(h.flags, FS);
    cr_assert_eq(store_append(st, t.sk, ops, lens, 1, WALL, NULL), AM_EFORK);
    /* another author writes on */
    crypto_sign_keypair(pk2, sk2);
    cr_assert_eq(store_append(st, sk2, ops, lens, 1, WALL, NULL), AM_OK);
    tree_free(&t);
}

Test(store, forged_first_entry_of_a_branch_is_refused_and_nothing_forks)
{
    struct tree t;
    struct store_ingest_stats s;
    struct rows rw;
    tree_init(&t, 1);
    struct tnode *a = tree_run(&t, NULL, 3, 1);
    struct tnode *b = tree_run(&t, &a[0], 2, 10);
    struct tnode *v[] = {&a[0], &a[1], &a[2]}, *vb[] = {&b[0]}, *vb2[] = {&b[0], &b[1]};
    cr_assert_eq(put(st, v, 3, &s), AM_OK);
    b[0].raw[b[0].len - 1] ^= 0x04; /* its signature */
    cr_assert_eq(put(st, vb, 1, &s), AM_OK);
    cr_assert_eq(s.badsig, 1);
    cr_assert_eq(s.forks + s.added, 0);
    /* with a good entry after it, which names the unforged bytes: still nothing */
    cr_assert_eq(put(st, vb2, 2, &s), AM_OK);
    cr_assert_eq(s.forks + s.added, 0);
    cr_assert_eq(s.badsig + s.unlinked + s.gap, 2);
    rows_of(st, &rw);
    cr_assert_eq(rw.n, 1);
    check_log(&rw, &t, t.pk, NULL, 1, 3, a[2].hash, 0, "root");
    tree_free(&t);
}

Test(store, fork_is_kept_and_other_authors_go_on)
{
    struct tree t, x;
    struct store_ingest_stats s;
    struct store_head h;
    struct rows rw;
    uint8_t la[AM_PK_LEN];

    tree_init(&t, 1);
    tree_init(&x, 5);
    struct tnode *a = tree_run(&t, NULL, 4, 1);
    struct tnode *b = tree_run(&t, &a[0], 2, 10);
    struct tnode *xs = tree_run(&x, NULL, 4, 20);
    struct tnode *v[] = {&a[0], &a[1], &a[2]};
    cr_assert_eq(put(st, v, 3, &s), AM_OK);
    /* one batch with b's branch from its first entry and x's entries: x goes on */
    struct tnode *batch[] = {&xs[2], &b[1], &xs[0], &b[0], &xs[3], &xs[1]};
    cr_assert_eq(put(st, batch, 6, &s), AM_OK);
    cr_assert_eq(s.forks, 1);
    cr_assert_eq(s.added, 5, "b's seq 3 and x's four");
    cr_assert_eq(store_head_get(st, x.pk, &h), AM_OK);
    cr_assert_eq(h.seq, 4);
    cr_assert_eq(h.flags, 0);
    rows_of(st, &rw);
    cr_assert_eq(rows_of_author(&rw, t.pk), 3);
    cr_assert_eq(rows_of_author(&rw, x.pk), 1);
    /* the same batch again: duplicates */
    cr_assert_eq(put(st, batch, 6, &s), AM_OK);
    cr_assert_eq(s.duplicate, 6);
    /* a's own branch still grows, in its child log */
    struct tnode *four[] = {&a[3]};
    cr_assert_eq(put(st, four, 1, &s), AM_OK);
    cr_assert_eq(s.added, 1);
    child_id(t.pk, a[1].hash, la);
    cr_assert_eq(store_head_get(st, la, &h), AM_OK);
    cr_assert_eq(h.seq, 4);
    cr_assert_eq(memcmp(h.hash, a[3].hash, AM_HASH_LEN), 0);
    tree_free(&t);
    tree_free(&x);
}

Test(store, fork_at_seq_1)
{
    struct tree t;
    struct store_ingest_stats s;
    struct rows rw;
    uint8_t la[AM_PK_LEN], lb[AM_PK_LEN];
    tree_init(&t, 1);
    struct tnode *a = tree_run(&t, NULL, 3, 1);
    struct tnode *b = tree_run(&t, NULL, 2, 10);
    struct tnode *va[] = {&a[0], &a[1], &a[2]}, *vb[] = {&b[0], &b[1]};
    cr_assert_eq(put(st, va, 3, &s), AM_OK);
    cr_assert_eq(put(st, vb, 2, &s), AM_OK);
    cr_assert_eq(s.forks, 1);
    cr_assert_eq(s.added, 1);
    child_id(t.pk, a[0].hash, la);
    child_id(t.pk, b[0].hash, lb);
    rows_of(st, &rw);
    cr_assert_eq(rw.n, 3);
    check_log(&rw, &t, t.pk, NULL, 1, 0, NULL, FS, "root, ended before its first entry");
    check_log(&rw, &t, la, t.pk, 1, 3, a[2].hash, STORE_HEAD_FORKED, "a");
    check_log(&rw, &t, lb, t.pk, 1, 2, b[1].hash, STORE_HEAD_FORKED, "b");
    check_no_entry(st, t.pk, 1);
    check_entry(st, la, &a[0]);
    check_entry(st, lb, &b[0]);
    tree_free(&t);
}

Test(store, both_branches_in_one_batch_or_apart_make_the_same_logs_and_views)
{
    struct tree t;
    struct store_ingest_stats s;
    struct rows r1, r2;
    uint8_t d1[AM_HASH_LEN], d2[AM_HASH_LEN], l2[AM_PK_LEN];
    char *dir2;
    struct store *s2 = store2(&dir2);

    tree_init(&t, 1);
    struct tnode *a = tree_run(&t, NULL, 3, 1);
    struct tnode *b = tree_run(&t, &a[0], 2, 10);
    struct tnode *all[] = {&b[1], &a[1], &a[0], &b[0], &a[2]};
    cr_assert_eq(put(st, all, 5, &s), AM_OK);
    cr_assert_eq(s.forks, 1, "the fork is found inside the batch");
    cr_assert_eq(s.added, 4);
    /* the other store: b's branch first (it is then the root log's), a's later */
    struct tnode *first[] = {&a[0], &b[0], &b[1]}, *later[] = {&a[2], &a[1]};
    cr_assert_eq(put(s2, first, 3, &s), AM_OK);
    cr_assert_eq(s.added, 3);
    cr_assert_eq(s.forks, 0);
    cr_assert_eq(put(s2, later, 2, &s), AM_OK);
    cr_assert_eq(s.forks, 1);
    cr_assert_eq(s.added, 1);
    rows_of(st, &r1);
    rows_of(s2, &r2);
    cr_assert_eq(r1.n, 3);
    child_id(t.pk, a[1].hash, l2);
    check_log(&r1, &t, t.pk, NULL, 1, 1, a[0].hash, FS, "root");
    check_log(&r1, &t, l2, t.pk, 2, 3, a[2].hash, STORE_HEAD_FORKED, "a");
    rows_same(&r1, &r2);
    digest_of(st, d1);
    digest_of(s2, d2);
    cr_assert_eq(memcmp(d1, d2, sizeof d1), 0, "the same views whatever the arrival");
    store2_close(s2, dir2);
    tree_free(&t);
}

Test(store, branch_before_its_parent_is_a_gap_then_forks)
{
    struct tree t;
    struct store_ingest_stats s;
    struct rows rw;
    tree_init(&t, 1);
    struct tnode *a = tree_run(&t, NULL, 3, 1);
    struct tnode *b = tree_run(&t, &a[1], 2, 10); /* after a's 2 */
    struct tnode *one[] = {&a[0]}, *vb[] = {&b[0], &b[1]}, *rest[] = {&a[1], &a[2]};
    cr_assert_eq(put(st, one, 1, &s), AM_OK);
    cr_assert_eq(put(st, vb, 2, &s), AM_OK);
    cr_assert_eq(s.gap, 2, "its parent is not stored");
    cr_assert_eq(s.forks + s.added + s.unlinked, 0);
    rows_of(st, &rw);
    cr_assert_eq(rw.n, 1);
    check_log(&rw, &t, t.pk, NULL, 1, 1, a[0].hash, 0, "root");
    cr_assert_eq(put(st, rest, 2, &s), AM_OK);
    cr_assert_eq(s.added, 2);
    cr_assert_eq(put(st, vb, 2, &s), AM_OK);
    cr_assert_eq(s.forks, 1);
    cr_assert_eq(s.added, 1);
    rows_of(st, &rw);
    cr_assert_eq(rw.n, 3);
    check_log(&rw, &t, t.pk, NULL, 1, 2, a[1].hash, FS, "root");
    tree_free(&t);
}

Test(store, third_branch_off_a_split_log_splits_nothing_more)
{
    struct tree t;
    struct store_ingest_stats s;
    struct rows before, rw;
    uint8_t lc[AM_PK_LEN];
    tree_init(&t, 1);
    struct tnode *a = tree_run(&t, NULL, 4, 1);
    struct tnode *b = tree_run(&t, &a[1], 2, 10);
    struct tnode *c = tree_add(&t, &a[1], 20);
    struct tnode *v[] = {&a[0], &a[1], &a[2], &a[3], &b[0], &b[1]}, *vc[] = {c};
    cr_assert_eq(put(st, v, 6, &s), AM_OK);
    rows_of(st, &before);
    cr_assert_eq(before.n, 3);
    cr_assert_eq(put(st, vc, 1, &s), AM_OK);
    cr_assert_eq(s.forks, 1);
    cr_assert_eq(s.added, 0);
    rows_of(st, &rw);
    cr_assert_eq(rw.n, 4);
    child_id(t.pk, c->hash, lc);
    check_log(&rw, &t, lc, t.pk, 3, 3, c->hash, STORE_HEAD_FORKED, "c");
    /* the others as they were */
    for (size_t i = 0; i < before.n; i++) {
        const struct store_head *h = row_find(&rw, before.h[i].log);
        cr_assert_not_null(h);
        cr_assert_eq(h->first_seq, before.h[i].first_seq);
        cr_assert_eq(h->seq, before.h[i].seq);
        cr_assert_eq(h->flags, before.h[i].flags);
        cr_assert_eq(memcmp(h->parent, before.h[i].parent, AM_PK_LEN), 0);
    }
    check_entry(st, lc, c);
    tree_free(&t);
}

Test(store, split_above_child_logs_moves_them_under_the_new_log)
{
    struct tree t;
    struct store_ingest_stats s;
    struct rows rw, r2;
    struct store_reindex_stats ri;
    uint8_t la[AM_PK_LEN], lb[AM_PK_LEN], l2[AM_PK_LEN], le[AM_PK_LEN];
    uint8_t d1[AM_HASH_LEN], d2[AM_HASH_LEN];
    char *dir2;
    struct store *s2;

    tree_init(&t, 1);
    struct tnode *a = tree_run(&t, NULL, 4, 1);
    struct tnode *b = tree_run(&t, &a[1], 2, 10); /* after a's 2 */
    struct tnode *e = tree_add(&t, &a[0], 30);    /* after a's 1 */
    struct tnode *v[] = {&a[0], &a[1], &a[2], &a[3], &b[0], &b[1]}, *ve[] = {e};
    cr_assert_eq(put(st, v, 6, &s), AM_OK);
    cr_assert_eq(put(st, ve, 1, &s), AM_OK);
    cr_assert_eq(s.forks, 1);
    child_id(t.pk, a[1].hash, l2);
    child_id(t.pk, a[2].hash, la);
    child_id(t.pk, b[0].hash, lb);
    child_id(t.pk, e->hash, le);
    rows_of(st, &rw);
    cr_assert_eq(rw.n, 5);
    check_log(&rw, &t, t.pk, NULL, 1, 1, a[0].hash, FS, "root");
    check_log(&rw, &t, l2, t.pk, 2, 2, a[1].hash, FS, "a's 2, itself split before");
    check_log(&rw, &t, le, t.pk, 2, 2, e->hash, STORE_HEAD_FORKED, "e");
    check_log(&rw, &t, la, l2, 3, 4, a[3].hash, STORE_HEAD_FORKED, "a's 3.., now under a's 2");
    check_log(&rw, &t, lb, l2, 3, 4, b[1].hash, STORE_HEAD_FORKED, "b, now under a's 2");
    check_no_entry(st, t.pk, 2);
    check_entry(st, l2, &a[1]);
    check_entry(st, la, &a[3]);

    /* a store given everything at once holds the same logs and views */
    s2 = store2(&dir2);
    struct tnode *all[] = {e, &b[1], &a[3], &a[0], &b[0], &a[2], &a[1]};
    cr_assert_eq(put(s2, all, 7, &s), AM_OK);
    cr_assert_eq(s.forks + s.added, 7);
    rows_of(s2, &r2);
    rows_same(&rw, &r2);
    digest_of(st, d1);
    digest_of(s2, d2);
    cr_assert_eq(memcmp(d1, d2, sizeof d1), 0);
    /* and reindex gives the live views */
    cr_assert_eq(store_reindex(st, &ri), AM_OK);
    cr_assert_eq(ri.entries, 7);
    cr_assert_eq(ri.ops, 7, "every branch's op applies");
    digest_of(st, d2);
    cr_assert_eq(memcmp(d1, d2, sizeof d1), 0, "reindex equals the live views");
    store2_close(s2, dir2);
    tree_free(&t);
}

struct evid {
    int n;
    uint8_t author[AM_PK_LEN];
    uint8_t hash[12][AM_HASH_LEN];
};

static int evid_add(void *ctx, const uint8_t *author, uint64_t seq, const uint8_t *raw, size_t len)
{
    struct evid *ev = ctx;
    struct entry e;
    cr_assert_eq(memcmp(author, ev->author, AM_PK_LEN), 0);
    cr_assert_eq(seq, 2);
    cr_assert(ev->n < 12);
    cr_assert_eq(entry_decode(&e, raw, len), AM_OK);
    entry_hash(&e, ev->hash[ev->n++]);
    return 0;
}

static int hash_cmp(const void *x, const void *y)
{
    return memcmp(*(const uint8_t *const *)x, *(const uint8_t *const *)y, AM_HASH_LEN);
}

Test(store, twelve_branches_keep_eight_logs_and_leave_the_views)
{
    struct tree t, x;
    struct store_ingest_stats s;
    struct store_stats ss;
    struct rows rw, r2;
    struct evid ev = {0};
    struct store_reindex_stats ri;
    uint8_t d1[AM_HASH_LEN], d2[AM_HASH_LEN], d3[AM_HASH_LEN];
    const uint8_t *sorted[12];
    struct tnode *batch[16];
    size_t nb = 0;
    char *dir2;
    struct store *s2;

    tree_init(&t, 1);
    tree_init(&x, 5);
    struct tnode *a1 = tree_add(&t, NULL, 1);
    batch[nb++] = a1;
    for (int i = 0; i < 12; i++) {
        struct tnode *k = tree_add(&t, a1, 100 + i); /* twelve seq 2s */
        batch[nb++] = k;
        sorted[i] = k->hash;
    }
    struct tnode *xs = tree_run(&x, NULL, 3, 50);
    for (int i = 0; i < 3; i++)
        batch[nb++] = &xs[i];
    cr_assert_eq(put(st, batch, nb, &s), AM_OK);
    cr_assert_eq(s.capped, 5, "12 branches, 7 child logs");
    cr_assert_eq(s.added + s.forks, 1 + 7 + 3);
    cr_assert_eq(s.forks, 6, "the first seq 2 placed extends the root, then is moved");

    rows_of(st, &rw);
    cr_assert_eq(rows_of_author(&rw, t.pk), AM_LOGS_PER_AUTHOR);
    for (size_t i = 0; i < rw.n; i++)
        if (!memcmp(rw.h[i].author, t.pk, AM_PK_LEN))
            cr_assert(rw.h[i].flags & STORE_HEAD_ABUSIVE && rw.h[i].flags & STORE_HEAD_FORKED);
        else
            cr_assert_eq(rw.h[i].flags, 0, "x is untouched");
    check_log(&rw, &t, t.pk, NULL, 1, 1, a1->hash, FS | STORE_HEAD_ABUSIVE, "root");
    /* which branches are kept is a function of the hashes: the seven lowest */
    qsort(sorted, 12, sizeof sorted[0], hash_cmp);
    for (int i = 0; i < 12; i++) {
        uint8_t id[AM_PK_LEN];
        child_id(t.pk, sorted[i], id);
        cr_assert_eq(row_find(&rw, id) != NULL, i < 7, "branch %d by hash", i);
    }
    memcpy(ev.author, t.pk, AM_PK_LEN);
    cr_assert_eq(store_forks_each(st, evid_add, &ev), AM_OK);
    cr_assert_eq(ev.n, 5, "the five beyond the bound are evidence");
    for (int i = 0; i < 5; i++) {
        int found = 0;
        for (int j = 7; j < 12; j++)
            found |= !memcmp(ev.hash[i], sorted[j], AM_HASH_LEN);
        cr_assert(found, "evidence %d is one of the five highest hashes", i);
    }
    cr_assert_eq(store_stats(st, &ss), AM_OK);
    cr_assert_eq(ss.forks, 5);
    cr_assert_eq(ss.entries, 1 + 7 + 3);

    /* the abusive author's ops leave the views: the same as a store without it */
    s2 = store2(&dir2);
    struct tnode *vx[] = {&xs[0], &xs[1], &xs[2]};
    cr_assert_eq(put(s2, vx, 3, &s), AM_OK);
    digest_of(st, d1);
    digest_of(s2, d2);
    cr_assert_eq(memcmp(d1, d2, sizeof d1), 0, "no op of an abusive author in the views");
    store2_close(s2, dir2);

    /* everything persists */
    store_close(st);
    cr_assert_eq(store_open(&st, dir, NULL), AM_OK);
    rows_of(st, &r2);
    rows_same(&rw, &r2);
    ev.n = 0;
    cr_assert_eq(store_forks_each(st, evid_add, &ev), AM_OK);
    cr_assert_eq(ev.n, 5);
    digest_of(st, d3);
    cr_assert_eq(memcmp(d1, d3, sizeof d1), 0);
    /* more of it is duplicates or stays evidence */
    cr_assert_eq(put(st, batch, nb, &s), AM_OK);
    cr_assert_eq(s.duplicate, nb);
    cr_assert_eq(store_reindex(st, &ri), AM_OK);
    digest_of(st, d3);
    cr_assert_eq(memcmp(d1, d3, sizeof d1), 0, "reindex equals the live views");
    tree_free(&t);
    tree_free(&x);
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

/* ---- store format (PROTOCOL.md 7: meta "format") ------------------------------------------ */

/* Sets the store's meta "format" byte in `d` to f, with LMDB directly (as an older or a
 * newer build would have left it). */
static void set_format(const char *d, uint8_t f)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    MDB_val k = {6, (void *)"format"}, v = {1, &f};
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(env, 32), 0);
    cr_assert_eq(mdb_env_open(env, d, 0, 0600), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    cr_assert_eq(mdb_put(txn, meta, &k, &v, 0), 0);
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static int get_format(const char *d)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    MDB_val k = {6, (void *)"format"}, v;
    int f = -1;
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(env, 32), 0);
    cr_assert_eq(mdb_env_open(env, d, MDB_RDONLY, 0600), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    if (mdb_get(txn, meta, &k, &v) == 0 && v.mv_size == 1)
        f = *(uint8_t *)v.mv_data;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return f;
}

Test(store, a_store_of_one_chain_per_author_is_read_and_raised_a_newer_one_refused)
{
    struct chain c;
    struct store_ingest_stats s;
    struct store_head h;
    struct store_opts ro = {.read_only = 1}, wr = {0};
    struct store_damage dmg;
    size_t all[] = {0, 1, 2};

    chain_make(&c, 7, 3, 0);
    cr_assert_eq(ingest(&c, all, 3, &s), AM_OK);
    store_close(st);
    st = NULL;
    cr_assert_eq(get_format(dir), 2, "a new store is of format 2 (logs)");

    /* an older build's store: read as it is, read-only leaves it so, writing raises it */
    set_format(dir, 1);
    cr_assert_eq(store_open(&st, dir, &ro), AM_OK);
    cr_assert_eq(store_head_get(st, c.pk, &h), AM_OK);
    cr_assert_eq(h.seq, 3);
    store_close(st);
    st = NULL;
    cr_assert_eq(get_format(dir), 1);
    cr_assert_eq(store_open(&st, dir, &wr), AM_OK);
    cr_assert_eq(store_head_get(st, c.pk, &h), AM_OK);
    cr_assert_eq(h.seq, 3);
    store_close(st);
    st = NULL;
    cr_assert_eq(get_format(dir), 2);

    /* a format this build does not know: refused, named, untouched */
    set_format(dir, 3);
    wr.damage = &dmg;
    cr_assert_eq(store_open(&st, dir, &wr), AM_ECORRUPT);
    cr_assert_eq(dmg.kind, STORE_DAMAGE_FORMAT);
    cr_assert_eq(get_format(dir), 3);
    set_format(dir, 2);
    cr_assert_eq(store_open(&st, dir, NULL), AM_OK); /* for teardown */
    chain_free(&c);
}
