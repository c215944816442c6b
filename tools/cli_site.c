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
    {
        struct relief_key k = {.kind = RELIEF_OBJ_SITE};
        uint8_t *v = NULL;
        size_t vl;
        int vrc;
        snprintf(k.site, sizeof k.site, "%s", slug); /* arrays of one size: never cut */
        vrc = relief_node_view(n.store, &k, &v, &vl);
        if (vrc == AM_OK && !update) {
            cli_err("%s: site '%s' already exists; change it with `aidmesh site update %s "
                    "--name ...`",
                    cmd, slug, slug);
            goto out_v;
        }
        if (vrc == AM_ENOTFOUND && update) {
            cli_relief_check_known(n.store, RELIEF_OBJ_SITE, slug, cmd);
            goto out_v;
        }
        if (vrc == AM_OK) {
            struct relief_node_site sv;
            if (relief_node_site_parse(v, vl, &sv) != AM_OK ||
                (name && cli_relief_add_sup(&sv.name, sup, &nsup)) ||
                (kind && cli_relief_add_sup(&sv.kind, sup, &nsup)) ||
                ((lat || noloc) && cli_relief_add_sup(&sv.ll, sup, &nsup))) {
                cli_err("%s: the stored view of site '%s' is damaged: run `aidmesh reindex`", cmd,
                        slug);
                goto out_v;
            }
            relief_refs_sort(sup, &nsup);
            if (nsup) {
                op.sup.n = nsup;
                op.sup.arr = sup;
                HAS(&op, SUP);
            }
        } else if (vrc != AM_ENOTFOUND) {
            cli_err("%s: cannot read the store: %s", cmd, am_strerror(vrc));
            goto out_v;
        }
        if (cli_relief_write_op(&n, cmd, &op, 0, NULL))
            goto out_v;
        if (c->json) {
            printf("{\"ok\":true,\"site\":\"%s\"}\n", slug);
        } else {
            printf("%s site %s", update ? "updated" : "added", slug);
            if (name)
                printf(" (%s)", name);
            printf("\n");
        }
        rc = 0;
    out_v:
        free(v);
    }
    node_close(&n);
    return rc;
}

struct site_rows {
    FILE *f;
    int json, first;
    uint64_t n;
};

static int site_row(void *ctx, const struct store_view_row *r)
{
    struct site_rows *sr = ctx;
    struct relief_node_site sv;
    char lat[24], lon[24];
    if (relief_node_site_parse(r->view, r->view_len, &sv) != AM_OK)
        return AM_ECORRUPT;
    sr->n++;
    if (sr->json) {
        fprintf(sr->f, "%s{\"slug\":\"%s\"", sr->first ? "" : ",", sv.slug);
        cli_relief_json_reg_text(sr->f, "name", &sv.name);
        if (sv.kind.n_heads)
            fprintf(sr->f, ",\"kind\":\"%s\"", relief_kind_name((int)sv.kind.i));
        else
            fprintf(sr->f, ",\"kind\":null");
        if (sv.ll.n_heads && sv.ll.set) {
            cli_relief_fmt_deg(sv.ll.i, lat);
            cli_relief_fmt_deg(sv.ll.j, lon);
            fprintf(sr->f, ",\"lat\":%s,\"lon\":%s", lat, lon);
        } else {
            fprintf(sr->f, ",\"lat\":null,\"lon\":null");
        }
        fprintf(sr->f, ",\"conflict\":%s}",
                sv.name.conflict || sv.kind.conflict || sv.ll.conflict ? "true" : "false");
        sr->first = 0;
        return 0;
    }
    cli_relief_cols(sr->f, sv.slug, 16);
    fputc(' ', sr->f);
    cli_relief_cols(sr->f, sv.kind.n_heads ? relief_kind_name((int)sv.kind.i) : "-", 9);
    fputc(' ', sr->f);
    if (sv.name.n_heads)
        cli_relief_col(sr->f, sv.name.s, sv.name.len, 28, 0);
    else
        cli_relief_cols(sr->f, "-", 28);
    fputc(' ', sr->f);
    {
        char ll[50] = "-";
        const char *cf = sv.name.conflict || sv.kind.conflict || sv.ll.conflict ? " !" : "";
        if (sv.ll.n_heads && sv.ll.set) {
            cli_relief_fmt_deg(sv.ll.i, lat);
            cli_relief_fmt_deg(sv.ll.j, lon);
            snprintf(ll, sizeof ll, "%s,%s", lat, lon);
        }
        cli_relief_col_end(sr->f, ll, strlen(ll), 23, cf);
    }
    return 0;
}

/* `site list` and `item list`: one listing over the views of one object kind. */
struct catalog {
    const char *cmd;    /* "site list" */
    const char *help;   /* the command's --help text */
    uint8_t kind;       /* RELIEF_OBJ_SITE / RELIEF_OBJ_ITEM: the key prefix */
    const char *header; /* the table's first line */
    int (*row)(void *ctx, const struct store_view_row *r);
    const char *plural; /* "sites" */
    const char *empty;  /* what to say when there is none */
};

static int catalog_list(struct cli *c, int argc, char **argv, const struct catalog *cat)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    uint8_t prefix[1] = {cat->kind};
    struct site_rows sr = {stdout, 0, 1, 0};
    struct node n;
    int opt, rc;

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
    sr.json = c->json;
    if (sr.json)
        printf("[");
    else
        fputs(cat->header, stdout);
    rc = store_views_each(n.store, prefix, 1, cat->row, &sr);
    node_close(&n);
    if (sr.json)
        printf("]\n");
    if (rc != AM_OK) {
        cli_err("%s: cannot read the views: %s%s", cat->cmd, am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
        return 1;
    }
    if (!sr.json) {
        if (sr.n)
            printf("%llu %s\n", (unsigned long long)sr.n, cat->plural);
        else
            puts(cat->empty);
    }
    return 0;
}

static int site_list(struct cli *c, int argc, char **argv)
{
    static char header[96];
    const struct catalog cat = {"site list",
                                site_help,
                                RELIEF_OBJ_SITE,
                                header,
                                site_row,
                                "sites",
                                "no sites yet: add one with `aidmesh site add SLUG --name NAME`"};
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
    "\n"
    "The catalogue of things needed and stocked. CODE is the catalogue code (IFRC, UNICEF,\n"
    "a GTIN, or a local one): a-z, 0-9, '.', '_' and '-', folded to lower case. Quantities\n"
    "are always whole numbers of the base UNIT (sachet, bottle-5l, tablet).\n"
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
    {
        struct relief_key k = {.kind = RELIEF_OBJ_ITEM};
        uint8_t *v = NULL;
        size_t vl;
        int vrc;
        snprintf(k.item, sizeof k.item, "%s", code); /* arrays of one size: never cut */
        vrc = relief_node_view(n.store, &k, &v, &vl);
        if (vrc == AM_OK && !update) {
            cli_err("%s: item '%s' already exists; change it with `aidmesh item update %s ...`",
                    cmd, code, code);
            goto out_v;
        }
        if (vrc == AM_ENOTFOUND && update) {
            cli_relief_check_known(n.store, RELIEF_OBJ_ITEM, code, cmd);
            goto out_v;
        }
        if (vrc == AM_OK) {
            struct relief_node_item iv;
            if (relief_node_item_parse(v, vl, &iv) != AM_OK ||
                (name && cli_relief_add_sup(&iv.name, sup, &nsup)) ||
                (unit && cli_relief_add_sup(&iv.unit, sup, &nsup)) ||
                (catin && cli_relief_add_sup(&iv.cat, sup, &nsup))) {
                cli_err("%s: the stored view of item '%s' is damaged: run `aidmesh reindex`", cmd,
                        code);
                goto out_v;
            }
            relief_refs_sort(sup, &nsup);
            if (nsup) {
                op.sup.n = nsup;
                op.sup.arr = sup;
                HAS(&op, SUP);
            }
        } else if (vrc != AM_ENOTFOUND) {
            cli_err("%s: cannot read the store: %s", cmd, am_strerror(vrc));
            goto out_v;
        }
        if (cli_relief_write_op(&n, cmd, &op, 0, NULL))
            goto out_v;
        if (c->json)
            printf("{\"ok\":true,\"item\":\"%s\"}\n", code);
        else
            printf("%s item %s%s%s%s\n", update ? "updated" : "added", code, name ? " (" : "",
                   name ? name : "", name ? ")" : "");
        rc = 0;
    out_v:
        free(v);
    }
    node_close(&n);
    return rc;
}

static int item_row(void *ctx, const struct store_view_row *r)
{
    struct site_rows *sr = ctx;
    struct relief_node_item iv;
    int cf;
    if (relief_node_item_parse(r->view, r->view_len, &iv) != AM_OK)
        return AM_ECORRUPT;
    cf = iv.name.conflict || iv.unit.conflict || iv.cat.conflict;
    sr->n++;
    if (sr->json) {
        fprintf(sr->f, "%s{\"code\":\"%s\"", sr->first ? "" : ",", iv.code);
        cli_relief_json_reg_text(sr->f, "name", &iv.name);
        cli_relief_json_reg_text(sr->f, "unit", &iv.unit);
        cli_relief_json_reg_text(sr->f, "category", &iv.cat);
        fprintf(sr->f, ",\"conflict\":%s}", cf ? "true" : "false");
        sr->first = 0;
        return 0;
    }
    cli_relief_cols(sr->f, iv.code, 20);
    fputc(' ', sr->f);
    if (iv.unit.n_heads)
        cli_relief_col(sr->f, iv.unit.s, iv.unit.len, 12, 0);
    else
        cli_relief_cols(sr->f, "-", 12);
    fputc(' ', sr->f);
    if (iv.cat.n_heads)
        cli_relief_col(sr->f, iv.cat.s, iv.cat.len, 12, 0);
    else
        cli_relief_cols(sr->f, "-", 12);
    fputc(' ', sr->f);
    if (iv.name.n_heads)
        cli_relief_col_end(sr->f, iv.name.s, iv.name.len, 31, cf ? " !" : "");
    else
        cli_relief_col_end(sr->f, "-", 1, 31, cf ? " !" : "");
    return 0;
}

static int item_list(struct cli *c, int argc, char **argv)
{
    static char header[96];
    const struct catalog cat = {
        "item list",
        item_help,
        RELIEF_OBJ_ITEM,
        header,
        item_row,
        "items",
        "no items yet: add one with `aidmesh item add CODE --name NAME --unit UNIT`"};
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
    return cli_usage("item", "unknown subcommand '%s': add, update or list", argv[1]);
}
