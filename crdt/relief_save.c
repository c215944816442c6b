/*
 * relief_save.c: the cell record (PROTOCOL.md section 7.1), a stock cell's set of moves
 * and counts in a few bytes per op, so a store rebuilds a cell from its views value alone
 * instead of reading every entry that touched it. Canonical: one encoding per set.
 * Pure: no I/O, never prints; loading goes through relief_obj_apply, so a loaded cell is
 * exactly the cell its ops make.
 */
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_varint.h"
#include "relief_int.h"

/* Kinds of a cell record's op beyond the reasons (1 .. 8) and the count (0): a shipment's
 * dispatch or receipt (PROTOCOL.md 7.1). */
#define CELL_KIND_DSP 9
#define CELL_KIND_RCV 10

/* ---- save ---- */

/* One op of the cell, for sorting: tag RELIEF_TAG_M or RELIEF_TAG_C, index into o->m / o->c;
 * rank: its author's place in the record. */
struct sop {
    uint64_t seq, hlc;
    uint32_t rank, idx, tag;
};

static int sop_cmp(const void *a, const void *b)
{
    const struct sop *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int run_sorted(const struct sop *r, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)
        if (r[i].seq <= r[i - 1].seq)
            return 0;
    return 1;
}

/* Sorts ops[0..n) (ranks below nranks) by (rank, seq). Each author's moves, and each
 * author's counts, usually arrived in seq order: then a counting pass by (rank, kind) and
 * a merge of the two runs of each author take O(n); a run out of order is sorted. */
static int sort_ops(struct sop *ops, uint32_t n, uint32_t nranks)
{
    struct sop *tmp = malloc((size_t)n * sizeof *tmp);
    uint32_t *at = calloc((size_t)nranks * 2 + 1, sizeof *at);
    if (!tmp || !at) {
        free(tmp);
        free(at);
        return AM_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++)
        at[ops[i].rank * 2 + (ops[i].tag == RELIEF_TAG_C) + 1]++;
    for (uint32_t b = 1; b <= nranks * 2; b++)
        at[b] += at[b - 1];
    for (uint32_t i = 0; i < n; i++) /* stable: arrival order within a run */
        tmp[at[ops[i].rank * 2 + (ops[i].tag == RELIEF_TAG_C)]++] = ops[i];
    /* now at[b] is the end of run b */
    for (uint32_t r = 0, lo = 0; r < nranks; r++) {
        uint32_t mid = at[r * 2], hi = at[r * 2 + 1], i = lo, j = mid, k = lo;
        if (run_sorted(tmp + lo, mid - lo) && run_sorted(tmp + mid, hi - mid)) {
            while (i < mid || j < hi)
                ops[k++] = j == hi || (i < mid && tmp[i].seq < tmp[j].seq) ? tmp[i++] : tmp[j++];
        } else {
            memcpy(ops + lo, tmp + lo, (size_t)(hi - lo) * sizeof *ops);
            qsort(ops + lo, hi - lo, sizeof *ops, sop_cmp);
        }
        lo = hi;
    }
    free(tmp);
    free(at);
    return AM_OK;
}

/* Zigzag of cur - prev modulo 2^64: small either way, and exact for any two values. */
static uint64_t zz(uint64_t cur, uint64_t prev)
{
    uint64_t d = cur - prev;
    return (d << 1) ^ (0 - (d >> 63));
}

static uint64_t unzz(uint64_t v, uint64_t prev)
{
    return prev + ((v >> 1) ^ (0 - (v & 1)));
}

/* Ascending author bytes of the object's author indexes in aidx[0..n). */
static int aidx_cmp(const void *a, const void *b, void *o)
{
    const struct relief_obj *ob = o;
    return memcmp(ob->authors[*(const uint32_t *)a], ob->authors[*(const uint32_t *)b], AM_PK_LEN);
}

int relief_cell_save(const struct relief_obj *o, uint8_t *buf, size_t cap, size_t *len)
{
    uint32_t nops = o->n_m + o->n_c + o->n_sr, na = 0, nx = 0, k = 0;
    struct sop *ops = NULL;
    uint32_t *order = NULL, *rank = NULL; /* record index -> aidx; aidx -> record index */
    uint8_t *used = NULL;                 /* per aidx: 1 has ops, 2 only in contexts */
    size_t need;
    uint8_t *p;
    int rc = AM_ENOMEM;

    *len = 0;
    if (o->key.kind != RELIEF_OBJ_CELL)
        return AM_EINVAL;
    if (o->n_authors) {
        order = malloc((size_t)o->n_authors * sizeof *order);
        rank = malloc((size_t)o->n_authors * sizeof *rank);
        used = calloc(o->n_authors, 1);
    }
    if (nops)
        ops = malloc((size_t)nops * sizeof *ops);
    if ((o->n_authors && (!order || !rank || !used)) || (nops && !ops))
        goto out;

    /* the authors of ops first, then those named only by contexts, each group ascending */
    for (uint32_t i = 0; i < o->n_m; i++)
        used[o->m[i].aidx] = 1;
    for (uint32_t i = 0; i < o->n_c; i++)
        used[o->c[i].aidx] = 1;
    for (uint32_t i = 0; i < o->n_sr; i++)
        used[o->sr[i].aidx] = 1;
    for (uint32_t i = 0; i < o->n_c; i++)
        for (uint32_t j = 0; j < o->c[i].ctx_n; j++) {
            uint32_t a = o->arefs[o->c[i].ctx_off + j].aidx;
            if (!used[a])
                used[a] = 2;
        }
    for (uint32_t a = 0; a < o->n_authors; a++)
        na += used[a] == 1;
    for (uint32_t a = 0, i = 0, j = na; a < o->n_authors; a++) {
        if (used[a] == 1)
            order[i++] = a;
        else if (used[a] == 2)
            order[j++] = a;
    }
    for (uint32_t a = 0; a < o->n_authors; a++)
        nx += used[a] == 2;
    if (na > 1)
        qsort_r(order, na, sizeof *order, aidx_cmp, (void *)o);
    if (nx > 1)
        qsort_r(order + na, nx, sizeof *order, aidx_cmp, (void *)o);
    for (uint32_t i = 0; i < na + nx; i++)
        rank[order[i]] = i;

    /* the ops by (author, seq) */
    for (uint32_t i = 0; i < o->n_m; i++)
        ops[k++] = (struct sop){o->m[i].seq, o->m[i].hlc, rank[o->m[i].aidx], i, RELIEF_TAG_M};
    for (uint32_t i = 0; i < o->n_c; i++)
        ops[k++] = (struct sop){o->c[i].seq, o->c[i].hlc, rank[o->c[i].aidx], i, RELIEF_TAG_C};
    for (uint32_t i = 0; i < o->n_sr; i++) /* shipment records: with the moves' run */
        ops[k++] = (struct sop){o->sr[i].seq, o->sr[i].hlc, rank[o->sr[i].aidx], i, RELIEF_TAG_W};
    if (nops > 1 && sort_ops(ops, nops, na) != AM_OK)
        goto out;

    /* size */
    need = am_varint_len(na) + am_varint_len(nx) + (size_t)(na + nx) * AM_PK_LEN;
    for (uint32_t i = 0; i < nops;) {
        uint32_t j = i;
        while (j < nops && ops[j].rank == ops[i].rank)
            j++;
        need += am_varint_len(j - i);
        for (uint32_t x = i; x < j; x++) {
            const struct sop *s = &ops[x];
            need += am_varint_len(x == i ? s->seq : s->seq - ops[x - 1].seq) + 1 +
                    am_varint_len(x == i ? s->hlc : zz(s->hlc, ops[x - 1].hlc));
            if (s->tag == RELIEF_TAG_M) {
                const struct relief_mrec *m = &o->m[s->idx];
                need += am_varint_len((uint64_t)(m->delta < 0 ? -m->delta : m->delta));
            } else if (s->tag == RELIEF_TAG_W) {
                need += RELIEF_ID_LEN + am_varint_len((uint64_t)o->sr[s->idx].q);
            } else {
                const struct relief_crec *c = &o->c[s->idx];
                need += am_varint_len((uint64_t)c->q) + am_varint_len(c->ctx_n);
                for (uint32_t y = 0; y < c->ctx_n; y++) {
                    const struct relief_aref *r = &o->arefs[c->ctx_off + y];
                    need += am_varint_len(rank[r->aidx]) + am_varint_len(r->seq);
                }
            }
        }
        i = j;
    }
    *len = need;
    if (need > cap) {
        rc = AM_ELIMIT;
        goto out;
    }

    p = am_varint_put(buf, na);
    p = am_varint_put(p, nx);
    for (uint32_t i = 0; i < na + nx; i++) {
        memcpy(p, o->authors[order[i]], AM_PK_LEN);
        p += AM_PK_LEN;
    }
    for (uint32_t i = 0; i < nops;) {
        uint32_t j = i;
        while (j < nops && ops[j].rank == ops[i].rank)
            j++;
        p = am_varint_put(p, j - i);
        for (uint32_t x = i; x < j; x++) {
            const struct sop *s = &ops[x];
            p = am_varint_put(p, x == i ? s->seq : s->seq - ops[x - 1].seq);
            p = am_varint_put(p, x == i ? s->hlc : zz(s->hlc, ops[x - 1].hlc));
            if (s->tag == RELIEF_TAG_M) {
                const struct relief_mrec *m = &o->m[s->idx];
                *p++ = (uint8_t)m->reason; /* 1 .. 8 */
                p = am_varint_put(p, (uint64_t)(m->delta < 0 ? -m->delta : m->delta));
            } else if (s->tag == RELIEF_TAG_W) { /* 9 a dispatch, 10 a receipt */
                const struct relief_srec *r = &o->sr[s->idx];
                *p++ = (uint8_t)(r->rcv ? CELL_KIND_RCV : CELL_KIND_DSP);
                memcpy(p, r->ship, RELIEF_ID_LEN);
                p += RELIEF_ID_LEN;
                p = am_varint_put(p, (uint64_t)r->q);
            } else {
                const struct relief_crec *c = &o->c[s->idx];
                *p++ = 0; /* a count */
                p = am_varint_put(p, (uint64_t)c->q);
                p = am_varint_put(p, c->ctx_n);
                for (uint32_t y = 0; y < c->ctx_n; y++) {
                    const struct relief_aref *r = &o->arefs[c->ctx_off + y];
                    p = am_varint_put(p, rank[r->aidx]);
                    p = am_varint_put(p, r->seq);
                }
            }
        }
        i = j;
    }
    rc = (size_t)(p - buf) == need ? AM_OK : AM_ECORRUPT;
out:
    free(ops);
    free(order);
    free(rank);
    free(used);
    return rc;
}

/* ---- load ---- */

int relief_cell_load(struct relief_obj *o, const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len, *authors;
    const struct relief_key *k = &o->key;
    struct relief_ref *ctx = NULL;
    uint64_t na, nx, n, seq, v, hlc = 0;
    struct relief_op op;
    int rc = AM_ECORRUPT;

    if (k->kind != RELIEF_OBJ_CELL)
        return AM_EINVAL;
    if (am_varint_get(&p, end, &na) != AM_OK || am_varint_get(&p, end, &nx) != AM_OK ||
        na > (uint64_t)(end - p) / AM_PK_LEN || nx > (uint64_t)(end - p) / AM_PK_LEN - na)
        return AM_ECORRUPT;
    authors = p;
    p += (na + nx) * AM_PK_LEN;

    memset(&op, 0, sizeof op);
    op.site = (struct relief_str){k->site, (uint32_t)strlen(k->site)};
    op.item = (struct relief_str){k->item, (uint32_t)strlen(k->item)};
    if (k->lot[0]) {
        op.lot = (struct relief_str){k->lot, (uint32_t)strlen(k->lot)};
        op.has |= RELIEF_HAS(RELIEF_K_LOT);
    }
    if (k->exp) {
        op.exp = k->exp;
        op.has |= RELIEF_HAS(RELIEF_K_EXP);
    }
    for (uint64_t a = 0; a < na; a++) {
        struct relief_ref ref;
        memcpy(ref.author, authors + a * AM_PK_LEN, AM_PK_LEN);
        if (am_varint_get(&p, end, &n) != AM_OK || n == 0)
            goto out;
        seq = 0;
        for (uint64_t i = 0; i < n; i++) {
            uint8_t kind;
            if (am_varint_get(&p, end, &v) != AM_OK || (i && v == 0) || seq + v < seq)
                goto out;
            seq += v;
            ref.seq = seq;
            if (am_varint_get(&p, end, &v) != AM_OK || p >= end)
                goto out;
            hlc = i == 0 ? v : unzz(v, hlc);
            kind = *p++;
            if (kind == CELL_KIND_DSP || kind == CELL_KIND_RCV) {
                const uint8_t *ship = p;
                uint64_t q;
                if ((size_t)(end - p) < RELIEF_ID_LEN)
                    goto out;
                p += RELIEF_ID_LEN;
                if (am_varint_get(&p, end, &q) != AM_OK ||
                    q > (uint64_t)RELIEF_LINES_MAX * RELIEF_QTY_MAX)
                    goto out;
                rc = relief_cell_apply_ship(o, ship, kind == CELL_KIND_RCV, &ref, hlc, (int64_t)q);
                if (rc != AM_OK) {
                    if (rc != AM_ENOMEM)
                        rc = AM_ECORRUPT;
                    goto out;
                }
                rc = AM_ECORRUPT;
                continue;
            }
            if (kind > RELIEF_R_DAMAGED)
                goto out;
            op.type = kind ? RELIEF_T_STOCK_MOVE : RELIEF_T_STOCK_COUNT;
            op.reason = kind;
            op.ctx.n = 0;
            op.ctx.arr = NULL;
            {
                uint64_t q;
                if (am_varint_get(&p, end, &q) != AM_OK || q > RELIEF_QTY_MAX)
                    goto out;
                op.q = (int64_t)q;
                if (!kind) {
                    uint64_t nc;
                    if (am_varint_get(&p, end, &nc) != AM_OK || nc > RELIEF_REFS_MAX)
                        goto out;
                    if (nc) {
                        struct relief_ref *c2 = realloc(ctx, (size_t)nc * sizeof *ctx);
                        if (!c2) {
                            rc = AM_ENOMEM;
                            goto out;
                        }
                        ctx = c2;
                    }
                    for (uint64_t y = 0; y < nc; y++) {
                        uint64_t ai;
                        if (am_varint_get(&p, end, &ai) != AM_OK || ai >= na + nx ||
                            am_varint_get(&p, end, &ctx[y].seq) != AM_OK)
                            goto out;
                        memcpy(ctx[y].author, authors + ai * AM_PK_LEN, AM_PK_LEN);
                    }
                    op.ctx.n = (uint32_t)nc;
                    op.ctx.arr = ctx;
                }
                rc = relief_obj_apply(o, &op, &ref, hlc, NULL);
                if (rc != AM_OK) {
                    if (rc != AM_ENOMEM)
                        rc = AM_ECORRUPT;
                    goto out;
                }
                rc = AM_ECORRUPT;
            }
        }
    }
    rc = p == end ? AM_OK : AM_ECORRUPT;
out:
    free(ctx);
    return rc;
}

int relief_cell_record_authors(const uint8_t *p, size_t len, const uint8_t **authors, uint32_t *n)
{
    const uint8_t *end = p + len;
    uint64_t na, nx;
    if (am_varint_get(&p, end, &na) != AM_OK || am_varint_get(&p, end, &nx) != AM_OK ||
        na > (uint64_t)(end - p) / AM_PK_LEN || nx > (uint64_t)(end - p) / AM_PK_LEN - na)
        return AM_ECORRUPT;
    *authors = p;
    *n = (uint32_t)na;
    return AM_OK;
}
