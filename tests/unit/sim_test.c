/* sim_test.c: the scenario parser of aidmesh-sim (tools/sim_conf.c): every shipped
 * scenario parses, values land where they belong, and untrusted text is refused with the
 * line and the word named, within the SIM_* limits. And the clone scenarios run: every
 * node ends with one view fingerprint and holds every entry of every branch written (its
 * store's own count), each forked half rotating to a new key. (The other runs, and that
 * one seed gives one report byte for byte, are tests/integration/sim.sh.) */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "sim.h"

static struct sim_config cfg;
static char err[512];

static int parse(const char *text)
{
    err[0] = 0;
    return sim_conf_parse(&cfg, text, "t.conf", err, sizeof err);
}

static void refused(const char *text, int code, const char *needle)
{
    int rc = parse(text);
    cr_assert_eq(rc, code, "%s: got %d (%s)", text, rc, err);
    cr_assert(strstr(err, needle), "'%s' not in '%s'", needle, err);
}

Test(sim_conf, shipped_scenarios_parse)
{
    static const char *const files[] = {"small.conf", "clone.conf", "clones.conf", "hubs200.conf"};
    const char *src = getenv("AM_SOURCE_DIR");
    char path[4096];
    cr_assert(src, "AM_SOURCE_DIR is set by ctest");
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/tools/sim/%s", src, files[i]);
        cr_assert_eq(sim_conf_load(&cfg, path, err, sizeof err), AM_OK, "%s: %s", path, err);
        cr_assert_leq(sim_node_count(&cfg), SIM_NODES_MAX);
    }
    cr_assert_eq(sim_node_count(&cfg), 200, "hubs200 has 200 nodes");
    cr_assert_eq(cfg.entries, 100000);
}

Test(sim_conf, values_land_where_they_belong)
{
    cr_assert_eq(parse("name x # a comment\n"
                       "clusters 3\nmembers 4\nrunners 2\n"
                       "entries 1234\nwrite_until 90m\nround 30m\nuntil 1d\n"
                       "lan up 20m down 2m bw 1MB latency 5ms\n"
                       "route r1 hubs h2 h0 offset 15m dwell 90s\n"
                       "partition h1 h2 from 40m to 90m\n"
                       "crash m2.3 at 20m for 10m\n"
                       "skew m1.0 -365d\n"
                       "clone h1 at 30m into h0 writes 7\n"
                       "garbage into h2 at 10m every 20m count 3\n"
                       "fingerprints per-branch\nfork_evidence reported\non_fork reinit\n"),
                 AM_OK, "%s", err);
    cr_assert_str_eq(cfg.name, "x");
    cr_assert_eq(cfg.entries, 1234);
    cr_assert_eq(cfg.write_until, 90ULL * 60 * 1000000);
    cr_assert_eq(cfg.lan_bw, 1 << 20);
    cr_assert_eq(cfg.lan_lat, 5000);
    cr_assert_eq(cfg.n_routes, 1);
    cr_assert_eq(cfg.routes[0].runner, 1);
    cr_assert_eq(cfg.routes[0].n, 2);
    cr_assert_eq(cfg.routes[0].hubs[0], 2);
    cr_assert_eq(cfg.routes[0].dwell, 90ULL * 1000000);
    cr_assert(cfg.partitions[0].cut[1] && cfg.partitions[0].cut[2] && !cfg.partitions[0].cut[0]);
    cr_assert_eq(cfg.crashes[0].node, 2 * 5 + 1 + 3, "m2.3: cluster 2's fourth member");
    cr_assert_eq(cfg.skews[0].ms, -365LL * 86400 * 1000);
    cr_assert_eq(cfg.clones[0].twin, 5, "h1");
    cr_assert_eq(cfg.clones[0].writes, 7);
    cr_assert_eq(cfg.garbage[0].count, 3);
    cr_assert_eq(cfg.fp_policy, SIM_FP_PER_BRANCH);
    cr_assert_eq(cfg.evidence_required, 0);
    cr_assert_eq(cfg.on_fork, SIM_ON_FORK_REINIT);
    cr_assert_eq(sim_node_count(&cfg), 15 + 2 + 1 + 1);
    /* the defaults: one fingerprint everywhere, a forked key rotates */
    cr_assert_eq(parse("clusters 1\n"), AM_OK, "%s", err);
    cr_assert_eq(cfg.fp_policy, SIM_FP_ONE);
    cr_assert_eq(cfg.on_fork, SIM_ON_FORK_ROTATE);
    cr_assert_eq(parse("fingerprints strict\n"), AM_OK, "the old name of 'one': %s", err);
    cr_assert_eq(cfg.fp_policy, SIM_FP_ONE);
}

Test(sim_conf, errors_name_the_line_and_the_word)
{
    refused("clusters 2\nfrobnicate 3\n", AM_EINVAL,
            "t.conf line 2: unknown directive 'frobnicate'");
    refused("clusters 2\nmembers 1\ncrash m5.0 at 1m for 1m\n", AM_EINVAL,
            "line 3: no member 'm5.0'");
    refused("clusters 2\nround 15\n", AM_EINVAL, "line 2: '15' has no unit");
    refused("round 1h30m\n", AM_EINVAL, "'1h30m' has no unit");
    refused("entries many\n", AM_EINVAL, "line 1: 'many' is not a whole number");
    refused("clusters 2\ncrash h0 at 1m\n", AM_EINVAL, "line 2: 'crash' wants 'for VALUE'");
    refused("clusters 2\nskew h0 3h\nskew h1 +3x\n", AM_EINVAL, "line 3: '+3x' has no unit");
    refused("clusters 2\nroute r0 hubs h0\n", AM_EINVAL, "no runner 'r0'");
    refused("clusters 2\nrunners 1\nroute r0 hubs h0 h7\n", AM_EINVAL, "no hub 'h7'");
    refused("clusters 2\nrunners 1\nroute r0 hubs h0\nroute r0 hubs h1\n", AM_EINVAL,
            "line 4: runner 'r0' has a route already");
    refused("clusters 2\nh0\nmembers 3\n", AM_EINVAL, "line 2: unknown directive 'h0'");
    refused("clusters 2\ncrash h1 at 1m for 1m\nmembers 3\n", AM_EINVAL,
            "line 3: 'members' must come before any node is named");
    refused("partition h0 from 2h to 1h\n", AM_EINVAL, "heals before it starts");
    refused("lan up 1m down 1m bw 1MB\n", AM_EINVAL, "'lan' wants 'latency VALUE'");
    refused("lan up 1m up 2m\n", AM_EINVAL, "'up' appears twice");
    refused("store map 8XB\n", AM_EINVAL, "'8XB' has no unit");
    refused("name caf\xc3\xa9\n", AM_EINVAL, "not printable ASCII");
    refused("write_until 2d\nuntil 1d\n", AM_EINVAL, "t.conf: 'write_until' must end before");
    refused("fingerprints any\n", AM_EINVAL, "line 1: 'any' is not 'one' or 'per-branch'");
    refused("clusters 1\non_fork shrug\n", AM_EINVAL,
            "line 2: 'shrug' is not 'rotate' or 'reinit'");
}

Test(sim_conf, limits)
{
    char *big;
    size_t cap, len;
    refused("clusters 101\n", AM_ELIMIT, "101 is out of range (0 to 100)");
    refused("clusters 100\nmembers 5\n", AM_ELIMIT, "line 2: 600 nodes: at most 500");
    refused("entries 10000001\n", AM_ELIMIT, "out of range");
    refused("batch 0\n", AM_ELIMIT, "out of range (1 to 256)");
    refused("round 401d\n", AM_ELIMIT, "over 400 days");
    refused("entries 99999999999999999999999\n", AM_EINVAL, "not a whole number");
    refused("store map 1KB\n", AM_ELIMIT, "out of range");
    /* a line over SIM_LINE_MAX bytes, and one of too many words */
    cap = 4 * SIM_LINE_MAX;
    big = malloc(cap);
    cr_assert(big);
    memset(big, 'x', 2 * SIM_LINE_MAX);
    snprintf(big + 2 * SIM_LINE_MAX, cap - 2 * SIM_LINE_MAX, "\n");
    refused(big, AM_ELIMIT, "line 1: the line is over 512 bytes");
    len = (size_t)snprintf(big, cap, "clusters 2\npartition");
    for (int i = 0; i < SIM_TOKENS_MAX; i++)
        len += (size_t)snprintf(big + len, cap - len, " h0");
    len += (size_t)snprintf(big + len, cap - len, "\n");
    cr_assert_lt(len, cap);
    refused(big, AM_ELIMIT, "line 2: more than 80 words");
    free(big);
    cap = (size_t)(SIM_LIST_MAX + 2) * 40;
    big = malloc(cap);
    cr_assert(big);
    len = (size_t)snprintf(big, cap, "clusters 1\n");
    for (int i = 0; i <= SIM_LIST_MAX; i++)
        len += (size_t)snprintf(big + len, cap - len, "crash h0 at 1m for 1m\n");
    cr_assert_lt(len, cap);
    refused(big, AM_ELIMIT, "more than 64 'crash' lines");
    free(big);
}

Test(sim_conf, short_contacts)
{
    const char *src = getenv("AM_SOURCE_DIR");
    char path[4096];
    cr_assert_eq(parse("clusters 2\n"), AM_OK, "%s", err);
    cr_assert_eq(cfg.cut_pct, 0, "no cut by default");
    cr_assert_eq(cfg.lane, SIM_LANE_ON, "the lane is on by default, as in the daemon");
    cr_assert_eq(parse("cut 10% until 4h\nlane both\ncritical_delivered 90%\n"), AM_OK, "%s", err);
    cr_assert_eq(cfg.cut_pct, 10);
    cr_assert_eq(cfg.cut_until, 4 * 3600000000ULL);
    cr_assert_eq(cfg.lane, SIM_LANE_BOTH);
    cr_assert(cfg.critical_min_pct > 0, "short.conf: a floor for the lane's figure");
    cr_assert_eq(parse("cut 100% until 1m\nlane off\n"), AM_OK, "%s", err);
    cr_assert_eq(cfg.lane, SIM_LANE_OFF);
    refused("cut 10 until 4h\n", AM_EINVAL, "line 1: '10' is not a whole percentage");
    refused("cut 0% until 4h\n", AM_ELIMIT, "'0%' is out of range");
    refused("cut 101% until 4h\n", AM_ELIMIT, "'101%' is out of range");
    refused("cut 10%\n", AM_EINVAL, "'cut' wants 'until VALUE'");
    refused("cut 10% from 4h\n", AM_EINVAL, "'from' does not belong in 'cut'");
    refused("lane sometimes\n", AM_EINVAL, "'sometimes' is not 'on', 'off' or 'both'");
    refused("critical_delivered 90\n", AM_EINVAL, "not a whole percentage");
    refused("lane both\n", AM_EINVAL, "'lane both' wants a 'cut' line");
    refused("critical_delivered 90%\n", AM_EINVAL, "'critical_delivered' wants a 'cut' line");
    refused("until 2d\ncut 10% until 3d\n", AM_EINVAL, "the cut phase must end before 'until'");
    cr_assert(src, "AM_SOURCE_DIR is set by ctest");
    snprintf(path, sizeof path, "%s/tools/sim/short.conf", src);
    cr_assert_eq(sim_conf_load(&cfg, path, err, sizeof err), AM_OK, "%s: %s", path, err);
    cr_assert_eq(cfg.cut_pct, 10, "short.conf: the figure is the 10% cut");
    cr_assert_eq(cfg.lane, SIM_LANE_BOTH, "short.conf: the lane against log order");
    cr_assert(cfg.critical_min_pct > 0, "short.conf: a floor for the lane's figure");
}

/* Runs a shipped clone scenario with its own seed; the report goes to a temporary file
 * and is printed when an assertion fails. */
static void run_clones(const char *file, int clones, int min_rotations)
{
    const char *src = getenv("AM_SOURCE_DIR");
    char path[4096], rerr[512], line[256];
    struct sim_result r;
    FILE *out = tmpfile();
    int rc;

    cr_assert(src, "AM_SOURCE_DIR is set by ctest");
    cr_assert(out);
    cr_assert_geq(sodium_init(), 0);
    snprintf(path, sizeof path, "%s/tools/sim/%s", src, file);
    cr_assert_eq(sim_conf_load(&cfg, path, err, sizeof err), AM_OK, "%s: %s", path, err);
    cr_assert_eq(cfg.n_clones, clones);
    cr_assert_eq(cfg.fp_policy, SIM_FP_ONE, "%s requires one fingerprint", file);
    cr_assert_eq(cfg.on_fork, SIM_ON_FORK_ROTATE);
    fprintf(stderr, "sim_test: %s with seed %" PRIu64 "\n", file, cfg.seed);
    memset(&r, 0, sizeof r);
    rc = sim_run(&cfg, cfg.seed, NULL, 0, out, NULL, &r, rerr, sizeof rerr);
    cr_assert_eq(rc, AM_OK, "%s: %s", file, rerr);
    if (!(r.ok && r.fp_groups == 1 && r.entries_missing == 0)) {
        rewind(out);
        while (fgets(line, sizeof line, out))
            fputs(line, stderr);
    }
    fclose(out);
    cr_assert_eq(r.fp_groups, 1, "%s: %d distinct view fingerprints", file, r.fp_groups);
    cr_assert_eq(r.entries_missing, 0, "%s: %" PRIu64 " of %" PRIu64 " entries missing on a node",
                 file, r.entries_missing, r.entries_written);
    cr_assert(r.converged, "%s: did not converge", file);
    cr_assert(r.forked_authors >= 1, "%s: no key forked (%d)", file, r.forked_authors);
    cr_assert(r.forks_everywhere, "%s: fork evidence not on every node", file);
    cr_assert_geq(r.rotations, (uint64_t)min_rotations, "%s: %" PRIu64 " rotations", file,
                  r.rotations);
    cr_assert_eq(r.rekeys, 0);
    cr_assert_eq(r.counted, r.nodes, "every node must converge");
    cr_assert(r.ok, "%s: the run failed", file);
}

Test(sim_run, clone_one_fingerprint_nothing_lost)
{
    run_clones("clone.conf", 1, 2);
}

Test(sim_run, clones_one_fingerprint_nothing_lost)
{
    run_clones("clones.conf", 3, 4);
}
