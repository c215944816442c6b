/*
 * cli_relief.c: the relief data commands of the CLI: site, item, need, stock, export,
 * reindex (PROTOCOL.md section 10; HXL export: node/HXL-PROTOCOL.md).
 *
 * Writing: every value is checked here first (with a sentence naming the flag and what
 * to type), then relief_node_write encodes the op (the validation of section 10),
 * checks what it refers to against this node's views, and appends it. Reading: the
 * views the store keeps, parsed by relief_node; tables fit 80 columns, --json gives one
 * JSON document. Output for people goes to stdout, errors to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "am_err.h"
#include "am_grow.h"
#include "cli.h"
#include "entry.h"
#include "hlc.h"
#include "out.h"
#include "relief.h"
#include "relief_node.h"

enum {
    OPT_HOME = CLI_OPT_HOME,
    OPT_JSON = CLI_OPT_JSON,
    OPT_HELP = CLI_OPT_HELP,
    OPT_NAME = 3000,
    OPT_KIND,
    OPT_LAT,
    OPT_LON,
    OPT_NO_LOC,
    OPT_UNIT,
    OPT_CAT,
    OPT_SITE,
    OPT_ITEM,
    OPT_QTY,
    OPT_PRI,
    OPT_NOTE,
    OPT_BY,
    OPT_STATUS,
    OPT_REASON,
    OPT_LOT,
    OPT_EXPIRY,
    OPT_FORCE,
    OPT_HXL,
    OPT_ORG,
    OPT_ADM1,
    OPT_EXPIRING
};

/* Days ahead within which a lot counts as expiring. */
#define EXPIRING_DAYS 30

/* ---- small helpers ---------------------------------------------------------------------- */

static uint32_t today_day(void)
{
    return (uint32_t)(node_wall_ms() / 86400000ULL);
}

static void fmt_day(uint32_t day, char out[11])
{
    if (day)
        relief_day_format(day, out);
    else
        snprintf(out, 11, "-");
}

/* micro-degrees as decimal degrees */
static void fmt_deg(int64_t v, char out[24])
{
    uint64_t a = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
    snprintf(out, 24, "%s%llu.%06llu", v < 0 ? "-" : "", (unsigned long long)(a / 1000000),
             (unsigned long long)(a % 1000000));
}

/* A cell of a table: text cut to width w (a cut shows '~' as its last character), escaped
 * for the terminal (out_text_esc). */
static void col(FILE *f, const char *s, size_t len, int w, int right)
{
    out_col(f, s, len, w, right, 0);
}

static void cols(FILE *f, const char *s, int w)
{
    col(f, s, strlen(s), w, 0);
}

/* Site and item columns start at their headers' width and grow to the longest code. */
#define CODE_COL_MIN 12

static int code_width(int w, const char *code)
{
    int n = (int)strlen(code);
    return n > w ? n : w;
}

/* The last cell of a row: cut to w, not padded, then the rest of the line. */
static void col_end(FILE *f, const char *s, size_t len, int w, const char *rest)
{
    out_col(f, s, len, w, 0, 1);
    fprintf(f, "%s\n", rest);
}

/* Levenshtein distance of two short strings. */
static unsigned edit_distance(const char *a, const char *b)
{
    unsigned prev[RELIEF_SLUG_MAX + 2], cur[RELIEF_SLUG_MAX + 2];
    size_t la = strlen(a), lb = strlen(b);
    if (la > RELIEF_SLUG_MAX || lb > RELIEF_SLUG_MAX)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned d = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < d)
                d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            cur[j] = d;
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

/* Known slugs or codes (views of one kind), for did-you-mean. */
struct names {
    char (*v)[RELIEF_SLUG_MAX + 1];
    size_t n, cap;
};

static int names_add(void *ctx, const struct store_view_row *r)
{
    struct names *nm = ctx;
    if (r->key_len < 2 || r->key_len > RELIEF_SLUG_MAX + 1)
        return 0;
    if (AM_GROW(nm->v, nm->cap, nm->n + 1, 64) != AM_OK)
        return AM_ENOMEM;
    memcpy(nm->v[nm->n], r->key + 1, r->key_len - 1);
    nm->v[nm->n][r->key_len - 1] = 0;
    nm->n++;
    return 0;
}

/* Whether object kind/name exists; when not, prints the sentence with a suggestion. */
static int check_known(struct store *s, int kind, const char *name, const char *cmd)
{
    uint8_t prefix[1] = {(uint8_t)kind};
    struct names nm = {0};
    const char *what = kind == RELIEF_OBJ_SITE ? "site" : "item";
    const char *best = NULL;
    unsigned bd = 99;
    int found = 0;

    store_views_each(s, prefix, 1, names_add, &nm);
    for (size_t i = 0; i < nm.n; i++) {
        unsigned d;
        if (!strcmp(nm.v[i], name)) {
            found = 1;
            break;
        }
        d = edit_distance(name, nm.v[i]);
        if (d < bd) {
            bd = d;
            best = nm.v[i];
        }
    }
    if (!found) {
        unsigned limit = strlen(name) >= 9 ? 3 : 2;
        if (best && bd <= limit)
            cli_err("%s: unknown %s '%s'; did you mean '%s'? see `aidmesh %s list`", cmd, what,
                    name, best, what);
        else if (nm.n)
            cli_err("%s: unknown %s '%s'; see `aidmesh %s list`, or define it with `aidmesh %s "
                    "add %s ...`",
                    cmd, what, name, what, what, name);
        else
            cli_err("%s: unknown %s '%s': no %ss are defined here yet; define it with `aidmesh "
                    "%s add %s ...` (or sync with a node that has it)",
                    cmd, what, name, what, what, name);
    }
    free(nm.v);
    return found;
}

/* Whether the site or item is defined here, without a word. */
static int known_quiet(struct store *s, int kind, const char *name)
{
    struct relief_key k;
    memset(&k, 0, sizeof k);
    k.kind = kind;
    snprintf(kind == RELIEF_OBJ_SITE ? k.site : k.item, RELIEF_SLUG_MAX + 1, "%s", name);
    return relief_node_exists(s, &k);
}

static int stop_at_first(void *ctx, const struct store_view_row *r)
{
    (void)ctx;
    (void)r;
    return 1;
}

/* Whether any need (needs) or stock cell is recorded under site / item, defined or not. */
static int has_rows(struct store *s, const char *site, const char *item, int needs)
{
    return (needs ? store_needs_each(s, site, 0, stop_at_first, NULL)
                  : store_cells_each(s, site, item, stop_at_first, NULL)) == 1;
}

/* ---- argument parsers: each prints its own sentence ---------------------------------------- */

/* Site slug (fold to lower case): [a-z0-9-], first a letter or digit, 1..32. */
static int arg_ident(const char *cmd, const char *what, const char *in,
                     char out[RELIEF_SLUG_MAX + 1], const char *extra, const char *example)
{
    size_t n = strlen(in);
    if (n == 0 || n > RELIEF_SLUG_MAX) {
        cli_usage(cmd, "%s '%s' must be 1 to %d characters", what, in, RELIEF_SLUG_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              (i > 0 && strchr(extra, ch) && ch))) {
            cli_usage(cmd,
                      "%s '%s' may hold only a-z, 0-9 and '%s', starting with a letter or digit "
                      "(e.g. %s)",
                      what, in, extra, example);
            return -1;
        }
        out[i] = ch;
    }
    out[n] = 0;
    return 0;
}

static int arg_site(const char *cmd, const char *in, char out[RELIEF_SLUG_MAX + 1])
{
    return arg_ident(cmd, "site", in, out, "-", "hub-north");
}

static int arg_item(const char *cmd, const char *in, char out[RELIEF_SLUG_MAX + 1])
{
    return arg_ident(cmd, "item code", in, out, "-._", "ors-20.5");
}

static int arg_cat(const char *cmd, const char *in, char out[RELIEF_SLUG_MAX + 1])
{
    return arg_ident(cmd, "category", in, out, "-", "health");
}

static int arg_lot(const char *cmd, const char *in)
{
    size_t n = strlen(in);
    int ok = n >= 1 && n <= RELIEF_SLUG_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = in[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             (i > 0 && (ch == '.' || ch == '_' || ch == '/' || ch == '-'));
    }
    if (!ok) {
        cli_usage(cmd,
                  "lot '%s' must be 1 to %d characters of A-Z, a-z, 0-9 and . _ / -, as printed "
                  "on the box",
                  in, RELIEF_SLUG_MAX);
        return -1;
    }
    return 0;
}

static int arg_qty(const char *cmd, const char *in, int allow_zero, int64_t *q)
{
    char *end;
    unsigned long long v;
    errno = 0;
    if (!*in || in[0] == '-' || in[0] == '+' || in[0] == ' ') {
        cli_usage(cmd, "--qty takes a whole number of base units%s, not '%s'",
                  allow_zero ? " (0 or more)" : " (1 or more)", in);
        return -1;
    }
    v = strtoull(in, &end, 10);
    if (errno || *end || v > (unsigned long long)RELIEF_QTY_MAX || (!allow_zero && v == 0)) {
        cli_usage(cmd,
                  "--qty takes a whole number of base units%s up to 9007199254740991, not '%s'",
                  allow_zero ? " (0 or more)" : " (1 or more)", in);
        return -1;
    }
    *q = (int64_t)v;
    return 0;
}

static int arg_day(const char *cmd, const char *flag, const char *in, uint32_t *day)
{
    if (!strcmp(in, "today")) {
        *day = today_day();
        return 0;
    }
    if (relief_day_parse(in, day) != AM_OK) {
        cli_usage(cmd, "%s takes a date as YYYY-MM-DD (e.g. 2026-03-01), not '%s'", flag, in);
        return -1;
    }
    return 0;
}

/* One of names(1..max); did-you-mean on a near miss. */
static int arg_enum(const char *cmd, const char *flag, const char *in, const char *(*name)(int),
                    int max, int *out)
{
    char list[160] = "";
    int best = 0;
    unsigned bd = 99;
    for (int i = 1; i <= max; i++) {
        unsigned d;
        if (!strcmp(in, name(i))) {
            *out = i;
            return 0;
        }
        d = edit_distance(in, name(i));
        if (d < bd) {
            bd = d;
            best = i;
        }
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i > 1 ? ", " : "",
                 name(i));
    }
    if (bd <= 2)
        cli_usage(cmd, "%s '%s' is not known; did you mean '%s'? (one of: %s)", flag, in,
                  name(best), list);
    else
        cli_usage(cmd, "%s takes one of: %s (not '%s')", flag, list, in);
    return -1;
}

/* Decimal degrees ("12.5", "-4.123456") as micro-degrees, without floating point. */
static int arg_deg(const char *cmd, const char *flag, const char *in, int32_t max, int32_t *out)
{
    const char *p = in;
    int neg = 0;
    uint64_t whole = 0, frac = 0;
    int digits = 0, fd = 0;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    for (; *p >= '0' && *p <= '9'; p++, digits++)
        if ((whole = whole * 10 + (uint64_t)(*p - '0')) > 1000)
            break;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, fd++)
            if (fd < 6)
                frac = frac * 10 + (uint64_t)(*p - '0');
    for (int i = fd; i < 6; i++)
        frac *= 10;
    if (*p || (!digits && !fd) || whole * 1000000 + frac > (uint64_t)max) {
        cli_usage(cmd, "%s takes decimal degrees between -%d and %d (e.g. 12.345678), not '%s'",
                  flag, max / 1000000, max / 1000000, in);
        return -1;
    }
    *out = (int32_t)(neg ? -(int64_t)(whole * 1000000 + frac) : (int64_t)(whole * 1000000 + frac));
    return 0;
}

/* A need by (a prefix of) its id; prints the sentence when there is not exactly one. */
static int find_need(struct store *s, const char *cmd, const char *hex, uint8_t id[RELIEF_ID_LEN])
{
    unsigned matches;
    int rc;
    if (strlen(hex) < 4 || strlen(hex) > 32 ||
        strspn(hex, "0123456789abcdefABCDEF") != strlen(hex)) {
        cli_usage(cmd,
                  "'%s' is not a need id: give at least 4 of its hex digits, as `aidmesh need "
                  "list` shows them",
                  hex);
        return -1;
    }
    rc = store_need_find(s, hex, id, &matches);
    if (rc == AM_ENOTFOUND) {
        cli_err("%s: no need '%s' here; `aidmesh need list --status all` lists them", cmd, hex);
        return -1;
    }
    if (rc != AM_OK) {
        cli_err("%s: cannot read the store: %s", cmd, am_strerror(rc));
        return -1;
    }
    if (matches > 1) {
        cli_err("%s: need id '%s' matches more than one need; type more of its digits", cmd, hex);
        return -1;
    }
    return 0;
}

static struct relief_str rstr(const char *s)
{
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

/* Writes op and prints what went wrong; 0 or 1. */
static int write_op(struct node *n, const char *cmd, const struct relief_op *op, int force,
                    uint8_t hash[AM_HASH_LEN])
{
    char err[RELIEF_ERR_MAX + 64];
    int rc = relief_node_write(n, op, force, err, sizeof err, hash);
    if (rc == AM_OK)
        return 0;
    if (rc == AM_ENOTFOUND)
        cli_err("%s: %s; or pass --force if its definition is on its way from another node", cmd,
                err);
    else if (rc == AM_EINVAL || rc == AM_ELIMIT || rc == AM_EMALFORMED)
        cli_err("%s: refused: %s", cmd, err[0] ? err : am_strerror(rc));
    else if (rc == AM_EFORK)
        cli_err("%s: this node's identity is marked forked (it was used on two machines); give "
                "this node a new one with `aidmesh init --force` before writing",
                cmd);
    else if (rc == AM_EFULL)
        cli_err("%s: the disk is full; free some space and try again (nothing was written)", cmd);
    else
        cli_err("%s: cannot write: %s", cmd, am_strerror(rc));
    return 1;
}

/* sup = the heads of the given registers of a parsed view */
static int add_sup(const struct relief_node_reg *r, struct relief_ref *refs, uint32_t *n)
{
    return relief_node_reg_refs(r, refs, RELIEF_REFS_MAX, n);
}

static void json_kv_str(FILE *f, const char *k, const char *v, size_t n, int comma)
{
    fprintf(f, "%s\"%s\":", comma ? "," : "", k);
    out_json_str(f, v, n);
}

static void json_reg_text(FILE *f, const char *k, const struct relief_node_reg *r)
{
    if (r->n_heads && r->set)
        json_kv_str(f, k, r->s, r->len, 1);
    else
        fprintf(f, ",\"%s\":null", k);
}

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
            if (arg_enum(cmd, "--kind", optarg, relief_kind_name, 5, &kind))
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
    if (arg_site(cmd, argv[optind], slug))
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
    op.site = rstr(slug);
    HAS(&op, SLUG);
    if (name) {
        op.name = rstr(name);
        HAS(&op, NAME);
    }
    if (kind) {
        op.kind = kind;
        HAS(&op, KIND);
    }
    if (lat) {
        if (arg_deg(cmd, "--lat", lat, RELIEF_LAT_MAX, &op.lat) ||
            arg_deg(cmd, "--lon", lon, RELIEF_LON_MAX, &op.lon))
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
        strcpy(k.site, slug);
        vrc = relief_node_view(n.store, &k, &v, &vl);
        if (vrc == AM_OK && !update) {
            cli_err("%s: site '%s' already exists; change it with `aidmesh site update %s "
                    "--name ...`",
                    cmd, slug, slug);
            goto out_v;
        }
        if (vrc == AM_ENOTFOUND && update) {
            check_known(n.store, RELIEF_OBJ_SITE, slug, cmd);
            goto out_v;
        }
        if (vrc == AM_OK) {
            struct relief_node_site sv;
            if (relief_node_site_parse(v, vl, &sv) != AM_OK ||
                (name && add_sup(&sv.name, sup, &nsup)) ||
                (kind && add_sup(&sv.kind, sup, &nsup)) ||
                ((lat || noloc) && add_sup(&sv.ll, sup, &nsup))) {
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
        if (write_op(&n, cmd, &op, 0, NULL))
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
        json_reg_text(sr->f, "name", &sv.name);
        if (sv.kind.n_heads)
            fprintf(sr->f, ",\"kind\":\"%s\"", relief_kind_name((int)sv.kind.i));
        else
            fprintf(sr->f, ",\"kind\":null");
        if (sv.ll.n_heads && sv.ll.set) {
            fmt_deg(sv.ll.i, lat);
            fmt_deg(sv.ll.j, lon);
            fprintf(sr->f, ",\"lat\":%s,\"lon\":%s", lat, lon);
        } else {
            fprintf(sr->f, ",\"lat\":null,\"lon\":null");
        }
        fprintf(sr->f, ",\"conflict\":%s}",
                sv.name.conflict || sv.kind.conflict || sv.ll.conflict ? "true" : "false");
        sr->first = 0;
        return 0;
    }
    cols(sr->f, sv.slug, 16);
    fputc(' ', sr->f);
    cols(sr->f, sv.kind.n_heads ? relief_kind_name((int)sv.kind.i) : "-", 9);
    fputc(' ', sr->f);
    if (sv.name.n_heads)
        col(sr->f, sv.name.s, sv.name.len, 28, 0);
    else
        cols(sr->f, "-", 28);
    fputc(' ', sr->f);
    {
        char ll[50] = "-";
        const char *cf = sv.name.conflict || sv.kind.conflict || sv.ll.conflict ? " !" : "";
        if (sv.ll.n_heads && sv.ll.set) {
            fmt_deg(sv.ll.i, lat);
            fmt_deg(sv.ll.j, lon);
            snprintf(ll, sizeof ll, "%s,%s", lat, lon);
        }
        col_end(sr->f, ll, strlen(ll), 23, cf);
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
    if (arg_item(cmd, argv[optind], code) || (catin && arg_cat(cmd, catin, cat)))
        return 2;
    if (!update && (!name || !unit))
        return cli_usage(cmd, "--name and --unit are required, e.g. --name \"ORS sachet 20.5 g\" "
                              "--unit sachet");
    if (update && !name && !unit && !catin)
        return cli_usage(cmd, "nothing to change: give --name, --unit or --category");
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_ITEM;
    op.item = rstr(code);
    HAS(&op, CODE);
    if (name)
        op.name = rstr(name), HAS(&op, NAME);
    if (unit)
        op.unit = rstr(unit), HAS(&op, UNIT);
    if (catin)
        op.cat = rstr(cat), HAS(&op, CAT);
    if (cli_open(c, &n, NULL))
        return 1;
    {
        struct relief_key k = {.kind = RELIEF_OBJ_ITEM};
        uint8_t *v = NULL;
        size_t vl;
        int vrc;
        strcpy(k.item, code);
        vrc = relief_node_view(n.store, &k, &v, &vl);
        if (vrc == AM_OK && !update) {
            cli_err("%s: item '%s' already exists; change it with `aidmesh item update %s ...`",
                    cmd, code, code);
            goto out_v;
        }
        if (vrc == AM_ENOTFOUND && update) {
            check_known(n.store, RELIEF_OBJ_ITEM, code, cmd);
            goto out_v;
        }
        if (vrc == AM_OK) {
            struct relief_node_item iv;
            if (relief_node_item_parse(v, vl, &iv) != AM_OK ||
                (name && add_sup(&iv.name, sup, &nsup)) ||
                (unit && add_sup(&iv.unit, sup, &nsup)) ||
                (catin && add_sup(&iv.cat, sup, &nsup))) {
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
        if (write_op(&n, cmd, &op, 0, NULL))
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
        json_reg_text(sr->f, "name", &iv.name);
        json_reg_text(sr->f, "unit", &iv.unit);
        json_reg_text(sr->f, "category", &iv.cat);
        fprintf(sr->f, ",\"conflict\":%s}", cf ? "true" : "false");
        sr->first = 0;
        return 0;
    }
    cols(sr->f, iv.code, 20);
    fputc(' ', sr->f);
    if (iv.unit.n_heads)
        col(sr->f, iv.unit.s, iv.unit.len, 12, 0);
    else
        cols(sr->f, "-", 12);
    fputc(' ', sr->f);
    if (iv.cat.n_heads)
        col(sr->f, iv.cat.s, iv.cat.len, 12, 0);
    else
        cols(sr->f, "-", 12);
    fputc(' ', sr->f);
    if (iv.name.n_heads)
        col_end(sr->f, iv.name.s, iv.name.len, 31, cf ? " !" : "");
    else
        col_end(sr->f, "-", 1, 31, cf ? " !" : "");
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

/* ---- need -------------------------------------------------------------------------------- */

static const char need_help[] =
    "usage: aidmesh need add --site S --item I --qty N [--priority P] [--note TEXT]\n"
    "                        [--by DATE] [--force]\n"
    "       aidmesh need list [--site S] [--status open|fulfilled|cancelled|all]\n"
    "                         [--priority P] [--json]\n"
    "       aidmesh need show ID [--json]\n"
    "       aidmesh need update ID [--qty N] [--priority P] [--note TEXT] [--by DATE|none]\n"
    "       aidmesh need deliver ID --qty N [--note TEXT]\n"
    "       aidmesh need close ID --reason fulfilled|cancelled [--note TEXT]\n"
    "\n"
    "A need is N base units of an item wanted at a site. It is fulfilled by itself once\n"
    "deliveries reach its quantity, or closed by hand. ID is the id `need list` shows (a\n"
    "unique prefix of at least 4 hex digits is enough).\n"
    "\n"
    "  --priority P  critical, high, normal (default) or low; lists show critical first\n"
    "  --by DATE     needed by this date (YYYY-MM-DD); `--by none` clears it\n"
    "  --status S    which needs to list (default open)\n"
    "  --force       write even if the site or item is not defined on this node yet\n";

static int need_add(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"site", required_argument, NULL, OPT_SITE},
                                         {"item", required_argument, NULL, OPT_ITEM},
                                         {"qty", required_argument, NULL, OPT_QTY},
                                         {"priority", required_argument, NULL, OPT_PRI},
                                         {"note", required_argument, NULL, OPT_NOTE},
                                         {"by", required_argument, NULL, OPT_BY},
                                         {"force", no_argument, NULL, OPT_FORCE},
                                         {0, 0, 0, 0}};
    const char *cmd = "need add";
    char site[RELIEF_SLUG_MAX + 1] = "", item[RELIEF_SLUG_MAX + 1] = "";
    struct relief_op op;
    uint8_t hash[AM_HASH_LEN], id[RELIEF_ID_LEN];
    char hex[33];
    int opt, force = 0, have_q = 0, rc;
    struct node n;

    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_OPEN;
    op.pri = RELIEF_PRI_NORMAL;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(need_help, stdout);
            return 0;
        }
        if (k)
            continue;
        switch (opt) {
        case OPT_SITE:
            if (arg_site(cmd, optarg, site))
                return 2;
            break;
        case OPT_ITEM:
            if (arg_item(cmd, optarg, item))
                return 2;
            break;
        case OPT_QTY:
            if (arg_qty(cmd, optarg, 0, &op.q))
                return 2;
            have_q = 1;
            break;
        case OPT_PRI:
            if (arg_enum(cmd, "--priority", optarg, relief_priority_name, 4, &op.pri))
                return 2;
            break;
        case OPT_NOTE:
            op.note = rstr(optarg);
            HAS(&op, NOTE);
            break;
        case OPT_BY:
            if (arg_day(cmd, "--by", optarg, &op.by))
                return 2;
            HAS(&op, BY);
            break;
        case OPT_FORCE:
            force = 1;
            break;
        default:
            return cli_bad_option(cmd, argv);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!site[0] || !item[0] || !have_q)
        return cli_usage(cmd, "--site, --item and --qty are required");
    op.site = rstr(site);
    op.item = rstr(item);
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!force && (!check_known(n.store, RELIEF_OBJ_SITE, site, cmd) ||
                   !check_known(n.store, RELIEF_OBJ_ITEM, item, cmd))) {
        node_close(&n);
        return 1;
    }
    rc = write_op(&n, cmd, &op, force, hash);
    if (rc == 0) {
        relief_need_id(hash, id);
        relief_id_hex(id, hex);
        if (c->json) {
            printf("{\"ok\":true,\"id\":\"%s\"}\n", hex);
        } else {
            printf("opened need %.*s: %lld %s at %s, %s\n", (int)store_need_digits(n.store, id),
                   hex, (long long)op.q, item, site, relief_priority_name(op.pri));
        }
    }
    node_close(&n);
    return rc;
}

/* One row of a need listing, kept for sorting. */
struct need_row {
    uint8_t id[RELIEF_ID_LEN];
    unsigned digits;
    int pri, status, derived, opened, conflict;
    uint32_t by;
    uint64_t open_hlc;
    int64_t q, delivered;
    char site[RELIEF_SLUG_MAX + 1], item[RELIEF_SLUG_MAX + 1];
    char *note; /* malloc'd */
};

struct need_rows {
    struct need_row *v;
    size_t n, cap;
    int pri; /* filter: 0 any */
};

static int need_collect(void *ctx, const struct store_view_row *r)
{
    struct need_rows *nr = ctx;
    struct relief_node_need nv;
    struct need_row *w;
    if (relief_node_need_parse(r->view, r->view_len, &nv) != AM_OK)
        return AM_ECORRUPT;
    if (nr->pri && (!nv.pri.n_heads || nv.pri.i != nr->pri))
        return 0;
    if (AM_GROW(nr->v, nr->cap, nr->n + 1, 64) != AM_OK)
        return AM_ENOMEM;
    w = &nr->v[nr->n];
    memset(w, 0, sizeof *w);
    memcpy(w->id, nv.id, RELIEF_ID_LEN);
    w->digits = r->id_digits ? r->id_digits : RELIEF_ID_SHORT_MIN;
    w->pri = nv.pri.n_heads ? (int)nv.pri.i : 0;
    w->status = nv.status;
    w->derived = nv.derived;
    w->opened = nv.opened;
    w->conflict = relief_node_need_conflict(&nv);
    w->by = nv.by.n_heads && nv.by.set ? (uint32_t)nv.by.i : 0;
    w->open_hlc = nv.open_hlc;
    w->q = nv.q.n_heads ? nv.q.i : 0;
    w->delivered = nv.delivered;
    strcpy(w->site, nv.site);
    strcpy(w->item, nv.item);
    if (nv.note.n_heads && nv.note.len) {
        w->note = malloc(nv.note.len + 1);
        if (!w->note)
            return AM_ENOMEM;
        memcpy(w->note, nv.note.s, nv.note.len);
        w->note[nv.note.len] = 0;
    }
    nr->n++;
    return 0;
}

/* Critical first; then needed-by (soonest first, none last); then oldest first. */
static int need_row_cmp(const void *a, const void *b)
{
    const struct need_row *x = a, *y = b;
    int px = x->pri ? x->pri : 9, py = y->pri ? y->pri : 9;
    uint32_t bx = x->by ? x->by : UINT32_MAX, by = y->by ? y->by : UINT32_MAX;
    if (px != py)
        return px < py ? -1 : 1;
    if (bx != by)
        return bx < by ? -1 : 1;
    if (x->open_hlc != y->open_hlc)
        return x->open_hlc < y->open_hlc ? -1 : 1;
    return memcmp(x->id, y->id, RELIEF_ID_LEN);
}

static void need_rows_free(struct need_rows *nr)
{
    for (size_t i = 0; i < nr->n; i++)
        free(nr->v[i].note);
    free(nr->v);
}

static const char *status_text(const struct need_row *w)
{
    return relief_status_name(w->status);
}

int cli_relief_need_list(struct store *s, FILE *f, const char *site, int status, int pri, int json)
{
    struct need_rows nr = {0};
    int rc, conflicts = 0, unopened = 0, w_site = CODE_COL_MIN, w_item = CODE_COL_MIN;

    nr.pri = pri;
    rc = store_needs_each(s, site, status, need_collect, &nr);
    if (rc != AM_OK) {
        need_rows_free(&nr);
        return rc;
    }
    if (nr.n)
        qsort(nr.v, nr.n, sizeof *nr.v, need_row_cmp);
    for (size_t i = 0; i < nr.n; i++)
        if (nr.v[i].opened) {
            w_site = code_width(w_site, nr.v[i].site);
            w_item = code_width(w_item, nr.v[i].item);
        }
    if (json)
        fputc('[', f);
    else if (nr.n)
        fprintf(f, "%-8s %-8s %-*s %-*s %13s %-10s %s\n", "ID", "PRIORITY", w_site, "SITE", w_item,
                "ITEM", "DELIVERED/QTY", "STATUS", "NEEDED BY");
    for (size_t i = 0; i < nr.n; i++) {
        const struct need_row *w = &nr.v[i];
        char hex[33], by[11], dq[48];
        relief_id_hex(w->id, hex);
        fmt_day(w->by, by);
        if (json) {
            fprintf(f, "%s{\"id\":\"%s\",\"short\":\"%.*s\",\"site\":", i ? "," : "", hex,
                    (int)w->digits, hex);
            if (w->opened)
                fprintf(f, "\"%s\",\"item\":\"%s\"", w->site, w->item);
            else
                fputs("null,\"item\":null", f);
            fprintf(f, ",\"qty\":%lld,\"delivered\":%lld,\"priority\":", (long long)w->q,
                    (long long)w->delivered);
            if (w->pri)
                fprintf(f, "\"%s\"", relief_priority_name(w->pri));
            else
                fputs("null", f);
            fprintf(f, ",\"status\":\"%s\",\"derived\":%s,\"needed_by\":", status_text(w),
                    w->derived ? "true" : "false");
            if (w->by)
                fprintf(f, "\"%s\"", by);
            else
                fputs("null", f);
            fputs(",\"note\":", f);
            if (w->note)
                out_json_str(f, w->note, strlen(w->note));
            else
                fputs("\"\"", f);
            fprintf(f, ",\"opened\":%s,\"conflict\":%s}", w->opened ? "true" : "false",
                    w->conflict ? "true" : "false");
            continue;
        }
        fprintf(f, "%-8.*s ", (int)w->digits, hex);
        cols(f, w->pri ? relief_priority_name(w->pri) : "-", 8);
        fputc(' ', f);
        cols(f, w->opened ? w->site : "?", w_site);
        fputc(' ', f);
        cols(f, w->opened ? w->item : "?", w_item);
        snprintf(dq, sizeof dq, "%lld/%lld", (long long)w->delivered, (long long)w->q);
        fputc(' ', f);
        col(f, dq, strlen(dq), 13, 1);
        fputc(' ', f);
        {
            char st[16];
            snprintf(st, sizeof st, "%s%s", status_text(w), w->conflict ? "!" : "");
            cols(f, st, 10);
        }
        fprintf(f, " %s\n", by);
        conflicts += w->conflict;
        unopened += !w->opened;
    }
    if (json) {
        fputs("]\n", f);
    } else {
        char cnt[32];
        out_count(cnt, nr.n);
        if (nr.n == 0)
            fprintf(f, "no %s%sneeds%s%s\n", status ? relief_status_name(status) : "",
                    status ? " " : "", site ? " at " : "", site ? site : "");
        else
            fprintf(f, "%s %s%sneed%s%s%s, critical first\n", cnt,
                    status ? relief_status_name(status) : "", status ? " " : "",
                    nr.n == 1 ? "" : "s", site ? " at " : "", site ? site : "");
        if (conflicts)
            fprintf(f, "! concurrent edits from two nodes: `aidmesh need show ID` shows both\n");
        if (unopened)
            fprintf(f, "? the need.open of %d need%s has not reached this node yet\n", unopened,
                    unopened == 1 ? "" : "s");
    }
    need_rows_free(&nr);
    return AM_OK;
}

static int need_list(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"site", required_argument, NULL, OPT_SITE},
                                         {"status", required_argument, NULL, OPT_STATUS},
                                         {"priority", required_argument, NULL, OPT_PRI},
                                         {0, 0, 0, 0}};
    const char *cmd = "need list";
    char site[RELIEF_SLUG_MAX + 1] = "";
    int status = RELIEF_ST_OPEN, pri = 0, opt, rc;
    struct node n;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(need_help, stdout);
            return 0;
        }
        if (k)
            continue;
        switch (opt) {
        case OPT_SITE:
            if (arg_site(cmd, optarg, site))
                return 2;
            break;
        case OPT_STATUS:
            if (!strcmp(optarg, "all"))
                status = 0;
            else if (arg_enum(cmd, "--status", optarg, relief_status_name, 3, &status))
                return 2;
            break;
        case OPT_PRI:
            if (arg_enum(cmd, "--priority", optarg, relief_priority_name, 4, &pri))
                return 2;
            break;
        default:
            return cli_bad_option(cmd, argv);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (cli_open(c, &n, NULL))
        return 1;
    if (site[0] && !known_quiet(n.store, RELIEF_OBJ_SITE, site) &&
        !has_rows(n.store, site, NULL, 1)) {
        check_known(n.store, RELIEF_OBJ_SITE, site, cmd); /* says what to type */
        node_close(&n);
        return 1;
    }
    rc = cli_relief_need_list(n.store, stdout, site[0] ? site : NULL, status, pri, c->json);
    node_close(&n);
    if (rc != AM_OK) {
        cli_err("%s: cannot read the views: %s%s", cmd, am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
        return 1;
    }
    return 0;
}

/* Loads and parses the need `id`; prints the sentence on failure. v is the caller's. */
static int load_need(struct store *s, const char *cmd, const uint8_t id[RELIEF_ID_LEN], uint8_t **v,
                     struct relief_node_need *nv)
{
    struct relief_key k = {.kind = RELIEF_OBJ_NEED};
    size_t vl;
    int rc;
    memcpy(k.need, id, RELIEF_ID_LEN);
    rc = relief_node_view(s, &k, v, &vl);
    if (rc != AM_OK) {
        cli_err("%s: cannot read the need: %s", cmd, am_strerror(rc));
        return -1;
    }
    if (relief_node_need_parse(*v, vl, nv) != AM_OK) {
        cli_err("%s: the stored view of this need is damaged: run `aidmesh reindex`", cmd);
        return -1;
    }
    return 0;
}

static void print_reg_heads(const char *label, const struct relief_node_reg *r, int field)
{
    struct relief_ref refs[RELIEF_REFS_MAX];
    uint32_t n = 0;
    if (!r->conflict)
        return;
    relief_node_reg_refs(r, refs, RELIEF_REFS_MAX, &n);
    printf("  conflict:   %s was changed on %u nodes at once; shown: the latest. Writes:", label,
           r->n_heads);
    for (uint32_t i = 0; i < n; i++) {
        char a[65];
        entry_id_hex(refs[i].author, a);
        printf(" %.8s#%llu", a, (unsigned long long)refs[i].seq);
    }
    printf("\n              (a new `aidmesh need update` settles it)\n");
    (void)field;
}

static int need_show(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    const char *cmd = "need show";
    uint8_t id[RELIEF_ID_LEN], *v = NULL;
    struct relief_node_need nv;
    struct node n;
    char hex[33], by[11], when[32], author[65];
    int opt, rc = 1;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(need_help, stdout);
            return 0;
        }
        if (!k)
            return cli_bad_option(cmd, argv);
    }
    if (optind != argc - 1)
        return cli_usage(cmd, "give one need ID");
    if (cli_open(c, &n, NULL))
        return 1;
    if (find_need(n.store, cmd, argv[optind], id) || load_need(n.store, cmd, id, &v, &nv))
        goto out;
    relief_id_hex(id, hex);
    fmt_day(nv.by.n_heads && nv.by.set ? (uint32_t)nv.by.i : 0, by);
    out_iso_ms(when, hlc_ms(nv.open_hlc));
    entry_id_hex(nv.open_ref.author, author);
    if (c->json) {
        printf("{\"id\":\"%s\",\"opened\":%s", hex, nv.opened ? "true" : "false");
        if (nv.opened)
            printf(",\"site\":\"%s\",\"item\":\"%s\",\"opened_at\":\"%s\",\"opened_by\":\"%s\","
                   "\"opened_seq\":%llu",
                   nv.site, nv.item, when, author, (unsigned long long)nv.open_ref.seq);
        printf(",\"qty\":%lld,\"delivered\":%lld,\"deliveries\":%u,\"priority\":",
               (long long)(nv.q.n_heads ? nv.q.i : 0), (long long)nv.delivered, nv.n_deliveries);
        if (nv.pri.n_heads)
            printf("\"%s\"", relief_priority_name((int)nv.pri.i));
        else
            printf("null");
        printf(",\"status\":\"%s\",\"derived\":%s,\"needed_by\":", relief_status_name(nv.status),
               nv.derived ? "true" : "false");
        if (by[0] != '-')
            printf("\"%s\"", by);
        else
            printf("null");
        json_reg_text(stdout, "note", &nv.note);
        printf(",\"conflicts\":[");
        {
            const struct relief_node_reg *regs[] = {&nv.q, &nv.pri, &nv.note, &nv.by, &nv.st};
            const char *names[] = {"qty", "priority", "note", "needed_by", "status"};
            int first = 1;
            for (int i = 0; i < 5; i++)
                if (regs[i]->conflict) {
                    printf("%s\"%s\"", first ? "" : ",", names[i]);
                    first = 0;
                }
        }
        printf("],\"saturated\":%s}\n", nv.saturated ? "true" : "false");
        rc = 0;
        goto out;
    }
    printf("need %s\n", hex);
    if (nv.opened) {
        printf("  site:       %s\n  item:       %s\n", nv.site, nv.item);
    } else {
        printf("  site, item: not known here yet (the entry that opened this need has not\n"
               "              reached this node; it will show once it arrives)\n");
    }
    printf("  quantity:   %lld (delivered %lld in %u deliver%s%s)\n",
           (long long)(nv.q.n_heads ? nv.q.i : 0), (long long)nv.delivered, nv.n_deliveries,
           nv.n_deliveries == 1 ? "y" : "ies", nv.saturated ? "; the sum is capped" : "");
    printf("  priority:   %s\n", nv.pri.n_heads ? relief_priority_name((int)nv.pri.i) : "-");
    printf("  status:     %s%s\n", relief_status_name(nv.status),
           nv.derived ? " (deliveries reached the quantity)" : "");
    printf("  needed by:  %s\n", by);
    if (nv.note.n_heads && nv.note.len) {
        fputs("  note:       ", stdout);
        out_text(stdout, nv.note.s, nv.note.len, OUT_TEXT_LINES, "              ");
        fputc('\n', stdout);
    }
    if (nv.opened)
        printf("  opened:     %s by %.16s (entry %llu)\n", when, author,
               (unsigned long long)nv.open_ref.seq);
    print_reg_heads("the quantity", &nv.q, RELIEF_F_Q);
    print_reg_heads("the priority", &nv.pri, RELIEF_F_PRI);
    print_reg_heads("the note", &nv.note, RELIEF_F_NOTE);
    print_reg_heads("the needed-by date", &nv.by, RELIEF_F_BY);
    print_reg_heads("the status", &nv.st, RELIEF_F_ST);
    rc = 0;
out:
    free(v);
    node_close(&n);
    return rc;
}

/* need update / deliver / close */
static int need_change(struct cli *c, int argc, char **argv, int type)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"qty", required_argument, NULL, OPT_QTY},
                                         {"priority", required_argument, NULL, OPT_PRI},
                                         {"note", required_argument, NULL, OPT_NOTE},
                                         {"by", required_argument, NULL, OPT_BY},
                                         {"reason", required_argument, NULL, OPT_REASON},
                                         {"force", no_argument, NULL, OPT_FORCE},
                                         {0, 0, 0, 0}};
    const char *cmd = type == RELIEF_T_NEED_UPD   ? "need update"
                      : type == RELIEF_T_NEED_DLV ? "need deliver"
                                                  : "need close";
    struct relief_op op;
    struct relief_node_need nv;
    struct relief_ref sup[RELIEF_REFS_MAX];
    uint32_t nsup = 0;
    uint8_t id[RELIEF_ID_LEN], *v = NULL;
    char hex[33];
    int opt, rc = 1, force = 0, digits;
    struct node n;

    memset(&op, 0, sizeof op);
    op.type = type;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(need_help, stdout);
            return 0;
        }
        if (k)
            continue;
        switch (opt) {
        case OPT_QTY:
            if (type == RELIEF_T_NEED_CLOSE)
                return cli_usage(cmd,
                                 "--qty is not for close (record deliveries with `need deliver`)");
            if (arg_qty(cmd, optarg, 0, &op.q))
                return 2;
            HAS(&op, Q);
            break;
        case OPT_PRI:
            if (type != RELIEF_T_NEED_UPD)
                return cli_usage(cmd, "--priority belongs to `need update`");
            if (arg_enum(cmd, "--priority", optarg, relief_priority_name, 4, &op.pri))
                return 2;
            HAS(&op, PRI);
            break;
        case OPT_NOTE:
            op.note = rstr(optarg);
            HAS(&op, NOTE);
            break;
        case OPT_BY:
            if (type != RELIEF_T_NEED_UPD)
                return cli_usage(cmd, "--by belongs to `need update`");
            if (strcmp(optarg, "none") && arg_day(cmd, "--by", optarg, &op.by))
                return 2;
            HAS(&op, BY);
            break;
        case OPT_REASON:
            if (type != RELIEF_T_NEED_CLOSE)
                return cli_usage(cmd, "--reason belongs to `need close`");
            if (!strcmp(optarg, "open"))
                return cli_usage(cmd, "--reason takes fulfilled or cancelled (a need is reopened "
                                      "by opening a new one)");
            if (arg_enum(cmd, "--reason", optarg, relief_status_name, 3, &op.st))
                return 2;
            HAS(&op, ST);
            break;
        case OPT_FORCE:
            force = 1;
            break;
        default:
            return cli_bad_option(cmd, argv);
        }
    }
    if (optind != argc - 1)
        return cli_usage(cmd, "give one need ID (see `aidmesh need list`)");
    if (type == RELIEF_T_NEED_DLV && !(op.has & RELIEF_HAS(RELIEF_K_Q)))
        return cli_usage(cmd, "--qty is required: how many base units were delivered");
    if (type == RELIEF_T_NEED_DLV && op.q == 0)
        return cli_usage(cmd, "--qty must be 1 or more");
    if (type == RELIEF_T_NEED_UPD && op.q == 0 && (op.has & RELIEF_HAS(RELIEF_K_Q)))
        return cli_usage(cmd, "--qty must be 1 or more (to cancel a need: `need close ID --reason "
                              "cancelled`)");
    if (type == RELIEF_T_NEED_CLOSE && !(op.has & RELIEF_HAS(RELIEF_K_ST)))
        return cli_usage(cmd, "--reason fulfilled or --reason cancelled is required");
    if (type == RELIEF_T_NEED_UPD && !(op.has & ~RELIEF_HAS(RELIEF_K_T)))
        return cli_usage(cmd, "nothing to change: give --qty, --priority, --note or --by");
    if (cli_open(c, &n, NULL))
        return 1;
    if (find_need(n.store, cmd, argv[optind], id) || load_need(n.store, cmd, id, &v, &nv))
        goto out;
    if (!nv.opened && !force) {
        relief_id_hex(id, hex);
        cli_err("%s: need %.12s has not been opened on this node yet (its need.open is on its "
                "way?); wait for a sync, or pass --force",
                cmd, hex);
        goto out;
    }
    memcpy(op.need, id, RELIEF_ID_LEN);
    HAS(&op, NEED);
    if (type != RELIEF_T_NEED_DLV) {
        int bad = 0;
        if (op.has & RELIEF_HAS(RELIEF_K_Q) && type == RELIEF_T_NEED_UPD)
            bad |= add_sup(&nv.q, sup, &nsup);
        if (op.has & RELIEF_HAS(RELIEF_K_PRI))
            bad |= add_sup(&nv.pri, sup, &nsup);
        if (op.has & RELIEF_HAS(RELIEF_K_NOTE))
            bad |= add_sup(&nv.note, sup, &nsup);
        if (op.has & RELIEF_HAS(RELIEF_K_BY))
            bad |= add_sup(&nv.by, sup, &nsup);
        if (op.has & RELIEF_HAS(RELIEF_K_ST))
            bad |= add_sup(&nv.st, sup, &nsup);
        if (bad) {
            cli_err("%s: too many concurrent heads to name; run `aidmesh reindex` if the store "
                    "is damaged",
                    cmd);
            goto out;
        }
        relief_refs_sort(sup, &nsup);
        if (nsup) {
            op.sup.n = nsup;
            op.sup.arr = sup;
            HAS(&op, SUP);
        }
    }
    if (write_op(&n, cmd, &op, 1, NULL)) /* the need was found above */
        goto out;
    relief_id_hex(id, hex);
    digits = (int)store_need_digits(n.store, id);
    free(v);
    v = NULL;
    if (load_need(n.store, cmd, id, &v, &nv))
        goto out;
    if (c->json) {
        printf("{\"ok\":true,\"id\":\"%s\",\"status\":\"%s\",\"qty\":%lld,\"delivered\":%lld}\n",
               hex, relief_status_name(nv.status), (long long)(nv.q.n_heads ? nv.q.i : 0),
               (long long)nv.delivered);
    } else if (type == RELIEF_T_NEED_DLV) {
        printf("need %.*s: delivered %lld; %lld of %lld now, %s%s\n", digits, hex, (long long)op.q,
               (long long)nv.delivered, (long long)(nv.q.n_heads ? nv.q.i : 0),
               relief_status_name(nv.status),
               nv.status == RELIEF_ST_CANCELLED ? " (the need was cancelled; the delivery is "
                                                  "recorded anyway)"
                                                : "");
    } else {
        printf("need %.*s: %s (status %s)\n", digits, hex,
               type == RELIEF_T_NEED_UPD ? "updated" : "closed", relief_status_name(nv.status));
    }
    rc = 0;
out:
    free(v);
    node_close(&n);
    return rc;
}

int cli_cmd_need(struct cli *c, int argc, char **argv)
{
    if (cli_subcommand_help(argc, argv, need_help))
        return argc < 2 ? 2 : 0;
    optind = 1;
    if (!strcmp(argv[1], "add"))
        return need_add(c, argc - 1, argv + 1);
    if (!strcmp(argv[1], "list"))
        return need_list(c, argc - 1, argv + 1);
    if (!strcmp(argv[1], "show"))
        return need_show(c, argc - 1, argv + 1);
    if (!strcmp(argv[1], "update"))
        return need_change(c, argc - 1, argv + 1, RELIEF_T_NEED_UPD);
    if (!strcmp(argv[1], "deliver"))
        return need_change(c, argc - 1, argv + 1, RELIEF_T_NEED_DLV);
    if (!strcmp(argv[1], "close"))
        return need_change(c, argc - 1, argv + 1, RELIEF_T_NEED_CLOSE);
    return cli_usage("need", "unknown subcommand '%s': add, list, show, update, deliver or close",
                     argv[1]);
}

/* ---- stock ------------------------------------------------------------------------------- */

static const char stock_help[] =
    "usage: aidmesh stock receive --site S --item I --qty N [--lot L --expiry DATE]\n"
    "                             [--reason received|transfer-in|found] [--note TEXT]\n"
    "       aidmesh stock issue   --site S --item I --qty N [--lot L --expiry DATE]\n"
    "                             [--reason issued|transfer-out|expired|lost|damaged]\n"
    "       aidmesh stock adjust  --site S --item I --qty N --reason R [--lot L ...]\n"
    "       aidmesh stock count   --site S --item I --qty N [--lot L --expiry DATE]\n"
    "       aidmesh stock show    [--site S] [--item I] [--json]\n"
    "\n"
    "Stock is kept per site, item, lot and expiry date. receive and issue record movements\n"
    "(N is always positive; the reason gives the direction), adjust records a movement\n"
    "with any reason, and count records a physical stock-take: the counted quantity\n"
    "replaces what this node had seen, and movements recorded elsewhere meanwhile are\n"
    "added on top. `stock show` flags overdrawn cells, conflicting counts, expired and\n"
    "expiring lots (within 30 days), and movements to check against a count.\n";

static int stock_move(struct cli *c, int argc, char **argv, const char *sub)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"site", required_argument, NULL, OPT_SITE},
                                         {"item", required_argument, NULL, OPT_ITEM},
                                         {"qty", required_argument, NULL, OPT_QTY},
                                         {"lot", required_argument, NULL, OPT_LOT},
                                         {"expiry", required_argument, NULL, OPT_EXPIRY},
                                         {"reason", required_argument, NULL, OPT_REASON},
                                         {"note", required_argument, NULL, OPT_NOTE},
                                         {"force", no_argument, NULL, OPT_FORCE},
                                         {0, 0, 0, 0}};
    char cmd[32], site[RELIEF_SLUG_MAX + 1] = "", item[RELIEF_SLUG_MAX + 1] = "";
    int is_count = !strcmp(sub, "count"), opt, rc = 1, force = 0, have_q = 0, reason = 0;
    struct relief_op op;
    struct relief_ref ctx[RELIEF_REFS_MAX];
    struct node n;

    snprintf(cmd, sizeof cmd, "stock %s", sub);
    memset(&op, 0, sizeof op);
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(stock_help, stdout);
            return 0;
        }
        if (k)
            continue;
        switch (opt) {
        case OPT_SITE:
            if (arg_site(cmd, optarg, site))
                return 2;
            break;
        case OPT_ITEM:
            if (arg_item(cmd, optarg, item))
                return 2;
            break;
        case OPT_QTY:
            if (arg_qty(cmd, optarg, is_count, &op.q))
                return 2;
            have_q = 1;
            break;
        case OPT_LOT:
            if (arg_lot(cmd, optarg))
                return 2;
            op.lot = rstr(optarg);
            HAS(&op, LOT);
            break;
        case OPT_EXPIRY:
            if (arg_day(cmd, "--expiry", optarg, &op.exp))
                return 2;
            HAS(&op, EXP);
            break;
        case OPT_REASON:
            if (is_count)
                return cli_usage(cmd, "a count has no --reason: it records what is there");
            if (arg_enum(cmd, "--reason", optarg, relief_reason_name, 8, &reason))
                return 2;
            break;
        case OPT_NOTE:
            op.note = rstr(optarg);
            HAS(&op, NOTE);
            break;
        case OPT_FORCE:
            force = 1;
            break;
        default:
            return cli_bad_option(cmd, argv);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!site[0] || !item[0] || !have_q)
        return cli_usage(cmd, "--site, --item and --qty are required");
    if (!is_count) {
        if (!strcmp(sub, "receive")) {
            if (!reason)
                reason = RELIEF_R_RECEIVED;
            else if (relief_reason_sign(reason) < 0)
                return cli_usage(cmd, "--reason %s takes stock out: use `aidmesh stock issue`",
                                 relief_reason_name(reason));
        } else if (!strcmp(sub, "issue")) {
            if (!reason)
                reason = RELIEF_R_ISSUED;
            else if (relief_reason_sign(reason) > 0)
                return cli_usage(cmd, "--reason %s brings stock in: use `aidmesh stock receive`",
                                 relief_reason_name(reason));
        } else if (!reason) {
            return cli_usage(cmd, "--reason is required: received, issued, transfer-in, "
                                  "transfer-out, expired, lost, found or damaged (to correct the "
                                  "quantity, record a count)");
        }
        op.type = RELIEF_T_STOCK_MOVE;
        op.reason = reason;
        HAS(&op, R);
    } else {
        op.type = RELIEF_T_STOCK_COUNT;
        HAS(&op, CTX);
    }
    op.site = rstr(site);
    op.item = rstr(item);
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!force && (!check_known(n.store, RELIEF_OBJ_SITE, site, cmd) ||
                   !check_known(n.store, RELIEF_OBJ_ITEM, item, cmd)))
        goto out;
    {
        struct relief_key key;
        struct relief_node_cell cv;
        uint8_t *v = NULL;
        size_t vl;
        char lot[80] = "";
        memset(&key, 0, sizeof key);
        key.kind = RELIEF_OBJ_CELL;
        strcpy(key.site, site);
        strcpy(key.item, item);
        if (op.has & RELIEF_HAS(RELIEF_K_LOT))
            snprintf(key.lot, sizeof key.lot, "%.*s", (int)op.lot.len, op.lot.p);
        key.exp = op.exp;
        if (is_count) {
            uint32_t nc = 0;
            int crc = relief_node_ctx(n.store, &key, n.pk, ctx, RELIEF_REFS_MAX, &nc);
            if (crc != AM_OK) {
                cli_err("%s: cannot build the count's context: %s", cmd, am_strerror(crc));
                goto out;
            }
            op.ctx.n = nc;
            op.ctx.arr = ctx;
        }
        if (write_op(&n, cmd, &op, force, NULL))
            goto out;
        if (key.lot[0] || key.exp) {
            char d[11];
            fmt_day(key.exp, d);
            snprintf(lot, sizeof lot, " (lot %s, expires %s)", key.lot[0] ? key.lot : "-", d);
        }
        if (relief_node_view(n.store, &key, &v, &vl) != AM_OK ||
            relief_node_cell_parse(v, vl, &cv) != AM_OK) {
            free(v);
            cli_err("%s: written, but the stock view cannot be read: run `aidmesh reindex`", cmd);
            goto out;
        }
        if (c->json) {
            printf("{\"ok\":true,\"site\":\"%s\",\"item\":\"%s\",\"stock\":%lld,\"overdrawn\":%s,"
                   "\"count_conflict\":%s}\n",
                   site, item, (long long)cv.value, cv.overdrawn ? "true" : "false",
                   cv.count_conflict ? "true" : "false");
        } else {
            if (is_count)
                printf("counted %lld %s at %s%s", (long long)op.q, item, site, lot);
            else
                printf("%s %lld %s at %s%s", relief_reason_name(reason), (long long)op.q, item,
                       site, lot);
            printf(": stock now %lld%s\n", (long long)cv.value,
                   cv.overdrawn ? " — OVERDRAWN: more was issued than this node knows was there"
                                : "");
            if (cv.count_conflict)
                printf("note: two counts were taken without seeing each other; `aidmesh stock "
                       "show --site %s --item %s` shows them. Count again to settle it.\n",
                       site, item);
        }
        free(v);
    }
    rc = 0;
out:
    node_close(&n);
    return rc;
}

struct cell_rows {
    FILE *f;
    int json;
    uint32_t today;
    uint64_t n, overdrawn, conflicts, expired, expiring, audits;
    int w_site, w_item; /* column widths: the longest code listed, so none is cut */
};

static int cell_widths(void *ctx, const struct store_view_row *r)
{
    struct cell_rows *cr = ctx;
    struct relief_node_cell cv;
    if (relief_node_cell_parse(r->view, r->view_len, &cv) == AM_OK) {
        cr->w_site = code_width(cr->w_site, cv.site);
        cr->w_item = code_width(cr->w_item, cv.item);
    }
    return 0;
}

static int cell_row(void *ctx, const struct store_view_row *r)
{
    struct cell_rows *cr = ctx;
    struct relief_node_cell cv;
    char exp[11], flags[96] = "", num[32];
    int expired, expiring;

    if (relief_node_cell_parse(r->view, r->view_len, &cv) != AM_OK)
        return AM_ECORRUPT;
    expired = cv.exp && cv.exp <= cr->today;
    expiring = cv.exp && !expired && cv.exp <= cr->today + EXPIRING_DAYS;
    fmt_day(cv.exp, exp);
    if (cr->json) {
        fprintf(cr->f, "%s{\"site\":\"%s\",\"item\":\"%s\",\"lot\":", cr->n ? "," : "", cv.site,
                cv.item);
        if (cv.lot[0])
            fprintf(cr->f, "\"%s\"", cv.lot);
        else
            fputs("null", cr->f);
        fputs(",\"expiry\":", cr->f);
        if (cv.exp)
            fprintf(cr->f, "\"%s\"", exp);
        else
            fputs("null", cr->f);
        fprintf(cr->f,
                ",\"stock\":%lld,\"overdrawn\":%s,\"count_conflict\":%s,\"expired\":%s,"
                "\"expiring\":%s,\"moves\":%u,\"counts\":%u,\"to_check\":%u,\"saturated\":%s",
                (long long)cv.value, cv.overdrawn ? "true" : "false",
                cv.count_conflict ? "true" : "false", expired ? "true" : "false",
                expiring ? "true" : "false", cv.n_moves, cv.n_counts, cv.n_audit,
                cv.saturated ? "true" : "false");
        if (cv.has_winner)
            fprintf(cr->f, ",\"counted\":%lld,\"since_count\":%lld", (long long)cv.winner.q,
                    (long long)cv.after);
        fputs("}", cr->f);
        cr->n++;
        return 0;
    }
    cr->n++;
    if (cv.overdrawn) {
        strcat(flags, "OVERDRAWN ");
        cr->overdrawn++;
    }
    if (cv.count_conflict) {
        snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "%u-counts ",
                 cv.n_maximal + 1);
        cr->conflicts++;
    }
    if (expired) {
        strcat(flags, "EXPIRED ");
        cr->expired++;
    } else if (expiring) {
        snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "exp-%ud ",
                 cv.exp - cr->today);
        cr->expiring++;
    }
    if (cv.n_audit) {
        snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "check-%u ", cv.n_audit);
        cr->audits++;
    }
    if (cv.saturated)
        strcat(flags, "capped ");
    cols(cr->f, cv.site, cr->w_site);
    fputc(' ', cr->f);
    cols(cr->f, cv.item, cr->w_item);
    fputc(' ', cr->f);
    cols(cr->f, cv.lot[0] ? cv.lot : "-", 8);
    fputc(' ', cr->f);
    cols(cr->f, exp, 10);
    fputc(' ', cr->f);
    snprintf(num, sizeof num, "%lld", (long long)cv.value);
    if (!flags[0]) {
        fprintf(cr->f, "%9s\n", num);
        return 0;
    }
    col(cr->f, num, strlen(num), 9, 1);
    flags[strlen(flags) - 1] = 0; /* the trailing space */
    fputc(' ', cr->f);
    col_end(cr->f, flags, strlen(flags), (int)sizeof flags, ""); /* short words: never cut */
    return 0;
}

int cli_relief_stock_show(struct store *s, FILE *f, const char *site, const char *item, int json,
                          uint32_t today)
{
    struct cell_rows cr = {f, json, today, 0, 0, 0, 0, 0, 0, CODE_COL_MIN, CODE_COL_MIN};
    int rc;
    if (json) {
        fputc('[', f);
    } else {
        if ((rc = store_cells_each(s, site, item, cell_widths, &cr)) != AM_OK)
            return rc;
        fprintf(f, "%-*s %-*s %-8s %-10s %9s %s\n", cr.w_site, "SITE", cr.w_item, "ITEM", "LOT",
                "EXPIRES", "STOCK", "FLAGS");
    }
    rc = store_cells_each(s, site, item, cell_row, &cr);
    if (rc != AM_OK)
        return rc;
    if (json) {
        fputs("]\n", f);
        return AM_OK;
    }
    if (!cr.n) {
        fprintf(f, "no stock recorded%s%s%s%s\n", site ? " at " : "", site ? site : "",
                item ? " of " : "", item ? item : "");
        return AM_OK;
    }
    fprintf(f, "%llu cell%s\n", (unsigned long long)cr.n, cr.n == 1 ? "" : "s");
    if (cr.overdrawn)
        fprintf(f,
                "OVERDRAWN  more was issued than was known to be there (offline at 2 places?)\n");
    if (cr.conflicts)
        fprintf(f, "N-counts   counts taken without seeing each other; count again to settle\n");
    if (cr.expired)
        fprintf(f, "EXPIRED    the lot's expiry date has passed\n");
    if (cr.expiring)
        fprintf(f, "exp-Nd     the lot expires within N days\n");
    if (cr.audits)
        fprintf(f, "check-N    N moves were recorded elsewhere while a count was taken: check\n"
                   "           whether the count already included them\n");
    return AM_OK;
}

static int stock_show(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"site", required_argument, NULL, OPT_SITE},
                                         {"item", required_argument, NULL, OPT_ITEM},
                                         {0, 0, 0, 0}};
    const char *cmd = "stock show";
    char site[RELIEF_SLUG_MAX + 1] = "", item[RELIEF_SLUG_MAX + 1] = "";
    struct node n;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(stock_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt == OPT_SITE) {
            if (arg_site(cmd, optarg, site))
                return 2;
        } else if (opt == OPT_ITEM) {
            if (arg_item(cmd, optarg, item))
                return 2;
        } else {
            return cli_bad_option(cmd, argv);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (cli_open(c, &n, NULL))
        return 1;
    if (((site[0] && !known_quiet(n.store, RELIEF_OBJ_SITE, site)) ||
         (item[0] && !known_quiet(n.store, RELIEF_OBJ_ITEM, item))) &&
        !has_rows(n.store, site[0] ? site : NULL, item[0] ? item : NULL, 0)) {
        /* not defined here and nothing recorded under it: most likely a typo */
        if (site[0] && !known_quiet(n.store, RELIEF_OBJ_SITE, site))
            check_known(n.store, RELIEF_OBJ_SITE, site, cmd);
        else
            check_known(n.store, RELIEF_OBJ_ITEM, item, cmd);
        node_close(&n);
        return 1;
    }
    rc = cli_relief_stock_show(n.store, stdout, site[0] ? site : NULL, item[0] ? item : NULL,
                               c->json, today_day());
    node_close(&n);
    if (rc != AM_OK) {
        cli_err("%s: cannot read the views: %s%s", cmd, am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
        return 1;
    }
    return 0;
}

int cli_cmd_stock(struct cli *c, int argc, char **argv)
{
    if (cli_subcommand_help(argc, argv, stock_help))
        return argc < 2 ? 2 : 0;
    optind = 1;
    if (!strcmp(argv[1], "receive") || !strcmp(argv[1], "issue") || !strcmp(argv[1], "adjust") ||
        !strcmp(argv[1], "count"))
        return stock_move(c, argc - 1, argv + 1, argv[1]);
    if (!strcmp(argv[1], "show"))
        return stock_show(c, argc - 1, argv + 1);
    return cli_usage("stock", "unknown subcommand '%s': receive, issue, adjust, count or show",
                     argv[1]);
}

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
            fmt_deg(sv.ll.i, si->lat);
            fmt_deg(sv.ll.j, si->lon);
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
    if (cv.overdrawn)
        strcat(status, "overdrawn ");
    if (cv.count_conflict)
        strcat(status, "count-conflict ");
    if (cv.exp && cv.exp <= x->today)
        strcat(status, "expired ");
    else if (cv.exp && cv.exp <= x->today + EXPIRING_DAYS)
        strcat(status, "expiring ");
    if (!status[0])
        strcpy(status, "ok ");
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
    rc = cmd_export_run(n.store, stdout, !strcmp(what, "stock"), all, org, adm1, today_day());
    node_close(&n);
    if (rc != AM_OK) {
        cli_err("export: cannot read the views: %s%s", am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
        return 1;
    }
    return 0;
}

/* ---- reindex ----------------------------------------------------------------------------- */

static const char reindex_help[] =
    "usage: aidmesh reindex [--json] [--home DIR]\n"
    "\n"
    "Rebuilds every view (sites, items, needs, stock, their indexes and the view\n"
    "fingerprint) from the stored entries, in one transaction. The result is the same as\n"
    "the views kept up to date entry by entry; run it when `aidmesh verify` says the views\n"
    "are damaged. Safe while the daemon runs.\n";

int cli_cmd_reindex(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    struct store_reindex_stats rs;
    struct store_view_stats vs;
    struct node n;
    struct timespec t0, t1;
    char fp[2 * STORE_VIEW_FP_LEN + 1], e[32], o[32];
    double secs;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(reindex_help, stdout);
            return 0;
        }
        if (!k)
            return cli_bad_option("reindex", argv);
    }
    if (optind < argc)
        return cli_usage("reindex", "unexpected argument '%s'", argv[optind]);
    if (cli_open(c, &n, NULL))
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = store_reindex(n.store, &rs);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == AM_OK)
        rc = store_view_stats(n.store, &vs);
    node_close(&n);
    if (rc != AM_OK) {
        if (rc == AM_EFULL)
            cli_err("reindex: the disk is full; free some space (the old views are kept)");
        else
            cli_err("reindex: %s (the old views are kept)", am_strerror(rc));
        return 1;
    }
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    out_hex(fp, vs.fingerprint, STORE_VIEW_FP_LEN);
    if (c->json) {
        printf("{\"entries\":%llu,\"ops\":%llu,\"objects\":%llu,\"invalid_ops\":%llu,"
               "\"newer_ops\":%llu,\"undecodable\":%llu,\"seconds\":%.3f,\"view_fingerprint\":"
               "\"%s\"}\n",
               (unsigned long long)rs.entries, (unsigned long long)rs.ops,
               (unsigned long long)rs.objects, (unsigned long long)rs.invalid,
               (unsigned long long)rs.newer, (unsigned long long)rs.undecodable, secs, fp);
        return 0;
    }
    out_count(e, rs.entries);
    out_count(o, rs.objects);
    printf("rebuilt the views from %s entries in %.2f s: %s objects (%llu sites, %llu items, "
           "%llu needs, %llu stock cells)\n",
           e, secs, o, (unsigned long long)vs.sites, (unsigned long long)vs.items,
           (unsigned long long)vs.needs, (unsigned long long)vs.cells);
    if (rs.invalid)
        printf("%llu entries carry an invalid op (kept in the log, ignored by the views; "
               "`aidmesh verify` lists them)\n",
               (unsigned long long)rs.invalid);
    if (rs.newer)
        printf("%llu entries carry ops of a newer aidmesh (ignored until this node is "
               "upgraded)\n",
               (unsigned long long)rs.newer);
    printf("view fingerprint %s\n", fp);
    return 0;
}
