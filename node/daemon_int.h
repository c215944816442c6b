/*
 * daemon_int.h: what the daemon's files share (daemon.c: connections, the loop, start and
 * stop; daemon_peers.c: whom to dial, discovery, the live status). Not a public interface:
 * only node/daemon*.c include it.
 */
#ifndef AM_DAEMON_INT_H
#define AM_DAEMON_INT_H

#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "admit.h"
#include "daemon.h"
#include "peer_addrs.h"
#include "status.h"
#include "syncstore.h"
#include "uv_dial.h"
#include "uv_discovery.h"

#define RBUF_LEN 65536
/* File descriptors kept for all but sync connections: the store, the log, discovery's
 * sockets, the resolver, and the dashboard's connections (HTTP_CONN_LIMIT, 64). */
#define DAEMON_FD_RESERVE   128
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
    struct daemon *d;
    char host[256], port[8];
    int is_static;
    int discovered;
    uint8_t author[AM_PK_LEN];  /* discovered: the author its beacons claim */
    struct peer_addrs disc;     /* discovered: the addresses it was heard from, each with
                                   its own backoff (peer_addrs.h); a connection refers to a
                                   discovered target only while it dials it */
    uint64_t next_attempt;      /* static: not dialed before */
    uint32_t backoff;           /* static */
    int dialing;                /* static: a resolve or connect is in flight */
    struct uv_dial *dial;       /* static: that dial, until it reports (uv_dial.h) */
    int known;                  /* static: `author` is who answered here last time */
    char name[AM_NAME_MAX + 1]; /* static: the name it gave then ("" when none) */
    int self;                   /* it turned out to be this node: never dial again */
    char last_error[160];       /* the last dial's failure ("ADDRESS: why" when discovered) */
    struct target *next;
};

struct conn {
    struct daemon *d;
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct uv_dial *dial; /* outbound: the dial connecting tcp, until it reports */
    uv_write_t wreq;
    uint8_t *wbuf;
    int writing;
    int pending_close; /* handles whose close callback has not run */
    int closing;
    int outbound;
    int handshaken, in_sync;
    uint64_t refused_logged; /* refused entries of the session already in the log */
    int read_stopped;
    int fed;             /* bytes were fed during this loop turn */
    int held;            /* fed entries wait for a pause in the stream */
    uint64_t held_since; /* loop time of the first read held back */
    struct target *target;
    struct sockaddr_storage dialed; /* outbound: the address dialed */
    struct sync_session sess;
    int sess_ok;
    char addr[80];
    char peer_hex[65];
    uint64_t connected_wall;
    uint64_t last_seen_wall;
    /* incoming, not authenticated yet: counted in daemon.unauth (daemon_accept.c) */
    int unauth;
    uint64_t accepted_at;        /* loop time it was accepted */
    struct sockaddr_storage src; /* incoming: the peer's address (port 0) */
    struct conn *next;
};

struct rank_row;

struct daemon {
    uv_loop_t loop;
    struct node *n;
    struct sync_store ss;
    FILE *log;
    /* the sync listener: accepted by daemon_accept.c, which admits each connection or
     * closes it before anything is allocated for it, and pauses on EMFILE */
    int listen_fd;
    uv_poll_t listen_poll;
    uv_timer_t accept_timer;
    int listening, accept_paused;
    /* the ranking of authors whose entries sessions send first (daemon_rank.c) */
    struct rank_row *rank_rows; /* sorted by author */
    size_t n_rank;
    uint64_t rank_at; /* uv_now of its last reading */
    int rank_valid;
    uint16_t port;
    struct admit_state admit; /* caps, and the counts of connections now */
    uint8_t rbuf[RBUF_LEN];   /* every connection reads into this, then the session copies
                                 what it keeps: one buffer, not one per connection */
    /* connections closed before authentication since the last summary line */
    struct preauth_log {
        uint64_t closed, failed, refused[5], evicted, paused;
        /* the address seen most in the interval, approximately (a running majority vote) */
        struct top_vote {
            char addr[80];
            uint64_t count;
        } top, dial_top;
        uint64_t dials_failed; /* dials to discovered addresses that failed before auth */
        uv_timer_t timer;
    } preauth;
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
    /* peers that were connected and are not now, newest first, for the status */
    struct gone {
        char peer_hex[65], addr[80]; /* addr: "HOST" alone when it dialed us */
        char name[AM_NAME_MAX + 1];  /* what its handshake said; "" when nothing */
        int inbound;                 /* it dialed us */
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
    /* the live status (status.h): updated on the loop by daemon_write_status; its JSON
     * goes to `snap`, which the dashboard's thread reads under its mutex and the control
     * socket HOME/run/control.sock answers from */
    struct node_status status;
    struct status_snapshot snap;
    int snap_ok;
    struct status_server control;
    /* --http: the dashboard, served on a thread of its own (http.h) */
    struct http_server *http;
    char http_url[96];      /* where it serves its web pages, "" when it does not (status) */
    struct http_ca *web_ca; /* HTTPS: the authority's download port (http_ca.h) */
    char *web_key_pem, *web_cert_pem; /* HTTPS: the server's key and certificate (webtls.h) */
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

/* daemon_web.c */
/* Serves the web app at o->http (HTTPS with o->https; the authority's download port at
 * o->ca_listen). Returns 0, or 1 after logging why it cannot. */
int daemon_web_start(struct daemon *d, const struct daemon_opts *o);
/* Stops what daemon_web_start started (also after a failed start). */
void daemon_web_stop(struct daemon *d);

/* daemon_accept.c */
/* Listens on "ADDR:PORT" (numeric). Returns 0, or 1 after logging why it cannot. */
int daemon_listen(struct daemon *d, const char *spec);
void daemon_listen_stop(struct daemon *d);
/* Raises the soft file descriptor limit to the hard one and sets the connection caps
 * below it (reserving `reserved` descriptors for the rest of the node); logs them. */
void daemon_fd_budget(struct daemon *d, unsigned reserved);
/* An incoming connection authenticated, or closed before it did (why: a short text). */
void daemon_unauth_done(struct conn *c, const char *why_closed);
/* A dial to a discovered address failed before authenticating: counted in the summary. */
void daemon_dial_failed_note(struct daemon *d, const char *addr);
void daemon_preauth_start(struct daemon *d);

/* daemon_peers.c */
void daemon_schedule_retry(struct daemon *d, struct target *t, const char *why);
void daemon_dial(struct daemon *d, struct target *t);
/* Abandons the dials of static targets still resolving (the others belong to connections,
 * whose closing abandons them): before the loop's handles are all closed. */
void daemon_dials_cancel(struct daemon *d);
void daemon_on_maintain(uv_timer_t *tm);
struct target *daemon_target_add(struct daemon *d);
/* Called by daemon.c where a dialed connection c (c->target set) proved its peer, and
 * where it closed (`why`: the reason); each may clear c->target. */
void daemon_target_handshaken(struct conn *c);
void daemon_target_dial_ended(struct conn *c, const char *why);
void daemon_on_discovered(void *ctx, const uint8_t author[AM_PK_LEN], const struct sockaddr *addr,
                          uint16_t proto_version);
void daemon_on_home_changed(uv_fs_event_t *h, const char *filename, int events, int status);
/* Updates the in-memory status (d->status) and its JSON snapshot from the loop's state. */
void daemon_write_status(struct daemon *d);
void daemon_on_status_timer(uv_timer_t *t);

/* daemon_rank.c: sync_config.author_rank for the daemon's sessions (ctx: the daemon). */
#define DAEMON_RANK_REFRESH_MS 10000
#define DAEMON_RANK_MAX        1024
uint32_t daemon_author_rank(void *ctx, const uint8_t author[AM_PK_LEN]);
void daemon_rank_free(struct daemon *d);

#endif
