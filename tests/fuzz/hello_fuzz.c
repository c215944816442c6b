/*
 * hello_fuzz.c: libFuzzer target for the node name a sync HELLO carries after its fixed
 * fields (transport/sync_hs.c: sync_hello_name, PROTOCOL.md 8.1). The HELLO arrives
 * inside the Noise handshake from a peer that knows the network key but may be hostile or
 * of another version: any bytes must give a name of text or none, never a crash.
 *
 * The input is the decrypted HELLO payload (short inputs are padded to the fixed fields
 * with zeros, so the name's length byte and bytes are what the fuzzer varies; the buffer is
 * exactly that size, so a read past it is an ASan report). Invariants (a broken one
 * abort()s): the name is NUL-terminated at the length returned, at most AM_NAME_MAX bytes,
 * text (am_text_ok), and exactly the bytes after the length byte; a name is returned only
 * when it fits in the input; the same input gives the same name twice.
 *
 * Corpus (tests/fuzz/corpus/hello/): a HELLO without a name, with a name, with the
 * longest name, a length byte that overruns, a name with a control byte, bad UTF-8, and a
 * name followed by a later version's bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "am_limits.h"
#include "am_text.h"
#include "fuzz.h"
#include "sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = size < SYNC_HELLO_LEN ? SYNC_HELLO_LEN : size, nl, again;
    uint8_t *p = calloc(1, n);
    char name[AM_NAME_MAX + 1], twice[AM_NAME_MAX + 1];

    if (!p)
        return 0;
    memcpy(p, data, size);
    nl = sync_hello_name(p, n, name);
    CHECK(nl <= AM_NAME_MAX && name[nl] == 0 && strlen(name) == nl);
    if (nl) {
        CHECK(n > SYNC_HELLO_LEN && p[SYNC_HELLO_LEN] == nl && SYNC_HELLO_LEN + 1 + nl <= n);
        CHECK(memcmp(name, p + SYNC_HELLO_LEN + 1, nl) == 0);
        CHECK(am_text_ok((const uint8_t *)name, nl, 0));
    }
    again = sync_hello_name(p, n, twice);
    CHECK(again == nl && strcmp(name, twice) == 0);
    free(p);
    return 0;
}
