/*
 * cli_web.c: `aidmesh web pair|devices|revoke`: the phones paired with this node's web
 * app (node/webdev.h). `pair` makes a pairing code for a person to type on the phone and
 * says where; `devices` lists the paired ones; `revoke` removes one.
 *
 * Never prints a device's token (it has none to print: the files hold hashes only), never
 * puts the pairing code into the QR code (the code is typed, so that a photo of the
 * screen alone pairs nothing), and prints every device name through out.h's escaping.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <qrencode.h>

#include "am_err.h"
#include "am_text.h"
#include "cli.h"
#include "cli_web_int.h"
#include "home.h"
#include "out.h"
#include "status.h"
#include "webdev.h"
#include "webkey.h"

enum { OPT_HELP = CLI_OPT_HELP, OPT_WRITE = 5100, OPT_NAME, OPT_QR, OPT_URL };

#define QR_QUIET 2   /* modules of light margin around the code */
#define URL_MAX  256 /* bytes of the web app's address, "/pair" included */

const char cli_web_help[] =
    "usage: aidmesh web [--json] [--home DIR]\n"
    "       aidmesh web on [--listen ADDR:PORT] [--https [--ca-port PORT]] [--json] [--home DIR]\n"
    "       aidmesh web off [--json] [--home DIR]\n"
    "       aidmesh web ca [--qr] [--json] [--home DIR]\n"
    "       aidmesh web pair [--write] [--name NAME] [--url URL] [--qr] [--json] [--home DIR]\n"
    "       aidmesh web devices [--json] [--home DIR]\n"
    "       aidmesh web revoke ID [--json] [--home DIR]\n"
    "\n"
    "Phones on the hub's Wi-Fi use this node's web app. It is off until you turn it on\n"
    "(`aidmesh web on`, kept in the config; `aidmesh run --http ADDR:PORT` also serves it,\n"
    "over plain HTTP, and wins over the config). Only paired phones may use it from another\n"
    "machine; this one's own browser (127.0.0.1) needs no pairing.\n"
    "\n"
    "  (none)   whether the web app is on, where, and what the running node serves.\n"
    "  on       serve it from the next `aidmesh run` (restart a running node to apply) on\n"
    "           --listen ADDR:PORT (default 0.0.0.0:8080, or 0.0.0.0:8443 with --https).\n"
    "           --https: over HTTPS, with a certificate authority of this node's own (made\n"
    "           now: web-ca.crt in the home) that each phone installs once, from a plain\n"
    "           HTTP page on --ca-port (default 8080; 0: none) showing its fingerprint.\n"
    "           Without --https anyone who can read the Wi-Fi's traffic can copy a phone's\n"
    "           cookie: use plain HTTP only on a Wi-Fi with a password your team alone has.\n"
    "  off      serve no web page from the next `aidmesh run` (unless given --http).\n"
    "  ca       the certificate authority's SHA-256 fingerprint and the page phones install\n"
    "           it from, with a QR code on a terminal (or with --qr).\n"
    "  pair     makes a pairing code of 8 characters, shown as XXXX-XXXX. On the phone,\n"
    "           open http://ADDR:PORT/pair and type it: the phone is then paired and keeps\n"
    "           a cookie that lets it in. A code works once, for 10 minutes; typing\n"
    "           ignores case, spaces and dashes, and reads O as 0 and I or L as 1.\n"
    "           On a terminal (or with --qr) a QR code of the page's address is printed\n"
    "           too, to open it with the phone's camera; the code itself is always typed.\n"
    "  devices  the paired devices: id, role, when paired, author, name; then the revoked\n"
    "           ones. AUTHOR begins the device's own author id: what a phone enters is\n"
    "           signed by a key the node made for it at pairing, so `need show` and the\n"
    "           other nodes name the phone, not the node, as its author.\n"
    "  revoke   removes the device whose id begins with ID (at least 4 hex digits, from\n"
    "           `aidmesh web devices`); it is refused from its next request, and its key\n"
    "           signs nothing again (its author id stays listed); it can be paired again\n"
    "           with a new code, under a new key.\n"
    "\n"
    "  --write     pair: the device may also record needs and stock (default: read only)\n"
    "  --name NAME pair: what `web devices` calls it (printable text, at most 64 bytes);\n"
    "              without it the device is \"phone N\"\n"
    "  --url URL   pair: the web app's address as the phones reach it, e.g.\n"
    "              http://192.168.4.1:8080 (the node's --http address)\n"
    "  --qr        pair: print the QR code even when the output is not a terminal\n"
    "  --json      print the result as one JSON document\n";

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "14:32" (date == 0) or "2026-05-01 14:32", local time. */
static void local_time(uint64_t ms, int date, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    if (date)
        strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
    else
        strftime(out, 32, "%H:%M", &tm);
}

/* The home, resolved and checked, holding a node. Returns 0 or 1 (said why). */
int cli_web_home(struct cli *c, const char *cmd)
{
    char text[600];
    int rc;

    if (cli_resolve_home(c))
        return 1;
    if ((rc = home_check(c->home)) != AM_OK) {
        home_error_text(c->home, rc, text, sizeof text);
        cli_err("%s: %s", cmd, text);
        return 1;
    }
    if (!home_is_initialised(c->home)) {
        cli_err("%s: there is no node in %s: set one up with `aidmesh init` (or pass --home "
                "DIR of an existing one)",
                cmd, c->home);
        return 1;
    }
    return 0;
}

/* A sentence for an error of webdev.h about the file `name` of the home. */
static void web_error(const struct cli *c, const char *cmd, int rc, const char *name)
{
    const int pairing = !strcmp(name, WEBDEV_PAIRING_FILE), keys = !strcmp(name, WEBKEY_FILE);
    char path[AM_HOME_PATH_MAX], lock[AM_HOME_PATH_MAX];
    struct stat st;

    home_path(path, c->home, name);
    home_path(lock, c->home, WEBDEV_LOCK_FILE);
    switch (rc) {
    case AM_EPERM:
        if (lstat(lock, &st) == 0 && !S_ISREG(st.st_mode))
            cli_err("%s: %s is not a plain file (a link?): remove it (`rm %s`); aidmesh makes "
                    "it again",
                    cmd, lock, lock);
        else if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
            cli_err("%s: %s is not a plain file (a link?), so aidmesh refuses it: remove it "
                    "(`rm %s`)%s",
                    cmd, path, path, pairing ? "" : " and pair the phones again");
        else if (lstat(path, &st) == 0)
            cli_err("%s: %s can be read by other users (mode %04o); it lists who may use the "
                    "web app, so it must be private: run `chmod 600 %s`",
                    cmd, path, (unsigned)(st.st_mode & 07777), path);
        else
            cli_err("%s: %s: %s", cmd, path, am_strerror(rc));
        break;
    case AM_ECORRUPT:
        if (keys)
            cli_err("%s: %s is not in the format aidmesh writes (one key a line: device id, "
                    "author id, secret or -, name); restore it from a backup. Without it the "
                    "phones cannot write: remove it (`rm %s`), revoke them and pair them again",
                    cmd, path, path);
        else if (pairing)
            cli_err("%s: %s is not in the format aidmesh writes; it holds only the pairing "
                    "codes of the last 10 minutes: remove it (`rm %s`) and pair again",
                    cmd, path, path);
        else
            cli_err("%s: %s is not in the format aidmesh writes (one device a line: ID, role, "
                    "time, token hash, name); restore it from a backup, or remove it (`rm %s`) "
                    "and pair the phones again",
                    cmd, path, path);
        break;
    case AM_ELIMIT:
        if (keys)
            cli_err("%s: %s holds %d keys, the most it keeps (revoked phones' included): "
                    "remove the lines of long-revoked phones (a `-` in the third field) from "
                    "it, or restore it from a backup",
                    cmd, path, WEBKEY_MAX);
        else if (pairing)
            cli_err("%s: %d pairing codes are waiting to be typed already; wait until one is "
                    "used or expires (10 minutes), then make a new one",
                    cmd, WEBDEV_CODES_MAX);
        else
            cli_err("%s: %s is over its limits (%d devices, %d bytes a line): remove devices "
                    "with `aidmesh web revoke ID`, or restore the file from a backup",
                    cmd, path, WEBDEV_MAX, WEBDEV_LINE_MAX);
        break;
    case AM_ESYS:
        cli_err("%s: cannot use %s (or its lock %s): %s", cmd, path, lock, strerror(errno));
        break;
    default:
        cli_err("%s: %s: %s", cmd, path, am_strerror(rc));
    }
}

/* ---- pair --------------------------------------------------------------------------------- */

/* "ADDR:PORT", "http://ADDR:PORT" or with a path's '/' -> "http://ADDR:PORT/pair". 0, or -1
 * when it does not look like an address. */
/* The running node's web address (status "http", "http://ADDR:PORT/") -> the pairing
 * page's link in out, when phones can reach ADDR; else a sentence in why. */
static void served_url(const char *http, char out[URL_MAX], char *why, size_t cap)
{
    const char *hp = strncmp(http, "http://", 7) == 0    ? http + 7
                     : strncmp(http, "https://", 8) == 0 ? http + 8
                                                         : NULL;
    size_t n = strlen(http);
    if (!hp || n < 8 || http[n - 1] != '/' || n + 4 >= URL_MAX)
        return;
    if (strncmp(hp, "127.", 4) == 0 || strncmp(hp, "[::1]", 5) == 0 ||
        strncmp(hp, "localhost", 9) == 0) {
        snprintf(why, cap,
                 "The running node serves its pages to this machine only (%s): phones cannot\n"
                 "reach it. Restart it with `aidmesh run --http 0.0.0.0:PORT` (every network)\n"
                 "or with this machine's Wi-Fi address, then on the phone open\n"
                 "http://ADDR:PORT/pair and type the code.",
                 http);
        return;
    }
    if (strncmp(hp, "0.0.0.0:", 8) == 0 || strncmp(hp, "[::]:", 5) == 0) {
        snprintf(why, cap,
                 "The running node serves on every address (%s): on the phone open\n"
                 "http://ADDR:%lu/pair, with ADDR this machine's address on the phones' Wi-Fi\n"
                 "(`ip -brief addr` shows it), and type the code.",
                 http, strtoul(strrchr(hp, ':') + 1, NULL, 10));
        return;
    }
    snprintf(out, URL_MAX, "%spair", http);
}

static int pair_url(const char *in, char out[URL_MAX])
{
    const char *scheme = strncmp(in, "http://", 7) && strncmp(in, "https://", 8) ? "http://" : "";
    size_t n = strlen(in);
    int k;

    while (n > 0 && in[n - 1] == '/')
        n--;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (in[i] <= ' ' || in[i] > '~')
            return -1;
    k = snprintf(out, URL_MAX, "%s%.*s/pair", scheme, (int)n, in);
    return k > 0 && k < URL_MAX ? 0 : -1;
}

/* The module at x, y of q with the quiet zone around it: 1 dark, 0 light. */
static int qr_dark(const QRcode *q, int x, int y)
{
    x -= QR_QUIET;
    y -= QR_QUIET;
    if (x < 0 || y < 0 || x >= q->width || y >= q->width)
        return 0;
    return q->data[y * q->width + x] & 1;
}

/*
 * The QR code of text in UTF-8 half blocks, two rows of modules a line. On a terminal
 * (colors): white on black, light modules drawn, so it is right on any theme; elsewhere
 * (a file to print): dark modules drawn. 0, or -1 when it cannot be made.
 */
int cli_web_qr(FILE *f, const char *text, int colors)
{
    static const char *const cell[4] = {" ", "\u2584", "\u2580", "\u2588"}; /* top<<1|bottom */
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    int size;

    if (!q)
        return -1;
    size = q->width + 2 * QR_QUIET;
    for (int y = 0; y < size; y += 2) {
        fputs(colors ? "  \033[97;40m" : "  ", f);
        for (int x = 0; x < size; x++) { /* below the last row: nothing drawn */
            int top = qr_dark(q, x, y) ^ colors;
            int bottom = y + 1 < size ? qr_dark(q, x, y + 1) ^ colors : 0;
            fputs(cell[top << 1 | bottom], f);
        }
        fputs(colors ? "\033[0m\n" : "\n", f);
    }
    QRcode_free(q);
    return 0;
}

static int pair_json(const char *code, int role, const char *name, uint64_t expires,
                     const char *url, int running)
{
    char when[32];
    out_iso_ms(when, expires);
    return out_json_put(stdout,
                        json_pack("{s:s,s:s,s:o,s:o,s:s,s:i,s:o,s:b}", "code", code, "role",
                                  webdev_role_name(role), "name", out_json_strz(name), "expires_ms",
                                  out_json_u64(expires), "expires", when, "valid_s",
                                  (int)(WEBDEV_CODE_TTL_MS / 1000), "url",
                                  out_json_strz(url[0] ? url : NULL), "node_running", running))
               ? 1
               : 0;
}

static int web_pair(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"write", no_argument, NULL, OPT_WRITE},
                                         {"name", required_argument, NULL, OPT_NAME},
                                         {"qr", no_argument, NULL, OPT_QR},
                                         {"url", required_argument, NULL, OPT_URL},
                                         {0, 0, 0, 0}};
    const char *name = "", *url_in = NULL;
    char code[WEBDEV_CODE_TEXT + 1], url[URL_MAX] = "", until[32], why[160], err[200];
    char served[300] = "";
    struct am_text_bad bad;
    struct node_status ns;
    int opt, rc, role = WEBDEV_READ, qr = 0, running, tty = isatty(STDOUT_FILENO);
    uint64_t now;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(cli_web_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt == OPT_WRITE)
            role = WEBDEV_WRITE;
        else if (opt == OPT_NAME)
            name = optarg;
        else if (opt == OPT_QR)
            qr = 1;
        else if (opt == OPT_URL)
            url_in = optarg;
        else
            return cli_bad_option("web", argv);
    }
    if (optind < argc)
        return cli_usage("web", "pair: unexpected argument '%s'", argv[optind]);
    if (strlen(name) > AM_NAME_MAX)
        return cli_usage("web", "pair: --name is %zu bytes; a device's name has at most %d",
                         strlen(name), AM_NAME_MAX);
    if (am_text_check(name, strlen(name), 0, &bad) != AM_OK) {
        am_text_explain(why, sizeof why, &bad);
        return cli_usage("web", "pair: --name: %s; a device's name is printable text on one line",
                         why);
    }
    if (url_in && pair_url(url_in, url) != 0)
        return cli_usage(
            "web", "pair: --url '%s' is not an address such as http://192.168.4.1:8080", url_in);
    if (cli_web_home(c, "web pair"))
        return 1;
    now = now_ms();
    if ((rc = webdev_pair_new(c->home, role, name, now, code)) != AM_OK) {
        web_error(c, "web pair", rc, WEBDEV_PAIRING_FILE);
        return 1;
    }
    status_init(&ns);
    running = status_ask(c->home, 1000, &ns, err, sizeof err) == AM_OK;
    /* the running node says where it serves; an address phones can use becomes the link */
    if (running && !url[0] && ns.http[0])
        served_url(ns.http, url, served, sizeof served);
    status_free(&ns);
    if (c->json)
        return pair_json(code, role, name, now + WEBDEV_CODE_TTL_MS, url, running);

    local_time(now + WEBDEV_CODE_TTL_MS, 0, until);
    printf("Pairing code for ");
    if (name[0]) {
        putchar('"');
        out_text(stdout, name, strlen(name), 0, NULL);
        putchar('"');
    } else {
        printf("a phone");
    }
    printf(" (%s):\n\n", role == WEBDEV_WRITE ? "it may also record needs and stock" : "read only");
    printf("        %s", tty ? "\033[1m" : "");
    for (int i = 0; code[i]; i++)
        printf(code[i] == '-' ? "  -  " : i == 0 || code[i - 1] == '-' ? "%c" : " %c", code[i]);
    printf("%s\n\n", tty ? "\033[0m" : "");
    printf("It works once, for 10 minutes (until %s).\n", until);
    if (url[0])
        printf("On the phone, open %s and type the code.\n", url);
    else if (running && served[0])
        printf("%s\n", served);
    else if (running)
        printf("On the phone, open http://ADDR:PORT/pair and type the code, where ADDR:PORT is\n"
               "the --http address the running node serves on (one the phones reach, not\n"
               "127.0.0.1). Its status does not say which: add --url http://ADDR:PORT to have\n"
               "the link printed here with a QR code.\n");
    else
        printf("No node is running for %s: turn the web app on (`aidmesh web on --https`,\n"
               "see `aidmesh web --help`) and start the node with `aidmesh run`, then on the\n"
               "phone open the web app's address followed by /pair and type the code.\n",
               c->home);
    if (url[0] && (tty || qr)) {
        printf(
            "\nOr scan this with the phone's camera to open that page (then type the code):\n\n");
        if (cli_web_qr(stdout, url, tty) != 0)
            printf("  (no QR code: the address is too long for one)\n");
    }
    return 0;
}

/* ---- devices ------------------------------------------------------------------------------ */

/* The author id of device id as hex (64 digits), or NULL when it has no key (paired
 * before phones had keys). */
static const char *author_of(const struct webkey_list *k, const uint8_t id[WEBDEV_ID_LEN],
                             char hex[2 * AM_PK_LEN + 1])
{
    const struct webkey *w = webkey_find(k, id);
    if (!w)
        return NULL;
    out_hex(hex, w->pk, AM_PK_LEN);
    return hex;
}

static int devices_json(const struct webdev_list *l, const struct webkey_list *k)
{
    json_t *a = json_array(), *r = json_array();
    for (size_t i = 0; i < l->n; i++) {
        const struct webdev *d = &l->d[i];
        char id[2 * WEBDEV_ID_LEN + 1], when[32], author[2 * AM_PK_LEN + 1];
        const char *au = author_of(k, d->id, author);
        out_hex(id, d->id, WEBDEV_ID_LEN);
        out_iso_ms(when, d->created_ms);
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:o,s:s,s:o,s:o}", "id", id, "role", webdev_role_name(d->role),
                         "paired_ms", out_json_u64(d->created_ms), "paired", when, "author",
                         au ? json_string(au) : json_null(), "name", out_json_strz(d->name)));
    }
    for (size_t i = 0; i < k->n; i++) {
        char id[2 * WEBDEV_ID_LEN + 1], author[2 * AM_PK_LEN + 1];
        if (k->k[i].live)
            continue;
        out_hex(id, k->k[i].id, WEBDEV_ID_LEN);
        out_hex(author, k->k[i].pk, AM_PK_LEN);
        json_array_append_new(r, json_pack("{s:s,s:s,s:o}", "id", id, "author", author, "name",
                                           out_json_strz(k->k[i].name)));
    }
    return out_json_put(stdout, json_pack("{s:o,s:o}", "devices", a, "revoked", r)) ? 1 : 0;
}

/* The options of a subcommand that takes only the common ones: -1 to go on, else the
 * exit status (after --help, or a bad option). */
static int common_opts_only(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(cli_web_help, stdout);
            return 0;
        }
        if (!k)
            return cli_bad_option("web", argv);
    }
    return -1;
}

static int web_devices(struct cli *c, int argc, char **argv)
{
    struct webdev_list l;
    struct webkey_list k = {NULL, 0};
    size_t revoked = 0;
    int rc;

    if ((rc = common_opts_only(c, argc, argv)) >= 0)
        return rc;
    if (optind < argc)
        return cli_usage("web", "devices: unexpected argument '%s'", argv[optind]);
    if (cli_web_home(c, "web devices"))
        return 1;
    if ((rc = webdev_load(c->home, &l)) != AM_OK) {
        web_error(c, "web devices", rc, WEBDEV_DEVICES_FILE);
        return 1;
    }
    if ((rc = webkey_load(c->home, &k)) != AM_OK) {
        web_error(c, "web devices", rc, WEBKEY_FILE);
        webdev_list_free(&l);
        return 1;
    }
    for (size_t i = 0; i < k.n; i++)
        revoked += !k.k[i].live;
    if (c->json) {
        rc = devices_json(&l, &k);
    } else {
        if (l.n == 0)
            printf("no device is paired yet: pair one with `aidmesh web pair`\n");
        if (l.n || revoked)
            printf("%-16s  %-7s  %-16s  %-16s  %s\n", "ID", "ROLE", "PAIRED", "AUTHOR", "NAME");
        for (size_t i = 0; i < l.n; i++) {
            const struct webdev *d = &l.d[i];
            char id[2 * WEBDEV_ID_LEN + 1], when[32], author[2 * AM_PK_LEN + 1];
            const char *au = author_of(&k, d->id, author);
            out_hex(id, d->id, WEBDEV_ID_LEN);
            local_time(d->created_ms, 1, when);
            printf("%-16s  %-7s  %-16s  %-16.16s  ", id, webdev_role_name(d->role), when,
                   au ? au : "(none: re-pair)");
            out_col(stdout, d->name, strlen(d->name), AM_NAME_MAX, 0, 1);
            putchar('\n');
        }
        for (size_t i = 0; i < k.n; i++) { /* kept to tell their entries apart */
            char id[2 * WEBDEV_ID_LEN + 1], author[2 * AM_PK_LEN + 1];
            if (k.k[i].live)
                continue;
            out_hex(id, k.k[i].id, WEBDEV_ID_LEN);
            out_hex(author, k.k[i].pk, AM_PK_LEN);
            printf("%-16s  %-7s  %-16s  %-16.16s  ", id, "revoked", "-", author);
            out_col(stdout, k.k[i].name, strlen(k.k[i].name), AM_NAME_MAX, 0, 1);
            putchar('\n');
        }
        rc = 0;
    }
    webkey_list_free(&k);
    webdev_list_free(&l);
    return rc;
}

/* ---- revoke ------------------------------------------------------------------------------- */

static int web_revoke(struct cli *c, int argc, char **argv)
{
    char id[2 * WEBDEV_ID_LEN + 1];
    struct webdev gone;
    const char *prefix;
    int rc;

    if ((rc = common_opts_only(c, argc, argv)) >= 0)
        return rc;
    if (optind + 1 != argc)
        return cli_usage("web", "revoke: give one device id (its first 4 hex digits or more, "
                                "from `aidmesh web devices`)");
    prefix = argv[optind];
    if (cli_web_home(c, "web revoke"))
        return 1;
    rc = webdev_revoke(c->home, prefix, &gone);
    switch (rc) {
    case AM_OK:
        break;
    case AM_EINVAL:
        cli_err("web revoke: '%s' is not the start of a device id: give 4 to 16 hex digits "
                "(0-9, a-f) of an id that `aidmesh web devices` lists",
                prefix);
        return 2;
    case AM_ENOTFOUND:
        cli_err("web revoke: no paired device's id begins with '%s': see `aidmesh web "
                "devices`",
                prefix);
        return 1;
    case AM_EEXIST:
        cli_err("web revoke: '%s' begins the ids of two devices or more: give more of the id "
                "(see `aidmesh web devices`); nothing was removed",
                prefix);
        return 1;
    default:
        web_error(c, "web revoke", rc, WEBDEV_DEVICES_FILE);
        return 1;
    }
    out_hex(id, gone.id, WEBDEV_ID_LEN);
    if (c->json)
        return out_json_put(stdout, json_pack("{s:{s:s,s:s,s:o}}", "removed", "id", id, "role",
                                              webdev_role_name(gone.role), "name",
                                              out_json_strz(gone.name)))
                   ? 1
                   : 0;
    printf("removed ");
    out_text(stdout, gone.name, strlen(gone.name), 0, NULL);
    printf(" (%s): it is refused from its next request\n", id);
    return 0;
}

int cli_cmd_web(struct cli *c, int argc, char **argv)
{
    optind = 1;
    if (argc < 2 || (argv[1][0] == '-' && strcmp(argv[1], "--help") && strcmp(argv[1], "-h")))
        return cli_web_state(c, argc, argv); /* `aidmesh web [--json]`: the state */
    if (cli_subcommand_help(argc, argv, cli_web_help))
        return 0;
    if (strcmp(argv[1], "on") == 0)
        return cli_web_on(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "off") == 0)
        return cli_web_off(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "ca") == 0)
        return cli_web_ca(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "pair") == 0)
        return web_pair(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "devices") == 0)
        return web_devices(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "revoke") == 0)
        return web_revoke(c, argc - 1, argv + 1);
    return cli_usage("web", "unknown subcommand '%s' (on, off, ca, pair, devices or revoke)",
                     argv[1]);
}
