/*
 * webform_corpus_test.c: the web forms' fuzz corpus (tests/fuzz/corpus/webform/, found
 * through $AM_SOURCE_DIR, which ctest sets) swept through the fuzz target's invariants
 * (tests/fuzz/webform_fuzz.c, built into this test): every file, every prefix of it (a
 * form cut short), and every one-bit change of it (a typed byte that is not what the page
 * expects). Each input sits at the end of a heap block of its exact size, so ASan sees any
 * read past it; a broken invariant abort()s, which fails the test.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/webform_fuzz.c"

#define CORPUS_MAX_FILE 4096 /* bytes: the corpus holds forms and sentences, all small */

static void run(const uint8_t *in, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    cr_assert(copy);
    memcpy(copy, in, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
}

Test(webform_corpus, sweeps, .timeout = 600)
{
    const char *src = getenv("AM_SOURCE_DIR");
    char dir[4096], path[4096 + 256];
    uint8_t buf[CORPUS_MAX_FILE];
    struct dirent *de;
    size_t files = 0;
    DIR *d;

    cr_assert(src && *src, "AM_SOURCE_DIR is not set: run this test through ctest, or set "
                           "AM_SOURCE_DIR to the top of the source tree");
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/webform", src);
    d = opendir(dir);
    cr_assert(d, "cannot open the corpus directory %s", dir);
    while ((de = readdir(d))) {
        FILE *f;
        size_t n;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        f = fopen(path, "rb");
        cr_assert(f, "cannot open %s", path);
        n = fread(buf, 1, sizeof buf, f);
        cr_assert(feof(f), "%s is over %d bytes: keep corpus files small", path, CORPUS_MAX_FILE);
        fclose(f);
        files++;
        fprintf(stderr, "# sweeping %s\n", de->d_name); /* the last one named broke it */
        for (size_t cut = 0; cut <= n; cut++)           /* the file and every prefix */
            run(buf, cut);
        for (size_t i = 0; i < n; i++) /* every one-bit change */
            for (int bit = 0; bit < 8; bit++) {
                buf[i] ^= (uint8_t)(1u << bit);
                run(buf, n);
                buf[i] ^= (uint8_t)(1u << bit);
            }
    }
    closedir(d);
    cr_assert(files >= 40, "the corpus at %s holds %zu files: it vanished or was cut", dir, files);
}
