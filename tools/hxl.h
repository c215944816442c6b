/*
 * hxl.h: reading a spreadsheet saved as CSV whose columns carry HXL hashtags (the
 * Humanitarian Exchange Language, hxlstandard.org), for `aidmesh import --hxl`
 * (cli_import.c; PROTOCOL.md section 12).
 *
 * The bytes come from a person's file: they are checked against the limits below, must be
 * UTF-8 (a BOM is accepted), and are split into cells by libcsv, never by hand. The tag
 * row is the first row, within the first HXL_TAG_SCAN, whose non-empty cells are mostly
 * hashtags; rows above it are headers for people, rows below it are data. Columns are
 * found by their hashtag and attributes (hxl_col), never by position.
 *
 * Never prints and never writes: errors come back as a code and a sentence naming the row
 * as a spreadsheet numbers it (1-based, header rows and blank rows included).
 */
#ifndef AM_HXL_H
#define AM_HXL_H

#include <stddef.h>
#include <stdint.h>

/* ---- Limits of a file to import (each with its reason) ---- */

/* The whole file: a catalogue of thousands of items or a country's site list is well under
 * 1 MiB; 16 MiB bounds the memory of one import (the file, its cells, the ops). */
#define HXL_FILE_MAX (16u << 20)
/* Data rows below the tag row: all of them are written in one transaction (the views' work
 * is about 450 bytes per entry), and an import this size takes about a second. */
#define HXL_ROWS_MAX 10000
/* Rows above the tag row searched for it: HXL tools look for it near the top; 25 leaves
 * room for a title block and notes above the table. */
#define HXL_TAG_SCAN 25
/* Cells in one row: the widest export has 21 columns; 200 leaves room for sheets kept
 * for other purposes. */
#define HXL_COLS_MAX 200
/* Bytes of one cell: a note is at most 1,000 bytes (AM_RELIEF_NOTE_MAX); 4 KiB lets a
 * longer cell be refused by the field's own rule with its reason. */
#define HXL_CELL_MAX 4096
/* One hashtag with its attributes, normalized ("#item+num+needed"). */
#define HXL_TAG_MAX 96

/* An error: the spreadsheet row it is on (0: the file as a whole) and a sentence. */
struct hxl_err {
    size_t row;
    char msg[240];
};

struct hxl_table;

/*
 * Reads a CSV file of `len` bytes (not NUL-terminated; the caller keeps it). On success
 * *out is a table the caller frees with hxl_free; it does not point into data. Returns
 *   AM_OK;
 *   AM_ELIMIT      over a limit above (err names which and the row);
 *   AM_EMALFORMED  not UTF-8 (UTF-16, Latin-1, ...: "save it as CSV UTF-8"), a NUL byte,
 *                  or quotes that do not pair up;
 *   AM_ENOTFOUND   no tag row in the first HXL_TAG_SCAN rows;
 *   AM_ENOMEM.
 */
int hxl_read(const uint8_t *data, size_t len, struct hxl_table **out, struct hxl_err *err);
void hxl_free(struct hxl_table *t);

/* The spreadsheet row of the tag row; the number of data rows below it (blank rows, whose
 * cells are all empty, are left out); the spreadsheet row of data row i. */
size_t hxl_tag_row(const struct hxl_table *t);
size_t hxl_rows(const struct hxl_table *t);
size_t hxl_row_number(const struct hxl_table *t, size_t i);

/*
 * The first column whose hashtag matches spec, or -1. spec is a hashtag with attributes
 * that must be there ("+code") and attributes that must not ("-code"): "#loc+code" matches
 * "#loc +code +v_pcode"; "#adm1-code" matches "#adm1+name" and "#adm1" but not
 * "#adm1+code". Hashtags and attributes compare without regard to case.
 */
int hxl_col(const struct hxl_table *t, const char *spec);
/* The number of cells in the tag row, tagged or not. */
size_t hxl_cols(const struct hxl_table *t);
/* The normalized hashtag of column c ("#loc+code"), "" when it has none. */
const char *hxl_col_tag(const struct hxl_table *t, int c);

/* The cell of data row i, column c, NUL-terminated (a cell holds no NUL byte): "" when
 * the row is shorter or c is -1. Valid until hxl_free. Unquoted cells lose the spaces
 * around them; quoted cells are as typed, line ends included. */
const char *hxl_cell(const struct hxl_table *t, size_t i, int c);

/* 1 when a spreadsheet would take cell s as a formula (OWASP, CSV injection): it begins
 * with '=', '+', '-', '@', TAB or CR and is not a plain number ("-4.5", "+12"). */
int hxl_formula_like(const char *s);
/* The text of a cell that a spreadsheet marked as text with a leading "'" (as `aidmesh
 * export` writes a cell that would be a formula): s without that quote; else s. */
const char *hxl_text(const char *s);

#endif
