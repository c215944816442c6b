/*
 * http_pair.h: pairing a phone with the node's web app over HTTP (part of the web server,
 * http.c): the form at /pair, the code typed into it (a POST of the same origin, its
 * body read by libmicrohttpd's form parser and bounded), and the guard that stops anyone
 * on the Wi-Fi from trying codes: after HTTP_PAIR_FAILS_PER_ADDR wrong codes an address
 * waits HTTP_PAIR_LOCK_S seconds, and after HTTP_PAIR_FAILS_ALL wrong codes from anyone
 * within that time every address waits (a code has 40 bits: at most 20 tries in 10
 * minutes leaves an outsider about one chance in 5 * 10^10 per code).
 * The codes and devices themselves are webdev.h's. Runs on the web server's one thread.
 */
#ifndef AM_HTTP_PAIR_H
#define AM_HTTP_PAIR_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_PAIR_FAILS_PER_ADDR 5
#define HTTP_PAIR_FAILS_ALL      20
#define HTTP_PAIR_LOCK_S         600
#define HTTP_PAIR_ADDRS          64   /* addresses remembered (the oldest is forgotten) */
#define HTTP_PAIR_BODY_MAX       1024 /* bytes of a pairing form's body */

/* The failures of one address (an IPv4 address, or an IPv6 address's /64). */
struct http_pair_addr {
    uint8_t key[16];
    uint32_t fails;
    uint64_t first_ms, until_ms; /* the first failure counted; locked until */
};

struct http_pair_guard {
    struct http_pair_addr a[HTTP_PAIR_ADDRS];
    uint64_t all_first_ms, all_until_ms;
    uint32_t all_fails;
};

/* Seconds `key` must still wait before trying a code (0: it may try now). */
unsigned http_pair_wait(const struct http_pair_guard *g, const uint8_t key[16], uint64_t now_ms);
/* A wrong code from `key`: counted, and the locks set when a bound is reached. */
void http_pair_failed(struct http_pair_guard *g, const uint8_t key[16], uint64_t now_ms);
/* A code that worked: the address's count starts again. */
void http_pair_succeeded(struct http_pair_guard *g, const uint8_t key[16]);

/* The pairing page: the form, with a sentence above it (HTML-escaped here; NULL: none).
 * Returns a malloc'd page (NUL-terminated) and its length, or NULL. */
char *http_pair_page(const char *sentence, size_t *len);
/* The same page in a language of i18n.h (http_pair_page: English), with the language
 * switcher. */
char *http_pair_page_lang(int lang, const char *sentence, size_t *len);
/* The page a phone that is not paired (or no longer) gets: a sentence and a link to the
 * pairing page, in lang. Returns a malloc'd page and its length, or NULL. */
char *http_pair_unpaired_page(int lang, size_t *len);

#endif
