/*
 * uv_dial.h: one outgoing TCP connection on a libuv loop, to HOST:PORT or to an address,
 * with an optional deadline (the daemon dials static and discovered peers with it).
 *
 * What it does: for a name, it resolves HOST:PORT (uv_getaddrinfo, SOCK_STREAM) and takes
 * the first address the resolver gives; for an address, it takes that one. Once the
 * address is known it asks the caller for a socket (on_socket: a uv_tcp_t the caller has
 * initialised on the loop, and owns), connects it, and reports the outcome once through
 * on_done: connected (status 0), or a negative libuv code with a short reason for a log
 * line or a status "last error":
 *   "cannot resolve the name"  resolution failed (status: the resolver's code);
 *   uv_strerror(status)        the connect failed ("connection refused", ...);
 *   "no answer in time"        the deadline passed first (UV_ETIMEDOUT);
 *   "out of memory"            on_socket gave no socket (UV_ENOMEM).
 * A dial can be abandoned at any time before on_done (uv_dial_cancel), e.g. when the
 * program stops: a resolution in flight is cancelled, and the memory of the dial is given
 * back once libuv has let go of its requests.
 *
 * What it must never do: print; close, read, write or free the caller's socket (it only
 * calls uv_tcp_connect on it: the caller closes it in every case, connected or not);
 * call on_done twice, from inside uv_dial_name() or uv_dial_sockaddr(), or after
 * uv_dial_cancel(); try a second address of a name (the first one is dialed, as the daemon
 * always did); keep the loop alive after the outcome was reported, beyond a resolution or
 * connect request that libuv has not handed back yet.
 *
 * Single-threaded: every call from the loop's thread. The dial holds one timer handle of
 * its own until the outcome is reported or it is cancelled: a program that closes every
 * handle of its loop with uv_walk() cancels its dials first.
 */
#ifndef AM_UV_DIAL_H
#define AM_UV_DIAL_H

#include <stdint.h>

#include <uv.h>

struct uv_dial;

/*
 * The address to connect to is known (sa: valid during the call; a struct sockaddr_in or
 * sockaddr_in6, also in dl->addr). Returns a uv_tcp_t initialised on the dial's loop, not
 * connected yet, that stays allocated and unmoved until on_done has returned (or until
 * the caller has cancelled the dial and closed it); the caller owns it from now on, and
 * closes it whatever the outcome. Returns NULL when it cannot (on_done then reports
 * UV_ENOMEM, "out of memory"). It is called at most once per dial, from inside
 * uv_dial_sockaddr() or, for a name, from the loop; it may call uv_dial_cancel(dl) (and
 * then returns NULL, or a socket that it closes itself).
 */
typedef uv_tcp_t *(*uv_dial_socket_cb)(struct uv_dial *dl, const struct sockaddr *sa);

/*
 * The outcome, called once from the loop unless the dial was cancelled. status 0: dl->tcp
 * is connected; otherwise a negative libuv code and reason (a static string, see above),
 * and dl->tcp is the socket on_socket gave (close it: a connect still in flight ends only
 * then), or NULL if it was not asked for one or gave none. dl is freed when on_done
 * returns: read what you need of it during the call. uv_dial_cancel(dl) here does nothing.
 */
typedef void (*uv_dial_done_cb)(struct uv_dial *dl, int status, const char *reason);

/* Allocated by uv_dial_name() and uv_dial_sockaddr(), freed by the dial itself. The
 * caller reads the first three fields; the rest is private. */
struct uv_dial {
    void *data;                   /* the caller's, as given */
    uv_tcp_t *tcp;                /* the socket on_socket gave; NULL until then or if none */
    struct sockaddr_storage addr; /* the address dialed; ss_family AF_UNSPEC until known */

    uv_loop_t *loop;
    uv_dial_socket_cb on_socket;
    uv_dial_done_cb on_done;
    uv_getaddrinfo_t gai;
    uv_connect_t creq;
    uv_timer_t timer; /* the deadline, then the deferred report of a failure in a call */
    int status;       /* the outcome, while its report is deferred */
    const char *reason;
    uint8_t state;                          /* resolving, connecting, reporting, ended */
    uint8_t in_call;                        /* inside uv_dial_sockaddr() */
    uint8_t gai_busy, connect_busy, closed; /* requests not handed back, timer closed */
};

/*
 * Dials host:port (a name or a numeric address; a service name or a number) on loop.
 * deadline_ms: 0 for none, else the time from this call within which the connection must
 * be made (resolution included). on_socket, on_done: see above; data: stored in
 * (*out)->data. *out: the dial, valid until on_done returns or until uv_dial_cancel().
 * host and port are read during the call only. Returns 0, or a negative libuv code with
 * nothing started (on_socket and on_done are never called): UV_ENOMEM when there is no
 * memory for the dial, or what uv_getaddrinfo() returned (UV_EINVAL for a name it
 * refuses, UV_ENOMEM).
 */
int uv_dial_name(struct uv_dial **out, uv_loop_t *loop, const char *host, const char *port,
                 uint32_t deadline_ms, uv_dial_socket_cb on_socket, uv_dial_done_cb on_done,
                 void *data);

/*
 * Dials sa (a struct sockaddr_in or sockaddr_in6, read during the call only) on loop;
 * on_socket is called before this returns (a connect that fails at once is reported by
 * on_done from the loop, like any other outcome). Otherwise as uv_dial_name(). Returns 0,
 * UV_EINVAL for another address family, or UV_ENOMEM, with nothing started.
 */
int uv_dial_sockaddr(struct uv_dial **out, uv_loop_t *loop, const struct sockaddr *sa,
                     uint32_t deadline_ms, uv_dial_socket_cb on_socket, uv_dial_done_cb on_done,
                     void *data);

/*
 * Abandons dl: on_done will not be called, a resolution in flight is cancelled, and dl
 * is freed from the loop once libuv hands back its requests (dl must not be used after
 * this call). A socket on_socket gave stays the caller's, to close: a connect in flight on
 * it ends when it is closed. Does nothing when called from on_done.
 */
void uv_dial_cancel(struct uv_dial *dl);

#endif
