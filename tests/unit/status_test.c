/*
 * status_test.c: the live status's JSON (node/status.c): the encoding round-trips, the
 * decoder's limits and codes on the committed corpus (tests/fuzz/corpus/peers/), and the
 * control socket on a real libuv loop (a thread runs the loop; the client is status_ask).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "am_err.h"
#include "status.h"
#include "testutil.h"

static int decode_corpus(const char *name, struct node_status *s, char *err, size_t cap)
{
    char path[1024];
    size_t len;
    uint8_t *buf;
    int rc;
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/peers/%s", getenv("AM_SOURCE_DIR"), name);
    buf = tu_read_file(path, &len);
    cr_assert(buf, "cannot read %s", path);
    rc = status_from_json((const char *)buf, len, s, err, cap);
    free(buf);
    return rc;
}

Test(status, corpus_codes)
{
    static const struct {
        const char *name;
        int rc;
    } want[] = {
        {"ok-full.json", AM_OK},
        {"ok-daemon.json", AM_OK},
        {"ok-many-rows.json", AM_OK},
        {"ok-error.json", AM_EPEER},
        {"edge-empty", AM_EMALFORMED},
        {"edge-duplicate-key.json", AM_EMALFORMED},
        {"edge-nan.json", AM_EMALFORMED},
        {"edge-negative.json", AM_EMALFORMED},
        {"edge-trailing.json", AM_EMALFORMED},
        {"edge-nul-escape.json", AM_EMALFORMED},
        {"edge-bad-utf8.json", AM_EMALFORMED},
        {"edge-out-of-range.json", AM_ELIMIT},
        {"edge-over-rows.json", AM_ELIMIT},
        {"edge-long-values.json", AM_ELIMIT},
        {"edge-wrong-types.json", AM_EMALFORMED},
        {"edge-not-object.json", AM_EMALFORMED},
        {"edge-error-not-string.json", AM_EMALFORMED},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct node_status s;
        char err[200];
        int rc;
        status_init(&s);
        rc = decode_corpus(want[i].name, &s, err, sizeof err);
        cr_expect_eq(rc, want[i].rc, "%s: got %d (%s), want %d", want[i].name, rc, am_strerror(rc),
                     want[i].rc);
        if (rc == AM_EPEER)
            cr_expect(strstr(err, "unknown request") != NULL, "%s: error '%s'", want[i].name, err);
        status_free(&s);
    }
}

Test(status, full_answer_decodes_every_field)
{
    struct node_status s;
    status_init(&s);
    cr_assert_eq(decode_corpus("ok-full.json", &s, NULL, 0), AM_OK);
    cr_expect_eq(s.pid, 4242);
    cr_expect_eq(s.port, 47470);
    cr_expect_eq(s.n_connected, 1);
    cr_expect_str_eq(s.connected[0].state, "in sync");
    cr_expect_eq(s.connected[0].bytes_in, 4096);
    cr_expect_eq(s.n_known, 3);
    cr_expect_str_eq(s.known[2].source, "was connected");
    cr_expect_eq(s.known[2].entries_in, 7);
    cr_expect_str_eq(s.known[2].address, "[fe80::1%eth0]:47470");
    cr_expect_eq(s.discovered_max, 256);
    cr_expect_eq(s.n_impostors, 1);
    cr_expect_eq(s.impostors[0].count, 3);
    cr_expect_eq(s.impostors[0].verified_elsewhere, 1);
    status_free(&s);
}

/* Every field survives encode then decode, and text that needs escaping is escaped. */
Test(status, round_trip_and_escaping)
{
    struct node_status a, b;
    struct status_peer *p;
    char *json;
    status_init(&a);
    status_init(&b);
    a.pid = 77;
    a.port = 1234;
    a.written = 1767225600123ULL;
    p = status_add_connected(&a);
    snprintf(p->address, sizeof p->address, "evil\"},{\"author\":\"x\\\n");
    snprintf(p->state, sizeof p->state, "syncing");
    snprintf(p->name, sizeof p->name, "clinic \"north\" \xc3\xa9");
    p->entries_out = 9;
    p = status_add_known(&a);
    snprintf(p->address, sizeof p->address, "h\xff\xfe:1"); /* not UTF-8 */
    snprintf(p->source, sizeof p->source, "static");
    p->self = 1;
    json = status_to_json(&a);
    cr_assert(json);
    cr_expect(strchr(json, '\n') == NULL, "one line: %s", json);
    cr_assert_eq(status_from_json(json, strlen(json), &b, NULL, 0), AM_OK, "%s", json);
    cr_expect_eq(b.n_connected, 1);
    cr_expect_str_eq(b.connected[0].address, a.connected[0].address);
    cr_expect_eq(b.connected[0].entries_out, 9);
    cr_expect_str_eq(b.connected[0].name, "clinic \"north\" \xc3\xa9");
    cr_expect(strstr(json, "\"name\":\"clinic \\\"north\\\" \xc3\xa9\"") != NULL, "%s", json);
    cr_expect_str_eq(b.known[0].address, "h??:1");
    cr_expect_eq(b.known[0].self, 1);
    cr_expect_eq(b.written, a.written);
    free(json);
    json = status_peers_json(NULL);
    cr_expect_str_eq(json, "{\"running\":false,\"connected\":[],\"known\":[]}");
    free(json);
    status_free(&a);
    status_free(&b);
}

/* ---- the socket ---- */

struct loop_ctx {
    uv_loop_t loop;
    uv_async_t stop;
    struct status_server sv;
    struct status_snapshot snap;
    atomic_int refreshed;
};

static void on_refresh(void *ctx)
{
    struct loop_ctx *l = ctx;
    atomic_fetch_add(&l->refreshed, 1);
}

static void on_stop(uv_async_t *a)
{
    struct loop_ctx *l = a->data;
    status_server_stop(&l->sv);
    uv_close((uv_handle_t *)a, NULL);
}

static void *run_loop(void *arg)
{
    struct loop_ctx *l = arg;
    uv_run(&l->loop, UV_RUN_DEFAULT);
    return NULL;
}

Test(status, control_socket)
{
    static struct loop_ctx l;
    struct node_status s;
    char *home = tu_tmpdir(), path[1024], err[300];
    struct stat st;
    pthread_t th;
    FILE *f;

    memset(&l, 0, sizeof l);
    cr_assert_eq(uv_loop_init(&l.loop), 0);
    cr_assert_eq(status_snapshot_init(&l.snap), AM_OK);
    status_snapshot_set(&l.snap, strdup("{\"pid\":5,\"port\":6,\"connected\":[],\"known\":[]}"));
    /* a stale socket file where nothing listens is replaced */
    snprintf(path, sizeof path, "%s/run", home);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/run/control.sock", home);
    f = fopen(path, "w");
    cr_assert(f);
    fclose(f);
    status_init(&s);
    cr_expect_eq(status_ask(home, 500, &s, NULL, 0), AM_ENOTFOUND);
    cr_assert_eq(
        status_server_start(&l.sv, &l.loop, home, &l.snap, on_refresh, &l, err, sizeof err), AM_OK,
        "%s", err);
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    uv_async_init(&l.loop, &l.stop, on_stop);
    l.stop.data = &l;
    cr_assert_eq(pthread_create(&th, NULL, run_loop, &l), 0);

    cr_expect_eq(status_ask(home, 0, &s, err, sizeof err), AM_OK, "%s", err);
    cr_expect_eq(s.pid, 5);
    cr_expect_eq(s.port, 6);
    cr_expect_eq(atomic_load(&l.refreshed), 1);

    uv_async_send(&l.stop);
    pthread_join(th, NULL);
    cr_expect(stat(path, &st) != 0, "the socket is removed at stop");
    cr_expect_eq(status_ask(home, 500, &s, NULL, 0), AM_ENOTFOUND);
    status_free(&s);
    uv_loop_close(&l.loop);
    status_snapshot_destroy(&l.snap);
    tu_rmrf(home);
    free(home);
}
