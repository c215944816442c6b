/*
 * beacon.h: the discovery beacon, one UDP datagram that tells the members of one aidmesh
 * network "a node of yours listens at this port, from the address this came from"
 * (PROTOCOL.md section 9, "Discovery").
 *
 * A beacon is a 4-byte clear header ("AMB" + version), a fresh random 24-byte nonce, and
 * an XChaCha20-Poly1305 ciphertext under the beacon key (derived from the network key)
 * of the sender's author id, its instance id, TCP port, sync protocol version and clock
 * in minutes. An outsider learns only "an aidmesh node is here": after the header every
 * beacon is 96 bytes that look random and are fresh each time, so two beacons of one node
 * cannot be linked by their content, over time or across networks. A member of another
 * network fails to authenticate it (AM_EBADMAC), which a diagnosis tool reports as "a node
 * of another aidmesh network was seen".
 *
 * Pure: no sockets, no clock, no randomness (the nonce and the times come in as
 * arguments), no allocation, no globals; never prints. The caller has called
 * sodium_init().
 */
#ifndef AM_BEACON_H
#define AM_BEACON_H

#include <stddef.h>
#include <stdint.h>

#include "am_err.h"
#include "am_limits.h"

/* Well-known ports and groups (PROTOCOL.md §9.1). */
#define BEACON_TCP_PORT    47470           /* default TCP listen port of a node */
#define BEACON_UDP_PORT    47471           /* beacons are sent to and received on it */
#define BEACON_GROUP4      "239.255.74.70" /* IPv4 group (organisation-local scope) */
#define BEACON_GROUP6      "ff02::4747"    /* IPv6 group, link-local scope, per interface */
#define BEACON_INTERVAL_MS 2000            /* a node beacons about this often, per interface */

/* The beacon key is BLAKE2b-256(key = network key, BEACON_KEY_LABEL), label without NUL. */
#define BEACON_KEY_LABEL "aidmesh beacon v1"
#define BEACON_KEY_LEN   32

/* Layout (PROTOCOL.md §9.2). */
#define BEACON_MAGIC        "AMB" /* clear bytes 0..2 */
#define BEACON_MAGIC_LEN    3
#define BEACON_VERSION      1 /* clear byte 3 */
#define BEACON_HEADER_LEN   4
#define BEACON_NONCE_LEN    24 /* crypto_aead_xchacha20poly1305_ietf_NPUBBYTES */
#define BEACON_INSTANCE_LEN 16
#define BEACON_PLAIN_LEN    56 /* author 32, instance 16, port 2, proto 2, minutes 4 */
#define BEACON_TAG_LEN      16 /* crypto_aead_xchacha20poly1305_ietf_ABYTES */
#define BEACON_LEN          (BEACON_HEADER_LEN + BEACON_NONCE_LEN + BEACON_PLAIN_LEN + BEACON_TAG_LEN)

/* The largest datagram a receiver looks at (AM_BEACON_MAX of am_limits.h). */
#define BEACON_MAX AM_BEACON_MAX

/* Default clock window of uv_discovery: a beacon whose timestamp differs from the
 * receiver's clock by more than this is not reported (a replay, or a badly wrong clock).
 * The daemon passes UINT32_MAX instead (any clock): relief laptops with a dead clock
 * battery say 1970, and a node must never be stranded by its clock; a replayed beacon
 * only makes members dial the replayer, whose handshake fails without learning anything. */
#define BEACON_WINDOW_MIN (24u * 60u)

/* beacon_decode()'s result for an authentic beacon whose timestamp is outside the window. */
#define BEACON_ESTALE AM_ESTALE

/* The content of a beacon. */
struct beacon {
    uint8_t author[AM_PK_LEN];             /* the sender's author id (ed25519 public key) */
    uint8_t instance[BEACON_INSTANCE_LEN]; /* random per process: recognises own beacons */
    uint16_t tcp_port;                     /* the sender's TCP listen port, never 0 */
    uint16_t proto_version;                /* sync protocol version: major << 8 | minor */
    uint32_t minutes;                      /* its wall clock: minutes since 1970 (UTC) */
};

/* Derives the beacon key from the network key. Never fails; the caller owns both buffers
 * and wipes `key` when done. */
void beacon_key(const uint8_t netkey[static AM_NETKEY_LEN], uint8_t key[static BEACON_KEY_LEN]);

/*
 * Writes the beacon of `b` under `key` with `nonce` (24 bytes the caller took from a
 * CSPRNG, fresh for every datagram: a repeated nonce makes two beacons linkable) into out
 * (cap bytes); *out_len gets BEACON_LEN. Every pointer is read during the call only.
 * Returns AM_OK; AM_EINVAL if cap < BEACON_LEN or b->tcp_port is 0 (out untouched).
 */
int beacon_encode(const uint8_t key[static BEACON_KEY_LEN], const struct beacon *b,
                  const uint8_t nonce[static BEACON_NONCE_LEN], uint8_t *out, size_t cap,
                  size_t *out_len);

/*
 * Looks at the clear header only (no key needed): is this a beacon of some aidmesh
 * network? For diagnosis tools. Returns AM_OK for a version-1 beacon of the right length
 * (of any network), and otherwise what beacon_decode() returns before it decrypts:
 * AM_ELIMIT, AM_EMALFORMED or AM_EVERSION.
 */
int beacon_sniff(const uint8_t *buf, size_t len);

/*
 * Decodes the datagram buf (len bytes, as received; read during the call only) under
 * `key`. now_min is the receiver's wall clock in minutes since 1970; window_min the
 * largest accepted difference between it and the beacon's clock, either way.
 * Checks, in this order:
 *   AM_ELIMIT      len > BEACON_MAX;
 *   AM_EMALFORMED  shorter than the header, or not starting with "AMB": not a beacon;
 *   AM_EVERSION    an aidmesh beacon of another version (a newer or older aidmesh);
 *   AM_EMALFORMED  a version-1 beacon whose length is not BEACON_LEN;
 *   AM_EBADMAC     the tag does not verify: a beacon of another network, or tampered;
 *   AM_EMALFORMED  authentic, but its TCP port is 0;
 *   BEACON_ESTALE  authentic, but its clock is more than window_min from now_min: *out is
 *                  filled all the same (for diagnosis: who, how far off);
 *   AM_OK          *out is filled.
 * On every other error *out is zeroed. No secret is left on the stack.
 */
int beacon_decode(const uint8_t key[static BEACON_KEY_LEN], const uint8_t *buf, size_t len,
                  uint64_t now_min, uint32_t window_min, struct beacon *out);

/* 1 if b was sent by the process whose instance id is `instance`, else 0. */
int beacon_is_own(const struct beacon *b, const uint8_t instance[static BEACON_INSTANCE_LEN]);

#endif
