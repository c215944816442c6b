/* hlc.c: hybrid logical clock (see hlc.h for the policy on stamps from the future). */
#include "hlc.h"

#include "am_limits.h"

uint64_t hlc_tick(struct hlc *c, uint64_t wall_ms)
{
    uint64_t wall = hlc_pack(wall_ms > AM_HLC_MS_MAX ? AM_HLC_MS_MAX : wall_ms, 0);
    /* Wall time ahead of the last stamp: take it. Otherwise count on from the last stamp;
     * a full counter carries into the millisecond field, which only ever runs a little
     * ahead of wall time. */
    c->last = wall > c->last ? wall : c->last + 1;
    return c->last;
}

int hlc_observe(struct hlc *c, uint64_t stamp, uint64_t wall_ms)
{
    uint64_t bound_ms = wall_ms + AM_HLC_MAX_DRIFT_MS;

    if (bound_ms < AM_HLC_MS_MAX && stamp > hlc_pack(bound_ms, 0xffff))
        return 1;
    if (stamp > c->last)
        c->last = stamp;
    return 0;
}
