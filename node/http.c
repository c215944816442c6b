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
#include <ifaddrs.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "am_err.h"
#include "dashboard.h"
#include "http_pair.h"
#include "i18n.h"
#include "webapp.h"
#include "webapp_forms.h"
#include "webdev.h"
#include "webkey.h"

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

/* bytes of a new need's form: the note (500 bytes, each up to 3 as %XX) and the rest */
#define HTTP_FORM_BODY_MAX 4096
/* forms taken lately, by their one-time id: a second tap on "Add" stores nothing twice */
#define HTTP_NONCES 64

/* A POST of a form being read (the request's con_cls). */
struct form_req {
    struct MHD_PostProcessor *pp;
    int route; /* HTTP_ROUTE_PAIR, _NEED_ADD, _NEED_CHANGE or _STOCK_CHANGE */
    char code[32];
    struct webapp_need_form need;
    struct webapp_change_form change; /* _NEED_CHANGE, _STOCK_CHANGE */
    size_t body;
    int bad; /* a field longer than it may be */
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
    struct http_pair_guard guard; /* wrong pairing codes, by address (server thread) */
    char nonces[HTTP_NONCES][WEBAPP_NONCE_LEN + 1]; /* forms taken (server thread) */
    char done[HTTP_NONCES][WEBAPP_DONE_MAX];        /* what each recorded, for a second tap */
    size_t nonce_at;
};

static const char csp[] = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                          "form-action 'none'; frame-ancestors 'none'";
/* the pairing page posts its form to itself */
static const char csp_form[] = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'";

/* What an answer carries besides its body. */
struct extra {
    const char *csp;         /* NULL: csp */
    const char *cookie;      /* Set-Cookie, or NULL */
    const char *location;    /* a redirect's target, or NULL */
    unsigned retry_after_s;  /* 429: when to try again */
    int lang;                /* the page's language (i18n.h) */
    const char *lang_cookie; /* a second Set-Cookie: the language chosen by ?lang= */
};

static enum MHD_Result reply_x(struct MHD_Connection *c, unsigned status, const char *type,
                               char *body, size_t len, int owned, const struct extra *x)
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
    MHD_add_response_header(r, "Content-Security-Policy", x && x->csp ? x->csp : csp);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /* same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with a
     * form posted to the page's own site, and the Origin check would refuse every form */
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD (and POST at /pair)");
    if (x && x->cookie)
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, x->cookie);
    if (x && x->lang_cookie)
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, x->lang_cookie);
    if (x && x->location)
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, x->location);
    if (x && x->retry_after_s) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", x->retry_after_s);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len, int owned)
{
    return reply_x(c, status, type, body, len, owned, NULL);
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return reply(c, status, "text/plain; charset=utf-8", (char *)msg, strlen(msg), 0);
}

/* ---- the decision (pure: fuzzed by tests/fuzz/http_fuzz.c) -------------------------------- */

int http_route(const struct http_hosts *hosts, const char *method, const char *url,
               const struct http_header *hdr, size_t n, int more)
{
    const char *host = NULL, *origin = NULL;
    size_t n_host = 0, n_origin = 0, plen, sl;
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0, pair, needs, need, upd;

    /* one Host, or none (HTTP/1.0): two could make a check and a proxy disagree */
    for (size_t i = 0; i < n; i++) {
        if (hdr[i].name && strcasecmp(hdr[i].name, "Host") == 0) {
            host = hdr[i].value ? hdr[i].value : "";
            n_host++;
        }
        if (hdr[i].name && strcasecmp(hdr[i].name, "Origin") == 0) {
            origin = hdr[i].value ? hdr[i].value : "";
            n_origin++;
        }
    }
    if (more || n_host > 1)
        return 400;
    if (host || !hosts->loopback) {
        int fine = 0;
        for (int i = 0; host && i < HTTP_HOSTS_MAX; i++)
            fine |= hosts->hosts[i][0] && strcasecmp(host, hosts->hosts[i]) == 0;
        if (!fine)
            return 403;
    }
    plen = strcspn(url, "?#"); /* a query or fragment changes nothing */
    pair = plen == 5 && strncmp(url, "/pair", 5) == 0;
    needs = plen == 6 && strncmp(url, "/needs", 6) == 0;
    /* a need's page: /needs/ and 4 to 32 hex digits of its id */
    need = plen >= 11 && plen <= 39 && strncmp(url, "/needs/", 7) == 0 &&
           strspn(url + 7, "0123456789abcdefABCDEF") == plen - 7;
    upd = plen == 13 && strncmp(url, "/stock/update", 13) == 0;
    if (plen == 10 && strncmp(url, "/needs/new", 10) == 0)
        return get ? HTTP_ROUTE_NEED_FORM : 405;
    if (plen == 6 && strncmp(url, "/stock", 6) == 0)
        return get ? HTTP_ROUTE_STOCK : 405;
    if (plen == 10 && strncmp(url, "/catalogue", 10) == 0)
        return get ? HTTP_ROUTE_CATALOGUE : 405;
    if (!pair && !needs && !need && !upd &&
        !((plen == 1 && url[0] == '/') || (plen == 11 && strncmp(url, "/index.html", 11) == 0)))
        return 404;
    if (get)
        return pair    ? HTTP_ROUTE_PAIR_FORM
               : needs ? HTTP_ROUTE_NEEDS
               : need  ? HTTP_ROUTE_NEED_PAGE
               : upd   ? HTTP_ROUTE_STOCK_FORM
                       : HTTP_ROUTE_PAGE;
    /* answered before any request body: nothing is read from one but a form's */
    if ((!pair && !needs && !need && !upd) || strcmp(method, "POST") != 0)
        return 405;
    /* a form of this very origin, never one another site's page submits */
    sl = hosts->tls ? 8 : 7; /* "https://" on the HTTPS listener, else "http://" */
    if (!host || n_origin != 1 || strncmp(origin, hosts->tls ? "https://" : "http://", sl) != 0 ||
        strcasecmp(origin + sl, host) != 0)
        return 403;
    return pair    ? HTTP_ROUTE_PAIR
           : needs ? HTTP_ROUTE_NEED_ADD
           : need  ? HTTP_ROUTE_NEED_CHANGE
                   : HTTP_ROUTE_STOCK_CHANGE;
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
    struct form_req *pr = con_cls ? *con_cls : NULL;
    (void)cls;
    (void)toe;
    if (pr) {
        if (pr->pp)
            MHD_destroy_post_processor(pr->pp);
        sodium_memzero(pr->code, sizeof pr->code);
        free(pr);
        *con_cls = NULL;
    }
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

/* ---- pairing (http_pair.h, webdev.h) ----------------------------------------------------- */

/* Where a form's field goes: its buffer (NULL: a field of no use here, skipped). */
static char *field_buf(struct form_req *fr, const char *key, size_t *cap)
{
    struct webapp_need_form *n = &fr->need;
    struct {
        const char *k;
        char *b;
        size_t cap;
    } t[] = {{"site", n->site, sizeof n->site}, {"item", n->item, sizeof n->item},
             {"qty", n->qty, sizeof n->qty},    {"priority", n->priority, sizeof n->priority},
             {"note", n->note, sizeof n->note}, {"nonce", n->nonce, sizeof n->nonce},
             {"csrf", n->csrf, sizeof n->csrf}};
    if (fr->route == HTTP_ROUTE_PAIR) {
        *cap = sizeof fr->code;
        return strcmp(key, "code") == 0 ? fr->code : NULL;
    }
    if (fr->route == HTTP_ROUTE_NEED_CHANGE || fr->route == HTTP_ROUTE_STOCK_CHANGE)
        return webapp_change_field(&fr->change, key, cap);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(key, t[i].k) == 0) {
            *cap = t[i].cap;
            return t[i].b;
        }
    return NULL;
}

/* A field of a form, as libmicrohttpd's form parser hands it (a value may come in pieces).
 * A value longer than its field may be makes the form bad. */
static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *filename, const char *content_type,
                                const char *transfer_encoding, const char *data, uint64_t off,
                                size_t size)
{
    struct form_req *fr = cls;
    size_t cap = 0, have;
    char *b = field_buf(fr, key, &cap);
    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    if (!b)
        return MHD_YES;
    have = strlen(b);
    if (off != have || size >= cap - have) {
        fr->bad = 1;
        return MHD_YES;
    }
    memcpy(b + have, data, size);
    b[have + size] = 0;
    return MHD_YES;
}

/* The guard's key of the client: its IPv4 address, or its IPv6 address's /64. */
static void client_key(struct MHD_Connection *c, uint8_t key[16])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    memset(key, 0, 16);
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET) {
        memcpy(key, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, 4);
        key[15] = 4;
    } else if (ci->client_addr->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, 8);
        key[15] = 6;
    }
}

/* The request's language (i18n_pick: ?lang=, the lang cookie, Accept-Language, English),
 * into x->lang; a ?lang= choice is kept by the cookie x then carries. */
static int request_lang(struct MHD_Connection *c, struct extra *x)
{
    int set;
    x->lang = i18n_pick(
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "lang"),
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE),
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE), &set);
    x->lang_cookie = set ? i18n_set_cookie(x->lang) : NULL;
    return x->lang;
}

static enum MHD_Result pair_page(struct MHD_Connection *c, unsigned status, const char *msg,
                                 struct extra *x)
{
    size_t len;
    char *page = http_pair_page_lang(x->lang, msg, &len);
    if (!page)
        return text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                    i18n_s(x->lang, "out of memory: reload in a moment\n"));
    x->csp = csp_form;
    return reply_x(c, status, "text/html; charset=utf-8", page, len, 1, x);
}

/* The whole pairing form is in: take its code, or say why not. */
static enum MHD_Result pair_answer(struct http_server *h, struct MHD_Connection *c,
                                   struct form_req *pr)
{
    static char done[] = "paired: this phone may open the node's pages now\n";
    uint8_t key[16], token[WEBDEV_TOKEN_LEN];
    struct extra x = {0};
    char cookie[200], msg[200];
    uint64_t now = mono_ms();
    unsigned wait;
    int rc, l = request_lang(c, &x);

    client_key(c, key);
    if ((wait = http_pair_wait(&h->guard, key, now)) > 0) {
        snprintf(msg, sizeof msg,
                 i18n_n(l,
                        "Too many wrong codes were typed: pairing is paused. Try again in %u "
                        "minute.",
                        "Too many wrong codes were typed: pairing is paused. Try again in %u "
                        "minutes.",
                        (wait + 59) / 60),
                 (wait + 59) / 60);
        x.retry_after_s = wait;
        return pair_page(c, MHD_HTTP_TOO_MANY_REQUESTS, msg, &x);
    }
    rc =
        pr->bad ? AM_EINVAL : webdev_pair_redeem(h->n->home, pr->code, node_wall_ms(), token, NULL);
    if (rc == AM_OK) {
        http_pair_succeeded(&h->guard, key);
        webdev_set_cookie(token, cookie, sizeof cookie);
        if (h->hosts.tls) /* never sent back over plain HTTP (the /ca.crt port, say) */
            snprintf(cookie + strlen(cookie), sizeof cookie - strlen(cookie), "; Secure");
        sodium_memzero(token, sizeof token);
        x.cookie = cookie;
        x.location = "/needs"; /* the phone pages (the dashboard is for the hub's screen) */
        rc = reply_x(c, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8", done, sizeof done - 1, 0,
                     &x);
        sodium_memzero(cookie, sizeof cookie);
        return rc;
    }
    if (rc == AM_ENOTFOUND || rc == AM_EINVAL) {
        http_pair_failed(&h->guard, key, now);
        return pair_page(c, MHD_HTTP_FORBIDDEN,
                         i18n_s(l, "That code is wrong, used, or expired. Check it, or ask the "
                                   "coordinator for a new one."),
                         &x);
    }
    if (rc == AM_ELIMIT)
        return pair_page(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                         i18n_s(l, "This node has as many paired phones as it keeps: the "
                                   "coordinator can remove old ones (aidmesh web revoke) and "
                                   "make a new code."),
                         &x);
    return pair_page(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                     i18n_s(l, "The pairing could not be saved on the node. Try again; if it "
                               "goes on, tell the coordinator (aidmesh doctor on the node)."),
                     &x);
}

/* The role of the device paired now (revoked: no longer) whose cookie the request
 * carries, 0 for none; csrf (nullable): its forms' token; id (nullable): its id. */
static int device_role(struct http_server *h, struct MHD_Connection *c,
                       char csrf[WEBDEV_COOKIE_CHARS + 1], uint8_t id[WEBDEV_ID_LEN])
{
    const char *ck = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
    uint8_t token[WEBDEV_TOKEN_LEN];
    struct webdev_list l = {0};
    const struct webdev *d;
    int role = 0;
    if (!ck || webdev_cookie_token(ck, token) != AM_OK)
        return 0;
    if (webdev_load(h->n->home, &l) == AM_OK && (d = webdev_find(&l, token)) != NULL) {
        role = d->role;
        if (csrf)
            webdev_csrf(token, csrf);
        if (id)
            memcpy(id, d->id, WEBDEV_ID_LEN);
    }
    webdev_list_free(&l);
    sodium_memzero(token, sizeof token);
    return role;
}

/* The key the writes of paired device id are signed with (webkey_signer) into *sk,
 * sodium_malloc'd (the caller sodium_frees it): 0; else the status to refuse with, and
 * *why its sentence in lang. */
static unsigned device_signer(struct http_server *h, const uint8_t id[WEBDEV_ID_LEN], int lang,
                              uint8_t **sk, const char **why)
{
    int rc = (*sk = sodium_malloc(AM_SK_LEN)) ? webkey_signer(h->n->home, id, *sk) : AM_ENOMEM;
    if (rc == AM_OK)
        return 0;
    sodium_free(*sk);
    *sk = NULL;
    if (rc == AM_ENOTFOUND) {
        *why = i18n_s(lang, "this phone has no key of its own to sign what it enters (it was "
                            "paired before phones had keys): ask the coordinator for a new code "
                            "and pair it again at /pair\n");
        return MHD_HTTP_FORBIDDEN;
    }
    *why = i18n_s(lang, "this phone's key cannot be read on the node: nothing was written; tell "
                        "the coordinator (aidmesh doctor on the node)\n");
    return MHD_HTTP_SERVICE_UNAVAILABLE;
}

/* A page of the web app into a reply (or the error page of what stopped it). */
static enum MHD_Result app_reply(struct MHD_Connection *c, int rc, char *page, size_t len,
                                 struct extra *x)
{
    if (rc == AM_OK) {
        x->csp = csp_form;
        return reply_x(c, MHD_HTTP_OK, "text/html; charset=utf-8", page, len, 1, x);
    }
    if (rc == AM_ECORRUPT)
        return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                    i18n_s(x->lang, "the relief views cannot be read: run `aidmesh reindex` "
                                    "on this node\n"));
    return text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                i18n_s(x->lang, "the page cannot be made right now (out of memory or the store "
                                "failed); reload in a moment\n"));
}

/* The new need's form is in: check who sends it, then store it once. */
static enum MHD_Result need_answer(struct http_server *h, struct MHD_Connection *c,
                                   struct form_req *fr)
{
    static char done[] = "added: see /needs\n";
    struct webapp_ctx w = {.n = h->n, .status = h->status, .can_write = 1, .csrf = ""};
    char csrf[WEBDEV_COOKIE_CHARS + 1] = "", id[33], msg[300], *page;
    const char *why = NULL;
    uint8_t dev[WEBDEV_ID_LEN], *sk = NULL;
    struct extra x = {0};
    size_t len;
    unsigned refuse;
    int rc, role = h->hosts.loopback ? WEBDEV_WRITE : device_role(h, c, csrf, dev);

    w.lang = request_lang(c, &x);
    w.path = "/needs/new";
    if (role != WEBDEV_WRITE)
        return text(c, role ? MHD_HTTP_FORBIDDEN : MHD_HTTP_UNAUTHORIZED,
                    role ? i18n_s(w.lang, "this phone is paired to read only: ask the "
                                          "coordinator for a code with --write\n")
                         : i18n_s(w.lang, "this phone is not paired with this node: pair it at "
                                          "/pair\n"));
    w.csrf = csrf;
    if (!h->hosts.loopback && (strlen(fr->need.csrf) != WEBDEV_COOKIE_CHARS ||
                               sodium_memcmp(fr->need.csrf, csrf, WEBDEV_COOKIE_CHARS) != 0))
        return text(c, MHD_HTTP_FORBIDDEN,
                    i18n_s(w.lang, "this form did not come from this phone's page: open "
                                   "/needs/new and send it again\n"));
    x.location = "/needs";
    for (size_t i = 0; fr->need.nonce[0] && i < HTTP_NONCES; i++)
        if (strcmp(h->nonces[i], fr->need.nonce) == 0) /* a second tap: stored already */
            return reply_x(c, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8", done,
                           sizeof done - 1, 0, &x);
    if (!h->hosts.loopback && (refuse = device_signer(h, dev, w.lang, &sk, &why)))
        return text(c, refuse, why);
    w.sk = sk; /* the phone's own key signs what it enters */
    rc = fr->bad ? AM_EINVAL : webapp_need_add(&w, &fr->need, id, msg, sizeof msg);
    sodium_free(sk);
    w.sk = NULL;
    if (fr->bad)
        snprintf(msg, sizeof msg, "%s",
                 i18n_s(w.lang, "A field is longer than it may be: shorten it."));
    if (rc == AM_OK) {
        if (fr->need.nonce[0]) {
            snprintf(h->nonces[h->nonce_at], sizeof h->nonces[0], "%s", fr->need.nonce);
            h->nonce_at = (h->nonce_at + 1) % HTTP_NONCES;
        }
        return reply_x(c, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8", done, sizeof done - 1, 0,
                       &x);
    }
    /* the form again, as typed, with the reason */
    x.location = NULL;
    rc = webapp_need_form(&w, &fr->need, msg, &page, &len);
    if (rc != AM_OK)
        return app_reply(c, rc, NULL, 0, &x);
    x.csp = csp_form;
    return reply_x(c, MHD_HTTP_UNPROCESSABLE_CONTENT, "text/html; charset=utf-8", page, len, 1, &x);
}

/* A page of webapp_forms.h into a reply, with the status it asks for; x: the request's
 * language (request_lang), which an error page is in too. */
static enum MHD_Result form_reply(struct MHD_Connection *c, int rc, struct extra *x,
                                  struct webapp_answer *a)
{
    x->csp = csp_form;
    if (rc != AM_OK)
        return app_reply(c, rc, NULL, 0, x);
    return reply_x(c, a->status, "text/html; charset=utf-8", a->out, a->len, 1, x);
}

/* GET of a need's page (/needs/ID) or of the stock form (/stock/update?site=S&item=I). */
static enum MHD_Result change_page(struct MHD_Connection *c, const struct webapp_ctx *w, int route,
                                   const char *url, struct extra *x)
{
    struct webapp_answer a;
    char id[40];
    int rc;
    memset(&a, 0, sizeof a);
    if (route == HTTP_ROUTE_NEED_PAGE) {
        snprintf(id, sizeof id, "%.*s", (int)strcspn(url + 7, "?#"), url + 7); /* 4..32 */
        rc = webapp_need_page(w, id, &a);
    } else {
        rc = webapp_stock_page(w, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "site"),
                               MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "item"), &a);
    }
    return form_reply(c, rc, x, &a);
}

/* An update form is in (a need's, or a receipt, an issue or a count): check who sends it,
 * then write it once; a second tap of the same form gets what the first one recorded. */
static enum MHD_Result change_answer(struct http_server *h, struct MHD_Connection *c,
                                     struct form_req *fr, const char *url)
{
    struct webapp_ctx w = {.n = h->n, .status = h->status, .can_write = 1, .csrf = ""};
    struct webapp_change_form *f = &fr->change;
    char csrf[WEBDEV_COOKIE_CHARS + 1] = "", id[40];
    const char *again = NULL, *why = NULL;
    uint8_t dev[WEBDEV_ID_LEN], *sk = NULL;
    struct webapp_answer a;
    struct extra xl = {0};
    unsigned refuse;
    int rc, role = h->hosts.loopback ? WEBDEV_WRITE : device_role(h, c, csrf, dev);

    w.lang = request_lang(c, &xl);
    w.path = url; /* the page answered is the form's own */
    if (role != WEBDEV_WRITE)
        return text(c, role ? MHD_HTTP_FORBIDDEN : MHD_HTTP_UNAUTHORIZED,
                    role ? i18n_s(w.lang, "this phone is paired to read only: ask the "
                                          "coordinator for a code with --write\n")
                         : i18n_s(w.lang, "this phone is not paired with this node: pair it at "
                                          "/pair\n"));
    w.csrf = csrf;
    if (!h->hosts.loopback && (strlen(f->csrf) != WEBDEV_COOKIE_CHARS ||
                               sodium_memcmp(f->csrf, csrf, WEBDEV_COOKIE_CHARS) != 0))
        return text(c, MHD_HTTP_FORBIDDEN,
                    i18n_s(w.lang, "this form did not come from this phone's page: open the "
                                   "page again and send it from there\n"));
    for (size_t i = 0; f->nonce[0] && i < HTTP_NONCES; i++)
        if (strcmp(h->nonces[i], f->nonce) == 0)
            again = h->done[i];
    if (!h->hosts.loopback && (refuse = device_signer(h, dev, w.lang, &sk, &why)))
        return text(c, refuse, why);
    w.sk = sk; /* the phone's own key signs what it enters */
    memset(&a, 0, sizeof a);
    if (fr->route == HTTP_ROUTE_NEED_CHANGE) {
        snprintf(id, sizeof id, "%.*s", (int)strcspn(url + 7, "?#"), url + 7); /* 4..32 */
        rc = webapp_need_change(&w, id, f, fr->bad, again, &a);
    } else {
        rc = webapp_stock_change(&w, f, fr->bad, again, &a);
    }
    sodium_free(sk);
    w.sk = NULL;
    if (a.written && f->nonce[0]) { /* taken: a second tap writes nothing */
        snprintf(h->nonces[h->nonce_at], sizeof h->nonces[0], "%s", f->nonce);
        snprintf(h->done[h->nonce_at], sizeof h->done[0], "%s", a.done);
        h->nonce_at = (h->nonce_at + 1) % HTTP_NONCES;
    }
    return form_reply(c, rc, &xl, &a);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct http_server *h = cls;
    struct http_conn *k = conn_of(c);
    struct form_req *pr = *con_cls;
    struct webapp_ctx w = {.n = h->n, .status = h->status, .csrf = ""};
    char csrf[WEBDEV_COOKIE_CHARS + 1] = "";
    int route, role;
    struct header_list hl;
    struct dashboard_opts o;
    struct extra x = {0};
    char *page;
    size_t len;
    int rc;
    (void)version;

    if (pr) { /* the body of a form, then the answer */
        if (*upload_size) {
            pr->body += *upload_size;
            if (pr->body >
                    (pr->route == HTTP_ROUTE_PAIR ? HTTP_PAIR_BODY_MAX : HTTP_FORM_BODY_MAX) ||
                MHD_post_process(pr->pp, upload_data, *upload_size) != MHD_YES)
                pr->bad = 1;
            *upload_size = 0;
            return MHD_YES;
        }
        if (pr->route == HTTP_ROUTE_NEED_CHANGE || pr->route == HTTP_ROUTE_STOCK_CHANGE)
            return change_answer(h, c, pr, url);
        return pr->route == HTTP_ROUTE_PAIR ? pair_answer(h, c, pr) : need_answer(h, c, pr);
    }
    if (k && !k->answering) { /* the request is in: the answer has its own deadline */
        k->answering = 1;
        k->deadline_ms = mono_ms() + HTTP_ANSWER_DEADLINE_S * 1000u;
    }
    memset(&hl, 0, sizeof hl);
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &hl);
    w.lang = request_lang(c, &x);
    w.path = url; /* a route's path (http_route): the language switcher links there */
    switch ((route = http_route(&h->hosts, method, url, hl.v, hl.n, hl.more))) {
    case 400:
        return text(c, MHD_HTTP_BAD_REQUEST,
                    i18n_s(w.lang, "a request must name one Host (this one has several, or too "
                                   "many headers)\n"));
    case 405:
        return text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                    i18n_s(w.lang, "this page is read-only: only GET and HEAD are answered (and "
                                   "a POST of the pairing form at /pair)\n"));
    case 403:
        return text(c, MHD_HTTP_FORBIDDEN,
                    i18n_s(w.lang, "refused: this node answers only to its own addresses, and "
                                   "takes forms only from its own pages\n"));
    case 404:
        return text(c, MHD_HTTP_NOT_FOUND, i18n_s(w.lang, "no such page: the dashboard is at /\n"));
    case HTTP_ROUTE_PAIR_FORM:
        return pair_page(c, MHD_HTTP_OK, NULL, &x);
    case HTTP_ROUTE_PAIR:
    case HTTP_ROUTE_NEED_ADD:
    case HTTP_ROUTE_NEED_CHANGE:
    case HTTP_ROUTE_STOCK_CHANGE:
        if (!(pr = calloc(1, sizeof *pr)))
            return MHD_NO;
        pr->route = route;
        if (!(pr->pp = MHD_create_post_processor(c, 512, on_field, pr))) {
            free(pr);
            return text(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                        i18n_s(w.lang, "send the form as the page does "
                                       "(application/x-www-form-urlencoded)\n"));
        }
        *con_cls = pr;
        return MHD_YES; /* the body comes in the next calls */
    default:
        break;
    }
    role = h->hosts.loopback ? WEBDEV_WRITE : device_role(h, c, csrf, NULL);
    if (!role) {
        if (!(page = http_pair_unpaired_page(w.lang, &len)))
            return text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                        i18n_s(w.lang, "out of memory: reload in a moment\n"));
        return reply_x(c, MHD_HTTP_UNAUTHORIZED, "text/html; charset=utf-8", page, len, 1, &x);
    }
    w.can_write = role == WEBDEV_WRITE;
    w.csrf = csrf;
    if (route == HTTP_ROUTE_NEEDS) {
        rc = webapp_needs(&w, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "site"),
                          MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status"),
                          MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "priority"),
                          MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q"), &page, &len);
        return app_reply(c, rc, page, len, &x);
    }
    if (route == HTTP_ROUTE_STOCK) {
        rc = webapp_stock(&w, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "site"),
                          MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "item"), &page,
                          &len);
        return app_reply(c, rc, page, len, &x);
    }
    if (route == HTTP_ROUTE_CATALOGUE) {
        rc = webapp_catalogue(&w, &page, &len);
        return app_reply(c, rc, page, len, &x);
    }
    if (route == HTTP_ROUTE_NEED_PAGE || route == HTTP_ROUTE_STOCK_FORM)
        return change_page(c, &w, route, url, &x);
    if (route == HTTP_ROUTE_NEED_FORM) {
        if (!w.can_write)
            return text(c, MHD_HTTP_FORBIDDEN,
                        i18n_s(w.lang, "this phone is paired to read only: ask the "
                                       "coordinator for a code with --write\n"));
        rc = webapp_need_form(&w, NULL, NULL, &page, &len);
        return app_reply(c, rc, page, len, &x);
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

/* Adds "ADDR:PORT" (and "ADDR" on port 80: a browser leaves the default port out). */
static void hosts_add(struct http_hosts *hs, size_t *n, const char *addr, unsigned port)
{
    if (*n < HTTP_HOSTS_MAX)
        snprintf(hs->hosts[(*n)++], sizeof hs->hosts[0], "%s:%u", addr, port);
    if (port == (hs->tls ? 443u : 80u) && *n < HTTP_HOSTS_MAX)
        snprintf(hs->hosts[(*n)++], sizeof hs->hosts[0], "%s", addr);
}

/* The Host values of a server bound to `bound` (text: host): its address, "localhost" on
 * loopback, and every interface address of its family when bound to 0.0.0.0 or ::. */
static void hosts_fill(struct http_hosts *hs, const struct sockaddr_storage *bound,
                       const char *host, unsigned port)
{
    size_t n = 0;
    int any = bound->ss_family == AF_INET6
                  ? IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)bound)->sin6_addr)
                  : ((const struct sockaddr_in *)bound)->sin_addr.s_addr == htonl(INADDR_ANY);
    memset(hs->hosts, 0, sizeof hs->hosts);
    if (!any)
        hosts_add(hs, &n, host, port);
    if (hs->loopback)
        hosts_add(hs, &n, "localhost", port);
    if (any) {
        struct ifaddrs *ifa = NULL;
        if (getifaddrs(&ifa) == 0) {
            for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                struct sockaddr_storage ss;
                char t[INET6_ADDRSTRLEN + 2];
                unsigned p;
                if (!i->ifa_addr || i->ifa_addr->sa_family != bound->ss_family)
                    continue;
                memset(&ss, 0, sizeof ss);
                memcpy(&ss, i->ifa_addr,
                       bound->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                    : sizeof(struct sockaddr_in));
                sa_text(&ss, t, sizeof t, &p);
                if (is_loopback(&ss))
                    hosts_add(hs, &n, "localhost", port);
                hosts_add(hs, &n, t, port);
            }
            freeifaddrs(ifa);
        }
    }
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
               const struct http_tls *tls, struct status_snapshot *status, char *url,
               size_t url_cap, char *err, size_t err_cap)
{
    /* HTTPS: TLS 1.2 and 1.3 only (every phone of the last ten years speaks 1.2) */
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, tls ? (void *)tls->key_pem : NULL},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, tls ? (void *)tls->cert_pem : NULL},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
        {MHD_OPTION_END, 0, NULL}};
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
    h->hosts.tls = tls != NULL;
    sa_text(&bound, host, sizeof host, &port);
    hosts_fill(&h->hosts, &bound, host, port);
    for (size_t i = 0, k = 0; tls && tls->names && i < tls->names->n; i++) /* NAME.local */
        if (!strchr(tls->names->v[i], ':') &&
            strspn(tls->names->v[i], "0123456789.") != strlen(tls->names->v[i])) {
            while (k < HTTP_HOSTS_MAX && h->hosts.hosts[k][0])
                k++;
            hosts_add(&h->hosts, &k, tls->names->v[i], port);
        }
    /* the web app's catalogues, read now: no other thread of this process runs yet (the
     * server's starts below), as i18n_init needs; without them the pages are in English */
    {
        char why[400];
        if (i18n_init(NULL, why, sizeof why) != AM_OK && why[0])
            fprintf(stderr, "aidmesh: %s\n", why);
    }
    /* run by a thread of ours (serve), so the deadlines are looked at between its turns;
     * epoll where there is one, so descriptors above 1,023 work */
    h->mhd = MHD_start_daemon(
        MHD_USE_AUTO | (bound.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0) | (tls ? MHD_USE_TLS : 0),
        0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)HTTP_CONN_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_IP_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT_S, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
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
    snprintf(url, url_cap, "%s://%s:%u/", tls ? "https" : "http", host, port);
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
