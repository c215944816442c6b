/*
 * admit.h: whether the daemon takes an incoming connection, before it allocates anything
 * for it (PROTOCOL.md 8.5). Pure: no I/O, no clock; the random draw comes in as an
 * argument. Must never: let one address hold more than its share of connections that have
 * not authenticated, or let connections that never authenticate crowd out a member.
 *
 * The rule, as OpenSSH's MaxStartups (random early drop) and PerSourcePenalties do it:
 * - at most `conn_max` connections in all (kept below the file descriptor limit);
 * - at most ADMIT_UNAUTH_PER_SOURCE not yet authenticated from one address;
 * - past `unauth_soft` unauthenticated connections in all, a newcomer from an address
 *   that already has one waiting is dropped with a probability rising from
 *   ADMIT_DROP_START_PCT at the soft cap to 100% at `unauth_max`;
 * - an address with none waiting is always let in: at `unauth_max` it takes the place of
 *   the oldest unauthenticated connection of the address holding the most.
 */
#ifndef AM_ADMIT_H
#define AM_ADMIT_H

#include <stdint.h>

#define ADMIT_UNAUTH_PER_SOURCE 8
#define ADMIT_DROP_START_PCT    30

enum admit_verdict {
    ADMIT_TAKE = 0,          /* take it */
    ADMIT_TAKE_EVICT = 1,    /* take it, after closing the oldest unauthenticated
                                connection of the busiest address */
    ADMIT_REFUSE_FULL = 2,   /* at conn_max */
    ADMIT_REFUSE_SOURCE = 3, /* its address is at ADMIT_UNAUTH_PER_SOURCE */
    ADMIT_DROP_EARLY = 4,    /* random early drop */
};

struct admit_state {
    unsigned conns;      /* connections now, authenticated or not, both directions */
    unsigned unauth;     /* incoming connections not authenticated yet */
    unsigned src_unauth; /* of those, from the newcomer's address */
    unsigned conn_max, unauth_soft, unauth_max;
};

/* The verdict for one newcomer; `draw` is a uniform random number in [0, 100). */
enum admit_verdict admit_decide(const struct admit_state *st, uint32_t draw);

/* Caps for a process allowed `nofile` file descriptors, of which `reserved` are kept for
 * everything but sync connections (the store, the log, discovery, the dashboard). */
void admit_caps(uint64_t nofile, unsigned reserved, struct admit_state *st);

/* A short text for a verdict that refuses ("over the per-address cap", ...). */
const char *admit_verdict_text(enum admit_verdict v);

#endif
