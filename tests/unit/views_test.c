/*
 * views_test.c: the relief views of the LMDB store (node/store_views.c): seeded property
 * tests over random multi-author histories of signed entries, ingested into several
 * stores in different arrival orders and batchings (with repeats, entries beyond a gap,
 * and view caches of every size) must give byte-identical view databases and the same
 * fingerprint; reindex must equal the live views; the fingerprint kept incrementally must
 * equal one computed from scratch; an invalid op from the network is stored, recorded
 * with its reason and ignored by the views; and the listings the CLI reads. Seeds are
 * printed: rerun with AM_SEED=...
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "am_err.h"
#include "entry.h"
#include "hlc.h"
#include "relief.h"
#include "relief_node.h"
#include "store.h"
#include "testutil.h"

#define WALL     1767225600000ULL /* 2026-01-01 */
#define NAUTH    4
#define ENTRYCAP 20000

/* ---- a history of signed entries by several authors ---- */

struct hentry {
    uint8_t *raw;
    size_t len;
    uint8_t hash[AM_HASH_LEN];
    int type; /* relief type of a valid op, 0 otherwise */
    uint8_t key[RELIEF_KEY_MAX];
    size_t klen;
};

struct hauthor {
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    uint8_t prev[AM_HASH_LEN];
    struct hentry *e;
    size_t n, cap;
    uint64_t clock;
};

struct hist {
    struct hauthor au[NAUTH];
    uint64_t seen[NAUTH][NAUTH]; /* seen[a][b]: entries of b that a has */
    size_t total;
};

static uint64_t rnd(uint64_t *st, uint64_t n)
{
    return tu_rand(st) % n;
}

static void h_init(struct hist *h, uint64_t *st)
{
    memset(h, 0, sizeof *h);
    for (int a = 0; a < NAUTH; a++) {
        uint8_t seed[AM_SEED_LEN];
        for (int i = 0; i < AM_SEED_LEN; i++)
            seed[i] = (uint8_t)tu_rand(st);
        crypto_sign_seed_keypair(h->au[a].pk, h->au[a].sk, seed);
    }
}

static void h_free(struct hist *h)
{
    for (int a = 0; a < NAUTH; a++) {
        for (size_t i = 0; i < h->au[a].n; i++)
            free(h->au[a].e[i].raw);
        free(h->au[a].e);
    }
}

/* Appends raw op bytes as author a's next entry. */
static struct hentry *h_push(struct hist *h, int a, uint64_t hlc, const uint8_t *op, size_t ol)
{
    struct hauthor *au = &h->au[a];
    struct hentry *he;
    struct entry e;
    struct relief_op rop;
    struct relief_key k;

    if (au->n == au->cap) {
        au->cap = au->cap ? 2 * au->cap : 64;
        au->e = realloc(au->e, au->cap * sizeof *au->e);
        cr_assert(au->e);
    }
    he = &au->e[au->n];
    memset(he, 0, sizeof *he);
    he->raw = malloc(ENTRYCAP);
    cr_assert(he->raw);
    cr_assert_eq(entry_build(he->raw, ENTRYCAP, &he->len, au->sk, au->n + 1, au->prev, hlc, op, ol),
                 AM_OK);
    cr_assert_eq(entry_decode(&e, he->raw, he->len), AM_OK);
    entry_hash(&e, he->hash);
    memcpy(au->prev, he->hash, AM_HASH_LEN);
    if (relief_op_decode(op, ol, &rop, NULL, 0) == AM_OK &&
        relief_op_key(&rop, he->hash, &k) == AM_OK) {
        he->type = rop.type;
        cr_assert_eq(relief_key_encode(&k, he->key, &he->klen), AM_OK);
    }
    au->n++;
    h->seen[a][a] = au->n;
    h->total++;
    return he;
}

static struct hentry *h_op(struct hist *h, int a, uint64_t hlc, const struct relief_op *op)
{
    uint8_t buf[AM_OP_MAX];
    size_t len;
    char err[RELIEF_ERR_MAX] = "";
    cr_assert_eq(relief_op_encode(op, buf, sizeof buf, &len, err, sizeof err), AM_OK, "%s", err);
    return h_push(h, a, hlc, buf, len);
}

static struct relief_str S(const char *s) {
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

static int
is_write(int t)
{
    return t == RELIEF_T_SITE || t == RELIEF_T_ITEM || t == RELIEF_T_NEED_OPEN ||
           t == RELIEF_T_NEED_UPD || t == RELIEF_T_NEED_CLOSE || t == RELIEF_T_STOCK_MIN ||
           t == RELIEF_T_ITEM_PACK;
}

static struct relief_ref g_refs[RELIEF_REFS_MAX];

/* sup: writes to object kb that author a has seen (all, or a random subset). */
static void h_sup(struct hist *h, int a, struct relief_op *op, uint64_t *st)
{
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl;
    struct relief_key k;
    uint32_t n = 0;
    int all = rnd(st, 10) < 7;
    cr_assert_eq(relief_op_key(op, NULL, &k), AM_OK);
    cr_assert_eq(relief_key_encode(&k, kb, &kl), AM_OK);
    for (int b = 0; b < NAUTH; b++)
        for (uint64_t i = 0; i < h->seen[a][b] && n < RELIEF_REFS_MAX; i++) {
            const struct hentry *e = &h->au[b].e[i];
            if (is_write(e->type) && e->klen == kl && !memcmp(e->key, kb, kl) &&
                (all || rnd(st, 2))) {
                memcpy(g_refs[n].author, h->au[b].pk, AM_PK_LEN);
                g_refs[n++].seq = i + 1;
            }
        }
    relief_refs_sort(g_refs, &n);
    if (n) {
        op->sup.n = n;
        op->sup.arr = g_refs;
        HAS(op, SUP);
    }
}

static const char *const sites[] = {"hub-north", "clinic-2", "shelter-3"};
static const char *const items[] = {"ors-20.5", "water-5l"};
static const char *const names[] = {"Alpha", "Beta", "Gamma", "école"};

/* One random step: gossip, then one entry by a random author. */
static void h_step(struct hist *h, uint64_t *st)
{
    int a = (int)rnd(st, NAUTH);
    unsigned r = (unsigned)rnd(st, 100);
    struct relief_op op;
    uint64_t hlc;
    static const uint8_t newer[] = {0x82, 0xa1, 't', 0xa5, 'x', '.',
                                    'n',  'e',  'w', 0xa1, 'x', 0x01};
    /* need.dlv with q = -5: invalid ("must not be negative") */
    uint8_t bad[64];
    size_t bl = 0;

    if (rnd(st, 100) < 30) {
        int b = (int)rnd(st, NAUTH);
        for (int x = 0; x < NAUTH; x++)
            if (h->seen[b][x] > h->seen[a][x])
                h->seen[a][x] = h->seen[b][x];
    }
    h->au[a].clock += 1 + rnd(st, 3);
    hlc = hlc_pack(WALL / 1000 + h->au[a].clock + (a == 3 ? 100000 : 0), 0);
    memset(&op, 0, sizeof op);

    if (r < 10) {
        op.type = RELIEF_T_SITE;
        op.site = S(sites[rnd(st, 3)]);
        HAS(&op, SLUG);
        do {
            if (rnd(st, 2))
                op.name = S(names[rnd(st, 4)]), HAS(&op, NAME);
            if (rnd(st, 2))
                op.kind = 1 + (int)rnd(st, 5), HAS(&op, KIND);
            if (rnd(st, 4) == 0) {
                op.ll_set = rnd(st, 3) != 0;
                op.lat = (int32_t)rnd(st, 1000000);
                op.lon = -(int32_t)rnd(st, 1000000);
                HAS(&op, LL);
            }
        } while (!(op.has & (RELIEF_HAS(RELIEF_K_NAME) | RELIEF_HAS(RELIEF_K_KIND) |
                             RELIEF_HAS(RELIEF_K_LL))));
        h_sup(h, a, &op, st);
    } else if (r >= 12 && r < 15) {
        /* a pack of an item: a register of its own object (item, pack); 0 removes it */
        op.type = RELIEF_T_ITEM_PACK;
        op.item = S(items[rnd(st, 2)]);
        op.pack = S(rnd(st, 2) ? "carton" : "box");
        op.q = (int64_t)rnd(st, 3) * 25;
        HAS(&op, CODE), HAS(&op, PACK), HAS(&op, Q);
        h_sup(h, a, &op, st);
    } else if (r < 15) {
        op.type = RELIEF_T_ITEM;
        op.item = S(items[rnd(st, 2)]);
        op.name = S(names[rnd(st, 4)]);
        HAS(&op, CODE), HAS(&op, NAME);
        if (rnd(st, 2))
            op.unit = S(rnd(st, 2) ? "sachet" : "bottle"), HAS(&op, UNIT);
        h_sup(h, a, &op, st);
    } else if (r < 25) {
        op.type = RELIEF_T_NEED_OPEN;
        op.site = S(sites[rnd(st, 3)]);
        op.item = S(items[rnd(st, 2)]);
        op.q = 1 + (int64_t)rnd(st, 40);
        op.pri = 1 + (int)rnd(st, 4);
        HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
        if (rnd(st, 2))
            op.by = 20454 + (uint32_t)rnd(st, 30), HAS(&op, BY);
    } else if (r >= 40 && r < 50) {
        /* a shipment (ship.*): a new one from hub-north, or a dispatch, receipt or cancel of
         * one this author has seen; dispatches and receipts also move the cells they name */
        static struct relief_line ln[2];
        const struct hentry *c[64];
        int nc = 0, nl = 1 + (int)rnd(st, 2);
        unsigned s = (unsigned)rnd(st, 10);
        for (int b = 0; b < NAUTH; b++)
            for (uint64_t i = 0; i < h->seen[a][b]; i++)
                if (h->au[b].e[i].type == RELIEF_T_SHIP_NEW && nc < 64)
                    c[nc++] = &h->au[b].e[i];
        memset(ln, 0, sizeof ln);
        for (int i = 0; i < nl; i++) {
            ln[i].item = S(items[rnd(st, 2)]);
            ln[i].q = (int64_t)rnd(st, 20) + 1;
            if (rnd(st, 2))
                ln[i].lot = S("L1");
            if (rnd(st, 3) == 0) {
                ln[i].has_need = 1;
                memset(ln[i].need, 0x11, RELIEF_ID_LEN);
            }
        }
        op.ln = (struct relief_lines){(uint32_t)nl, ln, NULL};
        HAS(&op, LN);
        if (!nc || s < 3) {
            op.type = RELIEF_T_SHIP_NEW;
            op.site = S(sites[0]);
            op.to = S(sites[1 + rnd(st, 2)]);
            HAS(&op, SITE), HAS(&op, TO);
        } else {
            relief_need_id(c[rnd(st, (uint64_t)nc)]->hash, op.ship);
            HAS(&op, SHIP);
            if (s < 9) {
                op.type = s < 6 ? RELIEF_T_SHIP_DSP : RELIEF_T_SHIP_RCV;
                op.site = S(s < 6 ? sites[0] : sites[1]);
                HAS(&op, SITE);
                for (int i = 0; i < nl; i++) {
                    if (ln[i].lot.len)
                        ln[i].exp = 20500;
                    if (s >= 6)
                        ln[i].q--; /* a receipt may say none arrived */
                }
            } else {
                op.type = RELIEF_T_SHIP_CXL;
                op.has &= ~RELIEF_HAS(RELIEF_K_LN);
                op.ln.n = 0;
            }
        }
    } else if (r < 50) {
        /* a need this author has seen */
        const struct hentry *c[64];
        const uint8_t *pk[64];
        uint64_t seq[64];
        int nc = 0;
        for (int b = 0; b < NAUTH; b++)
            for (uint64_t i = 0; i < h->seen[a][b]; i++)
                if (h->au[b].e[i].type == RELIEF_T_NEED_OPEN && nc < 64) {
                    pk[nc] = h->au[b].pk;
                    seq[nc] = i + 1;
                    c[nc++] = &h->au[b].e[i];
                }
        (void)pk;
        (void)seq;
        if (nc) {
            const struct hentry *ne = c[rnd(st, (uint64_t)nc)];
            unsigned s = (unsigned)rnd(st, 10);
            relief_need_id(ne->hash, op.need);
            HAS(&op, NEED);
            if (s < 4) {
                op.type = RELIEF_T_NEED_DLV;
                op.q = 1 + (int64_t)rnd(st, 15);
                HAS(&op, Q);
            } else if (s < 7) {
                op.type = RELIEF_T_NEED_UPD;
                do {
                    if (rnd(st, 2))
                        op.q = 1 + (int64_t)rnd(st, 40), HAS(&op, Q);
                    if (rnd(st, 2))
                        op.pri = 1 + (int)rnd(st, 4), HAS(&op, PRI);
                    if (rnd(st, 3) == 0)
                        op.note = S(rnd(st, 2) ? "" : "later"), HAS(&op, NOTE);
                } while (!(op.has & (RELIEF_HAS(RELIEF_K_Q) | RELIEF_HAS(RELIEF_K_PRI) |
                                     RELIEF_HAS(RELIEF_K_NOTE))));
                h_sup(h, a, &op, st);
            } else {
                op.type = RELIEF_T_NEED_CLOSE;
                op.st = rnd(st, 2) ? RELIEF_ST_FULFILLED : RELIEF_ST_CANCELLED;
                HAS(&op, ST);
                h_sup(h, a, &op, st);
            }
        }
    } else if (r >= 92 && r < 95) {
        /* a minimum level: a register of its own object (site, item) */
        op.type = RELIEF_T_STOCK_MIN;
        op.site = S(sites[rnd(st, 3)]);
        op.item = S(items[rnd(st, 2)]);
        op.q = (int64_t)rnd(st, 50); /* 0: no minimum */
        HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q);
        h_sup(h, a, &op, st);
    } else if (r < 95) {
        int lot = rnd(st, 3) == 0;
        op.site = S(sites[rnd(st, 2)]);
        op.item = S(items[rnd(st, 2)]);
        HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q);
        if (lot) {
            op.lot = S("L1");
            op.exp = 20500;
            HAS(&op, LOT), HAS(&op, EXP);
        }
        if (r < 82) {
            op.type = RELIEF_T_STOCK_MOVE;
            op.q = 1 + (int64_t)rnd(st, 30);
            op.reason = 1 + (int)rnd(st, 8);
            HAS(&op, R);
        } else {
            uint32_t n = 0;
            op.type = RELIEF_T_STOCK_COUNT;
            op.q = (int64_t)rnd(st, 100);
            for (int b = 0; b < NAUTH; b++)
                if (b != a && h->seen[a][b]) {
                    memcpy(g_refs[n].author, h->au[b].pk, AM_PK_LEN);
                    g_refs[n++].seq = h->seen[a][b];
                }
            relief_ctx_normalize(g_refs, &n);
            op.ctx.n = n;
            op.ctx.arr = g_refs;
            HAS(&op, CTX);
        }
    } else if (r < 98) {
        /* {"t": "need.dlv", "need": bin16, "q": -5} */
        bad[bl++] = 0x83;
        bad[bl++] = 0xa1, bad[bl++] = 't';
        bad[bl++] = 0xa8;
        memcpy(bad + bl, "need.dlv", 8), bl += 8;
        bad[bl++] = 0xa4;
        memcpy(bad + bl, "need", 4), bl += 4;
        bad[bl++] = 0xc4, bad[bl++] = 16;
        memset(bad + bl, 0x11, 16), bl += 16;
        bad[bl++] = 0xa1, bad[bl++] = 'q';
        bad[bl++] = 0xfb; /* -5 */
        h_push(h, a, hlc, bad, bl);
        return;
    } else {
        h_push(h, a, hlc, newer, sizeof newer);
        return;
    }
    if (!op.type) { /* no need seen yet */
        op.type = RELIEF_T_STOCK_MOVE;
        op.site = S(sites[0]);
        op.item = S(items[0]);
        op.q = 3;
        op.reason = RELIEF_R_RECEIVED;
        HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, R);
    }
    h_op(h, a, hlc, &op);
}

static void h_gen(struct hist *h, size_t n, uint64_t *st)
{
    h_init(h, st);
    while (h->total < n)
        h_step(h, st);
}

/* ---- stores ---- */

struct tstore {
    char *dir;
    struct store *s;
};

static void ts_open(struct tstore *t, uint64_t cache)
{
    struct store_opts o = {0};
    o.view_cache = cache;
    t->dir = tu_tmpdir();
    cr_assert_eq(store_open(&t->s, t->dir, &o), AM_OK);
}

static void ts_close(struct tstore *t)
{
    store_close(t->s);
    tu_rmrf(t->dir);
    free(t->dir);
    t->s = NULL;
}

static void ingest(struct store *s, const uint8_t **p, const size_t *l, size_t n)
{
    struct store_ingest_stats is;
    cr_assert_eq(store_ingest(s, p, l, n, WALL, &is), AM_OK);
}

/* Every author's whole log in turn, in one batch per author. */
static void ingest_in_order(struct store *s, const struct hist *h)
{
    for (int a = 0; a < NAUTH; a++) {
        const uint8_t *p[4096];
        size_t l[4096], n = h->au[a].n;
        cr_assert(n <= 4096);
        for (size_t i = 0; i < n; i++) {
            p[i] = h->au[a].e[i].raw;
            l[i] = h->au[a].e[i].len;
        }
        ingest(s, p, l, n);
    }
}

/* A random arrival: authors interleaved, per-author order kept, random batch sizes,
 * repeats of earlier entries, shuffles inside a batch, and now and then an entry beyond
 * a gap (refused, so delivered again later). */
static void ingest_random(struct store *s, const struct hist *h, uint64_t *st)
{
    size_t pos[NAUTH] = {0};
    const uint8_t **p = malloc(h->total * 2 * sizeof *p);
    size_t *l = malloc(h->total * 2 * sizeof *l);
    cr_assert(p && l);
    for (;;) {
        size_t want = 1 + (size_t)rnd(st, 40), n = 0;
        int left = 0;
        for (int a = 0; a < NAUTH; a++)
            left += pos[a] < h->au[a].n;
        if (!left)
            break;
        while (n < want) {
            int a = (int)rnd(st, NAUTH);
            unsigned r = (unsigned)rnd(st, 20);
            const struct hauthor *au = &h->au[a];
            if (r == 0 && pos[a] > 0) { /* a repeat */
                size_t i = (size_t)rnd(st, pos[a]);
                p[n] = au->e[i].raw;
                l[n++] = au->e[i].len;
            } else if (r == 1 && pos[a] + 2 < au->n) { /* beyond a gap: refused */
                p[n] = au->e[pos[a] + 2].raw;
                l[n++] = au->e[pos[a] + 2].len;
            } else if (pos[a] < au->n) {
                p[n] = au->e[pos[a]].raw;
                l[n++] = au->e[pos[a]].len;
                pos[a]++;
            } else {
                int any = 0;
                for (int b = 0; b < NAUTH; b++)
                    any |= pos[b] < h->au[b].n;
                if (!any)
                    break;
            }
        }
        /* shuffle the batch: the store orders it */
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)rnd(st, i);
            const uint8_t *tp = p[i - 1];
            size_t tl = l[i - 1];
            p[i - 1] = p[j], l[i - 1] = l[j];
            p[j] = tp, l[j] = tl;
        }
        if (n)
            ingest(s, p, l, n);
    }
    free(p);
    free(l);
}

static void digest(struct store *s, uint8_t d[AM_HASH_LEN])
{
    cr_assert_eq(store_views_digest(s, d), AM_OK);
}

/* The fingerprint kept incrementally equals the one computed from every view. */
static void check_fingerprint(struct store *s, const char *what, uint64_t seed)
{
    struct store_view_stats vs;
    uint8_t fp[STORE_VIEW_FP_LEN];
    cr_assert_eq(store_view_stats(s, &vs), AM_OK);
    cr_assert_eq(store_view_fingerprint_scan(s, fp), AM_OK);
    cr_assert(vs.current);
    cr_assert(!memcmp(fp, vs.fingerprint, STORE_VIEW_FP_LEN),
              "%s: incremental fingerprint differs from scratch; AM_SEED=%llu", what,
              (unsigned long long)seed);
}

struct feat {
    unsigned conflicts, count_conflicts, overdrawn, audits, derived, cancelled, orphans;
    unsigned mins, min_conflicts;   /* minimum levels (stock.min), and those in conflict */
    unsigned ships;                 /* shipments (ship.*) */
    unsigned packs, pack_conflicts; /* packs of items (item.pack), and those in conflict */
    uint64_t invalid;
};

static int feat_row(void *ctx, const struct store_view_row *r)
{
    struct feat *f = ctx;
    if (r->key[0] == RELIEF_OBJ_CELL) {
        struct relief_node_cell c;
        cr_assert_eq(relief_node_cell_parse(r->view, r->view_len, &c), AM_OK);
        f->count_conflicts += c.count_conflict;
        f->overdrawn += c.overdrawn;
        f->audits += c.n_audit > 0;
    } else if (r->key[0] == RELIEF_OBJ_NEED) {
        struct relief_node_need nv;
        cr_assert_eq(relief_node_need_parse(r->view, r->view_len, &nv), AM_OK);
        f->derived += nv.derived;
        f->cancelled += nv.status == RELIEF_ST_CANCELLED;
        f->orphans += !nv.opened;
        f->conflicts += nv.q.conflict + nv.pri.conflict + nv.note.conflict + nv.st.conflict;
    } else if (r->key[0] == RELIEF_OBJ_SITE) {
        struct relief_node_site sv;
        cr_assert_eq(relief_node_site_parse(r->view, r->view_len, &sv), AM_OK);
        f->conflicts += sv.name.conflict + sv.kind.conflict + sv.ll.conflict;
    } else if (r->key[0] == RELIEF_OBJ_SHIP) {
        cr_assert(r->view_len > 0);
        f->ships++;
    } else if (r->key[0] == RELIEF_OBJ_PACK) {
        struct relief_node_pack pv;
        cr_assert_eq(relief_node_pack_parse(r->view, r->view_len, &pv), AM_OK);
        f->conflicts += pv.q.conflict;
        f->pack_conflicts += pv.q.conflict;
        f->packs++;
    } else if (r->key[0] == RELIEF_OBJ_MIN) {
        struct relief_node_min mv;
        cr_assert_eq(relief_node_min_parse(r->view, r->view_len, &mv), AM_OK);
        f->conflicts += mv.q.conflict;
        f->min_conflicts += mv.q.conflict;
        f->mins++;
    } else {
        struct relief_node_item iv;
        cr_assert_eq(relief_node_item_parse(r->view, r->view_len, &iv), AM_OK);
        f->conflicts += iv.name.conflict + iv.unit.conflict;
    }
    return 0;
}

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
}

TestSuite(views, .init = setup);

/* ---- property tests ---- */

static void run_property(const char *name, int histories, size_t steps, int stores, int every_rule)
{
    uint64_t seed = tu_seed(name), st = seed;
    struct feat f;
    memset(&f, 0, sizeof f);

    for (int hi = 0; hi < histories; hi++) {
        struct hist h;
        struct tstore ref;
        uint8_t dref[AM_HASH_LEN], d[AM_HASH_LEN];
        struct store_view_stats vref, vs;

        h_gen(&h, steps, &st);
        ts_open(&ref, 0);
        ingest_in_order(ref.s, &h);
        digest(ref.s, dref);
        check_fingerprint(ref.s, "reference", seed);
        cr_assert_eq(store_view_stats(ref.s, &vref), AM_OK);
        cr_assert_eq(store_views_each(ref.s, NULL, 0, feat_row, &f), AM_OK);
        f.invalid += vref.invalid;

        for (int k = 0; k < stores; k++) {
            struct tstore t;
            /* caches of every size: none, one that evicts all the time, the default */
            uint64_t cache = k % 3 == 0 ? STORE_VIEW_CACHE_OFF : k % 3 == 1 ? 2048 : 0;
            ts_open(&t, cache);
            ingest_random(t.s, &h, &st);
            digest(t.s, d);
            cr_assert(!memcmp(d, dref, AM_HASH_LEN),
                      "%s: history %d, arrival %d (cache %llu) gives other view bytes; "
                      "AM_SEED=%llu",
                      name, hi, k, (unsigned long long)cache, (unsigned long long)seed);
            check_fingerprint(t.s, "arrival", seed);
            cr_assert_eq(store_view_stats(t.s, &vs), AM_OK);
            cr_assert(!memcmp(vs.fingerprint, vref.fingerprint, STORE_VIEW_FP_LEN));
            if (k == 0) {
                /* reindex == live, and reindex of reindex */
                struct store_reindex_stats rs;
                cr_assert_eq(store_reindex(t.s, &rs), AM_OK);
                digest(t.s, d);
                cr_assert(!memcmp(d, dref, AM_HASH_LEN),
                          "%s: history %d: reindex differs from live; AM_SEED=%llu", name, hi,
                          (unsigned long long)seed);
                cr_assert_eq(rs.entries, h.total);
                cr_assert_eq(rs.invalid, vref.invalid);
                cr_assert_eq(rs.objects, vref.objects);
                /* and the views stay live after a reindex */
            }
            ts_close(&t);
        }
        ts_close(&ref);
        h_free(&h);
    }
    cr_log_info("%s: register conflicts %u, count conflicts %u, overdrawn %u, audited %u, "
                "derived %u, cancelled %u, needs not opened yet %u, minimum levels %u (%u in "
                "conflict), shipments %u, packs %u (%u in conflict), invalid ops %llu",
                name, f.conflicts, f.count_conflicts, f.overdrawn, f.audits, f.derived, f.cancelled,
                f.orphans, f.mins, f.min_conflicts, f.ships, f.packs, f.pack_conflicts,
                (unsigned long long)f.invalid);
    /* The many short histories must exercise every rule; the two long ones (scale, not
     * coverage) at least conflicts and invalid ops, which a few rare rules may miss. */
    if (every_rule)
        cr_assert(f.conflicts && f.count_conflicts && f.overdrawn && f.audits && f.derived &&
                      f.cancelled && f.invalid && f.mins && f.min_conflicts && f.ships && f.packs &&
                      f.pack_conflicts,
                  "%s: a rule was never exercised; AM_SEED=%llu", name, (unsigned long long)seed);
    else
        cr_assert(f.conflicts && f.invalid, "%s: no conflict or invalid op; AM_SEED=%llu", name,
                  (unsigned long long)seed);
}

Test(views, property_arrival_orders_and_batchings_give_identical_views, .timeout = 600)
{
    run_property("views.property_orders", 12, 250, 4, 1);
}

Test(views, property_long_histories, .timeout = 600)
{
    run_property("views.property_long", 2, 2000, 3, 0);
}

/* Live entries keep arriving after a reindex and after a reopen: still equal. */
Test(views, reindex_midway_then_live_equals_all_at_once)
{
    uint64_t seed = tu_seed("views.reindex_midway"), st = seed;
    struct hist h;
    struct tstore a, b;
    uint8_t da[AM_HASH_LEN], db[AM_HASH_LEN];
    const uint8_t *p[2048];
    size_t l[2048];

    h_gen(&h, 600, &st);
    ts_open(&a, 0);
    ts_open(&b, 0);
    ingest_in_order(a.s, &h);
    for (int half = 0; half < 2; half++) {
        for (int x = 0; x < NAUTH; x++) {
            size_t lo = half ? h.au[x].n / 2 : 0, hi = half ? h.au[x].n : h.au[x].n / 2;
            for (size_t i = lo; i < hi; i++) {
                p[i - lo] = h.au[x].e[i].raw;
                l[i - lo] = h.au[x].e[i].len;
            }
            if (hi > lo)
                ingest(b.s, p, l, hi - lo);
        }
        if (!half) {
            cr_assert_eq(store_reindex(b.s, NULL), AM_OK);
            store_close(b.s);
            cr_assert_eq(store_open(&b.s, b.dir, NULL), AM_OK);
        }
    }
    digest(a.s, da);
    digest(b.s, db);
    cr_assert(!memcmp(da, db, AM_HASH_LEN), "AM_SEED=%llu", (unsigned long long)seed);
    ts_close(&a);
    ts_close(&b);
    h_free(&h);
}

/* The local append path and the ingest path give the same views. */
Test(views, append_path_equals_ingest_path)
{
    uint64_t seed = tu_seed("views.append"), st = seed;
    struct tstore a, b;
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN], da[AM_HASH_LEN], db[AM_HASH_LEN];
    const char *cells[] = {"hub-north", "clinic-2"};
    ts_open(&a, 0);
    ts_open(&b, STORE_VIEW_CACHE_OFF);
    crypto_sign_keypair(pk, sk);
    for (int i = 0; i < 300; i++) {
        struct relief_op op;
        uint8_t buf[512];
        size_t len;
        const uint8_t *ops[1] = {buf};
        memset(&op, 0, sizeof op);
        op.type = RELIEF_T_STOCK_MOVE;
        op.site = S(cells[rnd(&st, 2)]);
        op.item = S("ors-20.5");
        op.q = 1 + (int64_t)rnd(&st, 9);
        op.reason = 1 + (int)rnd(&st, 8);
        HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, R);
        cr_assert_eq(relief_op_encode(&op, buf, sizeof buf, &len, NULL, 0), AM_OK);
        cr_assert_eq(store_append(a.s, sk, ops, &len, 1, WALL + (uint64_t)i, NULL), AM_OK);
    }
    /* b receives a's log in random batches */
    {
        struct store_head hd;
        uint64_t at = 1;
        cr_assert_eq(store_head_get(a.s, pk, &hd), AM_OK);
        while (at <= hd.seq) {
            uint64_t k = 1 + rnd(&st, 50);
            const uint8_t *p[64];
            size_t l[64], n = 0;
            static uint8_t bufs[64][1024];
            for (; n < k && at <= hd.seq; n++, at++) {
                cr_assert_eq(store_entry_get(a.s, pk, at, bufs[n], sizeof bufs[n], &l[n]), AM_OK);
                p[n] = bufs[n];
            }
            ingest(b.s, p, l, n);
        }
    }
    digest(a.s, da);
    digest(b.s, db);
    cr_assert(!memcmp(da, db, AM_HASH_LEN), "AM_SEED=%llu", (unsigned long long)seed);
    cr_assert_eq(store_reindex(a.s, NULL), AM_OK);
    digest(a.s, da);
    cr_assert(!memcmp(da, db, AM_HASH_LEN));
    ts_close(&a);
    ts_close(&b);
}

/* Another process writes to an object this process has cached: the cache notices. */
Test(views, another_process_writing_invalidates_the_cache)
{
    uint64_t seed = tu_seed("views.two_processes"), st = seed;
    struct hist h;
    struct tstore a, ref;
    uint8_t da[AM_HASH_LEN], dr[AM_HASH_LEN];
    const uint8_t *p[1024];
    size_t l[1024];
    pid_t pid;
    int status;

    h_gen(&h, 400, &st);
    ts_open(&a, 0);
    ts_open(&ref, 0);
    ingest_in_order(ref.s, &h);
    /* a: the first third of every author here (filling this process's cache) ... */
    for (int x = 0; x < NAUTH; x++) {
        size_t n = h.au[x].n / 3;
        for (size_t i = 0; i < n; i++)
            p[i] = h.au[x].e[i].raw, l[i] = h.au[x].e[i].len;
        if (n)
            ingest(a.s, p, l, n);
    }
    /* ... the second third by another process, on the same store ... */
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        struct store *s2;
        struct store_ingest_stats is;
        if (store_open(&s2, a.dir, NULL) != AM_OK)
            _exit(3);
        for (int x = 0; x < NAUTH; x++) {
            size_t lo = h.au[x].n / 3, hi = 2 * h.au[x].n / 3;
            for (size_t i = lo; i < hi; i++)
                p[i - lo] = h.au[x].e[i].raw, l[i - lo] = h.au[x].e[i].len;
            if (hi > lo && store_ingest(s2, p, l, hi - lo, WALL, &is) != AM_OK)
                _exit(4);
        }
        store_close(s2);
        _exit(0);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    /* ... and the rest here again */
    for (int x = 0; x < NAUTH; x++) {
        size_t lo = 2 * h.au[x].n / 3, hi = h.au[x].n;
        for (size_t i = lo; i < hi; i++)
            p[i - lo] = h.au[x].e[i].raw, l[i - lo] = h.au[x].e[i].len;
        if (hi > lo)
            ingest(a.s, p, l, hi - lo);
    }
    digest(a.s, da);
    digest(ref.s, dr);
    cr_assert(!memcmp(da, dr, AM_HASH_LEN), "AM_SEED=%llu", (unsigned long long)seed);
    check_fingerprint(a.s, "two processes", seed);
    ts_close(&a);
    ts_close(&ref);
    h_free(&h);
}

/* A map that must grow mid-batch: the aborted attempt leaves no trace in the cache. */
Test(views, map_full_retry_leaves_cache_clean)
{
    uint64_t seed = tu_seed("views.map_full"), st = seed;
    struct hist h;
    struct tstore ref;
    struct store *s;
    struct store_opts o = {.map_initial = 256 * 1024};
    char *dir = tu_tmpdir();
    uint8_t d1[AM_HASH_LEN], d2[AM_HASH_LEN];
    struct store_stats ss;

    h_gen(&h, 1500, &st);
    ts_open(&ref, 0);
    ingest_in_order(ref.s, &h);
    cr_assert_eq(store_open(&s, dir, &o), AM_OK);
    ingest_random(s, &h, &st);
    cr_assert_eq(store_stats(s, &ss), AM_OK);
    cr_assert_gt(ss.map_size, 256 * 1024, "the map grew (the retry path ran)");
    digest(s, d1);
    digest(ref.s, d2);
    cr_assert(!memcmp(d1, d2, AM_HASH_LEN), "AM_SEED=%llu", (unsigned long long)seed);
    store_close(s);
    tu_rmrf(dir);
    free(dir);
    ts_close(&ref);
    h_free(&h);
}

/* A store that can't grow: AM_EFULL, nothing of the batch, views still consistent. */
Test(views, disk_full_leaves_views_whole)
{
    uint64_t seed = tu_seed("views.disk_full"), st = seed;
    struct hist h;
    struct store *s;
    struct store_opts o = {.map_initial = 192 * 1024, .map_max = 192 * 1024};
    char *dir = tu_tmpdir();
    int rc = AM_OK, x = 0;
    size_t at[NAUTH] = {0};

    h_gen(&h, 3000, &st);
    cr_assert_eq(store_open(&s, dir, &o), AM_OK);
    while (rc == AM_OK) {
        const uint8_t *p[64];
        size_t l[64], n = 0;
        struct store_ingest_stats is;
        for (; n < 64 && at[x] < h.au[x].n; n++, at[x]++)
            p[n] = h.au[x].e[at[x]].raw, l[n] = h.au[x].e[at[x]].len;
        if (!n) {
            if (++x == NAUTH)
                break;
            continue;
        }
        rc = store_ingest(s, p, l, n, WALL, &is);
    }
    cr_assert_eq(rc, AM_EFULL, "rc %d", rc);
    check_fingerprint(s, "disk full", seed);
    store_close(s);
    /* reopened with room: reindex equals what was kept live */
    o.map_max = 0;
    cr_assert_eq(store_open(&s, dir, &o), AM_OK);
    {
        uint8_t d1[AM_HASH_LEN], d2[AM_HASH_LEN];
        digest(s, d1);
        cr_assert_eq(store_reindex(s, NULL), AM_OK);
        digest(s, d2);
        cr_assert(!memcmp(d1, d2, AM_HASH_LEN), "AM_SEED=%llu", (unsigned long long)seed);
    }
    store_close(s);
    tu_rmrf(dir);
    free(dir);
    h_free(&h);
}

/* ---- an invalid op from the network ---- */

struct inv {
    int n;
    char why[256];
    uint64_t seq;
};

static int inv_row(void *ctx, const uint8_t *author, uint64_t seq, const char *why, size_t len)
{
    struct inv *v = ctx;
    (void)author;
    v->n++;
    v->seq = seq;
    snprintf(v->why, sizeof v->why, "%.*s", (int)len, why);
    return 0;
}

Test(views, invalid_network_op_is_stored_reported_and_ignored)
{
    uint64_t st = 7;
    struct hist h;
    struct tstore a, b;
    struct relief_op op;
    struct store_view_stats va, vb;
    struct store_stats ss;
    struct inv inv = {0};
    uint8_t bad[] = {0x83, 0xa1, 't', 0xa8, 'n',  'e', 'e', 'd', '.', 'd',  'l', 'v', 0xa4,
                     'n',  'e',  'e', 'd',  0xc4, 16,  1,   2,   3,   4,    5,   6,   7,
                     8,    9,    10,  11,   12,   13,  14,  15,  16,  0xa1, 'q', 0xfb};
    const uint8_t *p[3];
    size_t l[3];
    struct store_ingest_stats is;
    uint8_t da[AM_HASH_LEN], db[AM_HASH_LEN];

    h_init(&h, &st);
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_STOCK_MOVE;
    op.site = S("hub-north");
    op.item = S("ors-20.5");
    op.q = 500;
    op.reason = RELIEF_R_RECEIVED;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, R);
    h_op(&h, 0, hlc_pack(WALL, 0), &op);
    h_push(&h, 0, hlc_pack(WALL, 1), bad, sizeof bad);
    op.q = 12;
    op.reason = RELIEF_R_ISSUED;
    h_op(&h, 0, hlc_pack(WALL, 2), &op);

    ts_open(&a, 0);
    ts_open(&b, 0);
    for (int i = 0; i < 3; i++)
        p[i] = h.au[0].e[i].raw, l[i] = h.au[0].e[i].len;
    cr_assert_eq(store_ingest(a.s, p, l, 3, WALL, &is), AM_OK);
    cr_assert_eq(is.added, 3, "the entry is stored: the log is the log");
    cr_assert_eq(is.invalid_ops, 1);
    cr_assert_eq(store_stats(a.s, &ss), AM_OK);
    cr_assert_eq(ss.entries, 3);
    cr_assert_eq(store_invalid_each(a.s, inv_row, &inv), AM_OK);
    cr_assert_eq(inv.n, 1);
    cr_assert_eq(inv.seq, 2);
    cr_assert(strstr(inv.why, "need.dlv") && strstr(inv.why, "negative"), "reason: %s", inv.why);
    /* the other node gets the entries one at a time: same verdict, same views */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(store_ingest(b.s, &p[i], &l[i], 1, WALL, &is), AM_OK);
    digest(a.s, da);
    digest(b.s, db);
    cr_assert(!memcmp(da, db, AM_HASH_LEN));
    cr_assert_eq(store_view_stats(a.s, &va), AM_OK);
    cr_assert_eq(store_view_stats(b.s, &vb), AM_OK);
    cr_assert_eq(va.invalid, 1);
    cr_assert_eq(va.objects, 1, "only the cell: the invalid op made no need");
    cr_assert_eq(va.needs, 0);
    /* and the views ignore it: the cell holds the two moves */
    {
        uint8_t buf[4096];
        size_t len;
        struct relief_node_cell c;
        uint8_t key[RELIEF_KEY_MAX];
        size_t kl;
        struct relief_key k = {.kind = RELIEF_OBJ_CELL};
        snprintf(k.site, sizeof k.site, "hub-north");
        snprintf(k.item, sizeof k.item, "ors-20.5");
        cr_assert_eq(relief_key_encode(&k, key, &kl), AM_OK);
        cr_assert_eq(store_view_get(a.s, key, kl, buf, sizeof buf, &len), AM_OK);
        cr_assert_eq(relief_node_cell_parse(buf, len, &c), AM_OK);
        cr_assert_eq(c.value, 488);
        cr_assert_eq(c.n_moves, 2);
    }
    /* reindex reports it again, identically */
    cr_assert_eq(store_reindex(a.s, NULL), AM_OK);
    digest(a.s, da);
    cr_assert(!memcmp(da, db, AM_HASH_LEN));
    ts_close(&a);
    ts_close(&b);
    h_free(&h);
}

/* ---- listings ---- */

struct rows {
    int n;
    unsigned digits[64];
    uint8_t key[64][RELIEF_KEY_MAX];
    size_t klen[64];
};

static int rows_add(void *ctx, const struct store_view_row *r)
{
    struct rows *rs = ctx;
    if (rs->n < 64) {
        rs->digits[rs->n] = r->id_digits;
        memcpy(rs->key[rs->n], r->key, r->key_len);
        rs->klen[rs->n] = r->key_len;
    }
    rs->n++;
    return 0;
}

Test(views, listings_by_site_status_item_and_id_prefix)
{
    struct hist h;
    struct tstore a;
    struct relief_op op;
    struct hentry *opens[6];
    uint64_t st = 11;
    struct rows r;
    uint8_t id[RELIEF_ID_LEN];
    char hex[33];
    unsigned matches;

    h_init(&h, &st);
    for (int i = 0; i < 6; i++) {
        memset(&op, 0, sizeof op);
        op.type = RELIEF_T_NEED_OPEN;
        op.site = S(i < 4 ? "hub-north" : "clinic-2");
        op.item = S("water-5l");
        op.q = 10;
        op.pri = 1 + i % 4;
        HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
        opens[i] = h_op(&h, 0, hlc_pack(WALL, (uint16_t)i), &op);
    }
    /* close need 0 as cancelled, deliver need 1 in full */
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_CLOSE;
    relief_need_id(opens[0]->hash, op.need);
    op.st = RELIEF_ST_CANCELLED;
    HAS(&op, NEED), HAS(&op, ST);
    h_op(&h, 0, hlc_pack(WALL, 10), &op);
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_DLV;
    relief_need_id(opens[1]->hash, op.need);
    op.q = 10;
    HAS(&op, NEED), HAS(&op, Q);
    h_op(&h, 0, hlc_pack(WALL, 11), &op);
    for (int i = 0; i < 3; i++) {
        memset(&op, 0, sizeof op);
        op.type = RELIEF_T_STOCK_MOVE;
        op.site = S(i == 2 ? "clinic-2" : "hub-north");
        op.item = S(i == 1 ? "ors-20.5" : "water-5l");
        op.q = 5;
        op.reason = RELIEF_R_RECEIVED;
        HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, R);
        h_op(&h, 0, hlc_pack(WALL, (uint16_t)(20 + i)), &op);
    }
    ts_open(&a, 0);
    ingest_in_order(a.s, &h);

    memset(&r, 0, sizeof r);
    cr_assert_eq(store_needs_each(a.s, "hub-north", RELIEF_ST_OPEN, rows_add, &r), AM_OK);
    cr_assert_eq(r.n, 2, "needs 2 and 3 are open at hub-north");
    cr_assert(r.digits[0] >= RELIEF_ID_SHORT_MIN);
    memset(&r, 0, sizeof r);
    cr_assert_eq(store_needs_each(a.s, "hub-north", 0, rows_add, &r), AM_OK);
    cr_assert_eq(r.n, 4);
    memset(&r, 0, sizeof r);
    cr_assert_eq(store_needs_each(a.s, NULL, RELIEF_ST_FULFILLED, rows_add, &r), AM_OK);
    cr_assert_eq(r.n, 1);
    memset(&r, 0, sizeof r);
    cr_assert_eq(store_needs_each(a.s, NULL, RELIEF_ST_CANCELLED, rows_add, &r), AM_OK);
    cr_assert_eq(r.n, 1);
    memset(&r, 0, sizeof r);
    cr_assert_eq(store_needs_each(a.s, "hub-nort", 0, rows_add, &r), AM_OK);
    cr_assert_eq(r.n, 0, "a prefix of a site is not the site");

    memset(&r, 0, sizeof r);
    cr_assert_eq(store_cells_each(a.s, "hub-north", NULL, rows_add, &r), AM_OK);
    cr_assert_eq(r.n, 2);
    memset(&r, 0, sizeof r);
    cr_assert_eq(store_cells_each(a.s, NULL, "water-5l", rows_add, &r), AM_OK);
    cr_assert_eq(r.n, 2, "water at both sites, through the item index");
    cr_assert_eq(r.key[0][0], RELIEF_OBJ_CELL);
    memset(&r, 0, sizeof r);
    cr_assert_eq(store_cells_each(a.s, "hub-north", "ors-20.5", rows_add, &r), AM_OK);
    cr_assert_eq(r.n, 1);

    relief_need_id(opens[3]->hash, id);
    relief_id_hex(id, hex);
    hex[7] = 0;
    uint8_t got[RELIEF_ID_LEN];
    cr_assert_eq(store_need_find(a.s, hex, got, &matches), AM_OK);
    cr_assert_eq(matches, 1);
    cr_assert(!memcmp(got, id, RELIEF_ID_LEN));
    cr_assert_eq(store_need_find(a.s, "0", got, &matches) == AM_OK ? (int)matches : 0,
                 (int)matches);
    cr_assert_eq(store_need_find(a.s, "zz", got, &matches), AM_EINVAL);
    cr_assert_geq(store_need_digits(a.s, id), RELIEF_ID_SHORT_MIN);
    ts_close(&a);
    h_free(&h);
}
