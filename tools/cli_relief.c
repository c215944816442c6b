/*
 * cli_relief.c: what the relief data commands of the CLI share (cli_relief_int.h): table
 * cells, dates and degrees for people, did-you-mean checks of sites and items, the
 * argument parsers that print their own sentence, and writing one op. The commands
 * themselves are cli_site.c (site, item), cli_need.c, cli_stock.c, cli_export.c and
 * cli_reindex.c (PROTOCOL.md section 10; the HXL export: section 12).
 *
 * Writing: every value is checked here first (with a sentence naming the flag and what
 * to type), then relief_node_write encodes the op (the validation of section 10),
 * checks what it refers to against this node's views, and appends it. Reading: the
 * views the store keeps, parsed by relief_node; tables fit 80 columns, --json gives one
 * JSON document. Output for people goes to stdout, errors to stderr.
 *
 * Never parses options or opens a node itself: the commands do.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_grow.h"
#include "cli.h"
#include "cli_relief_int.h"
#include "out.h"

/* ---- small helpers ---------------------------------------------------------------------- */

uint32_t cli_relief_today(void)
{
    return (uint32_t)(node_wall_ms() / 86400000ULL);
}

void cli_relief_fmt_day(uint32_t day, char out[11])
{
    if (day)
        relief_day_format(day, out);
    else
        snprintf(out, 11, "-");
}

/* micro-degrees as decimal degrees */
void cli_relief_fmt_deg(int64_t v, char out[24])
{
    uint64_t a = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
    snprintf(out, 24, "%s%llu.%06llu", v < 0 ? "-" : "", (unsigned long long)(a / 1000000),
             (unsigned long long)(a % 1000000));
}

/* A cell of a table: text cut to width w (a cut shows '~' as its last character), escaped
 * for the terminal (out_text_esc). */
void cli_relief_col(FILE *f, const char *s, size_t len, int w, int right)
{
    out_col(f, s, len, w, right, 0);
}

void cli_relief_cols(FILE *f, const char *s, int w)
{
    cli_relief_col(f, s, strlen(s), w, 0);
}

int cli_relief_code_width(int w, const char *code)
{
    int n = (int)strlen(code);
    return n > w ? n : w;
}

/* The last cell of a row: cut to w, not padded, then the rest of the line. */
void cli_relief_col_end(FILE *f, const char *s, size_t len, int w, const char *rest)
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

/* The author id of the node whose query cli_relief_query opened last (a command opens one
 * node): "has this node synced yet?" asks for entries of any other author. */
static uint8_t self_pk[AM_PK_LEN];

static int other_author(void *ctx, const struct store_head *h)
{
    (void)ctx;
    return memcmp(h->author, self_pk, AM_PK_LEN) != 0; /* 1 stops the walk */
}

/* 1 when the store holds no entry of another author: this node has not synced yet. */
static int never_synced(struct query *q)
{
    return store_snap_heads_each(query_snap(q), other_author, NULL) == AM_OK;
}

/* Whether object kind/name exists; when not, prints the sentence with a suggestion: a
 * near miss (did you mean); none of that kind here and no entry of another node (this node
 * has not synced yet: sync first, rather than define what the hub defined already); else
 * how to list or define it. */
int cli_relief_check_known(struct query *q, int kind, const char *name, const char *cmd)
{
    const struct relief_node_site *sites = NULL;
    const struct relief_node_item *items = NULL;
    const char *what = kind == RELIEF_OBJ_SITE ? "site" : "item";
    const char *best = NULL;
    unsigned bd = 99;
    size_t n = 0;
    int found = 0;

    if (kind == RELIEF_OBJ_SITE)
        query_sites(q, &sites, &n);
    else
        query_items(q, &items, &n);
    for (size_t i = 0; i < n; i++) {
        const char *code = sites ? sites[i].slug : items[i].code;
        unsigned d;
        if (!strcmp(code, name)) {
            found = 1;
            break;
        }
        d = edit_distance(name, code);
        if (d < bd) {
            bd = d;
            best = code;
        }
    }
    if (!found) {
        unsigned limit = strlen(name) >= 9 ? 3 : 2;
        if (best && bd <= limit)
            cli_err("%s: unknown %s '%s'; did you mean '%s'? see `aidmesh %s list`", cmd, what,
                    name, best, what);
        else if (!n && never_synced(q))
            cli_err("%s: unknown %s '%s': this node has not synced yet: `aidmesh sync HUB:47470` "
                    "or `aidmesh stick sync PATH` first (it brings the %ss the hub set up)",
                    cmd, what, name, what);
        else if (n)
            cli_err("%s: unknown %s '%s'; see `aidmesh %s list`, or define it with `aidmesh %s "
                    "add %s ...`",
                    cmd, what, name, what, what, name);
        else
            cli_err("%s: unknown %s '%s': no %ss are defined here yet; define it with `aidmesh "
                    "%s add %s ...` (or sync with a node that has it)",
                    cmd, what, name, what, what, name);
    }
    return found;
}

/* Whether the site or item is defined here, without a word. */
int cli_relief_known_quiet(struct query *q, int kind, const char *name)
{
    return kind == RELIEF_OBJ_SITE ? query_site(q, name) != NULL : query_item(q, name) != NULL;
}

/* Whether any need (needs) or stock cell is recorded under site / item, defined or not. */
int cli_relief_has_rows(struct query *q, const char *site, const char *item, int needs)
{
    size_t n = 0;
    if (needs) {
        struct query_need_filter f = {.site = site, .item = item};
        const struct query_need *rows;
        query_needs(q, &f, &rows, &n);
    } else {
        struct query_cell_filter f = {.site = site, .item = item};
        const struct query_cell *rows;
        query_cells(q, &f, &rows, &n);
    }
    return n > 0;
}

struct query *cli_relief_query(struct node *n, const char *cmd)
{
    struct query *q;
    int rc = query_open(n->store, 0, &q);
    memcpy(self_pk, n->pk, AM_PK_LEN);
    if (rc != AM_OK) {
        cli_err("%s: cannot read the store: %s", cmd, am_strerror(rc));
        return NULL;
    }
    return q;
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

int cli_relief_arg_site(const char *cmd, const char *in, char out[RELIEF_SLUG_MAX + 1])
{
    return arg_ident(cmd, "site", in, out, "-", "hub-north");
}

int cli_relief_arg_item(const char *cmd, const char *in, char out[RELIEF_SLUG_MAX + 1])
{
    return arg_ident(cmd, "item code", in, out, "-._", "ors-20.5");
}

int cli_relief_arg_cat(const char *cmd, const char *in, char out[RELIEF_SLUG_MAX + 1])
{
    return arg_ident(cmd, "category", in, out, "-", "health");
}

int cli_relief_arg_lot(const char *cmd, const char *in)
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

int cli_relief_where_opt(const char *cmd, int opt, char site[RELIEF_SLUG_MAX + 1],
                         char item[RELIEF_SLUG_MAX + 1])
{
    if (opt == OPT_SITE)
        return cli_relief_arg_site(cmd, optarg, site) ? -1 : 1;
    if (opt == OPT_ITEM)
        return cli_relief_arg_item(cmd, optarg, item) ? -1 : 1;
    return 0;
}

int cli_relief_arg_qty(const char *cmd, const char *in, int allow_zero, int64_t *q)
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

int cli_relief_arg_day(const char *cmd, const char *flag, const char *in, uint32_t *day)
{
    if (!strcmp(in, "today")) {
        *day = cli_relief_today();
        return 0;
    }
    if (relief_day_parse(in, day) != AM_OK) {
        cli_usage(cmd, "%s takes a date as YYYY-MM-DD (e.g. 2026-03-01), not '%s'", flag, in);
        return -1;
    }
    return 0;
}

/* One of names(1..max); did-you-mean on a near miss. */
int cli_relief_arg_enum(const char *cmd, const char *flag, const char *in, const char *(*name)(int),
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
int cli_relief_arg_deg(const char *cmd, const char *flag, const char *in, int32_t max, int32_t *out)
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
int cli_relief_find_need(struct query *q, const char *cmd, const char *hex,
                         uint8_t id[RELIEF_ID_LEN])
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
    rc = query_need_find(q, hex, id, &matches);
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

struct relief_str cli_relief_str(const char *s)
{
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

/* Writes op and prints what went wrong; 0 or 1. */
int cli_relief_write_op(struct node *n, const char *cmd, const struct relief_op *op, int force,
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
        cli_err("%s: this node's key is marked forked (it is in use on two machines), so it "
                "writes nothing more under it; run `aidmesh identity rotate` to go on under a new "
                "key, then try again",
                cmd);
    else if (rc == AM_EFULL)
        cli_err("%s: the disk is full; free some space and try again (nothing was written)", cmd);
    else
        cli_err("%s: cannot write: %s", cmd, am_strerror(rc));
    return 1;
}

/* sup = the heads of the given registers of a parsed view */
int cli_relief_add_sup(const struct relief_node_reg *r, struct relief_ref *refs, uint32_t *n)
{
    return relief_node_reg_refs(r, refs, RELIEF_REFS_MAX, n);
}

json_t *cli_relief_json_reg_text(const struct relief_node_reg *r)
{
    return r->n_heads && r->set ? out_json_text(r->s, r->len) : json_null();
}
