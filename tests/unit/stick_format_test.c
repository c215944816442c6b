/* stick_format_test.c: the stick's formats (transport/stick_format.c, PROTOCOL.md 11):
 * forks and every branch of a forked author carried by a real stick between real LMDB
 * stores, the manifest's log table as version 1 (no branch) and version 2 (child logs),
 * the record and manifest decoders on hostile bytes (bit-flip and truncation sweeps over
 * sealed slots and over bodies sealed with the real key, both versions), and the keys as
 * the BLAKE2b calls of the spec. Shared helpers in stick_tu.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "relief.h"
#include "stick.h"
#include "stick_tu.h"
#include "store.h"
#include "testutil.h"

TestSuite(stick_format, .init = stick_tu_setup, .fini = stick_tu_teardown, .timeout = 600);

/* ---- forks ------------------------------------------------------------------------------- */

Test(stick_format, fork_evidence_travels)
{
    struct stick_report r;
    uint8_t pk[AM_PK_LEN], cloned[AM_SK_LEN];
    struct store_stats st;

    crypto_sign_keypair(pk, cloned);
    write_notes(&A, cloned, 3, "original");
    write_notes(&B, cloned, 3, "clone"); /* the same key on another machine */
    cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
    cr_assert_eq(do_sync(&B, stick, &r), AM_OK);
    cr_assert_gt(r.forks, 0, "B sees the fork");
    cr_assert_gt(r.exported, 0, "and puts its own branch on the stick");
    cr_assert_eq(do_sync(&C, stick, &r), AM_OK);
    cr_assert_gt(r.forks, 0, "C, who met neither, learns of the fork from the stick");
    cr_assert_eq(store_stats(C.st, &st), AM_OK);
    cr_assert_eq(st.forked, 1);
    cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
    cr_assert_eq(store_stats(A.st, &st), AM_OK);
    cr_assert_eq(st.forked, 1, "and so does A");
    /* replaying is quiet again */
    cr_assert_eq(do_sync(&C, stick, &r), AM_OK);
    cr_assert_eq(r.new_segments, 0);
}

/* ---- every branch travels (issue 14) ------------------------------------------------------ */

/* n stock moves by `sk` into site s, quantities q0, q0 + 1, ... */
static void append_moves(struct site *s, const uint8_t *sk, int n, int q0)
{
    for (int i = 0; i < n; i++) {
        struct relief_op op;
        uint8_t buf[512];
        size_t len;
        const uint8_t *ops[1] = {buf};
        memset(&op, 0, sizeof op);
        op.type = RELIEF_T_STOCK_MOVE;
        op.site.p = "hub-north";
        op.site.len = 9;
        op.item.p = "ors-20.5";
        op.item.len = 8;
        op.q = q0 + i;
        op.reason = 1;
        op.has |= RELIEF_HAS(RELIEF_K_SITE) | RELIEF_HAS(RELIEF_K_ITEM) | RELIEF_HAS(RELIEF_K_Q) |
                  RELIEF_HAS(RELIEF_K_R);
        cr_assert_eq(relief_op_encode(&op, buf, sizeof buf, &len, NULL, 0), AM_OK);
        cr_assert_eq(store_append(s->st, sk, ops, &len, 1, WALL + (uint64_t)i, NULL), AM_OK);
    }
}

static int ingest_one(void *ctx, const uint8_t *raw, size_t len)
{
    struct store_ingest_stats st;
    cr_assert_eq(store_ingest(ctx, &raw, &len, 1, WALL, &st), AM_OK);
    cr_assert_eq(st.added, 1);
    return 0;
}

/* One key on two machines: a and b share its seqs 1..5, then each writes its own 6..12
 * (both branches stock moves); each site also writes under its own key. */
static void make_clones(struct site *a, struct site *b, uint8_t pk[AM_PK_LEN],
                        uint8_t sk[AM_SK_LEN])
{
    crypto_sign_keypair(pk, sk);
    append_moves(a, sk, 5, 1);
    cr_assert_geq(store_entries_each(a->st, pk, 1, ingest_one, b->st), 0);
    append_moves(a, sk, 7, 100);
    append_moves(b, sk, 7, 200);
    append_moves(a, a->sk, 3, 10);
    append_moves(b, b->sk, 4, 20);
}

struct logset {
    struct store_head h[64];
    size_t n;
};

static int add_log(void *ctx, const struct store_head *h)
{
    struct logset *l = ctx;
    cr_assert_lt(l->n, 64);
    l->h[l->n++] = *h;
    return 0;
}

/* The same logs (ids, parents, first and last seqs, heads) and the same views. */
static void assert_same_logs(struct site *a, struct site *b, struct logset *out)
{
    struct logset x = {0}, y = {0};
    uint8_t da[AM_HASH_LEN], db[AM_HASH_LEN];
    cr_assert_eq(store_heads_each(a->st, add_log, &x), AM_OK);
    cr_assert_eq(store_heads_each(b->st, add_log, &y), AM_OK);
    cr_assert_eq(x.n, y.n, "%s holds %zu logs, %s %zu", a->name, x.n, b->name, y.n);
    for (size_t i = 0; i < x.n; i++) {
        cr_assert_eq(memcmp(x.h[i].log, y.h[i].log, AM_PK_LEN), 0);
        cr_assert_eq(memcmp(x.h[i].parent, y.h[i].parent, AM_PK_LEN), 0);
        cr_assert_eq(x.h[i].first_seq, y.h[i].first_seq);
        cr_assert_eq(x.h[i].seq, y.h[i].seq);
        cr_assert_eq(memcmp(x.h[i].hash, y.h[i].hash, AM_HASH_LEN), 0);
        cr_assert_eq(x.h[i].flags, y.h[i].flags);
    }
    cr_assert_eq(store_views_digest(a->st, da), AM_OK);
    cr_assert_eq(store_views_digest(b->st, db), AM_OK);
    cr_assert_eq(memcmp(da, db, sizeof da), 0, "%s and %s have different views", a->name, b->name);
    if (out)
        *out = x;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The version byte of the newest manifest slot. */
static int manifest_version(const char *stick_root)
{
    char dir[1200], path[1300];
    int v = 0;
    uint64_t gen = 0;
    net_dir(stick_root, dir);
    for (int s = 0; s < 2; s++) {
        size_t len;
        uint8_t *b;
        snprintf(path, sizeof path, "%s/%s", dir, s ? STICK_MAN_SLOT_B : STICK_MAN_SLOT_A);
        if (access(path, F_OK) != 0)
            continue;
        b = tu_read_file(path, &len);
        cr_assert_geq(len, STICK_MAN_HEADER_LEN);
        if (get_be64(b + 16) > gen) {
            gen = get_be64(b + 16);
            v = b[4];
        }
        free(b);
    }
    return v;
}

Test(stick_format, every_branch_travels_in_both_orders)
{
    for (int order = 0; order < 2; order++) {
        struct site x, y, z;
        struct stick_report r;
        struct stick_cfg cfg;
        struct stick_view v;
        struct logset logs;
        struct store_stats st;
        uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
        char *dir = tu_tmpdir();
        struct site *first, *second;
        size_t children = 0;
        uint64_t own;

        site_open(&x, "laptop-a");
        site_open(&y, "laptop-b");
        site_open(&z, "reader");
        make_clones(&x, &y, pk, sk);
        first = order ? &y : &x;
        second = order ? &x : &y;
        own = order ? 3 : 4; /* entries of the second site's own key */

        cr_assert_eq(do_sync(first, dir, &r), AM_OK);
        cr_assert_eq(manifest_version(dir), STICK_FORMAT_VERSION, "one branch: as before");
        cr_assert_eq(do_sync(second, dir, &r), AM_OK);
        cr_assert_eq(r.forks, 1, "order %d: the second site meets the other branch", order);
        cr_assert_eq(r.exported, 7 + own, "its own branch (6..12) and its own log go on");
        cr_assert_eq(manifest_version(dir), STICK_MAN_VERSION_LOGS);
        cr_assert_eq(do_sync(first, dir, &r), AM_OK);
        cr_assert_eq(r.added + r.forks, 7 + own, "a branch's first entry counts as a fork");
        cr_assert_eq(r.forks, 1);
        cr_assert_eq(r.exported, 0);
        assert_same_logs(&x, &y, &logs);
        cr_assert_eq(store_stats(x.st, &st), AM_OK);
        cr_assert_eq(st.forked, 1);
        cr_assert_eq(st.entries, 5 + 7 + 7 + 3 + 4);
        cr_assert_eq(logs.n, 5, "two own logs, the clone's root and its two branches");

        /* a site that met neither laptop gets both branches from the stick alone */
        cr_assert_eq(do_sync(&z, dir, &r), AM_OK);
        cr_assert_eq(r.refused, 0);
        assert_same_logs(&x, &z, NULL);

        /* replaying is quiet */
        for (int i = 0; i < 2; i++) {
            struct site *s = i ? second : first;
            cr_assert_eq(do_sync(s, dir, &r), AM_OK);
            cr_assert_eq(r.added, 0);
            cr_assert_eq(r.new_segments, 0, "order %d: %s writes again", order, s->name);
            cr_assert(!r.manifest_written);
        }

        /* the manifest's log table names the branch by the store's log id */
        cfg = cfg_for(&x, dir, NULL);
        cr_assert_eq(stick_inspect(&cfg, 0, &v, NULL), AM_OK);
        cr_assert(v.from_manifest);
        for (size_t i = 0; i < v.n_authors; i++) {
            const struct stick_author *a = &v.authors[i];
            int known = 0;
            if (!memcmp(a->owner, a->author, AM_PK_LEN))
                continue;
            children++;
            cr_assert_eq(memcmp(a->owner, pk, AM_PK_LEN), 0);
            cr_assert_eq(a->first_seq, 6);
            cr_assert_eq(a->seq, 12);
            for (size_t k = 0; k < logs.n; k++)
                known |= !memcmp(logs.h[k].log, a->author, AM_PK_LEN) && logs.h[k].first_seq == 6;
            cr_assert(known, "a child row is a log of the store");
        }
        cr_assert_geq(children, 1);
        {
            struct stick_view w;
            cr_assert_eq(stick_inspect(&cfg, 1, &w, NULL), AM_OK);
            cr_assert_eq(w.n_authors, v.n_authors, "the manifest says what a scan finds");
            for (size_t i = 0; i < w.n_authors; i++)
                cr_assert_eq(memcmp(&w.authors[i], &v.authors[i], sizeof w.authors[i]), 0);
            stick_view_free(&w);
        }
        stick_view_free(&v);

        site_close(&x);
        site_close(&y);
        site_close(&z);
        tu_rmrf(dir);
        free(dir);
    }
}

Test(stick_format, unforked_manifest_rows_are_as_before)
{
    struct stick_report r;
    struct stick_cfg cfg;
    struct stick_view v;

    write_notes(&A, NULL, 40, "hub note");
    write_notes(&B, NULL, 9, "clinic note");
    cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
    cr_assert_eq(do_sync(&B, stick, &r), AM_OK);
    cr_assert_eq(manifest_version(stick), STICK_FORMAT_VERSION);
    cfg = cfg_for(&A, stick, NULL);
    cr_assert_eq(stick_inspect(&cfg, 0, &v, NULL), AM_OK);
    cr_assert(v.from_manifest);
    cr_assert_eq(v.n_authors, 2, "one row per author, as in a version 1 manifest");
    for (size_t i = 0; i < v.n_authors; i++) {
        const struct stick_author *a = &v.authors[i];
        int is_a = !memcmp(a->author, A.pk, AM_PK_LEN);
        cr_assert(is_a || !memcmp(a->author, B.pk, AM_PK_LEN));
        cr_assert_eq(memcmp(a->owner, a->author, AM_PK_LEN), 0);
        cr_assert_eq(a->first_seq, 1);
        cr_assert_eq(a->seq, is_a ? 40 : 9);
        cr_assert_eq(a->entries, is_a ? 40 : 9);
    }
    stick_view_free(&v);
}

/* ---- decoders ---------------------------------------------------------------------------- */

static int count_entry(void *ctx, const uint8_t *e, size_t n)
{
    (void)e;
    (void)n;
    (*(int *)ctx)++;
    return 0;
}

Test(stick_format, record_decoders)
{
    uint8_t buf[64] = {0};
    struct stick_visit v;
    const uint8_t *exc;
    uint32_t ne, number;
    int n = 0;
    struct stick_keys k;

    cr_assert_eq(stick_entries_walk(buf, 0, count_entry, &n), AM_OK);
    buf[1] = 3;
    cr_assert_eq(stick_entries_walk(buf, 5, count_entry, &n), AM_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(stick_entries_walk(buf, 4, count_entry, &n), AM_EMALFORMED);
    cr_assert_eq(stick_entries_walk(buf, 1, count_entry, &n), AM_EMALFORMED);
    buf[1] = 0;
    cr_assert_eq(stick_entries_walk(buf, 2, count_entry, &n), AM_EMALFORMED);
    buf[0] = 0x40;
    buf[1] = 1;
    cr_assert_eq(stick_entries_walk(buf, 64, count_entry, &n), AM_ELIMIT);
    memset(buf, 0, sizeof buf);
    cr_assert_eq(stick_visit_decode(buf, 10, &v, &exc, &ne), AM_EMALFORMED);
    cr_assert_eq(stick_visit_decode(buf, 16 + 32 + 8 + 1 + 4, &v, &exc, &ne), AM_OK);
    cr_assert_eq(ne, 0);
    cr_assert_eq(stick_visit_decode(buf, 16 + 32 + 8 + 1 + 5, &v, &exc, &ne), AM_EMALFORMED);
    buf[56] = 65;
    cr_assert_eq(stick_visit_decode(buf, 64, &v, &exc, &ne), AM_ELIMIT);
    stick_keys_init(&k, netkey);
    memset(buf, 0, sizeof buf);
    memcpy(buf, "AMSG", 4);
    buf[4] = 1;
    memcpy(buf + 8, k.netid, AM_NETID_LEN);
    buf[19] = 7;
    cr_assert_eq(stick_seg_header_decode(buf, 43, k.netid, &number), AM_EAGAIN);
    cr_assert_eq(stick_seg_header_decode(buf, 44, k.netid, &number), AM_OK);
    cr_assert_eq(number, 7);
    buf[4] = 2;
    cr_assert_eq(stick_seg_header_decode(buf, 44, k.netid, &number), AM_EVERSION);
    buf[4] = 1;
    buf[8] ^= 1;
    cr_assert_eq(stick_seg_header_decode(buf, 44, k.netid, &number), AM_EBADMAC);
    stick_keys_wipe(&k);
}

Test(stick_format, manifest_round_trip_and_every_flip)
{
    struct stick_keys k;
    struct stick_view v = {0}, d;
    struct stick_seg_info segs[2] = {{1, STICK_SEG_SEALED, 100, 100, 5},
                                     {3, STICK_SEG_CUT_ACK, 80, 60, 2}};
    struct stick_author au[2];
    struct stick_vv vv[1];
    struct stick_visit vis[1];
    uint8_t *m, *m2;
    size_t len, len2;
    uint64_t gen;

    stick_keys_init(&k, netkey);
    memset(au, 0, sizeof au);
    au[0].author[0] = 1;
    au[0].seq = 5;
    au[0].entries = 5;
    au[1].author[0] = 2;
    au[1].seq = 0;
    memset(vis, 0, sizeof vis);
    vis[0].author[0] = 9;
    snprintf(vis[0].name, sizeof vis[0].name, "hub");
    vis[0].time_ms = 42;
    memcpy(vv[0].author, au[1].author, AM_PK_LEN);
    vv[0].seq = 7;
    vis[0].vv = vv;
    vis[0].n_vv = 1;
    v.segs = segs;
    v.n_segs = 2;
    v.authors = au;
    v.n_authors = 2;
    v.visits = vis;
    v.n_visits = 1;
    cr_assert_eq(stick_manifest_encode(&k, 'A', 9, &v, &m, &len), AM_OK);
    cr_assert_eq(stick_manifest_decode(&k, 'A', m, len, &d, &gen), AM_OK);
    cr_assert_eq(gen, 9);
    cr_assert_eq(d.n_segs, 2);
    cr_assert_eq(d.segs[1].valid, 60);
    cr_assert_eq(d.n_visits, 1);
    cr_assert_str_eq(d.visits[0].name, "hub");
    cr_assert_eq(stick_visit_seq(&d, &d.visits[0], au[1].author), 7);
    cr_assert_eq(stick_visit_seq(&d, &d.visits[0], au[0].author), 5);
    cr_assert_eq(stick_manifest_encode(&k, 'A', 9, &d, &m2, &len2), AM_OK);
    cr_assert_eq(len2, len);
    cr_assert_eq(memcmp(m2 + 52, m + 52, 0), 0);
    stick_view_free(&d);
    free(m2);
    cr_assert_eq(stick_manifest_decode(&k, 'B', m, len, &d, &gen), AM_EMALFORMED);
    /* trailing bytes (a slot rewritten shorter) are ignored */
    m2 = malloc(len + 10);
    memcpy(m2, m, len);
    memset(m2 + len, 0xee, 10);
    cr_assert_eq(stick_manifest_decode(&k, 'A', m2, len + 10, &d, &gen), AM_OK);
    stick_view_free(&d);
    free(m2);
    for (size_t i = 0; i < len * 8; i++) {
        m[i / 8] ^= (uint8_t)(1u << (i % 8));
        cr_assert_neq(stick_manifest_decode(&k, 'A', m, len, &d, &gen), AM_OK, "bit %zu", i);
        m[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t l = 0; l < len; l++)
        cr_assert_neq(stick_manifest_decode(&k, 'A', m, l, &d, &gen), AM_OK, "length %zu", l);
    free(m);
    stick_keys_wipe(&k);
}

/* ---- the manifest's body on hostile bytes (both versions) --------------------------------- */

/* A manifest slot of the network of k holding `body` sealed with the real manifest key,
 * with header version `version`: in a heap block of exactly its size (ASan sees any read
 * past the end). */
static uint8_t *seal_body(const struct stick_keys *k, uint8_t version, const uint8_t *body,
                          size_t n, size_t *len)
{
    uint8_t *m;
    *len = STICK_MAN_HEADER_LEN + n + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    m = malloc(*len);
    cr_assert(m);
    memcpy(m, STICK_MAN_MAGIC, 4);
    m[4] = version;
    m[5] = 'A';
    m[6] = m[7] = 0;
    memcpy(m + 8, k->netid, AM_NETID_LEN);
    memset(m + 16, 0, 8);
    m[23] = 4;
    randombytes_buf(m + 24, 24);
    m[48] = (uint8_t)(n >> 24);
    m[49] = (uint8_t)(n >> 16);
    m[50] = (uint8_t)(n >> 8);
    m[51] = (uint8_t)n;
    crypto_aead_xchacha20poly1305_ietf_encrypt(m + STICK_MAN_HEADER_LEN, NULL, body, n, m,
                                               STICK_MAN_HEADER_LEN, NULL, m + 24, k->manifest);
    return m;
}

/* The body inside an authentic slot (malloc'd, 1 byte when empty). */
static uint8_t *open_body(const struct stick_keys *k, const uint8_t *m, size_t len, size_t *n)
{
    uint8_t *b;
    cr_assert_geq(len, STICK_MAN_HEADER_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    *n = len - STICK_MAN_HEADER_LEN - crypto_aead_xchacha20poly1305_ietf_ABYTES;
    b = malloc(*n ? *n : 1);
    cr_assert(b);
    cr_assert_eq(crypto_aead_xchacha20poly1305_ietf_decrypt(
                     b, NULL, NULL, m + STICK_MAN_HEADER_LEN, len - STICK_MAN_HEADER_LEN, m,
                     STICK_MAN_HEADER_LEN, m + 24, k->manifest),
                 0);
    return b;
}

/* What a decoded view must hold whatever the bytes were: a root row is its own owner from
 * seq 1, a child row has another owner and a first seq >= 1, the sums add up, every visit
 * lists known logs in order. */
static void check_view(const struct stick_view *v, const char *what)
{
    uint64_t entries = 0, bytes = 0;
    for (size_t i = 0; i < v->n_authors; i++) {
        const struct stick_author *a = &v->authors[i];
        int root = !memcmp(a->owner, a->author, AM_PK_LEN);
        cr_assert(!root || a->first_seq == 1, "%s: row %zu", what, i);
        cr_assert(root || a->first_seq >= 1, "%s: row %zu", what, i);
        if (i)
            cr_assert_lt(memcmp(v->authors[i - 1].author, a->author, AM_PK_LEN), 0, "%s", what);
        entries += a->entries;
    }
    for (size_t i = 0; i < v->n_segs; i++)
        bytes += v->segs[i].size;
    cr_assert_eq(entries, v->entries, "%s", what);
    cr_assert_eq(bytes, v->bytes, "%s", what);
    for (size_t i = 0; i < v->n_visits; i++)
        for (size_t k = 0; k < v->visits[i].n_vv; k++)
            cr_assert_eq(stick_visit_seq(v, &v->visits[i], v->visits[i].vv[k].author),
                         v->visits[i].vv[k].seq, "%s: visit %zu", what, i);
}

/* Decodes a slot holding `body` under header `version`. A body that decodes re-encodes to
 * exactly the same body under the same version byte (and decodes again); one that does
 * not is refused with a code of the parser, never as a torn or unauthentic slot. Returns
 * the code. */
static int body_case(const struct stick_keys *k, uint8_t version, const uint8_t *body, size_t n,
                     const char *what)
{
    struct stick_view d, d2;
    uint8_t *m, *m2, *b2;
    size_t len, len2, n2;
    uint64_t gen;
    int rc;

    m = seal_body(k, version, body, n, &len);
    rc = stick_manifest_decode(k, 'A', m, len, &d, &gen);
    free(m);
    cr_assert(rc == AM_OK || rc == AM_EMALFORMED || rc == AM_ELIMIT, "%s: code %d", what, rc);
    if (rc != AM_OK) {
        cr_assert_eq(d.n_segs + d.n_authors + d.n_visits, 0, "%s: a refused body left a view",
                     what);
        return rc;
    }
    cr_assert_eq(gen, 4, "%s", what);
    check_view(&d, what);
    cr_assert_eq(stick_manifest_encode(k, 'A', 4, &d, &m2, &len2), AM_OK, "%s", what);
    cr_assert_eq(m2[4], version, "%s: re-encoded as version %u", what, m2[4]);
    b2 = open_body(k, m2, len2, &n2);
    cr_assert(n2 == n && memcmp(b2, body, n) == 0, "%s: re-encodes to another body", what);
    cr_assert_eq(stick_manifest_decode(k, 'A', m2, len2, &d2, &gen), AM_OK, "%s", what);
    cr_assert_eq(d2.n_authors, d.n_authors, "%s", what);
    for (size_t i = 0; i < d.n_authors; i++)
        cr_assert_eq(memcmp(&d2.authors[i], &d.authors[i], sizeof d.authors[i]), 0, "%s", what);
    stick_view_free(&d2);
    stick_view_free(&d);
    free(b2);
    free(m2);
    return rc;
}

/* Every bit flip and every truncation of the sealed slot is refused; every bit flip,
 * truncation and (seeded) random XOR of the body sealed with the real key is refused
 * cleanly or decodes to a view that re-encodes to the same bytes. */
static void sweep_manifest(const struct stick_keys *k, const struct stick_view *v, uint8_t version)
{
    struct stick_view d;
    uint8_t *m, *body, *x;
    size_t len, n;
    uint64_t gen;
    unsigned ok = 0, refused = 0;
    char what[96];

    cr_assert_eq(stick_manifest_encode(k, 'A', 9, v, &m, &len), AM_OK);
    cr_assert_eq(m[4], version);
    for (size_t i = 0; i < len * 8; i++) {
        m[i / 8] ^= (uint8_t)(1u << (i % 8));
        x = tu_dup_exact(m, len);
        cr_assert_neq(stick_manifest_decode(k, 'A', x, len, &d, &gen), AM_OK,
                      "version %u: slot bit %zu", version, i);
        free(x);
        m[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t l = 0; l < len; l++) {
        x = tu_dup_exact(m, l);
        cr_assert_neq(stick_manifest_decode(k, 'A', x, l, &d, &gen), AM_OK,
                      "version %u: slot cut to %zu", version, l);
        free(x);
    }

    body = open_body(k, m, len, &n);
    free(m);
    snprintf(what, sizeof what, "version %u: body as encoded", version);
    cr_assert_eq(body_case(k, version, body, n, what), AM_OK, "%s", what);
    /* the other version's header over this body: a list missing, or bytes left over */
    snprintf(what, sizeof what, "version %u: body under the other version", version);
    cr_assert_eq(
        body_case(k,
                  version == STICK_MAN_VERSION_LOGS ? STICK_FORMAT_VERSION : STICK_MAN_VERSION_LOGS,
                  body, n, what),
        AM_EMALFORMED, "%s", what);
    for (size_t i = 0; i < n * 8; i++) {
        body[i / 8] ^= (uint8_t)(1u << (i % 8));
        snprintf(what, sizeof what, "version %u: body bit %zu", version, i);
        if (body_case(k, version, body, n, what) == AM_OK)
            ok++;
        else
            refused++;
        body[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    /* a prefix of a body is parsed along the same path, so it always runs out */
    for (size_t l = 0; l < n; l++) {
        snprintf(what, sizeof what, "version %u: body cut to %zu", version, l);
        cr_assert_eq(body_case(k, version, body, l, what), AM_EMALFORMED, "%s", what);
    }
    for (int it = 0; it < 2000; it++) {
        uint8_t *y = tu_dup_exact(body, n);
        int flips = 1 + (int)(tu_rand(&rng) % 4);
        for (int f = 0; f < flips; f++)
            y[tu_rand(&rng) % n] ^= (uint8_t)(1 + tu_rand(&rng) % 255);
        snprintf(what, sizeof what, "version %u: random XOR %d (seed printed above)", version, it);
        body_case(k, version, y, n, what);
        free(y);
    }
    /* both outcomes must occur, or the sweep tests nothing */
    cr_assert_gt(ok, 0, "version %u: no flipped body decodes", version);
    cr_assert_gt(refused, 0, "version %u: every flipped body decodes", version);
    fprintf(stderr, "version %u: %zu-byte body, %u flips decode, %u refused\n", version, n, ok,
            refused);
    free(body);
}

/* A version 2 manifest: author P (root only), author O forked (its root log and two
 * child logs, log ids L1 < L2), author Q only a visit names; a visit naming roots. L1's
 * id is one bit away from O's, so one flip can make a child row name its own log id as
 * owner (or duplicate a row): the sweep must see such a row refused. */
Test(stick_format, manifest_v2_round_trip_and_every_flip)
{
    struct stick_keys k;
    struct stick_view v = {0}, d;
    struct stick_seg_info segs[2] = {{1, STICK_SEG_SEALED, 900, 900, 12},
                                     {2, STICK_SEG_CUT, 500, 300, 7}};
    struct stick_author au[5];
    struct stick_vv vv[2];
    struct stick_visit vis[2];
    uint8_t *m;
    size_t len;
    uint64_t gen;
    int children = 0;

    stick_keys_init(&k, netkey);
    memset(au, 0, sizeof au);
    for (int i = 0; i < 5; i++)
        for (int b = 0; b < AM_PK_LEN; b++)
            au[i].author[b] = (uint8_t)(0x10 * (i + 1) + b);
    memcpy(au[2].author, au[1].author, AM_PK_LEN);
    au[2].author[AM_PK_LEN - 1] ^= 0x80;
    /* rows sorted by log id: P, O (root), L1 (child of O), L2 (child of O), Q */
    au[0].seq = au[0].entries = 3;
    memcpy(au[0].owner, au[0].author, AM_PK_LEN);
    au[0].first_seq = 1;
    au[1].seq = au[1].entries = 5;
    memcpy(au[1].owner, au[1].author, AM_PK_LEN);
    au[1].first_seq = 1;
    for (int i = 2; i < 4; i++) {
        memcpy(au[i].owner, au[1].author, AM_PK_LEN);
        au[i].first_seq = 6;
        au[i].seq = 6 + (uint64_t)i * 3;
        au[i].entries = au[i].seq - 5;
    }
    memcpy(au[4].owner, au[4].author, AM_PK_LEN);
    au[4].first_seq = 1;
    memset(vis, 0, sizeof vis);
    vis[0].install[0] = 1;
    snprintf(vis[0].name, sizeof vis[0].name, "hub-north");
    vis[0].time_ms = WALL;
    memcpy(vv[0].author, au[1].author, AM_PK_LEN);
    vv[0].seq = 2;
    memcpy(vv[1].author, au[4].author, AM_PK_LEN);
    vv[1].seq = 8;
    vis[0].vv = vv;
    vis[0].n_vv = 2;
    vis[1].install[0] = 2;
    snprintf(vis[1].name, sizeof vis[1].name, "clinic-zebra");
    vis[1].time_ms = WALL + 1;
    v.segs = segs;
    v.n_segs = 2;
    v.authors = au;
    v.n_authors = 5;
    v.visits = vis;
    v.n_visits = 2;

    cr_assert_eq(stick_manifest_encode(&k, 'A', 9, &v, &m, &len), AM_OK);
    cr_assert_eq(m[4], STICK_MAN_VERSION_LOGS, "child logs make a version 2 slot");
    cr_assert_eq(stick_manifest_decode(&k, 'A', m, len, &d, &gen), AM_OK);
    cr_assert_eq(gen, 9);
    cr_assert_eq(d.n_authors, 5);
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(memcmp(&d.authors[i], &au[i], sizeof au[i]), 0, "row %zu", i);
        children += memcmp(d.authors[i].owner, d.authors[i].author, AM_PK_LEN) != 0;
    }
    cr_assert_eq(children, 2);
    cr_assert_eq(d.entries, 3 + 5 + 7 + 10);
    cr_assert_eq(stick_visit_seq(&d, &d.visits[0], au[1].author), 2);
    cr_assert_eq(stick_visit_seq(&d, &d.visits[0], au[0].author), 3);
    cr_assert_eq(stick_visit_seq(&d, &d.visits[1], au[2].author), 12);
    stick_view_free(&d);
    free(m);

    sweep_manifest(&k, &v, STICK_MAN_VERSION_LOGS);
    /* the same view without its branches is a version 1 manifest, swept the same way */
    memmove(&au[2], &au[4], sizeof au[4]);
    v.n_authors = 3;
    sweep_manifest(&k, &v, STICK_FORMAT_VERSION);
    stick_keys_wipe(&k);
}

/* PROTOCOL.md §11.2 writes the stick keys out as plain BLAKE2b calls, so that they can be
 * made without libsodium's crypto_kdf: computed here through those calls, compared with
 * what the stick code derives, and with known answers computed by another BLAKE2b
 * implementation (Python's hashlib.blake2b with key, salt and person). */
Test(stick_format, the_stick_keys_are_the_blake2b_calls_of_the_spec)
{
    static const char *const want_stick =
        "1bd32d46ef574ac8dc1465c3aac692fb6e70d9c7d7ba35189a014930e7401cb7";
    static const char *const want_manifest =
        "4488645f00f3e0817bdb6f021c2bf4d99ef3976d58918e0d809af2a80c4540a7";
    static const char *const want_seg1 =
        "1e7dd79153da9ca57a49b1853c2ae3f6e844f9a38705b009c8c66a9a7ed22725";
    static const char *const want_seg_01020304 =
        "f037ccc611c5f6b83430270462afefed854a63fc530e17817f2ff70a494908d7";
    uint8_t nk[AM_NETKEY_LEN], skey[32], salt[16], personal[16], out[32], kdf[32], seg[32];
    char hex[65];
    struct stick_keys k;
    const uint32_t numbers[] = {1, 0x01020304};
    const char *const want_seg[] = {want_seg1, want_seg_01020304};

    for (unsigned i = 0; i < sizeof nk; i++)
        nk[i] = (uint8_t)i;
    stick_keys_init(&k, nk);

    /* stick key: BLAKE2b, 32-byte output, keyed with the network key, over the label */
    crypto_generichash_blake2b(skey, sizeof skey, (const uint8_t *)"aidmesh stick v1", 16, nk,
                               sizeof nk);
    cr_assert_eq(memcmp(skey, k.stick, 32), 0);
    cr_assert_str_eq(sodium_bin2hex(hex, sizeof hex, skey, 32), want_stick);

    /* manifest key: empty input, keyed with the stick key, salt = subkey id 1 as 8 bytes
     * little-endian then 8 zero bytes, personal = "amstman1" then 8 zero bytes */
    memset(salt, 0, sizeof salt);
    salt[0] = 1;
    memset(personal, 0, sizeof personal);
    memcpy(personal, "amstman1", 8);
    cr_assert_eq(
        crypto_generichash_blake2b_salt_personal(out, 32, NULL, 0, skey, 32, salt, personal), 0);
    cr_assert_eq(crypto_kdf_derive_from_key(kdf, 32, 1, "amstman1", skey), 0);
    cr_assert_eq(memcmp(out, kdf, 32), 0, "crypto_kdf is the BLAKE2b call of the spec");
    cr_assert_eq(memcmp(out, k.manifest, 32), 0);
    cr_assert_str_eq(sodium_bin2hex(hex, sizeof hex, out, 32), want_manifest);

    /* segment keys: the same with personal "amstick1" and the segment number as subkey id
     * (a number of several bytes shows the byte order) */
    memcpy(personal, "amstick1", 8);
    for (unsigned i = 0; i < 2; i++) {
        memset(salt, 0, sizeof salt);
        for (unsigned b = 0; b < 8; b++)
            salt[b] = (uint8_t)((uint64_t)numbers[i] >> (8 * b));
        cr_assert_eq(
            crypto_generichash_blake2b_salt_personal(out, 32, NULL, 0, skey, 32, salt, personal),
            0);
        cr_assert_eq(crypto_kdf_derive_from_key(kdf, 32, numbers[i], "amstick1", skey), 0);
        stick_segment_key(&k, numbers[i], seg);
        cr_assert_eq(memcmp(out, kdf, 32), 0, "segment %u", numbers[i]);
        cr_assert_eq(memcmp(out, seg, 32), 0, "segment %u", numbers[i]);
        cr_assert_str_eq(sodium_bin2hex(hex, sizeof hex, out, 32), want_seg[i]);
    }
    stick_keys_wipe(&k);
    sodium_memzero(skey, sizeof skey);
}
