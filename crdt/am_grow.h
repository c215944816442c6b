/*
 * am_grow.h: growing a heap array by doubling, for every layer.
 */
#ifndef AM_GROW_H
#define AM_GROW_H

#include <stddef.h>

/* Makes *p (an array of elements of `size` bytes, room for *cap of them) hold at least
 * `need`: when it is too small, its capacity doubles from `first` until it fits. Returns
 * AM_OK, or AM_ENOMEM with *p and *cap unchanged. */
int am_grow(void **p, size_t *cap, size_t need, size_t size, size_t first);

/* am_grow for an array variable and its size_t capacity. */
#define AM_GROW(arr, cap, need, first)                                                             \
    am_grow((void **)&(arr), &(cap), (need), sizeof *(arr), (first))

#endif
