/*
 * webdev_int.h: what webdev.c shares with webkey.c, whose file (DIR/web-keys) lives beside
 * the web app's other files, in the same line format, under the same lock: the lock, the
 * private text files, and the strict line decoder. Private to node/webdev.c and
 * node/webkey.c. Never prints.
 */
#ifndef AM_WEBDEV_INT_H
#define AM_WEBDEV_INT_H

#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"

/* The most TAB-separated fields a line of the web files has. */
#define WEBDEV_FIELDS 5

/* The fields of one line (without its LF), pointers into the text. */
struct webdev_fields {
    const char *p[WEBDEV_FIELDS];
    size_t n[WEBDEV_FIELDS];
};

/* Calls fn for each line of text[0..len), split into exactly `want` fields (at most
 * WEBDEV_FIELDS): at most max lines, each ending in LF within WEBDEV_LINE_MAX bytes; stops
 * at fn's first error and returns it. AM_OK, AM_ECORRUPT (a line of another shape),
 * AM_ELIMIT (over max lines, or a line over WEBDEV_LINE_MAX bytes). */
int webdev_each_line(const char *text, size_t len, size_t max, size_t want,
                     int (*fn)(void *ctx, const struct webdev_fields *f), void *ctx);
/* p[0..n) as exactly 2 * len lower-case hex digits into out: 1, or 0 when it is not. */
int webdev_hex_field(const char *p, size_t n, uint8_t *out, size_t len);
/* p[0..n) as a name (printable text, am_text.h, at most AM_NAME_MAX bytes; empty only when
 * allow_empty) into out, NUL-terminated: 1, or 0 when it is not one. */
int webdev_name_field(const char *p, size_t n, int allow_empty, char out[AM_NAME_MAX + 1]);

/* Opens DIR/web.lock (created 0600, never through a link) and waits for its exclusive
 * flock; *fd holds it until webdev_unlock(fd). AM_OK, AM_EPERM (a link or not a plain
 * file), AM_EINVAL (path too long), AM_ESYS. */
int webdev_lock(const char *home, int *fd);
void webdev_unlock(int fd);

/* The text of DIR/name into a malloc'd *text (the caller frees; NULL when empty), its first
 * cap bytes at most. Refuses a file that is not plain or that group or others can read
 * (AM_EPERM). An absent file is empty: AM_OK. AM_EINVAL, AM_ENOMEM, AM_ESYS. */
int webdev_read_text(const char *home, const char *name, size_t cap, char **text, size_t *len);
/* Writes text[0..len) as DIR/name, atomically and 0600 (home_write_secret_file). AM_OK,
 * AM_EINVAL (path too long), AM_ESYS. */
int webdev_write_text(const char *home, const char *name, const char *text, size_t len);

#endif
