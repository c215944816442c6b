/* entry_test.c: entry encode/decode round trip, signature and hash behaviour, HLC. */
#include <criterion/criterion.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "entry.h"
#include "hlc.h"

static uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];

static void setup(void)
{
    uint8_t seed[AM_SEED_LEN] = {1, 2, 3};
    cr_assert(sodium_init() >= 0);
    crypto_sign_seed_keypair(pk, sk, seed);
}

TestSuite(entry, .init = setup);

/* {"t": "note", "x": 7} */
static const uint8_t op_small[] = {0x82, 0xa1, 't', 0xa4, 'n', 'o', 't', 'e', 0xa1, 'x', 0x07};

Test(entry, round_trip)
{
    uint8_t buf[AM_ENTRY_MAX], prev[AM_HASH_LEN], h1[AM_HASH_LEN], h2[AM_HASH_LEN];
    size_t len;
    struct entry e;

    memset(prev, 0xab, sizeof prev);
    cr_assert_eq(entry_build(buf, sizeof buf, &len, sk, 42, prev, hlc_pack(1700000000000ULL, 3),
                             op_small, sizeof op_small),
                 AM_OK);
    cr_assert_eq(entry_decode(&e, buf, len), AM_OK);
    cr_assert_eq(e.version, AM_ENTRY_VERSION);
    cr_assert_eq(e.seq, 42);
    cr_assert_eq(memcmp(e.author, pk, AM_PK_LEN), 0);
    cr_assert_eq(memcmp(e.prev, prev, AM_HASH_LEN), 0);
    cr_assert_eq(hlc_ms(e.hlc), 1700000000000ULL);
    cr_assert_eq(hlc_counter(e.hlc), 3);
    cr_assert_eq(e.op_len, sizeof op_small);
    cr_assert_eq(memcmp(e.op, op_small, sizeof op_small), 0);
    cr_assert_eq(e.raw_len, len);
    cr_assert_eq(e.body_len + AM_SIG_LEN, len);
    cr_assert_eq(entry_verify(&e), AM_OK);
    entry_hash(&e, h1);
    crypto_generichash(h2, sizeof h2, buf, len, NULL, 0);
    cr_assert_eq(memcmp(h1, h2, AM_HASH_LEN), 0, "the hash covers the whole entry");
}

Test(entry, every_flipped_bit_is_rejected)
{
    uint8_t buf[AM_ENTRY_MAX], prev[AM_HASH_LEN] = {0};
    size_t len;
    struct entry e;

    prev[0] = 1;
    cr_assert_eq(entry_build(buf, sizeof buf, &len, sk, 2, prev, 77, op_small, sizeof op_small),
                 AM_OK);
    for (size_t i = 0; i < len; i++) {
        for (int b = 0; b < 8; b++) {
            buf[i] ^= (uint8_t)(1u << b);
            int ok = entry_decode(&e, buf, len) == AM_OK && entry_verify(&e) == AM_OK;
            cr_assert(!ok, "flip of bit %d of byte %zu was accepted", b, i);
            buf[i] ^= (uint8_t)(1u << b);
        }
    }
    cr_assert_eq(entry_decode(&e, buf, len), AM_OK);
    cr_assert_eq(entry_verify(&e), AM_OK);
}

Test(entry, truncation_and_trailing_bytes_rejected)
{
    uint8_t buf[AM_ENTRY_MAX], prev[AM_HASH_LEN] = {0};
    size_t len;
    struct entry e;

    cr_assert_eq(entry_build(buf, sizeof buf, &len, sk, 1, prev, 5, op_small, sizeof op_small),
                 AM_OK);
    for (size_t n = 0; n < len; n++)
        cr_assert_neq(entry_decode(&e, buf, n), AM_OK, "prefix of %zu bytes accepted", n);
    buf[len] = 0;
    cr_assert_neq(entry_decode(&e, buf, len + 1), AM_OK);
}

Test(entry, limits_and_bad_arguments)
{
    static uint8_t big[AM_ENTRY_MAX + 64];
    uint8_t prev[AM_HASH_LEN] = {0}, one[AM_HASH_LEN] = {1};
    size_t len;
    struct entry e;
    const uint8_t not_map[] = {0x91, 0x01};

    cr_assert_eq(entry_decode(&e, big, sizeof big), AM_ELIMIT);
    cr_assert_eq(entry_build(big, sizeof big, &len, sk, 0, prev, 1, op_small, sizeof op_small),
                 AM_EINVAL, "seq 0 does not exist");
    cr_assert_eq(entry_build(big, sizeof big, &len, sk, 1, prev, 1, not_map, sizeof not_map),
                 AM_EINVAL, "an op is a map");
    /* seq 1 must have an all-zero prev: refused when built, and when decoded */
    cr_assert_eq(entry_build(big, sizeof big, &len, sk, 1, one, 1, op_small, sizeof op_small),
                 AM_EINVAL);
    cr_assert_eq(entry_build(big, sizeof big, &len, sk, 2, one, 1, op_small, sizeof op_small),
                 AM_OK);
    cr_assert_eq(big[2 + 2 + AM_PK_LEN], 2, "seq is the byte after the author");
    big[2 + 2 + AM_PK_LEN] = 1;
    cr_assert_eq(entry_decode(&e, big, len), AM_EMALFORMED);
}

Test(entry, other_version_is_reported)
{
    uint8_t buf[AM_ENTRY_MAX], prev[AM_HASH_LEN] = {0};
    size_t len;
    struct entry e;

    cr_assert_eq(entry_build(buf, sizeof buf, &len, sk, 1, prev, 5, op_small, sizeof op_small),
                 AM_OK);
    cr_assert_eq(buf[0], 0x96);
    cr_assert_eq(buf[1], AM_ENTRY_VERSION);
    buf[1] = 2;
    cr_assert_eq(entry_decode(&e, buf, len), AM_EVERSION);
}

Test(entry, id_hex_round_trip)
{
    char hex[65];
    uint8_t back[32];
    entry_id_hex(pk, hex);
    cr_assert_eq(strlen(hex), 64);
    cr_assert_eq(entry_id_parse(hex, back), AM_OK);
    cr_assert_eq(memcmp(back, pk, 32), 0);
    cr_assert_eq(entry_id_parse("abc", back), AM_EINVAL);
    hex[10] = 'z';
    cr_assert_eq(entry_id_parse(hex, back), AM_EINVAL);
}

Test(hlc, monotonic_and_close_to_wall)
{
    struct hlc c = {0};
    uint64_t a = hlc_tick(&c, 1000), b = hlc_tick(&c, 1000), d = hlc_tick(&c, 999);
    cr_assert_lt(a, b);
    cr_assert_lt(b, d, "a wall clock going back never makes the clock go back");
    cr_assert_eq(hlc_ms(a), 1000);
    cr_assert_eq(hlc_tick(&c, 5000), hlc_pack(5000, 0));
}

Test(hlc, counter_carries_into_milliseconds)
{
    struct hlc c = {hlc_pack(1000, 0xffff)};
    uint64_t t = hlc_tick(&c, 1000);
    cr_assert_eq(t, hlc_pack(1001, 0));
}

Test(hlc, far_future_stamps_do_not_drag_the_clock)
{
    struct hlc c = {0};
    uint64_t wall = 1700000000000ULL;
    uint64_t year_ahead = hlc_pack(wall + 365ULL * 24 * 3600 * 1000, 0);
    uint64_t minute_ahead = hlc_pack(wall + 60 * 1000, 5);

    cr_assert_eq(hlc_observe(&c, year_ahead, wall), 1, "reported as ignored");
    cr_assert_lt(hlc_tick(&c, wall), hlc_pack(wall + 1, 0), "clock stays at wall time");
    cr_assert_eq(hlc_observe(&c, minute_ahead, wall), 0);
    cr_assert_gt(hlc_tick(&c, wall), minute_ahead, "a small skew is absorbed as HLC does");
    /* the limit itself */
    cr_assert_eq(hlc_observe(&c, hlc_pack(wall + AM_HLC_MAX_DRIFT_MS, 0xffff), wall), 0);
    cr_assert_eq(hlc_observe(&c, hlc_pack(wall + AM_HLC_MAX_DRIFT_MS + 1, 0), wall), 1);
}
