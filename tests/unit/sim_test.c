/* sim_test.c: the scenario parser of aidmesh-sim (tools/sim_conf.c): every shipped
 * scenario parses, values land where they belong, and untrusted text is refused with the
 * line and the word named, within the SIM_* limits. (The runs themselves, and that one
 * seed gives one report byte for byte, are tests/integration/sim.sh.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    static const char *const files[] = {"small.conf", "clone.conf", "hubs200.conf"};
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
                       "fingerprints per-branch\nfork_evidence reported\n"),
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
    cr_assert_eq(sim_node_count(&cfg), 15 + 2 + 1 + 1);
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
