/*
 * webtls.c: the web app's local certificate authority and server certificate (webtls.h).
 * Must never: build ASN.1 by hand (GnuTLS's x509 API does every encoding), write a key
 * file others can read, keep a key in memory it has not wiped, or print.
 */
#include "webtls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "am_err.h"
#include "home.h"

/* The authority's name constraints (webtls.h): IPv4 address and mask. */
static const struct {
    uint8_t addr[4], mask[4];
} allowed_v4[] = {
    {{10, 0, 0, 0}, {255, 0, 0, 0}},      /* private (RFC 1918) */
    {{172, 16, 0, 0}, {255, 240, 0, 0}},  /* private */
    {{192, 168, 0, 0}, {255, 255, 0, 0}}, /* private */
    {{100, 64, 0, 0}, {255, 192, 0, 0}},  /* shared address space (RFC 6598) */
    {{169, 254, 0, 0}, {255, 255, 0, 0}}, /* link-local: a Wi-Fi Direct group, no DHCP */
    {{127, 0, 0, 0}, {255, 0, 0, 0}},     /* loopback */
};

int webtls_addr_allowed(const char *addr)
{
    uint8_t a[16];
    if (inet_pton(AF_INET6, addr, a) == 1)
        return 1; /* IPv6 is not constrained: see the README ("Web app security") */
    if (inet_pton(AF_INET, addr, a) != 1)
        return 0;
    for (size_t i = 0; i < sizeof allowed_v4 / sizeof allowed_v4[0]; i++) {
        int in = 1;
        for (int k = 0; k < 4; k++)
            in &= (a[k] & allowed_v4[i].mask[k]) == allowed_v4[i].addr[k];
        if (in)
            return 1;
    }
    return 0;
}

/* ---- names ------------------------------------------------------------------------------ */

int webtls_names_add(struct webtls_names *ns, const char *name)
{
    size_t len = strlen(name), at;
    if (len == 0 || len >= sizeof ns->v[0])
        return AM_EINVAL;
    for (at = 0; at < ns->n; at++) {
        int c = strcasecmp(ns->v[at], name);
        if (c == 0)
            return AM_OK;
        if (c > 0)
            break;
    }
    if (ns->n == WEBTLS_NAMES_MAX)
        return AM_ELIMIT;
    memmove(ns->v[at + 1], ns->v[at], (ns->n - at) * sizeof ns->v[0]);
    memcpy(ns->v[at], name, len + 1);
    for (size_t i = 0; i < len; i++) /* DNS names in small letters (addresses have none) */
        if (ns->v[at][i] >= 'A' && ns->v[at][i] <= 'Z')
            ns->v[at][i] = (char)(ns->v[at][i] - 'A' + 'a');
    ns->n++;
    return AM_OK;
}

/* "NAME.local" into ns when NAME is one DNS label (mDNS names are single labels). */
static void add_local(struct webtls_names *ns, const char *label)
{
    char name[64 + 6];
    size_t len = label ? strlen(label) : 0;
    if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
        return;
    for (size_t i = 0; i < len; i++)
        if (!((label[i] >= 'a' && label[i] <= 'z') || (label[i] >= 'A' && label[i] <= 'Z') ||
              (label[i] >= '0' && label[i] <= '9') || label[i] == '-'))
            return;
    snprintf(name, sizeof name, "%s.local", label);
    webtls_names_add(ns, name);
}

/* One address (numeric text) into ns, or counted as left out. */
static void add_addr(struct webtls_names *ns, int family, const void *bytes, int *left_out)
{
    char t[INET6_ADDRSTRLEN];
    if (family == AF_INET6 && (IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)bytes) ||
                               IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)bytes)))
        return;
    if (!inet_ntop(family, bytes, t, sizeof t))
        return;
    if (!webtls_addr_allowed(t)) {
        (*left_out)++;
        return;
    }
    if ((family == AF_INET && ((const uint8_t *)bytes)[0] == 127) ||
        (family == AF_INET6 && IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)bytes)))
        webtls_names_add(ns, "localhost");
    webtls_names_add(ns, t);
}

int webtls_names_for(const char *spec, const char *node_name, struct webtls_names *out,
                     int *left_out)
{
    char host[64], hn[256];
    const char *colon;
    uint8_t a[16];
    int family, any, dummy = 0;

    memset(out, 0, sizeof *out);
    if (!left_out)
        left_out = &dummy;
    *left_out = 0;
    if (!spec || !*spec)
        return AM_EINVAL;
    if (spec[0] == '[') { /* "[V6]:PORT" */
        const char *rb = strchr(spec, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof host)
            return AM_EINVAL;
        memcpy(host, spec + 1, (size_t)(rb - spec - 1));
        host[rb - spec - 1] = 0;
    } else if ((colon = strrchr(spec, ':')) != NULL) {
        if ((size_t)(colon - spec) >= sizeof host || strchr(spec, ':') != colon)
            return AM_EINVAL;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = 0;
    } else {
        snprintf(host, sizeof host, "127.0.0.1"); /* "PORT" alone */
    }
    if (inet_pton(AF_INET, host, a) == 1)
        family = AF_INET;
    else if (inet_pton(AF_INET6, host, a) == 1)
        family = AF_INET6;
    else
        return AM_EINVAL;
    any = family == AF_INET ? !memcmp(a, "\0\0\0\0", 4) : IN6_IS_ADDR_UNSPECIFIED((void *)a);
    if (!any) {
        add_addr(out, family, a, left_out);
    } else {
        struct ifaddrs *ifa = NULL;
        if (getifaddrs(&ifa) != 0)
            return AM_ESYS;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
            if (!i->ifa_addr || i->ifa_addr->sa_family != family)
                continue;
            if (family == AF_INET)
                add_addr(out, family, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
                         left_out);
            else
                add_addr(out, family, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr,
                         left_out);
        }
        freeifaddrs(ifa);
    }
    add_local(out, node_name);
    if (gethostname(hn, sizeof hn) == 0) {
        hn[sizeof hn - 1] = 0;
        hn[strcspn(hn, ".")] = 0; /* a host name given with its domain: its first label */
        add_local(out, hn);
    }
    return AM_OK;
}

/* ---- files ------------------------------------------------------------------------------ */

/* The PEM text of the home's file `name` into a buffer of WEBTLS_PEM_MAX (the caller's, to
 * wipe and free). AM_OK, AM_ENOTFOUND, AM_EPERM, AM_ESYS, AM_ENOMEM. */
static int read_pem(const char *home, const char *name, char **out)
{
    char path[AM_HOME_PATH_MAX];
    int rc;
    *out = NULL;
    if (home_path(path, home, name) != AM_OK)
        return AM_EINVAL;
    if (!(*out = calloc(1, WEBTLS_PEM_MAX)))
        return AM_ENOMEM;
    rc = home_read_secret_file(path, *out, WEBTLS_PEM_MAX);
    if (rc != AM_OK) {
        webtls_pem_free(*out);
        *out = NULL;
    }
    return rc;
}

static int write_pem(const char *home, const char *name, const gnutls_datum_t *d, int replace)
{
    char path[AM_HOME_PATH_MAX];
    if (home_path(path, home, name) != AM_OK)
        return AM_EINVAL;
    return home_write_secret_file(path, (const char *)d->data, d->size, replace);
}

void webtls_pem_free(char *pem)
{
    if (pem) {
        sodium_memzero(pem, strlen(pem));
        free(pem);
    }
}

static gnutls_datum_t datum(const char *pem)
{
    gnutls_datum_t d = {(unsigned char *)(uintptr_t)pem, (unsigned)strlen(pem)};
    return d;
}

/* The key in the home's file `name`, or a new one written there. AM_OK, read_pem's
 * errors, AM_ECORRUPT, AM_ENOMEM. */
static int key_ensure(const char *home, const char *name, gnutls_x509_privkey_t *key)
{
    gnutls_datum_t d = {NULL, 0};
    char *pem = NULL;
    int rc = read_pem(home, name, &pem);

    if (gnutls_x509_privkey_init(key) < 0)
        return AM_ENOMEM;
    if (rc == AM_OK) {
        d = datum(pem);
        rc = gnutls_x509_privkey_import(*key, &d, GNUTLS_X509_FMT_PEM) < 0 ? AM_ECORRUPT : AM_OK;
        webtls_pem_free(pem);
        goto out;
    }
    if (rc != AM_ENOTFOUND)
        goto out;
    if (gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
        gnutls_x509_privkey_export2(*key, GNUTLS_X509_FMT_PEM, &d) < 0) {
        rc = AM_ENOMEM;
        goto out;
    }
    rc = write_pem(home, name, &d, 0);
    sodium_memzero(d.data, d.size);
    gnutls_free(d.data);
out:
    if (rc != AM_OK) {
        gnutls_x509_privkey_deinit(*key);
        *key = NULL;
    }
    return rc;
}

static int crt_load(const char *pem, gnutls_x509_crt_t *crt)
{
    gnutls_datum_t d = datum(pem);
    if (gnutls_x509_crt_init(crt) < 0)
        return AM_ENOMEM;
    if (gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM) < 0) {
        gnutls_x509_crt_deinit(*crt);
        *crt = NULL;
        return AM_ECORRUPT;
    }
    return AM_OK;
}

static int crt_read(const char *home, const char *name, gnutls_x509_crt_t *crt)
{
    char *pem = NULL;
    int rc = read_pem(home, name, &pem);
    *crt = NULL;
    if (rc == AM_OK)
        rc = crt_load(pem, crt);
    webtls_pem_free(pem);
    return rc;
}

/* The fields every certificate of ours has: version 3, a random positive serial, the
 * validity, a common name, the key and its id. */
static int crt_common(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *cn,
                      uint64_t now_s, unsigned days)
{
    uint8_t serial[16], id[64];
    size_t id_len = sizeof id;
    randombytes_buf(serial, sizeof serial);
    serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40); /* positive, never shortened */
    if (gnutls_x509_crt_set_version(crt, 3) < 0 ||
        gnutls_x509_crt_set_serial(crt, serial, sizeof serial) < 0 ||
        gnutls_x509_crt_set_activation_time(crt, (time_t)(now_s - WEBTLS_BACKDATE_S)) < 0 ||
        gnutls_x509_crt_set_expiration_time(crt, (time_t)(now_s + (uint64_t)days * 86400)) < 0 ||
        gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "aidmesh", 7) <
            0 ||
        gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                      (unsigned)strlen(cn)) < 0 ||
        gnutls_x509_crt_set_key(crt, key) < 0 ||
        gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, id, &id_len) < 0 ||
        gnutls_x509_crt_set_subject_key_id(crt, id, id_len) < 0)
        return AM_ENOMEM;
    return AM_OK;
}

static int set_constraints(gnutls_x509_crt_t crt)
{
    gnutls_x509_name_constraints_t nc = NULL;
    static const char *const dns[] = {"local", "localhost"};
    uint8_t v6[32] = {0}; /* ::/0: IPv6 is not constrained */
    int rc = AM_ENOMEM;

    if (gnutls_x509_name_constraints_init(&nc) < 0)
        return AM_ENOMEM;
    for (size_t i = 0; i < 2; i++) {
        gnutls_datum_t d = datum(dns[i]);
        if (gnutls_x509_name_constraints_add_permitted(nc, GNUTLS_SAN_DNSNAME, &d) < 0)
            goto out;
    }
    for (size_t i = 0; i < sizeof allowed_v4 / sizeof allowed_v4[0]; i++) {
        uint8_t b[8];
        gnutls_datum_t d = {b, 8};
        memcpy(b, allowed_v4[i].addr, 4);
        memcpy(b + 4, allowed_v4[i].mask, 4);
        if (gnutls_x509_name_constraints_add_permitted(nc, GNUTLS_SAN_IPADDRESS, &d) < 0)
            goto out;
    }
    {
        gnutls_datum_t d = {v6, 32};
        if (gnutls_x509_name_constraints_add_permitted(nc, GNUTLS_SAN_IPADDRESS, &d) < 0)
            goto out;
    }
    rc = gnutls_x509_crt_set_name_constraints(crt, nc, 1) < 0 ? AM_ENOMEM : AM_OK;
out:
    gnutls_x509_name_constraints_deinit(nc);
    return rc;
}

static int export_write(const char *home, const char *name, gnutls_x509_crt_t crt)
{
    gnutls_datum_t d = {NULL, 0};
    int rc;
    if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d) < 0)
        return AM_ENOMEM;
    rc = write_pem(home, name, &d, 1);
    gnutls_free(d.data);
    return rc;
}

/* ---- the authority ------------------------------------------------------------------------ */

int webtls_ca_ensure(const char *home, const char *label, uint64_t now_s, int *made)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    char cn[128];
    int rc;

    if (made)
        *made = 0;
    rc = crt_read(home, WEBTLS_CA_CERT, &crt);
    if (rc != AM_ENOTFOUND)
        goto out; /* there (AM_OK), or a file to fix */
    if ((rc = key_ensure(home, WEBTLS_CA_KEY, &key)) != AM_OK)
        goto out;
    snprintf(cn, sizeof cn, "aidmesh %.64s local CA", label && *label ? label : "node");
    rc = AM_ENOMEM;
    if (gnutls_x509_crt_init(&crt) < 0)
        goto out;
    if (crt_common(crt, key, cn, now_s, WEBTLS_CA_DAYS) != AM_OK ||
        gnutls_x509_crt_set_basic_constraints(crt, 1, 0) < 0 ||
        gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN) < 0 ||
        set_constraints(crt) != AM_OK ||
        gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0)
        goto out;
    if ((rc = export_write(home, WEBTLS_CA_CERT, crt)) == AM_OK && made)
        *made = 1;
out:
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    return rc;
}

/* ---- reading a certificate -------------------------------------------------------------- */

static int crt_names(gnutls_x509_crt_t crt, struct webtls_names *ns)
{
    memset(ns, 0, sizeof *ns);
    for (unsigned i = 0; i < 64; i++) {
        char buf[256], t[INET6_ADDRSTRLEN];
        size_t size = sizeof buf - 1;
        unsigned crit;
        int type = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &size, &crit);
        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            break;
        if (type == GNUTLS_SAN_DNSNAME) {
            buf[size] = 0;
            webtls_names_add(ns, buf);
        } else if (type == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16) &&
                   inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, t, sizeof t)) {
            webtls_names_add(ns, t);
        } else {
            return AM_ECORRUPT; /* not one of ours */
        }
    }
    return AM_OK;
}

/* 1 when crt verifies against ca (its signature, its name constraints), else 0. */
static int crt_signed_by(gnutls_x509_crt_t crt, gnutls_x509_crt_t ca)
{
    unsigned status = 1;
    return gnutls_x509_crt_verify(crt, &ca, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status) >= 0 &&
           status == 0;
}

int webtls_cert_info(const char *cert_pem, const char *ca_pem, struct webtls_names *names,
                     uint64_t *not_before, uint64_t *not_after, int *signed_ok, int *is_ca)
{
    gnutls_x509_crt_t crt = NULL, ca = NULL;
    unsigned crit = 0;
    int rc;
    if ((rc = crt_load(cert_pem, &crt)) != AM_OK)
        return rc;
    if (names && (rc = crt_names(crt, names)) != AM_OK)
        goto out;
    if (not_before)
        *not_before = (uint64_t)gnutls_x509_crt_get_activation_time(crt);
    if (not_after)
        *not_after = (uint64_t)gnutls_x509_crt_get_expiration_time(crt);
    if (is_ca)
        *is_ca = gnutls_x509_crt_get_basic_constraints(crt, &crit, NULL, NULL) > 0;
    if (signed_ok) {
        *signed_ok = 0;
        if (ca_pem && (rc = crt_load(ca_pem, &ca)) != AM_OK)
            goto out;
        *signed_ok = ca && crt_signed_by(crt, ca);
    }
out:
    gnutls_x509_crt_deinit(ca);
    gnutls_x509_crt_deinit(crt);
    return rc;
}

/* ---- the server's certificate ------------------------------------------------------------- */

/* 1 when the home's server certificate carries exactly `want`, verifies against ca and is
 * valid from now for WEBTLS_RENEW_DAYS more. */
static int server_current(const char *home, gnutls_x509_crt_t ca, const struct webtls_names *want,
                          uint64_t now_s)
{
    gnutls_x509_crt_t crt = NULL;
    struct webtls_names have;
    int ok = 0;
    if (crt_read(home, WEBTLS_SERVER_CERT, &crt) != AM_OK)
        return 0;
    if (crt_names(crt, &have) == AM_OK && have.n == want->n &&
        memcmp(have.v, want->v, want->n * sizeof want->v[0]) == 0 && crt_signed_by(crt, ca) &&
        (uint64_t)gnutls_x509_crt_get_activation_time(crt) <= now_s &&
        (uint64_t)gnutls_x509_crt_get_expiration_time(crt) > now_s + WEBTLS_RENEW_DAYS * 86400ULL)
        ok = 1;
    gnutls_x509_crt_deinit(crt);
    return ok;
}

static int add_san(gnutls_x509_crt_t crt, const char *name)
{
    uint8_t a[16];
    if (inet_pton(AF_INET, name, a) == 1)
        return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, a, 4,
                                                    GNUTLS_FSAN_APPEND);
    if (inet_pton(AF_INET6, name, a) == 1)
        return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, a, 16,
                                                    GNUTLS_FSAN_APPEND);
    return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name,
                                                (unsigned)strlen(name), GNUTLS_FSAN_APPEND);
}

int webtls_server_ensure(const char *home, const struct webtls_names *names, uint64_t now_s,
                         int *made)
{
    gnutls_x509_privkey_t ca_key = NULL, key = NULL;
    gnutls_x509_crt_t ca = NULL, crt = NULL;
    uint8_t id[64];
    size_t id_len = sizeof id;
    int rc;

    if (made)
        *made = 0;
    if (names->n == 0)
        return AM_EINVAL;
    if ((rc = crt_read(home, WEBTLS_CA_CERT, &ca)) != AM_OK)
        goto out;
    if (server_current(home, ca, names, now_s))
        goto out;
    {
        char *pem = NULL;
        gnutls_datum_t d;
        if ((rc = read_pem(home, WEBTLS_CA_KEY, &pem)) != AM_OK)
            goto out;
        d = datum(pem);
        rc = gnutls_x509_privkey_init(&ca_key) < 0                             ? AM_ENOMEM
             : gnutls_x509_privkey_import(ca_key, &d, GNUTLS_X509_FMT_PEM) < 0 ? AM_ECORRUPT
                                                                               : AM_OK;
        webtls_pem_free(pem);
        if (rc != AM_OK)
            goto out;
    }
    if ((rc = key_ensure(home, WEBTLS_SERVER_KEY, &key)) != AM_OK)
        goto out;
    rc = AM_ENOMEM;
    if (gnutls_x509_crt_init(&crt) < 0 ||
        crt_common(crt, key, names->v[0], now_s, WEBTLS_SERVER_DAYS) != AM_OK ||
        gnutls_x509_crt_set_basic_constraints(crt, 0, -1) < 0 ||
        gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) < 0 ||
        gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) < 0 ||
        gnutls_x509_crt_get_subject_key_id(ca, id, &id_len, NULL) < 0 ||
        gnutls_x509_crt_set_authority_key_id(crt, id, id_len) < 0)
        goto out;
    for (size_t i = 0; i < names->n; i++)
        if (add_san(crt, names->v[i]) < 0)
            goto out;
    if (gnutls_x509_crt_sign2(crt, ca, ca_key, GNUTLS_DIG_SHA256, 0) < 0)
        goto out;
    if ((rc = export_write(home, WEBTLS_SERVER_CERT, crt)) == AM_OK && made)
        *made = 1;
out:
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_crt_deinit(ca);
    gnutls_x509_privkey_deinit(key);
    gnutls_x509_privkey_deinit(ca_key);
    return rc;
}

int webtls_server_pem(const char *home, char **key_pem, char **cert_pem)
{
    int rc;
    *key_pem = *cert_pem = NULL;
    if ((rc = read_pem(home, WEBTLS_SERVER_KEY, key_pem)) != AM_OK ||
        (rc = read_pem(home, WEBTLS_SERVER_CERT, cert_pem)) != AM_OK) {
        webtls_pem_free(*key_pem);
        *key_pem = NULL;
    }
    return rc;
}

int webtls_ca_der(const char *home, uint8_t **der, size_t *len)
{
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t d = {NULL, 0};
    int rc = crt_read(home, WEBTLS_CA_CERT, &crt);
    *der = NULL;
    *len = 0;
    if (rc != AM_OK)
        return rc;
    if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &d) < 0 || !(*der = malloc(d.size))) {
        rc = AM_ENOMEM;
    } else {
        memcpy(*der, d.data, d.size);
        *len = d.size;
    }
    gnutls_free(d.data);
    gnutls_x509_crt_deinit(crt);
    return rc;
}

int webtls_ca_fingerprint(const char *home, char out[static WEBTLS_FPR_TEXT])
{
    gnutls_x509_crt_t crt = NULL;
    uint8_t fpr[WEBTLS_FPR_LEN];
    size_t size = sizeof fpr;
    int rc = crt_read(home, WEBTLS_CA_CERT, &crt);
    out[0] = 0;
    if (rc != AM_OK)
        return rc;
    if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fpr, &size) < 0 ||
        size != sizeof fpr) {
        rc = AM_ECORRUPT;
    } else {
        for (size_t i = 0; i < sizeof fpr; i++)
            snprintf(out + 3 * i, 4, i + 1 < sizeof fpr ? "%02X:" : "%02X", fpr[i]);
    }
    gnutls_x509_crt_deinit(crt);
    return rc;
}

void webtls_error_text(const char *home, const char *name, int rc, char *buf, size_t cap)
{
    char path[AM_HOME_PATH_MAX];
    if (home_path(path, home, name) != AM_OK)
        snprintf(path, sizeof path, "%s", name);
    switch (rc) {
    case AM_EPERM: {
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            snprintf(buf, cap,
                     "%s can be read by other users (mode %04o); it belongs to the web app's "
                     "certificates and must be private: run `chmod 600 %s`",
                     path, (unsigned)(st.st_mode & 07777), path);
        else
            snprintf(buf, cap,
                     "%s is not a plain file (a link?), so aidmesh refuses it: remove it "
                     "(`rm %s`) and run `aidmesh web on --https` again",
                     path, path);
        break;
    }
    case AM_ECORRUPT:
        snprintf(buf, cap,
                 "%s is not a certificate or key that aidmesh wrote; remove the web-ca.* and "
                 "web-tls.* files of %s and run `aidmesh web on --https` again (phones then "
                 "install the new authority)",
                 path, home);
        break;
    case AM_ENOTFOUND:
        snprintf(buf, cap,
                 "%s is missing: run `aidmesh web on --https` to make the node's certificate "
                 "authority",
                 path);
        break;
    case AM_ESYS:
        snprintf(buf, cap, "cannot use %s: %s", path, strerror(errno));
        break;
    default:
        snprintf(buf, cap, "cannot make the certificates in %s: %s", home, am_strerror(rc));
    }
}
