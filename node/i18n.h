/*
 * i18n.h: the languages of the node's web app (English, French, Spanish, Arabic): its
 * sentences through the gettext catalogues of the text domain "aidmesh-web" (po/), the
 * choice of a request's language (a ?lang= link, the lang cookie, Accept-Language), and
 * numbers and days written the language's way.
 *
 * The catalogues are read once, by i18n_init, before any thread runs; every other function
 * only reads what it left, so the server threads may call them at once, and nothing here
 * depends on the process's locale or environment once i18n_init has returned.
 * Never prints.
 */
#ifndef AM_I18N_H
#define AM_I18N_H

#include <stddef.h>
#include <stdint.h>

/* The languages shipped, in the switcher's order. 0 is English (the msgids themselves):
 * a zeroed context is an English page. */
enum { I18N_EN, I18N_FR, I18N_ES, I18N_AR, I18N_LANGS };

#define I18N_DOMAIN "aidmesh-web"

/* Limits of the request decoders (the bytes come from any phone on the network): */
/* bytes of an Accept-Language or Cookie header looked at (the rest is ignored) */
#define I18N_HEADER_MAX 1024
/* items of an Accept-Language list weighed (browsers send 2 to 10) */
#define I18N_ACCEPT_ITEMS 16
/* bytes of one language range ("de-CH", "zh-Hant-TW"; RFC 5646 tags fit in 35) */
#define I18N_TAG_MAX 35

/* Bytes of i18n_num's and i18n_day's text, the NUL included. */
#define I18N_NUM_MAX 48
#define I18N_DAY_MAX 48

/* Marks a string for xgettext (po/aidmesh-web.pot) without translating it here: a table of
 * msgids whose entries go through i18n_s later. */
#define I18N_NOOP(s) (s)

/* Reads the catalogues of every shipped language into the tables the lookups use. dir:
 * the folder holding LANG/LC_MESSAGES/aidmesh-web.mo; NULL: $AIDMESH_LOCALEDIR if set,
 * else the build tree's locale/ when this program runs from the build tree, else
 * BINDIR/../share/locale (where the install puts them), else the configured install
 * folder. Call it once, before any thread of the process starts (it sets LANGUAGE and the
 * calling thread's locale for a moment, and puts both back); a later call does nothing
 * and returns the first call's result. AM_OK, AM_ENOTFOUND (a language has no catalogue
 * there: its pages are in English; err says which and where), AM_ESTATE (called while
 * another thread runs: every page in English), AM_ENOMEM. */
int i18n_init(const char *dir, char *err, size_t err_cap);

/* The translation of msgid in lang, or msgid itself (English, an unknown language, a
 * missing catalogue or translation). The returned string lives as long as the process or
 * as msgid. */
const char *i18n_s(int lang, const char *msgid) __attribute__((format_arg(2)));

/* The form for n of a message with plural forms (ngettext's rules: each language's
 * Plural-Forms; English and untranslated: one when n == 1, else many). */
const char *i18n_n(int lang, const char *one, const char *many, unsigned long long n)
    __attribute__((format_arg(2))) __attribute__((format_arg(3)));

/* "en", "fr", "es", "ar"; the language's own name ("Français"); 1 for right to left.
 * An out-of-range lang is English. */
const char *i18n_code(int lang);
const char *i18n_name(int lang);
int i18n_rtl(int lang);
/* 1 when lang's catalogue was read (English: always). */
int i18n_loaded(int lang);

/* The shipped language whose code is s[0..n) (ASCII case ignored), or -1. */
int i18n_from_code(const char *s, size_t n);

/* The shipped language an Accept-Language header prefers (RFC 9110 12.5.4: the highest
 * q, the first of equal ones; a range matches by its primary subtag, "*" is English; q=0
 * refuses), or -1 when it names none of them. At most I18N_HEADER_MAX bytes and
 * I18N_ACCEPT_ITEMS items are read; an item that is not well formed is skipped. hdr
 * NULL: -1. */
int i18n_accept(const char *hdr);

/* The language of the first "lang" cookie of a Cookie header, or -1 (none, or not a
 * shipped language). hdr NULL: -1. */
int i18n_cookie(const char *hdr);

/* A request's language: arg (a ?lang= value, NULL: none) when it names a shipped
 * language, then the lang cookie of the Cookie header, then Accept-Language, else
 * English; English too when the one chosen has no catalogue (i18n_loaded). *set_cookie is
 * 1 when arg chose: the answer should carry i18n_set_cookie (of the language arg named). */
int i18n_pick(const char *arg, const char *cookie_hdr, const char *accept_hdr, int *set_cookie);

/* The Set-Cookie value that keeps lang for a year (SameSite=Strict, readable by no script). */
const char *i18n_set_cookie(int lang);

/* v with the language's digit grouping: 10,316 (en), 10 316 with U+202F (fr), 10.316 (es:
 * grouped from five digits, 1000 stays whole), 10٬316 (ar: Western digits, the Arabic
 * thousands separator U+066C). */
void i18n_num(int lang, long long v, char out[static I18N_NUM_MAX]);

/* A day (days since 1970-01-01, relief.h) as the language writes it: "8 Dec 2026",
 * "8 déc. 2026", "8 dic 2026", "8 ديسمبر 2026". */
void i18n_day(int lang, uint32_t day, char out[static I18N_DAY_MAX]);

/* The msgids the catalogues are read for (generated from po/aidmesh-web.pot at build time,
 * po/msgids.sh): one and, for a message with plural forms, many. */
struct i18n_msgid {
    const char *one, *many;
};
extern const struct i18n_msgid i18n_msgids[];
extern const size_t i18n_n_msgids;

#endif
