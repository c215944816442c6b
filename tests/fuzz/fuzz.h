/* fuzz.h: what every fuzz target shares (tests/fuzz/<name>_fuzz.c). */
#ifndef AM_FUZZ_H
#define AM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The entry point libFuzzer calls, and tests/fuzz/replay.c for the committed corpus. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: a crash libFuzzer reports with its input. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#endif
