/*
 * dashboard_test.c: the hub's page (node/dashboard.h) over a real node home and store:
 * sites, items, needs of every priority and status, stock cells that are overdrawn,
 * expired, expiring (and just not), one whose counts conflict, and a live status with
 * peers. The page is read through its machine-readable rows (the data-* attributes
 * dashboard.h fixes), never through its look: open needs only, critical first, in the
 * order the inputs call for; every flag on the right cell; the peers; text from the store
 * and from the status escaped (markup, quotes, ampersands) and no bidirectional control
 * reaching the page; tags balanced.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "dashboard.h"
#include "entry.h"
#include "hlc.h"
#include "home.h"
#include "node.h"
#include "query.h"
#include "relief.h"
#include "relief_node.h"
#include "status.h"
#include "store.h"
#include "testutil.h"

#define NOW_MS 1767268800000ULL /* 2026-01-01 12:00 UTC */
#define TODAY  ((uint32_t)(NOW_MS / 86400000ULL))
#define SOON   QUERY_EXPIRING_DAYS /* the page flags lots expiring within this many days */

/* Text that must come out escaped wherever it is shown. */
#define EVIL_SITE_NAME "Zeta <script>alert(1)</script> \"Qz\" & co"
#define EVIL_ITEM_NAME "ORS & \"salts\" <marquee>"
#define EVIL_NOTE      "<script>x</script> & \"nq\""
#define RLO            "\xe2\x80\xae" /* U+202E RIGHT-TO-LEFT OVERRIDE */

static char *g_tmp;
static char g_home[AM_HOME_PATH_MAX];
static struct node g_node;

static void setup(void)
{
    uint8_t seed[AM_SEED_LEN], secret[AM_NETSECRET_LEN];
    cr_assert(sodium_init() >= 0);
    g_tmp = tu_tmpdir();
    cr_assert_eq(home_path(g_home, g_tmp, "home"), AM_OK);
    randombytes_buf(seed, sizeof seed);
    randombytes_buf(secret, sizeof secret);
    cr_assert_eq(home_init(g_home, seed, secret, "Hub \"1\" & <co>", 0), AM_OK);
    cr_assert_eq(node_open(&g_node, g_home, NULL, NULL), AM_OK);
}

static void teardown(void)
{
    node_close(&g_node);
    tu_rmrf(g_tmp);
    free(g_tmp);
}

TestSuite(dashboard, .init = setup, .fini = teardown);

/* ---- writing through the node ----------------------------------------------------------- */

static struct relief_str S(const char *s) {
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

static void
write_op(const struct relief_op *op, uint8_t hash[AM_HASH_LEN])
{
    char err[RELIEF_ERR_MAX] = "";
    int rc = relief_node_write(&g_node, op, 0, err, sizeof err, hash);
    cr_assert_eq(rc, AM_OK, "relief_node_write: %s (%s)", am_strerror(rc), err);
}

static void add_site(const char *slug, const char *name)
{
    struct relief_op op = {.type = RELIEF_T_SITE, .site = S(slug), .name = S(name)};
    HAS(&op, SLUG), HAS(&op, NAME);
    write_op(&op, NULL);
}

static void add_item(const char *code, const char *name, const char *unit)
{
    struct relief_op op = {
        .type = RELIEF_T_ITEM, .item = S(code), .name = S(name), .unit = S(unit)};
    HAS(&op, CODE), HAS(&op, NAME), HAS(&op, UNIT);
    write_op(&op, NULL);
}

enum fate { F_OPEN, F_FULFILLED, F_CANCELLED, F_DELIVERED_ALL, F_DELIVERED_PART };

struct need_in {
    const char *site, *item;
    int64_t q;
    int pri;
    int by_days; /* needed by TODAY + by_days; 0: no date */
    const char *note;
    enum fate fate;
    char hex[33]; /* filled when written */
    int64_t delivered;
};

static void add_need(struct need_in *w)
{
    struct relief_op op = {.type = RELIEF_T_NEED_OPEN,
                           .site = S(w->site),
                           .item = S(w->item),
                           .q = w->q,
                           .pri = w->pri};
    uint8_t hash[AM_HASH_LEN], id[RELIEF_ID_LEN];
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
    if (w->by_days) {
        op.by = TODAY + (uint32_t)w->by_days;
        HAS(&op, BY);
    }
    if (w->note) {
        op.note = S(w->note);
        HAS(&op, NOTE);
    }
    write_op(&op, hash);
    relief_need_id(hash, id);
    relief_id_hex(id, w->hex);

    memset(&op, 0, sizeof op);
    memcpy(op.need, id, RELIEF_ID_LEN);
    HAS(&op, NEED);
    switch (w->fate) {
    case F_OPEN:
        return;
    case F_FULFILLED:
    case F_CANCELLED:
        op.type = RELIEF_T_NEED_CLOSE;
        op.st = w->fate == F_FULFILLED ? RELIEF_ST_FULFILLED : RELIEF_ST_CANCELLED;
        HAS(&op, ST);
        break;
    case F_DELIVERED_ALL:
    case F_DELIVERED_PART:
        op.type = RELIEF_T_NEED_DLV;
        op.q = w->fate == F_DELIVERED_ALL ? w->q : w->q / 3;
        w->delivered = op.q;
        HAS(&op, Q);
        break;
    }
    write_op(&op, NULL);
}

static int is_open(const struct need_in *w)
{
    return w->fate == F_OPEN || w->fate == F_DELIVERED_PART;
}

struct move {
    int reason;
    int64_t q;
};

struct cell_in {
    const char *site, *item, *lot;
    int exp_days; /* expiry TODAY + exp_days; INT32_MIN: no expiry */
    struct move m[2];
    int64_t value;
};

#define NO_EXP INT32_MIN

static uint32_t cell_exp(const struct cell_in *c)
{
    return c->exp_days == NO_EXP ? 0 : (uint32_t)((int64_t)TODAY + c->exp_days);
}

static void stock_op(struct relief_op *op, const char *site, const char *item, const char *lot,
                     uint32_t exp)
{
    op->site = S(site);
    op->item = S(item);
    HAS(op, SITE), HAS(op, ITEM), HAS(op, Q);
    if (lot[0]) {
        op->lot = S(lot);
        HAS(op, LOT);
    }
    if (exp) {
        op->exp = exp;
        HAS(op, EXP);
    }
}

static void add_cell(struct cell_in *c)
{
    for (int i = 0; i < 2 && c->m[i].reason; i++) {
        struct relief_op op = {
            .type = RELIEF_T_STOCK_MOVE, .reason = c->m[i].reason, .q = c->m[i].q};
        stock_op(&op, c->site, c->item, c->lot, cell_exp(c));
        HAS(&op, R);
        write_op(&op, NULL);
        c->value += relief_reason_sign(c->m[i].reason) * c->m[i].q;
    }
}

/* A count of cell (site, item) by this node and one by another author that had not seen
 * it (ingested as received from the network): two counts to settle. */
static void conflicting_counts(const char *site, const char *item)
{
    struct relief_op op = {.type = RELIEF_T_STOCK_COUNT, .q = 7};
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN], prev[AM_HASH_LEN] = {0}, opb[AM_OP_MAX];
    uint8_t *raw[2];
    size_t len[2], ol;
    char err[RELIEF_ERR_MAX] = "";
    struct store_ingest_stats st;
    struct entry e;
    /* {"t":"site","slug":"evil","name":"Hub<U+202E>X"}: invalid (§10.2), so ignored */
    static const uint8_t bidi_op[] = {0x83, 0xa1, 't',  0xa4, 's', 'i',  't',  'e',  0xa4, 's', 'l',
                                      'u',  'g',  0xa4, 'e',  'v', 'i',  'l',  0xa4, 'n',  'a', 'm',
                                      'e',  0xa7, 'H',  'u',  'b', 0xe2, 0x80, 0xae, 'X'};

    stock_op(&op, site, item, "", 0);
    HAS(&op, CTX);
    write_op(&op, NULL);

    crypto_sign_keypair(pk, sk);
    op.q = 9;
    cr_assert_eq(relief_op_encode(&op, opb, sizeof opb, &ol, err, sizeof err), AM_OK, "%s", err);
    raw[0] = malloc(AM_ENTRY_MAX);
    raw[1] = malloc(AM_ENTRY_MAX);
    cr_assert(raw[0] && raw[1]);
    cr_assert_eq(entry_build(raw[0], AM_ENTRY_MAX, &len[0], sk, 1, prev,
                             hlc_pack(node_wall_ms(), 0), opb, ol),
                 AM_OK);
    cr_assert_eq(entry_decode(&e, raw[0], len[0]), AM_OK);
    entry_hash(&e, prev);
    cr_assert_eq(entry_build(raw[1], AM_ENTRY_MAX, &len[1], sk, 2, prev,
                             hlc_pack(node_wall_ms(), 1), bidi_op, sizeof bidi_op),
                 AM_OK);
    cr_assert_eq(
        store_ingest(g_node.store, (const uint8_t *const *)raw, len, 2, node_wall_ms(), &st),
        AM_OK);
    cr_assert_eq(st.added, 2);
    cr_assert_eq(st.invalid_ops, 1, "the op naming a site with a bidi control is invalid");
    free(raw[0]);
    free(raw[1]);
}

/* The cell's own view says what the page must flag: check the premise. */
struct cell_probe {
    const char *site, *item;
    int conflict, overdrawn, found;
};

static int probe_cell(void *ctx, const struct store_view_row *r)
{
    struct cell_probe *p = ctx;
    struct relief_node_cell cv;
    cr_assert_eq(relief_node_cell_parse(r->view, r->view_len, &cv), AM_OK);
    if (!strcmp(cv.site, p->site) && !strcmp(cv.item, p->item) && !cv.lot[0] && !cv.exp) {
        p->found = 1;
        p->conflict = cv.count_conflict;
        p->overdrawn = cv.overdrawn;
    }
    return 0;
}

/* ---- reading the page ---------------------------------------------------------------------- */

static size_t count(const char *page, const char *s)
{
    size_t n = 0, l = strlen(s);
    for (const char *p = strstr(page, s); p; p = strstr(p + l, s))
        n++;
    return n;
}

/* The value of attribute `name` in the tag starting at `tag` (up to its '>'), copied into
 * out; 0 when absent. Values are escaped, so neither '"' nor '>' is inside one. */
static int attr(const char *tag, const char *name, char *out, size_t cap)
{
    const char *end = strchr(tag, '>'), *p = tag;
    size_t nl = strlen(name);
    cr_assert(end, "unterminated tag");
    while ((p = strstr(p, name)) && p < end) {
        if (p[-1] == ' ' && p[nl] == '=' && p[nl + 1] == '"') {
            const char *v = p + nl + 2, *q = strchr(v, '"');
            cr_assert(q && q < end, "unterminated attribute %s", name);
            cr_assert((size_t)(q - v) < cap, "attribute %s too long", name);
            memcpy(out, v, (size_t)(q - v));
            out[q - v] = 0;
            return 1;
        }
        p += nl;
    }
    return 0;
}

/* The rows of one kind (`<tr class="KIND...`), in page order. */
static size_t rows(const char *page, const char *kind, const char **out, size_t max)
{
    char pat[64];
    size_t n = 0;
    snprintf(pat, sizeof pat, "<tr class=\"%s", kind);
    for (const char *p = strstr(page, pat); p; p = strstr(p + 1, pat)) {
        char c = p[strlen(pat)];
        if (c != '"' && c != ' ')
            continue; /* another class that begins the same */
        cr_assert(n < max, "too many %s rows", kind);
        out[n++] = p;
    }
    return n;
}

static char *render(struct status_snapshot *sn)
{
    struct dashboard_opts o = {.now_ms = NOW_MS, .refresh_s = 0, .status = sn};
    char *page = NULL;
    size_t len = 0;
    int rc = dashboard_render(&g_node, &o, &page, &len);
    cr_assert_eq(rc, AM_OK, "dashboard_render: %s", am_strerror(rc));
    cr_assert(page);
    cr_assert_eq(strlen(page), len, "one NUL-free document of the length given");
    return page;
}

static void well_formed(const char *page)
{
    cr_expect(strncmp(page, "<!DOCTYPE html>", 15) == 0, "the page starts with its doctype");
    cr_expect_eq(count(page, "<html"), 1);
    cr_expect_eq(count(page, "</html>"), 1);
    cr_expect_eq(count(page, "<body"), 1);
    cr_expect_eq(count(page, "</body>"), 1);
    cr_expect_eq(count(page, "<section"), count(page, "</section>"), "sections balanced");
    cr_expect_eq(count(page, "<table"), count(page, "</table>"), "tables balanced");
    cr_expect_eq(count(page, "<tr"), count(page, "</tr>"), "rows balanced");
    cr_expect_eq(count(page, "<script"), 0, "no script");
    cr_expect(strstr(page, "</html>") > strstr(page, "</body>"));
}

/* No bidirectional control, raw or as a character reference (which would put it back). */
static void no_bidi(const char *page)
{
    static const char *const refs[] = {"&#x202a;", "&#x202b;", "&#x202c;", "&#x202d;", "&#x202e;",
                                       "&#x2066;", "&#x2067;", "&#x2068;", "&#x2069;", "&#8234;",
                                       "&#8235;",  "&#8236;",  "&#8237;",  "&#8238;",  "&#8294;",
                                       "&#8295;",  "&#8296;",  "&#8297;"};
    for (const unsigned char *p = (const unsigned char *)page; *p; p++) {
        size_t at = (size_t)((const char *)p - page);
        if (p[0] == 0xe2 && ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
                             (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9))) {
            cr_expect(0, "a raw bidirectional control at byte %zu: %.80s", at,
                      page + (at > 40 ? at - 40 : 0));
            break;
        }
    }
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
        cr_expect(!strcasestr(page, refs[i]), "a bidirectional control as %s", refs[i]);
}

/* ---- the test ------------------------------------------------------------------------------- */

static int pri_rank(const char *name)
{
    for (int p = RELIEF_PRI_CRITICAL; p <= RELIEF_PRI_LOW; p++)
        if (!strcmp(name, relief_priority_name(p)))
            return p;
    return 9; /* none */
}

static void peer_row(struct status_peer *p, const char *author, const char *address,
                     const char *state, const char *source, const char *last_error,
                     uint64_t last_seen, int self)
{
    cr_assert(p);
    snprintf(p->author, sizeof p->author, "%s", author);
    snprintf(p->address, sizeof p->address, "%s", address);
    snprintf(p->state, sizeof p->state, "%s", state);
    snprintf(p->source, sizeof p->source, "%s", source);
    snprintf(p->last_error, sizeof p->last_error, "%s", last_error);
    p->last_seen = last_seen;
    p->self = self;
}

Test(dashboard, needs_stock_flags_peers_and_escaping)
{
    struct need_in needs[] = {
        {"zeta", "ors", 10, RELIEF_PRI_CRITICAL, 10, EVIL_NOTE, F_OPEN, "", 0},
        {"zeta", "water", 5, RELIEF_PRI_CRITICAL, 2, NULL, F_OPEN, "", 0},
        {"alpha", "ors", 3, RELIEF_PRI_HIGH, 0, NULL, F_OPEN, "", 0},
        {"alpha", "water", 7, RELIEF_PRI_LOW, 4, NULL, F_OPEN, "", 0},
        {"alpha", "ors", 4, RELIEF_PRI_NORMAL, 0, "normal", F_OPEN, "", 0},
        {"zeta", "ors", 2, RELIEF_PRI_CRITICAL, 1, "done", F_FULFILLED, "", 0},
        {"alpha", "water", 1, RELIEF_PRI_HIGH, 0, "called off", F_CANCELLED, "", 0},
        {"alpha", "ors", 2, RELIEF_PRI_NORMAL, 0, NULL, F_DELIVERED_ALL, "", 0},
        {"zeta", "water", 9, RELIEF_PRI_HIGH, 3, NULL, F_DELIVERED_PART, "", 0},
        {"alpha", "ors", 6, RELIEF_PRI_CRITICAL, 0, NULL, F_OPEN, "", 0},
        {"alpha", "water", 6, RELIEF_PRI_LOW, 0, NULL, F_OPEN, "", 0},
    };
    const size_t nn = sizeof needs / sizeof needs[0];
    struct cell_in cells[] = {
        {"alpha", "ors", "", NO_EXP, {{RELIEF_R_RECEIVED, 5}, {RELIEF_R_ISSUED, 8}}, 0},
        {"alpha", "water", "l1", -3, {{RELIEF_R_RECEIVED, 10}}, 0},
        {"alpha", "ors", "l4", 0, {{RELIEF_R_RECEIVED, 2}}, 0},
        {"zeta", "ors", "l2", 5, {{RELIEF_R_RECEIVED, 4}}, 0},
        {"zeta", "ors", "l5", SOON, {{RELIEF_R_RECEIVED, 1}}, 0},
        {"zeta", "ors", "l6", SOON + 1, {{RELIEF_R_RECEIVED, 1}}, 0},
        {"zeta", "water", "l3", 200, {{RELIEF_R_RECEIVED, 6}, {RELIEF_R_ISSUED, 1}}, 0},
    };
    const size_t nc = sizeof cells / sizeof cells[0];
    struct cell_probe probe = {.site = "zeta", .item = "water"};
    struct node_status ns;
    struct status_snapshot sn;
    const char *row[64];
    char v[512], peer_a[65], peer_b[65];
    uint8_t raw_id[AM_PK_LEN];
    size_t n, pos[sizeof needs / sizeof needs[0]];
    char *page;

    add_site("zeta", EVIL_SITE_NAME);
    add_site("alpha", "Alpha depot");
    add_item("ors", EVIL_ITEM_NAME, "sachet");
    add_item("water", "Water", "bottle");
    for (size_t i = 0; i < nn; i++)
        add_need(&needs[i]);
    for (size_t i = 0; i < nc; i++)
        add_cell(&cells[i]);
    conflicting_counts("zeta", "water");
    cr_assert_eq(store_cells_each(g_node.store, "zeta", "water", probe_cell, &probe), AM_OK);
    cr_assert(probe.found && probe.conflict, "premise: the two counts conflict in the view");

    /* the daemon's live status: a connected peer, a known one whose address and last
     * error carry markup and a bidi control, and this node itself */
    randombytes_buf(raw_id, sizeof raw_id);
    entry_id_hex(raw_id, peer_a);
    randombytes_buf(raw_id, sizeof raw_id);
    entry_id_hex(raw_id, peer_b);
    status_init(&ns);
    ns.pid = 4242;
    ns.port = 47470;
    ns.written = NOW_MS - 1000;
    peer_row(status_add_connected(&ns), peer_a, "10.0.0.7:47470", "in sync", "", "", NOW_MS - 5000,
             0);
    ns.connected[0].entries_in = 12;
    snprintf(ns.connected[0].direction, sizeof ns.connected[0].direction, "out");
    snprintf(ns.connected[0].name, sizeof ns.connected[0].name, "north <b>clinic</b>");
    peer_row(status_add_known(&ns), peer_b, "evil\"><script>x" RLO ":1", "", "static",
             "refused <blink>" RLO "&", NOW_MS - 90000, 0);
    peer_row(status_add_known(&ns), "", "192.0.2.99:47470", "", "discovered", "", 0, 1);
    cr_assert_eq(status_snapshot_init(&sn), AM_OK);
    status_snapshot_set(&sn, status_to_json(&ns));
    status_free(&ns);

    page = render(&sn);
    status_snapshot_destroy(&sn);
    well_formed(page);
    no_bidi(page);

    /* ---- needs: exactly the open ones, each once, in the order the inputs call for */
    n = rows(page, "need", row, 64);
    {
        size_t open = 0;
        for (size_t i = 0; i < nn; i++)
            open += (size_t)is_open(&needs[i]);
        cr_expect_eq(n, open, "%zu need rows, %zu open needs", n, open);
    }
    for (size_t i = 0; i < nn; i++) {
        pos[i] = SIZE_MAX;
        for (size_t r = 0; r < n; r++) {
            cr_assert(attr(row[r], "data-need", v, sizeof v), "a need row without its id");
            if (!strcmp(v, needs[i].hex)) {
                cr_expect_eq(pos[i], SIZE_MAX, "need %s listed twice", needs[i].hex);
                pos[i] = r;
            }
        }
        cr_expect_eq(pos[i] != SIZE_MAX, is_open(&needs[i]), "need %zu (%s): listed %d, open %d", i,
                     needs[i].hex, pos[i] != SIZE_MAX, is_open(&needs[i]));
        if (pos[i] == SIZE_MAX)
            continue;
        cr_assert(attr(row[pos[i]], "data-site", v, sizeof v));
        cr_expect_str_eq(v, needs[i].site);
        cr_assert(attr(row[pos[i]], "data-item", v, sizeof v));
        cr_expect_str_eq(v, needs[i].item);
        cr_assert(attr(row[pos[i]], "data-priority", v, sizeof v));
        cr_expect_str_eq(v, relief_priority_name(needs[i].pri));
        cr_assert(attr(row[pos[i]], "data-qty", v, sizeof v));
        cr_expect_eq(strtoll(v, NULL, 10), needs[i].q);
        cr_assert(attr(row[pos[i]], "data-delivered", v, sizeof v));
        cr_expect_eq(strtoll(v, NULL, 10), needs[i].delivered);
        cr_assert(attr(row[pos[i]], "data-by", v, sizeof v));
        if (needs[i].by_days) {
            char day[11];
            relief_day_format(TODAY + (uint32_t)needs[i].by_days, day);
            cr_expect_str_eq(v, day);
        } else {
            cr_expect_str_eq(v, "");
        }
    }
    /* critical first: priorities never rise again down the list */
    for (size_t r = 1; r < n; r++) {
        char a[32], b[32];
        cr_assert(attr(row[r - 1], "data-priority", a, sizeof a));
        cr_assert(attr(row[r], "data-priority", b, sizeof b));
        cr_expect(pri_rank(a) <= pri_rank(b), "row %zu (%s) after row %zu (%s)", r, b, r - 1, a);
    }
    /* pairs whose order the rules fix: higher priority first; of one priority and site, the
     * sooner needed-by first (no date last), whatever order they were opened in */
    for (size_t i = 0; i < nn; i++)
        for (size_t j = 0; j < nn; j++) {
            const struct need_in *x = &needs[i], *y = &needs[j];
            uint32_t bx = x->by_days ? (uint32_t)x->by_days : UINT32_MAX;
            uint32_t by = y->by_days ? (uint32_t)y->by_days : UINT32_MAX;
            int before;
            if (i == j || pos[i] == SIZE_MAX || pos[j] == SIZE_MAX)
                continue;
            before = x->pri < y->pri || (x->pri == y->pri && !strcmp(x->site, y->site) && bx < by);
            if (before)
                cr_expect(pos[i] < pos[j],
                          "need %zu (%s, %s, by +%d) must come before need %zu "
                          "(%s, %s, by +%d)",
                          i, relief_priority_name(x->pri), x->site, x->by_days, j,
                          relief_priority_name(y->pri), y->site, y->by_days);
        }

    /* ---- stock: every cell once, each flag where its inputs put it */
    n = rows(page, "cell", row, 64);
    cr_expect_eq(n, nc + 1, "%zu cell rows for %zu cells", n, nc + 1);
    for (size_t i = 0; i <= nc; i++) {
        const struct cell_in conflict_cell = {"zeta", "water", "", NO_EXP, {{0, 0}}, 0};
        const struct cell_in *c = i < nc ? &cells[i] : &conflict_cell;
        uint32_t exp = cell_exp(c);
        char day[11] = "";
        size_t found = 0, at = 0;
        int expired = exp && exp <= TODAY, expiring = exp && exp > TODAY && exp - TODAY <= SOON;
        if (exp)
            relief_day_format(exp, day);
        for (size_t r = 0; r < n; r++) {
            char s[64], it[64], lot[64], e[16];
            cr_assert(attr(row[r], "data-site", s, sizeof s) &&
                      attr(row[r], "data-item", it, sizeof it) &&
                      attr(row[r], "data-lot", lot, sizeof lot) &&
                      attr(row[r], "data-expiry", e, sizeof e));
            if (!strcmp(s, c->site) && !strcmp(it, c->item) && !strcmp(lot, c->lot) &&
                !strcmp(e, day)) {
                found++;
                at = r;
            }
        }
        cr_expect_eq(found, 1, "cell %s/%s lot '%s' exp '%s': %zu rows", c->site, c->item, c->lot,
                     day, found);
        if (found != 1)
            continue;
        if (i < nc) {
            cr_assert(attr(row[at], "data-stock", v, sizeof v));
            cr_expect_eq(strtoll(v, NULL, 10), c->value, "cell %zu stock %s", i, v);
        }
        cr_assert(attr(row[at], "data-overdrawn", v, sizeof v));
        cr_expect_str_eq(v, i < nc && c->value < 0 ? "true" : "false", "cell %zu overdrawn", i);
        cr_assert(attr(row[at], "data-expired", v, sizeof v));
        cr_expect_str_eq(v, expired ? "true" : "false", "cell %zu expired", i);
        cr_assert(attr(row[at], "data-expiring", v, sizeof v));
        cr_expect_str_eq(v, expiring ? "true" : "false", "cell %zu expiring", i);
        cr_assert(attr(row[at], "data-conflict", v, sizeof v));
        cr_expect_str_eq(v, i == nc ? "true" : "false", "cell %zu counts conflict", i);
    }

    /* ---- peers: the connected one and the known one, not this node itself */
    n = rows(page, "peer", row, 64);
    cr_expect_eq(n, 2, "%zu peer rows", n);
    {
        int seen_a = 0, seen_b = 0;
        for (size_t r = 0; r < n; r++) {
            cr_assert(attr(row[r], "data-peer", v, sizeof v));
            if (!strcmp(v, peer_a)) {
                seen_a = 1;
                cr_assert(attr(row[r], "data-address", v, sizeof v));
                cr_expect_str_eq(v, "10.0.0.7:47470");
                cr_assert(attr(row[r], "data-name", v, sizeof v));
                cr_expect_str_eq(v, "north &lt;b&gt;clinic&lt;/b&gt;", "its name, escaped");
                cr_assert(attr(row[r], "data-last-seen", v, sizeof v));
                cr_expect_eq(strtoull(v, NULL, 10), NOW_MS - 5000);
            } else if (!strcmp(v, peer_b)) {
                seen_b = 1;
                cr_assert(attr(row[r], "data-address", v, sizeof v));
                cr_expect(strncmp(v, "evil&quot;&gt;&lt;script&gt;x",
                                  strlen("evil&quot;&gt;&lt;script&gt;x")) == 0,
                          "the address escaped: %s", v);
            }
        }
        cr_expect(seen_a && seen_b, "connected peer shown %d, known peer shown %d", seen_a, seen_b);
        cr_expect(!strstr(page, "192.0.2.99"), "this node's own address is not a peer");
    }

    /* ---- text from the store: escaped, never raw */
    cr_expect(strstr(page, "Zeta &lt;script&gt;alert(1)&lt;/script&gt; &quot;Qz&quot; &amp; co"),
              "the site's name, escaped");
    cr_expect(strstr(page, "ORS &amp; &quot;salts&quot; &lt;marquee&gt;"),
              "the item's name, escaped");
    cr_expect(strstr(page, "&lt;script&gt;x&lt;/script&gt; &amp; &quot;nq&quot;"),
              "the need's note, escaped");
    cr_expect(strstr(page, "Hub &quot;1&quot; &amp; &lt;co&gt;"), "the node's name, escaped");
    cr_expect(!strstr(page, "<script"), "no markup from stored text");
    cr_expect(!strstr(page, "<marquee") && !strstr(page, "<blink") && !strstr(page, "<co>"),
              "no markup from stored or received text");
    cr_expect(!strstr(page, "\"Qz\"") && !strstr(page, "\"salts\"") && !strstr(page, "\"nq\""),
              "no raw quote from stored text");
    cr_expect(!strstr(page, "& co") && !strstr(page, "& \"") && !strstr(page, "&<"),
              "no raw ampersand from stored text");
    /* the invalid op's site is ignored by the views: no site "evil" anywhere */
    cr_expect(!strstr(page, "data-site=\"evil\""));
    free(page);
}

/* With no status (NULL snapshot text) and an empty store, the page still holds together and
 * says there is nothing: no rows of any kind. */
Test(dashboard, empty_store_and_no_status)
{
    struct status_snapshot sn;
    const char *row[4];
    char *page;
    cr_assert_eq(status_snapshot_init(&sn), AM_OK);
    page = render(&sn);
    status_snapshot_destroy(&sn);
    well_formed(page);
    cr_expect_eq(rows(page, "need", row, 4), 0);
    cr_expect_eq(rows(page, "cell", row, 4), 0);
    cr_expect_eq(rows(page, "peer", row, 4), 0);
    cr_expect_eq(rows(page, "stick", row, 4), 0);
    free(page);
}
