/*
 * invite.h: the invite code, the typeable text form of a network's secret
 * (PROTOCOL.md section "Invite code").
 *
 * A network is one 16-byte random secret. People carry it as an invite code that can be
 * typed, or read aloud over a radio: Crockford base32 (case-insensitive; O reads as 0,
 * I and L as 1; dashes and spaces are ignored), in groups of four data characters, each
 * group followed by one check character over GF(32) that catches every single wrong
 * character and every swap of two neighbours inside the group, and names the group
 * where the typo is. A final group carries a checksum over the whole secret, so a code
 * with an undetected per-group typo still never yields a wrong network silently.
 * The network key (PSK, stick keys, beacon MACs) is derived from the secret with
 * invite_network_key(); the public network id with invite_network_id().
 * Pure: no randomness (the caller passes the secret), no I/O, never prints.
 */
#ifndef AM_INVITE_H
#define AM_INVITE_H

#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"

/* Longest code invite_format() writes, including the NUL (a code is 45 characters). */
#define AM_INVITE_TEXT_MAX 64

/* Domain-separation labels (listed in PROTOCOL.md). Each is the message of a keyed
 * BLAKE2b-256 (libsodium crypto_generichash), without its NUL:
 *   checksum    = first 10 bits of BLAKE2b-256(key = secret,      AM_INVITE_CHECKSUM_LABEL)
 *   network key =              BLAKE2b-256(key = secret,      AM_INVITE_NETKEY_LABEL)
 *   network id  = first 8 bytes of BLAKE2b-256(key = network key, AM_INVITE_NETID_LABEL) */
#define AM_INVITE_CHECKSUM_LABEL "aidmesh invite v1"
#define AM_INVITE_NETKEY_LABEL   "aidmesh network key v1"
#define AM_INVITE_NETID_LABEL    "aidmesh network id v1"

/* Writes the invite code of `secret` into out (NUL-terminated, lowercase), e.g.
 * "am1-xxxxc-xxxxc-xxxxc-xxxxc-xxxxc-xxxxc-xxxxc". The caller owns both buffers.
 * Returns AM_OK, or AM_EINVAL when cap is below 46 (out is then "" if cap > 0). */
int invite_format(const uint8_t secret[static AM_NETSECRET_LEN], char *out, size_t cap);

/*
 * Parses an invite code typed by a person: case-insensitive, O reads as 0, I and L as 1,
 * dashes and white space anywhere are ignored, the prefix "am1" is required (with or
 * without its dash). `text` is a NUL-terminated string owned by the caller.
 * On AM_OK the secret is in `secret` and `where` is "". On error `secret` is zeroed and
 * `where` (if not NULL and where_cap > 0; truncated to where_cap) receives a short
 * NUL-terminated text naming the part of the input a person should look at.
 * Returns AM_OK;
 * AM_EMALFORMED: the prefix is missing ("the start (it must be 'am1-')"), a character is
 *   not in the alphabet ("character 'u' at position 12", 1-based over the whole text), or
 *   the number of characters after the prefix is not 35 ("the length: 34 characters
 *   after 'am1-', 35 expected");
 * AM_ECHECKSUM: a typo. `where` names the first group, 1 to 7, whose check character
 *   fails, as typed: "group 3 'k7m2x'". A code whose group checks pass but whose final
 *   checksum fails gives "the whole code"; nonzero pad bits (never written by
 *   invite_format(), so a typo in group 7 that its check missed) give "group 7 '...'".
 */
int invite_parse(const char *text, uint8_t secret[static AM_NETSECRET_LEN], char *where,
                 size_t where_cap);

/* The 32-byte network key derived from the secret (keyed BLAKE2b with
 * AM_INVITE_NETKEY_LABEL). Never fails; the caller owns both buffers and wipes `key`. */
void invite_network_key(const uint8_t secret[static AM_NETSECRET_LEN],
                        uint8_t key[static AM_NETKEY_LEN]);

/* The public network id: 8 bytes derived from the network key (AM_INVITE_NETID_LABEL),
 * safe to show and to write in clear on a stick. Knowing it does not help to find the
 * key. Never fails. */
void invite_network_id(const uint8_t key[static AM_NETKEY_LEN], uint8_t id[static AM_NETID_LEN]);

#endif
