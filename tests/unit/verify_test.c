/* verify_test.c: `aidmesh verify`'s walk (node/verify.c) on stores built in temp dirs: a
 * sound store has no problem; an entry with one byte XORed (in its signature, in its op, in
 * its seq) is reported at its author and seq, with what follows it, and nothing is said
 * about the other authors. A bad signature that the author signed over (a later entry
 * linked to it carries a valid one) is the author's misbehaviour, not damage, unless
 * damage to the run leaves it uncovered. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "entry.h"
#include "store.h"
#include "testutil.h"
#include "verify.h"

#define WALL    1700000000000ULL
#define AUTHORS 3
#define PER     6

static char *dir;
static struct store *st;
static uint8_t pk[AUTHORS][AM_PK_LEN], sk[AUTHORS][AM_SK_LEN];

struct seen {
    size_t n;
    uint8_t author[16][AM_PK_LEN];
    uint64_t seq[16];
    char what[16][160];
};

static void on_problem(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t seq, const char *what)
{
    struct seen *s = ctx;
    cr_assert_lt(s->n, 16, "too many problems");
    memcpy(s->author[s->n], author, AM_PK_LEN);
    s->seq[s->n] = seq;
    snprintf(s->what[s->n], sizeof s->what[0], "%s", what);
    s->n++;
}

static void setup(void)
{
    static const uint8_t op[] = {0x81, 0xa1, 'n', 0xa5, 'h', 'e', 'l', 'l', 'o'};
    const uint8_t *ops[PER];
    size_t lens[PER];

    cr_assert(sodium_init() >= 0);
    dir = tu_tmpdir();
    cr_assert_eq(store_open(&st, dir, NULL), AM_OK);
    for (int i = 0; i < PER; i++) {
        ops[i] = op;
        lens[i] = sizeof op;
    }
    for (int a = 0; a < AUTHORS; a++) {
        crypto_sign_keypair(pk[a], sk[a]);
        cr_assert_eq(store_append(st, sk[a], ops, lens, PER, WALL, NULL), AM_OK);
    }
}

static void teardown(void)
{
    store_close(st);
    tu_rmrf(dir);
    free(dir);
}

TestSuite(verify, .init = setup, .fini = teardown);

/* XORs byte `at` (from the end when negative) of the entry (author a, seq) with x. */
static void flip(int a, uint64_t seq, long at, uint8_t x)
{
    uint8_t buf[AM_ENTRY_MAX];
    size_t len;
    cr_assert_eq(store_entry_get(st, pk[a], seq, buf, sizeof buf, &len), AM_OK);
    buf[at < 0 ? (long)len + at : at] ^= x;
    cr_assert_eq(store_debug_put_raw(st, pk[a], seq, buf, len), AM_OK);
}

static int has(const struct seen *s, int a, uint64_t seq, const char *what)
{
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(s->author[i], pk[a], AM_PK_LEN) == 0 && s->seq[i] == seq &&
            strstr(s->what[i], what))
            return 1;
    return 0;
}

static void only_author(const struct seen *s, int a)
{
    for (size_t i = 0; i < s->n; i++)
        cr_assert_eq(memcmp(s->author[i], pk[a], AM_PK_LEN), 0,
                     "a problem reported for an untouched author: %s", s->what[i]);
}

Test(verify, a_sound_store_has_no_problem)
{
    struct verify_report r;
    struct seen s = {0};
    cr_assert_eq(verify_store(st, on_problem, &s, &r), AM_OK);
    cr_assert_eq(r.problems, 0, "first: %s", s.n ? s.what[0] : "");
    cr_assert_eq(s.n, 0);
    cr_assert_eq(r.authors, AUTHORS);
    cr_assert_eq(r.entries, AUTHORS * PER);
    cr_assert_eq(r.forks, 0);
}

Test(verify, a_flipped_signature_in_the_middle_breaks_the_chain_after_it)
{
    struct verify_report r;
    struct seen s = {0};
    flip(1, 3, -1, 0x01); /* the signature's last byte */
    cr_assert_eq(verify_store(st, on_problem, &s, &r), AM_OK);
    cr_assert(has(&s, 1, 3, "bad signature"), "n=%zu first: %s", s.n, s.n ? s.what[0] : "");
    /* the entry's hash changed with it, so entry 4 no longer links */
    cr_assert(has(&s, 1, 4, "does not link"));
    only_author(&s, 1);
    cr_assert_eq(r.problems, s.n);
}

Test(verify, a_flipped_op_byte_of_the_tip_is_a_bad_signature_and_a_stale_head)
{
    struct verify_report r;
    struct seen s = {0};
    uint8_t buf[AM_ENTRY_MAX];
    size_t len;
    struct entry e;
    /* 'o' of "hello", the op's last byte, just before the signature */
    flip(2, PER, -(long)AM_SIG_LEN - 1, 0x20);
    cr_assert_eq(store_entry_get(st, pk[2], PER, buf, sizeof buf, &len), AM_OK);
    cr_assert_eq(entry_decode(&e, buf, len), AM_OK, "still decodes");
    cr_assert_eq(verify_store(st, on_problem, &s, &r), AM_OK);
    cr_assert(has(&s, 2, PER, "bad signature"));
    cr_assert(has(&s, 2, PER, "head record hash differs"));
    only_author(&s, 2);
}

Test(verify, an_entry_that_no_longer_decodes_is_reported_where_it_sits)
{
    struct verify_report r;
    struct seen s = {0};
    flip(0, 2, 0, 0xff); /* the array header */
    cr_assert_eq(verify_store(st, on_problem, &s, &r), AM_OK);
    cr_assert(has(&s, 0, 2, "does not decode"), "n=%zu first: %s", s.n, s.n ? s.what[0] : "");
    only_author(&s, 0);
    cr_assert_gt(r.problems, 0);
}

Test(verify, a_seeded_sample_of_bit_flips_is_all_found)
{
    uint64_t rng = tu_seed("verify.a_seeded_sample_of_bit_flips_is_all_found");
    uint8_t orig[AM_ENTRY_MAX];
    size_t len;
    cr_assert_eq(store_entry_get(st, pk[1], 2, orig, sizeof orig, &len), AM_OK);
    for (int round = 0; round < 96; round++) {
        size_t bit = tu_rand(&rng) % (8 * len);
        struct verify_report r;
        struct seen s = {0};
        flip(1, 2, (long)(bit / 8), (uint8_t)(1u << (bit % 8)));
        cr_assert_eq(verify_store(st, on_problem, &s, &r), AM_OK, "bit %zu", bit);
        cr_assert_gt(r.problems, 0, "bit %zu went unnoticed", bit);
        only_author(&s, 1);
        cr_assert_eq(store_debug_put_raw(st, pk[1], 2, orig, len), AM_OK);
    }
}

/* A new author signs `count` entries, entry `bad` with a flipped signature bit and the next
 * one linking to those bytes; the store ingests them in one batch. */
static void ingest_bad_run(uint8_t author[AM_PK_LEN], uint64_t count, uint64_t bad)
{
    static const uint8_t op[] = {0x81, 0xa1, 'n', 0xa3, 'b', 'a', 'd'};
    uint8_t sk2[AM_SK_LEN], prev[AM_HASH_LEN] = {0}, buf[8][512];
    const uint8_t *raw[8];
    size_t lens[8];
    struct store_ingest_stats is;

    cr_assert_leq(count, 8);
    crypto_sign_keypair(author, sk2);
    for (uint64_t seq = 1; seq <= count; seq++) {
        struct entry e;
        size_t len;
        cr_assert_eq(entry_build(buf[seq - 1], sizeof buf[0], &len, sk2, seq, prev,
                                 (WALL << 16) + seq, op, sizeof op),
                     AM_OK);
        if (seq == bad)
            buf[seq - 1][len - 1] ^= 0x01;
        cr_assert_eq(entry_decode(&e, buf[seq - 1], len), AM_OK);
        entry_hash(&e, prev);
        raw[seq - 1] = buf[seq - 1];
        lens[seq - 1] = len;
    }
    cr_assert_eq(store_ingest(st, raw, lens, count, WALL, &is), AM_OK);
    cr_assert_eq(is.added, count, "the tip's signature covers the run (PROTOCOL.md §6)");
}

/* what verify_store_all reports: problems (first member, for on_problem) and the
 * misbehaving authors */
struct seen_all {
    struct seen s;
    size_t n;
    uint8_t author[AM_PK_LEN];
    uint64_t first, count;
};

static void on_misbehaving(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t first,
                           uint64_t count)
{
    struct seen_all *m = ctx;
    m->n++;
    memcpy(m->author, author, AM_PK_LEN);
    m->first = first;
    m->count = count;
}

static int has_author(const struct seen *s, const uint8_t *author, uint64_t seq, const char *what)
{
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(s->author[i], author, AM_PK_LEN) == 0 && s->seq[i] == seq &&
            strstr(s->what[i], what))
            return 1;
    return 0;
}

Test(verify, a_bad_signature_signed_over_by_the_author_is_misbehaviour_not_damage)
{
    struct seen_all c = {0};
    struct verify_report r;
    uint8_t author[AM_PK_LEN];

    ingest_bad_run(author, 5, 3);
    cr_assert_eq(verify_store_all(st, on_problem, on_misbehaving, &c, &r), AM_OK);
    cr_assert_eq(r.problems, 0, "first: %s", c.s.n ? c.s.what[0] : "");
    cr_assert_eq(r.misbehaving, 1);
    cr_assert_eq(r.covered_bad_sigs, 1);
    cr_assert_eq(c.n, 1);
    cr_assert_eq(memcmp(c.author, author, AM_PK_LEN), 0);
    cr_assert_eq(c.first, 3);
    cr_assert_eq(c.count, 1);
    /* verify_store (doctor's) agrees: not a problem either */
    memset(&c, 0, sizeof c);
    cr_assert_eq(verify_store(st, on_problem, &c.s, &r), AM_OK);
    cr_assert_eq(r.problems, 0);
    cr_assert_eq(r.misbehaving, 1);
}

Test(verify, damage_to_a_misbehaving_run_is_still_damage)
{
    struct verify_report r;
    struct seen s = {0};
    uint8_t author[AM_PK_LEN], buf[AM_ENTRY_MAX];
    size_t len;

    ingest_bad_run(author, 5, 4); /* seq 4 bad, covered by the tip alone */
    /* the tip's signature: now nothing covers seq 4 */
    cr_assert_eq(store_entry_get(st, author, 5, buf, sizeof buf, &len), AM_OK);
    buf[len - 1] ^= 0x04;
    cr_assert_eq(store_debug_put_raw(st, author, 5, buf, len), AM_OK);
    cr_assert_eq(verify_store(st, on_problem, &s, &r), AM_OK);
    cr_assert(has_author(&s, author, 4, "bad signature"), "n=%zu", s.n);
    cr_assert(has_author(&s, author, 5, "bad signature"));
    cr_assert_eq(r.misbehaving, 0);
    for (size_t i = 0; i < s.n; i++)
        cr_assert_eq(memcmp(s.author[i], author, AM_PK_LEN), 0, "%s", s.what[i]);
    buf[len - 1] ^= 0x04;
    cr_assert_eq(store_debug_put_raw(st, author, 5, buf, len), AM_OK);
    /* a byte of the bad entry itself: the tip no longer links to it */
    cr_assert_eq(store_entry_get(st, author, 4, buf, sizeof buf, &len), AM_OK);
    buf[len - 2] ^= 0x10;
    cr_assert_eq(store_debug_put_raw(st, author, 4, buf, len), AM_OK);
    memset(&s, 0, sizeof s);
    cr_assert_eq(verify_store(st, on_problem, &s, &r), AM_OK);
    cr_assert(has_author(&s, author, 4, "bad signature"), "n=%zu", s.n);
    cr_assert(has_author(&s, author, 5, "does not link"));
    cr_assert_eq(r.misbehaving, 0);
}
