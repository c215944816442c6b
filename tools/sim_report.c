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
    char t1[32], t2[32], t3[32], t4[32], bpe[32], cpe[32], dpe[32], sum[32];
    uint64_t entry_bytes = r->bytes > r->summary_bytes ? r->bytes - r->summary_bytes : 0;
    int forked = r->forked_authors;
    const char *policy = c->fp_policy == SIM_FP_ONE ? "one" : "per-branch";
    sim_fmt_dur(t1, sizeof t1, r->last_write);
    sim_fmt_dur(t2, sizeof t2, r->last_heal);
    sim_fmt_dur(t3, sizeof t3, r->converged_at);
    sim_fmt_dur(t4, sizeof t4, r->forks_at);
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
    fprintf(out, "  result                %s\n", r->ok ? "PASS" : "FAIL");
}
