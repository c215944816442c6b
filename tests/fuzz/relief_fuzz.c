/*
 * relief_fuzz.c: libFuzzer target for the relief op decoder (ops come inside entries from
 * the network and sticks). Whatever decodes must re-encode, and the re-encoding must
 * decode to the same bytes again; the object key of a decoded op must encode; the checks
 * that need the entry's author give a documented code, and a succession's object takes it.
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
    /* the checks that need the entry's author (a succession's two keys): documented codes */
    {
        static const uint8_t author[AM_PK_LEN] = {7};
        int rc = relief_op_check_author(&op, author, err, sizeof err);
        if (rc != AM_OK && rc != AM_EMALFORMED && rc != AM_EBADSIG)
            abort();
        if (op.type == RELIEF_T_SUCCESSION && relief_op_key(&op, NULL, &key) == AM_OK) {
            /* its object takes it (whatever osig says: apply trusts validated input) */
            struct relief_obj *o = relief_obj_new(&key);
            struct relief_ref ref = {{7}, 1};
            if (!o)
                abort();
            rc = relief_obj_apply(o, &op, &ref, 1, NULL);
            if (rc != AM_OK &&
                !(rc == AM_EINVAL && op.old[0] == 7 && !memcmp(op.old, author, AM_PK_LEN)))
                abort();
            if (relief_obj_dump(o, buf2, sizeof buf2, &len2) != AM_OK)
                abort();
            relief_obj_free(o);
        }
    }
    /* a shipment's op: its object takes it, and so does every cell its lines name */
    if (op.type >= RELIEF_T_SHIP_NEW && op.type <= RELIEF_T_SHIP_CXL &&
        relief_op_key(&op, hash, &key) == AM_OK) {
        static uint8_t view[2 * AM_OP_MAX];
        struct relief_ref ref = {{7}, 1};
        uint32_t i = 0;
        do {
            struct relief_obj *o = relief_obj_new(&key);
            if (!o || relief_obj_apply(o, &op, &ref, 1, hash) != AM_OK ||
                relief_obj_dump(o, view, sizeof view, &len2) != AM_OK)
                abort();
            relief_obj_free(o);
        } while (relief_op_cell(&op, i++, &key) == AM_OK);
    }
    return 0;
}
