/*
 * relief_bench.c: the relief views benchmark (not a test), called from aidmesh-bench
 * (relief_bench_rows, declared in bench_report.h): its figures are rows of aidmesh-bench's
 * one report, its summary a note below the table. relief_bench_run (cli.h) prints them
 * as a report of their own.
 *
 * Workload: A authors (10) write, round robin, N entries (1,000,000; --quick 100,000):
 * S sites and 100 items defined first (S = N / 10,000), then in every ten entries one
 * need.open (N/10 needs, random items and priorities), one need.dlv, need.upd or
 * need.close of an earlier need (sup naming its need.open), and eight stock ops over the
 * S x 100 cells (N/100 cells): moves with a random reason and, one in twenty, a count
 * whose ctx names every author's latest seq. Two variants:
 *   site-local (the headline): author a is the node of the sites s with s mod A = a and
 *     writes needs and stock of those only; 8 in 10 of its stock ops go to one of the 16
 *     cells it touched last (a store-keeper works through a few items at a time), the
 *     others to any cell of its sites;
 *   uniform (the worst case): every need and stock op at a random site and cell of all.
 * Entries are built and signed in memory beforehand (untimed).
 *
 * Figures:
 *   ingest with views: store_ingest of the entries in round-robin order, in calls of
 *     AM_INGEST_BATCH_MAX (65,536) entries or 16 MiB, whichever is less (a stick's batches),
 *     into a fresh store; every entry's op is decoded and its object's view, indexes and
 *     fingerprint are updated in the same write transaction. Ceiling: the site-local
 *     entries with every op replaced by one of the same size of a type the views ignore
 *     (a newer version), ingested the same way: the store's own cost without the views.
 *     The uniform variant is compared with the site-local one.
 *   ingest with views, no object cache: the same with STORE_VIEW_CACHE_OFF (every batch
 *     rebuilds each touched object from the record in its views value), on the first N/10
 *     entries.
 *   need list --status open --site S and stock show --site S: the CLI's listing code
 *     (cli_relief_need_list / cli_relief_stock_show, through the read model's query) on the
 *     store above, rendering the table into /dev/null, after opening the store; median of 20 runs,
 * each opening the store afresh. Ceiling: the same rows read raw (store_needs_each /
 *     store_cells_each, no parsing, no rendering), median of 20.
 *   stock totals: the CLI's `stock totals` (every cell of every site, summed per item) on
 *     the store above, after opening it, median of 20. Ceiling: the same cells read raw.
 *   reindex: store_reindex of the ingested store (drop and rebuild every view from the
 *     entries). Ceiling: reading and decoding every entry and op (store_entries_each).
 * Each row says whether the reindexed views equal the live ones (digest) and the
 * fingerprint recomputed from scratch equals the one kept incrementally.
 *
 * Ingest with views as the store grows (relief_growth_rows, aidmesh-bench's relief-growth
 * part): checkpoints of 100,000, 1,000,000 and 5,000,000 entries (--quick 100,000, 200,000
 * and 500,000; a run's --entries N below 5,000,000: N/50, N/5, N). One site-local workload
 * of the largest checkpoint plus half a window, its shape fixed at the largest size's (S =
 * largest / 10,000 sites and the 100 items from the start: the store grows by more ops on
 * the same cells and by new needs), is ingested in order into one fresh store with views,
 * in calls as above but cut at the edges of each checkpoint's window: the W = min(65,536,
 * first checkpoint / 2) entries centred on it. Figure: the store_ingest time of a window's
 * calls / W (µs per entry, shown as ms per 1,000), and the last checkpoint's over the
 * first's (target 0.8 to 1.2). Ceiling: the same windows of the ignored-op variant, ingested
 * the same way into a store of its own. Both stores' maps are preset (RB_GROWTH_MAP) so no
 * timed call is redone to grow the map.
 *
 * relief_bench_store (cli.h) builds the site-local workload into a store of its own, for
 * aidmesh-bench's rows of a daemon receiving relief entries (daemon_bench.c).
 *
 * Profiling aid: with AIDMESH_BENCH_PERF=CTL,ACK (two FIFOs of `perf record -D -1
 * --control fifo:CTL,ACK`), the bench enables perf only around the timed store_ingest
 * calls of one ingest (AIDMESH_BENCH_PERF_PHASE: views, the default, uniform, ignored or
 * nocache), so the profile shows the ingest alone, not the signing of the workload.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "bench_report.h"
#include "cli.h"
#include "query.h"
#include "entry.h"
#include "hlc.h"
#include "out.h"
#include "relief.h"
#include "relief_node.h"
#include "store.h"

#define RB_AUTHORS   10
#define RB_ITEMS     100
#define RB_SLOT      (AM_OP_MAX + 200)
#define RB_RUNS      20
#define RB_ENTRY_CAP 1024 /* every bench entry is smaller */
#define RB_RING      16   /* site-local workload: the cells an author works on lately */
/* rb_build's `local` with this bit: one stock op in RB_SHIP_EVERY is a step of a shipment
 * instead (the author's next one: create, dispatch, receive), PROTOCOL.md 10.4 */
#define RB_SHIPS      2
#define RB_SHIP_EVERY 8
#define RB_SHIP_OPEN  4    /* shipments an author has on the way at once */
#define RB_STORE_MIN  1000 /* relief_bench_store: room for the sites and items, then ops */
/* Bytes of entries per ingest call at most: what a stick's reader passes (transport/stick.c;
 * a sync session passes at most SYNC_PENDING_BYTES, 8 MiB). */
#define RB_BATCH_BYTES (16u << 20)
/* rb_build of more entries than this: progress on stderr every so many signed */
#define RB_SIGN_NOTE 1000000

static double rb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rb_tv(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static uint64_t rb_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

struct rb_author {
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    uint8_t prev[AM_HASH_LEN];
    uint64_t seq;
    struct hlc clk;
};

struct rb_src {
    uint8_t *buf;
    size_t used, cap;
    const uint8_t **entry;
    size_t *len;
    uint64_t n;
};

static void rb_src_free(struct rb_src *s)
{
    free(s->buf);
    free(s->entry);
    free(s->len);
    memset(s, 0, sizeof *s);
}

/* Signs op as the next entry of a and adds it to src. hash (nullable) gets its hash. */
static int rb_add(struct rb_src *src, struct rb_author *a, uint64_t wall, const uint8_t *op,
                  size_t ol, uint8_t *hash)
{
    struct entry e;
    size_t len;
    int rc;
    if (src->cap - src->used < RB_ENTRY_CAP)
        return AM_ENOMEM;
    rc = entry_build(src->buf + src->used, RB_ENTRY_CAP, &len, a->sk, a->seq + 1, a->prev,
                     hlc_tick(&a->clk, wall), op, ol);
    if (rc != AM_OK || (rc = entry_decode(&e, src->buf + src->used, len)) != AM_OK)
        return rc;
    entry_hash(&e, a->prev);
    if (hash)
        memcpy(hash, a->prev, AM_HASH_LEN);
    a->seq++;
    src->entry[src->n] = src->buf + src->used;
    src->len[src->n] = len;
    src->n++;
    src->used += len;
    return AM_OK;
}

static struct relief_str rb_str(const char *s)
{
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

#define SET(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

static int rb_encode(const struct relief_op *op, uint8_t *buf, size_t *len)
{
    char err[RELIEF_ERR_MAX];
    int rc = relief_op_encode(op, buf, AM_OP_MAX, len, err, sizeof err);
    if (rc != AM_OK)
        fprintf(stderr, "aidmesh-bench: relief op: %s\n", err);
    return rc;
}

/* A shipment of the workload on its way: its id, where and what, and its next step. */
struct rb_ship {
    uint8_t id[RELIEF_ID_LEN];
    uint64_t from, to, item[2];
    int64_t q[2];
    int nl, step; /* 0 free, 1 created, 2 dispatched */
};

/* The op of author ai's next shipment step into o (lines into ln, strings into slug and
 * code): a new shipment from one of its sites (site-local) to another site, 1 or 2 lines of
 * lot-less cells, or the dispatch, then the receipt (one in five with a shortfall) of one it
 * has on the way. *made: the slot of a new one (its id comes from the entry's hash). */
static void rb_ship_step(struct relief_op *o, struct rb_ship *sh, uint64_t *st, uint64_t sites,
                         uint64_t own, uint64_t ai, int local, struct relief_line ln[2], char *slug,
                         char *code, size_t cap, int *made)
{
    struct rb_ship *p = NULL;
    uint64_t pick = rb_rand(st) % RB_SHIP_OPEN;
    *made = -1;
    for (int i = 0; i < RB_SHIP_OPEN && !p; i++)
        if (sh[(pick + (uint64_t)i) % RB_SHIP_OPEN].step)
            p = &sh[(pick + (uint64_t)i) % RB_SHIP_OPEN];
    if (!p || rb_rand(st) % 3 == 0) {
        for (int i = 0; i < RB_SHIP_OPEN; i++)
            if (!sh[i].step) {
                p = &sh[i];
                *made = i;
                break;
            }
    }
    memset(ln, 0, 2 * sizeof *ln);
    if (*made >= 0) {
        p->from = local ? (rb_rand(st) % own) * RB_AUTHORS + ai : rb_rand(st) % sites;
        p->to = (p->from + 1 + rb_rand(st) % (sites - 1)) % sites;
        p->nl = 1 + (int)(rb_rand(st) % 2);
        p->item[0] = rb_rand(st) % RB_ITEMS;
        p->item[1] = (p->item[0] + 1) % RB_ITEMS;
        p->q[0] = 1 + (int64_t)(rb_rand(st) % 50);
        p->q[1] = 1 + (int64_t)(rb_rand(st) % 50);
    }
    snprintf(slug, cap, "site-%03llu",
             (unsigned long long)(*made < 0 && p->step == 2 ? p->to : p->from));
    snprintf(code, cap, "item-%03llu", (unsigned long long)p->item[0]);
    snprintf(code + cap, cap, "item-%03llu", (unsigned long long)p->item[1]);
    for (int i = 0; i < p->nl; i++) {
        ln[i].item = rb_str(code + i * cap);
        ln[i].q = p->q[i];
    }
    o->site = rb_str(slug);
    o->ln = (struct relief_lines){(uint32_t)p->nl, ln, NULL};
    SET(o, SITE), SET(o, LN);
    if (*made >= 0) {
        static char to[40];
        snprintf(to, sizeof to, "site-%03llu", (unsigned long long)p->to);
        o->type = RELIEF_T_SHIP_NEW;
        o->to = rb_str(to);
        o->doc = rb_str("WB-2026-0042");
        SET(o, TO), SET(o, DOC);
        return;
    }
    memcpy(o->ship, p->id, RELIEF_ID_LEN);
    SET(o, SHIP);
    if (p->step == 1) {
        o->type = RELIEF_T_SHIP_DSP;
        p->step = 2;
        return;
    }
    o->type = RELIEF_T_SHIP_RCV;
    if (rb_rand(st) % 5 == 0) {
        ln[0].q /= 2;
        o->note = rb_str("two boxes wet");
        SET(o, NOTE);
    }
    p->step = 0;
}

/*
 * Builds the workload (see the top of the file). With `ignored`, every op is replaced by
 * one of the same size that the views ignore ({"t": "x.bench", "pad": ...}). With RB_SHIPS
 * in `local`, shipments take the place of some stock ops (rb_ship_step).
 */
static int rb_build(struct rb_src *src, uint64_t n, uint64_t sites, int local, int ignored,
                    uint64_t seed)
{
    struct rb_author au[RB_AUTHORS];
    struct rb_ship ships[RB_AUTHORS][RB_SHIP_OPEN];
    struct relief_line lines[2];
    uint64_t ring[RB_AUTHORS][RB_RING] = {{0}}, ring_n[RB_AUTHORS] = {0};
    uint8_t(*need_ids)[RELIEF_ID_LEN] = NULL;
    struct relief_ref *need_open = NULL;
    uint8_t *op = malloc(AM_OP_MAX);
    uint64_t nneeds = 0, st = seed | 1, wall = 1767225600000ULL; /* 2026-01-01 */
    char slug[40], code[80];
    int rc = AM_OK;

    memset(src, 0, sizeof *src);
    memset(ships, 0, sizeof ships);
    src->cap = n * 420 + (1u << 20);
    src->buf = malloc(src->cap);
    src->entry = malloc(n * sizeof *src->entry);
    src->len = malloc(n * sizeof *src->len);
    need_ids = malloc((n / 10 + 1) * sizeof *need_ids);
    need_open = malloc((n / 10 + 1) * sizeof *need_open);
    if (!op || !src->buf || !src->entry || !src->len || !need_ids || !need_open) {
        rc = AM_ENOMEM;
        goto out;
    }
    for (int a = 0; a < RB_AUTHORS; a++) {
        uint8_t seedb[AM_SEED_LEN] = {0x5b, (uint8_t)a};
        crypto_sign_seed_keypair(au[a].pk, au[a].sk, seedb);
        memset(au[a].prev, 0, AM_HASH_LEN);
        au[a].seq = 0;
        au[a].clk.last = 0;
    }
    for (uint64_t k = 0; k < n && rc == AM_OK; k++) {
        uint64_t ai = k % RB_AUTHORS, own = sites / RB_AUTHORS; /* local: sites s = ai mod A */
        struct rb_author *a = &au[ai];
        struct relief_op o;
        struct relief_ref ctx[RB_AUTHORS];
        uint8_t hash[AM_HASH_LEN];
        size_t ol = 0;
        int is_open = 0, made = -1;
        uint64_t r = (k / RB_AUTHORS + ai) % 10; /* each author cycles through the kinds */

        memset(&o, 0, sizeof o);
        if (k < sites + RB_ITEMS) {
            if (k < sites) {
                snprintf(slug, sizeof slug, "site-%03llu", (unsigned long long)k);
                snprintf(code, sizeof code, "Site %llu", (unsigned long long)k);
                o.type = RELIEF_T_SITE;
                o.site = rb_str(slug);
                o.name = rb_str(code);
                o.kind = 1 + (int)(k % 5);
                SET(&o, SLUG), SET(&o, NAME), SET(&o, KIND);
            } else {
                snprintf(code, sizeof code, "item-%03llu", (unsigned long long)(k - sites));
                snprintf(slug, sizeof slug, "Item %llu", (unsigned long long)(k - sites));
                o.type = RELIEF_T_ITEM;
                o.item = rb_str(code);
                o.name = rb_str(slug);
                o.unit = rb_str("piece");
                SET(&o, CODE), SET(&o, NAME), SET(&o, UNIT);
            }
        } else if (r == 0 || (r == 1 && nneeds == 0) || (r == 2 && nneeds * 10 < k)) {
            /* (r == 2: catching up on the opens the definitions took the place of) */
            uint64_t site = local ? (rb_rand(&st) % own) * RB_AUTHORS + ai : rb_rand(&st) % sites;
            snprintf(slug, sizeof slug, "site-%03llu", (unsigned long long)site);
            snprintf(code, sizeof code, "item-%03llu",
                     (unsigned long long)(rb_rand(&st) % RB_ITEMS));
            o.type = RELIEF_T_NEED_OPEN;
            o.site = rb_str(slug);
            o.item = rb_str(code);
            o.q = 1 + (int64_t)(rb_rand(&st) % 500);
            o.pri = 1 + (int)(rb_rand(&st) % 4);
            o.note = rb_str("for the families at the school; ask for Amina");
            o.by = 20454 + (uint32_t)(rb_rand(&st) % 60);
            SET(&o, SITE), SET(&o, ITEM), SET(&o, Q), SET(&o, PRI), SET(&o, NOTE), SET(&o, BY);
            is_open = 1;
        } else if (r == 1) {
            uint64_t which = rb_rand(&st) % nneeds, kind = rb_rand(&st) % 10;
            memcpy(o.need, need_ids[which], RELIEF_ID_LEN);
            SET(&o, NEED);
            if (kind < 6) {
                o.type = RELIEF_T_NEED_DLV;
                o.q = 1 + (int64_t)(rb_rand(&st) % 100);
                SET(&o, Q);
            } else {
                o.sup.n = 1;
                o.sup.arr = &need_open[which];
                SET(&o, SUP);
                if (kind < 8) {
                    o.type = RELIEF_T_NEED_UPD;
                    o.pri = 1 + (int)(rb_rand(&st) % 4);
                    SET(&o, PRI);
                } else {
                    o.type = RELIEF_T_NEED_CLOSE;
                    o.st = kind == 8 ? RELIEF_ST_FULFILLED : RELIEF_ST_CANCELLED;
                    SET(&o, ST);
                }
            }
        } else if ((local & RB_SHIPS) && sites > 1 && rb_rand(&st) % RB_SHIP_EVERY == 0) {
            rb_ship_step(&o, ships[ai], &st, sites, own, ai, local, lines, slug, code, 40, &made);
        } else {
            uint64_t cell = rb_rand(&st) % (sites * RB_ITEMS);
            if (local) {
                /* mostly the cells this author worked on lately, else any of its sites' */
                if (ring_n[ai] && rb_rand(&st) % 10 < 8) {
                    uint64_t m = ring_n[ai] < RB_RING ? ring_n[ai] : RB_RING;
                    cell = ring[ai][rb_rand(&st) % m];
                } else {
                    cell = ((rb_rand(&st) % own) * RB_AUTHORS + ai) * RB_ITEMS +
                           rb_rand(&st) % RB_ITEMS;
                    ring[ai][ring_n[ai]++ % RB_RING] = cell;
                }
            }
            snprintf(slug, sizeof slug, "site-%03llu", (unsigned long long)(cell / RB_ITEMS));
            snprintf(code, sizeof code, "item-%03llu", (unsigned long long)(cell % RB_ITEMS));
            o.site = rb_str(slug);
            o.item = rb_str(code);
            SET(&o, SITE), SET(&o, ITEM), SET(&o, Q);
            if (rb_rand(&st) % 20 == 0) {
                uint32_t nc = 0;
                o.type = RELIEF_T_STOCK_COUNT;
                o.q = (int64_t)(rb_rand(&st) % 1000);
                for (int b = 0; b < RB_AUTHORS; b++)
                    if (au[b].seq && &au[b] != a) {
                        memcpy(ctx[nc].author, au[b].pk, AM_PK_LEN);
                        ctx[nc++].seq = au[b].seq;
                    }
                relief_ctx_normalize(ctx, &nc);
                o.ctx.n = nc;
                o.ctx.arr = ctx;
                SET(&o, CTX);
            } else {
                uint64_t x = rb_rand(&st) % 10;
                o.type = RELIEF_T_STOCK_MOVE;
                o.q = 1 + (int64_t)(rb_rand(&st) % 50);
                o.reason = x < 5 ? RELIEF_R_RECEIVED : x < 9 ? RELIEF_R_ISSUED : 3 + (int)(x % 6);
                SET(&o, R);
            }
        }
        if ((rc = rb_encode(&o, op, &ol)) != AM_OK)
            break;
        if (ignored) {
            /* same size, a type this version does not know: {"t": "x.bench", "pad": bin} */
            size_t pad = ol > 24 ? ol - 16 : 8;
            size_t o2 = 0;
            op[o2++] = 0x82;
            op[o2++] = 0xa1;
            op[o2++] = 't';
            op[o2++] = 0xa7;
            memcpy(op + o2, "x.bench", 7);
            o2 += 7;
            op[o2++] = 0xa3;
            memcpy(op + o2, "pad", 3);
            o2 += 3;
            op[o2++] = 0xc4;
            op[o2++] = (uint8_t)(pad > 255 ? 255 : pad);
            memset(op + o2, 0x2a, pad > 255 ? 255 : pad);
            ol = o2 + (pad > 255 ? 255 : pad);
        }
        rc = rb_add(src, a, wall + k / 8, op, ol, hash);
        if (n > RB_SIGN_NOTE && (k + 1) % RB_SIGN_NOTE == 0) {
            char c1[32], c2[32];
            out_count(c1, k + 1);
            out_count(c2, n);
            fprintf(stderr, "aidmesh-bench: relief: %s of %s entries signed\n", c1, c2);
        }
        if (rc == AM_OK && made >= 0) {
            relief_need_id(hash, ships[ai][made].id);
            ships[ai][made].step = 1;
        }
        if (rc == AM_OK && is_open) {
            relief_need_id(hash, need_ids[nneeds]);
            memcpy(need_open[nneeds].author, a->pk, AM_PK_LEN);
            need_open[nneeds].seq = a->seq;
            nneeds++;
        }
    }
out:
    for (int a = 0; a < RB_AUTHORS; a++)
        sodium_memzero(au[a].sk, sizeof au[a].sk);
    free(op);
    free(need_ids);
    free(need_open);
    if (rc != AM_OK)
        rb_src_free(src);
    return rc;
}

/* Sends cmd ("enable" or "disable") to perf's control FIFO when AIDMESH_BENCH_PERF names
 * one (see the top of the file) and dir is the phase to profile, and waits for perf's ack. */
static void rb_perf(const char *dir, const char *cmd)
{
    const char *env = getenv("AIDMESH_BENCH_PERF"), *phase = getenv("AIDMESH_BENCH_PERF_PHASE");
    const char *base = strrchr(dir, '/');
    char ctl[1024], ack[8];
    const char *comma;
    FILE *f;

    if (!env || !(comma = strchr(env, ',')) || (size_t)(comma - env) >= sizeof ctl)
        return;
    if (strcmp(base ? base + 1 : dir, phase && *phase ? phase : "views") != 0)
        return;
    memcpy(ctl, env, (size_t)(comma - env));
    ctl[comma - env] = 0;
    if (!(f = fopen(ctl, "w"))) {
        fprintf(stderr, "aidmesh-bench: perf control %s: %s\n", ctl, strerror(errno));
        return;
    }
    fprintf(f, "%s\n", cmd);
    fclose(f);
    if ((f = fopen(comma + 1, "r"))) {
        if (!fgets(ack, sizeof ack, f))
            fprintf(stderr, "aidmesh-bench: no ack from perf on %s\n", comma + 1);
        fclose(f);
    }
}

/* Ingests src[0..n) into a fresh store in dir: per call AM_INGEST_BATCH_MAX entries or
 * RB_BATCH_BYTES, whichever comes first, as a stick's batches are. */
static int rb_ingest(const char *dir, const struct rb_src *src, uint64_t n, uint64_t cache,
                     double *rate, struct store **keep)
{
    struct store_opts so = {0};
    struct store *s = NULL;
    struct rusage ru0, ru1;
    double t0;
    int rc;

    so.view_cache = cache;
    if ((rc = store_open(&s, dir, &so)) != AM_OK)
        return rc;
    rb_perf(dir, "enable");
    getrusage(RUSAGE_SELF, &ru0);
    t0 = rb_now();
    for (uint64_t at = 0; at < n;) {
        struct store_ingest_stats is;
        size_t k = 0, bytes = 0;
        while (at + k < n && k < AM_INGEST_BATCH_MAX && bytes + src->len[at + k] <= RB_BATCH_BYTES)
            bytes += src->len[at + k++];
        if ((rc = store_ingest(s, src->entry + at, src->len + at, k, node_wall_ms(), &is)) != AM_OK)
            goto out;
        if (is.added != k || is.invalid_ops) {
            fprintf(stderr,
                    "aidmesh-bench: relief ingest at %llu: added %llu of %zu, %llu invalid\n",
                    (unsigned long long)at, (unsigned long long)is.added, k,
                    (unsigned long long)is.invalid_ops);
            rc = AM_ECORRUPT;
            goto out;
        }
        at += k;
    }
    *rate = (double)n / (rb_now() - t0);
    getrusage(RUSAGE_SELF, &ru1);
    rb_perf(dir, "disable");
    {
        struct store_view_cache_stats cs;
        store_view_cache_stats(s, &cs);
        fprintf(stderr,
                "aidmesh-bench: relief: view cache: %llu hits, %llu rebuilt (%llu ops read), "
                "%llu evicted, %llu held (%.1f MiB estimated); %.0f entries/s, CPU %.2f s user "
                "+ %.2f s system\n",
                (unsigned long long)cs.hits, (unsigned long long)cs.loads,
                (unsigned long long)cs.ops_loaded, (unsigned long long)cs.evicted,
                (unsigned long long)cs.objects, (double)cs.bytes / 1048576.0, *rate,
                rb_tv(&ru1.ru_utime) - rb_tv(&ru0.ru_utime),
                rb_tv(&ru1.ru_stime) - rb_tv(&ru0.ru_stime));
    }
out:
    if (keep && rc == AM_OK)
        *keep = s;
    else
        store_close(s);
    return rc;
}

int relief_bench_store(const char *dir, uint64_t n)
{
    /* the sites of relief_bench_rows, but at least one per author: the site-local
     * workload gives each author the sites s with s mod RB_AUTHORS = a */
    uint64_t sites = n / 10000 < RB_AUTHORS ? RB_AUTHORS : n / 10000;
    struct rb_src src = {0};
    double rate = 0, t0 = rb_now();
    int rc;

    if (n < RB_STORE_MIN) {
        fprintf(stderr,
                "aidmesh-bench: the relief workload wants at least %d entries (sites and items "
                "come first), not %llu\n",
                RB_STORE_MIN, (unsigned long long)n);
        return AM_EINVAL;
    }
    fprintf(stderr, "aidmesh-bench: relief store: building %llu site-local entries (signing)\n",
            (unsigned long long)n);
    if ((rc = rb_build(&src, n, sites, 1, 0, 42)) != AM_OK)
        goto out;
    fprintf(stderr, "aidmesh-bench: relief store: built in %.1f s; ingest with views into %s\n",
            rb_now() - t0, dir);
    rc = rb_ingest(dir, &src, n, 0, &rate, NULL);
    if (rc == AM_OK)
        fprintf(stderr, "aidmesh-bench: relief store: ingested at %.0f entries/s\n", rate);
out:
    if (rc != AM_OK)
        fprintf(stderr, "aidmesh-bench: relief store in %s: %s\n", dir, am_strerror(rc));
    rb_src_free(&src);
    return rc;
}

/* Removes a store directory made by this benchmark (data.mdb, lock.mdb). */
static void rb_rmstore(const char *dir)
{
    char p[4200];
    if (strlen(dir) + sizeof "/data.mdb" > sizeof p)
        return;
    snprintf(p, sizeof p, "%.4180s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%.4180s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static int rb_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double rb_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, rb_cmp_double);
    return v[n / 2];
}

static int rb_count_row(void *ctx, const struct store_view_row *r)
{
    (void)r;
    ++*(uint64_t *)ctx;
    return 0;
}

static int rb_entry_decode(void *ctx, const uint8_t *raw, size_t len)
{
    struct entry e;
    struct relief_op op;
    if (entry_decode(&e, raw, len) == AM_OK &&
        relief_op_decode(e.op, e.op_len, &op, NULL, 0) == AM_OK)
        ++*(uint64_t *)ctx;
    return 0;
}

/* One row of the report: value against its ceiling (same unit), with its target. */
static void rb_row(const char *figure, double v, enum bench_unit u, const char *cwhat, double ceil,
                   const char *rwhat, const char *target, int met)
{
    struct bench_row *r = bench_row_add(figure, v, u);
    if (cwhat)
        bench_row_ceiling(r, cwhat, ceil, u, rwhat);
    bench_row_target(r, target, met);
}

/* The CLI's `need list --site S` (stock: `stock show --site S`) into f, through a query
 * of its own whose day is fixed (so expiry flags do not move between runs). */
static int rb_listing(struct store *s, FILE *f, const char *site, int stock)
{
    struct query *q;
    int rc = query_open(s, 20454ULL * 86400000ULL, &q);
    if (rc != AM_OK)
        return rc;
    if (stock) {
        struct query_cell_filter cf = {.site = site};
        rc = cli_relief_stock_show(q, f, &cf, 0);
    } else {
        struct query_need_filter nf = {.site = site, .status = RELIEF_ST_OPEN};
        rc = cli_relief_need_list(q, f, &nf, 0);
    }
    query_close(q);
    return rc;
}

/* The CLI's `stock totals` into f, through a query of its own with a fixed day. */
static int rb_totals(struct store *s, FILE *f)
{
    struct query *q;
    int rc = query_open(s, 20454ULL * 86400000ULL, &q);
    if (rc != AM_OK)
        return rc;
    rc = cli_relief_stock_totals(q, f, NULL, 0);
    query_close(q);
    return rc;
}

int relief_bench_run(FILE *out, const char *tmpdir, int quick)
{
    size_t first = bench_report_rows();
    int rc = relief_bench_rows(tmpdir, quick);
    bench_report_markdown(out, "aidmesh relief views benchmark", NULL, first);
    return rc;
}

int relief_bench_rows(const char *tmpdir, int quick)
{
    uint64_t n = quick ? 100000 : 1000000, sites = n / 10000, n_nocache = n / 10;
    struct rb_src src = {0}, ign = {0}, uni = {0}, shp = {0};
    struct store *s = NULL;
    char base[4096], dir[4200], fig[256], c1[32], c2[32];
    double rate = 0, rate_ign = 0, rate_nocache = 0, rate_uni = 0, rate_ship = 0, t0, t_re, t_scan;
    uint64_t n_ship_ops = 0;
    double need_ms[RB_RUNS], need_raw[RB_RUNS], cell_ms[RB_RUNS], cell_raw[RB_RUNS];
    double tot_ms[RB_RUNS], tot_raw[RB_RUNS];
    uint64_t rows_all = 0;
    uint64_t rows_needs = 0, rows_cells = 0, decoded = 0;
    uint8_t d_live[AM_HASH_LEN], d_re[AM_HASH_LEN], fp_scan[STORE_VIEW_FP_LEN];
    struct store_view_stats vs;
    struct store_reindex_stats rs;
    const char *site = "site-007";
    FILE *devnull = fopen("/dev/null", "w");
    int rc;

    bench_section("Relief views (ingest with views, listings, reindex)");
    if (!devnull)
        return AM_ESYS;
    snprintf(base, sizeof base, "%s/aidmesh-relief-bench.XXXXXX", tmpdir);
    if (!mkdtemp(base)) {
        fprintf(stderr, "aidmesh-bench: cannot make a directory under %s: %s\n", tmpdir,
                strerror(errno));
        fclose(devnull);
        return AM_ESYS;
    }
    fprintf(stderr, "aidmesh-bench: relief: building 3 x %llu entries (signing)\n",
            (unsigned long long)n);
    if ((rc = rb_build(&src, n, sites, 1, 0, 42)) != AM_OK ||
        (rc = rb_build(&ign, n, sites, 1, 1, 42)) != AM_OK ||
        (rc = rb_build(&uni, n, sites, 0, 0, 43)) != AM_OK)
        goto out;

    fprintf(stderr, "aidmesh-bench: relief: ingest, ops the views ignore\n");
    snprintf(dir, sizeof dir, "%s/ignored", base);
    rc = rb_ingest(dir, &ign, n, 0, &rate_ign, NULL);
    rb_rmstore(dir);
    if (rc != AM_OK)
        goto out;
    rb_src_free(&ign);
    fprintf(stderr, "aidmesh-bench: relief: ingest with views, uniform workload\n");
    snprintf(dir, sizeof dir, "%s/uniform", base);
    rc = rb_ingest(dir, &uni, n, 0, &rate_uni, &s);
    if (rc == AM_OK && (rc = store_views_digest(s, d_live)) == AM_OK) {
        char hex[2 * AM_HASH_LEN + 1];
        sodium_bin2hex(hex, sizeof hex, d_live, AM_HASH_LEN);
        fprintf(stderr, "aidmesh-bench: relief: uniform views digest %s\n", hex);
    }
    store_close(s);
    s = NULL;
    rb_rmstore(dir);
    if (rc != AM_OK)
        goto out;
    rb_src_free(&uni);
    /* the same site-local mix with shipments in it: the ingest the item asks to stay near */
    fprintf(stderr, "aidmesh-bench: relief: ingest with views, with shipments (signing first)\n");
    if ((rc = rb_build(&shp, n, sites, 1 | RB_SHIPS, 0, 42)) != AM_OK)
        goto out;
    for (uint64_t i = 0; i < shp.n; i++) {
        struct entry e;
        struct relief_op op;
        if (entry_decode(&e, shp.entry[i], shp.len[i]) == AM_OK &&
            relief_op_decode(e.op, e.op_len, &op, NULL, 0) == AM_OK &&
            op.type >= RELIEF_T_SHIP_NEW && op.type <= RELIEF_T_SHIP_CXL)
            n_ship_ops++;
    }
    snprintf(dir, sizeof dir, "%s/ships", base);
    rc = rb_ingest(dir, &shp, n, 0, &rate_ship, &s);
    if (rc == AM_OK && (rc = store_views_digest(s, d_live)) == AM_OK) {
        struct store_reindex_stats rs2;
        if ((rc = store_reindex(s, &rs2)) == AM_OK && (rc = store_views_digest(s, d_re)) == AM_OK &&
            memcmp(d_live, d_re, AM_HASH_LEN) != 0) {
            fprintf(stderr, "aidmesh-bench: relief: with shipments, reindex differs from live\n");
            rc = AM_ECORRUPT;
        }
    }
    store_close(s);
    s = NULL;
    rb_rmstore(dir);
    rb_src_free(&shp);
    if (rc != AM_OK)
        goto out;
    fprintf(stderr, "aidmesh-bench: relief: ingest with views, no object cache (%llu entries)\n",
            (unsigned long long)n_nocache);
    snprintf(dir, sizeof dir, "%s/nocache", base);
    rc = rb_ingest(dir, &src, n_nocache, STORE_VIEW_CACHE_OFF, &rate_nocache, NULL);
    rb_rmstore(dir);
    if (rc != AM_OK)
        goto out;
    fprintf(stderr, "aidmesh-bench: relief: ingest with views\n");
    snprintf(dir, sizeof dir, "%s/views", base);
    if ((rc = rb_ingest(dir, &src, n, 0, &rate, &s)) != AM_OK)
        goto out;
    rb_src_free(&src);
    if ((rc = store_view_stats(s, &vs)) != AM_OK || (rc = store_views_digest(s, d_live)) != AM_OK ||
        (rc = store_view_fingerprint_scan(s, fp_scan)) != AM_OK)
        goto out;
    {
        /* for comparing two builds' views of the same workload */
        char hex[2 * AM_HASH_LEN + 1];
        sodium_bin2hex(hex, sizeof hex, d_live, AM_HASH_LEN);
        fprintf(stderr, "aidmesh-bench: relief: views digest %s\n", hex);
    }
    store_close(s);
    s = NULL;

    fprintf(stderr, "aidmesh-bench: relief: listings\n");
    for (int i = 0; i < RB_RUNS; i++) {
        rows_needs = rows_cells = 0;
        t0 = rb_now();
        if ((rc = store_open(&s, dir, NULL)) != AM_OK ||
            (rc = rb_listing(s, devnull, site, 0)) != AM_OK)
            goto out;
        need_ms[i] = (rb_now() - t0) * 1e3;
        t0 = rb_now();
        if ((rc = store_needs_each(s, site, RELIEF_ST_OPEN, rb_count_row, &rows_needs)) != AM_OK)
            goto out;
        need_raw[i] = (rb_now() - t0) * 1e3;
        store_close(s);
        t0 = rb_now();
        if ((rc = store_open(&s, dir, NULL)) != AM_OK ||
            (rc = rb_listing(s, devnull, site, 1)) != AM_OK)
            goto out;
        cell_ms[i] = (rb_now() - t0) * 1e3;
        t0 = rb_now();
        if ((rc = store_cells_each(s, site, NULL, rb_count_row, &rows_cells)) != AM_OK)
            goto out;
        cell_raw[i] = (rb_now() - t0) * 1e3;
        store_close(s);
        /* `stock totals`: every cell of every site, summed per item */
        t0 = rb_now();
        if ((rc = store_open(&s, dir, NULL)) != AM_OK || (rc = rb_totals(s, devnull)) != AM_OK)
            goto out;
        tot_ms[i] = (rb_now() - t0) * 1e3;
        rows_all = 0;
        t0 = rb_now();
        if ((rc = store_cells_each(s, NULL, NULL, rb_count_row, &rows_all)) != AM_OK)
            goto out;
        tot_raw[i] = (rb_now() - t0) * 1e3;
        if (i + 1 < RB_RUNS) {
            store_close(s);
            s = NULL;
        }
    }
    fprintf(stderr, "aidmesh-bench: relief: reindex\n");
    t0 = rb_now();
    if ((rc = store_entries_each(s, NULL, 1, rb_entry_decode, &decoded)) != AM_OK)
        goto out;
    t_scan = rb_now() - t0;
    t0 = rb_now();
    if ((rc = store_reindex(s, &rs)) != AM_OK)
        goto out;
    t_re = rb_now() - t0;
    if ((rc = store_views_digest(s, d_re)) != AM_OK)
        goto out;

    out_count(c1, vs.needs);
    out_count(c2, vs.cells);
    bench_note("Relief views: %s entries from %d authors -> %s needs, %s stock cells, %llu sites, "
               "%d items (%llu objects); reindex %s live; fingerprint from scratch %s the kept "
               "one. Listings open the store afresh each run (page cache warm).",
               (out_count(fig, n), fig), RB_AUTHORS, c1, c2, (unsigned long long)vs.sites, RB_ITEMS,
               (unsigned long long)vs.objects,
               memcmp(d_live, d_re, AM_HASH_LEN) ? "DIFFERS FROM" : "is byte-identical to",
               memcmp(fp_scan, vs.fingerprint, STORE_VIEW_FP_LEN) ? "DIFFERS FROM" : "equals");
    snprintf(fig, sizeof fig,
             "relief ingest with views, site-local workload, %d per call, %d authors (entries/s)",
             AM_INGEST_BATCH_MAX, RB_AUTHORS);
    rb_row(fig, rate, BENCH_RATE, "same entries, ops the views ignore", rate_ign, "store alone",
           "≥ 150,000/s", rate >= 150000);
    snprintf(fig, sizeof fig,
             "relief ingest with views, uniform workload (every op at a random cell or need of "
             "all), worst case (entries/s)");
    rb_row(fig, rate_uni, BENCH_RATE, "same as site-local", rate, "site-local", "≥ 150,000/s",
           rate_uni >= 150000);
    snprintf(fig, sizeof fig,
             "relief ingest with views, site-local workload with shipments (%s of the entries "
             "ship.new / ship.dsp / ship.rcv, each dispatch and receipt also moving its cells; "
             "reindex equals live) (entries/s)",
             (out_count(c1, n_ship_ops), c1));
    rb_row(fig, rate_ship, BENCH_RATE, "same without shipments", rate, "site-local",
           "within 10% of it", rate_ship >= 0.9 * rate);
    snprintf(fig, sizeof fig, "relief ingest with views, no object cache, first %s entries",
             (out_count(c1, n_nocache), c1));
    rb_row(fig, rate_nocache, BENCH_RATE, "with the cache, all entries", rate, "cached", "info",
           BENCH_INFO);
    snprintf(fig, sizeof fig,
             "`need list --status open --site %s` (%llu needs listed), open store + list + "
             "render, median of %d",
             site, (unsigned long long)rows_needs, RB_RUNS);
    {
        double m = rb_median(need_ms, RB_RUNS), r = rb_median(need_raw, RB_RUNS);
        rb_row(fig, m, BENCH_MS, "same rows read raw", r, "raw", "< 20 ms", m < 20);
    }
    snprintf(fig, sizeof fig,
             "`stock show --site %s` (%llu cells), open store + list + render, median of %d", site,
             (unsigned long long)rows_cells, RB_RUNS);
    {
        double m = rb_median(cell_ms, RB_RUNS), r = rb_median(cell_raw, RB_RUNS);
        rb_row(fig, m, BENCH_MS, "same rows read raw", r, "raw", "< 20 ms", m < 20);
    }
    snprintf(fig, sizeof fig,
             "`stock totals` (%llu cells of every site, summed per item), open store + totals + "
             "render, median of %d",
             (unsigned long long)rows_all, RB_RUNS);
    {
        double m = rb_median(tot_ms, RB_RUNS), r = rb_median(tot_raw, RB_RUNS);
        rb_row(fig, m, BENCH_MS, "same cells read raw", r, "raw", "< 20 ms", m < 20);
    }
    snprintf(fig, sizeof fig, "reindex: rebuild every view from %s entries",
             (out_count(c1, rs.entries), c1));
    rb_row(fig, t_re * 1e3, BENCH_MS, "read + decode every entry and op", t_scan * 1e3, "scan",
           "info", BENCH_INFO);
    rc = memcmp(d_live, d_re, AM_HASH_LEN) || memcmp(fp_scan, vs.fingerprint, STORE_VIEW_FP_LEN)
             ? AM_ECORRUPT
             : AM_OK;
out:
    if (rc != AM_OK) {
        char why[96];
        fprintf(stderr, "aidmesh-bench: relief: %s\n", am_strerror(rc));
        snprintf(why, sizeof why, "failed: %s (see stderr)", am_strerror(rc));
        bench_row_target(bench_row_text("relief views benchmark", why), "runs to the end",
                         BENCH_MISSED);
    }
    store_close(s);
    snprintf(dir, sizeof dir, "%s/views", base);
    rb_rmstore(dir);
    rmdir(base);
    rb_src_free(&src);
    rb_src_free(&ign);
    rb_src_free(&uni);
    rb_src_free(&shp);
    fclose(devnull);
    return rc;
}

/* ---- relief growth: the per-entry cost of ingest with views as the store grows ---------- */

#define RB_GROWTH_POINTS 3
#define RB_GROWTH_FULL   5000000ULL /* the largest checkpoint of a default run */
#define RB_GROWTH_QUICK  500000ULL  /* --quick: checkpoints 100k, 200k and this */
#define RB_GROWTH_STEP   500000ULL  /* progress on stderr every so many entries */
/* The growth stores' map, set at open: no timed batch is redone because the map grew
 * (a doubling retries its whole batch); the file only takes what is written. */
#define RB_GROWTH_MAP (64ULL << 30)

struct rb_growth {
    uint64_t lo[RB_GROWTH_POINTS], hi[RB_GROWTH_POINTS]; /* window [lo, hi) of each checkpoint */
    double secs[RB_GROWTH_POINTS];                       /* store_ingest time of its batches */
    double cpu[RB_GROWTH_POINTS];                        /* CPU time (user + system) of those */
    uint64_t batches[RB_GROWTH_POINTS];
    uint64_t loads[RB_GROWTH_POINTS]; /* view objects rebuilt from their record in it */
    double total_s;                   /* the whole ingest */
};

/* Ingests src[0..n) in order into a fresh store in dir (map preset to RB_GROWTH_MAP), per
 * call AM_INGEST_BATCH_MAX entries or RB_BATCH_BYTES as rb_ingest, but never across the
 * edge of a window of g, and adds up the store_ingest time of each window's batches in g.
 * vs (nullable) gets the views' stats at the end. what names the run on stderr. */
static int rb_grow_ingest(const char *dir, const struct rb_src *src, uint64_t n, const char *what,
                          struct rb_growth *g, struct store_view_stats *vs)
{
    struct store_opts so = {0};
    struct store *s = NULL;
    uint64_t note_at = RB_GROWTH_STEP;
    double t_start;
    int rc;

    so.map_initial = RB_GROWTH_MAP;
    if ((rc = store_open(&s, dir, &so)) != AM_OK)
        return rc;
    t_start = rb_now();
    for (uint64_t at = 0; at < n;) {
        struct store_ingest_stats is;
        struct store_view_cache_stats c0 = {0}, c1 = {0};
        struct rusage ru0, ru1;
        uint64_t end = n;
        size_t k = 0, bytes = 0;
        int w = -1;
        double t0;

        for (int i = 0; i < RB_GROWTH_POINTS; i++) {
            if (g->lo[i] > at && g->lo[i] < end)
                end = g->lo[i];
            if (g->hi[i] > at && g->hi[i] < end)
                end = g->hi[i];
            if (at >= g->lo[i] && at < g->hi[i])
                w = i;
        }
        while (at + k < end && k < AM_INGEST_BATCH_MAX &&
               bytes + src->len[at + k] <= RB_BATCH_BYTES)
            bytes += src->len[at + k++];
        if (w >= 0) {
            store_view_cache_stats(s, &c0);
            getrusage(RUSAGE_SELF, &ru0);
        }
        t0 = rb_now();
        rc = store_ingest(s, src->entry + at, src->len + at, k, node_wall_ms(), &is);
        if (w >= 0) {
            g->secs[w] += rb_now() - t0;
            getrusage(RUSAGE_SELF, &ru1);
            g->cpu[w] += rb_tv(&ru1.ru_utime) - rb_tv(&ru0.ru_utime) + rb_tv(&ru1.ru_stime) -
                         rb_tv(&ru0.ru_stime);
            g->batches[w]++;
            store_view_cache_stats(s, &c1);
            g->loads[w] += c1.loads - c0.loads;
        }
        if (rc != AM_OK)
            goto out;
        if (is.added != k || is.invalid_ops) {
            fprintf(stderr,
                    "aidmesh-bench: relief growth (%s) at %llu: added %llu of %zu, %llu invalid\n",
                    what, (unsigned long long)at, (unsigned long long)is.added, k,
                    (unsigned long long)is.invalid_ops);
            rc = AM_ECORRUPT;
            goto out;
        }
        at += k;
        if (at >= note_at || at == n) {
            char c[32];
            out_count(c, at);
            fprintf(stderr, "aidmesh-bench: relief growth (%s): %s entries in the store, %.0f s\n",
                    what, c, rb_now() - t_start);
            while (note_at <= at)
                note_at += RB_GROWTH_STEP;
        }
    }
    g->total_s = rb_now() - t_start;
    for (int i = 0; i < RB_GROWTH_POINTS; i++)
        fprintf(stderr,
                "aidmesh-bench: relief growth (%s): window [%llu, %llu): %llu calls, %.3f s, "
                "CPU %.3f s, %llu view objects rebuilt\n",
                what, (unsigned long long)g->lo[i], (unsigned long long)g->hi[i],
                (unsigned long long)g->batches[i], g->secs[i], g->cpu[i],
                (unsigned long long)g->loads[i]);
    if (vs)
        rc = store_view_stats(s, vs);
out:
    store_close(s);
    return rc;
}

int relief_growth_rows(const char *tmpdir, uint64_t entries, int quick)
{
    /* checkpoints: 100k, 1M, 5M; --quick 100k, 200k, 500k; --entries N below 5M: N/50,
     * N/5, N */
    uint64_t top = entries && entries < RB_GROWTH_FULL ? entries : RB_GROWTH_FULL;
    uint64_t at[RB_GROWTH_POINTS] = {top / 50, top / 5, top};
    uint64_t sites, w, n;
    struct rb_src src = {0};
    struct rb_growth gv, gi;
    struct store_view_stats vs = {0};
    char base[4096], dir[4200], fig[256], cw[160], c0[32], c1[32], c2[32], c3[32], rw[48];
    double us[RB_GROWTH_POINTS], us_ign[RB_GROWTH_POINTS], t_sign = 0, t0;
    int rc = AM_OK;

    memset(&gv, 0, sizeof gv);
    memset(&gi, 0, sizeof gi);
    if (!entries && quick) {
        at[0] = 100000;
        at[1] = 200000;
        at[2] = RB_GROWTH_QUICK;
    }
    bench_section("Relief views as the store grows (per-entry ingest cost)");
    if (at[0] < RB_STORE_MIN) {
        snprintf(fig, sizeof fig,
                 "skipped: --entries %llu puts the first checkpoint (N/50) "
                 "among the definitions; use at least %d",
                 (unsigned long long)entries, 50 * RB_STORE_MIN);
        bench_row_text("relief ingest with views as the store grows", fig);
        return AM_OK;
    }
    /* the shape of the largest size for every checkpoint: its sites (at least one per
     * author), the same 100 items */
    sites = at[2] / 10000 < RB_AUTHORS ? RB_AUTHORS : at[2] / 10000;
    w = at[0] / 2 < AM_INGEST_BATCH_MAX ? at[0] / 2 : AM_INGEST_BATCH_MAX;
    for (int i = 0; i < RB_GROWTH_POINTS; i++) {
        gv.lo[i] = gi.lo[i] = at[i] - w / 2;
        gv.hi[i] = gi.hi[i] = at[i] - w / 2 + w;
    }
    n = gv.hi[RB_GROWTH_POINTS - 1];
    snprintf(base, sizeof base, "%s/aidmesh-relief-growth.XXXXXX", tmpdir);
    if (!mkdtemp(base)) {
        fprintf(stderr, "aidmesh-bench: cannot make a directory under %s: %s\n", tmpdir,
                strerror(errno));
        rc = AM_ESYS;
        goto fail;
    }
    out_count(c0, n);
    fprintf(stderr,
            "aidmesh-bench: relief growth: building %s site-local entries, %llu sites "
            "(signing)\n",
            c0, (unsigned long long)sites);
    t0 = rb_now();
    if ((rc = rb_build(&src, n, sites, 1, 0, 42)) != AM_OK)
        goto out;
    t_sign += rb_now() - t0;
    fprintf(stderr, "aidmesh-bench: relief growth: built in %.1f s; ingest with views\n",
            rb_now() - t0);
    snprintf(dir, sizeof dir, "%s/views", base);
    rc = rb_grow_ingest(dir, &src, n, "views", &gv, &vs);
    rb_rmstore(dir);
    rb_src_free(&src);
    if (rc != AM_OK)
        goto out;
    fprintf(stderr,
            "aidmesh-bench: relief growth: building %s entries of ops the views ignore "
            "(signing)\n",
            c0);
    t0 = rb_now();
    if ((rc = rb_build(&src, n, sites, 1, 1, 42)) != AM_OK)
        goto out;
    t_sign += rb_now() - t0;
    fprintf(stderr,
            "aidmesh-bench: relief growth: built in %.1f s; ingest, ops the views "
            "ignore\n",
            rb_now() - t0);
    snprintf(dir, sizeof dir, "%s/ignored", base);
    rc = rb_grow_ingest(dir, &src, n, "ignored", &gi, NULL);
    rb_rmstore(dir);
    rb_src_free(&src);
    if (rc != AM_OK)
        goto out;

    for (int i = 0; i < RB_GROWTH_POINTS; i++) {
        us[i] = gv.secs[i] * 1e6 / (double)w;
        us_ign[i] = gi.secs[i] * 1e6 / (double)w;
        out_count(c1, at[i]);
        snprintf(fig, sizeof fig,
                 "relief ingest with views, per-entry cost at ~%s entries in the store "
                 "(µs/entry = ms per 1,000 entries)",
                 c1);
        rb_row(fig, us[i], BENCH_MS, "same window, ops the views ignore", us_ign[i], "store alone",
               "info: flatness in the row below", BENCH_INFO);
    }
    out_count(c1, at[0]);
    out_count(c2, at[RB_GROWTH_POINTS - 1]);
    snprintf(fig, sizeof fig,
             "relief ingest with views, per-entry cost at ~%s vs at ~%s entries in the store "
             "(µs/entry)",
             c2, c1);
    snprintf(cw, sizeof cw, "per-entry cost at ~%s (row above)", c1);
    snprintf(rw, sizeof rw, "at ~%s", c1);
    rb_row(fig, us[RB_GROWTH_POINTS - 1], BENCH_MS, cw, us[0], rw, "within ±20% (0.8–1.2×)",
           us[RB_GROWTH_POINTS - 1] >= 0.8 * us[0] && us[RB_GROWTH_POINTS - 1] <= 1.2 * us[0]);
    out_count(c1, w);
    out_count(c2, vs.needs);
    out_count(c3, vs.cells);
    out_count(rw, AM_INGEST_BATCH_MAX);
    bench_note("Relief growth: one site-local workload of %s entries (%d authors), its shape "
               "fixed at the largest checkpoint's: %llu sites (largest / 10,000) and %d items "
               "from the start, so the store grows by more ops on the same cells and by new "
               "needs (at the end %s needs, %s cells). Ingested in order into one fresh store "
               "with views, in calls of at most %s entries or 16 MiB cut at the edges of each "
               "checkpoint's window: the %s entries centred on it, timed (%llu, %llu, %llu "
               "calls; CPU %.2f, %.2f, %.2f µs/entry; view objects rebuilt from their record "
               "%llu, %llu, %llu). Ceiling: the same entries, every op replaced by one of the "
               "same size the views ignore, ingested the same way into a store of its own (last "
               "vs first checkpoint: %.2f×). Maps preset to %llu GiB: no timed call is redone "
               "to grow one. Whole ingests %.1f s and %.1f s; signing %.1f s.",
               c0, RB_AUTHORS, (unsigned long long)sites, RB_ITEMS, c2, c3, rw, c1,
               (unsigned long long)gv.batches[0], (unsigned long long)gv.batches[1],
               (unsigned long long)gv.batches[2], gv.cpu[0] * 1e6 / (double)w,
               gv.cpu[1] * 1e6 / (double)w, gv.cpu[2] * 1e6 / (double)w,
               (unsigned long long)gv.loads[0], (unsigned long long)gv.loads[1],
               (unsigned long long)gv.loads[2], us_ign[RB_GROWTH_POINTS - 1] / us_ign[0],
               RB_GROWTH_MAP >> 30, gv.total_s, gi.total_s, t_sign);
out:
    rmdir(base);
fail:
    rb_src_free(&src);
    if (rc != AM_OK) {
        char why[96];
        fprintf(stderr, "aidmesh-bench: relief growth: %s\n", am_strerror(rc));
        snprintf(why, sizeof why, "failed: %s (see stderr)", am_strerror(rc));
        bench_row_target(bench_row_text("relief ingest with views as the store grows", why),
                         "runs to the end", BENCH_MISSED);
    }
    return rc;
}
