/*
 * replay.c: a plain driver for the libFuzzer targets of tests/fuzz/, used by ctest when
 * the build is not a libFuzzer build (AM_FUZZ=OFF, any compiler).
 *
 * Usage: <name>_fuzz_replay PATH...
 * Each PATH is a directory (every regular file in it, in name order, is one input) or a
 * single file (to replay one crash-* file a fuzzer wrote). Each input is read into a heap
 * buffer of exactly its size, so ASan catches a read one byte past the end, and passed
 * to LLVMFuzzerTestOneInput. Exits 1 when a path is missing or unreadable or a directory
 * holds no inputs: a corpus that vanished must not pass silently. A target that finds a
 * bug abort()s, which fails the test. Never writes anything.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
/* Optional in a target; weak, so a target need not define it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Reads `path` and runs it. Returns 0, or -1 (with a message) when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    int rc = -1;

    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: cannot size %s: %s\n", path, strerror(errno));
        goto out;
    }
    /* malloc(0) may return NULL; a target still gets a valid pointer for an empty input. */
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf) {
        fprintf(stderr, "replay: out of memory for %s (%ld bytes)\n", path, n);
        goto out;
    }
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "replay: short read on %s\n", path);
        goto out;
    }
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of `dir` in name order. Returns the number replayed, or -1. */
static long replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t count = 0, cap = 0;
    long done = -1;

    if (!d) {
        fprintf(stderr, "replay: cannot open directory %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        char *path;
        struct stat st;
        size_t len;

        if (de->d_name[0] == '.')
            continue; /* ".", "..", and hidden files such as .gitkeep */
        len = strlen(dir) + 1 + strlen(de->d_name) + 1;
        path = malloc(len);
        if (!path) {
            fprintf(stderr, "replay: out of memory\n");
            goto out;
        }
        snprintf(path, len, "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) {
                free(path);
                fprintf(stderr, "replay: out of memory\n");
                goto out;
            }
            names = nn;
            cap = ncap;
        }
        names[count++] = path;
    }
    if (count > 0)
        qsort(names, count, sizeof *names, cmp_names);
    for (size_t i = 0; i < count; i++)
        if (replay_file(names[i]) != 0)
            goto out;
    done = (long)count;
out:
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return done;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
        return 1;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        long n;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            n = replay_dir(argv[i]);
            if (n < 0)
                return 1;
            if (n == 0) {
                fprintf(stderr, "replay: no inputs in %s (a corpus must not be empty)\n", argv[i]);
                return 1;
            }
        } else {
            if (replay_file(argv[i]) != 0)
                return 1;
            n = 1;
        }
        printf("replayed %ld inputs from %s\n", n, argv[i]);
    }
    return 0;
}
