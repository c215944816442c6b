/*
 * store_record_fuzz.c: libFuzzer target for the parser of the store record HOME/store.id
 * (node/store_check.c: store_record_parse; PROTOCOL.md 7, "Store record"). The file sits
 * in the home, where a full disk, a bad copy or a hand edit may damage it.
 *
 * The input is the file's bytes. The parser must accept exactly a record: on AM_OK the
 * text written back from what it returned (the format store_record_write uses) parses to
 * the same id and count; anything else is AM_ECORRUPT, with nothing read past len.
 *
 * Corpus (tests/fuzz/corpus/store_record/): a record as a node writes it, and damaged ones
 * (cut, upper-case hex, a short id, a count too long, no final line end, trailing text,
 * a NUL byte, over the size limit).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "fuzz.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t id[AM_INSTALL_ID_LEN], id2[AM_INSTALL_ID_LEN];
    uint64_t n = 0, n2 = 0;
    char text[STORE_RECORD_MAX + 1], hex[2 * AM_INSTALL_ID_LEN + 1];
    int rc = store_record_parse((const char *)data, size, id, &n), len;

    CHECK(rc == AM_OK || rc == AM_ECORRUPT);
    if (rc != AM_OK)
        return 0;
    CHECK(size <= STORE_RECORD_MAX);
    sodium_bin2hex(hex, sizeof hex, id, sizeof id);
    len = snprintf(text, sizeof text, "aidmesh-store-v1\ninstall_id = %s\nentries = %llu\n", hex,
                   (unsigned long long)n);
    CHECK(len > 0 && (size_t)len < sizeof text);
    CHECK(store_record_parse(text, (size_t)len, id2, &n2) == AM_OK);
    CHECK(memcmp(id, id2, sizeof id) == 0 && n == n2);
    return 0;
}
