/*
 * beacon_fuzz.c: libFuzzer target for the discovery beacon decoder (datagrams from
 * anyone on the local network) and the header sniffer used for diagnosis.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "beacon.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t key[BEACON_KEY_LEN];
    static int init;
    struct beacon b;
    int rc;

    if (!init) {
        uint8_t netkey[AM_NETKEY_LEN];
        if (sodium_init() < 0)
            abort();
        memset(netkey, 9, sizeof netkey);
        beacon_key(netkey, key);
        init = 1;
    }
    beacon_sniff(data, size);
    rc = beacon_decode(key, data, size, 29000000, BEACON_WINDOW_MIN, &b);
    if (rc == AM_OK && size != BEACON_LEN)
        abort(); /* only a whole, authentic beacon decodes */
    return 0;
}
