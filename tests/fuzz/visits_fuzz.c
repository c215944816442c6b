/*
 * visits_fuzz.c: libFuzzer target for the reader of <home>/sticks.log, the sticks that
 * came by (node/stick_node.c: stick_node_visits_parse, the parse that stick_node_visits
 * runs on the last 64 KiB of the file). The file is appended to by the node, but a person
 * may edit it, a crash may tear its last line, and the 64 KiB window tears its first.
 *
 * The whole input is the bytes read from the file; each run parses its own heap copy of
 * exactly that size (the parse overwrites line ends; a read past the end is an ASan
 * report) three ways: whole file with the dashboard's cap (A), with a cap of 3 (B), and as
 * a window that tore the first line (C). Invariants (a broken one abort()s): at most cap
 * visits; every path NUL-terminated inside its array and free of line ends; `full` 0 or
 * 1; B is the first min(3, |A|) visits of A (newest first); C is A, or A without its
 * oldest visit.
 *
 * Corpus (tests/fuzz/corpus/visits/): lines as visit_record writes them, and hand-made
 * edge cases (empty, torn last line, missing fields, huge and negative numbers, a path of
 * more than STICK_NODE_VISIT_PATH_MAX bytes, blank lines, NUL bytes, binary junk).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stick_node.h"
#include "fuzz.h"

#define CAP 20

static size_t run(const uint8_t *data, size_t size, int cut, struct stick_node_visit *out,
                  size_t cap)
{
    char *buf = malloc(size ? size : 1);
    size_t n;
    CHECK(buf != NULL);
    memcpy(buf, data, size);
    n = stick_node_visits_parse(buf, size, cut, out, cap);
    free(buf);
    CHECK(n <= cap);
    for (size_t i = 0; i < n; i++) {
        const char *end = memchr(out[i].path, 0, sizeof out[i].path);
        CHECK(end != NULL);
        CHECK(memchr(out[i].path, '\n', (size_t)(end - out[i].path)) == NULL);
        CHECK(out[i].full == 0 || out[i].full == 1);
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct stick_node_visit a[CAP], b[3], c[CAP];
    size_t na, nb, nc;

    na = run(data, size, 0, a, CAP);
    nb = run(data, size, 0, b, 3);
    nc = run(data, size, 1, c, CAP);
    CHECK(nb == (na < 3 ? na : 3));
    CHECK(memcmp(a, b, nb * sizeof *a) == 0);
    CHECK(nc == na || nc + 1 == na);
    CHECK(memcmp(a, c, nc * sizeof *a) == 0);
    if (size == 0)
        CHECK(na == 0);
    return 0;
}
