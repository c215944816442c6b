/*
 * daemon.c: the node's network side (see daemon.h; messages in PROTOCOL.md "Sync").
 * Must never: block the loop waiting for the network, hold an LMDB transaction across a
 * callback, dial itself, keep two connections to one peer, or let a slow peer grow its
 * memory (one write in flight per connection; the session produces output lazily).
 */
#include "daemon_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "am_err.h"
#include "am_grow.h"
#include "http.h"
#include "stick_node.h"

/* Received entries are stored once the stream pauses this long, or after BATCH_HOLD_MS of
 * steady reading: a bulk sync commits large batches (a page touched by several entries of
 * a batch is written once), a live entry waits a millisecond. */
#define BATCH_QUIET_MS    1
#define BATCH_HOLD_MS     100
#define READ_STOP_BACKLOG (1u << 20) /* output waiting for a peer: stop reading it */
#define MAINTAIN_MS       500
#define STATUS_MS         2000
#define STICK_SCAN_MS     2000 /* mount points below --watch-sticks are listed this often */
#define STICK_DEBOUNCE_MS 300

/* ---- peers that were connected ----------------------------------------------------------- */

/* Forgets peer_hex in the list of peers gone (it is connected again, or gone again). */
static void gone_forget(struct daemon *d, const char *peer_hex)
{
    for (size_t i = 0; i < d->n_gone; i++)
        if (!strcmp(d->gone[i].peer_hex, peer_hex)) {
            memmove(&d->gone[i], &d->gone[i + 1], (d->n_gone - i - 1) * sizeof d->gone[0]);
            d->n_gone--;
            return;
        }
}

/* A handshaken connection ended: the peer goes first in the list (the oldest falls out).
 * Of a connection it dialed, only the host is kept: the port was one of its own, not one
 * it listens on, so no one may take it for a peer to dial. */
static void gone_note(struct daemon *d, const struct conn *c, uint64_t in, uint64_t out)
{
    struct gone *g;
    gone_forget(d, c->peer_hex);
    if (d->n_gone == DAEMON_GONE_MAX)
        d->n_gone--;
    memmove(&d->gone[1], &d->gone[0], d->n_gone * sizeof d->gone[0]);
    g = &d->gone[0];
    snprintf(g->peer_hex, sizeof g->peer_hex, "%s", c->peer_hex);
    snprintf(g->addr, sizeof g->addr, "%s", c->addr);
    if (!c->outbound) {
        char *colon = strrchr(g->addr, ':'); /* "IP:PORT" or "[V6]:PORT" */
        if (colon)
            *colon = 0;
    }
    g->inbound = !c->outbound;
    snprintf(g->name, sizeof g->name, "%s", sync_peer_name(&c->sess));
    g->last_seen = c->last_seen_wall;
    g->entries_in = in;
    g->entries_out = out;
    d->n_gone++;
}

/* ---- logging ------------------------------------------------------------------------------ */

void daemon_log(struct daemon *d, const char *fmt, ...)
{
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    va_list ap;
    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(d->log, "%s ", when);
    va_start(ap, fmt);
    vfprintf(d->log, fmt, ap);
    va_end(ap);
    fputc('\n', d->log);
    fflush(d->log);
}

void daemon_short_id(const uint8_t *id, char out[17])
{
    sodium_bin2hex(out, 17, id, 8);
}

void daemon_sa_text(const struct sockaddr *sa, char *out, size_t cap)
{
    char ip[64] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        uv_ip4_name(s4, ip, sizeof ip);
        port = ntohs(s4->sin_port);
        snprintf(out, cap, "%s:%d", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(s6, ip, sizeof ip);
        port = ntohs(s6->sin6_port);
        snprintf(out, cap, "[%s]:%d", ip, port);
    } else {
        snprintf(out, cap, "?");
    }
}

int daemon_split_hostport(const char *s, char *host, size_t host_cap, char *port, size_t port_cap)
{
    const char *colon;
    size_t hl;
    char *end;
    long p;

    if (!s || !*s)
        return AM_EINVAL;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb)
            return AM_EINVAL;
        hl = (size_t)(rb - s - 1);
        if (hl == 0 || hl >= host_cap)
            return AM_EINVAL;
        memcpy(host, s + 1, hl);
        host[hl] = 0;
        colon = rb[1] == ':' ? rb + 1 : NULL;
        if (rb[1] && !colon)
            return AM_EINVAL;
    } else {
        colon = strrchr(s, ':');
        if (colon && strchr(s, ':') != colon)
            return AM_EINVAL; /* a bare IPv6 address needs brackets */
        hl = colon ? (size_t)(colon - s) : strlen(s);
        if (hl == 0 || hl >= host_cap)
            return AM_EINVAL;
        memcpy(host, s, hl);
        host[hl] = 0;
    }
    if (!colon) {
        snprintf(port, port_cap, "%d", DAEMON_DEFAULT_PORT);
        return AM_OK;
    }
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 1 || p > 65535)
        return AM_EINVAL;
    snprintf(port, port_cap, "%ld", p);
    return AM_OK;
}

/* ---- connections ------------------------------------------------------------------------------
 */

static void conn_pump(struct conn *c);
void daemon_write_status(struct daemon *d);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
void daemon_schedule_retry(struct daemon *d, struct target *t, const char *why);

static void conn_free_cb(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->pending_close > 0)
        return;
    if (c->sess_ok)
        sync_free(&c->sess);
    free(c->wbuf);
    free(c);
}

static void conn_unlink(struct conn *c)
{
    struct conn **pp = &c->d->conns;
    while (*pp && *pp != c)
        pp = &(*pp)->next;
    if (*pp)
        *pp = c->next;
}

/* Into buf: "; " and what of the `forks` + `capped` new entries began a branch of a key
 * signed on two machines (stored and counted, as every entry) or a branch kept as evidence
 * only; "" when none. */
static void branches_text(char *buf, size_t cap, uint64_t forks, uint64_t capped)
{
    int n = 0;
    buf[0] = '\0';
    if (forks)
        n = snprintf(buf, cap,
                     "; %llu of them began a branch of a key in use on two machines (every "
                     "branch is kept and counts: see `aidmesh forks`)",
                     (unsigned long long)forks);
    if (capped && n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n,
                 "; %llu kept as evidence only (a key past %d branches: its records no longer "
                 "count; see `aidmesh forks`)",
                 (unsigned long long)capped, AM_LOGS_PER_AUTHOR);
}

/* Logs whose entries the session of c refused and why (a line per author and reason),
 * once per new refusal count: at the end of the first sync and when the session ends. */
static void log_refusals(struct conn *c)
{
    const struct sync_stats *st = sync_stats(&c->sess);
    char text[300];
    if (st->refused == c->refused_logged)
        return;
    for (size_t i = 0; i < st->refusals.n; i++) {
        syncstore_refusal_text(&st->refusals.r[i], text, sizeof text);
        daemon_log(c->d, "peer %.16s: refused %s", c->peer_hex, text);
    }
    if (st->refusals.unlisted)
        daemon_log(c->d, "peer %.16s: refused %llu more entries from other authors", c->peer_hex,
                   (unsigned long long)st->refusals.unlisted);
    c->refused_logged = st->refused;
}

void daemon_conn_close(struct conn *c, const char *why)
{
    struct daemon *d = c->d;
    if (c->closing)
        return;
    if (c->sess_ok)
        sync_flush(&c->sess); /* keep what arrived before the connection ended */
    c->closing = 1;
    conn_unlink(c);
    d->admit.conns--;
    daemon_unauth_done(c, why); /* counted in the summary line, not logged one by one */
    if (c->handshaken) {
        const struct sync_stats *st = sync_stats(&c->sess);
        char refused[48] = "";
        if (st->refused)
            snprintf(refused, sizeof refused, ", refused %llu", (unsigned long long)st->refused);
        daemon_log(d, "peer %.16s at %s: disconnected (%s); got %llu entries, gave %llu%s",
                   c->peer_hex, c->addr, why, (unsigned long long)(st->added + st->forks),
                   (unsigned long long)st->entries_out, refused);
        log_refusals(c);
        if (!d->once) {
            int other = 0; /* still connected through another connection? */
            for (struct conn *o = d->conns; o; o = o->next)
                other |= o->handshaken && !o->closing && !strcmp(o->peer_hex, c->peer_hex);
            if (!other)
                gone_note(d, c, st->added + st->forks, st->entries_out);
        }
    } else if (c->outbound && c->target && c->target->discovered && !d->once) {
        /* anyone can send beacons: such dials are summed up too (daemon_accept.c) */
        daemon_dial_failed_note(d, c->addr);
    } else if (c->outbound) {
        /* incoming ones that never authenticated: one summary line (daemon_accept.c) */
        daemon_log(d, "connection to %s: closed (%s)", c->addr, why);
    }
    if (c->target) /* a dial that failed, or a static peer's connection that ended */
        daemon_target_dial_ended(c, why);
    if (d->once && !d->once_done) {
        d->once_done = 1;
        /* A peer that hangs up after our first handshake message, before answering it,
         * could not read it: it holds another network key (it learnt nothing). */
        if (!d->once_result->error && c->sess_ok && !c->handshaken &&
            sync_stats(&c->sess)->bytes_in > 0 && strcmp(why, "the peer hung up") == 0)
            d->once_result->error = AM_EBADMAC;
        if (!d->once_result->error)
            d->once_result->error =
                c->in_sync ? AM_OK
                           : (c->sess_ok && sync_error(&c->sess) ? sync_error(&c->sess) : AM_EPEER);
        if (c->sess_ok) {
            const struct sync_stats *st = sync_stats(&c->sess);
            d->once_result->received = st->added + st->forks; /* a branch's first too */
            d->once_result->authors = st->authors_in;
            d->once_result->sent = st->entries_out;
            d->once_result->bytes_in = st->bytes_in;
            d->once_result->bytes_out = st->bytes_out;
            d->once_result->forks = st->forks;
            d->once_result->capped = st->capped;
            d->once_result->refused = st->refused;
            d->once_result->refusals = st->refusals;
        }
        uv_stop(&d->loop);
    }
    if (!d->once && !d->stopping && c->handshaken)
        daemon_write_status(d);
    c->pending_close = 2;
    uv_close((uv_handle_t *)&c->tcp, conn_free_cb);
    uv_close((uv_handle_t *)&c->timer, conn_free_cb);
}

static void on_write(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    free(c->wbuf);
    c->wbuf = NULL;
    c->writing = 0;
    if (c->closing)
        return;
    if (status < 0) {
        daemon_conn_close(c, uv_strerror(status));
        return;
    }
    conn_pump(c);
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    sync_tick(&c->sess, uv_now(&c->d->loop));
    conn_pump(c);
}

/* The other connection with the same peer, if any. */
static struct conn *duplicate_of(struct conn *c)
{
    for (struct conn *o = c->d->conns; o; o = o->next)
        if (o != c && o->handshaken && !o->closing &&
            memcmp(sync_peer_author(&o->sess), sync_peer_author(&c->sess), AM_PK_LEN) == 0 &&
            memcmp(sync_peer_install(&o->sess), sync_peer_install(&c->sess),
                   SYNC_INSTALL_TAG_LEN) == 0)
            return o;
    return NULL;
}

/* Which of two connections with one peer stays (a is the older): the one dialed by the
 * smaller author id (both ends decide alike); between two dialed by the same side, the
 * newer: a node dials a peer only while it has no connection to it, so the older one is
 * gone on the dialer's side (it restarted after a power loss, or a cut link ended it)
 * even if this end has not noticed yet; keeping it would refuse every new connection
 * until it timed out. */
static int keeps_first(const struct conn *a, const struct conn *b, const uint8_t *me)
{
    const uint8_t *da = a->outbound ? me : sync_peer_author(&a->sess);
    const uint8_t *db = b->outbound ? me : sync_peer_author(&b->sess);
    int c = memcmp(da, db, AM_PK_LEN);
    return c != 0 ? c < 0 : 0;
}

static void on_handshake(struct conn *c)
{
    struct daemon *d = c->d;
    struct conn *dup;
    c->handshaken = 1;
    daemon_unauth_done(c, NULL);
    sodium_bin2hex(c->peer_hex, sizeof c->peer_hex, sync_peer_author(&c->sess), AM_PK_LEN);
    if (c->target) /* who answers at the address dialed (daemon_peers.c) */
        daemon_target_handshaken(c);
    if (d->once_result)
        memcpy(d->once_result->peer, c->peer_hex, sizeof c->peer_hex);
    dup = duplicate_of(c);
    if (dup) {
        struct conn *loser = keeps_first(dup, c, d->n->pk) ? c : dup;
        daemon_log(d, "peer %.16s: already connected; keeping one connection", c->peer_hex);
        sync_close(&loser->sess, AM_OK);
        conn_pump(loser);
        if (loser == c)
            return;
    }
    daemon_log(d, "peer %.16s at %s: connected (%s)", c->peer_hex, c->addr,
               c->outbound ? "we dialed" : "it dialed");
    gone_forget(d, c->peer_hex);
    if (!d->once)
        daemon_write_status(d);
}

static void conn_pump(struct conn *c)
{
    unsigned st;
    if (c->closing)
        return;
    st = sync_state(&c->sess);
    if ((st & SYNC_HANDSHAKEN) && !c->handshaken) {
        on_handshake(c);
        if (c->closing)
            return;
        st = sync_state(&c->sess);
    }
    if ((st & SYNC_IN_SYNC) && !(st & SYNC_CLOSED) && !c->in_sync) {
        const struct sync_stats *ss = sync_stats(&c->sess);
        c->in_sync = 1;
        char refused[48] = "", branches[300];
        if (ss->refused)
            snprintf(refused, sizeof refused, "; refused %llu", (unsigned long long)ss->refused);
        branches_text(branches, sizeof branches, ss->forks, ss->capped);
        daemon_log(c->d, "peer %.16s: in sync (got %llu entries from %llu author%s, gave %llu%s%s)",
                   c->peer_hex, (unsigned long long)(ss->added + ss->forks),
                   (unsigned long long)ss->authors_in, ss->authors_in == 1 ? "" : "s",
                   (unsigned long long)ss->entries_out, refused, branches);
        log_refusals(c);
        if (c->d->once)
            sync_close(&c->sess, AM_OK);
        else
            daemon_write_status(c->d);
    }
    if (!c->writing) {
        size_t n;
        const uint8_t *out = sync_output(&c->sess, &n);
        if (n > 0) {
            uv_buf_t b;
            c->wbuf = malloc(n);
            if (!c->wbuf) {
                daemon_conn_close(c, "out of memory");
                return;
            }
            memcpy(c->wbuf, out, n);
            sync_output_done(&c->sess, n);
            b = uv_buf_init((char *)c->wbuf, (unsigned)n);
            c->wreq.data = c;
            c->writing = 1;
            if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
                free(c->wbuf);
                c->wbuf = NULL;
                c->writing = 0;
                daemon_conn_close(c, "write failed");
                return;
            }
        }
    }
    /* A peer that does not read what we send stops being read: what it sends us could
     * only make our output to it grow. */
    {
        size_t pending;
        sync_output(&c->sess, &pending);
        if (pending > READ_STOP_BACKLOG && !c->read_stopped) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->read_stopped = 1;
        } else if (pending <= READ_STOP_BACKLOG && c->read_stopped) {
            uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
            c->read_stopped = 0;
        }
    }
    st = sync_state(&c->sess);
    if ((st & SYNC_CLOSED) && !c->writing) {
        int e = sync_error(&c->sess);
        char why[160];
        unsigned major, minor;
        sync_peer_version(&c->sess, &major, &minor);
        if (e == AM_EVERSION && major) /* name both versions (PROTOCOL.md 8.1) */
            snprintf(why, sizeof why,
                     "%s: the peer speaks sync protocol %u.%u, this node %u.%u; update the "
                     "older aidmesh",
                     am_strerror(e), major, minor, SYNC_VERSION_MAJOR, SYNC_VERSION_MINOR);
        else
            snprintf(why, sizeof why, "%s", e ? am_strerror(e) : "closed");
        daemon_conn_close(c, why);
        return;
    }
    if (!(st & SYNC_CLOSED)) {
        uint64_t dl = sync_next_deadline(&c->sess), now = uv_now(&c->d->loop);
        uv_timer_start(&c->timer, on_timer, dl > now ? dl - now : 0, 0);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)c->d->rbuf, RBUF_LEN);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    (void)buf;
    if (c->closing)
        return;
    if (nread < 0) {
        daemon_conn_close(c, nread == UV_EOF ? "the peer hung up" : uv_strerror((int)nread));
        return;
    }
    if (nread == 0)
        return;
    c->last_seen_wall = node_wall_ms();
    /* the clock only: what this loop iteration reads is stored at once, in on_check */
    sync_clock(&c->sess, uv_now(&c->d->loop));
    sync_feed(&c->sess, c->d->rbuf, (size_t)nread);
    c->fed = 1;
    conn_pump(c);
}

/* Entries that arrived on one connection go to the others that lack them. */
static void on_new_entries(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t seq)
{
    struct conn *from = ctx;
    for (struct conn *o = from->d->conns; o; o = o->next)
        if (o != from && o->sess_ok && !o->closing) { /* mid-handshake too: the engine notes it */
            sync_notify(&o->sess, author, seq);
            conn_pump(o);
        }
}

struct conn *daemon_conn_new(struct daemon *d, int outbound)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->d = d;
    c->outbound = outbound;
    uv_tcp_init(&d->loop, &c->tcp);
    uv_timer_init(&d->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->connected_wall = c->last_seen_wall = node_wall_ms();
    c->next = d->conns;
    d->conns = c;
    d->admit.conns++;
    return c;
}

int daemon_conn_start(struct conn *c)
{
    struct daemon *d = c->d;
    struct sync_config cfg;
    int rc;

    memset(&cfg, 0, sizeof cfg);
    cfg.initiator = c->outbound;
    cfg.netkey = d->n->netkey;
    cfg.sk = d->n->sk;
    cfg.install_id = d->install; /* the session keeps the pointer */
    cfg.store = &d->ss;
    cfg.now_ms = uv_now(&d->loop);
    cfg.on_new = on_new_entries;
    cfg.on_new_ctx = c;
    cfg.name = d->n->name;                /* told to the peer in the handshake (PROTOCOL.md 8.1) */
    cfg.author_rank = daemon_author_rank; /* the most needed first (PROTOCOL.md 8.4) */
    cfg.rank_ctx = d;
    rc = sync_init(&c->sess, &cfg);
    c->sess_ok = 1;
    if (rc != AM_OK) {
        daemon_conn_close(c, am_strerror(rc));
        return rc;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    conn_pump(c);
    return AM_OK;
}

/* ---- entries written by other processes ---------------------------------------------------- */

struct scan {
    struct daemon *d;
    struct sync_head *next;
    size_t n, cap, old_i;
};

static int scan_head(void *ctx, const struct sync_head *h)
{
    struct scan *s = ctx;
    struct daemon *d = s->d;
    uint64_t old = 0;
    while (s->old_i < d->n_heads && memcmp(d->heads[s->old_i].author, h->author, AM_PK_LEN) < 0)
        s->old_i++;
    if (s->old_i < d->n_heads && memcmp(d->heads[s->old_i].author, h->author, AM_PK_LEN) == 0)
        old = d->heads[s->old_i].seq;
    if (h->seq > old)
        for (struct conn *c = d->conns; c; c = c->next)
            if (c->sess_ok && !c->closing)
                sync_notify(&c->sess, h->author, h->seq);
    if (AM_GROW(s->next, s->cap, s->n + 1, 64) != AM_OK)
        return AM_ENOMEM;
    s->next[s->n++] = *h;
    return 0;
}

static void scan_heads(struct daemon *d)
{
    struct scan s = {d, NULL, 0, 0, 0};
    if (d->ss.heads(d->ss.ctx, scan_head, &s) != AM_OK) {
        free(s.next);
        return;
    }
    free(d->heads);
    d->heads = s.next;
    d->n_heads = s.n;
    d->cap_heads = s.cap;
    for (struct conn *c = d->conns; c; c = c->next)
        if (c->handshaken && !c->closing)
            conn_pump(c);
}

static void on_scan_timer(uv_timer_t *t)
{
    scan_heads(t->data);
}

static void on_store_changed(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct daemon *d = h->data;
    (void)filename;
    (void)events;
    if (status < 0 || d->stopping)
        return;
    /* a burst of writes makes one scan */
    if (!uv_is_active((uv_handle_t *)&d->scan_timer))
        uv_timer_start(&d->scan_timer, on_scan_timer, SCAN_DEBOUNCE_MS, 0);
}

/* ---- sticks mounted below --watch-sticks ---------------------------------------------------- */

static void stick_sync_one(struct daemon *d, const char *path)
{
    struct stick_report r;
    unsigned flags = 0;
    int rc;
    if (!stick_node_has_folder(path)) {
        if (!d->stick_init_blank) {
            daemon_log(d,
                       "stick at %s: no aidmesh folder on it, left untouched (set it up once with "
                       "`aidmesh stick sync %s`, or run with --init-blank-sticks)",
                       path, path);
            return;
        }
        flags = STICK_F_CREATE;
    }
    daemon_log(d, "stick at %s: syncing", path);
    rc = stick_node_sync(d->n, path, flags, 0, NULL, NULL, &r);
    if (rc != AM_OK) {
        char text[600];
        stick_node_error_text(rc, &r, path, text, sizeof text);
        daemon_log(d, "stick at %s: %s", path, text);
        return;
    }
    for (uint64_t i = 0; i < r.n_damage && i < STICK_DAMAGE_MAX; i++) {
        char text[400];
        stick_node_damage_text(&r.damage[i], text, sizeof text);
        daemon_log(d, "stick at %s: damage: %s", path, text);
    }
    for (size_t i = 0; i < r.refusals.n; i++) {
        char text[300];
        syncstore_refusal_text(&r.refusals.r[i], text, sizeof text);
        daemon_log(d, "stick at %s: refused %s", path, text);
    }
    if (r.refusals.unlisted)
        daemon_log(d, "stick at %s: refused %llu more entries from other authors", path,
                   (unsigned long long)r.refusals.unlisted);
    if (r.foreign)
        daemon_log(d, "stick at %s: refused %llu segment files of another network (left in place)",
                   path, (unsigned long long)r.foreign);
    if (r.full && r.unfit_entries)
        daemon_log(d, "stick at %s is full: %llu entries from %llu authors did not fit", path,
                   (unsigned long long)r.unfit_entries, (unsigned long long)r.unfit_authors);
    else if (r.full)
        daemon_log(d, "stick at %s is full: every record fit, but not %s", path,
                   r.visit_written ? "the stick's own bookkeeping" : "the note of this visit");
    {
        char branches[300];
        branches_text(branches, sizeof branches, r.forks, r.capped);
        daemon_log(d, "stick %s synced: got %llu, gave %llu%s, safe to unplug", path,
                   (unsigned long long)(r.added + r.forks), (unsigned long long)r.exported,
                   branches);
    }
    if (r.added || r.forks) /* a branch's first entry is new too */
        scan_heads(d);      /* peers connected now get what the stick brought */
}

static void on_stick_mount(void *ctx, const char *path, uint64_t id)
{
    struct daemon *d = ctx;
    struct seen_stick *s;
    for (s = d->sticks; s; s = s->next)
        if (strcmp(s->path, path) == 0 && s->id == id) {
            s->present = 1;
            return;
        }
    s = calloc(1, sizeof *s);
    if (!s)
        return;
    snprintf(s->path, sizeof s->path, "%s", path);
    s->id = id;
    s->present = 1;
    s->next = d->sticks;
    d->sticks = s;
    stick_sync_one(d, s->path);
}

static void on_stick_timer(uv_timer_t *t)
{
    struct daemon *d = t->data;
    struct seen_stick **pp = &d->sticks;
    if (d->stopping)
        return;
    for (struct seen_stick *s = d->sticks; s; s = s->next)
        s->present = 0;
    if (stick_node_mounts(d->stick_dir, on_stick_mount, d) != AM_OK) {
        if (!d->stick_dir_missing)
            daemon_log(d, "cannot watch %s for sticks: no such folder (looking again every %d s)",
                       d->stick_dir, STICK_SCAN_MS / 1000);
        d->stick_dir_missing = 1;
    } else {
        d->stick_dir_missing = 0;
    }
    while (*pp) { /* unmounted: synced again when it comes back */
        struct seen_stick *s = *pp;
        if (s->present) {
            pp = &s->next;
        } else {
            *pp = s->next;
            free(s);
        }
    }
}

static void stick_look_soon(struct daemon *d)
{
    if (!d->stopping && !uv_is_active((uv_handle_t *)&d->stick_debounce))
        uv_timer_start(&d->stick_debounce, on_stick_timer, STICK_DEBOUNCE_MS, 0);
}

static void on_stick_dir_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    (void)filename;
    (void)events;
    if (status >= 0)
        stick_look_soon(h->data);
}

/* The mount table changed (Linux signals POLLPRI on /proc/self/mountinfo): looking at once
 * sees a stick unplugged and plugged back between two timer ticks (mount ids are reused). */
static void on_mounts_changed(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    stick_look_soon(h->data);
}

static void stick_watch_start(struct daemon *d, const struct daemon_opts *o)
{
    d->stick_dir = o->watch_sticks;
    d->stick_init_blank = o->init_blank_sticks;
    uv_timer_init(&d->loop, &d->stick_timer);
    uv_timer_init(&d->loop, &d->stick_debounce);
    d->stick_timer.data = d->stick_debounce.data = d;
    /* the timer finds mounts (mounting makes no event in the parent folder); the event only
     * makes a new folder (a desktop's automounter) be looked at sooner */
    if (uv_fs_event_init(&d->loop, &d->stick_watch) == 0) {
        d->stick_watch.data = d;
        uv_fs_event_start(&d->stick_watch, on_stick_dir_event, d->stick_dir, 0);
    }
    d->mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (d->mounts_fd >= 0 && uv_poll_init(&d->loop, &d->mounts_poll, d->mounts_fd) == 0) {
        d->mounts_poll.data = d;
        uv_poll_start(&d->mounts_poll, UV_PRIORITIZED, on_mounts_changed);
    }
    daemon_log(d, "watching %s for sticks%s", d->stick_dir,
               d->stick_init_blank ? " (blank ones are set up too)" : "");
    uv_timer_start(&d->stick_timer, on_stick_timer, 0, STICK_SCAN_MS);
}

/* ---- start and stop -------------------------------------------------------------------------- */

static void on_any_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_discovery_closed(struct uv_discovery *disc)
{
    (void)disc;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, on_any_closed);
}

static void begin_stop(struct daemon *d, const char *why)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    if (why)
        daemon_log(d, "stopping (%s)", why);
    daemon_listen_stop(d);
    status_server_stop(&d->control); /* `aidmesh peers` now says no node is running */
    for (struct conn *c = d->conns; c; c = c->next)
        if (!c->closing)
            sync_close(&c->sess, AM_OK);
    for (struct conn *c = d->conns, *next; c; c = next) {
        next = c->next;
        conn_pump(c); /* sends the BYE; closes once it is written */
    }
    uv_stop(&d->loop);
}

/* Stores what connection c holds. */
static void release(struct conn *c)
{
    c->held = 0;
    sync_flush(&c->sess);
    conn_pump(c);
}

/* The stream has paused: store every held batch. */
static void on_quiet(uv_timer_t *t)
{
    struct daemon *d = t->data;
    for (struct conn *c = d->conns, *next; c; c = next) {
        next = c->next;
        if (c->sess_ok && !c->closing && c->held)
            release(c);
    }
}

/* Runs once per loop iteration, after the reads of that iteration (sync_feed only queues
 * entries): a connection that read holds its batch until its stream pauses for
 * BATCH_QUIET_MS (on_quiet) or for at most BATCH_HOLD_MS, so one transaction stores what
 * a bulk sync sends meanwhile. */
static void on_check(uv_check_t *h)
{
    struct daemon *d = h->data;
    uint64_t now = uv_now(&d->loop);
    int read = 0;
    for (struct conn *c = d->conns, *next; c; c = next) {
        next = c->next;
        if (!c->sess_ok || c->closing || !c->fed)
            continue;
        c->fed = 0;
        read = 1;
        if (!c->held) {
            c->held = 1;
            c->held_since = now;
        }
        if (now - c->held_since >= BATCH_HOLD_MS)
            release(c);
    }
    if (read)
        uv_timer_start(&d->quiet, on_quiet, BATCH_QUIET_MS, 0);
}

static void on_signal(uv_signal_t *s, int signum)
{
    begin_stop(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static int daemon_setup(struct daemon *d, struct node *n, FILE *log)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->log = log ? log : stderr;
    d->listen_fd = -1;
    admit_caps(1024, DAEMON_FD_RESERVE, &d->admit); /* daemon_run raises the limit first */
    if (uv_loop_init(&d->loop) != 0)
        return 1;
    syncstore_init(&d->ss, n->store);
    store_install_id(n->store, d->install, NULL);
    randombytes_buf(d->instance, sizeof d->instance);
    uv_timer_init(&d->loop, &d->maintain);
    uv_timer_init(&d->loop, &d->scan_timer);
    uv_timer_init(&d->loop, &d->status_timer);
    uv_timer_init(&d->loop, &d->deadline);
    d->maintain.data = d->scan_timer.data = d->status_timer.data = d->deadline.data = d;
    uv_check_init(&d->loop, &d->flusher);
    uv_timer_init(&d->loop, &d->quiet);
    d->flusher.data = d->quiet.data = d;
    uv_check_start(&d->flusher, on_check);
    status_init(&d->status);
    d->snap_ok = status_snapshot_init(&d->snap) == AM_OK;
    return 0;
}

static void daemon_teardown(struct daemon *d)
{
    struct target *t, *tn;
    while (d->conns)
        daemon_conn_close(d->conns, "stopping");
    daemon_dials_cancel(d); /* static peers still resolving: before the handles close */
    daemon_web_stop(d);     /* its threads read the store and the snapshot: stopped first */
    status_server_stop(&d->control);
    if (d->discovering)
        uv_discovery_stop(&d->disc, on_discovery_closed);
    /* close every handle, let the callbacks run, then close the loop */
    uv_walk(&d->loop, close_walk, NULL);
    while (uv_run(&d->loop, UV_RUN_NOWAIT) != 0)
        ;
    daemon_rank_free(d); /* no session is left to ask for a rank */
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_loop_close(&d->loop);
    for (t = d->targets; t; t = tn) {
        tn = t->next;
        free(t);
    }
    while (d->sticks) {
        struct seen_stick *s = d->sticks;
        d->sticks = s->next;
        free(s);
    }
    if (d->stick_dir && d->mounts_fd >= 0)
        close(d->mounts_fd); /* after uv_walk closed its poll handle */
    if (d->listen_fd >= 0)
        close(d->listen_fd); /* likewise */
    free(d->heads);
    status_free(&d->status);
    if (d->snap_ok)
        status_snapshot_destroy(&d->snap);
    d->snap_ok = 0;
}

/* The control socket asks: the status as the loop sees it now. */
static void on_control_request(void *ctx)
{
    daemon_write_status(ctx);
}

static void on_grace_over(uv_timer_t *t)
{
    uv_stop(t->loop);
}

int daemon_run(struct node *n, const struct daemon_opts *o)
{
    static struct daemon dd; /* large (discovery buffers); one per process */
    struct daemon *d = &dd;
    char store_dir[AM_HOME_PATH_MAX], who[17];
    int rc = 0;

    if (daemon_setup(d, n, o->log))
        return 1;
    daemon_short_id(n->pk, who);
    daemon_log(d, "aidmesh node %s%s%s starting (network %02x%02x%02x%02x...)", who,
               n->name[0] ? " " : "", n->name, n->netid[0], n->netid[1], n->netid[2], n->netid[3]);
    daemon_fd_budget(d, DAEMON_FD_RESERVE);
    daemon_preauth_start(d);
    if (o->listen) {
        if (daemon_listen(d, o->listen)) {
            rc = 1;
            goto out;
        }
    } else {
        char spec[32];
        snprintf(spec, sizeof spec, "[::]:%d", DAEMON_DEFAULT_PORT);
        if (daemon_listen(d, spec)) {
            snprintf(spec, sizeof spec, "0.0.0.0:%d", DAEMON_DEFAULT_PORT);
            if (daemon_listen(d, spec)) {
                rc = 1;
                goto out;
            }
        }
    }
    {
        char err[400], old[AM_HOME_PATH_MAX];
        if (home_path(old, n->home, "run/peers.json") == AM_OK)
            unlink(old); /* the status file of versions before the control socket */
        daemon_write_status(d);
        if (status_server_start(&d->control, &d->loop, n->home, d->snap_ok ? &d->snap : NULL,
                                on_control_request, d, err, sizeof err) != AM_OK)
            daemon_log(d, "%s; the node runs without it", err);
    }
    if (o->http && daemon_web_start(d, o)) {
        rc = 1;
        goto out;
    }
    for (int i = 0; i < o->n_peers; i++) {
        char host[sizeof d->targets->host], port[sizeof d->targets->port];
        struct target *t;
        int ok = daemon_split_hostport(o->peers[i], host, sizeof host, port, sizeof port) == AM_OK;
        for (t = d->targets; ok && t; t = t->next)
            if (t->is_static && !strcasecmp(t->host, host) && !strcmp(t->port, port))
                break; /* named twice (a flag and the config; HOST and HOST:47470): once */
        if (ok && t)
            continue;
        t = daemon_target_add(d);
        if (!t || !ok) {
            daemon_log(d, "ignoring static peer '%s': give HOST:PORT", o->peers[i]);
            if (t)
                t->self = 1;
            continue;
        }
        memcpy(t->host, host, sizeof host);
        memcpy(t->port, port, sizeof port);
        t->is_static = 1;
    }
    if (!o->no_discovery) {
        struct uv_discovery_cfg cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.flags = o->discovery_flags;
        cfg.udp_port = o->discovery_port;
        cfg.interval_ms = o->beacon_interval_ms;
        cfg.window_min = UINT32_MAX; /* never strand a node because of its clock */
        if (uv_discovery_start(&d->disc, &d->loop, n->netkey, n->pk, d->instance, d->port,
                               daemon_on_discovered, d, &cfg) == AM_OK) {
            d->discovering = 1;
            daemon_log(d,
                       "discovery on: beacons on UDP port %u find the nodes of this network "
                       "on every local network",
                       cfg.udp_port ? cfg.udp_port : BEACON_UDP_PORT);
        } else
            daemon_log(d, "local network discovery could not start; static peers still work");
    } else {
        daemon_log(d, "discovery off (--no-discovery): only static peers are dialled");
    }
    if (home_path(store_dir, n->home, "store") == AM_OK &&
        uv_fs_event_init(&d->loop, &d->watch) == 0) {
        d->watch.data = d;
        d->watching = uv_fs_event_start(&d->watch, on_store_changed, store_dir, 0) == 0;
    }
    if (!d->watching)
        daemon_log(d, "cannot watch the store for changes: entries written by other commands "
                      "reach peers at the next reconnection");
    uv_timer_init(&d->loop, &d->config_timer);
    d->config_timer.data = d;
    if (uv_fs_event_init(&d->loop, &d->home_watch) == 0) {
        d->home_watch.data = d;
        if (uv_fs_event_start(&d->home_watch, daemon_on_home_changed, n->home, 0) != 0)
            daemon_log(d, "cannot watch the config: static peers added now are dialed after a "
                          "restart");
    }
    scan_heads(d);
    if (o->watch_sticks)
        stick_watch_start(d, o);
    uv_signal_init(&d->loop, &d->sigint);
    uv_signal_init(&d->loop, &d->sigterm);
    d->sigint.data = d->sigterm.data = d;
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_timer_start(&d->maintain, daemon_on_maintain, 0, MAINTAIN_MS);
    uv_timer_start(&d->status_timer, daemon_on_status_timer, 0, STATUS_MS);
    daemon_log(d, "running; stop with Ctrl-C");
    uv_run(&d->loop, UV_RUN_DEFAULT);
    /* give the BYEs a moment to leave */
    uv_timer_start(&d->deadline, on_grace_over, 300, 0);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    daemon_log(d, "stopped");
out:
    daemon_teardown(d);
    return rc;
}

static void on_once_deadline(uv_timer_t *t)
{
    struct daemon *d = t->data;
    if (!d->once_done) {
        d->once_done = 1;
        d->once_result->error = AM_ETIMEOUT;
        uv_stop(&d->loop);
    }
}

int daemon_sync_once(struct node *n, const char *hostport, uint32_t timeout_ms, FILE *log,
                     struct daemon_sync_result *r)
{
    static struct daemon dd;
    struct daemon *d = &dd;
    struct target *t;

    memset(r, 0, sizeof *r);
    if (daemon_setup(d, n, log))
        return 1;
    d->once = 1;
    d->once_result = r;
    t = daemon_target_add(d);
    if (!t || daemon_split_hostport(hostport, t->host, sizeof t->host, t->port, sizeof t->port)) {
        r->error = AM_EINVAL;
        daemon_teardown(d);
        return 1;
    }
    uv_timer_start(&d->deadline, on_once_deadline, timeout_ms, 0);
    daemon_dial(d, t);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    begin_stop(d, NULL);
    daemon_teardown(d);
    return r->error ? 1 : 0;
}
