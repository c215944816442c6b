/*
 * relief_util.c: names of relief values, text and identifier checks, refs, dates and
 * short ids (see relief.h). Pure; never prints; allocates nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "relief_int.h"

const char *const relief_type_names[] = {
    "",           "site",       "item",        "need.open",  "need.upd",  "need.dlv",
    "need.close", "stock.move", "stock.count", "succession", "stock.min", "ship.new",
    "ship.dsp",   "ship.rcv",   "ship.cxl",    "item.pack",  "item.name", NULL,
};
const char *const relief_kind_names[] = {
    "", "hub", "shelter", "clinic", "warehouse", "kit", NULL,
};
const char *const relief_pri_names[] = {
    "", "critical", "high", "normal", "low", NULL,
};
const char *const relief_status_names[] = {
    "", "open", "fulfilled", "cancelled", NULL,
};
const char *const relief_reason_names[] = {
    "",        "received", "issued", "transfer-in", "transfer-out",
    "expired", "lost",     "found",  "damaged",     NULL,
};
const char *const relief_key_names[] = {
    "t",   "slug", "code", "site", "item", "need", "name", "kind", "ll",   "unit", "cat",
    "q",   "pri",  "st",   "r",    "lot",  "exp",  "by",   "note", "ctx",  "sup",  "old",
    "seq", "head", "osig", "ship", "to",   "ln",   "doc",  "pack", "lang", NULL,
};
static const char *const ship_status_names[] = {
    "", "created", "dispatched", "received", "cancelled", NULL,
};
static const char *const field_names[] = {
    "name", "kind", "ll", "unit", "cat", "q", "pri", "note", "by", "st", NULL,
};

static const char *name_of(const char *const *names, int count, int v, int first)
{
    if (v < first || v >= count)
        return "?";
    return names[v];
}

const char *relief_type_name(int type)
{
    return name_of(relief_type_names, RELIEF_T_LAST + 1, type, 1);
}
const char *relief_ship_status_name(int st)
{
    return name_of(ship_status_names, 5, st, 1);
}
const char *relief_kind_name(int kind)
{
    return name_of(relief_kind_names, 6, kind, 1);
}
const char *relief_priority_name(int pri)
{
    return name_of(relief_pri_names, 5, pri, 1);
}
const char *relief_status_name(int st)
{
    return name_of(relief_status_names, 4, st, 1);
}
const char *relief_reason_name(int reason)
{
    return name_of(relief_reason_names, 9, reason, 1);
}
const char *relief_field_name(int field)
{
    return name_of(field_names, RELIEF_F_COUNT, field, 0);
}

int relief_reason_sign(int reason)
{
    switch (reason) {
    case RELIEF_R_RECEIVED:
    case RELIEF_R_TRANSFER_IN:
    case RELIEF_R_FOUND:
        return 1;
    case RELIEF_R_ISSUED:
    case RELIEF_R_TRANSFER_OUT:
    case RELIEF_R_EXPIRED:
    case RELIEF_R_LOST:
    case RELIEF_R_DAMAGED:
        return -1;
    default:
        return 0;
    }
}

int relief_lookup(const char *const *names, const uint8_t *p, size_t n)
{
    for (int i = 1; names[i]; i++) {
        /* byte by byte, no calls: this runs for the type and enums of every op decoded */
        const char *s = names[i];
        size_t k = 0;
        while (k < n && s[k] && (uint8_t)s[k] == p[k])
            k++;
        if (k == n && !s[n])
            return i;
    }
    return 0;
}

/* ---- Text ---- */

void relief_seterr(char *err, size_t errcap, const char *fmt, ...)
{
    va_list ap;
    if (!err || errcap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

void relief_quote(char *out, size_t cap, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;

    if (cap < 8) {
        if (cap)
            out[0] = 0;
        return;
    }
    out[o++] = '"';
    for (i = 0; i < n && o + 6 < cap && i < 40; i++) {
        uint8_t b = p[i];
        if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
            out[o++] = (char)b;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[b >> 4];
            out[o++] = hex[b & 15];
        }
    }
    if (i < n && o + 4 < cap) {
        out[o++] = '.';
        out[o++] = '.';
        out[o++] = '.';
    }
    out[o++] = '"';
    out[o] = 0;
}

static int lower_digit(uint8_t b)
{
    return (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9');
}

int relief_slug_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || !lower_digit(p[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!lower_digit(p[i]) && p[i] != '-')
            return 0;
    return 1;
}

int relief_lang_ok(const uint8_t *p, size_t n)
{
    if (n < 2 || n > RELIEF_LANG_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 'a' || p[i] > 'z')
            return 0;
    return 1;
}

int relief_code_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || !lower_digit(p[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!lower_digit(p[i]) && p[i] != '-' && p[i] != '.' && p[i] != '_')
            return 0;
    return 1;
}

int relief_lot_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || !(lower_digit(p[0]) || (p[0] >= 'A' && p[0] <= 'Z')))
        return 0;
    for (size_t i = 1; i < n; i++) {
        uint8_t b = p[i];
        if (!lower_digit(b) && !(b >= 'A' && b <= 'Z') && b != '-' && b != '.' && b != '_' &&
            b != '/')
            return 0;
    }
    return 1;
}

/* ---- msgpack-c into a fixed buffer ---- */

int relief_wbuf_write(void *data, const char *buf, size_t len)
{
    struct relief_wbuf *b = data;
    if (len && b->p && b->len <= b->cap && len <= b->cap - b->len)
        memcpy(b->p + b->len, buf, len);
    b->len += len; /* keeps counting past cap so the caller learns the size it needs */
    return 0;
}

/* ---- Refs ---- */

void relief_ref_pack(const struct relief_ref *r, uint8_t out[static RELIEF_REF_LEN])
{
    memcpy(out, r->author, AM_PK_LEN);
    for (int i = 0; i < 8; i++)
        out[AM_PK_LEN + i] = (uint8_t)(r->seq >> (56 - 8 * i));
}

void relief_ref_unpack(const uint8_t in[static RELIEF_REF_LEN], struct relief_ref *r)
{
    memcpy(r->author, in, AM_PK_LEN);
    r->seq = 0;
    for (int i = 0; i < 8; i++)
        r->seq = (r->seq << 8) | in[AM_PK_LEN + i];
}

void relief_refs_begin(struct relief_ref_iter *it, const struct relief_refs *l)
{
    it->l = l;
    it->i = 0;
    it->p = l->mp;
}

int relief_refs_next(struct relief_ref_iter *it, struct relief_ref *out)
{
    if (it->i >= it->l->n)
        return 0;
    if (it->l->arr) {
        *out = it->l->arr[it->i++];
        return 1;
    }
    /* validated by relief_op_decode: a bin 8/16/32 header of length 40, then 40 bytes */
    switch (it->p[0]) {
    case 0xc4:
        it->p += 2;
        break;
    case 0xc5:
        it->p += 3;
        break;
    default:
        it->p += 5;
        break;
    }
    relief_ref_unpack(it->p, out);
    it->p += RELIEF_REF_LEN;
    it->i++;
    return 1;
}

static int ref_cmp(const void *a, const void *b)
{
    const struct relief_ref *x = a, *y = b;
    int c = memcmp(x->author, y->author, AM_PK_LEN);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void relief_refs_sort(struct relief_ref *refs, uint32_t *n)
{
    uint32_t o = 0;
    if (*n == 0)
        return;
    qsort(refs, *n, sizeof *refs, ref_cmp);
    for (uint32_t i = 1; i < *n; i++)
        if (ref_cmp(&refs[o], &refs[i]) != 0)
            refs[++o] = refs[i];
    *n = o + 1;
}

void relief_ctx_normalize(struct relief_ref *refs, uint32_t *n)
{
    uint32_t o = 0;
    if (*n == 0)
        return;
    qsort(refs, *n, sizeof *refs, ref_cmp);
    for (uint32_t i = 1; i < *n; i++) {
        if (memcmp(refs[o].author, refs[i].author, AM_PK_LEN) == 0)
            refs[o].seq = refs[i].seq; /* ascending: the last one is the highest */
        else
            refs[++o] = refs[i];
    }
    *n = o + 1;
}

/* ---- Dates: days since 1970-01-01 in the proleptic Gregorian calendar ---- */

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int relief_day_from_ymd(int y, int m, int d, uint32_t *day)
{
    long yy, era, yoe, doy, doe, days;

    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
        return AM_EINVAL;
    /* count from 0000-03-01 so that the leap day ends each 4-year cycle */
    yy = m <= 2 ? y - 1 : y;
    era = yy / 400;
    yoe = yy - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468; /* 719468 = days from 0000-03-01 to 1970-01-01 */
    if (days < 1)
        return AM_EINVAL;
    *day = (uint32_t)days;
    return AM_OK;
}

void relief_day_to_ymd(uint32_t day, int *y, int *m, int *d)
{
    long z = (long)day + 719468, era, doe, yoe, doy, mp;

    era = z / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int relief_day_parse(const char *s, uint32_t *day)
{
    int v[3] = {0, 0, 0};
    static const int width[3] = {4, 2, 2};

    for (int f = 0; f < 3; f++) {
        for (int k = 0; k < width[f]; k++, s++) {
            if (*s < '0' || *s > '9')
                return AM_EINVAL;
            v[f] = v[f] * 10 + (*s - '0');
        }
        if (f < 2 && *s++ != '-')
            return AM_EINVAL;
    }
    if (*s)
        return AM_EINVAL;
    return relief_day_from_ymd(v[0], v[1], v[2], day);
}

void relief_day_format(uint32_t day, char out[static 11])
{
    int y, m, d;
    if (day > RELIEF_DAY_MAX)
        day = RELIEF_DAY_MAX;
    relief_day_to_ymd(day, &y, &m, &d);
    /* y is 1970..9999, m 1..12, d 1..31 (RELIEF_DAY_MAX): the text is always 10 bytes;
     * the ranges are spelt out so the compiler can see it too */
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u);
}

/* ---- Ids ---- */

void relief_need_id(const uint8_t hash[static AM_HASH_LEN], uint8_t id[static RELIEF_ID_LEN])
{
    memcpy(id, hash, RELIEF_ID_LEN);
}

void relief_id_hex(const uint8_t id[static RELIEF_ID_LEN], char out[static 33])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < RELIEF_ID_LEN; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[32] = 0;
}

/* Hex digits two ids have in common at the start. */
static unsigned common_nibbles(const uint8_t *a, const uint8_t *b)
{
    unsigned n = 0;
    for (int i = 0; i < RELIEF_ID_LEN; i++) {
        if (a[i] == b[i]) {
            n += 2;
            continue;
        }
        if ((a[i] >> 4) == (b[i] >> 4))
            n++;
        break;
    }
    return n;
}

unsigned relief_id_short_len(const uint8_t (*ids)[RELIEF_ID_LEN], size_t n, size_t i)
{
    unsigned need = 0, c;
    if (i > 0 && (c = common_nibbles(ids[i], ids[i - 1])) > need)
        need = c;
    if (i + 1 < n && (c = common_nibbles(ids[i], ids[i + 1])) > need)
        need = c;
    need++;
    if (need < RELIEF_ID_SHORT_MIN)
        need = RELIEF_ID_SHORT_MIN;
    return need > 32 ? 32 : need;
}
