/* sync_prop_test.c: property tests of the sync engine on in-memory stores (memstore.h),
 * no LMDB. Two or three engines meet over a memory pipe that cuts, duplicates, reorders,
 * truncates or flips frames, or delivers in random chunks, on a fake clock; random
 * histories by several authors, some held on both sides before they meet, and live
 * writes during the sync. Each case has its own seed, printed when it fails; rerun one
 * case with AM_SEED=<seed> AM_PROP_CASES=1. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "memstore.h"
#include "sync.h"
#include "testutil.h"

#define NODES_MAX   3
#define AUTHORS_MAX 8
#define CONNS_MAX   3
#define STEPS_MAX   200000
#define IDLE_MAX    64 /* deadlines passed with nothing moving before a round gives up */

enum damage { D_NONE, D_CUT, D_DUP, D_REORDER, D_TRUNCATE, D_FLIP };
static const char *const damage_name[] = {"none",    "cut",      "duplicate",
                                          "reorder", "truncate", "flip"};

struct buf {
    uint8_t *p;
    size_t len, off, cap;
};

/* One direction of a connection. The sender's bytes are cut into units (the preamble,
 * then each length-prefixed frame); the damage applies to unit number `at`. */
struct pipe {
    struct buf parse; /* sender's bytes not yet whole units */
    struct buf wire;  /* bytes on their way to the receiver */
    int preamble_done, dead;
    size_t units, at;
    enum damage dmg;
    uint8_t *held; /* D_REORDER: the unit waiting for the next */
    size_t held_len;
};

struct conn {
    int node[2]; /* side 0 initiates */
    struct sync_session s[2];
    struct pipe p[2]; /* p[d] carries side d's bytes to side !d */
    int started;
};

struct node {
    struct memstore *ms;
    struct sync_store table;
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN], install[AM_INSTALL_ID_LEN];
};

/* What each author really signed: the truth every store is checked against. */
struct author {
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    int owner; /* the node that writes for it */
    uint8_t **raw;
    size_t *len, n, cap;
};

struct endpoint {
    int conn, side;
};

static struct world {
    uint64_t seed, rng, now, hlc;
    uint8_t netkey[AM_NETKEY_LEN];
    int n_nodes, n_authors, n_conns;
    struct node node[NODES_MAX];
    struct author au[AUTHORS_MAX];
    struct conn conn[CONNS_MAX];
    struct endpoint ep[CONNS_MAX][2];
    int live_left; /* live writes still to make in this round */
} W;

#define PA(cond, ...)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr,                                                                        \
                    "sync_prop: case seed %llu failed (rerun: AM_SEED=%llu "                       \
                    "AM_PROP_CASES=1)\n",                                                          \
                    (unsigned long long)W.seed, (unsigned long long)W.seed);                       \
            cr_assert(cond, __VA_ARGS__);                                                          \
        }                                                                                          \
    } while (0)

static uint64_t rnd(uint64_t n)
{
    return n ? tu_rand(&W.rng) % n : 0;
}

static void buf_put(struct buf *b, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    if (b->off == b->len)
        b->off = b->len = 0;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        cr_assert(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void pipe_free(struct pipe *p)
{
    free(p->parse.p);
    free(p->wire.p);
    free(p->held);
    memset(p, 0, sizeof *p);
}

/* ---- the handshake window ------------------------------------------------------------ */

/*
 * A session reads its heads once the peer's first handshake message authenticates. An
 * entry that lands in the node's store between that read and the end of the handshake is
 * noted by sync_notify and sent once the peer's vector is known (sync_hs_notes_apply).
 * These tests let entries land at any time and notify every session of the node, in the
 * handshake or not, as node/daemon.c does; connections open together.
 */

/* Tells the node's sessions (but `skip`) that author's entries up to seq are stored. */
static void notify_node(int node, const struct sync_session *skip, const uint8_t *author,
                        uint64_t seq)
{
    for (int i = 0; i < W.n_conns; i++)
        for (int s = 0; s < 2; s++) {
            struct sync_session *x = &W.conn[i].s[s];
            unsigned st = sync_state(x);
            if (!W.conn[i].started || W.conn[i].node[s] != node || x == skip || (st & SYNC_CLOSED))
                continue;
            sync_notify(x, author, seq);
        }
}

/* ---- the pipe ------------------------------------------------------------------------- */

static void pipe_unit(struct conn *c, int d, const uint8_t *u, size_t n)
{
    struct pipe *p = &c->p[d];
    size_t idx = p->units++;

    if (p->dead)
        return;
    if (p->held) {
        /* the unit after a held one overtakes it */
        buf_put(&p->wire, u, n);
        buf_put(&p->wire, p->held, p->held_len);
        free(p->held);
        p->held = NULL;
        return;
    }
    if (idx != p->at || p->dmg == D_NONE) {
        buf_put(&p->wire, u, n);
        return;
    }
    switch (p->dmg) {
    case D_CUT: /* the cable is pulled: this direction mid-unit, and the other one */
        buf_put(&p->wire, u, rnd(n));
        p->dead = 1;
        c->p[!d].dead = 1;
        break;
    case D_DUP:
        buf_put(&p->wire, u, n);
        buf_put(&p->wire, u, n);
        break;
    case D_REORDER:
        p->held = malloc(n);
        cr_assert(p->held);
        memcpy(p->held, u, n);
        p->held_len = n;
        break;
    case D_TRUNCATE: /* part of the unit, then nothing more this way */
        buf_put(&p->wire, u, 1 + rnd(n - 1));
        p->dead = 1;
        break;
    case D_FLIP: {
        uint8_t *x = malloc(n);
        cr_assert(x);
        memcpy(x, u, n);
        x[rnd(n)] ^= (uint8_t)(1 + rnd(255));
        buf_put(&p->wire, x, n);
        free(x);
        break;
    }
    default:
        break;
    }
}

/* Takes what side d has to send into its pipe. Returns 1 if there were bytes. */
static int pipe_take(struct conn *c, int d)
{
    struct pipe *p = &c->p[d];
    size_t n;
    const uint8_t *out = sync_output(&c->s[d], &n);

    if (n == 0)
        return 0;
    buf_put(&p->parse, out, n);
    sync_output_done(&c->s[d], n);
    for (;;) {
        const uint8_t *q = p->parse.p + p->parse.off;
        size_t have = p->parse.len - p->parse.off, unit;
        if (!p->preamble_done)
            unit = SYNC_PREAMBLE_LEN;
        else if (have >= 2)
            unit = 2 + ((size_t)q[0] << 8 | q[1]);
        else
            break;
        if (have < unit)
            break;
        pipe_unit(c, d, q, unit);
        p->preamble_done = 1;
        p->parse.off += unit;
    }
    return 1;
}

/* Feeds side !d a random chunk of what its pipe carries. Returns 1 if bytes moved. */
static int pipe_deliver(struct conn *c, int d)
{
    struct pipe *p = &c->p[d];
    struct sync_session *to = &c->s[!d];
    size_t have = p->wire.len - p->wire.off, chunk;

    if (have == 0)
        return 0;
    if (sync_state(to) & SYNC_CLOSED) {
        p->wire.off = p->wire.len; /* nobody reads any more */
        return 0;
    }
    chunk = rnd(4) == 0 ? 1 + rnd(have < 16 ? have : 16) : 1 + rnd(have);
    sync_clock(to, W.now);
    sync_feed(to, p->wire.p + p->wire.off, chunk);
    sync_flush(to); /* what is read now is stored, as the daemon does */
    p->wire.off += chunk;
    return 1;
}

/* ---- nodes, authors, writes ----------------------------------------------------------- */

/* Entries that arrived on one session go to the node's other sessions (node/daemon.c). */
static void on_new(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t seq)
{
    const struct endpoint *e = ctx;
    notify_node(W.conn[e->conn].node[e->side], &W.conn[e->conn].s[e->side], author, seq);
}

/* The next entry of author a, written on its owner's node; returns its seq. */
static uint64_t author_write(int a)
{
    struct author *au = &W.au[a];
    struct node *nd = &W.node[au->owner];
    uint8_t op[3 + 1 + 31] = {0x81, 0xa1, 'n'};
    size_t k = rnd(32), len;
    const uint8_t *raw;
    struct sync_head h;

    op[3] = (uint8_t)(0xa0 | k); /* a fixstr of k letters */
    for (size_t i = 0; i < k; i++)
        op[4 + i] = (uint8_t)('a' + rnd(26));
    PA(memstore_append(nd->ms, au->sk, ++W.hlc, op, 4 + k, &h) == AM_OK, "append");
    PA(h.seq == au->n + 1, "append: seq %llu after %zu", (unsigned long long)h.seq, au->n);
    cr_assert_eq(memstore_entry(nd->ms, au->pk, h.seq, &raw, &len), AM_OK);
    if (au->n == au->cap) {
        au->cap = au->cap ? 2 * au->cap : 32;
        au->raw = realloc(au->raw, au->cap * sizeof *au->raw);
        au->len = realloc(au->len, au->cap * sizeof *au->len);
        cr_assert(au->raw && au->len);
    }
    au->raw[au->n] = malloc(len);
    cr_assert(au->raw[au->n]);
    memcpy(au->raw[au->n], raw, len);
    au->len[au->n] = len;
    return ++au->n;
}

/* Gives node `to` the author's first k entries, as if it had met the owner before. */
static void author_share(int a, int to, size_t k)
{
    struct author *au = &W.au[a];
    struct sync_ingest_result res;
    PA(memstore_ingest(W.node[to].ms, (const uint8_t *const *)au->raw, au->len, k, &res) == AM_OK,
       "share");
}

/* A live write during a round (any time, a handshake included): its sessions are told. */
static void live_write(void)
{
    int a = (int)rnd((uint64_t)W.n_authors);
    W.live_left--;
    notify_node(W.au[a].owner, NULL, W.au[a].pk, author_write(a));
}

static void world_setup(uint64_t seed, int n_nodes)
{
    memset(&W, 0, sizeof W);
    W.seed = W.rng = seed;
    W.now = 1000;
    W.n_nodes = n_nodes;
    for (size_t i = 0; i < sizeof W.netkey; i++)
        W.netkey[i] = (uint8_t)rnd(256);
    for (int i = 0; i < n_nodes; i++) {
        struct node *nd = &W.node[i];
        uint8_t ks[AM_SEED_LEN];
        cr_assert_eq(memstore_new(&nd->ms), AM_OK);
        memstore_table(nd->ms, &nd->table);
        for (int b = 0; b < AM_SEED_LEN; b++)
            ks[b] = (uint8_t)rnd(256);
        crypto_sign_seed_keypair(nd->pk, nd->sk, ks);
        for (int b = 0; b < AM_INSTALL_ID_LEN; b++)
            nd->install[b] = (uint8_t)rnd(256);
    }
    /* the nodes' own identities write too, and 1..5 other authors */
    W.n_authors = n_nodes + 1 + (int)rnd(5);
    for (int a = 0; a < W.n_authors; a++) {
        struct author *au = &W.au[a];
        if (a < n_nodes) {
            memcpy(au->pk, W.node[a].pk, AM_PK_LEN);
            memcpy(au->sk, W.node[a].sk, AM_SK_LEN);
            au->owner = a;
        } else {
            uint8_t ks[AM_SEED_LEN];
            for (int b = 0; b < AM_SEED_LEN; b++)
                ks[b] = (uint8_t)rnd(256);
            crypto_sign_seed_keypair(au->pk, au->sk, ks);
            au->owner = (int)rnd((uint64_t)n_nodes);
        }
    }
    /* histories before anyone meets: some empty, some long, some known on both sides */
    for (int a = 0; a < W.n_authors; a++) {
        size_t n = rnd(4) == 0 ? 0 : rnd(rnd(2) ? 8 : 40);
        for (size_t i = 0; i < n; i++)
            author_write(a);
        if (n > 0 && rnd(3) == 0)
            author_share(a, (W.au[a].owner + 1 + (int)rnd((uint64_t)n_nodes - 1)) % n_nodes,
                         1 + rnd(n));
    }
    /* who meets whom: two nodes once; three in a line or a triangle */
    if (n_nodes == 2) {
        W.n_conns = 1;
        W.conn[0].node[0] = 0;
        W.conn[0].node[1] = 1;
    } else {
        W.n_conns = rnd(2) ? 3 : 2;
        for (int i = 0; i < W.n_conns; i++) {
            W.conn[i].node[0] = i;
            W.conn[i].node[1] = (i + 1) % 3;
        }
    }
    for (int i = 0; i < W.n_conns; i++)
        if (rnd(2)) { /* which side dials */
            int t = W.conn[i].node[0];
            W.conn[i].node[0] = W.conn[i].node[1];
            W.conn[i].node[1] = t;
        }
}

static void world_free(void)
{
    for (int i = 0; i < W.n_conns; i++) {
        sync_free(&W.conn[i].s[0]);
        sync_free(&W.conn[i].s[1]);
        pipe_free(&W.conn[i].p[0]);
        pipe_free(&W.conn[i].p[1]);
    }
    for (int i = 0; i < W.n_nodes; i++)
        memstore_free(W.node[i].ms);
    for (int a = 0; a < W.n_authors; a++) {
        for (size_t i = 0; i < W.au[a].n; i++)
            free(W.au[a].raw[i]);
        free(W.au[a].raw);
        free(W.au[a].len);
    }
}

/* ---- rounds --------------------------------------------------------------------------- */

/* Sessions of connection i, from now. */
static void conn_open(int i)
{
    struct conn *c = &W.conn[i];
    for (int s = 0; s < 2; s++) {
        struct node *nd = &W.node[c->node[s]];
        struct sync_config cfg = {
            .initiator = s == 0,
            .netkey = W.netkey,
            .sk = nd->sk,
            .install_id = nd->install,
            .store = &nd->table,
            .now_ms = W.now,
            .on_new = on_new,
            .on_new_ctx = &W.ep[i][s],
        };
        W.ep[i][s].conn = i;
        W.ep[i][s].side = s;
        cr_assert_eq(sync_init(&c->s[s], &cfg), AM_OK);
    }
    c->started = 1;
}

/* A new meeting on connection i, over a pipe with damage dmg (opened by round_run). */
static void conn_start(int i, enum damage dmg)
{
    struct conn *c = &W.conn[i];
    for (int s = 0; s < 2; s++) {
        sync_free(&c->s[s]);
        memset(&c->s[s], 0, sizeof c->s[s]);
        pipe_free(&c->p[s]);
    }
    c->started = 0;
    if (dmg != D_NONE) {
        /* one direction, at one of its first units (most sessions have a few dozen) */
        struct pipe *p = &c->p[rnd(2)];
        p->dmg = dmg;
        p->at = rnd(2) ? rnd(6) : rnd(40);
    }
}

static int conn_settled(const struct conn *c)
{
    unsigned a, b;
    if (!c->started)
        return 0;
    a = sync_state(&c->s[0]);
    b = sync_state(&c->s[1]);
    if ((a & SYNC_CLOSED) && (b & SYNC_CLOSED))
        return 1;
    if ((a | b) & (SYNC_CLOSED | SYNC_WANT_WRITE))
        return 0;
    if (!(a & SYNC_IN_SYNC) || !(b & SYNC_IN_SYNC))
        return 0;
    for (int d = 0; d < 2; d++)
        if ((!c->p[d].dead && c->p[d].wire.len > c->p[d].wire.off) || c->p[d].held)
            return 0;
    return 1;
}

/* One meeting of every connection: until each is in sync on both sides or closed on
 * both, with the clock jumping to the next deadline whenever nothing moves. Returns 0 if
 * it settled, 1 if it gave up (nothing moved across IDLE_MAX deadlines). */
static int round_run(int live_writes)
{
    int idle = 0;

    W.live_left = live_writes;
    for (long step = 0; step < STEPS_MAX; step++) {
        int moved = 0, settled = 1;
        if (W.live_left > 0 && rnd(40) == 0)
            live_write();
        for (int i = 0; i < W.n_conns; i++) /* connections open together */
            if (!W.conn[i].started)
                conn_open(i);
        for (int i = 0; i < W.n_conns; i++)
            for (int d = 0; d < 2 && W.conn[i].started; d++) {
                moved |= pipe_take(&W.conn[i], d);
                moved |= pipe_deliver(&W.conn[i], d);
            }
        if (moved) {
            W.now += rnd(3);
            idle = 0;
            continue;
        }
        for (int i = 0; i < W.n_conns; i++)
            for (int d = 0; d < 2; d++) {
                struct pipe *p = &W.conn[i].p[d];
                if (p->held && !p->dead) { /* nothing came after it: it goes late */
                    buf_put(&p->wire, p->held, p->held_len);
                    free(p->held);
                    p->held = NULL;
                    moved = 1;
                }
            }
        if (moved)
            continue;
        for (int i = 0; i < W.n_conns; i++)
            settled &= conn_settled(&W.conn[i]);
        if (settled && W.live_left == 0)
            return 0;
        if (settled && W.live_left > 0) {
            live_write();
            continue;
        }
        if (++idle > IDLE_MAX)
            return 1;
        {
            uint64_t t = UINT64_MAX;
            for (int i = 0; i < W.n_conns; i++)
                for (int s = 0; s < 2 && W.conn[i].started; s++) {
                    uint64_t dl = sync_next_deadline(&W.conn[i].s[s]);
                    t = dl < t ? dl : t;
                }
            if (t == UINT64_MAX)
                return 1;
            W.now = t > W.now ? t : W.now;
            for (int i = 0; i < W.n_conns; i++)
                for (int s = 0; s < 2 && W.conn[i].started; s++)
                    if (sync_next_deadline(&W.conn[i].s[s]) <= W.now)
                        sync_tick(&W.conn[i].s[s], W.now);
        }
    }
    return 1;
}

/* ---- what is checked ------------------------------------------------------------------ */

/* Every entry a store holds is one its author signed, byte for byte, at its place. */
static void check_only_truth(void)
{
    for (int n = 0; n < W.n_nodes; n++) {
        const struct memstore *ms = W.node[n].ms;
        PA(memstore_forks(ms) == 0, "node %d holds fork evidence of authors that never forked", n);
        for (size_t i = 0; i < memstore_authors(ms); i++) {
            struct sync_head h;
            const struct author *au = NULL;
            memstore_head_at(ms, i, &h);
            for (int a = 0; a < W.n_authors; a++)
                if (memcmp(W.au[a].pk, h.author, AM_PK_LEN) == 0)
                    au = &W.au[a];
            PA(au != NULL, "node %d holds an author nobody is", n);
            PA(h.seq <= au->n, "node %d: head %llu beyond what the author wrote (%zu)", n,
               (unsigned long long)h.seq, au->n);
            for (uint64_t s = 1; s <= h.seq; s++) {
                const uint8_t *raw;
                size_t len;
                PA(memstore_entry(ms, h.author, s, &raw, &len) == AM_OK, "node %d seq %llu", n,
                   (unsigned long long)s);
                PA(len == au->len[s - 1] && memcmp(raw, au->raw[s - 1], len) == 0,
                   "node %d: seq %llu is not what its author wrote", n, (unsigned long long)s);
            }
        }
    }
}

/* Every store holds every entry written, and all fingerprints agree. */
static void check_converged(void)
{
    uint8_t fp0[SYNC_FP_LEN], fp[SYNC_FP_LEN];
    size_t authors = 0;
    check_only_truth();
    for (int a = 0; a < W.n_authors; a++)
        authors += W.au[a].n > 0;
    for (int n = 0; n < W.n_nodes; n++) {
        const struct memstore *ms = W.node[n].ms;
        PA(memstore_authors(ms) == authors, "node %d holds %zu authors of %zu", n,
           memstore_authors(ms), authors);
        for (int a = 0; a < W.n_authors; a++) {
            const uint8_t *raw;
            size_t len;
            if (W.au[a].n == 0)
                continue;
            PA(memstore_entry(ms, W.au[a].pk, W.au[a].n, &raw, &len) == AM_OK,
               "node %d lacks author %d's entry %zu", n, a, W.au[a].n);
        }
        cr_assert_eq(memstore_fingerprint(ms, n ? fp : fp0), AM_OK);
        PA(n == 0 || memcmp(fp, fp0, SYNC_FP_LEN) == 0, "node %d's fingerprint differs", n);
    }
}

/* With AM_PROP_DEBUG set: how each session of the round ended. */
static void round_report(int gave_up, enum damage dmg)
{
    if (!getenv("AM_PROP_DEBUG"))
        return;
    fprintf(stderr, "round (%s)%s, clock %llu:\n", damage_name[dmg], gave_up ? " gave up" : "",
            (unsigned long long)W.now);
    for (int a = 0; a < W.n_authors; a++) {
        fprintf(stderr, "  author %d (%02x, node %d) wrote %zu; held:", a, W.au[a].pk[0],
                W.au[a].owner, W.au[a].n);
        for (int n = 0; n < W.n_nodes; n++) {
            struct sync_head h = {0};
            W.node[n].table.head(W.node[n].ms, W.au[a].pk, &h);
            fprintf(stderr, " %llu", (unsigned long long)h.seq);
        }
        fprintf(stderr, "\n");
    }
    for (int i = 0; i < W.n_conns; i++)
        for (int s = 0; s < 2; s++) {
            const struct sync_session *x = &W.conn[i].s[s];
            const struct sync_stats *t = sync_stats(x);
            fprintf(stderr,
                    "  conn %d side %d node %d: state %x error %d (%s) in %llu out %llu "
                    "added %llu dup %llu refused %llu\n",
                    i, s, W.conn[i].node[s], sync_state(x), sync_error(x),
                    am_strerror(sync_error(x)), (unsigned long long)t->entries_in,
                    (unsigned long long)t->entries_out, (unsigned long long)t->added,
                    (unsigned long long)t->duplicate, (unsigned long long)t->refused);
        }
}

/* Each session ended in sync, or closed with a code saying why. */
static void check_clean(int gave_up, int must_sync, enum damage dmg)
{
    round_report(gave_up, dmg);
    for (int i = 0; i < W.n_conns; i++)
        for (int s = 0; s < 2; s++) {
            const struct sync_session *x = &W.conn[i].s[s];
            unsigned st = sync_state(x);
            if (st & SYNC_CLOSED) {
                PA(!must_sync, "conn %d side %d closed on a faithful pipe: %s", i, s,
                   am_strerror(sync_error(x)));
                PA(sync_error(x) < 0, "conn %d side %d closed without an error code", i, s);
            } else {
                PA(st & SYNC_IN_SYNC, "conn %d side %d (pipe: %s) neither in sync nor closed%s", i,
                   s, damage_name[dmg], gave_up ? " (stuck)" : "");
            }
        }
    PA(!gave_up || !must_sync, "a faithful round did not settle");
}

static int cases(int dflt)
{
    const char *e = getenv("AM_PROP_CASES");
    return e && *e ? atoi(e) : dflt;
}

/* Runs `body` on n cases, each with its own seed (the first is the printed one). */
static void for_cases(const char *name, int n, void (*body)(uint64_t seed))
{
    uint64_t st = tu_seed(name), seed = st;
    for (int i = 0; i < n; i++) {
        body(seed);
        seed = tu_rand(&st) | 1;
    }
}

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
}

TestSuite(sync_prop, .init = setup, .timeout = 300);

/* ---- properties ----------------------------------------------------------------------- */

/* Faithful pipes (random chunks), possibly cut a few times: all converge at last. */
static void faithful_case(uint64_t seed, int n_nodes)
{
    int cuts;
    world_setup(seed, n_nodes);
    cuts = (int)rnd(4);
    for (int r = 0; r <= cuts; r++) {
        int last = r == cuts, gave_up;
        for (int i = 0; i < W.n_conns; i++)
            conn_start(i, last ? D_NONE : rnd(4) ? D_CUT : D_NONE);
        gave_up = round_run((int)rnd(6));
        check_clean(gave_up, last, last ? D_NONE : D_CUT);
        check_only_truth();
    }
    check_converged();
    world_free();
}

static void two_faithful(uint64_t seed)
{
    faithful_case(seed, 2);
}

static void three_faithful(uint64_t seed)
{
    faithful_case(seed, 3);
}

Test(sync_prop, two_nodes_converge_over_a_faithful_pipe)
{
    for_cases("sync_prop.two_nodes_converge", cases(200), two_faithful);
}

Test(sync_prop, three_nodes_converge_through_each_other)
{
    for_cases("sync_prop.three_nodes_converge", cases(150), three_faithful);
}

/* Damaging pipes: each session converges or closes with a code, no store takes an entry
 * its author did not write, and a faithful meeting afterwards converges. */
static void damaged_case(uint64_t seed)
{
    int rounds;
    world_setup(seed, 2 + (int)(seed % 2));
    rounds = 1 + (int)rnd(3);
    for (int r = 0; r < rounds; r++) {
        enum damage dmg = (enum damage)(D_CUT + rnd(5));
        int gave_up;
        for (int i = 0; i < W.n_conns; i++)
            conn_start(i, dmg);
        gave_up = round_run((int)rnd(4));
        check_clean(gave_up, 0, dmg);
        check_only_truth();
    }
    for (int i = 0; i < W.n_conns; i++)
        conn_start(i, D_NONE);
    check_clean(round_run(0), 1, D_NONE);
    check_converged();
    world_free();
}

Test(sync_prop, damaged_pipes_fail_cleanly_and_a_faithful_one_heals)
{
    for_cases("sync_prop.damaged_pipes", cases(200), damaged_case);
}
