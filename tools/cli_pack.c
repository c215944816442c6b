/*
 * cli_pack.c: packs of items on the command line (PROTOCOL.md 10.4 "item.pack"): `aidmesh
 * item pack add|remove|list`, the --qty of every relief command typed in packs ("12
 * carton", "12x carton", "12 cartons"), and quantities shown in packs ("600 (12 carton)").
 *
 * A quantity typed in packs becomes base units on the writing node, with the units of the
 * pack's winning definition there (query_pack_mul refuses a product past the quantity
 * limit): ops carry base units only, so every node stores the same number. Never writes
 * an op that the parsers have not checked; errors go to stderr, results to stdout.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "cli.h"
#include "cli_relief_int.h"
#include "out.h"

enum { OPT_UNITS = 3900 }; /* this file's own option */

/* ---- quantities ---------------------------------------------------------------------------- */

/* A pack name: a slug, folded to lower case. 0, or -1 when it is not one (nothing said). */
static int pack_name(const char *in, size_t n, char out[RELIEF_SLUG_MAX + 1])
{
    if (n == 0 || n > RELIEF_SLUG_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (i > 0 && ch == '-')))
            return -1;
        out[i] = ch;
    }
    out[n] = 0;
    return 0;
}

int cli_relief_arg_qtyp(const char *cmd, const char *in, int allow_zero, struct cli_qty *out)
{
    const char *p = in, *name;
    char num[24];
    size_t nd = 0;

    memset(out, 0, sizeof *out);
    while (*p >= '0' && *p <= '9')
        p++;
    nd = (size_t)(p - in);
    if (!nd || !*p) /* no digits (cli_relief_arg_qty says so), or base units */
        return cli_relief_arg_qty(cmd, in, allow_zero, &out->n);
    /* "12x carton", "12xcarton", "12 x carton", "12 carton" */
    if (*p == 'x' || *p == 'X')
        p++;
    else if (*p == ' ' && (p[1] == 'x' || p[1] == 'X') && p[2] == ' ')
        p += 2;
    while (*p == ' ')
        p++;
    name = p;
    if (nd >= sizeof num || pack_name(name, strlen(name), out->pack) != 0) {
        cli_usage(
            cmd,
            "--qty takes a whole number of base units (600) or of a pack of the item "
            "(\"12 carton\", \"12x carton\"), not '%s'%s",
            in, *name ? ": a pack name is a-z, 0-9 and '-', starting with a letter or digit" : "");
        return -1;
    }
    memcpy(num, in, nd);
    num[nd] = 0;
    return cli_relief_arg_qty(cmd, num, allow_zero, &out->n);
}

/* The pack `name` of the rows, or its plural ("cartons", "boxes"). */
static const struct query_pack *pack_lookup(const struct query_pack *v, size_t n, const char *name)
{
    size_t len = strlen(name);
    for (int cut = 0; cut <= 2; cut++) {
        if (cut &&
            (len <= (size_t)cut || name[len - 1] != 's' || (cut == 2 && name[len - 2] != 'e')))
            break;
        for (size_t i = 0; i < n; i++)
            if (strlen(v[i].pack) == len - (size_t)cut &&
                !memcmp(v[i].pack, name, len - (size_t)cut))
                return &v[i];
    }
    return NULL;
}

/* "carton (50), box (10)" into out. */
static void pack_list_text(const struct query_pack *v, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        int w = snprintf(out + o, cap - o, "%s%s (%lld)", i ? ", " : "", v[i].pack,
                         (long long)v[i].units);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

int cli_relief_qty_units(struct query *q, const char *cmd, const char *item,
                         const struct cli_qty *in, int64_t *units)
{
    const struct query_pack *v, *p;
    size_t n;
    char list[256];
    int over = 0, rc;

    if (!in->pack[0]) {
        *units = in->n;
        return 0;
    }
    if ((rc = query_packs(q, item, 0, &v, &n)) != AM_OK) {
        cli_err("%s: cannot read the packs of '%s': %s", cmd, item, am_strerror(rc));
        return -1;
    }
    if (!(p = pack_lookup(v, n, in->pack))) {
        pack_list_text(v, n, list, sizeof list);
        if (n)
            cli_err("%s: item '%s' has no pack '%s'; its packs: %s. Give one of them, the "
                    "quantity in base units, or define it with `aidmesh item pack add %s %s "
                    "--units N`",
                    cmd, item, in->pack, list, item, in->pack);
        else
            cli_err("%s: item '%s' has no packs: give the quantity in base units, or define one "
                    "with `aidmesh item pack add %s %s --units N`",
                    cmd, item, item, in->pack);
        return -1;
    }
    rc = query_pack_mul(in->n, p->units, units, &over);
    if (rc != AM_OK) {
        cli_err("%s: %lld x %s (%lld units each) is %s the limit of %lld base units: give "
                "fewer",
                cmd, (long long)in->n, p->pack, (long long)p->units,
                over ? "beyond a 64-bit integer, far over" : "over", (long long)RELIEF_QTY_MAX);
        return -1;
    }
    if (p->reg.conflict)
        cli_err("%s: warning: pack '%s' of '%s' has %u definitions made at once; counted with "
                "%lld, the latest: settle it with `aidmesh item pack add %s %s --units N`",
                cmd, p->pack, item, p->reg.n_heads, (long long)p->units, item, p->pack);
    return 0;
}

void cli_relief_fmt_qty(struct query *q, const char *item, int64_t qty, char *out, size_t cap)
{
    const struct query_pack *p;
    int64_t count, rest;

    if (query_pack_split(q, item, qty, &p, &count, &rest) != AM_OK)
        snprintf(out, cap, "%lld", (long long)qty);
    else if (rest)
        snprintf(out, cap, "%lld (%lld %s + %lld)", (long long)qty, (long long)count, p->pack,
                 (long long)rest);
    else
        snprintf(out, cap, "%lld (%lld %s)", (long long)qty, (long long)count, p->pack);
}

json_t *cli_relief_json_qty_packs(struct query *q, const char *item, int64_t qty)
{
    const struct query_pack *p;
    int64_t count, rest;
    json_t *o;

    if (query_pack_split(q, item, qty, &p, &count, &rest) != AM_OK)
        return json_null();
    o = json_object();
    json_object_set_new(o, "pack", json_string(p->pack));
    json_object_set_new(o, "units", json_integer(p->units));
    json_object_set_new(o, "count", json_integer(count));
    json_object_set_new(o, "rest", json_integer(rest));
    return o;
}

/* ---- item pack ----------------------------------------------------------------------------- */

static const char pack_help[] =
    "usage: aidmesh item pack add ITEM PACK --units N\n"
    "       aidmesh item pack remove ITEM PACK\n"
    "       aidmesh item pack list [ITEM] [--json]\n"
    "\n"
    "Named packs of an item: a carton of 50 sachets is `item pack add ors carton --units 50`.\n"
    "Then every --qty of need and stock commands, and the quantities of an import, may be\n"
    "given in packs: \"12 carton\", \"12x carton\" or \"12 cartons\" is 600 sachets. Stock and\n"
    "needs are always stored in base units; listings show the largest pack that fits.\n"
    "A PACK name is a-z, 0-9 and '-' (carton, box-10, pallet). Adding a pack that exists\n"
    "changes its units from then on; what was stored before stays as it was.\n"
    "\n"
    "  --units N   base units in one pack (1 or more)\n"
    "  --json      print the result as JSON\n";

json_t *cli_relief_json_packs(const struct query_pack *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "item", json_string(v[i].item));
        json_object_set_new(o, "pack", json_string(v[i].pack));
        json_object_set_new(o, "units", json_integer(v[i].units));
        json_object_set_new(o, "conflict", json_boolean(v[i].reg.conflict));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* --units: 1 .. RELIEF_QTY_MAX, digits only. 0, or -1 (nothing said). */
static int arg_units(const char *in, int64_t *out)
{
    int64_t v = 0;
    if (!*in || strlen(in) > 16)
        return -1;
    for (const char *p = in; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0'); /* 16 digits: no overflow */
    }
    if (v < 1 || v > RELIEF_QTY_MAX)
        return -1;
    *out = v;
    return 0;
}

/* add (units > 0) or remove (units 0) */
static int pack_write(struct cli *c, int argc, char **argv, int remove)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS, {"units", required_argument, NULL, OPT_UNITS}, {0, 0, 0, 0}};
    const char *cmd = remove ? "item pack remove" : "item pack add";
    char item[RELIEF_SLUG_MAX + 1], pack[RELIEF_SLUG_MAX + 1];
    struct relief_ref sup[RELIEF_REFS_MAX];
    uint32_t nsup = 0;
    int64_t units = 0, was = 0;
    int opt, rc = 1, have_units = 0;
    const struct query_pack *p = NULL;
    const struct relief_node_item *iv;
    struct relief_op op;
    struct query *q = NULL;
    struct node n;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(pack_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt != OPT_UNITS || remove)
            return cli_bad_option(cmd, argv);
        if (arg_units(optarg, &units))
            return cli_usage(cmd,
                             "--units takes the whole number of base units in one pack, 1 to "
                             "%lld, not '%s'",
                             (long long)RELIEF_QTY_MAX, optarg);
        have_units = 1;
    }
    if (optind != argc - 2)
        return cli_usage(cmd, "give the ITEM and the PACK name, e.g. `aidmesh %s ors carton%s`",
                         cmd, remove ? "" : " --units 50");
    if (cli_relief_arg_item(cmd, argv[optind], item))
        return 2;
    if (pack_name(argv[optind + 1], strlen(argv[optind + 1]), pack))
        return cli_usage(cmd,
                         "pack name '%s' must be 1 to %d characters of a-z, 0-9 and '-', "
                         "starting with a letter or digit (e.g. carton)",
                         argv[optind + 1], RELIEF_SLUG_MAX);
    if (!remove && !have_units)
        return cli_usage(cmd, "--units is required: how many base units one %s holds", pack);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if (!(iv = query_item(q, item))) {
        cli_relief_check_known(q, RELIEF_OBJ_ITEM, item, cmd);
        goto out;
    }
    rc = query_pack(q, item, pack, &p);
    if (rc != AM_OK && rc != AM_ENOTFOUND) {
        cli_err("%s: cannot read the packs of '%s': %s", cmd, item, am_strerror(rc));
        rc = 1;
        goto out;
    }
    rc = 1;
    if (remove && (!p || !p->units)) {
        const struct query_pack *v;
        size_t nv = 0;
        char list[256] = "";
        query_packs(q, item, 0, &v, &nv);
        pack_list_text(v, nv, list, sizeof list);
        cli_err("%s: item '%s' has no pack '%s'%s%s", cmd, item, pack, nv ? "; its packs: " : "",
                nv ? list : " (it has none)");
        goto out;
    }
    if (p) {
        was = p->units;
        if (cli_relief_add_sup(&p->reg, sup, &nsup)) {
            cli_err("%s: the stored view of pack '%s' of '%s' is damaged: run `aidmesh reindex`",
                    cmd, pack, item);
            goto out;
        }
        relief_refs_sort(sup, &nsup);
    }
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_ITEM_PACK;
    op.item = cli_relief_str(item);
    op.pack = cli_relief_str(pack);
    op.q = units;
    HAS(&op, CODE), HAS(&op, PACK), HAS(&op, Q);
    if (nsup) {
        op.sup = (struct relief_refs){nsup, sup, NULL};
        HAS(&op, SUP);
    }
    {
        size_t ul = 0;
        const char *unit = query_reg_text(&iv->unit, &ul);
        char u[RELIEF_UNIT_MAX + 1];
        snprintf(u, sizeof u, "%.*s", (int)ul, unit);
        query_close(q); /* the write goes to the store */
        q = NULL;
        if (cli_relief_write_op(&n, cmd, &op, 0, NULL))
            goto out;
        rc = 0;
        if (c->json) {
            json_t *o = json_object();
            json_object_set_new(o, "ok", json_true());
            json_object_set_new(o, "item", json_string(item));
            json_object_set_new(o, "pack", json_string(pack));
            json_object_set_new(o, "units", json_integer(units));
            out_json_put(stdout, o);
        } else if (remove) {
            printf("removed pack %s of %s (it held %lld)\n", pack, item, (long long)was);
        } else {
            printf("pack %s of %s: %lld ", pack, item, (long long)units);
            out_text(stdout, u, strlen(u), 0, NULL);
            if (was && was != units)
                printf(" (was %lld)", (long long)was);
            printf("\n");
        }
    }
out:
    query_close(q);
    node_close(&n);
    return rc;
}

static int pack_list(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    const char *cmd = "item pack list";
    char item[RELIEF_SLUG_MAX + 1] = "";
    const struct query_pack *v;
    size_t nv = 0, conflicts = 0;
    struct query *q = NULL;
    struct node n;
    int opt, rc = 1;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(pack_help, stdout);
            return 0;
        }
        if (!k)
            return cli_bad_option(cmd, argv);
    }
    if (optind < argc - 1)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind + 1]);
    if (optind == argc - 1 && cli_relief_arg_item(cmd, argv[optind], item))
        return 2;
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if (item[0] && !query_item(q, item) && !cli_relief_check_known(q, RELIEF_OBJ_ITEM, item, cmd))
        goto out;
    if ((rc = query_packs(q, item[0] ? item : NULL, 0, &v, &nv)) != AM_OK) {
        cli_err("%s: cannot read the views: %s%s", cmd, am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
        rc = 1;
        goto out;
    }
    rc = 0;
    if (c->json) {
        rc = out_json_put(stdout, cli_relief_json_packs(v, nv)) == 0 ? 0 : 1;
        goto out;
    }
    if (!nv) {
        printf("no packs%s%s: define one with `aidmesh item pack add %s carton --units 50`\n",
               item[0] ? " of " : "", item, item[0] ? item : "ITEM");
        goto out;
    }
    printf("%-20s %-20s %12s %s\n", "ITEM", "PACK", "UNITS", "BASE UNIT");
    for (size_t i = 0; i < nv; i++) {
        const struct relief_node_item *iv = query_item(q, v[i].item);
        size_t ul = 0;
        const char *unit = iv ? query_reg_text(&iv->unit, &ul) : "";
        char num[24];
        cli_relief_cols(stdout, v[i].item, 20);
        fputc(' ', stdout);
        cli_relief_cols(stdout, v[i].pack, 20);
        snprintf(num, sizeof num, "%lld", (long long)v[i].units);
        printf(" %12s ", num);
        cli_relief_col_end(stdout, ul ? unit : "-", ul ? ul : 1, 16, v[i].reg.conflict ? " !" : "");
        conflicts += v[i].reg.conflict != 0;
    }
    printf("%zu pack%s\n", nv, nv == 1 ? "" : "s");
    if (conflicts)
        printf("! two nodes defined a pack at once; the latest is shown: `aidmesh item pack add "
               "ITEM PACK --units N` settles it\n");
out:
    query_close(q);
    node_close(&n);
    return rc;
}

int cli_item_pack(struct cli *c, int argc, char **argv)
{
    if (cli_subcommand_help(argc, argv, pack_help))
        return argc < 2 ? 2 : 0;
    optind = 1;
    if (!strcmp(argv[1], "add"))
        return pack_write(c, argc - 1, argv + 1, 0);
    if (!strcmp(argv[1], "remove"))
        return pack_write(c, argc - 1, argv + 1, 1);
    if (!strcmp(argv[1], "list"))
        return pack_list(c, argc - 1, argv + 1);
    return cli_usage("item pack", "unknown subcommand '%s': add, remove or list", argv[1]);
}
