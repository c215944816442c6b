/*
 * cli_ship.c: `aidmesh ship`: shipments between sites (PROTOCOL.md 10.4, 10.8.6): create,
 * dispatch, receive, cancel, list, show. Parses the options, calls one node/ function
 * (ship_ops.h to write, the read model query.h to read) and prints; never prints a view's
 * text unescaped (out.h).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_text.h"
#include "cli.h"
#include "cli_relief_int.h"
#include "hlc.h"
#include "out.h"
#include "ship_ops.h"

static const char ship_help[] =
    "usage: aidmesh ship create   --from A --to B --item I --qty N [--lot L] [--need ID]\n"
    "                             [--item I --qty N ...] [--by DATE] [--ref TEXT]\n"
    "                             [--note TEXT] [--force] [--json]\n"
    "       aidmesh ship dispatch ID [--note TEXT] [--force] [--json]\n"
    "       aidmesh ship receive  ID [--qty N ...] [--reason TEXT] [--json]\n"
    "       aidmesh ship cancel   ID [--note TEXT] [--json]\n"
    "       aidmesh ship list     [--status created|dispatched|received|cancelled]\n"
    "                             [--site S] [--json]\n"
    "       aidmesh ship show     ID [--json]\n"
    "\n"
    "A shipment moves goods from one site to another. `create` records what is to go: one\n"
    "line per --item, with its --qty in base units, and at will a --lot (the site must hold\n"
    "it) and the --need it serves (a need of the same item). `dispatch` records that it\n"
    "left: lines without lot take from the lots of the site first expiry first out, as\n"
    "`stock issue` does, and the stock leaves the site's cells on every node. `receive`\n"
    "records what arrived, into the cells of the site it went to: by default all of it;\n"
    "--qty, once per line of the dispatch in the order `ship show` lists them, says what\n"
    "arrived of each, and --reason says why the rest did not (it is shown as lost in\n"
    "transit). A shipment received twice counts once. `cancel` drops a shipment that has\n"
    "not left. A need shows what shipments have committed, carry and delivered for it.\n"
    "ID is at least 4 hex digits of the shipment's id, as `ship list` shows it.\n"
    "\n"
    "  --force    create: to or from a site, of an item, lot or need not known here;\n"
    "             dispatch: even if this node sees too little stock (the cell then shows\n"
    "             OVERDRAWN)\n";

enum {
    O_FROM = 3100,
    O_TO,
    O_ITEM,
    O_QTY,
    O_LOT,
    O_NEED,
    O_BY,
    O_REF,
    O_NOTE,
    O_REASON,
    O_FORCE,
    O_STATUS,
    O_SITE
};

/* ---- output ---- */

static void fmt_id(const uint8_t id[RELIEF_ID_LEN], unsigned digits, char out[33])
{
    relief_id_hex(id, out);
    out[digits < 32 ? digits : 32] = 0;
}

static void fmt_hlc(uint64_t hlc, char out[32])
{
    if (!hlc) {
        snprintf(out, 32, "-");
        return;
    }
    out_iso_ms(out, hlc_ms(hlc));
}

static json_t *json_lines(const struct query_ship_step *st)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; i < st->n; i++) {
        const struct query_ship_line *l = &st->ln[i];
        json_t *o = json_object();
        char hex[33], d[11];
        cli_relief_fmt_day(l->exp, d);
        json_object_set_new(o, "item", json_string(l->item));
        json_object_set_new(o, "qty", json_integer(l->q));
        json_object_set_new(o, "lot", l->lot[0] ? json_string(l->lot) : json_null());
        json_object_set_new(o, "expiry", l->exp ? json_string(d) : json_null());
        relief_id_hex(l->need, hex);
        json_object_set_new(o, "need", l->has_need ? json_string(hex) : json_null());
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *json_step(const struct query_ship_step *st)
{
    json_t *o;
    char t[32], a[65];
    if (!st->present)
        return json_null();
    o = json_object();
    fmt_hlc(st->hlc, t);
    out_hex(a, st->ref.author, AM_PK_LEN);
    json_object_set_new(o, "at", json_string(t));
    json_object_set_new(o, "author", json_string(a));
    json_object_set_new(o, "seq", out_json_u64(st->ref.seq));
    json_object_set_new(o, "site", st->site[0] ? json_string(st->site) : json_null());
    json_object_set_new(o, "note", out_json_text(st->note, st->note_len));
    json_object_set_new(o, "lines", json_lines(st));
    return o;
}

static json_t *json_ship(const struct query_ship *s)
{
    json_t *o = json_object();
    char hex[33], d[11];
    relief_id_hex(s->id, hex);
    cli_relief_fmt_day(s->by, d);
    json_object_set_new(o, "id", json_string(hex));
    json_object_set_new(o, "status",
                        json_string(s->status ? relief_ship_status_name(s->status) : "unknown"));
    json_object_set_new(o, "from", s->from[0] ? json_string(s->from) : json_null());
    json_object_set_new(o, "to", s->to[0] ? json_string(s->to) : json_null());
    json_object_set_new(o, "ref", s->doc_len ? out_json_text(s->doc, s->doc_len) : json_null());
    json_object_set_new(o, "by", s->by ? json_string(d) : json_null());
    json_object_set_new(o, "planned", json_integer(s->planned));
    json_object_set_new(o, "sent", json_integer(s->sent));
    json_object_set_new(o, "arrived", json_integer(s->arrived));
    json_object_set_new(o, "lost", json_integer(s->lost));
    json_object_set_new(o, "created", json_step(&s->made));
    json_object_set_new(o, "dispatched", json_step(&s->dsp));
    json_object_set_new(o, "received", json_step(&s->rcv));
    json_object_set_new(o, "cancelled", json_step(&s->cxl));
    json_object_set_new(o, "dispatches", json_integer(s->n_dsp));
    json_object_set_new(o, "receipts", json_integer(s->n_rcv));
    json_object_set_new(o, "duplicate_receipts", json_integer(s->n_rcv ? s->n_rcv - 1 : 0));
    return o;
}

static void print_lines(const struct query_ship_step *st, const struct query_ship_step *sent)
{
    for (uint32_t i = 0; i < st->n; i++) {
        const struct query_ship_line *l = &st->ln[i];
        char d[11], hex[33];
        printf("    %2" PRIu32 ". %lld %s", i + 1, (long long)l->q, l->item);
        if (l->lot[0] || l->exp) {
            cli_relief_fmt_day(l->exp, d);
            printf(" (lot %s, expires %s)", l->lot[0] ? l->lot : "-", d);
        }
        if (sent && i < sent->n && sent->ln[i].q > l->q)
            printf(" of %lld: %lld lost", (long long)sent->ln[i].q,
                   (long long)(sent->ln[i].q - l->q));
        if (l->has_need) {
            relief_id_hex(l->need, hex);
            printf("  for need %.8s", hex);
        }
        putchar('\n');
    }
}

static void print_step(const char *what, const struct query_ship_step *st,
                       const struct query_ship_step *sent)
{
    char t[32], a[65];
    if (!st->present)
        return;
    fmt_hlc(st->hlc, t);
    out_hex(a, st->ref.author, 6);
    printf("  %-11s %s by %s%s%s\n", what, t, a, st->site[0] ? " at " : "", st->site);
    if (st->note_len) {
        printf("    note: ");
        out_text(stdout, st->note, st->note_len, OUT_TEXT_LINES, "          ");
        putchar('\n');
    }
    print_lines(st, sent);
}

static void print_ship(const struct query_ship *s)
{
    char hex[33], d[11];
    fmt_id(s->id, 32, hex);
    printf("shipment %s: %s\n", hex, s->status ? relief_ship_status_name(s->status) : "unknown");
    printf("  from %s to %s", s->from[0] ? s->from : "?", s->to[0] ? s->to : "?");
    if (s->by) {
        cli_relief_fmt_day(s->by, d);
        printf(", needed by %s", d);
    }
    putchar('\n');
    if (s->doc_len) {
        printf("  ref: ");
        out_text(stdout, s->doc, s->doc_len, 0, NULL);
        putchar('\n');
    }
    if (!s->made.present)
        printf("  its creation has not reached this node yet\n");
    print_step("created", &s->made, NULL);
    print_step("dispatched", &s->dsp, NULL);
    print_step("received", &s->rcv, &s->dsp);
    print_step("cancelled", &s->cxl, NULL);
    if (s->status == RELIEF_SHIP_RECEIVED)
        printf("  sent %lld, arrived %lld, lost in transit %lld\n", (long long)s->sent,
               (long long)s->arrived, (long long)s->lost);
    if (s->n_rcv > 1)
        printf("  %u more receipt%s recorded elsewhere at the same time: duplicate%s, they move "
               "nothing\n",
               s->n_rcv - 1, s->n_rcv == 2 ? "" : "s", s->n_rcv == 2 ? "" : "s");
    if (s->n_dsp > 1)
        printf("  dispatched %u times without seeing each other: the first counts; check the "
               "stock of %s with a count\n",
               s->n_dsp, s->from);
    if (s->status == RELIEF_SHIP_CANCELLED && s->dsp.present)
        printf("  cancelled after it left: %lld sent are not at %s; receive it where it "
               "arrived, or receive the stock back at %s\n",
               (long long)s->sent, s->to, s->from);
}

/* ---- helpers ---- */

static int find_ship(struct query *q, const char *cmd, const char *hex,
                     const struct query_ship **row)
{
    uint8_t id[RELIEF_ID_LEN];
    unsigned matches;
    int rc;
    if (strlen(hex) < 4 || strlen(hex) > 32 ||
        strspn(hex, "0123456789abcdefABCDEF") != strlen(hex)) {
        cli_usage(cmd,
                  "'%s' is not a shipment id: give at least 4 of its hex digits, as `aidmesh "
                  "ship list` shows them",
                  hex);
        return -1;
    }
    rc = query_ship_find(q, hex, id, &matches);
    if (rc == AM_ENOTFOUND) {
        cli_err("%s: no shipment '%s' here; `aidmesh ship list` lists them", cmd, hex);
        return -1;
    }
    if (rc != AM_OK) {
        cli_err("%s: cannot read the store: %s", cmd, am_strerror(rc));
        return -1;
    }
    if (matches > 1) {
        cli_err("%s: shipment id '%s' matches more than one shipment; type more of its digits", cmd,
                hex);
        return -1;
    }
    if ((rc = query_ship(q, id, row)) != AM_OK) {
        cli_err("%s: cannot read the shipment: %s", cmd, am_strerror(rc));
        return -1;
    }
    return 0;
}

/* A text option: printable, one line, at most max bytes. */
static int arg_text(const char *cmd, const char *flag, const char *in, size_t max, int lines)
{
    struct am_text_bad tb;
    char why[112];
    if (strlen(in) > max) {
        cli_usage(cmd, "%s is %zu bytes long, over the limit of %zu", flag, strlen(in), max);
        return -1;
    }
    if (am_text_check((const uint8_t *)in, strlen(in), lines ? AM_TEXT_LINES : 0, &tb) != AM_OK) {
        am_text_explain(why, sizeof why, &tb);
        cli_usage(cmd, "%s must be printable text: %s", flag, why);
        return -1;
    }
    return 0;
}

/* Writes what a write did: the shipment anew, from a fresh query. */
static int show_after(struct cli *c, struct node *n, const char *cmd, const uint8_t *id)
{
    struct query *q = cli_relief_query(n, cmd);
    const struct query_ship *s;
    int rc = 1;
    if (!q)
        return 1;
    if (query_ship(q, id, &s) != AM_OK) {
        cli_err("%s: written, but the views cannot be read: run `aidmesh reindex`", cmd);
    } else if (c->json) {
        json_t *o = json_ship(s);
        json_object_set_new(o, "ok", json_true());
        rc = out_json_put(stdout, o) ? 1 : 0;
    } else {
        print_ship(s);
        rc = 0;
    }
    query_close(q);
    return rc;
}

/* ---- create ---- */

static int ship_create(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"from", required_argument, NULL, O_FROM},
                                         {"to", required_argument, NULL, O_TO},
                                         {"item", required_argument, NULL, O_ITEM},
                                         {"qty", required_argument, NULL, O_QTY},
                                         {"lot", required_argument, NULL, O_LOT},
                                         {"need", required_argument, NULL, O_NEED},
                                         {"by", required_argument, NULL, O_BY},
                                         {"ref", required_argument, NULL, O_REF},
                                         {"note", required_argument, NULL, O_NOTE},
                                         {"force", no_argument, NULL, O_FORCE},
                                         {0, 0, 0, 0}};
    const char *cmd = "ship create";
    char from[RELIEF_SLUG_MAX + 1] = "", to[RELIEF_SLUG_MAX + 1] = "";
    struct ship_line_in *ln = calloc(RELIEF_LINES_MAX, sizeof *ln);
    const char *need_hex[RELIEF_LINES_MAX] = {NULL};
    int have_q[RELIEF_LINES_MAX] = {0};
    const char *ref = NULL, *note = NULL;
    uint32_t by = 0;
    size_t nl = 0;
    struct query *q = NULL;
    struct node n;
    uint8_t id[RELIEF_ID_LEN];
    char err[512];
    int opt, rc = 2, force = 0, opened = 0, wrc;

    if (!ln) {
        cli_err("%s: out of memory", cmd);
        return 1;
    }
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(ship_help, stdout);
            rc = 0;
            goto out;
        }
        if (k)
            continue;
        switch (opt) {
        case O_FROM:
        case O_TO:
            if (cli_relief_arg_site(cmd, optarg, opt == O_FROM ? from : to))
                goto out;
            break;
        case O_ITEM:
            if (nl == RELIEF_LINES_MAX) {
                cli_usage(cmd, "a shipment has at most %d lines: split it", RELIEF_LINES_MAX);
                goto out;
            }
            if (cli_relief_arg_item(cmd, optarg, ln[nl].item))
                goto out;
            nl++;
            break;
        case O_QTY:
        case O_LOT:
        case O_NEED:
            if (!nl) {
                cli_usage(cmd, "%s belongs to a line: give --item first",
                          opt == O_QTY   ? "--qty"
                          : opt == O_LOT ? "--lot"
                                         : "--need");
                goto out;
            }
            if (opt == O_QTY) {
                if (have_q[nl - 1]) {
                    cli_usage(cmd, "line %zu has two --qty: give --item before each line", nl);
                    goto out;
                }
                if (cli_relief_arg_qty(cmd, optarg, 0, &ln[nl - 1].q))
                    goto out;
                have_q[nl - 1] = 1;
            } else if (opt == O_LOT) {
                if (cli_relief_arg_lot(cmd, optarg))
                    goto out;
                snprintf(ln[nl - 1].lot, sizeof ln[nl - 1].lot, "%s", optarg);
            } else {
                need_hex[nl - 1] = optarg;
            }
            break;
        case O_BY:
            if (cli_relief_arg_day(cmd, "--by", optarg, &by))
                goto out;
            break;
        case O_REF:
            if (arg_text(cmd, "--ref", optarg, RELIEF_NAME_MAX, 0))
                goto out;
            ref = optarg;
            break;
        case O_NOTE:
            if (arg_text(cmd, "--note", optarg, RELIEF_NOTE_MAX, 1))
                goto out;
            note = optarg;
            break;
        case O_FORCE:
            force = 1;
            break;
        default:
            rc = cli_bad_option(cmd, argv);
            goto out;
        }
    }
    if (optind < argc) {
        cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!from[0] || !to[0] || !nl) {
        cli_usage(cmd, "--from, --to and at least one --item with its --qty are required");
        goto out;
    }
    if (!strcmp(from, to)) {
        cli_usage(cmd, "--from and --to are both '%s': a shipment goes to another site", from);
        goto out;
    }
    for (size_t i = 0; i < nl; i++)
        if (!have_q[i]) {
            cli_usage(cmd, "line %zu (%s) has no --qty", i + 1, ln[i].item);
            goto out;
        }
    rc = 1;
    if (cli_open(c, &n, NULL))
        goto out;
    opened = 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if (!force && (!cli_relief_check_known(q, RELIEF_OBJ_SITE, from, cmd) ||
                   !cli_relief_check_known(q, RELIEF_OBJ_SITE, to, cmd)))
        goto out;
    for (size_t i = 0; i < nl; i++) {
        if (!force && !cli_relief_check_known(q, RELIEF_OBJ_ITEM, ln[i].item, cmd))
            goto out;
        if (need_hex[i]) {
            if (cli_relief_find_need(q, cmd, need_hex[i], ln[i].need))
                goto out;
            ln[i].has_need = 1;
        }
    }
    wrc = ship_ops_create(&n, q, from, to, ln, nl, by, ref, note, force, err, sizeof err, id);
    query_close(q);
    q = NULL;
    if (wrc != AM_OK) {
        cli_err("%s: %s%s", cmd, err,
                wrc == AM_ENOTFOUND || (wrc == AM_EINVAL && strstr(err, "holds no lot"))
                    ? " (--force writes it anyway)"
                    : "");
        goto out;
    }
    rc = show_after(c, &n, cmd, id);
out:
    query_close(q);
    if (opened)
        node_close(&n);
    free(ln);
    return rc;
}

/* ---- dispatch, receive, cancel ---- */

static int ship_change(struct cli *c, int argc, char **argv, const char *sub)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"qty", required_argument, NULL, O_QTY},
                                         {"note", required_argument, NULL, O_NOTE},
                                         {"reason", required_argument, NULL, O_REASON},
                                         {"force", no_argument, NULL, O_FORCE},
                                         {0, 0, 0, 0}};
    char cmd[32];
    int64_t qty[RELIEF_LINES_MAX];
    size_t nq = 0;
    const char *note = NULL;
    const struct query_ship *s;
    struct query *q = NULL;
    struct node n;
    uint8_t id[RELIEF_ID_LEN];
    char err[512];
    int opt, rc = 2, force = 0, opened = 0, wrc;
    int rcv = !strcmp(sub, "receive"), dsp = !strcmp(sub, "dispatch");

    snprintf(cmd, sizeof cmd, "ship %s", sub);
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(ship_help, stdout);
            return 0;
        }
        if (k)
            continue;
        switch (opt) {
        case O_QTY:
            if (!rcv)
                return cli_usage(cmd, "--qty is for `ship receive` only");
            if (nq == RELIEF_LINES_MAX)
                return cli_usage(cmd, "a shipment has at most %d lines", RELIEF_LINES_MAX);
            if (cli_relief_arg_qty(cmd, optarg, 1, &qty[nq]))
                return 2;
            nq++;
            break;
        case O_NOTE:
        case O_REASON:
            if ((opt == O_REASON) != rcv)
                return cli_usage(cmd, "%s is not an option of `%s`",
                                 opt == O_REASON ? "--reason" : "--note", cmd);
            if (arg_text(cmd, opt == O_REASON ? "--reason" : "--note", optarg, RELIEF_NOTE_MAX, 1))
                return 2;
            note = optarg;
            break;
        case O_FORCE:
            if (!dsp)
                return cli_usage(cmd, "--force is for `ship dispatch` only");
            force = 1;
            break;
        default:
            return cli_bad_option(cmd, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage(cmd, optind < argc ? "give one shipment id, not more"
                                            : "give the shipment's id (see `aidmesh ship list`)");
    rc = 1;
    if (cli_open(c, &n, NULL))
        return 1;
    opened = 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if (find_ship(q, cmd, argv[optind], &s)) {
        rc = strlen(argv[optind]) < 4 ? 2 : 1;
        goto out;
    }
    memcpy(id, s->id, RELIEF_ID_LEN);
    if (dsp)
        wrc = ship_ops_dispatch(&n, q, s, force, note, err, sizeof err, NULL, NULL);
    else if (rcv)
        wrc = ship_ops_receive(&n, s, qty, nq, note, err, sizeof err);
    else
        wrc = ship_ops_cancel(&n, s, note, err, sizeof err);
    query_close(q);
    q = NULL;
    if (wrc != AM_OK) {
        const char *hint = "";
        if (dsp && wrc == AM_ELIMIT && strstr(err, "sees"))
            hint = ": record what really left, or pass --force to dispatch it anyway (the cell "
                   "then shows OVERDRAWN)";
        else if (rcv && wrc == AM_EINVAL && strstr(err, "give the reason"))
            hint = ": --reason TEXT";
        else if (rcv && wrc == AM_EINVAL && strstr(err, "left in"))
            hint = " (--qty N once per line)";
        cli_err("%s: %s%s", cmd, err, hint);
        goto out;
    }
    rc = show_after(c, &n, cmd, id);
out:
    query_close(q);
    if (opened)
        node_close(&n);
    return rc;
}

/* ---- list, show ---- */

static int ship_list(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"status", required_argument, NULL, O_STATUS},
                                         {"site", required_argument, NULL, O_SITE},
                                         {0, 0, 0, 0}};
    const char *cmd = "ship list";
    char site[RELIEF_SLUG_MAX + 1] = "";
    struct query_ship_filter f = {0};
    const struct query_ship *rows;
    struct query *q;
    struct node n;
    size_t nr;
    int opt, rc = 1, qrc;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(ship_help, stdout);
            return 0;
        }
        if (k)
            continue;
        switch (opt) {
        case O_STATUS:
            if (cli_relief_arg_enum(cmd, "--status", optarg, relief_ship_status_name,
                                    RELIEF_SHIP_CANCELLED, &f.status))
                return 2;
            break;
        case O_SITE:
            if (cli_relief_arg_site(cmd, optarg, site))
                return 2;
            f.site = site;
            break;
        default:
            return cli_bad_option(cmd, argv);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if ((qrc = query_ships(q, &f, &rows, &nr)) != AM_OK) {
        cli_err("%s: cannot read the shipments: %s", cmd, am_strerror(qrc));
        goto out;
    }
    if (c->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < nr; i++)
            json_array_append_new(arr, json_ship(&rows[i]));
        rc = out_json_put(stdout, arr) ? 1 : 0;
        goto out;
    }
    if (nr == 0) {
        printf("no shipments%s\n", f.status || f.site ? " match" : " yet");
        rc = 0;
        goto out;
    }
    printf("%-10s %-10s %-16s %-16s %8s %8s %8s  %s\n", "id", "status", "from", "to", "planned",
           "sent", "arrived", "ref");
    for (size_t i = 0; i < nr; i++) {
        const struct query_ship *s = &rows[i];
        char hex[33];
        fmt_id(s->id, s->digits, hex);
        printf("%-10s %-10s ", hex, s->status ? relief_ship_status_name(s->status) : "unknown");
        cli_relief_cols(stdout, s->from[0] ? s->from : "?", 16);
        putchar(' ');
        cli_relief_cols(stdout, s->to[0] ? s->to : "?", 16);
        printf(" %8lld %8lld %8lld  ", (long long)s->planned, (long long)s->sent,
               (long long)s->arrived);
        out_text(stdout, s->doc, s->doc_len, 0, NULL);
        printf("%s\n", s->n_rcv > 1 ? "  (duplicate receipts)" : "");
    }
    rc = 0;
out:
    query_close(q);
    node_close(&n);
    return rc;
}

static int ship_show(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    const char *cmd = "ship show";
    const struct query_ship *s;
    struct query *q;
    struct node n;
    int opt, rc = 1;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(ship_help, stdout);
            return 0;
        }
        if (!k)
            return cli_bad_option(cmd, argv);
    }
    if (optind + 1 != argc)
        return cli_usage(cmd, "give one shipment id (see `aidmesh ship list`)");
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)))
        goto out;
    if (find_ship(q, cmd, argv[optind], &s)) {
        rc = strlen(argv[optind]) < 4 ? 2 : 1;
        goto out;
    }
    if (c->json) {
        rc = out_json_put(stdout, json_ship(s)) ? 1 : 0;
    } else {
        print_ship(s);
        rc = 0;
    }
out:
    query_close(q);
    node_close(&n);
    return rc;
}

int cli_cmd_ship(struct cli *c, int argc, char **argv)
{
    if (cli_subcommand_help(argc, argv, ship_help))
        return argc < 2 ? 2 : 0;
    optind = 1;
    if (!strcmp(argv[1], "create"))
        return ship_create(c, argc - 1, argv + 1);
    if (!strcmp(argv[1], "dispatch") || !strcmp(argv[1], "receive") || !strcmp(argv[1], "cancel"))
        return ship_change(c, argc - 1, argv + 1, argv[1]);
    if (!strcmp(argv[1], "list"))
        return ship_list(c, argc - 1, argv + 1);
    if (!strcmp(argv[1], "show"))
        return ship_show(c, argc - 1, argv + 1);
    return cli_usage("ship",
                     "unknown subcommand '%s': create, dispatch, receive, cancel, list or show",
                     argv[1]);
}
