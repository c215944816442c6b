/*
 * cell_record_fuzz.c: libFuzzer target for the cell record loader (crdt/relief_save.c,
 * PROTOCOL.md section 7.1; records come from the views database, which a damaged disk or
 * a copied store may hand over in any state). The input is loaded into a fresh cell of a
 * fixed key. Whatever it is, loading must not crash and must say AM_OK or AM_ECORRUPT.
 * What loads must save; that record must load into another fresh cell as the same cell
 * (same ops, same view) and save to the same bytes again: the canonical form is a fixed
 * point. Everything is freed on every path, so LeakSanitizer sees any leak.
 */
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "relief.h"
#include "fuzz.h"

/* The cell's record in a malloc'd buffer of exactly its size (asked for first with a
 * zero-byte buffer, as a store does). */
static uint8_t *save_all(const struct relief_obj *o, size_t *len)
{
    size_t need = 0;
    uint8_t *buf;
    CHECK(relief_cell_save(o, NULL, 0, &need) == AM_ELIMIT);
    CHECK(need >= 2);
    buf = malloc(need);
    CHECK(buf);
    CHECK(relief_cell_save(o, buf, need, len) == AM_OK);
    CHECK(*len == need);
    return buf;
}

/* The cell's view dump, the same way. */
static uint8_t *dump_all(struct relief_obj *o, size_t *len)
{
    size_t need = 0;
    uint8_t *buf;
    CHECK(relief_obj_dump(o, NULL, 0, &need) == AM_ELIMIT);
    buf = malloc(need);
    CHECK(buf);
    CHECK(relief_obj_dump(o, buf, need, len) == AM_OK);
    CHECK(*len == need);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct relief_key key = {.kind = RELIEF_OBJ_CELL,
                                          .site = "hub-north",
                                          .item = "ors-20.5",
                                          .lot = "L2026-03",
                                          .exp = 20640};
    struct relief_obj *o = relief_obj_new(&key), *o2 = relief_obj_new(&key);
    uint8_t *r1 = NULL, *r2 = NULL, *d1 = NULL, *d2 = NULL;
    size_t l1, l2, dl1, dl2;
    const uint8_t *authors;
    uint32_t na;
    int rc;

    CHECK(o && o2);
    rc = relief_cell_load(o, data, size);
    CHECK(rc == AM_OK || rc == AM_ECORRUPT);
    if (rc != AM_OK)
        goto out;
    /* a record that loads has a readable author list inside the input */
    CHECK(relief_cell_record_authors(data, size, &authors, &na) == AM_OK);
    CHECK(authors >= data && (size_t)na * AM_PK_LEN <= size - (size_t)(authors - data));

    r1 = save_all(o, &l1);
    CHECK(relief_cell_load(o2, r1, l1) == AM_OK);
    CHECK(relief_obj_nops(o2) == relief_obj_nops(o));
    r2 = save_all(o2, &l2);
    CHECK(l2 == l1 && memcmp(r1, r2, l1) == 0);
    d1 = dump_all(o, &dl1);
    d2 = dump_all(o2, &dl2);
    CHECK(dl2 == dl1 && memcmp(d1, d2, dl1) == 0);

    /* loading the record again into a cell that holds its ops changes nothing */
    CHECK(relief_cell_load(o2, r1, l1) == AM_OK);
    CHECK(relief_obj_nops(o2) == relief_obj_nops(o));
out:
    free(r1);
    free(r2);
    free(d1);
    free(d2);
    relief_obj_free(o);
    relief_obj_free(o2);
    return 0;
}
