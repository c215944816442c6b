/*
 * peers_fuzz.c: libFuzzer target for the decoder of the running node's answer on its
 * control socket HOME/run/control.sock (node/status.c: status_from_json, jansson with
 * JSON_REJECT_DUPLICATES and a length cap). The answer comes from another process, which
 * may be another program listening on that path, a node of another version, or a node
 * cut off mid-line: any bytes must decode to a status or to an error, never crash.
 *
 * The whole input is the answer line (not NUL-terminated; the buffer is exactly the input,
 * so a read one byte past the end is an ASan report). Invariants (a broken one abort()s):
 * the result is one of the documented codes; on AM_OK at most STATUS_ROWS_MAX rows in each
 * list, every string NUL-terminated inside its array, flags 0 or 1, a port that fits; an
 * error answer leaves a NUL-terminated sentence; the same input decodes the same twice;
 * and a decoded status encodes (status_to_json) to text that decodes to the same status.
 *
 * Corpus (tests/fuzz/corpus/peers/): answers as the daemon writes them, an error answer,
 * and hand-made edge cases (empty, cut short, unterminated string, escapes, nesting, huge
 * numbers, over-long values, duplicate keys, wrong types, many rows, binary junk).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "fuzz.h"
#include "status.h"

#define TERMINATED(a) (memchr((a), 0, sizeof(a)) != NULL)

static void check_rows(const struct status_peer *v, size_t n)
{
    CHECK(n <= STATUS_ROWS_MAX);
    for (size_t i = 0; i < n; i++) {
        const struct status_peer *p = &v[i];
        CHECK(TERMINATED(p->author) && TERMINATED(p->address) && TERMINATED(p->state));
        CHECK(TERMINATED(p->direction) && TERMINATED(p->source) && TERMINATED(p->last_error));
        CHECK(p->self == 0 || p->self == 1);
    }
}

/* Same rows, field by field (the structs' padding is not compared). */
static int same_peers(const struct status_peer *a, const struct status_peer *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].author, b[i].author) || strcmp(a[i].address, b[i].address) ||
            strcmp(a[i].direction, b[i].direction) || strcmp(a[i].state, b[i].state) ||
            strcmp(a[i].source, b[i].source) || strcmp(a[i].last_error, b[i].last_error) ||
            a[i].connected_at != b[i].connected_at || a[i].last_seen != b[i].last_seen ||
            a[i].entries_in != b[i].entries_in || a[i].entries_out != b[i].entries_out ||
            a[i].bytes_in != b[i].bytes_in || a[i].bytes_out != b[i].bytes_out ||
            a[i].self != b[i].self)
            return 0;
    return 1;
}

static int same(const struct node_status *a, const struct node_status *b)
{
    if (a->pid != b->pid || a->port != b->port || a->written != b->written ||
        a->n_connected != b->n_connected || a->n_known != b->n_known ||
        a->n_impostors != b->n_impostors || a->discovered != b->discovered ||
        a->dialing != b->dialing || a->discovered_max != b->discovered_max ||
        a->dialing_max != b->dialing_max)
        return 0;
    if (!same_peers(a->connected, b->connected, a->n_connected) ||
        !same_peers(a->known, b->known, a->n_known))
        return 0;
    for (size_t i = 0; i < a->n_impostors; i++) {
        const struct status_impostor *x = &a->impostors[i], *y = &b->impostors[i];
        if (strcmp(x->address, y->address) || strcmp(x->author, y->author) ||
            strcmp(x->reason, y->reason) || x->count != y->count || x->last_fail != y->last_fail ||
            x->last_heard != y->last_heard || x->verified_elsewhere != y->verified_elsewhere)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct node_status one, two;
    char err[200], err2[200];
    int rc, rc2;

    status_init(&one);
    status_init(&two);
    rc = status_from_json((const char *)data, size, &one, err, sizeof err);
    CHECK(rc == AM_OK || rc == AM_EPEER || rc == AM_EMALFORMED || rc == AM_ELIMIT ||
          rc == AM_ENOMEM);
    CHECK(TERMINATED(err));
    CHECK(rc == AM_EPEER || err[0] == 0);
    if (size == 0)
        CHECK(rc == AM_EMALFORMED);
    rc2 = status_from_json((const char *)data, size, &two, err2, sizeof err2);
    CHECK(rc == rc2 && strcmp(err, err2) == 0);
    if (rc == AM_OK) {
        char *json;
        check_rows(one.connected, one.n_connected);
        check_rows(one.known, one.n_known);
        CHECK(one.n_impostors <= STATUS_ROWS_MAX);
        for (size_t i = 0; i < one.n_impostors; i++)
            CHECK(one.impostors[i].verified_elsewhere == 0 ||
                  one.impostors[i].verified_elsewhere == 1);
        CHECK(one.pid >= 0);
        CHECK(same(&one, &two));
        /* what decodes encodes, and the encoding decodes to the same status */
        json = status_to_json(&one);
        if (json) {
            CHECK(status_from_json(json, strlen(json), &two, NULL, 0) == AM_OK);
            CHECK(same(&one, &two));
            free(json);
        }
    }
    status_free(&one);
    status_free(&two);
    return 0;
}
