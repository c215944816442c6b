/*
 * cli_net.c: the network commands of the CLI: run, sync, peers.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "am_err.h"
#include "cli.h"
#include "cli_web_int.h"
#include "daemon.h"
#include "home.h"
#include "mp.h"
#include "out.h"
#include "status.h"
#include "syncstore.h"
#include "uv_discovery.h"

/* Options of these commands; --home, --json and --help are cli.h's (CLI_COMMON_OPTS). */
enum {
    OPT_LISTEN = 2000,
    OPT_PEER,
    OPT_NO_DISC,
    OPT_TIMEOUT,
    OPT_VERBOSE,
    OPT_LOOPBACK_DISC,
    OPT_DISC_PORT,
    OPT_BEACON_MS,
    OPT_WATCH_STICKS,
    OPT_INIT_BLANK,
    OPT_HTTP,
    OPT_VIEW_CACHE
};

static const char run_help[] =
    "usage: aidmesh run [--listen ADDR:PORT] [--peer HOST:PORT]... [--no-discovery]\n"
    "                   [--http ADDR:PORT] [--view-cache MIB] [--home DIR]\n"
    "\n"
    "Runs this node: listens for other nodes, finds the nodes of its network on every\n"
    "local network (hub Wi-Fi, Ethernet, a Wi-Fi Direct group) and syncs with them, and\n"
    "keeps pushing new records as they are written. Stop it with Ctrl-C.\n"
    "\n"
    "  --listen ADDR:PORT  where to accept connections (default [::]:47470, all addresses)\n"
    "  --peer HOST:PORT    also dial this node (repeatable); for networks that block\n"
    "                      discovery. `aidmesh peers add HOST:PORT` keeps one in the config\n"
    "  --no-discovery      do not send or listen for discovery beacons\n"
    "  --watch-sticks DIR  sync every USB stick mounted below DIR (e.g. /media) once it\n"
    "                      appears, and log when it is safe to unplug; only sticks that\n"
    "                      already hold an AIDMESH folder are written\n"
    "  --init-blank-sticks with --watch-sticks: set up blank sticks too\n"
    "  --http ADDR:PORT    serve a read-only dashboard for the hub's screen (open needs,\n"
    "                      stock with problems highlighted, peers, sticks; reloads itself)\n"
    "                      at http://ADDR:PORT/; PORT alone means 127.0.0.1 (this machine\n"
    "                      only); 0.0.0.0:PORT shows it to every network. Off by default\n"
    "                      (`aidmesh web on` serves the web app from the config; --http,\n"
    "                      always plain HTTP, wins over it)\n"
    "  --view-cache MIB    memory for recently updated needs and stock cells, so receiving\n"
    "                      many records is fast (default 16; 0 keeps none; this bounds\n"
    "                      what the node holds beyond a few MiB)\n"
    "\n"
    "One line is logged per peer event. `aidmesh peers` shows who is connected.\n"
    "One node runs per home: the other commands (site add, stock, peers...) work beside\n"
    "it, but a second `aidmesh run` on the same home refuses at once, naming the first's\n"
    "process id.\n"
    "\n"
    "Exit status: 0 after a stop (Ctrl-C, SIGTERM), 1 when the node cannot start (the\n"
    "message says why: the port is taken...), 2 on a usage error, 3 when another node\n"
    "already runs on this home.\n";

int cli_cmd_run(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, CLI_OPT_HOME},
        {"help", no_argument, NULL, CLI_OPT_HELP},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"peer", required_argument, NULL, OPT_PEER},
        {"no-discovery", no_argument, NULL, OPT_NO_DISC},
        {"discovery-loopback", no_argument, NULL, OPT_LOOPBACK_DISC},   /* tests */
        {"discovery-port", required_argument, NULL, OPT_DISC_PORT},     /* tests */
        {"beacon-interval-ms", required_argument, NULL, OPT_BEACON_MS}, /* tests */
        {"watch-sticks", required_argument, NULL, OPT_WATCH_STICKS},
        {"init-blank-sticks", no_argument, NULL, OPT_INIT_BLANK},
        {"http", required_argument, NULL, OPT_HTTP},
        {"view-cache", required_argument, NULL, OPT_VIEW_CACHE},
        {0, 0, 0, 0}};
    static char cfgstore[DAEMON_MAX_PEERS][HOME_PEER_MAX];
    static struct webconf wc;
    struct daemon_opts o;
    struct store_opts so = {.view_cache = DAEMON_VIEW_CACHE_DEFAULT};
    struct node n;
    int opt, rc, lock = -1;
    long holder;

    memset(&o, 0, sizeof o);
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == CLI_OPT_HELP) {
            fputs(run_help, stdout);
            return 0;
        }
        if (cli_common_opt(c, opt))
            continue;
        switch (opt) {
        case OPT_LISTEN:
            o.listen = optarg;
            break;
        case OPT_PEER:
            if (o.n_peers == DAEMON_MAX_PEERS) {
                cli_err("run: at most %d peers", DAEMON_MAX_PEERS);
                return 2;
            }
            o.peers[o.n_peers++] = optarg;
            break;
        case OPT_NO_DISC:
            o.no_discovery = 1;
            break;
        case OPT_LOOPBACK_DISC:
            o.discovery_flags |= UV_DISCOVERY_LOOPBACK;
            break;
        case OPT_DISC_PORT:
            o.discovery_port = (uint16_t)atoi(optarg);
            break;
        case OPT_BEACON_MS:
            o.beacon_interval_ms = (uint32_t)atoi(optarg);
            break;
        case OPT_WATCH_STICKS:
            o.watch_sticks = optarg;
            break;
        case OPT_INIT_BLANK:
            o.init_blank_sticks = 1;
            break;
        case OPT_HTTP:
            o.http = optarg;
            break;
        case OPT_VIEW_CACHE: {
            char *end;
            unsigned long long mib = strtoull(optarg, &end, 10);
            if (!*optarg || *end || mib > 1048576) {
                cli_err("run: --view-cache takes a number of MiB (e.g. 16), not '%s'", optarg);
                return 2;
            }
            so.view_cache = mib ? mib << 20 : STORE_VIEW_CACHE_OFF;
            break;
        }
        default:
            return cli_bad_option("run", argv);
        }
    }
    if (optind < argc) {
        cli_err("run: unexpected argument '%s' (see `aidmesh run --help`)", argv[optind]);
        return 2;
    }
    if (o.init_blank_sticks && !o.watch_sticks) {
        cli_err("run: --init-blank-sticks goes with --watch-sticks DIR");
        return 2;
    }
    for (int i = 0; i < o.n_peers; i++) {
        char h[256], p[8];
        if (daemon_split_hostport(o.peers[i], h, sizeof h, p, sizeof p) != AM_OK) {
            cli_err("run: '%s' is not HOST:PORT (e.g. 192.168.1.20:47470)", o.peers[i]);
            return 2;
        }
    }
    if (cli_open(c, &n, &so))
        return 1;
    rc = home_lock_run(n.home, &lock, &holder);
    if (rc != AM_OK) {
        char path[AM_HOME_PATH_MAX];
        home_path(path, n.home, HOME_LOCK_FILE);
        if (rc == AM_EEXIST && holder > 0)
            cli_err("run: another node is already running on %s (pid %ld); stop it first "
                    "(`kill %ld`, or `systemctl stop aidmesh` for the service)",
                    n.home, holder, holder);
        else if (rc == AM_EEXIST)
            cli_err("run: another node is already running on %s (it holds %s and has not "
                    "written its pid there yet); stop it first (`systemctl stop aidmesh` for "
                    "the service)",
                    n.home, path);
        else if (rc == AM_EPERM)
            cli_err("run: %s is a link or not a plain file; remove it and start again", path);
        else
            cli_err("run: cannot take the lock %s: %s", path,
                    rc == AM_ESYS ? strerror(errno) : am_strerror(rc));
        node_close(&n);
        return rc == AM_EEXIST ? 3 : 1;
    }
    if (!o.http && cli_web_run_opts(n.home, &wc, &o)) { /* `aidmesh web on`; --http wins */
        node_close(&n);
        home_unlock_run(lock);
        return 1;
    }
    if (!o.listen) {
        static char listen_cfg[300];
        home_config_get(n.home, "listen", listen_cfg, sizeof listen_cfg);
        if (listen_cfg[0])
            o.listen = listen_cfg;
    }
    {
        int k = home_config_peers(n.home, cfgstore, DAEMON_MAX_PEERS - o.n_peers);
        for (int i = 0; i < k; i++)
            o.peers[o.n_peers++] = cfgstore[i];
    }
    signal(SIGPIPE, SIG_IGN);
    rc = daemon_run(&n, &o);
    node_close(&n);
    home_unlock_run(lock);
    return rc;
}

static const char sync_help[] =
    "usage: aidmesh sync HOST:PORT [--timeout SECONDS] [--verbose] [--json] [--home DIR]\n"
    "\n"
    "Syncs once with the node at HOST:PORT (both ways), prints what moved, and exits.\n"
    "\n"
    "  --timeout SECONDS  give up after this long (default 120)\n"
    "  --verbose          print the connection's events as they happen (on stderr)\n"
    "\n"
    "Exit status: 0 when both nodes hold the same records; 1 on failure (with the\n"
    "connection's events, to explain it); 2 on a usage error; 4 when the sync ran but this\n"
    "node refused entries the other sent (a bad signature, a broken link, a gap, entries\n"
    "that do not decode): the output names each author (short id) with the count and why.\n";

/* Exit status of a sync that ran but refused entries (the help and the man page say so). */
#define SYNC_EXIT_REFUSED 4

int cli_cmd_sync(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"timeout", required_argument, NULL, OPT_TIMEOUT},
                                         {"verbose", no_argument, NULL, OPT_VERBOSE},
                                         {0, 0, 0, 0}};
    struct daemon_sync_result r;
    struct node n;
    long timeout = 120;
    int opt, rc, verbose = 0;
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *log;
    char h[256], p[8], got[32], gave[32], authors[32];

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == CLI_OPT_HELP) {
            fputs(sync_help, stdout);
            return 0;
        }
        if (cli_common_opt(c, opt))
            continue;
        switch (opt) {
        case OPT_TIMEOUT:
            timeout = strtol(optarg, NULL, 10);
            if (timeout <= 0) {
                cli_err("sync: --timeout takes a number of seconds");
                return 2;
            }
            break;
        case OPT_VERBOSE:
            verbose = 1;
            break;
        default:
            return cli_bad_option("sync", argv);
        }
    }
    if (optind != argc - 1) {
        cli_err("sync: give one HOST:PORT (see `aidmesh sync --help`)");
        return 2;
    }
    if (daemon_split_hostport(argv[optind], h, sizeof h, p, sizeof p) != AM_OK) {
        cli_err("sync: '%s' is not HOST:PORT (e.g. 192.168.1.20:47470)", argv[optind]);
        return 2;
    }
    if (cli_open(c, &n, NULL))
        return 1;
    signal(SIGPIPE, SIG_IGN);
    /* the peer events go to stderr with --verbose; otherwise they are kept, and shown only
     * when the sync fails, to explain it */
    log = verbose ? stderr : open_memstream(&logbuf, &loglen);
    rc = daemon_sync_once(&n, argv[optind], (uint32_t)timeout * 1000, log ? log : stderr, &r);
    node_close(&n);
    if (log && log != stderr) {
        fclose(log);
        if (rc != 0 && loglen)
            fwrite(logbuf, 1, loglen, stderr);
        free(logbuf);
    }
    out_count(got, r.received);
    out_count(gave, r.sent);
    out_count(authors, r.authors);
    if (c->json) {
        json_t *refusals = json_array();
        for (size_t i = 0; i < r.refusals.n && i < SYNC_REFUSALS_MAX; i++) {
            const struct sync_refusal *f = &r.refusals.r[i];
            static const uint8_t unknown[AM_PK_LEN];
            char ah[2 * AM_PK_LEN + 1], text[300];
            out_hex(ah, f->author, AM_PK_LEN);
            syncstore_refusal_text(f, text, sizeof text);
            json_array_append_new(
                refusals,
                json_pack("{s:o,s:s,s:o,s:o}", "author",
                          memcmp(f->author, unknown, AM_PK_LEN) ? json_string(ah) : json_null(),
                          "reason", am_strerror(f->reason), "entries", out_json_u64(f->count),
                          "text", out_json_strz(text)));
        }
        out_json_put(stdout,
                     json_pack("{s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "ok", !rc,
                               "peer", out_json_strz(r.peer), "received", out_json_u64(r.received),
                               "authors", out_json_u64(r.authors), "sent", out_json_u64(r.sent),
                               "bytes_in", out_json_u64(r.bytes_in), "bytes_out",
                               out_json_u64(r.bytes_out), "forks", out_json_u64(r.forks),
                               "evidence_only", out_json_u64(r.capped), "refused",
                               out_json_u64(r.refused), "refusals", refusals, "refused_unlisted",
                               out_json_u64(r.refusals.unlisted), "error",
                               r.error ? out_json_strz(am_strerror(r.error)) : json_null()));
    } else if (rc == 0) {
        printf("received %s entries from %s author%s, sent %s\n", got, authors,
               r.authors == 1 ? "" : "s", gave);
        if (r.forks)
            printf("%llu of them start%s a branch of a key in use on two machines (both branches "
                   "are kept and count): see `aidmesh forks`\n",
                   (unsigned long long)r.forks, r.forks == 1 ? "s" : "");
        if (r.capped)
            printf("note: %llu entr%s began a branch of a key past its %d branches: kept as "
                   "evidence only, and that key's records no longer count; see `aidmesh forks`\n",
                   (unsigned long long)r.capped, r.capped == 1 ? "y" : "ies", AM_LOGS_PER_AUTHOR);
        if (r.refused) {
            char text[300];
            printf("refused %llu entr%s that %s sent, not stored here:\n",
                   (unsigned long long)r.refused, r.refused == 1 ? "y" : "ies", argv[optind]);
            for (size_t i = 0; i < r.refusals.n && i < SYNC_REFUSALS_MAX; i++) {
                syncstore_refusal_text(&r.refusals.r[i], text, sizeof text);
                printf("  %s\n", text);
            }
            if (r.refusals.unlisted)
                printf("  %llu more entries from other authors\n",
                       (unsigned long long)r.refusals.unlisted);
            printf("nothing of them was stored; if it happens again, run `aidmesh verify` on that "
                   "author's node\n");
        }
    } else {
        const char *hint = "";
        if (r.error == AM_EBADMAC)
            hint = " (is that node of another relief network? both must use the same "
                   "invite code)";
        else if (r.error == AM_ETIMEOUT)
            hint = " (no answer: is the node running, and is the port open?)";
        else if (r.error == AM_EVERSION)
            hint = " (the other node runs an incompatible aidmesh version: update one)";
        if ((r.error == AM_EPEER || !r.error) && r.bytes_in == 0) {
            cli_err("sync with %s failed: nothing answered there (is the node running, is "
                    "the address and port right, does a firewall block it?)",
                    argv[optind]);
            return rc;
        }
        cli_err("sync with %s failed: %s%s; received %s entries, sent %s before that", argv[optind],
                am_strerror(r.error ? r.error : AM_EPEER), hint, got, gave);
    }
    return rc == 0 && r.refused ? SYNC_EXIT_REFUSED : rc;
}

/* A wall clock time in ms as HH:MM:SS, local time. */
static void clock_text(uint64_t ms, char out[16])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 16, "%H:%M:%S", &tm);
}

static const char peers_help[] =
    "usage: aidmesh peers [--json] [--home DIR]\n"
    "       aidmesh peers add HOST[:PORT]\n"
    "\n"
    "Shows the peers of the running node, each by the start of its id and the name it\n"
    "gave: connected ones (entries and bytes each way, last seen) and known ones (static,\n"
    "discovered, and those that were connected, with when each was last seen; of a peer\n"
    "that dialed this node only the host is shown: it listens on a port of its own), or\n"
    "adds a static peer to the config (for networks where discovery is blocked; the port\n"
    "is 47470 when not given, and a peer already there is not added twice).\n";

/* Prints a JSON document (malloc'd, taken; status.h's) as every --json output is printed
 * (out_json_put: ASCII); 1 when out of memory. */
static int print_json(char *doc)
{
    json_t *v = doc ? json_loads(doc, 0, NULL) : NULL;
    free(doc);
    if (out_json_put(stdout, v)) {
        cli_err("peers: out of memory");
        return 1;
    }
    return 0;
}

static int peers_add(struct cli *c, const char *hostport)
{
    char normal[HOME_PEER_MAX], path[AM_HOME_PATH_MAX];
    int rc;
    if (home_peer_normal(hostport, normal) != AM_OK) {
        cli_err("peers add: '%s' is not HOST or HOST:PORT (e.g. 192.168.1.20:47470)", hostport);
        return 2;
    }
    if (cli_resolve_home(c))
        return 1;
    if (!home_is_initialised(c->home)) {
        cli_err("no aidmesh node in %s yet: run `aidmesh init` first", c->home);
        return 1;
    }
    rc = home_config_peer_add(c->home, hostport, normal);
    if (rc == AM_EEXIST) {
        printf("static peer %s is already in the config (a HOST alone means HOST:%d): "
               "nothing added\n",
               normal, DAEMON_DEFAULT_PORT);
        return 0;
    }
    if (rc != AM_OK) {
        home_path(path, c->home, "config");
        cli_err("cannot write %s: %s", path, rc == AM_ESYS ? strerror(errno) : am_strerror(rc));
        return 1;
    }
    printf("added static peer %s; a running node dials it within a second\n", normal);
    return 0;
}

/* The name a peer gave, as a column of 20 characters escaped for the terminal ("-" when
 * none: a node older than names, or not connected in this run). */
static void peer_name_col(const struct status_peer *pe)
{
    const char *nm = pe->name[0] ? pe->name : "-";
    out_col(stdout, nm, strlen(nm), 20, 0, 0);
}

int cli_cmd_peers(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    struct node_status st;
    char err[200];
    int opt, rc, shown = 0;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == CLI_OPT_HELP) {
            fputs(peers_help, stdout);
            return 0;
        }
        if (cli_common_opt(c, opt))
            continue;
        switch (opt) {
        default:
            cli_err("peers: unknown option '%s' (see `aidmesh peers --help`)", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc && strcmp(argv[optind], "add") == 0) {
        if (optind + 2 != argc) {
            cli_err("peers add: give one HOST or HOST:PORT");
            return 2;
        }
        return peers_add(c, argv[optind + 1]);
    }
    if (optind < argc) {
        cli_err("peers: unexpected argument '%s' (see `aidmesh peers --help`)", argv[optind]);
        return 2;
    }
    if (cli_resolve_home(c))
        return 1;
    status_init(&st);
    rc = status_ask(c->home, 0, &st, err, sizeof err);
    if (rc == AM_ENOTFOUND) {
        status_free(&st);
        if (c->json)
            return print_json(status_peers_json(NULL));
        printf("no aidmesh node is running for %s: start one with `aidmesh run`\n", c->home);
        return 0;
    }
    if (rc != AM_OK) {
        status_free(&st);
        if (rc == AM_ETIMEOUT)
            cli_err("peers: the node running for %s did not answer on %s/%s within %d s: it "
                    "may hang; restart `aidmesh run` and check its log",
                    c->home, c->home, STATUS_SOCKET, STATUS_DEADLINE_MS / 1000);
        else if (rc == AM_EINVAL)
            cli_err("peers: %s/%s is longer than a unix socket path may be: use a shorter "
                    "--home",
                    c->home, STATUS_SOCKET);
        else
            cli_err("peers: cannot read the status of the node running for %s: %s%s%s", c->home,
                    am_strerror(rc), err[0] ? ": " : "", err);
        return 1;
    }
    if (c->json) {
        rc = print_json(status_peers_json(&st));
        status_free(&st);
        return rc;
    }
    printf("connected peers:\n");
    for (size_t i = 0; i < st.n_connected; i++) {
        const struct status_peer *pe = &st.connected[i];
        char when[16];
        clock_text(pe->last_seen, when);
        printf("  %-16.16s ", pe->author);
        peer_name_col(pe);
        printf(" %-24s %-8s last seen %s, got %llu, gave %llu\n", pe->address, pe->state, when,
               (unsigned long long)pe->entries_in, (unsigned long long)pe->entries_out);
        shown++;
    }
    if (!shown)
        printf("  none\n");
    printf("known peers:\n");
    shown = 0;
    for (size_t i = 0; i < st.n_known; i++) {
        const struct status_peer *pe = &st.known[i];
        char when[16];
        if (pe->self)
            continue;
        printf("  %-16.16s ", pe->author[0] ? pe->author : "-");
        peer_name_col(pe);
        printf(" %-30s %-13s", pe->address, pe->source);
        if (!strcmp(pe->direction, "in"))
            printf(" (it dialed this node)");
        if (pe->last_seen) {
            clock_text(pe->last_seen, when);
            printf(" last seen %s", when);
        }
        if (pe->last_error[0])
            printf("%s last try: %s", pe->last_seen ? "," : "", pe->last_error);
        printf("\n");
        shown++;
    }
    if (!shown)
        printf("  none yet\n");
    status_free(&st);
    return 0;
}
