/*
 * testtool_main.c: aidmesh-testtool, a helper for the integration tests. Not installed.
 *
 *   append HOME --size K [--batches B]   append B batches (default: forever) of K entries,
 *                                        entry i of batch b has op {"b": b, "i": i, "n": K}
 *   check HOME --size K                  exit 0 iff every append batch is whole
 *   gen DIR --authors A --entries N      make a store in DIR with A authors x N entries
 *   ingest HOME SRC --size K [--from-start 1]
 *                                        ingest SRC's entries into HOME, K per batch,
 *                                        authors interleaved, resuming where HOME is
 *                                        (or from the start: duplicates are no-ops)
 *   check-ingest HOME --size K --total T exit 0 iff HOME holds a whole number of batches
 *   tamper HOME --seq S                  flip a signature bit of our entry S (for verify)
 *   append-op HOME HEX                   append one entry, signed by HOME, whose op is the
 *                                        bytes HEX exactly (to forge ops an honest CLI
 *                                        refuses, e.g. text with control characters)
 *   stick-sync HOME PATH HEX             stick sync PATH as HOME, but with the bytes HEX as
 *                                        the node name (a name an honest node does not
 *                                        have, as an older version could write)
 *   bad-run HOME --entries N --bad K     a new author (a fresh key, printed in hex) signs N
 *                                        entries whose entry K has a flipped signature bit,
 *                                        entry K+1 linking to those bytes; HOME ingests the
 *                                        run in one batch (PROTOCOL.md §6: a misbehaving
 *                                        author whose run every node accepts)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "entry.h"
#include "mp.h"
#include "node.h"
#include "stick_node.h"

static unsigned long long arg_num(int argc, char **argv, const char *name, unsigned long long dflt)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtoull(argv[i + 1], NULL, 10);
    return dflt;
}

static int die(const char *what, int rc)
{
    fprintf(stderr, "aidmesh-testtool: %s: %s\n", what, am_strerror(rc));
    return 1;
}

static size_t make_op(uint8_t *buf, uint64_t b, uint64_t i, uint64_t n)
{
    /* {"b": b, "i": i, "n": n, "pad": "...."}: about 200 bytes, like a real op */
    size_t o = 0;
    buf[o++] = 0x84;
    buf[o++] = 0xa1;
    buf[o++] = 'b';
    buf[o++] = 0xcf;
    for (int k = 7; k >= 0; k--)
        buf[o++] = (uint8_t)(b >> (8 * k));
    buf[o++] = 0xa1;
    buf[o++] = 'i';
    buf[o++] = 0xcf;
    for (int k = 7; k >= 0; k--)
        buf[o++] = (uint8_t)(i >> (8 * k));
    buf[o++] = 0xa1;
    buf[o++] = 'n';
    buf[o++] = 0xcf;
    for (int k = 7; k >= 0; k--)
        buf[o++] = (uint8_t)(n >> (8 * k));
    buf[o++] = 0xa3;
    memcpy(buf + o, "pad", 3);
    o += 3;
    buf[o++] = 0xd9;
    buf[o++] = 120;
    memset(buf + o, 'p', 120);
    return o + 120;
}

static int cmd_append(const char *home, uint64_t size, uint64_t batches)
{
    struct node n;
    struct store_head h;
    uint8_t *ops = malloc(size * 256);
    const uint8_t **p = malloc(size * sizeof *p);
    size_t *l = malloc(size * sizeof *l);
    int rc = node_open(&n, home, NULL, NULL);

    if (rc != AM_OK)
        return die("open", rc);
    for (uint64_t done = 0; batches == 0 || done < batches; done++) {
        uint64_t b;
        rc = store_head_get(n.store, n.pk, &h);
        b = rc == AM_OK ? h.seq / size : 0;
        for (uint64_t i = 0; i < size; i++) {
            p[i] = ops + i * 256;
            l[i] = make_op(ops + i * 256, b, i, size);
        }
        rc = store_append(n.store, n.sk, p, l, size, node_wall_ms(), NULL);
        if (rc != AM_OK)
            return die("append", rc);
    }
    node_close(&n);
    free(ops);
    free(p);
    free(l);
    return 0;
}

struct check_ctx {
    uint64_t size, seen, batch_b;
    int bad;
};

static int check_entry(void *ctx, const uint8_t *raw, size_t len)
{
    struct check_ctx *c = ctx;
    struct entry e;
    struct mp_cur cur;
    uint32_t pairs;
    uint64_t v[3];

    if (entry_decode(&e, raw, len) != AM_OK) {
        c->bad = 1;
        return 1;
    }
    cur.p = e.op;
    cur.end = e.op + e.op_len;
    mp_get_map(&cur, &pairs);
    for (int k = 0; k < 3; k++) {
        const uint8_t *s;
        uint32_t sl;
        mp_get_str(&cur, &s, &sl);
        mp_get_uint(&cur, &v[k]);
    }
    /* Entry i of a batch sits at seq = K*j + i + 1 and shares the batch's b (b is the
     * head the writer saw, which concurrent writers may have moved). */
    if (v[1] == 0)
        c->batch_b = v[0];
    if (v[0] != c->batch_b || v[1] != (e.seq - 1) % c->size || v[2] != c->size) {
        fprintf(stderr, "entry %llu has b=%llu i=%llu n=%llu\n", (unsigned long long)e.seq,
                (unsigned long long)v[0], (unsigned long long)v[1], (unsigned long long)v[2]);
        c->bad = 1;
    }
    c->seen++;
    return 0;
}

static int cmd_check(const char *home, uint64_t size)
{
    struct node n;
    struct store_head h;
    struct check_ctx c = {size, 0, 0, 0};
    int rc = node_open(&n, home, NULL, NULL);

    if (rc != AM_OK)
        return die("open", rc);
    rc = store_head_get(n.store, n.pk, &h);
    if (rc == AM_ENOTFOUND) {
        printf("no entries yet\n");
        node_close(&n);
        return 0;
    }
    store_entries_each(n.store, n.pk, 1, check_entry, &c);
    node_close(&n);
    if (c.bad || c.seen != h.seq || h.seq % size != 0) {
        fprintf(stderr, "batches not whole: head %llu, seen %llu, batch size %llu\n",
                (unsigned long long)h.seq, (unsigned long long)c.seen, (unsigned long long)size);
        return 1;
    }
    printf("%llu whole batches\n", (unsigned long long)(h.seq / size));
    return 0;
}

static int cmd_gen(const char *dir, uint64_t authors, uint64_t entries)
{
    struct store *s;
    uint8_t op[256];
    const uint8_t *p[256];
    size_t l[256];
    int rc = store_open(&s, dir, NULL);

    if (rc != AM_OK)
        return die("open", rc);
    for (uint64_t a = 0; a < authors; a++) {
        uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
        crypto_sign_keypair(pk, sk);
        for (uint64_t done = 0; done < entries;) {
            size_t k = entries - done < 256 ? (size_t)(entries - done) : 256;
            size_t ol = make_op(op, done, a, entries);
            for (size_t i = 0; i < k; i++) {
                p[i] = op;
                l[i] = ol;
            }
            rc = store_append(s, sk, p, l, k, node_wall_ms(), NULL);
            if (rc != AM_OK)
                return die("append", rc);
            done += k;
        }
    }
    store_close(s);
    return 0;
}

/* Ingest: SRC's entries in a fixed interleaved order (round robin over authors), K per
 * batch; the destination's entry count says where to resume. */
struct collect {
    uint8_t **bufs;
    size_t *lens;
    size_t n, cap;
};

static int collect_entry(void *ctx, const uint8_t *raw, size_t len)
{
    struct collect *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 1024;
        c->bufs = realloc(c->bufs, c->cap * sizeof *c->bufs);
        c->lens = realloc(c->lens, c->cap * sizeof *c->lens);
    }
    c->bufs[c->n] = malloc(len);
    memcpy(c->bufs[c->n], raw, len);
    c->lens[c->n++] = len;
    return 0;
}

static int by_seq_then_author(const void *a, const void *b, void *unused);

static int cmd_ingest(const char *home, const char *src, uint64_t size, int from_start)
{
    struct store *s;
    struct node n;
    struct collect c = {0};
    struct store_stats st;
    int rc = store_open(&s, src, NULL);

    if (rc != AM_OK)
        return die("open source", rc);
    store_entries_each(s, NULL, 1, collect_entry, &c);
    store_close(s);
    /* Interleave: order by (seq, author) so each batch mixes authors. */
    {
        size_t *idx = malloc(c.n * sizeof *idx);
        uint8_t **b2 = malloc(c.n * sizeof *b2);
        size_t *l2 = malloc(c.n * sizeof *l2);
        struct entry *es = malloc(c.n * sizeof *es);
        for (size_t i = 0; i < c.n; i++) {
            idx[i] = i;
            entry_decode(&es[i], c.bufs[i], c.lens[i]);
        }
        qsort_r(idx, c.n, sizeof *idx, by_seq_then_author, es);
        for (size_t i = 0; i < c.n; i++) {
            b2[i] = c.bufs[idx[i]];
            l2[i] = c.lens[idx[i]];
        }
        free(c.bufs);
        free(c.lens);
        c.bufs = b2;
        c.lens = l2;
        free(idx);
        free(es);
    }
    rc = node_open(&n, home, NULL, NULL);
    if (rc != AM_OK)
        return die("open", rc);
    store_stats(n.store, &st);
    for (size_t at = from_start ? 0 : (size_t)st.entries; at < c.n; at += size) {
        struct store_ingest_stats is;
        size_t k = c.n - at < size ? c.n - at : (size_t)size;
        rc = store_ingest(n.store, (const uint8_t *const *)c.bufs + at, c.lens + at, k,
                          node_wall_ms(), &is);
        if (rc != AM_OK)
            return die("ingest", rc);
        if (!from_start && is.added != k) {
            fprintf(stderr, "batch at %zu: added %llu of %zu\n", at, (unsigned long long)is.added,
                    k);
            return 1;
        }
    }
    node_close(&n);
    for (size_t i = 0; i < c.n; i++)
        free(c.bufs[i]);
    free(c.bufs);
    free(c.lens);
    return 0;
}

static int by_seq_then_author(const void *a, const void *b, void *ctx)
{
    const struct entry *es = ctx;
    const struct entry *x = &es[*(const size_t *)a], *y = &es[*(const size_t *)b];
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return memcmp(x->author, y->author, AM_PK_LEN);
}

static int cmd_check_ingest(const char *home, uint64_t size, uint64_t total)
{
    struct node n;
    struct store_stats st;
    int rc = node_open(&n, home, NULL, NULL);
    if (rc != AM_OK)
        return die("open", rc);
    store_stats(n.store, &st);
    node_close(&n);
    if (st.entries != total && st.entries % size != 0) {
        fprintf(stderr, "a partial ingest batch: %llu entries, batch size %llu\n",
                (unsigned long long)st.entries, (unsigned long long)size);
        return 1;
    }
    printf("%llu entries: whole batches\n", (unsigned long long)st.entries);
    return 0;
}

static int cmd_tamper(const char *home, uint64_t seq)
{
    struct node n;
    uint8_t buf[AM_ENTRY_MAX];
    size_t len;
    int rc = node_open(&n, home, NULL, NULL);
    if (rc != AM_OK)
        return die("open", rc);
    rc = store_entry_get(n.store, n.pk, seq, buf, sizeof buf, &len);
    if (rc == AM_OK) {
        buf[len - 1] ^= 1;
        rc = store_debug_put_raw(n.store, n.pk, seq, buf, len);
    }
    node_close(&n);
    return rc == AM_OK ? 0 : die("tamper", rc);
}

/* hex -> bytes with libsodium's parser; -1 when it is not whole hex or too long */
static int hex_arg(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
    const char *end;
    if (sodium_hex2bin(out, cap, hex, strlen(hex), NULL, len, &end) != 0 || *end)
        return -1;
    return 0;
}

static int cmd_append_op(const char *home, const char *hex)
{
    struct node n;
    uint8_t op[AM_ENTRY_MAX];
    const uint8_t *p[1] = {op};
    size_t l[1];
    int rc;

    if (hex_arg(hex, op, sizeof op, &l[0]))
        return die("append-op: the op is not hex", AM_EINVAL);
    if ((rc = node_open(&n, home, NULL, NULL)) != AM_OK)
        return die("open", rc);
    rc = store_append(n.store, n.sk, p, l, 1, node_wall_ms(), NULL);
    node_close(&n);
    return rc == AM_OK ? 0 : die("append", rc);
}

static int cmd_stick_sync(const char *home, const char *path, const char *hex)
{
    struct node n;
    struct stick_report r;
    uint8_t name[AM_NAME_MAX];
    size_t nl;
    int rc;

    if (hex_arg(hex, name, sizeof name, &nl))
        return die("stick-sync: the name is not hex (at most 64 bytes)", AM_EINVAL);
    if ((rc = node_open(&n, home, NULL, NULL)) != AM_OK)
        return die("open", rc);
    memcpy(n.name, name, nl);
    n.name[nl] = 0;
    rc = stick_node_sync(&n, path, STICK_F_CREATE, 0, NULL, NULL, &r);
    node_close(&n);
    return rc == AM_OK ? 0 : die("stick sync", rc);
}

static int cmd_bad_run(const char *home, uint64_t count, uint64_t bad)
{
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN], prev[AM_HASH_LEN] = {0}, op[256];
    uint8_t *buf = NULL;
    const uint8_t **raw = NULL;
    size_t *lens = NULL, off = 0, oplen;
    struct store_ingest_stats st;
    struct node n;
    char hex[65];
    uint64_t hlc = node_wall_ms() << 16;
    int rc = AM_EINVAL, opened = 0;

    if (count < 2 || count > 1000 || bad < 1 || bad >= count) {
        fprintf(stderr, "bad-run: need 2 <= --entries <= 1000 and 1 <= --bad < --entries\n");
        return 2;
    }
    buf = malloc(count * AM_ENTRY_MAX / 16);
    raw = calloc(count, sizeof *raw);
    lens = calloc(count, sizeof *lens);
    if (!buf || !raw || !lens) {
        rc = AM_ENOMEM;
        goto out;
    }
    crypto_sign_keypair(pk, sk);
    for (uint64_t seq = 1; seq <= count; seq++) {
        struct entry e;
        size_t len;
        oplen = make_op(op, 0, seq, count);
        rc = entry_build(buf + off, AM_ENTRY_MAX / 16, &len, sk, seq, prev, hlc + seq, op, oplen);
        if (rc != AM_OK)
            goto out;
        if (seq == bad)
            buf[off + len - 1] ^= 0x01; /* the signature's last byte */
        if ((rc = entry_decode(&e, buf + off, len)) != AM_OK)
            goto out;
        entry_hash(&e, prev); /* the next entry links to the bytes as they now are */
        raw[seq - 1] = buf + off;
        lens[seq - 1] = len;
        off += len;
    }
    if ((rc = node_open(&n, home, NULL, NULL)) != AM_OK)
        goto out;
    opened = 1;
    rc = store_ingest(n.store, raw, lens, count, node_wall_ms(), &st);
    if (rc == AM_OK && st.added != count) {
        fprintf(stderr, "bad-run: %llu of %llu entries added (%llu refused: bad signature)\n",
                (unsigned long long)st.added, (unsigned long long)count,
                (unsigned long long)st.badsig);
        rc = AM_EBADSIG;
    }
out:
    if (opened)
        node_close(&n);
    sodium_memzero(sk, sizeof sk);
    free(buf);
    free(raw);
    free(lens);
    if (rc != AM_OK)
        return die("bad-run", rc);
    entry_id_hex(pk, hex);
    printf("%s\n", hex);
    return 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0 || argc < 3) {
        fprintf(stderr, "usage: see the top of tests/integration/testtool_main.c\n");
        return 2;
    }
    if (strcmp(argv[1], "append") == 0)
        return cmd_append(argv[2], arg_num(argc, argv, "--size", 10),
                          arg_num(argc, argv, "--batches", 0));
    if (strcmp(argv[1], "check") == 0)
        return cmd_check(argv[2], arg_num(argc, argv, "--size", 10));
    if (strcmp(argv[1], "gen") == 0)
        return cmd_gen(argv[2], arg_num(argc, argv, "--authors", 4),
                       arg_num(argc, argv, "--entries", 1000));
    if (strcmp(argv[1], "ingest") == 0 && argc > 3)
        return cmd_ingest(argv[2], argv[3], arg_num(argc, argv, "--size", 100),
                          arg_num(argc, argv, "--from-start", 0) != 0);
    if (strcmp(argv[1], "check-ingest") == 0)
        return cmd_check_ingest(argv[2], arg_num(argc, argv, "--size", 100),
                                arg_num(argc, argv, "--total", 0));
    if (strcmp(argv[1], "tamper") == 0)
        return cmd_tamper(argv[2], arg_num(argc, argv, "--seq", 1));
    if (strcmp(argv[1], "append-op") == 0 && argc > 3)
        return cmd_append_op(argv[2], argv[3]);
    if (strcmp(argv[1], "stick-sync") == 0 && argc > 4)
        return cmd_stick_sync(argv[2], argv[3], argv[4]);
    if (strcmp(argv[1], "bad-run") == 0)
        return cmd_bad_run(argv[2], arg_num(argc, argv, "--entries", 5),
                           arg_num(argc, argv, "--bad", 3));
    fprintf(stderr, "unknown command %s\n", argv[1]);
    return 2;
}
