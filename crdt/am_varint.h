/* am_varint.h: unsigned LEB128 varints (7 bits per byte, low bits first, high bit = more
 * follows), as the store's records use them (PROTOCOL.md section 7.1). */
#ifndef AM_VARINT_H
#define AM_VARINT_H

#include <stddef.h>
#include <stdint.h>

#include "am_err.h"

/* Bytes the varint of v takes (1 to 10). */
static inline size_t am_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Writes the varint of v at p (room for am_varint_len(v) bytes); returns the end. */
static inline uint8_t *am_varint_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Reads a varint from *p (before end) into *v and moves *p past it. AM_OK, or AM_ECORRUPT
 * when it runs past end or over 10 bytes. */
static inline int am_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        if (*p >= end)
            return AM_ECORRUPT;
        b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return AM_OK;
        }
    }
    return AM_ECORRUPT;
}

#endif
