/*
 * out.h: output helpers of the CLI: JSON writing, msgpack rendered as JSON, text made
 * safe for a terminal, times, numbers with thousands separators, short ids. All write to a
 * FILE* or a caller's buffer.
 */
#ifndef AM_OUT_H
#define AM_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/*
 * JSON output goes through jansson (also used by node/status.c): a command builds a json_t
 * and hands it to out_json_put. Every --json output is ASCII (JSON_ENSURE_ASCII): a
 * character beyond ASCII is a \uXXXX escape, so no stored text can act on a terminal that
 * shows the JSON, and the output is valid UTF-8 whatever the store holds.
 */
/* A JSON string of s[0..n), which may hold any bytes: each byte that is not part of strict
 * UTF-8 becomes U+FFFD. NULL only when out of memory (jansson then drops it from a
 * container it is set into, and out_json_put fails). */
json_t *out_json_text(const char *s, size_t n);
/* out_json_text of a NUL-terminated string, or JSON null for NULL. */
json_t *out_json_strz(const char *s);
/* Writes v compact and ASCII-only, reals with 12 significant digits (so a coordinate of
 * micro-degrees prints as typed: 12.123456), then a newline, and releases v. Returns 0, or
 * -1 when v is NULL (a json_* constructor ran out of memory) or writing failed. */
int out_json_put(FILE *f, json_t *v);

/*
 * Text for a terminal. Every name, unit, note or other text that came from the store or
 * from another node is printed through these, so that text stored before the rule of
 * printable text (am_text.h) or forged around it cannot act on a terminal: what follows
 * the rule is copied; a C0 control or DEL is shown as \xNN (TAB and LF as \t and \n, or
 * kept with OUT_TEXT_LINES), a C1 or bidirectional control as \uXXXX, and a byte that is
 * not strict UTF-8 as \xNN. The result is always valid UTF-8.
 */
#define OUT_TEXT_LINES 1u /* keep TAB and LF (multi-line notes) */

/* Writes the escaped form of s[0..n) into out (cap > 0 bytes, NUL-terminated), cut
 * between characters when it does not fit. Returns its length in bytes; *chars (when
 * not NULL) gets its length in characters (code points), for padding columns. */
size_t out_text_esc(char *out, size_t cap, const char *s, size_t n, unsigned flags, size_t *chars);
/* Writes the escaped form of s[0..n) to f. With OUT_TEXT_LINES, every LF is followed by
 * `indent` (may be NULL) so that continuation lines line up. */
void out_text(FILE *f, const char *s, size_t n, unsigned flags, const char *indent);
/* A cell of a table: the escaped form of s[0..n) in w characters, cut (its last character
 * then '~') or padded with spaces on the right (left when `right`); with `last`, not
 * padded. w is at most 120. */
void out_col(FILE *f, const char *s, size_t n, int w, int right, int last);
/* A JSON integer of v; above INT64_MAX (beyond jansson's integers) the nearest real. */
json_t *out_json_u64(uint64_t v);
/* Validated msgpack bytes as a JSON value: strings through out_json_text, bin as a hex
 * string, a non-string map key as a string of its JSON text, a float as null (aidmesh ops
 * hold none), a uint through out_json_u64; a repeated map key keeps its first place and
 * its last value. NULL on malformed input (or out of memory). */
json_t *out_msgpack_value(const uint8_t *p, size_t n);
/* Writes out_msgpack_value of p for a person: its JSON text (compact), with every
 * character a terminal could act on escaped as out_text does. Returns 0, or -1 on
 * malformed input. */
int out_msgpack_json(FILE *f, const uint8_t *p, size_t n);
/* "2026-11-26T18:12:43.123Z" for milliseconds since the epoch. */
void out_iso_ms(char buf[32], uint64_t ms);
/* "1,204" */
void out_count(char buf[32], uint64_t v);
/* Lowercase hex of n bytes into out (2n+1). */
void out_hex(char *out, const uint8_t *p, size_t n);

#endif
