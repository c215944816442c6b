/*
 * invite_test.c: the invite code (crdt/invite.c). Known answers from an independent
 * model of the spec, round trips, exhaustive single-substitution and transposition sweeps
 * on seeded random secrets (the seed is printed; rerun with AM_SEED=...), the text of
 * `where`, what a person may type, malformed input, and the derived key and id.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "am_err.h"
#include "invite.h"
#include "testutil.h"

#define CODE_LEN 45 /* "am1-" + 7 groups of 5 + 6 dashes */

static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
}

TestSuite(invite, .init = setup);

static void rand_secret(uint64_t *st, uint8_t s[static AM_NETSECRET_LEN])
{
    for (int i = 0; i < AM_NETSECRET_LEN; i += 8) {
        uint64_t r = tu_rand(st);
        memcpy(s + i, &r, 8);
    }
}

static void hex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        cr_assert(sscanf(h + 2 * i, "%2x", &v) == 1);
        out[i] = (uint8_t)v;
    }
}

/* Index of the first character of group g (0-based) in a formatted code. */
static int group_at(int g)
{
    return 4 + 6 * g;
}

static void expect_where_group(const char *where, const char *text, int g)
{
    char want[32];
    snprintf(want, sizeof want, "group %d '%.5s'", g + 1, text + group_at(g));
    cr_assert_str_eq(where, want, "where '%s', expected '%s' for '%s'", where, want, text);
}

/* A second model of the spec, written apart from invite.c, for crafting codes that
 * invite_format() never writes: the 28 symbols in, the text out. */
static unsigned ref_mul(unsigned a, unsigned b)
{
    unsigned r = 0;
    for (unsigned i = 0; i < 5; i++)
        if (b & (1u << i))
            r ^= a << i;
    for (int i = 8; i >= 5; i--) /* reduce modulo x^5 + x^2 + 1 */
        if (r & (1u << i))
            r ^= 0x25u << (i - 5);
    return r;
}

static void ref_text(const uint8_t syms[28], char out[CODE_LEN + 1])
{
    char *p = out;
    memcpy(p, "am1", 3);
    p += 3;
    for (int g = 0; g < 7; g++) {
        unsigned c = 0, w = 1;
        for (int e = 0; e < 4 * g + 1; e++)
            w = ref_mul(w, 2);
        *p++ = '-';
        for (int i = 0; i < 4; i++) {
            c ^= ref_mul(w, syms[4 * g + i]);
            w = ref_mul(w, 2);
            *p++ = alphabet[syms[4 * g + i]];
        }
        *p++ = alphabet[c];
    }
    *p = '\0';
}

/* The 28 symbols of a formatted code (its check characters left out). */
static void code_syms(const char *code, uint8_t syms[28])
{
    for (int g = 0; g < 7; g++)
        for (int i = 0; i < 4; i++)
            syms[4 * g + i] = (uint8_t)(strchr(alphabet, code[group_at(g) + i]) - alphabet);
}

static void format_ok(const uint8_t secret[static AM_NETSECRET_LEN], char code[CODE_LEN + 1])
{
    char buf[AM_INVITE_TEXT_MAX];
    cr_assert_eq(invite_format(secret, buf, sizeof buf), AM_OK);
    cr_assert_eq(strlen(buf), CODE_LEN);
    memcpy(code, buf, CODE_LEN + 1);
}

/* Parses text; AM_OK must give `want`, and where must be "" then. */
static int parse(const char *text, const uint8_t want[static AM_NETSECRET_LEN], char *where,
                 size_t cap)
{
    uint8_t got[AM_NETSECRET_LEN];
    int rc = invite_parse(text, got, where, cap);
    if (rc == AM_OK) {
        cr_assert(memcmp(got, want, AM_NETSECRET_LEN) == 0, "'%s' parsed to another secret", text);
        if (where && cap > 0)
            cr_assert_str_eq(where, "");
    } else {
        static const uint8_t zero[AM_NETSECRET_LEN];
        cr_assert(rc == AM_EMALFORMED || rc == AM_ECHECKSUM, "'%s': rc %d", text, rc);
        cr_assert(memcmp(got, zero, sizeof zero) == 0, "secret not wiped on error");
        if (where && cap > 0)
            cr_assert(where[0] != '\0', "'%s': empty where", text);
    }
    return rc;
}

static const struct {
    const char *secret, *code, *key, *id;
} kat[] = {
    /* From a separate Python model of PROTOCOL.md (hashlib.blake2b). */
    {"000102030405060708090a0b0c0d0e0f", "am1-000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyv",
     "922be9cec3c1803dcb775fbecd6cf6e11a9612be6df7afaa4ca6d7f732d104e9", "4771e2325dffaf63"},
    {"00000000000000000000000000000000", "am1-00000-00000-00000-00000-00000-00000-00nes",
     "8620b047f795e05020b9b918598a5ad4bd3bbe2e04c514d17d497935476bfaa5", "f0a10ade82e6b168"},
    {"ffffffffffffffffffffffffffffffff", "am1-zzzzd-zzzze-zzzzv-zzzzc-zzzzy-zzzzp-zwhdr",
     "a5ba745bc86cb711929dd7645778ce5e1d262ddfe89eebfcad56cd29acaa10b3", "3416a2e0c7d30f16"},
};

Test(invite, known_answers)
{
    for (size_t t = 0; t < sizeof kat / sizeof kat[0]; t++) {
        uint8_t secret[AM_NETSECRET_LEN], key[AM_NETKEY_LEN], id[AM_NETID_LEN];
        uint8_t want_key[AM_NETKEY_LEN], want_id[AM_NETID_LEN], syms[28];
        char code[CODE_LEN + 1], ref[CODE_LEN + 1], where[64];

        hex(kat[t].secret, secret, sizeof secret);
        hex(kat[t].key, want_key, sizeof want_key);
        hex(kat[t].id, want_id, sizeof want_id);
        format_ok(secret, code);
        cr_assert_str_eq(code, kat[t].code);
        code_syms(code, syms);
        ref_text(syms, ref);
        cr_assert_str_eq(ref, code);
        cr_assert_eq(parse(kat[t].code, secret, where, sizeof where), AM_OK);
        invite_network_key(secret, key);
        invite_network_id(key, id);
        cr_assert(memcmp(key, want_key, sizeof key) == 0);
        cr_assert(memcmp(id, want_id, sizeof id) == 0);
    }
}

Test(invite, round_trip)
{
    uint64_t st = tu_seed("invite.round_trip");
    for (int n = 0; n < 20000; n++) {
        uint8_t secret[AM_NETSECRET_LEN], syms[28];
        char code[CODE_LEN + 1], ref[CODE_LEN + 1], where[64];

        rand_secret(&st, secret);
        format_ok(secret, code);
        cr_assert(strncmp(code, "am1-", 4) == 0);
        for (int g = 0; g < 7; g++) {
            for (int i = 0; i < 5; i++)
                cr_assert(strchr(alphabet, code[group_at(g) + i]), "'%s'", code);
            cr_assert_eq(code[group_at(g) + 5], g < 6 ? '-' : '\0');
        }
        code_syms(code, syms);
        ref_text(syms, ref);
        cr_assert_str_eq(ref, code);
        cr_assert_eq(syms[25] & 3, 0, "pad bits");
        cr_assert_eq(parse(code, secret, where, sizeof where), AM_OK);
        cr_assert_eq(parse(code, secret, NULL, 0), AM_OK);
    }
}

/* Every character of the code replaced by every symbol (and a few other characters). */
Test(invite, every_substitution_is_caught)
{
    static const char others[] = "ABCDEFGHJKMNPQRSTVWXYZiloILOuU- \t!._";
    uint64_t st = tu_seed("invite.every_substitution_is_caught");
    for (int n = 0; n < 300; n++) {
        uint8_t secret[AM_NETSECRET_LEN];
        char code[CODE_LEN + 1], text[CODE_LEN + 1], where[64];

        rand_secret(&st, secret);
        format_ok(secret, code);
        for (int pos = 0; pos < CODE_LEN; pos++) {
            const int g = pos < 4 ? -1 : (pos - 4) / 6;
            const int in_group = pos >= 4 && (pos - 4) % 6 < 5;
            for (const char *c = alphabet; *c; c++) {
                if (*c == code[pos])
                    continue;
                memcpy(text, code, sizeof text);
                text[pos] = *c;
                int rc = parse(text, secret, where, sizeof where);
                if (in_group) {
                    /* Another symbol in a group: always a typo, always in this group. */
                    cr_assert_eq(rc, AM_ECHECKSUM, "'%s' from '%s'", text, code);
                    expect_where_group(where, text, g);
                } else {
                    /* The prefix or a dash: never the same code any more. */
                    cr_assert_eq(rc, AM_EMALFORMED, "'%s'", text);
                }
            }
            for (const char *c = others; *c; c++) {
                memcpy(text, code, sizeof text);
                text[pos] = *c;
                (void)parse(text, secret, where, sizeof where); /* never another secret */
            }
        }
    }
}

/* Every swap of two characters inside a group (neighbours or not, the check character
 * included), and every swap of neighbours anywhere in the text. */
Test(invite, every_transposition_is_caught)
{
    uint64_t st = tu_seed("invite.every_transposition_is_caught");
    for (int n = 0; n < 2000; n++) {
        uint8_t secret[AM_NETSECRET_LEN];
        char code[CODE_LEN + 1], text[CODE_LEN + 1], where[64];

        rand_secret(&st, secret);
        format_ok(secret, code);
        for (int g = 0; g < 7; g++) {
            for (int j = 0; j < 5; j++) {
                for (int k = j + 1; k < 5; k++) {
                    const int a = group_at(g) + j, b = group_at(g) + k;
                    if (code[a] == code[b])
                        continue;
                    memcpy(text, code, sizeof text);
                    text[a] = code[b];
                    text[b] = code[a];
                    cr_assert_eq(parse(text, secret, where, sizeof where), AM_ECHECKSUM,
                                 "'%s' from '%s'", text, code);
                    expect_where_group(where, text, g);
                }
            }
            if (g < 6) {
                /* The check character of group g swapped with the first of group g+1,
                 * as happens when the dash is typed elsewhere. */
                const int a = group_at(g) + 4, b = group_at(g + 1);
                if (code[a] != code[b]) {
                    memcpy(text, code, sizeof text);
                    text[a] = code[b];
                    text[b] = code[a];
                    cr_assert_eq(parse(text, secret, where, sizeof where), AM_ECHECKSUM);
                    expect_where_group(where, text, g);
                }
            }
        }
        for (int a = 0; a + 1 < CODE_LEN; a++) {
            memcpy(text, code, sizeof text);
            text[a] = code[a + 1];
            text[a + 1] = code[a];
            int rc = parse(text, secret, where, sizeof where);
            if (code[a] != code[a + 1] && code[a] != '-' && code[a + 1] != '-')
                cr_assert_neq(rc, AM_OK, "'%s'", text);
        }
    }
}

/* A whole group typed at another position is caught by the group checks 31 times in 32;
 * the final checksum catches most of the rest. */
Test(invite, moved_groups)
{
    uint64_t st = tu_seed("invite.moved_groups");
    int trials = 0, by_group = 0, wrong_secret = 0;
    for (int n = 0; n < 300; n++) {
        uint8_t secret[AM_NETSECRET_LEN], got[AM_NETSECRET_LEN];
        char code[CODE_LEN + 1], text[CODE_LEN + 1], where[64];

        rand_secret(&st, secret);
        format_ok(secret, code);
        for (int g = 0; g < 7; g++) {
            for (int h = g + 1; h < 7; h++) {
                if (memcmp(code + group_at(g), code + group_at(h), 5) == 0)
                    continue;
                memcpy(text, code, sizeof text);
                memcpy(text + group_at(g), code + group_at(h), 5);
                memcpy(text + group_at(h), code + group_at(g), 5);
                int rc = invite_parse(text, got, where, sizeof where);
                trials++;
                if (rc == AM_OK) {
                    cr_assert(memcmp(got, secret, sizeof got) != 0);
                    wrong_secret++;
                    continue;
                }
                cr_assert_eq(rc, AM_ECHECKSUM);
                by_group += strncmp(where, "group ", 6) == 0;
            }
        }
    }
    cr_assert_gt(by_group, trials * 9 / 10, "%d of %d", by_group, trials);
    cr_assert_leq(wrong_secret, 1, "%d of %d", wrong_secret, trials);
}

/* Group checks all pass, the final checksum does not: "the whole code". */
Test(invite, whole_code_checksum)
{
    uint64_t st = tu_seed("invite.whole_code_checksum");
    int slipped = 0;
    for (int n = 0; n < 100; n++) {
        uint8_t secret[AM_NETSECRET_LEN], got[AM_NETSECRET_LEN], syms[28];
        char code[CODE_LEN + 1], text[CODE_LEN + 1], where[64];
        unsigned sum;

        rand_secret(&st, secret);
        format_ok(secret, code);
        code_syms(code, syms);
        sum = (unsigned)syms[26] << 5 | syms[27];
        for (unsigned bad = 0; bad < 1024; bad++) {
            if (bad == sum)
                continue;
            syms[26] = (uint8_t)(bad >> 5);
            syms[27] = (uint8_t)(bad & 31);
            ref_text(syms, text);
            cr_assert_eq(parse(text, secret, where, sizeof where), AM_ECHECKSUM);
            cr_assert_str_eq(where, "the whole code");
        }
        /* Data changed with its group check fixed up (two typos in one group that its
         * check misses): the checksum catches all but about one in 1024. */
        code_syms(code, syms);
        syms[n % 25] ^= (uint8_t)(1u + n % 31);
        ref_text(syms, text);
        if (invite_parse(text, got, where, sizeof where) == AM_OK) {
            cr_assert(memcmp(got, secret, sizeof got) != 0);
            slipped++;
        } else {
            cr_assert_str_eq(where, "the whole code");
        }
    }
    cr_assert_leq(slipped, 2);
}

/* Nonzero pad bits (never written by invite_format) with a valid group 7. */
Test(invite, nonzero_pad)
{
    uint64_t st = tu_seed("invite.nonzero_pad");
    for (int n = 0; n < 100; n++) {
        uint8_t secret[AM_NETSECRET_LEN], syms[28];
        char code[CODE_LEN + 1], text[CODE_LEN + 1], where[64];

        rand_secret(&st, secret);
        format_ok(secret, code);
        for (unsigned pad = 1; pad < 4; pad++) {
            code_syms(code, syms);
            syms[25] = (uint8_t)(syms[25] | pad);
            ref_text(syms, text);
            cr_assert_eq(parse(text, secret, where, sizeof where), AM_ECHECKSUM);
            expect_where_group(where, text, 6);
        }
    }
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
}

Test(invite, what_people_type)
{
    uint64_t st = tu_seed("invite.what_people_type");
    uint8_t secret[AM_NETSECRET_LEN];
    char code[CODE_LEN + 1], text[256], where[64];

    hex(kat[0].secret, secret, sizeof secret); /* "am1-000gd-40r4k-...": many 0s and 1s */
    cr_assert_eq(
        parse("AM1-000GD-40R4K-0M30T-E209V-185GB-R38EF-1WJYV", secret, where, sizeof where), AM_OK);
    cr_assert_eq(
        parse("Am1-oOogd-4or4k-Om3ot-e2o9v-i85gb-r38ef-LwjYv", secret, where, sizeof where), AM_OK);
    cr_assert_eq(
        parse("aml-000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyv", secret, where, sizeof where), AM_OK);
    cr_assert_eq(parse("am1000gd40r4k0m30te209v185gbr38ef1wjyv", secret, where, sizeof where),
                 AM_OK);
    cr_assert_eq(
        parse("am1 000 gd4 0r4 k0m 30t e20 9v1 85g br3 8ef 1wj yv", secret, where, sizeof where),
        AM_OK);
    cr_assert_eq(parse("  am1--000gd -- 40r4k-0m30t\te209v-185gb-r38ef-1wjyv\r\n", secret, where,
                       sizeof where),
                 AM_OK);
    cr_assert_eq(parse("a-m-1-000gd40r4k0m30te209v185gbr38ef1wjyv", secret, where, sizeof where),
                 AM_OK);

    for (int n = 0; n < 2000; n++) {
        char *p = text;
        rand_secret(&st, secret);
        format_ok(secret, code);
        /* Random case, aliases and separators. */
        for (const char *c = code; *c; c++) {
            uint64_t r = tu_rand(&st);
            char ch = *c;
            if (ch == '-') {
                if (r & 1)
                    continue;
                ch = (r & 2) ? ' ' : '-';
            } else if (ch == '0' && (r & 1)) {
                ch = (r & 2) ? 'O' : 'o';
            } else if (ch == '1' && (r & 1)) {
                ch = "iIlL"[(r >> 1) & 3];
            } else if (r & 4) {
                ch = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
            }
            *p++ = ch;
            if ((r >> 8) % 7 == 0)
                *p++ = (r & 16) ? ' ' : '-';
        }
        *p = '\0';
        cr_assert_eq(parse(text, secret, where, sizeof where), AM_OK, "'%s': %s", text, where);
    }

    /* `where` names the group as typed, in the case it was typed. */
    hex(kat[0].secret, secret, sizeof secret);
    snprintf(text, sizeof text, "%s", kat[0].code);
    upper(text);
    text[group_at(2) + 1] = 'N';
    cr_assert_eq(parse(text, secret, where, sizeof where), AM_ECHECKSUM);
    cr_assert_str_eq(where, "group 3 '0N30T'");
    /* ...and as typed even when it was typed in other groupings. */
    cr_assert_eq(parse("am1 000gd40r4k 0m3 ot e209v185gbr38ef1wjyv", secret, where, sizeof where),
                 AM_OK);
    cr_assert_eq(parse("am1 000gd40r4k 0m3 Ox e209v185gbr38ef1wjyv", secret, where, sizeof where),
                 AM_ECHECKSUM);
    cr_assert_str_eq(where, "group 3 '0m3Ox'");
}

Test(invite, malformed)
{
    static const uint8_t unused[AM_NETSECRET_LEN];
    uint8_t secret[AM_NETSECRET_LEN];
    char where[80];
    static const struct {
        const char *text, *where;
    } cases[] = {
        {"", "the start (it must be 'am1-')"},
        {"   ", "the start (it must be 'am1-')"},
        {"am", "the start (it must be 'am1-')"},
        {"am2-000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyv", "the start (it must be 'am1-')"},
        {"ab1-000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyv", "the start (it must be 'am1-')"},
        {"000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyv", "the start (it must be 'am1-')"},
        {"xam1-000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyv", "the start (it must be 'am1-')"},
        {"am1", "the length: 0 characters after 'am1-', 35 expected"},
        {"am1-", "the length: 0 characters after 'am1-', 35 expected"},
        {"am1-000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjy",
         "the length: 34 characters after 'am1-', 35 expected"},
        {"am1-000gd-40r4k-0m30t-e209v-185gb-r38ef",
         "the length: 30 characters after 'am1-', 35 expected"},
        {"am1-000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyvx",
         "the length: 36 characters after 'am1-', 35 expected"},
        {"am1-000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyv-000gd",
         "the length: 40 characters after 'am1-', 35 expected"},
        {"am1-000gd-4ur4k-0m30t-e209v-185gb-r38ef-1wjyv", "character 'u' at position 12"},
        {"am1-000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyU", "character 'U' at position 45"},
        {"am1-000gd.40r4k-0m30t-e209v-185gb-r38ef-1wjyv", "character '.' at position 10"},
        {"am1_000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyv", "character '_' at position 4"},
        {"am1-000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyv!", "character '!' at position 46"},
        {"am1-000g\xc3\xa9-40r4k-0m30t-e209v-185gb-r38ef-1wjyv", "byte 0xc3 at position 9"},
        {"am1-000gd-40r4k-0m30t-e209v-185gb-r38ef-'wjyv", "byte 0x27 at position 41"},
        {"am1-000gd-40r4k\v0m30t-e209v-185gb-r38ef-1wjyv", "byte 0x0b at position 16"},
        {"am1-0u", "character 'u' at position 6"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(parse(cases[i].text, unused, where, sizeof where), AM_EMALFORMED, "'%s'",
                     cases[i].text);
        cr_assert_str_eq(where, cases[i].where, "'%s'", cases[i].text);
    }
    /* `where` is optional, and truncated to its cap. */
    cr_assert_eq(invite_parse("am1-0u", secret, NULL, 0), AM_EMALFORMED);
    cr_assert_eq(invite_parse("am1-0u", secret, NULL, 99), AM_EMALFORMED);
    cr_assert_eq(invite_parse("am1-0u", secret, where, 5), AM_EMALFORMED);
    cr_assert_str_eq(where, "char");
    where[0] = 'x';
    cr_assert_eq(invite_parse("am1-0u", secret, where, 0), AM_EMALFORMED);
    cr_assert_eq(where[0], 'x');
    cr_assert_eq(invite_parse("am1-000gd-40r4k-0m30t-e209v-185gb-r38ef-1wjyw", secret, where, 1),
                 AM_ECHECKSUM);
    cr_assert_str_eq(where, "");
}

Test(invite, format_cap)
{
    uint8_t secret[AM_NETSECRET_LEN] = {1, 2, 3};
    char out[AM_INVITE_TEXT_MAX];

    memset(out, 'x', sizeof out);
    cr_assert_eq(invite_format(secret, out, CODE_LEN), AM_EINVAL);
    cr_assert_str_eq(out, "");
    out[0] = 'x';
    cr_assert_eq(invite_format(secret, out, 0), AM_EINVAL);
    cr_assert_eq(out[0], 'x');
    cr_assert_eq(invite_format(secret, out, CODE_LEN + 1), AM_OK);
    cr_assert_eq(strlen(out), CODE_LEN);
}

Test(invite, network_key_and_id)
{
    uint64_t st = tu_seed("invite.network_key_and_id");
    uint8_t prev_key[AM_NETKEY_LEN] = {0}, prev_id[AM_NETID_LEN] = {0};
    for (int n = 0; n < 1000; n++) {
        uint8_t secret[AM_NETSECRET_LEN], other[AM_NETSECRET_LEN];
        uint8_t k1[AM_NETKEY_LEN], k2[AM_NETKEY_LEN], id1[AM_NETID_LEN], id2[AM_NETID_LEN];

        rand_secret(&st, secret);
        invite_network_key(secret, k1);
        invite_network_key(secret, k2);
        cr_assert(memcmp(k1, k2, sizeof k1) == 0, "key not deterministic");
        invite_network_id(k1, id1);
        invite_network_id(k2, id2);
        cr_assert(memcmp(id1, id2, sizeof id1) == 0, "id not deterministic");
        cr_assert(memcmp(id1, k1, sizeof id1) != 0, "id is a prefix of the key");
        cr_assert(memcmp(k1, prev_key, sizeof k1) != 0);
        cr_assert(memcmp(id1, prev_id, sizeof id1) != 0);
        /* One bit of the secret changes both. */
        memcpy(other, secret, sizeof other);
        other[tu_rand(&st) % AM_NETSECRET_LEN] ^= (uint8_t)(1u << (tu_rand(&st) % 8));
        invite_network_key(other, k2);
        invite_network_id(k2, id2);
        cr_assert(memcmp(k1, k2, sizeof k1) != 0);
        cr_assert(memcmp(id1, id2, sizeof id1) != 0);
        memcpy(prev_key, k1, sizeof prev_key);
        memcpy(prev_id, id1, sizeof prev_id);
    }
}
