/*
 * html.h: text as HTML, for the pages the node serves (dashboard.c, webapp.c).
 * Never prints anywhere but the FILE it is given.
 */
#ifndef AM_HTML_H
#define AM_HTML_H

#include <stddef.h>
#include <stdio.h>

/* Text as HTML, fit for element content and quoted attribute values. Text that breaks the
 * rule of printable text (am_text.h: a control, a bidirectional control, a byte that is
 * not UTF-8), which can still arrive in a peer's address, an error or a stick's path,
 * shows as '?': a character reference would give the browser the control back. */
void html_esc(FILE *f, const char *s, size_t n);
/* html_esc of a NUL-terminated string. */
void html_escs(FILE *f, const char *s);

#endif
