/*
 * webtls.h: the node-local certificate authority of the web app's HTTPS listener
 * (`aidmesh web on --https`), and the server certificate it signs, with GnuTLS's x509 API.
 *
 * Four files in the node's home, each written atomically with mode 0600 (home.h's key file
 * writer) and refused on read when others may read them:
 *   DIR/web-ca.key   the authority's ECDSA P-256 key (PEM)
 *   DIR/web-ca.crt   its self-signed certificate (PEM): CA, path length 0, usable only to
 *                    sign certificates, valid WEBTLS_CA_DAYS, and name-constrained
 *                    (critical) to DNS names under "local" and "localhost", IPv4 addresses
 *                    of the private, shared, link-local and loopback ranges, and IPv6: a
 *                    phone that installs it trusts it for the hub's Wi-Fi, never for a bank
 *   DIR/web-tls.key  the server's ECDSA P-256 key (PEM)
 *   DIR/web-tls.crt  the server certificate (PEM): the names and addresses of the listener
 *                    (webtls_names) as SubjectAltNames, TLS server use only, valid
 *                    WEBTLS_SERVER_DAYS (under the 825 days Apple's phones accept); made
 *                    again when those names change, when it has under 30 days left, or
 *                    when the authority changed.
 * Never prints; every time is an argument (seconds since 1970). Errors are am_err.h codes;
 * the sentence is the caller's (webtls_error_text).
 */
#ifndef AM_WEBTLS_H
#define AM_WEBTLS_H

#include <stddef.h>
#include <stdint.h>

#define WEBTLS_CA_KEY      "web-ca.key"
#define WEBTLS_CA_CERT     "web-ca.crt"
#define WEBTLS_SERVER_KEY  "web-tls.key"
#define WEBTLS_SERVER_CERT "web-tls.crt"

#define WEBTLS_CA_DAYS     3650        /* ten years: installed once on each phone */
#define WEBTLS_SERVER_DAYS 397         /* a year and a month: remade at `run` before it ends */
#define WEBTLS_RENEW_DAYS  30          /* remade at `run` when fewer days are left */
#define WEBTLS_BACKDATE_S  (2 * 86400) /* valid from two days back: a phone's clock runs late */
#define WEBTLS_PEM_MAX     8192        /* bytes of one PEM file read back */
#define WEBTLS_FPR_LEN     32          /* SHA-256 */
#define WEBTLS_FPR_TEXT    (3 * WEBTLS_FPR_LEN) /* "AB:CD:...:EF" and its NUL */

/* The names a server certificate carries: DNS names and IP addresses (numeric text, IPv6
 * without brackets), each once, sorted. */
#define WEBTLS_NAMES_MAX 24
struct webtls_names {
    size_t n;
    char v[WEBTLS_NAMES_MAX][64];
};

/*
 * The names of a listener at `spec` (http.h: "ADDR:PORT", "[V6]:PORT" or "PORT"): its
 * address, or every interface address of its family when it is 0.0.0.0 or :: (IPv6
 * link-local addresses left out: a browser cannot name them), "localhost" when one of those
 * is a loopback address, `node_name` + ".local" when the node's name is a DNS label (letters,
 * digits, '-', at most 63), and this machine's host name + ".local" likewise (what mDNS
 * announces). An address outside the authority's name constraints (a public IPv4 address)
 * is left out, and counted in *left_out (nullable). Returns AM_OK, AM_EINVAL (`spec` is not
 * an address).
 */
int webtls_names_for(const char *spec, const char *node_name, struct webtls_names *out,
                     int *left_out);

/* Adds one name (DNS name or numeric address) unless present, keeping the list sorted.
 * AM_OK, AM_ELIMIT (full), AM_EINVAL (empty or too long). */
int webtls_names_add(struct webtls_names *ns, const char *name);

/* 1 when `addr` (numeric text) is inside the authority's name constraints, else 0. */
int webtls_addr_allowed(const char *addr);

/*
 * Makes the authority unless the home has one (its key kept if only the certificate is
 * missing). `label` (printable, nullable) goes into its name, e.g. the node's name. *made
 * (nullable): 1 when it was made now. Returns AM_OK, AM_EPERM (a file others can read or
 * not a plain file: home.h), AM_ECORRUPT (a file that does not parse), AM_ESYS (errno),
 * AM_ENOMEM.
 */
int webtls_ca_ensure(const char *home, const char *label, uint64_t now_s, int *made);

/*
 * Makes the server key and certificate for `names`, signed by the authority (which must
 * exist: AM_ENOTFOUND otherwise), unless the present ones already carry exactly these
 * names, verify against the authority, and are valid from now for WEBTLS_RENEW_DAYS more.
 * *made (nullable): 1 when made now. Errors as webtls_ca_ensure, and AM_EINVAL (no names).
 */
int webtls_server_ensure(const char *home, const struct webtls_names *names, uint64_t now_s,
                         int *made);

/* The server's key and certificate as PEM text for libmicrohttpd: *key_pem and *cert_pem are
 * the caller's (webtls_pem_free). AM_OK, AM_ENOTFOUND, and webtls_ca_ensure's errors. */
int webtls_server_pem(const char *home, char **key_pem, char **cert_pem);
/* Wipes and frees what webtls_server_pem gave (NULL: no-op). */
void webtls_pem_free(char *pem);

/* The authority's certificate in DER (what /ca.crt serves): *der is the caller's (free()).
 * And its SHA-256 fingerprint as "AB:CD:..." (what a phone's settings show). AM_OK,
 * AM_ENOTFOUND (no authority yet), AM_ECORRUPT, AM_EPERM, AM_ESYS, AM_ENOMEM. */
int webtls_ca_der(const char *home, uint8_t **der, size_t *len);
int webtls_ca_fingerprint(const char *home, char out[static WEBTLS_FPR_TEXT]);

/* Split out for the tests: the names, the validity and the issuer check of a certificate
 * (PEM text). `ca_pem` NULL: not checked (*signed_ok 0). Any out pointer may be NULL.
 * AM_OK or AM_ECORRUPT. */
int webtls_cert_info(const char *cert_pem, const char *ca_pem, struct webtls_names *names,
                     uint64_t *not_before, uint64_t *not_after, int *signed_ok, int *is_ca);

/* A sentence for rc about the file `name` of `home` (what it is and what to do). */
void webtls_error_text(const char *home, const char *name, int rc, char *buf, size_t cap);

#endif
