/*
 * query_pack.c: the packs of items in the read model (query.h, PROTOCOL.md 10.4
 * "item.pack", 10.9): every pack view read once per query from its snapshot, sorted by
 * item then pack name, and the two rules a quantity in packs follows: packs times units
 * in base units, refused past the quantity limit; base units shown in the largest pack
 * that fits. Never prints, never writes.
 */
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_grow.h"
#include "query.h"

struct pack_cache {
    struct query_pack *all; /* every pack view, by (item, pack) */
    size_t n_all;
    struct query_pack *def; /* the defined ones (units above 0), same order */
    size_t n_def;
};

struct pack_acc {
    struct query_pack *v;
    size_t n, cap;
};

static int pack_add(void *ctx, const struct store_view_row *r)
{
    struct pack_acc *a = ctx;
    struct relief_node_pack p;
    struct query_pack *row;

    if (relief_node_pack_parse(r->view, r->view_len, &p) != AM_OK)
        return AM_ECORRUPT;
    if (AM_GROW(a->v, a->cap, a->n + 1, 16) != AM_OK)
        return AM_ENOMEM;
    row = &a->v[a->n++];
    memset(row, 0, sizeof *row);
    memcpy(row->item, p.item, sizeof row->item);
    memcpy(row->pack, p.pack, sizeof row->pack);
    row->reg = p.q;
    row->units = p.q.n_heads && p.q.set && p.q.i > 0 ? p.q.i : 0;
    return 0;
}

static int pack_cmp(const void *a, const void *b)
{
    const struct query_pack *x = a, *y = b;
    int c = strcmp(x->item, y->item);
    return c ? c : strcmp(x->pack, y->pack);
}

static int packs_load(struct query *q, struct pack_cache **out)
{
    void **slot = query_pack_cache(q);
    struct pack_cache *c;
    struct pack_acc a = {0};
    uint8_t prefix = RELIEF_OBJ_PACK;
    int rc;

    if (*slot) {
        *out = *slot;
        return AM_OK;
    }
    if (!(c = calloc(1, sizeof *c)))
        return AM_ENOMEM;
    if ((rc = query_keep(q, c)) != AM_OK)
        return rc;
    rc = store_snap_views_each(query_snap(q), &prefix, 1, pack_add, &a);
    if (rc != AM_OK) {
        free(a.v);
        return rc;
    }
    if ((rc = query_keep(q, a.v)) != AM_OK)
        return rc;
    if (a.n > 1)
        qsort(a.v, a.n, sizeof *a.v, pack_cmp);
    c->all = a.v;
    c->n_all = a.n;
    if (a.n) {
        if (!(c->def = calloc(a.n, sizeof *c->def)) || (rc = query_keep(q, c->def)) != AM_OK)
            return c->def ? rc : AM_ENOMEM;
        for (size_t i = 0; i < a.n; i++)
            if (a.v[i].units > 0)
                c->def[c->n_def++] = a.v[i];
    }
    *slot = c;
    *out = c;
    return AM_OK;
}

/* The rows of v[0..n) whose item is `item`: v[*lo .. *lo + *cnt). */
static void item_range(const struct query_pack *v, size_t n, const char *item, size_t *lo,
                       size_t *cnt)
{
    size_t a = 0, b = n;
    while (a < b) { /* the first row whose item is not below `item` */
        size_t m = a + (b - a) / 2;
        if (strcmp(v[m].item, item) < 0)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    for (b = a; b < n && !strcmp(v[b].item, item); b++)
        ;
    *cnt = b - a;
}

int query_packs(struct query *q, const char *item, int all, const struct query_pack **rows,
                size_t *n)
{
    struct pack_cache *c;
    const struct query_pack *v;
    size_t nv, lo;
    int rc = packs_load(q, &c);

    *rows = NULL;
    *n = 0;
    if (rc != AM_OK)
        return rc;
    v = all ? c->all : c->def;
    nv = all ? c->n_all : c->n_def;
    if (!item) {
        *rows = v;
        *n = nv;
        return AM_OK;
    }
    item_range(v, nv, item, &lo, n);
    *rows = *n ? v + lo : NULL;
    return AM_OK;
}

int query_pack(struct query *q, const char *item, const char *pack, const struct query_pack **row)
{
    const struct query_pack *v;
    size_t n;
    int rc = query_packs(q, item, 1, &v, &n);

    *row = NULL;
    if (rc != AM_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].pack, pack)) {
            *row = &v[i];
            return AM_OK;
        }
    return AM_ENOTFOUND;
}

int query_pack_mul(int64_t count, int64_t units, int64_t *qty, int *over_int64)
{
    int64_t r;

    if (over_int64)
        *over_int64 = 0;
    if (count < 0 || units < 1)
        return AM_EINVAL;
    if (__builtin_mul_overflow(count, units, &r)) {
        if (over_int64)
            *over_int64 = 1;
        return AM_ELIMIT;
    }
    if (r > RELIEF_QTY_MAX)
        return AM_ELIMIT;
    *qty = r;
    return AM_OK;
}

int query_pack_split(struct query *q, const char *item, int64_t qty, const struct query_pack **row,
                     int64_t *count, int64_t *rest)
{
    const struct query_pack *v, *best = NULL;
    size_t n;
    int rc;

    *row = NULL;
    if (qty < 1)
        return AM_ENOTFOUND;
    if ((rc = query_packs(q, item, 0, &v, &n)) != AM_OK)
        return rc;
    /* the largest that divides; ties (two packs of one size) to the first name */
    for (size_t i = 0; i < n; i++)
        if (v[i].units <= qty && qty % v[i].units == 0 && (!best || v[i].units > best->units))
            best = &v[i];
    if (!best)
        for (size_t i = 0; i < n; i++)
            if (v[i].units <= qty && (!best || v[i].units > best->units))
                best = &v[i];
    if (!best)
        return AM_ENOTFOUND;
    *row = best;
    *count = qty / best->units;
    *rest = qty % best->units;
    return AM_OK;
}
