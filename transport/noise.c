/*
 * noise.c: the Noise handshake engine of noise.h, Noise_*_25519_ChaChaPoly_BLAKE2b,
 * written from the Noise spec revision 34 on libsodium primitives.
 *
 * What it does: HMAC-BLAKE2b and HKDF (§4.3), CipherState (§5.1), SymmetricState (§5.2)
 * and HandshakeState (§5.3) driven by a table of token lists (§7.4, §7.5) with pskN
 * modifiers (§9).
 *
 * What it must never do: print, allocate, read a clock or a file, reuse a nonce, release
 * plaintext whose tag did not verify, or return with a secret left in a local buffer.
 */
#include "noise.h"

#include <assert.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"

/* Tokens of a message pattern (§7.1). 0 ends a list. */
enum {
    TOK_END = 0,
    TOK_E,
    TOK_S,
    TOK_EE,
    TOK_ES,
    TOK_SE,
    TOK_SS,
    TOK_PSK,
};

/* States of a struct noise_hs; 0 is what noise_hs_wipe() leaves. */
enum {
    HS_NONE = 0,
    HS_RUNNING,
    HS_DONE,
    HS_SPLIT,
    HS_FAILED,
};

#define BLAKE2B_BLOCK  128
#define PATTERN_TOKENS 6 /* tokens in one message of a base pattern, plus the 0 */

/*
 * A base handshake pattern. pre_i / pre_r: 1 if the initiator's / responder's static key
 * is a pre-message ("-> s" / "<- s" above the "..."). msgs[i] is sent by the initiator
 * for even i and by the responder for odd i.
 */
struct noise_pattern {
    const char *name;
    uint8_t pre_i, pre_r;
    uint8_t n_msgs;
    uint8_t msgs[NOISE_MAX_MSGS][PATTERN_TOKENS];
};

#define E  TOK_E
#define S  TOK_S
#define EE TOK_EE
#define ES TOK_ES
#define SE TOK_SE
#define SS TOK_SS

/* §7.4 one-way, §7.4 interactive (fundamental), §7.5 deferred patterns. */
static const struct noise_pattern noise_patterns[] = {
    {"N", 0, 1, 1, {{E, ES}}},
    {"K", 1, 1, 1, {{E, ES, SS}}},
    {"X", 0, 1, 1, {{E, ES, S, SS}}},

    {"NN", 0, 0, 2, {{E}, {E, EE}}},
    {"NK", 0, 1, 2, {{E, ES}, {E, EE}}},
    {"NX", 0, 0, 2, {{E}, {E, EE, S, ES}}},
    {"KN", 1, 0, 2, {{E}, {E, EE, SE}}},
    {"KK", 1, 1, 2, {{E, ES, SS}, {E, EE, SE}}},
    {"KX", 1, 0, 2, {{E}, {E, EE, SE, S, ES}}},
    {"XN", 0, 0, 3, {{E}, {E, EE}, {S, SE}}},
    {"XK", 0, 1, 3, {{E, ES}, {E, EE}, {S, SE}}},
    {"XX", 0, 0, 3, {{E}, {E, EE, S, ES}, {S, SE}}},
    {"IN", 0, 0, 2, {{E, S}, {E, EE, SE}}},
    {"IK", 0, 1, 2, {{E, ES, S, SS}, {E, EE, SE}}},
    {"IX", 0, 0, 2, {{E, S}, {E, EE, SE, S, ES}}},

    {"NK1", 0, 1, 2, {{E}, {E, EE, ES}}},
    {"NX1", 0, 0, 3, {{E}, {E, EE, S}, {ES}}},
    {"X1N", 0, 0, 4, {{E}, {E, EE}, {S}, {SE}}},
    {"X1K", 0, 1, 4, {{E, ES}, {E, EE}, {S}, {SE}}},
    {"XK1", 0, 1, 3, {{E}, {E, EE, ES}, {S, SE}}},
    {"X1K1", 0, 1, 4, {{E}, {E, EE, ES}, {S}, {SE}}},
    {"X1X", 0, 0, 4, {{E}, {E, EE, S, ES}, {S}, {SE}}},
    {"XX1", 0, 0, 3, {{E}, {E, EE, S}, {ES, S, SE}}},
    {"X1X1", 0, 0, 4, {{E}, {E, EE, S}, {ES, S}, {SE}}},
    {"K1N", 1, 0, 3, {{E}, {E, EE}, {SE}}},
    {"K1K", 1, 1, 3, {{E, ES}, {E, EE}, {SE}}},
    {"KK1", 1, 1, 2, {{E}, {E, EE, SE, ES}}},
    {"K1K1", 1, 1, 3, {{E}, {E, EE, ES}, {SE}}},
    {"K1X", 1, 0, 3, {{E}, {E, EE, S, ES}, {SE}}},
    {"KX1", 1, 0, 3, {{E}, {E, EE, SE, S}, {ES}}},
    {"K1X1", 1, 0, 3, {{E}, {E, EE, S}, {SE, ES}}},
    {"I1N", 0, 0, 3, {{E, S}, {E, EE}, {SE}}},
    {"I1K", 0, 1, 3, {{E, ES, S}, {E, EE}, {SE}}},
    {"IK1", 0, 1, 2, {{E, S}, {E, EE, SE, ES}}},
    {"I1K1", 0, 1, 3, {{E, S}, {E, EE, ES}, {SE}}},
    {"I1X", 0, 0, 3, {{E, S}, {E, EE, S, ES}, {SE}}},
    {"IX1", 0, 0, 3, {{E, S}, {E, EE, SE, S}, {ES}}},
    {"I1X1", 0, 0, 3, {{E, S}, {E, EE, S}, {SE, ES}}},
};

#undef E
#undef S
#undef EE
#undef ES
#undef SE
#undef SS

static const char noise_prefix[] = "Noise_";
static const char noise_suite[] = "_25519_ChaChaPoly_BLAKE2b";

/* ---- Hash functions (§4.3) ---- */

static void hash_update(crypto_generichash_state *st, const uint8_t *p, size_t n)
{
    if (n > 0)
        crypto_generichash_update(st, p, n);
}

/* HMAC-BLAKE2b(key, d1 || d2) per RFC 2104. */
static void hmac2(uint8_t out[NOISE_HASH_LEN], const uint8_t *key, size_t keylen, const uint8_t *d1,
                  size_t l1, const uint8_t *d2, size_t l2)
{
    uint8_t k0[BLAKE2B_BLOCK], pad[BLAKE2B_BLOCK], inner[NOISE_HASH_LEN];
    crypto_generichash_state st;
    size_t i;

    memset(k0, 0, sizeof k0);
    if (keylen > BLAKE2B_BLOCK)
        crypto_generichash(k0, NOISE_HASH_LEN, key, keylen, NULL, 0);
    else if (keylen > 0)
        memcpy(k0, key, keylen);

    for (i = 0; i < BLAKE2B_BLOCK; i++)
        pad[i] = k0[i] ^ 0x36;
    crypto_generichash_init(&st, NULL, 0, NOISE_HASH_LEN);
    hash_update(&st, pad, sizeof pad);
    hash_update(&st, d1, l1);
    hash_update(&st, d2, l2);
    crypto_generichash_final(&st, inner, sizeof inner);

    for (i = 0; i < BLAKE2B_BLOCK; i++)
        pad[i] = k0[i] ^ 0x5c;
    crypto_generichash_init(&st, NULL, 0, NOISE_HASH_LEN);
    hash_update(&st, pad, sizeof pad);
    hash_update(&st, inner, sizeof inner);
    crypto_generichash_final(&st, out, NOISE_HASH_LEN);

    sodium_memzero(k0, sizeof k0);
    sodium_memzero(pad, sizeof pad);
    sodium_memzero(inner, sizeof inner);
    sodium_memzero(&st, sizeof st);
}

void noise_hmac_blake2b(uint8_t out[static NOISE_HASH_LEN], const uint8_t *key, size_t keylen,
                        const uint8_t *data, size_t len)
{
    hmac2(out, key, keylen, data, len, NULL, 0);
}

/* HKDF(ck, ikm, 2 or 3) of §4.3; o3 may be NULL for two outputs. */
static void hkdf(const uint8_t ck[NOISE_HASH_LEN], const uint8_t *ikm, size_t ikm_len,
                 uint8_t o1[NOISE_HASH_LEN], uint8_t o2[NOISE_HASH_LEN], uint8_t o3[NOISE_HASH_LEN])
{
    uint8_t temp_key[NOISE_HASH_LEN];
    const uint8_t one = 0x01, two = 0x02, three = 0x03;

    hmac2(temp_key, ck, NOISE_HASH_LEN, ikm, ikm_len, NULL, 0);
    hmac2(o1, temp_key, sizeof temp_key, &one, 1, NULL, 0);
    hmac2(o2, temp_key, sizeof temp_key, o1, NOISE_HASH_LEN, &two, 1);
    if (o3)
        hmac2(o3, temp_key, sizeof temp_key, o2, NOISE_HASH_LEN, &three, 1);
    sodium_memzero(temp_key, sizeof temp_key);
}

/* ---- CipherState (§5.1) ---- */

static void make_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES], uint64_t n)
{
    int i;
    memset(nonce, 0, 4);
    for (i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

static void cipher_init_key(struct noise_cipher *c, const uint8_t k[NOISE_KEY_LEN])
{
    memcpy(c->k, k, NOISE_KEY_LEN);
    c->n = 0;
    c->has_key = 1;
}

/* ENCRYPT(k, n, ad, pt) without any check; out gets len + 16 bytes. */
static void aead_encrypt(const struct noise_cipher *c, uint64_t n, const uint8_t *ad, size_t adlen,
                         const uint8_t *pt, size_t len, uint8_t *out)
{
    uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
    make_nonce(nonce, n);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, len, ad, adlen, NULL, nonce, c->k);
}

/* DECRYPT(k, n, ad, ct); 0 or -1 (bad tag, out zeroed). out gets ctlen - 16 bytes. */
static int aead_decrypt(const struct noise_cipher *c, uint64_t n, const uint8_t *ad, size_t adlen,
                        const uint8_t *ct, size_t ctlen, uint8_t *out)
{
    uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
    make_nonce(nonce, n);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, ctlen, ad, adlen, nonce,
                                                  c->k) != 0) {
        if (ctlen > NOISE_TAG_LEN)
            sodium_memzero(out, ctlen - NOISE_TAG_LEN);
        return -1;
    }
    return 0;
}

int noise_cipher_encrypt(struct noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *pt,
                         size_t n, uint8_t *out)
{
    if (!c->has_key || c->n == NOISE_NONCE_MAX)
        return AM_ESTATE;
    if (n > NOISE_MAX_PAYLOAD)
        return AM_ELIMIT;
    if ((adlen > 0 && !ad) || (n > 0 && !pt) || !out)
        return AM_EINVAL;
    aead_encrypt(c, c->n, ad, adlen, pt, n, out);
    c->n++;
    return AM_OK;
}

int noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *ct,
                         size_t ctlen, uint8_t *out)
{
    if (!c->has_key || c->n == NOISE_NONCE_MAX)
        return AM_ESTATE;
    if (ctlen < NOISE_TAG_LEN || ctlen > NOISE_MAX_MSG)
        return AM_EMALFORMED;
    if ((adlen > 0 && !ad) || !ct || (ctlen > NOISE_TAG_LEN && !out))
        return AM_EINVAL;
    if (aead_decrypt(c, c->n, ad, adlen, ct, ctlen, out) != 0)
        return AM_EBADMAC;
    c->n++;
    return AM_OK;
}

void noise_cipher_rekey(struct noise_cipher *c)
{
    uint8_t zeros[NOISE_KEY_LEN], tmp[NOISE_KEY_LEN + NOISE_TAG_LEN];

    if (!c->has_key)
        return;
    memset(zeros, 0, sizeof zeros);
    aead_encrypt(c, NOISE_NONCE_MAX, NULL, 0, zeros, sizeof zeros, tmp);
    memcpy(c->k, tmp, NOISE_KEY_LEN);
    sodium_memzero(tmp, sizeof tmp);
}

void noise_cipher_set_nonce(struct noise_cipher *c, uint64_t n)
{
    c->n = n;
}

void noise_cipher_wipe(struct noise_cipher *c)
{
    if (c)
        sodium_memzero(c, sizeof *c);
}

/* ---- SymmetricState (§5.2) ---- */

static void mix_hash(struct noise_hs *hs, const uint8_t *data, size_t len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, NOISE_HASH_LEN);
    hash_update(&st, hs->h, NOISE_HASH_LEN);
    hash_update(&st, data, len);
    crypto_generichash_final(&st, hs->h, NOISE_HASH_LEN);
    sodium_memzero(&st, sizeof st);
}

static void mix_key(struct noise_hs *hs, const uint8_t *ikm, size_t len)
{
    uint8_t o1[NOISE_HASH_LEN], o2[NOISE_HASH_LEN];
    hkdf(hs->ck, ikm, len, o1, o2, NULL);
    memcpy(hs->ck, o1, NOISE_HASH_LEN);
    cipher_init_key(&hs->cs, o2); /* first 32 bytes: HASHLEN 64 is truncated */
    sodium_memzero(o1, sizeof o1);
    sodium_memzero(o2, sizeof o2);
}

static void mix_key_and_hash(struct noise_hs *hs, const uint8_t *ikm, size_t len)
{
    uint8_t o1[NOISE_HASH_LEN], o2[NOISE_HASH_LEN], o3[NOISE_HASH_LEN];
    hkdf(hs->ck, ikm, len, o1, o2, o3);
    memcpy(hs->ck, o1, NOISE_HASH_LEN);
    mix_hash(hs, o2, sizeof o2);
    cipher_init_key(&hs->cs, o3);
    sodium_memzero(o1, sizeof o1);
    sodium_memzero(o2, sizeof o2);
    sodium_memzero(o3, sizeof o3);
}

/* out gets len (+16 once a key is set) bytes; out must not overlap pt. */
static size_t encrypt_and_hash(struct noise_hs *hs, const uint8_t *pt, size_t len, uint8_t *out)
{
    size_t outlen = len;
    if (hs->cs.has_key) {
        aead_encrypt(&hs->cs, hs->cs.n, hs->h, NOISE_HASH_LEN, pt, len, out);
        hs->cs.n++;
        outlen += NOISE_TAG_LEN;
    } else if (len > 0) {
        memcpy(out, pt, len);
    }
    mix_hash(hs, out, outlen);
    return outlen;
}

/* out gets len (-16 once a key is set) bytes; 0 or AM_EBADMAC. */
static int decrypt_and_hash(struct noise_hs *hs, const uint8_t *ct, size_t len, uint8_t *out)
{
    if (hs->cs.has_key) {
        if (aead_decrypt(&hs->cs, hs->cs.n, hs->h, NOISE_HASH_LEN, ct, len, out) != 0)
            return AM_EBADMAC;
        hs->cs.n++;
    } else if (len > 0) {
        memcpy(out, ct, len);
    }
    mix_hash(hs, ct, len);
    return AM_OK;
}

/* ---- Protocol names and patterns ---- */

static int starts_with(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

/*
 * Parses "<base>[pskN[+pskM...]]" of len bytes. On success *pat is the base pattern and
 * *psk_mask has bit N set for each pskN. AM_EINVAL otherwise.
 */
static int parse_pattern(const char *p, size_t len, const struct noise_pattern **pat,
                         unsigned *psk_mask)
{
    const struct noise_pattern *found = NULL;
    size_t i, pos;
    int last = -1;

    for (i = 0; i < sizeof noise_patterns / sizeof noise_patterns[0]; i++) {
        size_t n = strlen(noise_patterns[i].name);
        if (!starts_with(p, len, noise_patterns[i].name))
            continue;
        if (n == len || starts_with(p + n, len - n, "psk")) {
            found = &noise_patterns[i];
            break;
        }
    }
    if (!found)
        return AM_EINVAL;

    *psk_mask = 0;
    pos = strlen(found->name);
    while (pos < len) {
        int d;
        if (!starts_with(p + pos, len - pos, "psk") || pos + 3 >= len)
            return AM_EINVAL;
        pos += 3;
        if (p[pos] < '0' || p[pos] > '9')
            return AM_EINVAL;
        d = p[pos] - '0';
        pos++;
        /* one digit, in increasing order, not beyond the last message */
        if (d <= last || d > found->n_msgs)
            return AM_EINVAL;
        last = d;
        *psk_mask |= 1u << d;
        if (pos < len) {
            if (p[pos] != '+' || pos + 1 >= len)
                return AM_EINVAL;
            pos++;
        }
    }
    *pat = found;
    return AM_OK;
}

/* Copies the base pattern's messages into hs, adding psk tokens (§9.2): psk0 at the start
 * of the first message, pskN at the end of message N. */
static void build_tokens(struct noise_hs *hs, const struct noise_pattern *pat, unsigned psk_mask)
{
    unsigned m;

    hs->n_msgs = pat->n_msgs;
    hs->n_psks = 0;
    for (m = 0; m < pat->n_msgs; m++) {
        size_t k = 0, t;
        if (m == 0 && (psk_mask & 1u)) {
            hs->msgs[m][k++] = TOK_PSK;
            hs->n_psks++;
        }
        for (t = 0; t < PATTERN_TOKENS && pat->msgs[m][t] != TOK_END; t++)
            hs->msgs[m][k++] = pat->msgs[m][t];
        if (psk_mask & (1u << (m + 1))) {
            hs->msgs[m][k++] = TOK_PSK;
            hs->n_psks++;
        }
        assert(k < NOISE_MAX_TOKENS);
        hs->msgs[m][k] = TOK_END;
    }
}

/* 1 if the given side sends its static key in a message of the pattern. */
static int sends_static(const struct noise_hs *hs, int initiator)
{
    unsigned m, t;
    for (m = 0; m < hs->n_msgs; m++) {
        if ((m % 2 == 0) != (initiator != 0))
            continue;
        for (t = 0; hs->msgs[m][t] != TOK_END; t++)
            if (hs->msgs[m][t] == TOK_S)
                return 1;
    }
    return 0;
}

/* ---- HandshakeState (§5.3) ---- */

static void hs_fail(struct noise_hs *hs)
{
    sodium_memzero(hs, sizeof *hs);
    hs->state = HS_FAILED;
}

int noise_hs_init(struct noise_hs *hs, const struct noise_hs_config *cfg)
{
    const struct noise_pattern *pat = NULL;
    unsigned psk_mask = 0;
    size_t name_len, i;
    int need_s, need_rs, rc;

    sodium_memzero(hs, sizeof *hs);
    if (!cfg || !cfg->protocol_name)
        return AM_EINVAL;
    name_len = strnlen(cfg->protocol_name, NOISE_MAX_NAME + 1);
    if (name_len > NOISE_MAX_NAME || !starts_with(cfg->protocol_name, name_len, noise_prefix))
        return AM_EINVAL;
    {
        size_t pre = sizeof noise_prefix - 1, suf = sizeof noise_suite - 1;
        if (name_len <= pre + suf ||
            memcmp(cfg->protocol_name + name_len - suf, noise_suite, suf) != 0)
            return AM_EINVAL;
        rc = parse_pattern(cfg->protocol_name + pre, name_len - pre - suf, &pat, &psk_mask);
        if (rc != AM_OK)
            return rc;
    }

    hs->initiator = cfg->initiator ? 1 : 0;
    build_tokens(hs, pat, psk_mask);
    hs->psk_mode = psk_mask != 0;
    hs->one_way = pat->n_msgs == 1;

    need_s = (hs->initiator ? pat->pre_i : pat->pre_r) || sends_static(hs, hs->initiator);
    need_rs = hs->initiator ? pat->pre_r : pat->pre_i;
    if (need_s != (cfg->s_priv != NULL) || need_rs != (cfg->rs_pub != NULL) ||
        cfg->n_psks != hs->n_psks || (cfg->n_psks > 0 && !cfg->psks) ||
        (cfg->prologue_len > 0 && !cfg->prologue)) {
        rc = AM_EINVAL;
        goto out;
    }

    if (cfg->s_priv) {
        memcpy(hs->s_priv, cfg->s_priv, NOISE_DH_LEN);
        if (crypto_scalarmult_base(hs->s_pub, hs->s_priv) != 0) {
            rc = AM_EINVAL;
            goto out;
        }
        hs->has_s = 1;
    }
    if (cfg->e_priv) {
        memcpy(hs->e_priv, cfg->e_priv, NOISE_DH_LEN);
        if (crypto_scalarmult_base(hs->e_pub, hs->e_priv) != 0) {
            rc = AM_EINVAL;
            goto out;
        }
        hs->has_e = 1;
    }
    if (cfg->rs_pub) {
        memcpy(hs->rs, cfg->rs_pub, NOISE_DH_LEN);
        hs->has_rs = 1;
    }
    for (i = 0; i < cfg->n_psks; i++)
        memcpy(hs->psks[i], cfg->psks + i * NOISE_KEY_LEN, NOISE_KEY_LEN);

    /* InitializeSymmetric(protocol_name) */
    if (name_len <= NOISE_HASH_LEN)
        memcpy(hs->h, cfg->protocol_name, name_len); /* rest is already zero */
    else
        crypto_generichash(hs->h, NOISE_HASH_LEN, (const uint8_t *)cfg->protocol_name, name_len,
                           NULL, 0);
    memcpy(hs->ck, hs->h, NOISE_HASH_LEN);
    mix_hash(hs, cfg->prologue, cfg->prologue_len);
    /* pre-messages: the initiator's first, then the responder's */
    if (pat->pre_i)
        mix_hash(hs, hs->initiator ? hs->s_pub : hs->rs, NOISE_DH_LEN);
    if (pat->pre_r)
        mix_hash(hs, hs->initiator ? hs->rs : hs->s_pub, NOISE_DH_LEN);

    hs->state = HS_RUNNING;
    rc = AM_OK;
out:
    if (rc != AM_OK)
        sodium_memzero(hs, sizeof *hs);
    return rc;
}

static int my_turn(const struct noise_hs *hs)
{
    return (hs->msg_idx % 2 == 0) == (hs->initiator != 0);
}

int noise_hs_want_write(const struct noise_hs *hs)
{
    return hs->state == HS_RUNNING && my_turn(hs);
}

int noise_hs_done(const struct noise_hs *hs)
{
    return hs->state == HS_DONE || hs->state == HS_SPLIT;
}

/* Bytes the current message carries besides the payload: keys and tags. */
static size_t msg_overhead(const struct noise_hs *hs)
{
    const uint8_t *tok = hs->msgs[hs->msg_idx];
    int has_key = hs->cs.has_key;
    size_t len = 0;

    for (; *tok != TOK_END; tok++) {
        switch (*tok) {
        case TOK_E:
            len += NOISE_DH_LEN;
            if (hs->psk_mode)
                has_key = 1;
            break;
        case TOK_S:
            len += NOISE_DH_LEN + (has_key ? NOISE_TAG_LEN : 0);
            break;
        default:
            has_key = 1;
            break;
        }
    }
    return len + (has_key ? NOISE_TAG_LEN : 0);
}

size_t noise_hs_write_len(const struct noise_hs *hs, size_t plen)
{
    if (!noise_hs_want_write(hs))
        return 0;
    return msg_overhead(hs) + plen;
}

/* MixKey(DH(priv, pub)); AM_EBADMAC if pub is a small-order point. */
static int mix_dh(struct noise_hs *hs, const uint8_t priv[NOISE_DH_LEN],
                  const uint8_t pub[NOISE_DH_LEN])
{
    uint8_t shared[NOISE_DH_LEN];
    int rc = AM_OK;

    if (crypto_scalarmult(shared, priv, pub) != 0)
        rc = AM_EBADMAC;
    else
        mix_key(hs, shared, sizeof shared);
    sodium_memzero(shared, sizeof shared);
    return rc;
}

/* The tokens that are the same for writer and reader: ee, es, se, ss, psk. */
static int mix_token(struct noise_hs *hs, uint8_t tok)
{
    switch (tok) {
    case TOK_EE:
        assert(hs->has_e && hs->has_re);
        return mix_dh(hs, hs->e_priv, hs->re);
    case TOK_ES:
        if (hs->initiator) {
            assert(hs->has_e && hs->has_rs);
            return mix_dh(hs, hs->e_priv, hs->rs);
        }
        assert(hs->has_s && hs->has_re);
        return mix_dh(hs, hs->s_priv, hs->re);
    case TOK_SE:
        if (hs->initiator) {
            assert(hs->has_s && hs->has_re);
            return mix_dh(hs, hs->s_priv, hs->re);
        }
        assert(hs->has_e && hs->has_rs);
        return mix_dh(hs, hs->e_priv, hs->rs);
    case TOK_SS:
        assert(hs->has_s && hs->has_rs);
        return mix_dh(hs, hs->s_priv, hs->rs);
    case TOK_PSK:
        assert(hs->psk_idx < hs->n_psks);
        mix_key_and_hash(hs, hs->psks[hs->psk_idx], NOISE_KEY_LEN);
        sodium_memzero(hs->psks[hs->psk_idx], NOISE_KEY_LEN);
        hs->psk_idx++;
        return AM_OK;
    default:
        assert(0 && "unknown token");
        return AM_EINVAL;
    }
}

static void next_message(struct noise_hs *hs)
{
    hs->msg_idx++;
    if (hs->msg_idx == hs->n_msgs)
        hs->state = HS_DONE;
}

int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t plen, uint8_t *out,
                   size_t cap, size_t *outlen)
{
    const uint8_t *tok;
    size_t need, pos = 0;
    int rc;

    if (!noise_hs_want_write(hs))
        return AM_ESTATE;
    if (plen > NOISE_MAX_MSG)
        return AM_ELIMIT;
    need = msg_overhead(hs) + plen;
    if (need > NOISE_MAX_MSG)
        return AM_ELIMIT;
    if (cap < need || !out || !outlen || (plen > 0 && !payload))
        return AM_EINVAL;

    for (tok = hs->msgs[hs->msg_idx]; *tok != TOK_END; tok++) {
        switch (*tok) {
        case TOK_E:
            if (!hs->has_e) {
                randombytes_buf(hs->e_priv, NOISE_DH_LEN);
                crypto_scalarmult_base(hs->e_pub, hs->e_priv);
                hs->has_e = 1;
            }
            memcpy(out + pos, hs->e_pub, NOISE_DH_LEN);
            pos += NOISE_DH_LEN;
            mix_hash(hs, hs->e_pub, NOISE_DH_LEN);
            if (hs->psk_mode)
                mix_key(hs, hs->e_pub, NOISE_DH_LEN);
            break;
        case TOK_S:
            pos += encrypt_and_hash(hs, hs->s_pub, NOISE_DH_LEN, out + pos);
            break;
        default:
            rc = mix_token(hs, *tok);
            if (rc != AM_OK) {
                sodium_memzero(out, pos);
                hs_fail(hs);
                return rc;
            }
            break;
        }
    }
    pos += encrypt_and_hash(hs, payload, plen, out + pos);
    assert(pos == need);
    *outlen = pos;
    next_message(hs);
    return AM_OK;
}

int noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t mlen, uint8_t *payload_out,
                  size_t cap, size_t *plen)
{
    const uint8_t *tok;
    size_t overhead, pos = 0, len;
    int rc;

    if (hs->state != HS_RUNNING || my_turn(hs))
        return AM_ESTATE;
    overhead = msg_overhead(hs);
    if (mlen > NOISE_MAX_MSG || mlen < overhead)
        return AM_EMALFORMED;
    if ((mlen > 0 && !msg) || !plen || cap < mlen - overhead || (mlen > overhead && !payload_out))
        return AM_EINVAL;

    for (tok = hs->msgs[hs->msg_idx]; *tok != TOK_END; tok++) {
        switch (*tok) {
        case TOK_E:
            memcpy(hs->re, msg + pos, NOISE_DH_LEN);
            hs->has_re = 1;
            pos += NOISE_DH_LEN;
            mix_hash(hs, hs->re, NOISE_DH_LEN);
            if (hs->psk_mode)
                mix_key(hs, hs->re, NOISE_DH_LEN);
            break;
        case TOK_S:
            len = NOISE_DH_LEN + (hs->cs.has_key ? NOISE_TAG_LEN : 0);
            rc = decrypt_and_hash(hs, msg + pos, len, hs->rs);
            if (rc != AM_OK)
                goto fail;
            hs->has_rs = 1;
            pos += len;
            break;
        default:
            rc = mix_token(hs, *tok);
            if (rc != AM_OK)
                goto fail;
            break;
        }
    }
    rc = decrypt_and_hash(hs, msg + pos, mlen - pos, payload_out);
    if (rc != AM_OK)
        goto fail;
    *plen = mlen - overhead;
    next_message(hs);
    return AM_OK;
fail:
    hs_fail(hs);
    return rc;
}

const uint8_t *noise_hs_remote_static(const struct noise_hs *hs)
{
    return hs->has_rs ? hs->rs : NULL;
}

int noise_hs_hash(const struct noise_hs *hs, uint8_t out[static NOISE_HASH_LEN])
{
    if (!noise_hs_done(hs))
        return AM_ESTATE;
    memcpy(out, hs->h, NOISE_HASH_LEN);
    return AM_OK;
}

int noise_hs_split(struct noise_hs *hs, struct noise_cipher *send, struct noise_cipher *recv)
{
    uint8_t o1[NOISE_HASH_LEN], o2[NOISE_HASH_LEN], h[NOISE_HASH_LEN], rs[NOISE_DH_LEN];
    struct noise_cipher c1, c2;
    int has_rs = hs->has_rs;

    if (hs->state != HS_DONE)
        return AM_ESTATE;
    hkdf(hs->ck, NULL, 0, o1, o2, NULL);
    cipher_init_key(&c1, o1);
    cipher_init_key(&c2, o2);
    if (hs->one_way) {
        /* §5.3: only the initiator sends; the other direction is unused */
        noise_cipher_wipe(&c2);
    }
    *send = hs->initiator ? c1 : c2;
    *recv = hs->initiator ? c2 : c1;

    memcpy(h, hs->h, sizeof h);
    memcpy(rs, hs->rs, sizeof rs);
    sodium_memzero(hs, sizeof *hs);
    memcpy(hs->h, h, sizeof h);
    memcpy(hs->rs, rs, sizeof rs);
    hs->has_rs = (uint8_t)has_rs;
    hs->state = HS_SPLIT;

    sodium_memzero(o1, sizeof o1);
    sodium_memzero(o2, sizeof o2);
    noise_cipher_wipe(&c1);
    noise_cipher_wipe(&c2);
    return AM_OK;
}

void noise_hs_wipe(struct noise_hs *hs)
{
    if (hs)
        sodium_memzero(hs, sizeof *hs);
}
