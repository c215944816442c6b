/*
 * flood_bench.c: the hub under a keyless outsider's connection flood (PROTOCOL.md 8.5),
 * with real processes on 127.0.0.1: an `aidmesh run` hub holding FB_ENTRIES entries,
 * members that join the network and sync everything from it with `aidmesh sync`, and
 * aidmesh-flood (flood.h) as the outsider. Figures:
 * - memory the hub owns per connection held before authentication (FB_HELD connections
 *   from as many addresses, each having sent the preamble);
 * - memory the hub owns during a FB_FLOOD-connection preamble flood, beside its idle
 *   memory;
 * - a member's full sync during that flood, beside the same sync without it.
 * Must never: leave a process running, or reach anything but loopback.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "am_err.h"
#include "bench_report.h"
#include "bench_util.h"
#include "node.h"
#include "store.h"

#define FB_ENTRIES   20000
#define FB_HELD      120  /* below the hub's cap on connections not authenticated (128) */
#define FB_FLOOD     5000 /* connections the outsider holds (reopened when closed) */
#define FB_SOURCES   16   /* loopback addresses the flood comes from */
#define FB_SYNCS     5    /* members synced, each way: the median counts */
#define FB_SAMPLE_MS 50

struct fb {
    char bin[PATH_MAX], flood[PATH_MAX + 16], dir[PATH_MAX], hub[PATH_MAX + 16];
    char log[PATH_MAX + 16], code[256], port[8];
    pid_t hub_pid;
};

/* FB_ENTRIES entries of the hub's own author, written in-process. */
static int fill_hub(const char *home)
{
    struct node n;
    uint8_t op[60] = {0x81, 0xa1, 'n', 0xd9, 55};
    const uint8_t *ops[1000];
    size_t lens[1000];
    int rc;

    if ((rc = node_open(&n, home, NULL, NULL)) != AM_OK)
        return rc;
    for (size_t i = 0; i < 1000; i++) {
        ops[i] = op;
        lens[i] = sizeof op;
    }
    memset(op + 5, 'f', sizeof op - 5);
    for (int b = 0; b < FB_ENTRIES / 1000 && rc == AM_OK; b++) {
        op[6] = (uint8_t)('a' + b % 26);
        op[7] = (uint8_t)('a' + b / 26);
        rc = store_append(n.store, n.sk, ops, lens, 1000, node_wall_ms(), NULL);
    }
    node_close(&n);
    return rc;
}

/* A fresh member joins and syncs everything from the hub; its time in ms (or < 0). */
static double member_sync(struct fb *f, const char *tag, int i)
{
    char home[PATH_MAX + 32], target[32];
    double t;
    int rc;
    snprintf(home, sizeof home, "%s/m-%s-%d", f->dir, tag, i);
    snprintf(target, sizeof target, "127.0.0.1:%s", f->port);
    if (bench_home_setup(f->bin, home, "member", f->code, f->log) != AM_OK)
        return -1;
    {
        char *argv[] = {f->bin, "--home", home, "sync", "--timeout", "30", target, NULL};
        t = bench_now_s();
        rc = bench_run_cmd(argv, NULL, 0, f->log);
        t = (bench_now_s() - t) * 1000;
    }
    return rc == 0 ? t : -1;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return v[n / 2];
}

static pid_t flood_start(struct fb *f, unsigned conns, unsigned sources, double secs, int once)
{
    char c[16], s[16], t[16];
    char *argv[] = {f->flood,    "--port", f->port,     "--conns", c,
                    "--sources", s,        "--seconds", t,         once ? "--once" : NULL,
                    NULL};
    snprintf(c, sizeof c, "%u", conns);
    snprintf(s, sizeof s, "%u", sources);
    snprintf(t, sizeof t, "%.1f", secs);
    return bench_spawn_fast(argv, f->log);
}

static double owned_now(pid_t pid)
{
    struct proc_mem m;
    return bench_proc_mem_read(pid, &m) == 0 ? bench_owned(&m) : -1;
}

/* The hub's owned memory, settled: the least of a few samples FB_SAMPLE_MS apart. */
static double owned_settled(pid_t pid)
{
    double best = -1;
    for (int i = 0; i < 5; i++) {
        double v = owned_now(pid);
        if (v >= 0 && (best < 0 || v < best))
            best = v;
        bench_sleep_ms(FB_SAMPLE_MS);
    }
    return best;
}

static int fb_setup(struct fb *f, const char *tmpdir)
{
    char *inv[] = {f->bin, "--home", f->hub, "invite", NULL};
    uint16_t port;
    char target[32],
        *run[] = {f->bin, "--home", f->hub, "run", "--listen", target, "--no-discovery", NULL};
    char *slash;
    int fd;

    if (!bench_find_aidmesh(f->bin, sizeof f->bin))
        return AM_ENOTFOUND;
    snprintf(f->flood, sizeof f->flood, "%s", f->bin);
    if (!(slash = strrchr(f->flood, '/')))
        return AM_ENOTFOUND;
    snprintf(slash, sizeof f->flood - (size_t)(slash - f->flood), "/aidmesh-flood");
    if (access(f->flood, X_OK) != 0)
        return AM_ENOTFOUND;
    snprintf(f->dir, sizeof f->dir, "%s/flood-XXXXXX", tmpdir);
    if (!mkdtemp(f->dir))
        return AM_ESYS;
    snprintf(f->hub, sizeof f->hub, "%s/hub", f->dir);
    snprintf(f->log, sizeof f->log, "%s/log", f->dir);
    if (bench_home_setup(f->bin, f->hub, "hub", NULL, f->log) != AM_OK ||
        bench_run_cmd(inv, f->code, sizeof f->code, f->log) != 0 || fill_hub(f->hub) != AM_OK ||
        bench_free_ports(&port, 1) != AM_OK)
        return AM_ESYS;
    f->code[strcspn(f->code, " \r\n")] = 0;
    snprintf(f->port, sizeof f->port, "%u", port);
    snprintf(target, sizeof target, "127.0.0.1:%u", port);
    if ((f->hub_pid = bench_spawn_fast(run, f->log)) < 0)
        return AM_ESYS;
    /* listening: a TCP connection goes through (no sync yet: the memory per connection is
     * measured first, before a sync leaves freed memory for connections to reuse) */
    for (double t0 = bench_now_s(); (fd = bench_connect_local(port)) < 0;) {
        if (bench_now_s() - t0 > 10)
            return AM_ETIMEOUT;
        bench_sleep_ms(50);
    }
    close(fd);
    return AM_OK;
}

int flood_bench_rows(const char *tmpdir)
{
    struct fb f;
    double quiet[FB_SYNCS], flooded[FB_SYNCS], idle, held, peak = 0, per_conn;
    pid_t fl;
    int rc, st, fails = 0;
    struct bench_row *r;

    memset(&f, 0, sizeof f);
    bench_section("A hub under a connection flood");
    rc = fb_setup(&f, tmpdir);
    if (rc == AM_ENOTFOUND) {
        bench_row_text("connection flood",
                       "skipped: aidmesh or aidmesh-flood not beside the bench");
        return AM_OK;
    }
    if (rc != AM_OK)
        goto fail;

    /* memory per connection before authentication */
    idle = owned_settled(f.hub_pid);
    fl = flood_start(&f, FB_HELD, FB_HELD, 3.0, 1);
    bench_sleep_ms(1500); /* all FB_HELD connected and sent their preamble */
    held = owned_settled(f.hub_pid);
    waitpid(fl, &st, 0);
    per_conn = (held - idle) * 1048576.0 / FB_HELD;
    r = bench_row_add("hub memory per connection before authentication (120 held, preamble sent)",
                      per_conn < 0 ? 0 : per_conn, BENCH_BYTES);
    bench_row_target(r, "≤ 16 KiB", per_conn <= 16384 ? BENCH_MET : BENCH_MISSED);

    /* a member's full sync, then the same during a flood */
    for (int i = 0; i < FB_SYNCS; i++)
        if ((quiet[i] = member_sync(&f, "quiet", i)) < 0)
            fails++;
    idle = owned_settled(f.hub_pid);
    fl = flood_start(&f, FB_FLOOD, FB_SOURCES, 6.0 + FB_SYNCS * 1.0, 0);
    bench_sleep_ms(1500);
    for (int i = 0; i < FB_SYNCS; i++) {
        double m = owned_now(f.hub_pid);
        if (m > peak)
            peak = m;
        if ((flooded[i] = member_sync(&f, "flood", i)) < 0)
            fails++;
        m = owned_now(f.hub_pid);
        if (m > peak)
            peak = m;
    }
    while (waitpid(fl, &st, WNOHANG) == 0) {
        double m = owned_now(f.hub_pid);
        if (m > peak)
            peak = m;
        bench_sleep_ms(FB_SAMPLE_MS);
    }
    if (fails) {
        rc = AM_ETIMEOUT;
        goto fail;
    }
    {
        double q = median(quiet, FB_SYNCS), fm = median(flooded, FB_SYNCS);
        char what[160];
        r = bench_row_add("hub memory owned during a 5,000-connection preamble flood (peak)", peak,
                          BENCH_MIB);
        bench_row_ceiling(r, "the hub idle, just before", idle, BENCH_MIB, "idle");
        bench_row_target(r, "< 64 MiB", peak < 64 ? BENCH_MET : BENCH_MISSED);
        snprintf(what, sizeof what, "the same sync without the flood (median of %d)", FB_SYNCS);
        r = bench_row_add("a member's full sync of 20,000 entries during the flood (median of 5)",
                          fm, BENCH_MS);
        bench_row_ceiling(r, what, q, BENCH_MS, "unflooded");
        bench_row_target(r, "≤ 2× unflooded", fm <= 2 * q ? BENCH_MET : BENCH_MISSED);
    }
    bench_note("Connection flood: the outsider (aidmesh-flood) holds %d connections from %d "
               "loopback addresses, each sending the 8-byte preamble and nothing more, and "
               "reopens each one the hub closes; each member is a fresh node that joins and "
               "syncs all %d entries with `aidmesh sync`. Memory is what the hub process owns "
               "(anonymous + shared), from /proc.",
               FB_FLOOD, FB_SOURCES, FB_ENTRIES);
    bench_stop_pid(f.hub_pid, "the flooded hub", f.log);
    f.hub_pid = 0;
    bench_run_cmd((char *[]){"/bin/rm", "-rf", f.dir, NULL}, NULL, 0, NULL);
    return AM_OK;
fail:
    fprintf(stderr, "aidmesh-bench: the flood benchmark failed: %s\n", am_strerror(rc));
    bench_show_log(f.log);
    bench_row_text("connection flood", "failed (see stderr)");
    if (f.hub_pid > 0)
        bench_stop_pid(f.hub_pid, "the flooded hub", f.log);
    if (f.dir[0])
        bench_run_cmd((char *[]){"/bin/rm", "-rf", f.dir, NULL}, NULL, 0, NULL);
    return rc;
}
