/*
 * webkey_fuzz.c: libFuzzer target for webkey_parse (node/webkey.c), the decoder of
 * HOME/web-keys, which anything that can write the home may have changed.
 *
 * The input is the file's text, in a buffer of exactly its size (a read past the end is an
 * ASan report). Invariants (a broken one abort()s): webkey_parse returns a documented
 * code; on an error the list is empty; on AM_OK at most WEBKEY_MAX keys, ids and author
 * ids all distinct, each with a non-empty printable name of at most AM_NAME_MAX bytes;
 * the input has as many lines as keys; the same input decodes the same twice.
 *
 * Corpus (tests/fuzz/corpus/webkey/): files as webkey.c writes them (empty, a live key, a
 * revoked one, both) and broken ones (bad hex, a field short, a line cut, a repeated id or
 * author, a name with a control character, an over-long line).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_text.h"
#include "fuzz.h"
#include "webkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct webkey_list l, again;
    char *text = malloc(size ? size : 1);
    size_t lines = 0;
    int rc, rc2;

    CHECK(text != NULL);
    memcpy(text, data, size);
    rc = webkey_parse(text, size, &l);
    rc2 = webkey_parse(text, size, &again);
    CHECK(rc == AM_OK || rc == AM_ECORRUPT || rc == AM_ELIMIT || rc == AM_ENOMEM);
    CHECK(rc == rc2 && l.n == again.n);
    if (rc != AM_OK) {
        CHECK(l.k == NULL && l.n == 0);
    } else {
        for (size_t i = 0; i < size; i++)
            lines += text[i] == '\n';
        CHECK(l.n == lines && l.n <= WEBKEY_MAX);
        for (size_t i = 0; i < l.n; i++) {
            const struct webkey *k = &l.k[i];
            size_t nl = strnlen(k->name, sizeof k->name);
            CHECK(!memcmp(k, &again.k[i], sizeof *k));
            CHECK(k->live == 0 || k->live == 1);
            CHECK(nl > 0 && nl <= AM_NAME_MAX && am_text_ok(k->name, nl, 0));
            CHECK(webkey_find(&l, k->id) == k);
            for (size_t j = 0; j < i; j++)
                CHECK(memcmp(l.k[j].id, k->id, sizeof k->id) != 0 &&
                      memcmp(l.k[j].pk, k->pk, sizeof k->pk) != 0);
        }
    }
    webkey_list_free(&l);
    webkey_list_free(&again);
    free(text);
    return 0;
}
