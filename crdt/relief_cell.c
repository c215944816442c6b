/*
 * relief_cell.c: the observed-reset counter of a stock cell (PROTOCOL.md
 * 10.8.4): value, count conflict, overdraft, saturation and the audit list, computed from
 * the set of moves and counts in O(moves + counts + context entries + authors).
 * Only relief_obj_compute (relief_obj.c) calls in here, and this file calls nothing in
 * relief_obj.c: the helpers both use are inline in relief_int.h.
 * Never prints; never clamps a negative value; allocates only inside the object.
 */
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "relief_int.h"

#define GROW(arr, cap, need) relief_grow((void **)&(arr), &(cap), (need), sizeof *(arr))

/* Adds v >= 0 to *sum, saturating at INT64_MAX. Non-negative terms only: the result is
 * min(true sum, INT64_MAX) whatever the order, so saturation never depends on arrival. */
static void sat_add(uint64_t *sum, uint64_t v, int *sat)
{
    if (v > (uint64_t)INT64_MAX - *sum) {
        *sum = (uint64_t)INT64_MAX;
        *sat = 1;
    } else {
        *sum += v;
    }
}

/* base + plus - minus as int64, each operand in 0 .. INT64_MAX (base up to QTY_MAX). */
static int64_t net(uint64_t base, uint64_t plus, uint64_t minus, int *sat)
{
    uint64_t a = base + plus; /* < 2^64: both under 2^63 */
    if (a >= minus) {
        if (a - minus > (uint64_t)INT64_MAX) {
            *sat = 1;
            return INT64_MAX;
        }
        return (int64_t)(a - minus);
    }
    return -(int64_t)(minus - a); /* minus - a <= INT64_MAX */
}

/* Audit candidates: a min-heap of the RELIEF_AUDIT_MAX greatest (hlc, author, seq). */
static int mv_less(const struct relief_obj *o, const struct relief_mrec *a,
                   const struct relief_mrec *b)
{
    return relief_obj_cmp(o, a->hlc, a->aidx, a->seq, b->hlc, b->aidx, b->seq) < 0;
}

static void heap_push(const struct relief_obj *o, const struct relief_mrec **h, uint32_t *n,
                      const struct relief_mrec *m)
{
    uint32_t i;
    if (*n == RELIEF_AUDIT_MAX) {
        if (!mv_less(o, h[0], m))
            return;
        /* replace the root (the least) by m and sift m down */
        i = 0;
        for (;;) {
            uint32_t l = 2 * i + 1, r = l + 1, s = i;
            const struct relief_mrec *least = m;
            if (l < *n && mv_less(o, h[l], least)) {
                s = l;
                least = h[l];
            }
            if (r < *n && mv_less(o, h[r], least))
                s = r;
            if (s == i)
                break;
            h[i] = h[s];
            i = s;
        }
        h[i] = m;
        return;
    }
    i = (*n)++;
    while (i > 0 && mv_less(o, m, h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = m;
}

int relief_cell_compute(struct relief_obj *o)
{
    struct relief_cell_view *v = &o->cell;
    const struct relief_crec *w = NULL;
    const struct relief_mrec *heap[RELIEF_AUDIT_MAX];
    uint32_t nheap = 0, nmax = 0;
    uint64_t plus = 0, minus = 0;
    int sat = 0;

    memset(v, 0, sizeof *v);
    if (relief_cell_ship_moves(o) != AM_OK) /* the shipment records that count, as moves */
        return AM_ENOMEM;
    v->n_moves = o->n_m;
    v->n_counts = o->n_c;
    v->audit = o->audit;

    if (o->n_c > 0) {
        /* cover[a] = the highest seq of author a in the past of some count. A count's past
         * never holds itself (its ctx never names its own author), so count c is maximal
         * exactly when c.seq > cover[c.author]. */
        uint64_t *cover = o->lim;
        struct relief_skey *keys;

        if (GROW(o->skeys, o->cap_skeys, o->n_c) != AM_OK ||
            GROW(o->maximal, o->cap_maximal, o->n_c) != AM_OK)
            return AM_ENOMEM;
        keys = o->skeys;
        memset(cover, 0, (size_t)o->n_authors * sizeof *cover);
        for (uint32_t i = 0; i < o->n_c; i++) {
            const struct relief_crec *c = &o->c[i];
            if (c->seq - 1 > cover[c->aidx])
                cover[c->aidx] = c->seq - 1;
            for (uint32_t j = 0; j < c->ctx_n; j++) {
                const struct relief_aref *r = &o->arefs[c->ctx_off + j];
                if (r->seq > cover[r->aidx])
                    cover[r->aidx] = r->seq;
            }
        }
        for (uint32_t i = 0; i < o->n_c; i++) {
            const struct relief_crec *c = &o->c[i];
            if (c->seq > cover[c->aidx])
                keys[nmax++] = (struct relief_skey){c->hlc, c->seq, o->authors[c->aidx], i};
        }
        if (nmax == 0) {
            /* every count is in another's past: only contexts that claim to have seen the
             * future do that. Take the greatest count by (hlc, author, seq), flagged. */
            uint32_t best = 0;
            for (uint32_t i = 1; i < o->n_c; i++)
                if (relief_obj_cmp(o, o->c[i].hlc, o->c[i].aidx, o->c[i].seq, o->c[best].hlc,
                                   o->c[best].aidx, o->c[best].seq) > 0)
                    best = i;
            w = &o->c[best];
            v->count_conflict = 1;
        } else {
            qsort(keys, nmax, sizeof *keys, relief_skey_cmp_desc);
            w = &o->c[keys[0].idx];
            v->count_conflict = nmax > 1;
            for (uint32_t i = 1; i < nmax; i++) {
                const struct relief_crec *c = &o->c[keys[i].idx];
                relief_obj_ref(o, c->aidx, c->seq, &o->maximal[i - 1].ref);
                o->maximal[i - 1].hlc = c->hlc;
                o->maximal[i - 1].q = c->q;
            }
            v->n_maximal = nmax - 1;
        }
        v->maximal = o->maximal;
        v->has_winner = 1;
        relief_obj_ref(o, w->aidx, w->seq, &v->winner.ref);
        v->winner.hlc = w->hlc;
        v->winner.q = w->q;

        /* the winner's past, per author: lim[a] = highest seq of a inside it */
        memset(o->lim, 0, (size_t)o->n_authors * sizeof *o->lim);
        for (uint32_t j = 0; j < w->ctx_n; j++)
            o->lim[o->arefs[w->ctx_off + j].aidx] = o->arefs[w->ctx_off + j].seq;
        o->lim[w->aidx] = w->seq - 1;
    }

    for (uint32_t i = 0; i < o->n_m + o->n_smv; i++) {
        const struct relief_mrec *m = i < o->n_m ? &o->m[i] : &o->smv[i - o->n_m];
        if (w) {
            if (m->seq <= o->lim[m->aidx])
                continue; /* inside the winner's past: the count absorbed it */
            if (m->hlc < w->hlc) {
                v->n_audit++;
                heap_push(o, heap, &nheap, m);
            }
        }
        if (m->delta >= 0)
            sat_add(&plus, (uint64_t)m->delta, &sat);
        else
            sat_add(&minus, (uint64_t)(-m->delta), &sat);
    }
    v->after = net(0, plus, minus, &sat);
    v->value = net(w ? (uint64_t)w->q : 0, plus, minus, &sat);
    v->overdrawn = v->value < 0;
    v->saturated = sat;

    /* audit list ascending by (hlc, author, seq): insertion sort of at most 32 */
    for (uint32_t i = 1; i < nheap; i++) {
        const struct relief_mrec *m = heap[i];
        uint32_t j = i;
        for (; j > 0 && mv_less(o, m, heap[j - 1]); j--)
            heap[j] = heap[j - 1];
        heap[j] = m;
    }
    for (uint32_t i = 0; i < nheap; i++) {
        relief_obj_ref(o, heap[i]->aidx, heap[i]->seq, &o->audit[i].ref);
        o->audit[i].hlc = heap[i]->hlc;
        o->audit[i].delta = heap[i]->delta;
        o->audit[i].reason = (int)heap[i]->reason;
    }
    v->n_audit_listed = nheap;
    return AM_OK;
}
