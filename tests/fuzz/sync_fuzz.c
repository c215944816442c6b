/*
 * sync_fuzz.c: libFuzzer target for the sync engine's message handling after the
 * handshake (every message type, malformed ones included) against a real store, and for
 * the unauthenticated start of a session (preamble and handshake bytes).
 * Input: the first byte picks the mode; the rest is the message or the byte stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "store.h"
#include "sync.h"
#include "syncstore.h"
#include "fuzz.h"

static struct store *st;
static struct sync_store ss;
static uint8_t sk[AM_SK_LEN], netkey[AM_NETKEY_LEN], install[AM_INSTALL_ID_LEN];

static void init_once(void)
{
    static int done;
    char dir[] = "/tmp/amfuzz-sync-XXXXXX";
    uint8_t pk[AM_PK_LEN], seed[AM_SEED_LEN] = {7};
    uint8_t op[] = {0x81, 0xa1, 'n', 0x01};
    const uint8_t *ops[1] = {op};
    size_t lens[1] = {sizeof op};

    if (done)
        return;
    done = 1;
    if (sodium_init() < 0 || !mkdtemp(dir) || store_open(&st, dir, NULL) != AM_OK)
        abort();
    syncstore_init(&ss, st);
    crypto_sign_seed_keypair(pk, sk, seed);
    memset(netkey, 3, sizeof netkey);
    memset(install, 5, sizeof install);
    /* a little content, so HEADS and ranges meet something */
    for (int i = 0; i < 3; i++)
        if (store_append(st, sk, ops, lens, 1, 1700000000000ULL, NULL) != AM_OK)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sync_session s;
    struct sync_config cfg = {0};
    size_t n;

    init_once();
    if (size < 1)
        return 0;
    cfg.initiator = data[0] & 1;
    cfg.netkey = netkey;
    cfg.sk = sk;
    cfg.install_id = install;
    cfg.store = &ss;
    if (sync_init(&s, &cfg) != AM_OK)
        abort();
    if (data[0] & 2) {
        /* raw bytes from the network before any authentication */
        sync_feed(&s, data + 1, size - 1);
    } else {
        sync_debug_message(&s, data + 1, size - 1);
        sync_output(&s, &n); /* whatever the message asked for is produced, bounded */
        if (n > (4u << 20))
            abort();
    }
    sync_free(&s);
    return 0;
}
