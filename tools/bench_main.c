/*
 * bench_main.c: aidmesh-bench, a benchmark (not a test) of the store's two write paths
 * and of network sync (two engines over loopback TCP, and running daemons), printed
 * beside this machine's ceilings measured in the same run, so the ratios mean something
 * on a noisy or unfamiliar machine.
 *
 * Ceilings (one thread each; crypto ones are the median of 3 rounds of ~1/3 s):
 *   ed25519 sign/s and verify/s of a 200-byte message (libsodium detached),
 *   BLAKE2b-256 of 200 B per second (crypto_generichash),
 *   LMDB puts/s: N puts of (40-byte append-order key, 300-byte value), 1000 per
 *   transaction, into a fresh environment with default flags (so every commit syncs,
 *   as the store's do).
 * Project figures:
 *   local append: store_append of 200-byte ops, 1000 per call (and 1 per call), into a
 *     fresh store. Each entry costs one signature, so read it against the sign ceiling:
 *     the target is >= 0.80 of it.
 *   ingest: A authors' chains (N entries in all, built in memory with entry_build,
 *     untimed) fed to store_ingest of a fresh store, AM_INGEST_BATCH_MAX per call, authors
 *     interleaved entry by entry (round robin), as a sync could deliver them. Ingest
 *     verifies one signature per author run, so it should beat per-entry verification
 *     many times over: its ratio to the verify ceiling says by how much; the target is
 *     >= 250,000 entries/s. Its ratios to the hash and LMDB ceilings show how close it
 *     runs to the work it cannot avoid (hash every entry, put every entry).
 *   bytes stored per entry (LMDB map in use / entries) and raw bytes per entry. Its ratio
 *     is the store's overhead (stored / raw) over LMDB's own (bytes in use per put of the
 *     LMDB ceiling / 340): 1.0 means the store wastes no more space than LMDB itself.
 *   full sync (PROTOCOL.md section 8): the ingest store above, as one node, synced into an
 *     empty store by two sync sessions, one per thread, over one real TCP connection on
 *     127.0.0.1 (non-blocking sockets, poll -> read -> sync_feed -> send sync_output ->
 *     sync_output_done), timed from the connection until both sessions report
 *     SYNC_IN_SYNC. Target >= 200,000 entries/s. Its ceiling is raw loopback TCP: the same
 *     number of bytes pushed through the same socket pair afterwards (MB/s); the ratio
 *     compares the sync's wire bytes/s with it. Beside it: the ratio to ingest (the
 *     receiver cannot beat it), and wire bytes per entry (both ways) against raw entry
 *     bytes, target <= 1.10x.
 *   reconnections of two nodes holding 1,000 authors (one entry each): in sync (bytes both
 *     ways: preambles and handshake; target <= 300), and after one author appended one
 *     entry (handshake + reconciliation bytes both ways, summary_out of both sessions,
 *     not the ENTRIES message; target <= 2,048).
 *   forked keys (sync_bench.c, bench_fork_sync): 1,000 authors of which 10 signed 3
 *     entries and then 2 or 3 branches of 3 entries each (real signed entries, ingested):
 *     two nodes that ingested every branch reconnect in sync (bytes both ways, the second
 *     connection; target <= 4,096, beside the unforked row above); then the first sync of
 *     two nodes where one holds branch 1 of each forked key and the other branches 2 and
 *     3: entries sent against entries new to either side, and bytes both ways against the
 *     raw bytes of those entries (no target: a fork neither side has split yet costs its
 *     entries before the fork point once each way, PROTOCOL.md 8.3). Both must end with the
 *     same logs, else the row says failed.
 *   critical first (lane_bench.c): a sender holding min(N, 20,000) entries of the relief
 *     mix (needs of every priority all through 10 authors' logs, stock moves and counts)
 *     and an empty receiver, two sync engines over memory; the contact is cut once the
 *     sender's output after its handshake reaches 10% of the backlog's raw bytes. Figure:
 *     the sender's open critical needs (query_needs) the receiver shows, target >= 0.90 of
 *     them; beside it the same with the lane off (the logs in order), and the bytes of the
 *     LANE messages of that contact. A whole contact afterwards must leave each receiver
 *     with every entry, an empty lane and the sender's views digest, else the rows say
 *     failed.
 *   propagation: K real `aidmesh run` daemons (the binary beside this one) on 127.0.0.1,
 *     no discovery; node i dials node 0 and node i-1 (a hub plus a chain). Once all report
 *     their links "in sync" (`aidmesh peers --json`), S entries are appended one at a time
 *     at random nodes by this process (node_open + store_append: the daemon notices
 *     through its inotify watch), and each is timed from the append's return until every
 *     node's store holds it (store heads polled every ~1 ms). p50 and p95 (nearest rank);
 *     target p50 <= 100 ms. Without the aidmesh binary the rows say "skipped".
 *
 *   startup (a node holding the N ingest entries: the ingest store moved into a fresh
 *     home): 5 times, `aidmesh run --listen 127.0.0.1:PORT --no-discovery` is spawned
 *     (posix_spawn) and timed until a TCP connection to its port succeeds, then until a
 *     sync session of this process, holding the same entries (the full sync's receiver),
 *     reports SYNC_IN_SYNC: handshake and summaries, i.e. serving. Median; target <= 100
 *     ms. Floor: spawn to exit of `aidmesh --version`, median of 5. Page cache warm.
 *   memory: an empty node of the same network is started (its idle memory is the
 *     reference), then the big node dialing it; /proc/PID/status of both is sampled every
 *     10 ms until the empty node reports its link in sync. Target: RssAnon + RssShmem
 *     (what the process owns) <= 64 MiB; VmHWM and RssFile (the LMDB map's pages:
 *     reclaimable page cache) for information. The receiver's store is then checked to
 *     hold all N entries.
 *   memory receiving relief entries: the same with N entries of the site-local relief
 *     workload (relief_bench_store: needs and stock ops the views apply, 10 authors) in the
 *     big node's store, twice, the receiver a fresh node each time: with the daemon's
 *     default view cache (DAEMON_VIEW_CACHE_DEFAULT), then with `--view-cache 128`, the store's own
 * default
 *     (--quick: 4, so that cache overflows). Rows:
 *     the receiver's peak RssAnon + RssShmem (target <= 64 MiB) and the sync's entries/s
 *     (spawning the sender until the receiver reports in sync): the speed that memory
 *     buys. With both daemons stopped, the receiver must hold all N entries and
 *     store_view_stats of both stores must give the same view fingerprint and object
 *     count, else the run's rows say failed.
 *   then the relief views (relief_bench.c) and the stick (stick_bench.c) add their rows.
 *   relief growth (relief_bench.c, relief_growth_rows): the per-entry cost of ingest with
 *     views at ~100,000, ~1,000,000 and ~5,000,000 entries in one growing store (--quick:
 *     100,000, 200,000, 500,000; --entries N below 5,000,000: N/50, N/5, N), and the last
 *     over the first, target 0.8 to 1.2.
 *   web (web_bench.c): the phone page of needs at ~10,000 open needs, made server side
 *     (target 5 ms), beside the same needs read raw, and its size (target under 100 kB).
 *   web-poll (web_bench.c, web_poll_rows): a write's propagation among 3 running daemons
 *     while 200 phones (--quick: 50) poll the hub's needs page every 10 s, beside the same
 *     without phones (target: p50 within 10%).
 *
 * Sizes: N = --entries (default 1,000,000), A = --authors (default 10); append writes
 * min(N, 200,000) entries 1000 per call and min(N, 2,000) one per call; K = --nodes
 * (default 10), S = --samples (default 20). --quick: N = 50,000, appends of 10,000 and
 * 100, ceilings of 0.3 s, K = 5, S = 5. Figures move by tens of percent between runs on a
 * shared VM; the ratios move less, so compare ratios across machines.
 *
 * Output: one report (bench_report.h) of every part: Markdown on stdout (or a JSON array
 * of the rows with --json) and in --out FILE; progress on stderr. --skip leaves parts out.
 * Exit status 1 if a part failed to run (missed targets do not change it). Temporary
 * stores and node homes live in a fresh mkdtemp directory under --dir, $TMPDIR or /tmp,
 * removed at the end; the daemons get SIGTERM (SIGKILL after 5 s) and are waited for.
 * Build it in Release for meaningful numbers.
 *
 * The parts live in their own files: store_bench.c (ceilings, append, ingest),
 * sync_bench.c (two sync engines over loopback TCP), daemon_bench.c (propagation, startup
 * and memory of running daemons), relief_bench.c, stick_bench.c and flood_bench.c; what
 * they share to run processes is bench_util.c. This file parses the options, runs the
 * parts in order and turns their figures into the report's rows.
 *
 * Never measures anything itself; never includes lmdb.h (store_bench.c alone does, for
 * the LMDB ceiling).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include <sodium.h>

#include "am_err.h"
#include "bench_parts.h"
#include "bench_report.h"
#include "bench_util.h"
#include "cli.h"
#include "daemon.h"
#include "out.h"

#define BENCH_TMPFS_MAGIC 0x01021994 /* statfs f_type of tmpfs */
/* critical first (lane_bench.c): its backlog is min(N, this) relief entries; a cut at 10%
 * of more tells nothing new and signing them costs time */
#define BENCH_LANE_ENTRIES_MAX 20000
#define BENCH_LANE_ENTRIES_MIN 1000 /* relief_bench_store's least: sites and items first */

struct opts {
    uint64_t entries; /* ingest and full-sync entries (and LMDB ceiling puts) */
    uint64_t authors;
    uint64_t nodes, samples; /* propagation: daemons, and writes measured */
    int quick, json, no_fat;
    int entries_set; /* --entries given (relief growth scales to it) */
    unsigned skip;   /* bit i: part_names[i] left out */
    const char *dir, *out, *tmpfs, *fat;
};

/* ---- main ------------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: aidmesh-bench [--entries N] [--authors A] [--nodes K] [--samples S]\n"
            "                     [--quick] [--json] [--dir DIR] [--out FILE] [--skip LIST]\n"
            "                     [--tmpfs DIR] [--fat DIR | --no-fat]\n"
            "       aidmesh-bench stick [options]   (the stick figures alone; --help)\n"
            "Runs every benchmark and prints one Markdown report (figure, aidmesh, ceiling,\n"
            "ratio, target, met?) on stdout; progress goes to stderr.\n"
            "  --entries N  entries to ingest, to sync, of the big node and of the stick\n"
            "               (default 1000000; --quick 50000)\n"
            "  --authors A  authors of those entries (default 10)\n"
            "  --nodes K    aidmesh daemons of the propagation figure (default 10; --quick 5;\n"
            "               2 to 32)\n"
            "  --samples S  writes timed in the propagation figure (default 20; --quick 5)\n"
            "  --quick      small sizes and short ceilings: a smoke run\n"
            "  --json       a JSON array of the rows on stdout instead of Markdown\n"
            "  --dir DIR    where the temporary stores go (default $TMPDIR or /tmp)\n"
            "  --out FILE   also write the Markdown report to FILE\n"
            "  --skip LIST  leave out parts, comma-separated: store, sync, propagation,\n"
            "               startup, memory, relief, stick, relief-memory, flood (startup and\n"
            "               memory need store and sync; relief-memory: a daemon receiving\n"
            "               N relief entries, default view cache and --view-cache 128 (--quick:\n"
            "               4); flood: a hub under a 5,000-connection flood; lane:\n"
            "               critical needs on a contact cut short, min(N, 20000) entries;\n"
            "               relief-growth: per-entry cost of ingest with views at 100k, 1M\n"
            "               and 5M entries in one growing store (--quick: 100k, 200k, 500k;\n"
            "               --entries N below 5M: N/50, N/5, N), ~2 GB of memory and two\n"
            "               signings of 5M entries; web: the phone page of needs at ~10,000\n"
            "               open needs; web-poll: sync latency of 3 daemons while 200\n"
            "               phones poll the hub's needs page every 10 s, ~30 s)\n"
            "  --tmpfs DIR  the stick figures' tmpfs folder (default /dev/shm)\n"
            "  --fat DIR    a mounted FAT32 volume for the stick figures (default: make a\n"
            "               FAT32 image and mount it with fusefat); --no-fat: leave it out\n");
    return 2;
}

static int parse_count(const char *s, const char *name, uint64_t *v)
{
    char *end;
    errno = 0;
    *v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *v == 0 || s[0] == '-' || *v > (1ULL << 32)) {
        fprintf(stderr, "aidmesh-bench: %s wants a whole number from 1 to 2^32, not '%s'\n", name,
                s);
        return -1;
    }
    return 0;
}

static const char *const part_names[] = {
    "store",         "sync",  "propagation", "startup",       "memory", "relief",  "stick",
    "relief-memory", "flood", "lane",        "relief-growth", "web",    "web-poll"};

static int parse_skip(const char *v, unsigned *skip)
{
    char buf[256], *save = NULL;
    if (strlen(v) >= sizeof buf) {
        fprintf(stderr, "aidmesh-bench: --skip list too long\n");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", v);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < sizeof part_names / sizeof part_names[0]; i++)
            if (strcmp(t, part_names[i]) == 0)
                break;
        if (i == sizeof part_names / sizeof part_names[0]) {
            fprintf(stderr,
                    "aidmesh-bench: --skip: no part named '%s' (store, sync, propagation, "
                    "startup, memory, relief, stick, relief-memory, flood, lane, "
                    "relief-growth, web, web-poll)\n",
                    t);
            return -1;
        }
        *skip |= 1u << i;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const char *const with_value[] = {"--entries", "--authors", "--nodes",
                                             "--samples", "--dir",     "--out",
                                             "--skip",    "--tmpfs",   "--fat"};
    int have_entries = 0, have_nodes = 0, have_samples = 0;

    memset(o, 0, sizeof *o);
    o->entries = 1000000;
    o->authors = 10;
    o->nodes = 10;
    o->samples = 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 0;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            takes |= strcmp(a, with_value[k]) == 0;
        if (strcmp(a, "--quick") == 0) {
            o->quick = 1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--no-fat") == 0) {
            o->no_fat = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return -1;
        } else if (!takes) {
            fprintf(stderr, "aidmesh-bench: unknown option: %s\n", a);
            usage();
            return -1;
        } else if (!v) {
            fprintf(stderr, "aidmesh-bench: %s wants a value\n", a);
            usage();
            return -1;
        } else {
            i++;
            if (strcmp(a, "--entries") == 0) {
                if (parse_count(v, a, &o->entries) != 0)
                    return -1;
                have_entries = o->entries_set = 1;
            } else if (strcmp(a, "--authors") == 0) {
                if (parse_count(v, a, &o->authors) != 0)
                    return -1;
            } else if (strcmp(a, "--nodes") == 0) {
                if (parse_count(v, a, &o->nodes) != 0)
                    return -1;
                if (o->nodes < 2 || o->nodes > BENCH_NODES_MAX) {
                    fprintf(stderr, "aidmesh-bench: --nodes wants 2 to %d, not %s\n",
                            BENCH_NODES_MAX, v);
                    return -1;
                }
                have_nodes = 1;
            } else if (strcmp(a, "--samples") == 0) {
                if (parse_count(v, a, &o->samples) != 0)
                    return -1;
                if (o->samples > 100000) {
                    fprintf(stderr, "aidmesh-bench: --samples wants at most 100000, not %s\n", v);
                    return -1;
                }
                have_samples = 1;
            } else if (strcmp(a, "--dir") == 0) {
                o->dir = v;
            } else if (strcmp(a, "--out") == 0) {
                o->out = v;
            } else if (strcmp(a, "--skip") == 0) {
                if (parse_skip(v, &o->skip) != 0)
                    return -1;
            } else if (strcmp(a, "--tmpfs") == 0) {
                o->tmpfs = v;
            } else {
                o->fat = v;
            }
        }
    }
    if (o->quick && !have_entries)
        o->entries = 50000;
    if (o->quick && !have_nodes)
        o->nodes = 5;
    if (o->quick && !have_samples)
        o->samples = 5;
    if (o->authors > o->entries) {
        fprintf(stderr,
                "aidmesh-bench: --authors %llu exceeds --entries %llu: give every "
                "author at least one entry\n",
                (unsigned long long)o->authors, (unsigned long long)o->entries);
        return -1;
    }
    return 0;
}

/* A row for a part that could not run to the end. */
static void failed_row(const char *figure, int rc)
{
    char why[128];
    snprintf(why, sizeof why, "failed: %s (see stderr)", am_strerror(rc));
    bench_row_target(bench_row_text(figure, why), "runs to the end", BENCH_MISSED);
}

static struct bench_row *row_vs(const char *figure, double v, enum bench_unit u, const char *cwhat,
                                double ceil, enum bench_unit cu, const char *rwhat)
{
    struct bench_row *r = bench_row_add(figure, v, u);
    if (cwhat)
        bench_row_ceiling(r, cwhat, ceil, cu, rwhat);
    return r;
}

/* The rows and notes of bench_relief_daemons (n relief entries). dmn: the memory rows'
 * run (entries whose ops the views ignore), a comparison when it ran. */
static void relief_mem_rows(const struct bench_relief_mem_result *rm, uint64_t n,
                            const struct bench_daemon_result *dmn)
{
    char fig[256], what[BENCH_RELIEF_RUNS][48], target[32], cn[32], c_needs[32], c_cells[32];
    char c_obj[32];
    double rate[BENCH_RELIEF_RUNS] = {0};
    struct bench_row *r;

    out_count(cn, n);
    snprintf(target, sizeof target, "≤ %.0f MiB", BENCH_MEM_TARGET);
    snprintf(what[0], sizeof what[0], "default view cache (%llu MiB)",
             (unsigned long long)(DAEMON_VIEW_CACHE_DEFAULT >> 20));
    snprintf(what[1], sizeof what[1], "`--view-cache %s`", rm->cache_mib);
    if (!rm->ran) {
        bench_row_text("daemon memory receiving relief entries",
                       "skipped (aidmesh binary not found)");
        return;
    }
    for (int i = 0; i < BENCH_RELIEF_RUNS; i++) {
        const struct bench_mem_run *m = &rm->run[i];
        char sync_fig[256];

        snprintf(fig, sizeof fig,
                 "daemon memory, receiving side of a full sync of %s relief entries, %s: RssAnon "
                 "+ RssShmem, peak of samples every %d ms",
                 cn, what[i], BENCH_MEM_SAMPLE_MS);
        snprintf(sync_fig, sizeof sync_fig,
                 "full sync of %s relief entries between two daemons, receiver with %s "
                 "(entries/s)",
                 cn, what[i]);
        if (rm->rc[i] == AM_ECORRUPT) {
            /* the run ended, but the receiver does not hold what the sender holds */
            for (int k = 0; k < 2; k++)
                bench_row_target(
                    bench_row_text(k ? sync_fig : fig,
                                   "failed: the receiver's entries or view "
                                   "fingerprint differ from the sender's (see stderr)"),
                    "same views as the sender", BENCH_MISSED);
            continue;
        }
        if (rm->rc[i] != AM_OK) {
            failed_row(fig, rm->rc[i]);
            failed_row(sync_fig, rm->rc[i]);
            continue;
        }
        r = row_vs(fig, m->peak_owned[1], BENCH_MIB, "reference: idle daemon, empty store",
                   bench_owned(&m->idle), BENCH_MIB, "idle");
        if (i == 0)
            bench_row_target(r, target,
                             m->peak_owned[1] <= BENCH_MEM_TARGET ? BENCH_MET : BENCH_MISSED);
        else /* a larger cache than the daemon's default, to show what it buys */
            bench_row_target(r, "info: the default's target does not apply", BENCH_INFO);
        rate[i] = (double)n / m->sync_s;
        if (i == 0 && dmn->mem_ran && dmn->mem.sync_s > 0)
            r = row_vs(sync_fig, rate[i], BENCH_RATE,
                       "same between daemons, as many entries whose ops the views ignore (above)",
                       (double)n / dmn->mem.sync_s, BENCH_RATE, "views ignored");
        else if (i > 0 && rate[0] > 0)
            r = row_vs(sync_fig, rate[i], BENCH_RATE, "same, default view cache (row above)",
                       rate[0], BENCH_RATE, "default cache");
        else
            r = bench_row_add(sync_fig, rate[i], BENCH_RATE);
        bench_row_target(r, "info: speed for the memory above; views equal the sender's",
                         BENCH_INFO);
    }
    if (rm->rc[0] != AM_OK && rm->rc[1] != AM_OK)
        return;
    out_count(c_needs, rm->views.needs);
    out_count(c_cells, rm->views.cells);
    out_count(c_obj, rm->views.objects);
    bench_note("Relief memory: %s entries of the site-local relief workload (relief_bench.c: "
               "%llu authors; %llu sites, %s needs, %s stock cells: %s view objects), "
               "signed and ingested with views by this process into a fresh node's store, then "
               "served by its `aidmesh run` to an empty node as in the memory rows above, twice, "
               "to a fresh receiver each time. Sync time: from spawning the sender until "
               "`aidmesh peers` of the receiver says in sync (polled every 250 ms); then both "
               "daemons stop and store_view_stats of both stores must agree (view fingerprint, "
               "objects) and the receiver hold every entry: %s. Sending side peak owned: %.1f / "
               "%.1f MiB.",
               cn, (unsigned long long)rm->sent.authors, (unsigned long long)rm->views.sites,
               c_needs, c_cells, c_obj,
               rm->rc[0] == AM_OK && rm->rc[1] == AM_OK ? "both runs did"
               : rm->rc[0] == AM_OK                     ? "only the default-cache run did"
                                                        : "only the --view-cache run did",
               rm->run[0].peak_owned[0], rm->run[1].peak_owned[0]);
    if (rm->rc[0] == AM_OK && rm->rc[1] == AM_OK)
        bench_note(
            "Relief memory, the trade-off: the receiver applies every op to the views "
            "as it ingests, and what grows is its view cache, the recently updated needs "
            "and stock cells kept between write transactions, bounded by `aidmesh run "
            "--view-cache MIB` (estimated bytes; beyond it the least recently used go). "
            "A smaller bound holds less, and an object it dropped is rebuilt from its "
            "views value when touched again (0 keeps none: least memory). Here: %s peak %.1f MiB "
            "owned in %.1f s; %s peak %.1f MiB "
            "in %.1f s (%.2f× the default's rate); idle %.1f MiB; target %.0f MiB %s.",
            what[0], rm->run[0].peak_owned[1], rm->run[0].sync_s, what[1], rm->run[1].peak_owned[1],
            rm->run[1].sync_s, rate[1] / rate[0], bench_owned(&rm->run[0].idle), BENCH_MEM_TARGET,
            rm->run[0].peak_owned[1] <= BENCH_MEM_TARGET
                ? (rm->run[1].peak_owned[1] <= BENCH_MEM_TARGET ? "met by both"
                                                                : "met by the default only")
                : (rm->run[1].peak_owned[1] <= BENCH_MEM_TARGET ? "met only with the smaller cache"
                                                                : "met by neither"));
}

/* The rows of bench_fork_sync; unforked: the reconnect bytes without forks (0: not
 * measured). Returns AM_OK or the part's error (its row says failed). */
static int fork_rows(const char *tmp, uint64_t unforked)
{
    struct bench_fork_result f;
    struct bench_row *r;
    char fig[256], ca[32], cl[32];
    int rc = bench_fork_sync(tmp, &f);

    out_count(ca, BENCH_FORK_AUTHORS);
    out_count(cl, f.logs);
    snprintf(fig, sizeof fig,
             "reconnect of two in-sync nodes, %s authors of which %d forked (2-3 branches "
             "each, every branch on both: %s logs), bytes both ways",
             ca, BENCH_FORKED, cl);
    if (rc != AM_OK) {
        bench_fail("forked keys over loopback TCP", rc);
        failed_row(fig, rc);
        return rc;
    }
    r = row_vs(fig, (double)f.insync_bytes[1], BENCH_BYTES, unforked ? "same, no key forked" : NULL,
               (double)unforked, BENCH_BYTES, "unforked");
    bench_row_target(r, "≤ 4,096 B", f.insync_bytes[1] <= 4096 ? BENCH_MET : BENCH_MISSED);
    snprintf(fig, sizeof fig,
             "first sync that finds %d forks (each side holds other branches of each forked "
             "key): entries sent both ways",
             BENCH_FORKED);
    r = row_vs(fig, (double)f.find_sent, BENCH_COUNT, "entries new to either side",
               (double)f.find_new, BENCH_COUNT, "new");
    bench_row_target(r, "info: 1.00× sends nothing twice", BENCH_INFO);
    r = row_vs("the same sync, bytes both ways", (double)f.find_bytes, BENCH_BYTES,
               "raw bytes of the entries new to either side", (double)f.find_new_raw, BENCH_BYTES,
               "raw new");
    bench_row_target(r, "info", BENCH_INFO);
    bench_note("Forked keys: %s authors; %d of them signed %d entries, then %d more on each of "
               "2 or 3 branches (alternately) parting after entry %d; the others one entry each "
               "(%llu entries, %llu logs in all). In sync: two stores that ingested every "
               "entry, the second connection measured (the first meeting took %llu B). "
               "Finding the forks: one store holds branch 1 of each forked key, the other "
               "branches 2 and 3; %llu entries sent (%llu of them already held) for %llu new, "
               "%llu B in all of which %llu B handshake and reconciliation, in %.3f s; both "
               "then hold the same logs, and reconnect in sync in %llu B.",
               ca, BENCH_FORKED, BENCH_FORK_TRUNK, BENCH_FORK_BRANCH, BENCH_FORK_TRUNK,
               (unsigned long long)f.entries, (unsigned long long)f.logs,
               (unsigned long long)f.insync_bytes[0], (unsigned long long)f.find_sent,
               (unsigned long long)f.find_dup, (unsigned long long)f.find_new,
               (unsigned long long)f.find_bytes, (unsigned long long)f.find_summary, f.find_secs,
               (unsigned long long)f.after_bytes);
    return AM_OK;
}

#define SKIP(o, part) ((o).skip & (1u << (part)))
enum {
    P_STORE,
    P_SYNC,
    P_PROP,
    P_STARTUP,
    P_MEMORY,
    P_RELIEF,
    P_STICK,
    P_RELIEF_MEM,
    P_FLOOD,
    P_LANE,
    P_RELIEF_GROWTH,
    P_WEB,
    P_WEB_POLL
};

int main(int argc, char **argv)
{
    struct opts o;
    struct bench_source src = {0};
    struct bench_ingest_result ing = {0};
    struct bench_net_result net = {0};
    struct bench_prop_result prop = {0};
    struct bench_daemon_result dmn = {0};
    struct bench_relief_mem_result rmem = {0};
    char tmp[PATH_MAX], path[4200], ingest_dir[4200], insync_dir[4200], fig[256], extra[1024];
    char c1[32], c2[32], c3[32];
    const char *base;
    double secs, sign = 0, verify = 0, hash = 0, lmdb_rate = 0, lmdb_bytes = 0, app1000 = 0;
    double app1 = 0, raw_per = 0, stored_per = 0, t_gen = 0;
    uint64_t n_app1000, n_app1;
    struct statfs fs;
    FILE *outf = NULL;
    int rc, status = 0, have_tmp = 0, store_ok = 0, sync_ok = 0, maj, min, pat;
    struct bench_row *r;

    /* `aidmesh-bench stick ...`: the stick export/import bench alone (tools/stick_bench.c) */
    if (argc > 1 && strcmp(argv[1], "stick") == 0)
        return stick_bench_run(argc - 1, argv + 1);
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    if (sodium_init() < 0) {
        fprintf(stderr, "aidmesh-bench: libsodium failed to initialise\n");
        return 1;
    }
    secs = o.quick ? 0.3 : 1.0;
    /* Append costs one signature per entry: a few seconds tell enough. */
    n_app1000 = o.quick ? 10000 : 200000;
    n_app1000 = n_app1000 < o.entries ? n_app1000 : o.entries;
    n_app1 = o.quick ? 100 : 2000;
    n_app1 = n_app1 < o.entries ? n_app1 : o.entries;
    if (SKIP(o, P_STORE))
        o.skip |= 1u << P_SYNC;
    if (SKIP(o, P_SYNC))
        o.skip |= (1u << P_STARTUP) | (1u << P_MEMORY);

    base = o.dir ? o.dir : getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if ((size_t)snprintf(path, sizeof path, "%s/aidmesh-bench.XXXXXX", base) >= sizeof tmp ||
        !mkdtemp(path)) {
        fprintf(stderr, "aidmesh-bench: cannot make a temporary directory under %s: %s\n", base,
                strerror(errno));
        return 1;
    }
    /* the daemons' homes must be absolute paths */
    if (!realpath(path, tmp)) {
        fprintf(stderr, "aidmesh-bench: cannot resolve %s: %s\n", path, strerror(errno));
        bench_rm_tree(path);
        return 1;
    }
    have_tmp = 1;
    if (o.out && !(outf = fopen(o.out, "w"))) {
        fprintf(stderr, "aidmesh-bench: cannot write %s: %s\n", o.out, strerror(errno));
        status = 1;
        goto out;
    }
    snprintf(ingest_dir, sizeof ingest_dir, "%s/ingest", tmp);
    snprintf(insync_dir, sizeof insync_dir, "%s/sync-empty", tmp);
    out_count(c1, o.entries);

    /* ---- the store: ceilings, append, ingest ---- */
    if (!SKIP(o, P_STORE)) {
        bench_section("Store: local append, ingest, bytes per entry");
        fprintf(stderr, "aidmesh-bench: ceilings (%.1f s each)\n", secs);
        sign = bench_crypto_ceiling(BENCH_CK_SIGN, secs);
        verify = bench_crypto_ceiling(BENCH_CK_VERIFY, secs);
        hash = bench_crypto_ceiling(BENCH_CK_HASH, secs);
        fprintf(stderr, "aidmesh-bench: LMDB ceiling: %llu puts\n", (unsigned long long)o.entries);
        snprintf(path, sizeof path, "%s/lmdb", tmp);
        if ((rc = bench_lmdb_ceiling(path, o.entries, &lmdb_rate, &lmdb_bytes)) != 0) {
            fprintf(stderr, "aidmesh-bench: LMDB ceiling in %s: %s\n", path,
                    bench_lmdb_strerror(rc));
            lmdb_rate = lmdb_bytes = 0;
        }
        bench_rm_tree(path);

        fprintf(stderr, "aidmesh-bench: local append: %llu entries, 1000 per call\n",
                (unsigned long long)n_app1000);
        snprintf(path, sizeof path, "%s/append1000", tmp);
        rc = bench_append(path, n_app1000, 1000, &app1000);
        bench_rm_tree(path);
        if (rc != AM_OK) {
            bench_fail("local append, 1000 per call", rc);
            failed_row("local append (sign+store), 1000 per call", rc);
        } else {
            r = row_vs("local append (sign+store), 1000 per call (entries/s)", app1000, BENCH_RATE,
                       "ed25519 sign, 200 B", sign, BENCH_RATE, "sign");
            bench_row_target(r, "≥ 0.80× sign", app1000 >= 0.8 * sign ? BENCH_MET : BENCH_MISSED);
        }
        fprintf(stderr, "aidmesh-bench: local append: %llu entries, 1 per call\n",
                (unsigned long long)n_app1);
        snprintf(path, sizeof path, "%s/append1", tmp);
        rc = bench_append(path, n_app1, 1, &app1);
        bench_rm_tree(path);
        if (rc != AM_OK) {
            bench_fail("local append, 1 per call", rc);
            failed_row("local append (sign+store), 1 per call", rc);
        } else {
            r = row_vs("local append (sign+store), 1 per call (entries/s)", app1, BENCH_RATE,
                       "ed25519 sign, 200 B", sign, BENCH_RATE, "sign");
            bench_row_target(r, "info: one commit (sync) per entry", BENCH_INFO);
        }

        fprintf(stderr, "aidmesh-bench: building the ingest source: %llu authors, %llu entries\n",
                (unsigned long long)o.authors, (unsigned long long)o.entries);
        t_gen = bench_now_s();
        rc = bench_source_build(&src, o.entries, o.authors);
        t_gen = bench_now_s() - t_gen;
        if (rc == AM_OK) {
            fprintf(stderr, "aidmesh-bench: ingest: %llu entries, %d per call\n",
                    (unsigned long long)o.entries, AM_INGEST_BATCH_MAX);
            rc = bench_ingest(ingest_dir, &src, o.authors, &ing);
        }
        if (rc != AM_OK) {
            bench_fail("ingest", rc);
            failed_row("ingest", rc);
            o.skip |= (1u << P_SYNC) | (1u << P_STARTUP) | (1u << P_MEMORY);
        } else {
            store_ok = 1;
            raw_per = (double)src.raw_bytes / (double)src.n;
            stored_per = (double)ing.map_used / (double)ing.entries;
            snprintf(fig, sizeof fig, "ingest, %d per call, %llu author%s interleaved (entries/s)",
                     AM_INGEST_BATCH_MAX, (unsigned long long)o.authors, o.authors == 1 ? "" : "s");
            r = row_vs(fig, ing.rate, BENCH_RATE, "ed25519 verify, 200 B", verify, BENCH_RATE,
                       "verify");
            bench_row_target(r, "≥ 250,000/s", ing.rate >= 250000 ? BENCH_MET : BENCH_MISSED);
            r = row_vs("ingest against hashing (entries/s)", ing.rate, BENCH_RATE,
                       "BLAKE2b-256 of 200 B", hash, BENCH_RATE, "hash");
            bench_row_target(r, "info: every entry is hashed", BENCH_INFO);
            r = row_vs("ingest against LMDB puts (entries/s)", ing.rate, BENCH_RATE,
                       "LMDB put, 40 B key + 300 B value, 1000 per txn", lmdb_rate, BENCH_RATE,
                       "LMDB");
            bench_row_target(r, "info: every entry is put", BENCH_INFO);
            r = row_vs("bytes stored per entry (map in use / entries)", stored_per, BENCH_BYTES,
                       "LMDB alone, bytes per 340 B put", lmdb_bytes, BENCH_BYTES, NULL);
            if (lmdb_bytes > 0)
                bench_row_ratio(r, (stored_per / raw_per) / (lmdb_bytes / 340.0),
                                "LMDB's overhead");
            bench_row_add("raw bytes per entry (op 200 B)", raw_per, BENCH_BYTES);
        }
        bench_source_free(&src); /* the ingest store is the full sync's source */
    }

    /* ---- sync over loopback TCP ---- */
    if (!SKIP(o, P_SYNC)) {
        bench_section("Sync engine over loopback TCP (two sessions, one per thread)");
        rc = bench_net_sync(tmp, ingest_dir, o.entries, o.authors, &net);
        if (rc != AM_OK) {
            bench_fail("sync over loopback TCP", rc);
            failed_row("full sync over loopback TCP", rc);
            o.skip |= (1u << P_STARTUP) | (1u << P_MEMORY);
        } else {
            sync_ok = 1;
            snprintf(fig, sizeof fig,
                     "full sync over loopback TCP, %s entries of %llu authors into an empty node "
                     "(entries/s)",
                     c1, (unsigned long long)o.authors);
            r = row_vs(fig, net.sync_rate, BENCH_RATE, "raw loopback TCP, same bytes, same sockets",
                       net.tcp_mbps, BENCH_MBPS, NULL);
            bench_row_ratio(r, (double)net.sync_wire / net.sync_secs / 1e6 / net.tcp_mbps,
                            "TCP (bytes/s)");
            bench_row_target(r, "≥ 200,000/s", net.sync_rate >= 200000 ? BENCH_MET : BENCH_MISSED);
            r = row_vs("full sync against ingest (entries/s)", net.sync_rate, BENCH_RATE,
                       "ingest, measured above", ing.rate, BENCH_RATE, "ingest");
            bench_row_target(r, "info: the receiver ingests every entry", BENCH_INFO);
            r = row_vs("full sync, wire bytes per entry (both ways / entries)", net.wire_per,
                       BENCH_BYTES, "raw (stored) entry", raw_per, BENCH_BYTES, "raw entry");
            bench_row_target(r, "≤ 1.10× raw entry",
                             net.wire_per <= 1.10 * raw_per ? BENCH_MET : BENCH_MISSED);
            r = bench_row_add("reconnect of two in-sync nodes, bytes both ways",
                              (double)net.reconnect_bytes, BENCH_BYTES);
            bench_row_target(r, "≤ 300 B", net.reconnect_bytes <= 300 ? BENCH_MET : BENCH_MISSED);
            r = bench_row_add("reconnect after 1 of 1,000 authors appended 1 entry: handshake + "
                              "reconciliation bytes both ways",
                              (double)net.one_change_summary, BENCH_BYTES);
            bench_row_target(r, "≤ 2,048 B",
                             net.one_change_summary <= 2048 ? BENCH_MET : BENCH_MISSED);
        }
        if (fork_rows(tmp, sync_ok ? net.reconnect_bytes : 0) != AM_OK)
            status = 1;
    }
    /* ---- critical first: a contact cut short, with and without the priority lane ---- */
    if (!SKIP(o, P_LANE)) {
        uint64_t nl = o.entries < BENCH_LANE_ENTRIES_MAX ? o.entries : BENCH_LANE_ENTRIES_MAX;
        if (lane_bench_rows(tmp, nl < BENCH_LANE_ENTRIES_MIN ? BENCH_LANE_ENTRIES_MIN : nl) !=
            AM_OK)
            status = 1;
    }

    /* ---- running daemons ---- */
    if (!SKIP(o, P_PROP) || !SKIP(o, P_STARTUP) || !SKIP(o, P_MEMORY) || !SKIP(o, P_RELIEF_MEM))
        bench_section("Running daemons (the real `aidmesh run` binary, 127.0.0.1)");
    if (!SKIP(o, P_PROP)) {
        int prop_rc = bench_propagation(tmp, (int)o.nodes, (int)o.samples, NULL, &prop);
        snprintf(fig, sizeof fig,
                 "new entry reaches all %llu running nodes (loopback), p50 of %llu writes",
                 (unsigned long long)o.nodes, (unsigned long long)o.samples);
        if (!prop.ran) {
            bench_row_text(fig, "skipped (aidmesh binary not found)");
        } else if (prop_rc != AM_OK) {
            failed_row(fig, prop_rc);
            status = 1;
        } else {
            r = bench_row_add(fig, prop.p50_ms, BENCH_MS);
            bench_row_target(r, "≤ 100 ms", prop.p50_ms <= 100 ? BENCH_MET : BENCH_MISSED);
            snprintf(fig, sizeof fig,
                     "new entry reaches all %llu running nodes (loopback), p95 of %llu writes",
                     (unsigned long long)o.nodes, (unsigned long long)o.samples);
            bench_row_add(fig, prop.p95_ms, BENCH_MS);
            bench_note("Propagation: %llu `aidmesh run` daemons on 127.0.0.1, node i dialing "
                       "node 0 and node i-1 (a hub plus a chain: at most two hops), each write "
                       "appended at a random node by this process; time from the append's "
                       "return until every store holds it (nearest-rank percentiles; max %.1f "
                       "ms; daemons connected in %.1f s).",
                       (unsigned long long)o.nodes, prop.max_ms, prop.connect_s);
        }
    }
    if ((!SKIP(o, P_STARTUP) || !SKIP(o, P_MEMORY)) && store_ok && sync_ok) {
        rc = bench_daemons(tmp, ingest_dir, insync_dir, o.entries, !SKIP(o, P_STARTUP),
                           !SKIP(o, P_MEMORY), &dmn);
        if (!dmn.ran) {
            bench_row_text("startup and memory of a daemon", "skipped (aidmesh binary not found)");
        } else {
            int mid = BENCH_STARTS / 2;
            if (!SKIP(o, P_STARTUP) && dmn.serve_ms[BENCH_STARTS - 1] > 0) {
                snprintf(fig, sizeof fig,
                         "startup of a node with %s entries: spawn → its TCP port accepts, "
                         "median of %d",
                         c1, BENCH_STARTS);
                row_vs(fig, dmn.tcp_ms[mid], BENCH_MS, "spawn → exit of `aidmesh --version`",
                       dmn.exec_ms[mid], BENCH_MS, "exec");
                snprintf(fig, sizeof fig,
                         "startup to serving, node with %s entries: spawn → a sync session "
                         "with an in-sync peer is in sync (handshake + summaries), median of %d",
                         c1, BENCH_STARTS);
                r = row_vs(fig, dmn.serve_ms[mid], BENCH_MS, "spawn → exit of `aidmesh --version`",
                           dmn.exec_ms[mid], BENCH_MS, "exec");
                bench_row_target(r, "≤ 100 ms",
                                 dmn.serve_ms[mid] <= BENCH_START_TARGET ? BENCH_MET
                                                                         : BENCH_MISSED);
                bench_note("Startup: %d starts of `aidmesh run --listen 127.0.0.1:PORT "
                           "--no-discovery` on a home whose store holds %s entries of %llu "
                           "authors (the ingest store above), page cache warm; serving times "
                           "%.1f / %.1f / %.1f / %.1f / %.1f ms, listening %.1f to %.1f ms. The "
                           "ceiling is the floor of starting any process: posix_spawn to exit "
                           "of `aidmesh --version` (dynamic linking, libsodium init), median of "
                           "%d; /bin/true takes %.2f ms.",
                           BENCH_STARTS, c1, (unsigned long long)o.authors, dmn.serve_ms[0],
                           dmn.serve_ms[1], dmn.serve_ms[2], dmn.serve_ms[3], dmn.serve_ms[4],
                           dmn.tcp_ms[0], dmn.tcp_ms[BENCH_STARTS - 1], BENCH_STARTS, dmn.true_ms);
            } else if (!SKIP(o, P_STARTUP)) {
                failed_row("startup to serving", rc);
            }
            if (!SKIP(o, P_MEMORY) && dmn.mem_ran) {
                static const char *const who[2] = {"sending", "receiving"};
                for (int i = 0; i < 2; i++) {
                    snprintf(fig, sizeof fig,
                             "daemon memory, %s side of a full sync of %s entries: RssAnon + "
                             "RssShmem (memory it owns), peak of samples every %d ms",
                             who[i], c1, BENCH_MEM_SAMPLE_MS);
                    r = row_vs(fig, dmn.mem.peak_owned[i], BENCH_MIB,
                               "reference: idle daemon, empty store", bench_owned(&dmn.mem.idle),
                               BENCH_MIB, "idle");
                    snprintf(c2, sizeof c2, "≤ %.0f MiB", BENCH_MEM_TARGET);
                    bench_row_target(r, c2,
                                     dmn.mem.peak_owned[i] <= BENCH_MEM_TARGET ? BENCH_MET
                                                                               : BENCH_MISSED);
                }
                for (int i = 0; i < 2; i++) {
                    snprintf(fig, sizeof fig,
                             "daemon memory, %s side: VmHWM (peak RSS, file-backed LMDB pages "
                             "included)",
                             who[i]);
                    row_vs(fig, dmn.mem.end[i].hwm, BENCH_MIB,
                           "reference: idle daemon, empty store", dmn.mem.idle.hwm, BENCH_MIB,
                           "idle");
                }
                for (int i = 0; i < 2; i++) {
                    snprintf(fig, sizeof fig,
                             "daemon memory, %s side: RssFile when in sync (LMDB map pages: "
                             "reclaimable page cache)",
                             who[i]);
                    bench_row_add(fig, dmn.mem.end[i].file, BENCH_MIB);
                }
                bench_note(
                    "Memory: read from /proc/PID/status. The LMDB store is a file-backed "
                    "shared mapping: the pages of data.mdb a daemon touches count in its RssFile "
                    "and VmHWM, but they are page cache that the kernel reclaims under pressure "
                    "(and shares between processes), so the %.0f MiB target is checked against "
                    "RssAnon + RssShmem (heap, stacks, libsodium's guarded pages: memory the "
                    "process itself owns), the largest of the samples taken every %d ms during "
                    "the sync. When in sync: sending side RssAnon %.1f MiB, RssShmem %.1f MiB, "
                    "VmRSS %.1f MiB; receiving side RssAnon %.1f MiB, RssShmem %.1f MiB, VmRSS "
                    "%.1f MiB; idle empty daemon RssAnon %.1f MiB. Full sync between the two "
                    "daemons took %.1f s. The entries' ops are of a type the relief views ignore, "
                    "so the view cache (`aidmesh run --view-cache`, default %llu MiB) stays "
                    "empty here; the relief memory rows measure it filling.",
                    BENCH_MEM_TARGET, BENCH_MEM_SAMPLE_MS, dmn.mem.end[0].anon,
                    dmn.mem.end[0].shmem, dmn.mem.end[0].rss, dmn.mem.end[1].anon,
                    dmn.mem.end[1].shmem, dmn.mem.end[1].rss, dmn.mem.idle.anon, dmn.mem.sync_s,
                    (unsigned long long)(DAEMON_VIEW_CACHE_DEFAULT >> 20));
            } else if (!SKIP(o, P_MEMORY)) {
                failed_row("daemon memory with a full sync", rc != AM_OK ? rc : AM_ESYS);
            }
        }
        if (rc != AM_OK)
            status = 1;
    }
    if (!SKIP(o, P_RELIEF_MEM)) {
        int rrc = bench_relief_daemons(
            tmp, o.entries, o.quick ? BENCH_RELIEF_CACHE_QUICK : BENCH_RELIEF_CACHE, &rmem);
        relief_mem_rows(&rmem, o.entries, &dmn);
        if (rrc != AM_OK)
            status = 1;
    }
    bench_rm_tree(ingest_dir);
    bench_rm_tree(insync_dir);

    if (store_ok) {
        bench_lmdb_version(&maj, &min, &pat);
        out_count(c2, n_app1000);
        out_count(c3, net.sync_wire);
        bench_note("Store and sync: ingest %s entries from %llu authors (source built in %.1f "
                   "s); append %s entries; ceilings: one thread, median of 3 rounds, %.1f s "
                   "each; LMDB %d.%d.%d; stores under %s%s. Full sync: two stores, one session "
                   "per thread on one TCP connection over 127.0.0.1, synced in %.1f s, %s wire "
                   "bytes.",
                   c1, (unsigned long long)o.authors, t_gen, c2, secs, maj, min, pat, base,
                   statfs(tmp, &fs) == 0 && fs.f_type == BENCH_TMPFS_MAGIC
                       ? " (tmpfs: commits sync nothing)"
                       : "",
                   net.sync_secs, c3);
    }

    /* ---- the relief views and the stick ---- */
    if (!SKIP(o, P_RELIEF) && relief_bench_rows(tmp, o.quick) != AM_OK)
        status = 1;
    if (!SKIP(o, P_RELIEF_GROWTH) &&
        relief_growth_rows(tmp, o.entries_set ? o.entries : 0, o.quick) != AM_OK)
        status = 1;
    if (!SKIP(o, P_WEB) && web_bench_rows(tmp) != AM_OK)
        status = 1;
    if (!SKIP(o, P_WEB_POLL) && web_poll_rows(tmp, o.quick) != AM_OK)
        status = 1;
    if (!SKIP(o, P_STICK)) {
        struct stick_bench_cfg sc = {.entries = o.entries,
                                     .authors = o.authors,
                                     .quick = o.quick,
                                     .make_fat = !o.no_fat,
                                     .dir = tmp,
                                     .tmpfs = o.tmpfs,
                                     .fat = o.fat};
        if (stick_bench_rows(&sc) != 0)
            status = 1;
    }
    if (!SKIP(o, P_FLOOD) && flood_bench_rows(tmp) != AM_OK)
        status = 1;

    snprintf(extra, sizeof extra,
             "run: %s entries, %llu authors%s; temporary stores under %s; %zu target%s missed", c1,
             (unsigned long long)o.authors, o.quick ? " (--quick)" : "", base,
             bench_report_missed(), bench_report_missed() == 1 ? "" : "s");
    if (o.json)
        bench_report_json(stdout, 0);
    else
        bench_report_markdown(stdout, "aidmesh benchmark report", extra, 0);
    if (outf)
        bench_report_markdown(outf, "aidmesh benchmark report", extra, 0);
out:
    if (outf && fclose(outf) != 0) {
        fprintf(stderr, "aidmesh-bench: writing %s: %s\n", o.out, strerror(errno));
        status = 1;
    }
    bench_source_free(&src);
    if (have_tmp)
        bench_rm_tree(tmp);
    return status;
}
