/* stick_tu.c: the helpers and the fixture the stick tests share (stick_tu.h). */
#include "stick_tu.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "invite.h"
#include "stick_node.h"
#include "syncstore.h"
#include "testutil.h"

uint8_t netkey[AM_NETKEY_LEN], otherkey[AM_NETKEY_LEN];
uint64_t rng;

void site_open(struct site *s, const char *name)
{
    memset(s, 0, sizeof *s);
    s->dir = tu_tmpdir();
    cr_assert_eq(store_open(&s->st, s->dir, NULL), AM_OK);
    syncstore_init(&s->ss, s->st);
    stick_node_logs_init(&s->logs, s->st);
    crypto_sign_keypair(s->pk, s->sk);
    store_install_id(s->st, s->install, NULL);
    snprintf(s->name, sizeof s->name, "%s", name);
}

void site_close(struct site *s)
{
    store_close(s->st);
    tu_rmrf(s->dir);
    free(s->dir);
    memset(s, 0, sizeof *s);
}

void write_notes(struct site *s, const uint8_t *sk, size_t n, const char *text)
{
    uint8_t ops[64][160];
    const uint8_t *p[64];
    size_t l[64];
    if (!sk)
        sk = s->sk;
    while (n > 0) {
        size_t k = n < 64 ? n : 64;
        for (size_t i = 0; i < k; i++) {
            char note[128];
            int nl = snprintf(note, sizeof note, "%s %llu", text,
                              (unsigned long long)(tu_rand(&rng) % 1000000));
            ops[i][0] = 0x81;
            ops[i][1] = 0xa1;
            ops[i][2] = 'n';
            ops[i][3] = 0xd9;
            ops[i][4] = (uint8_t)nl;
            memcpy(ops[i] + 5, note, (size_t)nl);
            p[i] = ops[i];
            l[i] = 5 + (size_t)nl;
        }
        cr_assert_eq(store_append(s->st, sk, p, l, k, WALL, NULL), AM_OK);
        n -= k;
    }
}

uint64_t entries_of(struct site *s)
{
    struct store_stats st;
    cr_assert_eq(store_stats(s->st, &st), AM_OK);
    return st.entries;
}

int add_head(void *ctx, const struct sync_head *h)
{
    struct vv *v = ctx;
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 64;
        v->h = realloc(v->h, v->cap * sizeof *v->h);
        cr_assert(v->h);
    }
    v->h[v->n++] = *h;
    return 0;
}

static void fingerprint(struct site *s, uint8_t fp[SYNC_FP_LEN])
{
    struct vv v = {0};
    cr_assert_eq(s->ss.heads(s->ss.ctx, add_head, &v), AM_OK);
    sync_fingerprint(v.h, v.n, fp);
    free(v.h);
}

void assert_same(struct site *a, struct site *b)
{
    uint8_t x[SYNC_FP_LEN], y[SYNC_FP_LEN];
    fingerprint(a, x);
    fingerprint(b, y);
    cr_assert_eq(memcmp(x, y, sizeof x), 0, "%s and %s differ (%llu vs %llu entries)", a->name,
                 b->name, (unsigned long long)entries_of(a), (unsigned long long)entries_of(b));
}

struct stick_cfg cfg_for(struct site *s, const char *stick_root, const struct stick_fops *f)
{
    struct stick_cfg c;
    memset(&c, 0, sizeof c);
    c.fops = f ? f : &stick_fops_posix;
    c.logs = &s->logs;
    c.root = stick_root;
    c.netkey = netkey;
    c.install_id = s->install;
    c.author = s->pk;
    c.name = s->name;
    c.now_ms = WALL + 1000;
    c.flags = STICK_F_CREATE;
    return c;
}

int do_sync(struct site *s, const char *stick_root, struct stick_report *r)
{
    struct stick_cfg c = cfg_for(s, stick_root, NULL);
    return stick_sync(&c, &s->ss, r);
}

void net_dir(const char *stick_root, char out[1200])
{
    uint8_t id[AM_NETID_LEN];
    char hex[2 * AM_NETID_LEN + 1];
    invite_network_id(netkey, id);
    for (int i = 0; i < AM_NETID_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02X", id[i]);
    cr_assert_lt((size_t)snprintf(out, 1200, "%s/AIDMESH/%s", stick_root, hex), (size_t)(1200));
}

struct site A, B, C;
char *stick;

void stick_tu_setup(void)
{
    cr_assert(sodium_init() >= 0);
    rng = tu_seed("stick");
    randombytes_buf(netkey, sizeof netkey);
    randombytes_buf(otherkey, sizeof otherkey);
    site_open(&A, "hub-north");
    site_open(&B, "clinic-zebra");
    site_open(&C, "shelter-7");
    stick = tu_tmpdir();
}

void stick_tu_teardown(void)
{
    char work[1300];
    site_close(&A);
    site_close(&B);
    site_close(&C);
    /* the sweeps' working copy, also when a test stopped half way */
    if ((size_t)snprintf(work, sizeof work, "%s.work", stick) < sizeof work)
        tu_rmrf(work);
    tu_rmrf(stick);
    free(stick);
}
