/*
 * beacon_test.c: discovery beacons (transport/beacon.c). A known answer computed by an
 * independent model of PROTOCOL.md §9.2 (Python: BLAKE2b, HChaCha20 by hand, then
 * IETF ChaCha20-Poly1305 of the 'cryptography' package), round trips, the wrong network
 * key, every truncation, every bit flip, unlinkability of two beacons of one node, the
 * clock window, own-instance detection and the limits. Random inputs come from a printed
 * seed (rerun with AM_SEED=...).
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "am_err.h"
#include "beacon.h"
#include "testutil.h"

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
}

TestSuite(beacon, .init = setup);

#define NOW_MIN 29000000u /* 2025-02-20, minutes since 1970 */

static void hex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        cr_assert(sscanf(h + 2 * i, "%2x", &v) == 1);
        out[i] = (uint8_t)v;
    }
}

static void fill(uint64_t *st, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(tu_rand(st) >> 56);
}

static void sample(uint64_t *st, struct beacon *b)
{
    memset(b, 0, sizeof *b);
    fill(st, b->author, sizeof b->author);
    fill(st, b->instance, sizeof b->instance);
    b->tcp_port = BEACON_TCP_PORT;
    b->proto_version = 1;
    b->minutes = NOW_MIN;
}

static void encode(const uint8_t key[static BEACON_KEY_LEN], const struct beacon *b, uint64_t *st,
                   uint8_t out[static BEACON_LEN])
{
    uint8_t nonce[BEACON_NONCE_LEN];
    size_t len = 0;

    fill(st, nonce, sizeof nonce);
    cr_assert_eq(beacon_encode(key, b, nonce, out, BEACON_LEN, &len), AM_OK);
    cr_assert_eq(len, BEACON_LEN);
}

static void expect_same(const struct beacon *a, const struct beacon *b)
{
    cr_assert(memcmp(a->author, b->author, AM_PK_LEN) == 0);
    cr_assert(memcmp(a->instance, b->instance, BEACON_INSTANCE_LEN) == 0);
    cr_assert_eq(a->tcp_port, b->tcp_port);
    cr_assert_eq(a->proto_version, b->proto_version);
    cr_assert_eq(a->minutes, b->minutes);
}

static int all_zero(const struct beacon *b)
{
    static const struct beacon zero;
    return memcmp(b, &zero, sizeof zero) == 0;
}

Test(beacon, known_answer)
{
    uint8_t netkey[AM_NETKEY_LEN], key[BEACON_KEY_LEN], want_key[BEACON_KEY_LEN];
    uint8_t nonce[BEACON_NONCE_LEN], out[BEACON_MAX], want[BEACON_LEN];
    struct beacon b = {.tcp_port = 47470, .proto_version = 1, .minutes = NOW_MIN}, got;
    size_t len = 0;

    for (int i = 0; i < AM_NETKEY_LEN; i++)
        netkey[i] = (uint8_t)i;
    for (int i = 0; i < AM_PK_LEN; i++)
        b.author[i] = (uint8_t)(0x20 + i);
    for (int i = 0; i < BEACON_INSTANCE_LEN; i++)
        b.instance[i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < BEACON_NONCE_LEN; i++)
        nonce[i] = (uint8_t)(0x40 + i);
    hex("82911e830c94e59ad3b81220981531669aae4f8f4fc2dac087ceb081fab6f352", want_key,
        sizeof want_key);
    hex("414d4201404142434445464748494a4b4c4d4e4f5051525354555657e5932a99df681caad86e51"
        "23366332805ca547fb3ae840a728901a1b137e032427f5ac36d80103787e450c6a43cb5d14d901"
        "1c12412c1043bfc2dd7261d8c98dc70651c21b2ae478",
        want, sizeof want);

    beacon_key(netkey, key);
    cr_assert(memcmp(key, want_key, sizeof key) == 0, "beacon key differs from the model");
    cr_assert_eq(beacon_encode(key, &b, nonce, out, sizeof out, &len), AM_OK);
    cr_assert_eq(len, BEACON_LEN);
    cr_assert(memcmp(out, want, BEACON_LEN) == 0, "datagram differs from the model");
    cr_assert_eq(beacon_decode(key, want, sizeof want, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_OK);
    expect_same(&got, &b);
}

Test(beacon, round_trip)
{
    uint64_t st = tu_seed("beacon.round_trip");
    uint8_t netkey[AM_NETKEY_LEN], key[BEACON_KEY_LEN], dg[BEACON_LEN];
    struct beacon b, got;

    for (int i = 0; i < 200; i++) {
        fill(&st, netkey, sizeof netkey);
        beacon_key(netkey, key);
        sample(&st, &b);
        b.tcp_port = (uint16_t)(1 + tu_rand(&st) % 65535);
        b.proto_version = (uint16_t)tu_rand(&st);
        b.minutes = (uint32_t)tu_rand(&st);
        encode(key, &b, &st, dg);
        cr_assert_eq(beacon_sniff(dg, sizeof dg), AM_OK);
        cr_assert_eq(beacon_decode(key, dg, sizeof dg, b.minutes, 0, &got), AM_OK);
        expect_same(&got, &b);
    }
}

Test(beacon, other_network_is_badmac)
{
    uint64_t st = tu_seed("beacon.other_network_is_badmac");
    uint8_t nk1[AM_NETKEY_LEN], nk2[AM_NETKEY_LEN], k1[BEACON_KEY_LEN], k2[BEACON_KEY_LEN];
    uint8_t dg[BEACON_LEN];
    struct beacon b, got;

    fill(&st, nk1, sizeof nk1);
    memcpy(nk2, nk1, sizeof nk2);
    nk2[31] ^= 1; /* one bit apart */
    beacon_key(nk1, k1);
    beacon_key(nk2, k2);
    sample(&st, &b);
    encode(k1, &b, &st, dg);
    /* an outsider's tool still sees "an aidmesh beacon" */
    cr_assert_eq(beacon_sniff(dg, sizeof dg), AM_OK);
    cr_assert_eq(beacon_decode(k2, dg, sizeof dg, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_EBADMAC);
    cr_assert(all_zero(&got));
    /* the network key itself is not the beacon key */
    cr_assert_eq(beacon_decode(nk1, dg, sizeof dg, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_EBADMAC);
    cr_assert_eq(beacon_decode(k1, dg, sizeof dg, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_OK);
}

Test(beacon, every_truncation_and_extension)
{
    uint64_t st = tu_seed("beacon.every_truncation_and_extension");
    uint8_t key[BEACON_KEY_LEN], dg[BEACON_MAX + 64];
    struct beacon b, got;

    fill(&st, key, sizeof key);
    sample(&st, &b);
    encode(key, &b, &st, dg);
    fill(&st, dg + BEACON_LEN, sizeof dg - BEACON_LEN);
    for (size_t len = 0; len < BEACON_LEN; len++)
        cr_assert_eq(beacon_decode(key, dg, len, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_EMALFORMED,
                     "length %zu", len);
    for (size_t len = BEACON_LEN + 1; len <= BEACON_MAX; len++)
        cr_assert_eq(beacon_decode(key, dg, len, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_EMALFORMED,
                     "length %zu", len);
    for (size_t len = BEACON_MAX + 1; len <= sizeof dg; len++)
        cr_assert_eq(beacon_decode(key, dg, len, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_ELIMIT,
                     "length %zu", len);
    /* the limit is checked before anything else, even the magic */
    memset(dg, 0, sizeof dg);
    cr_assert_eq(beacon_decode(key, dg, BEACON_MAX + 1, NOW_MIN, BEACON_WINDOW_MIN, &got),
                 AM_ELIMIT);
    cr_assert_eq(beacon_sniff(dg, BEACON_MAX + 1), AM_ELIMIT);
    cr_assert_eq(beacon_decode(key, NULL, 0, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_EMALFORMED);
}

Test(beacon, every_bit_flip)
{
    uint64_t st = tu_seed("beacon.every_bit_flip");
    uint8_t key[BEACON_KEY_LEN], dg[BEACON_LEN], bad[BEACON_LEN];
    struct beacon b, got;

    fill(&st, key, sizeof key);
    sample(&st, &b);
    encode(key, &b, &st, dg);
    for (size_t bit = 0; bit < 8 * BEACON_LEN; bit++) {
        size_t i = bit / 8;
        int want = i < BEACON_MAGIC_LEN    ? AM_EMALFORMED
                   : i == BEACON_MAGIC_LEN ? AM_EVERSION
                                           : AM_EBADMAC;
        memcpy(bad, dg, sizeof bad);
        bad[i] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_eq(beacon_decode(key, bad, sizeof bad, NOW_MIN, BEACON_WINDOW_MIN, &got), want,
                     "bit %zu", bit);
        cr_assert(all_zero(&got), "bit %zu left output", bit);
    }
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_OK);
}

/* Length of the longest run of bytes that occurs in both a and b. */
static size_t longest_common(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    size_t best = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++) {
            size_t k = 0;
            while (i + k < na && j + k < nb && a[i + k] == b[j + k])
                k++;
            if (k > best)
                best = k;
        }
    return best;
}

Test(beacon, unlinkable)
{
    uint64_t st = tu_seed("beacon.unlinkable");
    uint8_t nk1[AM_NETKEY_LEN], nk2[AM_NETKEY_LEN], k1[BEACON_KEY_LEN], k2[BEACON_KEY_LEN];
    uint8_t d1[BEACON_LEN], d2[BEACON_LEN], d3[BEACON_LEN];
    struct beacon b;
    const size_t tail = BEACON_LEN - BEACON_HEADER_LEN;

    fill(&st, nk1, sizeof nk1);
    fill(&st, nk2, sizeof nk2);
    beacon_key(nk1, k1);
    beacon_key(nk2, k2);
    sample(&st, &b);
    /* one node, same content, one right after the other; and the same node in another
     * network (a laptop that moved) */
    encode(k1, &b, &st, d1);
    encode(k1, &b, &st, d2);
    encode(k2, &b, &st, d3);
    cr_assert(memcmp(d1, d2, BEACON_HEADER_LEN) == 0, "the clear header is constant");
    /* After the header, the datagrams share no run of 6 bytes or more (by chance, a run
     * of 6 of 96 random bytes happens about once in 3e10). */
    cr_assert_lt(longest_common(d1 + BEACON_HEADER_LEN, tail, d2 + BEACON_HEADER_LEN, tail), 6);
    cr_assert_lt(longest_common(d1 + BEACON_HEADER_LEN, tail, d3 + BEACON_HEADER_LEN, tail), 6);
    /* and none of them carries the author id or the instance id in clear */
    cr_assert_lt(longest_common(d1, BEACON_LEN, b.author, AM_PK_LEN), 6);
    cr_assert_lt(longest_common(d1, BEACON_LEN, b.instance, BEACON_INSTANCE_LEN), 6);
    /* every beacon is the same length, whatever the node and its port */
    b.tcp_port = 1;
    encode(k1, &b, &st, d2);
    cr_assert_eq(beacon_sniff(d2, sizeof d2), AM_OK);
}

Test(beacon, clock_window)
{
    uint64_t st = tu_seed("beacon.clock_window");
    uint8_t key[BEACON_KEY_LEN], dg[BEACON_LEN];
    struct beacon b, got;
    const uint32_t w = BEACON_WINDOW_MIN;

    fill(&st, key, sizeof key);
    sample(&st, &b);
    encode(key, &b, &st, dg);
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, NOW_MIN, w, &got), AM_OK);
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, NOW_MIN + w, w, &got), AM_OK);
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, NOW_MIN - w, w, &got), AM_OK);
    /* one minute outside either way: a replay, or a clock off by more than a day */
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, NOW_MIN + w + 1, w, &got), BEACON_ESTALE);
    expect_same(&got, &b); /* filled, for diagnosis */
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, NOW_MIN - w - 1, w, &got), BEACON_ESTALE);
    expect_same(&got, &b);
    /* a receiver whose clock says 1970, and one beyond 2^32 minutes */
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, 0, w, &got), BEACON_ESTALE);
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, UINT64_MAX, w, &got), BEACON_ESTALE);
    /* the widest window accepts any clock */
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, 0, UINT32_MAX, &got), AM_OK);
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, UINT64_MAX, UINT32_MAX, &got), AM_OK);
    /* a zero window accepts only the same minute */
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, NOW_MIN, 0, &got), AM_OK);
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, NOW_MIN + 1, 0, &got), BEACON_ESTALE);
    /* the distinct code is distinct */
    cr_assert_neq(BEACON_ESTALE, AM_EBADMAC);
    cr_assert_neq(BEACON_ESTALE, AM_EMALFORMED);
    cr_assert_neq(BEACON_ESTALE, AM_EVERSION);
    cr_assert_neq(BEACON_ESTALE, AM_ELIMIT);
}

Test(beacon, own_instance)
{
    uint64_t st = tu_seed("beacon.own_instance");
    uint8_t key[BEACON_KEY_LEN], dg[BEACON_LEN], other[BEACON_INSTANCE_LEN];
    struct beacon b, got;

    fill(&st, key, sizeof key);
    sample(&st, &b);
    encode(key, &b, &st, dg);
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_OK);
    cr_assert(beacon_is_own(&got, b.instance));
    memcpy(other, b.instance, sizeof other);
    for (size_t i = 0; i < sizeof other; i++) {
        other[i] ^= 0x80;
        cr_assert(!beacon_is_own(&got, other), "byte %zu", i);
        other[i] ^= 0x80;
    }
    /* same author, another process (another instance): not "own" */
    fill(&st, b.instance, sizeof b.instance);
    encode(key, &b, &st, dg);
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_OK);
    cr_assert(!beacon_is_own(&got, other));
}

Test(beacon, versions_and_headers)
{
    uint64_t st = tu_seed("beacon.versions_and_headers");
    uint8_t key[BEACON_KEY_LEN], dg[BEACON_MAX];
    struct beacon b, got;

    fill(&st, key, sizeof key);
    sample(&st, &b);
    encode(key, &b, &st, dg);
    /* a later version may be longer: still "another version", not malformed */
    dg[BEACON_MAGIC_LEN] = 2;
    cr_assert_eq(beacon_sniff(dg, 180), AM_EVERSION);
    cr_assert_eq(beacon_decode(key, dg, 180, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_EVERSION);
    cr_assert_eq(beacon_decode(key, dg, BEACON_HEADER_LEN, NOW_MIN, BEACON_WINDOW_MIN, &got),
                 AM_EVERSION);
    dg[BEACON_MAGIC_LEN] = 0;
    cr_assert_eq(beacon_decode(key, dg, BEACON_LEN, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_EVERSION);
    /* the right header over random bytes: looks like a beacon of some other network */
    fill(&st, dg, sizeof dg);
    memcpy(dg, "AMB\x01", BEACON_HEADER_LEN);
    cr_assert_eq(beacon_sniff(dg, BEACON_LEN), AM_OK);
    cr_assert_eq(beacon_decode(key, dg, BEACON_LEN, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_EBADMAC);
    /* other protocols on the port */
    memcpy(dg, "M-SEARCH * HTTP/1.1\r\n", 21);
    cr_assert_eq(beacon_sniff(dg, 21), AM_EMALFORMED);
    cr_assert_eq(beacon_decode(key, dg, BEACON_LEN, NOW_MIN, BEACON_WINDOW_MIN, &got),
                 AM_EMALFORMED);
}

Test(beacon, encode_arguments)
{
    uint8_t key[BEACON_KEY_LEN] = {1}, nonce[BEACON_NONCE_LEN] = {2}, out[BEACON_LEN];
    struct beacon b = {.tcp_port = 0, .minutes = NOW_MIN};
    size_t len = 7;

    memset(out, 0xee, sizeof out);
    cr_assert_eq(beacon_encode(key, &b, nonce, out, sizeof out, &len), AM_EINVAL);
    b.tcp_port = 5;
    cr_assert_eq(beacon_encode(key, &b, nonce, out, BEACON_LEN - 1, &len), AM_EINVAL);
    cr_assert_eq(len, 7);
    cr_assert_eq(out[0], 0xee);
    cr_assert_eq(beacon_encode(key, &b, nonce, out, BEACON_LEN, NULL), AM_OK);
}

/* An authentic beacon carrying port 0 (no conforming sender writes one) is malformed:
 * made here by hand, with the layout of PROTOCOL.md §9.2. */
Test(beacon, authentic_port_zero)
{
    uint8_t key[BEACON_KEY_LEN] = {9}, pt[BEACON_PLAIN_LEN] = {0}, dg[BEACON_LEN];
    unsigned long long clen = 0;
    struct beacon got;

    pt[52] = (uint8_t)(NOW_MIN >> 24);
    pt[53] = (uint8_t)(NOW_MIN >> 16);
    pt[54] = (uint8_t)(NOW_MIN >> 8);
    pt[55] = (uint8_t)NOW_MIN;
    memcpy(dg, "AMB\x01", BEACON_HEADER_LEN);
    memset(dg + BEACON_HEADER_LEN, 0x33, BEACON_NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(dg + BEACON_HEADER_LEN + BEACON_NONCE_LEN, &clen, pt,
                                               sizeof pt, dg, BEACON_HEADER_LEN, NULL,
                                               dg + BEACON_HEADER_LEN, key);
    cr_assert_eq(clen, BEACON_PLAIN_LEN + BEACON_TAG_LEN);
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, NOW_MIN, BEACON_WINDOW_MIN, &got),
                 AM_EMALFORMED);
    cr_assert(all_zero(&got));
    pt[49] = 1; /* port 1 */
    crypto_aead_xchacha20poly1305_ietf_encrypt(dg + BEACON_HEADER_LEN + BEACON_NONCE_LEN, &clen, pt,
                                               sizeof pt, dg, BEACON_HEADER_LEN, NULL,
                                               dg + BEACON_HEADER_LEN, key);
    cr_assert_eq(beacon_decode(key, dg, sizeof dg, NOW_MIN, BEACON_WINDOW_MIN, &got), AM_OK);
    cr_assert_eq(got.tcp_port, 1);
}

/* What beacon_sniff must say about buf: what beacon_decode says before it decrypts, and
 * AM_OK for anything that got as far as the tag. */
static int sniff_expected(int decoded)
{
    return decoded == AM_ELIMIT || decoded == AM_EMALFORMED || decoded == AM_EVERSION ? decoded
                                                                                      : AM_OK;
}

Test(beacon, sniff_on_every_truncation_and_extension)
{
    uint64_t st = tu_seed("beacon.sniff_on_every_truncation_and_extension");
    uint8_t key[BEACON_KEY_LEN], dg[BEACON_MAX + 64];
    struct beacon b, got;

    fill(&st, key, sizeof key);
    sample(&st, &b);
    encode(key, &b, &st, dg);
    fill(&st, dg + BEACON_LEN, sizeof dg - BEACON_LEN);
    for (size_t len = 0; len <= sizeof dg; len++) {
        /* an exact-size copy: a read past the datagram is an ASan report */
        uint8_t *p = tu_dup_exact(dg, len);
        int want = sniff_expected(beacon_decode(key, p, len, NOW_MIN, BEACON_WINDOW_MIN, &got));
        cr_assert_eq(beacon_sniff(p, len), want, "length %zu", len);
        cr_assert_eq(beacon_sniff(p, len),
                     len == BEACON_LEN  ? AM_OK
                     : len > BEACON_MAX ? AM_ELIMIT
                                        : AM_EMALFORMED,
                     "length %zu", len);
        free(p);
    }
}

Test(beacon, sniff_agrees_with_decode_under_random_damage)
{
    uint64_t st = tu_seed("beacon.sniff_agrees_with_decode_under_random_damage");
    uint8_t key[BEACON_KEY_LEN], dg[BEACON_MAX];
    struct beacon b, got;
    unsigned seen[4] = {0}; /* sniff said: OK, malformed, version, limit */

    fill(&st, key, sizeof key);
    for (int round = 0; round < 20000; round++) {
        size_t len = BEACON_LEN, flips = 1 + tu_rand(&st) % 4;
        uint8_t *p;
        int want, got_rc;
        sample(&st, &b);
        encode(key, &b, &st, dg);
        for (size_t f = 0; f < flips; f++) {
            /* the header is where sniff looks: damage it more often than the rest */
            size_t at = tu_rand(&st) % 2 ? tu_rand(&st) % (BEACON_HEADER_LEN + 1)
                                         : tu_rand(&st) % BEACON_LEN;
            dg[at] ^= (uint8_t)(1 + tu_rand(&st) % 255);
        }
        if (tu_rand(&st) % 4 == 0)
            len = tu_rand(&st) % (BEACON_MAX + 1);
        p = tu_dup_exact(dg, len);
        want = sniff_expected(beacon_decode(key, p, len, NOW_MIN, BEACON_WINDOW_MIN, &got));
        got_rc = beacon_sniff(p, len);
        cr_assert_eq(got_rc, want, "round %d: sniff %d, decode says %d", round, got_rc, want);
        /* and what the header table of PROTOCOL.md says, from the bytes themselves */
        want = len > BEACON_MAX                                                ? AM_ELIMIT
               : len < BEACON_HEADER_LEN || memcmp(p, "AMB", BEACON_MAGIC_LEN) ? AM_EMALFORMED
               : p[BEACON_MAGIC_LEN] != 1                                      ? AM_EVERSION
               : len != BEACON_LEN                                             ? AM_EMALFORMED
                                                                               : AM_OK;
        cr_assert_eq(got_rc, want, "round %d: sniff %d, the header says %d", round, got_rc, want);
        seen[got_rc == AM_OK ? 0 : got_rc == AM_EMALFORMED ? 1 : got_rc == AM_EVERSION ? 2 : 3]++;
        free(p);
    }
    cr_assert(seen[0] && seen[1] && seen[2], "every verdict was met: %u %u %u", seen[0], seen[1],
              seen[2]);
}
