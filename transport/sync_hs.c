/*
 * sync_hs.c: the sync engine's handshake (PROTOCOL.md 8.1): Noise_XXpsk0 keyed by the
 * network key, the HELLO of each side (versions, author hint, install tag, fingerprint),
 * resolving a hint to an author id, and WHO / IDENT on first contact.
 * Must never: read the store before the peer's first handshake message authenticates,
 * accept an author id that does not convert to the peer's static key, or print.
 */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "am_err.h"
#include "am_text.h"
#include "sync_int.h"

/* Our HELLO into p; its length (HELLO_LEN, or with the name HELLO_LEN + 1 + its length). */
static size_t hello_payload(struct sync_session *s, uint8_t p[HELLO_MAX])
{
    size_t nl = strlen(s->our_name);
    if (nl) {
        p[HELLO_LEN] = (uint8_t)nl;
        memcpy(p + HELLO_LEN + 1, s->our_name, nl);
    }
    p[0] = SYNC_VERSION_MAJOR;
    p[1] = SYNC_VERSION_MINOR;
    p += 2;
    memcpy(p, s->cfg.sk + AM_SEED_LEN, HELLO_HINT_LEN);
    memcpy(p + HELLO_HINT_LEN, s->cfg.install_id, SYNC_INSTALL_TAG_LEN);
    memcpy(p + HELLO_HINT_LEN + SYNC_INSTALL_TAG_LEN, s->our_fp, SYNC_FP_LEN);
    return nl ? HELLO_LEN + 1 + nl : HELLO_LEN;
}

size_t sync_hello_name(const uint8_t *p, size_t n, char out[static AM_NAME_MAX + 1])
{
    size_t nl = n > SYNC_HELLO_LEN ? p[SYNC_HELLO_LEN] : 0;
    out[0] = 0;
    if (nl == 0 || nl > AM_NAME_MAX || SYNC_HELLO_LEN + 1 + nl > n ||
        !am_text_ok(p + SYNC_HELLO_LEN + 1, nl, 0))
        return 0;
    memcpy(out, p + SYNC_HELLO_LEN + 1, nl);
    out[nl] = 0;
    return nl;
}

static void hello_name(struct sync_session *s, const uint8_t *p, size_t n)
{
    sync_hello_name(p, n, s->peer_name);
}

const char *sync_peer_name(const struct sync_session *s)
{
    return s->peer_name;
}

void sync_send_hs(struct sync_session *s, const uint8_t *payload, size_t plen)
{
    uint8_t buf[2 + 512];
    size_t n;
    int rc = noise_hs_write(&s->hs, payload, plen, buf + 2, sizeof buf - 2, &n);
    if (rc != AM_OK) {
        sync_fail(s, rc);
        return;
    }
    buf[0] = (uint8_t)(n >> 8);
    buf[1] = (uint8_t)n;
    sync_out_raw(s, buf, n + 2);
    s->stats.summary_out += n + 2;
}

/* Whether `author` is the ed25519 form of the peer's static key. */
static int is_peer_key(const struct sync_session *s, const uint8_t author[AM_PK_LEN])
{
    uint8_t x[32];
    return crypto_sign_ed25519_pk_to_curve25519(x, author) == 0 &&
           sodium_memcmp(x, s->peer_x, 32) == 0;
}

/* Resolving a hint: a candidate counts when its X25519 form is the peer's static key. */
struct resolve {
    struct sync_session *s;
    unsigned found; /* distinct matching authors */
};

static int resolve_try(void *ctx, const uint8_t author[AM_PK_LEN])
{
    struct resolve *r = ctx;
    if (!is_peer_key(r->s, author))
        return 0;
    if (r->found && memcmp(r->s->peer_author, author, AM_PK_LEN) == 0)
        return 0; /* the same author, found again (a head and a peer met) */
    memcpy(r->s->peer_author, author, AM_PK_LEN);
    r->found++;
    return r->found > 1; /* two different authors: ambiguous, stop */
}

/* Finds the author a hint names: our own id (a clone of this node), else exactly one
 * author whose id begins with the hint, among the heads we hold and the peers met. */
static int resolve_hint(struct sync_session *s, const uint8_t hint[HELLO_HINT_LEN])
{
    const uint8_t *me = s->cfg.sk + AM_SEED_LEN;
    const struct sync_store *st = s->cfg.store;
    struct resolve r = {s, 0};
    size_t lo = 0, hi = s->n_mine;

    if (memcmp(me, hint, HELLO_HINT_LEN) == 0 && is_peer_key(s, me)) {
        memcpy(s->peer_author, me, AM_PK_LEN);
        return 1;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(s->mine[mid].author, hint, HELLO_HINT_LEN) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < s->n_mine && r.found < 2 && memcmp(s->mine[lo].author, hint, HELLO_HINT_LEN) == 0;
         lo++)
        resolve_try(&r, s->mine[lo].author);
    if (r.found < 2 && st->peers && st->peers(st->ctx, hint, HELLO_HINT_LEN, resolve_try, &r) < 0)
        return 0; /* the store could not say: ask */
    return r.found == 1;
}

static int check_self(const struct sync_session *s)
{
    if (memcmp(s->peer_author, s->cfg.sk + AM_SEED_LEN, AM_PK_LEN) == 0 &&
        memcmp(s->peer_install, s->cfg.install_id, SYNC_INSTALL_TAG_LEN) == 0)
        return AM_ESELF;
    return AM_OK;
}

static int check_hello(struct sync_session *s, const uint8_t *p, size_t n)
{
    const uint8_t *rs = noise_hs_remote_static(&s->hs);

    if (n < HELLO_LEN || !rs)
        return AM_EMALFORMED; /* longer is fine: a newer minor version may append */
    if (p[0] != SYNC_VERSION_MAJOR)
        return AM_EVERSION;
    hello_name(s, p, n);
    s->peer_major = p[0];
    s->peer_minor = p[1];
    p += 2;
    memcpy(s->peer_x, rs, 32);
    memcpy(s->peer_install, p + HELLO_HINT_LEN, SYNC_INSTALL_TAG_LEN);
    memcpy(s->peer_fp, p + HELLO_HINT_LEN + SYNC_INSTALL_TAG_LEN, SYNC_FP_LEN);
    s->peer_known = resolve_hint(s, p);
    return s->peer_known ? check_self(s) : AM_OK;
}

void sync_send_ident(struct sync_session *s)
{
    struct mbuf b = {s->msg, 0, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, sync_mbuf_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint8(&pk, T_IDENT);
    msgpack_pack_bin(&pk, AM_PK_LEN);
    msgpack_pack_bin_body(&pk, s->cfg.sk + AM_SEED_LEN, AM_PK_LEN);
    sync_send_msg(s, b.len, 1);
}

int sync_on_ident(struct sync_session *s, struct mp_cur *c)
{
    const uint8_t *a;
    uint32_t alen;

    if (mp_get_bin(c, &a, &alen) || alen != AM_PK_LEN)
        return AM_EMALFORMED;
    if (s->peer_known || !s->who_sent)
        return AM_OK; /* unasked, or known already: nothing to learn */
    if (!is_peer_key(s, a))
        return AM_EBADSIG; /* the static key is not the author id it claims */
    memcpy(s->peer_author, a, AM_PK_LEN);
    s->peer_known = 1;
    if (check_self(s) != AM_OK)
        return AM_ESELF;
    if (s->cfg.store->peer_met)
        s->cfg.store->peer_met(s->cfg.store->ctx, a); /* best effort: else WHO next time */
    s->state |= SYNC_HANDSHAKEN;
    sync_check_in_sync(s);
    return AM_OK;
}

/* Both handshake sides reach this once the last handshake message went through. */
static void handshake_done(struct sync_session *s)
{
    int rc = noise_hs_split(&s->hs, &s->tx, &s->rx);
    if (rc == AM_OK)
        rc = sync_live_alloc(s);
    if (rc != AM_OK) {
        sync_fail(s, rc);
        return;
    }
    s->phase = P_LIVE;
    if (s->peer_known) {
        s->state |= SYNC_HANDSHAKEN;
    } else {
        s->who_sent = 1; /* HANDSHAKEN waits for the IDENT; the sync goes on meanwhile */
        sync_send_simple(s, T_WHO);
    }
    /* Until told otherwise, the peer is assumed to hold what we hold. */
    for (size_t i = 0; i < s->n_mine; i++)
        if (sync_pv_set(s->peer, s->mine[i].author, s->mine[i].seq) != AM_OK) {
            sync_fail(s, AM_ENOMEM);
            return;
        }
    if (memcmp(s->peer_fp, s->our_fp, SYNC_FP_LEN) == 0) {
        /* In sync: both sides know it, nothing more is sent but what moved meanwhile. */
        s->recon_done = 1;
        s->end_sent = s->end_received = 1;
        sync_hs_notes_apply(s);
        sync_check_in_sync(s);
        return;
    }
    sync_hs_notes_apply(s); /* before the first REQ: the ranges include what moved */
    if (s->cfg.initiator) {
        struct range root, kids[16];
        memset(&root, 0, sizeof root);
        for (unsigned k = 0; k < 16; k++)
            sync_range_child(&root, k, &kids[k]);
        sync_send_req(s, kids, 16);
    }
}

/* Handles one handshake message (without its length prefix). */
int sync_hs_message(struct sync_session *s, const uint8_t *m, size_t n)
{
    uint8_t payload[512];
    size_t plen;
    int rc = noise_hs_read(&s->hs, m, n, payload, sizeof payload, &plen);

    if (rc != AM_OK)
        return rc == AM_EBADMAC ? AM_EBADMAC : rc;
    /* message 1 (responder) or 2 (initiator) went through: the peer holds the network key */
    if ((rc = sync_heads_load(s)) != AM_OK)
        return rc;
    if (s->cfg.initiator) {
        /* message 2: the responder's hello; answer with message 3 and ours */
        uint8_t hello[HELLO_MAX];
        if ((rc = check_hello(s, payload, plen)) != AM_OK)
            return rc;
        sync_send_hs(s, hello, hello_payload(s, hello));
        if (s->state & SYNC_CLOSED)
            return s->error;
        handshake_done(s);
        return AM_OK;
    }
    if (noise_hs_want_write(&s->hs)) {
        /* message 1 (empty: the versions went in the preamble): answer with message 2
         * and our hello */
        uint8_t hello[HELLO_MAX];
        sync_send_hs(s, hello, hello_payload(s, hello));
        return s->state & SYNC_CLOSED ? s->error : AM_OK;
    }
    /* message 3: the initiator's hello */
    if ((rc = check_hello(s, payload, plen)) != AM_OK)
        return rc;
    handshake_done(s);
    return AM_OK;
}
