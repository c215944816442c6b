/*
 * sim_main.c: aidmesh-sim, the deterministic mesh simulator (sim.h says what it models).
 *
 *   aidmesh-sim [--seed N] [--json] [--dir DIR] [--quiet] SCENARIO
 *
 * Prints the report (or one JSON object) on stdout; progress and the process's peak RSS
 * on stderr. Exit status: 0 the run passed (converged, no node missing an entry of any
 * branch, fork evidence everywhere, view fingerprints equal per the scenario's policy,
 * garbage refused and nothing lost), 1 it ran but failed a check, 2 usage or scenario
 * error, 3 the run itself failed (a store could not be created, out of memory).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "sim.h"

static void on_signal(int sig)
{
    (void)sig;
    sim_interrupt();
}

static void usage(FILE *f)
{
    fprintf(f, "usage: aidmesh-sim [--seed N] [--json] [--dir DIR] [--quiet] SCENARIO\n"
               "\n"
               "Runs the scenario file SCENARIO (e.g. tools/sim/small.conf): every node with its\n"
               "own store, synced by the real engine over simulated links, on a simulated clock.\n"
               "The same seed gives the same report, byte for byte.\n"
               "\n"
               "  --seed N   seed of everything random (default: the scenario's 'seed' line)\n"
               "  --json     the report as one JSON object\n"
               "  --dir DIR  where the temporary stores go (default $TMPDIR, else /dev/shm,\n"
               "             else /tmp); removed at the end\n"
               "  --quiet    no progress lines on stderr\n"
               "  --help     this text\n"
               "\n"
               "Exit status: 0 passed, 1 a check failed (not converged, an entry missing on a\n"
               "node, fingerprints, fork evidence, garbage), 2 usage or scenario error, 3 the\n"
               "run could not complete.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"seed", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
        {"dir", required_argument, NULL, 'd'},  {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    struct sim_config *cfg;
    struct sim_result res;
    char err[512];
    const char *dir = NULL;
    int json = 0, quiet = 0, opt, rc, seed_set = 0;
    uint64_t seed = 0;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 's': {
            char *end;
            errno = 0;
            seed = strtoull(optarg, &end, 0);
            if (!*optarg || *end || errno || optarg[0] == '-') {
                fprintf(stderr, "aidmesh-sim: --seed wants a whole number, not '%s'\n", optarg);
                return 2;
            }
            seed_set = 1;
            break;
        }
        case 'j':
            json = 1;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "aidmesh-sim: unknown option or missing value (see --help)\n");
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "aidmesh-sim: name one scenario file (see --help)\n");
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "aidmesh-sim: libsodium failed to start\n");
        return 3;
    }
    cfg = malloc(sizeof *cfg);
    if (!cfg) {
        fprintf(stderr, "aidmesh-sim: out of memory\n");
        return 3;
    }
    if ((rc = sim_conf_load(cfg, argv[optind], err, sizeof err)) != AM_OK) {
        fprintf(stderr, "aidmesh-sim: %s\n", err);
        free(cfg);
        return 2;
    }
    if (!seed_set)
        seed = cfg->seed;
    if (!quiet)
        fprintf(stderr, "aidmesh-sim: scenario %s, seed %llu (rerun with --seed %llu)\n", cfg->name,
                (unsigned long long)seed, (unsigned long long)seed);
    /* Ctrl-C or a kill: stop, report, and remove the temporary stores */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    rc = sim_run(cfg, seed, dir, json, stdout, quiet ? NULL : stderr, &res, err, sizeof err);
    free(cfg);
    if (rc != AM_OK) {
        fprintf(stderr, "aidmesh-sim: the run stopped: %s\n", err);
        return 3;
    }
    fflush(stdout);
    return res.ok ? 0 : 1;
}
