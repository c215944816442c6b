/*
 * http.h: the dashboard (dashboard.h) over HTTP for the hub's screen, with libmicrohttpd.
 * Off unless the operator asks (`aidmesh run --http ADDR:PORT`); loopback unless the
 * operator names another address.
 *
 * Read-only: GET (and HEAD) of "/" serves the page; any other path is 404, any other
 * method 405. Requests are answered on one thread of libmicrohttpd's own, which reads
 * the store through short read transactions opened on that thread (LMDB read
 * transactions belong to the thread that opens them) and reads the daemon's status file
 * for the peers; it never touches the daemon's libuv loop. When bound to a loopback
 * address, requests naming another host (a DNS-rebinding web page) are refused.
 */
#ifndef AM_HTTP_H
#define AM_HTTP_H

#include <stddef.h>

#include "node.h"

struct http_server;

/*
 * Starts serving node `n` at `spec`: "ADDR:PORT" or "[V6ADDR]:PORT" with a numeric
 * address, or "PORT" alone for 127.0.0.1 (port 0: any free port). `n` must stay open
 * until http_stop. On AM_OK *out is the caller's (http_stop) and url (cap >= 80) says
 * where the page is, e.g. "http://127.0.0.1:8080/". On failure err (cap >= 200) holds a
 * sentence naming the address and what to do. Returns AM_OK, AM_EINVAL (not an
 * address), AM_EEXIST (the port is taken), AM_EPERM (a port below 1024 without root),
 * AM_ENOTFOUND (no interface has that address), AM_ESYS, AM_ENOMEM.
 */
int http_start(struct http_server **out, struct node *n, const char *spec, char *url,
               size_t url_cap, char *err, size_t err_cap);

/* Stops serving: waits for requests in progress, closes the socket, frees h (NULL: no-op). */
void http_stop(struct http_server *h);

#endif
