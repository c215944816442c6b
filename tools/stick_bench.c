/*
 * stick_bench.c: the sneakernet benchmark (not a test): export and import of N entries
 * (default 1,000,000) to a stick folder on tmpfs and on a real FAT32 volume (fusefat),
 * each figure printed beside this machine's ceilings measured in the same run, so the
 * ratios mean something on a noisy or unfamiliar machine. Called by aidmesh-bench as
 * `aidmesh-bench stick [options]` through stick_bench_run().
 *
 * Ceilings (one thread each, the same run):
 *   secretstream: crypto_secretstream_xchacha20poly1305 push then pull of 64 KiB chunks
 *     (the stick's chunk size), MB/s of plaintext, median of 3 rounds of ~1/3 s; divided
 *     by the raw entry size it is the entries/s the stick's crypto alone allows;
 *   LMDB puts/s: N puts of (40-byte append-order key, value of the mean entry size), 1000
 *     per transaction, into a fresh environment (default flags: every commit syncs), as
 *     an import must put every entry;
 *   store ingest/s: the same N entries fed from memory to store_ingest of a fresh store,
 *     AM_INGEST_BATCH_MAX per call, author runs as a stick delivers them: what an import
 *     could reach if reading and decrypting the stick cost nothing;
 *   medium MB/s: 64 MiB written in 1 MiB writes and fsynced, then read back, in the
 *     stick folder itself (tmpfs, or the FAT32 volume through FUSE).
 * Project figures, per medium:
 *   export entries/s: stick_sync of a node holding the N entries onto an empty stick;
 *   import entries/s: stick_sync of a fresh node from that stick (scan, decrypt, decode,
 *     ingest: every entry verified by the store, one signature per author run);
 *   replay entries/s: the same import again (every entry a duplicate; nothing written);
 *   bytes on the stick per entry: all files of the stick folder / N, against the raw
 *     entry bytes (target <= 1.05x) and against the bytes LMDB uses per stored entry.
 *
 * Sizes: --entries N (default 1,000,000), --authors A (10); --quick: N = 50,000 and
 * ceilings of 0.3 s. Media: --tmpfs DIR (default /dev/shm, else $TMPDIR) and --fat DIR, a
 * mounted FAT32 volume; or --fat-image: make a FAT32 image (mkfs.vfat) in the work folder
 * and mount it with fusefat (needs FUSE), unmounted at the end. Without either FAT option
 * the FAT rows say "skipped". The source store and the import stores live in a fresh
 * folder under --dir, $TMPDIR or /tmp, removed at the end.
 * Output: rows of aidmesh-bench's one report (bench_report.h; stick_bench_rows), or, as
 * `aidmesh-bench stick`, that report alone on stdout (--json: a JSON array); progress on
 * stderr.
 *
 * This file includes lmdb.h only to measure the LMDB ceiling, never to touch a store (the
 * same exception as store_bench.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h> /* raw LMDB ceiling only (lmdb_ceiling), never a store: see the top */
#include <sodium.h>

#include "am_err.h"
#include "bench_report.h"
#include "entry.h"
#include "node.h"
#include "out.h"
#include "stick.h"
#include "stick_node.h"
#include "store.h"
#include "syncstore.h"

#define SB_OP_LEN 200 /* a typical relief op */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- ceilings ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* MB/s of plaintext through push then pull of 64 KiB chunks. */
static double secretstream_ceiling(double secs)
{
    enum { CH = 64 * 1024 };
    static uint8_t m[CH], c[CH + crypto_secretstream_xchacha20poly1305_ABYTES], back[CH];
    uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
    uint8_t hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    double r[3];
    randombytes_buf(m, sizeof m);
    crypto_secretstream_xchacha20poly1305_keygen(key);
    for (int k = 0; k < 3; k++) {
        crypto_secretstream_xchacha20poly1305_state ps, ls;
        uint64_t n = 0;
        double t0 = now_s(), t;
        crypto_secretstream_xchacha20poly1305_init_push(&ps, hdr, key);
        crypto_secretstream_xchacha20poly1305_init_pull(&ls, hdr, key);
        do {
            unsigned long long cl, ml;
            unsigned char tag;
            for (int i = 0; i < 16; i++, n++) {
                crypto_secretstream_xchacha20poly1305_push(&ps, c, &cl, m, CH, NULL, 0, 0);
                if (crypto_secretstream_xchacha20poly1305_pull(&ls, back, &ml, &tag, c, cl, NULL,
                                                               0) != 0)
                    abort(); /* our own stream: cannot fail */
            }
            t = now_s();
        } while (t - t0 < secs / 3);
        r[k] = (double)n * CH / (t - t0) / 1e6;
    }
    qsort(r, 3, sizeof r[0], cmp_double);
    return r[1];
}

static int lmdb_ceiling(const char *dir, uint64_t n, size_t val_len, double *rate)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi = 0;
    uint8_t key[40], *val = malloc(val_len);
    double t0;
    int rc;

    if (!val)
        return ENOMEM;
    if (mkdir(dir, 0700) != 0) {
        free(val);
        return errno;
    }
    if ((rc = mdb_env_create(&env)) != 0)
        goto out;
    if ((rc = mdb_env_set_mapsize(env, (size_t)(n * (val_len + 200) + (64u << 20)))) != 0 ||
        (rc = mdb_env_open(env, dir, 0, 0600)) != 0)
        goto out;
    randombytes_buf(key, sizeof key);
    randombytes_buf(val, val_len);
    t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        MDB_val k = {sizeof key, key}, v = {val_len, val};
        if (i % 1000 == 0) {
            if (txn && (rc = mdb_txn_commit(txn)) != 0) {
                txn = NULL;
                goto out;
            }
            txn = NULL;
            if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
                goto out;
            if (i == 0 && (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0)
                goto out;
        }
        for (int b = 39; b >= 32; b--) /* big-endian counter in the last 8 bytes */
            key[b] = (uint8_t)((i + 1) >> (8 * (39 - b)));
        if ((rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND)) != 0)
            goto out;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    *rate = (double)n / (now_s() - t0);
out:
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    free(val);
    return rc;
}

/* Sequential write (1 MiB writes, then fsync) and read of 64 MiB in `dir`. */
static int medium_ceiling(const char *dir, double *wmbs, double *rmbs)
{
    enum { MB = 1 << 20, TOTAL = 64 };
    char path[4400];
    uint8_t *buf = malloc(MB);
    double t0;
    int fd, rc = 0;
    if (!buf)
        return ENOMEM;
    randombytes_buf(buf, MB);
    snprintf(path, sizeof path, "%s/CEILING.BIN", dir);
    fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0) {
        free(buf);
        return errno;
    }
    t0 = now_s();
    for (int i = 0; i < TOTAL && rc == 0; i++)
        if (write(fd, buf, MB) != MB)
            rc = errno ? errno : EIO;
    if (rc == 0 && fsync(fd) != 0)
        rc = errno;
    *wmbs = TOTAL * (double)MB / 1e6 / (now_s() - t0);
    close(fd);
    fd = open(path, O_RDONLY);
    if (fd >= 0) {
        t0 = now_s();
        while (read(fd, buf, MB) > 0)
            ;
        *rmbs = TOTAL * (double)MB / 1e6 / (now_s() - t0);
        close(fd);
    }
    unlink(path);
    free(buf);
    return rc;
}

/* ---- the source node ------------------------------------------------------------------ */

static size_t make_op(uint8_t buf[SB_OP_LEN], uint64_t a, uint64_t i)
{
    /* {"b": a, "i": i, "pad": "..."}: 200 bytes, like a real relief op */
    size_t o = 0;
    buf[o++] = 0x83;
    buf[o++] = 0xa1;
    buf[o++] = 'b';
    buf[o++] = 0xcf;
    for (int k = 7; k >= 0; k--)
        buf[o++] = (uint8_t)(a >> (8 * k));
    buf[o++] = 0xa1;
    buf[o++] = 'i';
    buf[o++] = 0xcf;
    for (int k = 7; k >= 0; k--)
        buf[o++] = (uint8_t)(i >> (8 * k));
    buf[o++] = 0xa3;
    memcpy(buf + o, "pad", 3);
    o += 3;
    buf[o++] = 0xd9;
    buf[o] = (uint8_t)(SB_OP_LEN - o - 1);
    o++;
    randombytes_buf(buf + o, SB_OP_LEN - o);
    for (size_t k = o; k < SB_OP_LEN; k++)
        buf[k] = (uint8_t)('a' + buf[k] % 26);
    return SB_OP_LEN;
}

static int build_source(struct store *s, uint64_t n, uint64_t authors)
{
    enum { BATCH = 1000 };
    uint8_t *ops = malloc((size_t)BATCH * SB_OP_LEN);
    const uint8_t **p = malloc(BATCH * sizeof *p);
    size_t *l = malloc(BATCH * sizeof *l);
    int rc = AM_OK;
    if (!ops || !p || !l) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (uint64_t a = 0; a < authors && rc == AM_OK; a++) {
        uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
        uint64_t count = n / authors + (a < n % authors);
        crypto_sign_keypair(pk, sk);
        for (uint64_t done = 0; done < count && rc == AM_OK;) {
            size_t k = count - done < BATCH ? (size_t)(count - done) : BATCH;
            for (size_t i = 0; i < k; i++) {
                p[i] = ops + i * SB_OP_LEN;
                l[i] = make_op(ops + i * SB_OP_LEN, a, done + i);
            }
            rc = store_append(s, sk, p, l, k, node_wall_ms(), NULL);
            done += k;
        }
        sodium_memzero(sk, sizeof sk);
        fprintf(stderr, "stick-bench: source: author %llu of %llu written\n",
                (unsigned long long)(a + 1), (unsigned long long)authors);
    }
out:
    free(ops);
    free(p);
    free(l);
    return rc;
}

/* Every entry of the source, in store order (author runs), for the ingest ceiling. */
struct mem_src {
    uint8_t *buf;
    size_t used, cap;
    size_t *off, *len;
    uint64_t n, cap_n;
};

static int collect(void *ctx, const uint8_t *raw, size_t len)
{
    struct mem_src *m = ctx;
    if (m->used + len > m->cap || m->n == m->cap_n)
        return AM_ENOMEM;
    memcpy(m->buf + m->used, raw, len);
    m->off[m->n] = m->used;
    m->len[m->n++] = len;
    m->used += len;
    return 0;
}

static int ingest_ceiling(const char *dir, struct mem_src *m, double *rate)
{
    const uint8_t **p = malloc(AM_INGEST_BATCH_MAX * sizeof *p);
    struct store *s = NULL;
    struct store_ingest_stats st;
    double t0;
    int rc;
    if (!p)
        return AM_ENOMEM;
    if ((rc = store_open(&s, dir, NULL)) != AM_OK)
        goto out;
    t0 = now_s();
    for (uint64_t at = 0; at < m->n && rc == AM_OK;) {
        size_t k = m->n - at < AM_INGEST_BATCH_MAX ? (size_t)(m->n - at) : AM_INGEST_BATCH_MAX;
        for (size_t i = 0; i < k; i++)
            p[i] = m->buf + m->off[at + i];
        rc = store_ingest(s, p, m->len + at, k, node_wall_ms(), &st);
        if (rc == AM_OK && st.added != k)
            rc = AM_ECORRUPT;
        at += k;
    }
    *rate = (double)m->n / (now_s() - t0);
out:
    store_close(s);
    free(p);
    return rc;
}

/* ---- one medium -------------------------------------------------------------------------- */

struct ceilings {
    double ss_mbs, lmdb, ingest, raw_per, lmdb_per;
};

static uint64_t folder_bytes;

static int add_size(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F)
        folder_bytes += (uint64_t)sb->st_size;
    return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int stick_sync_node(struct store *s, const uint8_t *netkey, const char *root,
                           struct stick_report *r)
{
    struct stick_cfg cfg;
    struct sync_store ss;
    uint8_t install[AM_INSTALL_ID_LEN], author[AM_PK_LEN];
    memset(&cfg, 0, sizeof cfg);
    store_install_id(s, install, NULL);
    randombytes_buf(author, sizeof author);
    syncstore_init(&ss, s);
    cfg.fops = &stick_fops_posix;
    cfg.root = root;
    cfg.netkey = netkey;
    cfg.install_id = install;
    cfg.author = author;
    cfg.name = "bench";
    cfg.now_ms = node_wall_ms();
    cfg.flags = STICK_F_CREATE;
    return stick_sync(&cfg, &ss, r);
}

/* A row that could not be measured: says why, and counts as a missed target. */
static void failed_row(const char *figure, const char *why)
{
    bench_row_target(bench_row_text(figure, why), "runs to the end", BENCH_MISSED);
}

static void medium(const char *label, const char *root, const char *work, struct store *src,
                   const uint8_t *netkey, uint64_t n, const struct ceilings *c)
{
    struct stick_report r;
    struct store *dst = NULL;
    struct bench_row *b;
    char fig[160], sdir[4200], idir[4200];
    double t0, t, wmbs = 0, rmbs = 0;
    double ss_eps = c->ss_mbs * 1e6 / c->raw_per;
    int rc;

    snprintf(sdir, sizeof sdir, "%s/aidmesh-stick-bench", root);
    rm_tree(sdir);
    if (mkdir(sdir, 0755) != 0) {
        fprintf(stderr, "stick-bench: cannot create %s: %s\n", sdir, strerror(errno));
        snprintf(fig, sizeof fig, "%s: stick folder", label);
        failed_row(fig, "cannot create it (see stderr)");
        return;
    }
    if (medium_ceiling(sdir, &wmbs, &rmbs) == 0)
        bench_note("%s medium (%s): 64 MiB written in 1 MiB writes + fsync at %.1f MB/s, read "
                   "back at %.1f MB/s.",
                   label, root, wmbs, rmbs);
    fprintf(stderr, "stick-bench: %s: export of %llu entries\n", label, (unsigned long long)n);
    t0 = now_s();
    rc = stick_sync_node(src, netkey, sdir, &r);
    t = now_s() - t0;
    snprintf(fig, sizeof fig, "%s: export (entries/s)", label);
    if (rc != AM_OK || r.exported != n) {
        failed_row(fig, rc != AM_OK ? am_strerror(rc) : "incomplete (stick full?)");
        return;
    }
    bench_row_ceiling(bench_row_add(fig, n / t, BENCH_RATE), "secretstream (entries/s)", ss_eps,
                      BENCH_RATE, "secretstream");
    snprintf(fig, sizeof fig, "%s: export, bytes written per second", label);
    bench_row_ceiling(
        bench_row_add(fig, wmbs > 0 ? (double)r.written_bytes / 1e6 / t : 0, BENCH_MBPS),
        "medium write + fsync, 1 MiB writes", wmbs, BENCH_MBPS, "medium");
    folder_bytes = 0;
    nftw(sdir, add_size, 16, FTW_PHYS);
    snprintf(fig, sizeof fig, "%s: bytes on the stick per entry", label);
    b = bench_row_add(fig, (double)folder_bytes / (double)n, BENCH_BYTES);
    bench_row_ceiling(b, "raw entry bytes", c->raw_per, BENCH_BYTES, "raw");
    bench_row_target(b, "≤ 1.05× raw", b->ratio <= 1.05 ? BENCH_MET : BENCH_MISSED);
    snprintf(fig, sizeof fig, "%s: bytes on the stick per entry, against the store", label);
    bench_row_ceiling(bench_row_add(fig, (double)folder_bytes / (double)n, BENCH_BYTES),
                      "LMDB bytes in use per stored entry", c->lmdb_per, BENCH_BYTES, "LMDB");
    snprintf(idir, sizeof idir, "%s/import-%s", work, label);
    snprintf(fig, sizeof fig, "%s: import (scan, decrypt, verify, store; entries/s)", label);
    if (store_open(&dst, idir, NULL) != AM_OK) {
        failed_row(fig, "cannot open a store");
        return;
    }
    fprintf(stderr, "stick-bench: %s: import\n", label);
    t0 = now_s();
    rc = stick_sync_node(dst, netkey, sdir, &r);
    t = now_s() - t0;
    if (rc != AM_OK || r.added != n) {
        failed_row(fig, rc != AM_OK ? am_strerror(rc) : "incomplete");
    } else {
        bench_row_ceiling(bench_row_add(fig, n / t, BENCH_RATE), "store ingest from memory",
                          c->ingest, BENCH_RATE, "ingest");
        snprintf(fig, sizeof fig, "%s: import, against LMDB puts", label);
        bench_row_ceiling(bench_row_add(fig, n / t, BENCH_RATE),
                          "LMDB puts, 40 B key + mean entry, 1000 per txn", c->lmdb, BENCH_RATE,
                          "LMDB");
        snprintf(fig, sizeof fig, "%s: import, against decryption", label);
        bench_row_ceiling(bench_row_add(fig, n / t, BENCH_RATE), "secretstream (entries/s)", ss_eps,
                          BENCH_RATE, "secretstream");
        fprintf(stderr, "stick-bench: %s: replay\n", label);
        t0 = now_s();
        rc = stick_sync_node(dst, netkey, sdir, &r);
        t = now_s() - t0;
        snprintf(fig, sizeof fig, "%s: replay (all duplicates, nothing written; entries/s)", label);
        if (rc != AM_OK || r.duplicate != n)
            failed_row(fig, rc != AM_OK ? am_strerror(rc) : "unexpected counts");
        else
            bench_row_ceiling(bench_row_add(fig, n / t, BENCH_RATE), "store ingest from memory",
                              c->ingest, BENCH_RATE, "ingest");
    }
    store_close(dst);
    rm_tree(idir);
    rm_tree(sdir);
}

/* ---- main --------------------------------------------------------------------------------- */

int stick_bench_rows(const struct stick_bench_cfg *cfg)
{
    struct ceilings c;
    struct store *src = NULL;
    struct store_stats st;
    struct mem_src m = {0};
    uint8_t netkey[AM_NETKEY_LEN];
    char work[1024], path[1200], fat_mnt[1200] = "", cmd[8192], fig[96];
    const char *base, *tmpfs = cfg->tmpfs, *fat = cfg->fat;
    uint64_t entries = cfg->entries, authors = cfg->authors;
    struct stat sb;
    double secs;
    int rc = 1, mounted = 0;

    if (authors > entries)
        authors = entries;
    out_count(fig, entries);
    {
        char title[160];
        snprintf(title, sizeof title, "USB stick: export and import of %s entries", fig);
        bench_section(title);
    }
    secs = cfg->quick ? 0.3 : 1.0;
    base = cfg->dir ? cfg->dir : getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(work, sizeof work, "%s/aidmesh-stick-bench-XXXXXX", base);
    if (!mkdtemp(work)) {
        fprintf(stderr, "stick-bench: cannot make a folder in %s: %s\n", base, strerror(errno));
        failed_row("stick benchmark", "cannot make its work folder (see stderr)");
        return 1;
    }
    if (!tmpfs)
        tmpfs = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : work;
    randombytes_buf(netkey, sizeof netkey);
    memset(&c, 0, sizeof c);

    /* the source node: N entries of A authors */
    snprintf(path, sizeof path, "%s/source", work);
    if (store_open(&src, path, NULL) != AM_OK || build_source(src, entries, authors) != AM_OK ||
        store_stats(src, &st) != AM_OK) {
        fprintf(stderr, "stick-bench: cannot build the source store in %s\n", path);
        failed_row("stick benchmark", "cannot build the source store (see stderr)");
        goto out;
    }
    m.cap = (size_t)entries * (SB_OP_LEN + 200);
    m.cap_n = entries;
    m.buf = malloc(m.cap);
    m.off = malloc(entries * sizeof *m.off);
    m.len = malloc(entries * sizeof *m.len);
    if (!m.buf || !m.off || !m.len || store_entries_each(src, NULL, 1, collect, &m) != AM_OK ||
        m.n != entries) {
        fprintf(stderr, "stick-bench: out of memory\n");
        failed_row("stick benchmark", "out of memory");
        goto out;
    }
    c.raw_per = (double)m.used / (double)m.n;
    c.lmdb_per = (double)st.map_used / (double)st.entries;

    /* ceilings */
    fprintf(stderr, "stick-bench: ceilings\n");
    c.ss_mbs = secretstream_ceiling(secs);
    snprintf(path, sizeof path, "%s/lmdb-ceiling", work);
    if (lmdb_ceiling(path, entries, (size_t)(c.raw_per + 0.5), &c.lmdb) != 0)
        c.lmdb = 0;
    rm_tree(path);
    snprintf(path, sizeof path, "%s/ingest-ceiling", work);
    if (ingest_ceiling(path, &m, &c.ingest) != AM_OK)
        c.ingest = 0;
    rm_tree(path);
    free(m.buf);
    m.buf = NULL;
    {
        char l[32], g[32];
        out_count(l, (uint64_t)(c.lmdb + 0.5));
        out_count(g, (uint64_t)(c.ingest + 0.5));
        bench_note("Stick: %s entries of %llu authors (200-byte ops, %.1f raw bytes each; the "
                   "store uses %.1f bytes per entry), stick format with 64 KiB secretstream "
                   "chunks. Ceilings: secretstream push+pull %.0f MB/s; LMDB puts %s/s; "
                   "store_ingest of the same entries from memory %s/s.",
                   fig, (unsigned long long)authors, c.raw_per, c.lmdb_per, c.ss_mbs, l, g);
    }

    medium("tmpfs", tmpfs, work, src, netkey, entries, &c);

    if (cfg->make_fat && !fat) {
        uint64_t mib = (uint64_t)(c.raw_per * 1.2 * (double)entries / 1048576.0) + 200;
        snprintf(path, sizeof path, "%s/fat32.img", work);
        snprintf(fat_mnt, sizeof fat_mnt, "%s/fat32", work);
        snprintf(cmd, sizeof cmd,
                 "truncate -s %lluM '%s' && mkfs.vfat -F 32 '%s' >/dev/null 2>&1 && mkdir -p '%s' "
                 "&& fusefat -o rw+ '%s' '%s' >/dev/null 2>&1",
                 (unsigned long long)mib, path, path, fat_mnt, path, fat_mnt);
        if (system(cmd) == 0) {
            mounted = 1;
            fat = fat_mnt;
        } else {
            bench_row_text("FAT32 (fusefat image)", "skipped: cannot make or mount an image here");
        }
    }
    if (fat)
        medium("FAT32", fat, work, src, netkey, entries, &c);
    else if (!cfg->make_fat)
        bench_row_text("FAT32", "skipped: give --fat DIR (mounted) or --fat-image");
    rc = 0;
out:
    if (mounted) {
        snprintf(cmd, sizeof cmd, "fusermount -u '%s' 2>/dev/null || umount '%s'", fat_mnt,
                 fat_mnt);
        if (system(cmd) != 0)
            fprintf(stderr, "stick-bench: could not unmount %s\n", fat_mnt);
    }
    store_close(src);
    free(m.buf);
    free(m.off);
    free(m.len);
    rm_tree(work);
    sodium_memzero(netkey, sizeof netkey);
    return rc;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: aidmesh-bench stick [--entries N] [--authors A] [--quick] [--json]\n"
            "                           [--dir WORK] [--tmpfs DIR] [--fat DIR | --fat-image]\n");
    return 2;
}

static int parse(int argc, char **argv, struct stick_bench_cfg *o, int *json)
{
    memset(o, 0, sizeof *o);
    *json = 0;
    o->entries = 1000000;
    o->authors = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "stick") == 0 && i == 1)
            continue;
        if (strcmp(a, "--quick") == 0)
            o->quick = 1;
        else if (strcmp(a, "--json") == 0)
            *json = 1;
        else if (strcmp(a, "--fat-image") == 0)
            o->make_fat = 1;
        else if (v && strcmp(a, "--entries") == 0 && (o->entries = strtoull(v, NULL, 10)) > 0)
            i++;
        else if (v && strcmp(a, "--authors") == 0 && (o->authors = strtoull(v, NULL, 10)) > 0)
            i++;
        else if (v && strcmp(a, "--dir") == 0)
            o->dir = argv[++i];
        else if (v && strcmp(a, "--tmpfs") == 0)
            o->tmpfs = argv[++i];
        else if (v && strcmp(a, "--fat") == 0)
            o->fat = argv[++i];
        else
            return -1;
    }
    if (o->quick)
        o->entries = 50000;
    if (o->authors > o->entries)
        o->authors = o->entries;
    return 0;
}

int stick_bench_run(int argc, char **argv)
{
    struct stick_bench_cfg o;
    int json, rc;

    if (parse(argc, argv, &o, &json) != 0)
        return usage();
    if (sodium_init() < 0)
        return 1;
    rc = stick_bench_rows(&o);
    if (json)
        bench_report_json(stdout, 0);
    else
        bench_report_markdown(stdout, "aidmesh stick benchmark", NULL, 0);
    return rc;
}
