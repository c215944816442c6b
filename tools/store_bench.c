/*
 * store_bench.c: the store's figures of aidmesh-bench and the ceilings they are read
 * against (see bench_main.c for what each figure means): ed25519 sign and verify and
 * BLAKE2b-256 per second, LMDB puts per second, local append (store_append) and ingest
 * (store_ingest of an in-memory source of many authors' chains).
 *
 * This file is the one place outside node/store.c that includes lmdb.h: only to measure
 * the LMDB ceiling, never to touch a store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h> /* raw LMDB ceiling only (bench_lmdb_ceiling), never a store: see the top */
#include <sodium.h>

#include "am_err.h"
#include "bench_parts.h"
#include "bench_report.h"
#include "bench_util.h"
#include "cli.h"
#include "hlc.h"

#define BENCH_MSG_LEN      200 /* message of the crypto ceilings */
#define BENCH_KEY_LEN      40  /* LMDB ceiling key: like author || be64 seq */
#define BENCH_VAL_LEN      300 /* LMDB ceiling value */
#define BENCH_PUTS_PER_TXN 1000

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* ---- ceilings ------------------------------------------------------------------------- */

/* Operations per second of one kind, for about `secs` seconds. */
static double crypto_round(enum bench_crypto_kind kind, double secs, const uint8_t *sk,
                           const uint8_t *pk)
{
    uint8_t msg[BENCH_MSG_LEN], sig[crypto_sign_BYTES], h[32];
    uint64_t n = 0;
    double t0, t;

    randombytes_buf(msg, sizeof msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    t0 = bench_now_s();
    do {
        for (int i = 0; i < 64; i++, n++) {
            switch (kind) {
            case BENCH_CK_SIGN:
                msg[0] = (uint8_t)n;
                crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
                break;
            case BENCH_CK_VERIFY:
                if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0)
                    abort(); /* our own signature: cannot fail */
                break;
            case BENCH_CK_HASH:
                msg[0] = (uint8_t)n;
                crypto_generichash(h, sizeof h, msg, sizeof msg, NULL, 0);
                break;
            }
        }
        t = bench_now_s();
    } while (t - t0 < secs);
    return (double)n / (t - t0);
}

/* Median of three rounds: one preempted round does not move it. */
double bench_crypto_ceiling(enum bench_crypto_kind kind, double secs)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    double r[3];

    crypto_sign_keypair(pk, sk);
    for (int i = 0; i < 3; i++)
        r[i] = crypto_round(kind, secs / 3, sk, pk);
    sodium_memzero(sk, sizeof sk);
    qsort(r, 3, sizeof r[0], bench_cmp_double);
    return r[1];
}

/* n puts of (40-byte key in append order, 300-byte value), 1000 per transaction, into a
 * fresh environment in `dir` with default flags. *rate is puts/s, *bytes_per the map in
 * use per put. Returns 0 or an LMDB/errno code. */
int bench_lmdb_ceiling(const char *dir, uint64_t n, double *rate, double *bytes_per)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi = 0;
    MDB_envinfo info;
    MDB_stat st;
    uint8_t key[BENCH_KEY_LEN], val[BENCH_VAL_LEN];
    double t0, t1;
    int rc;

    if (mkdir(dir, 0700) != 0)
        return errno;
    if ((rc = mdb_env_create(&env)) != 0)
        return rc;
    if ((rc = mdb_env_set_mapsize(env, (size_t)(n * 1024 + (64u << 20)))) != 0 ||
        (rc = mdb_env_open(env, dir, 0, 0600)) != 0)
        goto out;
    randombytes_buf(key, sizeof key);
    randombytes_buf(val, sizeof val);
    t0 = bench_now_s();
    for (uint64_t i = 0; i < n; i++) {
        MDB_val k = {sizeof key, key}, v = {sizeof val, val};
        if (i % BENCH_PUTS_PER_TXN == 0) {
            if (txn && (rc = mdb_txn_commit(txn)) != 0) {
                txn = NULL;
                goto out;
            }
            txn = NULL;
            if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
                (i == 0 && (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0))
                goto out;
        }
        put_be64(key + BENCH_KEY_LEN - 8, i + 1);
        put_be64(val, i);
        if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0)
            goto out;
    }
    rc = txn ? mdb_txn_commit(txn) : 0;
    txn = NULL;
    if (rc != 0)
        goto out;
    t1 = bench_now_s();
    mdb_env_info(env, &info);
    mdb_env_stat(env, &st);
    *rate = (double)n / (t1 - t0);
    *bytes_per = (double)(info.me_last_pgno + 1) * st.ms_psize / (double)n;
out:
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    return rc;
}

/* ---- project figures ------------------------------------------------------------------ */

/* A 200-byte op {"t": "x.bench", "a": a, "i": i, "n": n, "note": "..."} (fixmap, uint64s,
 * str8). Its type is one no version knows, so views skip it as "from a newer version":
 * the log-level figures measure the log, not the relief views (measured separately). */
size_t bench_make_op(uint8_t buf[static BENCH_OP_LEN], uint64_t a, uint64_t i, uint64_t n)
{
    static const char keys[3] = {'a', 'i', 'n'};
    static const char text[] = "received 40 cartons ORS, 12 tarps, 3 cold boxes; ";
    const uint64_t vals[3] = {a, i, n};
    size_t o = 0, pad;

    buf[o++] = 0x85;
    buf[o++] = 0xa1;
    buf[o++] = 't';
    buf[o++] = 0xa7;
    memcpy(buf + o, "x.bench", 7);
    o += 7;
    for (int f = 0; f < 3; f++) {
        buf[o++] = 0xa1;
        buf[o++] = (uint8_t)keys[f];
        buf[o++] = 0xcf;
        put_be64(buf + o, vals[f]);
        o += 8;
    }
    buf[o++] = 0xa4;
    memcpy(buf + o, "note", 4);
    o += 4;
    pad = BENCH_OP_LEN - o - 2;
    buf[o++] = 0xd9;
    buf[o++] = (uint8_t)pad;
    for (size_t k = 0; k < pad; k++)
        buf[o++] = (uint8_t)text[(i + k) % (sizeof text - 1)];
    return o;
}

/* Appends n entries, `batch` per store_append, into a fresh store in `dir`. */
int bench_append(const char *dir, uint64_t n, size_t batch, double *rate)
{
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    uint8_t *ops = malloc(batch * BENCH_OP_LEN);
    const uint8_t **p = malloc(batch * sizeof *p);
    size_t *l = malloc(batch * sizeof *l);
    struct store *s = NULL;
    double t0;
    int rc;

    crypto_sign_keypair(pk, sk);
    if (!ops || !p || !l) {
        rc = AM_ENOMEM;
        goto out;
    }
    if ((rc = store_open(&s, dir, NULL)) != AM_OK)
        goto out;
    t0 = bench_now_s();
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < batch ? (size_t)(n - done) : batch;
        for (size_t i = 0; i < k; i++) {
            p[i] = ops + i * BENCH_OP_LEN;
            l[i] = bench_make_op(ops + i * BENCH_OP_LEN, 0, done + i, n);
        }
        if ((rc = store_append(s, sk, p, l, k, node_wall_ms(), NULL)) != AM_OK)
            goto out;
        done += k;
    }
    *rate = (double)n / (bench_now_s() - t0);
out:
    store_close(s);
    sodium_memzero(sk, sizeof sk);
    free(ops);
    free(p);
    free(l);
    return rc;
}

void bench_source_free(struct bench_source *src)
{
    free(src->buf);
    free(src->entry);
    free(src->len);
    src->buf = NULL;
    src->entry = NULL;
    src->len = NULL;
}

int bench_source_build(struct bench_source *src, uint64_t n, uint64_t authors)
{
    const uint8_t **by_author = malloc(n * sizeof *by_author);
    size_t *len_by_author = malloc(n * sizeof *len_by_author);
    uint64_t *first = malloc(authors * sizeof *first);
    uint64_t built = 0, next_report = n / 10, used = 0, max_per = 0;
    uint8_t op[BENCH_OP_LEN];
    uint64_t wall = node_wall_ms();
    int rc = AM_OK;

    memset(src, 0, sizeof *src);
    src->n = n;
    src->buf = malloc(n * BENCH_ENTRY_SLOT);
    src->entry = malloc(n * sizeof *src->entry);
    src->len = malloc(n * sizeof *src->len);
    if (!by_author || !len_by_author || !first || !src->buf || !src->entry || !src->len) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (uint64_t a = 0; a < authors; a++) {
        uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN], prev[AM_HASH_LEN] = {0};
        uint64_t count = n / authors + (a < n % authors);
        struct hlc clk = {0};

        crypto_sign_keypair(pk, sk);
        first[a] = built;
        if (count > max_per)
            max_per = count;
        for (uint64_t seq = 1; seq <= count; seq++) {
            uint8_t *at = src->buf + used;
            size_t ol = bench_make_op(op, a, seq, count), len;
            struct entry e;

            rc = entry_build(at, n * BENCH_ENTRY_SLOT - used, &len, sk, seq, prev,
                             hlc_tick(&clk, wall), op, ol);
            if (rc == AM_OK)
                rc = entry_decode(&e, at, len);
            if (rc != AM_OK) {
                sodium_memzero(sk, sizeof sk);
                goto out;
            }
            entry_hash(&e, prev);
            by_author[built] = at;
            len_by_author[built] = len;
            used += len;
            if (++built >= next_report) {
                fprintf(stderr, "aidmesh-bench: building source: %llu of %llu entries\n",
                        (unsigned long long)built, (unsigned long long)n);
                next_report += n / 10 ? n / 10 : 1;
            }
        }
        sodium_memzero(sk, sizeof sk);
    }
    src->raw_bytes = used;
    /* Delivery order: seq 1 of every author, then seq 2 of every author, ... */
    {
        uint64_t k = 0;
        for (uint64_t i = 0; i < max_per; i++)
            for (uint64_t a = 0; a < authors; a++) {
                uint64_t count = n / authors + (a < n % authors);
                if (i < count) {
                    src->entry[k] = by_author[first[a] + i];
                    src->len[k++] = len_by_author[first[a] + i];
                }
            }
    }
out:
    free(by_author);
    free(len_by_author);
    free(first);
    return rc;
}

/* Ingests the whole source into a fresh store in `dir`, AM_INGEST_BATCH_MAX per call,
 * and checks that every entry was added. */
int bench_ingest(const char *dir, const struct bench_source *src, uint64_t authors,
                 struct bench_ingest_result *res)
{
    struct store *s = NULL;
    struct store_ingest_stats total = {0};
    struct store_stats st;
    uint64_t wall = node_wall_ms(), next_report = src->n / 10;
    double t0;
    int rc;

    if ((rc = store_open(&s, dir, NULL)) != AM_OK)
        goto out;
    t0 = bench_now_s();
    for (uint64_t at = 0; at < src->n;) {
        struct store_ingest_stats is;
        size_t k =
            src->n - at < AM_INGEST_BATCH_MAX ? (size_t)(src->n - at) : (size_t)AM_INGEST_BATCH_MAX;
        rc = store_ingest(s, src->entry + at, src->len + at, k, wall, &is);
        if (rc != AM_OK)
            goto out;
        if (is.added != k) {
            fprintf(stderr,
                    "aidmesh-bench: ingest batch at %llu: added %llu of %zu (dup %llu, "
                    "gap %llu, unlinked %llu, badsig %llu, malformed %llu): %s\n",
                    (unsigned long long)at, (unsigned long long)is.added, k,
                    (unsigned long long)is.duplicate, (unsigned long long)is.gap,
                    (unsigned long long)is.unlinked, (unsigned long long)is.badsig,
                    (unsigned long long)is.malformed, am_strerror(is.first_error));
            rc = AM_ECORRUPT;
            goto out;
        }
        total.added += is.added;
        at += k;
        if (at >= next_report && at < src->n) {
            fprintf(stderr, "aidmesh-bench: ingesting: %llu of %llu entries\n",
                    (unsigned long long)at, (unsigned long long)src->n);
            next_report += src->n / 10 ? src->n / 10 : 1;
        }
    }
    res->rate = (double)src->n / (bench_now_s() - t0);
    if ((rc = store_stats(s, &st)) != AM_OK)
        goto out;
    if (total.added != src->n || st.entries != src->n || st.authors != authors) {
        fprintf(stderr,
                "aidmesh-bench: after ingest the store holds %llu entries of %llu authors; "
                "expected %llu of %llu\n",
                (unsigned long long)st.entries, (unsigned long long)st.authors,
                (unsigned long long)src->n, (unsigned long long)authors);
        rc = AM_ECORRUPT;
        goto out;
    }
    res->entries = st.entries;
    res->authors = st.authors;
    res->map_used = st.map_used;
out:
    store_close(s);
    return rc;
}

const char *bench_lmdb_strerror(int rc)
{
    return mdb_strerror(rc);
}

void bench_lmdb_version(int *major, int *minor, int *patch)
{
    mdb_version(major, minor, patch);
}
