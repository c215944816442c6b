/*
 * cli_relief_int.h: what the relief data commands (cli_site.c, cli_need.c, cli_stock.c,
 * cli_export.c, cli_reindex.c) share, defined in cli_relief.c. Private to those files:
 * nothing outside tools/cli_*.c includes it.
 *
 * The argument parsers print their own sentence (through cli_usage, naming the command,
 * the flag and the bad value) and return -1; 0 when the value is good.
 */
#ifndef AM_CLI_RELIEF_INT_H
#define AM_CLI_RELIEF_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "query.h"
#include "relief.h"
#include "relief_node.h"
#include "store.h"

/* The options of the relief commands, after the common ones of cli.h. */
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
    OPT_EXPIRING,
    OPT_AUTHOR,
    OPT_TEXT,
    OPT_NO_LOT,
    OPT_ALL
};

/* Site and item columns start at their headers' width and grow to the longest code. */
#define CODE_COL_MIN 12

/* Marks field k of a relief_op as present. */
#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

/* ---- output for people ---- */

/* Today as days since 1970-01-01, from the node's wall clock. */
uint32_t cli_relief_today(void);
/* A day as YYYY-MM-DD, or "-" for 0. */
void cli_relief_fmt_day(uint32_t day, char out[11]);
/* Micro-degrees as decimal degrees. */
void cli_relief_fmt_deg(int64_t v, char out[24]);
/* A cell of a table: text cut to width w (a cut shows '~' as its last character), escaped
 * for the terminal (out_text_esc); right-aligned when `right`. */
void cli_relief_col(FILE *f, const char *s, size_t len, int w, int right);
/* cli_relief_col of a NUL-terminated string, left-aligned. */
void cli_relief_cols(FILE *f, const char *s, int w);
/* The width of a site or item column: w, or the length of code when longer. */
int cli_relief_code_width(int w, const char *code);
/* The last cell of a row: cut to w, not padded, then `rest` and a newline. */
void cli_relief_col_end(FILE *f, const char *s, size_t len, int w, const char *rest);
/* The text of a register as JSON: its value when set, else null. */
json_t *cli_relief_json_reg_text(const struct relief_node_reg *r);

/* ---- what this node knows ---- */

/* Each command reads through one query (query.h) opened after its arguments are checked:
 * cli_relief_query opens it, printing the sentence on failure (NULL). */
struct query *cli_relief_query(struct node *n, const char *cmd);
/* Whether object kind (RELIEF_OBJ_SITE or RELIEF_OBJ_ITEM) named `name` is defined here;
 * when not, prints the sentence for command cmd with a did-you-mean suggestion. */
int cli_relief_check_known(struct query *q, int kind, const char *name, const char *cmd);
/* Whether the site or item is defined here, without a word. */
int cli_relief_known_quiet(struct query *q, int kind, const char *name);
/* Whether any need (needs) or stock cell is recorded under site / item, defined or not. */
int cli_relief_has_rows(struct query *q, const char *site, const char *item, int needs);
/* A need by (a prefix of) its hex id into id; prints the sentence and returns -1 when
 * there is not exactly one, 0 otherwise. */
int cli_relief_find_need(struct query *q, const char *cmd, const char *hex,
                         uint8_t id[RELIEF_ID_LEN]);

/* ---- argument parsers: each prints its own sentence ---- */

/* A site slug, folded to lower case: a-z, 0-9 and '-', first a letter or digit, 1..32. */
int cli_relief_arg_site(const char *cmd, const char *in, char out[RELIEF_SLUG_MAX + 1]);
/* An item code: as a slug, also '.' and '_'. */
int cli_relief_arg_item(const char *cmd, const char *in, char out[RELIEF_SLUG_MAX + 1]);
/* The --site and --item options of a relief command's getopt loop, with optarg as their
 * value: 1 when opt was one of them (stored in site or item), 0 when it was not, -1 when
 * the value is refused (said on stderr: the command exits 2). */
int cli_relief_where_opt(const char *cmd, int opt, char site[RELIEF_SLUG_MAX + 1],
                         char item[RELIEF_SLUG_MAX + 1]);
/* A category: as a site slug. */
int cli_relief_arg_cat(const char *cmd, const char *in, char out[RELIEF_SLUG_MAX + 1]);
/* A lot as printed on the box: A-Z, a-z, 0-9 and . _ / -. */
int cli_relief_arg_lot(const char *cmd, const char *in);
/* --qty: a whole number of base units up to RELIEF_QTY_MAX (0 only when allow_zero). */
int cli_relief_arg_qty(const char *cmd, const char *in, int allow_zero, int64_t *q);
/* A --qty as typed (cli_pack.c): a number of base units, or of a pack of the item. */
struct cli_qty {
    int64_t n;                      /* the number typed */
    char pack[RELIEF_SLUG_MAX + 1]; /* the pack named ("" base units), lower case */
};
/* --qty in base units (600) or in packs: "12 carton", "12x carton", "12 x carton", "12
 * cartons" (a trailing s or es is dropped when the item has no pack of that name). The
 * pack is resolved later, when the item's packs are known: cli_relief_qty_units. */
int cli_relief_arg_qtyp(const char *cmd, const char *in, int allow_zero, struct cli_qty *out);
/* The base units of a parsed --qty for `item`, as this node sees its packs (the winner of a
 * pack's definitions; a warning when two were made at once). Prints the sentence (an unknown
 * pack, naming the item's packs; a product over the limit or past int64) and returns -1;
 * 0 with *units. */
int cli_relief_qty_units(struct query *q, const char *cmd, const char *item,
                         const struct cli_qty *in, int64_t *units);
/* qty as people read it: "600 (12 carton)", "620 (12 carton + 20)", or "600" when the item
 * has no pack that fits (query_pack_split). */
void cli_relief_fmt_qty(struct query *q, const char *item, int64_t qty, char *out, size_t cap);
/* The same as JSON: {"pack", "units", "count", "rest"}, or null. */
json_t *cli_relief_json_qty_packs(struct query *q, const char *item, int64_t qty);
/* Rows of query_packs as a JSON array of {"item", "pack", "units", "conflict"}. */
json_t *cli_relief_json_packs(const struct query_pack *v, size_t n);
/* `aidmesh item pack add|remove|list` (argv[0] is "pack"). */
int cli_item_pack(struct cli *c, int argc, char **argv);
/* `aidmesh item name ITEM --lang L NAME|--remove` and `aidmesh item names ITEM` (argv[0] is
 * "name", "names"; cli_name.c). */
int cli_item_name(struct cli *c, int argc, char **argv);
int cli_item_names(struct cli *c, int argc, char **argv);
/* A date YYYY-MM-DD, or "today", as days since 1970-01-01. */
int cli_relief_arg_day(const char *cmd, const char *flag, const char *in, uint32_t *day);
/* One of name(1..max) into *out; did-you-mean on a near miss. */
int cli_relief_arg_enum(const char *cmd, const char *flag, const char *in, const char *(*name)(int),
                        int max, int *out);
/* Decimal degrees ("12.5", "-4.123456") within +-max micro-degrees, as micro-degrees. */
int cli_relief_arg_deg(const char *cmd, const char *flag, const char *in, int32_t max,
                       int32_t *out);

/* ---- writing ---- */

/* A relief_str of a NUL-terminated string (which must outlive it). */
struct relief_str cli_relief_str(const char *s);
/* Writes op through relief_node_write (force: refer to objects not defined here) and
 * prints what went wrong. hash (nullable) receives the entry's hash. 0, or 1 on failure. */
int cli_relief_write_op(struct node *n, const char *cmd, const struct relief_op *op, int force,
                        uint8_t hash[AM_HASH_LEN]);
/* sup = the heads of register r of a parsed view (relief_node_reg_refs into refs, at
 * most RELIEF_REFS_MAX, *n counting). Returns its result. */
int cli_relief_add_sup(const struct relief_node_reg *r, struct relief_ref *refs, uint32_t *n);

#endif
