/*
 * webapp.h: the phone pages of the node's web app (served by http.c): the needs of a site
 * with filters, a form to add a need, and the stock of a site. Small pages for a 360x640 screen, no
 * script, no file fetched from anywhere: the forms work without JavaScript. Every write goes
 * through relief_node_write, as the CLI's do. The caller (http.c) decides who may see and post
 * (paired devices, roles, the anti-forgery token); this module renders and writes.
 * Never prints; reads the store through its own read transactions (query.h).
 */
#ifndef AM_WEBAPP_H
#define AM_WEBAPP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "am_limits.h"
#include "node.h"
#include "status.h"

#define WEBAPP_ROWS_MAX  200 /* needs listed on one page (then: narrow the filter) */
#define WEBAPP_NONCE_LEN 22  /* a form's one-time id: 16 random bytes, base64url */

/* Who asks, as the web server saw it. */
struct webapp_ctx {
    struct node *n;
    struct status_snapshot *status; /* the daemon's live status; NULL: none */
    int can_write;                  /* a device paired to write, or this machine's browser */
    const char *csrf;               /* the anti-forgery token forms carry ("": none needed) */
    int lang;                       /* the page's language (i18n.h; 0: English) */
    const char *path;               /* the page's path: the language switcher links there
                                       (NULL: /needs) */
    const uint8_t *sk; /* the key its writes are signed by: the paired phone's (webkey.h),
                          AM_SK_LEN bytes the caller owns; NULL: the node's own */
};

/* The fields of the new-need form, as typed (each NUL-terminated, cut to its size). */
struct webapp_need_form {
    char site[AM_RELIEF_SLUG_MAX + 1], item[AM_RELIEF_SLUG_MAX + 1];
    char qty[24], priority[16];
    char note[AM_RELIEF_NOTE_MAX + 1];
    char nonce[WEBAPP_NONCE_LEN + 1];
    char csrf[64];
};

/* The language switcher of a page at `path` (i18n.h's languages, each a link to
 * path?lang=CODE in its own name; lang, the page's, is not a link). */
void webapp_languages(FILE *f, int lang, const char *path);

/* GET /needs[?site=S&status=open|fulfilled|cancelled|any&priority=P&q=TEXT]: the filter
 * form and the needs it selects (most needed first, at most WEBAPP_ROWS_MAX). Arguments
 * NULL when absent; a value that is not one of the above is ignored (and shown as "any").
 * *out is malloc'd. AM_OK, AM_ENOMEM, or a store error. */
int webapp_needs(const struct webapp_ctx *w, const char *site, const char *status,
                 const char *priority, const char *q, char **out, size_t *len);

/* GET /catalogue: the sites (name, code, kind) and the items (name, code, unit, category,
 * packs) of the network, at most WEBAPP_ROWS_MAX of each (webapp_catalogue.c). */
int webapp_catalogue(const struct webapp_ctx *w, char **out, size_t *len);

/* GET /stock[?site=S&item=I]: the stock cells (lots) that hold something or need a look,
 * by site, item, lot and expiry, with their flags (overdrawn, counts that disagree,
 * expired, expiring, below the minimum); at most WEBAPP_ROWS_MAX. */
int webapp_stock(const struct webapp_ctx *w, const char *site, const char *item, char **out,
                 size_t *len);

/* GET /needs/new: the form, filled with f (NULL: empty), a sentence above it (NULL: none),
 * and a fresh nonce. */
int webapp_need_form(const struct webapp_ctx *w, const struct webapp_need_form *f, const char *msg,
                     char **out, size_t *len);

/* POST /needs: opens the need the form describes (relief_node_write). AM_OK (*id_hex the
 * new need's id, 33 bytes), AM_EINVAL (a field is missing or bad: msg says which and
 * why, in a sentence for the person at the phone), AM_ENOTFOUND (an unknown site or
 * item: msg), or a store error (msg). */
int webapp_need_add(const struct webapp_ctx *w, const struct webapp_need_form *f, char *id_hex,
                    char *msg, size_t cap);

#endif
