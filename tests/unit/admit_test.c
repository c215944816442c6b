/* admit_test.c: the admission rule of incoming connections (node/admit.h). */
#include <criterion/criterion.h>

#include "admit.h"
#include "testutil.h"

static struct admit_state caps(uint64_t nofile)
{
    struct admit_state st = {0};
    admit_caps(nofile, 128, &st);
    return st;
}

Test(admit, caps_stay_below_the_descriptor_limit)
{
    struct admit_state st = caps(1024);
    cr_assert_eq(st.conn_max, 896);
    cr_assert_eq(st.unauth_max, 128);
    cr_assert_eq(st.unauth_soft, 32);
    st = caps(256);
    cr_assert_eq(st.conn_max, 128);
    cr_assert_eq(st.unauth_max, 64);
    cr_assert_eq(st.unauth_soft, 16);
    st = caps(1u << 20);
    cr_assert_eq(st.conn_max, 1024, "a ceiling whatever the limit");
    for (uint64_t n = 0; n < 2000; n += 7) {
        st = caps(n);
        cr_assert_geq(st.conn_max, 4);
        cr_assert(n < 132 || st.conn_max + 128 <= n, "nofile %llu", (unsigned long long)n);
        cr_assert_lt(st.unauth_soft, st.unauth_max);
        cr_assert_leq(st.unauth_max, st.conn_max);
    }
}

Test(admit, per_address_and_total_caps)
{
    struct admit_state st = caps(1024);
    st.conns = st.conn_max;
    cr_assert_eq(admit_decide(&st, 99), ADMIT_REFUSE_FULL);
    st.conns = 10;
    st.unauth = 9;
    st.src_unauth = ADMIT_UNAUTH_PER_SOURCE;
    cr_assert_eq(admit_decide(&st, 99), ADMIT_REFUSE_SOURCE);
    st.src_unauth = ADMIT_UNAUTH_PER_SOURCE - 1;
    cr_assert_eq(admit_decide(&st, 0), ADMIT_TAKE, "below the soft cap nothing is dropped");
}

Test(admit, an_address_with_none_waiting_always_gets_in)
{
    struct admit_state st = caps(1024);
    st.conns = 300;
    st.src_unauth = 0;
    for (unsigned u = 0; u <= st.unauth_max; u++) {
        st.unauth = u;
        for (uint32_t draw = 0; draw < 100; draw++) {
            enum admit_verdict v = admit_decide(&st, draw);
            cr_assert_eq(v, u >= st.unauth_max ? ADMIT_TAKE_EVICT : ADMIT_TAKE, "unauth %u", u);
        }
    }
}

Test(admit, random_early_drop_rises_from_30_to_100_percent)
{
    struct admit_state st = caps(1024);
    unsigned prev = 0;
    st.conns = 300;
    st.src_unauth = 1;
    for (unsigned u = st.unauth_soft; u <= st.unauth_max; u++) {
        unsigned dropped = 0;
        st.unauth = u;
        for (uint32_t draw = 0; draw < 100; draw++)
            dropped += admit_decide(&st, draw) == ADMIT_DROP_EARLY;
        if (u == st.unauth_soft)
            cr_assert_eq(dropped, ADMIT_DROP_START_PCT);
        if (u == st.unauth_max)
            cr_assert_eq(dropped, 100);
        cr_assert_geq(dropped, prev, "never less likely as the load grows");
        prev = dropped;
    }
    st.unauth = st.unauth_soft - 1;
    cr_assert_eq(admit_decide(&st, 0), ADMIT_TAKE);
}
