/*
 * webdev_fuzz.c: libFuzzer target for the two decoders of node/webdev.c that read bytes
 * from outside: webdev_parse (the text of HOME/web-devices, which anything that can write
 * the home may have changed) and webdev_cookie_token (the Cookie header any phone on the
 * hub's Wi-Fi sends).
 *
 * The first byte picks the decoder: even (e.g. 'D') webdev_parse of the rest, odd (e.g.
 * 'C') webdev_cookie_token of the rest as a C string (cut at its first NUL). The buffer is
 * exactly the input (a NUL-terminated copy for the cookie), so a read past the end is an
 * ASan report. Invariants (a broken one abort()s):
 *  - webdev_parse returns a documented code; on an error the list is empty; on AM_OK at
 *    most WEBDEV_MAX devices, each with a role, a non-empty printable name of at most
 *    AM_NAME_MAX bytes, ids and token hashes all distinct, and the list written back in
 *    the format of webdev.h is the input byte for byte (the format has one spelling);
 *    the same input decodes the same twice.
 *  - webdev_cookie_token returns a documented code; the token is all zero unless AM_OK;
 *    on AM_OK the input holds "am_dev=" and the token's unpadded base64url, and the
 *    Set-Cookie value webdev_set_cookie makes of the token decodes to the same token.
 *
 * Corpus (tests/fuzz/corpus/webdev/): devices files as webdev.c writes them (empty, one,
 * several) and broken ones (bad hex, a field short, a line cut, a repeated id, a name with
 * a control character, an over-long line), and Cookie headers with and without am_dev,
 * of the wrong length, with bad characters, and with a repeated am_dev.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "am_text.h"
#include "fuzz.h"
#include "webdev.h"

static void check_parse(const char *text, size_t len)
{
    struct webdev_list l, again;
    int rc = webdev_parse(text, len, &l);
    int rc2 = webdev_parse(text, len, &again);
    char *out;
    size_t off = 0;

    CHECK(rc == AM_OK || rc == AM_ECORRUPT || rc == AM_ELIMIT || rc == AM_ENOMEM);
    CHECK(rc == rc2 && l.n == again.n);
    if (rc != AM_OK) {
        CHECK(l.d == NULL && l.n == 0);
        return;
    }
    CHECK(l.n <= WEBDEV_MAX);
    CHECK(len == 0 || l.n > 0);
    out = malloc(l.n * WEBDEV_LINE_MAX + 1);
    CHECK(out != NULL);
    for (size_t i = 0; i < l.n; i++) {
        const struct webdev *d = &l.d[i];
        char id[2 * WEBDEV_ID_LEN + 1], hash[65];
        size_t nl = strnlen(d->name, sizeof d->name);
        int n;
        CHECK(!memcmp(d->id, again.d[i].id, WEBDEV_ID_LEN) && d->role == again.d[i].role &&
              d->created_ms == again.d[i].created_ms &&
              !memcmp(d->token_hash, again.d[i].token_hash, sizeof d->token_hash) &&
              !strcmp(d->name, again.d[i].name));
        CHECK(webdev_role_name(d->role) != NULL);
        CHECK(nl > 0 && nl <= AM_NAME_MAX && am_text_ok(d->name, nl, 0));
        for (size_t j = 0; j < i; j++)
            CHECK(memcmp(l.d[j].id, d->id, WEBDEV_ID_LEN) != 0 &&
                  memcmp(l.d[j].token_hash, d->token_hash, sizeof d->token_hash) != 0);
        sodium_bin2hex(id, sizeof id, d->id, WEBDEV_ID_LEN);
        sodium_bin2hex(hash, sizeof hash, d->token_hash, sizeof d->token_hash);
        n = snprintf(out + off, WEBDEV_LINE_MAX + 1, "%s\t%s\t%llu\t%s\t%s\n", id,
                     webdev_role_name(d->role), (unsigned long long)d->created_ms, hash, d->name);
        CHECK(n > 0 && n <= WEBDEV_LINE_MAX);
        off += (size_t)n;
    }
    CHECK(off == len && memcmp(out, text, len) == 0);
    free(out);
    webdev_list_free(&l);
    webdev_list_free(&again);
}

static void check_cookie(const char *hdr)
{
    uint8_t token[WEBDEV_TOKEN_LEN], back[WEBDEV_TOKEN_LEN];
    char b64[WEBDEV_COOKIE_CHARS + 1], want[WEBDEV_COOKIE_CHARS + 16], set[160];
    int rc;

    memset(token, 0xa5, sizeof token);
    rc = webdev_cookie_token(hdr, token);
    CHECK(rc == AM_OK || rc == AM_ENOTFOUND || rc == AM_EINVAL);
    if (rc != AM_OK) {
        CHECK(sodium_is_zero(token, sizeof token));
        return;
    }
    sodium_bin2base64(b64, sizeof b64, token, sizeof token,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(want, sizeof want, "%s=%s", WEBDEV_COOKIE_NAME, b64);
    CHECK(strstr(hdr, want) != NULL);
    webdev_set_cookie(token, set, sizeof set);
    CHECK(webdev_cookie_token(set, back) == AM_OK);
    CHECK(memcmp(back, token, sizeof token) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    char *copy;

    if (!ready) {
        CHECK(sodium_init() >= 0);
        ready = 1;
    }
    if (size == 0)
        return 0;
    if ((data[0] & 1) == 0) {
        /* exactly the bytes, so ASan sees a read one past the end */
        copy = malloc(size - 1 > 0 ? size - 1 : 1);
        CHECK(copy != NULL);
        memcpy(copy, data + 1, size - 1);
        check_parse(copy, size - 1);
    } else {
        copy = malloc(size);
        CHECK(copy != NULL);
        memcpy(copy, data + 1, size - 1);
        copy[size - 1] = 0;
        check_cookie(copy);
    }
    free(copy);
    return 0;
}
