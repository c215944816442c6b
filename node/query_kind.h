/*
 * query_kind.h: for the read model's own files (query_pack.c, query_name.c), the views of
 * one small kind of object keyed by item (a pack, a name per language): read once per
 * query from its snapshot, sorted, split into every row and the live ones, and the rows
 * of one item found by binary search. Private to node/query*.c.
 */
#ifndef AM_QUERY_KIND_H
#define AM_QUERY_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "query.h"

/* What a kind's rows are. A row begins with its item: char item[RELIEF_SLUG_MAX + 1]. */
struct query_kind_spec {
    uint8_t kind; /* the object kind byte, the views' key prefix */
    size_t size;  /* of a row */
    int (*fill)(void *row, const struct store_view_row *r); /* AM_OK or AM_ECORRUPT */
    int (*cmp)(const void *a, const void *b);               /* item first */
    int (*live)(const void *row);                           /* kept in `live` */
};

struct query_kind_rows {
    void *all; /* every view of the kind, in cmp order */
    size_t n_all;
    void *live; /* the live ones, same order */
    size_t n_live;
};

/* The rows of sp's kind in this query, read at the first call and kept in *slot (one of
 * q's slots). AM_OK, AM_ENOMEM, AM_ECORRUPT, or a store error. */
int query_kind_load(struct query *q, void **slot, const struct query_kind_spec *sp,
                    const struct query_kind_rows **out);

/* The rows of `item` (NULL: all of them) among every row (all) or the live ones, owned
 * by q: *rows (NULL when none) and *n. */
void query_kind_item(const struct query_kind_rows *k, const struct query_kind_spec *sp, int all,
                     const char *item, const void **rows, size_t *n);

#endif
