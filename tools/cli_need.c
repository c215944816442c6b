/*
 * cli_need.c: `aidmesh need`: adding needs, listing them (cli_relief_need_list, also used by
 * the benchmark), showing one with its history of heads, and changing one (update,
 * deliver, close; PROTOCOL.md section 10).
 *
 * Never writes an op that the parsers of cli_relief.c have not checked; never sorts or
 * filters itself (the read model, query.h, does); never prints a view's text unescaped
 * (out.h).
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
#include "need_ops.h"
#include "out.h"

/* ---- need -------------------------------------------------------------------------------- */

static const char need_help[] =
    "usage: aidmesh need add --site S --item I --qty N [--priority P] [--note TEXT]\n"
    "                        [--by DATE] [--force]\n"
    "       aidmesh need list [--site S] [--item I] [--status open|fulfilled|cancelled|all]\n"
    "                         [--priority P] [--author ID|me] [--text WORDS] [--json]\n"
    "       aidmesh need show ID [--json]\n"
    "       aidmesh need update ID [--qty N] [--priority P] [--note TEXT] [--by DATE|none]\n"
    "       aidmesh need deliver ID --qty N [--note TEXT]\n"
    "       aidmesh need close ID --reason fulfilled|cancelled [--note TEXT]\n"
    "\n"
    "A need is N base units of an item wanted at a site (N may be typed in packs of the\n"
    "item, \"12 carton\": see `aidmesh item pack`). It is fulfilled by itself once\n"
    "deliveries reach its quantity, or closed by hand. ID is the id `need list` shows (a\n"
    "unique prefix of at least 4 hex digits is enough).\n"
    "\n"
    "  --priority P  critical, high, normal (default) or low\n"
    "  --by DATE     needed by this date (YYYY-MM-DD); `--by none` clears it\n"
    "  --status S    which needs to list (default open)\n"
    "  --author ID   only needs opened by this node (hex digits of its id, or `me`)\n"
    "  --text WORDS  only needs whose note, site or item holds WORDS (any case)\n"
    "\n"
    "Lists, the hub dashboard, the HXL export and the report all show needs in one order:\n"
    "priority (critical first), then needed-by date (soonest first, none last), then the\n"
    "oldest first. An open need past its needed-by date shows as LATE.\n"
    "\n"
    "Slips are flagged, never refused: `need add`, `update` and `deliver` warn, and `need\n"
    "list` marks after the status: + over (more delivered than asked), < by-past (the\n"
    "needed-by date was already past when it was set), = dup (another open need for the\n"
    "same site and item was opened less than a day before).\n"
    "  --force       write even if the site or item is not defined on this node yet\n";

enum { WARN_OVER = 1, WARN_BY = 2, WARN_DUP = 4 };

/* Says on stderr which of the slips `which` (WARN_*) need w shows, and adds them to o (JSON,
 * nullable) as "warnings": the need is written; nothing is refused for these. */
static void need_warnings(struct query *q, const char *cmd, const struct query_need *w,
                          unsigned which, json_t *o)
{
    json_t *arr = json_array();
    char hex[33], by[11], today[11];

    relief_id_hex(w->v.id, hex);
    if ((which & WARN_OVER) && w->over) {
        cli_err("%s: warning: %lld delivered of %lld asked (%lld more than asked); recorded "
                "anyway: check the deliveries, or the quantity (`aidmesh need update %.*s --qty "
                "N`)",
                cmd, (long long)w->v.delivered, (long long)w->q, (long long)(w->v.delivered - w->q),
                (int)w->digits, hex);
        json_array_append_new(arr, json_string("over"));
    }
    if ((which & WARN_BY) && w->by_past) {
        cli_relief_fmt_day(w->by, by);
        cli_relief_fmt_day(query_today(q), today);
        cli_err("%s: warning: the needed-by date %s is already past (today is %s); recorded "
                "anyway: if it is a slip, `aidmesh need update %.*s --by DATE`",
                cmd, by, today, (int)w->digits, hex);
        json_array_append_new(arr, json_string("by_past"));
    }
    if ((which & WARN_DUP) && w->dup) {
        char other[33];
        relief_id_hex(w->dup_of, other);
        cli_err("%s: warning: need %.*s for %s at %s was opened less than a day before and is "
                "still open; recorded anyway: if both are the same need, cancel one (`aidmesh "
                "need close ID --reason cancelled`)",
                cmd, (int)w->digits, other, w->v.item, w->v.site);
        json_array_append_new(arr, json_string("dup"));
    }
    if (o && json_array_size(arr))
        json_object_set_new(o, "warnings", arr);
    else
        json_decref(arr);
}

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
    struct cli_qty qs = {0};
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
        if ((k = cli_relief_where_opt(cmd, opt, site, item)) != 0) {
            if (k < 0)
                return 2;
            continue;
        }
        switch (opt) {
        case OPT_QTY: /* base units or packs (cli_pack.c) */
            if (cli_relief_arg_qtyp(cmd, optarg, 0, &qs))
                return 2;
            op.q = qs.n;
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
    if (!force || qs.pack[0]) {
        struct query *q = cli_relief_query(&n, cmd);
        int known = q &&
                    (force || (cli_relief_check_known(q, RELIEF_OBJ_SITE, site, cmd) &&
                               cli_relief_check_known(q, RELIEF_OBJ_ITEM, item, cmd))) &&
                    !cli_relief_qty_units(q, cmd, item, &qs, &op.q);
        query_close(q);
        if (!known) {
            node_close(&n);
            return 1;
        }
    }
    rc = cli_relief_write_op(&n, cmd, &op, force, hash);
    if (rc == 0) {
        struct query *q = cli_relief_query(&n, cmd);
        const struct query_need *w = NULL;
        json_t *o = c->json ? json_object() : NULL;
        relief_need_id(hash, id);
        relief_id_hex(id, hex);
        if (o) {
            json_object_set_new(o, "ok", json_true());
            json_object_set_new(o, "id", json_string(hex));
        }
        if (!c->json) {
            char qn[96];
            if (q)
                cli_relief_fmt_qty(q, item, op.q, qn, sizeof qn);
            else
                snprintf(qn, sizeof qn, "%lld", (long long)op.q);
            printf("opened need %.*s: %s %s at %s, %s\n", (int)store_need_digits(n.store, id), hex,
                   qn, item, site, relief_priority_name(op.pri));
        }
        if (q && query_need(q, id, &w) == AM_OK)
            need_warnings(q, cmd, w, WARN_BY | WARN_DUP, o);
        query_close(q);
        if (o)
            out_json_put(stdout, o);
    }
    node_close(&n);
    return rc;
}

/* The filter in words, for the summary line: " at S", " of I", ... */
static void filter_words(char *out, size_t cap, const struct query_need_filter *nf)
{
    size_t o = 0;
    out[0] = 0;
    if (nf->priority)
        o += (size_t)snprintf(out + o, cap - o, " of priority %s",
                              relief_priority_name(nf->priority));
    if (nf->site && o < cap)
        o += (size_t)snprintf(out + o, cap - o, " at %s", nf->site);
    if (nf->item && o < cap)
        o += (size_t)snprintf(out + o, cap - o, " of %s", nf->item);
    if (nf->author && o < cap) {
        char a[65];
        entry_id_hex(nf->author, a);
        o += (size_t)snprintf(out + o, cap - o, " opened by %.16s", a);
    }
    if (nf->text && nf->text[0] && o < cap)
        snprintf(out + o, cap - o, " holding the text you gave");
}

/* The slip flags of a need (query.h) as JSON members of o. */
static void need_flags_json(json_t *o, const struct query_need *w)
{
    char other[33];
    relief_id_hex(w->dup_of, other);
    json_object_set_new(o, "over", json_boolean(w->over));
    json_object_set_new(o, "by_past", json_boolean(w->by_past));
    json_object_set_new(o, "dup", json_boolean(w->dup));
    json_object_set_new(o, "dup_of", w->dup ? json_string(other) : json_null());
}

/* What shipments do for need id (PROTOCOL.md 10.8.6), as members of o; the direct
 * deliveries and the shipments' together as "delivered_total". */
static void ships_json(json_t *o, struct query *q, const uint8_t *id, int64_t direct)
{
    struct query_need_ships ns;
    if (query_need_ships(q, id, &ns) != AM_OK)
        return;
    json_object_set_new(o, "committed", json_integer(ns.committed));
    json_object_set_new(o, "in_transit", json_integer(ns.in_transit));
    json_object_set_new(o, "shipped_delivered", json_integer(ns.delivered));
    json_object_set_new(o, "lost_in_transit", json_integer(ns.lost));
    json_object_set_new(o, "shipments", json_integer(ns.n_ships));
    json_object_set_new(
        o, "delivered_total",
        json_integer(direct > INT64_MAX - ns.delivered ? INT64_MAX : direct + ns.delivered));
}

static json_t *need_json(const struct query_need *w)
{
    const struct relief_node_need *v = &w->v;
    char hex[33], by[11];
    json_t *o = json_object();
    relief_id_hex(v->id, hex);
    cli_relief_fmt_day(w->by, by);
    json_object_set_new(o, "id", json_string(hex));
    json_object_set_new(o, "short", json_stringn(hex, w->digits));
    json_object_set_new(o, "site", v->opened ? json_string(v->site) : json_null());
    json_object_set_new(o, "item", v->opened ? json_string(v->item) : json_null());
    json_object_set_new(o, "qty", json_integer(w->q));
    json_object_set_new(o, "delivered", json_integer(v->delivered));
    json_object_set_new(o, "priority",
                        w->pri ? json_string(relief_priority_name(w->pri)) : json_null());
    json_object_set_new(o, "status", json_string(relief_status_name(v->status)));
    json_object_set_new(o, "derived", json_boolean(v->derived));
    json_object_set_new(o, "needed_by", w->by ? json_string(by) : json_null());
    {
        size_t nl;
        const char *note = query_reg_text(&v->note, &nl);
        json_object_set_new(o, "note", out_json_text(note, nl));
    }
    json_object_set_new(o, "opened", json_boolean(v->opened));
    json_object_set_new(o, "conflict", json_boolean(w->conflict));
    json_object_set_new(o, "late", json_boolean(w->late));
    json_object_set_new(o, "forked", json_boolean(w->forked));
    need_flags_json(o, w);
    return o;
}

/* "delivered/asked", the asked in packs where the item has one that fits: "0/600 (12 carton)". */
static void need_dq(struct query *q, const struct query_need *w, char *out, size_t cap)
{
    char qn[96];
    if (w->v.opened)
        cli_relief_fmt_qty(q, w->v.item, w->q, qn, sizeof qn);
    else
        snprintf(qn, sizeof qn, "%lld", (long long)w->q);
    snprintf(out, cap, "%lld/%s", (long long)w->v.delivered, qn);
}

int cli_relief_need_list(struct query *q, FILE *f, const struct query_need_filter *nf, int json)
{
    const struct query_need *rows;
    size_t n;
    int rc, conflicts = 0, forked = 0, unopened = 0, w_site = CODE_COL_MIN, w_item = CODE_COL_MIN;
    int over = 0, by_past = 0, dup = 0, w_dq = 13;
    char words[160], cnt[32], dq[160];

    if ((rc = query_needs(q, nf, &rows, &n)) != AM_OK)
        return rc;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *o = need_json(&rows[i]);
            ships_json(o, q, rows[i].v.id, rows[i].v.delivered);
            json_array_append_new(arr, o);
        }
        return out_json_put(f, arr) == 0 ? AM_OK : AM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (rows[i].v.opened) {
            w_site = cli_relief_code_width(w_site, rows[i].v.site);
            w_item = cli_relief_code_width(w_item, rows[i].v.item);
            need_dq(q, &rows[i], dq, sizeof dq); /* wider where a quantity reads in packs */
            if ((int)strlen(dq) > w_dq)
                w_dq = (int)strlen(dq);
        }
    if (n)
        fprintf(f, "%-8s %-8s %-*s %-*s %*s %-10s %s\n", "ID", "PRIORITY", w_site, "SITE", w_item,
                "ITEM", w_dq, "DELIVERED/QTY", "STATUS", "NEEDED BY");
    for (size_t i = 0; i < n; i++) {
        const struct query_need *w = &rows[i];
        char hex[33], by[11], st[16];
        relief_id_hex(w->v.id, hex);
        cli_relief_fmt_day(w->by, by);
        fprintf(f, "%-8.*s ", (int)w->digits, hex);
        cli_relief_cols(f, w->pri ? relief_priority_name(w->pri) : "-", 8);
        fputc(' ', f);
        cli_relief_cols(f, w->v.opened ? w->v.site : "?", w_site);
        fputc(' ', f);
        cli_relief_cols(f, w->v.opened ? w->v.item : "?", w_item);
        need_dq(q, w, dq, sizeof dq);
        fputc(' ', f);
        cli_relief_col(f, dq, strlen(dq), w_dq, 1);
        fputc(' ', f);
        snprintf(st, sizeof st, "%s%s%s%s%s%s", w->late ? "LATE" : relief_status_name(w->v.status),
                 w->conflict ? "!" : "", w->forked ? "*" : "", w->over ? "+" : "",
                 w->by_past && w->v.status == RELIEF_ST_OPEN ? "<" : "", w->dup ? "=" : "");
        cli_relief_cols(f, st, 10);
        fprintf(f, " %s\n", by);
        over += w->over;
        by_past += w->by_past && w->v.status == RELIEF_ST_OPEN; /* moot once closed */
        dup += w->dup;
        conflicts += w->conflict;
        forked += w->forked;
        unopened += !w->v.opened;
    }
    filter_words(words, sizeof words, nf);
    out_count(cnt, n);
    if (n == 0)
        fprintf(f, "no %s%sneeds%s\n", nf->status ? relief_status_name(nf->status) : "",
                nf->status ? " " : "", words);
    else
        fprintf(f, "%s %s%sneed%s%s, critical first\n", cnt,
                nf->status ? relief_status_name(nf->status) : "", nf->status ? " " : "",
                n == 1 ? "" : "s", words);
    if (conflicts)
        fprintf(f, "! concurrent edits from two nodes: `aidmesh need show ID` shows both\n");
    if (forked)
        fprintf(f, "* written in part by a node whose key is in use on two machines: `aidmesh "
                   "forks`\n");
    if (unopened)
        fprintf(f, "? the need.open of %d need%s has not reached this node yet\n", unopened,
                unopened == 1 ? "" : "s");
    if (over)
        fprintf(f, "+ more was delivered than asked: check the deliveries, or the quantity\n");
    if (by_past)
        fprintf(f, "< the needed-by date was already past when it was set: a slip?\n");
    if (dup)
        fprintf(f, "= another open need for the same site and item was opened less than a day\n"
                   "  before it: the same need entered twice? (`aidmesh need show ID`)\n");
    return AM_OK;
}

static int need_list(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"site", required_argument, NULL, OPT_SITE},
                                         {"item", required_argument, NULL, OPT_ITEM},
                                         {"status", required_argument, NULL, OPT_STATUS},
                                         {"priority", required_argument, NULL, OPT_PRI},
                                         {"author", required_argument, NULL, OPT_AUTHOR},
                                         {"text", required_argument, NULL, OPT_TEXT},
                                         {0, 0, 0, 0}};
    const char *cmd = "need list", *author_hex = NULL;
    char site[RELIEF_SLUG_MAX + 1] = "", item[RELIEF_SLUG_MAX + 1] = "";
    uint8_t author[AM_PK_LEN];
    struct query_need_filter nf = {.status = RELIEF_ST_OPEN};
    struct query *q;
    int opt, rc = 1;
    struct node n;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(need_help, stdout);
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
        case OPT_STATUS:
            if (!strcmp(optarg, "all"))
                nf.status = 0;
            else if (cli_relief_arg_enum(cmd, "--status", optarg, relief_status_name, 3,
                                         &nf.status))
                return 2;
            break;
        case OPT_PRI:
            if (cli_relief_arg_enum(cmd, "--priority", optarg, relief_priority_name, 4,
                                    &nf.priority))
                return 2;
            break;
        case OPT_AUTHOR:
            author_hex = optarg;
            break;
        case OPT_TEXT:
            if (strlen(optarg) > RELIEF_NOTE_MAX)
                return cli_usage(cmd, "--text is longer than any note (%d bytes)", RELIEF_NOTE_MAX);
            nf.text = optarg;
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
    if (site[0] && !cli_relief_known_quiet(q, RELIEF_OBJ_SITE, site) &&
        !cli_relief_has_rows(q, site, NULL, 1)) {
        cli_relief_check_known(q, RELIEF_OBJ_SITE, site, cmd); /* says what to type */
        goto out;
    }
    if (author_hex) {
        unsigned matches = 0;
        int frc = strcmp(author_hex, "me") == 0
                      ? AM_OK
                      : query_author_find(q, author_hex, author, &matches);
        if (!strcmp(author_hex, "me"))
            memcpy(author, n.pk, AM_PK_LEN);
        else if (frc == AM_EINVAL || frc == AM_ENOTFOUND || matches > 1) {
            cli_err("%s: --author '%s' %s", cmd, author_hex,
                    frc == AM_EINVAL      ? "is not an author id: give its hex digits, or `me`"
                    : frc == AM_ENOTFOUND ? "names no author this node holds entries of"
                                          : "matches more than one author; give more digits");
            goto out;
        } else if (frc != AM_OK) {
            cli_err("%s: cannot read the store: %s", cmd, am_strerror(frc));
            goto out;
        }
        nf.author = author;
    }
    nf.site = site[0] ? site : NULL;
    nf.item = item[0] ? item : NULL;
    if ((rc = cli_relief_need_list(q, stdout, &nf, c->json)) != AM_OK) {
        cli_err("%s: cannot read the views: %s%s", cmd, am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
        rc = 1;
    }
out:
    query_close(q);
    node_close(&n);
    return rc;
}

/* The need `id` in q; prints the sentence on failure. */
static const struct query_need *load_need(struct query *q, const char *cmd,
                                          const uint8_t id[RELIEF_ID_LEN])
{
    const struct query_need *w;
    int rc = query_need(q, id, &w);
    if (rc == AM_ECORRUPT)
        cli_err("%s: the stored view of this need is damaged: run `aidmesh reindex`", cmd);
    else if (rc != AM_OK)
        cli_err("%s: cannot read the need: %s", cmd, am_strerror(rc));
    return rc == AM_OK ? w : NULL;
}

/* A register of a need that holds concurrent writes: each value, who wrote it (short
 * author id and entry), and which one the need shows (the winner, head 0: PROTOCOL.md
 * 10.8.1, 10.9). */
static void print_reg_heads(struct query *q, const char *label, const struct relief_node_reg *r,
                            int field)
{
    if (!r->conflict)
        return;
    printf("  conflict:   %s was changed on %u nodes at once; the values:\n", label, r->n_heads);
    for (uint32_t i = 0; i < r->n_heads; i++) {
        struct relief_node_reg h;
        char a[65], v[32];
        if (relief_node_reg_head(r, field, i, &h) != AM_OK) {
            printf("                (the other values cannot be read: run `aidmesh doctor`)\n");
            break;
        }
        query_author_of(q, h.win_ref.author, h.win_ref.author); /* a branch's log: its key */
        entry_id_hex(h.win_ref.author, a);
        fputs("                ", stdout);
        if (field == RELIEF_F_NOTE) {
            fputc('"', stdout);
            out_col(stdout, h.s ? h.s : "", h.s ? h.len : 0, 30, 0, 1);
            fputc('"', stdout);
        } else {
            if (!h.set)
                snprintf(v, sizeof v, "%s", field == RELIEF_F_BY ? "no date" : "none");
            else if (field == RELIEF_F_Q)
                snprintf(v, sizeof v, "%lld", (long long)h.i);
            else if (field == RELIEF_F_PRI)
                snprintf(v, sizeof v, "%s", relief_priority_name((int)h.i));
            else if (field == RELIEF_F_ST)
                snprintf(v, sizeof v, "%s", relief_status_name((int)h.i));
            else
                cli_relief_fmt_day((uint32_t)h.i, v);
            fputs(v, stdout);
        }
        printf("  by %.16s (entry %llu)%s\n", a, (unsigned long long)h.win_ref.seq,
               i == 0 ? "  <- shown (the latest by clock)" : "");
    }
    printf("              a new `aidmesh need update` (or `need close`) settles it\n");
}

static json_t *need_show_json(const struct query_need *w)
{
    static const char *const names[] = {"qty", "priority", "note", "needed_by", "status"};
    const struct relief_node_need *nv = &w->v;
    const struct relief_node_reg *regs[] = {&nv->q, &nv->pri, &nv->note, &nv->by, &nv->st};
    char hex[33], by[11], when[32], author[65];
    json_t *o = json_object(), *conf = json_array();

    relief_id_hex(nv->id, hex);
    cli_relief_fmt_day(w->by, by);
    out_iso_ms(when, hlc_ms(nv->open_hlc));
    entry_id_hex(nv->open_ref.author, author);
    json_object_set_new(o, "id", json_string(hex));
    json_object_set_new(o, "opened", json_boolean(nv->opened));
    if (nv->opened) {
        json_object_set_new(o, "site", json_string(nv->site));
        json_object_set_new(o, "item", json_string(nv->item));
        json_object_set_new(o, "opened_at", json_string(when));
        json_object_set_new(o, "opened_by", json_string(author));
        json_object_set_new(o, "opened_seq", json_integer((json_int_t)nv->open_ref.seq));
    }
    json_object_set_new(o, "qty", json_integer(w->q));
    json_object_set_new(o, "delivered", json_integer(nv->delivered));
    json_object_set_new(o, "deliveries", json_integer(nv->n_deliveries));
    json_object_set_new(o, "priority",
                        w->pri ? json_string(relief_priority_name(w->pri)) : json_null());
    json_object_set_new(o, "status", json_string(relief_status_name(nv->status)));
    json_object_set_new(o, "derived", json_boolean(nv->derived));
    json_object_set_new(o, "needed_by", w->by ? json_string(by) : json_null());
    json_object_set_new(o, "note", cli_relief_json_reg_text(&nv->note));
    for (int i = 0; i < 5; i++)
        if (regs[i]->conflict)
            json_array_append_new(conf, json_string(names[i]));
    json_object_set_new(o, "conflicts", conf);
    json_object_set_new(o, "saturated", json_boolean(nv->saturated));
    json_object_set_new(o, "late", json_boolean(w->late));
    json_object_set_new(o, "forked", json_boolean(w->forked));
    need_flags_json(o, w);
    return o;
}

static int need_show(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    const char *cmd = "need show";
    uint8_t id[RELIEF_ID_LEN];
    const struct query_need *w;
    const struct relief_node_need *nv;
    struct query *q = NULL;
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
    if (!(q = cli_relief_query(&n, cmd)) || cli_relief_find_need(q, cmd, argv[optind], id) ||
        !(w = load_need(q, cmd, id)))
        goto out;
    if (c->json) {
        json_t *o = need_show_json(w);
        ships_json(o, q, w->v.id, w->v.delivered);
        rc = out_json_put(stdout, o) == 0 ? 0 : 1;
        goto out;
    }
    nv = &w->v;
    relief_id_hex(id, hex);
    cli_relief_fmt_day(w->by, by);
    out_iso_ms(when, hlc_ms(nv->open_hlc));
    entry_id_hex(nv->open_ref.author, author);
    printf("need %s\n", hex);
    if (nv->opened) {
        printf("  site:       %s\n  item:       %s\n", nv->site, nv->item);
    } else {
        printf("  site, item: not known here yet (the entry that opened this need has not\n"
               "              reached this node; it will show once it arrives)\n");
    }
    {
        char qn[96];
        cli_relief_fmt_qty(q, nv->opened ? nv->item : "", w->q, qn, sizeof qn);
        printf("  quantity:   %s (delivered %lld in %u deliver%s%s)\n", qn,
               (long long)nv->delivered, nv->n_deliveries, nv->n_deliveries == 1 ? "y" : "ies",
               nv->saturated ? "; the sum is capped" : "");
    }
    {
        struct query_need_ships ns;
        if (query_need_ships(q, id, &ns) == AM_OK && ns.n_ships)
            printf("  shipments:  %u: committed %lld, in transit %lld, delivered %lld, lost in "
                   "transit %lld (%lld delivered in all)\n",
                   ns.n_ships, (long long)ns.committed, (long long)ns.in_transit,
                   (long long)ns.delivered, (long long)ns.lost,
                   (long long)(nv->delivered > INT64_MAX - ns.delivered
                                   ? INT64_MAX
                                   : nv->delivered + ns.delivered));
    }
    printf("  priority:   %s\n", w->pri ? relief_priority_name(w->pri) : "-");
    printf("  status:     %s%s\n", relief_status_name(nv->status),
           nv->derived ? " (deliveries reached the quantity)" : "");
    printf("  needed by:  %s%s\n", by, w->late ? " (LATE)" : "");
    if (nv->note.n_heads && nv->note.len) {
        fputs("  note:       ", stdout);
        out_text(stdout, nv->note.s, nv->note.len, OUT_TEXT_LINES, "              ");
        fputc('\n', stdout);
    }
    if (nv->opened)
        printf("  opened:     %s by %.16s (entry %llu)\n", when, author,
               (unsigned long long)nv->open_ref.seq);
    if (w->forked)
        printf("  forked:     a node that wrote to this need has its key in use on two\n"
               "              machines: `aidmesh forks` shows the evidence\n");
    if (w->over)
        printf("  check:      OVER: %lld more delivered than asked\n",
               (long long)(nv->delivered - w->q));
    if (w->by_past)
        printf("  check:      BY-PAST: the needed-by date was already past when it was set\n");
    if (w->dup) {
        char other[33];
        relief_id_hex(w->dup_of, other);
        printf("  check:      DUP: need %.12s for the same site and item was opened less than a\n"
               "              day before and is open too\n",
               other);
    }
    print_reg_heads(q, "the quantity", &nv->q, RELIEF_F_Q);
    print_reg_heads(q, "the priority", &nv->pri, RELIEF_F_PRI);
    print_reg_heads(q, "the note", &nv->note, RELIEF_F_NOTE);
    print_reg_heads(q, "the needed-by date", &nv->by, RELIEF_F_BY);
    print_reg_heads(q, "the status", &nv->st, RELIEF_F_ST);
    rc = 0;
out:
    query_close(q);
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
    const struct query_need *w;
    const struct relief_node_need *nv;
    struct need_plan plan;
    uint8_t id[RELIEF_ID_LEN];
    char hex[33];
    int opt, rc = 1, force = 0;
    unsigned warn;
    struct cli_qty qs = {0};
    struct query *q = NULL;
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
            if (cli_relief_arg_qtyp(cmd, optarg, 0, &qs)) /* packs: resolved below */
                return 2;
            op.q = qs.n;
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
    /* the slips this change can make: said after the write, never refused */
    warn = type == RELIEF_T_NEED_DLV ? WARN_OVER
           : type == RELIEF_T_NEED_UPD
               ? ((op.has & RELIEF_HAS(RELIEF_K_Q)) ? WARN_OVER : 0) |
                     ((op.has & RELIEF_HAS(RELIEF_K_BY)) && op.by ? WARN_BY : 0)
               : 0;
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, cmd)) || cli_relief_find_need(q, cmd, argv[optind], id) ||
        !(w = load_need(q, cmd, id)))
        goto out;
    if (qs.pack[0] && !w->v.opened) {
        cli_err("%s: the item of this need is not known here yet, so '%s' cannot be counted in "
                "packs: give --qty in base units",
                cmd, qs.pack);
        goto out;
    }
    if (qs.pack[0] && cli_relief_qty_units(q, cmd, w->v.item, &qs, &op.q))
        goto out;
    /* one way to make it, the phone pages' too (need_ops.h) */
    if (need_ops_plan(w, &op, force, NULL, &plan) != AM_OK) {
        relief_id_hex(id, hex);
        if (plan.refused == NEED_REFUSED_NOT_OPENED)
            cli_err("%s: need %.12s has not been opened on this node yet (its need.open is on "
                    "its way?); wait for a sync, or pass --force",
                    cmd, hex);
        else
            cli_err("%s: too many concurrent heads to name; run `aidmesh reindex` if the store "
                    "is damaged",
                    cmd);
        goto out;
    }
    query_close(q); /* the write goes to the store; the answer reads it anew */
    q = NULL;
    if (cli_relief_write_op(&n, cmd, &plan.op, 1, NULL)) /* the need was found above */
        goto out;
    relief_id_hex(id, hex);
    if (!(q = cli_relief_query(&n, cmd)) || !(w = load_need(q, cmd, id)))
        goto out;
    nv = &w->v;
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "ok", json_true());
        json_object_set_new(o, "id", json_string(hex));
        json_object_set_new(o, "status", json_string(relief_status_name(nv->status)));
        json_object_set_new(o, "qty", json_integer(w->q));
        json_object_set_new(o, "delivered", json_integer(nv->delivered));
        need_warnings(q, cmd, w, warn, o);
        out_json_put(stdout, o);
        warn = 0;
    } else if (type == RELIEF_T_NEED_DLV) {
        printf("need %.*s: delivered %lld; %lld of %lld now, %s%s\n", (int)w->digits, hex,
               (long long)op.q, (long long)nv->delivered, (long long)w->q,
               relief_status_name(nv->status),
               nv->status == RELIEF_ST_CANCELLED ? " (the need was cancelled; the delivery is "
                                                   "recorded anyway)"
                                                 : "");
    } else {
        printf("need %.*s: %s (status %s)\n", (int)w->digits, hex,
               type == RELIEF_T_NEED_UPD ? "updated" : "closed", relief_status_name(nv->status));
    }
    if (warn)
        need_warnings(q, cmd, w, warn, NULL);
    rc = 0;
out:
    query_close(q);
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
