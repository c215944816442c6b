/*
 * peer_addrs_test.c: the bookkeeping of discovered peers (node/peer_addrs.c): a replayed
 * address never displaces one that completed a handshake, a failed address is tried after
 * the others and backs off alone, LRU eviction at PEER_ADDRS_TARGETS_MAX, expiry after
 * PEER_ADDRS_EXPIRE_MS, the cap of dials in flight, and invariants over seeded random
 * sequences of beacons and dial outcomes (the seed is printed; rerun with AM_SEED=...).
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "peer_addrs.h"
#include "testutil.h"

TestSuite(peer_addrs);

static struct sockaddr_storage v4(uint32_t host, uint16_t port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    memset(&ss, 0, sizeof ss);
    s->sin_family = AF_INET;
    s->sin_addr.s_addr = htonl(host);
    s->sin_port = htons(port);
    return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

static const uint8_t AUTHOR[AM_PK_LEN] = {0x3f, 0x2a};

/* An address that completed a handshake stays first, whatever replays arrive after it. */
Test(peer_addrs, replay_cannot_displace_a_verified_address)
{
    struct peer_addrs p;
    struct sockaddr_storage real = v4(0x0a310001, 47470), replay = v4(0x0a310009, 47470);
    struct peer_addrs *v[1] = {&p};
    struct peer_addrs_dial plan[PEER_ADDRS_DIALS_MAX];
    uint64_t now = 1000;
    int r;

    peer_addrs_init(&p, AUTHOR, now, now);
    r = peer_addrs_heard(&p, SA(real), now);
    cr_assert_eq(r, 0);
    peer_addrs_dial_start(&p, 0);
    peer_addrs_dial_done(&p, 0, PEER_ADDRS_PROVED, NULL, now + 10, 0);
    cr_assert(p.a[0].verified);
    /* the replayer sends the member's beacon far more often than the member, and from
     * thousands of forged source addresses too */
    for (int i = 0; i < 5000; i++) {
        struct sockaddr_storage forged = v4(0xc0000200 + (uint32_t)i, 47470);
        now += 3;
        peer_addrs_heard(&p, SA(replay), now);
        cr_assert(peer_addrs_heard(&p, SA(forged), now) != 0, "a forged address took slot 0");
        if (i % 7 == 0) { /* and the dials to the replayer fail */
            int k = peer_addrs_find(&p, SA(replay));
            if (k >= 0 && !p.a[k].dialing) {
                peer_addrs_dial_start(&p, (unsigned)k);
                peer_addrs_dial_done(&p, (unsigned)k, PEER_ADDRS_FAILED, "the peer hung up", now,
                                     0);
            }
        }
    }
    now += 2000; /* the member itself beacons now and then */
    peer_addrs_heard(&p, SA(real), now);
    cr_assert_eq(peer_addrs_find(&p, SA(real)), 0);
    cr_assert(p.a[0].verified);
    cr_assert_eq(peer_addrs_best(&p), 0, "the verified address is not shown first");
    cr_assert_leq(p.n, PEER_ADDRS_PER_AUTHOR);
    /* disconnected now: the verified address is the one dial, the claims wait */
    for (unsigned i = 0; i < p.n; i++)
        p.a[i].next_try = 0;
    cr_assert_eq(peer_addrs_plan(v, 1, now, 0, plan, PEER_ADDRS_DIALS_MAX), 1);
    cr_assert_eq(plan[0].entry, 0);
    cr_assert_eq(plan[0].slot, 0, "a replayed address is dialed before the verified one");
    peer_addrs_dial_start(&p, 0);
    cr_assert_eq(peer_addrs_plan(v, 1, now, 1, plan, PEER_ADDRS_DIALS_MAX), 0,
                 "a second dial while the verified address is being dialed");
    /* it fails (the member moved): now every due address is tried, the verified one too */
    peer_addrs_dial_done(&p, 0, PEER_ADDRS_FAILED, "no route to host", now, 0);
    p.a[0].next_try = now;
    cr_assert_eq(peer_addrs_plan(v, 1, now, 0, plan, PEER_ADDRS_DIALS_MAX), p.n);
    cr_assert_eq(plan[0].slot, 0);
}

/* Before anything is verified: the failed address goes last, and its backoff is its own. */
Test(peer_addrs, a_failed_address_goes_last_and_backs_off_alone)
{
    struct peer_addrs p;
    struct sockaddr_storage real = v4(0x0a310001, 47470), replay = v4(0x0a310009, 47470);
    struct peer_addrs *v[1] = {&p};
    struct peer_addrs_dial plan[PEER_ADDRS_DIALS_MAX];
    uint64_t now = 50;
    int ir, ip;
    size_t k;

    peer_addrs_init(&p, AUTHOR, now, now);
    ir = peer_addrs_heard(&p, SA(replay), now); /* the replay arrives first, and more often */
    ip = peer_addrs_heard(&p, SA(real), now);
    for (int i = 0; i < 20; i++)
        peer_addrs_heard(&p, SA(replay), now);
    k = peer_addrs_plan(v, 1, now, 0, plan, PEER_ADDRS_DIALS_MAX);
    cr_assert_eq(k, 2, "both addresses are dialed, each on its own");
    /* the replay fails ten times; the real one is never pushed back */
    for (int i = 0; i < 10; i++) {
        peer_addrs_dial_start(&p, (unsigned)ir);
        peer_addrs_dial_done(&p, (unsigned)ir, PEER_ADDRS_FAILED, "connection refused", now,
                             (uint32_t)i * 7919u);
        now = p.a[ir].next_try;
    }
    cr_assert_eq(p.a[ir].fails, 10);
    cr_assert_eq(p.a[ir].backoff, PEER_ADDRS_BACKOFF_MAX_MS);
    cr_assert_str_eq(p.a[ir].reason, "connection refused");
    cr_assert_leq(p.a[ip].next_try, 50, "the real address was pushed back by the replay");
    /* both due: the real one first */
    k = peer_addrs_plan(v, 1, now, 0, plan, PEER_ADDRS_DIALS_MAX);
    cr_assert_eq(k, 2);
    cr_assert_eq(plan[0].slot, (unsigned)ip);
    cr_assert_eq(plan[1].slot, (unsigned)ir);
    /* backoff after a failure: 3/4 to 5/4 of the wait, doubling to the maximum */
    {
        struct peer_addrs q;
        uint64_t t = 0;
        uint32_t wait = PEER_ADDRS_BACKOFF_MIN_MS;
        peer_addrs_init(&q, AUTHOR, 0, 0);
        peer_addrs_heard(&q, SA(replay), 0);
        for (int i = 0; i < 12; i++) {
            peer_addrs_dial_start(&q, 0);
            peer_addrs_dial_done(&q, 0, PEER_ADDRS_FAILED, "x", t, UINT32_MAX - (uint32_t)i);
            cr_assert_geq(q.a[0].next_try, t + wait * 3 / 4);
            cr_assert_leq(q.a[0].next_try, t + wait * 5 / 4);
            t = q.a[0].next_try;
            wait = wait * 2 > PEER_ADDRS_BACKOFF_MAX_MS ? PEER_ADDRS_BACKOFF_MAX_MS : wait * 2;
        }
        /* a handshake resets it, and the address stays verified through later failures */
        peer_addrs_dial_start(&q, 0);
        peer_addrs_dial_done(&q, 0, PEER_ADDRS_PROVED, NULL, t, 0);
        cr_assert_eq(q.a[0].backoff, PEER_ADDRS_BACKOFF_MIN_MS);
        cr_assert_eq(q.a[0].fails, 0);
        cr_assert_eq(q.a[0].fails_total, 12);
        peer_addrs_dial_start(&q, 0);
        peer_addrs_dial_done(&q, 0, PEER_ADDRS_FAILED, "gone", t, 0);
        cr_assert(q.a[0].verified);
    }
}

/* A full list: a new claim replaces the unverified address that failed most, never a
 * verified one nor one being dialed; with no such slot it is dropped. */
Test(peer_addrs, full_list_replaces_the_worst_claim_only)
{
    struct peer_addrs p;
    struct sockaddr_storage a[6];
    for (int i = 0; i < 6; i++)
        a[i] = v4(0x0a000001 + (uint32_t)i, 47470);
    peer_addrs_init(&p, AUTHOR, 0, 0);
    for (int i = 0; i < PEER_ADDRS_PER_AUTHOR; i++)
        cr_assert_eq(peer_addrs_heard(&p, SA(a[i]), 10), i);
    cr_assert_eq(peer_addrs_heard(&p, SA(a[2]), 11), 2, "a known address is not added twice");
    cr_assert_eq(p.a[2].hits, 2);
    peer_addrs_dial_start(&p, 0);
    peer_addrs_dial_done(&p, 0, PEER_ADDRS_PROVED, NULL, 20, 0);
    peer_addrs_dial_start(&p, 1);
    peer_addrs_dial_done(&p, 1, PEER_ADDRS_FAILED, "refused", 20, 0);
    peer_addrs_dial_start(&p, 1);
    peer_addrs_dial_done(&p, 1, PEER_ADDRS_FAILED, "refused", 1000, 0);
    peer_addrs_dial_start(&p, 3);
    peer_addrs_dial_done(&p, 3, PEER_ADDRS_FAILED, "refused", 20, 0);
    /* slot 1 failed most: replaced */
    cr_assert_eq(peer_addrs_heard(&p, SA(a[4]), 30), 1);
    cr_assert_eq(p.a[1].fails, 0);
    cr_assert_eq(peer_addrs_find(&p, SA(a[1])), -1);
    /* then slot 3 (one failure) before slot 2 (none) and the new slot 1 (none) */
    cr_assert_eq(peer_addrs_heard(&p, SA(a[5]), 31), 3);
    /* all verified or dialing: dropped */
    peer_addrs_dial_start(&p, 1);
    peer_addrs_dial_done(&p, 1, PEER_ADDRS_PROVED, NULL, 40, 0);
    peer_addrs_dial_start(&p, 2);
    peer_addrs_dial_start(&p, 3);
    cr_assert_eq(peer_addrs_heard(&p, SA(a[1]), 50), -1);
    cr_assert_eq(p.a[0].verified + p.a[1].verified, 2);
    /* other families are refused */
    {
        struct sockaddr_storage un;
        memset(&un, 0, sizeof un);
        un.ss_family = AF_UNIX;
        cr_assert_eq(peer_addrs_heard(&p, SA(un), 60), -1);
    }
}

/* A connection the author made to us verifies its host's addresses (any port, an
 * IPv4-mapped source included), and nothing else. */
Test(peer_addrs, an_inbound_connection_verifies_its_host)
{
    struct peer_addrs p;
    struct sockaddr_storage real = v4(0x0a310002, 47470), replay = v4(0x0a310009, 47470);
    struct sockaddr_storage from = v4(0x0a310002, 51234), mapped;
    struct sockaddr_in6 *m = (struct sockaddr_in6 *)&mapped;
    peer_addrs_init(&p, AUTHOR, 0, 0);
    peer_addrs_heard(&p, SA(replay), 1);
    for (int i = 0; i < 9; i++)
        peer_addrs_heard(&p, SA(replay), 2);
    peer_addrs_heard(&p, SA(real), 3);
    cr_assert_eq(peer_addrs_best(&p), 0, "heard most, before any proof");
    cr_assert_eq(peer_addrs_proved_host(&p, SA(from)), 1);
    cr_assert(p.a[1].verified);
    cr_assert(!p.a[0].verified);
    cr_assert_eq(peer_addrs_best(&p), 1, "the proved host is not shown first");
    cr_assert_eq(peer_addrs_proved_host(&p, SA(from)), 0, "verified twice");
    memset(&mapped, 0, sizeof mapped);
    m->sin6_family = AF_INET6;
    m->sin6_port = htons(40000);
    inet_pton(AF_INET6, "::ffff:10.49.0.9", &m->sin6_addr);
    peer_addrs_init(&p, AUTHOR, 0, 0);
    peer_addrs_heard(&p, SA(real), 1);
    peer_addrs_heard(&p, SA(replay), 1);
    cr_assert_eq(peer_addrs_proved_host(&p, SA(mapped)), 1);
    cr_assert(p.a[1].verified && !p.a[0].verified);
}

/* At the cap, the least recently heard goes: first those with no verified address, never
 * a connected one or one being dialed. */
Test(peer_addrs, lru_eviction_at_the_cap)
{
    static struct peer_addrs e[PEER_ADDRS_TARGETS_MAX];
    struct peer_addrs *v[PEER_ADDRS_TARGETS_MAX];
    size_t n = PEER_ADDRS_TARGETS_MAX, got;
    for (size_t i = 0; i < n; i++) {
        uint8_t au[AM_PK_LEN] = {(uint8_t)i, (uint8_t)(i >> 8)};
        struct sockaddr_storage s = v4(0x0a000000 + (uint32_t)i, 47470);
        peer_addrs_init(&e[i], au, 1000 + i, 0);
        peer_addrs_heard(&e[i], SA(s), 1000 + i);
        v[i] = &e[i];
    }
    cr_assert_eq(peer_addrs_victim(v, n), 0, "not the least recently heard");
    e[0].connected = 1;
    cr_assert_eq(peer_addrs_victim(v, n), 1, "a connected author was evicted");
    peer_addrs_dial_start(&e[1], 0);
    cr_assert_eq(peer_addrs_victim(v, n), 2, "an author being dialed was evicted");
    /* 2 and 3 proved their address: the unverified 4 goes first though heard later */
    peer_addrs_dial_start(&e[2], 0);
    peer_addrs_dial_done(&e[2], 0, PEER_ADDRS_PROVED, NULL, 2000, 0);
    peer_addrs_dial_start(&e[3], 0);
    peer_addrs_dial_done(&e[3], 0, PEER_ADDRS_PROVED, NULL, 2000, 0);
    cr_assert_eq(peer_addrs_victim(v, n), 4);
    /* hearing one again moves it to the back */
    peer_addrs_heard(&e[4], SA(e[4].a[0].sa), 9999);
    cr_assert_eq(peer_addrs_victim(v, n), 5);
    /* only verified ones left: the least recently heard of them */
    for (size_t i = 4; i < n; i++)
        e[i].connected = 1;
    cr_assert_eq(peer_addrs_victim(v, n), 2);
    /* nothing may go */
    e[2].connected = e[3].connected = 1;
    got = peer_addrs_victim(v, n);
    cr_assert_eq(got, n);
}

/* Addresses and authors not heard from for PEER_ADDRS_EXPIRE_MS go, unless connected or
 * being dialed. */
Test(peer_addrs, expiry)
{
    struct peer_addrs p;
    struct sockaddr_storage a = v4(0x0a000001, 1), b = v4(0x0a000002, 1);
    uint64_t t0 = 100000;
    peer_addrs_init(&p, AUTHOR, t0, t0);
    peer_addrs_heard(&p, SA(a), t0);
    peer_addrs_heard(&p, SA(b), t0 + 60000);
    peer_addrs_dial_start(&p, 0);
    peer_addrs_dial_done(&p, 0, PEER_ADDRS_PROVED, NULL, t0, 0);
    cr_assert_eq(peer_addrs_expire(&p, t0 + PEER_ADDRS_EXPIRE_MS - 1), 0);
    cr_assert_eq(p.n, 2);
    /* a is stale (even verified: the member left that address); b is not */
    cr_assert_eq(peer_addrs_expire(&p, t0 + PEER_ADDRS_EXPIRE_MS), 0);
    cr_assert_eq(p.n, 1);
    cr_assert_eq(peer_addrs_find(&p, SA(b)), 0);
    /* b being dialed is kept past its time, and so is the author */
    peer_addrs_dial_start(&p, 0);
    cr_assert_eq(peer_addrs_expire(&p, t0 + 60000 + PEER_ADDRS_EXPIRE_MS + 5), 0);
    cr_assert_eq(p.n, 1);
    peer_addrs_dial_done(&p, 0, PEER_ADDRS_FAILED, "no answer in time", t0, 0);
    /* connected: kept (the list empties, the author stays) */
    p.connected = 1;
    cr_assert_eq(peer_addrs_expire(&p, t0 + 60000 + PEER_ADDRS_EXPIRE_MS + 5), 0);
    cr_assert_eq(p.n, 0);
    p.connected = 0;
    cr_assert_eq(peer_addrs_expire(&p, t0 + 60000 + PEER_ADDRS_EXPIRE_MS + 5), 1);
    /* heard again in time: kept */
    peer_addrs_init(&p, AUTHOR, t0, t0);
    peer_addrs_heard(&p, SA(a), t0 + PEER_ADDRS_EXPIRE_MS - 1);
    cr_assert_eq(peer_addrs_expire(&p, t0 + PEER_ADDRS_EXPIRE_MS), 0);
}

/* Never more than PEER_ADDRS_DIALS_MAX dials in flight; never a connected author, one
 * before its not_before, an address being dialed, or one not due. */
Test(peer_addrs, dials_in_flight_cap)
{
    static struct peer_addrs e[300];
    struct peer_addrs *v[300];
    struct peer_addrs_dial plan[64];
    size_t k;
    for (size_t i = 0; i < 300; i++) {
        uint8_t au[AM_PK_LEN] = {(uint8_t)i, (uint8_t)(i >> 8)};
        struct sockaddr_storage s = v4(0x0a000000 + (uint32_t)i, 47470);
        peer_addrs_init(&e[i], au, 10, 0);
        peer_addrs_heard(&e[i], SA(s), 10);
        v[i] = &e[i];
    }
    k = peer_addrs_plan(v, 300, 10, 0, plan, 64);
    cr_assert_eq(k, PEER_ADDRS_DIALS_MAX);
    cr_assert_eq(peer_addrs_plan(v, 300, 10, 10, plan, 64), PEER_ADDRS_DIALS_MAX - 10);
    cr_assert_eq(peer_addrs_plan(v, 300, 10, PEER_ADDRS_DIALS_MAX, plan, 64), 0);
    cr_assert_eq(peer_addrs_plan(v, 300, 10, 1000, plan, 64), 0);
    cr_assert_eq(peer_addrs_plan(v, 300, 10, 0, plan, 3), 3);
    /* start the first plan's dials: the next plan has room for none */
    k = peer_addrs_plan(v, 300, 10, 0, plan, 64);
    for (size_t i = 0; i < k; i++)
        peer_addrs_dial_start(v[plan[i].entry], plan[i].slot);
    /* the real member, heard often: first among the unverified that never failed */
    for (int i = 0; i < 50; i++)
        peer_addrs_heard(&e[299], SA(e[299].a[0].sa), 10);
    k = peer_addrs_plan(v, 300, 10, PEER_ADDRS_DIALS_MAX - 1, plan, 64);
    cr_assert_eq(k, 1);
    cr_assert_eq(plan[0].entry, 299);
    /* connected, not yet allowed, not due: skipped */
    e[299].connected = 1;
    e[298].not_before = 11;
    peer_addrs_dial_start(&e[297], 0);
    peer_addrs_dial_done(&e[297], 0, PEER_ADDRS_FAILED, "x", 10, 0);
    for (size_t i = 0; i < 300; i++)
        if (e[i].a[0].dialing)
            peer_addrs_dial_done(&e[i], 0, PEER_ADDRS_FAILED, "x", 10, 0);
    for (int round = 0; round < 40; round++) {
        k = peer_addrs_plan(v, 300, 10, 0, plan, 64);
        for (size_t i = 0; i < k; i++) {
            cr_assert_neq(plan[i].entry, 299);
            cr_assert_neq(plan[i].entry, 298);
            cr_assert_neq(plan[i].entry, 297);
            cr_assert_eq(v[plan[i].entry]->a[plan[i].slot].dialing, 0);
            peer_addrs_dial_start(v[plan[i].entry], plan[i].slot);
        }
        for (size_t i = 0; i < k; i++)
            peer_addrs_dial_done(v[plan[i].entry], plan[i].slot, PEER_ADDRS_FAILED, "x", 10, 0);
    }
}

/* Seeded random sequences: beacons from each member's real address, from a replayer and
 * from forged addresses; dials that prove the real address and fail elsewhere, some left
 * in flight for a while. Invariants: at most PEER_ADDRS_PER_AUTHOR addresses, none twice,
 * a verified address is only ever dropped by expiry and stays the one shown first, plans
 * never go past the cap of dials in flight nor dial an address twice at once. */
Test(peer_addrs, random_sequences_keep_the_invariants)
{
    uint64_t seed = tu_seed("peer_addrs.random_sequences"), st = seed;
    for (int run = 0; run < 200; run++) {
        static struct peer_addrs e[8];
        struct peer_addrs *v[8];
        struct peer_addrs_dial plan[PEER_ADDRS_DIALS_MAX], flying[PEER_ADDRS_DIALS_MAX];
        struct sockaddr_storage real[8];
        int verified[8] = {0};
        uint64_t now = 1 + tu_rand(&st) % 100000;
        size_t n_flying = 0;
        for (int i = 0; i < 8; i++) {
            uint8_t au[AM_PK_LEN] = {(uint8_t)i};
            real[i] = v4(0x0a000100 + (uint32_t)i, 47470);
            peer_addrs_init(&e[i], au, now, now + tu_rand(&st) % 3000);
            v[i] = &e[i];
        }
        for (int step = 0; step < 400; step++) {
            int i = (int)(tu_rand(&st) % 8);
            uint64_t r = tu_rand(&st);
            size_t k;
            now += r % 700;
            if (r % 3 == 0) {
                peer_addrs_heard(&e[i], SA(real[i]), now);
            } else { /* a replay from one of a few addresses, or a forged one */
                uint32_t host = r % 5 == 0 ? 0xc0000000u + (uint32_t)(r >> 40)
                                           : 0x0a000900u + (uint32_t)(r % 3);
                struct sockaddr_storage s = v4(host, 47470);
                peer_addrs_heard(&e[i], SA(s), now);
            }
            /* the dials in flight end, now or later */
            for (size_t j = 0; j < n_flying;) {
                if (tu_rand(&st) % 2 == 0) {
                    j++;
                    continue;
                }
                {
                    struct peer_addrs *p = v[flying[j].entry];
                    int ok =
                        peer_addrs_same(SA(p->a[flying[j].slot].sa), SA(real[flying[j].entry]));
                    cr_assert(p->a[flying[j].slot].dialing, "seed %llu", (unsigned long long)seed);
                    peer_addrs_dial_done(p, flying[j].slot,
                                         ok ? PEER_ADDRS_PROVED : PEER_ADDRS_FAILED, "refused", now,
                                         (uint32_t)tu_rand(&st));
                    verified[flying[j].entry] |= ok;
                    flying[j] = flying[--n_flying];
                }
            }
            k = peer_addrs_plan(v, 8, now, n_flying, plan, PEER_ADDRS_DIALS_MAX);
            cr_assert_leq(k + n_flying, PEER_ADDRS_DIALS_MAX, "seed %llu",
                          (unsigned long long)seed);
            for (int a = 0; a < 8; a++) { /* a working verified address: one dial, to it */
                int work = 0;
                unsigned dials = 0, before = peer_addrs_dialing(&e[a]);
                for (unsigned x = 0; x < e[a].n; x++)
                    work |= e[a].a[x].verified && e[a].a[x].fails == 0;
                for (size_t j = 0; j < k; j++)
                    if (plan[j].entry == (size_t)a) {
                        dials++;
                        if (work)
                            cr_assert(e[a].a[plan[j].slot].verified, "seed %llu",
                                      (unsigned long long)seed);
                    }
                if (work && dials > 0) /* the others may be in flight from before */
                    cr_assert(dials == 1 && before == 0, "seed %llu", (unsigned long long)seed);
            }
            for (size_t j = 0; j < k; j++) {
                struct peer_addrs *p = v[plan[j].entry];
                cr_assert_eq(p->a[plan[j].slot].dialing, 0, "seed %llu", (unsigned long long)seed);
                cr_assert_leq(p->a[plan[j].slot].next_try, now);
                cr_assert_geq(now, p->not_before);
                peer_addrs_dial_start(p, plan[j].slot);
                flying[n_flying++] = plan[j];
            }
            if (r % 11 == 0)
                for (int a = 0; a < 8; a++) {
                    if (peer_addrs_expire(&e[a], now)) {
                        uint8_t au[AM_PK_LEN];
                        memcpy(au, e[a].author, AM_PK_LEN);
                        peer_addrs_init(&e[a], au, now, now);
                    }
                    if (peer_addrs_find(&e[a], SA(real[a])) < 0)
                        verified[a] = 0; /* expired: it starts again unverified */
                }
            for (int a = 0; a < 8; a++) {
                int ri = peer_addrs_find(&e[a], SA(real[a]));
                cr_assert_leq(e[a].n, PEER_ADDRS_PER_AUTHOR);
                for (unsigned x = 0; x < e[a].n; x++)
                    for (unsigned y = x + 1; y < e[a].n; y++)
                        cr_assert(!peer_addrs_same(SA(e[a].a[x].sa), SA(e[a].a[y].sa)),
                                  "seed %llu: an address twice", (unsigned long long)seed);
                if (verified[a]) {
                    cr_assert(ri >= 0 && e[a].a[ri].verified,
                              "seed %llu: the verified address of author %d was displaced",
                              (unsigned long long)seed, a);
                    cr_assert_eq(peer_addrs_best(&e[a]), ri, "seed %llu", (unsigned long long)seed);
                }
            }
        }
    }
}
