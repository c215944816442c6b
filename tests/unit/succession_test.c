/*
 * succession_test.c: the succession op (PROTOCOL.md 10.4, §1 label) and its object
 * (10.7, 10.9): strict decoding, the checks that need the entry's author
 * (relief_op_check_author: osig by the old key over the exact message, old != author),
 * the view that lists successors in one order whatever the order of arrival (a second
 * successor of one branch listed as refused), and the store's views: an invalid
 * succession (signed by one key, or of a key not forked here) is recorded with its reason
 * and listed nowhere, every arrival order (the fork before or after the succession) gives
 * the same fingerprint, and reindex equals the live views. Seeded orders print their seed
 * (rerun with AM_SEED=...).
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "entry.h"
#include "query.h"
#include "relief.h"
#include "store.h"
#include "testutil.h"

#define WALL 1767225600000ULL /* 2026-01-01 */

struct key {
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
};

static void key_make(struct key *k, uint8_t tag)
{
    uint8_t seed[AM_SEED_LEN];
    memset(seed, tag, sizeof seed);
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

/* A succession of `old` by `new_pk` naming (seq, head), osig made with signer's sk. */
static void succ_op(struct relief_op *op, const struct key *old, const uint8_t *new_pk,
                    uint64_t seq, uint8_t head_tag, const struct key *signer)
{
    uint8_t msg[RELIEF_SUCC_MSG_LEN];
    memset(op, 0, sizeof *op);
    op->type = RELIEF_T_SUCCESSION;
    op->has = RELIEF_HAS(RELIEF_K_OLD) | RELIEF_HAS(RELIEF_K_SEQ) | RELIEF_HAS(RELIEF_K_HEAD) |
              RELIEF_HAS(RELIEF_K_OSIG);
    memcpy(op->old, old->pk, AM_PK_LEN);
    op->oseq = seq;
    memset(op->head, head_tag, AM_HASH_LEN);
    relief_succession_msg(new_pk, seq, op->head, msg);
    crypto_sign_detached(op->osig, NULL, msg, sizeof msg, signer->sk);
}

static size_t enc(const struct relief_op *op, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    char err[RELIEF_ERR_MAX];
    int rc = relief_op_encode(op, buf, cap, &len, err, sizeof err);
    cr_assert_eq(rc, AM_OK, "encode: %s (%s)", am_strerror(rc), err);
    return len;
}

static int dec(const uint8_t *p, size_t n, struct relief_op *op, char *err)
{
    uint8_t *q = tu_dup_exact(p, n);
    int rc = relief_op_decode(q, n, op, err, RELIEF_ERR_MAX);
    free(q);
    return rc;
}

/* ---- the op ---- */

Test(succession, label_and_message_bytes)
{
    uint8_t msg[RELIEF_SUCC_MSG_LEN], pk[AM_PK_LEN], head[AM_HASH_LEN];
    memset(pk, 0xab, sizeof pk);
    memset(head, 0xcd, sizeof head);
    relief_succession_msg(pk, 0x0102030405060708ULL, head, msg);
    cr_assert_eq(RELIEF_SUCC_MSG_LEN, 94);
    cr_assert_eq(memcmp(msg, "aidmesh succession v1", 21), 0);
    cr_assert_eq(msg[21], 0, "the label ends with one NUL");
    cr_assert_eq(msg[22], 0xab);
    cr_assert_eq(msg[53], 0xab);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(msg[54 + i], i + 1, "be64 seq");
    cr_assert_eq(msg[62], 0xcd);
    cr_assert_eq(msg[93], 0xcd);
}

Test(succession, round_trips_in_canonical_order)
{
    struct key old, nw;
    struct relief_op op, back;
    uint8_t buf[512];
    char err[RELIEF_ERR_MAX];
    size_t n;

    key_make(&old, 1);
    key_make(&nw, 2);
    succ_op(&op, &old, nw.pk, 7, 0x33, &old);
    n = enc(&op, buf, sizeof buf);
    cr_assert_eq(buf[0], 0x85, "map of 5");
    cr_assert_eq(memcmp(buf + 1, "\xa1t\xaasuccession\xa3old\xc4\x20", 19), 0, "t, then old");
    cr_assert_eq(dec(buf, n, &back, err), AM_OK, "%s", err);
    cr_assert_eq(back.type, RELIEF_T_SUCCESSION);
    cr_assert_eq(memcmp(back.old, old.pk, AM_PK_LEN), 0);
    cr_assert_eq(back.oseq, 7);
    cr_assert_eq(memcmp(back.head, op.head, AM_HASH_LEN), 0);
    cr_assert_eq(memcmp(back.osig, op.osig, AM_SIG_LEN), 0);
    cr_assert_str_eq(relief_type_name(RELIEF_T_SUCCESSION), "succession");
    cr_assert_eq(relief_op_check_author(&back, nw.pk, err, sizeof err), AM_OK, "%s", err);
}

/* The encoded succession with one value replaced: key k's value bytes (after the key)
 * become `val` of vlen bytes; drop = 1 leaves the key out. */
static size_t variant(const uint8_t *src, size_t n, const char *k, const uint8_t *val, size_t vlen,
                      int drop, uint8_t *out)
{
    struct relief_op op;
    char err[RELIEF_ERR_MAX];
    size_t o = 1;
    const uint8_t *p = src + 1;
    cr_assert_eq(dec(src, n, &op, err), AM_OK);
    out[0] = drop ? 0x84 : 0x85;
    /* walk the five pairs in canonical order: t, old, seq, head, osig */
    static const char *keys[] = {"t", "old", "seq", "head", "osig"};
    for (int i = 0; i < 5; i++) {
        size_t kl = strlen(keys[i]), vl;
        const uint8_t *v = p + 1 + kl;
        if (i == 0)
            vl = 1 + 10;
        else if (i == 2)
            vl = op.oseq < 128 ? 1 : 9; /* the encoder's shortest forms for the test seqs */
        else
            vl = 2 + (size_t)v[1];
        if (!strcmp(keys[i], k)) {
            if (!drop) {
                memcpy(out + o, p, 1 + kl);
                o += 1 + kl;
                memcpy(out + o, val, vlen);
                o += vlen;
            }
        } else {
            memcpy(out + o, p, 1 + kl + vl);
            o += 1 + kl + vl;
        }
        p = v + vl;
    }
    cr_assert_eq((size_t)(p - src), n, "walked the whole op");
    return o;
}

Test(succession, strict_decoding)
{
    struct key old, nw;
    struct relief_op op, back;
    uint8_t buf[512], v[512], val[80];
    char err[RELIEF_ERR_MAX];
    size_t n, m;

    key_make(&old, 1);
    key_make(&nw, 2);
    succ_op(&op, &old, nw.pk, 7, 0x33, &old);
    n = enc(&op, buf, sizeof buf);

    static const char *must[] = {"old", "seq", "head", "osig"};
    for (int i = 0; i < 4; i++) {
        m = variant(buf, n, must[i], NULL, 0, 1, v);
        cr_assert_eq(dec(v, m, &back, err), AM_EMALFORMED, "without %s", must[i]);
        cr_assert(strstr(err, "missing key") && strstr(err, must[i]), "%s", err);
    }
    /* a bin one byte short, for each bin */
    static const char *bins[] = {"old", "head", "osig"};
    static const uint8_t lens[] = {32, 32, 64};
    for (int i = 0; i < 3; i++) {
        memset(val, 0x5a, sizeof val);
        val[0] = 0xc4;
        val[1] = (uint8_t)(lens[i] - 1);
        m = variant(buf, n, bins[i], val, 2 + lens[i] - 1u, 0, v);
        cr_assert_eq(dec(v, m, &back, err), AM_EMALFORMED, "short %s", bins[i]);
        cr_assert(strstr(err, bins[i]) && strstr(err, "bin of"), "%s", err);
        /* a str where a bin belongs */
        val[0] = (uint8_t)(0xa0 | 1);
        val[1] = 'x';
        m = variant(buf, n, bins[i], val, 2, 0, v);
        cr_assert_eq(dec(v, m, &back, err), AM_EMALFORMED, "str %s", bins[i]);
    }
    /* seq 0, negative, nil */
    val[0] = 0x00;
    m = variant(buf, n, "seq", val, 1, 0, v);
    cr_assert_eq(dec(v, m, &back, err), AM_EMALFORMED);
    cr_assert(strstr(err, "\"seq\""), "%s", err);
    val[0] = 0xff; /* -1 */
    m = variant(buf, n, "seq", val, 1, 0, v);
    cr_assert_eq(dec(v, m, &back, err), AM_EMALFORMED);
    val[0] = 0xc0;
    m = variant(buf, n, "seq", val, 1, 0, v);
    cr_assert_eq(dec(v, m, &back, err), AM_EMALFORMED);
    /* seq 2^63 is over the range; 2^63-1 is the largest */
    val[0] = 0xcf;
    memcpy(val + 1, "\x80\0\0\0\0\0\0\0", 8);
    m = variant(buf, n, "seq", val, 9, 0, v);
    cr_assert_eq(dec(v, m, &back, err), AM_EMALFORMED);
    memcpy(val + 1, "\x7f\xff\xff\xff\xff\xff\xff\xff", 8);
    m = variant(buf, n, "seq", val, 9, 0, v);
    cr_assert_eq(dec(v, m, &back, err), AM_OK, "%s", err);
    cr_assert_eq(back.oseq, (uint64_t)INT64_MAX);

    /* a key of another type is unknown here, and a succession key elsewhere */
    op.has |= RELIEF_HAS(RELIEF_K_NOTE);
    op.note.p = "x";
    op.note.len = 1;
    cr_assert_eq(relief_op_encode(&op, buf, sizeof buf, &m, err, sizeof err), AM_EINVAL);
    {
        struct relief_op dlv = {.type = RELIEF_T_NEED_DLV, .q = 1};
        dlv.has = RELIEF_HAS(RELIEF_K_NEED) | RELIEF_HAS(RELIEF_K_Q) | RELIEF_HAS(RELIEF_K_SEQ);
        dlv.oseq = 3;
        cr_assert_eq(relief_op_encode(&dlv, buf, sizeof buf, &m, err, sizeof err), AM_EINVAL);
    }
}

Test(succession, checks_that_need_the_author)
{
    struct key old, nw, other;
    struct relief_op op, back;
    uint8_t buf[512];
    char err[RELIEF_ERR_MAX];
    size_t n;

    key_make(&old, 1);
    key_make(&nw, 2);
    key_make(&other, 3);

    /* osig by the wrong key: the new key signed it itself */
    succ_op(&op, &old, nw.pk, 7, 0x33, &nw);
    n = enc(&op, buf, sizeof buf);
    cr_assert_eq(dec(buf, n, &back, err), AM_OK, "decoding alone cannot tell");
    cr_assert_eq(relief_op_check_author(&back, nw.pk, err, sizeof err), AM_EBADSIG);
    cr_assert(strstr(err, "\"osig\" is not a signature by the old key"), "%s", err);

    /* a good osig, but in an entry of another key than the one it names */
    succ_op(&op, &old, nw.pk, 7, 0x33, &old);
    n = enc(&op, buf, sizeof buf);
    cr_assert_eq(dec(buf, n, &back, err), AM_OK);
    cr_assert_eq(relief_op_check_author(&back, nw.pk, err, sizeof err), AM_OK, "%s", err);
    cr_assert_eq(relief_op_check_author(&back, other.pk, err, sizeof err), AM_EBADSIG);

    /* every bit of osig, seq and head matters */
    for (int bit = 0; bit < 8 * AM_SIG_LEN; bit += 37) {
        struct relief_op x = back;
        x.osig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_eq(relief_op_check_author(&x, nw.pk, NULL, 0), AM_EBADSIG, "osig bit %d", bit);
    }
    {
        struct relief_op x = back;
        x.oseq ^= 1;
        cr_assert_eq(relief_op_check_author(&x, nw.pk, NULL, 0), AM_EBADSIG, "seq");
        x = back;
        x.head[31] ^= 0x80;
        cr_assert_eq(relief_op_check_author(&x, nw.pk, NULL, 0), AM_EBADSIG, "head");
    }

    /* old == author: a key cannot succeed itself, even with its own good signature */
    succ_op(&op, &old, old.pk, 7, 0x33, &old);
    n = enc(&op, buf, sizeof buf);
    cr_assert_eq(dec(buf, n, &back, err), AM_OK);
    cr_assert_eq(relief_op_check_author(&back, old.pk, err, sizeof err), AM_EMALFORMED);
    cr_assert(strstr(err, "cannot succeed itself"), "%s", err);

    /* other ops have nothing to check */
    {
        struct relief_op site = {.type = RELIEF_T_SITE};
        cr_assert_eq(relief_op_check_author(&site, old.pk, NULL, 0), AM_OK);
    }
}

/* ---- the object ---- */

static struct relief_obj *succ_obj(const struct key *old)
{
    struct relief_key k = {.kind = RELIEF_OBJ_SUCC};
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl;
    struct relief_key back;
    memcpy(k.author, old->pk, AM_PK_LEN);
    cr_assert_eq(relief_key_encode(&k, kb, &kl), AM_OK);
    cr_assert_eq(kl, 1 + AM_PK_LEN);
    cr_assert_eq(kb[0], 'u');
    cr_assert_eq(relief_key_decode(kb, kl, &back), AM_OK);
    cr_assert_eq(memcmp(back.author, old->pk, AM_PK_LEN), 0);
    cr_assert_eq(relief_key_decode(kb, kl - 1, &back), AM_EMALFORMED);
    return relief_obj_new(&k);
}

static size_t dump(struct relief_obj *o, uint8_t *buf, size_t cap)
{
    size_t len;
    cr_assert_eq(relief_obj_dump(o, buf, cap, &len), AM_OK);
    return len;
}

Test(succession, view_lists_both_successors_in_one_order)
{
    struct key old, n1, n2;
    struct relief_op a, b;
    struct relief_ref ra, rb;
    struct relief_key k;
    uint8_t d1[1024], d2[1024];
    size_t l1, l2;
    const struct relief_successor *s;
    uint32_t ns, total;
    uint64_t seed = tu_seed("succession view order"), st = seed;

    key_make(&old, 1);
    key_make(&n1, 2);
    key_make(&n2, 3);
    /* both clones name seq 5 of the old key, each its own branch head */
    succ_op(&a, &old, n1.pk, 5, 0xa1, &old);
    succ_op(&b, &old, n2.pk, 5, 0xb2, &old);
    cr_assert_eq(relief_op_key(&a, NULL, &k), AM_OK);
    cr_assert_eq(k.kind, RELIEF_OBJ_SUCC);
    cr_assert_eq(memcmp(k.author, old.pk, AM_PK_LEN), 0);
    memcpy(ra.author, n1.pk, AM_PK_LEN);
    ra.seq = 1;
    memcpy(rb.author, n2.pk, AM_PK_LEN);
    rb.seq = 1;

    for (int round = 0; round < 16; round++) {
        struct relief_obj *x = succ_obj(&old), *y = succ_obj(&old);
        uint64_t ha = 1000 + tu_rand(&st) % 3, hb = 1000 + tu_rand(&st) % 3;
        cr_assert_eq(relief_obj_apply(x, &a, &ra, ha, NULL), AM_OK);
        cr_assert_eq(relief_obj_apply(x, &b, &rb, hb, NULL), AM_OK);
        cr_assert_eq(relief_obj_apply(y, &b, &rb, hb, NULL), AM_OK);
        cr_assert_eq(relief_obj_apply(y, &a, &ra, ha, NULL), AM_OK);
        cr_assert_eq(relief_obj_apply(y, &b, &rb, hb, NULL), AM_OK, "a repeat counts once");
        cr_assert_eq(relief_obj_nops(y), 2);
        l1 = dump(x, d1, sizeof d1);
        l2 = dump(y, d2, sizeof d2);
        cr_assert_eq(l1, l2, "seed %llu round %d", (unsigned long long)seed, round);
        cr_assert_eq(memcmp(d1, d2, l1), 0, "seed %llu round %d: same bytes in both orders",
                     (unsigned long long)seed, round);
        cr_assert_eq(relief_succession_view(y, &s, &ns, &total), AM_OK);
        cr_assert_eq(ns, 2);
        cr_assert_eq(total, 2);
        /* ascending by (hlc, author, seq) */
        cr_assert(s[0].hlc < s[1].hlc || (s[0].hlc == s[1].hlc &&
                                          memcmp(s[0].ref.author, s[1].ref.author, AM_PK_LEN) < 0));
        cr_assert_eq(s[0].seq, 5);
        cr_assert_neq(memcmp(s[0].head, s[1].head, AM_HASH_LEN), 0, "each names its own branch");
        relief_obj_free(x);
        relief_obj_free(y);
    }
}

Test(succession, apply_refuses_what_is_not_a_succession_of_this_key)
{
    struct key old, nw, other;
    struct relief_op a, c;
    struct relief_ref r;
    struct relief_obj *o;
    const struct relief_successor *s;
    uint32_t ns, total;

    key_make(&old, 1);
    key_make(&nw, 2);
    key_make(&other, 3);
    o = succ_obj(&old);
    succ_op(&a, &old, nw.pk, 5, 0xa1, &old);
    memcpy(r.author, nw.pk, AM_PK_LEN);
    r.seq = 1;
    /* old == the entry's author */
    memcpy(r.author, old.pk, AM_PK_LEN);
    cr_assert_eq(relief_obj_apply(o, &a, &r, 1, NULL), AM_EINVAL);
    /* another key's succession belongs to another object */
    memcpy(r.author, nw.pk, AM_PK_LEN);
    succ_op(&c, &other, nw.pk, 5, 0xa1, &other);
    cr_assert_eq(relief_obj_apply(o, &c, &r, 1, NULL), AM_EINVAL);
    cr_assert_eq(relief_obj_nops(o), 0);
    /* one ref, two contents: a fork the store never lets through */
    cr_assert_eq(relief_obj_apply(o, &a, &r, 1, NULL), AM_OK);
    succ_op(&c, &old, nw.pk, 6, 0xa1, &old);
    cr_assert_eq(relief_obj_apply(o, &c, &r, 1, NULL), AM_EFORK);
    cr_assert_eq(relief_succession_view(o, &s, &ns, &total), AM_OK);
    cr_assert_eq(ns, 1);
    cr_assert_eq(s[0].seq, 5);
    /* the other views do not apply */
    {
        struct relief_need_view nv;
        cr_assert_eq(relief_need_view(o, &nv), AM_EINVAL);
    }
    relief_obj_free(o);
}

/* ---- the store's views ---- */

struct built {
    uint8_t raw[512];
    size_t len;
};

/* Entry seq 1 of `nw` holding op, stamped hlc. */
static void build(struct built *b, const struct key *nw, const struct relief_op *op, uint64_t hlc)
{
    uint8_t opb[512], prev[AM_HASH_LEN] = {0};
    size_t ol = enc(op, opb, sizeof opb);
    cr_assert_eq(entry_build(b->raw, sizeof b->raw, &b->len, nw->sk, 1, prev, hlc, opb, ol), AM_OK);
}

static void ingest_one(struct store *s, const struct built *b)
{
    const uint8_t *e[1] = {b->raw};
    size_t l[1] = {b->len};
    struct store_ingest_stats st;
    cr_assert_eq(store_ingest(s, e, l, 1, WALL, &st), AM_OK);
    cr_assert_eq(st.added + st.forks, 1, "stored (as a new entry or a branch's first)");
}

/* Entry seq 1 of `old` writing site `slug`: two of them with different slugs fork the key
 * at seq 1 (both are kept, each a branch). */
static void build_site(struct built *b, const struct key *old, const char *slug, uint64_t hlc)
{
    struct relief_op op = {.type = RELIEF_T_SITE};
    op.site.p = slug;
    op.site.len = (uint32_t)strlen(slug);
    op.name = op.site;
    op.has = RELIEF_HAS(RELIEF_K_SLUG) | RELIEF_HAS(RELIEF_K_NAME);
    build(b, old, &op, hlc);
}

/* The invalid list of s as one string: "seq:why\n" per entry. */
struct whys {
    char buf[2048];
    size_t len;
};

static int why_add(void *ctx, const uint8_t *author, uint64_t seq, const char *why, size_t len)
{
    struct whys *w = ctx;
    int n;
    (void)author;
    n = snprintf(w->buf + w->len, sizeof w->buf - w->len, "%llu:%.*s\n", (unsigned long long)seq,
                 (int)len, why);
    cr_assert(n > 0 && (size_t)n < sizeof w->buf - w->len);
    w->len += (size_t)n;
    return 0;
}

static void whys(struct store *s, struct whys *w)
{
    w->len = 0;
    w->buf[0] = 0;
    cr_assert_eq(store_invalid_each(s, why_add, w), AM_OK);
}

Test(succession, store_views_any_order_reindex_and_invalid_ones)
{
    struct key old, n1, n2, bad;
    struct relief_op a, b, c;
    struct built e[3], f[2];
    struct store *s[2];
    struct store_view_stats vs[2];
    struct whys w[2];
    char *dir[2];
    uint64_t hlc = (WALL - 1000) << 16;

    key_make(&old, 1);
    key_make(&n1, 2);
    key_make(&n2, 3);
    key_make(&bad, 4);
    succ_op(&a, &old, n1.pk, 5, 0xa1, &old);
    succ_op(&b, &old, n2.pk, 5, 0xb2, &old);
    succ_op(&c, &old, bad.pk, 5, 0xc3, &bad); /* signed by only one key */
    build(&e[0], &n1, &a, hlc);
    build(&e[1], &n2, &b, hlc + 1);
    build(&e[2], &bad, &c, hlc + 2);
    /* the old key signs two different first records: forked */
    build_site(&f[0], &old, "hub-north", hlc - 10);
    build_site(&f[1], &old, "clinic-2", hlc - 9);
    for (int i = 0; i < 2; i++) {
        dir[i] = tu_tmpdir();
        cr_assert_eq(store_open(&s[i], dir[i], NULL), AM_OK);
    }
    /* store 0: the fork first, then the successions; store 1: the successions first
     * (reversed), and the fork after them */
    ingest_one(s[0], &f[0]);
    ingest_one(s[0], &f[1]);
    for (int i = 0; i < 3; i++)
        ingest_one(s[0], &e[i]);
    for (int i = 2; i >= 0; i--)
        ingest_one(s[1], &e[i]);
    cr_assert_eq(store_view_stats(s[1], &vs[1]), AM_OK);
    cr_assert_eq(vs[1].invalid, 3, "before the fork: none counts");
    whys(s[1], &w[1]);
    cr_assert(strstr(w[1].buf, "is not forked here"), "%s", w[1].buf);
    cr_assert(strstr(w[1].buf, "\"osig\" is not a signature"), "%s", w[1].buf);
    ingest_one(s[1], &f[1]);
    ingest_one(s[1], &f[0]);
    for (int i = 0; i < 2; i++) {
        struct query *q;
        const struct query_successor *rows;
        size_t n, total;
        cr_assert_eq(store_view_stats(s[i], &vs[i]), AM_OK);
        cr_assert_eq(vs[i].invalid, 1, "the one-key succession is recorded invalid");
        cr_assert_eq(vs[i].objects, 3, "one succession object, two sites");
        cr_assert_eq(vs[i].sites, 2);
        cr_assert_eq(vs[i].items + vs[i].needs + vs[i].cells, 0);
        whys(s[i], &w[i]);
        cr_assert(strstr(w[i].buf, "\"osig\" is not a signature"), "%s", w[i].buf);
        cr_assert_null(strstr(w[i].buf, "not forked"), "%s", w[i].buf);
        cr_assert_eq(query_open(s[i], WALL, &q), AM_OK);
        cr_assert_eq(query_successors(q, old.pk, &rows, &n, &total), AM_OK);
        cr_assert_eq(n, 2);
        cr_assert_eq(total, 2);
        cr_assert_eq(memcmp(rows[0].author, n1.pk, AM_PK_LEN), 0, "by hlc: n1 first");
        cr_assert_eq(memcmp(rows[1].author, n2.pk, AM_PK_LEN), 0);
        cr_assert_eq(rows[0].seq, 5);
        cr_assert_eq(rows[0].entry_seq, 1);
        cr_assert_eq(rows[0].hlc, hlc);
        cr_assert_eq(rows[1].head[0], 0xb2);
        cr_assert(!rows[0].refused && !rows[1].refused, "two branches, one successor each");
        cr_assert_eq(query_predecessors(q, n2.pk, &rows, &n), AM_OK);
        cr_assert_eq(n, 1);
        cr_assert_eq(memcmp(rows[0].old, old.pk, AM_PK_LEN), 0);
        cr_assert_eq(query_predecessors(q, bad.pk, &rows, &n), AM_OK);
        cr_assert_eq(n, 0, "an invalid succession is listed nowhere");
        cr_assert_eq(query_successors(q, n1.pk, &rows, &n, &total), AM_OK);
        cr_assert_eq(n, 0);
        query_close(q);
    }
    cr_assert_eq(memcmp(vs[0].fingerprint, vs[1].fingerprint, STORE_VIEW_FP_LEN), 0,
                 "both orders give the same views");
    cr_assert_str_eq(w[0].buf, w[1].buf, "and the same invalid list");
    for (int i = 0; i < 2; i++) {
        struct store_view_stats after;
        struct whys wa;
        cr_assert_eq(store_reindex(s[i], NULL), AM_OK);
        cr_assert_eq(store_view_stats(s[i], &after), AM_OK);
        cr_assert_eq(memcmp(after.fingerprint, vs[i].fingerprint, STORE_VIEW_FP_LEN), 0,
                     "reindex equals the live views");
        cr_assert_eq(after.invalid, 1);
        whys(s[i], &wa);
        cr_assert_str_eq(wa.buf, w[i].buf, "reindex: the same invalid list");
    }
    for (int i = 0; i < 2; i++) {
        store_close(s[i]);
        tu_rmrf(dir[i]);
        free(dir[i]);
    }
}

/* A succession of a key that is not forked here is recorded invalid, saying so, live and
 * after reindex alike; an unforked old key's own entries change nothing; the fork makes it
 * count, whichever arrives first, and the views are then the same as a store that had the
 * fork first. */
Test(succession, old_key_not_forked_is_invalid_until_the_fork_arrives)
{
    struct key old, nw;
    struct relief_op a;
    struct built e, f[2];
    struct store *s[2];
    struct store_view_stats v, v0, vr;
    struct whys w, wr;
    char *dir[2];
    uint64_t hlc = (WALL - 1000) << 16;
    struct query *q;
    const struct query_successor *rows;
    size_t n, total;

    key_make(&old, 1);
    key_make(&nw, 2);
    succ_op(&a, &old, nw.pk, 1, 0xa1, &old);
    build(&e, &nw, &a, hlc);
    build_site(&f[0], &old, "hub-north", hlc - 10);
    build_site(&f[1], &old, "clinic-2", hlc - 9);
    for (int i = 0; i < 2; i++) {
        dir[i] = tu_tmpdir();
        cr_assert_eq(store_open(&s[i], dir[i], NULL), AM_OK);
    }

    /* store 0: the succession alone, then the old key's one record: not forked */
    ingest_one(s[0], &e);
    for (int step = 0; step < 2; step++) {
        if (step == 1)
            ingest_one(s[0], &f[0]);
        cr_assert_eq(store_view_stats(s[0], &v), AM_OK);
        cr_assert_eq(v.invalid, 1, "step %d: the succession is invalid", step);
        whys(s[0], &w);
        cr_assert(strstr(w.buf, "1:succession: the old key ") == w.buf, "%s", w.buf);
        cr_assert(strstr(w.buf, "is not forked here"), "%s", w.buf);
        cr_assert_eq(query_open(s[0], WALL, &q), AM_OK);
        cr_assert_eq(query_successors(q, old.pk, &rows, &n, &total), AM_OK);
        cr_assert_eq(n, 0, "step %d: no successor listed", step);
        cr_assert_eq(total, 0);
        cr_assert_eq(query_predecessors(q, nw.pk, &rows, &n), AM_OK);
        cr_assert_eq(n, 0);
        query_close(q);
        /* the rebuild judges it alike */
        cr_assert_eq(store_reindex(s[0], NULL), AM_OK);
        cr_assert_eq(store_view_stats(s[0], &vr), AM_OK);
        cr_assert_eq(memcmp(vr.fingerprint, v.fingerprint, STORE_VIEW_FP_LEN), 0,
                     "step %d: reindex equals the live views", step);
        whys(s[0], &wr);
        cr_assert_str_eq(wr.buf, w.buf, "step %d: the same reason after reindex", step);
    }

    /* the fork arrives: the succession counts */
    ingest_one(s[0], &f[1]);
    cr_assert_eq(store_view_stats(s[0], &v), AM_OK);
    cr_assert_eq(v.invalid, 0, "the fork made it valid");
    cr_assert_eq(query_open(s[0], WALL, &q), AM_OK);
    cr_assert_eq(query_successors(q, old.pk, &rows, &n, &total), AM_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(memcmp(rows[0].author, nw.pk, AM_PK_LEN), 0);
    cr_assert_eq(query_predecessors(q, nw.pk, &rows, &n), AM_OK);
    cr_assert_eq(n, 1);
    query_close(q);

    /* store 1: the fork first, then the succession: the same views */
    ingest_one(s[1], &f[1]);
    ingest_one(s[1], &f[0]);
    ingest_one(s[1], &e);
    cr_assert_eq(store_view_stats(s[1], &v0), AM_OK);
    cr_assert_eq(v0.invalid, 0);
    cr_assert_eq(memcmp(v0.fingerprint, v.fingerprint, STORE_VIEW_FP_LEN), 0,
                 "the fork before or after the succession: the same views");
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(store_reindex(s[i], NULL), AM_OK);
        cr_assert_eq(store_view_stats(s[i], &vr), AM_OK);
        cr_assert_eq(vr.invalid, 0);
        cr_assert_eq(memcmp(vr.fingerprint, v.fingerprint, STORE_VIEW_FP_LEN), 0,
                     "store %d: reindex equals the live views", i);
    }
    for (int i = 0; i < 2; i++) {
        store_close(s[i]);
        tu_rmrf(dir[i]);
        free(dir[i]);
    }
}

/* One successor per branch: of the successions naming one head, the first by (hlc,
 * author, seq) counts, the others are listed as refused, in every arrival order. */
Test(succession, second_successor_of_a_branch_is_refused)
{
    struct key old, nk[3];
    struct relief_op op[3];
    struct relief_ref ref[3];
    uint8_t d0[1024], d[1024];
    size_t l0 = 0, l;
    uint64_t seed = tu_seed("succession second successor"), st = seed;
    static const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

    key_make(&old, 1);
    for (int i = 0; i < 3; i++) {
        key_make(&nk[i], (uint8_t)(2 + i));
        memcpy(ref[i].author, nk[i].pk, AM_PK_LEN);
        ref[i].seq = 1;
    }
    /* nk[0] and nk[1] name the same head (one branch), nk[2] another */
    succ_op(&op[0], &old, nk[0].pk, 5, 0xa1, &old);
    succ_op(&op[1], &old, nk[1].pk, 5, 0xa1, &old);
    succ_op(&op[2], &old, nk[2].pk, 6, 0xb2, &old);
    for (int round = 0; round < 8; round++) {
        uint64_t h[3];
        for (int i = 0; i < 3; i++)
            h[i] = 1000 + tu_rand(&st) % 3; /* ties too: then by author */
        for (int p = 0; p < 6; p++) {
            struct relief_obj *o = succ_obj(&old);
            const struct relief_successor *s;
            uint32_t ns, total, refused = 0;
            int first = -1;
            for (int i = 0; i < 3; i++)
                cr_assert_eq(
                    relief_obj_apply(o, &op[perm[p][i]], &ref[perm[p][i]], h[perm[p][i]], NULL),
                    AM_OK);
            cr_assert_eq(relief_succession_view(o, &s, &ns, &total), AM_OK);
            cr_assert_eq(ns, 3);
            cr_assert_eq(total, 3);
            for (uint32_t i = 0; i < ns; i++) {
                int who = memcmp(s[i].ref.author, nk[0].pk, AM_PK_LEN) == 0   ? 0
                          : memcmp(s[i].ref.author, nk[1].pk, AM_PK_LEN) == 0 ? 1
                                                                              : 2;
                if (who == 2) {
                    cr_assert(!s[i].refused, "seed %llu: the other branch's counts",
                              (unsigned long long)seed);
                    continue;
                }
                if (first < 0) {
                    first = who;
                    cr_assert(!s[i].refused, "seed %llu: the first of the branch counts",
                              (unsigned long long)seed);
                } else {
                    cr_assert(s[i].refused, "seed %llu round %d: the second is refused",
                              (unsigned long long)seed, round);
                }
                refused += (uint32_t)s[i].refused;
            }
            cr_assert_eq(refused, 1);
            /* the first by (hlc, author, seq) */
            cr_assert_eq(first,
                         h[0] != h[1] ? (h[0] < h[1] ? 0 : 1)
                                      : (memcmp(nk[0].pk, nk[1].pk, AM_PK_LEN) < 0 ? 0 : 1),
                         "seed %llu round %d", (unsigned long long)seed, round);
            l = dump(o, d, sizeof d);
            if (p == 0) {
                l0 = l;
                memcpy(d0, d, l);
                /* each row ends in its refused flag */
                cr_assert(d[l - 1] == 0xc2 || d[l - 1] == 0xc3, "rows end in a bool");
            } else {
                cr_assert_eq(l, l0, "seed %llu round %d order %d", (unsigned long long)seed, round,
                             p);
                cr_assert_eq(memcmp(d, d0, l), 0, "seed %llu round %d order %d: same bytes",
                             (unsigned long long)seed, round, p);
            }
            relief_obj_free(o);
        }
    }
}

/* The same in the store: the refused one is listed (flagged) among the successors, is no
 * one's predecessor link, and the views agree in both orders and after reindex. */
Test(succession, store_lists_a_second_successor_as_refused)
{
    struct key old, n1, n2;
    struct relief_op a, b;
    struct built e[2], f[2];
    struct store *s[2];
    struct store_view_stats vs[2];
    char *dir[2];
    uint64_t hlc = (WALL - 1000) << 16;

    key_make(&old, 1);
    key_make(&n1, 2);
    key_make(&n2, 3);
    succ_op(&a, &old, n1.pk, 1, 0xa1, &old);
    succ_op(&b, &old, n2.pk, 1, 0xa1, &old); /* the same branch, later */
    build(&e[0], &n1, &a, hlc);
    build(&e[1], &n2, &b, hlc + 1);
    build_site(&f[0], &old, "hub-north", hlc - 10);
    build_site(&f[1], &old, "clinic-2", hlc - 9);
    for (int i = 0; i < 2; i++) {
        dir[i] = tu_tmpdir();
        cr_assert_eq(store_open(&s[i], dir[i], NULL), AM_OK);
    }
    ingest_one(s[0], &f[0]);
    ingest_one(s[0], &f[1]);
    ingest_one(s[0], &e[0]);
    ingest_one(s[0], &e[1]);
    ingest_one(s[1], &e[1]);
    ingest_one(s[1], &e[0]);
    ingest_one(s[1], &f[1]);
    ingest_one(s[1], &f[0]);
    for (int i = 0; i < 2; i++) {
        struct query *q;
        const struct query_successor *rows;
        size_t n, total;
        struct store_view_stats after;
        cr_assert_eq(store_view_stats(s[i], &vs[i]), AM_OK);
        cr_assert_eq(vs[i].invalid, 0, "a refused successor is valid, it just does not count");
        cr_assert_eq(query_open(s[i], WALL, &q), AM_OK);
        cr_assert_eq(query_successors(q, old.pk, &rows, &n, &total), AM_OK);
        cr_assert_eq(n, 2);
        cr_assert_eq(memcmp(rows[0].author, n1.pk, AM_PK_LEN), 0);
        cr_assert(!rows[0].refused);
        cr_assert_eq(memcmp(rows[1].author, n2.pk, AM_PK_LEN), 0);
        cr_assert(rows[1].refused, "store %d: the second successor of the branch", i);
        cr_assert_eq(query_predecessors(q, n1.pk, &rows, &n), AM_OK);
        cr_assert_eq(n, 1);
        cr_assert_eq(query_predecessors(q, n2.pk, &rows, &n), AM_OK);
        cr_assert_eq(n, 0, "a refused successor took over nothing");
        query_close(q);
        cr_assert_eq(store_reindex(s[i], NULL), AM_OK);
        cr_assert_eq(store_view_stats(s[i], &after), AM_OK);
        cr_assert_eq(memcmp(after.fingerprint, vs[i].fingerprint, STORE_VIEW_FP_LEN), 0,
                     "store %d: reindex equals the live views", i);
    }
    cr_assert_eq(memcmp(vs[0].fingerprint, vs[1].fingerprint, STORE_VIEW_FP_LEN), 0,
                 "both orders give the same views");
    for (int i = 0; i < 2; i++) {
        store_close(s[i]);
        tu_rmrf(dir[i]);
        free(dir[i]);
    }
}
