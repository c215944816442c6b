/*
 * peer_addrs.h: the daemon's bookkeeping of peers found by discovery (PROTOCOL.md §9.5):
 * for each author id a beacon claimed, the few addresses it was heard from, which of them
 * completed a handshake, when each may be dialed next; over all of them, which one to
 * forget when the table is full, which ones expired, and which addresses to dial now
 * within the cap of dials in flight.
 *
 * Why: a beacon's source address and author id are claims. A keyless outsider can replay a
 * member's beacons from its own (or a forged) address, and a key holder can forge beacons
 * for any number of author ids. So an author keeps several addresses, an address that
 * completed a handshake is never displaced by one that did not, each address backs off on
 * its own (a replayed address that fails never delays the real one), the table and the
 * dials in flight are capped, and authors not heard from expire.
 *
 * Pure: no sockets, no clock, no randomness (times and random numbers come in as
 * arguments), no allocation, no globals; never prints. Times are the caller's monotonic
 * milliseconds. Must never: displace a verified address with an unverified one, plan more
 * than PEER_ADDRS_DIALS_MAX dials in flight, plan a dial to a connected author or to an
 * address already being dialed, or pick a victim that is connected or being dialed.
 */
#ifndef AM_PEER_ADDRS_H
#define AM_PEER_ADDRS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "am_limits.h"

/* What forged beacons can make a node keep: limits of am_limits.h (PROTOCOL.md §2). */
#define PEER_ADDRS_PER_AUTHOR  AM_DISC_ADDRS_PER_AUTHOR
#define PEER_ADDRS_TARGETS_MAX AM_DISC_AUTHORS_MAX
/* What they can make it do: tunables (PROTOCOL.md §9.5), each with its reason. */
#define PEER_ADDRS_DIALS_MAX                                                                       \
    16 /* dials to discovered addresses in flight at once: forged                                  \
          beacons cannot make a node open more */
#define PEER_ADDRS_EXPIRE_MS                                                                       \
    (5u * 60u * 1000u)                  /* an address, or an author not connected,                 \
                                            not heard from this long is forgotten:                 \
                                            150 beacon intervals (a node that left),               \
                                            5 dials at the longest backoff */
#define PEER_ADDRS_BACKOFF_MIN_MS 1000  /* first wait after a failed dial, per address */
#define PEER_ADDRS_BACKOFF_MAX_MS 60000 /* the wait doubles up to this (jitter +-25%) */
#define PEER_ADDRS_DIAL_TIMEOUT_MS                                                                 \
    5000 /* a TCP connect to a discovered (same link)                                              \
            address that has not completed by then fails */
#define PEER_ADDRS_REASON_MAX 64

/* One address an author was heard from. */
struct peer_addrs_slot {
    struct sockaddr_storage sa;         /* with the announced TCP port: ready to dial */
    uint64_t last_heard;                /* the last beacon from it */
    uint64_t next_try;                  /* not dialed before this */
    uint64_t last_fail;                 /* when a dial to it last failed; 0: never */
    uint32_t backoff;                   /* the wait after its next failure */
    uint32_t fails;                     /* failed dials since it last completed a handshake */
    uint32_t fails_total;               /* failed dials while kept (for `doctor`) */
    uint32_t hits;                      /* beacons heard from it (saturates) */
    uint8_t verified;                   /* a handshake here proved the author: kept first */
    uint8_t dialing;                    /* a dial to it is in flight */
    char reason[PEER_ADDRS_REASON_MAX]; /* why the last failure; "" when none */
};

/* One author a beacon claimed (caller-allocated; initialised by peer_addrs_init). */
struct peer_addrs {
    uint8_t author[AM_PK_LEN];
    uint64_t heard;      /* the last beacon for it, from any address */
    uint64_t not_before; /* no dial before this (set by the caller at init) */
    uint8_t connected;   /* set by the caller: a handshaken connection with this author
                            exists (it is never dialed, expired or evicted then) */
    uint8_t n;           /* slots used, at most PEER_ADDRS_PER_AUTHOR */
    struct peer_addrs_slot a[PEER_ADDRS_PER_AUTHOR];
};

/* Outcomes for peer_addrs_dial_done(). */
enum {
    PEER_ADDRS_PROVED = 1, /* the handshake proved the author at this address */
    PEER_ADDRS_FAILED,     /* no handshake: refused, timed out, hung up, bad MAC, or it
                              proved another author */
};

/* One dial peer_addrs_plan() asks for: address `slot` of entry `entry`. */
struct peer_addrs_dial {
    size_t entry;
    unsigned slot;
};

/* Sets up *p for `author` (read during the call), heard at `now`, not dialed before
 * `not_before`, with no address yet. */
void peer_addrs_init(struct peer_addrs *p, const uint8_t author[static AM_PK_LEN], uint64_t now,
                     uint64_t not_before);

/* Equal addresses: same family, address, port (and IPv6 scope). */
int peer_addrs_same(const struct sockaddr *a, const struct sockaddr *b);

/* The slot holding sa, or -1. */
int peer_addrs_find(const struct peer_addrs *p, const struct sockaddr *sa);

/*
 * A beacon for p's author arrived from sa (AF_INET or AF_INET6, read during the call) at
 * `now`. A known address is refreshed; a new one takes a free slot, else replaces the
 * unverified address not being dialed that failed most (then: heard least, then longest
 * ago). Returns the slot sa is in, or -1 when it was dropped (every slot holds a verified
 * address or one being dialed; or sa is of another family).
 */
int peer_addrs_heard(struct peer_addrs *p, const struct sockaddr *sa, uint64_t now);

/* A connection that came from sa (inbound: from a port of its own) proved p's author:
 * every slot of that host (any port; an IPv4-mapped IPv6 address is its IPv4 address) is
 * verified. Returns how many slots that made verified. */
unsigned peer_addrs_proved_host(struct peer_addrs *p, const struct sockaddr *sa);

/* A dial to slot i starts (the caller calls this for each dial it makes). */
void peer_addrs_dial_start(struct peer_addrs *p, unsigned i);

/*
 * The dial to slot i ended with `outcome` at `now`. FAILED: the slot waits its backoff
 * (times 3/4 plus rnd modulo half of it: +-25%) and the backoff doubles up to
 * PEER_ADDRS_BACKOFF_MAX_MS; `reason` (may be NULL; copied, cut) is kept. PROVED: the slot
 * is verified, its failures in a row reset, and it is due again at once (it is not dialed
 * while the author is connected). A verified slot stays verified whatever happens.
 */
void peer_addrs_dial_done(struct peer_addrs *p, unsigned i, int outcome, const char *reason,
                          uint64_t now, uint32_t rnd);

/* Drops the slots not heard from for PEER_ADDRS_EXPIRE_MS (never one being dialed).
 * Returns 1 when all of p may go: not heard for that long, not connected, nothing being
 * dialed; else 0. */
int peer_addrs_expire(struct peer_addrs *p, uint64_t now);

/* Slots being dialed. */
unsigned peer_addrs_dialing(const struct peer_addrs *p);

/* The slot to show first: verified, else heard most; -1 when p has no address. */
int peer_addrs_best(const struct peer_addrs *p);

/*
 * Which of the n entries v[0..n-1] to forget to make room for a new one (LRU): among
 * those neither connected nor being dialed, the least recently heard of those without a
 * verified address, else the least recently heard. Returns its index, or n when none may
 * go (then the new author is not kept).
 */
size_t peer_addrs_victim(struct peer_addrs *const *v, size_t n);

/*
 * The dials to make now among the n entries v[0..n-1], best first, into out[0..cap-1]:
 * addresses of entries not connected and past their not_before, due (next_try <= now) and
 * not being dialed; verified first, then those that failed least, then heard most, then
 * heard last. An entry with a verified address whose last dial did not fail gets one dial
 * at a time, to a verified address; any other entry gets a dial to each due address. At most
 * PEER_ADDRS_DIALS_MAX - in_flight (in_flight: the caller's dials in flight now). Returns how many
 * were written; the caller starts each (peer_addrs_dial_start).
 */
size_t peer_addrs_plan(struct peer_addrs *const *v, size_t n, uint64_t now, size_t in_flight,
                       struct peer_addrs_dial *out, size_t cap);

#endif
