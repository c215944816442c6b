/* html.c: text as HTML (see html.h). */
#include "html.h"

#include <stdint.h>
#include <string.h>

#include "am_text.h"

void html_esc(FILE *f, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = am_text_decode(p + i, n - i, &cp);
        if (!len) {
            fputc('?', f);
            i++;
            continue;
        }
        switch (cp) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            if (am_text_cp_why(cp, AM_TEXT_LINES) != AM_TEXT_GOOD)
                fputc('?', f);
            else
                fwrite(p + i, 1, len, f);
        }
        i += len;
    }
}

void html_escs(FILE *f, const char *s)
{
    html_esc(f, s, strlen(s));
}
