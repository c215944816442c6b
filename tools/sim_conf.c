/*
 * sim_conf.c: the scenario file of aidmesh-sim (see sim.h and tools/sim/small.conf).
 *
 * One directive per line, words separated by blanks, `#` starts a comment. Scenario text
 * is untrusted: lines are at most SIM_LINE_MAX bytes and SIM_TOKENS_MAX words, every
 * number is range-checked against the SIM_* limits, and every error names the line and
 * the word. Node names: `hC` (hub of cluster C), `mC.I` (member I of cluster C), `rI`
 * (runner I); clusters are named by their hub. Durations: an integer and a unit (us, ms,
 * s, m, h, d), e.g. `90s`; a skew takes a sign. Sizes: an integer and B, KB, MB, GB
 * (powers of 1024). Never prints.
 *
 * Directives (defaults in defaults() below):
 *   name WORD | seed N | clusters N | members N | runners N     (shape first, then names)
 *   entries N | batch N | items N             what the hubs and members write, ops/append
 *   write_until DUR | round DUR | until DUR   writing ends; a contact round; give up
 *   epoch MS                                  true wall clock at time 0 (ms since 1970)
 *   lan up DUR down DUR bw SIZE latency DUR   each member's link to its hub (mean times)
 *   runner_link bw SIZE latency DUR           a runner's link during a visit
 *   store map SIZE cache SIZE                 store_opts of every node
 *   route rI hubs hA hB ... [offset DUR] [dwell DUR]   visits, evenly spread over a round
 *   partition hA hB ... from DUR to DUR       no runner reaches those clusters meanwhile
 *   crash NODE at DUR for DUR | skew NODE +-DUR
 *   clone NODE at DUR into hC writes N        the laptop's store and key copied
 *   garbage into hC at DUR every DUR count N  a peer that sends noise to that hub
 *   fingerprints one|per-branch | fork_evidence required|reported   what must hold
 *                                             ("one": every node ends with one view
 *                                             fingerprint; "per-branch" is the rule before
 *                                             every branch was kept; "strict" = "one")
 *   cut PCT% until DUR                        short contacts: until DUR, every contact
 *                                             ends once its sides sent PCT% of their
 *                                             backlog (entry bytes); whole ones after
 *   lane on|off|both                          the priority lane of every node (default
 *                                             on); both: run with it off (log order),
 *                                             then on, and report the two figures
 *   critical_delivered PCT%                   at the end of the cut phase every hub shows
 *                                             at least PCT% of the critical open needs
 *   on_fork rotate|reinit                     what a node whose store refuses to append
 *                                             under its forked key does: `identity rotate`
 *                                             (default) or `init --force` (the old way)
 * Every run also requires that no node ends missing an entry that any node wrote.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "sim.h"

struct ps {
    struct sim_config *c;
    const char *origin;
    int line;
    char *err;
    size_t errcap;
    char *tok[SIM_TOKENS_MAX];
    int nt;
    int shape_used; /* a node was named: clusters/members/runners are fixed now */
};

static int ps_fail(struct ps *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ps_fail(struct ps *p, int rc, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->err && p->errcap && p->line > 0)
        snprintf(p->err, p->errcap, "%s line %d: %s", p->origin, p->line, msg);
    else if (p->err && p->errcap)
        snprintf(p->err, p->errcap, "%s: %s", p->origin, msg);
    return rc;
}

int sim_node_count(const struct sim_config *c)
{
    return c->clusters * (1 + c->members) + c->runners + c->n_clones + c->n_garbage;
}

static int parse_u64(const char *s, uint64_t *v, const char **end)
{
    uint64_t x = 0;
    const char *q = s;
    if (*q < '0' || *q > '9')
        return -1;
    for (; *q >= '0' && *q <= '9'; q++) {
        if (x > (UINT64_MAX - 9) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*q - '0');
    }
    *v = x;
    *end = q;
    return 0;
}

static int get_count(struct ps *p, const char *w, uint64_t lo, uint64_t hi, uint64_t *v)
{
    const char *end;
    if (parse_u64(w, v, &end) != 0 || *end)
        return ps_fail(p, AM_EINVAL, "'%s' is not a whole number", w);
    if (*v < lo || *v > hi)
        return ps_fail(p, AM_ELIMIT, "%s is out of range (%llu to %llu)", w, (unsigned long long)lo,
                       (unsigned long long)hi);
    return AM_OK;
}

/* A duration in microseconds; `sign` allows a leading + or -. */
static int get_duration(struct ps *p, const char *w, int sign, int64_t *us)
{
    static const struct {
        const char *u;
        uint64_t mul;
    } units[] = {{"us", 1},          {"ms", 1000},         {"s", 1000000},
                 {"m", 60000000ULL}, {"h", 3600000000ULL}, {"d", 86400000000ULL}};
    const char *q = w, *end;
    int neg = 0;
    uint64_t x;
    if (sign && (*q == '+' || *q == '-'))
        neg = *q++ == '-';
    if (parse_u64(q, &x, &end) != 0)
        return ps_fail(p, AM_EINVAL, "'%s' is not a duration (like 90s, 15m, 2h, 1d)", w);
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strcmp(end, units[i].u) == 0) {
            if (x > SIM_DURATION_MAX / units[i].mul)
                return ps_fail(p, AM_ELIMIT, "'%s' is over 400 days", w);
            *us = neg ? -(int64_t)(x * units[i].mul) : (int64_t)(x * units[i].mul);
            return AM_OK;
        }
    return ps_fail(p, AM_EINVAL, "'%s' has no unit (us, ms, s, m, h or d)", w);
}

static int get_time(struct ps *p, const char *w, uint64_t *us)
{
    int64_t v;
    int rc = get_duration(p, w, 0, &v);
    if (rc == AM_OK)
        *us = (uint64_t)v;
    return rc;
}

static int get_size(struct ps *p, const char *w, uint64_t lo, uint64_t hi, uint64_t *v)
{
    static const struct {
        const char *u;
        uint64_t mul;
    } units[] = {{"B", 1}, {"KB", 1024}, {"MB", 1024 * 1024}, {"GB", 1024ULL * 1024 * 1024}};
    const char *end;
    uint64_t x;
    if (parse_u64(w, &x, &end) != 0)
        return ps_fail(p, AM_EINVAL, "'%s' is not a size (like 512KB, 8MB)", w);
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strcmp(end, units[i].u) == 0) {
            if (x > hi / units[i].mul || x * units[i].mul < lo)
                return ps_fail(p, AM_ELIMIT, "'%s' is out of range (%llu to %llu bytes)", w,
                               (unsigned long long)lo, (unsigned long long)hi);
            *v = x * units[i].mul;
            return AM_OK;
        }
    return ps_fail(p, AM_EINVAL, "'%s' has no unit (B, KB, MB or GB)", w);
}

/* hC -> cluster C */
/* A whole percentage like 10% in [lo, 100]. */
static int get_pct(struct ps *p, const char *w, uint64_t lo, unsigned *pct)
{
    const char *end;
    uint64_t x;
    if (parse_u64(w, &x, &end) != 0 || strcmp(end, "%") != 0)
        return ps_fail(p, AM_EINVAL, "'%s' is not a whole percentage (like 10%%)", w);
    if (x < lo || x > 100)
        return ps_fail(p, AM_ELIMIT, "'%s' is out of range (%llu%% to 100%%)", w,
                       (unsigned long long)lo);
    *pct = (unsigned)x;
    return AM_OK;
}

static int get_hub(struct ps *p, const char *w, int *cluster)
{
    const char *end;
    uint64_t v;
    p->shape_used = 1;
    if (w[0] != 'h' || parse_u64(w + 1, &v, &end) != 0 || *end)
        return ps_fail(p, AM_EINVAL, "'%s' is not a hub name (h0, h1, ...)", w);
    if (v >= (uint64_t)p->c->clusters)
        return ps_fail(p, AM_EINVAL, "no hub '%s': there are %d clusters (h0 to h%d)", w,
                       p->c->clusters, p->c->clusters - 1);
    *cluster = (int)v;
    return AM_OK;
}

/* hC, mC.I or rI -> node index */
static int get_node(struct ps *p, const char *w, int *node)
{
    const struct sim_config *c = p->c;
    const char *end;
    uint64_t a, b;
    int cl;
    p->shape_used = 1;
    if (w[0] == 'h') {
        if (get_hub(p, w, &cl) != AM_OK)
            return AM_EINVAL;
        *node = cl * (1 + c->members);
        return AM_OK;
    }
    if (w[0] == 'm' && parse_u64(w + 1, &a, &end) == 0 && *end == '.' &&
        parse_u64(end + 1, &b, &end) == 0 && !*end) {
        if (a >= (uint64_t)c->clusters || b >= (uint64_t)c->members)
            return ps_fail(p, AM_EINVAL, "no member '%s' (%d clusters of %d members)", w,
                           c->clusters, c->members);
        *node = (int)a * (1 + c->members) + 1 + (int)b;
        return AM_OK;
    }
    if (w[0] == 'r' && parse_u64(w + 1, &a, &end) == 0 && !*end) {
        if (a >= (uint64_t)c->runners)
            return ps_fail(p, AM_EINVAL, "no runner '%s': there are %d runners", w, c->runners);
        *node = c->clusters * (1 + c->members) + (int)a;
        return AM_OK;
    }
    return ps_fail(p, AM_EINVAL, "'%s' is not a node name (hC, mC.I or rI)", w);
}

/* Keyword/value pairs from word `from` on: each key of `keys` may appear once; `req`
 * says which must. Returns the index of each value word in vals (0 when absent). */
static int get_pairs(struct ps *p, int from, const char *const *keys, int nkeys, unsigned req,
                     int *vals)
{
    for (int k = 0; k < nkeys; k++)
        vals[k] = 0;
    for (int i = from; i < p->nt; i += 2) {
        int k = 0;
        while (k < nkeys && strcmp(p->tok[i], keys[k]) != 0)
            k++;
        if (k == nkeys)
            return ps_fail(p, AM_EINVAL, "'%s' does not belong in '%s'", p->tok[i], p->tok[0]);
        if (vals[k])
            return ps_fail(p, AM_EINVAL, "'%s' appears twice", keys[k]);
        if (i + 1 >= p->nt)
            return ps_fail(p, AM_EINVAL, "'%s' wants a value after it", keys[k]);
        vals[k] = i + 1;
    }
    for (int k = 0; k < nkeys; k++)
        if ((req & (1u << k)) && !vals[k])
            return ps_fail(p, AM_EINVAL, "'%s' wants '%s VALUE'", p->tok[0], keys[k]);
    return AM_OK;
}

static int want_words(struct ps *p, int n)
{
    if (p->nt != n)
        return ps_fail(p, AM_EINVAL, "'%s' wants %d value%s (got %d)", p->tok[0], n - 1,
                       n == 2 ? "" : "s", p->nt - 1);
    return AM_OK;
}

static int shape(struct ps *p, int *field, uint64_t max)
{
    uint64_t v;
    int rc;
    if (p->shape_used)
        return ps_fail(p, AM_EINVAL, "'%s' must come before any node is named", p->tok[0]);
    if ((rc = want_words(p, 2)) != AM_OK || (rc = get_count(p, p->tok[1], 0, max, &v)) != AM_OK)
        return rc;
    *field = (int)v;
    return AM_OK;
}

static int list_room(struct ps *p, int n)
{
    if (n >= SIM_LIST_MAX)
        return ps_fail(p, AM_ELIMIT, "more than %d '%s' lines", SIM_LIST_MAX, p->tok[0]);
    return AM_OK;
}

static int directive(struct ps *p)
{
    struct sim_config *c = p->c;
    const char *d = p->tok[0];
    int v[6], rc = AM_OK;
    uint64_t x;

    if (strcmp(d, "name") == 0) {
        if ((rc = want_words(p, 2)) != AM_OK)
            return rc;
        if (strlen(p->tok[1]) > SIM_NAME_MAX)
            return ps_fail(p, AM_ELIMIT, "the name is over %d bytes", SIM_NAME_MAX);
        snprintf(c->name, sizeof c->name, "%s", p->tok[1]);
        return AM_OK;
    }
    if (strcmp(d, "seed") == 0) {
        if ((rc = want_words(p, 2)) != AM_OK)
            return rc;
        return get_count(p, p->tok[1], 0, UINT64_MAX, &c->seed);
    }
    if (strcmp(d, "clusters") == 0)
        return (rc = shape(p, &c->clusters, SIM_CLUSTERS_MAX)) != AM_OK ? rc
               : c->clusters == 0 ? ps_fail(p, AM_ELIMIT, "at least one cluster")
                                  : AM_OK;
    if (strcmp(d, "members") == 0)
        return shape(p, &c->members, SIM_MEMBERS_MAX);
    if (strcmp(d, "runners") == 0)
        return shape(p, &c->runners, SIM_RUNNERS_MAX);
    if (strcmp(d, "entries") == 0) {
        if ((rc = want_words(p, 2)) != AM_OK)
            return rc;
        return get_count(p, p->tok[1], 0, SIM_ENTRIES_MAX, &c->entries);
    }
    if (strcmp(d, "batch") == 0 || strcmp(d, "items") == 0) {
        if ((rc = want_words(p, 2)) != AM_OK ||
            (rc = get_count(p, p->tok[1], 1, d[0] == 'b' ? SIM_BATCH_MAX : SIM_ITEMS_MAX, &x)) !=
                AM_OK)
            return rc;
        *(d[0] == 'b' ? &c->batch : &c->items) = (unsigned)x;
        return AM_OK;
    }
    if (strcmp(d, "write_until") == 0 || strcmp(d, "round") == 0 || strcmp(d, "until") == 0) {
        uint64_t *f = d[0] == 'w' ? &c->write_until : d[0] == 'r' ? &c->round : &c->until;
        if ((rc = want_words(p, 2)) != AM_OK || (rc = get_time(p, p->tok[1], f)) != AM_OK)
            return rc;
        return *f == 0 ? ps_fail(p, AM_ELIMIT, "'%s' must be longer than 0", d) : AM_OK;
    }
    if (strcmp(d, "epoch") == 0) {
        if ((rc = want_words(p, 2)) != AM_OK)
            return rc;
        /* 2001-09-09 .. 2286-11-20: 13-digit milliseconds */
        return get_count(p, p->tok[1], 1000000000000ULL, 9999999999999ULL, &c->epoch_ms);
    }
    if (strcmp(d, "lan") == 0) {
        static const char *const keys[] = {"up", "down", "bw", "latency"};
        int64_t lat;
        if ((rc = get_pairs(p, 1, keys, 4, 0xf, v)) != AM_OK ||
            (rc = get_time(p, p->tok[v[0]], &c->lan_up)) != AM_OK ||
            (rc = get_time(p, p->tok[v[1]], &c->lan_down)) != AM_OK ||
            (rc = get_size(p, p->tok[v[2]], 1024, 1ULL << 34, &c->lan_bw)) != AM_OK ||
            (rc = get_duration(p, p->tok[v[3]], 0, &lat)) != AM_OK)
            return rc;
        c->lan_lat = (uint64_t)lat;
        if (c->lan_up == 0 || c->lan_down == 0)
            return ps_fail(p, AM_ELIMIT, "'up' and 'down' must be longer than 0");
        return AM_OK;
    }
    if (strcmp(d, "runner_link") == 0) {
        static const char *const keys[] = {"bw", "latency"};
        int64_t lat;
        if ((rc = get_pairs(p, 1, keys, 2, 3, v)) != AM_OK ||
            (rc = get_size(p, p->tok[v[0]], 1024, 1ULL << 34, &c->run_bw)) != AM_OK ||
            (rc = get_duration(p, p->tok[v[1]], 0, &lat)) != AM_OK)
            return rc;
        c->run_lat = (uint64_t)lat;
        return AM_OK;
    }
    if (strcmp(d, "store") == 0) {
        static const char *const keys[] = {"map", "cache"};
        if ((rc = get_pairs(p, 1, keys, 2, 0, v)) != AM_OK)
            return rc;
        if (v[0] && (rc = get_size(p, p->tok[v[0]], 1 << 20, 1ULL << 34, &c->map_initial)))
            return rc;
        if (v[1] && (rc = get_size(p, p->tok[v[1]], 4096, 1ULL << 32, &c->view_cache)))
            return rc;
        return AM_OK;
    }
    if (strcmp(d, "fingerprints") == 0) {
        if ((rc = want_words(p, 2)) != AM_OK)
            return rc;
        /* "strict" is the old name of "one" */
        if (strcmp(p->tok[1], "one") == 0 || strcmp(p->tok[1], "strict") == 0)
            c->fp_policy = SIM_FP_ONE;
        else if (strcmp(p->tok[1], "per-branch") == 0)
            c->fp_policy = SIM_FP_PER_BRANCH;
        else
            return ps_fail(p, AM_EINVAL, "'%s' is not 'one' or 'per-branch'", p->tok[1]);
        return AM_OK;
    }
    if (strcmp(d, "on_fork") == 0) {
        if ((rc = want_words(p, 2)) != AM_OK)
            return rc;
        if (strcmp(p->tok[1], "rotate") == 0)
            c->on_fork = SIM_ON_FORK_ROTATE;
        else if (strcmp(p->tok[1], "reinit") == 0)
            c->on_fork = SIM_ON_FORK_REINIT;
        else
            return ps_fail(p, AM_EINVAL, "'%s' is not 'rotate' or 'reinit'", p->tok[1]);
        return AM_OK;
    }
    if (strcmp(d, "cut") == 0) {
        static const char *const keys[] = {"until"};
        if (p->nt < 2 || (rc = get_pct(p, p->tok[1], 1, &c->cut_pct)) != AM_OK ||
            (rc = get_pairs(p, 2, keys, 1, 1, v)) != AM_OK ||
            (rc = get_time(p, p->tok[v[0]], &c->cut_until)) != AM_OK)
            return rc ? rc : ps_fail(p, AM_EINVAL, "'cut' wants 'PCT%% until DUR'");
        return c->cut_until == 0 ? ps_fail(p, AM_ELIMIT, "'until' must be longer than 0") : AM_OK;
    }
    if (strcmp(d, "lane") == 0) {
        if ((rc = want_words(p, 2)) != AM_OK)
            return rc;
        if (strcmp(p->tok[1], "on") == 0)
            c->lane = SIM_LANE_ON;
        else if (strcmp(p->tok[1], "off") == 0)
            c->lane = SIM_LANE_OFF;
        else if (strcmp(p->tok[1], "both") == 0)
            c->lane = SIM_LANE_BOTH;
        else
            return ps_fail(p, AM_EINVAL, "'%s' is not 'on', 'off' or 'both'", p->tok[1]);
        return AM_OK;
    }
    if (strcmp(d, "critical_delivered") == 0) {
        if ((rc = want_words(p, 2)) != AM_OK)
            return rc;
        return get_pct(p, p->tok[1], 0, &c->critical_min_pct);
    }
    if (strcmp(d, "fork_evidence") == 0) {
        if ((rc = want_words(p, 2)) != AM_OK)
            return rc;
        if (strcmp(p->tok[1], "required") == 0)
            c->evidence_required = 1;
        else if (strcmp(p->tok[1], "reported") == 0)
            c->evidence_required = 0;
        else
            return ps_fail(p, AM_EINVAL, "'%s' is not 'required' or 'reported'", p->tok[1]);
        return AM_OK;
    }
    if (strcmp(d, "route") == 0) {
        /* route rI hubs hA hB ... [offset DUR] [dwell DUR] */
        struct sim_route *r;
        int node, i = 3;
        if (p->nt < 4 || strcmp(p->tok[2], "hubs") != 0)
            return ps_fail(p, AM_EINVAL, "'route' wants 'rI hubs hA hB ...'");
        if ((rc = get_node(p, p->tok[1], &node)) != AM_OK)
            return rc;
        if (p->tok[1][0] != 'r')
            return ps_fail(p, AM_EINVAL, "'%s' is not a runner (rI)", p->tok[1]);
        for (int k = 0; k < c->n_routes; k++)
            if (c->routes[k].runner == atoi(p->tok[1] + 1))
                return ps_fail(p, AM_EINVAL, "runner '%s' has a route already", p->tok[1]);
        r = &c->routes[c->n_routes];
        memset(r, 0, sizeof *r);
        r->runner = atoi(p->tok[1] + 1);
        r->dwell = 120000000; /* 2 minutes */
        for (; i < p->nt && p->tok[i][0] == 'h'; i++) {
            if (r->n == SIM_ROUTE_MAX)
                return ps_fail(p, AM_ELIMIT, "more than %d hubs on one route", SIM_ROUTE_MAX);
            if ((rc = get_hub(p, p->tok[i], &r->hubs[r->n])) != AM_OK)
                return rc;
            r->n++;
        }
        if (r->n == 0)
            return ps_fail(p, AM_EINVAL, "the route of '%s' names no hub", p->tok[1]);
        {
            static const char *const keys[] = {"offset", "dwell"};
            if ((rc = get_pairs(p, i, keys, 2, 0, v)) != AM_OK)
                return rc;
            if (v[0] && (rc = get_time(p, p->tok[v[0]], &r->offset)) != AM_OK)
                return rc;
            if (v[1] && (rc = get_time(p, p->tok[v[1]], &r->dwell)) != AM_OK)
                return rc;
        }
        c->n_routes++;
        return AM_OK;
    }
    if (strcmp(d, "partition") == 0) {
        /* partition hA hB ... from DUR to DUR */
        struct sim_partition *pt;
        int i = 1;
        if ((rc = list_room(p, c->n_partitions)) != AM_OK)
            return rc;
        pt = &c->partitions[c->n_partitions];
        memset(pt, 0, sizeof *pt);
        for (; i < p->nt && p->tok[i][0] == 'h'; i++) {
            int cl;
            if ((rc = get_hub(p, p->tok[i], &cl)) != AM_OK)
                return rc;
            pt->cut[cl] = 1;
        }
        if (i == 1)
            return ps_fail(p, AM_EINVAL, "'partition' wants the hubs cut off first");
        {
            static const char *const keys[] = {"from", "to"};
            if ((rc = get_pairs(p, i, keys, 2, 3, v)) != AM_OK ||
                (rc = get_time(p, p->tok[v[0]], &pt->from)) != AM_OK ||
                (rc = get_time(p, p->tok[v[1]], &pt->to)) != AM_OK)
                return rc;
        }
        if (pt->to <= pt->from)
            return ps_fail(p, AM_EINVAL, "the partition heals before it starts");
        c->n_partitions++;
        return AM_OK;
    }
    if (strcmp(d, "crash") == 0) {
        static const char *const keys[] = {"at", "for"};
        struct sim_crash *k;
        if ((rc = list_room(p, c->n_crashes)) != AM_OK)
            return rc;
        k = &c->crashes[c->n_crashes];
        if (p->nt < 2 || (rc = get_node(p, p->tok[1], &k->node)) != AM_OK ||
            (rc = get_pairs(p, 2, keys, 2, 3, v)) != AM_OK ||
            (rc = get_time(p, p->tok[v[0]], &k->at)) != AM_OK ||
            (rc = get_time(p, p->tok[v[1]], &k->down)) != AM_OK)
            return rc ? rc : ps_fail(p, AM_EINVAL, "'crash' wants 'NODE at DUR for DUR'");
        c->n_crashes++;
        return AM_OK;
    }
    if (strcmp(d, "skew") == 0) {
        struct sim_skew *k;
        int64_t us;
        if ((rc = list_room(p, c->n_skews)) != AM_OK || (rc = want_words(p, 3)) != AM_OK)
            return rc;
        k = &c->skews[c->n_skews];
        if ((rc = get_node(p, p->tok[1], &k->node)) != AM_OK ||
            (rc = get_duration(p, p->tok[2], 1, &us)) != AM_OK)
            return rc;
        k->ms = us / 1000;
        c->n_skews++;
        return AM_OK;
    }
    if (strcmp(d, "clone") == 0) {
        static const char *const keys[] = {"at", "into", "writes"};
        struct sim_clone *k;
        if ((rc = list_room(p, c->n_clones)) != AM_OK)
            return rc;
        k = &c->clones[c->n_clones];
        if (p->nt < 2 || (rc = get_node(p, p->tok[1], &k->twin)) != AM_OK ||
            (rc = get_pairs(p, 2, keys, 3, 7, v)) != AM_OK ||
            (rc = get_time(p, p->tok[v[0]], &k->at)) != AM_OK ||
            (rc = get_hub(p, p->tok[v[1]], &k->cluster)) != AM_OK ||
            (rc = get_count(p, p->tok[v[2]], 1, SIM_ENTRIES_MAX, &k->writes)) != AM_OK)
            return rc ? rc : ps_fail(p, AM_EINVAL, "'clone' wants 'NODE at DUR into hC writes N'");
        if (k->twin >= c->clusters * (1 + c->members))
            return ps_fail(p, AM_EINVAL, "only a hub's or a member's laptop can be cloned");
        c->n_clones++;
        return AM_OK;
    }
    if (strcmp(d, "garbage") == 0) {
        static const char *const keys[] = {"into", "at", "every", "count"};
        struct sim_garbage *k;
        if ((rc = list_room(p, c->n_garbage)) != AM_OK)
            return rc;
        k = &c->garbage[c->n_garbage];
        if ((rc = get_pairs(p, 1, keys, 4, 0xf, v)) != AM_OK ||
            (rc = get_hub(p, p->tok[v[0]], &k->cluster)) != AM_OK ||
            (rc = get_time(p, p->tok[v[1]], &k->at)) != AM_OK ||
            (rc = get_time(p, p->tok[v[2]], &k->every)) != AM_OK ||
            (rc = get_count(p, p->tok[v[3]], 1, 1000, &x)) != AM_OK)
            return rc;
        if (k->every == 0)
            return ps_fail(p, AM_ELIMIT, "'every' must be longer than 0");
        k->count = (int)x;
        c->n_garbage++;
        return AM_OK;
    }
    return ps_fail(p, AM_EINVAL, "unknown directive '%s'", d);
}

static void defaults(struct sim_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "unnamed");
    c->seed = 1;
    c->clusters = 1;
    c->batch = 10;
    c->items = 20;
    c->entries = 1000;
    c->write_until = 3600000000ULL;
    c->round = 3600000000ULL;
    c->until = 7 * 86400000000ULL;
    c->epoch_ms = 1767225600000ULL; /* 2026-01-01 */
    c->lan_up = 1800000000ULL;
    c->lan_down = 60000000ULL;
    c->lan_bw = 1 << 20;
    c->lan_lat = 5000;
    c->run_bw = 10 << 20;
    c->run_lat = 1000;
    c->map_initial = 4 << 20;
    c->view_cache = 1 << 20;
    c->evidence_required = 1;
}

int sim_conf_parse(struct sim_config *c, const char *text, const char *origin, char *err,
                   size_t errcap)
{
    struct ps p = {.c = c, .origin = origin, .err = err, .errcap = errcap};
    const char *q = text;
    char buf[SIM_LINE_MAX + 2];
    int rc;

    defaults(c);
    while (*q) {
        size_t n = strcspn(q, "\n");
        char *s;
        p.line++;
        if (n > SIM_LINE_MAX)
            return ps_fail(&p, AM_ELIMIT, "the line is over %d bytes", SIM_LINE_MAX);
        memcpy(buf, q, n);
        buf[n] = 0;
        q += n + (q[n] == '\n');
        if ((s = strchr(buf, '#')) != NULL)
            *s = 0;
        p.nt = 0;
        for (s = strtok(buf, " \t\r"); s; s = strtok(NULL, " \t\r")) {
            if (p.nt == SIM_TOKENS_MAX)
                return ps_fail(&p, AM_ELIMIT, "more than %d words", SIM_TOKENS_MAX);
            for (const char *k = s; *k; k++)
                if ((unsigned char)*k < 0x21 || (unsigned char)*k > 0x7e)
                    return ps_fail(&p, AM_EINVAL, "a byte 0x%02x that is not printable ASCII",
                                   (unsigned char)*k);
            p.tok[p.nt++] = s;
        }
        if (p.nt > 0 && (rc = directive(&p)) != AM_OK)
            return rc;
        if (sim_node_count(c) > SIM_NODES_MAX)
            return ps_fail(&p, AM_ELIMIT, "%d nodes: at most %d", sim_node_count(c), SIM_NODES_MAX);
    }
    /* checks of the whole: things only known at the end */
    p.line = 0;
    for (int i = 0; i < c->n_routes; i++)
        if (c->routes[i].runner >= c->runners)
            return ps_fail(&p, AM_EINVAL, "a route names runner r%d of %d", c->routes[i].runner,
                           c->runners);
    if (c->write_until >= c->until)
        return ps_fail(&p, AM_EINVAL, "'write_until' must end before 'until'");
    if (c->cut_pct && c->cut_until >= c->until)
        return ps_fail(&p, AM_EINVAL, "the cut phase must end before 'until'");
    if ((c->critical_min_pct || c->lane == SIM_LANE_BOTH) && !c->cut_pct)
        return ps_fail(&p, AM_EINVAL,
                       "'%s' wants a 'cut' line (the figure is taken as the "
                       "cut phase ends)",
                       c->critical_min_pct ? "critical_delivered" : "lane both");
    return AM_OK;
}

int sim_conf_load(struct sim_config *c, const char *path, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    char *text;
    size_t n;
    const char *base = strrchr(path, '/');
    int rc;

    if (!f) {
        snprintf(err, errcap, "cannot open scenario %s: %s", path, strerror(errno));
        return AM_ESYS;
    }
    text = malloc((1u << 20) + 1);
    if (!text) {
        fclose(f);
        snprintf(err, errcap, "out of memory");
        return AM_ENOMEM;
    }
    n = fread(text, 1, (1u << 20) + 1, f);
    if (ferror(f) || n > (1u << 20)) {
        snprintf(err, errcap, "cannot read scenario %s: %s", path,
                 ferror(f) ? strerror(errno) : "larger than 1 MiB");
        fclose(f);
        free(text);
        return AM_ESYS;
    }
    fclose(f);
    text[n] = 0;
    if (strlen(text) != n) {
        snprintf(err, errcap, "scenario %s holds a NUL byte: not a text file", path);
        free(text);
        return AM_EINVAL;
    }
    rc = sim_conf_parse(c, text, base ? base + 1 : path, err, errcap);
    free(text);
    return rc;
}
