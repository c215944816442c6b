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
            if (cli_relief_arg_site(cmd, optarg, site))
                return 2;
            break;
        case OPT_ITEM:
            if (cli_relief_arg_item(cmd, optarg, item))
                return 2;
            break;
        case OPT_QTY:
            if (cli_relief_arg_qty(cmd, optarg, is_count, &op.q))
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
    op.site = cli_relief_str(site);
    op.item = cli_relief_str(item);
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!force && (!cli_relief_check_known(n.store, RELIEF_OBJ_SITE, site, cmd) ||
                   !cli_relief_check_known(n.store, RELIEF_OBJ_ITEM, item, cmd)))
        goto out;
    {
        struct relief_key key;
        struct relief_node_cell cv;
        uint8_t *v = NULL;
        size_t vl;
        char lot[80] = "";
        memset(&key, 0, sizeof key);
        key.kind = RELIEF_OBJ_CELL;
        snprintf(key.site, sizeof key.site, "%s", site); /* arrays of one size: never cut */
        snprintf(key.item, sizeof key.item, "%s", item);
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
        if (cli_relief_write_op(&n, cmd, &op, force, NULL))
            goto out;
        if (key.lot[0] || key.exp) {
            char d[11];
            cli_relief_fmt_day(key.exp, d);
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
        cr->w_site = cli_relief_code_width(cr->w_site, cv.site);
        cr->w_item = cli_relief_code_width(cr->w_item, cv.item);
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
    cli_relief_fmt_day(cv.exp, exp);
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
    /* the flags take at most 68 of the 96 bytes: never cut */
    if (cv.overdrawn) {
        snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "OVERDRAWN ");
        cr->overdrawn++;
    }
    if (cv.count_conflict) {
        snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "%u-counts ",
                 cv.n_maximal + 1);
        cr->conflicts++;
    }
    if (expired) {
        snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "EXPIRED ");
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
        snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "capped ");
    cli_relief_cols(cr->f, cv.site, cr->w_site);
    fputc(' ', cr->f);
    cli_relief_cols(cr->f, cv.item, cr->w_item);
    fputc(' ', cr->f);
    cli_relief_cols(cr->f, cv.lot[0] ? cv.lot : "-", 8);
    fputc(' ', cr->f);
    cli_relief_cols(cr->f, exp, 10);
    fputc(' ', cr->f);
    snprintf(num, sizeof num, "%lld", (long long)cv.value);
    if (!flags[0]) {
        fprintf(cr->f, "%9s\n", num);
        return 0;
    }
    cli_relief_col(cr->f, num, strlen(num), 9, 1);
    flags[strlen(flags) - 1] = 0; /* the trailing space */
    fputc(' ', cr->f);
    cli_relief_col_end(cr->f, flags, strlen(flags), (int)sizeof flags,
                       ""); /* short words: never cut */
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
            if (cli_relief_arg_site(cmd, optarg, site))
                return 2;
        } else if (opt == OPT_ITEM) {
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
    if (((site[0] && !cli_relief_known_quiet(n.store, RELIEF_OBJ_SITE, site)) ||
         (item[0] && !cli_relief_known_quiet(n.store, RELIEF_OBJ_ITEM, item))) &&
        !cli_relief_has_rows(n.store, site[0] ? site : NULL, item[0] ? item : NULL, 0)) {
        /* not defined here and nothing recorded under it: most likely a typo */
        if (site[0] && !cli_relief_known_quiet(n.store, RELIEF_OBJ_SITE, site))
            cli_relief_check_known(n.store, RELIEF_OBJ_SITE, site, cmd);
        else
            cli_relief_check_known(n.store, RELIEF_OBJ_ITEM, item, cmd);
        node_close(&n);
        return 1;
    }
    rc = cli_relief_stock_show(n.store, stdout, site[0] ? site : NULL, item[0] ? item : NULL,
                               c->json, cli_relief_today());
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
