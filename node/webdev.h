/*
 * webdev.h: the phones (and other browsers) paired with this node's web app: who may use
 * it off the loopback, with which role, and the short pairing codes that let a phone in.
 *
 * Two text files in the node's home (and a third, DIR/web-keys: webkey.h), all mode 0600,
 * rewritten atomically (temp file, fsync, rename, folder fsync) under an exclusive lock on
 * DIR/web.lock (flock), so the CLI (`aidmesh web pair|devices|revoke`) and the running
 * node's web server never lose each other's changes:
 *   DIR/web-devices   one paired device per line:
 *                     ID (16 hex) TAB ROLE ("read" | "write") TAB CREATED (ms since the
 *                     epoch, decimal) TAB TOKEN HASH (64 hex: BLAKE2b-256 of the token)
 *                     TAB NAME (printable text, am_text.h, at most AM_NAME_MAX bytes) LF
 *   DIR/web-pairing   one live pairing code per line:
 *                     CODE HASH (64 hex: BLAKE2b-256 of the code's 8 characters) TAB ROLE
 *                     TAB EXPIRES (ms since the epoch) TAB NAME LF
 * Neither file holds a token or a code: only their hashes. A device's token is 32 random
 * bytes, given once (the cookie the phone keeps). A pairing code is 8 characters of
 * Crockford base32 (40 bits), shown as "XXXX-XXXX", valid WEBDEV_CODE_TTL_MS and once.
 *
 * Decoding is strict and bounded (a file of another shape is AM_ECORRUPT, never half
 * read): at most WEBDEV_MAX devices, WEBDEV_CODES_MAX codes, lines of at most
 * WEBDEV_LINE_MAX bytes. Never prints.
 */
#ifndef AM_WEBDEV_H
#define AM_WEBDEV_H

#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"

#define WEBDEV_DEVICES_FILE "web-devices"
#define WEBDEV_PAIRING_FILE "web-pairing"
#define WEBDEV_LOCK_FILE    "web.lock"

#define WEBDEV_MAX         256                   /* paired devices */
#define WEBDEV_CODES_MAX   16                    /* live pairing codes */
#define WEBDEV_LINE_MAX    512                   /* bytes of one line, LF included */
#define WEBDEV_TOKEN_LEN   32                    /* a device's secret (its cookie) */
#define WEBDEV_ID_LEN      8                     /* a device's id, shown as 16 hex */
#define WEBDEV_CODE_CHARS  8                     /* a pairing code's characters */
#define WEBDEV_CODE_TEXT   (WEBDEV_CODE_CHARS + 1) /* "XXXX-XXXX" */
#define WEBDEV_CODE_TTL_MS (10ULL * 60 * 1000)   /* a code is good for ten minutes */
/* the cookie's value: the token in unpadded base64url (sodium_bin2base64) */
#define WEBDEV_COOKIE_NAME  "am_dev"
#define WEBDEV_COOKIE_CHARS 43

enum webdev_role { WEBDEV_READ = 1, WEBDEV_WRITE = 2 };

struct webdev {
    uint8_t id[WEBDEV_ID_LEN];
    int role; /* enum webdev_role */
    uint64_t created_ms;
    uint8_t token_hash[32];
    char name[AM_NAME_MAX + 1];
};

struct webdev_list {
    struct webdev *d;
    size_t n;
};

/* "read" / "write" <-> enum webdev_role (0 for another word). */
const char *webdev_role_name(int role);
int webdev_role_parse(const char *s);

/* Decodes the text of a web-devices file (pure; fuzzed). AM_OK, AM_ECORRUPT (a line
 * that breaks the format, a repeated id or token hash), AM_ELIMIT (over WEBDEV_MAX
 * devices or WEBDEV_LINE_MAX bytes a line), AM_ENOMEM. *out is the caller's
 * (webdev_list_free), empty on error. */
int webdev_parse(const char *text, size_t len, struct webdev_list *out);
void webdev_list_free(struct webdev_list *l);

/* The paired devices of home (none when the file is absent). AM_OK, the codes of
 * webdev_parse, AM_EPERM (the file is readable by group or others), AM_ESYS. */
int webdev_load(const char *home, struct webdev_list *out);

/* The device whose token hashes to a device's token_hash (compared in constant time), or
 * NULL. */
const struct webdev *webdev_find(const struct webdev_list *l,
                                 const uint8_t token[WEBDEV_TOKEN_LEN]);

/* Makes a pairing code for a device of `role` to be called `name` (printable text, at
 * most AM_NAME_MAX bytes; "" lets the phone name itself "phone N"), valid until
 * now_ms + WEBDEV_CODE_TTL_MS; expired codes are dropped from the file. code: "XXXX-XXXX"
 * and a NUL. AM_OK, AM_EINVAL (role or name), AM_ELIMIT (WEBDEV_CODES_MAX live codes),
 * AM_ESYS. */
int webdev_pair_new(const char *home, int role, const char *name, uint64_t now_ms,
                    char code[WEBDEV_CODE_TEXT + 1]);

/* Takes a code as a person typed it (case, spaces and dashes ignored; I and L read as 1,
 * O as 0): when a live code matches, it is used up and a device is added with a fresh
 * token and its own signing key (webkey.h, DIR/web-keys). *dev (nullable) is the new
 * device, token its secret. AM_OK, AM_ENOTFOUND (no live code matches: wrong, used, or
 * expired), AM_EINVAL (not 8 base32 characters), AM_ELIMIT (WEBDEV_MAX devices, or
 * WEBKEY_MAX keys), AM_ECORRUPT / AM_EPERM (DIR/web-keys), AM_ESYS. */
int webdev_pair_redeem(const char *home, const char *typed, uint64_t now_ms,
                       uint8_t token[WEBDEV_TOKEN_LEN], struct webdev *dev);

/* Removes the device whose id (16 hex) begins with `id_prefix` (at least 4 hex digits),
 * then wipes its signing key (webkey_revoke_locked: its author id stays, it never signs
 * again); *removed (nullable) is what was removed. AM_OK, AM_ENOTFOUND, AM_EEXIST (the
 * prefix names two devices), AM_EINVAL, AM_ESYS, or DIR/web-keys' codes (the device is
 * removed already then). */
int webdev_revoke(const char *home, const char *id_prefix, struct webdev *removed);

/* A Cookie header's value -> the token of its am_dev cookie. AM_OK, AM_ENOTFOUND (no
 * such cookie), AM_EINVAL (not WEBDEV_COOKIE_CHARS of base64url). Pure; fuzzed. */
int webdev_cookie_token(const char *cookie_header, uint8_t token[WEBDEV_TOKEN_LEN]);
/* The anti-forgery token of a device's forms: BLAKE2b-256 keyed by the device's token of
 * the label "aidmesh web csrf v1", in unpadded base64url (43 characters and a NUL). */
void webdev_csrf(const uint8_t token[WEBDEV_TOKEN_LEN], char out[WEBDEV_COOKIE_CHARS + 1]);
/* The Set-Cookie value for token (HttpOnly, SameSite=Strict, Path=/, a year). */
void webdev_set_cookie(const uint8_t token[WEBDEV_TOKEN_LEN], char *out, size_t cap);

#endif
