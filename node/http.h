/*
 * http.h: the dashboard (dashboard.h) over HTTP for the hub's screen, with libmicrohttpd.
 * Off unless the operator asks (`aidmesh run --http ADDR:PORT`, or `aidmesh web on`:
 * webconf.h); loopback unless the operator names another address; HTTPS with the node's
 * own certificate authority when asked (http_tls below; webtls.h).
 *
 * GET (and HEAD) of "/" serves the page, of "/pair" the form where a phone types a
 * pairing code (http_pair.h), which it POSTs to "/pair"; any other path is 404, any other
 * method 405. Off the loopback only paired devices (webdev.h: a cookie set when their code
 * was taken) see the page; the others get 401 and a link to /pair. Requests are answered on one
 * thread of libmicrohttpd's own, which reads the store through short read transactions opened on
 * that thread (LMDB read transactions belong to the thread that opens them) and copies the daemon's
 * live status for the peers out of its snapshot under the snapshot's mutex (status.h); it never
 * touches the daemon's libuv loop. Requests naming another host than the server's own
 * addresses (a DNS-rebinding web page) are refused; a request with more than one Host
 * header is refused everywhere (400); a POST must come from a page of this origin.
 *
 * Bounded (the limits are at the top of http.c and below): at most 64
 * connections, 4 from one address; a connection has HTTP_REQUEST_DEADLINE_S from its
 * start (or from its previous answer) until its request is complete, and
 * HTTP_ANSWER_DEADLINE_S to take the answer, however slowly it trickles bytes: then it is
 * cut. When more than 48 connections wait for their request, the oldest of them is cut, so
 * a client that sends its request at once always gets in. What is left: an outsider with
 * many addresses who opens connections faster than a client completes one can still crowd
 * it out; each of its connections costs it a socket and lasts at most the deadline.
 */
#ifndef AM_HTTP_H
#define AM_HTTP_H

#include <stddef.h>

#include "am_limits.h"

#include "node.h"
#include "status.h"
#include "webtls.h"

struct http_server;

/*
 * Starts serving node `n` at `spec`: "ADDR:PORT" or "[V6ADDR]:PORT" with a numeric
 * address, or "PORT" alone for 127.0.0.1 (port 0: any free port). `n` must stay open
 * until http_stop. On AM_OK *out is the caller's (http_stop) and url (cap >= 80) says
 * where the page is, e.g. "http://127.0.0.1:8080/". On failure err (cap >= 200) holds a
 * sentence naming the address and what to do. Returns AM_OK, AM_EINVAL (not an
 * address), AM_EEXIST (the port is taken), AM_EPERM (a port below 1024 without root),
 * AM_ENOTFOUND (no interface has that address), AM_ESYS, AM_ENOMEM. `status` (the daemon's
 * snapshot; NULL: the page asks the node over its control socket) must stay valid until
 * http_stop.
 */
/* HTTPS instead (`aidmesh web on --https`; webtls.h): the server's key and certificate as
 * PEM text, valid until http_stop; the URL is then "https://...", a POST's Origin must be
 * "https://" and its Host, the cookie of a device is Secure, and the certificate's DNS
 * names (NAME.local) are answered as Host too. NULL: plain HTTP. */
struct http_tls {
    const char *key_pem, *cert_pem;
    const struct webtls_names *names;
};
int http_start(struct http_server **out, struct node *n, const char *spec,
               const struct http_tls *tls, struct status_snapshot *status, char *url,
               size_t url_cap, char *err, size_t err_cap);

/* Stops serving (within a quarter of a second): closes every connection and the socket,
 * frees h (NULL: no-op). */
void http_stop(struct http_server *h);

/* From a connection's start (or its previous answer) to its whole request. */
#define HTTP_REQUEST_DEADLINE_S 10
/* From the request to the answer taken: a page of a large store on a slow phone. */
#define HTTP_ANSWER_DEADLINE_S 30

/* ---- the decision on a request, split out for tests/fuzz/http_fuzz.c ---- */

#define HTTP_HEADERS_MAX AM_HTTP_HEADERS_MAX /* headers looked at; more: refused (400) */

struct http_header {
    const char *name, *value; /* NUL-terminated (NULL value: empty) */
};

/* Which Host values the server answers to: "ADDR:PORT" of the address it is bound to (of
 * each interface address, when bound to 0.0.0.0 or ::), "localhost:PORT" on loopback, and
 * the bare ADDR on port 80; "" for none. */
#define HTTP_HOSTS_MAX 16
struct http_hosts {
    int loopback;
    int tls; /* an HTTPS listener: forms come from "https://" pages */
    char hosts[HTTP_HOSTS_MAX][64];
};

/* What http_route decides for a request it lets through: */
#define HTTP_ROUTE_PAGE         200 /* GET or HEAD of / (or /index.html): the dashboard */
#define HTTP_ROUTE_PAIR_FORM    210 /* GET or HEAD of /pair: the pairing form */
#define HTTP_ROUTE_PAIR         211 /* POST of /pair from a page of this very origin: a code */
#define HTTP_ROUTE_NEEDS        220 /* GET or HEAD of /needs: the phone page of needs */
#define HTTP_ROUTE_NEED_ADD     221 /* POST of /needs from a page of this origin: a new need */
#define HTTP_ROUTE_NEED_FORM    222 /* GET or HEAD of /needs/new: the form of a new need */
#define HTTP_ROUTE_STOCK        230 /* GET or HEAD of /stock: the phone page of stock */
#define HTTP_ROUTE_NEED_PAGE    223 /* GET or HEAD of /needs/ID (4..32 hex digits): a need */
#define HTTP_ROUTE_NEED_CHANGE  224 /* POST of /needs/ID from a page of this origin: an update */
#define HTTP_ROUTE_STOCK_FORM   231 /* GET or HEAD of /stock/update: record stock */
#define HTTP_ROUTE_STOCK_CHANGE 232 /* POST of /stock/update from a page of this origin */
#define HTTP_ROUTE_CATALOGUE    240 /* GET or HEAD of /catalogue: the sites and items */

/*
 * The answer's status for a request as libmicrohttpd parsed it: `method`, `url` (the path,
 * maybe with a query), and its `n` headers (`more`: it had more than were passed). Pure:
 * reads only its arguments. Returns, checked in this order: 400 (more than one Host
 * header, or `more`); 403 (a Host that is not one of ours: a DNS-rebinding page; off the
 * loopback also no Host at all); 404 (not "/", "/index.html", "/pair", "/needs",
 * "/needs/new", "/needs/ID" with 4 to 32 hex digits, "/stock" or "/stock/update"); 405 (a method
 * the path does not take: GET and HEAD everywhere, POST only at /pair, /needs, /needs/ID and
 * /stock/update); 403 (a POST whose Origin is not "http://" ("https://" when tls) and its
 * own Host: a page of another site submitting the form); else one of the HTTP_ROUTE_* above.
 * Whether the browser may see the page or write (a paired device off the loopback, its role, its
 * form token) is decided after, with the devices.
 */
int http_route(const struct http_hosts *hosts, const char *method, const char *url,
               const struct http_header *hdr, size_t n, int more);

#endif
