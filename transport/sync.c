/*
 * sync.c: the sync engine (see sync.h; wire format in PROTOCOL.md section "Sync").
 *
 * Must never: touch a socket, a file or a clock; print; trust a length or a count from
 * the peer before checking it; let its buffers grow with what the peer sends; send an
 * entry's bytes other than as stored. The handshake is in sync_hs.c.
 */
#include "sync_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "am_err.h"
#include "am_grow.h"
#include "entry.h"
#include "mp.h"

enum result_kind { R_EQUAL = 0, R_LEAF = 1, R_SPLIT = 2 };

/* Limits for one decrypted message: entries are bins of at most AM_ENTRY_MAX; ranges,
 * heads and entries come in arrays of at most SYNC_HEADS_PER_MSG. */
static const struct mp_limits msg_limits = {
    .depth_max = AM_SYNC_MSG_DEPTH_MAX,
    .str_max = AM_SYNC_MSG_STR_MAX,
    .container_max = AM_SYNC_MSG_CONTAINER_MAX,
};

/* ---- the peer's version vector and the send jobs ----------------------------------------- */

struct pv_item {
    uint8_t author[AM_PK_LEN];
    uint64_t seq;
    uint8_t held[SYNC_HEAD_HASH_LEN]; /* the entry at seq the peer holds: its hash8, when
                                         known (else zero) */
};

struct sync_peer_vv {
    struct pv_item *v; /* sorted by author */
    size_t n, cap;
};

enum job_kind { J_RANGE, J_EVIDENCE };

struct job {
    uint8_t author[AM_PK_LEN];
    uint64_t next, last; /* J_RANGE: seqs next..last */
    int kind;
    uint32_t rank; /* the caller's rank of its author (sync_config.author_rank); 0: none */
};

struct sync_jobs {
    struct job *v;
    size_t n, cap, rr; /* rr: where round robin continues */
};

/* Binary search over n records of `stride` bytes, sorted by the 32-byte author id at
 * their start: the index of `author`, or where it would go (*found then 0). */
static size_t author_find(const void *base, size_t n, size_t stride, const uint8_t *author,
                          int *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = memcmp((const uint8_t *)base + mid * stride, author, AM_PK_LEN);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

_Static_assert(offsetof(struct pv_item, author) == 0, "author first");
_Static_assert(SYNC_PENDING_MAX <= AM_INGEST_BATCH_MAX, "a pending batch is one ingest call");
_Static_assert(offsetof(struct sync_head, author) == 0, "author first");

static size_t pv_find(const struct sync_peer_vv *pv, const uint8_t *author, int *found)
{
    return author_find(pv->v, pv->n, sizeof *pv->v, author, found);
}

uint64_t sync_pv_get(const struct sync_peer_vv *pv, const uint8_t *author)
{
    int found;
    size_t i = pv_find(pv, author, &found);
    return found ? pv->v[i].seq : 0;
}

int sync_pv_set_held(struct sync_peer_vv *pv, const uint8_t *author, uint64_t seq,
                     const uint8_t *hash8)
{
    int found;
    size_t i = pv_find(pv, author, &found);
    if (!found) {
        if (AM_GROW(pv->v, pv->cap, pv->n + 1, 64) != AM_OK)
            return AM_ENOMEM;
        memmove(pv->v + i + 1, pv->v + i, (pv->n - i) * sizeof *pv->v);
        memcpy(pv->v[i].author, author, AM_PK_LEN);
        pv->n++;
    }
    pv->v[i].seq = seq;
    if (hash8)
        memcpy(pv->v[i].held, hash8, SYNC_HEAD_HASH_LEN);
    else
        memset(pv->v[i].held, 0, SYNC_HEAD_HASH_LEN);
    return AM_OK;
}

int sync_pv_set(struct sync_peer_vv *pv, const uint8_t *author, uint64_t seq)
{
    return sync_pv_set_held(pv, author, seq, NULL);
}

int sync_pv_holds(const struct sync_peer_vv *pv, uint64_t seq, const uint8_t *hash8)
{
    for (size_t i = 0; i < pv->n; i++)
        if (pv->v[i].seq == seq && !memcmp(pv->v[i].held, hash8, SYNC_HEAD_HASH_LEN))
            return 1;
    return 0;
}

/* The caller's rank of author (sync_config.author_rank); 0: none. */
static uint32_t author_rank(const struct sync_config *cfg, const uint8_t *author)
{
    return cfg->author_rank ? cfg->author_rank(cfg->rank_ctx, author) : 0;
}

static int job_add(struct sync_jobs *j, const uint8_t *author, uint64_t next, uint64_t last,
                   int kind, uint32_t rank)
{
    if (kind == J_RANGE) {
        /* extend a pending job of this author rather than add a second one */
        for (size_t i = 0; i < j->n; i++) {
            struct job *o = &j->v[i];
            if (o->kind == J_RANGE && memcmp(o->author, author, AM_PK_LEN) == 0 &&
                next <= o->last + 1) {
                if (next < o->next)
                    o->next = next;
                if (last > o->last)
                    o->last = last;
                return AM_OK;
            }
        }
    }
    if (AM_GROW(j->v, j->cap, j->n + 1, 32) != AM_OK)
        return AM_ENOMEM;
    memcpy(j->v[j->n].author, author, AM_PK_LEN);
    j->v[j->n].next = next;
    j->v[j->n].last = last;
    j->v[j->n].kind = kind;
    j->v[j->n].rank = rank;
    j->n++;
    return AM_OK;
}

/* The job to serve next: the ranked job of the lowest rank while one is left (the authors
 * of the most needed open needs go first, PROTOCOL.md §8.4), else round robin. With a
 * ranking, unranked jobs wait until reconciliation is over: a ranked author's job may still
 * come from a range not reconciled yet. SIZE_MAX: nothing to serve now. */
static size_t job_next(const struct sync_session *s, const struct sync_jobs *j)
{
    size_t best = SIZE_MAX;
    uint32_t br = UINT32_MAX;
    if ((s->cfg.store->lane && !s->recon_done) || s->lane_copies)
        return SIZE_MAX; /* the lane goes before any log (PROTOCOL.md §8.4) */
    for (size_t i = 0; i < j->n; i++)
        if (j->v[i].rank && j->v[i].rank < br) {
            br = j->v[i].rank;
            best = i;
        }
    if (best != SIZE_MAX)
        return best;
    if (s->cfg.author_rank && !s->recon_done)
        return SIZE_MAX;
    return j->rr;
}

int sync_jobs_cover(const struct sync_session *s, const uint8_t *log, uint64_t seq)
{
    for (size_t i = 0; i < s->jobs->n; i++) {
        const struct job *o = &s->jobs->v[i];
        if (o->kind == J_RANGE &&
            (!log || (o->next <= seq && seq <= o->last && !memcmp(o->author, log, AM_PK_LEN))))
            return 1;
    }
    return 0;
}

static void job_remove(struct sync_jobs *j, size_t i)
{
    memmove(j->v + i, j->v + i + 1, (j->n - i - 1) * sizeof *j->v);
    j->n--;
    if (j->rr > i)
        j->rr--;
    if (j->rr >= j->n)
        j->rr = 0;
}

/* ---- our heads ------------------------------------------------------------------------------ */

/* An author's term: its head, and whether fork evidence is held, so that two nodes that
 * differ only in holding evidence do not look in sync (the evidence must spread). */
static void head_term(const struct sync_head *h, uint8_t term[AM_HASH_LEN])
{
    crypto_generichash_state st;
    uint8_t seq[8], forked = (uint8_t)(h->flags & SYNC_HEAD_EVIDENCE);
    for (int i = 0; i < 8; i++)
        seq[i] = (uint8_t)(h->seq >> (56 - 8 * i));
    crypto_generichash_init(&st, NULL, 0, AM_HASH_LEN);
    crypto_generichash_update(&st, h->author, AM_PK_LEN);
    crypto_generichash_update(&st, seq, 8);
    crypto_generichash_update(&st, h->hash, AM_HASH_LEN);
    crypto_generichash_update(&st, &forked, 1);
    crypto_generichash_final(&st, term, AM_HASH_LEN);
}

/* sum += term, little-endian 256-bit addition modulo 2^256 */
static void sum_add(uint8_t sum[AM_HASH_LEN], const uint8_t term[AM_HASH_LEN])
{
    unsigned carry = 0;
    for (int i = 0; i < AM_HASH_LEN; i++) {
        unsigned v = sum[i] + term[i] + carry;
        sum[i] = (uint8_t)v;
        carry = v >> 8;
    }
}

static void fp_of(const uint8_t sum[AM_HASH_LEN], uint64_t count, uint8_t *fp, size_t fplen)
{
    uint8_t buf[8 + AM_HASH_LEN];
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(count >> (56 - 8 * i));
    memcpy(buf + 8, sum, AM_HASH_LEN);
    crypto_generichash(fp, fplen, buf, sizeof buf, NULL, 0);
}

void sync_fingerprint(const struct sync_head *heads, size_t n, uint8_t fp[static SYNC_FP_LEN])
{
    uint8_t sum[AM_HASH_LEN] = {0}, term[AM_HASH_LEN];
    for (size_t i = 0; i < n; i++) {
        head_term(&heads[i], term);
        sum_add(sum, term);
    }
    fp_of(sum, n, fp, SYNC_FP_LEN);
}

size_t sync_mine_find(const struct sync_session *s, const uint8_t *author, int *found)
{
    return author_find(s->mine, s->n_mine, sizeof *s->mine, author, found);
}

int sync_mine_put(struct sync_session *s, const struct sync_head *h)
{
    int found;
    size_t i = sync_mine_find(s, h->author, &found);
    if (!found) {
        if (s->n_mine == s->cap_mine) {
            size_t cap = s->cap_mine ? 2 * s->cap_mine : 64;
            struct sync_head *m = realloc(s->mine, cap * sizeof *m);
            uint8_t(*t)[AM_HASH_LEN];
            if (!m)
                return AM_ENOMEM;
            s->mine = m;
            t = realloc(s->terms, cap * sizeof *t);
            if (!t)
                return AM_ENOMEM;
            s->terms = t;
            s->cap_mine = cap;
        }
        memmove(s->mine + i + 1, s->mine + i, (s->n_mine - i) * sizeof *s->mine);
        memmove(s->terms + i + 1, s->terms + i, (s->n_mine - i) * sizeof *s->terms);
        s->n_mine++;
        if (s->range_open && i < s->range_end) { /* a HEADS range is being walked */
            if (i < s->range_cursor)
                s->range_cursor++;
            s->range_end++;
        }
    }
    s->mine[i] = *h;
    head_term(h, s->terms[i]);
    return AM_OK;
}

static int collect_head(void *ctx, const struct sync_head *h)
{
    return sync_mine_put(ctx, h);
}

/* Reads our heads and fingerprint from the store: only once the peer has shown it holds
 * the network key (PROTOCOL.md 8.1), so a connection that has not costs no store work. */
int sync_heads_load(struct sync_session *s)
{
    int rc;
    if (s->heads_ready)
        return AM_OK;
    rc = s->cfg.store->heads(s->cfg.store->ctx, collect_head, s);
    if (rc != AM_OK)
        return rc;
    sync_fingerprint(s->mine, s->n_mine, s->our_fp);
    s->heads_ready = 1;
    return AM_OK;
}

/* The buffers of the live phase: a message being built, a message received. Allocated
 * once the handshake is done (sync_feed grows the input buffer to a whole frame). */
int sync_live_alloc(struct sync_session *s)
{
    if (!s->msg && !(s->msg = malloc(NOISE_MAX_MSG)))
        return AM_ENOMEM;
    if (!s->plain && !(s->plain = malloc(NOISE_MAX_MSG)))
        return AM_ENOMEM;
    return AM_OK;
}

/* Re-reads one author's head from the store into `mine`. */
int sync_mine_refresh(struct sync_session *s, const uint8_t *author, struct sync_head *out)
{
    struct sync_head h;
    int rc = s->cfg.store->head(s->cfg.store->ctx, author, &h);
    if (rc != AM_OK)
        return rc;
    if (out)
        *out = h;
    return sync_mine_put(s, &h);
}

/* ---- ranges over author-id prefixes ----------------------------------------------------- */

static int in_range(const struct range *r, const uint8_t *author)
{
    unsigned full = r->bits / 8, rest = r->bits % 8;
    if (memcmp(author, r->prefix, full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        return (author[full] & mask) == (r->prefix[full] & mask);
    }
    return 1;
}

/* The slice [*lo, *hi) of `mine` inside r. */
static void range_slice(const struct sync_session *s, const struct range *r, size_t *lo, size_t *hi)
{
    uint8_t first[AM_PK_LEN];
    int found;
    size_t i;

    memset(first, 0, sizeof first);
    memcpy(first, r->prefix, (r->bits + 7) / 8);
    if (r->bits % 8)
        first[r->bits / 8] &= (uint8_t)(0xff << (8 - r->bits % 8));
    i = sync_mine_find(s, first, &found);
    *lo = i;
    while (i < s->n_mine && in_range(r, s->mine[i].author))
        i++;
    *hi = i;
}

static void range_summary(const struct sync_session *s, const struct range *r, uint64_t *count,
                          uint8_t fp[SYNC_RANGE_FP_LEN])
{
    uint8_t sum[AM_HASH_LEN] = {0};
    size_t lo, hi;
    range_slice(s, r, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        sum_add(sum, s->terms[i]);
    *count = hi - lo;
    fp_of(sum, *count, fp, SYNC_RANGE_FP_LEN);
}

void sync_range_child(const struct range *r, unsigned nibble, struct range *c)
{
    *c = *r;
    c->bits = r->bits + 4;
    if (r->bits % 8 == 0)
        c->prefix[r->bits / 8] = (uint8_t)(nibble << 4);
    else
        c->prefix[r->bits / 8] = (uint8_t)((r->prefix[r->bits / 8] & 0xf0) | nibble);
    for (unsigned k = (c->bits + 7) / 8; k < AM_PK_LEN; k++)
        c->prefix[k] = 0;
}

/* ---- output --------------------------------------------------------------------------------- */

void sync_fail(struct sync_session *s, int code)
{
    if (!s->error)
        s->error = code;
    s->state |= SYNC_CLOSED;
    s->phase = P_CLOSED;
}

static int out_reserve(struct sync_session *s, size_t n)
{
    if (s->out_sent > 0 && s->out_sent == s->out_len) {
        s->out_len = s->out_sent = 0;
    } else if (s->out_sent > 0 && s->out_len + n > s->out_cap) {
        memmove(s->out, s->out + s->out_sent, s->out_len - s->out_sent);
        s->out_len -= s->out_sent;
        s->out_sent = 0;
    }
    if (s->out_len + n > s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap : SYNC_OUT_FIRST;
        uint8_t *o;
        while (cap < s->out_len + n)
            cap *= 2;
        o = realloc(s->out, cap);
        if (!o)
            return AM_ENOMEM;
        s->out = o;
        s->out_cap = cap;
    }
    return AM_OK;
}

void sync_out_raw(struct sync_session *s, const uint8_t *p, size_t n)
{
    if (out_reserve(s, n) != AM_OK) {
        sync_fail(s, AM_ENOMEM);
        return;
    }
    memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
    s->stats.bytes_out += n;
    s->last_tx = s->now;
}

/* Encrypts and frames one message of plaintext s->msg[0..n). */
void sync_send_msg(struct sync_session *s, size_t n, int summary)
{
    size_t frame = 2 + n + NOISE_TAG_LEN;
    int rc;

    if (out_reserve(s, frame) != AM_OK) {
        sync_fail(s, AM_ENOMEM);
        return;
    }
    s->out[s->out_len] = (uint8_t)((n + NOISE_TAG_LEN) >> 8);
    s->out[s->out_len + 1] = (uint8_t)(n + NOISE_TAG_LEN);
    rc = noise_cipher_encrypt(&s->tx, NULL, 0, s->msg, n, s->out + s->out_len + 2);
    if (rc != AM_OK) {
        sync_fail(s, rc);
        return;
    }
    s->out_len += frame;
    s->stats.bytes_out += frame;
    if (summary)
        s->stats.summary_out += frame;
    s->last_tx = s->now;
}

/* The initial sync is over once END went both ways and the peer's identity is known. */
void sync_check_in_sync(struct sync_session *s)
{
    if (s->end_sent && s->end_received && s->peer_known)
        s->state |= SYNC_IN_SYNC;
}

int sync_mbuf_write(void *data, const char *buf, size_t len)
{
    struct mbuf *b = data;
    if (len > NOISE_MAX_PAYLOAD - b->len) {
        b->over = 1;
        return -1;
    }
    memcpy(b->p + b->len, buf, len);
    b->len += len;
    return 0;
}

static void pack_range(msgpack_packer *pk, const struct range *r)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint32(pk, r->bits);
    msgpack_pack_bin(pk, (r->bits + 7) / 8);
    msgpack_pack_bin_body(pk, r->prefix, (r->bits + 7) / 8);
}

void sync_send_simple(struct sync_session *s, int type)
{
    struct mbuf b = {s->msg, 0, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, sync_mbuf_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_uint8(&pk, (uint8_t)type);
    sync_send_msg(s, b.len, type == T_RECONCILED);
}

/* REQ with our summaries of `n` ranges. */
void sync_send_req(struct sync_session *s, const struct range *rs, size_t n)
{
    struct mbuf b = {s->msg, 0, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, sync_mbuf_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint8(&pk, T_REQ);
    msgpack_pack_array(&pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        uint64_t count;
        uint8_t fp[SYNC_RANGE_FP_LEN];
        range_summary(s, &rs[i], &count, fp);
        msgpack_pack_array(&pk, 3);
        pack_range(&pk, &rs[i]);
        msgpack_pack_uint64(&pk, count);
        msgpack_pack_bin(&pk, SYNC_RANGE_FP_LEN);
        msgpack_pack_bin_body(&pk, fp, SYNC_RANGE_FP_LEN);
    }
    sync_send_msg(s, b.len, 1);
    s->awaiting++;
}

/* HEADS of our authors in r, in chunks; the last chunk says final. */
static void send_heads(struct sync_session *s, const struct range *r)
{
    size_t lo, hi;
    range_slice(s, r, &lo, &hi);
    do {
        size_t k = hi - lo < SYNC_HEADS_PER_MSG ? hi - lo : SYNC_HEADS_PER_MSG;
        struct mbuf b = {s->msg, 0, 0};
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b, sync_mbuf_write);
        msgpack_pack_array(&pk, 4);
        msgpack_pack_uint8(&pk, T_HEADS);
        pack_range(&pk, r);
        if (lo + k == hi)
            msgpack_pack_true(&pk);
        else
            msgpack_pack_false(&pk);
        msgpack_pack_array(&pk, (uint32_t)k);
        for (size_t i = lo; i < lo + k; i++) {
            const struct sync_head *h = &s->mine[i];
            msgpack_pack_array(&pk, 4);
            msgpack_pack_bin(&pk, AM_PK_LEN);
            msgpack_pack_bin_body(&pk, h->author, AM_PK_LEN);
            msgpack_pack_uint64(&pk, h->seq);
            msgpack_pack_bin(&pk, SYNC_HEAD_HASH_LEN);
            msgpack_pack_bin_body(&pk, h->hash, SYNC_HEAD_HASH_LEN);
            msgpack_pack_uint32(&pk, h->flags & SYNC_HEAD_EVIDENCE);
        }
        sync_send_msg(s, b.len, 1);
        lo += k;
    } while (lo < hi);
}

/* ---- entry streaming -------------------------------------------------------------------- */

struct fill {
    struct sync_session *s;
    struct job *job;
    size_t start; /* offset in s->msg where entries begin */
    size_t len;   /* bytes of s->msg used */
    uint32_t count;
    uint64_t last_seq_sent;
    int full;
    unsigned per_job;      /* entries taken from this job in this turn */
    uint64_t ev_lo, ev_hi; /* J_EVIDENCE: the seqs of the evidence sent */
};

/* The last entry of a range job went out: the peer will hold it, whichever log it is in
 * later (a log of ours split meanwhile names it by a child log's id: sync_pv_holds). */
static void range_sent(struct sync_session *s, const struct job *job, const uint8_t *raw,
                       size_t len)
{
    uint8_t hash[AM_HASH_LEN];
    if (sync_pv_get(s->peer, job->author) != job->last)
        return;
    crypto_generichash(hash, sizeof hash, raw, len, NULL, 0);
    if (sync_pv_set_held(s->peer, job->author, job->last, hash) != AM_OK)
        sync_fail(s, AM_ENOMEM);
}

static int fill_entry(void *ctx, const uint8_t *raw, size_t len)
{
    struct fill *f = ctx;
    size_t need = len + 3; /* bin16 header */
    if (f->job->kind == J_RANGE && f->job->next > f->job->last)
        return 1;
    if (f->len + need > NOISE_MAX_PAYLOAD) {
        f->full = 1;
        return 1;
    }
    f->s->msg[f->len] = 0xc5;
    f->s->msg[f->len + 1] = (uint8_t)(len >> 8);
    f->s->msg[f->len + 2] = (uint8_t)len;
    memcpy(f->s->msg + f->len + 3, raw, len);
    f->len += need;
    f->count++;
    if (f->job->kind == J_RANGE) {
        if (++f->job->next > f->job->last)
            range_sent(f->s, f->job, raw, len);
    } else {
        struct entry e;
        if (entry_decode(&e, raw, len) == AM_OK) {
            if (!f->ev_lo || e.seq < f->ev_lo)
                f->ev_lo = e.seq;
            if (e.seq > f->ev_hi)
                f->ev_hi = e.seq;
        }
    }
    return ++f->per_job >= SYNC_TURN ? 1 : 0; /* interleave authors */
}

/* Produces ENTRIES messages while the backlog is low and jobs remain. */
static void fill_output(struct sync_session *s)
{
    struct sync_jobs *j = s->jobs;

    while (s->phase == P_LIVE && j->n > 0 && s->out_len - s->out_sent < SYNC_OUT_HIGH) {
        struct fill f = {.s = s, .start = 7, .len = 7};
        size_t visited = 0;

        while (j->n > 0 && !f.full && visited < j->n) {
            struct job *job;
            size_t next = job_next(s, j);
            if (next == SIZE_MAX)
                break; /* ranked first: the rest waits for reconciliation */
            j->rr = next;
            job = &j->v[j->rr];
            size_t before = f.count;
            int rc;
            f.job = job;
            f.per_job = 0;
            f.ev_lo = f.ev_hi = 0;
            if (job->kind == J_EVIDENCE)
                rc = s->cfg.store->forks(s->cfg.store->ctx, job->author, fill_entry, &f);
            else
                rc = s->cfg.store->entries(s->cfg.store->ctx, job->author, job->next, fill_entry,
                                           &f);
            if (rc < 0 && rc != AM_ENOTFOUND) {
                sync_fail(s, rc);
                return;
            }
            if (f.full && f.count == before && job->kind == J_EVIDENCE)
                break; /* evidence goes whole; next message */
            if (job->kind == J_EVIDENCE || job->next > job->last || (!f.full && f.per_job < 64)) {
                /* done: the range is sent, or the store has nothing more */
                uint8_t author[AM_PK_LEN];
                int evidence = job->kind == J_EVIDENCE && f.ev_hi > 0;
                memcpy(author, job->author, AM_PK_LEN);
                job_remove(j, j->rr);
                visited = 0;
                /* Evidence may be the peer's own entry (we stored its branch's entry as
                 * evidence against ours): our entries where the branches part prove the
                 * fork to it, so they follow. Those it has are duplicates. */
                if (evidence && job_add(j, author, f.ev_lo > 1 ? f.ev_lo - 1 : 1, f.ev_hi, J_RANGE,
                                        author_rank(&s->cfg, author)) != AM_OK) {
                    sync_fail(s, AM_ENOMEM);
                    return;
                }
                continue;
            }
            j->rr = (j->rr + 1) % j->n;
            visited++;
        }
        if (f.count == 0)
            break;
        /* [5, [bin...]] with an array32 header we can patch */
        s->msg[0] = 0x92;
        s->msg[1] = T_ENTRIES;
        s->msg[2] = 0xdd;
        s->msg[3] = (uint8_t)(f.count >> 24);
        s->msg[4] = (uint8_t)(f.count >> 16);
        s->msg[5] = (uint8_t)(f.count >> 8);
        s->msg[6] = (uint8_t)f.count;
        sync_send_msg(s, f.len, 0);
        s->stats.entries_out += f.count;
    }
    if (s->phase == P_LIVE && s->recon_done && j->n == 0 && !s->end_sent && !s->lane_copies) {
        s->end_sent = 1;
        sync_send_simple(s, T_END);
        sync_check_in_sync(s);
    }
}

/* The peer lacks what we have of log `author` beyond `peer_seq`: queue it, and count it
 * as on its way (the connection is reliable and ordered; a broken one reconciles anew).
 * A child log starts at its first seq. */
void sync_lacks(struct sync_session *s, const struct sync_head *mine, uint64_t peer_seq)
{
    if (mine->seq > peer_seq) {
        uint64_t next = peer_seq + 1 > mine->first_seq ? peer_seq + 1 : mine->first_seq;
        if (job_add(s->jobs, mine->author, next, mine->seq, J_RANGE,
                    author_rank(&s->cfg, mine->author)) != AM_OK ||
            sync_pv_set(s->peer, mine->author, mine->seq) != AM_OK)
            sync_fail(s, AM_ENOMEM);
    }
}

/* ---- handling received messages --------------------------------------------------------- */

/* Reconciliation is over: everything we hold beyond what the peer is known to hold
 * (entries that arrived or were written meanwhile included) goes out. */
static void recon_finished(struct sync_session *s)
{
    s->recon_done = 1;
    for (size_t i = 0; i < s->n_mine && !(s->state & SYNC_CLOSED); i++)
        sync_lacks(s, &s->mine[i], sync_pv_get(s->peer, s->mine[i].author));
    sync_lane_send(s); /* before any log streams */
}

static int get_range(struct mp_cur *c, struct range *r)
{
    uint32_t n, plen;
    uint64_t bits;
    const uint8_t *p;
    if (mp_get_array(c, &n) || n != 2 || mp_get_uint(c, &bits) || bits > 256 || bits % 4 ||
        mp_get_bin(c, &p, &plen) || plen != (bits + 7) / 8)
        return AM_EMALFORMED;
    memset(r, 0, sizeof *r);
    r->bits = (unsigned)bits;
    memcpy(r->prefix, p, plen);
    if (bits % 8 && (r->prefix[bits / 8] & 0x0f))
        return AM_EMALFORMED; /* bits past the prefix must be zero */
    return AM_OK;
}

/* REQ: for each range, equal / leaf (we send our heads first) / split (our children). */
static int on_req(struct sync_session *s, struct mp_cur *c)
{
    uint32_t n;
    struct mbuf b = {s->msg, 0, 0};
    msgpack_packer pk;
    struct range *rs;
    uint8_t *kinds;
    int rc = AM_OK;

    if (mp_get_array(c, &n) || n > 256)
        return AM_EMALFORMED;
    rs = calloc(n ? n : 1, sizeof *rs);
    kinds = calloc(n ? n : 1, 1);
    if (!rs || !kinds) {
        free(rs);
        free(kinds);
        return AM_ENOMEM;
    }
    for (uint32_t i = 0; i < n && rc == AM_OK; i++) {
        uint32_t m, fplen;
        uint64_t their_count, count;
        const uint8_t *their_fp;
        uint8_t fp[SYNC_RANGE_FP_LEN];
        if (mp_get_array(c, &m) || m != 3 || get_range(c, &rs[i]) || mp_get_uint(c, &their_count) ||
            mp_get_bin(c, &their_fp, &fplen) || fplen != SYNC_RANGE_FP_LEN) {
            rc = AM_EMALFORMED;
            break;
        }
        range_summary(s, &rs[i], &count, fp);
        if (count == their_count && memcmp(fp, their_fp, SYNC_RANGE_FP_LEN) == 0)
            kinds[i] = R_EQUAL;
        else if (count <= SYNC_LEAF_MAX || their_count <= SYNC_LEAF_MAX || rs[i].bits >= 256)
            kinds[i] = R_LEAF;
        else
            kinds[i] = R_SPLIT;
    }
    if (rc == AM_OK) {
        /* our heads of the leaf ranges first, then the RESULT */
        for (uint32_t i = 0; i < n; i++)
            if (kinds[i] == R_LEAF)
                send_heads(s, &rs[i]);
        msgpack_packer_init(&pk, &b, sync_mbuf_write);
        msgpack_pack_array(&pk, 2);
        msgpack_pack_uint8(&pk, T_RESULT);
        msgpack_pack_array(&pk, n);
        for (uint32_t i = 0; i < n; i++) {
            msgpack_pack_array(&pk, 3);
            pack_range(&pk, &rs[i]);
            msgpack_pack_uint8(&pk, kinds[i]);
            if (kinds[i] != R_SPLIT) {
                msgpack_pack_nil(&pk);
                continue;
            }
            msgpack_pack_array(&pk, 16);
            for (unsigned k = 0; k < 16; k++) {
                struct range ch;
                uint64_t count;
                uint8_t fp[SYNC_RANGE_FP_LEN];
                sync_range_child(&rs[i], k, &ch);
                range_summary(s, &ch, &count, fp);
                msgpack_pack_array(&pk, 2);
                msgpack_pack_uint64(&pk, count);
                msgpack_pack_bin(&pk, SYNC_RANGE_FP_LEN);
                msgpack_pack_bin_body(&pk, fp, SYNC_RANGE_FP_LEN);
            }
        }
        if (b.over)
            rc = AM_ELIMIT;
        else
            sync_send_msg(s, b.len, 1);
    }
    free(rs);
    free(kinds);
    return rc;
}

/* RESULT (initiator): send our heads of leaf ranges, ask about differing children. */
static int on_result(struct sync_session *s, struct mp_cur *c)
{
    uint32_t n;
    struct range next[64];
    size_t nn = 0;
    int rc = AM_OK;

    if (!s->cfg.initiator || s->awaiting == 0)
        return AM_EMALFORMED;
    if (mp_get_array(c, &n) || n > 256)
        return AM_EMALFORMED;
    for (uint32_t i = 0; i < n && rc == AM_OK; i++) {
        struct range r;
        uint32_t m, k;
        uint64_t kind;
        if (mp_get_array(c, &m) || m != 3 || get_range(c, &r) || mp_get_uint(c, &kind))
            return AM_EMALFORMED;
        if (kind == R_EQUAL || kind == R_LEAF) {
            if (mp_get_nil(c))
                return AM_EMALFORMED;
            if (kind == R_LEAF)
                send_heads(s, &r);
            continue;
        }
        if (kind != R_SPLIT || r.bits >= 256 || mp_get_array(c, &k) || k != 16)
            return AM_EMALFORMED;
        for (unsigned ch = 0; ch < 16; ch++) {
            struct range cr;
            uint64_t their_count, count;
            const uint8_t *their_fp;
            uint8_t fp[SYNC_RANGE_FP_LEN];
            uint32_t l2, fplen;
            if (mp_get_array(c, &l2) || l2 != 2 || mp_get_uint(c, &their_count) ||
                mp_get_bin(c, &their_fp, &fplen) || fplen != SYNC_RANGE_FP_LEN)
                return AM_EMALFORMED;
            sync_range_child(&r, ch, &cr);
            range_summary(s, &cr, &count, fp);
            if (count == their_count && memcmp(fp, their_fp, SYNC_RANGE_FP_LEN) == 0)
                continue;
            if (nn == 64) {
                sync_send_req(s, next, nn);
                nn = 0;
            }
            next[nn++] = cr;
        }
    }
    s->awaiting--;
    if (nn > 0)
        sync_send_req(s, next, nn);
    if (s->awaiting == 0 && !s->recon_sent_done) {
        s->recon_sent_done = 1;
        sync_send_simple(s, T_RECONCILED);
        recon_finished(s);
    }
    return rc;
}

/* HEADS: merge-walk the peer's heads of a range against ours. */
static int on_heads(struct sync_session *s, struct mp_cur *c)
{
    struct range r;
    uint32_t m, n;
    int final;

    if (get_range(c, &r) || mp_get_bool(c, &final) || mp_get_array(c, &n))
        return AM_EMALFORMED;
    if (!s->range_open || r.bits != s->range_bits ||
        memcmp(r.prefix, s->range_prefix, AM_PK_LEN) != 0) {
        size_t lo, hi;
        if (s->range_open)
            return AM_EMALFORMED; /* the previous range never got its final chunk */
        s->range_open = 1;
        s->range_bits = r.bits;
        memcpy(s->range_prefix, r.prefix, AM_PK_LEN);
        range_slice(s, &r, &lo, &hi);
        s->range_cursor = lo;
        s->range_end = hi;
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *author, *hash8;
        uint32_t alen, hlen;
        uint64_t seq, flags;
        if (mp_get_array(c, &m) || m != 4 || mp_get_bin(c, &author, &alen) || alen != AM_PK_LEN ||
            mp_get_uint(c, &seq) || mp_get_bin(c, &hash8, &hlen) || hlen != SYNC_HEAD_HASH_LEN ||
            mp_get_uint(c, &flags) || !in_range(&r, author))
            return AM_EMALFORMED;
        /* ours before this author: the peer has none of them */
        while (s->range_cursor < s->range_end &&
               memcmp(s->mine[s->range_cursor].author, author, AM_PK_LEN) < 0) {
            sync_lacks(s, &s->mine[s->range_cursor], 0);
            s->range_cursor++;
        }
        if (sync_pv_set_held(s->peer, author, seq, hash8) != AM_OK)
            return AM_ENOMEM;
        if (s->range_cursor < s->range_end &&
            memcmp(s->mine[s->range_cursor].author, author, AM_PK_LEN) == 0) {
            const struct sync_head h = s->mine[s->range_cursor];
            if (h.seq >= seq) {
                /* Is the peer's head on our branch of this log? Then it lacks what
                 * follows. If not (a fork neither side has split yet), it lacks our
                 * branch from where it parts: the log goes from its first entry, and the
                 * peer's store keeps what it lacks, splitting the log there (the entries
                 * before are duplicates, sent once per fork found). */
                int same = seq ? sync_entry_matches(s, &h, seq, hash8) : 0;
                if (same < 0)
                    return same;
                sync_lacks(s, &h, same ? seq : 0);
                if (s->state & SYNC_CLOSED)
                    return s->error;
            }
            if ((h.flags & SYNC_HEAD_EVIDENCE) && !(flags & SYNC_HEAD_EVIDENCE) &&
                job_add(s->jobs, h.author, 0, 0, J_EVIDENCE, 0) != AM_OK)
                return AM_ENOMEM;
            s->range_cursor++;
        }
    }
    if (final) {
        while (s->range_cursor < s->range_end) {
            sync_lacks(s, &s->mine[s->range_cursor], 0);
            s->range_cursor++;
        }
        s->range_open = 0;
    }
    return AM_OK;
}

/* Received entries wait in a pending batch, so that everything read at once is stored
 * in one transaction (one fdatasync), not one per message. The batch is stored when it
 * is full, before any other message is handled, at a tick, and by sync_flush(). */
struct pending {
    uint8_t *buf;
    size_t len, cap;
    size_t *offs;   /* start of entry i in buf; entry i ends at offs[i + 1] or len */
    uint8_t *valid; /* entry i decoded, and author/seq are known */
    uint8_t (*author)[AM_PK_LEN];
    uint64_t *seq;
    size_t n, ncap; /* entries, and room for them (grown up to SYNC_PENDING_MAX) */
};

static int after_ingest(struct sync_session *s, const struct sync_ingest_result *res,
                        const uint8_t *const *raw, const size_t *lens);

static int flush_pending(struct sync_session *s)
{
    struct pending *p = s->pend;
    const uint8_t **raw;
    size_t *lens;
    struct sync_ingest_result res = {0};
    int rc;

    if (!p || p->n == 0)
        return AM_OK;
    raw = malloc(p->n * sizeof *raw);
    lens = malloc(p->n * sizeof *lens);
    if (!raw || !lens) {
        free(raw);
        free(lens);
        return AM_ENOMEM;
    }
    for (size_t i = 0; i < p->n; i++) {
        size_t end = i + 1 < p->n ? p->offs[i + 1] : p->len;
        raw[i] = p->buf + p->offs[i];
        lens[i] = end - p->offs[i];
    }
    rc = s->cfg.store->ingest(s->cfg.store->ctx, raw, lens, p->n, &res);
    if (rc == AM_OK)
        rc = after_ingest(s, &res, raw, lens);
    free(raw);
    free(lens);
    if (rc != AM_OK)
        return rc;
    p->n = 0;
    p->len = 0;
    return AM_OK;
}

/* What the stored batch changed: the peer holds what it sent, and our heads moved. */
static int after_ingest(struct sync_session *s, const struct sync_ingest_result *res,
                        const uint8_t *const *raw, const size_t *lens)
{
    struct pending *p = s->pend;
    int forked = res->forks > 0;

    s->stats.entries_in += p->n;
    s->stats.added += res->added;
    s->stats.duplicate += res->duplicate;
    s->stats.forks += res->forks;
    s->stats.capped += res->capped;
    s->stats.refused += res->refused;
    sync_refusals_merge(&s->stats.refusals, &res->refusals);
    /* The peer has what it sent; our heads moved: refresh both, once per run of one
     * author (at its last entry). Only entries that decode are believed. */
    for (size_t i = 0; i < p->n; i++) {
        const uint8_t *author = p->author[i];
        struct sync_head before = {0}, after;
        int found, had;
        size_t k;
        if (!p->valid[i])
            continue;
        if (i + 1 < p->n && p->valid[i + 1] && memcmp(p->author[i + 1], author, AM_PK_LEN) == 0)
            continue;
        if (sync_pv_get(s->peer, author) < p->seq[i] &&
            sync_pv_set(s->peer, author, p->seq[i]) != AM_OK)
            return AM_ENOMEM;
        k = sync_mine_find(s, author, &found);
        had = found;
        if (found)
            before = s->mine[k];
        if (sync_mine_refresh(s, author, &after) != AM_OK)
            continue;
        forked |= (after.flags & SYNC_HEAD_FORKED) != 0;
        if (!had || before.seq < after.seq) {
            if (sync_pv_get(s->seen, author) == 0) {
                s->stats.authors_in++;
                if (sync_pv_set(s->seen, author, 1) != AM_OK)
                    return AM_ENOMEM;
            }
            if (s->cfg.on_new)
                s->cfg.on_new(s->cfg.on_new_ctx, author, after.seq);
        }
    }
    /* Entries of a forked author may have split a log, started a child log or grown
     * one: the other logs are read again (rare: a fork is one clone event). */
    return forked ? sync_heads_rescan(s, raw, lens, p->n) : AM_OK;
}

static int pending_add(struct sync_session *s, const uint8_t *raw, size_t len)
{
    struct pending *p = s->pend;
    struct entry e;

    if (p->n == SYNC_PENDING_MAX || p->len + len > SYNC_PENDING_BYTES) {
        int rc = flush_pending(s);
        if (rc != AM_OK)
            return rc;
    }
    if (p->n == p->ncap) { /* a live session holds a few entries, a bulk one many */
        size_t nc = p->ncap ? 2 * p->ncap : 256;
        void *a, *b, *c, *d;
        if (nc > SYNC_PENDING_MAX)
            nc = SYNC_PENDING_MAX;
        a = realloc(p->offs, nc * sizeof *p->offs);
        if (a)
            p->offs = a;
        b = realloc(p->valid, nc);
        if (b)
            p->valid = b;
        c = realloc(p->author, nc * sizeof *p->author);
        if (c)
            p->author = c;
        d = realloc(p->seq, nc * sizeof *p->seq);
        if (d)
            p->seq = d;
        if (!a || !b || !c || !d)
            return AM_ENOMEM;
        p->ncap = nc;
    }
    if (p->len + len > p->cap) {
        size_t cap = p->cap ? p->cap : 262144;
        uint8_t *b;
        while (cap < p->len + len)
            cap *= 2;
        b = realloc(p->buf, cap);
        if (!b)
            return AM_ENOMEM;
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, raw, len);
    p->offs[p->n] = p->len;
    p->valid[p->n] = entry_decode(&e, raw, len) == AM_OK;
    if (p->valid[p->n]) {
        memcpy(p->author[p->n], e.author, AM_PK_LEN);
        p->seq[p->n] = e.seq;
    }
    p->len += len;
    p->n++;
    return AM_OK;
}

static int on_entries(struct sync_session *s, struct mp_cur *c)
{
    uint32_t n;

    if (mp_get_array(c, &n))
        return AM_EMALFORMED;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *raw;
        uint32_t l;
        int rc;
        if (mp_get_bin(c, &raw, &l))
            return AM_EMALFORMED;
        if ((rc = pending_add(s, raw, l)) != AM_OK)
            return rc;
    }
    return AM_OK;
}

static int on_message(struct sync_session *s, const uint8_t *p, size_t n)
{
    struct mp_cur c = {p, p + n};
    size_t used;
    uint32_t len;
    uint64_t type;
    int rc = mp_check(p, n, &used, &msg_limits);

    if (rc != AM_OK)
        return rc;
    if (used != n || mp_get_array(&c, &len) || len < 1 || mp_get_uint(&c, &type))
        return AM_EMALFORMED;
    if (type != T_ENTRIES && (rc = flush_pending(s)) != AM_OK)
        return rc; /* what arrived before this message is stored before it is handled */
    switch (type) {
    case T_REQ:
        return len == 2 ? on_req(s, &c) : AM_EMALFORMED;
    case T_RESULT:
        return len == 2 ? on_result(s, &c) : AM_EMALFORMED;
    case T_HEADS:
        return len == 4 ? on_heads(s, &c) : AM_EMALFORMED;
    case T_RECONCILED:
        if (s->cfg.initiator || s->recon_done)
            return AM_EMALFORMED;
        recon_finished(s);
        return AM_OK;
    case T_ENTRIES:
        return len == 2 ? on_entries(s, &c) : AM_EMALFORMED;
    case T_END:
        s->end_received = 1;
        sync_check_in_sync(s);
        return AM_OK;
    case T_PING:
        return AM_OK;
    case T_BYE: {
        int64_t code = 0;
        if (len >= 2)
            mp_get_int(&c, &code);
        s->peer_error = (int)code;
        sync_fail(s, code ? AM_EPEER : AM_OK);
        if (!code)
            s->state |= SYNC_CLOSED;
        return AM_OK;
    }
    case T_WHO:
        sync_send_ident(s);
        return AM_OK;
    case T_IDENT:
        return len == 2 ? sync_on_ident(s, &c) : AM_EMALFORMED;
    case T_LANE:
    case T_LANE_OFFER:
    case T_LANE_WANT:
        return len == 2 ? sync_lane_message(s, (int)type, &c) : AM_EMALFORMED;
    default:
        return AM_OK; /* a newer minor version's message: skipped */
    }
}

/* ---- the public interface ----------------------------------------------------------------- */

int sync_init(struct sync_session *s, const struct sync_config *cfg)
{
    struct noise_hs_config hc;
    uint8_t preamble[SYNC_PREAMBLE_LEN] = {
        'A', 'M', 'S', 'Y', SYNC_VERSION_MAJOR, SYNC_VERSION_MINOR, 0, 0};
    char prologue[32];
    int rc;

    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->cfg.name = NULL; /* copied: the caller's text may go */
    if (cfg->name) {
        size_t nl = strnlen(cfg->name, AM_NAME_MAX);
        memcpy(s->our_name, cfg->name, nl);
    }
    s->now = s->last_rx = s->last_tx = cfg->now_ms;
    s->hs_deadline = cfg->now_ms + SYNC_HANDSHAKE_TIMEOUT_MS;
    s->peer = calloc(1, sizeof *s->peer);
    s->seen = calloc(1, sizeof *s->seen);
    s->pend = calloc(1, sizeof *s->pend);
    s->jobs = calloc(1, sizeof *s->jobs);
    s->in = malloc(2 + SYNC_HS_MSG_MAX);
    s->in_cap = 2 + SYNC_HS_MSG_MAX;
    if (!s->peer || !s->seen || !s->pend || !s->jobs || !s->in)
        return AM_ENOMEM;
    if (crypto_sign_ed25519_sk_to_curve25519(s->x_sk, cfg->sk) != 0)
        return AM_EINVAL;

    snprintf(prologue, sizeof prologue, "%s%d", PROLOGUE_LABEL, SYNC_VERSION_MAJOR);
    memset(&hc, 0, sizeof hc);
    hc.protocol_name = NOISE_NAME;
    hc.initiator = cfg->initiator;
    hc.prologue = (const uint8_t *)prologue;
    hc.prologue_len = strlen(prologue);
    hc.s_priv = s->x_sk;
    hc.psks = cfg->netkey;
    hc.n_psks = 1;
    hc.e_priv = cfg->ephemeral;
    rc = noise_hs_init(&s->hs, &hc);
    if (rc != AM_OK)
        return rc;

    s->phase = P_PREAMBLE;
    sync_out_raw(s, preamble, sizeof preamble);
    s->stats.summary_out += sizeof preamble;
    if (cfg->initiator)
        sync_send_hs(s, NULL, 0);
    return s->error;
}

void sync_free(struct sync_session *s)
{
    if (!s)
        return;
    noise_hs_wipe(&s->hs);
    noise_cipher_wipe(&s->tx);
    noise_cipher_wipe(&s->rx);
    sodium_memzero(s->x_sk, sizeof s->x_sk);
    if (s->peer)
        free(s->peer->v);
    if (s->seen)
        free(s->seen->v);
    if (s->pend) {
        free(s->pend->buf);
        free(s->pend->offs);
        free(s->pend->valid);
        free(s->pend->author);
        free(s->pend->seq);
    }
    free(s->pend);
    s->pend = NULL;
    sync_lane_free(s);
    free(s->seen);
    s->seen = NULL;
    if (s->jobs)
        free(s->jobs->v);
    free(s->peer);
    free(s->jobs);
    free(s->mine);
    free(s->terms);
    free(s->hs_notes);
    s->hs_notes = NULL;
    free(s->in);
    free(s->out);
    free(s->msg);
    free(s->plain);
    s->plain = NULL;
    s->peer = NULL;
    s->jobs = NULL;
    s->mine = NULL;
    s->terms = NULL;
    s->in = s->out = s->msg = NULL;
}

/* Consumes whole frames from s->in; returns how many bytes of it were used. */
static size_t process_input(struct sync_session *s, const uint8_t *p, size_t n)
{
    size_t used = 0;

    if (s->phase == P_PREAMBLE) {
        if (n < SYNC_PREAMBLE_LEN)
            return 0;
        if (memcmp(p, PREAMBLE_MAGIC, 4) != 0) {
            sync_fail(s, AM_EMALFORMED);
            return n;
        }
        s->peer_major = p[4];
        s->peer_minor = p[5];
        if (p[4] != SYNC_VERSION_MAJOR) {
            sync_fail(s, AM_EVERSION);
            return n;
        }
        s->phase = P_HANDSHAKE;
        used = SYNC_PREAMBLE_LEN;
    }
    while (s->phase != P_CLOSED && n - used >= 2) {
        size_t len = (size_t)p[used] << 8 | p[used + 1];
        int rc;
        if (s->phase == P_HANDSHAKE && len > SYNC_HS_MSG_MAX) {
            sync_fail(s, AM_ELIMIT); /* refused before its bytes arrive, so never buffered */
            return n;
        }
        if (n - used - 2 < len)
            break;
        if (s->phase == P_HANDSHAKE) {
            rc = sync_hs_message(s, p + used + 2, len);
        } else {
            if (len < NOISE_TAG_LEN) {
                rc = AM_EMALFORMED;
            } else {
                rc = noise_cipher_decrypt(&s->rx, NULL, 0, p + used + 2, len, s->plain);
                if (rc == AM_OK)
                    rc = on_message(s, s->plain, len - NOISE_TAG_LEN);
            }
        }
        used += 2 + len;
        if (rc != AM_OK) {
            sync_fail(s, rc);
            break;
        }
    }
    return used;
}

int sync_feed(struct sync_session *s, const uint8_t *in, size_t n)
{
    if (s->state & SYNC_CLOSED)
        return s->error ? s->error : AM_ESTATE;
    s->stats.bytes_in += n;
    s->last_rx = s->now;
    while (n > 0 && !(s->state & SYNC_CLOSED)) {
        size_t room, take, used;
        if (s->phase == P_LIVE && s->in_cap < 2 + NOISE_MAX_MSG) {
            uint8_t *grown = realloc(s->in, 2 + NOISE_MAX_MSG);
            if (!grown) {
                sync_fail(s, AM_ENOMEM);
                break;
            }
            s->in = grown;
            s->in_cap = 2 + NOISE_MAX_MSG;
        }
        room = s->in_cap - s->in_len;
        take = n < room ? n : room;
        if (s->in_len == 0) {
            /* fast path: parse straight from the caller's buffer */
            used = process_input(s, in, n);
            in += used;
            n -= used;
            if (n == 0 || (s->state & SYNC_CLOSED))
                break;
            take = n < room ? n : room;
        }
        memcpy(s->in + s->in_len, in, take);
        s->in_len += take;
        in += take;
        n -= take;
        used = process_input(s, s->in, s->in_len);
        memmove(s->in, s->in + used, s->in_len - used);
        s->in_len -= used;
    }
    if (s->state & SYNC_CLOSED) {
        if (s->error && s->phase == P_CLOSED && (s->state & SYNC_HANDSHAKEN) &&
            s->error != AM_EPEER && s->error != AM_ETIMEOUT) {
            /* tell the peer why, if the channel still works */
            struct mbuf b = {s->msg, 0, 0};
            msgpack_packer pk;
            msgpack_packer_init(&pk, &b, sync_mbuf_write);
            msgpack_pack_array(&pk, 3);
            msgpack_pack_uint8(&pk, T_BYE);
            msgpack_pack_int(&pk, s->error);
            msgpack_pack_str(&pk, strlen(am_strerror(s->error)));
            msgpack_pack_str_body(&pk, am_strerror(s->error), strlen(am_strerror(s->error)));
            s->phase = P_LIVE;
            sync_send_msg(s, b.len, 0);
            s->phase = P_CLOSED;
        }
        return s->error ? s->error : AM_OK;
    }
    fill_output(s);
    return AM_OK;
}

const uint8_t *sync_output(struct sync_session *s, size_t *n)
{
    if (!(s->state & SYNC_CLOSED))
        fill_output(s);
    *n = s->out_len - s->out_sent;
    return s->out + s->out_sent;
}

void sync_output_done(struct sync_session *s, size_t n)
{
    s->out_sent += n;
    if (s->out_sent >= s->out_len)
        s->out_sent = s->out_len = 0;
}

unsigned sync_state(const struct sync_session *s)
{
    unsigned st = s->state;
    if (s->out_len > s->out_sent || (s->phase == P_LIVE && s->jobs && s->jobs->n > 0))
        st |= SYNC_WANT_WRITE;
    return st;
}

int sync_error(const struct sync_session *s)
{
    return s->error;
}

uint64_t sync_next_deadline(const struct sync_session *s)
{
    if (s->state & SYNC_CLOSED)
        return UINT64_MAX;
    if (s->phase != P_LIVE)
        return s->hs_deadline;
    {
        uint64_t ping = s->last_tx + SYNC_PING_MS, idle = s->last_rx + SYNC_IDLE_TIMEOUT_MS;
        return sync_lane_deadline(s, ping < idle ? ping : idle);
    }
}

int sync_flush(struct sync_session *s)
{
    int rc = flush_pending(s);
    if (rc != AM_OK && !(s->state & SYNC_CLOSED))
        sync_fail(s, rc);
    return rc;
}

void sync_clock(struct sync_session *s, uint64_t now_ms)
{
    s->now = now_ms;
}

void sync_tick(struct sync_session *s, uint64_t now_ms)
{
    s->now = now_ms;
    if (s->state & SYNC_CLOSED)
        return;
    if (sync_flush(s) != AM_OK)
        return;
    if (s->phase != P_LIVE) {
        if (now_ms >= s->hs_deadline)
            sync_fail(s, AM_ETIMEOUT);
        return;
    }
    sync_lane_tick(s, now_ms);
    if (now_ms >= s->last_rx + SYNC_IDLE_TIMEOUT_MS) {
        sync_fail(s, AM_ETIMEOUT);
        return;
    }
    if (now_ms >= s->last_tx + SYNC_PING_MS)
        sync_send_simple(s, T_PING);
}

void sync_close(struct sync_session *s, int code)
{
    struct mbuf b = {s->msg, 0, 0};
    msgpack_packer pk;
    if (s->state & SYNC_CLOSED)
        return;
    if (s->phase == P_LIVE) {
        msgpack_packer_init(&pk, &b, sync_mbuf_write);
        msgpack_pack_array(&pk, 2);
        msgpack_pack_uint8(&pk, T_BYE);
        msgpack_pack_int(&pk, code);
        sync_send_msg(s, b.len, 0);
    }
    s->error = code;
    s->state |= SYNC_CLOSED;
    s->phase = P_CLOSED;
}

const uint8_t *sync_peer_author(const struct sync_session *s)
{
    return s->peer_author;
}

const uint8_t *sync_peer_install(const struct sync_session *s)
{
    return s->peer_install;
}

const struct sync_stats *sync_stats(const struct sync_session *s)
{
    return &s->stats;
}

void sync_peer_version(const struct sync_session *s, unsigned *major, unsigned *minor)
{
    *major = s->peer_major;
    *minor = s->peer_minor;
}

int sync_debug_message(struct sync_session *s, const uint8_t *msg, size_t n)
{
    if (s->phase != P_LIVE) {
        int rc = sync_heads_load(s);
        if (rc == AM_OK)
            rc = sync_live_alloc(s);
        if (rc != AM_OK)
            return rc;
        memset(&s->tx, 0, sizeof s->tx);
        s->tx.has_key = 1;
        s->phase = P_LIVE;
        s->peer_known = 1;
        s->state |= SYNC_HANDSHAKEN;
    }
    if (n > NOISE_MAX_PAYLOAD)
        return AM_ELIMIT;
    memcpy(s->plain, msg, n);
    return on_message(s, s->plain, n);
}
