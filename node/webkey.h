/*
 * webkey.h: the signing keys of the phones paired with this node's web app (PROTOCOL.md
 * section 7, "The home's web files"). At pairing the node makes an Ed25519 key for the
 * phone; every write the phone makes is signed by it as an entry of the phone's own log
 * (relief_node_write_as), so every node that syncs shows the phone, not the node, as the
 * author of what it entered. The key never leaves the node: the phone holds only its
 * cookie (webdev.h).
 *
 * DIR/web-keys, mode 0600, rewritten atomically under the flock of DIR/web.lock like the
 * other web files (webdev.h), one key a line:
 *     ID (16 hex: the device's, webdev.h) TAB AUTHOR (64 hex: the Ed25519 public key, the
 *     author id its entries carry) TAB SEED (64 hex: the secret; "-" once revoked) TAB
 *     NAME (the device's name when paired: printable text, at most AM_NAME_MAX bytes) LF
 * `aidmesh web revoke` wipes the seed of the device's line at once: a revoked phone's
 * author id and name stay, so people can still tell its entries apart, but it never signs
 * again. A key whose device is no longer paired (a revoke cut short) is wiped at the next
 * pairing.
 *
 * Decoding is strict and bounded (webdev_parse's rules): at most WEBKEY_MAX lines of at
 * most WEBDEV_LINE_MAX bytes. The text read is wiped before it is freed; a seed is never
 * printed. Never prints.
 */
#ifndef AM_WEBKEY_H
#define AM_WEBKEY_H

#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"
#include "webdev.h"

#define WEBKEY_FILE "web-keys"
/* Keys kept: the paired devices (WEBDEV_MAX) and the revoked ones after them. A node that
 * has paired this many phones refuses to pair more until the file is tidied by hand. */
#define WEBKEY_MAX 1024

/* One line of DIR/web-keys, without its secret. */
struct webkey {
    uint8_t id[WEBDEV_ID_LEN]; /* the device's id */
    uint8_t pk[AM_PK_LEN];     /* its author id */
    int live;                  /* 1: the secret is kept; 0: revoked (wiped) */
    char name[AM_NAME_MAX + 1];
};

struct webkey_list {
    struct webkey *k;
    size_t n;
};

/* Decodes the text of a web-keys file (pure; fuzzed): every line's shape, its seed's form
 * (64 hex or "-"), no id or author twice. AM_OK, AM_ECORRUPT, AM_ELIMIT (over WEBKEY_MAX
 * lines or WEBDEV_LINE_MAX bytes a line), AM_ENOMEM. *out is the caller's
 * (webkey_list_free), empty on error. */
int webkey_parse(const char *text, size_t len, struct webkey_list *out);
void webkey_list_free(struct webkey_list *l);

/* The keys of home (none when the file is absent), without secrets. AM_OK, the codes of
 * webkey_parse, AM_EPERM (readable by group or others), AM_ESYS. */
int webkey_load(const char *home, struct webkey_list *out);

/* The key of device `id` (its line in l), or NULL. */
const struct webkey *webkey_find(const struct webkey_list *l, const uint8_t id[WEBDEV_ID_LEN]);

/* The secret key (seed || pk, libsodium's form) the writes of paired device `id` are
 * signed with, into sk (AM_SK_LEN bytes, the caller's: sodium_malloc it and wipe it).
 * Checks that the seed gives the author id of its line. AM_OK, AM_ENOTFOUND (no key: a
 * device paired before phones had keys; pair it again), AM_EPERM (revoked, or the file is
 * readable by others), AM_ECORRUPT, AM_ELIMIT, AM_ESYS. sk is zero on error. */
int webkey_signer(const char *home, const uint8_t id[WEBDEV_ID_LEN], uint8_t sk[AM_SK_LEN]);

/* For webdev.c, with DIR/web.lock held: */

/* Makes a key for new device d and adds its line; wipes the seed of every live line
 * whose device is not among the `paired` ones (n of them, d aside). *pk (nullable): its
 * author id. AM_OK, AM_ELIMIT (WEBKEY_MAX lines), AM_ECORRUPT, AM_EPERM, AM_ENOMEM,
 * AM_ESYS. */
int webkey_add_locked(const char *home, const struct webdev *d, const struct webdev *paired,
                      size_t n, uint8_t pk[AM_PK_LEN]);

/* Wipes the seed of device id's line (it never signs again; its author id stays). AM_OK
 * (also when it has no line), the codes of webkey_load, AM_ENOMEM. */
int webkey_revoke_locked(const char *home, const uint8_t id[WEBDEV_ID_LEN]);

#endif
