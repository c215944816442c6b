/*
 * sync_logs.c: the sync engine's view of an author's logs (PROTOCOL.md 8.3): a head the
 * peer holds on another branch, the heads that moved when stored entries split a log,
 * and the heads that moved during the handshake or were written meanwhile (sync_notify).
 * Part of the engine (sync.h): no I/O, never prints.
 */
#include "sync_int.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "entry.h"

struct match {
    uint64_t seq;
    const uint8_t *hash8;
    int same;
};

static int match_entry(void *ctx, const uint8_t *raw, size_t len)
{
    struct match *m = ctx;
    m->same = entry_raw_is(raw, len, m->seq, m->hash8, SYNC_HEAD_HASH_LEN);
    return 1; /* the first entry only */
}

int sync_entry_matches(struct sync_session *s, const struct sync_head *h, uint64_t seq,
                       const uint8_t hash8[SYNC_HEAD_HASH_LEN])
{
    struct match m = {seq, hash8, 0};
    int rc;
    if (seq == h->seq)
        return memcmp(h->hash, hash8, SYNC_HEAD_HASH_LEN) == 0;
    rc = s->cfg.store->entries(s->cfg.store->ctx, h->author, seq, match_entry, &m);
    if (rc < 0 && rc != AM_ENOTFOUND)
        return rc;
    return m.same;
}

struct rescan {
    struct sync_session *s;
    const uint8_t *const *raw;
    const size_t *lens;
    size_t n;
};

/* Whether one of the entries the peer just sent is the head h. */
static int sent_by_peer(const struct rescan *r, const struct sync_head *h)
{
    for (size_t i = 0; i < r->n; i++) {
        uint8_t hash[AM_HASH_LEN];
        crypto_generichash(hash, sizeof hash, r->raw[i], r->lens[i], NULL, 0);
        if (memcmp(hash, h->hash, AM_HASH_LEN) == 0)
            return 1;
    }
    return 0;
}

static int rescan_head(void *ctx, const struct sync_head *h)
{
    struct rescan *r = ctx;
    struct sync_session *s = r->s;
    int found;
    size_t i = sync_mine_find(s, h->author, &found);
    uint64_t before = found ? s->mine[i].seq : 0;
    if (found && s->mine[i].seq == h->seq && s->mine[i].flags == h->flags &&
        memcmp(s->mine[i].hash, h->hash, AM_HASH_LEN) == 0)
        return 0;
    if (sync_mine_put(s, h) != AM_OK)
        return AM_ENOMEM;
    /* The peer holds a row whose head it sent us, or one we sent it (or it named) in the
     * log this row was part of before the split. */
    if (h->seq > sync_pv_get(s->peer, h->author) &&
        (sent_by_peer(r, h) || sync_pv_holds(s->peer, h->seq, h->hash)) &&
        sync_pv_set_held(s->peer, h->author, h->seq, h->hash) != AM_OK)
        return AM_ENOMEM;
    if (r->raw && s->cfg.on_new && (!found || h->seq > before))
        s->cfg.on_new(s->cfg.on_new_ctx, h->author, h->seq); /* received entries moved it */
    if (s->recon_done)
        sync_lacks(s, h, sync_pv_get(s->peer, h->author));
    return 0;
}

int sync_heads_rescan(struct sync_session *s, const uint8_t *const *raw, const size_t *lens,
                      size_t n)
{
    struct rescan r = {s, raw, lens, n};
    return s->cfg.store->heads(s->cfg.store->ctx, rescan_head, &r);
}

/* During the handshake, a head that moved is only noted: our HELLO's fingerprint was
 * computed on the heads as read, and the peer's vector starts from those same heads when
 * the handshake ends (sync_hs_notes_apply); refreshing `mine` now would credit the peer
 * with an entry it never saw. */
static void hs_note(struct sync_session *s, const uint8_t author[AM_PK_LEN])
{
    if (s->hs_notes_all)
        return;
    for (size_t i = 0; i < s->n_hs_notes; i++)
        if (memcmp(s->hs_notes[i], author, AM_PK_LEN) == 0)
            return;
    if (s->n_hs_notes == SYNC_HS_NOTES_MAX) {
        s->hs_notes_all = 1; /* many: every head is compared instead */
        return;
    }
    if (!s->hs_notes && !(s->hs_notes = malloc(SYNC_HS_NOTES_MAX * sizeof *s->hs_notes))) {
        s->hs_notes_all = 1;
        return;
    }
    memcpy(s->hs_notes[s->n_hs_notes++], author, AM_PK_LEN);
}

void sync_hs_notes_apply(struct sync_session *s)
{
    if (s->hs_notes_all) {
        int rc = sync_heads_rescan(s, NULL, NULL, 0);
        if (rc != AM_OK)
            sync_fail(s, rc);
    } else {
        for (size_t i = 0; i < s->n_hs_notes && !(s->state & SYNC_CLOSED); i++) {
            struct sync_head h;
            if (sync_mine_refresh(s, s->hs_notes[i], &h) == AM_OK && s->recon_done)
                sync_lacks(s, &h, sync_pv_get(s->peer, s->hs_notes[i]));
        }
    }
    free(s->hs_notes);
    s->hs_notes = NULL;
    s->n_hs_notes = 0;
    s->hs_notes_all = 0;
}

void sync_notify(struct sync_session *s, const uint8_t author[AM_PK_LEN], uint64_t seq)
{
    struct sync_head h;
    (void)seq;
    if ((s->state & SYNC_CLOSED) || !s->heads_ready)
        return; /* heads not read yet: they will include it */
    if (s->phase != P_LIVE) {
        hs_note(s, author);
        return;
    }
    if (sync_mine_refresh(s, author, &h) != AM_OK)
        return;
    /* Before reconciliation ends, the ranges still being compared will find it; after,
     * the peer's vector is known and the entry goes straight out. */
    if (s->recon_done)
        sync_lacks(s, &h, sync_pv_get(s->peer, author));
}
