/*
 * hxl_fuzz.c: libFuzzer target for the reader of HXL-tagged CSV files (tools/hxl.c:
 * hxl_read and the lookups of `aidmesh import --hxl`). A person's spreadsheet, or any file
 * named on the command line, reaches it.
 *
 * The input is the file's bytes. On success the table must keep its limits (rows, cell
 * length), hold strict UTF-8 cells without NUL, number its rows upward below the tag row,
 * and find each tagged column by its own tag. Then the table is written back as CSV (the
 * normalized tags, then every data row with each cell quoted) and read again: the second
 * table must hold the same cells in the same order, so a quote, a comma or a line end
 * inside a cell is never lost or moved. On failure the sentence must be there.
 *
 * Corpus (tests/fuzz/corpus/hxl/): exports of sites and needs, a file with a BOM and header
 * rows, quotes and line ends in cells, CR-only and mixed line ends, blank rows, a
 * formula cell, Latin-1 and UTF-16 bytes, no tag row, an unclosed quote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_text.h"
#include "fuzz.h"
#include "hxl.h"

static void check_cell(const char *s)
{
    size_t n = strlen(s);
    CHECK(n <= HXL_CELL_MAX);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = am_text_decode((const uint8_t *)s + i, n - i, &cp);
        CHECK(k > 0 && cp != 0);
        i += k;
    }
    CHECK(hxl_text(s) == s || (s[0] == '\'' && hxl_text(s) == s + 1));
    (void)hxl_formula_like(s);
}

/* 1 when normalized tag `have` has the hashtag of `want` and each of its attributes. */
static int has_all(const char *have, const char *want)
{
    char h[HXL_TAG_MAX + 2], a[HXL_TAG_MAX + 2];
    size_t base = strcspn(want, "+");
    if (strcspn(have, "+") != base || strncmp(have, want, base))
        return 0;
    snprintf(h, sizeof h, "%s+", have);
    for (const char *p = strchr(want, '+'); p; p = strchr(p + 1, '+')) {
        snprintf(a, sizeof a, "%.*s+", (int)strcspn(p + 1, "+") + 1, p);
        if (!strstr(h, a))
            return 0;
    }
    return 1;
}

/* 1 when data row i has a non-empty cell in columns 0..cols. */
static int filled(const struct hxl_table *t, size_t i, int cols)
{
    for (int c = 0; c < cols; c++)
        if (hxl_cell(t, i, c)[0])
            return 1;
    return 0;
}

/* The table written back as CSV into a malloc'd buffer (*len bytes); NULL when empty. */
static char *write_back(const struct hxl_table *t, int cols, size_t *len)
{
    size_t cap = 64, n = 0;
    char *b = malloc(cap);
    CHECK(b != NULL);
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (n == cap) {                                                                            \
            cap *= 2;                                                                              \
            CHECK((b = realloc(b, cap)) != NULL);                                                  \
        }                                                                                          \
        b[n++] = (ch);                                                                             \
    } while (0)
    for (int c = 0; c < cols; c++) {
        for (const char *p = hxl_col_tag(t, c); *p; p++)
            PUT(*p);
        PUT(c + 1 < cols ? ',' : '\n');
    }
    for (size_t i = 0; i < hxl_rows(t); i++) {
        if (!filled(t, i, cols))
            continue;
        for (int c = 0; c < cols; c++) {
            PUT('"');
            for (const char *p = hxl_cell(t, i, c); *p; p++) {
                if (*p == '"')
                    PUT('"');
                PUT(*p);
            }
            PUT('"');
            PUT(c + 1 < cols ? ',' : '\n');
        }
    }
#undef PUT
    *len = n;
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hxl_table *t = NULL, *u = NULL;
    struct hxl_err err;
    size_t prev, len, j = 0;
    int cols = 0, rc;
    char *back;

    rc = hxl_read(data, size, &t, &err);
    if (rc != AM_OK) {
        CHECK(t == NULL);
        CHECK(rc == AM_ELIMIT || rc == AM_EMALFORMED || rc == AM_ENOTFOUND || rc == AM_ENOMEM);
        CHECK(err.msg[0] != 0);
        return 0;
    }
    CHECK(t != NULL);
    CHECK(hxl_rows(t) <= HXL_ROWS_MAX);
    CHECK(hxl_tag_row(t) >= 1 && hxl_tag_row(t) <= HXL_TAG_SCAN);
    prev = hxl_tag_row(t);
    for (size_t i = 0; i < hxl_rows(t); i++) {
        CHECK(hxl_row_number(t, i) > prev);
        prev = hxl_row_number(t, i);
    }
    CHECK(hxl_cols(t) >= 1 && hxl_cols(t) <= HXL_COLS_MAX);
    cols = (int)hxl_cols(t);
    CHECK(hxl_col_tag(t, cols)[0] == 0);
    CHECK(cols >= 1);
    for (int c = 0; c < cols; c++) {
        const char *tag = hxl_col_tag(t, c);
        int found;
        if (!tag[0])
            continue;
        CHECK(tag[0] == '#' && strlen(tag) <= HXL_TAG_MAX);
        /* the first column with this hashtag and at least these attributes */
        found = hxl_col(t, tag);
        CHECK(found >= 0 && found <= c && has_all(hxl_col_tag(t, found), tag));
        for (int e = 0; e < found; e++)
            CHECK(!has_all(hxl_col_tag(t, e), tag));
    }
    CHECK(hxl_col(t, "#no_such_tag_here") == -1 || hxl_col_tag(t, 0)[0]);
    for (size_t i = 0; i < hxl_rows(t); i++)
        for (int c = -1; c <= cols; c++)
            check_cell(hxl_cell(t, i, c));
    CHECK(hxl_cell(t, hxl_rows(t), 0)[0] == 0);

    /* written back and read again: the same cells */
    back = write_back(t, cols, &len);
    if (len > HXL_FILE_MAX) { /* only from an input near the limit, full of quotes */
        free(back);
        hxl_free(t);
        return 0;
    }
    CHECK(hxl_read((const uint8_t *)back, len, &u, &err) == AM_OK);
    CHECK(hxl_tag_row(u) == 1);
    for (size_t i = 0; i < hxl_rows(t); i++) {
        if (!filled(t, i, cols))
            continue;
        CHECK(j < hxl_rows(u));
        for (int c = 0; c < cols; c++)
            CHECK(!strcmp(hxl_cell(t, i, c), hxl_cell(u, j, c)));
        j++;
    }
    CHECK(j == hxl_rows(u));
    free(back);
    hxl_free(u);
    hxl_free(t);
    return 0;
}
