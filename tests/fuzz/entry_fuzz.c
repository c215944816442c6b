/*
 * entry_fuzz.c: libFuzzer target for the entry decoder (crdt/entry.c) and the msgpack
 * validator under it (crdt/mp.c). Built as <name>_fuzz with -DAM_FUZZ=ON and clang, or
 * with tests/fuzz/replay.c into entry_fuzz_replay, which ctest runs over
 * tests/fuzz/corpus/entry/.
 *
 * Every input goes through three checks; a broken invariant abort()s:
 *  1. entry_decode; when it succeeds, the decoded views must lie inside the input and add
 *     up (raw_len == size, body_len + 64 == size, op inside the body and a map of at
 *     most AM_OP_MAX bytes), entry_hash must be BLAKE2b-256 of the input, entry_verify
 *     must answer AM_OK or AM_EBADSIG, and decoding again must give the same fields.
 *  2. mp_check with mp_limits_entry; when it succeeds, mp_skip and a walk with every
 *     typed getter must each consume exactly `used` bytes, the result must not depend on
 *     bytes after `used`, and looser limits must accept it too.
 *  3. when the input is one map that fits in an entry, entry_build must wrap it and
 *     entry_decode + entry_verify must accept the result, with the op byte for byte.
 * Never writes files; the only state is libsodium's init and one derived test key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "am_limits.h"
#include "entry.h"
#include "mp.h"
#include "fuzz.h"

static const struct mp_limits limits_any = {AM_MP_DEPTH_MAX, UINT32_MAX, UINT32_MAX};

static int ready;
static uint8_t test_sk[AM_SK_LEN];

static void init_once(void)
{
    uint8_t pk[AM_PK_LEN], seed[AM_SEED_LEN];

    if (ready)
        return;
    CHECK(sodium_init() >= 0);
    memset(seed, 0x5a, sizeof seed); /* a fixed test key: inputs replay the same way */
    crypto_sign_seed_keypair(pk, test_sk, seed);
    ready = 1;
}

static int is_map_byte(uint8_t b)
{
    return (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
}

/* Reads one object at c with the typed getters (recursing into containers), so every
 * getter is exercised on validated bytes. Returns 0 when every getter accepted it. */
static int walk(struct mp_cur *c, unsigned depth)
{
    const uint8_t *start = c->p, *p;
    uint32_t n;
    uint64_t u;
    int64_t i;
    int b;

    if (depth > AM_MP_DEPTH_MAX)
        return -1;
    switch (mp_peek(c)) {
    case 'u':
        if (mp_get_uint(c, &u) != AM_OK)
            return -1;
        if (u <= INT64_MAX) {
            /* the same bytes read as a signed int give the same value */
            struct mp_cur c2 = {start, c->end};
            CHECK(mp_get_int(&c2, &i) == AM_OK && (uint64_t)i == u && c2.p == c->p);
        }
        return 0;
    case 'i':
        return mp_get_int(c, &i) == AM_OK ? 0 : -1;
    case 's':
        if (mp_get_str(c, &p, &n) != AM_OK)
            return -1;
        CHECK(p > start && p + n == c->p && c->p <= c->end);
        return 0;
    case 'b':
        if (mp_get_bin(c, &p, &n) != AM_OK)
            return -1;
        CHECK(p > start && p + n == c->p && c->p <= c->end);
        return 0;
    case 'n':
        return mp_get_nil(c) == AM_OK ? 0 : -1;
    case 't':
        return mp_get_bool(c, &b) == AM_OK ? 0 : -1;
    case 'f':
        /* no float getter: skip reads it */
        return mp_skip(c) == AM_OK ? 0 : -1;
    case 'a':
        if (mp_get_array(c, &n) != AM_OK)
            return -1;
        for (uint32_t k = 0; k < n; k++)
            if (walk(c, depth + 1) != 0)
                return -1;
        return 0;
    case 'm':
        if (mp_get_map(c, &n) != AM_OK)
            return -1;
        for (uint32_t k = 0; k < n; k++)
            if (walk(c, depth + 1) != 0 || walk(c, depth + 1) != 0)
                return -1;
        return 0;
    default:
        return -1;
    }
}

static void check_entry(const uint8_t *data, size_t size)
{
    struct entry e, e2;
    uint8_t h[AM_HASH_LEN], h2[AM_HASH_LEN];
    size_t used;
    int rc, vrc;

    memset(&e, 0, sizeof e);
    rc = entry_decode(&e, data, size);
    CHECK(rc == AM_OK || rc == AM_EMALFORMED || rc == AM_ELIMIT || rc == AM_EVERSION);
    if (rc != AM_OK)
        return;

    CHECK(size > AM_SIG_LEN && size <= AM_ENTRY_MAX);
    CHECK(e.raw == data);
    CHECK(e.raw_len == size);
    CHECK(e.body_len + AM_SIG_LEN == size);
    CHECK(e.version == AM_ENTRY_VERSION);
    CHECK(e.seq >= 1 && e.seq <= INT64_MAX);
    CHECK(e.op != NULL && e.op > data && e.op_len > 0);
    CHECK(e.op + e.op_len == data + e.body_len); /* the op is the body's last field */
    CHECK(e.op_len <= AM_OP_MAX);
    CHECK(is_map_byte(e.op[0]));
    CHECK(mp_check(e.op, e.op_len, &used, &mp_limits_entry) == AM_OK && used == e.op_len);
    if (e.seq == 1)
        CHECK(sodium_is_zero(e.prev, AM_HASH_LEN));

    entry_hash(&e, h);
    crypto_generichash(h2, sizeof h2, data, size, NULL, 0);
    CHECK(memcmp(h, h2, AM_HASH_LEN) == 0);

    vrc = entry_verify(&e);
    CHECK(vrc == AM_OK || vrc == AM_EBADSIG);

    /* decoding is a pure function of the bytes */
    memset(&e2, 0xa5, sizeof e2);
    CHECK(entry_decode(&e2, data, size) == AM_OK);
    CHECK(e2.version == e.version && e2.seq == e.seq && e2.hlc == e.hlc);
    CHECK(memcmp(e2.author, e.author, AM_PK_LEN) == 0);
    CHECK(memcmp(e2.prev, e.prev, AM_HASH_LEN) == 0);
    CHECK(e2.op == e.op && e2.op_len == e.op_len && e2.body_len == e.body_len);
    CHECK(entry_verify(&e2) == vrc);
}

static void check_mp(const uint8_t *data, size_t size)
{
    struct mp_cur c;
    size_t used, used2;
    int rc;

    rc = mp_check(data, size, &used, &mp_limits_entry);
    CHECK(rc == AM_OK || rc == AM_EMALFORMED || rc == AM_ELIMIT);
    if (rc != AM_OK) {
        /* looser limits never turn malformed bytes into good ones */
        if (rc == AM_EMALFORMED)
            CHECK(mp_check(data, size, &used2, &limits_any) == AM_EMALFORMED);
        return;
    }
    CHECK(used >= 1 && used <= size);

    /* mp_skip consumes exactly the checked object */
    c.p = data;
    c.end = data + size;
    CHECK(mp_skip(&c) == AM_OK);
    CHECK(c.p == data + used);

    /* so does a field-by-field walk with the getters, even with no trailing bytes */
    c.p = data;
    c.end = data + used;
    CHECK(walk(&c, 0) == 0);
    CHECK(c.p == data + used);

    /* bytes after the object do not change the verdict */
    CHECK(mp_check(data, used, &used2, &mp_limits_entry) == AM_OK && used2 == used);
    /* looser limits accept what tighter ones accept */
    CHECK(mp_check(data, size, &used2, &limits_any) == AM_OK && used2 == used);
    /* a strict prefix of one object is never a whole object */
    if (used > 1) {
        rc = mp_check(data, used - 1, &used2, &mp_limits_entry);
        CHECK(rc == AM_EMALFORMED);
    }
}

static void check_build(const uint8_t *data, size_t size)
{
    static const struct mp_limits op_limits = {AM_MP_DEPTH_MAX - 1, AM_MP_STR_MAX,
                                               AM_MP_CONTAINER_MAX};
    static uint8_t out[AM_ENTRY_MAX];
    uint8_t prev[AM_HASH_LEN];
    struct entry e;
    size_t used, len;
    uint64_t seq = 2, hlc = 0;

    if (size == 0 || size > AM_OP_MAX || !is_map_byte(data[0]))
        return;
    /* Inside an entry the op sits one level below the entry array, so an op may nest at
     * most AM_MP_DEPTH_MAX - 1 deep; entry_build refuses deeper ones. */
    memset(prev, 0x11, sizeof prev);
    for (size_t k = 0; k < 8 && k < size; k++)
        hlc = (hlc << 8) | data[k];
    if (mp_check(data, size, &used, &op_limits) != AM_OK || used != size) {
        CHECK(entry_build(out, sizeof out, &len, test_sk, seq, prev, hlc, data, size) != AM_OK);
        return;
    }
    CHECK(entry_build(out, sizeof out, &len, test_sk, seq, prev, hlc, data, size) == AM_OK);
    CHECK(len <= AM_ENTRY_MAX);
    CHECK(entry_decode(&e, out, len) == AM_OK);
    CHECK(entry_verify(&e) == AM_OK);
    CHECK(e.seq == seq && e.hlc == hlc && memcmp(e.prev, prev, AM_HASH_LEN) == 0);
    CHECK(memcmp(e.author, test_sk + AM_SEED_LEN, AM_PK_LEN) == 0);
    CHECK(e.op_len == size && memcmp(e.op, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    check_entry(data, size);
    check_mp(data, size);
    check_build(data, size);
    return 0;
}
