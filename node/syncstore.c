/* syncstore.c: struct sync_store over the LMDB store (see syncstore.h). */
#include "syncstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "node.h"
#include "query.h"

/* A log's head as a row of the engine (PROTOCOL.md 8.2): the row's id is the log id.
 * Fork evidence is kept only for an author beyond AM_LOGS_PER_AUTHOR logs (ABUSIVE), and
 * is the author's: its root row carries the mark. */
static void to_sync_head(struct sync_head *o, const struct store_head *h)
{
    int root = memcmp(h->log, h->author, AM_PK_LEN) == 0;
    memcpy(o->author, h->log, AM_PK_LEN);
    o->seq = h->seq;
    memcpy(o->hash, h->hash, AM_HASH_LEN);
    o->first_seq = h->first_seq;
    o->flags = 0;
    if (root && (h->flags & STORE_HEAD_ABUSIVE))
        o->flags |= SYNC_HEAD_EVIDENCE;
    if (h->flags & STORE_HEAD_FORKED)
        o->flags |= SYNC_HEAD_FORKED;
    if (h->flags & STORE_HEAD_SPLIT)
        o->flags |= SYNC_HEAD_SPLIT;
}

struct heads_ctx {
    int (*cb)(void *cbctx, const struct sync_head *h);
    void *cbctx;
};

static int each_head(void *ctx, const struct store_head *h)
{
    struct heads_ctx *c = ctx;
    struct sync_head sh;
    to_sync_head(&sh, h);
    return c->cb(c->cbctx, &sh);
}

static int ss_heads(void *ctx, int (*cb)(void *cbctx, const struct sync_head *h), void *cbctx)
{
    struct heads_ctx c = {cb, cbctx};
    return store_heads_each(ctx, each_head, &c);
}

static int ss_head(void *ctx, const uint8_t log[AM_PK_LEN], struct sync_head *out)
{
    struct store_head h;
    int rc = store_head_get(ctx, log, &h);
    if (rc == AM_OK)
        to_sync_head(out, &h);
    return rc;
}

static int ss_entries(void *ctx, const uint8_t log[AM_PK_LEN], uint64_t from_seq,
                      int (*cb)(void *cbctx, const uint8_t *raw, size_t len), void *cbctx)
{
    int rc = store_entries_each(ctx, log, from_seq, cb, cbctx);
    return rc > 0 ? AM_OK : rc; /* the callback stopped early */
}

struct forks_ctx {
    const uint8_t *author;
    int (*cb)(void *cbctx, const uint8_t *raw, size_t len);
    void *cbctx;
};

static int each_fork(void *ctx, const uint8_t *author, uint64_t seq, const uint8_t *raw, size_t len)
{
    struct forks_ctx *c = ctx;
    (void)seq;
    if (memcmp(author, c->author, AM_PK_LEN) != 0)
        return 0;
    return c->cb(c->cbctx, raw, len);
}

static int ss_forks(void *ctx, const uint8_t author[AM_PK_LEN],
                    int (*cb)(void *cbctx, const uint8_t *raw, size_t len), void *cbctx)
{
    struct forks_ctx c = {author, cb, cbctx};
    int rc = store_forks_each(ctx, each_fork, &c);
    return rc > 0 ? AM_OK : rc;
}

static int ss_peers(void *ctx, const uint8_t *hint, size_t hint_len,
                    int (*cb)(void *cbctx, const uint8_t author[AM_PK_LEN]), void *cbctx)
{
    int rc = store_peers_each(ctx, hint, hint_len, cb, cbctx);
    return rc > 0 ? AM_OK : rc;
}

static int ss_peer_met(void *ctx, const uint8_t author[AM_PK_LEN])
{
    return store_peer_note(ctx, author);
}

int syncstore_ingest(struct store *s, const uint8_t *const *raw, const size_t *lens, size_t n,
                     uint64_t wall_ms, struct sync_ingest_result *res, uint64_t *future)
{
    struct store_ingest_stats st;
    size_t done = 0;
    memset(res, 0, sizeof *res);
    while (done < n) {
        size_t k = n - done < AM_INGEST_BATCH_MAX ? n - done : AM_INGEST_BATCH_MAX;
        int rc = store_ingest(s, raw + done, lens + done, k, wall_ms, &st);
        if (rc != AM_OK)
            return rc;
        res->added += st.added;
        res->duplicate += st.duplicate;
        res->forks += st.forks;
        res->capped += st.capped;
        res->refused += st.gap + st.unlinked + st.badsig + st.malformed;
        {
            uint64_t listed = 0;
            for (size_t i = 0; i < st.n_refused_by; i++) {
                sync_refusals_add(&res->refusals, st.refused_by[i].author, st.refused_by[i].reason,
                                  st.refused_by[i].count);
                listed += st.refused_by[i].count;
            }
            /* pairs beyond the store's list: counted, not named */
            res->refusals.unlisted += st.gap + st.unlinked + st.badsig + st.malformed - listed;
        }
        if (future)
            *future += st.future;
        done += k;
    }
    return AM_OK;
}

static int ss_ingest(void *ctx, const uint8_t *const *raw, const size_t *lens, size_t n,
                     struct sync_ingest_result *res)
{
    return syncstore_ingest(ctx, raw, lens, n, node_wall_ms(), res, NULL);
}

void syncstore_refusal_text(const struct sync_refusal *r, char *buf, size_t cap)
{
    static const uint8_t unknown[AM_PK_LEN];
    const char *why;
    char hex[2 * AM_PK_LEN + 1];
    switch (r->reason) {
    case AM_EBADSIG:
        why = "bad signature (forged, or damaged on the way)";
        break;
    case AM_EUNLINKED:
        why = "broken link (it does not follow the entry this node holds before it: another "
              "branch of that author's log)";
        break;
    case AM_EGAP:
        why = "gap (earlier entries of that author are missing here; a later sync brings them)";
        break;
    case AM_EOTHERNET:
        why = "another network";
        break;
    case AM_EVERSION:
        why = "a newer entry format (update aidmesh)";
        break;
    default:
        why = "malformed (it does not decode)";
        break;
    }
    if (!memcmp(r->author, unknown, AM_PK_LEN)) {
        snprintf(buf, cap, "%llu entr%s that do%s not decode (author unknown): %s",
                 (unsigned long long)r->count, r->count == 1 ? "y" : "ies",
                 r->count == 1 ? "es" : "", why);
        return;
    }
    sodium_bin2hex(hex, sizeof hex, r->author, AM_PK_LEN);
    snprintf(buf, cap, "%llu entr%s from author %.16s: %s", (unsigned long long)r->count,
             r->count == 1 ? "y" : "ies", hex, why);
}

/* ---- the priority lane (PROTOCOL.md 8.4) ---------------------------------------------------- */

/* Open needs of priority critical and high looked at, at most: each gives at least one
 * candidate, and a session sends at most SYNC_LANE_MAX. */
#define LANE_NEEDS_MAX 1024

struct lane_run {
    struct store *st;
    int (*cb)(void *cbctx, const uint8_t log[AM_PK_LEN], uint64_t seq, const uint8_t *raw,
              size_t len);
    void *cbctx;
    struct store_snap *sn;   /* the query's snapshot: entries are read in it */
    struct relief_ref *seen; /* refs offered, sorted by (author, seq) */
    size_t n_seen, cap_seen;
    int stop; /* cb asked to stop */
};

static int ref_cmp(const struct relief_ref *a, const struct relief_ref *b)
{
    int c = memcmp(a->author, b->author, AM_PK_LEN);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Offers the entry ref names, once: only an author not forked here (its root log is the
 * whole log, so the ref's author is its log id), and an entry its log or the lane holds.
 * AM_OK (offered or skipped) or AM_ENOMEM. */
static int lane_offer(struct lane_run *r, const struct relief_ref *ref)
{
    struct store_head h;
    const uint8_t *raw;
    size_t lo = 0, hi = r->n_seen, len;
    int hrc;
    if (r->stop || ref->seq == 0)
        return AM_OK;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = ref_cmp(&r->seen[mid], ref);
        if (c == 0)
            return AM_OK;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (r->n_seen == r->cap_seen) {
        size_t cap = r->cap_seen ? 2 * r->cap_seen : 64;
        struct relief_ref *v = realloc(r->seen, cap * sizeof *v);
        if (!v)
            return AM_ENOMEM;
        r->seen = v;
        r->cap_seen = cap;
    }
    memmove(r->seen + lo + 1, r->seen + lo, (r->n_seen - lo) * sizeof *r->seen);
    r->seen[lo] = *ref;
    r->n_seen++;
    hrc = store_snap_head(r->sn, ref->author, &h); /* the one snapshot of the offer */
    if ((hrc != AM_OK && hrc != AM_ENOTFOUND) ||
        (hrc == AM_OK && (memcmp(h.log, h.author, AM_PK_LEN) != 0 ||
                          (h.flags & (STORE_HEAD_FORKED | STORE_HEAD_SPLIT | STORE_HEAD_ABUSIVE)))))
        return AM_OK; /* a child log, or a forked author: its log brings it (an author known
                         here only by lane entries has no head yet) */
    if (store_snap_entry(r->sn, ref->author, ref->seq, &raw, &len) != AM_OK &&
        store_snap_lane_entry(r->sn, ref->author, ref->seq, &raw, &len) != AM_OK)
        return AM_OK; /* neither in its log nor in the lane here */
    if (r->cb(r->cbctx, ref->author, ref->seq, raw, len))
        r->stop = 1;
    return AM_OK;
}

/* Priority first (critical, then high), then the newest opened first. */
static int lane_order(const void *a, const void *b)
{
    const struct query_need *x = *(const struct query_need *const *)a,
                            *y = *(const struct query_need *const *)b;
    if (x->pri != y->pri)
        return x->pri < y->pri ? -1 : 1;
    if (x->v.open_hlc != y->v.open_hlc)
        return x->v.open_hlc > y->v.open_hlc ? -1 : 1;
    return memcmp(x->v.id, y->v.id, sizeof x->v.id);
}

static int lane_pri(const struct query_need *n)
{
    return n->pri == RELIEF_PRI_CRITICAL || n->pri == RELIEF_PRI_HIGH;
}

/* The candidates, most needed first: the open needs of priority critical, then high, in
 * the read model's order; for each, the entry that opened it and the winners of its q and
 * priority registers; then, for each (site, item) of those needs, each stock cell's
 * winning count. */
static int ss_lane(void *ctx,
                   int (*cb)(void *cbctx, const uint8_t log[AM_PK_LEN], uint64_t seq,
                             const uint8_t *raw, size_t len),
                   void *cbctx)
{
    struct lane_run r = {.st = ctx, .cb = cb, .cbctx = cbctx};
    struct query_need_filter nf = {.status = RELIEF_ST_OPEN};
    const struct query_need *rows;
    struct query *q = NULL;
    const struct query_need **ord = NULL;
    size_t n, nl, ncrit, start, used = 0;
    int rc;

    if ((rc = query_open(r.st, 0, &q)) != AM_OK || (rc = query_needs(q, &nf, &rows, &n)) != AM_OK)
        goto out;
    r.sn = query_snap(q);
    /* rows are in the one order: critical, then high, then the others. Within a priority
     * the newest go first: an older need has had more contacts to spread, so the peer
     * more likely holds it already (the sender cannot see the peer's lane) */
    for (nl = 0; nl < n && lane_pri(&rows[nl]); nl++)
        ;
    if (nl && !(ord = malloc(nl * sizeof *ord))) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nl; i++)
        ord[i] = &rows[i];
    if (nl > 1)
        qsort(ord, nl, sizeof *ord, lane_order);
    /* the critical ones round-robin: this offer starts where the last one stopped */
    for (ncrit = 0; ncrit < nl && ord[ncrit]->pri == RELIEF_PRI_CRITICAL; ncrit++)
        ;
    start = ncrit ? store_lane_cursor(r.st) % ncrit : 0;
    for (size_t j = 0; j < nl && used < LANE_NEEDS_MAX && !r.stop && rc == AM_OK; j++) {
        const struct query_need *w = ord[j < ncrit ? (start + j) % ncrit : j];
        const struct relief_node_need *v = &w->v;
        if (w->forked)
            continue;
        used++;
        if (v->opened)
            rc = lane_offer(&r, &v->open_ref);
        if (rc == AM_OK && v->q.n_heads)
            rc = lane_offer(&r, &v->q.win_ref);
        if (rc == AM_OK && v->pri.n_heads)
            rc = lane_offer(&r, &v->pri.win_ref);
        if (r.stop && j < ncrit)
            store_lane_cursor_set(r.st, (start + j) % ncrit); /* it goes first next time */
    }
    used = 0;
    for (size_t i = 0;
         i < n && lane_pri(&rows[i]) && used < LANE_NEEDS_MAX && !r.stop && rc == AM_OK; i++) {
        const struct relief_node_need *v = &rows[i].v;
        struct query_cell_filter cf = {.site = v->site, .item = v->item};
        const struct query_cell *cells;
        size_t nc, k;
        if (rows[i].forked || !v->opened)
            continue;
        used++;
        for (k = 0; k < i; k++) /* each (site, item) once */
            if (!rows[k].forked && rows[k].v.opened && !strcmp(rows[k].v.site, v->site) &&
                !strcmp(rows[k].v.item, v->item))
                break;
        if (k < i)
            continue;
        if ((rc = query_cells(q, &cf, &cells, &nc)) != AM_OK)
            break;
        for (size_t c = 0; c < nc && !r.stop && rc == AM_OK; c++)
            if (cells[c].v.has_winner && !cells[c].forked)
                rc = lane_offer(&r, &cells[c].v.winner.ref);
    }
out:
    query_close(q);
    free(ord);
    free(r.seen);
    return rc;
}

static int ss_lane_ingest(void *ctx, const uint8_t *const *raw, const size_t *lens, size_t n,
                          uint64_t *added)
{
    struct store_lane_stats st;
    int rc = store_lane_ingest(ctx, raw, lens, n, node_wall_ms(), &st);
    *added = rc == AM_OK ? st.added : 0;
    return rc;
}

/* Whether (log, seq) is held here, in its log or in the lane, as the entry whose hash
 * begins with hash8 (the peer's LANE_OFFER item): 1 yes, 0 no, < 0 a store error. */
static int ss_has(void *ctx, const uint8_t log[AM_PK_LEN], uint64_t seq,
                  const uint8_t hash8[SYNC_HEAD_HASH_LEN])
{
    struct store_snap *sn;
    const uint8_t *raw;
    size_t len;
    uint8_t hash[AM_HASH_LEN];
    int rc = store_snap_begin(ctx, &sn), held = 0;
    if (rc != AM_OK)
        return rc;
    for (int lane = 0; lane < 2 && !held; lane++) {
        rc = lane ? store_snap_lane_entry(sn, log, seq, &raw, &len)
                  : store_snap_entry(sn, log, seq, &raw, &len);
        if (rc == AM_ENOTFOUND)
            continue;
        if (rc != AM_OK)
            break;
        crypto_generichash(hash, sizeof hash, raw, len, NULL, 0);
        held = sodium_memcmp(hash, hash8, SYNC_HEAD_HASH_LEN) == 0;
    }
    store_snap_end(sn);
    return held ? 1 : rc == AM_OK || rc == AM_ENOTFOUND ? 0 : rc;
}

void syncstore_init(struct sync_store *out, struct store *s)
{
    out->ctx = s;
    out->heads = ss_heads;
    out->head = ss_head;
    out->entries = ss_entries;
    out->forks = ss_forks;
    out->ingest = ss_ingest;
    out->peers = ss_peers;
    out->peer_met = ss_peer_met;
    out->lane = ss_lane;
    out->lane_ingest = ss_lane_ingest;
    out->has = ss_has;
}
