/*
 * i18n.c: the web app's languages (see i18n.h).
 *
 * How the catalogues are read, and why this way. A server thread answers requests in four
 * languages at once, so a lookup must not depend on process-wide state. glibc's gettext
 * picks the catalogue from the LANGUAGE variable and the thread's LC_MESSAGES locale:
 *  - uselocale(newlocale("fr_FR.UTF-8")) per request would be thread-safe, but needs the
 *    locales generated (`locale -a` on a minimal Debian 12 lists only C, C.utf8, POSIX),
 *    which a field laptop may well not have;
 *  - LANGUAGE per request is process-wide: setenv while another thread reads the
 *    environment is a data race;
 *  - a .mo reader of our own would re-implement what libintl does.
 * So i18n_init, once and before any thread starts, switches the calling thread to the
 * built-in C.UTF-8 locale (in which glibc honours LANGUAGE; in plain "C" it ignores it),
 * and for each shipped language sets LANGUAGE, tells libintl its cached lookups are stale
 * (textdomain(textdomain(NULL)), the documented signal), and asks dgettext/dngettext for
 * every msgid of po/aidmesh-web.pot (the list po/msgids.sh generates at build time). The
 * answers are copied into one table, sorted by msgid; LANGUAGE and the thread's locale are
 * put back. From then on a lookup is a binary search in memory nobody writes: thread-safe,
 * independent of the locale and the environment, and the catalogues are still read only by
 * gettext itself.
 *
 * Plural forms: dngettext is asked for n = 0..I18N_PLURAL_SPAN-1 and the forms are kept by
 * n. For a larger n, the form of 100 + n % 100 is used: the CLDR rules of the four shipped
 * languages depend on n only through n itself below 3 and n % 100 above (Arabic has the
 * most: 0, 1, 2, 3-10, 11-99, the rest, by n % 100); tests/unit/i18n_test.c checks the
 * table against dngettext for large n. A language added later must keep to that.
 *
 * The catalogues are trusted as the program is (they sit beside it, or where its operator
 * points AIDMESH_LOCALEDIR): their sentences are printf formats, which the build checks
 * against the msgids' with msgfmt --check.
 *
 * Must never: call gettext after i18n_init, write the table after i18n_init, or trust a
 * header's bytes beyond the limits of i18n.h.
 */
#include "i18n.h"

#include <dirent.h>
#include <errno.h>
#include <libintl.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "am_err.h"
#include "relief.h"

/* Where the build tree and the install put the catalogues (po/po.cmake sets them). */
#ifndef AM_BUILD_DIR
#define AM_BUILD_DIR ""
#endif
#ifndef AM_BUILD_LOCALEDIR
#define AM_BUILD_LOCALEDIR ""
#endif
#ifndef AM_LOCALEDIR_REL
#define AM_LOCALEDIR_REL "share/locale"
#endif
#ifndef AM_LOCALEDIR
#define AM_LOCALEDIR "/usr/local/share/locale"
#endif

/* n below this is looked up by n; above, by 100 + n % 100 (see the top) */
#define I18N_PLURAL_SPAN 200

struct i18n_entry {
    const char *one, *many;         /* the msgid (i18n_msgids) */
    char *tr[I18N_LANGS];           /* a translation; NULL: none */
    const char **forms[I18N_LANGS]; /* plural: by n below I18N_PLURAL_SPAN */
};

static const struct {
    const char *code, *name;
    int rtl;
} langs[I18N_LANGS] = {
    {"en", "English", 0}, {"fr", "Français", 0}, {"es", "Español", 0}, {"ar", "العربية", 1}};

static const char *const cookies[I18N_LANGS] = {
    "lang=en; Path=/; Max-Age=31536000; SameSite=Strict; HttpOnly",
    "lang=fr; Path=/; Max-Age=31536000; SameSite=Strict; HttpOnly",
    "lang=es; Path=/; Max-Age=31536000; SameSite=Strict; HttpOnly",
    "lang=ar; Path=/; Max-Age=31536000; SameSite=Strict; HttpOnly"};

/* Written by i18n_init only, before any other thread exists; read-only afterwards. */
static struct i18n_entry *tab;
static size_t n_tab;
static int loaded[I18N_LANGS] = {1};
static int init_done, init_rc;

static int valid(int lang)
{
    return lang > I18N_EN && lang < I18N_LANGS;
}

const char *i18n_code(int lang)
{
    return langs[valid(lang) ? lang : I18N_EN].code;
}

const char *i18n_name(int lang)
{
    return langs[valid(lang) ? lang : I18N_EN].name;
}

int i18n_rtl(int lang)
{
    return langs[valid(lang) ? lang : I18N_EN].rtl;
}

int i18n_loaded(int lang)
{
    return valid(lang) ? loaded[lang] : 1;
}

const char *i18n_set_cookie(int lang)
{
    return cookies[valid(lang) ? lang : I18N_EN];
}

/* ---- lookups ---------------------------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct i18n_entry *)a)->one, ((const struct i18n_entry *)b)->one);
}

static const struct i18n_entry *find(const char *msgid)
{
    struct i18n_entry key = {.one = msgid};
    if (!tab || !msgid)
        return NULL;
    return bsearch(&key, tab, n_tab, sizeof *tab, entry_cmp);
}

const char *i18n_s(int lang, const char *msgid)
{
    const struct i18n_entry *e;
    if (!valid(lang) || !(e = find(msgid)) || !e->tr[lang])
        return msgid;
    return e->tr[lang];
}

const char *i18n_n(int lang, const char *one, const char *many, unsigned long long n)
{
    const struct i18n_entry *e;
    if (!valid(lang) || !(e = find(one)) || !e->forms[lang])
        return n == 1 ? one : many;
    return e->forms[lang][n < I18N_PLURAL_SPAN ? n : 100 + n % 100];
}

/* ---- reading the catalogues ------------------------------------------------------------- */

/* The threads of this process (0: cannot tell). */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    int n = 0;
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static int has_catalogue(const char *dir, const char *code)
{
    char p[PATH_MAX];
    int n = snprintf(p, sizeof p, "%s/%s/LC_MESSAGES/" I18N_DOMAIN ".mo", dir, code);
    return n > 0 && (size_t)n < sizeof p && access(p, R_OK) == 0;
}

/* The folder i18n_init reads when given none (i18n.h). */
static void default_dir(char *out, size_t cap)
{
    const char *env = getenv("AIDMESH_LOCALEDIR");
    char exe[PATH_MAX], *slash;
    ssize_t n;
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        if ((slash = strrchr(exe, '/')) != NULL)
            *slash = 0;
        if (AM_BUILD_DIR[0] && strcmp(exe, AM_BUILD_DIR) == 0) {
            snprintf(out, cap, "%s", AM_BUILD_LOCALEDIR);
            return;
        }
        if ((size_t)snprintf(out, cap, "%s/../%s", exe, AM_LOCALEDIR_REL) < cap &&
            has_catalogue(out, "fr"))
            return;
    }
    snprintf(out, cap, "%s", AM_LOCALEDIR);
}

/* Copies the forms dngettext gives for n = 0..I18N_PLURAL_SPAN-1; *out stays NULL when
 * the message has no translation in the current language. */
static int read_plural(struct i18n_entry *e, const char ***out)
{
    const char *seen[8], **forms;
    char *copy[8];
    size_t n_seen = 0;
    for (unsigned long n = 0; n < I18N_PLURAL_SPAN; n++) {
        const char *s = dngettext(I18N_DOMAIN, e->one, e->many, n);
        if (s == e->one || s == e->many)
            return AM_OK; /* untranslated (gettext hands the msgid back) */
    }
    if (!(forms = calloc(I18N_PLURAL_SPAN, sizeof *forms)))
        return AM_ENOMEM;
    for (unsigned long n = 0; n < I18N_PLURAL_SPAN; n++) {
        const char *s = dngettext(I18N_DOMAIN, e->one, e->many, n);
        size_t k = 0;
        while (k < n_seen && seen[k] != s)
            k++;
        if (k == n_seen) {
            if (n_seen == sizeof seen / sizeof seen[0] || !(copy[k] = strdup(s))) {
                for (size_t j = 0; j < n_seen; j++)
                    free(copy[j]);
                free(forms);
                return AM_ENOMEM;
            }
            seen[n_seen++] = s;
        }
        forms[n] = copy[k];
    }
    *out = forms;
    return AM_OK;
}

/* Every msgid's translation in the language LANGUAGE names now. */
static int read_language(int lang)
{
    for (size_t i = 0; i < n_tab; i++) {
        struct i18n_entry *e = &tab[i];
        if (e->many) {
            if (read_plural(e, &e->forms[lang]) != AM_OK)
                return AM_ENOMEM;
        } else {
            const char *s = dgettext(I18N_DOMAIN, e->one);
            if (s != e->one && !(e->tr[lang] = strdup(s)))
                return AM_ENOMEM;
        }
    }
    return AM_OK;
}

static int load(const char *dir_in, char *err, size_t err_cap)
{
    char dir[PATH_MAX], *old_language = NULL;
    const char *env;
    locale_t c_utf8, prev;
    int rc = AM_OK, threads = thread_count();
    size_t missing = 0;

    if (threads > 1) {
        snprintf(err, err_cap,
                 "the web app's languages were not read: i18n_init ran with %d threads "
                 "running (it must run first); every page is in English",
                 threads);
        return AM_ESTATE;
    }
    if (dir_in)
        snprintf(dir, sizeof dir, "%s", dir_in);
    else
        default_dir(dir, sizeof dir);
    if (!(tab = calloc(i18n_n_msgids ? i18n_n_msgids : 1, sizeof *tab)))
        return AM_ENOMEM;
    for (size_t i = 0; i < i18n_n_msgids; i++) {
        tab[i].one = i18n_msgids[i].one;
        tab[i].many = i18n_msgids[i].many;
    }
    n_tab = i18n_n_msgids;
    qsort(tab, n_tab, sizeof *tab, entry_cmp);

    c_utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
    if (!c_utf8) {
        snprintf(err, err_cap,
                 "the web app's languages were not read: the C.UTF-8 locale is missing "
                 "(glibc 2.35 or later has it built in); every page is in English");
        return AM_ENOTFOUND;
    }
    if ((env = getenv("LANGUAGE")) != NULL && !(old_language = strdup(env))) {
        freelocale(c_utf8);
        return AM_ENOMEM;
    }
    prev = uselocale(c_utf8);
    if (!bindtextdomain(I18N_DOMAIN, dir) || !bind_textdomain_codeset(I18N_DOMAIN, "UTF-8"))
        rc = AM_ENOMEM;
    for (int lang = I18N_EN + 1; rc == AM_OK && lang < I18N_LANGS; lang++) {
        if (!has_catalogue(dir, langs[lang].code)) {
            missing++;
            continue;
        }
        if (setenv("LANGUAGE", langs[lang].code, 1) != 0) {
            rc = AM_ENOMEM;
            break;
        }
        textdomain(textdomain(NULL)); /* libintl: forget cached lookups */
        rc = read_language(lang);
        loaded[lang] = rc == AM_OK;
    }
    if (old_language)
        setenv("LANGUAGE", old_language, 1);
    else
        unsetenv("LANGUAGE");
    textdomain(textdomain(NULL));
    uselocale(prev);
    freelocale(c_utf8);
    free(old_language);
    if (rc == AM_OK && missing) {
        snprintf(err, err_cap,
                 "the web app has no catalogue for %zu of its languages in %s (their pages are "
                 "in English): build the project (make), install it (make install), or point "
                 "AIDMESH_LOCALEDIR at the build's locale/ folder",
                 missing, dir);
        rc = AM_ENOTFOUND;
    }
    return rc;
}

int i18n_init(const char *dir, char *err, size_t err_cap)
{
    if (err_cap)
        err[0] = 0;
    if (init_done)
        return init_rc;
    init_done = 1;
    init_rc = load(dir, err, err_cap);
    if (init_rc == AM_ENOMEM && err_cap)
        snprintf(err, err_cap,
                 "the web app's languages were not read: out of memory; every page is in "
                 "English");
    return init_rc;
}

/* ---- choosing the language -------------------------------------------------------------- */

int i18n_from_code(const char *s, size_t n)
{
    if (!s || n != 2)
        return -1;
    for (int i = 0; i < I18N_LANGS; i++)
        if ((s[0] | 0x20) == langs[i].code[0] && (s[1] | 0x20) == langs[i].code[1])
            return i;
    return -1;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* qvalue = "0" ["." 0-3 DIGIT] / "1" ["." 0-3 "0"] (RFC 9110 12.4.2) -> 0..1000, or -1. */
static int qvalue(const char *s, size_t n)
{
    int q, scale = 100;
    if (n == 0 || n > 5 || (s[0] != '0' && s[0] != '1'))
        return -1;
    q = (s[0] - '0') * 1000;
    if (n == 1)
        return q;
    if (s[1] != '.')
        return -1;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        q += (s[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* One item of an Accept-Language list: *lang (-1: not shipped) and *q, or -1 when the
 * item is not well formed. */
static int weigh(const char *s, size_t n, int *lang, int *q)
{
    size_t i = 0, t0, tn, sub;
    while (i < n && is_ows(s[i]))
        i++;
    while (n > i && is_ows(s[n - 1]))
        n--;
    t0 = i;
    while (i < n && (is_alnum(s[i]) || s[i] == '-' || s[i] == '*'))
        i++;
    tn = i - t0;
    if (tn == 0 || tn > I18N_TAG_MAX)
        return -1;
    if (memchr(s + t0, '*', tn) && tn != 1)
        return -1;
    for (sub = 0; sub < tn && s[t0 + sub] != '-'; sub++)
        ;
    *lang = s[t0] == '*' ? I18N_EN : i18n_from_code(s + t0, sub);
    *q = 1000;
    while (i < n && is_ows(s[i]))
        i++;
    if (i == n)
        return 0;
    if (s[i++] != ';')
        return -1;
    while (i < n && is_ows(s[i]))
        i++;
    if (n - i < 2 || (s[i] != 'q' && s[i] != 'Q') || s[i + 1] != '=')
        return -1;
    *q = qvalue(s + i + 2, n - i - 2);
    return *q < 0 ? -1 : 0;
}

int i18n_accept(const char *hdr)
{
    size_t len, i = 0;
    int best = -1, best_q = 0, items = 0;
    if (!hdr)
        return -1;
    len = strnlen(hdr, I18N_HEADER_MAX);
    while (i < len && items < I18N_ACCEPT_ITEMS) {
        size_t end = i;
        int lang, q;
        while (end < len && hdr[end] != ',')
            end++;
        items++;
        if (weigh(hdr + i, end - i, &lang, &q) == 0 && lang >= 0 && q > best_q) {
            best = lang;
            best_q = q;
        }
        i = end + 1;
    }
    return best;
}

int i18n_cookie(const char *hdr)
{
    size_t len, i = 0;
    if (!hdr)
        return -1;
    len = strnlen(hdr, I18N_HEADER_MAX);
    while (i < len) {
        size_t name, name_n, val, val_n;
        while (i < len && is_ows(hdr[i]))
            i++;
        name = i;
        while (i < len && hdr[i] != '=' && hdr[i] != ';')
            i++;
        name_n = i - name;
        while (name_n && is_ows(hdr[name + name_n - 1]))
            name_n--;
        if (i == len || hdr[i] == ';') {
            i++;
            continue;
        }
        val = ++i;
        while (i < len && hdr[i] != ';')
            i++;
        val_n = i - val;
        while (val_n && is_ows(hdr[val]))
            val++, val_n--;
        while (val_n && is_ows(hdr[val + val_n - 1]))
            val_n--;
        if (name_n == 4 && memcmp(hdr + name, "lang", 4) == 0)
            return i18n_from_code(hdr + val, val_n);
        i++;
    }
    return -1;
}

int i18n_pick(const char *arg, const char *cookie_hdr, const char *accept_hdr, int *set_cookie)
{
    int l;
    *set_cookie = 0;
    if (arg && (l = i18n_from_code(arg, strnlen(arg, 3))) >= 0)
        *set_cookie = 1;
    else if ((l = i18n_cookie(cookie_hdr)) < 0 && (l = i18n_accept(accept_hdr)) < 0)
        l = I18N_EN;
    /* a page says the language it is written in: one whose catalogue is missing is English */
    return i18n_loaded(l) ? l : I18N_EN;
}

/* ---- numbers and days ------------------------------------------------------------------- */

void i18n_num(int lang, long long v, char out[static I18N_NUM_MAX])
{
    static const char *const sep[I18N_LANGS] = {",", "\u202f", ".", "\u066c"};
    const char *g = sep[valid(lang) ? lang : I18N_EN];
    unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    char d[24];
    int nd = snprintf(d, sizeof d, "%llu", m);
    int group = nd >= (lang == I18N_ES ? 5 : 4);
    size_t o = 0, gl = strlen(g);
    if (v < 0)
        out[o++] = '-';
    for (int k = 0; k < nd; k++) {
        if (group && k && (nd - k) % 3 == 0) {
            memcpy(out + o, g, gl);
            o += gl;
        }
        out[o++] = d[k];
    }
    out[o] = 0;
}

void i18n_day(int lang, uint32_t day, char out[static I18N_DAY_MAX])
{
    static const char *const months[12] = {I18N_NOOP("Jan"), I18N_NOOP("Feb"), I18N_NOOP("Mar"),
                                           I18N_NOOP("Apr"), I18N_NOOP("May"), I18N_NOOP("Jun"),
                                           I18N_NOOP("Jul"), I18N_NOOP("Aug"), I18N_NOOP("Sep"),
                                           I18N_NOOP("Oct"), I18N_NOOP("Nov"), I18N_NOOP("Dec")};
    int y, m, d;
    if (day > RELIEF_DAY_MAX)
        day = RELIEF_DAY_MAX;
    relief_day_to_ymd(day, &y, &m, &d);
    if (m < 1 || m > 12)
        m = 1;
    /* every shipped language writes day, month, year; the month's short name is theirs */
    snprintf(out, I18N_DAY_MAX, "%d %s %d", d, i18n_s(lang, months[m - 1]), y);
}
