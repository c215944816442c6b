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
 * once its store refuses to append, PROTOCOL.md section 6), peers that send garbage, and
 * short contacts (every contact cut at a share of its backlog for a first phase), run
 * with the priority lane, without it, or both (sim_config.cut_pct, lane).
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

/* The priority lane (PROTOCOL.md 6, "Lane") of every node's sync_store: `lane on|off|both`.
 * Off: the table lacks the lane members, so sessions send in log order only. Both: the
 * scenario runs twice in one sim_run, the lane off (the log-order baseline) then on, and
 * the report is the second run's with the first's short-contact figure beside it. */
enum sim_lane { SIM_LANE_ON = 0, SIM_LANE_OFF, SIM_LANE_BOTH };

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
    /* Short contacts (`cut PCT% until DUR`): every contact opened before cut_until closes
     * once its two sides have sent cut_pct% of their backlog in bytes (the lengths of the
     * entries each side holds that the other lacks, at the contact's start); contacts are
     * whole again from cut_until on, so the run must still converge. 0: no cut. */
    unsigned cut_pct;
    uint64_t cut_until;
    int lane;                  /* enum sim_lane */
    unsigned critical_min_pct; /* `critical_delivered PCT%`: at the end of the cut phase,
                                  every hub shows at least this share of the critical open
                                  needs (lane run); 0: not required */
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
    /* Short contacts (cut_pct): contacts cut, and the figure at the end of the cut phase:
     * of the critical open needs written anywhere before it ended (each writer's own view
     * of its own needs), how many each hub shows as open and critical (query.h); the
     * fewest and the median over hubs. With `lane both`, base_* are the same figures of
     * the log-order run (the lane off), base_converged whether that run converged. */
    uint64_t cuts;
    int crit_taken; /* the figure was taken (the cut phase ended within the run) */
    uint64_t crit_total, crit_min, crit_median;
    int baseline, base_taken, base_converged;
    uint64_t base_total, base_min, base_median;
    uint64_t lane_added; /* entries taken into a lane, all nodes */
    int ok;              /* the run passed: converged, nothing missing, evidence, fingerprints */
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
