/*
 * sim.h: aidmesh-sim, a deterministic simulator of a relief mesh (not a test by itself).
 *
 * N nodes (at most SIM_NODES_MAX) live in one process, each with its own LMDB store in a
 * temporary folder, and meet through the real sync engine (transport/sync.h) over memory
 * pipes with a latency and a bandwidth, on a simulated clock driven by one event queue.
 * A scenario (a small text file, sim_conf.c) gives hub clusters whose members reach their
 * hub over an intermittent LAN link, runners who carry a store-holding device from hub to
 * hub on a schedule (a runner is a node with its own store, not the stick file format),
 * partitions that cut clusters off from the runners and heal, nodes that crash and
 * restart, clocks hours or a year off, laptops cloned with their store (a forked author,
 * both of whose branches every node keeps and applies; each half rotates to a new key
 * once its store refuses to append, PROTOCOL.md section 6), and peers that send garbage.
 *
 * Everything that varies comes from one seed: node keys, the ops written, link up/down
 * times, Noise ephemerals (sync_config.ephemeral), garbage bytes. The event queue breaks
 * ties by insertion order, so one seed gives the same report byte for byte. What is not
 * reproducible (the process's peak RSS, wall time) goes to stderr only.
 *
 * Never sleeps, never opens a socket. Writes only below its temporary folder, removed at
 * the end.
 */
#ifndef AM_SIM_H
#define AM_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- Limits of a scenario (each checked by the parser, with the line named) ---- */
#define SIM_NODES_MAX    500 /* every node has an LMDB environment and a temp folder */
#define SIM_CLUSTERS_MAX 100
#define SIM_MEMBERS_MAX  100 /* members per cluster */
#define SIM_RUNNERS_MAX  100
#define SIM_ROUTE_MAX    64       /* hubs on one runner's route */
#define SIM_LIST_MAX     64       /* partitions, crashes, skews, clones, garbage peers */
#define SIM_LINE_MAX     512      /* bytes of one config line */
#define SIM_TOKENS_MAX   80       /* words on one config line */
#define SIM_ENTRIES_MAX  10000000 /* entries written in one run */
#define SIM_BATCH_MAX    256      /* ops per store_append of one writer */
#define SIM_ITEMS_MAX    500      /* catalogue items */
#define SIM_DURATION_MAX (400ULL * 24 * 3600 * 1000000) /* microseconds: 400 days */
#define SIM_NAME_MAX     64

/* All times below are microseconds of simulated time from the start of the run. */

struct sim_route {
    int runner; /* runner index */
    int n;      /* hubs (cluster indexes) visited each round, in order */
    int hubs[SIM_ROUTE_MAX];
    uint64_t offset, dwell; /* first visit's offset in the round; time at each hub */
};

struct sim_partition {
    uint64_t from, to;
    uint8_t cut[SIM_CLUSTERS_MAX]; /* clusters no runner reaches meanwhile */
};

struct sim_crash {
    int node;
    uint64_t at, down;
};

struct sim_skew {
    int node;
    int64_t ms; /* the node's wall clock minus the true time */
};

struct sim_clone {
    int twin;        /* the node whose laptop (key and store) is copied */
    int cluster;     /* where the copy is switched on */
    uint64_t at;     /* when */
    uint64_t writes; /* entries the copy writes */
};

struct sim_garbage {
    int cluster; /* the garbage peer dials this cluster's hub */
    uint64_t at, every;
    int count;
};

enum sim_fp_policy {
    SIM_FP_ONE = 0,   /* every node must end with one and the same view fingerprint */
    SIM_FP_PER_BRANCH /* old rule, before every branch was kept: nodes that keep the same
                         branch of every forked author must agree */
};

/* What a node does when its store refuses to append under its own identity because that
 * identity is known to be forked (AM_EFORK; PROTOCOL.md section 6 "Forks"). */
enum sim_on_fork {
    SIM_ON_FORK_ROTATE = 0, /* `aidmesh identity rotate`: a new key whose first entry is a
                               succession op naming this machine's branch of the old key */
    SIM_ON_FORK_REINIT      /* `aidmesh init --force`: a new, unrelated identity */
};

struct sim_config {
    char name[SIM_NAME_MAX + 1];
    uint64_t seed;
    int clusters, members, runners;
    uint64_t entries;                 /* written by hubs and members (and clones: `writes`) */
    unsigned batch;                   /* ops per append */
    unsigned items;                   /* catalogue items */
    uint64_t write_until;             /* writes are spread over [0, write_until) */
    uint64_t round;                   /* one contact round: every runner visits its route once */
    uint64_t until;                   /* give up (not converged) at this time */
    uint64_t epoch_ms;                /* true wall clock at time 0, ms since 1970 */
    uint64_t lan_up, lan_down;        /* mean up and down times of a member's link to its hub */
    uint64_t lan_bw, lan_lat;         /* bytes/s and latency (us) */
    uint64_t run_bw, run_lat;         /* of a runner's link to a hub during a visit */
    uint64_t map_initial, view_cache; /* store_opts of every node */
    int fp_policy;
    int evidence_required; /* 1: the run fails unless fork evidence reaches every node */
    int on_fork;           /* enum sim_on_fork */
    int n_routes, n_partitions, n_crashes, n_skews, n_clones, n_garbage;
    struct sim_route routes[SIM_RUNNERS_MAX];
    struct sim_partition partitions[SIM_LIST_MAX];
    struct sim_crash crashes[SIM_LIST_MAX];
    struct sim_skew skews[SIM_LIST_MAX];
    struct sim_clone clones[SIM_LIST_MAX];
    struct sim_garbage garbage[SIM_LIST_MAX];
};

/* Node indexes: cluster c's hub is c * (1 + members), its members follow; then the
 * runners, then the clones, then the garbage peers. */
int sim_node_count(const struct sim_config *c);

/*
 * Parses a scenario from `text` (NUL-terminated; `origin` names it in errors). On error
 * returns AM_EINVAL (or AM_ELIMIT for a value over a SIM_* limit) with a sentence naming
 * the line in err[0..errcap) ("small.conf line 7: 'crash' wants 'at DURATION'"). The
 * config is filled with defaults first. Never prints.
 */
int sim_conf_parse(struct sim_config *c, const char *text, const char *origin, char *err,
                   size_t errcap);
/* Reads the file and parses it; AM_ESYS (err says why) if it cannot be read, or is
 * larger than 1 MiB. */
int sim_conf_load(struct sim_config *c, const char *path, char *err, size_t errcap);

/* The figures of one run; every field is reproducible from the seed. */
struct sim_result {
    int nodes, counted;       /* all nodes; those that must converge */
    uint64_t entries_written; /* appended by every node: every branch of a cloned laptop's
                                 key, and the successions of rotated keys */
    uint64_t entries_missing; /* of those, missing on the node that lacks most (its store's
                                 own count), at the end: must be 0 */
    int forked_authors;       /* authors whose entries form more than one log on some node */
    uint64_t events, contacts;
    uint64_t last_write, last_heal; /* us */
    int converged;                  /* every node holds every entry written, every branch */
    uint64_t converged_at;          /* us; valid when converged */
    uint64_t rounds_after;          /* contact rounds begun from max(last write, last heal) */
    uint64_t rounds_milli;          /* the same in thousandths of a round */
    int forks_everywhere;           /* every node holds evidence of every forked author */
    int forks_missing;              /* counted nodes without it, at the end */
    uint64_t forks_at;              /* us */
    uint64_t delivered;             /* entries newly stored from sessions, all nodes */
    uint64_t received;              /* entries received (new or not), all nodes */
    uint64_t duplicates, fork_entries, refused;
    uint64_t bytes, summary_bytes; /* bytes sent, of which reconciliation and handshake */
    uint64_t peak_queue;           /* largest output backlog of one session, bytes */
    uint64_t peak_node_mem;        /* largest estimate of one node's sync memory, bytes */
    uint64_t peak_store;           /* largest LMDB map in use of one node, bytes */
    uint64_t peak_cache;           /* largest view cache of one node, bytes */
    int fp_groups;                 /* distinct view fingerprints at the end */
    int fp_unexplained;            /* groups not explained by forked branches (per-branch) */
    int fp_ok;                     /* per the scenario's policy */
    uint64_t crashes, rotations, rekeys, refused_appends;    /* rekeys: `init --force` */
    uint64_t garbage_contacts, garbage_closed, garbage_lost; /* lost: honest entries gone */
    uint64_t future_stamped; /* entries stored with a stamp far ahead of the receiver */
    int ok; /* the run passed: converged, nothing missing, evidence, fingerprints */
};

/*
 * Runs the scenario with seed `seed`. Temporary stores go below `tmpdir` (NULL: $TMPDIR,
 * else /dev/shm when it exists, else /tmp). The readable report (or, with json, one JSON
 * object) is written to `out`; progress lines to `progress` (nullable). *res (nullable)
 * receives the figures. Returns AM_OK when the run completed (see res->ok for whether it
 * passed), or an error that stopped it (err says what: a store that cannot be created,
 * out of memory).
 */
/* Asks a running sim_run to stop at the next event (async-signal-safe: a signal handler
 * may call it). The run then reports what it has, as not converged, and cleans up. */
void sim_interrupt(void);

int sim_run(const struct sim_config *c, uint64_t seed, const char *tmpdir, int json, FILE *out,
            FILE *progress, struct sim_result *res, char *err, size_t errcap);

#endif
