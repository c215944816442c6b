/* syncstore.c: struct sync_store over the LMDB store (see syncstore.h). */
#include "syncstore.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "node.h"

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
}
