/*
 * bench_report.c: the rows, notes and printing of aidmesh-bench's one report (see
 * bench_report.h). It must never measure anything or touch a store: the benchmarks do,
 * and hand their figures here.
 */
#include "bench_report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "out.h"

static struct bench_row rows[BENCH_ROWS_MAX], scratch;
static size_t n_rows, n_notes;
static char notes[BENCH_NOTES_MAX][BENCH_NOTE_LEN];
static int warned_full;

static struct bench_row *next_row(const char *figure)
{
    struct bench_row *r = &scratch;
    if (n_rows < BENCH_ROWS_MAX) {
        r = &rows[n_rows++];
    } else if (!warned_full) {
        fprintf(stderr,
                "aidmesh-bench: the report holds %d rows; '%s' and later rows are left "
                "out (raise BENCH_ROWS_MAX)\n",
                BENCH_ROWS_MAX, figure);
        warned_full = 1;
    }
    memset(r, 0, sizeof *r);
    snprintf(r->figure, sizeof r->figure, "%s", figure);
    snprintf(r->target, sizeof r->target, "info");
    r->met = BENCH_INFO;
    return r;
}

struct bench_row *bench_row_add(const char *figure, double value, enum bench_unit unit)
{
    struct bench_row *r = next_row(figure);
    r->value = value;
    r->unit = unit;
    return r;
}

struct bench_row *bench_row_text(const char *figure, const char *text)
{
    struct bench_row *r = next_row(figure);
    snprintf(r->text, sizeof r->text, "%s", text);
    return r;
}

void bench_section(const char *title)
{
    next_row(title)->section = 1;
}

void bench_row_ceiling(struct bench_row *r, const char *what, double ceiling, enum bench_unit unit,
                       const char *ratio_what)
{
    snprintf(r->ceiling_what, sizeof r->ceiling_what, "%s", what);
    r->ceiling = ceiling;
    r->ceiling_unit = unit;
    if (ceiling > 0 && !r->text[0])
        bench_row_ratio(r, r->value / ceiling, ratio_what);
}

void bench_row_ratio(struct bench_row *r, double ratio, const char *ratio_what)
{
    r->has_ratio = 1;
    r->ratio = ratio;
    snprintf(r->ratio_what, sizeof r->ratio_what, "%s", ratio_what ? ratio_what : "");
}

void bench_row_target(struct bench_row *r, const char *target, int met)
{
    snprintf(r->target, sizeof r->target, "%s", target);
    r->met = met;
}

void bench_note(const char *fmt, ...)
{
    va_list ap;
    if (n_notes >= BENCH_NOTES_MAX) {
        fprintf(stderr, "aidmesh-bench: too many notes; one is left out\n");
        return;
    }
    va_start(ap, fmt);
    vsnprintf(notes[n_notes++], BENCH_NOTE_LEN, fmt, ap);
    va_end(ap);
}

size_t bench_report_rows(void)
{
    return n_rows;
}

size_t bench_report_missed(void)
{
    size_t k = 0;
    for (size_t i = 0; i < n_rows; i++)
        k += !rows[i].section && rows[i].met == BENCH_MISSED;
    return k;
}

void bench_report_clear(void)
{
    n_rows = n_notes = 0;
    warned_full = 0;
}

const char *bench_build_type(void)
{
#if defined(__OPTIMIZE__) && defined(NDEBUG)
#define BENCH_OPT "Release (optimised, NDEBUG)"
#elif defined(__OPTIMIZE__)
#define BENCH_OPT "optimised, asserts on"
#else
#define BENCH_OPT "Debug (not optimised)"
#endif
#if defined(__SANITIZE_ADDRESS__)
    return BENCH_OPT " + ASan/UBSan: figures NOT meaningful";
#elif defined(__OPTIMIZE__)
    return BENCH_OPT;
#else
    return BENCH_OPT ": figures NOT meaningful";
#endif
#undef BENCH_OPT
}

/* ---- printing --------------------------------------------------------------------------- */

static void fmt_value(char buf[64], double v, enum bench_unit u)
{
    char c[32];
    switch (u) {
    case BENCH_RATE:
        out_count(c, (uint64_t)(v + 0.5));
        snprintf(buf, 64, "%s/s", c);
        break;
    case BENCH_BYTES:
        if (v == (double)(uint64_t)v && v < 1e15) {
            out_count(c, (uint64_t)v);
            snprintf(buf, 64, "%s B", c);
        } else {
            snprintf(buf, 64, "%.1f B", v);
        }
        break;
    case BENCH_MS:
        snprintf(buf, 64, v < 10 ? "%.2f ms" : "%.1f ms", v);
        break;
    case BENCH_MBPS:
        out_count(c, (uint64_t)(v + 0.5));
        snprintf(buf, 64, "%s MB/s", c);
        break;
    case BENCH_MIB:
        snprintf(buf, 64, "%.1f MiB", v);
        break;
    case BENCH_COUNT:
        out_count(c, (uint64_t)(v + 0.5));
        snprintf(buf, 64, "%s", c);
        break;
    }
}

/* The first "model name" of /proc/cpuinfo (or "unknown CPU"), and the processors listed. */
static void cpu_info(char *model, size_t cap, int *cpus)
{
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");

    snprintf(model, cap, "unknown CPU");
    *cpus = 0;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        if (strncmp(line, "processor", 9) == 0) {
            ++*cpus;
        } else if (strncmp(line, "model name", 10) == 0 && strcmp(model, "unknown CPU") == 0) {
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            v[strcspn(v, "\r\n")] = 0;
            snprintf(model, cap, "%s", v);
        }
    }
    fclose(f);
}

/* MemTotal of /proc/meminfo in MiB, or 0. */
static unsigned long mem_total_mib(void)
{
    char line[256];
    unsigned long kb = 0;
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %lu kB", &kb) == 1)
            break;
    fclose(f);
    return kb / 1024;
}

/* Table cells hold no '|' or newline. */
static void cell(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(*s == '|' ? '/' : *s == '\n' ? ' ' : *s, f);
}

void bench_report_markdown(FILE *f, const char *title, const char *extra, size_t first)
{
    char model[256], date[64];
    struct utsname u;
    time_t t = time(NULL);
    struct tm tm;
    int cpus;

    cpu_info(model, sizeof model, &cpus);
    if (!gmtime_r(&t, &tm) || !strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(date, sizeof date, "unknown date");
    if (uname(&u) != 0) {
        snprintf(u.sysname, sizeof u.sysname, "unknown kernel");
        u.release[0] = u.machine[0] = 0;
    }
    fprintf(f, "## %s\n\n", title);
    fprintf(f, "- date: %s\n", date);
    fprintf(f, "- machine: %s, %d logical CPUs (%ld online), %lu MiB RAM\n", model, cpus,
            sysconf(_SC_NPROCESSORS_ONLN), mem_total_mib());
    fprintf(f, "- kernel: %s %s %s\n", u.sysname, u.release, u.machine);
    fprintf(f, "- build: %s; libsodium %s\n", bench_build_type(), sodium_version_string());
    if (extra && *extra)
        fprintf(f, "- %s\n", extra);
    fputs("\n| figure | aidmesh | ceiling (what it is) | ratio | target | met? |\n", f);
    fputs("|---|---|---|---|---|---|\n", f);
    for (size_t i = first; i < n_rows; i++) {
        const struct bench_row *r = &rows[i];
        char v[64], c[64];
        if (r->section) {
            fputs("| **", f);
            cell(f, r->figure);
            fputs("** | | | | | |\n", f);
            continue;
        }
        fputs("| ", f);
        cell(f, r->figure);
        fputs(" | ", f);
        if (r->text[0]) {
            cell(f, r->text);
        } else {
            fmt_value(v, r->value, r->unit);
            fputs(v, f);
        }
        fputs(" | ", f);
        if (r->ceiling_what[0]) {
            cell(f, r->ceiling_what);
            if (r->ceiling > 0) {
                fmt_value(c, r->ceiling, r->ceiling_unit);
                fprintf(f, ": %s", c);
            }
        } else {
            fputs("—", f);
        }
        fputs(" | ", f);
        if (r->has_ratio && !r->text[0]) {
            fprintf(f, "%.3g× ", r->ratio);
            cell(f, r->ratio_what);
        } else {
            fputs("—", f);
        }
        fputs(" | ", f);
        cell(f, r->target);
        fprintf(f, " | %s |\n",
                r->met == BENCH_MET      ? "yes"
                : r->met == BENCH_MISSED ? "**NO**"
                                         : "—");
    }
    if (n_notes) {
        fputs("\nNotes:\n\n", f);
        for (size_t i = 0; i < n_notes; i++)
            fprintf(f, "- %s\n", notes[i]);
    }
    fflush(f);
}

static const char *const unit_json[] = {"per_s", "bytes", "ms", "MB_per_s", "MiB", "count"};

/* v as a JSON number to four decimals; null when it is not finite (JSON has no NaN) */
static json_t *real4(double v)
{
    double x = v * 1e4;
    if (!isfinite(x) || x >= 9e18 || x <= -9e18)
        return isfinite(v) ? json_real(v) : json_null();
    return json_real((double)(long long)(x < 0 ? x - 0.5 : x + 0.5) / 1e4);
}

void bench_report_json(FILE *f, size_t first)
{
    json_t *a = json_array();
    for (size_t i = first; i < n_rows; i++) {
        const struct bench_row *r = &rows[i];
        int has_ratio = r->has_ratio && !r->text[0];
        json_t *o;
        if (r->section)
            continue;
        o = json_pack("{s:o}", "figure", out_json_strz(r->figure));
        if (!o)
            break;
        if (r->text[0]) {
            json_object_set_new(o, "value", json_null());
            json_object_set_new(o, "unit", json_string(unit_json[r->unit]));
            json_object_set_new(o, "note", out_json_strz(r->text));
        } else {
            json_object_set_new(o, "value", real4(r->value));
            json_object_set_new(o, "unit", json_string(unit_json[r->unit]));
        }
        if (r->ceiling_what[0]) {
            json_object_set_new(o, "ceiling_what", out_json_strz(r->ceiling_what));
            json_object_set_new(o, "ceiling", real4(r->ceiling));
            json_object_set_new(o, "ceiling_unit", json_string(unit_json[r->ceiling_unit]));
        } else {
            json_object_set_new(o, "ceiling_what", json_null());
            json_object_set_new(o, "ceiling", json_null());
            json_object_set_new(o, "ceiling_unit", json_null());
        }
        json_object_set_new(o, "ratio", has_ratio ? real4(r->ratio) : json_null());
        json_object_set_new(o, "ratio_what",
                            has_ratio ? out_json_strz(r->ratio_what) : json_null());
        json_object_set_new(o, "target", out_json_strz(r->target));
        json_object_set_new(o, "met",
                            r->met == BENCH_MET      ? json_true()
                            : r->met == BENCH_MISSED ? json_false()
                                                     : json_null());
        json_array_append_new(a, o);
    }
    if (out_json_put(f, a))
        fprintf(stderr, "cannot write the JSON report\n");
    fflush(f);
}
