/*
 * flood.c: the connection flood of flood.h on a libuv loop.
 * Must never: target anything but 127.0.0.1, or run past its duration.
 */
#include "flood.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include "sync.h"

struct slot {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    struct flood *f;
    unsigned idx;
    int open;   /* connected, not closed yet */
    int active; /* the handle is initialised and not closed */
    int retry;  /* the node closed it: open it again (a refused connect is not retried) */
};

struct flood {
    uv_loop_t loop;
    uv_timer_t end;
    const struct flood_opts *o;
    struct flood_stats *st;
    struct slot *slots;
    uint64_t open;
    int ending;
    char rbuf[4096];
};

static const uint8_t preamble[SYNC_PREAMBLE_LEN] = {
    'A', 'M', 'S', 'Y', SYNC_VERSION_MAJOR, SYNC_VERSION_MINOR, 0, 0};

static void slot_dial(struct slot *s);

static void on_closed(uv_handle_t *h)
{
    struct slot *s = h->data;
    s->active = 0;
    if (!s->f->ending && s->f->o->reconnect && s->retry)
        slot_dial(s);
}

static void slot_close(struct slot *s)
{
    if (!s->active || uv_is_closing((uv_handle_t *)&s->tcp))
        return;
    if (s->open) {
        s->open = 0;
        s->f->open--;
    }
    uv_close((uv_handle_t *)&s->tcp, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct slot *s = h->data;
    (void)suggested;
    *buf = uv_buf_init(s->f->rbuf, sizeof s->f->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct slot *s = st->data;
    (void)buf;
    if (n < 0) {
        s->f->st->closed++;
        s->retry = 1;
        slot_close(s);
    }
}

static void on_write(uv_write_t *req, int status)
{
    (void)req;
    (void)status; /* a failed write shows as a read error */
}

static void on_connect(uv_connect_t *req, int status)
{
    struct slot *s = req->data;
    struct flood *f = s->f;
    if (status < 0) {
        f->st->failed++;
        s->retry = 0;
        slot_close(s);
        return;
    }
    f->st->connected++;
    s->open = 1;
    if (++f->open > f->st->open_max)
        f->st->open_max = f->open;
    if (f->o->send_preamble) {
        uv_buf_t b = uv_buf_init((char *)preamble, sizeof preamble);
        s->wreq.data = s;
        uv_write(&s->wreq, (uv_stream_t *)&s->tcp, &b, 1, on_write);
    }
    uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
}

static void slot_dial(struct slot *s)
{
    struct flood *f = s->f;
    struct sockaddr_in src, dst;
    char ip[32];

    if (f->ending)
        return;
    uv_tcp_init(&f->loop, &s->tcp);
    s->tcp.data = s;
    s->active = 1;
    snprintf(ip, sizeof ip, "127.0.0.%u", 2 + s->idx % f->o->sources);
    uv_ip4_addr(ip, 0, &src);
    uv_ip4_addr("127.0.0.1", f->o->port, &dst);
    s->creq.data = s;
    f->st->attempts++;
    if (uv_tcp_bind(&s->tcp, (struct sockaddr *)&src, 0) != 0 ||
        uv_tcp_connect(&s->creq, &s->tcp, (struct sockaddr *)&dst, on_connect) != 0) {
        f->st->failed++; /* a local error (no ports left): not retried, no busy loop */
        uv_close((uv_handle_t *)&s->tcp, NULL);
        s->active = 0;
    }
}

static void on_end(uv_timer_t *t)
{
    struct flood *f = t->data;
    f->ending = 1;
    f->st->open_end = f->open;
    for (unsigned i = 0; i < f->o->conns; i++)
        slot_close(&f->slots[i]);
    uv_close((uv_handle_t *)&f->end, NULL);
}

int flood_run(const struct flood_opts *o, struct flood_stats *st)
{
    struct flood *f;
    struct rlimit rl;

    memset(st, 0, sizeof *st);
    if (o->conns == 0 || o->conns > FLOOD_CONNS_MAX || o->sources == 0 || o->sources > 250) {
        fprintf(stderr, "aidmesh-flood: give 1..%d connections and 1..250 sources\n",
                FLOOD_CONNS_MAX);
        return -1;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (!(f = calloc(1, sizeof *f)) || !(f->slots = calloc(o->conns, sizeof *f->slots)) ||
        uv_loop_init(&f->loop) != 0) {
        fprintf(stderr, "aidmesh-flood: out of memory\n");
        if (f)
            free(f->slots);
        free(f);
        return -1;
    }
    f->o = o;
    f->st = st;
    uv_timer_init(&f->loop, &f->end);
    f->end.data = f;
    uv_timer_start(&f->end, on_end, o->duration_ms, 0);
    for (unsigned i = 0; i < o->conns; i++) {
        f->slots[i].f = f;
        f->slots[i].idx = i;
        slot_dial(&f->slots[i]);
    }
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    free(f->slots);
    free(f);
    return 0;
}
