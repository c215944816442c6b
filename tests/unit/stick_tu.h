/* stick_tu.h: what the stick tests (stick_test.c, stick_format_test.c) share: sites with a
 * real LMDB store, the network key, notes written under a key, a sync of a site with a
 * folder as the stick, and the fixture of three sites and one stick. */
#ifndef AM_STICK_TU_H
#define AM_STICK_TU_H

#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"
#include "stick.h"
#include "store.h"
#include "sync.h"

#define WALL 1700000000000ULL

struct site {
    char *dir;
    struct store *st;
    struct sync_store ss;
    struct stick_logs logs;
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    uint8_t install[AM_INSTALL_ID_LEN];
    char name[AM_NAME_MAX + 1];
};

/* The network of the sticks (random per test), another network, and the seeded PRNG. */
extern uint8_t netkey[AM_NETKEY_LEN], otherkey[AM_NETKEY_LEN];
extern uint64_t rng;

/* The fixture (stick_tu_setup): three sites and an empty folder as the stick. */
extern struct site A, B, C;
extern char *stick;

void site_open(struct site *s, const char *name);
void site_close(struct site *s);
/* n entries by `sk` (the site's own key when NULL) with op {"n": "<text> <i>"}. */
void write_notes(struct site *s, const uint8_t *sk, size_t n, const char *text);
uint64_t entries_of(struct site *s);
/* The heads of a site, as sync_store.heads gives them (add_head appends to a struct vv). */
struct vv {
    struct sync_head *h;
    size_t n, cap;
};
int add_head(void *ctx, const struct sync_head *h);
/* The two sites hold the same heads (sync fingerprint). */
void assert_same(struct site *a, struct site *b);
/* The stick configuration of site s (file table f, the POSIX one when NULL). */
struct stick_cfg cfg_for(struct site *s, const char *stick_root, const struct stick_fops *f);
int do_sync(struct site *s, const char *stick_root, struct stick_report *r);
/* The folder of the network on the stick (after a first sync). */
void net_dir(const char *stick_root, char out[1200]);

/* Criterion .init/.fini of the stick suites: seeds rng (printed), makes the keys, A (hub-north),
 * B (clinic-zebra), C (shelter-7) and the stick; removes them (and the sweeps' working copy). */
void stick_tu_setup(void);
void stick_tu_teardown(void);

#endif
