/*
 * peers_fuzz.c: libFuzzer target for the dashboard's reader of the daemon's status file
 * <home>/run/peers.json (node/dashboard.c: dashboard_parse_peers, the jr_* JSON reader
 * and peer_field). The file is written by the daemon but may be cut short by a crash,
 * edited by a person, or replaced by another process: any bytes must parse to something.
 *
 * The whole input is the file's text (not NUL-terminated; the buffer is exactly the
 * input, so a read one byte past the end is an ASan report). Invariants (a broken one
 * abort()s): at most DASHBOARD_PEERS_MAX peers; every string field NUL-terminated inside
 * its array; flags 0 or 1; present set, alive left for the caller; the same input parses
 * to the same peers twice.
 *
 * Corpus (tests/fuzz/corpus/peers/): a status file as the daemon writes it, and hand-made
 * edge cases (empty, cut short, unterminated string, escapes, nesting, huge numbers,
 * over-long values, more than DASHBOARD_PEERS_MAX peers, binary junk).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard.h"
#include "fuzz.h"

#define TERMINATED(a) (memchr((a), 0, sizeof(a)) != NULL)

static struct dashboard_peers one, two; /* ~70 KB each: not on the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long pid = -7, pid2 = -7;

    dashboard_parse_peers((const char *)data, size, &one, &pid);
    CHECK(one.present == 1 && one.alive == 0);
    CHECK(one.n <= DASHBOARD_PEERS_MAX);
    for (size_t i = 0; i < one.n; i++) {
        const struct dashboard_peer *p = &one.v[i];
        CHECK(TERMINATED(p->author) && TERMINATED(p->address) && TERMINATED(p->state));
        CHECK(TERMINATED(p->direction) && TERMINATED(p->source) && TERMINATED(p->last_error));
        CHECK(p->connected == 0 || p->connected == 1);
        CHECK(p->self == 0 || p->self == 1);
    }
    if (size == 0)
        CHECK(one.n == 0 && pid == 0 && one.written == 0);

    dashboard_parse_peers((const char *)data, size, &two, &pid2);
    CHECK(pid == pid2 && memcmp(&one, &two, sizeof one) == 0);
    return 0;
}
