/*
 * webapp_forms.h: the phone pages that change records (served by http.c, beside
 * webapp.h's lists): a need's page with its updates (deliver part, fulfil, cancel, change
 * the priority), and a site's stock of one item with receive, issue and count. Every write
 * is made the CLI's way (need_ops.h, stock_ops.h); the caller (http.c) decides who may
 * post (a device paired to write, its anti-forgery token) and keeps the one-time ids of
 * the forms it has taken (a double tap writes once).
 *
 * Each update form carries the state it was opened on (a digest of the need, or of the
 * site's stock of the item): a form sent after that state changed (another node's update
 * synced in) is refused with the record as it is now, nothing written, the form kept
 * filled in as typed. Bad input (a field over its size, a quantity that is not a whole
 * number in range, an unknown site, item, lot or need) gets a sentence above the form,
 * the form kept filled in, nothing written.
 *
 * Pages: no script, usable at 360 px, far under 100 kB. Never prints.
 */
#ifndef AM_WEBAPP_FORMS_H
#define AM_WEBAPP_FORMS_H

#include <stddef.h>

#include "am_limits.h"
#include "webapp.h"

/* What a page tells the person after a write (and the caller keeps per one-time id, to
 * answer a second tap with it). */
#define WEBAPP_DONE_MAX 512

/* The fields of an update form, as typed (each NUL-terminated). */
struct webapp_change_form {
    char op[16]; /* deliver, fulfil, cancel, priority; receive, issue, count */
    char site[AM_RELIEF_SLUG_MAX + 1], item[AM_RELIEF_SLUG_MAX + 1];
    char qty[24], lot[AM_RELIEF_SLUG_MAX + 1], expiry[16], nolot[8], priority[16];
    char note[AM_RELIEF_NOTE_MAX + 1];
    char head[40]; /* the state the form was opened on, hex */
    char nonce[WEBAPP_NONCE_LEN + 1];
    char csrf[64];
};

/* The buffer of form field `key` and its size (*cap, with the NUL); NULL for a field the
 * form has not. */
char *webapp_change_field(struct webapp_change_form *f, const char *key, size_t *cap);

/* What a page answers with: the page (*out, malloc'd, the caller frees; *len) and its HTTP
 * status (*status). */
struct webapp_answer {
    char *out;
    size_t len;
    unsigned status; /* 200; 404 unknown need / site / item; 409 stale; 422 bad input; 503
                        the node could not store it */
    int written;     /* the change was written (keep its one-time id) */
    char done[WEBAPP_DONE_MAX]; /* after a write: what was recorded ("" when nothing) */
};

/* GET /needs/ID: the need whose id begins with the hex digits `id` (4..32), with its
 * update forms when w->can_write. AM_OK (a->status 200, or 404 with a page saying no
 * such need), AM_ENOMEM, or a store error. */
int webapp_need_page(const struct webapp_ctx *w, const char *id, struct webapp_answer *a);

/* POST /needs/ID: form f (`bad`: a field was over its size). again (nullable): this form's
 * one-time id was taken before, and this is what it recorded: nothing is written, the
 * page says so. Returns as webapp_need_page; a->done set when written. */
int webapp_need_change(const struct webapp_ctx *w, const char *id,
                       const struct webapp_change_form *f, int bad, const char *again,
                       struct webapp_answer *a);

/* GET /stock/update?site=S&item=I: the lots of item I at site S, and (w->can_write) the
 * forms to receive, issue and count them; without both (or with an unknown one) a form
 * to choose them (404 for an unknown one). Returns as webapp_need_page. */
int webapp_stock_page(const struct webapp_ctx *w, const char *site, const char *item,
                      struct webapp_answer *a);

/* POST /stock/update: as webapp_need_change, for a receipt, an issue or a count. */
int webapp_stock_change(const struct webapp_ctx *w, const struct webapp_change_form *f, int bad,
                        const char *again, struct webapp_answer *a);

#endif
