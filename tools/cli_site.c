/*
 * cli_site.c: `aidmesh site` and `aidmesh item`, the catalogue of the relief data (PROTOCOL.md
 * section 10): adding and updating sites and items, and listing them (one listing serves
 * both). Values are checked by the shared parsers of cli_relief.c before relief_node_write
 * encodes and appends the op.
 *
 * Never writes an op that the parsers have not checked; never prints a view's text
 * unescaped (out.h); errors go to stderr, results to stdout.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "cli.h"
#include "cli_relief_int.h"
#include "out.h"

/* ---- site -------------------------------------------------------------------------------- */

static const char site_help[] =
    "usage: aidmesh site add SLUG --name NAME [--kind KIND] [--lat DEG --lon DEG]\n"
    "       aidmesh site update SLUG [--name NAME] [--kind KIND] [--lat DEG --lon DEG |\n"
    "                           --no-location]\n"
    "       aidmesh site list [--json]\n"
    "\n"
    "Sites are the places needs and stock belong to: hubs, shelters, clinics, warehouses\n"
    "and mobile kits. A SLUG is a short name people type: a-z, 0-9 and '-' (hub-north).\n"
    "\n"
    "  --name NAME   the name shown to people (up to 64 bytes)\n"
    "  --kind KIND   hub, shelter, clinic, warehouse or kit\n"
    "  --lat, --lon  location in decimal degrees (WGS 84), e.g. --lat 12.3456 --lon -4.5\n"
    "  --no-location clear the location\n"
    "  --json        print the result as JSON\n";

/* The end of `site add/update` and `item add/update`: names the heads it supersedes (sup),
 * writes op, and says what it did ("added site S (NAME)", or {"ok":true,"site":S}).
 * Returns the command's exit status. */
static int catalog_write(struct cli *c, struct node *n, const char *cmd, struct relief_op *op,
                         struct relief_ref *sup, uint32_t nsup, const char *what, const char *code,
                         const char *name, int update)
{
    relief_refs_sort(sup, &nsup);
    if (nsup) {
        op->sup.n = nsup;
        op->sup.arr = sup;
        HAS(op, SUP);
    }
    if (cli_relief_write_op(n, cmd, op, 0, NULL))
        return 1;
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "ok", json_true());
        json_object_set_new(o, what, json_string(code));
        out_json_put(stdout, o);
        return 0;
    }
    printf("%s %s %s", update ? "updated" : "added", what, code);
    if (name) {
        fputs(" (", stdout);
        out_text(stdout, name, strlen(name), 0, NULL);
        fputc(')', stdout);
    }
    printf("\n");
    return 0;
}

static int site_write(struct cli *c, int argc, char **argv, int update)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"name", required_argument, NULL, OPT_NAME},
                                         {"kind", required_argument, NULL, OPT_KIND},
                                         {"lat", required_argument, NULL, OPT_LAT},
                                         {"lon", required_argument, NULL, OPT_LON},
                                         {"no-location", no_argument, NULL, OPT_NO_LOC},
                                         {0, 0, 0, 0}};
    const char *cmd = update ? "site update" : "site add";
    const char *name = NULL, *lat = NULL, *lon = NULL;
    char slug[RELIEF_SLUG_MAX + 1];
    int kind = 0, noloc = 0, opt, rc = 1;
    struct relief_op op;
    struct relief_ref sup[RELIEF_REFS_MAX];
    uint32_t nsup = 0;
    const struct relief_node_site *sv;
    struct query *q = NULL;
    struct node n;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(site_help, stdout);
            return 0;
        }
        if (k)
            continue;
        switch (opt) {
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_KIND:
            if (cli_relief_arg_enum(cmd, "--kind", optarg, relief_kind_name, 5, &kind))
                return 2;
            break;
        case OPT_LAT:
            lat = optarg;
            break;
        case OPT_LON:
            lon = optarg;
            break;
        case OPT_NO_LOC:
            noloc = 1;
            break;
        default:
            return cli_bad_option(cmd, argv);
        }
    }
    if (optind != argc - 1)
        return cli_usage(cmd, "give one site SLUG");
    if (cli_relief_arg_site(cmd, argv[optind], slug))
        return 2;
    if (!update && !name)
        return cli_usage(cmd, "--name is required: the name people see, e.g. --name \"Hub North\"");
    if ((lat != NULL) != (lon != NULL))
        return cli_usage(cmd, "give --lat and --lon together");
    if (noloc && lat)
        return cli_usage(cmd, "--no-location and --lat/--lon contradict each other");
    if (update && !name && !kind && !lat && !noloc)
        return cli_usage(cmd,
                         "nothing to change: give --name, --kind, --lat/--lon or --no-location");

    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_SITE;
    op.site = cli_relief_str(slug);
    HAS(&op, SLUG);
    if (name) {
        op.name = cli_relief_str(name);
        HAS(&op, NAME);
    }
    if (kind) {
        op.kind = kind;
        HAS(&op, KIND);
    }
    if (lat) {
        if (cli_relief_arg_deg(cmd, "--lat", lat, RELIEF_LAT_MAX, &op.lat) ||
            cli_relief_arg_deg(cmd, "--lon", lon, RELIEF_LON_MAX, &op.lon))
            return 2;
        op.ll_set = 1;
        HAS(&op, LL);
    } else if (noloc) {
        HAS(&op, LL);
    }
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    sv = query_site(q, slug);
    if (sv && !update) {
        cli_err("%s: site '%s' already exists; change it with `aidmesh site update %s "
                "--name ...`",
                cmd, slug, slug);
        goto out;
    }
    if (!sv && update) {
        cli_relief_check_known(q, RELIEF_OBJ_SITE, slug, cmd);
        goto out;
    }
    if (sv) {
        if ((name && cli_relief_add_sup(&sv->name, sup, &nsup)) ||
            (kind && cli_relief_add_sup(&sv->kind, sup, &nsup)) ||
            ((lat || noloc) && cli_relief_add_sup(&sv->ll, sup, &nsup))) {
            cli_err("%s: the stored view of site '%s' is damaged: run `aidmesh reindex`", cmd,
                    slug);
            goto out;
        }
    }
    query_close(q);
    q = NULL;
    rc = catalog_write(c, &n, cmd, &op, sup, nsup, "site", slug, name, update);
out:
    query_close(q);
    node_close(&n);
    return rc;
}

static json_t *site_json(const struct relief_node_site *sv)
{
    json_t *o = json_object();
    json_object_set_new(o, "slug", json_string(sv->slug));
    json_object_set_new(o, "name", cli_relief_json_reg_text(&sv->name));
    json_object_set_new(
        o, "kind", sv->kind.n_heads ? json_string(relief_kind_name((int)sv->kind.i)) : json_null());
    json_object_set_new(o, "lat",
                        sv->ll.n_heads && sv->ll.set ? json_real(sv->ll.i / 1e6) : json_null());
    json_object_set_new(o, "lon",
                        sv->ll.n_heads && sv->ll.set ? json_real(sv->ll.j / 1e6) : json_null());
    json_object_set_new(o, "conflict",
                        json_boolean(sv->name.conflict || sv->kind.conflict || sv->ll.conflict));
    return o;
}

static void site_line(FILE *f, const struct relief_node_site *sv)
{
    char lat[24], lon[24], ll[50] = "-";
    const char *cf = sv->name.conflict || sv->kind.conflict || sv->ll.conflict ? " !" : "";
    cli_relief_cols(f, sv->slug, 16);
    fputc(' ', f);
    cli_relief_cols(f, sv->kind.n_heads ? relief_kind_name((int)sv->kind.i) : "-", 9);
    fputc(' ', f);
    if (sv->name.n_heads)
        cli_relief_col(f, sv->name.s, sv->name.len, 28, 0);
    else
        cli_relief_cols(f, "-", 28);
    fputc(' ', f);
    if (sv->ll.n_heads && sv->ll.set) {
        cli_relief_fmt_deg(sv->ll.i, lat);
        cli_relief_fmt_deg(sv->ll.j, lon);
        snprintf(ll, sizeof ll, "%s,%s", lat, lon);
    }
    cli_relief_col_end(f, ll, strlen(ll), 23, cf);
}

/* `site list` and `item list`: one listing of the read model's sites or items. */
struct catalog {
    const char *cmd;    /* "site list" */
    const char *help;   /* the command's --help text */
    int items;          /* items, else sites */
    const char *header; /* the table's first line */
    const char *plural; /* "sites" */
    const char *empty;  /* what to say when there is none */
};

static json_t *item_json(const struct relief_node_item *iv);
static void item_line(FILE *f, const struct relief_node_item *iv);
static void item_packs_line(struct query *q, FILE *f, const char *code);

static int catalog_list(struct cli *c, int argc, char **argv, const struct catalog *cat)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    const struct relief_node_site *sites = NULL;
    const struct relief_node_item *items = NULL;
    struct query *q;
    struct node n;
    size_t nr = 0, conflicts = 0;
    int opt, rc = 1;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(cat->help, stdout);
            return 0;
        }
        if (!k)
            return cli_bad_option(cat->cmd, argv);
    }
    if (optind < argc)
        return cli_usage(cat->cmd, "unexpected argument '%s'", argv[optind]);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cat->cmd)))
        goto out;
    if ((rc = cat->items ? query_items(q, &items, &nr) : query_sites(q, &sites, &nr)) != AM_OK) {
        cli_err("%s: cannot read the views: %s%s", cat->cmd, am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
        rc = 1;
        goto out;
    }
    if (c->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < nr; i++) {
            json_t *o = items ? item_json(&items[i]) : site_json(&sites[i]);
            const struct query_pack *pv;
            size_t np = 0;
            if (items && query_packs(q, items[i].code, 0, &pv, &np) == AM_OK)
                json_object_set_new(o, "packs", cli_relief_json_packs(pv, np));
            json_array_append_new(arr, o);
        }
        rc = out_json_put(stdout, arr) == 0 ? 0 : 1;
        goto out;
    }
    fputs(cat->header, stdout);
    for (size_t i = 0; i < nr; i++) {
        if (items) {
            item_line(stdout, &items[i]);
            item_packs_line(q, stdout, items[i].code);
            conflicts += items[i].name.conflict || items[i].unit.conflict || items[i].cat.conflict;
        } else {
            site_line(stdout, &sites[i]);
            conflicts += sites[i].name.conflict || sites[i].kind.conflict || sites[i].ll.conflict;
        }
    }
    if (nr)
        printf("%zu %s\n", nr, cat->plural);
    else
        puts(cat->empty);
    if (conflicts)
        printf("! two nodes changed a field at once; the latest change is shown: `aidmesh %s "
               "update` settles it\n",
               cat->items ? "item" : "site");
    rc = 0;
out:
    query_close(q);
    node_close(&n);
    return rc;
}

static int site_list(struct cli *c, int argc, char **argv)
{
    static char header[96];
    const struct catalog cat = {
        "site list", site_help, 0,
        header,      "sites",   "no sites yet: add one with `aidmesh site add SLUG --name NAME`"};
    snprintf(header, sizeof header, "%-16s %-9s %-28s %s\n", "SITE", "KIND", "NAME", "LOCATION");
    return catalog_list(c, argc, argv, &cat);
}

int cli_cmd_site(struct cli *c, int argc, char **argv)
{
    if (cli_subcommand_help(argc, argv, site_help))
        return argc < 2 ? 2 : 0;
    optind = 1;
    if (!strcmp(argv[1], "add"))
        return site_write(c, argc - 1, argv + 1, 0);
    if (!strcmp(argv[1], "update"))
        return site_write(c, argc - 1, argv + 1, 1);
    if (!strcmp(argv[1], "list"))
        return site_list(c, argc - 1, argv + 1);
    return cli_usage("site", "unknown subcommand '%s': add, update or list", argv[1]);
}

/* ---- item -------------------------------------------------------------------------------- */

static const char item_help[] =
    "usage: aidmesh item add CODE --name NAME --unit UNIT [--category CAT]\n"
    "       aidmesh item update CODE [--name NAME] [--unit UNIT] [--category CAT]\n"
    "       aidmesh item list [--json]\n"
    "       aidmesh item pack add|remove|list ...   (packs: `aidmesh item pack --help`)\n"
    "       aidmesh item name|names ITEM ...        (names per language: `aidmesh item name "
    "--help`)\n"
    "\n"
    "The catalogue of things needed and stocked. CODE is the catalogue code (IFRC, UNICEF,\n"
    "a GTIN, or a local one): a-z, 0-9, '.', '_' and '-', folded to lower case. Quantities\n"
    "are always stored as whole numbers of the base UNIT (sachet, bottle-5l, tablet); with\n"
    "packs defined they may be typed in packs too (\"12 carton\").\n"
    "\n"
    "  --name NAME      the name shown to people (up to 64 bytes)\n"
    "  --unit UNIT      base unit (up to 16 bytes)\n"
    "  --category CAT   e.g. health, wash, food, shelter\n";

static int item_write(struct cli *c, int argc, char **argv, int update)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"name", required_argument, NULL, OPT_NAME},
                                         {"unit", required_argument, NULL, OPT_UNIT},
                                         {"category", required_argument, NULL, OPT_CAT},
                                         {0, 0, 0, 0}};
    const char *cmd = update ? "item update" : "item add";
    const char *name = NULL, *unit = NULL, *catin = NULL;
    char code[RELIEF_SLUG_MAX + 1], cat[RELIEF_SLUG_MAX + 1];
    struct relief_ref sup[RELIEF_REFS_MAX];
    uint32_t nsup = 0;
    struct relief_op op;
    const struct relief_node_item *iv;
    struct query *q = NULL;
    struct node n;
    int opt, rc = 1;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(item_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt == OPT_NAME)
            name = optarg;
        else if (opt == OPT_UNIT)
            unit = optarg;
        else if (opt == OPT_CAT)
            catin = optarg;
        else
            return cli_bad_option(cmd, argv);
    }
    if (optind != argc - 1)
        return cli_usage(cmd, "give one item CODE");
    if (cli_relief_arg_item(cmd, argv[optind], code) ||
        (catin && cli_relief_arg_cat(cmd, catin, cat)))
        return 2;
    if (!update && (!name || !unit))
        return cli_usage(cmd, "--name and --unit are required, e.g. --name \"ORS sachet 20.5 g\" "
                              "--unit sachet");
    if (update && !name && !unit && !catin)
        return cli_usage(cmd, "nothing to change: give --name, --unit or --category");
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_ITEM;
    op.item = cli_relief_str(code);
    HAS(&op, CODE);
    if (name)
        op.name = cli_relief_str(name), HAS(&op, NAME);
    if (unit)
        op.unit = cli_relief_str(unit), HAS(&op, UNIT);
    if (catin)
        op.cat = cli_relief_str(cat), HAS(&op, CAT);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    iv = query_item(q, code);
    if (iv && !update) {
        cli_err("%s: item '%s' already exists; change it with `aidmesh item update %s ...`", cmd,
                code, code);
        goto out;
    }
    if (!iv && update) {
        cli_relief_check_known(q, RELIEF_OBJ_ITEM, code, cmd);
        goto out;
    }
    if (iv) {
        if ((name && cli_relief_add_sup(&iv->name, sup, &nsup)) ||
            (unit && cli_relief_add_sup(&iv->unit, sup, &nsup)) ||
            (catin && cli_relief_add_sup(&iv->cat, sup, &nsup))) {
            cli_err("%s: the stored view of item '%s' is damaged: run `aidmesh reindex`", cmd,
                    code);
            goto out;
        }
    }
    query_close(q);
    q = NULL;
    rc = catalog_write(c, &n, cmd, &op, sup, nsup, "item", code, name, update);
out:
    query_close(q);
    node_close(&n);
    return rc;
}

static json_t *item_json(const struct relief_node_item *iv)
{
    json_t *o = json_object();
    json_object_set_new(o, "code", json_string(iv->code));
    json_object_set_new(o, "name", cli_relief_json_reg_text(&iv->name));
    json_object_set_new(o, "unit", cli_relief_json_reg_text(&iv->unit));
    json_object_set_new(o, "category", cli_relief_json_reg_text(&iv->cat));
    json_object_set_new(o, "conflict",
                        json_boolean(iv->name.conflict || iv->unit.conflict || iv->cat.conflict));
    return o;
}

static void item_line(FILE *f, const struct relief_node_item *iv)
{
    int cf = iv->name.conflict || iv->unit.conflict || iv->cat.conflict;
    cli_relief_cols(f, iv->code, 20);
    fputc(' ', f);
    if (iv->unit.n_heads)
        cli_relief_col(f, iv->unit.s, iv->unit.len, 12, 0);
    else
        cli_relief_cols(f, "-", 12);
    fputc(' ', f);
    if (iv->cat.n_heads)
        cli_relief_col(f, iv->cat.s, iv->cat.len, 12, 0);
    else
        cli_relief_cols(f, "-", 12);
    fputc(' ', f);
    if (iv->name.n_heads)
        cli_relief_col_end(f, iv->name.s, iv->name.len, 31, cf ? " !" : "");
    else
        cli_relief_col_end(f, "-", 1, 31, cf ? " !" : "");
}

/* Under an item's row, its packs: "  packs: carton = 50, box = 10" (none: nothing). */
static void item_packs_line(struct query *q, FILE *f, const char *code)
{
    const struct query_pack *v;
    size_t n = 0;
    if (query_packs(q, code, 0, &v, &n) != AM_OK || !n)
        return;
    fputs("  packs:", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s %s = %lld%s", i ? "," : "", v[i].pack, (long long)v[i].units,
                v[i].reg.conflict ? " !" : "");
    fputc('\n', f);
}

static int item_list(struct cli *c, int argc, char **argv)
{
    static char header[96];
    const struct catalog cat = {
        "item list", item_help,
        1,           header,
        "items",     "no items yet: add one with `aidmesh item add CODE --name NAME --unit UNIT`"};
    snprintf(header, sizeof header, "%-20s %-12s %-12s %s\n", "ITEM", "UNIT", "CATEGORY", "NAME");
    return catalog_list(c, argc, argv, &cat);
}

int cli_cmd_item(struct cli *c, int argc, char **argv)
{
    if (cli_subcommand_help(argc, argv, item_help))
        return argc < 2 ? 2 : 0;
    optind = 1;
    if (!strcmp(argv[1], "add"))
        return item_write(c, argc - 1, argv + 1, 0);
    if (!strcmp(argv[1], "update"))
        return item_write(c, argc - 1, argv + 1, 1);
    if (!strcmp(argv[1], "list"))
        return item_list(c, argc - 1, argv + 1);
    if (!strcmp(argv[1], "pack"))
        return cli_item_pack(c, argc - 1, argv + 1);
    if (!strcmp(argv[1], "name"))
        return cli_item_name(c, argc - 1, argv + 1);
    if (!strcmp(argv[1], "names"))
        return cli_item_names(c, argc - 1, argv + 1);
    return cli_usage("item", "unknown subcommand '%s': add, update, list, pack, name or names",
                     argv[1]);
}
