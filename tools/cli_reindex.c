/*
 * cli_reindex.c: `aidmesh reindex`: rebuilds every relief view from the stored entries in
 * one transaction (store_reindex) and prints what it found.
 *
 * Never changes an entry; on failure the old views are kept and it says so.
 */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "am_err.h"
#include "cli.h"
#include "cli_relief_int.h"
#include "out.h"

/* ---- reindex ----------------------------------------------------------------------------- */

static const char reindex_help[] =
    "usage: aidmesh reindex [--json] [--home DIR]\n"
    "\n"
    "Rebuilds every view (sites, items, needs, stock, their indexes and the view\n"
    "fingerprint) from the stored entries, in one transaction. The result is the same as\n"
    "the views kept up to date entry by entry; run it when `aidmesh verify` says the views\n"
    "are damaged. Safe while the daemon runs.\n";

int cli_cmd_reindex(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    struct store_reindex_stats rs;
    struct store_view_stats vs;
    struct node n;
    struct timespec t0, t1;
    char fp[2 * STORE_VIEW_FP_LEN + 1], e[32], o[32];
    double secs;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(reindex_help, stdout);
            return 0;
        }
        if (!k)
            return cli_bad_option("reindex", argv);
    }
    if (optind < argc)
        return cli_usage("reindex", "unexpected argument '%s'", argv[optind]);
    if (cli_open(c, &n, NULL))
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = store_reindex(n.store, &rs);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == AM_OK)
        rc = store_view_stats(n.store, &vs);
    node_close(&n);
    if (rc != AM_OK) {
        if (rc == AM_EFULL)
            cli_err("reindex: the disk is full; free some space (the old views are kept)");
        else
            cli_err("reindex: %s (the old views are kept)", am_strerror(rc));
        return 1;
    }
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    out_hex(fp, vs.fingerprint, STORE_VIEW_FP_LEN);
    if (c->json) {
        /* seconds: to the millisecond */
        return out_json_put(stdout,
                            json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:f,s:s}", "entries",
                                      out_json_u64(rs.entries), "ops", out_json_u64(rs.ops),
                                      "objects", out_json_u64(rs.objects), "invalid_ops",
                                      out_json_u64(rs.invalid), "newer_ops", out_json_u64(rs.newer),
                                      "undecodable", out_json_u64(rs.undecodable), "seconds",
                                      (double)(uint64_t)(secs * 1000.0 + 0.5) / 1000.0,
                                      "view_fingerprint", fp))
                   ? 1
                   : 0;
    }
    out_count(e, rs.entries);
    out_count(o, rs.objects);
    printf("rebuilt the views from %s entries in %.2f s: %s objects (%llu sites, %llu items, "
           "%llu needs, %llu stock cells)\n",
           e, secs, o, (unsigned long long)vs.sites, (unsigned long long)vs.items,
           (unsigned long long)vs.needs, (unsigned long long)vs.cells);
    if (rs.invalid)
        printf("%llu entries carry an invalid op (kept in the log, ignored by the views; "
               "`aidmesh verify` lists them)\n",
               (unsigned long long)rs.invalid);
    if (rs.newer)
        printf("%llu entries carry ops of a newer aidmesh (ignored until this node is "
               "upgraded)\n",
               (unsigned long long)rs.newer);
    printf("view fingerprint %s\n", fp);
    return 0;
}
