/*
 * cli_webon.c: `aidmesh web on|off|ca` and `aidmesh web` (the state): whether the node's
 * web app listens off the loopback, where, over HTTP or HTTPS (node/webconf.h), and the
 * certificate authority that phones install for HTTPS (node/webtls.h).
 *
 * Never prints a key; the authority's fingerprint is public and is what a phone's person
 * compares. Writes only the home's config and the web-ca.* / web-tls.* files.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "am_err.h"
#include "cli_web_int.h"
#include "home.h"
#include "out.h"
#include "status.h"
#include "webtls.h"

enum { OPT_HELP = CLI_OPT_HELP, OPT_LISTEN = 5200, OPT_HTTPS, OPT_CA_PORT, OPT_QR };

/* The options of these subcommands: 0 to go on, else exit status + 1 (--help, bad). */
static int parse(struct cli *c, int argc, char **argv, const char **listen, int *https,
                 const char **ca_port, int *qr)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"listen", required_argument, NULL, OPT_LISTEN},
                                         {"https", no_argument, NULL, OPT_HTTPS},
                                         {"ca-port", required_argument, NULL, OPT_CA_PORT},
                                         {"qr", no_argument, NULL, OPT_QR},
                                         {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(cli_web_help, stdout);
            return 1;
        }
        if (k)
            continue;
        if (opt == OPT_LISTEN && listen)
            *listen = optarg;
        else if (opt == OPT_HTTPS && https)
            *https = 1;
        else if (opt == OPT_CA_PORT && ca_port)
            *ca_port = optarg;
        else if (opt == OPT_QR && qr)
            *qr = 1;
        else
            return cli_bad_option("web", argv) + 1;
    }
    if (optind < argc)
        return cli_usage("web", "%s: unexpected argument '%s'", argv[0], argv[optind]) + 1;
    return 0;
}

/* The running node's web address into served ("" when it serves none); 1 when a node runs. */
static int running_node(const char *home, char served[96], long *pid)
{
    struct node_status ns;
    char err[200];
    int running;
    status_init(&ns);
    running = status_ask(home, 1000, &ns, err, sizeof err) == AM_OK;
    snprintf(served, 96, "%s", running ? ns.http : "");
    *pid = running ? ns.pid : 0;
    status_free(&ns);
    return running;
}

/* The port of "ADDR:PORT". */
static unsigned spec_port(const char *spec)
{
    const char *colon = strrchr(spec, ':');
    return colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
}

/* The addresses phones use for `port` on the listener's address: "SCHEME://ADDR:PORT/" of
 * each private address of the listener (every interface's for 0.0.0.0), loopback left out;
 * into urls, at most max. Returns how many. */
static int phone_urls(const char *home, const char *listen, unsigned port, const char *scheme,
                      char urls[][96], int max)
{
    struct webtls_names ns;
    char name[AM_NAME_MAX + 1] = "";
    int k = 0;
    home_config_get(home, "name", name, sizeof name);
    if (webtls_names_for(listen, name, &ns, NULL) != AM_OK)
        return 0;
    for (size_t i = 0; i < ns.n && k < max; i++) {
        const char *v = ns.v[i];
        int v6 = strchr(v, ':') != NULL;
        if (!strcmp(v, "localhost") || !strncmp(v, "127.", 4) || !strcmp(v, "::1") ||
            strspn(v, "0123456789.:abcdef") != strlen(v))
            continue; /* names (NAME.local) only where mDNS works: the addresses first */
        snprintf(urls[k++], 96, "%s://%s%s%s:%u/", scheme, v6 ? "[" : "", v, v6 ? "]" : "", port);
    }
    return k;
}

/* Makes the authority and the server certificate for `listen` now, so that `run` only
 * loads them and a problem shows here. 0, or 1 (said why). */
static int certs_now(const char *home, const char *listen)
{
    struct webtls_names ns;
    char name[AM_NAME_MAX + 1] = "", why[600];
    uint64_t now = (uint64_t)time(NULL);
    int rc, left = 0;
    home_config_get(home, "name", name, sizeof name);
    if ((rc = webtls_ca_ensure(home, name, now, NULL)) != AM_OK) {
        webtls_error_text(home, WEBTLS_CA_CERT, rc, why, sizeof why);
        cli_err("web on: %s", why);
        return 1;
    }
    if (webtls_names_for(listen, name, &ns, &left) != AM_OK || ns.n == 0) {
        cli_err("web on: no address of %s may be named in the node's certificate (its authority "
                "vouches for private addresses only, 10.x, 172.16-31.x, 192.168.x, 100.64-127.x, "
                "169.254.x, and IPv6); give one with --listen ADDR:PORT",
                listen);
        return 1;
    }
    if ((rc = webtls_server_ensure(home, &ns, now, NULL)) != AM_OK) {
        webtls_error_text(home, WEBTLS_SERVER_CERT, rc, why, sizeof why);
        cli_err("web on: %s", why);
        return 1;
    }
    if (left)
        printf("Note: %d public address%s of this machine left out of the certificate: phones\n"
               "use a private address of the hub's Wi-Fi.\n",
               left, left == 1 ? " is" : "es are");
    return 0;
}

int cli_web_on(struct cli *c, int argc, char **argv)
{
    const char *listen = NULL, *ca_s = NULL;
    struct webconf wc;
    char served[96], fpr[WEBTLS_FPR_TEXT] = "", eff[80], err[400];
    int https = 0, rc, running;
    unsigned ca_port = WEBCONF_CA_PORT;
    long pid;

    if ((rc = parse(c, argc, argv, &listen, &https, &ca_s, NULL)) != 0)
        return rc - 1;
    if (listen && (webconf_check_listen(listen) != AM_OK || strlen(listen) >= sizeof wc.listen))
        return cli_usage("web",
                         "on: --listen '%s' is not ADDR:PORT with a numeric address, e.g. "
                         "0.0.0.0:8443 (every network) or 192.168.4.1:8443",
                         listen);
    if (ca_s) {
        char *end;
        unsigned long v = strtoul(ca_s, &end, 10);
        if (!*ca_s || *end || *ca_s == '-' || v > 65535 || !https)
            return cli_usage("web", "on: --ca-port takes a port (0: none) and goes with --https");
        ca_port = (unsigned)v;
    }
    snprintf(eff, sizeof eff, "%s",
             listen  ? listen
             : https ? WEBCONF_HTTPS_LISTEN
                     : WEBCONF_HTTP_LISTEN);
    if (https && ca_port == spec_port(eff)) {
        if (ca_s)
            return cli_usage("web", "on: --ca-port %u is the HTTPS port itself: pick another",
                             ca_port);
        ca_port = ca_port == 65535 ? 65534 : ca_port + 1;
    }
    if (cli_web_home(c, "web on"))
        return 1;
    if (https && certs_now(c->home, eff))
        return 1;
    memset(&wc, 0, sizeof wc);
    wc.mode = https ? WEBCONF_HTTPS : WEBCONF_HTTP;
    snprintf(wc.listen, sizeof wc.listen, "%s", listen ? listen : "");
    wc.ca_port = ca_port;
    if ((rc = webconf_write(c->home, &wc)) != AM_OK ||
        (rc = webconf_read(c->home, &wc, err, sizeof err)) != AM_OK) {
        cli_err("web on: cannot write the config of %s: %s", c->home,
                rc == AM_EINVAL ? err : am_strerror(rc));
        return 1;
    }
    if (https)
        webtls_ca_fingerprint(c->home, fpr);
    running = running_node(c->home, served, &pid);
    if (c->json)
        return out_json_put(stdout,
                            json_pack("{s:s,s:s,s:i,s:o,s:b}", "web", webconf_mode_name(wc.mode),
                                      "listen", wc.listen, "ca_port", https ? (int)wc.ca_port : 0,
                                      "ca_sha256", out_json_strz(fpr[0] ? fpr : NULL),
                                      "node_running", running))
                   ? 1
                   : 0;
    printf("The web app is on: `aidmesh run` serves it over %s on %s.\n",
           https ? "HTTPS" : "plain HTTP", wc.listen);
    if (https && wc.ca_port)
        printf("Phones first install the node's certificate authority from port %u: run\n"
               "`aidmesh web ca` for its QR code and its fingerprint (SHA-256 %s).\n",
               wc.ca_port, fpr);
    else if (https)
        printf("No download port: copy %s/%s to each phone and install it\n"
               "(SHA-256 %s).\n",
               c->home, WEBTLS_CA_CERT, fpr);
    else
        printf("Plain HTTP: anyone who can read the Wi-Fi's traffic can copy a phone's cookie.\n"
               "On a shared or open Wi-Fi use `aidmesh web on --https` (README, \"Web app "
               "security\").\n");
    if (running)
        printf("A node is running (pid %ld): restart it to apply (`systemctl restart aidmesh`,\n"
               "or stop it and start `aidmesh run` again).\n",
               pid);
    else
        printf("Start the node with `aidmesh run`.\n");
    return 0;
}

int cli_web_off(struct cli *c, int argc, char **argv)
{
    struct webconf wc;
    char served[96];
    int rc, running;
    long pid;

    if ((rc = parse(c, argc, argv, NULL, NULL, NULL, NULL)) != 0)
        return rc - 1;
    if (cli_web_home(c, "web off"))
        return 1;
    memset(&wc, 0, sizeof wc);
    if ((rc = webconf_write(c->home, &wc)) != AM_OK) {
        cli_err("web off: cannot write the config of %s: %s", c->home, am_strerror(rc));
        return 1;
    }
    running = running_node(c->home, served, &pid);
    if (c->json)
        return out_json_put(stdout, json_pack("{s:s,s:b}", "web", "off", "node_running", running))
                   ? 1
                   : 0;
    printf("The web app is off: `aidmesh run` serves no web page (unless given --http).\n");
    if (running && served[0])
        printf("The running node (pid %ld) still serves %s: restart it to apply.\n", pid, served);
    return 0;
}

int cli_web_ca(struct cli *c, int argc, char **argv)
{
    char fpr[WEBTLS_FPR_TEXT], path[AM_HOME_PATH_MAX], err[400], urls[8][96], why[600];
    struct webconf wc;
    int rc, qr = 0, n = 0, tty = isatty(STDOUT_FILENO);

    if ((rc = parse(c, argc, argv, NULL, NULL, NULL, &qr)) != 0)
        return rc - 1;
    if (cli_web_home(c, "web ca"))
        return 1;
    if ((rc = webconf_read(c->home, &wc, err, sizeof err)) != AM_OK) {
        cli_err("web ca: %s", err);
        return 1;
    }
    if ((rc = webtls_ca_fingerprint(c->home, fpr)) != AM_OK) {
        if (rc == AM_ENOTFOUND)
            cli_err("web ca: this node has no certificate authority yet: run `aidmesh web on "
                    "--https` to make one");
        else {
            webtls_error_text(c->home, WEBTLS_CA_CERT, rc, why, sizeof why);
            cli_err("web ca: %s", why);
        }
        return 1;
    }
    home_path(path, c->home, WEBTLS_CA_CERT);
    if (wc.mode == WEBCONF_HTTPS && wc.ca_port)
        n = phone_urls(c->home, wc.listen, wc.ca_port, "http", urls, 8);
    if (c->json) {
        json_t *a = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(a, json_string(urls[i]));
        return out_json_put(stdout, json_pack("{s:s,s:s,s:s,s:o}", "sha256", fpr, "file", path,
                                              "web", webconf_mode_name(wc.mode), "urls", a))
                   ? 1
                   : 0;
    }
    printf("The node's certificate authority (%s)\n", path);
    printf("SHA-256 fingerprint:\n\n    %s\n\n", fpr);
    if (wc.mode != WEBCONF_HTTPS)
        printf("The web app is not on HTTPS (`aidmesh web on --https`): phones do not need it "
               "yet.\n");
    else if (n == 0)
        printf("No download port (or no private address to reach it): copy the file to the\n"
               "phone and install it.\n");
    else {
        printf("On the phone (on the hub's Wi-Fi), open ");
        for (int i = 0; i < n; i++)
            printf("%s%s", i ? " or " : "", urls[i]);
        printf("\nand follow the page: download the certificate, install it (Android: Settings >\n"
               "Security > Install a certificate > CA certificate; iPhone: install the profile,\n"
               "then About > Certificate Trust Settings), then check that its SHA-256 in the\n"
               "phone's certificate details is the one above. If it differs, remove it.\n");
        if (tty || qr) {
            printf("\nScan this with the phone's camera to open that page:\n\n");
            if (cli_web_qr(stdout, urls[0], tty) != 0)
                printf("  (no QR code: the address is too long for one)\n");
        }
    }
    return 0;
}

int cli_web_state(struct cli *c, int argc, char **argv)
{
    struct webconf wc;
    char served[96], fpr[WEBTLS_FPR_TEXT] = "", err[400];
    int rc, running;
    long pid;

    if ((rc = parse(c, argc, argv, NULL, NULL, NULL, NULL)) != 0)
        return rc - 1;
    if (cli_web_home(c, "web"))
        return 1;
    if ((rc = webconf_read(c->home, &wc, err, sizeof err)) != AM_OK) {
        cli_err("web: %s", err);
        return 1;
    }
    if (wc.mode == WEBCONF_HTTPS)
        webtls_ca_fingerprint(c->home, fpr);
    running = running_node(c->home, served, &pid);
    if (c->json)
        return out_json_put(
                   stdout, json_pack("{s:s,s:o,s:i,s:o,s:b,s:o}", "web", webconf_mode_name(wc.mode),
                                     "listen", out_json_strz(wc.mode ? wc.listen : NULL), "ca_port",
                                     wc.mode == WEBCONF_HTTPS ? (int)wc.ca_port : 0, "ca_sha256",
                                     out_json_strz(fpr[0] ? fpr : NULL), "node_running", running,
                                     "served", out_json_strz(served[0] ? served : NULL)))
                   ? 1
                   : 0;
    if (wc.mode == WEBCONF_OFF)
        printf("web app: off (nothing listens for phones; `aidmesh web on --https` turns it "
               "on)\n");
    else
        printf("web app: on, %s on %s\n", wc.mode == WEBCONF_HTTPS ? "HTTPS" : "plain HTTP",
               wc.listen);
    if (wc.mode == WEBCONF_HTTPS && wc.ca_port)
        printf("certificate authority: port %u, SHA-256 %s (`aidmesh web ca`)\n", wc.ca_port,
               fpr[0] ? fpr : "(not made yet: run `aidmesh web on --https`)");
    if (!running)
        printf("node: not running\n");
    else if (served[0])
        printf("node: running (pid %ld), serving %s\n", pid, served);
    else
        printf("node: running (pid %ld), serving no web page%s\n", pid,
               wc.mode ? ": restart it to apply" : "");
    return 0;
}

int cli_web_run_opts(const char *home, struct webconf *wc, struct daemon_opts *o)
{
    char err[400];
    if (webconf_read(home, wc, err, sizeof err) != AM_OK) {
        cli_err("run: %s", err);
        return 1;
    }
    if (wc->mode == WEBCONF_OFF)
        return 0;
    o->http = wc->listen;
    o->https = wc->mode == WEBCONF_HTTPS;
    o->ca_listen = wc->ca_listen[0] ? wc->ca_listen : NULL;
    return 0;
}
