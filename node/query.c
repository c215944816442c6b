/*
 * query.c: the read model (query.h). Every row is parsed from a view of one store
 * snapshot; arrays handed out are owned by the query and freed at query_close.
 *
 * Must never: sort or filter needs by another order than query_need_cmp, read outside its
 * snapshot, or hand out a pointer that outlives the query.
 */
#include "query.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "am_err.h"
#include "am_grow.h"
#include "entry.h"
#include "hlc.h"
#include "mp.h"

#define MS_PER_DAY 86400000ULL

struct query {
    struct store *s;
    struct store_snap *sn;
    uint64_t now_ms;
    uint32_t today;
    void **owned; /* every array handed out, freed at close */
    size_t n_owned, cap_owned;
    struct relief_node_site *sites;
    size_t n_sites;
    struct relief_node_item *items;
    size_t n_items;
    int names_loaded;
    uint8_t *forked; /* sorted author ids with fork evidence */
    size_t n_forked;
    int forked_loaded;
    void *ships;  /* query_ship.c: the shipments, read once */
    void *packs;  /* query_pack.c: the packs of items, read once */
    void *lnames; /* query_name.c: the names of items per language, read once */
};

static int own(struct query *q, void *p)
{
    if (!p)
        return AM_OK;
    if (AM_GROW(q->owned, q->cap_owned, q->n_owned + 1, 8) != AM_OK) {
        free(p);
        return AM_ENOMEM;
    }
    q->owned[q->n_owned++] = p;
    return AM_OK;
}

int query_open(struct store *s, uint64_t now_ms, struct query **out)
{
    struct query *q = calloc(1, sizeof *q);
    int rc;
    *out = NULL;
    if (!q)
        return AM_ENOMEM;
    if (!now_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    }
    q->s = s;
    q->now_ms = now_ms;
    q->today = (uint32_t)(now_ms / MS_PER_DAY);
    if ((rc = store_snap_begin(s, &q->sn)) != AM_OK) {
        free(q);
        return rc;
    }
    *out = q;
    return AM_OK;
}

void query_close(struct query *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n_owned; i++)
        free(q->owned[i]);
    free(q->owned);
    free(q->sites);
    free(q->items);
    free(q->forked);
    store_snap_end(q->sn);
    free(q);
}

int query_keep(struct query *q, void *p)
{
    return own(q, p);
}

void **query_ship_cache(struct query *q)
{
    return &q->ships;
}

void **query_pack_cache(struct query *q)
{
    return &q->packs;
}

void **query_name_cache(struct query *q)
{
    return &q->lnames;
}

uint32_t query_today(const struct query *q)
{
    return q->today;
}

uint64_t query_now_ms(const struct query *q)
{
    return q->now_ms;
}

struct store_snap *query_snap(struct query *q)
{
    return q->sn;
}

const char *query_reg_text(const struct relief_node_reg *r, size_t *len)
{
    if (r->n_heads && r->set && r->s) {
        *len = r->len;
        return r->s;
    }
    *len = 0;
    return "";
}

static int forked_any(struct query *q);
static int obj_forked(struct query *q, const struct relief_key *k);

/* ---- needs ---- */

int query_need_cmp(const struct query_need *x, const struct query_need *y)
{
    int px = x->pri ? x->pri : RELIEF_PRI_LOW + 1, py = y->pri ? y->pri : RELIEF_PRI_LOW + 1;
    uint32_t bx = x->by ? x->by : UINT32_MAX, by = y->by ? y->by : UINT32_MAX;
    if (px != py)
        return px < py ? -1 : 1;
    if (bx != by)
        return bx < by ? -1 : 1;
    if (x->v.open_hlc != y->v.open_hlc)
        return x->v.open_hlc < y->v.open_hlc ? -1 : 1;
    return memcmp(x->v.id, y->v.id, RELIEF_ID_LEN);
}

static int need_qsort_cmp(const void *a, const void *b)
{
    return query_need_cmp(a, b);
}

static int fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* 1 when s[0..n) holds `t` (ASCII letters of either case match). */
static int holds(const char *s, size_t n, const char *t)
{
    size_t tl = strlen(t);
    if (tl > n)
        return 0;
    for (size_t i = 0; i + tl <= n; i++) {
        size_t k = 0;
        while (k < tl && fold((unsigned char)s[i + k]) == fold((unsigned char)t[k]))
            k++;
        if (k == tl)
            return 1;
    }
    return 0;
}

static void need_fill(struct query *q, struct query_need *w, unsigned digits)
{
    const struct relief_node_need *v = &w->v;
    w->digits = digits ? digits : RELIEF_ID_SHORT_MIN;
    w->pri = v->pri.n_heads ? (int)v->pri.i : 0;
    w->by = v->by.n_heads && v->by.set ? (uint32_t)v->by.i : 0;
    w->q = v->q.n_heads ? v->q.i : 0;
    w->conflict = relief_node_need_conflict(v);
    w->late = v->status == RELIEF_ST_OPEN && w->by && w->by < q->today;
    w->over = v->q.n_heads && v->delivered > w->q;
    w->by_past = w->by && w->by < hlc_ms(v->by.win_hlc) / MS_PER_DAY;
    /* the views name an op by its log (PROTOCOL.md 10.8.5): people see its author */
    if (v->opened)
        store_snap_log_author(q->sn, w->v.open_ref.author, w->v.open_ref.author);
}

void query_author_of(struct query *q, const uint8_t id[static AM_PK_LEN],
                     uint8_t author[static AM_PK_LEN])
{
    store_snap_log_author(q->sn, id, author);
}

/* ---- needs: the dup check ---- */

/* An open need, as the dup check sees it. */
struct open_need {
    char site[RELIEF_SLUG_MAX + 1], item[RELIEF_SLUG_MAX + 1];
    uint64_t hlc;
    uint8_t id[RELIEF_ID_LEN];
};

struct open_acc {
    const char *item; /* NULL: any */
    struct open_need *v;
    size_t n, cap;
};

static int open_need_cmp(const void *a, const void *b)
{
    const struct open_need *x = a, *y = b;
    int c;
    if ((c = strcmp(x->site, y->site)) != 0 || (c = strcmp(x->item, y->item)) != 0)
        return c;
    if (x->hlc != y->hlc)
        return x->hlc < y->hlc ? -1 : 1;
    return memcmp(x->id, y->id, RELIEF_ID_LEN);
}

static int open_push(struct open_acc *a, const struct relief_node_need *v)
{
    struct open_need *o;
    if (!v->opened || v->status != RELIEF_ST_OPEN || (a->item && strcmp(a->item, v->item) != 0))
        return AM_OK;
    if (AM_GROW(a->v, a->cap, a->n + 1, 32) != AM_OK)
        return AM_ENOMEM;
    o = &a->v[a->n++];
    memcpy(o->site, v->site, sizeof o->site);
    memcpy(o->item, v->item, sizeof o->item);
    o->hlc = v->open_hlc;
    memcpy(o->id, v->id, RELIEF_ID_LEN);
    return AM_OK;
}

static int open_add(void *ctx, const struct store_view_row *r)
{
    struct relief_node_need v;
    if (relief_node_need_parse(r->view, r->view_len, &v) != AM_OK)
        return AM_ECORRUPT;
    return open_push(ctx, &v);
}

/*
 * Marks rows[0..n) that are open needs opened less than QUERY_DUP_MS after another open need
 * of the same site and item (dup, dup_of: the nearest earlier one). `complete`: rows hold
 * every open need of the sites and items they show (a filter of site, item and status only),
 * so no second read is needed; else the open needs of `site` (NULL: all) and `item` are read.
 */
static int needs_mark_dups(struct query *q, struct query_need *rows, size_t n, int complete,
                           const char *site, const char *item)
{
    struct open_acc a = {item, NULL, 0, 0};
    int rc = AM_OK;
    size_t open = 0;

    for (size_t i = 0; i < n; i++)
        open += rows[i].v.opened && rows[i].v.status == RELIEF_ST_OPEN;
    if (open < 1 || (complete && open < 2))
        return AM_OK;
    if (complete) {
        for (size_t i = 0; i < n && rc == AM_OK; i++)
            rc = open_push(&a, &rows[i].v);
    } else {
        rc = store_snap_needs_each(q->sn, site, RELIEF_ST_OPEN, open_add, &a);
    }
    if (rc == AM_OK && a.n > 1) {
        qsort(a.v, a.n, sizeof *a.v, open_need_cmp);
        for (size_t i = 0; i < n; i++) {
            struct query_need *w = &rows[i];
            struct open_need k, *at;
            if (!w->v.opened || w->v.status != RELIEF_ST_OPEN)
                continue;
            memcpy(k.site, w->v.site, sizeof k.site);
            memcpy(k.item, w->v.item, sizeof k.item);
            k.hlc = w->v.open_hlc;
            memcpy(k.id, w->v.id, RELIEF_ID_LEN);
            at = bsearch(&k, a.v, a.n, sizeof k, open_need_cmp);
            if (!at || at == a.v)
                continue;
            if (!strcmp(at[-1].site, k.site) && !strcmp(at[-1].item, k.item) &&
                hlc_ms(k.hlc) - hlc_ms(at[-1].hlc) < QUERY_DUP_MS) {
                w->dup = 1;
                memcpy(w->dup_of, at[-1].id, RELIEF_ID_LEN);
            }
        }
    }
    free(a.v);
    return rc;
}

static int need_matches(const struct query_need *w, const struct query_need_filter *f)
{
    const struct relief_node_need *v = &w->v;
    if (!f)
        return 1;
    if (f->item && strcmp(v->item, f->item) != 0)
        return 0;
    if (f->priority && w->pri != f->priority)
        return 0;
    if (f->author && (!v->opened || memcmp(v->open_ref.author, f->author, AM_PK_LEN) != 0))
        return 0;
    if (f->text && f->text[0]) {
        size_t nl;
        const char *note = query_reg_text(&v->note, &nl);
        if (!holds(note, nl, f->text) && !holds(v->site, strlen(v->site), f->text) &&
            !holds(v->item, strlen(v->item), f->text))
            return 0;
    }
    return 1;
}

struct need_acc {
    struct query *q;
    const struct query_need_filter *f;
    struct query_need *v;
    size_t n, cap;
};

static int need_add(void *ctx, const struct store_view_row *r)
{
    struct need_acc *a = ctx;
    struct query_need w;
    memset(&w, 0, sizeof w);
    if (relief_node_need_parse(r->view, r->view_len, &w.v) != AM_OK)
        return AM_ECORRUPT;
    need_fill(a->q, &w, r->id_digits);
    if (!need_matches(&w, a->f))
        return 0;
    if (AM_GROW(a->v, a->cap, a->n + 1, 32) != AM_OK)
        return AM_ENOMEM;
    a->v[a->n++] = w;
    return 0;
}

int query_needs(struct query *q, const struct query_need_filter *f, const struct query_need **rows,
                size_t *n)
{
    struct need_acc a = {q, f, NULL, 0, 0};
    int rc = store_snap_needs_each(q->sn, f ? f->site : NULL, f ? f->status : 0, need_add, &a);
    *rows = NULL;
    *n = 0;
    if (rc != AM_OK) {
        free(a.v);
        return rc;
    }
    if (a.n > 1)
        qsort(a.v, a.n, sizeof *a.v, need_qsort_cmp);
    rc =
        needs_mark_dups(q, a.v, a.n, !f || (!f->priority && !f->author && !(f->text && f->text[0])),
                        f ? f->site : NULL, f ? f->item : NULL);
    if (rc != AM_OK) {
        free(a.v);
        return rc;
    }
    if (forked_any(q))
        for (size_t i = 0; i < a.n; i++) {
            struct relief_key k = {.kind = RELIEF_OBJ_NEED};
            memcpy(k.need, a.v[i].v.id, RELIEF_ID_LEN);
            a.v[i].forked = obj_forked(q, &k);
        }
    if ((rc = own(q, a.v)) != AM_OK)
        return rc;
    *rows = a.v;
    *n = a.n;
    return AM_OK;
}

/* ---- needs: a page of them ---- */

struct page_acc {
    struct query *q;
    const struct query_need_filter *f;
    size_t limit, total, n;
    struct query_need *v;
};

static int page_add(void *ctx, const uint8_t id[RELIEF_ID_LEN], const char *site, const char *item)
{
    struct page_acc *a = ctx;
    struct relief_key k = {.kind = RELIEF_OBJ_NEED};
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl, vl;
    const uint8_t *v;
    struct query_need *w = &a->v[a->n];
    int rc;

    if ((a->f->site && strcmp(site, a->f->site) != 0) ||
        (a->f->item && strcmp(item, a->f->item) != 0) || a->total++ >= a->limit)
        return 0;
    memcpy(k.need, id, RELIEF_ID_LEN);
    if (relief_key_encode(&k, kb, &kl) != AM_OK)
        return AM_ECORRUPT;
    if ((rc = store_snap_view(a->q->sn, kb, kl, &v, &vl)) != AM_OK)
        return rc == AM_ENOTFOUND ? AM_ECORRUPT : rc; /* an index entry without its view */
    memset(w, 0, sizeof *w);
    if (relief_node_need_parse(v, vl, &w->v) != AM_OK)
        return AM_ECORRUPT;
    need_fill(a->q, w, store_snap_need_digits(a->q->sn, id));
    a->n++;
    return 0;
}

/* The dup check of query_needs for open rows, one index lookup each. */
static int page_dups(struct query *q, struct query_need *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct query_need *w = &rows[i];
        uint64_t ph;
        uint8_t pid[RELIEF_ID_LEN];
        int rc;
        if (!w->v.opened || w->v.status != RELIEF_ST_OPEN)
            continue;
        rc = store_snap_need_open_before(q->sn, w->v.site, w->v.item, w->v.open_hlc, w->v.id, &ph,
                                         pid);
        if (rc == AM_ENOTFOUND)
            continue;
        if (rc != AM_OK)
            return rc;
        if (hlc_ms(w->v.open_hlc) - hlc_ms(ph) < QUERY_DUP_MS) {
            w->dup = 1;
            memcpy(w->dup_of, pid, RELIEF_ID_LEN);
        }
    }
    return AM_OK;
}

int query_needs_page(struct query *q, const struct query_need_filter *f, size_t limit,
                     const struct query_need **rows, size_t *n, size_t *total)
{
    struct page_acc a = {q, f, limit, 0, 0, NULL};
    int rc = AM_ESTATE;

    *rows = NULL;
    *n = *total = 0;
    if (f && f->status && !f->author && !(f->text && f->text[0]) && limit <= QUERY_PAGE_MAX) {
        if (!(a.v = calloc(limit ? limit : 1, sizeof *a.v)))
            return AM_ENOMEM;
        rc = store_snap_needs_ordered_each(q->sn, f->status, f->priority, page_add, &a);
        if (rc == AM_OK)
            rc = page_dups(q, a.v, a.n);
        if (rc == AM_OK && forked_any(q))
            for (size_t i = 0; i < a.n; i++) {
                struct relief_key k = {.kind = RELIEF_OBJ_NEED};
                memcpy(k.need, a.v[i].v.id, RELIEF_ID_LEN);
                a.v[i].forked = obj_forked(q, &k);
            }
        if (rc != AM_OK)
            free(a.v);
        else if ((rc = own(q, a.v)) == AM_OK) {
            *rows = a.v;
            *n = a.n;
            *total = a.total;
        }
    }
    if (rc != AM_ESTATE)
        return rc;
    /* a filter the index cannot serve, or views without it: every need is read */
    if ((rc = query_needs(q, f, rows, total)) == AM_OK)
        *n = *total < limit ? *total : limit;
    return rc;
}

int query_need(struct query *q, const uint8_t id[static RELIEF_ID_LEN],
               const struct query_need **row)
{
    struct relief_key k = {.kind = RELIEF_OBJ_NEED};
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl, vl;
    const uint8_t *v;
    struct query_need *w;
    int rc;

    *row = NULL;
    memcpy(k.need, id, RELIEF_ID_LEN);
    if (relief_key_encode(&k, kb, &kl) != AM_OK)
        return AM_EINVAL;
    if ((rc = store_snap_view(q->sn, kb, kl, &v, &vl)) != AM_OK)
        return rc;
    if (!(w = calloc(1, sizeof *w)))
        return AM_ENOMEM;
    if (relief_node_need_parse(v, vl, &w->v) != AM_OK) {
        free(w);
        return AM_ECORRUPT;
    }
    need_fill(q, w, store_snap_need_digits(q->sn, id));
    w->forked = forked_any(q) && obj_forked(q, &k);
    if (w->v.opened && w->v.status == RELIEF_ST_OPEN &&
        (rc = needs_mark_dups(q, w, 1, 0, w->v.site, w->v.item)) != AM_OK) {
        free(w);
        return rc;
    }
    if ((rc = own(q, w)) != AM_OK)
        return rc;
    *row = w;
    return AM_OK;
}

int query_need_find(struct query *q, const char *hex, uint8_t id[static RELIEF_ID_LEN],
                    unsigned *matches)
{
    return store_snap_need_find(q->sn, hex, id, matches);
}

/* ---- stock cells ---- */

static void cell_fill(struct query *q, struct query_cell *w)
{
    const struct relief_node_cell *v = &w->v;
    unsigned fl = 0;
    if (v->overdrawn)
        fl |= QUERY_CELL_OVERDRAWN;
    if (v->count_conflict)
        fl |= QUERY_CELL_CONFLICT;
    if (v->exp && v->exp <= q->today)
        fl |= QUERY_CELL_EXPIRED;
    else if (v->exp && v->exp <= (uint64_t)q->today + QUERY_EXPIRING_DAYS)
        fl |= QUERY_CELL_EXPIRING;
    if (v->n_audit)
        fl |= QUERY_CELL_CHECK;
    if (v->saturated)
        fl |= QUERY_CELL_SATURATED;
    w->flags = fl;
    w->days_left = v->exp ? (int64_t)v->exp - (int64_t)q->today : 0;
}

/* Site, item, lot (alphabetical: the store's keys put a code's length first), expiry. */
static int cell_qsort_cmp(const void *a, const void *b)
{
    const struct relief_node_cell *x = &((const struct query_cell *)a)->v;
    const struct relief_node_cell *y = &((const struct query_cell *)b)->v;
    int c;
    if ((c = strcmp(x->site, y->site)) != 0 || (c = strcmp(x->item, y->item)) != 0 ||
        (c = strcmp(x->lot, y->lot)) != 0)
        return c;
    return x->exp < y->exp ? -1 : x->exp > y->exp;
}

static int cell_forked(struct query *q, const struct relief_node_cell *c)
{
    struct relief_key k = {.kind = RELIEF_OBJ_CELL, .exp = c->exp};
    memcpy(k.site, c->site, sizeof k.site);
    memcpy(k.item, c->item, sizeof k.item);
    memcpy(k.lot, c->lot, sizeof k.lot);
    return obj_forked(q, &k);
}

struct cell_acc {
    struct query *q;
    struct query_cell *v;
    size_t n, cap;
};

static int cell_add(void *ctx, const struct store_view_row *r)
{
    struct cell_acc *a = ctx;
    struct query_cell w;
    memset(&w, 0, sizeof w);
    if (relief_node_cell_parse(r->view, r->view_len, &w.v) != AM_OK)
        return AM_ECORRUPT;
    cell_fill(a->q, &w);
    if (AM_GROW(a->v, a->cap, a->n + 1, 64) != AM_OK)
        return AM_ENOMEM;
    a->v[a->n++] = w;
    return 0;
}

/* ---- minimum levels ---- */

struct min_acc {
    const char *item; /* NULL: any */
    struct relief_node_min *v;
    size_t n, cap;
};

static int min_add(void *ctx, const struct store_view_row *r)
{
    struct min_acc *a = ctx;
    struct relief_node_min m;
    if (relief_node_min_parse(r->view, r->view_len, &m) != AM_OK)
        return AM_ECORRUPT;
    if (a->item && strcmp(a->item, m.item) != 0)
        return 0;
    if (AM_GROW(a->v, a->cap, a->n + 1, 16) != AM_OK)
        return AM_ENOMEM;
    a->v[a->n++] = m;
    return 0;
}

static int min_cmp(const void *a, const void *b)
{
    const struct relief_node_min *x = a, *y = b;
    int c = strcmp(x->site, y->site);
    return c ? c : strcmp(x->item, y->item);
}

/* Appends len(str) || str (a key's length-prefixed code, relief_key_encode). */
static void put_lp(uint8_t *out, size_t *o, const char *str)
{
    size_t n = strlen(str);
    out[(*o)++] = (uint8_t)n;
    memcpy(out + *o, str, n);
    *o += n;
}

/* The minimum levels of `site` and `item` (NULL: any), by site then item, into a->v (the
 * caller frees it). Their views point into the snapshot. */
static int mins_load(struct query *q, const char *site, const char *item, struct min_acc *a)
{
    uint8_t prefix[2 + 2 * RELIEF_SLUG_MAX];
    size_t plen = 0;
    int rc;

    a->item = item;
    prefix[plen++] = RELIEF_OBJ_MIN;
    if (site && strlen(site) <= RELIEF_SLUG_MAX) {
        put_lp(prefix, &plen, site);
        if (item && strlen(item) <= RELIEF_SLUG_MAX)
            put_lp(prefix, &plen, item);
    }
    rc = store_snap_views_each(q->sn, prefix, plen, min_add, a);
    if (rc == AM_OK && a->n > 1)
        qsort(a->v, a->n, sizeof *a->v, min_cmp);
    return rc;
}

static int64_t min_value(const struct relief_node_min *m)
{
    return m && m->q.n_heads && m->q.set && m->q.i > 0 ? m->q.i : 0;
}

/* a + b, clamped to int64; *sat set when clamped. */
static int64_t add_clamped(int64_t a, int64_t b, int *sat)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) {
        *sat = 1;
        return b > 0 ? INT64_MAX : INT64_MIN;
    }
    return r;
}

/* Every cell of `site` and `item` (NULL: any), sorted, each with its (site, item)'s sum over
 * every lot and minimum level (QUERY_CELL_BELOW_MIN). a->v is the caller's to free. */
static int cells_collect(struct query *q, const char *site, const char *item, struct cell_acc *a,
                         struct min_acc *m)
{
    int rc = store_snap_cells_each(q->sn, site, item, cell_add, a);
    if (rc == AM_OK)
        rc = mins_load(q, site, item, m);
    if (rc != AM_OK)
        return rc;
    if (a->n > 1)
        qsort(a->v, a->n, sizeof *a->v, cell_qsort_cmp);
    for (size_t i = 0, j; i < a->n; i = j) {
        struct relief_node_min key, *mn = NULL;
        int64_t held = 0, min;
        int sat = 0;
        for (j = i; j < a->n && !strcmp(a->v[j].v.site, a->v[i].v.site) &&
                    !strcmp(a->v[j].v.item, a->v[i].v.item);
             j++)
            held = add_clamped(held, a->v[j].v.value, &sat);
        if (m->n) {
            memcpy(key.site, a->v[i].v.site, sizeof key.site);
            memcpy(key.item, a->v[i].v.item, sizeof key.item);
            mn = bsearch(&key, m->v, m->n, sizeof key, min_cmp);
        }
        min = min_value(mn);
        for (size_t k = i; k < j; k++) {
            a->v[k].held = held;
            a->v[k].min = min;
            if (min > 0 && held < min)
                a->v[k].flags |= QUERY_CELL_BELOW_MIN;
        }
    }
    return AM_OK;
}

int query_cells(struct query *q, const struct query_cell_filter *f, const struct query_cell **rows,
                size_t *n)
{
    struct cell_acc a = {q, NULL, 0, 0};
    struct min_acc m = {0};
    size_t k = 0;
    int rc = cells_collect(q, f ? f->site : NULL, f ? f->item : NULL, &a, &m);
    *rows = NULL;
    *n = 0;
    free(m.v);
    if (rc != AM_OK) {
        free(a.v);
        return rc;
    }
    for (size_t i = 0; i < a.n; i++) {
        const struct query_cell *w = &a.v[i];
        if (f && f->flags && !(w->flags & f->flags))
            continue;
        if (f && f->nonzero && w->v.value == 0 &&
            !(w->flags & (QUERY_CELL_OVERDRAWN | QUERY_CELL_CONFLICT | QUERY_CELL_CHECK)))
            continue;
        a.v[k++] = *w;
    }
    a.n = k;
    if (forked_any(q))
        for (size_t i = 0; i < a.n; i++)
            a.v[i].forked = cell_forked(q, &a.v[i].v);
    if ((rc = own(q, a.v)) != AM_OK)
        return rc;
    *rows = a.v;
    *n = a.n;
    return AM_OK;
}

int query_levels(struct query *q, const char *site, const char *item,
                 const struct query_level **rows, size_t *n)
{
    struct cell_acc a = {q, NULL, 0, 0};
    struct min_acc m = {0};
    struct query_level *v = NULL;
    size_t nv = 0, cap = 0, i = 0, k = 0;
    int rc = cells_collect(q, site, item, &a, &m);

    *rows = NULL;
    *n = 0;
    /* merge the groups of cells and the minimum levels, both by site then item */
    while (rc == AM_OK && (i < a.n || k < m.n)) {
        struct query_level *l;
        struct relief_node_min key;
        int c;
        if (i < a.n) {
            memcpy(key.site, a.v[i].v.site, sizeof key.site);
            memcpy(key.item, a.v[i].v.item, sizeof key.item);
        }
        c = i >= a.n ? 1 : k >= m.n ? -1 : min_cmp(&key, &m.v[k]);
        if (AM_GROW(v, cap, nv + 1, 32) != AM_OK) {
            rc = AM_ENOMEM;
            break;
        }
        l = &v[nv++];
        memset(l, 0, sizeof *l);
        if (c <= 0) {
            memcpy(l->site, key.site, sizeof l->site);
            memcpy(l->item, key.item, sizeof l->item);
            l->held = a.v[i].held;
            l->min = a.v[i].min;
            for (; i < a.n && !strcmp(a.v[i].v.site, l->site) && !strcmp(a.v[i].v.item, l->item);
                 i++) {
                unsigned fl = a.v[i].flags;
                l->n_cells++;
                l->overdrawn |= (fl & QUERY_CELL_OVERDRAWN) != 0;
                l->saturated |= (fl & QUERY_CELL_SATURATED) != 0 || l->held == INT64_MAX ||
                                l->held == INT64_MIN;
                l->expired |= (fl & QUERY_CELL_EXPIRED) && a.v[i].v.value > 0;
                l->expiring |= (fl & QUERY_CELL_EXPIRING) && a.v[i].v.value > 0;
            }
        } else {
            memcpy(l->site, m.v[k].site, sizeof l->site);
            memcpy(l->item, m.v[k].item, sizeof l->item);
            l->min = min_value(&m.v[k]);
        }
        if (c >= 0) {
            l->reg = m.v[k].q;
            k++;
        }
        l->below = l->min > 0 && l->held < l->min;
    }
    free(a.v);
    free(m.v);
    if (rc == AM_OK)
        rc = own(q, v);
    else
        free(v);
    if (rc != AM_OK)
        return rc;
    *rows = v;
    *n = nv;
    return AM_OK;
}

int query_level(struct query *q, const char *site, const char *item, const struct query_level **row)
{
    size_t n;
    int rc = query_levels(q, site, item, row, &n);
    if (rc == AM_OK && n == 0) {
        *row = NULL;
        return AM_ENOTFOUND;
    }
    return rc;
}

int query_below_min(struct query *q, const char *site, const char *item,
                    const struct query_level **rows, size_t *n)
{
    struct min_acc m = {0};
    struct query_level *v = NULL;
    size_t nv = 0, cap = 0;
    int rc = mins_load(q, site, item, &m);

    *rows = NULL;
    *n = 0;
    for (size_t i = 0; rc == AM_OK && i < m.n; i++) {
        const struct query_level *l;
        if (!min_value(&m.v[i]))
            continue;
        if ((rc = query_level(q, m.v[i].site, m.v[i].item, &l)) != AM_OK || !l->below)
            continue;
        if (AM_GROW(v, cap, nv + 1, 16) != AM_OK)
            rc = AM_ENOMEM;
        else
            v[nv++] = *l;
    }
    free(m.v);
    if (rc == AM_OK)
        rc = own(q, v);
    else
        free(v);
    if (rc != AM_OK)
        return rc;
    *rows = v;
    *n = nv;
    return AM_OK;
}

static int level_item_cmp(const void *a, const void *b)
{
    const struct query_level *x = *(const struct query_level *const *)a;
    const struct query_level *y = *(const struct query_level *const *)b;
    int c = strcmp(x->item, y->item);
    return c ? c : strcmp(x->site, y->site);
}

int query_totals(struct query *q, const char *item, const struct query_total **rows, size_t *n)
{
    const struct query_level *lv, **order;
    struct query_total *v = NULL;
    size_t nl, nv = 0, cap = 0;
    int rc = query_levels(q, NULL, item, &lv, &nl);

    *rows = NULL;
    *n = 0;
    if (rc != AM_OK)
        return rc;
    if (!(order = malloc((nl ? nl : 1) * sizeof *order)))
        return AM_ENOMEM;
    for (size_t i = 0; i < nl; i++)
        order[i] = &lv[i];
    if (nl > 1)
        qsort(order, nl, sizeof *order, level_item_cmp);
    for (size_t i = 0; i < nl; i++) {
        const struct query_level *l = order[i];
        struct query_total *t;
        if (!nv || strcmp(v[nv - 1].item, l->item) != 0) {
            if (AM_GROW(v, cap, nv + 1, 32) != AM_OK) {
                free(v);
                free(order);
                return AM_ENOMEM;
            }
            t = &v[nv++];
            memset(t, 0, sizeof *t);
            memcpy(t->item, l->item, sizeof t->item);
        }
        t = &v[nv - 1];
        t->held = add_clamped(t->held, l->held, &t->saturated);
        t->saturated |= l->saturated;
        t->sites++;
        t->below_min += (uint32_t)l->below;
        t->overdrawn += (uint32_t)l->overdrawn;
        t->expiring += (uint32_t)l->expiring;
        t->expired += (uint32_t)l->expired;
    }
    free(order);
    if ((rc = own(q, v)) != AM_OK)
        return rc;
    *rows = v;
    *n = nv;
    return AM_OK;
}

/* FEFO order: soonest expiry first, no expiry last, then lot code. */
static int fefo_cmp(const void *a, const void *b)
{
    const struct query_cell *x = *(const struct query_cell *const *)a;
    const struct query_cell *y = *(const struct query_cell *const *)b;
    uint32_t ex = x->v.exp ? x->v.exp : UINT32_MAX, ey = y->v.exp ? y->v.exp : UINT32_MAX;
    if (ex != ey)
        return ex < ey ? -1 : 1;
    return strcmp(x->v.lot, y->v.lot);
}

int query_fefo(struct query *q, const char *site, const char *item, int reason, int64_t qty,
               struct query_take *out, size_t cap, size_t *n, int64_t *short_by)
{
    struct query_cell_filter f = {.site = site, .item = item};
    const struct query_cell *rows, **order;
    size_t nr, k = 0;
    int rc = query_cells(q, &f, &rows, &nr);

    *n = 0;
    *short_by = qty;
    if (rc != AM_OK)
        return rc;
    if (!(order = malloc((nr ? nr : 1) * sizeof *order)))
        return AM_ENOMEM;
    for (size_t i = 0; i < nr; i++) {
        int expired = (rows[i].flags & QUERY_CELL_EXPIRED) != 0;
        if (rows[i].v.value > 0 && expired == (reason == RELIEF_R_EXPIRED))
            order[k++] = &rows[i];
    }
    if (k > 1)
        qsort(order, k, sizeof *order, fefo_cmp);
    for (size_t i = 0; i<k && * short_by> 0 && *n < cap; i++) {
        struct query_take *t = &out[(*n)++];
        int64_t take = order[i]->v.value < *short_by ? order[i]->v.value : *short_by;
        memcpy(t->lot, order[i]->v.lot, sizeof t->lot);
        t->exp = order[i]->v.exp;
        t->qty = take;
        t->had = order[i]->v.value;
        *short_by -= take;
    }
    free(order);
    return AM_OK;
}

int query_cell(struct query *q, const char *site, const char *item, const char *lot, uint32_t exp,
               const struct query_cell **row)
{
    struct relief_key k = {.kind = RELIEF_OBJ_CELL, .exp = exp};
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl, vl;
    const uint8_t *v;
    struct query_cell *w;
    int rc;

    *row = NULL;
    if (strlen(site) > RELIEF_SLUG_MAX || strlen(item) > RELIEF_SLUG_MAX ||
        strlen(lot) > RELIEF_SLUG_MAX)
        return AM_ENOTFOUND;
    memcpy(k.site, site, strlen(site) + 1);
    memcpy(k.item, item, strlen(item) + 1);
    memcpy(k.lot, lot, strlen(lot) + 1);
    if (relief_key_encode(&k, kb, &kl) != AM_OK)
        return AM_ENOTFOUND;
    if ((rc = store_snap_view(q->sn, kb, kl, &v, &vl)) != AM_OK)
        return rc;
    if (!(w = calloc(1, sizeof *w)))
        return AM_ENOMEM;
    if (relief_node_cell_parse(v, vl, &w->v) != AM_OK) {
        free(w);
        return AM_ECORRUPT;
    }
    cell_fill(q, w);
    w->forked = forked_any(q) && obj_forked(q, &k);
    {
        const struct query_level *l;
        if ((rc = query_level(q, site, item, &l)) == AM_OK) {
            w->held = l->held;
            w->min = l->min;
            if (l->below)
                w->flags |= QUERY_CELL_BELOW_MIN;
        } else if (rc != AM_ENOTFOUND) {
            free(w);
            return rc;
        }
    }
    if ((rc = own(q, w)) != AM_OK)
        return rc;
    *row = w;
    return AM_OK;
}

/* ---- sites and items ---- */

struct names_acc {
    struct query *q;
    size_t cap;
    int items;
};

static int name_add(void *ctx, const struct store_view_row *r)
{
    struct names_acc *a = ctx;
    struct query *q = a->q;
    if (a->items) {
        if (AM_GROW(q->items, a->cap, q->n_items + 1, 32) != AM_OK)
            return AM_ENOMEM;
        if (relief_node_item_parse(r->view, r->view_len, &q->items[q->n_items]) != AM_OK)
            return AM_ECORRUPT;
        q->n_items++;
    } else {
        if (AM_GROW(q->sites, a->cap, q->n_sites + 1, 32) != AM_OK)
            return AM_ENOMEM;
        if (relief_node_site_parse(r->view, r->view_len, &q->sites[q->n_sites]) != AM_OK)
            return AM_ECORRUPT;
        q->n_sites++;
    }
    return 0;
}

static int site_cmp(const void *a, const void *b)
{
    return strcmp(((const struct relief_node_site *)a)->slug,
                  ((const struct relief_node_site *)b)->slug);
}

static int item_cmp(const void *a, const void *b)
{
    return strcmp(((const struct relief_node_item *)a)->code,
                  ((const struct relief_node_item *)b)->code);
}

static int names_load(struct query *q)
{
    uint8_t prefix;
    struct names_acc a = {q, 0, 0};
    int rc;
    if (q->names_loaded)
        return q->names_loaded < 0 ? AM_ECORRUPT : AM_OK;
    prefix = RELIEF_OBJ_SITE;
    rc = store_snap_views_each(q->sn, &prefix, 1, name_add, &a);
    if (rc == AM_OK) {
        a.items = 1;
        a.cap = 0;
        prefix = RELIEF_OBJ_ITEM;
        rc = store_snap_views_each(q->sn, &prefix, 1, name_add, &a);
    }
    if (rc != AM_OK) {
        q->names_loaded = -1;
        return rc;
    }
    /* key order is slug order for slugs of one length rule; sort to be sure of bsearch */
    if (q->n_sites > 1)
        qsort(q->sites, q->n_sites, sizeof *q->sites, site_cmp);
    if (q->n_items > 1)
        qsort(q->items, q->n_items, sizeof *q->items, item_cmp);
    q->names_loaded = 1;
    return AM_OK;
}

int query_sites(struct query *q, const struct relief_node_site **rows, size_t *n)
{
    int rc = names_load(q);
    *rows = rc == AM_OK ? q->sites : NULL;
    *n = rc == AM_OK ? q->n_sites : 0;
    return rc;
}

int query_items(struct query *q, const struct relief_node_item **rows, size_t *n)
{
    int rc = names_load(q);
    *rows = rc == AM_OK ? q->items : NULL;
    *n = rc == AM_OK ? q->n_items : 0;
    return rc;
}

const struct relief_node_site *query_site(struct query *q, const char *slug)
{
    struct relief_node_site k;
    if (names_load(q) != AM_OK || !q->n_sites || strlen(slug) > RELIEF_SLUG_MAX)
        return NULL;
    memcpy(k.slug, slug, strlen(slug) + 1);
    return bsearch(&k, q->sites, q->n_sites, sizeof *q->sites, site_cmp);
}

const struct relief_node_item *query_item(struct query *q, const char *code)
{
    struct relief_node_item k;
    if (names_load(q) != AM_OK || !q->n_items || strlen(code) > RELIEF_SLUG_MAX)
        return NULL;
    memcpy(k.code, code, strlen(code) + 1);
    return bsearch(&k, q->items, q->n_items, sizeof *q->items, item_cmp);
}

/* ---- the store ---- */

int query_state(struct query *q, struct query_state *st)
{
    int rc = store_snap_stats(q->sn, &st->store);
    if (rc == AM_OK)
        rc = store_snap_view_stats(q->sn, &st->views);
    return rc;
}

struct forked_acc {
    struct query *q;
    size_t cap;
};

static int forked_add(void *ctx, const struct store_head *h)
{
    struct forked_acc *a = ctx;
    struct query *q = a->q;
    if (!(h->flags & STORE_HEAD_FORKED))
        return 0;
    if (am_grow((void **)&q->forked, &a->cap, q->n_forked + 1, AM_PK_LEN, 8) != AM_OK)
        return AM_ENOMEM;
    memcpy(q->forked + q->n_forked * AM_PK_LEN, h->author, AM_PK_LEN);
    q->n_forked++;
    return 0;
}

static int author_cmp(const void *a, const void *b)
{
    return memcmp(a, b, AM_PK_LEN);
}

struct author_acc {
    const char *hex;
    size_t nh;
    uint8_t *author;
    unsigned *matches;
};

static int author_match(void *ctx, const struct store_head *h)
{
    static const char digits[] = "0123456789abcdef";
    struct author_acc *a = ctx;
    for (size_t i = 0; i < a->nh; i++) {
        int nib = i % 2 ? h->author[i / 2] & 15 : h->author[i / 2] >> 4;
        if (digits[nib] != fold((unsigned char)a->hex[i]))
            return 0;
    }
    if (++*a->matches == 1)
        memcpy(a->author, h->author, AM_PK_LEN);
    return *a->matches > 1; /* two: enough to know */
}

int query_author_find(struct query *q, const char *hex, uint8_t author[static AM_PK_LEN],
                      unsigned *matches)
{
    struct author_acc a = {hex, strlen(hex), author, matches};
    int rc;
    *matches = 0;
    if (a.nh == 0 || a.nh > 2 * AM_PK_LEN || strspn(hex, "0123456789abcdefABCDEF") != a.nh)
        return AM_EINVAL;
    rc = store_snap_heads_each(q->sn, author_match, &a);
    if (rc != AM_OK && rc != 1)
        return rc;
    return *matches ? AM_OK : AM_ENOTFOUND;
}

static int forked_load(struct query *q)
{
    if (!q->forked_loaded) {
        struct forked_acc a = {q, 0};
        /* heads come in author order, so the array is sorted */
        q->forked_loaded = store_snap_heads_each(q->sn, forked_add, &a) == AM_OK ? 1 : -1;
    }
    return q->forked_loaded;
}

/* Whether any author here is forked: when none is, no row is looked at twice. */
static int forked_any(struct query *q)
{
    return forked_load(q) > 0 && q->n_forked > 0;
}

int query_author_forked(struct query *q, const uint8_t author[static AM_PK_LEN])
{
    if (!forked_any(q))
        return 0;
    return bsearch(author, q->forked, q->n_forked, AM_PK_LEN, author_cmp) != NULL;
}

static int author_forked_cb(void *ctx, const uint8_t author[AM_PK_LEN])
{
    return query_author_forked(ctx, author) ? 1 : 0;
}

/* 1 when an author of one of the object's ops is forked. */
static int obj_forked(struct query *q, const struct relief_key *k)
{
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl;
    if (relief_key_encode(k, kb, &kl) != AM_OK)
        return 0;
    return store_snap_obj_authors(q->sn, kb, kl, author_forked_cb, q) == 1;
}

struct forks_acc {
    struct query *q;
    struct query_fork *v;
    size_t n, cap;
    int rc;
};

static uint64_t stamp_of(const uint8_t *raw, size_t len, uint8_t hash[AM_HASH_LEN])
{
    struct entry e;
    if (entry_decode(&e, raw, len) != AM_OK) {
        memset(hash, 0, AM_HASH_LEN);
        return 0;
    }
    entry_hash(&e, hash);
    return e.hlc;
}

static int fork_add(void *ctx, const uint8_t *author, uint64_t seq, const uint8_t *raw, size_t len)
{
    struct forks_acc *a = ctx;
    struct query_fork *f;
    const uint8_t *kept;
    size_t kl;
    if (AM_GROW(a->v, a->cap, a->n + 1, 8) != AM_OK)
        return AM_ENOMEM;
    f = &a->v[a->n++];
    memset(f, 0, sizeof *f);
    memcpy(f->author, author, AM_PK_LEN);
    f->seq = seq;
    f->other_hlc = stamp_of(raw, len, f->other);
    f->evidence_only = 1;
    if (store_snap_entry(a->q->sn, author, seq, &kept, &kl) == AM_OK)
        f->kept_hlc = stamp_of(kept, kl, f->kept);
    return 0;
}

struct head_of {
    struct query_fork *v;
    size_t n, i;
};

static int head_seq_add(void *ctx, const struct store_head *h)
{
    struct head_of *a = ctx;
    /* the rows are in author order, the logs in log-id order: the longest log of each */
    for (size_t j = 0; j < a->n; j++)
        if (!memcmp(a->v[j].author, h->author, AM_PK_LEN) && h->seq > a->v[j].head_seq)
            a->v[j].head_seq = h->seq;
    return 0;
}

/* The logs of every author, for query_forks. */
struct logs_acc {
    struct store_head *v;
    size_t n, cap;
};

static int log_add(void *ctx, const struct store_head *h)
{
    struct logs_acc *a = ctx;
    if (!(h->flags & STORE_HEAD_FORKED))
        return 0;
    if (AM_GROW(a->v, a->cap, a->n + 1, 8) != AM_OK)
        return AM_ENOMEM;
    a->v[a->n++] = *h;
    return 0;
}

static int fork_row_cmp(const void *x, const void *y)
{
    const struct query_fork *a = x, *b = y;
    int c = memcmp(a->author, b->author, AM_PK_LEN);
    if (c)
        return c;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return memcmp(a->other, b->other, AM_HASH_LEN);
}

/* The first entry of child log h: its hash and stamp. */
static uint64_t first_of(struct query *q, const struct store_head *h, uint8_t hash[AM_HASH_LEN])
{
    const uint8_t *raw;
    size_t len;
    if (store_snap_entry(q->sn, h->log, h->first_seq, &raw, &len) != AM_OK) {
        memset(hash, 0, AM_HASH_LEN);
        return 0;
    }
    return stamp_of(raw, len, hash);
}

int query_forks(struct query *q, const struct query_fork **rows, size_t *n)
{
    struct forks_acc a = {q, NULL, 0, 0, AM_OK};
    struct logs_acc l = {NULL, 0, 0};
    int rc;

    *rows = NULL;
    *n = 0;
    /* where branches part: the child logs that begin after one parent log, by pairs (the
     * first by log id against each other one); then evidence kept beyond the bound */
    rc = store_snap_heads_each(q->sn, log_add, &l);
    for (size_t i = 0; rc == AM_OK && i < l.n; i++) {
        const struct store_head *h = &l.v[i], *first = NULL;
        uint64_t top = 0;
        if (h->first_seq < 2 && !memcmp(h->log, h->author, AM_PK_LEN))
            continue; /* a root log */
        for (size_t j = 0; j < l.n; j++) {
            if (memcmp(l.v[j].author, h->author, AM_PK_LEN) != 0)
                continue;
            if (l.v[j].seq > top)
                top = l.v[j].seq;
            if (!first && l.v[j].first_seq == h->first_seq &&
                !memcmp(l.v[j].parent, h->parent, AM_PK_LEN) &&
                memcmp(l.v[j].log, l.v[j].author, AM_PK_LEN) != 0)
                first = &l.v[j];
        }
        if (first == h)
            continue; /* the first of its siblings: the others are rows against it */
        if (AM_GROW(a.v, a.cap, a.n + 1, 8) != AM_OK) {
            rc = AM_ENOMEM;
            break;
        }
        {
            struct query_fork *f = &a.v[a.n++];
            memset(f, 0, sizeof *f);
            memcpy(f->author, h->author, AM_PK_LEN);
            f->seq = h->first_seq;
            f->head_seq = top;
            if (first)
                f->kept_hlc = first_of(q, first, f->kept);
            f->other_hlc = first_of(q, h, f->other);
        }
    }
    if (rc == AM_OK)
        rc = store_snap_forks_each(q->sn, fork_add, &a);
    if (rc == AM_OK && a.n) {
        struct head_of h = {a.v, a.n, 0};
        qsort(a.v, a.n, sizeof *a.v, fork_row_cmp);
        rc = store_snap_heads_each(q->sn, head_seq_add, &h);
    }
    free(l.v);
    if (rc != AM_OK) {
        free(a.v);
        return rc;
    }
    if ((rc = own(q, a.v)) != AM_OK)
        return rc;
    *rows = a.v;
    *n = a.n;
    return AM_OK;
}

int query_need_authors(struct query *q, const uint8_t **authors, size_t *n)
{
    struct query_need_filter f = {.status = RELIEF_ST_OPEN};
    const struct query_need *rows;
    size_t nr, k = 0;
    uint8_t *out, *seen;
    int rc = query_needs(q, &f, &rows, &nr);

    *authors = NULL;
    *n = 0;
    if (rc != AM_OK)
        return rc;
    out = malloc(nr * AM_PK_LEN + 1);
    seen = malloc(nr * AM_PK_LEN + 1);
    if (!out || !seen) {
        free(out);
        free(seen);
        return AM_ENOMEM;
    }
    for (size_t i = 0; i < nr; i++) {
        const uint8_t *a = rows[i].v.open_ref.author;
        if (!rows[i].v.opened || (k && bsearch(a, seen, k, AM_PK_LEN, author_cmp)))
            continue;
        memcpy(out + k * AM_PK_LEN, a, AM_PK_LEN);
        /* keep `seen` sorted: insert a at its place */
        {
            size_t at = k;
            while (at > 0 && memcmp(seen + (at - 1) * AM_PK_LEN, a, AM_PK_LEN) > 0)
                at--;
            memmove(seen + (at + 1) * AM_PK_LEN, seen + at * AM_PK_LEN, (k - at) * AM_PK_LEN);
            memcpy(seen + at * AM_PK_LEN, a, AM_PK_LEN);
        }
        k++;
    }
    free(seen);
    if ((rc = own(q, out)) != AM_OK)
        return rc;
    *authors = out;
    *n = k;
    return AM_OK;
}

/* ---- successions ---- */

struct succ_acc {
    struct query_successor *v;
    size_t n, cap;
    const uint8_t *only; /* NULL, or keep only rows whose new key is this */
    size_t total;
};

static int succ_key_is(struct mp_cur *c, const char *want)
{
    const uint8_t *p;
    uint32_t n;
    return mp_get_str(c, &p, &n) == AM_OK && n == strlen(want) && memcmp(p, want, n) == 0;
}

/* Reads a succession object's view (relief_dump.c: {"k": "succ", "old", "n", "s"}) into
 * a's rows, strictly (rows of 5: ref, hlc, seq, head, refused). */
static int succ_parse(const uint8_t *v, size_t len, struct succ_acc *a)
{
    struct mp_cur c = {v, v + len};
    const uint8_t *p, *old;
    uint32_t n, m, pl;
    uint64_t total;

    if (mp_get_map(&c, &m) != AM_OK || m != 4 || !succ_key_is(&c, "k") ||
        !succ_key_is(&c, "succ") || !succ_key_is(&c, "old") || mp_get_bin(&c, &old, &pl) != AM_OK ||
        pl != AM_PK_LEN || !succ_key_is(&c, "n") || mp_get_uint(&c, &total) != AM_OK ||
        !succ_key_is(&c, "s") || mp_get_array(&c, &n) != AM_OK)
        return AM_ECORRUPT;
    a->total += total;
    for (uint32_t i = 0; i < n; i++) {
        struct query_successor r;
        struct relief_ref ref;
        memcpy(r.old, old, AM_PK_LEN);
        if (mp_get_array(&c, &m) != AM_OK || m != 5 || mp_get_bin(&c, &p, &pl) != AM_OK ||
            pl != RELIEF_REF_LEN)
            return AM_ECORRUPT;
        relief_ref_unpack(p, &ref);
        memcpy(r.author, ref.author, AM_PK_LEN);
        r.entry_seq = ref.seq;
        if (mp_get_uint(&c, &r.hlc) != AM_OK || mp_get_uint(&c, &r.seq) != AM_OK ||
            mp_get_bin(&c, &p, &pl) != AM_OK || pl != AM_HASH_LEN)
            return AM_ECORRUPT;
        memcpy(r.head, p, AM_HASH_LEN);
        if (mp_get_bool(&c, &r.refused) != AM_OK)
            return AM_ECORRUPT;
        /* a refused succession (a second one for its branch) took over nothing */
        if (a->only && (memcmp(a->only, r.author, AM_PK_LEN) != 0 || r.refused))
            continue;
        if (AM_GROW(a->v, a->cap, a->n + 1, 4) != AM_OK)
            return AM_ENOMEM;
        a->v[a->n++] = r;
    }
    return c.p == c.end ? AM_OK : AM_ECORRUPT;
}

static int succ_finish(struct query *q, struct succ_acc *a, int rc,
                       const struct query_successor **rows, size_t *n)
{
    if (rc == AM_OK)
        rc = own(q, a->v);
    else
        free(a->v);
    *rows = rc == AM_OK ? a->v : NULL;
    *n = rc == AM_OK ? a->n : 0;
    return rc;
}

int query_successors(struct query *q, const uint8_t old[static AM_PK_LEN],
                     const struct query_successor **rows, size_t *n, size_t *total)
{
    struct succ_acc a = {0};
    struct relief_key k = {.kind = RELIEF_OBJ_SUCC};
    uint8_t kb[RELIEF_KEY_MAX];
    const uint8_t *view;
    size_t kl, vl;
    int rc;

    memcpy(k.author, old, AM_PK_LEN);
    rc = relief_key_encode(&k, kb, &kl);
    if (rc == AM_OK)
        rc = store_snap_view(q->sn, kb, kl, &view, &vl);
    if (rc == AM_OK)
        rc = succ_parse(view, vl, &a);
    else if (rc == AM_ENOTFOUND)
        rc = AM_OK;
    if (total)
        *total = rc == AM_OK ? a.total : 0;
    return succ_finish(q, &a, rc, rows, n);
}

static int pred_add(void *ctx, const struct store_view_row *r)
{
    return succ_parse(r->view, r->view_len, ctx);
}

int query_predecessors(struct query *q, const uint8_t author[static AM_PK_LEN],
                       const struct query_successor **rows, size_t *n)
{
    struct succ_acc a = {.only = author};
    uint8_t prefix = RELIEF_OBJ_SUCC;
    int rc = store_snap_views_each(q->sn, &prefix, 1, pred_add, &a);
    return succ_finish(q, &a, rc, rows, n);
}
