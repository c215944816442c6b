/*
 * http_ca.h: the plain-HTTP port beside the web app's HTTPS listener, from which a phone
 * downloads the node's certificate authority (webtls.h) before it trusts the HTTPS pages.
 *
 * Answers GET and HEAD only: "/" a short page (the authority's SHA-256 fingerprint to
 * compare with the coordinator's screen, how to install it, the HTTPS address), "/ca.crt"
 * the authority's certificate in DER (application/x-x509-ca-cert); anything else 404, any
 * other method 405. It serves nothing secret and reads nothing from a request but its
 * method and path: the certificate is public, and what an attacker on the Wi-Fi could swap
 * in transit is caught by the fingerprint (README "Web app security"). Bounded: at most
 * HTTP_CA_CONN_LIMIT connections, HTTP_CA_PER_IP from one address, each cut after
 * HTTP_CA_TIMEOUT_S idle; libmicrohttpd's own thread serves it.
 */
#ifndef AM_HTTP_CA_H
#define AM_HTTP_CA_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_CA_CONN_LIMIT 16
#define HTTP_CA_PER_IP     2
#define HTTP_CA_TIMEOUT_S  10

struct http_ca;

/*
 * Serves `der` (copied) at "ADDR:PORT" `spec` (http.h's forms), `fingerprint` and the
 * HTTPS pages' address `https_url` on its page. On AM_OK *out is the caller's
 * (http_ca_stop) and url (cap >= 80) says where, e.g. "http://10.0.0.5:8080/"; on failure
 * err holds a sentence. Returns AM_OK, AM_EINVAL, AM_EEXIST (port taken), AM_ESYS,
 * AM_ENOMEM.
 */
int http_ca_start(struct http_ca **out, const char *spec, const uint8_t *der, size_t der_len,
                  const char *fingerprint, const char *https_url, char *url, size_t url_cap,
                  char *err, size_t err_cap);

/* Stops it and frees h (NULL: no-op). */
void http_ca_stop(struct http_ca *h);

#endif
