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

/* Milliseconds since the Unix epoch from the system clock (the node layer's only clock). */
uint64_t node_wall_ms(void);

#endif
