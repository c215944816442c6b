/*
 * peer_addrs.c: addresses per discovered author, LRU, expiry and the dial plan (see
 * peer_addrs.h). Pure: no I/O, no clock, no randomness, no allocation.
 */
#include "peer_addrs.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

void peer_addrs_init(struct peer_addrs *p, const uint8_t author[static AM_PK_LEN], uint64_t now,
                     uint64_t not_before)
{
    memset(p, 0, sizeof *p);
    memcpy(p->author, author, AM_PK_LEN);
    p->heard = now;
    p->not_before = not_before;
}

int peer_addrs_same(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return 0;
}

int peer_addrs_find(const struct peer_addrs *p, const struct sockaddr *sa)
{
    for (unsigned i = 0; i < p->n; i++)
        if (peer_addrs_same((const struct sockaddr *)&p->a[i].sa, sa))
            return (int)i;
    return -1;
}

/* Whether slot a should be replaced before slot b (both unverified, not dialing). */
static int worse(const struct peer_addrs_slot *a, const struct peer_addrs_slot *b)
{
    if (a->fails != b->fails)
        return a->fails > b->fails;
    if (a->hits != b->hits)
        return a->hits < b->hits;
    return a->last_heard < b->last_heard;
}

int peer_addrs_heard(struct peer_addrs *p, const struct sockaddr *sa, uint64_t now)
{
    struct peer_addrs_slot *s;
    int i = peer_addrs_find(p, sa), victim = -1;

    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
        return -1;
    if (now > p->heard)
        p->heard = now;
    if (i >= 0) {
        s = &p->a[i];
        if (now > s->last_heard)
            s->last_heard = now;
        if (s->hits < UINT32_MAX)
            s->hits++;
        return i;
    }
    if (p->n < PEER_ADDRS_PER_AUTHOR) {
        victim = p->n++;
    } else {
        for (unsigned j = 0; j < p->n; j++) {
            const struct peer_addrs_slot *c = &p->a[j];
            if (c->verified || c->dialing)
                continue; /* a proved address is never displaced by a claim */
            if (victim < 0 || worse(c, &p->a[victim]))
                victim = (int)j;
        }
        if (victim < 0)
            return -1;
    }
    s = &p->a[victim];
    memset(s, 0, sizeof *s);
    memcpy(&s->sa, sa,
           sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    s->last_heard = now;
    s->next_try = now;
    s->backoff = PEER_ADDRS_BACKOFF_MIN_MS;
    s->hits = 1;
    return victim;
}

/* The IPv4 address of sa (an IPv4-mapped IPv6 one too) into *out; 0 when it has none. */
static int host4(const struct sockaddr *sa, struct in_addr *out)
{
    if (sa->sa_family == AF_INET) {
        *out = ((const struct sockaddr_in *)sa)->sin_addr;
        return 1;
    }
    if (sa->sa_family == AF_INET6 &&
        IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)) {
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr[12], 4);
        return 1;
    }
    return 0;
}

static int same_host(const struct sockaddr *a, const struct sockaddr *b)
{
    struct in_addr x, y;
    if (host4(a, &x) && host4(b, &y))
        return x.s_addr == y.s_addr;
    if (a->sa_family == AF_INET6 && b->sa_family == AF_INET6) {
        const struct sockaddr_in6 *p = (const struct sockaddr_in6 *)a;
        const struct sockaddr_in6 *q = (const struct sockaddr_in6 *)b;
        return memcmp(&p->sin6_addr, &q->sin6_addr, sizeof p->sin6_addr) == 0 &&
               (p->sin6_scope_id == q->sin6_scope_id || !p->sin6_scope_id || !q->sin6_scope_id);
    }
    return 0;
}

unsigned peer_addrs_proved_host(struct peer_addrs *p, const struct sockaddr *sa)
{
    unsigned k = 0;
    for (unsigned i = 0; i < p->n; i++) {
        struct peer_addrs_slot *s = &p->a[i];
        if (!s->verified && same_host((const struct sockaddr *)&s->sa, sa)) {
            s->verified = 1;
            s->fails = 0;
            s->backoff = PEER_ADDRS_BACKOFF_MIN_MS;
            k++;
        }
    }
    return k;
}

void peer_addrs_dial_start(struct peer_addrs *p, unsigned i)
{
    if (i < p->n)
        p->a[i].dialing = 1;
}

/* The next try after a wait of about `wait` ms (+-25%). */
static uint64_t jittered(uint64_t now, uint32_t wait, uint32_t rnd)
{
    return now + wait * 3ull / 4 + rnd % (wait / 2 + 1);
}

void peer_addrs_dial_done(struct peer_addrs *p, unsigned i, int outcome, const char *reason,
                          uint64_t now, uint32_t rnd)
{
    struct peer_addrs_slot *s;
    if (i >= p->n)
        return;
    s = &p->a[i];
    s->dialing = 0;
    switch (outcome) {
    case PEER_ADDRS_PROVED:
        s->verified = 1;
        s->fails = 0;
        s->backoff = PEER_ADDRS_BACKOFF_MIN_MS;
        s->reason[0] = 0;
        s->next_try = now;
        break;
    default:
        if (s->fails < UINT32_MAX)
            s->fails++;
        if (s->fails_total < UINT32_MAX)
            s->fails_total++;
        s->last_fail = now;
        snprintf(s->reason, sizeof s->reason, "%s", reason ? reason : "");
        if (s->backoff < PEER_ADDRS_BACKOFF_MIN_MS)
            s->backoff = PEER_ADDRS_BACKOFF_MIN_MS;
        s->next_try = jittered(now, s->backoff, rnd);
        s->backoff =
            s->backoff * 2 > PEER_ADDRS_BACKOFF_MAX_MS ? PEER_ADDRS_BACKOFF_MAX_MS : s->backoff * 2;
        break;
    }
}

unsigned peer_addrs_dialing(const struct peer_addrs *p)
{
    unsigned k = 0;
    for (unsigned i = 0; i < p->n; i++)
        k += p->a[i].dialing;
    return k;
}

int peer_addrs_expire(struct peer_addrs *p, uint64_t now)
{
    unsigned i = 0;
    while (i < p->n) {
        const struct peer_addrs_slot *s = &p->a[i];
        if (!s->dialing && now - s->last_heard >= PEER_ADDRS_EXPIRE_MS && now > s->last_heard) {
            memmove(&p->a[i], &p->a[i + 1], (p->n - i - 1) * sizeof p->a[0]);
            p->n--;
        } else {
            i++;
        }
    }
    return !p->connected && peer_addrs_dialing(p) == 0 && now > p->heard &&
           now - p->heard >= PEER_ADDRS_EXPIRE_MS;
}

int peer_addrs_best(const struct peer_addrs *p)
{
    int best = -1;
    for (unsigned i = 0; i < p->n; i++) {
        const struct peer_addrs_slot *s = &p->a[i];
        if (best < 0 || (s->verified && !p->a[best].verified) ||
            (s->verified == p->a[best].verified && s->hits > p->a[best].hits))
            best = (int)i;
    }
    return best;
}

static int has_verified(const struct peer_addrs *p)
{
    for (unsigned i = 0; i < p->n; i++)
        if (p->a[i].verified)
            return 1;
    return 0;
}

size_t peer_addrs_victim(struct peer_addrs *const *v, size_t n)
{
    size_t best = n;
    int best_ver = 0;
    for (size_t i = 0; i < n; i++) {
        int ver;
        if (v[i]->connected || peer_addrs_dialing(v[i]) > 0)
            continue;
        ver = has_verified(v[i]);
        if (best == n || ver < best_ver || (ver == best_ver && v[i]->heard < v[best]->heard)) {
            best = i;
            best_ver = ver;
        }
    }
    return best;
}

/* Whether slot a (of entry ea) should be dialed before slot b (of entry eb). */
static int better(const struct peer_addrs_slot *a, size_t ea, const struct peer_addrs_slot *b,
                  size_t eb)
{
    if (a->verified != b->verified)
        return a->verified > b->verified;
    if (a->fails != b->fails)
        return a->fails < b->fails;
    if (a->hits != b->hits)
        return a->hits > b->hits;
    if (a->last_heard != b->last_heard)
        return a->last_heard > b->last_heard;
    return ea < eb;
}

/* Whether the plan so far holds slot s of entry e (any slot of it when s is -1). */
static int planned(const struct peer_addrs_dial *out, size_t k, size_t e, int s)
{
    for (size_t i = 0; i < k; i++)
        if (out[i].entry == e && (s < 0 || out[i].slot == (unsigned)s))
            return 1;
    return 0;
}

/* Whether p has a verified address whose last dial did not fail: then only verified
 * addresses are dialed, one at a time (two connections at once to one peer would end as
 * duplicates); else every due address is, at once (the real one among replays, or the
 * new one of a member that moved). */
static int working(const struct peer_addrs *p)
{
    for (unsigned i = 0; i < p->n; i++)
        if (p->a[i].verified && p->a[i].fails == 0)
            return 1;
    return 0;
}

size_t peer_addrs_plan(struct peer_addrs *const *v, size_t n, uint64_t now, size_t in_flight,
                       struct peer_addrs_dial *out, size_t cap)
{
    size_t room = in_flight < PEER_ADDRS_DIALS_MAX ? PEER_ADDRS_DIALS_MAX - in_flight : 0, k = 0;
    if (room > cap)
        room = cap;
    /* a selection: room is at most PEER_ADDRS_DIALS_MAX, the candidates a few hundred */
    while (k < room) {
        size_t be = n;
        unsigned bs = 0;
        for (size_t e = 0; e < n; e++) {
            const struct peer_addrs *p = v[e];
            int one = 0;
            if (p->connected || now < p->not_before)
                continue;
            if (working(p)) {
                if (peer_addrs_dialing(p) > 0 || planned(out, k, e, -1))
                    continue;
                one = 1;
            }
            for (unsigned s = 0; s < p->n; s++) {
                const struct peer_addrs_slot *c = &p->a[s];
                if (c->dialing || now < c->next_try || (one && !c->verified) ||
                    planned(out, k, e, (int)s))
                    continue;
                if (be == n || better(c, e, &v[be]->a[bs], be)) {
                    be = e;
                    bs = s;
                }
            }
        }
        if (be == n)
            break;
        out[k].entry = be;
        out[k].slot = bs;
        k++;
    }
    return k;
}
