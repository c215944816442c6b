/*
 * stick.c: the sneakernet format and its sync (see stick.h; bytes in STICK-PROTOCOL.md
 * section 10). Must never: write to a volume holding only another network's folder, append
 * to an existing segment, write anything before the import finished, update the manifest
 * before the segments it describes are fsynced, trust a length read from the stick before
 * checking it against the limits of stick.h, or allocate what a stick's bytes ask for
 * without a cap. Never prints, never reads a clock, reaches files only through stick_fops.
 */
#include "stick.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_grow.h"
#include "am_text.h"
#include "entry.h"
#include "invite.h"

#define PATH_CAP        4096
#define READ_BLOCK      (1u << 20)
#define BATCH_ARENA_MAX (16u << 20)        /* bytes of entries waiting for one ingest call */
#define SNAP_TOTAL_MAX  (4u << 20)         /* seqs kept over all visit snapshots of one scan */
#define RANGES_MAX      4096               /* holes tracked per author */
#define CHUNK_OVERHEAD  (4 + STICK_ABYTES) /* length prefix + tag */
#define END_CHUNK_LEN   (CHUNK_OVERHEAD + 1)
#define CUT_REC_LEN     (1 + 4 + 8 + STICK_HEADER_ID_LEN)
#define VISIT_FIXED_LEN (1 + AM_INSTALL_ID_LEN + AM_PK_LEN + 8 + 1 + 4) /* without name, exc */
#define EXC_LEN         (AM_PK_LEN + 8)
#define MAN_SEG_LEN     (4 + 1 + 8 + 8 + 8)
#define MAN_AUTHOR_LEN  (AM_PK_LEN + 8 + 8)
#define MAN_VISIT_FIXED (AM_INSTALL_ID_LEN + AM_PK_LEN + 8 + 1 + 4)
#define MAN_EXC_LEN     (4 + 8)
#define NO_INDEX        UINT32_MAX

/* ---- bytes ---------------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint64_t round_up(uint64_t v, uint64_t unit)
{
    return unit > 1 ? (v + unit - 1) / unit * unit : v;
}

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'a' && *a <= 'z' ? (char)(*a - 32) : *a;
        char y = *b >= 'a' && *b <= 'z' ? (char)(*b - 32) : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

/* ---- keys ------------------------------------------------------------------------------- */

void stick_keys_init(struct stick_keys *k, const uint8_t netkey[static AM_NETKEY_LEN])
{
    crypto_generichash(k->stick, sizeof k->stick, (const uint8_t *)STICK_KEY_LABEL,
                       strlen(STICK_KEY_LABEL), netkey, AM_NETKEY_LEN);
    crypto_kdf_derive_from_key(k->manifest, sizeof k->manifest, 1, STICK_MAN_KDF_CTX, k->stick);
    invite_network_id(netkey, k->netid);
}

void stick_keys_wipe(struct stick_keys *k)
{
    sodium_memzero(k, sizeof *k);
}

void stick_segment_key(const struct stick_keys *k, uint32_t number, uint8_t key[static 32])
{
    crypto_kdf_derive_from_key(key, 32, number, STICK_SEG_KDF_CTX, k->stick);
}

/* ---- names ------------------------------------------------------------------------------ */

/* "S0000001.AMS" in any case -> 1; 0 when not a segment name. */
static uint32_t seg_number(const char *name)
{
    uint32_t n = 0;
    if (strlen(name) != STICK_NAME_LEN || (name[0] != 'S' && name[0] != 's') || name[8] != '.')
        return 0;
    for (int i = 1; i < 8; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        n = n * 10 + (uint32_t)(name[i] - '0');
    }
    return ieq(name + 9, "AMS") ? n : 0;
}

static void seg_name(uint32_t number, char out[STICK_NAME_LEN + 1])
{
    snprintf(out, STICK_NAME_LEN + 1, "S%07u.AMS", (unsigned)(number % 10000000u));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A 16-hex-digit folder name -> network id. */
static int parse_netid(const char *name, uint8_t id[AM_NETID_LEN])
{
    if (strlen(name) != 2 * AM_NETID_LEN)
        return -1;
    for (int i = 0; i < AM_NETID_LEN; i++) {
        int h = hexval(name[2 * i]), l = hexval(name[2 * i + 1]);
        if (h < 0 || l < 0)
            return -1;
        id[i] = (uint8_t)(h << 4 | l);
    }
    return 0;
}

static int join(char out[PATH_CAP], const char *a, const char *b)
{
    int n = snprintf(out, PATH_CAP, "%s/%s", a, b);
    return n < 0 || n >= PATH_CAP ? AM_EINVAL : AM_OK;
}

/* ---- segment header --------------------------------------------------------------------- */

int stick_seg_header_decode(const uint8_t *buf, size_t len,
                            const uint8_t netid[static AM_NETID_LEN], uint32_t *number)
{
    if (len < STICK_SEG_HEADER_LEN)
        return AM_EAGAIN;
    if (memcmp(buf, STICK_SEG_MAGIC, 4) != 0)
        return AM_EMALFORMED;
    if (buf[4] != STICK_FORMAT_VERSION)
        return AM_EVERSION;
    if (buf[5] || buf[6] || buf[7])
        return AM_EMALFORMED;
    if (memcmp(buf + 8, netid, AM_NETID_LEN) != 0)
        return AM_EBADMAC;
    *number = get32(buf + 16);
    if (*number == 0 || *number > 9999999u)
        return AM_EMALFORMED;
    return AM_OK;
}

/* ---- record decoders -------------------------------------------------------------------- */

int stick_entries_walk(const uint8_t *p, size_t n,
                       int (*cb)(void *ctx, const uint8_t *entry, size_t len), void *ctx)
{
    size_t off = 0;
    while (off < n) {
        size_t len;
        int rc;
        if (n - off < 2)
            return AM_EMALFORMED;
        len = get16(p + off);
        off += 2;
        if (len == 0)
            return AM_EMALFORMED;
        if (len > AM_ENTRY_MAX)
            return AM_ELIMIT;
        if (len > n - off)
            return AM_EMALFORMED;
        rc = cb(ctx, p + off, len);
        if (rc)
            return rc;
        off += len;
    }
    return AM_OK;
}

/* A node name in a visit: at most AM_NAME_MAX bytes of printable text (am_text.h,
 * PROTOCOL.md §11.3): a record whose name breaks the rule is malformed. */
static int name_ok(const uint8_t *p, size_t n)
{
    if (n > AM_NAME_MAX)
        return AM_ELIMIT;
    return am_text_check(p, n, 0, NULL);
}

int stick_visit_decode(const uint8_t *p, size_t n, struct stick_visit *v, const uint8_t **exc,
                       uint32_t *n_exc)
{
    size_t off = 0, nl;
    uint32_t k;
    int rc;

    if (n < VISIT_FIXED_LEN - 1)
        return AM_EMALFORMED;
    memset(v, 0, sizeof *v);
    memcpy(v->install, p, AM_INSTALL_ID_LEN);
    off += AM_INSTALL_ID_LEN;
    memcpy(v->author, p + off, AM_PK_LEN);
    off += AM_PK_LEN;
    v->time_ms = get64(p + off);
    off += 8;
    nl = p[off++];
    if (nl > AM_NAME_MAX)
        return AM_ELIMIT;
    if (n - off < nl + 4)
        return AM_EMALFORMED;
    if ((rc = name_ok(p + off, nl)) != AM_OK)
        return rc;
    memcpy(v->name, p + off, nl);
    v->name[nl] = 0;
    off += nl;
    k = get32(p + off);
    off += 4;
    if (k > STICK_VISIT_EXC_MAX)
        return AM_ELIMIT;
    if ((size_t)k * EXC_LEN != n - off)
        return AM_EMALFORMED;
    *exc = p + off;
    *n_exc = k;
    return AM_OK;
}

/* ---- views ------------------------------------------------------------------------------ */

void stick_view_free(struct stick_view *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n_visits; i++)
        free(v->visits[i].vv);
    free(v->visits);
    free(v->authors);
    free(v->segs);
    memset(v, 0, sizeof *v);
}

static int author_cmp(const void *a, const void *b)
{
    return memcmp(a, b, AM_PK_LEN);
}

static const struct stick_author *view_author(const struct stick_view *v, const uint8_t *author)
{
    return v->n_authors ? bsearch(author, v->authors, v->n_authors, sizeof *v->authors, author_cmp)
                        : NULL;
}

/* A visit's vv lists the authors whose seq at the site differs from the stick's. */
uint64_t stick_visit_seq(const struct stick_view *view, const struct stick_visit *v,
                         const uint8_t author[static AM_PK_LEN])
{
    const struct stick_vv *x =
        v->n_vv ? bsearch(author, v->vv, v->n_vv, sizeof *v->vv, author_cmp) : NULL;
    const struct stick_author *a;
    if (x)
        return x->seq;
    a = view_author(view, author);
    return a ? a->seq : 0;
}

void stick_visit_behind(const struct stick_view *view, const struct stick_visit *v,
                        const struct sync_head *heads, size_t n, uint64_t *entries,
                        uint64_t *authors)
{
    *entries = *authors = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t s = stick_visit_seq(view, v, heads[i].author);
        if (heads[i].seq > s) {
            *entries += heads[i].seq - s;
            (*authors)++;
        }
    }
}

static int visit_cmp(const void *a, const void *b)
{
    const struct stick_visit *x = a, *y = b;
    int c = memcmp(x->install, y->install, AM_INSTALL_ID_LEN);
    return c ? c : memcmp(x->author, y->author, AM_PK_LEN);
}

/* ---- manifest --------------------------------------------------------------------------- */

struct buf {
    uint8_t *p;
    size_t len, cap;
    int err;
};

static uint8_t *buf_grow(struct buf *b, size_t n)
{
    if (b->err)
        return NULL;
    if (n > SIZE_MAX / 2 - b->len) {
        b->err = AM_ENOMEM;
        return NULL;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        uint8_t *np;
        while (cap < b->len + n)
            cap *= 2;
        np = realloc(b->p, cap);
        if (!np) {
            b->err = AM_ENOMEM;
            return NULL;
        }
        b->p = np;
        b->cap = cap;
    }
    b->len += n;
    return b->p + b->len - n;
}

static void buf_u8(struct buf *b, uint8_t v)
{
    uint8_t *p = buf_grow(b, 1);
    if (p)
        *p = v;
}

static void buf_u32(struct buf *b, uint32_t v)
{
    uint8_t *p = buf_grow(b, 4);
    if (p)
        put32(p, v);
}

static void buf_u64(struct buf *b, uint64_t v)
{
    uint8_t *p = buf_grow(b, 8);
    if (p)
        put64(p, v);
}

static void buf_mem(struct buf *b, const void *m, size_t n)
{
    uint8_t *p = buf_grow(b, n);
    if (p && n)
        memcpy(p, m, n);
}

/* The manifest body of a view (STICK-PROTOCOL.md 10.4): deterministic, so two views with
 * the same content give the same bytes. */
static int manifest_body(const struct stick_view *v, struct buf *b)
{
    buf_u32(b, (uint32_t)v->n_segs);
    for (size_t i = 0; i < v->n_segs; i++) {
        buf_u32(b, v->segs[i].number);
        buf_u8(b, v->segs[i].state);
        buf_u64(b, v->segs[i].size);
        buf_u64(b, v->segs[i].valid);
        buf_u64(b, v->segs[i].entries);
    }
    buf_u32(b, (uint32_t)v->n_authors);
    for (size_t i = 0; i < v->n_authors; i++) {
        buf_mem(b, v->authors[i].author, AM_PK_LEN);
        buf_u64(b, v->authors[i].seq);
        buf_u64(b, v->authors[i].entries);
    }
    buf_u32(b, (uint32_t)v->n_visits);
    for (size_t i = 0; i < v->n_visits; i++) {
        const struct stick_visit *s = &v->visits[i];
        size_t nl = strlen(s->name);
        buf_mem(b, s->install, AM_INSTALL_ID_LEN);
        buf_mem(b, s->author, AM_PK_LEN);
        buf_u64(b, s->time_ms);
        buf_u8(b, (uint8_t)nl);
        buf_mem(b, s->name, nl);
        buf_u32(b, (uint32_t)s->n_vv);
        for (size_t k = 0; k < s->n_vv; k++) {
            const struct stick_author *a = view_author(v, s->vv[k].author);
            if (!a)
                return AM_EINVAL; /* every author a visit names is in the author table */
            buf_u32(b, (uint32_t)(a - v->authors));
            buf_u64(b, s->vv[k].seq);
        }
    }
    if (b->err)
        return b->err;
    return b->len + STICK_MAN_HEADER_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES >
                   STICK_MANIFEST_MAX
               ? AM_ELIMIT
               : AM_OK;
}

int stick_manifest_encode(const struct stick_keys *k, char slot, uint64_t gen,
                          const struct stick_view *v, uint8_t **out, size_t *len)
{
    struct buf body = {0};
    uint8_t *m;
    size_t total;
    int rc = manifest_body(v, &body);

    *out = NULL;
    if (rc != AM_OK)
        goto out;
    total = STICK_MAN_HEADER_LEN + body.len + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    m = malloc(total);
    if (!m) {
        rc = AM_ENOMEM;
        goto out;
    }
    memcpy(m, STICK_MAN_MAGIC, 4);
    m[4] = STICK_FORMAT_VERSION;
    m[5] = (uint8_t)slot;
    m[6] = m[7] = 0;
    memcpy(m + 8, k->netid, AM_NETID_LEN);
    put64(m + 16, gen);
    randombytes_buf(m + 24, 24);
    put32(m + 48, (uint32_t)body.len);
    crypto_aead_xchacha20poly1305_ietf_encrypt(m + STICK_MAN_HEADER_LEN, NULL, body.p, body.len, m,
                                               STICK_MAN_HEADER_LEN, NULL, m + 24, k->manifest);
    *out = m;
    *len = total;
out:
    if (body.p)
        sodium_memzero(body.p, body.len);
    free(body.p);
    return rc;
}

struct rcur {
    const uint8_t *p, *end;
};

static int rc_need(struct rcur *c, size_t n)
{
    return (size_t)(c->end - c->p) >= n ? AM_OK : AM_EMALFORMED;
}

static int manifest_parse(const uint8_t *p, size_t n, struct stick_view *v)
{
    struct rcur c = {p, p + n};
    uint32_t cnt;

    memset(v, 0, sizeof *v);
    if (rc_need(&c, 4))
        return AM_EMALFORMED;
    cnt = get32(c.p);
    c.p += 4;
    if (cnt > STICK_SEGMENTS_MAX)
        return AM_ELIMIT;
    if ((size_t)(c.end - c.p) / MAN_SEG_LEN < cnt)
        return AM_EMALFORMED;
    if (cnt && !(v->segs = calloc(cnt, sizeof *v->segs)))
        return AM_ENOMEM;
    for (uint32_t i = 0; i < cnt; i++) {
        struct stick_seg_info *s = &v->segs[i];
        s->number = get32(c.p);
        s->state = c.p[4];
        s->size = get64(c.p + 5);
        s->valid = get64(c.p + 13);
        s->entries = get64(c.p + 21);
        c.p += MAN_SEG_LEN;
        if (s->number == 0 || (i && s->number <= v->segs[i - 1].number) ||
            s->state > STICK_SEG_NEWER || s->valid > s->size)
            return AM_EMALFORMED;
        v->bytes += s->size;
        v->n_segs++;
    }
    if (rc_need(&c, 4))
        return AM_EMALFORMED;
    cnt = get32(c.p);
    c.p += 4;
    if (cnt > STICK_AUTHORS_MAX)
        return AM_ELIMIT;
    if ((size_t)(c.end - c.p) / MAN_AUTHOR_LEN < cnt)
        return AM_EMALFORMED;
    if (cnt && !(v->authors = calloc(cnt, sizeof *v->authors)))
        return AM_ENOMEM;
    for (uint32_t i = 0; i < cnt; i++) {
        struct stick_author *a = &v->authors[i];
        memcpy(a->author, c.p, AM_PK_LEN);
        a->seq = get64(c.p + AM_PK_LEN);
        a->entries = get64(c.p + AM_PK_LEN + 8);
        c.p += MAN_AUTHOR_LEN;
        if (i && memcmp(a->author, v->authors[i - 1].author, AM_PK_LEN) <= 0)
            return AM_EMALFORMED;
        v->entries += a->entries;
        v->n_authors++;
    }
    if (rc_need(&c, 4))
        return AM_EMALFORMED;
    cnt = get32(c.p);
    c.p += 4;
    if (cnt > STICK_SITES_MAX)
        return AM_ELIMIT;
    if ((size_t)(c.end - c.p) / MAN_VISIT_FIXED < cnt)
        return AM_EMALFORMED;
    if (cnt && !(v->visits = calloc(cnt, sizeof *v->visits)))
        return AM_ENOMEM;
    for (uint32_t i = 0; i < cnt; i++) {
        struct stick_visit *s = &v->visits[i];
        size_t nl;
        uint32_t ne, prev = 0;
        int rc;
        if (rc_need(&c, MAN_VISIT_FIXED))
            return AM_EMALFORMED;
        memcpy(s->install, c.p, AM_INSTALL_ID_LEN);
        memcpy(s->author, c.p + AM_INSTALL_ID_LEN, AM_PK_LEN);
        s->time_ms = get64(c.p + AM_INSTALL_ID_LEN + AM_PK_LEN);
        nl = c.p[AM_INSTALL_ID_LEN + AM_PK_LEN + 8];
        c.p += AM_INSTALL_ID_LEN + AM_PK_LEN + 9;
        if (rc_need(&c, nl + 4))
            return AM_EMALFORMED;
        if ((rc = name_ok(c.p, nl)) != AM_OK)
            return rc;
        memcpy(s->name, c.p, nl);
        s->name[nl] = 0;
        c.p += nl;
        ne = get32(c.p);
        c.p += 4;
        v->n_visits++;
        if (i && visit_cmp(&v->visits[i - 1], s) >= 0)
            return AM_EMALFORMED;
        if (ne > v->n_authors || (size_t)(c.end - c.p) / MAN_EXC_LEN < ne)
            return AM_EMALFORMED;
        if (ne && !(s->vv = calloc(ne, sizeof *s->vv)))
            return AM_ENOMEM;
        for (uint32_t k = 0; k < ne; k++) {
            uint32_t idx = get32(c.p);
            if (idx >= v->n_authors || (k && idx <= prev))
                return AM_EMALFORMED;
            prev = idx;
            memcpy(s->vv[k].author, v->authors[idx].author, AM_PK_LEN);
            s->vv[k].seq = get64(c.p + 4);
            c.p += MAN_EXC_LEN;
            s->n_vv++;
        }
    }
    return c.p == c.end ? AM_OK : AM_EMALFORMED;
}

int stick_manifest_decode(const struct stick_keys *k, char slot, const uint8_t *buf, size_t len,
                          struct stick_view *v, uint64_t *gen)
{
    uint32_t blen;
    uint8_t *body;
    int rc;

    memset(v, 0, sizeof *v);
    if (len < STICK_MAN_HEADER_LEN)
        return AM_EAGAIN;
    if (memcmp(buf, STICK_MAN_MAGIC, 4) != 0)
        return AM_EMALFORMED;
    if (buf[4] != STICK_FORMAT_VERSION)
        return AM_EVERSION;
    if (buf[5] != (uint8_t)slot || buf[6] || buf[7])
        return AM_EMALFORMED;
    if (memcmp(buf + 8, k->netid, AM_NETID_LEN) != 0)
        return AM_EBADMAC;
    blen = get32(buf + 48);
    if (blen >
        STICK_MANIFEST_MAX - STICK_MAN_HEADER_LEN - crypto_aead_xchacha20poly1305_ietf_ABYTES)
        return AM_ELIMIT;
    if (len - STICK_MAN_HEADER_LEN < (size_t)blen + crypto_aead_xchacha20poly1305_ietf_ABYTES)
        return AM_EAGAIN;
    body = malloc(blen ? blen : 1);
    if (!body)
        return AM_ENOMEM;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            body, NULL, NULL, buf + STICK_MAN_HEADER_LEN,
            (unsigned long long)blen + crypto_aead_xchacha20poly1305_ietf_ABYTES, buf,
            STICK_MAN_HEADER_LEN, buf + 24, k->manifest) != 0) {
        free(body);
        return AM_EBADMAC;
    }
    rc = manifest_parse(body, blen, v);
    sodium_memzero(body, blen);
    free(body);
    if (rc != AM_OK) {
        stick_view_free(v);
        return rc;
    }
    *gen = get64(buf + 16);
    v->generation = *gen;
    v->from_manifest = 1;
    return AM_OK;
}

/* ---- the author table of a scan --------------------------------------------------------- */

struct range {
    uint64_t lo, hi;
};

struct aitem {
    uint8_t author[AM_PK_LEN];
    uint64_t head;    /* contiguous run from seq 1 on the stick */
    uint64_t entries; /* entries read (and written), duplicates included */
    struct range *rg; /* seqs held beyond a hole, sorted, disjoint, not adjacent */
    uint32_t n_rg, cap_rg;
};

struct atab {
    struct aitem *it;
    size_t n, cap;
    uint32_t *slot; /* open addressing over a keyed hash of the author */
    size_t nslot;
    uint8_t key[crypto_shorthash_KEYBYTES];
};

static size_t atab_hash(const struct atab *t, const uint8_t *author)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v;
    crypto_shorthash(h, author, AM_PK_LEN, t->key);
    memcpy(&v, h, sizeof v);
    return (size_t)v & (t->nslot - 1);
}

static int atab_rehash(struct atab *t, size_t nslot)
{
    uint32_t *s = malloc(nslot * sizeof *s);
    if (!s)
        return AM_ENOMEM;
    memset(s, 0xff, nslot * sizeof *s);
    free(t->slot);
    t->slot = s;
    t->nslot = nslot;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = atab_hash(t, t->it[i].author);
        while (t->slot[h] != NO_INDEX)
            h = (h + 1) & (nslot - 1);
        t->slot[h] = (uint32_t)i;
    }
    return AM_OK;
}

/* Finds `author` (inserting it when `insert`). Returns AM_OK, AM_ENOTFOUND, AM_ELIMIT
 * (STICK_AUTHORS_MAX reached), AM_ENOMEM. */
static int atab_get(struct atab *t, const uint8_t *author, int insert, uint32_t *idx)
{
    size_t h;
    if (!t->nslot) {
        randombytes_buf(t->key, sizeof t->key);
        if (atab_rehash(t, 1024) != AM_OK)
            return AM_ENOMEM;
    }
    for (h = atab_hash(t, author); t->slot[h] != NO_INDEX; h = (h + 1) & (t->nslot - 1))
        if (memcmp(t->it[t->slot[h]].author, author, AM_PK_LEN) == 0) {
            *idx = t->slot[h];
            return AM_OK;
        }
    if (!insert)
        return AM_ENOTFOUND;
    if (t->n >= STICK_AUTHORS_MAX)
        return AM_ELIMIT;
    if (AM_GROW(t->it, t->cap, t->n + 1, 256) != AM_OK)
        return AM_ENOMEM;
    memset(&t->it[t->n], 0, sizeof t->it[t->n]);
    memcpy(t->it[t->n].author, author, AM_PK_LEN);
    t->slot[h] = (uint32_t)t->n;
    *idx = (uint32_t)t->n++;
    if (t->n * 2 > t->nslot)
        return atab_rehash(t, t->nslot * 2);
    return AM_OK;
}

static void atab_free(struct atab *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->it[i].rg);
    free(t->it);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* Extends the contiguous run to `head` and absorbs the ranges it now reaches. */
static void vv_extend(struct aitem *a, uint64_t head)
{
    uint32_t k = 0;
    if (head > a->head)
        a->head = head;
    while (k < a->n_rg && a->rg[k].lo <= a->head + 1) {
        if (a->rg[k].hi > a->head)
            a->head = a->rg[k].hi;
        k++;
    }
    if (k) {
        memmove(a->rg, a->rg + k, (a->n_rg - k) * sizeof *a->rg);
        a->n_rg -= k;
    }
}

/* Records that the stick holds `seq` of this author. Holes beyond RANGES_MAX ranges are
 * forgotten (the stick then looks shorter: at worst an export writes entries again). */
static void vv_add(struct aitem *a, uint64_t seq)
{
    uint32_t i;
    if (seq <= a->head)
        return;
    if (seq == a->head + 1) {
        vv_extend(a, seq);
        return;
    }
    /* entries arrive in order: the place is almost always at the end */
    for (i = a->n_rg; i > 0 && a->rg[i - 1].lo > seq; i--)
        ;
    if (i > 0 && seq <= a->rg[i - 1].hi + 1) {
        if (seq > a->rg[i - 1].hi)
            a->rg[i - 1].hi = seq;
        if (i < a->n_rg && a->rg[i].lo == a->rg[i - 1].hi + 1) {
            a->rg[i - 1].hi = a->rg[i].hi;
            memmove(a->rg + i, a->rg + i + 1, (a->n_rg - i - 1) * sizeof *a->rg);
            a->n_rg--;
        }
        return;
    }
    if (i < a->n_rg && a->rg[i].lo == seq + 1) {
        a->rg[i].lo = seq;
        return;
    }
    if (a->n_rg == RANGES_MAX)
        return;
    if (a->n_rg == a->cap_rg) {
        uint32_t cap = a->cap_rg ? 2 * a->cap_rg : 4;
        struct range *r = realloc(a->rg, cap * sizeof *r);
        if (!r)
            return;
        a->rg = r;
        a->cap_rg = cap;
    }
    memmove(a->rg + i + 1, a->rg + i, (a->n_rg - i) * sizeof *a->rg);
    a->rg[i].lo = a->rg[i].hi = seq;
    a->n_rg++;
}

/* ---- scan context ----------------------------------------------------------------------- */

struct sfile {
    struct stick_seg_info info;
    char name[STICK_NAME_LEN + 1];
    uint8_t header_id[STICK_HEADER_ID_LEN];
    uint8_t dmg_kind; /* what ended a CUT file */
    int dmg_code;
    int noted;   /* a cut note for it was written by this sync */
    int foreign; /* its header names another network: noted, never cut */
};

struct note {
    uint32_t number;
    uint64_t valid;
    uint8_t header_id[STICK_HEADER_ID_LEN];
};

struct site {
    struct stick_visit v; /* v.vv unused */
    uint64_t *snap;       /* seq per author index when the stick left the site */
    size_t n_snap;
};

/* An entry of this node's fork evidence (or the kept entry at its seq) looked for on the
 * stick, so that the stick carries both sides of every fork the node knows. */
struct interest {
    uint8_t author[AM_PK_LEN];
    uint64_t seq;
    uint8_t hash[AM_HASH_LEN];
    int evidence; /* 1: the evidence entry, 0: the entry the log keeps */
    int found;
};

struct rd {
    const struct stick_fops *f;
    int fd;
    uint8_t *buf;
    size_t cap, len;
    uint64_t base;
};

struct ctx {
    const struct stick_cfg *cfg;
    const struct stick_fops *f;
    const struct sync_store *ss; /* NULL: nothing is ingested */
    struct stick_report *r;
    struct stick_keys keys;
    char dir[PATH_CAP];
    char slot_file[2][STICK_NAME_LEN + 1];
    int slot_present[2], slot_ok[2];
    uint64_t slot_gen[2];
    struct stick_view man; /* the newest slot that authenticates */
    int man_slot;          /* 0 (A), 1 (B), -1: none */
    struct sfile *files;
    size_t n_files, cap_files;
    struct note *notes;
    size_t n_notes, cap_notes;
    struct atab at;
    struct site *sites;
    size_t n_sites, cap_sites, snap_total;
    struct interest *intr;
    size_t n_intr;
    /* entries waiting for one ingest call */
    uint8_t *arena;
    size_t arena_len, arena_cap;
    size_t *boff, *blen;
    const uint8_t **bptr;
    size_t nb;
    /* the chunk being handled */
    const char *cur_file;
    uint64_t cur_off, cur_entries;
    int cur_bad;
    int fatal; /* an error that stops everything (store, memory) */
    uint64_t prog_done, prog_total, prog_next;
    uint32_t max_number;
    struct rd rd;
    uint8_t *plain;
};

static void damage_add(struct stick_report *r, const char *file, int kind, int code, uint64_t off,
                       uint64_t lost)
{
    if (r->n_damage < STICK_DAMAGE_MAX) {
        struct stick_damage *d = &r->damage[r->n_damage];
        snprintf(d->file, sizeof d->file, "%s", file);
        d->kind = (uint8_t)kind;
        d->code = code;
        d->offset = off;
        d->lost = lost;
    }
    r->n_damage++;
}

static int damage_cmp(const void *a, const void *b)
{
    const struct stick_damage *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : (x->offset > y->offset) - (x->offset < y->offset);
}

static int sys_err(struct ctx *c, int rc)
{
    if (rc == AM_ESYS && !c->r->sys_errno)
        c->r->sys_errno = errno;
    return rc;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* Points *p at n bytes of the file at off. Returns AM_OK, AM_EAGAIN (the file ends first),
 * AM_ENOMEM, or a file error. */
static int rd_get(struct rd *r, uint64_t off, size_t n, const uint8_t **p)
{
    size_t got = 0, want;
    if (off >= r->base && off - r->base <= r->len && n <= r->len - (off - r->base)) {
        *p = r->buf + (off - r->base);
        return AM_OK;
    }
    want = n > READ_BLOCK ? n : READ_BLOCK;
    if (want > r->cap) {
        uint8_t *nb = realloc(r->buf, want);
        if (!nb)
            return AM_ENOMEM;
        r->buf = nb;
        r->cap = want;
    }
    r->len = 0;
    r->base = off;
    while (got < want) {
        size_t k = 0;
        int rc = r->f->read(r->f->ctx, r->fd, off + got, r->buf + got, want - got, &k);
        if (rc != AM_OK)
            return rc;
        if (k == 0)
            break;
        got += k;
    }
    r->len = got;
    if (got < n)
        return AM_EAGAIN;
    *p = r->buf;
    return AM_OK;
}

static void progress(struct ctx *c, int phase, uint64_t done, uint64_t total, int force)
{
    if (!c->cfg->progress)
        return;
    if (!force && done < c->prog_next)
        return;
    c->prog_next = done + (total / 100 > 65536 ? total / 100 : 65536);
    c->cfg->progress(c->cfg->progress_ctx, phase, done, total);
}

/* ---- ingest batches --------------------------------------------------------------------- */

static int batch_flush(struct ctx *c)
{
    struct sync_ingest_result res;
    int rc;
    if (!c->nb)
        return AM_OK;
    for (size_t i = 0; i < c->nb; i++)
        c->bptr[i] = c->arena + c->boff[i];
    memset(&res, 0, sizeof res);
    rc = c->ss->ingest(c->ss->ctx, c->bptr, c->blen, c->nb, &res);
    c->nb = 0;
    c->arena_len = 0;
    if (rc != AM_OK)
        return rc;
    c->r->added += res.added;
    c->r->duplicate += res.duplicate;
    c->r->forks += res.forks;
    c->r->refused += res.refused;
    return AM_OK;
}

static int batch_add(struct ctx *c, const uint8_t *raw, size_t len)
{
    if (!c->bptr) {
        c->bptr = malloc(AM_INGEST_BATCH_MAX * sizeof *c->bptr);
        c->boff = malloc(AM_INGEST_BATCH_MAX * sizeof *c->boff);
        c->blen = malloc(AM_INGEST_BATCH_MAX * sizeof *c->blen);
        if (!c->bptr || !c->boff || !c->blen)
            return AM_ENOMEM;
    }
    if (c->arena_len + len > c->arena_cap) {
        size_t cap = c->arena_cap ? c->arena_cap : (1u << 20);
        uint8_t *a;
        while (cap < c->arena_len + len)
            cap *= 2;
        a = realloc(c->arena, cap);
        if (!a)
            return AM_ENOMEM;
        c->arena = a;
        c->arena_cap = cap;
    }
    memcpy(c->arena + c->arena_len, raw, len);
    c->boff[c->nb] = c->arena_len;
    c->blen[c->nb] = len;
    c->arena_len += len;
    c->nb++;
    if (c->nb == AM_INGEST_BATCH_MAX || c->arena_len >= BATCH_ARENA_MAX)
        return batch_flush(c);
    return AM_OK;
}

/* ---- records ---------------------------------------------------------------------------- */

static int intr_cmp(const void *a, const void *b)
{
    const struct interest *x = a, *y = b;
    int c = memcmp(x->author, y->author, AM_PK_LEN);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static void interest_check(struct ctx *c, const struct entry *e)
{
    struct interest key, *hit;
    uint8_t h[AM_HASH_LEN];
    int hashed = 0;
    memcpy(key.author, e->author, AM_PK_LEN);
    key.seq = e->seq;
    hit = bsearch(&key, c->intr, c->n_intr, sizeof *c->intr, intr_cmp);
    if (!hit)
        return;
    /* several interests can share (author, seq): walk to the first of them */
    while (hit > c->intr && intr_cmp(hit - 1, &key) == 0)
        hit--;
    for (; hit < c->intr + c->n_intr && intr_cmp(hit, &key) == 0; hit++) {
        if (!hashed) {
            entry_hash(e, h);
            hashed = 1;
        }
        if (memcmp(h, hit->hash, AM_HASH_LEN) == 0)
            hit->found = 1;
    }
}

static int on_entry(void *vctx, const uint8_t *raw, size_t len)
{
    struct ctx *c = vctx;
    struct entry e;
    uint32_t idx;
    int rc = entry_decode(&e, raw, len);
    if (rc != AM_OK) {
        c->r->malformed++;
        if (!c->cur_bad)
            damage_add(c->r, c->cur_file, STICK_DMG_ENTRY, rc, c->cur_off, 0);
        c->cur_bad = 1;
        return 0;
    }
    c->r->read++;
    c->cur_entries++;
    rc = atab_get(&c->at, e.author, 1, &idx);
    if (rc == AM_OK) {
        c->at.it[idx].entries++;
        vv_add(&c->at.it[idx], e.seq);
    } else if (rc != AM_ELIMIT) {
        c->fatal = rc;
        return 1;
    }
    if (c->n_intr)
        interest_check(c, &e);
    if (c->ss && !(c->cfg->flags & STICK_F_NO_IMPORT)) {
        rc = batch_add(c, raw, len);
        if (rc != AM_OK) {
            c->fatal = rc;
            return 1;
        }
    }
    return 0;
}

static struct site *site_get(struct ctx *c, const uint8_t *install, const uint8_t *author,
                             int insert)
{
    for (size_t i = 0; i < c->n_sites; i++)
        if (memcmp(c->sites[i].v.install, install, AM_INSTALL_ID_LEN) == 0 &&
            memcmp(c->sites[i].v.author, author, AM_PK_LEN) == 0)
            return &c->sites[i];
    if (!insert || c->n_sites >= STICK_SITES_MAX)
        return NULL;
    if (AM_GROW(c->sites, c->cap_sites, c->n_sites + 1, 16) != AM_OK)
        return NULL;
    memset(&c->sites[c->n_sites], 0, sizeof c->sites[0]);
    memcpy(c->sites[c->n_sites].v.install, install, AM_INSTALL_ID_LEN);
    memcpy(c->sites[c->n_sites].v.author, author, AM_PK_LEN);
    return &c->sites[c->n_sites++];
}

/* Sets a site's snapshot: seq per author index, `base` (NULL: the stick's heads now) with
 * `exc` (n pairs of author, be64 seq) applied. */
static int site_snapshot(struct ctx *c, struct site *s, const uint8_t *exc, uint32_t n)
{
    uint64_t *snap;
    uint32_t idx;
    for (uint32_t k = 0; k < n; k++) {
        int rc = atab_get(&c->at, exc + (size_t)k * EXC_LEN, 1, &idx);
        if (rc == AM_ENOMEM)
            return rc;
    }
    if (c->snap_total - s->n_snap + c->at.n > SNAP_TOTAL_MAX)
        return AM_OK; /* keep the older snapshot: bounded memory */
    snap = realloc(s->snap, (c->at.n ? c->at.n : 1) * sizeof *snap);
    if (!snap)
        return AM_ENOMEM;
    c->snap_total = c->snap_total - s->n_snap + c->at.n;
    s->snap = snap;
    s->n_snap = c->at.n;
    for (size_t i = 0; i < c->at.n; i++)
        snap[i] = c->at.it[i].head;
    for (uint32_t k = 0; k < n; k++)
        if (atab_get(&c->at, exc + (size_t)k * EXC_LEN, 0, &idx) == AM_OK)
            snap[idx] = get64(exc + (size_t)k * EXC_LEN + AM_PK_LEN);
    return AM_OK;
}

static uint64_t site_seq(const struct site *s, uint32_t idx)
{
    return idx < s->n_snap ? s->snap[idx] : 0;
}

static int on_visit(struct ctx *c, const uint8_t *p, size_t n)
{
    struct stick_visit v;
    const uint8_t *exc;
    uint32_t ne;
    struct site *s;
    int rc = stick_visit_decode(p, n, &v, &exc, &ne);
    if (rc != AM_OK)
        return rc;
    s = site_get(c, v.install, v.author, 1);
    if (!s)
        return AM_OK; /* STICK_SITES_MAX sites known: later ones are not tracked */
    memcpy(s->v.name, v.name, sizeof v.name);
    s->v.time_ms = v.time_ms;
    rc = site_snapshot(c, s, exc, ne);
    if (rc != AM_OK)
        c->fatal = rc;
    return AM_OK;
}

static int on_cut(struct ctx *c, const uint8_t *p, size_t n)
{
    struct note *nt;
    if (n != CUT_REC_LEN - 1)
        return AM_EMALFORMED;
    if (c->n_notes == c->cap_notes) {
        size_t cap = c->cap_notes ? 2 * c->cap_notes : 16;
        struct note *a;
        if (cap > STICK_SEGMENTS_MAX * 4)
            return AM_OK;
        a = realloc(c->notes, cap * sizeof *a);
        if (!a) {
            c->fatal = AM_ENOMEM;
            return AM_OK;
        }
        c->notes = a;
        c->cap_notes = cap;
    }
    nt = &c->notes[c->n_notes++];
    nt->number = get32(p);
    nt->valid = get64(p + 4);
    memcpy(nt->header_id, p + 12, STICK_HEADER_ID_LEN);
    return AM_OK;
}

/* ---- scanning one segment --------------------------------------------------------------- */

static void file_cut(struct sfile *f, int kind, int code, uint64_t off)
{
    f->info.state = STICK_SEG_CUT;
    f->info.valid = off;
    f->dmg_kind = (uint8_t)kind;
    f->dmg_code = code;
}

static int scan_segment(struct ctx *c, struct sfile *f)
{
    char path[PATH_CAP];
    const uint8_t *hdr, *p;
    uint8_t key[32], ad[STICK_SEG_HEADER_LEN + 4], hdrcopy[STICK_SEG_HEADER_LEN];
    crypto_secretstream_xchacha20poly1305_state st;
    uint64_t off, size = f->info.size, limit;
    uint32_t number;
    int rc, first = 1;

    if (join(path, c->dir, f->name) != AM_OK)
        return AM_EINVAL;
    rc = c->f->open(c->f->ctx, path, STICK_OPEN_READ, &c->rd.fd);
    if (rc != AM_OK)
        return sys_err(c, rc);
    c->rd.f = c->f;
    c->rd.len = 0;
    c->rd.base = 0;
    limit = size < STICK_SEGMENT_MAX ? size : STICK_SEGMENT_MAX;
    f->info.state = STICK_SEG_SEALED;
    f->info.valid = 0;
    rc = rd_get(&c->rd, 0, STICK_SEG_HEADER_LEN, &hdr);
    if (rc != AM_OK) {
        if (rc == AM_ENOMEM)
            goto out;
        file_cut(f, rc == AM_EAGAIN ? STICK_DMG_CUT : STICK_DMG_BAD, sys_err(c, rc), 0);
        rc = AM_OK;
        goto out;
    }
    rc = stick_seg_header_decode(hdr, STICK_SEG_HEADER_LEN, c->keys.netid, &number);
    if (rc == AM_EVERSION) {
        /* a newer format, or a flipped version byte: never cut, reported every time */
        f->info.state = STICK_SEG_NEWER;
        c->r->newer++;
        damage_add(c->r, f->name, STICK_DMG_BAD, AM_EVERSION, 0, size);
        rc = AM_OK;
        goto out;
    }
    if (rc == AM_EBADMAC) {
        /* another network's segment in our folder, or a flipped id: noted, never cut */
        f->foreign = 1;
        c->r->foreign++;
        file_cut(f, STICK_DMG_BAD, AM_EBADMAC, 0);
        rc = AM_OK;
        goto out;
    }
    if (rc != AM_OK || number != f->info.number) {
        file_cut(f, STICK_DMG_BAD, AM_EMALFORMED, 0);
        rc = AM_OK;
        goto out;
    }
    memcpy(hdrcopy, hdr, sizeof hdrcopy);
    memcpy(f->header_id, hdr + 20, STICK_HEADER_ID_LEN);
    stick_segment_key(&c->keys, number, key);
    crypto_secretstream_xchacha20poly1305_init_pull(&st, hdrcopy + 20, key);
    sodium_memzero(key, sizeof key);
    off = STICK_SEG_HEADER_LEN;
    f->info.valid = off;
    c->cur_file = f->name;
    for (;;) {
        uint32_t clen;
        unsigned long long mlen;
        unsigned char tag;
        size_t adlen = 0;

        if (off == size) {
            file_cut(f, STICK_DMG_CUT, AM_EAGAIN, off);
            break;
        }
        if (off + 4 > limit) {
            file_cut(f, off + 4 > size ? STICK_DMG_CUT : STICK_DMG_BAD,
                     off + 4 > size ? AM_EAGAIN : AM_ELIMIT, off);
            break;
        }
        rc = rd_get(&c->rd, off, 4, &p);
        if (rc != AM_OK)
            break;
        clen = get32(p);
        if (clen < STICK_ABYTES + 1 || clen > STICK_CHUNK_MAX + STICK_ABYTES) {
            file_cut(f, STICK_DMG_BAD, clen > STICK_CHUNK_MAX ? AM_ELIMIT : AM_EMALFORMED, off);
            break;
        }
        if (off + 4 + clen > size) {
            file_cut(f, STICK_DMG_CUT, AM_EAGAIN, off);
            break;
        }
        if (off + 4 + clen > limit) {
            file_cut(f, STICK_DMG_BAD, AM_ELIMIT, off);
            break;
        }
        if (first) {
            memcpy(ad, hdrcopy, STICK_SEG_HEADER_LEN);
            adlen = STICK_SEG_HEADER_LEN;
        }
        put32(ad + adlen, clen);
        adlen += 4;
        rc = rd_get(&c->rd, off + 4, clen, &p);
        if (rc != AM_OK)
            break;
        if (!c->plain && !(c->plain = malloc(STICK_CHUNK_MAX))) {
            rc = AM_ENOMEM;
            goto out;
        }
        if (crypto_secretstream_xchacha20poly1305_pull(&st, c->plain, &mlen, &tag, p, clen, ad,
                                                       adlen) != 0) {
            file_cut(f, STICK_DMG_BAD, AM_EBADMAC, off);
            break;
        }
        if ((tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) !=
            (c->plain[0] == STICK_REC_END)) {
            file_cut(f, STICK_DMG_BAD, AM_EMALFORMED, off);
            break;
        }
        c->cur_off = off;
        c->cur_bad = 0;
        switch (c->plain[0]) {
        case STICK_REC_ENTRIES:
            rc = stick_entries_walk(c->plain + 1, (size_t)mlen - 1, on_entry, c);
            if (c->fatal) {
                rc = c->fatal;
                goto out;
            }
            if (rc != AM_OK && !c->cur_bad) {
                c->r->malformed++;
                damage_add(c->r, f->name, STICK_DMG_ENTRY, rc, off, 0);
            }
            break;
        case STICK_REC_VISIT:
        case STICK_REC_CUT:
            rc = c->plain[0] == STICK_REC_VISIT ? on_visit(c, c->plain + 1, (size_t)mlen - 1)
                                                : on_cut(c, c->plain + 1, (size_t)mlen - 1);
            if (c->fatal) {
                rc = c->fatal;
                goto out;
            }
            if (rc != AM_OK)
                damage_add(c->r, f->name, STICK_DMG_ENTRY, rc, off, 0);
            break;
        default: /* STICK_REC_END, or a type of a later minor version: skipped */
            break;
        }
        rc = AM_OK;
        first = 0;
        off += 4 + clen;
        f->info.valid = off;
        c->prog_done += 4 + clen;
        progress(c, STICK_PHASE_IMPORT, c->prog_done, c->prog_total, 0);
        if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
            if (off != size)
                file_cut(f, STICK_DMG_TRAIL, AM_EMALFORMED, off);
            break;
        }
    }
    if (rc == AM_ENOMEM)
        goto out;
    if (rc != AM_OK) /* the volume failed a read here (or the file shrank): damage */
        file_cut(f, rc == AM_EAGAIN ? STICK_DMG_CUT : STICK_DMG_BAD, sys_err(c, rc), off);
    rc = AM_OK;
out:
    sodium_memzero(&st, sizeof st);
    f->info.entries = c->cur_entries;
    c->cur_entries = 0;
    c->f->close(c->f->ctx, c->rd.fd);
    return rc;
}

/* ---- the folder ------------------------------------------------------------------------- */

struct find_ctx {
    struct ctx *c;
    char top[256];
    char ours[256];
    int other;
    int fatal;
};

static int on_root_name(void *vctx, const char *name, int is_dir)
{
    struct find_ctx *fc = vctx;
    if (is_dir && ieq(name, STICK_DIR_NAME) && !fc->top[0])
        snprintf(fc->top, sizeof fc->top, "%s", name);
    return 0;
}

static int on_top_name(void *vctx, const char *name, int is_dir)
{
    struct find_ctx *fc = vctx;
    uint8_t id[AM_NETID_LEN];
    if (!is_dir || parse_netid(name, id) != 0)
        return 0;
    if (memcmp(id, fc->c->keys.netid, AM_NETID_LEN) == 0) {
        if (!fc->ours[0])
            snprintf(fc->ours, sizeof fc->ours, "%s", name);
    } else if (!fc->other) {
        fc->other = 1;
        memcpy(fc->c->r->other_netid, id, AM_NETID_LEN);
    }
    return 0;
}

/* Finds AIDMESH/<our id>/ (any case); with `create`, makes it on a blank volume. */
static int locate(struct ctx *c, int create)
{
    struct find_ctx fc;
    char top[PATH_CAP], idhex[2 * AM_NETID_LEN + 1];
    int rc;

    memset(&fc, 0, sizeof fc);
    fc.c = c;
    rc = c->f->list(c->f->ctx, c->cfg->root, on_root_name, &fc);
    if (rc != AM_OK)
        return sys_err(c, rc);
    if (fc.top[0]) {
        if (join(top, c->cfg->root, fc.top) != AM_OK)
            return AM_EINVAL;
        rc = c->f->list(c->f->ctx, top, on_top_name, &fc);
        if (rc != AM_OK)
            return sys_err(c, rc);
        if (fc.ours[0]) {
            c->r->location = STICK_LOC_OURS;
            return join(c->dir, top, fc.ours);
        }
    }
    if (fc.other) {
        c->r->location = STICK_LOC_OTHER;
        return AM_EOTHERNET;
    }
    c->r->location = STICK_LOC_BLANK;
    if (!create)
        return AM_ENOTFOUND;
    for (int i = 0; i < AM_NETID_LEN; i++)
        snprintf(idhex + 2 * i, 3, "%02X", c->keys.netid[i]);
    if (!fc.top[0]) {
        if (join(top, c->cfg->root, STICK_DIR_NAME) != AM_OK)
            return AM_EINVAL;
        rc = c->f->mkdir(c->f->ctx, top);
        if (rc != AM_OK && rc != AM_EEXIST)
            return sys_err(c, rc);
    }
    if (join(c->dir, top, idhex) != AM_OK)
        return AM_EINVAL;
    rc = c->f->mkdir(c->f->ctx, c->dir);
    if (rc != AM_OK && rc != AM_EEXIST)
        return sys_err(c, rc);
    c->f->fsync_dir(c->f->ctx, top);
    c->f->fsync_dir(c->f->ctx, c->cfg->root);
    c->r->created = 1;
    return AM_OK;
}

static int on_dir_name(void *vctx, const char *name, int is_dir)
{
    struct ctx *c = vctx;
    uint32_t n;
    if (is_dir)
        return 0;
    for (int s = 0; s < 2; s++)
        if (ieq(name, s ? STICK_MAN_SLOT_B : STICK_MAN_SLOT_A)) {
            snprintf(c->slot_file[s], sizeof c->slot_file[s], "%s", name);
            c->slot_present[s] = 1;
            return 0;
        }
    n = seg_number(name);
    if (!n || c->n_files >= STICK_SEGMENTS_MAX)
        return 0;
    if (AM_GROW(c->files, c->cap_files, c->n_files + 1, 64) != AM_OK) {
        c->fatal = AM_ENOMEM;
        return 1;
    }
    memset(&c->files[c->n_files], 0, sizeof c->files[0]);
    c->files[c->n_files].info.number = n;
    snprintf(c->files[c->n_files].name, sizeof c->files[0].name, "%s", name);
    c->n_files++;
    if (n > c->max_number)
        c->max_number = n;
    return 0;
}

static int sfile_cmp(const void *a, const void *b)
{
    const struct sfile *x = a, *y = b;
    if (x->info.number != y->info.number)
        return x->info.number < y->info.number ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int file_size(struct ctx *c, const char *name, uint64_t *size)
{
    char path[PATH_CAP];
    int fd, rc;
    if (join(path, c->dir, name) != AM_OK)
        return AM_EINVAL;
    rc = c->f->open(c->f->ctx, path, STICK_OPEN_READ, &fd);
    if (rc != AM_OK)
        return sys_err(c, rc);
    rc = c->f->size(c->f->ctx, fd, size);
    c->f->close(c->f->ctx, fd);
    return sys_err(c, rc);
}

static int list_dir(struct ctx *c)
{
    int rc = c->f->list(c->f->ctx, c->dir, on_dir_name, c);
    if (c->fatal)
        return c->fatal;
    if (rc != AM_OK)
        return sys_err(c, rc);
    if (c->n_files)
        qsort(c->files, c->n_files, sizeof *c->files, sfile_cmp);
    for (size_t i = 0; i < c->n_files; i++) {
        rc = file_size(c, c->files[i].name, &c->files[i].info.size);
        if (rc != AM_OK)
            return rc;
        c->prog_total += c->files[i].info.size;
        c->r->stick_bytes += c->files[i].info.size;
    }
    c->r->segments = c->n_files;
    return AM_OK;
}

static void read_slots(struct ctx *c)
{
    c->man_slot = -1;
    for (int s = 0; s < 2; s++) {
        char path[PATH_CAP];
        struct stick_view v;
        uint64_t size = 0, gen = 0;
        uint8_t *buf = NULL;
        size_t got = 0;
        int fd, rc;

        if (!c->slot_present[s] || join(path, c->dir, c->slot_file[s]) != AM_OK)
            continue;
        rc = c->f->open(c->f->ctx, path, STICK_OPEN_READ, &fd);
        if (rc != AM_OK)
            continue;
        rc = c->f->size(c->f->ctx, fd, &size);
        if (rc == AM_OK && size > STICK_MANIFEST_MAX)
            size = STICK_MANIFEST_MAX; /* anything after is beyond any manifest */
        if (rc == AM_OK && !(buf = malloc(size ? size : 1)))
            rc = AM_ENOMEM;
        while (rc == AM_OK && got < size) {
            size_t k = 0;
            rc = c->f->read(c->f->ctx, fd, got, buf + got, size - got, &k);
            if (k == 0)
                break;
            got += k;
        }
        c->f->close(c->f->ctx, fd);
        if (rc == AM_OK)
            rc = stick_manifest_decode(&c->keys, s ? 'B' : 'A', buf, got, &v, &gen);
        free(buf);
        if (rc != AM_OK) {
            damage_add(c->r, c->slot_file[s], STICK_DMG_MANIFEST, rc, 0, got);
            continue;
        }
        c->slot_ok[s] = 1;
        c->slot_gen[s] = gen;
        c->r->manifest_slots |= 1u << s;
        if (c->man_slot < 0 || gen > c->slot_gen[c->man_slot]) {
            stick_view_free(&c->man);
            c->man = v;
            c->man_slot = s;
        } else {
            stick_view_free(&v);
        }
    }
}

static int note_matches(const struct note *n, const struct sfile *f)
{
    static const uint8_t zero[STICK_HEADER_ID_LEN];
    const uint8_t *id = f->info.valid >= STICK_SEG_HEADER_LEN ? f->header_id : zero;
    return n->number == f->info.number && n->valid == f->info.valid &&
           memcmp(n->header_id, id, STICK_HEADER_ID_LEN) == 0;
}

/* After the scan: cuts that a note covers are not damage; the others are reported. */
static void settle_cuts(struct ctx *c)
{
    for (size_t i = 0; i < c->n_files; i++) {
        struct sfile *f = &c->files[i];
        if (f->info.state != STICK_SEG_CUT)
            continue;
        for (size_t k = 0; k < c->n_notes; k++)
            if (note_matches(&c->notes[k], f)) {
                f->info.state = STICK_SEG_CUT_ACK;
                break;
            }
        if (f->info.state == STICK_SEG_CUT_ACK)
            c->r->acknowledged++;
        else
            damage_add(c->r, f->name, f->dmg_kind, f->dmg_code, f->info.valid,
                       f->info.size - f->info.valid);
    }
}

static int scan_all(struct ctx *c)
{
    int rc;
    c->prog_next = 0;
    for (size_t i = 0; i < c->n_files; i++) {
        uint64_t before = c->prog_done;
        rc = scan_segment(c, &c->files[i]);
        if (rc != AM_OK)
            return rc;
        c->prog_done = before + c->files[i].info.size;
    }
    if (c->ss && !(c->cfg->flags & STICK_F_NO_IMPORT)) {
        rc = batch_flush(c);
        if (rc != AM_OK)
            return rc;
    }
    progress(c, STICK_PHASE_IMPORT, c->prog_done, c->prog_total, 1);
    settle_cuts(c);
    return AM_OK;
}

/* ---- the view --------------------------------------------------------------------------- */

struct sidx {
    const uint8_t *author;
    uint32_t idx;
};

static int sidx_cmp(const void *a, const void *b)
{
    return memcmp(((const struct sidx *)a)->author, ((const struct sidx *)b)->author, AM_PK_LEN);
}

static int build_view(struct ctx *c, struct stick_view *v)
{
    struct sidx *order = NULL;
    int rc = AM_ENOMEM;

    memset(v, 0, sizeof *v);
    if (c->n_files && !(v->segs = calloc(c->n_files, sizeof *v->segs)))
        goto out;
    for (size_t i = 0; i < c->n_files; i++) {
        v->segs[i] = c->files[i].info;
        v->bytes += c->files[i].info.size;
    }
    v->n_segs = c->n_files;
    if (c->at.n && (!(order = malloc(c->at.n * sizeof *order)) ||
                    !(v->authors = calloc(c->at.n, sizeof *v->authors))))
        goto out;
    for (size_t i = 0; i < c->at.n; i++) {
        order[i].author = c->at.it[i].author;
        order[i].idx = (uint32_t)i;
    }
    if (c->at.n)
        qsort(order, c->at.n, sizeof *order, sidx_cmp);
    for (size_t i = 0; i < c->at.n; i++) {
        const struct aitem *a = &c->at.it[order[i].idx];
        memcpy(v->authors[i].author, a->author, AM_PK_LEN);
        v->authors[i].seq = a->head;
        v->authors[i].entries = a->entries;
        v->entries += a->entries;
    }
    v->n_authors = c->at.n;
    if (c->n_sites && !(v->visits = calloc(c->n_sites, sizeof *v->visits)))
        goto out;
    for (size_t s = 0; s < c->n_sites; s++) {
        const struct site *st = &c->sites[s];
        struct stick_visit *vi = &v->visits[v->n_visits++];
        size_t n = 0;
        *vi = st->v;
        vi->vv = NULL;
        vi->n_vv = 0;
        for (size_t i = 0; i < c->at.n; i++)
            if (site_seq(st, order[i].idx) != c->at.it[order[i].idx].head)
                n++;
        if (n && !(vi->vv = malloc(n * sizeof *vi->vv)))
            goto out;
        for (size_t i = 0; i < c->at.n; i++) {
            uint64_t q = site_seq(st, order[i].idx);
            if (q != c->at.it[order[i].idx].head) {
                memcpy(vi->vv[vi->n_vv].author, order[i].author, AM_PK_LEN);
                vi->vv[vi->n_vv++].seq = q;
            }
        }
    }
    if (v->n_visits)
        qsort(v->visits, v->n_visits, sizeof *v->visits, visit_cmp);
    rc = AM_OK;
out:
    free(order);
    if (rc != AM_OK)
        stick_view_free(v);
    return rc;
}

/* ---- context ---------------------------------------------------------------------------- */

static void ctx_free(struct ctx *c)
{
    for (size_t i = 0; i < c->n_sites; i++)
        free(c->sites[i].snap);
    free(c->sites);
    free(c->files);
    free(c->notes);
    free(c->intr);
    atab_free(&c->at);
    if (c->arena)
        sodium_memzero(c->arena, c->arena_cap);
    free(c->arena);
    free(c->boff);
    free(c->blen);
    free(c->bptr);
    free(c->rd.buf);
    if (c->plain)
        sodium_memzero(c->plain, STICK_CHUNK_MAX);
    free(c->plain);
    stick_view_free(&c->man);
    stick_keys_wipe(&c->keys);
}

static int ctx_init(struct ctx *c, const struct stick_cfg *cfg, const struct sync_store *ss,
                    struct stick_report *r)
{
    memset(c, 0, sizeof *c);
    memset(r, 0, sizeof *r);
    r->free_bytes = UINT64_MAX;
    if (!cfg || !cfg->fops || !cfg->root || !cfg->netkey)
        return AM_EINVAL;
    c->cfg = cfg;
    c->f = cfg->fops;
    c->ss = ss;
    c->r = r;
    c->man_slot = -1;
    stick_keys_init(&c->keys, cfg->netkey);
    return AM_OK;
}

/* ---- the node's side -------------------------------------------------------------------- */

struct heads {
    struct sync_head *h;
    size_t n, cap;
};

static int on_head(void *vctx, const struct sync_head *h)
{
    struct heads *hv = vctx;
    if (AM_GROW(hv->h, hv->cap, hv->n + 1, 64) != AM_OK)
        return AM_ENOMEM;
    hv->h[hv->n++] = *h;
    return 0;
}

static int get_heads(const struct sync_store *ss, struct heads *hv)
{
    hv->n = 0;
    return ss->heads(ss->ctx, on_head, hv);
}

static int head_cmp(const void *a, const void *b)
{
    return memcmp(a, ((const struct sync_head *)b)->author, AM_PK_LEN);
}

static const struct sync_head *heads_find(const struct heads *hv, const uint8_t *author)
{
    return hv->n ? bsearch(author, hv->h, hv->n, sizeof *hv->h, head_cmp) : NULL;
}

struct intr_ctx {
    struct ctx *c;
    int evidence, found;
    uint64_t seq; /* kept entry: the seq wanted */
    int rc;
};

static int add_interest(struct ctx *c, const uint8_t *raw, size_t len, int evidence, int found)
{
    struct entry e;
    struct interest *it;
    if (entry_decode(&e, raw, len) != AM_OK)
        return AM_OK;
    if (c->n_intr >= STICK_FORK_TRACK_MAX)
        return AM_OK;
    if (!c->intr && !(c->intr = calloc(STICK_FORK_TRACK_MAX, sizeof *c->intr)))
        return AM_ENOMEM;
    it = &c->intr[c->n_intr++];
    memcpy(it->author, e.author, AM_PK_LEN);
    it->seq = e.seq;
    entry_hash(&e, it->hash);
    it->evidence = evidence;
    it->found = found;
    return AM_OK;
}

static int on_evidence(void *vctx, const uint8_t *raw, size_t len)
{
    struct intr_ctx *ic = vctx;
    ic->rc = add_interest(ic->c, raw, len, 1, ic->found);
    return ic->rc != AM_OK;
}

static int on_kept(void *vctx, const uint8_t *raw, size_t len)
{
    struct intr_ctx *ic = vctx;
    ic->rc = add_interest(ic->c, raw, len, 0, 0);
    return 1; /* only the entry at the evidence's seq */
}

/* Adds the fork evidence of one author, and the kept entry at each of its seqs, to the
 * entries looked for on the stick (evidence counted as found when `found`: it came from
 * the stick itself). */
static int gather_author_forks(struct ctx *c, const uint8_t *author, int found)
{
    struct intr_ctx ic = {c, 1, found, 0, AM_OK};
    size_t first = c->n_intr, last;
    int rc = c->ss->forks(c->ss->ctx, author, on_evidence, &ic);
    if (rc != AM_OK)
        return rc;
    if (ic.rc != AM_OK)
        return ic.rc;
    last = c->n_intr;
    for (size_t i = first; i < last; i++) {
        int dup = 0;
        for (size_t k = first; k < i; k++)
            if (c->intr[k].seq == c->intr[i].seq)
                dup = 1;
        if (dup)
            continue;
        ic.rc = AM_OK;
        rc = c->ss->entries(c->ss->ctx, author, c->intr[i].seq, on_kept, &ic);
        if (rc != AM_OK)
            return rc;
        if (ic.rc != AM_OK)
            return ic.rc;
    }
    return AM_OK;
}

static void sort_interest(struct ctx *c)
{
    if (c->n_intr)
        qsort(c->intr, c->n_intr, sizeof *c->intr, intr_cmp);
}

/* ---- writing ---------------------------------------------------------------------------- */

struct job {
    uint8_t author[AM_PK_LEN];
    uint64_t from, next, to; /* the stick lacks from..to; next is the next to write */
    uint64_t written;
    uint32_t pending; /* entries of it in the chunk being filled */
    uint32_t behind;  /* visited sites that lack entries of this author */
    int done;
};

static int job_cmp(const void *a, const void *b)
{
    const struct job *x = a, *y = b;
    uint64_t mx = x->to - x->from, my = y->to - y->from;
    if (x->behind != y->behind)
        return x->behind > y->behind ? -1 : 1;
    if (mx != my)
        return mx < my ? -1 : 1;
    return memcmp(x->author, y->author, AM_PK_LEN);
}

struct writer {
    struct ctx *c;
    int fd, open, broken;
    int created; /* files[fidx] was created by this writer and is not closed yet */
    size_t fidx;
    uint64_t off; /* bytes of the open segment written and kept */
    crypto_secretstream_xchacha20poly1305_state st;
    uint8_t hdr[STICK_SEG_HEADER_LEN];
    int first;
    uint8_t *plain; /* the chunk being filled; plain[0] is its type */
    size_t plen, pcap;
    uint8_t *cbuf;
    size_t ccap;
    uint64_t seg_entries, chunk_entries;
    uint64_t budget, used_closed, unit, tail;
    uint64_t seg_target;
    size_t chunk_target;
    int full, err;
    struct job **touched;
    size_t n_touched;
    uint64_t evidence_pending;
};

static int w_path(struct writer *w, char path[PATH_CAP])
{
    return join(path, w->c->dir, w->c->files[w->fidx].name);
}

/* The volume failed a write: cut the file back to what was written whole (closing and
 * reopening around the truncate, see stick_fops.truncate). */
static void w_recover(struct writer *w)
{
    const struct stick_fops *f = w->c->f;
    char path[PATH_CAP];
    int fd;
    f->close(f->ctx, w->fd);
    w->open = 0;
    if (w_path(w, path) != AM_OK || f->open(f->ctx, path, STICK_OPEN_WRITE, &fd) != AM_OK) {
        w->broken = 1;
        return;
    }
    if (f->truncate(f->ctx, fd, w->off) != AM_OK)
        w->broken = 1;
    f->fsync(f->ctx, fd);
    f->close(f->ctx, fd);
    if (w->broken || f->open(f->ctx, path, STICK_OPEN_WRITE, &w->fd) != AM_OK) {
        w->broken = 1;
        return;
    }
    w->open = 1;
}

static int w_failed(struct writer *w, int rc)
{
    if (rc == AM_EFULL) {
        w->full = 1;
    } else if (rc == AM_EPERM && w->c->r->new_segments == 0) {
        w->c->r->readonly_why = AM_EPERM;
        w->err = rc;
    } else {
        w->err = sys_err(w->c, rc);
    }
    return rc;
}

static int w_create(struct writer *w)
{
    const struct stick_fops *f = w->c->f;
    struct ctx *c = w->c;
    char path[PATH_CAP];
    uint8_t key[32];
    struct sfile *sf;
    int rc = AM_EEXIST;

    if (w->broken)
        return AM_EFULL;
    if (c->n_files >= STICK_SEGMENTS_MAX)
        return w_failed(w, AM_EFULL);
    if (c->n_files == c->cap_files) {
        size_t cap = c->cap_files ? 2 * c->cap_files : 64;
        struct sfile *a = realloc(c->files, cap * sizeof *a);
        if (!a)
            return w_failed(w, AM_ENOMEM);
        c->files = a;
        c->cap_files = cap;
    }
    sf = &c->files[c->n_files];
    memset(sf, 0, sizeof *sf);
    for (int tries = 0; tries < 64 && rc == AM_EEXIST; tries++) {
        sf->info.number = ++c->max_number;
        if (sf->info.number > 9999999u)
            return w_failed(w, AM_EFULL);
        seg_name(sf->info.number, sf->name);
        if (join(path, c->dir, sf->name) != AM_OK)
            return w_failed(w, AM_EINVAL);
        rc = f->open(f->ctx, path, STICK_OPEN_CREATE, &w->fd);
    }
    if (rc != AM_OK)
        return w_failed(w, rc);
    w->fidx = c->n_files++;
    w->created = 1;
    c->r->new_segments++;
    memcpy(w->hdr, STICK_SEG_MAGIC, 4);
    w->hdr[4] = STICK_FORMAT_VERSION;
    w->hdr[5] = w->hdr[6] = w->hdr[7] = 0;
    memcpy(w->hdr + 8, c->keys.netid, AM_NETID_LEN);
    put32(w->hdr + 16, sf->info.number);
    stick_segment_key(&c->keys, sf->info.number, key);
    crypto_secretstream_xchacha20poly1305_init_push(&w->st, w->hdr + 20, key);
    sodium_memzero(key, sizeof key);
    memcpy(sf->header_id, w->hdr + 20, STICK_HEADER_ID_LEN);
    sf->info.state = STICK_SEG_CUT;
    sf->dmg_kind = STICK_DMG_CUT;
    sf->dmg_code = AM_EAGAIN;
    w->open = 1;
    w->off = 0;
    w->first = 1;
    w->seg_entries = 0;
    rc = f->write(f->ctx, w->fd, 0, w->hdr, STICK_SEG_HEADER_LEN);
    if (rc != AM_OK) {
        w_recover(w);
        w->broken = 1; /* a file without its header: the next sync notes it */
        return w_failed(w, rc);
    }
    w->off = STICK_SEG_HEADER_LEN;
    sf->info.size = sf->info.valid = w->off;
    c->r->written_bytes += STICK_SEG_HEADER_LEN;
    return AM_OK;
}

/* Encrypts plain[0..n) as the next chunk of the open segment and writes it. On failure
 * the stream state and the file are as before the call. */
static int w_push(struct writer *w, const uint8_t *plain, size_t n, unsigned char tag)
{
    crypto_secretstream_xchacha20poly1305_state saved;
    uint8_t ad[STICK_SEG_HEADER_LEN + 4];
    size_t adlen = 0, clen = n + STICK_ABYTES;
    struct sfile *sf;
    int rc;

    if (w->err)
        return w->err;
    if (w->broken)
        return AM_EFULL;
    if (!w->open && (rc = w_create(w)) != AM_OK)
        return rc;
    if (4 + clen > w->ccap) {
        uint8_t *b = realloc(w->cbuf, 4 + clen);
        if (!b)
            return w_failed(w, AM_ENOMEM);
        w->cbuf = b;
        w->ccap = 4 + clen;
    }
    put32(w->cbuf, (uint32_t)clen);
    if (w->first) {
        memcpy(ad, w->hdr, STICK_SEG_HEADER_LEN);
        adlen = STICK_SEG_HEADER_LEN;
    }
    memcpy(ad + adlen, w->cbuf, 4);
    adlen += 4;
    saved = w->st;
    crypto_secretstream_xchacha20poly1305_push(&w->st, w->cbuf + 4, NULL, plain, n, ad, adlen, tag);
    rc = w->c->f->write(w->c->f->ctx, w->fd, w->off, w->cbuf, 4 + clen);
    if (rc != AM_OK) {
        w->st = saved;
        sodium_memzero(&saved, sizeof saved);
        w_recover(w);
        return w_failed(w, rc);
    }
    sodium_memzero(&saved, sizeof saved);
    w->first = 0;
    w->off += 4 + clen;
    w->c->r->written_bytes += 4 + clen;
    sf = &w->c->files[w->fidx];
    sf->info.size = sf->info.valid = w->off;
    return AM_OK;
}

/* Writes the chunk being filled; its entries count as written only when it is. */
static int w_flush(struct writer *w)
{
    int rc;
    if (w->plen <= 1) {
        w->plen = 0;
        return AM_OK;
    }
    rc = w_push(w, w->plain, w->plen, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    for (size_t i = 0; i < w->n_touched; i++) {
        struct job *j = w->touched[i];
        if (rc == AM_OK)
            j->written += j->pending;
        else
            j->next -= j->pending;
        j->pending = 0;
    }
    if (rc == AM_OK) {
        w->c->r->evidence += w->evidence_pending;
        w->seg_entries += w->chunk_entries;
        w->c->files[w->fidx].info.entries = w->seg_entries;
    }
    w->evidence_pending = 0;
    w->chunk_entries = 0;
    w->n_touched = 0;
    w->plen = 0;
    return rc;
}

/* A segment this sync created and could put no chunk in (the stick was full already):
 * deleted, so a full stick stays clean instead of holding an empty, unsealed file. */
static void w_drop_empty(struct writer *w)
{
    struct ctx *c = w->c;
    char path[PATH_CAP];
    if (w->open)
        c->f->close(c->f->ctx, w->fd);
    w->open = 0;
    if (w_path(w, path) != AM_OK || c->f->remove(c->f->ctx, path) != AM_OK)
        return; /* left for the next sync to note */
    if (w->fidx == c->n_files - 1) {
        c->n_files--;
        c->r->new_segments--;
    }
    sodium_memzero(&w->st, sizeof w->st);
    w->broken = 0;
    w->created = 0;
}

static int w_close_seg(struct writer *w)
{
    const struct stick_fops *f = w->c->f;
    uint8_t end = STICK_REC_END;
    struct sfile *sf;
    int rc = w_flush(w);
    if (w->created && w->off <= STICK_SEG_HEADER_LEN && (w->full || w->broken)) {
        w_drop_empty(w);
        return w->err ? w->err : AM_OK;
    }
    if (!w->open) {
        w->created = 0;
        return rc == AM_EFULL ? AM_OK : rc;
    }
    sf = &w->c->files[w->fidx];
    if (!w->broken && !w->err &&
        w_push(w, &end, 1, crypto_secretstream_xchacha20poly1305_TAG_FINAL) == AM_OK)
        sf->info.state = STICK_SEG_SEALED;
    if (w->open) {
        int frc = f->fsync(f->ctx, w->fd);
        if (frc != AM_OK && !w->err)
            w->err = sys_err(w->c, frc);
        f->close(f->ctx, w->fd);
    }
    sodium_memzero(&w->st, sizeof w->st);
    w->used_closed += round_up(w->off, w->unit);
    w->open = 0;
    w->broken = 0;
    w->created = 0;
    return w->err ? w->err : AM_OK;
}

/* Whether `add` more bytes in the current (or next) segment keep the export within its
 * budget, with the tail (the visit record and END chunk) still fitting. */
static int w_room(const struct writer *w, uint64_t add)
{
    uint64_t cur = w->open ? w->off : STICK_SEG_HEADER_LEN;
    return w->used_closed + round_up(cur + add + w->tail, w->unit) <= w->budget;
}

/* Starts a new segment when `add` more bytes would take this one past its target. */
static int w_maybe_rotate(struct writer *w, uint64_t add)
{
    if (w->open && w->off > STICK_SEG_HEADER_LEN && w->off + add + w->tail > w->seg_target)
        return w_close_seg(w);
    return AM_OK;
}

static int w_add_entry(struct writer *w, const uint8_t *raw, size_t len, struct job *j)
{
    uint64_t chunk;
    int rc;
    if (w->err)
        return w->err;
    if (w->full)
        return AM_EFULL;
    if (w->plen > 1 && w->plen + 2 + len > w->chunk_target && (rc = w_flush(w)) != AM_OK)
        return rc;
    chunk = CHUNK_OVERHEAD + (w->plen ? w->plen : 1) + 2 + len;
    if (w->open && w->off > STICK_SEG_HEADER_LEN && w->off + chunk + w->tail > w->seg_target) {
        if ((rc = w_close_seg(w)) != AM_OK)
            return rc;
        if (w->full)
            return AM_EFULL;
        chunk = CHUNK_OVERHEAD + 1 + 2 + len;
    }
    if (!w_room(w, chunk)) {
        w->full = 1;
        return AM_EFULL;
    }
    if (!w->plen) {
        w->plain[0] = STICK_REC_ENTRIES;
        w->plen = 1;
    }
    put16(w->plain + w->plen, (uint16_t)len);
    memcpy(w->plain + w->plen + 2, raw, len);
    w->plen += 2 + len;
    w->chunk_entries++;
    if (j) {
        if (j->pending++ == 0)
            w->touched[w->n_touched++] = j;
    } else {
        w->evidence_pending++;
    }
    return AM_OK;
}

/* A record in a chunk of its own. `reserved`: its room is part of the tail. */
static int w_record(struct writer *w, const uint8_t *rec, size_t n, int reserved)
{
    int rc = w_flush(w);
    if (rc != AM_OK && rc != AM_EFULL)
        return rc;
    if (w->err)
        return w->err;
    if (!reserved) {
        if ((rc = w_maybe_rotate(w, CHUNK_OVERHEAD + n)) != AM_OK)
            return rc;
        if (w->full || !w_room(w, CHUNK_OVERHEAD + n)) {
            w->full = 1;
            return AM_EFULL;
        }
    } else {
        /* part of the tail: only the budget itself can refuse it */
        uint64_t cur = w->open ? w->off : STICK_SEG_HEADER_LEN;
        if (w->used_closed + round_up(cur + CHUNK_OVERHEAD + n + END_CHUNK_LEN, w->unit) >
            w->budget) {
            w->full = 1;
            return AM_EFULL;
        }
    }
    return w_push(w, rec, n, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

struct xctx {
    struct writer *w;
    struct job *j;
    size_t turn;
    int rc, any;
};

static int on_export(void *vctx, const uint8_t *raw, size_t len)
{
    struct xctx *x = vctx;
    struct job *j = x->j;
    if (j->next > j->to)
        return 1;
    x->rc = w_add_entry(x->w, raw, len, j);
    if (x->rc != AM_OK)
        return 1;
    x->any = 1;
    j->next++;
    x->turn += 2 + len;
    return j->next > j->to || x->turn >= x->w->chunk_target;
}

struct evctx {
    struct writer *w;
    const struct interest *it;
    int rc, seen, added;
};

static int on_export_one(void *vctx, const uint8_t *raw, size_t len)
{
    struct evctx *x = vctx;
    struct entry e;
    uint8_t h[AM_HASH_LEN];
    if (!x->it->evidence && x->seen++)
        return 1;
    if (entry_decode(&e, raw, len) != AM_OK)
        return 0;
    entry_hash(&e, h);
    if (e.seq != x->it->seq || memcmp(h, x->it->hash, AM_HASH_LEN) != 0)
        return 0;
    x->rc = w_add_entry(x->w, raw, len, NULL);
    x->added = x->rc == AM_OK;
    return 1;
}

static void count_author_entries(struct ctx *c, const uint8_t *author, uint64_t n)
{
    uint32_t idx;
    if (n && atab_get(&c->at, author, 1, &idx) == AM_OK)
        c->at.it[idx].entries += n;
}

/* ---- sync ------------------------------------------------------------------------------- */

/* Whether this site's newest visit on the stick already says what the node holds now. */
static int site_unchanged(struct ctx *c, const struct heads *nh)
{
    const struct stick_cfg *cfg = c->cfg;
    struct site *s = site_get(c, cfg->install_id, cfg->author, 0);
    const char *name = cfg->name ? cfg->name : "";
    size_t nl = strlen(name) > AM_NAME_MAX ? AM_NAME_MAX : strlen(name);
    uint32_t idx;
    if (!s || strlen(s->v.name) != nl || memcmp(s->v.name, name, nl) != 0)
        return 0; /* as visit_record writes it: at most AM_NAME_MAX bytes */
    for (size_t i = 0; i < nh->n; i++) {
        uint64_t q = atab_get(&c->at, nh->h[i].author, 0, &idx) == AM_OK ? site_seq(s, idx) : 0;
        if (q != nh->h[i].seq)
            return 0;
    }
    for (size_t i = 0; i < c->at.n; i++)
        if (site_seq(s, (uint32_t)i) != 0 && !heads_find(nh, c->at.it[i].author))
            return 0;
    return 1;
}

/* This site's visit record (type byte included) into *out; n_exc capped. */
static int visit_record(struct ctx *c, const struct heads *nh, struct buf *b)
{
    const struct stick_cfg *cfg = c->cfg;
    const char *name = cfg->name ? cfg->name : "";
    size_t nl = strlen(name), count_at;
    uint32_t n = 0, idx;

    if (nl > AM_NAME_MAX)
        nl = AM_NAME_MAX;
    buf_u8(b, STICK_REC_VISIT);
    buf_mem(b, cfg->install_id, AM_INSTALL_ID_LEN);
    buf_mem(b, cfg->author, AM_PK_LEN);
    buf_u64(b, cfg->now_ms);
    buf_u8(b, (uint8_t)nl);
    buf_mem(b, name, nl);
    count_at = b->len;
    buf_u32(b, 0);
    for (size_t i = 0; i < nh->n && n < STICK_VISIT_EXC_MAX; i++) {
        uint64_t s = atab_get(&c->at, nh->h[i].author, 0, &idx) == AM_OK ? c->at.it[idx].head : 0;
        if (s != nh->h[i].seq) {
            buf_mem(b, nh->h[i].author, AM_PK_LEN);
            buf_u64(b, nh->h[i].seq);
            n++;
        }
    }
    for (size_t i = 0; i < c->at.n && n < STICK_VISIT_EXC_MAX; i++)
        if (c->at.it[i].head && !heads_find(nh, c->at.it[i].author)) {
            buf_mem(b, c->at.it[i].author, AM_PK_LEN);
            buf_u64(b, 0);
            n++;
        }
    if (b->err)
        return b->err;
    put32(b->p + count_at, n);
    return AM_OK;
}

static size_t visit_record_max(const struct ctx *c, const struct heads *nh)
{
    size_t n = nh->n + c->at.n;
    if (n > STICK_VISIT_EXC_MAX)
        n = STICK_VISIT_EXC_MAX;
    return VISIT_FIXED_LEN + AM_NAME_MAX + n * EXC_LEN;
}

static int export_jobs(struct ctx *c, struct writer *w, struct job *jobs, size_t nj)
{
    size_t active = nj;
    uint64_t done = 0;
    while (active && !w->full && !w->err) {
        active = 0;
        for (size_t i = 0; i < nj && !w->full && !w->err; i++) {
            struct job *j = &jobs[i];
            struct xctx x = {w, j, 0, AM_OK, 0};
            uint64_t before = j->next;
            int rc;
            if (j->done)
                continue;
            rc = c->ss->entries(c->ss->ctx, j->author, j->next, on_export, &x);
            if (rc != AM_OK)
                return rc;
            if (w->err)
                break; /* the writer says why (w->err) */
            done += j->next - before;
            if (j->next > j->to || !x.any)
                j->done = 1; /* all written, or the log ends sooner than its head said */
            else
                active++;
            progress(c, STICK_PHASE_EXPORT, done, c->r->to_export, 0);
        }
    }
    return AM_OK;
}

static int export_all(struct ctx *c, const struct heads *nh, struct job *jobs, size_t nj,
                      int site_same)
{
    const struct stick_cfg *cfg = c->cfg;
    struct writer w;
    struct buf vrec = {0};
    uint64_t avail = UINT64_MAX, unit = 1;
    size_t n_notes = 0, n_evidence = 0;
    int rc = AM_OK;

    for (size_t i = 0; i < c->n_files; i++)
        if (c->files[i].info.state == STICK_SEG_CUT)
            n_notes++;
    for (size_t i = 0; i < c->n_intr; i++)
        if (!c->intr[i].found)
            n_evidence++;
    if (!nj && !n_notes && !n_evidence && site_same)
        return AM_OK; /* nothing to say: the stick stays byte for byte as it is */

    memset(&w, 0, sizeof w);
    w.c = c;
    w.seg_target = cfg->segment_target ? cfg->segment_target : STICK_SEGMENT_TARGET;
    if (w.seg_target > STICK_SEGMENT_MAX)
        w.seg_target = STICK_SEGMENT_MAX;
    w.chunk_target = cfg->chunk_target ? cfg->chunk_target : STICK_CHUNK_TARGET;
    if (w.chunk_target > STICK_CHUNK_MAX - AM_ENTRY_MAX - 3)
        w.chunk_target = STICK_CHUNK_MAX - AM_ENTRY_MAX - 3;
    w.pcap = w.chunk_target + AM_ENTRY_MAX + 3;
    w.plain = malloc(w.pcap);
    w.touched = malloc((nj ? nj : 1) * sizeof *w.touched);
    if (!w.plain || !w.touched) {
        rc = AM_ENOMEM;
        goto out;
    }
    if (c->f->space(c->f->ctx, c->dir, &avail, &unit) != AM_OK)
        avail = UINT64_MAX;
    w.unit = unit ? unit : 1;
    w.tail = END_CHUNK_LEN + CHUNK_OVERHEAD + visit_record_max(c, nh);
    if (avail != UINT64_MAX) {
        /* room kept for the manifest slot to grow, and a unit of slack */
        uint64_t reserve =
            2 * round_up(STICK_MAN_HEADER_LEN + 64 + (uint64_t)(c->n_files + 16) * MAN_SEG_LEN +
                             (uint64_t)(c->at.n + nh->n) * MAN_AUTHOR_LEN +
                             (uint64_t)(c->n_sites + 1) *
                                 (MAN_VISIT_FIXED + AM_NAME_MAX + 64 * MAN_EXC_LEN),
                         w.unit) +
            w.unit;
        w.budget = avail > reserve ? avail - reserve : 0;
    } else {
        w.budget = UINT64_MAX;
    }
    if (cfg->max_bytes && cfg->max_bytes < w.budget)
        w.budget = cfg->max_bytes;

    /* 1. cut notes for damage found now (in the files the scan saw, not the new ones) */
    for (size_t i = 0, scanned = c->n_files; i < scanned && !w.err; i++) {
        struct sfile *f = &c->files[i];
        uint8_t rec[CUT_REC_LEN];
        if (f->info.state != STICK_SEG_CUT)
            continue;
        rec[0] = STICK_REC_CUT;
        put32(rec + 1, f->info.number);
        put64(rec + 5, f->info.valid);
        if (f->info.valid >= STICK_SEG_HEADER_LEN)
            memcpy(rec + 13, f->header_id, STICK_HEADER_ID_LEN);
        else
            memset(rec + 13, 0, STICK_HEADER_ID_LEN);
        if (w_record(&w, rec, sizeof rec, 0) == AM_OK) {
            c->files[i].noted = 1; /* w_record may have moved c->files */
            c->r->cut_notes++;
        }
    }
    /* 2. what the stick lacks, authors in turns */
    if (!w.err && (rc = export_jobs(c, &w, jobs, nj)) != AM_OK)
        goto out;
    /* 3. fork evidence (and kept entries) the stick lacks */
    for (size_t i = 0; i < c->n_intr && !w.full && !w.err; i++) {
        struct evctx x = {&w, &c->intr[i], AM_OK, 0, 0};
        if (c->intr[i].found)
            continue;
        rc = c->intr[i].evidence
                 ? c->ss->forks(c->ss->ctx, c->intr[i].author, on_export_one, &x)
                 : c->ss->entries(c->ss->ctx, c->intr[i].author, c->intr[i].seq, on_export_one, &x);
        if (rc != AM_OK)
            goto out;
        /* evidence is rare: one chunk each, counted once it is written */
        if (x.added && w_flush(&w) == AM_OK)
            count_author_entries(c, c->intr[i].author, 1);
    }
    w_flush(&w); /* a failure is in w.full / w.err */
    /* the stick's heads now */
    for (size_t i = 0; i < nj; i++) {
        uint32_t idx;
        if (!jobs[i].written)
            continue;
        c->r->exported += jobs[i].written;
        c->r->exported_authors++;
        if (atab_get(&c->at, jobs[i].author, 1, &idx) == AM_OK) {
            vv_extend(&c->at.it[idx], jobs[i].from + jobs[i].written - 1);
            c->at.it[idx].entries += jobs[i].written;
        }
    }
    /* 4. this site's visit record, then END */
    if (!w.err) {
        uint32_t idx;
        for (size_t i = 0; i < nh->n; i++)
            atab_get(&c->at, nh->h[i].author, 1, &idx);
        rc = visit_record(c, nh, &vrec);
        if (rc != AM_OK)
            goto out;
        if (w_record(&w, vrec.p, vrec.len, 1) == AM_OK) {
            struct site *s = NULL;
            const uint8_t *exc;
            uint32_t ne;
            struct stick_visit v;
            c->r->visit_written = 1;
            /* decoded as a reader will: a record readers refuse (a name that is not
             * printable text, which node_open never hands over) makes no site here */
            if (stick_visit_decode(vrec.p + 1, vrec.len - 1, &v, &exc, &ne) == AM_OK &&
                (s = site_get(c, cfg->install_id, cfg->author, 1)) != NULL) {
                memcpy(s->v.name, v.name, sizeof v.name);
                s->v.time_ms = v.time_ms;
                if ((rc = site_snapshot(c, s, exc, ne)) != AM_OK)
                    goto out;
            }
        }
    }
    rc = w_close_seg(&w);
    c->f->fsync_dir(c->f->ctx, c->dir);
    if (w.err == AM_EPERM && c->r->readonly_why == AM_EPERM)
        rc = AM_OK; /* a read-only volume: imported, nothing written, said in the report */
    else if (w.err)
        rc = w.err;
    else
        rc = AM_OK;
    c->r->full = w.full;
out:
    free(vrec.p);
    free(w.plain);
    free(w.cbuf);
    free(w.touched);
    return rc;
}

/* Cuts each segment a note written now covers back to its readable length. */
static void cut_noted(struct ctx *c)
{
    for (size_t i = 0; i < c->n_files; i++) {
        struct sfile *f = &c->files[i];
        char path[PATH_CAP];
        uint64_t size;
        int fd;
        if (!f->noted)
            continue;
        f->info.state = STICK_SEG_CUT_ACK;
        if (f->foreign || f->info.valid >= f->info.size || join(path, c->dir, f->name) != AM_OK ||
            c->f->open(c->f->ctx, path, STICK_OPEN_WRITE, &fd) != AM_OK)
            continue;
        if (c->f->truncate(c->f->ctx, fd, f->info.valid) == AM_OK)
            c->f->fsync(c->f->ctx, fd);
        c->f->close(c->f->ctx, fd);
        if (file_size(c, f->name, &size) == AM_OK)
            f->info.size = size;
    }
}

static int view_equal(const struct stick_view *a, const struct stick_view *b)
{
    struct buf x = {0}, y = {0};
    int eq = manifest_body(a, &x) == AM_OK && manifest_body(b, &y) == AM_OK && x.len == y.len &&
             memcmp(x.p, y.p, x.len) == 0;
    free(x.p);
    free(y.p);
    return eq;
}

static int write_manifest(struct ctx *c, const struct stick_view *v)
{
    int slot = c->man_slot == 0 ? 1 : 0;
    uint64_t gen = 1;
    char path[PATH_CAP];
    uint8_t *buf = NULL;
    size_t len;
    int fd, rc;

    for (int s = 0; s < 2; s++)
        if (c->slot_ok[s] && c->slot_gen[s] >= gen)
            gen = c->slot_gen[s] + 1;
    rc = stick_manifest_encode(&c->keys, slot ? 'B' : 'A', gen, v, &buf, &len);
    if (rc != AM_OK)
        return rc;
    if (join(path, c->dir,
             c->slot_present[slot] ? c->slot_file[slot]
                                   : (slot ? STICK_MAN_SLOT_B : STICK_MAN_SLOT_A)) != AM_OK) {
        free(buf);
        return AM_EINVAL;
    }
    rc = c->f->open(c->f->ctx, path, STICK_OPEN_WRITE, &fd);
    if (rc == AM_OK) {
        rc = c->f->write(c->f->ctx, fd, 0, buf, len);
        if (rc == AM_OK)
            rc = c->f->fsync(c->f->ctx, fd);
        c->f->close(c->f->ctx, fd);
    }
    free(buf);
    if (rc != AM_OK)
        return rc;
    c->f->fsync_dir(c->f->ctx, c->dir);
    c->r->manifest_written = 1;
    return AM_OK;
}

static void report_after(struct ctx *c, const struct stick_view *v)
{
    uint64_t unit;
    c->r->stick_entries = v->entries;
    c->r->stick_authors = 0;
    for (size_t i = 0; i < v->n_authors; i++)
        if (v->authors[i].entries)
            c->r->stick_authors++;
    if (c->f->space(c->f->ctx, c->dir, &c->r->free_bytes, &unit) != AM_OK)
        c->r->free_bytes = UINT64_MAX;
    if (c->r->n_damage > 1) {
        size_t n = c->r->n_damage < STICK_DAMAGE_MAX ? (size_t)c->r->n_damage : STICK_DAMAGE_MAX;
        qsort(c->r->damage, n, sizeof *c->r->damage, damage_cmp);
    }
}

int stick_sync(const struct stick_cfg *cfg, const struct sync_store *ss, struct stick_report *r)
{
    struct ctx c;
    struct heads before = {0}, nh = {0};
    struct job *jobs = NULL;
    struct stick_view view = {0};
    size_t nj = 0;
    int rc, writable, site_same;

    rc = ctx_init(&c, cfg, ss, r);
    if (rc != AM_OK)
        goto out;
    if (!ss || !cfg->install_id || !cfg->author) {
        rc = AM_EINVAL;
        goto out;
    }
    writable = !(cfg->flags & STICK_F_NO_WRITE);
    rc = locate(&c, writable && (cfg->flags & STICK_F_CREATE));
    if (rc != AM_OK)
        goto out;
    if ((rc = list_dir(&c)) != AM_OK)
        goto out;
    read_slots(&c);

    /* fork evidence this node holds: the stick must carry it too */
    if ((rc = get_heads(ss, &before)) != AM_OK)
        goto out;
    for (size_t i = 0; i < before.n; i++)
        if ((before.h[i].flags & 1u) && (rc = gather_author_forks(&c, before.h[i].author, 0)))
            goto out;
    sort_interest(&c);

    /* 1. import: everything the stick holds, verified by the store */
    if ((rc = scan_all(&c)) != AM_OK)
        goto out;
    if ((rc = get_heads(ss, &nh)) != AM_OK)
        goto out;
    if (!writable)
        goto done;
    /* forks found in this import: the evidence came from the stick, the kept entry may
     * not have */
    for (size_t i = 0; i < nh.n; i++) {
        const struct sync_head *b = heads_find(&before, nh.h[i].author);
        if ((nh.h[i].flags & 1u) && !(b && (b->flags & 1u)) &&
            (rc = gather_author_forks(&c, nh.h[i].author, 1)) != AM_OK)
            goto out;
    }
    sort_interest(&c);

    /* 2. what the stick lacks */
    if (nh.n && !(jobs = calloc(nh.n, sizeof *jobs))) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nh.n; i++) {
        uint32_t idx;
        uint64_t s = atab_get(&c.at, nh.h[i].author, 0, &idx) == AM_OK ? c.at.it[idx].head : 0;
        struct job *j;
        if (nh.h[i].seq <= s)
            continue;
        j = &jobs[nj++];
        memcpy(j->author, nh.h[i].author, AM_PK_LEN);
        j->from = j->next = s + 1;
        j->to = nh.h[i].seq;
        for (size_t k = 0; k < c.n_sites; k++) {
            uint64_t q =
                atab_get(&c.at, j->author, 0, &idx) == AM_OK ? site_seq(&c.sites[k], idx) : 0;
            if (q < j->to)
                j->behind++;
        }
        r->to_export += j->to - s;
    }
    if (nj)
        qsort(jobs, nj, sizeof *jobs, job_cmp);
    site_same = site_unchanged(&c, &nh);
    rc = export_all(&c, &nh, jobs, nj, site_same);
    if (rc != AM_OK)
        goto out;
    for (size_t i = 0; i < nj; i++)
        if (jobs[i].written < jobs[i].to - jobs[i].from + 1) {
            r->unfit_entries += jobs[i].to - jobs[i].from + 1 - jobs[i].written;
            r->unfit_authors++;
        }
    if (r->readonly_why)
        goto done;
    cut_noted(&c);

    /* 3. the manifest, when what it would say changed */
    if ((rc = build_view(&c, &view)) != AM_OK)
        goto out;
    {
        int other = c.man_slot == 0 ? 1 : 0;
        if (c.man_slot < 0 || !view_equal(&view, &c.man) ||
            (c.slot_present[other] && !c.slot_ok[other])) {
            int mrc = write_manifest(&c, &view);
            /* AM_EEXIST: the slot's name holds no file (a link, a pipe; the fops report it
             * as damage): the manifest is a cache, the sync stands without it */
            if (mrc == AM_EFULL)
                r->full = 1;
            else if (mrc != AM_OK && mrc != AM_ELIMIT && mrc != AM_EEXIST) {
                rc = sys_err(&c, mrc);
                goto out;
            }
        }
    }
    report_after(&c, &view);
    rc = AM_OK;
    goto out;
done:
    if ((rc = build_view(&c, &view)) != AM_OK)
        goto out;
    report_after(&c, &view);
    rc = AM_OK;
out:
    r->error = rc;
    stick_view_free(&view);
    free(jobs);
    free(before.h);
    free(nh.h);
    ctx_free(&c);
    return rc;
}

int stick_inspect(const struct stick_cfg *cfg, int force_scan, struct stick_view *v,
                  struct stick_report *r)
{
    struct stick_report local;
    struct ctx c;
    int rc;

    memset(v, 0, sizeof *v);
    if (!r)
        r = &local;
    rc = ctx_init(&c, cfg, NULL, r);
    if (rc != AM_OK)
        goto out;
    if ((rc = locate(&c, 0)) != AM_OK)
        goto out;
    if ((rc = list_dir(&c)) != AM_OK)
        goto out;
    read_slots(&c);
    if (!force_scan && c.man_slot >= 0 && c.man.n_segs == c.n_files) {
        int same = 1;
        for (size_t i = 0; i < c.n_files && same; i++)
            same = c.man.segs[i].number == c.files[i].info.number &&
                   c.man.segs[i].size == c.files[i].info.size;
        if (same) {
            *v = c.man;
            memset(&c.man, 0, sizeof c.man);
            report_after(&c, v);
            goto out;
        }
    }
    if ((rc = scan_all(&c)) != AM_OK)
        goto out;
    if ((rc = build_view(&c, v)) != AM_OK)
        goto out;
    v->generation = c.man_slot >= 0 ? c.slot_gen[c.man_slot] : 0;
    report_after(&c, v);
out:
    r->error = rc;
    ctx_free(&c);
    return rc;
}
