/*
 * lname_test.c: names of items per language (PROTOCOL.md 10.4 "item.name", 10.7, 10.9):
 * the op's codec and its strict decoding (bit flips and cuts included), the object's key,
 * the register's merge (two concurrent names in one language are a conflict like any
 * register; a write naming both settles it; "" removes the name), the view's bytes, the
 * creation-time check of the item, and the read model: the name in a language, else the
 * item's own name.
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

static void name_op(struct relief_op *op, const char *item, const char *lang, const char *name)
{
    memset(op, 0, sizeof *op);
    op->type = RELIEF_T_ITEM_NAME;
    op->item = S(item);
    op->lang = S(lang);
    op->name = S(name);
    op->has = RELIEF_HAS(RELIEF_K_CODE) | RELIEF_HAS(RELIEF_K_LANG) | RELIEF_HAS(RELIEF_K_NAME);
}

/* {"t": "item.name", "code": item, "name": name, "lang": lang} */
static void mb_name(struct mb *m, const char *item, const char *lang, const char *name)
{
    mb_begin(m, 4);
    mb_str(m, "t"), mb_str(m, "item.name");
    mb_str(m, "code"), mb_str(m, item);
    mb_str(m, "name"), mb_str(m, name);
    mb_str(m, "lang"), mb_str(m, lang);
}

/* ---- the op ---- */

Test(lname, round_trips_in_canonical_order)
{
    struct relief_op in, out;
    struct relief_ref sup[2] = {R(1, 3), R(2, 9)};
    uint8_t buf[AM_OP_MAX];
    char err[RELIEF_ERR_MAX];
    size_t len;
    /* {"t": "item.name", "code": "ors", "name": "SRO", "lang": "fr"}: keys in the order of
     * the rows of 10.5 */
    static const uint8_t want[] = {0x84, 0xa1, 't',  0xa9, 'i', 't', 'e',  'm',  '.',  'n',
                                   'a',  'm',  'e',  0xa4, 'c', 'o', 'd',  'e',  0xa3, 'o',
                                   'r',  's',  0xa4, 'n',  'a', 'm', 'e',  0xa3, 'S',  'R',
                                   'O',  0xa4, 'l',  'a',  'n', 'g', 0xa2, 'f',  'r'};

    name_op(&in, "ors", "fr", "SRO");
    len = enc(&in, buf, sizeof buf);
    cr_assert_eq(len, sizeof want, "%zu bytes", len);
    cr_assert_eq(memcmp(buf, want, len), 0, "item.name bytes changed");

    name_op(&in, "water-5l", "ar", "\xd9\x85\xd8\xa7\xd8\xa1"); /* Arabic text */
    in.sup = (struct relief_refs){2, sup, NULL};
    in.has |= RELIEF_HAS(RELIEF_K_SUP);
    len = enc(&in, buf, sizeof buf);
    cr_assert_eq(relief_op_decode(buf, len, &out, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(out.type, RELIEF_T_ITEM_NAME);
    cr_assert_str_eq(relief_type_name(out.type), "item.name");
    cr_assert_eq(out.has, in.has | RELIEF_HAS(RELIEF_K_T));
    cr_assert(out.lang.len == 2 && !memcmp(out.lang.p, "ar", 2));
    cr_assert(out.name.len == 6 && !memcmp(out.name.p, in.name.p, 6));
    cr_assert_eq(out.sup.n, 2);

    /* "" is a removal, and encodes */
    name_op(&in, "ors", "fr", "");
    len = enc(&in, buf, sizeof buf);
    cr_assert_eq(relief_op_decode(buf, len, &out, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(out.name.len, 0);
    /* a language that is not a code never encodes */
    name_op(&in, "ors", "FR", "SRO");
    cr_assert_neq(relief_op_encode(&in, buf, sizeof buf, &len, err, sizeof err), AM_OK);
}

Test(lname, strict_decoding)
{
    struct mb m;
    struct relief_op op;
    uint8_t buf[AM_OP_MAX];
    size_t len;
    char err[RELIEF_ERR_MAX], long_name[RELIEF_NAME_MAX + 2];

    /* the codec takes any code of 2 or 3 of a-z; the command line only en, fr, es, ar */
    mb_name(&m, "ors", "de", "ORS-Beutel");
    mb_expect(&m, AM_OK, NULL);
    mb_name(&m, "ors", "fil", "Sachet");
    mb_expect(&m, AM_OK, NULL);
    mb_name(&m, "ors", "FR", "SRO");
    mb_expect(&m, AM_EMALFORMED, "\"lang\" \"FR\" must be a language code");
    mb_name(&m, "ors", "f", "SRO");
    mb_expect(&m, AM_EMALFORMED, "must be a language code");
    mb_name(&m, "ors", "f1", "SRO");
    mb_expect(&m, AM_EMALFORMED, "must be a language code");
    mb_name(&m, "ors", "fren", "SRO");
    mb_expect(&m, AM_ELIMIT, "over the limit");
    mb_name(&m, "ors", "", "SRO");
    mb_expect(&m, AM_EMALFORMED, "must not be empty");
    /* the name: printable, of up to RELIEF_NAME_MAX bytes; empty removes it */
    mb_name(&m, "ors", "fr", "");
    mb_expect(&m, AM_OK, NULL);
    mb_name(&m, "ors", "fr", "a\tb");
    mb_expect(&m, AM_EMALFORMED, "must be printable text");
    mb_name(&m, "ors", "fr", "a\nb");
    mb_expect(&m, AM_EMALFORMED, "must be printable text");
    memset(long_name, 'x', RELIEF_NAME_MAX + 1);
    long_name[RELIEF_NAME_MAX + 1] = 0;
    mb_name(&m, "ors", "fr", long_name);
    mb_expect(&m, AM_ELIMIT, "over the limit");
    long_name[RELIEF_NAME_MAX] = 0;
    mb_name(&m, "ors", "fr", long_name);
    mb_expect(&m, AM_OK, NULL);
    /* an item's own name is never empty: only item.name may be */
    mb_begin(&m, 3);
    mb_str(&m, "t"), mb_str(&m, "item");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "name"), mb_str(&m, "");
    mb_expect(&m, AM_EMALFORMED, "must not be empty");
    /* "lang" is not allowed in another type, nor another key in this one */
    mb_begin(&m, 4);
    mb_str(&m, "t"), mb_str(&m, "item");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "name"), mb_str(&m, "ORS");
    mb_str(&m, "lang"), mb_str(&m, "fr");
    mb_expect(&m, AM_EMALFORMED, "unknown key");
    mb_begin(&m, 5);
    mb_str(&m, "t"), mb_str(&m, "item.name");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "name"), mb_str(&m, "SRO");
    mb_str(&m, "lang"), mb_str(&m, "fr");
    mb_str(&m, "unit"), mb_str(&m, "sachet");
    mb_expect(&m, AM_EMALFORMED, "unknown key");
    /* every key is required */
    mb_begin(&m, 3);
    mb_str(&m, "t"), mb_str(&m, "item.name");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "name"), mb_str(&m, "SRO");
    mb_expect(&m, AM_EMALFORMED, "missing key \"lang\"");
    mb_begin(&m, 3);
    mb_str(&m, "t"), mb_str(&m, "item.name");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_str(&m, "lang"), mb_str(&m, "fr");
    mb_expect(&m, AM_EMALFORMED, "missing key \"name\"");
    mb_begin(&m, 3);
    mb_str(&m, "t"), mb_str(&m, "item.name");
    mb_str(&m, "name"), mb_str(&m, "SRO");
    mb_str(&m, "lang"), mb_str(&m, "fr");
    mb_expect(&m, AM_EMALFORMED, "missing key \"code\"");
    /* a later variant of the type is "newer", not invalid */
    mb_begin(&m, 2);
    mb_str(&m, "t"), mb_str(&m, "item.name.2");
    mb_str(&m, "code"), mb_str(&m, "ors");
    mb_expect(&m, AM_EVERSION, NULL);
    /* bit flips and cuts of a valid op never crash and never give a bad language */
    name_op(&op, "water-5l", "es", "Agua 5 l");
    len = enc(&op, buf, sizeof buf);
    for (size_t cut = 0; cut < len; cut++)
        cr_assert_neq(relief_op_decode(buf, cut, &op, err, sizeof err), AM_OK, "cut %zu", cut);
    for (size_t i = 0; i < len * 8; i++) {
        struct relief_op o2;
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
        if (relief_op_decode(buf, len, &o2, err, sizeof err) == AM_OK &&
            o2.type == RELIEF_T_ITEM_NAME) {
            cr_assert(o2.lang.len >= 2 && o2.lang.len <= RELIEF_LANG_MAX);
            for (uint32_t k = 0; k < o2.lang.len; k++)
                cr_assert(o2.lang.p[k] >= 'a' && o2.lang.p[k] <= 'z');
            cr_assert(o2.name.len <= RELIEF_NAME_MAX);
        }
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
}

Test(lname, key_and_refs)
{
    struct relief_op op;
    struct relief_key k, back;
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl;
    static const uint8_t want[] = {'l', 3, 'o', 'r', 's', 2, 'f', 'r'};

    name_op(&op, "ors", "fr", "SRO");
    cr_assert_eq(relief_op_key(&op, NULL, &k), AM_OK);
    cr_assert_eq(k.kind, RELIEF_OBJ_LNAME);
    cr_assert_eq(relief_key_encode(&k, kb, &kl), AM_OK);
    cr_assert_eq(kl, sizeof want);
    cr_assert_eq(memcmp(kb, want, kl), 0);
    cr_assert_eq(relief_key_decode(kb, kl, &back), AM_OK);
    cr_assert_str_eq(back.item, "ors");
    cr_assert_str_eq(back.lang, "fr");
    cr_assert_eq(relief_key_decode(kb, kl - 1, &back), AM_EMALFORMED);
    {
        static const uint8_t upper[] = {'l', 3, 'o', 'r', 's', 2, 'F', 'R'};
        static const uint8_t longer[] = {'l', 3, 'o', 'r', 's', 4, 'f', 'r', 'e', 'n'};
        static const uint8_t empty[] = {'l', 3, 'o', 'r', 's', 0};
        cr_assert_eq(relief_key_decode(upper, sizeof upper, &back), AM_EMALFORMED);
        cr_assert_eq(relief_key_decode(longer, sizeof longer, &back), AM_EMALFORMED);
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

Test(lname, creation_checks_the_item)
{
    struct relief_op op;
    char err[RELIEF_ERR_MAX] = "";
    name_op(&op, "ors", "fr", "SRO");
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

static struct relief_obj *obj_of(const char *item, const char *lang)
{
    struct relief_key k = {.kind = RELIEF_OBJ_LNAME};
    snprintf(k.item, sizeof k.item, "%s", item);
    snprintf(k.lang, sizeof k.lang, "%s", lang);
    return relief_obj_new(&k);
}

static void w_set(struct w *w, uint8_t author, uint64_t seq, uint64_t hlc, const char *name,
                  const struct relief_ref *sup, uint32_t nsup)
{
    name_op(&w->op, "ors", "fr", name);
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

static int head_is(const struct relief_reg *reg, uint32_t i, const char *s)
{
    return reg->heads[i].v.len == strlen(s) && !memcmp(reg->heads[i].v.s, s, strlen(s));
}

Test(lname, concurrent_names_conflict_until_one_names_both)
{
    struct relief_obj *o = obj_of("ors", "fr");
    struct relief_reg reg;
    struct w a, b, c, d;
    struct relief_ref both[2];

    cr_assert_not_null(o);
    w_set(&a, 1, 1, 100, "Sachet de SRO", NULL, 0);
    w_set(&b, 2, 1, 90, "SRO en sachet", NULL, 0); /* concurrent, older clock */
    apply(o, &b);
    apply(o, &a);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_NAME, &reg), AM_OK);
    cr_assert_eq(reg.n_writes, 2);
    cr_assert_eq(reg.n_heads, 2);
    cr_assert(reg.conflict);
    cr_assert(head_is(&reg, 0, "Sachet de SRO"), "the winner is the greatest (hlc, author, seq)");
    cr_assert(head_is(&reg, 1, "SRO en sachet"));
    /* a write by a node that saw both settles it */
    both[0] = a.ref;
    both[1] = b.ref;
    w_set(&c, 3, 1, 95, "Sachet SRO", both, 2);
    apply(o, &c);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_NAME, &reg), AM_OK);
    cr_assert_eq(reg.n_heads, 1);
    cr_assert_not(reg.conflict);
    cr_assert(head_is(&reg, 0, "Sachet SRO"));
    /* the removal: "" over the settled name */
    w_set(&d, 3, 2, 96, "", &c.ref, 1);
    apply(o, &d);
    cr_assert_eq(relief_obj_reg(o, RELIEF_F_NAME, &reg), AM_OK);
    cr_assert_eq(reg.n_heads, 1);
    cr_assert_eq(reg.heads[0].v.len, 0);
    /* another language's op, another item's, or the item's own op never lands on it */
    {
        struct relief_op other;
        struct relief_ref r = R(4, 1);
        name_op(&other, "ors", "es", "Sobre");
        cr_assert_eq(relief_obj_apply(o, &other, &r, 1, NULL), AM_EINVAL);
        name_op(&other, "ors-2", "fr", "Sachet");
        cr_assert_eq(relief_obj_apply(o, &other, &r, 1, NULL), AM_EINVAL);
        memset(&other, 0, sizeof other);
        other.type = RELIEF_T_ITEM;
        other.item = S("ors");
        other.name = S("ORS");
        other.has = RELIEF_HAS(RELIEF_K_CODE) | RELIEF_HAS(RELIEF_K_NAME);
        cr_assert_eq(relief_obj_apply(o, &other, &r, 1, NULL), AM_EINVAL);
    }
    relief_obj_free(o);

    /* the same writes in the other order give the same view bytes */
    {
        struct relief_obj *x = obj_of("ors", "fr"), *y = obj_of("ors", "fr");
        uint8_t bx[1024], by[1024];
        size_t lx, ly;
        const struct w *all[] = {&a, &b, &c, &d};
        for (int i = 0; i < 4; i++) {
            apply(x, all[i]);
            apply(y, all[3 - i]);
            apply(y, all[3 - i]); /* a duplicate counts once */
        }
        cr_assert_eq(relief_obj_dump(x, bx, sizeof bx, &lx), AM_OK);
        cr_assert_eq(relief_obj_dump(y, by, sizeof by, &ly), AM_OK);
        cr_assert_eq(lx, ly);
        cr_assert_eq(memcmp(bx, by, lx), 0);
        relief_obj_free(x);
        relief_obj_free(y);
    }
}

/* The view's bytes: {"k": "lname", "item", "lang", "name": register}. */
Test(lname, view_bytes)
{
    struct relief_obj *o = obj_of("ors", "fr");
    uint8_t buf[512];
    size_t len;
    msgpack_unpacked u;
    msgpack_object_kv *kv;
    struct w a;

    w_set(&a, 1, 1, 100, "Sachet de SRO", NULL, 0);
    apply(o, &a);
    cr_assert_eq(relief_obj_dump(o, buf, sizeof buf, &len), AM_OK);
    msgpack_unpacked_init(&u);
    cr_assert_eq(msgpack_unpack_next(&u, (const char *)buf, len, NULL), MSGPACK_UNPACK_SUCCESS);
    cr_assert_eq(u.data.type, MSGPACK_OBJECT_MAP);
    cr_assert_eq(u.data.via.map.size, 4);
    kv = u.data.via.map.ptr;
    cr_assert(kv[0].val.via.str.size == 5 && !memcmp(kv[0].val.via.str.ptr, "lname", 5));
    cr_assert(kv[1].key.via.str.size == 4 && !memcmp(kv[1].key.via.str.ptr, "item", 4));
    cr_assert(kv[2].val.via.str.size == 2 && !memcmp(kv[2].val.via.str.ptr, "fr", 2));
    cr_assert(kv[3].key.via.str.size == 4 && !memcmp(kv[3].key.via.str.ptr, "name", 4));
    msgpack_unpacked_destroy(&u);
    relief_obj_free(o);
}

/* ---- the read model ---- */

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

static void w_name(struct world *w, int a, const char *item, const char *lang, const char *name)
{
    struct relief_op op;
    name_op(&op, item, lang, name);
    w_write(w, a, &op, NULL);
}

Test(lname, read_model_names_and_falls_back)
{
    struct world w;
    struct query *q;
    const struct query_lname *rows;
    struct relief_op op;
    size_t n, len;
    const char *s;

    memset(&w, 0, sizeof w);
    cr_assert(sodium_init() >= 0);
    w.dir = tu_tmpdir();
    cr_assert_eq(store_open(&w.s, w.dir, NULL), AM_OK);
    for (int a = 0; a < 2; a++)
        crypto_sign_keypair(w.pk[a], w.sk[a]);
    w.clock = hlc_pack(NOW_MS - 86400000ULL, 0);

    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_ITEM;
    op.item = S("ors");
    op.name = S("ORS sachet");
    op.unit = S("sachet");
    op.has = RELIEF_HAS(RELIEF_K_CODE) | RELIEF_HAS(RELIEF_K_NAME) | RELIEF_HAS(RELIEF_K_UNIT);
    w_write(&w, 0, &op, NULL);
    w_name(&w, 0, "ors", "fr", "Sachet de SRO");
    w_name(&w, 0, "ors", "es", "Sobre de SRO");
    w_name(&w, 0, "ors", "ar", "SRO");
    w_name(&w, 0, "ors", "ar", ""); /* removed again: its own later write */
    w_name(&w, 1, "bandage", "fr", "Bande");

    cr_assert_eq(query_open(w.s, NOW_MS, &q), AM_OK);
    cr_assert_eq(query_lnames(q, NULL, 0, &rows, &n), AM_OK);
    cr_assert_eq(n, 3, "the removed Arabic name is not listed");
    cr_assert_str_eq(rows[0].item, "bandage");
    cr_assert_str_eq(rows[1].lang, "es");
    cr_assert_str_eq(rows[2].lang, "fr");
    cr_assert_eq(query_lnames(q, "ors", 1, &rows, &n), AM_OK);
    cr_assert_eq(n, 3, "with the removed one");
    cr_assert_str_eq(rows[0].lang, "ar");
    cr_assert_eq(rows[0].len, 0);
    s = query_item_name(q, "ors", "fr", &len);
    cr_assert(len == 13 && !memcmp(s, "Sachet de SRO", len));
    s = query_item_name(q, "ors", "es", &len);
    cr_assert(len == 12 && !memcmp(s, "Sobre de SRO", len));
    s = query_item_name(q, "ors", "ar", &len);
    cr_assert(len == 10 && !memcmp(s, "ORS sachet", len), "removed: the item's own name");
    s = query_item_name(q, "ors", "en", &len);
    cr_assert(len == 10 && !memcmp(s, "ORS sachet", len), "none: the item's own name");
    s = query_item_name(q, "bandage", "en", &len);
    cr_assert(len == 7 && !memcmp(s, "bandage", len), "no item op: its code");
    query_close(q);
    store_close(w.s);
    tu_rmrf(w.dir);
    free(w.dir);
}
