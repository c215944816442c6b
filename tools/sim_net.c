/*
 * sim_net.c: the network of aidmesh-sim: contacts, each two real sync_sessions (initiator
 * and responder) joined by a pipe per direction with a bandwidth and a latency, and each
 * node's store as the engine sees it. A sender takes at most SIM_CHUNK bytes of
 * sync_output() at a time, the pipe is busy for bytes / bandwidth, and the bytes reach the
 * other session one latency later (sync_tick to the arrival time, sync_feed, sync_flush).
 * Entries that arrive at a node are pushed to its other sessions through cfg.on_new and
 * sync_notify, as the daemon does.
 *
 * Each node's store is reached through a small struct sync_store of this file, so the
 * ingest uses the node's simulated wall clock (true time + its skew), not the machine's.
 * Never sleeps, never opens a socket, never prints; every time is the event queue's.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "sim.h"
#include "sim_int.h"

/* ---- the store as the engine sees it, on this node's clock ------------------------------------
 */

uint64_t sim_wall_ms(const struct sim_node *n)
{
    int64_t w = (int64_t)(n->sim->c->epoch_ms + n->sim->now / 1000) + n->skew_ms;
    return w > 0 ? (uint64_t)w : 1;
}

static int ns_heads(void *ctx, int (*cb)(void *, const struct sync_head *), void *cbctx)
{
    struct sim_node *n = ctx;
    return n->base.heads(n->base.ctx, cb, cbctx);
}

static int ns_head(void *ctx, const uint8_t author[AM_PK_LEN], struct sync_head *h)
{
    struct sim_node *n = ctx;
    return n->base.head(n->base.ctx, author, h);
}

static int ns_entries(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t from,
                      int (*cb)(void *, const uint8_t *, size_t), void *cbctx)
{
    struct sim_node *n = ctx;
    return n->base.entries(n->base.ctx, author, from, cb, cbctx);
}

static int ns_forks(void *ctx, const uint8_t author[AM_PK_LEN],
                    int (*cb)(void *, const uint8_t *, size_t), void *cbctx)
{
    struct sim_node *n = ctx;
    return n->base.forks(n->base.ctx, author, cb, cbctx);
}

static int ns_peers(void *ctx, const uint8_t *hint, size_t hint_len,
                    int (*cb)(void *, const uint8_t author[AM_PK_LEN]), void *cbctx)
{
    struct sim_node *n = ctx;
    return n->base.peers(n->base.ctx, hint, hint_len, cb, cbctx);
}

static int ns_peer_met(void *ctx, const uint8_t author[AM_PK_LEN])
{
    struct sim_node *n = ctx;
    return n->base.peer_met(n->base.ctx, author);
}

static int ns_ingest(void *ctx, const uint8_t *const *raw, const size_t *lens, size_t n_raw,
                     struct sync_ingest_result *res)
{
    struct sim_node *n = ctx;
    int rc =
        syncstore_ingest(n->st, raw, lens, n_raw, sim_wall_ms(n), res, &n->sim->r.future_stamped);
    /* the first entry of a branch is stored too (a fork): both count as held */
    if (rc == AM_OK && res->added + res->forks > 0)
        sim_node_gained(n, res->added + res->forks);
    return rc;
}

/* The lane's candidates are the store's own (they do not depend on the clock). */
static int ns_lane(void *ctx,
                   int (*cb)(void *cbctx, const uint8_t log[AM_PK_LEN], uint64_t seq,
                             const uint8_t *raw, size_t len),
                   void *cbctx)
{
    struct sim_node *n = ctx;
    return n->base.lane(n->base.ctx, cb, cbctx);
}

/* Lane entries are taken on this node's clock, not the machine's. They do not count as
 * held (sim_node_gained): only an entry in its log does. */
static int ns_lane_ingest(void *ctx, const uint8_t *const *raw, const size_t *lens, size_t n_raw,
                          uint64_t *added)
{
    struct sim_node *n = ctx;
    struct store_lane_stats st;
    int rc = AM_OK;
    *added = 0;
    for (size_t i = 0; i < n_raw && rc == AM_OK; i += AM_INGEST_BATCH_MAX) {
        size_t k = n_raw - i < AM_INGEST_BATCH_MAX ? n_raw - i : AM_INGEST_BATCH_MAX;
        memset(&st, 0, sizeof st);
        rc = store_lane_ingest(n->st, raw + i, lens + i, k, sim_wall_ms(n), &st);
        if (rc == AM_OK)
            *added += st.added;
    }
    n->sim->r.lane_added += *added;
    return rc;
}

/* Whether the store holds (log, seq) as the peer offers it (LANE_OFFER): in a log or in
 * the lane. */
static int ns_has(void *ctx, const uint8_t log[AM_PK_LEN], uint64_t seq,
                  const uint8_t hash8[SYNC_HEAD_HASH_LEN])
{
    struct sim_node *n = ctx;
    return n->base.has(n->base.ctx, log, seq, hash8);
}

int sim_node_open_store(struct sim_node *n)
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
    /* `lane off`: the table lacks the lane, so sessions send in log order and ignore LANE */
    n->ss.lane = n->sim->lane && n->base.lane ? ns_lane : NULL;
    n->ss.lane_ingest = n->sim->lane && n->base.lane_ingest ? ns_lane_ingest : NULL;
    n->ss.has = n->base.has ? ns_has : NULL;
    return AM_OK;
}

/* The identity of node idx, generation gen (a re-keyed laptop gets the next one). */
void sim_node_key(struct sim *s, int idx, int gen, uint8_t pk[AM_PK_LEN], uint8_t sk[AM_SK_LEN])
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

void sim_mark_dirty(struct sim *s, int cid)
{
    if (s->n_dirty == s->cap_dirty) {
        size_t cap = s->cap_dirty ? 2 * s->cap_dirty : 64;
        int *d = realloc(s->dirty, cap * sizeof *d);
        if (!d) {
            sim_fatal(s, AM_ENOMEM, "contact list", NULL);
            return;
        }
        s->dirty = d;
        s->cap_dirty = cap;
    }
    s->dirty[s->n_dirty++] = cid;
}

static int node_add_contact(struct sim_node *n, int cid)
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

static void node_remove_contact(struct sim_node *n, int cid)
{
    for (int i = 0; i < n->n_cts; i++)
        if (n->cts[i] == cid) {
            memmove(n->cts + i, n->cts + i + 1, (size_t)(n->n_cts - i - 1) * sizeof *n->cts);
            n->n_cts--;
            return;
        }
}

/* A session stored entries that advanced `author` to `seq`: tell the node's others. */
void sim_on_new(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t seq)
{
    struct sim_side *sc = ctx;
    struct sim *s = sc->sim;
    struct sim_contact *c = &s->cts[sc->cid];
    struct sim_node *n = &s->nodes[c->node[sc->side]];
    int a = sim_author_find(s, author);
    if (a >= 0)
        sim_node_set_seq(n, a, seq);
    for (int i = 0; i < n->n_cts; i++) {
        int cid = n->cts[i];
        struct sim_contact *o = &s->cts[cid];
        if (cid == sc->cid)
            continue;
        sync_notify(&o->s[o->node[0] == n->idx ? 0 : 1], author, seq);
        sim_mark_dirty(s, cid);
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

static uint64_t entries_of(struct sim_node *n)
{
    struct store_stats st;
    return n->st && store_stats(n->st, &st) == AM_OK ? st.entries : 0;
}

/* ---- short contacts (sim_config.cut_pct) ------------------------------------------------------
 */

struct backlog {
    struct store_head *h;
    size_t n, cap;
    uint64_t bytes;
};

static int backlog_head(void *ctx, const struct store_head *h)
{
    struct backlog *b = ctx;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        struct store_head *v = realloc(b->h, cap * sizeof *v);
        if (!v)
            return AM_ENOMEM;
        b->h = v;
        b->cap = cap;
    }
    b->h[b->n++] = *h;
    return 0;
}

static int backlog_entry(void *ctx, const uint8_t *raw, size_t len)
{
    (void)raw;
    ((struct backlog *)ctx)->bytes += len;
    return 0;
}

/* The lengths of the entries `from` holds that `to` lacks, every log: what `from` would
 * have to send. */
static int backlog_of(struct sim_node *from, struct sim_node *to, uint64_t *bytes)
{
    struct backlog b = {0};
    int rc = store_heads_each(from->st, backlog_head, &b);
    for (size_t i = 0; rc == AM_OK && i < b.n; i++) {
        struct store_head th;
        uint64_t has = b.h[i].first_seq ? b.h[i].first_seq - 1 : 0;
        if (store_head_get(to->st, b.h[i].log, &th) == AM_OK && th.seq > has)
            has = th.seq;
        if (b.h[i].seq > has)
            rc = store_entries_each(from->st, b.h[i].log, has + 1, backlog_entry, &b);
        if (rc > 0)
            rc = AM_OK;
    }
    free(b.h);
    *bytes = b.bytes;
    return rc;
}

/* Bytes both sides of contact c sent in reconciliation and the handshake (not counted
 * against the budget: what is measured is the entries' share). */
static uint64_t summary_of(const struct sim_contact *c)
{
    return sync_stats(&c->s[0])->summary_out + sync_stats(&c->s[1])->summary_out;
}

/* Bytes side d may put on the pipe now (SIZE_MAX: no limit). Reaching the budget cuts the
 * contact: nothing more is sent, and it ends once the last bytes have arrived. */
static size_t budget_left(struct sim *s, int cid, int d)
{
    struct sim_contact *c = &s->cts[cid];
    uint64_t limit;
    (void)d;
    if (!c->budget && !c->cut)
        return SIZE_MAX;
    limit = summary_of(c) + c->budget;
    if (!c->cut && c->sent >= limit) {
        uint64_t end = (c->busy[0] > c->busy[1] ? c->busy[0] : c->busy[1]) + c->lat;
        c->cut = 1;
        s->r.cuts++;
        sim_push(s, end, SIM_EV_VISIT_END, cid, 0, c->serial, NULL, 0);
    }
    return c->cut ? 0 : (size_t)(limit - c->sent < SIM_CHUNK ? limit - c->sent : SIM_CHUNK);
}

/* Ends a contact at once (a cable pulled, a runner walking away, a crash): each side
 * that is still running stores what it read, as the daemon does when a connection ends.
 * `crashed` (a node index or -1) stores nothing more. */
void sim_contact_drop(struct sim *s, int cid, int crashed)
{
    struct sim_contact *c = &s->cts[cid];
    if (!c->used)
        return;
    c->used = 0; /* first: flushes below may call on_new, which must not see it */
    for (int x = 0; x < 2; x++) {
        struct sim_node *n = &s->nodes[c->node[x]];
        node_remove_contact(n, cid);
    }
    for (int x = 0; x < 2; x++) {
        if (c->node[x] != crashed && !(sync_state(&c->s[x]) & SYNC_CLOSED))
            sync_flush(&c->s[x]);
        if (!c->garbage) /* an attacker's traffic is not the network's cost */
            add_stats(s, &c->s[x]);
    }
    if (c->garbage) {
        struct sim_node *h = &s->nodes[c->node[1]];
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
        struct sim_link *l = &s->links[cid];
        /* reconnect while the link is up: soon after a clean end, with growing backoff
         * (1 s doubling to 60 s, +-25%) after an error */
        if (c->cut && l->up && !l->connecting) {
            /* cut short: the member walked off, or the link dropped; it comes back after
             * about the LAN's mean down time, not at once */
            uint64_t d = s->c->lan_down;
            l->connecting = 1;
            sim_push(s, s->now + d / 2 + sim_rnd_below(s, d + 1), SIM_EV_CONNECT, cid, 0, 0, NULL,
                     0);
        }
        if (c->failed)
            l->backoff = l->backoff
                             ? (2 * l->backoff < SIM_BACKOFF_MAX ? 2 * l->backoff : SIM_BACKOFF_MAX)
                             : SIM_BACKOFF_MIN;
        else
            l->backoff = 0;
        if (l->up && !l->connecting) {
            uint64_t b = l->backoff ? l->backoff : SIM_BACKOFF_MIN;
            l->connecting = 1;
            sim_push(s, s->now + b - b / 4 + sim_rnd_below(s, b / 2 + 1), SIM_EV_CONNECT, cid, 0, 0,
                     NULL, 0);
        }
    }
}

int sim_contact_open(struct sim *s, int cid, int a, int b, uint64_t bw, uint64_t lat, int garbage)
{
    struct sim_contact *c = &s->cts[cid];
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
    c->budget = c->sent = 0;
    c->cut = 0;
    memset(c->s, 0, sizeof c->s);
    for (int x = 0; x < 2; x++) {
        struct sim_node *n = &s->nodes[c->node[x]];
        struct sync_config cfg;
        c->sc[x].sim = s;
        c->sc[x].cid = cid;
        c->sc[x].side = x;
        sim_rnd_bytes(s, c->eph[x], sizeof c->eph[x]);
        memset(&cfg, 0, sizeof cfg);
        cfg.initiator = x == 0;
        cfg.netkey = s->netkey;
        cfg.sk = n->sk;
        store_install_id(n->st, c->install[x], NULL);
        cfg.install_id = c->install[x];
        cfg.store = &n->ss;
        cfg.now_ms = s->now / 1000;
        cfg.on_new = sim_on_new;
        cfg.on_new_ctx = &c->sc[x];
        cfg.ephemeral = c->eph[x];
        rc = sync_init(&c->s[x], &cfg);
        if (rc != AM_OK) {
            sim_fatal(s, rc, "sync_init", n->name);
            c->used = 0;
            sync_free(&c->s[0]);
            sync_free(&c->s[1]);
            return rc;
        }
        if ((rc = node_add_contact(n, cid)) != AM_OK) {
            sim_fatal(s, rc, "contact list", n->name);
            return rc;
        }
    }
    if (garbage)
        c->honest_before = entries_of(&s->nodes[b]);
    if (s->c->cut_pct && s->now < s->c->cut_until && !garbage) {
        uint64_t ab = 0, ba = 0;
        if ((rc = backlog_of(&s->nodes[a], &s->nodes[b], &ab)) != AM_OK ||
            (rc = backlog_of(&s->nodes[b], &s->nodes[a], &ba)) != AM_OK) {
            sim_fatal(s, rc, "measuring the backlog", s->nodes[a].name);
            return rc;
        }
        /* at least one byte: a contact with nothing to carry ends after reconciliation */
        c->budget = (ab + ba) * s->c->cut_pct / 100;
        if (c->budget == 0)
            c->budget = 1;
    }
    s->r.contacts++;
    sim_mark_dirty(s, cid);
    return AM_OK;
}

/* Puts up to SIM_CHUNK bytes of side d's output on the pipe. Returns 1 if some went. */
static int send_chunk(struct sim *s, int cid, int d)
{
    struct sim_contact *c = &s->cts[cid];
    uint8_t *buf;
    size_t n, k;
    uint64_t tx;

    if (c->garbage && d == 0 && c->gon) {
        if (c->gleft == 0)
            return 0;
        k = c->gleft < SIM_CHUNK ? (size_t)c->gleft : SIM_CHUNK;
        if (!(buf = malloc(k))) {
            sim_fatal(s, AM_ENOMEM, "pipe", NULL);
            return 0;
        }
        sim_rnd_bytes(s, buf, k);
        if (c->gleft == SIM_GARBAGE_LEN && c->garbage == 1 && k >= SYNC_PREAMBLE_LEN) {
            /* a well-formed preamble, then noise where the handshake should be */
            static const uint8_t pre[SYNC_PREAMBLE_LEN] = {
                'A', 'M', 'S', 'Y', SYNC_VERSION_MAJOR, SYNC_VERSION_MINOR, 0, 0};
            memcpy(buf, pre, sizeof pre);
        }
        c->gleft -= k;
    } else {
        const uint8_t *out = sync_output(&c->s[d], &n);
        size_t left = budget_left(s, cid, d);
        if (n == 0 || left == 0)
            return 0;
        k = n < SIM_CHUNK ? n : SIM_CHUNK;
        if (k > left)
            k = left;
        if (!(buf = malloc(k))) {
            sim_fatal(s, AM_ENOMEM, "pipe", NULL);
            return 0;
        }
        memcpy(buf, out, k);
        sync_output_done(&c->s[d], k);
        c->sent += k;
    }
    tx = (uint64_t)k * 1000000 / c->bw;
    c->busy[d] = s->now + (tx ? tx : 1);
    c->inflight[d]++;
    sim_push(s, c->busy[d] + c->lat, SIM_EV_DELIVER, cid, d, c->serial, buf, k);
    return 1;
}

static int has_output(struct sim_contact *c, int d)
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
    struct sim_contact *c = &s->cts[cid];
    if (c->send_pending[d] || c->cut)
        return;
    if (c->busy[d] > s->now) {
        if (has_output(c, d)) {
            c->send_pending[d] = 1;
            sim_push(s, c->busy[d], SIM_EV_SEND, cid, d, c->serial, NULL, 0);
        }
        return;
    }
    if (send_chunk(s, cid, d) && has_output(c, d)) {
        c->send_pending[d] = 1;
        sim_push(s, c->busy[d], SIM_EV_SEND, cid, d, c->serial, NULL, 0);
    }
}

static void node_mem(struct sim *s, struct sim_node *n)
{
    uint64_t m = 0;
    for (int i = 0; i < n->n_cts; i++) {
        struct sim_contact *c = &s->cts[n->cts[i]];
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
    struct sim_contact *c = &s->cts[cid];
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
            sim_contact_drop(s, cid, -1);
            return;
        }
    } else {
        for (int x = 0; x < 2; x++)
            if ((sync_state(&c->s[x]) & SYNC_CLOSED) && !has_output(c, x) && c->inflight[x] == 0) {
                sim_contact_drop(s, cid, -1);
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
        sim_push(s, dl, SIM_EV_TICK, cid, 0, c->serial, NULL, 0);
    }
    node_mem(s, &s->nodes[c->node[0]]);
    node_mem(s, &s->nodes[c->node[1]]);
}

void sim_settle_dirty(struct sim *s)
{
    while (s->n_dirty > 0 && !s->fatal) {
        int cid = s->dirty[--s->n_dirty];
        contact_settle(s, cid);
    }
}
