/*
 * stock_min_test.c: the minimum level of an item at a site (PROTOCOL.md 10.4 "stock.min",
 * 10.7, 10.9): the op's codec and its strict decoding, the object's key, the register's
 * merge (two concurrent minimums are a conflict like any register; a write naming both
 * settles it), views equal in every order of arrival with duplicates, and the creation-time
 * check of the site and item it names. Seeded orders print their seed (AM_SEED=...).
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "relief.h"
#include "relief_tu.h"
#include "testutil.h"

static void min_op(struct relief_op *op, const char *site, const char *item, int64_t q)
{
    memset(op, 0, sizeof *op);
    op->type = RELIEF_T_STOCK_MIN;
    op->site = S(site);
    op->item = S(item);
    op->q = q;
    op->has = RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_ITEM) | RELIEF_HAS(RELIEF_K_Q);
}

/* ---- the op ---- */

Test(stock_min, round_trips_in_canonical_order)
{
    struct relief_op in, out;
    struct relief_ref sup[2] = {R(1, 3), R(2, 9)};
    uint8_t buf[AM_OP_MAX];
    char err[RELIEF_ERR_MAX];
    size_t len;
    /* {"t": "stock.min", "site": "wh-1", "item": "ors", "q": 0} */
    static const uint8_t want[] = {0x84, 0xa1, 't', 0xa9, 's',  't',  'o', 'c', 'k',
                                   '.',  'm',  'i', 'n',  0xa4, 's',  'i', 't', 'e',
                                   0xa4, 'w',  'h', '-',  '1',  0xa4, 'i', 't', 'e',
                                   'm',  0xa3, 'o', 'r',  's',  0xa1, 'q', 0x00};

    min_op(&in, "wh-1", "ors", 0);
    len = enc(&in, buf, sizeof buf);
    cr_assert_eq(len, sizeof want);
    cr_assert_eq(memcmp(buf, want, len), 0, "stock.min bytes changed");

    min_op(&in, "hub-north", "water-5l", RELIEF_QTY_MAX);
    in.sup = (struct relief_refs){2, sup, NULL};
    in.has |= RELIEF_HAS(RELIEF_K_SUP);
    len = enc(&in, buf, sizeof buf);
    cr_assert_eq(relief_op_decode(buf, len, &out, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(out.type, RELIEF_T_STOCK_MIN);
    cr_assert_str_eq(relief_type_name(out.type), "stock.min");
    cr_assert_eq(out.has, in.has | RELIEF_HAS(RELIEF_K_T));
    cr_assert_eq(out.q, RELIEF_QTY_MAX);
    cr_assert_eq(out.site.len, 9);
    cr_assert_eq(memcmp(out.site.p, "hub-north", 9), 0);
    cr_assert_eq(out.sup.n, 2);
}

Test(stock_min, strict_decoding)
{
    struct mb m;
    struct relief_op op;
    uint8_t buf[AM_OP_MAX];
    size_t len;
    char err[RELIEF_ERR_MAX];

    /* a key the type does not allow */
    mb_begin(&m, 5);
    mb_str(&m, "t"), mb_str(&m, "stock.min");
    mb_str(&m, "site"), mb_str(&m, "wh-1");
    mb_str(&m, "item"), mb_str(&m, "ors");
    mb_str(&m, "q"), msgpack_pack_uint8(&m.pk, 5);
    mb_str(&m, "lot"), mb_str(&m, "L1");
    mb_expect(&m, AM_EMALFORMED, "unknown key");
    /* no q */
    mb_begin(&m, 3);
    mb_str(&m, "t"), mb_str(&m, "stock.min");
    mb_str(&m, "site"), mb_str(&m, "wh-1");
    mb_str(&m, "item"), mb_str(&m, "ors");
    mb_expect(&m, AM_EMALFORMED, "missing key \"q\"");
    /* no site */
    mb_begin(&m, 3);
    mb_str(&m, "t"), mb_str(&m, "stock.min");
    mb_str(&m, "item"), mb_str(&m, "ors");
    mb_str(&m, "q"), msgpack_pack_uint8(&m.pk, 5);
    mb_expect(&m, AM_EMALFORMED, "missing key \"site\"");
    /* a negative minimum */
    mb_begin(&m, 4);
    mb_str(&m, "t"), mb_str(&m, "stock.min");
    mb_str(&m, "site"), mb_str(&m, "wh-1");
    mb_str(&m, "item"), mb_str(&m, "ors");
    mb_str(&m, "q"), msgpack_pack_int8(&m.pk, -5);
    mb_expect(&m, AM_EMALFORMED, "must not be negative");
    /* over the quantity limit */
    mb_begin(&m, 4);
    mb_str(&m, "t"), mb_str(&m, "stock.min");
    mb_str(&m, "site"), mb_str(&m, "wh-1");
    mb_str(&m, "item"), mb_str(&m, "ors");
    mb_str(&m, "q"), msgpack_pack_uint64(&m.pk, (uint64_t)RELIEF_QTY_MAX + 1);
    mb_expect(&m, AM_ELIMIT, "over the limit");
    /* a site that is not a slug */
    mb_begin(&m, 4);
    mb_str(&m, "t"), mb_str(&m, "stock.min");
    mb_str(&m, "site"), mb_str(&m, "Hub North");
    mb_str(&m, "item"), mb_str(&m, "ors");
    mb_str(&m, "q"), msgpack_pack_uint8(&m.pk, 5);
    mb_expect(&m, AM_EMALFORMED, "\"site\"");
    /* a q as a float */
    mb_begin(&m, 4);
    mb_str(&m, "t"), mb_str(&m, "stock.min");
    mb_str(&m, "site"), mb_str(&m, "wh-1");
    mb_str(&m, "item"), mb_str(&m, "ors");
    mb_str(&m, "q"), msgpack_pack_double(&m.pk, 5.0);
    mb_expect(&m, AM_EMALFORMED, "must be an integer");
    /* a later variant of the type is "newer", not invalid */
    mb_begin(&m, 2);
    mb_str(&m, "t"), mb_str(&m, "stock.min.2");
    mb_str(&m, "site"), mb_str(&m, "wh-1");
    mb_expect(&m, AM_EVERSION, NULL);
    /* any key order and any integer form decode */
    mb_begin(&m, 4);
    mb_str(&m, "q"), msgpack_pack_int64(&m.pk, 7);
    mb_str(&m, "item"), mb_str(&m, "ors");
    mb_str(&m, "t"), mb_str(&m, "stock.min");
    mb_str(&m, "site"), mb_str(&m, "wh-1");
    mb_expect(&m, AM_OK, NULL);
    /* bit flips and truncations of a valid op never crash and never pass as another */
    min_op(&op, "hub-north", "water-5l", 120);
    len = enc(&op, buf, sizeof buf);
    for (size_t cut = 0; cut < len; cut++)
        cr_assert_neq(relief_op_decode(buf, cut, &op, err, sizeof err), AM_OK, "cut %zu", cut);
    for (size_t i = 0; i < len * 8; i++) {
        struct relief_op o2;
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
        if (relief_op_decode(buf, len, &o2, err, sizeof err) == AM_OK &&
            o2.type == RELIEF_T_STOCK_MIN)
            cr_assert(o2.q >= 0 && o2.q <= RELIEF_QTY_MAX);
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
}

Test(stock_min, key_and_refs)
{
    struct relief_op op;
    struct relief_key k, back;
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl;
    static const uint8_t want[] = {'m', 4, 'w', 'h', '-', '1', 3, 'o', 'r', 's'};

    min_op(&op, "wh-1", "ors", 5);
    cr_assert_eq(relief_op_key(&op, NULL, &k), AM_OK);
    cr_assert_eq(k.kind, RELIEF_OBJ_MIN);
    cr_assert_eq(relief_key_encode(&k, kb, &kl), AM_OK);
    cr_assert_eq(kl, sizeof want);
    cr_assert_eq(memcmp(kb, want, kl), 0);
    cr_assert_eq(relief_key_decode(kb, kl, &back), AM_OK);
    cr_assert_str_eq(back.site, "wh-1");
    cr_assert_str_eq(back.item, "ors");
    cr_assert_eq(relief_key_decode(kb, kl - 1, &back), AM_EMALFORMED);
    {
        uint8_t longer[RELIEF_KEY_MAX + 1];
        memcpy(longer, kb, kl);
        longer[kl] = 0;
        cr_assert_eq(relief_key_decode(longer, kl + 1, &back), AM_EMALFORMED);
    }
}

static int exists_only_site(void *ctx, const struct relief_key *k)
{
    (void)ctx;
    return k->kind == RELIEF_OBJ_SITE;
}

static int exists_all(void *ctx, const struct relief_key *k)
{
    (void)ctx;
    (void)k;
    return 1;
}

Test(stock_min, creation_checks_site_and_item)
{
    struct relief_op op;
    char err[RELIEF_ERR_MAX] = "";
    min_op(&op, "wh-1", "ors", 5);
    cr_assert_eq(relief_op_check_refs(&op, exists_only_site, NULL, err, sizeof err), AM_ENOTFOUND);
    cr_assert(strstr(err, "item \"ors\""), "%s", err);
    cr_assert_eq(relief_op_check_refs(&op, exists_all, NULL, err, sizeof err), AM_OK);
}

/* ---- the register ---- */

struct w {
    struct relief_op op;
    struct relief_ref ref, sup[4];
    uint64_t hlc;
};

static struct relief_obj *obj_of(const char *site, const char *item)
{
    struct relief_key k = {.kind = RELIEF_OBJ_MIN};
    snprintf(k.site, sizeof k.site, "%s", site);
    snprintf(k.item, sizeof k.item, "%s", item);
    return relief_obj_new(&k);
}

static void w_set(struct w *w, uint8_t author, uint64_t seq, uint64_t hlc, int64_t q,
                  const struct relief_ref *sup, uint32_t nsup)
{
    min_op(&w->op, "wh-1", "ors", q);
    w->ref = R(author, seq);
    w->hlc = hlc;
    if (nsup) {
        memcpy(w->sup, sup, nsup * sizeof *sup);
        relief_refs_sort(w->sup, &nsup);
        w->op.sup = (struct relief_refs){nsup, w->sup, NULL};
        w->op.has |= RELIEF_HAS(RELIEF_K_SUP);
    }
}

static void apply(struct relief_obj *o, const struct w *w)
{
    cr_assert_eq(relief_obj_apply(o, &w->op, &w->ref, w->hlc, NULL), AM_OK);
}

Test(stock_min, concurrent_minimums_conflict_until_one_names_both)
{
    struct relief_obj *o = obj_of("wh-1", "ors");
    struct relief_reg reg;
    struct w a, b, c, same;
    struct relief_ref both[2];

    cr_assert_not_null(o);
    w_set(&a, 1, 1, 100, 50, NULL, 0);
    w_set(&b, 2, 1, 90, 80, NULL, 0); /* concurrent, older clock */
    apply(o, &a);
    apply(o, &b);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_Q, &reg), AM_OK);
    cr_assert_eq(reg.n_writes, 2);
    cr_assert_eq(reg.n_heads, 2);
    cr_assert(reg.conflict);
    cr_assert_eq(reg.heads[0].v.i, 50, "the winner is the greatest by (hlc, author, seq)");
    /* a write by a third node that saw both settles it */
    both[0] = a.ref;
    both[1] = b.ref;
    w_set(&c, 3, 1, 95, 0, both, 2); /* 0: no minimum; its clock is behind, it still wins */
    apply(o, &c);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_Q, &reg), AM_OK);
    cr_assert_eq(reg.n_heads, 1);
    cr_assert_not(reg.conflict);
    cr_assert_eq(reg.heads[0].v.i, 0);
    /* other ops never land on it */
    {
        struct relief_op mv;
        struct relief_ref r = R(4, 1);
        memset(&mv, 0, sizeof mv);
        mv.type = RELIEF_T_STOCK_MOVE;
        mv.site = S("wh-1");
        mv.item = S("ors");
        mv.q = 1;
        mv.reason = RELIEF_R_RECEIVED;
        mv.has = RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_ITEM) | RELIEF_HAS(RELIEF_K_Q) |
                 RELIEF_HAS(RELIEF_K_R);
        cr_assert_eq(relief_obj_apply(o, &mv, &r, 1, NULL), AM_EINVAL);
        min_op(&mv, "wh-2", "ors", 3);
        cr_assert_eq(relief_obj_apply(o, &mv, &r, 1, NULL), AM_EINVAL);
    }
    /* the same ref with other content is a fork, and changes nothing */
    w_set(&same, 1, 1, 100, 51, NULL, 0);
    cr_assert_eq(relief_obj_apply(o, &same.op, &same.ref, same.hlc, NULL), AM_EFORK);
    relief_obj_free(o);

    /* two laptops setting the same value agree: no conflict */
    o = obj_of("wh-1", "ors");
    w_set(&a, 1, 1, 100, 40, NULL, 0);
    w_set(&b, 2, 1, 101, 40, NULL, 0);
    apply(o, &a);
    apply(o, &b);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_Q, &reg), AM_OK);
    cr_assert_eq(reg.n_heads, 2);
    cr_assert_not(reg.conflict);
    relief_obj_free(o);
}

/* The view's bytes: {"k": "min", "site", "item", "q": register}. */
Test(stock_min, view_bytes)
{
    struct relief_obj *o = obj_of("wh-1", "ors");
    uint8_t buf[512];
    size_t len;
    msgpack_unpacked u;
    struct w a;

    w_set(&a, 1, 1, 100, 50, NULL, 0);
    apply(o, &a);
    cr_assert_eq(relief_obj_dump(o, buf, sizeof buf, &len), AM_OK);
    msgpack_unpacked_init(&u);
    cr_assert_eq(msgpack_unpack_next(&u, (const char *)buf, len, NULL), MSGPACK_UNPACK_SUCCESS);
    cr_assert_eq(u.data.type, MSGPACK_OBJECT_MAP);
    cr_assert_eq(u.data.via.map.size, 4);
    cr_assert_eq(u.data.via.map.ptr[0].val.via.str.size, 3);
    cr_assert_eq(memcmp(u.data.via.map.ptr[0].val.via.str.ptr, "min", 3), 0);
    cr_assert_eq(memcmp(u.data.via.map.ptr[3].key.via.str.ptr, "q", 1), 0);
    msgpack_unpacked_destroy(&u);
    relief_obj_free(o);
}

/* Random histories of minimum writes by 4 authors (each author's later writes supersede its
 * earlier ones; some name what they saw of others): every order of arrival, with
 * duplicates, gives the same view bytes. */
Test(stock_min, property_views_equal_in_any_order)
{
    uint64_t seed = tu_seed("stock_min.property"), st = seed;
    unsigned conflicts = 0;

    for (int hi = 0; hi < 200; hi++) {
        struct w ws[24];
        uint64_t seqs[4] = {0};
        size_t n = 4 + tu_rand(&st) % 20;
        uint8_t ref[1024], got[1024];
        size_t rl, gl;
        struct relief_obj *o = obj_of("wh-1", "ors");
        struct relief_reg reg;

        for (size_t i = 0; i < n; i++) {
            uint8_t a = (uint8_t)(tu_rand(&st) % 4);
            struct relief_ref sup[4];
            uint32_t ns = 0;
            /* name some earlier writes of others */
            for (size_t j = 0; j < i && ns < 4; j++)
                if (tu_rand(&st) % 3 == 0 && ws[j].ref.author[0] != a + 1)
                    sup[ns++] = ws[j].ref;
            w_set(&ws[i], (uint8_t)(a + 1), ++seqs[a], 1000 + tu_rand(&st) % 50,
                  (int64_t)(tu_rand(&st) % 4) * 10, sup, ns);
        }
        for (size_t i = 0; i < n; i++)
            apply(o, &ws[i]);
        cr_assert_eq(relief_obj_dump(o, ref, sizeof ref, &rl), AM_OK);
        cr_assert_eq(relief_obj_reg(o, RELIEF_F_Q, &reg), AM_OK);
        conflicts += reg.conflict != 0;
        relief_obj_free(o);
        for (int k = 0; k < 6; k++) {
            size_t order[48], m = 0;
            for (size_t i = 0; i < n; i++)
                order[m++] = i;
            for (size_t i = 0; i < n / 2; i++) /* duplicates */
                order[m++] = tu_rand(&st) % n;
            for (size_t i = m - 1; i > 0; i--) {
                size_t j = tu_rand(&st) % (i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            o = obj_of("wh-1", "ors");
            for (size_t i = 0; i < m; i++)
                apply(o, &ws[order[i]]);
            cr_assert_eq(relief_obj_dump(o, got, sizeof got, &gl), AM_OK);
            cr_assert(gl == rl && !memcmp(got, ref, rl),
                      "history %d, order %d: other view bytes; AM_SEED=%llu", hi, k,
                      (unsigned long long)seed);
            cr_assert_eq(relief_obj_nops(o), n);
            relief_obj_free(o);
        }
    }
    cr_assert(conflicts > 0, "no history made a conflict; AM_SEED=%llu", (unsigned long long)seed);
}
