/*
 * webdev.c: the paired devices of the web app and their pairing codes (see webdev.h).
 *
 * Must never: write a token or a code to a file (only their BLAKE2b-256 hashes), compare a
 * token's hash other than in constant time, change a file without holding the flock of
 * DIR/web.lock, leave a file half written (home_write_secret_file: temp file, fsync,
 * rename, folder fsync), read a file that group or others can read, accept a file of
 * another shape in part, or print.
 */
#include "webdev.h"
#include "webdev_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "am_text.h"
#include "home.h"
#include "webkey.h"

#define CSRF_LABEL "aidmesh web csrf v1"
#define HASH_LEN   32
/* the Set-Cookie lifetime: a year, in seconds */
#define COOKIE_MAX_AGE (365L * 24 * 60 * 60)

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* One live pairing code of DIR/web-pairing. */
struct webcode {
    uint8_t hash[HASH_LEN];
    int role;
    uint64_t expires_ms;
    char name[AM_NAME_MAX + 1];
};

struct webcodes {
    struct webcode c[WEBDEV_CODES_MAX];
    size_t n;
};

const char *webdev_role_name(int role)
{
    return role == WEBDEV_READ ? "read" : role == WEBDEV_WRITE ? "write" : NULL;
}

int webdev_role_parse(const char *s)
{
    if (s && !strcmp(s, "read"))
        return WEBDEV_READ;
    if (s && !strcmp(s, "write"))
        return WEBDEV_WRITE;
    return 0;
}

void webdev_list_free(struct webdev_list *l)
{
    if (!l)
        return;
    free(l->d);
    l->d = NULL;
    l->n = 0;
}

/* ---- the line format ---------------------------------------------------------------------- */

/* Exactly `want` (at most WEBDEV_FIELDS) fields, else AM_ECORRUPT. */
static int split_fields(const char *p, size_t n, size_t want, struct webdev_fields *f)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '\t')
            continue;
        if (k == want)
            return AM_ECORRUPT;
        f->p[k] = p + start;
        f->n[k] = i - start;
        k++;
        start = i + 1;
    }
    return k == want ? AM_OK : AM_ECORRUPT;
}

/* Calls fn for each line of text[0..len), split into `want` fields: at most max lines,
 * each ending in LF within WEBDEV_LINE_MAX bytes. The limits are checked before the
 * shape, so the first WEBDEV_LINE_MAX * max + 1 bytes of a longer file are over a limit,
 * never a cut line. fn is called only for a line that ends in LF. */
int webdev_each_line(const char *text, size_t len, size_t max, size_t want,
                     int (*fn)(void *ctx, const struct webdev_fields *f), void *ctx)
{
    size_t off = 0, count = 0;
    while (off < len) {
        size_t room = len - off, look = room < WEBDEV_LINE_MAX ? room : WEBDEV_LINE_MAX;
        const char *lf = memchr(text + off, '\n', look);
        struct webdev_fields f;
        int rc;
        if (count == max)
            return AM_ELIMIT;
        if (!lf)
            return room >= WEBDEV_LINE_MAX ? AM_ELIMIT : AM_ECORRUPT;
        if ((rc = split_fields(text + off, (size_t)(lf - (text + off)), want, &f)) != AM_OK ||
            (rc = fn(ctx, &f)) != AM_OK)
            return rc;
        count++;
        off = (size_t)(lf - text) + 1;
    }
    return AM_OK;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case too: the files are written in lower case */
}

int webdev_hex_field(const char *p, size_t n, uint8_t *out, size_t len)
{
    if (n != 2 * len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int hi = nibble(p[2 * i]), lo = nibble(p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* Decimal, no sign, no leading zero (but "0"), at most 2^64 - 1. */
static int u64_field(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20 || (n > 1 && p[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int role_field(const char *p, size_t n)
{
    if (n == 4 && !memcmp(p, "read", 4))
        return WEBDEV_READ;
    if (n == 5 && !memcmp(p, "write", 5))
        return WEBDEV_WRITE;
    return 0;
}

/* Printable text of a node name (am_text.h, no TAB or LF), at most AM_NAME_MAX bytes. */
static int name_ok(const char *p, size_t n, int allow_empty)
{
    return (n > 0 || allow_empty) && n <= AM_NAME_MAX && am_text_ok(p, n, 0);
}

int webdev_name_field(const char *p, size_t n, int allow_empty, char out[AM_NAME_MAX + 1])
{
    if (!name_ok(p, n, allow_empty))
        return 0;
    memcpy(out, p, n);
    out[n] = 0;
    return 1;
}

struct devices_parse {
    struct webdev_list *l;
    size_t cap; /* rows allocated in l->d */
};

/* ID TAB ROLE TAB CREATED TAB TOKEN HASH TAB NAME (webdev.h); a device has a name. */
static int device_line(void *ctx, const struct webdev_fields *f)
{
    struct devices_parse *dp = ctx;
    struct webdev_list *l = dp->l;
    struct webdev *d;

    if (l->n >= dp->cap) /* each_line calls only for LF-ended lines: cannot happen */
        return AM_ELIMIT;
    d = &l->d[l->n];
    memset(d, 0, sizeof *d);
    if (!webdev_hex_field(f->p[0], f->n[0], d->id, WEBDEV_ID_LEN) ||
        !(d->role = role_field(f->p[1], f->n[1])) || !u64_field(f->p[2], f->n[2], &d->created_ms) ||
        !webdev_hex_field(f->p[3], f->n[3], d->token_hash, HASH_LEN) ||
        !webdev_name_field(f->p[4], f->n[4], 0, d->name))
        return AM_ECORRUPT;
    for (size_t i = 0; i < l->n; i++)
        if (!memcmp(l->d[i].id, d->id, WEBDEV_ID_LEN) ||
            !memcmp(l->d[i].token_hash, d->token_hash, HASH_LEN))
            return AM_ECORRUPT;
    l->n++;
    return AM_OK;
}

int webdev_parse(const char *text, size_t len, struct webdev_list *out)
{
    struct devices_parse dp = {out, 0};
    const char *p = text, *end = text + len, *lf;
    int rc;

    out->d = NULL;
    out->n = 0;
    /* a row for every LF-ended line, at most WEBDEV_MAX (each_line parses no more) */
    while (dp.cap < WEBDEV_MAX && p < end && (lf = memchr(p, '\n', (size_t)(end - p)))) {
        dp.cap++;
        p = lf + 1;
    }
    if (dp.cap > 0 && !(out->d = calloc(dp.cap, sizeof *out->d)))
        return AM_ENOMEM;
    rc = webdev_each_line(text, len, WEBDEV_MAX, WEBDEV_FIELDS, device_line, &dp);
    if (rc != AM_OK)
        webdev_list_free(out);
    return rc;
}

/* CODE HASH TAB ROLE TAB EXPIRES TAB NAME (webdev.h); the name may be empty. */
static int code_line(void *ctx, const struct webdev_fields *f)
{
    struct webcodes *cs = ctx;
    struct webcode *c = &cs->c[cs->n];

    memset(c, 0, sizeof *c);
    if (!webdev_hex_field(f->p[0], f->n[0], c->hash, HASH_LEN) ||
        !(c->role = role_field(f->p[1], f->n[1])) || !u64_field(f->p[2], f->n[2], &c->expires_ms) ||
        !webdev_name_field(f->p[3], f->n[3], 1, c->name))
        return AM_ECORRUPT;
    cs->n++;
    return AM_OK;
}

static int codes_parse(const char *text, size_t len, struct webcodes *cs)
{
    int rc;
    cs->n = 0;
    rc = webdev_each_line(text, len, WEBDEV_CODES_MAX, 4, code_line, cs);
    if (rc != AM_OK)
        cs->n = 0;
    return rc;
}

/* ---- the files ------------------------------------------------------------------------------ */

/* Opens DIR/web.lock (created 0600, never through a link) and waits for its exclusive
 * flock; *fd holds it until webdev_unlock(). AM_OK, AM_EPERM (a link or not a plain file),
 * AM_EINVAL (path too long), AM_ESYS. */
int webdev_lock(const char *home, int *fd)
{
    char path[AM_HOME_PATH_MAX];
    int f, e, rc;

    *fd = -1;
    if (home_path(path, home, WEBDEV_LOCK_FILE) != AM_OK)
        return AM_EINVAL;
    if ((rc = home_open_lock_file(path, &f)) != AM_OK)
        return rc;
    while (flock(f, LOCK_EX) != 0) {
        if (errno == EINTR)
            continue;
        e = errno;
        close(f);
        errno = e;
        return AM_ESYS;
    }
    *fd = f;
    return AM_OK;
}

void webdev_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* drops the flock */
}

/* The text of DIR/name into a malloc'd *text (the caller frees; NULL when empty), its first
 * `cap` bytes at most (a longer file is over the limits, which the parser then sees).
 * Refuses, as home_read_secret_file does, a file that is not plain or that group or others
 * can read (AM_EPERM). An absent file is empty: AM_OK. AM_EINVAL, AM_ENOMEM, AM_ESYS. */
int webdev_read_text(const char *home, const char *name, size_t cap, char **text, size_t *len)
{
    char path[AM_HOME_PATH_MAX];
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd, rc = AM_ESYS, e;

    *text = NULL;
    *len = 0;
    if (home_path(path, home, name) != AM_OK)
        return AM_EINVAL;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return AM_EPERM;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? AM_OK : errno == ELOOP ? AM_EPERM : AM_ESYS;
    if (fstat(fd, &st) != 0)
        goto out;
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
        rc = AM_EPERM;
        goto out;
    }
    if (!(buf = malloc(cap))) {
        rc = AM_ENOMEM;
        goto out;
    }
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    rc = AM_OK;
out:
    e = errno;
    close(fd);
    if (rc == AM_OK && got > 0) {
        *text = buf;
        *len = got;
    } else {
        free(buf);
    }
    errno = e;
    return rc;
}

static int devices_load_locked(const char *home, struct webdev_list *out)
{
    char *text;
    size_t len;
    int rc;

    out->d = NULL;
    out->n = 0;
    rc = webdev_read_text(home, WEBDEV_DEVICES_FILE, (size_t)WEBDEV_MAX * WEBDEV_LINE_MAX + 1,
                          &text, &len);
    if (rc == AM_OK)
        rc = webdev_parse(text, len, out);
    free(text);
    return rc;
}

static int codes_load_locked(const char *home, struct webcodes *cs)
{
    char *text;
    size_t len;
    int rc;

    cs->n = 0;
    rc = webdev_read_text(home, WEBDEV_PAIRING_FILE, (size_t)WEBDEV_CODES_MAX * WEBDEV_LINE_MAX + 1,
                          &text, &len);
    if (rc == AM_OK)
        rc = codes_parse(text, len, cs);
    free(text);
    return rc;
}

/* Writes text[0..len) as DIR/name, atomically and 0600 (home_write_secret_file). */
int webdev_write_text(const char *home, const char *name, const char *text, size_t len)
{
    char path[AM_HOME_PATH_MAX];
    if (home_path(path, home, name) != AM_OK)
        return AM_EINVAL;
    return home_write_secret_file(path, text, len, 1);
}

static int devices_write_locked(const char *home, const struct webdev_list *l)
{
    char *text = malloc(l->n * WEBDEV_LINE_MAX + 1);
    size_t len = 0;
    int rc;

    if (!text)
        return AM_ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        const struct webdev *d = &l->d[i];
        char id[2 * WEBDEV_ID_LEN + 1], hash[2 * HASH_LEN + 1];
        int n;
        sodium_bin2hex(id, sizeof id, d->id, WEBDEV_ID_LEN);
        sodium_bin2hex(hash, sizeof hash, d->token_hash, HASH_LEN);
        n = snprintf(text + len, WEBDEV_LINE_MAX + 1, "%s\t%s\t%llu\t%s\t%s\n", id,
                     webdev_role_name(d->role), (unsigned long long)d->created_ms, hash, d->name);
        if (n < 0 || n > WEBDEV_LINE_MAX) { /* a caller's bad row: never write it */
            free(text);
            return AM_EINVAL;
        }
        len += (size_t)n;
    }
    rc = webdev_write_text(home, WEBDEV_DEVICES_FILE, text, len);
    free(text);
    return rc;
}

/* Writes the codes still live at now_ms. */
static int codes_write_locked(const char *home, const struct webcodes *cs, uint64_t now_ms)
{
    char text[WEBDEV_CODES_MAX * WEBDEV_LINE_MAX + 1];
    size_t len = 0;

    for (size_t i = 0; i < cs->n; i++) {
        const struct webcode *c = &cs->c[i];
        char hash[2 * HASH_LEN + 1];
        int n;
        if (c->expires_ms <= now_ms)
            continue;
        sodium_bin2hex(hash, sizeof hash, c->hash, HASH_LEN);
        n = snprintf(text + len, WEBDEV_LINE_MAX + 1, "%s\t%s\t%llu\t%s\n", hash,
                     webdev_role_name(c->role), (unsigned long long)c->expires_ms, c->name);
        if (n < 0 || n > WEBDEV_LINE_MAX)
            return AM_EINVAL;
        len += (size_t)n;
    }
    return webdev_write_text(home, WEBDEV_PAIRING_FILE, text, len);
}

int webdev_load(const char *home, struct webdev_list *out)
{
    /* no lock: writers rename a whole file into place, so a reader sees one or the other */
    return devices_load_locked(home, out);
}

/* ---- tokens and codes ------------------------------------------------------------------- */

static void token_hash(const uint8_t token[WEBDEV_TOKEN_LEN], uint8_t out[HASH_LEN])
{
    crypto_generichash(out, HASH_LEN, token, WEBDEV_TOKEN_LEN, NULL, 0);
}

const struct webdev *webdev_find(const struct webdev_list *l, const uint8_t token[WEBDEV_TOKEN_LEN])
{
    const struct webdev *hit = NULL;
    uint8_t h[HASH_LEN];

    if (!l || !token)
        return NULL;
    token_hash(token, h);
    for (size_t i = 0; i < l->n; i++) /* every row, whatever matched */
        if (sodium_memcmp(l->d[i].token_hash, h, HASH_LEN) == 0 && !hit)
            hit = &l->d[i];
    sodium_memzero(h, sizeof h);
    return hit;
}

/* A typed code -> its 8 canonical characters: case, spaces and dashes ignored, I and L
 * read as 1, O as 0. 0, or -1 when it is not 8 characters of Crockford base32. */
static int code_canonical(const char *typed, char out[WEBDEV_CODE_CHARS])
{
    size_t k = 0;
    for (const char *p = typed; *p; p++) {
        char c = *p;
        if (c == ' ' || c == '-')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == 'I' || c == 'L')
            c = '1';
        else if (c == 'O')
            c = '0';
        if (!strchr(crockford, c) || k == WEBDEV_CODE_CHARS)
            return -1;
        out[k++] = c;
    }
    return k == WEBDEV_CODE_CHARS ? 0 : -1;
}

static void code_hash(const char canon[WEBDEV_CODE_CHARS], uint8_t out[HASH_LEN])
{
    crypto_generichash(out, HASH_LEN, (const uint8_t *)canon, WEBDEV_CODE_CHARS, NULL, 0);
}

int webdev_pair_new(const char *home, int role, const char *name, uint64_t now_ms,
                    char code[WEBDEV_CODE_TEXT + 1])
{
    struct webcodes cs, live = {.n = 0};
    char canon[WEBDEV_CODE_CHARS];
    uint8_t rnd[5];
    int fd = -1, rc, again;

    code[0] = 0;
    if (!name)
        name = "";
    if (!webdev_role_name(role) || !name_ok(name, strlen(name), 1))
        return AM_EINVAL;
    if ((rc = webdev_lock(home, &fd)) != AM_OK)
        return rc;
    if ((rc = codes_load_locked(home, &cs)) != AM_OK)
        goto out;
    for (size_t i = 0; i < cs.n; i++) /* expired codes go */
        if (cs.c[i].expires_ms > now_ms)
            live.c[live.n++] = cs.c[i];
    if (live.n >= WEBDEV_CODES_MAX) {
        rc = AM_ELIMIT;
        goto out;
    }
    do { /* 40 random bits; a new code never shares a live code's hash */
        uint64_t v = 0;
        randombytes_buf(rnd, sizeof rnd);
        for (size_t i = 0; i < sizeof rnd; i++)
            v = v << 8 | rnd[i];
        for (int i = 0; i < WEBDEV_CODE_CHARS; i++)
            canon[i] = crockford[(v >> (35 - 5 * i)) & 31];
        code_hash(canon, live.c[live.n].hash);
        again = 0;
        for (size_t i = 0; i < live.n; i++)
            again |= !memcmp(live.c[i].hash, live.c[live.n].hash, HASH_LEN);
    } while (again);
    live.c[live.n].role = role;
    live.c[live.n].expires_ms = now_ms + WEBDEV_CODE_TTL_MS;
    snprintf(live.c[live.n].name, sizeof live.c[live.n].name, "%s", name);
    live.n++;
    if ((rc = codes_write_locked(home, &live, now_ms)) != AM_OK)
        goto out;
    memcpy(code, canon, 4);
    code[4] = '-';
    memcpy(code + 5, canon + 4, 4);
    code[WEBDEV_CODE_TEXT] = 0;
out:
    webdev_unlock(fd);
    sodium_memzero(canon, sizeof canon);
    sodium_memzero(rnd, sizeof rnd);
    return rc;
}

int webdev_pair_redeem(const char *home, const char *typed, uint64_t now_ms,
                       uint8_t token[WEBDEV_TOKEN_LEN], struct webdev *dev)
{
    struct webdev_list l = {NULL, 0};
    struct webdev *grown, *d;
    struct webcodes cs;
    struct webcode used;
    char canon[WEBDEV_CODE_CHARS];
    uint8_t h[HASH_LEN];
    size_t hit = WEBDEV_CODES_MAX;
    int fd = -1, rc, again;

    sodium_memzero(token, WEBDEV_TOKEN_LEN);
    if (!typed || code_canonical(typed, canon) != 0)
        return AM_EINVAL;
    code_hash(canon, h);
    sodium_memzero(canon, sizeof canon);
    if ((rc = webdev_lock(home, &fd)) != AM_OK)
        return rc;
    if ((rc = codes_load_locked(home, &cs)) != AM_OK)
        goto out;
    for (size_t i = 0; i < cs.n; i++) /* every code, whatever matched */
        if (cs.c[i].expires_ms > now_ms && sodium_memcmp(cs.c[i].hash, h, HASH_LEN) == 0 &&
            hit == WEBDEV_CODES_MAX)
            hit = i;
    if (hit == WEBDEV_CODES_MAX) {
        rc = AM_ENOTFOUND;
        goto out;
    }
    used = cs.c[hit];
    if ((rc = devices_load_locked(home, &l)) != AM_OK)
        goto out;
    if (l.n >= WEBDEV_MAX) {
        rc = AM_ELIMIT;
        goto out;
    }
    if (!(grown = realloc(l.d, (l.n + 1) * sizeof *l.d))) {
        rc = AM_ENOMEM;
        goto out;
    }
    l.d = grown;
    d = &l.d[l.n];
    memset(d, 0, sizeof *d);
    do {
        randombytes_buf(d->id, WEBDEV_ID_LEN);
        again = 0;
        for (size_t i = 0; i < l.n; i++)
            again |= !memcmp(l.d[i].id, d->id, WEBDEV_ID_LEN);
    } while (again);
    d->role = used.role;
    d->created_ms = now_ms;
    if (used.name[0])
        snprintf(d->name, sizeof d->name, "%s", used.name);
    else
        snprintf(d->name, sizeof d->name, "phone %zu", l.n + 1);
    /* the phone's signing key first (webkey.h): a key whose device never lands signs
     * nothing, and is wiped at the next pairing */
    if ((rc = webkey_add_locked(home, d, l.d, l.n, NULL)) != AM_OK)
        goto out;
    /* the code is used up next: a crash after this loses a pairing, never lets a code
     * pair twice */
    cs.c[hit] = cs.c[--cs.n];
    if ((rc = codes_write_locked(home, &cs, now_ms)) != AM_OK)
        goto out;
    randombytes_buf(token, WEBDEV_TOKEN_LEN);
    token_hash(token, d->token_hash);
    l.n++;
    if ((rc = devices_write_locked(home, &l)) != AM_OK)
        goto out;
    if (dev)
        *dev = *d;
out:
    webdev_unlock(fd);
    if (rc != AM_OK)
        sodium_memzero(token, WEBDEV_TOKEN_LEN);
    sodium_memzero(h, sizeof h);
    webdev_list_free(&l);
    return rc;
}

int webdev_revoke(const char *home, const char *id_prefix, struct webdev *removed)
{
    struct webdev_list l = {NULL, 0};
    struct webdev gone;
    char want[2 * WEBDEV_ID_LEN + 1];
    size_t n = id_prefix ? strlen(id_prefix) : 0, hit = 0, hits = 0;
    int fd = -1, rc;

    if (n < 4 || n > 2 * WEBDEV_ID_LEN)
        return AM_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = id_prefix[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (nibble(c) < 0)
            return AM_EINVAL;
        want[i] = c;
    }
    if ((rc = webdev_lock(home, &fd)) != AM_OK)
        return rc;
    if ((rc = devices_load_locked(home, &l)) != AM_OK)
        goto out;
    for (size_t i = 0; i < l.n; i++) {
        char id[2 * WEBDEV_ID_LEN + 1];
        sodium_bin2hex(id, sizeof id, l.d[i].id, WEBDEV_ID_LEN);
        if (!memcmp(id, want, n)) {
            hit = i;
            hits++;
        }
    }
    if (hits != 1) {
        rc = hits ? AM_EEXIST : AM_ENOTFOUND;
        goto out;
    }
    gone = l.d[hit];
    if (removed)
        *removed = gone;
    memmove(&l.d[hit], &l.d[hit + 1], (l.n - hit - 1) * sizeof *l.d);
    l.n--;
    /* refused from its next request first, then its key wiped: it never signs again */
    if ((rc = devices_write_locked(home, &l)) == AM_OK)
        rc = webkey_revoke_locked(home, gone.id);
out:
    webdev_unlock(fd);
    webdev_list_free(&l);
    return rc;
}

/* ---- the cookie ------------------------------------------------------------------------- */

static int b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int webdev_cookie_token(const char *cookie_header, uint8_t token[WEBDEV_TOKEN_LEN])
{
    const size_t nl = strlen(WEBDEV_COOKIE_NAME);
    const char *p = cookie_header;

    memset(token, 0, WEBDEV_TOKEN_LEN);
    if (!p)
        return AM_ENOTFOUND;
    /* "name=value" pairs separated by ';', blanks around them; the first am_dev counts */
    while (*p) {
        const char *end = strchr(p, ';'), *v;
        size_t len, vl, bin = 0;
        if (!end)
            end = p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        len = (size_t)(end - p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len > nl && !memcmp(p, WEBDEV_COOKIE_NAME, nl) && p[nl] == '=') {
            v = p + nl + 1;
            vl = len - nl - 1;
            if (vl != WEBDEV_COOKIE_CHARS)
                return AM_EINVAL;
            for (size_t i = 0; i < vl; i++)
                if (!b64url_char(v[i]))
                    return AM_EINVAL;
            if (sodium_base642bin(token, WEBDEV_TOKEN_LEN, v, vl, NULL, &bin, NULL,
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
                bin != WEBDEV_TOKEN_LEN) {
                sodium_memzero(token, WEBDEV_TOKEN_LEN);
                return AM_EINVAL;
            }
            return AM_OK;
        }
        p = *end ? end + 1 : end;
    }
    return AM_ENOTFOUND;
}

void webdev_csrf(const uint8_t token[WEBDEV_TOKEN_LEN], char out[WEBDEV_COOKIE_CHARS + 1])
{
    uint8_t mac[HASH_LEN];
    crypto_generichash(mac, sizeof mac, (const uint8_t *)CSRF_LABEL, strlen(CSRF_LABEL), token,
                       WEBDEV_TOKEN_LEN);
    sodium_bin2base64(out, WEBDEV_COOKIE_CHARS + 1, mac, sizeof mac,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(mac, sizeof mac);
}

void webdev_set_cookie(const uint8_t token[WEBDEV_TOKEN_LEN], char *out, size_t cap)
{
    char v[WEBDEV_COOKIE_CHARS + 1];
    int n;

    if (!out || cap == 0)
        return;
    sodium_bin2base64(v, sizeof v, token, WEBDEV_TOKEN_LEN,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    n = snprintf(out, cap, "%s=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%ld",
                 WEBDEV_COOKIE_NAME, v, COOKIE_MAX_AGE);
    if (n < 0 || (size_t)n >= cap)
        sodium_memzero(out, cap); /* a cut cookie is no cookie: "" */
    sodium_memzero(v, sizeof v);
}
