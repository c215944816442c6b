/*
 * out.h: output helpers of the CLI: JSON writing, msgpack rendered as JSON, times,
 * numbers with thousands separators, short ids. All write to a FILE*.
 */
#ifndef AM_OUT_H
#define AM_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s (n bytes, may hold anything) as a JSON string with quotes. */
void out_json_str(FILE *f, const char *s, size_t n);
/* Writes validated msgpack bytes as JSON (bin as hex strings, maps with non-string keys
 * get their keys rendered as strings). Returns 0, or -1 on malformed input. */
int out_msgpack_json(FILE *f, const uint8_t *p, size_t n);
/* "2026-11-26T18:12:43.123Z" for milliseconds since the epoch. */
void out_iso_ms(char buf[32], uint64_t ms);
/* "1,204" */
void out_count(char buf[32], uint64_t v);
/* Lowercase hex of n bytes into out (2n+1). */
void out_hex(char *out, const uint8_t *p, size_t n);

#endif
