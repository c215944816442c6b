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

/* Writes s (n bytes, may hold anything) as a JSON string with quotes, always valid JSON
 * in UTF-8: '"', '\\' and every C0 control, DEL, C1 control and bidirectional control
 * (am_text.h) escaped (\n, \t, \uXXXX); a byte that is not strict UTF-8 becomes \ufffd. */
void out_json_str(FILE *f, const char *s, size_t n);

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
