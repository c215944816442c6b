/*
 * entry.h: the signed, hash-chained log entry (PROTOCOL.md section "Entry").
 *
 * An entry is body || sig: body is one msgpack array
 *   [version, author (bin 32), seq (uint >= 1), prev (bin 32), hlc (uint), op (map)]
 * and sig is the 64-byte detached ed25519 signature of AM_ENTRY_SIG_LABEL || body by
 * `author`. The entry's hash (BLAKE2b-256 of all of its bytes, signature included) is
 * the `prev` of the author's next entry; the first entry's prev is 32 zero bytes.
 * Entries are stored and forwarded byte for byte as received: nothing here re-encodes.
 * Pure: no clock, no randomness, no I/O, never prints.
 */
#ifndef AM_ENTRY_H
#define AM_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"

#define AM_ENTRY_VERSION 1
/* Domain-separation label signed before the body (PROTOCOL.md "Labels"). It ends in a
 * NUL byte so no body can be mistaken for part of the label. */
#define AM_ENTRY_SIG_LABEL     "aidmesh entry v1"
#define AM_ENTRY_SIG_LABEL_LEN 17 /* including the NUL */

/* A decoded entry. Pointers are views into the buffer given to entry_decode(): they live
 * as long as that buffer and are never freed separately. */
struct entry {
    uint8_t version;
    uint8_t author[AM_PK_LEN];
    uint64_t seq;
    uint8_t prev[AM_HASH_LEN];
    uint64_t hlc;
    const uint8_t *op; /* the op's msgpack bytes (a validated map) */
    size_t op_len;
    const uint8_t *raw; /* the whole entry: body || sig */
    size_t raw_len;
    size_t body_len; /* raw[0..body_len) is signed; raw[body_len..] is the signature */
};

/*
 * Decodes len bytes of one whole entry (length cap first, then mp_check, then fields).
 * Does not verify the signature (see entry_verify). Returns AM_OK, AM_ELIMIT (over
 * AM_ENTRY_MAX or an op limit), AM_EVERSION (a format version this build does not
 * speak), or AM_EMALFORMED (anything else, trailing bytes included).
 */
int entry_decode(struct entry *e, const uint8_t *buf, size_t len);

/* BLAKE2b-256 of the entry's raw bytes. */
void entry_hash(const struct entry *e, uint8_t out[static AM_HASH_LEN]);

/* 1 when raw[0..len) decodes as the entry at `seq` whose hash begins with the n bytes of
 * `hash` (n <= AM_HASH_LEN), else 0. */
int entry_raw_is(const uint8_t *raw, size_t len, uint64_t seq, const uint8_t *hash, size_t n);

/* The id of a child log of `author` (PROTOCOL.md 6, "Logs"): BLAKE2b-256(ENTRY_LOG_LABEL ||
 * author || hash of the log's first entry). A root log's id is the author id itself. */
#define ENTRY_LOG_LABEL "aidmesh log v1"
void entry_log_id(uint8_t out[static AM_PK_LEN], const uint8_t author[static AM_PK_LEN],
                  const uint8_t first_hash[static AM_HASH_LEN]);

/* Checks the signature by e->author. Returns AM_OK or AM_EBADSIG. */
int entry_verify(const struct entry *e);

/*
 * Builds and signs one entry into out[0..cap). `sk` is the libsodium ed25519 secret key
 * (seed || pk); the author is its public half. `op` must be one msgpack map that passes
 * mp_check with mp_limits_entry. On success *len is the entry's size. Returns AM_OK,
 * AM_EINVAL (seq 0, seq 1 with a non-zero prev, op not a map), AM_ELIMIT (the entry would exceed
 * AM_ENTRY_MAX or cap), or an error of mp_check.
 */
int entry_build(uint8_t *out, size_t cap, size_t *len, const uint8_t sk[static AM_SK_LEN],
                uint64_t seq, const uint8_t prev[static AM_HASH_LEN], uint64_t hlc,
                const uint8_t *op, size_t op_len);

/* Lowercase hex of a 32-byte id into out (65 bytes with the NUL). */
void entry_id_hex(const uint8_t id[static 32], char out[static 65]);
/* Parses 64 hex digits. Returns AM_OK or AM_EINVAL. */
int entry_id_parse(const char *hex, uint8_t id[static 32]);

#endif
