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
#include "query.h"
#include "query_kind.h"

static int pack_fill(void *row_, const struct store_view_row *r)
{
    struct query_pack *row = row_;
    struct relief_node_pack p;

    if (relief_node_pack_parse(r->view, r->view_len, &p) != AM_OK)
        return AM_ECORRUPT;
    memcpy(row->item, p.item, sizeof row->item);
    memcpy(row->pack, p.pack, sizeof row->pack);
    row->reg = p.q;
    row->units = p.q.n_heads && p.q.set && p.q.i > 0 ? p.q.i : 0;
    return AM_OK;
}

static int pack_cmp(const void *a, const void *b)
{
    const struct query_pack *x = a, *y = b;
    int c = strcmp(x->item, y->item);
    return c ? c : strcmp(x->pack, y->pack);
}

static int pack_defined(const void *row)
{
    return ((const struct query_pack *)row)->units > 0;
}

static const struct query_kind_spec packs = {RELIEF_OBJ_PACK, sizeof(struct query_pack), pack_fill,
                                             pack_cmp, pack_defined};

int query_packs(struct query *q, const char *item, int all, const struct query_pack **rows,
                size_t *n)
{
    const struct query_kind_rows *k;
    const void *v = NULL;
    int rc = query_kind_load(q, query_pack_cache(q), &packs, &k);

    *n = 0;
    if (rc == AM_OK)
        query_kind_item(k, &packs, all, item, &v, n);
    *rows = v;
    return rc;
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
