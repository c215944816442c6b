/*
 * pack_test.c: named packs of items (PROTOCOL.md 10.4 "item.pack", 10.7, 10.9): the op's
 * codec and its strict decoding (bit flips and cuts included), the object's key, the
 * register's merge (two concurrent definitions of one pack are a conflict like any
 * register; a write naming both settles it; 0 removes it), views equal in every order of
 * arrival with duplicates, the creation-time check of the item, and the read model's two
 * rules of packs: packs x units refused past the quantity limit and past int64, and base
 * units shown in the largest pack that fits. Seeded orders print their seed (AM_SEED=...).
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "entry.h"
#include "hlc.h"
#include "query.h"
#include "relief.h"
#include "store.h"
#include "relief_tu.h"
#include "testutil.h"

static void pack_op(struct relief_op *op, const char *item, const char *pack, int64_t units)
{
    memset(op, 0, sizeof *op);
    op->type = RELIEF_T_ITEM_PACK;
    op->item = S(item);
    op->pack = S(pack);
    op->q = units;
    op->has = RELIEF_HAS(RELIEF_K_CODE) | RELIEF_HAS(RELIEF_K_PACK) | RELIEF_HAS(RELIEF_K_Q);
}

/* ---- the op ---- */

Test(pack, round_trips_in_canonical_order)
{
    struct relief_op in, out;
    struct relief_ref sup[2] = {R(1, 3), R(2, 9)};
    uint8_t buf[AM_OP_MAX];
    char err[RELIEF_ERR_MAX];
    size_t len;
    /* {"t": "item.pack", "code": "ors", "q": 50, "pack": "carton"}: keys in the order of
     * the rows of 10.5 */
    static const uint8_t want[] = {0x84, 0xa1, 't',  0xa9, 'i', 't',  'e', 'm', '.',  'p',
                                   'a',  'c',  'k',  0xa4, 'c', 'o',  'd', 'e', 0xa3, 'o',
                                   'r',  's',  0xa1, 'q',  50,  0xa4, 'p', 'a', 'c',  'k',
                                   0xa6, 'c',  'a',  'r',  't', 'o',  'n'};

    pack_op(&in, "ors", "carton", 50);
    len = enc(&in, buf, sizeof buf);
    cr_assert_eq(len, sizeof want, "%zu bytes", len);
    cr_assert_eq(memcmp(buf, want, len), 0, "item.pack bytes changed");

    pack_op(&in, "water-5l", "pallet-of-40", RELIEF_QTY_MAX);
    in.sup = (struct relief_refs){2, sup, NULL};
    in.has |= RELIEF_HAS(RELIEF_K_SUP);
    len = enc(&in, buf, sizeof buf);
    cr_assert_eq(relief_op_decode(buf, len, &out, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(out.type, RELIEF_T_ITEM_PACK);
    cr_assert_str_eq(relief_type_name(out.type), "item.pack");
    cr_assert_eq(out.has, in.has | RELIEF_HAS(RELIEF_K_T));
    cr_assert_eq(out.q, RELIEF_QTY_MAX);
    cr_assert(out.pack.len == 12 && !memcmp(out.pack.p, "pallet-of-40", 12));
    cr_assert(out.item.len == 8 && !memcmp(out.item.p, "water-5l", 8));
    cr_assert_eq(out.sup.n, 2);

    /* 0 is a removal, and encodes */
    pack_op(&in, "ors", "carton", 0);
    len = enc(&in, buf, sizeof buf);
    cr_assert_eq(relief_op_decode(buf, len, &out, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(out.q, 0);
    /* a name that is not a slug never encodes */
    pack_op(&in, "ors", "Carton", 50);
    cr_assert_neq(relief_op_encode(&in, buf, sizeof buf, &len, err, sizeof err), AM_OK);
}

Test(pack, strict_decoding)
{
    struct mb m;
    struct relief_op op;
    uint8_t buf[AM_OP_MAX];
    size_t len;
    char err[RELIEF_ERR_MAX];

    /* a key the type does not allow */
    mb_begin(&m, 5);
    mb_str(&m, "t"), mb_str(&m, "item.pack");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "pack"), mb_str(&m, "carton");
    mb_str(&m, "q"), msgpack_pack_uint8(&m.pk, 50);
    mb_str(&m, "site"), mb_str(&m, "wh-1");
    mb_expect(&m, AM_EMALFORMED, "unknown key");
    /* "pack" is not allowed in another type */
    mb_begin(&m, 3);
    mb_str(&m, "t"), mb_str(&m, "item");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "pack"), mb_str(&m, "carton");
    mb_expect(&m, AM_EMALFORMED, "unknown key");
    /* no pack, no units, no item */
    mb_begin(&m, 3);
    mb_str(&m, "t"), mb_str(&m, "item.pack");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "q"), msgpack_pack_uint8(&m.pk, 50);
    mb_expect(&m, AM_EMALFORMED, "missing key \"pack\"");
    mb_begin(&m, 3);
    mb_str(&m, "t"), mb_str(&m, "item.pack");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "pack"), mb_str(&m, "carton");
    mb_expect(&m, AM_EMALFORMED, "missing key \"q\"");
    mb_begin(&m, 3);
    mb_str(&m, "t"), mb_str(&m, "item.pack");
    mb_str(&m, "pack"), mb_str(&m, "carton");
    mb_str(&m, "q"), msgpack_pack_uint8(&m.pk, 50);
    mb_expect(&m, AM_EMALFORMED, "missing key \"code\"");
    /* a pack name that is not a slug, an empty one, a long one */
    mb_begin(&m, 4);
    mb_str(&m, "t"), mb_str(&m, "item.pack");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "pack"), mb_str(&m, "Big Carton");
    mb_str(&m, "q"), msgpack_pack_uint8(&m.pk, 50);
    mb_expect(&m, AM_EMALFORMED, "\"pack\" \"Big Carton\" must be a-z");
    mb_begin(&m, 4);
    mb_str(&m, "t"), mb_str(&m, "item.pack");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "pack"), mb_str(&m, "");
    mb_str(&m, "q"), msgpack_pack_uint8(&m.pk, 50);
    mb_expect(&m, AM_EMALFORMED, "must not be empty");
    mb_begin(&m, 4);
    mb_str(&m, "t"), mb_str(&m, "item.pack");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "pack"), mb_str(&m, "a-pack-name-of-thirty-three-bytes");
    mb_str(&m, "q"), msgpack_pack_uint8(&m.pk, 50);
    mb_expect(&m, AM_ELIMIT, "over the limit");
    /* negative units, units over the quantity limit, units as a float */
    mb_begin(&m, 4);
    mb_str(&m, "t"), mb_str(&m, "item.pack");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "pack"), mb_str(&m, "carton");
    mb_str(&m, "q"), msgpack_pack_int8(&m.pk, -50);
    mb_expect(&m, AM_EMALFORMED, "must not be negative");
    mb_begin(&m, 4);
    mb_str(&m, "t"), mb_str(&m, "item.pack");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "pack"), mb_str(&m, "carton");
    mb_str(&m, "q"), msgpack_pack_uint64(&m.pk, (uint64_t)RELIEF_QTY_MAX + 1);
    mb_expect(&m, AM_ELIMIT, "over the limit");
    mb_begin(&m, 4);
    mb_str(&m, "t"), mb_str(&m, "item.pack");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "pack"), mb_str(&m, "carton");
    mb_str(&m, "q"), msgpack_pack_double(&m.pk, 50.0);
    mb_expect(&m, AM_EMALFORMED, "must be an integer");
    /* a later variant of the type is "newer", not invalid */
    mb_begin(&m, 2);
    mb_str(&m, "t"), mb_str(&m, "item.pack.2");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_expect(&m, AM_EVERSION, NULL);
    /* any key order and any integer form decode */
    mb_begin(&m, 4);
    mb_str(&m, "q"), msgpack_pack_int64(&m.pk, 12);
    mb_str(&m, "pack"), mb_str(&m, "box");
    mb_str(&m, "t"), mb_str(&m, "item.pack");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_expect(&m, AM_OK, NULL);
    /* bit flips and cuts of a valid op never crash and never give units out of range */
    pack_op(&op, "water-5l", "carton", 120);
    len = enc(&op, buf, sizeof buf);
    for (size_t cut = 0; cut < len; cut++)
        cr_assert_neq(relief_op_decode(buf, cut, &op, err, sizeof err), AM_OK, "cut %zu", cut);
    for (size_t i = 0; i < len * 8; i++) {
        struct relief_op o2;
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
        if (relief_op_decode(buf, len, &o2, err, sizeof err) == AM_OK &&
            o2.type == RELIEF_T_ITEM_PACK)
            cr_assert(o2.q >= 0 && o2.q <= RELIEF_QTY_MAX && o2.pack.len >= 1 &&
                      o2.pack.len <= RELIEF_SLUG_MAX);
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
}

Test(pack, key_and_refs)
{
    struct relief_op op;
    struct relief_key k, back;
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl;
    static const uint8_t want[] = {'k', 3, 'o', 'r', 's', 6, 'c', 'a', 'r', 't', 'o', 'n'};

    pack_op(&op, "ors", "carton", 50);
    cr_assert_eq(relief_op_key(&op, NULL, &k), AM_OK);
    cr_assert_eq(k.kind, RELIEF_OBJ_PACK);
    cr_assert_eq(relief_key_encode(&k, kb, &kl), AM_OK);
    cr_assert_eq(kl, sizeof want);
    cr_assert_eq(memcmp(kb, want, kl), 0);
    cr_assert_eq(relief_key_decode(kb, kl, &back), AM_OK);
    cr_assert_str_eq(back.item, "ors");
    cr_assert_str_eq(back.pack, "carton");
    cr_assert_eq(relief_key_decode(kb, kl - 1, &back), AM_EMALFORMED);
    {
        uint8_t longer[RELIEF_KEY_MAX + 1], empty[] = {'k', 3, 'o', 'r', 's', 0};
        memcpy(longer, kb, kl);
        longer[kl] = 0;
        cr_assert_eq(relief_key_decode(longer, kl + 1, &back), AM_EMALFORMED);
        cr_assert_eq(relief_key_decode(empty, sizeof empty, &back), AM_EMALFORMED);
    }
}

static int exists_none(void *ctx, const struct relief_key *k)
{
    (void)ctx;
    (void)k;
    return 0;
}

static int exists_item(void *ctx, const struct relief_key *k)
{
    (void)ctx;
    return k->kind == RELIEF_OBJ_ITEM && !strcmp(k->item, "ors");
}

Test(pack, creation_checks_the_item)
{
    struct relief_op op;
    char err[RELIEF_ERR_MAX] = "";
    pack_op(&op, "ors", "carton", 50);
    cr_assert_eq(relief_op_check_refs(&op, exists_none, NULL, err, sizeof err), AM_ENOTFOUND);
    cr_assert(strstr(err, "item \"ors\" is not defined"), "%s", err);
    cr_assert_eq(relief_op_check_refs(&op, exists_item, NULL, err, sizeof err), AM_OK);
}

/* ---- the register ---- */

struct w {
    struct relief_op op;
    struct relief_ref ref, sup[4];
    uint64_t hlc;
};

static struct relief_obj *obj_of(const char *item, const char *pack)
{
    struct relief_key k = {.kind = RELIEF_OBJ_PACK};
    snprintf(k.item, sizeof k.item, "%s", item);
    snprintf(k.pack, sizeof k.pack, "%s", pack);
    return relief_obj_new(&k);
}

static void w_set(struct w *w, uint8_t author, uint64_t seq, uint64_t hlc, int64_t units,
                  const struct relief_ref *sup, uint32_t nsup)
{
    pack_op(&w->op, "ors", "carton", units);
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

Test(pack, concurrent_definitions_conflict_until_one_names_both)
{
    struct relief_obj *o = obj_of("ors", "carton");
    struct relief_reg reg;
    struct w a, b, c, same;
    struct relief_ref both[2];

    cr_assert_not_null(o);
    w_set(&a, 1, 1, 100, 50, NULL, 0);
    w_set(&b, 2, 1, 90, 48, NULL, 0); /* concurrent, older clock */
    apply(o, &b);
    apply(o, &a);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_Q, &reg), AM_OK);
    cr_assert_eq(reg.n_writes, 2);
    cr_assert_eq(reg.n_heads, 2);
    cr_assert(reg.conflict);
    cr_assert_eq(reg.heads[0].v.i, 50, "the winner is the greatest by (hlc, author, seq)");
    cr_assert_eq(reg.heads[1].v.i, 48);
    /* a removal by a node that saw both settles it */
    both[0] = a.ref;
    both[1] = b.ref;
    w_set(&c, 3, 1, 95, 0, both, 2);
    apply(o, &c);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_Q, &reg), AM_OK);
    cr_assert_eq(reg.n_heads, 1);
    cr_assert_not(reg.conflict);
    cr_assert_eq(reg.heads[0].v.i, 0);
    /* another pack's op, or the item's own op, never lands on it */
    {
        struct relief_op other;
        struct relief_ref r = R(4, 1);
        pack_op(&other, "ors", "box", 10);
        cr_assert_eq(relief_obj_apply(o, &other, &r, 1, NULL), AM_EINVAL);
        pack_op(&other, "ors-2", "carton", 10);
        cr_assert_eq(relief_obj_apply(o, &other, &r, 1, NULL), AM_EINVAL);
        memset(&other, 0, sizeof other);
        other.type = RELIEF_T_ITEM;
        other.item = S("ors");
        other.unit = S("sachet");
        other.has = RELIEF_HAS(RELIEF_K_CODE) | RELIEF_HAS(RELIEF_K_UNIT);
        cr_assert_eq(relief_obj_apply(o, &other, &r, 1, NULL), AM_EINVAL);
    }
    /* the same ref with other content is a fork, and changes nothing */
    w_set(&same, 1, 1, 100, 51, NULL, 0);
    cr_assert_eq(relief_obj_apply(o, &same.op, &same.ref, same.hlc, NULL), AM_EFORK);
    relief_obj_free(o);

    /* two laptops defining it alike agree: no conflict */
    o = obj_of("ors", "carton");
    w_set(&a, 1, 1, 100, 50, NULL, 0);
    w_set(&b, 2, 1, 101, 50, NULL, 0);
    apply(o, &a);
    apply(o, &b);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_Q, &reg), AM_OK);
    cr_assert_eq(reg.n_heads, 2);
    cr_assert_not(reg.conflict);
    relief_obj_free(o);
}

/* The view's bytes: {"k": "pack", "item", "pack", "q": register}. */
Test(pack, view_bytes)
{
    struct relief_obj *o = obj_of("ors", "carton");
    uint8_t buf[512];
    size_t len;
    msgpack_unpacked u;
    msgpack_object_kv *kv;
    struct w a;

    w_set(&a, 1, 1, 100, 50, NULL, 0);
    apply(o, &a);
    cr_assert_eq(relief_obj_dump(o, buf, sizeof buf, &len), AM_OK);
    msgpack_unpacked_init(&u);
    cr_assert_eq(msgpack_unpack_next(&u, (const char *)buf, len, NULL), MSGPACK_UNPACK_SUCCESS);
    cr_assert_eq(u.data.type, MSGPACK_OBJECT_MAP);
    cr_assert_eq(u.data.via.map.size, 4);
    kv = u.data.via.map.ptr;
    cr_assert(kv[0].val.via.str.size == 4 && !memcmp(kv[0].val.via.str.ptr, "pack", 4));
    cr_assert(kv[1].key.via.str.size == 4 && !memcmp(kv[1].key.via.str.ptr, "item", 4));
    cr_assert(kv[2].val.via.str.size == 6 && !memcmp(kv[2].val.via.str.ptr, "carton", 6));
    cr_assert(kv[3].key.via.str.size == 1 && !memcmp(kv[3].key.via.str.ptr, "q", 1));
    msgpack_unpacked_destroy(&u);
    relief_obj_free(o);
}

/* Random histories of definitions and removals by 4 authors (each author's later writes
 * supersede its earlier ones; some name what they saw of others): every order of arrival,
 * with duplicates, gives the same view bytes. */
Test(pack, property_views_equal_in_any_order)
{
    uint64_t seed = tu_seed("pack.property"), st = seed;
    unsigned conflicts = 0;

    for (int hi = 0; hi < 200; hi++) {
        struct w ws[24];
        uint64_t seqs[4] = {0};
        size_t n = 4 + tu_rand(&st) % 20;
        uint8_t ref[1024], got[1024];
        size_t rl, gl;
        struct relief_obj *o = obj_of("ors", "carton");
        struct relief_reg reg;

        for (size_t i = 0; i < n; i++) {
            uint8_t a = (uint8_t)(tu_rand(&st) % 4);
            struct relief_ref sup[4];
            uint32_t ns = 0;
            for (size_t j = 0; j < i && ns < 4; j++)
                if (tu_rand(&st) % 3 == 0 && ws[j].ref.author[0] != a + 1)
                    sup[ns++] = ws[j].ref;
            w_set(&ws[i], (uint8_t)(a + 1), ++seqs[a], 1000 + tu_rand(&st) % 50,
                  (int64_t)(tu_rand(&st) % 3) * 25, sup, ns);
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
            o = obj_of("ors", "carton");
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

/* ---- the read model ---- */

Test(pack, packs_times_units_refused_past_the_limits)
{
    int64_t q = -1;
    int over = 0;

    cr_assert_eq(query_pack_mul(12, 50, &q, &over), AM_OK);
    cr_assert_eq(q, 600);
    cr_assert_eq(query_pack_mul(0, 50, &q, &over), AM_OK);
    cr_assert_eq(q, 0);
    /* exactly the limit, then one unit past it */
    cr_assert_eq(query_pack_mul(1, RELIEF_QTY_MAX, &q, &over), AM_OK);
    cr_assert_eq(q, RELIEF_QTY_MAX);
    q = 7;
    cr_assert_eq(query_pack_mul(RELIEF_QTY_MAX / 3 + 1, 3, &q, &over), AM_ELIMIT);
    cr_assert_not(over, "past 2^53 - 1 but within int64");
    cr_assert_eq(q, 7, "nothing written on a refusal");
    /* past int64: the product would wrap */
    cr_assert_eq(query_pack_mul(INT64_MAX / 50 + 1, 50, &q, &over), AM_ELIMIT);
    cr_assert(over);
    cr_assert_eq(query_pack_mul(INT64_MAX, INT64_MAX, &q, &over), AM_ELIMIT);
    cr_assert(over);
    cr_assert_eq(query_pack_mul(-1, 50, &q, &over), AM_EINVAL);
    cr_assert_eq(query_pack_mul(3, 0, &q, &over), AM_EINVAL);
}

#define NOW_MS (20454ULL * 86400000ULL)

struct world {
    char *dir;
    struct store *s;
    uint8_t pk[2][AM_PK_LEN], sk[2][AM_SK_LEN], prev[2][AM_HASH_LEN];
    uint64_t seq[2], clock;
};

static void w_write(struct world *w, int a, const struct relief_op *op, struct relief_ref *ref)
{
    uint8_t opb[AM_OP_MAX], raw[4096];
    const uint8_t *p = raw;
    size_t ol, len;
    char err[RELIEF_ERR_MAX] = "";
    struct entry e;
    struct store_ingest_stats is;

    cr_assert_eq(relief_op_encode(op, opb, sizeof opb, &ol, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(entry_build(raw, sizeof raw, &len, w->sk[a], w->seq[a] + 1, w->prev[a], ++w->clock,
                             opb, ol),
                 AM_OK);
    cr_assert_eq(store_ingest(w->s, &p, &len, 1, NOW_MS, &is), AM_OK);
    cr_assert_eq(is.added, 1);
    cr_assert_eq(entry_decode(&e, raw, len), AM_OK);
    entry_hash(&e, w->prev[a]);
    w->seq[a]++;
    if (ref) {
        memcpy(ref->author, w->pk[a], AM_PK_LEN);
        ref->seq = w->seq[a];
    }
}

static void w_pack(struct world *w, int a, const char *item, const char *pack, int64_t units,
                   struct relief_ref *ref)
{
    struct relief_op op;
    pack_op(&op, item, pack, units);
    w_write(w, a, &op, ref);
}

Test(pack, read_model_lists_and_splits)
{
    struct world w;
    struct query *q;
    const struct query_pack *rows, *one;
    size_t n;
    int64_t count = 0, rest = 0;
    struct relief_ref first;

    memset(&w, 0, sizeof w);
    cr_assert(sodium_init() >= 0);
    w.dir = tu_tmpdir();
    cr_assert_eq(store_open(&w.s, w.dir, NULL), AM_OK);
    for (int a = 0; a < 2; a++)
        crypto_sign_keypair(w.pk[a], w.sk[a]);
    w.clock = hlc_pack(NOW_MS - 86400000ULL, 0);

    w_pack(&w, 0, "ors", "carton", 50, &first);
    w_pack(&w, 0, "ors", "box", 10, NULL);
    w_pack(&w, 0, "ors", "pallet", 2000, NULL);
    w_pack(&w, 0, "ors", "crate", 7, NULL);
    w_pack(&w, 0, "ors", "crate", 0, NULL); /* removed again: its own later write */
    w_pack(&w, 0, "bandage", "roll", 12, NULL);
    w_pack(&w, 1, "ors", "carton", 48, NULL); /* concurrent with the first: a conflict */

    cr_assert_eq(query_open(w.s, NOW_MS, &q), AM_OK);
    cr_assert_eq(query_packs(q, NULL, 0, &rows, &n), AM_OK);
    cr_assert_eq(n, 4, "the removed crate is not listed");
    cr_assert_str_eq(rows[0].item, "bandage");
    cr_assert_str_eq(rows[1].pack, "box");
    cr_assert_str_eq(rows[2].pack, "carton");
    cr_assert_str_eq(rows[3].pack, "pallet");
    cr_assert_eq(query_packs(q, "ors", 1, &rows, &n), AM_OK);
    cr_assert_eq(n, 4, "with the removed one");
    cr_assert_str_eq(rows[2].pack, "crate");
    cr_assert_eq(rows[2].units, 0);
    cr_assert_eq(query_packs(q, "water", 0, &rows, &n), AM_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(query_pack(q, "ors", "carton", &one), AM_OK);
    cr_assert(one->reg.conflict);
    cr_assert_eq(one->reg.n_heads, 2);
    /* the winner: the greatest (hlc, author, seq); author 1 wrote later here */
    cr_assert_eq(one->units, 48);
    cr_assert_eq(query_pack(q, "ors", "sack", &one), AM_ENOTFOUND);

    /* the carton holds its winner's 48 here: 480 is 10 cartons, 600 is 60 boxes (48 does
     * not divide it), 605 nothing divides: 12 cartons and 29 */
    cr_assert_eq(query_pack_split(q, "ors", 480, &one, &count, &rest), AM_OK);
    cr_assert_str_eq(one->pack, "carton");
    cr_assert_eq(one->units, 48, "the winner's units");
    cr_assert_eq(count, 10);
    cr_assert_eq(rest, 0);
    cr_assert_eq(query_pack_split(q, "ors", 600, &one, &count, &rest), AM_OK);
    cr_assert_str_eq(one->pack, "box");
    cr_assert_eq(count, 60);
    cr_assert_eq(query_pack_split(q, "ors", 605, &one, &count, &rest), AM_OK);
    cr_assert_str_eq(one->pack, "carton");
    cr_assert_eq(count, 12);
    cr_assert_eq(rest, 29);
    cr_assert_eq(query_pack_split(q, "ors", 4000, &one, &count, &rest), AM_OK);
    cr_assert_str_eq(one->pack, "pallet");
    cr_assert_eq(count, 2);
    cr_assert_eq(rest, 0);
    cr_assert_eq(query_pack_split(q, "ors", 30, &one, &count, &rest), AM_OK);
    cr_assert_str_eq(one->pack, "box");
    cr_assert_eq(count, 3);
    cr_assert_eq(query_pack_split(q, "ors", 9, &one, &count, &rest), AM_ENOTFOUND);
    cr_assert_eq(query_pack_split(q, "ors", 0, &one, &count, &rest), AM_ENOTFOUND);
    cr_assert_eq(query_pack_split(q, "ors", -50, &one, &count, &rest), AM_ENOTFOUND);
    query_close(q);

    /* settle the carton at 50: a write naming both heads */
    {
        struct relief_op op;
        struct relief_ref sup[2], dummy;
        uint32_t ns = 2;
        memcpy(sup[0].author, w.pk[1], AM_PK_LEN);
        sup[0].seq = 1;
        sup[1] = first;
        relief_refs_sort(sup, &ns);
        pack_op(&op, "ors", "carton", 50);
        op.sup = (struct relief_refs){ns, sup, NULL};
        op.has |= RELIEF_HAS(RELIEF_K_SUP);
        w_write(&w, 1, &op, &dummy);
    }
    cr_assert_eq(query_open(w.s, NOW_MS, &q), AM_OK);
    cr_assert_eq(query_pack(q, "ors", "carton", &one), AM_OK);
    cr_assert_not(one->reg.conflict);
    cr_assert_eq(one->units, 50);
    cr_assert_eq(query_pack_split(q, "ors", 620, &one, &count, &rest), AM_OK);
    cr_assert_str_eq(one->pack, "box", "620 divides by 10, not by 50");
    cr_assert_eq(count, 62);
    cr_assert_eq(query_pack_split(q, "ors", 625, &one, &count, &rest), AM_OK);
    cr_assert_str_eq(one->pack, "carton", "nothing divides 625: the largest not above it");
    cr_assert_eq(count, 12);
    cr_assert_eq(rest, 25);
    query_close(q);
    store_close(w.s);
    tu_rmrf(w.dir);
    free(w.dir);
}
