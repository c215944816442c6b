/*
 * stick_fuzz.c: libFuzzer target for the stick decoders (transport/stick.c): segment
 * headers, the chunk stream, the records inside chunks (entries, lane entries, visits, cut
 * notes, END),
 * and the manifest. Built as stick_fuzz with -DAM_FUZZ=ON and clang, or with
 * tests/fuzz/replay.c into stick_fuzz_replay, which ctest runs over tests/fuzz/corpus/stick/.
 *
 * The stick lives in memory (a file table that refuses every write) and belongs to a fixed
 * network: the one of the invite secret 00 01 .. 0f. The first input byte picks a mode:
 *   0  the rest is the raw bytes of S0000001.AMS: scanned and imported (into a fake store
 *      that only checks what it is given), nothing written;
 *   1  the rest is plaintext chunks, each a 2-byte big-endian length and that many bytes
 *      (the first one the record type), encrypted here with the real segment key so the
 *      fuzzer reaches the record decoders behind the authentication tag; a chunk whose
 *      first byte is 4 (END) is pushed with TAG_FINAL;
 *   2  the rest is the raw bytes of MANIFA.AMM: stick_inspect and stick_manifest_decode;
 *   3  the rest is a manifest body, encrypted here with the real manifest key under a
 *      header of version 01, or of version 02 (child logs, PROTOCOL.md 11.4) when bit 2
 *      of the first byte is set (first byte 3: version 01, 7: version 02).
 * Invariants (a broken one abort()s): every code is one of am_err.h; the store is handed
 * only entries that decode, at most AM_INGEST_BATCH_MAX at a time, and exactly as many as
 * the report counts as read; authentic chunks (mode 1) never report an authentication
 * failure, and read exactly the entries an independent walk of the plaintext finds; a
 * manifest that decodes re-encodes to bytes that decode to the same body (mode 3: to
 * exactly the body and version it was given); damage offsets lie inside the file.
 *
 * Corpus (tests/fuzz/corpus/stick/): raw-* are real files of a stick of this network, made
 * with `aidmesh init --join am1-000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyv` (the invite code
 * of the secret 00 01 .. 0f), `aidmesh-testtool append` and `aidmesh stick sync` on two
 * nodes, then cut, flipped or extended; plain-* are hand-made plaintext chunks and
 * manifest bodies (modes 1 and 3) with entries from corpus/entry/ok-*; plain-manifest-v2-*
 * and raw-manifest-v2-* are version 02 manifests (a forked author's root log and two child
 * logs, made with stick_manifest_encode), whole, with a bad child row, or flipped; found-* are
 * inputs a libFuzzer run found (tests/fuzz/run-fuzz.sh stick, then -merge=1), kept because they
 * reach code the seeds do not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "entry.h"
#include "invite.h"
#include "stick.h"
#include "fuzz.h"

#define ROOT   "/stick"
#define TOP    ROOT "/AIDMESH"
#define MAX_IN (1u << 20)

static int ready;
static uint8_t netkey[AM_NETKEY_LEN];
static struct stick_keys keys;
static char netdir[64], idname[2 * AM_NETID_LEN + 1];

struct mfile {
    const char *name;
    const uint8_t *data;
    size_t len;
};

static struct mfile files[2];
static size_t n_files;
static uint64_t ingested, ingest_calls;

static void init_once(void)
{
    uint8_t secret[AM_NETSECRET_LEN];
    if (ready)
        return;
    CHECK(sodium_init() >= 0);
    for (int i = 0; i < AM_NETSECRET_LEN; i++)
        secret[i] = (uint8_t)i;
    invite_network_key(secret, netkey);
    stick_keys_init(&keys, netkey);
    for (int i = 0; i < AM_NETID_LEN; i++)
        snprintf(idname + 2 * i, 3, "%02X", keys.netid[i]);
    snprintf(netdir, sizeof netdir, "%s/%s", TOP, idname);
    ready = 1;
}

/* ---- a read-only stick in memory ---------------------------------------------------------- */

static int m_open(void *ctx, const char *path, int mode, int *fd)
{
    size_t dl = strlen(netdir);
    (void)ctx;
    if (mode != STICK_OPEN_READ)
        return AM_EPERM;
    if (strncmp(path, netdir, dl) != 0 || path[dl] != '/')
        return AM_ENOTFOUND;
    for (size_t i = 0; i < n_files; i++)
        if (strcmp(path + dl + 1, files[i].name) == 0) {
            *fd = (int)i;
            return AM_OK;
        }
    return AM_ENOTFOUND;
}

static int m_read(void *ctx, int fd, uint64_t off, uint8_t *buf, size_t n, size_t *got)
{
    const struct mfile *f = &files[fd];
    (void)ctx;
    CHECK(fd >= 0 && (size_t)fd < n_files);
    *got = 0;
    if (off >= f->len)
        return AM_OK;
    *got = f->len - off < n ? f->len - off : n;
    memcpy(buf, f->data + off, *got);
    return AM_OK;
}

static int m_write(void *ctx, int fd, uint64_t off, const uint8_t *buf, size_t n)
{
    (void)ctx;
    (void)fd;
    (void)off;
    (void)buf;
    (void)n;
    abort(); /* nothing opens a file for writing here */
}

static int m_ok(void *ctx, int fd)
{
    (void)ctx;
    (void)fd;
    return AM_OK;
}

static int m_size(void *ctx, int fd, uint64_t *size)
{
    (void)ctx;
    *size = files[fd].len;
    return AM_OK;
}

static int m_truncate(void *ctx, int fd, uint64_t len)
{
    (void)ctx;
    (void)fd;
    (void)len;
    abort();
}

static int m_list(void *ctx, const char *path, int (*cb)(void *, const char *, int), void *cbctx)
{
    (void)ctx;
    if (strcmp(path, ROOT) == 0) {
        cb(cbctx, "AIDMESH", 1);
    } else if (strcmp(path, TOP) == 0) {
        cb(cbctx, idname, 1);
    } else if (strcmp(path, netdir) == 0) {
        for (size_t i = 0; i < n_files; i++)
            if (cb(cbctx, files[i].name, 0))
                break;
    } else {
        return AM_ENOTFOUND;
    }
    return AM_OK;
}

static int m_mkdir(void *ctx, const char *path)
{
    (void)ctx;
    (void)path;
    return AM_EPERM;
}

static int m_fsync_dir(void *ctx, const char *path)
{
    (void)ctx;
    (void)path;
    return AM_OK;
}

static int m_space(void *ctx, const char *path, uint64_t *avail, uint64_t *unit)
{
    (void)ctx;
    (void)path;
    *avail = UINT64_MAX;
    *unit = 1;
    return AM_OK;
}

static int m_remove(void *ctx, const char *path)
{
    (void)ctx;
    (void)path;
    abort();
}

static const struct stick_fops mem_fops = {
    .open = m_open,
    .read = m_read,
    .write = m_write,
    .fsync = m_ok,
    .close = m_ok,
    .size = m_size,
    .truncate = m_truncate,
    .list = m_list,
    .mkdir = m_mkdir,
    .fsync_dir = m_fsync_dir,
    .space = m_space,
    .remove = m_remove,
};

/* ---- a store that only checks what it is given -------------------------------------------- */

static int f_heads(void *ctx, int (*cb)(void *, const struct sync_head *), void *cbctx)
{
    (void)ctx;
    (void)cb;
    (void)cbctx;
    return AM_OK;
}

static int f_head(void *ctx, const uint8_t author[AM_PK_LEN], struct sync_head *h)
{
    (void)ctx;
    (void)author;
    (void)h;
    return AM_ENOTFOUND;
}

static int f_entries(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t from,
                     int (*cb)(void *, const uint8_t *, size_t), void *cbctx)
{
    (void)ctx;
    (void)author;
    (void)from;
    (void)cb;
    (void)cbctx;
    return AM_OK;
}

static int f_forks(void *ctx, const uint8_t author[AM_PK_LEN],
                   int (*cb)(void *, const uint8_t *, size_t), void *cbctx)
{
    (void)ctx;
    (void)author;
    (void)cb;
    (void)cbctx;
    return AM_OK;
}

static int f_ingest(void *ctx, const uint8_t *const *raw, const size_t *lens, size_t n,
                    struct sync_ingest_result *res)
{
    (void)ctx;
    CHECK(n >= 1 && n <= AM_INGEST_BATCH_MAX);
    for (size_t i = 0; i < n; i++) {
        struct entry e;
        CHECK(entry_decode(&e, raw[i], lens[i]) == AM_OK);
    }
    memset(res, 0, sizeof *res);
    res->added = n;
    ingested += n;
    ingest_calls++;
    return AM_OK;
}

static uint64_t lane_ingested;

/* The lane (LANE records): handed only entries that decode, at most AM_STICK_LANE_MAX in
 * a sync, after the logs' import. */
static int f_lane_ingest(void *ctx, const uint8_t *const *raw, const size_t *lens, size_t n,
                         uint64_t *added)
{
    (void)ctx;
    CHECK(n >= 1 && lane_ingested + n <= AM_STICK_LANE_MAX);
    for (size_t i = 0; i < n; i++) {
        struct entry e;
        CHECK(entry_decode(&e, raw[i], lens[i]) == AM_OK);
    }
    lane_ingested += n;
    *added = n;
    return AM_OK;
}

static const struct sync_store fake_store = {.heads = f_heads,
                                             .head = f_head,
                                             .entries = f_entries,
                                             .forks = f_forks,
                                             .ingest = f_ingest,
                                             .lane_ingest = f_lane_ingest};

/* ---- checks -------------------------------------------------------------------------------- */

static int known_code(int rc)
{
    return rc <= 0 && rc >= AM_ESTALE;
}

static void check_report(const struct stick_report *r, uint64_t file_len)
{
    size_t n = r->n_damage < STICK_DAMAGE_MAX ? (size_t)r->n_damage : STICK_DAMAGE_MAX;
    for (size_t i = 0; i < n; i++) {
        CHECK(known_code(r->damage[i].code));
        CHECK(r->damage[i].kind >= STICK_DMG_CUT && r->damage[i].kind <= STICK_DMG_MANIFEST);
        if (r->damage[i].kind != STICK_DMG_MANIFEST) {
            CHECK(r->damage[i].offset <= file_len);
            CHECK(r->damage[i].offset + r->damage[i].lost <= file_len);
        }
    }
}

static uint64_t import(uint64_t file_len, struct stick_report *r)
{
    struct stick_cfg cfg;
    uint8_t install[AM_INSTALL_ID_LEN] = {0}, author[AM_PK_LEN] = {0};
    int rc;
    memset(&cfg, 0, sizeof cfg);
    cfg.fops = &mem_fops;
    cfg.root = ROOT;
    cfg.netkey = netkey;
    cfg.install_id = install;
    cfg.author = author;
    cfg.flags = STICK_F_NO_WRITE;
    ingested = ingest_calls = lane_ingested = 0;
    rc = stick_sync(&cfg, &fake_store, r);
    CHECK(rc == AM_OK || rc == AM_ENOMEM);
    CHECK(r->error == rc);
    if (rc == AM_OK) {
        CHECK(ingested == r->read);
        CHECK(r->added == r->read);
        /* every LANE entry that decodes is taken, up to the bound */
        CHECK(lane_ingested ==
              (r->lane_read < AM_STICK_LANE_MAX ? r->lane_read : AM_STICK_LANE_MAX));
        CHECK(r->lane_added == lane_ingested);
        CHECK(r->new_segments == 0 && r->written_bytes == 0);
    }
    check_report(r, file_len);
    return ingested;
}

/* The entries an independent walk of authentic ENTRIES chunks finds. */
static int count_entry(void *ctx, const uint8_t *e, size_t n)
{
    struct entry d;
    if (entry_decode(&d, e, n) == AM_OK)
        (*(uint64_t *)ctx)++;
    return 0;
}

static void mode_segment_plain(const uint8_t *p, size_t n)
{
    static uint8_t out[MAX_IN * 2];
    crypto_secretstream_xchacha20poly1305_state st;
    uint8_t key[32], ad[STICK_SEG_HEADER_LEN + 4];
    size_t o = STICK_SEG_HEADER_LEN, off = 0;
    uint64_t expect = 0, lane_expect = 0;
    int first = 1, ended = 0, walk_ok = 1;
    struct stick_report r;

    memcpy(out, STICK_SEG_MAGIC, 4);
    out[4] = STICK_FORMAT_VERSION;
    out[5] = out[6] = out[7] = 0;
    memcpy(out + 8, keys.netid, AM_NETID_LEN);
    out[16] = out[17] = out[18] = 0;
    out[19] = 1;
    stick_segment_key(&keys, 1, key);
    crypto_secretstream_xchacha20poly1305_init_push(&st, out + 20, key);
    while (off + 2 <= n && !ended) {
        size_t len = (size_t)p[off] << 8 | p[off + 1], adlen = 0;
        const uint8_t *chunk = p + off + 2;
        unsigned char tag;
        off += 2;
        if (len == 0 || len > n - off)
            break;
        tag = chunk[0] == STICK_REC_END ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                                        : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
        out[o] = (uint8_t)((len + STICK_ABYTES) >> 24);
        out[o + 1] = (uint8_t)((len + STICK_ABYTES) >> 16);
        out[o + 2] = (uint8_t)((len + STICK_ABYTES) >> 8);
        out[o + 3] = (uint8_t)(len + STICK_ABYTES);
        if (first)
            memcpy(ad, out, adlen = STICK_SEG_HEADER_LEN);
        memcpy(ad + adlen, out + o, 4);
        adlen += 4;
        crypto_secretstream_xchacha20poly1305_push(&st, out + o + 4, NULL, chunk, len, ad, adlen,
                                                   tag);
        /* what the scan must find in it (records after one that does not decode are still
         * found: each chunk stands alone) */
        if (chunk[0] == STICK_REC_ENTRIES && walk_ok)
            stick_entries_walk(chunk + 1, len - 1, count_entry, &expect);
        if (chunk[0] == STICK_REC_LANE)
            stick_entries_walk(chunk + 1, len - 1, count_entry, &lane_expect);
        o += 4 + len + STICK_ABYTES;
        off += len;
        first = 0;
        ended = chunk[0] == STICK_REC_END;
    }
    sodium_memzero(key, sizeof key);
    files[0].name = "S0000001.AMS";
    files[0].data = out;
    files[0].len = o;
    n_files = 1;
    import(o, &r);
    if (r.error == AM_OK) {
        CHECK(r.read == expect);
        CHECK(r.lane_read == lane_expect);
        for (size_t i = 0; i < r.n_damage && i < STICK_DAMAGE_MAX; i++)
            CHECK(r.damage[i].code != AM_EBADMAC);
    }
}

static void check_manifest_round_trip(const struct stick_view *v)
{
    struct stick_view d1, d2;
    uint8_t *m1, *m2;
    size_t l1, l2;
    uint64_t g;
    if (stick_manifest_encode(&keys, 'A', 5, v, &m1, &l1) != AM_OK)
        return;
    CHECK(stick_manifest_decode(&keys, 'A', m1, l1, &d1, &g) == AM_OK && g == 5);
    CHECK(stick_manifest_encode(&keys, 'A', 5, &d1, &m2, &l2) == AM_OK);
    CHECK(l1 == l2);
    CHECK(stick_manifest_decode(&keys, 'A', m2, l2, &d2, &g) == AM_OK);
    CHECK(d1.n_segs == d2.n_segs && d1.n_authors == d2.n_authors && d1.n_visits == d2.n_visits);
    CHECK(d1.entries == v->entries && d1.bytes == v->bytes);
    CHECK(d1.n_authors == v->n_authors);
    for (size_t i = 0; i < d1.n_authors; i++)
        CHECK(memcmp(&d1.authors[i], &v->authors[i], sizeof d1.authors[i]) == 0);
    for (size_t i = 0; i < d1.n_visits; i++)
        CHECK(d1.visits[i].n_vv == v->visits[i].n_vv);
    stick_view_free(&d1);
    stick_view_free(&d2);
    free(m1);
    free(m2);
}

static void mode_manifest_raw(const uint8_t *p, size_t n)
{
    struct stick_view v;
    struct stick_report r;
    struct stick_cfg cfg;
    uint64_t gen;
    char slot = n > 5 && p[5] == 'B' ? 'B' : 'A';
    int rc = stick_manifest_decode(&keys, slot, p, n, &v, &gen);
    CHECK(known_code(rc));
    if (rc == AM_OK) {
        check_manifest_round_trip(&v);
        stick_view_free(&v);
    }
    files[0].name = slot == 'B' ? "MANIFB.AMM" : "MANIFA.AMM";
    files[0].data = p;
    files[0].len = n;
    n_files = 1;
    memset(&cfg, 0, sizeof cfg);
    cfg.fops = &mem_fops;
    cfg.root = ROOT;
    cfg.netkey = netkey;
    rc = stick_inspect(&cfg, 0, &v, &r);
    CHECK(rc == AM_OK || rc == AM_ENOMEM);
    if (rc == AM_OK)
        stick_view_free(&v);
}

/* A view decoded from `body` under `version` encodes to that version byte and that body. */
static void check_same_body(const struct stick_view *v, uint8_t version, const uint8_t *body,
                            size_t n)
{
    static uint8_t b[MAX_IN];
    uint8_t *m;
    size_t l;
    if (stick_manifest_encode(&keys, 'A', 3, v, &m, &l) != AM_OK)
        return;
    CHECK(m[4] == version);
    CHECK(l == STICK_MAN_HEADER_LEN + n + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(
              b, NULL, NULL, m + STICK_MAN_HEADER_LEN, l - STICK_MAN_HEADER_LEN, m,
              STICK_MAN_HEADER_LEN, m + 24, keys.manifest) == 0);
    CHECK(memcmp(b, body, n) == 0);
    free(m);
}

static void mode_manifest_plain(const uint8_t *p, size_t n, uint8_t version)
{
    static uint8_t m[MAX_IN + 128];
    struct stick_view v;
    uint64_t gen;
    int rc;
    memcpy(m, STICK_MAN_MAGIC, 4);
    m[4] = version;
    m[5] = 'A';
    m[6] = m[7] = 0;
    memcpy(m + 8, keys.netid, AM_NETID_LEN);
    memset(m + 16, 0, 8);
    m[23] = 3;
    memset(m + 24, 0x42, 24);
    m[48] = (uint8_t)(n >> 24);
    m[49] = (uint8_t)(n >> 16);
    m[50] = (uint8_t)(n >> 8);
    m[51] = (uint8_t)n;
    crypto_aead_xchacha20poly1305_ietf_encrypt(m + STICK_MAN_HEADER_LEN, NULL, p, n, m,
                                               STICK_MAN_HEADER_LEN, NULL, m + 24, keys.manifest);
    rc = stick_manifest_decode(&keys, 'A', m,
                               STICK_MAN_HEADER_LEN + n + crypto_aead_xchacha20poly1305_ietf_ABYTES,
                               &v, &gen);
    CHECK(known_code(rc) && rc != AM_EBADMAC && rc != AM_EAGAIN);
    if (rc == AM_OK) {
        CHECK(gen == 3);
        for (size_t i = 0; i < v.n_visits; i++) {
            CHECK(strlen(v.visits[i].name) <= AM_NAME_MAX);
            for (size_t k = 0; k < v.visits[i].n_vv; k++)
                CHECK(stick_visit_seq(&v, &v.visits[i], v.visits[i].vv[k].author) ==
                      v.visits[i].vv[k].seq);
        }
        check_manifest_round_trip(&v);
        check_same_body(&v, version, p, n);
        stick_view_free(&v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stick_report r;
    init_once();
    if (size < 1 || size > MAX_IN)
        return 0;
    switch (data[0] % 4) {
    case 0: {
        /* named after the number its header claims, so a real segment is read whole */
        static char name[STICK_NAME_LEN + 1];
        uint32_t num = size >= 21 ? ((uint32_t)data[17] << 24 | (uint32_t)data[18] << 16 |
                                     (uint32_t)data[19] << 8 | data[20])
                                  : 1;
        snprintf(name, sizeof name, "S%07u.AMS", (unsigned)(num % 10000000u));
        files[0].name = name;
        files[0].data = data + 1;
        files[0].len = size - 1;
        n_files = 1;
        import(size - 1, &r);
        break;
    }
    case 1:
        mode_segment_plain(data + 1, size - 1);
        break;
    case 2:
        mode_manifest_raw(data + 1, size - 1);
        break;
    default:
        mode_manifest_plain(data + 1, size - 1,
                            data[0] & 4 ? STICK_MAN_VERSION_LOGS : STICK_FORMAT_VERSION);
        break;
    }
    return 0;
}
