/*
 * cli_import.c: `aidmesh import --hxl sites|items|needs|stock FILE.csv`: the rows of a
 * spreadsheet saved as CSV with a row of HXL hashtags (read by hxl.c; PROTOCOL.md section
 * 12, "HXL import") become the same ops as `site add/update`, `item add/update`, `need add`
 * and `stock count`, written all together or not at all.
 *
 * Each cell is checked by the parser the matching command uses (cli_relief.c) and each op
 * by relief_node_check, so a row is refused for exactly what the command would refuse;
 * every bad row is named with its spreadsheet row number, and one bad row writes nothing.
 * The good rows are written in one relief_node_write_batch: one store transaction.
 *
 * Never writes a row that a check refused, nor half a file; never takes a cell that a
 * spreadsheet would run as a formula; never prints a cell unescaped (out.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "cli.h"
#include "cli_relief_int.h"
#include "hxl.h"
#include "out.h"

static const char import_help[] =
    "usage: aidmesh import --hxl sites|items|needs|stock FILE.csv [--dry-run] [--json]\n"
    "\n"
    "Reads a spreadsheet saved as CSV UTF-8 whose columns carry HXL hashtags (a row of\n"
    "#loc+code, #item+name, ... under the header row, as `aidmesh export --hxl` writes).\n"
    "Columns are found by hashtag, in any order; other columns are left alone. Every row is\n"
    "checked as the matching command checks it; every bad row is named with its row number\n"
    "and the reason, and if any row is bad nothing is written. Otherwise all rows are\n"
    "written at once.\n"
    "\n"
    "  sites  #loc+code (or #adm1+code) the site's SLUG; #loc+name (or #adm1+name) its\n"
    "         name; #loc+type its kind; #geo+lat and #geo+lon. A site already here is\n"
    "         updated where the row differs (`site update`); a new one needs a name.\n"
    "  items  #item+code; #item+name; #item+unit; #item+type (or #item+category). An item\n"
    "         already here is updated where the row differs; a new one needs name and unit.\n"
    "  needs  #loc+code; #item+code; the quantity in #item+num+needed (or #value+quantity,\n"
    "         #quantity, #output); #severity+priority; #date+needed; #description. Each row\n"
    "         opens a need (`need add`); a row whose #status+need is not open, or whose\n"
    "         #meta+id names a need already here, is skipped.\n"
    "  stock  #loc+code; #item+code; #item+lot; #date+expiry; the quantity on the shelf in\n"
    "         #item+num+stock (or #value+quantity, #quantity, #output). Each row records a\n"
    "         count (`stock count`): a stock-take of that lot.\n"
    "\n"
    "Sites and items used by needs and stock must be defined first (import them first).\n"
    "A cell that a spreadsheet would run as a formula (one that begins with =, +, -, @ and\n"
    "is not a number) is refused; a leading ' marks a cell as text and is dropped.\n"
    "\n"
    "  --dry-run  check every row and say what would be written; write nothing\n"
    "  --json     print the result as JSON\n";

enum { K_SITES, K_ITEMS, K_NEEDS, K_STOCK };
static const char *const kind_names[] = {"sites", "items", "needs", "stock"};

/* The fields of a row and the hashtags that may hold them, first match first. */
enum {
    F_SITE,
    F_ITEM,
    F_NAME,
    F_KIND,
    F_LAT,
    F_LON,
    F_UNIT,
    F_CAT,
    F_QTY,
    F_PRI,
    F_BY,
    F_NOTE,
    F_ID,
    F_ST,
    F_LOT,
    F_EXP,
    F_N
};

struct field {
    const char *what; /* for a sentence: "the site's code" */
    const char *specs[6];
};

static const struct field fields[F_N] = {
    [F_SITE] = {"the site's code", {"#loc+code", "#adm1+code"}},
    [F_ITEM] = {"the item's code", {"#item+code"}},
    [F_NAME] = {"the name", {0}}, /* by kind: see name_specs */
    [F_KIND] = {"the site's kind", {"#loc+type"}},
    [F_LAT] = {"the latitude", {"#geo+lat"}},
    [F_LON] = {"the longitude", {"#geo+lon"}},
    [F_UNIT] = {"the unit", {"#item+unit"}},
    [F_CAT] = {"the category", {"#item+type", "#item+category"}},
    [F_QTY] = {"the quantity", {0}}, /* by kind: see qty_specs */
    [F_PRI] = {"the priority", {"#severity+priority", "#severity"}},
    [F_BY] = {"the needed-by date", {"#date+needed"}},
    [F_NOTE] = {"the note", {"#description+note", "#description"}},
    [F_ID] = {"the need id", {"#meta+id"}},
    [F_ST] = {"the need's status", {"#status+need"}},
    [F_LOT] = {"the lot", {"#item+lot"}},
    [F_EXP] = {"the expiry date", {"#date+expiry"}},
};
static const char *const site_name_specs[] = {"#loc+name", "#adm1+name", "#adm1-code", NULL};
static const char *const item_name_specs[] = {"#item+name", NULL};
static const char *const need_qty_specs[] = {"#item+num+needed", "#value+quantity", "#quantity",
                                             "#output", NULL};
static const char *const stock_qty_specs[] = {"#item+num+stock", "#value+quantity", "#quantity",
                                              "#output", NULL};

/* What one good row becomes: the strings its op points to that are not cells. */
struct imp_row {
    size_t line;
    char site[RELIEF_SLUG_MAX + 1], item[RELIEF_SLUG_MAX + 1], cat[RELIEF_SLUG_MAX + 1];
    struct relief_ref *refs; /* the op's sup or ctx (malloc'd) */
    int update;
};

struct imp {
    int kind;
    struct node *n;
    struct query *q;
    struct hxl_table *t;
    int col[F_N];
    struct relief_op *ops;
    struct imp_row *rows;
    size_t n_ops;
    size_t bad, added, updated, unchanged, skipped;
    json_t *bad_rows;
    char cmd[160]; /* "import: row 5, #loc+code": the name the parsers print */
};

/* ---- cells --------------------------------------------------------------------------------- */

/* The parsers' command name for field f of data row i. */
static const char *cmd_at(struct imp *m, size_t i, int f)
{
    snprintf(m->cmd, sizeof m->cmd, "import: row %zu, %s", hxl_row_number(m->t, i),
             hxl_col_tag(m->t, m->col[f]));
    return m->cmd;
}

/* A cell for a sentence: escaped, at most 40 characters. */
static const char *show(const char *s, char out[200])
{
    size_t chars, n = strlen(s);
    out_text_esc(out, 200, s, n, 0, &chars);
    if (chars > 40) {
        size_t k = 0;
        for (size_t c = 0; out[k] && c < 37; c++) /* cut between characters */
            for (k++; (out[k] & 0xc0) == 0x80; k++)
                ;
        snprintf(out + k, 200 - k, "...");
    }
    return out;
}

/* The text of field f in data row i: "" when the column is absent or the cell empty; NULL
 * (said, row counted bad) when it would be a formula. */
static const char *cell(struct imp *m, size_t i, int f)
{
    const char *s = hxl_cell(m->t, i, m->col[f]);
    char shown[200];
    if (hxl_formula_like(s)) {
        cli_err("%s: '%s' would run as a formula in a spreadsheet: remove its first character, "
                "or begin the cell with ' to keep it as text",
                cmd_at(m, i, f), show(s, shown));
        return NULL;
    }
    return hxl_text(s);
}

/* An enum cell, folded to lower case ("High" is high) into out. */
static const char *lower(const char *s, char out[32])
{
    size_t k = 0;
    for (; s[k] && k < 31; k++)
        out[k] = (char)(s[k] >= 'A' && s[k] <= 'Z' ? s[k] - 'A' + 'a' : s[k]);
    out[k] = 0;
    return s[k] ? s : out; /* too long for any name: the parser says so */
}

static void row_bad(struct imp *m, size_t i)
{
    m->bad++;
    json_array_append_new(m->bad_rows, json_integer((json_int_t)hxl_row_number(m->t, i)));
}

/* The first data row before `upto` whose op has the same key (site, item, lot, expiry;
 * the code for sites and items): its index in ops, or -1. */
static long same_key(const struct imp *m, const struct relief_op *op, const struct imp_row *r)
{
    for (size_t k = 0; k < m->n_ops; k++) {
        const struct imp_row *o = &m->rows[k];
        if (m->kind == K_SITES   ? !strcmp(o->site, r->site)
            : m->kind == K_ITEMS ? !strcmp(o->item, r->item)
                                 : !strcmp(o->site, r->site) && !strcmp(o->item, r->item) &&
                                       m->ops[k].lot.len == op->lot.len &&
                                       !memcmp(m->ops[k].lot.p ? m->ops[k].lot.p : "",
                                               op->lot.p ? op->lot.p : "", op->lot.len) &&
                                       m->ops[k].exp == op->exp)
            return (long)k;
    }
    return -1;
}

static int str_eq(struct relief_str a, struct relief_str b)
{
    return a.len == b.len && (!a.len || !memcmp(a.p, b.p, a.len));
}

/* 1 when two ops of one kind say the same (what a repeated row may do). */
static int same_op(const struct relief_op *a, const struct relief_op *b)
{
    return a->has == b->has && str_eq(a->name, b->name) && a->kind == b->kind &&
           a->ll_set == b->ll_set && a->lat == b->lat && a->lon == b->lon &&
           str_eq(a->unit, b->unit) && str_eq(a->cat, b->cat) && a->q == b->q;
}

/* 1 when register r's shown value is text s. */
static int reg_is_text(const struct relief_node_reg *r, struct relief_str s)
{
    return r->n_heads && r->set && r->len == s.len && !memcmp(r->s, s.p, s.len);
}

/* Register r's heads into the row's sup; -1 (said) when the view is damaged. */
static int add_sup(struct imp *m, size_t i, const struct relief_node_reg *r, struct relief_ref *sup,
                   uint32_t *n)
{
    if (cli_relief_add_sup(r, sup, n) == AM_OK)
        return 0;
    cli_err("import: row %zu: the stored view of this %s is damaged: run `aidmesh reindex`",
            hxl_row_number(m->t, i), m->kind == K_SITES ? "site" : "item");
    return -1;
}

/* ---- rows of each kind: 0 (an op to write), 1 (nothing to write), -1 (bad, said) ---------- */

static int row_site(struct imp *m, size_t i, struct relief_op *op, struct imp_row *r,
                    struct relief_ref *sup, uint32_t *nsup)
{
    const char *code = cell(m, i, F_SITE), *name = cell(m, i, F_NAME);
    const char *kind = cell(m, i, F_KIND), *lat = cell(m, i, F_LAT), *lon = cell(m, i, F_LON);
    const struct relief_node_site *sv;
    char low[32];
    int bad = !code || !name || !kind || !lat || !lon;

    op->type = RELIEF_T_SITE;
    if (code && !*code) {
        cli_err("import: row %zu: no site code in %s: every row needs one", r->line,
                hxl_col_tag(m->t, m->col[F_SITE]));
        bad = 1;
    } else if (code && cli_relief_arg_site(cmd_at(m, i, F_SITE), code, r->site)) {
        bad = 1;
    }
    op->site = cli_relief_str(r->site), HAS(op, SLUG);
    if (name && *name)
        op->name = cli_relief_str(name), HAS(op, NAME);
    if (kind && *kind) {
        if (cli_relief_arg_enum(cmd_at(m, i, F_KIND), hxl_col_tag(m->t, m->col[F_KIND]),
                                lower(kind, low), relief_kind_name, 5, &op->kind))
            bad = 1;
        HAS(op, KIND);
    }
    if (lat && lon && (*lat || *lon)) {
        if (!*lat || !*lon) {
            cli_err("import: row %zu: give both #geo+lat and #geo+lon, or neither", r->line);
            bad = 1;
        } else if (cli_relief_arg_deg(cmd_at(m, i, F_LAT), "#geo+lat", lat, RELIEF_LAT_MAX,
                                      &op->lat) ||
                   cli_relief_arg_deg(cmd_at(m, i, F_LON), "#geo+lon", lon, RELIEF_LON_MAX,
                                      &op->lon)) {
            bad = 1;
        }
        op->ll_set = 1;
        HAS(op, LL);
    }
    if (bad)
        return -1;
    if (!(sv = query_site(m->q, r->site))) {
        if (op->has & RELIEF_HAS(RELIEF_K_NAME))
            return 0;
        cli_err("import: row %zu: site '%s' is new here and needs a name: fill in %s", r->line,
                r->site, m->col[F_NAME] >= 0 ? hxl_col_tag(m->t, m->col[F_NAME]) : "#loc+name");
        return -1;
    }
    /* a site already here: only what differs, superseding what it replaces */
    if ((op->has & RELIEF_HAS(RELIEF_K_NAME)) && reg_is_text(&sv->name, op->name))
        op->has &= ~RELIEF_HAS(RELIEF_K_NAME);
    if ((op->has & RELIEF_HAS(RELIEF_K_KIND)) && sv->kind.n_heads && sv->kind.set &&
        sv->kind.i == op->kind)
        op->has &= ~RELIEF_HAS(RELIEF_K_KIND);
    if ((op->has & RELIEF_HAS(RELIEF_K_LL)) && sv->ll.n_heads && sv->ll.set &&
        sv->ll.i == op->lat && sv->ll.j == op->lon)
        op->has &= ~RELIEF_HAS(RELIEF_K_LL);
    if (op->has == RELIEF_HAS(RELIEF_K_SLUG))
        return 1;
    r->update = 1;
    if (((op->has & RELIEF_HAS(RELIEF_K_NAME)) && add_sup(m, i, &sv->name, sup, nsup)) ||
        ((op->has & RELIEF_HAS(RELIEF_K_KIND)) && add_sup(m, i, &sv->kind, sup, nsup)) ||
        ((op->has & RELIEF_HAS(RELIEF_K_LL)) && add_sup(m, i, &sv->ll, sup, nsup)))
        return -1;
    return 0;
}

static int row_item(struct imp *m, size_t i, struct relief_op *op, struct imp_row *r,
                    struct relief_ref *sup, uint32_t *nsup)
{
    const char *code = cell(m, i, F_ITEM), *name = cell(m, i, F_NAME);
    const char *unit = cell(m, i, F_UNIT), *cat = cell(m, i, F_CAT);
    const struct relief_node_item *iv;
    int bad = !code || !name || !unit || !cat;

    op->type = RELIEF_T_ITEM;
    if (code && !*code) {
        cli_err("import: row %zu: no item code in #item+code: every row needs one", r->line);
        bad = 1;
    } else if (code && cli_relief_arg_item(cmd_at(m, i, F_ITEM), code, r->item)) {
        bad = 1;
    }
    op->item = cli_relief_str(r->item), HAS(op, CODE);
    if (name && *name)
        op->name = cli_relief_str(name), HAS(op, NAME);
    if (unit && *unit)
        op->unit = cli_relief_str(unit), HAS(op, UNIT);
    if (cat && *cat) {
        if (cli_relief_arg_cat(cmd_at(m, i, F_CAT), cat, r->cat))
            bad = 1;
        op->cat = cli_relief_str(r->cat), HAS(op, CAT);
    }
    if (bad)
        return -1;
    if (!(iv = query_item(m->q, r->item))) {
        if ((op->has & RELIEF_HAS(RELIEF_K_NAME)) && (op->has & RELIEF_HAS(RELIEF_K_UNIT)))
            return 0;
        cli_err("import: row %zu: item '%s' is new here and needs a name and a unit: fill in "
                "#item+name and #item+unit",
                r->line, r->item);
        return -1;
    }
    if ((op->has & RELIEF_HAS(RELIEF_K_NAME)) && reg_is_text(&iv->name, op->name))
        op->has &= ~RELIEF_HAS(RELIEF_K_NAME);
    if ((op->has & RELIEF_HAS(RELIEF_K_UNIT)) && reg_is_text(&iv->unit, op->unit))
        op->has &= ~RELIEF_HAS(RELIEF_K_UNIT);
    if ((op->has & RELIEF_HAS(RELIEF_K_CAT)) && reg_is_text(&iv->cat, op->cat))
        op->has &= ~RELIEF_HAS(RELIEF_K_CAT);
    if (op->has == RELIEF_HAS(RELIEF_K_CODE))
        return 1;
    r->update = 1;
    if (((op->has & RELIEF_HAS(RELIEF_K_NAME)) && add_sup(m, i, &iv->name, sup, nsup)) ||
        ((op->has & RELIEF_HAS(RELIEF_K_UNIT)) && add_sup(m, i, &iv->unit, sup, nsup)) ||
        ((op->has & RELIEF_HAS(RELIEF_K_CAT)) && add_sup(m, i, &iv->cat, sup, nsup)))
        return -1;
    return 0;
}

/* The site and item of a need or stock row, which must be defined here. 0 or -1 (said). */
static int row_where(struct imp *m, size_t i, struct relief_op *op, struct imp_row *r)
{
    const char *site = cell(m, i, F_SITE), *item = cell(m, i, F_ITEM);
    int bad = !site || !item;
    if (site && !*site) {
        cli_err("import: row %zu: no site code in %s", r->line, hxl_col_tag(m->t, m->col[F_SITE]));
        bad = 1;
    } else if (site &&
               (cli_relief_arg_site(cmd_at(m, i, F_SITE), site, r->site) ||
                (!cli_relief_known_quiet(m->q, RELIEF_OBJ_SITE, r->site) &&
                 !cli_relief_check_known(m->q, RELIEF_OBJ_SITE, r->site, cmd_at(m, i, F_SITE))))) {
        bad = 1;
    }
    if (item && !*item) {
        cli_err("import: row %zu: no item code in #item+code", r->line);
        bad = 1;
    } else if (item &&
               (cli_relief_arg_item(cmd_at(m, i, F_ITEM), item, r->item) ||
                (!cli_relief_known_quiet(m->q, RELIEF_OBJ_ITEM, r->item) &&
                 !cli_relief_check_known(m->q, RELIEF_OBJ_ITEM, r->item, cmd_at(m, i, F_ITEM))))) {
        bad = 1;
    }
    op->site = cli_relief_str(r->site);
    op->item = cli_relief_str(r->item);
    HAS(op, SITE), HAS(op, ITEM);
    return bad ? -1 : 0;
}

/* A quantity cell, in base units or in packs of the row's item ("12 carton": op->item is
 * set first): 0 or -1 (said). */
static int row_qty(struct imp *m, size_t i, int allow_zero, struct relief_op *op)
{
    const char *s = cell(m, i, F_QTY);
    struct cli_qty qs;
    if (!s)
        return -1;
    if (!*s) {
        cli_err("import: row %zu: no quantity in %s", hxl_row_number(m->t, i),
                hxl_col_tag(m->t, m->col[F_QTY]));
        return -1;
    }
    if (cli_relief_arg_qtyp(cmd_at(m, i, F_QTY), s, allow_zero, &qs))
        return -1;
    op->q = qs.n;
    if (qs.pack[0] &&
        (!op->item.len || cli_relief_qty_units(m->q, cmd_at(m, i, F_QTY), op->item.p, &qs, &op->q)))
        return -1;
    HAS(op, Q);
    return 0;
}

static int row_need(struct imp *m, size_t i, struct relief_op *op, struct imp_row *r)
{
    const char *pri = cell(m, i, F_PRI), *by = cell(m, i, F_BY), *note = cell(m, i, F_NOTE);
    const char *id = cell(m, i, F_ID), *st = cell(m, i, F_ST);
    char low[32];
    int bad = !pri || !by || !note || !id || !st;

    if (st && *st && strcmp(lower(st, low), "open"))
        return 1; /* a need closed where it came from is not opened again */
    if (id && strlen(id) == 2 * RELIEF_ID_LEN) {
        uint8_t found[RELIEF_ID_LEN];
        unsigned matches = 0;
        if (query_need_find(m->q, id, found, &matches) == AM_OK && matches == 1)
            return 1; /* already here (exported from this network) */
    }
    op->type = RELIEF_T_NEED_OPEN;
    op->pri = RELIEF_PRI_NORMAL;
    bad |= row_where(m, i, op, r) != 0;
    bad |= row_qty(m, i, 0, op) != 0;
    if (pri && *pri &&
        cli_relief_arg_enum(cmd_at(m, i, F_PRI), hxl_col_tag(m->t, m->col[F_PRI]), lower(pri, low),
                            relief_priority_name, 4, &op->pri))
        bad = 1;
    HAS(op, PRI);
    if (by && *by) {
        if (cli_relief_arg_day(cmd_at(m, i, F_BY), "#date+needed", by, &op->by))
            bad = 1;
        HAS(op, BY);
    }
    if (note && *note)
        op->note = cli_relief_str(note), HAS(op, NOTE);
    return bad ? -1 : 0;
}

static int row_stock(struct imp *m, size_t i, struct relief_op *op, struct imp_row *r,
                     struct relief_ref *ctx, uint32_t *nctx)
{
    const char *lot = cell(m, i, F_LOT), *exp = cell(m, i, F_EXP);
    struct relief_key key;
    int bad = !lot || !exp, rc;

    op->type = RELIEF_T_STOCK_COUNT;
    bad |= row_where(m, i, op, r) != 0;
    bad |= row_qty(m, i, 1, op) != 0;
    if (lot && *lot) {
        if (cli_relief_arg_lot(cmd_at(m, i, F_LOT), lot))
            bad = 1;
        op->lot = cli_relief_str(lot), HAS(op, LOT);
    }
    if (exp && *exp) {
        if (cli_relief_arg_day(cmd_at(m, i, F_EXP), "#date+expiry", exp, &op->exp))
            bad = 1;
        HAS(op, EXP);
    }
    if (bad)
        return -1;
    /* the count's context, as `stock count` builds it */
    memset(&key, 0, sizeof key);
    key.kind = RELIEF_OBJ_CELL;
    snprintf(key.site, sizeof key.site, "%s", r->site); /* arrays of one size: never cut */
    snprintf(key.item, sizeof key.item, "%s", r->item);
    snprintf(key.lot, sizeof key.lot, "%.*s", (int)op->lot.len, op->lot.p ? op->lot.p : "");
    key.exp = op->exp;
    if ((rc = relief_node_ctx(m->n->store, &key, m->n->pk, ctx, RELIEF_REFS_MAX, nctx)) != AM_OK) {
        cli_err("import: row %zu: cannot build the count's context: %s", r->line, am_strerror(rc));
        return -1;
    }
    HAS(op, CTX);
    return 0;
}

/* ---- the import ---------------------------------------------------------------------------- */

/* Checks data row i and, when it is good, adds its op. */
static void import_row(struct imp *m, size_t i)
{
    struct relief_ref refs[RELIEF_REFS_MAX];
    struct relief_op *op = &m->ops[m->n_ops];
    struct imp_row *r = &m->rows[m->n_ops];
    char err[RELIEF_ERR_MAX + 64];
    uint32_t nrefs = 0;
    long prev;
    int rc;

    memset(op, 0, sizeof *op);
    memset(r, 0, sizeof *r);
    r->line = hxl_row_number(m->t, i);
    rc = m->kind == K_SITES   ? row_site(m, i, op, r, refs, &nrefs)
         : m->kind == K_ITEMS ? row_item(m, i, op, r, refs, &nrefs)
         : m->kind == K_NEEDS ? row_need(m, i, op, r)
                              : row_stock(m, i, op, r, refs, &nrefs);
    if (rc < 0) {
        row_bad(m, i);
        return;
    }
    if (m->kind != K_NEEDS && (prev = same_key(m, op, r)) >= 0) {
        if (same_op(op, &m->ops[prev])) {
            m->unchanged++; /* the same again: a site on every row of a needs export */
            return;
        }
        cli_err("import: row %zu: %s '%s%s%s' is also on row %zu with other values: keep one "
                "row for it",
                r->line,
                m->kind == K_SITES   ? "site"
                : m->kind == K_ITEMS ? "item"
                                     : "the stock of",
                m->kind == K_ITEMS ? r->item : r->site, m->kind == K_STOCK ? " " : "",
                m->kind == K_STOCK ? r->item : "", m->rows[prev].line);
        row_bad(m, i);
        return;
    }
    if (rc == 1) {
        if (m->kind == K_NEEDS)
            m->skipped++;
        else
            m->unchanged++;
        return;
    }
    if (nrefs) {
        if (!(r->refs = malloc(nrefs * sizeof *r->refs))) {
            cli_err("import: out of memory");
            row_bad(m, i);
            return;
        }
        memcpy(r->refs, refs, nrefs * sizeof *refs);
        if (m->kind == K_STOCK) {
            op->ctx.n = nrefs, op->ctx.arr = r->refs;
        } else {
            relief_refs_sort(r->refs, &nrefs);
            op->sup.n = nrefs, op->sup.arr = r->refs;
            HAS(op, SUP);
        }
    }
    /* what relief_node_write would refuse: lengths, text rules, references */
    if ((rc = relief_node_check(m->n, op, 0, err, sizeof err)) != AM_OK) {
        cli_err("import: row %zu: refused: %s", r->line, err[0] ? err : am_strerror(rc));
        free(r->refs);
        row_bad(m, i);
        return;
    }
    m->n_ops++;
    if (r->update)
        m->updated++;
    else
        m->added++;
}

/* Finds the columns; -1 (said) when one the kind needs is missing. */
static int find_columns(struct imp *m)
{
    static const int need_cols[][4] = {[K_SITES] = {F_SITE, -1},
                                       [K_ITEMS] = {F_ITEM, -1},
                                       [K_NEEDS] = {F_SITE, F_ITEM, F_QTY, -1},
                                       [K_STOCK] = {F_SITE, F_ITEM, F_QTY, -1}};
    for (int f = 0; f < F_N; f++) {
        const char *const *specs = fields[f].specs;
        if (f == F_NAME)
            specs = m->kind == K_SITES ? site_name_specs : item_name_specs;
        else if (f == F_QTY)
            specs = m->kind == K_NEEDS ? need_qty_specs : stock_qty_specs;
        m->col[f] = -1;
        for (int k = 0; k < 6 && specs[k] && m->col[f] < 0; k++)
            m->col[f] = hxl_col(m->t, specs[k]);
    }
    for (int k = 0; need_cols[m->kind][k] >= 0; k++) {
        int f = need_cols[m->kind][k];
        const char *spec = f == F_QTY
                               ? (m->kind == K_NEEDS ? need_qty_specs[0] : stock_qty_specs[0])
                               : fields[f].specs[0];
        if (m->col[f] < 0) {
            cli_err("import: the hashtag row (row %zu) has no %s column, for %s: add it above "
                    "that column (see `aidmesh import --help`)",
                    hxl_tag_row(m->t), spec, fields[f].what);
            return -1;
        }
    }
    return 0;
}

/* Reads FILE whole, up to one byte past the limit. 0, or -1 (said). */
static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = (size_t)HXL_FILE_MAX + 1;
    if (!f) {
        cli_err("import: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (!(*data = malloc(cap))) {
        fclose(f);
        cli_err("import: out of memory");
        return -1;
    }
    *len = fread(*data, 1, cap, f);
    if (ferror(f)) {
        cli_err("import: cannot read %s: %s", path, strerror(errno));
        fclose(f);
        free(*data);
        return -1;
    }
    fclose(f);
    return 0;
}

static void say_result(struct cli *c, struct imp *m, int dry, const char *path)
{
    const char *what = kind_names[m->kind];
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "ok", json_true());
        json_object_set_new(o, "kind", json_string(what));
        json_object_set_new(o, "dry_run", json_boolean(dry));
        json_object_set_new(o, "rows", json_integer((json_int_t)hxl_rows(m->t)));
        json_object_set_new(o, "added", json_integer((json_int_t)m->added));
        json_object_set_new(o, "updated", json_integer((json_int_t)m->updated));
        json_object_set_new(o, "unchanged", json_integer((json_int_t)m->unchanged));
        json_object_set_new(o, "skipped", json_integer((json_int_t)m->skipped));
        out_json_put(stdout, o);
        return;
    }
    printf("%s %zu rows of %s from ", dry ? "dry run: checked" : "imported", hxl_rows(m->t), what);
    out_text(stdout, path, strlen(path), 0, NULL);
    printf(": %zu %sadded, %zu %supdated, %zu unchanged", m->added, dry ? "to be " : "", m->updated,
           dry ? "to be " : "", m->unchanged);
    if (m->kind == K_NEEDS)
        printf(", %zu skipped (not open, or already here)", m->skipped);
    printf("%s\n", dry ? "; nothing was written" : "");
}

/* Checks every row, then writes them all in one batch (unless dry). Exit status. */
static int import_run(struct cli *c, struct imp *m, int dry, const char *path)
{
    char err[RELIEF_ERR_MAX + 64];
    size_t rows = hxl_rows(m->t), badi = 0;
    int rc;

    if (find_columns(m))
        return 1;
    if (!(m->q = cli_relief_query(m->n, "import")))
        return 1;
    m->ops = calloc(rows ? rows : 1, sizeof *m->ops);
    m->rows = calloc(rows ? rows : 1, sizeof *m->rows);
    m->bad_rows = json_array();
    if (!m->ops || !m->rows || !m->bad_rows) {
        cli_err("import: out of memory");
        return 1;
    }
    for (size_t i = 0; i < rows; i++)
        import_row(m, i);
    query_close(m->q);
    m->q = NULL;
    if (m->bad) {
        if (c->json) {
            json_t *o = json_object();
            json_object_set_new(o, "ok", json_false());
            json_object_set_new(o, "bad_rows", json_incref(m->bad_rows));
            out_json_put(stdout, o);
        }
        cli_err("import: %zu of %zu rows are bad (see above); nothing was written: correct them "
                "and import the file again",
                m->bad, rows);
        return 1;
    }
    if (!dry && m->n_ops) {
        rc = relief_node_write_batch(m->n, m->ops, m->n_ops, 0, err, sizeof err, &badi, NULL);
        if (rc != AM_OK) {
            if (rc == AM_EFULL)
                cli_err("import: the disk is full; free some space and try again (nothing was "
                        "written)");
            else if (err[0])
                cli_err("import: row %zu: refused: %s; nothing was written", m->rows[badi].line,
                        err);
            else
                cli_err("import: cannot write: %s; nothing was written", am_strerror(rc));
            return 1;
        }
    }
    say_result(c, m, dry, path);
    return 0;
}

int cli_cmd_import(struct cli *c, int argc, char **argv)
{
    enum { OPT_DRY = 3500 };
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"hxl", required_argument, NULL, OPT_HXL},
                                         {"dry-run", no_argument, NULL, OPT_DRY},
                                         {0, 0, 0, 0}};
    const char *what = NULL, *path;
    int opt, dry = 0, rc = 1, kind = -1;
    uint8_t *data = NULL;
    size_t len = 0;
    struct hxl_err herr;
    struct imp m;
    struct node n;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(import_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt == OPT_HXL)
            what = optarg;
        else if (opt == OPT_DRY)
            dry = 1;
        else
            return cli_bad_option("import", argv);
    }
    if (!what)
        return cli_usage("import", "say what the file holds: --hxl sites, items, needs or stock");
    for (int k = 0; k < 4; k++)
        if (!strcmp(what, kind_names[k]))
            kind = k;
    if (kind < 0)
        return cli_usage("import", "--hxl takes sites, items, needs or stock, not '%s'", what);
    if (optind != argc - 1)
        return cli_usage("import",
                         optind < argc ? "give one FILE.csv" : "give the FILE.csv to read");
    path = argv[optind];
    if (read_file(path, &data, &len))
        return 1;
    memset(&m, 0, sizeof m);
    m.kind = kind;
    if ((rc = hxl_read(data, len, &m.t, &herr)) != AM_OK) {
        free(data);
        if (herr.row)
            cli_err("import: %s: row %zu: %s; nothing was written", path, herr.row, herr.msg);
        else
            cli_err("import: %s: %s; nothing was written", path, herr.msg);
        return 1;
    }
    free(data);
    if (!hxl_rows(m.t)) {
        hxl_free(m.t);
        if (c->json)
            return out_json_put(stdout,
                                json_pack("{s:b,s:s,s:i}", "ok", 1, "kind", what, "rows", 0))
                       ? 1
                       : 0;
        printf("nothing to import: %s has no rows below its hashtag row\n", path);
        return 0;
    }
    if (cli_open(c, &n, NULL)) {
        hxl_free(m.t);
        return 1;
    }
    m.n = &n;
    rc = import_run(c, &m, dry, path);
    query_close(m.q);
    for (size_t i = 0; i < m.n_ops; i++)
        free(m.rows[i].refs);
    free(m.ops);
    free(m.rows);
    json_decref(m.bad_rows);
    hxl_free(m.t);
    node_close(&n);
    return rc;
}
