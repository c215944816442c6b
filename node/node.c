/* node.c: open and close a node (see node.h). Must never leave a secret unwiped. */
#include "node.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "am_err.h"
#include "am_text.h"
#include "invite.h"
#include "relief.h"

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

/* The succession op of `old_sk`'s key (head h) for the new key new_pk, into buf. */
static int succession_op(const uint8_t *old_sk, const struct store_head *h,
                         const uint8_t new_pk[AM_PK_LEN], uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t msg[RELIEF_SUCC_MSG_LEN];
    struct relief_op op;
    struct relief_op dec;
    int rc;

    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_SUCCESSION;
    op.has = RELIEF_HAS(RELIEF_K_OLD) | RELIEF_HAS(RELIEF_K_SEQ) | RELIEF_HAS(RELIEF_K_HEAD) |
             RELIEF_HAS(RELIEF_K_OSIG);
    memcpy(op.old, h->author, AM_PK_LEN);
    op.oseq = h->seq;
    memcpy(op.head, h->hash, AM_HASH_LEN);
    relief_succession_msg(new_pk, h->seq, h->hash, msg);
    crypto_sign_detached(op.osig, NULL, msg, sizeof msg, old_sk);
    if ((rc = relief_op_encode(&op, buf, cap, len, NULL, 0)) != AM_OK)
        return rc;
    /* what every node will check, checked here first */
    if ((rc = relief_op_decode(buf, *len, &dec, NULL, 0)) != AM_OK ||
        (rc = relief_op_check_author(&dec, new_pk, NULL, 0)) != AM_OK)
        return rc;
    return AM_OK;
}

int node_rotate_identity(struct node *n, int force, struct node_rotation *out)
{
    uint8_t seed[AM_SEED_LEN], buf[256];
    uint8_t *sk = NULL;
    const uint8_t *ops[1] = {buf};
    struct store_head h;
    size_t len;
    int rc;

    memset(out, 0, sizeof *out);
    memcpy(out->old_pk, n->pk, AM_PK_LEN);
    if ((rc = store_head_get(n->store, n->pk, &h)) != AM_OK)
        return rc;
    /* name this machine's own branch: after a split the root log ends where the branches
     * part, and the tip of what this machine wrote is in one of the child logs */
    if (store_self_head(n->store, n->pk, &h.seq, h.hash) == AM_ENOTFOUND && h.seq == 0)
        return AM_ENOTFOUND;
    out->seq = h.seq;
    memcpy(out->head, h.hash, AM_HASH_LEN);
    out->was_forked = (h.flags & STORE_HEAD_FORKED) != 0;
    if (!out->was_forked && !force)
        return AM_ESTATE;
    if (!(sk = sodium_malloc(AM_SK_LEN)))
        return AM_ENOMEM;
    randombytes_buf(seed, sizeof seed);
    crypto_sign_seed_keypair(out->new_pk, sk, seed);
    if ((rc = succession_op(n->sk, &h, out->new_pk, buf, sizeof buf, &len)) != AM_OK)
        goto out;
    /* the new key on disk before anything it signs exists, never after */
    if ((rc = home_identity_stage(n->home, seed)) != AM_OK)
        goto out;
    if ((rc = store_append(n->store, sk, ops, &len, 1, node_wall_ms(), NULL)) != AM_OK) {
        home_identity_unstage(n->home);
        goto out;
    }
    out->written = 1;
    if ((rc = home_identity_commit(n->home, (long long)time(NULL), out->aside,
                                   sizeof out->aside)) != AM_OK)
        goto out;
    memcpy(n->sk, sk, AM_SK_LEN);
    memcpy(n->pk, out->new_pk, AM_PK_LEN);
out:
    sodium_memzero(seed, sizeof seed);
    sodium_free(sk);
    return rc;
}

uint64_t node_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
