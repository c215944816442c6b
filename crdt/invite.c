/*
 * invite.c: the invite code (PROTOCOL.md section "Invite code"): format, parse, and the
 * keys derived from a network's secret. Pure: no I/O, no randomness, never prints.
 *
 * Layout. The 16-byte secret is read as 128 bits, most significant bit of byte 0 first,
 * and cut into 26 five-bit symbols; the last symbol holds the final 3 secret bits and 2
 * pad bits that are zero. Two more symbols carry a 10-bit checksum (the first 10 bits of
 * BLAKE2b-256 keyed with the secret over AM_INVITE_CHECKSUM_LABEL). These 28 symbols form
 * 7 groups of 4; each group is followed by its check symbol and the groups are joined by
 * dashes after the prefix "am1-", in lowercase Crockford base32:
 *     am1-xxxxc-xxxxc-xxxxc-xxxxc-xxxxc-xxxxc-xxxxc    (45 characters)
 *
 * Group check. Symbols are elements of GF(32) = GF(2)[x]/(x^5 + x^2 + 1), alpha = x.
 * Group g (0..6) with data symbols v0..v3 has check
 *     c = alpha^(4g+1) v0 + alpha^(4g+2) v1 + alpha^(4g+3) v2 + alpha^(4g+4) v3,
 * i.e. a valid group satisfies  sum_i w_i s_i = 0  over its five symbols, where the check
 * symbol carries weight w = alpha^0 = 1. The 28 data weights alpha^1..alpha^28 and the check
 * weight alpha^0 are pairwise distinct (exponents below 31, the order of alpha). Hence:
 *  - a single wrong symbol s -> s + e (e != 0) changes the sum by w e != 0: always caught;
 *  - swapping two symbols a != b at positions j, k of one group (neighbours or not, the
 *    check symbol included) changes it by (w_j + w_k)(a + b) != 0: always caught;
 *  - an adjacent swap across a dash changes one group's check symbol: always caught;
 *  - a whole group typed at another position is caught unless its data happen to satisfy
 *    one linear equation: 31 times in 32.
 * (Exponents 5g+i+1 would reach 31 = alpha^0 in group 7 and give a data symbol the check
 * symbol's weight; 4g+i+1 keeps every weight distinct.)
 * What the group checks miss (several typos in one group) meets the 2 pad bits and the
 * 10-bit checksum: a wrong secret then passes silently about once in 4096.
 */
#include "invite.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"

#define INVITE_PREFIX      "am1-"
#define INVITE_PREFIX_LEN  4
#define INVITE_GROUPS      7
#define INVITE_GROUP_DATA  4
#define INVITE_GROUP_LEN   (INVITE_GROUP_DATA + 1)             /* data + check */
#define INVITE_SYMS        (INVITE_GROUPS * INVITE_GROUP_DATA) /* 28 */
#define INVITE_SECRET_SYMS 26                                  /* 130 bits */
#define INVITE_TYPED       (INVITE_GROUPS * INVITE_GROUP_LEN)  /* 35 after the prefix */
#define INVITE_TEXT_LEN    (INVITE_PREFIX_LEN + INVITE_TYPED + INVITE_GROUPS - 1) /* 45 */

static const char crockford[33] = "0123456789abcdefghjkmnpqrstvwxyz";

/* The value of one typed character, aliases and either case, or -1. */
static int sym_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        ch = (unsigned char)(ch - 'A' + 'a');
    if (ch == 'o')
        return 0;
    if (ch == 'i' || ch == 'l')
        return 1;
    for (int v = 0; v < 32; v++)
        if (crockford[v] == (char)ch)
            return v;
    return -1;
}

static int is_separator(unsigned char ch)
{
    return ch == '-' || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* a * x in GF(32) with x^5 = x^2 + 1. */
static unsigned gf32_xtime(unsigned a)
{
    return ((a << 1) ^ (0x25u & (0u - ((a >> 4) & 1u)))) & 31u;
}

/* a * b in GF(32), without branches on the (secret) operands. */
static unsigned gf32_mul(unsigned a, unsigned b)
{
    unsigned r = 0;
    for (int i = 0; i < 5; i++) {
        r ^= a & (0u - ((b >> i) & 1u));
        a = gf32_xtime(a);
    }
    return r;
}

/* The check symbol of group g over its 4 data symbols. */
static unsigned group_check(int g, const uint8_t data[static INVITE_GROUP_DATA])
{
    unsigned w = 1, c = 0;
    for (int e = 0; e < INVITE_GROUP_DATA * g + 1; e++)
        w = gf32_xtime(w); /* w = alpha^(4g+1) */
    for (int i = 0; i < INVITE_GROUP_DATA; i++) {
        c ^= gf32_mul(w, data[i]);
        w = gf32_xtime(w);
    }
    return c;
}

/* The 10-bit checksum of a secret. */
static unsigned secret_checksum(const uint8_t secret[static AM_NETSECRET_LEN])
{
    uint8_t h[crypto_generichash_BYTES];
    unsigned sum;

    crypto_generichash(h, sizeof h, (const uint8_t *)AM_INVITE_CHECKSUM_LABEL,
                       sizeof AM_INVITE_CHECKSUM_LABEL - 1, secret, AM_NETSECRET_LEN);
    sum = ((unsigned)h[0] << 2) | ((unsigned)h[1] >> 6);
    sodium_memzero(h, sizeof h);
    return sum;
}

int invite_format(const uint8_t secret[static AM_NETSECRET_LEN], char *out, size_t cap)
{
    uint8_t syms[INVITE_SYMS];
    unsigned acc = 0, nbits = 0, sum;
    int n = 0;
    char *p;

    assert(out);
    if (cap < INVITE_TEXT_LEN + 1) {
        if (cap > 0)
            out[0] = '\0';
        return AM_EINVAL;
    }
    for (int i = 0; i < AM_NETSECRET_LEN; i++) {
        acc = (acc << 8) | secret[i];
        nbits += 8;
        while (nbits >= 5) {
            nbits -= 5;
            syms[n++] = (uint8_t)((acc >> nbits) & 31u);
        }
        acc &= (1u << nbits) - 1u;
    }
    syms[n++] = (uint8_t)((acc << (5 - nbits)) & 31u); /* 3 bits + 2 zero pad bits */
    sum = secret_checksum(secret);
    syms[n++] = (uint8_t)(sum >> 5);
    syms[n++] = (uint8_t)(sum & 31u);
    assert(n == INVITE_SYMS && acc < 8u);

    memcpy(out, INVITE_PREFIX, INVITE_PREFIX_LEN);
    p = out + INVITE_PREFIX_LEN;
    for (int g = 0; g < INVITE_GROUPS; g++) {
        const uint8_t *d = syms + INVITE_GROUP_DATA * g;
        if (g > 0)
            *p++ = '-';
        for (int i = 0; i < INVITE_GROUP_DATA; i++)
            *p++ = crockford[d[i]];
        *p++ = crockford[group_check(g, d)];
    }
    *p = '\0';
    sodium_memzero(syms, sizeof syms);
    return AM_OK;
}

/* Writes a short note into where (if any); the format is a literal at every call. */
#define SET_WHERE(...)                                                                             \
    do {                                                                                           \
        if (where && where_cap > 0)                                                                \
            snprintf(where, where_cap, __VA_ARGS__);                                               \
    } while (0)

int invite_parse(const char *text, uint8_t secret[static AM_NETSECRET_LEN], char *where,
                 size_t where_cap)
{
    uint8_t syms[INVITE_TYPED]; /* symbol values after the prefix */
    char typed[INVITE_TYPED];   /* the same characters as typed */
    uint8_t data[INVITE_SYMS];  /* the 28 data symbols, without the checks */
    uint8_t got[AM_NETSECRET_LEN];
    const unsigned char *s = (const unsigned char *)text;
    size_t pos = 0, n = 0;
    unsigned acc = 0, nbits = 0, sum;
    int k = 0, rc;

    assert(text);
    sodium_memzero(secret, AM_NETSECRET_LEN);
    if (where && where_cap > 0)
        where[0] = '\0';

    /* The prefix "am1" (its '1' may be typed as I or L), separators ignored. */
    for (int i = 0; i < 3; i++) {
        while (s[pos] && is_separator(s[pos]))
            pos++;
        if (!s[pos] || sym_value(s[pos]) != sym_value((unsigned char)INVITE_PREFIX[i])) {
            SET_WHERE("the start (it must be '%s')", INVITE_PREFIX);
            rc = AM_EMALFORMED;
            goto out;
        }
        pos++;
    }

    /* The rest: every character in the alphabet, exactly 35 of them. */
    for (; s[pos]; pos++) {
        int v;
        if (is_separator(s[pos]))
            continue;
        v = sym_value(s[pos]);
        if (v < 0) {
            if (s[pos] > ' ' && s[pos] < 0x7f && s[pos] != '\'')
                SET_WHERE("character '%c' at position %zu", s[pos], pos + 1);
            else
                SET_WHERE("byte 0x%02x at position %zu", s[pos], pos + 1);
            rc = AM_EMALFORMED;
            goto out;
        }
        if (n < INVITE_TYPED) {
            syms[n] = (uint8_t)v;
            typed[n] = (char)s[pos];
        }
        n++;
    }
    if (n != INVITE_TYPED) {
        SET_WHERE("the length: %zu characters after '%s', %d expected", n, INVITE_PREFIX,
                  INVITE_TYPED);
        rc = AM_EMALFORMED;
        goto out;
    }

    /* Group checks, first failing group named as typed. */
    for (int g = 0; g < INVITE_GROUPS; g++) {
        const uint8_t *gs = syms + INVITE_GROUP_LEN * g;
        if (group_check(g, gs) != gs[INVITE_GROUP_DATA]) {
            SET_WHERE("group %d '%.*s'", g + 1, INVITE_GROUP_LEN, typed + INVITE_GROUP_LEN * g);
            rc = AM_ECHECKSUM;
            goto out;
        }
        memcpy(data + INVITE_GROUP_DATA * g, gs, INVITE_GROUP_DATA);
    }

    /* 26 symbols -> 128 bits and 2 pad bits that must be zero. */
    for (int i = 0; i < INVITE_SECRET_SYMS; i++) {
        acc = (acc << 5) | data[i];
        nbits += 5;
        if (nbits >= 8) {
            nbits -= 8;
            got[k++] = (uint8_t)(acc >> nbits);
            acc &= (1u << nbits) - 1u;
        }
    }
    assert(k == AM_NETSECRET_LEN && nbits == 2);
    if (acc != 0) {
        const int g = INVITE_SECRET_SYMS / INVITE_GROUP_DATA; /* the pad's group, 0-based */
        SET_WHERE("group %d '%.*s'", g + 1, INVITE_GROUP_LEN, typed + INVITE_GROUP_LEN * g);
        rc = AM_ECHECKSUM;
        goto out;
    }
    sum = ((unsigned)data[INVITE_SECRET_SYMS] << 5) | data[INVITE_SECRET_SYMS + 1];
    if (secret_checksum(got) != sum) {
        SET_WHERE("the whole code");
        rc = AM_ECHECKSUM;
        goto out;
    }
    memcpy(secret, got, AM_NETSECRET_LEN);
    rc = AM_OK;
out:
    sodium_memzero(syms, sizeof syms);
    sodium_memzero(typed, sizeof typed);
    sodium_memzero(data, sizeof data);
    sodium_memzero(got, sizeof got);
    return rc;
}

void invite_network_key(const uint8_t secret[static AM_NETSECRET_LEN],
                        uint8_t key[static AM_NETKEY_LEN])
{
    crypto_generichash(key, AM_NETKEY_LEN, (const uint8_t *)AM_INVITE_NETKEY_LABEL,
                       sizeof AM_INVITE_NETKEY_LABEL - 1, secret, AM_NETSECRET_LEN);
}

void invite_network_id(const uint8_t key[static AM_NETKEY_LEN], uint8_t id[static AM_NETID_LEN])
{
    uint8_t h[crypto_generichash_BYTES];

    crypto_generichash(h, sizeof h, (const uint8_t *)AM_INVITE_NETID_LABEL,
                       sizeof AM_INVITE_NETID_LABEL - 1, key, AM_NETKEY_LEN);
    memcpy(id, h, AM_NETID_LEN);
    sodium_memzero(h, sizeof h);
}
