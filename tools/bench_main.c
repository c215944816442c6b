/*
 * bench_main.c: aidmesh-bench, a benchmark (not a test) of the store's two write paths,
 * printed beside this machine's ceilings measured in the same run, so the ratios mean
 * something on a noisy or unfamiliar machine.
 *
 * Ceilings (one thread each; crypto ones are the median of 3 rounds of ~1/3 s):
 *   ed25519 sign/s and verify/s of a 200-byte message (libsodium detached),
 *   BLAKE2b-256 of 200 B per second (crypto_generichash),
 *   LMDB puts/s: N puts of (40-byte append-order key, 300-byte value), 1000 per
 *   transaction, into a fresh environment with default flags (so every commit syncs,
 *   as the store's do).
 * Project figures:
 *   local append: store_append of 200-byte ops, 1000 per call (and 1 per call), into a
 *     fresh store. Each entry costs one signature, so read it against the sign ceiling:
 *     the target is >= 0.80 of it.
 *   ingest: A authors' chains (N entries in all, built in memory with entry_build,
 *     untimed) fed to store_ingest of a fresh store, AM_INGEST_BATCH_MAX per call, authors
 *     interleaved entry by entry (round robin), as a sync could deliver them. Ingest
 *     verifies one signature per author run, so it should beat per-entry verification
 *     many times over: its ratio to the verify ceiling says by how much; the target is
 *     >= 250,000 entries/s. Its ratios to the hash and LMDB ceilings show how close it
 *     runs to the work it cannot avoid (hash every entry, put every entry).
 *   bytes stored per entry (LMDB map in use / entries) and raw bytes per entry. Its ratio
 *     is the store's overhead (stored / raw) over LMDB's own (bytes in use per put of the
 *     LMDB ceiling / 340): 1.0 means the store wastes no more space than LMDB itself.
 *
 * Sizes: N = --entries (default 1,000,000), A = --authors (default 10); append writes
 * min(N, 200,000) entries 1000 per call and min(N, 2,000) one per call. --quick: N =
 * 50,000, appends of 10,000 and 100, ceilings of 0.3 s. Figures move by tens of percent
 * between runs on a shared VM; the ratios move less, so compare ratios across machines.
 *
 * Output: a Markdown table on stdout (or a JSON array of the same rows with --json),
 * progress on stderr. Temporary stores live in a fresh mkdtemp directory under --dir,
 * $TMPDIR or /tmp, removed at the end. Build it in Release for meaningful numbers.
 *
 * This file is the one place outside node/store.c that includes lmdb.h: only to measure
 * the LMDB ceiling, never to touch a store.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h> /* ceiling measurement only, see the top of this file */
#include <sodium.h>

#include "am_err.h"
#include "am_limits.h"
#include "entry.h"
#include "hlc.h"
#include "node.h"
#include "out.h"
#include "store.h"

#define BENCH_OP_LEN       200 /* bytes of one op: a typical relief op */
#define BENCH_MSG_LEN      200 /* message of the crypto ceilings */
#define BENCH_KEY_LEN      40  /* LMDB ceiling key: like author || be64 seq */
#define BENCH_VAL_LEN      300 /* LMDB ceiling value */
#define BENCH_PUTS_PER_TXN 1000
#define BENCH_ENTRY_SLOT   (BENCH_OP_LEN + 160) /* room for one built entry */
#define BENCH_TMPFS_MAGIC  0x01021994           /* statfs f_type of tmpfs */

struct opts {
    uint64_t entries; /* ingest entries (and LMDB ceiling puts) */
    uint64_t authors;
    int quick, json;
    const char *dir, *out;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void fail(const char *what, int rc)
{
    fprintf(stderr, "aidmesh-bench: %s: %s\n", what, am_strerror(rc));
}

/* ---- ceilings ------------------------------------------------------------------------- */

enum crypto_kind { CK_SIGN, CK_VERIFY, CK_HASH };

/* Operations per second of one kind, for about `secs` seconds. */
static double crypto_round(enum crypto_kind kind, double secs, const uint8_t *sk, const uint8_t *pk)
{
    uint8_t msg[BENCH_MSG_LEN], sig[crypto_sign_BYTES], h[32];
    uint64_t n = 0;
    double t0, t;

    randombytes_buf(msg, sizeof msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    t0 = now_s();
    do {
        for (int i = 0; i < 64; i++, n++) {
            switch (kind) {
            case CK_SIGN:
                msg[0] = (uint8_t)n;
                crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
                break;
            case CK_VERIFY:
                if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0)
                    abort(); /* our own signature: cannot fail */
                break;
            case CK_HASH:
                msg[0] = (uint8_t)n;
                crypto_generichash(h, sizeof h, msg, sizeof msg, NULL, 0);
                break;
            }
        }
        t = now_s();
    } while (t - t0 < secs);
    return (double)n / (t - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of three rounds: one preempted round does not move it. */
static double crypto_ceiling(enum crypto_kind kind, double secs)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    double r[3];

    crypto_sign_keypair(pk, sk);
    for (int i = 0; i < 3; i++)
        r[i] = crypto_round(kind, secs / 3, sk, pk);
    sodium_memzero(sk, sizeof sk);
    qsort(r, 3, sizeof r[0], cmp_double);
    return r[1];
}

/* n puts of (40-byte key in append order, 300-byte value), 1000 per transaction, into a
 * fresh environment in `dir` with default flags. *rate is puts/s, *bytes_per the map in
 * use per put. Returns 0 or an LMDB/errno code. */
static int lmdb_ceiling(const char *dir, uint64_t n, double *rate, double *bytes_per)
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
    t0 = now_s();
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
    t1 = now_s();
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

/* A 200-byte op {"a": a, "i": i, "n": n, "note": "..."} (fixmap, uint64s, str8). */
static size_t make_op(uint8_t buf[static BENCH_OP_LEN], uint64_t a, uint64_t i, uint64_t n)
{
    static const char keys[3] = {'a', 'i', 'n'};
    static const char text[] = "received 40 cartons ORS, 12 tarps, 3 cold boxes; ";
    const uint64_t vals[3] = {a, i, n};
    size_t o = 0, pad;

    buf[o++] = 0x84;
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
static int bench_append(const char *dir, uint64_t n, size_t batch, double *rate)
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
    t0 = now_s();
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < batch ? (size_t)(n - done) : batch;
        for (size_t i = 0; i < k; i++) {
            p[i] = ops + i * BENCH_OP_LEN;
            l[i] = make_op(ops + i * BENCH_OP_LEN, 0, done + i, n);
        }
        if ((rc = store_append(s, sk, p, l, k, node_wall_ms(), NULL)) != AM_OK)
            goto out;
        done += k;
    }
    *rate = (double)n / (now_s() - t0);
out:
    store_close(s);
    sodium_memzero(sk, sizeof sk);
    free(ops);
    free(p);
    free(l);
    return rc;
}

/* The ingest source: every author's chain, built in memory, listed in delivery order. */
struct source {
    uint8_t *buf;          /* all entries, author by author */
    const uint8_t **entry; /* delivery order: round robin over authors */
    size_t *len;
    uint64_t n, raw_bytes;
};

static void source_free(struct source *src)
{
    free(src->buf);
    free(src->entry);
    free(src->len);
}

static int source_build(struct source *src, uint64_t n, uint64_t authors)
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
            size_t ol = make_op(op, a, seq, count), len;
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

struct ingest_result {
    double rate;
    uint64_t entries, authors, map_used;
};

/* Ingests the whole source into a fresh store in `dir`, AM_INGEST_BATCH_MAX per call,
 * and checks that every entry was added. */
static int bench_ingest(const char *dir, const struct source *src, uint64_t authors,
                        struct ingest_result *res)
{
    struct store *s = NULL;
    struct store_ingest_stats total = {0};
    struct store_stats st;
    uint64_t wall = node_wall_ms(), next_report = src->n / 10;
    double t0;
    int rc;

    if ((rc = store_open(&s, dir, NULL)) != AM_OK)
        goto out;
    t0 = now_s();
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
    res->rate = (double)src->n / (now_s() - t0);
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

/* ---- output --------------------------------------------------------------------------- */

enum unit { U_RATE, U_BYTES };

struct row {
    const char *figure;
    double value;
    enum unit unit;
    const char *ceiling_what; /* NULL: no ceiling */
    double ceiling;
    enum unit ceiling_unit;
    double ratio; /* meaning given in ratio_what */
    const char *ratio_what;
    const char *target; /* text */
    int met;            /* 1 met, 0 missed, -1 for information */
};

static void fmt_value(char buf[48], double v, enum unit u)
{
    char c[32];
    if (u == U_RATE) {
        out_count(c, (uint64_t)(v + 0.5));
        snprintf(buf, 48, "%s/s", c);
    } else {
        snprintf(buf, 48, "%.1f B", v);
    }
}

static void print_markdown(FILE *f, const struct row *rows, size_t n, const char *intro)
{
    fputs(intro, f);
    fputs("\n| figure | project value | ceiling (what, measured now) | ratio | target |\n", f);
    fputs("|---|---|---|---|---|\n", f);
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        char v[48], c[48];
        fmt_value(v, r->value, r->unit);
        fprintf(f, "| %s | %s | ", r->figure, v);
        if (r->ceiling_what) {
            fmt_value(c, r->ceiling, r->ceiling_unit);
            fprintf(f, "%s: %s | %.3g× %s | ", r->ceiling_what, c, r->ratio, r->ratio_what);
        } else {
            fputs("— | — | ", f);
        }
        fprintf(f, "%s%s |\n", r->target,
                r->met < 0   ? ""
                : r->met > 0 ? " (met)"
                             : " (**missed**)");
    }
}

static void print_json(FILE *f, const struct row *rows, size_t n)
{
    fputs("[\n", f);
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        const char *unit = r->unit == U_RATE ? "per_s" : "bytes";
        fputs("  {\"figure\": ", f);
        out_json_str(f, r->figure, strlen(r->figure));
        fprintf(f, ", \"value\": %.1f, \"unit\": \"%s\", \"ceiling_what\": ", r->value, unit);
        if (r->ceiling_what) {
            out_json_str(f, r->ceiling_what, strlen(r->ceiling_what));
            fprintf(f, ", \"ceiling\": %.1f, \"ceiling_unit\": \"%s\", \"ratio\": %.4f, ",
                    r->ceiling, r->ceiling_unit == U_RATE ? "per_s" : "bytes", r->ratio);
            fputs("\"ratio_what\": ", f);
            out_json_str(f, r->ratio_what, strlen(r->ratio_what));
        } else {
            fputs("null, \"ceiling\": null, \"ceiling_unit\": null, \"ratio\": null, "
                  "\"ratio_what\": null",
                  f);
        }
        fputs(", \"target\": ", f);
        out_json_str(f, r->target, strlen(r->target));
        fprintf(f, ", \"met\": %s}%s\n",
                r->met < 0   ? "null"
                : r->met > 0 ? "true"
                             : "false",
                i + 1 < n ? "," : "");
    }
    fputs("]\n", f);
}

/* ---- temp directory --------------------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "aidmesh-bench: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

static void rm_tree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- main ------------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: aidmesh-bench [--entries N] [--authors A] [--quick] [--json]\n"
            "                     [--dir DIR] [--out FILE]\n"
            "  --entries N  entries to ingest and LMDB puts (default 1000000; --quick 50000)\n"
            "  --authors A  authors of the ingested entries (default 10)\n"
            "  --quick      small sizes and short ceilings: a smoke run\n"
            "  --json       a JSON array of the rows instead of the Markdown table\n"
            "  --dir DIR    where the temporary stores go (default $TMPDIR or /tmp)\n"
            "  --out FILE   also write the Markdown table to FILE\n");
    return 2;
}

static int parse_count(const char *s, const char *name, uint64_t *v)
{
    char *end;
    errno = 0;
    *v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *v == 0 || s[0] == '-' || *v > (1ULL << 32)) {
        fprintf(stderr, "aidmesh-bench: %s wants a whole number from 1 to 2^32, not '%s'\n", name,
                s);
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    int have_entries = 0;

    memset(o, 0, sizeof *o);
    o->entries = 1000000;
    o->authors = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            o->quick = 1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return -1;
        } else if (strcmp(a, "--entries") && strcmp(a, "--authors") && strcmp(a, "--dir") &&
                   strcmp(a, "--out")) {
            fprintf(stderr, "aidmesh-bench: unknown option: %s\n", a);
            usage();
            return -1;
        } else if (!v) {
            fprintf(stderr, "aidmesh-bench: %s wants a value\n", a);
            usage();
            return -1;
        } else if (strcmp(a, "--entries") == 0) {
            if (parse_count(v, a, &o->entries) != 0)
                return -1;
            have_entries = 1;
            i++;
        } else if (strcmp(a, "--authors") == 0) {
            if (parse_count(v, a, &o->authors) != 0)
                return -1;
            i++;
        } else if (strcmp(a, "--dir") == 0) {
            o->dir = v;
            i++;
        } else {
            o->out = v;
            i++;
        }
    }
    if (o->quick && !have_entries)
        o->entries = 50000;
    if (o->authors > o->entries) {
        fprintf(stderr,
                "aidmesh-bench: --authors %llu exceeds --entries %llu: give every "
                "author at least one entry\n",
                (unsigned long long)o->authors, (unsigned long long)o->entries);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct source src = {0};
    struct ingest_result ing = {0};
    struct row rows[8];
    char tmp[4096], path[4200], intro[1024], ingest_fig[128], c1[32], c2[32];
    const char *base;
    double secs, sign, verify, hash, lmdb_rate = 0, lmdb_bytes = 0, app1000 = 0, app1 = 0;
    double raw_per, stored_per, t_gen;
    uint64_t n_app1000, n_app1;
    struct statfs fs;
    FILE *outf = NULL;
    size_t nr = 0;
    int rc, status = 1, have_tmp = 0;

    if (parse_args(argc, argv, &o) != 0)
        return 2;
    if (sodium_init() < 0) {
        fprintf(stderr, "aidmesh-bench: libsodium failed to initialise\n");
        return 1;
    }
    secs = o.quick ? 0.3 : 1.0;
    /* Append costs one signature per entry: a few seconds tell enough. */
    n_app1000 = o.quick ? 10000 : 200000;
    n_app1000 = n_app1000 < o.entries ? n_app1000 : o.entries;
    n_app1 = o.quick ? 100 : 2000;
    n_app1 = n_app1 < o.entries ? n_app1 : o.entries;

    base = o.dir ? o.dir : getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/aidmesh-bench.XXXXXX", base) >= sizeof tmp ||
        !mkdtemp(tmp)) {
        fprintf(stderr, "aidmesh-bench: cannot make a temporary directory under %s: %s\n", base,
                strerror(errno));
        return 1;
    }
    have_tmp = 1;
    if (o.out && !(outf = fopen(o.out, "w"))) {
        fprintf(stderr, "aidmesh-bench: cannot write %s: %s\n", o.out, strerror(errno));
        goto out;
    }

    fprintf(stderr, "aidmesh-bench: ceilings (%.1f s each)\n", secs);
    sign = crypto_ceiling(CK_SIGN, secs);
    verify = crypto_ceiling(CK_VERIFY, secs);
    hash = crypto_ceiling(CK_HASH, secs);
    fprintf(stderr, "aidmesh-bench: LMDB ceiling: %llu puts\n", (unsigned long long)o.entries);
    snprintf(path, sizeof path, "%s/lmdb", tmp);
    if ((rc = lmdb_ceiling(path, o.entries, &lmdb_rate, &lmdb_bytes)) != 0) {
        fprintf(stderr, "aidmesh-bench: LMDB ceiling in %s: %s\n", path, mdb_strerror(rc));
        goto out;
    }
    rm_tree(path);

    fprintf(stderr, "aidmesh-bench: local append: %llu entries, 1000 per call\n",
            (unsigned long long)n_app1000);
    snprintf(path, sizeof path, "%s/append1000", tmp);
    if ((rc = bench_append(path, n_app1000, 1000, &app1000)) != AM_OK) {
        fail("local append, 1000 per call", rc);
        goto out;
    }
    rm_tree(path);
    fprintf(stderr, "aidmesh-bench: local append: %llu entries, 1 per call\n",
            (unsigned long long)n_app1);
    snprintf(path, sizeof path, "%s/append1", tmp);
    if ((rc = bench_append(path, n_app1, 1, &app1)) != AM_OK) {
        fail("local append, 1 per call", rc);
        goto out;
    }
    rm_tree(path);

    fprintf(stderr, "aidmesh-bench: building the ingest source: %llu authors, %llu entries\n",
            (unsigned long long)o.authors, (unsigned long long)o.entries);
    t_gen = now_s();
    if ((rc = source_build(&src, o.entries, o.authors)) != AM_OK) {
        fail("building the ingest source", rc);
        goto out;
    }
    t_gen = now_s() - t_gen;
    fprintf(stderr, "aidmesh-bench: ingest: %llu entries, %d per call\n",
            (unsigned long long)o.entries, AM_INGEST_BATCH_MAX);
    snprintf(path, sizeof path, "%s/ingest", tmp);
    if ((rc = bench_ingest(path, &src, o.authors, &ing)) != AM_OK) {
        fail("ingest", rc);
        goto out;
    }
    rm_tree(path);

    raw_per = (double)src.raw_bytes / (double)src.n;
    stored_per = (double)ing.map_used / (double)ing.entries;
    snprintf(ingest_fig, sizeof ingest_fig,
             "ingest, %d per call, %llu author%s interleaved (entries/s)", AM_INGEST_BATCH_MAX,
             (unsigned long long)o.authors, o.authors == 1 ? "" : "s");

    rows[nr++] = (struct row){"local append (sign+store), 1000 per call (entries/s)",
                              app1000,
                              U_RATE,
                              "ed25519 sign, 200 B",
                              sign,
                              U_RATE,
                              app1000 / sign,
                              "sign",
                              "≥ 0.80× sign",
                              app1000 >= 0.8 * sign};
    rows[nr++] = (struct row){"local append (sign+store), 1 per call (entries/s)",
                              app1,
                              U_RATE,
                              "ed25519 sign, 200 B",
                              sign,
                              U_RATE,
                              app1 / sign,
                              "sign",
                              "info: one commit (sync) per entry",
                              -1};
    rows[nr++] = (struct row){
        ingest_fig, ing.rate,          U_RATE,   "ed25519 verify, 200 B", verify,
        U_RATE,     ing.rate / verify, "verify", "≥ 250,000/s",           ing.rate >= 250000};
    rows[nr++] = (struct row){"ingest against hashing (entries/s)",
                              ing.rate,
                              U_RATE,
                              "BLAKE2b-256 of 200 B",
                              hash,
                              U_RATE,
                              ing.rate / hash,
                              "hash",
                              "info: every entry is hashed",
                              -1};
    rows[nr++] = (struct row){"ingest against LMDB puts (entries/s)",
                              ing.rate,
                              U_RATE,
                              "LMDB put, 40 B key + 300 B value, 1000 per txn",
                              lmdb_rate,
                              U_RATE,
                              ing.rate / lmdb_rate,
                              "LMDB",
                              "info: every entry is put",
                              -1};
    rows[nr++] = (struct row){"bytes stored per entry (map in use / entries)",
                              stored_per,
                              U_BYTES,
                              "LMDB alone, bytes per 340 B put",
                              lmdb_bytes,
                              U_BYTES,
                              (stored_per / raw_per) / (lmdb_bytes / 340.0),
                              "LMDB's overhead",
                              "info",
                              -1};
    rows[nr++] = (struct row){
        "raw bytes per entry (op 200 B)", raw_per, U_BYTES, NULL, 0, U_BYTES, 0, NULL, "info", -1};

    {
        const char *fsnote = "";
        int maj, min, pat;
        mdb_version(&maj, &min, &pat);
        if (statfs(tmp, &fs) == 0 && fs.f_type == BENCH_TMPFS_MAGIC)
            fsnote = " (tmpfs: commits sync nothing)";
        out_count(c1, o.entries);
        out_count(c2, n_app1000);
        snprintf(
            intro, sizeof intro,
            "aidmesh-bench%s: ingest %s entries from %llu authors; append %s entries; "
            "ceilings: one thread, median of 3 rounds, %.1f s each; libsodium %s, LMDB %d.%d.%d; "
            "stores under %s%s; source built in %.1f s.\n",
            o.quick ? " --quick" : "", c1, (unsigned long long)o.authors, c2, secs,
            sodium_version_string(), maj, min, pat, base, fsnote, t_gen);
    }
    if (o.json)
        print_json(stdout, rows, nr);
    else
        print_markdown(stdout, rows, nr, intro);
    if (outf)
        print_markdown(outf, rows, nr, intro);
    status = 0;
out:
    if (outf && fclose(outf) != 0) {
        fprintf(stderr, "aidmesh-bench: writing %s: %s\n", o.out, strerror(errno));
        status = 1;
    }
    source_free(&src);
    if (have_tmp)
        rm_tree(tmp);
    return status;
}
