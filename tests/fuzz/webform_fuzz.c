/*
 * webform_fuzz.c: libFuzzer target for what the web app makes of a form a phone sends
 * (node/webapp_forms.c, webapp.c), after libmicrohttpd's form parser has split and
 * percent-decoded it: the field each name goes to (webapp_change_field), the quantity typed
 * (webapp_form_qty), the state a form was opened on (webapp_unhex of its hex "head"), and
 * the sentences that show typed text inside a translated one (webapp_fmt_esc). It reaches
 * the private helpers of webapp_int.h on purpose: they are where typed bytes are read.
 * (The Cookie header's decoders are webdev_fuzz.c's and i18n_fuzz.c's.)
 *
 * The first byte picks, by its value mod 4: 2 ('F') a form, 1 ('Q') a quantity, 0 ('H') a
 * hex head, 3 ('S') a sentence. The second byte is flags: bits 0-1 the language (i18n.h),
 * bit 2 a count (a quantity of 0 allowed), bits 3-5 how many bytes a field's value comes
 * in at a time, less one (the form parser hands a value over in pieces), and for 'H' bits
 * 0-5 the bytes wanted (1 to 64). The rest:
 *  - 'F': fields separated by '&', name and value by the first '='; each value is appended
 *    to its field's buffer the way the web server does (a value that does not fit makes
 *    the form bad), then the quantity and the head are read as the server reads them;
 *  - 'Q' and 'H': the text itself (cut at a NUL, as a C string is);
 *  - 'S': lines; the first is the sentence, in which byte 0x01 stands for "%s" and 0x02 to
 *    0x05 for "%1$s" to "%4$s" (a catalogue uses one kind; '%' itself is dropped), and the
 *    next four are the arguments.
 *
 * Invariants (a broken one abort()s):
 *  - every field name the form has gets a buffer inside the form, of the documented size,
 *    overlapping no other; any other name gets none; a stored value is NUL-terminated;
 *  - a quantity is taken exactly when it is ASCII digits only, of a value from 1 (0 for a
 *    count) to RELIEF_QTY_MAX, and then its value is that number; otherwise a sentence
 *    (non-empty, NUL-terminated within its buffer) says why;
 *  - a head is taken exactly when it is 2n hex digits, and the bytes written back as hex
 *    are its digits in lower case;
 *  - a sentence shows no markup of its arguments ('<', '>', '"' never appear raw outside
 *    the <bdi> around each argument), and
 *    when the sentence and its arguments are printable UTF-8 without '?', no '?' appears:
 *    every character arrives whole, in every language's script;
 *  - the same input gives the same results twice.
 *
 * Corpus (tests/fuzz/corpus/webform/): forms the pages send (receive, issue, count, a
 * need's update) and broken ones (a field over its size, a repeated field, unknown names,
 * no '='), quantities at and past the limits (0, 1, the maximum, one more, 2^64, signs,
 * spaces, Arabic-Indic digits), heads (good, odd length, upper case, not hex), and
 * sentences in the four languages with markup and Arabic in their arguments.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_text.h"
#include "fuzz.h"
#include "i18n.h"
#include "need_ops.h"
#include "relief.h"
#include "webapp_forms.h"
#include "webapp_int.h"

#define MSG_CAP 256

static const char *const names[] = {"op",    "site",     "item", "qty",  "lot",   "expiry",
                                    "nolot", "priority", "note", "head", "nonce", "csrf"};

/* The reference: ASCII digits only, in range, with their value. */
static int qty_ref(const char *s, int allow_zero, uint64_t *v)
{
    uint64_t x = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        if (x > ((uint64_t)RELIEF_QTY_MAX - (uint64_t)(*s - '0')) / 10)
            return 0; /* past the maximum (and far before overflow) */
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return allow_zero || x > 0;
}

static void check_qty(int lang, const char *s, int allow_zero)
{
    int64_t q = -1, q2 = -1;
    uint64_t want = 0;
    char msg[MSG_CAP], msg2[MSG_CAP];
    int rc, rc2, ok;
    memset(msg, 0x55, sizeof msg);
    rc = webapp_form_qty(lang, s, allow_zero, &q, msg, sizeof msg);
    rc2 = webapp_form_qty(lang, s, allow_zero, &q2, msg2, sizeof msg2);
    ok = qty_ref(s, allow_zero, &want);
    CHECK(rc == 0 || rc == -1);
    CHECK(rc == rc2);
    CHECK((rc == 0) == ok);
    if (rc == 0) {
        CHECK(q == (int64_t)want && q == q2);
    } else {
        CHECK(memchr(msg, 0, sizeof msg) != NULL && msg[0] != 0);
        CHECK(strcmp(msg, msg2) == 0);
    }
}

static int hexdigit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void check_hex(const char *s, size_t n)
{
    uint8_t out[64], again[64];
    char back[2 * 64 + 1];
    size_t len = strlen(s);
    int rc = webapp_unhex(s, out, n), good = len == 2 * n;
    for (size_t i = 0; good && i < len; i++)
        good = hexdigit(s[i]);
    CHECK(rc == 0 || rc == -1);
    CHECK((rc == 0) == good);
    CHECK(webapp_unhex(s, again, n) == rc);
    if (rc != 0)
        return;
    CHECK(memcmp(out, again, n) == 0);
    webapp_hex(out, n, back);
    for (size_t i = 0; i < len; i++)
        CHECK(back[i] == (s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]));
    CHECK(back[len] == 0);
}

static void check_form(int lang, int allow_zero, size_t chunk, const char *body, size_t len)
{
    struct webapp_change_form f;
    const char *lo = (const char *)&f, *hi = lo + sizeof f;
    char *buf[sizeof names / sizeof names[0]];
    size_t cap[sizeof names / sizeof names[0]];
    int bad = 0;

    memset(&f, 0, sizeof f);
    /* every name: a buffer inside the form, its own, NUL-terminated when empty */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        buf[i] = webapp_change_field(&f, names[i], &cap[i]);
        CHECK(buf[i] != NULL && cap[i] > 1);
        CHECK(buf[i] >= lo && buf[i] + cap[i] <= hi);
        for (size_t j = 0; j < i; j++)
            CHECK(buf[i] + cap[i] <= buf[j] || buf[j] + cap[j] <= buf[i]);
    }
    CHECK(cap[3] == sizeof f.qty && cap[8] == sizeof f.note && cap[9] == sizeof f.head);

    for (size_t at = 0; at < len;) {
        char key[64];
        size_t end = at, eq, klen, c = 0, have;
        char *b;
        while (end < len && body[end] != '&')
            end++;
        for (eq = at; eq < end && body[eq] != '='; eq++)
            ;
        klen = eq - at < sizeof key - 1 ? eq - at : sizeof key - 1;
        memcpy(key, body + at, klen);
        key[klen] = 0;
        b = webapp_change_field(&f, key, &c);
        if (b) {
            int known = 0;
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                known |= strcmp(key, names[i]) == 0 && b == buf[i] && c == cap[i];
            CHECK(known);
        } else {
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                CHECK(strcmp(key, names[i]) != 0);
        }
        /* the value, in pieces, as http.c's on_field stores it */
        for (size_t v = eq < end ? eq + 1 : end; b && v < end; v += chunk) {
            size_t size = end - v < chunk ? end - v : chunk;
            have = strlen(b);
            if (size >= c - have) {
                bad = 1;
                break;
            }
            memcpy(b + have, body + v, size);
            b[have + size] = 0;
        }
        at = end + 1;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(memchr(buf[i], 0, cap[i]) != NULL);
    (void)bad; /* a bad form is refused whole; its fields are still read below, as bytes */
    check_qty(lang, f.qty, allow_zero);
    check_hex(f.head, NEED_OPS_DIGEST_LEN);
}

/* The text of the sentence (fmt) and its arguments from lines of the input. */
static void check_sentence(const char *in, size_t len)
{
    char fmt[512], arg[WEBAPP_FMT_ARGS][256], *out = NULL, *out2 = NULL;
    size_t fl = 0, n_out = 0, n_out2 = 0, line = 0, al = 0, convs = 0, q_in = 0, q_out = 0;
    size_t max_n = 0;
    int numbered = 0, printable;
    FILE *f;

    memset(arg, 0, sizeof arg);
    /* one kind of conversion: numbered when the sentence's line has any; as a catalogue's
       (msgfmt -c), a numbered one names an argument the sentence has (N <= their count) */
    for (size_t i = 0; i < len && in[i] != '\n'; i++)
        numbered += in[i] >= 0x02 && in[i] <= 0x05;
    if (numbered > WEBAPP_FMT_ARGS)
        numbered = WEBAPP_FMT_ARGS;
    for (size_t i = 0; i < len && line <= WEBAPP_FMT_ARGS; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\n') {
            line++;
            al = 0;
            continue;
        }
        if (line > 0) {
            if (al + 1 < sizeof arg[0] && c != 0)
                arg[line - 1][al++] = (char)c;
            continue;
        }
        if (fl + 5 >= sizeof fmt || c == '%' || c == 0)
            continue;
        if (c == 0x01 && !numbered && convs < WEBAPP_FMT_ARGS) {
            memcpy(fmt + fl, "%s", 2);
            fl += 2;
            convs++;
        } else if (c >= 0x02 && c <= 0x05 && convs < WEBAPP_FMT_ARGS) {
            fmt[fl++] = '%';
            size_t nth = (size_t)(c - 0x02) % (size_t)numbered + 1;
            max_n = nth > max_n ? nth : max_n;
            fmt[fl++] = (char)('0' + nth);
            fmt[fl++] = '$';
            fmt[fl++] = 's';
            convs++;
        } else if (c > 0x05) {
            fmt[fl++] = (char)c;
        }
    }
    fmt[fl] = 0;

    printable = am_text_ok(fmt, fl, 0);
    for (size_t i = 0; i < fl; i++)
        q_in += fmt[i] == '?';
    for (size_t a = 0; a < WEBAPP_FMT_ARGS; a++) {
        printable = printable && am_text_ok(arg[a], strlen(arg[a]), 0);
        for (size_t i = 0; arg[a][i]; i++)
            q_in += arg[a][i] == '?';
    }

    f = open_memstream(&out, &n_out);
    CHECK(f != NULL);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    webapp_fmt_esc(f, fmt, arg[0], arg[1], arg[2], arg[3]);
    CHECK(fclose(f) == 0);
    f = open_memstream(&out2, &n_out2);
    CHECK(f != NULL);
    webapp_fmt_esc(f, fmt, arg[0], arg[1], arg[2], arg[3]);
#pragma GCC diagnostic pop
    CHECK(fclose(f) == 0);
    CHECK(n_out == n_out2 && memcmp(out, out2, n_out) == 0);
    /* the only markup: each argument in its own <bdi> (its direction kept); the rest
       escaped (out2 is reused: the same bytes without those tags) */
    n_out2 = 0;
    for (size_t i = 0; i < n_out;) {
        if (n_out - i >= 5 && !memcmp(out + i, "<bdi>", 5))
            i += 5;
        else if (n_out - i >= 6 && !memcmp(out + i, "</bdi>", 6))
            i += 6;
        else
            out2[n_out2++] = out[i++];
    }
    CHECK(memchr(out2, '<', n_out2) == NULL && memchr(out2, '>', n_out2) == NULL &&
          memchr(out2, '"', n_out2) == NULL);
    for (size_t i = 0; i < n_out; i++)
        q_out += out[i] == '?';
    if (printable && q_in == 0 && max_n <= convs) /* (a sentence cut short may lack one) */
        CHECK(q_out == 0);
    free(out);
    free(out2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    int lang, allow_zero;
    size_t chunk;

    if (size < 2)
        return 0;
    lang = (data[1] & 3) % I18N_LANGS;
    allow_zero = (data[1] >> 2) & 1;
    chunk = (size_t)((data[1] >> 3) & 7) + 1;
    /* the rest, in a buffer of exactly its size and a NUL (a read past it is ASan's) */
    s = malloc(size - 1);
    CHECK(s != NULL);
    memcpy(s, data + 2, size - 2);
    s[size - 2] = 0;
    switch (data[0] % 4) {
    case 0:
        check_hex(s, (size_t)(data[1] & 63) + 1);
        break;
    case 1:
        check_qty(lang, s, allow_zero);
        break;
    case 2:
        check_form(lang, allow_zero, chunk, s, size - 2);
        break;
    default:
        check_sentence(s, size - 2);
        break;
    }
    free(s);
    return 0;
}
