/*
 * stick_write.c: writing to a stick (PROTOCOL.md sections 11.3, 11.7): new segment files,
 * each a secretstream of chunks filled up to a target size within the volume's free space
 * and the caller's budget, holding cut notes for the damage a scan found, the node's most
 * needed entries ahead of their logs (LANE records: critical needs first), the entries the
 * stick lacks (authors in turns, most needed first), the fork evidence it lacks, and this
 * site's visit record, then sealed with an END chunk and fsynced. Part of the stick module
 * (stick_int.h); stick.c calls stick_export_all once the import is over.
 *
 * Must never: append to an existing segment, count an entry as written before the chunk
 * holding it is, leave a failed write in place (the file is cut back to its last whole
 * chunk), or go past the budget while the visit record and END chunk still have to fit.
 * Never prints, never reads a clock, reaches files only through stick_fops.
 */
#include "stick_int.h"

#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "entry.h"

/* ---- writing ---------------------------------------------------------------------------- */

int stick_job_cmp(const void *a, const void *b)
{
    const struct job *x = a, *y = b;
    uint64_t mx = x->to - x->from, my = y->to - y->from;
    uint32_t rx = x->rank ? x->rank : UINT32_MAX, ry = y->rank ? y->rank : UINT32_MAX;
    if (rx != ry)
        return rx < ry ? -1 : 1;
    if (x->behind != y->behind)
        return x->behind > y->behind ? -1 : 1;
    if (mx != my)
        return mx < my ? -1 : 1;
    return memcmp(x->author, y->author, AM_PK_LEN);
}

struct writer {
    struct ctx *c;
    int fd, open, broken;
    int created; /* files[fidx] was created by this writer and is not closed yet */
    size_t fidx;
    uint64_t off; /* bytes of the open segment written and kept */
    crypto_secretstream_xchacha20poly1305_state st;
    uint8_t hdr[STICK_SEG_HEADER_LEN];
    int first;
    uint8_t *plain; /* the chunk being filled; plain[0] is its type */
    size_t plen, pcap;
    uint8_t *cbuf;
    size_t ccap;
    uint64_t seg_entries, chunk_entries;
    uint64_t budget, used_closed, unit, tail;
    uint64_t seg_target;
    size_t chunk_target;
    int full, err;
    struct job **touched;
    size_t n_touched;
    uint64_t evidence_pending, lane_pending;
};

static int w_path(struct writer *w, char path[PATH_CAP])
{
    return stick_join(path, w->c->dir, w->c->files[w->fidx].name);
}

/* The volume failed a write: cut the file back to what was written whole (closing and
 * reopening around the truncate, see stick_fops.truncate). */
static void w_recover(struct writer *w)
{
    const struct stick_fops *f = w->c->f;
    char path[PATH_CAP];
    int fd;
    f->close(f->ctx, w->fd);
    w->open = 0;
    if (w_path(w, path) != AM_OK || f->open(f->ctx, path, STICK_OPEN_WRITE, &fd) != AM_OK) {
        w->broken = 1;
        return;
    }
    if (f->truncate(f->ctx, fd, w->off) != AM_OK)
        w->broken = 1;
    f->fsync(f->ctx, fd);
    f->close(f->ctx, fd);
    if (w->broken || f->open(f->ctx, path, STICK_OPEN_WRITE, &w->fd) != AM_OK) {
        w->broken = 1;
        return;
    }
    w->open = 1;
}

static int w_failed(struct writer *w, int rc)
{
    if (rc == AM_EFULL) {
        w->full = 1;
    } else if (rc == AM_EPERM && w->c->r->new_segments == 0) {
        w->c->r->readonly_why = AM_EPERM;
        w->err = rc;
    } else {
        w->err = stick_sys_err(w->c, rc);
    }
    return rc;
}

static int w_create(struct writer *w)
{
    const struct stick_fops *f = w->c->f;
    struct ctx *c = w->c;
    char path[PATH_CAP];
    uint8_t key[32];
    struct sfile *sf;
    int rc = AM_EEXIST;

    if (w->broken)
        return AM_EFULL;
    if (c->n_files >= STICK_SEGMENTS_MAX)
        return w_failed(w, AM_EFULL);
    if (c->n_files == c->cap_files) {
        size_t cap = c->cap_files ? 2 * c->cap_files : 64;
        struct sfile *a = realloc(c->files, cap * sizeof *a);
        if (!a)
            return w_failed(w, AM_ENOMEM);
        c->files = a;
        c->cap_files = cap;
    }
    sf = &c->files[c->n_files];
    memset(sf, 0, sizeof *sf);
    for (int tries = 0; tries < 64 && rc == AM_EEXIST; tries++) {
        sf->info.number = ++c->max_number;
        if (sf->info.number > 9999999u)
            return w_failed(w, AM_EFULL);
        stick_seg_name(sf->info.number, sf->name);
        if (stick_join(path, c->dir, sf->name) != AM_OK)
            return w_failed(w, AM_EINVAL);
        rc = f->open(f->ctx, path, STICK_OPEN_CREATE, &w->fd);
    }
    if (rc != AM_OK)
        return w_failed(w, rc);
    w->fidx = c->n_files++;
    w->created = 1;
    c->r->new_segments++;
    memcpy(w->hdr, STICK_SEG_MAGIC, 4);
    w->hdr[4] = STICK_FORMAT_VERSION;
    w->hdr[5] = w->hdr[6] = w->hdr[7] = 0;
    memcpy(w->hdr + 8, c->keys.netid, AM_NETID_LEN);
    put32(w->hdr + 16, sf->info.number);
    stick_segment_key(&c->keys, sf->info.number, key);
    crypto_secretstream_xchacha20poly1305_init_push(&w->st, w->hdr + 20, key);
    sodium_memzero(key, sizeof key);
    memcpy(sf->header_id, w->hdr + 20, STICK_HEADER_ID_LEN);
    sf->info.state = STICK_SEG_CUT;
    sf->dmg_kind = STICK_DMG_CUT;
    sf->dmg_code = AM_EAGAIN;
    w->open = 1;
    w->off = 0;
    w->first = 1;
    w->seg_entries = 0;
    rc = f->write(f->ctx, w->fd, 0, w->hdr, STICK_SEG_HEADER_LEN);
    if (rc != AM_OK) {
        w_recover(w);
        w->broken = 1; /* a file without its header: the next sync notes it */
        return w_failed(w, rc);
    }
    w->off = STICK_SEG_HEADER_LEN;
    sf->info.size = sf->info.valid = w->off;
    c->r->written_bytes += STICK_SEG_HEADER_LEN;
    return AM_OK;
}

/* Encrypts plain[0..n) as the next chunk of the open segment and writes it. On failure
 * the stream state and the file are as before the call. */
static int w_push(struct writer *w, const uint8_t *plain, size_t n, unsigned char tag)
{
    crypto_secretstream_xchacha20poly1305_state saved;
    uint8_t ad[STICK_SEG_HEADER_LEN + 4];
    size_t adlen = 0, clen = n + STICK_ABYTES;
    struct sfile *sf;
    int rc;

    if (w->err)
        return w->err;
    if (w->broken)
        return AM_EFULL;
    if (!w->open && (rc = w_create(w)) != AM_OK)
        return rc;
    if (4 + clen > w->ccap) {
        uint8_t *b = realloc(w->cbuf, 4 + clen);
        if (!b)
            return w_failed(w, AM_ENOMEM);
        w->cbuf = b;
        w->ccap = 4 + clen;
    }
    put32(w->cbuf, (uint32_t)clen);
    if (w->first) {
        memcpy(ad, w->hdr, STICK_SEG_HEADER_LEN);
        adlen = STICK_SEG_HEADER_LEN;
    }
    memcpy(ad + adlen, w->cbuf, 4);
    adlen += 4;
    saved = w->st;
    crypto_secretstream_xchacha20poly1305_push(&w->st, w->cbuf + 4, NULL, plain, n, ad, adlen, tag);
    rc = w->c->f->write(w->c->f->ctx, w->fd, w->off, w->cbuf, 4 + clen);
    if (rc != AM_OK) {
        w->st = saved;
        sodium_memzero(&saved, sizeof saved);
        w_recover(w);
        return w_failed(w, rc);
    }
    sodium_memzero(&saved, sizeof saved);
    w->first = 0;
    w->off += 4 + clen;
    w->c->r->written_bytes += 4 + clen;
    sf = &w->c->files[w->fidx];
    sf->info.size = sf->info.valid = w->off;
    return AM_OK;
}

/* Writes the chunk being filled; its entries count as written only when it is. */
static int w_flush(struct writer *w)
{
    int rc;
    if (w->plen <= 1) {
        w->plen = 0;
        return AM_OK;
    }
    rc = w_push(w, w->plain, w->plen, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    for (size_t i = 0; i < w->n_touched; i++) {
        struct job *j = w->touched[i];
        if (rc == AM_OK)
            j->written += j->pending;
        else
            j->next -= j->pending;
        j->pending = 0;
    }
    if (rc == AM_OK) {
        w->c->r->evidence += w->evidence_pending;
        w->c->r->lane_out += w->lane_pending;
        w->seg_entries += w->chunk_entries;
        w->c->files[w->fidx].info.entries = w->seg_entries;
    }
    w->evidence_pending = 0;
    w->lane_pending = 0;
    w->chunk_entries = 0;
    w->n_touched = 0;
    w->plen = 0;
    return rc;
}

/* A segment this sync created and could put no chunk in (the stick was full already):
 * deleted, so a full stick stays clean instead of holding an empty, unsealed file. */
static void w_drop_empty(struct writer *w)
{
    struct ctx *c = w->c;
    char path[PATH_CAP];
    if (w->open)
        c->f->close(c->f->ctx, w->fd);
    w->open = 0;
    if (w_path(w, path) != AM_OK || c->f->remove(c->f->ctx, path) != AM_OK)
        return; /* left for the next sync to note */
    if (w->fidx == c->n_files - 1) {
        c->n_files--;
        c->r->new_segments--;
    }
    sodium_memzero(&w->st, sizeof w->st);
    w->broken = 0;
    w->created = 0;
}

static int w_close_seg(struct writer *w)
{
    const struct stick_fops *f = w->c->f;
    uint8_t end = STICK_REC_END;
    struct sfile *sf;
    int rc = w_flush(w);
    if (w->created && w->off <= STICK_SEG_HEADER_LEN && (w->full || w->broken)) {
        w_drop_empty(w);
        return w->err ? w->err : AM_OK;
    }
    if (!w->open) {
        w->created = 0;
        return rc == AM_EFULL ? AM_OK : rc;
    }
    sf = &w->c->files[w->fidx];
    if (!w->broken && !w->err &&
        w_push(w, &end, 1, crypto_secretstream_xchacha20poly1305_TAG_FINAL) == AM_OK)
        sf->info.state = STICK_SEG_SEALED;
    if (w->open) {
        int frc = f->fsync(f->ctx, w->fd);
        if (frc != AM_OK && !w->err)
            w->err = stick_sys_err(w->c, frc);
        f->close(f->ctx, w->fd);
    }
    sodium_memzero(&w->st, sizeof w->st);
    w->used_closed += round_up(w->off, w->unit);
    w->open = 0;
    w->broken = 0;
    w->created = 0;
    return w->err ? w->err : AM_OK;
}

/* Whether `add` more bytes in the current (or next) segment keep the export within its
 * budget, with the tail (the visit record and END chunk) still fitting. */
static int w_room(const struct writer *w, uint64_t add)
{
    uint64_t cur = w->open ? w->off : STICK_SEG_HEADER_LEN;
    return w->used_closed + round_up(cur + add + w->tail, w->unit) <= w->budget;
}

/* Starts a new segment when `add` more bytes would take this one past its target. */
static int w_maybe_rotate(struct writer *w, uint64_t add)
{
    if (w->open && w->off > STICK_SEG_HEADER_LEN && w->off + add + w->tail > w->seg_target)
        return w_close_seg(w);
    return AM_OK;
}

/* Adds an entry to the chunk being filled, a record of `type` (ENTRIES, or LANE for an
 * entry ahead of its log); j: the job it belongs to (NULL: evidence, or the lane). */
static int w_add_entry(struct writer *w, const uint8_t *raw, size_t len, struct job *j, int type)
{
    uint64_t chunk;
    int rc;
    if (w->err)
        return w->err;
    if (w->full)
        return AM_EFULL;
    if (w->plen > 1 && (w->plen + 2 + len > w->chunk_target || w->plain[0] != type) &&
        (rc = w_flush(w)) != AM_OK)
        return rc;
    chunk = CHUNK_OVERHEAD + (w->plen ? w->plen : 1) + 2 + len;
    if (w->open && w->off > STICK_SEG_HEADER_LEN && w->off + chunk + w->tail > w->seg_target) {
        if ((rc = w_close_seg(w)) != AM_OK)
            return rc;
        if (w->full)
            return AM_EFULL;
        chunk = CHUNK_OVERHEAD + 1 + 2 + len;
    }
    if (!w_room(w, chunk)) {
        w->full = 1;
        return AM_EFULL;
    }
    if (!w->plen) {
        w->plain[0] = (uint8_t)type;
        w->plen = 1;
    }
    put16(w->plain + w->plen, (uint16_t)len);
    memcpy(w->plain + w->plen + 2, raw, len);
    w->plen += 2 + len;
    if (type == STICK_REC_LANE) {
        w->lane_pending++; /* not one of the segment's log entries */
        return AM_OK;
    }
    w->chunk_entries++;
    if (j) {
        if (j->pending++ == 0)
            w->touched[w->n_touched++] = j;
    } else {
        w->evidence_pending++;
    }
    return AM_OK;
}

/* A record in a chunk of its own. `reserved`: its room is part of the tail. */
static int w_record(struct writer *w, const uint8_t *rec, size_t n, int reserved)
{
    int rc = w_flush(w);
    if (rc != AM_OK && rc != AM_EFULL)
        return rc;
    if (w->err)
        return w->err;
    if (!reserved) {
        if ((rc = w_maybe_rotate(w, CHUNK_OVERHEAD + n)) != AM_OK)
            return rc;
        if (w->full || !w_room(w, CHUNK_OVERHEAD + n)) {
            w->full = 1;
            return AM_EFULL;
        }
    } else {
        /* part of the tail: only the budget itself can refuse it */
        uint64_t cur = w->open ? w->off : STICK_SEG_HEADER_LEN;
        if (w->used_closed + round_up(cur + CHUNK_OVERHEAD + n + END_CHUNK_LEN, w->unit) >
            w->budget) {
            w->full = 1;
            return AM_EFULL;
        }
    }
    return w_push(w, rec, n, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

struct xctx {
    struct writer *w;
    struct job *j;
    size_t turn;
    int rc, any;
};

static int on_export(void *vctx, const uint8_t *raw, size_t len)
{
    struct xctx *x = vctx;
    struct job *j = x->j;
    if (j->next > j->to)
        return 1;
    x->rc = w_add_entry(x->w, raw, len, j, STICK_REC_ENTRIES);
    if (x->rc != AM_OK)
        return 1;
    x->any = 1;
    j->next++;
    x->turn += 2 + len;
    return j->next > j->to || x->turn >= x->w->chunk_target;
}

struct evctx {
    struct writer *w;
    const struct interest *it;
    int rc, seen, added;
};

static int on_export_one(void *vctx, const uint8_t *raw, size_t len)
{
    struct evctx *x = vctx;
    struct entry e;
    uint8_t h[AM_HASH_LEN];
    if (!x->it->evidence && x->seen++)
        return 1;
    if (entry_decode(&e, raw, len) != AM_OK)
        return 0;
    entry_hash(&e, h);
    if (e.seq != x->it->seq || memcmp(h, x->it->hash, AM_HASH_LEN) != 0)
        return 0;
    x->rc = w_add_entry(x->w, raw, len, NULL, STICK_REC_ENTRIES);
    x->added = x->rc == AM_OK;
    return 1;
}

struct lanectx {
    struct writer *w;
    struct ctx *c;
    uint32_t n;
    int rc;
};

/* A lane candidate (most needed first): written unless the stick holds it already, in a
 * log or a LANE record, up to SYNC_LANE_MAX of them. */
static int on_lane(void *vctx, const uint8_t log[AM_PK_LEN], uint64_t seq, const uint8_t *raw,
                   size_t len)
{
    struct lanectx *x = vctx;
    struct entry e;
    struct lane_key k;
    uint8_t h[AM_HASH_LEN];
    (void)log;
    (void)seq;
    if (x->n >= SYNC_LANE_MAX)
        return 1;
    if (entry_decode(&e, raw, len) != AM_OK || stick_holds(x->c, e.author, e.seq))
        return 0;
    entry_hash(&e, h);
    memcpy(k.author, e.author, AM_PK_LEN);
    k.seq = e.seq;
    memcpy(k.h8, h, sizeof k.h8);
    if (x->c->n_lane_on &&
        bsearch(&k, x->c->lane_on, x->c->n_lane_on, sizeof k, stick_lane_key_cmp))
        return 0;
    x->rc = w_add_entry(x->w, raw, len, NULL, STICK_REC_LANE);
    if (x->rc != AM_OK)
        return 1;
    x->n++;
    return 0;
}

static void count_author_entries(struct ctx *c, const uint8_t *author, uint64_t n)
{
    uint32_t idx;
    if (n && stick_atab_get(&c->at, author, 1, &idx) == AM_OK)
        c->at.it[idx].entries += n;
}

/* ---- export ----------------------------------------------------------------------------- */

/* This site's visit record (type byte included) into *out; n_exc capped. */
static int visit_record(struct ctx *c, const struct heads *nh, struct buf *b)
{
    const struct stick_cfg *cfg = c->cfg;
    const char *name = cfg->name ? cfg->name : "";
    size_t nl = strlen(name), count_at;
    uint32_t n = 0, idx;

    if (nl > AM_NAME_MAX)
        nl = AM_NAME_MAX;
    stick_buf_u8(b, STICK_REC_VISIT);
    stick_buf_mem(b, cfg->install_id, AM_INSTALL_ID_LEN);
    stick_buf_mem(b, cfg->author, AM_PK_LEN);
    stick_buf_u64(b, cfg->now_ms);
    stick_buf_u8(b, (uint8_t)nl);
    stick_buf_mem(b, name, nl);
    count_at = b->len;
    stick_buf_u32(b, 0);
    for (size_t i = 0; i < nh->n && n < STICK_VISIT_EXC_MAX; i++) {
        uint64_t s =
            stick_atab_get(&c->at, nh->h[i].author, 0, &idx) == AM_OK ? c->at.it[idx].head : 0;
        if (memcmp(nh->h[i].log, nh->h[i].author, AM_PK_LEN) != 0)
            continue; /* a visit names root logs (authors) only */
        if (s != nh->h[i].seq) {
            stick_buf_mem(b, nh->h[i].author, AM_PK_LEN);
            stick_buf_u64(b, nh->h[i].seq);
            n++;
        }
    }
    for (size_t i = 0; i < c->at.n && n < STICK_VISIT_EXC_MAX; i++)
        if (c->at.it[i].head && !stick_heads_find(nh, c->at.it[i].author)) {
            stick_buf_mem(b, c->at.it[i].author, AM_PK_LEN);
            stick_buf_u64(b, 0);
            n++;
        }
    if (b->err)
        return b->err;
    put32(b->p + count_at, n);
    return AM_OK;
}

static size_t visit_record_max(const struct ctx *c, const struct heads *nh)
{
    size_t n = nh->n + c->at.n;
    if (n > STICK_VISIT_EXC_MAX)
        n = STICK_VISIT_EXC_MAX;
    return VISIT_FIXED_LEN + AM_NAME_MAX + n * EXC_LEN;
}

static int export_jobs(struct ctx *c, struct writer *w, struct job *jobs, size_t nj)
{
    size_t active = nj;
    uint64_t done = 0;
    while (active && !w->full && !w->err) {
        active = 0;
        for (size_t i = 0; i < nj && !w->full && !w->err; i++) {
            struct job *j = &jobs[i];
            struct xctx x = {w, j, 0, AM_OK, 0};
            uint64_t before = j->next;
            int rc;
            if (j->done)
                continue;
            if (j->parent && !j->parent->done) {
                active++; /* waits for the log it parts from */
                continue;
            }
            rc = stick_log_entries(c, j->log, j->next, on_export, &x);
            if (rc != AM_OK)
                return rc;
            if (w->err)
                break; /* the writer says why (w->err) */
            done += j->next - before;
            if (j->next > j->to || !x.any)
                j->done = 1; /* all written, or the log ends sooner than its head said */
            else
                active++;
            stick_progress(c, STICK_PHASE_EXPORT, done, c->r->to_export, 0);
        }
    }
    return AM_OK;
}

int stick_export_all(struct ctx *c, const struct heads *nh, struct job *jobs, size_t nj,
                     int site_same)
{
    const struct stick_cfg *cfg = c->cfg;
    struct writer w;
    struct buf vrec = {0};
    uint64_t avail = UINT64_MAX, unit = 1;
    size_t n_notes = 0, n_evidence = 0, first_new = c->n_files;
    int rc = AM_OK, reread = 0;

    for (size_t i = 0; i < c->n_files; i++)
        if (c->files[i].info.state == STICK_SEG_CUT)
            n_notes++;
    for (size_t i = 0; i < c->n_intr; i++)
        if (!c->intr[i].found)
            n_evidence++;
    if (!nj && !n_notes && !n_evidence && site_same)
        return AM_OK; /* nothing to say: the stick stays byte for byte as it is */

    memset(&w, 0, sizeof w);
    w.c = c;
    w.seg_target = cfg->segment_target ? cfg->segment_target : STICK_SEGMENT_TARGET;
    if (w.seg_target > STICK_SEGMENT_MAX)
        w.seg_target = STICK_SEGMENT_MAX;
    w.chunk_target = cfg->chunk_target ? cfg->chunk_target : STICK_CHUNK_TARGET;
    if (w.chunk_target > STICK_CHUNK_MAX - AM_ENTRY_MAX - 3)
        w.chunk_target = STICK_CHUNK_MAX - AM_ENTRY_MAX - 3;
    w.pcap = w.chunk_target + AM_ENTRY_MAX + 3;
    w.plain = malloc(w.pcap);
    w.touched = malloc((nj ? nj : 1) * sizeof *w.touched);
    if (!w.plain || !w.touched) {
        rc = AM_ENOMEM;
        goto out;
    }
    if (c->f->space(c->f->ctx, c->dir, &avail, &unit) != AM_OK)
        avail = UINT64_MAX;
    w.unit = unit ? unit : 1;
    w.tail = END_CHUNK_LEN + CHUNK_OVERHEAD + visit_record_max(c, nh);
    if (avail != UINT64_MAX) {
        /* room kept for the manifest slot to grow, and a unit of slack */
        uint64_t reserve =
            2 * round_up(STICK_MAN_HEADER_LEN + 64 + (uint64_t)(c->n_files + 16) * MAN_SEG_LEN +
                             (uint64_t)(c->at.n + nh->n) * MAN_AUTHOR_LEN +
                             (uint64_t)(c->n_sites + 1) *
                                 (MAN_VISIT_FIXED + AM_NAME_MAX + 64 * MAN_EXC_LEN),
                         w.unit) +
            w.unit;
        w.budget = avail > reserve ? avail - reserve : 0;
    } else {
        w.budget = UINT64_MAX;
    }
    if (cfg->max_bytes && cfg->max_bytes < w.budget)
        w.budget = cfg->max_bytes;

    /* 1. cut notes for damage found now (in the files the scan saw, not the new ones) */
    for (size_t i = 0, scanned = c->n_files; i < scanned && !w.err; i++) {
        struct sfile *f = &c->files[i];
        uint8_t rec[CUT_REC_LEN];
        if (f->info.state != STICK_SEG_CUT)
            continue;
        rec[0] = STICK_REC_CUT;
        put32(rec + 1, f->info.number);
        put64(rec + 5, f->info.valid);
        if (f->info.valid >= STICK_SEG_HEADER_LEN)
            memcpy(rec + 13, f->header_id, STICK_HEADER_ID_LEN);
        else
            memset(rec + 13, 0, STICK_HEADER_ID_LEN);
        if (w_record(&w, rec, sizeof rec, 0) == AM_OK) {
            c->files[i].noted = 1; /* w_record may have moved c->files */
            /* another network's segment is noted too, but left in place (r->foreign) */
            if (!c->files[i].foreign)
                c->r->cut_notes++;
        }
    }
    /* 2. the lane: the most needed entries the stick lacks, ahead of their logs, so a
     * stick that fills up carries them first */
    if (nj && !w.err && !w.full && c->ss->lane) {
        struct lanectx lx = {&w, c, 0, AM_OK};
        if ((rc = c->ss->lane(c->ss->ctx, on_lane, &lx)) != AM_OK)
            goto out;
        if (lx.rc == AM_OK || lx.rc == AM_EFULL)
            w_flush(&w); /* a failure is in w.full / w.err */
    }
    /* 3. what the stick lacks, authors in turns */
    if (!w.err && (rc = export_jobs(c, &w, jobs, nj)) != AM_OK)
        goto out;
    /* 4. fork evidence (and kept entries) the stick lacks */
    for (size_t i = 0; i < c->n_intr && !w.full && !w.err; i++) {
        struct evctx x = {&w, &c->intr[i], AM_OK, 0, 0};
        if (c->intr[i].found)
            continue;
        rc = c->intr[i].evidence
                 ? c->ss->forks(c->ss->ctx, c->intr[i].author, on_export_one, &x)
                 : c->ss->entries(c->ss->ctx, c->intr[i].author, c->intr[i].seq, on_export_one, &x);
        if (rc != AM_OK)
            goto out;
        /* evidence is rare: one chunk each, counted once it is written */
        if (x.added && w_flush(&w) == AM_OK)
            count_author_entries(c, c->intr[i].author, 1);
    }
    w_flush(&w); /* a failure is in w.full / w.err */
    /* the stick's heads now */
    for (size_t i = 0; i < nj; i++) {
        uint32_t idx;
        if (!jobs[i].written)
            continue;
        c->r->exported += jobs[i].written;
        c->r->exported_authors++;
        /* a forked author's logs (a few each) count as one author */
        for (size_t k = 0; jobs[i].forked && k < i; k++)
            if (jobs[k].written && jobs[k].forked &&
                !memcmp(jobs[k].author, jobs[i].author, AM_PK_LEN)) {
                c->r->exported_authors--;
                break;
            }
        /* a branch's entries: its chains are read back from the stick below, as a later
         * scan will find them */
        reread |= jobs[i].forked;
        if (stick_atab_get(&c->at, jobs[i].author, 1, &idx) == AM_OK) {
            if (jobs[i].forked) /* seqs a branch shares with another: held, not a run */
                for (uint64_t q = jobs[i].from; q < jobs[i].from + jobs[i].written; q++)
                    stick_vv_add(&c->at.it[idx], q);
            else
                stick_vv_extend(&c->at.it[idx], jobs[i].from + jobs[i].written - 1);
            c->at.it[idx].entries += jobs[i].written;
        }
    }
    /* 5. this site's visit record, then END */
    if (!w.err) {
        uint32_t idx;
        for (size_t i = 0; i < nh->n; i++)
            stick_atab_get(&c->at, nh->h[i].author, 1, &idx);
        rc = visit_record(c, nh, &vrec);
        if (rc != AM_OK)
            goto out;
        if (w_record(&w, vrec.p, vrec.len, 1) == AM_OK) {
            struct site *s = NULL;
            const uint8_t *exc;
            uint32_t ne;
            struct stick_visit v;
            c->r->visit_written = 1;
            /* decoded as a reader will: a record readers refuse (a name that is not
             * printable text, which node_open never hands over) makes no site here */
            if (stick_visit_decode(vrec.p + 1, vrec.len - 1, &v, &exc, &ne) == AM_OK &&
                (s = stick_site_get(c, cfg->install_id, cfg->author, 1)) != NULL) {
                memcpy(s->v.name, v.name, sizeof v.name);
                s->v.time_ms = v.time_ms;
                if ((rc = stick_site_snapshot(c, s, exc, ne)) != AM_OK)
                    goto out;
            }
        }
    }
    rc = w_close_seg(&w);
    c->f->fsync_dir(c->f->ctx, c->dir);
    if (reread && rc == AM_OK && (rc = stick_rescan_from(c, first_new)) != AM_OK)
        goto out;
    if (w.err == AM_EPERM && c->r->readonly_why == AM_EPERM)
        rc = AM_OK; /* a read-only volume: imported, nothing written, said in the report */
    else if (w.err)
        rc = w.err;
    else
        rc = AM_OK;
    c->r->full = w.full;
out:
    free(vrec.p);
    free(w.plain);
    free(w.cbuf);
    free(w.touched);
    return rc;
}
