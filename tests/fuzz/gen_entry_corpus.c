/*
 * gen_entry_corpus.c: writes the seed corpus of the entry fuzz target
 * (tests/fuzz/corpus/entry/). A developer tool, not built by CMake; rerun it by hand
 * when the entry format changes, and commit the files it writes:
 *
 *   cd /path/to/aidmesh
 *   gcc -std=c11 -Wall -Wextra -Icrdt -o /tmp/gen_entry_corpus tests/fuzz/gen_entry_corpus.c \
 *       $(pkg-config --cflags --libs libsodium msgpack)
 *   rm -f tests/fuzz/corpus/entry/[a-z]* && /tmp/gen_entry_corpus tests/fuzz/corpus/entry
 *
 * It encodes and signs entries itself (msgpack-c's packer, raw bytes for hostile shapes,
 * libsodium for signatures) instead of calling entry_build, so the corpus also checks
 * entry_decode against a second encoder. Keys come from fixed seeds through
 * crypto_sign_seed_keypair and ed25519 signatures are deterministic, so every run writes
 * identical files. Only the constants of am_limits.h and entry.h are shared with crdt/.
 *
 * File names say what entry_decode must answer; tests/unit/entry_corpus_test.c holds
 * the decoder to them:
 *   ok-*         decodes, and the signature verifies
 *   badsig-*     decodes, the signature does not verify (AM_EBADSIG)
 *   malformed-*  AM_EMALFORMED
 *   limit-*      AM_ELIMIT
 *   version-*    AM_EVERSION
 *   mp-*         bare msgpack (an op, no entry around it): no expectation
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "am_limits.h"
#include "entry.h"

struct key {
    uint8_t pk[AM_PK_LEN];
    uint8_t sk[AM_SK_LEN];
};

static struct key alice, bob;
static const char *outdir;
static size_t total_bytes;
static int total_files;

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "gen_entry_corpus: %s\n", what);
    exit(1);
}

static void write_file(const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", outdir, name);
    f = fopen(path, "wb");
    if (!f || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
        die(path);
    total_bytes += n;
    total_files++;
}

/* A growable byte buffer that is also a msgpack-c packer target. */
struct buf {
    msgpack_sbuffer sb;
    msgpack_packer pk;
};

static void buf_init(struct buf *b)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void buf_free(struct buf *b)
{
    msgpack_sbuffer_destroy(&b->sb);
}

static void raw(struct buf *b, const void *p, size_t n)
{
    if (msgpack_sbuffer_write(&b->sb, p, n) != 0)
        die("out of memory");
}

static void raw_bytes(struct buf *b, const char *bytes, size_t n)
{
    raw(b, bytes, n);
}

#define RAW(b, lit) raw_bytes((b), (lit), sizeof(lit) - 1)

static void str(struct buf *b, const char *s)
{
    msgpack_pack_str_with_body(&b->pk, s, strlen(s));
}

static void str_fill(struct buf *b, size_t n, char c)
{
    char *s = malloc(n ? n : 1);
    if (!s)
        die("out of memory");
    memset(s, c, n);
    msgpack_pack_str_with_body(&b->pk, s, n);
    free(s);
}

static const uint8_t zero32[32];

/* The fields of a body before the op, in the shortest encoding (as entry_build writes). */
static void body_head(struct buf *b, uint32_t n_fields, uint64_t version, const uint8_t *author,
                      uint64_t seq, const uint8_t *prev, uint64_t hlc)
{
    msgpack_pack_array(&b->pk, n_fields);
    msgpack_pack_uint64(&b->pk, version);
    msgpack_pack_bin_with_body(&b->pk, author, AM_PK_LEN);
    msgpack_pack_uint64(&b->pk, seq);
    msgpack_pack_bin_with_body(&b->pk, prev, AM_HASH_LEN);
    msgpack_pack_uint64(&b->pk, hlc);
}

/* Signs label || body with `k` and returns body || sig in a malloc'd buffer. */
static uint8_t *sign_body(const struct key *k, const uint8_t *body, size_t body_len, size_t *len,
                          int with_label)
{
    size_t label = with_label ? AM_ENTRY_SIG_LABEL_LEN : 0;
    uint8_t *msg = malloc(label + body_len);
    uint8_t *out = malloc(body_len + AM_SIG_LEN);

    if (!msg || !out)
        die("out of memory");
    memcpy(msg, AM_ENTRY_SIG_LABEL, label);
    memcpy(msg + label, body, body_len);
    crypto_sign_detached(out + body_len, NULL, msg, label + body_len, k->sk);
    memcpy(out, body, body_len);
    *len = body_len + AM_SIG_LEN;
    free(msg);
    return out;
}

/* Writes body || signature; optionally returns the entry's hash (the next prev). */
static void emit_signed(const char *name, const struct key *k, struct buf *body,
                        uint8_t hash_out[AM_HASH_LEN])
{
    size_t len;
    uint8_t *e = sign_body(k, (const uint8_t *)body->sb.data, body->sb.size, &len, 1);
    write_file(name, e, len);
    if (hash_out)
        crypto_generichash(hash_out, AM_HASH_LEN, e, len, NULL, 0);
    free(e);
}

/* One whole signed entry with the op given as a finished buffer. */
static void emit_entry(const char *name, const struct key *k, uint64_t seq, const uint8_t *prev,
                       uint64_t hlc, struct buf *op, uint8_t hash_out[AM_HASH_LEN])
{
    struct buf body;
    buf_init(&body);
    body_head(&body, 6, AM_ENTRY_VERSION, k->pk, seq, prev, hlc);
    raw(&body, op->sb.data, op->sb.size);
    emit_signed(name, k, &body, hash_out);
    buf_free(&body);
}

/* Reads a file written earlier (to derive truncated and mutated copies). */
static uint8_t *load(const char *name, size_t *len)
{
    char path[4096];
    FILE *f;
    uint8_t *p;
    long n;

    snprintf(path, sizeof path, "%s/%s", outdir, name);
    f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        die(path);
    p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n)
        die(path);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* An op: {"t": type, "site": site, "text": text}. */
static void op_note(struct buf *op, const char *text)
{
    msgpack_pack_map(&op->pk, 3);
    str(op, "t");
    str(op, "note");
    str(op, "site");
    str(op, "north-gate");
    str(op, "text");
    str(op, text);
}

/* A map of four strings that is exactly `size` bytes (16,000 < size <= 16,400). */
static void op_of_size(struct buf *op, size_t size)
{
    msgpack_pack_map(&op->pk, 4);
    for (int i = 0; i < 4; i++) {
        char key[2] = {(char)('a' + i), 0};
        str(op, key);
        /* the last value (str16 header: 3 bytes) takes what is left */
        if (i < 3)
            str_fill(op, AM_MP_STR_MAX, key[0]);
        else
            str_fill(op, size - op->sb.size - 3, key[0]);
    }
    if (op->sb.size != size)
        die("op_of_size: wrong size");
}

/* `levels` maps nested as {"a": {"a": ... {}}}. */
static void op_nested(struct buf *op, int levels)
{
    for (int i = 0; i < levels - 1; i++) {
        msgpack_pack_map(&op->pk, 1);
        str(op, "a");
    }
    msgpack_pack_map(&op->pk, 0);
}

/* An op with one extra field whose value is the raw bytes `v`. */
static void op_with_raw(struct buf *op, const char *v, size_t vn)
{
    msgpack_pack_map(&op->pk, 2);
    str(op, "t");
    str(op, "note");
    str(op, "x");
    raw_bytes(op, v, vn);
}

/* Signs an entry whose op is {"t": "note", "x": <raw bytes>}. */
static void emit_raw_field(const char *name, const char *v, size_t vn)
{
    struct buf op;
    uint8_t prev[AM_HASH_LEN];

    memset(prev, 0x42, sizeof prev);
    buf_init(&op);
    op_with_raw(&op, v, vn);
    emit_entry(name, &alice, 9, prev, 1000, &op, NULL);
    buf_free(&op);
}

#define EMIT_RAW_FIELD(name, lit) emit_raw_field((name), (lit), sizeof(lit) - 1)

static const uint64_t hlc0 = 1714000000000ULL << 16; /* an HLC: ms << 16 | counter */

static void gen_valid(void)
{
    struct buf op;
    uint8_t h1[AM_HASH_LEN], h2[AM_HASH_LEN], h3[AM_HASH_LEN], prev[AM_HASH_LEN];

    /* 1: a first entry (prev is zero). */
    buf_init(&op);
    op_note(&op, "water point open 06:00-18:00");
    emit_entry("ok-01-first-note", &alice, 1, zero32, hlc0, &op, h1);
    buf_free(&op);

    /* 2: its successor, with a nested array of maps. */
    buf_init(&op);
    msgpack_pack_map(&op.pk, 3);
    str(&op, "t");
    str(&op, "stock");
    str(&op, "site");
    str(&op, "depot-3");
    str(&op, "items");
    msgpack_pack_array(&op.pk, 3);
    msgpack_pack_map(&op.pk, 2);
    str(&op, "k");
    str(&op, "water-l");
    str(&op, "n");
    msgpack_pack_uint32(&op.pk, 1200);
    msgpack_pack_map(&op.pk, 2);
    str(&op, "k");
    str(&op, "rice-kg");
    str(&op, "n");
    msgpack_pack_uint32(&op.pk, 340);
    msgpack_pack_map(&op.pk, 2);
    str(&op, "k");
    str(&op, "ors-sachet");
    str(&op, "n");
    msgpack_pack_uint32(&op.pk, 75);
    emit_entry("ok-02-stock-nested", &alice, 2, h1, hlc0 + 1, &op, h2);
    buf_free(&op);

    /* 3: every type class, ints at their edges. */
    buf_init(&op);
    msgpack_pack_map(&op.pk, 20);
    str(&op, "u7");
    msgpack_pack_uint8(&op.pk, 127);
    str(&op, "u8");
    msgpack_pack_uint8(&op.pk, 200);
    str(&op, "u16");
    msgpack_pack_uint16(&op.pk, 60000);
    str(&op, "u32");
    msgpack_pack_uint32(&op.pk, 4000000000u);
    str(&op, "u64");
    msgpack_pack_uint64(&op.pk, UINT64_MAX);
    str(&op, "n5");
    msgpack_pack_int8(&op.pk, -5);
    str(&op, "i8");
    msgpack_pack_int8(&op.pk, -128);
    str(&op, "i16");
    msgpack_pack_int16(&op.pk, -32768);
    str(&op, "i32");
    msgpack_pack_int32(&op.pk, INT32_MIN);
    str(&op, "i64");
    msgpack_pack_int64(&op.pk, INT64_MIN);
    str(&op, "nil");
    msgpack_pack_nil(&op.pk);
    str(&op, "yes");
    msgpack_pack_true(&op.pk);
    str(&op, "no");
    msgpack_pack_false(&op.pk);
    str(&op, "f32");
    msgpack_pack_float(&op.pk, 1.5f);
    str(&op, "f64");
    msgpack_pack_double(&op.pk, -0.25);
    str(&op, "bin");
    msgpack_pack_bin_with_body(&op.pk, "\x00\x01\xfe\xff\x80", 5);
    str(&op, "arr");
    msgpack_pack_array(&op.pk, 0);
    str(&op, "map");
    msgpack_pack_map(&op.pk, 0);
    str(&op, "s8");
    str_fill(&op, 40, 's');
    str(&op, "s16");
    str_fill(&op, 300, 'S');
    write_file("mp-op-all-types", (const uint8_t *)op.sb.data, op.sb.size);
    emit_entry("ok-03-all-types", &alice, 3, h2, hlc0 + 2, &op, h3);
    buf_free(&op);

    /* 4: an empty op map. */
    buf_init(&op);
    msgpack_pack_map(&op.pk, 0);
    emit_entry("ok-04-empty-op", &alice, 4, h3, hlc0 + 3, &op, NULL);
    buf_free(&op);

    /* 5: a string of exactly AM_MP_STR_MAX bytes. */
    buf_init(&op);
    msgpack_pack_map(&op.pk, 2);
    str(&op, "t");
    str(&op, "note");
    str(&op, "text");
    str_fill(&op, AM_MP_STR_MAX, 'w');
    memset(prev, 0x05, sizeof prev);
    emit_entry("ok-05-str-max", &alice, 5, prev, hlc0 + 4, &op, NULL);
    buf_free(&op);

    /* 6: a map of exactly AM_MP_CONTAINER_MAX pairs. */
    buf_init(&op);
    msgpack_pack_map(&op.pk, AM_MP_CONTAINER_MAX);
    for (unsigned i = 0; i < AM_MP_CONTAINER_MAX; i++) {
        msgpack_pack_uint32(&op.pk, i);
        msgpack_pack_true(&op.pk);
    }
    memset(prev, 0x06, sizeof prev);
    emit_entry("ok-06-container-max", &alice, 6, prev, hlc0 + 5, &op, NULL);
    buf_free(&op);

    /* 7: nesting exactly AM_MP_DEPTH_MAX deep, the entry array counted. */
    buf_init(&op);
    op_nested(&op, AM_MP_DEPTH_MAX - 1);
    memset(prev, 0x07, sizeof prev);
    write_file("mp-op-nested-7", (const uint8_t *)op.sb.data, op.sb.size);
    emit_entry("ok-07-depth-max", &alice, 7, prev, hlc0 + 6, &op, NULL);
    buf_free(&op);

    /* 8: the largest seq and hlc, by a second author. */
    buf_init(&op);
    op_note(&op, "last");
    memset(prev, 0xff, sizeof prev);
    emit_entry("ok-08-seq-hlc-max", &bob, INT64_MAX, prev, UINT64_MAX, &op, NULL);
    buf_free(&op);

    /* 9: valid, signed, but not the shortest encoding of any field: the decoder keeps
     * bytes as received and does not insist on one encoding. */
    {
        struct buf body;
        uint8_t be32[4] = {0, 0, 0, AM_HASH_LEN};
        buf_init(&body);
        RAW(&body, "\xdc\x00\x06"); /* array16 of 6 */
        RAW(&body, "\xcc\x01");     /* version as uint8 */
        RAW(&body, "\xc5\x00\x20"); /* author as bin16 */
        raw(&body, alice.pk, AM_PK_LEN);
        RAW(&body, "\xce\x00\x00\x00\x0a"); /* seq 10 as uint32 */
        RAW(&body, "\xc6");                 /* prev as bin32 */
        raw(&body, be32, 4);
        memset(prev, 0x09, sizeof prev);
        raw(&body, prev, AM_HASH_LEN);
        RAW(&body, "\xcf\x00\x00\x00\x00\x00\x00\x00\x2a");              /* hlc 42 as uint64 */
        RAW(&body, "\xde\x00\x02"                                        /* map16 of 2 */
                   "\xd9\x01t\xda\x00\x04note"                           /* str8 key, str16 value */
                   "\xdb\x00\x00\x00\x01n\xdd\x00\x00\x00\x01\xd0\x05"); /* int8 +5 */
        emit_signed("ok-09-noncanonical", &alice, &body, NULL);
        buf_free(&body);
    }

    /* 10: a first entry of the second author with an op of exactly AM_OP_MAX bytes. */
    buf_init(&op);
    op_of_size(&op, AM_OP_MAX);
    emit_entry("ok-10-op-max", &bob, 1, zero32, hlc0, &op, NULL);
    buf_free(&op);
}

static void gen_limits(void)
{
    struct buf op, body;
    uint8_t prev[AM_HASH_LEN];
    uint8_t *p;

    memset(prev, 0x33, sizeof prev);

    /* A string and a bin one byte over AM_MP_STR_MAX. */
    buf_init(&op);
    msgpack_pack_map(&op.pk, 1);
    str(&op, "text");
    str_fill(&op, AM_MP_STR_MAX + 1, 'x');
    emit_entry("limit-str-4097", &alice, 3, prev, 1, &op, NULL);
    buf_free(&op);

    buf_init(&op);
    msgpack_pack_map(&op.pk, 1);
    str(&op, "photo");
    p = calloc(1, AM_MP_STR_MAX + 1);
    if (!p)
        die("out of memory");
    msgpack_pack_bin_with_body(&op.pk, p, AM_MP_STR_MAX + 1);
    free(p);
    emit_entry("limit-bin-4097", &alice, 3, prev, 1, &op, NULL);
    buf_free(&op);

    /* An array one element over AM_MP_CONTAINER_MAX. */
    buf_init(&op);
    msgpack_pack_map(&op.pk, 1);
    str(&op, "items");
    msgpack_pack_array(&op.pk, AM_MP_CONTAINER_MAX + 1);
    for (unsigned i = 0; i < AM_MP_CONTAINER_MAX + 1; i++)
        msgpack_pack_nil(&op.pk);
    emit_entry("limit-array-257", &alice, 3, prev, 1, &op, NULL);
    buf_free(&op);

    /* One level deeper than AM_MP_DEPTH_MAX, counting the entry array. */
    buf_init(&op);
    op_nested(&op, AM_MP_DEPTH_MAX);
    emit_entry("limit-depth-9", &alice, 3, prev, 1, &op, NULL);
    buf_free(&op);

    /* 200 nested fixarrays as the op's value: a recursive decoder would go deep. */
    buf_init(&op);
    msgpack_pack_map(&op.pk, 1);
    str(&op, "x");
    for (int i = 0; i < 200; i++)
        RAW(&op, "\x91");
    msgpack_pack_nil(&op.pk);
    emit_entry("limit-depth-200", &alice, 3, prev, 1, &op, NULL);
    buf_free(&op);

    /* Huge declared counts in five bytes, with nothing behind them. */
    EMIT_RAW_FIELD("limit-array32-4g", "\xdd\xff\xff\xff\xff");
    EMIT_RAW_FIELD("limit-bin32-4g", "\xc6\xff\xff\xff\xff");
    /* The whole body a huge array header, then 64 bytes standing in for a signature. */
    buf_init(&body);
    RAW(&body, "\xdd\xff\xff\xff\xff");
    raw(&body, zero32, 32);
    raw(&body, zero32, 32);
    write_file("limit-body-array32-4g", (const uint8_t *)body.sb.data, body.sb.size);
    buf_free(&body);

    /* An op one byte over AM_OP_MAX in an entry under AM_ENTRY_MAX. */
    buf_init(&op);
    op_of_size(&op, AM_OP_MAX + 1);
    emit_entry("limit-op-16129", &bob, 2, prev, 1, &op, NULL);
    buf_free(&op);

    /* One byte over AM_ENTRY_MAX (only the length is looked at). */
    p = calloc(1, AM_ENTRY_MAX + 1);
    if (!p)
        die("out of memory");
    p[0] = 0x96;
    write_file("limit-entry-16385", p, AM_ENTRY_MAX + 1);
    free(p);
}

static void gen_malformed(void)
{
    struct buf op, body;
    uint8_t prev[AM_HASH_LEN];
    uint8_t *e, *t;
    size_t len;

    memset(prev, 0x44, sizeof prev);

    /* Truncations and trailing bytes of a valid entry. */
    e = load("ok-02-stock-nested", &len);
    write_file("malformed-trunc-last-byte", e, len - 1);
    write_file("malformed-trunc-no-sig", e, len - AM_SIG_LEN);
    write_file("malformed-trunc-70", e, 70);
    t = malloc(len + 1);
    if (!t)
        die("out of memory");
    memcpy(t, e, len);
    t[len] = 0x00;
    write_file("malformed-trailing-byte", t, len + 1);
    free(t);
    free(e);
    write_file("malformed-empty", zero32, 0);

    /* Field by field. */
#define BAD_ENTRY(name, nf, ver, seq, prv, hlc, opfill)                                            \
    do {                                                                                           \
        buf_init(&op);                                                                             \
        opfill;                                                                                    \
        buf_init(&body);                                                                           \
        body_head(&body, (nf), (ver), alice.pk, (seq), (prv), (hlc));                              \
        raw(&body, op.sb.data, op.sb.size);                                                        \
        emit_signed((name), &alice, &body, NULL);                                                  \
        buf_free(&body);                                                                           \
        buf_free(&op);                                                                             \
    } while (0)

    BAD_ENTRY("malformed-seq-0", 6, 1, 0, prev, 1, op_note(&op, "x"));
    BAD_ENTRY("malformed-seq-over-int64", 6, 1, (uint64_t)INT64_MAX + 1, prev, 1,
              op_note(&op, "x"));
    BAD_ENTRY("malformed-seq1-prev-nonzero", 6, 1, 1, prev, 1, op_note(&op, "x"));
    BAD_ENTRY("malformed-array-7", 7, 1, 2, prev, 1, (op_note(&op, "x"), msgpack_pack_nil(&op.pk)));
    BAD_ENTRY("malformed-op-array", 6, 1, 2, prev, 1, msgpack_pack_array(&op.pk, 0));
    BAD_ENTRY("version-2", 6, 2, 2, prev, 1, op_note(&op, "x"));

    /* author of 31 bytes; prev as str instead of bin; negative hlc. */
    buf_init(&body);
    msgpack_pack_array(&body.pk, 6);
    msgpack_pack_uint8(&body.pk, 1);
    msgpack_pack_bin_with_body(&body.pk, alice.pk, AM_PK_LEN - 1);
    msgpack_pack_uint8(&body.pk, 2);
    msgpack_pack_bin_with_body(&body.pk, prev, AM_HASH_LEN);
    msgpack_pack_uint8(&body.pk, 1);
    msgpack_pack_map(&body.pk, 0);
    emit_signed("malformed-author-31", &alice, &body, NULL);
    buf_free(&body);

    buf_init(&body);
    msgpack_pack_array(&body.pk, 6);
    msgpack_pack_uint8(&body.pk, 1);
    msgpack_pack_bin_with_body(&body.pk, alice.pk, AM_PK_LEN);
    msgpack_pack_uint8(&body.pk, 2);
    msgpack_pack_str_with_body(&body.pk, prev, AM_HASH_LEN);
    msgpack_pack_uint8(&body.pk, 1);
    msgpack_pack_map(&body.pk, 0);
    emit_signed("malformed-prev-str", &alice, &body, NULL);
    buf_free(&body);

    buf_init(&body);
    msgpack_pack_array(&body.pk, 6);
    msgpack_pack_uint8(&body.pk, 1);
    msgpack_pack_bin_with_body(&body.pk, alice.pk, AM_PK_LEN);
    msgpack_pack_uint8(&body.pk, 2);
    msgpack_pack_bin_with_body(&body.pk, prev, AM_HASH_LEN);
    msgpack_pack_int8(&body.pk, -1);
    msgpack_pack_map(&body.pk, 0);
    emit_signed("malformed-hlc-negative", &alice, &body, NULL);
    buf_free(&body);

    /* Reserved byte and ext types inside the op. */
    EMIT_RAW_FIELD("malformed-reserved-c1", "\xc1");
    EMIT_RAW_FIELD("malformed-fixext1-d4", "\xd4\x01\x00");
    EMIT_RAW_FIELD("malformed-fixext16-d8", "\xd8\x01"
                                            "0123456789abcdef");
    EMIT_RAW_FIELD("malformed-ext8-c7", "\xc7\x02\x05\x00\x00");
    /* Within limits, but more elements than bytes left. */
    EMIT_RAW_FIELD("malformed-array16-short", "\xdc\x00\xff\x01\x02\x03");
}

static void gen_badsig(void)
{
    uint8_t *e;
    size_t len;
    struct buf op, body;

    /* One signature bit flipped (a low bit, so S stays canonical). */
    e = load("ok-01-first-note", &len);
    e[len - AM_SIG_LEN] ^= 0x01;
    write_file("badsig-flipped-bit", e, len);
    free(e);

    /* Signed by bob, claiming alice as author. */
    buf_init(&op);
    op_note(&op, "forged");
    buf_init(&body);
    body_head(&body, 6, AM_ENTRY_VERSION, alice.pk, 1, zero32, hlc0);
    raw(&body, op.sb.data, op.sb.size);
    emit_signed("badsig-wrong-signer", &bob, &body, NULL);
    /* Signed by alice over the body alone, without the domain-separation label. */
    e = sign_body(&alice, (const uint8_t *)body.sb.data, body.sb.size, &len, 0);
    write_file("badsig-no-label", e, len);
    free(e);
    buf_free(&body);
    buf_free(&op);
}

int main(int argc, char **argv)
{
    uint8_t seed[AM_SEED_LEN];

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    if (sodium_init() < 0)
        die("sodium_init failed");
    /* Fixed seeds: the corpus is the same on every run. Test keys, never used elsewhere. */
    memset(seed, 0, sizeof seed);
    memcpy(seed, "aidmesh corpus alice", 20);
    crypto_sign_seed_keypair(alice.pk, alice.sk, seed);
    memset(seed, 0, sizeof seed);
    memcpy(seed, "aidmesh corpus bob", 18);
    crypto_sign_seed_keypair(bob.pk, bob.sk, seed);

    gen_valid();
    gen_limits();
    gen_malformed();
    gen_badsig();
    printf("wrote %d files, %zu bytes, to %s\n", total_files, total_bytes, outdir);
    return 0;
}
