/*
 * relay_main.c: aidmesh-relay, a helper for the integration tests. Not installed.
 *
 *   aidmesh-relay --listen ADDR:PORT --target ADDR:PORT [--delay MS]
 *
 * Accepts TCP connections on ADDR:PORT and, for each, connects to the target and
 * forwards bytes both ways, each byte held back MS milliseconds (default 50) after it
 * was read: a link with a fixed one-way latency, which `tc netem` would give if the
 * kernel had it. Addresses are numeric ("10.0.0.1:47470", "[fe80::1%eth0]:47470").
 *
 * Prints "relay listening on ADDR:PORT" once it accepts, one line per connection
 * opened and closed, and on SIGTERM or SIGINT a last line
 * "relay stats: connections=N bytes_up=U bytes_down=D" (up: from the dialer to the
 * target), then exits 0.
 *
 * Must never: block (every socket is non-blocking, one poll() loop), buffer more than
 * RELAY_MAX_QUEUED bytes per direction of a connection (it stops reading that side
 * instead, so TCP flow control reaches the sender), or bind anything but the address
 * it was given.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RELAY_MAX_PAIRS  16           /* connections at once; more are refused */
#define RELAY_CHUNK      16384        /* bytes per read */
#define RELAY_MAX_QUEUED (256 * 1024) /* bytes held per direction before reading stops */

struct relay_chunk {
    uint64_t due_ms; /* when it may be written */
    size_t len, off;
    struct relay_chunk *next;
    uint8_t data[];
};

/* One direction of a connection: bytes read from fd[src], waiting to go to fd[dst]. */
struct relay_dir {
    struct relay_chunk *head, *tail;
    size_t queued;
    int eof;  /* the source hung up: shut the destination's write side once drained */
    int shut; /* done so */
    uint64_t bytes;
};

struct relay_pair {
    int used;
    int fd[2];               /* 0: the dialer (accepted), 1: the target */
    int connecting;          /* fd[1]'s connect is in progress */
    struct relay_dir dir[2]; /* 0: fd[0] -> fd[1] (up), 1: fd[1] -> fd[0] (down) */
    unsigned id;
};

static volatile sig_atomic_t relay_stop;
static struct relay_pair relay_pairs[RELAY_MAX_PAIRS];
static unsigned long long relay_conns, relay_up, relay_down;

static void relay_on_signal(int sig)
{
    (void)sig;
    relay_stop = 1;
}

static uint64_t relay_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int relay_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* "ADDR:PORT" or "[ADDR]:PORT" to a socket address; 0 on success. */
static int relay_parse(const char *spec, struct sockaddr_storage *sa, socklen_t *len)
{
    char host[256];
    const char *port;
    struct addrinfo hints, *res = NULL;
    size_t hl;

    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');
        if (!rb || rb[1] != ':')
            return -1;
        hl = (size_t)(rb - spec - 1);
        if (hl == 0 || hl >= sizeof host)
            return -1;
        memcpy(host, spec + 1, hl);
        port = rb + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - spec);
        if (hl == 0 || hl >= sizeof host)
            return -1;
        memcpy(host, spec, hl);
        port = colon + 1;
    }
    host[hl] = 0;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return -1;
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void relay_dir_free(struct relay_dir *d)
{
    struct relay_chunk *c, *n;
    for (c = d->head; c; c = n) {
        n = c->next;
        free(c);
    }
    memset(d, 0, sizeof *d);
}

static void relay_close(struct relay_pair *p, const char *why)
{
    printf("relay: connection %u closed (%s): up %llu bytes, down %llu bytes\n", p->id, why,
           (unsigned long long)p->dir[0].bytes, (unsigned long long)p->dir[1].bytes);
    fflush(stdout);
    relay_up += p->dir[0].bytes;
    relay_down += p->dir[1].bytes;
    for (int i = 0; i < 2; i++) {
        if (p->fd[i] >= 0)
            close(p->fd[i]);
        relay_dir_free(&p->dir[i]);
    }
    memset(p, 0, sizeof *p);
}

static void relay_accept(int lfd, const struct sockaddr_storage *target, socklen_t tlen)
{
    struct relay_pair *p = NULL;
    int cfd = accept(lfd, NULL, NULL);
    int one = 1;

    if (cfd < 0)
        return;
    for (int i = 0; i < RELAY_MAX_PAIRS; i++)
        if (!relay_pairs[i].used) {
            p = &relay_pairs[i];
            break;
        }
    if (!p) {
        printf("relay: too many connections, refusing one\n");
        fflush(stdout);
        close(cfd);
        return;
    }
    memset(p, 0, sizeof *p);
    p->fd[0] = cfd;
    p->fd[1] = socket(target->ss_family, SOCK_STREAM, 0);
    if (p->fd[1] < 0 || relay_nonblock(cfd) || relay_nonblock(p->fd[1])) {
        close(cfd);
        if (p->fd[1] >= 0)
            close(p->fd[1]);
        memset(p, 0, sizeof *p);
        return;
    }
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(p->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    p->used = 1;
    p->id = (unsigned)++relay_conns;
    printf("relay: connection %u accepted\n", p->id);
    fflush(stdout);
    if (connect(p->fd[1], (const struct sockaddr *)target, tlen) == 0)
        return;
    if (errno == EINPROGRESS) {
        p->connecting = 1;
        return;
    }
    relay_close(p, strerror(errno));
}

/* Reads what fd[src] has into direction src's queue; 0, or -1 when the pair closed. */
static int relay_read(struct relay_pair *p, int src, uint64_t delay)
{
    struct relay_dir *d = &p->dir[src];
    while (d->queued < RELAY_MAX_QUEUED && !d->eof) {
        struct relay_chunk *c = malloc(sizeof *c + RELAY_CHUNK);
        ssize_t n;
        if (!c) {
            relay_close(p, "out of memory");
            return -1;
        }
        n = recv(p->fd[src], c->data, RELAY_CHUNK, 0);
        if (n <= 0) {
            free(c);
            if (n == 0) {
                d->eof = 1;
                return 0;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            relay_close(p, strerror(errno));
            return -1;
        }
        c->due_ms = relay_now_ms() + delay;
        c->len = (size_t)n;
        c->off = 0;
        c->next = NULL;
        if (d->tail)
            d->tail->next = c;
        else
            d->head = c;
        d->tail = c;
        d->queued += (size_t)n;
    }
    return 0;
}

/* Writes the due chunks of direction src to the other side; 0, or -1 when the pair closed. */
static int relay_write(struct relay_pair *p, int src, uint64_t now)
{
    struct relay_dir *d = &p->dir[src];
    int dst = 1 - src;
    while (d->head && d->head->due_ms <= now) {
        struct relay_chunk *c = d->head;
        ssize_t n = send(p->fd[dst], c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            relay_close(p, strerror(errno));
            return -1;
        }
        c->off += (size_t)n;
        d->queued -= (size_t)n;
        d->bytes += (uint64_t)n;
        if (c->off < c->len)
            return 0;
        d->head = c->next;
        if (!d->head)
            d->tail = NULL;
        free(c);
    }
    if (d->eof && !d->head && !d->shut) {
        shutdown(p->fd[dst], SHUT_WR);
        d->shut = 1;
    }
    if (p->dir[0].shut && p->dir[1].shut) {
        relay_close(p, "both sides hung up");
        return -1;
    }
    return 0;
}

static int relay_usage(void)
{
    fprintf(stderr, "usage: aidmesh-relay --listen ADDR:PORT --target ADDR:PORT [--delay MS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *listen_spec = NULL, *target_spec = NULL;
    uint64_t delay = 50;
    struct sockaddr_storage lsa, tsa;
    socklen_t llen, tlen;
    struct sigaction sa;
    int lfd, one = 1;

    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--listen") == 0)
            listen_spec = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--target") == 0)
            target_spec = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--delay") == 0)
            delay = strtoull(argv[++i], NULL, 10);
        else
            return relay_usage();
    }
    if (!listen_spec || !target_spec)
        return relay_usage();
    if (relay_parse(listen_spec, &lsa, &llen) || relay_parse(target_spec, &tsa, &tlen)) {
        fprintf(stderr, "aidmesh-relay: addresses must be numeric ADDR:PORT or [ADDR]:PORT\n");
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = relay_on_signal; /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lfd = socket(lsa.ss_family, SOCK_STREAM, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(lfd, (struct sockaddr *)&lsa, llen) || listen(lfd, 16) || relay_nonblock(lfd)) {
        fprintf(stderr, "aidmesh-relay: cannot listen on %s: %s\n", listen_spec, strerror(errno));
        return 1;
    }
    printf("relay listening on %s, target %s, delay %llu ms each way\n", listen_spec, target_spec,
           (unsigned long long)delay);
    fflush(stdout);

    while (!relay_stop) {
        struct pollfd pfd[1 + 2 * RELAY_MAX_PAIRS];
        struct relay_pair *owner[1 + 2 * RELAY_MAX_PAIRS];
        int side[1 + 2 * RELAY_MAX_PAIRS];
        nfds_t n = 0;
        uint64_t now = relay_now_ms(), wake = UINT64_MAX;
        int timeout;

        pfd[n].fd = lfd;
        pfd[n].events = POLLIN;
        owner[n] = NULL;
        side[n++] = -1;
        for (int i = 0; i < RELAY_MAX_PAIRS; i++) {
            struct relay_pair *p = &relay_pairs[i];
            if (!p->used)
                continue;
            for (int s = 0; s < 2; s++) {
                struct relay_dir *in = &p->dir[s], *out = &p->dir[1 - s];
                short ev = 0;
                if (s == 1 && p->connecting) {
                    ev = POLLOUT; /* the connect completes */
                } else {
                    if (!in->eof && in->queued < RELAY_MAX_QUEUED)
                        ev |= POLLIN;
                    /* fd[s] receives direction 1-s once its head is due */
                    if (out->head && out->head->due_ms <= now)
                        ev |= POLLOUT;
                }
                if (out->head && out->head->due_ms > now && out->head->due_ms < wake)
                    wake = out->head->due_ms;
                pfd[n].fd = p->fd[s];
                pfd[n].events = ev;
                owner[n] = p;
                side[n++] = s;
            }
        }
        timeout = wake == UINT64_MAX ? 1000 : (int)(wake - now);
        if (poll(pfd, n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            perror("aidmesh-relay: poll");
            return 1;
        }
        if (pfd[0].revents & POLLIN)
            relay_accept(lfd, &tsa, tlen);
        for (nfds_t k = 1; k < n; k++) {
            struct relay_pair *p = owner[k];
            int s = side[k];
            if (!p->used || p->fd[s] != pfd[k].fd)
                continue; /* closed earlier in this round */
            if (s == 1 && p->connecting) {
                int err = 0;
                socklen_t el = sizeof err;
                if (!pfd[k].revents)
                    continue;
                getsockopt(p->fd[1], SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    relay_close(p, strerror(err));
                    continue;
                }
                p->connecting = 0;
                continue;
            }
            if (pfd[k].revents & POLLERR) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(p->fd[s], SOL_SOCKET, SO_ERROR, &err, &el);
                relay_close(p, err ? strerror(err) : "socket error");
                continue;
            }
            if (pfd[k].revents & (POLLIN | POLLHUP))
                relay_read(p, s, delay);
        }
        /* whatever is due goes out now (a full socket buffer just waits for POLLOUT) */
        now = relay_now_ms();
        for (int i = 0; i < RELAY_MAX_PAIRS; i++) {
            struct relay_pair *p = &relay_pairs[i];
            if (!p->used || p->connecting)
                continue;
            if (relay_write(p, 0, now) == 0)
                relay_write(p, 1, now);
        }
    }
    for (int i = 0; i < RELAY_MAX_PAIRS; i++) {
        struct relay_pair *p = &relay_pairs[i];
        if (p->used)
            relay_close(p, "relay stopping");
    }
    printf("relay stats: connections=%llu bytes_up=%llu bytes_down=%llu\n", relay_conns, relay_up,
           relay_down);
    fflush(stdout);
    close(lfd);
    return 0;
}
