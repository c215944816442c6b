/*
 * entry.c: encode, decode, hash and verify log entries (PROTOCOL.md section "Entry").
 * Decoding trusts nothing: length cap, then mp_check, then a field-by-field read.
 * Never re-encodes received bytes, never prints.
 */
#include "entry.h"

#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "am_err.h"
#include "mp.h"

int entry_decode(struct entry *e, const uint8_t *buf, size_t len)
{
    struct mp_cur c;
    size_t body_len;
    uint32_t n;
    uint64_t version;
    const uint8_t *p;
    int rc;

    if (len > AM_ENTRY_MAX)
        return AM_ELIMIT;
    if (len <= AM_SIG_LEN)
        return AM_EMALFORMED;
    rc = mp_check(buf, len - AM_SIG_LEN, &body_len, &mp_limits_entry);
    if (rc != AM_OK)
        return rc;
    if (body_len != len - AM_SIG_LEN)
        return AM_EMALFORMED;

    c.p = buf;
    c.end = buf + body_len;
    if (mp_get_array(&c, &n) != AM_OK || n != 6)
        return AM_EMALFORMED;
    if (mp_get_uint(&c, &version) != AM_OK)
        return AM_EMALFORMED;
    if (version != AM_ENTRY_VERSION)
        return AM_EVERSION;
    e->version = (uint8_t)version;
    if (mp_get_bin(&c, &p, &n) != AM_OK || n != AM_PK_LEN)
        return AM_EMALFORMED;
    memcpy(e->author, p, AM_PK_LEN);
    if (mp_get_uint(&c, &e->seq) != AM_OK || e->seq == 0 || e->seq > INT64_MAX)
        return AM_EMALFORMED;
    if (mp_get_bin(&c, &p, &n) != AM_OK || n != AM_HASH_LEN)
        return AM_EMALFORMED;
    memcpy(e->prev, p, AM_HASH_LEN);
    if (e->seq == 1 && !sodium_is_zero(e->prev, AM_HASH_LEN))
        return AM_EMALFORMED; /* the first entry has no predecessor */
    if (mp_get_uint(&c, &e->hlc) != AM_OK)
        return AM_EMALFORMED;
    if (mp_peek(&c) != 'm')
        return AM_EMALFORMED;
    e->op = c.p;
    if (mp_skip(&c) != AM_OK || c.p != c.end)
        return AM_EMALFORMED;
    e->op_len = (size_t)(c.p - e->op);
    if (e->op_len > AM_OP_MAX)
        return AM_ELIMIT;
    e->raw = buf;
    e->raw_len = len;
    e->body_len = body_len;
    return AM_OK;
}

void entry_hash(const struct entry *e, uint8_t out[static AM_HASH_LEN])
{
    crypto_generichash(out, AM_HASH_LEN, e->raw, e->raw_len, NULL, 0);
}

int entry_raw_is(const uint8_t *raw, size_t len, uint64_t seq, const uint8_t *hash, size_t n)
{
    struct entry e;
    uint8_t h[AM_HASH_LEN];
    if (n > AM_HASH_LEN || entry_decode(&e, raw, len) != AM_OK || e.seq != seq)
        return 0;
    entry_hash(&e, h);
    return memcmp(h, hash, n) == 0;
}

void entry_log_id(uint8_t out[static AM_PK_LEN], const uint8_t author[static AM_PK_LEN],
                  const uint8_t first_hash[static AM_HASH_LEN])
{
    static const char label[] = ENTRY_LOG_LABEL;
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, AM_PK_LEN);
    crypto_generichash_update(&st, (const uint8_t *)label, sizeof label - 1);
    crypto_generichash_update(&st, author, AM_PK_LEN);
    crypto_generichash_update(&st, first_hash, AM_HASH_LEN);
    crypto_generichash_final(&st, out, AM_PK_LEN);
}

/* The signed message is label || body. Signing and verifying both build it in one
 * buffer; AM_ENTRY_MAX bounds it. */
int entry_verify(const struct entry *e)
{
    uint8_t msg[AM_ENTRY_SIG_LABEL_LEN + AM_ENTRY_MAX];

    if (e->body_len > AM_ENTRY_MAX)
        return AM_EBADSIG;
    memcpy(msg, AM_ENTRY_SIG_LABEL, AM_ENTRY_SIG_LABEL_LEN);
    memcpy(msg + AM_ENTRY_SIG_LABEL_LEN, e->raw, e->body_len);
    if (crypto_sign_verify_detached(e->raw + e->body_len, msg, AM_ENTRY_SIG_LABEL_LEN + e->body_len,
                                    e->author) != 0)
        return AM_EBADSIG;
    return AM_OK;
}

/* A msgpack-c write callback into a fixed buffer: refuses to overflow. */
struct fixbuf {
    uint8_t *p;
    size_t len, cap;
    int over;
};

static int fixbuf_write(void *data, const char *buf, size_t len)
{
    struct fixbuf *b = data;
    if (len > b->cap - b->len) {
        b->over = 1;
        return -1;
    }
    memcpy(b->p + b->len, buf, len);
    b->len += len;
    return 0;
}

int entry_build(uint8_t *out, size_t cap, size_t *len, const uint8_t sk[static AM_SK_LEN],
                uint64_t seq, const uint8_t prev[static AM_HASH_LEN], uint64_t hlc,
                const uint8_t *op, size_t op_len)
{
    uint8_t msg[AM_ENTRY_SIG_LABEL_LEN + AM_ENTRY_MAX];
    struct fixbuf fb = {msg + AM_ENTRY_SIG_LABEL_LEN, 0, AM_ENTRY_MAX - AM_SIG_LEN, 0};
    msgpack_packer pk;
    size_t used;
    int rc;

    struct mp_limits op_limits = mp_limits_entry;

    if (seq == 0 || seq > INT64_MAX)
        return AM_EINVAL;
    if (seq == 1 && !sodium_is_zero(prev, AM_HASH_LEN))
        return AM_EINVAL; /* the first entry has no predecessor */
    /* inside an entry the op sits one level below the entry's array */
    op_limits.depth_max = mp_limits_entry.depth_max - 1;
    rc = mp_check(op, op_len, &used, &op_limits);
    if (rc != AM_OK)
        return rc;
    if (used != op_len || op[0] < 0x80 || (op[0] > 0x8f && op[0] != 0xde && op[0] != 0xdf))
        return AM_EINVAL;
    if (op_len > AM_OP_MAX)
        return AM_ELIMIT;

    msgpack_packer_init(&pk, &fb, fixbuf_write);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_uint8(&pk, AM_ENTRY_VERSION);
    msgpack_pack_bin(&pk, AM_PK_LEN);
    msgpack_pack_bin_body(&pk, sk + AM_SEED_LEN, AM_PK_LEN);
    msgpack_pack_uint64(&pk, seq);
    msgpack_pack_bin(&pk, AM_HASH_LEN);
    msgpack_pack_bin_body(&pk, prev, AM_HASH_LEN);
    msgpack_pack_uint64(&pk, hlc);
    fixbuf_write(&fb, (const char *)op, op_len);
    if (fb.over || fb.len + AM_SIG_LEN > cap)
        return AM_ELIMIT;

    memcpy(msg, AM_ENTRY_SIG_LABEL, AM_ENTRY_SIG_LABEL_LEN);
    memcpy(out, fb.p, fb.len);
    crypto_sign_detached(out + fb.len, NULL, msg, AM_ENTRY_SIG_LABEL_LEN + fb.len, sk);
    *len = fb.len + AM_SIG_LEN;
    return AM_OK;
}

void entry_id_hex(const uint8_t id[static 32], char out[static 65])
{
    sodium_bin2hex(out, 65, id, 32);
}

int entry_id_parse(const char *hex, uint8_t id[static 32])
{
    size_t n;
    if (strlen(hex) != 64 || sodium_hex2bin(id, 32, hex, 64, NULL, &n, NULL) != 0 || n != 32)
        return AM_EINVAL;
    return AM_OK;
}
