/*
 * webkey_test.c: the phones' own signing keys (node/webkey.c) in a real node home: pairing
 * makes a key (DIR/web-keys, 0600) whose writes, made through the phone pages' code path
 * (webapp_need_add, webapp_need_change, webapp_stock_change with the phone's key), are
 * entries of the phone's own log that verify under its author id, never the node's; a
 * revoked phone's key is kept for reference, wiped, and signs nothing again; a key whose
 * device is gone is wiped at the next pairing; a key edited by hand is refused; and the
 * strict parser of web-keys (fields, hex, repeats, limits, never half read).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "entry.h"
#include "home.h"
#include "node.h"
#include "relief.h"
#include "relief_node.h"
#include "store.h"
#include "testutil.h"
#include "webapp.h"
#include "webapp_forms.h"
#include "webdev.h"
#include "webkey.h"

#define T0   1700000000000ULL /* a fixed "now" in ms */
#define ID   "0123456789abcdef"
#define PK   "1111111111111111111111111111111111111111111111111111111111111111"
#define PK2  "2222222222222222222222222222222222222222222222222222222222222222"
#define SEED "3333333333333333333333333333333333333333333333333333333333333333"

static char *g_tmp;
static char g_home[AM_HOME_PATH_MAX];

static void setup(void)
{
    uint8_t seed[AM_SEED_LEN], secret[AM_NETSECRET_LEN];
    cr_assert(sodium_init() >= 0);
    g_tmp = tu_tmpdir();
    cr_assert_eq(home_path(g_home, g_tmp, "home"), AM_OK);
    randombytes_buf(seed, sizeof seed);
    randombytes_buf(secret, sizeof secret);
    cr_assert_eq(home_init(g_home, seed, secret, "clinic", 0), AM_OK);
}

static void teardown(void)
{
    tu_rmrf(g_tmp);
    free(g_tmp);
}

TestSuite(webkey, .init = setup, .fini = teardown, .timeout = 60);

/* Pairs a device of role `role` called name; *d is it. */
static void pair(int role, const char *name, struct webdev *d)
{
    char code[WEBDEV_CODE_TEXT + 1];
    uint8_t token[WEBDEV_TOKEN_LEN];
    cr_assert_eq(webdev_pair_new(g_home, role, name, T0, code), AM_OK);
    cr_assert_eq(webdev_pair_redeem(g_home, code, T0 + 1, token, d), AM_OK);
}

static char *read_keys(size_t *len)
{
    char path[AM_HOME_PATH_MAX];
    cr_assert_eq(home_path(path, g_home, WEBKEY_FILE), AM_OK);
    return (char *)tu_read_file(path, len);
}

static void write_keys(const char *text, mode_t mode)
{
    char path[AM_HOME_PATH_MAX];
    int fd;
    cr_assert_eq(home_path(path, g_home, WEBKEY_FILE), AM_OK);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    cr_assert_geq(fd, 0);
    cr_assert_eq(fchmod(fd, mode), 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static struct relief_str S(const char *s) {
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

/* Entry seq of log `author` in n's store: decoded, and its signature checked. */
static void
entry_of(struct node *n, const uint8_t author[AM_PK_LEN], uint64_t seq, uint8_t *buf, size_t cap,
         struct entry *e)
{
    size_t len = 0;
    cr_assert_eq(store_entry_get(n->store, author, seq, buf, cap, &len), AM_OK,
                 "no entry %llu in the phone's log", (unsigned long long)seq);
    cr_assert_eq(entry_decode(e, buf, len), AM_OK);
    cr_assert_eq(memcmp(e->author, author, AM_PK_LEN), 0, "the phone is the author");
    cr_assert_eq(entry_verify(e), AM_OK, "signed by the phone's key");
}

Test(webkey, a_phone_writes_under_its_own_key)
{
    struct node n;
    struct webdev d;
    struct webkey_list l = {0};
    struct webapp_need_form nf;
    struct webapp_change_form cf;
    struct webapp_answer a;
    struct webapp_ctx w;
    struct relief_op site = {.type = RELIEF_T_SITE, .site = S("clinic-2"), .name = S("C2")},
                     item = {.type = RELIEF_T_ITEM, .item = S("ors"), .name = S("ORS")};
    struct store_head h;
    struct entry e;
    struct stat st;
    static uint8_t buf[AM_ENTRY_MAX];
    uint8_t *sk = sodium_malloc(AM_SK_LEN);
    char path[AM_HOME_PATH_MAX], id[33], msg[300], err[RELIEF_ERR_MAX];

    cr_assert(sk);
    pair(WEBDEV_WRITE, "store-phone", &d);
    cr_assert_eq(home_path(path, g_home, WEBKEY_FILE), AM_OK);
    cr_assert_eq(stat(path, &st), 0, "pairing made the key file");
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(webkey_load(g_home, &l), AM_OK);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(memcmp(l.k[0].id, d.id, WEBDEV_ID_LEN), 0);
    cr_assert(l.k[0].live);
    cr_assert_str_eq(l.k[0].name, "store-phone");
    cr_assert_eq(webkey_signer(g_home, d.id, sk), AM_OK);
    cr_assert_eq(memcmp(sk + AM_SEED_LEN, l.k[0].pk, AM_PK_LEN), 0);

    cr_assert_eq(node_open(&n, g_home, NULL, NULL), AM_OK);
    cr_assert_neq(memcmp(n.pk, l.k[0].pk, AM_PK_LEN), 0, "the phone's key is not the node's");
    site.has = RELIEF_HAS(RELIEF_K_SLUG) | RELIEF_HAS(RELIEF_K_NAME);
    item.has = RELIEF_HAS(RELIEF_K_CODE) | RELIEF_HAS(RELIEF_K_NAME);
    cr_assert_eq(relief_node_write(&n, &site, 0, err, sizeof err, NULL), AM_OK, "%s", err);
    cr_assert_eq(relief_node_write(&n, &item, 0, err, sizeof err, NULL), AM_OK, "%s", err);

    /* a need added from the phone's page: entry 1 of the phone's log */
    memset(&w, 0, sizeof w);
    w.n = &n;
    w.can_write = 1;
    w.csrf = "";
    w.sk = sk;
    memset(&nf, 0, sizeof nf);
    snprintf(nf.site, sizeof nf.site, "clinic-2");
    snprintf(nf.item, sizeof nf.item, "ors");
    snprintf(nf.qty, sizeof nf.qty, "40");
    snprintf(nf.priority, sizeof nf.priority, "high");
    cr_assert_eq(webapp_need_add(&w, &nf, id, msg, sizeof msg), AM_OK, "%s", msg);
    entry_of(&n, l.k[0].pk, 1, buf, sizeof buf, &e);

    /* a delivery and a receipt from the phone's forms: entries 2 and 3 */
    memset(&cf, 0, sizeof cf);
    memset(&a, 0, sizeof a);
    cr_assert_eq(webapp_need_page(&w, id, &a), AM_OK);
    {
        const char *p = memmem(a.out, a.len, "name=\"head\" value=\"", 19);
        cr_assert(p);
        memcpy(cf.head, p + 19, 16);
    }
    free(a.out);
    snprintf(cf.op, sizeof cf.op, "deliver");
    snprintf(cf.qty, sizeof cf.qty, "15");
    cr_assert_eq(webapp_need_change(&w, id, &cf, 0, NULL, &a), AM_OK);
    cr_assert(a.written, "%.*s", (int)a.len, a.out);
    free(a.out);
    entry_of(&n, l.k[0].pk, 2, buf, sizeof buf, &e);

    memset(&cf, 0, sizeof cf);
    cr_assert_eq(webapp_stock_page(&w, "clinic-2", "ors", &a), AM_OK);
    {
        const char *p = memmem(a.out, a.len, "name=\"head\" value=\"", 19);
        cr_assert(p);
        memcpy(cf.head, p + 19, 16);
    }
    free(a.out);
    snprintf(cf.op, sizeof cf.op, "receive");
    snprintf(cf.site, sizeof cf.site, "clinic-2");
    snprintf(cf.item, sizeof cf.item, "ors");
    snprintf(cf.qty, sizeof cf.qty, "7");
    snprintf(cf.nolot, sizeof cf.nolot, "1");
    cr_assert_eq(webapp_stock_change(&w, &cf, 0, NULL, &a), AM_OK);
    cr_assert(a.written, "%.*s", (int)a.len, a.out);
    free(a.out);
    entry_of(&n, l.k[0].pk, 3, buf, sizeof buf, &e);

    /* the node's own log holds only what the node wrote (the site and the item) */
    cr_assert_eq(store_head_get(n.store, n.pk, &h), AM_OK);
    cr_assert_eq(h.seq, 2);
    cr_assert_eq(store_head_get(n.store, l.k[0].pk, &h), AM_OK);
    cr_assert_eq(h.seq, 3);

    /* revoked: its key signs nothing again */
    {
        char idhex[2 * WEBDEV_ID_LEN + 1];
        sodium_bin2hex(idhex, sizeof idhex, d.id, WEBDEV_ID_LEN);
        cr_assert_eq(webdev_revoke(g_home, idhex, NULL), AM_OK);
    }
    cr_assert_eq(webkey_signer(g_home, d.id, sk), AM_EPERM);
    cr_assert(sodium_is_zero(sk, AM_SK_LEN), "nothing of the key is handed out");
    node_close(&n);
    webkey_list_free(&l);
    sodium_free(sk);
}

Test(webkey, a_revoked_phone_keeps_its_author_id_but_not_its_secret)
{
    struct webdev d, d2;
    struct webkey_list l = {0};
    uint8_t *sk = sodium_malloc(AM_SK_LEN), pk[AM_PK_LEN];
    char seed[2 * AM_SEED_LEN + 1], idhex[2 * WEBDEV_ID_LEN + 1], *text;
    size_t len;

    cr_assert(sk);
    pair(WEBDEV_WRITE, "nurse-phone", &d);
    pair(WEBDEV_READ, "desk-phone", &d2);
    cr_assert_eq(webkey_signer(g_home, d.id, sk), AM_OK);
    memcpy(pk, sk + AM_SEED_LEN, AM_PK_LEN);
    sodium_bin2hex(seed, sizeof seed, sk, AM_SEED_LEN);
    text = read_keys(&len);
    cr_assert(strstr(text, seed), "the seed is kept while the phone is paired");
    free(text);

    sodium_bin2hex(idhex, sizeof idhex, d.id, WEBDEV_ID_LEN);
    cr_assert_eq(webdev_revoke(g_home, idhex, NULL), AM_OK);
    cr_assert_eq(webkey_signer(g_home, d.id, sk), AM_EPERM, "a revoked phone never signs");
    text = read_keys(&len);
    cr_assert_null(strstr(text, seed), "its secret is wiped from the file");
    free(text);
    cr_assert_eq(webkey_load(g_home, &l), AM_OK);
    cr_assert_eq(l.n, 2, "its key is kept for reference");
    cr_assert_eq(memcmp(webkey_find(&l, d.id)->pk, pk, AM_PK_LEN), 0);
    cr_assert_eq(webkey_find(&l, d.id)->live, 0);
    cr_assert_str_eq(webkey_find(&l, d.id)->name, "nurse-phone");
    cr_assert_eq(webkey_find(&l, d2.id)->live, 1, "the other phone keeps its key");
    webkey_list_free(&l);
    cr_assert_eq(webkey_signer(g_home, d2.id, sk), AM_OK);
    sodium_free(sk);
}

Test(webkey, a_key_without_its_device_is_wiped_at_the_next_pairing)
{
    struct webdev d;
    struct webkey_list l = {0};
    uint8_t *sk = sodium_malloc(AM_SK_LEN), id[WEBDEV_ID_LEN];
    char *text, *keep;
    size_t len;

    cr_assert(sk);
    /* a key line whose device never landed (a pairing or a revoke cut short) */
    {
        uint8_t seed[AM_SEED_LEN], pk[AM_PK_LEN];
        char pkhex[2 * AM_PK_LEN + 1], line[WEBDEV_LINE_MAX];
        memset(seed, 0x33, sizeof seed);
        crypto_sign_seed_keypair(pk, sk, seed);
        sodium_bin2hex(pkhex, sizeof pkhex, pk, AM_PK_LEN);
        snprintf(line, sizeof line, ID "\t%s\t" SEED "\tlost-phone\n", pkhex);
        write_keys(line, 0600);
    }
    cr_assert_eq(sodium_hex2bin(id, sizeof id, ID, 16, NULL, NULL, NULL), 0);
    cr_assert_eq(webkey_signer(g_home, id, sk), AM_OK, "a well-formed line");
    pair(WEBDEV_WRITE, "new-phone", &d);
    cr_assert_eq(webkey_signer(g_home, id, sk), AM_EPERM, "wiped: no device holds it");
    text = read_keys(&len);
    keep = strstr(text, SEED);
    cr_assert_null(keep);
    free(text);
    cr_assert_eq(webkey_load(g_home, &l), AM_OK);
    cr_assert_eq(l.n, 2);
    webkey_list_free(&l);
    sodium_free(sk);
}

Test(webkey, a_key_edited_by_hand_or_readable_by_others_is_refused)
{
    uint8_t *sk = sodium_malloc(AM_SK_LEN), id[WEBDEV_ID_LEN];
    struct webkey_list l = {0};
    cr_assert(sk);
    cr_assert_eq(sodium_hex2bin(id, sizeof id, ID, 16, NULL, NULL, NULL), 0);
    write_keys(ID "\t" PK "\t" SEED "\tphone\n", 0600); /* the seed does not give PK */
    cr_assert_eq(webkey_signer(g_home, id, sk), AM_ECORRUPT);
    cr_assert(sodium_is_zero(sk, AM_SK_LEN));
    write_keys(ID "\t" PK "\t-\tphone\n", 0640);
    cr_assert_eq(webkey_load(g_home, &l), AM_EPERM);
    cr_assert_eq(webkey_signer(g_home, id, sk), AM_EPERM);
    id[0] ^= 1;
    write_keys(ID "\t" PK "\t-\tphone\n", 0600);
    cr_assert_eq(webkey_signer(g_home, id, sk), AM_ENOTFOUND, "paired before keys: none");
    sodium_free(sk);
}

Test(webkey, the_parser_is_strict)
{
    static const struct {
        const char *text;
        int rc;
    } cases[] = {
        {"", AM_OK},
        {ID "\t" PK "\t" SEED "\tphone\n", AM_OK},
        {ID "\t" PK "\t-\tphone 2\n", AM_OK},
        {ID "\t" PK "\t-\tphone", AM_ECORRUPT},            /* no LF */
        {ID "\t" PK "\t-\n", AM_ECORRUPT},                 /* a field short */
        {ID "\t" PK "\t-\tphone\textra\n", AM_ECORRUPT},   /* a field over */
        {ID "\t" PK "\t-\t\n", AM_ECORRUPT},               /* no name */
        {"0123456789ABCDEF\t" PK "\t-\tp\n", AM_ECORRUPT}, /* upper-case hex */
        {"0123\t" PK "\t-\tp\n", AM_ECORRUPT},             /* a short id */
        {ID "\t" PK "1\t-\tp\n", AM_ECORRUPT},             /* a long key */
        {ID "\t" PK "\t--\tp\n", AM_ECORRUPT},             /* not a seed */
        {ID "\t" PK "\t" SEED "0\tp\n", AM_ECORRUPT},      /* a long seed */
        {ID "\t" PK "\tx\tp\n", AM_ECORRUPT},
        {ID "\t" PK "\t-\tp\n" ID "\t" PK2 "\t-\tq\n", AM_ECORRUPT}, /* an id twice */
        {ID "\t" PK "\t-\tp\n"
            "fedcba9876543210\t" PK "\t-\tq\n",
         AM_ECORRUPT},                            /* a key twice */
        {ID "\t" PK "\t-\tp\x01\n", AM_ECORRUPT}, /* a control */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct webkey_list l = {0};
        int rc = webkey_parse(cases[i].text, strlen(cases[i].text), &l);
        cr_assert_eq(rc, cases[i].rc, "case %zu: %d", i, rc);
        if (rc != AM_OK)
            cr_assert(l.n == 0 && l.k == NULL, "case %zu: never half read", i);
        webkey_list_free(&l);
    }
}

Test(webkey, the_parser_keeps_to_its_limits)
{
    size_t n = WEBKEY_MAX + 1, line = 16 + 1 + 64 + 1 + 1 + 1 + 1 + 1;
    char *text = malloc(n * line + 1), *p = text;
    struct webkey_list l = {0};
    cr_assert(text);
    for (size_t i = 0; i < n; i++)
        p += snprintf(p, line + 1, "%016zx\t%064zx\t-\tp\n", i, i);
    cr_assert_eq(webkey_parse(text, (size_t)(p - text), &l), AM_ELIMIT);
    cr_assert_eq(l.n, 0);
    cr_assert_eq(webkey_parse(text, (size_t)(p - text) - line, &l), AM_OK);
    cr_assert_eq(l.n, WEBKEY_MAX);
    webkey_list_free(&l);
    free(text);
}
