/*
 * relief_node.c: reading stored relief views and writing relief ops (see relief_node.h).
 * Must never: trust a stored view without bounds-checked parsing, or append an op that
 * relief_op_encode refused. Never prints.
 */
#include "relief_node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "am_grow.h"
#include "mp.h"

/* Views are our own bytes, but read them as if they were not: bounded, validated. */
static const struct mp_limits view_limits = {
    .depth_max = 6,
    .str_max = 1u << 16,
    .container_max = 1u << 24,
};

static int key_is(const uint8_t *p, uint32_t n, const char *k)
{
    return strlen(k) == n && memcmp(p, k, n) == 0;
}

/* The value of an enum name from a relief_*_name function; 0 when unknown. */
static int enum_of(const char *(*name)(int), int max, const uint8_t *p, uint32_t n)
{
    for (int i = 1; i <= max; i++)
        if (key_is(p, n, name(i)))
            return i;
    return 0;
}

static int get_ref(struct mp_cur *c, struct relief_ref *r)
{
    const uint8_t *p;
    uint32_t n;
    if (mp_get_bin(c, &p, &n) != AM_OK || n != RELIEF_REF_LEN)
        return AM_ECORRUPT;
    relief_ref_unpack(p, r);
    return AM_OK;
}

static int get_cstr(struct mp_cur *c, char *out, size_t cap)
{
    const uint8_t *p;
    uint32_t n;
    if (mp_get_str(c, &p, &n) != AM_OK || n >= cap)
        return AM_ECORRUPT;
    memcpy(out, p, n);
    out[n] = 0;
    return AM_OK;
}

static int get_u32(struct mp_cur *c, uint32_t *v)
{
    uint64_t u;
    if (mp_get_uint(c, &u) != AM_OK || u > UINT32_MAX)
        return AM_ECORRUPT;
    *v = (uint32_t)u;
    return AM_OK;
}

/* One register value of field f. */
static int get_val(struct mp_cur *c, int f, struct relief_node_reg *r)
{
    const uint8_t *p;
    uint32_t n;
    r->set = 1;
    switch (f) {
    case RELIEF_F_NAME:
    case RELIEF_F_UNIT:
    case RELIEF_F_CAT:
    case RELIEF_F_NOTE:
        if (mp_get_str(c, &p, &n) != AM_OK)
            return AM_ECORRUPT;
        r->s = (const char *)p;
        r->len = n;
        return AM_OK;
    case RELIEF_F_KIND:
    case RELIEF_F_PRI:
    case RELIEF_F_ST:
        if (mp_get_str(c, &p, &n) != AM_OK)
            return AM_ECORRUPT;
        r->i = f == RELIEF_F_KIND  ? enum_of(relief_kind_name, 5, p, n)
               : f == RELIEF_F_PRI ? enum_of(relief_priority_name, 4, p, n)
                                   : enum_of(relief_status_name, 3, p, n);
        return r->i ? AM_OK : AM_ECORRUPT;
    case RELIEF_F_Q:
        return mp_get_int(c, &r->i) == AM_OK ? AM_OK : AM_ECORRUPT;
    case RELIEF_F_BY:
        if (mp_peek(c) == 'n') {
            mp_get_nil(c);
            r->set = 0;
            return AM_OK;
        }
        return mp_get_int(c, &r->i) == AM_OK ? AM_OK : AM_ECORRUPT;
    case RELIEF_F_LL:
        if (mp_peek(c) == 'n') {
            mp_get_nil(c);
            r->set = 0;
            return AM_OK;
        }
        if (mp_get_array(c, &n) != AM_OK || n != 2 || mp_get_int(c, &r->i) != AM_OK ||
            mp_get_int(c, &r->j) != AM_OK)
            return AM_ECORRUPT;
        return AM_OK;
    default:
        return AM_ECORRUPT;
    }
}

/* {"cf": bool, "n": writes, "h": [[ref, hlc, value], ...]} */
static int get_reg(struct mp_cur *c, int f, struct relief_node_reg *r)
{
    uint32_t pairs;
    memset(r, 0, sizeof *r);
    if (mp_get_map(c, &pairs) != AM_OK)
        return AM_ECORRUPT;
    for (uint32_t i = 0; i < pairs; i++) {
        const uint8_t *k;
        uint32_t kn;
        if (mp_get_str(c, &k, &kn) != AM_OK)
            return AM_ECORRUPT;
        if (key_is(k, kn, "cf")) {
            if (mp_get_bool(c, &r->conflict) != AM_OK)
                return AM_ECORRUPT;
        } else if (key_is(k, kn, "n")) {
            if (get_u32(c, &r->n_writes) != AM_OK)
                return AM_ECORRUPT;
        } else if (key_is(k, kn, "h")) {
            const uint8_t *start;
            uint32_t nh, three;
            if (mp_get_array(c, &nh) != AM_OK)
                return AM_ECORRUPT;
            r->n_heads = nh;
            start = c->p;
            for (uint32_t j = 0; j < nh; j++) {
                if (mp_get_array(c, &three) != AM_OK || three != 3)
                    return AM_ECORRUPT;
                if (j == 0) {
                    if (get_ref(c, &r->win_ref) != AM_OK || mp_get_uint(c, &r->win_hlc) != AM_OK ||
                        get_val(c, f, r) != AM_OK)
                        return AM_ECORRUPT;
                } else if (mp_skip(c) != AM_OK || mp_skip(c) != AM_OK || mp_skip(c) != AM_OK) {
                    return AM_ECORRUPT;
                }
            }
            r->h = start;
            r->h_len = (size_t)(c->p - start);
        } else if (mp_skip(c) != AM_OK) {
            return AM_ECORRUPT;
        }
    }
    return AM_OK;
}

int relief_node_reg_refs(const struct relief_node_reg *r, struct relief_ref *out, uint32_t cap,
                         uint32_t *n)
{
    struct mp_cur c = {r->h, r->h + r->h_len};
    for (uint32_t j = 0; j < r->n_heads; j++) {
        uint32_t three;
        if (*n >= cap)
            return AM_ELIMIT;
        if (mp_get_array(&c, &three) != AM_OK || three != 3 || get_ref(&c, &out[*n]) != AM_OK ||
            mp_skip(&c) != AM_OK || mp_skip(&c) != AM_OK)
            return AM_ECORRUPT;
        ++*n;
    }
    return AM_OK;
}

int relief_node_reg_head(const struct relief_node_reg *r, int f, uint32_t i,
                         struct relief_node_reg *out)
{
    struct mp_cur c = {r->h, r->h + r->h_len};
    memset(out, 0, sizeof *out);
    if (i >= r->n_heads)
        return AM_ENOTFOUND;
    for (uint32_t j = 0; j < i; j++)
        if (mp_skip(&c) != AM_OK)
            return AM_ECORRUPT;
    {
        uint32_t three;
        if (mp_get_array(&c, &three) != AM_OK || three != 3 ||
            get_ref(&c, &out->win_ref) != AM_OK || mp_get_uint(&c, &out->win_hlc) != AM_OK ||
            get_val(&c, f, out) != AM_OK)
            return AM_ECORRUPT;
    }
    return AM_OK;
}

/* Opens a view: checks it and reads its map header and "k". */
static int view_begin(struct mp_cur *c, const uint8_t *v, size_t len, const char *kind,
                      uint32_t *pairs)
{
    size_t used;
    const uint8_t *k;
    uint32_t kn;
    if (mp_check(v, len, &used, &view_limits) != AM_OK || used != len)
        return AM_ECORRUPT;
    c->p = v;
    c->end = v + len;
    if (mp_get_map(c, pairs) != AM_OK || *pairs < 1 || mp_get_str(c, &k, &kn) != AM_OK ||
        !key_is(k, kn, "k") || mp_get_str(c, &k, &kn) != AM_OK || !key_is(k, kn, kind))
        return AM_ECORRUPT;
    --*pairs;
    return AM_OK;
}

/* A catalogue object's view (site or item): its id key and three register fields. */
struct catalog_view {
    const char *kind;                /* "site" / "item" */
    const char *id_key;              /* "slug" / "code" */
    char *id;                        /* where the id goes, RELIEF_SLUG_MAX + 1 bytes */
    const char *keys[3];             /* the register fields' keys ... */
    int fields[3];                   /* ... their relief_field ids ... */
    struct relief_node_reg *regs[3]; /* ... and where they go */
};

static int catalog_parse(const uint8_t *v, size_t len, const struct catalog_view *cv)
{
    struct mp_cur c;
    uint32_t pairs;
    if (view_begin(&c, v, len, cv->kind, &pairs) != AM_OK)
        return AM_ECORRUPT;
    for (uint32_t i = 0; i < pairs; i++) {
        const uint8_t *k;
        uint32_t kn;
        int rc = AM_ECORRUPT, known = 0;
        if (mp_get_str(&c, &k, &kn) != AM_OK)
            return AM_ECORRUPT;
        if (key_is(k, kn, cv->id_key)) {
            rc = get_cstr(&c, cv->id, RELIEF_SLUG_MAX + 1);
            known = 1;
        }
        for (int f = 0; f < 3 && !known; f++)
            if (key_is(k, kn, cv->keys[f])) {
                rc = get_reg(&c, cv->fields[f], cv->regs[f]);
                known = 1;
            }
        if (!known)
            rc = mp_skip(&c) == AM_OK ? AM_OK : AM_ECORRUPT;
        if (rc != AM_OK)
            return AM_ECORRUPT;
    }
    return cv->id[0] ? AM_OK : AM_ECORRUPT;
}

int relief_node_site_parse(const uint8_t *v, size_t len, struct relief_node_site *out)
{
    const struct catalog_view cv = {"site",
                                    "slug",
                                    out->slug,
                                    {"name", "kind", "ll"},
                                    {RELIEF_F_NAME, RELIEF_F_KIND, RELIEF_F_LL},
                                    {&out->name, &out->kind, &out->ll}};
    memset(out, 0, sizeof *out);
    return catalog_parse(v, len, &cv);
}

int relief_node_item_parse(const uint8_t *v, size_t len, struct relief_node_item *out)
{
    const struct catalog_view cv = {"item",
                                    "code",
                                    out->code,
                                    {"name", "unit", "cat"},
                                    {RELIEF_F_NAME, RELIEF_F_UNIT, RELIEF_F_CAT},
                                    {&out->name, &out->unit, &out->cat}};
    memset(out, 0, sizeof *out);
    return catalog_parse(v, len, &cv);
}

/* A view of two names and one register (a minimum level, a pack: "q"; a name in a
 * language: "name"): kind's keys k1 and k2 into s1 and s2 (RELIEF_SLUG_MAX + 1 bytes each),
 * register rk (field f) into *q. */
static int names_reg_parse(const uint8_t *v, size_t len, const char *kind, const char *k1, char *s1,
                           const char *k2, char *s2, const char *rk, int f,
                           struct relief_node_reg *q)
{
    struct mp_cur c;
    uint32_t pairs;
    if (view_begin(&c, v, len, kind, &pairs) != AM_OK)
        return AM_ECORRUPT;
    for (uint32_t i = 0; i < pairs; i++) {
        const uint8_t *k;
        uint32_t kn;
        int rc;
        if (mp_get_str(&c, &k, &kn) != AM_OK)
            return AM_ECORRUPT;
        if (key_is(k, kn, k1))
            rc = get_cstr(&c, s1, RELIEF_SLUG_MAX + 1);
        else if (key_is(k, kn, k2))
            rc = get_cstr(&c, s2, RELIEF_SLUG_MAX + 1);
        else if (key_is(k, kn, rk))
            rc = get_reg(&c, f, q);
        else
            rc = mp_skip(&c) == AM_OK ? AM_OK : AM_ECORRUPT;
        if (rc != AM_OK)
            return AM_ECORRUPT;
    }
    return s1[0] && s2[0] ? AM_OK : AM_ECORRUPT;
}

static int names_q_parse(const uint8_t *v, size_t len, const char *kind, const char *k1, char *s1,
                         const char *k2, char *s2, struct relief_node_reg *q)
{
    return names_reg_parse(v, len, kind, k1, s1, k2, s2, "q", RELIEF_F_Q, q);
}

int relief_node_min_parse(const uint8_t *v, size_t len, struct relief_node_min *out)
{
    memset(out, 0, sizeof *out);
    return names_q_parse(v, len, "min", "site", out->site, "item", out->item, &out->q);
}

int relief_node_pack_parse(const uint8_t *v, size_t len, struct relief_node_pack *out)
{
    memset(out, 0, sizeof *out);
    return names_q_parse(v, len, "pack", "item", out->item, "pack", out->pack, &out->q);
}

int relief_node_lname_parse(const uint8_t *v, size_t len, struct relief_node_lname *out)
{
    char lang[RELIEF_SLUG_MAX + 1] = "";
    int rc;
    memset(out, 0, sizeof *out);
    rc = names_reg_parse(v, len, "lname", "item", out->item, "lang", lang, "name", RELIEF_F_NAME,
                         &out->name);
    if (rc != AM_OK || strlen(lang) > RELIEF_LANG_MAX)
        return AM_ECORRUPT;
    memcpy(out->lang, lang, sizeof out->lang);
    return AM_OK;
}

int relief_node_need_conflict(const struct relief_node_need *n)
{
    return n->q.conflict || n->pri.conflict || n->note.conflict || n->by.conflict || n->st.conflict;
}

int relief_node_need_parse(const uint8_t *v, size_t len, struct relief_node_need *out)
{
    struct mp_cur c;
    uint32_t pairs;
    memset(out, 0, sizeof *out);
    if (view_begin(&c, v, len, "need", &pairs) != AM_OK)
        return AM_ECORRUPT;
    for (uint32_t i = 0; i < pairs; i++) {
        const uint8_t *k, *p;
        uint32_t kn, n;
        int rc = AM_OK;
        if (mp_get_str(&c, &k, &kn) != AM_OK)
            return AM_ECORRUPT;
        if (key_is(k, kn, "id")) {
            if (mp_get_bin(&c, &p, &n) != AM_OK || n != RELIEF_ID_LEN)
                return AM_ECORRUPT;
            memcpy(out->id, p, RELIEF_ID_LEN);
        } else if (key_is(k, kn, "open")) {
            if (mp_peek(&c) == 'n') {
                mp_get_nil(&c);
            } else if (mp_get_array(&c, &n) != AM_OK || n != 2 ||
                       get_ref(&c, &out->open_ref) != AM_OK ||
                       mp_get_uint(&c, &out->open_hlc) != AM_OK) {
                return AM_ECORRUPT;
            } else {
                out->opened = 1;
            }
        } else if (key_is(k, kn, "site") || key_is(k, kn, "item")) {
            char *dst = k[0] == 's' ? out->site : out->item;
            if (mp_peek(&c) == 'n')
                mp_get_nil(&c);
            else
                rc = get_cstr(&c, dst, RELIEF_SLUG_MAX + 1);
        } else if (key_is(k, kn, "q")) {
            rc = get_reg(&c, RELIEF_F_Q, &out->q);
        } else if (key_is(k, kn, "pri")) {
            rc = get_reg(&c, RELIEF_F_PRI, &out->pri);
        } else if (key_is(k, kn, "note")) {
            rc = get_reg(&c, RELIEF_F_NOTE, &out->note);
        } else if (key_is(k, kn, "by")) {
            rc = get_reg(&c, RELIEF_F_BY, &out->by);
        } else if (key_is(k, kn, "st")) {
            rc = get_reg(&c, RELIEF_F_ST, &out->st);
        } else if (key_is(k, kn, "status")) {
            if (mp_get_str(&c, &p, &n) != AM_OK ||
                !(out->status = enum_of(relief_status_name, 3, p, n)))
                return AM_ECORRUPT;
        } else if (key_is(k, kn, "derived")) {
            rc = mp_get_bool(&c, &out->derived) == AM_OK ? AM_OK : AM_ECORRUPT;
        } else if (key_is(k, kn, "dlv")) {
            rc = mp_get_int(&c, &out->delivered) == AM_OK ? AM_OK : AM_ECORRUPT;
        } else if (key_is(k, kn, "ndlv")) {
            rc = get_u32(&c, &out->n_deliveries);
        } else if (key_is(k, kn, "sat")) {
            rc = mp_get_bool(&c, &out->saturated) == AM_OK ? AM_OK : AM_ECORRUPT;
        } else {
            rc = mp_skip(&c) == AM_OK ? AM_OK : AM_ECORRUPT;
        }
        if (rc != AM_OK)
            return AM_ECORRUPT;
    }
    return out->status ? AM_OK : AM_ECORRUPT;
}

static int get_count(struct mp_cur *c, struct relief_node_count *w)
{
    uint32_t n;
    if (mp_get_array(c, &n) != AM_OK || n != 3 || get_ref(c, &w->ref) != AM_OK ||
        mp_get_uint(c, &w->hlc) != AM_OK || mp_get_int(c, &w->q) != AM_OK)
        return AM_ECORRUPT;
    return AM_OK;
}

int relief_node_cell_parse(const uint8_t *v, size_t len, struct relief_node_cell *out)
{
    struct mp_cur c;
    uint32_t pairs;
    memset(out, 0, sizeof *out);
    if (view_begin(&c, v, len, "cell", &pairs) != AM_OK)
        return AM_ECORRUPT;
    for (uint32_t i = 0; i < pairs; i++) {
        const uint8_t *k;
        uint32_t kn, n;
        int rc = AM_OK;
        if (mp_get_str(&c, &k, &kn) != AM_OK)
            return AM_ECORRUPT;
        if (key_is(k, kn, "site")) {
            rc = get_cstr(&c, out->site, sizeof out->site);
        } else if (key_is(k, kn, "item")) {
            rc = get_cstr(&c, out->item, sizeof out->item);
        } else if (key_is(k, kn, "lot")) {
            rc = get_cstr(&c, out->lot, sizeof out->lot);
        } else if (key_is(k, kn, "exp")) {
            rc = get_u32(&c, &out->exp);
        } else if (key_is(k, kn, "v")) {
            rc = mp_get_int(&c, &out->value) == AM_OK ? AM_OK : AM_ECORRUPT;
        } else if (key_is(k, kn, "ov")) {
            rc = mp_get_bool(&c, &out->overdrawn) == AM_OK ? AM_OK : AM_ECORRUPT;
        } else if (key_is(k, kn, "cc")) {
            rc = mp_get_bool(&c, &out->count_conflict) == AM_OK ? AM_OK : AM_ECORRUPT;
        } else if (key_is(k, kn, "sat")) {
            rc = mp_get_bool(&c, &out->saturated) == AM_OK ? AM_OK : AM_ECORRUPT;
        } else if (key_is(k, kn, "nm")) {
            rc = get_u32(&c, &out->n_moves);
        } else if (key_is(k, kn, "nc")) {
            rc = get_u32(&c, &out->n_counts);
        } else if (key_is(k, kn, "w")) {
            if (mp_peek(&c) == 'n')
                mp_get_nil(&c);
            else if ((rc = get_count(&c, &out->winner)) == AM_OK)
                out->has_winner = 1;
        } else if (key_is(k, kn, "mx")) {
            const uint8_t *start;
            if (mp_get_array(&c, &n) != AM_OK)
                return AM_ECORRUPT;
            out->n_maximal = n;
            start = c.p;
            for (uint32_t j = 0; j < n; j++)
                if (mp_skip(&c) != AM_OK)
                    return AM_ECORRUPT;
            out->mx = start;
            out->mx_len = (size_t)(c.p - start);
        } else if (key_is(k, kn, "after")) {
            rc = mp_get_int(&c, &out->after) == AM_OK ? AM_OK : AM_ECORRUPT;
        } else if (key_is(k, kn, "naud")) {
            rc = get_u32(&c, &out->n_audit);
        } else {
            rc = mp_skip(&c) == AM_OK ? AM_OK : AM_ECORRUPT;
        }
        if (rc != AM_OK)
            return AM_ECORRUPT;
    }
    return out->site[0] && out->item[0] ? AM_OK : AM_ECORRUPT;
}

int relief_node_cell_count(const struct relief_node_cell *cl, uint32_t i,
                           struct relief_node_count *out)
{
    struct mp_cur c = {cl->mx, cl->mx + cl->mx_len};
    if (i >= cl->n_maximal)
        return AM_ECORRUPT;
    for (uint32_t j = 0; j < i; j++)
        if (mp_skip(&c) != AM_OK)
            return AM_ECORRUPT;
    return get_count(&c, out);
}

/* ---- store access ---- */

int relief_node_view(struct store *s, const struct relief_key *key, uint8_t **view, size_t *len)
{
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl, cap = 1024;
    int rc;

    *view = NULL;
    if (relief_key_encode(key, kb, &kl) != AM_OK)
        return AM_EINVAL;
    for (int round = 0; round < 3; round++) {
        uint8_t *b = realloc(*view, cap);
        if (!b) {
            free(*view);
            *view = NULL;
            return AM_ENOMEM;
        }
        *view = b;
        rc = store_view_get(s, kb, kl, b, cap, len);
        if (rc != AM_ELIMIT)
            break;
        cap = *len; /* grew meanwhile? try again */
    }
    if (rc != AM_OK) {
        free(*view);
        *view = NULL;
    }
    return rc;
}

int relief_node_exists(void *ctx, const struct relief_key *key)
{
    struct store *s = ctx;
    uint8_t *v;
    size_t len;
    int yes;

    if (relief_node_view(s, key, &v, &len) != AM_OK)
        return 0;
    if (key->kind == RELIEF_OBJ_NEED) {
        struct relief_node_need nd;
        yes = relief_node_need_parse(v, len, &nd) == AM_OK && nd.opened;
    } else {
        yes = 1;
    }
    free(v);
    return yes;
}

struct ctx_walk {
    struct store *s;
    const uint8_t *self;
    const uint8_t *author; /* ctx_log: the forked author whose logs are named */
    struct relief_ref *out;
    uint32_t cap, n;
    int rc;
};

static int ctx_log(void *ctx, const struct store_head *h)
{
    struct ctx_walk *w = ctx;
    if (memcmp(h->author, w->author, AM_PK_LEN) != 0 || h->seq < h->first_seq)
        return 0;
    if (w->n >= w->cap) {
        w->rc = AM_ELIMIT;
        return 1;
    }
    memcpy(w->out[w->n].author, h->log, AM_PK_LEN);
    w->out[w->n].seq = h->seq;
    w->n++;
    return 0;
}

static int ctx_author(void *ctx, const uint8_t author[AM_PK_LEN])
{
    struct ctx_walk *w = ctx;
    struct store_head h;
    int rc;
    if (!memcmp(author, w->self, AM_PK_LEN))
        return 0; /* a count has seen its own author's earlier entries without naming them */
    if (w->n >= w->cap) {
        w->rc = AM_ELIMIT;
        return 1;
    }
    if ((rc = store_head_get(w->s, author, &h)) != AM_OK) {
        w->rc = rc;
        return 1;
    }
    if (h.flags & STORE_HEAD_FORKED) {
        /* every branch this node holds was seen: name each log at its head (PROTOCOL.md
         * 10.8.5), so the count absorbs the moves of every branch */
        w->author = author;
        if ((rc = store_heads_each(w->s, ctx_log, w)) == AM_OK)
            return 0;
        if (rc < 0)
            w->rc = rc;
        return 1;
    }
    memcpy(w->out[w->n].author, author, AM_PK_LEN);
    w->out[w->n].seq = h.seq;
    w->n++;
    return 0;
}

int relief_node_ctx(struct store *s, const struct relief_key *cell,
                    const uint8_t self[static AM_PK_LEN], struct relief_ref *out, uint32_t cap,
                    uint32_t *n)
{
    struct ctx_walk w = {s, self, NULL, out, cap, 0, AM_OK};
    uint8_t kb[RELIEF_KEY_MAX];
    size_t kl;
    int rc;

    *n = 0;
    if (relief_key_encode(cell, kb, &kl) != AM_OK)
        return AM_EINVAL;
    rc = store_obj_authors(s, kb, kl, ctx_author, &w);
    if (rc == 1)
        rc = w.rc;
    if (rc != AM_OK)
        return rc;
    *n = w.n;
    relief_ctx_normalize(out, n);
    return AM_OK;
}

/* Encodes op into b (AM_OP_MAX bytes), reads the bytes back, and checks what they refer
 * to unless force: relief_node_write's checks. */
static int op_encode_checked(struct node *n, const struct relief_op *op, int force, uint8_t *b,
                             size_t *len, char *err, size_t errcap)
{
    struct relief_op dec;
    int rc = relief_op_encode(op, b, AM_OP_MAX, len, err, errcap);
    /* check what the bytes say, not what the struct said */
    if (rc == AM_OK)
        rc = relief_op_decode(b, *len, &dec, err, errcap);
    if (rc == AM_OK && !force)
        rc = relief_op_check_refs(&dec, relief_node_exists, n->store, err, errcap);
    return rc;
}

int relief_node_check(struct node *n, const struct relief_op *op, int force, char *err,
                      size_t errcap)
{
    uint8_t *b;
    size_t len;
    int rc;
    if (err && errcap)
        err[0] = 0;
    if (!(b = malloc(AM_OP_MAX)))
        return AM_ENOMEM;
    rc = op_encode_checked(n, op, force, b, &len, err, errcap);
    free(b);
    return rc;
}

/* relief_node_write_batch signed by sk (NULL: the node's key). */
static int write_batch(struct node *n, const uint8_t *sk, const struct relief_op *ops, size_t k,
                       int force, char *err, size_t errcap, size_t *bad, uint8_t hash[AM_HASH_LEN])
{
    uint8_t *scratch = NULL, *buf = NULL;
    const uint8_t **p = NULL;
    size_t *len = NULL, used = 0, cap = 0;
    struct store_head h;
    int rc = AM_OK;

    if (err && errcap)
        err[0] = 0;
    if (bad)
        *bad = 0;
    if (k == 0 || k > RELIEF_NODE_BATCH_MAX)
        return AM_EINVAL;
    scratch = malloc(AM_OP_MAX);
    p = calloc(k, sizeof *p);
    len = calloc(k, sizeof *len);
    if (!scratch || !p || !len) {
        rc = AM_ENOMEM;
        goto out;
    }
    /* the encoded ops packed one after another: a few hundred bytes each, not AM_OP_MAX */
    for (size_t i = 0; i < k && rc == AM_OK; i++) {
        rc = op_encode_checked(n, &ops[i], force, scratch, &len[i], err, errcap);
        if (rc != AM_OK && bad)
            *bad = i;
        if (rc == AM_OK && (rc = AM_GROW(buf, cap, used + len[i], 4096)) == AM_OK) {
            memcpy(buf + used, scratch, len[i]);
            used += len[i];
        }
    }
    if (rc != AM_OK)
        goto out;
    for (size_t i = 0, at = 0; i < k; at += len[i], i++)
        p[i] = buf + at; /* once buf no longer moves */
    rc = store_append(n->store, sk ? sk : n->sk, p, len, k, node_wall_ms(), &h);
    if (rc == AM_OK && hash)
        memcpy(hash, h.hash, AM_HASH_LEN);
out:
    free(scratch);
    free(buf);
    free(p);
    free(len);
    return rc;
}

int relief_node_write_batch(struct node *n, const struct relief_op *ops, size_t k, int force,
                            char *err, size_t errcap, size_t *bad, uint8_t hash[AM_HASH_LEN])
{
    return write_batch(n, NULL, ops, k, force, err, errcap, bad, hash);
}

int relief_node_write_as(struct node *n, const uint8_t *sk, const struct relief_op *ops, size_t k,
                         int force, char *err, size_t errcap, uint8_t hash[AM_HASH_LEN])
{
    if (k == 0 || k > RELIEF_NODE_OPS_MAX)
        return AM_EINVAL;
    return write_batch(n, sk, ops, k, force, err, errcap, NULL, hash);
}

int relief_node_write_ops(struct node *n, const struct relief_op *ops, size_t k, int force,
                          char *err, size_t errcap, uint8_t hash[AM_HASH_LEN])
{
    if (k == 0 || k > RELIEF_NODE_OPS_MAX)
        return AM_EINVAL;
    return relief_node_write_batch(n, ops, k, force, err, errcap, NULL, hash);
}

int relief_node_write(struct node *n, const struct relief_op *op, int force, char *err,
                      size_t errcap, uint8_t hash[AM_HASH_LEN])
{
    return relief_node_write_ops(n, op, 1, force, err, errcap, hash);
}
