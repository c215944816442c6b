/*
 * noise.h: a Noise handshake engine (Noise spec revision 34) for one cipher suite,
 * Noise_<pattern>_25519_ChaChaPoly_BLAKE2b, on libsodium.
 *
 * What it does: parses a protocol name into a table of tokens (pre-messages and message
 * patterns, with any pskN modifiers), runs either side of that handshake one message at a
 * time, and splits the result into two transport CipherStates (spec §5.1-§5.3, §7, §9).
 * Patterns: the one-way N, K, X; the interactive NN NK NX KN KK KX XN XK XX IN IK IX; the
 * deferred ones of §7.5 (NK1 ... I1X1); each with any set of psk0..psk4 modifiers joined
 * by '+' ("Noise_XXpsk0+psk3_25519_ChaChaPoly_BLAKE2b").
 *
 * What it must never do: touch a socket, a file, a clock or a global; print; allocate;
 * reuse a nonce; hand out a payload whose tag did not verify; leave a secret in memory
 * after noise_hs_wipe(), noise_hs_split() or noise_cipher_wipe(). It frames nothing: the
 * 2-byte length prefix around each message is the caller's.
 *
 * Randomness: ephemeral keys come from randombytes_buf() unless the caller injects one
 * (noise_hs_config.e_priv, for test vectors). The caller has called sodium_init().
 *
 * Not supported: the fallback and hfs modifiers, and so pre-message ephemeral keys (only
 * fallback patterns have them); other DH, cipher and hash choices. Such names give
 * AM_EINVAL.
 */
#ifndef AM_NOISE_H
#define AM_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"

#define NOISE_DH_LEN      32               /* X25519 public and private keys, DH outputs */
#define NOISE_KEY_LEN     32               /* ChaChaPoly key; a PSK */
#define NOISE_HASH_LEN    64               /* BLAKE2b-512 output: h, ck, the handshake hash */
#define NOISE_TAG_LEN     16               /* Poly1305 tag */
#define NOISE_MAX_MSG     AM_NOISE_MSG_MAX /* every Noise message (spec §3) */
#define NOISE_MAX_PAYLOAD (NOISE_MAX_MSG - NOISE_TAG_LEN) /* transport plaintext */
#define NOISE_MAX_NAME    128                             /* protocol name, without its NUL */
#define NOISE_MAX_MSGS    4 /* handshake messages of the longest supported pattern */
#define NOISE_MAX_TOKENS  8 /* tokens in one message, psk tokens included */
#define NOISE_MAX_PSKS    (NOISE_MAX_MSGS + 1) /* psk0 .. psk4 */

/* The nonce value 2^64-1 is never used to encrypt a message (spec §5.1); REKEY uses it. */
#define NOISE_NONCE_MAX UINT64_MAX

/*
 * One direction of a transport channel (spec §5.1 CipherState). Caller-allocated; filled
 * by noise_hs_split(). Treat the fields as private. A cipher without a key (the unused
 * direction of a one-way pattern) refuses every call with AM_ESTATE.
 */
struct noise_cipher {
    uint8_t k[NOISE_KEY_LEN];
    uint64_t n;
    int has_key;
};

/*
 * The state of one side of one handshake (spec §5.2 SymmetricState + §5.3 HandshakeState).
 * Caller-allocated (on the stack is fine: under 1 KB); set up by noise_hs_init(). Holds
 * secrets: end every use with noise_hs_split() or noise_hs_wipe(). Treat fields as private.
 */
struct noise_hs {
    struct noise_cipher cs;
    uint8_t ck[NOISE_HASH_LEN];
    uint8_t h[NOISE_HASH_LEN];
    uint8_t s_priv[NOISE_DH_LEN], s_pub[NOISE_DH_LEN];
    uint8_t e_priv[NOISE_DH_LEN], e_pub[NOISE_DH_LEN];
    uint8_t rs[NOISE_DH_LEN], re[NOISE_DH_LEN];
    uint8_t psks[NOISE_MAX_PSKS][NOISE_KEY_LEN];
    uint8_t msgs[NOISE_MAX_MSGS][NOISE_MAX_TOKENS]; /* token codes, 0-terminated */
    uint8_t n_msgs;                                 /* handshake messages of the pattern */
    uint8_t msg_idx;                                /* next message to write or read */
    uint8_t n_psks;                                 /* psk tokens in the pattern */
    uint8_t psk_idx;                                /* next PSK to mix in */
    uint8_t one_way;                                /* 1 for N, K, X (and their psk forms) */
    uint8_t state; /* private: fresh, running, done, split, failed */
    uint8_t initiator;
    uint8_t psk_mode; /* 1 if the name carries any pskN modifier (spec §9.2) */
    uint8_t has_s, has_e, has_rs, has_re;
};

/*
 * What noise_hs_init() needs. Every pointer is read during the call only; nothing is kept.
 * protocol_name: NUL-terminated, e.g. "Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b".
 * initiator:     1 for the party that writes the first message, 0 for the other.
 * prologue:      prologue_len bytes both sides must agree on (NULL if prologue_len is 0).
 * s_priv:        our X25519 static private key; required exactly when the pattern has us
 *                send or pre-share a static key, else must be NULL.
 * rs_pub:        the peer's static public key; required exactly when the pattern has the
 *                peer's static key as a pre-message (NK, IK, K1K, ...), else must be NULL.
 * psks:          n_psks * 32 bytes, the PSKs in the order their psk tokens occur (sorted by
 *                modifier number); n_psks must equal the number of pskN modifiers.
 * e_priv:        NULL normally (a fresh key from randombytes_buf()); a fixed ephemeral
 *                private key only for test vectors: a fixed ephemeral breaks security.
 */
struct noise_hs_config {
    const char *protocol_name;
    int initiator;
    const uint8_t *prologue;
    size_t prologue_len;
    const uint8_t *s_priv;
    const uint8_t *rs_pub;
    const uint8_t *psks;
    size_t n_psks;
    const uint8_t *e_priv;
};

/*
 * Sets up hs for one handshake (spec §5.3 Initialize: protocol name, prologue and
 * pre-messages are hashed here). hs is overwritten without being read.
 * Returns AM_OK; AM_EINVAL for an unknown or malformed protocol name (other primitives,
 * unsupported pattern or modifier, pskN beyond the pattern's messages, modifiers not in
 * increasing order), a key given that the pattern does not use or missing where it does,
 * or a wrong n_psks. On error hs holds no secrets.
 */
int noise_hs_init(struct noise_hs *hs, const struct noise_hs_config *cfg);

/*
 * Writes the next handshake message, carrying payload (plen bytes; NULL if plen is 0),
 * into out (cap bytes); *outlen gets its length. out must not overlap payload.
 * Returns AM_OK; AM_ESTATE if it is not our turn to write, the handshake is over or an
 * earlier call failed; AM_ELIMIT if the message would exceed NOISE_MAX_MSG; AM_EINVAL if
 * cap is too small (noise_hs_write_len() tells the size). These leave hs unchanged.
 * AM_EBADMAC if a DH gives the all-zero output (the peer sent a small-order point): the
 * handshake has failed, hs is wiped and every later call returns AM_ESTATE.
 */
int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t plen, uint8_t *out,
                   size_t cap, size_t *outlen);

/* The size of the message noise_hs_write() would write for a plen-byte payload, or 0 if
 * it is not our turn to write. */
size_t noise_hs_write_len(const struct noise_hs *hs, size_t plen);

/*
 * Reads the next handshake message msg (mlen bytes, exactly one message, as received)
 * and writes its payload into payload_out (cap bytes; NULL if cap is 0); *plen gets its
 * length. payload_out must not overlap msg.
 * Returns AM_OK; AM_ESTATE if it is not our turn to read, the handshake is over or an
 * earlier call failed; AM_EMALFORMED if mlen is shorter than the pattern's keys and tags
 * need or longer than NOISE_MAX_MSG; AM_EINVAL if cap is smaller than the payload. These
 * leave hs unchanged. AM_EBADMAC if a tag does not verify or the peer sent a small-order
 * point: the handshake has failed, hs is wiped, payload_out holds no plaintext, and every
 * later call returns AM_ESTATE.
 */
int noise_hs_read(struct noise_hs *hs, const uint8_t *msg, size_t mlen, uint8_t *payload_out,
                  size_t cap, size_t *plen);

/* 1 if it is our turn to write, 0 otherwise. */
int noise_hs_want_write(const struct noise_hs *hs);
/* 1 once the last handshake message was written or read (before or after split). */
int noise_hs_done(const struct noise_hs *hs);

/* The peer's static public key once known (pre-message or received), else NULL. The
 * pointer is into hs and lives until noise_hs_wipe(hs). It is authenticated only once
 * noise_hs_done(): the pattern says how strongly. */
const uint8_t *noise_hs_remote_static(const struct noise_hs *hs);

/* Copies the handshake hash h (spec §5.2 GetHandshakeHash; for channel binding) into out.
 * Returns AM_OK, or AM_ESTATE before noise_hs_done(). */
int noise_hs_hash(const struct noise_hs *hs, uint8_t out[static NOISE_HASH_LEN]);

/*
 * Splits a finished handshake into the two transport ciphers (spec §5.2 Split), already
 * oriented for our side: send encrypts what we send, recv decrypts what we receive. For a
 * one-way pattern the initiator's recv and the responder's send have no key (AM_ESTATE on
 * use). Afterwards hs keeps only the handshake hash and the peer's static key; every
 * secret in it is wiped. Returns AM_OK, or AM_ESTATE if the handshake is not done or was
 * already split.
 */
int noise_hs_split(struct noise_hs *hs, struct noise_cipher *send, struct noise_cipher *recv);

/* Wipes every secret and all state of hs (sodium_memzero); hs may be NULL. After it, hs
 * must be set up again with noise_hs_init() before use. */
void noise_hs_wipe(struct noise_hs *hs);

/*
 * Encrypts one transport message (spec §5.1 EncryptWithAd): out gets n + 16 bytes. ad
 * (adlen bytes, NULL if 0) is authenticated but not sent. out may equal pt exactly (in
 * place) but must not overlap it otherwise.
 * Returns AM_OK; AM_ELIMIT if n + 16 > NOISE_MAX_MSG; AM_ESTATE if the cipher has no key
 * or its nonce is used up (n reached 2^64-1: rekey does not reset it; hand over to a new
 * handshake).
 */
int noise_cipher_encrypt(struct noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *pt,
                         size_t n, uint8_t *out);

/*
 * Decrypts one transport message ct of ctlen bytes (spec §5.1 DecryptWithAd): out gets
 * ctlen - 16 bytes. out may equal ct exactly but must not overlap it otherwise.
 * Returns AM_OK; AM_EMALFORMED if ctlen < 16 or ctlen > NOISE_MAX_MSG; AM_ESTATE as for
 * encrypt; AM_EBADMAC if the tag does not verify: then out is zeroed and the nonce is not
 * advanced (spec §5.1), so the channel stays usable, though a caller normally closes it.
 */
int noise_cipher_decrypt(struct noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *ct,
                         size_t ctlen, uint8_t *out);

/* Replaces the key with REKEY(k) (spec §4.2, §11.3): the first 32 bytes of encrypting
 * 32 zero bytes with nonce 2^64-1. The nonce counter is kept. Both sides must rekey at
 * the same point of the stream. No effect on a cipher without a key. */
void noise_cipher_rekey(struct noise_cipher *c);

/* Sets the nonce counter (spec §5.1 SetNonce), for out-of-order schemes and tests. Never
 * set it back to a value already used with the same key. */
void noise_cipher_set_nonce(struct noise_cipher *c, uint64_t n);

/* Wipes the key (sodium_memzero); c may be NULL. */
void noise_cipher_wipe(struct noise_cipher *c);

/*
 * HMAC-BLAKE2b (RFC 2104 over BLAKE2b-512, block 128 bytes), as Noise's HMAC-HASH (spec
 * §4.3). Not libsodium's keyed BLAKE2b, which is a different function. Exposed for tests.
 * key may be NULL if keylen is 0, data NULL if len is 0.
 */
void noise_hmac_blake2b(uint8_t out[static NOISE_HASH_LEN], const uint8_t *key, size_t keylen,
                        const uint8_t *data, size_t len);

#endif
