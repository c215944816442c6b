/*
 * daemon_int.h: what the daemon's files share (daemon.c: connections, the loop, start and
 * stop; daemon_peers.c: whom to dial, discovery, the status file). Not a public interface:
 * only node/daemon*.c include it.
 */
#ifndef AM_DAEMON_INT_H
#define AM_DAEMON_INT_H

#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "daemon.h"
#include "syncstore.h"
#include "uv_discovery.h"

#define RBUF_LEN            65536
#define BACKOFF_MIN_MS      1000
#define BACKOFF_MAX_MS      60000
#define SCAN_DEBOUNCE_MS    10
#define DISCOVERED_DELAY_MS 2500 /* the larger author id waits this long before dialing */

struct daemon;

/* A volume seen mounted below --watch-sticks: synced once per mount. */
struct seen_stick {
    char path[512];
    uint64_t id; /* which mount of it */
    int present;
    struct seen_stick *next;
};

struct target {
    char host[256], port[8];
    int is_static;
    int discovered;
    uint8_t author[AM_PK_LEN];  /* discovered: the author its beacons claim */
    struct sockaddr_storage sa; /* discovered: where it is */
    uint64_t next_attempt;
    uint32_t backoff;
    int dialing; /* a resolve or connect is in flight */
    int known;   /* static: `author` is who answered here last time */
    int self;    /* it turned out to be this node: never dial again */
    char last_error[96];
    struct target *next;
};

struct conn {
    struct daemon *d;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t creq;
    uv_write_t wreq;
    uint8_t *wbuf;
    int writing;
    int pending_close; /* handles whose close callback has not run */
    int closing;
    int outbound;
    int handshaken, in_sync;
    int read_stopped;
    int fed;             /* bytes were fed during this loop turn */
    int held;            /* fed entries wait for a pause in the stream */
    uint64_t held_since; /* loop time of the first read held back */
    struct target *target;
    struct sync_session sess;
    int sess_ok;
    char addr[80];
    char peer_hex[65];
    uint64_t connected_wall;
    uint64_t last_seen_wall;
    uint8_t rbuf[RBUF_LEN];
    struct conn *next;
};

struct daemon {
    uv_loop_t loop;
    struct node *n;
    struct sync_store ss;
    FILE *log;
    uv_tcp_t listener;
    int listening;
    uint16_t port;
    uv_signal_t sigint, sigterm;
    uv_check_t flusher; /* after each round of reads: hold the batch or store it */
    uv_timer_t quiet;   /* BATCH_QUIET_MS after the last read: store what is held */
    uv_timer_t maintain, scan_timer, status_timer, deadline;
    uv_fs_event_t watch;
    int watching;
    uv_fs_event_t home_watch; /* the config: static peers added while running */
    uv_timer_t config_timer;
    struct uv_discovery disc;
    int discovering;
    uint8_t instance[BEACON_INSTANCE_LEN];
    uint8_t install[AM_INSTALL_ID_LEN];
    struct conn *conns;
    struct target *targets;
    /* peers that were connected and are not now, newest first, for the status file */
    struct gone {
        char peer_hex[65], addr[80];
        uint64_t last_seen, entries_in, entries_out;
    } gone[DAEMON_GONE_MAX];
    size_t n_gone;
    int stopping;
    /* heads as last scanned, to find what other processes wrote */
    struct sync_head *heads;
    size_t n_heads, cap_heads;
    /* --watch-sticks */
    const char *stick_dir;
    int stick_init_blank, stick_dir_missing;
    uv_fs_event_t stick_watch;
    uv_timer_t stick_timer, stick_debounce;
    uv_poll_t mounts_poll;
    int mounts_fd;
    struct seen_stick *sticks;
    /* --http: the dashboard, served on a thread of its own (http.h) */
    struct http_server *http;
    /* one-shot mode */
    int once;
    struct daemon_sync_result *once_result;
    int once_done;
};

/* daemon.c */
void daemon_log(struct daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void daemon_short_id(const uint8_t *id, char out[17]);
void daemon_sa_text(const struct sockaddr *sa, char *out, size_t cap);
/* A connection on d's list with its handles initialised; NULL when out of memory. */
struct conn *daemon_conn_new(struct daemon *d, int outbound);
/* Starts the sync session of a connected socket; on failure the connection is closed. */
int daemon_conn_start(struct conn *c);
void daemon_conn_close(struct conn *c, const char *why);

/* daemon_peers.c */
void daemon_schedule_retry(struct daemon *d, struct target *t, const char *why);
void daemon_dial(struct daemon *d, struct target *t);
void daemon_on_maintain(uv_timer_t *tm);
struct target *daemon_target_add(struct daemon *d);
void daemon_on_discovered(void *ctx, const uint8_t author[AM_PK_LEN], const struct sockaddr *addr,
                          uint16_t proto_version);
void daemon_on_home_changed(uv_fs_event_t *h, const char *filename, int events, int status);
void daemon_write_status(struct daemon *d);
void daemon_on_status_timer(uv_timer_t *t);

#endif
