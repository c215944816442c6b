/*
 * cli_stock.c: `aidmesh stock`: receiving, issuing, counting and moving stock lots, and
 * showing stock cells (cli_relief_stock_show, also used by the benchmark) with their
 * expiry flags (PROTOCOL.md section 10).
 *
 * Never writes an op that the parsers of cli_relief.c have not checked; never prints a
 * view's text unescaped (out.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "cli.h"
#include "cli_relief_int.h"
#include "out.h"
#include "stock_ops.h"

/* ---- stock ------------------------------------------------------------------------------- */

static const char stock_help[] =
    "usage: aidmesh stock receive --site S --item I --qty N [--lot L --expiry DATE]\n"
    "                             [--reason received|transfer-in|found] [--note TEXT]\n"
    "       aidmesh stock issue   --site S --item I --qty N [--lot L --expiry DATE]\n"
    "                             [--reason issued|transfer-out|expired|lost|damaged]\n"
    "       aidmesh stock adjust  --site S --item I --qty N --reason R [--lot L ...]\n"
    "       aidmesh stock count   --site S --item I --qty N [--lot L --expiry DATE]\n"
    "       aidmesh stock show    [--site S] [--item I] [--all] [--json]\n"
    "       aidmesh stock min     --site S --item I --qty N [--force] [--json]\n"
    "       aidmesh stock totals  [--item I] [--json]\n"
    "\n"
    "Stock is kept per site, item, lot and expiry date. receive and issue record movements\n"
    "(N is always positive; the reason gives the direction; N may be in packs of the item,\n"
    "\"12 carton\": see `aidmesh item pack`), adjust records a movement\n"
    "with any reason, and count records a physical stock-take: the counted quantity\n"
    "replaces what this node had seen, and movements recorded elsewhere meanwhile are\n"
    "added on top. `stock show` flags overdrawn cells, conflicting counts, expired and\n"
    "expiring lots (within 30 days), and movements to check against a count; cells at 0\n"
    "are left out unless --all.\n"
    "\n"
    "A movement out that names no lot (issue, or adjust with an outgoing reason) takes from\n"
    "the lots this node sees, first expiry first out, splitting across lots when one is not\n"
    "enough, and records each lot it took from; expired lots give only to --reason expired.\n"
    "When this node sees too little stock it says so and writes nothing unless --force\n"
    "(the cell then shows OVERDRAWN). A receipt without a lot of an item the site keeps in\n"
    "lots asks for the lot, or --no-lot.\n"
    "\n"
    "`stock min` sets the minimum level of an item at a site (N base units; 0: no minimum).\n"
    "`stock show` flags BELOW-MIN where the site holds less of the item, all its lots\n"
    "together, than its minimum; `stock totals` sums every item across the sites, with the\n"
    "number of sites below their minimum, overdrawn, and with lots expiring or expired.\n"
    "\n"
    "  --force    write even if the site or item is not defined here yet, or the stock\n"
    "             this node sees is too little\n"
    "  --no-lot   receive or issue without a lot even where the item is kept in lots\n"
    "  --all      stock show: also the cells at 0\n";
/*
 * What stock_ops_plan refused (PROTOCOL.md §10.11, "Lots"), in the command's words: a
 * receipt without lot of an item kept in lots asks for the lot (or --no-lot); an issue
 * without lot that this node cannot cover says what it sees and offers --force.
 */
static void say_refusal(const char *cmd, const struct relief_op *op, const char *site,
                        const char *item, const struct stock_plan *p, int rc)
{
    switch (p->refused) {
    case STOCK_REFUSED_NEED_LOT:
        cli_err("%s: %s at %s is kept by lot (%s): give --lot L and --expiry DATE, or "
                "--no-lot to record it without one",
                cmd, item, site, p->lots);
        break;
    case STOCK_REFUSED_SHORT:
        cli_err("%s: this node sees only %lld %s %s at %s%s%s%s: record what was really "
                "issued, or pass --force to record it anyway (the cell then shows OVERDRAWN "
                "until the stock that is missing here arrives)",
                cmd, (long long)p->seen, item,
                op->reason == RELIEF_R_EXPIRED ? "in expired lots" : "to issue", site,
                p->lots[0] ? " (lots: " : "", p->lots, p->lots[0] ? ")" : "");
        break;
    case STOCK_REFUSED_READ:
        cli_err("%s: cannot read the stock: %s", cmd, am_strerror(rc));
        break;
    case STOCK_REFUSED_CTX:
        cli_err("%s: cannot build the count's context: %s", cmd, am_strerror(rc));
        break;
    default:
        cli_err("%s: %s", cmd, p->msg[0] ? p->msg : am_strerror(rc));
    }
}

/* The lots a movement without lot took from, first expiry first out, and what each holds
 * now. */
static void fefo_done(struct cli *c, struct query *q, const struct relief_op *op, const char *site,
                      const char *item, const struct stock_plan *p)
{
    if (c->json) {
        json_t *o = json_object(), *arr = json_array();
        json_object_set_new(o, "ok", json_true());
        json_object_set_new(o, "site", json_string(site));
        json_object_set_new(o, "item", json_string(item));
        for (size_t i = 0; i < p->n; i++) {
            const struct query_take *t = &p->take[i];
            const struct query_cell *row;
            json_t *o2 = json_object();
            char d[11];
            cli_relief_fmt_day(t->exp, d);
            json_object_set_new(o2, "lot", t->lot[0] ? json_string(t->lot) : json_null());
            json_object_set_new(o2, "expiry", t->exp ? json_string(d) : json_null());
            json_object_set_new(o2, "qty", json_integer(t->qty));
            if (query_cell(q, site, item, t->lot, t->exp, &row) == AM_OK) {
                json_object_set_new(o2, "stock", json_integer(row->v.value));
                json_object_set_new(o2, "overdrawn", json_boolean(row->v.overdrawn));
            }
            json_array_append_new(arr, o2);
        }
        json_object_set_new(o, "lots", arr);
        out_json_put(stdout, o);
        return;
    }
    printf("%s %lld %s at %s, first expiry first out:\n", relief_reason_name(op->reason),
           (long long)op->q, item, site);
    for (size_t i = 0; i < p->n; i++) {
        const struct query_take *t = &p->take[i];
        const struct query_cell *row;
        char d[11];
        cli_relief_fmt_day(t->exp, d);
        printf("  %lld from %s%s (expires %s)", (long long)t->qty, t->lot[0] ? "lot " : "",
               t->lot[0] ? t->lot : "no lot", d);
        if (query_cell(q, site, item, t->lot, t->exp, &row) == AM_OK)
            printf(": %lld left%s", (long long)row->v.value,
                   row->v.overdrawn ? " — OVERDRAWN" : "");
        putchar('\n');
    }
}

/* One movement or count on the cell it names, and what the cell holds now. 0, or 1 when the
 * cell cannot be read. */
static int cell_done(struct cli *c, struct query *q, const char *cmd, const struct relief_op *op,
                     const char *site, const char *item, const struct query_take *t)
{
    const struct query_cell *row;
    const struct relief_node_cell *cv;
    char lot[80] = "";

    if (t->lot[0] || t->exp) {
        char d[11];
        cli_relief_fmt_day(t->exp, d);
        snprintf(lot, sizeof lot, " (lot %s, expires %s)", t->lot[0] ? t->lot : "-", d);
    }
    if (query_cell(q, site, item, t->lot, t->exp, &row) != AM_OK) {
        cli_err("%s: written, but the stock view cannot be read: run `aidmesh reindex`", cmd);
        return 1;
    }
    cv = &row->v;
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "ok", json_true());
        json_object_set_new(o, "site", json_string(site));
        json_object_set_new(o, "item", json_string(item));
        json_object_set_new(o, "stock", json_integer(cv->value));
        json_object_set_new(o, "overdrawn", json_boolean(cv->overdrawn));
        json_object_set_new(o, "count_conflict", json_boolean(cv->count_conflict));
        out_json_put(stdout, o);
        return 0;
    }
    {
        char qn[96], vn[96]; /* in packs too, where the item has some (cli_pack.c) */
        cli_relief_fmt_qty(q, item, op->q, qn, sizeof qn);
        cli_relief_fmt_qty(q, item, cv->value, vn, sizeof vn);
        if (op->type == RELIEF_T_STOCK_COUNT)
            printf("counted %s %s at %s%s", qn, item, site, lot);
        else
            printf("%s %s %s at %s%s", relief_reason_name(op->reason), qn, item, site, lot);
        printf(": stock now %s%s\n", vn,
               cv->overdrawn ? " — OVERDRAWN: more was issued than this node knows was there" : "");
    }
    if (cv->count_conflict)
        printf("note: two counts were taken without seeing each other; `aidmesh stock "
               "show --site %s --item %s` shows them. Count again to settle it.\n",
               site, item);
    return 0;
}

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
                                         {"no-lot", no_argument, NULL, OPT_NO_LOT},
                                         {0, 0, 0, 0}};
    char cmd[32], site[RELIEF_SLUG_MAX + 1] = "", item[RELIEF_SLUG_MAX + 1] = "";
    int is_count = !strcmp(sub, "count"), opt, rc = 1, force = 0, have_q = 0, reason = 0;
    int no_lot = 0;
    struct cli_qty qs = {0};
    struct relief_op op;
    struct stock_plan *p = NULL;
    struct query *q = NULL;
    struct node n;
    int prc;

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
        if ((k = cli_relief_where_opt(cmd, opt, site, item)) != 0) {
            if (k < 0)
                return 2;
            continue;
        }
        switch (opt) {
        case OPT_QTY: /* base units or packs: resolved once the item's packs are read */
            if (cli_relief_arg_qtyp(cmd, optarg, is_count, &qs))
                return 2;
            have_q = 1;
            break;
        case OPT_LOT:
            if (cli_relief_arg_lot(cmd, optarg))
                return 2;
            op.lot = cli_relief_str(optarg);
            HAS(&op, LOT);
            break;
        case OPT_EXPIRY:
            if (cli_relief_arg_day(cmd, "--expiry", optarg, &op.exp))
                return 2;
            HAS(&op, EXP);
            break;
        case OPT_REASON:
            if (is_count)
                return cli_usage(cmd, "a count has no --reason: it records what is there");
            if (cli_relief_arg_enum(cmd, "--reason", optarg, relief_reason_name, 8, &reason))
                return 2;
            break;
        case OPT_NOTE:
            op.note = cli_relief_str(optarg);
            HAS(&op, NOTE);
            break;
        case OPT_FORCE:
            force = 1;
            break;
        case OPT_NO_LOT:
            no_lot = 1;
            break;
        default:
            return cli_bad_option(cmd, argv);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!site[0] || !item[0] || !have_q)
        return cli_usage(cmd, "--site, --item and --qty are required");
    if (no_lot && (op.has & (RELIEF_HAS(RELIEF_K_LOT) | RELIEF_HAS(RELIEF_K_EXP))))
        return cli_usage(cmd, "--no-lot and --lot/--expiry say opposite things: give one");
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
    op.site = cli_relief_str(site);
    op.item = cli_relief_str(item);
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if (!force && (!cli_relief_check_known(q, RELIEF_OBJ_SITE, site, cmd) ||
                   !cli_relief_check_known(q, RELIEF_OBJ_ITEM, item, cmd)))
        goto out;
    if (cli_relief_qty_units(q, cmd, item, &qs, &op.q))
        goto out;
    if (!(p = calloc(1, sizeof *p))) {
        cli_err("%s: out of memory", cmd);
        goto out;
    }
    /* one way to make it, the phone pages' too (stock_ops.h) */
    prc = stock_ops_plan(&n, q, &op,
                         (force ? STOCK_OPS_FORCE : 0) | (no_lot ? STOCK_OPS_NO_LOT : 0), p);
    query_close(q); /* the write goes to the store; the answer reads it anew */
    q = NULL;
    if (prc != AM_OK) {
        say_refusal(cmd, &op, site, item, p, prc);
        goto out;
    }
    if (p->fefo) {
        char err[RELIEF_ERR_MAX + 64];
        prc = stock_ops_write(&n, p, err, sizeof err);
        if (prc != AM_OK) {
            cli_err("%s: cannot write: %s", cmd, err[0] ? err : am_strerror(prc));
            goto out;
        }
    } else if (cli_relief_write_op(&n, cmd, &p->ops[0], force, NULL)) {
        goto out;
    }
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if (p->fefo)
        fefo_done(c, q, &op, site, item, p);
    else if (cell_done(c, q, cmd, &op, site, item, &p->take[0]))
        goto out;
    rc = 0;
out:
    query_close(q);
    free(p);
    node_close(&n);
    return rc;
}

static json_t *cell_json(struct query *q, const struct query_cell *w)
{
    const struct relief_node_cell *cv = &w->v;
    json_t *o = json_object();
    char exp[11];
    cli_relief_fmt_day(cv->exp, exp);
    json_object_set_new(o, "site", json_string(cv->site));
    json_object_set_new(o, "item", json_string(cv->item));
    json_object_set_new(o, "lot", cv->lot[0] ? json_string(cv->lot) : json_null());
    json_object_set_new(o, "expiry", cv->exp ? json_string(exp) : json_null());
    json_object_set_new(o, "stock", json_integer(cv->value));
    json_object_set_new(o, "overdrawn", json_boolean(w->flags & QUERY_CELL_OVERDRAWN));
    json_object_set_new(o, "count_conflict", json_boolean(w->flags & QUERY_CELL_CONFLICT));
    json_object_set_new(o, "expired", json_boolean(w->flags & QUERY_CELL_EXPIRED));
    json_object_set_new(o, "expiring", json_boolean(w->flags & QUERY_CELL_EXPIRING));
    json_object_set_new(o, "moves", json_integer(cv->n_moves));
    json_object_set_new(o, "counts", json_integer(cv->n_counts));
    json_object_set_new(o, "to_check", json_integer(cv->n_audit));
    json_object_set_new(o, "saturated", json_boolean(w->flags & QUERY_CELL_SATURATED));
    json_object_set_new(o, "forked", json_boolean(w->forked));
    json_object_set_new(o, "below_min", json_boolean(w->flags & QUERY_CELL_BELOW_MIN));
    json_object_set_new(o, "minimum", w->min ? json_integer(w->min) : json_null());
    json_object_set_new(o, "site_stock", json_integer(w->held));
    json_object_set_new(o, "in_packs", cli_relief_json_qty_packs(q, cv->item, cv->value));
    if (cv->has_winner) {
        json_object_set_new(o, "counted", json_integer(cv->winner.q));
        json_object_set_new(o, "since_count", json_integer(cv->after));
    }
    return o;
}

/* One row of the table; the flags in words. */
static void cell_line(struct query *q, FILE *f, const struct query_cell *w, int w_site, int w_item)
{
    const struct relief_node_cell *cv = &w->v;
    char exp[11], flags[160] = "", num[32];
    size_t o = 0;
    const struct query_pack *pk;
    int64_t count, rest;

    /* the stock in packs first, where the item has one that fits: "(12 carton)" */
    if (query_pack_split(q, cv->item, cv->value, &pk, &count, &rest) == AM_OK)
        o +=
            (size_t)snprintf(flags + o, sizeof flags - o, rest ? "(%lld %s + %lld) " : "(%lld %s) ",
                             (long long)count, pk->pack, (long long)rest);

    /* the packs take at most 72 bytes, the flags at most 85 more: never cut */
    if (w->flags & QUERY_CELL_OVERDRAWN)
        o += (size_t)snprintf(flags + o, sizeof flags - o, "OVERDRAWN ");
    if (w->flags & QUERY_CELL_CONFLICT)
        o += (size_t)snprintf(flags + o, sizeof flags - o, "%u-counts ", cv->n_maximal + 1);
    if (w->flags & QUERY_CELL_EXPIRED)
        o += (size_t)snprintf(flags + o, sizeof flags - o, "EXPIRED ");
    else if (w->flags & QUERY_CELL_EXPIRING)
        o += (size_t)snprintf(flags + o, sizeof flags - o, "exp-%lldd ", (long long)w->days_left);
    if (w->flags & QUERY_CELL_CHECK)
        o += (size_t)snprintf(flags + o, sizeof flags - o, "check-%u ", cv->n_audit);
    if (w->flags & QUERY_CELL_SATURATED)
        o += (size_t)snprintf(flags + o, sizeof flags - o, "capped ");
    if (w->flags & QUERY_CELL_BELOW_MIN)
        o += (size_t)snprintf(flags + o, sizeof flags - o, "BELOW-MIN ");
    if (w->forked)
        o += (size_t)snprintf(flags + o, sizeof flags - o, "forked ");
    cli_relief_fmt_day(cv->exp, exp);
    cli_relief_cols(f, cv->site, w_site);
    fputc(' ', f);
    cli_relief_cols(f, cv->item, w_item);
    fputc(' ', f);
    cli_relief_cols(f, cv->lot[0] ? cv->lot : "-", 8);
    fputc(' ', f);
    cli_relief_cols(f, exp, 10);
    fputc(' ', f);
    snprintf(num, sizeof num, "%lld", (long long)cv->value);
    if (!o) {
        fprintf(f, "%9s\n", num);
        return;
    }
    cli_relief_col(f, num, strlen(num), 9, 1);
    flags[o - 1] = 0; /* the trailing space */
    fputc(' ', f);
    cli_relief_col_end(f, flags, o - 1, (int)sizeof flags, ""); /* short words: never cut */
}

static int below_min_lines(struct query *q, FILE *f, const char *site, const char *item);
static void stock_table(struct query *q, FILE *f, const struct query_cell *rows, size_t n);

int cli_relief_stock_show(struct query *q, FILE *f, const struct query_cell_filter *cf, int json)
{
    const struct query_cell *rows;
    size_t n;
    int rc;

    if ((rc = query_cells(q, cf, &rows, &n)) != AM_OK)
        return rc;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, cell_json(q, &rows[i]));
        return out_json_put(f, arr) == 0 ? AM_OK : AM_ENOMEM;
    }
    if (!n)
        fprintf(f, "no stock recorded%s%s%s%s\n", cf->site ? " at " : "", cf->site ? cf->site : "",
                cf->item ? " of " : "", cf->item ? cf->item : "");
    else
        stock_table(q, f, rows, n);
    return below_min_lines(q, f, cf->site, cf->item);
}

/* The (site, item) pairs below their minimum, under the table: also those whose cells are
 * all at 0 and so not listed. */
static int below_min_lines(struct query *q, FILE *f, const char *site, const char *item)
{
    const struct query_level *lv;
    size_t nl;
    int rc = query_below_min(q, site, item, &lv, &nl);
    if (rc != AM_OK)
        return rc;
    for (size_t i = 0; i < nl; i++)
        fprintf(f, "BELOW MIN  %s at %s: %lld held in all lots, minimum %lld\n", lv[i].item,
                lv[i].site, (long long)lv[i].held, (long long)lv[i].min);
    return AM_OK;
}

static void stock_table(struct query *q, FILE *f, const struct query_cell *rows, size_t n)
{
    unsigned seen = 0;
    size_t forked = 0;
    int w_site = CODE_COL_MIN, w_item = CODE_COL_MIN;
    for (size_t i = 0; i < n; i++) {
        w_site = cli_relief_code_width(w_site, rows[i].v.site);
        w_item = cli_relief_code_width(w_item, rows[i].v.item);
        seen |= rows[i].flags;
        forked += rows[i].forked;
    }
    fprintf(f, "%-*s %-*s %-8s %-10s %9s %s\n", w_site, "SITE", w_item, "ITEM", "LOT", "EXPIRES",
            "STOCK", "FLAGS");
    for (size_t i = 0; i < n; i++)
        cell_line(q, f, &rows[i], w_site, w_item);
    fprintf(f, "%zu cell%s\n", n, n == 1 ? "" : "s");
    if (seen & QUERY_CELL_OVERDRAWN)
        fprintf(f,
                "OVERDRAWN  more was issued than was known to be there (offline at 2 places?)\n");
    if (seen & QUERY_CELL_CONFLICT)
        fprintf(f, "N-counts   counts taken without seeing each other; count again to settle\n");
    if (seen & QUERY_CELL_EXPIRED)
        fprintf(f, "EXPIRED    the lot's expiry date has passed\n");
    if (seen & QUERY_CELL_EXPIRING)
        fprintf(f, "exp-Nd     the lot expires within N days\n");
    if (seen & QUERY_CELL_CHECK)
        fprintf(f, "check-N    N moves were recorded elsewhere while a count was taken: check\n"
                   "           whether the count already included them\n");
    if (seen & QUERY_CELL_BELOW_MIN)
        fprintf(f, "BELOW-MIN  the site holds less of the item, all lots together, than its\n"
                   "           minimum (`aidmesh stock min`)\n");
    if (forked)
        fprintf(f, "forked     moved or counted by a node whose key is in use on two machines:\n"
                   "           `aidmesh forks`\n");
}

static int stock_show(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"site", required_argument, NULL, OPT_SITE},
                                         {"item", required_argument, NULL, OPT_ITEM},
                                         {"all", no_argument, NULL, OPT_ALL},
                                         {0, 0, 0, 0}};
    const char *cmd = "stock show";
    char site[RELIEF_SLUG_MAX + 1] = "", item[RELIEF_SLUG_MAX + 1] = "";
    struct query_cell_filter cf = {0};
    struct query *q = NULL;
    struct node n;
    int opt, rc, ret = 1, all = 0;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(stock_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt == OPT_SITE) {
            if (cli_relief_arg_site(cmd, optarg, site))
                return 2;
        } else if (opt == OPT_ITEM) {
            if (cli_relief_arg_item(cmd, optarg, item))
                return 2;
        } else if (opt == OPT_ALL) {
            all = 1;
        } else {
            return cli_bad_option(cmd, argv);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if (((site[0] && !cli_relief_known_quiet(q, RELIEF_OBJ_SITE, site)) ||
         (item[0] && !cli_relief_known_quiet(q, RELIEF_OBJ_ITEM, item))) &&
        !cli_relief_has_rows(q, site[0] ? site : NULL, item[0] ? item : NULL, 0)) {
        /* not defined here and nothing recorded under it: most likely a typo */
        if (site[0] && !cli_relief_known_quiet(q, RELIEF_OBJ_SITE, site))
            cli_relief_check_known(q, RELIEF_OBJ_SITE, site, cmd);
        else
            cli_relief_check_known(q, RELIEF_OBJ_ITEM, item, cmd);
        goto out;
    }
    cf.site = site[0] ? site : NULL;
    cf.item = item[0] ? item : NULL;
    cf.nonzero = !all;
    if ((rc = cli_relief_stock_show(q, stdout, &cf, c->json)) != AM_OK)
        cli_err("%s: cannot read the views: %s%s", cmd, am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
    ret = rc == AM_OK ? 0 : 1;
out:
    query_close(q);
    node_close(&n);
    return ret;
}

/* `stock min`: the minimum level of an item at a site, a register like any other field
 * (PROTOCOL.md 10.4 "stock.min"): sup names the heads this node sees. */
static int stock_min(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"site", required_argument, NULL, OPT_SITE},
                                         {"item", required_argument, NULL, OPT_ITEM},
                                         {"qty", required_argument, NULL, OPT_QTY},
                                         {"force", no_argument, NULL, OPT_FORCE},
                                         {0, 0, 0, 0}};
    const char *cmd = "stock min";
    char site[RELIEF_SLUG_MAX + 1] = "", item[RELIEF_SLUG_MAX + 1] = "";
    struct relief_ref sup[RELIEF_REFS_MAX];
    uint32_t nsup = 0;
    const struct query_level *l;
    struct cli_qty qs = {0};
    struct relief_op op;
    struct query *q = NULL;
    struct node n;
    int opt, rc = 1, force = 0, have_q = 0, lrc;

    memset(&op, 0, sizeof op);
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(stock_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if ((k = cli_relief_where_opt(cmd, opt, site, item)) != 0) {
            if (k < 0)
                return 2;
            continue;
        }
        switch (opt) {
        case OPT_QTY:
            if (cli_relief_arg_qtyp(cmd, optarg, 1, &qs))
                return 2;
            have_q = 1;
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
        return cli_usage(cmd, "--site, --item and --qty are required (--qty 0: no minimum)");
    op.type = RELIEF_T_STOCK_MIN;
    op.site = cli_relief_str(site);
    op.item = cli_relief_str(item);
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if (!force && (!cli_relief_check_known(q, RELIEF_OBJ_SITE, site, cmd) ||
                   !cli_relief_check_known(q, RELIEF_OBJ_ITEM, item, cmd)))
        goto out;
    if (cli_relief_qty_units(q, cmd, item, &qs, &op.q))
        goto out;
    lrc = query_level(q, site, item, &l);
    if (lrc == AM_OK && cli_relief_add_sup(&l->reg, sup, &nsup) != AM_OK) {
        cli_err("%s: too many concurrent heads to name; run `aidmesh reindex` if the store is "
                "damaged",
                cmd);
        goto out;
    } else if (lrc != AM_OK && lrc != AM_ENOTFOUND) {
        cli_err("%s: cannot read the views: %s", cmd, am_strerror(lrc));
        goto out;
    }
    relief_refs_sort(sup, &nsup);
    if (nsup) {
        op.sup.n = nsup;
        op.sup.arr = sup;
        HAS(&op, SUP);
    }
    query_close(q); /* the write goes to the store; the answer reads it anew */
    q = NULL;
    if (cli_relief_write_op(&n, cmd, &op, force, NULL))
        goto out;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if ((lrc = query_level(q, site, item, &l)) != AM_OK) {
        cli_err("%s: written, but the views cannot be read: run `aidmesh reindex`", cmd);
        goto out;
    }
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "ok", json_true());
        json_object_set_new(o, "site", json_string(site));
        json_object_set_new(o, "item", json_string(item));
        json_object_set_new(o, "minimum", json_integer(l->min));
        json_object_set_new(o, "stock", json_integer(l->held));
        json_object_set_new(o, "below_min", json_boolean(l->below));
        json_object_set_new(o, "conflict", json_boolean(l->reg.conflict));
        out_json_put(stdout, o);
    } else {
        if (l->min)
            printf("minimum of %s at %s: %lld; %lld held in all lots%s\n", item, site,
                   (long long)l->min, (long long)l->held, l->below ? " — BELOW MIN" : "");
        else
            printf("no minimum of %s at %s any more; %lld held in all lots\n", item, site,
                   (long long)l->held);
        if (l->reg.conflict)
            printf("note: another node set a different minimum at the same time; this one shows "
                   "the latest by clock. Set it again to settle it.\n");
    }
    rc = 0;
out:
    query_close(q);
    node_close(&n);
    return rc;
}

static json_t *total_json(const struct query_total *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "item", json_string(t->item));
    json_object_set_new(o, "stock", json_integer(t->held));
    json_object_set_new(o, "sites", json_integer(t->sites));
    json_object_set_new(o, "below_min", json_integer(t->below_min));
    json_object_set_new(o, "overdrawn", json_integer(t->overdrawn));
    json_object_set_new(o, "expiring", json_integer(t->expiring));
    json_object_set_new(o, "expired", json_integer(t->expired));
    json_object_set_new(o, "saturated", json_boolean(t->saturated));
    return o;
}

int cli_relief_stock_totals(struct query *q, FILE *f, const char *item, int json)
{
    const struct query_total *rows;
    size_t n;
    int rc, w_item = CODE_COL_MIN;

    if ((rc = query_totals(q, item, &rows, &n)) != AM_OK)
        return rc;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, total_json(&rows[i]));
        return out_json_put(f, arr) == 0 ? AM_OK : AM_ENOMEM;
    }
    if (!n) {
        fprintf(f, "no stock recorded%s%s\n", item ? " of " : "", item ? item : "");
        return AM_OK;
    }
    for (size_t i = 0; i < n; i++)
        w_item = cli_relief_code_width(w_item, rows[i].item);
    fprintf(f, "%-*s %12s %5s %9s %9s %8s %7s\n", w_item, "ITEM", "STOCK", "SITES", "BELOW-MIN",
            "OVERDRAWN", "EXPIRING", "EXPIRED");
    for (size_t i = 0; i < n; i++) {
        const struct query_total *t = &rows[i];
        cli_relief_cols(f, t->item, w_item);
        fprintf(f, " %12lld%s %5u %9u %9u %8u %7u\n", (long long)t->held, t->saturated ? "+" : "",
                t->sites, t->below_min, t->overdrawn, t->expiring, t->expired);
    }
    fprintf(f,
            "%zu item%s across the sites; each count is of sites (`aidmesh stock show --item "
            "I` lists them)\n",
            n, n == 1 ? "" : "s");
    return AM_OK;
}

static int stock_totals(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS, {"item", required_argument, NULL, OPT_ITEM}, {0, 0, 0, 0}};
    const char *cmd = "stock totals";
    char item[RELIEF_SLUG_MAX + 1] = "";
    struct query *q = NULL;
    struct node n;
    int opt, rc, ret = 1;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(stock_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt == OPT_ITEM) {
            if (cli_relief_arg_item(cmd, optarg, item))
                return 2;
        } else {
            return cli_bad_option(cmd, argv);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if (item[0] && !cli_relief_known_quiet(q, RELIEF_OBJ_ITEM, item) &&
        !cli_relief_has_rows(q, NULL, item, 0)) {
        cli_relief_check_known(q, RELIEF_OBJ_ITEM, item, cmd); /* a typo, most likely */
        goto out;
    }
    if ((rc = cli_relief_stock_totals(q, stdout, item[0] ? item : NULL, c->json)) != AM_OK)
        cli_err("%s: cannot read the views: %s%s", cmd, am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
    ret = rc == AM_OK ? 0 : 1;
out:
    query_close(q);
    node_close(&n);
    return ret;
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
    if (!strcmp(argv[1], "min"))
        return stock_min(c, argc - 1, argv + 1);
    if (!strcmp(argv[1], "totals"))
        return stock_totals(c, argc - 1, argv + 1);
    return cli_usage("stock",
                     "unknown subcommand '%s': receive, issue, adjust, count, show, min or totals",
                     argv[1]);
}
