/*
 * sync_bench.c: the sync engine's figures of aidmesh-bench (see bench_main.c): a full
 * sync of the ingest store into an empty one by two sync sessions, one per thread, over
 * one real TCP connection on 127.0.0.1; the raw loopback TCP ceiling on the same sockets;
 * the bytes of two reconnections of nodes holding 1,000 authors.
 *
 * Never starts a daemon; binds only 127.0.0.1; every session is freed and every socket
 * closed before a function returns (unless the caller asked to keep the sockets).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "bench_parts.h"
#include "bench_report.h"
#include "bench_util.h"
#include "cli.h"
#include "hlc.h"

int bench_peer_open(struct bench_peer *p, const char *dir)
{
    int rc;
    memset(p, 0, sizeof *p);
    if ((rc = store_open(&p->st, dir, NULL)) != AM_OK)
        return rc;
    syncstore_init(&p->ss, p->st);
    store_install_id(p->st, p->install, NULL);
    crypto_sign_keypair(p->pk, p->sk);
    return AM_OK;
}

void bench_peer_close(struct bench_peer *p)
{
    store_close(p->st);
    p->st = NULL;
    sodium_memzero(p->sk, sizeof p->sk);
}

static uint64_t mono_ms(void)
{
    return (uint64_t)(bench_now_s() * 1000.0);
}

/* A connected pair of TCP sockets on 127.0.0.1 (ephemeral port), both non-blocking with
 * TCP_NODELAY as the daemon sets it: fd[0] accepted (the responder), fd[1] connected
 * (the initiator). Returns AM_OK or AM_ESYS. */
static int tcp_pair(int fd[2])
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int lfd, one = 1, rc = AM_ESYS;

    fd[0] = fd[1] = -1;
    if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return AM_ESYS;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
        goto out;
    if ((fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd[1], (struct sockaddr *)&sa, sizeof sa) != 0 ||
        (fd[0] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
        goto out;
    for (int i = 0; i < 2; i++)
        if (setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
            fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK) != 0)
            goto out;
    rc = AM_OK;
out:
    close(lfd);
    if (rc != AM_OK) {
        for (int i = 0; i < 2; i++)
            if (fd[i] >= 0)
                close(fd[i]);
        fd[0] = fd[1] = -1;
    }
    return rc;
}

#define BENCH_RBUF (256u * 1024) /* one read() per poll() */

/* The thread: poll -> read -> sync_feed -> write sync_output -> sync_output_done, until
 * both sessions report SYNC_IN_SYNC and this side has nothing left to send. */
void *bench_side_run(void *arg)
{
    struct bench_side *sd = arg;
    struct bench_link *l = sd->l;
    uint8_t *rbuf = malloc(BENCH_RBUF);
    struct sync_config cfg = {
        .initiator = sd->initiator,
        .netkey = l->netkey,
        .sk = sd->p->sk,
        .install_id = sd->p->install,
        .store = &sd->p->ss,
        .now_ms = mono_ms(),
    };
    int rc;

    memset(&sd->sess, 0, sizeof sd->sess);
    if (!rbuf) {
        rc = AM_ENOMEM;
        goto out;
    }
    if ((rc = sync_init(&sd->sess, &cfg)) != AM_OK)
        goto out;
    for (;;) {
        unsigned st = sync_state(&sd->sess);
        struct pollfd pfd;
        size_t n;
        uint64_t now;

        sync_output(&sd->sess, &n);
        if (st & SYNC_CLOSED) {
            rc = sync_error(&sd->sess) ? sync_error(&sd->sess) : AM_EPEER;
            break;
        }
        if ((st & SYNC_IN_SYNC) && sd->t_in_sync == 0) {
            sd->t_in_sync = bench_now_s();
            atomic_fetch_or(&l->in_sync, sd->bit);
        }
        if (atomic_load(&l->in_sync) == 3u && n == 0)
            break;
        if (atomic_load(&l->stop)) {
            rc = AM_EPEER;
            break;
        }
        if (bench_now_s() > l->deadline) {
            rc = AM_ETIMEOUT;
            break;
        }
        pfd.fd = sd->fd;
        pfd.events = (short)(POLLIN | (n ? POLLOUT : 0));
        pfd.revents = 0;
        if (poll(&pfd, 1, 5) < 0) {
            if (errno == EINTR)
                continue;
            rc = AM_ESYS;
            break;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = read(sd->fd, rbuf, BENCH_RBUF);
            if (r > 0) {
                sync_feed(&sd->sess, rbuf, (size_t)r); /* an error shows in sync_state */
            } else if (r == 0) {
                if (atomic_load(&l->in_sync) == 3u)
                    break;
                rc = AM_EPEER;
                break;
            } else if (errno != EAGAIN && errno != EINTR) {
                rc = AM_ESYS;
                break;
            }
        }
        if (pfd.revents & POLLOUT) {
            const uint8_t *out = sync_output(&sd->sess, &n);
            if (n) {
                ssize_t w = send(sd->fd, out, n, MSG_NOSIGNAL);
                if (w > 0) {
                    sync_output_done(&sd->sess, (size_t)w);
                    sd->wire_out += (uint64_t)w;
                } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    rc = AM_ESYS;
                    break;
                }
            }
        }
        now = mono_ms();
        if (now >= sync_next_deadline(&sd->sess))
            sync_tick(&sd->sess, now);
    }
out:
    if (rc != AM_OK)
        atomic_store(&l->stop, 1);
    sd->stats = *sync_stats(&sd->sess);
    sync_free(&sd->sess);
    free(rbuf);
    sd->rc = rc;
    return NULL;
}

struct sync_run {
    double secs;             /* from the connection to both sides in sync */
    uint64_t wire;           /* bytes both ways */
    struct sync_stats st[2]; /* [0] responder, [1] initiator */
    int fd[2];               /* the sockets, if kept */
};

/* One sync between `resp` and `init` (who dials) over a fresh loopback TCP connection,
 * one thread per side. With keep, the sockets stay open in r->fd for the caller to close;
 * otherwise they are closed. Returns AM_OK or the error that ended a session. */
static int sync_tcp(struct bench_peer *resp, struct bench_peer *init, const uint8_t *netkey,
                    double timeout_s, int keep, struct sync_run *r)
{
    struct bench_link l;
    struct bench_side *sd = calloc(2, sizeof *sd);
    pthread_t th[2];
    int started = 0, rc;
    double t0;

    memset(r, 0, sizeof *r);
    r->fd[0] = r->fd[1] = -1;
    if (!sd)
        return AM_ENOMEM;
    if ((rc = tcp_pair(r->fd)) != AM_OK) {
        fprintf(stderr, "aidmesh-bench: loopback TCP connection: %s\n", strerror(errno));
        free(sd);
        return rc;
    }
    atomic_init(&l.in_sync, 0u);
    atomic_init(&l.stop, 0);
    l.netkey = netkey;
    t0 = bench_now_s();
    l.deadline = t0 + timeout_s;
    for (int i = 0; i < 2; i++) {
        sd[i].l = &l;
        sd[i].p = i ? init : resp;
        sd[i].fd = r->fd[i];
        sd[i].initiator = i;
        sd[i].bit = 1u << i;
        if (pthread_create(&th[i], NULL, bench_side_run, &sd[i]) != 0) {
            atomic_store(&l.stop, 1);
            rc = AM_ESYS;
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < started && rc == AM_OK; i++)
        if (sd[i].rc != AM_OK)
            rc = sd[i].rc;
    if (rc == AM_OK) {
        r->secs = (sd[0].t_in_sync > sd[1].t_in_sync ? sd[0].t_in_sync : sd[1].t_in_sync) - t0;
        r->wire = sd[0].wire_out + sd[1].wire_out;
        r->st[0] = sd[0].stats;
        r->st[1] = sd[1].stats;
    } else {
        fprintf(stderr, "aidmesh-bench: sync over loopback: responder %s, initiator %s\n",
                am_strerror(sd[0].rc), am_strerror(sd[1].rc));
    }
    if (!keep || rc != AM_OK)
        for (int i = 0; i < 2; i++) {
            close(r->fd[i]);
            r->fd[i] = -1;
        }
    free(sd);
    return rc;
}

struct pusher {
    int fd;
    uint64_t bytes;
    int rc;
};

/* Writes p->bytes of junk to p->fd (blocking). */
static void *push_run(void *arg)
{
    struct pusher *p = arg;
    uint8_t *buf = malloc(BENCH_RBUF);
    uint64_t left = p->bytes;

    p->rc = AM_OK;
    if (!buf) {
        p->rc = AM_ENOMEM;
        return NULL;
    }
    memset(buf, 0x5a, BENCH_RBUF);
    while (left > 0) {
        ssize_t w = send(p->fd, buf, left < BENCH_RBUF ? (size_t)left : BENCH_RBUF, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            p->rc = AM_ESYS;
            break;
        }
        left -= (uint64_t)w;
    }
    free(buf);
    return NULL;
}

/* The TCP ceiling: `bytes` pushed from fd[0] to fd[1] (made blocking) by two threads, in
 * MB/s (10^6). Returns AM_OK, AM_ESYS or AM_ENOMEM. */
static int tcp_ceiling(const int fd[2], uint64_t bytes, double *mbps)
{
    struct pusher p = {fd[0], bytes, AM_OK};
    uint8_t *buf = malloc(BENCH_RBUF);
    uint64_t got = 0;
    pthread_t th;
    double t0;
    int rc = AM_OK;

    if (!buf)
        return AM_ENOMEM;
    for (int i = 0; i < 2; i++)
        if (fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) & ~O_NONBLOCK) != 0) {
            free(buf);
            return AM_ESYS;
        }
    t0 = bench_now_s();
    if (pthread_create(&th, NULL, push_run, &p) != 0) {
        free(buf);
        return AM_ESYS;
    }
    while (got < bytes) {
        ssize_t r = read(fd[1], buf, BENCH_RBUF);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = AM_ESYS;
            shutdown(fd[1], SHUT_RDWR); /* unblocks the pusher */
            break;
        }
        got += (uint64_t)r;
    }
    pthread_join(th, NULL);
    if (rc == AM_OK)
        rc = p.rc;
    *mbps = (double)bytes / (bench_now_s() - t0) / 1e6;
    free(buf);
    return rc;
}

/* Fills `s` with one entry by each of `authors` fresh authors, in one ingest; the secret key
 * of the first author goes to sk0 (for a later append). */
static int fill_authors(struct store *s, uint64_t authors, uint8_t sk0[static AM_SK_LEN])
{
    uint8_t *buf = malloc(authors * BENCH_ENTRY_SLOT);
    const uint8_t **p = malloc(authors * sizeof *p);
    size_t *l = malloc(authors * sizeof *l);
    uint8_t op[BENCH_OP_LEN], prev[AM_HASH_LEN] = {0};
    uint64_t wall = node_wall_ms();
    struct store_ingest_stats is;
    int rc = AM_OK;

    if (!buf || !p || !l) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (uint64_t a = 0; a < authors; a++) {
        uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
        size_t ol = bench_make_op(op, a, 1, 1);
        crypto_sign_keypair(pk, sk);
        p[a] = buf + a * BENCH_ENTRY_SLOT;
        rc = entry_build(buf + a * BENCH_ENTRY_SLOT, BENCH_ENTRY_SLOT, &l[a], sk, 1, prev,
                         hlc_pack(wall, 0), op, ol);
        if (a == 0)
            memcpy(sk0, sk, AM_SK_LEN);
        sodium_memzero(sk, sizeof sk);
        if (rc != AM_OK)
            goto out;
    }
    for (uint64_t at = 0; at < authors;) {
        size_t k = authors - at < AM_INGEST_BATCH_MAX ? (size_t)(authors - at)
                                                      : (size_t)AM_INGEST_BATCH_MAX;
        if ((rc = store_ingest(s, p + at, l + at, k, wall, &is)) != AM_OK)
            goto out;
        if (is.added != k) {
            rc = AM_ECORRUPT;
            goto out;
        }
        at += k;
    }
out:
    free(buf);
    free(p);
    free(l);
    return rc;
}

#define BENCH_RECON_AUTHORS 1000

/* Figures 1-3: full sync of the ingest store `src_dir` (n entries of `authors`) into an
 * empty store, the TCP ceiling on the same sockets, and two reconnections of nodes with
 * 1,000 authors. Temporary stores go under tmp. */
int bench_net_sync(const char *tmp, const char *src_dir, uint64_t n, uint64_t authors,
                   struct bench_net_result *res)
{
    struct bench_peer a, b, c, d;
    struct sync_run r;
    struct store_stats st;
    uint8_t netkey[AM_NETKEY_LEN], sk0[AM_SK_LEN];
    char path[4200];
    int rc, open_a = 0, open_b = 0, open_c = 0, open_d = 0;

    memset(res, 0, sizeof *res);
    randombytes_buf(netkey, sizeof netkey);
    r.fd[0] = r.fd[1] = -1;
    if ((rc = bench_peer_open(&a, src_dir)) != AM_OK)
        goto out;
    open_a = 1;
    snprintf(path, sizeof path, "%s/sync-empty", tmp);
    if ((rc = bench_peer_open(&b, path)) != AM_OK)
        goto out;
    open_b = 1;
    fprintf(stderr, "aidmesh-bench: full sync over loopback TCP: %llu entries\n",
            (unsigned long long)n);
    if ((rc = sync_tcp(&a, &b, netkey, BENCH_SYNC_TIMEOUT_S, 1, &r)) != AM_OK)
        goto out;
    if ((rc = store_stats(b.st, &st)) != AM_OK)
        goto out;
    if (st.entries != n || st.authors != authors || r.st[1].added != n) {
        fprintf(stderr,
                "aidmesh-bench: after the sync the empty node holds %llu entries of %llu "
                "authors (added %llu); expected %llu of %llu\n",
                (unsigned long long)st.entries, (unsigned long long)st.authors,
                (unsigned long long)r.st[1].added, (unsigned long long)n,
                (unsigned long long)authors);
        rc = AM_ECORRUPT;
        goto out;
    }
    res->sync_secs = r.secs;
    res->sync_rate = (double)n / r.secs;
    res->sync_wire = r.wire;
    res->wire_per = (double)r.wire / (double)n;
    fprintf(stderr,
            "aidmesh-bench: synced in %.2f s; wire %llu bytes (responder sent %llu, initiator "
            "%llu; summaries %llu + %llu); TCP ceiling on the same sockets\n",
            r.secs, (unsigned long long)r.wire, (unsigned long long)r.st[0].bytes_out,
            (unsigned long long)r.st[1].bytes_out, (unsigned long long)r.st[0].summary_out,
            (unsigned long long)r.st[1].summary_out);
    rc = tcp_ceiling(r.fd, r.wire, &res->tcp_mbps);
    for (int i = 0; i < 2; i++) {
        close(r.fd[i]);
        r.fd[i] = -1;
    }
    if (rc != AM_OK)
        goto out;
    bench_peer_close(&b);
    open_b = 0;
    bench_peer_close(&a);
    open_a = 0; /* sync-empty now holds every entry: the startup figure's in-sync peer */

    fprintf(stderr, "aidmesh-bench: reconnections: two nodes of %d authors\n", BENCH_RECON_AUTHORS);
    snprintf(path, sizeof path, "%s/recon-a", tmp);
    if ((rc = bench_peer_open(&c, path)) != AM_OK)
        goto out;
    open_c = 1;
    snprintf(path, sizeof path, "%s/recon-b", tmp);
    if ((rc = bench_peer_open(&d, path)) != AM_OK)
        goto out;
    open_d = 1;
    if ((rc = fill_authors(c.st, BENCH_RECON_AUTHORS, sk0)) != AM_OK ||
        (rc = sync_tcp(&c, &d, netkey, 60, 0, &r)) != AM_OK)
        goto out;
    /* in sync: the preambles and the handshake */
    if ((rc = sync_tcp(&c, &d, netkey, 60, 0, &r)) != AM_OK)
        goto out;
    res->reconnect_bytes = r.st[0].bytes_out + r.st[1].bytes_out;
    /* one author appends one entry */
    {
        uint8_t op[BENCH_OP_LEN];
        const uint8_t *ops[1] = {op};
        size_t lens[1] = {bench_make_op(op, 0, 2, 2)};
        if ((rc = store_append(c.st, sk0, ops, lens, 1, node_wall_ms(), NULL)) != AM_OK)
            goto out;
    }
    if ((rc = sync_tcp(&c, &d, netkey, 60, 0, &r)) != AM_OK)
        goto out;
    if (r.st[0].entries_out != 1 || r.st[1].added != 1) {
        fprintf(stderr,
                "aidmesh-bench: after one append the reconnection sent %llu entries and "
                "added %llu; expected 1 and 1\n",
                (unsigned long long)r.st[0].entries_out, (unsigned long long)r.st[1].added);
        rc = AM_ECORRUPT;
        goto out;
    }
    res->one_change_summary = r.st[0].summary_out + r.st[1].summary_out;
    res->one_change_total = r.st[0].bytes_out + r.st[1].bytes_out;
    fprintf(stderr,
            "aidmesh-bench: reconnect in sync: %llu bytes; after one append: summaries %llu "
            "bytes, %llu in all\n",
            (unsigned long long)res->reconnect_bytes, (unsigned long long)res->one_change_summary,
            (unsigned long long)res->one_change_total);
out:
    for (int i = 0; i < 2; i++)
        if (r.fd[i] >= 0)
            close(r.fd[i]);
    if (open_a)
        bench_peer_close(&a);
    if (open_b)
        bench_peer_close(&b);
    if (open_c)
        bench_peer_close(&c);
    if (open_d)
        bench_peer_close(&d);
    sodium_memzero(sk0, sizeof sk0);
    sodium_memzero(netkey, sizeof netkey);
    return rc;
}
