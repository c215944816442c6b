/*
 * entry_corpus_test.c: replays the entry fuzz corpus (tests/fuzz/corpus/entry/, found
 * through $AM_SOURCE_DIR, which ctest sets) through entry_decode and entry_verify.
 *
 * File names carry the expected verdict (see tests/fuzz/gen_entry_corpus.c): ok-* must
 * decode and verify, badsig-* must decode and fail to verify, malformed-* / limit-* /
 * version-* must fail with that code; other names (mp-*, files a fuzzer added) are only
 * replayed. Every corpus file that is a valid signed entry then goes through a bit-flip
 * sweep (each bit of each byte flipped alone: decoding or verifying must fail, never both
 * succeed) and a truncation sweep (no shorter prefix decodes). Inputs sit at the end of a
 * heap block of their exact size, so ASan sees any read past them.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "am_err.h"
#include "entry.h"
#include "testutil.h"

#define MAX_FILES 512

struct corpus {
    char *dir;
    char *names[MAX_FILES];
    size_t n;
};

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
}

TestSuite(entry_corpus, .init = setup, .timeout = 600);

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the regular files of the corpus, in name order. */
static void corpus_open(struct corpus *c)
{
    const char *src = getenv("AM_SOURCE_DIR");
    struct dirent *de;
    DIR *d;
    size_t len;

    cr_assert(src && *src, "AM_SOURCE_DIR is not set: run this test through ctest, or set "
                           "AM_SOURCE_DIR to the top of the source tree");
    len = strlen(src) + sizeof "/tests/fuzz/corpus/entry";
    c->dir = malloc(len);
    cr_assert(c->dir);
    snprintf(c->dir, len, "%s/tests/fuzz/corpus/entry", src);
    d = opendir(c->dir);
    cr_assert(d, "cannot open the corpus directory %s (AM_SOURCE_DIR=%s)", c->dir, src);
    c->n = 0;
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", c->dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        cr_assert(c->n < MAX_FILES, "more than %d files in %s", MAX_FILES, c->dir);
        c->names[c->n] = strdup(de->d_name);
        cr_assert(c->names[c->n]);
        c->n++;
    }
    closedir(d);
    cr_assert(c->n > 0, "the corpus %s is empty", c->dir);
    qsort(c->names, c->n, sizeof c->names[0], cmp_names);
}

static void corpus_close(struct corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->names[i]);
    free(c->dir);
}

/* Reads one corpus file into a heap block of exactly its size (1 byte if empty). */
static uint8_t *corpus_read(const struct corpus *c, const char *name, size_t *len)
{
    char path[4096];
    uint8_t *tmp, *buf;

    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    tmp = tu_read_file(path, len);
    cr_assert(tmp, "cannot read %s", path);
    buf = malloc(*len ? *len : 1);
    cr_assert(buf);
    memcpy(buf, tmp, *len);
    free(tmp);
    return buf;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Decodes and, if that works, verifies. Returns AM_OK only for a valid signed entry. */
static int decode_verify(const uint8_t *buf, size_t len)
{
    struct entry e;
    int rc = entry_decode(&e, buf, len);
    if (rc != AM_OK)
        return rc;
    cr_assert(e.raw == buf && e.raw_len == len && e.body_len + AM_SIG_LEN == len);
    return entry_verify(&e);
}

static void bitflip_sweep(const char *name, const uint8_t *orig, size_t len)
{
    uint8_t *buf = malloc(len);
    size_t decoded = 0;

    cr_assert(buf);
    memcpy(buf, orig, len);
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            struct entry e;
            buf[i] ^= (uint8_t)(1u << bit);
            if (entry_decode(&e, buf, len) == AM_OK) {
                decoded++;
                cr_assert_eq(entry_verify(&e), AM_EBADSIG,
                             "%s: flipping bit %u of byte %zu gives an entry that decodes "
                             "and verifies",
                             name, bit, i);
            }
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    cr_assert(memcmp(buf, orig, len) == 0);
    /* flips in the signature and in string bytes leave the structure intact */
    cr_assert(decoded >= 8 * AM_SIG_LEN, "%s: only %zu flips decoded", name, decoded);
    free(buf);
}

static void truncation_sweep(const char *name, const uint8_t *orig, size_t len)
{
    /* the prefix is placed at the end of a block of `len` bytes: reading one byte past
     * the prefix is an ASan error */
    uint8_t *block = malloc(len);
    cr_assert(block);
    for (size_t n = 0; n < len; n++) {
        struct entry e;
        uint8_t *p = block + (len - n);
        int rc;
        memcpy(p, orig, n);
        rc = entry_decode(&e, p, n);
        cr_assert_neq(rc, AM_OK, "%s: the prefix of %zu of %zu bytes decodes", name, n, len);
        cr_assert(rc == AM_EMALFORMED, "%s: the prefix of %zu bytes gives %d (%s)", name, n, rc,
                  am_strerror(rc));
    }
    free(block);
}

Test(entry_corpus, names_give_their_verdict)
{
    struct corpus c;
    size_t checked = 0;

    corpus_open(&c);
    for (size_t i = 0; i < c.n; i++) {
        const char *name = c.names[i];
        size_t len;
        uint8_t *buf = corpus_read(&c, name, &len);
        struct entry e;
        int rc = entry_decode(&e, buf, len);
        int want = 1;

        if (has_prefix(name, "ok-")) {
            cr_assert_eq(rc, AM_OK, "%s: entry_decode gives %d (%s)", name, rc, am_strerror(rc));
            cr_assert_eq(entry_verify(&e), AM_OK, "%s: the signature does not verify", name);
        } else if (has_prefix(name, "badsig-")) {
            cr_assert_eq(rc, AM_OK, "%s: entry_decode gives %d (%s)", name, rc, am_strerror(rc));
            cr_assert_eq(entry_verify(&e), AM_EBADSIG, "%s: the signature verifies", name);
        } else if (has_prefix(name, "malformed-")) {
            cr_assert_eq(rc, AM_EMALFORMED, "%s: entry_decode gives %d (%s)", name, rc,
                         am_strerror(rc));
        } else if (has_prefix(name, "limit-")) {
            cr_assert_eq(rc, AM_ELIMIT, "%s: entry_decode gives %d (%s)", name, rc,
                         am_strerror(rc));
        } else if (has_prefix(name, "version-")) {
            cr_assert_eq(rc, AM_EVERSION, "%s: entry_decode gives %d (%s)", name, rc,
                         am_strerror(rc));
        } else {
            want = 0;
        }
        checked += (size_t)want;
        free(buf);
    }
    cr_assert(checked > 0, "no corpus file has a name with an expected verdict");
    corpus_close(&c);
}

Test(entry_corpus, valid_entries_survive_no_flip_or_truncation)
{
    struct corpus c;
    size_t valid = 0;

    corpus_open(&c);
    for (size_t i = 0; i < c.n; i++) {
        size_t len;
        uint8_t *buf = corpus_read(&c, c.names[i], &len);
        if (decode_verify(buf, len) == AM_OK) {
            valid++;
            bitflip_sweep(c.names[i], buf, len);
            truncation_sweep(c.names[i], buf, len);
        }
        free(buf);
    }
    cr_log_info("%zu of %zu corpus files are valid signed entries", valid, c.n);
    cr_assert(valid > 0, "no file in %s is a valid signed entry", c.dir);
    corpus_close(&c);
}

/* Trailing bytes after a valid entry, or a valid entry with its signature cut, never
 * decode: the length given is the entry's length. */
Test(entry_corpus, valid_entries_refuse_extra_bytes)
{
    struct corpus c;

    corpus_open(&c);
    for (size_t i = 0; i < c.n; i++) {
        size_t len;
        uint8_t *buf = corpus_read(&c, c.names[i], &len);
        if (decode_verify(buf, len) == AM_OK && len < AM_ENTRY_MAX) {
            uint8_t *big = malloc(len + 1);
            struct entry e;
            cr_assert(big);
            memcpy(big, buf, len);
            for (unsigned v = 0; v < 256; v += 85) {
                big[len] = (uint8_t)v;
                cr_assert_neq(entry_decode(&e, big, len + 1), AM_OK,
                              "%s: decodes with one byte 0x%02x appended", c.names[i], v);
            }
            free(big);
        }
        free(buf);
    }
    corpus_close(&c);
}
