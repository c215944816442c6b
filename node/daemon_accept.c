/*
 * daemon_accept.c: the sync listener (PROTOCOL.md 8.5). It accepts each connection itself,
 * asks admit.h whether to take it (before anything is allocated for it), pauses accepting
 * when the process is out of file descriptors and resumes on a timer, and logs the
 * connections that end before authenticating as one summary line per interval.
 * Must never: spin on an accept that keeps failing, log a line per connection that an
 * outsider can open, or let the caps reach the file descriptor limit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sodium.h>

#include "daemon_int.h"

#define ACCEPT_BATCH    64  /* connections accepted per readiness, then the loop turns */
#define ACCEPT_PAUSE_MS 250 /* out of descriptors: wait this long before accepting again */
#define PREAUTH_LOG_MS  10000
#define LISTEN_BACKLOG  128
#define NOFILE_CEILING  65536 /* the soft limit is raised to the hard one, at most this */

/* ---- addresses ---------------------------------------------------------------------------- */

/* The address part of sa (port cleared; an IPv4-mapped IPv6 address as IPv4). */
static void source_of(const struct sockaddr_storage *sa, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)out;
            s4->sin_family = AF_INET;
            memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
        } else {
            struct sockaddr_in6 *o6 = (struct sockaddr_in6 *)out;
            o6->sin6_family = AF_INET6;
            o6->sin6_addr = s6->sin6_addr;
        }
    } else if (sa->ss_family == AF_INET) {
        struct sockaddr_in *o4 = (struct sockaddr_in *)out;
        o4->sin_family = AF_INET;
        o4->sin_addr = ((const struct sockaddr_in *)sa)->sin_addr;
    }
}

static int same_source(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static void source_text(const struct sockaddr_storage *src, char *out, size_t cap)
{
    char ip[64] = "?";
    if (src->ss_family == AF_INET)
        uv_ip4_name((const struct sockaddr_in *)src, ip, sizeof ip);
    else if (src->ss_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)src, ip, sizeof ip);
    snprintf(out, cap, "%s", ip);
}

/* ---- the summary line ----------------------------------------------------------------------- */

/* One vote of a running majority vote (Boyer-Moore): the address left standing is the one
 * seen most when one was seen more than all others together. */
static void top_vote(struct top_vote *v, const char *addr)
{
    if (v->count == 0 || !strcmp(v->addr, addr)) {
        snprintf(v->addr, sizeof v->addr, "%s", addr);
        v->count++;
    } else {
        v->count--;
    }
}

static void preauth_note(struct daemon *d, const struct sockaddr_storage *src)
{
    char addr[64];
    d->preauth.closed++;
    source_text(src, addr, sizeof addr);
    top_vote(&d->preauth.top, addr);
}

void daemon_dial_failed_note(struct daemon *d, const char *addr)
{
    d->preauth.dials_failed++;
    top_vote(&d->preauth.dial_top, addr);
}

static void on_preauth_timer(uv_timer_t *t)
{
    struct daemon *d = t->data;
    struct preauth_log *p = &d->preauth;
    if (p->dials_failed)
        daemon_log(d,
                   "last %d s: %llu dials to addresses heard in beacons failed before "
                   "authenticating%s%s (`aidmesh doctor` names addresses that claim a member's "
                   "id but fail)",
                   PREAUTH_LOG_MS / 1000, (unsigned long long)p->dials_failed,
                   p->dial_top.count ? "; most to " : "",
                   p->dial_top.count ? p->dial_top.addr : "");
    p->dials_failed = 0;
    memset(&p->dial_top, 0, sizeof p->dial_top);
    if (p->closed == 0 && p->paused == 0)
        return;
    daemon_log(d,
               "last %d s: %llu incoming connections closed before authenticating (%llu failed "
               "or timed out in the handshake, %llu over the per-address cap, %llu dropped "
               "early under load, %llu at the connection cap, %llu made room for another "
               "address)%s%s; accepting paused %llu times for lack of file descriptors",
               PREAUTH_LOG_MS / 1000, (unsigned long long)p->closed, (unsigned long long)p->failed,
               (unsigned long long)p->refused[ADMIT_REFUSE_SOURCE],
               (unsigned long long)p->refused[ADMIT_DROP_EARLY],
               (unsigned long long)p->refused[ADMIT_REFUSE_FULL], (unsigned long long)p->evicted,
               p->top.count ? "; most from " : "", p->top.count ? p->top.addr : "",
               (unsigned long long)p->paused);
    memset(p->refused, 0, sizeof p->refused);
    p->closed = p->failed = p->evicted = p->paused = 0;
    memset(&p->top, 0, sizeof p->top);
}

void daemon_preauth_start(struct daemon *d)
{
    uv_timer_init(&d->loop, &d->preauth.timer);
    d->preauth.timer.data = d;
    uv_timer_start(&d->preauth.timer, on_preauth_timer, PREAUTH_LOG_MS, PREAUTH_LOG_MS);
}

void daemon_unauth_done(struct conn *c, const char *why_closed)
{
    struct daemon *d = c->d;
    if (!c->unauth)
        return;
    c->unauth = 0;
    d->admit.unauth--;
    if (why_closed) {
        d->preauth.failed++;
        preauth_note(d, &c->src);
    }
}

/* ---- accepting ---------------------------------------------------------------------------- */

static void on_listen_readable(uv_poll_t *h, int status, int events);

static void on_accept_timer(uv_timer_t *t)
{
    struct daemon *d = t->data;
    if (d->stopping || !d->listening || !d->accept_paused)
        return;
    d->accept_paused = 0;
    uv_poll_start(&d->listen_poll, UV_READABLE, on_listen_readable);
}

static void accept_pause(struct daemon *d)
{
    if (d->accept_paused)
        return;
    d->accept_paused = 1;
    d->preauth.paused++;
    uv_poll_stop(&d->listen_poll);
    uv_timer_start(&d->accept_timer, on_accept_timer, ACCEPT_PAUSE_MS, 0);
}

/* The oldest unauthenticated incoming connection of the address holding the most. */
static struct conn *eviction_victim(struct daemon *d)
{
    struct conn *best = NULL;
    unsigned best_n = 0;
    for (struct conn *c = d->conns; c; c = c->next) {
        unsigned n = 0;
        if (!c->unauth || c->closing)
            continue;
        for (struct conn *o = d->conns; o; o = o->next)
            n += o->unauth && !o->closing && same_source(&o->src, &c->src);
        if (n > best_n || (n == best_n && best && c->accepted_at < best->accepted_at)) {
            best = c;
            best_n = n;
        }
    }
    return best;
}

static void admit_one(struct daemon *d, int fd, const struct sockaddr_storage *sa)
{
    struct sockaddr_storage src;
    struct admit_state st = d->admit;
    enum admit_verdict v;
    struct conn *c;

    source_of(sa, &src);
    st.src_unauth = 0;
    for (struct conn *o = d->conns; o; o = o->next)
        st.src_unauth += o->unauth && !o->closing && same_source(&o->src, &src);
    v = admit_decide(&st, randombytes_uniform(100));
    if (v == ADMIT_TAKE_EVICT) {
        struct conn *victim = eviction_victim(d);
        if (!victim) {
            v = ADMIT_DROP_EARLY;
        } else {
            d->preauth.evicted++;
            daemon_conn_close(victim, "made room for another address");
        }
    }
    if (v != ADMIT_TAKE && v != ADMIT_TAKE_EVICT) {
        d->preauth.refused[v]++;
        preauth_note(d, &src);
        close(fd);
        return;
    }
    c = daemon_conn_new(d, 0);
    if (!c) {
        close(fd);
        return;
    }
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        close(fd);
        daemon_conn_close(c, "cannot use the socket");
        return;
    }
    c->src = src;
    c->unauth = 1;
    c->accepted_at = uv_now(&d->loop);
    d->admit.unauth++;
    daemon_sa_text((const struct sockaddr *)sa, c->addr, sizeof c->addr);
    daemon_conn_start(c);
}

static void on_listen_readable(uv_poll_t *h, int status, int events)
{
    struct daemon *d = h->data;
    (void)events;
    if (status < 0 || d->stopping)
        return;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept4(d->listen_fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                accept_pause(d); /* EMFILE, ENFILE, ENOBUFS, ENOMEM: try again later */
            return;
        }
        admit_one(d, fd, &sa);
    }
}

int daemon_listen(struct daemon *d, const char *spec)
{
    char host[256], port[8];
    struct sockaddr_storage sa, bound;
    socklen_t slen, blen = sizeof bound;
    int fd, one = 1;

    memset(&sa, 0, sizeof sa);
    if (daemon_split_hostport(spec, host, sizeof host, port, sizeof port) != AM_OK) {
        daemon_log(d, "cannot listen on '%s': give ADDR:PORT, e.g. 0.0.0.0:%d", spec,
                   DAEMON_DEFAULT_PORT);
        return 1;
    }
    if (uv_ip4_addr(host, atoi(port), (struct sockaddr_in *)&sa) == 0) {
        slen = sizeof(struct sockaddr_in);
    } else if (uv_ip6_addr(host, atoi(port), (struct sockaddr_in6 *)&sa) == 0) {
        slen = sizeof(struct sockaddr_in6);
    } else {
        daemon_log(d, "cannot listen on '%s': the address must be numeric (e.g. 0.0.0.0 or [::])",
                   spec);
        return 1;
    }
    fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, slen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        int e = errno;
        /* libuv's wording, as every other network message of the daemon */
        daemon_log(d, "cannot listen on %s: %s%s", spec, uv_strerror(uv_translate_sys_error(e)),
                   e == EADDRINUSE ? " (is another aidmesh node running? pick another "
                                     "port with --listen)"
                                   : "");
        if (fd >= 0)
            close(fd);
        return 1;
    }
    getsockname(fd, (struct sockaddr *)&bound, &blen);
    d->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    if (uv_poll_init_socket(&d->loop, &d->listen_poll, fd) != 0) {
        daemon_log(d, "cannot listen on %s: the event loop refused the socket", spec);
        close(fd);
        return 1;
    }
    d->listen_fd = fd;
    d->listen_poll.data = d;
    uv_timer_init(&d->loop, &d->accept_timer);
    d->accept_timer.data = d;
    uv_poll_start(&d->listen_poll, UV_READABLE, on_listen_readable);
    d->listening = 1;
    daemon_log(d, "listening on %s", spec);
    return 0;
}

/* Stops accepting; the socket itself is closed with the poll handle at teardown. */
void daemon_listen_stop(struct daemon *d)
{
    if (!d->listening)
        return;
    uv_poll_stop(&d->listen_poll);
    uv_timer_stop(&d->accept_timer);
}

void daemon_fd_budget(struct daemon *d, unsigned reserved)
{
    struct rlimit rl;
    uint64_t nofile = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > NOFILE_CEILING ? NOFILE_CEILING
                                                                                   : rl.rlim_max;
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
            rl.rlim_cur = want;
            setrlimit(RLIMIT_NOFILE, &rl); /* if refused, the old limit stays */
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        nofile = rl.rlim_cur == RLIM_INFINITY ? NOFILE_CEILING : (uint64_t)rl.rlim_cur;
    }
    admit_caps(nofile, reserved, &d->admit);
    daemon_log(d,
               "file descriptors: %llu; at most %u sync connections, %u of them not "
               "authenticated yet (%d per address)",
               (unsigned long long)nofile, d->admit.conn_max, d->admit.unauth_max,
               ADMIT_UNAUTH_PER_SOURCE);
}
