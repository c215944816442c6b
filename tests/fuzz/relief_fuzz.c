/*
 * relief_fuzz.c: libFuzzer target for the relief op decoder (ops come inside entries from
 * the network and sticks). Whatever decodes must re-encode, and the re-encoding must
 * decode to the same bytes again; the object key of a decoded op must encode.
 */
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "relief.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[AM_OP_MAX], buf2[AM_OP_MAX];
    struct relief_op op, op2;
    struct relief_key key;
    uint8_t kbuf[RELIEF_KEY_MAX], hash[AM_HASH_LEN] = {1};
    char err[RELIEF_ERR_MAX];
    size_t len, len2, klen;

    if (relief_op_decode(data, size, &op, err, sizeof err) != AM_OK)
        return 0;
    if (relief_op_encode(&op, buf, sizeof buf, &len, err, sizeof err) != AM_OK)
        abort(); /* what decodes is valid, so it encodes */
    if (relief_op_decode(buf, len, &op2, err, sizeof err) != AM_OK)
        abort();
    if (relief_op_encode(&op2, buf2, sizeof buf2, &len2, err, sizeof err) != AM_OK || len2 != len ||
        memcmp(buf, buf2, len) != 0)
        abort(); /* the canonical form is a fixed point */
    if (relief_op_key(&op, hash, &key) == AM_OK && relief_key_encode(&key, kbuf, &klen) != AM_OK)
        abort();
    return 0;
}
