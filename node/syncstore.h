/*
 * syncstore.h: the LMDB store seen through the sync engine's narrow interface
 * (struct sync_store of transport/sync.h).
 */
#ifndef AM_SYNCSTORE_H
#define AM_SYNCSTORE_H

#include "store.h"
#include "sync.h"

/* Fills `out` so that the engine reaches `s`. `s` must outlive every session using it. */
void syncstore_init(struct sync_store *out, struct store *s);

#endif
