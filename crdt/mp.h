/*
 * mp.h: strict validation and bounded reading of msgpack bytes from outside.
 *
 * msgpack-c allocates whatever an array or map header declares before the elements
 * arrive, so bytes from the network, a stick or a file pass mp_check() first: one pass,
 * no allocation, explicit depth / string / container limits, no ext types, every declared
 * element backed by at least one byte. mp_cur then reads validated bytes field by field
 * without copying. Never prints, never allocates.
 */
#ifndef AM_MP_H
#define AM_MP_H

#include <stddef.h>
#include <stdint.h>

struct mp_limits {
    unsigned depth_max;     /* containers nested deeper than this: AM_ELIMIT */
    uint32_t str_max;       /* str or bin longer than this: AM_ELIMIT */
    uint32_t container_max; /* array elements / map pairs above this: AM_ELIMIT */
};

/* The limits of am_limits.h for ops inside entries. */
extern const struct mp_limits mp_limits_entry;

/*
 * Checks that buf[0..len) begins with exactly one well-formed msgpack object within
 * `lim`. On success stores the object's size in *used (the caller decides whether
 * trailing bytes are allowed). Returns AM_OK, AM_EMALFORMED (truncated, reserved byte
 * 0xc1, ext types, a count that the remaining bytes cannot hold) or AM_ELIMIT.
 */
int mp_check(const uint8_t *buf, size_t len, size_t *used, const struct mp_limits *lim);

/* A read cursor over validated bytes. Each getter returns AM_OK, or AM_EMALFORMED when
 * the next object is not of the asked type or would run past the end; the cursor does
 * not move on failure. */
struct mp_cur {
    const uint8_t *p;
    const uint8_t *end;
};

int mp_get_array(struct mp_cur *c, uint32_t *n);
int mp_get_map(struct mp_cur *c, uint32_t *n);
int mp_get_uint(struct mp_cur *c, uint64_t *v);
int mp_get_int(struct mp_cur *c, int64_t *v);
int mp_get_bool(struct mp_cur *c, int *v);
int mp_get_nil(struct mp_cur *c);
/* str / bin: *p points into the cursor's buffer, valid as long as the buffer is. */
int mp_get_str(struct mp_cur *c, const uint8_t **p, uint32_t *n);
int mp_get_bin(struct mp_cur *c, const uint8_t **p, uint32_t *n);
/* Skips one whole object (of validated bytes). */
int mp_skip(struct mp_cur *c);
/* Type byte class of the next object, for dispatch: 'u' uint, 'i' negative int, 's' str,
 * 'b' bin, 'a' array, 'm' map, 'n' nil, 't' bool, 'f' float, 0 at the end or unknown. */
int mp_peek(const struct mp_cur *c);

#endif
