/* testutil.h: helpers shared by the unit tests (temp dirs, seeded randomness). */
#ifndef AM_TESTUTIL_H
#define AM_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Creates a fresh temp directory; returns a malloc'd path the caller frees after
 * tu_rmrf(). Aborts the test on failure. */
char *tu_tmpdir(void);
/* Removes a directory tree (best effort). */
void tu_rmrf(const char *path);
/* The seed for randomised tests: $AM_SEED if set, else time-based; printed once. */
uint64_t tu_seed(const char *test_name);
/* xorshift64* PRNG for reproducible tests. */
uint64_t tu_rand(uint64_t *state);
/* Reads a whole file into a malloc'd buffer; NULL on failure. */
uint8_t *tu_read_file(const char *path, size_t *len);
/* A heap copy of exactly n bytes (1 when n is 0, never read), so ASan sees any read past
 * the end. Aborts the test when out of memory. */
uint8_t *tu_dup_exact(const uint8_t *p, size_t n);

#endif
