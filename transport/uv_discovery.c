/*
 * uv_discovery.c: multicast beacons on every interface, on libuv (PROTOCOL.md
 * §9.4; the beacon itself is beacon.c).
 *
 * What it must never do: print, dial, block the loop, keep the network key, or let one
 * failing interface or socket stop the others. Every datagram received is checked by
 * beacon_decode() (length first) before anything of it is used.
 *
 * Sockets: one per family, bound to the wildcard address on the discovery port with
 * SO_REUSEADDR (several nodes of one host share it; each joins the groups itself and
 * sees every beacon), multicast loop on (two nodes on one host see each other; a node
 * sees its own beacons and drops them by instance id), hop limit 1. A socket that cannot
 * be opened is tried again at every rescan; its interfaces are forgotten while it is shut.
 *
 * Interfaces: from uv_interface_addresses() (up and running ones), keyed by interface
 * index, so an interface deleted and made again between two scans (a new index) is joined
 * again. IPv4: the first address of each multicast-capable interface, loopback only with
 * UV_DISCOVERY_LOOPBACK; membership and sending interface are named by that address
 * (libuv). IPv6: interfaces with a link-local address; membership and sending interface
 * are named by index with setsockopt() (see membership()), and the destination carries
 * the index as its scope. Sends use uv_udp_try_send(), never a queue, so the sending
 * interface set just before a send is the one it leaves by; a beacon that cannot go at
 * once is counted and dropped (another follows in a second or two).
 */
#include "uv_discovery.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include <sodium.h>

#include "am_err.h"
#include "sync.h"

enum { ST_IDLE = 0, ST_RUNNING, ST_STOPPING };
enum { SOCK_CLOSED = 0, SOCK_OPEN, SOCK_CLOSING };

#define DEFAULT_PROTO_VERSION ((SYNC_VERSION_MAJOR << 8) | SYNC_VERSION_MINOR)

/* Our wall clock in minutes since 1970, with the configured offset, clamped to 32 bits. */
static uint64_t now_min(const struct uv_discovery *d)
{
    int64_t m = (int64_t)time(NULL) / 60 + d->cfg.clock_offset_min;
    if (m < 0)
        return 0;
    if (m > (int64_t)UINT32_MAX)
        return UINT32_MAX;
    return (uint64_t)m;
}

static uv_udp_t *sock_of(struct uv_discovery *d, int v6)
{
    return v6 ? &d->udp6 : &d->udp4;
}

static uint8_t *sock_state(struct uv_discovery *d, int v6)
{
    return v6 ? &d->sock6 : &d->sock4;
}

static void finish_if_closed(struct uv_discovery *d)
{
    uv_discovery_closed_cb cb;

    if (d->state != ST_STOPPING || d->pending != 0)
        return;
    sodium_free(d->key); /* wipes it */
    d->key = NULL;
    d->state = ST_IDLE;
    cb = d->on_closed;
    d->on_closed = NULL;
    if (cb != NULL)
        cb(d); /* last: d may be freed inside */
}

static void on_handle_closed(uv_handle_t *h)
{
    struct uv_discovery *d = h->data;

    d->pending--;
    if (h == (uv_handle_t *)&d->udp4)
        d->sock4 = SOCK_CLOSED;
    else if (h == (uv_handle_t *)&d->udp6)
        d->sock6 = SOCK_CLOSED;
    finish_if_closed(d);
}

static void close_handle(struct uv_discovery *d, uv_handle_t *h)
{
    d->pending++;
    uv_close(h, on_handle_closed);
}

static void count_ifaces(struct uv_discovery *d)
{
    d->stats.ifaces4 = d->stats.ifaces6 = 0;
    for (size_t i = 0; i < d->n_ifaces; i++) {
        if (d->ifaces[i].v6)
            d->stats.ifaces6++;
        else
            d->stats.ifaces4++;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct uv_discovery *d = h->data;
    (void)suggested;
    /* One buffer for both sockets: libuv hands each datagram to on_recv before it asks
     * for the next buffer (no recvmmsg: UV_UDP_RECVMMSG is not set). */
    *buf = uv_buf_init((char *)d->rbuf, sizeof d->rbuf);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    struct uv_discovery *d = h->data;
    struct sockaddr_storage peer;
    struct beacon b;
    uint64_t now;
    int rc;

    if (d->state != ST_RUNNING)
        return;
    if (nread < 0) {
        d->stats.recv_errors++;
        d->stats.last_recv_err = (int)nread;
        return;
    }
    if (addr == NULL)
        return; /* nothing more to read now */
    d->stats.received++;
    if ((flags & UV_UDP_PARTIAL) != 0) {
        d->stats.undecodable++; /* longer than the buffer, so than BEACON_MAX */
        return;
    }
    now = now_min(d);
    rc = beacon_decode(d->key, (const uint8_t *)buf->base, (size_t)nread, now, d->cfg.window_min,
                       &b);
    if ((rc == AM_OK || rc == BEACON_ESTALE) && beacon_is_own(&b, d->instance)) {
        d->stats.own++;
        return;
    }
    switch (rc) {
    case AM_OK:
        break;
    case AM_EBADMAC:
        d->stats.other_network++;
        return;
    case AM_EVERSION:
        d->stats.other_version++;
        return;
    case BEACON_ESTALE:
        d->stats.stale++;
        d->stats.last_stale_skew_min = (int32_t)((int64_t)b.minutes - (int64_t)now);
        return;
    default:
        d->stats.undecodable++;
        return;
    }
    memset(&peer, 0, sizeof peer);
    if (addr->sa_family == AF_INET) {
        memcpy(&peer, addr, sizeof(struct sockaddr_in));
        ((struct sockaddr_in *)&peer)->sin_port = htons(b.tcp_port);
    } else if (addr->sa_family == AF_INET6) {
        memcpy(&peer, addr, sizeof(struct sockaddr_in6));
        ((struct sockaddr_in6 *)&peer)->sin6_port = htons(b.tcp_port);
    } else {
        d->stats.undecodable++;
        return;
    }
    d->stats.accepted++;
    d->on_peer(d->ctx, b.author, (const struct sockaddr *)&peer, b.proto_version);
}

/* Opens the socket of one family if it is shut; on failure records why and leaves it to
 * the next rescan. */
static void open_sock(struct uv_discovery *d, int v6)
{
    uv_udp_t *h = sock_of(d, v6);
    uint8_t *st = sock_state(d, v6);
    int *err = v6 ? &d->stats.sock6_err : &d->stats.sock4_err;
    struct sockaddr_storage any;
    int rc;

    if (*st != SOCK_CLOSED)
        return;
    memset(&any, 0, sizeof any);
    if (v6)
        rc = uv_ip6_addr("::", d->cfg.udp_port, (struct sockaddr_in6 *)&any);
    else
        rc = uv_ip4_addr("0.0.0.0", d->cfg.udp_port, (struct sockaddr_in *)&any);
    if (rc == 0)
        rc = uv_udp_init_ex(d->loop, h, v6 ? AF_INET6 : AF_INET);
    if (rc != 0) {
        *err = rc; /* the socket was not made: no handle to close */
        return;
    }
    h->data = d;
    *st = SOCK_OPEN;
    rc = uv_udp_bind(h, (const struct sockaddr *)&any,
                     UV_UDP_REUSEADDR | (v6 ? UV_UDP_IPV6ONLY : 0));
    if (rc == 0)
        rc = uv_udp_set_multicast_loop(h, 1);
    if (rc == 0)
        rc = uv_udp_set_multicast_ttl(h, 1);
    if (rc == 0)
        rc = uv_udp_recv_start(h, on_alloc, on_recv);
    if (rc != 0) {
        *err = rc;
        *st = SOCK_CLOSING;
        close_handle(d, (uv_handle_t *)h);
        return;
    }
    *err = 0;
}

/* 1 if the interface is up and multicast-capable (or loopback), asked on socket h. */
static int iface_multicast(uv_udp_t *h, const char *name)
{
    struct ifreq ifr;
    uv_os_fd_t fd;

    if (uv_fileno((const uv_handle_t *)h, &fd) != 0)
        return 0;
    memset(&ifr, 0, sizeof ifr);
    if (strlen(name) >= sizeof ifr.ifr_name)
        return 0;
    memcpy(ifr.ifr_name, name, strlen(name) + 1);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
        return 0;
    return (ifr.ifr_flags & IFF_UP) != 0 && (ifr.ifr_flags & (IFF_MULTICAST | IFF_LOOPBACK)) != 0;
}

static struct uv_discovery_iface *find_iface(struct uv_discovery *d, int v6, unsigned ifindex)
{
    for (size_t i = 0; i < d->n_ifaces; i++)
        if (d->ifaces[i].v6 == v6 && d->ifaces[i].ifindex == ifindex)
            return &d->ifaces[i];
    return NULL;
}

/* Joins or leaves the group on one interface. IPv4 names the interface by its address
 * (libuv). IPv6 names it by index, with setsockopt() itself: uv_udp_set_membership() takes
 * "%ifname", which resolves to index 0 ("any interface") once the interface is gone, and a
 * leave with index 0 drops the group's membership on whichever interface comes first. */
static int membership(struct uv_discovery *d, const struct uv_discovery_iface *f, int join)
{
    struct ipv6_mreq mr;
    uv_os_fd_t fd;

    if (!f->v6)
        return uv_udp_set_membership(&d->udp4, d->group4, f->addr,
                                     join ? UV_JOIN_GROUP : UV_LEAVE_GROUP);
    if (uv_fileno((const uv_handle_t *)&d->udp6, &fd) != 0)
        return UV_EBADF;
    memset(&mr, 0, sizeof mr);
    mr.ipv6mr_multiaddr = d->group6_sa.sin6_addr;
    mr.ipv6mr_interface = f->ifindex;
    if (setsockopt(fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &mr, sizeof mr) !=
        0)
        return uv_translate_sys_error(errno);
    return 0;
}

/* Looks at one interface address of the listing: joins its interface if it is new. */
static void consider(struct uv_discovery *d, const uv_interface_address_t *a)
{
    struct uv_discovery_iface nf, *f;
    int v6 = a->address.address4.sin_family == AF_INET6;
    char ip[46];
    int rc;

    if (a->address.address4.sin_family != AF_INET && !v6)
        return;
    if (*sock_state(d, v6) != SOCK_OPEN)
        return;
    if (a->is_internal && (v6 || (d->cfg.flags & UV_DISCOVERY_LOOPBACK) == 0))
        return;
    if (v6 && !IN6_IS_ADDR_LINKLOCAL(&a->address.address6.sin6_addr))
        return; /* the link-local address names the link; others add nothing */
    if (a->name == NULL || strlen(a->name) >= UV_DISCOVERY_IFNAME_MAX)
        return;

    memset(&nf, 0, sizeof nf);
    memcpy(nf.name, a->name, strlen(a->name) + 1);
    nf.v6 = (uint8_t)v6;
    /* IPv6: the scope of a link-local address is its interface's index. IPv4: by name (an
     * alias label "eth0:1" gives eth0's index). */
    nf.ifindex = v6 ? a->address.address6.sin6_scope_id : if_nametoindex(nf.name);
    if (nf.ifindex == 0)
        return; /* vanished since the listing */
    if (v6)
        rc = uv_ip6_name(&a->address.address6, ip, sizeof ip);
    else
        rc = uv_ip4_name(&a->address.address4, ip, sizeof ip);
    if (rc != 0)
        return;
    snprintf(nf.addr, sizeof nf.addr, "%s", ip);

    f = find_iface(d, v6, nf.ifindex);
    if (f != NULL) {
        if (f->seen)
            return; /* a second address of an interface already handled */
        if (v6 || strcmp(f->addr, nf.addr) == 0) {
            f->seen = 1; /* IPv6 membership is by index: an address change is nothing */
            return;
        }
        /* IPv4 address changed: leave by the old one, join by the new one */
        (void)membership(d, f, 0);
        *f = d->ifaces[--d->n_ifaces];
    }
    if (d->n_ifaces == UV_DISCOVERY_MAX_IFACES)
        return;
    if (!iface_multicast(sock_of(d, v6), nf.name))
        return;
    rc = membership(d, &nf, 1);
    if (rc != 0 && rc != UV_EADDRINUSE) { /* in use: still joined from before */
        d->stats.join_errors++;
        d->stats.last_join_err = rc;
        return;
    }
    nf.seen = 1;
    nf.fresh = 1;
    d->ifaces[d->n_ifaces++] = nf;
}

/* Chooses the interface the next multicast send on f's socket leaves by. */
static int set_send_iface(struct uv_discovery *d, const struct uv_discovery_iface *f)
{
    uv_os_fd_t fd;

    if (!f->v6)
        return uv_udp_set_multicast_interface(&d->udp4, f->addr);
    /* by index, as for membership; the destination's scope id says it too */
    if (uv_fileno((const uv_handle_t *)&d->udp6, &fd) != 0)
        return UV_EBADF;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &f->ifindex, sizeof f->ifindex) != 0)
        return uv_translate_sys_error(errno);
    return 0;
}

static void send_beacon(struct uv_discovery *d, const struct uv_discovery_iface *f)
{
    uint8_t nonce[BEACON_NONCE_LEN], dg[BEACON_LEN];
    struct beacon b;
    struct sockaddr_in6 dst6;
    const struct sockaddr *dst;
    size_t len = 0;
    uv_buf_t buf;
    int rc;

    memset(&b, 0, sizeof b);
    memcpy(b.author, d->author, AM_PK_LEN);
    memcpy(b.instance, d->instance, BEACON_INSTANCE_LEN);
    b.tcp_port = d->tcp_port;
    b.proto_version = d->cfg.proto_version;
    b.minutes = (uint32_t)now_min(d);
    randombytes_buf(nonce, sizeof nonce);
    rc = beacon_encode(d->key, &b, nonce, dg, sizeof dg, &len);
    if (rc == AM_OK)
        rc = set_send_iface(d, f);
    if (rc == 0) {
        if (f->v6) {
            dst6 = d->group6_sa;
            dst6.sin6_scope_id = f->ifindex;
            dst = (const struct sockaddr *)&dst6;
        } else {
            dst = (const struct sockaddr *)&d->group4_sa;
        }
        buf = uv_buf_init((char *)dg, (unsigned)len);
        rc = uv_udp_try_send(sock_of(d, f->v6), &buf, 1, dst);
    }
    if (rc >= 0) {
        d->stats.sent++;
    } else {
        d->stats.send_errors++;
        d->stats.last_send_err = rc;
    }
}

static void scan(struct uv_discovery *d)
{
    uv_interface_address_t *addrs = NULL;
    int n = 0, rc;
    size_t i;

    d->stats.scans++;
    if ((d->cfg.flags & UV_DISCOVERY_NO_IPV4) == 0)
        open_sock(d, 0);
    if ((d->cfg.flags & UV_DISCOVERY_NO_IPV6) == 0)
        open_sock(d, 1);
    rc = uv_interface_addresses(&addrs, &n);
    if (rc != 0) {
        d->stats.last_scan_err = rc;
        return; /* keep what we have; next scan */
    }
    d->stats.last_scan_err = 0;
    for (i = 0; i < d->n_ifaces; i++)
        d->ifaces[i].seen = 0;
    for (int k = 0; k < n; k++)
        consider(d, &addrs[k]);
    uv_free_interface_addresses(addrs, n);

    /* forget vanished interfaces (a deleted interface took its membership with it) */
    i = 0;
    while (i < d->n_ifaces) {
        if (d->ifaces[i].seen) {
            i++;
            continue;
        }
        (void)membership(d, &d->ifaces[i], 0);
        d->ifaces[i] = d->ifaces[--d->n_ifaces];
    }
    count_ifaces(d);
    for (i = 0; i < d->n_ifaces; i++) {
        if (d->ifaces[i].fresh) {
            d->ifaces[i].fresh = 0;
            send_beacon(d, &d->ifaces[i]);
        }
    }
}

static uint64_t next_round_ms(const struct uv_discovery *d)
{
    uint32_t j = d->cfg.jitter_ms;
    return (uint64_t)d->cfg.interval_ms - j + randombytes_uniform(2 * j + 1);
}

static void on_beacon_timer(uv_timer_t *t)
{
    struct uv_discovery *d = t->data;

    d->stats.rounds++;
    for (size_t i = 0; i < d->n_ifaces; i++)
        send_beacon(d, &d->ifaces[i]);
    uv_timer_start(&d->beacon_timer, on_beacon_timer, next_round_ms(d), 0);
}

static void on_scan_timer(uv_timer_t *t)
{
    scan(t->data);
}

int uv_discovery_start(struct uv_discovery *d, uv_loop_t *loop,
                       const uint8_t netkey[static AM_NETKEY_LEN],
                       const uint8_t author[static AM_PK_LEN],
                       const uint8_t instance_id[static BEACON_INSTANCE_LEN], uint16_t tcp_port,
                       uv_discovery_peer_cb on_peer, void *ctx, const struct uv_discovery_cfg *cfg)
{
    static const struct uv_discovery_cfg none;
    struct uv_discovery_cfg c = cfg != NULL ? *cfg : none;

    if (d == NULL || loop == NULL || netkey == NULL || author == NULL || instance_id == NULL ||
        on_peer == NULL || tcp_port == 0)
        return AM_EINVAL;
    memset(d, 0, sizeof *d);
    if (c.udp_port == 0)
        c.udp_port = BEACON_UDP_PORT;
    if (c.interval_ms == 0)
        c.interval_ms = BEACON_INTERVAL_MS;
    if (c.jitter_ms == 0)
        c.jitter_ms = c.interval_ms / 4;
    if (c.rescan_ms == 0)
        c.rescan_ms = UV_DISCOVERY_RESCAN_MS;
    if (c.window_min == 0)
        c.window_min = BEACON_WINDOW_MIN;
    if (c.proto_version == 0)
        c.proto_version = DEFAULT_PROTO_VERSION;
    if (c.jitter_ms > c.interval_ms / 2 ||
        (c.flags & (UV_DISCOVERY_NO_IPV4 | UV_DISCOVERY_NO_IPV6)) ==
            (UV_DISCOVERY_NO_IPV4 | UV_DISCOVERY_NO_IPV6))
        return AM_EINVAL;
    snprintf(d->group4, sizeof d->group4, "%s", c.group4 != NULL ? c.group4 : BEACON_GROUP4);
    snprintf(d->group6, sizeof d->group6, "%s", c.group6 != NULL ? c.group6 : BEACON_GROUP6);
    c.group4 = c.group6 = NULL;
    if (uv_ip4_addr(d->group4, c.udp_port, &d->group4_sa) != 0 ||
        !IN_MULTICAST(ntohl(d->group4_sa.sin_addr.s_addr)) ||
        uv_ip6_addr(d->group6, c.udp_port, &d->group6_sa) != 0 ||
        !IN6_IS_ADDR_MULTICAST(&d->group6_sa.sin6_addr))
        return AM_EINVAL;

    d->key = sodium_malloc(BEACON_KEY_LEN);
    if (d->key == NULL)
        return AM_ENOMEM;
    beacon_key(netkey, d->key);
    d->cfg = c;
    d->loop = loop;
    memcpy(d->author, author, AM_PK_LEN);
    memcpy(d->instance, instance_id, BEACON_INSTANCE_LEN);
    d->tcp_port = tcp_port;
    d->on_peer = on_peer;
    d->ctx = ctx;
    d->state = ST_RUNNING;

    uv_timer_init(loop, &d->beacon_timer);
    uv_timer_init(loop, &d->scan_timer);
    d->beacon_timer.data = d;
    d->scan_timer.data = d;
    scan(d); /* opens the sockets, joins, and sends a first beacon on each interface */
    uv_timer_start(&d->scan_timer, on_scan_timer, c.rescan_ms, c.rescan_ms);
    uv_timer_start(&d->beacon_timer, on_beacon_timer, next_round_ms(d), 0);
    return AM_OK;
}

int uv_discovery_rescan(struct uv_discovery *d)
{
    if (d == NULL || d->state != ST_RUNNING)
        return AM_ESTATE;
    scan(d);
    return AM_OK;
}

int uv_discovery_stop(struct uv_discovery *d, uv_discovery_closed_cb on_closed)
{
    if (d == NULL || d->state != ST_RUNNING)
        return AM_ESTATE;
    d->state = ST_STOPPING;
    d->on_closed = on_closed;
    /* closing a socket drops its memberships */
    d->n_ifaces = 0;
    count_ifaces(d);
    close_handle(d, (uv_handle_t *)&d->beacon_timer);
    close_handle(d, (uv_handle_t *)&d->scan_timer);
    for (int v6 = 0; v6 <= 1; v6++) {
        if (*sock_state(d, v6) == SOCK_OPEN) {
            *sock_state(d, v6) = SOCK_CLOSING;
            close_handle(d, (uv_handle_t *)sock_of(d, v6));
        }
    }
    return AM_OK;
}
