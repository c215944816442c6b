/*
 * query_name.c: the names of items per language in the read model (query.h, PROTOCOL.md
 * 10.4 "item.name", 10.9): every such view read once per query from its snapshot, sorted
 * by item then language, and the rule a page follows: the name in its language when one
 * is set, else the item's own name. Never prints, never writes.
 */
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "query.h"
#include "query_kind.h"

static int lname_fill(void *row_, const struct store_view_row *r)
{
    struct query_lname *row = row_;
    struct relief_node_lname p;

    if (relief_node_lname_parse(r->view, r->view_len, &p) != AM_OK)
        return AM_ECORRUPT;
    memcpy(row->item, p.item, sizeof row->item);
    memcpy(row->lang, p.lang, sizeof row->lang);
    row->reg = p.name;
    row->name = query_reg_text(&p.name, &row->len);
    return AM_OK;
}

static int lname_cmp(const void *a, const void *b)
{
    const struct query_lname *x = a, *y = b;
    int c = strcmp(x->item, y->item);
    return c ? c : strcmp(x->lang, y->lang);
}

static int lname_set(const void *row)
{
    return ((const struct query_lname *)row)->len > 0;
}

static const struct query_kind_spec lnames = {RELIEF_OBJ_LNAME, sizeof(struct query_lname),
                                              lname_fill, lname_cmp, lname_set};

int query_lnames(struct query *q, const char *item, int all, const struct query_lname **rows,
                 size_t *n)
{
    const struct query_kind_rows *k;
    const void *v = NULL;
    int rc = query_kind_load(q, query_name_cache(q), &lnames, &k);

    *n = 0;
    if (rc == AM_OK)
        query_kind_item(k, &lnames, all, item, &v, n);
    *rows = v;
    return rc;
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
