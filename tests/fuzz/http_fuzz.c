/*
 * http_fuzz.c: libFuzzer target for the dashboard's decision on a request
 * (node/http.c: http_route). libmicrohttpd parses HTTP; what is ours is what a parsed
 * request is answered with: the Host count and check, the method, the path.
 *
 * Input: a first byte of flags (bit 0: bound to loopback; bit 1: the request had more
 * headers than were passed; bit 2: port 80), then lines separated by '\n': the method, the
 * URL, then one header a line as "Name:value" (a line without ':' is a name with no value).
 * Bytes are passed as they are (a NUL ends a field early, as C strings do). At most
 * HTTP_HEADERS_MAX headers are passed; the rest are dropped (more set).
 *
 * Invariants (a broken one abort()s): the status is one of 400, 403, 404, 405 or a route
 * (HTTP_ROUTE_*); two or more Host headers give 400; a route only with at most one Host,
 * which is one of ours (off the loopback there must be one); each route only on its path
 * (a query allowed): the dashboard "/" or "/index.html", the pairing "/pair", the needs
 * "/needs", the new-need form "/needs/new", the stock "/stock", a need's page "/needs/" and 4
 * to 32 hex digits, the stock form "/stock/update"; a form taken (pairing, new need, a need's
 * update, a stock record) only from a POST whose one Origin is "http://" and its Host, every
 * other route only for GET or HEAD; the same request gives the same status twice.
 *
 * Corpus (tests/fuzz/corpus/http/): the requests a browser, curl and the tests send, two
 * Host headers, a foreign Host, a POST, odd paths, no headers, binary junk, pairing forms
 * of this origin and of another, a need's page and its update (of this origin, of another,
 * a need id that is not hex), the stock form and its POST.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "http.h"

#define LINE_MAX_BYTES 256

static char lines[HTTP_HEADERS_MAX + 2][LINE_MAX_BYTES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_header hdr[HTTP_HEADERS_MAX];
    struct http_hosts hosts;
    size_t nl = 0, n = 0, n_host = 0, n_origin = 0, plen;
    const char *host = NULL, *origin = NULL;
    int more, status;
    const char *method, *url;

    if (size == 0)
        return 0;
    memset(&hosts, 0, sizeof hosts);
    hosts.loopback = data[0] & 1;
    more = (data[0] >> 1) & 1;
    snprintf(hosts.hosts[0], sizeof hosts.hosts[0], "127.0.0.1:%u", data[0] & 4 ? 80u : 8080u);
    snprintf(hosts.hosts[1], sizeof hosts.hosts[1], "localhost:%u", data[0] & 4 ? 80u : 8080u);
    if (data[0] & 4)
        snprintf(hosts.hosts[2], sizeof hosts.hosts[2], "127.0.0.1");

    memset(lines, 0, sizeof lines);
    for (size_t i = 1, len = 0; i < size; i++) {
        if (data[i] == '\n') {
            if (++nl == HTTP_HEADERS_MAX + 2) {
                more = 1;
                break;
            }
            len = 0;
        } else if (len + 1 < LINE_MAX_BYTES) {
            lines[nl][len++] = (char)data[i];
        }
    }
    if (nl < HTTP_HEADERS_MAX + 2)
        nl++;
    method = lines[0];
    url = lines[1];
    for (size_t i = 2; i < nl; i++) {
        char *colon = strchr(lines[i], ':');
        if (colon)
            *colon = 0;
        hdr[n].name = lines[i];
        hdr[n].value = colon ? colon + 1 : NULL;
        if (strcasecmp(hdr[n].name, "Host") == 0) {
            n_host++;
            host = hdr[n].value ? hdr[n].value : "";
        }
        if (strcasecmp(hdr[n].name, "Origin") == 0) {
            n_origin++;
            origin = hdr[n].value ? hdr[n].value : "";
        }
        n++;
    }

    status = http_route(&hosts, method, url, hdr, n, more);
    CHECK(status == HTTP_ROUTE_PAGE || status == HTTP_ROUTE_PAIR_FORM ||
          status == HTTP_ROUTE_PAIR || status == HTTP_ROUTE_NEEDS ||
          status == HTTP_ROUTE_NEED_ADD || status == HTTP_ROUTE_NEED_FORM ||
          status == HTTP_ROUTE_STOCK || status == HTTP_ROUTE_NEED_PAGE ||
          status == HTTP_ROUTE_NEED_CHANGE || status == HTTP_ROUTE_STOCK_FORM ||
          status == HTTP_ROUTE_STOCK_CHANGE || status == 400 || status == 403 || status == 404 ||
          status == 405);
    if (n_host > 1 || more)
        CHECK(status == 400);
    if (status < 300) { /* a route: 200, 210, ... (errors are 4xx) */
        int ours = 0;
        CHECK(n_host <= 1);
        CHECK(host || hosts.loopback);
        for (int i = 0; host && i < HTTP_HOSTS_MAX; i++)
            ours |= hosts.hosts[i][0] && strcasecmp(host, hosts.hosts[i]) == 0;
        CHECK(!host || ours);
        plen = strcspn(url, "?#");
        if (status == HTTP_ROUTE_PAGE)
            CHECK((plen == 1 && url[0] == '/') ||
                  (plen == 11 && memcmp(url, "/index.html", 11) == 0));
        else if (status == HTTP_ROUTE_PAIR_FORM || status == HTTP_ROUTE_PAIR)
            CHECK(plen == 5 && memcmp(url, "/pair", 5) == 0);
        else if (status == HTTP_ROUTE_NEED_FORM)
            CHECK(plen == 10 && memcmp(url, "/needs/new", 10) == 0);
        else if (status == HTTP_ROUTE_STOCK)
            CHECK(plen == 6 && memcmp(url, "/stock", 6) == 0);
        else if (status == HTTP_ROUTE_STOCK_FORM || status == HTTP_ROUTE_STOCK_CHANGE)
            CHECK(plen == 13 && memcmp(url, "/stock/update", 13) == 0);
        else if (status == HTTP_ROUTE_NEED_PAGE || status == HTTP_ROUTE_NEED_CHANGE)
            CHECK(plen >= 11 && plen <= 39 && memcmp(url, "/needs/", 7) == 0 &&
                  strspn(url + 7, "0123456789abcdefABCDEF") == plen - 7);
        else
            CHECK(plen == 6 && memcmp(url, "/needs", 6) == 0);
        if (status == HTTP_ROUTE_PAIR || status == HTTP_ROUTE_NEED_ADD ||
            status == HTTP_ROUTE_NEED_CHANGE || status == HTTP_ROUTE_STOCK_CHANGE) {
            CHECK(strcmp(method, "POST") == 0 && host && n_origin == 1);
            CHECK(strncmp(origin, "http://", 7) == 0 && strcasecmp(origin + 7, host) == 0);
        } else {
            CHECK(strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0);
        }
    }
    CHECK(http_route(&hosts, method, url, hdr, n, more) == status);
    return 0;
}
