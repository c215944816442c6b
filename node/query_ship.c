/*
 * query_ship.c: the shipments of the read model (query.h, PROTOCOL.md 10.4, 10.8.6): every
 * shipment's view read once per query from its snapshot and copied into typed rows, and
 * what the shipments do for a need (committed, in transit, delivered, lost), derived from
 * their ops here and nowhere else. Never prints, never writes.
 */
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "mp.h"
#include "query.h"

struct ship_cache {
    struct query_ship *rows;
    size_t n;
};

/* Adds v (>= 0) to *sum, saturating at INT64_MAX. */
static void sat_add(int64_t *sum, int64_t v)
{
    if (v > 0 && *sum > INT64_MAX - v)
        *sum = INT64_MAX;
    else
        *sum += v;
}

static int key_is(const uint8_t *k, uint32_t kn, const char *s)
{
    return kn == strlen(s) && memcmp(k, s, kn) == 0;
}

static void cstr(char dst[static RELIEF_SLUG_MAX + 1], const struct relief_str *s)
{
    uint32_t n = s->len > RELIEF_SLUG_MAX ? RELIEF_SLUG_MAX : s->len;
    if (n)
        memcpy(dst, s->p, n);
    dst[n] = 0;
}

/* A step of the view: nil, or [ref, hlc, op bytes]. */
static int get_step(struct query *q, struct mp_cur *c, struct query_ship_step *st,
                    struct relief_op *op)
{
    const uint8_t *p;
    uint32_t n;
    struct relief_line_iter it;
    struct relief_line ln;
    struct query_ship_line *arr;

    memset(st, 0, sizeof *st);
    st->note = "";
    if (mp_get_nil(c) == AM_OK)
        return AM_OK;
    if (mp_get_array(c, &n) != AM_OK || n != 3 || mp_get_bin(c, &p, &n) != AM_OK ||
        n != RELIEF_REF_LEN)
        return AM_ECORRUPT;
    relief_ref_unpack(p, &st->ref);
    if (mp_get_uint(c, &st->hlc) != AM_OK || mp_get_bin(c, &p, &n) != AM_OK ||
        relief_op_decode(p, n, op, NULL, 0) != AM_OK)
        return AM_ECORRUPT;
    st->present = 1;
    cstr(st->site, &op->site);
    if (op->has & RELIEF_HAS(RELIEF_K_NOTE)) {
        st->note = op->note.p;
        st->note_len = op->note.len;
    }
    if (!op->ln.n)
        return AM_OK;
    if (!(arr = calloc(op->ln.n, sizeof *arr)) || query_keep(q, arr) != AM_OK)
        return AM_ENOMEM;
    relief_lines_begin(&it, &op->ln);
    while (relief_lines_next(&it, &ln)) {
        struct query_ship_line *l = &arr[st->n++];
        cstr(l->item, &ln.item);
        cstr(l->lot, &ln.lot);
        l->exp = ln.exp;
        l->q = ln.q;
        l->has_need = ln.has_need;
        memcpy(l->need, ln.need, RELIEF_ID_LEN);
    }
    st->ln = arr;
    return AM_OK;
}

static int64_t lines_sum(const struct query_ship_step *st)
{
    int64_t s = 0;
    for (uint32_t i = 0; i < st->n; i++)
        sat_add(&s, st->ln[i].q);
    return s;
}

/* Parses the shipment view v into r. */
static int ship_parse(struct query *q, const uint8_t *v, size_t len, struct query_ship *r)
{
    struct mp_cur c = {v, v + len};
    struct relief_op op;
    uint32_t pairs;
    int rc;

    memset(r, 0, sizeof *r);
    r->doc = "";
    if (mp_get_map(&c, &pairs) != AM_OK)
        return AM_ECORRUPT;
    for (uint32_t i = 0; i < pairs; i++) {
        const uint8_t *k, *p;
        uint32_t kn, n;
        rc = AM_OK;
        if (mp_get_str(&c, &k, &kn) != AM_OK)
            return AM_ECORRUPT;
        if (key_is(k, kn, "id")) {
            if (mp_get_bin(&c, &p, &n) != AM_OK || n != RELIEF_ID_LEN)
                return AM_ECORRUPT;
            memcpy(r->id, p, RELIEF_ID_LEN);
        } else if (key_is(k, kn, "status")) {
            if (mp_get_str(&c, &p, &n) != AM_OK)
                return AM_ECORRUPT;
            for (int s = RELIEF_SHIP_CREATED; s <= RELIEF_SHIP_CANCELLED; s++)
                if (n == strlen(relief_ship_status_name(s)) &&
                    !memcmp(p, relief_ship_status_name(s), n))
                    r->status = s;
        } else if (key_is(k, kn, "new")) {
            if ((rc = get_step(q, &c, &r->made, &op)) == AM_OK && r->made.present) {
                cstr(r->from, &op.site);
                cstr(r->to, &op.to);
                if (op.has & RELIEF_HAS(RELIEF_K_DOC)) {
                    r->doc = op.doc.p;
                    r->doc_len = op.doc.len;
                }
                r->by = op.by;
            }
        } else if (key_is(k, kn, "dsp")) {
            rc = get_step(q, &c, &r->dsp, &op);
        } else if (key_is(k, kn, "rcv")) {
            rc = get_step(q, &c, &r->rcv, &op);
        } else if (key_is(k, kn, "cxl")) {
            rc = get_step(q, &c, &r->cxl, &op);
        } else if (key_is(k, kn, "ndsp") || key_is(k, kn, "nrcv") || key_is(k, kn, "ncxl")) {
            uint64_t u;
            if (mp_get_uint(&c, &u) != AM_OK || u > UINT32_MAX)
                return AM_ECORRUPT;
            *(k[1] == 'd' ? &r->n_dsp : k[1] == 'r' ? &r->n_rcv : &r->n_cxl) = (uint32_t)u;
        } else {
            rc = mp_skip(&c) == AM_OK ? AM_OK : AM_ECORRUPT;
        }
        if (rc != AM_OK)
            return rc;
    }
    if (!r->made.present) { /* the creation has not arrived: what the others say */
        if (r->dsp.present)
            memcpy(r->from, r->dsp.site, sizeof r->from);
        if (r->rcv.present)
            memcpy(r->to, r->rcv.site, sizeof r->to);
    }
    r->planned = lines_sum(&r->made);
    r->sent = lines_sum(&r->dsp);
    r->arrived = lines_sum(&r->rcv);
    if (r->status == RELIEF_SHIP_RECEIVED && r->sent > r->arrived)
        r->lost = r->sent - r->arrived;
    return AM_OK;
}

struct load {
    struct query *q;
    struct query_ship *rows;
    size_t n, cap;
    int rc;
};

static int load_row(void *ctx, const struct store_view_row *v)
{
    struct load *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct query_ship *g = realloc(l->rows, cap * sizeof *g);
        if (!g) {
            l->rc = AM_ENOMEM;
            return 1;
        }
        l->rows = g;
        l->cap = cap;
    }
    if ((l->rc = ship_parse(l->q, v->view, v->view_len, &l->rows[l->n])) != AM_OK)
        return 1;
    l->n++;
    return 0;
}

static int row_cmp(const void *a, const void *b)
{
    const struct query_ship *x = a, *y = b;
    if (x->made.hlc != y->made.hlc)
        return x->made.hlc < y->made.hlc ? -1 : 1;
    return memcmp(x->id, y->id, RELIEF_ID_LEN);
}

static int id_cmp(const void *a, const void *b)
{
    return memcmp(a, b, RELIEF_ID_LEN);
}

/* Every shipment of the snapshot, read once per query. */
static int load(struct query *q, struct ship_cache **out)
{
    void **slot = query_ship_cache(q);
    struct ship_cache *sc;
    struct load l = {q, NULL, 0, 0, AM_OK};
    uint8_t prefix = RELIEF_OBJ_SHIP;
    uint8_t(*ids)[RELIEF_ID_LEN] = NULL;
    int rc;

    if (*slot) {
        *out = *slot;
        return AM_OK;
    }
    rc = store_snap_views_each(query_snap(q), &prefix, 1, load_row, &l);
    if (rc == AM_OK)
        rc = l.rc;
    if (rc == AM_OK && l.n && !(ids = malloc(l.n * sizeof *ids)))
        rc = AM_ENOMEM;
    if (rc != AM_OK) {
        free(l.rows);
        return rc;
    }
    /* rows come in key order, that is by id: the digits first, then the one order */
    for (size_t i = 0; i < l.n; i++)
        memcpy(ids[i], l.rows[i].id, RELIEF_ID_LEN);
    if (l.n > 1)
        qsort(ids, l.n, sizeof *ids, id_cmp);
    for (size_t i = 0; i < l.n; i++)
        l.rows[i].digits = relief_id_short_len((const uint8_t(*)[RELIEF_ID_LEN])ids, l.n, i);
    free(ids);
    if (l.n > 1)
        qsort(l.rows, l.n, sizeof *l.rows, row_cmp);
    if (l.rows && query_keep(q, l.rows) != AM_OK)
        return AM_ENOMEM;
    if (!(sc = calloc(1, sizeof *sc)) || query_keep(q, sc) != AM_OK)
        return AM_ENOMEM;
    sc->rows = l.rows;
    sc->n = l.n;
    *slot = sc;
    *out = sc;
    return AM_OK;
}

int query_ships(struct query *q, const struct query_ship_filter *f, const struct query_ship **rows,
                size_t *n)
{
    struct ship_cache *sc;
    struct query_ship *sel;
    size_t k = 0;
    int rc;

    *rows = NULL;
    *n = 0;
    if ((rc = load(q, &sc)) != AM_OK)
        return rc;
    if (!f || (!f->site && !f->status)) {
        *rows = sc->rows;
        *n = sc->n;
        return AM_OK;
    }
    if (!sc->n)
        return AM_OK;
    if (!(sel = malloc(sc->n * sizeof *sel)) || query_keep(q, sel) != AM_OK)
        return AM_ENOMEM;
    for (size_t i = 0; i < sc->n; i++) {
        const struct query_ship *r = &sc->rows[i];
        if (f->status && r->status != f->status)
            continue;
        if (f->site && strcmp(r->from, f->site) != 0 && strcmp(r->to, f->site) != 0)
            continue;
        sel[k++] = *r;
    }
    *rows = sel;
    *n = k;
    return AM_OK;
}

int query_ship(struct query *q, const uint8_t id[static RELIEF_ID_LEN],
               const struct query_ship **row)
{
    struct ship_cache *sc;
    int rc = load(q, &sc);
    if (rc != AM_OK)
        return rc;
    for (size_t i = 0; i < sc->n; i++)
        if (!memcmp(sc->rows[i].id, id, RELIEF_ID_LEN)) {
            *row = &sc->rows[i];
            return AM_OK;
        }
    return AM_ENOTFOUND;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int query_ship_find(struct query *q, const char *hex, uint8_t id[static RELIEF_ID_LEN],
                    unsigned *matches)
{
    struct ship_cache *sc;
    size_t len = strlen(hex);
    int rc;

    *matches = 0;
    if (len == 0 || len > 2 * RELIEF_ID_LEN)
        return AM_EINVAL;
    for (size_t i = 0; i < len; i++)
        if (hexval(hex[i]) < 0)
            return AM_EINVAL;
    if ((rc = load(q, &sc)) != AM_OK)
        return rc;
    for (size_t i = 0; i < sc->n; i++) {
        const uint8_t *x = sc->rows[i].id;
        size_t d = 0;
        for (; d < len; d++) {
            int nib = d % 2 ? x[d / 2] & 15 : x[d / 2] >> 4;
            if (nib != hexval(hex[d]))
                break;
        }
        if (d < len)
            continue;
        if (*matches == 0)
            memcpy(id, x, RELIEF_ID_LEN);
        if (*matches < 2)
            ++*matches;
    }
    return *matches ? AM_OK : AM_ENOTFOUND;
}

/* The sum of the lines of st that name need id; *named set when one does. */
static int64_t need_sum(const struct query_ship_step *st, const uint8_t *id, int *named)
{
    int64_t s = 0;
    for (uint32_t i = 0; i < st->n; i++)
        if (st->ln[i].has_need && !memcmp(st->ln[i].need, id, RELIEF_ID_LEN)) {
            sat_add(&s, st->ln[i].q);
            *named = 1;
        }
    return s;
}

int query_need_ships(struct query *q, const uint8_t id[static RELIEF_ID_LEN],
                     struct query_need_ships *out)
{
    struct ship_cache *sc;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = load(q, &sc)) != AM_OK)
        return rc;
    for (size_t i = 0; i < sc->n; i++) {
        const struct query_ship *r = &sc->rows[i];
        int named = 0;
        int64_t made = need_sum(&r->made, id, &named), sent = need_sum(&r->dsp, id, &named),
                got = need_sum(&r->rcv, id, &named);
        switch (r->status) {
        case RELIEF_SHIP_CREATED:
            sat_add(&out->committed, made);
            break;
        case RELIEF_SHIP_DISPATCHED:
            sat_add(&out->in_transit, sent);
            break;
        case RELIEF_SHIP_RECEIVED:
            sat_add(&out->delivered, got);
            if (sent > got)
                sat_add(&out->lost, sent - got);
            break;
        default:
            break;
        }
        out->n_ships += named;
    }
    return AM_OK;
}
