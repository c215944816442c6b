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
 *   startup (a node holding the N ingest entries: the ingest store moved into a fresh
 *     home): 5 times, `aidmesh run --listen 127.0.0.1:PORT --no-discovery` is spawned
 *     (posix_spawn) and timed until a TCP connection to its port succeeds, then until a
 *     sync session of this process, holding the same entries (the full sync's receiver),
 *     reports SYNC_IN_SYNC: handshake and summaries, i.e. serving. Median; target <= 100
 *     ms. Floor: spawn to exit of `aidmesh --version`, median of 5. Page cache warm.
 *   memory: an empty node of the same network is started (its idle memory is the
 *     reference), then the big node dialing it; /proc/PID/status of both is sampled every
 *     10 ms until the empty node reports its link in sync. Target: RssAnon + RssShmem
 *     (what the process owns) <= 64 MiB; VmHWM and RssFile (the LMDB map's pages:
 *     reclaimable page cache) for information. The receiver's store is then checked to
 *     hold all N entries.
 *   memory receiving relief entries: the same with N entries of the site-local relief
 *     workload (relief_bench_store: needs and stock ops the views apply, 10 authors) in the
 *     big node's store, twice, the receiver a fresh node each time: with the daemon's
 *     default view cache (DAEMON_VIEW_CACHE_DEFAULT), then with `--view-cache 128`, the store's own
 * default
 *     (--quick: 4, so that cache overflows). Rows:
 *     the receiver's peak RssAnon + RssShmem (target <= 64 MiB) and the sync's entries/s
 *     (spawning the sender until the receiver reports in sync): the speed that memory
 *     buys. With both daemons stopped, the receiver must hold all N entries and
 *     store_view_stats of both stores must give the same view fingerprint and object
 *     count, else the run's rows say failed.
 *   then the relief views (relief_bench.c) and the stick (stick_bench.c) add their rows.
 *
 * Sizes: N = --entries (default 1,000,000), A = --authors (default 10); append writes
 * min(N, 200,000) entries 1000 per call and min(N, 2,000) one per call; K = --nodes
 * (default 10), S = --samples (default 20). --quick: N = 50,000, appends of 10,000 and
 * 100, ceilings of 0.3 s, K = 5, S = 5. Figures move by tens of percent between runs on a
 * shared VM; the ratios move less, so compare ratios across machines.
 *
 * Output: one report (bench_report.h) of every part: Markdown on stdout (or a JSON array
 * of the rows with --json) and in --out FILE; progress on stderr. --skip leaves parts out.
 * Exit status 1 if a part failed to run (missed targets do not change it). Temporary
 * stores and node homes live in a fresh mkdtemp directory under --dir, $TMPDIR or /tmp,
 * removed at the end; the daemons get SIGTERM (SIGKILL after 5 s) and are waited for.
 * Build it in Release for meaningful numbers.
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
#include <spawn.h>
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
#include "bench_report.h"
#include "bench_util.h"
#include "cli.h"
#include "daemon.h"
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
    int quick, json, no_fat;
    unsigned skip; /* bit i: part_names[i] left out */
    const char *dir, *out, *tmpfs, *fat;
};

double bench_now_s(void)
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
    t0 = bench_now_s();
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
        t = bench_now_s();
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
    t0 = bench_now_s();
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
    *rate = (double)n / (bench_now_s() - t0);
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
    return (uint64_t)(bench_now_s() * 1000.0);
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
    double deadline;     /* bench_now_s() */
    const uint8_t *netkey;
};

/* One side of a sync: a session on one socket, run by one thread. */
struct side {
    struct link *l;
    struct bench_peer *p;
    int fd, initiator;
    unsigned bit;
    int rc;            /* AM_OK, or what ended the session */
    double t_in_sync;  /* bench_now_s() when this session first reported SYNC_IN_SYNC */
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
            sd->t_in_sync = bench_now_s();
            atomic_fetch_or(&l->in_sync, sd->bit);
        }
        if (atomic_load(&l->in_sync) == 3u && n == 0)
            break;
        if (atomic_load(&l->stop)) {
            rc = AM_EPEER;
            break;
        }
        if (bench_now_s() > l->deadline) {
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
    t0 = bench_now_s();
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
    t0 = bench_now_s();
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
    *mbps = (double)bytes / (bench_now_s() - t0) / 1e6;
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
    open_a = 0; /* sync-empty now holds every entry: the startup figure's in-sync peer */

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
int bench_find_aidmesh(char *out, size_t cap)
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
int bench_run_cmd(char *const argv[], char *out, size_t cap, const char *log)
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

void bench_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* `k` free TCP ports on 127.0.0.1 (held together while chosen, so they differ). */
int bench_free_ports(uint16_t *ports, int k)
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
void bench_show_log(const char *path)
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
    if (!bench_find_aidmesh(bin, sizeof bin)) {
        fprintf(stderr, "aidmesh-bench: no aidmesh binary beside this one: propagation skipped\n");
        goto out;
    }
    res->ran = 1;
    snprintf(dir, sizeof dir, "%s/net", tmp);
    if (mkdir(dir, 0700) != 0 || bench_free_ports(port, k) != AM_OK) {
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
            if (bench_run_cmd(i ? initj : init0, NULL, 0, logs[i]) != 0) {
                fprintf(stderr, "aidmesh-bench: aidmesh init of %s failed\n", home[i]);
                bench_show_log(logs[i]);
                rc = AM_ESYS;
                goto out;
            }
        }
        if (i == 0) {
            char *inv[] = {bin, "--home", home[0], "invite", NULL};
            if (bench_run_cmd(inv, code, sizeof code, logs[0]) != 0) {
                fprintf(stderr, "aidmesh-bench: aidmesh invite of %s failed\n", home[0]);
                bench_show_log(logs[0]);
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
    t0 = bench_now_s();
    for (;;) {
        int ready = 0;
        for (int i = 0; i < k; i++) {
            char *argv[] = {bin, "--home", home[i], "peers", "--json", NULL};
            int st;
            if (waitpid(pid[i], &st, WNOHANG) == pid[i]) {
                pid[i] = -1;
                fprintf(stderr, "aidmesh-bench: the daemon of node %d stopped\n", i);
                bench_show_log(logs[i]);
                rc = AM_ESYS;
                goto out;
            }
            if (bench_run_cmd(argv, out, 1 << 16, NULL) == 0 &&
                count_of(out, "\"state\":\"in sync\"") >= deg[i])
                ready++;
        }
        if (ready == k)
            break;
        if (bench_now_s() - t0 > BENCH_CONNECT_S) {
            fprintf(stderr, "aidmesh-bench: after %.0f s only %d of %d nodes are connected\n",
                    BENCH_CONNECT_S, ready, k);
            bench_show_log(logs[0]);
            rc = AM_ETIMEOUT;
            goto out;
        }
        bench_sleep_ms(200);
    }
    res->connect_s = bench_now_s() - t0;
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
        t = bench_now_s();
        for (;;) {
            for (int j = 0; j < k; j++) {
                struct store_head hj;
                if (!reached[j] && store_head_get(nd[j].store, nd[r].pk, &hj) == AM_OK &&
                    hj.seq >= h.seq) {
                    reached[j] = 1;
                    left--;
                }
            }
            if (left == 0 || bench_now_s() - t > BENCH_SAMPLE_S)
                break;
            bench_sleep_ms(1);
        }
        if (left > 0) {
            fprintf(stderr, "aidmesh-bench: write %d at node %d: %d nodes lack it after %.0f s\n",
                    s, r, left, BENCH_SAMPLE_S);
            res->missed++;
        } else {
            ms[res->samples++] = (bench_now_s() - t) * 1000.0;
        }
        bench_sleep_ms(BENCH_SAMPLE_GAP_MS);
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
        double t = bench_now_s();
        int st;
        if (pid[i] <= 0)
            continue;
        while (waitpid(pid[i], &st, WNOHANG) == 0) {
            if (bench_now_s() - t > BENCH_STOP_S) {
                fprintf(stderr, "aidmesh-bench: node %d ignored SIGTERM: killing it\n", i);
                kill(pid[i], SIGKILL);
                waitpid(pid[i], &st, 0);
                st = 0;
                break;
            }
            bench_sleep_ms(10);
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            /* a sanitizer's report, or a crash on the way out */
            fprintf(stderr, "aidmesh-bench: the daemon of node %d did not stop cleanly\n", i);
            bench_show_log(logs[i]);
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

/* ---- startup and memory of a daemon with a big store ----------------------------------------- */

#define BENCH_STARTS        5     /* starts timed; the median is the figure */
#define BENCH_START_S       60.0  /* a start that does not serve by then has failed */
#define BENCH_MEM_SAMPLE_MS 10    /* /proc/PID/status read this often during the sync */
#define BENCH_MEM_TARGET    64.0  /* MiB of RssAnon + RssShmem per daemon */
#define BENCH_START_TARGET  100.0 /* ms from spawn to serving */

/* Starts argv with posix_spawn (vfork-like: its cost does not grow with this process's
 * memory), stdin from /dev/null, stdout and stderr appended to `log` (or /dev/null).
 * Returns the pid or -1. */
pid_t bench_spawn_fast(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    int rc;

    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(&fa, 1, log ? log : "/dev/null",
                                              O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (rc == 0)
        rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

/* SIGTERM, then SIGKILL after BENCH_STOP_S; waits for it. Returns 0 if it exited with
 * status 0, else -1 (and shows the end of its log: a sanitizer's report, a crash). */
int bench_stop_pid(pid_t pid, const char *what, const char *log)
{
    double t = bench_now_s();
    int st = 0;

    if (pid <= 0)
        return 0;
    kill(pid, SIGTERM);
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (bench_now_s() - t > BENCH_STOP_S) {
            fprintf(stderr, "aidmesh-bench: %s ignored SIGTERM: killing it\n", what);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        bench_sleep_ms(2);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    fprintf(stderr, "aidmesh-bench: %s did not stop cleanly\n", what);
    if (log)
        bench_show_log(log);
    return -1;
}

/* A blocking TCP connection to 127.0.0.1:port, or -1 (refused: nobody listens yet). */
static int connect_local(uint16_t port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int bench_proc_mem_read(pid_t pid, struct proc_mem *m)
{
    char path[64], line[256];
    FILE *f;
    int got = 0;

    memset(m, 0, sizeof *m);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f)) {
        static const char *const key[] = {"VmHWM:", "VmRSS:", "RssAnon:", "RssFile:", "RssShmem:"};
        double *dst[] = {&m->hwm, &m->rss, &m->anon, &m->file, &m->shmem};
        for (int i = 0; i < 5; i++) {
            size_t kl = strlen(key[i]);
            if (strncmp(line, key[i], kl) == 0) {
                *dst[i] = strtod(line + kl, NULL) / 1024.0; /* kB */
                got++;
            }
        }
    }
    fclose(f);
    return got == 5 ? 0 : -1;
}

double bench_owned(const struct proc_mem *m)
{
    return m->anon + m->shmem;
}

/* `aidmesh init` of a home (joining `code` when non-empty). */
int bench_home_setup(const char *bin, const char *home, const char *name, const char *code,
                     const char *log)
{
    char *init0[] = {(char *)bin, "--home", (char *)home, "init", "--name", (char *)name, NULL};
    char *initj[] = {(char *)bin,  "--home", (char *)home, "init", "--name",
                     (char *)name, "--join", (char *)code, NULL};
    if (bench_run_cmd(code && *code ? initj : init0, NULL, 0, log) != 0) {
        fprintf(stderr, "aidmesh-bench: aidmesh init of %s failed\n", home);
        bench_show_log(log);
        return AM_ESYS;
    }
    return AM_OK;
}

/* One full sync between two daemons (mem_sync). */
struct mem_run {
    double sync_s;                     /* sender spawned -> receiver reports its link in sync */
    struct proc_mem idle;              /* receiver before it syncs: empty store */
    struct proc_mem end[2];            /* [0] sender, [1] receiver, when in sync */
    double peak_owned[2], peak_rss[2]; /* largest of the samples during the sync */
};

struct daemon_result {
    int ran;                       /* 0: skipped (no aidmesh binary) */
    double tcp_ms[BENCH_STARTS];   /* spawn -> TCP connect succeeds, sorted */
    double serve_ms[BENCH_STARTS]; /* spawn -> sync session in sync, sorted */
    double exec_ms[BENCH_STARTS];  /* spawn -> exit of `aidmesh --version`, sorted */
    double true_ms;                /* spawn -> exit of /bin/true, median */
    int mem_ran;                   /* the memory part ran to the end */
    struct mem_run mem;            /* daemon-to-daemon full sync into an empty node */
    uint64_t received;             /* entries in the receiver's store afterwards */
};

/* Median of BENCH_STARTS spawns of argv until exit, in ms (sorted into ms). */
static int exec_floor(char *const argv[], double ms[BENCH_STARTS])
{
    for (int i = 0; i < BENCH_STARTS; i++) {
        double t0 = bench_now_s();
        pid_t pid = bench_spawn_fast(argv, NULL);
        int st;
        if (pid < 0)
            return AM_ESYS;
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR)
                return AM_ESYS;
        ms[i] = (bench_now_s() - t0) * 1e3;
    }
    qsort(ms, BENCH_STARTS, sizeof ms[0], cmp_double);
    return AM_OK;
}

/* One start of the big node: spawn `aidmesh run`, connect as soon as it listens, and run
 * a sync session with the in-sync peer until both sides are in sync. */
static int start_once(char *const argv[], const char *log, uint16_t port, struct bench_peer *peer,
                      const uint8_t *netkey, double *tcp_ms, double *serve_ms)
{
    struct link l;
    struct side *sd = calloc(1, sizeof *sd);
    double t0;
    pid_t pid;
    int fd = -1, one = 1, st, rc = AM_OK;

    if (!sd)
        return AM_ENOMEM;
    t0 = bench_now_s();
    if ((pid = bench_spawn_fast(argv, log)) < 0) {
        fprintf(stderr, "aidmesh-bench: cannot start aidmesh run: %s\n", strerror(errno));
        free(sd);
        return AM_ESYS;
    }
    while ((fd = connect_local(port)) < 0) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "aidmesh-bench: the big node's daemon stopped during its start\n");
            bench_show_log(log);
            pid = -1;
            rc = AM_ESYS;
            goto out;
        }
        if (bench_now_s() - t0 > BENCH_START_S) {
            rc = AM_ETIMEOUT;
            goto out;
        }
        struct timespec ts = {0, 200000}; /* 0.2 ms */
        nanosleep(&ts, NULL);
    }
    *tcp_ms = (bench_now_s() - t0) * 1e3;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        rc = AM_ESYS;
        goto out;
    }
    atomic_init(&l.in_sync, 1u); /* the other side is the daemon: only this one reports */
    atomic_init(&l.stop, 0);
    l.netkey = netkey;
    l.deadline = t0 + BENCH_START_S;
    sd->l = &l;
    sd->p = peer;
    sd->fd = fd;
    sd->initiator = 1;
    sd->bit = 2u;
    side_run(sd);
    if ((rc = sd->rc) != AM_OK) {
        fprintf(stderr, "aidmesh-bench: sync session with the starting daemon: %s\n",
                am_strerror(rc));
        bench_show_log(log);
        goto out;
    }
    *serve_ms = (sd->t_in_sync - t0) * 1e3;
out:
    if (fd >= 0)
        close(fd);
    if (pid > 0 && bench_stop_pid(pid, "the big node's daemon", log) != 0 && rc == AM_OK)
        rc = AM_ESYS;
    free(sd);
    return rc;
}

/* How many connections `aidmesh peers --json` of `home` reports in sync, or -1. */
static int peers_in_sync(const char *bin, const char *home, char *buf, size_t cap)
{
    char *argv[] = {(char *)bin, "--home", (char *)home, "peers", "--json", NULL};
    if (bench_run_cmd(argv, buf, cap, NULL) != 0)
        return -1;
    return count_of(buf, "\"state\":\"in sync\"");
}

/* A fresh node home `home` (a new network, node name `name`) whose store is the store
 * directory `store`, moved in. `code` (cap bytes) gets an invite code of the network,
 * and netkey (nullable, AM_NETKEY_LEN bytes) its key. Returns AM_OK, AM_ESYS, or what
 * opening the node returned. */
static int home_with_store(const char *bin, const char *home, const char *name, const char *store,
                           const char *log, char *code, size_t cap, uint8_t *netkey)
{
    char *inv[] = {(char *)bin, "--home", (char *)home, "invite", NULL};
    char path[PATH_MAX + 64];
    struct node nd;
    int rc;

    if ((rc = bench_home_setup(bin, home, name, NULL, log)) != AM_OK)
        return rc;
    if (bench_run_cmd(inv, code, cap, log) != 0) {
        fprintf(stderr, "aidmesh-bench: aidmesh invite of %s failed\n", home);
        return AM_ESYS;
    }
    code[strcspn(code, " \r\n")] = 0;
    if ((size_t)snprintf(path, sizeof path, "%s/store", home) >= sizeof path)
        return AM_ESYS;
    rm_tree(path);
    if (rename(store, path) != 0) {
        fprintf(stderr, "aidmesh-bench: cannot move %s to %s: %s\n", store, path, strerror(errno));
        return AM_ESYS;
    }
    if (netkey) {
        if ((rc = node_open(&nd, home, NULL, NULL)) != AM_OK) {
            fprintf(stderr, "aidmesh-bench: opening the node %s: %s\n", home, am_strerror(rc));
            return rc;
        }
        memcpy(netkey, nd.netkey, AM_NETKEY_LEN);
        node_close(&nd);
    }
    return AM_OK;
}

/*
 * One memory run: the node home `recv` is set up, joining the network of invite `code`
 * (whose node `big` holds the entries), and its daemon started listening on port[1],
 * with `--view-cache cache_mib` when cache_mib is not NULL; once it listens, its idle
 * memory is read. Then the daemon of `big` is started, listening on port[0] and dialing
 * port[1], and /proc/PID/status of both is sampled every BENCH_MEM_SAMPLE_MS until `recv`
 * reports its link in sync, then read once more. Both daemons are stopped (and waited
 * for) before it returns. Returns AM_OK, AM_ESYS (a daemon did not start, stopped during
 * the sync, or did not stop cleanly), AM_ETIMEOUT, AM_ENOMEM.
 */
static int mem_sync(const char *bin, const char *big, const char *recv, const char *big_log,
                    const char *recv_log, const char *code, const uint16_t port[2],
                    const char *cache_mib, struct mem_run *res)
{
    char listen_big[32], listen_recv[32], peer_arg[32], *out = malloc(1 << 16);
    char *argv_recv[] = {(char *)bin, "--home",         (char *)recv, "run", "--listen",
                         listen_recv, "--no-discovery", NULL,         NULL,  NULL};
    char *argv_big[] = {(char *)bin, "--home",         (char *)big, "run",    "--listen",
                        listen_big,  "--no-discovery", "--peer",    peer_arg, NULL};
    pid_t pid_big = -1, pid_recv = -1;
    double t0, next_poll;
    int fd, rc = AM_OK;

    memset(res, 0, sizeof *res);
    if (!out)
        return AM_ENOMEM;
    snprintf(listen_big, sizeof listen_big, "127.0.0.1:%u", port[0]);
    snprintf(listen_recv, sizeof listen_recv, "127.0.0.1:%u", port[1]);
    snprintf(peer_arg, sizeof peer_arg, "127.0.0.1:%u", port[1]);
    if (cache_mib) {
        argv_recv[7] = "--view-cache";
        argv_recv[8] = (char *)cache_mib;
    }
    if ((rc = bench_home_setup(bin, recv, "recv", code, recv_log)) != AM_OK)
        goto out;
    if ((pid_recv = bench_spawn_fast(argv_recv, recv_log)) < 0) {
        rc = AM_ESYS;
        goto out;
    }
    t0 = bench_now_s();
    while ((fd = connect_local(port[1])) < 0) {
        if (bench_now_s() - t0 > BENCH_START_S) {
            fprintf(stderr, "aidmesh-bench: the empty node does not listen\n");
            bench_show_log(recv_log);
            rc = AM_ETIMEOUT;
            goto out;
        }
        bench_sleep_ms(5);
    }
    close(fd); /* it logs a connection closed during the handshake: harmless */
    bench_sleep_ms(300);
    if (bench_proc_mem_read(pid_recv, &res->idle) != 0) {
        fprintf(stderr, "aidmesh-bench: cannot read /proc/%d/status\n", (int)pid_recv);
        rc = AM_ESYS;
        goto out;
    }
    t0 = bench_now_s();
    if ((pid_big = bench_spawn_fast(argv_big, big_log)) < 0) {
        rc = AM_ESYS;
        goto out;
    }
    next_poll = t0 + 0.25;
    for (;;) {
        pid_t pids[2] = {pid_big, pid_recv};
        int st_;
        for (int i = 0; i < 2; i++) {
            struct proc_mem m;
            if (waitpid(pids[i], &st_, WNOHANG) == pids[i]) {
                fprintf(stderr, "aidmesh-bench: the %s daemon stopped during the sync\n",
                        i ? "receiving" : "sending");
                bench_show_log(i ? recv_log : big_log);
                if (i)
                    pid_recv = -1;
                else
                    pid_big = -1;
                rc = AM_ESYS;
                goto out;
            }
            if (bench_proc_mem_read(pids[i], &m) == 0) {
                if (bench_owned(&m) > res->peak_owned[i])
                    res->peak_owned[i] = bench_owned(&m);
                if (m.rss > res->peak_rss[i])
                    res->peak_rss[i] = m.rss;
            }
        }
        if (bench_now_s() >= next_poll) {
            if (peers_in_sync(bin, recv, out, 1 << 16) >= 1)
                break;
            next_poll = bench_now_s() + 0.25;
        }
        if (bench_now_s() - t0 > BENCH_SYNC_TIMEOUT_S) {
            fprintf(stderr, "aidmesh-bench: the daemons are not in sync after %.0f s\n",
                    BENCH_SYNC_TIMEOUT_S);
            bench_show_log(recv_log);
            rc = AM_ETIMEOUT;
            goto out;
        }
        bench_sleep_ms(BENCH_MEM_SAMPLE_MS);
    }
    res->sync_s = bench_now_s() - t0;
    if (bench_proc_mem_read(pid_big, &res->end[0]) != 0 ||
        bench_proc_mem_read(pid_recv, &res->end[1]) != 0) {
        rc = AM_ESYS;
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        if (bench_owned(&res->end[i]) > res->peak_owned[i])
            res->peak_owned[i] = bench_owned(&res->end[i]);
        if (res->end[i].rss > res->peak_rss[i])
            res->peak_rss[i] = res->end[i].rss;
    }
    fprintf(stderr, "aidmesh-bench: daemons in sync after %.1f s\n", res->sync_s);
out:
    /* both, even when the first does not stop cleanly */
    if (bench_stop_pid(pid_big, "the sending daemon", big_log) != 0 && rc == AM_OK)
        rc = AM_ESYS;
    if (bench_stop_pid(pid_recv, "the receiving daemon", recv_log) != 0 && rc == AM_OK)
        rc = AM_ESYS;
    free(out);
    return rc;
}

/*
 * Figures 5 and 6. The ingest store `big_store` (n entries) becomes the store of a fresh
 * node home ("big", a new network); `insync_store` holds the same entries.
 * Startup: BENCH_STARTS times, `aidmesh run` of the big node is spawned and timed until
 * a TCP connection to its port succeeds, then until a sync session of this process (the
 * in-sync peer's store, the network's key) reports SYNC_IN_SYNC with it: the handshake
 * and one round of summaries, i.e. serving. Floor: spawn to exit of `aidmesh --version`.
 * Memory: mem_sync of the big node into an empty one, whose store is then checked to
 * hold all n entries.
 */
static int bench_daemons(const char *tmp, const char *big_store, const char *insync_store,
                         uint64_t n, int do_startup, int do_memory, struct daemon_result *res)
{
    char bin[PATH_MAX], big[PATH_MAX + 32], recv[PATH_MAX + 32], path[PATH_MAX + 64];
    char big_log[PATH_MAX + 48], recv_log[PATH_MAX + 48], code[256] = "", listen_big[32];
    uint16_t port[2];
    struct bench_peer peer;
    uint8_t netkey[AM_NETKEY_LEN];
    int rc = AM_OK, peer_open_ = 0;

    memset(res, 0, sizeof *res);
    if (!bench_find_aidmesh(bin, sizeof bin)) {
        fprintf(stderr, "aidmesh-bench: no aidmesh binary beside this one: startup and memory "
                        "skipped\n");
        goto out;
    }
    res->ran = 1;
    snprintf(big, sizeof big, "%s/big", tmp);
    snprintf(recv, sizeof recv, "%s/recv", tmp);
    snprintf(big_log, sizeof big_log, "%s/big.logs", tmp);
    snprintf(recv_log, sizeof recv_log, "%s/recv.logs", tmp);
    /* the big node's store: the ingest store, moved in */
    if ((rc = home_with_store(bin, big, "big", big_store, big_log, code, sizeof code, netkey)) !=
        AM_OK)
        goto out;
    if ((rc = bench_free_ports(port, 2)) != AM_OK)
        goto out;
    snprintf(listen_big, sizeof listen_big, "127.0.0.1:%u", port[0]);

    if (do_startup) {
        char *ver[] = {bin, "--version", NULL}, *tru[] = {"/bin/true", NULL};
        char *argv[] = {bin, "--home", big, "run", "--listen", listen_big, "--no-discovery", NULL};
        double tm[BENCH_STARTS];

        fprintf(stderr, "aidmesh-bench: startup of a node with %llu entries, %d starts\n",
                (unsigned long long)n, BENCH_STARTS);
        if ((rc = exec_floor(ver, res->exec_ms)) != AM_OK)
            goto out;
        res->true_ms = exec_floor(tru, tm) == AM_OK ? tm[BENCH_STARTS / 2] : 0;
        if ((rc = peer_open(&peer, insync_store)) != AM_OK)
            goto out;
        peer_open_ = 1;
        for (int i = 0; i < BENCH_STARTS; i++) {
            if ((rc = start_once(argv, big_log, port[0], &peer, netkey, &res->tcp_ms[i],
                                 &res->serve_ms[i])) != AM_OK)
                goto out;
            fprintf(stderr,
                    "aidmesh-bench: start %d: listening after %.1f ms, serving after "
                    "%.1f ms\n",
                    i + 1, res->tcp_ms[i], res->serve_ms[i]);
        }
        qsort(res->tcp_ms, BENCH_STARTS, sizeof res->tcp_ms[0], cmp_double);
        qsort(res->serve_ms, BENCH_STARTS, sizeof res->serve_ms[0], cmp_double);
        peer_close(&peer);
        peer_open_ = 0;
    }

    if (do_memory) {
        struct store *s = NULL;
        struct store_stats st;

        fprintf(stderr,
                "aidmesh-bench: memory: the big node serves a full sync of %llu entries "
                "to an empty node\n",
                (unsigned long long)n);
        if ((rc = mem_sync(bin, big, recv, big_log, recv_log, code, port, NULL, &res->mem)) !=
            AM_OK)
            goto out;
        snprintf(path, sizeof path, "%s/store", recv);
        /* both daemons have stopped: nobody else has the store open */
        if ((rc = store_open(&s, path, NULL)) == AM_OK && (rc = store_stats(s, &st)) == AM_OK)
            res->received = st.entries;
        store_close(s);
        if (rc != AM_OK || res->received != n) {
            fprintf(stderr, "aidmesh-bench: the receiving node holds %llu entries of %llu (%s)\n",
                    (unsigned long long)res->received, (unsigned long long)n, am_strerror(rc));
            rc = rc != AM_OK ? rc : AM_ECORRUPT;
            goto out;
        }
        res->mem_ran = 1;
    }
out:
    if (peer_open_)
        peer_close(&peer);
    sodium_memzero(netkey, sizeof netkey);
    return rc;
}

/* ---- memory of a daemon receiving relief entries --------------------------------------------- */

/* MiB: the second run's `aidmesh run --view-cache`: the store's own default, larger than
 * the daemon's (DAEMON_VIEW_CACHE_DEFAULT), to show what more cache buys; --quick's
 * 50,000 entries fill ~9 MiB: 4 makes that run evict instead */
#define BENCH_RELIEF_CACHE       "128"
#define BENCH_RELIEF_CACHE_QUICK "4"
#define BENCH_RELIEF_RUNS        2 /* [0] the default view cache, [1] --view-cache */

struct relief_mem_result {
    int ran;                   /* 0: skipped (no aidmesh binary) */
    int rc[BENCH_RELIEF_RUNS]; /* AM_OK: the run ended with equal views */
    const char *cache_mib;     /* --view-cache of run [1] */
    struct mem_run run[BENCH_RELIEF_RUNS];
    struct store_stats sent;              /* the sending node's store */
    struct store_view_stats views;        /* its views (the receivers' must match) */
    uint64_t received[BENCH_RELIEF_RUNS]; /* entries in the receiver's store afterwards */
};

static void hex16(char out[static 2 * STORE_VIEW_FP_LEN + 1], const uint8_t *b)
{
    for (int i = 0; i < STORE_VIEW_FP_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* After a run, with both daemons stopped: the receiver `recv_store` must hold the sender's
 * n entries and views of the same fingerprint (store_view_stats of both). Returns AM_OK,
 * AM_ECORRUPT (they differ: said on stderr), or a store error. */
static int relief_check(const char *big_store, const char *recv_store, uint64_t n,
                        struct relief_mem_result *res, int i)
{
    const struct store_opts ro = {.read_only = 1};
    struct store *s = NULL;
    struct store_stats st;
    struct store_view_stats vs;
    char a[2 * STORE_VIEW_FP_LEN + 1], b[2 * STORE_VIEW_FP_LEN + 1];
    int rc;

    if ((rc = store_open(&s, big_store, &ro)) != AM_OK ||
        (rc = store_stats(s, &res->sent)) != AM_OK ||
        (rc = store_view_stats(s, &res->views)) != AM_OK)
        goto out;
    store_close(s);
    s = NULL;
    if ((rc = store_open(&s, recv_store, &ro)) != AM_OK || (rc = store_stats(s, &st)) != AM_OK ||
        (rc = store_view_stats(s, &vs)) != AM_OK)
        goto out;
    res->received[i] = st.entries;
    hex16(a, res->views.fingerprint);
    hex16(b, vs.fingerprint);
    fprintf(stderr,
            "aidmesh-bench: relief memory run %d: sender %llu entries, %llu objects, fingerprint "
            "%s; receiver %llu entries, %llu objects, fingerprint %s\n",
            i + 1, (unsigned long long)res->sent.entries, (unsigned long long)res->views.objects, a,
            (unsigned long long)st.entries, (unsigned long long)vs.objects, b);
    if (st.entries != n || res->sent.entries != n || vs.objects != res->views.objects ||
        memcmp(vs.fingerprint, res->views.fingerprint, STORE_VIEW_FP_LEN) != 0) {
        fprintf(stderr, "aidmesh-bench: relief memory run %d: the receiver's %s the sender's\n",
                i + 1, st.entries != n ? "entries differ from" : "views differ from");
        rc = AM_ECORRUPT;
    }
out:
    if (rc != AM_OK && rc != AM_ECORRUPT)
        fprintf(stderr, "aidmesh-bench: relief memory run %d: reading the stores: %s\n", i + 1,
                am_strerror(rc));
    store_close(s);
    return rc;
}

/*
 * Figures 7 and 8: the site-local relief workload (relief_bench_store, n entries) in the
 * store of a fresh node home ("rbig", a new network), served by its daemon to an empty
 * node (mem_sync) twice: the receiver with the default view cache, then with
 * `--view-cache cache_mib` (a static string: res keeps it), each time a fresh home. After
 * each run the stores' entries and view fingerprints are compared (relief_check). Returns
 * AM_OK, or the first error (each run's own in res->rc).
 */
static int bench_relief_daemons(const char *tmp, uint64_t n, const char *cache_mib,
                                struct relief_mem_result *res)
{
    const char *const cache[BENCH_RELIEF_RUNS] = {NULL, cache_mib};
    char bin[PATH_MAX], src[PATH_MAX + 32], big[PATH_MAX + 32], recv[PATH_MAX + 32];
    char big_store[PATH_MAX + 64], recv_store[PATH_MAX + 64];
    char big_log[PATH_MAX + 48], recv_log[PATH_MAX + 48], code[256] = "";
    uint16_t port[2];
    int rc = AM_OK;

    memset(res, 0, sizeof *res);
    res->cache_mib = cache_mib;
    for (int i = 0; i < BENCH_RELIEF_RUNS; i++)
        res->rc[i] = AM_ESTATE; /* not run */
    if (!bench_find_aidmesh(bin, sizeof bin)) {
        fprintf(stderr, "aidmesh-bench: no aidmesh binary beside this one: relief memory "
                        "skipped\n");
        return AM_OK;
    }
    res->ran = 1;
    snprintf(src, sizeof src, "%s/relief-src", tmp);
    snprintf(big, sizeof big, "%s/rbig", tmp);
    snprintf(big_store, sizeof big_store, "%s/store", big);
    snprintf(big_log, sizeof big_log, "%s/rbig.logs", tmp);
    if ((rc = relief_bench_store(src, n)) != AM_OK ||
        (rc = home_with_store(bin, big, "rbig", src, big_log, code, sizeof code, NULL)) != AM_OK) {
        rm_tree(src);
        for (int i = 0; i < BENCH_RELIEF_RUNS; i++)
            res->rc[i] = rc;
        return rc;
    }
    for (int i = 0; i < BENCH_RELIEF_RUNS; i++) {
        snprintf(recv, sizeof recv, "%s/rrecv%d", tmp, i + 1);
        snprintf(recv_store, sizeof recv_store, "%s/store", recv);
        snprintf(recv_log, sizeof recv_log, "%s/rrecv%d.logs", tmp, i + 1);
        fprintf(stderr,
                "aidmesh-bench: relief memory: full sync of %llu relief entries to an empty "
                "node, %s%s\n",
                (unsigned long long)n, cache[i] ? "--view-cache " : "default view cache",
                cache[i] ? cache[i] : "");
        if ((res->rc[i] = bench_free_ports(port, 2)) == AM_OK &&
            (res->rc[i] = mem_sync(bin, big, recv, big_log, recv_log, code, port, cache[i],
                                   &res->run[i])) == AM_OK)
            res->rc[i] = relief_check(big_store, recv_store, n, res, i);
        if (res->rc[i] != AM_OK && rc == AM_OK)
            rc = res->rc[i];
        rm_tree(recv); /* a store as big as the sender's: not kept for the next run */
        if (res->rc[i] != AM_OK && res->rc[i] != AM_ECORRUPT)
            break; /* a daemon failed: the next run would too */
    }
    rm_tree(big);
    return rc;
}

/* ---- main ------------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: aidmesh-bench [--entries N] [--authors A] [--nodes K] [--samples S]\n"
            "                     [--quick] [--json] [--dir DIR] [--out FILE] [--skip LIST]\n"
            "                     [--tmpfs DIR] [--fat DIR | --no-fat]\n"
            "       aidmesh-bench stick [options]   (the stick figures alone; --help)\n"
            "Runs every benchmark and prints one Markdown report (figure, aidmesh, ceiling,\n"
            "ratio, target, met?) on stdout; progress goes to stderr.\n"
            "  --entries N  entries to ingest, to sync, of the big node and of the stick\n"
            "               (default 1000000; --quick 50000)\n"
            "  --authors A  authors of those entries (default 10)\n"
            "  --nodes K    aidmesh daemons of the propagation figure (default 10; --quick 5;\n"
            "               2 to 32)\n"
            "  --samples S  writes timed in the propagation figure (default 20; --quick 5)\n"
            "  --quick      small sizes and short ceilings: a smoke run\n"
            "  --json       a JSON array of the rows on stdout instead of Markdown\n"
            "  --dir DIR    where the temporary stores go (default $TMPDIR or /tmp)\n"
            "  --out FILE   also write the Markdown report to FILE\n"
            "  --skip LIST  leave out parts, comma-separated: store, sync, propagation,\n"
            "               startup, memory, relief, stick, relief-memory, flood (startup and\n"
            "               memory need store and sync; relief-memory: a daemon receiving\n"
            "               N relief entries, default view cache and --view-cache 128 (--quick:\n"
            "               4); flood: a hub under a 5,000-connection flood)\n"
            "  --tmpfs DIR  the stick figures' tmpfs folder (default /dev/shm)\n"
            "  --fat DIR    a mounted FAT32 volume for the stick figures (default: make a\n"
            "               FAT32 image and mount it with fusefat); --no-fat: leave it out\n");
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

static const char *const part_names[] = {"store",  "sync",  "propagation",   "startup", "memory",
                                         "relief", "stick", "relief-memory", "flood"};

static int parse_skip(const char *v, unsigned *skip)
{
    char buf[256], *save = NULL;
    if (strlen(v) >= sizeof buf) {
        fprintf(stderr, "aidmesh-bench: --skip list too long\n");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", v);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < sizeof part_names / sizeof part_names[0]; i++)
            if (strcmp(t, part_names[i]) == 0)
                break;
        if (i == sizeof part_names / sizeof part_names[0]) {
            fprintf(stderr,
                    "aidmesh-bench: --skip: no part named '%s' (store, sync, propagation, "
                    "startup, memory, relief, stick, relief-memory, flood)\n",
                    t);
            return -1;
        }
        *skip |= 1u << i;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const char *const with_value[] = {"--entries", "--authors", "--nodes",
                                             "--samples", "--dir",     "--out",
                                             "--skip",    "--tmpfs",   "--fat"};
    int have_entries = 0, have_nodes = 0, have_samples = 0;

    memset(o, 0, sizeof *o);
    o->entries = 1000000;
    o->authors = 10;
    o->nodes = 10;
    o->samples = 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 0;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            takes |= strcmp(a, with_value[k]) == 0;
        if (strcmp(a, "--quick") == 0) {
            o->quick = 1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--no-fat") == 0) {
            o->no_fat = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return -1;
        } else if (!takes) {
            fprintf(stderr, "aidmesh-bench: unknown option: %s\n", a);
            usage();
            return -1;
        } else if (!v) {
            fprintf(stderr, "aidmesh-bench: %s wants a value\n", a);
            usage();
            return -1;
        } else {
            i++;
            if (strcmp(a, "--entries") == 0) {
                if (parse_count(v, a, &o->entries) != 0)
                    return -1;
                have_entries = 1;
            } else if (strcmp(a, "--authors") == 0) {
                if (parse_count(v, a, &o->authors) != 0)
                    return -1;
            } else if (strcmp(a, "--nodes") == 0) {
                if (parse_count(v, a, &o->nodes) != 0)
                    return -1;
                if (o->nodes < 2 || o->nodes > BENCH_NODES_MAX) {
                    fprintf(stderr, "aidmesh-bench: --nodes wants 2 to %d, not %s\n",
                            BENCH_NODES_MAX, v);
                    return -1;
                }
                have_nodes = 1;
            } else if (strcmp(a, "--samples") == 0) {
                if (parse_count(v, a, &o->samples) != 0)
                    return -1;
                if (o->samples > 100000) {
                    fprintf(stderr, "aidmesh-bench: --samples wants at most 100000, not %s\n", v);
                    return -1;
                }
                have_samples = 1;
            } else if (strcmp(a, "--dir") == 0) {
                o->dir = v;
            } else if (strcmp(a, "--out") == 0) {
                o->out = v;
            } else if (strcmp(a, "--skip") == 0) {
                if (parse_skip(v, &o->skip) != 0)
                    return -1;
            } else if (strcmp(a, "--tmpfs") == 0) {
                o->tmpfs = v;
            } else {
                o->fat = v;
            }
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

/* A row for a part that could not run to the end. */
static void failed_row(const char *figure, int rc)
{
    char why[128];
    snprintf(why, sizeof why, "failed: %s (see stderr)", am_strerror(rc));
    bench_row_target(bench_row_text(figure, why), "runs to the end", BENCH_MISSED);
}

static struct bench_row *row_vs(const char *figure, double v, enum bench_unit u, const char *cwhat,
                                double ceil, enum bench_unit cu, const char *rwhat)
{
    struct bench_row *r = bench_row_add(figure, v, u);
    if (cwhat)
        bench_row_ceiling(r, cwhat, ceil, cu, rwhat);
    return r;
}

/* The rows and notes of bench_relief_daemons (n relief entries). dmn: the memory rows'
 * run (entries whose ops the views ignore), a comparison when it ran. */
static void relief_mem_rows(const struct relief_mem_result *rm, uint64_t n,
                            const struct daemon_result *dmn)
{
    char fig[256], what[BENCH_RELIEF_RUNS][48], target[32], cn[32], c_needs[32], c_cells[32];
    char c_obj[32];
    double rate[BENCH_RELIEF_RUNS] = {0};
    struct bench_row *r;

    out_count(cn, n);
    snprintf(target, sizeof target, "≤ %.0f MiB", BENCH_MEM_TARGET);
    snprintf(what[0], sizeof what[0], "default view cache (%llu MiB)",
             (unsigned long long)(DAEMON_VIEW_CACHE_DEFAULT >> 20));
    snprintf(what[1], sizeof what[1], "`--view-cache %s`", rm->cache_mib);
    if (!rm->ran) {
        bench_row_text("daemon memory receiving relief entries",
                       "skipped (aidmesh binary not found)");
        return;
    }
    for (int i = 0; i < BENCH_RELIEF_RUNS; i++) {
        const struct mem_run *m = &rm->run[i];
        char sync_fig[256];

        snprintf(fig, sizeof fig,
                 "daemon memory, receiving side of a full sync of %s relief entries, %s: RssAnon "
                 "+ RssShmem, peak of samples every %d ms",
                 cn, what[i], BENCH_MEM_SAMPLE_MS);
        snprintf(sync_fig, sizeof sync_fig,
                 "full sync of %s relief entries between two daemons, receiver with %s "
                 "(entries/s)",
                 cn, what[i]);
        if (rm->rc[i] == AM_ECORRUPT) {
            /* the run ended, but the receiver does not hold what the sender holds */
            for (int k = 0; k < 2; k++)
                bench_row_target(
                    bench_row_text(k ? sync_fig : fig,
                                   "failed: the receiver's entries or view "
                                   "fingerprint differ from the sender's (see stderr)"),
                    "same views as the sender", BENCH_MISSED);
            continue;
        }
        if (rm->rc[i] != AM_OK) {
            failed_row(fig, rm->rc[i]);
            failed_row(sync_fig, rm->rc[i]);
            continue;
        }
        r = row_vs(fig, m->peak_owned[1], BENCH_MIB, "reference: idle daemon, empty store",
                   bench_owned(&m->idle), BENCH_MIB, "idle");
        if (i == 0)
            bench_row_target(r, target,
                             m->peak_owned[1] <= BENCH_MEM_TARGET ? BENCH_MET : BENCH_MISSED);
        else /* a larger cache than the daemon's default, to show what it buys */
            bench_row_target(r, "info: the default's target does not apply", BENCH_INFO);
        rate[i] = (double)n / m->sync_s;
        if (i == 0 && dmn->mem_ran && dmn->mem.sync_s > 0)
            r = row_vs(sync_fig, rate[i], BENCH_RATE,
                       "same between daemons, as many entries whose ops the views ignore (above)",
                       (double)n / dmn->mem.sync_s, BENCH_RATE, "views ignored");
        else if (i > 0 && rate[0] > 0)
            r = row_vs(sync_fig, rate[i], BENCH_RATE, "same, default view cache (row above)",
                       rate[0], BENCH_RATE, "default cache");
        else
            r = bench_row_add(sync_fig, rate[i], BENCH_RATE);
        bench_row_target(r, "info: speed for the memory above; views equal the sender's",
                         BENCH_INFO);
    }
    if (rm->rc[0] != AM_OK && rm->rc[1] != AM_OK)
        return;
    out_count(c_needs, rm->views.needs);
    out_count(c_cells, rm->views.cells);
    out_count(c_obj, rm->views.objects);
    bench_note("Relief memory: %s entries of the site-local relief workload (relief_bench.c: "
               "%llu authors; %llu sites, %s needs, %s stock cells: %s view objects), "
               "signed and ingested with views by this process into a fresh node's store, then "
               "served by its `aidmesh run` to an empty node as in the memory rows above, twice, "
               "to a fresh receiver each time. Sync time: from spawning the sender until "
               "`aidmesh peers` of the receiver says in sync (polled every 250 ms); then both "
               "daemons stop and store_view_stats of both stores must agree (view fingerprint, "
               "objects) and the receiver hold every entry: %s. Sending side peak owned: %.1f / "
               "%.1f MiB.",
               cn, (unsigned long long)rm->sent.authors, (unsigned long long)rm->views.sites,
               c_needs, c_cells, c_obj,
               rm->rc[0] == AM_OK && rm->rc[1] == AM_OK ? "both runs did"
               : rm->rc[0] == AM_OK                     ? "only the default-cache run did"
                                                        : "only the --view-cache run did",
               rm->run[0].peak_owned[0], rm->run[1].peak_owned[0]);
    if (rm->rc[0] == AM_OK && rm->rc[1] == AM_OK)
        bench_note(
            "Relief memory, the trade-off: the receiver applies every op to the views "
            "as it ingests, and what grows is its view cache, the recently updated needs "
            "and stock cells kept between write transactions, bounded by `aidmesh run "
            "--view-cache MIB` (estimated bytes; beyond it the least recently used go). "
            "A smaller bound holds less, and an object it dropped is rebuilt from its "
            "views value when touched again (0 keeps none: least memory). Here: %s peak %.1f MiB "
            "owned in %.1f s; %s peak %.1f MiB "
            "in %.1f s (%.2f× the default's rate); idle %.1f MiB; target %.0f MiB %s.",
            what[0], rm->run[0].peak_owned[1], rm->run[0].sync_s, what[1], rm->run[1].peak_owned[1],
            rm->run[1].sync_s, rate[1] / rate[0], bench_owned(&rm->run[0].idle), BENCH_MEM_TARGET,
            rm->run[0].peak_owned[1] <= BENCH_MEM_TARGET
                ? (rm->run[1].peak_owned[1] <= BENCH_MEM_TARGET ? "met by both"
                                                                : "met by the default only")
                : (rm->run[1].peak_owned[1] <= BENCH_MEM_TARGET ? "met only with the smaller cache"
                                                                : "met by neither"));
}

#define SKIP(o, part) ((o).skip & (1u << (part)))
enum { P_STORE, P_SYNC, P_PROP, P_STARTUP, P_MEMORY, P_RELIEF, P_STICK, P_RELIEF_MEM, P_FLOOD };

int main(int argc, char **argv)
{
    struct opts o;
    struct source src = {0};
    struct ingest_result ing = {0};
    struct net_result net = {0};
    struct prop_result prop = {0};
    struct daemon_result dmn = {0};
    struct relief_mem_result rmem = {0};
    char tmp[PATH_MAX], path[4200], ingest_dir[4200], insync_dir[4200], fig[256], extra[1024];
    char c1[32], c2[32], c3[32];
    const char *base;
    double secs, sign = 0, verify = 0, hash = 0, lmdb_rate = 0, lmdb_bytes = 0, app1000 = 0;
    double app1 = 0, raw_per = 0, stored_per = 0, t_gen = 0;
    uint64_t n_app1000, n_app1;
    struct statfs fs;
    FILE *outf = NULL;
    int rc, status = 0, have_tmp = 0, store_ok = 0, sync_ok = 0, maj, min, pat;
    struct bench_row *r;

    /* `aidmesh-bench stick ...`: the stick export/import bench alone (tools/stick_bench.c) */
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
    if (SKIP(o, P_STORE))
        o.skip |= 1u << P_SYNC;
    if (SKIP(o, P_SYNC))
        o.skip |= (1u << P_STARTUP) | (1u << P_MEMORY);

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
        status = 1;
        goto out;
    }
    snprintf(ingest_dir, sizeof ingest_dir, "%s/ingest", tmp);
    snprintf(insync_dir, sizeof insync_dir, "%s/sync-empty", tmp);
    out_count(c1, o.entries);

    /* ---- the store: ceilings, append, ingest ---- */
    if (!SKIP(o, P_STORE)) {
        bench_section("Store: local append, ingest, bytes per entry");
        fprintf(stderr, "aidmesh-bench: ceilings (%.1f s each)\n", secs);
        sign = crypto_ceiling(CK_SIGN, secs);
        verify = crypto_ceiling(CK_VERIFY, secs);
        hash = crypto_ceiling(CK_HASH, secs);
        fprintf(stderr, "aidmesh-bench: LMDB ceiling: %llu puts\n", (unsigned long long)o.entries);
        snprintf(path, sizeof path, "%s/lmdb", tmp);
        if ((rc = lmdb_ceiling(path, o.entries, &lmdb_rate, &lmdb_bytes)) != 0) {
            fprintf(stderr, "aidmesh-bench: LMDB ceiling in %s: %s\n", path, mdb_strerror(rc));
            lmdb_rate = lmdb_bytes = 0;
        }
        rm_tree(path);

        fprintf(stderr, "aidmesh-bench: local append: %llu entries, 1000 per call\n",
                (unsigned long long)n_app1000);
        snprintf(path, sizeof path, "%s/append1000", tmp);
        rc = bench_append(path, n_app1000, 1000, &app1000);
        rm_tree(path);
        if (rc != AM_OK) {
            fail("local append, 1000 per call", rc);
            failed_row("local append (sign+store), 1000 per call", rc);
        } else {
            r = row_vs("local append (sign+store), 1000 per call (entries/s)", app1000, BENCH_RATE,
                       "ed25519 sign, 200 B", sign, BENCH_RATE, "sign");
            bench_row_target(r, "≥ 0.80× sign", app1000 >= 0.8 * sign ? BENCH_MET : BENCH_MISSED);
        }
        fprintf(stderr, "aidmesh-bench: local append: %llu entries, 1 per call\n",
                (unsigned long long)n_app1);
        snprintf(path, sizeof path, "%s/append1", tmp);
        rc = bench_append(path, n_app1, 1, &app1);
        rm_tree(path);
        if (rc != AM_OK) {
            fail("local append, 1 per call", rc);
            failed_row("local append (sign+store), 1 per call", rc);
        } else {
            r = row_vs("local append (sign+store), 1 per call (entries/s)", app1, BENCH_RATE,
                       "ed25519 sign, 200 B", sign, BENCH_RATE, "sign");
            bench_row_target(r, "info: one commit (sync) per entry", BENCH_INFO);
        }

        fprintf(stderr, "aidmesh-bench: building the ingest source: %llu authors, %llu entries\n",
                (unsigned long long)o.authors, (unsigned long long)o.entries);
        t_gen = bench_now_s();
        rc = source_build(&src, o.entries, o.authors);
        t_gen = bench_now_s() - t_gen;
        if (rc == AM_OK) {
            fprintf(stderr, "aidmesh-bench: ingest: %llu entries, %d per call\n",
                    (unsigned long long)o.entries, AM_INGEST_BATCH_MAX);
            rc = bench_ingest(ingest_dir, &src, o.authors, &ing);
        }
        if (rc != AM_OK) {
            fail("ingest", rc);
            failed_row("ingest", rc);
            o.skip |= (1u << P_SYNC) | (1u << P_STARTUP) | (1u << P_MEMORY);
        } else {
            store_ok = 1;
            raw_per = (double)src.raw_bytes / (double)src.n;
            stored_per = (double)ing.map_used / (double)ing.entries;
            snprintf(fig, sizeof fig, "ingest, %d per call, %llu author%s interleaved (entries/s)",
                     AM_INGEST_BATCH_MAX, (unsigned long long)o.authors, o.authors == 1 ? "" : "s");
            r = row_vs(fig, ing.rate, BENCH_RATE, "ed25519 verify, 200 B", verify, BENCH_RATE,
                       "verify");
            bench_row_target(r, "≥ 250,000/s", ing.rate >= 250000 ? BENCH_MET : BENCH_MISSED);
            r = row_vs("ingest against hashing (entries/s)", ing.rate, BENCH_RATE,
                       "BLAKE2b-256 of 200 B", hash, BENCH_RATE, "hash");
            bench_row_target(r, "info: every entry is hashed", BENCH_INFO);
            r = row_vs("ingest against LMDB puts (entries/s)", ing.rate, BENCH_RATE,
                       "LMDB put, 40 B key + 300 B value, 1000 per txn", lmdb_rate, BENCH_RATE,
                       "LMDB");
            bench_row_target(r, "info: every entry is put", BENCH_INFO);
            r = row_vs("bytes stored per entry (map in use / entries)", stored_per, BENCH_BYTES,
                       "LMDB alone, bytes per 340 B put", lmdb_bytes, BENCH_BYTES, NULL);
            if (lmdb_bytes > 0)
                bench_row_ratio(r, (stored_per / raw_per) / (lmdb_bytes / 340.0),
                                "LMDB's overhead");
            bench_row_add("raw bytes per entry (op 200 B)", raw_per, BENCH_BYTES);
        }
        source_free(&src); /* the ingest store is the full sync's source */
    }

    /* ---- sync over loopback TCP ---- */
    if (!SKIP(o, P_SYNC)) {
        bench_section("Sync engine over loopback TCP (two sessions, one per thread)");
        rc = bench_net_sync(tmp, ingest_dir, o.entries, o.authors, &net);
        if (rc != AM_OK) {
            fail("sync over loopback TCP", rc);
            failed_row("full sync over loopback TCP", rc);
            o.skip |= (1u << P_STARTUP) | (1u << P_MEMORY);
        } else {
            sync_ok = 1;
            snprintf(fig, sizeof fig,
                     "full sync over loopback TCP, %s entries of %llu authors into an empty node "
                     "(entries/s)",
                     c1, (unsigned long long)o.authors);
            r = row_vs(fig, net.sync_rate, BENCH_RATE, "raw loopback TCP, same bytes, same sockets",
                       net.tcp_mbps, BENCH_MBPS, NULL);
            bench_row_ratio(r, (double)net.sync_wire / net.sync_secs / 1e6 / net.tcp_mbps,
                            "TCP (bytes/s)");
            bench_row_target(r, "≥ 200,000/s", net.sync_rate >= 200000 ? BENCH_MET : BENCH_MISSED);
            r = row_vs("full sync against ingest (entries/s)", net.sync_rate, BENCH_RATE,
                       "ingest, measured above", ing.rate, BENCH_RATE, "ingest");
            bench_row_target(r, "info: the receiver ingests every entry", BENCH_INFO);
            r = row_vs("full sync, wire bytes per entry (both ways / entries)", net.wire_per,
                       BENCH_BYTES, "raw (stored) entry", raw_per, BENCH_BYTES, "raw entry");
            bench_row_target(r, "≤ 1.10× raw entry",
                             net.wire_per <= 1.10 * raw_per ? BENCH_MET : BENCH_MISSED);
            r = bench_row_add("reconnect of two in-sync nodes, bytes both ways",
                              (double)net.reconnect_bytes, BENCH_BYTES);
            bench_row_target(r, "≤ 300 B", net.reconnect_bytes <= 300 ? BENCH_MET : BENCH_MISSED);
            r = bench_row_add("reconnect after 1 of 1,000 authors appended 1 entry: handshake + "
                              "reconciliation bytes both ways",
                              (double)net.one_change_summary, BENCH_BYTES);
            bench_row_target(r, "≤ 2,048 B",
                             net.one_change_summary <= 2048 ? BENCH_MET : BENCH_MISSED);
        }
    }

    /* ---- running daemons ---- */
    if (!SKIP(o, P_PROP) || !SKIP(o, P_STARTUP) || !SKIP(o, P_MEMORY) || !SKIP(o, P_RELIEF_MEM))
        bench_section("Running daemons (the real `aidmesh run` binary, 127.0.0.1)");
    if (!SKIP(o, P_PROP)) {
        int prop_rc = bench_propagation(tmp, (int)o.nodes, (int)o.samples, &prop);
        snprintf(fig, sizeof fig,
                 "new entry reaches all %llu running nodes (loopback), p50 of %llu writes",
                 (unsigned long long)o.nodes, (unsigned long long)o.samples);
        if (!prop.ran) {
            bench_row_text(fig, "skipped (aidmesh binary not found)");
        } else if (prop_rc != AM_OK) {
            failed_row(fig, prop_rc);
            status = 1;
        } else {
            r = bench_row_add(fig, prop.p50_ms, BENCH_MS);
            bench_row_target(r, "≤ 100 ms", prop.p50_ms <= 100 ? BENCH_MET : BENCH_MISSED);
            snprintf(fig, sizeof fig,
                     "new entry reaches all %llu running nodes (loopback), p95 of %llu writes",
                     (unsigned long long)o.nodes, (unsigned long long)o.samples);
            bench_row_add(fig, prop.p95_ms, BENCH_MS);
            bench_note("Propagation: %llu `aidmesh run` daemons on 127.0.0.1, node i dialing "
                       "node 0 and node i-1 (a hub plus a chain: at most two hops), each write "
                       "appended at a random node by this process; time from the append's "
                       "return until every store holds it (nearest-rank percentiles; max %.1f "
                       "ms; daemons connected in %.1f s).",
                       (unsigned long long)o.nodes, prop.max_ms, prop.connect_s);
        }
    }
    if ((!SKIP(o, P_STARTUP) || !SKIP(o, P_MEMORY)) && store_ok && sync_ok) {
        rc = bench_daemons(tmp, ingest_dir, insync_dir, o.entries, !SKIP(o, P_STARTUP),
                           !SKIP(o, P_MEMORY), &dmn);
        if (!dmn.ran) {
            bench_row_text("startup and memory of a daemon", "skipped (aidmesh binary not found)");
        } else {
            int mid = BENCH_STARTS / 2;
            if (!SKIP(o, P_STARTUP) && dmn.serve_ms[BENCH_STARTS - 1] > 0) {
                snprintf(fig, sizeof fig,
                         "startup of a node with %s entries: spawn → its TCP port accepts, "
                         "median of %d",
                         c1, BENCH_STARTS);
                row_vs(fig, dmn.tcp_ms[mid], BENCH_MS, "spawn → exit of `aidmesh --version`",
                       dmn.exec_ms[mid], BENCH_MS, "exec");
                snprintf(fig, sizeof fig,
                         "startup to serving, node with %s entries: spawn → a sync session "
                         "with an in-sync peer is in sync (handshake + summaries), median of %d",
                         c1, BENCH_STARTS);
                r = row_vs(fig, dmn.serve_ms[mid], BENCH_MS, "spawn → exit of `aidmesh --version`",
                           dmn.exec_ms[mid], BENCH_MS, "exec");
                bench_row_target(r, "≤ 100 ms",
                                 dmn.serve_ms[mid] <= BENCH_START_TARGET ? BENCH_MET
                                                                         : BENCH_MISSED);
                bench_note("Startup: %d starts of `aidmesh run --listen 127.0.0.1:PORT "
                           "--no-discovery` on a home whose store holds %s entries of %llu "
                           "authors (the ingest store above), page cache warm; serving times "
                           "%.1f / %.1f / %.1f / %.1f / %.1f ms, listening %.1f to %.1f ms. The "
                           "ceiling is the floor of starting any process: posix_spawn to exit "
                           "of `aidmesh --version` (dynamic linking, libsodium init), median of "
                           "%d; /bin/true takes %.2f ms.",
                           BENCH_STARTS, c1, (unsigned long long)o.authors, dmn.serve_ms[0],
                           dmn.serve_ms[1], dmn.serve_ms[2], dmn.serve_ms[3], dmn.serve_ms[4],
                           dmn.tcp_ms[0], dmn.tcp_ms[BENCH_STARTS - 1], BENCH_STARTS, dmn.true_ms);
            } else if (!SKIP(o, P_STARTUP)) {
                failed_row("startup to serving", rc);
            }
            if (!SKIP(o, P_MEMORY) && dmn.mem_ran) {
                static const char *const who[2] = {"sending", "receiving"};
                for (int i = 0; i < 2; i++) {
                    snprintf(fig, sizeof fig,
                             "daemon memory, %s side of a full sync of %s entries: RssAnon + "
                             "RssShmem (memory it owns), peak of samples every %d ms",
                             who[i], c1, BENCH_MEM_SAMPLE_MS);
                    r = row_vs(fig, dmn.mem.peak_owned[i], BENCH_MIB,
                               "reference: idle daemon, empty store", bench_owned(&dmn.mem.idle),
                               BENCH_MIB, "idle");
                    snprintf(c2, sizeof c2, "≤ %.0f MiB", BENCH_MEM_TARGET);
                    bench_row_target(r, c2,
                                     dmn.mem.peak_owned[i] <= BENCH_MEM_TARGET ? BENCH_MET
                                                                               : BENCH_MISSED);
                }
                for (int i = 0; i < 2; i++) {
                    snprintf(fig, sizeof fig,
                             "daemon memory, %s side: VmHWM (peak RSS, file-backed LMDB pages "
                             "included)",
                             who[i]);
                    row_vs(fig, dmn.mem.end[i].hwm, BENCH_MIB,
                           "reference: idle daemon, empty store", dmn.mem.idle.hwm, BENCH_MIB,
                           "idle");
                }
                for (int i = 0; i < 2; i++) {
                    snprintf(fig, sizeof fig,
                             "daemon memory, %s side: RssFile when in sync (LMDB map pages: "
                             "reclaimable page cache)",
                             who[i]);
                    bench_row_add(fig, dmn.mem.end[i].file, BENCH_MIB);
                }
                bench_note(
                    "Memory: read from /proc/PID/status. The LMDB store is a file-backed "
                    "shared mapping: the pages of data.mdb a daemon touches count in its RssFile "
                    "and VmHWM, but they are page cache that the kernel reclaims under pressure "
                    "(and shares between processes), so the %.0f MiB target is checked against "
                    "RssAnon + RssShmem (heap, stacks, libsodium's guarded pages: memory the "
                    "process itself owns), the largest of the samples taken every %d ms during "
                    "the sync. When in sync: sending side RssAnon %.1f MiB, RssShmem %.1f MiB, "
                    "VmRSS %.1f MiB; receiving side RssAnon %.1f MiB, RssShmem %.1f MiB, VmRSS "
                    "%.1f MiB; idle empty daemon RssAnon %.1f MiB. Full sync between the two "
                    "daemons took %.1f s. The entries' ops are of a type the relief views ignore, "
                    "so the view cache (`aidmesh run --view-cache`, default %llu MiB) stays "
                    "empty here; the relief memory rows measure it filling.",
                    BENCH_MEM_TARGET, BENCH_MEM_SAMPLE_MS, dmn.mem.end[0].anon,
                    dmn.mem.end[0].shmem, dmn.mem.end[0].rss, dmn.mem.end[1].anon,
                    dmn.mem.end[1].shmem, dmn.mem.end[1].rss, dmn.mem.idle.anon, dmn.mem.sync_s,
                    (unsigned long long)(DAEMON_VIEW_CACHE_DEFAULT >> 20));
            } else if (!SKIP(o, P_MEMORY)) {
                failed_row("daemon memory with a full sync", rc != AM_OK ? rc : AM_ESYS);
            }
        }
        if (rc != AM_OK)
            status = 1;
    }
    if (!SKIP(o, P_RELIEF_MEM)) {
        int rrc = bench_relief_daemons(
            tmp, o.entries, o.quick ? BENCH_RELIEF_CACHE_QUICK : BENCH_RELIEF_CACHE, &rmem);
        relief_mem_rows(&rmem, o.entries, &dmn);
        if (rrc != AM_OK)
            status = 1;
    }
    rm_tree(ingest_dir);
    rm_tree(insync_dir);

    if (store_ok) {
        mdb_version(&maj, &min, &pat);
        out_count(c2, n_app1000);
        out_count(c3, net.sync_wire);
        bench_note("Store and sync: ingest %s entries from %llu authors (source built in %.1f "
                   "s); append %s entries; ceilings: one thread, median of 3 rounds, %.1f s "
                   "each; LMDB %d.%d.%d; stores under %s%s. Full sync: two stores, one session "
                   "per thread on one TCP connection over 127.0.0.1, synced in %.1f s, %s wire "
                   "bytes.",
                   c1, (unsigned long long)o.authors, t_gen, c2, secs, maj, min, pat, base,
                   statfs(tmp, &fs) == 0 && fs.f_type == BENCH_TMPFS_MAGIC
                       ? " (tmpfs: commits sync nothing)"
                       : "",
                   net.sync_secs, c3);
    }

    /* ---- the relief views and the stick ---- */
    if (!SKIP(o, P_RELIEF) && relief_bench_rows(tmp, o.quick) != AM_OK)
        status = 1;
    if (!SKIP(o, P_STICK)) {
        struct stick_bench_cfg sc = {.entries = o.entries,
                                     .authors = o.authors,
                                     .quick = o.quick,
                                     .make_fat = !o.no_fat,
                                     .dir = tmp,
                                     .tmpfs = o.tmpfs,
                                     .fat = o.fat};
        if (stick_bench_rows(&sc) != 0)
            status = 1;
    }
    if (!SKIP(o, P_FLOOD) && flood_bench_rows(tmp) != AM_OK)
        status = 1;

    snprintf(extra, sizeof extra,
             "run: %s entries, %llu authors%s; temporary stores under %s; %zu target%s missed", c1,
             (unsigned long long)o.authors, o.quick ? " (--quick)" : "", base,
             bench_report_missed(), bench_report_missed() == 1 ? "" : "s");
    if (o.json)
        bench_report_json(stdout, 0);
    else
        bench_report_markdown(stdout, "aidmesh benchmark report", extra, 0);
    if (outf)
        bench_report_markdown(outf, "aidmesh benchmark report", extra, 0);
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
