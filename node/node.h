/*
 * node.h: one opened node: its home, identity, network and store, as the CLI and the
 * daemon use them. Secrets live in sodium_malloc'd memory, wiped by node_close().
 * Never prints: errors are am_err.h codes, and node_open() names the step that failed.
 */
#ifndef AM_NODE_H
#define AM_NODE_H

#include <stdint.h>

#include "am_limits.h"
#include "home.h"
#include "store.h"

enum node_step { NODE_STEP_HOME, NODE_STEP_IDENTITY, NODE_STEP_NETWORK, NODE_STEP_STORE };

struct node {
    char home[AM_HOME_PATH_MAX];
    uint8_t *sk;     /* ed25519 secret key (seed || pk), sodium_malloc'd */
    uint8_t *netkey; /* AM_NETKEY_LEN bytes, sodium_malloc'd */
    uint8_t pk[AM_PK_LEN];
    uint8_t netid[AM_NETID_LEN];
    char name[AM_NAME_MAX + 1];
    struct store *store;
};

/*
 * Opens the node at `home` (already resolved). `store_opts` may be NULL. On failure
 * *failed (nullable) says which step failed, and everything opened so far is closed.
 * Returns AM_OK or the failing step's code (AM_ENOTFOUND: not initialised; AM_EPERM: a
 * key file others can read; AM_ECORRUPT; AM_ESYS; AM_ENOMEM; store_open's errors).
 */
int node_open(struct node *n, const char *home, const struct store_opts *store_opts,
              enum node_step *failed);
void node_close(struct node *n);

/* What node_rotate_identity did. */
struct node_rotation {
    uint8_t old_pk[AM_PK_LEN];    /* the key succeeded */
    uint8_t new_pk[AM_PK_LEN];    /* the node's key from now on */
    uint64_t seq;                 /* the old key's head seq here, named by the succession */
    uint8_t head[AM_HASH_LEN];    /* that head entry's hash */
    int was_forked;               /* the old key was marked forked here */
    int written;                  /* the succession entry is in the store */
    char aside[AM_HOME_PATH_MAX]; /* where the old key file is kept (once committed) */
};

/*
 * Rotates the node's identity (PROTOCOL.md §6 "Forks", 10.4 "succession"): makes a new
 * key, appends as its first entry a succession op naming the old key's head here, signed
 * by the new key (the entry) and by the old one ("osig"), then makes the new key the
 * node's identity, keeping the old key file beside it (home_identity_commit). On success
 * n->sk and n->pk are the new key's. The name and network stay. Refused unless the old
 * key is marked forked here, or `force`. *out is filled as far as the rotation went.
 * Returns AM_OK;
 *   AM_ESTATE    the old key is not marked forked and !force: nothing changed;
 *   AM_ENOTFOUND the old key has written nothing here (no head to succeed): nothing changed;
 *   AM_EEXIST    HOME_IDENTITY_NEW is there (an earlier rotation stopped half-way):
 *                nothing changed;
 *   store_append's errors: nothing changed;
 *   home_identity_commit's errors with out->written set: the succession is stored and
 *                the new key is in HOME_IDENTITY_NEW, which the operator moves over
 *                identity.key to finish; identity.key is still the old key.
 */
int node_rotate_identity(struct node *n, int force, struct node_rotation *out);

/* Milliseconds since the Unix epoch from the system clock (the node layer's only clock). */
uint64_t node_wall_ms(void);

#endif
