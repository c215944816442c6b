/*
 * discovery_probe_main.c: aidmesh-discovery-probe, a test driver for uv_discovery (used by
 * discovery_netns.sh). Not installed. It runs discovery with a given network key until
 * it has seen what it was asked to see, printing what it finds:
 *
 *   aidmesh-discovery-probe --netkey HEX64 [options]
 *     --author HEX64     our author id (default: random)
 *     --port N           TCP port announced in our beacons (default 47470)
 *     --peers N          goal: N distinct peer author ids (default 1)
 *     --others N         goal: at least N beacons of other networks (default 0)
 *     --stale N          goal: at least N beacons outside the clock window (default 0)
 *     --own N            goal: at least N of our own beacons seen and ignored (default 0)
 *     --deadline SEC     give up after SEC seconds (default 20)
 *     --barrier DIR --group N
 *                        once the goal is met, create DIR/<author hex>.done and keep
 *                        beaconing until N such files exist (so that no probe leaves
 *                        before the others have seen it)
 *     --loopback --no-ipv4 --no-ipv6 --udp-port N --interval MS --rescan MS
 *     --clock-offset MIN uv_discovery_cfg settings
 *
 * Output, one line each, flushed at once:
 *   self <author hex> <port> ifaces4=<n> ifaces6=<n> sock4=<err> sock6=<err>   at start
 *   peer <author hex> <addr> <port>     each new (author, address); IPv6 link-local
 *                                        addresses as fe80::...%ifname
 *   stats rounds=... sent=... ...        at the end
 *   result goal|deadline|signal
 * Exit: 0 goal met (and barrier passed), 2 deadline, 3 SIGTERM/SIGINT, 1 usage or setup.
 */
#include <dirent.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "am_err.h"
#include "uv_discovery.h"

#define MAX_PEERS 64
#define MAX_SEEN  256

static struct {
    uv_loop_t *loop;
    struct uv_discovery d;
    uv_timer_t deadline, poll;
    uv_signal_t sigterm, sigint;
    uint8_t author[AM_PK_LEN];
    char self_hex[2 * AM_PK_LEN + 1];
    uint8_t peers[MAX_PEERS][AM_PK_LEN];
    size_t n_peers;
    char seen[MAX_SEEN][2 * AM_PK_LEN + 80];
    size_t n_seen;
    unsigned long want_peers, want_others, want_stale, want_own, group;
    const char *barrier;
    int goal_met, done, exit_code;
} P;

static int usage(const char *why)
{
    fprintf(stderr, "aidmesh-discovery-probe: %s\n", why);
    return 1;
}

static const char *arg(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static int flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

static unsigned long num(int argc, char **argv, const char *name, unsigned long dflt)
{
    const char *v = arg(argc, argv, name);
    return v != NULL ? strtoul(v, NULL, 10) : dflt;
}

static int hex32(const char *hex, uint8_t out[static 32])
{
    size_t len = 0;
    return hex != NULL && strlen(hex) == 64 &&
           sodium_hex2bin(out, 32, hex, 64, NULL, &len, NULL) == 0 && len == 32;
}

static void print_stats(void)
{
    const struct uv_discovery_stats *s = &P.d.stats;
    printf("stats rounds=%llu sent=%llu send_errors=%llu received=%llu accepted=%llu own=%llu "
           "other_network=%llu other_version=%llu stale=%llu undecodable=%llu "
           "join_errors=%llu scans=%llu ifaces4=%u ifaces6=%u last_send_err=%s "
           "last_stale_skew_min=%d\n",
           (unsigned long long)s->rounds, (unsigned long long)s->sent,
           (unsigned long long)s->send_errors, (unsigned long long)s->received,
           (unsigned long long)s->accepted, (unsigned long long)s->own,
           (unsigned long long)s->other_network, (unsigned long long)s->other_version,
           (unsigned long long)s->stale, (unsigned long long)s->undecodable,
           (unsigned long long)s->join_errors, (unsigned long long)s->scans, s->ifaces4, s->ifaces6,
           s->last_send_err != 0 ? uv_err_name(s->last_send_err) : "none",
           (int)s->last_stale_skew_min);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void finish(const char *why, int code)
{
    if (P.done)
        return;
    P.done = 1;
    P.exit_code = code;
    print_stats();
    printf("result %s\n", why);
    uv_discovery_stop(&P.d, NULL);
    uv_close((uv_handle_t *)&P.deadline, on_closed);
    uv_close((uv_handle_t *)&P.poll, on_closed);
    uv_close((uv_handle_t *)&P.sigterm, on_closed);
    uv_close((uv_handle_t *)&P.sigint, on_closed);
}

static unsigned long count_done(void)
{
    DIR *dir = opendir(P.barrier);
    struct dirent *e;
    unsigned long n = 0;

    if (dir == NULL)
        return 0;
    while ((e = readdir(dir)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".done") == 0)
            n++;
    }
    closedir(dir);
    return n;
}

static void check_goal(void)
{
    const struct uv_discovery_stats *s = &P.d.stats;
    char path[4096];
    FILE *f;

    if (P.done)
        return;
    if (!P.goal_met) {
        if (P.n_peers < P.want_peers || s->other_network < P.want_others ||
            s->stale < P.want_stale || s->own < P.want_own)
            return;
        P.goal_met = 1;
        if (P.barrier != NULL) {
            snprintf(path, sizeof path, "%s/%s.done", P.barrier, P.self_hex);
            f = fopen(path, "w");
            if (f == NULL || fclose(f) != 0) {
                fprintf(stderr, "aidmesh-discovery-probe: cannot create %s\n", path);
                finish("error", 1);
                return;
            }
        }
    }
    if (P.barrier == NULL || count_done() >= P.group)
        finish("goal", 0);
}

static void on_peer(void *ctx, const uint8_t author[AM_PK_LEN], const struct sockaddr *addr,
                    uint16_t proto_version)
{
    char hex[2 * AM_PK_LEN + 1], ip[64], ifname[IF_NAMESIZE], line[sizeof P.seen[0]];
    unsigned port;
    size_t i;

    (void)ctx;
    (void)proto_version;
    sodium_bin2hex(hex, sizeof hex, author, AM_PK_LEN);
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)addr;
        uv_ip6_name(a6, ip, sizeof ip);
        if (a6->sin6_scope_id != 0 && if_indextoname(a6->sin6_scope_id, ifname) != NULL) {
            size_t l = strlen(ip);
            snprintf(ip + l, sizeof ip - l, "%%%s", ifname);
        }
        port = ntohs(a6->sin6_port);
    } else {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)addr;
        uv_ip4_name(a4, ip, sizeof ip);
        port = ntohs(a4->sin_port);
    }
    snprintf(line, sizeof line, "peer %s %s %u", hex, ip, port);
    for (i = 0; i < P.n_seen; i++)
        if (strcmp(P.seen[i], line) == 0)
            break;
    if (i == P.n_seen && P.n_seen < MAX_SEEN) {
        memcpy(P.seen[P.n_seen++], line, sizeof line);
        printf("%s\n", line);
    }
    for (i = 0; i < P.n_peers; i++)
        if (memcmp(P.peers[i], author, AM_PK_LEN) == 0)
            break;
    if (i == P.n_peers && P.n_peers < MAX_PEERS)
        memcpy(P.peers[P.n_peers++], author, AM_PK_LEN);
    check_goal();
}

static void on_poll(uv_timer_t *t)
{
    (void)t;
    check_goal(); /* counters that are not peers, and the barrier */
}

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    finish("deadline", 2);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    finish("signal", 3);
}

int main(int argc, char **argv)
{
    uint8_t netkey[AM_NETKEY_LEN], instance[BEACON_INSTANCE_LEN];
    struct uv_discovery_cfg cfg;
    unsigned long port = num(argc, argv, "--port", BEACON_TCP_PORT);
    const char *a;
    int rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (sodium_init() < 0)
        return usage("sodium_init failed");
    if (!hex32(arg(argc, argv, "--netkey"), netkey))
        return usage("--netkey wants 64 hex digits");
    a = arg(argc, argv, "--author");
    if (a != NULL) {
        if (!hex32(a, P.author))
            return usage("--author wants 64 hex digits");
    } else {
        randombytes_buf(P.author, sizeof P.author);
    }
    if (port == 0 || port > 65535)
        return usage("--port wants 1..65535");
    randombytes_buf(instance, sizeof instance);
    sodium_bin2hex(P.self_hex, sizeof P.self_hex, P.author, AM_PK_LEN);
    P.want_peers = num(argc, argv, "--peers", 1);
    P.want_others = num(argc, argv, "--others", 0);
    P.want_stale = num(argc, argv, "--stale", 0);
    P.want_own = num(argc, argv, "--own", 0);
    P.barrier = arg(argc, argv, "--barrier");
    P.group = num(argc, argv, "--group", 1);

    memset(&cfg, 0, sizeof cfg);
    cfg.udp_port = (uint16_t)num(argc, argv, "--udp-port", 0);
    cfg.interval_ms = (uint32_t)num(argc, argv, "--interval", 0);
    cfg.rescan_ms = (uint32_t)num(argc, argv, "--rescan", 0);
    cfg.clock_offset_min = (int32_t)strtol(
        arg(argc, argv, "--clock-offset") ? arg(argc, argv, "--clock-offset") : "0", NULL, 10);
    if (flag(argc, argv, "--loopback"))
        cfg.flags |= UV_DISCOVERY_LOOPBACK;
    if (flag(argc, argv, "--no-ipv4"))
        cfg.flags |= UV_DISCOVERY_NO_IPV4;
    if (flag(argc, argv, "--no-ipv6"))
        cfg.flags |= UV_DISCOVERY_NO_IPV6;

    P.loop = uv_default_loop();
    rc = uv_discovery_start(&P.d, P.loop, netkey, P.author, instance, (uint16_t)port, on_peer, NULL,
                            &cfg);
    sodium_memzero(netkey, sizeof netkey);
    if (rc != AM_OK) {
        fprintf(stderr, "aidmesh-discovery-probe: start: %s\n", am_strerror(rc));
        return 1;
    }
    printf("self %s %lu ifaces4=%u ifaces6=%u sock4=%s sock6=%s\n", P.self_hex, port,
           P.d.stats.ifaces4, P.d.stats.ifaces6,
           P.d.stats.sock4_err != 0 ? uv_err_name(P.d.stats.sock4_err) : "ok",
           P.d.stats.sock6_err != 0 ? uv_err_name(P.d.stats.sock6_err) : "ok");

    uv_timer_init(P.loop, &P.deadline);
    uv_timer_start(&P.deadline, on_deadline, 1000 * num(argc, argv, "--deadline", 20), 0);
    uv_timer_init(P.loop, &P.poll);
    uv_timer_start(&P.poll, on_poll, 100, 100);
    uv_signal_init(P.loop, &P.sigterm);
    uv_signal_start(&P.sigterm, on_signal, SIGTERM);
    uv_signal_init(P.loop, &P.sigint);
    uv_signal_start(&P.sigint, on_signal, SIGINT);

    uv_run(P.loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(P.loop);
    if (rc != 0) {
        fprintf(stderr, "aidmesh-discovery-probe: loop not empty at exit: %s\n", uv_strerror(rc));
        return 1;
    }
    return P.exit_code;
}
