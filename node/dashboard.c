/*
 * dashboard.c: the hub's screen as one HTML document (see dashboard.h).
 * Must never: write anything, put a stored or received string into the page unescaped,
 * refer to anything outside the page (no script, font, image or style sheet to fetch), or
 * sort or filter records itself: its rows come from one query (query.h), one snapshot.
 */
#include "dashboard.h"
#include "html.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <sodium.h>

#include "am_err.h"
#include "am_text.h"
#include "query.h"
#include "relief.h"
#include "relief_node.h"
#include "stick_node.h"

/* ---- output helpers ------------------------------------------------------------------------ */

static void fmt_day(uint32_t day, char out[11])
{
    if (day)
        relief_day_format(day, out);
    else
        out[0] = 0;
}

/* "2026-01-05 14:02" in the node's local time */
static void fmt_when(uint64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

/* "12 s ago", "5 min ago", "3 h ago", "2 d ago" */
static void fmt_ago(uint64_t now, uint64_t then, char out[32])
{
    uint64_t s = now > then ? (now - then) / 1000 : 0;
    if (s < 90)
        snprintf(out, 32, "%llu s ago", (unsigned long long)s);
    else if (s < 90 * 60)
        snprintf(out, 32, "%llu min ago", (unsigned long long)(s / 60));
    else if (s < 36 * 3600)
        snprintf(out, 32, "%llu h ago", (unsigned long long)(s / 3600));
    else
        snprintf(out, 32, "%llu d ago", (unsigned long long)(s / 86400));
}

/* ---- peers: the daemon's live status (status.h) ------------------------------------------ */

/* Copies v into dst, cut to fit (a cut value is still shown). */
static void copy_cut(char *dst, size_t cap, const char *v)
{
    size_t n = strnlen(v, cap - 1);
    memcpy(dst, v, n);
    dst[n] = 0;
}

static void peer_copy(struct dashboard_peer *pe, const struct status_peer *p, int connected)
{
    memset(pe, 0, sizeof *pe);
    copy_cut(pe->author, sizeof pe->author, p->author);
    copy_cut(pe->name, sizeof pe->name, p->name);
    copy_cut(pe->address, sizeof pe->address, p->address);
    copy_cut(pe->state, sizeof pe->state, p->state);
    copy_cut(pe->direction, sizeof pe->direction, p->direction);
    copy_cut(pe->source, sizeof pe->source, p->source);
    copy_cut(pe->last_error, sizeof pe->last_error, p->last_error);
    pe->last_seen = p->last_seen;
    pe->connected_at = p->connected_at;
    pe->entries_in = p->entries_in;
    pe->entries_out = p->entries_out;
    pe->connected = connected;
    pe->self = p->self;
}

/* The peers of the running node: from the daemon's snapshot when the page is served by it
 * (copied out under its mutex), else asked over the control socket (`aidmesh report`).
 * No answer: present = 0 (the node is not running). */
static void peers_load(const char *home, struct status_snapshot *snap, struct dashboard_peers *ps)
{
    struct node_status st;
    int ok = 0;

    memset(ps, 0, sizeof *ps);
    status_init(&st);
    if (snap) {
        char *json = status_snapshot_copy(snap);
        ok = json && status_from_json(json, strlen(json), &st, NULL, 0) == AM_OK;
        free(json);
    } else {
        ok = status_ask(home, 0, &st, NULL, 0) == AM_OK;
    }
    if (ok) {
        ps->present = ps->alive = 1;
        ps->written = st.written;
        for (size_t i = 0; i < st.n_connected && ps->n < DASHBOARD_PEERS_MAX; i++)
            peer_copy(&ps->v[ps->n++], &st.connected[i], 1);
        for (size_t i = 0; i < st.n_known && ps->n < DASHBOARD_PEERS_MAX; i++)
            peer_copy(&ps->v[ps->n++], &st.known[i], 0);
    }
    status_free(&st);
}

/* ---- the page ---------------------------------------------------------------------------- */

static const char page_css[] =
    ":root{--ink:#1b1f23;--mute:#5b6570;--line:#d5dbe1;--bg:#f4f6f8;--card:#fff;"
    "--crit:#b3261e;--high:#c25e00;--norm:#2f5d8a;--low:#6b7580;"
    "--over:#fde3e1;--conf:#fff1c7;--exp:#f1e0f7;--soon:#fff8d6}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.35 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',"
    "sans-serif;color:var(--ink);background:var(--bg)}"
    "header{background:#12324f;color:#fff;padding:10px 18px}"
    "header h1{margin:0;font-size:22px}header .meta{margin:2px 0 0;color:#c9d6e3;"
    "font-size:13px}"
    ".tiles{display:flex;flex-wrap:wrap;gap:10px;padding:12px 18px 0}"
    ".tile{background:var(--card);border:1px solid var(--line);border-radius:6px;"
    "padding:6px 12px;min-width:130px}"
    ".tile b{display:block;font-size:24px}.tile span{color:var(--mute);font-size:12px;"
    "text-transform:uppercase;letter-spacing:.04em}"
    ".tile.alert b{color:var(--crit)}.tile.warn b{color:var(--high)}"
    "main{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:14px;"
    "padding:12px 18px}"
    "section{background:var(--card);border:1px solid var(--line);border-radius:6px;"
    "padding:8px 12px 10px;min-width:0}"
    "h2{margin:2px 0 6px;font-size:17px}h3{margin:10px 0 4px;font-size:15px}"
    "h3 small,td small{color:var(--mute);font-weight:normal}"
    "table{border-collapse:collapse;width:100%}"
    "th{text-align:left;font-size:12px;color:var(--mute);text-transform:uppercase;"
    "border-bottom:2px solid var(--line);padding:3px 6px}"
    "td{border-bottom:1px solid var(--line);padding:4px 6px;vertical-align:top}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.note{color:var(--mute);font-size:13px;min-width:160px;max-width:420px;"
    "overflow-wrap:break-word}td.d{white-space:nowrap}"
    "#needs,#stock{grid-column:1/-1}"
    ".pri{display:inline-block;min-width:64px;text-align:center;border-radius:4px;"
    "padding:1px 6px;font-size:12px;font-weight:bold;color:#fff;text-transform:uppercase}"
    ".pri-critical .pri{background:var(--crit)}.pri-high .pri{background:var(--high)}"
    ".pri-normal .pri{background:var(--norm)}.pri-low .pri,.pri-none .pri{background:var(--low)}"
    "tr.pri-critical td{font-weight:600}"
    ".chip{display:inline-block;border-radius:4px;padding:0 6px;margin:0 4px 2px 0;"
    "font-size:12px;font-weight:bold;border:1px solid currentColor}"
    "tr.overdrawn td{background:var(--over)}tr.overdrawn .stock{color:var(--crit);"
    "font-weight:bold}"
    "tr.conflict td{background:var(--conf)}tr.expired td{background:var(--exp)}"
    "tr.expiring td{background:var(--soon)}"
    ".c-over{color:var(--crit)}.c-conf{color:#8a5a00}.c-exp{color:#6a1b87}"
    ".c-soon{color:#7a6200}.c-chk{color:var(--norm)}.c-late{color:var(--crit)}"
    ".empty{color:var(--mute);font-style:italic;margin:6px 0}"
    ".state-on{color:#1e7b34;font-weight:bold;white-space:nowrap}.state-off{color:var(--mute)}"
    ".id{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:13px}"
    "footer{padding:0 18px 14px;color:var(--mute);font-size:12px}"
    "@media print{body{background:#fff;font-size:12px}header{background:#fff;color:#000;"
    "border-bottom:2px solid #000}header .meta{color:#333}main{display:block}"
    "section{break-inside:avoid;margin-bottom:10px}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

struct page {
    FILE *f;
    struct node *n;
    const struct dashboard_opts *o;
    uint64_t now;
    uint32_t today;
    struct query *q;
    const struct query_need *needs;
    size_t n_needs;
    const struct query_cell *cells;
    size_t n_cells;
    const struct query_total *totals;
    size_t n_totals;
    size_t below_min;                               /* (site, item) pairs below their minimum */
    size_t overdrawn, conflicts, expired, expiring; /* cells with each flag */
    struct dashboard_peers *peers;
    struct stick_node_visit sticks[DASHBOARD_STICKS_MAX];
    size_t n_sticks;
    struct query_state qs;
};

static void label(FILE *f, const struct relief_node_reg *name, const char *code)
{
    size_t len;
    const char *t = name ? query_reg_text(name, &len) : "";
    if (name && len) {
        html_esc(f, t, len);
        fputs(" <small>", f);
        html_escs(f, code);
        fputs("</small>", f);
    } else {
        html_escs(f, code);
    }
}

static void site_label(struct page *pg, const char *slug)
{
    const struct relief_node_site *s = query_site(pg->q, slug);
    label(pg->f, s ? &s->name : NULL, slug);
}

static void item_label(struct page *pg, const char *code)
{
    const struct relief_node_item *it = query_item(pg->q, code);
    label(pg->f, it ? &it->name : NULL, code);
}

/* The item's unit, escaped, after a space, when it has one. */
static void item_unit(struct page *pg, const char *code)
{
    const struct relief_node_item *it = query_item(pg->q, code);
    size_t len;
    const char *u = it ? query_reg_text(&it->unit, &len) : "";
    if (!it || !len)
        return;
    fputs(" <small>", pg->f);
    html_esc(pg->f, u, len);
    fputs("</small>", pg->f);
}

static void tile(FILE *f, const char *cls, const char *value, const char *label)
{
    fprintf(f, "<div class=\"tile %s\"><b>", cls);
    html_escs(f, value);
    fputs("</b><span>", f);
    html_escs(f, label);
    fputs("</span></div>\n", f);
}

static void page_head(struct page *pg, const struct dashboard_opts *o)
{
    FILE *f = pg->f;
    char who[17], net[2 * AM_NETID_LEN + 1], when[32];
    sodium_bin2hex(who, sizeof who, pg->n->pk, 8);
    stick_node_netid_hex(pg->n->netid, net);
    fmt_when(pg->now, when);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", f);
    if (o->refresh_s > 0)
        fprintf(f, "<meta http-equiv=\"refresh\" content=\"%d\">\n", o->refresh_s);
    fputs("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
    fputs("aidmesh — ", f);
    html_escs(f, pg->n->name[0] ? pg->n->name : who);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n", page_css);
    fprintf(f, "<body data-generated=\"%llu\" data-live=\"%s\">\n<header><h1>aidmesh · ",
            (unsigned long long)pg->now, o->refresh_s > 0 ? "true" : "false");
    html_escs(f, pg->n->name[0] ? pg->n->name : who);
    fprintf(f,
            "</h1><p class=\"meta\">node <span class=\"id\">%s</span> · network "
            "<span class=\"id\">%s</span> · ",
            who, net);
    if (o->refresh_s > 0)
        fprintf(f, "updated %s, refreshes every %d s", when, o->refresh_s);
    else
        fprintf(f, "report of %s (a snapshot: it does not update)", when);
    fputs("</p></header>\n", f);
}

static void page_tiles(struct page *pg)
{
    FILE *f = pg->f;
    char v[48], l[64];
    size_t crit = 0, connected = 0;
    for (size_t i = 0; i < pg->n_needs; i++)
        crit += pg->needs[i].pri == RELIEF_PRI_CRITICAL;
    for (size_t i = 0; i < pg->peers->n; i++)
        connected += (size_t)pg->peers->v[i].connected;
    fputs("<div class=\"tiles\">\n", f);
    snprintf(v, sizeof v, "%zu", pg->n_needs);
    snprintf(l, sizeof l, "open needs, %zu critical", crit);
    tile(f, crit ? "alert" : "", v, l);
    snprintf(v, sizeof v, "%zu", pg->overdrawn);
    tile(f, pg->overdrawn ? "alert" : "", v, "overdrawn cells");
    snprintf(v, sizeof v, "%zu", pg->conflicts);
    tile(f, pg->conflicts ? "warn" : "", v, "counts to settle");
    snprintf(v, sizeof v, "%zu", pg->expired + pg->expiring);
    snprintf(l, sizeof l, "expired or expiring in %d d", QUERY_EXPIRING_DAYS);
    tile(f, pg->expired + pg->expiring ? "warn" : "", v, l);
    snprintf(v, sizeof v, "%zu", pg->below_min);
    tile(f, pg->below_min ? "warn" : "", v, "below minimum");
    if (pg->peers->present && pg->peers->alive)
        snprintf(v, sizeof v, "%zu", connected);
    else
        snprintf(v, sizeof v, "–");
    tile(f, "", v, pg->peers->alive ? "peers connected" : "node not running");
    if (pg->n_sticks)
        fmt_ago(pg->now, pg->sticks[0].at_ms, v);
    else
        snprintf(v, sizeof v, "never");
    tile(f, "", v, "last stick");
    fputs("</div>\n", f);
}

static void page_needs(struct page *pg)
{
    FILE *f = pg->f;
    fputs("<section id=\"needs\"><h2>Open needs, critical first</h2>\n", f);
    if (!pg->n_needs) {
        fputs("<p class=\"empty\">No open needs.</p></section>\n", f);
        return;
    }
    fputs("<table><thead><tr><th>Priority</th><th>Site</th><th>Item</th>"
          "<th>Delivered / needed</th><th>Needed by</th><th>Note</th><th>Need</th></tr>"
          "</thead><tbody>\n",
          f);
    for (size_t i = 0; i < pg->n_needs; i++) {
        const struct query_need *w = &pg->needs[i];
        size_t note_len;
        const char *note = query_reg_text(&w->v.note, &note_len);
        const char *pri = w->pri ? relief_priority_name(w->pri) : "none";
        char hex[33], by[11];
        relief_id_hex(w->v.id, hex);
        fmt_day(w->by, by);
        fprintf(f, "<tr class=\"need pri-%s%s%s\" data-need=\"%s\" data-site=\"", pri,
                w->conflict ? " conflict" : "", w->forked ? " forked" : "", hex);
        html_escs(f, w->v.site);
        fputs("\" data-item=\"", f);
        html_escs(f, w->v.item);
        fprintf(f,
                "\" data-qty=\"%lld\" data-delivered=\"%lld\" data-priority=\"%s\" "
                "data-by=\"%s\">",
                (long long)w->q, (long long)w->v.delivered, w->pri ? pri : "", by);
        fprintf(f, "<td><span class=\"pri\">%s</span></td><td>", pri);
        if (w->v.opened)
            site_label(pg, w->v.site);
        else
            fputs("<small>not opened here yet</small>", f);
        fputs("</td><td>", f);
        if (w->v.opened)
            item_label(pg, w->v.item);
        fprintf(f, "</td><td class=\"n\">%lld / %lld", (long long)w->v.delivered, (long long)w->q);
        if (w->v.opened)
            item_unit(pg, w->v.item);
        fputs("</td><td class=\"d\">", f);
        if (w->by) {
            if (w->late)
                fprintf(f, "<span class=\"chip c-late\">LATE</span>");
            fputs(by, f);
        } else {
            fputs("–", f);
        }
        fputs("</td><td class=\"note\">", f);
        if (w->conflict)
            fputs("<span class=\"chip c-conf\" title=\"edited on two nodes at once: "
                  "`aidmesh need show` lists both\">TWO EDITS</span>",
                  f);
        if (w->forked)
            fputs("<span class=\"chip c-over\" title=\"written in part by a node whose key is "
                  "in use on two machines: `aidmesh forks`\">FORKED NODE</span>",
                  f);
        html_esc(f, note, note_len);
        fprintf(f, "</td><td class=\"id\">%.*s</td></tr>\n", (int)w->digits, hex);
    }
    fputs("</tbody></table></section>\n", f);
}

static void cell_flags(struct page *pg, const struct query_cell *w)
{
    FILE *f = pg->f;
    if (w->flags & QUERY_CELL_OVERDRAWN)
        fputs("<span class=\"chip c-over\" title=\"more was issued than was known to be there"
              "\">OVERDRAWN</span>",
              f);
    if (w->flags & QUERY_CELL_CONFLICT)
        fprintf(f,
                "<span class=\"chip c-conf\" title=\"counts taken without seeing each other: "
                "count again to settle\">%u COUNTS</span>",
                w->v.n_maximal + 1);
    if (w->flags & QUERY_CELL_EXPIRED)
        fputs("<span class=\"chip c-exp\">EXPIRED</span>", f);
    else if (w->flags & QUERY_CELL_EXPIRING)
        fprintf(f, "<span class=\"chip c-soon\">EXPIRES IN %lld D</span>", (long long)w->days_left);
    if (w->v.n_audit)
        fprintf(f,
                "<span class=\"chip c-chk\" title=\"moves recorded elsewhere while a count was "
                "taken: check whether the count included them\">CHECK %u</span>",
                w->v.n_audit);
    if (w->flags & QUERY_CELL_SATURATED)
        fputs("<span class=\"chip c-over\">CAPPED</span>", f);
    if (w->flags & QUERY_CELL_BELOW_MIN)
        fprintf(f,
                "<span class=\"chip c-soon\" title=\"the site holds %lld of this item in all its "
                "lots, below its minimum of %lld\">BELOW MIN</span>",
                (long long)w->held, (long long)w->min);
    if (w->forked)
        fputs("<span class=\"chip c-over\" title=\"moved or counted by a node whose key is in "
              "use on two machines: `aidmesh forks`\">FORKED NODE</span>",
              f);
}

static void page_stock(struct page *pg)
{
    FILE *f = pg->f;
    const char *site = NULL;
    fputs("<section id=\"stock\"><h2>Stock per site</h2>\n", f);
    if (!pg->n_cells) {
        fputs("<p class=\"empty\">No stock recorded.</p></section>\n", f);
        return;
    }
    for (size_t i = 0; i < pg->n_cells; i++) {
        const struct query_cell *w = &pg->cells[i];
        unsigned fl = w->flags;
        char exp[11];
        if (!site || strcmp(site, w->v.site) != 0) {
            if (site)
                fputs("</tbody></table>\n", f);
            site = w->v.site;
            fputs("<h3 id=\"stock-", f);
            html_escs(f, site);
            fputs("\">", f);
            site_label(pg, site);
            fputs("</h3>\n<table><thead><tr><th>Item</th><th>Lot</th><th>Expires</th>"
                  "<th>Stock</th><th>Flags</th></tr></thead><tbody>\n",
                  f);
        }
        fmt_day(w->v.exp, exp);
        fprintf(f, "<tr class=\"cell%s%s%s%s%s\" data-site=\"",
                fl & QUERY_CELL_OVERDRAWN ? " overdrawn" : "",
                fl & QUERY_CELL_CONFLICT ? " conflict" : "",
                fl & QUERY_CELL_EXPIRED ? " expired" : "",
                fl & QUERY_CELL_EXPIRING ? " expiring" : "",
                fl & QUERY_CELL_BELOW_MIN ? " below-min" : "");
        html_escs(f, w->v.site);
        fputs("\" data-item=\"", f);
        html_escs(f, w->v.item);
        fputs("\" data-lot=\"", f);
        html_escs(f, w->v.lot);
        fprintf(f,
                "\" data-expiry=\"%s\" data-stock=\"%lld\" data-overdrawn=\"%s\" "
                "data-conflict=\"%s\" data-expired=\"%s\" data-expiring=\"%s\"><td>",
                exp, (long long)w->v.value, fl & QUERY_CELL_OVERDRAWN ? "true" : "false",
                fl & QUERY_CELL_CONFLICT ? "true" : "false",
                fl & QUERY_CELL_EXPIRED ? "true" : "false",
                fl & QUERY_CELL_EXPIRING ? "true" : "false");
        item_label(pg, w->v.item);
        fputs("</td><td>", f);
        html_escs(f, w->v.lot[0] ? w->v.lot : "–");
        fprintf(f, "</td><td class=\"d\">%s</td><td class=\"n stock\">%lld", exp[0] ? exp : "–",
                (long long)w->v.value);
        item_unit(pg, w->v.item);
        fputs("</td><td>", f);
        cell_flags(pg, w);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table></section>\n", f);
}

/* Every item across the sites: what they hold together, and how many sites need a look. */
static void page_totals(struct page *pg)
{
    FILE *f = pg->f;
    fputs("<section id=\"totals\"><h2>Totals across sites</h2>\n", f);
    if (!pg->n_totals) {
        fputs("<p class=\"empty\">No stock recorded.</p></section>\n", f);
        return;
    }
    fputs("<table><thead><tr><th>Item</th><th>Held</th><th>Sites</th><th>Below minimum</th>"
          "<th>Overdrawn</th><th>Expiring</th><th>Expired</th></tr></thead><tbody>\n",
          f);
    for (size_t i = 0; i < pg->n_totals; i++) {
        const struct query_total *t = &pg->totals[i];
        fputs("<tr class=\"total\" data-item=\"", f);
        html_escs(f, t->item);
        fprintf(f,
                "\" data-held=\"%lld\" data-sites=\"%u\" data-below-min=\"%u\" "
                "data-overdrawn=\"%u\" data-expiring=\"%u\" data-expired=\"%u\"><td>",
                (long long)t->held, t->sites, t->below_min, t->overdrawn, t->expiring, t->expired);
        item_label(pg, t->item);
        fprintf(f, "</td><td class=\"n\">%lld", (long long)t->held);
        item_unit(pg, t->item);
        fprintf(f, "</td><td class=\"n\">%u</td>", t->sites);
        fprintf(f, "<td class=\"n\">%s%u%s</td>", t->below_min ? "<b>" : "", t->below_min,
                t->below_min ? "</b>" : "");
        fprintf(f, "<td class=\"n\">%u</td><td class=\"n\">%u</td><td class=\"n\">%u</td></tr>\n",
                t->overdrawn, t->expiring, t->expired);
    }
    fputs("</tbody></table></section>\n", f);
}

static void page_peers(struct page *pg)
{
    FILE *f = pg->f;
    const struct dashboard_peers *ps = pg->peers;
    size_t shown = 0;
    char when[32], ago[32];
    fputs("<section id=\"peers\"><h2>Peers</h2>\n", f);
    if (!ps->present) {
        fputs("<p class=\"empty\">The node is not running (start it with <code>aidmesh "
              "run</code>): no peers to show.</p></section>\n",
              f);
        return;
    }
    if (!ps->alive) {
        fmt_when(ps->written, when);
        fprintf(f,
                "<p class=\"empty\">The node is not running; this is what it last saw, at "
                "%s.</p>\n",
                when);
    }
    for (size_t i = 0; i < ps->n; i++)
        shown += !ps->v[i].self;
    if (!shown) {
        fputs("<p class=\"empty\">No peer yet: the node is looking on the local networks "
              "(where multicast is blocked, add one with <code>aidmesh peers add "
              "HOST:PORT</code>).</p></section>\n",
              f);
        return;
    }
    fputs("<table><thead><tr><th>Peer</th><th>Name</th><th>Address</th><th>State</th>"
          "<th>Last seen</th>"
          "<th>Got / gave</th></tr></thead><tbody>\n",
          f);
    for (int pass = 1; pass >= 0; pass--)
        for (size_t i = 0; i < ps->n; i++) {
            const struct dashboard_peer *p = &ps->v[i];
            if (p->connected != pass || p->self)
                continue;
            fprintf(f, "<tr class=\"peer %s\" data-peer=\"", pass ? "connected" : "known");
            html_escs(f, p->author);
            fputs("\" data-name=\"", f);
            html_escs(f, p->name);
            fputs("\" data-address=\"", f);
            html_escs(f, p->address);
            fputs("\" data-state=\"", f);
            html_escs(f, pass ? p->state : "not connected");
            if (pass || p->last_seen)
                fprintf(f, "\" data-last-seen=\"%llu\">", (unsigned long long)p->last_seen);
            else
                fputs("\" data-last-seen=\"\">", f);
            fputs("<td class=\"id\">", f);
            if (p->author[0])
                html_esc(f, p->author, strnlen(p->author, 16));
            else
                fputs("–", f);
            fputs("</td><td class=\"name\">", f);
            if (p->name[0])
                html_escs(f, p->name);
            else
                fputs("–", f);
            fputs("</td><td>", f);
            html_escs(f, p->address);
            if (!strcmp(p->direction, "in") && !pass)
                fputs(" <small>(it dialed this node)</small>", f);
            fputs("</td>", f);
            if (pass) {
                fmt_when(p->last_seen, when);
                fmt_ago(pg->now, p->last_seen, ago);
                fputs("<td class=\"state-on\">", f);
                html_escs(f, p->state);
                fprintf(f,
                        "</td><td>%s <small>(%s)</small></td><td class=\"n\">%llu / %llu"
                        "</td></tr>\n",
                        when, ago, (unsigned long long)p->entries_in,
                        (unsigned long long)p->entries_out);
            } else {
                fputs("<td class=\"state-off\">not connected <small>(", f);
                html_escs(f, p->source);
                fputs(")</small></td><td>", f);
                if (p->last_seen) {
                    fmt_when(p->last_seen, when);
                    fmt_ago(pg->now, p->last_seen, ago);
                    fprintf(f, "%s <small>(%s)</small>", when, ago);
                }
                if (p->last_error[0]) {
                    fputs(p->last_seen ? "<br><small>last try: " : "<small>last try: ", f);
                    html_escs(f, p->last_error);
                    fputs("</small>", f);
                } else if (!p->last_seen) {
                    fputs("–", f);
                }
                fputs("</td><td></td></tr>\n", f);
            }
        }
    fputs("</tbody></table></section>\n", f);
}

static void page_sticks(struct page *pg)
{
    FILE *f = pg->f;
    char when[32], ago[32];
    fputs("<section id=\"sticks\"><h2>Sticks that came by</h2>\n", f);
    if (!pg->n_sticks) {
        fputs("<p class=\"empty\">No stick synced here yet.</p></section>\n", f);
        return;
    }
    fputs("<table><thead><tr><th>When</th><th>Stick (mounted at)</th><th>Got</th>"
          "<th>Gave</th><th>It carries</th></tr></thead><tbody>\n",
          f);
    for (size_t i = 0; i < pg->n_sticks; i++) {
        const struct stick_node_visit *v = &pg->sticks[i];
        fmt_when(v->at_ms, when);
        fmt_ago(pg->now, v->at_ms, ago);
        fputs("<tr class=\"stick\" data-path=\"", f);
        html_escs(f, v->path);
        fprintf(f, "\" data-at=\"%llu\" data-got=\"%llu\" data-gave=\"%llu\">",
                (unsigned long long)v->at_ms, (unsigned long long)v->got,
                (unsigned long long)v->gave);
        fprintf(f, "<td>%s <small>(%s)</small></td><td>", when, ago);
        html_escs(f, v->path);
        fprintf(f,
                "</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td><td class=\"n\">%llu "
                "entries",
                (unsigned long long)v->got, (unsigned long long)v->gave,
                (unsigned long long)v->carries);
        if (v->full)
            fputs(" <span class=\"chip c-soon\">FULL</span>", f);
        if (v->damage)
            fprintf(f, " <span class=\"chip c-over\">%llu DAMAGED</span>",
                    (unsigned long long)v->damage);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table></section>\n", f);
}

static void page_foot(struct page *pg)
{
    char fp[2 * STORE_VIEW_FP_LEN + 1];
    sodium_bin2hex(fp, sizeof fp, pg->qs.views.fingerprint, STORE_VIEW_FP_LEN);
    fprintf(pg->f,
            "<footer>%llu entr%s from %llu author%s · %llu sites, %llu items, %llu needs, "
            "%llu stock cells · view fingerprint <span class=\"id\">%s</span> (nodes with "
            "the same records show the same)%s</footer>\n</body>\n</html>\n",
            (unsigned long long)pg->qs.store.entries, pg->qs.store.entries == 1 ? "y" : "ies",
            (unsigned long long)pg->qs.store.authors, pg->qs.store.authors == 1 ? "" : "s",
            (unsigned long long)pg->qs.views.sites, (unsigned long long)pg->qs.views.items,
            (unsigned long long)pg->qs.views.needs, (unsigned long long)pg->qs.views.cells, fp,
            pg->qs.views.invalid ? " · some entries carry an invalid op: see `aidmesh verify`"
                                 : "");
}

/* The page: every record from one query, read and written out under store_guarded (a
 * damaged store is an error, not a crash). */
static int page_build(void *ctx)
{
    struct page *pg = ctx;
    struct query_need_filter nf = {.status = RELIEF_ST_OPEN};
    struct query_cell_filter cf = {.nonzero = 1}; /* a cell at 0 holds nothing to show */
    int rc = query_open(pg->n->store, pg->now, &pg->q);
    if (rc == AM_OK)
        rc = query_state(pg->q, &pg->qs);
    if (rc == AM_OK)
        rc = query_needs(pg->q, &nf, &pg->needs, &pg->n_needs);
    if (rc == AM_OK)
        rc = query_cells(pg->q, &cf, &pg->cells, &pg->n_cells);
    if (rc == AM_OK)
        rc = query_totals(pg->q, NULL, &pg->totals, &pg->n_totals);
    if (rc != AM_OK)
        return rc;
    for (size_t i = 0; i < pg->n_totals; i++)
        pg->below_min += pg->totals[i].below_min;
    for (size_t i = 0; i < pg->n_cells; i++) {
        unsigned fl = pg->cells[i].flags;
        pg->overdrawn += !!(fl & QUERY_CELL_OVERDRAWN);
        pg->conflicts += !!(fl & QUERY_CELL_CONFLICT);
        pg->expired += !!(fl & QUERY_CELL_EXPIRED);
        pg->expiring += !!(fl & QUERY_CELL_EXPIRING);
    }
    page_head(pg, pg->o);
    page_tiles(pg);
    fputs("<main>\n", pg->f);
    page_needs(pg);
    page_stock(pg);
    page_totals(pg);
    page_peers(pg);
    page_sticks(pg);
    fputs("</main>\n", pg->f);
    page_foot(pg);
    return AM_OK;
}

int dashboard_render(struct node *n, const struct dashboard_opts *o, char **out, size_t *len)
{
    struct page *pg;
    char *buf = NULL;
    size_t blen = 0;
    int rc;

    *out = NULL;
    *len = 0;
    pg = calloc(1, sizeof *pg);
    if (!pg)
        return AM_ENOMEM;
    pg->peers = calloc(1, sizeof *pg->peers);
    if (!pg->peers) {
        free(pg);
        return AM_ENOMEM;
    }
    pg->n = n;
    pg->o = o;
    pg->now = o->now_ms ? o->now_ms : node_wall_ms();
    pg->today = (uint32_t)(pg->now / 86400000ULL);
    peers_load(n->home, o->status, pg->peers);
    if (stick_node_visits(n->home, pg->sticks, DASHBOARD_STICKS_MAX, &pg->n_sticks) != AM_OK)
        pg->n_sticks = 0;

    pg->f = open_memstream(&buf, &blen);
    if (!pg->f) {
        rc = AM_ENOMEM;
        goto out;
    }
    rc = store_guarded(n->store, page_build, pg, NULL);
    if (rc == AM_OK && ferror(pg->f))
        rc = AM_ENOMEM;
    if (fclose(pg->f) != 0 && rc == AM_OK)
        rc = AM_ENOMEM;
    if (rc != AM_OK) {
        free(buf);
        goto out;
    }
    *out = buf;
    *len = blen;
out:
    query_close(pg->q);
    free(pg->peers);
    free(pg);
    return rc;
}
