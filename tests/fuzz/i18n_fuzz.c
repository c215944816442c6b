/*
 * i18n_fuzz.c: libFuzzer target for the decoders of node/i18n.c that read bytes any phone
 * on the network sends: i18n_accept (the Accept-Language header), i18n_cookie (the Cookie
 * header), i18n_pick (the ?lang= argument with both), and i18n_num (a number written for a
 * language).
 *
 * The first byte picks, by its value mod 4: 1 ('A') i18n_accept of the rest, 3 ('C')
 * i18n_cookie, 0 ('P') i18n_pick, 2 ('N') i18n_num.
 * The rest is copied into a heap buffer of exactly its size plus a NUL (the headers are C
 * strings in libmicrohttpd), so a read past the end is an ASan report. Invariants (a broken
 * one abort()s):
 *  - accept and cookie return -1 or a shipped language, the same twice, and the same for
 *    the input cut at I18N_HEADER_MAX bytes (nothing past the limit is read); a language
 *    found is named in the input (its code in any case, or "*" for English);
 *  - pick returns a shipped language; when it says to set the cookie, the argument was
 *    that language's code (or the catalogue of the language it names is missing: English);
 *  - a number (the first 8 bytes) written for each language has, once its separators are
 *    removed, the digits printf gives, and fits I18N_NUM_MAX.
 *
 * Corpus (tests/fuzz/corpus/i18n/): browsers' headers (Chrome, Firefox, Safari, in
 * English, French, Arabic), weights at the edges (q=0, q=1.000, q=0.001, bad ones), a list
 * over I18N_ACCEPT_ITEMS, Cookie headers with and without lang, and numbers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "i18n.h"

static int named(const char *s, int lang)
{
    const char *code = i18n_code(lang);
    for (size_t i = 0; s[i] && s[i + 1]; i++)
        if (!strncasecmp(s + i, code, 2))
            return 1;
    return lang == I18N_EN && strchr(s, '*') != NULL;
}

static void check_header(const char *s, size_t n, int (*decode)(const char *), int star)
{
    int l = decode(s), again = decode(s);
    CHECK(l == again);
    CHECK(l >= -1 && l < I18N_LANGS);
    if (n > I18N_HEADER_MAX) {
        char *cut = malloc(I18N_HEADER_MAX + 1);
        CHECK(cut != NULL);
        memcpy(cut, s, I18N_HEADER_MAX);
        cut[I18N_HEADER_MAX] = 0;
        CHECK(decode(cut) == l);
        free(cut);
    }
    if (l >= 0)
        CHECK(star ? named(s, l) : named(s, l) && strstr(s, "lang") != NULL);
}

static void check_num(const uint8_t *d, size_t n)
{
    long long v = 0;
    char want[32];
    memcpy(&v, d, n < sizeof v ? n : sizeof v);
    snprintf(want, sizeof want, "%lld", v);
    for (int l = 0; l < I18N_LANGS; l++) {
        char out[I18N_NUM_MAX], digits[I18N_NUM_MAX];
        size_t k = 0;
        i18n_num(l, v, out);
        CHECK(strlen(out) < I18N_NUM_MAX);
        for (size_t i = 0; out[i]; i++)
            if ((out[i] >= '0' && out[i] <= '9') || out[i] == '-')
                digits[k++] = out[i];
        digits[k] = 0;
        CHECK(strcmp(digits, want) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    if (size == 0)
        return 0;
    if (data[0] % 4 == 2) {
        check_num(data + 1, size - 1);
        return 0;
    }
    s = malloc(size);
    CHECK(s != NULL);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    if (data[0] % 4 == 1) {
        check_header(s, size - 1, i18n_accept, 1);
    } else if (data[0] % 4 == 3) {
        check_header(s, size - 1, i18n_cookie, 0);
    } else {
        /* three C strings: the argument, the Cookie, the Accept-Language */
        const char *arg = s, *ck = s + strlen(s), *al;
        int set = 0, l;
        ck += ck < s + size - 1;
        al = ck + strlen(ck);
        al += al < s + size - 1;
        l = i18n_pick(arg, ck, al, &set);
        CHECK(l >= 0 && l < I18N_LANGS);
        if (set) { /* the argument's language, or English when its catalogue is missing */
            int want = i18n_from_code(arg, strlen(arg));
            CHECK(want >= 0 && (l == want || (l == I18N_EN && !i18n_loaded(want))));
        }
    }
    free(s);
    return 0;
}
