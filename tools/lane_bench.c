/*
 * lane_bench.c: the "critical first" rows of aidmesh-bench (lane_bench_rows, declared in
 * bench_report.h): what a contact cut short carries of the open critical needs, with the
 * priority lane (PROTOCOL.md 8.4) and without it (the logs in order).
 *
 * Workload: the site-local relief mix of relief_bench.c (relief_bench_store: 10 authors
 * round robin; needs of all four priorities opened, delivered, re-prioritised and closed
 * all through the logs; stock moves and counts), N entries in the sender's store. The
 * receiver is an empty store. Two sync engines run in this thread over memory (the
 * sender is the responder); the sender's output after its handshake is counted, and the
 * contact is cut once it reaches 10% of the backlog's bytes (the raw bytes of its
 * entries): nothing more of the sender's output reaches the receiver, whose own output
 * still flows until nothing moves.
 *
 * Figures: the sender's open critical needs (query_needs) that the receiver shows open
 * and critical after the cut, with the lane (syncstore_init's members) and with it off
 * (sync_store lane and lane_ingest NULL on both sides: the log-order baseline), each on
 * a fresh receiver; the lane's cost: the bytes of the LANE messages of the cut contact
 * (frames as the engine writes them: 2-byte length, 16-byte tag, 7-byte header, 3 bytes
 * per entry before its bytes), counted from what the receiver's lane_ingest is handed.
 * By stick: the sender syncs with an empty folder as a stick whose export budget is the
 * same 10%, with the lane and without it (its sync_store lane NULL), and a fresh receiver
 * imports the stick; the rows count its open critical needs as above.
 * Check: each receiver then has a whole contact with the sender; it must hold every entry,
 * nothing left in its lane, and the same views digest, else the rows say failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "am_err.h"
#include "bench_parts.h"
#include "bench_report.h"
#include "bench_util.h"
#include "cli.h"
#include "node.h"
#include "out.h"
#include "query.h"
#include "stick.h"
#include "stick_node.h"

#define LB_CHUNK      16384        /* bytes moved per feed */
#define LB_CUT_PERMIL 100          /* the contact is cut after this share of the backlog's bytes */
#define LB_TARGET     0.90         /* share of the critical open needs a cut contact must carry */
#define LB_FRAME      (2 + 16 + 7) /* a LANE message's frame and header bytes */
#define LB_PER_ENTRY  3            /* bin 16 header of each entry in a LANE message */

struct lb_side {
    struct store *st;
    struct sync_store ss, base; /* ss: what the session uses (base with changes) */
    uint8_t sk[AM_SK_LEN], pk[AM_PK_LEN];
    uint8_t install[AM_INSTALL_ID_LEN];
    struct sync_session sess;
    uint64_t lane_msgs, lane_entries, lane_bytes; /* as handed to lane_ingest */
};

struct lb_run {
    uint64_t cut_bytes;   /* sender output after its handshake, in the cut contact */
    uint64_t shown;       /* of the sender's critical open needs, shown by the receiver */
    uint64_t rcv_entries; /* entries in the receiver's logs after the cut */
    uint64_t rcv_lane;    /* and in its lane */
    uint64_t lane_out;    /* lane entries the sender sent */
    uint64_t lane_msgs, lane_bytes;
    uint64_t whole_bytes; /* sender output after its handshake, in the whole contact */
};

/* The receiver whose LANE messages are counted: one sync at a time, in this thread. Every
 * member of a sync_store shares its one context (the store), so the wrapper finds its
 * side here rather than through ctx. */
static struct lb_side *lb_counted;

static int lb_lane_ingest(void *ctx, const uint8_t *const *raw, const size_t *lens, size_t n,
                          uint64_t *added)
{
    struct lb_side *p = lb_counted;
    if (!p)
        return AM_EINVAL;
    if (ctx == p->base.ctx) {
        p->lane_msgs++;
        p->lane_entries += n;
        p->lane_bytes += LB_FRAME;
        for (size_t i = 0; i < n; i++)
            p->lane_bytes += LB_PER_ENTRY + lens[i];
    }
    /* every side's base.lane_ingest is syncstore's one function */
    return p->base.lane_ingest(ctx, raw, lens, n, added);
}

static int lb_open(struct lb_side *p, const char *dir)
{
    int rc;
    memset(p, 0, sizeof *p);
    if ((rc = store_open(&p->st, dir, NULL)) != AM_OK)
        return rc;
    syncstore_init(&p->base, p->st);
    store_install_id(p->st, p->install, NULL);
    crypto_sign_keypair(p->pk, p->sk);
    return AM_OK;
}

static void lb_close(struct lb_side *p)
{
    sync_free(&p->sess);
    store_close(p->st);
    p->st = NULL;
    sodium_memzero(p->sk, sizeof p->sk);
}

/* A new session of p; lane 0: the lane members NULL. */
static int lb_start(struct lb_side *p, int initiator, int lane, const uint8_t *netkey)
{
    struct sync_config c = {
        .initiator = initiator,
        .netkey = netkey,
        .sk = p->sk,
        .install_id = p->install,
        .store = &p->ss,
    };
    sync_free(&p->sess);
    memset(&p->sess, 0, sizeof p->sess);
    p->ss = p->base;
    if (lane) {
        p->ss.lane_ingest = p->base.lane_ingest ? lb_lane_ingest : NULL;
    } else {
        p->ss.lane = NULL;
        p->ss.lane_ingest = NULL;
    }
    return sync_init(&p->sess, &c);
}

/* Moves bytes both ways until nothing moves; of the sender's output after its handshake at
 * most budget bytes go (then the contact is cut). *after: those bytes. */
static int lb_pump(struct lb_side *snd, struct lb_side *rcv, uint64_t budget, uint64_t *after)
{
    *after = 0;
    for (int idle = 0; idle < 2;) {
        int any = 0;
        for (int d = 0; d < 2; d++) {
            struct lb_side *from = d ? rcv : snd, *to = d ? snd : rcv;
            int counted = !d && (sync_state(&snd->sess) & SYNC_HANDSHAKEN);
            size_t n, chunk;
            const uint8_t *out = sync_output(&from->sess, &n);
            if (n == 0 || (sync_state(&to->sess) & SYNC_CLOSED))
                continue;
            chunk = n < LB_CHUNK ? n : LB_CHUNK;
            if (counted && chunk > budget - *after)
                chunk = (size_t)(budget - *after);
            if (chunk == 0)
                continue;
            sync_feed(&to->sess, out, chunk);
            sync_flush(&to->sess);
            sync_output_done(&from->sess, chunk);
            if (counted)
                *after += chunk;
            any = 1;
        }
        idle = any ? 0 : idle + 1;
    }
    if (sync_error(&snd->sess) != AM_OK || sync_error(&rcv->sess) != AM_OK) {
        fprintf(stderr, "aidmesh-bench: critical first: a session ended with %s / %s\n",
                am_strerror(sync_error(&snd->sess)), am_strerror(sync_error(&rcv->sess)));
        return sync_error(&snd->sess) != AM_OK ? sync_error(&snd->sess) : sync_error(&rcv->sess);
    }
    return AM_OK;
}

static int lb_id_cmp(const void *a, const void *b)
{
    return memcmp(a, b, RELIEF_ID_LEN);
}

/* The ids of the open critical needs of s (sorted, malloc'd) or, with `of`, how many of
 * s's are among the nof ids of `of`. */
static int lb_critical(struct store *s, uint8_t (**ids)[RELIEF_ID_LEN], uint64_t *n,
                       const uint8_t (*of)[RELIEF_ID_LEN], uint64_t nof)
{
    struct query *q;
    const struct query_need *rows;
    size_t nr;
    struct query_need_filter f = {.status = RELIEF_ST_OPEN, .priority = RELIEF_PRI_CRITICAL};
    int rc = query_open(s, 0, &q);
    if (rc != AM_OK)
        return rc;
    if ((rc = query_needs(q, &f, &rows, &nr)) != AM_OK)
        goto out;
    *n = 0;
    if (!of) {
        if (!(*ids = malloc((nr ? nr : 1) * sizeof **ids))) {
            rc = AM_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < nr; i++)
            memcpy((*ids)[i], rows[i].v.id, RELIEF_ID_LEN);
        qsort(*ids, nr, RELIEF_ID_LEN, lb_id_cmp);
        *n = nr;
    } else {
        for (size_t i = 0; i < nr; i++)
            *n += bsearch(rows[i].v.id, of, (size_t)nof, RELIEF_ID_LEN, lb_id_cmp) != NULL;
    }
out:
    query_close(q);
    return rc;
}

struct lb_bytes {
    struct store *st;
    uint64_t bytes, entries;
    int rc;
};

static int lb_entry_bytes(void *ctx, const uint8_t *raw, size_t len)
{
    struct lb_bytes *b = ctx;
    (void)raw;
    b->bytes += len;
    b->entries++;
    return 0;
}

static int lb_head_bytes(void *ctx, const struct store_head *h)
{
    struct lb_bytes *b = ctx;
    int rc = store_entries_each(b->st, h->log, h->first_seq, lb_entry_bytes, b);
    if (rc < 0) {
        b->rc = rc;
        return 1;
    }
    return 0;
}

/* One run: a fresh receiver in dir, a contact cut after `cut` bytes, then a whole one. */
static int lb_run(struct lb_side *snd, const char *dir, int lane, uint64_t cut,
                  const uint8_t (*crit)[RELIEF_ID_LEN], uint64_t ncrit, uint64_t want_entries,
                  const uint8_t *netkey, struct lb_run *res)
{
    struct lb_side *rcv = malloc(sizeof *rcv);
    struct store_stats st;
    uint8_t d1[AM_HASH_LEN], d2[AM_HASH_LEN];
    int rc, opened = 0;

    memset(res, 0, sizeof *res);
    if (!rcv)
        return AM_ENOMEM;
    if ((rc = lb_open(rcv, dir)) != AM_OK)
        goto out;
    opened = 1;
    lb_counted = rcv;
    if ((rc = lb_start(snd, 0, lane, netkey)) != AM_OK ||
        (rc = lb_start(rcv, 1, lane, netkey)) != AM_OK)
        goto out;
    if ((rc = lb_pump(snd, rcv, cut, &res->cut_bytes)) != AM_OK)
        goto out;
    res->lane_out = snd->sess.stats.lane_out;
    res->lane_msgs = rcv->lane_msgs;
    res->lane_bytes = rcv->lane_bytes;
    if ((rc = lb_critical(rcv->st, NULL, &res->shown, crit, ncrit)) != AM_OK ||
        (rc = store_stats(rcv->st, &st)) != AM_OK)
        goto out;
    res->rcv_entries = st.entries;
    res->rcv_lane = st.lane;

    /* the whole contact: everything, the lane taken over by the logs, the same views */
    if ((rc = lb_start(snd, 0, lane, netkey)) != AM_OK ||
        (rc = lb_start(rcv, 1, lane, netkey)) != AM_OK)
        goto out;
    if ((rc = lb_pump(snd, rcv, UINT64_MAX, &res->whole_bytes)) != AM_OK)
        goto out;
    if ((rc = store_stats(rcv->st, &st)) != AM_OK ||
        (rc = store_views_digest(snd->st, d1)) != AM_OK ||
        (rc = store_views_digest(rcv->st, d2)) != AM_OK)
        goto out;
    if (!(sync_state(&rcv->sess) & SYNC_IN_SYNC) || st.entries != want_entries || st.lane != 0 ||
        memcmp(d1, d2, AM_HASH_LEN) != 0) {
        fprintf(stderr,
                "aidmesh-bench: critical first (lane %s): after a whole contact the receiver "
                "holds %llu of %llu entries, %llu in its lane, %s, views digest %s\n",
                lane ? "on" : "off", (unsigned long long)st.entries,
                (unsigned long long)want_entries, (unsigned long long)st.lane,
                sync_state(&rcv->sess) & SYNC_IN_SYNC ? "in sync" : "not in sync",
                memcmp(d1, d2, AM_HASH_LEN) ? "differs from the sender's" : "equal");
        rc = AM_ECORRUPT;
    }
out:
    sync_free(&snd->sess);
    memset(&snd->sess, 0, sizeof snd->sess);
    lb_counted = NULL;
    if (opened)
        lb_close(rcv);
    free(rcv);
    bench_rm_tree(dir);
    return rc;
}

/* A stick that takes at most `cut` bytes from the sender, then goes to a fresh receiver in
 * dir: *shown of the ncrit critical needs it shows, *lane_out lane entries written. */
static int lb_stick(struct lb_side *snd, const char *tmp, const char *dir, int lane, uint64_t cut,
                    const uint8_t (*crit)[RELIEF_ID_LEN], uint64_t ncrit, const uint8_t *netkey,
                    uint64_t *shown, uint64_t *lane_out)
{
    struct lb_side *rcv = malloc(sizeof *rcv);
    struct stick_report *r = malloc(sizeof *r);
    struct stick_cfg c;
    struct sync_store ss;
    char stick[4200];
    int rc, opened = 0;

    if (!rcv || !r) {
        rc = AM_ENOMEM;
        goto out;
    }
    snprintf(stick, sizeof stick, "%s/lane-stick", tmp);
    bench_rm_tree(stick);
    if (mkdir(stick, 0700) != 0) {
        rc = AM_ESYS;
        goto out;
    }
    memset(&c, 0, sizeof c);
    c.fops = &stick_fops_posix;
    c.now_ms = node_wall_ms();
    c.root = stick;
    c.netkey = netkey;
    c.install_id = snd->install;
    c.author = snd->pk;
    c.flags = STICK_F_CREATE;
    c.max_bytes = cut;
    ss = snd->base;
    if (!lane)
        ss.lane = NULL;
    if ((rc = stick_sync(&c, &ss, r)) != AM_OK)
        goto out;
    *lane_out = r->lane_out;
    if ((rc = lb_open(rcv, dir)) != AM_OK)
        goto out;
    opened = 1;
    c.install_id = rcv->install;
    c.author = rcv->pk;
    c.max_bytes = 0;
    c.flags = STICK_F_NO_WRITE;
    ss = rcv->base;
    if (!lane)
        ss.lane_ingest = NULL;
    if ((rc = stick_sync(&c, &ss, r)) != AM_OK)
        goto out;
    rc = lb_critical(rcv->st, NULL, shown, crit, ncrit);
out:
    if (opened)
        lb_close(rcv);
    free(rcv);
    free(r);
    bench_rm_tree(dir);
    bench_rm_tree(stick);
    return rc;
}

static void lb_failed(const char *figure, int rc)
{
    char why[128];
    snprintf(why, sizeof why, "failed: %s (see stderr)", am_strerror(rc));
    bench_row_target(bench_row_text(figure, why), "runs to the end", BENCH_MISSED);
}

int lane_bench_rows(const char *tmp, uint64_t n)
{
    char dir[4200], rdir[4200], fig[256], cn[32], cc[32], tgt[48];
    struct lb_side *snd = malloc(sizeof *snd);
    struct lb_run run[2];                         /* [0] lane off, [1] lane on */
    uint64_t st_shown[2] = {0}, st_lane[2] = {0}; /* a stick filled at the cut, off and on */
    uint8_t(*crit)[RELIEF_ID_LEN] = NULL;
    uint8_t netkey[AM_NETKEY_LEN];
    uint64_t ncrit = 0, cut;
    struct lb_bytes bb = {0};
    struct store_stats sst;
    struct bench_row *r;
    double t0 = bench_now_s();
    int rc, opened = 0;

    bench_section("Critical first: a contact cut short (the priority lane: a sync in memory, a "
                  "stick in a folder)");
    out_count(cn, n);
    snprintf(fig, sizeof fig,
             "critical first: open critical needs the receiver shows after a contact cut at "
             "%d%% of a %s-entry relief backlog's bytes",
             LB_CUT_PERMIL / 10, cn);
    if (!snd) {
        lb_failed(fig, AM_ENOMEM);
        return AM_ENOMEM;
    }
    randombytes_buf(netkey, sizeof netkey);
    snprintf(dir, sizeof dir, "%s/lane-sender", tmp);
    snprintf(rdir, sizeof rdir, "%s/lane-receiver", tmp);
    if ((rc = relief_bench_store(dir, n)) != AM_OK || (rc = lb_open(snd, dir)) != AM_OK)
        goto out;
    opened = 1;
    bb.st = snd->st;
    if ((rc = store_heads_each(snd->st, lb_head_bytes, &bb)) != AM_OK || (rc = bb.rc) != AM_OK)
        goto out;
    if ((rc = store_stats(snd->st, &sst)) != AM_OK)
        goto out;
    if (bb.entries != n || sst.entries != n) {
        fprintf(stderr, "aidmesh-bench: critical first: the sender holds %llu entries, not %llu\n",
                (unsigned long long)bb.entries, (unsigned long long)n);
        rc = AM_ECORRUPT;
        goto out;
    }
    if ((rc = lb_critical(snd->st, &crit, &ncrit, NULL, 0)) != AM_OK)
        goto out;
    if (ncrit == 0) {
        fprintf(stderr, "aidmesh-bench: critical first: the sender has no open critical need\n");
        rc = AM_ECORRUPT;
        goto out;
    }
    cut = bb.bytes * LB_CUT_PERMIL / 1000;
    for (int lane = 0; lane < 2; lane++) {
        fprintf(stderr, "aidmesh-bench: critical first: lane %s, cut at %llu bytes\n",
                lane ? "on" : "off", (unsigned long long)cut);
        if ((rc = lb_run(snd, rdir, lane, cut, (const uint8_t(*)[RELIEF_ID_LEN])crit, ncrit,
                         bb.entries, netkey, &run[lane])) != AM_OK)
            goto out;
        fprintf(stderr, "aidmesh-bench: critical first: a stick of %llu bytes, lane %s\n",
                (unsigned long long)cut, lane ? "on" : "off");
        if ((rc = lb_stick(snd, tmp, rdir, lane, cut, (const uint8_t(*)[RELIEF_ID_LEN])crit, ncrit,
                           netkey, &st_shown[lane], &st_lane[lane])) != AM_OK)
            goto out;
    }

    out_count(cc, ncrit);
    r = bench_row_add(fig, (double)run[1].shown, BENCH_COUNT);
    bench_row_ceiling(r, "the sender's open critical needs", (double)ncrit, BENCH_COUNT,
                      "sender's");
    snprintf(tgt, sizeof tgt, "≥ %.2f× sender's", LB_TARGET);
    bench_row_target(r, tgt,
                     (double)run[1].shown >= LB_TARGET * (double)ncrit ? BENCH_MET : BENCH_MISSED);
    r = bench_row_add("the same, lane off (logs in order: the baseline)", (double)run[0].shown,
                      BENCH_COUNT);
    bench_row_ceiling(r, "the sender's open critical needs", (double)ncrit, BENCH_COUNT,
                      "sender's");
    bench_row_target(r, "info: log-order baseline", BENCH_INFO);
    r = bench_row_add("the same by stick: open critical needs the next site shows after a stick "
                      "that takes 10% of the backlog's bytes",
                      (double)st_shown[1], BENCH_COUNT);
    bench_row_ceiling(r, "the sender's open critical needs", (double)ncrit, BENCH_COUNT,
                      "sender's");
    bench_row_target(r, tgt,
                     (double)st_shown[1] >= LB_TARGET * (double)ncrit ? BENCH_MET : BENCH_MISSED);
    r = bench_row_add("the same by stick, lane off (LANE records not written: the baseline)",
                      (double)st_shown[0], BENCH_COUNT);
    bench_row_ceiling(r, "the sender's open critical needs", (double)ncrit, BENCH_COUNT,
                      "sender's");
    bench_row_target(r, "info: log-order baseline", BENCH_INFO);
    r = bench_row_add("lane entries sent in that contact", (double)run[1].lane_out, BENCH_COUNT);
    bench_row_ceiling(r, "a session's cap (SYNC_LANE_MAX)", (double)SYNC_LANE_MAX, BENCH_COUNT,
                      "cap");
    bench_row_target(r, "info", BENCH_INFO);
    r = bench_row_add("the lane's cost: bytes of LANE messages in that contact",
                      (double)run[1].lane_bytes, BENCH_BYTES);
    bench_row_ceiling(r, "sender output after the handshake (the cut)", (double)run[1].cut_bytes,
                      BENCH_BYTES, "contact");
    bench_row_target(r, "info", BENCH_INFO);
    bench_note("Critical first: the relief mix of relief_bench.c (%s entries, %llu authors, "
               "%llu raw bytes; %s needs open at priority critical) sent by one sync engine to "
               "another over memory, to an empty receiver each time, cut when the sender's output "
               "after its handshake reached %llu B (%d%% of the raw backlog). Lane on: %llu lane "
               "entries in %llu LANE messages (at most %d a session; LANE_OFFER and LANE_WANT not "
               "counted), the receiver then held %llu entries in its logs and %llu in its lane; "
               "lane off: %llu in its logs. A whole contact afterwards (sender output: lane on "
               "%llu B, off %llu B) left each receiver with every entry, an empty lane and the "
               "sender's views digest. By stick: the sender's stick sync with an export budget "
               "of the same %llu B (LANE records: %llu entries; none with the lane off), then "
               "the next site's import. %.1f s in all.",
               cn, (unsigned long long)sst.authors, (unsigned long long)bb.bytes, cc,
               (unsigned long long)cut, LB_CUT_PERMIL / 10, (unsigned long long)run[1].lane_out,
               (unsigned long long)run[1].lane_msgs, SYNC_LANE_MAX,
               (unsigned long long)run[1].rcv_entries, (unsigned long long)run[1].rcv_lane,
               (unsigned long long)run[0].rcv_entries, (unsigned long long)run[1].whole_bytes,
               (unsigned long long)run[0].whole_bytes, (unsigned long long)cut,
               (unsigned long long)st_lane[1], bench_now_s() - t0);
out:
    if (rc != AM_OK) {
        bench_fail("critical first", rc);
        lb_failed(fig, rc);
    }
    if (opened)
        lb_close(snd);
    free(snd);
    free(crit);
    bench_rm_tree(dir);
    return rc;
}
