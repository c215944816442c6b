/* node.c: open and close a node (see node.h). Must never leave a secret unwiped. */
#include "node.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "am_err.h"
#include "am_text.h"
#include "invite.h"

int node_open(struct node *n, const char *home, const struct store_opts *store_opts,
              enum node_step *failed)
{
    uint8_t secret[AM_NETSECRET_LEN];
    char path[AM_HOME_PATH_MAX];
    enum node_step step = NODE_STEP_HOME;
    int rc;

    memset(n, 0, sizeof *n);
    if (snprintf(n->home, sizeof n->home, "%s", home) >= (int)sizeof n->home) {
        rc = AM_EINVAL;
        goto fail;
    }
    if ((rc = home_check(home)) != AM_OK) /* a home others can write to (PROTOCOL.md §7) */
        goto fail;
    n->sk = sodium_malloc(AM_SK_LEN);
    n->netkey = sodium_malloc(AM_NETKEY_LEN);
    if (!n->sk || !n->netkey) {
        rc = AM_ENOMEM;
        goto fail;
    }
    step = NODE_STEP_IDENTITY;
    if ((rc = home_load_identity(home, n->sk)) != AM_OK)
        goto fail;
    memcpy(n->pk, n->sk + AM_SEED_LEN, AM_PK_LEN);
    step = NODE_STEP_NETWORK;
    rc = home_load_network(home, secret);
    if (rc == AM_OK) {
        invite_network_key(secret, n->netkey);
        invite_network_id(n->netkey, n->netid);
    }
    sodium_memzero(secret, sizeof secret);
    if (rc != AM_OK)
        goto fail;
    home_config_get(home, "name", n->name, sizeof n->name);
    if (!am_text_ok(n->name, strlen(n->name), 0))
        n->name[0] = 0; /* a hand-edited name that is not printable text (§10.2): none */
    step = NODE_STEP_STORE;
    {
        /* the store's record beside it (PROTOCOL.md §7, "Store record") */
        struct store_opts so = store_opts ? *store_opts : (struct store_opts){0};
        char record[AM_HOME_PATH_MAX];
        if ((rc = home_path(path, home, "store")) != AM_OK ||
            (rc = home_path(record, home, STORE_RECORD_FILE)) != AM_OK)
            goto fail;
        if (!so.record)
            so.record = record;
        if ((rc = store_open(&n->store, path, &so)) != AM_OK)
            goto fail;
    }
    return AM_OK;
fail:
    if (failed)
        *failed = step;
    node_close(n);
    return rc;
}

void node_close(struct node *n)
{
    store_close(n->store);
    sodium_free(n->sk);
    sodium_free(n->netkey);
    n->store = NULL;
    n->sk = NULL;
    n->netkey = NULL;
}

uint64_t node_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
