/*
 * cli.c: the `aidmesh` command line (see cli.h): init, invite, status, log, verify.
 * Output for people goes to stdout, errors to stderr; --json gives one JSON document.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "am_text.h"
#include "entry.h"
#include "hlc.h"
#include "invite.h"
#include "out.h"
#include "query.h"
#include "status.h"
#include "verify.h"

#define AM_VERSION "0.1.0"

void cli_err(const char *fmt, ...)
{
    va_list ap;
    fputs("aidmesh: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_resolve_home(struct cli *c)
{
    if (home_resolve(c->home, c->home_flag) != AM_OK) {
        cli_err("cannot tell where the data home is: pass --home DIR or set AIDMESH_HOME");
        return 1;
    }
    return 0;
}

/* look: open read-only, unless the store is not there yet or an open to write would
 * upgrade it first (store_wants_write): then as before, to write. */
static int open_node(struct cli *c, struct node *n, const struct store_opts *opts, int look)
{
    enum node_step step;
    char path[AM_HOME_PATH_MAX];
    struct store_damage damage;
    struct store_opts so = opts ? *opts : (struct store_opts){0};
    int rc;

    if (cli_resolve_home(c))
        return 1;
    so.damage = &damage;
    so.read_only = so.read_only || look;
    rc = node_open(n, c->home, &so, &step);
    if (look && ((rc == AM_OK && store_wants_write(n->store)) ||
                 (rc == AM_ENOTFOUND && step == NODE_STEP_STORE))) {
        if (rc == AM_OK)
            node_close(n);
        return open_node(c, n, opts, 0);
    }
    if (rc == AM_OK)
        return 0;
    switch (step) {
    case NODE_STEP_HOME: {
        char text[600];
        home_error_text(c->home, rc, text, sizeof text);
        cli_err("%s", text);
        break;
    }
    case NODE_STEP_IDENTITY:
    case NODE_STEP_NETWORK:
        home_path(path, c->home, step == NODE_STEP_IDENTITY ? "identity.key" : "network.key");
        if (rc == AM_ENOTFOUND)
            cli_err("no aidmesh node in %s yet: run `aidmesh init` first (or pass --home DIR)",
                    c->home);
        else if (rc == AM_EPERM) {
            char text[900];
            home_key_error_text(path, text, sizeof text);
            cli_err("%s", text);
        } else if (rc == AM_ECORRUPT)
            cli_err("%s is not an aidmesh key file; restore it from a backup, or start over "
                    "with `aidmesh init --force`",
                    path);
        else
            cli_err("cannot read %s: %s", path, rc == AM_ESYS ? strerror(errno) : am_strerror(rc));
        break;
    case NODE_STEP_STORE:
        home_path(path, c->home, "store");
        if (rc == AM_EFULL)
            cli_err("cannot open the store in %s: the disk is full; free some space", path);
        else if (rc == AM_ECORRUPT) {
            char record[AM_HOME_PATH_MAX], text[1600];
            home_path(record, c->home, STORE_RECORD_FILE);
            store_damage_text(&damage, path, record, text, sizeof text);
            cli_err("%s", text);
        } else
            cli_err("cannot open the store in %s: %s", path,
                    rc == AM_ESYS ? strerror(errno) : am_strerror(rc));
        break;
    }
    return 1;
}

int cli_open(struct cli *c, struct node *n, const struct store_opts *opts)
{
    return open_node(c, n, opts, 0);
}

int cli_open_to_look(struct cli *c, struct node *n)
{
    return open_node(c, n, NULL, 1);
}

/* ---- shared option handling ------------------------------------------------------------- */

enum {
    OPT_HOME = CLI_OPT_HOME,
    OPT_JSON = CLI_OPT_JSON,
    OPT_HELP = CLI_OPT_HELP,
    OPT_NAME = 1000,
    OPT_JOIN,
    OPT_FORCE,
    OPT_AUTHOR,
    OPT_LIMIT
};

int cli_usage(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* "import: row 5, #loc+code" (a row of a file, cli_import.c) has the help of "import" */
    cli_err("%s: %s (see `aidmesh %.*s --help`)", cmd, msg, (int)strcspn(cmd, ":"), cmd);
    return 2;
}

int cli_subcommand_help(int argc, char **argv, const char *help)
{
    if (argc >= 2 && strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "-h") != 0)
        return 0;
    fputs(help, argc < 2 ? stderr : stdout);
    return 1;
}

int cli_bad_option(const char *cmd, char **argv)
{
    return cli_usage(cmd, "unknown option, or an option without its value: '%s'", argv[optind - 1]);
}

int cli_common_opt(struct cli *c, int opt)
{
    switch (opt) {
    case CLI_OPT_HOME:
        c->home_flag = optarg;
        return 1;
    case CLI_OPT_JSON:
        c->json = 1;
        return 1;
    case CLI_OPT_HELP:
        return CLI_OPT_HELP;
    }
    return 0;
}

/* ---- init -------------------------------------------------------------------------------- */

static const char init_help[] =
    "usage: aidmesh init [--name LABEL] [--join CODE] [--force] [--home DIR]\n"
    "\n"
    "Creates this node's identity and either a new relief network or joins one.\n"
    "\n"
    "  --name LABEL  a name people recognise, e.g. hub-north or clinic-2; it is the line\n"
    "                `name = LABEL` of HOME/config: change that line to rename the node\n"
    "                (a running node uses the new name once started again)\n"
    "  --join CODE   join the network of this invite code (from `aidmesh invite` on a\n"
    "                node of that network); without it, a new network is created\n"
    "  --force       replace the keys of a home that is already set up; the old key\n"
    "                files are kept beside the new ones, the stored records stay\n"
    "  --home DIR    data home (default: $AIDMESH_HOME, else ~/.local/share/aidmesh)\n"
    "  --json        print the result as JSON\n";

static int cmd_init(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"name", required_argument, NULL, OPT_NAME},
                                         {"join", required_argument, NULL, OPT_JOIN},
                                         {"force", no_argument, NULL, OPT_FORCE},
                                         {0, 0, 0, 0}};
    const char *name = "", *join = NULL;
    int force = 0, opt, rc;
    uint8_t seed[AM_SEED_LEN], secret[AM_NETSECRET_LEN];
    char code[AM_INVITE_TEXT_MAX], where[96];
    struct node n;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(init_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt == OPT_NAME)
            name = optarg;
        else if (opt == OPT_JOIN)
            join = optarg;
        else if (opt == OPT_FORCE)
            force = 1;
        else
            return cli_bad_option("init", argv);
    }
    if (optind < argc)
        return cli_usage("init", "%s", "unexpected argument");
    if (strlen(name) > AM_NAME_MAX) {
        cli_err("init: the name must be one line of at most %d bytes", AM_NAME_MAX);
        return 2;
    }
    {
        struct am_text_bad tb;
        char why[112];
        if (am_text_check(name, strlen(name), 0, &tb) != AM_OK) {
            am_text_explain(why, sizeof why, &tb);
            cli_err("init: --name must be printable text: %s; type the name without it", why);
            return 2;
        }
    }
    if (cli_resolve_home(c))
        return 1;
    if (home_is_initialised(c->home) && !force) {
        cli_err("%s is already set up as an aidmesh node; `aidmesh status` shows it. To "
                "replace its keys, run `aidmesh init --force` (the old key files are kept)",
                c->home);
        return 1;
    }
    if (join) {
        rc = invite_parse(join, secret, where, sizeof where);
        if (rc == AM_ECHECKSUM) {
            cli_err("invite code has a typo near %s; check it with the person who gave it", where);
            return 1;
        }
        if (rc != AM_OK) {
            cli_err("that is not an invite code: look at %s (a code looks like "
                    "am1-xxxxx-xxxxx-xxxxx-xxxxx-xxxxx-xxxxx-xxxxx)",
                    where);
            return 1;
        }
    } else {
        randombytes_buf(secret, sizeof secret);
    }
    randombytes_buf(seed, sizeof seed);
    rc = home_init(c->home, seed, secret, name, force);
    sodium_memzero(seed, sizeof seed);
    if (rc == AM_EPERM) {
        char text[600];
        home_error_text(c->home, rc, text, sizeof text);
        cli_err("%s", text);
    } else if (rc != AM_OK) {
        cli_err("cannot set up %s: %s", c->home, rc == AM_ESYS ? strerror(errno) : am_strerror(rc));
    }
    if (rc != AM_OK) {
        sodium_memzero(secret, sizeof secret);
        return 1;
    }
    invite_format(secret, code, sizeof code);
    sodium_memzero(secret, sizeof secret);
    if (force) { /* starting over: accept the store found now, and record it (PROTOCOL.md §7) */
        char record[AM_HOME_PATH_MAX];
        home_path(record, c->home, STORE_RECORD_FILE);
        if (store_record_set_aside(record) != AM_OK)
            cli_err("cannot move %s aside: %s", record, strerror(errno));
    }
    if (cli_open(c, &n, NULL))
        return 1;
    {
        char author[65], netid[2 * AM_NETID_LEN + 1];
        entry_id_hex(n.pk, author);
        out_hex(netid, n.netid, AM_NETID_LEN);
        if (c->json) {
            out_json_put(stdout,
                         json_pack("{s:o,s:o,s:s,s:s,s:b,s:s}", "home", out_json_strz(c->home),
                                   "name", out_json_strz(n.name), "author", author, "network_id",
                                   netid, "joined", join, "invite", code));
        } else {
            printf("Set up an aidmesh node in %s\n", c->home);
            if (n.name[0])
                printf("  name:        %s\n", n.name);
            printf("  author id:   %.16s (full: %s)\n", author, author);
            printf("  network id:  %s (%s)\n", netid, join ? "joined" : "new network");
            printf("\nInvite code of this network (give it only to nodes of your network;\n"
                   "they join with `aidmesh init --join CODE --name THEIR-NAME`):\n\n    %s\n",
                   code);
        }
    }
    node_close(&n);
    return 0;
}

/* ---- invite ------------------------------------------------------------------------------ */

static const char invite_help[] =
    "usage: aidmesh invite [--json] [--home DIR]\n"
    "\n"
    "Prints the invite code of this node's network. Anyone with it can join the network\n"
    "and read its records: read it out only to people of your relief network.\n";

static int cmd_invite(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    uint8_t secret[AM_NETSECRET_LEN];
    char code[AM_INVITE_TEXT_MAX];
    struct node n;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(invite_help, stdout);
            return 0;
        }
        if (!k)
            return cli_bad_option("invite", argv);
    }
    if (optind < argc)
        return cli_usage("invite", "%s", "unexpected argument");
    if (cli_open(c, &n, NULL))
        return 1;
    rc = home_load_network(c->home, secret);
    if (rc == AM_OK)
        invite_format(secret, code, sizeof code);
    sodium_memzero(secret, sizeof secret);
    node_close(&n);
    if (rc != AM_OK) {
        cli_err("cannot read the network key: %s", am_strerror(rc));
        return 1;
    }
    if (c->json)
        out_json_put(stdout, json_pack("{s:s}", "invite", code));
    else
        printf("%s\n", code);
    sodium_memzero(code, sizeof code);
    return 0;
}

/* ---- status ------------------------------------------------------------------------------ */

static const char status_help[] =
    "usage: aidmesh status [--json] [--home DIR]\n"
    "\n"
    "Shows this node: its identity, network id (never the key), install id, and what\n"
    "its store holds: authors, entries, and forks (one identity used on two machines:\n"
    "every branch is kept and counts; `aidmesh forks` lists them);\n"
    "and its relief views with their fingerprint: two nodes with the same records show\n"
    "the same fingerprint. Last, whether this node's `aidmesh run` is running (asked over\n"
    "its control socket in the home) and how many peers it has connected.\n";

/* What status reads of the store, in one guarded call (store_guarded): a damaged page
 * that LMDB trips over is an error, not a crash. */
struct status_reads {
    struct node *n;
    struct store_stats *st;
    struct store_view_stats *vs;
    struct query **q;
    const struct query_successor **prev;
    size_t *nprev;
};

static int status_read(void *ctx)
{
    struct status_reads *r = ctx;
    int rc = store_stats(r->n->store, r->st);
    if (rc == AM_OK)
        rc = store_view_stats(r->n->store, r->vs);
    /* the keys this node's key took over from (`aidmesh identity rotate`) */
    if (rc == AM_OK && (rc = query_open(r->n->store, 0, r->q)) == AM_OK)
        rc = query_predecessors(*r->q, r->n->pk, r->prev, r->nprev);
    return rc;
}

static int cmd_status(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    struct node n;
    struct store_stats st;
    struct store_view_stats vs;
    char vfp[2 * STORE_VIEW_FP_LEN + 1];
    uint8_t iid[AM_INSTALL_ID_LEN], from[AM_INSTALL_ID_LEN];
    char author[65], netid[2 * AM_NETID_LEN + 1], iidh[2 * AM_INSTALL_ID_LEN + 1],
        fromh[2 * AM_INSTALL_ID_LEN + 1];
    char a[32], e[32], f[32], derr[256];
    struct node_status ns;
    struct query *q = NULL;
    const struct query_successor *prev = NULL;
    size_t nprev = 0;
    json_t *jprev;
    int opt, rc, copied, drc;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(status_help, stdout);
            return 0;
        }
        if (!k)
            return cli_bad_option("status", argv);
    }
    if (optind < argc)
        return cli_usage("status", "%s", "unexpected argument");
    if (cli_open_to_look(c, &n))
        return 1;
    {
        struct status_reads r = {&n, &st, &vs, &q, &prev, &nprev};
        rc = store_guarded(n.store, status_read, &r, NULL);
    }
    if (rc != AM_OK) {
        cli_err("cannot read the store: %s", am_strerror(rc));
        query_close(q);
        node_close(&n);
        return 1;
    }
    jprev = json_array();
    for (size_t i = 0; i < nprev; i++) {
        char h[65], when[32];
        entry_id_hex(prev[i].old, h);
        out_iso_ms(when, hlc_ms(prev[i].hlc));
        json_array_append_new(jprev, json_pack("{s:s,s:s,s:o}", "author", h, "rotated_at", when,
                                               "seq", out_json_u64(prev[i].seq)));
    }
    store_install_id(n.store, iid, from);
    copied = !sodium_is_zero(from, sizeof from);
    /* the running node, asked over its control socket (PROTOCOL.md 8.5) */
    status_init(&ns);
    drc = status_ask(c->home, 1000, &ns, derr, sizeof derr);
    entry_id_hex(n.pk, author);
    out_hex(netid, n.netid, AM_NETID_LEN);
    out_hex(iidh, iid, sizeof iid);
    out_hex(fromh, from, sizeof from);
    out_hex(vfp, vs.fingerprint, STORE_VIEW_FP_LEN);
    if (c->json) {
        json_t *daemon = drc == AM_OK ? json_pack("{s:b,s:I,s:I,s:I}", "running", 1, "pid",
                                                  (json_int_t)ns.pid, "port", (json_int_t)ns.port,
                                                  "connected", (json_int_t)ns.n_connected)
                                      : json_pack("{s:b}", "running", 0);
        out_json_put(
            stdout,
            json_pack("{s:o,s:o,s:s,s:o,s:s,s:s,s:s?,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s,"
                      "s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
                      "home", out_json_strz(c->home), "name", out_json_strz(n.name), "author",
                      author, "previous_authors", jprev, "network_id", netid, "install_id", iidh,
                      "copied_from", copied ? fromh : NULL, "authors", out_json_u64(st.authors),
                      "entries", out_json_u64(st.entries), "fork_evidence", out_json_u64(st.forks),
                      "forked_authors", out_json_u64(st.forked), "logs", out_json_u64(st.logs),
                      "abusive_authors", out_json_u64(st.abusive), "lane_entries",
                      out_json_u64(st.lane), "store_bytes", out_json_u64(st.map_used),
                      "store_map_bytes", out_json_u64(st.map_size), "view_fingerprint", vfp,
                      "view_objects", out_json_u64(vs.objects), "sites", out_json_u64(vs.sites),
                      "items", out_json_u64(vs.items), "needs", out_json_u64(vs.needs),
                      "stock_cells", out_json_u64(vs.cells), "invalid_ops",
                      out_json_u64(vs.invalid), "daemon", daemon));
    } else {
        out_count(a, st.authors);
        out_count(e, st.entries);
        out_count(f, st.forked);
        printf("aidmesh node %s\n",
               n.name[0] ? n.name : "(no name: set one with a line `name = LABEL` in HOME/config)");
        printf("  home:        %s\n", c->home);
        printf("  author id:   %.16s (full: %s)\n", author, author);
        for (size_t i = 0; i < nprev; i++) {
            char h[65], when[32];
            entry_id_hex(prev[i].old, h);
            out_iso_ms(when, hlc_ms(prev[i].hlc));
            printf("  previous key: %.16s, succeeded by this one on %s (`aidmesh identity "
                   "rotate`)\n",
                   h, when);
        }
        json_decref(jprev);
        printf("  network id:  %s\n", netid);
        printf("  install id:  %s%s%s\n", iidh, copied ? ", copied from " : "",
               copied ? fromh : "");
        printf("  store:       %s entr%s from %s author%s", e, st.entries == 1 ? "y" : "ies", a,
               st.authors == 1 ? "" : "s");
        if (st.logs > st.authors) /* a forked author's branches are logs of their own */
            printf(" in %llu logs", (unsigned long long)st.logs);
        printf(", %.1f MiB\n", (double)st.map_used / (1024.0 * 1024.0));
        if (st.lane)
            printf("  ahead:       %llu most needed record%s came ahead of %s log (a short\n"
                   "               contact); %s shown, and %s log follows\n",
                   (unsigned long long)st.lane, st.lane == 1 ? "" : "s",
                   st.lane == 1 ? "its" : "their", st.lane == 1 ? "it is" : "they are",
                   st.lane == 1 ? "its" : "their");
        if (st.forked)
            printf("  forks:       %s author%s signed two different entries for one place in\n"
                   "               %s log (an identity in use on two machines?): every branch\n"
                   "               is kept and counts; see `aidmesh forks`\n",
                   f, st.forked == 1 ? "" : "s", st.forked == 1 ? "its" : "their");
        else
            printf("  forks:       none\n");
        if (st.abusive)
            printf("  abusive:     %llu author%s signed more than %d branches: the further ones "
                   "are\n"
                   "               kept as evidence only (%llu), and %s records no longer count\n",
                   (unsigned long long)st.abusive, st.abusive == 1 ? "" : "s", AM_LOGS_PER_AUTHOR,
                   (unsigned long long)st.forks, st.abusive == 1 ? "its" : "their");
        printf("  views:       %llu sites, %llu items, %llu needs, %llu stock cells\n"
               "  view fingerprint: %s (same records, same value)\n",
               (unsigned long long)vs.sites, (unsigned long long)vs.items,
               (unsigned long long)vs.needs, (unsigned long long)vs.cells, vfp);
        if (vs.invalid)
            printf("  invalid ops: %llu entries carry an op the views ignore: see `aidmesh "
                   "verify`\n",
                   (unsigned long long)vs.invalid);
        if (drc == AM_OK)
            printf("  node:        running (pid %ld, port %u), %zu peer%s connected: see "
                   "`aidmesh peers`\n",
                   ns.pid, ns.port, ns.n_connected, ns.n_connected == 1 ? "" : "s");
        else if (drc == AM_ENOTFOUND)
            printf("  node:        not running (start it with `aidmesh run`)\n");
        else
            printf("  node:        not answering on its control socket (%s)\n",
                   derr[0] ? derr : am_strerror(drc));
        if (copied)
            printf("  note:        this store was copied from another install; if the\n"
                   "               original still runs with the same identity, give this\n"
                   "               copy a new key (`aidmesh identity rotate --force`)\n");
    }
    status_free(&ns);
    query_close(q);
    node_close(&n);
    return 0;
}

/* ---- log --------------------------------------------------------------------------------- */

static const char log_help[] =
    "usage: aidmesh log [--author ID] [--limit N] [--json] [--home DIR]\n"
    "\n"
    "Lists the entries of the store, author by author, oldest first.\n"
    "\n"
    "  --author ID  only this author (the full id, or a unique prefix of it)\n"
    "  --limit N    at most N entries\n"
    "  --json       one JSON object per line\n";

struct log_ctx {
    int json;
    uint64_t limit, shown;
};

static int log_entry(void *ctx, const uint8_t *raw, size_t len)
{
    struct log_ctx *l = ctx;
    struct entry e;
    char author[65], when[32], hash[65];
    uint8_t h[AM_HASH_LEN];

    if (l->limit && l->shown >= l->limit)
        return 1;
    l->shown++;
    if (entry_decode(&e, raw, len) != AM_OK) {
        if (l->json)
            out_json_put(stdout, json_pack("{s:s}", "error", "entry does not decode"));
        else
            printf("(an entry that does not decode: run `aidmesh verify`)\n");
        return 0;
    }
    entry_id_hex(e.author, author);
    entry_hash(&e, h);
    out_hex(hash, h, AM_HASH_LEN);
    out_iso_ms(when, hlc_ms(e.hlc));
    if (l->json) {
        json_t *op = out_msgpack_value(e.op, e.op_len);
        out_json_put(stdout, json_pack("{s:s,s:o,s:o,s:s,s:s,s:I,s:o}", "author", author, "seq",
                                       out_json_u64(e.seq), "hlc", out_json_u64(e.hlc), "time",
                                       when, "hash", hash, "bytes", (json_int_t)len, "op",
                                       op ? op : json_null()));
    } else {
        printf("%.8s %6llu  %s  ", author, (unsigned long long)e.seq, when);
        if (out_msgpack_json(stdout, e.op, e.op_len) != 0)
            printf("(op does not decode)");
        printf("\n");
    }
    return 0;
}

struct find_author {
    const char *prefix;
    size_t plen;
    uint8_t found[AM_PK_LEN];
    int matches;
};

static int match_author(void *ctx, const struct store_head *h)
{
    struct find_author *f = ctx;
    char hex[65];
    if (memcmp(h->log, h->author, AM_PK_LEN) != 0)
        return 0; /* a branch's log (PROTOCOL.md 6): its author is counted at its root log */
    entry_id_hex(h->author, hex);
    if (strncmp(hex, f->prefix, f->plen) == 0) {
        memcpy(f->found, h->author, AM_PK_LEN);
        f->matches++;
    }
    return 0;
}

struct author_logs {
    struct store *s;
    const uint8_t *author;
    struct log_ctx *l;
    int rc;
};

static int log_of_author(void *ctx, const struct store_head *h)
{
    struct author_logs *a = ctx;
    if (memcmp(h->author, a->author, AM_PK_LEN) != 0)
        return 0;
    a->rc = store_entries_each(a->s, h->log, 1, log_entry, a->l);
    return a->rc < 0;
}

static int cmd_log(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"author", required_argument, NULL, OPT_AUTHOR},
                                         {"limit", required_argument, NULL, OPT_LIMIT},
                                         {0, 0, 0, 0}};
    struct log_ctx l = {0};
    struct find_author fa = {0};
    const char *author = NULL;
    struct node n;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(log_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt == OPT_AUTHOR) {
            author = optarg;
        } else if (opt == OPT_LIMIT) {
            char *end;
            errno = 0;
            l.limit = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg || optarg[0] == '-')
                return cli_usage("log", "%s", "--limit takes a whole number");
        } else {
            return cli_bad_option("log", argv);
        }
    }
    if (optind < argc)
        return cli_usage("log", "%s", "unexpected argument");
    if (author) {
        size_t al = strlen(author);
        if (al == 0 || al > 64 || strspn(author, "0123456789abcdefABCDEF") != al)
            return cli_usage("log", "%s",
                             "--author takes an author id in hex (see `aidmesh status`)");
    }
    if (cli_open(c, &n, NULL))
        return 1;
    l.json = c->json;
    if (author) {
        char lower[65];
        size_t i;
        for (i = 0; author[i]; i++)
            lower[i] = (char)(author[i] | 0x20);
        lower[i] = 0;
        fa.prefix = lower;
        fa.plen = i;
        store_heads_each(n.store, match_author, &fa);
        if (fa.matches != 1) {
            if (fa.matches)
                cli_err("log: the author prefix '%s' matches %d authors; type more of it", author,
                        fa.matches);
            else
                cli_err("log: no author '%s' in this store; `aidmesh log` lists all", author);
            node_close(&n);
            return 1;
        }
    }
    if (author) {
        /* every log of the author: its root log, and each branch's if it forked */
        struct author_logs al = {n.store, fa.found, &l, AM_OK};
        rc = store_heads_each(n.store, log_of_author, &al);
        if (rc == AM_OK)
            rc = al.rc;
    } else {
        rc = store_entries_each(n.store, NULL, 1, log_entry, &l);
    }
    node_close(&n);
    if (rc < 0) {
        cli_err("cannot read the store: %s", am_strerror(rc));
        return 1;
    }
    return 0;
}

/* ---- verify ------------------------------------------------------------------------------ */

static const char verify_help[] =
    "usage: aidmesh verify [--json] [--home DIR]\n"
    "\n"
    "Re-checks every chain and every signature in the store and reports what is wrong\n"
    "by author and seq. Exits 0 only when everything is clean. A forked author (one\n"
    "identity used on two machines) is noted but is not damage: every branch of it is\n"
    "checked, kept and counts (see `aidmesh forks`). Neither is an author\n"
    "who signed entries badly and then signed over them (every node accepts such a\n"
    "run): such an author is reported as misbehaving, and the store is clean.\n";

struct vctx {
    int json;
    json_t *problems;    /* with --json: what verify found, printed at the end */
    json_t *misbehaving; /* with --json: the authors who signed entries badly */
};

static void verify_problem(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t seq,
                           const char *what)
{
    struct vctx *v = ctx;
    char hex[65];
    entry_id_hex(author, hex);
    if (v->json)
        json_array_append_new(v->problems,
                              json_pack("{s:s,s:o,s:o}", "author", hex, "seq", out_json_u64(seq),
                                        "problem", out_json_strz(what)));
    else
        printf("  author %.16s seq %llu: %s\n", hex, (unsigned long long)seq, what);
}

static void verify_misbehaving(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t first_seq,
                               uint64_t count)
{
    struct vctx *v = ctx;
    char hex[65];
    entry_id_hex(author, hex);
    if (v->json)
        json_array_append_new(v->misbehaving, json_pack("{s:s,s:o,s:o}", "author", hex, "first_seq",
                                                        out_json_u64(first_seq), "bad_signatures",
                                                        out_json_u64(count)));
    else if (count == 1)
        printf("  author %.16s misbehaving: seq %llu has a bad signature, and a later entry of "
               "this author signs over it (accepted by every node; not damage)\n",
               hex, (unsigned long long)first_seq);
    else
        printf("  author %.16s misbehaving: %llu entries from seq %llu on have a bad signature, "
               "and later entries of this author sign over them (accepted by every node; not "
               "damage)\n",
               hex, (unsigned long long)count, (unsigned long long)first_seq);
}

static int verify_invalid(void *ctx, const uint8_t *author, uint64_t seq, const char *why,
                          size_t len)
{
    char hex[65];
    (void)ctx;
    entry_id_hex(author, hex);
    printf("  author %.16s seq %llu: %.*s\n", hex, (unsigned long long)seq, (int)len, why);
    return 0;
}

static int cmd_verify(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    struct vctx v = {0, NULL, NULL};
    struct verify_report r;
    struct store_stats st;
    struct node n;
    char e[32], a[32];
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(verify_help, stdout);
            return 0;
        }
        if (!k)
            return cli_bad_option("verify", argv);
    }
    if (optind < argc)
        return cli_usage("verify", "%s", "unexpected argument");
    if (cli_open_to_look(c, &n))
        return 1;
    v.json = c->json;
    if (v.json && (!(v.problems = json_array()) || !(v.misbehaving = json_array()))) {
        json_decref(v.problems);
        node_close(&n);
        cli_err("verify: out of memory");
        return 1;
    }
    rc = verify_store_all(n.store, verify_problem, verify_misbehaving, &v, &r);
    if (rc == AM_OK)
        rc = store_stats(n.store, &st);
    if (rc == AM_OK && r.invalid_ops && !v.json) {
        printf("note: %llu entries carry an invalid op: kept in the log, ignored by the views "
               "(the same on every node):\n",
               (unsigned long long)r.invalid_ops);
        rc = verify_invalid_each(n.store, verify_invalid, NULL, &r.damage);
    }
    node_close(&n);
    if (rc != AM_OK) {
        if (v.json)
            out_json_put(stdout, json_pack("{s:o,s:o}", "problems", v.problems, "misbehaving",
                                           v.misbehaving));
        if (rc == AM_ECORRUPT) { /* the file itself is damaged (PROTOCOL.md §7) */
            char dir[AM_HOME_PATH_MAX], text[1600];
            home_path(dir, c->home, "store");
            store_damage_text(&r.damage, dir, NULL, text, sizeof text);
            cli_err("verify stopped: %s", text);
        } else {
            cli_err("verify stopped: %s", am_strerror(rc));
        }
        return 1;
    }
    if (v.json) {
        if (out_json_put(stdout,
                         json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}", "problems", v.problems,
                                   "misbehaving", v.misbehaving, "authors", out_json_u64(r.authors),
                                   "logs", out_json_u64(r.logs), "entries", out_json_u64(r.entries),
                                   "fork_evidence", out_json_u64(r.forks), "forked_authors",
                                   out_json_u64(st.forked), "invalid_ops",
                                   out_json_u64(r.invalid_ops), "clean", !r.problems))) {
            cli_err("verify: out of memory");
            return 1;
        }
    } else {
        out_count(e, r.entries);
        out_count(a, r.authors);
        printf("verified %s entr%s from %s author%s", e, r.entries == 1 ? "y" : "ies", a,
               r.authors == 1 ? "" : "s");
        if (r.logs > r.authors)
            printf(" in %llu logs", (unsigned long long)r.logs);
        printf(": %s\n", r.problems ? "PROBLEMS FOUND (listed above)" : "clean");
        if (st.forked)
            printf("note: %llu author%s signed two branches (one identity used on two "
                   "machines); every branch is kept and counts: see `aidmesh forks`\n",
                   (unsigned long long)st.forked, st.forked == 1 ? "" : "s");
        if (r.forks)
            printf("note: %llu entr%s kept as evidence only (a key that signed more than %d "
                   "branches): see `aidmesh forks`\n",
                   (unsigned long long)r.forks, r.forks == 1 ? "y is" : "ies are",
                   AM_LOGS_PER_AUTHOR);
        if (r.misbehaving)
            printf("note: %llu author%s signed entries with a bad signature and then signed over "
                   "them (listed above as misbehaving): kept, as on every node (PROTOCOL.md §6)\n",
                   (unsigned long long)r.misbehaving, r.misbehaving == 1 ? "" : "s");
    }
    return r.problems ? 1 : 0;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

struct command {
    const char *name;
    int (*fn)(struct cli *c, int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"init", cmd_init, "set up this node: identity, and a new or joined network"},
    {"invite", cmd_invite, "print the invite code of this node's network"},
    {"status", cmd_status, "show identity, network, install id and store counts"},
    {"log", cmd_log, "list the entries of the store"},
    {"verify", cmd_verify, "re-check every chain and signature of the store"},
    {"run", cli_cmd_run, "run the node: find peers on the local network and sync live"},
    {"sync", cli_cmd_sync, "sync once with one node (HOST:PORT) and exit"},
    {"peers", cli_cmd_peers, "show connected and known peers; peers add HOST:PORT"},
    {"doctor", cli_cmd_doctor, "check the home and the network; say why peers are silent"},
    {"stick", cli_cmd_stick, "sync with a USB stick a runner carries; stick status PATH"},
    {"site", cli_cmd_site, "add, update and list sites (hubs, shelters, clinics, ...)"},
    {"item", cli_cmd_item, "add, update and list catalogue items"},
    {"need", cli_cmd_need, "record and follow needs: add, list, show, update, deliver, close"},
    {"stock", cli_cmd_stock, "record stock: receive, issue, adjust, count; show it"},
    {"ship", cli_cmd_ship, "shipments between sites: create, dispatch, receive, cancel, list"},
    {"export", cli_cmd_export, "export sites, items, needs or stock as CSV with HXL hashtags"},
    {"import", cli_cmd_import, "import sites, items, needs or stock from CSV with HXL hashtags"},
    {"reindex", cli_cmd_reindex, "rebuild the views from the stored entries"},
    {"forks", cli_cmd_forks, "nodes whose key signs on two machines, with the evidence"},
    {"identity", cli_cmd_identity, "identity rotate: a new key for this node (after a fork)"},
    {"report", cli_cmd_report, "write the hub dashboard as one HTML file (--html FILE)"},
    {"web", cli_cmd_web, "pair phones with the web app; web devices, web revoke"},
};

static void main_help(FILE *f)
{
    fprintf(f, "usage: aidmesh [--home DIR] COMMAND [OPTIONS]\n"
               "\n"
               "aidmesh keeps a shared, signed record of relief needs and stock, and syncs it\n"
               "between nodes without any server.\n"
               "\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n"
               "Every command takes --help. The data home is --home DIR, else $AIDMESH_HOME,\n"
               "else ~/.local/share/aidmesh.\n");
}

int cli_main(int argc, char **argv)
{
    struct cli c = {0};
    int i = 1;

    if (sodium_init() < 0) {
        cli_err("libsodium failed to start");
        return 1;
    }
    /* Options before the command: --home DIR, --help, --version. */
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--home") == 0 && i + 1 < argc) {
            c.home_flag = argv[i + 1];
            i += 2;
        } else if (strncmp(argv[i], "--home=", 7) == 0) {
            c.home_flag = argv[i] + 7;
            i++;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            main_help(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("aidmesh %s\n", AM_VERSION);
            return 0;
        } else {
            cli_err("unknown option '%s' (see `aidmesh --help`)", argv[i]);
            return 2;
        }
    }
    if (i >= argc) {
        main_help(stderr);
        return 2;
    }
    if (strcmp(argv[i], "help") == 0) {
        main_help(stdout);
        return 0;
    }
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
        if (strcmp(argv[i], commands[k].name) == 0) {
            optind = 1;
            opterr = 0;
            return commands[k].fn(&c, argc - i, argv + i);
        }
    }
    cli_err("unknown command '%s' (see `aidmesh --help`)", argv[i]);
    return 2;
}
