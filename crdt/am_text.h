/*
 * am_text.h: the one rule for text that people read (PROTOCOL.md §10.2, "Printable
 * text"): node names, site and item names, units and notes. Such text is strict UTF-8
 * with no control character and no bidirectional embedding, override or isolate, so that
 * it can be shown on a terminal, a page or a spreadsheet without acting on it.
 *
 * Pure: no I/O, no allocation, no state. Never prints: am_text_explain writes a phrase
 * into the caller's buffer.
 */
#ifndef AM_TEXT_H
#define AM_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Flags of am_text_check. */
#define AM_TEXT_LINES 1u /* TAB (U+0009) and LF (U+000A) are allowed: notes */

/* Why a character breaks the rule. */
enum am_text_why {
    AM_TEXT_GOOD = 0,
    AM_TEXT_UTF8,    /* not strict UTF-8: a stray, overlong, surrogate or > U+10FFFF form */
    AM_TEXT_CONTROL, /* C0 (U+0000-U+001F), DEL (U+007F) or C1 (U+0080-U+009F) */
    AM_TEXT_BIDI,    /* U+202A-U+202E, U+2066-U+2069: embeddings, overrides, isolates */
};

/* Where a text first breaks the rule. */
struct am_text_bad {
    size_t off;  /* byte offset of the offending character (0-based) */
    size_t chr;  /* its position in characters (1-based); a bad byte counts as one */
    uint32_t cp; /* its code point; for AM_TEXT_UTF8 the offending byte */
    int why;     /* enum am_text_why */
};

/* Decodes one strict UTF-8 character at p[0..n), n >= 1: returns its length (1 to 4) and
 * its code point in *cp, or 0 when p does not start a valid character (a continuation
 * byte, 0xC0/0xC1/0xF5-0xFF, a truncated sequence, an overlong form, a surrogate
 * U+D800-U+DFFF, or a value above U+10FFFF). */
size_t am_text_decode(const uint8_t *p, size_t n, uint32_t *cp);

/* AM_TEXT_GOOD when code point cp may appear in text checked with `flags`, else why not
 * (AM_TEXT_CONTROL or AM_TEXT_BIDI; surrogates and values above U+10FFFF: AM_TEXT_UTF8). */
int am_text_cp_why(uint32_t cp, unsigned flags);

/* Checks p[0..n) against the rule. Returns 0 (AM_OK) when it holds, else AM_EMALFORMED
 * with the first offending character in *bad (when bad is not NULL). p may be NULL when
 * n is 0. */
int am_text_check(const void *p, size_t n, unsigned flags, struct am_text_bad *bad);

/* 1 when p[0..n) follows the rule, else 0. */
int am_text_ok(const void *p, size_t n, unsigned flags);

/* A phrase for people into out (always NUL-terminated when cap > 0), e.g.
 * "character 4 (byte 4) is U+001B ESC, a control character". */
void am_text_explain(char *out, size_t cap, const struct am_text_bad *bad);

#endif
