/* out.c: output helpers of the CLI (see out.h). */
#include "out.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "am_text.h"
#include "mp.h"

void out_json_str(FILE *f, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;

    fputc('"', f);
    while (i < n) {
        uint32_t cp;
        size_t len = am_text_decode(p + i, n - i, &cp);
        if (!len) {
            fputs("\\ufffd", f); /* not UTF-8: JSON text must be */
            i++;
            continue;
        }
        if (cp == '"' || cp == '\\')
            fprintf(f, "\\%c", (int)cp);
        else if (cp == '\n')
            fputs("\\n", f);
        else if (cp == '\t')
            fputs("\\t", f);
        else if (am_text_cp_why(cp, 0) != AM_TEXT_GOOD)
            fprintf(f, "\\u%04x", (unsigned)cp);
        else
            fwrite(p + i, 1, len, f);
        i += len;
    }
    fputc('"', f);
}

/* The escaped form of one character of length len with code point cp at p (or of the bad
 * byte p[0], len 0) into e; returns its length in bytes (at most 6). */
static size_t esc_one(char e[8], const uint8_t *p, size_t len, uint32_t cp, unsigned flags)
{
    static const char hx[] = "0123456789abcdef";
    if (!len || cp < 0x20 || cp == 0x7f) {
        uint8_t b = len ? (uint8_t)cp : p[0];
        if (len && (flags & OUT_TEXT_LINES) && (cp == '\n' || cp == '\t')) {
            e[0] = (char)cp;
            return 1;
        }
        if (len && cp == '\n')
            return (size_t)snprintf(e, 8, "\\n");
        if (len && cp == '\t')
            return (size_t)snprintf(e, 8, "\\t");
        e[0] = '\\';
        e[1] = 'x';
        e[2] = hx[b >> 4];
        e[3] = hx[b & 15];
        return 4;
    }
    if (am_text_cp_why(cp, 0) != AM_TEXT_GOOD)
        return (size_t)snprintf(e, 8, "\\u%04x", (unsigned)cp);
    for (size_t k = 0; k < len; k++)
        e[k] = (char)p[k];
    return len;
}

/* Characters (code points) in e[0..n), which holds valid UTF-8. */
static size_t utf8_chars(const char *e, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((uint8_t)e[i] & 0xc0) != 0x80;
    return c;
}

size_t out_text_esc(char *out, size_t cap, const char *s, size_t n, unsigned flags, size_t *chars)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0, o = 0, c = 0;

    while (i < n) {
        char e[8];
        uint32_t cp = 0;
        size_t len = am_text_decode(p + i, n - i, &cp);
        size_t el = esc_one(e, p + i, len, cp, flags);
        if (o + el + 1 > cap)
            break;
        memcpy(out + o, e, el);
        o += el;
        c += utf8_chars(e, el);
        i += len ? len : 1;
    }
    if (cap)
        out[o < cap ? o : cap - 1] = 0;
    if (chars)
        *chars = c;
    return o;
}

void out_text(FILE *f, const char *s, size_t n, unsigned flags, const char *indent)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;

    while (i < n) {
        char e[8];
        uint32_t cp = 0;
        size_t len = am_text_decode(p + i, n - i, &cp);
        size_t el = esc_one(e, p + i, len, cp, flags);
        fwrite(e, 1, el, f);
        if (el == 1 && e[0] == '\n' && indent)
            fputs(indent, f);
        i += len ? len : 1;
    }
}

void out_col(FILE *f, const char *s, size_t n, int w, int right, int last)
{
    char buf[6 * 121 + 8]; /* 121 characters escaped: enough to know a cut is due */
    size_t chars, len;

    if (w < 1)
        w = 1;
    if (w > 120)
        w = 120;
    len = out_text_esc(buf, sizeof buf, s, n, 0, &chars);
    if (chars > (size_t)w) {
        /* keep w - 1 characters, then '~' */
        size_t c = 0, i = 0;
        while (i < len && c < (size_t)w - 1) {
            i++;
            while (i < len && ((uint8_t)buf[i] & 0xc0) == 0x80)
                i++;
            c++;
        }
        buf[i] = '~';
        buf[i + 1] = 0;
        chars = (size_t)w;
    }
    if (right && !last)
        fprintf(f, "%*s", (int)((size_t)w - chars), "");
    fputs(buf, f);
    if (!right && !last)
        fprintf(f, "%*s", (int)((size_t)w - chars), "");
}

void out_hex(char *out, const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = 0;
}

static int render(FILE *f, struct mp_cur *c, unsigned depth)
{
    const uint8_t *p;
    uint32_t n;
    uint64_t u;
    int64_t i;
    int b;

    if (depth > 16)
        return -1;
    switch (mp_peek(c)) {
    case 'u':
        if (mp_get_uint(c, &u))
            return -1;
        fprintf(f, "%llu", (unsigned long long)u);
        return 0;
    case 'i':
        if (mp_get_int(c, &i))
            return -1;
        fprintf(f, "%lld", (long long)i);
        return 0;
    case 'n':
        mp_get_nil(c);
        fputs("null", f);
        return 0;
    case 't':
        mp_get_bool(c, &b);
        fputs(b ? "true" : "false", f);
        return 0;
    case 's':
        if (mp_get_str(c, &p, &n))
            return -1;
        out_json_str(f, (const char *)p, n);
        return 0;
    case 'b': {
        char hex[2 * 64 + 1];
        if (mp_get_bin(c, &p, &n))
            return -1;
        fputc('"', f);
        for (uint32_t k = 0; k < n; k += 64) {
            uint32_t m = n - k < 64 ? n - k : 64;
            out_hex(hex, p + k, m);
            fputs(hex, f);
        }
        fputc('"', f);
        return 0;
    }
    case 'a':
        if (mp_get_array(c, &n))
            return -1;
        fputc('[', f);
        for (uint32_t k = 0; k < n; k++) {
            if (k)
                fputc(',', f);
            if (render(f, c, depth + 1))
                return -1;
        }
        fputc(']', f);
        return 0;
    case 'm':
        if (mp_get_map(c, &n))
            return -1;
        fputc('{', f);
        for (uint32_t k = 0; k < n; k++) {
            if (k)
                fputc(',', f);
            if (mp_peek(c) == 's') {
                if (render(f, c, depth + 1))
                    return -1;
            } else {
                /* a non-string key: render it, quoted */
                char *buf = NULL;
                size_t len = 0;
                FILE *mf = open_memstream(&buf, &len);
                int rc = mf ? render(mf, c, depth + 1) : -1;
                if (mf)
                    fclose(mf);
                if (rc == 0)
                    out_json_str(f, buf, len);
                free(buf);
                if (rc)
                    return -1;
            }
            fputc(':', f);
            if (render(f, c, depth + 1))
                return -1;
        }
        fputc('}', f);
        return 0;
    case 'f':
        /* floats never appear in aidmesh ops; show them as null rather than guess */
        c->p += *c->p == 0xca ? 5 : 9;
        fputs("null", f);
        return 0;
    }
    return -1;
}

int out_msgpack_json(FILE *f, const uint8_t *p, size_t n)
{
    struct mp_cur c = {p, p + n};
    return render(f, &c, 0);
}

void out_iso_ms(char buf[32], uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, 32, "?");
        return;
    }
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + strlen(buf), 32 - strlen(buf), ".%03uZ", (unsigned)(ms % 1000));
}

void out_count(char buf[32], uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v), j = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = tmp[i];
    }
    buf[j] = 0;
}
