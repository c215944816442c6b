/*
 * daemon_web.c: the running node's web app: plain HTTP (`--http`, `web = http`) or HTTPS
 * with the home's certificate authority (`web = https`, webtls.h) and its download port
 * (http_ca.h). Started once, after the sync listener; stopped before the loop closes.
 * Must never: serve HTTPS with a certificate that does not name the listener, or leave a
 * key's PEM text unwiped in memory after the stop.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "am_err.h"
#include "daemon_int.h"
#include "http.h"
#include "http_ca.h"
#include "webtls.h"

/* The certificates for o->http: the authority made if missing, the server's made again when
 * its names changed. 0, or 1 after logging why not. */
static int tls_prepare(struct daemon *d, const struct daemon_opts *o, struct webtls_names *names)
{
    const char *home = d->n->home;
    uint64_t now = (uint64_t)time(NULL);
    char why[600], fpr[WEBTLS_FPR_TEXT];
    int rc, made = 0, left = 0;

    if ((rc = webtls_names_for(o->http, d->n->name, names, &left)) != AM_OK || names->n == 0) {
        daemon_log(d,
                   "cannot serve HTTPS on %s: %s; give a private address of this machine "
                   "(`aidmesh web on --https --listen ADDR:PORT`)",
                   o->http,
                   rc == AM_OK ? "no address of it may be named in a certificate"
                               : "not an address");
        return 1;
    }
    if (left)
        daemon_log(d,
                   "%d public address%s of this machine left out of the web app's certificate "
                   "(its authority vouches for private addresses only): phones use a private "
                   "one",
                   left, left == 1 ? " is" : "es are");
    if ((rc = webtls_ca_ensure(home, d->n->name, now, &made)) != AM_OK) {
        webtls_error_text(home, WEBTLS_CA_CERT, rc, why, sizeof why);
        daemon_log(d, "cannot serve HTTPS: %s", why);
        return 1;
    }
    if (made && webtls_ca_fingerprint(home, fpr) == AM_OK)
        daemon_log(d, "made the web app's certificate authority, SHA-256 %s", fpr);
    if ((rc = webtls_server_ensure(home, names, now, &made)) != AM_OK ||
        (rc = webtls_server_pem(home, &d->web_key_pem, &d->web_cert_pem)) != AM_OK) {
        webtls_error_text(home, WEBTLS_SERVER_CERT, rc, why, sizeof why);
        daemon_log(d, "cannot serve HTTPS: %s", why);
        return 1;
    }
    if (made) {
        char list[WEBTLS_NAMES_MAX * 66] = "";
        for (size_t i = 0, at = 0; i < names->n && at < sizeof list; i++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "", names->v[i]);
        daemon_log(d, "made the web app's server certificate for %s", list);
    }
    return 0;
}

/* The authority's download port beside the HTTPS pages at `url`. 0, or 1 (logged). */
static int ca_start(struct daemon *d, const char *spec, const char *url)
{
    char fpr[WEBTLS_FPR_TEXT], err[400], at[96], why[600];
    uint8_t *der = NULL;
    size_t len = 0;
    int rc;

    if ((rc = webtls_ca_der(d->n->home, &der, &len)) != AM_OK ||
        (rc = webtls_ca_fingerprint(d->n->home, fpr)) != AM_OK) {
        free(der);
        webtls_error_text(d->n->home, WEBTLS_CA_CERT, rc, why, sizeof why);
        daemon_log(d, "cannot serve the certificate: %s", why);
        return 1;
    }
    rc = http_ca_start(&d->web_ca, spec, der, len, fpr, url, at, sizeof at, err, sizeof err);
    free(der);
    if (rc != AM_OK) {
        daemon_log(d, "%s", err);
        return 1;
    }
    daemon_log(d, "the web app's certificate authority at %sca.crt (SHA-256 %s)", at, fpr);
    return 0;
}

int daemon_web_start(struct daemon *d, const struct daemon_opts *o)
{
    struct webtls_names names;
    struct http_tls tls = {NULL, NULL, &names};
    char url[96], err[400];

    if (o->https && tls_prepare(d, o, &names))
        return 1;
    tls.key_pem = d->web_key_pem;
    tls.cert_pem = d->web_cert_pem;
    if (http_start(&d->http, d->n, o->http, o->https ? &tls : NULL, d->snap_ok ? &d->snap : NULL,
                   url, sizeof url, err, sizeof err) != AM_OK) {
        daemon_log(d, "%s", err);
        return 1;
    }
    daemon_log(d, "dashboard at %s", url);
    snprintf(d->http_url, sizeof d->http_url, "%s", url);
    if (o->https && o->ca_listen && ca_start(d, o->ca_listen, url))
        return 1;
    daemon_write_status(d);
    return 0;
}

void daemon_web_stop(struct daemon *d)
{
    http_stop(d->http); /* its thread reads the store and the snapshot: stopped first */
    d->http = NULL;
    http_ca_stop(d->web_ca);
    d->web_ca = NULL;
    webtls_pem_free(d->web_key_pem);
    webtls_pem_free(d->web_cert_pem);
    d->web_key_pem = d->web_cert_pem = NULL;
}
