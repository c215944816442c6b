/*
 * uv_dial.c: one outgoing TCP connection with a deadline (uv_dial.h). Must never: touch
 * the caller's socket beyond uv_tcp_connect, report an outcome twice or after a cancel,
 * or free the dial while libuv still holds one of its requests or its timer.
 */
#include <stdlib.h>
#include <string.h>

#include "uv_dial.h"

enum {
    DIAL_RESOLVING,
    DIAL_CONNECTING,
    DIAL_REPORTING, /* failed inside uv_dial_sockaddr(): reported from the loop */
    DIAL_ENDED,     /* reported or cancelled: waiting for libuv to let go */
};

/* Frees dl once it ended and libuv holds nothing of it any more. */
static void maybe_free(struct uv_dial *dl)
{
    if (dl->state == DIAL_ENDED && dl->closed && !dl->gai_busy && !dl->connect_busy)
        free(dl);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct uv_dial *dl = h->data;
    dl->closed = 1;
    maybe_free(dl);
}

/* The dial is over (reported or cancelled): its timer goes. */
static void end(struct uv_dial *dl)
{
    dl->state = DIAL_ENDED;
    uv_close((uv_handle_t *)&dl->timer, on_timer_closed);
}

static void report(struct uv_dial *dl)
{
    dl->state = DIAL_ENDED; /* uv_dial_cancel() from on_done does nothing */
    dl->on_done(dl, dl->status, dl->reason);
    end(dl);
}

static void on_report(uv_timer_t *t)
{
    report(t->data);
}

/* The outcome: reported now, or from the loop when it is known inside uv_dial_sockaddr(). */
static void finish(struct uv_dial *dl, int status, const char *reason)
{
    uv_timer_stop(&dl->timer);
    dl->status = status;
    dl->reason = reason;
    if (dl->in_call) {
        dl->state = DIAL_REPORTING;
        uv_timer_start(&dl->timer, on_report, 0, 0);
        return;
    }
    report(dl);
}

static void on_deadline(uv_timer_t *t)
{
    struct uv_dial *dl = t->data;
    if (dl->state == DIAL_RESOLVING && dl->gai_busy)
        uv_cancel((uv_req_t *)&dl->gai); /* else its callback comes later and is ignored */
    finish(dl, UV_ETIMEDOUT, "no answer in time");
}

static void on_connect(uv_connect_t *req, int status)
{
    struct uv_dial *dl = req->data;
    dl->connect_busy = 0;
    if (dl->state != DIAL_CONNECTING) {
        maybe_free(dl); /* cancelled, or the deadline passed: the caller closed the socket */
        return;
    }
    finish(dl, status, status < 0 ? uv_strerror(status) : NULL);
}

/* The address is in dl->addr: a socket from the caller, then the connect. */
static void connect_addr(struct uv_dial *dl)
{
    uv_tcp_t *tcp;
    int rc;
    dl->state = DIAL_CONNECTING;
    tcp = dl->on_socket(dl, (const struct sockaddr *)&dl->addr);
    if (dl->state != DIAL_CONNECTING)
        return; /* on_socket cancelled the dial */
    if (!tcp) {
        finish(dl, UV_ENOMEM, "out of memory");
        return;
    }
    dl->tcp = tcp;
    dl->creq.data = dl;
    rc = uv_tcp_connect(&dl->creq, tcp, (const struct sockaddr *)&dl->addr, on_connect);
    if (rc != 0) {
        finish(dl, rc, uv_strerror(rc)); /* e.g. "no route to host" */
        return;
    }
    dl->connect_busy = 1;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct uv_dial *dl = req->data;
    dl->gai_busy = 0;
    if (dl->state != DIAL_RESOLVING) {
        uv_freeaddrinfo(res);
        maybe_free(dl);
        return;
    }
    if (status < 0 || !res || res->ai_addrlen > sizeof dl->addr) {
        uv_freeaddrinfo(res);
        finish(dl, status < 0 ? status : UV_EAI_NONAME, "cannot resolve the name");
        return;
    }
    memcpy(&dl->addr, res->ai_addr, res->ai_addrlen);
    uv_freeaddrinfo(res);
    connect_addr(dl);
}

/* A new dial, not known to the loop yet. */
static struct uv_dial *dial_new(uv_loop_t *loop, uv_dial_socket_cb on_socket,
                                uv_dial_done_cb on_done, void *data)
{
    struct uv_dial *dl = calloc(1, sizeof *dl);
    if (!dl)
        return NULL;
    dl->data = data;
    dl->addr.ss_family = AF_UNSPEC;
    dl->loop = loop;
    dl->on_socket = on_socket;
    dl->on_done = on_done;
    dl->gai.data = dl;
    return dl;
}

/* Its timer initialised, and the deadline (if any) running. */
static void dial_arm(struct uv_dial *dl, uint32_t deadline_ms)
{
    uv_timer_init(dl->loop, &dl->timer);
    dl->timer.data = dl;
    if (deadline_ms > 0)
        uv_timer_start(&dl->timer, on_deadline, deadline_ms, 0);
}

int uv_dial_name(struct uv_dial **out, uv_loop_t *loop, const char *host, const char *port,
                 uint32_t deadline_ms, uv_dial_socket_cb on_socket, uv_dial_done_cb on_done,
                 void *data)
{
    struct addrinfo hints;
    struct uv_dial *dl = dial_new(loop, on_socket, on_done, data);
    int rc;
    if (!dl)
        return UV_ENOMEM;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    dl->state = DIAL_RESOLVING;
    if ((rc = uv_getaddrinfo(loop, &dl->gai, on_resolved, host, port, &hints)) != 0) {
        free(dl); /* nothing of it reached the loop */
        return rc;
    }
    dl->gai_busy = 1;
    dial_arm(dl, deadline_ms);
    *out = dl;
    return 0;
}

int uv_dial_sockaddr(struct uv_dial **out, uv_loop_t *loop, const struct sockaddr *sa,
                     uint32_t deadline_ms, uv_dial_socket_cb on_socket, uv_dial_done_cb on_done,
                     void *data)
{
    struct uv_dial *dl;
    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
        return UV_EINVAL;
    if (!(dl = dial_new(loop, on_socket, on_done, data)))
        return UV_ENOMEM;
    memcpy(&dl->addr, sa,
           sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    dial_arm(dl, deadline_ms);
    *out = dl; /* before on_socket, which may look at it */
    dl->in_call = 1;
    connect_addr(dl);
    dl->in_call = 0;
    return 0;
}

void uv_dial_cancel(struct uv_dial *dl)
{
    if (dl->state == DIAL_ENDED)
        return; /* from on_done */
    if (dl->gai_busy)
        uv_cancel((uv_req_t *)&dl->gai); /* its callback still comes, with UV_EAI_CANCELED or a
                                            result that is dropped */
    end(dl);
}
