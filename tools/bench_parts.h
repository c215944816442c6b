/*
 * bench_parts.h: the measuring parts of aidmesh-bench whose figures bench_main.c turns
 * into report rows: the store (store_bench.c), the sync engine over loopback TCP
 * (sync_bench.c) and running daemons (daemon_bench.c). Each part measures and fills a
 * result struct; none adds a row. What each figure means is at the top of bench_main.c.
 *
 * Errors: every int function returns AM_OK or an AM_E* code (also said on stderr) unless
 * it says otherwise. Temporary stores and homes go under the `tmp` or `dir` given.
 */
#ifndef AM_BENCH_PARTS_H
#define AM_BENCH_PARTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"
#include "bench_util.h"
#include "store.h"
#include "sync.h"
#include "syncstore.h"

#define BENCH_OP_LEN     200                  /* bytes of one op: a typical relief op */
#define BENCH_ENTRY_SLOT (BENCH_OP_LEN + 160) /* room for one built entry */

/* ---- store_bench.c: ceilings, local append, ingest ---------------------------------------- */

enum bench_crypto_kind { BENCH_CK_SIGN, BENCH_CK_VERIFY, BENCH_CK_HASH };

/* Operations per second of one kind (ed25519 sign or verify, BLAKE2b-256, of 200 bytes),
 * one thread, median of three rounds of secs / 3 each. */
double bench_crypto_ceiling(enum bench_crypto_kind kind, double secs);
/* n puts of (40-byte key in append order, 300-byte value), 1000 per transaction, into a
 * fresh LMDB environment in `dir` with default flags. *rate is puts/s, *bytes_per the map
 * in use per put. Returns 0 or an LMDB/errno code (bench_lmdb_strerror says it). */
int bench_lmdb_ceiling(const char *dir, uint64_t n, double *rate, double *bytes_per);
/* mdb_strerror of an LMDB code: a static string. */
const char *bench_lmdb_strerror(int rc);
/* The LMDB library's version. */
void bench_lmdb_version(int *major, int *minor, int *patch);
/* A 200-byte op {"t": "x.bench", "a": a, "i": i, "n": n, "note": "..."} into buf; its
 * type is one the views skip. Returns its length. */
size_t bench_make_op(uint8_t buf[static BENCH_OP_LEN], uint64_t a, uint64_t i, uint64_t n);
/* Appends n entries, `batch` per store_append, into a fresh store in `dir`; *rate in
 * entries/s. */
int bench_append(const char *dir, uint64_t n, size_t batch, double *rate);

/* The ingest source: every author's chain, built in memory, listed in delivery order.
 * Owned by the caller: bench_source_free (also of a zeroed or half-built one). */
struct bench_source {
    uint8_t *buf;          /* all entries, author by author */
    const uint8_t **entry; /* delivery order: round robin over authors */
    size_t *len;
    uint64_t n, raw_bytes;
};
/* n entries of `authors` authors (new keys), interleaved entry by entry. */
int bench_source_build(struct bench_source *src, uint64_t n, uint64_t authors);
void bench_source_free(struct bench_source *src);

struct bench_ingest_result {
    double rate;
    uint64_t entries, authors, map_used;
};
/* Ingests the whole source into a fresh store in `dir`, AM_INGEST_BATCH_MAX per call,
 * and checks that every entry was added. */
int bench_ingest(const char *dir, const struct bench_source *src, uint64_t authors,
                 struct bench_ingest_result *res);

/* ---- sync_bench.c: two sync sessions over loopback TCP ------------------------------------- */

#define BENCH_SYNC_TIMEOUT_S 900.0 /* a full sync that takes longer has failed */

/* One node of a two-node sync: its store and identity. */
struct bench_peer {
    struct store *st;
    struct sync_store ss;
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    uint8_t install[AM_INSTALL_ID_LEN];
};
/* Opens the store in dir (a new identity for the peer). Close with bench_peer_close. */
int bench_peer_open(struct bench_peer *p, const char *dir);
/* Closes the store and wipes the secret key. */
void bench_peer_close(struct bench_peer *p);

/* What both threads of one sync share. */
struct bench_link {
    atomic_uint in_sync; /* bit i: side i has reported SYNC_IN_SYNC */
    atomic_int stop;     /* a side failed: the other gives up too */
    double deadline;     /* bench_now_s() */
    const uint8_t *netkey;
};

/* One side of a sync: a session on one socket, run by one thread. */
struct bench_side {
    struct bench_link *l;
    struct bench_peer *p;
    int fd, initiator;
    unsigned bit;
    int rc;            /* AM_OK, or what ended the session */
    double t_in_sync;  /* bench_now_s() when this session first reported SYNC_IN_SYNC */
    uint64_t wire_out; /* bytes written to the socket */
    struct sync_stats stats;
    struct sync_session sess;
};
/* A thread's body (arg: a struct bench_side): poll -> read -> sync_feed -> write
 * sync_output -> sync_output_done, until both sessions report SYNC_IN_SYNC and this side
 * has nothing left to send. The outcome is in the side's rc. Returns NULL. */
void *bench_side_run(void *arg);

struct bench_net_result {
    double sync_rate, sync_secs, tcp_mbps, wire_per;
    uint64_t sync_wire;
    uint64_t reconnect_bytes;    /* in sync, both ways */
    uint64_t one_change_summary; /* handshake + reconciliation both ways, 1 of 1,000 changed */
    uint64_t one_change_total;   /* all bytes of that reconnection */
};
/* Full sync of the ingest store `src_dir` (n entries of `authors`) into an empty store,
 * the TCP ceiling on the same sockets, and two reconnections of nodes with 1,000 authors.
 * Temporary stores go under tmp. */
int bench_net_sync(const char *tmp, const char *src_dir, uint64_t n, uint64_t authors,
                   struct bench_net_result *res);

/* Forked keys (sync protocol 3: a HEADS row per log): BENCH_FORK_AUTHORS authors, of which
 * BENCH_FORKED signed a trunk of BENCH_FORK_TRUNK entries and then 2 or 3 branches
 * (alternately) of BENCH_FORK_BRANCH entries each from its last entry; the others one
 * entry each. Real signed entries, ingested; real sessions over loopback TCP. */
#define BENCH_FORK_AUTHORS 1000
#define BENCH_FORKED       10
#define BENCH_FORK_TRUNK   3
#define BENCH_FORK_BRANCH  3

struct bench_fork_result {
    uint64_t logs, entries;   /* of the whole world: every branch of every author */
    uint64_t insync_bytes[2]; /* both ways: [0] the first meeting, [1] the reconnect */
    /* one side holds branch 1 of every forked key, the other branches 2 (and 3) */
    uint64_t find_new;     /* entries new to either side (both sides' sum) */
    uint64_t find_new_raw; /* their bytes */
    uint64_t find_sent;    /* entries sent, both ways */
    uint64_t find_dup;     /* of those, already held by the receiver */
    uint64_t find_bytes;   /* all bytes, both ways */
    uint64_t find_summary; /* handshake + reconciliation bytes, both ways */
    double find_secs;
    uint64_t after_bytes; /* the same two reconnecting in sync afterwards */
};
/* Two nodes that ingested the same entries (every branch) reconnect in sync; then two
 * nodes holding different branches of each forked key sync for the first time, and
 * reconnect. Checks that nothing is sent in sync and that the first sync gives both the
 * same logs. Temporary stores go under tmp. */
int bench_fork_sync(const char *tmp, struct bench_fork_result *res);

/* ---- daemon_bench.c: running `aidmesh run` daemons ------------------------------------------ */

#define BENCH_STARTS        5     /* starts timed; the median is the figure */
#define BENCH_MEM_SAMPLE_MS 10    /* /proc/PID/status read this often during the sync */
#define BENCH_MEM_TARGET    64.0  /* MiB of RssAnon + RssShmem per daemon */
#define BENCH_START_TARGET  100.0 /* ms from spawn to serving */

/* MiB: the second run's `aidmesh run --view-cache`: the store's own default, larger than
 * the daemon's (DAEMON_VIEW_CACHE_DEFAULT), to show what more cache buys; --quick's
 * 50,000 entries fill ~9 MiB: 4 makes that run evict instead */
#define BENCH_RELIEF_CACHE       "128"
#define BENCH_RELIEF_CACHE_QUICK "4"
#define BENCH_RELIEF_RUNS        2 /* [0] the default view cache, [1] --view-cache */

struct bench_prop_result {
    int ran;     /* 0: skipped, the aidmesh binary is not there */
    int samples; /* writes measured */
    int missed;  /* writes that did not reach every node within BENCH_SAMPLE_S */
    double p50_ms, p95_ms, max_ms, connect_s;
};
/* What a propagation run adds to the plain one (all zero: nothing). */
struct bench_prop_opts {
    const char *seed_store; /* a store whose entries node 0 holds before it starts */
    int phones;             /* > 0: node 0 serves its web app, polled by this many phones */
    double period_s;        /* each phone's period */
    struct bench_poll_result *polls; /* what the phones saw (phones > 0) */
};
/* Propagation: k daemons (2..BENCH_NODES_MAX) under tmp, node i dialing node 0 and node
 * i-1; `samples` entries appended at random nodes, each timed until every store holds
 * it. o: NULL, or what is added. Without the aidmesh binary: AM_OK with res->ran 0. */
int bench_propagation(const char *tmp, int k, int samples, const struct bench_prop_opts *o,
                      struct bench_prop_result *res);

/* ---- poll_bench.c: phones polling a node's web app ------------------------------------- */

#define BENCH_POLL_THREADS 4
#define BENCH_POLL_MS_MAX  4096 /* request times kept per thread */

struct bench_poll_result {
    uint64_t requests, failed, bytes;
    double seconds, p50_ms, p95_ms;
};
struct bench_poll;
struct bench_poll_thread {
    struct bench_poll *p;
    pthread_t tid;
    int id;
    uint64_t requests, failed;
    size_t bytes, n_ms;
    double ms[BENCH_POLL_MS_MAX];
};
struct bench_poll {
    uint16_t port;
    int phones;
    double period_s, t0;
    atomic_int stop;
    struct bench_poll_thread th[BENCH_POLL_THREADS];
};
/* Starts `phones` phones asking 127.0.0.1:port for GET /needs?status=open once per
 * period_s each, their turns spread evenly. AM_OK or AM_ESYS. */
int bench_poll_start(struct bench_poll *p, uint16_t port, int phones, double period_s);
/* Stops them and sums what they saw. */
void bench_poll_stop(struct bench_poll *p, struct bench_poll_result *r);

/* One full sync between two daemons (mem_sync). */
struct bench_mem_run {
    double sync_s;                     /* sender spawned -> receiver reports its link in sync */
    struct proc_mem idle;              /* receiver before it syncs: empty store */
    struct proc_mem end[2];            /* [0] sender, [1] receiver, when in sync */
    double peak_owned[2], peak_rss[2]; /* largest of the samples during the sync */
};

struct bench_daemon_result {
    int ran;                       /* 0: skipped (no aidmesh binary) */
    double tcp_ms[BENCH_STARTS];   /* spawn -> TCP connect succeeds, sorted */
    double serve_ms[BENCH_STARTS]; /* spawn -> sync session in sync, sorted */
    double exec_ms[BENCH_STARTS];  /* spawn -> exit of `aidmesh --version`, sorted */
    double true_ms;                /* spawn -> exit of /bin/true, median */
    int mem_ran;                   /* the memory part ran to the end */
    struct bench_mem_run mem;      /* daemon-to-daemon full sync into an empty node */
    uint64_t received;             /* entries in the receiver's store afterwards */
};
/* Startup (do_startup) and memory (do_memory) of a daemon whose store is big_store (n
 * entries, moved into a fresh home); insync_store holds the same entries. Without the
 * aidmesh binary: AM_OK with res->ran 0. */
int bench_daemons(const char *tmp, const char *big_store, const char *insync_store, uint64_t n,
                  int do_startup, int do_memory, struct bench_daemon_result *res);

struct bench_relief_mem_result {
    int ran;                   /* 0: skipped (no aidmesh binary) */
    int rc[BENCH_RELIEF_RUNS]; /* AM_OK: the run ended with equal views */
    const char *cache_mib;     /* --view-cache of run [1] */
    struct bench_mem_run run[BENCH_RELIEF_RUNS];
    struct store_stats sent;              /* the sending node's store */
    struct store_view_stats views;        /* its views (the receivers' must match) */
    uint64_t received[BENCH_RELIEF_RUNS]; /* entries in the receiver's store afterwards */
};
/* The site-local relief workload (n entries) served by a daemon to an empty node twice:
 * the receiver with the default view cache, then with `--view-cache cache_mib` (a static
 * string: res keeps it). Returns AM_OK, or the first error (each run's own in res->rc). */
int bench_relief_daemons(const char *tmp, uint64_t n, const char *cache_mib,
                         struct bench_relief_mem_result *res);

#endif
