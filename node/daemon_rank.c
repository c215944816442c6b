/*
 * daemon_rank.c: which authors' entries the daemon's sessions send first
 * (sync_config.author_rank, PROTOCOL.md §8.4): the authors of this node's most needed open
 * needs, in the read model's order (query_need_authors), so a contact cut short carries
 * them. The ranking is read again at most every DAEMON_RANK_REFRESH_MS, on the loop thread.
 *
 * Must never: hold a query past the refresh, or fail a session: when the ranking cannot be
 * read, every author has rank 0 (in turns, as without a ranking).
 */
#include <stdlib.h>
#include <string.h>

#include "daemon_int.h"
#include "query.h"

struct rank_row {
    uint8_t author[AM_PK_LEN];
    uint32_t rank;
};

static int row_cmp(const void *a, const void *b)
{
    return memcmp(a, b, AM_PK_LEN);
}

static void refresh(struct daemon *d)
{
    struct query *q;
    const uint8_t *a;
    size_t n;
    struct rank_row *rows = NULL;

    d->rank_at = uv_now(&d->loop);
    d->rank_valid = 1;
    if (query_open(d->n->store, 0, &q) != AM_OK)
        return; /* keep the ranking we had */
    if (query_need_authors(q, &a, &n) == AM_OK) {
        if (n > DAEMON_RANK_MAX)
            n = DAEMON_RANK_MAX;
        if (n && (rows = malloc(n * sizeof *rows))) {
            for (size_t i = 0; i < n; i++) {
                memcpy(rows[i].author, a + i * AM_PK_LEN, AM_PK_LEN);
                rows[i].rank = (uint32_t)i + 1;
            }
            qsort(rows, n, sizeof *rows, row_cmp);
        }
        free(d->rank_rows);
        d->rank_rows = rows;
        d->n_rank = rows ? n : 0;
    }
    query_close(q);
}

uint32_t daemon_author_rank(void *ctx, const uint8_t author[AM_PK_LEN])
{
    struct daemon *d = ctx;
    const struct rank_row *r;
    if (!d->rank_valid || uv_now(&d->loop) - d->rank_at >= DAEMON_RANK_REFRESH_MS)
        refresh(d);
    if (!d->n_rank)
        return 0;
    r = bsearch(author, d->rank_rows, d->n_rank, sizeof *d->rank_rows, row_cmp);
    return r ? r->rank : 0;
}

void daemon_rank_free(struct daemon *d)
{
    free(d->rank_rows);
    d->rank_rows = NULL;
    d->n_rank = 0;
    d->rank_valid = 0;
}
