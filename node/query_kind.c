/*
 * query_kind.c: the views of one small kind of object keyed by item, read once per query
 * (query_kind.h). Never prints, never writes.
 */
#include "query_kind.h"

#include <stdlib.h>
#include <string.h>

#include "am_err.h"

struct kind_acc {
    const struct query_kind_spec *sp;
    uint8_t *v;
    size_t n, cap;
};

static int kind_add(void *ctx, const struct store_view_row *r)
{
    struct kind_acc *a = ctx;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        uint8_t *v = realloc(a->v, cap * a->sp->size);
        if (!v)
            return AM_ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    memset(a->v + a->n * a->sp->size, 0, a->sp->size);
    if (a->sp->fill(a->v + a->n * a->sp->size, r) != AM_OK)
        return AM_ECORRUPT;
    a->n++;
    return 0;
}

int query_kind_load(struct query *q, void **slot, const struct query_kind_spec *sp,
                    const struct query_kind_rows **out)
{
    struct query_kind_rows *c;
    struct kind_acc a = {sp, NULL, 0, 0};
    uint8_t *live;
    int rc;

    if (*slot) {
        *out = *slot;
        return AM_OK;
    }
    if (!(c = calloc(1, sizeof *c)))
        return AM_ENOMEM;
    if ((rc = query_keep(q, c)) != AM_OK)
        return rc;
    rc = store_snap_views_each(query_snap(q), &sp->kind, 1, kind_add, &a);
    if (rc != AM_OK) {
        free(a.v);
        return rc;
    }
    if ((rc = query_keep(q, a.v)) != AM_OK)
        return rc;
    if (a.n > 1)
        qsort(a.v, a.n, sp->size, sp->cmp);
    c->all = a.v;
    c->n_all = a.n;
    if (a.n) {
        if (!(live = calloc(a.n, sp->size)))
            return AM_ENOMEM;
        if ((rc = query_keep(q, live)) != AM_OK)
            return rc;
        for (size_t i = 0; i < a.n; i++)
            if (sp->live(a.v + i * sp->size))
                memcpy(live + c->n_live++ * sp->size, a.v + i * sp->size, sp->size);
        c->live = live;
    }
    *slot = c;
    *out = c;
    return AM_OK;
}

void query_kind_item(const struct query_kind_rows *k, const struct query_kind_spec *sp, int all,
                     const char *item, const void **rows, size_t *n)
{
    const uint8_t *v = all ? k->all : k->live;
    size_t nv = all ? k->n_all : k->n_live, a = 0, b = nv;

    if (!item) {
        *rows = nv ? v : NULL;
        *n = nv;
        return;
    }
    while (a < b) { /* the first row whose item is not below `item` */
        size_t m = a + (b - a) / 2;
        if (strcmp((const char *)(v + m * sp->size), item) < 0)
            a = m + 1;
        else
            b = m;
    }
    for (b = a; b < nv && !strcmp((const char *)(v + b * sp->size), item); b++)
        ;
    *n = b - a;
    *rows = *n ? v + a * sp->size : NULL;
}
