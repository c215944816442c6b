/*
 * cli_name.c: names of items per language on the command line (PROTOCOL.md 10.4
 * "item.name"): `aidmesh item name ITEM --lang fr NAME`, `item name ITEM --lang fr
 * --remove`, `item names ITEM [--json]`. The web pages show an item in the page's language
 * with these names, falling back to the item's own name (query_item_name).
 *
 * The codec takes any language code of 2 or 3 letters; this command takes only the
 * languages the web pages are translated into, so a typo does not make a name nobody sees.
 * Errors go to stderr, results to stdout.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "cli.h"
#include "cli_relief_int.h"
#include "out.h"

enum { OPT_LANG = 3950, OPT_REMOVE }; /* this file's own options */

/* The languages of the web pages (node/i18n), in their order there. */
static const char *const name_langs[] = {"en", "fr", "es", "ar", NULL};

static const char name_help[] =
    "usage: aidmesh item name ITEM --lang LANG NAME\n"
    "       aidmesh item name ITEM --lang LANG --remove\n"
    "       aidmesh item names ITEM [--json]\n"
    "\n"
    "The name of an item in one language, shown by the web pages in that language instead of\n"
    "the item's own name (`item add --name`), which stays the name everywhere else and in\n"
    "any language without one. LANG is en, fr, es or ar. A NAME is printable text of up to\n"
    "64 bytes, e.g. `aidmesh item name ors --lang fr \"Sachet de SRO\"`.\n"
    "\n"
    "  --lang LANG   en, fr, es or ar\n"
    "  --remove      remove the name in LANG (the item's own name is shown again)\n"
    "  --json        print the result as JSON\n";

static int arg_lang(const char *cmd, const char *in, char out[RELIEF_LANG_MAX + 1])
{
    for (int i = 0; name_langs[i]; i++)
        if (!strcmp(in, name_langs[i])) {
            memcpy(out, in, strlen(in) + 1);
            return 0;
        }
    cli_usage(cmd, "--lang takes en, fr, es or ar (the languages of the web pages), not '%s'", in);
    return -1;
}

/* The name of item in lang as a view holds it, or NULL (none ever written). */
static const struct query_lname *lname_find(struct query *q, const char *item, const char *lang)
{
    const struct query_lname *v;
    size_t nv = 0;
    if (query_lnames(q, item, 1, &v, &nv) != AM_OK)
        return NULL;
    for (size_t i = 0; i < nv; i++)
        if (!strcmp(v[i].lang, lang))
            return &v[i];
    return NULL;
}

static int name_write(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"lang", required_argument, NULL, OPT_LANG},
                                         {"remove", no_argument, NULL, OPT_REMOVE},
                                         {0, 0, 0, 0}};
    const char *cmd = "item name";
    char item[RELIEF_SLUG_MAX + 1], lang[RELIEF_LANG_MAX + 1] = "";
    const char *name = "";
    struct relief_ref sup[RELIEF_REFS_MAX];
    uint32_t nsup = 0;
    int opt, rc = 1, remove = 0;
    const struct query_lname *was = NULL;
    struct relief_op op;
    struct query *q = NULL;
    struct node n;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(name_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt == OPT_LANG) {
            if (arg_lang(cmd, optarg, lang))
                return 2;
        } else if (opt == OPT_REMOVE) {
            remove = 1;
        } else {
            return cli_bad_option(cmd, argv);
        }
    }
    if (argc - optind != (remove ? 1 : 2))
        return cli_usage(cmd, remove ? "give the ITEM only, e.g. `aidmesh item name ors --lang fr "
                                       "--remove`"
                                     : "give the ITEM and the NAME, e.g. `aidmesh item name ors "
                                       "--lang fr \"Sachet de SRO\"`");
    if (!lang[0])
        return cli_usage(cmd, "--lang is required: en, fr, es or ar");
    if (cli_relief_arg_item(cmd, argv[optind], item))
        return 2;
    if (!remove) {
        name = argv[optind + 1];
        if (!name[0])
            return cli_usage(cmd, "the NAME is empty: to remove the name in %s use --remove", lang);
    }
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if (!query_item(q, item)) {
        cli_relief_check_known(q, RELIEF_OBJ_ITEM, item, cmd);
        goto out;
    }
    was = lname_find(q, item, lang);
    if (remove && (!was || !was->len)) {
        cli_err("%s: item '%s' has no name in %s: nothing to remove", cmd, item, lang);
        goto out;
    }
    if (was && cli_relief_add_sup(&was->reg, sup, &nsup)) {
        cli_err("%s: the stored view of the %s name of '%s' is damaged: run `aidmesh reindex`", cmd,
                lang, item);
        goto out;
    }
    relief_refs_sort(sup, &nsup);
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_ITEM_NAME;
    op.item = cli_relief_str(item);
    op.lang = cli_relief_str(lang);
    op.name = cli_relief_str(name);
    HAS(&op, CODE), HAS(&op, LANG), HAS(&op, NAME);
    if (nsup) {
        op.sup = (struct relief_refs){nsup, sup, NULL};
        HAS(&op, SUP);
    }
    query_close(q); /* the write goes to the store */
    q = NULL;
    if (cli_relief_write_op(&n, cmd, &op, 0, NULL))
        goto out;
    rc = 0;
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "ok", json_true());
        json_object_set_new(o, "item", json_string(item));
        json_object_set_new(o, "lang", json_string(lang));
        json_object_set_new(o, "name", remove ? json_null() : json_string(name));
        out_json_put(stdout, o);
    } else if (remove) {
        printf("removed the %s name of %s\n", lang, item);
    } else {
        printf("%s in %s: ", item, lang);
        out_text(stdout, name, strlen(name), 0, NULL);
        printf("\n");
    }
out:
    query_close(q);
    node_close(&n);
    return rc;
}

static int name_list(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    const char *cmd = "item names";
    char item[RELIEF_SLUG_MAX + 1];
    const struct query_lname *v;
    const struct relief_node_item *iv;
    size_t nv = 0, conflicts = 0;
    struct query *q = NULL;
    struct node n;
    int opt, rc = 1;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(name_help, stdout);
            return 0;
        }
        if (!k)
            return cli_bad_option(cmd, argv);
    }
    if (optind != argc - 1)
        return cli_usage(cmd, "give one ITEM, e.g. `aidmesh item names ors`");
    if (cli_relief_arg_item(cmd, argv[optind], item))
        return 2;
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if (!(iv = query_item(q, item))) {
        cli_relief_check_known(q, RELIEF_OBJ_ITEM, item, cmd);
        goto out;
    }
    if ((rc = query_lnames(q, item, 0, &v, &nv)) != AM_OK) {
        cli_err("%s: cannot read the views: %s%s", cmd, am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
        rc = 1;
        goto out;
    }
    rc = 0;
    if (c->json) {
        json_t *o = json_object(), *names = json_object();
        json_object_set_new(o, "item", json_string(item));
        json_object_set_new(o, "name", cli_relief_json_reg_text(&iv->name));
        for (size_t i = 0; i < nv; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "name", json_stringn(v[i].name, v[i].len));
            json_object_set_new(e, "conflict", json_boolean(v[i].reg.conflict));
            json_object_set_new(names, v[i].lang, e);
        }
        json_object_set_new(o, "names", names);
        rc = out_json_put(stdout, o) == 0 ? 0 : 1;
        goto out;
    }
    {
        size_t len = 0;
        const char *own = query_reg_text(&iv->name, &len);
        printf("%-6s ", "*");
        out_text(stdout, own, len, 0, NULL);
        printf("   (the item's own name)\n");
    }
    for (size_t i = 0; i < nv; i++) {
        printf("%-6s ", v[i].lang);
        out_text(stdout, v[i].name, v[i].len, 0, NULL);
        printf("%s\n", v[i].reg.conflict ? " !" : "");
        conflicts += v[i].reg.conflict != 0;
    }
    if (!nv)
        printf("no names per language: set one with `aidmesh item name %s --lang fr NAME`\n", item);
    if (conflicts)
        printf("! two nodes named the item at once; the latest is shown: `aidmesh item name "
               "%s --lang LANG NAME` settles it\n",
               item);
out:
    query_close(q);
    node_close(&n);
    return rc;
}

int cli_item_name(struct cli *c, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(name_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    optind = 1;
    return name_write(c, argc, argv);
}

int cli_item_names(struct cli *c, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(name_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    optind = 1;
    return name_list(c, argc, argv);
}
