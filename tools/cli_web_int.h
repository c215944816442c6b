/*
 * cli_web_int.h: what the files of `aidmesh web` share (cli_web.c: pair, devices, revoke;
 * cli_webon.c: on, off, ca and the state). Not a public interface: only tools/cli_web*.c
 * and the run command (cli_net.c, for the config's web keys) include it.
 */
#ifndef AM_CLI_WEB_INT_H
#define AM_CLI_WEB_INT_H

#include <stdio.h>

#include "cli.h"
#include "daemon.h"
#include "webconf.h"

/* The help of `aidmesh web` (cli_web.c). */
extern const char cli_web_help[];

/* The home, resolved and checked, holding a node. Returns 0 or 1 (said why). */
int cli_web_home(struct cli *c, const char *cmd);

/* The QR code of text in UTF-8 half blocks (colors: for a terminal). 0, or -1 when it
 * cannot be made. */
int cli_web_qr(FILE *f, const char *text, int colors);

/* The subcommands of cli_webon.c; argv[0] is the subcommand. `state` is `aidmesh web`
 * with no subcommand (argv[0] "web", maybe with --home or --json). */
int cli_web_on(struct cli *c, int argc, char **argv);
int cli_web_off(struct cli *c, int argc, char **argv);
int cli_web_ca(struct cli *c, int argc, char **argv);
int cli_web_state(struct cli *c, int argc, char **argv);

/* For `aidmesh run` without --http: the web keys of the home's config into o (o->http,
 * o->https, o->ca_listen point into wc, which must outlive the run). Returns 0, or 1 after
 * printing what is wrong with the config. */
int cli_web_run_opts(const char *home, struct webconf *wc, struct daemon_opts *o);

#endif
