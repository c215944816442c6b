/*
 * sync_lane.c: the priority lane of the sync engine (PROTOCOL.md 8.2 LANE, 8.4).
 *
 * Once reconciliation has found what the peer lacks, and before any log streams, a
 * session sends the store's lane candidates (the node's most needed entries) that the
 * peer lacks, out of their logs' order: each entry is signed on its own, so the receiver
 * can take it without its predecessors. The logs follow as usual and bring the same
 * entries again. The receiver hands what it gets to the store's lane_ingest; the lane
 * never moves its heads or its idea of what the peer holds.
 *
 * Must never: send more than SYNC_LANE_MAX lane entries in a session, hand the store more
 * than SYNC_LANE_MAX received ones, or fail a session because the lane could not be read.
 */
#include "sync_int.h"

#include <stdlib.h>
#include <string.h>

#include "am_err.h"

/* [11, [bin...]]: the array 32 header of the list is patched once the count is known, as
 * for ENTRIES; each entry has a bin 16 header. */
#define LANE_HDR 7

struct lane_fill {
    struct sync_session *s;
    size_t len;     /* bytes of s->msg used */
    uint32_t count; /* entries in the message being built */
    uint32_t sent;  /* entries sent in this session's lane */
};

static void lane_flush(struct lane_fill *f)
{
    struct sync_session *s = f->s;
    if (f->count == 0)
        return;
    s->msg[0] = 0x92;
    s->msg[1] = T_LANE;
    s->msg[2] = 0xdd;
    s->msg[3] = (uint8_t)(f->count >> 24);
    s->msg[4] = (uint8_t)(f->count >> 16);
    s->msg[5] = (uint8_t)(f->count >> 8);
    s->msg[6] = (uint8_t)f->count;
    sync_send_msg(s, f->len, 0);
    s->stats.lane_out += f->count;
    f->len = LANE_HDR;
    f->count = 0;
}

/* Whether the peer lacks (log, seq): a send job of that log covers it, or it lies beyond
 * both our own log (we hold it in our lane only) and what the peer is known to hold. */
static int lane_peer_lacks(const struct sync_session *s, const uint8_t *log, uint64_t seq)
{
    int found;
    size_t k;
    if (sync_jobs_cover(s, log, seq))
        return 1;
    k = sync_mine_find(s, log, &found);
    return (!found || s->mine[k].seq < seq) && sync_pv_get(s->peer, log) < seq;
}

static int lane_candidate(void *ctx, const uint8_t log[AM_PK_LEN], uint64_t seq, const uint8_t *raw,
                          size_t len)
{
    struct lane_fill *f = ctx;
    struct sync_session *s = f->s;

    if (f->sent >= SYNC_LANE_MAX || (s->state & SYNC_CLOSED))
        return 1;
    if (len == 0 || len > AM_ENTRY_MAX || !lane_peer_lacks(s, log, seq))
        return 0; /* the peer holds it (or it is not an entry a peer would take) */
    /* small messages: a contact cut short keeps every whole message it carried */
    if (f->count > 0 &&
        (f->len + 3 + len > SYNC_LANE_MSG_BYTES || f->count == AM_SYNC_MSG_CONTAINER_MAX))
        lane_flush(f);
    s->msg[f->len] = 0xc5;
    s->msg[f->len + 1] = (uint8_t)(len >> 8);
    s->msg[f->len + 2] = (uint8_t)len;
    memcpy(s->msg + f->len + 3, raw, len);
    f->len += 3 + len;
    f->count++;
    return ++f->sent >= SYNC_LANE_MAX;
}

void sync_lane_send(struct sync_session *s)
{
    struct lane_fill f = {.s = s, .len = LANE_HDR};
    const struct sync_store *st = s->cfg.store;

    /* also when no log of ours is ahead of the peer's: what we hold in our lane only (a
     * runner's need from the last hub) may still be what the peer lacks */
    if (!st->lane || (s->state & SYNC_CLOSED))
        return;
    /* A store error only shortens the lane: what was gathered goes out, the logs follow. */
    (void)st->lane(st->ctx, lane_candidate, &f);
    if (!(s->state & SYNC_CLOSED))
        lane_flush(&f);
}

int sync_on_lane(struct sync_session *s, struct mp_cur *c)
{
    const uint8_t **raw = NULL;
    size_t *lens = NULL;
    uint32_t n, take;
    uint64_t added = 0;
    int rc = AM_OK;

    if (mp_get_array(c, &n))
        return AM_EMALFORMED;
    /* mp_check bounded n by AM_SYNC_MSG_CONTAINER_MAX; each element must be a bin */
    raw = malloc((n ? n : 1) * sizeof *raw);
    lens = malloc((n ? n : 1) * sizeof *lens);
    if (!raw || !lens) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l;
        if (mp_get_bin(c, &raw[i], &l)) {
            rc = AM_EMALFORMED;
            goto out;
        }
        lens[i] = l;
    }
    s->stats.lane_in += n;
    take = SYNC_LANE_MAX - s->lane_taken;
    if (take > n)
        take = n;
    if (!s->cfg.store->lane_ingest || take == 0)
        goto out; /* no lane here, or this session's share is spent: the logs bring them */
    s->lane_taken += take;
    rc = s->cfg.store->lane_ingest(s->cfg.store->ctx, raw, lens, take, &added);
    if (rc == AM_OK)
        s->stats.lane_added += added;
out:
    free(raw);
    free(lens);
    return rc;
}
