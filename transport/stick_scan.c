/*
 * stick_scan.c: reading a stick (PROTOCOL.md sections 11.1, 11.5): finds the network's
 * folder, lists its segments, reads both manifest slots, decrypts every segment chunk by
 * chunk, hands its entries to the store in bounded batches (through sync_store's ingest,
 * which verifies them), tracks per author what the stick holds and per site what it held
 * at its last visit, reports damage, and builds the stick's view. Part of the stick module
 * (stick_int.h).
 *
 * Must never: write to the stick (stick_locate only makes the folder on a blank volume,
 * and only when asked), trust a length read from the stick before checking it against the
 * limits of stick.h, allocate what a stick's bytes ask for without a cap (author table,
 * sites, snapshots, notes and ingest batches all stop at a limit), or stop at a damaged
 * record when the chunks after it are readable. Never prints, never reads a clock,
 * reaches files only through stick_fops.
 */
#include "stick_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_grow.h"
#include "entry.h"

/* ---- the author table of a scan --------------------------------------------------------- */

static size_t atab_hash(const struct atab *t, const uint8_t *author)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v;
    crypto_shorthash(h, author, AM_PK_LEN, t->key);
    memcpy(&v, h, sizeof v);
    return (size_t)v & (t->nslot - 1);
}

static int atab_rehash(struct atab *t, size_t nslot)
{
    uint32_t *s = malloc(nslot * sizeof *s);
    if (!s)
        return AM_ENOMEM;
    memset(s, 0xff, nslot * sizeof *s);
    free(t->slot);
    t->slot = s;
    t->nslot = nslot;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = atab_hash(t, t->it[i].author);
        while (t->slot[h] != NO_INDEX)
            h = (h + 1) & (nslot - 1);
        t->slot[h] = (uint32_t)i;
    }
    return AM_OK;
}

/* Finds `author` (inserting it when `insert`). Returns AM_OK, AM_ENOTFOUND, AM_ELIMIT
 * (STICK_AUTHORS_MAX reached), AM_ENOMEM. */
int stick_atab_get(struct atab *t, const uint8_t *author, int insert, uint32_t *idx)
{
    size_t h;
    if (!t->nslot) {
        randombytes_buf(t->key, sizeof t->key);
        if (atab_rehash(t, 1024) != AM_OK)
            return AM_ENOMEM;
    }
    for (h = atab_hash(t, author); t->slot[h] != NO_INDEX; h = (h + 1) & (t->nslot - 1))
        if (memcmp(t->it[t->slot[h]].author, author, AM_PK_LEN) == 0) {
            *idx = t->slot[h];
            return AM_OK;
        }
    if (!insert)
        return AM_ENOTFOUND;
    if (t->n >= STICK_AUTHORS_MAX)
        return AM_ELIMIT;
    if (AM_GROW(t->it, t->cap, t->n + 1, 256) != AM_OK)
        return AM_ENOMEM;
    memset(&t->it[t->n], 0, sizeof t->it[t->n]);
    memcpy(t->it[t->n].author, author, AM_PK_LEN);
    t->slot[h] = (uint32_t)t->n;
    *idx = (uint32_t)t->n++;
    if (t->n * 2 > t->nslot)
        return atab_rehash(t, t->nslot * 2);
    return AM_OK;
}

static void atab_free(struct atab *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->it[i].rg);
        free(t->it[i].ch);
    }
    free(t->it);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* Extends the contiguous run to `head` and absorbs the ranges it now reaches. */
void stick_vv_extend(struct aitem *a, uint64_t head)
{
    uint32_t k = 0;
    if (head > a->head)
        a->head = head;
    while (k < a->n_rg && a->rg[k].lo <= a->head + 1) {
        if (a->rg[k].hi > a->head)
            a->head = a->rg[k].hi;
        k++;
    }
    if (k) {
        memmove(a->rg, a->rg + k, (a->n_rg - k) * sizeof *a->rg);
        a->n_rg -= k;
    }
}

/* An entry extends the chain whose last entry it links to; a repeat of a chain's last
 * entry changes nothing; anything else begins a chain (up to CHAINS_MAX: past that the
 * stick only looks shorter, and at worst an export writes entries again). */
void stick_chain_add(struct aitem *a, uint64_t seq, const uint8_t *prev, const uint8_t *hash)
{
    struct chain *ch;
    for (uint32_t i = 0; i < a->n_ch; i++)
        if (a->ch[i].last == seq && memcmp(a->ch[i].last_hash, hash, AM_HASH_LEN) == 0)
            return;
    for (uint32_t i = 0; i < a->n_ch; i++)
        if (a->ch[i].last + 1 == seq && memcmp(a->ch[i].last_hash, prev, AM_HASH_LEN) == 0) {
            a->ch[i].last = seq;
            a->ch[i].entries++;
            memcpy(a->ch[i].last_hash, hash, AM_HASH_LEN);
            if (seq > a->top)
                a->top = seq;
            return;
        }
    if (a->n_ch == CHAINS_MAX)
        return;
    if (a->n_ch == a->cap_ch) {
        uint32_t cap = a->cap_ch ? 2 * a->cap_ch : 1;
        struct chain *n = realloc(a->ch, cap * sizeof *n);
        if (!n)
            return;
        a->ch = n;
        a->cap_ch = cap;
    }
    ch = &a->ch[a->n_ch++];
    ch->first = ch->last = seq;
    ch->entries = 1;
    memcpy(ch->first_hash, hash, AM_HASH_LEN);
    memcpy(ch->last_hash, hash, AM_HASH_LEN);
    ch->branch = seq <= a->top;
    if (seq > a->top)
        a->top = seq;
}

/* Records that the stick holds `seq` of this author. Holes beyond RANGES_MAX ranges are
 * forgotten (the stick then looks shorter: at worst an export writes entries again). */
void stick_vv_add(struct aitem *a, uint64_t seq)
{
    uint32_t i;
    if (seq <= a->head)
        return;
    if (seq == a->head + 1) {
        stick_vv_extend(a, seq);
        return;
    }
    /* entries arrive in order: the place is almost always at the end */
    for (i = a->n_rg; i > 0 && a->rg[i - 1].lo > seq; i--)
        ;
    if (i > 0 && seq <= a->rg[i - 1].hi + 1) {
        if (seq > a->rg[i - 1].hi)
            a->rg[i - 1].hi = seq;
        if (i < a->n_rg && a->rg[i].lo == a->rg[i - 1].hi + 1) {
            a->rg[i - 1].hi = a->rg[i].hi;
            memmove(a->rg + i, a->rg + i + 1, (a->n_rg - i - 1) * sizeof *a->rg);
            a->n_rg--;
        }
        return;
    }
    if (i < a->n_rg && a->rg[i].lo == seq + 1) {
        a->rg[i].lo = seq;
        return;
    }
    if (a->n_rg == RANGES_MAX)
        return;
    if (a->n_rg == a->cap_rg) {
        uint32_t cap = a->cap_rg ? 2 * a->cap_rg : 4;
        struct range *r = realloc(a->rg, cap * sizeof *r);
        if (!r)
            return;
        a->rg = r;
        a->cap_rg = cap;
    }
    memmove(a->rg + i + 1, a->rg + i, (a->n_rg - i) * sizeof *a->rg);
    a->rg[i].lo = a->rg[i].hi = seq;
    a->n_rg++;
}

int stick_holds(struct ctx *c, const uint8_t *author, uint64_t seq)
{
    uint32_t idx;
    const struct aitem *a;
    if (stick_atab_get(&c->at, author, 0, &idx) != AM_OK)
        return 0;
    a = &c->at.it[idx];
    if (seq <= a->head)
        return 1;
    for (uint32_t i = 0; i < a->n_rg; i++)
        if (seq >= a->rg[i].lo && seq <= a->rg[i].hi)
            return 1;
    return 0;
}

int stick_lane_key_cmp(const void *a, const void *b)
{
    const struct lane_key *x = a, *y = b;
    int c = memcmp(x->author, y->author, AM_PK_LEN);
    if (c)
        return c;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return memcmp(x->h8, y->h8, sizeof x->h8);
}

/* ---- scan context ----------------------------------------------------------------------- */

static void damage_add(struct stick_report *r, const char *file, int kind, int code, uint64_t off,
                       uint64_t lost)
{
    if (r->n_damage < STICK_DAMAGE_MAX) {
        struct stick_damage *d = &r->damage[r->n_damage];
        snprintf(d->file, sizeof d->file, "%s", file);
        d->kind = (uint8_t)kind;
        d->code = code;
        d->offset = off;
        d->lost = lost;
    }
    r->n_damage++;
}

int stick_damage_cmp(const void *a, const void *b)
{
    const struct stick_damage *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : (x->offset > y->offset) - (x->offset < y->offset);
}

int stick_sys_err(struct ctx *c, int rc)
{
    if (rc == AM_ESYS && !c->r->sys_errno)
        c->r->sys_errno = errno;
    return rc;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* Points *p at n bytes of the file at off. Returns AM_OK, AM_EAGAIN (the file ends first),
 * AM_ENOMEM, or a file error. */
static int rd_get(struct rd *r, uint64_t off, size_t n, const uint8_t **p)
{
    size_t got = 0, want;
    if (off >= r->base && off - r->base <= r->len && n <= r->len - (off - r->base)) {
        *p = r->buf + (off - r->base);
        return AM_OK;
    }
    want = n > READ_BLOCK ? n : READ_BLOCK;
    if (want > r->cap) {
        uint8_t *nb = realloc(r->buf, want);
        if (!nb)
            return AM_ENOMEM;
        r->buf = nb;
        r->cap = want;
    }
    r->len = 0;
    r->base = off;
    while (got < want) {
        size_t k = 0;
        int rc = r->f->read(r->f->ctx, r->fd, off + got, r->buf + got, want - got, &k);
        if (rc != AM_OK)
            return rc;
        if (k == 0)
            break;
        got += k;
    }
    r->len = got;
    if (got < n)
        return AM_EAGAIN;
    *p = r->buf;
    return AM_OK;
}

void stick_progress(struct ctx *c, int phase, uint64_t done, uint64_t total, int force)
{
    if (!c->cfg->progress || c->rescan)
        return;
    if (!force && done < c->prog_next)
        return;
    c->prog_next = done + (total / 100 > 65536 ? total / 100 : 65536);
    c->cfg->progress(c->cfg->progress_ctx, phase, done, total);
}

/* ---- ingest batches --------------------------------------------------------------------- */

static int batch_flush(struct ctx *c)
{
    struct sync_ingest_result res;
    int rc;
    if (!c->nb)
        return AM_OK;
    for (size_t i = 0; i < c->nb; i++)
        c->bptr[i] = c->arena + c->boff[i];
    memset(&res, 0, sizeof res);
    rc = c->ss->ingest(c->ss->ctx, c->bptr, c->blen, c->nb, &res);
    c->nb = 0;
    c->arena_len = 0;
    if (rc != AM_OK)
        return rc;
    c->r->added += res.added;
    c->r->duplicate += res.duplicate;
    c->r->forks += res.forks;
    c->r->capped += res.capped;
    c->r->refused += res.refused;
    sync_refusals_merge(&c->r->refusals, &res.refusals);
    return AM_OK;
}

/* Appends raw to an arena grown by doubling (from 64 KiB); *at: where it went. */
static int arena_put(uint8_t **arena, size_t *alen, size_t *acap, const uint8_t *raw, size_t len,
                     size_t *at)
{
    if (*alen + len > *acap) {
        size_t cap = *acap ? *acap : (64u << 10);
        uint8_t *a;
        while (cap < *alen + len)
            cap *= 2;
        if (!(a = realloc(*arena, cap)))
            return AM_ENOMEM;
        *arena = a;
        *acap = cap;
    }
    memcpy(*arena + *alen, raw, len);
    *at = *alen;
    *alen += len;
    return AM_OK;
}

static int batch_add(struct ctx *c, const uint8_t *raw, size_t len)
{
    if (!c->bptr) {
        c->bptr = malloc(AM_INGEST_BATCH_MAX * sizeof *c->bptr);
        c->boff = malloc(AM_INGEST_BATCH_MAX * sizeof *c->boff);
        c->blen = malloc(AM_INGEST_BATCH_MAX * sizeof *c->blen);
        if (!c->bptr || !c->boff || !c->blen)
            return AM_ENOMEM;
    }
    if (arena_put(&c->arena, &c->arena_len, &c->arena_cap, raw, len, &c->boff[c->nb]) != AM_OK)
        return AM_ENOMEM;
    c->blen[c->nb] = len;
    c->nb++;
    if (c->nb == AM_INGEST_BATCH_MAX || c->arena_len >= BATCH_ARENA_MAX)
        return batch_flush(c);
    return AM_OK;
}

/* ---- records ---------------------------------------------------------------------------- */

int stick_intr_cmp(const void *a, const void *b)
{
    const struct interest *x = a, *y = b;
    int c = memcmp(x->author, y->author, AM_PK_LEN);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static void interest_check(struct ctx *c, const struct entry *e)
{
    struct interest key, *hit;
    uint8_t h[AM_HASH_LEN];
    int hashed = 0;
    memcpy(key.author, e->author, AM_PK_LEN);
    key.seq = e->seq;
    hit = bsearch(&key, c->intr, c->n_intr, sizeof *c->intr, stick_intr_cmp);
    if (!hit)
        return;
    /* several interests can share (author, seq): walk to the first of them */
    while (hit > c->intr && stick_intr_cmp(hit - 1, &key) == 0)
        hit--;
    for (; hit < c->intr + c->n_intr && stick_intr_cmp(hit, &key) == 0; hit++) {
        if (!hashed) {
            entry_hash(e, h);
            hashed = 1;
        }
        if (memcmp(h, hit->hash, AM_HASH_LEN) == 0)
            hit->found = 1;
    }
}

/* Decodes an entry of the chunk being handled; one that does not decode is counted and
 * reported once per chunk. Returns AM_OK or the decoder's code. */
static int chunk_entry(struct ctx *c, const uint8_t *raw, size_t len, struct entry *e)
{
    int rc = entry_decode(e, raw, len);
    if (rc != AM_OK) {
        c->r->malformed++;
        if (!c->cur_bad)
            damage_add(c->r, c->cur_file, STICK_DMG_ENTRY, rc, c->cur_off, 0);
        c->cur_bad = 1;
    }
    return rc;
}

static int on_entry(void *vctx, const uint8_t *raw, size_t len)
{
    struct ctx *c = vctx;
    struct entry e;
    uint32_t idx;
    int rc;
    if (chunk_entry(c, raw, len, &e) != AM_OK)
        return 0;
    c->r->read++;
    c->cur_entries++;
    rc = stick_atab_get(&c->at, e.author, 1, &idx);
    if (rc == AM_OK) {
        uint8_t h[AM_HASH_LEN];
        if (!c->rescan) /* a rescan reads what the export counted already */
            c->at.it[idx].entries++;
        stick_vv_add(&c->at.it[idx], e.seq);
        entry_hash(&e, h);
        stick_chain_add(&c->at.it[idx], e.seq, e.prev, h);
    } else if (rc != AM_ELIMIT) {
        c->fatal = rc;
        return 1;
    }
    if (c->n_intr)
        interest_check(c, &e);
    if (c->ss && !(c->cfg->flags & STICK_F_NO_IMPORT) && !c->rescan) {
        rc = batch_add(c, raw, len);
        if (rc != AM_OK) {
            c->fatal = rc;
            return 1;
        }
    }
    return 0;
}

/* An entry of a LANE record: remembered (up to AM_STICK_LANE_MAX), and kept for the node's
 * lane unless this scan imports nothing. Never part of the stick's logs (no vv, no chain). */
static int on_lane_entry(void *vctx, const uint8_t *raw, size_t len)
{
    struct ctx *c = vctx;
    struct entry e;
    uint8_t h[AM_HASH_LEN];
    if (chunk_entry(c, raw, len, &e) != AM_OK)
        return 0;
    if (c->rescan)
        return 0; /* written by this sync: its export is over */
    c->r->lane_read++;
    if (c->n_lane_on == AM_STICK_LANE_MAX)
        return 0; /* beyond the bound: the logs carry it */
    if (!c->lane_on && !(c->lane_on = malloc(AM_STICK_LANE_MAX * sizeof *c->lane_on))) {
        c->fatal = AM_ENOMEM;
        return 1;
    }
    entry_hash(&e, h);
    memcpy(c->lane_on[c->n_lane_on].author, e.author, AM_PK_LEN);
    c->lane_on[c->n_lane_on].seq = e.seq;
    memcpy(c->lane_on[c->n_lane_on].h8, h, sizeof c->lane_on->h8);
    c->n_lane_on++;
    if (!c->ss || !c->ss->lane_ingest || (c->cfg->flags & STICK_F_NO_IMPORT))
        return 0;
    if (!c->lane_off) {
        c->lane_off = malloc(AM_STICK_LANE_MAX * sizeof *c->lane_off);
        c->lane_lens = malloc(AM_STICK_LANE_MAX * sizeof *c->lane_lens);
        if (!c->lane_off || !c->lane_lens) {
            c->fatal = AM_ENOMEM;
            return 1;
        }
    }
    if (arena_put(&c->lane_arena, &c->lane_len, &c->lane_cap, raw, len, &c->lane_off[c->n_lane]) !=
        AM_OK) {
        c->fatal = AM_ENOMEM;
        return 1;
    }
    c->lane_lens[c->n_lane++] = len;
    return 0;
}

/* The LANE entries met, into the node's lane: after the logs, so that those the logs
 * brought are duplicates there. */
static int lane_flush(struct ctx *c)
{
    const uint8_t **ptr;
    uint64_t added = 0;
    int rc;
    if (!c->n_lane)
        return AM_OK;
    if (!(ptr = malloc(c->n_lane * sizeof *ptr)))
        return AM_ENOMEM;
    for (size_t i = 0; i < c->n_lane; i++)
        ptr[i] = c->lane_arena + c->lane_off[i];
    rc = c->ss->lane_ingest(c->ss->ctx, ptr, c->lane_lens, c->n_lane, &added);
    free(ptr);
    c->n_lane = 0;
    c->lane_len = 0;
    if (rc == AM_OK)
        c->r->lane_added += added;
    return rc;
}

struct site *stick_site_get(struct ctx *c, const uint8_t *install, const uint8_t *author,
                            int insert)
{
    for (size_t i = 0; i < c->n_sites; i++)
        if (memcmp(c->sites[i].v.install, install, AM_INSTALL_ID_LEN) == 0 &&
            memcmp(c->sites[i].v.author, author, AM_PK_LEN) == 0)
            return &c->sites[i];
    if (!insert || c->n_sites >= STICK_SITES_MAX)
        return NULL;
    if (AM_GROW(c->sites, c->cap_sites, c->n_sites + 1, 16) != AM_OK)
        return NULL;
    memset(&c->sites[c->n_sites], 0, sizeof c->sites[0]);
    memcpy(c->sites[c->n_sites].v.install, install, AM_INSTALL_ID_LEN);
    memcpy(c->sites[c->n_sites].v.author, author, AM_PK_LEN);
    return &c->sites[c->n_sites++];
}

/* Sets a site's snapshot: seq per author index, `base` (NULL: the stick's heads now) with
 * `exc` (n pairs of author, be64 seq) applied. */
int stick_site_snapshot(struct ctx *c, struct site *s, const uint8_t *exc, uint32_t n)
{
    uint64_t *snap;
    uint32_t idx;
    for (uint32_t k = 0; k < n; k++) {
        int rc = stick_atab_get(&c->at, exc + (size_t)k * EXC_LEN, 1, &idx);
        if (rc == AM_ENOMEM)
            return rc;
    }
    if (c->snap_total - s->n_snap + c->at.n > SNAP_TOTAL_MAX)
        return AM_OK; /* keep the older snapshot: bounded memory */
    snap = realloc(s->snap, (c->at.n ? c->at.n : 1) * sizeof *snap);
    if (!snap)
        return AM_ENOMEM;
    c->snap_total = c->snap_total - s->n_snap + c->at.n;
    s->snap = snap;
    s->n_snap = c->at.n;
    for (size_t i = 0; i < c->at.n; i++)
        snap[i] = c->at.it[i].head;
    for (uint32_t k = 0; k < n; k++)
        if (stick_atab_get(&c->at, exc + (size_t)k * EXC_LEN, 0, &idx) == AM_OK)
            snap[idx] = get64(exc + (size_t)k * EXC_LEN + AM_PK_LEN);
    return AM_OK;
}

uint64_t stick_site_seq(const struct site *s, uint32_t idx)
{
    return idx < s->n_snap ? s->snap[idx] : 0;
}

static int on_visit(struct ctx *c, const uint8_t *p, size_t n)
{
    struct stick_visit v;
    const uint8_t *exc;
    uint32_t ne;
    struct site *s;
    int rc = stick_visit_decode(p, n, &v, &exc, &ne);
    if (rc != AM_OK)
        return rc;
    s = stick_site_get(c, v.install, v.author, 1);
    if (!s)
        return AM_OK; /* STICK_SITES_MAX sites known: later ones are not tracked */
    memcpy(s->v.name, v.name, sizeof v.name);
    s->v.time_ms = v.time_ms;
    rc = stick_site_snapshot(c, s, exc, ne);
    if (rc != AM_OK)
        c->fatal = rc;
    return AM_OK;
}

static int on_cut(struct ctx *c, const uint8_t *p, size_t n)
{
    struct note *nt;
    if (n != CUT_REC_LEN - 1)
        return AM_EMALFORMED;
    if (c->n_notes == c->cap_notes) {
        size_t cap = c->cap_notes ? 2 * c->cap_notes : 16;
        struct note *a;
        if (cap > STICK_SEGMENTS_MAX * 4)
            return AM_OK;
        a = realloc(c->notes, cap * sizeof *a);
        if (!a) {
            c->fatal = AM_ENOMEM;
            return AM_OK;
        }
        c->notes = a;
        c->cap_notes = cap;
    }
    nt = &c->notes[c->n_notes++];
    nt->number = get32(p);
    nt->valid = get64(p + 4);
    memcpy(nt->header_id, p + 12, STICK_HEADER_ID_LEN);
    return AM_OK;
}

/* ---- scanning one segment --------------------------------------------------------------- */

static void file_cut(struct sfile *f, int kind, int code, uint64_t off)
{
    f->info.state = STICK_SEG_CUT;
    f->info.valid = off;
    f->dmg_kind = (uint8_t)kind;
    f->dmg_code = code;
}

static int scan_segment(struct ctx *c, struct sfile *f)
{
    char path[PATH_CAP];
    const uint8_t *hdr, *p;
    uint8_t key[32], ad[STICK_SEG_HEADER_LEN + 4], hdrcopy[STICK_SEG_HEADER_LEN];
    crypto_secretstream_xchacha20poly1305_state st;
    uint64_t off, size = f->info.size, limit;
    uint32_t number;
    int rc, first = 1;

    if (stick_join(path, c->dir, f->name) != AM_OK)
        return AM_EINVAL;
    rc = c->f->open(c->f->ctx, path, STICK_OPEN_READ, &c->rd.fd);
    if (rc != AM_OK)
        return stick_sys_err(c, rc);
    c->rd.f = c->f;
    c->rd.len = 0;
    c->rd.base = 0;
    limit = size < STICK_SEGMENT_MAX ? size : STICK_SEGMENT_MAX;
    f->info.state = STICK_SEG_SEALED;
    f->info.valid = 0;
    rc = rd_get(&c->rd, 0, STICK_SEG_HEADER_LEN, &hdr);
    if (rc != AM_OK) {
        if (rc == AM_ENOMEM)
            goto out;
        file_cut(f, rc == AM_EAGAIN ? STICK_DMG_CUT : STICK_DMG_BAD, stick_sys_err(c, rc), 0);
        rc = AM_OK;
        goto out;
    }
    rc = stick_seg_header_decode(hdr, STICK_SEG_HEADER_LEN, c->keys.netid, &number);
    if (rc == AM_EVERSION) {
        /* a newer format, or a flipped version byte: never cut, reported every time */
        f->info.state = STICK_SEG_NEWER;
        c->r->newer++;
        damage_add(c->r, f->name, STICK_DMG_BAD, AM_EVERSION, 0, size);
        rc = AM_OK;
        goto out;
    }
    if (rc == AM_EBADMAC) {
        /* another network's segment in our folder, or a flipped id: noted, never cut */
        f->foreign = 1;
        c->r->foreign++;
        file_cut(f, STICK_DMG_BAD, AM_EBADMAC, 0);
        rc = AM_OK;
        goto out;
    }
    if (rc != AM_OK || number != f->info.number) {
        file_cut(f, STICK_DMG_BAD, AM_EMALFORMED, 0);
        rc = AM_OK;
        goto out;
    }
    memcpy(hdrcopy, hdr, sizeof hdrcopy);
    memcpy(f->header_id, hdr + 20, STICK_HEADER_ID_LEN);
    stick_segment_key(&c->keys, number, key);
    crypto_secretstream_xchacha20poly1305_init_pull(&st, hdrcopy + 20, key);
    sodium_memzero(key, sizeof key);
    off = STICK_SEG_HEADER_LEN;
    f->info.valid = off;
    c->cur_file = f->name;
    for (;;) {
        uint32_t clen;
        unsigned long long mlen;
        unsigned char tag;
        size_t adlen = 0;

        if (off == size) {
            file_cut(f, STICK_DMG_CUT, AM_EAGAIN, off);
            break;
        }
        if (off + 4 > limit) {
            file_cut(f, off + 4 > size ? STICK_DMG_CUT : STICK_DMG_BAD,
                     off + 4 > size ? AM_EAGAIN : AM_ELIMIT, off);
            break;
        }
        rc = rd_get(&c->rd, off, 4, &p);
        if (rc != AM_OK)
            break;
        clen = get32(p);
        if (clen < STICK_ABYTES + 1 || clen > STICK_CHUNK_MAX + STICK_ABYTES) {
            file_cut(f, STICK_DMG_BAD, clen > STICK_CHUNK_MAX ? AM_ELIMIT : AM_EMALFORMED, off);
            break;
        }
        if (off + 4 + clen > size) {
            file_cut(f, STICK_DMG_CUT, AM_EAGAIN, off);
            break;
        }
        if (off + 4 + clen > limit) {
            file_cut(f, STICK_DMG_BAD, AM_ELIMIT, off);
            break;
        }
        if (first) {
            memcpy(ad, hdrcopy, STICK_SEG_HEADER_LEN);
            adlen = STICK_SEG_HEADER_LEN;
        }
        put32(ad + adlen, clen);
        adlen += 4;
        rc = rd_get(&c->rd, off + 4, clen, &p);
        if (rc != AM_OK)
            break;
        if (!c->plain && !(c->plain = malloc(STICK_CHUNK_MAX))) {
            rc = AM_ENOMEM;
            goto out;
        }
        if (crypto_secretstream_xchacha20poly1305_pull(&st, c->plain, &mlen, &tag, p, clen, ad,
                                                       adlen) != 0) {
            file_cut(f, STICK_DMG_BAD, AM_EBADMAC, off);
            break;
        }
        if ((tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) !=
            (c->plain[0] == STICK_REC_END)) {
            file_cut(f, STICK_DMG_BAD, AM_EMALFORMED, off);
            break;
        }
        c->cur_off = off;
        c->cur_bad = 0;
        switch (c->plain[0]) {
        case STICK_REC_ENTRIES:
        case STICK_REC_LANE:
            rc = stick_entries_walk(c->plain + 1, (size_t)mlen - 1,
                                    c->plain[0] == STICK_REC_LANE ? on_lane_entry : on_entry, c);
            if (c->fatal) {
                rc = c->fatal;
                goto out;
            }
            if (rc != AM_OK && !c->cur_bad) {
                c->r->malformed++;
                damage_add(c->r, f->name, STICK_DMG_ENTRY, rc, off, 0);
            }
            break;
        case STICK_REC_VISIT:
        case STICK_REC_CUT:
            rc = c->plain[0] == STICK_REC_VISIT ? on_visit(c, c->plain + 1, (size_t)mlen - 1)
                                                : on_cut(c, c->plain + 1, (size_t)mlen - 1);
            if (c->fatal) {
                rc = c->fatal;
                goto out;
            }
            if (rc != AM_OK)
                damage_add(c->r, f->name, STICK_DMG_ENTRY, rc, off, 0);
            break;
        default: /* STICK_REC_END, or a type of a later minor version: skipped */
            break;
        }
        rc = AM_OK;
        first = 0;
        off += 4 + clen;
        f->info.valid = off;
        c->prog_done += 4 + clen;
        stick_progress(c, STICK_PHASE_IMPORT, c->prog_done, c->prog_total, 0);
        if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
            if (off != size)
                file_cut(f, STICK_DMG_TRAIL, AM_EMALFORMED, off);
            break;
        }
    }
    if (rc == AM_ENOMEM)
        goto out;
    if (rc != AM_OK) /* the volume failed a read here (or the file shrank): damage */
        file_cut(f, rc == AM_EAGAIN ? STICK_DMG_CUT : STICK_DMG_BAD, stick_sys_err(c, rc), off);
    rc = AM_OK;
out:
    sodium_memzero(&st, sizeof st);
    f->info.entries = c->cur_entries;
    c->cur_entries = 0;
    c->f->close(c->f->ctx, c->rd.fd);
    return rc;
}

/* ---- the folder ------------------------------------------------------------------------- */

struct find_ctx {
    struct ctx *c;
    char top[256];
    char ours[256];
    int other;
    int fatal;
};

static int on_root_name(void *vctx, const char *name, int is_dir)
{
    struct find_ctx *fc = vctx;
    if (is_dir && stick_ieq(name, STICK_DIR_NAME) && !fc->top[0])
        snprintf(fc->top, sizeof fc->top, "%s", name);
    return 0;
}

static int on_top_name(void *vctx, const char *name, int is_dir)
{
    struct find_ctx *fc = vctx;
    uint8_t id[AM_NETID_LEN];
    if (!is_dir || stick_parse_netid(name, id) != 0)
        return 0;
    if (memcmp(id, fc->c->keys.netid, AM_NETID_LEN) == 0) {
        if (!fc->ours[0])
            snprintf(fc->ours, sizeof fc->ours, "%s", name);
    } else if (!fc->other) {
        fc->other = 1;
        memcpy(fc->c->r->other_netid, id, AM_NETID_LEN);
    }
    return 0;
}

/* Finds AIDMESH/<our id>/ (any case); with `create`, makes it on a blank volume. */
int stick_locate(struct ctx *c, int create)
{
    struct find_ctx fc;
    char top[PATH_CAP], idhex[2 * AM_NETID_LEN + 1];
    int rc;

    memset(&fc, 0, sizeof fc);
    fc.c = c;
    rc = c->f->list(c->f->ctx, c->cfg->root, on_root_name, &fc);
    if (rc != AM_OK)
        return stick_sys_err(c, rc);
    if (fc.top[0]) {
        if (stick_join(top, c->cfg->root, fc.top) != AM_OK)
            return AM_EINVAL;
        rc = c->f->list(c->f->ctx, top, on_top_name, &fc);
        if (rc != AM_OK)
            return stick_sys_err(c, rc);
        if (fc.ours[0]) {
            c->r->location = STICK_LOC_OURS;
            return stick_join(c->dir, top, fc.ours);
        }
    }
    if (fc.other) {
        c->r->location = STICK_LOC_OTHER;
        return AM_EOTHERNET;
    }
    c->r->location = STICK_LOC_BLANK;
    if (!create)
        return AM_ENOTFOUND;
    for (int i = 0; i < AM_NETID_LEN; i++)
        snprintf(idhex + 2 * i, 3, "%02X", c->keys.netid[i]);
    if (!fc.top[0]) {
        if (stick_join(top, c->cfg->root, STICK_DIR_NAME) != AM_OK)
            return AM_EINVAL;
        rc = c->f->mkdir(c->f->ctx, top);
        if (rc != AM_OK && rc != AM_EEXIST)
            return stick_sys_err(c, rc);
    }
    if (stick_join(c->dir, top, idhex) != AM_OK)
        return AM_EINVAL;
    rc = c->f->mkdir(c->f->ctx, c->dir);
    if (rc != AM_OK && rc != AM_EEXIST)
        return stick_sys_err(c, rc);
    c->f->fsync_dir(c->f->ctx, top);
    c->f->fsync_dir(c->f->ctx, c->cfg->root);
    c->r->created = 1;
    return AM_OK;
}

static int on_dir_name(void *vctx, const char *name, int is_dir)
{
    struct ctx *c = vctx;
    uint32_t n;
    if (is_dir)
        return 0;
    for (int s = 0; s < 2; s++)
        if (stick_ieq(name, s ? STICK_MAN_SLOT_B : STICK_MAN_SLOT_A)) {
            snprintf(c->slot_file[s], sizeof c->slot_file[s], "%s", name);
            c->slot_present[s] = 1;
            return 0;
        }
    n = stick_seg_number(name);
    if (!n || c->n_files >= STICK_SEGMENTS_MAX)
        return 0;
    if (AM_GROW(c->files, c->cap_files, c->n_files + 1, 64) != AM_OK) {
        c->fatal = AM_ENOMEM;
        return 1;
    }
    memset(&c->files[c->n_files], 0, sizeof c->files[0]);
    c->files[c->n_files].info.number = n;
    snprintf(c->files[c->n_files].name, sizeof c->files[0].name, "%s", name);
    c->n_files++;
    if (n > c->max_number)
        c->max_number = n;
    return 0;
}

static int sfile_cmp(const void *a, const void *b)
{
    const struct sfile *x = a, *y = b;
    if (x->info.number != y->info.number)
        return x->info.number < y->info.number ? -1 : 1;
    return strcmp(x->name, y->name);
}

int stick_file_size(struct ctx *c, const char *name, uint64_t *size)
{
    char path[PATH_CAP];
    int fd, rc;
    if (stick_join(path, c->dir, name) != AM_OK)
        return AM_EINVAL;
    rc = c->f->open(c->f->ctx, path, STICK_OPEN_READ, &fd);
    if (rc != AM_OK)
        return stick_sys_err(c, rc);
    rc = c->f->size(c->f->ctx, fd, size);
    c->f->close(c->f->ctx, fd);
    return stick_sys_err(c, rc);
}

int stick_list_dir(struct ctx *c)
{
    int rc = c->f->list(c->f->ctx, c->dir, on_dir_name, c);
    if (c->fatal)
        return c->fatal;
    if (rc != AM_OK)
        return stick_sys_err(c, rc);
    if (c->n_files)
        qsort(c->files, c->n_files, sizeof *c->files, sfile_cmp);
    for (size_t i = 0; i < c->n_files; i++) {
        rc = stick_file_size(c, c->files[i].name, &c->files[i].info.size);
        if (rc != AM_OK)
            return rc;
        c->prog_total += c->files[i].info.size;
        c->r->stick_bytes += c->files[i].info.size;
    }
    c->r->segments = c->n_files;
    return AM_OK;
}

void stick_read_slots(struct ctx *c)
{
    c->man_slot = -1;
    for (int s = 0; s < 2; s++) {
        char path[PATH_CAP];
        struct stick_view v;
        uint64_t size = 0, gen = 0;
        uint8_t *buf = NULL;
        size_t got = 0;
        int fd, rc;

        if (!c->slot_present[s] || stick_join(path, c->dir, c->slot_file[s]) != AM_OK)
            continue;
        rc = c->f->open(c->f->ctx, path, STICK_OPEN_READ, &fd);
        if (rc != AM_OK)
            continue;
        rc = c->f->size(c->f->ctx, fd, &size);
        if (rc == AM_OK && size > STICK_MANIFEST_MAX)
            size = STICK_MANIFEST_MAX; /* anything after is beyond any manifest */
        if (rc == AM_OK && !(buf = malloc(size ? size : 1)))
            rc = AM_ENOMEM;
        while (rc == AM_OK && got < size) {
            size_t k = 0;
            rc = c->f->read(c->f->ctx, fd, got, buf + got, size - got, &k);
            if (k == 0)
                break;
            got += k;
        }
        c->f->close(c->f->ctx, fd);
        if (rc == AM_OK)
            rc = stick_manifest_decode(&c->keys, s ? 'B' : 'A', buf, got, &v, &gen);
        free(buf);
        if (rc != AM_OK) {
            damage_add(c->r, c->slot_file[s], STICK_DMG_MANIFEST, rc, 0, got);
            continue;
        }
        c->slot_ok[s] = 1;
        c->slot_gen[s] = gen;
        c->r->manifest_slots |= 1u << s;
        if (c->man_slot < 0 || gen > c->slot_gen[c->man_slot]) {
            stick_view_free(&c->man);
            c->man = v;
            c->man_slot = s;
        } else {
            stick_view_free(&v);
        }
    }
}

static int note_matches(const struct note *n, const struct sfile *f)
{
    static const uint8_t zero[STICK_HEADER_ID_LEN];
    const uint8_t *id = f->info.valid >= STICK_SEG_HEADER_LEN ? f->header_id : zero;
    return n->number == f->info.number && n->valid == f->info.valid &&
           memcmp(n->header_id, id, STICK_HEADER_ID_LEN) == 0;
}

/* After the scan: cuts that a note covers are not damage; the others are reported. */
static void settle_cuts(struct ctx *c)
{
    for (size_t i = 0; i < c->n_files; i++) {
        struct sfile *f = &c->files[i];
        if (f->info.state != STICK_SEG_CUT)
            continue;
        for (size_t k = 0; k < c->n_notes; k++)
            if (note_matches(&c->notes[k], f)) {
                f->info.state = STICK_SEG_CUT_ACK;
                break;
            }
        if (f->info.state == STICK_SEG_CUT_ACK)
            c->r->acknowledged += !f->foreign; /* never cut short: counted in r->foreign */
        else
            damage_add(c->r, f->name, f->dmg_kind, f->dmg_code, f->info.valid,
                       f->info.size - f->info.valid);
    }
}

int stick_scan_all(struct ctx *c)
{
    int rc;
    c->prog_next = 0;
    for (size_t i = 0; i < c->n_files; i++) {
        uint64_t before = c->prog_done;
        rc = scan_segment(c, &c->files[i]);
        if (rc != AM_OK)
            return rc;
        c->prog_done = before + c->files[i].info.size;
    }
    if (c->ss && !(c->cfg->flags & STICK_F_NO_IMPORT)) {
        if ((rc = batch_flush(c)) != AM_OK || (rc = lane_flush(c)) != AM_OK)
            return rc;
    }
    if (c->n_lane_on > 1)
        qsort(c->lane_on, c->n_lane_on, sizeof *c->lane_on, stick_lane_key_cmp);
    stick_progress(c, STICK_PHASE_IMPORT, c->prog_done, c->prog_total, 1);
    settle_cuts(c);
    return AM_OK;
}

int stick_rescan_from(struct ctx *c, size_t from)
{
    struct stick_report *keep = c->r, *scratch = calloc(1, sizeof *scratch);
    int rc = AM_OK;
    if (!scratch)
        return AM_ENOMEM;
    c->r = scratch;
    c->rescan = 1;
    for (size_t i = from; i < c->n_files && rc == AM_OK; i++)
        rc = scan_segment(c, &c->files[i]);
    c->rescan = 0;
    c->r = keep;
    free(scratch);
    return rc;
}

/* ---- the view --------------------------------------------------------------------------- */

static int row_cmp(const void *a, const void *b)
{
    return memcmp(((const struct stick_author *)a)->author,
                  ((const struct stick_author *)b)->author, AM_PK_LEN);
}

/* The manifest's log table: a root row per author, and a child row per branch the stick
 * holds (chains of one first entry are one row). Sorted by log id. */
static int build_rows(struct ctx *c, struct stick_view *v)
{
    size_t n = c->at.n, k = 0;
    for (size_t i = 0; i < c->at.n; i++)
        for (uint32_t j = 0; j < c->at.it[i].n_ch; j++)
            n += c->at.it[i].ch[j].branch != 0;
    if (n && !(v->authors = calloc(n, sizeof *v->authors)))
        return AM_ENOMEM;
    for (size_t i = 0; i < c->at.n; i++) {
        const struct aitem *a = &c->at.it[i];
        struct stick_author *root = &v->authors[k++];
        memcpy(root->author, a->author, AM_PK_LEN);
        memcpy(root->owner, a->author, AM_PK_LEN);
        root->first_seq = 1;
        root->seq = a->head;
        root->entries = a->entries;
        v->entries += a->entries;
        for (uint32_t j = 0; j < a->n_ch; j++) {
            const struct chain *ch = &a->ch[j];
            struct stick_author *row;
            if (!ch->branch)
                continue;
            row = &v->authors[k++];
            entry_log_id(row->author, a->author, ch->first_hash);
            memcpy(row->owner, a->author, AM_PK_LEN);
            row->first_seq = ch->first;
            row->seq = ch->last;
            row->entries = ch->entries;
            root->entries -= ch->entries < root->entries ? ch->entries : root->entries;
        }
    }
    if (k)
        qsort(v->authors, k, sizeof *v->authors, row_cmp);
    /* one row per log: repeats of one branch are merged */
    v->n_authors = 0;
    for (size_t i = 0; i < k; i++) {
        struct stick_author *last = v->n_authors ? &v->authors[v->n_authors - 1] : NULL;
        if (last && memcmp(last->author, v->authors[i].author, AM_PK_LEN) == 0) {
            if (v->authors[i].seq > last->seq)
                last->seq = v->authors[i].seq;
            last->entries += v->authors[i].entries;
            continue;
        }
        v->authors[v->n_authors++] = v->authors[i];
    }
    return AM_OK;
}

struct sidx {
    const uint8_t *author;
    uint32_t idx;
};

static int sidx_cmp(const void *a, const void *b)
{
    return memcmp(((const struct sidx *)a)->author, ((const struct sidx *)b)->author, AM_PK_LEN);
}

int stick_build_view(struct ctx *c, struct stick_view *v)
{
    struct sidx *order = NULL;
    int rc = AM_ENOMEM;

    memset(v, 0, sizeof *v);
    if (c->n_files && !(v->segs = calloc(c->n_files, sizeof *v->segs)))
        goto out;
    for (size_t i = 0; i < c->n_files; i++) {
        v->segs[i] = c->files[i].info;
        v->bytes += c->files[i].info.size;
    }
    v->n_segs = c->n_files;
    if (c->at.n && !(order = malloc(c->at.n * sizeof *order)))
        goto out;
    for (size_t i = 0; i < c->at.n; i++) {
        order[i].author = c->at.it[i].author;
        order[i].idx = (uint32_t)i;
    }
    if (c->at.n)
        qsort(order, c->at.n, sizeof *order, sidx_cmp);
    if (build_rows(c, v) != AM_OK)
        goto out;
    if (c->n_sites && !(v->visits = calloc(c->n_sites, sizeof *v->visits)))
        goto out;
    for (size_t s = 0; s < c->n_sites; s++) {
        const struct site *st = &c->sites[s];
        struct stick_visit *vi = &v->visits[v->n_visits++];
        size_t n = 0;
        *vi = st->v;
        vi->vv = NULL;
        vi->n_vv = 0;
        for (size_t i = 0; i < c->at.n; i++)
            if (stick_site_seq(st, order[i].idx) != c->at.it[order[i].idx].head)
                n++;
        if (n && !(vi->vv = malloc(n * sizeof *vi->vv)))
            goto out;
        for (size_t i = 0; i < c->at.n; i++) {
            uint64_t q = stick_site_seq(st, order[i].idx);
            if (q != c->at.it[order[i].idx].head) {
                memcpy(vi->vv[vi->n_vv].author, order[i].author, AM_PK_LEN);
                vi->vv[vi->n_vv++].seq = q;
            }
        }
    }
    if (v->n_visits)
        qsort(v->visits, v->n_visits, sizeof *v->visits, stick_visit_cmp);
    rc = AM_OK;
out:
    free(order);
    if (rc != AM_OK)
        stick_view_free(v);
    return rc;
}

/* ---- context ---------------------------------------------------------------------------- */

void stick_ctx_free(struct ctx *c)
{
    for (size_t i = 0; i < c->n_sites; i++)
        free(c->sites[i].snap);
    free(c->sites);
    free(c->files);
    free(c->notes);
    free(c->intr);
    atab_free(&c->at);
    if (c->arena)
        sodium_memzero(c->arena, c->arena_cap);
    free(c->arena);
    free(c->boff);
    free(c->blen);
    free(c->bptr);
    if (c->lane_arena)
        sodium_memzero(c->lane_arena, c->lane_cap);
    free(c->lane_arena);
    free(c->lane_off);
    free(c->lane_lens);
    free(c->lane_on);
    free(c->rd.buf);
    if (c->plain)
        sodium_memzero(c->plain, STICK_CHUNK_MAX);
    free(c->plain);
    stick_view_free(&c->man);
    stick_keys_wipe(&c->keys);
}

int stick_ctx_init(struct ctx *c, const struct stick_cfg *cfg, const struct sync_store *ss,
                   struct stick_report *r)
{
    memset(c, 0, sizeof *c);
    memset(r, 0, sizeof *r);
    r->free_bytes = UINT64_MAX;
    if (!cfg || !cfg->fops || !cfg->root || !cfg->netkey)
        return AM_EINVAL;
    c->cfg = cfg;
    c->f = cfg->fops;
    c->ss = ss;
    c->r = r;
    c->man_slot = -1;
    stick_keys_init(&c->keys, cfg->netkey);
    return AM_OK;
}
