/*
 * cli.h: the `aidmesh` command line: git-style subcommands, each with --help.
 * Turns error codes into sentences that name the bad value and say what to do.
 */
#ifndef AM_CLI_H
#define AM_CLI_H

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
/* Opens the node of the resolved home, printing a sentence on failure. Returns 0 or 1. */
int cli_open(struct cli *c, struct node *n, const struct store_opts *opts);
/* Resolves the home into c->home, printing a sentence on failure. Returns 0 or 1. */
int cli_resolve_home(struct cli *c);

/* The network commands (cli_net.c). */
int cli_cmd_run(struct cli *c, int argc, char **argv);
int cli_cmd_sync(struct cli *c, int argc, char **argv);
int cli_cmd_peers(struct cli *c, int argc, char **argv);

#endif
