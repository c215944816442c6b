/*
 * beacon.c: encode and decode discovery beacons (PROTOCOL.md §9.2-§9.3).
 *
 * Pure: no sockets, no clock, no randomness, no allocation; never prints. Bytes from the
 * network are checked for length first (BEACON_MAX), then the clear header, then the tag;
 * nothing inside is read before the tag verifies. Plaintext on the stack is wiped.
 */
#include "beacon.h"

#include <string.h>

#include <sodium.h>

/* Offsets inside the plaintext. */
#define PT_AUTHOR   0
#define PT_INSTANCE (PT_AUTHOR + AM_PK_LEN)
#define PT_PORT     (PT_INSTANCE + BEACON_INSTANCE_LEN)
#define PT_PROTO    (PT_PORT + 2)
#define PT_MINUTES  (PT_PROTO + 2)
#define PT_END      (PT_MINUTES + 4)

/* Offsets inside the datagram. */
#define DG_NONCE BEACON_HEADER_LEN
#define DG_CT    (DG_NONCE + BEACON_NONCE_LEN)

_Static_assert(PT_END == BEACON_PLAIN_LEN, "plaintext layout");
_Static_assert(BEACON_LEN == 100, "datagram layout");
_Static_assert(BEACON_LEN <= BEACON_MAX, "a beacon fits the limit");
_Static_assert(BEACON_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(BEACON_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(BEACON_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key");

static const uint8_t header[BEACON_HEADER_LEN] = {'A', 'M', 'B', BEACON_VERSION};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void beacon_key(const uint8_t netkey[static AM_NETKEY_LEN], uint8_t key[static BEACON_KEY_LEN])
{
    crypto_generichash(key, BEACON_KEY_LEN, (const uint8_t *)BEACON_KEY_LABEL,
                       sizeof BEACON_KEY_LABEL - 1, netkey, AM_NETKEY_LEN);
}

int beacon_encode(const uint8_t key[static BEACON_KEY_LEN], const struct beacon *b,
                  const uint8_t nonce[static BEACON_NONCE_LEN], uint8_t *out, size_t cap,
                  size_t *out_len)
{
    uint8_t pt[BEACON_PLAIN_LEN];
    unsigned long long ctlen = 0;

    if (out == NULL || cap < BEACON_LEN || b == NULL || b->tcp_port == 0)
        return AM_EINVAL;
    memcpy(pt + PT_AUTHOR, b->author, AM_PK_LEN);
    memcpy(pt + PT_INSTANCE, b->instance, BEACON_INSTANCE_LEN);
    put16(pt + PT_PORT, b->tcp_port);
    put16(pt + PT_PROTO, b->proto_version);
    put32(pt + PT_MINUTES, b->minutes);

    memcpy(out, header, BEACON_HEADER_LEN);
    memcpy(out + DG_NONCE, nonce, BEACON_NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + DG_CT, &ctlen, pt, sizeof pt, header,
                                               BEACON_HEADER_LEN, NULL, out + DG_NONCE, key);
    sodium_memzero(pt, sizeof pt);
    if (out_len != NULL)
        *out_len = BEACON_LEN;
    return AM_OK;
}

int beacon_sniff(const uint8_t *buf, size_t len)
{
    if (len > BEACON_MAX)
        return AM_ELIMIT;
    if (buf == NULL || len < BEACON_HEADER_LEN || memcmp(buf, BEACON_MAGIC, BEACON_MAGIC_LEN) != 0)
        return AM_EMALFORMED;
    if (buf[BEACON_MAGIC_LEN] != BEACON_VERSION)
        return AM_EVERSION;
    if (len != BEACON_LEN)
        return AM_EMALFORMED;
    return AM_OK;
}

int beacon_decode(const uint8_t key[static BEACON_KEY_LEN], const uint8_t *buf, size_t len,
                  uint64_t now_min, uint32_t window_min, struct beacon *out)
{
    uint8_t pt[BEACON_PLAIN_LEN];
    unsigned long long ptlen = 0;
    int64_t skew;
    int rc;

    memset(out, 0, sizeof *out);
    rc = beacon_sniff(buf, len);
    if (rc != AM_OK)
        return rc;
    /* The header is the associated data: a changed version byte fails the tag too. */
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &ptlen, NULL, buf + DG_CT, len - DG_CT, buf,
                                                   BEACON_HEADER_LEN, buf + DG_NONCE, key) != 0 ||
        ptlen != BEACON_PLAIN_LEN) {
        sodium_memzero(pt, sizeof pt);
        return AM_EBADMAC;
    }
    memcpy(out->author, pt + PT_AUTHOR, AM_PK_LEN);
    memcpy(out->instance, pt + PT_INSTANCE, BEACON_INSTANCE_LEN);
    out->tcp_port = get16(pt + PT_PORT);
    out->proto_version = get16(pt + PT_PROTO);
    out->minutes = get32(pt + PT_MINUTES);
    sodium_memzero(pt, sizeof pt);

    if (out->tcp_port == 0) {
        memset(out, 0, sizeof *out);
        return AM_EMALFORMED;
    }
    /* now_min beyond 2^32 minutes (year 10136) is clamped, so the difference fits. */
    skew = (int64_t)out->minutes - (int64_t)(now_min > UINT32_MAX ? UINT32_MAX : now_min);
    if (skew > (int64_t)window_min || -skew > (int64_t)window_min)
        return BEACON_ESTALE;
    return AM_OK;
}

int beacon_is_own(const struct beacon *b, const uint8_t instance[static BEACON_INSTANCE_LEN])
{
    return memcmp(b->instance, instance, BEACON_INSTANCE_LEN) == 0;
}
