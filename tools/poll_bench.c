/*
 * poll_bench.c: phones polling a node's web app, for aidmesh-bench (bench_poll_start,
 * bench_poll_stop, declared in bench_parts.h). Each phone asks for GET /needs?status=open
 * once per period, the phones' turns spread evenly over the period, over a new loopback
 * connection each time (as a phone that wakes up, asks and sleeps). A few threads share
 * the phones; each waits for the next phone's turn, sends the request, reads the answer to
 * its end and checks its status line. Only this process's own requests to 127.0.0.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "am_err.h"
#include "bench_parts.h"

static void *poll_thread(void *arg);

/* One request of one phone; 1 when the answer was "200". */
static int poll_once(uint16_t port, size_t *bytes)
{
    struct sockaddr_in a;
    struct timeval tv = {5, 0};
    char req[160], buf[16384], head[16] = "";
    size_t got = 0;
    ssize_t r;
    int fd = socket(AF_INET, SOCK_STREAM, 0), n;

    if (fd < 0)
        return 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    n = snprintf(req, sizeof req,
                 "GET /needs?status=open HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: "
                 "close\r\n\r\n",
                 port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || send(fd, req, (size_t)n, 0) != n) {
        close(fd);
        return 0;
    }
    while ((r = recv(fd, buf, sizeof buf, 0)) > 0) {
        if (got < sizeof head - 1) {
            size_t c = sizeof head - 1 - got < (size_t)r ? sizeof head - 1 - got : (size_t)r;
            memcpy(head + got, buf, c);
        }
        got += (size_t)r;
    }
    close(fd);
    *bytes += got;
    return r == 0 && strncmp(head, "HTTP/1.1 200", 12) == 0;
}

int bench_poll_start(struct bench_poll *p, uint16_t port, int phones, double period_s)
{
    memset(p, 0, sizeof *p);
    p->port = port;
    p->phones = phones;
    p->period_s = period_s;
    p->t0 = bench_now_s();
    atomic_store(&p->stop, 0);
    for (int i = 0; i < BENCH_POLL_THREADS; i++) {
        p->th[i].p = p;
        p->th[i].id = i;
        if (pthread_create(&p->th[i].tid, NULL, poll_thread, &p->th[i]) != 0) {
            atomic_store(&p->stop, 1);
            for (int j = 0; j < i; j++)
                pthread_join(p->th[j].tid, NULL);
            return AM_ESYS;
        }
    }
    return AM_OK;
}

/* Thread t serves the phones t, t + THREADS, ...: phone i's turns are at
 * t0 + (i / phones + m) * period for m = 0, 1, ... */
static void *poll_thread(void *arg)
{
    struct bench_poll_thread *t = arg;
    struct bench_poll *p = t->p;
    uint64_t m = 0;

    for (;;) {
        for (int i = t->id; i < p->phones; i += BENCH_POLL_THREADS) {
            double due = p->t0 + ((double)i / p->phones + (double)m) * p->period_s, now;
            while ((now = bench_now_s()) < due) {
                if (atomic_load(&p->stop))
                    return NULL;
                bench_sleep_ms(due - now > 0.01 ? 10 : 1);
            }
            if (atomic_load(&p->stop))
                return NULL;
            {
                double t0 = bench_now_s();
                int ok = poll_once(p->port, &t->bytes);
                double ms = (bench_now_s() - t0) * 1000.0;
                t->requests++;
                t->failed += !ok;
                if (t->n_ms < BENCH_POLL_MS_MAX)
                    t->ms[t->n_ms++] = ms;
            }
        }
        m++;
    }
}

void bench_poll_stop(struct bench_poll *p, struct bench_poll_result *r)
{
    size_t n = 0;
    double *all;

    atomic_store(&p->stop, 1);
    memset(r, 0, sizeof *r);
    for (int i = 0; i < BENCH_POLL_THREADS; i++)
        pthread_join(p->th[i].tid, NULL);
    r->seconds = bench_now_s() - p->t0;
    for (int i = 0; i < BENCH_POLL_THREADS; i++) {
        r->requests += p->th[i].requests;
        r->failed += p->th[i].failed;
        r->bytes += p->th[i].bytes;
        n += p->th[i].n_ms;
    }
    if (!n || !(all = malloc(n * sizeof *all)))
        return;
    n = 0;
    for (int i = 0; i < BENCH_POLL_THREADS; i++) {
        memcpy(all + n, p->th[i].ms, p->th[i].n_ms * sizeof *all);
        n += p->th[i].n_ms;
    }
    qsort(all, n, sizeof *all, bench_cmp_double);
    r->p50_ms = all[(n + 1) / 2 - 1];
    r->p95_ms = all[(95 * n + 99) / 100 - 1];
    free(all);
}
