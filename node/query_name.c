/*
 * query_name.c: the names of items per language in the read model (query.h, PROTOCOL.md
 * 10.4 "item.name", 10.9): every such view read once per query from its snapshot, sorted
 * by item then language, and the rule a page follows: the name in its language when one
 * is set, else the item's own name. Never prints, never writes.
 */
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_grow.h"
#include "query.h"

struct lname_cache {
    struct query_lname *all; /* every view, by (item, lang) */
    size_t n_all;
    struct query_lname *set; /* the ones holding a name, same order */
    size_t n_set;
};

struct lname_acc {
    struct query_lname *v;
    size_t n, cap;
};

static int lname_add(void *ctx, const struct store_view_row *r)
{
    struct lname_acc *a = ctx;
    struct relief_node_lname p;
    struct query_lname *row;

    if (relief_node_lname_parse(r->view, r->view_len, &p) != AM_OK)
        return AM_ECORRUPT;
    if (AM_GROW(a->v, a->cap, a->n + 1, 16) != AM_OK)
        return AM_ENOMEM;
    row = &a->v[a->n++];
    memset(row, 0, sizeof *row);
    memcpy(row->item, p.item, sizeof row->item);
    memcpy(row->lang, p.lang, sizeof row->lang);
    row->reg = p.name;
    row->name = query_reg_text(&p.name, &row->len);
    return 0;
}

static int lname_cmp(const void *a, const void *b)
{
    const struct query_lname *x = a, *y = b;
    int c = strcmp(x->item, y->item);
    return c ? c : strcmp(x->lang, y->lang);
}

static int lnames_load(struct query *q, struct lname_cache **out)
{
    void **slot = query_name_cache(q);
    struct lname_cache *c;
    struct lname_acc a = {0};
    uint8_t prefix = RELIEF_OBJ_LNAME;
    int rc;

    if (*slot) {
        *out = *slot;
        return AM_OK;
    }
    if (!(c = calloc(1, sizeof *c)))
        return AM_ENOMEM;
    if ((rc = query_keep(q, c)) != AM_OK)
        return rc;
    rc = store_snap_views_each(query_snap(q), &prefix, 1, lname_add, &a);
    if (rc != AM_OK) {
        free(a.v);
        return rc;
    }
    if ((rc = query_keep(q, a.v)) != AM_OK)
        return rc;
    if (a.n > 1)
        qsort(a.v, a.n, sizeof *a.v, lname_cmp);
    c->all = a.v;
    c->n_all = a.n;
    if (a.n) {
        if (!(c->set = calloc(a.n, sizeof *c->set)) || (rc = query_keep(q, c->set)) != AM_OK)
            return c->set ? rc : AM_ENOMEM;
        for (size_t i = 0; i < a.n; i++)
            if (a.v[i].len > 0)
                c->set[c->n_set++] = a.v[i];
    }
    *slot = c;
    *out = c;
    return AM_OK;
}

int query_lnames(struct query *q, const char *item, int all, const struct query_lname **rows,
                 size_t *n)
{
    struct lname_cache *c;
    const struct query_lname *v;
    size_t nv, a = 0, b;
    int rc = lnames_load(q, &c);

    *rows = NULL;
    *n = 0;
    if (rc != AM_OK)
        return rc;
    v = all ? c->all : c->set;
    nv = all ? c->n_all : c->n_set;
    if (!item) {
        *rows = v;
        *n = nv;
        return AM_OK;
    }
    b = nv;
    while (a < b) { /* the first row whose item is not below `item` */
        size_t m = a + (b - a) / 2;
        if (strcmp(v[m].item, item) < 0)
            a = m + 1;
        else
            b = m;
    }
    for (b = a; b < nv && !strcmp(v[b].item, item); b++)
        ;
    *n = b - a;
    *rows = *n ? v + a : NULL;
    return AM_OK;
}

const char *query_item_name(struct query *q, const char *item, const char *lang, size_t *len)
{
    const struct query_lname *v;
    const struct relief_node_item *it;
    const char *s;
    size_t n = 0;

    if (lang && query_lnames(q, item, 0, &v, &n) == AM_OK)
        for (size_t i = 0; i < n; i++)
            if (!strcmp(v[i].lang, lang)) {
                if (len)
                    *len = v[i].len;
                return v[i].name;
            }
    if ((it = query_item(q, item)) && (s = query_reg_text(&it->name, &n)) && n) {
        if (len)
            *len = n;
        return s;
    }
    if (len)
        *len = strlen(item);
    return item;
}
