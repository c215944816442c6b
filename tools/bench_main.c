/*
 * bench_main.c: aidmesh-bench, a benchmark (not a test) of the store's two write paths
 * and of network sync (two engines over loopback TCP, and running daemons), printed
 * beside this machine's ceilings measured in the same run, so the ratios mean something
 * on a noisy or unfamiliar machine.
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
 *   full sync (PROTOCOL.md section 8): the ingest store above, as one node, synced into an
 *     empty store by two sync sessions, one per thread, over one real TCP connection on
 *     127.0.0.1 (non-blocking sockets, poll -> read -> sync_feed -> send sync_output ->
 *     sync_output_done), timed from the connection until both sessions report
 *     SYNC_IN_SYNC. Target >= 200,000 entries/s. Its ceiling is raw loopback TCP: the same
 *     number of bytes pushed through the same socket pair afterwards (MB/s); the ratio
 *     compares the sync's wire bytes/s with it. Beside it: the ratio to ingest (the
 *     receiver cannot beat it), and wire bytes per entry (both ways) against raw entry
 *     bytes, target <= 1.10x.
 *   reconnections of two nodes holding 1,000 authors (one entry each): in sync (bytes both
 *     ways: preambles and handshake; target <= 300), and after one author appended one
 *     entry (handshake + reconciliation bytes both ways, summary_out of both sessions,
 *     not the ENTRIES message; target <= 2,048).
 *   propagation: K real `aidmesh run` daemons (the binary beside this one) on 127.0.0.1,
 *     no discovery; node i dials node 0 and node i-1 (a hub plus a chain). Once all report
 *     their links "in sync" (`aidmesh peers --json`), S entries are appended one at a time
 *     at random nodes by this process (node_open + store_append: the daemon notices
 *     through its inotify watch), and each is timed from the append's return until every
 *     node's store holds it (store heads polled every ~1 ms). p50 and p95 (nearest rank);
 *     target p50 <= 100 ms. Without the aidmesh binary the rows say "skipped".
 *
 * Sizes: N = --entries (default 1,000,000), A = --authors (default 10); append writes
 * min(N, 200,000) entries 1000 per call and min(N, 2,000) one per call; K = --nodes
 * (default 10), S = --samples (default 20). --quick: N = 50,000, appends of 10,000 and
 * 100, ceilings of 0.3 s, K = 5, S = 5. Figures move by tens of percent between runs on a
 * shared VM; the ratios move less, so compare ratios across machines.
 *
 * Output: a Markdown table on stdout (or a JSON array of the same rows with --json),
 * progress on stderr; exit status 1 if the propagation figure failed (the rest is still
 * printed). Temporary stores and node homes live in a fresh mkdtemp directory under
 * --dir, $TMPDIR or /tmp, removed at the end; the daemons get SIGTERM (SIGKILL after 5 s)
 * and are waited for. Build it in Release for meaningful numbers.
 *
 * This file is the one place outside node/store.c that includes lmdb.h: only to measure
 * the LMDB ceiling, never to touch a store.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h> /* ceiling measurement only, see the top of this file */
#include <sodium.h>

#include "am_err.h"
#include "cli.h"
#include "am_limits.h"
#include "entry.h"
#include "hlc.h"
#include "node.h"
#include "out.h"
#include "store.h"
#include "sync.h"
#include "syncstore.h"

#define BENCH_OP_LEN       200 /* bytes of one op: a typical relief op */
#define BENCH_MSG_LEN      200 /* message of the crypto ceilings */
#define BENCH_KEY_LEN      40  /* LMDB ceiling key: like author || be64 seq */
#define BENCH_VAL_LEN      300 /* LMDB ceiling value */
#define BENCH_PUTS_PER_TXN 1000
#define BENCH_ENTRY_SLOT   (BENCH_OP_LEN + 160) /* room for one built entry */
#define BENCH_TMPFS_MAGIC  0x01021994           /* statfs f_type of tmpfs */

struct opts {
    uint64_t entries; /* ingest and full-sync entries (and LMDB ceiling puts) */
    uint64_t authors;
    uint64_t nodes, samples; /* propagation: daemons, and writes measured */
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

/* A 200-byte op {"t": "x.bench", "a": a, "i": i, "n": n, "note": "..."} (fixmap, uint64s,
 * str8). Its type is one no version knows, so views skip it as "from a newer version":
 * the log-level figures measure the log, not the relief views (measured separately). */
static size_t make_op(uint8_t buf[static BENCH_OP_LEN], uint64_t a, uint64_t i, uint64_t n)
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
    src->buf = NULL;
    src->entry = NULL;
    src->len = NULL;
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

enum unit { U_RATE, U_BYTES, U_MS, U_MBPS };

static const char *const unit_json[] = {"per_s", "bytes", "ms", "MB_per_s"};

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
    const char *text;   /* non-NULL: shown instead of the value (skipped, failed) */
};

static void fmt_value(char buf[48], double v, enum unit u)
{
    char c[32];
    switch (u) {
    case U_RATE:
        out_count(c, (uint64_t)(v + 0.5));
        snprintf(buf, 48, "%s/s", c);
        break;
    case U_BYTES:
        if (v == (double)(uint64_t)v && v < 1e15) {
            out_count(c, (uint64_t)v);
            snprintf(buf, 48, "%s B", c);
        } else {
            snprintf(buf, 48, "%.1f B", v);
        }
        break;
    case U_MS:
        snprintf(buf, 48, "%.1f ms", v);
        break;
    case U_MBPS:
        snprintf(buf, 48, "%.0f MB/s", v);
        break;
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
        if (r->text) {
            fprintf(f, "| %s | %s | — | — | %s |\n", r->figure, r->text, r->target);
            continue;
        }
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
        fputs("  {\"figure\": ", f);
        out_json_str(f, r->figure, strlen(r->figure));
        if (r->text) {
            fprintf(f, ", \"value\": null, \"unit\": \"%s\", \"note\": ", unit_json[r->unit]);
            out_json_str(f, r->text, strlen(r->text));
        } else {
            fprintf(f, ", \"value\": %.1f, \"unit\": \"%s\"", r->value, unit_json[r->unit]);
        }
        fputs(", \"ceiling_what\": ", f);
        if (r->ceiling_what && !r->text) {
            out_json_str(f, r->ceiling_what, strlen(r->ceiling_what));
            fprintf(f, ", \"ceiling\": %.1f, \"ceiling_unit\": \"%s\", \"ratio\": %.4f, ",
                    r->ceiling, unit_json[r->ceiling_unit], r->ratio);
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

/* ---- sync over loopback TCP --------------------------------------------------------------- */

/* One node of a two-node sync: its store and identity. */
struct bench_peer {
    struct store *st;
    struct sync_store ss;
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    uint8_t install[AM_INSTALL_ID_LEN];
};

static int peer_open(struct bench_peer *p, const char *dir)
{
    int rc;
    memset(p, 0, sizeof *p);
    if ((rc = store_open(&p->st, dir, NULL)) != AM_OK)
        return rc;
    syncstore_init(&p->ss, p->st);
    store_install_id(p->st, p->install, NULL);
    crypto_sign_keypair(p->pk, p->sk);
    return AM_OK;
}

static void peer_close(struct bench_peer *p)
{
    store_close(p->st);
    p->st = NULL;
    sodium_memzero(p->sk, sizeof p->sk);
}

static uint64_t mono_ms(void)
{
    return (uint64_t)(now_s() * 1000.0);
}

/* A connected pair of TCP sockets on 127.0.0.1 (ephemeral port), both non-blocking with
 * TCP_NODELAY as the daemon sets it: fd[0] accepted (the responder), fd[1] connected
 * (the initiator). Returns AM_OK or AM_ESYS. */
static int tcp_pair(int fd[2])
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int lfd, one = 1, rc = AM_ESYS;

    fd[0] = fd[1] = -1;
    if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return AM_ESYS;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
        goto out;
    if ((fd[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd[1], (struct sockaddr *)&sa, sizeof sa) != 0 ||
        (fd[0] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
        goto out;
    for (int i = 0; i < 2; i++)
        if (setsockopt(fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
            fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK) != 0)
            goto out;
    rc = AM_OK;
out:
    close(lfd);
    if (rc != AM_OK) {
        for (int i = 0; i < 2; i++)
            if (fd[i] >= 0)
                close(fd[i]);
        fd[0] = fd[1] = -1;
    }
    return rc;
}

#define BENCH_RBUF (256u * 1024) /* one read() per poll() */

/* What both threads of one sync share. */
struct link {
    atomic_uint in_sync; /* bit i: side i has reported SYNC_IN_SYNC */
    atomic_int stop;     /* a side failed: the other gives up too */
    double deadline;     /* now_s() */
    const uint8_t *netkey;
};

/* One side of a sync: a session on one socket, run by one thread. */
struct side {
    struct link *l;
    struct bench_peer *p;
    int fd, initiator;
    unsigned bit;
    int rc;            /* AM_OK, or what ended the session */
    double t_in_sync;  /* now_s() when this session first reported SYNC_IN_SYNC */
    uint64_t wire_out; /* bytes written to the socket */
    struct sync_stats stats;
    struct sync_session sess;
};

/* The thread: poll -> read -> sync_feed -> write sync_output -> sync_output_done, until
 * both sessions report SYNC_IN_SYNC and this side has nothing left to send. */
static void *side_run(void *arg)
{
    struct side *sd = arg;
    struct link *l = sd->l;
    uint8_t *rbuf = malloc(BENCH_RBUF);
    struct sync_config cfg = {
        .initiator = sd->initiator,
        .netkey = l->netkey,
        .sk = sd->p->sk,
        .install_id = sd->p->install,
        .store = &sd->p->ss,
        .now_ms = mono_ms(),
    };
    int rc;

    memset(&sd->sess, 0, sizeof sd->sess);
    if (!rbuf) {
        rc = AM_ENOMEM;
        goto out;
    }
    if ((rc = sync_init(&sd->sess, &cfg)) != AM_OK)
        goto out;
    for (;;) {
        unsigned st = sync_state(&sd->sess);
        struct pollfd pfd;
        size_t n;
        uint64_t now;

        sync_output(&sd->sess, &n);
        if (st & SYNC_CLOSED) {
            rc = sync_error(&sd->sess) ? sync_error(&sd->sess) : AM_EPEER;
            break;
        }
        if ((st & SYNC_IN_SYNC) && sd->t_in_sync == 0) {
            sd->t_in_sync = now_s();
            atomic_fetch_or(&l->in_sync, sd->bit);
        }
        if (atomic_load(&l->in_sync) == 3u && n == 0)
            break;
        if (atomic_load(&l->stop)) {
            rc = AM_EPEER;
            break;
        }
        if (now_s() > l->deadline) {
            rc = AM_ETIMEOUT;
            break;
        }
        pfd.fd = sd->fd;
        pfd.events = (short)(POLLIN | (n ? POLLOUT : 0));
        pfd.revents = 0;
        if (poll(&pfd, 1, 5) < 0) {
            if (errno == EINTR)
                continue;
            rc = AM_ESYS;
            break;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = read(sd->fd, rbuf, BENCH_RBUF);
            if (r > 0) {
                sync_feed(&sd->sess, rbuf, (size_t)r); /* an error shows in sync_state */
            } else if (r == 0) {
                if (atomic_load(&l->in_sync) == 3u)
                    break;
                rc = AM_EPEER;
                break;
            } else if (errno != EAGAIN && errno != EINTR) {
                rc = AM_ESYS;
                break;
            }
        }
        if (pfd.revents & POLLOUT) {
            const uint8_t *out = sync_output(&sd->sess, &n);
            if (n) {
                ssize_t w = send(sd->fd, out, n, MSG_NOSIGNAL);
                if (w > 0) {
                    sync_output_done(&sd->sess, (size_t)w);
                    sd->wire_out += (uint64_t)w;
                } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    rc = AM_ESYS;
                    break;
                }
            }
        }
        now = mono_ms();
        if (now >= sync_next_deadline(&sd->sess))
            sync_tick(&sd->sess, now);
    }
out:
    if (rc != AM_OK)
        atomic_store(&l->stop, 1);
    sd->stats = *sync_stats(&sd->sess);
    sync_free(&sd->sess);
    free(rbuf);
    sd->rc = rc;
    return NULL;
}

struct sync_run {
    double secs;             /* from the connection to both sides in sync */
    uint64_t wire;           /* bytes both ways */
    struct sync_stats st[2]; /* [0] responder, [1] initiator */
    int fd[2];               /* the sockets, if kept */
};

/* One sync between `resp` and `init` (who dials) over a fresh loopback TCP connection,
 * one thread per side. With keep, the sockets stay open in r->fd for the caller to close;
 * otherwise they are closed. Returns AM_OK or the error that ended a session. */
static int sync_tcp(struct bench_peer *resp, struct bench_peer *init, const uint8_t *netkey,
                    double timeout_s, int keep, struct sync_run *r)
{
    struct link l;
    struct side *sd = calloc(2, sizeof *sd);
    pthread_t th[2];
    int started = 0, rc;
    double t0;

    memset(r, 0, sizeof *r);
    r->fd[0] = r->fd[1] = -1;
    if (!sd)
        return AM_ENOMEM;
    if ((rc = tcp_pair(r->fd)) != AM_OK) {
        fprintf(stderr, "aidmesh-bench: loopback TCP connection: %s\n", strerror(errno));
        free(sd);
        return rc;
    }
    atomic_init(&l.in_sync, 0u);
    atomic_init(&l.stop, 0);
    l.netkey = netkey;
    t0 = now_s();
    l.deadline = t0 + timeout_s;
    for (int i = 0; i < 2; i++) {
        sd[i].l = &l;
        sd[i].p = i ? init : resp;
        sd[i].fd = r->fd[i];
        sd[i].initiator = i;
        sd[i].bit = 1u << i;
        if (pthread_create(&th[i], NULL, side_run, &sd[i]) != 0) {
            atomic_store(&l.stop, 1);
            rc = AM_ESYS;
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < started && rc == AM_OK; i++)
        if (sd[i].rc != AM_OK)
            rc = sd[i].rc;
    if (rc == AM_OK) {
        r->secs = (sd[0].t_in_sync > sd[1].t_in_sync ? sd[0].t_in_sync : sd[1].t_in_sync) - t0;
        r->wire = sd[0].wire_out + sd[1].wire_out;
        r->st[0] = sd[0].stats;
        r->st[1] = sd[1].stats;
    } else {
        fprintf(stderr, "aidmesh-bench: sync over loopback: responder %s, initiator %s\n",
                am_strerror(sd[0].rc), am_strerror(sd[1].rc));
    }
    if (!keep || rc != AM_OK)
        for (int i = 0; i < 2; i++) {
            close(r->fd[i]);
            r->fd[i] = -1;
        }
    free(sd);
    return rc;
}

struct pusher {
    int fd;
    uint64_t bytes;
    int rc;
};

/* Writes p->bytes of junk to p->fd (blocking). */
static void *push_run(void *arg)
{
    struct pusher *p = arg;
    uint8_t *buf = malloc(BENCH_RBUF);
    uint64_t left = p->bytes;

    p->rc = AM_OK;
    if (!buf) {
        p->rc = AM_ENOMEM;
        return NULL;
    }
    memset(buf, 0x5a, BENCH_RBUF);
    while (left > 0) {
        ssize_t w = send(p->fd, buf, left < BENCH_RBUF ? (size_t)left : BENCH_RBUF, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            p->rc = AM_ESYS;
            break;
        }
        left -= (uint64_t)w;
    }
    free(buf);
    return NULL;
}

/* The TCP ceiling: `bytes` pushed from fd[0] to fd[1] (made blocking) by two threads, in
 * MB/s (10^6). Returns AM_OK, AM_ESYS or AM_ENOMEM. */
static int tcp_ceiling(const int fd[2], uint64_t bytes, double *mbps)
{
    struct pusher p = {fd[0], bytes, AM_OK};
    uint8_t *buf = malloc(BENCH_RBUF);
    uint64_t got = 0;
    pthread_t th;
    double t0;
    int rc = AM_OK;

    if (!buf)
        return AM_ENOMEM;
    for (int i = 0; i < 2; i++)
        if (fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) & ~O_NONBLOCK) != 0) {
            free(buf);
            return AM_ESYS;
        }
    t0 = now_s();
    if (pthread_create(&th, NULL, push_run, &p) != 0) {
        free(buf);
        return AM_ESYS;
    }
    while (got < bytes) {
        ssize_t r = read(fd[1], buf, BENCH_RBUF);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = AM_ESYS;
            shutdown(fd[1], SHUT_RDWR); /* unblocks the pusher */
            break;
        }
        got += (uint64_t)r;
    }
    pthread_join(th, NULL);
    if (rc == AM_OK)
        rc = p.rc;
    *mbps = (double)bytes / (now_s() - t0) / 1e6;
    free(buf);
    return rc;
}

/* Fills `s` with one entry by each of `authors` fresh authors, in one ingest; the secret key
 * of the first author goes to sk0 (for a later append). */
static int fill_authors(struct store *s, uint64_t authors, uint8_t sk0[static AM_SK_LEN])
{
    uint8_t *buf = malloc(authors * BENCH_ENTRY_SLOT);
    const uint8_t **p = malloc(authors * sizeof *p);
    size_t *l = malloc(authors * sizeof *l);
    uint8_t op[BENCH_OP_LEN], prev[AM_HASH_LEN] = {0};
    uint64_t wall = node_wall_ms();
    struct store_ingest_stats is;
    int rc = AM_OK;

    if (!buf || !p || !l) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (uint64_t a = 0; a < authors; a++) {
        uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
        size_t ol = make_op(op, a, 1, 1);
        crypto_sign_keypair(pk, sk);
        p[a] = buf + a * BENCH_ENTRY_SLOT;
        rc = entry_build(buf + a * BENCH_ENTRY_SLOT, BENCH_ENTRY_SLOT, &l[a], sk, 1, prev,
                         hlc_pack(wall, 0), op, ol);
        if (a == 0)
            memcpy(sk0, sk, AM_SK_LEN);
        sodium_memzero(sk, sizeof sk);
        if (rc != AM_OK)
            goto out;
    }
    for (uint64_t at = 0; at < authors;) {
        size_t k = authors - at < AM_INGEST_BATCH_MAX ? (size_t)(authors - at)
                                                      : (size_t)AM_INGEST_BATCH_MAX;
        if ((rc = store_ingest(s, p + at, l + at, k, wall, &is)) != AM_OK)
            goto out;
        if (is.added != k) {
            rc = AM_ECORRUPT;
            goto out;
        }
        at += k;
    }
out:
    free(buf);
    free(p);
    free(l);
    return rc;
}

struct net_result {
    double sync_rate, sync_secs, tcp_mbps, wire_per;
    uint64_t sync_wire;
    uint64_t reconnect_bytes;    /* in sync, both ways */
    uint64_t one_change_summary; /* handshake + reconciliation both ways, 1 of 1,000 changed */
    uint64_t one_change_total;   /* all bytes of that reconnection */
};

#define BENCH_RECON_AUTHORS  1000
#define BENCH_SYNC_TIMEOUT_S 900.0

/* Figures 1-3: full sync of the ingest store `src_dir` (n entries of `authors`) into an
 * empty store, the TCP ceiling on the same sockets, and two reconnections of nodes with
 * 1,000 authors. Temporary stores go under tmp. */
static int bench_net_sync(const char *tmp, const char *src_dir, uint64_t n, uint64_t authors,
                          struct net_result *res)
{
    struct bench_peer a, b, c, d;
    struct sync_run r;
    struct store_stats st;
    uint8_t netkey[AM_NETKEY_LEN], sk0[AM_SK_LEN];
    char path[4200];
    int rc, open_a = 0, open_b = 0, open_c = 0, open_d = 0;

    memset(res, 0, sizeof *res);
    randombytes_buf(netkey, sizeof netkey);
    r.fd[0] = r.fd[1] = -1;
    if ((rc = peer_open(&a, src_dir)) != AM_OK)
        goto out;
    open_a = 1;
    snprintf(path, sizeof path, "%s/sync-empty", tmp);
    if ((rc = peer_open(&b, path)) != AM_OK)
        goto out;
    open_b = 1;
    fprintf(stderr, "aidmesh-bench: full sync over loopback TCP: %llu entries\n",
            (unsigned long long)n);
    if ((rc = sync_tcp(&a, &b, netkey, BENCH_SYNC_TIMEOUT_S, 1, &r)) != AM_OK)
        goto out;
    if ((rc = store_stats(b.st, &st)) != AM_OK)
        goto out;
    if (st.entries != n || st.authors != authors || r.st[1].added != n) {
        fprintf(stderr,
                "aidmesh-bench: after the sync the empty node holds %llu entries of %llu "
                "authors (added %llu); expected %llu of %llu\n",
                (unsigned long long)st.entries, (unsigned long long)st.authors,
                (unsigned long long)r.st[1].added, (unsigned long long)n,
                (unsigned long long)authors);
        rc = AM_ECORRUPT;
        goto out;
    }
    res->sync_secs = r.secs;
    res->sync_rate = (double)n / r.secs;
    res->sync_wire = r.wire;
    res->wire_per = (double)r.wire / (double)n;
    fprintf(stderr,
            "aidmesh-bench: synced in %.2f s; wire %llu bytes (responder sent %llu, initiator "
            "%llu; summaries %llu + %llu); TCP ceiling on the same sockets\n",
            r.secs, (unsigned long long)r.wire, (unsigned long long)r.st[0].bytes_out,
            (unsigned long long)r.st[1].bytes_out, (unsigned long long)r.st[0].summary_out,
            (unsigned long long)r.st[1].summary_out);
    rc = tcp_ceiling(r.fd, r.wire, &res->tcp_mbps);
    for (int i = 0; i < 2; i++) {
        close(r.fd[i]);
        r.fd[i] = -1;
    }
    if (rc != AM_OK)
        goto out;
    peer_close(&b);
    open_b = 0;
    peer_close(&a);
    open_a = 0;
    rm_tree(path);

    fprintf(stderr, "aidmesh-bench: reconnections: two nodes of %d authors\n", BENCH_RECON_AUTHORS);
    snprintf(path, sizeof path, "%s/recon-a", tmp);
    if ((rc = peer_open(&c, path)) != AM_OK)
        goto out;
    open_c = 1;
    snprintf(path, sizeof path, "%s/recon-b", tmp);
    if ((rc = peer_open(&d, path)) != AM_OK)
        goto out;
    open_d = 1;
    if ((rc = fill_authors(c.st, BENCH_RECON_AUTHORS, sk0)) != AM_OK ||
        (rc = sync_tcp(&c, &d, netkey, 60, 0, &r)) != AM_OK)
        goto out;
    /* in sync: the preambles and the handshake */
    if ((rc = sync_tcp(&c, &d, netkey, 60, 0, &r)) != AM_OK)
        goto out;
    res->reconnect_bytes = r.st[0].bytes_out + r.st[1].bytes_out;
    /* one author appends one entry */
    {
        uint8_t op[BENCH_OP_LEN];
        const uint8_t *ops[1] = {op};
        size_t lens[1] = {make_op(op, 0, 2, 2)};
        if ((rc = store_append(c.st, sk0, ops, lens, 1, node_wall_ms(), NULL)) != AM_OK)
            goto out;
    }
    if ((rc = sync_tcp(&c, &d, netkey, 60, 0, &r)) != AM_OK)
        goto out;
    if (r.st[0].entries_out != 1 || r.st[1].added != 1) {
        fprintf(stderr,
                "aidmesh-bench: after one append the reconnection sent %llu entries and "
                "added %llu; expected 1 and 1\n",
                (unsigned long long)r.st[0].entries_out, (unsigned long long)r.st[1].added);
        rc = AM_ECORRUPT;
        goto out;
    }
    res->one_change_summary = r.st[0].summary_out + r.st[1].summary_out;
    res->one_change_total = r.st[0].bytes_out + r.st[1].bytes_out;
    fprintf(stderr,
            "aidmesh-bench: reconnect in sync: %llu bytes; after one append: summaries %llu "
            "bytes, %llu in all\n",
            (unsigned long long)res->reconnect_bytes, (unsigned long long)res->one_change_summary,
            (unsigned long long)res->one_change_total);
out:
    for (int i = 0; i < 2; i++)
        if (r.fd[i] >= 0)
            close(r.fd[i]);
    if (open_a)
        peer_close(&a);
    if (open_b)
        peer_close(&b);
    if (open_c)
        peer_close(&c);
    if (open_d)
        peer_close(&d);
    sodium_memzero(sk0, sizeof sk0);
    sodium_memzero(netkey, sizeof netkey);
    return rc;
}

/* ---- propagation through running daemons --------------------------------------------------- */

#define BENCH_NODES_MAX     32
#define BENCH_CONNECT_S     60.0 /* all daemons in sync with their peers by then */
#define BENCH_SAMPLE_S      10.0 /* one write reaches every node by then */
#define BENCH_SAMPLE_GAP_MS 50   /* between writes: let the last one's scans settle */
#define BENCH_STOP_S        5.0  /* SIGTERM, then this long before SIGKILL */

/* The aidmesh binary beside this one, or 0 if there is none. */
static int find_aidmesh(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash;

    if (k <= 0)
        return 0;
    self[k] = 0;
    if (!(slash = strrchr(self, '/')))
        return 0;
    *slash = 0;
    if ((size_t)snprintf(out, cap, "%s/aidmesh", self) >= cap)
        return 0;
    return access(out, X_OK) == 0;
}

/* In a child: stdin from /dev/null, stdout to out_fd (or `log`, or /dev/null), stderr to
 * `log` (or /dev/null). */
static void child_stdio(int out_fd, const char *log)
{
    int nul = open("/dev/null", O_RDWR);
    int lf = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0600) : -1;
    if (lf < 0)
        lf = nul;
    dup2(nul, 0);
    dup2(out_fd >= 0 ? out_fd : lf, 1);
    dup2(lf, 2);
}

/* Starts argv (argv[0] the binary's path). Returns its pid or -1. */
static pid_t spawn(char *const argv[], int out_fd, const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        child_stdio(out_fd, log);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Runs argv to completion; its stdout goes to out (NUL-terminated, cut at cap) or to
 * `log`. Returns its exit status, or -1 when it could not run or was killed. */
static int run_cmd(char *const argv[], char *out, size_t cap, const char *log)
{
    int pfd[2] = {-1, -1}, st;
    size_t len = 0;
    pid_t pid;

    if (out && pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    pid = spawn(argv, out ? pfd[1] : -1, log);
    if (out) {
        close(pfd[1]);
        for (;;) {
            char junk[512];
            ssize_t r = len + 1 < cap ? read(pfd[0], out + len, cap - 1 - len)
                                      : read(pfd[0], junk, sizeof junk);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            if (len + 1 < cap)
                len += (size_t)r;
        }
        close(pfd[0]);
        out[len] = 0;
    }
    if (pid < 0)
        return -1;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* `k` free TCP ports on 127.0.0.1 (held together while chosen, so they differ). */
static int free_ports(uint16_t *ports, int k)
{
    int fds[BENCH_NODES_MAX], rc = AM_OK, i;

    for (i = 0; i < k; i++) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if ((fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
            bind(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &sl) != 0) {
            rc = AM_ESYS;
            if (fds[i] >= 0)
                i++;
            break;
        }
        ports[i] = ntohs(sa.sin_port);
    }
    while (i-- > 0)
        close(fds[i]);
    return rc;
}

struct prop_result {
    int ran;     /* 0: skipped, the aidmesh binary is not there */
    int samples; /* writes measured */
    int missed;  /* writes that did not reach every node within BENCH_SAMPLE_S */
    double p50_ms, p95_ms, max_ms, connect_s;
};

/* Prints the last bytes of a daemon's log to stderr (on failure). */
static void show_log(const char *path)
{
    char buf[2048];
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f)
        return;
    if (fseek(f, -(long)(sizeof buf - 1), SEEK_END) != 0)
        rewind(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fprintf(stderr, "aidmesh-bench: --- end of %s ---\n%s", path, buf);
    fclose(f);
}

static int count_of(const char *hay, const char *needle)
{
    int c = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        c++;
    return c;
}

/*
 * Figure 4: k `aidmesh run` daemons on 127.0.0.1, each with its own home under tmp, no
 * discovery. Topology: node i (i >= 1) dials node 0 and node i-1, so node 0 is a hub and
 * the others also form a chain; an entry crosses at most two hops. Once every node reports
 * all its connections "in sync" (`aidmesh peers --json`), `samples` times: one entry is
 * appended at a random node by this process (node_open + store_append; the daemon sees it
 * through its inotify watch), and the time from the append's return until every node's
 * store holds it is taken, polling each store's head of that author every ~1 ms.
 */
static int bench_propagation(const char *tmp, int k, int samples, struct prop_result *res)
{
    char bin[PATH_MAX], dir[PATH_MAX + 8];
    char(*home)[PATH_MAX + 32] = calloc(BENCH_NODES_MAX, sizeof *home);
    char(*logs)[PATH_MAX + 48] = calloc(BENCH_NODES_MAX, sizeof *logs);
    char code[256] = "", listen_arg[32], peer0[32], peer1[32], *out = NULL;
    uint16_t port[BENCH_NODES_MAX];
    pid_t pid[BENCH_NODES_MAX];
    int deg[BENCH_NODES_MAX] = {0}, opened[BENCH_NODES_MAX] = {0};
    struct node *nd = calloc(BENCH_NODES_MAX, sizeof *nd);
    double *ms = calloc((size_t)samples, sizeof *ms);
    double t0;
    int rc = AM_OK, failed = 0;

    memset(res, 0, sizeof *res);
    for (int i = 0; i < BENCH_NODES_MAX; i++)
        pid[i] = -1;
    if (!nd || !ms || !home || !logs || !(out = malloc(1 << 16))) {
        rc = AM_ENOMEM;
        goto out;
    }
    if (!find_aidmesh(bin, sizeof bin)) {
        fprintf(stderr, "aidmesh-bench: no aidmesh binary beside this one: propagation skipped\n");
        goto out;
    }
    res->ran = 1;
    snprintf(dir, sizeof dir, "%s/net", tmp);
    if (mkdir(dir, 0700) != 0 || free_ports(port, k) != AM_OK) {
        fprintf(stderr, "aidmesh-bench: setting up %s: %s\n", dir, strerror(errno));
        rc = AM_ESYS;
        goto out;
    }
    fprintf(stderr, "aidmesh-bench: propagation: setting up %d nodes in %s\n", k, dir);
    for (int i = 0; i < k; i++) {
        char name[16];
        snprintf(home[i], sizeof home[i], "%s/n%d", dir, i);
        snprintf(logs[i], sizeof logs[i], "%s/n%d.logs", dir, i);
        snprintf(name, sizeof name, "n%d", i);
        {
            char *init0[] = {bin, "--home", home[i], "init", "--name", name, NULL};
            char *initj[] = {bin, "--home", home[i], "init", "--name", name, "--join", code, NULL};
            if (run_cmd(i ? initj : init0, NULL, 0, logs[i]) != 0) {
                fprintf(stderr, "aidmesh-bench: aidmesh init of %s failed\n", home[i]);
                show_log(logs[i]);
                rc = AM_ESYS;
                goto out;
            }
        }
        if (i == 0) {
            char *inv[] = {bin, "--home", home[0], "invite", NULL};
            if (run_cmd(inv, code, sizeof code, logs[0]) != 0) {
                fprintf(stderr, "aidmesh-bench: aidmesh invite of %s failed\n", home[0]);
                show_log(logs[0]);
                rc = AM_ESYS;
                goto out;
            }
            code[strcspn(code, " \r\n")] = 0;
        }
    }
    for (int i = 0; i < k; i++) {
        char *argv[12];
        int a = 0;
        snprintf(listen_arg, sizeof listen_arg, "127.0.0.1:%u", port[i]);
        snprintf(peer0, sizeof peer0, "127.0.0.1:%u", port[0]);
        snprintf(peer1, sizeof peer1, "127.0.0.1:%u", port[i ? i - 1 : 0]);
        argv[a++] = bin;
        argv[a++] = "--home";
        argv[a++] = home[i];
        argv[a++] = "run";
        argv[a++] = "--listen";
        argv[a++] = listen_arg;
        argv[a++] = "--no-discovery";
        if (i >= 1) {
            argv[a++] = "--peer";
            argv[a++] = peer0;
            deg[i]++;
            deg[0]++;
        }
        if (i >= 2) {
            argv[a++] = "--peer";
            argv[a++] = peer1;
            deg[i]++;
            deg[i - 1]++;
        }
        argv[a] = NULL;
        if ((pid[i] = spawn(argv, -1, logs[i])) < 0) {
            fprintf(stderr, "aidmesh-bench: cannot start aidmesh run: %s\n", strerror(errno));
            rc = AM_ESYS;
            goto out;
        }
    }
    /* wait until every node reports all its connections in sync */
    t0 = now_s();
    for (;;) {
        int ready = 0;
        for (int i = 0; i < k; i++) {
            char *argv[] = {bin, "--home", home[i], "peers", "--json", NULL};
            int st;
            if (waitpid(pid[i], &st, WNOHANG) == pid[i]) {
                pid[i] = -1;
                fprintf(stderr, "aidmesh-bench: the daemon of node %d stopped\n", i);
                show_log(logs[i]);
                rc = AM_ESYS;
                goto out;
            }
            if (run_cmd(argv, out, 1 << 16, NULL) == 0 &&
                count_of(out, "\"state\":\"in sync\"") >= deg[i])
                ready++;
        }
        if (ready == k)
            break;
        if (now_s() - t0 > BENCH_CONNECT_S) {
            fprintf(stderr, "aidmesh-bench: after %.0f s only %d of %d nodes are connected\n",
                    BENCH_CONNECT_S, ready, k);
            show_log(logs[0]);
            rc = AM_ETIMEOUT;
            goto out;
        }
        sleep_ms(200);
    }
    res->connect_s = now_s() - t0;
    fprintf(stderr, "aidmesh-bench: %d daemons connected (%d links) in %.1f s; %d writes\n", k,
            2 * k - 3 > 0 ? 2 * k - 3 : 1, res->connect_s, samples);
    for (int i = 0; i < k; i++) {
        enum node_step step;
        if ((rc = node_open(&nd[i], home[i], NULL, &step)) != AM_OK) {
            fprintf(stderr, "aidmesh-bench: opening node %s (step %d): %s\n", home[i], (int)step,
                    am_strerror(rc));
            goto out;
        }
        opened[i] = 1;
    }
    for (int s = 0; s < samples; s++) {
        int r = (int)randombytes_uniform((uint32_t)k), reached[BENCH_NODES_MAX] = {0}, left = k;
        uint8_t op[BENCH_OP_LEN];
        const uint8_t *ops[1] = {op};
        size_t lens[1] = {make_op(op, (uint64_t)r, (uint64_t)s, (uint64_t)samples)};
        struct store_head h;
        double t;

        if ((rc = store_append(nd[r].store, nd[r].sk, ops, lens, 1, node_wall_ms(), &h)) != AM_OK) {
            fail("append at a running node", rc);
            goto out;
        }
        t = now_s();
        for (;;) {
            for (int j = 0; j < k; j++) {
                struct store_head hj;
                if (!reached[j] && store_head_get(nd[j].store, nd[r].pk, &hj) == AM_OK &&
                    hj.seq >= h.seq) {
                    reached[j] = 1;
                    left--;
                }
            }
            if (left == 0 || now_s() - t > BENCH_SAMPLE_S)
                break;
            sleep_ms(1);
        }
        if (left > 0) {
            fprintf(stderr, "aidmesh-bench: write %d at node %d: %d nodes lack it after %.0f s\n",
                    s, r, left, BENCH_SAMPLE_S);
            res->missed++;
        } else {
            ms[res->samples++] = (now_s() - t) * 1000.0;
        }
        sleep_ms(BENCH_SAMPLE_GAP_MS);
    }
    if (res->samples > 0) {
        int n = res->samples;
        qsort(ms, (size_t)n, sizeof ms[0], cmp_double);
        /* nearest rank */
        res->p50_ms = ms[(n + 1) / 2 - 1];
        res->p95_ms = ms[(int)((95 * (long)n + 99) / 100) - 1];
        res->max_ms = ms[n - 1];
    }
    if (res->missed > 0)
        failed = 1;
out:
    for (int i = 0; i < k; i++)
        if (opened[i])
            node_close(&nd[i]);
    for (int i = 0; i < k; i++)
        if (pid[i] > 0)
            kill(pid[i], SIGTERM);
    for (int i = 0; i < k; i++) {
        double t = now_s();
        int st;
        if (pid[i] <= 0)
            continue;
        while (waitpid(pid[i], &st, WNOHANG) == 0) {
            if (now_s() - t > BENCH_STOP_S) {
                fprintf(stderr, "aidmesh-bench: node %d ignored SIGTERM: killing it\n", i);
                kill(pid[i], SIGKILL);
                waitpid(pid[i], &st, 0);
                st = 0;
                break;
            }
            sleep_ms(10);
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            /* a sanitizer's report, or a crash on the way out */
            fprintf(stderr, "aidmesh-bench: the daemon of node %d did not stop cleanly\n", i);
            show_log(logs[i]);
        }
    }
    if (failed && rc == AM_OK)
        rc = AM_ETIMEOUT;
    free(nd);
    free(ms);
    free(out);
    free(home);
    free(logs);
    return rc;
}

/* ---- main ------------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: aidmesh-bench [--entries N] [--authors A] [--nodes K] [--samples S]\n"
            "                     [--quick] [--json] [--dir DIR] [--out FILE]\n"
            "  --entries N  entries to ingest, to sync and LMDB puts (default 1000000;\n"
            "               --quick 50000)\n"
            "  --authors A  authors of the ingested and synced entries (default 10)\n"
            "  --nodes K    aidmesh daemons of the propagation figure (default 10; --quick 5;\n"
            "               2 to 32)\n"
            "  --samples S  writes timed in the propagation figure (default 20; --quick 5)\n"
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
    int have_entries = 0, have_nodes = 0, have_samples = 0;

    memset(o, 0, sizeof *o);
    o->entries = 1000000;
    o->authors = 10;
    o->nodes = 10;
    o->samples = 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            o->quick = 1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return -1;
        } else if (strcmp(a, "--entries") && strcmp(a, "--authors") && strcmp(a, "--nodes") &&
                   strcmp(a, "--samples") && strcmp(a, "--dir") && strcmp(a, "--out")) {
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
        } else if (strcmp(a, "--nodes") == 0) {
            if (parse_count(v, a, &o->nodes) != 0)
                return -1;
            if (o->nodes < 2 || o->nodes > BENCH_NODES_MAX) {
                fprintf(stderr, "aidmesh-bench: --nodes wants 2 to %d, not %s\n", BENCH_NODES_MAX,
                        v);
                return -1;
            }
            have_nodes = 1;
            i++;
        } else if (strcmp(a, "--samples") == 0) {
            if (parse_count(v, a, &o->samples) != 0)
                return -1;
            if (o->samples > 100000) {
                fprintf(stderr, "aidmesh-bench: --samples wants at most 100000, not %s\n", v);
                return -1;
            }
            have_samples = 1;
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
    if (o->quick && !have_nodes)
        o->nodes = 5;
    if (o->quick && !have_samples)
        o->samples = 5;
    if (o->authors > o->entries) {
        fprintf(stderr,
                "aidmesh-bench: --authors %llu exceeds --entries %llu: give every "
                "author at least one entry\n",
                (unsigned long long)o->authors, (unsigned long long)o->entries);
        return -1;
    }
    return 0;
}

int stick_bench_run(int argc, char **argv);

int main(int argc, char **argv)
{
    struct opts o;
    struct source src = {0};
    struct ingest_result ing = {0};
    struct net_result net = {0};
    struct prop_result prop = {0};
    struct row rows[16];
    char tmp[PATH_MAX], path[4200], intro[1536], ingest_fig[128], c1[32], c2[32], c3[32];
    char sync_fig[160], p50_fig[128], p95_fig[128], prop_err[96] = "";
    const char *base;
    double secs, sign, verify, hash, lmdb_rate = 0, lmdb_bytes = 0, app1000 = 0, app1 = 0;
    double raw_per, stored_per, t_gen;
    uint64_t n_app1000, n_app1;
    struct statfs fs;
    FILE *outf = NULL;
    size_t nr = 0;
    int rc, status = 1, have_tmp = 0, prop_rc;

    /* `aidmesh-bench stick ...`: the stick export/import bench (tools/stick_bench.c) */
    if (argc > 1 && strcmp(argv[1], "stick") == 0)
        return stick_bench_run(argc - 1, argv + 1);
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
    if ((size_t)snprintf(path, sizeof path, "%s/aidmesh-bench.XXXXXX", base) >= sizeof tmp ||
        !mkdtemp(path)) {
        fprintf(stderr, "aidmesh-bench: cannot make a temporary directory under %s: %s\n", base,
                strerror(errno));
        return 1;
    }
    /* the daemons' homes must be absolute paths */
    if (!realpath(path, tmp)) {
        fprintf(stderr, "aidmesh-bench: cannot resolve %s: %s\n", path, strerror(errno));
        rm_tree(path);
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
    raw_per = (double)src.raw_bytes / (double)src.n;
    stored_per = (double)ing.map_used / (double)ing.entries;
    source_free(&src); /* the ingest store is the full sync's source */

    if ((rc = bench_net_sync(tmp, path, o.entries, o.authors, &net)) != AM_OK) {
        fail("sync over loopback TCP", rc);
        goto out;
    }
    rm_tree(path);

    prop_rc = bench_propagation(tmp, (int)o.nodes, (int)o.samples, &prop);
    if (prop_rc != AM_OK)
        snprintf(prop_err, sizeof prop_err, "failed: %s (see stderr)", am_strerror(prop_rc));
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
                              app1000 >= 0.8 * sign,
                              NULL};
    rows[nr++] = (struct row){"local append (sign+store), 1 per call (entries/s)",
                              app1,
                              U_RATE,
                              "ed25519 sign, 200 B",
                              sign,
                              U_RATE,
                              app1 / sign,
                              "sign",
                              "info: one commit (sync) per entry",
                              -1,
                              NULL};
    rows[nr++] = (struct row){
        ingest_fig,        ing.rate, U_RATE,        "ed25519 verify, 200 B", verify, U_RATE,
        ing.rate / verify, "verify", "≥ 250,000/s", ing.rate >= 250000,      NULL};
    rows[nr++] = (struct row){"ingest against hashing (entries/s)",
                              ing.rate,
                              U_RATE,
                              "BLAKE2b-256 of 200 B",
                              hash,
                              U_RATE,
                              ing.rate / hash,
                              "hash",
                              "info: every entry is hashed",
                              -1,
                              NULL};
    rows[nr++] = (struct row){"ingest against LMDB puts (entries/s)",
                              ing.rate,
                              U_RATE,
                              "LMDB put, 40 B key + 300 B value, 1000 per txn",
                              lmdb_rate,
                              U_RATE,
                              ing.rate / lmdb_rate,
                              "LMDB",
                              "info: every entry is put",
                              -1,
                              NULL};
    rows[nr++] = (struct row){"bytes stored per entry (map in use / entries)",
                              stored_per,
                              U_BYTES,
                              "LMDB alone, bytes per 340 B put",
                              lmdb_bytes,
                              U_BYTES,
                              (stored_per / raw_per) / (lmdb_bytes / 340.0),
                              "LMDB's overhead",
                              "info",
                              -1,
                              NULL};
    rows[nr++] = (struct row){"raw bytes per entry (op 200 B)",
                              raw_per,
                              U_BYTES,
                              NULL,
                              0,
                              U_BYTES,
                              0,
                              NULL,
                              "info",
                              -1,
                              NULL};

    out_count(c1, o.entries);
    snprintf(sync_fig, sizeof sync_fig,
             "full sync over loopback TCP, %s entries of %llu authors into an empty node "
             "(entries/s)",
             c1, (unsigned long long)o.authors);
    rows[nr++] = (struct row){sync_fig,
                              net.sync_rate,
                              U_RATE,
                              "raw loopback TCP, same bytes, same sockets",
                              net.tcp_mbps,
                              U_MBPS,
                              (double)net.sync_wire / net.sync_secs / 1e6 / net.tcp_mbps,
                              "TCP (bytes/s)",
                              "≥ 200,000/s",
                              net.sync_rate >= 200000,
                              NULL};
    rows[nr++] = (struct row){"full sync against ingest (entries/s)",
                              net.sync_rate,
                              U_RATE,
                              "ingest, measured above",
                              ing.rate,
                              U_RATE,
                              net.sync_rate / ing.rate,
                              "ingest",
                              "info: the receiver ingests every entry",
                              -1,
                              NULL};
    rows[nr++] = (struct row){"full sync, wire bytes per entry (both ways / entries)",
                              net.wire_per,
                              U_BYTES,
                              "raw (stored) entry",
                              raw_per,
                              U_BYTES,
                              net.wire_per / raw_per,
                              "raw entry",
                              "≤ 1.10× raw entry",
                              net.wire_per <= 1.10 * raw_per,
                              NULL};
    rows[nr++] = (struct row){"reconnect of two in-sync nodes, bytes both ways",
                              (double)net.reconnect_bytes,
                              U_BYTES,
                              NULL,
                              0,
                              U_BYTES,
                              0,
                              NULL,
                              "≤ 300 B",
                              net.reconnect_bytes <= 300,
                              NULL};
    rows[nr++] = (struct row){"reconnect after 1 of 1,000 authors appended 1 entry: handshake + "
                              "reconciliation bytes both ways",
                              (double)net.one_change_summary,
                              U_BYTES,
                              NULL,
                              0,
                              U_BYTES,
                              0,
                              NULL,
                              "≤ 2,048 B",
                              net.one_change_summary <= 2048,
                              NULL};
    snprintf(p50_fig, sizeof p50_fig,
             "new entry reaches all %llu running nodes (loopback), p50 of %llu writes",
             (unsigned long long)o.nodes, (unsigned long long)o.samples);
    snprintf(p95_fig, sizeof p95_fig,
             "new entry reaches all %llu running nodes (loopback), p95 of %llu writes",
             (unsigned long long)o.nodes, (unsigned long long)o.samples);
    {
        const char *text = !prop.ran     ? "skipped (aidmesh binary not found)"
                           : prop_err[0] ? prop_err
                                         : NULL;
        rows[nr++] =
            (struct row){p50_fig, prop.p50_ms, U_MS, NULL,       0,
                         U_MS,    0,           NULL, "≤ 100 ms", prop.p50_ms <= 100 ? 1 : 0,
                         text};
        rows[nr++] =
            (struct row){p95_fig, prop.p95_ms, U_MS, NULL, 0, U_MS, 0, NULL, "info", -1, text};
        if (text)
            rows[nr - 2].met = rows[nr - 1].met = -1;
    }

    {
        const char *fsnote = "";
        int maj, min, pat;
        mdb_version(&maj, &min, &pat);
        if (statfs(tmp, &fs) == 0 && fs.f_type == BENCH_TMPFS_MAGIC)
            fsnote = " (tmpfs: commits sync nothing)";
        char prop_note[96] = "";
        out_count(c1, o.entries);
        out_count(c2, n_app1000);
        out_count(c3, net.sync_wire);
        if (prop.ran && !prop_err[0])
            snprintf(prop_note, sizeof prop_note, "; max %.1f ms; daemons connected in %.1f s",
                     prop.max_ms, prop.connect_s);
        snprintf(
            intro, sizeof intro,
            "aidmesh-bench%s: ingest %s entries from %llu authors; append %s entries; "
            "ceilings: one thread, median of 3 rounds, %.1f s each; libsodium %s, LMDB %d.%d.%d; "
            "stores under %s%s; source built in %.1f s. Full sync: two stores, one session per "
            "thread on one TCP connection over 127.0.0.1, synced in %.1f s, %s wire bytes. "
            "Propagation: %llu `aidmesh run` daemons on 127.0.0.1, node i dialing node 0 and "
            "node i-1 (a hub plus a chain: at most two hops), each write appended at a random "
            "node by this process; time from the append's return until every store holds it "
            "(nearest-rank percentiles%s).\n",
            o.quick ? " --quick" : "", c1, (unsigned long long)o.authors, c2, secs,
            sodium_version_string(), maj, min, pat, base, fsnote, t_gen, net.sync_secs, c3,
            (unsigned long long)o.nodes, prop_note);
    }
    if (o.json)
        print_json(stdout, rows, nr);
    else
        print_markdown(stdout, rows, nr, intro);
    if (outf)
        print_markdown(outf, rows, nr, intro);
    status = prop_err[0] ? 1 : 0;
    if (!o.json) {
        /* the relief views: their own table, on stdout and in the file */
        fflush(stdout);
        if (relief_bench_run(stdout, tmp, o.quick) != AM_OK)
            status = 1;
    }
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
