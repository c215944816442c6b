/*
 * doctor.h: the facts behind `aidmesh doctor`: key file modes, disk space, the network
 * interfaces, a bounded beacon probe on each of them (PROTOCOL.md §9), TCP reachability of
 * the listen port and of static peers, and the running daemon's status (asked over its
 * control socket, status.h).
 *
 * It gathers facts into caller-allocated structs; judging them and wording advice is
 * tools/cli_doctor.c's job. Never prints. Every wait is bounded by a deadline the caller
 * gives (poll() on CLOCK_MONOTONIC; no sleeps). Received datagrams are untrusted: each goes
 * through beacon_sniff()/beacon_decode() (length first) before anything of it is used.
 * The probe sends only beacons, to the discovery groups, with hop limit 1, and the TCP check
 * only opens and closes connections (it sends nothing). No libuv: plain POSIX sockets.
 */
#ifndef AM_DOCTOR_H
#define AM_DOCTOR_H

#include <stddef.h>
#include <stdint.h>

#include <net/if.h>
#include <netinet/in.h>

#include "am_limits.h"
#include "beacon.h"
#include "store.h"

#define DOCTOR_MAX_IFACES 32 /* interfaces listed and probed (more are counted, not probed) */
#define DOCTOR_MAX_ADDRS  4  /* addresses kept per interface and family */
#define DOCTOR_ADDR_MAX   80 /* "fe80::1234:5678:9abc:def0%p2p-wlan0-0" with room */
#define DOCTOR_MAX_SEEN   32 /* distinct senders remembered by the probe */
#define DOCTOR_MAX_TCP    64 /* TCP targets tried at once (DAEMON_MAX_PEERS static peers) */
#define DOCTOR_RESEND_MS  1000

/* ---- files and disk ------------------------------------------------------------------------ */

struct doctor_file {
    int exists;     /* lstat() found it */
    int regular;    /* a regular file (not a symlink, not a folder) */
    unsigned mode;  /* permission bits (07777) */
    int owned;      /* owned by the effective user */
    int stat_errno; /* errno of lstat() when it failed other than ENOENT, else 0 */
};

/* lstat()s path into *f. Never fails: what it could not learn is in *f. */
void doctor_file_stat(const char *path, struct doctor_file *f);

struct doctor_disk {
    uint64_t free_bytes; /* available to this user */
    uint64_t total_bytes;
    const char *risky_fs; /* static name of a file-system kind LMDB must not live on
                             ("FAT", "exFAT", "NFS", "SMB", "FUSE"), or NULL */
};

/* statvfs()/statfs() of the file system holding path. Returns AM_OK or AM_ESYS (errno). */
int doctor_disk(const char *path, struct doctor_disk *d);

/* ---- the daemon of this home --------------------------------------------------------------- */

/* An address whose beacons claimed a member's author id but where no dial completed a
 * handshake as that member (the daemon's "impostors" rows, PROTOCOL.md §9.5). */
struct doctor_impostor {
    char address[DOCTOR_ADDR_MAX];
    char author[65];        /* the author id claimed, hex */
    char reason[64];        /* why the last dial failed */
    uint64_t count;         /* failed dials */
    uint64_t last_fail_ms;  /* wall clock, ms since 1970 */
    uint64_t last_heard_ms; /* its last beacon, same clock */
    int verified_elsewhere; /* that member completed a handshake at another address */
};
#define DOCTOR_IMPOSTORS_MAX 16

struct doctor_daemon {
    int present;         /* the control socket run/control.sock exists */
    int alive;           /* a node answered on it (the fields below are its answer) */
    int hung;            /* a node took the connection but did not answer in time */
    long pid;            /* the node's process */
    uint16_t port;       /* the TCP port it listens on, 0 when unknown */
    uint64_t written_ms; /* when it made its answer (its own clock, ms since 1970) */
    unsigned connected;  /* peers it has connected */
    /* its first "impostors" rows (values cut to fit) */
    struct doctor_impostor impostors[DOCTOR_IMPOSTORS_MAX];
    size_t n_impostors;
};

/* Asks the node running for DIR over its control socket (status.h: status_ask, at most
 * STATUS_DEADLINE_MS). Never fails: what it could not learn is in *d (alive 0). */
void doctor_daemon_status(const char *home, struct doctor_daemon *d);

/* Static peers: the `peer = HOST:PORT` lines of DIR/config, in order, into out[i] (each
 * cap_each bytes). *bad counts lines that are not HOST:PORT. Returns how many were kept. */
size_t doctor_config_peers(const char *home, char (*out)[300], size_t max, unsigned *bad);

/* ---- store -------------------------------------------------------------------------------- */

struct doctor_heads {
    uint64_t heads, problems;
    char first[160];            /* the first problem in words, "" when none */
    struct store_damage damage; /* when AM_ECORRUPT is returned: how the file is damaged */
};

/* A bounded integrity check for stores too big for verify_store() in a doctor run: for every
 * author's head, the entry it names exists, decodes, hashes to the head's hash and carries a
 * valid signature. Runs under store_guarded(). Returns AM_OK (see h->problems) or the store
 * error that stopped it (AM_ECORRUPT: the file is damaged, see h->damage; after a fault the
 * store must be closed). */
int doctor_check_heads(struct store *s, struct doctor_heads *h);

/* ---- interfaces --------------------------------------------------------------------------- */

struct doctor_iface {
    char name[IF_NAMESIZE];
    unsigned ifindex;
    uint8_t up, running, multicast, loopback;
    struct in_addr a4[DOCTOR_MAX_ADDRS];
    uint8_t plen4[DOCTOR_MAX_ADDRS];
    unsigned n4;
    struct in6_addr a6[DOCTOR_MAX_ADDRS]; /* link-local first when there is one */
    uint8_t plen6[DOCTOR_MAX_ADDRS];
    unsigned n6;
    uint8_t has_ll6; /* a6[0] is an IPv6 link-local address */

    /* Set by doctor_probe_beacons(): per family (0: IPv4, 1: IPv6). */
    uint8_t probed[2]; /* beacons were tried on this interface and family */
    uint32_t sent[2];  /* beacons that left */
    int send_errno[2]; /* the last send or join error, 0 if none */
    uint32_t back[2];  /* our own doctor beacons that came back (multicast loop) */
    uint32_t heard;    /* datagrams from others that arrived on this interface */
};

/* Lists the interfaces (getifaddrs) into out[0..cap), in the order the system gives them.
 * *more counts interfaces beyond cap. Returns the number listed, or -1 (errno) when the
 * listing fails. */
int doctor_ifaces(struct doctor_iface *out, size_t cap, unsigned *more);

/* "10.0.0.5" / "fe80::1%eth0": text of an interface's address into out. */
void doctor_addr4_text(const struct in_addr *a, char out[static DOCTOR_ADDR_MAX]);
void doctor_addr6_text(const struct in6_addr *a, unsigned ifindex,
                       char out[static DOCTOR_ADDR_MAX]);

/* ---- beacon probe ------------------------------------------------------------------------- */

struct doctor_probe_cfg {
    const uint8_t *netkey;    /* AM_NETKEY_LEN: read during the call only */
    const uint8_t *author;    /* AM_PK_LEN: announced, and recognised as "this node" */
    uint16_t tcp_port;        /* announced in our beacons (never 0) */
    uint16_t udp_port;        /* 0: BEACON_UDP_PORT */
    uint32_t listen_ms;       /* how long to listen; the call returns after it */
    uint32_t resend_ms;       /* 0: DOCTOR_RESEND_MS between beacon rounds */
    int32_t clock_offset_min; /* added to our clock (tests) */
    int loopback;             /* also beacon on IPv4 loopback (tests on one host) */
    int no_ipv4, no_ipv6;
};

enum doctor_seen_kind {
    DOCTOR_SEEN_MEMBER = 1,    /* authentic: a node of our network */
    DOCTOR_SEEN_SELF,          /* authentic, our own author id, not this probe: the daemon
                                  of this home (or a copy of this identity) */
    DOCTOR_SEEN_OTHER_NETWORK, /* a version-1 beacon that does not authenticate */
    DOCTOR_SEEN_OTHER_VERSION  /* an aidmesh beacon of another format version */
};

struct doctor_seen {
    int kind;
    char addr[DOCTOR_ADDR_MAX]; /* the sender's address (link-local: with %ifname) */
    char ifname[IF_NAMESIZE];   /* the interface it arrived on, "" when unknown */
    int local;                  /* the sender's address is one of this machine's */
    uint8_t author[AM_PK_LEN];  /* authentic kinds only */
    uint16_t tcp_port, proto_version;
    int64_t skew_min;                      /* authentic kinds: its clock minus ours, minutes */
    uint8_t instance[BEACON_INSTANCE_LEN]; /* authentic kinds: the sending process's, last */
    uint32_t count;
};

struct doctor_probe {
    int sock_errno[2]; /* why the socket of that family could not be set up, 0 if it was */
    int sock_disabled[2];
    uint32_t received; /* datagrams on the discovery port */
    uint32_t undecodable;
    struct doctor_seen seen[DOCTOR_MAX_SEEN];
    size_t n_seen;
    uint32_t seen_dropped; /* senders beyond DOCTOR_MAX_SEEN */
};

/*
 * Opens one UDP socket per family on the discovery port (SO_REUSEADDR, shared with a
 * daemon of this host), joins the groups on every up, running, multicast-capable
 * interface of ifs[0..n) that has an IPv4 address / an IPv6 link-local address, sends a
 * fresh beacon (its own instance id per interface and family) on each one every resend_ms,
 * and listens for listen_ms: our beacons coming back mark ifs[i].back; every other
 * datagram is sorted into out->seen. Blocks for listen_ms (bounded by it), then closes
 * everything. Returns AM_OK (even when a family could not be used: see sock_errno),
 * AM_EINVAL (bad cfg).
 */
int doctor_probe_beacons(const struct doctor_probe_cfg *cfg, struct doctor_iface *ifs, size_t n,
                         struct doctor_probe *out);

/* ---- TCP ---------------------------------------------------------------------------------- */

struct doctor_tcp {
    char host[256];             /* in: host (numeric, or a name: resolved, may block on DNS) */
    char port[8];               /* in */
    char addr[DOCTOR_ADDR_MAX]; /* out: the address tried */
    int result;                 /* out: 0 connected; an errno (ECONNREFUSED, ETIMEDOUT,
                                   EHOSTUNREACH...); -1 name not resolved */
};

/* Tries to connect to every t[i] at once, closing each connection as soon as it is made,
 * and waits at most timeout_ms for all of them. Sends nothing. Targets beyond
 * DOCTOR_MAX_TCP are not tried: their result is EMFILE. */
void doctor_tcp_try(struct doctor_tcp *t, size_t n, uint32_t timeout_ms);

#endif
