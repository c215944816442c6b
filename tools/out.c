/* out.c: output helpers of the CLI (see out.h). */
#include "out.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "am_text.h"
#include "mp.h"

json_t *out_json_text(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    json_t *v;
    char *buf;
    size_t i = 0, o = 0;

    while (i < n) { /* the common case: already UTF-8 */
        uint32_t cp;
        size_t len = am_text_decode(p + i, n - i, &cp);
        if (!len)
            break;
        i += len;
    }
    if (i == n)
        return json_stringn(s, n);
    i = 0;
    buf = malloc(n * 3 + 1); /* each bad byte becomes U+FFFD, 3 bytes */
    if (!buf)
        return NULL;
    while (i < n) {
        uint32_t cp;
        size_t len = am_text_decode(p + i, n - i, &cp);
        if (!len) {
            memcpy(buf + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(buf + o, p + i, len);
        o += len;
        i += len;
    }
    v = json_stringn(buf, o);
    free(buf);
    return v;
}

json_t *out_json_strz(const char *s)
{
    return s ? out_json_text(s, strlen(s)) : json_null();
}

int out_json_put(FILE *f, json_t *v)
{
    int rc;
    if (!v)
        return -1;
    rc = json_dumpf(v, f,
                    JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12));
    json_decref(v);
    if (rc != 0 || fputc('\n', f) == EOF)
        return -1;
    return 0;
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

json_t *out_json_u64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    return json_real((double)v);
}

/* The JSON value of the msgpack value at c, or NULL (malformed, too deep, out of memory). */
static json_t *mp_value(struct mp_cur *c, unsigned depth)
{
    const uint8_t *p;
    json_t *v;
    uint32_t n;
    uint64_t u;
    int64_t i;
    int b;

    if (depth > 16)
        return NULL;
    switch (mp_peek(c)) {
    case 'u':
        return mp_get_uint(c, &u) ? NULL : out_json_u64(u);
    case 'i':
        return mp_get_int(c, &i) ? NULL : json_integer((json_int_t)i);
    case 'n':
        mp_get_nil(c);
        return json_null();
    case 't':
        mp_get_bool(c, &b);
        return json_boolean(b);
    case 's':
        return mp_get_str(c, &p, &n) ? NULL : out_json_text((const char *)p, n);
    case 'b': {
        char *hex;
        if (mp_get_bin(c, &p, &n))
            return NULL;
        hex = malloc(2 * (size_t)n + 1);
        if (!hex)
            return NULL;
        out_hex(hex, p, n);
        v = json_stringn(hex, 2 * (size_t)n);
        free(hex);
        return v;
    }
    case 'a':
        if (mp_get_array(c, &n) || !(v = json_array()))
            return NULL;
        for (uint32_t k = 0; k < n; k++)
            if (json_array_append_new(v, mp_value(c, depth + 1))) {
                json_decref(v);
                return NULL;
            }
        return v;
    case 'm':
        if (mp_get_map(c, &n) || !(v = json_object()))
            return NULL;
        for (uint32_t k = 0; k < n; k++) {
            int is_str = mp_peek(c) == 's';
            json_t *key = mp_value(c, depth + 1), *val = NULL;
            if (key && !is_str) { /* a non-string key: its JSON text, as a string */
                char *t = json_dumps(key, JSON_COMPACT | JSON_ENCODE_ANY);
                json_decref(key);
                key = t ? out_json_text(t, strlen(t)) : NULL;
                free(t);
            }
            if (key)
                val = mp_value(c, depth + 1);
            /* a repeated key keeps its first place and its last value */
            if (!val ||
                json_object_setn_new(v, json_string_value(key), json_string_length(key), val)) {
                json_decref(key);
                json_decref(v);
                return NULL;
            }
            json_decref(key);
        }
        return v;
    case 'f':
        /* floats never appear in aidmesh ops; show them as null rather than guess */
        if (c->end - c->p < (*c->p == 0xca ? 5 : 9))
            return NULL;
        c->p += *c->p == 0xca ? 5 : 9;
        return json_null();
    }
    return NULL;
}

json_t *out_msgpack_value(const uint8_t *p, size_t n)
{
    struct mp_cur c = {p, p + n};
    return mp_value(&c, 0);
}

int out_msgpack_json(FILE *f, const uint8_t *p, size_t n)
{
    json_t *v = out_msgpack_value(p, n);
    char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (!t)
        return -1;
    out_text(f, t, strlen(t), 0, NULL);
    free(t);
    return 0;
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
