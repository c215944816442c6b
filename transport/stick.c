/*
 * stick.c: the sneakernet sync (see stick.h; bytes in PROTOCOL.md section 11, the steps of
 * a sync in 11.7): stick_sync finds the folder, imports everything the stick holds, writes
 * what it lacks and then the manifest; stick_inspect reads a stick's view without the
 * node. The formats are in stick_format.c, reading in stick_scan.c, writing in
 * stick_write.c; the four share stick_int.h.
 *
 * Must never: write to a volume holding only another network's folder, append to an
 * existing segment, write anything before the import finished, update the manifest
 * before the segments it describes are fsynced, trust a length read from the stick before
 * checking it against the limits of stick.h, or allocate what a stick's bytes ask for
 * without a cap. Never prints, never reads a clock, reaches files only through stick_fops.
 */
#include "stick.h"

#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_grow.h"
#include "entry.h"
#include "stick_int.h"

/* ---- the node's side -------------------------------------------------------------------- */

static int push_log(struct heads *hv, const struct stick_log *l)
{
    if (AM_GROW(hv->h, hv->cap, hv->n + 1, 64) != AM_OK)
        return AM_ENOMEM;
    hv->h[hv->n++] = *l;
    return 0;
}

static int on_log(void *vctx, const struct stick_log *l)
{
    return push_log(vctx, l);
}

static int on_head(void *vctx, const struct sync_head *h)
{
    struct stick_log l;
    memset(&l, 0, sizeof l);
    memcpy(l.log, h->author, AM_PK_LEN);
    memcpy(l.author, h->author, AM_PK_LEN);
    l.first_seq = 1;
    l.seq = h->seq;
    memcpy(l.hash, h->hash, AM_HASH_LEN);
    l.flags = h->flags & 1u ? STICK_LOG_FORKED : 0;
    return push_log(vctx, &l);
}

static int log_cmp(const void *a, const void *b)
{
    return memcmp(((const struct stick_log *)a)->log, ((const struct stick_log *)b)->log,
                  AM_PK_LEN);
}

/* The node's logs, sorted by id (without cfg->logs: sync_store's heads as root logs). */
static int get_heads(const struct ctx *c, struct heads *hv)
{
    size_t k = 0;
    int rc;
    hv->n = 0;
    rc = c->cfg->logs ? c->cfg->logs->each(c->cfg->logs->ctx, on_log, hv)
                      : c->ss->heads(c->ss->ctx, on_head, hv);
    if (rc != AM_OK)
        return rc;
    if (hv->n)
        qsort(hv->h, hv->n, sizeof *hv->h, log_cmp);
    for (size_t i = 0; i < hv->n; i++) /* one row per id */
        if (!k || memcmp(hv->h[k - 1].log, hv->h[i].log, AM_PK_LEN) != 0)
            hv->h[k++] = hv->h[i];
    hv->n = k;
    return AM_OK;
}

static int head_cmp(const void *a, const void *b)
{
    return memcmp(a, ((const struct stick_log *)b)->log, AM_PK_LEN);
}

const struct stick_log *stick_heads_find(const struct heads *hv, const uint8_t *log)
{
    return hv->n ? bsearch(log, hv->h, hv->n, sizeof *hv->h, head_cmp) : NULL;
}

/* Whether a node log is an author's root log. */
static int is_root(const struct stick_log *l)
{
    return memcmp(l->log, l->author, AM_PK_LEN) == 0;
}

struct intr_ctx {
    struct ctx *c;
    int evidence, found;
    uint64_t seq; /* kept entry: the seq wanted */
    int rc;
};

static int add_interest(struct ctx *c, const uint8_t *raw, size_t len, int evidence, int found)
{
    struct entry e;
    struct interest *it;
    if (entry_decode(&e, raw, len) != AM_OK)
        return AM_OK;
    if (c->n_intr >= STICK_FORK_TRACK_MAX)
        return AM_OK;
    if (!c->intr && !(c->intr = calloc(STICK_FORK_TRACK_MAX, sizeof *c->intr)))
        return AM_ENOMEM;
    it = &c->intr[c->n_intr++];
    memcpy(it->author, e.author, AM_PK_LEN);
    it->seq = e.seq;
    entry_hash(&e, it->hash);
    it->evidence = evidence;
    it->found = found;
    return AM_OK;
}

static int on_evidence(void *vctx, const uint8_t *raw, size_t len)
{
    struct intr_ctx *ic = vctx;
    ic->rc = add_interest(ic->c, raw, len, 1, ic->found);
    return ic->rc != AM_OK;
}

static int on_kept(void *vctx, const uint8_t *raw, size_t len)
{
    struct intr_ctx *ic = vctx;
    ic->rc = add_interest(ic->c, raw, len, 0, 0);
    return 1; /* only the entry at the evidence's seq */
}

/* Adds the fork evidence of one author, and the kept entry at each of its seqs, to the
 * entries looked for on the stick (evidence counted as found when `found`: it came from
 * the stick itself). */
static int gather_author_forks(struct ctx *c, const uint8_t *author, int found)
{
    struct intr_ctx ic = {c, 1, found, 0, AM_OK};
    size_t first = c->n_intr, last;
    int rc = c->ss->forks(c->ss->ctx, author, on_evidence, &ic);
    if (rc != AM_OK)
        return rc;
    if (ic.rc != AM_OK)
        return ic.rc;
    last = c->n_intr;
    for (size_t i = first; i < last; i++) {
        int dup = 0;
        for (size_t k = first; k < i; k++)
            if (c->intr[k].seq == c->intr[i].seq)
                dup = 1;
        if (dup)
            continue;
        ic.rc = AM_OK;
        rc = c->ss->entries(c->ss->ctx, author, c->intr[i].seq, on_kept, &ic);
        if (rc != AM_OK)
            return rc;
        if (ic.rc != AM_OK)
            return ic.rc;
    }
    return AM_OK;
}

static void sort_interest(struct ctx *c)
{
    if (c->n_intr)
        qsort(c->intr, c->n_intr, sizeof *c->intr, stick_intr_cmp);
}

/* ---- what the stick holds of a branch ---------------------------------------------------- */

int stick_log_entries(struct ctx *c, const uint8_t *log, uint64_t from,
                      int (*cb)(void *cbctx, const uint8_t *raw, size_t len), void *cbctx)
{
    if (c->cfg->logs)
        return c->cfg->logs->entries(c->cfg->logs->ctx, log, from, cb, cbctx);
    return c->ss->entries(c->ss->ctx, log, from, cb, cbctx);
}

struct hash_at {
    uint64_t seq;
    const uint8_t *hash;
    int same;
};

static int on_hash_at(void *vctx, const uint8_t *raw, size_t len)
{
    struct hash_at *x = vctx;
    x->same = entry_raw_is(raw, len, x->seq, x->hash, AM_HASH_LEN);
    return 1;
}

/* Whether the node's log `l` holds the entry (seq, hash). */
static int log_holds(struct ctx *c, const struct stick_log *l, uint64_t seq, const uint8_t *hash,
                     int *yes)
{
    struct hash_at x = {seq, hash, 0};
    int rc;
    *yes = 0;
    if (seq < l->first_seq || seq > l->seq)
        return AM_OK;
    if (seq == l->seq) {
        *yes = memcmp(l->hash, hash, AM_HASH_LEN) == 0;
        return AM_OK;
    }
    rc = stick_log_entries(c, l->log, seq, on_hash_at, &x);
    *yes = x.same;
    return rc > 0 ? AM_OK : rc;
}

/*
 * What the stick holds of the node's log `l` of a forked author: the largest s (from
 * l->first_seq - 1 up to l->seq) such that the stick holds l's entries from its first seq
 * to s. Each chain the scan found is the ancestry of its last entry: the node's log that
 * holds that entry, and the logs above it up to the chain's first seq, hold the chain's
 * entries. A chain whose last entry the node does not hold counts for nothing (at worst
 * an entry is written again).
 */
static int log_coverage(struct ctx *c, const struct heads *nh, const struct stick_log *l,
                        const struct aitem *a, uint64_t *s)
{
    struct range iv[CHAINS_MAX];
    uint32_t n = 0;
    int grew = 1;
    *s = l->first_seq - 1;
    for (uint32_t i = 0; a && i < a->n_ch; i++) {
        const struct chain *ch = &a->ch[i];
        const struct stick_log *m = NULL;
        uint64_t hi = ch->last;
        /* the node's log holding the chain's last entry: l, or one below it */
        for (size_t k = 0; k < nh->n && !m; k++) {
            int yes;
            int rc;
            if (memcmp(nh->h[k].author, l->author, AM_PK_LEN) != 0)
                continue;
            if ((rc = log_holds(c, &nh->h[k], ch->last, ch->last_hash, &yes)) != AM_OK)
                return rc;
            if (yes)
                m = &nh->h[k];
        }
        /* walk up from m to l: the chain covers l from its first seq to where m parts */
        for (int depth = 0; m && depth <= AM_LOGS_PER_AUTHOR * 4; depth++) {
            if (memcmp(m->log, l->log, AM_PK_LEN) == 0) {
                uint64_t lo = ch->first > l->first_seq ? ch->first : l->first_seq;
                uint64_t top = hi < l->seq ? hi : l->seq;
                if (lo <= top && n < CHAINS_MAX) {
                    iv[n].lo = lo;
                    iv[n++].hi = top;
                }
                break;
            }
            if (ch->first >= m->first_seq || is_root(m))
                break;
            hi = m->first_seq - 1;
            m = stick_heads_find(nh, m->parent);
        }
    }
    while (grew) {
        grew = 0;
        for (uint32_t i = 0; i < n; i++)
            if (iv[i].lo <= *s + 1 && iv[i].hi > *s) {
                *s = iv[i].hi;
                grew = 1;
            }
    }
    return AM_OK;
}

/* ---- sync ------------------------------------------------------------------------------- */

/* Whether this site's newest visit on the stick already says what the node holds now. */
static int site_unchanged(struct ctx *c, const struct heads *nh)
{
    const struct stick_cfg *cfg = c->cfg;
    struct site *s = stick_site_get(c, cfg->install_id, cfg->author, 0);
    const char *name = cfg->name ? cfg->name : "";
    size_t nl = strlen(name) > AM_NAME_MAX ? AM_NAME_MAX : strlen(name);
    uint32_t idx;
    if (!s || strlen(s->v.name) != nl || memcmp(s->v.name, name, nl) != 0)
        return 0; /* as visit_record writes it: at most AM_NAME_MAX bytes */
    for (size_t i = 0; i < nh->n; i++) {
        uint64_t q =
            stick_atab_get(&c->at, nh->h[i].author, 0, &idx) == AM_OK ? stick_site_seq(s, idx) : 0;
        if (is_root(&nh->h[i]) && q != nh->h[i].seq)
            return 0;
    }
    for (size_t i = 0; i < c->at.n; i++)
        if (stick_site_seq(s, (uint32_t)i) != 0 && !stick_heads_find(nh, c->at.it[i].author))
            return 0;
    return 1;
}

/* Cuts each segment a note written now covers back to its readable length. */
static void cut_noted(struct ctx *c)
{
    for (size_t i = 0; i < c->n_files; i++) {
        struct sfile *f = &c->files[i];
        char path[PATH_CAP];
        uint64_t size;
        int fd;
        if (!f->noted)
            continue;
        f->info.state = STICK_SEG_CUT_ACK;
        if (f->foreign || f->info.valid >= f->info.size ||
            stick_join(path, c->dir, f->name) != AM_OK ||
            c->f->open(c->f->ctx, path, STICK_OPEN_WRITE, &fd) != AM_OK)
            continue;
        if (c->f->truncate(c->f->ctx, fd, f->info.valid) == AM_OK)
            c->f->fsync(c->f->ctx, fd);
        c->f->close(c->f->ctx, fd);
        if (stick_file_size(c, f->name, &size) == AM_OK)
            f->info.size = size;
    }
}

static int view_equal(const struct stick_view *a, const struct stick_view *b)
{
    struct buf x = {0}, y = {0};
    int eq = stick_manifest_body(a, &x) == AM_OK && stick_manifest_body(b, &y) == AM_OK &&
             x.len == y.len && memcmp(x.p, y.p, x.len) == 0;
    free(x.p);
    free(y.p);
    return eq;
}

static int write_manifest(struct ctx *c, const struct stick_view *v)
{
    int slot = c->man_slot == 0 ? 1 : 0;
    uint64_t gen = 1;
    char path[PATH_CAP];
    uint8_t *buf = NULL;
    size_t len;
    int fd, rc;

    for (int s = 0; s < 2; s++)
        if (c->slot_ok[s] && c->slot_gen[s] >= gen)
            gen = c->slot_gen[s] + 1;
    rc = stick_manifest_encode(&c->keys, slot ? 'B' : 'A', gen, v, &buf, &len);
    if (rc != AM_OK)
        return rc;
    if (stick_join(path, c->dir,
                   c->slot_present[slot] ? c->slot_file[slot]
                                         : (slot ? STICK_MAN_SLOT_B : STICK_MAN_SLOT_A)) != AM_OK) {
        free(buf);
        return AM_EINVAL;
    }
    rc = c->f->open(c->f->ctx, path, STICK_OPEN_WRITE, &fd);
    if (rc == AM_OK) {
        rc = c->f->write(c->f->ctx, fd, 0, buf, len);
        if (rc == AM_OK)
            rc = c->f->fsync(c->f->ctx, fd);
        c->f->close(c->f->ctx, fd);
    }
    free(buf);
    if (rc != AM_OK)
        return rc;
    c->f->fsync_dir(c->f->ctx, c->dir);
    c->r->manifest_written = 1;
    return AM_OK;
}

static int cmp_log_id(const void *a, const void *b)
{
    return memcmp(a, ((const struct stick_author *)b)->author, AM_PK_LEN);
}

/* Who signs log `a`: its owner, or its own id for a root log (owner all zero). */
static const uint8_t *log_owner(const struct stick_author *a)
{
    static const uint8_t zero[AM_PK_LEN];
    return memcmp(a->owner, zero, AM_PK_LEN) ? a->owner : a->author;
}

/* Whether log `a` is the first one of its owner in the count: its root log, or, when the
 * stick holds no entry of the root, the first of its branches in v's order. */
static int counts_owner(const struct stick_view *v, size_t i)
{
    const struct stick_author *a = &v->authors[i], *root;
    const uint8_t *owner = log_owner(a);
    if (memcmp(owner, a->author, AM_PK_LEN) == 0)
        return 1;
    root = bsearch(owner, v->authors, v->n_authors, sizeof *v->authors, cmp_log_id);
    if (root && root->entries)
        return 0;
    for (size_t k = 0; k < i; k++) /* rare: branches without their root, a few per owner */
        if (v->authors[k].entries && memcmp(log_owner(&v->authors[k]), owner, AM_PK_LEN) == 0)
            return 0;
    return 1;
}

static void report_after(struct ctx *c, const struct stick_view *v)
{
    uint64_t unit;
    c->r->stick_entries = v->entries;
    c->r->stick_authors = 0;
    c->r->stick_logs = 0;
    for (size_t i = 0; i < v->n_authors; i++)
        if (v->authors[i].entries) {
            c->r->stick_logs++;
            c->r->stick_authors += counts_owner(v, i);
        }
    if (c->f->space(c->f->ctx, c->dir, &c->r->free_bytes, &unit) != AM_OK)
        c->r->free_bytes = UINT64_MAX;
    if (c->r->n_damage > 1) {
        size_t n = c->r->n_damage < STICK_DAMAGE_MAX ? (size_t)c->r->n_damage : STICK_DAMAGE_MAX;
        qsort(c->r->damage, n, sizeof *c->r->damage, stick_damage_cmp);
    }
}

int stick_sync(const struct stick_cfg *cfg, const struct sync_store *ss, struct stick_report *r)
{
    struct ctx c;
    struct heads before = {0}, nh = {0};
    struct job *jobs = NULL;
    struct stick_view view = {0};
    size_t nj = 0;
    int rc, writable, site_same;

    rc = stick_ctx_init(&c, cfg, ss, r);
    if (rc != AM_OK)
        goto out;
    if (!ss || !cfg->install_id || !cfg->author) {
        rc = AM_EINVAL;
        goto out;
    }
    writable = !(cfg->flags & STICK_F_NO_WRITE);
    rc = stick_locate(&c, writable && (cfg->flags & STICK_F_CREATE));
    if (rc != AM_OK)
        goto out;
    if ((rc = stick_list_dir(&c)) != AM_OK)
        goto out;
    stick_read_slots(&c);

    /* fork evidence this node holds: the stick must carry it too */
    if ((rc = get_heads(&c, &before)) != AM_OK)
        goto out;
    for (size_t i = 0; i < before.n; i++)
        if ((before.h[i].flags & STICK_LOG_FORKED) && is_root(&before.h[i]) &&
            (rc = gather_author_forks(&c, before.h[i].author, 0)))
            goto out;
    sort_interest(&c);

    /* 1. import: everything the stick holds, verified by the store */
    if ((rc = stick_scan_all(&c)) != AM_OK)
        goto out;
    if ((rc = get_heads(&c, &nh)) != AM_OK)
        goto out;
    if (!writable)
        goto done;
    /* forks found in this import: the evidence came from the stick, the kept entry may
     * not have */
    for (size_t i = 0; i < nh.n; i++) {
        const struct stick_log *b = stick_heads_find(&before, nh.h[i].author);
        if ((nh.h[i].flags & STICK_LOG_FORKED) && is_root(&nh.h[i]) &&
            !(b && (b->flags & STICK_LOG_FORKED)) &&
            (rc = gather_author_forks(&c, nh.h[i].author, 1)) != AM_OK)
            goto out;
    }
    sort_interest(&c);

    /* 2. what the stick lacks */
    if (nh.n && !(jobs = calloc(nh.n, sizeof *jobs))) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nh.n; i++) {
        uint32_t idx;
        int found = stick_atab_get(&c.at, nh.h[i].author, 0, &idx) == AM_OK;
        uint64_t s = found ? c.at.it[idx].head : 0;
        struct job *j;
        if (nh.h[i].flags & STICK_LOG_FORKED) {
            rc = log_coverage(&c, &nh, &nh.h[i], found ? &c.at.it[idx] : NULL, &s);
            if (rc != AM_OK)
                goto out;
        }
        if (nh.h[i].seq <= s)
            continue;
        j = &jobs[nj++];
        memcpy(j->author, nh.h[i].author, AM_PK_LEN);
        memcpy(j->log, nh.h[i].log, AM_PK_LEN);
        j->forked = (nh.h[i].flags & STICK_LOG_FORKED) != 0;
        j->from = j->next = s + 1;
        j->to = nh.h[i].seq;
        for (size_t k = 0; k < cfg->n_first_authors && k < STICK_FIRST_AUTHORS_MAX; k++)
            if (!memcmp(cfg->first_authors + k * AM_PK_LEN, j->author, AM_PK_LEN)) {
                j->rank = (uint32_t)k + 1;
                break;
            }
        for (size_t k = 0; k < c.n_sites && is_root(&nh.h[i]); k++) {
            uint64_t q = stick_atab_get(&c.at, j->author, 0, &idx) == AM_OK
                             ? stick_site_seq(&c.sites[k], idx)
                             : 0;
            if (q < j->to)
                j->behind++;
        }
        r->to_export += j->to - s;
    }
    if (nj)
        qsort(jobs, nj, sizeof *jobs, stick_job_cmp);
    /* a branch goes on the stick after the end of the log it parts from */
    for (size_t i = 0; i < nj; i++) {
        const struct stick_log *l = stick_heads_find(&nh, jobs[i].log);
        for (size_t k = 0; l && !is_root(l) && k < nj; k++)
            if (!memcmp(jobs[k].log, l->parent, AM_PK_LEN))
                jobs[i].parent = &jobs[k];
    }
    site_same = site_unchanged(&c, &nh);
    rc = stick_export_all(&c, &nh, jobs, nj, site_same);
    if (rc != AM_OK)
        goto out;
    for (size_t i = 0; i < nj; i++)
        if (jobs[i].written < jobs[i].to - jobs[i].from + 1) {
            r->unfit_entries += jobs[i].to - jobs[i].from + 1 - jobs[i].written;
            r->unfit_authors++;
        }
    if (r->readonly_why)
        goto done;
    cut_noted(&c);

    /* 3. the manifest, when what it would say changed */
    if ((rc = stick_build_view(&c, &view)) != AM_OK)
        goto out;
    {
        int other = c.man_slot == 0 ? 1 : 0;
        if (c.man_slot < 0 || !view_equal(&view, &c.man) ||
            (c.slot_present[other] && !c.slot_ok[other])) {
            int mrc = write_manifest(&c, &view);
            /* AM_EEXIST: the slot's name holds no file (a link, a pipe; the fops report it
             * as damage): the manifest is a cache, the sync stands without it */
            if (mrc == AM_EFULL)
                r->full = 1;
            else if (mrc != AM_OK && mrc != AM_ELIMIT && mrc != AM_EEXIST) {
                rc = stick_sys_err(&c, mrc);
                goto out;
            }
        }
    }
    report_after(&c, &view);
    rc = AM_OK;
    goto out;
done:
    if ((rc = stick_build_view(&c, &view)) != AM_OK)
        goto out;
    report_after(&c, &view);
    rc = AM_OK;
out:
    r->error = rc;
    stick_view_free(&view);
    free(jobs);
    free(before.h);
    free(nh.h);
    stick_ctx_free(&c);
    return rc;
}

int stick_inspect(const struct stick_cfg *cfg, int force_scan, struct stick_view *v,
                  struct stick_report *r)
{
    struct stick_report local;
    struct ctx c;
    int rc;

    memset(v, 0, sizeof *v);
    if (!r)
        r = &local;
    rc = stick_ctx_init(&c, cfg, NULL, r);
    if (rc != AM_OK)
        goto out;
    if ((rc = stick_locate(&c, 0)) != AM_OK)
        goto out;
    if ((rc = stick_list_dir(&c)) != AM_OK)
        goto out;
    stick_read_slots(&c);
    if (!force_scan && c.man_slot >= 0 && c.man.n_segs == c.n_files) {
        int same = 1;
        for (size_t i = 0; i < c.n_files && same; i++)
            same = c.man.segs[i].number == c.files[i].info.number &&
                   c.man.segs[i].size == c.files[i].info.size;
        if (same) {
            *v = c.man;
            memset(&c.man, 0, sizeof c.man);
            report_after(&c, v);
            goto out;
        }
    }
    if ((rc = stick_scan_all(&c)) != AM_OK)
        goto out;
    if ((rc = stick_build_view(&c, v)) != AM_OK)
        goto out;
    v->generation = c.man_slot >= 0 ? c.slot_gen[c.man_slot] : 0;
    report_after(&c, v);
out:
    r->error = rc;
    stick_ctx_free(&c);
    return rc;
}
