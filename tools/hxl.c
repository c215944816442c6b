/*
 * hxl.c: a CSV file with HXL hashtags, read into a table of cells (see hxl.h).
 *
 * Three passes over bytes a person supplied: the limits and the encoding (strict UTF-8,
 * checked before any cell is made), the cells (libcsv in strict mode, fed in chunks; its
 * callbacks keep each cell's bytes and the spreadsheet row it is on), then the tag row.
 * Must never: split CSV by hand, keep a cell past HXL_CELL_MAX, or count rows differently
 * from a spreadsheet (a quoted line end stays inside its cell; a blank line is a row).
 */
#include "hxl.h"

#include <csv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_grow.h"
#include "am_text.h"

struct hxl_cellref {
    size_t off, len; /* in text */
};

struct hxl_rowref {
    size_t line;  /* spreadsheet row */
    size_t first; /* index of its first cell in cells */
    size_t n;
};

struct hxl_table {
    char *text; /* every cell, each NUL-terminated */
    size_t text_len, text_cap;
    struct hxl_cellref *cells;
    size_t n_cells, cells_cap;
    struct hxl_rowref *rows; /* every non-blank record, header rows included */
    size_t n_rows, rows_cap;
    size_t tag; /* index in rows of the tag row */
    char (*tags)[HXL_TAG_MAX + 1];
    size_t n_tags;
};

/* The state of the libcsv callbacks. */
struct reader {
    struct hxl_table *t;
    size_t line;      /* spreadsheet row of the record being read */
    size_t row_cells; /* cells of that record so far */
    size_t row_first; /* its first cell */
    int prev_end;     /* the line end that closed the last record ('\r', '\n', -1) */
    int rc;           /* the first error, AM_OK until then */
    struct hxl_err *err;
};

static void fail(struct reader *r, int rc, size_t row, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Keeps the first error: its code, its row and its sentence. */
static void fail(struct reader *r, int rc, size_t row, const char *fmt, ...)
{
    va_list ap;
    if (r->rc != AM_OK)
        return;
    r->rc = rc;
    r->err->row = row;
    va_start(ap, fmt);
    vsnprintf(r->err->msg, sizeof r->err->msg, fmt, ap);
    va_end(ap);
}

/* ---- encoding ------------------------------------------------------------------------------ */

/* Checks the encoding of the whole file; the line of the first bad byte goes in err. */
static int check_utf8(const uint8_t *d, size_t len, struct hxl_err *err)
{
    size_t line = 1;
    if ((len >= 2 && ((d[0] == 0xff && d[1] == 0xfe) || (d[0] == 0xfe && d[1] == 0xff))) ||
        (len >= 2 && (d[0] == 0 || d[1] == 0))) {
        err->row = 0;
        snprintf(err->msg, sizeof err->msg,
                 "the file is not UTF-8 (it looks like UTF-16, as \"Unicode text\" saves it): "
                 "save it as CSV UTF-8 and import it again");
        return AM_EMALFORMED;
    }
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = am_text_decode(d + i, len - i, &cp);
        if (!k || !cp) {
            err->row = 0;
            if (!d[i])
                snprintf(err->msg, sizeof err->msg,
                         "line %zu holds a NUL byte: this is not a CSV text file; save the sheet "
                         "as CSV UTF-8",
                         line);
            else
                snprintf(err->msg, sizeof err->msg,
                         "the file is not UTF-8 (line %zu has the byte 0x%02x, as Latin-1 or "
                         "Windows-1252 would write an accented letter): save it as CSV UTF-8 "
                         "and import it again",
                         line, d[i]);
            return AM_EMALFORMED;
        }
        line += d[i] == '\n';
        i += k;
    }
    return AM_OK;
}

/* ---- cells --------------------------------------------------------------------------------- */

static void on_cell(void *s, size_t n, void *ctx)
{
    struct reader *r = ctx;
    struct hxl_table *t = r->t;
    if (r->rc != AM_OK)
        return;
    if (n > HXL_CELL_MAX) {
        fail(r, AM_ELIMIT, r->line, "cell %zu is longer than %d bytes: shorten it",
             r->row_cells + 1, HXL_CELL_MAX);
        return;
    }
    if (r->row_cells >= HXL_COLS_MAX) {
        fail(r, AM_ELIMIT, r->line, "the row has more than %d cells: remove the empty columns",
             HXL_COLS_MAX);
        return;
    }
    if (AM_GROW(t->text, t->text_cap, t->text_len + n + 1, 4096) != AM_OK ||
        AM_GROW(t->cells, t->cells_cap, t->n_cells + 1, 256) != AM_OK) {
        r->rc = AM_ENOMEM;
        return;
    }
    if (n)
        memcpy(t->text + t->text_len, s, n);
    t->text[t->text_len + n] = 0;
    t->cells[t->n_cells].off = t->text_len;
    t->cells[t->n_cells].len = n;
    t->text_len += n + 1;
    t->n_cells++;
    r->row_cells++;
}

static int blank_row(const struct hxl_table *t, size_t first, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t->cells[first + i].len)
            return 0;
    return 1;
}

static void on_row(int c, void *ctx)
{
    struct reader *r = ctx;
    struct hxl_table *t = r->t;
    int crlf = c == '\n' && r->prev_end == '\r' && r->row_cells == 0;
    r->prev_end = c;
    if (r->rc != AM_OK || crlf) /* the LF of a CR LF: the same line end */
        return;
    if (r->row_cells && !blank_row(t, r->row_first, r->row_cells)) {
        if (t->n_rows >= HXL_ROWS_MAX + HXL_TAG_SCAN) {
            fail(r, AM_ELIMIT, r->line,
                 "the file has more than %d rows: split it into several files", HXL_ROWS_MAX);
            return;
        }
        if (AM_GROW(t->rows, t->rows_cap, t->n_rows + 1, 64) != AM_OK) {
            r->rc = AM_ENOMEM;
            return;
        }
        t->rows[t->n_rows].line = r->line;
        t->rows[t->n_rows].first = r->row_first;
        t->rows[t->n_rows].n = r->row_cells;
        t->n_rows++;
    } else {
        t->n_cells = r->row_first; /* a blank row keeps no cells */
    }
    r->line++;
    r->row_cells = 0;
    r->row_first = t->n_cells;
}

/* Only the space is trimmed around an unquoted cell: a TAB stays, so that a cell that a
 * spreadsheet would take for a formula is seen as one. */
static int is_space(unsigned char c)
{
    return c == ' ';
}

static int parse_cells(struct reader *r, const uint8_t *d, size_t len)
{
    struct csv_parser p;
    const size_t chunk = 4096;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0)
        return AM_ENOMEM;
    csv_set_space_func(&p, is_space);
    for (size_t at = 0; at < len && r->rc == AM_OK; at += chunk) {
        size_t n = len - at < chunk ? len - at : chunk;
        if (csv_parse(&p, d + at, n, on_cell, on_row, r) != n) {
            if (csv_error(&p) == CSV_ENOMEM || csv_error(&p) == CSV_ETOOBIG)
                r->rc = r->rc != AM_OK ? r->rc : AM_ENOMEM;
            else
                fail(r, AM_EMALFORMED, r->line,
                     "a quote (\") in a cell that does not start with one, or a quoted cell "
                     "that goes on after its closing quote: quote the whole cell and double "
                     "the quotes inside it");
            break;
        }
    }
    if (r->rc == AM_OK && csv_fini(&p, on_cell, on_row, r) != 0)
        fail(r, AM_EMALFORMED, r->line,
             "a quoted cell has no closing quote before the end of the file: close it");
    csv_free(&p);
    return r->rc;
}

/* ---- hashtags ------------------------------------------------------------------------------ */

static int name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (!first && ((c >= '0' && c <= '9') || c == '_'));
}

/* A hashtag with its attributes ("#loc +code"), normalized into out ("#loc+code", lower
 * case, no spaces): 1, or 0 when s is not one. */
static int parse_tag(const char *s, char out[HXL_TAG_MAX + 1])
{
    size_t o = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s != '#' || !name_char(s[1], 1))
        return 0;
    while (*s) {
        char lead = *s++; /* '#' or '+' */
        if (o >= HXL_TAG_MAX)
            return 0;
        out[o++] = lead;
        if (!name_char(*s, 1))
            return 0;
        for (; name_char(*s, 0); s++) {
            if (o >= HXL_TAG_MAX)
                return 0;
            out[o++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
        }
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s && *s != '+')
            return 0;
    }
    out[o] = 0;
    return 1;
}

/* 1 when most non-empty cells of row k are hashtags (and one at least). */
static int tag_row(const struct hxl_table *t, size_t k)
{
    char tag[HXL_TAG_MAX + 1];
    size_t filled = 0, tags = 0;
    for (size_t i = 0; i < t->rows[k].n; i++) {
        const struct hxl_cellref *c = &t->cells[t->rows[k].first + i];
        if (!c->len)
            continue;
        filled++;
        tags += parse_tag(t->text + c->off, tag);
    }
    return tags && tags * 2 > filled;
}

/* ---- the table ----------------------------------------------------------------------------- */

int hxl_read(const uint8_t *data, size_t len, struct hxl_table **out, struct hxl_err *err)
{
    struct hxl_table *t;
    struct reader r;
    size_t k;
    int rc;

    *out = NULL;
    err->row = 0;
    err->msg[0] = 0;
    if (len > HXL_FILE_MAX) {
        snprintf(err->msg, sizeof err->msg,
                 "the file is %zu bytes, over the limit of %u (16 MiB): split it into several "
                 "files",
                 len, HXL_FILE_MAX);
        return AM_ELIMIT;
    }
    if (len >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf) {
        data += 3; /* the BOM a spreadsheet writes before "CSV UTF-8" */
        len -= 3;
    }
    if ((rc = check_utf8(data, len, err)) != AM_OK)
        return rc;
    if (!(t = calloc(1, sizeof *t)))
        return AM_ENOMEM;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.line = 1;
    r.prev_end = -1;
    r.err = err;
    if ((rc = parse_cells(&r, data, len)) != AM_OK)
        goto fail;
    for (k = 0; k < t->n_rows && t->rows[k].line <= HXL_TAG_SCAN; k++)
        if (tag_row(t, k))
            break;
    if (k == t->n_rows || t->rows[k].line > HXL_TAG_SCAN) {
        rc = AM_ENOTFOUND;
        err->row = 0;
        snprintf(err->msg, sizeof err->msg,
                 "no row of HXL hashtags (like #loc+code, #item+name) in the first %d rows: add "
                 "one under the header row, one hashtag per column",
                 HXL_TAG_SCAN);
        goto fail;
    }
    if (t->n_rows - k - 1 > HXL_ROWS_MAX) {
        rc = AM_ELIMIT;
        err->row = t->rows[k + 1 + HXL_ROWS_MAX].line;
        snprintf(err->msg, sizeof err->msg,
                 "the file has more than %d data rows: split it into several files", HXL_ROWS_MAX);
        goto fail;
    }
    t->tag = k;
    t->n_tags = t->rows[k].n;
    if (!(t->tags = calloc(t->n_tags, sizeof *t->tags))) {
        rc = AM_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < t->n_tags; i++)
        if (!parse_tag(t->text + t->cells[t->rows[k].first + i].off, t->tags[i]))
            t->tags[i][0] = 0;
    *out = t;
    return AM_OK;
fail:
    if (rc == AM_ENOMEM) {
        err->row = 0;
        snprintf(err->msg, sizeof err->msg, "out of memory");
    }
    hxl_free(t);
    return rc;
}

void hxl_free(struct hxl_table *t)
{
    if (!t)
        return;
    free(t->text);
    free(t->cells);
    free(t->rows);
    free(t->tags);
    free(t);
}

size_t hxl_tag_row(const struct hxl_table *t)
{
    return t->rows[t->tag].line;
}

size_t hxl_rows(const struct hxl_table *t)
{
    return t->n_rows - t->tag - 1;
}

size_t hxl_row_number(const struct hxl_table *t, size_t i)
{
    return t->rows[t->tag + 1 + i].line;
}

/* 1 when the normalized tag holds attribute a (a: "+code", up to the next '+' / '-' / end
 * of the spec) */
static int has_attr(const char *tag, const char *a, size_t alen)
{
    for (const char *p = strchr(tag, '+'); p; p = strchr(p + 1, '+')) {
        size_t n = strcspn(p + 1, "+");
        if (n == alen && !strncmp(p + 1, a, alen))
            return 1;
    }
    return 0;
}

int hxl_col(const struct hxl_table *t, const char *spec)
{
    size_t base = strcspn(spec, "+-");
    for (size_t c = 0; c < t->n_tags; c++) {
        const char *tag = t->tags[c];
        const char *p = spec + base;
        int ok = tag[0] && strcspn(tag, "+") == base && !strncmp(tag, spec, base);
        while (ok && *p) {
            size_t n = strcspn(p + 1, "+-");
            ok = has_attr(tag, p + 1, n) == (*p == '+');
            p += 1 + n;
        }
        if (ok)
            return (int)c;
    }
    return -1;
}

size_t hxl_cols(const struct hxl_table *t)
{
    return t->n_tags;
}

const char *hxl_col_tag(const struct hxl_table *t, int c)
{
    return c >= 0 && (size_t)c < t->n_tags ? t->tags[c] : "";
}

const char *hxl_cell(const struct hxl_table *t, size_t i, int c)
{
    const struct hxl_rowref *r;
    if (c < 0 || i >= hxl_rows(t))
        return "";
    r = &t->rows[t->tag + 1 + i];
    return (size_t)c < r->n ? t->text + t->cells[r->first + (size_t)c].off : "";
}

int hxl_formula_like(const char *s)
{
    const char *p = s;
    int digits = 0;
    if (!s[0] || !strchr("=+-@\t\r", s[0]))
        return 0;
    if (*p == '+' || *p == '-')
        p++;
    for (; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (digits && *p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    return !(digits && !*p);
}

const char *hxl_text(const char *s)
{
    return s[0] == '\'' && s[1] && strchr("=+-@\t\r", s[1]) ? s + 1 : s;
}
