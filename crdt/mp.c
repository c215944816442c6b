/*
 * mp.c: strict msgpack validation and a bounded read cursor (see mp.h).
 * Must never read past `end`, allocate, or trust a declared count before checking it
 * against the bytes that are left.
 */
#include "mp.h"

#include "am_err.h"
#include "am_limits.h"

const struct mp_limits mp_limits_entry = {
    .depth_max = AM_MP_DEPTH_MAX,
    .str_max = AM_MP_STR_MAX,
    .container_max = AM_MP_CONTAINER_MAX,
};

static uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Describes the object starting at p: header size, payload size (bytes after the header
 * for scalars, str, bin) and, for containers, the number of child objects. Returns the
 * type class as mp_peek does, or 0 for a byte that aidmesh never accepts. Needs `avail`
 * bytes to read the header; returns -1 when the header itself is truncated. */
static int describe(const uint8_t *p, size_t avail, size_t *hdr, uint64_t *payload,
                    uint64_t *children)
{
    uint8_t b;
    unsigned w = 0;
    int cls;

    if (avail < 1)
        return -1;
    b = p[0];
    *hdr = 1;
    *payload = 0;
    *children = 0;
    if (b <= 0x7f)
        return 'u';
    if (b >= 0xe0)
        return 'i';
    if (b >= 0x80 && b <= 0x8f) {
        *children = 2u * (b & 0x0f);
        return 'm';
    }
    if (b >= 0x90 && b <= 0x9f) {
        *children = b & 0x0f;
        return 'a';
    }
    if (b >= 0xa0 && b <= 0xbf) {
        *payload = b & 0x1f;
        return 's';
    }
    switch (b) {
    case 0xc0:
        return 'n';
    case 0xc2:
    case 0xc3:
        return 't';
    case 0xca:
        *payload = 4;
        return 'f';
    case 0xcb:
        *payload = 8;
        return 'f';
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        *payload = 1u << (b - 0xcc);
        return 'u';
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
        *payload = 1u << (b - 0xd0);
        return 'i';
    case 0xc4:
    case 0xc5:
    case 0xc6:
        w = 1u << (b - 0xc4);
        cls = 'b';
        break;
    case 0xd9:
    case 0xda:
    case 0xdb:
        w = 1u << (b - 0xd9);
        cls = 's';
        break;
    case 0xdc:
    case 0xdd:
        w = 2u << (b - 0xdc);
        cls = 'a';
        break;
    case 0xde:
    case 0xdf:
        w = 2u << (b - 0xde);
        cls = 'm';
        break;
    default:
        return 0; /* 0xc1 and every ext type */
    }
    if (avail < 1 + (size_t)w)
        return -1;
    *hdr = 1 + w;
    if (cls == 'a')
        *children = be(p + 1, w);
    else if (cls == 'm')
        *children = 2 * be(p + 1, w);
    else
        *payload = be(p + 1, w);
    return cls;
}

int mp_check(const uint8_t *buf, size_t len, size_t *used, const struct mp_limits *lim)
{
    uint64_t remaining[AM_MP_DEPTH_MAX + 1];
    unsigned depth = 0;
    unsigned depth_max = lim->depth_max < AM_MP_DEPTH_MAX ? lim->depth_max : AM_MP_DEPTH_MAX;
    size_t pos = 0;

    remaining[0] = 1;
    for (;;) {
        size_t hdr;
        uint64_t payload, children;
        int cls;

        while (remaining[depth] == 0) {
            if (depth == 0) {
                *used = pos;
                return AM_OK;
            }
            depth--;
        }
        remaining[depth]--;
        cls = describe(buf + pos, len - pos, &hdr, &payload, &children);
        if (cls <= 0)
            return AM_EMALFORMED;
        pos += hdr;
        if (cls == 'a' || cls == 'm') {
            uint64_t elems = cls == 'm' ? children / 2 : children;
            if (elems > lim->container_max)
                return AM_ELIMIT;
            if (depth + 1 > depth_max)
                return AM_ELIMIT;
            if (children > len - pos)
                return AM_EMALFORMED; /* every child needs at least one byte */
            if (children > 0) {
                depth++;
                remaining[depth] = children;
            }
            continue;
        }
        if ((cls == 's' || cls == 'b') && payload > lim->str_max)
            return AM_ELIMIT;
        if (payload > len - pos)
            return AM_EMALFORMED;
        pos += (size_t)payload;
    }
}

int mp_peek(const struct mp_cur *c)
{
    size_t hdr;
    uint64_t payload, children;
    int cls = describe(c->p, (size_t)(c->end - c->p), &hdr, &payload, &children);
    return cls < 0 ? 0 : cls;
}

/* Reads the header of the next object if its class is `want`. */
static int take(struct mp_cur *c, int want, size_t *hdr, uint64_t *payload, uint64_t *children)
{
    size_t avail = (size_t)(c->end - c->p);
    int cls = describe(c->p, avail, hdr, payload, children);
    if (cls != want)
        return AM_EMALFORMED;
    if (*payload > avail - *hdr)
        return AM_EMALFORMED;
    return AM_OK;
}

int mp_get_array(struct mp_cur *c, uint32_t *n)
{
    size_t hdr;
    uint64_t payload, children;
    if (take(c, 'a', &hdr, &payload, &children) != AM_OK || children > UINT32_MAX)
        return AM_EMALFORMED;
    *n = (uint32_t)children;
    c->p += hdr;
    return AM_OK;
}

int mp_get_map(struct mp_cur *c, uint32_t *n)
{
    size_t hdr;
    uint64_t payload, children;
    if (take(c, 'm', &hdr, &payload, &children) != AM_OK || children / 2 > UINT32_MAX)
        return AM_EMALFORMED;
    *n = (uint32_t)(children / 2);
    c->p += hdr;
    return AM_OK;
}

int mp_get_uint(struct mp_cur *c, uint64_t *v)
{
    size_t hdr;
    uint64_t payload, children;
    if (take(c, 'u', &hdr, &payload, &children) != AM_OK)
        return AM_EMALFORMED;
    *v = hdr + payload == 1 ? c->p[0] : be(c->p + 1, (unsigned)payload);
    c->p += hdr + payload;
    return AM_OK;
}

int mp_get_int(struct mp_cur *c, int64_t *v)
{
    size_t hdr;
    uint64_t payload, children;
    int cls = mp_peek(c);

    if (cls == 'u') {
        const uint8_t *start = c->p;
        uint64_t u;
        if (mp_get_uint(c, &u) != AM_OK)
            return AM_EMALFORMED;
        if (u > (uint64_t)INT64_MAX) {
            c->p = start; /* a failing getter leaves the cursor where it was */
            return AM_EMALFORMED;
        }
        *v = (int64_t)u;
        return AM_OK;
    }
    if (take(c, 'i', &hdr, &payload, &children) != AM_OK)
        return AM_EMALFORMED;
    if (payload == 0) {
        *v = (int8_t)c->p[0];
    } else {
        uint64_t u = be(c->p + 1, (unsigned)payload);
        unsigned bits = 8 * (unsigned)payload;
        if (bits < 64 && (u >> (bits - 1)) & 1)
            u |= ~0ULL << bits; /* sign-extend */
        *v = (int64_t)u;
    }
    c->p += hdr + payload;
    return AM_OK;
}

int mp_get_bool(struct mp_cur *c, int *v)
{
    if (mp_peek(c) != 't')
        return AM_EMALFORMED;
    *v = c->p[0] == 0xc3;
    c->p++;
    return AM_OK;
}

int mp_get_nil(struct mp_cur *c)
{
    if (mp_peek(c) != 'n')
        return AM_EMALFORMED;
    c->p++;
    return AM_OK;
}

static int get_blob(struct mp_cur *c, int want, const uint8_t **p, uint32_t *n)
{
    size_t hdr;
    uint64_t payload, children;
    if (take(c, want, &hdr, &payload, &children) != AM_OK || payload > UINT32_MAX)
        return AM_EMALFORMED;
    *p = c->p + hdr;
    *n = (uint32_t)payload;
    c->p += hdr + payload;
    return AM_OK;
}

int mp_get_str(struct mp_cur *c, const uint8_t **p, uint32_t *n)
{
    return get_blob(c, 's', p, n);
}

int mp_get_bin(struct mp_cur *c, const uint8_t **p, uint32_t *n)
{
    return get_blob(c, 'b', p, n);
}

int mp_skip(struct mp_cur *c)
{
    static const struct mp_limits any = {AM_MP_DEPTH_MAX, UINT32_MAX, UINT32_MAX};
    size_t used;
    int rc = mp_check(c->p, (size_t)(c->end - c->p), &used, &any);
    if (rc != AM_OK)
        return rc;
    c->p += used;
    return AM_OK;
}
