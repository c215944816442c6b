/*
 * cli_need.c: `aidmesh need`: adding needs, listing them (cli_relief_need_list, also used by
 * the benchmark), showing one with its history of heads, and changing one (update,
 * deliver, close; PROTOCOL.md section 10).
 *
 * Never writes an op that the parsers of cli_relief.c have not checked; never sorts or
 * filters beyond what the listing promises; never prints a view's text unescaped (out.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_grow.h"
#include "cli.h"
#include "cli_relief_int.h"
#include "hlc.h"
#include "out.h"

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
            if (cli_relief_arg_site(cmd, optarg, site))
                return 2;
            break;
        case OPT_ITEM:
            if (cli_relief_arg_item(cmd, optarg, item))
                return 2;
            break;
        case OPT_QTY:
            if (cli_relief_arg_qty(cmd, optarg, 0, &op.q))
                return 2;
            have_q = 1;
            break;
        case OPT_PRI:
            if (cli_relief_arg_enum(cmd, "--priority", optarg, relief_priority_name, 4, &op.pri))
                return 2;
            break;
        case OPT_NOTE:
            op.note = cli_relief_str(optarg);
            HAS(&op, NOTE);
            break;
        case OPT_BY:
            if (cli_relief_arg_day(cmd, "--by", optarg, &op.by))
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
    op.site = cli_relief_str(site);
    op.item = cli_relief_str(item);
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!force && (!cli_relief_check_known(n.store, RELIEF_OBJ_SITE, site, cmd) ||
                   !cli_relief_check_known(n.store, RELIEF_OBJ_ITEM, item, cmd))) {
        node_close(&n);
        return 1;
    }
    rc = cli_relief_write_op(&n, cmd, &op, force, hash);
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
    snprintf(w->site, sizeof w->site, "%s", nv.site); /* arrays of one size: never cut */
    snprintf(w->item, sizeof w->item, "%s", nv.item);
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
            w_site = cli_relief_code_width(w_site, nr.v[i].site);
            w_item = cli_relief_code_width(w_item, nr.v[i].item);
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
        cli_relief_fmt_day(w->by, by);
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
        cli_relief_cols(f, w->pri ? relief_priority_name(w->pri) : "-", 8);
        fputc(' ', f);
        cli_relief_cols(f, w->opened ? w->site : "?", w_site);
        fputc(' ', f);
        cli_relief_cols(f, w->opened ? w->item : "?", w_item);
        snprintf(dq, sizeof dq, "%lld/%lld", (long long)w->delivered, (long long)w->q);
        fputc(' ', f);
        cli_relief_col(f, dq, strlen(dq), 13, 1);
        fputc(' ', f);
        {
            char st[16];
            snprintf(st, sizeof st, "%s%s", status_text(w), w->conflict ? "!" : "");
            cli_relief_cols(f, st, 10);
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
            if (cli_relief_arg_site(cmd, optarg, site))
                return 2;
            break;
        case OPT_STATUS:
            if (!strcmp(optarg, "all"))
                status = 0;
            else if (cli_relief_arg_enum(cmd, "--status", optarg, relief_status_name, 3, &status))
                return 2;
            break;
        case OPT_PRI:
            if (cli_relief_arg_enum(cmd, "--priority", optarg, relief_priority_name, 4, &pri))
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
    if (site[0] && !cli_relief_known_quiet(n.store, RELIEF_OBJ_SITE, site) &&
        !cli_relief_has_rows(n.store, site, NULL, 1)) {
        cli_relief_check_known(n.store, RELIEF_OBJ_SITE, site, cmd); /* says what to type */
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
    if (cli_relief_find_need(n.store, cmd, argv[optind], id) ||
        load_need(n.store, cmd, id, &v, &nv))
        goto out;
    relief_id_hex(id, hex);
    cli_relief_fmt_day(nv.by.n_heads && nv.by.set ? (uint32_t)nv.by.i : 0, by);
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
        cli_relief_json_reg_text(stdout, "note", &nv.note);
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
            if (cli_relief_arg_qty(cmd, optarg, 0, &op.q))
                return 2;
            HAS(&op, Q);
            break;
        case OPT_PRI:
            if (type != RELIEF_T_NEED_UPD)
                return cli_usage(cmd, "--priority belongs to `need update`");
            if (cli_relief_arg_enum(cmd, "--priority", optarg, relief_priority_name, 4, &op.pri))
                return 2;
            HAS(&op, PRI);
            break;
        case OPT_NOTE:
            op.note = cli_relief_str(optarg);
            HAS(&op, NOTE);
            break;
        case OPT_BY:
            if (type != RELIEF_T_NEED_UPD)
                return cli_usage(cmd, "--by belongs to `need update`");
            if (strcmp(optarg, "none") && cli_relief_arg_day(cmd, "--by", optarg, &op.by))
                return 2;
            HAS(&op, BY);
            break;
        case OPT_REASON:
            if (type != RELIEF_T_NEED_CLOSE)
                return cli_usage(cmd, "--reason belongs to `need close`");
            if (!strcmp(optarg, "open"))
                return cli_usage(cmd, "--reason takes fulfilled or cancelled (a need is reopened "
                                      "by opening a new one)");
            if (cli_relief_arg_enum(cmd, "--reason", optarg, relief_status_name, 3, &op.st))
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
    if (cli_relief_find_need(n.store, cmd, argv[optind], id) ||
        load_need(n.store, cmd, id, &v, &nv))
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
            bad |= cli_relief_add_sup(&nv.q, sup, &nsup);
        if (op.has & RELIEF_HAS(RELIEF_K_PRI))
            bad |= cli_relief_add_sup(&nv.pri, sup, &nsup);
        if (op.has & RELIEF_HAS(RELIEF_K_NOTE))
            bad |= cli_relief_add_sup(&nv.note, sup, &nsup);
        if (op.has & RELIEF_HAS(RELIEF_K_BY))
            bad |= cli_relief_add_sup(&nv.by, sup, &nsup);
        if (op.has & RELIEF_HAS(RELIEF_K_ST))
            bad |= cli_relief_add_sup(&nv.st, sup, &nsup);
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
    if (cli_relief_write_op(&n, cmd, &op, 1, NULL)) /* the need was found above */
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
