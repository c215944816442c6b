/*
 * webapp_int.h: what the phone pages share between webapp.c (lists, the new-need form)
 * and webapp_forms.c / webapp_stock.c (a need's page, recording stock): the page's top,
 * rendering under store_guarded into memory, and small pieces of forms. Private to
 * node/webapp*.c.
 */
#ifndef AM_WEBAPP_INT_H
#define AM_WEBAPP_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "node.h"
#include "webapp.h"

/* Defined in webapp.c: */

/* The page's head, its style, the menu and the sync line, with `title`. */
void webapp_page_top(FILE *f, const struct webapp_ctx *w, const char *title);
/* Runs build(run) under store_guarded with *fp (which build's run holds) a memory stream;
 * *out (malloc'd, the caller frees) is the page. AM_OK, AM_ENOMEM, or build's error. */
int webapp_render(struct node *n, int (*build)(void *), void *run, FILE **fp, char **out,
                  size_t *len);
/* <option value="value">label</option>, escaped, selected when `selected`. */
void webapp_option(FILE *f, const char *value, const char *label, int selected);

/* Defined in webapp_forms.c: */

/* A quantity typed in a form: a whole number from 1 (0 when allow_zero) to RELIEF_QTY_MAX.
 * 0, or -1 with msg saying what to type (in lang, i18n.h). */
int webapp_form_qty(int lang, const char *in, int allow_zero, int64_t *q, char *msg, size_t cap);
/* A sentence above a form: a refusal (good 0) or what was recorded (good 1). */
void webapp_form_msg(FILE *f, const char *msg, int good);
/* The start of a form posting to `action`, with its hidden fields: op, the state it is
 * opened on (head), a fresh one-time id and the anti-forgery token. */
void webapp_form_open(FILE *f, const struct webapp_ctx *w, const char *action, const char *op,
                      const char *head);
/* A labelled text box. */
void webapp_form_input(FILE *f, const char *label, const char *id, const char *name,
                       const char *value, const char *extra);
/* The sentence (into msg, in lang) of a write that failed with rc (err: relief_node_write's
 * sentence, "" for none), and the answer's status: 422 (the values), 503 (the node). */
unsigned webapp_write_failed(int lang, int rc, const char *err, char *msg, size_t cap);
/* What a second tap of a form is told (into done, in lang): again is what the first one
 * recorded ("" when not known). */
void webapp_again(int lang, const char *again, char *done, size_t cap);
/* fmt (a sentence of the catalogue whose conversions are all %s or %N$s, N from 1 to
 * WEBAPP_FMT_ARGS) with its arguments, everything html-escaped, each argument in a <bdi>
 * (a site's or an item's name keeps its direction on a right-to-left page). */
#define WEBAPP_FMT_ARGS 4
void webapp_fmt_esc(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* n bytes as lower-case hex into out (2n + 1 bytes). */
void webapp_hex(const uint8_t *b, size_t n, char *out);
/* 2n hex digits (either case) of `in` into out: 0, or -1 when in is not exactly that. */
int webapp_unhex(const char *in, uint8_t *out, size_t n);

#endif
