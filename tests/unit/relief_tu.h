/*
 * relief_tu.h: small helpers the tests of relief op types share: a string and a ref as
 * the codec takes them, an encode that must succeed, and msgpack maps built by hand for
 * the bytes an encoder never writes (mb_*), decoded with an expected result.
 */
#ifndef AM_RELIEF_TU_H
#define AM_RELIEF_TU_H

#include <criterion/criterion.h>
#include <msgpack.h>
#include <string.h>

#include "am_err.h"
#include "relief.h"

static inline struct relief_str S(const char *s) {
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

/* A ref of author a (every byte a) at seq. */
static inline struct relief_ref
R(uint8_t a, uint64_t seq) {
    struct relief_ref r;
    memset(r.author, a, AM_PK_LEN);
    r.seq = seq;
    return r;
}

static inline size_t
enc(const struct relief_op *op, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    char err[RELIEF_ERR_MAX] = "";
    int rc = relief_op_encode(op, buf, cap, &len, err, sizeof err);
    cr_assert_eq(rc, AM_OK, "encode: %s (%s)", am_strerror(rc), err);
    return len;
}

/* A map written by hand, for bytes the encoder never writes. */
struct mb {
    msgpack_sbuffer sb;
    msgpack_packer pk;
};

static inline void mb_begin(struct mb *m, uint32_t pairs)
{
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
    msgpack_pack_map(&m->pk, pairs);
}

static inline void mb_str(struct mb *m, const char *s)
{
    msgpack_pack_str(&m->pk, strlen(s));
    msgpack_pack_str_body(&m->pk, s, strlen(s));
}

/* Decodes the map: the result must be `want`, and the error say `needle` (NULL: any). */
static inline void mb_expect(struct mb *m, int want, const char *needle)
{
    struct relief_op op;
    char err[RELIEF_ERR_MAX] = "";
    int rc = relief_op_decode((const uint8_t *)m->sb.data, m->sb.size, &op, err, sizeof err);
    cr_assert_eq(rc, want, "got %d (%s), want %d", rc, err, want);
    if (needle)
        cr_assert(strstr(err, needle), "error \"%s\" does not say \"%s\"", err, needle);
    msgpack_sbuffer_destroy(&m->sb);
}

#endif
