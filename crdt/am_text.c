/*
 * am_text.c: the rule for printable text (see am_text.h; PROTOCOL.md §10.2). Pure: reads
 * only the bytes it is given, never prints, allocates nothing.
 */
#include "am_text.h"

#include <stdio.h>

#include "am_err.h"

size_t am_text_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t b = p[0];
    uint32_t v;
    size_t more;

    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) {
        v = b & 0x1f;
        more = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
        v = b & 0x0f;
        more = 2;
    } else if (b >= 0xf0 && b <= 0xf4) {
        v = b & 0x07;
        more = 3;
    } else {
        return 0; /* a continuation byte, an overlong lead (0xc0, 0xc1), or > U+10FFFF */
    }
    if (n <= more)
        return 0;
    for (size_t k = 1; k <= more; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[k] & 0x3f);
    }
    if ((more == 2 && v < 0x800) || (more == 3 && (v < 0x10000 || v > 0x10ffff)))
        return 0; /* overlong, or beyond Unicode */
    if (v >= 0xd800 && v <= 0xdfff)
        return 0; /* a surrogate */
    *cp = v;
    return more + 1;
}

int am_text_cp_why(uint32_t cp, unsigned flags)
{
    if (cp < 0x20)
        return (flags & AM_TEXT_LINES) && (cp == '\t' || cp == '\n') ? AM_TEXT_GOOD
                                                                     : AM_TEXT_CONTROL;
    if (cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
        return AM_TEXT_CONTROL;
    if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
        return AM_TEXT_BIDI;
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return AM_TEXT_UTF8;
    return AM_TEXT_GOOD;
}

int am_text_check(const void *vp, size_t n, unsigned flags, struct am_text_bad *bad)
{
    const uint8_t *p = vp;
    size_t i = 0, chr = 0;

    while (i < n) {
        uint32_t cp;
        size_t len = am_text_decode(p + i, n - i, &cp);
        int why = len ? am_text_cp_why(cp, flags) : AM_TEXT_UTF8;
        chr++;
        if (why != AM_TEXT_GOOD) {
            if (bad) {
                bad->off = i;
                bad->chr = chr;
                bad->cp = len ? cp : p[i];
                bad->why = why;
            }
            return AM_EMALFORMED;
        }
        i += len;
    }
    return AM_OK;
}

int am_text_ok(const void *p, size_t n, unsigned flags)
{
    return am_text_check(p, n, flags, NULL) == AM_OK;
}

/* Short names of the characters people are most likely to meet here. */
static const char *cp_name(uint32_t cp)
{
    static const struct {
        uint32_t cp;
        const char *name;
    } names[] = {
        {0x00, " NUL"},
        {0x09, " TAB"},
        {0x0a, " LF"},
        {0x0d, " CR"},
        {0x1b, " ESC"},
        {0x7f, " DEL"},
        {0x9b, " CSI"},
        {0x202a, " LEFT-TO-RIGHT EMBEDDING"},
        {0x202b, " RIGHT-TO-LEFT EMBEDDING"},
        {0x202c, " POP DIRECTIONAL FORMATTING"},
        {0x202d, " LEFT-TO-RIGHT OVERRIDE"},
        {0x202e, " RIGHT-TO-LEFT OVERRIDE"},
        {0x2066, " LEFT-TO-RIGHT ISOLATE"},
        {0x2067, " RIGHT-TO-LEFT ISOLATE"},
        {0x2068, " FIRST STRONG ISOLATE"},
        {0x2069, " POP DIRECTIONAL ISOLATE"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].cp == cp)
            return names[i].name;
    return "";
}

void am_text_explain(char *out, size_t cap, const struct am_text_bad *bad)
{
    if (!cap)
        return;
    switch (bad->why) {
    case AM_TEXT_UTF8:
        snprintf(out, cap, "character %zu (byte %zu) is not valid UTF-8 (byte 0x%02x)", bad->chr,
                 bad->off + 1, (unsigned)(bad->cp & 0xff));
        break;
    case AM_TEXT_CONTROL:
        snprintf(out, cap, "character %zu (byte %zu) is U+%04X%s, a control character", bad->chr,
                 bad->off + 1, (unsigned)bad->cp, cp_name(bad->cp));
        break;
    case AM_TEXT_BIDI:
        snprintf(out, cap, "character %zu (byte %zu) is U+%04X%s, a bidirectional control",
                 bad->chr, bad->off + 1, (unsigned)bad->cp, cp_name(bad->cp));
        break;
    default:
        snprintf(out, cap, "the text is printable");
        break;
    }
}
