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
 * Two attacker modes (discovery_replay_netns.sh), IPv4 only, on the interface whose
 * address is --iface ADDR:
 *
 *   aidmesh-discovery-probe --replay --iface ADDR [--tcp-port N] [--deadline SEC]
 *       a keyless outsider: records the aidmesh beacons it hears (by their clear header
 *       only; it cannot read them) and sends them again from its own address, each one at
 *       once and the last REPLAY_KEEP every --interval MS (default 50), so that a member
 *       hears most of its peers' beacons last from here. With --tcp-port it also accepts
 *       TCP connections on that port and closes each at once (the handshakes of members
 *       that dial it fail). Prints "replay <addr>" at start and "replayed <n> heard <n>
 *       accepted <n>" at the end; exit 0 at the deadline or on SIGTERM.
 *   aidmesh-discovery-probe --forge N (--netkey HEX64 | --home DIR) --iface ADDR
 *                           [--port P] [--rate R] [--rounds K]
 *       a key holder: sends K rounds of N authentic beacons, each for a different random
 *       author id (the same N in every round), announcing TCP port P (default 47470), at
 *       R beacons a second (default 2000). Prints "forged <n> sent <n> errors <n>"; exit 0.
 *
 * Output, one line each, flushed at once:
 *   self <author hex> <port> ifaces4=<n> ifaces6=<n> sock4=<err> sock6=<err>   at start
 *   peer <author hex> <addr> <port>     each new (author, address); IPv6 link-local
 *                                        addresses as fe80::...%ifname
 *   stats rounds=... sent=... ...        at the end
 *   result goal|deadline|signal
 * Exit: 0 goal met (and barrier passed), 2 deadline, 3 SIGTERM/SIGINT, 1 usage or setup.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "am_err.h"
#include "beacon.h"
#include "home.h"
#include "invite.h"
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

/* ---- --replay: a keyless outsider ---------------------------------------------------------- */

#define REPLAY_KEEP 8 /* the last distinct beacons heard, replayed again and again */

static struct {
    uv_udp_t udp;
    uv_tcp_t tcp;
    int tcp_on;
    uv_timer_t tick, deadline;
    uv_signal_t sigterm, sigint;
    struct sockaddr_in group;
    uint8_t rec[REPLAY_KEEP][BEACON_LEN];
    size_t n_rec, next_rec;
    uint8_t rbuf[UV_DISCOVERY_RBUF];
    unsigned long long heard, replayed, accepted;
    int done;
} R;

static void replay_one(const uint8_t *b)
{
    uv_buf_t buf = uv_buf_init((char *)b, BEACON_LEN);
    if (uv_udp_try_send(&R.udp, &buf, 1, (const struct sockaddr *)&R.group) == BEACON_LEN)
        R.replayed++;
}

static void replay_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init((char *)R.rbuf, sizeof R.rbuf);
}

static void replay_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags)
{
    (void)h;
    if (nread <= 0 || addr == NULL || (flags & UV_UDP_PARTIAL) != 0 ||
        beacon_sniff((const uint8_t *)buf->base, (size_t)nread) != AM_OK)
        return; /* the header says "an aidmesh beacon of some network": all it can read */
    R.heard++;
    for (size_t i = 0; i < R.n_rec; i++)
        if (memcmp(R.rec[i], buf->base, BEACON_LEN) == 0)
            return;
    memcpy(R.rec[R.next_rec], buf->base, BEACON_LEN);
    R.next_rec = (R.next_rec + 1) % REPLAY_KEEP;
    if (R.n_rec < REPLAY_KEEP)
        R.n_rec++;
    replay_one((const uint8_t *)buf->base); /* at once: it arrives right after the original */
}

static void replay_tick(uv_timer_t *t)
{
    (void)t;
    for (size_t i = 0; i < R.n_rec; i++)
        replay_one(R.rec[i]);
}

static void replay_closed(uv_handle_t *h)
{
    if (h != (uv_handle_t *)&R.udp && h != (uv_handle_t *)&R.tcp && h != (uv_handle_t *)&R.tick &&
        h != (uv_handle_t *)&R.deadline && h != (uv_handle_t *)&R.sigterm &&
        h != (uv_handle_t *)&R.sigint)
        free(h);
}

static void replay_accept(uv_stream_t *srv, int status)
{
    uv_tcp_t *c;
    if (status < 0 || (c = malloc(sizeof *c)) == NULL)
        return;
    uv_tcp_init(srv->loop, c);
    if (uv_accept(srv, (uv_stream_t *)c) == 0)
        R.accepted++;
    uv_close((uv_handle_t *)c, replay_closed); /* it cannot answer the handshake: hang up */
}

static void replay_finish(void)
{
    if (R.done)
        return;
    R.done = 1;
    printf("replayed %llu heard %llu accepted %llu\n", R.replayed, R.heard, R.accepted);
    uv_close((uv_handle_t *)&R.udp, replay_closed);
    if (R.tcp_on)
        uv_close((uv_handle_t *)&R.tcp, replay_closed);
    uv_close((uv_handle_t *)&R.tick, replay_closed);
    uv_close((uv_handle_t *)&R.deadline, replay_closed);
    uv_close((uv_handle_t *)&R.sigterm, replay_closed);
    uv_close((uv_handle_t *)&R.sigint, replay_closed);
}

static void replay_deadline(uv_timer_t *t)
{
    (void)t;
    replay_finish();
}

static void replay_signal(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    replay_finish();
}

static int run_replay(int argc, char **argv)
{
    const char *iface = arg(argc, argv, "--iface");
    unsigned long udp_port = num(argc, argv, "--udp-port", BEACON_UDP_PORT);
    unsigned long tcp_port = num(argc, argv, "--tcp-port", 0);
    struct sockaddr_in any;
    uv_loop_t *loop = uv_default_loop();
    int rc;

    if (iface == NULL)
        return usage("--replay wants --iface ADDR (the IPv4 address of the interface)");
    uv_ip4_addr(BEACON_GROUP4, (int)udp_port, &R.group);
    uv_ip4_addr("0.0.0.0", (int)udp_port, &any);
    uv_udp_init(loop, &R.udp);
    if ((rc = uv_udp_bind(&R.udp, (const struct sockaddr *)&any, UV_UDP_REUSEADDR)) != 0 ||
        (rc = uv_udp_set_membership(&R.udp, BEACON_GROUP4, iface, UV_JOIN_GROUP)) != 0 ||
        (rc = uv_udp_set_multicast_interface(&R.udp, iface)) != 0 ||
        (rc = uv_udp_set_multicast_loop(&R.udp, 0)) != 0 ||
        (rc = uv_udp_set_multicast_ttl(&R.udp, 1)) != 0 ||
        (rc = uv_udp_recv_start(&R.udp, replay_alloc, replay_recv)) != 0) {
        fprintf(stderr, "aidmesh-discovery-probe: replay socket on %s: %s\n", iface,
                uv_strerror(rc));
        return 1;
    }
    if (tcp_port != 0) {
        struct sockaddr_in ta;
        uv_ip4_addr("0.0.0.0", (int)tcp_port, &ta);
        uv_tcp_init(loop, &R.tcp);
        R.tcp_on = 1;
        if ((rc = uv_tcp_bind(&R.tcp, (const struct sockaddr *)&ta, 0)) != 0 ||
            (rc = uv_listen((uv_stream_t *)&R.tcp, 64, replay_accept)) != 0) {
            fprintf(stderr, "aidmesh-discovery-probe: listen on TCP %lu: %s\n", tcp_port,
                    uv_strerror(rc));
            return 1;
        }
    }
    uv_timer_init(loop, &R.tick);
    uv_timer_start(&R.tick, replay_tick, 0, num(argc, argv, "--interval", 50));
    uv_timer_init(loop, &R.deadline);
    uv_timer_start(&R.deadline, replay_deadline, 1000 * num(argc, argv, "--deadline", 20), 0);
    uv_signal_init(loop, &R.sigterm);
    uv_signal_start(&R.sigterm, replay_signal, SIGTERM);
    uv_signal_init(loop, &R.sigint);
    uv_signal_start(&R.sigint, replay_signal, SIGINT);
    printf("replay %s\n", iface);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 1;
}

/* ---- --forge: a key holder's flood of beacons for random author ids ------------------------ */

static int run_forge(int argc, char **argv)
{
    uint8_t netkey[AM_NETKEY_LEN], key[BEACON_KEY_LEN], (*authors)[AM_PK_LEN];
    unsigned long n = num(argc, argv, "--forge", 0), rounds = num(argc, argv, "--rounds", 1);
    unsigned long rate = num(argc, argv, "--rate", 2000);
    unsigned long port = num(argc, argv, "--port", BEACON_TCP_PORT);
    unsigned long udp_port = num(argc, argv, "--udp-port", BEACON_UDP_PORT);
    const char *iface = arg(argc, argv, "--iface");
    unsigned long long sent = 0, errors = 0;
    struct sockaddr_in group;
    struct in_addr ifa;
    unsigned char ttl = 1;
    int fd;

    if (arg(argc, argv, "--home") != NULL) { /* the network key of a member's home */
        uint8_t secret[AM_NETSECRET_LEN];
        if (home_load_network(arg(argc, argv, "--home"), secret) != AM_OK)
            return usage("--home: cannot read the network key of that home");
        invite_network_key(secret, netkey);
        sodium_memzero(secret, sizeof secret);
    } else if (!hex32(arg(argc, argv, "--netkey"), netkey)) {
        return usage("--forge wants --netkey HEX64 or --home DIR");
    }
    if (iface == NULL || inet_pton(AF_INET, iface, &ifa) != 1)
        return usage("--forge wants --iface ADDR (the IPv4 address of the interface)");
    if (n == 0 || n > 1000000 || rate == 0 || port == 0 || port > 65535)
        return usage("--forge wants 1..1000000 beacons, --rate over 0, --port 1..65535");
    authors = malloc(n * sizeof *authors);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (authors == NULL || fd < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof ifa) != 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) {
        perror("aidmesh-discovery-probe: forge socket");
        free(authors);
        return 1;
    }
    beacon_key(netkey, key);
    sodium_memzero(netkey, sizeof netkey);
    randombytes_buf(authors, n * sizeof *authors);
    memset(&group, 0, sizeof group);
    group.sin_family = AF_INET;
    group.sin_port = htons((uint16_t)udp_port);
    inet_pton(AF_INET, BEACON_GROUP4, &group.sin_addr);
    for (unsigned long r = 0; r < rounds; r++)
        for (unsigned long i = 0; i < n; i++) {
            struct beacon b;
            uint8_t nonce[BEACON_NONCE_LEN], out[BEACON_LEN];
            size_t len;
            memcpy(b.author, authors[i], AM_PK_LEN);
            randombytes_buf(b.instance, sizeof b.instance);
            b.tcp_port = (uint16_t)port;
            b.proto_version = 0x0200;
            b.minutes = (uint32_t)(time(NULL) / 60);
            randombytes_buf(nonce, sizeof nonce);
            if (beacon_encode(key, &b, nonce, out, sizeof out, &len) != AM_OK ||
                sendto(fd, out, len, 0, (const struct sockaddr *)&group, sizeof group) !=
                    (ssize_t)len)
                errors++;
            else
                sent++;
            if ((r * n + i + 1) % 50 == 0) { /* paced: 50 at a time */
                struct timespec ts = {0, (long)(50 * 1000000000ull / rate)};
                nanosleep(&ts, NULL);
            }
        }
    sodium_memzero(key, sizeof key);
    close(fd);
    free(authors);
    printf("forged %lu sent %llu errors %llu\n", n, sent, errors);
    return 0;
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
    if (flag(argc, argv, "--replay"))
        return run_replay(argc, argv);
    if (arg(argc, argv, "--forge") != NULL)
        return run_forge(argc, argv);
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
