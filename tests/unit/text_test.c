/*
 * text_test.c: the rule of printable text (crdt/am_text.c, PROTOCOL.md §10.2), the ops
 * that carry text (crdt/relief_op.c), and the CLI's escaping of text for a terminal and
 * for JSON (tools/out.c).
 *
 * A table of accepted and refused strings (overlong forms, surrogates, beyond U+10FFFF,
 * C0, DEL, C1, bidirectional controls, with the position reported); a seeded sweep of
 * random strings against a reference written another way (decode each candidate length
 * naively and re-encode: a character is valid only when its shortest encoding is the
 * bytes read), checking that escaping always yields text that follows the rule and
 * leaves text that follows it alone. Inputs are exact heap copies, so ASan catches a read
 * past the end. The sweep prints its seed (rerun with AM_SEED=...).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_text.h"
#include "mp.h"
#include "out.h"
#include "relief.h"
#include "testutil.h"

static int check(const char *s, size_t n, unsigned flags, struct am_text_bad *bad)
{
    uint8_t *p = tu_dup_exact((const uint8_t *)s, n);
    int rc = am_text_check(p, n, flags, bad);
    free(p);
    return rc;
}

/* ---- the table ---- */

static const struct {
    const char *s;
    size_t n;
    unsigned flags;
} accepted[] = {
#define A(lit, f)                                                                                  \
    {                                                                                              \
        lit, sizeof lit - 1, f                                                                     \
    }
    A("", 0),
    A("Hub North", 0),
    A("Z\xc3\xbcrich", 0),                   /* U+00FC */
    A("\xc2\xa0", 0),                        /* U+00A0: the first after C1 */
    A("\xe6\x9d\xb1\xe4\xba\xac", 0),        /* CJK */
    A("\xf0\x9f\x98\x80", 0),                /* emoji, 4 bytes */
    A("\xf4\x8f\xbf\xbf", 0),                /* U+10FFFF */
    A("\xed\x9f\xbf", 0),                    /* U+D7FF, just below the surrogates */
    A("\xee\x80\x80", 0),                    /* U+E000, just above */
    A("\xe2\x80\x8f", 0),                    /* RLM: a mark, allowed */
    A("\xe2\x80\x8e\xd8\x9c", 0),            /* LRM, ALM */
    A("\xe2\x80\xa9", 0),                    /* U+2029, not a bidi control */
    A("\xe2\x81\xa5", 0),                    /* U+2065, between the isolates and PDF */
    A("\xef\xbf\xbd", 0),                    /* U+FFFD */
    A("=cmd|' /C calc'!A0", 0),              /* formulas are text: the CSV neutralises */
    A("line 1\nline 2\tend", AM_TEXT_LINES), /* notes: TAB and LF */
#undef A
};

static const struct {
    const char *s;
    size_t n;
    unsigned flags;
    int why;
    size_t off, chr;
    uint32_t cp;
} refused[] = {
#define R(lit, f, why, off, chr, cp)                                                               \
    {                                                                                              \
        lit, sizeof lit - 1, f, why, off, chr, cp                                                  \
    }
    /* C0, DEL, C1 */
    R("a\x1b[31m", 0, AM_TEXT_CONTROL, 1, 2, 0x1b), R("\x00", 0, AM_TEXT_CONTROL, 0, 1, 0x00),
    R("\x7f", 0, AM_TEXT_CONTROL, 0, 1, 0x7f), R("a\tb", 0, AM_TEXT_CONTROL, 1, 2, 0x09),
    R("a\nb", 0, AM_TEXT_CONTROL, 1, 2, 0x0a),
    R("a\rb", AM_TEXT_LINES, AM_TEXT_CONTROL, 1, 2, 0x0d), /* CR never */
    R("\x1f", AM_TEXT_LINES, AM_TEXT_CONTROL, 0, 1, 0x1f),
    R("\xc2\x80", 0, AM_TEXT_CONTROL, 0, 1, 0x80),
    R("x\xc2\x9b"
      "2J",
      0, AM_TEXT_CONTROL, 1, 2, 0x9b), /* CSI */
    R("\xc2\x9f", AM_TEXT_LINES, AM_TEXT_CONTROL, 0, 1, 0x9f),
    R("\xc3\xa9\x1b", 0, AM_TEXT_CONTROL, 2, 2, 0x1b), /* position in characters */
    /* bidi embeddings, overrides, isolates */
    R("\xe2\x80\xaa", 0, AM_TEXT_BIDI, 0, 1, 0x202a),
    R("\xe2\x80\xab", 0, AM_TEXT_BIDI, 0, 1, 0x202b),
    R("\xe2\x80\xac", 0, AM_TEXT_BIDI, 0, 1, 0x202c),
    R("\xe2\x80\xad", 0, AM_TEXT_BIDI, 0, 1, 0x202d),
    R("ab\xe2\x80\xae"
      "cd",
      AM_TEXT_LINES, AM_TEXT_BIDI, 2, 3, 0x202e),
    R("\xe2\x81\xa6", 0, AM_TEXT_BIDI, 0, 1, 0x2066),
    R("\xe2\x81\xa7", 0, AM_TEXT_BIDI, 0, 1, 0x2067),
    R("\xe2\x81\xa8", 0, AM_TEXT_BIDI, 0, 1, 0x2068),
    R("\xe2\x81\xa9", 0, AM_TEXT_BIDI, 0, 1, 0x2069),
    /* not strict UTF-8: cp is the offending byte */
    R("\x80", 0, AM_TEXT_UTF8, 0, 1, 0x80), /* stray continuation */
    R("ok\xbf", 0, AM_TEXT_UTF8, 2, 3, 0xbf),
    R("\xc0\xaf", 0, AM_TEXT_UTF8, 0, 1, 0xc0), /* overlong '/' */
    R("\xc1\xbf", 0, AM_TEXT_UTF8, 0, 1, 0xc1),
    R("\xe0\x80\xaf", 0, AM_TEXT_UTF8, 0, 1, 0xe0), /* overlong, 3 bytes */
    R("\xe0\x9f\xbf", 0, AM_TEXT_UTF8, 0, 1, 0xe0),
    R("\xf0\x80\x80\xaf", 0, AM_TEXT_UTF8, 0, 1, 0xf0), /* overlong, 4 bytes */
    R("\xf0\x8f\xbf\xbf", 0, AM_TEXT_UTF8, 0, 1, 0xf0),
    R("\xed\xa0\x80", 0, AM_TEXT_UTF8, 0, 1, 0xed),     /* U+D800 */
    R("\xed\xbf\xbf", 0, AM_TEXT_UTF8, 0, 1, 0xed),     /* U+DFFF */
    R("\xf4\x90\x80\x80", 0, AM_TEXT_UTF8, 0, 1, 0xf4), /* U+110000 */
    R("\xf5\x80\x80\x80", 0, AM_TEXT_UTF8, 0, 1, 0xf5), R("\xff", 0, AM_TEXT_UTF8, 0, 1, 0xff),
    R("\xfe", 0, AM_TEXT_UTF8, 0, 1, 0xfe),
    R("a\xe2\x80", 0, AM_TEXT_UTF8, 1, 2, 0xe2), /* cut short */
    R("\xc3", 0, AM_TEXT_UTF8, 0, 1, 0xc3),
    R("\xe2\x28\xa1", 0, AM_TEXT_UTF8, 0, 1, 0xe2), /* bad continuation */
#undef R
};

Test(text, table_accepted)
{
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        struct am_text_bad b;
        cr_assert_eq(check(accepted[i].s, accepted[i].n, accepted[i].flags, &b), AM_OK,
                     "accepted[%zu] refused at byte %zu", i, b.off);
    }
}

Test(text, table_refused)
{
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct am_text_bad b;
        memset(&b, 0xa5, sizeof b);
        cr_assert_eq(check(refused[i].s, refused[i].n, refused[i].flags, &b), AM_EMALFORMED,
                     "refused[%zu] accepted", i);
        cr_assert_eq(b.why, refused[i].why, "refused[%zu]: why %d", i, b.why);
        cr_assert_eq(b.off, refused[i].off, "refused[%zu]: off %zu", i, b.off);
        cr_assert_eq(b.chr, refused[i].chr, "refused[%zu]: chr %zu", i, b.chr);
        cr_assert_eq(b.cp, refused[i].cp, "refused[%zu]: cp %x", i, (unsigned)b.cp);
        cr_assert_eq(am_text_ok(refused[i].s, refused[i].n, refused[i].flags), 0);
    }
}

Test(text, explain_names_the_character_and_where)
{
    struct am_text_bad b;
    char why[128];
    cr_assert_eq(check("Hub\x1b[2J", 7, 0, &b), AM_EMALFORMED);
    am_text_explain(why, sizeof why, &b);
    cr_assert_str_eq(why, "character 4 (byte 4) is U+001B ESC, a control character");
    cr_assert_eq(check("\xc3\xa9\xe2\x80\xae", 5, 0, &b), AM_EMALFORMED);
    am_text_explain(why, sizeof why, &b);
    cr_assert_str_eq(why, "character 2 (byte 3) is U+202E RIGHT-TO-LEFT OVERRIDE, a "
                          "bidirectional control");
    cr_assert_eq(check("a\xc0\xaf", 3, 0, &b), AM_EMALFORMED);
    am_text_explain(why, sizeof why, &b);
    cr_assert_str_eq(why, "character 2 (byte 2) is not valid UTF-8 (byte 0xc0)");
    am_text_explain(why, 8, &b); /* cut, still terminated */
    cr_assert_eq(strlen(why), 7);
}

/* ---- the sweep against a reference written another way ---- */

/* Shortest UTF-8 of cp (any value up to 0x1FFFFF), returns its length. */
static size_t ref_encode(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* Reads one character at p naively for each length its lead byte could mean, and keeps
 * the reading whose shortest re-encoding is exactly those bytes and whose value is a
 * Unicode scalar value. Returns its length, or 0. */
static size_t ref_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
    static const uint8_t lead_bits[5] = {0, 7, 5, 4, 3};
    for (size_t len = 1; len <= 4 && len <= n; len++) {
        uint32_t v;
        uint8_t enc[4];
        v = p[0] & ((1u << lead_bits[len]) - 1);
        for (size_t k = 1; k < len; k++)
            v = (v << 6) | (p[k] & 0x3f);
        if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
            continue;
        if (ref_encode(v, enc) == len && memcmp(enc, p, len) == 0) {
            *cp = v;
            return len;
        }
    }
    return 0;
}

static int ref_allowed(uint32_t cp, unsigned flags)
{
    if (cp == 0x09 || cp == 0x0a)
        return (flags & AM_TEXT_LINES) != 0;
    if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f))
        return 0;
    return !(cp >= 0x202a && cp <= 0x202e) && !(cp >= 0x2066 && cp <= 0x2069);
}

/* The first offending byte offset by the reference, or n when the text is good. */
static size_t ref_first_bad(const uint8_t *p, size_t n, unsigned flags)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = ref_decode(p + i, n - i, &cp);
        if (!len || !ref_allowed(cp, flags))
            return i;
        i += len;
    }
    return n;
}

/* Random bytes drawn mostly from pieces that sit on the rule's edges. */
static size_t random_text(uint64_t *st, uint8_t *out, size_t cap)
{
    static const char *const pieces[] = {
        "a",
        "Z",
        " ",
        "=",
        "\t",
        "\n",
        "\r",
        "\x1b",
        "\x7f",
        "\x00",
        "\x1f",
        "\xc2\x80",
        "\xc2\x9f",
        "\xc2\xa0",
        "\xc3\xa9",
        "\xdf\xbf",
        "\xe0\xa0\x80",
        "\xe2\x80\xae",
        "\xe2\x80\xaa",
        "\xe2\x80\x8f",
        "\xe2\x81\xa9",
        "\xe2\x81\xa5",
        "\xed\x9f\xbf",
        "\xed\xa0\x80",
        "\xee\x80\x80",
        "\xef\xbf\xbf",
        "\xf0\x90\x80\x80",
        "\xf4\x8f\xbf\xbf",
        "\xf4\x90\x80\x80",
    };
    static const size_t lens[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2,
                                  2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4};
    size_t n = 0, want = tu_rand(st) % 24;
    for (size_t k = 0; k < want; k++) {
        uint64_t r = tu_rand(st);
        if (r % 4 == 0) {
            if (n < cap)
                out[n++] = (uint8_t)(r >> 8); /* any byte */
        } else {
            size_t i = (size_t)(r >> 8) % (sizeof lens / sizeof lens[0]);
            if (n + lens[i] <= cap) {
                memcpy(out + n, pieces[i], lens[i]);
                n += lens[i];
            }
        }
    }
    /* sometimes cut the last character short */
    if (n && tu_rand(st) % 5 == 0)
        n--;
    return n;
}

Test(text, random_sweep_matches_reference_and_escaping_is_safe)
{
    uint64_t seed = tu_seed("text.random_sweep"), st = seed;
    for (int iter = 0; iter < 200000; iter++) {
        uint8_t buf[128], *p;
        char esc[6 * 128 + 8], lines[6 * 128 + 8];
        size_t n = random_text(&st, buf, sizeof buf), chars;
        unsigned flags = iter & 1 ? AM_TEXT_LINES : 0;
        struct am_text_bad b;
        int rc;

        p = tu_dup_exact(buf, n);
        rc = am_text_check(p, n, flags, &b);
        {
            size_t want = ref_first_bad(p, n, flags);
            cr_assert_eq(rc == AM_OK, want == n, "seed %llu iter %d: rc %d, reference %zu of %zu",
                         (unsigned long long)seed, iter, rc, want, n);
            if (rc != AM_OK)
                cr_assert_eq(b.off, want, "seed %llu iter %d: off %zu, reference %zu",
                             (unsigned long long)seed, iter, b.off, want);
        }
        /* escaping: the result always follows the rule (one line), and text that
         * follows it (without TAB/LF) comes out unchanged */
        out_text_esc(esc, sizeof esc, (const char *)p, n, 0, &chars);
        cr_assert(am_text_ok(esc, strlen(esc), 0),
                  "seed %llu iter %d: escaped text breaks the rule", (unsigned long long)seed,
                  iter);
        out_text_esc(lines, sizeof lines, (const char *)p, n, OUT_TEXT_LINES, NULL);
        cr_assert(am_text_ok(lines, strlen(lines), AM_TEXT_LINES));
        if (am_text_ok(p, n, 0))
            cr_assert(strlen(esc) == n && memcmp(esc, p, n) == 0,
                      "seed %llu iter %d: good text was changed", (unsigned long long)seed, iter);
        free(p);
    }
}

/* ---- ops that carry text ---- */

Test(text, op_with_bidi_name_is_invalid_and_says_where)
{
    /* {"t":"site","slug":"s1","name":"Hub<U+202E>X"} */
    static const uint8_t op[] = {0x83, 0xa1, 't', 0xa4, 's', 'i',  't',  'e',  0xa4, 's',
                                 'l',  'u',  'g', 0xa2, 's', '1',  0xa4, 'n',  'a',  'm',
                                 'e',  0xa7, 'H', 'u',  'b', 0xe2, 0x80, 0xae, 'X'};
    struct relief_op o;
    char err[RELIEF_ERR_MAX];
    uint8_t *p = tu_dup_exact(op, sizeof op);
    cr_assert_eq(relief_op_decode(p, sizeof op, &o, err, sizeof err), AM_EMALFORMED);
    cr_assert(strstr(err, "site: \"name\"") && strstr(err, "character 4 (byte 4) is U+202E"), "%s",
              err);
    /* the same op with the override XORed into 'Y' 'Y' 'Y' decodes */
    p[25] ^= 0xe2 ^ 'Y';
    p[26] ^= 0x80 ^ 'Y';
    p[27] ^= 0xae ^ 'Y';
    cr_assert_eq(relief_op_decode(p, sizeof op, &o, err, sizeof err), AM_OK, "%s", err);
    free(p);
}

Test(text, note_allows_tab_and_lf_but_not_cr_or_c1)
{
    struct relief_op o;
    char err[RELIEF_ERR_MAX];
    /* {"t":"need.dlv","need":bin16,"q":1,"note":N} */
    uint8_t op[64];
    size_t n = 0;
    const char *notes[] = {"a\tb\nc", "a\rb",
                           "a\xc2\x85"
                           "b"};
    const int want[] = {AM_OK, AM_EMALFORMED, AM_EMALFORMED};
    for (int k = 0; k < 3; k++) {
        uint8_t *p;
        size_t nl = strlen(notes[k]);
        n = 0;
        op[n++] = 0x84;
        op[n++] = 0xa1;
        op[n++] = 't';
        op[n++] = 0xa8;
        memcpy(op + n, "need.dlv", 8);
        n += 8;
        op[n++] = 0xa4;
        memcpy(op + n, "need", 4);
        n += 4;
        op[n++] = 0xc4;
        op[n++] = 16;
        memset(op + n, 0x42, 16);
        n += 16;
        op[n++] = 0xa1;
        op[n++] = 'q';
        op[n++] = 0x01;
        op[n++] = 0xa4;
        memcpy(op + n, "note", 4);
        n += 4;
        op[n++] = (uint8_t)(0xa0 | nl);
        memcpy(op + n, notes[k], nl);
        n += nl;
        p = tu_dup_exact(op, n);
        cr_assert_eq(relief_op_decode(p, n, &o, err, sizeof err), want[k], "note %d: %s", k, err);
        free(p);
    }
}

/* ---- output ---- */

static char *capture_json(const char *s, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    cr_assert_eq(out_json_put(f, out_json_text(s, n)), 0);
    fclose(f);
    return buf;
}

Test(text, escaping_for_terminal_and_json)
{
    static const char hostile[] = "a\x1b[2J\xc2\x9b\xe2\x80\xae\xff\t\n\"\\";
    char esc[128];
    size_t chars;
    char *js;

    out_text_esc(esc, sizeof esc, hostile, sizeof hostile - 1, 0, &chars);
    cr_assert_str_eq(esc, "a\\x1b[2J\\u009b\\u202e\\xff\\t\\n\"\\");
    cr_assert_eq(chars, strlen(esc));
    out_text_esc(esc, sizeof esc, hostile, sizeof hostile - 1, OUT_TEXT_LINES, NULL);
    cr_assert_str_eq(esc, "a\\x1b[2J\\u009b\\u202e\\xff\t\n\"\\");
    js = capture_json(hostile, sizeof hostile - 1);
    cr_assert_str_eq(js, "\"a\\u001B[2J\\u009B\\u202E\\uFFFD\\t\\n\\\"\\\\\"\n");
    free(js);
    /* good text passes through, characters counted, not bytes */
    out_text_esc(esc, sizeof esc, "Z\xc3\xbcrich", 7, 0, &chars);
    cr_assert_str_eq(esc, "Z\xc3\xbcrich");
    cr_assert_eq(chars, 6);
    js = capture_json("Z\xc3\xbcrich \xe2\x80\x8f", 11);
    cr_assert_str_eq(js, "\"Z\\u00FCrich \\u200F\"\n"); /* --json output is ASCII */
    free(js);
    /* a buffer too small cuts between characters, never inside an escape */
    out_text_esc(esc, 6,
                 "ab\x1b"
                 "cd",
                 5, 0, &chars);
    cr_assert_str_eq(esc, "ab");
    out_text_esc(esc, 4, "a\xc3\xa9z", 4, 0, &chars);
    cr_assert_str_eq(esc, "a\xc3\xa9");
}

Test(text, table_cells_cut_and_pad_by_characters)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    out_col(f, "Z\xc3\xbcrich", 7, 8, 0, 0); /* 6 characters, padded to 8 */
    fputc('|', f);
    out_col(f, "abc\x1b[2Jdef", 10, 6, 0, 0); /* escaped, then cut */
    fputc('|', f);
    out_col(f, "x", 1, 3, 1, 0); /* right-aligned */
    fputc('|', f);
    fclose(f);
    cr_assert_str_eq(buf, "Z\xc3\xbcrich  |abc\\x~|  x|");
    free(buf);
}

static char *capture_msgpack(const uint8_t *p, size_t n, int person)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    if (person)
        cr_assert_eq(out_msgpack_json(f, p, n), 0);
    else
        cr_assert_eq(out_json_put(f, out_msgpack_value(p, n)), 0);
    fclose(f);
    return buf;
}

Test(text, msgpack_as_json)
{
    /* {"name":"E" C0 AF, 1:bin AB CD, "big":2^64-1, "neg":-5, "arr":[nil,true],
     *  "bidi":"C" U+202E "D"} */
    static const uint8_t op[] = {0x86, 0xa4, 'n',  'a',  'm',  'e',  0xa3, 'E',  0xc0, 0xaf, 0x01,
                                 0xc4, 0x02, 0xab, 0xcd, 0xa3, 'b',  'i',  'g',  0xcf, 0xff, 0xff,
                                 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xa3, 'n',  'e',  'g',  0xfb,
                                 0xa3, 'a',  'r',  'r',  0x92, 0xc0, 0xc3, 0xa4, 'b',  'i',  'd',
                                 'i',  0xa5, 'C',  0xe2, 0x80, 0xae, 'D'};
    char *js = capture_msgpack(op, sizeof op, 0);
    cr_assert_str_eq(js, "{\"name\":\"E\\uFFFD\\uFFFD\",\"1\":\"abcd\",\"big\":1.84467440737e19,"
                         "\"neg\":-5,\"arr\":[null,true],\"bidi\":\"C\\u202ED\"}\n");
    free(js);
    /* for a person: UTF-8 kept, what a terminal acts on escaped as out_text does */
    js = capture_msgpack(op, sizeof op, 1);
    cr_assert_str_eq(js, "{\"name\":\"E\xef\xbf\xbd\xef\xbf\xbd\",\"1\":\"abcd\","
                         "\"big\":1.8446744073709552e19,\"neg\":-5,\"arr\":[null,true],"
                         "\"bidi\":\"C\\u202eD\"}");
    free(js);
    /* truncated and bit-flipped: malformed is refused, anything valid renders as JSON */
    for (size_t i = 0; i < sizeof op; i++) {
        uint8_t m[sizeof op];
        size_t used;
        cr_assert_null(out_msgpack_value(op, i), "a cut at %zu renders", i);
        for (int b = 0; b < 8; b++) {
            json_t *v;
            memcpy(m, op, sizeof op);
            m[i] ^= (uint8_t)(1u << b);
            v = out_msgpack_value(m, sizeof m);
            if (mp_check(m, sizeof m, &used, &mp_limits_entry) == AM_OK)
                cr_assert(v, "byte %zu bit %d: valid msgpack that does not render", i, b);
            if (v) {
                char *t = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
                cr_assert(t);
                free(t);
            }
            json_decref(v);
        }
    }
}
