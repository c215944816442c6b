/*
 * webkey.c: the signing keys of the paired phones (see webkey.h).
 *
 * Must never: print or return a seed other than as the secret key webkey_signer gives
 * its caller, hand out the key of a revoked line, free a buffer that held a seed without
 * wiping it, change DIR/web-keys without holding the flock of DIR/web.lock, or accept a
 * file of another shape in part.
 */
#include "webkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "webdev_int.h"

#define KEY_FIELDS 4

void webkey_list_free(struct webkey_list *l)
{
    if (!l)
        return;
    free(l->k);
    l->k = NULL;
    l->n = 0;
}

/* ---- the line format ---------------------------------------------------------------------- */

struct keys_parse {
    struct webkey_list *l;
    size_t cap;     /* rows allocated in l->k */
    uint8_t *seeds; /* AM_SEED_LEN a row (sodium_malloc'd), or NULL: not kept */
};

/* ID TAB AUTHOR TAB SEED TAB NAME (webkey.h). */
static int key_line(void *ctx, const struct webdev_fields *f)
{
    struct keys_parse *kp = ctx;
    struct webkey_list *l = kp->l;
    uint8_t seed[AM_SEED_LEN];
    struct webkey *k;
    int rc = AM_OK;

    if (l->n >= kp->cap)
        return AM_ELIMIT;
    k = &l->k[l->n];
    memset(k, 0, sizeof *k);
    if (!webdev_hex_field(f->p[0], f->n[0], k->id, WEBDEV_ID_LEN) ||
        !webdev_hex_field(f->p[1], f->n[1], k->pk, AM_PK_LEN) ||
        !webdev_name_field(f->p[3], f->n[3], 0, k->name))
        return AM_ECORRUPT;
    if (f->n[2] == 1 && f->p[2][0] == '-')
        k->live = 0;
    else if (webdev_hex_field(f->p[2], f->n[2], seed, AM_SEED_LEN))
        k->live = 1;
    else
        rc = AM_ECORRUPT;
    if (rc == AM_OK && kp->seeds && k->live)
        memcpy(kp->seeds + l->n * AM_SEED_LEN, seed, AM_SEED_LEN);
    sodium_memzero(seed, sizeof seed);
    for (size_t i = 0; rc == AM_OK && i < l->n; i++)
        if (!memcmp(l->k[i].id, k->id, WEBDEV_ID_LEN) || !memcmp(l->k[i].pk, k->pk, AM_PK_LEN))
            rc = AM_ECORRUPT;
    if (rc == AM_OK)
        l->n++;
    return rc;
}

/* webkey_parse, keeping the seeds in seeds (WEBKEY_MAX * AM_SEED_LEN bytes) when not NULL. */
static int parse(const char *text, size_t len, struct webkey_list *out, uint8_t *seeds)
{
    struct keys_parse kp = {out, 0, seeds};
    size_t lines = 0;
    int rc;

    out->k = NULL;
    out->n = 0;
    for (size_t i = 0; i < len && lines <= WEBKEY_MAX; i++)
        lines += text[i] == '\n';
    if (lines > WEBKEY_MAX)
        return AM_ELIMIT;
    if (lines && !(out->k = calloc(lines, sizeof *out->k)))
        return AM_ENOMEM;
    kp.cap = lines;
    rc = webdev_each_line(text, len, WEBKEY_MAX, KEY_FIELDS, key_line, &kp);
    if (rc != AM_OK)
        webkey_list_free(out);
    return rc;
}

int webkey_parse(const char *text, size_t len, struct webkey_list *out)
{
    return parse(text, len, out, NULL);
}

const struct webkey *webkey_find(const struct webkey_list *l, const uint8_t id[WEBDEV_ID_LEN])
{
    for (size_t i = 0; l && i < l->n; i++)
        if (!memcmp(l->k[i].id, id, WEBDEV_ID_LEN))
            return &l->k[i];
    return NULL;
}

/* ---- the file ------------------------------------------------------------------------------- */

/* DIR/web-keys into *l, and the seeds into seeds when not NULL. */
static int load(const char *home, struct webkey_list *l, uint8_t *seeds)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    l->k = NULL;
    l->n = 0;
    rc = webdev_read_text(home, WEBKEY_FILE, (size_t)WEBKEY_MAX * WEBDEV_LINE_MAX + 1, &text, &len);
    if (rc == AM_OK)
        rc = parse(text, len, l, seeds);
    if (text)
        sodium_memzero(text, len);
    free(text);
    return rc;
}

int webkey_load(const char *home, struct webkey_list *out)
{
    /* no lock: a writer renames a whole file into place */
    return load(home, out, NULL);
}

/* Writes l (with seeds) as DIR/web-keys. */
static int write_locked(const char *home, const struct webkey_list *l, const uint8_t *seeds)
{
    char *text = malloc(l->n * WEBDEV_LINE_MAX + 1);
    size_t len = 0, cap = l->n * WEBDEV_LINE_MAX + 1;
    int rc = AM_OK;

    if (!text)
        return AM_ENOMEM;
    for (size_t i = 0; i < l->n && rc == AM_OK; i++) {
        const struct webkey *k = &l->k[i];
        char id[2 * WEBDEV_ID_LEN + 1], pk[2 * AM_PK_LEN + 1], seed[2 * AM_SEED_LEN + 1] = "-";
        int n;
        sodium_bin2hex(id, sizeof id, k->id, WEBDEV_ID_LEN);
        sodium_bin2hex(pk, sizeof pk, k->pk, AM_PK_LEN);
        if (k->live)
            sodium_bin2hex(seed, sizeof seed, seeds + i * AM_SEED_LEN, AM_SEED_LEN);
        n = snprintf(text + len, cap - len, "%s\t%s\t%s\t%s\n", id, pk, seed, k->name);
        sodium_memzero(seed, sizeof seed);
        if (n < 0 || n > WEBDEV_LINE_MAX) /* a caller's bad row: never write it */
            rc = AM_EINVAL;
        else
            len += (size_t)n;
    }
    if (rc == AM_OK)
        rc = webdev_write_text(home, WEBKEY_FILE, text, len);
    sodium_memzero(text, cap);
    free(text);
    return rc;
}

/* The seeds of a whole file, in guarded memory (sodium_free wipes it). */
static uint8_t *seeds_new(void)
{
    return sodium_malloc((size_t)WEBKEY_MAX * AM_SEED_LEN);
}

int webkey_signer(const char *home, const uint8_t id[WEBDEV_ID_LEN], uint8_t sk[AM_SK_LEN])
{
    struct webkey_list l = {NULL, 0};
    uint8_t *seeds = seeds_new(), pk[AM_PK_LEN];
    const struct webkey *k;
    int rc;

    sodium_memzero(sk, AM_SK_LEN);
    if (!seeds)
        return AM_ENOMEM;
    if ((rc = load(home, &l, seeds)) != AM_OK)
        goto out;
    if (!(k = webkey_find(&l, id))) {
        rc = AM_ENOTFOUND;
        goto out;
    }
    if (!k->live) {
        rc = AM_EPERM;
        goto out;
    }
    crypto_sign_seed_keypair(pk, sk, seeds + (size_t)(k - l.k) * AM_SEED_LEN);
    if (sodium_memcmp(pk, k->pk, AM_PK_LEN) != 0) { /* a line edited by hand */
        sodium_memzero(sk, AM_SK_LEN);
        rc = AM_ECORRUPT;
    }
out:
    sodium_free(seeds);
    webkey_list_free(&l);
    return rc;
}

int webkey_add_locked(const char *home, const struct webdev *d, const struct webdev *paired,
                      size_t n, uint8_t pk[AM_PK_LEN])
{
    struct webkey_list l = {NULL, 0};
    uint8_t *seeds = seeds_new(), *sk = sodium_malloc(AM_SK_LEN);
    struct webkey *grown, *k;
    int rc;

    if (!seeds || !sk) {
        rc = AM_ENOMEM;
        goto out;
    }
    if ((rc = load(home, &l, seeds)) != AM_OK)
        goto out;
    if (l.n >= WEBKEY_MAX || webkey_find(&l, d->id)) {
        rc = l.n >= WEBKEY_MAX ? AM_ELIMIT : AM_ECORRUPT;
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) { /* a revoke cut short: its key signs no more */
        int still = 0;
        for (size_t j = 0; j < n; j++)
            still |= !memcmp(paired[j].id, l.k[i].id, WEBDEV_ID_LEN);
        if (!still && l.k[i].live) {
            l.k[i].live = 0;
            sodium_memzero(seeds + i * AM_SEED_LEN, AM_SEED_LEN);
        }
    }
    if (!(grown = realloc(l.k, (l.n + 1) * sizeof *l.k))) {
        rc = AM_ENOMEM;
        goto out;
    }
    l.k = grown;
    k = &l.k[l.n];
    memset(k, 0, sizeof *k);
    memcpy(k->id, d->id, WEBDEV_ID_LEN);
    randombytes_buf(seeds + l.n * AM_SEED_LEN, AM_SEED_LEN);
    crypto_sign_seed_keypair(k->pk, sk, seeds + l.n * AM_SEED_LEN);
    k->live = 1;
    snprintf(k->name, sizeof k->name, "%s", d->name);
    l.n++;
    if ((rc = write_locked(home, &l, seeds)) == AM_OK && pk)
        memcpy(pk, k->pk, AM_PK_LEN);
out:
    sodium_free(seeds);
    sodium_free(sk);
    webkey_list_free(&l);
    return rc;
}

int webkey_revoke_locked(const char *home, const uint8_t id[WEBDEV_ID_LEN])
{
    struct webkey_list l = {NULL, 0};
    uint8_t *seeds = seeds_new();
    struct webkey *k = NULL;
    int rc;

    if (!seeds)
        return AM_ENOMEM;
    if ((rc = load(home, &l, seeds)) != AM_OK)
        goto out;
    for (size_t i = 0; i < l.n; i++)
        if (!memcmp(l.k[i].id, id, WEBDEV_ID_LEN))
            k = &l.k[i];
    if (k && k->live) {
        k->live = 0;
        sodium_memzero(seeds + (size_t)(k - l.k) * AM_SEED_LEN, AM_SEED_LEN);
        rc = write_locked(home, &l, seeds);
    }
out:
    sodium_free(seeds);
    webkey_list_free(&l);
    return rc;
}
