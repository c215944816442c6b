/*
 * flood_main.c: aidmesh-flood, a keyless outsider's connection flood against a node on
 * this machine (flood.h), for the benchmark and the tests.
 *
 *   aidmesh-flood --port P [--conns N] [--sources S] [--seconds T] [--silent] [--once]
 *
 * Prints one JSON line of what happened. Exit status 0, or 2 for bad options.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "flood.h"
#include "out.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: aidmesh-flood --port P [--conns N] [--sources S] [--seconds T] [--silent] "
               "[--once]\n"
               "\n"
               "Holds N connections (default 5000) to 127.0.0.1:P from S loopback addresses\n"
               "(127.0.0.2 on; default 16), each sending the sync preamble (nothing with\n"
               "--silent) and never authenticating; connections the node closes are opened\n"
               "again (not with --once). Stops after T seconds (default 10) and prints one JSON\n"
               "line: attempts, connected, failed, closed, open_max, open_end.\n");
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"port", required_argument, 0, 'p'},    {"conns", required_argument, 0, 'n'},
        {"sources", required_argument, 0, 's'}, {"seconds", required_argument, 0, 't'},
        {"silent", no_argument, 0, 'q'},        {"once", no_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    struct flood_opts o = {0, 5000, 16, 10000, 1, 1};
    struct flood_stats st;
    long port = 0;
    int c;

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'p':
            port = strtol(optarg, NULL, 10);
            break;
        case 'n':
            o.conns = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's':
            o.sources = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 't':
            o.duration_ms = (uint32_t)(strtod(optarg, NULL) * 1000);
            break;
        case 'q':
            o.send_preamble = 0;
            break;
        case 'o':
            o.reconnect = 0;
            break;
        case 'h':
            return usage(stdout, 0);
        default:
            return usage(stderr, 2);
        }
    }
    if (port < 1 || port > 65535 || optind != argc)
        return usage(stderr, 2);
    o.port = (uint16_t)port;
    if (flood_run(&o, &st) != 0)
        return 2;
    return out_json_put(stdout,
                        json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "attempts",
                                  out_json_u64(st.attempts), "connected",
                                  out_json_u64(st.connected), "failed", out_json_u64(st.failed),
                                  "closed", out_json_u64(st.closed), "open_max",
                                  out_json_u64(st.open_max), "open_end", out_json_u64(st.open_end)))
               ? 2
               : 0;
}
