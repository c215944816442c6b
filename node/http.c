/*
 * http.c: the dashboard over HTTP with libmicrohttpd (see http.h).
 * Must never: change anything, answer a method other than GET or HEAD, touch the daemon's
 * libuv loop from the server thread, parse HTTP itself (libmicrohttpd does), or let a
 * client hold a connection past its deadline by trickling bytes.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "am_err.h"
#include "dashboard.h"

/* Limits (http.h says what they bound): */
/* libmicrohttpd's hard cap on open connections */
#define HTTP_CONN_LIMIT 64
/* connections still waiting for their request: past this the oldest of them is cut, so a
 * new client always gets in */
#define HTTP_WAITING_SOFT 48
/* per address: one page has no sub-resources, a browser needs one or two */
#define HTTP_PER_IP_LIMIT 4
/* idle (libmicrohttpd's own, reset by every byte: the deadlines of http.h are not) */
#define HTTP_CONN_TIMEOUT_S 15
#define HTTP_LISTEN_BACKLOG 16
/* the server thread looks at the deadlines this often */
#define HTTP_LOOP_MS 250

struct http_conn {
    struct http_conn *prev, *next; /* in the order they came */
    int fd;
    int answering;        /* its request arrived: the answer deadline runs */
    int cut;              /* shut down by us: libmicrohttpd closes it on its next turn */
    uint64_t deadline_ms; /* CLOCK_MONOTONIC */
};

struct http_server {
    struct MHD_Daemon *mhd;
    struct node *n;
    struct status_snapshot *status; /* the daemon's live status (read under its mutex) */
    struct http_hosts hosts;
    pthread_t thread;
    atomic_int stop;
    /* every open connection, oldest first; touched only on the server thread */
    struct http_conn *head, *tail;
};

static const char csp[] = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                          "form-action 'none'; frame-ancestors 'none'";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len, int owned)
{
    struct MHD_Response *r;
    enum MHD_Result ok;
    r = owned ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
              : MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "Content-Security-Policy", csp);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return reply(c, status, "text/plain; charset=utf-8", (char *)msg, strlen(msg), 0);
}

/* ---- the decision (pure: fuzzed by tests/fuzz/http_fuzz.c) -------------------------------- */

int http_route(const struct http_hosts *hosts, const char *method, const char *url,
               const struct http_header *hdr, size_t n, int more)
{
    const char *host = NULL;
    size_t n_host = 0, plen;

    /* one Host, or none (HTTP/1.0): two could make a check and a proxy disagree */
    for (size_t i = 0; i < n; i++)
        if (hdr[i].name && strcasecmp(hdr[i].name, "Host") == 0) {
            host = hdr[i].value ? hdr[i].value : "";
            n_host++;
        }
    if (more || n_host > 1)
        return 400;
    /* answered before any request body: nothing is ever read from one */
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return 405;
    if (hosts->loopback && host) {
        int fine = 0;
        for (int i = 0; i < 3; i++)
            fine |= hosts->hosts[i][0] && strcasecmp(host, hosts->hosts[i]) == 0;
        if (!fine)
            return 403;
    }
    plen = strcspn(url, "?#"); /* a query or fragment changes nothing */
    if (!((plen == 1 && url[0] == '/') || (plen == 11 && strncmp(url, "/index.html", 11) == 0)))
        return 404;
    return 200;
}

/* ---- per-connection deadlines ---------------------------------------------------------- */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Cuts a connection: shutdown, never close (the descriptor stays libmicrohttpd's; it sees
 * the end on its next turn and closes it, then tells on_connection). */
static void conn_cut(struct http_conn *k)
{
    if (!k->cut && k->fd >= 0)
        shutdown(k->fd, SHUT_RDWR);
    k->cut = 1;
}

/* Cuts every connection past its deadline, and the oldest waiting ones past the soft cap. */
static void sweep(struct http_server *h, uint64_t now)
{
    size_t waiting = 0;
    for (struct http_conn *k = h->head; k; k = k->next) {
        if (!k->cut && now >= k->deadline_ms)
            conn_cut(k);
        waiting += !k->cut && !k->answering;
    }
    for (struct http_conn *k = h->head; k && waiting > HTTP_WAITING_SOFT; k = k->next)
        if (!k->cut && !k->answering) {
            conn_cut(k);
            waiting--;
        }
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *h = cls;
    struct http_conn *k = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k = calloc(1, sizeof *k);
        if (!k) { /* no memory to watch it: not served */
            if (ci)
                shutdown(ci->connect_fd, SHUT_RDWR);
            return;
        }
        k->fd = ci ? ci->connect_fd : -1;
        k->deadline_ms = mono_ms() + HTTP_REQUEST_DEADLINE_S * 1000u;
        k->prev = h->tail;
        if (h->tail)
            h->tail->next = k;
        else
            h->head = k;
        h->tail = k;
        *socket_context = k;
        sweep(h, mono_ms());
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && k) {
        if (k->prev)
            k->prev->next = k->next;
        else
            h->head = k->next;
        if (k->next)
            k->next->prev = k->prev;
        else
            h->tail = k->prev;
        free(k);
        *socket_context = NULL;
    }
}

static struct http_conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* A request answered (or given up): a kept-alive connection waits for its next one. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_conn *k = conn_of(c);
    (void)cls;
    (void)con_cls;
    (void)toe;
    if (k) {
        k->answering = 0;
        k->deadline_ms = mono_ms() + HTTP_REQUEST_DEADLINE_S * 1000u;
    }
}

/* The server thread: libmicrohttpd's turns, and the deadlines between them. */
static void *serve(void *arg)
{
    struct http_server *h = arg;
    while (!atomic_load(&h->stop)) {
        MHD_run_wait(h->mhd, HTTP_LOOP_MS);
        sweep(h, mono_ms());
    }
    return NULL;
}

/* ---- answering ------------------------------------------------------------------------- */

struct header_list {
    struct http_header v[HTTP_HEADERS_MAX];
    size_t n;
    int more;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct header_list *l = cls;
    (void)kind;
    if (l->n == HTTP_HEADERS_MAX) {
        l->more = 1;
        return MHD_NO;
    }
    l->v[l->n].name = key;
    l->v[l->n].value = value;
    l->n++;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct http_server *h = cls;
    struct http_conn *k = conn_of(c);
    struct header_list hl;
    struct dashboard_opts o;
    char *page;
    size_t len;
    int rc;
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)con_cls;

    if (k && !k->answering) { /* the request is in: the answer has its own deadline */
        k->answering = 1;
        k->deadline_ms = mono_ms() + HTTP_ANSWER_DEADLINE_S * 1000u;
    }
    memset(&hl, 0, sizeof hl);
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &hl);
    switch (http_route(&h->hosts, method, url, hl.v, hl.n, hl.more)) {
    case 400:
        return text(c, MHD_HTTP_BAD_REQUEST,
                    "a request must name one Host (this one has several, or too many "
                    "headers)\n");
    case 405:
        return text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                    "this page is read-only: only GET and HEAD are answered\n");
    case 403:
        return text(c, MHD_HTTP_FORBIDDEN,
                    "this dashboard answers only to its own address on this machine\n");
    case 404:
        return text(c, MHD_HTTP_NOT_FOUND, "no such page: the dashboard is at /\n");
    default:
        break;
    }
    memset(&o, 0, sizeof o);
    o.refresh_s = DASHBOARD_REFRESH_S;
    o.status = h->status;
    rc = dashboard_render(h->n, &o, &page, &len);
    if (rc == AM_ECORRUPT)
        return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                    "the relief views cannot be read: run `aidmesh reindex` on this node\n");
    if (rc != AM_OK)
        return text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                    "the page cannot be made right now (out of memory or the store failed); "
                    "reload in a moment\n");
    return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", page, len, 1);
}

/* "ADDR:PORT", "[V6]:PORT", or "PORT" (loopback). */
static int parse_spec(const char *spec, struct sockaddr_storage *sa, socklen_t *sa_len)
{
    char host[64];
    const char *port_s;
    char *end;
    long port;
    size_t hl;

    memset(sa, 0, sizeof *sa);
    if (!spec || !*spec)
        return AM_EINVAL;
    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');
        if (!rb || rb[1] != ':')
            return AM_EINVAL;
        hl = (size_t)(rb - spec - 1);
        if (hl == 0 || hl >= sizeof host)
            return AM_EINVAL;
        memcpy(host, spec + 1, hl);
        host[hl] = 0;
        port_s = rb + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon) {
            snprintf(host, sizeof host, "127.0.0.1");
            port_s = spec;
        } else {
            if (strchr(spec, ':') != colon)
                return AM_EINVAL; /* a bare IPv6 address needs brackets */
            hl = (size_t)(colon - spec);
            if (hl == 0 || hl >= sizeof host)
                return AM_EINVAL;
            memcpy(host, spec, hl);
            host[hl] = 0;
            port_s = colon + 1;
        }
    }
    errno = 0;
    port = strtol(port_s, &end, 10);
    if (errno || *end || end == port_s || port < 0 || port > 65535 || *port_s == '-' ||
        *port_s == '+')
        return AM_EINVAL;
    if (strchr(host, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return AM_EINVAL;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *sa_len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return AM_EINVAL;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *sa_len = sizeof *s4;
    }
    return AM_OK;
}

static void sa_text(const struct sockaddr_storage *sa, char *host, size_t host_cap, unsigned *port)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        snprintf(host, host_cap, "[%s]", ip);
        *port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        snprintf(host, host_cap, "%s", ip);
        *port = ntohs(s4->sin_port);
    }
}

static int is_loopback(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
}

/* A listening socket of our own, so a taken port or a foreign address gets its errno. */
static int open_listener(const struct sockaddr_storage *sa, socklen_t len, const char *spec,
                         int *fd_out, char *err, size_t err_cap)
{
    int one = 1, fd, e;
    fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_cap, "cannot serve the dashboard on %s: %s", spec, strerror(errno));
        return AM_ESYS;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)sa, len) == 0 && listen(fd, HTTP_LISTEN_BACKLOG) == 0) {
        *fd_out = fd;
        return AM_OK;
    }
    e = errno;
    close(fd);
    if (e == EADDRINUSE) {
        snprintf(err, err_cap,
                 "cannot serve the dashboard on %s: the port is taken (by another aidmesh node "
                 "or another program); pick another port, e.g. --http 127.0.0.1:8080",
                 spec);
        return AM_EEXIST;
    }
    if (e == EACCES) {
        snprintf(err, err_cap,
                 "cannot serve the dashboard on %s: ports below 1024 need root; pick a port "
                 "from 1024 up, e.g. --http 127.0.0.1:8080",
                 spec);
        return AM_EPERM;
    }
    if (e == EADDRNOTAVAIL) {
        snprintf(err, err_cap,
                 "cannot serve the dashboard on %s: no network interface of this machine has "
                 "that address; use 127.0.0.1 (this machine only) or 0.0.0.0 (every network)",
                 spec);
        return AM_ENOTFOUND;
    }
    snprintf(err, err_cap, "cannot serve the dashboard on %s: %s", spec, strerror(e));
    return AM_ESYS;
}

int http_start(struct http_server **out, struct node *n, const char *spec,
               struct status_snapshot *status, char *url, size_t url_cap, char *err, size_t err_cap)
{
    struct sockaddr_storage sa, bound;
    socklen_t sa_len = 0, blen = sizeof bound;
    struct http_server *h;
    char host[INET6_ADDRSTRLEN + 2];
    unsigned port;
    int fd = -1, rc;

    *out = NULL;
    if (parse_spec(spec, &sa, &sa_len) != AM_OK) {
        snprintf(err, err_cap,
                 "--http '%s' is not an address to serve the dashboard on: give PORT, or "
                 "ADDR:PORT with a numeric address, e.g. 127.0.0.1:8080 (this machine only) or "
                 "0.0.0.0:8080 (every network)",
                 spec ? spec : "");
        return AM_EINVAL;
    }
    rc = open_listener(&sa, sa_len, spec, &fd, err, err_cap);
    if (rc != AM_OK)
        return rc;
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) != 0)
        bound = sa;
    h = calloc(1, sizeof *h);
    if (!h) {
        close(fd);
        snprintf(err, err_cap, "cannot serve the dashboard: out of memory");
        return AM_ENOMEM;
    }
    h->n = n;
    h->status = status;
    h->hosts.loopback = is_loopback(&bound);
    sa_text(&bound, host, sizeof host, &port);
    snprintf(h->hosts.hosts[0], sizeof h->hosts.hosts[0], "%s:%u", host, port);
    snprintf(h->hosts.hosts[1], sizeof h->hosts.hosts[1], "localhost:%u", port);
    if (port == 80) /* a browser leaves the default port out */
        snprintf(h->hosts.hosts[2], sizeof h->hosts.hosts[2], "%s", host);
    /* run by a thread of ours (serve), so the deadlines are looked at between its turns;
     * epoll where there is one, so descriptors above 1,023 work */
    h->mhd = MHD_start_daemon(
        MHD_USE_AUTO | (bound.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, on_request,
        h, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_LIMIT,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_IP_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT_S, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
    if (h->mhd && pthread_create(&h->thread, NULL, serve, h) != 0) {
        MHD_stop_daemon(h->mhd);
        h->mhd = NULL;
        fd = -1; /* closed with the daemon */
    }
    if (!h->mhd) {
        if (fd >= 0 && fcntl(fd, F_GETFD) != -1) /* libmicrohttpd may or may not have closed it */
            close(fd);
        free(h);
        snprintf(err, err_cap,
                 "cannot serve the dashboard on %s: the HTTP server did not start (out of "
                 "memory or threads?)",
                 spec);
        return AM_ESYS;
    }
    snprintf(url, url_cap, "http://%s:%u/", host, port);
    *out = h;
    return AM_OK;
}

void http_stop(struct http_server *h)
{
    if (!h)
        return;
    atomic_store(&h->stop, 1);
    pthread_join(h->thread, NULL); /* within HTTP_LOOP_MS */
    MHD_stop_daemon(h->mhd);       /* closes every connection and the listening socket */
    free(h);
}
