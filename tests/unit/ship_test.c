/*
 * ship_test.c: shipments in the pure core (PROTOCOL.md 10.4, 10.7, 10.8.4, 10.8.6, 10.9):
 * the ship.* ops' codec and strict decoding (every rule of a line, the limits, a shipment
 * to its own site), the cells a dispatch or a receipt names, the shipment's status and the
 * receipt that counts, the stock records in cells (only the least record of a shipment and
 * direction moves stock), view bytes equal in every order of arrival with duplicates, and
 * the cell record's round trip. Seeded orders print their seed (AM_SEED=...).
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "relief.h"
#include "relief_tu.h"
#include "testutil.h"

static const uint8_t SHIP[RELIEF_ID_LEN] = {0xab, 1, 2,  3,  4,  5,  6,  7,
                                            8,    9, 10, 11, 12, 13, 14, 15};
static const uint8_t NEED[RELIEF_ID_LEN] = {0x5e, 1, 2,  3,  4,  5,  6,  7,
                                            8,    9, 10, 11, 12, 13, 14, 15};

static struct relief_line L(const char *item, int64_t q, const char *lot, uint32_t exp, int need) {
    struct relief_line l;
    memset(&l, 0, sizeof l);
    l.item = S(item);
    l.q = q;
    if (lot)
        l.lot = S(lot);
    l.exp = exp;
    if (need) {
        l.has_need = 1;
        memcpy(l.need, NEED, RELIEF_ID_LEN);
    }
    return l;
}

/* A ship op of type t with lines ln[0..n). */
static void
ship_op(struct relief_op *op, int t, const char *site, const struct relief_line *ln, uint32_t n)
{
    memset(op, 0, sizeof *op);
    op->type = t;
    op->has = 0;
    if (t != RELIEF_T_SHIP_NEW) {
        memcpy(op->ship, SHIP, RELIEF_ID_LEN);
        op->has |= RELIEF_HAS(RELIEF_K_SHIP);
    }
    if (t == RELIEF_T_SHIP_NEW) {
        op->to = S("clinic-2");
        op->has |= RELIEF_HAS(RELIEF_K_TO);
    }
    if (t != RELIEF_T_SHIP_CXL) {
        op->site = S(site);
        op->ln = (struct relief_lines){n, ln, NULL};
        op->has |= RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_LN);
    }
}

/* A map of pairs + 1 pairs, "t" first (the header's mb_begin, then the type). */
static void mb_begin_t(struct mb *m, const char *type, uint32_t pairs)
{
    mb_begin(m, pairs + 1);
    mb_str(m, "t");
    mb_str(m, type);
}

static void mb_ship(struct mb *m)
{
    mb_str(m, "ship");
    msgpack_pack_bin(&m->pk, RELIEF_ID_LEN);
    msgpack_pack_bin_body(&m->pk, SHIP, RELIEF_ID_LEN);
}

/* A ship.dsp from hub-north whose one line is [item, q, lot, exp, need] as given by the
 * packer callback. */
static void dsp_with_line(struct mb *m, void (*line)(msgpack_packer *pk))
{
    mb_begin_t(m, "ship.dsp", 3);
    mb_ship(m);
    mb_str(m, "site");
    mb_str(m, "hub-north");
    mb_str(m, "ln");
    msgpack_pack_array(&m->pk, 1);
    line(&m->pk);
}

static void pk_s(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}
static void line_neg(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 5);
    pk_s(pk, "ors");
    msgpack_pack_int64(pk, -3);
    msgpack_pack_nil(pk), msgpack_pack_nil(pk), msgpack_pack_nil(pk);
}
static void line_over(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 5);
    pk_s(pk, "ors");
    msgpack_pack_uint64(pk, (uint64_t)RELIEF_QTY_MAX + 1);
    msgpack_pack_nil(pk), msgpack_pack_nil(pk), msgpack_pack_nil(pk);
}
static void line_zero(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 5);
    pk_s(pk, "ors");
    msgpack_pack_uint64(pk, 0);
    msgpack_pack_nil(pk), msgpack_pack_nil(pk), msgpack_pack_nil(pk);
}
static void line_four(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 4);
    pk_s(pk, "ors");
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_nil(pk), msgpack_pack_nil(pk);
}
static void line_bad_item(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 5);
    pk_s(pk, "ORS!");
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_nil(pk), msgpack_pack_nil(pk), msgpack_pack_nil(pk);
}
static void line_bad_lot(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 5);
    pk_s(pk, "ors");
    msgpack_pack_uint64(pk, 1);
    pk_s(pk, "-L1");
    msgpack_pack_nil(pk), msgpack_pack_nil(pk);
}
static void line_bad_exp(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 5);
    pk_s(pk, "ors");
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_nil(pk);
    msgpack_pack_uint64(pk, (uint64_t)RELIEF_DAY_MAX + 1);
    msgpack_pack_nil(pk);
}
static void line_bad_need(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 5);
    pk_s(pk, "ors");
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_nil(pk), msgpack_pack_nil(pk);
    msgpack_pack_bin(pk, 15);
    msgpack_pack_bin_body(pk, NEED, 15);
}

/* ---- the ops ---- */

Test(ship, codec_round_trip_of_every_type)
{
    struct relief_line ln[3] = {L("ors", 40, NULL, 0, 1), L("water-5l", 7, "W-2", 0, 0),
                                L("ors", 5, "L1", 0, 0)};
    struct relief_line dl[2] = {L("ors", 30, "L1", 20454, 1), L("ors", 10, "L2", 20500, 1)};
    uint8_t buf[AM_OP_MAX], hash[AM_HASH_LEN];
    struct relief_op op, d;
    struct relief_key k;
    struct relief_line_iter it;
    struct relief_line x;
    size_t len;
    char err[RELIEF_ERR_MAX];
    uint32_t i = 0;

    ship_op(&op, RELIEF_T_SHIP_NEW, "hub-north", ln, 3);
    op.doc = S("WB-0042");
    op.by = 20460;
    op.note = S("by truck");
    op.has |= RELIEF_HAS(RELIEF_K_DOC) | RELIEF_HAS(RELIEF_K_BY) | RELIEF_HAS(RELIEF_K_NOTE);
    len = enc(&op, buf, sizeof buf);
    cr_assert_eq(relief_op_decode(buf, len, &d, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(d.type, RELIEF_T_SHIP_NEW);
    cr_assert_eq(d.ln.n, 3);
    cr_assert_eq(d.by, 20460);
    cr_assert_eq(d.doc.len, 7);
    cr_assert(!memcmp(d.to.p, "clinic-2", 8));
    relief_lines_begin(&it, &d.ln);
    while (relief_lines_next(&it, &x)) {
        cr_assert_eq(x.item.len, ln[i].item.len);
        cr_assert(!memcmp(x.item.p, ln[i].item.p, x.item.len));
        cr_assert_eq(x.q, ln[i].q);
        cr_assert_eq(x.lot.len, ln[i].lot.len);
        cr_assert_eq(x.has_need, ln[i].has_need);
        i++;
    }
    cr_assert_eq(i, 3);
    /* its key: from the entry's hash, as a need's */
    cr_assert_eq(relief_op_key(&d, NULL, &k), AM_EINVAL);
    memset(hash, 0x77, sizeof hash);
    cr_assert_eq(relief_op_key(&d, hash, &k), AM_OK);
    cr_assert_eq(k.kind, RELIEF_OBJ_SHIP);
    cr_assert_eq(k.need[0], 0x77);
    /* and re-encoding the decoded op gives the same bytes */
    {
        uint8_t b2[AM_OP_MAX];
        cr_assert_eq(enc(&d, b2, sizeof b2), len);
        cr_assert(!memcmp(buf, b2, len));
    }

    ship_op(&op, RELIEF_T_SHIP_DSP, "hub-north", dl, 2);
    len = enc(&op, buf, sizeof buf);
    cr_assert_eq(relief_op_decode(buf, len, &d, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(relief_op_key(&d, NULL, &k), AM_OK);
    cr_assert_eq(k.kind, RELIEF_OBJ_SHIP);
    cr_assert(!memcmp(k.need, SHIP, RELIEF_ID_LEN));

    ship_op(&op, RELIEF_T_SHIP_RCV, "clinic-2", dl, 2);
    op.note = S("two boxes wet");
    op.has |= RELIEF_HAS(RELIEF_K_NOTE);
    len = enc(&op, buf, sizeof buf);
    cr_assert_eq(relief_op_decode(buf, len, &d, err, sizeof err), AM_OK, "%s", err);

    ship_op(&op, RELIEF_T_SHIP_CXL, NULL, NULL, 0);
    len = enc(&op, buf, sizeof buf);
    cr_assert_eq(relief_op_decode(buf, len, &d, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(d.type, RELIEF_T_SHIP_CXL);
}

Test(ship, strict_decoding_refuses_every_bad_field)
{
    struct mb m;
    struct relief_line ln[1] = {L("ors", 1, NULL, 0, 0)};
    struct relief_line many[RELIEF_LINES_MAX + 1];
    struct relief_op op;
    uint8_t buf[AM_OP_MAX];
    size_t len;

    /* a shipment to its own site */
    ship_op(&op, RELIEF_T_SHIP_NEW, "clinic-2", ln, 1);
    cr_assert_eq(relief_op_encode(&op, buf, sizeof buf, &len, NULL, 0), AM_EINVAL);
    mb_begin_t(&m, "ship.new", 3);
    mb_str(&m, "site"), mb_str(&m, "clinic-2");
    mb_str(&m, "to"), mb_str(&m, "clinic-2");
    mb_str(&m, "ln");
    msgpack_pack_array(&m.pk, 1);
    line_zero(&m.pk);
    mb_expect(&m, AM_EMALFORMED, "at least 1"); /* lines are read first */
    mb_begin_t(&m, "ship.new", 3);
    mb_str(&m, "site"), mb_str(&m, "clinic-2");
    mb_str(&m, "to"), mb_str(&m, "clinic-2");
    mb_str(&m, "ln");
    msgpack_pack_array(&m.pk, 1);
    msgpack_pack_array(&m.pk, 5);
    pk_s(&m.pk, "ors");
    msgpack_pack_uint64(&m.pk, 1);
    msgpack_pack_nil(&m.pk), msgpack_pack_nil(&m.pk), msgpack_pack_nil(&m.pk);
    mb_expect(&m, AM_EMALFORMED, "goes to another site");

    /* no lines, too many lines */
    ship_op(&op, RELIEF_T_SHIP_DSP, "hub-north", ln, 0);
    cr_assert_eq(relief_op_encode(&op, buf, sizeof buf, &len, NULL, 0), AM_EINVAL);
    for (int i = 0; i <= RELIEF_LINES_MAX; i++)
        many[i] = L("ors", 1, NULL, 0, 0);
    ship_op(&op, RELIEF_T_SHIP_DSP, "hub-north", many, RELIEF_LINES_MAX);
    cr_assert_eq(relief_op_encode(&op, buf, sizeof buf, &len, NULL, 0), AM_OK);
    ship_op(&op, RELIEF_T_SHIP_DSP, "hub-north", many, RELIEF_LINES_MAX + 1);
    cr_assert_eq(relief_op_encode(&op, buf, sizeof buf, &len, NULL, 0), AM_ELIMIT);

    /* each field of a line */
    dsp_with_line(&m, line_neg);
    mb_expect(&m, AM_EMALFORMED, "must not be negative (got -3)");
    dsp_with_line(&m, line_over);
    mb_expect(&m, AM_ELIMIT, "over the limit");
    dsp_with_line(&m, line_zero);
    mb_expect(&m, AM_EMALFORMED, "at least 1");
    dsp_with_line(&m, line_four);
    mb_expect(&m, AM_EMALFORMED, "must be [item, q");
    dsp_with_line(&m, line_bad_item);
    mb_expect(&m, AM_EMALFORMED, "item");
    dsp_with_line(&m, line_bad_lot);
    mb_expect(&m, AM_EMALFORMED, "the lot");
    dsp_with_line(&m, line_bad_exp);
    mb_expect(&m, AM_EMALFORMED, "the expiry");
    dsp_with_line(&m, line_bad_need);
    mb_expect(&m, AM_EMALFORMED, "the need");

    /* a receipt may say 0 arrived of a line; an expiry in a creation is refused */
    mb_begin_t(&m, "ship.rcv", 3);
    mb_ship(&m);
    mb_str(&m, "site"), mb_str(&m, "clinic-2");
    mb_str(&m, "ln");
    msgpack_pack_array(&m.pk, 1);
    line_zero(&m.pk);
    mb_expect(&m, AM_OK, NULL);
    mb_begin_t(&m, "ship.new", 3);
    mb_str(&m, "site"), mb_str(&m, "hub-north");
    mb_str(&m, "to"), mb_str(&m, "clinic-2");
    mb_str(&m, "ln");
    msgpack_pack_array(&m.pk, 1);
    msgpack_pack_array(&m.pk, 5);
    pk_s(&m.pk, "ors");
    msgpack_pack_uint64(&m.pk, 1);
    msgpack_pack_nil(&m.pk);
    msgpack_pack_uint64(&m.pk, 20000);
    msgpack_pack_nil(&m.pk);
    mb_expect(&m, AM_EMALFORMED, "the dispatch names the lots");

    /* keys: missing, unknown for the type, the id's size */
    mb_begin_t(&m, "ship.cxl", 0);
    mb_expect(&m, AM_EMALFORMED, "missing key \"ship\"");
    mb_begin_t(&m, "ship.cxl", 2);
    mb_ship(&m);
    mb_str(&m, "to"), mb_str(&m, "clinic-2");
    mb_expect(&m, AM_EMALFORMED, "unknown key");
    mb_begin_t(&m, "ship.cxl", 1);
    mb_str(&m, "ship");
    msgpack_pack_bin(&m.pk, 8);
    msgpack_pack_bin_body(&m.pk, SHIP, 8);
    mb_expect(&m, AM_EMALFORMED, "16 bytes");
    /* a ship type this version does not know is newer, not invalid */
    mb_begin_t(&m, "ship.split", 1);
    mb_ship(&m);
    mb_expect(&m, AM_EVERSION, NULL);
}

Test(ship, cells_of_a_dispatch_are_its_distinct_site_item_lot_expiry)
{
    struct relief_line dl[4] = {L("ors", 3, "L1", 20454, 1), L("ors", 2, "L1", 20454, 0),
                                L("ors", 1, NULL, 0, 0), L("water-5l", 4, "L1", 20454, 0)};
    struct relief_op op;
    struct relief_key k;
    uint32_t n = 0;

    ship_op(&op, RELIEF_T_SHIP_DSP, "hub-north", dl, 4);
    while (relief_op_cell(&op, n, &k) == AM_OK) {
        cr_assert_eq(k.kind, RELIEF_OBJ_CELL);
        cr_assert_str_eq(k.site, "hub-north");
        n++;
    }
    cr_assert_eq(n, 3);
    cr_assert_eq(relief_op_cell(&op, 1, &k), AM_OK);
    cr_assert_str_eq(k.lot, "");
    cr_assert_eq(k.exp, 0);
    ship_op(&op, RELIEF_T_SHIP_NEW, "hub-north", dl, 1);
    cr_assert_eq(relief_op_cell(&op, 0, &k), AM_ENOTFOUND); /* a creation moves nothing */
}

/* ---- merge rules ---- */

static struct relief_obj *new_cell(const char *site, const char *lot, uint32_t exp)
{
    struct relief_key k;
    memset(&k, 0, sizeof k);
    k.kind = RELIEF_OBJ_CELL;
    strcpy(k.site, site);
    strcpy(k.item, "ors");
    if (lot)
        strcpy(k.lot, lot);
    k.exp = exp;
    return relief_obj_new(&k);
}

static int64_t value(struct relief_obj *c)
{
    struct relief_cell_view v;
    cr_assert_eq(relief_cell_view(c, &v), AM_OK);
    return v.value;
}

Test(ship, a_shipment_moves_stock_once_per_direction_in_each_cell)
{
    struct relief_line dl[2] = {L("ors", 30, "L1", 20454, 1), L("ors", 10, "L1", 20454, 0)};
    struct relief_line got[2] = {L("ors", 25, "L1", 20454, 1), L("ors", 10, "L1", 20454, 0)};
    struct relief_line other[1] = {L("ors", 99, "L1", 20454, 0)};
    struct relief_obj *a = new_cell("hub-north", "L1", 20454);
    struct relief_obj *b = new_cell("clinic-2", "L1", 20454);
    struct relief_op mv, dsp, rcv, rcv2, cnt;
    struct relief_ref r;
    struct relief_cell_view v;

    memset(&mv, 0, sizeof mv);
    mv.type = RELIEF_T_STOCK_MOVE;
    mv.site = S("hub-north");
    mv.item = S("ors");
    mv.lot = S("L1");
    mv.exp = 20454;
    mv.q = 100;
    mv.reason = RELIEF_R_RECEIVED;
    mv.has = RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_ITEM) | RELIEF_HAS(RELIEF_K_LOT) |
             RELIEF_HAS(RELIEF_K_EXP) | RELIEF_HAS(RELIEF_K_Q) | RELIEF_HAS(RELIEF_K_R);
    r = R(1, 1);
    cr_assert_eq(relief_obj_apply(a, &mv, &r, 100, NULL), AM_OK);

    ship_op(&dsp, RELIEF_T_SHIP_DSP, "hub-north", dl, 2);
    r = R(1, 2);
    cr_assert_eq(relief_obj_apply(a, &dsp, &r, 200, NULL), AM_OK);
    cr_assert_eq(value(a), 60, "the dispatch's two lines of the cell: 40 out");
    cr_assert_eq(relief_obj_apply(a, &dsp, &r, 200, NULL), AM_OK); /* a duplicate */
    cr_assert_eq(value(a), 60);
    /* a dispatch applies only to the cells of its site that its lines name */
    cr_assert_eq(relief_obj_apply(b, &dsp, &r, 200, NULL), AM_EINVAL);
    /* a second dispatch of the shipment, later: it moves nothing */
    ship_op(&dsp, RELIEF_T_SHIP_DSP, "hub-north", other, 1);
    r = R(2, 1);
    cr_assert_eq(relief_obj_apply(a, &dsp, &r, 300, NULL), AM_OK);
    cr_assert_eq(value(a), 60);
    cr_assert_eq(relief_cell_nship(a), 2);
    /* the same ref with other content is a fork */
    cr_assert_eq(relief_obj_apply(a, &dsp, &r, 301, NULL), AM_EFORK);

    /* receipts: the least (hlc, author, seq) counts, whenever it arrives */
    ship_op(&rcv, RELIEF_T_SHIP_RCV, "clinic-2", got, 2);
    ship_op(&rcv2, RELIEF_T_SHIP_RCV, "clinic-2", dl, 2);
    r = R(3, 1);
    cr_assert_eq(relief_obj_apply(b, &rcv2, &r, 500, NULL), AM_OK);
    cr_assert_eq(value(b), 40);
    r = R(4, 1);
    cr_assert_eq(relief_obj_apply(b, &rcv, &r, 400, NULL), AM_OK);
    cr_assert_eq(value(b), 35, "the earlier receipt counts, the later is a duplicate");
    cr_assert_eq(relief_cell_view(b, &v), AM_OK);
    cr_assert_eq(v.n_moves, 0);
    cr_assert_eq(relief_cell_nship(b), 2);

    /* a count absorbs a receipt in its past like any move */
    memset(&cnt, 0, sizeof cnt);
    cnt.type = RELIEF_T_STOCK_COUNT;
    cnt.site = S("clinic-2");
    cnt.item = S("ors");
    cnt.lot = S("L1");
    cnt.exp = 20454;
    cnt.q = 33;
    {
        struct relief_ref ctx[1] = {R(4, 1)};
        cnt.ctx = (struct relief_refs){1, ctx, NULL};
        cnt.has = RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_ITEM) | RELIEF_HAS(RELIEF_K_LOT) |
                  RELIEF_HAS(RELIEF_K_EXP) | RELIEF_HAS(RELIEF_K_Q) | RELIEF_HAS(RELIEF_K_CTX);
        r = R(5, 1);
        cr_assert_eq(relief_obj_apply(b, &cnt, &r, 600, NULL), AM_OK);
    }
    cr_assert_eq(value(b), 33);
    relief_obj_free(a);
    relief_obj_free(b);
}

static struct relief_obj *new_ship(void)
{
    struct relief_key k;
    memset(&k, 0, sizeof k);
    k.kind = RELIEF_OBJ_SHIP;
    memcpy(k.need, SHIP, RELIEF_ID_LEN);
    return relief_obj_new(&k);
}

Test(ship, status_and_the_receipt_that_counts)
{
    struct relief_line ln[1] = {L("ors", 40, NULL, 0, 1)};
    struct relief_line dl[1] = {L("ors", 40, "L1", 20454, 1)};
    struct relief_obj *o = new_ship();
    struct relief_op op;
    struct relief_ref r;
    struct relief_ship_view v;
    uint8_t hash[AM_HASH_LEN] = {0};

    memcpy(hash, SHIP, RELIEF_ID_LEN);
    ship_op(&op, RELIEF_T_SHIP_NEW, "hub-north", ln, 1);
    r = R(1, 1);
    cr_assert_eq(relief_obj_apply(o, &op, &r, 100, NULL), AM_EINVAL, "a creation needs its hash");
    hash[0] ^= 1;
    cr_assert_eq(relief_obj_apply(o, &op, &r, 100, hash), AM_EINVAL, "of this shipment");
    hash[0] ^= 1;
    cr_assert_eq(relief_obj_apply(o, &op, &r, 100, hash), AM_OK);
    cr_assert_eq(relief_ship_view(o, &v), AM_OK);
    cr_assert_eq(v.status, RELIEF_SHIP_CREATED);

    ship_op(&op, RELIEF_T_SHIP_DSP, "hub-north", dl, 1);
    r = R(1, 2);
    cr_assert_eq(relief_obj_apply(o, &op, &r, 200, NULL), AM_OK);
    cr_assert_eq(relief_ship_view(o, &v), AM_OK);
    cr_assert_eq(v.status, RELIEF_SHIP_DISPATCHED);

    /* a cancel that did not see the dispatch: cancelled, and the dispatch still shown */
    ship_op(&op, RELIEF_T_SHIP_CXL, NULL, NULL, 0);
    r = R(2, 1);
    cr_assert_eq(relief_obj_apply(o, &op, &r, 150, NULL), AM_OK);
    cr_assert_eq(relief_ship_view(o, &v), AM_OK);
    cr_assert_eq(v.status, RELIEF_SHIP_CANCELLED);
    cr_assert(v.dsp.present);

    /* a receipt wins over the cancel */
    ship_op(&op, RELIEF_T_SHIP_RCV, "clinic-2", dl, 1);
    r = R(3, 1);
    cr_assert_eq(relief_obj_apply(o, &op, &r, 400, NULL), AM_OK);
    r = R(4, 1);
    cr_assert_eq(relief_obj_apply(o, &op, &r, 300, NULL), AM_OK);
    cr_assert_eq(relief_ship_view(o, &v), AM_OK);
    cr_assert_eq(v.status, RELIEF_SHIP_RECEIVED);
    cr_assert_eq(v.n_rcv, 2);
    cr_assert_eq(v.n_dup, 1);
    cr_assert_eq(v.rcv.hlc, 300, "the least receipt counts");
    cr_assert_eq(v.dup[0].hlc, 400);
    cr_assert_eq(v.rcv.op.ln.n, 1);
    relief_obj_free(o);
}

/* ---- order independence ---- */

struct aop {
    struct relief_op op;
    struct relief_ref ref;
    uint64_t hlc;
};

static size_t dump(struct relief_obj *o, uint8_t *buf, size_t cap)
{
    size_t len;
    cr_assert_eq(relief_obj_dump(o, buf, cap, &len), AM_OK);
    return len;
}

Test(ship, views_are_the_same_bytes_in_every_order_with_duplicates)
{
    uint64_t seed = tu_seed("ship.orders"), st = seed;
    struct relief_line ln[2] = {L("ors", 40, NULL, 0, 1), L("ors", 5, "L2", 0, 0)};
    struct relief_line d1[2] = {L("ors", 40, "L1", 20454, 1), L("ors", 5, "L2", 20500, 0)};
    struct relief_line d2[1] = {L("ors", 45, NULL, 0, 0)};
    struct relief_line r1[2] = {L("ors", 38, "L1", 20454, 1), L("ors", 5, "L2", 20500, 0)};
    struct aop ops[7];
    uint8_t hash[AM_HASH_LEN] = {0}, ref_s[8192], ref_c[8192], ref_rec[8192], b[8192];
    size_t ls = 0, lc = 0, lrec, l;
    int n = 0;

    memcpy(hash, SHIP, RELIEF_ID_LEN);
    ship_op(&ops[n].op, RELIEF_T_SHIP_NEW, "hub-north", ln, 2);
    ops[n].ref = R(1, 1), ops[n++].hlc = 10;
    ship_op(&ops[n].op, RELIEF_T_SHIP_DSP, "hub-north", d1, 2);
    ops[n].ref = R(1, 2), ops[n++].hlc = 20;
    ship_op(&ops[n].op, RELIEF_T_SHIP_DSP, "hub-north", d2, 1); /* dispatched twice */
    ops[n].ref = R(2, 1), ops[n++].hlc = 21;
    ship_op(&ops[n].op, RELIEF_T_SHIP_RCV, "clinic-2", r1, 2);
    ops[n].ref = R(3, 1), ops[n++].hlc = 30;
    ship_op(&ops[n].op, RELIEF_T_SHIP_RCV, "clinic-2", d1, 2);
    ops[n].ref = R(4, 1), ops[n++].hlc = 30; /* same stamp: the author breaks the tie */
    ship_op(&ops[n].op, RELIEF_T_SHIP_CXL, NULL, NULL, 0);
    ops[n].ref = R(2, 2), ops[n++].hlc = 25;
    ship_op(&ops[n].op, RELIEF_T_SHIP_RCV, "clinic-2", d1, 2);
    ops[n].ref = R(5, 9), ops[n++].hlc = 35;

    for (int round = 0; round < 50; round++) {
        struct relief_obj *s = new_ship(), *c = new_cell("clinic-2", "L1", 20454), *c2;
        int order[7 * 2], k = 0;
        for (int i = 0; i < n; i++)
            order[k++] = i, order[k++] = i; /* every op twice */
        for (int i = k - 1; round && i > 0; i--) {
            int j = (int)(tu_rand(&st) % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int i = 0; i < k; i++) {
            const struct aop *a = &ops[order[i]];
            cr_assert_eq(relief_obj_apply(s, &a->op, &a->ref, a->hlc,
                                          a->op.type == RELIEF_T_SHIP_NEW ? hash : NULL),
                         AM_OK);
            if (a->op.type == RELIEF_T_SHIP_RCV)
                cr_assert_eq(relief_obj_apply(c, &a->op, &a->ref, a->hlc, NULL), AM_OK);
        }
        l = dump(c, b, sizeof b);
        cr_assert_eq(relief_cell_save(c, ref_rec + 0, sizeof ref_rec, &lrec), AM_OK);
        /* the cell record gives back the same cell */
        c2 = new_cell("clinic-2", "L1", 20454);
        cr_assert_eq(relief_cell_load(c2, ref_rec, lrec), AM_OK);
        {
            uint8_t b2[8192];
            size_t l2 = dump(c2, b2, sizeof b2);
            cr_assert_eq(l2, l);
            cr_assert(!memcmp(b, b2, l));
        }
        relief_obj_free(c2);
        if (round == 0) {
            ls = dump(s, ref_s, sizeof ref_s);
            lc = l;
            memcpy(ref_c, b, l);
            cr_assert_eq(value(c), 38, "the receipt of author 3 (least) counts");
        } else {
            l = dump(s, b, sizeof b);
            cr_assert(l == ls && !memcmp(b, ref_s, l), "shipment view differs; AM_SEED=%llu",
                      (unsigned long long)seed);
            l = dump(c, b, sizeof b);
            cr_assert(l == lc && !memcmp(b, ref_c, l), "cell view differs; AM_SEED=%llu",
                      (unsigned long long)seed);
        }
        relief_obj_free(s);
        relief_obj_free(c);
    }
}

static int none(void *ctx, const struct relief_key *k)
{
    (void)ctx;
    (void)k;
    return 0;
}

Test(ship, check_refs_names_what_is_missing)
{
    struct relief_line ln[1] = {L("ors", 4, NULL, 0, 1)};
    struct relief_op op;
    char err[RELIEF_ERR_MAX];

    ship_op(&op, RELIEF_T_SHIP_DSP, "hub-north", ln, 1);
    cr_assert_eq(relief_op_check_refs(&op, none, NULL, err, sizeof err), AM_ENOTFOUND);
    cr_assert(strstr(err, "shipment ab0102") && strstr(err, "is not known here"), "%s", err);
    ship_op(&op, RELIEF_T_SHIP_NEW, "hub-north", ln, 1);
    cr_assert_eq(relief_op_check_refs(&op, none, NULL, err, sizeof err), AM_ENOTFOUND);
    cr_assert(strstr(err, "site \"hub-north\" is not defined"), "%s", err);
}

/* ---- every truncation and bit flip of each shipment op decodes to a documented code ---- */

Test(ship, truncation_and_bit_flip_sweeps)
{
    struct relief_line ln[2] = {L("ors", 40, "L1", 20454, 1), L("water-5l", 0, NULL, 0, 0)};
    struct relief_line nl[1] = {L("ors", 40, "L1", 0, 1)};
    static const int types[] = {RELIEF_T_SHIP_NEW, RELIEF_T_SHIP_DSP, RELIEF_T_SHIP_RCV,
                                RELIEF_T_SHIP_CXL};
    uint8_t buf[AM_OP_MAX], m[AM_OP_MAX], re[AM_OP_MAX];
    unsigned ok_flips = 0;

    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        struct relief_op op, d;
        size_t len, rl;
        ship_op(&op, types[t], types[t] == RELIEF_T_SHIP_RCV ? "clinic-2" : "hub-north",
                types[t] == RELIEF_T_SHIP_NEW ? nl : ln, types[t] == RELIEF_T_SHIP_RCV ? 2 : 1);
        len = enc(&op, buf, sizeof buf);
        for (size_t cut = 0; cut < len; cut++) {
            int rc = relief_op_decode(buf, cut, &d, NULL, 0);
            cr_assert(rc == AM_EMALFORMED || rc == AM_ELIMIT, "cut %zu: %d", cut, rc);
        }
        for (size_t i = 0; i < len; i++)
            for (int b = 0; b < 8; b++) {
                int rc;
                memcpy(m, buf, len);
                m[i] ^= (uint8_t)(1u << b);
                rc = relief_op_decode(m, len, &d, NULL, 0);
                cr_assert(rc == AM_OK || rc == AM_EMALFORMED || rc == AM_ELIMIT ||
                              rc == AM_EVERSION,
                          "byte %zu bit %d: %d", i, b, rc);
                if (rc != AM_OK)
                    continue;
                ok_flips++;
                cr_assert_eq(relief_op_encode(&d, re, sizeof re, &rl, NULL, 0), AM_OK,
                             "what decodes encodes (byte %zu bit %d)", i, b);
            }
    }
    cr_assert(ok_flips > 0, "some flips (a letter of a name, a quantity) stay valid");
}
