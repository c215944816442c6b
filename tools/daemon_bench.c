/*
 * daemon_bench.c: the figures of aidmesh-bench that need running daemons (the real
 * `aidmesh run` binary beside the bench, on 127.0.0.1, no discovery; see bench_main.c):
 * propagation of a new entry through K nodes, startup of a node with a big store, the
 * memory of a daemon sending and receiving a full sync, and the memory of a daemon
 * receiving relief entries (with the view cache filling).
 *
 * Never leaves a daemon running: each is stopped (SIGTERM, then SIGKILL) and waited for
 * on every path. Never opens a store a daemon has open for writing; checks run with both
 * daemons stopped.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "am_err.h"
#include "bench_parts.h"
#include "bench_report.h"
#include "bench_util.h"
#include "cli.h"

#define BENCH_CONNECT_S     60.0 /* all daemons in sync with their peers by then */
#define BENCH_SAMPLE_S      10.0 /* one write reaches every node by then */
#define BENCH_SAMPLE_GAP_MS 50   /* between writes: let the last one's scans settle */
#define BENCH_START_S       60.0 /* a start that does not serve by then has failed */

/* How many connections the output of `aidmesh peers --json` (doc) reports "in sync";
 * -1 when it is not that document. */
static int in_sync_of(const char *doc)
{
    json_t *o = json_loads(doc, 0, NULL);
    json_t *conn = json_object_get(json_object_get(o, "status"), "connected");
    size_t i;
    json_t *p;
    int c = json_is_array(conn) ? 0 : -1;
    json_array_foreach(conn, i, p)
    {
        const char *st = json_string_value(json_object_get(p, "state"));
        if (st && strcmp(st, "in sync") == 0)
            c++;
    }
    json_decref(o);
    return c;
}

/*
 * Figure 4: k `aidmesh run` daemons on 127.0.0.1, each with its own home under tmp, no
 * discovery. Topology: node i (i >= 1) dials node 0 and node i-1, so node 0 is a hub and
 * the others also form a chain; an entry crosses at most two hops. Once every node reports
 * all its connections "in sync" (`aidmesh peers --json`), `samples` times: one entry is
 * appended at a random node by this process (node_open + store_append; the daemon sees it
 * through its inotify watch), and the time from the append's return until every node's
 * store holds it is taken, polling each store's head of that author every ~1 ms.
 */
/* ---- a seed store's entries into node 0 ---- */

#define SEED_BATCH 4096

struct seed {
    struct store *dst;
    uint8_t *buf; /* SEED_BATCH entries of at most AM_ENTRY_MAX bytes */
    const uint8_t *ent[SEED_BATCH];
    size_t len[SEED_BATCH], n, used;
    uint64_t added;
};

static int seed_flush(struct seed *sd)
{
    struct store_ingest_stats st;
    int rc = sd->n ? store_ingest(sd->dst, sd->ent, sd->len, sd->n, node_wall_ms(), &st) : AM_OK;
    if (rc == AM_OK)
        sd->added += st.added;
    sd->n = sd->used = 0;
    return rc;
}

static int seed_add(void *ctx, const uint8_t *raw, size_t len)
{
    struct seed *sd = ctx;
    if (len > AM_ENTRY_MAX)
        return AM_ECORRUPT;
    memcpy(sd->buf + sd->used, raw, len);
    sd->ent[sd->n] = sd->buf + sd->used;
    sd->len[sd->n++] = len;
    sd->used += len;
    return sd->n == SEED_BATCH ? seed_flush(sd) : 0;
}

/* Every entry of the store in `from` into dst. */
static int seed_copy(const char *from, struct store *dst, uint64_t *added)
{
    struct store *src = NULL;
    struct seed *sd = calloc(1, sizeof *sd);
    int rc = sd && (sd->buf = malloc((size_t)SEED_BATCH * AM_ENTRY_MAX)) ? AM_OK : AM_ENOMEM;
    const struct store_opts ro = {.read_only = 1};

    if (rc == AM_OK && (rc = store_open(&src, from, &ro)) == AM_OK) {
        sd->dst = dst;
        rc = store_entries_each(src, NULL, 0, seed_add, sd);
        if (rc == AM_OK)
            rc = seed_flush(sd);
        *added = sd->added;
    }
    store_close(src);
    if (sd)
        free(sd->buf);
    free(sd);
    return rc;
}

int bench_propagation(const char *tmp, int k, int samples, const struct bench_prop_opts *o,
                      struct bench_prop_result *res)
{
    char bin[PATH_MAX], dir[PATH_MAX + 8];
    char(*home)[PATH_MAX + 32] = calloc(BENCH_NODES_MAX, sizeof *home);
    char(*logs)[PATH_MAX + 48] = calloc(BENCH_NODES_MAX, sizeof *logs);
    char code[256] = "", listen_arg[32], peer0[32], peer1[32], http_arg[32], *out = NULL;
    uint16_t port[BENCH_NODES_MAX + 1];
    int phones = o ? o->phones : 0;
    struct bench_poll *poll = NULL;
    pid_t pid[BENCH_NODES_MAX];
    int deg[BENCH_NODES_MAX] = {0}, opened[BENCH_NODES_MAX] = {0};
    struct node *nd = calloc(BENCH_NODES_MAX, sizeof *nd);
    double *ms = calloc((size_t)samples, sizeof *ms);
    double t0;
    int rc = AM_OK, failed = 0;

    memset(res, 0, sizeof *res);
    for (int i = 0; i < BENCH_NODES_MAX; i++)
        pid[i] = -1;
    if (!nd || !ms || !home || !logs || !(out = malloc(1 << 16))) {
        rc = AM_ENOMEM;
        goto out;
    }
    if (!bench_find_aidmesh(bin, sizeof bin)) {
        fprintf(stderr, "aidmesh-bench: no aidmesh binary beside this one: propagation skipped\n");
        goto out;
    }
    res->ran = 1;
    snprintf(dir, sizeof dir, "%s/net", tmp);
    if (mkdir(dir, 0700) != 0 || bench_free_ports(port, k + (phones > 0)) != AM_OK) {
        fprintf(stderr, "aidmesh-bench: setting up %s: %s\n", dir, strerror(errno));
        rc = AM_ESYS;
        goto out;
    }
    fprintf(stderr, "aidmesh-bench: propagation: setting up %d nodes in %s\n", k, dir);
    for (int i = 0; i < k; i++) {
        char name[16];
        snprintf(home[i], sizeof home[i], "%s/n%d", dir, i);
        snprintf(logs[i], sizeof logs[i], "%s/n%d.logs", dir, i);
        snprintf(name, sizeof name, "n%d", i);
        {
            char *init0[] = {bin, "--home", home[i], "init", "--name", name, NULL};
            char *initj[] = {bin, "--home", home[i], "init", "--name", name, "--join", code, NULL};
            if (bench_run_cmd(i ? initj : init0, NULL, 0, logs[i]) != 0) {
                fprintf(stderr, "aidmesh-bench: aidmesh init of %s failed\n", home[i]);
                bench_show_log(logs[i]);
                rc = AM_ESYS;
                goto out;
            }
        }
        if (i == 0) {
            char *inv[] = {bin, "--home", home[0], "invite", NULL};
            if (bench_run_cmd(inv, code, sizeof code, logs[0]) != 0) {
                fprintf(stderr, "aidmesh-bench: aidmesh invite of %s failed\n", home[0]);
                bench_show_log(logs[0]);
                rc = AM_ESYS;
                goto out;
            }
            code[strcspn(code, " \r\n")] = 0;
        }
    }
    if (o && o->seed_store) {
        uint64_t added = 0;
        enum node_step step;
        if ((rc = node_open(&nd[0], home[0], NULL, &step)) == AM_OK) {
            rc = seed_copy(o->seed_store, nd[0].store, &added);
            node_close(&nd[0]);
        }
        if (rc != AM_OK) {
            bench_fail("the seed store into node 0", rc);
            goto out;
        }
        fprintf(stderr, "aidmesh-bench: node 0 holds %llu entries of %s\n",
                (unsigned long long)added, o->seed_store);
    }
    for (int i = 0; i < k; i++) {
        char *argv[16];
        int a = 0;
        snprintf(listen_arg, sizeof listen_arg, "127.0.0.1:%u", port[i]);
        snprintf(peer0, sizeof peer0, "127.0.0.1:%u", port[0]);
        snprintf(peer1, sizeof peer1, "127.0.0.1:%u", port[i ? i - 1 : 0]);
        argv[a++] = bin;
        argv[a++] = "--home";
        argv[a++] = home[i];
        argv[a++] = "run";
        argv[a++] = "--listen";
        argv[a++] = listen_arg;
        argv[a++] = "--no-discovery";
        if (i == 0 && phones > 0) {
            snprintf(http_arg, sizeof http_arg, "127.0.0.1:%u", port[k]);
            argv[a++] = "--http";
            argv[a++] = http_arg;
        }
        if (i >= 1) {
            argv[a++] = "--peer";
            argv[a++] = peer0;
            deg[i]++;
            deg[0]++;
        }
        if (i >= 2) {
            argv[a++] = "--peer";
            argv[a++] = peer1;
            deg[i]++;
            deg[i - 1]++;
        }
        argv[a] = NULL;
        if ((pid[i] = bench_spawn(argv, -1, logs[i])) < 0) {
            fprintf(stderr, "aidmesh-bench: cannot start aidmesh run: %s\n", strerror(errno));
            rc = AM_ESYS;
            goto out;
        }
    }
    /* wait until every node reports all its connections in sync */
    t0 = bench_now_s();
    for (;;) {
        int ready = 0;
        for (int i = 0; i < k; i++) {
            char *argv[] = {bin, "--home", home[i], "peers", "--json", NULL};
            int st;
            if (waitpid(pid[i], &st, WNOHANG) == pid[i]) {
                pid[i] = -1;
                fprintf(stderr, "aidmesh-bench: the daemon of node %d stopped\n", i);
                bench_show_log(logs[i]);
                rc = AM_ESYS;
                goto out;
            }
            if (bench_run_cmd(argv, out, 1 << 16, NULL) == 0 && in_sync_of(out) >= deg[i])
                ready++;
        }
        if (ready == k)
            break;
        if (bench_now_s() - t0 > BENCH_CONNECT_S) {
            fprintf(stderr, "aidmesh-bench: after %.0f s only %d of %d nodes are connected\n",
                    BENCH_CONNECT_S, ready, k);
            bench_show_log(logs[0]);
            rc = AM_ETIMEOUT;
            goto out;
        }
        bench_sleep_ms(200);
    }
    res->connect_s = bench_now_s() - t0;
    fprintf(stderr, "aidmesh-bench: %d daemons connected (%d links) in %.1f s; %d writes\n", k,
            2 * k - 3 > 0 ? 2 * k - 3 : 1, res->connect_s, samples);
    for (int i = 0; i < k; i++) {
        enum node_step step;
        if ((rc = node_open(&nd[i], home[i], NULL, &step)) != AM_OK) {
            fprintf(stderr, "aidmesh-bench: opening node %s (step %d): %s\n", home[i], (int)step,
                    am_strerror(rc));
            goto out;
        }
        opened[i] = 1;
    }
    if (phones > 0) {
        if (!(poll = calloc(1, sizeof *poll))) {
            rc = AM_ENOMEM;
            goto out;
        }
        if ((rc = bench_poll_start(poll, port[k], phones, o->period_s)) != AM_OK) {
            free(poll);
            poll = NULL;
            goto out;
        }
        /* one full period first: every phone has asked once before a write is timed */
        bench_sleep_ms((unsigned)(o->period_s * 1000));
    }
    for (int s = 0; s < samples; s++) {
        int r = (int)randombytes_uniform((uint32_t)k), reached[BENCH_NODES_MAX] = {0}, left = k;
        uint8_t op[BENCH_OP_LEN];
        const uint8_t *ops[1] = {op};
        size_t lens[1] = {bench_make_op(op, (uint64_t)r, (uint64_t)s, (uint64_t)samples)};
        struct store_head h;
        double t;

        if ((rc = store_append(nd[r].store, nd[r].sk, ops, lens, 1, node_wall_ms(), &h)) != AM_OK) {
            bench_fail("append at a running node", rc);
            goto out;
        }
        t = bench_now_s();
        for (;;) {
            for (int j = 0; j < k; j++) {
                struct store_head hj;
                if (!reached[j] && store_head_get(nd[j].store, nd[r].pk, &hj) == AM_OK &&
                    hj.seq >= h.seq) {
                    reached[j] = 1;
                    left--;
                }
            }
            if (left == 0 || bench_now_s() - t > BENCH_SAMPLE_S)
                break;
            bench_sleep_ms(1);
        }
        if (left > 0) {
            fprintf(stderr, "aidmesh-bench: write %d at node %d: %d nodes lack it after %.0f s\n",
                    s, r, left, BENCH_SAMPLE_S);
            res->missed++;
        } else {
            ms[res->samples++] = (bench_now_s() - t) * 1000.0;
        }
        bench_sleep_ms(BENCH_SAMPLE_GAP_MS);
    }
    if (res->samples > 0) {
        int n = res->samples;
        qsort(ms, (size_t)n, sizeof ms[0], bench_cmp_double);
        /* nearest rank */
        res->p50_ms = ms[(n + 1) / 2 - 1];
        res->p95_ms = ms[(int)((95 * (long)n + 99) / 100) - 1];
        res->max_ms = ms[n - 1];
    }
    if (res->missed > 0)
        failed = 1;
out:
    if (poll) {
        struct bench_poll_result pr;
        bench_poll_stop(poll, &pr);
        if (o->polls)
            *o->polls = pr;
        free(poll);
    }
    for (int i = 0; i < k; i++)
        if (opened[i])
            node_close(&nd[i]);
    for (int i = 0; i < k; i++)
        if (pid[i] > 0)
            kill(pid[i], SIGTERM);
    for (int i = 0; i < k; i++) {
        double t = bench_now_s();
        int st;
        if (pid[i] <= 0)
            continue;
        while (waitpid(pid[i], &st, WNOHANG) == 0) {
            if (bench_now_s() - t > BENCH_STOP_S) {
                fprintf(stderr, "aidmesh-bench: node %d ignored SIGTERM: killing it\n", i);
                kill(pid[i], SIGKILL);
                waitpid(pid[i], &st, 0);
                st = 0;
                break;
            }
            bench_sleep_ms(10);
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            /* a sanitizer's report, or a crash on the way out */
            fprintf(stderr, "aidmesh-bench: the daemon of node %d did not stop cleanly\n", i);
            bench_show_log(logs[i]);
        }
    }
    if (failed && rc == AM_OK)
        rc = AM_ETIMEOUT;
    free(nd);
    free(ms);
    free(out);
    free(home);
    free(logs);
    return rc;
}

/* Median of BENCH_STARTS spawns of argv until exit, in ms (sorted into ms). */
static int exec_floor(char *const argv[], double ms[BENCH_STARTS])
{
    for (int i = 0; i < BENCH_STARTS; i++) {
        double t0 = bench_now_s();
        pid_t pid = bench_spawn_fast(argv, NULL);
        int st;
        if (pid < 0)
            return AM_ESYS;
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR)
                return AM_ESYS;
        ms[i] = (bench_now_s() - t0) * 1e3;
    }
    qsort(ms, BENCH_STARTS, sizeof ms[0], bench_cmp_double);
    return AM_OK;
}

/* One start of the big node: spawn `aidmesh run`, connect as soon as it listens, and run
 * a sync session with the in-sync peer until both sides are in sync. */
static int start_once(char *const argv[], const char *log, uint16_t port, struct bench_peer *peer,
                      const uint8_t *netkey, double *tcp_ms, double *serve_ms)
{
    struct bench_link l;
    struct bench_side *sd = calloc(1, sizeof *sd);
    double t0;
    pid_t pid;
    int fd = -1, one = 1, st, rc = AM_OK;

    if (!sd)
        return AM_ENOMEM;
    t0 = bench_now_s();
    if ((pid = bench_spawn_fast(argv, log)) < 0) {
        fprintf(stderr, "aidmesh-bench: cannot start aidmesh run: %s\n", strerror(errno));
        free(sd);
        return AM_ESYS;
    }
    while ((fd = bench_connect_local(port)) < 0) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "aidmesh-bench: the big node's daemon stopped during its start\n");
            bench_show_log(log);
            pid = -1;
            rc = AM_ESYS;
            goto out;
        }
        if (bench_now_s() - t0 > BENCH_START_S) {
            rc = AM_ETIMEOUT;
            goto out;
        }
        struct timespec ts = {0, 200000}; /* 0.2 ms */
        nanosleep(&ts, NULL);
    }
    *tcp_ms = (bench_now_s() - t0) * 1e3;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        rc = AM_ESYS;
        goto out;
    }
    atomic_init(&l.in_sync, 1u); /* the other side is the daemon: only this one reports */
    atomic_init(&l.stop, 0);
    l.netkey = netkey;
    l.deadline = t0 + BENCH_START_S;
    sd->l = &l;
    sd->p = peer;
    sd->fd = fd;
    sd->initiator = 1;
    sd->bit = 2u;
    bench_side_run(sd);
    if ((rc = sd->rc) != AM_OK) {
        fprintf(stderr, "aidmesh-bench: sync session with the starting daemon: %s\n",
                am_strerror(rc));
        bench_show_log(log);
        goto out;
    }
    *serve_ms = (sd->t_in_sync - t0) * 1e3;
out:
    if (fd >= 0)
        close(fd);
    if (pid > 0 && bench_stop_pid(pid, "the big node's daemon", log) != 0 && rc == AM_OK)
        rc = AM_ESYS;
    free(sd);
    return rc;
}

/* How many connections `aidmesh peers --json` of `home` reports in sync, or -1. */
static int peers_in_sync(const char *bin, const char *home, char *buf, size_t cap)
{
    char *argv[] = {(char *)bin, "--home", (char *)home, "peers", "--json", NULL};
    if (bench_run_cmd(argv, buf, cap, NULL) != 0)
        return -1;
    return in_sync_of(buf);
}

/* A fresh node home `home` (a new network, node name `name`) whose store is the store
 * directory `store`, moved in. `code` (cap bytes) gets an invite code of the network,
 * and netkey (nullable, AM_NETKEY_LEN bytes) its key. Returns AM_OK, AM_ESYS, or what
 * opening the node returned. */
static int home_with_store(const char *bin, const char *home, const char *name, const char *store,
                           const char *log, char *code, size_t cap, uint8_t *netkey)
{
    char *inv[] = {(char *)bin, "--home", (char *)home, "invite", NULL};
    char path[PATH_MAX + 64];
    struct node nd;
    int rc;

    if ((rc = bench_home_setup(bin, home, name, NULL, log)) != AM_OK)
        return rc;
    if (bench_run_cmd(inv, code, cap, log) != 0) {
        fprintf(stderr, "aidmesh-bench: aidmesh invite of %s failed\n", home);
        return AM_ESYS;
    }
    code[strcspn(code, " \r\n")] = 0;
    if ((size_t)snprintf(path, sizeof path, "%s/store", home) >= sizeof path)
        return AM_ESYS;
    bench_rm_tree(path);
    if (rename(store, path) != 0) {
        fprintf(stderr, "aidmesh-bench: cannot move %s to %s: %s\n", store, path, strerror(errno));
        return AM_ESYS;
    }
    /* a deliberate swap: the store record goes with the old store (PROTOCOL.md 7), or the
     * node would rightly refuse the new one as "replaced" */
    if ((size_t)snprintf(path, sizeof path, "%s/store.id", home) >= sizeof path ||
        (unlink(path) != 0 && errno != ENOENT))
        return AM_ESYS;
    if (netkey) {
        if ((rc = node_open(&nd, home, NULL, NULL)) != AM_OK) {
            fprintf(stderr, "aidmesh-bench: opening the node %s: %s\n", home, am_strerror(rc));
            return rc;
        }
        memcpy(netkey, nd.netkey, AM_NETKEY_LEN);
        node_close(&nd);
    }
    return AM_OK;
}

/*
 * One memory run: the node home `recv` is set up, joining the network of invite `code`
 * (whose node `big` holds the entries), and its daemon started listening on port[1],
 * with `--view-cache cache_mib` when cache_mib is not NULL; once it listens, its idle
 * memory is read. Then the daemon of `big` is started, listening on port[0] and dialing
 * port[1], and /proc/PID/status of both is sampled every BENCH_MEM_SAMPLE_MS until `recv`
 * reports its link in sync, then read once more. Both daemons are stopped (and waited
 * for) before it returns. Returns AM_OK, AM_ESYS (a daemon did not start, stopped during
 * the sync, or did not stop cleanly), AM_ETIMEOUT, AM_ENOMEM.
 */
static int mem_sync(const char *bin, const char *big, const char *recv, const char *big_log,
                    const char *recv_log, const char *code, const uint16_t port[2],
                    const char *cache_mib, struct bench_mem_run *res)
{
    char listen_big[32], listen_recv[32], peer_arg[32], *out = malloc(1 << 16);
    char *argv_recv[] = {(char *)bin, "--home",         (char *)recv, "run", "--listen",
                         listen_recv, "--no-discovery", NULL,         NULL,  NULL};
    char *argv_big[] = {(char *)bin, "--home",         (char *)big, "run",    "--listen",
                        listen_big,  "--no-discovery", "--peer",    peer_arg, NULL};
    pid_t pid_big = -1, pid_recv = -1;
    double t0, next_poll;
    int fd, rc = AM_OK;

    memset(res, 0, sizeof *res);
    if (!out)
        return AM_ENOMEM;
    snprintf(listen_big, sizeof listen_big, "127.0.0.1:%u", port[0]);
    snprintf(listen_recv, sizeof listen_recv, "127.0.0.1:%u", port[1]);
    snprintf(peer_arg, sizeof peer_arg, "127.0.0.1:%u", port[1]);
    if (cache_mib) {
        argv_recv[7] = "--view-cache";
        argv_recv[8] = (char *)cache_mib;
    }
    if ((rc = bench_home_setup(bin, recv, "recv", code, recv_log)) != AM_OK)
        goto out;
    if ((pid_recv = bench_spawn_fast(argv_recv, recv_log)) < 0) {
        rc = AM_ESYS;
        goto out;
    }
    t0 = bench_now_s();
    while ((fd = bench_connect_local(port[1])) < 0) {
        if (bench_now_s() - t0 > BENCH_START_S) {
            fprintf(stderr, "aidmesh-bench: the empty node does not listen\n");
            bench_show_log(recv_log);
            rc = AM_ETIMEOUT;
            goto out;
        }
        bench_sleep_ms(5);
    }
    close(fd); /* it logs a connection closed during the handshake: harmless */
    bench_sleep_ms(300);
    if (bench_proc_mem_read(pid_recv, &res->idle) != 0) {
        fprintf(stderr, "aidmesh-bench: cannot read /proc/%d/status\n", (int)pid_recv);
        rc = AM_ESYS;
        goto out;
    }
    t0 = bench_now_s();
    if ((pid_big = bench_spawn_fast(argv_big, big_log)) < 0) {
        rc = AM_ESYS;
        goto out;
    }
    next_poll = t0 + 0.25;
    for (;;) {
        pid_t pids[2] = {pid_big, pid_recv};
        int st_;
        for (int i = 0; i < 2; i++) {
            struct proc_mem m;
            if (waitpid(pids[i], &st_, WNOHANG) == pids[i]) {
                fprintf(stderr, "aidmesh-bench: the %s daemon stopped during the sync\n",
                        i ? "receiving" : "sending");
                bench_show_log(i ? recv_log : big_log);
                if (i)
                    pid_recv = -1;
                else
                    pid_big = -1;
                rc = AM_ESYS;
                goto out;
            }
            if (bench_proc_mem_read(pids[i], &m) == 0) {
                if (bench_owned(&m) > res->peak_owned[i])
                    res->peak_owned[i] = bench_owned(&m);
                if (m.rss > res->peak_rss[i])
                    res->peak_rss[i] = m.rss;
            }
        }
        if (bench_now_s() >= next_poll) {
            if (peers_in_sync(bin, recv, out, 1 << 16) >= 1)
                break;
            next_poll = bench_now_s() + 0.25;
        }
        if (bench_now_s() - t0 > BENCH_SYNC_TIMEOUT_S) {
            fprintf(stderr, "aidmesh-bench: the daemons are not in sync after %.0f s\n",
                    BENCH_SYNC_TIMEOUT_S);
            bench_show_log(recv_log);
            rc = AM_ETIMEOUT;
            goto out;
        }
        bench_sleep_ms(BENCH_MEM_SAMPLE_MS);
    }
    res->sync_s = bench_now_s() - t0;
    if (bench_proc_mem_read(pid_big, &res->end[0]) != 0 ||
        bench_proc_mem_read(pid_recv, &res->end[1]) != 0) {
        rc = AM_ESYS;
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        if (bench_owned(&res->end[i]) > res->peak_owned[i])
            res->peak_owned[i] = bench_owned(&res->end[i]);
        if (res->end[i].rss > res->peak_rss[i])
            res->peak_rss[i] = res->end[i].rss;
    }
    fprintf(stderr, "aidmesh-bench: daemons in sync after %.1f s\n", res->sync_s);
out:
    /* both, even when the first does not stop cleanly */
    if (bench_stop_pid(pid_big, "the sending daemon", big_log) != 0 && rc == AM_OK)
        rc = AM_ESYS;
    if (bench_stop_pid(pid_recv, "the receiving daemon", recv_log) != 0 && rc == AM_OK)
        rc = AM_ESYS;
    free(out);
    return rc;
}

/*
 * Figures 5 and 6. The ingest store `big_store` (n entries) becomes the store of a fresh
 * node home ("big", a new network); `insync_store` holds the same entries.
 * Startup: BENCH_STARTS times, `aidmesh run` of the big node is spawned and timed until
 * a TCP connection to its port succeeds, then until a sync session of this process (the
 * in-sync peer's store, the network's key) reports SYNC_IN_SYNC with it: the handshake
 * and one round of summaries, i.e. serving. Floor: spawn to exit of `aidmesh --version`.
 * Memory: mem_sync of the big node into an empty one, whose store is then checked to
 * hold all n entries.
 */
int bench_daemons(const char *tmp, const char *big_store, const char *insync_store, uint64_t n,
                  int do_startup, int do_memory, struct bench_daemon_result *res)
{
    char bin[PATH_MAX], big[PATH_MAX + 32], recv[PATH_MAX + 32], path[PATH_MAX + 64];
    char big_log[PATH_MAX + 48], recv_log[PATH_MAX + 48], code[256] = "", listen_big[32];
    uint16_t port[2];
    struct bench_peer peer;
    uint8_t netkey[AM_NETKEY_LEN];
    int rc = AM_OK, peer_open_ = 0;

    memset(res, 0, sizeof *res);
    if (!bench_find_aidmesh(bin, sizeof bin)) {
        fprintf(stderr, "aidmesh-bench: no aidmesh binary beside this one: startup and memory "
                        "skipped\n");
        goto out;
    }
    res->ran = 1;
    snprintf(big, sizeof big, "%s/big", tmp);
    snprintf(recv, sizeof recv, "%s/recv", tmp);
    snprintf(big_log, sizeof big_log, "%s/big.logs", tmp);
    snprintf(recv_log, sizeof recv_log, "%s/recv.logs", tmp);
    /* the big node's store: the ingest store, moved in */
    if ((rc = home_with_store(bin, big, "big", big_store, big_log, code, sizeof code, netkey)) !=
        AM_OK)
        goto out;
    if ((rc = bench_free_ports(port, 2)) != AM_OK)
        goto out;
    snprintf(listen_big, sizeof listen_big, "127.0.0.1:%u", port[0]);

    if (do_startup) {
        char *ver[] = {bin, "--version", NULL}, *tru[] = {"/bin/true", NULL};
        char *argv[] = {bin, "--home", big, "run", "--listen", listen_big, "--no-discovery", NULL};
        double tm[BENCH_STARTS];

        fprintf(stderr, "aidmesh-bench: startup of a node with %llu entries, %d starts\n",
                (unsigned long long)n, BENCH_STARTS);
        if ((rc = exec_floor(ver, res->exec_ms)) != AM_OK)
            goto out;
        res->true_ms = exec_floor(tru, tm) == AM_OK ? tm[BENCH_STARTS / 2] : 0;
        if ((rc = bench_peer_open(&peer, insync_store)) != AM_OK)
            goto out;
        peer_open_ = 1;
        for (int i = 0; i < BENCH_STARTS; i++) {
            if ((rc = start_once(argv, big_log, port[0], &peer, netkey, &res->tcp_ms[i],
                                 &res->serve_ms[i])) != AM_OK)
                goto out;
            fprintf(stderr,
                    "aidmesh-bench: start %d: listening after %.1f ms, serving after "
                    "%.1f ms\n",
                    i + 1, res->tcp_ms[i], res->serve_ms[i]);
        }
        qsort(res->tcp_ms, BENCH_STARTS, sizeof res->tcp_ms[0], bench_cmp_double);
        qsort(res->serve_ms, BENCH_STARTS, sizeof res->serve_ms[0], bench_cmp_double);
        bench_peer_close(&peer);
        peer_open_ = 0;
    }

    if (do_memory) {
        struct store *s = NULL;
        struct store_stats st;

        fprintf(stderr,
                "aidmesh-bench: memory: the big node serves a full sync of %llu entries "
                "to an empty node\n",
                (unsigned long long)n);
        if ((rc = mem_sync(bin, big, recv, big_log, recv_log, code, port, NULL, &res->mem)) !=
            AM_OK)
            goto out;
        snprintf(path, sizeof path, "%s/store", recv);
        /* both daemons have stopped: nobody else has the store open */
        if ((rc = store_open(&s, path, NULL)) == AM_OK && (rc = store_stats(s, &st)) == AM_OK)
            res->received = st.entries;
        store_close(s);
        if (rc != AM_OK || res->received != n) {
            fprintf(stderr, "aidmesh-bench: the receiving node holds %llu entries of %llu (%s)\n",
                    (unsigned long long)res->received, (unsigned long long)n, am_strerror(rc));
            rc = rc != AM_OK ? rc : AM_ECORRUPT;
            goto out;
        }
        res->mem_ran = 1;
    }
out:
    if (peer_open_)
        bench_peer_close(&peer);
    sodium_memzero(netkey, sizeof netkey);
    return rc;
}

static void hex16(char out[static 2 * STORE_VIEW_FP_LEN + 1], const uint8_t *b)
{
    for (int i = 0; i < STORE_VIEW_FP_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* After a run, with both daemons stopped: the receiver `recv_store` must hold the sender's
 * n entries and views of the same fingerprint (store_view_stats of both). Returns AM_OK,
 * AM_ECORRUPT (they differ: said on stderr), or a store error. */
static int relief_check(const char *big_store, const char *recv_store, uint64_t n,
                        struct bench_relief_mem_result *res, int i)
{
    const struct store_opts ro = {.read_only = 1};
    struct store *s = NULL;
    struct store_stats st;
    struct store_view_stats vs;
    char a[2 * STORE_VIEW_FP_LEN + 1], b[2 * STORE_VIEW_FP_LEN + 1];
    int rc;

    if ((rc = store_open(&s, big_store, &ro)) != AM_OK ||
        (rc = store_stats(s, &res->sent)) != AM_OK ||
        (rc = store_view_stats(s, &res->views)) != AM_OK)
        goto out;
    store_close(s);
    s = NULL;
    if ((rc = store_open(&s, recv_store, &ro)) != AM_OK || (rc = store_stats(s, &st)) != AM_OK ||
        (rc = store_view_stats(s, &vs)) != AM_OK)
        goto out;
    res->received[i] = st.entries;
    hex16(a, res->views.fingerprint);
    hex16(b, vs.fingerprint);
    fprintf(stderr,
            "aidmesh-bench: relief memory run %d: sender %llu entries, %llu objects, fingerprint "
            "%s; receiver %llu entries, %llu objects, fingerprint %s\n",
            i + 1, (unsigned long long)res->sent.entries, (unsigned long long)res->views.objects, a,
            (unsigned long long)st.entries, (unsigned long long)vs.objects, b);
    if (st.entries != n || res->sent.entries != n || vs.objects != res->views.objects ||
        memcmp(vs.fingerprint, res->views.fingerprint, STORE_VIEW_FP_LEN) != 0) {
        fprintf(stderr, "aidmesh-bench: relief memory run %d: the receiver's %s the sender's\n",
                i + 1, st.entries != n ? "entries differ from" : "views differ from");
        rc = AM_ECORRUPT;
    }
out:
    if (rc != AM_OK && rc != AM_ECORRUPT)
        fprintf(stderr, "aidmesh-bench: relief memory run %d: reading the stores: %s\n", i + 1,
                am_strerror(rc));
    store_close(s);
    return rc;
}

/*
 * Figures 7 and 8: the site-local relief workload (relief_bench_store, n entries) in the
 * store of a fresh node home ("rbig", a new network), served by its daemon to an empty
 * node (mem_sync) twice: the receiver with the default view cache, then with
 * `--view-cache cache_mib` (a static string: res keeps it), each time a fresh home. After
 * each run the stores' entries and view fingerprints are compared (relief_check). Returns
 * AM_OK, or the first error (each run's own in res->rc).
 */
int bench_relief_daemons(const char *tmp, uint64_t n, const char *cache_mib,
                         struct bench_relief_mem_result *res)
{
    const char *const cache[BENCH_RELIEF_RUNS] = {NULL, cache_mib};
    char bin[PATH_MAX], src[PATH_MAX + 32], big[PATH_MAX + 32], recv[PATH_MAX + 32];
    char big_store[PATH_MAX + 64], recv_store[PATH_MAX + 64];
    char big_log[PATH_MAX + 48], recv_log[PATH_MAX + 48], code[256] = "";
    uint16_t port[2];
    int rc = AM_OK;

    memset(res, 0, sizeof *res);
    res->cache_mib = cache_mib;
    for (int i = 0; i < BENCH_RELIEF_RUNS; i++)
        res->rc[i] = AM_ESTATE; /* not run */
    if (!bench_find_aidmesh(bin, sizeof bin)) {
        fprintf(stderr, "aidmesh-bench: no aidmesh binary beside this one: relief memory "
                        "skipped\n");
        return AM_OK;
    }
    res->ran = 1;
    snprintf(src, sizeof src, "%s/relief-src", tmp);
    snprintf(big, sizeof big, "%s/rbig", tmp);
    snprintf(big_store, sizeof big_store, "%s/store", big);
    snprintf(big_log, sizeof big_log, "%s/rbig.logs", tmp);
    if ((rc = relief_bench_store(src, n)) != AM_OK ||
        (rc = home_with_store(bin, big, "rbig", src, big_log, code, sizeof code, NULL)) != AM_OK) {
        bench_rm_tree(src);
        for (int i = 0; i < BENCH_RELIEF_RUNS; i++)
            res->rc[i] = rc;
        return rc;
    }
    for (int i = 0; i < BENCH_RELIEF_RUNS; i++) {
        snprintf(recv, sizeof recv, "%s/rrecv%d", tmp, i + 1);
        snprintf(recv_store, sizeof recv_store, "%s/store", recv);
        snprintf(recv_log, sizeof recv_log, "%s/rrecv%d.logs", tmp, i + 1);
        fprintf(stderr,
                "aidmesh-bench: relief memory: full sync of %llu relief entries to an empty "
                "node, %s%s\n",
                (unsigned long long)n, cache[i] ? "--view-cache " : "default view cache",
                cache[i] ? cache[i] : "");
        if ((res->rc[i] = bench_free_ports(port, 2)) == AM_OK &&
            (res->rc[i] = mem_sync(bin, big, recv, big_log, recv_log, code, port, cache[i],
                                   &res->run[i])) == AM_OK)
            res->rc[i] = relief_check(big_store, recv_store, n, res, i);
        if (res->rc[i] != AM_OK && rc == AM_OK)
            rc = res->rc[i];
        bench_rm_tree(recv); /* a store as big as the sender's: not kept for the next run */
        if (res->rc[i] != AM_OK && res->rc[i] != AM_ECORRUPT)
            break; /* a daemon failed: the next run would too */
    }
    bench_rm_tree(big);
    return rc;
}
