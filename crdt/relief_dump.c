/*
 * relief_dump.c: canonical msgpack bytes of an object's view (PROTOCOL.md
 * 10.9, "Views"). Fixed key order, shortest msgpack forms (msgpack-c's packer), and only
 * members that are functions of the set of ops: never an interning index, an arrival
 * position or a hash-table order. Never prints.
 */
#include <string.h>

#include <msgpack.h>

#include "am_err.h"
#include "relief_int.h"

static void pk_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pk_bool(msgpack_packer *pk, int b)
{
    if (b)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

static void pk_ref(msgpack_packer *pk, const struct relief_ref *r)
{
    uint8_t b[RELIEF_REF_LEN];
    relief_ref_pack(r, b);
    msgpack_pack_bin(pk, RELIEF_REF_LEN);
    msgpack_pack_bin_body(pk, b, RELIEF_REF_LEN);
}

static void pk_val(msgpack_packer *pk, int f, const struct relief_val *v)
{
    switch (f) {
    case RELIEF_F_NAME:
    case RELIEF_F_UNIT:
    case RELIEF_F_CAT:
    case RELIEF_F_NOTE:
        msgpack_pack_str(pk, v->len);
        msgpack_pack_str_body(pk, v->s ? v->s : "", v->len);
        break;
    case RELIEF_F_KIND:
        pk_cstr(pk, relief_kind_name((int)v->i));
        break;
    case RELIEF_F_PRI:
        pk_cstr(pk, relief_priority_name((int)v->i));
        break;
    case RELIEF_F_ST:
        pk_cstr(pk, relief_status_name((int)v->i));
        break;
    case RELIEF_F_Q:
        msgpack_pack_int64(pk, v->i);
        break;
    case RELIEF_F_BY:
        if (v->set)
            msgpack_pack_int64(pk, v->i);
        else
            msgpack_pack_nil(pk);
        break;
    case RELIEF_F_LL:
        if (v->set) {
            msgpack_pack_array(pk, 2);
            msgpack_pack_int64(pk, v->i);
            msgpack_pack_int64(pk, v->j);
        } else {
            msgpack_pack_nil(pk);
        }
        break;
    default:
        msgpack_pack_nil(pk);
        break;
    }
}

/* "name": {"cf": bool, "n": writes, "h": [[ref, hlc, value], ...]} */
static void pk_reg(struct relief_obj *o, msgpack_packer *pk, int f)
{
    const struct relief_regc *rc = &o->regs[f];
    pk_cstr(pk, relief_field_name(f));
    msgpack_pack_map(pk, 3);
    pk_cstr(pk, "cf");
    pk_bool(pk, rc->conflict);
    pk_cstr(pk, "n");
    msgpack_pack_uint32(pk, rc->n_writes);
    pk_cstr(pk, "h");
    msgpack_pack_array(pk, rc->n_heads);
    for (uint32_t i = 0; i < rc->n_heads; i++) {
        const struct relief_head *h = &o->heads[rc->off + i];
        msgpack_pack_array(pk, 3);
        pk_ref(pk, &h->ref);
        msgpack_pack_uint64(pk, h->hlc);
        pk_val(pk, f, &h->v);
    }
}

static void pk_count(msgpack_packer *pk, const struct relief_count_ref *c)
{
    msgpack_pack_array(pk, 3);
    pk_ref(pk, &c->ref);
    msgpack_pack_uint64(pk, c->hlc);
    msgpack_pack_int64(pk, c->q);
}

static void dump_need(struct relief_obj *o, msgpack_packer *pk)
{
    const struct relief_need_view *v = &o->need;
    static const int fields[] = {RELIEF_F_Q, RELIEF_F_PRI, RELIEF_F_NOTE, RELIEF_F_BY, RELIEF_F_ST};

    msgpack_pack_map(pk, 15);
    pk_cstr(pk, "k");
    pk_cstr(pk, "need");
    pk_cstr(pk, "id");
    msgpack_pack_bin(pk, RELIEF_ID_LEN);
    msgpack_pack_bin_body(pk, o->key.need, RELIEF_ID_LEN);
    pk_cstr(pk, "open");
    if (v->opened) {
        msgpack_pack_array(pk, 2);
        pk_ref(pk, &v->open_ref);
        msgpack_pack_uint64(pk, v->open_hlc);
    } else {
        msgpack_pack_nil(pk);
    }
    pk_cstr(pk, "site");
    if (v->opened)
        pk_cstr(pk, v->site);
    else
        msgpack_pack_nil(pk);
    pk_cstr(pk, "item");
    if (v->opened)
        pk_cstr(pk, v->item);
    else
        msgpack_pack_nil(pk);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        pk_reg(o, pk, fields[i]);
    pk_cstr(pk, "status");
    pk_cstr(pk, relief_status_name(v->status));
    pk_cstr(pk, "derived");
    pk_bool(pk, v->derived);
    pk_cstr(pk, "dlv");
    msgpack_pack_int64(pk, v->delivered);
    pk_cstr(pk, "ndlv");
    msgpack_pack_uint32(pk, v->n_deliveries);
    pk_cstr(pk, "sat");
    pk_bool(pk, v->saturated);
}

static void dump_cell(struct relief_obj *o, msgpack_packer *pk)
{
    const struct relief_cell_view *v = &o->cell;

    msgpack_pack_map(pk, 17);
    pk_cstr(pk, "k");
    pk_cstr(pk, "cell");
    pk_cstr(pk, "site");
    pk_cstr(pk, o->key.site);
    pk_cstr(pk, "item");
    pk_cstr(pk, o->key.item);
    pk_cstr(pk, "lot");
    pk_cstr(pk, o->key.lot);
    pk_cstr(pk, "exp");
    msgpack_pack_uint32(pk, o->key.exp);
    pk_cstr(pk, "v");
    msgpack_pack_int64(pk, v->value);
    pk_cstr(pk, "ov");
    pk_bool(pk, v->overdrawn);
    pk_cstr(pk, "cc");
    pk_bool(pk, v->count_conflict);
    pk_cstr(pk, "sat");
    pk_bool(pk, v->saturated);
    pk_cstr(pk, "nm");
    msgpack_pack_uint32(pk, v->n_moves);
    pk_cstr(pk, "nc");
    msgpack_pack_uint32(pk, v->n_counts);
    pk_cstr(pk, "w");
    if (v->has_winner)
        pk_count(pk, &v->winner);
    else
        msgpack_pack_nil(pk);
    pk_cstr(pk, "mx");
    msgpack_pack_array(pk, v->n_maximal);
    for (uint32_t i = 0; i < v->n_maximal; i++)
        pk_count(pk, &v->maximal[i]);
    pk_cstr(pk, "after");
    msgpack_pack_int64(pk, v->after);
    pk_cstr(pk, "naud");
    msgpack_pack_uint32(pk, v->n_audit);
    pk_cstr(pk, "aud");
    msgpack_pack_array(pk, v->n_audit_listed);
    for (uint32_t i = 0; i < v->n_audit_listed; i++) {
        const struct relief_move_ref *m = &v->audit[i];
        msgpack_pack_array(pk, 4);
        pk_ref(pk, &m->ref);
        msgpack_pack_uint64(pk, m->hlc);
        msgpack_pack_int64(pk, m->delta);
        pk_cstr(pk, relief_reason_name(m->reason));
    }
    pk_cstr(pk, "ns"); /* shipment records, counted or not (10.8.4) */
    msgpack_pack_uint32(pk, o->n_sr);
}

/* {"k": "succ", "old": bin 32, "n": successions, "s": [[ref, hlc, seq, head, refused],
 * ...]}: the first RELIEF_AUDIT_MAX by (hlc, author, seq) ascending; refused: a bool, true
 * when an earlier one names the same head (PROTOCOL.md 10.9). */
static void dump_succ(struct relief_obj *o, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 4);
    pk_cstr(pk, "k");
    pk_cstr(pk, "succ");
    pk_cstr(pk, "old");
    msgpack_pack_bin(pk, AM_PK_LEN);
    msgpack_pack_bin_body(pk, o->key.author, AM_PK_LEN);
    pk_cstr(pk, "n");
    msgpack_pack_uint32(pk, o->n_u);
    pk_cstr(pk, "s");
    msgpack_pack_array(pk, o->n_succ);
    for (uint32_t i = 0; i < o->n_succ; i++) {
        const struct relief_successor *s = &o->succ[i];
        msgpack_pack_array(pk, 5);
        pk_ref(pk, &s->ref);
        msgpack_pack_uint64(pk, s->hlc);
        msgpack_pack_uint64(pk, s->seq);
        msgpack_pack_bin(pk, AM_HASH_LEN);
        msgpack_pack_bin_body(pk, s->head, AM_HASH_LEN);
        if (s->refused)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
    }
}

int relief_obj_dump(struct relief_obj *o, uint8_t *buf, size_t cap, size_t *len)
{
    struct relief_wbuf wb = {buf, 0, cap};
    msgpack_packer pk;
    int rc;

    if ((rc = relief_obj_compute(o)) != AM_OK)
        return rc;
    msgpack_packer_init(&pk, &wb, relief_wbuf_write);
    switch (o->key.kind) {
    case RELIEF_OBJ_SITE:
        msgpack_pack_map(&pk, 5);
        pk_cstr(&pk, "k");
        pk_cstr(&pk, "site");
        pk_cstr(&pk, "slug");
        pk_cstr(&pk, o->key.site);
        pk_reg(o, &pk, RELIEF_F_NAME);
        pk_reg(o, &pk, RELIEF_F_KIND);
        pk_reg(o, &pk, RELIEF_F_LL);
        break;
    case RELIEF_OBJ_ITEM:
        msgpack_pack_map(&pk, 5);
        pk_cstr(&pk, "k");
        pk_cstr(&pk, "item");
        pk_cstr(&pk, "code");
        pk_cstr(&pk, o->key.item);
        pk_reg(o, &pk, RELIEF_F_NAME);
        pk_reg(o, &pk, RELIEF_F_UNIT);
        pk_reg(o, &pk, RELIEF_F_CAT);
        break;
    case RELIEF_OBJ_NEED:
        dump_need(o, &pk);
        break;
    case RELIEF_OBJ_SUCC:
        dump_succ(o, &pk);
        break;
    case RELIEF_OBJ_MIN:
        msgpack_pack_map(&pk, 4);
        pk_cstr(&pk, "k");
        pk_cstr(&pk, "min");
        pk_cstr(&pk, "site");
        pk_cstr(&pk, o->key.site);
        pk_cstr(&pk, "item");
        pk_cstr(&pk, o->key.item);
        pk_reg(o, &pk, RELIEF_F_Q);
        break;
    case RELIEF_OBJ_SHIP:
        relief_ship_dump(o, &pk);
        break;
    case RELIEF_OBJ_PACK:
        msgpack_pack_map(&pk, 4);
        pk_cstr(&pk, "k");
        pk_cstr(&pk, "pack");
        pk_cstr(&pk, "item");
        pk_cstr(&pk, o->key.item);
        pk_cstr(&pk, "pack");
        pk_cstr(&pk, o->key.pack);
        pk_reg(o, &pk, RELIEF_F_Q);
        break;
    case RELIEF_OBJ_LNAME: /* {"k": "lname", "item", "lang", "name": register} */
        msgpack_pack_map(&pk, 4);
        pk_cstr(&pk, "k");
        pk_cstr(&pk, "lname");
        pk_cstr(&pk, "item");
        pk_cstr(&pk, o->key.item);
        pk_cstr(&pk, "lang");
        pk_cstr(&pk, o->key.lang);
        pk_reg(o, &pk, RELIEF_F_NAME);
        break;
    default:
        dump_cell(o, &pk);
        break;
    }
    *len = wb.len;
    return wb.len > cap ? AM_ELIMIT : AM_OK;
}
