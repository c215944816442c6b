/*
 * sync_refusals.c: the bounded list of refused entries by author and reason (sync.h,
 * struct sync_refusals), kept by the sync engine and the stick scan so the node can say
 * whose entries it refused and why. Pure: no I/O, no allocation; never grows past
 * SYNC_REFUSALS_MAX pairs.
 */
#include <string.h>

#include "sync.h"

void sync_refusals_add(struct sync_refusals *l, const uint8_t *author, int reason, uint64_t count)
{
    static const uint8_t unknown[AM_PK_LEN];
    const uint8_t *a = author ? author : unknown;
    if (!count)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (l->r[i].reason == reason && memcmp(l->r[i].author, a, AM_PK_LEN) == 0) {
            l->r[i].count += count;
            return;
        }
    if (l->n == SYNC_REFUSALS_MAX) {
        l->unlisted += count;
        return;
    }
    memcpy(l->r[l->n].author, a, AM_PK_LEN);
    l->r[l->n].reason = reason;
    l->r[l->n].count = count;
    l->n++;
}

void sync_refusals_merge(struct sync_refusals *into, const struct sync_refusals *from)
{
    for (size_t i = 0; i < from->n && i < SYNC_REFUSALS_MAX; i++)
        sync_refusals_add(into, from->r[i].author, from->r[i].reason, from->r[i].count);
    into->unlisted += from->unlisted;
}
