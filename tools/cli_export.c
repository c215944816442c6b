/*
 * cli_export.c: `aidmesh export --hxl sites|items|needs|stock`: the sites, the items, the
 * needs or the stock cells as CSV with a row of HXL hashtags (PROTOCOL.md section 12), read
 * through the read model (query.h), in its order. `aidmesh import --hxl` (cli_import.c)
 * reads the same columns back.
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
    "usage: aidmesh export --hxl sites|items|needs|stock [--all] [--org NAME] [--adm1 NAME]\n"
    "\n"
    "Writes CSV to stdout: a header row for people, then a row of HXL hashtags (the\n"
    "Humanitarian Exchange Language, hxlstandard.org) so HXL tools and the humanitarian\n"
    "data exchange can read it, then one row per site, per item, per open need (all needs\n"
    "with --all) or per stock cell. The attributes aidmesh adds to the HXL core are listed\n"
    "in PROTOCOL.md (HXL export). `aidmesh import --hxl` reads such a file back. A cell\n"
    "that people typed and that a spreadsheet would run as a formula (it begins with =, +,\n"
    "-, @, TAB or CR) is written with a leading ' so that it shows as text.\n"
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

struct export_ctx {
    struct query *q;
    FILE *f;
    const char *org, *adm1;
};

/* The site's columns: code, name, type, admin 1, organisation, latitude, longitude; the
 * longitude ends the row when `last`. */
static void export_place(struct export_ctx *x, const char *slug, int last)
{
    const struct relief_node_site *sv = query_site(x->q, slug);
    char lat[24] = "", lon[24] = "";
    size_t nl = 0;
    const char *name = sv ? query_reg_text(&sv->name, &nl) : "";
    csvs(x->f, slug, 0);
    csv(x->f, name, nl, 1, 0);
    csvs(x->f, sv && sv->kind.n_heads && sv->kind.set ? relief_kind_name((int)sv->kind.i) : "", 0);
    csvt(x->f, x->adm1, 0);
    csvt(x->f, x->org, 0);
    if (sv && sv->ll.n_heads && sv->ll.set) {
        cli_relief_fmt_deg(sv->ll.i, lat);
        cli_relief_fmt_deg(sv->ll.j, lon);
    }
    csvs(x->f, lat, 0);
    csvs(x->f, lon, last);
}

/* The item's columns (code, name, category); *unit gets its unit. */
static void export_item(struct export_ctx *x, const char *code, const char **unit, size_t *ul)
{
    const struct relief_node_item *iv = query_item(x->q, code);
    size_t nl = 0, cl = 0;
    const char *name = iv ? query_reg_text(&iv->name, &nl) : "";
    const char *cat = iv ? query_reg_text(&iv->cat, &cl) : "";
    *ul = 0;
    *unit = iv ? query_reg_text(&iv->unit, ul) : "";
    csvs(x->f, code, 0);
    csv(x->f, name, nl, 1, 0);
    csv(x->f, cat, cl, 0, 0);
}

static void export_need(struct export_ctx *x, const struct query_need *w)
{
    const struct relief_node_need *nv = &w->v;
    char hex[33], by[11] = "", rep[11];
    const char *unit, *note;
    size_t ul, nl;
    relief_id_hex(nv->id, hex);
    csvs(x->f, hex, 0);
    export_place(x, nv->site, 0);
    export_item(x, nv->item, &unit, &ul);
    csvn(x->f, (long long)w->q, 0);
    csvn(x->f, (long long)nv->delivered, 0);
    csv(x->f, unit, ul, 1, 0);
    csvs(x->f, w->pri ? relief_priority_name(w->pri) : "", 0);
    if (w->by)
        relief_day_format(w->by, by);
    csvs(x->f, by, 0);
    csvs(x->f, relief_status_name(nv->status), 0);
    relief_day_format((uint32_t)(hlc_ms(nv->open_hlc) / 86400000ULL), rep);
    csvs(x->f, rep, 0);
    note = query_reg_text(&nv->note, &nl);
    csv(x->f, note, nl, 1, 1);
}

static void export_cell(struct export_ctx *x, const struct query_cell *w)
{
    const struct relief_node_cell *cv = &w->v;
    char exp[11] = "", rep[11], status[64] = "";
    const char *unit;
    size_t ul;
    export_place(x, cv->site, 0);
    export_item(x, cv->item, &unit, &ul);
    csvs(x->f, cv->lot, 0);
    if (cv->exp)
        relief_day_format(cv->exp, exp);
    csvs(x->f, exp, 0);
    csvn(x->f, (long long)cv->value, 0);
    csv(x->f, unit, ul, 1, 0);
    /* at most 33 bytes of the 64: never cut */
    snprintf(status, sizeof status, "%s%s%s", w->flags & QUERY_CELL_OVERDRAWN ? "overdrawn " : "",
             w->flags & QUERY_CELL_CONFLICT ? "count-conflict " : "",
             w->flags & QUERY_CELL_EXPIRED    ? "expired "
             : w->flags & QUERY_CELL_EXPIRING ? "expiring "
                                              : "");
    if (!status[0])
        snprintf(status, sizeof status, "ok ");
    status[strlen(status) - 1] = 0;
    csvs(x->f, status, 0);
    relief_day_format(query_today(x->q), rep);
    csvs(x->f, rep, 1);
}

/* The sites (items: the catalogue), one row each, in the read model's order. */
static int export_catalog(struct export_ctx *x, int items)
{
    size_t n;
    int rc;
    if (items) {
        const struct relief_node_item *rows;
        if ((rc = query_items(x->q, &rows, &n)) != AM_OK)
            return rc;
        fprintf(x->f, "Item code,Item name,Item category,Unit\r\n");
        fprintf(x->f, "#item+code,#item+name,#item+type,#item+unit\r\n");
        for (size_t i = 0; i < n; i++) {
            const char *unit;
            size_t ul;
            export_item(x, rows[i].code, &unit, &ul);
            csv(x->f, unit, ul, 1, 1);
        }
        return AM_OK;
    }
    {
        const struct relief_node_site *rows;
        if ((rc = query_sites(x->q, &rows, &n)) != AM_OK)
            return rc;
        fprintf(x->f, "Site code,Site name,Site type,Admin 1,Organisation,Latitude,Longitude\r\n");
        fprintf(x->f, "#loc+code,#loc+name,#loc+type,#adm1+name,#org+name,#geo+lat,#geo+lon\r\n");
        for (size_t i = 0; i < n; i++)
            export_place(x, rows[i].slug, 1);
    }
    return AM_OK;
}

/* The export of `what` (EXPORT_*) read through q, to f. Needs come in the one order of
 * query.h; a need whose need.open has not arrived is left out (its site and item are
 * unknown here). Returns AM_OK or a store error. */
enum { EXPORT_NEEDS, EXPORT_STOCK, EXPORT_SITES, EXPORT_ITEMS };
static int cmd_export_run(struct query *q, FILE *f, int what, int all, const char *org,
                          const char *adm1)
{
    struct export_ctx x = {q, f, org, adm1};
    static const char place_h[] = "Site code,Site name,Site type,Admin 1,Organisation,Latitude,"
                                  "Longitude,Item code,Item name,Item category,";
    static const char place_t[] = "#loc+code,#loc+name,#loc+type,#adm1+name,#org+name,#geo+lat,"
                                  "#geo+lon,#item+code,#item+name,#item+type,";
    int rc, stock = what == EXPORT_STOCK;
    if (what == EXPORT_SITES || what == EXPORT_ITEMS)
        return export_catalog(&x, what == EXPORT_ITEMS);
    if (stock) {
        const struct query_cell *rows;
        size_t n;
        if ((rc = query_cells(q, NULL, &rows, &n)) != AM_OK)
            return rc;
        fprintf(f, "%sLot,Expiry date,Quantity in stock,Unit,Stock status,Date reported\r\n",
                place_h);
        fprintf(f,
                "%s#item+lot,#date+expiry,#item+num+stock,#item+unit,#status+stock,"
                "#date+reported\r\n",
                place_t);
        for (size_t i = 0; i < n; i++)
            export_cell(&x, &rows[i]);
        return AM_OK;
    }
    {
        struct query_need_filter nf = {.status = all ? 0 : RELIEF_ST_OPEN};
        const struct query_need *rows;
        size_t n;
        if ((rc = query_needs(q, &nf, &rows, &n)) != AM_OK)
            return rc;
        fprintf(f,
                "Need ID,%sQuantity needed,Quantity delivered,Unit,Priority,Needed by,Status,"
                "Date reported,Note\r\n",
                place_h);
        fprintf(f,
                "#meta+id,%s#item+num+needed,#item+num+delivered,#item+unit,#severity+priority,"
                "#date+needed,#status+need,#date+reported,#description+note\r\n",
                place_t);
        for (size_t i = 0; i < n; i++)
            if (rows[i].v.opened)
                export_need(&x, &rows[i]);
    }
    return AM_OK;
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
    struct query *q;
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
        return cli_usage("export", "say what to export: --hxl sites, items, needs or stock");
    if (strcmp(what, "needs") && strcmp(what, "stock") && strcmp(what, "sites") &&
        strcmp(what, "items"))
        return cli_usage("export", "--hxl takes sites, items, needs or stock, not '%s'", what);
    if (c->json)
        return cli_usage("export", "export writes CSV; for JSON use `need list --json` or `stock "
                                   "show --json`");
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, "export"))) {
        node_close(&n);
        return 1;
    }
    rc = cmd_export_run(q, stdout,
                        !strcmp(what, "stock")   ? EXPORT_STOCK
                        : !strcmp(what, "sites") ? EXPORT_SITES
                        : !strcmp(what, "items") ? EXPORT_ITEMS
                                                 : EXPORT_NEEDS,
                        all, org, adm1);
    query_close(q);
    node_close(&n);
    if (rc != AM_OK) {
        cli_err("export: cannot read the views: %s%s", am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
        return 1;
    }
    return 0;
}
