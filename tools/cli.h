/*
 * cli.h: the `aidmesh` command line: git-style subcommands, each with --help.
 * Turns error codes into sentences that name the bad value and say what to do.
 */
#ifndef AM_CLI_H
#define AM_CLI_H

#include <stdio.h>

#include "node.h"

/* Runs one command line; returns the process exit code (0 ok, 1 failure, 2 usage). */
int cli_main(int argc, char **argv);

/* Shared by the commands (cli_*.c). */
struct cli {
    const char *home_flag; /* --home, or NULL */
    char home[AM_HOME_PATH_MAX];
    int json;
};

/* Prints "aidmesh: " + message to stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Options every command takes: --home DIR, --json, --help. Commands number their own
 * options from other ranges. Use CLI_COMMON_OPTS in a getopt_long table (getopt.h). */
enum { CLI_OPT_HOME = 900, CLI_OPT_JSON, CLI_OPT_HELP };
#define CLI_COMMON_OPTS                                                                            \
    {"home", required_argument, NULL, CLI_OPT_HOME}, {"json", no_argument, NULL, CLI_OPT_JSON},    \
    {                                                                                              \
        "help", no_argument, NULL, CLI_OPT_HELP                                                    \
    }
/* Handles a common option: returns 1 (handled), CLI_OPT_HELP, or 0 (not a common one). */
int cli_common_opt(struct cli *c, int opt);
/* "CMD: MESSAGE (see `aidmesh CMD --help`)" on stderr; returns 2, the usage exit code. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* For a command of subcommands (argv[1]): with none, prints help on stderr; with --help
 * or -h, on stdout; returns 1 then (exit 2 without a subcommand, else 0), 0 otherwise. */
int cli_subcommand_help(int argc, char **argv, const char *help);
/* For getopt's '?': names the option that was unknown or lacked its value; returns 2. */
int cli_bad_option(const char *cmd, char **argv);
/* Opens the node of the resolved home, printing a sentence on failure. Returns 0 or 1. */
int cli_open(struct cli *c, struct node *n, const struct store_opts *opts);
/* cli_open for the commands that only look (status, verify): read-only, so a damaged store
 * is not written to; opened to write after all when the store is missing or wants an
 * upgrade that an open to write does (store_wants_write). */
int cli_open_to_look(struct cli *c, struct node *n);
/* Resolves the home into c->home, printing a sentence on failure. Returns 0 or 1. */
int cli_resolve_home(struct cli *c);

/* The network commands (cli_net.c). */
int cli_cmd_run(struct cli *c, int argc, char **argv);
int cli_cmd_sync(struct cli *c, int argc, char **argv);
int cli_cmd_peers(struct cli *c, int argc, char **argv);
/* The diagnosis command (cli_doctor.c). */
int cli_cmd_doctor(struct cli *c, int argc, char **argv);
/* The sneakernet commands (cli_stick.c). */
int cli_cmd_stick(struct cli *c, int argc, char **argv);
/* The phones paired with the web app: web pair, devices, revoke (cli_web.c). */
int cli_cmd_web(struct cli *c, int argc, char **argv);
/* The relief data commands: cli_site.c (site, item), cli_need.c, cli_stock.c, cli_export.c,
 * cli_reindex.c; what they share is cli_relief.c (cli_relief_int.h). */
int cli_cmd_site(struct cli *c, int argc, char **argv);
int cli_cmd_item(struct cli *c, int argc, char **argv);
int cli_cmd_need(struct cli *c, int argc, char **argv);
int cli_cmd_stock(struct cli *c, int argc, char **argv);
/* Shipments between sites (cli_ship.c). */
int cli_cmd_ship(struct cli *c, int argc, char **argv);
int cli_cmd_export(struct cli *c, int argc, char **argv);
/* `import --hxl`: a spreadsheet of sites, items, needs or stock (cli_import.c). */
int cli_cmd_import(struct cli *c, int argc, char **argv);
int cli_cmd_reindex(struct cli *c, int argc, char **argv);
/* Forked authors and their evidence (cli_forks.c). */
int cli_cmd_forks(struct cli *c, int argc, char **argv);
/* This node's key: `identity rotate` (cli_identity.c). */
int cli_cmd_identity(struct cli *c, int argc, char **argv);
/* The hub dashboard as a static HTML file (cli_report.c). */
int cli_cmd_report(struct cli *c, int argc, char **argv);
/* The listings behind `need list` (cli_need.c) and `stock show` (cli_stock.c), read through
 * query q and written to f (for the benchmark too). Return AM_OK or a store error. */
struct query;
struct query_need_filter;
struct query_cell_filter;
int cli_relief_need_list(struct query *q, FILE *f, const struct query_need_filter *nf, int json);
int cli_relief_stock_show(struct query *q, FILE *f, const struct query_cell_filter *cf, int json);
/* `stock totals [--item I]` into f (item NULL: every item). AM_OK or a query error. */
int cli_relief_stock_totals(struct query *q, FILE *f, const char *item, int json);
/* The relief views benchmark (relief_bench.c): builds its workload, measures and prints a
 * Markdown table (intro line, header, rows) to out; stores live under tmpdir. quick: a
 * tenth of the default sizes. Returns AM_OK, or an error (also printed to stderr). */
int relief_bench_run(FILE *out, const char *tmpdir, int quick);
/* The site-local relief workload of relief_bench_run (10 authors, seed 42, n / 10,000
 * sites but at least 10, 100 items; entries signed in memory, then ingested with views,
 * AM_INGEST_BATCH_MAX per call) in a fresh store created in `dir`. Progress on stderr.
 * Returns AM_OK, AM_EINVAL (n < 1,000), AM_ENOMEM, AM_ECORRUPT (an entry was not added,
 * or its op was invalid), or a store_open / store_ingest error; all also on stderr. */
int relief_bench_store(const char *dir, uint64_t n);

#endif
