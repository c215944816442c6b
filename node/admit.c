/*
 * admit.c: the admission rule of incoming connections (see admit.h).
 */
#include "admit.h"

#define CONN_MAX_CEILING    1024 /* sync connections; a hub serves dozens */
#define UNAUTH_MAX_CEILING  128
#define UNAUTH_SOFT_CEILING 32

enum admit_verdict admit_decide(const struct admit_state *st, uint32_t draw)
{
    if (st->conns >= st->conn_max)
        return ADMIT_REFUSE_FULL;
    if (st->src_unauth >= ADMIT_UNAUTH_PER_SOURCE)
        return ADMIT_REFUSE_SOURCE;
    if (st->src_unauth == 0)
        return st->unauth >= st->unauth_max ? ADMIT_TAKE_EVICT : ADMIT_TAKE;
    if (st->unauth >= st->unauth_max)
        return ADMIT_DROP_EARLY;
    if (st->unauth >= st->unauth_soft) {
        unsigned span = st->unauth_max - st->unauth_soft;
        unsigned pct = ADMIT_DROP_START_PCT +
                       (100 - ADMIT_DROP_START_PCT) * (st->unauth - st->unauth_soft) / span;
        if (draw < pct)
            return ADMIT_DROP_EARLY;
    }
    return ADMIT_TAKE;
}

void admit_caps(uint64_t nofile, unsigned reserved, struct admit_state *st)
{
    uint64_t room = nofile > reserved ? nofile - reserved : 0;
    st->conn_max = room < CONN_MAX_CEILING ? (unsigned)room : CONN_MAX_CEILING;
    if (st->conn_max < 4)
        st->conn_max = 4; /* a tiny limit: still serve a few (EMFILE pauses the rest) */
    st->unauth_max = st->conn_max / 2 < UNAUTH_MAX_CEILING ? st->conn_max / 2 : UNAUTH_MAX_CEILING;
    st->unauth_soft =
        st->unauth_max / 4 < UNAUTH_SOFT_CEILING ? st->unauth_max / 4 : UNAUTH_SOFT_CEILING;
    if (st->unauth_soft >= st->unauth_max)
        st->unauth_soft = st->unauth_max - 1;
}

const char *admit_verdict_text(enum admit_verdict v)
{
    switch (v) {
    case ADMIT_TAKE:
    case ADMIT_TAKE_EVICT:
        return "taken";
    case ADMIT_REFUSE_FULL:
        return "at the connection cap";
    case ADMIT_REFUSE_SOURCE:
        return "over the per-address cap";
    case ADMIT_DROP_EARLY:
        return "dropped early under load";
    }
    return "?";
}
