/*
 * cli_export.c: `aidmesh export --hxl needs|stock`: the needs or the stock cells as CSV with
 * a row of HXL hashtags (PROTOCOL.md section 12), read from the views.
 *
 * Never writes to the store; never lets a cell that people wrote reach a spreadsheet as a
 * formula (see csv below).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "cli.h"
#include "cli_relief_int.h"
#include "hlc.h"
#include "out.h"

/* ---- export ------------------------------------------------------------------------------ */

static const char export_help[] =
    "usage: aidmesh export --hxl needs|stock [--all] [--org NAME] [--adm1 NAME]\n"
    "\n"
    "Writes CSV to stdout: a header row for people, then a row of HXL hashtags (the\n"
    "Humanitarian Exchange Language, hxlstandard.org) so HXL tools and the humanitarian\n"
    "data exchange can read it, then one row per open need (all needs with --all) or per\n"
    "stock cell. The attributes aidmesh adds to the HXL core are listed in PROTOCOL.md\n"
    "(HXL export).\n"
    "\n"
    "  --org NAME   organisation to name in the #org column (default: empty)\n"
    "  --adm1 NAME  first-level admin area to name in the #adm1 column (default: empty)\n"
    "  --all        needs: every need, not only open ones\n";

/* One CSV cell (PROTOCOL.md §12), then ',' or, when `last`, CR LF. `text` marks text that
 * people or other nodes wrote (names, units, notes, --org, --adm1): it is escaped for a
 * terminal like every other output (out_text_esc, TAB and LF kept) and, when it begins
 * with '=', '+', '-', '@', TAB or CR, neutralised with a leading "'" so that a spreadsheet
 * shows it instead of evaluating it as a formula. A cell is quoted when it holds ',', ';',
 * '"', TAB, CR or LF, or was neutralised. Cells the exporter makes (numbers, dates, ids,
 * names of values) are written as they are. */
static void csv(FILE *f, const char *s, size_t n, int text, int last)
{
    char buf[4 * RELIEF_NOTE_MAX + 8]; /* escaping makes at most 4 bytes of one */
    int q = 0, neut = 0;

    if (text) {
        n = out_text_esc(buf, sizeof buf, s, n, OUT_TEXT_LINES, NULL);
        s = buf;
        neut = n && memchr("=+-@\t\r", s[0], 6);
    }
    q = neut;
    for (size_t i = 0; i < n && !q; i++)
        q = memchr(",;\"\t\r\n", s[i], 6) != NULL;
    if (q) {
        fputc('"', f);
        if (neut)
            fputc('\'', f);
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"')
                fputc('"', f);
            fputc(s[i], f);
        }
        fputc('"', f);
    } else {
        fwrite(s, 1, n, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

/* A cell the exporter makes: written as it is. */
static void csvs(FILE *f, const char *s, int last)
{
    csv(f, s, strlen(s), 0, last);
}

/* A text cell: escaped and neutralised (csv). */
static void csvt(FILE *f, const char *s, int last)
{
    csv(f, s, strlen(s), 1, last);
}

/* A whole number. One beyond ±(2^53 - 1) (a sum that passed the quantity limit, §10.8.3)
 * is quoted, so a reader that keeps quoted cells as text does not round it to a double. */
static void csvn(FILE *f, long long v, int last)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", v);
    if (v > RELIEF_QTY_MAX || v < -RELIEF_QTY_MAX)
        fprintf(f, "\"%s\"%s", num, last ? "\r\n" : ",");
    else
        csvs(f, num, last);
}

/* Site details for export rows, looked up once per site. */
struct site_info {
    char slug[RELIEF_SLUG_MAX + 1];
    char name[RELIEF_NAME_MAX + 1];
    char kind[16];
    char lat[24], lon[24];
};

static void site_info(struct store *s, const char *slug, struct site_info *si)
{
    struct relief_key k = {.kind = RELIEF_OBJ_SITE};
    struct relief_node_site sv;
    uint8_t *v = NULL;
    size_t vl;
    if (!strcmp(si->slug, slug))
        return;
    memset(si, 0, sizeof *si);
    snprintf(si->slug, sizeof si->slug, "%s", slug);
    snprintf(k.site, sizeof k.site, "%s", slug);
    if (relief_node_view(s, &k, &v, &vl) == AM_OK && relief_node_site_parse(v, vl, &sv) == AM_OK) {
        if (sv.name.n_heads)
            snprintf(si->name, sizeof si->name, "%.*s", (int)sv.name.len, sv.name.s);
        if (sv.kind.n_heads)
            snprintf(si->kind, sizeof si->kind, "%s", relief_kind_name((int)sv.kind.i));
        if (sv.ll.n_heads && sv.ll.set) {
            cli_relief_fmt_deg(sv.ll.i, si->lat);
            cli_relief_fmt_deg(sv.ll.j, si->lon);
        }
    }
    free(v);
}

struct item_info {
    char code[RELIEF_SLUG_MAX + 1];
    char name[RELIEF_NAME_MAX + 1];
    char unit[RELIEF_UNIT_MAX + 1];
    char cat[RELIEF_SLUG_MAX + 1];
};

static void item_info(struct store *s, const char *code, struct item_info *ii)
{
    struct relief_key k = {.kind = RELIEF_OBJ_ITEM};
    struct relief_node_item iv;
    uint8_t *v = NULL;
    size_t vl;
    if (!strcmp(ii->code, code))
        return;
    memset(ii, 0, sizeof *ii);
    snprintf(ii->code, sizeof ii->code, "%s", code);
    snprintf(k.item, sizeof k.item, "%s", code);
    if (relief_node_view(s, &k, &v, &vl) == AM_OK && relief_node_item_parse(v, vl, &iv) == AM_OK) {
        if (iv.name.n_heads)
            snprintf(ii->name, sizeof ii->name, "%.*s", (int)iv.name.len, iv.name.s);
        if (iv.unit.n_heads)
            snprintf(ii->unit, sizeof ii->unit, "%.*s", (int)iv.unit.len, iv.unit.s);
        if (iv.cat.n_heads)
            snprintf(ii->cat, sizeof ii->cat, "%.*s", (int)iv.cat.len, iv.cat.s);
    }
    free(v);
}

struct export_ctx {
    struct store *s;
    FILE *f;
    const char *org, *adm1;
    uint32_t today;
    struct site_info si;
    struct item_info ii;
    uint64_t rows;
};

static void export_place(struct export_ctx *x)
{
    csvs(x->f, x->si.slug, 0);
    csvt(x->f, x->si.name, 0);
    csvs(x->f, x->si.kind, 0);
    csvt(x->f, x->adm1, 0);
    csvt(x->f, x->org, 0);
    csvs(x->f, x->si.lat, 0);
    csvs(x->f, x->si.lon, 0);
}

static void export_item(struct export_ctx *x)
{
    csvs(x->f, x->ii.code, 0);
    csvt(x->f, x->ii.name, 0);
    csvs(x->f, x->ii.cat, 0);
}

static int export_need(void *ctx, const struct store_view_row *r)
{
    struct export_ctx *x = ctx;
    struct relief_node_need nv;
    char hex[33], by[11], rep[11];
    if (relief_node_need_parse(r->view, r->view_len, &nv) != AM_OK)
        return AM_ECORRUPT;
    if (!nv.opened)
        return 0; /* site and item unknown here yet */
    site_info(x->s, nv.site, &x->si);
    item_info(x->s, nv.item, &x->ii);
    relief_id_hex(nv.id, hex);
    csvs(x->f, hex, 0);
    export_place(x);
    export_item(x);
    csvn(x->f, (long long)(nv.q.n_heads ? nv.q.i : 0), 0);
    csvn(x->f, (long long)nv.delivered, 0);
    csvt(x->f, x->ii.unit, 0);
    csvs(x->f, nv.pri.n_heads ? relief_priority_name((int)nv.pri.i) : "", 0);
    if (nv.by.n_heads && nv.by.set)
        relief_day_format((uint32_t)nv.by.i, by);
    else
        by[0] = 0;
    csvs(x->f, by, 0);
    csvs(x->f, relief_status_name(nv.status), 0);
    relief_day_format((uint32_t)(hlc_ms(nv.open_hlc) / 86400000ULL), rep);
    csvs(x->f, rep, 0);
    if (nv.note.n_heads)
        csv(x->f, nv.note.s, nv.note.len, 1, 1);
    else
        csvs(x->f, "", 1);
    x->rows++;
    return 0;
}

static int export_cell(void *ctx, const struct store_view_row *r)
{
    struct export_ctx *x = ctx;
    struct relief_node_cell cv;
    char exp[11] = "", rep[11], status[64] = "";
    if (relief_node_cell_parse(r->view, r->view_len, &cv) != AM_OK)
        return AM_ECORRUPT;
    site_info(x->s, cv.site, &x->si);
    item_info(x->s, cv.item, &x->ii);
    export_place(x);
    export_item(x);
    csvs(x->f, cv.lot, 0);
    if (cv.exp)
        relief_day_format(cv.exp, exp);
    csvs(x->f, exp, 0);
    csvn(x->f, (long long)cv.value, 0);
    csvt(x->f, x->ii.unit, 0);
    /* at most 33 bytes of the 64: never cut */
    snprintf(status, sizeof status, "%s%s%s", cv.overdrawn ? "overdrawn " : "",
             cv.count_conflict ? "count-conflict " : "",
             cv.exp && cv.exp <= x->today                   ? "expired "
             : cv.exp && cv.exp <= x->today + EXPIRING_DAYS ? "expiring "
                                                            : "");
    if (!status[0])
        snprintf(status, sizeof status, "ok ");
    status[strlen(status) - 1] = 0;
    csvs(x->f, status, 0);
    relief_day_format(x->today, rep);
    csvs(x->f, rep, 1);
    x->rows++;
    return 0;
}

static int cmd_export_run(struct store *s, FILE *f, int stock, int all, const char *org,
                          const char *adm1, uint32_t today)
{
    struct export_ctx x;
    static const char place_h[] = "Site code,Site name,Site type,Admin 1,Organisation,Latitude,"
                                  "Longitude,Item code,Item name,Item category,";
    static const char place_t[] = "#loc+code,#loc+name,#loc+type,#adm1+name,#org+name,#geo+lat,"
                                  "#geo+lon,#item+code,#item+name,#item+type,";
    memset(&x, 0, sizeof x);
    x.s = s;
    x.f = f;
    x.org = org;
    x.adm1 = adm1;
    x.today = today;
    if (stock) {
        fprintf(f, "%sLot,Expiry date,Quantity in stock,Unit,Stock status,Date reported\r\n",
                place_h);
        fprintf(f,
                "%s#item+lot,#date+expiry,#item+num+stock,#item+unit,#status+stock,"
                "#date+reported\r\n",
                place_t);
        return store_cells_each(s, NULL, NULL, export_cell, &x);
    }
    fprintf(f,
            "Need ID,%sQuantity needed,Quantity delivered,Unit,Priority,Needed by,Status,"
            "Date reported,Note\r\n",
            place_h);
    fprintf(f,
            "#meta+id,%s#item+num+needed,#item+num+delivered,#item+unit,#severity+priority,"
            "#date+needed,#status+need,#date+reported,#description+note\r\n",
            place_t);
    return store_needs_each(s, NULL, all ? 0 : RELIEF_ST_OPEN, export_need, &x);
}

int cli_cmd_export(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"hxl", required_argument, NULL, OPT_HXL},
                                         {"org", required_argument, NULL, OPT_ORG},
                                         {"adm1", required_argument, NULL, OPT_ADM1},
                                         {"all", no_argument, NULL, OPT_STATUS},
                                         {0, 0, 0, 0}};
    const char *what = NULL, *org = "", *adm1 = "";
    int opt, rc, all = 0;
    struct node n;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(export_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt == OPT_HXL)
            what = optarg;
        else if (opt == OPT_ORG)
            org = optarg;
        else if (opt == OPT_ADM1)
            adm1 = optarg;
        else if (opt == OPT_STATUS)
            all = 1;
        else
            return cli_bad_option("export", argv);
    }
    if (optind < argc)
        return cli_usage("export", "unexpected argument '%s'", argv[optind]);
    if (!what)
        return cli_usage("export", "say what to export: --hxl needs or --hxl stock");
    if (strcmp(what, "needs") && strcmp(what, "stock"))
        return cli_usage("export", "--hxl takes needs or stock, not '%s'", what);
    if (c->json)
        return cli_usage("export", "export writes CSV; for JSON use `need list --json` or `stock "
                                   "show --json`");
    if (cli_open(c, &n, NULL))
        return 1;
    rc =
        cmd_export_run(n.store, stdout, !strcmp(what, "stock"), all, org, adm1, cli_relief_today());
    node_close(&n);
    if (rc != AM_OK) {
        cli_err("export: cannot read the views: %s%s", am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
        return 1;
    }
    return 0;
}
