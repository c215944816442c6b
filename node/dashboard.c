/*
 * dashboard.c: the hub's screen as one HTML document (see dashboard.h).
 * Must never: write anything, put a stored or received string into the page unescaped,
 * refer to anything outside the page (no script, font, image or style sheet to fetch), or
 * hold a read transaction beyond one store call.
 */
#include "dashboard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <sodium.h>

#include "am_err.h"
#include "am_grow.h"
#include "relief.h"
#include "relief_node.h"
#include "stick_node.h"

/* ---- output helpers ------------------------------------------------------------------------ */

/* Text as HTML, fit for element content and quoted attribute values. */
static void esc(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            if (c < 0x20 && c != '\t' && c != '\n')
                fputc('?', f);
            else
                fputc(c, f);
        }
    }
}

static void escs(FILE *f, const char *s)
{
    esc(f, s, strlen(s));
}

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

/* ---- the catalogue: names of sites and items -------------------------------------------- */

struct named {
    char key[RELIEF_SLUG_MAX + 1];
    char name[RELIEF_NAME_MAX + 1];   /* "" when never named */
    char extra[RELIEF_UNIT_MAX + 16]; /* site: kind; item: unit */
};

struct names {
    struct named *v;
    size_t n, cap;
    int items;
};

static void copy_reg(char *dst, size_t cap, const struct relief_node_reg *r)
{
    size_t len = r->n_heads && r->set && r->s ? r->len : 0;
    if (len >= cap)
        len = cap - 1;
    if (len)
        memcpy(dst, r->s, len);
    dst[len] = 0;
}

static int names_add(void *ctx, const struct store_view_row *r)
{
    struct names *nm = ctx;
    struct named *w;
    if (AM_GROW(nm->v, nm->cap, nm->n + 1, 32) != AM_OK)
        return AM_ENOMEM;
    w = &nm->v[nm->n];
    memset(w, 0, sizeof *w);
    if (nm->items) {
        struct relief_node_item iv;
        if (relief_node_item_parse(r->view, r->view_len, &iv) != AM_OK)
            return AM_ECORRUPT;
        snprintf(w->key, sizeof w->key, "%s", iv.code);
        copy_reg(w->name, sizeof w->name, &iv.name);
        copy_reg(w->extra, sizeof w->extra, &iv.unit);
    } else {
        struct relief_node_site sv;
        if (relief_node_site_parse(r->view, r->view_len, &sv) != AM_OK)
            return AM_ECORRUPT;
        snprintf(w->key, sizeof w->key, "%s", sv.slug);
        copy_reg(w->name, sizeof w->name, &sv.name);
        if (sv.kind.n_heads && sv.kind.set)
            snprintf(w->extra, sizeof w->extra, "%s", relief_kind_name((int)sv.kind.i));
    }
    nm->n++;
    return 0;
}

static int named_cmp(const void *a, const void *b)
{
    return strcmp(((const struct named *)a)->key, ((const struct named *)b)->key);
}

static const struct named *names_find(const struct names *nm, const char *key)
{
    struct named k;
    if (!nm->n)
        return NULL;
    snprintf(k.key, sizeof k.key, "%s", key);
    return bsearch(&k, nm->v, nm->n, sizeof *nm->v, named_cmp);
}

static int names_load(struct store *s, struct names *nm, int items)
{
    uint8_t prefix = items ? RELIEF_OBJ_ITEM : RELIEF_OBJ_SITE;
    int rc;
    memset(nm, 0, sizeof *nm);
    nm->items = items;
    rc = store_views_each(s, &prefix, 1, names_add, nm);
    if (rc == AM_OK && nm->n)
        qsort(nm->v, nm->n, sizeof *nm->v, named_cmp); /* key order is slug order; be sure */
    return rc;
}

/* ---- needs -------------------------------------------------------------------------------- */

struct need_row {
    uint8_t id[RELIEF_ID_LEN];
    unsigned digits;
    int pri, opened, conflict;
    uint32_t by;
    uint64_t open_hlc;
    int64_t q, delivered;
    char site[RELIEF_SLUG_MAX + 1], item[RELIEF_SLUG_MAX + 1];
    char note[RELIEF_NOTE_MAX + 1];
};

struct need_rows {
    struct need_row *v;
    size_t n, cap;
};

static int need_add(void *ctx, const struct store_view_row *r)
{
    struct need_rows *nr = ctx;
    struct relief_node_need nv;
    struct need_row *w;
    if (relief_node_need_parse(r->view, r->view_len, &nv) != AM_OK)
        return AM_ECORRUPT;
    if (AM_GROW(nr->v, nr->cap, nr->n + 1, 32) != AM_OK)
        return AM_ENOMEM;
    w = &nr->v[nr->n++];
    memset(w, 0, sizeof *w);
    memcpy(w->id, nv.id, RELIEF_ID_LEN);
    w->digits = r->id_digits ? r->id_digits : RELIEF_ID_SHORT_MIN;
    w->pri = nv.pri.n_heads ? (int)nv.pri.i : 0;
    w->opened = nv.opened;
    w->conflict = relief_node_need_conflict(&nv);
    w->by = nv.by.n_heads && nv.by.set ? (uint32_t)nv.by.i : 0;
    w->open_hlc = nv.open_hlc;
    w->q = nv.q.n_heads ? nv.q.i : 0;
    w->delivered = nv.delivered;
    snprintf(w->site, sizeof w->site, "%s", nv.site);
    snprintf(w->item, sizeof w->item, "%s", nv.item);
    copy_reg(w->note, sizeof w->note, &nv.note);
    return 0;
}

/* Critical first; then by site; then needed-by (soonest first, none last); then oldest. */
static int need_cmp(const void *a, const void *b)
{
    const struct need_row *x = a, *y = b;
    int px = x->pri ? x->pri : 9, py = y->pri ? y->pri : 9, c;
    uint32_t bx = x->by ? x->by : UINT32_MAX, by = y->by ? y->by : UINT32_MAX;
    if (px != py)
        return px < py ? -1 : 1;
    if ((c = strcmp(x->site, y->site)) != 0)
        return c;
    if (bx != by)
        return bx < by ? -1 : 1;
    if (x->open_hlc != y->open_hlc)
        return x->open_hlc < y->open_hlc ? -1 : 1;
    return memcmp(x->id, y->id, RELIEF_ID_LEN);
}

/* ---- stock cells ------------------------------------------------------------------------- */

struct cell_row {
    char site[RELIEF_SLUG_MAX + 1], item[RELIEF_SLUG_MAX + 1], lot[RELIEF_SLUG_MAX + 1];
    uint32_t exp;
    int64_t value;
    int overdrawn, conflict, expired, expiring, saturated;
    uint32_t n_counts, n_audit;
};

struct cell_rows {
    struct cell_row *v;
    size_t n, cap;
    uint32_t today;
    size_t overdrawn, conflicts, expired, expiring;
};

static int cell_add(void *ctx, const struct store_view_row *r)
{
    struct cell_rows *cr = ctx;
    struct relief_node_cell cv;
    struct cell_row *w;
    if (relief_node_cell_parse(r->view, r->view_len, &cv) != AM_OK)
        return AM_ECORRUPT;
    if (AM_GROW(cr->v, cr->cap, cr->n + 1, 64) != AM_OK)
        return AM_ENOMEM;
    w = &cr->v[cr->n++];
    memset(w, 0, sizeof *w);
    snprintf(w->site, sizeof w->site, "%s", cv.site);
    snprintf(w->item, sizeof w->item, "%s", cv.item);
    snprintf(w->lot, sizeof w->lot, "%s", cv.lot);
    w->exp = cv.exp;
    w->value = cv.value;
    w->overdrawn = cv.overdrawn;
    w->conflict = cv.count_conflict;
    w->saturated = cv.saturated;
    w->expired = cv.exp && cv.exp <= cr->today;
    w->expiring = cv.exp && !w->expired && cv.exp <= cr->today + DASHBOARD_EXPIRING_DAYS;
    w->n_counts = cv.n_maximal + 1;
    w->n_audit = cv.n_audit;
    cr->overdrawn += (size_t)w->overdrawn;
    cr->conflicts += (size_t)w->conflict;
    cr->expired += (size_t)w->expired;
    cr->expiring += (size_t)w->expiring;
    return 0;
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
    uint64_t now;
    uint32_t today;
    struct names sites, items;
    struct need_rows needs;
    struct cell_rows cells;
    struct dashboard_peers *peers;
    struct stick_node_visit sticks[DASHBOARD_STICKS_MAX];
    size_t n_sticks;
    struct store_view_stats vs;
    struct store_stats st;
};

static void site_label(struct page *pg, const char *slug)
{
    const struct named *s = names_find(&pg->sites, slug);
    if (s && s->name[0]) {
        escs(pg->f, s->name);
        fputs(" <small>", pg->f);
        escs(pg->f, slug);
        fputs("</small>", pg->f);
    } else {
        escs(pg->f, slug);
    }
}

static void item_label(struct page *pg, const char *code)
{
    const struct named *s = names_find(&pg->items, code);
    if (s && s->name[0]) {
        escs(pg->f, s->name);
        fputs(" <small>", pg->f);
        escs(pg->f, code);
        fputs("</small>", pg->f);
    } else {
        escs(pg->f, code);
    }
}

static const char *item_unit(struct page *pg, const char *code)
{
    const struct named *s = names_find(&pg->items, code);
    return s ? s->extra : "";
}

static void tile(FILE *f, const char *cls, const char *value, const char *label)
{
    fprintf(f, "<div class=\"tile %s\"><b>", cls);
    escs(f, value);
    fputs("</b><span>", f);
    escs(f, label);
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
    escs(f, pg->n->name[0] ? pg->n->name : who);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n", page_css);
    fprintf(f, "<body data-generated=\"%llu\" data-live=\"%s\">\n<header><h1>aidmesh · ",
            (unsigned long long)pg->now, o->refresh_s > 0 ? "true" : "false");
    escs(f, pg->n->name[0] ? pg->n->name : who);
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
    for (size_t i = 0; i < pg->needs.n; i++)
        crit += pg->needs.v[i].pri == RELIEF_PRI_CRITICAL;
    for (size_t i = 0; i < pg->peers->n; i++)
        connected += (size_t)pg->peers->v[i].connected;
    fputs("<div class=\"tiles\">\n", f);
    snprintf(v, sizeof v, "%zu", pg->needs.n);
    snprintf(l, sizeof l, "open needs, %zu critical", crit);
    tile(f, crit ? "alert" : "", v, l);
    snprintf(v, sizeof v, "%zu", pg->cells.overdrawn);
    tile(f, pg->cells.overdrawn ? "alert" : "", v, "overdrawn cells");
    snprintf(v, sizeof v, "%zu", pg->cells.conflicts);
    tile(f, pg->cells.conflicts ? "warn" : "", v, "counts to settle");
    snprintf(v, sizeof v, "%zu", pg->cells.expired + pg->cells.expiring);
    snprintf(l, sizeof l, "expired or expiring in %d d", DASHBOARD_EXPIRING_DAYS);
    tile(f, pg->cells.expired + pg->cells.expiring ? "warn" : "", v, l);
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
    if (!pg->needs.n) {
        fputs("<p class=\"empty\">No open needs.</p></section>\n", f);
        return;
    }
    fputs("<table><thead><tr><th>Priority</th><th>Site</th><th>Item</th>"
          "<th>Delivered / needed</th><th>Needed by</th><th>Note</th><th>Need</th></tr>"
          "</thead><tbody>\n",
          f);
    for (size_t i = 0; i < pg->needs.n; i++) {
        const struct need_row *w = &pg->needs.v[i];
        const char *pri = w->pri ? relief_priority_name(w->pri) : "none";
        char hex[33], by[11];
        relief_id_hex(w->id, hex);
        fmt_day(w->by, by);
        fprintf(f, "<tr class=\"need pri-%s%s\" data-need=\"%s\" data-site=\"", pri,
                w->conflict ? " conflict" : "", hex);
        escs(f, w->site);
        fputs("\" data-item=\"", f);
        escs(f, w->item);
        fprintf(f,
                "\" data-qty=\"%lld\" data-delivered=\"%lld\" data-priority=\"%s\" "
                "data-by=\"%s\">",
                (long long)w->q, (long long)w->delivered, w->pri ? pri : "", by);
        fprintf(f, "<td><span class=\"pri\">%s</span></td><td>", pri);
        if (w->opened)
            site_label(pg, w->site);
        else
            fputs("<small>not opened here yet</small>", f);
        fputs("</td><td>", f);
        if (w->opened)
            item_label(pg, w->item);
        fprintf(f, "</td><td class=\"n\">%lld / %lld", (long long)w->delivered, (long long)w->q);
        if (w->opened && item_unit(pg, w->item)[0]) {
            fputs(" <small>", f);
            escs(f, item_unit(pg, w->item));
            fputs("</small>", f);
        }
        fputs("</td><td class=\"d\">", f);
        if (w->by) {
            if (w->by < pg->today)
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
        escs(f, w->note);
        fprintf(f, "</td><td class=\"id\">%.*s</td></tr>\n", (int)w->digits, hex);
    }
    fputs("</tbody></table></section>\n", f);
}

static void cell_flags(struct page *pg, const struct cell_row *w)
{
    FILE *f = pg->f;
    if (w->overdrawn)
        fputs("<span class=\"chip c-over\" title=\"more was issued than was known to be there"
              "\">OVERDRAWN</span>",
              f);
    if (w->conflict)
        fprintf(f,
                "<span class=\"chip c-conf\" title=\"counts taken without seeing each other: "
                "count again to settle\">%u COUNTS</span>",
                w->n_counts);
    if (w->expired)
        fputs("<span class=\"chip c-exp\">EXPIRED</span>", f);
    else if (w->expiring)
        fprintf(f, "<span class=\"chip c-soon\">EXPIRES IN %u D</span>", w->exp - pg->today);
    if (w->n_audit)
        fprintf(f,
                "<span class=\"chip c-chk\" title=\"moves recorded elsewhere while a count was "
                "taken: check whether the count included them\">CHECK %u</span>",
                w->n_audit);
    if (w->saturated)
        fputs("<span class=\"chip c-over\">CAPPED</span>", f);
}

static void page_stock(struct page *pg)
{
    FILE *f = pg->f;
    const char *site = NULL;
    fputs("<section id=\"stock\"><h2>Stock per site</h2>\n", f);
    if (!pg->cells.n) {
        fputs("<p class=\"empty\">No stock recorded.</p></section>\n", f);
        return;
    }
    for (size_t i = 0; i < pg->cells.n; i++) {
        const struct cell_row *w = &pg->cells.v[i];
        char exp[11];
        if (!site || strcmp(site, w->site) != 0) {
            if (site)
                fputs("</tbody></table>\n", f);
            site = w->site;
            fputs("<h3 id=\"stock-", f);
            escs(f, site);
            fputs("\">", f);
            site_label(pg, site);
            fputs("</h3>\n<table><thead><tr><th>Item</th><th>Lot</th><th>Expires</th>"
                  "<th>Stock</th><th>Flags</th></tr></thead><tbody>\n",
                  f);
        }
        fmt_day(w->exp, exp);
        fprintf(f, "<tr class=\"cell%s%s%s%s\" data-site=\"", w->overdrawn ? " overdrawn" : "",
                w->conflict ? " conflict" : "", w->expired ? " expired" : "",
                w->expiring ? " expiring" : "");
        escs(f, w->site);
        fputs("\" data-item=\"", f);
        escs(f, w->item);
        fputs("\" data-lot=\"", f);
        escs(f, w->lot);
        fprintf(f,
                "\" data-expiry=\"%s\" data-stock=\"%lld\" data-overdrawn=\"%s\" "
                "data-conflict=\"%s\" data-expired=\"%s\" data-expiring=\"%s\"><td>",
                exp, (long long)w->value, w->overdrawn ? "true" : "false",
                w->conflict ? "true" : "false", w->expired ? "true" : "false",
                w->expiring ? "true" : "false");
        item_label(pg, w->item);
        fputs("</td><td>", f);
        escs(f, w->lot[0] ? w->lot : "–");
        fprintf(f, "</td><td class=\"d\">%s</td><td class=\"n stock\">%lld", exp[0] ? exp : "–",
                (long long)w->value);
        if (item_unit(pg, w->item)[0]) {
            fputs(" <small>", f);
            escs(f, item_unit(pg, w->item));
            fputs("</small>", f);
        }
        fputs("</td><td>", f);
        cell_flags(pg, w);
        fputs("</td></tr>\n", f);
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
    fputs("<table><thead><tr><th>Peer</th><th>Address</th><th>State</th><th>Last seen</th>"
          "<th>Got / gave</th></tr></thead><tbody>\n",
          f);
    for (int pass = 1; pass >= 0; pass--)
        for (size_t i = 0; i < ps->n; i++) {
            const struct dashboard_peer *p = &ps->v[i];
            if (p->connected != pass || p->self)
                continue;
            fprintf(f, "<tr class=\"peer %s\" data-peer=\"", pass ? "connected" : "known");
            escs(f, p->author);
            fputs("\" data-address=\"", f);
            escs(f, p->address);
            fputs("\" data-state=\"", f);
            escs(f, pass ? p->state : "not connected");
            if (pass || p->last_seen)
                fprintf(f, "\" data-last-seen=\"%llu\">", (unsigned long long)p->last_seen);
            else
                fputs("\" data-last-seen=\"\">", f);
            fputs("<td class=\"id\">", f);
            if (p->author[0])
                esc(f, p->author, strnlen(p->author, 16));
            else
                fputs("–", f);
            fputs("</td><td>", f);
            escs(f, p->address);
            fputs("</td>", f);
            if (pass) {
                fmt_when(p->last_seen, when);
                fmt_ago(pg->now, p->last_seen, ago);
                fputs("<td class=\"state-on\">", f);
                escs(f, p->state);
                fprintf(f,
                        "</td><td>%s <small>(%s)</small></td><td class=\"n\">%llu / %llu"
                        "</td></tr>\n",
                        when, ago, (unsigned long long)p->entries_in,
                        (unsigned long long)p->entries_out);
            } else {
                fputs("<td class=\"state-off\">not connected <small>(", f);
                escs(f, p->source);
                fputs(")</small></td><td>", f);
                if (p->last_seen) {
                    fmt_when(p->last_seen, when);
                    fmt_ago(pg->now, p->last_seen, ago);
                    fprintf(f, "%s <small>(%s)</small>", when, ago);
                }
                if (p->last_error[0]) {
                    fputs(p->last_seen ? "<br><small>last try: " : "<small>last try: ", f);
                    escs(f, p->last_error);
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
        escs(f, v->path);
        fprintf(f, "\" data-at=\"%llu\" data-got=\"%llu\" data-gave=\"%llu\">",
                (unsigned long long)v->at_ms, (unsigned long long)v->got,
                (unsigned long long)v->gave);
        fprintf(f, "<td>%s <small>(%s)</small></td><td>", when, ago);
        escs(f, v->path);
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
    sodium_bin2hex(fp, sizeof fp, pg->vs.fingerprint, STORE_VIEW_FP_LEN);
    fprintf(pg->f,
            "<footer>%llu entr%s from %llu author%s · %llu sites, %llu items, %llu needs, "
            "%llu stock cells · view fingerprint <span class=\"id\">%s</span> (nodes with "
            "the same records show the same)%s</footer>\n</body>\n</html>\n",
            (unsigned long long)pg->st.entries, pg->st.entries == 1 ? "y" : "ies",
            (unsigned long long)pg->st.authors, pg->st.authors == 1 ? "" : "s",
            (unsigned long long)pg->vs.sites, (unsigned long long)pg->vs.items,
            (unsigned long long)pg->vs.needs, (unsigned long long)pg->vs.cells, fp,
            pg->vs.invalid ? " · some entries carry an invalid op: see `aidmesh verify`" : "");
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
    pg->now = o->now_ms ? o->now_ms : node_wall_ms();
    pg->today = (uint32_t)(pg->now / 86400000ULL);
    pg->cells.today = pg->today;

    rc = names_load(n->store, &pg->sites, 0);
    if (rc == AM_OK)
        rc = names_load(n->store, &pg->items, 1);
    if (rc == AM_OK)
        rc = store_needs_each(n->store, NULL, RELIEF_ST_OPEN, need_add, &pg->needs);
    if (rc == AM_OK)
        rc = store_cells_each(n->store, NULL, NULL, cell_add, &pg->cells);
    if (rc == AM_OK)
        rc = store_view_stats(n->store, &pg->vs);
    if (rc == AM_OK)
        rc = store_stats(n->store, &pg->st);
    if (rc != AM_OK)
        goto out;
    if (pg->needs.n)
        qsort(pg->needs.v, pg->needs.n, sizeof *pg->needs.v, need_cmp);
    peers_load(n->home, o->status, pg->peers);
    if (stick_node_visits(n->home, pg->sticks, DASHBOARD_STICKS_MAX, &pg->n_sticks) != AM_OK)
        pg->n_sticks = 0;

    pg->f = open_memstream(&buf, &blen);
    if (!pg->f) {
        rc = AM_ENOMEM;
        goto out;
    }
    page_head(pg, o);
    page_tiles(pg);
    fputs("<main>\n", pg->f);
    page_needs(pg);
    page_stock(pg);
    page_peers(pg);
    page_sticks(pg);
    fputs("</main>\n", pg->f);
    page_foot(pg);
    if (ferror(pg->f)) {
        fclose(pg->f);
        free(buf);
        rc = AM_ENOMEM;
        goto out;
    }
    if (fclose(pg->f) != 0) {
        free(buf);
        rc = AM_ENOMEM;
        goto out;
    }
    *out = buf;
    *len = blen;
out:
    free(pg->sites.v);
    free(pg->items.v);
    free(pg->needs.v);
    free(pg->cells.v);
    free(pg->peers);
    free(pg);
    return rc;
}
