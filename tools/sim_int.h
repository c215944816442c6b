/*
 * sim_int.h: what the files of aidmesh-sim share (sim.c: the run, its event queue and
 * the nodes; sim_net.c: contacts and each node's store as the engine sees it;
 * sim_report.c: the final checks and the report). Private to them: the state of one run.
 *
 * Nothing here sleeps, opens a socket or reads the machine's clock.
 */
#ifndef AM_SIM_INT_H
#define AM_SIM_INT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "am_limits.h"
#include "noise.h"
#include "relief.h"
#include "sim.h"
#include "store.h"
#include "sync.h"
#include "syncstore.h"

#define SIM_CHUNK       65536      /* bytes a pipe takes from a session at once */
#define SIM_GARBAGE_LEN 98304      /* random bytes one garbage contact sends */
#define SIM_BACKOFF_MIN 1000000ULL /* reconnection backoff, as the daemon's (PROTOCOL 8.5) */
#define SIM_BACKOFF_MAX 60000000ULL
#define SIM_NEEDS       64          /* needs a writer remembers (its latest) for updates */
#define SIM_OP_CAP      8192        /* one generated op, ctx included */
#define SIM_CHECK_EVERY 10000000ULL /* fork-evidence checks once converged: every 10 s */
/* Memory of one session besides its output buffer: the struct, the input, message and
 * plaintext buffers (one Noise message each), and once entries arrived the pending batch
 * (256 KiB to start, plus its per-entry arrays). An estimate, from transport/sync.c. */
#define SIM_SESSION_MEM (sizeof(struct sync_session) + 3 * (2 + NOISE_MAX_MSG))
#define SIM_PENDING_MEM (262144 + SYNC_PENDING_MAX * (sizeof(size_t) + 1 + AM_PK_LEN + 8))

enum { SIM_K_HUB, SIM_K_MEMBER, SIM_K_RUNNER, SIM_K_CLONE, SIM_K_GARBAGE };
enum {
    SIM_EV_WRITE,
    SIM_EV_LINK,
    SIM_EV_CONNECT,
    SIM_EV_VISIT,
    SIM_EV_VISIT_END,
    SIM_EV_CRASH,
    SIM_EV_RESTART,
    SIM_EV_SEND,
    SIM_EV_DELIVER,
    SIM_EV_TICK,
    SIM_EV_CLONE,
    SIM_EV_GARBAGE,
    SIM_EV_PROGRESS,
    SIM_EV_CUT_END /* the cut phase ends: the short-contact figure is taken */
};

struct sim_ev {
    uint64_t t, order;
    int type, a, b;
    uint64_t serial;
    uint8_t *buf;
    size_t len;
};

struct sim_author {
    uint8_t pk[AM_PK_LEN];
    int cloned; /* its laptop was copied: it forks once both halves write */
};

struct sim_need {
    uint8_t id[RELIEF_ID_LEN];
    struct relief_ref open;
};

struct sim;

struct sim_node {
    struct sim *sim;
    int idx, kind, cluster, up, counted;
    char name[48];
    char *dir;
    struct store *st;
    struct sync_store base, ss; /* syncstore's table; ours (ctx = this node) */
    uint8_t sk[AM_SK_LEN];
    int author, gen;
    int64_t skew_ms;
    uint64_t *seq;    /* root log's head seq per author index, as this node's store holds it
                         (what its stock-takes name in ctx) */
    uint64_t have;    /* entries its store holds, every branch of every author: counted as
                         appended and ingested (added + forks), checked against the store's
                         own count at the end */
    int complete;     /* have == total */
    uint64_t own_seq; /* the last entry this machine wrote under its key: the branch a */
    uint8_t own_hash[AM_HASH_LEN]; /* succession names when it rotates */
    int *cts;                      /* contacts it is in */
    int n_cts, cap_cts;
    uint64_t quota, written, write_every;
    int write_waiting;       /* a write fell in a crash: done at restart */
    int setup_next, setup_n; /* hub: site and item definitions still to write */
    struct sim_need needs[SIM_NEEDS];
    unsigned n_needs;
    int link; /* LAN link of a member or clone, else -1 */
    uint64_t mem_peak;
};

struct sim_link {
    int a, b; /* a dials b */
    int up;
    uint64_t backoff;
    int connecting;
};

struct sim_side {
    struct sim *sim;
    int cid, side;
};

struct sim_contact {
    int used;
    uint64_t serial;
    int node[2]; /* node[0] dialled */
    struct sync_session s[2];
    struct sim_side sc[2];
    uint8_t eph[2][32];
    uint8_t install[2][AM_INSTALL_ID_LEN];
    uint64_t bw, lat;
    uint64_t busy[2];
    int send_pending[2];
    unsigned inflight[2];
    uint64_t tick_at;
    int garbage;    /* side 0 is a garbage peer: 1 from the start, 2 after the handshake */
    int gon;        /* sending garbage now */
    uint64_t gleft; /* garbage bytes still to send */
    uint64_t honest_before;
    int failed; /* ended by an error (backoff grows) */
    /* Short contacts (sim_config.cut_pct): bytes the two sides may send together (0: no
     * limit), bytes they sent, and whether the limit was reached (nothing more is sent;
     * the contact ends when the last bytes arrived). */
    uint64_t budget, sent;
    int cut;
};

struct sim {
    const struct sim_config *c;
    uint64_t now, rng, order;
    /* The workload's own generator (what make_op writes, and when) in a cut scenario, so
     * both runs of `lane both` write the same ops at the same times; other scenarios draw
     * everything from rng, as they always did. work points to the one in use. */
    uint64_t wrng, *work;
    int lane; /* this run's nodes have the lane members */
    struct sim_node *nodes;
    int n_nodes, counted;
    struct sim_author *authors;
    int n_authors, cap_authors;
    int *by_pk; /* author indexes sorted by pk */
    struct sim_link *links;
    int n_links;
    struct sim_contact *cts; /* slot: link i; then route j; then garbage peer k */
    int n_cts;
    struct sim_ev *heap;
    size_t n_heap, cap_heap;
    int *dirty;
    size_t n_dirty, cap_dirty;
    uint64_t total; /* entries written by every node: every branch, every succession */
    int n_complete;
    uint64_t complete_since;
    uint64_t writes_left;
    uint64_t scenario_end;
    uint64_t next_fork_check;
    uint8_t netkey[AM_NETKEY_LEN];
    char *root;
    uint8_t *opbuf; /* SIM_BATCH_MAX ops of SIM_OP_CAP */
    struct sim_result r;
    FILE *progress;
    int fatal;
    char *err;
    size_t errcap;
};

/* ---- sim.c ---- */

/* A number of the run's generator in [0, n) (0 when n is 0). */
uint64_t sim_rnd_below(struct sim *s, uint64_t n);
/* The same from the workload's generator (s->work). */
uint64_t sim_work_below(struct sim *s, uint64_t n);
/* n bytes of the run's generator into p. */
void sim_rnd_bytes(struct sim *s, uint8_t *p, size_t n);
/* Stops the run with rc (AM_ESYS if 0) and a sentence "what[ of who]: reason" in s->err;
 * the first call wins. who is nullable. */
void sim_fatal(struct sim *s, int rc, const char *what, const char *who);
/* A duration as "2h05m10.250s" into b (cap bytes). */
void sim_fmt_dur(char *b, size_t cap, uint64_t us);
/* Queues an event at time t (not before now; ties in insertion order). buf (nullable) is
 * owned by the queue until the event is handled. On failure: sim_fatal. */
void sim_push(struct sim *s, uint64_t t, int type, int a, int b, uint64_t serial, uint8_t *buf,
              size_t len);
/* The index of author pk, or -1. */
int sim_author_find(const struct sim *s, const uint8_t *pk);
/* Node n's store now holds author a's root log up to seq (no-op if it did already). */
void sim_node_set_seq(struct sim_node *n, int a, uint64_t seq);
/* Node n's store holds k more entries (appended or ingested): convergence accounting. */
void sim_node_gained(struct sim_node *n, uint64_t k);
/* How many (counted node, forked author) pairs lack fork evidence: 0 when every node
 * knows. An author cloned but forked on no node is not forked. With `out`, the nodes that
 * do not know are listed there (cap bytes). */
int sim_forks_missing(struct sim *s, char *out, size_t cap);

/* ---- sim_net.c ---- */

/* Node n's wall clock in ms since 1970: the true time plus its skew. */
uint64_t sim_wall_ms(const struct sim_node *n);
/* Opens node n's store in n->dir and fills its sync_store table. AM_OK or a store error. */
int sim_node_open_store(struct sim_node *n);
/* The identity of node idx, generation gen (a re-keyed laptop gets the next one), from the
 * run's seed. */
void sim_node_key(struct sim *s, int idx, int gen, uint8_t pk[AM_PK_LEN], uint8_t sk[AM_SK_LEN]);
/* Contact cid has work to do: settled by sim_settle_dirty. */
void sim_mark_dirty(struct sim *s, int cid);
/* sync_config.on_new of every session (ctx: its struct sim_side). */
void sim_on_new(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t seq);
/* Ends contact cid at once; `crashed` (a node index or -1) stores nothing more. */
void sim_contact_drop(struct sim *s, int cid, int crashed);
/* Opens contact cid: node a dials node b over a pipe of bw bytes/s and lat us; garbage:
 * side 0 is a garbage peer. AM_OK or an error (also through sim_fatal). */
int sim_contact_open(struct sim *s, int cid, int a, int b, uint64_t bw, uint64_t lat, int garbage);
/* Runs every contact marked dirty until none has work left. */
void sim_settle_dirty(struct sim *s);

/* ---- sim_report.c ---- */

/* The view fingerprints of every node into s->r (groups, unexplained, ok), the entries
 * missing on the worst node (each store's own count against those written) and the forked
 * authors. AM_OK or AM_ENOMEM / a store error. */
int sim_final_checks(struct sim *s);
/* The short-contact figure at the end of the cut phase into s->r (crit_*). AM_OK or
 * AM_ENOMEM / a store error. */
int sim_cut_figure(struct sim *s);
/* The report of the run (readable, or one JSON object) to out. */
void sim_report(struct sim *s, uint64_t seed, int json, FILE *out);

#endif
