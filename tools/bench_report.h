/*
 * bench_report.h: the one report of aidmesh-bench. Every benchmark (store_bench.c,
 * sync_bench.c, daemon_bench.c, relief_bench.c, stick_bench.c, flood_bench.c) adds its
 * figures here as rows of one table
 *
 *   | figure | aidmesh | ceiling (what it is) | ratio | target | met? |
 *
 * plus notes printed below it, and the report is printed once at the end, as Markdown
 * under a header naming the machine (CPU model and cores, kernel, memory, build type),
 * or as a JSON array of the rows. This module measures nothing and never touches a
 * store; it holds the rows of one process (a fixed table: no allocation), so it is not
 * for threads. Who reads the report is in README.md, "Reading the benchmark report".
 */
#ifndef AM_BENCH_REPORT_H
#define AM_BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_ROWS_MAX  96
#define BENCH_NOTES_MAX 24
#define BENCH_NOTE_LEN  1024

enum bench_unit {
    BENCH_RATE,  /* per second, shown "12,345/s" */
    BENCH_BYTES, /* bytes, "340.5 B" (whole numbers without decimals) */
    BENCH_MS,    /* milliseconds, "12.3 ms" */
    BENCH_MBPS,  /* 10^6 bytes per second, "1,234 MB/s" */
    BENCH_MIB,   /* 2^20 bytes, "41.2 MiB" */
    BENCH_COUNT  /* a number of things (entries, logs), "1,234" */
};

/* met: whether the target is met */
#define BENCH_MET    1
#define BENCH_MISSED 0
#define BENCH_INFO   (-1) /* no target: for information */

struct bench_row {
    char figure[256];
    double value;
    enum bench_unit unit;
    char ceiling_what[160]; /* "": no ceiling */
    double ceiling;
    enum bench_unit ceiling_unit;
    int has_ratio;
    double ratio;
    char ratio_what[64]; /* "0.85× sign": what the ratio compares with */
    char target[96];
    int met;        /* BENCH_MET, BENCH_MISSED or BENCH_INFO */
    char text[160]; /* non-empty: shown instead of the value (skipped, failed) */
    int section;    /* a heading row: only the figure is shown, in bold */
};

/* Adds a row with its value; target "info" and BENCH_INFO until bench_row_target. The
 * returned row lives until bench_report_clear. When the table is full the row goes to a
 * scratch row that is never printed (and a warning goes to stderr once): never NULL. */
struct bench_row *bench_row_add(const char *figure, double value, enum bench_unit unit);
/* A row with no value: `text` (e.g. "skipped: no FUSE") instead. */
struct bench_row *bench_row_text(const char *figure, const char *text);
/* A heading row, e.g. "Relief views". */
void bench_section(const char *title);
/* The ceiling of r (what it is, its value and unit) and the ratio value / ceiling,
 * described by ratio_what ("sign" gives "0.85× sign"). A ceiling of 0 gives no ratio. */
void bench_row_ceiling(struct bench_row *r, const char *what, double ceiling, enum bench_unit unit,
                       const char *ratio_what);
/* Replaces the ratio of r (for ratios that are not value / ceiling). */
void bench_row_ratio(struct bench_row *r, double ratio, const char *ratio_what);
/* The target of r as text ("≥ 250,000/s") and whether it was met (BENCH_MET, BENCH_MISSED,
 * BENCH_INFO). */
void bench_row_target(struct bench_row *r, const char *target, int met);
/* A note printed below the table (one paragraph; cut at BENCH_NOTE_LEN). */
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Rows and notes so far, and the count of rows whose target was missed. */
size_t bench_report_rows(void);
size_t bench_report_missed(void);

/* The Markdown report: "## title", the header (date, machine, kernel, build type, and
 * `extra` if non-NULL), the table of rows [first, end), then the notes. */
void bench_report_markdown(FILE *f, const char *title, const char *extra, size_t first);
/* The rows [first, end) as a JSON array (one object per row, notes not included). */
void bench_report_json(FILE *f, size_t first);
/* Forgets every row and note. */
void bench_report_clear(void);

/* The build this binary comes from: "Release (optimised, NDEBUG)", "Debug (not optimised)
 * + ASan/UBSan", ... from the compiler's predefined macros. A static string. */
const char *bench_build_type(void);

/* ---- the benchmarks that add rows (each in its own file) ---------------------------------- */

/* relief_bench.c: the relief views figures (workload of `quick` ? 100,000 : 1,000,000
 * entries) under a fresh folder in tmpdir. Returns AM_OK or what failed (also on stderr);
 * a failure adds a row saying so. */
int relief_bench_rows(const char *tmpdir, int quick);
/* aidmesh-bench's relief-growth part (relief_bench.c): the per-entry cost of ingest with
 * views as one store grows (see the top of relief_bench.c). Adds its rows (a failure adds a
 * row saying so); AM_OK or what failed. entries: the run's --entries when given, else 0. */
int relief_growth_rows(const char *tmpdir, uint64_t entries, int quick);

/* stick_bench.c: export/import through a stick folder on tmpfs and on FAT32. */
struct stick_bench_cfg {
    uint64_t entries, authors;
    int quick;       /* ceilings of 0.3 s instead of 1 s */
    int make_fat;    /* make a FAT32 image and mount it with fusefat (when fat is NULL) */
    const char *dir; /* work folder parent; NULL: $TMPDIR or /tmp */
    const char *tmpfs;
    const char *fat; /* a mounted FAT32 volume; NULL: make_fat, else skipped */
};
/* Adds the stick rows and notes. Returns 0, or 1 when the source could not be built. */
int stick_bench_rows(const struct stick_bench_cfg *cfg);
/* flood_bench.c: a hub (`aidmesh run`) under a connection flood from aidmesh-flood:
 * memory per connection before authentication, memory during the flood, and a member's
 * sync with and without it. Skipped (a row says so) when aidmesh or aidmesh-flood is not
 * beside the bench. Returns AM_OK or what failed. */
int flood_bench_rows(const char *tmpdir);
/* lane_bench.c: "critical first": the open critical needs a contact cut at 10% of an
 * n-entry relief backlog carries, with the priority lane and without it, and the lane's
 * bytes; a whole contact afterwards must leave the receiver equal to the sender. Adds its
 * rows (a failure adds a row saying so). Returns AM_OK or what failed. */
int lane_bench_rows(const char *tmpdir, uint64_t n);
/* web_bench.c: the phone page of needs on a store of about 10,000 open needs: how long the
 * node takes to make it, beside the same needs read raw, and its size. Adds its rows (a
 * failure adds a row saying so). Returns AM_OK or what failed. */
int web_bench_rows(const char *tmpdir);
/* web_bench.c: sync latency among three running daemons while phones poll the hub's
 * needs page (200 phones, every 10 s; quick: 50), beside the same without phones. Adds
 * its rows. Returns AM_OK or what failed. */
int web_poll_rows(const char *tmpdir, int quick);
/* `aidmesh-bench stick [options]`: the stick rows alone, printed as their own report. */
int stick_bench_run(int argc, char **argv);

#endif
