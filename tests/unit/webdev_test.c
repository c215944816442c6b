/* webdev_test.c: the paired devices of the web app (node/webdev.c) in temp homes: a code
 * pairs once, within its ten minutes, however it is typed; revoking by a prefix of the id;
 * the files' mode and their refusal when others can read them; the strict parser of
 * web-devices (fields, hex, limits, repeats, never half read); the am_dev cookie; the
 * anti-forgery token; and many writers at once under the lock. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "am_err.h"
#include "home.h"
#include "testutil.h"
#include "webdev.h"

#define T0     1700000000000ULL /* a fixed "now" in ms */
#define B32    "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#define HASH_0 "0000000000000000000000000000000000000000000000000000000000000000"
#define HASH_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define HASH_2 "2222222222222222222222222222222222222222222222222222222222222222"

static char *home;

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    home = tu_tmpdir();
}

static void teardown(void)
{
    tu_rmrf(home);
    free(home);
}

TestSuite(webdev, .init = setup, .fini = teardown, .timeout = 60);

static void path_of(char out[static AM_HOME_PATH_MAX], const char *name)
{
    cr_assert_eq(home_path(out, home, name), AM_OK);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
    char path[AM_HOME_PATH_MAX];
    int fd;
    path_of(path, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    cr_assert_geq(fd, 0, "%s", path);
    cr_assert_eq(fchmod(fd, mode), 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static char *read_whole(const char *name)
{
    char path[AM_HOME_PATH_MAX];
    size_t len = 0;
    uint8_t *p;
    char *s;
    path_of(path, name);
    p = tu_read_file(path, &len);
    cr_assert(p, "cannot read %s", path);
    s = malloc(len + 1);
    cr_assert(s);
    memcpy(s, p, len);
    s[len] = 0;
    free(p);
    return s;
}

static mode_t mode_of(const char *name)
{
    char path[AM_HOME_PATH_MAX];
    struct stat st;
    path_of(path, name);
    cr_assert_eq(lstat(path, &st), 0, "%s", path);
    return st.st_mode & 07777;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The line of web-pairing for the canonical code `canon`, as webdev.h describes it. */
static void code_line(char *out, size_t cap, const char *canon, const char *role, uint64_t expires,
                      const char *name)
{
    uint8_t h[32];
    char hex[65];
    crypto_generichash(h, sizeof h, (const uint8_t *)canon, 8, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(out, cap, "%s\t%s\t%llu\t%s\n", hex, role, (unsigned long long)expires, name);
}

Test(webdev, pair_redeem_and_find_by_token)
{
    char code[WEBDEV_CODE_TEXT + 1], hex[65], b64[WEBDEV_COOKIE_CHARS + 1], *text;
    uint8_t token[WEBDEV_TOKEN_LEN], other[WEBDEV_TOKEN_LEN], h[32];
    struct webdev dev;
    struct webdev_list l;
    const struct webdev *f;

    cr_assert_eq(webdev_pair_new(home, WEBDEV_WRITE, "ward-2 tablet", T0, code), AM_OK);
    cr_assert_eq(strlen(code), 9, "%s", code);
    cr_assert_eq(code[4], '-');
    for (int i = 0; i < 9; i++)
        cr_assert(i == 4 || strchr(B32, code[i]), "code %s: '%c' is not Crockford", code, code[i]);

    cr_assert_eq(webdev_pair_redeem(home, code, T0 + 1000, token, &dev), AM_OK);
    cr_assert_str_eq(dev.name, "ward-2 tablet");
    cr_assert_eq(dev.role, WEBDEV_WRITE);
    cr_assert_eq(dev.created_ms, T0 + 1000);

    cr_assert_eq(webdev_load(home, &l), AM_OK);
    cr_assert_eq(l.n, 1);
    f = webdev_find(&l, token);
    cr_assert_not_null(f);
    cr_assert_eq(memcmp(f->id, dev.id, WEBDEV_ID_LEN), 0);
    cr_assert_str_eq(f->name, "ward-2 tablet");
    memcpy(other, token, sizeof other);
    other[0] ^= 1;
    cr_assert_null(webdev_find(&l, other));
    webdev_list_free(&l);

    /* the file keeps the token's hash only, never the token */
    text = read_whole(WEBDEV_DEVICES_FILE);
    crypto_generichash(h, sizeof h, token, sizeof token, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    cr_assert_not_null(strstr(text, hex), "%s", text);
    sodium_bin2hex(hex, sizeof hex, token, sizeof token);
    cr_assert_null(strstr(text, hex));
    sodium_bin2base64(b64, sizeof b64, token, sizeof token,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    cr_assert_null(strstr(text, b64));
    cr_assert_eq(count_lines(text), 1);
    free(text);
    /* the used code is gone from web-pairing */
    text = read_whole(WEBDEV_PAIRING_FILE);
    cr_assert_str_eq(text, "");
    free(text);
}

Test(webdev, a_code_pairs_once)
{
    char code[WEBDEV_CODE_TEXT + 1];
    uint8_t t1[WEBDEV_TOKEN_LEN], t2[WEBDEV_TOKEN_LEN];
    struct webdev_list l;

    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "", T0, code), AM_OK);
    cr_assert_eq(webdev_pair_redeem(home, code, T0, t1, NULL), AM_OK);
    cr_assert_eq(webdev_pair_redeem(home, code, T0, t2, NULL), AM_ENOTFOUND);
    cr_assert(sodium_is_zero(t2, sizeof t2), "no token on failure");
    cr_assert_eq(webdev_load(home, &l), AM_OK);
    cr_assert_eq(l.n, 1);
    webdev_list_free(&l);
}

Test(webdev, an_expired_code_is_refused)
{
    char c1[WEBDEV_CODE_TEXT + 1], c2[WEBDEV_CODE_TEXT + 1];
    uint8_t token[WEBDEV_TOKEN_LEN];

    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "a", T0, c1), AM_OK);
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "b", T0, c2), AM_OK);
    cr_assert_str_neq(c1, c2);
    cr_assert_eq(webdev_pair_redeem(home, c1, T0 + WEBDEV_CODE_TTL_MS, token, NULL), AM_ENOTFOUND);
    cr_assert_eq(webdev_pair_redeem(home, c2, T0 + WEBDEV_CODE_TTL_MS - 1, token, NULL), AM_OK);
    /* and a new code drops the expired ones from the file */
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "c", T0 + WEBDEV_CODE_TTL_MS, c1), AM_OK);
    {
        char *text = read_whole(WEBDEV_PAIRING_FILE);
        cr_assert_eq(count_lines(text), 1, "%s", text);
        free(text);
    }
}

Test(webdev, typed_variants_are_accepted)
{
    static const struct {
        const char *canon, *typed;
    } v[] = {
        {"01ABCDEF", "01ab-cdef"},    /* lower case */
        {"01ABCDEG", "O1ABCDEG"},     /* no dash, O for 0 */
        {"01ABCDEH", "0iab cdeh"},    /* I for 1, a space */
        {"01ABCDEJ", " 0L-AB-CD-EJ"}, /* L for 1, more dashes */
    };
    char text[2048] = "", line[256], code[WEBDEV_CODE_TEXT + 1], lower[16];
    uint8_t token[WEBDEV_TOKEN_LEN];
    struct webdev dev;
    size_t k = 0;

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        code_line(line, sizeof line, v[i].canon, "read", T0 + 60000, "");
        strncat(text, line, sizeof text - strlen(text) - 1);
    }
    write_file(WEBDEV_PAIRING_FILE, text, 0600);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cr_assert_eq(webdev_pair_redeem(home, v[i].typed, T0, token, &dev), AM_OK, "%s",
                     v[i].typed);
        cr_assert_eq(dev.role, WEBDEV_READ);
    }
    /* a code made here, typed in lower case without its dash */
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "", T0, code), AM_OK);
    for (size_t i = 0; code[i]; i++)
        if (code[i] != '-')
            lower[k++] = (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] - 'A' + 'a' : code[i]);
    lower[k] = 0;
    cr_assert_eq(webdev_pair_redeem(home, lower, T0, token, &dev), AM_OK, "%s", lower);
    cr_assert_str_eq(dev.name, "phone 5", "an unnamed device is phone 1 + the devices before");
}

Test(webdev, a_wrong_code_is_refused)
{
    char code[WEBDEV_CODE_TEXT + 1], wrong[WEBDEV_CODE_TEXT + 1];
    uint8_t token[WEBDEV_TOKEN_LEN];
    struct webdev_list l;

    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "x", T0, code), AM_OK);
    memcpy(wrong, code, sizeof wrong);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    cr_assert_eq(webdev_pair_redeem(home, wrong, T0, token, NULL), AM_ENOTFOUND);
    cr_assert_eq(webdev_pair_redeem(home, "ABC", T0, token, NULL), AM_EINVAL);
    cr_assert_eq(webdev_pair_redeem(home, "ABCD-EFGU", T0, token, NULL), AM_EINVAL, "U");
    cr_assert_eq(webdev_pair_redeem(home, "ABCD-EFGHJ", T0, token, NULL), AM_EINVAL, "9");
    cr_assert_eq(webdev_pair_redeem(home, "ABCD_EFGH", T0, token, NULL), AM_EINVAL);
    cr_assert_eq(webdev_pair_redeem(home, NULL, T0, token, NULL), AM_EINVAL);
    cr_assert_eq(webdev_load(home, &l), AM_OK);
    cr_assert_eq(l.n, 0);
    /* wrong tries do not use the code up */
    cr_assert_eq(webdev_pair_redeem(home, code, T0, token, NULL), AM_OK);
}

Test(webdev, names_roles_and_the_code_limit)
{
    char code[WEBDEV_CODE_TEXT + 1], name[AM_NAME_MAX + 2];
    uint8_t token[WEBDEV_TOKEN_LEN];
    struct webdev dev;

    cr_assert_eq(webdev_pair_new(home, 3, "x", T0, code), AM_EINVAL);
    cr_assert_eq(webdev_pair_new(home, 0, "x", T0, code), AM_EINVAL);
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "tab\there", T0, code), AM_EINVAL);
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "line\nbreak", T0, code), AM_EINVAL);
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "esc\x1b[2J", T0, code), AM_EINVAL);
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "bad \xff utf8", T0, code), AM_EINVAL);
    memset(name, 'n', sizeof name);
    name[AM_NAME_MAX + 1] = 0;
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, name, T0, code), AM_EINVAL);
    name[AM_NAME_MAX] = 0;
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, name, T0, code), AM_OK);
    cr_assert_eq(webdev_pair_redeem(home, code, T0, token, &dev), AM_OK);
    cr_assert_str_eq(dev.name, name);
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "Clínica Sur", T0, code), AM_OK);

    for (int i = 1; i < WEBDEV_CODES_MAX; i++)
        cr_assert_eq(webdev_pair_new(home, WEBDEV_WRITE, "", T0 + (uint64_t)i, code), AM_OK);
    cr_assert_eq(webdev_pair_new(home, WEBDEV_WRITE, "", T0 + 100, code), AM_ELIMIT);
    /* once they have expired there is room again */
    cr_assert_eq(webdev_pair_new(home, WEBDEV_WRITE, "", T0 + WEBDEV_CODE_TTL_MS + 100, code),
                 AM_OK);
    cr_assert_eq(webdev_pair_redeem(home, code, T0 + WEBDEV_CODE_TTL_MS + 100, token, &dev), AM_OK);
    cr_assert_eq(dev.role, WEBDEV_WRITE);
    cr_assert_str_eq(dev.name, "phone 2");
}

static void write_devices(void)
{
    write_file(WEBDEV_DEVICES_FILE,
               "abcd000000000001\tread\t1\t" HASH_0 "\tfirst\n"
               "abcd000000000002\twrite\t2\t" HASH_1 "\tsecond\n"
               "ffff000000000003\tread\t3\t" HASH_2 "\tthird\n",
               0600);
}

Test(webdev, revoke_by_prefix)
{
    struct webdev gone;
    struct webdev_list l;

    write_devices();
    cr_assert_eq(webdev_revoke(home, "abcd", &gone), AM_EEXIST);
    cr_assert_eq(webdev_revoke(home, "abcd00000000000", &gone), AM_EEXIST);
    cr_assert_eq(webdev_revoke(home, "abc", &gone), AM_EINVAL);
    cr_assert_eq(webdev_revoke(home, "abcd0000000000011", &gone), AM_EINVAL);
    cr_assert_eq(webdev_revoke(home, "xyz1", &gone), AM_EINVAL);
    cr_assert_eq(webdev_revoke(home, NULL, &gone), AM_EINVAL);
    cr_assert_eq(webdev_revoke(home, "1234", &gone), AM_ENOTFOUND);
    cr_assert_eq(webdev_revoke(home, "ABCD000000000002", &gone), AM_OK);
    cr_assert_str_eq(gone.name, "second");
    cr_assert_eq(gone.role, WEBDEV_WRITE);
    cr_assert_eq(webdev_revoke(home, "ffff", NULL), AM_OK);
    cr_assert_eq(webdev_revoke(home, "ffff", NULL), AM_ENOTFOUND);
    cr_assert_eq(webdev_load(home, &l), AM_OK);
    cr_assert_eq(l.n, 1);
    cr_assert_str_eq(l.d[0].name, "first");
    cr_assert_eq(l.d[0].created_ms, 1);
    webdev_list_free(&l);
    /* the last one: an empty file, not a missing one */
    cr_assert_eq(webdev_revoke(home, "abcd", &gone), AM_OK);
    cr_assert_eq(mode_of(WEBDEV_DEVICES_FILE), 0600);
    cr_assert_eq(webdev_load(home, &l), AM_OK);
    cr_assert_eq(l.n, 0);
}

Test(webdev, files_are_0600_and_refused_when_others_can_read)
{
    char code[WEBDEV_CODE_TEXT + 1], path[AM_HOME_PATH_MAX];
    uint8_t token[WEBDEV_TOKEN_LEN];
    struct webdev_list l;

    umask(022);
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "a", T0, code), AM_OK);
    cr_assert_eq(webdev_pair_redeem(home, code, T0, token, NULL), AM_OK);
    cr_assert_eq(mode_of(WEBDEV_DEVICES_FILE), 0600, "%o", (unsigned)mode_of(WEBDEV_DEVICES_FILE));
    cr_assert_eq(mode_of(WEBDEV_PAIRING_FILE), 0600);
    cr_assert_eq(mode_of(WEBDEV_LOCK_FILE), 0600);

    path_of(path, WEBDEV_DEVICES_FILE);
    cr_assert_eq(chmod(path, 0644), 0);
    cr_assert_eq(webdev_load(home, &l), AM_EPERM);
    cr_assert_eq(l.n, 0);
    cr_assert_null(l.d);
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "b", T0, code), AM_OK);
    cr_assert_eq(webdev_pair_redeem(home, code, T0, token, NULL), AM_EPERM);
    cr_assert_eq(webdev_revoke(home, "0000", NULL), AM_EPERM);
    cr_assert_eq(chmod(path, 0604), 0); /* others alone */
    cr_assert_eq(webdev_load(home, &l), AM_EPERM);
    cr_assert_eq(chmod(path, 0600), 0);
    /* the refused redeem did not use the code up */
    cr_assert_eq(webdev_pair_redeem(home, code, T0, token, NULL), AM_OK);

    path_of(path, WEBDEV_PAIRING_FILE);
    cr_assert_eq(chmod(path, 0640), 0);
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "c", T0, code), AM_EPERM);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(symlink("/etc/passwd", path), 0);
    cr_assert_eq(webdev_pair_new(home, WEBDEV_READ, "c", T0, code), AM_EPERM, "a link");
}

/* webdev_parse of a NUL-terminated text: the code, and *n devices (0 on error). */
static int parse(const char *text, size_t *n)
{
    struct webdev_list l;
    int rc = webdev_parse(text, strlen(text), &l);
    if (rc != AM_OK)
        cr_assert(l.d == NULL && l.n == 0, "an error leaves the list empty");
    *n = l.n;
    webdev_list_free(&l);
    return rc;
}

#define GOOD "0123456789abcdef\tread\t1700000000000\t" HASH_0 "\tphone 1\n"

Test(webdev, parser_refuses_what_breaks_the_format)
{
    size_t n, off = 0, cap = (size_t)(WEBDEV_MAX + 2) * 200;
    char *big;

    cr_assert_eq(parse("", &n), AM_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(parse(GOOD, &n), AM_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(parse(GOOD "1123456789abcdef\twrite\t0\t" HASH_1 "\tClínica\n", &n), AM_OK);
    cr_assert_eq(n, 2);

    /* bad hex: upper case, not hex, short */
    cr_assert_eq(parse("0123456789ABCDEF\tread\t1\t" HASH_0 "\tp\n", &n), AM_ECORRUPT);
    cr_assert_eq(parse("0123456789abcdeg\tread\t1\t" HASH_0 "\tp\n", &n), AM_ECORRUPT);
    cr_assert_eq(parse("0123456789abcde\tread\t1\t" HASH_0 "\tp\n", &n), AM_ECORRUPT);
    cr_assert_eq(parse("0123456789abcdef\tread\t1\t" HASH_0 "0\tp\n", &n), AM_ECORRUPT);
    /* wrong field count */
    cr_assert_eq(parse("0123456789abcdef\tread\t1\t" HASH_0 "\n", &n), AM_ECORRUPT);
    cr_assert_eq(parse("0123456789abcdef\tread\t1\t" HASH_0 "\tp\tq\n", &n), AM_ECORRUPT);
    cr_assert_eq(parse("\n", &n), AM_ECORRUPT);
    /* other fields */
    cr_assert_eq(parse("0123456789abcdef\tadmin\t1\t" HASH_0 "\tp\n", &n), AM_ECORRUPT);
    cr_assert_eq(parse("0123456789abcdef\tread\t01\t" HASH_0 "\tp\n", &n), AM_ECORRUPT);
    cr_assert_eq(parse("0123456789abcdef\tread\t-1\t" HASH_0 "\tp\n", &n), AM_ECORRUPT);
    cr_assert_eq(parse("0123456789abcdef\tread\t18446744073709551616\t" HASH_0 "\tp\n", &n),
                 AM_ECORRUPT);
    cr_assert_eq(parse("0123456789abcdef\tread\t18446744073709551615\t" HASH_0 "\tp\n", &n), AM_OK);
    cr_assert_eq(parse("0123456789abcdef\tread\t1\t" HASH_0 "\t\n", &n), AM_ECORRUPT, "no name");
    cr_assert_eq(parse("0123456789abcdef\tread\t1\t" HASH_0 "\tp\x1b\n", &n), AM_ECORRUPT);
    cr_assert_eq(parse("0123456789abcdef\tread\t1\t" HASH_0 "\tp\r\n", &n), AM_ECORRUPT);
    cr_assert_eq(parse("0123456789abcdef\tread\t1\t" HASH_0
                       "\t12345678901234567890123456789012345678901234567890123456789012345\n",
                       &n),
                 AM_ECORRUPT, "a name of 65 bytes");
    /* cut short: the last line lacks its LF */
    cr_assert_eq(parse(GOOD "1123456789abcdef\tread\t1\t" HASH_1 "\tp", &n), AM_ECORRUPT);
    /* repeated id, repeated token hash */
    cr_assert_eq(parse(GOOD "0123456789abcdef\tread\t1\t" HASH_1 "\tp\n", &n), AM_ECORRUPT);
    cr_assert_eq(parse(GOOD "1123456789abcdef\tread\t1\t" HASH_0 "\tp\n", &n), AM_ECORRUPT);

    /* too long a line: no LF within WEBDEV_LINE_MAX bytes */
    big = malloc(cap);
    cr_assert(big);
    memset(big, 'a', WEBDEV_LINE_MAX + 10);
    big[WEBDEV_LINE_MAX + 9] = '\n';
    big[WEBDEV_LINE_MAX + 10] = 0;
    cr_assert_eq(parse(big, &n), AM_ELIMIT);
    /* too many devices: WEBDEV_MAX is fine, one more is not */
    for (int i = 0; i <= WEBDEV_MAX; i++) {
        uint8_t h[32];
        char hash[65];
        memset(h, 0, sizeof h);
        h[0] = (uint8_t)(i >> 8);
        h[1] = (uint8_t)i;
        sodium_bin2hex(hash, sizeof hash, h, sizeof h);
        if (i == WEBDEV_MAX) {
            cr_assert_eq(parse(big, &n), AM_OK);
            cr_assert_eq(n, WEBDEV_MAX);
        }
        off += (size_t)snprintf(big + off, cap - off, "%016x\tread\t%d\t%s\tphone %d\n",
                                (unsigned)i, i, hash, i + 1);
    }
    cr_assert_eq(parse(big, &n), AM_ELIMIT);
    free(big);
}

/* Truncations and bit flips of a valid file never half-read: a list of all its devices
 * or an error and an empty list. */
Test(webdev, parser_never_half_reads)
{
    uint64_t st = tu_seed("webdev.parser_never_half_reads");
    const char *good = GOOD "1123456789abcdef\twrite\t7\t" HASH_1 "\tsecond\n";
    size_t len = strlen(good), n;
    char buf[512];

    for (size_t cut = 0; cut < len; cut++) {
        struct webdev_list l;
        int rc;
        memcpy(buf, good, cut);
        rc = webdev_parse(buf, cut, &l);
        if (cut == 0 || cut == strlen(GOOD))
            cr_assert_eq(rc, AM_OK, "cut %zu", cut);
        else
            cr_assert_eq(rc, AM_ECORRUPT, "cut %zu", cut);
        webdev_list_free(&l);
    }
    for (int round = 0; round < 2000; round++) {
        struct webdev_list l;
        size_t at = tu_rand(&st) % len;
        int rc;
        memcpy(buf, good, len);
        buf[at] ^= (char)(1u << (tu_rand(&st) % 8));
        rc = webdev_parse(buf, len, &l);
        cr_assert(rc == AM_OK || rc == AM_ECORRUPT, "rc %d", rc);
        cr_assert(rc == AM_OK ? l.n == 2 : l.n == 0 && l.d == NULL);
        webdev_list_free(&l);
    }
    cr_assert_eq(parse(good, &n), AM_OK);
    cr_assert_eq(n, 2);
}

Test(webdev, cookie_parsing)
{
    uint8_t token[WEBDEV_TOKEN_LEN], got[WEBDEV_TOKEN_LEN];
    char b64[WEBDEV_COOKIE_CHARS + 1], hdr[256], set[256];

    randombytes_buf(token, sizeof token);
    sodium_bin2base64(b64, sizeof b64, token, sizeof token,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    cr_assert_eq(strlen(b64), WEBDEV_COOKIE_CHARS);

    snprintf(hdr, sizeof hdr, "a=b; am_dev=%s; c=d", b64);
    cr_assert_eq(webdev_cookie_token(hdr, got), AM_OK);
    cr_assert_eq(memcmp(got, token, sizeof token), 0);
    snprintf(hdr, sizeof hdr, "am_dev=%s", b64);
    cr_assert_eq(webdev_cookie_token(hdr, got), AM_OK);
    cr_assert_eq(memcmp(got, token, sizeof token), 0);

    /* missing */
    cr_assert_eq(webdev_cookie_token("a=b; c=d", got), AM_ENOTFOUND);
    cr_assert_eq(webdev_cookie_token("", got), AM_ENOTFOUND);
    cr_assert_eq(webdev_cookie_token(NULL, got), AM_ENOTFOUND);
    snprintf(hdr, sizeof hdr, "am_devx=%s; xam_dev=%s", b64, b64);
    cr_assert_eq(webdev_cookie_token(hdr, got), AM_ENOTFOUND);
    cr_assert(sodium_is_zero(got, sizeof got));
    /* wrong length */
    snprintf(hdr, sizeof hdr, "a=b; am_dev=%.42s; c=d", b64);
    cr_assert_eq(webdev_cookie_token(hdr, got), AM_EINVAL);
    snprintf(hdr, sizeof hdr, "a=b; am_dev=%sA; c=d", b64);
    cr_assert_eq(webdev_cookie_token(hdr, got), AM_EINVAL);
    cr_assert_eq(webdev_cookie_token("am_dev=", got), AM_EINVAL);
    /* bad characters: standard base64, padding, a quote */
    b64[5] = '+';
    snprintf(hdr, sizeof hdr, "am_dev=%s", b64);
    cr_assert_eq(webdev_cookie_token(hdr, got), AM_EINVAL);
    b64[5] = '/';
    snprintf(hdr, sizeof hdr, "am_dev=%s", b64);
    cr_assert_eq(webdev_cookie_token(hdr, got), AM_EINVAL);
    b64[5] = '"';
    snprintf(hdr, sizeof hdr, "am_dev=%s", b64);
    cr_assert_eq(webdev_cookie_token(hdr, got), AM_EINVAL);
    snprintf(hdr, sizeof hdr, "am_dev=%.42s=", b64);
    cr_assert_eq(webdev_cookie_token(hdr, got), AM_EINVAL);
    cr_assert(sodium_is_zero(got, sizeof got), "no token on failure");

    /* what webdev_set_cookie sets is what webdev_cookie_token reads back */
    webdev_set_cookie(token, set, sizeof set);
    cr_assert_eq(strncmp(set, "am_dev=", 7), 0, "%s", set);
    cr_assert_not_null(strstr(set, "; HttpOnly"), "%s", set);
    cr_assert_not_null(strstr(set, "; SameSite=Strict"), "%s", set);
    cr_assert_not_null(strstr(set, "; Path=/"), "%s", set);
    cr_assert_not_null(strstr(set, "; Max-Age=31536000"), "%s", set);
    cr_assert_eq(webdev_cookie_token(set, got), AM_OK, "%s", set);
    cr_assert_eq(memcmp(got, token, sizeof token), 0);
    webdev_set_cookie(token, set, 20);
    cr_assert_str_eq(set, "", "a cookie that does not fit is not cut");
}

Test(webdev, csrf_differs_per_token_and_is_stable)
{
    uint8_t a[WEBDEV_TOKEN_LEN], b[WEBDEV_TOKEN_LEN], mac[32];
    char ca[WEBDEV_COOKIE_CHARS + 1], ca2[WEBDEV_COOKIE_CHARS + 1], cb[WEBDEV_COOKIE_CHARS + 1];
    char want[WEBDEV_COOKIE_CHARS + 1];

    randombytes_buf(a, sizeof a);
    memcpy(b, a, sizeof b);
    b[31] ^= 0x80;
    webdev_csrf(a, ca);
    webdev_csrf(a, ca2);
    webdev_csrf(b, cb);
    cr_assert_eq(strlen(ca), WEBDEV_COOKIE_CHARS);
    cr_assert_str_eq(ca, ca2);
    cr_assert_str_neq(ca, cb);
    for (size_t i = 0; i < WEBDEV_COOKIE_CHARS; i++)
        cr_assert(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", ca[i]));
    /* keyed by the token, over the label: not the cookie itself */
    crypto_generichash(mac, sizeof mac, (const uint8_t *)"aidmesh web csrf v1", 19, a, sizeof a);
    sodium_bin2base64(want, sizeof want, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    cr_assert_str_eq(ca, want);
    sodium_bin2base64(want, sizeof want, a, sizeof a, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    cr_assert_str_neq(ca, want);
}

/* Writers in several processes at once lose nothing: the flock of web.lock. */
Test(webdev, concurrent_writers_lose_nothing)
{
    enum { KIDS = 6, EACH = 5 };
    struct webdev_list l;
    pid_t pids[KIDS];

    for (int k = 0; k < KIDS; k++) {
        pids[k] = fork();
        cr_assert_geq(pids[k], 0);
        if (pids[k] == 0) {
            for (int i = 0; i < EACH; i++) {
                char code[WEBDEV_CODE_TEXT + 1];
                uint8_t token[WEBDEV_TOKEN_LEN];
                if (webdev_pair_new(home, WEBDEV_READ, "", T0, code) != AM_OK ||
                    webdev_pair_redeem(home, code, T0, token, NULL) != AM_OK)
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int k = 0; k < KIDS; k++) {
        int status = 0;
        cr_assert_eq(waitpid(pids[k], &status, 0), pids[k]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d failed", k);
    }
    cr_assert_eq(webdev_load(home, &l), AM_OK);
    cr_assert_eq(l.n, KIDS * EACH);
    webdev_list_free(&l);
}
