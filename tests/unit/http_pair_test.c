/* http_pair_test.c: the guard against guessed pairing codes (node/http_pair.c) and the
 * pairing page: an address that types HTTP_PAIR_FAILS_PER_ADDR wrong codes waits
 * HTTP_PAIR_LOCK_S, others do not until HTTP_PAIR_FAILS_ALL wrong codes from anyone; the
 * locks end; a good code starts an address's count again; stale counts start again; many
 * addresses do not push a locked one out; the page escapes its sentence. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "http_pair.h"

static void addr(uint8_t key[16], unsigned n)
{
    memset(key, 0, 16);
    key[0] = 10;
    key[2] = (uint8_t)(n >> 8);
    key[3] = (uint8_t)n;
    key[15] = 4;
}

#define T0   1000000ULL
#define LOCK ((uint64_t)HTTP_PAIR_LOCK_S * 1000)

Test(http_pair, an_address_is_locked_after_its_fifth_wrong_code)
{
    struct http_pair_guard g;
    uint8_t a[16], b[16];
    memset(&g, 0, sizeof g);
    addr(a, 1);
    addr(b, 2);
    for (int i = 0; i < HTTP_PAIR_FAILS_PER_ADDR - 1; i++) {
        cr_assert_eq(http_pair_wait(&g, a, T0 + (uint64_t)i), 0);
        http_pair_failed(&g, a, T0 + (uint64_t)i);
    }
    cr_assert_eq(http_pair_wait(&g, a, T0 + 10), 0, "four wrong codes: still free");
    http_pair_failed(&g, a, T0 + 10);
    cr_assert_eq(http_pair_wait(&g, a, T0 + 10), HTTP_PAIR_LOCK_S);
    cr_assert_eq(http_pair_wait(&g, b, T0 + 10), 0, "another address is not locked");
    cr_assert_eq(http_pair_wait(&g, a, T0 + 10 + LOCK - 1000), 1);
    cr_assert_eq(http_pair_wait(&g, a, T0 + 10 + LOCK), 0, "the lock ends");
}

Test(http_pair, everyone_waits_after_the_global_bound)
{
    struct http_pair_guard g;
    uint8_t a[16], fresh[16];
    unsigned n = 0;
    memset(&g, 0, sizeof g);
    /* wrong codes spread over many addresses, each below its own bound */
    for (int i = 0; i < HTTP_PAIR_FAILS_ALL; i++) {
        addr(a, 100 + n);
        http_pair_failed(&g, a, T0 + (uint64_t)i);
        if (i % (HTTP_PAIR_FAILS_PER_ADDR - 1) == HTTP_PAIR_FAILS_PER_ADDR - 2)
            n++;
    }
    addr(fresh, 999);
    cr_assert_gt(http_pair_wait(&g, fresh, T0 + HTTP_PAIR_FAILS_ALL), 0,
                 "an address never seen waits too");
    cr_assert_eq(http_pair_wait(&g, fresh, T0 + HTTP_PAIR_FAILS_ALL + LOCK), 0);
}

Test(http_pair, a_good_code_and_time_start_the_count_again)
{
    struct http_pair_guard g;
    uint8_t a[16];
    memset(&g, 0, sizeof g);
    addr(a, 7);
    for (int i = 0; i < HTTP_PAIR_FAILS_PER_ADDR - 1; i++)
        http_pair_failed(&g, a, T0);
    http_pair_succeeded(&g, a);
    http_pair_failed(&g, a, T0 + 1);
    cr_assert_eq(http_pair_wait(&g, a, T0 + 1), 0, "the count started again");
    for (int i = 0; i < HTTP_PAIR_FAILS_PER_ADDR - 2; i++)
        http_pair_failed(&g, a, T0 + 2);
    /* the fifth, long after the first: a stale count starts again */
    http_pair_failed(&g, a, T0 + 1 + LOCK);
    cr_assert_eq(http_pair_wait(&g, a, T0 + 1 + LOCK), 0);
}

Test(http_pair, many_addresses_do_not_free_a_locked_one)
{
    struct http_pair_guard g;
    uint8_t a[16], o[16];
    memset(&g, 0, sizeof g);
    addr(a, 5000);
    for (int i = 0; i < HTTP_PAIR_FAILS_PER_ADDR; i++)
        http_pair_failed(&g, a, T0);
    cr_assert_gt(http_pair_wait(&g, a, T0), 0);
    /* one wrong code each from more addresses than the guard remembers (below the global
     * bound: spread over time so that it never trips) */
    for (unsigned i = 0; i < 2 * HTTP_PAIR_ADDRS; i++) {
        addr(o, i);
        memset(&g.all_fails, 0, sizeof g.all_fails);
        http_pair_failed(&g, o, T0 + 1 + i);
    }
    cr_assert_gt(http_pair_wait(&g, a, T0 + 1000), 0, "still locked");
}

Test(http_pair, the_page_escapes_its_sentence)
{
    size_t len;
    char *p = http_pair_page("<b>\"x\" & 'y'</b>", &len);
    cr_assert(p);
    cr_assert_eq(strlen(p), len);
    cr_assert(strstr(p, "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"));
    cr_assert_null(strstr(p, "<b>"));
    cr_assert(strstr(p, "action=\"/pair\""));
    free(p);
    p = http_pair_page(NULL, &len);
    cr_assert(p);
    cr_assert_null(strstr(p, "class=\"msg\""));
    free(p);
}
