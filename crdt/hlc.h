/*
 * hlc.h: hybrid logical clock, 48-bit milliseconds since the Unix epoch + 16-bit counter,
 * packed into one uint64 (ms << 16 | counter) so stamps compare as integers.
 *
 * Policy for stamps from the future (PROTOCOL.md "Clocks"): an entry is never refused for
 * its stamp, whatever it says. But hlc_observe() ignores a stamp more than
 * AM_HLC_MAX_DRIFT_MS ahead of the local wall clock: a device whose clock says 2031
 * cannot drag every device it meets into 2031 (nor by any part of the way). Clocks only break ties
 * between concurrent writes (causal order is carried explicitly by ops), so a capped observation
 * costs nothing in correctness. Pure: the wall time is always passed in.
 */
#ifndef AM_HLC_H
#define AM_HLC_H

#include <stdint.h>

#include "am_limits.h" /* AM_HLC_MS_MAX, AM_HLC_MAX_DRIFT_MS */

static inline uint64_t hlc_pack(uint64_t ms, uint16_t counter)
{
    return (ms << 16) | counter;
}
static inline uint64_t hlc_ms(uint64_t stamp)
{
    return stamp >> 16;
}
static inline uint16_t hlc_counter(uint64_t stamp)
{
    return (uint16_t)(stamp & 0xffff);
}

/* The clock's state: the last stamp it issued or absorbed. Start it at 0 or at the last
 * stamp this device wrote, so a restarted node never goes backwards. */
struct hlc {
    uint64_t last;
};

/* Issues the stamp for a local event at wall time `wall_ms`: strictly greater than every
 * stamp issued or observed before. */
uint64_t hlc_tick(struct hlc *c, uint64_t wall_ms);

/* Absorbs a stamp seen on a received entry, unless it lies beyond wall_ms +
 * AM_HLC_MAX_DRIFT_MS. Returns 1 when the stamp was ignored for that reason, else 0. */
int hlc_observe(struct hlc *c, uint64_t stamp, uint64_t wall_ms);

#endif
