/*
 * sync_lane.c: the priority lane of the sync engine (PROTOCOL.md 8.2 LANE, LANE_OFFER,
 * LANE_WANT; 8.4).
 *
 * Once reconciliation has found what the peer lacks, and before any log streams, a
 * session offers the store's lane candidates (the node's most needed entries) that the
 * peer lacks: LANE_OFFER names each by (log, seq, the first bytes of its hash). The peer
 * answers LANE_WANT, a bitmap of those it holds neither in a log nor in its lane, and the
 * session sends exactly those, out of their logs' order, in LANE messages: each entry is
 * signed on its own, so the receiver can take it without its predecessors. So a short
 * contact spends its bytes on what is new to the peer. The logs follow (after the WANT, or
 * after SYNC_LANE_WANT_MS without one) and bring the same entries again. The receiver
 * hands what it gets to the store's lane_ingest; the lane never moves its heads or its
 * idea of what the peer holds.
 *
 * Must never: send more than SYNC_LANE_MAX lane entries in a session, hand the store more
 * than SYNC_LANE_MAX received ones, hold more than SYNC_LANE_OFFER_BYTES of copies, hold
 * the logs back longer than SYNC_LANE_WANT_MS, or fail a session because the lane could
 * not be read.
 */
#include "sync_int.h"

#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "am_err.h"

/* [11, [bin...]]: the array 32 header of the list is patched once the count is known, as
 * for ENTRIES; each entry has a bin 16 header. */
#define LANE_HDR 7

/* One item of our offer, and a copy of its entry (buf[off..off + len)). */
struct lane_item {
    uint8_t log[AM_PK_LEN];
    uint64_t seq;
    uint8_t hash8[SYNC_HEAD_HASH_LEN];
    uint32_t off, len;
};

struct sync_lane {
    struct sync_session *s; /* while gathering */
    struct lane_item v[SYNC_LANE_MAX];
    uint32_t n;
    uint8_t *buf;
    size_t used, cap; /* used <= SYNC_LANE_OFFER_BYTES */
};

struct lane_fill {
    struct sync_session *s;
    size_t len;     /* bytes of s->msg used */
    uint32_t count; /* entries in the message being built */
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

/* Gathers a candidate the peer lacks into our offer, with a copy of its bytes. */
static int lane_candidate(void *ctx, const uint8_t log[AM_PK_LEN], uint64_t seq, const uint8_t *raw,
                          size_t len)
{
    struct sync_lane *L = ctx;
    struct sync_session *s = L->s;
    struct lane_item *it;
    uint8_t hash[AM_HASH_LEN];

    if (L->n >= SYNC_LANE_MAX || (s->state & SYNC_CLOSED))
        return 1;
    if (len == 0 || len > AM_ENTRY_MAX || !lane_peer_lacks(s, log, seq))
        return 0; /* the peer holds it (or it is not an entry a peer would take) */
    if (len > SYNC_LANE_OFFER_BYTES - L->used)
        return 1; /* the copies are full: a shorter offer */
    if (L->used + len > L->cap) {
        size_t cap = L->cap ? L->cap : 16384;
        uint8_t *nb;
        while (cap < L->used + len)
            cap *= 2;
        if (cap > SYNC_LANE_OFFER_BYTES)
            cap = SYNC_LANE_OFFER_BYTES;
        if (!(nb = realloc(L->buf, cap)))
            return 1; /* no memory: a shorter offer (the logs bring the rest) */
        L->buf = nb;
        L->cap = cap;
    }
    it = &L->v[L->n];
    memcpy(it->log, log, AM_PK_LEN);
    it->seq = seq;
    crypto_generichash(hash, sizeof hash, raw, len, NULL, 0);
    memcpy(it->hash8, hash, SYNC_HEAD_HASH_LEN);
    it->off = (uint32_t)L->used;
    it->len = (uint32_t)len;
    memcpy(L->buf + L->used, raw, len);
    L->used += len;
    return ++L->n >= SYNC_LANE_MAX;
}

void sync_lane_send(struct sync_session *s)
{
    const struct sync_store *st = s->cfg.store;
    struct mbuf b = {s->msg, 0, 0};
    msgpack_packer pk;
    struct sync_lane *L;

    /* also when no log of ours is ahead of the peer's: what we hold in our lane only (a
     * runner's need from the last hub) may still be what the peer lacks */
    if (!st->lane || (s->state & SYNC_CLOSED) || s->lane_offered || s->lane_copies)
        return;
    if (!(L = calloc(1, sizeof *L)))
        return; /* no lane this time: the logs bring everything */
    L->s = s;
    /* A store error only shortens the lane: what was gathered is offered, the logs follow. */
    (void)st->lane(st->ctx, lane_candidate, L);
    if (L->n == 0 || (s->state & SYNC_CLOSED)) {
        free(L->buf);
        free(L);
        return;
    }
    /* [12, [[log, seq, hash8], ...]]: at most SYNC_LANE_MAX items of 54 bytes */
    msgpack_packer_init(&pk, &b, sync_mbuf_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint8(&pk, T_LANE_OFFER);
    msgpack_pack_array(&pk, L->n);
    for (uint32_t i = 0; i < L->n; i++) {
        msgpack_pack_array(&pk, 3);
        msgpack_pack_bin(&pk, AM_PK_LEN);
        msgpack_pack_bin_body(&pk, L->v[i].log, AM_PK_LEN);
        msgpack_pack_uint64(&pk, L->v[i].seq);
        msgpack_pack_bin(&pk, SYNC_HEAD_HASH_LEN);
        msgpack_pack_bin_body(&pk, L->v[i].hash8, SYNC_HEAD_HASH_LEN);
    }
    sync_send_msg(s, b.len, 1); /* the lane's reconciliation, not entries */
    s->lane_offered = L->n;
    s->lane_copies = L;
    s->lane_deadline = s->now + SYNC_LANE_WANT_MS;
}

void sync_lane_free(struct sync_session *s)
{
    if (s->lane_copies) {
        free(s->lane_copies->buf);
        free(s->lane_copies);
        s->lane_copies = NULL;
    }
}

uint64_t sync_lane_deadline(const struct sync_session *s, uint64_t d)
{
    return s->lane_copies && s->lane_deadline < d ? s->lane_deadline : d;
}

void sync_lane_tick(struct sync_session *s, uint64_t now_ms)
{
    if (s->lane_copies && now_ms >= s->lane_deadline)
        sync_lane_free(s); /* no WANT in time: the logs stream; a late WANT is only checked */
}

/* LANE_OFFER: one per session, at most SYNC_LANE_MAX items; answered with a WANT of the
 * items this store lacks. A store without lane_ingest wants none (so the sender goes on to
 * its logs at once); one without `has` wants all. */
static int on_offer(struct sync_session *s, struct mp_cur *c)
{
    const struct sync_store *st = s->cfg.store;
    uint8_t want[4 + SYNC_LANE_MAX / 8] = {0x92, T_LANE_WANT, 0xc4};
    uint32_t n;

    if (s->lane_offer_in || mp_get_array(c, &n) || n > SYNC_LANE_MAX)
        return AM_EMALFORMED;
    s->lane_offer_in = 1;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *log, *h8;
        uint32_t k, ll, hl;
        uint64_t seq;
        if (mp_get_array(c, &k) || k != 3 || mp_get_bin(c, &log, &ll) || ll != AM_PK_LEN ||
            mp_get_uint(c, &seq) || seq == 0 || mp_get_bin(c, &h8, &hl) || hl != SYNC_HEAD_HASH_LEN)
            return AM_EMALFORMED;
        if (st->lane_ingest && (!st->has || st->has(st->ctx, log, seq, h8) <= 0))
            want[4 + i / 8] |= (uint8_t)(1u << (i % 8));
    }
    want[3] = (uint8_t)((n + 7) / 8);
    memcpy(s->msg, want, 4 + want[3]);
    sync_send_msg(s, 4 + want[3], 1);
    return AM_OK;
}

/* LANE_WANT: answers our offer, its bitmap exactly as long as the offer needs (unused bits
 * zero). The wanted entries go in offer order, in LANE messages of at most
 * SYNC_LANE_MSG_BYTES; then the logs. */
static int on_want(struct sync_session *s, struct mp_cur *c)
{
    struct lane_fill f = {.s = s, .len = LANE_HDR};
    struct sync_lane *L = s->lane_copies;
    const uint8_t *bm;
    uint32_t bl, n = s->lane_offered;

    if (!n || mp_get_bin(c, &bm, &bl) || bl != (n + 7) / 8 || (n % 8 && (bm[bl - 1] >> (n % 8))))
        return AM_EMALFORMED;
    s->lane_offered = 0;
    if (!L)
        return AM_OK; /* too late: the logs are on their way */
    for (uint32_t i = 0; i < L->n && !(s->state & SYNC_CLOSED); i++) {
        const struct lane_item *it = &L->v[i];
        if (!(bm[i / 8] >> (i % 8) & 1))
            continue;
        /* small messages: a contact cut short keeps every whole message it carried */
        if (f.count > 0 &&
            (f.len + 3 + it->len > SYNC_LANE_MSG_BYTES || f.count == AM_SYNC_MSG_CONTAINER_MAX))
            lane_flush(&f);
        s->msg[f.len] = 0xc5;
        s->msg[f.len + 1] = (uint8_t)(it->len >> 8);
        s->msg[f.len + 2] = (uint8_t)it->len;
        memcpy(s->msg + f.len + 3, L->buf + it->off, it->len);
        f.len += 3 + it->len;
        f.count++;
    }
    if (!(s->state & SYNC_CLOSED))
        lane_flush(&f);
    sync_lane_free(s);
    return AM_OK;
}

static int on_lane(struct sync_session *s, struct mp_cur *c)
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

int sync_lane_message(struct sync_session *s, int type, struct mp_cur *c)
{
    if (type == T_LANE_OFFER)
        return on_offer(s, c);
    if (type == T_LANE_WANT)
        return on_want(s, c);
    return on_lane(s, c);
}
