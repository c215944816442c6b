/* am_grow.c: see am_grow.h. */
#include "am_grow.h"

#include <stdint.h>
#include <stdlib.h>

#include "am_err.h"

int am_grow(void **p, size_t *cap, size_t need, size_t size, size_t first)
{
    size_t n = *cap ? *cap : (first ? first : 1);
    void *np;

    if (need <= *cap)
        return AM_OK;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return AM_ENOMEM;
        n *= 2;
    }
    if (size && n > SIZE_MAX / size)
        return AM_ENOMEM;
    np = realloc(*p, n * size);
    if (!np)
        return AM_ENOMEM;
    *p = np;
    *cap = n;
    return AM_OK;
}
