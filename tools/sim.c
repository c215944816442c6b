/*
 * sim.c: the engine of aidmesh-sim (see sim.h for what it models and promises).
 *
 * One event queue (a binary heap ordered by simulated time, then by insertion) drives
 * everything: writes, LAN links going up and down, runner visits, crashes and restarts,
 * the clone, garbage peers, and the bytes of every contact. A contact is two real
 * sync_sessions (initiator and responder) joined by a pipe per direction: a sender takes
 * at most SIM_CHUNK bytes of sync_output() at a time, the pipe is busy for
 * bytes / bandwidth, and the bytes reach the other session one latency later
 * (sync_tick to the arrival time, sync_feed, sync_flush). Every session's deadline is
 * kept in the queue (sync_next_deadline / sync_tick). Entries that arrive at a node are
 * pushed to its other sessions through cfg.on_new and sync_notify, as the daemon does.
 *
 * Each node's store is reached through a small struct sync_store of this file, so the
 * ingest uses the node's simulated wall clock (true time + its skew), not the machine's.
 * Never sleeps; never prints except into the report and progress streams it is given.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "entry.h"
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

enum { K_HUB, K_MEMBER, K_RUNNER, K_CLONE, K_GARBAGE };
enum {
    EV_WRITE,
    EV_LINK,
    EV_CONNECT,
    EV_VISIT,
    EV_VISIT_END,
    EV_CRASH,
    EV_RESTART,
    EV_SEND,
    EV_DELIVER,
    EV_TICK,
    EV_CLONE,
    EV_GARBAGE,
    EV_PROGRESS
};

struct ev {
    uint64_t t, order;
    int type, a, b;
    uint64_t serial;
    uint8_t *buf;
    size_t len;
};

struct author {
    uint8_t pk[AM_PK_LEN];
    uint64_t max; /* highest seq written (over both branches when forked) */
    int forked;
};

struct need {
    uint8_t id[RELIEF_ID_LEN];
    struct relief_ref open;
};

struct sim;

struct node {
    struct sim *sim;
    int idx, kind, cluster, up, counted;
    char name[48];
    char *dir;
    struct store *st;
    struct sync_store base, ss; /* syncstore's table; ours (ctx = this node) */
    uint8_t sk[AM_SK_LEN];
    int author, gen;
    int64_t skew_ms;
    uint64_t *seq; /* head seq per author index, as this node's store holds it */
    uint64_t have; /* sum of seq over unforked authors */
    int complete;
    int *cts; /* contacts it is in */
    int n_cts, cap_cts;
    uint64_t quota, written, write_every;
    int write_waiting;       /* a write fell in a crash: done at restart */
    int setup_next, setup_n; /* hub: site and item definitions still to write */
    struct need needs[SIM_NEEDS];
    unsigned n_needs;
    int link; /* LAN link of a member or clone, else -1 */
    uint64_t mem_peak;
};

struct link {
    int a, b; /* a dials b */
    int up;
    uint64_t backoff;
    int connecting;
};

struct side_ctx {
    struct sim *sim;
    int cid, side;
};

struct contact {
    int used;
    uint64_t serial;
    int node[2]; /* node[0] dialled */
    struct sync_session s[2];
    struct side_ctx sc[2];
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
};

struct sim {
    const struct sim_config *c;
    uint64_t now, rng, order;
    struct node *nodes;
    int n_nodes, counted;
    struct author *authors;
    int n_authors, cap_authors;
    int *by_pk; /* author indexes sorted by pk */
    struct link *links;
    int n_links;
    struct contact *cts; /* slot: link i; then route j; then garbage peer k */
    int n_cts;
    struct ev *heap;
    size_t n_heap, cap_heap;
    int *dirty;
    size_t n_dirty, cap_dirty;
    uint64_t total; /* sum of max over unforked authors */
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

static volatile sig_atomic_t sim_stop;

void sim_interrupt(void)
{
    sim_stop = 1;
}

/* ---- small helpers ---------------------------------------------------------------------- */

static uint64_t rnd(struct sim *s)
{
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t rnd_below(struct sim *s, uint64_t n)
{
    return n ? rnd(s) % n : 0;
}

/* uniform in [mean/2, 3*mean/2] */
static uint64_t rnd_around(struct sim *s, uint64_t mean)
{
    return mean / 2 + rnd_below(s, mean + 1);
}

static void rnd_bytes(struct sim *s, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rnd(s) >> 56);
}

static void fatal(struct sim *s, int rc, const char *what, const char *who)
{
    if (s->fatal)
        return;
    s->fatal = rc ? rc : AM_ESYS;
    snprintf(s->err, s->errcap, "%s%s%s: %s", what, who ? " of " : "", who ? who : "",
             am_strerror(rc));
}

/* "2h05m10.250s" */
static void fmt_dur(char *b, size_t cap, uint64_t us)
{
    uint64_t ms = us / 1000, h = ms / 3600000, m = ms / 60000 % 60, sec = ms / 1000 % 60;
    if (h)
        snprintf(b, cap, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 ".%03" PRIu64 "s", h, m, sec,
                 ms % 1000);
    else if (m)
        snprintf(b, cap, "%" PRIu64 "m%02" PRIu64 ".%03" PRIu64 "s", m, sec, ms % 1000);
    else
        snprintf(b, cap, "%" PRIu64 ".%03" PRIu64 "s", sec, ms % 1000);
}

/* ---- the event queue ---------------------------------------------------------------------- */

static int ev_less(const struct ev *a, const struct ev *b)
{
    return a->t < b->t || (a->t == b->t && a->order < b->order);
}

static void push(struct sim *s, uint64_t t, int type, int a, int b, uint64_t serial, uint8_t *buf,
                 size_t len)
{
    struct ev e = {t < s->now ? s->now : t, s->order++, type, a, b, serial, buf, len};
    size_t i;
    if (s->n_heap == s->cap_heap) {
        size_t cap = s->cap_heap ? 2 * s->cap_heap : 1024;
        struct ev *h = realloc(s->heap, cap * sizeof *h);
        if (!h) {
            free(buf);
            fatal(s, AM_ENOMEM, "event queue", NULL);
            return;
        }
        s->heap = h;
        s->cap_heap = cap;
    }
    i = s->n_heap++;
    while (i > 0 && ev_less(&e, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = e;
}

static struct ev pop(struct sim *s)
{
    struct ev top = s->heap[0], last = s->heap[--s->n_heap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const struct ev *best = &last;
        if (l < s->n_heap && ev_less(&s->heap[l], best))
            m = l, best = &s->heap[l];
        if (l + 1 < s->n_heap && ev_less(&s->heap[l + 1], best))
            m = l + 1;
        if (m == i)
            break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (s->n_heap > 0)
        s->heap[i] = last;
    return top;
}

/* ---- authors and convergence accounting ------------------------------------------------------ */

static int author_find(const struct sim *s, const uint8_t *pk)
{
    int lo = 0, hi = s->n_authors;
    while (lo < hi) {
        int mid = (lo + hi) / 2, c = memcmp(s->authors[s->by_pk[mid]].pk, pk, AM_PK_LEN);
        if (c == 0)
            return s->by_pk[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int author_add(struct sim *s, const uint8_t *pk)
{
    int i = s->n_authors, k;
    if (i == s->cap_authors)
        return -1;
    memcpy(s->authors[i].pk, pk, AM_PK_LEN);
    s->authors[i].max = 0;
    s->authors[i].forked = 0;
    for (k = i; k > 0 && memcmp(s->authors[s->by_pk[k - 1]].pk, pk, AM_PK_LEN) > 0; k--)
        s->by_pk[k] = s->by_pk[k - 1];
    s->by_pk[k] = i;
    s->n_authors++;
    return i;
}

static void recount(struct sim *s)
{
    int was = s->n_complete == s->counted;
    s->n_complete = 0;
    for (int i = 0; i < s->n_nodes; i++) {
        struct node *n = &s->nodes[i];
        n->complete = n->counted && n->have == s->total;
        s->n_complete += n->complete;
    }
    if (!was && s->n_complete == s->counted)
        s->complete_since = s->now;
}

static void node_set_seq(struct node *n, int a, uint64_t seq)
{
    struct sim *s = n->sim;
    if (seq <= n->seq[a])
        return;
    if (!s->authors[a].forked) {
        int was = s->n_complete == s->counted;
        n->have += seq - n->seq[a];
        if (n->counted && !n->complete && n->have == s->total) {
            n->complete = 1;
            s->n_complete++;
            if (!was && s->n_complete == s->counted)
                s->complete_since = s->now;
        }
    }
    n->seq[a] = seq;
}

/* ---- the store as the engine sees it, on this node's clock ------------------------------------
 */

static uint64_t wall_ms(const struct node *n)
{
    int64_t w = (int64_t)(n->sim->c->epoch_ms + n->sim->now / 1000) + n->skew_ms;
    return w > 0 ? (uint64_t)w : 1;
}

static int ns_heads(void *ctx, int (*cb)(void *, const struct sync_head *), void *cbctx)
{
    struct node *n = ctx;
    return n->base.heads(n->base.ctx, cb, cbctx);
}

static int ns_head(void *ctx, const uint8_t author[AM_PK_LEN], struct sync_head *h)
{
    struct node *n = ctx;
    return n->base.head(n->base.ctx, author, h);
}

static int ns_entries(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t from,
                      int (*cb)(void *, const uint8_t *, size_t), void *cbctx)
{
    struct node *n = ctx;
    return n->base.entries(n->base.ctx, author, from, cb, cbctx);
}

static int ns_forks(void *ctx, const uint8_t author[AM_PK_LEN],
                    int (*cb)(void *, const uint8_t *, size_t), void *cbctx)
{
    struct node *n = ctx;
    return n->base.forks(n->base.ctx, author, cb, cbctx);
}

static int ns_peers(void *ctx, const uint8_t *hint, size_t hint_len,
                    int (*cb)(void *, const uint8_t author[AM_PK_LEN]), void *cbctx)
{
    struct node *n = ctx;
    return n->base.peers(n->base.ctx, hint, hint_len, cb, cbctx);
}

static int ns_peer_met(void *ctx, const uint8_t author[AM_PK_LEN])
{
    struct node *n = ctx;
    return n->base.peer_met(n->base.ctx, author);
}

static int ns_ingest(void *ctx, const uint8_t *const *raw, const size_t *lens, size_t n_raw,
                     struct sync_ingest_result *res)
{
    struct node *n = ctx;
    return syncstore_ingest(n->st, raw, lens, n_raw, wall_ms(n), res, &n->sim->r.future_stamped);
}

static int node_open_store(struct node *n)
{
    struct store_opts o = {.map_initial = n->sim->c->map_initial,
                           .view_cache = n->sim->c->view_cache};
    int rc = store_open(&n->st, n->dir, &o);
    if (rc != AM_OK) {
        n->st = NULL;
        return rc;
    }
    syncstore_init(&n->base, n->st);
    n->ss = n->base;
    n->ss.ctx = n;
    n->ss.heads = ns_heads;
    n->ss.head = ns_head;
    n->ss.entries = ns_entries;
    n->ss.forks = ns_forks;
    n->ss.ingest = ns_ingest;
    /* every other function of the table reaches the store through this node too */
    n->ss.peers = n->base.peers ? ns_peers : NULL;
    n->ss.peer_met = n->base.peer_met ? ns_peer_met : NULL;
    return AM_OK;
}

/* The identity of node idx, generation gen (a re-keyed laptop gets the next one). */
static void node_key(struct sim *s, int idx, int gen, uint8_t pk[AM_PK_LEN], uint8_t sk[AM_SK_LEN])
{
    uint8_t in[24] = "aidmesh-sim key";
    uint8_t seed[AM_SEED_LEN];
    for (int i = 0; i < 4; i++) {
        in[16 + i] = (uint8_t)((unsigned)idx >> (24 - 8 * i));
        in[20 + i] = (uint8_t)((unsigned)gen >> (24 - 8 * i));
    }
    crypto_generichash(seed, sizeof seed, in, sizeof in, s->netkey, sizeof s->netkey);
    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(seed, sizeof seed);
}

/* ---- contacts ----------------------------------------------------------------------------- */

static void mark_dirty(struct sim *s, int cid)
{
    if (s->n_dirty == s->cap_dirty) {
        size_t cap = s->cap_dirty ? 2 * s->cap_dirty : 64;
        int *d = realloc(s->dirty, cap * sizeof *d);
        if (!d) {
            fatal(s, AM_ENOMEM, "contact list", NULL);
            return;
        }
        s->dirty = d;
        s->cap_dirty = cap;
    }
    s->dirty[s->n_dirty++] = cid;
}

static int node_add_contact(struct node *n, int cid)
{
    if (n->n_cts == n->cap_cts) {
        int cap = n->cap_cts ? 2 * n->cap_cts : 8;
        int *v = realloc(n->cts, (size_t)cap * sizeof *v);
        if (!v)
            return AM_ENOMEM;
        n->cts = v;
        n->cap_cts = cap;
    }
    n->cts[n->n_cts++] = cid;
    return AM_OK;
}

static void node_remove_contact(struct node *n, int cid)
{
    for (int i = 0; i < n->n_cts; i++)
        if (n->cts[i] == cid) {
            memmove(n->cts + i, n->cts + i + 1, (size_t)(n->n_cts - i - 1) * sizeof *n->cts);
            n->n_cts--;
            return;
        }
}

/* A session stored entries that advanced `author` to `seq`: tell the node's others. */
static void on_new(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t seq)
{
    struct side_ctx *sc = ctx;
    struct sim *s = sc->sim;
    struct contact *c = &s->cts[sc->cid];
    struct node *n = &s->nodes[c->node[sc->side]];
    int a = author_find(s, author);
    if (a >= 0)
        node_set_seq(n, a, seq);
    for (int i = 0; i < n->n_cts; i++) {
        int cid = n->cts[i];
        struct contact *o = &s->cts[cid];
        if (cid == sc->cid)
            continue;
        sync_notify(&o->s[o->node[0] == n->idx ? 0 : 1], author, seq);
        mark_dirty(s, cid);
    }
}

static void add_stats(struct sim *s, const struct sync_session *ss)
{
    const struct sync_stats *t = sync_stats(ss);
    s->r.bytes += t->bytes_out;
    s->r.summary_bytes += t->summary_out;
    s->r.received += t->entries_in;
    s->r.delivered += t->added;
    s->r.duplicates += t->duplicate;
    s->r.fork_entries += t->forks;
    s->r.refused += t->refused;
}

static uint64_t entries_of(struct node *n)
{
    struct store_stats st;
    return n->st && store_stats(n->st, &st) == AM_OK ? st.entries : 0;
}

/* Ends a contact at once (a cable pulled, a runner walking away, a crash): each side
 * that is still running stores what it read, as the daemon does when a connection ends.
 * `crashed` (a node index or -1) stores nothing more. */
static void contact_drop(struct sim *s, int cid, int crashed)
{
    struct contact *c = &s->cts[cid];
    if (!c->used)
        return;
    c->used = 0; /* first: flushes below may call on_new, which must not see it */
    for (int x = 0; x < 2; x++) {
        struct node *n = &s->nodes[c->node[x]];
        node_remove_contact(n, cid);
    }
    for (int x = 0; x < 2; x++) {
        if (c->node[x] != crashed && !(sync_state(&c->s[x]) & SYNC_CLOSED))
            sync_flush(&c->s[x]);
        if (!c->garbage) /* an attacker's traffic is not the network's cost */
            add_stats(s, &c->s[x]);
    }
    if (c->garbage) {
        struct node *h = &s->nodes[c->node[1]];
        uint64_t after = entries_of(h);
        s->r.garbage_contacts++;
        if (sync_error(&c->s[1]) != AM_OK)
            s->r.garbage_closed++;
        if (after < c->honest_before)
            s->r.garbage_lost += c->honest_before - after;
    }
    c->failed = sync_error(&c->s[0]) != AM_OK || sync_error(&c->s[1]) != AM_OK;
    sync_free(&c->s[0]);
    sync_free(&c->s[1]);
    memset(c->s, 0, sizeof c->s);
    c->serial++;
    if (cid < s->n_links) {
        struct link *l = &s->links[cid];
        /* reconnect while the link is up: soon after a clean end, with growing backoff
         * (1 s doubling to 60 s, +-25%) after an error */
        if (c->failed)
            l->backoff = l->backoff
                             ? (2 * l->backoff < SIM_BACKOFF_MAX ? 2 * l->backoff : SIM_BACKOFF_MAX)
                             : SIM_BACKOFF_MIN;
        else
            l->backoff = 0;
        if (l->up && !l->connecting) {
            uint64_t b = l->backoff ? l->backoff : SIM_BACKOFF_MIN;
            l->connecting = 1;
            push(s, s->now + b - b / 4 + rnd_below(s, b / 2 + 1), EV_CONNECT, cid, 0, 0, NULL, 0);
        }
    }
}

static int contact_open(struct sim *s, int cid, int a, int b, uint64_t bw, uint64_t lat,
                        int garbage)
{
    struct contact *c = &s->cts[cid];
    int rc;
    c->used = 1;
    c->node[0] = a;
    c->node[1] = b;
    c->bw = bw;
    c->lat = lat;
    c->busy[0] = c->busy[1] = 0;
    c->send_pending[0] = c->send_pending[1] = 0;
    c->inflight[0] = c->inflight[1] = 0;
    c->tick_at = UINT64_MAX;
    c->garbage = garbage;
    c->gon = garbage == 1;
    c->gleft = garbage ? SIM_GARBAGE_LEN : 0;
    c->failed = 0;
    memset(c->s, 0, sizeof c->s);
    for (int x = 0; x < 2; x++) {
        struct node *n = &s->nodes[c->node[x]];
        struct sync_config cfg;
        c->sc[x].sim = s;
        c->sc[x].cid = cid;
        c->sc[x].side = x;
        rnd_bytes(s, c->eph[x], sizeof c->eph[x]);
        memset(&cfg, 0, sizeof cfg);
        cfg.initiator = x == 0;
        cfg.netkey = s->netkey;
        cfg.sk = n->sk;
        store_install_id(n->st, c->install[x], NULL);
        cfg.install_id = c->install[x];
        cfg.store = &n->ss;
        cfg.now_ms = s->now / 1000;
        cfg.on_new = on_new;
        cfg.on_new_ctx = &c->sc[x];
        cfg.ephemeral = c->eph[x];
        rc = sync_init(&c->s[x], &cfg);
        if (rc != AM_OK) {
            fatal(s, rc, "sync_init", n->name);
            c->used = 0;
            sync_free(&c->s[0]);
            sync_free(&c->s[1]);
            return rc;
        }
        if ((rc = node_add_contact(n, cid)) != AM_OK) {
            fatal(s, rc, "contact list", n->name);
            return rc;
        }
    }
    if (garbage)
        c->honest_before = entries_of(&s->nodes[b]);
    s->r.contacts++;
    mark_dirty(s, cid);
    return AM_OK;
}

/* Puts up to SIM_CHUNK bytes of side d's output on the pipe. Returns 1 if some went. */
static int send_chunk(struct sim *s, int cid, int d)
{
    struct contact *c = &s->cts[cid];
    uint8_t *buf;
    size_t n, k;
    uint64_t tx;

    if (c->garbage && d == 0 && c->gon) {
        if (c->gleft == 0)
            return 0;
        k = c->gleft < SIM_CHUNK ? (size_t)c->gleft : SIM_CHUNK;
        if (!(buf = malloc(k))) {
            fatal(s, AM_ENOMEM, "pipe", NULL);
            return 0;
        }
        rnd_bytes(s, buf, k);
        if (c->gleft == SIM_GARBAGE_LEN && c->garbage == 1 && k >= SYNC_PREAMBLE_LEN) {
            /* a well-formed preamble, then noise where the handshake should be */
            static const uint8_t pre[SYNC_PREAMBLE_LEN] = {
                'A', 'M', 'S', 'Y', SYNC_VERSION_MAJOR, SYNC_VERSION_MINOR, 0, 0};
            memcpy(buf, pre, sizeof pre);
        }
        c->gleft -= k;
    } else {
        const uint8_t *out = sync_output(&c->s[d], &n);
        if (n == 0)
            return 0;
        k = n < SIM_CHUNK ? n : SIM_CHUNK;
        if (!(buf = malloc(k))) {
            fatal(s, AM_ENOMEM, "pipe", NULL);
            return 0;
        }
        memcpy(buf, out, k);
        sync_output_done(&c->s[d], k);
    }
    tx = (uint64_t)k * 1000000 / c->bw;
    c->busy[d] = s->now + (tx ? tx : 1);
    c->inflight[d]++;
    push(s, c->busy[d] + c->lat, EV_DELIVER, cid, d, c->serial, buf, k);
    return 1;
}

static int has_output(struct contact *c, int d)
{
    size_t n;
    if (c->garbage && d == 0 && c->gon)
        return c->gleft > 0;
    if (c->garbage && d == 0 && (sync_state(&c->s[0]) & SYNC_CLOSED))
        return 0;
    sync_output(&c->s[d], &n);
    return n > 0;
}

static void pump(struct sim *s, int cid, int d)
{
    struct contact *c = &s->cts[cid];
    if (c->send_pending[d])
        return;
    if (c->busy[d] > s->now) {
        if (has_output(c, d)) {
            c->send_pending[d] = 1;
            push(s, c->busy[d], EV_SEND, cid, d, c->serial, NULL, 0);
        }
        return;
    }
    if (send_chunk(s, cid, d) && has_output(c, d)) {
        c->send_pending[d] = 1;
        push(s, c->busy[d], EV_SEND, cid, d, c->serial, NULL, 0);
    }
}

static void node_mem(struct sim *s, struct node *n)
{
    uint64_t m = 0;
    for (int i = 0; i < n->n_cts; i++) {
        struct contact *c = &s->cts[n->cts[i]];
        const struct sync_session *ss = &c->s[c->node[0] == n->idx ? 0 : 1];
        m += SIM_SESSION_MEM + ss->out_cap + (sync_stats(ss)->entries_in ? SIM_PENDING_MEM : 0);
    }
    if (m > n->mem_peak)
        n->mem_peak = m;
    if (m > s->r.peak_node_mem)
        s->r.peak_node_mem = m;
}

/* After anything happened to a contact: end it if a side closed and said all it had to
 * say, move bytes, and keep its next deadline in the queue. */
static void contact_settle(struct sim *s, int cid)
{
    struct contact *c = &s->cts[cid];
    uint64_t dl = UINT64_MAX;

    if (!c->used)
        return;
    for (int x = 0; x < 2; x++) {
        size_t n;
        /* keep each session's clock current, so what it sends is stamped now */
        if (!(sync_state(&c->s[x]) & SYNC_CLOSED))
            sync_tick(&c->s[x], s->now / 1000);
        if (c->garbage && x == 0)
            continue;
        sync_output(&c->s[x], &n);
        if (n > s->r.peak_queue)
            s->r.peak_queue = n;
    }
    if (c->garbage == 2 && !c->gon && (sync_state(&c->s[1]) & SYNC_HANDSHAKEN))
        c->gon = 1; /* the honest side trusts the channel now: noise from here on */
    if (c->garbage) {
        /* the honest side hung up: the garbage peer does not wait for its goodbye */
        if (sync_state(&c->s[1]) & SYNC_CLOSED) {
            contact_drop(s, cid, -1);
            return;
        }
    } else {
        for (int x = 0; x < 2; x++)
            if ((sync_state(&c->s[x]) & SYNC_CLOSED) && !has_output(c, x) && c->inflight[x] == 0) {
                contact_drop(s, cid, -1);
                return;
            }
    }
    pump(s, cid, 0);
    pump(s, cid, 1);
    for (int x = 0; x < 2; x++) {
        uint64_t d = sync_next_deadline(&c->s[x]);
        if (d != UINT64_MAX && d * 1000 < dl)
            dl = d * 1000;
    }
    if (dl != UINT64_MAX && dl < s->now)
        dl = s->now;
    if (dl < c->tick_at) {
        c->tick_at = dl;
        push(s, dl, EV_TICK, cid, 0, c->serial, NULL, 0);
    }
    node_mem(s, &s->nodes[c->node[0]]);
    node_mem(s, &s->nodes[c->node[1]]);
}

static void settle_dirty(struct sim *s)
{
    while (s->n_dirty > 0 && !s->fatal) {
        int cid = s->dirty[--s->n_dirty];
        contact_settle(s, cid);
    }
}

/* ---- writing relief ops -----------------------------------------------------------------------
 */

static struct relief_str rstr(const char *p)
{
    struct relief_str r = {p, (uint32_t)strlen(p)};
    return r;
}

#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

struct readback {
    struct node *n;
    const int *is_open;
    uint64_t first, i, k;
};

static int readback_cb(void *ctx, const uint8_t *raw, size_t len)
{
    struct readback *rb = ctx;
    struct entry e;
    uint8_t h[AM_HASH_LEN];
    if (rb->i >= rb->k)
        return 1;
    if (entry_decode(&e, raw, len) == AM_OK && rb->is_open[rb->i]) {
        struct need *nd = &rb->n->needs[rb->n->n_needs++ % SIM_NEEDS];
        entry_hash(&e, h);
        relief_need_id(h, nd->id);
        memcpy(nd->open.author, e.author, AM_PK_LEN);
        nd->open.seq = e.seq;
    }
    rb->i++;
    return 0;
}

/* One op for node n into buf; *is_open says it opens a need. */
static int make_op(struct sim *s, struct node *n, uint8_t *buf, size_t *len, int *is_open)
{
    struct relief_op o;
    struct relief_ref ctx[RELIEF_REFS_MAX];
    char site[24], item[24], name[40], err[RELIEF_ERR_MAX];
    unsigned known = n->n_needs < SIM_NEEDS ? n->n_needs : SIM_NEEDS;
    uint64_t r = rnd_below(s, 100);
    int rc;

    memset(&o, 0, sizeof o);
    *is_open = 0;
    snprintf(site, sizeof site, "site-%02d", n->cluster);
    snprintf(item, sizeof item, "item-%03d", (int)rnd_below(s, s->c->items));
    if (n->setup_next < n->setup_n) {
        int k = n->setup_next++;
        if (k == 0) {
            o.type = RELIEF_T_SITE;
            o.site = rstr(site);
            snprintf(name, sizeof name, "Hub %d", n->cluster);
            o.name = rstr(name);
            o.kind = RELIEF_KIND_HUB;
            HAS(&o, SLUG), HAS(&o, NAME), HAS(&o, KIND);
        } else {
            int it = n->cluster + (k - 1) * s->c->clusters;
            snprintf(item, sizeof item, "item-%03d", it);
            snprintf(name, sizeof name, "Item %d", it);
            o.type = RELIEF_T_ITEM;
            o.item = rstr(item);
            o.name = rstr(name);
            o.unit = rstr("piece");
            HAS(&o, CODE), HAS(&o, NAME), HAS(&o, UNIT);
        }
    } else if (r < 10 || (r < 20 && known == 0)) {
        o.type = RELIEF_T_NEED_OPEN;
        o.site = rstr(site);
        o.item = rstr(item);
        o.q = 1 + (int64_t)rnd_below(s, 500);
        o.pri = 1 + (int)rnd_below(s, 4);
        HAS(&o, SITE), HAS(&o, ITEM), HAS(&o, Q), HAS(&o, PRI);
        *is_open = 1;
    } else if (r < 20) {
        struct need *nd = &n->needs[rnd_below(s, known)];
        memcpy(o.need, nd->id, RELIEF_ID_LEN);
        HAS(&o, NEED);
        if (r < 17) {
            o.type = RELIEF_T_NEED_DLV;
            o.q = 1 + (int64_t)rnd_below(s, 100);
            HAS(&o, Q);
        } else {
            o.sup.n = 1;
            o.sup.arr = &nd->open;
            HAS(&o, SUP);
            if (r < 19) {
                o.type = RELIEF_T_NEED_UPD;
                o.pri = 1 + (int)rnd_below(s, 4);
                HAS(&o, PRI);
            } else {
                o.type = RELIEF_T_NEED_CLOSE;
                o.st = RELIEF_ST_FULFILLED;
                HAS(&o, ST);
            }
        }
    } else if (r < 96) {
        uint64_t x = rnd_below(s, 10);
        o.type = RELIEF_T_STOCK_MOVE;
        o.site = rstr(site);
        o.item = rstr(item);
        o.q = 1 + (int64_t)rnd_below(s, 50);
        o.reason = x < 5 ? RELIEF_R_RECEIVED : x < 9 ? RELIEF_R_ISSUED : RELIEF_R_DAMAGED;
        HAS(&o, SITE), HAS(&o, ITEM), HAS(&o, Q), HAS(&o, R);
    } else {
        /* a stock-take: ctx names what this device has seen of its cluster's authors */
        uint32_t nc = 0;
        int per = 1 + s->c->members;
        o.type = RELIEF_T_STOCK_COUNT;
        o.site = rstr(site);
        o.item = rstr(item);
        o.q = (int64_t)rnd_below(s, 1000);
        for (int i = 0; i < per && n->cluster >= 0 && nc < RELIEF_REFS_MAX; i++) {
            const struct node *m = &s->nodes[n->cluster * per + i];
            if (m->author != n->author && n->seq[m->author] > 0) {
                memcpy(ctx[nc].author, s->authors[m->author].pk, AM_PK_LEN);
                ctx[nc++].seq = n->seq[m->author];
            }
        }
        relief_ctx_normalize(ctx, &nc);
        o.ctx.n = nc;
        o.ctx.arr = ctx;
        HAS(&o, SITE), HAS(&o, ITEM), HAS(&o, Q), HAS(&o, CTX);
    }
    rc = relief_op_encode(&o, buf, SIM_OP_CAP, len, err, sizeof err);
    if (rc != AM_OK)
        snprintf(s->err, s->errcap, "relief op of %s: %s", n->name, err);
    return rc;
}

static void node_drop_all(struct sim *s, struct node *n, int crashed)
{
    while (n->n_cts > 0)
        contact_drop(s, n->cts[0], crashed ? n->idx : -1);
}

/* The operator's answer to "this identity is forked" (PROTOCOL.md section 6): a new
 * identity (`aidmesh init --force`), and the daemon restarted with it. */
static int rekey(struct sim *s, struct node *n)
{
    uint8_t pk[AM_PK_LEN];
    int a;
    node_key(s, n->idx, n->gen + 1, pk, n->sk);
    if ((a = author_add(s, pk)) < 0)
        return AM_ELIMIT;
    n->gen++;
    n->author = a;
    s->r.rekeys++;
    node_drop_all(s, n, 0);
    return AM_OK;
}

static void schedule_write(struct sim *s, struct node *n)
{
    if (n->written < n->quota)
        push(s, s->now + rnd_around(s, n->write_every), EV_WRITE, n->idx, 0, 0, NULL, 0);
}

static void do_write(struct sim *s, struct node *n)
{
    const uint8_t *ops[SIM_BATCH_MAX];
    size_t lens[SIM_BATCH_MAX];
    int is_open[SIM_BATCH_MAX], any_open = 0, rc;
    uint64_t k = n->quota - n->written, before;
    struct store_head head;
    struct author *au;

    if (!n->up) {
        n->write_waiting = 1;
        return;
    }
    if (k > s->c->batch)
        k = s->c->batch;
    for (uint64_t i = 0; i < k; i++) {
        uint8_t *b = s->opbuf + i * SIM_OP_CAP;
        if ((rc = make_op(s, n, b, &lens[i], &is_open[i])) != AM_OK) {
            fatal(s, rc, "relief op", n->name);
            return;
        }
        ops[i] = b;
        any_open |= is_open[i];
    }
    rc = store_append(n->st, n->sk, ops, lens, (size_t)k, wall_ms(n), &head);
    if (rc == AM_EFORK) {
        /* this laptop's identity is known to be forked: the store refuses to extend it */
        s->r.refused_appends += k;
        if ((rc = rekey(s, n)) == AM_OK)
            rc = store_append(n->st, n->sk, ops, lens, (size_t)k, wall_ms(n), &head);
    }
    if (rc != AM_OK) {
        fatal(s, rc, "store_append", n->name);
        return;
    }
    au = &s->authors[n->author];
    before = au->max;
    if (head.seq > au->max)
        au->max = head.seq;
    if (!au->forked && au->max > before) {
        s->total += au->max - before;
        node_set_seq(n, n->author, head.seq);
        recount(s);
    } else {
        node_set_seq(n, n->author, head.seq);
    }
    n->written += k;
    s->r.entries_written += k;
    s->writes_left -= k < s->writes_left ? k : s->writes_left;
    s->r.last_write = s->now;
    if (any_open) {
        struct readback rb = {n, is_open, head.seq - k + 1, 0, k};
        store_entries_each(n->st, au->pk, rb.first, readback_cb, &rb);
    }
    for (int i = 0; i < n->n_cts; i++) {
        struct contact *c = &s->cts[n->cts[i]];
        sync_notify(&c->s[c->node[0] == n->idx ? 0 : 1], au->pk, head.seq);
        mark_dirty(s, n->cts[i]);
    }
    schedule_write(s, n);
}

/* ---- scenario events ----------------------------------------------------------------------- */

static int cut_off(const struct sim *s, int cluster)
{
    for (int i = 0; i < s->c->n_partitions; i++) {
        const struct sim_partition *p = &s->c->partitions[i];
        if (p->from <= s->now && s->now < p->to && p->cut[cluster])
            return 1;
    }
    return 0;
}

static void try_connect(struct sim *s, int li)
{
    struct link *l = &s->links[li];
    int cid = li;
    l->connecting = 0;
    if (!l->up || s->cts[cid].used || !s->nodes[l->a].up || !s->nodes[l->b].up)
        return;
    contact_open(s, cid, l->a, l->b, s->c->lan_bw, s->c->lan_lat, 0);
}

static void link_event(struct sim *s, int li)
{
    struct link *l = &s->links[li];
    l->up = !l->up;
    if (l->up) {
        if (!l->connecting) {
            l->connecting = 1;
            push(s, s->now + rnd_below(s, 200000), EV_CONNECT, li, 0, 0, NULL, 0);
        }
        push(s, s->now + rnd_around(s, s->c->lan_up), EV_LINK, li, 0, 0, NULL, 0);
    } else {
        if (s->cts[li].used)
            contact_drop(s, li, -1);
        push(s, s->now + rnd_around(s, s->c->lan_down), EV_LINK, li, 0, 0, NULL, 0);
    }
}

static uint64_t visit_time(const struct sim *s, const struct sim_route *r, uint64_t v)
{
    return (v / (uint64_t)r->n) * s->c->round + r->offset +
           (v % (uint64_t)r->n) * (s->c->round / (uint64_t)r->n);
}

static void visit_event(struct sim *s, int ri, uint64_t v)
{
    const struct sim_route *r = &s->c->routes[ri];
    int cid = s->n_links + ri;
    int runner = s->c->clusters * (1 + s->c->members) + r->runner;
    int hub = r->hubs[v % (uint64_t)r->n] * (1 + s->c->members);

    push(s, visit_time(s, r, v + 1), EV_VISIT, ri, 0, v + 1, NULL, 0);
    if (s->cts[cid].used)
        contact_drop(s, cid, -1);
    if (cut_off(s, r->hubs[v % (uint64_t)r->n]) || !s->nodes[runner].up || !s->nodes[hub].up)
        return;
    if (contact_open(s, cid, runner, hub, s->c->run_bw, s->c->run_lat, 0) == AM_OK)
        push(s, s->now + r->dwell, EV_VISIT_END, cid, 0, s->cts[cid].serial, NULL, 0);
}

static void reconnect_links_of(struct sim *s, struct node *n)
{
    for (int li = 0; li < s->n_links; li++) {
        struct link *l = &s->links[li];
        if ((l->a == n->idx || l->b == n->idx) && l->up && !l->connecting && !s->cts[li].used) {
            l->connecting = 1;
            push(s, s->now + SIM_BACKOFF_MIN / 2 + rnd_below(s, SIM_BACKOFF_MIN), EV_CONNECT, li, 0,
                 0, NULL, 0);
        }
    }
}

static void crash_event(struct sim *s, int ci)
{
    const struct sim_crash *k = &s->c->crashes[ci];
    struct node *n = &s->nodes[k->node];
    if (!n->up)
        return;
    node_drop_all(s, n, 1);
    store_close(n->st);
    n->st = NULL;
    n->up = 0;
    s->r.crashes++;
    push(s, s->now + k->down, EV_RESTART, k->node, 0, 0, NULL, 0);
}

static void restart_event(struct sim *s, int idx)
{
    struct node *n = &s->nodes[idx];
    int rc = node_open_store(n);
    if (rc != AM_OK) {
        fatal(s, rc, "reopening the store", n->name);
        return;
    }
    n->up = 1;
    reconnect_links_of(s, n);
    if (n->write_waiting) {
        n->write_waiting = 0;
        push(s, s->now, EV_WRITE, idx, 0, 0, NULL, 0);
    }
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = -1, rc = AM_ESYS;
    char buf[65536];
    ssize_t k;
    if (in < 0)
        return AM_ESYS;
    if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
        goto out;
    while ((k = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)k) != k)
            goto out;
    rc = k == 0 ? AM_OK : AM_ESYS;
out:
    close(in);
    if (out >= 0)
        close(out);
    return rc;
}

/* The twin's laptop is copied, store and key, and switched on in another cluster. */
static void clone_event(struct sim *s, int ci)
{
    const struct sim_clone *k = &s->c->clones[ci];
    struct node *t = &s->nodes[k->twin];
    struct node *n = &s->nodes[s->c->clusters * (1 + s->c->members) + s->c->runners + ci];
    char from[4096], to[4096];
    int a = t->author, rc;

    snprintf(from, sizeof from, "%s/data.mdb", t->dir);
    snprintf(to, sizeof to, "%s/data.mdb", n->dir);
    if (mkdir(n->dir, 0700) != 0 || copy_file(from, to) != AM_OK) {
        fatal(s, AM_ESYS, "copying the store", t->name);
        return;
    }
    if ((rc = node_open_store(n)) != AM_OK) {
        fatal(s, rc, "opening the copied store", n->name);
        return;
    }
    memcpy(n->sk, t->sk, AM_SK_LEN);
    n->author = a;
    n->gen = t->gen;
    memcpy(n->seq, t->seq, (size_t)s->cap_authors * sizeof *n->seq);
    n->have = t->have;
    n->up = 1;
    n->counted = 1;
    s->counted++;
    /* the author is about to fork: from now on it counts apart */
    if (!s->authors[a].forked) {
        s->authors[a].forked = 1;
        s->total -= s->authors[a].max;
        for (int i = 0; i < s->n_nodes; i++)
            s->nodes[i].have -= s->nodes[i].seq[a];
    }
    recount(s);
    s->links[n->link].up = 0;
    link_event(s, n->link);
    schedule_write(s, n);
}

static void garbage_event(struct sim *s, int gi, int count)
{
    const struct sim_garbage *g = &s->c->garbage[gi];
    int cid = s->n_links + s->c->n_routes + gi;
    int gnode = s->c->clusters * (1 + s->c->members) + s->c->runners + s->c->n_clones + gi;
    int hub = g->cluster * (1 + s->c->members);
    if (count + 1 < g->count)
        push(s, s->now + g->every, EV_GARBAGE, gi, count + 1, 0, NULL, 0);
    if (s->cts[cid].used)
        contact_drop(s, cid, -1);
    if (!s->nodes[hub].up)
        return;
    contact_open(s, cid, gnode, hub, s->c->lan_bw, s->c->lan_lat, 1 + count % 2);
}

static void deliver_event(struct sim *s, struct ev *e)
{
    struct contact *c = &s->cts[e->a];
    int to = 1 - e->b;
    if (!c->used || c->serial != e->serial) {
        free(e->buf);
        return;
    }
    c->inflight[e->b]--;
    if (!(sync_state(&c->s[to]) & SYNC_CLOSED)) {
        sync_tick(&c->s[to], s->now / 1000);
        if (!(sync_state(&c->s[to]) & SYNC_CLOSED)) {
            sync_feed(&c->s[to], e->buf, e->len);
            if (!(sync_state(&c->s[to]) & SYNC_CLOSED))
                sync_flush(&c->s[to]);
        }
    }
    free(e->buf);
    mark_dirty(s, e->a);
}

static void tick_event(struct sim *s, struct ev *e)
{
    struct contact *c = &s->cts[e->a];
    if (!c->used || c->serial != e->serial || c->tick_at != e->t)
        return;
    c->tick_at = UINT64_MAX;
    sync_tick(&c->s[0], s->now / 1000);
    sync_tick(&c->s[1], s->now / 1000);
    mark_dirty(s, e->a);
}

/* How many (counted node, forked author) pairs lack fork evidence: 0 when every node
 * knows. With `out`, the nodes that do not know are listed there (their name, the seq of
 * the branch they keep). */
static int forks_missing(struct sim *s, char *out, size_t cap)
{
    int missing = 0;
    size_t used = 0;
    if (out && cap)
        out[0] = 0;
    for (int a = 0; a < s->n_authors; a++) {
        if (!s->authors[a].forked)
            continue;
        for (int i = 0; i < s->n_nodes; i++) {
            struct node *n = &s->nodes[i];
            struct store_head h;
            if (!n->counted)
                continue;
            if (!n->st || store_head_get(n->st, s->authors[a].pk, &h) != AM_OK ||
                !(h.flags & STORE_HEAD_FORKED)) {
                missing++;
                if (out && used + 32 < cap)
                    used += (size_t)snprintf(out + used, cap - used, "%s%s (seq %" PRIu64 ")",
                                             used ? ", " : "", n->name, n->seq[a]);
            }
        }
    }
    return missing;
}

static void handle(struct sim *s, struct ev *e)
{
    switch (e->type) {
    case EV_WRITE:
        do_write(s, &s->nodes[e->a]);
        break;
    case EV_LINK:
        link_event(s, e->a);
        break;
    case EV_CONNECT:
        try_connect(s, e->a);
        break;
    case EV_VISIT:
        visit_event(s, e->a, e->serial);
        break;
    case EV_VISIT_END:
        if (s->cts[e->a].used && s->cts[e->a].serial == e->serial)
            contact_drop(s, e->a, -1);
        break;
    case EV_CRASH:
        crash_event(s, e->a);
        break;
    case EV_RESTART:
        restart_event(s, e->a);
        break;
    case EV_SEND:
        if (s->cts[e->a].used && s->cts[e->a].serial == e->serial) {
            s->cts[e->a].send_pending[e->b] = 0;
            mark_dirty(s, e->a);
        }
        break;
    case EV_DELIVER:
        deliver_event(s, e);
        break;
    case EV_TICK:
        tick_event(s, e);
        break;
    case EV_CLONE:
        clone_event(s, e->a);
        break;
    case EV_GARBAGE:
        garbage_event(s, e->a, e->b);
        break;
    case EV_PROGRESS:
        if (s->progress) {
            char t[32];
            fmt_dur(t, sizeof t, s->now);
            fprintf(s->progress,
                    "aidmesh-sim: t=%s: %d of %d nodes hold every entry, %" PRIu64 " of %" PRIu64
                    " entries written, %" PRIu64 " events\n",
                    t, s->n_complete, s->counted, s->r.entries_written,
                    s->r.entries_written + s->writes_left, s->r.events);
        }
        push(s, s->now + 3600000000ULL, EV_PROGRESS, 0, 0, 0, NULL, 0);
        break;
    }
}

/* ---- set-up and tear-down ------------------------------------------------------------------ */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static const char *tmp_base(const char *tmpdir)
{
    const char *t = tmpdir ? tmpdir : getenv("TMPDIR");
    struct stat st;
    if (t && *t)
        return t;
    return stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
}

static int setup(struct sim *s, const char *tmpdir)
{
    const struct sim_config *c = s->c;
    int per = 1 + c->members, hubs_members = c->clusters * per, writers = hubs_members;
    uint64_t t0;
    char *root;
    const char *base = tmp_base(tmpdir);
    uint8_t in[16] = "aidmesh-sim net";

    s->n_nodes = sim_node_count(c);
    s->cap_authors = 2 * s->n_nodes + 8;
    s->nodes = calloc((size_t)s->n_nodes, sizeof *s->nodes);
    s->authors = calloc((size_t)s->cap_authors, sizeof *s->authors);
    s->by_pk = calloc((size_t)s->cap_authors, sizeof *s->by_pk);
    s->n_links = c->clusters * c->members + c->n_clones;
    s->links = calloc((size_t)s->n_links + 1, sizeof *s->links);
    s->n_cts = s->n_links + c->n_routes + c->n_garbage;
    s->cts = calloc((size_t)s->n_cts + 1, sizeof *s->cts);
    s->opbuf = malloc((size_t)SIM_BATCH_MAX * SIM_OP_CAP);
    root = malloc(strlen(base) + 32);
    if (!s->nodes || !s->authors || !s->by_pk || !s->links || !s->cts || !s->opbuf || !root) {
        free(root);
        fatal(s, AM_ENOMEM, "set-up", NULL);
        return AM_ENOMEM;
    }
    sprintf(root, "%s/aidmesh-sim-XXXXXX", base);
    if (!mkdtemp(root)) {
        snprintf(s->err, s->errcap, "cannot create a temporary folder in %s: %s", base,
                 strerror(errno));
        free(root);
        s->fatal = AM_ESYS;
        return AM_ESYS;
    }
    s->root = root;
    for (int i = 0; i < 8; i++)
        in[8 + i] ^= (uint8_t)(s->rng >> (8 * i));
    crypto_generichash(s->netkey, sizeof s->netkey, in, sizeof in, NULL, 0);

    for (int i = 0; i < s->n_nodes; i++) {
        struct node *n = &s->nodes[i];
        uint8_t pk[AM_PK_LEN];
        n->sim = s;
        n->idx = i;
        n->link = -1;
        n->seq = calloc((size_t)s->cap_authors, sizeof *n->seq);
        n->dir = malloc(strlen(root) + 16);
        if (!n->seq || !n->dir) {
            fatal(s, AM_ENOMEM, "set-up", NULL);
            return AM_ENOMEM;
        }
        sprintf(n->dir, "%s/n%03d", root, i);
        if (i < hubs_members) {
            n->cluster = i / per;
            n->kind = i % per == 0 ? K_HUB : K_MEMBER;
            if (n->kind == K_HUB)
                snprintf(n->name, sizeof n->name, "h%d", n->cluster);
            else
                snprintf(n->name, sizeof n->name, "m%d.%d", n->cluster, i % per - 1);
        } else if (i < hubs_members + c->runners) {
            n->kind = K_RUNNER;
            n->cluster = -1;
            snprintf(n->name, sizeof n->name, "r%d", i - hubs_members);
        } else if (i < hubs_members + c->runners + c->n_clones) {
            int k = i - hubs_members - c->runners;
            n->kind = K_CLONE;
            n->cluster = c->clones[k].cluster;
            snprintf(n->name, sizeof n->name, "c%d", k);
        } else {
            n->kind = K_GARBAGE;
            n->cluster = c->garbage[i - hubs_members - c->runners - c->n_clones].cluster;
            snprintf(n->name, sizeof n->name, "g%d", i - hubs_members - c->runners - c->n_clones);
        }
        for (int k = 0; k < c->n_skews; k++)
            if (c->skews[k].node == i)
                n->skew_ms = c->skews[k].ms;
        if (n->kind == K_CLONE)
            continue; /* its identity and store come from its twin when it is switched on */
        if (mkdir(n->dir, 0700) != 0) {
            fatal(s, AM_ESYS, "creating a store folder", n->name);
            return AM_ESYS;
        }
        {
            int rc = node_open_store(n);
            if (rc != AM_OK) {
                fatal(s, rc, "creating the store", n->name);
                return rc;
            }
        }
        node_key(s, i, 0, pk, n->sk);
        n->author = author_add(s, pk);
        n->up = 1;
        n->counted = n->kind != K_GARBAGE;
        s->counted += n->counted;
    }
    /* writers: every hub and member; clones write `writes` each */
    for (int i = 0; i < hubs_members; i++) {
        struct node *n = &s->nodes[i];
        uint64_t batches;
        n->quota = c->entries / (uint64_t)writers + ((uint64_t)i < c->entries % (uint64_t)writers);
        if (n->kind == K_HUB) {
            n->setup_n = 1 + (int)((c->items + (unsigned)c->clusters - 1 - (unsigned)n->cluster) /
                                   (unsigned)c->clusters);
            if ((uint64_t)n->setup_n > n->quota)
                n->setup_n = (int)n->quota;
        }
        batches = (n->quota + c->batch - 1) / c->batch;
        n->write_every = batches ? c->write_until / batches : c->write_until;
        s->writes_left += n->quota;
        if (n->quota) {
            t0 = n->kind == K_HUB ? rnd_below(s, 1000000) : rnd_below(s, n->write_every);
            push(s, t0, EV_WRITE, i, 0, 0, NULL, 0);
        }
    }
    for (int k = 0; k < c->n_clones; k++) {
        struct node *n = &s->nodes[hubs_members + c->runners + k];
        uint64_t batches = (c->clones[k].writes + c->batch - 1) / c->batch;
        uint64_t left =
            c->clones[k].at < c->write_until ? c->write_until - c->clones[k].at : c->write_until;
        n->quota = c->clones[k].writes;
        n->write_every = left / batches;
        s->writes_left += n->quota;
        push(s, c->clones[k].at, EV_CLONE, k, 0, 0, NULL, 0);
        if (c->clones[k].at > s->scenario_end)
            s->scenario_end = c->clones[k].at;
    }
    /* LAN links: member -> its hub; clone -> the hub of the cluster it is switched on in */
    {
        int li = 0;
        for (int cl = 0; cl < c->clusters; cl++)
            for (int m = 0; m < c->members; m++, li++) {
                s->links[li].a = cl * per + 1 + m;
                s->links[li].b = cl * per;
                s->nodes[cl * per + 1 + m].link = li;
                /* start up, at a random point of an up period */
                s->links[li].up = 0;
                push(s, rnd_below(s, 2000000), EV_LINK, li, 0, 0, NULL, 0);
            }
        for (int k = 0; k < c->n_clones; k++, li++) {
            s->links[li].a = hubs_members + c->runners + k;
            s->links[li].b = c->clones[k].cluster * per;
            s->nodes[hubs_members + c->runners + k].link = li;
        }
    }
    for (int r = 0; r < c->n_routes; r++)
        push(s, visit_time(s, &c->routes[r], 0), EV_VISIT, r, 0, 0, NULL, 0);
    for (int k = 0; k < c->n_crashes; k++) {
        push(s, c->crashes[k].at, EV_CRASH, k, 0, 0, NULL, 0);
        if (c->crashes[k].at + c->crashes[k].down > s->scenario_end)
            s->scenario_end = c->crashes[k].at + c->crashes[k].down;
    }
    for (int k = 0; k < c->n_partitions; k++) {
        if (c->partitions[k].to > s->r.last_heal)
            s->r.last_heal = c->partitions[k].to;
        if (c->partitions[k].to > s->scenario_end)
            s->scenario_end = c->partitions[k].to;
    }
    for (int k = 0; k < c->n_garbage; k++) {
        uint64_t last =
            c->garbage[k].at + (uint64_t)(c->garbage[k].count - 1) * c->garbage[k].every;
        push(s, c->garbage[k].at, EV_GARBAGE, k, 0, 0, NULL, 0);
        if (last > s->scenario_end)
            s->scenario_end = last;
    }
    push(s, 3600000000ULL, EV_PROGRESS, 0, 0, 0, NULL, 0);
    return AM_OK;
}

static void teardown(struct sim *s)
{
    for (int i = 0; s->cts && i < s->n_cts; i++)
        if (s->cts[i].used)
            contact_drop(s, i, -1);
    for (size_t i = 0; i < s->n_heap; i++)
        free(s->heap[i].buf);
    free(s->heap);
    for (int i = 0; s->nodes && i < s->n_nodes; i++) {
        store_close(s->nodes[i].st);
        free(s->nodes[i].seq);
        free(s->nodes[i].cts);
        free(s->nodes[i].dir);
        sodium_memzero(s->nodes[i].sk, sizeof s->nodes[i].sk);
    }
    if (s->root) {
        nftw(s->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(s->root);
    }
    free(s->nodes);
    free(s->authors);
    free(s->by_pk);
    free(s->links);
    free(s->cts);
    free(s->dirty);
    free(s->opbuf);
}

/* ---- the end: fingerprints and the report ---------------------------------------------------- */

struct fpnode {
    uint8_t fp[STORE_VIEW_FP_LEN];
    uint8_t branch[AM_HASH_LEN]; /* which branch of every forked author it keeps */
};

static int cmp_fp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct fpnode));
}

static int final_checks(struct sim *s)
{
    struct fpnode *v = calloc((size_t)s->n_nodes + 1, sizeof *v);
    int n = 0, rc = AM_OK;
    if (!v)
        return AM_ENOMEM;
    for (int i = 0; i < s->n_nodes; i++) {
        struct node *nd = &s->nodes[i];
        struct store_view_stats vs;
        struct store_view_cache_stats cs;
        struct store_stats st;
        crypto_generichash_state h;
        if (!nd->counted || !nd->st)
            continue;
        if ((rc = store_view_stats(nd->st, &vs)) != AM_OK)
            break;
        memcpy(v[n].fp, vs.fingerprint, STORE_VIEW_FP_LEN);
        crypto_generichash_init(&h, NULL, 0, AM_HASH_LEN);
        for (int a = 0; a < s->n_authors; a++) {
            struct store_head hd;
            if (s->authors[a].forked && store_head_get(nd->st, s->authors[a].pk, &hd) == AM_OK)
                crypto_generichash_update(&h, hd.hash, AM_HASH_LEN);
        }
        crypto_generichash_final(&h, v[n].branch, AM_HASH_LEN);
        if (store_stats(nd->st, &st) == AM_OK && st.map_used > s->r.peak_store)
            s->r.peak_store = st.map_used;
        if (store_view_cache_stats(nd->st, &cs) == AM_OK && cs.bytes > s->r.peak_cache)
            s->r.peak_cache = cs.bytes;
        n++;
    }
    if (rc == AM_OK) {
        /* distinct fingerprints; and branch groups holding more than one fingerprint */
        qsort(v, (size_t)n, sizeof *v, cmp_fp);
        s->r.fp_groups = n > 0;
        for (int i = 1; i < n; i++)
            if (memcmp(v[i].fp, v[i - 1].fp, STORE_VIEW_FP_LEN) != 0)
                s->r.fp_groups++;
        for (int i = 0; i < n; i++) {
            int first = 1;
            for (int j = 0; j < i; j++)
                if (memcmp(v[j].branch, v[i].branch, AM_HASH_LEN) == 0)
                    first = 0;
            if (!first)
                continue;
            for (int j = i + 1; j < n; j++)
                if (memcmp(v[j].branch, v[i].branch, AM_HASH_LEN) == 0 &&
                    memcmp(v[j].fp, v[i].fp, STORE_VIEW_FP_LEN) != 0) {
                    s->r.fp_unexplained++;
                    break;
                }
        }
        s->r.fp_ok =
            s->c->fp_policy == SIM_FP_STRICT ? s->r.fp_groups == 1 : s->r.fp_unexplained == 0;
    }
    free(v);
    return rc;
}

static void ratio(char *b, size_t cap, uint64_t num, uint64_t den, int percent)
{
    if (!den)
        snprintf(b, cap, "n/a");
    else if (percent)
        snprintf(b, cap, "%" PRIu64 ".%02" PRIu64 "%%", num * 100 / den, (num * 10000 / den) % 100);
    else
        snprintf(b, cap, "%" PRIu64 ".%03" PRIu64, num / den, (num * 1000 / den) % 1000);
}

static void report(struct sim *s, uint64_t seed, int json, FILE *out)
{
    const struct sim_result *r = &s->r;
    const struct sim_config *c = s->c;
    char t1[32], t2[32], t3[32], t4[32], bpe[32], cpe[32], dpe[32], sum[32];
    uint64_t entry_bytes = r->bytes > r->summary_bytes ? r->bytes - r->summary_bytes : 0;
    int forked = 0;

    for (int a = 0; a < s->n_authors; a++)
        forked += s->authors[a].forked;
    fmt_dur(t1, sizeof t1, r->last_write);
    fmt_dur(t2, sizeof t2, r->last_heal);
    fmt_dur(t3, sizeof t3, r->converged_at);
    fmt_dur(t4, sizeof t4, r->forks_at);
    ratio(bpe, sizeof bpe, r->bytes, r->delivered, 0);
    ratio(cpe, sizeof cpe, r->received, r->delivered, 0);
    ratio(dpe, sizeof dpe, r->duplicates, r->delivered, 0);
    ratio(sum, sizeof sum, r->summary_bytes, entry_bytes, 1);
    if (json) {
        fprintf(
            out,
            "{\"scenario\":\"%s\",\"seed\":%" PRIu64 ",\"nodes\":%d,\"counted\":%d,"
            "\"clusters\":%d,\"members\":%d,\"runners\":%d,\"authors\":%d,"
            "\"forked_authors\":%d,\"entries_written\":%" PRIu64 ",\"events\":%" PRIu64
            ",\"contacts\":%" PRIu64 ",\"last_write_ms\":%" PRIu64 ",\"last_heal_ms\":%" PRIu64
            ",\"converged\":%s,\"converged_ms\":%" PRIu64 ",\"round_ms\":%" PRIu64
            ",\"rounds_after\":%" PRIu64 ".%03" PRIu64
            ",\"fork_evidence_everywhere\":%s,\"fork_evidence_missing\":%d,"
            "\"fork_evidence_ms\":%" PRIu64 ",\"entries_delivered\":%" PRIu64
            ",\"entries_received\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"fork_entries\":%" PRIu64
            ",\"refused\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"summary_bytes\":%" PRIu64
            ",\"entry_bytes\":%" PRIu64
            ",\"bytes_per_entry\":%s,\"copies_per_entry\":%s,\"duplicates_per_entry\":%s"
            ",\"summary_share\":\"%s\",\"peak_queue\":%" PRIu64 ",\"peak_node_sync_mem\":%" PRIu64
            ",\"peak_store\":%" PRIu64 ",\"peak_view_cache\":%" PRIu64
            ",\"fingerprints\":%d,\"fingerprints_unexplained\":%d,\"fingerprint_policy\":\"%s\""
            ",\"fingerprints_ok\":%s,\"crashes\":%" PRIu64 ",\"rekeys\":%" PRIu64
            ",\"refused_appends\":%" PRIu64 ",\"garbage_contacts\":%" PRIu64
            ",\"garbage_closed\":%" PRIu64 ",\"garbage_lost\":%" PRIu64
            ",\"future_stamped\":%" PRIu64 ",\"ok\":%s}\n",
            c->name, seed, r->nodes, r->counted, c->clusters, c->members, c->runners, s->n_authors,
            forked, r->entries_written, r->events, r->contacts, r->last_write / 1000,
            r->last_heal / 1000, r->converged ? "true" : "false", r->converged_at / 1000,
            c->round / 1000, r->rounds_milli / 1000, r->rounds_milli % 1000,
            r->forks_everywhere ? "true" : "false", r->forks_missing, r->forks_at / 1000,
            r->delivered, r->received, r->duplicates, r->fork_entries, r->refused, r->bytes,
            r->summary_bytes, entry_bytes, r->delivered ? bpe : "null", r->delivered ? cpe : "null",
            r->delivered ? dpe : "null", sum, r->peak_queue, r->peak_node_mem, r->peak_store,
            r->peak_cache, r->fp_groups, r->fp_unexplained,
            c->fp_policy == SIM_FP_STRICT ? "strict" : "per-branch", r->fp_ok ? "true" : "false",
            r->crashes, r->rekeys, r->refused_appends, r->garbage_contacts, r->garbage_closed,
            r->garbage_lost, r->future_stamped, r->ok ? "true" : "false");
        return;
    }
    fprintf(out, "aidmesh-sim: scenario %s, seed %" PRIu64 "\n", c->name, seed);
    fprintf(out,
            "  nodes                 %d (%d clusters of 1 hub + %d members, %d runners, %d "
            "clones, %d garbage peers); %d must converge\n",
            r->nodes, c->clusters, c->members, c->runners, c->n_clones, c->n_garbage, r->counted);
    fprintf(out, "  entries written       %" PRIu64 " by %d authors (%d forked)\n",
            r->entries_written, s->n_authors, forked);
    fprintf(out, "  events, contacts      %" PRIu64 ", %" PRIu64 "\n", r->events, r->contacts);
    fprintf(out, "  last write, heal      %s, %s\n", t1, r->last_heal ? t2 : "none");
    if (r->converged)
        fprintf(out,
                "  converged             yes, at %s: %" PRIu64 ".%03" PRIu64
                " contact rounds after the last write or heal (target <= 3)\n",
                t3, r->rounds_milli / 1000, r->rounds_milli % 1000);
    else
        fprintf(out, "  converged             NO (gave up at the scenario's 'until')\n");
    if (forked)
        fprintf(out, "  fork evidence         %s (%s)\n",
                r->forks_everywhere ? "on every node" : "NOT on every node",
                c->evidence_required ? "required" : "reported only");
    if (forked && r->forks_everywhere)
        fprintf(out, "  fork evidence at      %s\n", t4);
    if (forked && !r->forks_everywhere) {
        char who[1024];
        forks_missing(s, who, sizeof who);
        fprintf(out, "  no evidence on        %d nodes: %s\n", r->forks_missing, who);
    }
    fprintf(out,
            "  entries delivered     %" PRIu64 " new, %" PRIu64 " received, %" PRIu64
            " duplicates, %" PRIu64 " fork evidence, %" PRIu64 " refused\n",
            r->delivered, r->received, r->duplicates, r->fork_entries, r->refused);
    fprintf(out, "  bytes per entry       %s (%" PRIu64 " bytes sent in all)\n", bpe, r->bytes);
    fprintf(out,
            "  copies per entry      %s received per entry stored (target <= 1.5); %s "
            "duplicates\n",
            cpe, dpe);
    fprintf(out, "  summary / entry bytes %s (%" PRIu64 " / %" PRIu64 "; target <= 5%%)\n", sum,
            r->summary_bytes, entry_bytes);
    fprintf(out, "  peak output queue     %" PRIu64 " bytes (one session)\n", r->peak_queue);
    fprintf(out, "  peak sync memory      %" PRIu64 " bytes (one node, estimated)\n",
            r->peak_node_mem);
    fprintf(out,
            "  store, view cache     %" PRIu64 ", %" PRIu64 " bytes (largest node, at the end)\n",
            r->peak_store, r->peak_cache);
    fprintf(out, "  view fingerprints     %d distinct", r->fp_groups);
    if (r->fp_groups > 1)
        fprintf(out, "; %d not explained by forked branches", r->fp_unexplained);
    fprintf(out, " (policy %s): %s\n", c->fp_policy == SIM_FP_STRICT ? "strict" : "per-branch",
            r->fp_ok ? "ok" : "FAILED");
    fprintf(out,
            "  crashes, re-keys      %" PRIu64 ", %" PRIu64 " (%" PRIu64
            " appends refused on a forked identity)\n",
            r->crashes, r->rekeys, r->refused_appends);
    fprintf(out,
            "  garbage contacts      %" PRIu64 ", %" PRIu64 " closed by the honest side with an "
            "error, %" PRIu64 " entries lost\n",
            r->garbage_contacts, r->garbage_closed, r->garbage_lost);
    fprintf(out, "  far-future stamps     %" PRIu64 " entries stored with a stamp > 10 min ahead\n",
            r->future_stamped);
    fprintf(out, "  result                %s\n", r->ok ? "PASS" : "FAIL");
}

int sim_run(const struct sim_config *c, uint64_t seed, const char *tmpdir, int json, FILE *out,
            FILE *progress, struct sim_result *res, char *err, size_t errcap)
{
    struct sim *s = calloc(1, sizeof *s);
    int rc;

    if (!s) {
        snprintf(err, errcap, "out of memory");
        return AM_ENOMEM;
    }
    s->c = c;
    s->rng = seed ^ 0x9E3779B97F4A7C15ULL;
    if (s->rng == 0)
        s->rng = 1;
    s->progress = progress;
    s->err = err;
    s->errcap = errcap;
    rc = setup(s, tmpdir);
    s->r.nodes = s->n_nodes;
    s->r.counted = s->counted;
    sim_stop = 0;
    while (rc == AM_OK && !s->fatal && s->n_heap > 0 && !sim_stop) {
        struct ev e = pop(s);
        if (e.t > c->until) {
            free(e.buf);
            break;
        }
        s->now = e.t;
        s->r.events++;
        handle(s, &e);
        settle_dirty(s);
        if (s->writes_left == 0 && s->n_complete == s->counted && s->now >= s->scenario_end) {
            if (!s->r.converged) {
                s->r.converged = 1;
                s->r.converged_at =
                    s->complete_since > s->scenario_end ? s->complete_since : s->now;
            }
            if (s->now >= s->next_fork_check) {
                s->next_fork_check = s->now + SIM_CHECK_EVERY;
                if (forks_missing(s, NULL, 0) == 0) {
                    s->r.forks_everywhere = 1;
                    s->r.forks_at = s->now;
                    break;
                }
            }
            /* evidence that has not spread three rounds after convergence never will */
            if (s->now >= s->r.converged_at + 3 * c->round)
                break;
        } else if (s->r.converged && s->n_complete != s->counted) {
            s->r.converged = 0; /* a node fell behind again (a re-keyed clone wrote) */
        }
    }
    s->r.counted = s->counted;
    if (!s->fatal) {
        uint64_t from = s->r.last_write > s->r.last_heal ? s->r.last_write : s->r.last_heal;
        for (int i = 0; i < s->n_cts; i++)
            if (s->cts[i].used)
                contact_drop(s, i, -1);
        settle_dirty(s);
        if (s->r.converged && s->r.converged_at > from) {
            s->r.rounds_after = (s->r.converged_at - from + c->round - 1) / c->round;
            s->r.rounds_milli = (s->r.converged_at - from) * 1000 / c->round;
        }
        s->r.forks_missing = forks_missing(s, NULL, 0);
        if ((rc = final_checks(s)) != AM_OK)
            fatal(s, rc, "reading the views", NULL);
    }
    rc = s->fatal;
    if (rc == AM_OK) {
        int forked = 0;
        for (int a = 0; a < s->n_authors; a++)
            forked += s->authors[a].forked;
        s->r.ok = s->r.converged && (!forked || s->r.forks_everywhere || !c->evidence_required) &&
                  s->r.fp_ok && s->r.garbage_lost == 0 &&
                  s->r.garbage_closed == s->r.garbage_contacts;
        report(s, seed, json, out);
        if (progress) {
            struct rusage ru;
            if (getrusage(RUSAGE_SELF, &ru) == 0)
                fprintf(progress,
                        "aidmesh-sim: peak RSS of this process %ld MiB (not part of the "
                        "reproducible report)\n",
                        ru.ru_maxrss / 1024);
        }
    }
    if (res)
        *res = s->r;
    teardown(s);
    free(s);
    return rc;
}
