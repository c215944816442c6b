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
 * Output: a Markdown table on stdout (--json: a JSON array), progress on stderr.
 *
 * This file includes lmdb.h only to measure the LMDB ceiling, never to touch a store (the
 * same exception as bench_main.c).
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

#include <lmdb.h> /* ceiling measurement only, see the top of this file */
#include <sodium.h>

#include "am_err.h"
#include "entry.h"
#include "node.h"
#include "out.h"
#include "stick.h"
#include "stick_node.h"
#include "store.h"
#include "syncstore.h"

int stick_bench_run(int argc, char **argv);

#define SB_OP_LEN 200 /* a typical relief op */

struct sb_opts {
    uint64_t entries, authors;
    int quick, json, make_fat;
    const char *dir, *tmpfs, *fat;
};

struct sb_row {
    char figure[96];
    double value;
    const char *unit; /* "/s", "B", "MB/s", "x" */
    char ceiling[96]; /* "" if none */
    double ceil_value;
    const char *ceil_unit;
    double ratio;
    const char *target;
    const char *text; /* non-NULL: instead of the value */
};

static struct sb_row rows[40];
static size_t n_rows;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sb_row *row(const char *figure, double value, const char *unit)
{
    struct sb_row *r = &rows[n_rows < 40 ? n_rows++ : 39];
    memset(r, 0, sizeof *r);
    snprintf(r->figure, sizeof r->figure, "%s", figure);
    r->value = value;
    r->unit = unit;
    r->target = "";
    return r;
}

static void ceil_of(struct sb_row *r, const char *what, double v, const char *unit)
{
    snprintf(r->ceiling, sizeof r->ceiling, "%s", what);
    r->ceil_value = v;
    r->ceil_unit = unit;
    r->ratio = v > 0 ? r->value / v : 0;
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

static void medium(const char *label, const char *root, const char *work, struct store *src,
                   const uint8_t *netkey, uint64_t n, const struct ceilings *c)
{
    struct stick_report r;
    struct store *dst = NULL;
    char fig[96], sdir[4200], idir[4200];
    double t0, t, wmbs = 0, rmbs = 0;
    double ss_eps = c->ss_mbs * 1e6 / c->raw_per;
    int rc;

    snprintf(sdir, sizeof sdir, "%s/aidmesh-stick-bench", root);
    rm_tree(sdir);
    if (mkdir(sdir, 0755) != 0) {
        snprintf(fig, sizeof fig, "%s: stick folder", label);
        row(fig, 0, "")->text = "cannot create it";
        return;
    }
    if (medium_ceiling(sdir, &wmbs, &rmbs) == 0) {
        snprintf(fig, sizeof fig, "%s: medium write+fsync / read", label);
        struct sb_row *w = row(fig, wmbs, "MB/s");
        w->ratio = rmbs;
        w->target = "(read MB/s in the ratio column)";
    }
    fprintf(stderr, "stick-bench: %s: export of %llu entries\n", label, (unsigned long long)n);
    t0 = now_s();
    rc = stick_sync_node(src, netkey, sdir, &r);
    t = now_s() - t0;
    snprintf(fig, sizeof fig, "%s: export", label);
    if (rc != AM_OK || r.exported != n) {
        row(fig, 0, "")->text = rc != AM_OK ? am_strerror(rc) : "incomplete (stick full?)";
        return;
    }
    ceil_of(row(fig, n / t, "/s"), "secretstream (entries/s)", ss_eps, "/s");
    snprintf(fig, sizeof fig, "%s: export", label);
    ceil_of(row(fig, wmbs > 0 ? (double)r.written_bytes / 1e6 / t : 0, "MB/s"), "medium write",
            wmbs, "MB/s");
    folder_bytes = 0;
    nftw(sdir, add_size, 16, FTW_PHYS);
    snprintf(fig, sizeof fig, "%s: bytes on the stick per entry", label);
    {
        struct sb_row *b = row(fig, (double)folder_bytes / (double)n, "B");
        ceil_of(b, "raw entry bytes", c->raw_per, "B");
        b->target = b->ratio <= 1.05 ? "<= 1.05x raw: met" : "<= 1.05x raw: MISSED";
        b = row("  same, against LMDB bytes in use per stored entry", (double)folder_bytes / n,
                "B");
        ceil_of(b, "LMDB in use / entry", c->lmdb_per, "B");
    }
    snprintf(idir, sizeof idir, "%s/import-%s", work, label);
    if (store_open(&dst, idir, NULL) != AM_OK) {
        row("import", 0, "")->text = "cannot open a store";
        return;
    }
    fprintf(stderr, "stick-bench: %s: import\n", label);
    t0 = now_s();
    rc = stick_sync_node(dst, netkey, sdir, &r);
    t = now_s() - t0;
    snprintf(fig, sizeof fig, "%s: import (scan, decrypt, verify, store)", label);
    if (rc != AM_OK || r.added != n) {
        row(fig, 0, "")->text = rc != AM_OK ? am_strerror(rc) : "incomplete";
    } else {
        struct sb_row *i = row(fig, n / t, "/s");
        ceil_of(i, "store ingest from memory", c->ingest, "/s");
        i = row("  same, against", n / t, "/s");
        ceil_of(i, "LMDB puts", c->lmdb, "/s");
        i = row("  same, against", n / t, "/s");
        ceil_of(i, "secretstream (entries/s)", ss_eps, "/s");
        fprintf(stderr, "stick-bench: %s: replay\n", label);
        t0 = now_s();
        rc = stick_sync_node(dst, netkey, sdir, &r);
        t = now_s() - t0;
        snprintf(fig, sizeof fig, "%s: replay (all duplicates, nothing written)", label);
        if (rc != AM_OK || r.duplicate != n)
            row(fig, 0, "")->text = rc != AM_OK ? am_strerror(rc) : "unexpected";
        else
            ceil_of(row(fig, n / t, "/s"), "store ingest from memory", c->ingest, "/s");
    }
    store_close(dst);
    rm_tree(idir);
    rm_tree(sdir);
}

/* ---- output ------------------------------------------------------------------------------- */

static void fmt(char buf[48], double v, const char *unit)
{
    char c[32];
    if (!unit)
        unit = "";
    if (strcmp(unit, "/s") == 0) {
        out_count(c, (uint64_t)(v + 0.5));
        snprintf(buf, 48, "%s/s", c);
    } else if (strcmp(unit, "B") == 0) {
        snprintf(buf, 48, "%.1f B", v);
    } else {
        snprintf(buf, 48, "%.1f %s", v, unit);
    }
}

static void print_rows(const struct sb_opts *o, const char *intro)
{
    if (o->json) {
        printf("[");
        for (size_t i = 0; i < n_rows; i++) {
            const struct sb_row *r = &rows[i];
            printf("%s{\"figure\":", i ? "," : "");
            out_json_str(stdout, r->figure, strlen(r->figure));
            if (r->text) {
                printf(",\"text\":");
                out_json_str(stdout, r->text, strlen(r->text));
            } else {
                printf(",\"value\":%.3f,\"unit\":\"%s\"", r->value, r->unit);
            }
            if (r->ceiling[0]) {
                printf(",\"ceiling\":");
                out_json_str(stdout, r->ceiling, strlen(r->ceiling));
                printf(",\"ceiling_value\":%.3f,\"ratio\":%.4f", r->ceil_value, r->ratio);
            }
            printf("}");
        }
        printf("]\n");
        return;
    }
    fputs(intro, stdout);
    printf("\n| figure | value | ceiling (measured now) | ratio | note |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < n_rows; i++) {
        const struct sb_row *r = &rows[i];
        char v[48], c[48];
        if (r->text) {
            printf("| %s | %s | — | — | |\n", r->figure, r->text);
            continue;
        }
        fmt(v, r->value, r->unit);
        if (r->ceiling[0]) {
            fmt(c, r->ceil_value, r->ceil_unit);
            printf("| %s | %s | %s: %s | %.3fx | %s |\n", r->figure, v, r->ceiling, c, r->ratio,
                   r->target);
        } else if (strcmp(r->unit, "MB/s") == 0 && r->ratio > 0) {
            printf("| %s | %s | — | read %.1f MB/s | |\n", r->figure, v, r->ratio);
        } else {
            printf("| %s | %s | — | — | %s |\n", r->figure, v, r->target);
        }
    }
}

/* ---- main --------------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr,
            "usage: aidmesh-bench stick [--entries N] [--authors A] [--quick] [--json]\n"
            "                           [--dir WORK] [--tmpfs DIR] [--fat DIR | --fat-image]\n");
    return 2;
}

static int parse(int argc, char **argv, struct sb_opts *o)
{
    memset(o, 0, sizeof *o);
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
            o->json = 1;
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
    struct sb_opts o;
    struct ceilings c;
    struct store *src = NULL;
    struct store_stats st;
    struct mem_src m = {0};
    uint8_t netkey[AM_NETKEY_LEN];
    char work[1024], path[1200], fat_mnt[1200] = "", cmd[8192], intro[512];
    const char *base;
    struct stat sb;
    double secs;
    int rc = 1, mounted = 0;

    if (parse(argc, argv, &o) != 0)
        return usage();
    if (sodium_init() < 0)
        return 1;
    secs = o.quick ? 0.3 : 1.0;
    base = o.dir ? o.dir : getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(work, sizeof work, "%s/aidmesh-stick-bench-XXXXXX", base);
    if (!mkdtemp(work)) {
        fprintf(stderr, "stick-bench: cannot make a folder in %s: %s\n", base, strerror(errno));
        return 1;
    }
    if (!o.tmpfs)
        o.tmpfs = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : work;
    randombytes_buf(netkey, sizeof netkey);
    memset(&c, 0, sizeof c);

    /* the source node: N entries of A authors */
    snprintf(path, sizeof path, "%s/source", work);
    if (store_open(&src, path, NULL) != AM_OK || build_source(src, o.entries, o.authors) != AM_OK ||
        store_stats(src, &st) != AM_OK) {
        fprintf(stderr, "stick-bench: cannot build the source store in %s\n", path);
        goto out;
    }
    m.cap = (size_t)o.entries * (SB_OP_LEN + 200);
    m.cap_n = o.entries;
    m.buf = malloc(m.cap);
    m.off = malloc(o.entries * sizeof *m.off);
    m.len = malloc(o.entries * sizeof *m.len);
    if (!m.buf || !m.off || !m.len || store_entries_each(src, NULL, 1, collect, &m) != AM_OK ||
        m.n != o.entries) {
        fprintf(stderr, "stick-bench: out of memory\n");
        goto out;
    }
    c.raw_per = (double)m.used / (double)m.n;
    c.lmdb_per = (double)st.map_used / (double)st.entries;

    /* ceilings */
    fprintf(stderr, "stick-bench: ceilings\n");
    c.ss_mbs = secretstream_ceiling(secs);
    snprintf(path, sizeof path, "%s/lmdb-ceiling", work);
    if (lmdb_ceiling(path, o.entries, (size_t)(c.raw_per + 0.5), &c.lmdb) != 0)
        c.lmdb = 0;
    rm_tree(path);
    snprintf(path, sizeof path, "%s/ingest-ceiling", work);
    if (ingest_ceiling(path, &m, &c.ingest) != AM_OK)
        c.ingest = 0;
    rm_tree(path);
    row("ceiling: secretstream push+pull, 64 KiB chunks", c.ss_mbs, "MB/s");
    row("ceiling: LMDB puts (40 B key, mean entry value, 1000/txn)", c.lmdb, "/s");
    row("ceiling: store_ingest from memory", c.ingest, "/s");
    row("raw bytes per entry", c.raw_per, "B");
    row("LMDB bytes in use per stored entry", c.lmdb_per, "B");

    medium("tmpfs", o.tmpfs, work, src, netkey, o.entries, &c);

    if (o.make_fat && !o.fat) {
        uint64_t mib = (uint64_t)(c.raw_per * 1.2 * (double)o.entries / 1048576.0) + 200;
        snprintf(path, sizeof path, "%s/fat32.img", work);
        snprintf(fat_mnt, sizeof fat_mnt, "%s/fat32", work);
        snprintf(cmd, sizeof cmd,
                 "truncate -s %lluM '%s' && mkfs.vfat -F 32 '%s' >/dev/null 2>&1 && mkdir -p '%s' "
                 "&& fusefat -o rw+ '%s' '%s' >/dev/null 2>&1",
                 (unsigned long long)mib, path, path, fat_mnt, path, fat_mnt);
        if (system(cmd) == 0) {
            mounted = 1;
            o.fat = fat_mnt;
        } else {
            row("FAT32 (fusefat)", 0, "")->text = "skipped: cannot make or mount an image here";
        }
    }
    if (o.fat)
        medium("FAT32", o.fat, work, src, netkey, o.entries, &c);
    else if (!o.make_fat)
        row("FAT32", 0, "")->text = "skipped: give --fat DIR (mounted) or --fat-image";
    snprintf(intro, sizeof intro,
             "## aidmesh stick benchmark: %llu entries of %llu authors, %.0f raw bytes each\n",
             (unsigned long long)o.entries, (unsigned long long)o.authors, c.raw_per);
    print_rows(&o, intro);
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
    return rc;
}
