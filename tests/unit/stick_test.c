/* stick_test.c: the sneakernet (transport/stick.c) with real LMDB stores and a real folder
 * as the stick, plus a swappable file table that cuts writes short like a yanked stick or a
 * full one: round trips, a runner visiting three sites, idempotent replay, another network,
 * truncation and bit-flip sweeps (seeded), torn manifest slots, full sticks, nothing
 * readable in clear, read-only volumes. Forks and branches on the stick, the decoders on
 * hostile bytes and the keys are in stick_format_test.c; shared helpers in stick_tu.c. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "entry.h"
#include "invite.h"
#include "stick.h"
#include "stick_node.h"
#include "stick_tu.h"
#include "store.h"
#include "sync.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------------------- */

/* All files of a folder tree concatenated with their names: equal trees, equal strings. */
static void tree_dump(const char *dir, FILE *out)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return;
    for (int i = 0; i < n; i++) {
        char path[1300];
        struct stat st;
        if (names[i]->d_name[0] != '.') {
            cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name),
                         (size_t)(sizeof path));
            if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
                fprintf(out, "D %s\n", names[i]->d_name);
                tree_dump(path, out);
            } else {
                size_t len = 0;
                uint8_t *b = tu_read_file(path, &len);
                fprintf(out, "F %s %zu\n", names[i]->d_name, len);
                if (b)
                    fwrite(b, 1, len, out);
                free(b);
            }
        }
        free(names[i]);
    }
    free(names);
}

static char *tree_image(const char *dir, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    tree_dump(dir, f);
    fclose(f);
    return buf;
}

static void assert_tree_same(const char *dir, const char *img, size_t len, const char *what)
{
    size_t l2;
    char *now = tree_image(dir, &l2);
    cr_assert(l2 == len && memcmp(now, img, len) == 0, "%s: the stick changed", what);
    free(now);
}

static int copy_file(const char *from, const char *to, size_t upto)
{
    size_t len;
    uint8_t *b = tu_read_file(from, &len);
    FILE *f;
    if (!b)
        return -1;
    f = fopen(to, "wb");
    if (!f) {
        free(b);
        return -1;
    }
    fwrite(b, 1, upto < len ? upto : len, f);
    fclose(f);
    free(b);
    return 0;
}

static void copy_tree(const char *from, const char *to)
{
    char cmd[2048];
    cr_assert_lt((size_t)snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", to, from, to),
                 (size_t)(sizeof cmd));
    cr_assert_eq(system(cmd), 0);
}

/* Offsets where the chunks of a segment end (read from the clear length prefixes). */
static size_t chunk_ends(const char *path, uint64_t *ends, size_t max)
{
    size_t len, n = 0;
    uint8_t *b = tu_read_file(path, &len);
    uint64_t off = STICK_SEG_HEADER_LEN;
    cr_assert(b);
    while (off + 4 <= len && n < max) {
        uint32_t l = (uint32_t)b[off] << 24 | (uint32_t)b[off + 1] << 16 |
                     (uint32_t)b[off + 2] << 8 | b[off + 3];
        off += 4 + l;
        ends[n++] = off;
    }
    free(b);
    return n;
}

/* ---- a file table that fails like a yanked or a full stick -------------------------------- */

struct fault {
    uint64_t quota; /* bytes the volume takes in all (growth only) */
    uint64_t used;
    int space_known;    /* space() tells the truth, or says "unknown" like fusefat */
    int64_t fail_after; /* bytes written before the stick is "pulled out" (-1: never) */
    uint64_t written;
    int fail_code; /* what writes return once pulled: AM_ESYS or AM_EFULL */
    int pulled;
};

static struct fault fault;

static int fl_open(void *ctx, const char *path, int mode, int *fd)
{
    (void)ctx;
    if (fault.pulled && mode != STICK_OPEN_READ)
        return fault.fail_code;
    return stick_fops_posix.open(NULL, path, mode, fd);
}

static int fl_read(void *ctx, int fd, uint64_t off, uint8_t *buf, size_t n, size_t *got)
{
    (void)ctx;
    return stick_fops_posix.read(NULL, fd, off, buf, n, got);
}

static int fl_write(void *ctx, int fd, uint64_t off, const uint8_t *buf, size_t n)
{
    uint64_t size = 0, grow, room;
    size_t k = n;
    int rc;
    (void)ctx;
    if (fault.pulled)
        return fault.fail_code;
    stick_fops_posix.size(NULL, fd, &size);
    grow = off + n > size ? off + n - size : 0;
    room = fault.quota > fault.used ? fault.quota - fault.used : 0;
    if (grow > room) /* a full volume takes what fits, then refuses */
        k = (size_t)(n - (grow - room));
    if (fault.fail_after >= 0 && fault.written + k > (uint64_t)fault.fail_after)
        k = (size_t)((uint64_t)fault.fail_after - fault.written);
    if (k) {
        rc = stick_fops_posix.write(NULL, fd, off, buf, k);
        cr_assert_eq(rc, AM_OK);
        fault.written += k;
        if (off + k > size)
            fault.used += off + k - size;
    }
    if (k == n)
        return AM_OK;
    if (fault.fail_after >= 0 && fault.written >= (uint64_t)fault.fail_after) {
        fault.pulled = 1;
        errno = EIO;
        return fault.fail_code;
    }
    return AM_EFULL;
}

static int fl_fsync(void *ctx, int fd)
{
    (void)ctx;
    return fault.pulled ? fault.fail_code : stick_fops_posix.fsync(NULL, fd);
}

static int fl_close(void *ctx, int fd)
{
    (void)ctx;
    return stick_fops_posix.close(NULL, fd);
}

static int fl_size(void *ctx, int fd, uint64_t *size)
{
    (void)ctx;
    return stick_fops_posix.size(NULL, fd, size);
}

static int fl_truncate(void *ctx, int fd, uint64_t len)
{
    uint64_t size = 0;
    (void)ctx;
    if (fault.pulled)
        return fault.fail_code;
    stick_fops_posix.size(NULL, fd, &size);
    if (len < size)
        fault.used -= size - len;
    return stick_fops_posix.truncate(NULL, fd, len);
}

static int fl_list(void *ctx, const char *path, int (*cb)(void *, const char *, int), void *cbctx)
{
    (void)ctx;
    return stick_fops_posix.list(NULL, path, cb, cbctx);
}

static int fl_mkdir(void *ctx, const char *path)
{
    (void)ctx;
    return fault.pulled ? fault.fail_code : stick_fops_posix.mkdir(NULL, path);
}

static int fl_fsync_dir(void *ctx, const char *path)
{
    (void)ctx;
    (void)path;
    return AM_OK;
}

static int fl_space(void *ctx, const char *path, uint64_t *avail, uint64_t *unit)
{
    (void)ctx;
    (void)path;
    *unit = 512;
    *avail =
        fault.space_known ? (fault.quota > fault.used ? fault.quota - fault.used : 0) : UINT64_MAX;
    return AM_OK;
}

static int fl_remove(void *ctx, const char *path)
{
    (void)ctx;
    return fault.pulled ? fault.fail_code : stick_fops_posix.remove(NULL, path);
}

static const struct stick_fops fault_fops = {
    .open = fl_open,
    .read = fl_read,
    .write = fl_write,
    .fsync = fl_fsync,
    .close = fl_close,
    .size = fl_size,
    .truncate = fl_truncate,
    .list = fl_list,
    .mkdir = fl_mkdir,
    .fsync_dir = fl_fsync_dir,
    .space = fl_space,
    .remove = fl_remove,
};

static void fault_reset(uint64_t quota, int known, int64_t fail_after, int code)
{
    memset(&fault, 0, sizeof fault);
    fault.quota = quota;
    fault.space_known = known;
    fault.fail_after = fail_after;
    fault.fail_code = code;
}

TestSuite(stick, .init = stick_tu_setup, .fini = stick_tu_teardown, .timeout = 600);

/* ---- behaviour --------------------------------------------------------------------------- */

Test(stick, round_trip_and_replay_changes_nothing)
{
    struct stick_report r;
    char *img;
    size_t len;

    write_notes(&A, NULL, 500, "hub note");
    write_notes(&B, NULL, 70, "clinic note");
    cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
    cr_assert(r.created);
    cr_assert_eq(r.exported, 500);
    cr_assert(r.visit_written && r.manifest_written);
    cr_assert_eq(r.n_damage, 0);
    cr_assert_eq(do_sync(&B, stick, &r), AM_OK);
    cr_assert_eq(r.added, 500);
    cr_assert_eq(r.exported, 70);
    cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
    cr_assert_eq(r.added, 70);
    cr_assert_eq(r.exported, 0);
    assert_same(&A, &B);

    /* replaying the same stick changes neither the stick nor the stores */
    img = tree_image(stick, &len);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
        cr_assert_eq(r.added, 0);
        cr_assert_eq(r.new_segments, 0);
        cr_assert(!r.manifest_written && !r.visit_written);
        cr_assert_eq(do_sync(&B, stick, &r), AM_OK);
        cr_assert_eq(r.added, 0);
        cr_assert_eq(r.duplicate, 570);
        assert_tree_same(stick, img, len, "replay");
    }
    free(img);
    cr_assert_eq(entries_of(&A), 570);
}

Test(stick, runner_visits_three_sites_and_all_converge)
{
    struct stick_report r;
    struct stick_view v;
    struct stick_cfg cfg;
    struct vv nh = {0};
    uint64_t be, ba;

    write_notes(&A, NULL, 300, "hub");
    write_notes(&B, NULL, 200, "clinic");
    write_notes(&C, NULL, 100, "shelter");
    struct site *route[] = {&A, &B, &C, &A};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(do_sync(route[i], stick, &r), AM_OK, "visit %zu", i);
        cr_assert_eq(r.n_damage, 0);
    }
    assert_same(&A, &C); /* A and C saw everything; B has not seen C's records yet */
    cr_assert_eq(entries_of(&B), 500);

    /* back at A, the visits table says B is behind by C's 100 entries, C is not */
    cfg = cfg_for(&A, stick, NULL);
    cr_assert_eq(stick_inspect(&cfg, 0, &v, &r), AM_OK);
    cr_assert(v.from_manifest);
    cr_assert_eq(v.n_visits, 3);
    cr_assert_eq(A.ss.heads(A.ss.ctx, add_head, &nh), AM_OK);
    for (size_t i = 0; i < v.n_visits; i++) {
        stick_visit_behind(&v, &v.visits[i], nh.h, nh.n, &be, &ba);
        if (strcmp(v.visits[i].name, "clinic-zebra") == 0) {
            cr_assert_eq(be, 100);
            cr_assert_eq(ba, 1);
        } else {
            cr_assert_eq(be, 0, "%s is up to date", v.visits[i].name);
        }
    }
    stick_view_free(&v);
    /* a scan tells the same as the manifest */
    cr_assert_eq(stick_inspect(&cfg, 1, &v, &r), AM_OK);
    cr_assert(!v.from_manifest);
    cr_assert_eq(v.n_visits, 3);
    cr_assert_eq(v.entries, 600);
    stick_view_free(&v);
    free(nh.h);

    cr_assert_eq(do_sync(&B, stick, &r), AM_OK);
    cr_assert_eq(r.added, 100);
    assert_same(&A, &B);
    assert_same(&B, &C);
}

Test(stick, blank_stick_needs_opt_in)
{
    struct stick_report r;
    struct stick_cfg c = cfg_for(&A, stick, NULL);
    char *img;
    size_t len;
    write_notes(&A, NULL, 10, "x");
    img = tree_image(stick, &len);
    c.flags = 0;
    cr_assert_eq(stick_sync(&c, &A.ss, &r), AM_ENOTFOUND);
    cr_assert_eq(r.location, STICK_LOC_BLANK);
    assert_tree_same(stick, img, len, "blank, no opt-in");
    free(img);
}

Test(stick, another_network_is_refused_and_nothing_written)
{
    struct stick_report r;
    struct stick_cfg c;
    struct stick_view v;
    uint8_t id[AM_NETID_LEN];
    char *img;
    size_t len;

    write_notes(&A, NULL, 40, "ours");
    write_notes(&B, NULL, 40, "theirs");
    /* B belongs to another network and sets the stick up for it */
    c = cfg_for(&B, stick, NULL);
    c.netkey = otherkey;
    cr_assert_eq(stick_sync(&c, &B.ss, &r), AM_OK);
    img = tree_image(stick, &len);
    cr_assert_eq(do_sync(&A, stick, &r), AM_EOTHERNET);
    cr_assert_eq(r.location, STICK_LOC_OTHER);
    invite_network_id(otherkey, id);
    cr_assert_eq(memcmp(r.other_netid, id, AM_NETID_LEN), 0);
    cr_assert_eq(r.read + r.added + r.new_segments, 0);
    cr_assert_eq(entries_of(&A), 40);
    assert_tree_same(stick, img, len, "another network");
    c = cfg_for(&A, stick, NULL);
    cr_assert_eq(stick_inspect(&c, 0, &v, &r), AM_EOTHERNET);
    free(img);
}

Test(stick, nothing_in_clear)
{
    static const char *secrets[] = {"Kakuma-north-water-critical", "ORS-sachets-for-ward-3",
                                    "hub-north", "clinic-zebra"};
    struct stick_report r;
    char dir[1200], hex[65], HEX[65];
    DIR *d;
    struct dirent *de;

    write_notes(&A, NULL, 200, "Kakuma-north-water-critical");
    write_notes(&B, NULL, 200, "ORS-sachets-for-ward-3");
    cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
    cr_assert_eq(do_sync(&B, stick, &r), AM_OK);
    cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
    net_dir(stick, dir);
    d = opendir(dir);
    cr_assert(d);
    while ((de = readdir(d)) != NULL) {
        char path[1300];
        size_t len;
        uint8_t *b;
        if (de->d_name[0] == '.')
            continue;
        cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name),
                     (size_t)(sizeof path));
        b = tu_read_file(path, &len);
        cr_assert(b);
        for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
            cr_assert_null(memmem(b, len, secrets[i], strlen(secrets[i])), "%s holds '%s'",
                           de->d_name, secrets[i]);
        for (struct site *s = &A; s != &C; s = s == &A ? &B : &C) {
            entry_id_hex(s->pk, hex);
            for (int k = 0; k < 64; k++)
                HEX[k] = (char)(hex[k] >= 'a' ? hex[k] - 32 : hex[k]);
            HEX[64] = 0;
            cr_assert_null(memmem(b, len, s->pk, 8), "%s holds an author id", de->d_name);
            cr_assert_null(memmem(b, len, hex, 16), "%s holds an author id in hex", de->d_name);
            cr_assert_null(memmem(b, len, HEX, 16), "%s holds an author id in HEX", de->d_name);
            cr_assert_null(memmem(b, len, s->install, 8), "%s holds an install id", de->d_name);
        }
        free(b);
    }
    closedir(d);
}

/* ---- damage ------------------------------------------------------------------------------- */

/* A stick whose last segment holds `n` entries of A in many small chunks. */
static void make_cut_stick(size_t n, char *seg_path)
{
    struct stick_report r;
    struct stick_cfg c = cfg_for(&A, stick, NULL);
    char dir[1200];
    write_notes(&A, NULL, n, "cut");
    c.chunk_target = 2048;
    cr_assert_eq(stick_sync(&c, &A.ss, &r), AM_OK);
    cr_assert_eq(r.new_segments, 1);
    net_dir(stick, dir);
    cr_assert_lt((size_t)snprintf(seg_path, 1300, "%s/S0000001.AMS", dir), (size_t)(1300));
}

Test(stick, truncation_sweep)
{
    char seg[1300], work[1300], wseg[1300], dir[1200];
    uint64_t ends[4096], full;
    size_t nends, len;
    uint8_t *orig;
    uint64_t seed = tu_seed("stick truncation_sweep");
    uint64_t *read_at;

    make_cut_stick(400, seg);
    orig = tu_read_file(seg, &len);
    cr_assert(orig);
    full = len;
    nends = chunk_ends(seg, ends, 4096);
    cr_assert_gt(nends, 20, "many chunks: %zu", nends);
    cr_assert_lt((size_t)snprintf(work, sizeof work, "%s.work", stick), (size_t)(sizeof work));
    net_dir(work, dir);
    cr_assert_lt((size_t)snprintf(wseg, sizeof wseg, "%s/S0000001.AMS", dir),
                 (size_t)(sizeof wseg));
    read_at = calloc(nends + 1, sizeof *read_at);

    /* every chunk boundary, the bytes around it, and a seeded sample of the rest */
    for (int round = 0; round < 3 * (int)nends + 300; round++) {
        struct stick_report r;
        struct stick_cfg c = cfg_for(&C, work, NULL);
        uint64_t cut, expect_off = STICK_SEG_HEADER_LEN;
        size_t k = 0;
        if (round < 3 * (int)nends) {
            uint64_t b = ends[round / 3];
            cut = b - 1 + (uint64_t)(round % 3); /* boundary - 1, boundary, boundary + 1 */
        } else {
            cut = tu_rand(&seed) % (full + 1);
        }
        if (cut > full)
            cut = full;
        copy_tree(stick, work);
        cr_assert_eq(copy_file(seg, wseg, (size_t)cut), 0);
        c.flags = STICK_F_NO_WRITE | STICK_F_NO_IMPORT;
        cr_assert_eq(stick_sync(&c, &C.ss, &r), AM_OK, "cut at %llu", (unsigned long long)cut);
        while (k < nends && ends[k] <= cut)
            expect_off = ends[k++];
        if (cut == full) {
            cr_assert_eq(r.n_damage, 0);
            cr_assert_eq(r.read, 400);
        } else {
            cr_assert_eq(r.n_damage, 1, "cut at %llu", (unsigned long long)cut);
            cr_assert_eq(r.damage[0].kind, STICK_DMG_CUT);
            cr_assert_str_eq(r.damage[0].file, "S0000001.AMS");
            cr_assert_eq(r.damage[0].offset, cut < STICK_SEG_HEADER_LEN ? 0 : expect_off,
                         "cut at %llu: reported %llu", (unsigned long long)cut,
                         (unsigned long long)r.damage[0].offset);
            cr_assert_eq(r.damage[0].offset + r.damage[0].lost, cut);
        }
        /* the valid prefix: as many entries as the whole chunks before the cut hold */
        if (read_at[k] == 0)
            read_at[k] = r.read + 1;
        cr_assert_eq(read_at[k], r.read + 1, "cut at %llu: %llu entries, the same prefix gave %llu",
                     (unsigned long long)cut, (unsigned long long)r.read,
                     (unsigned long long)(read_at[k] - 1));
    }
    for (size_t k = 1; k <= nends; k++)
        if (read_at[k] && read_at[k - 1])
            cr_assert_geq(read_at[k], read_at[k - 1]);

    /* a few cuts end to end: import the prefix, the next sync notes the cut and refills the
     * stick, and the stick is clean for the next reader */
    for (int i = 0; i < 6; i++) {
        struct stick_report r;
        struct site D;
        uint64_t cut = i == 0 ? 10 : tu_rand(&seed) % full;
        copy_tree(stick, work);
        cr_assert_eq(copy_file(seg, wseg, (size_t)cut), 0);
        cr_assert_eq(do_sync(&B, work, &r), AM_OK);
        cr_assert_eq(r.n_damage, 1);
        cr_assert_eq(r.cut_notes, 1, "cut at %llu: %d %d %d new %llu full %d",
                     (unsigned long long)cut, r.error, r.damage[0].kind, r.damage[0].code,
                     (unsigned long long)r.new_segments, r.full);
        cr_assert_eq(r.refused, 0);
        site_open(&D, "reader");
        cr_assert_eq(do_sync(&D, work, &r), AM_OK);
        cr_assert_eq(r.n_damage, 0, "the stick is clean after the next export");
        cr_assert_eq(r.acknowledged, 1);
        cr_assert_eq(r.refused, 0);
        assert_same(&B, &D);
        cr_assert_eq(do_sync(&A, work, &r), AM_OK);
        cr_assert_eq(r.n_damage, 0);
        cr_assert_eq(do_sync(&D, work, &r), AM_OK);
        cr_assert_eq(entries_of(&D), 400, "A refilled what the cut lost");
        site_close(&D);
        /* B's store is reused: reset it */
        site_close(&B);
        site_open(&B, "clinic-zebra");
    }
    tu_rmrf(work);
    free(read_at);
    free(orig);
}

Test(stick, bit_flip_sweep)
{
    char dir[1200], work[1300], wdir[1200], seg2[1300], wseg2[1300];
    struct stick_report r;
    uint64_t seed = tu_seed("stick bit_flip_sweep"), ends[4096], seg_entries[4] = {0};
    size_t len, nends;
    uint8_t *orig;
    struct stick_cfg c;

    /* three segments: A's, B's, and A's again */
    write_notes(&A, NULL, 150, "a1");
    write_notes(&B, NULL, 150, "b1");
    c = cfg_for(&A, stick, NULL);
    c.chunk_target = 2048;
    cr_assert_eq(stick_sync(&c, &A.ss, &r), AM_OK);
    c = cfg_for(&B, stick, NULL);
    c.chunk_target = 2048;
    cr_assert_eq(stick_sync(&c, &B.ss, &r), AM_OK);
    write_notes(&A, NULL, 150, "a2");
    c = cfg_for(&A, stick, NULL);
    c.chunk_target = 2048;
    cr_assert_eq(stick_sync(&c, &A.ss, &r), AM_OK);
    {
        struct stick_view v;
        cr_assert_eq(stick_inspect(&c, 1, &v, &r), AM_OK);
        cr_assert_eq(v.n_segs, 3);
        for (size_t i = 0; i < 3; i++)
            seg_entries[i] = v.segs[i].entries;
        stick_view_free(&v);
    }
    net_dir(stick, dir);
    cr_assert_lt((size_t)snprintf(seg2, sizeof seg2, "%s/S0000002.AMS", dir),
                 (size_t)(sizeof seg2));
    orig = tu_read_file(seg2, &len);
    cr_assert(orig);
    nends = chunk_ends(seg2, ends, 4096);
    cr_assert_lt((size_t)snprintf(work, sizeof work, "%s.work", stick), (size_t)(sizeof work));
    net_dir(work, wdir);
    cr_assert_lt((size_t)snprintf(wseg2, sizeof wseg2, "%s/S0000002.AMS", wdir),
                 (size_t)(sizeof wseg2));

    for (int round = 0; round < 400; round++) {
        size_t pos = round < 44 * 8 / 8 ? (size_t)round : (size_t)(tu_rand(&seed) % len);
        int bit = (int)(tu_rand(&seed) % 8);
        struct stick_report rc;
        struct stick_cfg cc = cfg_for(&C, work, NULL);
        uint64_t expect_off = 0;
        FILE *f;
        copy_tree(stick, work);
        orig[pos] ^= (uint8_t)(1u << bit);
        f = fopen(wseg2, "wb");
        fwrite(orig, 1, len, f);
        fclose(f);
        orig[pos] ^= (uint8_t)(1u << bit);
        cc.flags = STICK_F_NO_WRITE | STICK_F_NO_IMPORT;
        cr_assert_eq(stick_sync(&cc, &C.ss, &rc), AM_OK);
        cr_assert_geq(rc.n_damage, 1, "flip at %zu bit %d not reported", pos, bit);
        cr_assert_str_eq(rc.damage[0].file, "S0000002.AMS");
        cr_assert_leq(rc.damage[0].offset, pos < STICK_SEG_HEADER_LEN ? STICK_SEG_HEADER_LEN : pos,
                      "flip at %zu reported at %llu", pos, (unsigned long long)rc.damage[0].offset);
        /* the damage starts at the chunk holding the flip (or at 0 for the header) */
        if (pos >= STICK_SEG_HEADER_LEN) {
            expect_off = STICK_SEG_HEADER_LEN;
            for (size_t k = 0; k < nends && ends[k] <= pos; k++)
                expect_off = ends[k];
        }
        if (pos >= 20 && pos < STICK_SEG_HEADER_LEN)
            expect_off = STICK_SEG_HEADER_LEN; /* the stream header: the first chunk fails */
        if (pos >= 20)
            cr_assert_eq(rc.damage[0].offset, expect_off, "flip at %zu", pos);
        /* everything else is still read: the other segments whole, this one up to there */
        cr_assert_geq(rc.read, seg_entries[0] + seg_entries[2], "flip at %zu", pos);
        cr_assert_leq(rc.read, seg_entries[0] + seg_entries[1] + seg_entries[2]);
        /* the same as a cut at the reported offset */
        {
            struct stick_report rt;
            copy_tree(stick, work);
            cr_assert_eq(copy_file(seg2, wseg2, (size_t)rc.damage[0].offset), 0);
            cr_assert_eq(stick_sync(&cc, &C.ss, &rt), AM_OK);
            cr_assert_eq(rt.read, rc.read, "flip at %zu: %llu read, a cut there reads %llu", pos,
                         (unsigned long long)rc.read, (unsigned long long)rt.read);
        }
    }
    /* end to end: C imports around the damage, A refills, the stick is clean again */
    for (int i = 0; i < 4; i++) {
        size_t pos = STICK_SEG_HEADER_LEN + (size_t)(tu_rand(&seed) % (len - STICK_SEG_HEADER_LEN));
        struct site D;
        FILE *f;
        copy_tree(stick, work);
        orig[pos] ^= 0x10;
        f = fopen(wseg2, "wb");
        fwrite(orig, 1, len, f);
        fclose(f);
        orig[pos] ^= 0x10;
        site_open(&D, "reader");
        cr_assert_eq(do_sync(&D, work, &r), AM_OK);
        cr_assert_eq(r.n_damage, 1);
        cr_assert_eq(r.cut_notes, 1, "the reader notes the damage it found");
        cr_assert_eq(r.refused, 0);
        cr_assert_eq(do_sync(&B, work, &r), AM_OK); /* B holds all of its own: refills */
        cr_assert_eq(r.n_damage, 0, "noted: no longer damage");
        cr_assert_eq(r.acknowledged, 1);
        cr_assert_eq(do_sync(&D, work, &r), AM_OK);
        cr_assert_eq(r.n_damage, 0, "clean after the next export");
        cr_assert_eq(entries_of(&D), 450);
        site_close(&D);
    }
    tu_rmrf(work);
    free(orig);
}

/* Damages the byte at `off` of the file at `path` by XOR with a non-zero mask: setting it
 * to a value would leave it intact whenever it already held that value. */
static void xor_byte_at(const char *path, long off, uint8_t mask)
{
    FILE *f = fopen(path, "r+b");
    int ch;
    cr_assert(f != NULL && mask != 0);
    cr_assert_eq(fseek(f, off, SEEK_SET), 0);
    ch = fgetc(f);
    cr_assert_neq(ch, EOF);
    cr_assert_eq(fseek(f, off, SEEK_SET), 0);
    cr_assert_neq(fputc(ch ^ mask, f), EOF);
    cr_assert_eq(fclose(f), 0);
}

Test(stick, torn_manifest_slot)
{
    struct stick_report r;
    struct stick_view v;
    struct stick_cfg c;
    char dir[1200], pa[1300], pb[1300];
    size_t la, lb;
    uint8_t *a, *b;
    FILE *f;

    write_notes(&A, NULL, 50, "a");
    cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
    write_notes(&B, NULL, 50, "b");
    cr_assert_eq(do_sync(&B, stick, &r), AM_OK);
    net_dir(stick, dir);
    cr_assert_lt((size_t)snprintf(pa, sizeof pa, "%s/MANIFA.AMM", dir), (size_t)(sizeof pa));
    cr_assert_lt((size_t)snprintf(pb, sizeof pb, "%s/MANIFB.AMM", dir), (size_t)(sizeof pb));
    a = tu_read_file(pa, &la);
    b = tu_read_file(pb, &lb);
    cr_assert(a && b, "two slots after two writes");
    c = cfg_for(&C, stick, NULL);
    cr_assert_eq(stick_inspect(&c, 0, &v, &r), AM_OK);
    cr_assert(v.from_manifest);
    cr_assert_eq(v.generation, 2);
    stick_view_free(&v);

    /* the newest slot (B) torn half way: the older slot is stale, so a scan is used */
    f = fopen(pb, "wb");
    fwrite(b, 1, lb / 2, f);
    fclose(f);
    cr_assert_eq(stick_inspect(&c, 0, &v, &r), AM_OK);
    cr_assert_eq(r.manifest_slots, 1);
    cr_assert_eq(r.n_damage, 1);
    cr_assert_eq(r.damage[0].kind, STICK_DMG_MANIFEST);
    cr_assert(!v.from_manifest, "the older slot lists fewer segments: scanned");
    cr_assert_eq(v.entries, 100);
    cr_assert_eq(v.n_visits, 2);
    stick_view_free(&v);

    /* a sync rewrites the torn slot */
    cr_assert_eq(do_sync(&C, stick, &r), AM_OK);
    cr_assert(r.manifest_written);
    cr_assert_eq(do_sync(&C, stick, &r), AM_OK);
    cr_assert_eq(r.manifest_slots, 3);
    cr_assert_eq(r.n_damage, 0);

    /* the older slot torn while the newest is fine: the newest is used */
    free(a);
    a = tu_read_file(pa, &la);
    xor_byte_at(pa, (long)la - 5, 0x55);
    cr_assert_eq(stick_inspect(&c, 0, &v, &r), AM_OK);
    cr_assert(v.from_manifest);
    cr_assert_eq(v.entries, 100);
    cr_assert_eq(v.n_visits, 3);
    stick_view_free(&v);

    /* both slots gone bad: a scan */
    xor_byte_at(pb, 0, 0x5a);
    cr_assert_eq(stick_inspect(&c, 0, &v, &r), AM_OK);
    cr_assert(!v.from_manifest);
    cr_assert_eq(r.manifest_slots, 0);
    cr_assert_eq(v.n_visits, 3);
    stick_view_free(&v);
    free(a);
    free(b);
}

/* ---- full sticks and yanked writes -------------------------------------------------------- */

static void check_stick_valid(const char *where, uint64_t expect_entries)
{
    struct stick_report r;
    struct site D;
    site_open(&D, "checker");
    cr_assert_eq(do_sync(&D, where, &r), AM_OK);
    cr_assert_eq(r.n_damage, 0, "%s: damage %s at %llu", where, r.n_damage ? r.damage[0].file : "",
                 (unsigned long long)r.damage[0].offset);
    cr_assert_eq(r.refused, 0);
    cr_assert_eq(entries_of(&D), expect_entries);
    site_close(&D);
}

Test(stick, full_stick_known_space)
{
    struct stick_report r;
    struct stick_cfg c;
    uint64_t quota = 150000;
    char *big = tu_tmpdir();

    write_notes(&A, NULL, 2000, "many");
    write_notes(&A, A.sk, 0, "");
    {
        uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
        crypto_sign_keypair(pk, sk);
        write_notes(&A, sk, 20, "small author");
    }
    fault_reset(quota, 1, -1, AM_EFULL);
    c = cfg_for(&A, stick, &fault_fops);
    cr_assert_eq(stick_sync(&c, &A.ss, &r), AM_OK);
    cr_assert(r.full);
    cr_assert_gt(r.exported, 0);
    cr_assert_eq(r.exported + r.unfit_entries, 2020);
    cr_assert_eq(r.unfit_authors, 1, "the small author fits whole (turns), the big one not");
    cr_assert_leq(fault.used, quota);
    cr_assert(r.visit_written);
    check_stick_valid(stick, r.exported);
    /* the same stick again, still full: nothing breaks, nothing more fits */
    cr_assert_eq(stick_sync(&c, &A.ss, &r), AM_OK);
    check_stick_valid(stick, r.stick_entries);
    /* a bigger stick takes it all */
    cr_assert_eq(do_sync(&A, big, &r), AM_OK);
    cr_assert(!r.full);
    cr_assert_eq(r.exported, 2020);
    check_stick_valid(big, 2020);
    tu_rmrf(big);
    free(big);
}

Test(stick, full_stick_unknown_space_and_max_bytes)
{
    struct stick_report r;
    struct stick_cfg c;

    write_notes(&A, NULL, 3000, "many");
    /* a volume that does not say how full it is (fusefat): writes fail at the end */
    fault_reset(200000, 0, -1, AM_EFULL);
    c = cfg_for(&A, stick, &fault_fops);
    cr_assert_eq(stick_sync(&c, &A.ss, &r), AM_OK);
    cr_assert(r.full);
    cr_assert_gt(r.exported, 100);
    cr_assert_eq(r.exported + r.unfit_entries, 3000);
    check_stick_valid(stick, r.exported);
    /* again, with the volume already full: no empty segment is left behind */
    {
        uint64_t had = r.stick_entries;
        write_notes(&A, NULL, 10, "more");
        cr_assert_eq(stick_sync(&c, &A.ss, &r), AM_OK);
        cr_assert(r.full);
        check_stick_valid(stick, had + r.exported);
    }
    tu_rmrf(stick);
    mkdir(stick, 0700);
    /* an operator's limit */
    c = cfg_for(&A, stick, NULL);
    c.max_bytes = 100000;
    cr_assert_eq(stick_sync(&c, &A.ss, &r), AM_OK);
    cr_assert(r.full);
    cr_assert_leq(r.written_bytes, 100000 + 4096);
    check_stick_valid(stick, r.exported);
}

Test(stick, yanked_at_every_write_position)
{
    uint64_t seed = tu_seed("stick yanked");
    struct stick_report r;
    uint64_t total;
    char *clean = tu_tmpdir();

    write_notes(&A, NULL, 300, "a");
    write_notes(&B, NULL, 300, "b");
    cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
    copy_tree(stick, clean);
    /* how many bytes B's sync writes */
    {
        struct stick_cfg c = cfg_for(&B, stick, &fault_fops);
        fault_reset(UINT64_MAX, 1, -1, AM_ESYS);
        c.chunk_target = 4096;
        cr_assert_eq(stick_sync(&c, &B.ss, &r), AM_OK);
        total = fault.written;
        cr_assert_gt(total, 20000);
    }
    for (int round = 0; round < 60; round++) {
        struct stick_cfg c;
        struct site D;
        int64_t at = round < 10 ? round * 7 : (int64_t)(tu_rand(&seed) % total);
        int code = round % 2 ? AM_ESYS : AM_EFULL;
        site_close(&B);
        site_open(&B, "clinic-zebra");
        write_notes(&B, NULL, 300, "b");
        copy_tree(clean, stick);
        c = cfg_for(&B, stick, &fault_fops);
        c.chunk_target = 4096;
        fault_reset(UINT64_MAX, 1, at, code);
        stick_sync(&c, &B.ss, &r); /* fails or stops, never crashes */
        cr_assert_eq(entries_of(&B), 600, "the import came first and is whole");
        /* whatever was left, the readable part imports and nothing is refused */
        site_open(&D, "reader");
        cr_assert_eq(do_sync(&D, stick, &r), AM_OK);
        cr_assert_eq(r.refused, 0, "yanked after %lld bytes", (long long)at);
        cr_assert_leq(r.n_damage, 1);
        /* and one more sync by B leaves it clean and complete */
        cr_assert_eq(do_sync(&B, stick, &r), AM_OK);
        site_close(&D);
        check_stick_valid(stick, 600);
    }
    tu_rmrf(clean);
    free(clean);
}

Test(stick, case_insensitive_names)
{
    struct stick_report r;
    char dir[1200], low[1300], cmd[3000];
    write_notes(&A, NULL, 30, "x");
    cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
    net_dir(stick, dir);
    /* a stick whose names another system wrote in lower case */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mv S0000001.AMS s0000001.ams && mv MANIFA.AMM manifa.amm && cd '%s' && "
             "mv AIDMESH aidmesh",
             dir, stick);
    cr_assert_eq(system(cmd), 0);
    cr_assert_lt((size_t)snprintf(low, sizeof low, "%s/aidmesh", stick), (size_t)(sizeof low));
    cr_assert_eq(do_sync(&B, stick, &r), AM_OK);
    cr_assert_eq(r.added, 30);
    cr_assert_eq(r.n_damage, 0);
    assert_same(&A, &B);
}

Test(stick, full_before_anything_is_written_keeps_every_file)
{
    char seg[1300], dir[1200], path[1300];
    struct stick_report r;
    struct stick_cfg c;
    size_t len, len2;
    uint8_t *b, *b2;
    make_cut_stick(100, seg);
    b = tu_read_file(seg, &len);
    cr_assert_eq(copy_file(seg, seg, len / 2), 0); /* cut in half */
    free(b);
    b = tu_read_file(seg, &len);
    write_notes(&B, NULL, 50, "b");
    c = cfg_for(&B, stick, NULL);
    c.max_bytes = 1; /* not even a cut note fits */
    cr_assert_eq(stick_sync(&c, &B.ss, &r), AM_OK);
    cr_assert(r.full);
    cr_assert_eq(r.n_damage, 1);
    cr_assert_eq(r.new_segments, 0);
    cr_assert_gt(r.added, 0, "the readable prefix was imported");
    b2 = tu_read_file(seg, &len2);
    cr_assert(b2 && len2 == len && memcmp(b, b2, len) == 0, "the damaged segment is untouched");
    net_dir(stick, dir);
    cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/S0000002.AMS", dir),
                 (size_t)(sizeof path));
    cr_assert_neq(access(path, F_OK), 0, "no new segment");
    free(b);
    free(b2);
}

static int ro_open(void *ctx, const char *path, int mode, int *fd)
{
    (void)ctx;
    return mode == STICK_OPEN_READ ? stick_fops_posix.open(NULL, path, mode, fd) : AM_EPERM;
}

static int ro_mkdir(void *ctx, const char *path)
{
    (void)ctx;
    (void)path;
    return AM_EPERM;
}

Test(stick, read_only_volume_imports_and_writes_nothing)
{
    struct stick_fops ro = stick_fops_posix;
    struct stick_report r;
    struct stick_cfg c;
    char *img;
    size_t len;
    write_notes(&A, NULL, 80, "a");
    write_notes(&B, NULL, 20, "b");
    cr_assert_eq(do_sync(&A, stick, &r), AM_OK);
    img = tree_image(stick, &len);
    ro.open = ro_open;
    ro.mkdir = ro_mkdir;
    c = cfg_for(&B, stick, &ro);
    cr_assert_eq(stick_sync(&c, &B.ss, &r), AM_OK);
    cr_assert_eq(r.added, 80);
    cr_assert_eq(r.readonly_why, AM_EPERM);
    cr_assert_eq(r.new_segments + r.exported, 0);
    assert_tree_same(stick, img, len, "read-only");
    free(img);
    /* a blank read-only volume: refused, nothing imported or written */
    tu_rmrf(stick);
    mkdir(stick, 0700);
    c = cfg_for(&B, stick, &ro);
    cr_assert_eq(stick_sync(&c, &B.ss, &r), AM_EPERM);
    cr_assert_eq(r.location, STICK_LOC_BLANK);
}

/* n entries by sk, each with the same op (a note of fixed length): their sizes, and so
 * where a budget cuts, do not depend on the seed. */
static void write_fixed(struct site *s, const uint8_t *sk, size_t n)
{
    uint8_t op[5 + 100];
    const uint8_t *p[1] = {op};
    size_t l[1] = {sizeof op};
    op[0] = 0x81;
    op[1] = 0xa1;
    op[2] = 'n';
    op[3] = 0xd9;
    op[4] = 100;
    memset(op + 5, 'x', 100);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(store_append(s->st, sk, p, l, 1, WALL, NULL), AM_OK);
}

static int pk_cmp(const void *a, const void *b)
{
    return memcmp(a, b, AM_PK_LEN + AM_SK_LEN);
}

static uint64_t head_seq(struct site *s, const uint8_t *pk)
{
    struct store_head h;
    return store_head_get(s->st, pk, &h) == AM_OK ? h.seq : 0;
}

Test(stick, first_authors_go_first_in_each_turn)
{
    /* keys[i] = pk || sk, sorted by pk: without a ranking, equal jobs go in pk order */
    uint8_t keys[4][AM_PK_LEN + AM_SK_LEN];
    struct stick_report r;
    struct stick_cfg c;
    uint64_t top = 0, low = UINT64_MAX;

    for (int i = 0; i < 4; i++)
        crypto_sign_keypair(keys[i], keys[i] + AM_PK_LEN);
    qsort(keys, 4, sizeof keys[0], pk_cmp);
    for (int i = 0; i < 4; i++)
        write_fixed(&A, keys[i] + AM_PK_LEN, 300);
    c = cfg_for(&A, stick, NULL);
    c.chunk_target = 2048;     /* about 18 entries per author and turn */
    c.max_bytes = 60000;       /* room for a few turns, not for everything */
    c.first_authors = keys[3]; /* the last in pk order goes first */
    c.n_first_authors = 1;
    cr_assert_eq(stick_sync(&c, &A.ss, &r), AM_OK);
    cr_assert(r.full, "the budget must cut the export short");
    cr_assert_eq(do_sync(&B, stick, &r), AM_OK);
    for (int i = 0; i < 3; i++) {
        uint64_t s = head_seq(&B, keys[i]);
        top = s > top ? s : top;
        low = s < low ? s : low;
    }
    cr_assert_gt(low, 0, "every author had turns");
    cr_assert_geq(head_seq(&B, keys[3]), top,
                  "the first author got less than another (%llu < %llu)",
                  (unsigned long long)head_seq(&B, keys[3]), (unsigned long long)top);
    cr_assert_gt(head_seq(&B, keys[3]), low,
                 "the first author went last in the cut turn (%llu, others %llu..%llu)",
                 (unsigned long long)head_seq(&B, keys[3]), (unsigned long long)low,
                 (unsigned long long)top);
}
