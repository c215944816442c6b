/*
 * web_bench.c: the phone pages' rows of aidmesh-bench (web_bench_rows, declared in
 * bench_report.h): how long the node takes to make the needs page a phone asks for, and how
 * big it is, on a store with about 10,000 open needs.
 *
 * Workload: the site-local relief mix of relief_bench.c (relief_bench_store) with N entries
 * (130,000; about a tenth open needs, the rest of them updated, delivered or closed, and
 * stock moves and counts), built into a fresh store.
 * Figures (median of 20 runs, each opening its own read snapshot as a request does):
 *   the needs page, /needs with no filter (the open needs, at most WEBAPP_ROWS_MAX rows):
 *     webapp_needs, server side; ceiling: the same open needs read raw, every one of them
 *     (query_open and query_needs, nothing rendered). Target: 5 ms. The page reads only
 *     the rows it shows (query_needs_page: an index gives their order).
 *   its size; target: under 100 kB.
 *   the same page for one site (the site of the first open need), and for a text search
 *     (which reads every need: the index holds no text); no target of their own.
 * web_poll_rows: three `aidmesh run` daemons on 127.0.0.1 (the propagation figure's
 * layout, bench_propagation), the hub (node 0) seeded with the same relief store and
 * serving its web app; 60 writes at random nodes, each timed until every node holds it,
 * once while WP_PHONES phones poll the hub's /needs?status=open every WP_PERIOD_S (new
 * connection each time, turns spread evenly; timing starts after one full period), and
 * once without phones (the ceiling: same layout and seed). Target: p50 within 10% of the
 * run without phones (issue 16's figure).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "bench_parts.h"
#include "bench_report.h"
#include "bench_util.h"
#include "cli.h"
#include "out.h"
#include "query.h"
#include "webapp.h"

#define WB_ENTRIES   130000
#define WB_RUNS      20
#define WB_TARGET_MS 5.0
#define WB_PAGE_MAX  (100u * 1024)

static int wb_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The open needs read raw, every one: *n of them; site: the site of the first. */
static int wb_raw(struct store *s, size_t *n, char site[RELIEF_SLUG_MAX + 1])
{
    struct query *q;
    const struct query_need *rows;
    struct query_need_filter f = {.status = RELIEF_ST_OPEN};
    int rc = query_open(s, 0, &q);
    if (rc == AM_OK)
        rc = query_needs(q, &f, &rows, n);
    if (rc == AM_OK && *n)
        snprintf(site, RELIEF_SLUG_MAX + 1, "%s", rows[0].v.site);
    query_close(q);
    return rc;
}

/* The median time of WB_RUNS renders of /needs with these arguments, in ms. */
static int wb_page(const struct webapp_ctx *w, const char *site, const char *status,
                   const char *text, double *ms, size_t *len)
{
    double t[WB_RUNS];
    int rc = AM_OK;
    for (int i = 0; i < WB_RUNS && rc == AM_OK; i++) {
        char *page = NULL;
        double t0 = bench_now_s();
        rc = webapp_needs(w, site, status, NULL, text, &page, len);
        t[i] = (bench_now_s() - t0) * 1000.0;
        free(page);
    }
    qsort(t, WB_RUNS, sizeof t[0], wb_cmp);
    *ms = t[WB_RUNS / 2];
    return rc;
}

int web_bench_rows(const char *tmp)
{
    char dir[4200], fig[200], cn[32], site[RELIEF_SLUG_MAX + 1] = "";
    double t_page[WB_RUNS], t_raw[WB_RUNS], t_site = 0, t_text = 0;
    struct node nd;
    struct webapp_ctx w;
    struct store *s = NULL;
    size_t open_needs = 0, page_len = 0, len_site = 0, len_text = 0;
    struct bench_row *r;
    int rc;

    bench_section("Phone pages (the web app, server side)");
    snprintf(dir, sizeof dir, "%s/web-bench", tmp);
    if ((rc = relief_bench_store(dir, WB_ENTRIES)) != AM_OK ||
        (rc = store_open(&s, dir, NULL)) != AM_OK)
        goto out;
    /* the pages read only the node's store */
    memset(&nd, 0, sizeof nd);
    nd.store = s;
    memset(&w, 0, sizeof w);
    w.n = &nd;
    w.csrf = "";
    for (int i = 0; i < WB_RUNS && rc == AM_OK; i++) {
        char *page = NULL;
        size_t len = 0;
        double t0 = bench_now_s();
        rc = wb_raw(s, &open_needs, site);
        t_raw[i] = (bench_now_s() - t0) * 1000.0;
        if (rc != AM_OK)
            break;
        t0 = bench_now_s();
        rc = webapp_needs(&w, NULL, NULL, NULL, NULL, &page, &len);
        t_page[i] = (bench_now_s() - t0) * 1000.0;
        free(page);
        page_len = len;
    }
    if (rc == AM_OK)
        rc = wb_page(&w, site, "open", NULL, &t_site, &len_site);
    if (rc == AM_OK)
        rc = wb_page(&w, NULL, "open", "water", &t_text, &len_text);
    if (rc != AM_OK)
        goto out;
    qsort(t_page, WB_RUNS, sizeof t_page[0], wb_cmp);
    qsort(t_raw, WB_RUNS, sizeof t_raw[0], wb_cmp);
    out_count(cn, open_needs);
    snprintf(fig, sizeof fig,
             "phone page /needs (%s open needs, the first %d shown), made server side, median "
             "of %d",
             cn, WEBAPP_ROWS_MAX, WB_RUNS);
    r = bench_row_add(fig, t_page[WB_RUNS / 2], BENCH_MS);
    bench_row_ceiling(r, "every one of them read raw (query_needs)", t_raw[WB_RUNS / 2], BENCH_MS,
                      "raw");
    bench_row_target(r, "≤ 5 ms", t_page[WB_RUNS / 2] <= WB_TARGET_MS ? BENCH_MET : BENCH_MISSED);
    r = bench_row_add("its size", (double)page_len, BENCH_BYTES);
    bench_row_target(r, "< 100 kB", page_len < WB_PAGE_MAX ? BENCH_MET : BENCH_MISSED);
    snprintf(fig, sizeof fig, "the open needs of one site (%s), median of %d", site, WB_RUNS);
    r = bench_row_add(fig, t_site, BENCH_MS);
    bench_row_ceiling(r, "every open need read raw", t_raw[WB_RUNS / 2], BENCH_MS, "raw");
    snprintf(fig, sizeof fig, "a text search of the open needs (q=water: every need is read)");
    r = bench_row_add(fig, t_text, BENCH_MS);
    bench_row_ceiling(r, "every open need read raw", t_raw[WB_RUNS / 2], BENCH_MS, "raw");
    bench_note("Phone pages: the relief mix of relief_bench.c, %d entries; /needs rendered by "
               "webapp_needs from a fresh read snapshot each time, as a request does.",
               WB_ENTRIES);
out:
    if (rc != AM_OK) {
        bench_fail("phone pages", rc);
        bench_row_target(bench_row_text("phone page /needs", "failed (see stderr)"),
                         "runs to the end", BENCH_MISSED);
    }
    store_close(s);
    bench_rm_tree(dir);
    return rc;
}

#define WP_PHONES   200
#define WP_PHONES_Q 50
#define WP_PERIOD_S 10.0
#define WP_NODES    3
#define WP_SAMPLES  60
#define WP_TARGET   1.10

int web_poll_rows(const char *tmp, int quick)
{
    char seed[4200], fig[240], text[240];
    struct bench_prop_result with = {0}, without = {0};
    struct bench_poll_result pr = {0};
    int phones = quick ? WP_PHONES_Q : WP_PHONES, rc;
    struct bench_prop_opts po = {seed, phones, WP_PERIOD_S, &pr}, base = {seed, 0, 0, NULL};
    struct bench_row *r;

    bench_section("Phones polling a hub (running daemons, 127.0.0.1)");
    snprintf(seed, sizeof seed, "%s/web-poll-seed", tmp);
    if ((rc = relief_bench_store(seed, WB_ENTRIES)) == AM_OK) {
        fprintf(stderr, "aidmesh-bench: web poll: %d writes without phones\n", WP_SAMPLES);
        rc = bench_propagation(tmp, WP_NODES, WP_SAMPLES, &base, &without);
    }
    if (rc == AM_OK && without.ran) {
        char net[4200];
        snprintf(net, sizeof net, "%s/net", tmp); /* bench_propagation's homes, made again */
        bench_rm_tree(net);
        fprintf(stderr, "aidmesh-bench: web poll: %d writes while %d phones poll\n", WP_SAMPLES,
                phones);
        rc = bench_propagation(tmp, WP_NODES, WP_SAMPLES, &po, &with);
    }
    bench_rm_tree(seed);
    if (rc != AM_OK || !without.ran || !with.ran) {
        if (rc != AM_OK)
            bench_fail("phones polling a hub", rc);
        bench_row_text("sync latency while phones poll the hub",
                       rc != AM_OK ? "failed (see stderr)" : "skipped (aidmesh binary not found)");
        return rc;
    }
    snprintf(fig, sizeof fig,
             "a write reaches all %d nodes while %d phones poll the hub's /needs every %.0f s, "
             "p50 of %d",
             WP_NODES, phones, WP_PERIOD_S, with.samples);
    r = bench_row_add(fig, with.p50_ms, BENCH_MS);
    bench_row_ceiling(r, "the same without phones, p50", without.p50_ms, BENCH_MS, "no phones");
    snprintf(text, sizeof text, "≤ %.2f× no phones", WP_TARGET);
    bench_row_target(r, text, with.p50_ms <= WP_TARGET * without.p50_ms ? BENCH_MET : BENCH_MISSED);
    snprintf(fig, sizeof fig, "the same, p95 of %d", with.samples);
    r = bench_row_add(fig, with.p95_ms, BENCH_MS);
    bench_row_ceiling(r, "without phones, p95", without.p95_ms, BENCH_MS, "no phones");
    snprintf(fig, sizeof fig, "the phones' requests, p50 (%llu in %.0f s, %llu failed)",
             (unsigned long long)pr.requests, pr.seconds, (unsigned long long)pr.failed);
    r = bench_row_add(fig, pr.p50_ms, BENCH_MS);
    bench_row_target(r, "none fails", pr.failed == 0 && pr.requests > 0 ? BENCH_MET : BENCH_MISSED);
    bench_note("Phones polling a hub: %d `aidmesh run` daemons as in the propagation figure, "
               "the hub seeded with the relief mix of %d entries (about 10,000 open needs) "
               "and serving its web app on 127.0.0.1; the phones' p95 %.1f ms; writes timed "
               "after one full period of polling.",
               WP_NODES, WB_ENTRIES, pr.p95_ms);
    return AM_OK;
}
