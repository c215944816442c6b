/* webtls_test.c: the web app's certificate authority and server certificate
 * (node/webtls.c) in temp homes: the names a listener gets, the authority made once, the
 * server certificate's SubjectAltNames, issuer and validity window, checked through GnuTLS
 * directly too; made again when its names, its authority or its remaining time change and
 * not otherwise; the name constraints that keep the authority to the hub's Wi-Fi; the key
 * files' mode and the refusal of files others can read or that do not parse. Also the web
 * app's config keys (node/webconf.c) and home_config_set. */
#include <criterion/criterion.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "am_err.h"
#include "home.h"
#include "testutil.h"
#include "webconf.h"
#include "webtls.h"

#define NOW  1790000000ULL /* a fixed "now", seconds since 1970 (2026) */
#define DAYS 86400ULL

static char *home;

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    home = tu_tmpdir();
}

static void teardown(void)
{
    tu_rmrf(home);
    free(home);
}

TestSuite(webtls, .init = setup, .fini = teardown);

static char *pem_of(const char *name)
{
    char path[AM_HOME_PATH_MAX];
    size_t len;
    uint8_t *b;
    char *s;
    cr_assert_eq(home_path(path, home, name), AM_OK);
    b = tu_read_file(path, &len);
    cr_assert_not_null(b, "%s is missing", name);
    s = calloc(1, len + 1);
    cr_assert_not_null(s);
    memcpy(s, b, len);
    free(b);
    return s;
}

static unsigned mode_of(const char *name)
{
    char path[AM_HOME_PATH_MAX];
    struct stat st;
    cr_assert_eq(home_path(path, home, name), AM_OK);
    cr_assert_eq(stat(path, &st), 0, "%s is missing", name);
    return (unsigned)(st.st_mode & 07777);
}

static void set_mode(const char *name, unsigned mode)
{
    char path[AM_HOME_PATH_MAX];
    cr_assert_eq(home_path(path, home, name), AM_OK);
    cr_assert_eq(chmod(path, mode), 0);
}

static void names_of(struct webtls_names *ns, const char *const *v, size_t n)
{
    memset(ns, 0, sizeof *ns);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(webtls_names_add(ns, v[i]), AM_OK);
}

static int has(const struct webtls_names *ns, const char *name)
{
    for (size_t i = 0; i < ns->n; i++)
        if (!strcmp(ns->v[i], name))
            return 1;
    return 0;
}

/* A certificate's issuer check through GnuTLS itself (signature and name constraints), and
 * whether it names `host` (a DNS name or an address, as a browser matches it). */
static void gnutls_check(const char *cert_pem, const char *ca_pem, const char *host, int want_ok,
                         int want_host)
{
    gnutls_x509_crt_t crt, ca;
    gnutls_datum_t d = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)};
    gnutls_datum_t dc = {(unsigned char *)ca_pem, (unsigned)strlen(ca_pem)};
    unsigned status = 0;
    cr_assert_geq(gnutls_x509_crt_init(&crt), 0);
    cr_assert_geq(gnutls_x509_crt_init(&ca), 0);
    cr_assert_geq(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
    cr_assert_geq(gnutls_x509_crt_import(ca, &dc, GNUTLS_X509_FMT_PEM), 0);
    cr_assert_geq(gnutls_x509_crt_verify(crt, &ca, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status),
                  0);
    cr_expect_eq(status == 0, want_ok, "verify status %#x", status);
    cr_expect_eq(gnutls_x509_crt_check_hostname(crt, host) != 0, want_host, "host %s", host);
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_crt_deinit(ca);
}

Test(webtls, names_of_a_listener)
{
    struct webtls_names ns;
    int left = -1;
    cr_assert_eq(webtls_names_for("10.1.2.3:8443", "hub-north", &ns, &left), AM_OK);
    cr_expect(has(&ns, "10.1.2.3"));
    cr_expect(has(&ns, "hub-north.local"));
    cr_expect(!has(&ns, "localhost"));
    cr_expect_eq(left, 0);
    for (size_t i = 1; i < ns.n; i++)
        cr_expect_lt(strcmp(ns.v[i - 1], ns.v[i]), 0, "sorted, each once");

    /* every interface's address for 0.0.0.0: the loopback at least, with "localhost" */
    cr_assert_eq(webtls_names_for("0.0.0.0:8443", NULL, &ns, NULL), AM_OK);
    cr_expect(has(&ns, "127.0.0.1") && has(&ns, "localhost"));
    cr_assert_eq(webtls_names_for("[::1]:8443", "Hub-North", &ns, NULL), AM_OK);
    cr_expect(has(&ns, "::1") && has(&ns, "hub-north.local"));

    /* a name that is no DNS label gives no NAME.local; a public address is left out */
    cr_assert_eq(webtls_names_for("8.8.8.8:8443", "hub north", &ns, &left), AM_OK);
    cr_expect(!has(&ns, "8.8.8.8") && !has(&ns, "hub north.local"));
    cr_expect_eq(left, 1);
    cr_expect_eq(webtls_names_for("hub:8443", NULL, &ns, NULL), AM_EINVAL);
    cr_expect_eq(webtls_names_for("", NULL, &ns, NULL), AM_EINVAL);

    cr_expect(webtls_addr_allowed("192.168.4.1") && webtls_addr_allowed("172.31.0.9") &&
              webtls_addr_allowed("100.100.1.1") && webtls_addr_allowed("169.254.3.3") &&
              webtls_addr_allowed("fd00::1"));
    cr_expect(!webtls_addr_allowed("172.32.0.1") && !webtls_addr_allowed("8.8.8.8") &&
              !webtls_addr_allowed("192.169.0.1") && !webtls_addr_allowed("hub.local"));
}

Test(webtls, authority_and_server_certificate)
{
    const char *const want[] = {"10.1.2.3", "hub-north.local", "fd00::5"};
    struct webtls_names ns, got;
    uint64_t nb, na;
    int made = -1, ok = -1, ca = -1;
    char fpr[WEBTLS_FPR_TEXT], fpr2[WEBTLS_FPR_TEXT], *ca_pem, *crt_pem, *key, *cert;
    uint8_t *der;
    size_t der_len;

    cr_expect_eq(webtls_ca_fingerprint(home, fpr), AM_ENOTFOUND);
    names_of(&ns, want, 3);
    cr_expect_eq(webtls_server_ensure(home, &ns, NOW, &made), AM_ENOTFOUND, "no authority yet");

    cr_assert_eq(webtls_ca_ensure(home, "hub-north", NOW, &made), AM_OK);
    cr_expect_eq(made, 1);
    cr_assert_eq(webtls_ca_fingerprint(home, fpr), AM_OK);
    cr_expect_eq(strlen(fpr), 95u, "32 bytes as AB:CD:...: %s", fpr);
    cr_assert_eq(webtls_ca_ensure(home, "hub-north", NOW + 5, &made), AM_OK);
    cr_expect_eq(made, 0, "made once");
    cr_assert_eq(webtls_ca_fingerprint(home, fpr2), AM_OK);
    cr_expect_str_eq(fpr, fpr2);

    ca_pem = pem_of(WEBTLS_CA_CERT);
    cr_assert_eq(webtls_cert_info(ca_pem, ca_pem, NULL, &nb, &na, &ok, &ca), AM_OK);
    cr_expect_eq(ca, 1, "the authority is a CA");
    cr_expect_eq(ok, 1, "self-signed");
    cr_expect_eq(nb, NOW - WEBTLS_BACKDATE_S);
    cr_expect_eq(na, NOW + WEBTLS_CA_DAYS * DAYS);

    cr_assert_eq(webtls_server_ensure(home, &ns, NOW, &made), AM_OK);
    cr_expect_eq(made, 1);
    crt_pem = pem_of(WEBTLS_SERVER_CERT);
    cr_assert_eq(webtls_cert_info(crt_pem, ca_pem, &got, &nb, &na, &ok, &ca), AM_OK);
    cr_expect_eq(got.n, 3u);
    for (size_t i = 0; i < 3; i++)
        cr_expect(has(&got, want[i]), "SubjectAltName %s", want[i]);
    cr_expect_eq(ok, 1, "signed by the authority");
    cr_expect_eq(ca, 0, "not a CA");
    cr_expect_eq(nb, NOW - WEBTLS_BACKDATE_S);
    cr_expect_eq(na, NOW + WEBTLS_SERVER_DAYS * DAYS);
    cr_expect_leq(WEBTLS_SERVER_DAYS, 825, "phones refuse longer");
    gnutls_check(crt_pem, ca_pem, "hub-north.local", 1, 1);
    gnutls_check(crt_pem, ca_pem, "10.1.2.3", 1, 1);
    gnutls_check(crt_pem, ca_pem, "10.1.2.4", 1, 0);
    gnutls_check(crt_pem, ca_pem, "evil.example", 1, 0);

    /* every file is private */
    cr_expect_eq(mode_of(WEBTLS_CA_KEY), 0600u);
    cr_expect_eq(mode_of(WEBTLS_CA_CERT), 0600u);
    cr_expect_eq(mode_of(WEBTLS_SERVER_KEY), 0600u);
    cr_expect_eq(mode_of(WEBTLS_SERVER_CERT), 0600u);

    /* what libmicrohttpd and /ca.crt get */
    cr_assert_eq(webtls_server_pem(home, &key, &cert), AM_OK);
    cr_expect(strstr(key, "PRIVATE KEY") != NULL);
    cr_expect_str_eq(cert, crt_pem);
    webtls_pem_free(key);
    webtls_pem_free(cert);
    cr_assert_eq(webtls_ca_der(home, &der, &der_len), AM_OK);
    cr_expect(der_len > 200 && der[0] == 0x30, "DER: a SEQUENCE");
    free(der);
    free(crt_pem);
    free(ca_pem);
}

Test(webtls, made_again_only_when_needed)
{
    const char *const a[] = {"10.1.2.3", "hub-north.local"};
    const char *const b[] = {"10.1.2.9", "hub-north.local"};
    struct webtls_names na, nb, got;
    char *first, *now_pem, *ca_pem;
    int made = -1, ok = -1;

    names_of(&na, a, 2);
    names_of(&nb, b, 2);
    cr_assert_eq(webtls_ca_ensure(home, "hub-north", NOW, NULL), AM_OK);
    cr_assert_eq(webtls_server_ensure(home, &na, NOW, &made), AM_OK);
    first = pem_of(WEBTLS_SERVER_CERT);
    cr_assert_eq(webtls_server_ensure(home, &na, NOW + 100 * DAYS, &made), AM_OK);
    cr_expect_eq(made, 0, "same names, time left: kept");

    cr_assert_eq(webtls_server_ensure(home, &nb, NOW + 100 * DAYS, &made), AM_OK);
    cr_expect_eq(made, 1, "the address changed");
    now_pem = pem_of(WEBTLS_SERVER_CERT);
    cr_assert_eq(webtls_cert_info(now_pem, NULL, &got, NULL, NULL, NULL, NULL), AM_OK);
    cr_expect(has(&got, "10.1.2.9") && !has(&got, "10.1.2.3"));
    free(now_pem);

    cr_assert_eq(
        webtls_server_ensure(home, &nb, NOW + 100 * DAYS + (WEBTLS_SERVER_DAYS - 20) * DAYS, &made),
        AM_OK);
    cr_expect_eq(made, 1, "fewer than %d days left", WEBTLS_RENEW_DAYS);
    cr_assert_eq(webtls_server_ensure(home, &nb, NOW, &made), AM_OK);
    cr_expect_eq(made, 1, "the clock went back before its start");

    /* a new authority (its files removed): the server's is made again, and the old one no
     * longer verifies against it */
    {
        char path[AM_HOME_PATH_MAX];
        home_path(path, home, WEBTLS_CA_CERT);
        cr_assert_eq(unlink(path), 0);
        home_path(path, home, WEBTLS_CA_KEY);
        cr_assert_eq(unlink(path), 0);
    }
    cr_assert_eq(webtls_ca_ensure(home, "hub-north", NOW, &made), AM_OK);
    cr_expect_eq(made, 1);
    ca_pem = pem_of(WEBTLS_CA_CERT);
    cr_assert_eq(webtls_cert_info(first, ca_pem, NULL, NULL, NULL, &ok, NULL), AM_OK);
    cr_expect_eq(ok, 0, "signed by the old authority");
    cr_assert_eq(webtls_server_ensure(home, &nb, NOW, &made), AM_OK);
    cr_expect_eq(made, 1);
    now_pem = pem_of(WEBTLS_SERVER_CERT);
    cr_assert_eq(webtls_cert_info(now_pem, ca_pem, NULL, NULL, NULL, &ok, NULL), AM_OK);
    cr_expect_eq(ok, 1);
    free(now_pem);
    free(ca_pem);
    free(first);
}

Test(webtls, constrained_to_the_local_network)
{
    const char *const bank[] = {"bank.example.com"};
    const char *const pub[] = {"8.8.8.8"};
    const char *const lan[] = {"192.168.4.1", "localhost", "x.local"};
    struct webtls_names ns;
    char *ca_pem, *pem;
    int ok = -1;

    cr_assert_eq(webtls_ca_ensure(home, "hub", NOW, NULL), AM_OK);
    ca_pem = pem_of(WEBTLS_CA_CERT);
    names_of(&ns, bank, 1); /* what a stolen authority key could sign */
    cr_assert_eq(webtls_server_ensure(home, &ns, NOW, NULL), AM_OK);
    pem = pem_of(WEBTLS_SERVER_CERT);
    cr_assert_eq(webtls_cert_info(pem, ca_pem, NULL, NULL, NULL, &ok, NULL), AM_OK);
    cr_expect_eq(ok, 0, "a name outside .local is refused by its name constraints");
    gnutls_check(pem, ca_pem, "bank.example.com", 0, 1);
    free(pem);
    names_of(&ns, pub, 1);
    cr_assert_eq(webtls_server_ensure(home, &ns, NOW, NULL), AM_OK);
    pem = pem_of(WEBTLS_SERVER_CERT);
    gnutls_check(pem, ca_pem, "8.8.8.8", 0, 1);
    free(pem);
    names_of(&ns, lan, 3);
    cr_assert_eq(webtls_server_ensure(home, &ns, NOW, NULL), AM_OK);
    pem = pem_of(WEBTLS_SERVER_CERT);
    gnutls_check(pem, ca_pem, "192.168.4.1", 1, 1);
    free(pem);
    free(ca_pem);
}

Test(webtls, refuses_files_it_should_not_trust)
{
    const char *const a[] = {"10.1.2.3"};
    const char *const b[] = {"10.1.2.4"};
    struct webtls_names na, nb;
    char path[AM_HOME_PATH_MAX], why[600], fpr[WEBTLS_FPR_TEXT];
    FILE *f;

    names_of(&na, a, 1);
    names_of(&nb, b, 1);
    cr_assert_eq(webtls_ca_ensure(home, "hub", NOW, NULL), AM_OK);
    cr_assert_eq(webtls_server_ensure(home, &na, NOW, NULL), AM_OK);

    set_mode(WEBTLS_CA_KEY, 0644);
    cr_expect_eq(webtls_server_ensure(home, &nb, NOW, NULL), AM_EPERM,
                 "an authority key others can read signs nothing");
    webtls_error_text(home, WEBTLS_CA_KEY, AM_EPERM, why, sizeof why);
    cr_expect(strstr(why, "chmod 600") != NULL, "%s", why);
    set_mode(WEBTLS_CA_KEY, 0600);
    set_mode(WEBTLS_CA_CERT, 0640);
    cr_expect_eq(webtls_ca_ensure(home, "hub", NOW, NULL), AM_EPERM);
    set_mode(WEBTLS_CA_CERT, 0600);

    home_path(path, home, WEBTLS_CA_CERT);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    cr_expect_eq(webtls_ca_ensure(home, "hub", NOW, NULL), AM_ECORRUPT);
    cr_expect_eq(webtls_ca_fingerprint(home, fpr), AM_ECORRUPT);
    webtls_error_text(home, WEBTLS_CA_CERT, AM_ECORRUPT, why, sizeof why);
    cr_expect(strstr(why, "web on --https") != NULL, "%s", why);

    /* a link in place of the server's key is never followed */
    home_path(path, home, WEBTLS_SERVER_KEY);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(symlink("/etc/hostname", path), 0);
    {
        char *k = NULL, *c = NULL;
        cr_expect_eq(webtls_server_pem(home, &k, &c), AM_EPERM);
        cr_expect_null(k);
        cr_expect_null(c);
    }
}

Test(webtls, config_keys)
{
    struct webconf wc;
    char err[400], v[64];
    char path[AM_HOME_PATH_MAX];
    FILE *f;

    home_path(path, home, "config");
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("name = hub-north\npeer = 10.0.0.2:47470\nweb = http\nweb_listen = 1.2.3.4:1\n"
          "web_other = kept\nweb = http", /* no line end at the end */
          f);
    fclose(f);
    cr_assert_eq(home_config_set(home, "web_listen", "10.0.0.1:8443"), AM_OK);
    cr_assert_eq(home_config_set(home, "web", "https"), AM_OK);
    home_config_get(home, "web", v, sizeof v);
    cr_expect_str_eq(v, "https");
    home_config_get(home, "web_other", v, sizeof v);
    cr_expect_str_eq(v, "kept");
    home_config_get(home, "name", v, sizeof v);
    cr_expect_str_eq(v, "hub-north");
    {
        char p[1][HOME_PEER_MAX];
        cr_expect_eq(home_config_peers(home, p, 1), 1);
    }
    {
        size_t len;
        char *all = (char *)tu_read_file(path, &len);
        cr_assert_not_null(all);
        cr_expect_eq(strstr(all, "web = http\n") == NULL && strstr(all, "1.2.3.4") == NULL, 1,
                     "every old line of the key goes:\n%.*s", (int)len, all);
        free(all);
    }
    cr_expect_eq(home_config_set(home, "web", "on\nweb = x"), AM_EINVAL);
    cr_expect_eq(home_config_set(home, "we b", "x"), AM_EINVAL);
    cr_assert_eq(home_config_set(home, "web_other", NULL), AM_OK);
    home_config_get(home, "web_other", v, sizeof v);
    cr_expect_str_eq(v, "");

    cr_assert_eq(webconf_read(home, &wc, err, sizeof err), AM_OK, "%s", err);
    cr_expect_eq(wc.mode, WEBCONF_HTTPS);
    cr_expect_str_eq(wc.listen, "10.0.0.1:8443");
    cr_expect_eq(wc.ca_port, WEBCONF_CA_PORT);
    cr_expect_str_eq(wc.ca_listen, "10.0.0.1:8080");

    wc.mode = WEBCONF_OFF;
    cr_assert_eq(webconf_write(home, &wc), AM_OK);
    cr_assert_eq(webconf_read(home, &wc, err, sizeof err), AM_OK);
    cr_expect_eq(wc.mode, WEBCONF_OFF);
    cr_expect_eq(home_config_set(home, "web", "maybe"), AM_OK);
    cr_expect_eq(webconf_read(home, &wc, err, sizeof err), AM_EINVAL);
    cr_expect(strstr(err, "web off") != NULL, "%s", err);
    cr_expect_eq(home_config_set(home, "web", "https"), AM_OK);
    cr_expect_eq(home_config_set(home, "web_ca_port", "8443"), AM_OK);
    cr_expect_eq(webconf_read(home, &wc, err, sizeof err), AM_EINVAL, "one port for both");
    cr_expect_eq(home_config_set(home, "web_ca_port", "0"), AM_OK);
    cr_expect_eq(home_config_set(home, "web_listen", "hub:8443"), AM_OK);
    cr_expect_eq(webconf_read(home, &wc, err, sizeof err), AM_EINVAL, "a name, not an address");
    cr_expect_eq(home_config_set(home, "web_listen", NULL), AM_OK);
    cr_assert_eq(webconf_read(home, &wc, err, sizeof err), AM_OK, "%s", err);
    cr_expect_str_eq(wc.listen, WEBCONF_HTTPS_LISTEN);
    cr_expect_str_eq(wc.ca_listen, "", "no download port");
}
