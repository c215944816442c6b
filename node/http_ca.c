/*
 * http_ca.c: the certificate authority's download port (http_ca.h).
 * Must never: serve anything but the public certificate and its page, read a request's
 * body, headers or cookies, or set a cookie.
 */
#include "http_ca.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "am_err.h"
#include "daemon.h" /* daemon_split_hostport */

struct http_ca {
    struct MHD_Daemon *mhd;
    uint8_t *der;
    size_t der_len;
    char *page;
    size_t page_len;
};

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *type,
                              const void *body, size_t len, const char *disposition)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors "
                            "'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (disposition)
        MHD_add_response_header(r, "Content-Disposition", disposition);
    ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    static const char not_found[] = "no such page: the certificate is at /ca.crt\n";
    static const char not_allowed[] = "only GET and HEAD are answered here\n";
    struct http_ca *h = cls;
    size_t plen = strcspn(url, "?#");
    (void)version;
    (void)upload_data;
    (void)con_cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        *upload_size = 0; /* a body is never read */
        return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", not_allowed,
                      sizeof not_allowed - 1, NULL);
    }
    if (plen == 1 && url[0] == '/')
        return answer(c, MHD_HTTP_OK, "text/html; charset=utf-8", h->page, h->page_len, NULL);
    if (plen == 7 && strncmp(url, "/ca.crt", 7) == 0)
        return answer(c, MHD_HTTP_OK, "application/x-x509-ca-cert", h->der, h->der_len,
                      "attachment; filename=\"aidmesh-ca.crt\"");
    return answer(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", not_found,
                  sizeof not_found - 1, NULL);
}

/* The page of "/": what the phone's person does, in order. The fingerprint and the URL are
 * ours (hex and colons; a numeric address), never a request's. */
static char *make_page(const char *fingerprint, const char *https_url, size_t *len)
{
    static const char fmt[] =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
        "content=\"width=device-width, initial-scale=1\"><title>aidmesh: install the "
        "certificate</title><style>body{font-family:sans-serif;margin:1em;max-width:40em}"
        "code{word-break:break-all;font-size:1.1em}</style></head><body>"
        "<h1>Trust this node's pages</h1>"
        "<p>1. <a href=\"/ca.crt\">Download the node's certificate</a> (aidmesh-ca.crt).</p>"
        "<p>2. Install it. <b>Android:</b> Settings &gt; Security (&gt; More security settings "
        "&gt; Encryption &amp; credentials) &gt; Install a certificate &gt; CA certificate, "
        "and pick aidmesh-ca.crt. <b>iPhone:</b> allow the profile, then Settings &gt; "
        "General &gt; VPN &amp; Device Management &gt; install it, then Settings &gt; General "
        "&gt; About &gt; Certificate Trust Settings &gt; turn it on.</p>"
        "<p>3. Check it: the certificate's SHA-256 fingerprint, in its details on the phone, "
        "must be the one the coordinator's screen shows (<code>aidmesh web ca</code>). This "
        "page says:</p><p><code>%s</code></p><p>If they differ, remove the certificate "
        "and tell the coordinator: someone on this Wi-Fi may be changing what you download.</p>"
        "<p>4. Open <a href=\"%spair\">%spair</a> and type the pairing code.</p>"
        "</body></html>\n";
    int n = snprintf(NULL, 0, fmt, fingerprint, https_url, https_url);
    char *page = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (!page)
        return NULL;
    snprintf(page, (size_t)n + 1, fmt, fingerprint, https_url, https_url);
    *len = (size_t)n;
    return page;
}

int http_ca_start(struct http_ca **out, const char *spec, const uint8_t *der, size_t der_len,
                  const char *fingerprint, const char *https_url, char *url, size_t url_cap,
                  char *err, size_t err_cap)
{
    char host[256], port_s[8];
    struct sockaddr_storage sa;
    socklen_t sl;
    struct http_ca *h;
    int fd = -1, one = 1, e;
    long port;

    *out = NULL;
    memset(&sa, 0, sizeof sa);
    if (daemon_split_hostport(spec, host, sizeof host, port_s, sizeof port_s) != AM_OK ||
        (port = strtol(port_s, NULL, 10)) <= 0 || port > 65535) {
        snprintf(err, err_cap, "'%s' is not ADDR:PORT for the certificate's download port", spec);
        return AM_EINVAL;
    }
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&sa)->sin_addr) == 1) {
        ((struct sockaddr_in *)&sa)->sin_family = AF_INET;
        ((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
        sl = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&sa)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&sa)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
        sl = sizeof(struct sockaddr_in6);
    } else {
        snprintf(err, err_cap, "'%s' is not a numeric address for the certificate's download port",
                 spec);
        return AM_EINVAL;
    }
    if ((fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(err, err_cap, "cannot serve the certificate on %s: %s", spec, strerror(errno));
        return AM_ESYS;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sl) != 0 || listen(fd, 16) != 0) {
        e = errno;
        close(fd);
        snprintf(err, err_cap,
                 "cannot serve the certificate on %s: %s; pick another port with `aidmesh web "
                 "on --https --ca-port PORT` (0: no download port)",
                 spec, strerror(e));
        return e == EADDRINUSE ? AM_EEXIST : AM_ESYS;
    }
    if (!(h = calloc(1, sizeof *h)) || !(h->der = malloc(der_len ? der_len : 1)) ||
        !(h->page = make_page(fingerprint, https_url, &h->page_len))) {
        close(fd);
        http_ca_stop(h);
        snprintf(err, err_cap, "cannot serve the certificate: out of memory");
        return AM_ENOMEM;
    }
    memcpy(h->der, der, der_len);
    h->der_len = der_len;
    h->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
            (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)HTTP_CA_CONN_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_CA_PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CA_TIMEOUT_S, MHD_OPTION_END);
    if (!h->mhd) {
        close(fd);
        http_ca_stop(h);
        snprintf(err, err_cap, "cannot serve the certificate on %s: the server did not start",
                 spec);
        return AM_ESYS;
    }
    snprintf(url, url_cap, "http://%s%s%s:%ld/", sa.ss_family == AF_INET6 ? "[" : "", host,
             sa.ss_family == AF_INET6 ? "]" : "", port);
    *out = h;
    return AM_OK;
}

void http_ca_stop(struct http_ca *h)
{
    if (!h)
        return;
    if (h->mhd)
        MHD_stop_daemon(h->mhd);
    free(h->der);
    free(h->page);
    free(h);
}
