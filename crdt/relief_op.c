/*
 * relief_op.c: decode (validate) and encode relief ops, name the object an op belongs
 * to, and check at creation time what an op refers to (PROTOCOL.md 10.2-10.4, 10.7).
 * Decoding trusts nothing: size cap, then mp_check, then a field-by-field read with a
 * bounded cursor. Never prints; allocates nothing.
 */
#include <inttypes.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "am_err.h"
#include "am_text.h"
#include "mp.h"
#include "relief_int.h"

#define H(k) RELIEF_HAS(RELIEF_K_##k)

/* Keys each type allows, requires, and of which it needs at least one. */
static const struct {
    uint32_t allowed, required, anyof;
} rules[] = {
    [RELIEF_T_SITE] = {H(T) | H(SLUG) | H(SUP) | H(NAME) | H(KIND) | H(LL), H(T) | H(SLUG),
                       H(NAME) | H(KIND) | H(LL)},
    [RELIEF_T_ITEM] = {H(T) | H(CODE) | H(SUP) | H(NAME) | H(UNIT) | H(CAT), H(T) | H(CODE),
                       H(NAME) | H(UNIT) | H(CAT)},
    [RELIEF_T_NEED_OPEN] = {H(T) | H(SITE) | H(ITEM) | H(Q) | H(PRI) | H(NOTE) | H(BY),
                            H(T) | H(SITE) | H(ITEM) | H(Q) | H(PRI), 0},
    [RELIEF_T_NEED_UPD] = {H(T) | H(NEED) | H(SUP) | H(Q) | H(PRI) | H(NOTE) | H(BY),
                           H(T) | H(NEED), H(Q) | H(PRI) | H(NOTE) | H(BY)},
    [RELIEF_T_NEED_DLV] = {H(T) | H(NEED) | H(Q) | H(NOTE), H(T) | H(NEED) | H(Q), 0},
    [RELIEF_T_NEED_CLOSE] = {H(T) | H(NEED) | H(ST) | H(SUP) | H(NOTE), H(T) | H(NEED) | H(ST), 0},
    [RELIEF_T_STOCK_MOVE] = {H(T) | H(SITE) | H(ITEM) | H(LOT) | H(EXP) | H(Q) | H(R) | H(NOTE),
                             H(T) | H(SITE) | H(ITEM) | H(Q) | H(R), 0},
    [RELIEF_T_STOCK_COUNT] = {H(T) | H(SITE) | H(ITEM) | H(LOT) | H(EXP) | H(Q) | H(CTX) | H(NOTE),
                              H(T) | H(SITE) | H(ITEM) | H(Q) | H(CTX), 0},
    [RELIEF_T_SUCCESSION] = {H(T) | H(OLD) | H(SEQ) | H(HEAD) | H(OSIG),
                             H(T) | H(OLD) | H(SEQ) | H(HEAD) | H(OSIG), 0},
    [RELIEF_T_STOCK_MIN] = {H(T) | H(SITE) | H(ITEM) | H(Q) | H(SUP),
                            H(T) | H(SITE) | H(ITEM) | H(Q), 0},
    [RELIEF_T_SHIP_NEW] = {H(T) | H(SITE) | H(TO) | H(LN) | H(BY) | H(DOC) | H(NOTE),
                           H(T) | H(SITE) | H(TO) | H(LN), 0},
    [RELIEF_T_SHIP_DSP] = {H(T) | H(SHIP) | H(SITE) | H(LN) | H(NOTE),
                           H(T) | H(SHIP) | H(SITE) | H(LN), 0},
    [RELIEF_T_SHIP_RCV] = {H(T) | H(SHIP) | H(SITE) | H(LN) | H(NOTE),
                           H(T) | H(SHIP) | H(SITE) | H(LN), 0},
    [RELIEF_T_SHIP_CXL] = {H(T) | H(SHIP) | H(NOTE), H(T) | H(SHIP), 0},
    [RELIEF_T_ITEM_PACK] = {H(T) | H(CODE) | H(PACK) | H(Q) | H(SUP),
                            H(T) | H(CODE) | H(PACK) | H(Q), 0},
    [RELIEF_T_ITEM_NAME] = {H(T) | H(CODE) | H(LANG) | H(NAME) | H(SUP),
                            H(T) | H(CODE) | H(LANG) | H(NAME), 0},
};

/* Everything a field reader needs to report an error. */
struct dctx {
    struct mp_cur c;
    struct relief_op *op;
    const char *tname;
    const char *key;
    char *err;
    size_t errcap;
};

static int lookup_key(const uint8_t *p, uint32_t n)
{
    if (n == 0 || n > 4)
        return -1; /* every key is 1 to 4 bytes */
    for (int k = 0; k < RELIEF_K_COUNT; k++) {
        /* byte by byte, no calls: this runs for every key of every op decoded */
        const char *s = relief_key_names[k];
        uint32_t i = 0;
        while (i < n && s[i] && (uint8_t)s[i] == p[i])
            i++;
        if (i == n && !s[n])
            return k;
    }
    return -1;
}

static int bad(struct dctx *d, int rc, const char *what)
{
    relief_seterr(d->err, d->errcap, "%s: \"%s\" %s", d->tname, d->key, what);
    return rc;
}

/* A str of 1..max bytes (0..max when min0). */
static int rd_str(struct dctx *d, const uint8_t **p, uint32_t *n, uint32_t max, int min0)
{
    if (mp_get_str(&d->c, p, n) != AM_OK)
        return bad(d, AM_EMALFORMED, "must be a string");
    if (*n > max) {
        relief_seterr(d->err, d->errcap,
                      "%s: \"%s\" is %" PRIu32 " bytes long, over the limit of %" PRIu32, d->tname,
                      d->key, *n, max);
        return AM_ELIMIT;
    }
    if (*n == 0 && !min0)
        return bad(d, AM_EMALFORMED, "must not be empty");
    return AM_OK;
}

/* A str of 1..max bytes (0..max when min0) that passes `ok`. */
static int rd_text(struct dctx *d, struct relief_str *out, uint32_t max, int min0,
                   int (*ok)(const uint8_t *, size_t), const char *alphabet)
{
    const uint8_t *p;
    uint32_t n;
    char q[64];
    int rc = rd_str(d, &p, &n, max, min0);

    if (rc != AM_OK)
        return rc;
    if (!ok(p, n)) {
        relief_quote(q, sizeof q, p, n);
        relief_seterr(d->err, d->errcap, "%s: \"%s\" %s must be %s", d->tname, d->key, q, alphabet);
        return AM_EMALFORMED;
    }
    out->p = (const char *)p;
    out->len = n;
    return AM_OK;
}

/* A str of 1..max bytes (0..max when min0) of printable text (am_text.h, PROTOCOL.md
 * §10.2, AM_TEXT_LINES in flags for notes): the error names the first character that
 * breaks the rule and where it is. */
static int rd_printable(struct dctx *d, struct relief_str *out, uint32_t max, int min0,
                        unsigned flags)
{
    const uint8_t *p;
    uint32_t n;
    struct am_text_bad tb;
    char q[64], why[112];
    int rc = rd_str(d, &p, &n, max, min0);

    if (rc != AM_OK)
        return rc;
    if (am_text_check(p, n, flags, &tb) != AM_OK) {
        relief_quote(q, sizeof q, p, n);
        am_text_explain(why, sizeof why, &tb);
        relief_seterr(d->err, d->errcap, "%s: \"%s\" %s must be printable text: %s", d->tname,
                      d->key, q, why);
        return AM_EMALFORMED;
    }
    out->p = (const char *)p;
    out->len = n;
    return AM_OK;
}

static int rd_enum(struct dctx *d, int *out, const char *const *names, const char *list)
{
    const uint8_t *p;
    uint32_t n;
    char q[64];
    int v;

    if (mp_get_str(&d->c, &p, &n) != AM_OK)
        return bad(d, AM_EMALFORMED, "must be a string");
    v = relief_lookup(names, p, n);
    if (!v) {
        relief_quote(q, sizeof q, p, n);
        relief_seterr(d->err, d->errcap, "%s: \"%s\" must be one of %s, not %s", d->tname, d->key,
                      list, q);
        return AM_EMALFORMED;
    }
    *out = v;
    return AM_OK;
}

/* A non-negative integer in any msgpack integer form (a signed form may hold a
 * non-negative value). Returns 1 and *v, 0 when the next object is not an integer, or
 * -1 with *neg when it is negative. */
static int rd_nonneg(struct dctx *d, uint64_t *v, int64_t *neg)
{
    int cls = mp_peek(&d->c);
    int64_t i;

    if (cls == 'u')
        return mp_get_uint(&d->c, v) == AM_OK;
    if (cls != 'i' || mp_get_int(&d->c, &i) != AM_OK)
        return 0;
    if (i < 0) {
        *neg = i;
        return -1;
    }
    *v = (uint64_t)i;
    return 1;
}

/* A day number; nil (stored as 0) only when nil_ok. */
static int rd_day(struct dctx *d, uint32_t *out, int nil_ok)
{
    uint64_t v = 0;
    int64_t neg;
    char what[96];

    if (nil_ok && mp_get_nil(&d->c) == AM_OK) {
        *out = 0;
        return AM_OK;
    }
    if (rd_nonneg(d, &v, &neg) != 1 || v < 1 || v > RELIEF_DAY_MAX) {
        snprintf(what, sizeof what, "must be a day number from 1 to %u (days since 1970-01-01)%s",
                 RELIEF_DAY_MAX, nil_ok ? ", or nil" : "");
        return bad(d, AM_EMALFORMED, what);
    }
    *out = (uint32_t)v;
    return AM_OK;
}

static int rd_qty(struct dctx *d)
{
    int64_t neg = 0;
    uint64_t v = 0;
    int r = rd_nonneg(d, &v, &neg);

    if (r < 0) {
        relief_seterr(d->err, d->errcap, "%s: \"q\" must not be negative (got %" PRId64 ")",
                      d->tname, neg);
        return AM_EMALFORMED;
    }
    if (r == 0)
        return bad(d, AM_EMALFORMED, "must be an integer (base units)");
    if (v > (uint64_t)RELIEF_QTY_MAX) {
        relief_seterr(d->err, d->errcap, "%s: \"q\" is %" PRIu64 ", over the limit of %lld",
                      d->tname, v, (long long)RELIEF_QTY_MAX);
        return AM_ELIMIT;
    }
    d->op->q = (int64_t)v;
    return AM_OK;
}

static int rd_coord(struct dctx *d, int32_t *out, int64_t max, const char *which)
{
    int64_t v;
    char what[96];

    if (mp_get_int(&d->c, &v) != AM_OK || v < -max || v > max) {
        snprintf(what, sizeof what, "%s must be an integer from %lld to %lld micro-degrees", which,
                 -(long long)max, (long long)max);
        return bad(d, AM_EMALFORMED, what);
    }
    *out = (int32_t)v;
    return AM_OK;
}

static int rd_ll(struct dctx *d)
{
    uint32_t n;
    int rc;

    if (mp_get_nil(&d->c) == AM_OK) {
        d->op->ll_set = 0;
        return AM_OK;
    }
    if (mp_get_array(&d->c, &n) != AM_OK || n != 2)
        return bad(d, AM_EMALFORMED, "must be [latitude, longitude] in micro-degrees, or nil");
    if ((rc = rd_coord(d, &d->op->lat, RELIEF_LAT_MAX, "latitude")) != AM_OK)
        return rc;
    if ((rc = rd_coord(d, &d->op->lon, RELIEF_LON_MAX, "longitude")) != AM_OK)
        return rc;
    d->op->ll_set = 1;
    return AM_OK;
}

/* A list of bin-40 refs; sup: strictly ascending (author, seq); ctx: strictly ascending
 * author. */
static int rd_refs(struct dctx *d, struct relief_refs *out, int ctx)
{
    const uint8_t *prev = NULL;
    uint32_t n;
    char what[128];

    if (mp_get_array(&d->c, &n) != AM_OK)
        return bad(d, AM_EMALFORMED, "must be an array of refs (bin 40: author || seq)");
    if (n > RELIEF_REFS_MAX) {
        snprintf(what, sizeof what, "has %" PRIu32 " refs, over the limit of %d", n,
                 RELIEF_REFS_MAX);
        return bad(d, AM_ELIMIT, what);
    }
    out->n = n;
    out->arr = NULL;
    out->mp = d->c.p;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p;
        uint32_t len;
        struct relief_ref r;

        if (mp_get_bin(&d->c, &p, &len) != AM_OK || len != RELIEF_REF_LEN) {
            snprintf(what, sizeof what,
                     "ref #%" PRIu32 " must be a bin of 40 bytes (author || seq)", i);
            return bad(d, AM_EMALFORMED, what);
        }
        relief_ref_unpack(p, &r);
        if (r.seq < 1 || r.seq > INT64_MAX) {
            snprintf(what, sizeof what, "ref #%" PRIu32 " has seq %" PRIu64 ", outside 1 .. 2^63-1",
                     i, r.seq);
            return bad(d, AM_EMALFORMED, what);
        }
        if (prev &&
            (ctx ? memcmp(prev, p, AM_PK_LEN) >= 0 : memcmp(prev, p, RELIEF_REF_LEN) >= 0)) {
            snprintf(what, sizeof what, "ref #%" PRIu32 " is out of order: %s", i,
                     ctx ? "one ref per author, sorted by author"
                         : "refs must be sorted by (author, seq), without repeats");
            return bad(d, AM_EMALFORMED, what);
        }
        prev = p;
    }
    return AM_OK;
}

/* A bin of exactly n bytes into out. */
static int rd_bin(struct dctx *d, uint8_t *out, uint32_t want, const char *what)
{
    const uint8_t *p;
    uint32_t n;
    if (mp_get_bin(&d->c, &p, &n) != AM_OK || n != want)
        return bad(d, AM_EMALFORMED, what);
    memcpy(out, p, want);
    return AM_OK;
}

static int rd_seq(struct dctx *d, uint64_t *out)
{
    uint64_t v = 0;
    int64_t neg;
    if (rd_nonneg(d, &v, &neg) != 1 || v < 1 || v > INT64_MAX)
        return bad(d, AM_EMALFORMED, "must be a seq from 1 to 2^63-1");
    *out = v;
    return AM_OK;
}

static int rd_value(struct dctx *d, int k)
{
    struct relief_op *op = d->op;
    const uint8_t *p;
    uint32_t n;

    switch (k) {
    case RELIEF_K_SLUG:
    case RELIEF_K_SITE:
        return rd_text(d, &op->site, RELIEF_SLUG_MAX, 0, relief_slug_ok,
                       "a-z, 0-9 and '-', starting with a letter or digit");
    case RELIEF_K_CODE:
    case RELIEF_K_ITEM:
        return rd_text(d, &op->item, RELIEF_SLUG_MAX, 0, relief_code_ok,
                       "a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
    case RELIEF_K_CAT:
        return rd_text(d, &op->cat, RELIEF_SLUG_MAX, 0, relief_slug_ok,
                       "a-z, 0-9 and '-', starting with a letter or digit");
    case RELIEF_K_LOT:
        return rd_text(d, &op->lot, RELIEF_SLUG_MAX, 0, relief_lot_ok,
                       "A-Z, a-z, 0-9, '.', '_', '/' and '-', starting with a letter or digit");
    case RELIEF_K_NAME: /* item.name: "" removes the name in that language */
        return rd_printable(d, &op->name, RELIEF_NAME_MAX, op->type == RELIEF_T_ITEM_NAME, 0);
    case RELIEF_K_UNIT:
        return rd_printable(d, &op->unit, RELIEF_UNIT_MAX, 0, 0);
    case RELIEF_K_NOTE:
        return rd_printable(d, &op->note, RELIEF_NOTE_MAX, 1, AM_TEXT_LINES);
    case RELIEF_K_NEED:
        if (mp_get_bin(&d->c, &p, &n) != AM_OK || n != RELIEF_ID_LEN)
            return bad(d, AM_EMALFORMED, "must be a bin of 16 bytes (a need's id)");
        memcpy(op->need, p, RELIEF_ID_LEN);
        return AM_OK;
    case RELIEF_K_KIND:
        return rd_enum(d, &op->kind, relief_kind_names, "hub, shelter, clinic, warehouse, kit");
    case RELIEF_K_PRI:
        return rd_enum(d, &op->pri, relief_pri_names, "critical, high, normal, low");
    case RELIEF_K_ST: {
        static const char *const closes[] = {"", "fulfilled", "cancelled", NULL};
        int v;
        int rc = rd_enum(d, &v, closes, "fulfilled, cancelled");
        op->st = v == 1 ? RELIEF_ST_FULFILLED : RELIEF_ST_CANCELLED;
        return rc;
    }
    case RELIEF_K_R:
        return rd_enum(d, &op->reason, relief_reason_names,
                       "received, issued, transfer-in, transfer-out, expired, lost, found, "
                       "damaged");
    case RELIEF_K_LL:
        return rd_ll(d);
    case RELIEF_K_Q:
        return rd_qty(d);
    case RELIEF_K_EXP:
        return rd_day(d, &op->exp, 0);
    case RELIEF_K_BY:
        return rd_day(d, &op->by, op->type == RELIEF_T_NEED_UPD);
    case RELIEF_K_SUP:
        return rd_refs(d, &op->sup, 0);
    case RELIEF_K_CTX:
        return rd_refs(d, &op->ctx, 1);
    case RELIEF_K_OLD:
        return rd_bin(d, op->old, AM_PK_LEN, "must be a bin of 32 bytes (an author id)");
    case RELIEF_K_SEQ:
        return rd_seq(d, &op->oseq);
    case RELIEF_K_HEAD:
        return rd_bin(d, op->head, AM_HASH_LEN, "must be a bin of 32 bytes (an entry hash)");
    case RELIEF_K_OSIG:
        return rd_bin(d, op->osig, AM_SIG_LEN, "must be a bin of 64 bytes (a signature)");
    case RELIEF_K_SHIP:
        return rd_bin(d, op->ship, RELIEF_ID_LEN, "must be a bin of 16 bytes (a shipment's id)");
    case RELIEF_K_TO:
        return rd_text(d, &op->to, RELIEF_SLUG_MAX, 0, relief_slug_ok,
                       "a-z, 0-9 and '-', starting with a letter or digit");
    case RELIEF_K_LN:
        return relief_lines_read(&d->c, op->type, &op->ln, d->err, d->errcap);
    case RELIEF_K_DOC:
        return rd_printable(d, &op->doc, RELIEF_NAME_MAX, 0, 0);
    case RELIEF_K_PACK:
        return rd_text(d, &op->pack, RELIEF_SLUG_MAX, 0, relief_slug_ok,
                       "a-z, 0-9 and '-', starting with a letter or digit");
    case RELIEF_K_LANG:
        return rd_text(d, &op->lang, RELIEF_LANG_MAX, 0, relief_lang_ok,
                       "a language code: 2 or 3 of a-z");
    default:
        return bad(d, AM_EMALFORMED, "cannot be read"); /* RELIEF_K_T: read in pass 1 */
    }
}

static int decode_op(const uint8_t *op, size_t len, struct relief_op *out, char *err, size_t errcap,
                     int checked)
{
    struct mp_limits lim = mp_limits_entry;
    struct dctx d;
    const uint8_t *t = NULL, *p;
    uint32_t n, tn = 0, kn;
    size_t used = len;
    char q[64];
    int rc = AM_OK;

    memset(out, 0, sizeof *out);
    if (err && errcap)
        err[0] = 0;
    if (len > AM_OP_MAX) {
        relief_seterr(err, errcap, "op is %zu bytes, over the limit of %d", len, AM_OP_MAX);
        return AM_ELIMIT;
    }
    lim.depth_max = AM_MP_DEPTH_MAX - 1; /* inside an entry, an op is one level down */
    if (!checked)
        rc = mp_check(op, len, &used, &lim);
    if (rc == AM_ELIMIT) {
        relief_seterr(err, errcap,
                      "op is over a msgpack limit (nesting %d, string %d bytes, %d elements)",
                      AM_MP_DEPTH_MAX - 1, AM_MP_STR_MAX, AM_MP_CONTAINER_MAX);
        return rc;
    }
    if (rc != AM_OK || used != len) {
        relief_seterr(err, errcap, "op is not one well-formed msgpack object");
        return AM_EMALFORMED;
    }

    /* pass 1: the type. Encoders write "t" first, so this usually reads one key; keys
     * before it must be strings, the rest is checked by pass 2 once the type is known */
    d.c.p = op;
    d.c.end = op + len;
    if (mp_get_map(&d.c, &n) != AM_OK) {
        relief_seterr(err, errcap, "op is not a map");
        return AM_EMALFORMED;
    }
    for (uint32_t i = 0; i < n && !t; i++) {
        if (mp_get_str(&d.c, &p, &kn) != AM_OK) {
            relief_seterr(err, errcap, "op key #%" PRIu32 " is not a string", i);
            return AM_EMALFORMED;
        }
        if (kn == 1 && p[0] == 't') {
            if (mp_get_str(&d.c, &t, &tn) != AM_OK) {
                relief_seterr(err, errcap, "op type \"t\" is not a string");
                return AM_EMALFORMED;
            }
            continue;
        }
        mp_skip(&d.c);
    }
    if (!t) {
        relief_seterr(err, errcap, "op has no type \"t\"");
        return AM_EMALFORMED;
    }
    out->type = relief_lookup(relief_type_names, t, tn);
    if (!out->type) {
        relief_quote(q, sizeof q, t, tn);
        relief_seterr(err, errcap, "op type %s is not known to this version (from a newer one?)",
                      q);
        return AM_EVERSION;
    }

    /* pass 2: the fields of a known type */
    d.c.p = op;
    d.op = out;
    d.tname = relief_type_names[out->type];
    d.err = err;
    d.errcap = errcap;
    mp_get_map(&d.c, &n);
    for (uint32_t i = 0; i < n; i++) {
        int k;
        if (mp_get_str(&d.c, &p, &kn) != AM_OK) {
            relief_seterr(err, errcap, "%s: key #%" PRIu32 " is not a string", d.tname, i);
            return AM_EMALFORMED;
        }
        k = lookup_key(p, kn);
        if (k < 0 || !(rules[out->type].allowed & RELIEF_HAS(k))) {
            relief_quote(q, sizeof q, p, kn);
            relief_seterr(err, errcap, "%s: unknown key %s", d.tname, q);
            return AM_EMALFORMED;
        }
        if (out->has & RELIEF_HAS(k)) {
            relief_seterr(err, errcap, "%s: key \"%s\" appears twice", d.tname,
                          relief_key_names[k]);
            return AM_EMALFORMED;
        }
        out->has |= RELIEF_HAS(k);
        if (k == RELIEF_K_T) {
            mp_skip(&d.c);
            continue;
        }
        d.key = relief_key_names[k];
        if ((rc = rd_value(&d, k)) != AM_OK)
            return rc;
    }
    for (int k = 0; k < RELIEF_K_COUNT; k++) {
        if ((rules[out->type].required & RELIEF_HAS(k)) && !(out->has & RELIEF_HAS(k))) {
            relief_seterr(err, errcap, "%s: missing key \"%s\"", d.tname, relief_key_names[k]);
            return AM_EMALFORMED;
        }
    }
    if (rules[out->type].anyof && !(out->has & rules[out->type].anyof)) {
        char list[96] = "";
        for (int k = 0; k < RELIEF_K_COUNT; k++) {
            if (rules[out->type].anyof & RELIEF_HAS(k)) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s\"%s\"", l ? ", " : "", relief_key_names[k]);
            }
        }
        relief_seterr(err, errcap, "%s: writes nothing: give at least one of %s", d.tname, list);
        return AM_EMALFORMED;
    }
    if (out->type == RELIEF_T_SHIP_NEW && out->site.len == out->to.len &&
        memcmp(out->site.p, out->to.p, out->to.len) == 0) {
        relief_seterr(err, errcap, "%s: \"to\" is \"site\": a shipment goes to another site",
                      d.tname);
        return AM_EMALFORMED;
    }
    if ((out->has & H(Q)) && out->q == 0 && out->type != RELIEF_T_STOCK_COUNT &&
        out->type != RELIEF_T_STOCK_MIN && out->type != RELIEF_T_ITEM_PACK) {
        relief_seterr(err, errcap, "%s: \"q\" must be at least 1", d.tname);
        return AM_EMALFORMED;
    }
    out->raw = op; /* a shipment's object keeps its ops' bytes as they came */
    out->raw_len = len;
    return AM_OK;
}

/* ---- Encoding ---- */

static void pk_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pk_text(msgpack_packer *pk, const struct relief_str *s)
{
    pk_str(pk, s->p ? s->p : "", s->p ? s->len : 0);
}

static void pk_name(msgpack_packer *pk, const char *const *names, int count, int v)
{
    const char *s = v >= 1 && v < count ? names[v] : "";
    pk_str(pk, s, strlen(s));
}

static void pk_refs(msgpack_packer *pk, const struct relief_refs *l)
{
    struct relief_ref_iter it;
    struct relief_ref r;
    uint8_t b[RELIEF_REF_LEN];

    msgpack_pack_array(pk, l->n);
    relief_refs_begin(&it, l);
    while (relief_refs_next(&it, &r)) {
        relief_ref_pack(&r, b);
        msgpack_pack_bin(pk, RELIEF_REF_LEN);
        msgpack_pack_bin_body(pk, b, RELIEF_REF_LEN);
    }
}

int relief_op_encode(const struct relief_op *op, uint8_t *buf, size_t cap, size_t *len, char *err,
                     size_t errcap)
{
    struct relief_wbuf wb = {buf, 0, cap};
    msgpack_packer pk;
    struct relief_op chk;
    uint32_t has = op->has | H(T);
    uint32_t nkeys = 0;
    int rc;

    if (op->type < RELIEF_T_SITE || op->type > RELIEF_T_LAST) {
        relief_seterr(err, errcap, "op type %d does not exist", op->type);
        return AM_EINVAL;
    }
    if ((op->sup.n && !op->sup.arr && !op->sup.mp) || (op->ctx.n && !op->ctx.arr && !op->ctx.mp) ||
        op->sup.n > RELIEF_REFS_MAX || op->ctx.n > RELIEF_REFS_MAX) {
        relief_seterr(err, errcap, "%s: a ref list has no refs or more than %d",
                      relief_type_name(op->type), RELIEF_REFS_MAX);
        return op->sup.n > RELIEF_REFS_MAX || op->ctx.n > RELIEF_REFS_MAX ? AM_ELIMIT : AM_EINVAL;
    }
    for (int k = 0; k < RELIEF_K_COUNT; k++)
        nkeys += (has >> k) & 1;
    if (has >> RELIEF_K_COUNT) {
        relief_seterr(err, errcap, "%s: unknown has bits", relief_type_name(op->type));
        return AM_EINVAL;
    }

    msgpack_packer_init(&pk, &wb, relief_wbuf_write);
    msgpack_pack_map(&pk, nkeys);
    for (int k = 0; k < RELIEF_K_COUNT; k++) {
        if (!(has & RELIEF_HAS(k)))
            continue;
        pk_str(&pk, relief_key_names[k], strlen(relief_key_names[k]));
        switch (k) {
        case RELIEF_K_T:
            pk_name(&pk, relief_type_names, RELIEF_T_LAST + 1, op->type);
            break;
        case RELIEF_K_SLUG:
        case RELIEF_K_SITE:
            pk_text(&pk, &op->site);
            break;
        case RELIEF_K_CODE:
        case RELIEF_K_ITEM:
            pk_text(&pk, &op->item);
            break;
        case RELIEF_K_NEED:
            msgpack_pack_bin(&pk, RELIEF_ID_LEN);
            msgpack_pack_bin_body(&pk, op->need, RELIEF_ID_LEN);
            break;
        case RELIEF_K_NAME:
            pk_text(&pk, &op->name);
            break;
        case RELIEF_K_KIND:
            pk_name(&pk, relief_kind_names, 6, op->kind);
            break;
        case RELIEF_K_LL:
            if (op->ll_set) {
                msgpack_pack_array(&pk, 2);
                msgpack_pack_int32(&pk, op->lat);
                msgpack_pack_int32(&pk, op->lon);
            } else {
                msgpack_pack_nil(&pk);
            }
            break;
        case RELIEF_K_UNIT:
            pk_text(&pk, &op->unit);
            break;
        case RELIEF_K_CAT:
            pk_text(&pk, &op->cat);
            break;
        case RELIEF_K_Q:
            msgpack_pack_int64(&pk, op->q);
            break;
        case RELIEF_K_PRI:
            pk_name(&pk, relief_pri_names, 5, op->pri);
            break;
        case RELIEF_K_ST:
            pk_name(&pk, relief_status_names, 4, op->st);
            break;
        case RELIEF_K_R:
            pk_name(&pk, relief_reason_names, 9, op->reason);
            break;
        case RELIEF_K_LOT:
            pk_text(&pk, &op->lot);
            break;
        case RELIEF_K_EXP:
            msgpack_pack_uint32(&pk, op->exp);
            break;
        case RELIEF_K_BY:
            if (op->by)
                msgpack_pack_uint32(&pk, op->by);
            else
                msgpack_pack_nil(&pk);
            break;
        case RELIEF_K_NOTE:
            pk_text(&pk, &op->note);
            break;
        case RELIEF_K_CTX:
            pk_refs(&pk, &op->ctx);
            break;
        case RELIEF_K_SUP:
            pk_refs(&pk, &op->sup);
            break;
        case RELIEF_K_OLD:
            msgpack_pack_bin(&pk, AM_PK_LEN);
            msgpack_pack_bin_body(&pk, op->old, AM_PK_LEN);
            break;
        case RELIEF_K_SEQ:
            msgpack_pack_uint64(&pk, op->oseq);
            break;
        case RELIEF_K_HEAD:
            msgpack_pack_bin(&pk, AM_HASH_LEN);
            msgpack_pack_bin_body(&pk, op->head, AM_HASH_LEN);
            break;
        case RELIEF_K_OSIG:
            msgpack_pack_bin(&pk, AM_SIG_LEN);
            msgpack_pack_bin_body(&pk, op->osig, AM_SIG_LEN);
            break;
        case RELIEF_K_SHIP:
            msgpack_pack_bin(&pk, RELIEF_ID_LEN);
            msgpack_pack_bin_body(&pk, op->ship, RELIEF_ID_LEN);
            break;
        case RELIEF_K_TO:
            pk_text(&pk, &op->to);
            break;
        case RELIEF_K_LN:
            relief_lines_pack(&pk, &op->ln);
            break;
        case RELIEF_K_DOC:
            pk_text(&pk, &op->doc);
            break;
        case RELIEF_K_PACK:
            pk_text(&pk, &op->pack);
            break;
        case RELIEF_K_LANG:
            pk_text(&pk, &op->lang);
            break;
        }
    }
    if (wb.len > cap || wb.len > AM_OP_MAX) {
        relief_seterr(err, errcap, "%s: the op needs %zu bytes, over %s (%zu)",
                      relief_type_name(op->type), wb.len,
                      wb.len > AM_OP_MAX ? "the op limit" : "the buffer",
                      wb.len > AM_OP_MAX ? (size_t)AM_OP_MAX : cap);
        return AM_ELIMIT;
    }
    rc = relief_op_decode(buf, wb.len, &chk, err, errcap);
    if (rc == AM_ELIMIT)
        return rc;
    if (rc != AM_OK)
        return AM_EINVAL;
    *len = wb.len;
    return AM_OK;
}

/* ---- Objects ---- */

static int copy_id(char dst[static RELIEF_SLUG_MAX + 1], const struct relief_str *s)
{
    if (s->len > RELIEF_SLUG_MAX || (s->len && !s->p))
        return AM_EINVAL;
    if (s->len)
        memcpy(dst, s->p, s->len);
    dst[s->len] = 0;
    return AM_OK;
}

int relief_op_key(const struct relief_op *op, const uint8_t *hash, struct relief_key *key)
{
    memset(key, 0, sizeof *key);
    switch (op->type) {
    case RELIEF_T_SITE:
        key->kind = RELIEF_OBJ_SITE;
        return op->site.len ? copy_id(key->site, &op->site) : AM_EINVAL;
    case RELIEF_T_ITEM:
        key->kind = RELIEF_OBJ_ITEM;
        return op->item.len ? copy_id(key->item, &op->item) : AM_EINVAL;
    case RELIEF_T_NEED_OPEN:
        if (!hash)
            return AM_EINVAL;
        key->kind = RELIEF_OBJ_NEED;
        relief_need_id(hash, key->need);
        return AM_OK;
    case RELIEF_T_NEED_UPD:
    case RELIEF_T_NEED_DLV:
    case RELIEF_T_NEED_CLOSE:
        key->kind = RELIEF_OBJ_NEED;
        memcpy(key->need, op->need, RELIEF_ID_LEN);
        return AM_OK;
    case RELIEF_T_SUCCESSION:
        key->kind = RELIEF_OBJ_SUCC;
        memcpy(key->author, op->old, AM_PK_LEN);
        return AM_OK;
    case RELIEF_T_STOCK_MOVE:
    case RELIEF_T_STOCK_COUNT:
        key->kind = RELIEF_OBJ_CELL;
        if (!op->site.len || !op->item.len || copy_id(key->site, &op->site) != AM_OK ||
            copy_id(key->item, &op->item) != AM_OK)
            return AM_EINVAL;
        if ((op->has & H(LOT)) && copy_id(key->lot, &op->lot) != AM_OK)
            return AM_EINVAL;
        key->exp = (op->has & H(EXP)) ? op->exp : 0;
        return AM_OK;
    case RELIEF_T_STOCK_MIN:
        key->kind = RELIEF_OBJ_MIN;
        if (!op->site.len || !op->item.len || copy_id(key->site, &op->site) != AM_OK ||
            copy_id(key->item, &op->item) != AM_OK)
            return AM_EINVAL;
        return AM_OK;
    case RELIEF_T_SHIP_NEW: /* the id comes from the entry, as a need's (10.7) */
        if (!hash)
            return AM_EINVAL;
        key->kind = RELIEF_OBJ_SHIP;
        relief_need_id(hash, key->need);
        return AM_OK;
    case RELIEF_T_SHIP_DSP:
    case RELIEF_T_SHIP_RCV:
    case RELIEF_T_SHIP_CXL:
        key->kind = RELIEF_OBJ_SHIP;
        memcpy(key->need, op->ship, RELIEF_ID_LEN);
        return AM_OK;
    case RELIEF_T_ITEM_PACK:
        key->kind = RELIEF_OBJ_PACK;
        if (!op->item.len || !op->pack.len || copy_id(key->item, &op->item) != AM_OK ||
            copy_id(key->pack, &op->pack) != AM_OK)
            return AM_EINVAL;
        return AM_OK;
    case RELIEF_T_ITEM_NAME:
        key->kind = RELIEF_OBJ_LNAME;
        if (!op->item.len || !op->lang.len || op->lang.len > RELIEF_LANG_MAX ||
            copy_id(key->item, &op->item) != AM_OK || copy_id(key->lang, &op->lang) != AM_OK)
            return AM_EINVAL;
        return AM_OK;
    default:
        return AM_EINVAL;
    }
}

/* Appends a length-prefixed identifier. */
static int put_id(uint8_t *out, size_t *o, const char *s)
{
    size_t n = strnlen(s, RELIEF_SLUG_MAX + 1);
    if (n > RELIEF_SLUG_MAX)
        return AM_EINVAL;
    out[(*o)++] = (uint8_t)n;
    memcpy(out + *o, s, n);
    *o += n;
    return AM_OK;
}

int relief_key_encode(const struct relief_key *key, uint8_t out[static RELIEF_KEY_MAX], size_t *len)
{
    size_t o = 1, n;

    out[0] = (uint8_t)key->kind;
    switch (key->kind) {
    case RELIEF_OBJ_SITE:
    case RELIEF_OBJ_ITEM: {
        const char *s = key->kind == RELIEF_OBJ_SITE ? key->site : key->item;
        n = strnlen(s, RELIEF_SLUG_MAX + 1);
        if (n == 0 || n > RELIEF_SLUG_MAX)
            return AM_EINVAL;
        memcpy(out + 1, s, n);
        *len = 1 + n;
        return AM_OK;
    }
    case RELIEF_OBJ_NEED:
    case RELIEF_OBJ_SHIP:
        memcpy(out + 1, key->need, RELIEF_ID_LEN);
        *len = 1 + RELIEF_ID_LEN;
        return AM_OK;
    case RELIEF_OBJ_CELL:
        if (!key->site[0] || !key->item[0] || put_id(out, &o, key->site) != AM_OK ||
            put_id(out, &o, key->item) != AM_OK || put_id(out, &o, key->lot) != AM_OK)
            return AM_EINVAL;
        for (int i = 0; i < 4; i++)
            out[o++] = (uint8_t)(key->exp >> (24 - 8 * i));
        *len = o;
        return AM_OK;
    case RELIEF_OBJ_SUCC:
        memcpy(out + 1, key->author, AM_PK_LEN);
        *len = 1 + AM_PK_LEN;
        return AM_OK;
    case RELIEF_OBJ_MIN:
        if (!key->site[0] || !key->item[0] || put_id(out, &o, key->site) != AM_OK ||
            put_id(out, &o, key->item) != AM_OK)
            return AM_EINVAL;
        *len = o;
        return AM_OK;
    case RELIEF_OBJ_PACK:
        if (!key->item[0] || !key->pack[0] || put_id(out, &o, key->item) != AM_OK ||
            put_id(out, &o, key->pack) != AM_OK)
            return AM_EINVAL;
        *len = o;
        return AM_OK;
    case RELIEF_OBJ_LNAME:
        if (!key->item[0] || !relief_lang_ok((const uint8_t *)key->lang, strlen(key->lang)) ||
            put_id(out, &o, key->item) != AM_OK || put_id(out, &o, key->lang) != AM_OK)
            return AM_EINVAL;
        *len = o;
        return AM_OK;
    default:
        return AM_EINVAL;
    }
}

static int get_id(const uint8_t *in, size_t len, size_t *o, char dst[static RELIEF_SLUG_MAX + 1])
{
    size_t n;
    if (*o >= len)
        return AM_EMALFORMED;
    n = in[(*o)++];
    if (n > RELIEF_SLUG_MAX || n > len - *o)
        return AM_EMALFORMED;
    memcpy(dst, in + *o, n);
    dst[n] = 0;
    *o += n;
    return AM_OK;
}

int relief_key_decode(const uint8_t *in, size_t len, struct relief_key *key)
{
    size_t o = 1;

    memset(key, 0, sizeof *key);
    if (len < 2)
        return AM_EMALFORMED;
    key->kind = in[0];
    switch (in[0]) {
    case RELIEF_OBJ_SITE:
    case RELIEF_OBJ_ITEM:
        if (len - 1 > RELIEF_SLUG_MAX)
            return AM_EMALFORMED;
        memcpy(in[0] == RELIEF_OBJ_SITE ? key->site : key->item, in + 1, len - 1);
        return AM_OK;
    case RELIEF_OBJ_NEED:
    case RELIEF_OBJ_SHIP:
        if (len != 1 + RELIEF_ID_LEN)
            return AM_EMALFORMED;
        memcpy(key->need, in + 1, RELIEF_ID_LEN);
        return AM_OK;
    case RELIEF_OBJ_CELL:
        if (get_id(in, len, &o, key->site) != AM_OK || get_id(in, len, &o, key->item) != AM_OK ||
            get_id(in, len, &o, key->lot) != AM_OK || len - o != 4 || !key->site[0] ||
            !key->item[0])
            return AM_EMALFORMED;
        key->exp = (uint32_t)in[o] << 24 | (uint32_t)in[o + 1] << 16 | (uint32_t)in[o + 2] << 8 |
                   in[o + 3];
        return AM_OK;
    case RELIEF_OBJ_SUCC:
        if (len != 1 + AM_PK_LEN)
            return AM_EMALFORMED;
        memcpy(key->author, in + 1, AM_PK_LEN);
        return AM_OK;
    case RELIEF_OBJ_MIN:
        if (get_id(in, len, &o, key->site) != AM_OK || get_id(in, len, &o, key->item) != AM_OK ||
            o != len || !key->site[0] || !key->item[0])
            return AM_EMALFORMED;
        return AM_OK;
    case RELIEF_OBJ_PACK:
        if (get_id(in, len, &o, key->item) != AM_OK || get_id(in, len, &o, key->pack) != AM_OK ||
            o != len || !key->item[0] || !key->pack[0])
            return AM_EMALFORMED;
        return AM_OK;
    case RELIEF_OBJ_LNAME:
        if (get_id(in, len, &o, key->item) != AM_OK || get_id(in, len, &o, key->lang) != AM_OK ||
            o != len || !key->item[0] ||
            !relief_lang_ok((const uint8_t *)key->lang, strlen(key->lang)))
            return AM_EMALFORMED;
        return AM_OK;
    default:
        return AM_EMALFORMED;
    }
}

int relief_op_check_refs(const struct relief_op *op,
                         int (*exists)(void *ctx, const struct relief_key *key), void *ctx,
                         char *err, size_t errcap)
{
    struct relief_key k;
    char hex[33];

    memset(&k, 0, sizeof k);
    switch (op->type) {
    case RELIEF_T_NEED_OPEN:
    case RELIEF_T_STOCK_MOVE:
    case RELIEF_T_STOCK_COUNT:
    case RELIEF_T_STOCK_MIN:
        k.kind = RELIEF_OBJ_SITE;
        if (copy_id(k.site, &op->site) != AM_OK)
            return AM_EINVAL;
        if (!exists(ctx, &k)) {
            relief_seterr(err, errcap, "%s: site \"%s\" is not defined (define it with a site op)",
                          relief_type_name(op->type), k.site);
            return AM_ENOTFOUND;
        }
        memset(&k, 0, sizeof k);
        k.kind = RELIEF_OBJ_ITEM;
        if (copy_id(k.item, &op->item) != AM_OK)
            return AM_EINVAL;
        if (!exists(ctx, &k)) {
            relief_seterr(err, errcap, "%s: item \"%s\" is not defined (define it with an item op)",
                          relief_type_name(op->type), k.item);
            return AM_ENOTFOUND;
        }
        return AM_OK;
    case RELIEF_T_NEED_UPD:
    case RELIEF_T_NEED_DLV:
    case RELIEF_T_NEED_CLOSE:
        k.kind = RELIEF_OBJ_NEED;
        memcpy(k.need, op->need, RELIEF_ID_LEN);
        if (!exists(ctx, &k)) {
            relief_id_hex(op->need, hex);
            relief_seterr(err, errcap, "%s: need %s has not been opened here",
                          relief_type_name(op->type), hex);
            return AM_ENOTFOUND;
        }
        return AM_OK;
    case RELIEF_T_SHIP_NEW:
    case RELIEF_T_SHIP_DSP:
    case RELIEF_T_SHIP_RCV:
    case RELIEF_T_SHIP_CXL:
        return relief_ship_check_refs(op, exists, ctx, err, errcap);
    case RELIEF_T_ITEM_PACK:
    case RELIEF_T_ITEM_NAME:
        k.kind = RELIEF_OBJ_ITEM;
        if (copy_id(k.item, &op->item) != AM_OK)
            return AM_EINVAL;
        if (!exists(ctx, &k)) {
            relief_seterr(err, errcap, "%s: item \"%s\" is not defined (define it with an item op)",
                          relief_type_name(op->type), k.item);
            return AM_ENOTFOUND;
        }
        return AM_OK;
    default:
        return AM_OK;
    }
}

int relief_op_decode(const uint8_t *op, size_t len, struct relief_op *out, char *err, size_t errcap)
{
    return decode_op(op, len, out, err, errcap, 0);
}

int relief_op_decode_entry_op(const uint8_t *op, size_t len, struct relief_op *out, char *err,
                              size_t errcap)
{
    return decode_op(op, len, out, err, errcap, 1);
}

/* ---- Successions (PROTOCOL.md 10.4, §1) ---- */

void relief_succession_msg(const uint8_t new_author[static AM_PK_LEN], uint64_t seq,
                           const uint8_t head[static AM_HASH_LEN],
                           uint8_t out[static RELIEF_SUCC_MSG_LEN])
{
    size_t o = RELIEF_SUCC_LABEL_LEN;
    memcpy(out, RELIEF_SUCC_LABEL, RELIEF_SUCC_LABEL_LEN); /* the label and its NUL */
    memcpy(out + o, new_author, AM_PK_LEN);
    o += AM_PK_LEN;
    for (int i = 0; i < 8; i++)
        out[o++] = (uint8_t)(seq >> (56 - 8 * i));
    memcpy(out + o, head, AM_HASH_LEN);
}

int relief_op_check_author(const struct relief_op *op, const uint8_t author[static AM_PK_LEN],
                           char *err, size_t errcap)
{
    uint8_t msg[RELIEF_SUCC_MSG_LEN];
    char hex[17];

    if (op->type != RELIEF_T_SUCCESSION)
        return AM_OK;
    if (memcmp(op->old, author, AM_PK_LEN) == 0) {
        relief_seterr(err, errcap,
                      "succession: \"old\" is the entry's own author: a key cannot succeed itself");
        return AM_EMALFORMED;
    }
    relief_succession_msg(author, op->oseq, op->head, msg);
    if (crypto_sign_verify_detached(op->osig, msg, sizeof msg, op->old) != 0) {
        for (int i = 0; i < 8; i++)
            snprintf(hex + 2 * i, 3, "%02x", op->old[i]);
        relief_seterr(err, errcap,
                      "succession: \"osig\" is not a signature by the old key %s over this "
                      "succession (both keys must sign it)",
                      hex);
        return AM_EBADSIG;
    }
    return AM_OK;
}
