/*
 * uv_dial_test.c: the TCP dial adapter (transport/uv_dial.c) on a real loop and loopback
 * sockets: a listening socket answers (by name and by address), a bound socket that does
 * not listen refuses, a service name that does not exist fails to resolve (no DNS: the
 * host is numeric), the deadline passes while resolving (the only resolver thread is held
 * busy, deterministically) and while connecting (a listener whose accept queue is full
 * drops new SYNs; skipped if this kernel answers them anyway), a socket refused by the
 * caller, and dials abandoned while resolving, while connecting and from on_socket. Every
 * test ends with uv_loop_close() succeeding (no handle or request left) and, under ASan,
 * no leak.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "uv_dial.h"

#define WAIT_MS 10000 /* any condition a test waits for comes well before this */

struct ctx {
    uv_loop_t loop;
    uv_tcp_t sock; /* the socket on_socket gives */
    int sock_open;
    int sockets; /* on_socket calls */
    int fail_socket, cancel_in_socket;
    int in_call; /* inside uv_dial_*() */
    int done;    /* on_done calls */
    int done_in_call;
    int status;
    const char *reason;
    int tcp_was_ours;
    struct sockaddr_storage addr; /* dl->addr at on_done */
    /* the listener and what it accepted */
    uv_tcp_t srv, peer;
    int srv_open, peer_open, accepted;
    /* the resolver thread, held busy */
    uv_work_t work;
    uv_sem_t sem;
    int blocked, work_done;
    int closed;
};

static struct ctx C;

static void setup(void)
{
    memset(&C, 0, sizeof C);
    /* one resolver thread, so a held one delays every resolution (read at first use) */
    cr_assert(setenv("UV_THREADPOOL_SIZE", "1", 1) == 0);
    cr_assert(uv_loop_init(&C.loop) == 0);
}

TestSuite(uv_dial, .init = setup);

static uv_tcp_t *on_socket(struct uv_dial *dl, const struct sockaddr *sa)
{
    struct ctx *c = dl->data;
    cr_assert(sa->sa_family == AF_INET);
    cr_assert(memcmp(sa, &dl->addr, sizeof(struct sockaddr_in)) == 0);
    c->sockets++;
    if (c->cancel_in_socket) {
        uv_dial_cancel(dl);
        return NULL;
    }
    if (c->fail_socket)
        return NULL;
    cr_assert(uv_tcp_init(&c->loop, &c->sock) == 0);
    c->sock_open = 1;
    return &c->sock;
}

static void on_done(struct uv_dial *dl, int status, const char *reason)
{
    struct ctx *c = dl->data;
    c->done++;
    c->done_in_call |= c->in_call;
    c->status = status;
    c->reason = reason;
    c->tcp_was_ours = dl->tcp == &c->sock && c->sock_open;
    cr_assert(!dl->tcp || c->tcp_was_ours);
    memcpy(&c->addr, &dl->addr, sizeof c->addr);
    uv_dial_cancel(dl); /* does nothing here */
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
    C.closed = 1;
}

static void on_guard(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until *flag is set; fails the test after WAIT_MS. */
static void run_until(const int *flag)
{
    uv_timer_t guard;
    int expired = 0;
    uv_timer_init(&C.loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, on_guard, WAIT_MS, 0);
    while (!*flag && !expired)
        uv_run(&C.loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&C.loop, UV_RUN_NOWAIT);
    cr_assert(*flag, "waited %d ms in vain", WAIT_MS);
}

/* Closes what the test opened, lets every callback run, and checks nothing is left. */
static void finish(void)
{
    if (C.blocked && !C.work_done)
        uv_sem_post(&C.sem);
    if (C.sock_open)
        uv_close((uv_handle_t *)&C.sock, NULL);
    if (C.peer_open)
        uv_close((uv_handle_t *)&C.peer, NULL);
    if (C.srv_open)
        uv_close((uv_handle_t *)&C.srv, NULL);
    uv_run(&C.loop, UV_RUN_DEFAULT);
    cr_assert(uv_loop_close(&C.loop) == 0, "a handle or a request of the dial is left");
    if (C.blocked)
        uv_sem_destroy(&C.sem);
}

static void on_accept(uv_stream_t *s, int status)
{
    cr_assert(status == 0);
    cr_assert(!C.peer_open);
    cr_assert(uv_tcp_init(&C.loop, &C.peer) == 0);
    C.peer_open = 1;
    cr_assert(uv_accept(s, (uv_stream_t *)&C.peer) == 0);
    C.accepted = 1;
}

/* The listener (or, listen 0, a socket bound but not listening) on 127.0.0.1; its port. */
static int server(int listen)
{
    struct sockaddr_in a;
    int len = sizeof a;
    cr_assert(uv_ip4_addr("127.0.0.1", 0, &a) == 0);
    cr_assert(uv_tcp_init(&C.loop, &C.srv) == 0);
    C.srv_open = 1;
    cr_assert(uv_tcp_bind(&C.srv, (const struct sockaddr *)&a, 0) == 0);
    if (listen)
        cr_assert(uv_listen((uv_stream_t *)&C.srv, 8, on_accept) == 0);
    cr_assert(uv_tcp_getsockname(&C.srv, (struct sockaddr *)&a, &len) == 0);
    return ntohs(a.sin_port);
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a;
    cr_assert(uv_ip4_addr("127.0.0.1", port, &a) == 0);
    return a;
}

static void dial_name(const char *host, const char *port, uint32_t deadline_ms)
{
    struct uv_dial *dl = NULL;
    C.in_call = 1;
    cr_assert(uv_dial_name(&dl, &C.loop, host, port, deadline_ms, on_socket, on_done, &C) == 0);
    C.in_call = 0;
    cr_assert(dl && dl->data == &C);
}

static struct uv_dial *dial_addr(int port, uint32_t deadline_ms)
{
    struct uv_dial *dl = NULL;
    struct sockaddr_in a = loopback(port);
    C.in_call = 1;
    cr_assert(uv_dial_sockaddr(&dl, &C.loop, (const struct sockaddr *)&a, deadline_ms, on_socket,
                               on_done, &C) == 0);
    C.in_call = 0;
    return dl;
}

static void on_work(uv_work_t *w)
{
    (void)w;
    uv_sem_wait(&C.sem);
}

static void after_work(uv_work_t *w, int status)
{
    (void)w;
    cr_assert(status == 0);
    C.work_done = 1;
}

/* Holds the only resolver thread until finish(). */
static void block_resolver(void)
{
    cr_assert(uv_sem_init(&C.sem, 0) == 0);
    C.blocked = 1;
    cr_assert(uv_queue_work(&C.loop, &C.work, on_work, after_work) == 0);
}

static void assert_failed(int status, const char *reason)
{
    cr_assert(C.done == 1);
    cr_assert(!C.done_in_call, "on_done was called from inside uv_dial_*()");
    cr_assert(C.status == status, "status %d (%s), expected %d", C.status, uv_strerror(C.status),
              status);
    cr_assert_str_eq(C.reason, reason);
}

Test(uv_dial, connects_by_name_and_by_address)
{
    char port[8];
    int p = server(1);
    snprintf(port, sizeof port, "%d", p);
    dial_name("127.0.0.1", port, 5000);
    cr_assert(C.sockets == 0, "a name gets its socket once resolved, from the loop");
    run_until(&C.done);
    cr_assert(C.done == 1 && C.status == 0 && C.reason == NULL);
    cr_assert(C.tcp_was_ours && C.sockets == 1);
    cr_assert(C.addr.ss_family == AF_INET);
    cr_assert(ntohs(((struct sockaddr_in *)&C.addr)->sin_port) == p);
    run_until(&C.accepted);

    /* again by address, on a fresh socket */
    uv_close((uv_handle_t *)&C.sock, on_closed);
    uv_close((uv_handle_t *)&C.peer, on_closed);
    C.sock_open = C.peer_open = C.accepted = C.done = 0;
    run_until(&C.closed);
    dial_addr(p, 0);
    cr_assert(C.sockets == 2, "an address gets its socket inside the call");
    run_until(&C.done);
    cr_assert(C.done == 1 && C.status == 0 && C.tcp_was_ours && !C.done_in_call);
    run_until(&C.accepted);
    finish();
}

Test(uv_dial, refused)
{
    char port[8];
    snprintf(port, sizeof port, "%d", server(0)); /* bound, not listening: answers RST */
    dial_name("127.0.0.1", port, 5000);
    run_until(&C.done);
    assert_failed(UV_ECONNREFUSED, uv_strerror(UV_ECONNREFUSED));
    cr_assert(C.tcp_was_ours, "the socket is the caller's to close");
    finish();
}

Test(uv_dial, name_that_does_not_resolve)
{
    /* numeric host, unknown service: the resolver fails without asking the network */
    dial_name("127.0.0.1", "no-such-service-aidmesh", 5000);
    run_until(&C.done);
    cr_assert(C.done == 1 && C.status < 0, "status %d", C.status);
    cr_assert(C.status != UV_ETIMEDOUT);
    cr_assert_str_eq(C.reason, "cannot resolve the name");
    cr_assert(C.sockets == 0 && !C.tcp_was_ours && C.addr.ss_family == AF_UNSPEC);
    finish();
}

Test(uv_dial, deadline_while_resolving)
{
    block_resolver();
    dial_name("127.0.0.1", "9", 50);
    run_until(&C.done);
    assert_failed(UV_ETIMEDOUT, "no answer in time");
    cr_assert(C.sockets == 0 && C.addr.ss_family == AF_UNSPEC);
    finish(); /* the cancelled resolution comes back, then the dial is freed */
}

/* Fills the accept queue of a listener (backlog 0) on 127.0.0.1 with plain sockets until
 * one stays unanswered: its port, or 0 if none did. fds[] gets the clients (-1 unused). */
static int full_listener(int *lfd, int fds[16])
{
    struct sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    for (int i = 0; i < 16; i++)
        fds[i] = -1;
    cr_assert((*lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    cr_assert(bind(*lfd, (struct sockaddr *)&a, sizeof a) == 0);
    cr_assert(listen(*lfd, 0) == 0);
    cr_assert(getsockname(*lfd, (struct sockaddr *)&a, &len) == 0);
    for (int i = 0; i < 16; i++) {
        struct pollfd p;
        cr_assert((fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) >= 0);
        if (connect(fds[i], (struct sockaddr *)&a, sizeof a) == 0)
            continue;
        cr_assert(errno == EINPROGRESS);
        p.fd = fds[i];
        p.events = POLLOUT;
        if (poll(&p, 1, 300) == 0)
            return ntohs(a.sin_port); /* its SYN was dropped: the queue is full */
    }
    return 0;
}

static void close_fds(int lfd, int fds[16])
{
    for (int i = 0; i < 16; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    close(lfd);
}

Test(uv_dial, deadline_while_connecting)
{
    int lfd, fds[16], port = full_listener(&lfd, fds);
    uint64_t t0;
    if (!port) {
        close_fds(lfd, fds);
        finish();
        cr_skip_test("this kernel answers SYNs to a full accept queue: no stalled connect");
    }
    uv_update_time(&C.loop);
    t0 = uv_now(&C.loop);
    dial_addr(port, 200);
    run_until(&C.done);
    assert_failed(UV_ETIMEDOUT, "no answer in time");
    cr_assert(C.tcp_was_ours, "the stalled socket is the caller's to close");
    cr_assert(uv_now(&C.loop) - t0 >= 190, "after %llu ms",
              (unsigned long long)(uv_now(&C.loop) - t0));
    finish(); /* closing the socket ends the connect request, then the dial is freed */
    close_fds(lfd, fds);
}

Test(uv_dial, caller_gives_no_socket)
{
    C.fail_socket = 1;
    dial_addr(server(1), 5000);
    run_until(&C.done);
    assert_failed(UV_ENOMEM, "out of memory");
    cr_assert(C.sockets == 1 && !C.tcp_was_ours && C.addr.ss_family == AF_INET);
    finish();
}

Test(uv_dial, bad_family)
{
    struct sockaddr_un u;
    struct uv_dial *dl = NULL;
    memset(&u, 0, sizeof u);
    u.sun_family = AF_UNIX;
    cr_assert(uv_dial_sockaddr(&dl, &C.loop, (const struct sockaddr *)&u, 0, on_socket, on_done,
                               &C) == UV_EINVAL);
    cr_assert(!dl && C.sockets == 0);
    finish();
}

Test(uv_dial, cancelled_while_resolving)
{
    struct uv_dial *dl = NULL;
    block_resolver();
    cr_assert(uv_dial_name(&dl, &C.loop, "127.0.0.1", "9", 5000, on_socket, on_done, &C) == 0);
    uv_run(&C.loop, UV_RUN_NOWAIT);
    uv_dial_cancel(dl);
    finish(); /* runs until the resolution is back and the dial freed */
    cr_assert(C.done == 0 && C.sockets == 0);
}

Test(uv_dial, cancelled_while_connecting)
{
    struct uv_dial *dl = dial_addr(server(1), 5000);
    cr_assert(C.sockets == 1 && C.sock_open);
    uv_dial_cancel(dl); /* then the caller closes its socket: finish() */
    finish();
    cr_assert(C.done == 0);
}

Test(uv_dial, cancelled_while_connecting_stalled)
{
    int lfd, fds[16], port = full_listener(&lfd, fds);
    struct uv_dial *dl;
    if (!port) {
        close_fds(lfd, fds);
        finish();
        cr_skip_test("this kernel answers SYNs to a full accept queue: no stalled connect");
    }
    dl = dial_addr(port, 0);
    uv_run(&C.loop, UV_RUN_NOWAIT); /* the connect is in flight, unanswered */
    uv_dial_cancel(dl);
    finish();
    cr_assert(C.done == 0);
    close_fds(lfd, fds);
}

Test(uv_dial, cancelled_from_on_socket)
{
    char port[8];
    C.cancel_in_socket = 1;
    snprintf(port, sizeof port, "%d", server(1));
    dial_name("127.0.0.1", port, 5000);
    run_until(&C.sockets);
    dial_addr(1, 0); /* an address too: cancelled inside the call */
    finish();
    cr_assert(C.done == 0 && C.sockets == 2);
}
