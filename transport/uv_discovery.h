/*
 * uv_discovery.h: finding the other nodes of one aidmesh network on every local network
 * this machine is on, with nobody typing an address (PROTOCOL.md §9.4).
 *
 * What it does: on a libuv loop, it keeps one IPv4 and one IPv6 UDP socket on the
 * discovery port (shared with other processes of the host: SO_REUSEADDR), joined to the
 * IPv4 group on every multicast-capable interface that has an IPv4 address and to the
 * IPv6 link-local group on every interface that has an IPv6 link-local address. Every
 * rescan interval it lists the interfaces again, joins the new ones (a Wi-Fi Direct group
 * that just formed, a USB tether, a cable plugged in) and forgets the vanished ones. About
 * every interval (with random jitter) it sends one fresh beacon (beacon.h) on every joined
 * interface, and one at once on an interface it just joined. Every beacon of the same
 * network received from another process is handed to the caller with the sender's
 * address and the TCP port it announced; its own beacons (recognised by the per-process
 * instance id, on whatever interface they come back) never are.
 *
 * What it must never do: print (it counts into d->stats and reports by callback); dial
 * anyone (the caller decides, and dedupes: on_peer is called for every beacon, about once
 * per interval per peer per shared network); trust a beacon's author id (any member of
 * the network can claim any author id: the handshake proves it); send anything but
 * beacons; keep the network key (it keeps only the beacon key, in sodium_malloc memory,
 * wiped when closed).
 *
 * A socket or an interface that fails does not stop the rest: the error is kept in
 * d->stats, and sockets that could not be opened are tried again at every rescan.
 * The caller has called sodium_init(). Single-threaded: every call from the loop's thread.
 */
#ifndef AM_UV_DISCOVERY_H
#define AM_UV_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "am_limits.h"
#include "beacon.h"

#define UV_DISCOVERY_RESCAN_MS  3000 /* default: list the interfaces this often */
#define UV_DISCOVERY_MAX_IFACES 64   /* interfaces joined at once, both families together */
#define UV_DISCOVERY_IFNAME_MAX 16   /* IFNAMSIZ on Linux, NUL included */
#define UV_DISCOVERY_ADDR_MAX   46   /* INET6_ADDRSTRLEN */
#define UV_DISCOVERY_RBUF                                                                          \
    512 /* receive buffer: over BEACON_MAX, so longer datagrams                                    \
           are seen whole and counted, not truncated */

/* cfg.flags */
enum {
    UV_DISCOVERY_LOOPBACK = 1 << 0, /* also join and beacon on IPv4 loopback (tests on one
                                       host; loopback has no IPv6 link-local address) */
    UV_DISCOVERY_NO_IPV4 = 1 << 1,  /* no IPv4 socket */
    UV_DISCOVERY_NO_IPV6 = 1 << 2,  /* no IPv6 socket */
};

/* Settings; every zero field means its default, so a zeroed struct (or a NULL cfg) gives
 * the production values. Copied by uv_discovery_start(): strings are read then only. */
struct uv_discovery_cfg {
    uint16_t udp_port;        /* BEACON_UDP_PORT */
    const char *group4;       /* BEACON_GROUP4: an IPv4 multicast address */
    const char *group6;       /* BEACON_GROUP6: an IPv6 multicast address */
    uint32_t interval_ms;     /* BEACON_INTERVAL_MS between beacon rounds (on average) */
    uint32_t jitter_ms;       /* interval_ms / 4: each round is interval_ms +- this,
                                 uniformly; at most interval_ms / 2 */
    uint32_t rescan_ms;       /* UV_DISCOVERY_RESCAN_MS */
    uint32_t window_min;      /* BEACON_WINDOW_MIN; UINT32_MAX accepts any clock */
    int32_t clock_offset_min; /* 0: added to the wall clock for beacons sent and checked
                                 (tests: a node whose clock is wrong) */
    uint16_t proto_version;   /* 0: the sync protocol version this build speaks
                                 (SYNC_VERSION_MAJOR << 8 | SYNC_VERSION_MINOR) */
    unsigned flags;           /* UV_DISCOVERY_* */
};

/* Counters for diagnosis ("why do I see nobody?"). Read them at any time; they only
 * grow, except the *_err, ifaces* and last_* fields, which tell the present. Error codes
 * are libuv's (negative; uv_strerror() names them); 0 means none. */
struct uv_discovery_stats {
    uint64_t rounds;             /* beacon rounds */
    uint64_t sent;               /* beacons sent (one per joined interface per round) */
    uint64_t send_errors;        /* beacons that could not be sent (last: last_send_err) */
    uint64_t received;           /* datagrams received on the discovery port */
    uint64_t accepted;           /* beacons of our network from other processes: on_peer */
    uint64_t own;                /* our own beacons coming back: ignored */
    uint64_t other_network;      /* aidmesh beacons that do not authenticate under our key:
                                    a node of another aidmesh network is near */
    uint64_t other_version;      /* aidmesh beacons of another beacon format version */
    uint64_t stale;              /* authentic beacons whose clock is outside the window */
    uint64_t undecodable;        /* other datagrams: not a beacon, bad length, too long */
    uint64_t recv_errors;        /* receive errors (last: last_recv_err) */
    uint64_t join_errors;        /* failed group joins (last: last_join_err) */
    uint64_t scans;              /* interface listings */
    int32_t last_stale_skew_min; /* the last stale beacon's clock minus ours, in minutes */
    int last_send_err, last_recv_err, last_join_err, last_scan_err;
    int sock4_err, sock6_err;  /* why that socket is not open now; 0 when it is (or when
                                  the family is disabled) */
    unsigned ifaces4, ifaces6; /* interfaces joined now */
};

/*
 * Called for every authentic beacon of our network from another process. author: the
 * 32-byte author id it claims (not proven: the handshake proves it); addr: the sender's
 * address (struct sockaddr_in, or sockaddr_in6 whose sin6_scope_id names the interface it
 * arrived on for a link-local address) with the port set to the TCP port the beacon
 * announced, ready for uv_tcp_connect(); proto_version: the sync protocol version it
 * speaks (major << 8 | minor). Both pointers live until the callback returns. The
 * callback may call uv_discovery_stop().
 */
typedef void (*uv_discovery_peer_cb)(void *ctx, const uint8_t author[AM_PK_LEN],
                                     const struct sockaddr *addr, uint16_t proto_version);

struct uv_discovery;
/* Called once, from the loop, when every handle of d is closed: d may be freed then. */
typedef void (*uv_discovery_closed_cb)(struct uv_discovery *d);

/* One joined interface (private). */
struct uv_discovery_iface {
    char name[UV_DISCOVERY_IFNAME_MAX];
    char addr[UV_DISCOVERY_ADDR_MAX]; /* the address it was joined by (IPv6: by index) */
    unsigned ifindex;
    uint8_t v6;
    uint8_t seen;  /* still there at this scan */
    uint8_t fresh; /* joined at this scan: beacon at once */
};

/* Caller-allocated (about 7 KB); set up by uv_discovery_start(). Treat every field but
 * stats as private. */
struct uv_discovery {
    struct uv_discovery_stats stats; /* read-only for the caller */

    uv_loop_t *loop;
    uv_udp_t udp4, udp6;
    uv_timer_t beacon_timer, scan_timer;
    uint8_t *key; /* beacon key, sodium_malloc'd */
    uint8_t author[AM_PK_LEN];
    uint8_t instance[BEACON_INSTANCE_LEN];
    uint16_t tcp_port;
    struct uv_discovery_cfg cfg; /* defaults filled in; group pointers cleared */
    char group4[46], group6[46];
    struct sockaddr_in group4_sa;
    struct sockaddr_in6 group6_sa;
    uv_discovery_peer_cb on_peer;
    void *ctx;
    uv_discovery_closed_cb on_closed;
    int state;            /* idle, running, stopping */
    uint8_t sock4, sock6; /* closed, open, closing */
    unsigned pending;     /* uv_close() calls whose callback has not run yet */
    struct uv_discovery_iface ifaces[UV_DISCOVERY_MAX_IFACES];
    size_t n_ifaces;
    uint8_t rbuf[UV_DISCOVERY_RBUF];
};

/*
 * Starts discovery on `loop`: opens the sockets, joins every interface there is now,
 * sends a first beacon on each, and arms the timers. d is overwritten without being read.
 * netkey: the network key (read here only: the beacon key is derived and kept, not it).
 * author: our author id; instance_id: 16 random bytes made once per process (a node
 * recognises its own beacons by it); tcp_port: the port our TCP listener is on (never 0);
 * on_peer/ctx: see uv_discovery_peer_cb; cfg: NULL or settings (copied).
 * Every pointer but d, loop and ctx is read during the call only; d must stay allocated
 * and unmoved until the on_closed callback of uv_discovery_stop().
 * Returns AM_OK, with discovery running even if a socket could not be opened (see
 * d->stats.sock4_err, sock6_err: it is tried again at every rescan);
 * AM_EINVAL: a NULL argument, tcp_port 0, a group that is not a multicast address of its
 *   family, both families disabled, or jitter_ms over interval_ms / 2;
 * AM_ENOMEM: no memory for the key.
 * On error nothing was started and nothing needs stopping.
 */
int uv_discovery_start(struct uv_discovery *d, uv_loop_t *loop,
                       const uint8_t netkey[static AM_NETKEY_LEN],
                       const uint8_t author[static AM_PK_LEN],
                       const uint8_t instance_id[static BEACON_INSTANCE_LEN], uint16_t tcp_port,
                       uv_discovery_peer_cb on_peer, void *ctx, const struct uv_discovery_cfg *cfg);

/* Lists the interfaces now instead of at the next rescan (e.g. after the caller learnt
 * that a link came up). Returns AM_OK, or AM_ESTATE if d is not running. */
int uv_discovery_rescan(struct uv_discovery *d);

/*
 * Stops: no beacon is sent and on_peer is not called any more from this call on; every
 * handle is closed, and on_closed(d) (may be NULL) runs from the loop once they all are,
 * with the key wiped and freed. Returns AM_OK, or AM_ESTATE if d is not running (then
 * on_closed is not called).
 */
int uv_discovery_stop(struct uv_discovery *d, uv_discovery_closed_cb on_closed);

#endif
