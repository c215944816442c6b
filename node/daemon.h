/*
 * daemon.h: the node's network side on a libuv loop: a TCP listener, outbound dials to
 * static (also those added to the config while it runs) and discovered peers (backoff
 * with jitter), one sync session per connection,
 * LAN discovery, live pushes of new entries (written here, by the CLI in another process,
 * or received from another peer), a live status for `aidmesh peers` (status.h), and a clean stop on
 * SIGINT / SIGTERM. Also the one-shot sync of `aidmesh sync`. With watch_sticks, it syncs
 * every USB stick mounted below that folder once per insertion (PROTOCOL.md "Stick").
 *
 * It logs one line per peer event to the log stream, for a person to read. It never
 * blocks the loop on the disk beyond LMDB transactions, and it notices entries written
 * by other processes through a file-system watch on the store, not by polling.
 */
#ifndef AM_DAEMON_H
#define AM_DAEMON_H

#include <stdint.h>
#include <stdio.h>

#include "node.h"
#include "sync.h"

#define DAEMON_DEFAULT_PORT 47470
#define DAEMON_MAX_PEERS    64 /* static peers from flags and config together */
#define DAEMON_GONE_MAX     32 /* peers no longer connected that the status lists */
/* The view cache of a running node (store_opts.view_cache; `aidmesh run --view-cache`):
 * smaller than the store's default, so a node receiving a million relief records keeps
 * little memory of its own. Since views format 4 an object the cache dropped is rebuilt
 * from its views value alone, about as fast as the cache gives it back. */
#define DAEMON_VIEW_CACHE_DEFAULT (16ULL << 20)

struct daemon_opts {
    const char *listen;                  /* "ADDR:PORT"; NULL: [::]:47470, else 0.0.0.0:47470 */
    const char *peers[DAEMON_MAX_PEERS]; /* "HOST:PORT" to dial */
    int n_peers;
    int no_discovery;
    unsigned discovery_flags;    /* UV_DISCOVERY_* (tests: loopback) */
    uint16_t discovery_port;     /* 0: the default */
    uint32_t beacon_interval_ms; /* 0: the default */
    FILE *log;                   /* NULL: stderr */
    const char *watch_sticks;    /* sync sticks mounted at or below this folder; NULL: none */
    int init_blank_sticks;       /* and set up blank ones found there (the operator's opt-in) */
    const char *http;            /* serve the dashboard page here ("ADDR:PORT" or "PORT" for
                                    loopback; http.h); NULL: no HTTP at all */
    int https;                   /* with http: HTTPS with the home's certificates (webtls.h) */
    const char *ca_listen;       /* with https: "ADDR:PORT" serving the certificate authority
                                    over plain HTTP (http_ca.h); NULL: none */
};

/* Runs until SIGINT or SIGTERM. Returns 0 after a clean stop, 1 when it cannot start
 * (the reason was logged: port taken, bad address...). */
int daemon_run(struct node *n, const struct daemon_opts *o);

struct daemon_sync_result {
    uint64_t received, authors, sent, bytes_in, bytes_out, refused;
    uint64_t forks;                /* of received: entries that began a branch (stored, counted) */
    uint64_t capped;               /* received, kept as evidence only (beyond AM_LOGS_PER_AUTHOR) */
    struct sync_refusals refusals; /* the refused, by author and reason */
    int error;                     /* am_err.h code, 0 on success */
    char peer[65];
};

/* Connects to `hostport`, syncs until both sides have everything, and returns. The
 * result says what moved. Returns 0 on success, 1 on failure (r->error, and a log line). */
int daemon_sync_once(struct node *n, const char *hostport, uint32_t timeout_ms, FILE *log,
                     struct daemon_sync_result *r);

/* Parses "HOST:PORT", "[V6]:PORT", or "HOST" (default port) into host and port text.
 * Returns AM_OK or AM_EINVAL. */
int daemon_split_hostport(const char *s, char *host, size_t host_cap, char *port, size_t port_cap);

#endif
