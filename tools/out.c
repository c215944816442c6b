/* out.c: output helpers of the CLI (see out.h). */
#include "out.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mp.h"

void out_json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
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
