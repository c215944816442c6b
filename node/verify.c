/* verify.c: full store check (see verify.h). Reads only; never repairs. */
#include "verify.h"

#include <string.h>

#include "am_err.h"

/* Bad signatures of one log waiting for a later valid one, named one by one up to this
 * many (the rest are counted) in case none comes. */
#define BAD_NAMED_MAX 32

struct walk {
    struct store *s;
    verify_problem_fn problem;
    verify_misbehaving_fn misbehaving;
    void *ctx;
    struct verify_report *r;
    /* the author being walked */
    const struct store_head *head;
    uint64_t expect_seq;
    uint8_t prev[AM_HASH_LEN];
    int stopped; /* the chain broke: later entries are reported once, together */
    /* Entries with a bad signature since the last valid one (PROTOCOL.md §6): damage
     * unless a later entry linked to them by hashes carries a valid signature. */
    uint64_t bad[BAD_NAMED_MAX], n_bad;
    uint64_t covered_first, covered; /* bad signatures a later valid one covered */
};

static void report(struct walk *w, const uint8_t *author, uint64_t seq, const char *what)
{
    w->r->problems++;
    w->problem(w->ctx, author, seq, what);
}

/* No valid signature follows the pending bad ones: each is a problem. */
static void bad_uncovered(struct walk *w)
{
    const uint8_t *author = w->head->author;
    for (uint64_t i = 0; i < w->n_bad && i < BAD_NAMED_MAX; i++)
        report(w, author, w->bad[i], "bad signature");
    if (w->n_bad > BAD_NAMED_MAX)
        report(w, author, w->bad[BAD_NAMED_MAX - 1],
               "more entries after this one have a bad signature");
    w->n_bad = 0;
}

/* A valid signature linked by hashes to the pending bad ones: they are the author's. */
static void bad_covered(struct walk *w)
{
    if (w->n_bad == 0)
        return;
    if (w->covered == 0)
        w->covered_first = w->bad[0];
    w->covered += w->n_bad;
    w->n_bad = 0;
}

static void stop(struct walk *w, uint64_t seq, const char *what)
{
    bad_uncovered(w);
    report(w, w->head->author, seq, what);
    w->stopped = 1;
}

static int walk_entry(void *ctx, const uint8_t *raw, size_t len)
{
    struct walk *w = ctx;
    const uint8_t *author = w->head->author;
    struct entry e;
    int rc;

    w->r->entries++;
    if (w->stopped)
        return 0;
    rc = entry_decode(&e, raw, len);
    if (rc != AM_OK) {
        stop(w, w->expect_seq, "entry does not decode");
        return 0;
    }
    if (memcmp(e.author, author, AM_PK_LEN) != 0) {
        stop(w, e.seq, "entry is signed by another author than its key says");
        return 0;
    }
    if (e.seq != w->expect_seq) {
        stop(w, w->expect_seq, "entry missing (gap in the chain)");
        return 0;
    }
    if (memcmp(e.prev, w->prev, AM_HASH_LEN) != 0) {
        stop(w, e.seq, "prev hash does not link to the previous entry");
        return 0;
    }
    if (entry_verify(&e) == AM_OK) {
        bad_covered(w);
    } else {
        if (w->n_bad < BAD_NAMED_MAX)
            w->bad[w->n_bad] = e.seq;
        w->n_bad++;
    }
    entry_hash(&e, w->prev);
    w->expect_seq++;
    return 0;
}

static int walk_author(void *ctx, const struct store_head *h)
{
    struct walk *w = ctx;
    int rc;

    if (!memcmp(h->log, h->author, AM_PK_LEN))
        w->r->authors++;
    w->r->logs++;
    w->head = h;
    w->expect_seq = h->first_seq;
    w->stopped = 0;
    w->n_bad = w->covered = w->covered_first = 0;
    memset(w->prev, 0, sizeof w->prev);
    if (h->first_seq > 1) {
        /* a child log (PROTOCOL.md 6) links to the last entry of its parent log */
        struct store_head ph;
        if (store_head_get(w->s, h->parent, &ph) != AM_OK ||
            memcmp(ph.author, h->author, AM_PK_LEN) != 0 || ph.seq + 1 != h->first_seq ||
            !(ph.flags & STORE_HEAD_SPLIT)) {
            report(w, h->author, h->first_seq,
                   "a branch's log names a parent log that does not end where it begins");
            w->stopped = 1;
        } else {
            memcpy(w->prev, ph.hash, AM_HASH_LEN);
        }
    }
    rc = store_entries_each(w->s, h->log, 1, walk_entry, w);
    if (rc == AM_ECORRUPT && !w->stopped) {
        /* a record outside the file, or a page LMDB finds out of place: this log's
         * bytes cannot be read whole; the other logs may still be */
        stop(w, w->expect_seq,
             "the store file is damaged here: a record of this log cannot be read whole");
        return 0;
    }
    if (rc != AM_OK && rc != AM_ECORRUPT)
        return rc;
    bad_uncovered(w); /* a bad signature at the tip: nothing covers it */
    if (!w->stopped && w->expect_seq - 1 != h->seq)
        report(w, h->author, h->seq, "head record names another last entry than the log holds");
    else if (!w->stopped && memcmp(w->prev, h->hash, AM_HASH_LEN) != 0)
        report(w, h->author, h->seq, "head record hash differs from the last entry's hash");
    if (w->covered) {
        /* the author signed these badly and then signed over them: every node accepts
         * them (PROTOCOL.md §6), so they are the author's doing, not damage */
        w->r->misbehaving++;
        w->r->covered_bad_sigs += w->covered;
        if (w->misbehaving)
            w->misbehaving(w->ctx, h->author, w->covered_first, w->covered);
    }
    return 0;
}

static int check_fork(void *ctx, const uint8_t *author, uint64_t seq, const uint8_t *raw,
                      size_t len)
{
    struct walk *w = ctx;
    struct entry e;
    struct store_head h;

    w->r->forks++;
    if (entry_decode(&e, raw, len) != AM_OK || memcmp(e.author, author, AM_PK_LEN) != 0 ||
        e.seq != seq) {
        report(w, author, seq, "fork evidence does not decode or names another position");
        return 0;
    }
    if (entry_verify(&e) != AM_OK)
        report(w, author, seq, "fork evidence has a bad signature");
    if (store_head_get(w->s, author, &h) != AM_OK ||
        !(h.flags & (STORE_HEAD_FORKED | STORE_HEAD_ABUSIVE)))
        report(w, author, seq, "fork evidence kept but the author is not marked forked");
    return 0;
}

/* A lane entry (PROTOCOL.md 6, "Lane"): not damage, but its own signature must verify and
 * it must lie beyond the head of an author that is not forked here. */
static int check_lane(void *ctx, const uint8_t *author, uint64_t seq, const uint8_t *raw,
                      size_t len)
{
    struct walk *w = ctx;
    struct entry e;
    struct store_head h;
    int rc;

    if (entry_decode(&e, raw, len) != AM_OK || memcmp(e.author, author, AM_PK_LEN) != 0 ||
        e.seq != seq) {
        report(w, author, seq, "lane entry does not decode or names another position");
        return 0;
    }
    if (entry_verify(&e) != AM_OK)
        report(w, author, seq, "lane entry has a bad signature");
    rc = store_head_get(w->s, author, &h);
    if (rc != AM_OK && rc != AM_ENOTFOUND)
        return rc;
    if (rc == AM_OK && (h.flags & (STORE_HEAD_FORKED | STORE_HEAD_SPLIT | STORE_HEAD_ABUSIVE)))
        report(w, author, seq, "lane entry kept of an author that is forked");
    else if (rc == AM_OK && seq <= h.seq)
        report(w, author, seq, "lane entry kept though its log reaches it");
    return 0;
}

static int scan(void *ctx)
{
    struct walk *w = ctx;
    struct verify_report *r = w->r;
    struct store *s = w->s;
    struct store_stats st;
    static const uint8_t nobody[AM_PK_LEN];
    int rc;

    rc = store_heads_each(s, walk_author, w);
    if (rc != AM_OK)
        return rc;
    if ((rc = store_stats(s, &st)) != AM_OK)
        return rc;
    if (st.entries != r->entries)
        report(w, nobody, 0, "the store holds entries of an author without a head record");
    if ((rc = store_forks_each(s, check_fork, w)) != AM_OK)
        return rc;
    if ((rc = store_lane_each(s, check_lane, w)) != AM_OK)
        return rc;
    /* The views: present, of this build's format, and matching their fingerprint. */
    {
        struct store_view_stats vs;
        uint8_t fp[STORE_VIEW_FP_LEN];
        if ((rc = store_view_stats(s, &vs)) != AM_OK ||
            (rc = store_view_fingerprint_scan(s, fp)) != AM_OK)
            return rc;
        r->invalid_ops = vs.invalid;
        if (!vs.current)
            report(w, nobody, 0,
                   "the views are missing or of another format: run `aidmesh reindex`");
        else if (memcmp(fp, vs.fingerprint, STORE_VIEW_FP_LEN) != 0)
            report(w, nobody, 0,
                   "the views do not match their fingerprint (damaged): run `aidmesh reindex`");
    }
    return AM_OK;
}

int verify_store(struct store *s, verify_problem_fn problem, void *ctx, struct verify_report *r)
{
    return verify_store_all(s, problem, NULL, ctx, r);
}

int verify_store_all(struct store *s, verify_problem_fn problem, verify_misbehaving_fn misbehaving,
                     void *ctx, struct verify_report *r)
{
    struct walk w = {.s = s, .problem = problem, .misbehaving = misbehaving, .ctx = ctx, .r = r};
    int rc;

    memset(r, 0, sizeof *r);
    rc = store_guarded(s, scan, &w, &r->damage);
    if (rc == AM_ECORRUPT && r->damage.kind == STORE_DAMAGE_NONE)
        r->damage.kind = STORE_DAMAGE_PAGES; /* LMDB's own check, or a head out of place */
    return rc;
}

struct invalid_ctx {
    struct store *s;
    int (*cb)(void *ctx, const uint8_t *author, uint64_t seq, const char *why, size_t len);
    void *ctx;
};

static int invalid_scan(void *ctx)
{
    struct invalid_ctx *c = ctx;
    return store_invalid_each(c->s, c->cb, c->ctx);
}

int verify_invalid_each(struct store *s,
                        int (*cb)(void *ctx, const uint8_t *author, uint64_t seq, const char *why,
                                  size_t len),
                        void *ctx, struct store_damage *damage)
{
    struct invalid_ctx c = {s, cb, ctx};
    return store_guarded(s, invalid_scan, &c, damage);
}
