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
 * The contacts (sessions over pipes, and each node's store as the engine sees it) are in
 * sim_net.c; the final checks and the report in sim_report.c; what they share in
 * sim_int.h.
 *
 * Never sleeps; never prints except into the report and progress streams it is given.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "sim.h"
#include "sim_int.h"

static volatile sig_atomic_t sim_stop;

void sim_interrupt(void)
{
    sim_stop = 1;
}

/* ---- small helpers ---------------------------------------------------------------------- */

static uint64_t rnd_of(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

uint64_t sim_rnd_below(struct sim *s, uint64_t n)
{
    return n ? rnd_of(&s->rng) % n : 0;
}

uint64_t sim_work_below(struct sim *s, uint64_t n)
{
    return n ? rnd_of(s->work) % n : 0;
}

/* uniform in [mean/2, 3*mean/2] */
static uint64_t rnd_around(struct sim *s, uint64_t mean)
{
    return mean / 2 + sim_rnd_below(s, mean + 1);
}

void sim_rnd_bytes(struct sim *s, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rnd_of(&s->rng) >> 56);
}

void sim_fatal(struct sim *s, int rc, const char *what, const char *who)
{
    if (s->fatal)
        return;
    s->fatal = rc ? rc : AM_ESYS;
    snprintf(s->err, s->errcap, "%s%s%s: %s", what, who ? " of " : "", who ? who : "",
             am_strerror(rc));
}

/* "2h05m10.250s" */
void sim_fmt_dur(char *b, size_t cap, uint64_t us)
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

static int ev_less(const struct sim_ev *a, const struct sim_ev *b)
{
    return a->t < b->t || (a->t == b->t && a->order < b->order);
}

void sim_push(struct sim *s, uint64_t t, int type, int a, int b, uint64_t serial, uint8_t *buf,
              size_t len)
{
    struct sim_ev e = {t < s->now ? s->now : t, s->order++, type, a, b, serial, buf, len};
    size_t i;
    if (s->n_heap == s->cap_heap) {
        size_t cap = s->cap_heap ? 2 * s->cap_heap : 1024;
        struct sim_ev *h = realloc(s->heap, cap * sizeof *h);
        if (!h) {
            free(buf);
            sim_fatal(s, AM_ENOMEM, "event queue", NULL);
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

static struct sim_ev pop(struct sim *s)
{
    struct sim_ev top = s->heap[0], last = s->heap[--s->n_heap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const struct sim_ev *best = &last;
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

int sim_author_find(const struct sim *s, const uint8_t *pk)
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
    s->authors[i].cloned = 0;
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
        struct sim_node *n = &s->nodes[i];
        n->complete = n->counted && n->have == s->total;
        s->n_complete += n->complete;
    }
    if (!was && s->n_complete == s->counted)
        s->complete_since = s->now;
}

void sim_node_set_seq(struct sim_node *n, int a, uint64_t seq)
{
    if (seq > n->seq[a])
        n->seq[a] = seq;
}

void sim_node_gained(struct sim_node *n, uint64_t k)
{
    struct sim *s = n->sim;
    int was = s->n_complete == s->counted;
    n->have += k;
    if (n->counted && !n->complete && n->have == s->total) {
        n->complete = 1;
        s->n_complete++;
        if (!was && s->n_complete == s->counted)
            s->complete_since = s->now;
    }
}

/* Node n appended entries k under its key up to head h: every node now lacks them. */
static void wrote(struct sim *s, struct sim_node *n, uint64_t k, const struct store_head *h)
{
    s->total += k;
    s->r.entries_written += k;
    n->own_seq = h->seq;
    memcpy(n->own_hash, h->hash, AM_HASH_LEN);
    sim_node_set_seq(n, n->author, h->seq);
    recount(s); /* the others fall behind */
    sim_node_gained(n, k);
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
    struct sim_node *n;
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
        struct sim_need *nd = &rb->n->needs[rb->n->n_needs++ % SIM_NEEDS];
        entry_hash(&e, h);
        relief_need_id(h, nd->id);
        memcpy(nd->open.author, e.author, AM_PK_LEN);
        nd->open.seq = e.seq;
    }
    rb->i++;
    return 0;
}

/* One op for node n into buf; *is_open says it opens a need. */
static int make_op(struct sim *s, struct sim_node *n, uint8_t *buf, size_t *len, int *is_open)
{
    struct relief_op o;
    struct relief_ref ctx[RELIEF_REFS_MAX];
    char site[24], item[24], name[40], err[RELIEF_ERR_MAX];
    unsigned known = n->n_needs < SIM_NEEDS ? n->n_needs : SIM_NEEDS;
    uint64_t r = sim_work_below(s, 100);
    int rc;

    memset(&o, 0, sizeof o);
    *is_open = 0;
    snprintf(site, sizeof site, "site-%02d", n->cluster);
    snprintf(item, sizeof item, "item-%03d", (int)sim_work_below(s, s->c->items));
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
        o.q = 1 + (int64_t)sim_work_below(s, 500);
        o.pri = 1 + (int)sim_work_below(s, 4);
        HAS(&o, SITE), HAS(&o, ITEM), HAS(&o, Q), HAS(&o, PRI);
        *is_open = 1;
    } else if (r < 20) {
        struct sim_need *nd = &n->needs[sim_work_below(s, known)];
        memcpy(o.need, nd->id, RELIEF_ID_LEN);
        HAS(&o, NEED);
        if (r < 17) {
            o.type = RELIEF_T_NEED_DLV;
            o.q = 1 + (int64_t)sim_work_below(s, 100);
            HAS(&o, Q);
        } else {
            o.sup.n = 1;
            o.sup.arr = &nd->open;
            HAS(&o, SUP);
            if (r < 19) {
                o.type = RELIEF_T_NEED_UPD;
                o.pri = 1 + (int)sim_work_below(s, 4);
                HAS(&o, PRI);
            } else {
                o.type = RELIEF_T_NEED_CLOSE;
                o.st = RELIEF_ST_FULFILLED;
                HAS(&o, ST);
            }
        }
    } else if (r < 96) {
        uint64_t x = sim_work_below(s, 10);
        o.type = RELIEF_T_STOCK_MOVE;
        o.site = rstr(site);
        o.item = rstr(item);
        o.q = 1 + (int64_t)sim_work_below(s, 50);
        o.reason = x < 5 ? RELIEF_R_RECEIVED : x < 9 ? RELIEF_R_ISSUED : RELIEF_R_DAMAGED;
        HAS(&o, SITE), HAS(&o, ITEM), HAS(&o, Q), HAS(&o, R);
    } else {
        /* a stock-take: ctx names what this device has seen of its cluster's authors */
        uint32_t nc = 0;
        int per = 1 + s->c->members;
        o.type = RELIEF_T_STOCK_COUNT;
        o.site = rstr(site);
        o.item = rstr(item);
        o.q = (int64_t)sim_work_below(s, 1000);
        for (int i = 0; i < per && n->cluster >= 0 && nc < RELIEF_REFS_MAX; i++) {
            const struct sim_node *m = &s->nodes[n->cluster * per + i];
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

static void node_drop_all(struct sim *s, struct sim_node *n, int crashed)
{
    while (n->n_cts > 0)
        sim_contact_drop(s, n->cts[0], crashed ? n->idx : -1);
}

/* The succession op by which new_pk takes over from the key old_sk (PROTOCOL.md 10.4):
 * it names the head (seq, hash) of the branch this machine wrote, signed by the old key.
 * Checked as every node will check it. */
static int succession_op(const uint8_t old_sk[AM_SK_LEN], uint64_t seq,
                         const uint8_t head[AM_HASH_LEN], const uint8_t new_pk[AM_PK_LEN],
                         uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t msg[RELIEF_SUCC_MSG_LEN];
    struct relief_op op, dec;
    int rc;

    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_SUCCESSION;
    HAS(&op, OLD), HAS(&op, SEQ), HAS(&op, HEAD), HAS(&op, OSIG);
    memcpy(op.old, old_sk + AM_SK_LEN - AM_PK_LEN, AM_PK_LEN);
    op.oseq = seq;
    memcpy(op.head, head, AM_HASH_LEN);
    relief_succession_msg(new_pk, seq, head, msg);
    crypto_sign_detached(op.osig, NULL, msg, sizeof msg, old_sk);
    if ((rc = relief_op_encode(&op, buf, cap, len, NULL, 0)) != AM_OK ||
        (rc = relief_op_decode(buf, *len, &dec, NULL, 0)) != AM_OK)
        return rc;
    return relief_op_check_author(&dec, new_pk, NULL, 0);
}

/* The operator's answer to "this identity is forked" (PROTOCOL.md section 6 "Forks"), and
 * the daemon restarted with the new key. Rotate (the default): `aidmesh identity rotate`,
 * a new key whose first entry is a succession naming the branch this machine wrote. With
 * `on_fork reinit`: `aidmesh init --force`, a new identity unrelated to the old one. */
static int rekey(struct sim *s, struct sim_node *n)
{
    uint8_t pk[AM_PK_LEN], old_sk[AM_SK_LEN], op[512];
    const uint8_t *ops[1] = {op};
    struct store_head head;
    size_t len = 0;
    int a, rc = AM_OK;

    node_drop_all(s, n, 0); /* the daemon stops: its sessions use the old key */
    memcpy(old_sk, n->sk, AM_SK_LEN);
    sim_node_key(s, n->idx, n->gen + 1, pk, n->sk);
    if ((a = author_add(s, pk)) < 0) {
        rc = AM_ELIMIT;
        goto out;
    }
    n->gen++;
    n->author = a;
    if (s->c->on_fork == SIM_ON_FORK_REINIT) {
        s->r.rekeys++;
        goto out;
    }
    if ((rc = succession_op(old_sk, n->own_seq, n->own_hash, pk, op, sizeof op, &len)) != AM_OK)
        goto out;
    if ((rc = store_append(n->st, n->sk, ops, &len, 1, sim_wall_ms(n), &head)) != AM_OK)
        goto out;
    s->r.rotations++;
    wrote(s, n, 1, &head);
out:
    sodium_memzero(old_sk, sizeof old_sk);
    return rc;
}

static void schedule_write(struct sim *s, struct sim_node *n)
{
    if (n->written < n->quota)
        sim_push(s, s->now + n->write_every / 2 + sim_work_below(s, n->write_every + 1),
                 SIM_EV_WRITE, n->idx, 0, 0, NULL, 0);
}

static void do_write(struct sim *s, struct sim_node *n)
{
    const uint8_t *ops[SIM_BATCH_MAX];
    size_t lens[SIM_BATCH_MAX];
    int is_open[SIM_BATCH_MAX], any_open = 0, rc;
    uint64_t k = n->quota - n->written;
    struct store_head head;
    const struct sim_author *au;

    if (!n->up) {
        n->write_waiting = 1;
        return;
    }
    if (k > s->c->batch)
        k = s->c->batch;
    for (uint64_t i = 0; i < k; i++) {
        uint8_t *b = s->opbuf + i * SIM_OP_CAP;
        if ((rc = make_op(s, n, b, &lens[i], &is_open[i])) != AM_OK) {
            sim_fatal(s, rc, "relief op", n->name);
            return;
        }
        ops[i] = b;
        any_open |= is_open[i];
    }
    rc = store_append(n->st, n->sk, ops, lens, (size_t)k, sim_wall_ms(n), &head);
    if (rc == AM_EFORK) {
        /* this laptop's identity is known to be forked: the store refuses to extend it */
        s->r.refused_appends += k;
        if ((rc = rekey(s, n)) == AM_OK)
            rc = store_append(n->st, n->sk, ops, lens, (size_t)k, sim_wall_ms(n), &head);
    }
    if (rc != AM_OK) {
        sim_fatal(s, rc, "store_append", n->name);
        return;
    }
    au = &s->authors[n->author];
    wrote(s, n, k, &head);
    n->written += k;
    s->writes_left -= k < s->writes_left ? k : s->writes_left;
    s->r.last_write = s->now;
    if (any_open) {
        struct readback rb = {n, is_open, head.seq - k + 1, 0, k};
        store_entries_each(n->st, au->pk, rb.first, readback_cb, &rb);
    }
    for (int i = 0; i < n->n_cts; i++) {
        struct sim_contact *c = &s->cts[n->cts[i]];
        sync_notify(&c->s[c->node[0] == n->idx ? 0 : 1], au->pk, head.seq);
        sim_mark_dirty(s, n->cts[i]);
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
    struct sim_link *l = &s->links[li];
    int cid = li;
    l->connecting = 0;
    if (!l->up || s->cts[cid].used || !s->nodes[l->a].up || !s->nodes[l->b].up)
        return;
    sim_contact_open(s, cid, l->a, l->b, s->c->lan_bw, s->c->lan_lat, 0);
}

static void link_event(struct sim *s, int li)
{
    struct sim_link *l = &s->links[li];
    l->up = !l->up;
    if (l->up) {
        if (!l->connecting) {
            l->connecting = 1;
            sim_push(s, s->now + sim_rnd_below(s, 200000), SIM_EV_CONNECT, li, 0, 0, NULL, 0);
        }
        sim_push(s, s->now + rnd_around(s, s->c->lan_up), SIM_EV_LINK, li, 0, 0, NULL, 0);
    } else {
        if (s->cts[li].used)
            sim_contact_drop(s, li, -1);
        sim_push(s, s->now + rnd_around(s, s->c->lan_down), SIM_EV_LINK, li, 0, 0, NULL, 0);
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

    sim_push(s, visit_time(s, r, v + 1), SIM_EV_VISIT, ri, 0, v + 1, NULL, 0);
    if (s->cts[cid].used)
        sim_contact_drop(s, cid, -1);
    if (cut_off(s, r->hubs[v % (uint64_t)r->n]) || !s->nodes[runner].up || !s->nodes[hub].up)
        return;
    if (sim_contact_open(s, cid, runner, hub, s->c->run_bw, s->c->run_lat, 0) == AM_OK)
        sim_push(s, s->now + r->dwell, SIM_EV_VISIT_END, cid, 0, s->cts[cid].serial, NULL, 0);
}

static void reconnect_links_of(struct sim *s, struct sim_node *n)
{
    for (int li = 0; li < s->n_links; li++) {
        struct sim_link *l = &s->links[li];
        if ((l->a == n->idx || l->b == n->idx) && l->up && !l->connecting && !s->cts[li].used) {
            l->connecting = 1;
            sim_push(s, s->now + SIM_BACKOFF_MIN / 2 + sim_rnd_below(s, SIM_BACKOFF_MIN),
                     SIM_EV_CONNECT, li, 0, 0, NULL, 0);
        }
    }
}

static void crash_event(struct sim *s, int ci)
{
    const struct sim_crash *k = &s->c->crashes[ci];
    struct sim_node *n = &s->nodes[k->node];
    if (!n->up)
        return;
    node_drop_all(s, n, 1);
    store_close(n->st);
    n->st = NULL;
    n->up = 0;
    s->r.crashes++;
    sim_push(s, s->now + k->down, SIM_EV_RESTART, k->node, 0, 0, NULL, 0);
}

static void restart_event(struct sim *s, int idx)
{
    struct sim_node *n = &s->nodes[idx];
    int rc = sim_node_open_store(n);
    if (rc != AM_OK) {
        sim_fatal(s, rc, "reopening the store", n->name);
        return;
    }
    n->up = 1;
    reconnect_links_of(s, n);
    if (n->write_waiting) {
        n->write_waiting = 0;
        sim_push(s, s->now, SIM_EV_WRITE, idx, 0, 0, NULL, 0);
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
    struct sim_node *t = &s->nodes[k->twin];
    struct sim_node *n = &s->nodes[s->c->clusters * (1 + s->c->members) + s->c->runners + ci];
    char from[4096], to[4096];
    int a = t->author, rc;

    snprintf(from, sizeof from, "%s/data.mdb", t->dir);
    snprintf(to, sizeof to, "%s/data.mdb", n->dir);
    if (mkdir(n->dir, 0700) != 0 || copy_file(from, to) != AM_OK) {
        sim_fatal(s, AM_ESYS, "copying the store", t->name);
        return;
    }
    if ((rc = sim_node_open_store(n)) != AM_OK) {
        sim_fatal(s, rc, "opening the copied store", n->name);
        return;
    }
    memcpy(n->sk, t->sk, AM_SK_LEN);
    n->author = a;
    n->gen = t->gen;
    n->own_seq = t->own_seq;
    memcpy(n->own_hash, t->own_hash, AM_HASH_LEN);
    memcpy(n->seq, t->seq, (size_t)s->cap_authors * sizeof *n->seq);
    {
        struct store_stats st; /* what the copy holds, as its own store counts it */
        if ((rc = store_stats(n->st, &st)) != AM_OK) {
            sim_fatal(s, rc, "counting the copied store", n->name);
            return;
        }
        n->have = st.entries;
    }
    n->up = 1;
    n->counted = 1;
    s->counted++;
    /* both halves write under one key from now on: a fork, both branches kept everywhere */
    s->authors[a].cloned = 1;
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
        sim_push(s, s->now + g->every, SIM_EV_GARBAGE, gi, count + 1, 0, NULL, 0);
    if (s->cts[cid].used)
        sim_contact_drop(s, cid, -1);
    if (!s->nodes[hub].up)
        return;
    sim_contact_open(s, cid, gnode, hub, s->c->lan_bw, s->c->lan_lat, 1 + count % 2);
}

static void deliver_event(struct sim *s, struct sim_ev *e)
{
    struct sim_contact *c = &s->cts[e->a];
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
    sim_mark_dirty(s, e->a);
}

static void tick_event(struct sim *s, struct sim_ev *e)
{
    struct sim_contact *c = &s->cts[e->a];
    if (!c->used || c->serial != e->serial || c->tick_at != e->t)
        return;
    c->tick_at = UINT64_MAX;
    sync_tick(&c->s[0], s->now / 1000);
    sync_tick(&c->s[1], s->now / 1000);
    sim_mark_dirty(s, e->a);
}

/* How many (counted node, forked author) pairs lack fork evidence: 0 when every node
 * knows. With `out`, the nodes that do not know are listed there (their name, the seq of
 * the branch they keep). */
int sim_forks_missing(struct sim *s, char *out, size_t cap)
{
    int missing = 0;
    size_t used = 0;
    if (out && cap)
        out[0] = 0;
    for (int a = 0; a < s->n_authors; a++) {
        int knows = 0;
        if (!s->authors[a].cloned)
            continue;
        for (int i = 0; i < s->n_nodes; i++) {
            struct store_head h;
            if (s->nodes[i].counted && s->nodes[i].st &&
                store_head_get(s->nodes[i].st, s->authors[a].pk, &h) == AM_OK &&
                (h.flags & STORE_HEAD_FORKED))
                knows++;
        }
        if (!knows)
            continue; /* only one half wrote after the copy: no fork */
        for (int i = 0; i < s->n_nodes; i++) {
            struct sim_node *n = &s->nodes[i];
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

static void handle(struct sim *s, struct sim_ev *e)
{
    switch (e->type) {
    case SIM_EV_WRITE:
        do_write(s, &s->nodes[e->a]);
        break;
    case SIM_EV_LINK:
        link_event(s, e->a);
        break;
    case SIM_EV_CONNECT:
        try_connect(s, e->a);
        break;
    case SIM_EV_VISIT:
        visit_event(s, e->a, e->serial);
        break;
    case SIM_EV_VISIT_END:
        if (s->cts[e->a].used && s->cts[e->a].serial == e->serial)
            sim_contact_drop(s, e->a, -1);
        break;
    case SIM_EV_CRASH:
        crash_event(s, e->a);
        break;
    case SIM_EV_RESTART:
        restart_event(s, e->a);
        break;
    case SIM_EV_SEND:
        if (s->cts[e->a].used && s->cts[e->a].serial == e->serial) {
            s->cts[e->a].send_pending[e->b] = 0;
            sim_mark_dirty(s, e->a);
        }
        break;
    case SIM_EV_DELIVER:
        deliver_event(s, e);
        break;
    case SIM_EV_TICK:
        tick_event(s, e);
        break;
    case SIM_EV_CLONE:
        clone_event(s, e->a);
        break;
    case SIM_EV_GARBAGE:
        garbage_event(s, e->a, e->b);
        break;
    case SIM_EV_PROGRESS:
        if (s->progress) {
            char t[32];
            sim_fmt_dur(t, sizeof t, s->now);
            fprintf(s->progress,
                    "aidmesh-sim: t=%s: %d of %d nodes hold every entry, %" PRIu64 " of %" PRIu64
                    " entries written, %" PRIu64 " events\n",
                    t, s->n_complete, s->counted, s->r.entries_written,
                    s->r.entries_written + s->writes_left, s->r.events);
        }
        sim_push(s, s->now + 3600000000ULL, SIM_EV_PROGRESS, 0, 0, 0, NULL, 0);
        break;
    case SIM_EV_CUT_END: {
        int rc = sim_cut_figure(s);
        if (rc != AM_OK)
            sim_fatal(s, rc, "the short-contact figure", NULL);
        break;
    }
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
    size_t rootcap = strlen(base) + 32;
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
    root = malloc(rootcap);
    if (!s->nodes || !s->authors || !s->by_pk || !s->links || !s->cts || !s->opbuf || !root) {
        free(root);
        sim_fatal(s, AM_ENOMEM, "set-up", NULL);
        return AM_ENOMEM;
    }
    snprintf(root, rootcap, "%s/aidmesh-sim-XXXXXX", base); /* 19 + 1 bytes: fits */
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
        struct sim_node *n = &s->nodes[i];
        uint8_t pk[AM_PK_LEN];
        size_t dircap = strlen(root) + 16; /* "/n" + an int + NUL */
        n->sim = s;
        n->idx = i;
        n->link = -1;
        n->seq = calloc((size_t)s->cap_authors, sizeof *n->seq);
        n->dir = malloc(dircap);
        if (!n->seq || !n->dir) {
            sim_fatal(s, AM_ENOMEM, "set-up", NULL);
            return AM_ENOMEM;
        }
        snprintf(n->dir, dircap, "%s/n%03d", root, i);
        if (i < hubs_members) {
            n->cluster = i / per;
            n->kind = i % per == 0 ? SIM_K_HUB : SIM_K_MEMBER;
            if (n->kind == SIM_K_HUB)
                snprintf(n->name, sizeof n->name, "h%d", n->cluster);
            else
                snprintf(n->name, sizeof n->name, "m%d.%d", n->cluster, i % per - 1);
        } else if (i < hubs_members + c->runners) {
            n->kind = SIM_K_RUNNER;
            n->cluster = -1;
            snprintf(n->name, sizeof n->name, "r%d", i - hubs_members);
        } else if (i < hubs_members + c->runners + c->n_clones) {
            int k = i - hubs_members - c->runners;
            n->kind = SIM_K_CLONE;
            n->cluster = c->clones[k].cluster;
            snprintf(n->name, sizeof n->name, "c%d", k);
        } else {
            n->kind = SIM_K_GARBAGE;
            n->cluster = c->garbage[i - hubs_members - c->runners - c->n_clones].cluster;
            snprintf(n->name, sizeof n->name, "g%d", i - hubs_members - c->runners - c->n_clones);
        }
        for (int k = 0; k < c->n_skews; k++)
            if (c->skews[k].node == i)
                n->skew_ms = c->skews[k].ms;
        if (n->kind == SIM_K_CLONE)
            continue; /* its identity and store come from its twin when it is switched on */
        if (mkdir(n->dir, 0700) != 0) {
            sim_fatal(s, AM_ESYS, "creating a store folder", n->name);
            return AM_ESYS;
        }
        {
            int rc = sim_node_open_store(n);
            if (rc != AM_OK) {
                sim_fatal(s, rc, "creating the store", n->name);
                return rc;
            }
        }
        sim_node_key(s, i, 0, pk, n->sk);
        n->author = author_add(s, pk);
        n->up = 1;
        n->counted = n->kind != SIM_K_GARBAGE;
        s->counted += n->counted;
    }
    /* writers: every hub and member; clones write `writes` each */
    for (int i = 0; i < hubs_members; i++) {
        struct sim_node *n = &s->nodes[i];
        uint64_t batches;
        n->quota = c->entries / (uint64_t)writers + ((uint64_t)i < c->entries % (uint64_t)writers);
        if (n->kind == SIM_K_HUB) {
            n->setup_n = 1 + (int)((c->items + (unsigned)c->clusters - 1 - (unsigned)n->cluster) /
                                   (unsigned)c->clusters);
            if ((uint64_t)n->setup_n > n->quota)
                n->setup_n = (int)n->quota;
        }
        batches = (n->quota + c->batch - 1) / c->batch;
        n->write_every = batches ? c->write_until / batches : c->write_until;
        s->writes_left += n->quota;
        if (n->quota) {
            t0 =
                n->kind == SIM_K_HUB ? sim_rnd_below(s, 1000000) : sim_rnd_below(s, n->write_every);
            sim_push(s, t0, SIM_EV_WRITE, i, 0, 0, NULL, 0);
        }
    }
    for (int k = 0; k < c->n_clones; k++) {
        struct sim_node *n = &s->nodes[hubs_members + c->runners + k];
        uint64_t batches = (c->clones[k].writes + c->batch - 1) / c->batch;
        uint64_t left =
            c->clones[k].at < c->write_until ? c->write_until - c->clones[k].at : c->write_until;
        n->quota = c->clones[k].writes;
        n->write_every = left / batches;
        s->writes_left += n->quota;
        sim_push(s, c->clones[k].at, SIM_EV_CLONE, k, 0, 0, NULL, 0);
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
                sim_push(s, sim_rnd_below(s, 2000000), SIM_EV_LINK, li, 0, 0, NULL, 0);
            }
        for (int k = 0; k < c->n_clones; k++, li++) {
            s->links[li].a = hubs_members + c->runners + k;
            s->links[li].b = c->clones[k].cluster * per;
            s->nodes[hubs_members + c->runners + k].link = li;
        }
    }
    for (int r = 0; r < c->n_routes; r++)
        sim_push(s, visit_time(s, &c->routes[r], 0), SIM_EV_VISIT, r, 0, 0, NULL, 0);
    for (int k = 0; k < c->n_crashes; k++) {
        sim_push(s, c->crashes[k].at, SIM_EV_CRASH, k, 0, 0, NULL, 0);
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
        sim_push(s, c->garbage[k].at, SIM_EV_GARBAGE, k, 0, 0, NULL, 0);
        if (last > s->scenario_end)
            s->scenario_end = last;
    }
    if (c->cut_pct) {
        /* the figure is taken as the cut phase ends: the run lasts at least that long */
        sim_push(s, c->cut_until, SIM_EV_CUT_END, 0, 0, 0, NULL, 0);
        if (c->cut_until > s->scenario_end)
            s->scenario_end = c->cut_until;
    }
    sim_push(s, 3600000000ULL, SIM_EV_PROGRESS, 0, 0, 0, NULL, 0);
    return AM_OK;
}

static void teardown(struct sim *s)
{
    for (int i = 0; s->cts && i < s->n_cts; i++)
        if (s->cts[i].used)
            sim_contact_drop(s, i, -1);
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

/* One run of the scenario, its nodes with the lane or not. base (nullable): the figures
 * of the log-order run that came before (`lane both`). out NULL: no report. */
static int run_one(const struct sim_config *c, uint64_t seed, int lane,
                   const struct sim_result *base, const char *tmpdir, int json, FILE *out,
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
    s->wrng = seed ^ 0xD1B54A32D192ED03ULL;
    if (s->wrng == 0)
        s->wrng = 1;
    s->work = c->cut_pct ? &s->wrng : &s->rng;
    s->lane = lane;
    if (base) {
        s->r.baseline = 1;
        s->r.base_taken = base->crit_taken;
        s->r.base_converged = base->converged;
        s->r.base_total = base->crit_total;
        s->r.base_min = base->crit_min;
        s->r.base_median = base->crit_median;
    }
    s->progress = progress;
    s->err = err;
    s->errcap = errcap;
    rc = setup(s, tmpdir);
    s->r.nodes = s->n_nodes;
    s->r.counted = s->counted;
    while (rc == AM_OK && !s->fatal && s->n_heap > 0 && !sim_stop) {
        struct sim_ev e = pop(s);
        if (e.t > c->until) {
            free(e.buf);
            break;
        }
        s->now = e.t;
        s->r.events++;
        handle(s, &e);
        sim_settle_dirty(s);
        if (s->writes_left == 0 && s->n_complete == s->counted && s->now >= s->scenario_end) {
            if (!s->r.converged) {
                s->r.converged = 1;
                s->r.converged_at =
                    s->complete_since > s->scenario_end ? s->complete_since : s->now;
            }
            if (s->now >= s->next_fork_check) {
                s->next_fork_check = s->now + SIM_CHECK_EVERY;
                if (sim_forks_missing(s, NULL, 0) == 0) {
                    s->r.forks_everywhere = 1;
                    s->r.forks_at = s->now;
                    break;
                }
            }
            /* evidence that has not spread three rounds after convergence never will */
            if (s->now >= s->r.converged_at + 3 * c->round)
                break;
        } else if (s->r.converged && s->n_complete != s->counted) {
            s->r.converged = 0; /* a node fell behind again (a rotated clone wrote) */
        }
    }
    s->r.counted = s->counted;
    if (!s->fatal) {
        uint64_t from = s->r.last_write > s->r.last_heal ? s->r.last_write : s->r.last_heal;
        for (int i = 0; i < s->n_cts; i++)
            if (s->cts[i].used)
                sim_contact_drop(s, i, -1);
        sim_settle_dirty(s);
        if (s->r.converged && s->r.converged_at > from) {
            s->r.rounds_after = (s->r.converged_at - from + c->round - 1) / c->round;
            s->r.rounds_milli = (s->r.converged_at - from) * 1000 / c->round;
        }
        s->r.forks_missing = sim_forks_missing(s, NULL, 0);
        if ((rc = sim_final_checks(s)) != AM_OK)
            sim_fatal(s, rc, "reading the views", NULL);
    }
    rc = s->fatal;
    if (rc == AM_OK) {
        s->r.ok = s->r.converged && s->r.entries_missing == 0 &&
                  (!s->r.forked_authors || s->r.forks_everywhere || !c->evidence_required) &&
                  s->r.fp_ok && s->r.garbage_lost == 0 &&
                  s->r.garbage_closed == s->r.garbage_contacts;
        if (c->cut_pct) /* the figure was taken; the baseline run converged too */
            s->r.ok = s->r.ok && s->r.crit_taken && (!s->r.baseline || s->r.base_converged);
        if (c->critical_min_pct) /* every hub shows that share (none written: no figure) */
            s->r.ok = s->r.ok && s->r.crit_total > 0 &&
                      s->r.crit_min * 100 >= (uint64_t)c->critical_min_pct * s->r.crit_total;
        if (out)
            sim_report(s, seed, json, out);
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

int sim_run(const struct sim_config *c, uint64_t seed, const char *tmpdir, int json, FILE *out,
            FILE *progress, struct sim_result *res, char *err, size_t errcap)
{
    struct sim_result base;
    int rc;

    sim_stop = 0; /* an interrupt stops both runs of `lane both` */
    if (c->lane != SIM_LANE_BOTH)
        return run_one(c, seed, c->lane == SIM_LANE_ON, NULL, tmpdir, json, out, progress, res, err,
                       errcap);
    /* the same scenario and seed twice: the log-order baseline (lane off), then the lane */
    if (progress)
        fprintf(progress, "aidmesh-sim: run 1 of 2: the lane off (log order)\n");
    memset(&base, 0, sizeof base);
    if ((rc = run_one(c, seed, 0, NULL, tmpdir, json, NULL, progress, &base, err, errcap)) != AM_OK)
        return rc;
    if (progress)
        fprintf(progress, "aidmesh-sim: run 2 of 2: the lane on\n");
    return run_one(c, seed, 1, &base, tmpdir, json, out, progress, res, err, errcap);
}
