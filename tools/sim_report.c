/*
 * sim_report.c: the end of an aidmesh-sim run: the final checks (view fingerprints of
 * every node, grouped and explained by the branches of forked authors) and the report,
 * readable or one JSON object, every figure reproducible from the seed.
 *
 * Never prints what a seed does not fix (wall time, the process's memory): that goes to
 * the progress stream in sim.c. Never writes to a store.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "am_err.h"
#include "out.h"
#include "query.h"
#include "sim.h"
#include "sim_int.h"

/* ---- the end: fingerprints and the report ---------------------------------------------------- */

struct fpnode {
    uint8_t fp[STORE_VIEW_FP_LEN];
    uint8_t branch[AM_HASH_LEN]; /* which branch of every forked author it keeps */
};

static int cmp_fp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct fpnode));
}

int sim_final_checks(struct sim *s)
{
    struct fpnode *v = calloc((size_t)s->n_nodes + 1, sizeof *v);
    uint8_t *forked = calloc((size_t)s->n_authors + 1, 1);
    int n = 0, rc = AM_OK;
    if (!v || !forked) {
        free(v);
        free(forked);
        return AM_ENOMEM;
    }
    s->r.entries_missing = 0;
    s->r.forked_authors = 0;
    for (int i = 0; i < s->n_nodes; i++) {
        struct sim_node *nd = &s->nodes[i];
        struct store_view_stats vs;
        struct store_view_cache_stats cs;
        struct store_stats st;
        crypto_generichash_state h;
        if (!nd->counted || !nd->st)
            continue;
        if ((rc = store_view_stats(nd->st, &vs)) != AM_OK)
            break;
        memcpy(v[n].fp, vs.fingerprint, STORE_VIEW_FP_LEN);
        crypto_generichash_init(&h, NULL, 0, AM_HASH_LEN);
        for (int a = 0; a < s->n_authors; a++) {
            struct store_head hd;
            if (s->authors[a].cloned && store_head_get(nd->st, s->authors[a].pk, &hd) == AM_OK) {
                crypto_generichash_update(&h, hd.hash, AM_HASH_LEN);
                if ((hd.flags & STORE_HEAD_FORKED) && !forked[a]) {
                    forked[a] = 1;
                    s->r.forked_authors++;
                }
            }
        }
        crypto_generichash_final(&h, v[n].branch, AM_HASH_LEN);
        if ((rc = store_stats(nd->st, &st)) != AM_OK)
            break;
        /* what the store itself holds, every log of every author, against all written:
         * the store never holds an entry no node wrote, so fewer means some are missing */
        if (st.entries < s->total && s->total - st.entries > s->r.entries_missing)
            s->r.entries_missing = s->total - st.entries;
        if (st.map_used > s->r.peak_store)
            s->r.peak_store = st.map_used;
        if (store_view_cache_stats(nd->st, &cs) == AM_OK && cs.bytes > s->r.peak_cache)
            s->r.peak_cache = cs.bytes;
        n++;
    }
    if (rc == AM_OK) {
        /* distinct fingerprints; and branch groups holding more than one fingerprint */
        qsort(v, (size_t)n, sizeof *v, cmp_fp);
        s->r.fp_groups = n > 0;
        for (int i = 1; i < n; i++)
            if (memcmp(v[i].fp, v[i - 1].fp, STORE_VIEW_FP_LEN) != 0)
                s->r.fp_groups++;
        for (int i = 0; i < n; i++) {
            int first = 1;
            for (int j = 0; j < i; j++)
                if (memcmp(v[j].branch, v[i].branch, AM_HASH_LEN) == 0)
                    first = 0;
            if (!first)
                continue;
            for (int j = i + 1; j < n; j++)
                if (memcmp(v[j].branch, v[i].branch, AM_HASH_LEN) == 0 &&
                    memcmp(v[j].fp, v[i].fp, STORE_VIEW_FP_LEN) != 0) {
                    s->r.fp_unexplained++;
                    break;
                }
        }
        s->r.fp_ok = s->c->fp_policy == SIM_FP_ONE ? s->r.fp_groups == 1 : s->r.fp_unexplained == 0;
    }
    free(v);
    free(forked);
    return rc;
}

/* ---- the short-contact figure (sim_config.cut_pct) --------------------------------------------
 */

struct idset {
    uint8_t (*id)[RELIEF_ID_LEN];
    size_t n, cap;
};

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, RELIEF_ID_LEN);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The critical open needs node n wrote, as its own view shows them (every update of a
 * need in the simulator is its writer's), added to ids. */
static int own_critical(struct sim *s, struct sim_node *n, struct idset *ids)
{
    struct query_need_filter f = {.status = RELIEF_ST_OPEN,
                                  .priority = RELIEF_PRI_CRITICAL,
                                  .author = s->authors[n->author].pk};
    const struct query_need *rows;
    struct query *q = NULL;
    size_t k;
    int rc;
    if ((rc = query_open(n->st, sim_wall_ms(n), &q)) != AM_OK ||
        (rc = query_needs(q, &f, &rows, &k)) != AM_OK)
        goto out;
    if (ids->n + k > ids->cap) {
        size_t cap = ids->n + k + 64;
        uint8_t(*v)[RELIEF_ID_LEN] = realloc(ids->id, cap * sizeof *v);
        if (!v) {
            rc = AM_ENOMEM;
            goto out;
        }
        ids->id = v;
        ids->cap = cap;
    }
    for (size_t i = 0; i < k; i++)
        memcpy(ids->id[ids->n++], rows[i].v.id, RELIEF_ID_LEN);
out:
    query_close(q);
    return rc;
}

/* How many of ids hub h shows as open and critical (its views, through the read model). */
static int hub_shows(struct sim_node *h, const struct idset *ids, uint64_t *shown)
{
    struct query *q = NULL;
    int rc = query_open(h->st, sim_wall_ms(h), &q);
    *shown = 0;
    for (size_t i = 0; rc == AM_OK && i < ids->n; i++) {
        const struct query_need *row;
        int r = query_need(q, ids->id[i], &row);
        if (r == AM_OK && row->v.status == RELIEF_ST_OPEN && row->pri == RELIEF_PRI_CRITICAL)
            (*shown)++;
        else if (r != AM_OK && r != AM_ENOTFOUND)
            rc = r;
    }
    query_close(q);
    return rc;
}

/* At the end of the cut phase: the critical open needs written anywhere until then (each
 * writer that is up, its own view of its own needs), and how many of them each hub that
 * is up shows; the fewest and the median over those hubs. */
int sim_cut_figure(struct sim *s)
{
    struct idset ids = {0};
    uint64_t *shown = calloc((size_t)s->n_nodes + 1, sizeof *shown);
    int hubs = 0, rc = shown ? AM_OK : AM_ENOMEM;
    size_t w = 0;

    for (int i = 0; rc == AM_OK && i < s->n_nodes; i++) {
        struct sim_node *n = &s->nodes[i];
        if ((n->kind == SIM_K_HUB || n->kind == SIM_K_MEMBER || n->kind == SIM_K_CLONE) && n->up &&
            n->st)
            rc = own_critical(s, n, &ids);
    }
    if (rc == AM_OK && ids.n) { /* a cloned key's needs are in both halves' views: once */
        qsort(ids.id, ids.n, RELIEF_ID_LEN, cmp_id);
        for (size_t i = 0; i < ids.n; i++)
            if (w == 0 || memcmp(ids.id[w - 1], ids.id[i], RELIEF_ID_LEN) != 0)
                memmove(ids.id[w++], ids.id[i], RELIEF_ID_LEN);
        ids.n = w;
    }
    for (int i = 0; rc == AM_OK && i < s->n_nodes; i++) {
        struct sim_node *n = &s->nodes[i];
        if (n->kind == SIM_K_HUB && n->up && n->st &&
            (rc = hub_shows(n, &ids, &shown[hubs])) == AM_OK)
            hubs++;
    }
    if (rc == AM_OK && hubs > 0) {
        qsort(shown, (size_t)hubs, sizeof *shown, cmp_u64);
        s->r.crit_taken = 1;
        s->r.crit_total = ids.n;
        s->r.crit_min = shown[0];
        s->r.crit_median = shown[(hubs - 1) / 2];
    }
    free(ids.id);
    free(shown);
    return rc;
}

static void ratio(char *b, size_t cap, uint64_t num, uint64_t den, int percent)
{
    if (!den)
        snprintf(b, cap, "n/a");
    else if (percent)
        snprintf(b, cap, "%" PRIu64 ".%02" PRIu64 "%%", num * 100 / den, (num * 10000 / den) % 100);
    else
        snprintf(b, cap, "%" PRIu64 ".%03" PRIu64, num / den, (num * 1000 / den) % 1000);
}

/* num / den as a JSON number to three decimals (as ratio() prints it), null when den is 0. */
static json_t *milli(uint64_t num, uint64_t den)
{
    if (!den)
        return json_null();
    return json_real((double)(num / den) + (double)((num * 1000 / den) % 1000) / 1000.0);
}

void sim_report(struct sim *s, uint64_t seed, int json, FILE *out)
{
    const struct sim_result *r = &s->r;
    const struct sim_config *c = s->c;
    char t1[32], t2[32], t3[32], t4[32], t5[32], bpe[32], cpe[32], dpe[32], sum[32];
    uint64_t entry_bytes = r->bytes > r->summary_bytes ? r->bytes - r->summary_bytes : 0;
    int forked = r->forked_authors;
    const char *policy = c->fp_policy == SIM_FP_ONE ? "one" : "per-branch";
    sim_fmt_dur(t1, sizeof t1, r->last_write);
    sim_fmt_dur(t2, sizeof t2, r->last_heal);
    sim_fmt_dur(t3, sizeof t3, r->converged_at);
    sim_fmt_dur(t4, sizeof t4, r->forks_at);
    sim_fmt_dur(t5, sizeof t5, c->cut_until);
    ratio(bpe, sizeof bpe, r->bytes, r->delivered, 0);
    ratio(cpe, sizeof cpe, r->received, r->delivered, 0);
    ratio(dpe, sizeof dpe, r->duplicates, r->delivered, 0);
    ratio(sum, sizeof sum, r->summary_bytes, entry_bytes, 1);
    if (json) {
        /* the ratios are JSON numbers to three decimals, null without deliveries */
        json_t *o = json_pack(
            "{s:o,s:o,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:f,s:b,s:i,"
            "s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:s}",
            "scenario", out_json_strz(c->name), "seed", out_json_u64(seed), "nodes", r->nodes,
            "counted", r->counted, "clusters", c->clusters, "members", c->members, "runners",
            c->runners, "authors", s->n_authors, "forked_authors", forked, "entries_written",
            out_json_u64(r->entries_written), "events", out_json_u64(r->events), "contacts",
            out_json_u64(r->contacts), "last_write_ms", out_json_u64(r->last_write / 1000),
            "last_heal_ms", out_json_u64(r->last_heal / 1000), "converged", r->converged,
            "converged_ms", out_json_u64(r->converged_at / 1000), "round_ms",
            out_json_u64(c->round / 1000), "rounds_after", (double)r->rounds_milli / 1000.0,
            "fork_evidence_everywhere", r->forks_everywhere, "fork_evidence_missing",
            r->forks_missing, "fork_evidence_ms", out_json_u64(r->forks_at / 1000),
            "entries_delivered", out_json_u64(r->delivered), "entries_received",
            out_json_u64(r->received), "duplicates", out_json_u64(r->duplicates), "fork_entries",
            out_json_u64(r->fork_entries), "refused", out_json_u64(r->refused), "bytes",
            out_json_u64(r->bytes), "summary_bytes", out_json_u64(r->summary_bytes), "entry_bytes",
            out_json_u64(entry_bytes), "bytes_per_entry", milli(r->bytes, r->delivered),
            "copies_per_entry", milli(r->received, r->delivered), "duplicates_per_entry",
            milli(r->duplicates, r->delivered), "summary_share", sum);
        if (o &&
            (json_object_update_new(
                 o,
                 json_pack(
                     "{s:o,s:o,s:o,s:o,s:i,s:i,s:s,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}",
                     "peak_queue", out_json_u64(r->peak_queue), "peak_node_sync_mem",
                     out_json_u64(r->peak_node_mem), "peak_store", out_json_u64(r->peak_store),
                     "peak_view_cache", out_json_u64(r->peak_cache), "fingerprints", r->fp_groups,
                     "fingerprints_unexplained", r->fp_unexplained, "fingerprint_policy", policy,
                     "fingerprints_ok", r->fp_ok, "crashes", out_json_u64(r->crashes), "rekeys",
                     out_json_u64(r->rekeys), "refused_appends", out_json_u64(r->refused_appends),
                     "garbage_contacts", out_json_u64(r->garbage_contacts), "garbage_closed",
                     out_json_u64(r->garbage_closed), "garbage_lost", out_json_u64(r->garbage_lost),
                     "future_stamped", out_json_u64(r->future_stamped), "ok", r->ok)) ||
             json_object_update_new(
                 o, json_pack("{s:o,s:o,s:s}", "entries_missing", out_json_u64(r->entries_missing),
                              "rotations", out_json_u64(r->rotations), "on_fork",
                              c->on_fork == SIM_ON_FORK_ROTATE ? "rotate" : "reinit")))) {
            json_decref(o);
            o = NULL;
        }
        if (o && c->cut_pct &&
            json_object_update_new(
                o, json_pack("{s:i,s:o,s:o,s:b,s:b,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o}", "cut_pct",
                             (int)c->cut_pct, "cut_until_ms", out_json_u64(c->cut_until / 1000),
                             "cuts", out_json_u64(r->cuts), "lane", c->lane != SIM_LANE_OFF,
                             "critical_taken", r->crit_taken, "critical_total",
                             out_json_u64(r->crit_total), "critical_min", out_json_u64(r->crit_min),
                             "critical_median", out_json_u64(r->crit_median), "lane_added",
                             out_json_u64(r->lane_added), "baseline_converged", r->base_converged,
                             "baseline_critical_total", out_json_u64(r->base_total),
                             "baseline_critical_min", out_json_u64(r->base_min),
                             "baseline_critical_median", out_json_u64(r->base_median)))) {
            json_decref(o);
            o = NULL;
        }
        if (out_json_put(out, o))
            fprintf(stderr, "aidmesh-sim: cannot write the JSON report\n");
        return;
    }
    fprintf(out, "aidmesh-sim: scenario %s, seed %" PRIu64 "\n", c->name, seed);
    fprintf(out,
            "  nodes                 %d (%d clusters of 1 hub + %d members, %d runners, %d "
            "clones, %d garbage peers); %d must converge\n",
            r->nodes, c->clusters, c->members, c->runners, c->n_clones, c->n_garbage, r->counted);
    fprintf(out,
            "  entries written       %" PRIu64 " by %d authors (%d forked), every branch and "
            "succession\n",
            r->entries_written, s->n_authors, forked);
    fprintf(out, "  entries missing       %" PRIu64 " on the node that lacks most: %s\n",
            r->entries_missing, r->entries_missing ? "FAILED" : "ok");
    fprintf(out, "  events, contacts      %" PRIu64 ", %" PRIu64 "\n", r->events, r->contacts);
    fprintf(out, "  last write, heal      %s, %s\n", t1, r->last_heal ? t2 : "none");
    if (r->converged)
        fprintf(out,
                "  converged             yes, at %s: %" PRIu64 ".%03" PRIu64
                " contact rounds after the last write or heal (target <= 3)\n",
                t3, r->rounds_milli / 1000, r->rounds_milli % 1000);
    else
        fprintf(out, "  converged             NO (gave up at the scenario's 'until')\n");
    if (forked)
        fprintf(out, "  fork evidence         %s (%s)\n",
                r->forks_everywhere ? "on every node" : "NOT on every node",
                c->evidence_required ? "required" : "reported only");
    if (forked && r->forks_everywhere)
        fprintf(out, "  fork evidence at      %s\n", t4);
    if (forked && !r->forks_everywhere) {
        char who[1024];
        sim_forks_missing(s, who, sizeof who);
        fprintf(out, "  no evidence on        %d nodes: %s\n", r->forks_missing, who);
    }
    fprintf(out,
            "  entries delivered     %" PRIu64 " new, %" PRIu64 " received, %" PRIu64
            " duplicates, %" PRIu64 " first of a branch, %" PRIu64 " refused\n",
            r->delivered, r->received, r->duplicates, r->fork_entries, r->refused);
    fprintf(out, "  bytes per entry       %s (%" PRIu64 " bytes sent in all)\n", bpe, r->bytes);
    fprintf(out,
            "  copies per entry      %s received per entry stored (target <= 1.5); %s "
            "duplicates\n",
            cpe, dpe);
    fprintf(out, "  summary / entry bytes %s (%" PRIu64 " / %" PRIu64 "; target <= 5%%)\n", sum,
            r->summary_bytes, entry_bytes);
    fprintf(out, "  peak output queue     %" PRIu64 " bytes (one session)\n", r->peak_queue);
    fprintf(out, "  peak sync memory      %" PRIu64 " bytes (one node, estimated)\n",
            r->peak_node_mem);
    fprintf(out,
            "  store, view cache     %" PRIu64 ", %" PRIu64 " bytes (largest node, at the end)\n",
            r->peak_store, r->peak_cache);
    fprintf(out, "  view fingerprints     %d distinct", r->fp_groups);
    if (r->fp_groups > 1)
        fprintf(out, "; %d not explained by forked branches", r->fp_unexplained);
    fprintf(out, " (policy %s): %s\n", policy, r->fp_ok ? "ok" : "FAILED");
    fprintf(out,
            "  crashes, rotations    %" PRIu64 ", %" PRIu64 " (%" PRIu64
            " re-keys by init --force; %" PRIu64 " appends refused on a forked identity)\n",
            r->crashes, r->rotations, r->rekeys, r->refused_appends);
    fprintf(out,
            "  garbage contacts      %" PRIu64 ", %" PRIu64 " closed by the honest side with an "
            "error, %" PRIu64 " entries lost\n",
            r->garbage_contacts, r->garbage_closed, r->garbage_lost);
    fprintf(out, "  far-future stamps     %" PRIu64 " entries stored with a stamp > 10 min ahead\n",
            r->future_stamped);
    if (c->cut_pct) {
        char x[32], y[32], xm[32], ym[32];
        ratio(x, sizeof x, r->crit_min, r->crit_total, 1);
        ratio(xm, sizeof xm, r->crit_median, r->crit_total, 1);
        ratio(y, sizeof y, r->base_min, r->base_total, 1);
        ratio(ym, sizeof ym, r->base_median, r->base_total, 1);
        fprintf(out,
                "  short contacts        cut at %u%% of the backlog until %s: %" PRIu64
                " contacts cut; lane %s, %" PRIu64 " entries taken into a lane\n",
                c->cut_pct, t5, r->cuts, c->lane == SIM_LANE_OFF ? "off" : "on", r->lane_added);
        if (!r->crit_taken)
            fprintf(out, "  critical open needs   no figure: the run ended before the cut phase "
                         "did: FAILED\n");
        else {
            /* the fewest any hub shows; the median beside it */
            fprintf(out, "critical open needs delivered at %u%% cut: %s", c->cut_pct,
                    r->crit_total ? x : "n/a (none written)");
            if (r->baseline)
                fprintf(out, " (log order: %s)", r->base_taken && r->base_total ? y : "n/a");
            fprintf(out, "\n");
            fprintf(out,
                    "  critical open needs   %" PRIu64 " written; hubs show at least %" PRIu64
                    ", median %" PRIu64 " (%s)",
                    r->crit_total, r->crit_min, r->crit_median, xm);
            if (r->baseline)
                fprintf(out,
                        "; log order: %" PRIu64 " written, at least %" PRIu64 ", median %" PRIu64
                        " (%s)",
                        r->base_total, r->base_min, r->base_median, ym);
            fprintf(out, "\n");
        }
        if (c->critical_min_pct)
            fprintf(out, "  critical required     %u%% on every hub: %s\n", c->critical_min_pct,
                    r->crit_total &&
                            r->crit_min * 100 >= (uint64_t)c->critical_min_pct * r->crit_total
                        ? "ok"
                        : "FAILED");
        if (r->baseline)
            fprintf(out, "  log-order run         %s\n",
                    r->base_converged ? "converged" : "did NOT converge: FAILED");
    }
    fprintf(out, "  result                %s\n", r->ok ? "PASS" : "FAIL");
}
