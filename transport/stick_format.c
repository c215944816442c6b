/*
 * stick_format.c: the bytes of the stick (PROTOCOL.md section 11): the keys (11.2), the
 * names of segment files and of the network folder (11.1), the segment header and the
 * records inside chunks (11.3), and the manifest's encoding and decoding (11.4). Part of
 * the stick module (stick_int.h); the sync that uses them is in stick.c.
 *
 * Must never: trust a length read from the stick before checking it against the limits of
 * stick.h, allocate what a stick's bytes ask for without a cap, accept a manifest that does
 * not authenticate or has bytes left over, or let two views with the same content encode
 * differently. Never prints, never reads a clock, touches no file.
 */
#include "stick_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_text.h"
#include "invite.h"

/* ---- bytes ---------------------------------------------------------------------------- */

int stick_ieq(const char *a, const char *b)
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
uint32_t stick_seg_number(const char *name)
{
    uint32_t n = 0;
    if (strlen(name) != STICK_NAME_LEN || (name[0] != 'S' && name[0] != 's') || name[8] != '.')
        return 0;
    for (int i = 1; i < 8; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        n = n * 10 + (uint32_t)(name[i] - '0');
    }
    return stick_ieq(name + 9, "AMS") ? n : 0;
}

void stick_seg_name(uint32_t number, char out[STICK_NAME_LEN + 1])
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
int stick_parse_netid(const char *name, uint8_t id[AM_NETID_LEN])
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

int stick_join(char out[PATH_CAP], const char *a, const char *b)
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

int stick_visit_cmp(const void *a, const void *b)
{
    const struct stick_visit *x = a, *y = b;
    int c = memcmp(x->install, y->install, AM_INSTALL_ID_LEN);
    return c ? c : memcmp(x->author, y->author, AM_PK_LEN);
}

/* ---- manifest --------------------------------------------------------------------------- */

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

void stick_buf_u8(struct buf *b, uint8_t v)
{
    uint8_t *p = buf_grow(b, 1);
    if (p)
        *p = v;
}

void stick_buf_u32(struct buf *b, uint32_t v)
{
    uint8_t *p = buf_grow(b, 4);
    if (p)
        put32(p, v);
}

void stick_buf_u64(struct buf *b, uint64_t v)
{
    uint8_t *p = buf_grow(b, 8);
    if (p)
        put64(p, v);
}

void stick_buf_mem(struct buf *b, const void *m, size_t n)
{
    uint8_t *p = buf_grow(b, n);
    if (p && n)
        memcpy(p, m, n);
}

/* bsearch over the log table (ascending by id) by a 32-byte id. */
static int author_row_cmp(const void *key, const void *row)
{
    return memcmp(key, ((const struct stick_author *)row)->author, AM_PK_LEN);
}

/* Whether a row of the log table is a child log (a branch), not an author's root log. */
static int row_child(const struct stick_author *a)
{
    static const uint8_t zero[AM_PK_LEN];
    return memcmp(a->owner, zero, AM_PK_LEN) != 0 && memcmp(a->owner, a->author, AM_PK_LEN) != 0;
}

static uint32_t view_children(const struct stick_view *v)
{
    uint32_t n = 0;
    for (size_t i = 0; i < v->n_authors; i++)
        n += row_child(&v->authors[i]) != 0;
    return n;
}

/* The manifest body of a view (PROTOCOL.md 11.4): deterministic, so two views with
 * the same content give the same bytes. With child logs in the table (a version 2
 * manifest), a list of them follows the visits. */
int stick_manifest_body(const struct stick_view *v, struct buf *b)
{
    uint32_t children = view_children(v);
    stick_buf_u32(b, (uint32_t)v->n_segs);
    for (size_t i = 0; i < v->n_segs; i++) {
        stick_buf_u32(b, v->segs[i].number);
        stick_buf_u8(b, v->segs[i].state);
        stick_buf_u64(b, v->segs[i].size);
        stick_buf_u64(b, v->segs[i].valid);
        stick_buf_u64(b, v->segs[i].entries);
    }
    stick_buf_u32(b, (uint32_t)v->n_authors);
    for (size_t i = 0; i < v->n_authors; i++) {
        stick_buf_mem(b, v->authors[i].author, AM_PK_LEN);
        stick_buf_u64(b, v->authors[i].seq);
        stick_buf_u64(b, v->authors[i].entries);
    }
    stick_buf_u32(b, (uint32_t)v->n_visits);
    for (size_t i = 0; i < v->n_visits; i++) {
        const struct stick_visit *s = &v->visits[i];
        size_t nl = strlen(s->name);
        stick_buf_mem(b, s->install, AM_INSTALL_ID_LEN);
        stick_buf_mem(b, s->author, AM_PK_LEN);
        stick_buf_u64(b, s->time_ms);
        stick_buf_u8(b, (uint8_t)nl);
        stick_buf_mem(b, s->name, nl);
        stick_buf_u32(b, (uint32_t)s->n_vv);
        for (size_t k = 0; k < s->n_vv; k++) {
            const struct stick_author *a = view_author(v, s->vv[k].author);
            if (!a)
                return AM_EINVAL; /* every author a visit names is in the author table */
            stick_buf_u32(b, (uint32_t)(a - v->authors));
            stick_buf_u64(b, s->vv[k].seq);
        }
    }
    if (children) {
        stick_buf_u32(b, children);
        for (size_t i = 0; i < v->n_authors; i++)
            if (row_child(&v->authors[i])) {
                stick_buf_u32(b, (uint32_t)i);
                stick_buf_mem(b, v->authors[i].owner, AM_PK_LEN);
                stick_buf_u64(b, v->authors[i].first_seq);
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
    int rc = stick_manifest_body(v, &body);

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
    m[4] = view_children(v) ? STICK_MAN_VERSION_LOGS : STICK_FORMAT_VERSION;
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

static int manifest_parse(const uint8_t *p, size_t n, int version, struct stick_view *v)
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
        memcpy(a->owner, a->author, AM_PK_LEN);
        a->first_seq = 1;
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
        if (i && stick_visit_cmp(&v->visits[i - 1], s) >= 0)
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
    if (version == STICK_MAN_VERSION_LOGS) {
        uint32_t prev = 0;
        if (rc_need(&c, 4))
            return AM_EMALFORMED;
        cnt = get32(c.p);
        c.p += 4;
        if (cnt == 0 || cnt > v->n_authors || (size_t)(c.end - c.p) / (4 + AM_PK_LEN + 8) < cnt)
            return AM_EMALFORMED;
        for (uint32_t i = 0; i < cnt; i++) {
            uint32_t idx = get32(c.p);
            struct stick_author *a;
            if (idx >= v->n_authors || (i && idx <= prev))
                return AM_EMALFORMED;
            prev = idx;
            a = &v->authors[idx];
            memcpy(a->owner, c.p + 4, AM_PK_LEN);
            a->first_seq = get64(c.p + 4 + AM_PK_LEN);
            c.p += 4 + AM_PK_LEN + 8;
            if (!row_child(a) || a->first_seq < 1 || a->first_seq > a->seq + 1)
                return AM_EMALFORMED;
        }
        /* PROTOCOL.md 11.4: a child row's owner is a root row of the table, and visits name
         * root rows only */
        for (uint32_t i = 0; i < v->n_authors; i++) {
            const struct stick_author *o;
            if (!row_child(&v->authors[i]))
                continue;
            o = bsearch(v->authors[i].owner, v->authors, v->n_authors, sizeof *v->authors,
                        author_row_cmp);
            if (!o || row_child(o))
                return AM_EMALFORMED;
        }
        for (uint32_t i = 0; i < v->n_visits; i++)
            for (uint32_t k = 0; k < v->visits[i].n_vv; k++) {
                const struct stick_author *o =
                    bsearch(v->visits[i].vv[k].author, v->authors, v->n_authors, sizeof *v->authors,
                            author_row_cmp);
                if (!o || row_child(o))
                    return AM_EMALFORMED;
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
    if (buf[4] != STICK_FORMAT_VERSION && buf[4] != STICK_MAN_VERSION_LOGS)
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
    rc = manifest_parse(body, blen, buf[4], v);
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
