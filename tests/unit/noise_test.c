/*
 * noise_test.c: tests of transport/noise.c, the Noise handshake engine.
 *
 * Replays the 59 cacophony vectors for Noise_*_25519_ChaChaPoly_BLAKE2b from
 * tests/vectors/noise/ (AM_VECTORS_DIR overrides; read with jansson), then checks
 * failures: flipped and truncated messages, wrong PSKs, small-order points, wrong-state calls, size
 * limits, nonce exhaustion and rekey, and HMAC-BLAKE2b against known answers.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "am_err.h"
#include "noise.h"
#include "testutil.h"

#define VECTORS_FILE  "noise/cacophony-25519-ChaChaPoly-BLAKE2b.json"
#define VECTORS_COUNT 59

static void setup(void)
{
    cr_assert(sodium_init() >= 0, "sodium_init failed");
}

/* ---- Hex ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the hex string v into a malloc'd buffer (never NULL on success); NULL if v is
 * not a string of hex digits. */
static uint8_t *j_hex(const json_t *v, size_t *len)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), i;
    uint8_t *out;
    if (!s || n % 2 != 0)
        return NULL;
    out = malloc(n / 2 + 1);
    if (!out)
        return NULL;
    for (i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return out;
}

static void hex_to(const char *hex, uint8_t *out, size_t n)
{
    size_t i;
    cr_assert_eq(strlen(hex), 2 * n);
    for (i = 0; i < n; i++)
        out[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
}

/* ---- Running one vector ---- */

/* One side's keys from the vector (prefix "init_" or "resp_"); buffers are malloc'd. */
struct side {
    uint8_t *prologue, *s, *rs, *e, *psks;
    size_t prologue_len, n_psks;
};

static void side_free(struct side *sd)
{
    free(sd->prologue);
    free(sd->s);
    free(sd->rs);
    free(sd->e);
    free(sd->psks);
    memset(sd, 0, sizeof *sd);
}

/* Reads an optional 32-byte hex key; 0 if absent or fine, -1 if malformed. */
static int opt_key(const json_t *v, const char *prefix, const char *field, uint8_t **out)
{
    char name[64];
    size_t len = 0;
    const json_t *k;
    snprintf(name, sizeof name, "%s%s", prefix, field);
    if (!(k = json_object_get(v, name)))
        return 0;
    *out = j_hex(k, &len);
    return *out && len == 32 ? 0 : -1;
}

static const char *side_load(const json_t *v, const char *prefix, struct side *sd)
{
    char name[64];
    const json_t *psks, *p;
    size_t len, i;

    memset(sd, 0, sizeof *sd);
    snprintf(name, sizeof name, "%sprologue", prefix);
    sd->prologue = j_hex(json_object_get(v, name), &sd->prologue_len);
    if (!sd->prologue)
        return "bad prologue";
    if (opt_key(v, prefix, "static", &sd->s) || opt_key(v, prefix, "ephemeral", &sd->e) ||
        opt_key(v, prefix, "remote_static", &sd->rs))
        return "bad key";
    snprintf(name, sizeof name, "%spsks", prefix);
    if ((psks = json_object_get(v, name))) {
        if (!json_is_array(psks))
            return "bad psks";
        sd->n_psks = json_array_size(psks);
        sd->psks = malloc(sd->n_psks * 32 + 1);
        cr_assert(sd->psks);
        json_array_foreach(psks, i, p)
        {
            uint8_t *k = j_hex(p, &len);
            if (!k || len != 32) {
                free(k);
                return "bad psk";
            }
            memcpy(sd->psks + 32 * i, k, 32);
            free(k);
        }
    }
    return NULL;
}

static uint8_t g_msg[NOISE_MAX_MSG], g_pt[NOISE_MAX_MSG];

/* Runs vector v; NULL on success, else what went wrong (in `why`). */
static const char *run_vector(const json_t *v, char *why, size_t whylen)
{
    struct side si, sr;
    struct noise_hs ini, rsp;
    struct noise_cipher i_send, i_recv, r_send, r_recv;
    struct noise_hs_config ci, cr;
    uint8_t hash_i[NOISE_HASH_LEN], hash_r[NOISE_HASH_LEN];
    uint8_t *want_hash = NULL;
    const char *err = NULL;
    char name[NOISE_MAX_NAME + 1];
    const char *pname = json_string_value(json_object_get(v, "protocol_name"));
    const json_t *msgs = json_object_get(v, "messages"), *m;
    int one_way, rc;
    size_t hlen = 0, i;

    memset(&si, 0, sizeof si);
    memset(&sr, 0, sizeof sr);
    memset(&ini, 0, sizeof ini);
    memset(&rsp, 0, sizeof rsp);
    memset(&i_send, 0, sizeof i_send);
    memset(&i_recv, 0, sizeof i_recv);
    memset(&r_send, 0, sizeof r_send);
    memset(&r_recv, 0, sizeof r_recv);
    if (!pname || strlen(pname) > NOISE_MAX_NAME || !json_is_array(msgs)) {
        snprintf(why, whylen, "vector lacks protocol_name or messages");
        return why;
    }
    snprintf(name, sizeof name, "%s", pname);

    if ((err = side_load(v, "init_", &si)) || (err = side_load(v, "resp_", &sr)))
        goto out;
    want_hash = j_hex(json_object_get(v, "handshake_hash"), &hlen);
    if (!want_hash || hlen != NOISE_HASH_LEN) {
        err = "bad handshake_hash";
        goto out;
    }

    ci = (struct noise_hs_config){name,    1,         si.prologue, si.prologue_len, si.s, si.rs,
                                  si.psks, si.n_psks, si.e};
    cr = (struct noise_hs_config){name,    0,         sr.prologue, sr.prologue_len, sr.s, sr.rs,
                                  sr.psks, sr.n_psks, sr.e};
    if ((rc = noise_hs_init(&ini, &ci)) != AM_OK || (rc = noise_hs_init(&rsp, &cr)) != AM_OK) {
        err = "noise_hs_init failed";
        goto out;
    }
    /* set once the handshake is over: a one-way pattern ends after message 0 */
    one_way = 0;

    json_array_foreach(msgs, i, m)
    {
        uint8_t *pt = NULL, *ct = NULL;
        size_t ptlen = 0, ctlen = 0, outlen = 0, plen = 0;
        int from_ini = one_way || i % 2 == 0;

        pt = j_hex(json_object_get(m, "payload"), &ptlen);
        ct = j_hex(json_object_get(m, "ciphertext"), &ctlen);
        if (!pt || !ct) {
            free(pt);
            free(ct);
            err = "bad message hex";
            goto out;
        }
        if (!noise_hs_done(&ini) || !noise_hs_done(&rsp)) {
            struct noise_hs *snd = from_ini ? &ini : &rsp, *rcv = from_ini ? &rsp : &ini;
            rc = noise_hs_write(snd, pt, ptlen, g_msg, sizeof g_msg, &outlen);
            if (rc != AM_OK)
                err = "handshake write failed";
            else if (outlen != ctlen || memcmp(g_msg, ct, ctlen) != 0)
                err = "handshake ciphertext differs";
            else if ((rc = noise_hs_read(rcv, g_msg, outlen, g_pt, sizeof g_pt, &plen)) != AM_OK)
                err = "handshake read failed";
            else if (plen != ptlen || memcmp(g_pt, pt, plen) != 0)
                err = "handshake payload differs";
            if (!err && noise_hs_done(&ini) && noise_hs_done(&rsp)) {
                /* handshake over: check h, split, and from now on one-way patterns send
                 * only from the initiator */
                if (noise_hs_hash(&ini, hash_i) != AM_OK || noise_hs_hash(&rsp, hash_r) != AM_OK)
                    err = "no handshake hash";
                else if (memcmp(hash_i, want_hash, NOISE_HASH_LEN) != 0 ||
                         memcmp(hash_r, want_hash, NOISE_HASH_LEN) != 0)
                    err = "handshake hash differs";
                else if (noise_hs_split(&ini, &i_send, &i_recv) != AM_OK ||
                         noise_hs_split(&rsp, &r_send, &r_recv) != AM_OK)
                    err = "split failed";
                one_way = i == 0; /* one handshake message: N, K, X */
            } else if (!err && noise_hs_done(&ini) != noise_hs_done(&rsp)) {
                /* both must finish on the same message */
                err = "sides disagree on the end of the handshake";
            }
        } else {
            struct noise_cipher *snd = from_ini ? &i_send : &r_send;
            struct noise_cipher *rcv = from_ini ? &r_recv : &i_recv;
            if (ctlen != ptlen + NOISE_TAG_LEN)
                err = "vector transport length";
            else if (noise_cipher_encrypt(snd, NULL, 0, pt, ptlen, g_msg) != AM_OK)
                err = "transport encrypt failed";
            else if (memcmp(g_msg, ct, ctlen) != 0)
                err = "transport ciphertext differs";
            else if (noise_cipher_decrypt(rcv, NULL, 0, g_msg, ctlen, g_pt) != AM_OK)
                err = "transport decrypt failed";
            else if (memcmp(g_pt, pt, ptlen) != 0)
                err = "transport payload differs";
        }
        free(pt);
        free(ct);
        if (err) {
            snprintf(why, whylen, "message %zu: %s", i, err);
            err = why;
            goto out;
        }
    }
    if (!noise_hs_done(&ini) || !noise_hs_done(&rsp))
        err = "handshake did not finish";
out:
    noise_hs_wipe(&ini);
    noise_hs_wipe(&rsp);
    noise_cipher_wipe(&i_send);
    noise_cipher_wipe(&i_recv);
    noise_cipher_wipe(&r_send);
    noise_cipher_wipe(&r_recv);
    side_free(&si);
    side_free(&sr);
    free(want_hash);
    return err;
}

Test(noise, cacophony_vectors, .init = setup)
{
    const char *dir = getenv("AM_VECTORS_DIR");
    char path[4096];
    json_error_t jerr;
    json_t *root, *vecs, *v;
    size_t k;
    int total = 0, passed = 0;

    /* ctest sets AM_VECTORS_DIR (default: the project's tests/vectors); run by hand, the
     * project's own copy is found from AM_SOURCE_DIR */
    if (dir && *dir) {
        snprintf(path, sizeof path, "%s/%s", dir, VECTORS_FILE);
    } else {
        const char *src = getenv("AM_SOURCE_DIR");
        cr_assert(src && *src, "set AM_VECTORS_DIR (the folder holding noise/) or AM_SOURCE_DIR "
                               "(the project, whose tests/vectors/ holds them)");
        snprintf(path, sizeof path, "%s/tests/vectors/%s", src, VECTORS_FILE);
    }
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    cr_assert(root,
              "cannot read the Noise vectors at %s: %s, line %d (set AM_VECTORS_DIR to the "
              "folder that holds noise/)",
              path, jerr.text, jerr.line);
    vecs = json_object_get(root, "vectors");
    cr_assert(json_is_array(vecs), "%s has no \"vectors\" array", path);

    json_array_foreach(vecs, k, v)
    {
        char why[160];
        const char *pname = json_string_value(json_object_get(v, "protocol_name"));
        const char *err = run_vector(v, why, sizeof why);
        total++;
        if (err)
            cr_expect_fail("%s: %s", pname ? pname : "?", err);
        else
            passed++;
    }
    cr_log_info("noise vectors: %d of %d passed", passed, total);
    cr_expect_eq(total, VECTORS_COUNT, "expected %d vectors in %s, found %d", VECTORS_COUNT, path,
                 total);
    cr_expect_eq(passed, VECTORS_COUNT, "only %d of %d vectors passed", passed, VECTORS_COUNT);
    json_decref(root);
}

/* ---- Helpers for the handshake tests ---- */

static void keypair(uint8_t priv[32], uint8_t pub[32])
{
    randombytes_buf(priv, 32);
    cr_assert_eq(crypto_scalarmult_base(pub, priv), 0);
}

/* Runs the handshake to its end with short payloads; returns the first error. */
static int drive(struct noise_hs *ini, struct noise_hs *rsp)
{
    static const uint8_t payload[] = "hello";
    uint8_t msg[512], pt[512];
    size_t n, pn;
    int rc, guard;

    for (guard = 0; guard < 8 && !(noise_hs_done(ini) && noise_hs_done(rsp)); guard++) {
        struct noise_hs *snd = noise_hs_want_write(ini) ? ini : rsp;
        struct noise_hs *rcv = snd == ini ? rsp : ini;
        if ((rc = noise_hs_write(snd, payload, sizeof payload, msg, sizeof msg, &n)) != AM_OK)
            return rc;
        if ((rc = noise_hs_read(rcv, msg, n, pt, sizeof pt, &pn)) != AM_OK)
            return rc;
        cr_assert_eq(pn, sizeof payload);
        cr_assert_eq(memcmp(pt, payload, pn), 0);
    }
    cr_assert(noise_hs_done(ini) && noise_hs_done(rsp));
    return AM_OK;
}

struct pair {
    uint8_t si[32], spi[32], sr[32], spr[32], psk[2][32];
    struct noise_hs ini, rsp;
};

/* Sets up XX-family parties with fresh keys (no pre-messages). */
static void pair_init(struct pair *p, const char *name, size_t n_psks)
{
    struct noise_hs_config ci = {0}, cr = {0};
    static const uint8_t prologue[] = "aidmesh test";

    keypair(p->si, p->spi);
    keypair(p->sr, p->spr);
    randombytes_buf(p->psk, sizeof p->psk);
    ci.protocol_name = cr.protocol_name = name;
    ci.initiator = 1;
    ci.prologue = cr.prologue = prologue;
    ci.prologue_len = cr.prologue_len = sizeof prologue;
    ci.s_priv = p->si;
    cr.s_priv = p->sr;
    ci.psks = cr.psks = &p->psk[0][0];
    ci.n_psks = cr.n_psks = n_psks;
    cr_assert_eq(noise_hs_init(&p->ini, &ci), AM_OK);
    cr_assert_eq(noise_hs_init(&p->rsp, &cr), AM_OK);
}

Test(noise, xxpsk0_fresh_parties, .init = setup)
{
    struct pair p;
    struct noise_cipher is, ir, rs, rr;
    uint8_t hi[64], hr[64], ct[64], pt[64];
    static const uint8_t msg[] = "need water at site 4";

    pair_init(&p, "Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b", 1);
    cr_assert_null(noise_hs_remote_static(&p.ini));
    cr_assert_eq(drive(&p.ini, &p.rsp), AM_OK);
    cr_assert_not_null(noise_hs_remote_static(&p.ini));
    cr_assert_not_null(noise_hs_remote_static(&p.rsp));
    cr_assert_eq(memcmp(noise_hs_remote_static(&p.ini), p.spr, 32), 0);
    cr_assert_eq(memcmp(noise_hs_remote_static(&p.rsp), p.spi, 32), 0);
    cr_assert_eq(noise_hs_hash(&p.ini, hi), AM_OK);
    cr_assert_eq(noise_hs_hash(&p.rsp, hr), AM_OK);
    cr_assert_eq(memcmp(hi, hr, 64), 0);

    cr_assert_eq(noise_hs_split(&p.ini, &is, &ir), AM_OK);
    cr_assert_eq(noise_hs_split(&p.rsp, &rs, &rr), AM_OK);
    cr_assert_eq(noise_hs_split(&p.rsp, &rs, &rr), AM_ESTATE, "split twice");
    /* after split: hash and remote static still readable */
    cr_assert_eq(noise_hs_hash(&p.ini, hi), AM_OK);
    cr_assert_eq(memcmp(hi, hr, 64), 0);
    cr_assert_eq(memcmp(noise_hs_remote_static(&p.ini), p.spr, 32), 0);

    cr_assert_eq(noise_cipher_encrypt(&is, NULL, 0, msg, sizeof msg, ct), AM_OK);
    cr_assert_eq(noise_cipher_decrypt(&rr, NULL, 0, ct, sizeof msg + 16, pt), AM_OK);
    cr_assert_eq(memcmp(pt, msg, sizeof msg), 0);
    cr_assert_eq(noise_cipher_encrypt(&rs, NULL, 0, msg, sizeof msg, ct), AM_OK);
    cr_assert_eq(noise_cipher_decrypt(&ir, NULL, 0, ct, sizeof msg + 16, pt), AM_OK);
    cr_assert_eq(memcmp(pt, msg, sizeof msg), 0);
    /* replay: the receiver's nonce moved on */
    cr_assert_eq(noise_cipher_decrypt(&ir, NULL, 0, ct, sizeof msg + 16, pt), AM_EBADMAC);

    noise_hs_wipe(&p.ini);
    noise_hs_wipe(&p.rsp);
    cr_assert_null(noise_hs_remote_static(&p.ini));
    noise_cipher_wipe(&is);
    noise_cipher_wipe(&ir);
    noise_cipher_wipe(&rs);
    noise_cipher_wipe(&rr);
}

Test(noise, multi_psk, .init = setup)
{
    struct pair p;
    pair_init(&p, "Noise_XXpsk0+psk3_25519_ChaChaPoly_BLAKE2b", 2);
    cr_assert_eq(drive(&p.ini, &p.rsp), AM_OK);
    noise_hs_wipe(&p.ini);
    noise_hs_wipe(&p.rsp);
}

Test(noise, wrong_psk_fails, .init = setup)
{
    struct pair p;
    uint8_t msg[256], pt[256];
    size_t n, pn;

    /* psk0: the responder notices at message 1 */
    pair_init(&p, "Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b", 1);
    p.rsp.psks[0][0] ^= 1; /* reach in: give the responder another PSK */
    cr_assert_eq(noise_hs_write(&p.ini, NULL, 0, msg, sizeof msg, &n), AM_OK);
    cr_assert_eq(noise_hs_read(&p.rsp, msg, n, pt, sizeof pt, &pn), AM_EBADMAC);
    cr_assert_eq(noise_hs_read(&p.rsp, msg, n, pt, sizeof pt, &pn), AM_ESTATE, "failed stays");
    cr_assert_eq(noise_hs_write(&p.rsp, NULL, 0, msg, sizeof msg, &n), AM_ESTATE);
    cr_assert_null(noise_hs_remote_static(&p.rsp));
    noise_hs_wipe(&p.ini);

    /* psk3: a wrong PSK on one side, found when message 3 is read */
    pair_init(&p, "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", 1);
    p.ini.psks[0][31] ^= 0x80;
    cr_assert_eq(drive(&p.ini, &p.rsp), AM_EBADMAC);
    noise_hs_wipe(&p.ini);
    noise_hs_wipe(&p.rsp);
}

/* Every flipped byte of XX message 2 (e, encrypted s, encrypted payload) fails. */
Test(noise, flipped_byte_fails, .init = setup)
{
    uint8_t m1[256], m2[256], bad[256], pt[256];
    size_t n1, n2, pn, pos;
    int bit;

    for (pos = 0;; pos++) {
        struct pair p;
        pair_init(&p, "Noise_XX_25519_ChaChaPoly_BLAKE2b", 0);
        cr_assert_eq(noise_hs_write(&p.ini, NULL, 0, m1, sizeof m1, &n1), AM_OK);
        cr_assert_eq(noise_hs_read(&p.rsp, m1, n1, pt, sizeof pt, &pn), AM_OK);
        cr_assert_eq(noise_hs_write(&p.rsp, (const uint8_t *)"xyz", 3, m2, sizeof m2, &n2), AM_OK);
        cr_assert_eq(n2, 32 + 48 + 3 + 16);
        if (pos >= n2) {
            noise_hs_wipe(&p.ini);
            noise_hs_wipe(&p.rsp);
            break;
        }
        bit = (int)(pos % 8);
        memcpy(bad, m2, n2);
        bad[pos] ^= (uint8_t)(1u << bit);
        memset(pt, 0xaa, sizeof pt);
        cr_assert_eq(noise_hs_read(&p.ini, bad, n2, pt, sizeof pt, &pn), AM_EBADMAC,
                     "flip at byte %zu", pos);
        cr_assert_eq(memcmp(pt, "xyz", 3) != 0, 1, "no plaintext released");
        cr_assert_eq(noise_hs_read(&p.ini, m2, n2, pt, sizeof pt, &pn), AM_ESTATE);
        noise_hs_wipe(&p.ini);
        noise_hs_wipe(&p.rsp);
    }
}

Test(noise, truncated_and_oversize, .init = setup)
{
    struct pair p;
    uint8_t m1[256], m2[256], pt[256];
    static uint8_t big[NOISE_MAX_MSG + 1];
    size_t n1, n2, pn, cut;

    pair_init(&p, "Noise_XX_25519_ChaChaPoly_BLAKE2b", 0);
    cr_assert_eq(noise_hs_write(&p.ini, NULL, 0, m1, sizeof m1, &n1), AM_OK);
    cr_assert_eq(n1, 32);
    for (cut = 0; cut < 32; cut++)
        cr_assert_eq(noise_hs_read(&p.rsp, m1, cut, pt, sizeof pt, &pn), AM_EMALFORMED);
    cr_assert_eq(noise_hs_read(&p.rsp, big, sizeof big, pt, sizeof pt, &pn), AM_EMALFORMED);
    /* a payload that does not fit the caller's buffer leaves the state as it was */
    cr_assert_eq(noise_hs_read(&p.rsp, big, 40, pt, 7, &pn), AM_EINVAL);
    cr_assert_eq(noise_hs_read(&p.rsp, m1, n1, pt, sizeof pt, &pn), AM_OK);
    cr_assert_eq(pn, 0);

    /* message 2 needs 32 + 48 + 16 bytes; shorter ones are malformed and harmless */
    cr_assert_eq(noise_hs_write_len(&p.rsp, 0), 96);
    cr_assert_eq(noise_hs_write_len(&p.ini, 0), 0);
    cr_assert_eq(noise_hs_write(&p.rsp, big, NOISE_MAX_MSG - 96 + 1, big, sizeof big, &n2),
                 AM_ELIMIT);
    cr_assert_eq(noise_hs_write(&p.rsp, NULL, 0, m2, 95, &n2), AM_EINVAL, "cap too small");
    cr_assert_eq(noise_hs_write(&p.rsp, NULL, 0, m2, sizeof m2, &n2), AM_OK);
    cr_assert_eq(n2, 96);
    for (cut = 0; cut < 96; cut++)
        cr_assert_eq(noise_hs_read(&p.ini, m2, cut, pt, sizeof pt, &pn), AM_EMALFORMED);
    /* longer than needed: the extra bytes are payload, so the tag fails */
    m2[96] = 0;
    cr_assert_eq(noise_hs_read(&p.ini, m2, 97, pt, sizeof pt, &pn), AM_EBADMAC);
    noise_hs_wipe(&p.ini);
    noise_hs_wipe(&p.rsp);
}

/* The peer's ephemeral is a small-order point: the DH fails and so does the handshake. */
Test(noise, small_order_point_fails, .init = setup)
{
    struct noise_hs ini;
    struct noise_hs_config ci = {0};
    uint8_t m1[256], bad[48], pt[64];
    size_t n1, pn;

    ci.protocol_name = "Noise_NN_25519_ChaChaPoly_BLAKE2b";
    ci.initiator = 1;
    cr_assert_eq(noise_hs_init(&ini, &ci), AM_OK);
    cr_assert_eq(noise_hs_write(&ini, NULL, 0, m1, sizeof m1, &n1), AM_OK);
    memset(bad, 0, sizeof bad); /* e = 0, a small-order point, then a 16-byte tag */
    cr_assert_eq(noise_hs_read(&ini, bad, sizeof bad, pt, sizeof pt, &pn), AM_EBADMAC);
    cr_assert_eq(noise_hs_done(&ini), 0);
    cr_assert_eq(noise_hs_read(&ini, bad, sizeof bad, pt, sizeof pt, &pn), AM_ESTATE);
    noise_hs_wipe(&ini);
}

Test(noise, wrong_state_calls, .init = setup)
{
    struct pair p;
    struct noise_cipher s, r;
    uint8_t msg[256], pt[256], h[64];
    size_t n, pn;

    pair_init(&p, "Noise_XX_25519_ChaChaPoly_BLAKE2b", 0);
    cr_assert_eq(noise_hs_read(&p.ini, msg, 32, pt, sizeof pt, &pn), AM_ESTATE);
    cr_assert_eq(noise_hs_write(&p.rsp, NULL, 0, msg, sizeof msg, &n), AM_ESTATE);
    cr_assert_eq(noise_hs_split(&p.ini, &s, &r), AM_ESTATE);
    cr_assert_eq(noise_hs_hash(&p.ini, h), AM_ESTATE);
    cr_assert_eq(drive(&p.ini, &p.rsp), AM_OK);
    cr_assert_eq(noise_hs_write(&p.ini, NULL, 0, msg, sizeof msg, &n), AM_ESTATE);
    cr_assert_eq(noise_hs_write(&p.rsp, NULL, 0, msg, sizeof msg, &n), AM_ESTATE);
    cr_assert_eq(noise_hs_read(&p.ini, msg, 64, pt, sizeof pt, &pn), AM_ESTATE);

    /* a wiped state refuses everything */
    noise_hs_wipe(&p.ini);
    cr_assert_eq(noise_hs_write(&p.ini, NULL, 0, msg, sizeof msg, &n), AM_ESTATE);
    cr_assert_eq(noise_hs_split(&p.ini, &s, &r), AM_ESTATE);
    noise_hs_wipe(&p.rsp);
}

Test(noise, one_way_has_no_back_channel, .init = setup)
{
    uint8_t sr[32], spr[32], msg[256], pt[256];
    size_t n, pn;
    struct noise_hs ini, rsp;
    struct noise_cipher is, ir, rs, rr;
    struct noise_hs_config ci = {0}, cr = {0};

    keypair(sr, spr);
    ci.protocol_name = cr.protocol_name = "Noise_N_25519_ChaChaPoly_BLAKE2b";
    ci.initiator = 1;
    ci.rs_pub = spr;
    cr.s_priv = sr;
    cr_assert_eq(noise_hs_init(&ini, &ci), AM_OK);
    cr_assert_eq(noise_hs_init(&rsp, &cr), AM_OK);
    cr_assert_eq(noise_hs_write(&ini, (const uint8_t *)"hi", 2, msg, sizeof msg, &n), AM_OK);
    cr_assert_eq(n, 32 + 2 + 16);
    cr_assert_eq(noise_hs_read(&rsp, msg, n, pt, sizeof pt, &pn), AM_OK);
    cr_assert(noise_hs_done(&ini) && noise_hs_done(&rsp));
    cr_assert_eq(noise_hs_split(&ini, &is, &ir), AM_OK);
    cr_assert_eq(noise_hs_split(&rsp, &rs, &rr), AM_OK);
    cr_assert_eq(noise_cipher_encrypt(&rs, NULL, 0, pt, 1, msg), AM_ESTATE);
    cr_assert_eq(noise_cipher_encrypt(&is, NULL, 0, pt, 1, msg), AM_OK);
    cr_assert_eq(noise_cipher_decrypt(&rr, NULL, 0, msg, 17, pt), AM_OK);
    cr_assert_eq(noise_cipher_decrypt(&ir, NULL, 0, msg, 17, pt), AM_ESTATE);
    noise_cipher_wipe(&is);
    noise_cipher_wipe(&rr);
    noise_hs_wipe(&ini);
    noise_hs_wipe(&rsp);
}

Test(noise, bad_names_and_configs, .init = setup)
{
    static const char *const bad[] = {
        "",
        "Noise_",
        "Noise__25519_ChaChaPoly_BLAKE2b",
        "Noise_ZZ_25519_ChaChaPoly_BLAKE2b",
        "Noise_XX_25519_ChaChaPoly_BLAKE2s",
        "Noise_XX_25519_AESGCM_BLAKE2b",
        "Noise_XX_448_ChaChaPoly_BLAKE2b",
        "Noise_XX_25519_ChaChaPoly_BLAKE2b_",
        "noise_XX_25519_ChaChaPoly_BLAKE2b",
        "Noise_XXfallback_25519_ChaChaPoly_BLAKE2b",
        "Noise_XXhfs_25519_ChaChaPoly_BLAKE2b",
        "Noise_XXpsk_25519_ChaChaPoly_BLAKE2b",
        "Noise_XXpsk4_25519_ChaChaPoly_BLAKE2b", /* XX has 3 messages */
        "Noise_XXpsk3+psk0_25519_ChaChaPoly_BLAKE2b",
        "Noise_XXpsk0+psk0_25519_ChaChaPoly_BLAKE2b",
        "Noise_XXpsk0+_25519_ChaChaPoly_BLAKE2b",
        "Noise_XXpsk10_25519_ChaChaPoly_BLAKE2b",
        "Noise_XX1X_25519_ChaChaPoly_BLAKE2b",
        "Noise_Npsk2_25519_ChaChaPoly_BLAKE2b",
    };
    struct noise_hs hs;
    struct noise_hs_config c = {0};
    uint8_t k[32], pk[32], psk[64];
    size_t i;

    keypair(k, pk);
    randombytes_buf(psk, sizeof psk);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.protocol_name = bad[i];
        cr_assert_eq(noise_hs_init(&hs, &c), AM_EINVAL, "%s", bad[i]);
        cr_assert_eq(noise_hs_want_write(&hs), 0);
    }
    c.protocol_name = NULL;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_EINVAL);

    /* keys the pattern needs, and only those */
    c.protocol_name = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
    c.initiator = 1;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_EINVAL, "XX without s");
    c.s_priv = k;
    c.rs_pub = pk;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_EINVAL, "XX with an unused rs");
    c.rs_pub = NULL;
    c.n_psks = 1;
    c.psks = psk;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_EINVAL, "XX with a psk");
    c.n_psks = 0;
    c.prologue_len = 3;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_EINVAL, "prologue NULL with a length");
    c.prologue_len = 0;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_OK);
    cr_assert_eq(noise_hs_want_write(&hs), 1);

    c.protocol_name = "Noise_NN_25519_ChaChaPoly_BLAKE2b";
    cr_assert_eq(noise_hs_init(&hs, &c), AM_EINVAL, "NN with an unused s");
    c.s_priv = NULL;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_OK);

    c.protocol_name = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
    c.s_priv = k;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_EINVAL, "IK initiator without rs");
    c.rs_pub = pk;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_OK);
    c.initiator = 0;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_EINVAL, "IK responder with rs");
    c.rs_pub = NULL;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_OK);

    c.protocol_name = "Noise_NNpsk0+psk2_25519_ChaChaPoly_BLAKE2b";
    c.s_priv = NULL;
    c.psks = psk;
    c.n_psks = 1;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_EINVAL, "two psk modifiers, one psk");
    c.n_psks = 2;
    cr_assert_eq(noise_hs_init(&hs, &c), AM_OK);
    noise_hs_wipe(&hs);
}

static void cipher_pair(struct noise_cipher *a, struct noise_cipher *b)
{
    uint8_t k[32];
    randombytes_buf(k, sizeof k);
    memset(a, 0, sizeof *a);
    memcpy(a->k, k, 32);
    a->has_key = 1;
    *b = *a;
    sodium_memzero(k, sizeof k);
}

Test(noise, nonce_exhaustion_refused, .init = setup)
{
    struct noise_cipher a, b;
    uint8_t ct[64], pt[64];

    cipher_pair(&a, &b);
    noise_cipher_set_nonce(&a, NOISE_NONCE_MAX - 2);
    noise_cipher_set_nonce(&b, NOISE_NONCE_MAX - 2);
    cr_assert_eq(noise_cipher_encrypt(&a, NULL, 0, (const uint8_t *)"ab", 2, ct), AM_OK);
    cr_assert_eq(noise_cipher_decrypt(&b, NULL, 0, ct, 18, pt), AM_OK);
    cr_assert_eq(noise_cipher_encrypt(&a, NULL, 0, (const uint8_t *)"cd", 2, ct), AM_OK);
    cr_assert_eq(noise_cipher_decrypt(&b, NULL, 0, ct, 18, pt), AM_OK);
    cr_assert_eq(memcmp(pt, "cd", 2), 0);
    /* n is now 2^64-1: reserved, never used for a message */
    cr_assert_eq(a.n, NOISE_NONCE_MAX);
    cr_assert_eq(noise_cipher_encrypt(&a, NULL, 0, (const uint8_t *)"ef", 2, ct), AM_ESTATE);
    cr_assert_eq(noise_cipher_decrypt(&b, NULL, 0, ct, 18, pt), AM_ESTATE);
    /* rekey does not reset the counter */
    noise_cipher_rekey(&a);
    cr_assert_eq(noise_cipher_encrypt(&a, NULL, 0, (const uint8_t *)"ef", 2, ct), AM_ESTATE);
    noise_cipher_wipe(&a);
    noise_cipher_wipe(&b);
}

Test(noise, transport_limits_and_bad_tags, .init = setup)
{
    struct noise_cipher a, b;
    static uint8_t big[NOISE_MAX_MSG + 1], out[NOISE_MAX_MSG + 1];
    uint8_t ct[64], pt[64];
    static const uint8_t ad[] = "ad";

    cipher_pair(&a, &b);
    cr_assert_eq(noise_cipher_encrypt(&a, NULL, 0, big, NOISE_MAX_PAYLOAD + 1, out), AM_ELIMIT);
    cr_assert_eq(noise_cipher_encrypt(&a, NULL, 0, big, NOISE_MAX_PAYLOAD, out), AM_OK);
    cr_assert_eq(noise_cipher_decrypt(&b, NULL, 0, out, NOISE_MAX_MSG, big), AM_OK);
    cr_assert_eq(noise_cipher_decrypt(&b, NULL, 0, out, NOISE_MAX_MSG + 1, big), AM_EMALFORMED);
    cr_assert_eq(noise_cipher_decrypt(&b, NULL, 0, out, 15, big), AM_EMALFORMED);

    /* with ad; a wrong ad or a flipped bit fails and does not advance the nonce */
    cr_assert_eq(noise_cipher_encrypt(&a, ad, sizeof ad, (const uint8_t *)"xyz", 3, ct), AM_OK);
    cr_assert_eq(noise_cipher_decrypt(&b, NULL, 0, ct, 19, pt), AM_EBADMAC);
    ct[2] ^= 4;
    cr_assert_eq(noise_cipher_decrypt(&b, ad, sizeof ad, ct, 19, pt), AM_EBADMAC);
    cr_assert_eq(memcmp(pt, "\0\0\0", 3), 0, "failed decrypt leaves no plaintext");
    ct[2] ^= 4;
    cr_assert_eq(noise_cipher_decrypt(&b, ad, sizeof ad, ct, 19, pt), AM_OK);
    cr_assert_eq(memcmp(pt, "xyz", 3), 0);
    /* empty payload, in place */
    cr_assert_eq(noise_cipher_encrypt(&a, NULL, 0, NULL, 0, ct), AM_OK);
    cr_assert_eq(noise_cipher_decrypt(&b, NULL, 0, ct, 16, NULL), AM_OK);
    memcpy(ct, "inplace", 7);
    cr_assert_eq(noise_cipher_encrypt(&a, NULL, 0, ct, 7, ct), AM_OK);
    cr_assert_eq(noise_cipher_decrypt(&b, NULL, 0, ct, 23, ct), AM_OK);
    cr_assert_eq(memcmp(ct, "inplace", 7), 0);
    noise_cipher_wipe(&a);
    noise_cipher_wipe(&b);
    cr_assert_eq(noise_cipher_encrypt(&a, NULL, 0, ct, 1, ct), AM_ESTATE, "wiped");
}

Test(noise, rekey, .init = setup)
{
    struct noise_cipher a, b;
    uint8_t ct[64], pt[64], zeros[32] = {0}, expect[48], nonce[12];
    uint8_t old_k[32];

    cipher_pair(&a, &b);
    /* REKEY(k) = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes) (spec §4.2) */
    memcpy(old_k, a.k, 32);
    memset(nonce, 0, 4);
    memset(nonce + 4, 0xff, 8);
    crypto_aead_chacha20poly1305_ietf_encrypt(expect, NULL, zeros, 32, NULL, 0, NULL, nonce, old_k);
    noise_cipher_set_nonce(&a, 5);
    noise_cipher_rekey(&a);
    cr_assert_eq(memcmp(a.k, expect, 32), 0);
    cr_assert_eq(a.n, 5, "rekey keeps the nonce");
    noise_cipher_set_nonce(&a, 0);

    /* only one side rekeyed: fails; both: works */
    cr_assert_eq(noise_cipher_encrypt(&a, NULL, 0, (const uint8_t *)"m", 1, ct), AM_OK);
    cr_assert_eq(noise_cipher_decrypt(&b, NULL, 0, ct, 17, pt), AM_EBADMAC);
    noise_cipher_rekey(&b);
    cr_assert_eq(noise_cipher_decrypt(&b, NULL, 0, ct, 17, pt), AM_OK);
    cr_assert_eq(pt[0], 'm');
    sodium_memzero(old_k, sizeof old_k);
    noise_cipher_wipe(&a);
    noise_cipher_wipe(&b);
}

/* HMAC-BLAKE2b known answers, computed independently with Python's hmac + hashlib.blake2b. */
Test(noise, hmac_blake2b, .init = setup)
{
    uint8_t key[200], out[64], want[64], hk[64], alt[64], keyed[64];
    size_t i;

    for (i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    noise_hmac_blake2b(out, key, 32, (const uint8_t *)"aidmesh hmac test", 17);
    hex_to("4966e53f955b71a1bddedd760dbf730d0e7b8af8106484c4668a75747f524992"
           "e0c2f5c256719fdfd9aecaf483f7ed9a409a707891aae203d6bf9c10f4e09a04",
           want, 64);
    cr_assert_eq(memcmp(out, want, 64), 0, "32-byte key");

    for (i = 0; i < 200; i++)
        key[i] = (uint8_t)(i * 7);
    noise_hmac_blake2b(out, key, 200, (const uint8_t *)"abc", 3);
    hex_to("6c3e9429116d9a93b2b8f8c59976ffeac6e25c715fe1ce049da8635608c638dd"
           "5750e3d96e49b34349ec5eb7994fc28107c99f70abbd781d3eb61ec000ba627c",
           want, 64);
    cr_assert_eq(memcmp(out, want, 64), 0, "200-byte key");
    /* a key longer than the block is replaced by its hash */
    crypto_generichash(hk, 64, key, 200, NULL, 0);
    noise_hmac_blake2b(alt, hk, 64, (const uint8_t *)"abc", 3);
    cr_assert_eq(memcmp(out, alt, 64), 0, "long key = HMAC with its hash");

    noise_hmac_blake2b(out, key, 128, (const uint8_t *)"abc", 3);
    hex_to("c42ab89cde9e04b5130a998556ab2348923ef461d9c5cc88d6c5b0da895ccc40"
           "fc2951831da5e729bd0e16909a509cf01d3c4c659bc18e68c3d4930e1187c334",
           want, 64);
    cr_assert_eq(memcmp(out, want, 64), 0, "128-byte key (one block, not hashed)");

    noise_hmac_blake2b(out, NULL, 0, NULL, 0);
    hex_to("198cd2006f66ff83fbbd913f78aca2251caf4f19fe9475aade8cf2091b99a684"
           "66775177424f58286886cbae8229644cec747237d4b721735485e17372fdf59c",
           want, 64);
    cr_assert_eq(memcmp(out, want, 64), 0, "empty key and message");

    /* HMAC is not libsodium's keyed BLAKE2b */
    crypto_generichash(keyed, 64, (const uint8_t *)"abc", 3, key, 64);
    noise_hmac_blake2b(out, key, 64, (const uint8_t *)"abc", 3);
    cr_assert_neq(memcmp(out, keyed, 64), 0);
}
