/*
 * webconf.h: whether `aidmesh run` serves the web app, where, and how: three keys of the
 * home's config (home.h), written by `aidmesh web on|off` and read when the node starts
 * (`aidmesh run --http ADDR:PORT` wins over them):
 *   web = off | http | https      absent: off (nothing listens for the web app)
 *   web_listen = ADDR:PORT        numeric address; absent: WEBCONF_HTTP_LISTEN or
 *                                 WEBCONF_HTTPS_LISTEN
 *   web_ca_port = PORT            with https: the plain-HTTP port that serves the
 *                                 certificate authority (http_ca.h) on the same address;
 *                                 0: none; absent: WEBCONF_CA_PORT
 * Never prints; the sentence of a bad value is in err.
 */
#ifndef AM_WEBCONF_H
#define AM_WEBCONF_H

#include <stddef.h>

#define WEBCONF_HTTP_LISTEN  "0.0.0.0:8080"
#define WEBCONF_HTTPS_LISTEN "0.0.0.0:8443"
#define WEBCONF_CA_PORT      8080u

enum webconf_mode { WEBCONF_OFF = 0, WEBCONF_HTTP = 1, WEBCONF_HTTPS = 2 };

struct webconf {
    int mode;           /* enum webconf_mode */
    char listen[80];    /* "ADDR:PORT", the default filled in */
    unsigned ca_port;   /* https: the download port, 0 none */
    char ca_listen[80]; /* https and ca_port: "ADDR:PORT" of it, else "" */
};

/* Reads the keys into c. Returns AM_OK; AM_EINVAL with a sentence in err (a value aidmesh
 * does not write: which key, which value, the command that fixes it); AM_ESYS. */
int webconf_read(const char *home, struct webconf *c, char *err, size_t err_cap);

/* Checks "ADDR:PORT" (numeric address, port 1-65535). AM_OK or AM_EINVAL. */
int webconf_check_listen(const char *spec);

/* Writes the keys of c: web, web_listen (listen "": the key goes, so the mode's default
 * applies) and web_ca_port (https only); mode off writes only `web = off`, keeping the
 * others for the next `web on`. Returns home_config_set's codes. */
int webconf_write(const char *home, const struct webconf *c);

/* "off", "http" or "https". */
const char *webconf_mode_name(int mode);

#endif
