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

/* Longest code invite_format() writes, including the NUL. */
#define AM_INVITE_TEXT_MAX 64

/* Writes the invite code of `secret` into out (NUL-terminated), e.g.
 * "am1-xxxxc-xxxxc-...". Returns AM_OK, or AM_EINVAL when cap is too small. */
int invite_format(const uint8_t secret[static AM_NETSECRET_LEN], char *out, size_t cap);

/*
 * Parses an invite code typed by a person. On AM_OK the secret is in `secret`.
 * On error, `where` (if not NULL, cap `where_cap`) receives the part of the input a
 * person should look at (the group with the typo, or the bad character), NUL-terminated.
 * Returns AM_OK, AM_EMALFORMED (wrong length, missing prefix, a character that is not in
 * the alphabet: `where` names it), or AM_ECHECKSUM (a typo: `where` names the group, or
 * is "the whole code" when only the final checksum fails).
 */
int invite_parse(const char *text, uint8_t secret[static AM_NETSECRET_LEN], char *where,
                 size_t where_cap);

/* The 32-byte network key derived from the secret (keyed BLAKE2b with a label). */
void invite_network_key(const uint8_t secret[static AM_NETSECRET_LEN],
                        uint8_t key[static AM_NETKEY_LEN]);

/* The public network id: 8 bytes derived from the network key, safe to show and to write
 * in clear on a stick. Knowing it does not help to find the key. */
void invite_network_id(const uint8_t key[static AM_NETKEY_LEN], uint8_t id[static AM_NETID_LEN]);

#endif
