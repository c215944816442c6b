/*
 * sync_bench.c: the sync engine's figures of aidmesh-bench (see bench_main.c): a full
 * sync of the ingest store into an empty one by two sync sessions, one per thread, over
 * one real TCP connection on 127.0.0.1; the raw loopback TCP ceiling on the same sockets;
 * the bytes of two reconnections of nodes holding 1,000 authors; with 10 of those keys
 * forked, the bytes of a reconnect in sync and of the first sync that finds the forks.
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

/* ---- forked keys: reconnect in sync, and the first sync that finds the forks ---------------- */

/* The entries of BENCH_FORK_AUTHORS authors, BENCH_FORKED of them forked: an author that
 * never forked signs one entry; a forked one a trunk of BENCH_FORK_TRUNK entries, then
 * 2 or 3 branches (alternately) of BENCH_FORK_BRANCH entries each, all parting from the
 * trunk's last entry. part[i]: 0 for the entries every node holds (unforked authors,
 * trunks), b for branch b (1..3). Listed part by part, each entry after its parent. */
struct fork_world {
    uint8_t *buf;
    const uint8_t **e;
    size_t *len;
    uint8_t *part;
    uint64_t n, used, cap;
};

static void fork_world_free(struct fork_world *w)
{
    free(w->buf);
    free(w->e);
    free(w->len);
    free(w->part);
    memset(w, 0, sizeof *w);
}

static int fork_branches(uint64_t forked_index)
{
    return forked_index % 2 ? 3 : 2;
}

/* Builds one entry of the world after prev (updated to its hash). */
static int fork_entry(struct fork_world *w, const uint8_t sk[static AM_SK_LEN], uint64_t seq,
                      uint8_t prev[static AM_HASH_LEN], struct hlc *clk, uint64_t a, uint64_t b,
                      uint8_t part)
{
    uint8_t op[BENCH_OP_LEN];
    size_t ol = bench_make_op(op, a, seq, b), len;
    struct entry e;
    int rc;

    if (w->n == w->cap)
        return AM_ELIMIT;
    rc = entry_build(w->buf + w->used, BENCH_ENTRY_SLOT, &len, sk, seq, prev,
                     hlc_tick(clk, node_wall_ms()), op, ol);
    if (rc == AM_OK)
        rc = entry_decode(&e, w->buf + w->used, len);
    if (rc != AM_OK)
        return rc;
    entry_hash(&e, prev);
    w->e[w->n] = w->buf + w->used;
    w->len[w->n] = len;
    w->part[w->n] = part;
    w->n++;
    w->used += BENCH_ENTRY_SLOT;
    return AM_OK;
}

static int fork_world_build(struct fork_world *w, uint64_t *logs)
{
    uint8_t sk[BENCH_FORKED][AM_SK_LEN], tip[BENCH_FORKED][AM_HASH_LEN];
    struct hlc clk[BENCH_FORKED];
    int rc = AM_OK;

    memset(w, 0, sizeof *w);
    w->cap = (BENCH_FORK_AUTHORS - BENCH_FORKED) +
             BENCH_FORKED * (BENCH_FORK_TRUNK + 3 * BENCH_FORK_BRANCH);
    w->buf = malloc(w->cap * BENCH_ENTRY_SLOT);
    w->e = malloc(w->cap * sizeof *w->e);
    w->len = malloc(w->cap * sizeof *w->len);
    w->part = malloc(w->cap);
    if (!w->buf || !w->e || !w->len || !w->part) {
        fork_world_free(w);
        return AM_ENOMEM;
    }
    memset(clk, 0, sizeof clk);
    *logs = BENCH_FORK_AUTHORS - BENCH_FORKED;
    /* part 0: the unforked authors' entries and the forked ones' trunks */
    for (uint64_t a = 0; a < BENCH_FORK_AUTHORS && rc == AM_OK; a++) {
        uint8_t pk[AM_PK_LEN], sk1[AM_SK_LEN], prev[AM_HASH_LEN] = {0};
        struct hlc c = {0};
        crypto_sign_keypair(pk, sk1);
        if (a < BENCH_FORKED) {
            for (uint64_t seq = 1; seq <= BENCH_FORK_TRUNK && rc == AM_OK; seq++)
                rc = fork_entry(w, sk1, seq, prev, &clk[a], a, 0, 0);
            memcpy(sk[a], sk1, AM_SK_LEN);
            memcpy(tip[a], prev, AM_HASH_LEN);
            *logs += 1 + (uint64_t)fork_branches(a); /* the trunk, ended by the split */
        } else {
            rc = fork_entry(w, sk1, 1, prev, &c, a, 0, 0);
        }
        sodium_memzero(sk1, sizeof sk1);
    }
    /* part b: branch b of every forked author, from the trunk's last entry */
    for (int b = 1; b <= 3 && rc == AM_OK; b++)
        for (uint64_t a = 0; a < BENCH_FORKED && rc == AM_OK; a++) {
            uint8_t prev[AM_HASH_LEN];
            if (b > fork_branches(a))
                continue;
            memcpy(prev, tip[a], AM_HASH_LEN);
            for (uint64_t i = 1; i <= BENCH_FORK_BRANCH && rc == AM_OK; i++)
                rc = fork_entry(w, sk[a], BENCH_FORK_TRUNK + i, prev, &clk[a], a, (uint64_t)b,
                                (uint8_t)b);
        }
    sodium_memzero(sk, sizeof sk);
    if (rc != AM_OK)
        fork_world_free(w);
    return rc;
}

/* Ingests the entries of the parts in `mask` (bit b: part b), one store_ingest per part.
 * *raw: their bytes. Every one must be added. */
static int fork_ingest(struct store *s, const struct fork_world *w, unsigned mask, uint64_t *raw)
{
    const uint8_t **e = malloc(w->n * sizeof *e);
    size_t *len = malloc(w->n * sizeof *len);
    struct store_ingest_stats is;
    int rc = AM_OK;

    *raw = 0;
    if (!e || !len) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (unsigned b = 0; b <= 3 && rc == AM_OK; b++) {
        size_t k = 0;
        if (!(mask & (1u << b)))
            continue;
        for (uint64_t i = 0; i < w->n; i++)
            if (w->part[i] == b) {
                e[k] = w->e[i];
                len[k++] = w->len[i];
                *raw += w->len[i];
            }
        if (k == 0)
            continue;
        if ((rc = store_ingest(s, e, len, k, node_wall_ms(), &is)) == AM_OK &&
            is.added + is.forks != k) {
            fprintf(stderr,
                    "aidmesh-bench: forked keys: ingest of part %u added %llu (+ %llu "
                    "first of a branch) of %zu entries (gap %llu, unlinked %llu, capped %llu)\n",
                    b, (unsigned long long)is.added, (unsigned long long)is.forks, k,
                    (unsigned long long)is.gap, (unsigned long long)is.unlinked,
                    (unsigned long long)is.capped);
            rc = AM_ECORRUPT;
        }
    }
out:
    free(e);
    free(len);
    return rc;
}

static int heads_digest_cb(void *ctx, const struct store_head *h)
{
    crypto_generichash_state *st = ctx;
    uint8_t seq[8];
    for (int i = 0; i < 8; i++)
        seq[i] = (uint8_t)(h->seq >> (56 - 8 * i));
    crypto_generichash_update(st, h->log, sizeof h->log);
    crypto_generichash_update(st, seq, sizeof seq);
    crypto_generichash_update(st, h->hash, sizeof h->hash);
    return 0;
}

/* A digest of every log's (id, seq, hash): equal on two stores that hold the same logs. */
static int heads_digest(struct store *s, uint8_t out[static 32])
{
    crypto_generichash_state st;
    int rc;
    crypto_generichash_init(&st, NULL, 0, 32);
    if ((rc = store_heads_each(s, heads_digest_cb, &st)) != AM_OK)
        return rc;
    crypto_generichash_final(&st, out, 32);
    return AM_OK;
}

/* Checks that s holds `logs` logs of which `forked` authors forked, and `entries` entries. */
static int fork_check(struct store *s, const char *who, uint64_t logs, uint64_t forked,
                      uint64_t entries)
{
    struct store_stats st;
    int rc = store_stats(s, &st);
    if (rc != AM_OK)
        return rc;
    if (st.logs != logs || st.forked != forked || st.entries != entries ||
        st.authors != BENCH_FORK_AUTHORS) {
        fprintf(stderr,
                "aidmesh-bench: forked keys: %s holds %llu logs, %llu forked authors, %llu "
                "entries of %llu authors; expected %llu, %llu, %llu of %d\n",
                who, (unsigned long long)st.logs, (unsigned long long)st.forked,
                (unsigned long long)st.entries, (unsigned long long)st.authors,
                (unsigned long long)logs, (unsigned long long)forked, (unsigned long long)entries,
                BENCH_FORK_AUTHORS);
        return AM_ECORRUPT;
    }
    return AM_OK;
}

int bench_fork_sync(const char *tmp, struct bench_fork_result *res)
{
    struct bench_peer p[4];
    struct fork_world w;
    struct sync_run r;
    uint8_t netkey[AM_NETKEY_LEN], dg[2][32];
    char path[4200];
    uint64_t raw, new_raw[2] = {0, 0}, new_n[2] = {0, 0}, all_n;
    int rc, opened = 0;

    memset(res, 0, sizeof *res);
    randombytes_buf(netkey, sizeof netkey);
    if ((rc = fork_world_build(&w, &res->logs)) != AM_OK)
        return rc;
    all_n = w.n;
    res->entries = w.n;
    for (; opened < 4; opened++) {
        snprintf(path, sizeof path, "%s/fork-%d", tmp, opened);
        if ((rc = bench_peer_open(&p[opened], path)) != AM_OK)
            goto out;
    }
    fprintf(stderr, "aidmesh-bench: forked keys: %d authors, %d forked (%llu logs, %llu entries)\n",
            BENCH_FORK_AUTHORS, BENCH_FORKED, (unsigned long long)res->logs,
            (unsigned long long)w.n);

    /* in sync: both stores ingested every entry, every branch */
    if ((rc = fork_ingest(p[0].st, &w, 0xf, &raw)) != AM_OK ||
        (rc = fork_ingest(p[1].st, &w, 0xf, &raw)) != AM_OK ||
        (rc = fork_check(p[0].st, "node A", res->logs, BENCH_FORKED, all_n)) != AM_OK ||
        (rc = fork_check(p[1].st, "node B", res->logs, BENCH_FORKED, all_n)) != AM_OK)
        goto out;
    for (int i = 0; i < 2; i++) { /* the first meeting, then the reconnect measured */
        if ((rc = sync_tcp(&p[0], &p[1], netkey, 60, 0, &r)) != AM_OK)
            goto out;
        if (r.st[0].entries_out || r.st[1].entries_out || r.st[0].added || r.st[1].added ||
            r.st[0].forks || r.st[1].forks) {
            fprintf(stderr,
                    "aidmesh-bench: forked keys: two nodes holding the same entries sent %llu "
                    "+ %llu entries (added %llu + %llu); expected none\n",
                    (unsigned long long)r.st[0].entries_out,
                    (unsigned long long)r.st[1].entries_out, (unsigned long long)r.st[0].added,
                    (unsigned long long)r.st[1].added);
            rc = AM_ECORRUPT;
            goto out;
        }
        res->insync_bytes[i] = r.st[0].bytes_out + r.st[1].bytes_out;
    }

    /* the forks found: C holds branch 1 of each forked key, D branches 2 (and 3) */
    if ((rc = fork_ingest(p[2].st, &w, 0x1, &raw)) != AM_OK ||
        (rc = fork_ingest(p[2].st, &w, 0x2, &new_raw[1])) != AM_OK ||
        (rc = fork_ingest(p[3].st, &w, 0x1, &raw)) != AM_OK ||
        (rc = fork_ingest(p[3].st, &w, 0xc, &new_raw[0])) != AM_OK)
        goto out;
    for (uint64_t i = 0; i < w.n; i++)
        if (w.part[i] == 1)
            new_n[1]++;
        else if (w.part[i] > 1)
            new_n[0]++;
    /* C responds, D dials: [0] is new to C (branches 2, 3), [1] new to D (branch 1) */
    if ((rc = sync_tcp(&p[2], &p[3], netkey, 60, 0, &r)) != AM_OK)
        goto out;
    /* a branch's first entry counts in forks, not in added */
    if (r.st[0].added + r.st[0].forks != new_n[0] || r.st[1].added + r.st[1].forks != new_n[1] ||
        (rc = fork_check(p[2].st, "node C", res->logs, BENCH_FORKED, all_n)) != AM_OK ||
        (rc = fork_check(p[3].st, "node D", res->logs, BENCH_FORKED, all_n)) != AM_OK ||
        (rc = heads_digest(p[2].st, dg[0])) != AM_OK ||
        (rc = heads_digest(p[3].st, dg[1])) != AM_OK || memcmp(dg[0], dg[1], 32) != 0) {
        fprintf(stderr,
                "aidmesh-bench: forked keys: the first sync added %llu to C and %llu to D; "
                "expected %llu and %llu, and the same logs on both\n",
                (unsigned long long)(r.st[0].added + r.st[0].forks),
                (unsigned long long)(r.st[1].added + r.st[1].forks), (unsigned long long)new_n[0],
                (unsigned long long)new_n[1]);
        rc = rc != AM_OK ? rc : AM_ECORRUPT;
        goto out;
    }
    res->find_new = new_n[0] + new_n[1];
    res->find_new_raw = new_raw[0] + new_raw[1];
    res->find_sent = r.st[0].entries_out + r.st[1].entries_out;
    res->find_dup = r.st[0].duplicate + r.st[1].duplicate;
    res->find_bytes = r.st[0].bytes_out + r.st[1].bytes_out;
    res->find_summary = r.st[0].summary_out + r.st[1].summary_out;
    res->find_secs = r.secs;
    /* and the two reconnect in sync afterwards */
    if ((rc = sync_tcp(&p[2], &p[3], netkey, 60, 0, &r)) != AM_OK)
        goto out;
    if (r.st[0].entries_out || r.st[1].entries_out) {
        fprintf(stderr, "aidmesh-bench: forked keys: C and D still sent %llu + %llu entries\n",
                (unsigned long long)r.st[0].entries_out, (unsigned long long)r.st[1].entries_out);
        rc = AM_ECORRUPT;
        goto out;
    }
    res->after_bytes = r.st[0].bytes_out + r.st[1].bytes_out;
    fprintf(stderr,
            "aidmesh-bench: forked keys: reconnect in sync %llu bytes (first meeting %llu); "
            "finding the forks: %llu entries sent (%llu already held) for %llu new, %llu bytes "
            "(summaries %llu) "
            "for %llu raw; in sync afterwards %llu bytes\n",
            (unsigned long long)res->insync_bytes[1], (unsigned long long)res->insync_bytes[0],
            (unsigned long long)res->find_sent, (unsigned long long)res->find_dup,
            (unsigned long long)res->find_new, (unsigned long long)res->find_bytes,
            (unsigned long long)res->find_summary, (unsigned long long)res->find_new_raw,
            (unsigned long long)res->after_bytes);
out:
    while (opened > 0)
        bench_peer_close(&p[--opened]);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/fork-%d", tmp, i);
        bench_rm_tree(path);
    }
    fork_world_free(&w);
    sodium_memzero(netkey, sizeof netkey);
    return rc;
}
