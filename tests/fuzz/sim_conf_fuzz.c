/*
 * sim_conf_fuzz.c: libFuzzer target for the scenario parser of aidmesh-sim
 * (tools/sim_conf.c: sim_conf_parse). Scenario files are written by people and shared;
 * the parser must refuse anything out of range with a sentence, never crash.
 *
 * The input is the scenario text (copied into a NUL-terminated heap buffer of size + 1;
 * text after a NUL byte is not seen, as sim_conf_load refuses such files anyway).
 * Invariants (a broken one abort()s): the code is AM_OK, AM_EINVAL or AM_ELIMIT; a
 * refusal leaves a non-empty NUL-terminated sentence in err, which names the origin; an
 * accepted config holds only values within the SIM_* limits of sim.h: the shape, every
 * list's count, every node and hub index (below sim_node_count and the cluster count),
 * route lengths and runners, a NUL-terminated name, partitions that heal after they start,
 * writes that end before `until`.
 *
 * Corpus (tests/fuzz/corpus/sim_conf/): tools/sim/small.conf-like scenarios using every
 * directive, and hand-made edge cases (empty, comments only, huge numbers, too many
 * nodes, a line over SIM_LINE_MAX, too many words, bad names, non-ASCII, CRLF).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "am_err.h"
#include "sim.h"
#include "fuzz.h"

static void check_config(const struct sim_config *c)
{
    int nodes = sim_node_count(c), hubs = c->clusters * (1 + c->members);

    CHECK(memchr(c->name, 0, sizeof c->name) != NULL);
    CHECK(c->clusters >= 1 && c->clusters <= SIM_CLUSTERS_MAX);
    CHECK(c->members >= 0 && c->members <= SIM_MEMBERS_MAX);
    CHECK(c->runners >= 0 && c->runners <= SIM_RUNNERS_MAX);
    CHECK(nodes > 0 && nodes <= SIM_NODES_MAX);
    CHECK(c->entries <= SIM_ENTRIES_MAX);
    CHECK(c->batch >= 1 && c->batch <= SIM_BATCH_MAX);
    CHECK(c->items >= 1 && c->items <= SIM_ITEMS_MAX);
    CHECK(c->write_until > 0 && c->round > 0 && c->until > 0);
    CHECK(c->write_until < c->until && c->until <= SIM_DURATION_MAX);
    CHECK(c->lan_up > 0 && c->lan_down > 0 && c->lan_bw > 0 && c->run_bw > 0);
    CHECK(c->fp_policy == SIM_FP_ONE || c->fp_policy == SIM_FP_PER_BRANCH);
    CHECK(c->on_fork == SIM_ON_FORK_ROTATE || c->on_fork == SIM_ON_FORK_REINIT);
    CHECK(c->evidence_required == 0 || c->evidence_required == 1);

    CHECK(c->n_routes >= 0 && c->n_routes <= c->runners && c->n_routes <= SIM_RUNNERS_MAX);
    for (int i = 0; i < c->n_routes; i++) {
        const struct sim_route *r = &c->routes[i];
        CHECK(r->runner >= 0 && r->runner < c->runners);
        for (int k = 0; k < i; k++)
            CHECK(c->routes[k].runner != r->runner);
        CHECK(r->n >= 1 && r->n <= SIM_ROUTE_MAX);
        for (int k = 0; k < r->n; k++)
            CHECK(r->hubs[k] >= 0 && r->hubs[k] < c->clusters);
        CHECK(r->offset <= SIM_DURATION_MAX && r->dwell <= SIM_DURATION_MAX);
    }
    CHECK(c->n_partitions >= 0 && c->n_partitions <= SIM_LIST_MAX);
    for (int i = 0; i < c->n_partitions; i++) {
        const struct sim_partition *pt = &c->partitions[i];
        int cut = 0;
        CHECK(pt->from < pt->to && pt->to <= SIM_DURATION_MAX);
        for (int k = 0; k < SIM_CLUSTERS_MAX; k++) {
            CHECK(pt->cut[k] <= 1);
            CHECK(!pt->cut[k] || k < c->clusters);
            cut += pt->cut[k];
        }
        CHECK(cut >= 1);
    }
    CHECK(c->n_crashes >= 0 && c->n_crashes <= SIM_LIST_MAX);
    for (int i = 0; i < c->n_crashes; i++)
        CHECK(c->crashes[i].node >= 0 && c->crashes[i].node < hubs + c->runners);
    CHECK(c->n_skews >= 0 && c->n_skews <= SIM_LIST_MAX);
    for (int i = 0; i < c->n_skews; i++) {
        CHECK(c->skews[i].node >= 0 && c->skews[i].node < hubs + c->runners);
        CHECK(c->skews[i].ms <= (int64_t)(SIM_DURATION_MAX / 1000) &&
              c->skews[i].ms >= -(int64_t)(SIM_DURATION_MAX / 1000));
    }
    CHECK(c->n_clones >= 0 && c->n_clones <= SIM_LIST_MAX);
    for (int i = 0; i < c->n_clones; i++) {
        CHECK(c->clones[i].twin >= 0 && c->clones[i].twin < hubs);
        CHECK(c->clones[i].cluster >= 0 && c->clones[i].cluster < c->clusters);
        CHECK(c->clones[i].writes >= 1 && c->clones[i].writes <= SIM_ENTRIES_MAX);
    }
    CHECK(c->n_garbage >= 0 && c->n_garbage <= SIM_LIST_MAX);
    for (int i = 0; i < c->n_garbage; i++) {
        CHECK(c->garbage[i].cluster >= 0 && c->garbage[i].cluster < c->clusters);
        CHECK(c->garbage[i].every > 0);
        CHECK(c->garbage[i].count >= 1 && c->garbage[i].count <= 1000);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sim_config c; /* ~60 KB: not on the stack */
    char err[160], *text = malloc(size + 1);
    int rc;

    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = 0;
    memset(err, 'X', sizeof err);
    rc = sim_conf_parse(&c, text, "fuzz.conf", err, sizeof err);
    free(text);
    CHECK(rc == AM_OK || rc == AM_EINVAL || rc == AM_ELIMIT);
    if (rc == AM_OK) {
        check_config(&c);
    } else {
        CHECK(memchr(err, 0, sizeof err) != NULL);
        CHECK(strncmp(err, "fuzz.conf", 9) == 0 && strlen(err) > 10);
    }
    /* no room for a sentence: still no write past it */
    text = malloc(size + 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = 0;
    CHECK(sim_conf_parse(&c, text, "fuzz.conf", err, 1) == rc);
    CHECK(err[0] == 0 || rc == AM_OK);
    free(text);
    return 0;
}
