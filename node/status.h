/*
 * status.h: the running node's live status, kept in memory by the daemon, and the local
 * control socket that hands it to `aidmesh peers`, `aidmesh doctor` and `aidmesh report`
 * (PROTOCOL.md §7 "run/control.sock", §8.5).
 *
 * - struct node_status: what the daemon knows now (its pid and port, the peers connected,
 *   the targets it knows, the peers gone, discovery's counts and impostors). The daemon
 *   fills it on its loop (daemon_peers.c: daemon_write_status); nothing else writes it.
 * - status_to_json / status_from_json: the one JSON form of it (jansson), the same object
 *   run/peers.json held before. status_from_json decodes bytes from another process: it
 *   caps the text, the rows of each list and every string (fuzzed: tests/fuzz/peers_fuzz.c).
 * - struct status_snapshot: the latest JSON under a mutex, for the dashboard's HTTP thread
 *   (it copies the text out under the lock and never touches the loop).
 * - status_server_*: the control socket HOME/run/control.sock (mode 0600) on the daemon's
 *   libuv loop: one request line `{"get":"status"}` (at most STATUS_REQUEST_MAX bytes), one
 *   answer line, then close; at most STATUS_CLIENTS_MAX clients, each cut after
 *   STATUS_DEADLINE_MS; when all are taken, the oldest that has not sent its request yet
 *   is cut for a newcomer, so clients that connect and say nothing cannot lock out
 *   `aidmesh peers`.
 * - status_ask: the client, with the same deadline.
 *
 * Must never: block the loop (the server only reads, writes and closes on libuv), answer
 * anything but the status or an error line, keep a client past its deadline, or print.
 */
#ifndef AM_STATUS_H
#define AM_STATUS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "am_limits.h"

/* ---- limits (each cap protects the side that reads the other's bytes) ---- */
#define STATUS_REQUEST_MAX AM_STATUS_REQUEST_MAX /* a request line, newline included */
#define STATUS_REPLY_MAX   AM_STATUS_REPLY_MAX   /* an answer line the client reads */
#define STATUS_ROWS_MAX    AM_STATUS_ROWS_MAX    /* rows of each list kept; more: ELIMIT */
#define STATUS_CLIENTS_MAX 4    /* control clients served at once; more are closed */
#define STATUS_DEADLINE_MS 2000 /* a control client's whole exchange, either side */
#define STATUS_SOCKET      "run/control.sock"

/* One peer row: connected (author, name, address, direction, state, connected_at,
 * last_seen, entries and bytes each way) or known (address, source, author, name,
 * last_error, self, last_seen, and direction and entries each way for the source "was
 * connected"). Strings are NUL-terminated UTF-8; each array is the limit of its field
 * (longer: AM_ELIMIT). */
struct status_peer {
    char author[65];                  /* hex; "" when not known */
    char name[AM_NAME_MAX + 1];       /* the name its handshake gave; "" when none known */
    char address[300];                /* "HOST:PORT", "[V6]:PORT" or "?"; a "was connected"
                                         peer that dialed us: "HOST" or "[V6]" alone (its
                                         port was not one it listens on) */
    char direction[8];                /* connected, "was connected": "in" (it dialed) or
                                         "out" (we dialed) */
    char state[16];                   /* connected: "syncing" or "in sync" */
    char source[16];                  /* known: "static", "discovered" or "was connected" */
    char last_error[160];             /* known: the last dial's failure, "" when none */
    uint64_t connected_at, last_seen; /* ms since 1970; 0: never */
    uint64_t entries_in, entries_out, bytes_in, bytes_out;
    int self; /* known: the address turned out to be this node */
};

/* An address that claimed a member's author id in beacons and failed every dial there
 * (PROTOCOL.md §8.5, §9.5). */
struct status_impostor {
    char address[80], author[65], reason[64];
    uint64_t count, last_fail, last_heard; /* failures; ms since 1970 */
    int verified_elsewhere;
};

struct node_status {
    long pid;
    uint16_t port;
    char http[96];    /* where its web pages are ("http://ADDR:PORT/"), "" when not served */
    uint64_t written; /* when the daemon last updated it, ms since 1970 */
    struct status_peer *connected, *known;
    size_t n_connected, n_known, cap_connected, cap_known;
    uint64_t discovered, discovered_max, dialing, dialing_max;
    struct status_impostor *impostors;
    size_t n_impostors, cap_impostors;
};

/* An empty status (no allocation). */
void status_init(struct node_status *s);
/* Frees the rows; s is empty again (NULL: no-op). */
void status_free(struct node_status *s);
/* Forgets the rows, keeps their memory. */
void status_clear(struct node_status *s);
/* A new zeroed row at the end of its list, owned by s, valid until the next add to that
 * list or status_free; NULL when out of memory or past STATUS_ROWS_MAX. */
struct status_peer *status_add_connected(struct node_status *s);
struct status_peer *status_add_known(struct node_status *s);
struct status_impostor *status_add_impostor(struct node_status *s);

/* The status as one line of compact JSON (no newline), keys in the order of PROTOCOL.md
 * §8.5. Returns a malloc'd NUL-terminated string (the caller frees), NULL when out of
 * memory. */
char *status_to_json(const struct node_status *s);

/*
 * Decodes `len` bytes at `text` (not NUL-terminated; borrowed for the call; at most
 * STATUS_REPLY_MAX) into *s (status_init'd or cleared first by this call; the caller
 * status_free()s it whatever the result). An answer {"error":"..."} copies the sentence
 * into err (cap bytes, cut to fit; err may be NULL) and returns AM_EPEER. Keys it does not
 * know are skipped; a known key with a value of the wrong type, a duplicate key, a
 * negative number, or text that is not one JSON object (whitespace around it aside) is
 * AM_EMALFORMED; more than STATUS_REPLY_MAX bytes, STATUS_ROWS_MAX rows in a list, a
 * string longer than its field or a number over its range (pid over 2^31 - 1, port over
 * 65535, any over 2^63 - 1) is AM_ELIMIT; AM_ENOMEM.
 */
int status_from_json(const char *text, size_t len, struct node_status *s, char *err, size_t cap);

/* The document `aidmesh peers --json` prints: {"running":true,"status":{...}} for s, or
 * {"running":false,"connected":[],"known":[]} when s is NULL. Malloc'd, NULL on ENOMEM. */
char *status_peers_json(const struct node_status *s);

/* ---- the snapshot the dashboard reads (any thread) ---- */

struct status_snapshot {
    pthread_mutex_t mu;
    char *json; /* status_to_json text, NULL before the first update */
};

int status_snapshot_init(struct status_snapshot *sn); /* AM_OK or AM_ESYS */
void status_snapshot_destroy(struct status_snapshot *sn);
/* Replaces the text with `json` (taken: freed by the snapshot; NULL keeps the old). */
void status_snapshot_set(struct status_snapshot *sn, char *json);
/* A malloc'd copy of the latest text (the caller frees), NULL when none or out of memory. */
char *status_snapshot_copy(struct status_snapshot *sn);

/* ---- the control socket (the daemon's loop) ---- */

struct status_client;

struct status_server {
    uv_loop_t *loop;
    uv_pipe_t pipe;
    int listening;
    char path[108];
    /* called on the loop before each answer: the daemon refreshes the snapshot */
    void (*refresh)(void *ctx);
    void *ctx;
    struct status_snapshot *snap;
    struct status_client *clients[STATUS_CLIENTS_MAX];
    uint64_t evicted; /* clients cut to make room for a newer one */
    uint64_t refused; /* clients closed at once: every slot was sending an answer */
};

/*
 * Listens on HOME/run/control.sock (run/ created 0700; the socket 0600). A socket file
 * left by a node that is gone (nothing answers on it) is removed first; one where a node
 * answers is AM_EEXIST (another `aidmesh run` uses this home). `snap` and `ctx` must stay
 * valid until status_server_stop. On failure err (cap >= 200) says what happened and what
 * to do. Returns AM_OK, AM_EEXIST, AM_EINVAL (the path is longer than a unix socket path
 * may be), AM_ESYS.
 */
int status_server_start(struct status_server *sv, uv_loop_t *loop, const char *home,
                        struct status_snapshot *snap, void (*refresh)(void *ctx), void *ctx,
                        char *err, size_t cap);
/* Closes every client and the socket (their close callbacks run on the loop) and unlinks
 * the socket file. No-op when not started. */
void status_server_stop(struct status_server *sv);

/* ---- the client ---- */

/*
 * Asks the node running for `home` for its status over HOME/run/control.sock, within
 * timeout_ms in all (0: STATUS_DEADLINE_MS), and decodes it into *s (status_free it
 * whatever the result). Returns AM_OK; AM_ENOTFOUND when no node is running (no socket,
 * or one nothing listens on: errno ECONNREFUSED then); AM_ETIMEOUT when a node accepted but
 * did not answer in time (it may hang); AM_EPEER (err says why), AM_EMALFORMED, AM_ELIMIT
 * from the answer; AM_EINVAL (the path is too long for a unix socket); AM_ESYS; AM_ENOMEM.
 */
int status_ask(const char *home, uint32_t timeout_ms, struct node_status *s, char *err, size_t cap);

#endif
