/*
 * webconf.c: the web app's config keys (webconf.h).
 * Must never: turn the web app on from a value it does not understand.
 */
#include "webconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "daemon.h" /* daemon_split_hostport */
#include "home.h"

const char *webconf_mode_name(int mode)
{
    return mode == WEBCONF_HTTPS ? "https" : mode == WEBCONF_HTTP ? "http" : "off";
}

int webconf_check_listen(const char *spec)
{
    char host[64], port[8];
    unsigned char a[16];
    if (!spec || !strchr(spec, ':') ||
        daemon_split_hostport(spec, host, sizeof host, port, sizeof port) != AM_OK)
        return AM_EINVAL;
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1 ? AM_OK
                                                                                 : AM_EINVAL;
}

/* A port number 0-65535 in decimal. */
static int port_of(const char *s, unsigned *out)
{
    char *end;
    unsigned long v;
    if (!*s || *s == '-' || *s == '+')
        return -1;
    v = strtoul(s, &end, 10);
    if (*end || v > 65535)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int webconf_read(const char *home, struct webconf *c, char *err, size_t err_cap)
{
    char mode[64], listen[300], ca[64], host[64], port[8];
    int rc;

    memset(c, 0, sizeof *c);
    if ((rc = home_config_get(home, "web", mode, sizeof mode)) != AM_OK ||
        (rc = home_config_get(home, "web_listen", listen, sizeof listen)) != AM_OK ||
        (rc = home_config_get(home, "web_ca_port", ca, sizeof ca)) != AM_OK) {
        snprintf(err, err_cap, "cannot read the config of %s", home);
        return rc;
    }
    if (!mode[0] || !strcmp(mode, "off"))
        c->mode = WEBCONF_OFF;
    else if (!strcmp(mode, "http"))
        c->mode = WEBCONF_HTTP;
    else if (!strcmp(mode, "https"))
        c->mode = WEBCONF_HTTPS;
    else {
        snprintf(err, err_cap,
                 "the config of %s says web = '%s', which is not off, http or https: run "
                 "`aidmesh web on [--https]` or `aidmesh web off`",
                 home, mode);
        return AM_EINVAL;
    }
    if (listen[0] &&
        (webconf_check_listen(listen) != AM_OK || strlen(listen) >= sizeof c->listen)) {
        snprintf(err, err_cap,
                 "the config of %s says web_listen = '%s', which is not ADDR:PORT with a "
                 "numeric address: run `aidmesh web on --listen 0.0.0.0:8080` (every network) "
                 "or with this machine's Wi-Fi address",
                 home, listen);
        return AM_EINVAL;
    }
    if (!listen[0])
        snprintf(listen, sizeof listen, "%s",
                 c->mode == WEBCONF_HTTPS ? WEBCONF_HTTPS_LISTEN : WEBCONF_HTTP_LISTEN);
    memcpy(c->listen, listen, strlen(listen) + 1); /* shorter than c->listen: checked above */
    c->ca_port = WEBCONF_CA_PORT;
    if (ca[0] && port_of(ca, &c->ca_port) != 0) {
        snprintf(err, err_cap,
                 "the config of %s says web_ca_port = '%s', which is not a port (0 for none): "
                 "run `aidmesh web on --https --ca-port PORT`",
                 home, ca);
        return AM_EINVAL;
    }
    if (c->mode == WEBCONF_HTTPS && c->ca_port &&
        daemon_split_hostport(c->listen, host, sizeof host, port, sizeof port) == AM_OK) {
        if ((unsigned)atoi(port) == c->ca_port) {
            snprintf(err, err_cap,
                     "the config of %s puts the HTTPS pages and the certificate's download on "
                     "one port (%u): run `aidmesh web on --https --ca-port PORT` with another",
                     home, c->ca_port);
            return AM_EINVAL;
        }
        snprintf(c->ca_listen, sizeof c->ca_listen, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
                 c->ca_port);
    }
    return AM_OK;
}

int webconf_write(const char *home, const struct webconf *c)
{
    char port[16];
    int rc;
    if (c->mode != WEBCONF_OFF) {
        snprintf(port, sizeof port, "%u", c->ca_port);
        if ((rc = home_config_set(home, "web_listen", c->listen[0] ? c->listen : NULL)) != AM_OK ||
            (rc = home_config_set(home, "web_ca_port", c->mode == WEBCONF_HTTPS ? port : NULL)) !=
                AM_OK)
            return rc;
    }
    return home_config_set(home, "web", webconf_mode_name(c->mode));
}
