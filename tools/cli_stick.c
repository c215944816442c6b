/*
 * cli_stick.c: `aidmesh stick sync PATH` and `aidmesh stick status PATH`: the sneakernet
 * (PROTOCOL.md section "Stick"). Output for people on stdout, progress and errors on
 * stderr; --json gives one JSON document on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "am_grow.h"
#include "cli.h"
#include "out.h"
#include "stick_node.h"
#include "syncstore.h"

enum { OPT_MAX_MB = 3000, OPT_SCAN, OPT_NO_WRITE }; /* home, json, help: cli.h's */

static const char stick_help[] =
    "usage: aidmesh stick sync PATH [--max-mb N] [--json] [--home DIR]\n"
    "       aidmesh stick status PATH [--scan] [--json] [--home DIR]\n"
    "\n"
    "A USB stick (FAT32 or exFAT) carries the records of this relief network from site to\n"
    "site: every site reads what is new on it and tops it up. PATH is where the stick is\n"
    "mounted (e.g. /media/usb0); its records live in PATH/AIDMESH/<network id>/, readable\n"
    "only with this network's key.\n"
    "\n"
    "  sync    imports what this node lacks (checked like records from the network), then\n"
    "          writes what the stick lacks, the visits table and the manifest, and says\n"
    "          when it is safe to unplug. The first sync on a blank stick sets it up for\n"
    "          this network. Syncing the same stick twice changes nothing.\n"
    "          When the stick fills up, the nodes that opened the most needed open needs\n"
    "          (in `need list` order) go first in each turn, then those the visited sites\n"
    "          lack most; each node's oldest missing records first; the rest is counted\n"
    "          and reported.\n"
    "  status  what the stick carries, free space, the sites it visited and when, and\n"
    "          which of them are behind what this node knows. Writes nothing.\n"
    "\n"
    "  --max-mb N  write at most N MiB to the stick in this sync\n"
    "  --scan      status: read every segment instead of trusting the manifest\n"
    "  --json      print the result as one JSON document\n"
    "\n"
    "Exit status: 0 when the sync ran (also when the stick filled up or held damage: the\n"
    "output says so), 1 on failure, 2 on a usage error, 4 when the sync ran but this node\n"
    "refused some of what the stick carries (entries with a bad signature, a broken link\n"
    "or a gap, entries that do not decode, segment files of another network): the output\n"
    "names each author (short id) with the count and the reason.\n";

static void size_text(char buf[32], uint64_t b)
{
    if (b < 1024)
        snprintf(buf, 32, "%llu bytes", (unsigned long long)b);
    else if (b < (1ull << 20))
        snprintf(buf, 32, "%.1f KiB", (double)b / 1024.0);
    else if (b < (1ull << 30))
        snprintf(buf, 32, "%.1f MiB", (double)b / 1048576.0);
    else
        snprintf(buf, 32, "%.2f GiB", (double)b / 1073741824.0);
}

/* ---- progress ---------------------------------------------------------------------------- */

struct prog {
    int tty, shown, last_step;
    double last;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_progress(void *ctx, int phase, uint64_t done, uint64_t total)
{
    struct prog *p = ctx;
    const char *what = phase == STICK_PHASE_IMPORT ? "reading the stick" : "writing to the stick";
    int pct;
    double now = mono_s();

    /* short phases need no progress */
    if (total == 0 || (phase == STICK_PHASE_IMPORT ? total < (16u << 20) : total < 50000))
        return;
    pct = (int)(done * 100 / total);
    if (p->tty) {
        char d[32], t[32];
        if (now - p->last < 0.25 && done < total)
            return;
        p->last = now;
        if (phase == STICK_PHASE_IMPORT) {
            size_text(d, done);
            size_text(t, total);
        } else {
            out_count(d, done);
            out_count(t, total);
        }
        fprintf(stderr, "\r%s: %3d%% (%s of %s)   ", what, pct, d, t);
        p->shown = 1;
    } else if (pct / 10 != p->last_step) {
        p->last_step = pct / 10;
        fprintf(stderr, "%s: %d%%\n", what, pct);
    }
    fflush(stderr);
}

static void progress_end(struct prog *p)
{
    if (p->tty && p->shown)
        fputc('\n', stderr);
    p->shown = 0;
    p->last_step = -1;
}

/* ---- sync -------------------------------------------------------------------------------- */

/* Sets "damage" (the damage listed) and "damage_count" (all found) in o. */
static void json_damage(json_t *o, const struct stick_report *r)
{
    size_t n = r->n_damage < STICK_DAMAGE_MAX ? (size_t)r->n_damage : STICK_DAMAGE_MAX;
    static const char *kinds[] = {"", "cut", "bad", "trailing", "record", "manifest"};
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct stick_damage *d = &r->damage[i];
        char text[400];
        stick_node_damage_text(d, text, sizeof text);
        json_array_append_new(a, json_pack("{s:o,s:s,s:o,s:o,s:o}", "file", out_json_strz(d->file),
                                           "kind", d->kind < 6 ? kinds[d->kind] : "?", "offset",
                                           out_json_u64(d->offset), "lost", out_json_u64(d->lost),
                                           "text", out_json_strz(text)));
    }
    json_object_set_new(o, "damage", a);
    json_object_set_new(o, "damage_count", out_json_u64(r->n_damage));
}

static void print_damage(const struct stick_report *r)
{
    size_t n = r->n_damage < STICK_DAMAGE_MAX ? (size_t)r->n_damage : STICK_DAMAGE_MAX;
    for (size_t i = 0; i < n; i++) {
        char text[400];
        stick_node_damage_text(&r->damage[i], text, sizeof text);
        printf("damage: %s\n", text);
    }
    if (r->n_damage > n)
        printf("damage: ... and %llu more findings\n", (unsigned long long)(r->n_damage - n));
}

/* Exit status of a sync that ran but refused something (the help and the man page say so). */
#define STICK_EXIT_REFUSED 4

/* Whether this node refused anything the stick carries. */
static int refused_any(const struct stick_report *r)
{
    return r->refused || r->malformed || r->foreign;
}

/* One line per refused author and reason, then the other refusals. */
static void print_refusals(const struct stick_report *r)
{
    char text[300];
    if (!refused_any(r))
        return;
    printf("refused, not imported:\n");
    for (size_t i = 0; i < r->refusals.n && i < SYNC_REFUSALS_MAX; i++) {
        syncstore_refusal_text(&r->refusals.r[i], text, sizeof text);
        printf("  %s\n", text);
    }
    if (r->refusals.unlisted)
        printf("  %llu more entries from other authors\n",
               (unsigned long long)r->refusals.unlisted);
    if (r->malformed)
        printf("  %llu entr%s in this network's segments that do%s not decode: malformed (see the "
               "damage lines)\n",
               (unsigned long long)r->malformed, r->malformed == 1 ? "y" : "ies",
               r->malformed == 1 ? "es" : "");
    if (r->foreign)
        printf("  %llu segment file%s of another network (left in place)\n",
               (unsigned long long)r->foreign, r->foreign == 1 ? "" : "s");
    printf("nothing of them was stored; if it happens again, run `aidmesh verify` on that "
           "author's node\n");
}

static void print_sync(const char *path, const struct node *n, const struct stick_report *r)
{
    char id[2 * AM_NETID_LEN + 1], a[32], b[32], c[32], d[32];
    stick_node_netid_hex(n->netid, id);
    size_text(b, r->stick_bytes);
    printf("stick %s, network %s%s: %llu segment%s, %s\n", path, id,
           r->created ? " (set up now)" : "", (unsigned long long)r->segments,
           r->segments == 1 ? "" : "s", b);
    /* a branch's first entry is stored like any other (counted apart by the store) */
    out_count(a, r->added + r->forks);
    out_count(c, r->read);
    out_count(d, r->duplicate);
    printf("imported %s new entr%s (read %s, %s already here", a,
           r->added + r->forks == 1 ? "y" : "ies", c, d);
    if (r->capped)
        printf(", %llu kept as evidence only", (unsigned long long)r->capped);
    if (r->refused)
        printf(", %llu refused: listed below", (unsigned long long)r->refused);
    printf(")\n");
    if (r->lane_added)
        printf("%llu urgent record%s (critical and high needs, their stock) came ahead of "
               "%s log%s: shown now, the rest follows with later syncs\n",
               (unsigned long long)r->lane_added, r->lane_added == 1 ? "" : "s",
               r->lane_added == 1 ? "its" : "their", r->lane_added == 1 ? "" : "s");
    if (r->forks)
        printf("%llu of them start%s a branch of a key in use on two machines (both branches "
               "are kept and count): see `aidmesh forks`\n",
               (unsigned long long)r->forks, r->forks == 1 ? "s" : "");
    if (r->capped)
        printf("note: %llu entr%s began a branch of a key past its %d branches: kept as evidence "
               "only, and that key's records no longer count; see `aidmesh forks`\n",
               (unsigned long long)r->capped, r->capped == 1 ? "y" : "ies", AM_LOGS_PER_AUTHOR);
    print_damage(r);
    print_refusals(r);
    if (r->foreign)
        printf("note: %llu segment file%s in this network's folder name%s another network (or "
               "%s a damaged network id): left in place untouched; only this network's "
               "segments are read\n",
               (unsigned long long)r->foreign, r->foreign == 1 ? "" : "s",
               r->foreign == 1 ? "s" : "", r->foreign == 1 ? "has" : "have");
    if (r->acknowledged)
        printf("note: %llu segment%s cut short earlier (already reported); the rest of the stick "
               "is clean\n",
               (unsigned long long)r->acknowledged, r->acknowledged == 1 ? " was" : "s were");
    if (r->readonly_why == AM_EPERM)
        printf("nothing was written: the stick is read-only\n");
    else {
        out_count(a, r->exported);
        size_text(b, r->written_bytes);
        if (r->exported || r->evidence)
            printf("exported %s entr%s from %llu author%s%s (%s written in %llu new "
                   "segment%s)\n",
                   a, r->exported == 1 ? "y" : "ies", (unsigned long long)r->exported_authors,
                   r->exported_authors == 1 ? "" : "s",
                   r->evidence ? ", and entries kept as evidence only" : "", b,
                   (unsigned long long)r->new_segments, r->new_segments == 1 ? "" : "s");
        else if (!r->added && !r->forks && !r->new_segments && !r->manifest_written)
            printf("nothing to exchange: the stick and this node already hold the same "
                   "records\n");
        else
            printf("exported nothing: the stick already held everything this node has%s\n",
                   r->visit_written ? " (this visit was recorded)" : "");
        if (r->lane_out)
            printf("%llu urgent record%s (critical and high needs, their stock) went on the "
                   "stick first, ahead of %s log%s\n",
                   (unsigned long long)r->lane_out, r->lane_out == 1 ? "" : "s",
                   r->lane_out == 1 ? "its" : "their", r->lane_out == 1 ? "" : "s");
        if (r->cut_notes)
            printf("the damaged segment%s %s noted and cut back: the stick is clean again\n",
                   r->cut_notes == 1 ? "" : "s", r->cut_notes == 1 ? "was" : "were");
        if (r->full && r->unfit_entries) {
            out_count(a, r->unfit_entries);
            printf("the stick is full: %s entries from %llu author%s did not fit. Written "
                   "first were the authors the visited sites lack, each author's oldest "
                   "missing entries first. The stick stays valid: carry the rest on another "
                   "stick, or free space on this one\n",
                   a, (unsigned long long)r->unfit_authors, r->unfit_authors == 1 ? "" : "s");
        } else if (r->full) {
            printf("the stick is full: every record fit, but not %s. The stick stays valid; "
                   "free space on it, and the next sync writes it\n",
                   r->visit_written ? "the stick's own bookkeeping (its index or a damage note)"
                                    : "the note of this visit (for `stick status`)");
        }
    }
    out_count(a, r->stick_entries);
    printf("the stick now carries %s entr%s from %llu author%s", a,
           r->stick_entries == 1 ? "y" : "ies", (unsigned long long)r->stick_authors,
           r->stick_authors == 1 ? "" : "s");
    if (r->free_bytes != UINT64_MAX) {
        size_text(b, r->free_bytes);
        printf("; %s free", b);
    }
    printf("\n");
    printf("safe to unplug\n");
}

static void json_sync(const char *path, const struct node *n, const struct stick_report *r, int rc)
{
    char id[2 * AM_NETID_LEN + 1], other[2 * AM_NETID_LEN + 1], text[600] = "";
    json_t *o;
    stick_node_netid_hex(n->netid, id);
    stick_node_netid_hex(r->other_netid, other);
    if (rc != AM_OK)
        stick_node_error_text(rc, r, path, text, sizeof text);
    /* imported.added: as the store counts it, without a branch's first entry (in forks);
     * imported.stored: every entry stored */
    o = json_pack("{s:b,s:o,s:s,s:o,s:s?,s:b,s:o,s:o,s:{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}}", "ok",
                  rc == AM_OK, "path", out_json_strz(path), "network_id", id, "error",
                  rc != AM_OK ? out_json_strz(text) : json_null(), "other_network_id",
                  r->location == STICK_LOC_OTHER ? other : NULL, "created", r->created, "segments",
                  out_json_u64(r->segments), "stick_bytes", out_json_u64(r->stick_bytes),
                  "imported", "read", out_json_u64(r->read), "added", out_json_u64(r->added),
                  "duplicate", out_json_u64(r->duplicate), "forks", out_json_u64(r->forks),
                  "refused", out_json_u64(r->refused), "malformed", out_json_u64(r->malformed),
                  "stored", out_json_u64(r->added + r->forks), "evidence_only",
                  out_json_u64(r->capped));
    if (o) /* the lane: entries ahead of their logs, read from LANE records and written */
        json_object_set_new(o, "lane",
                            json_pack("{s:o,s:o,s:o}", "read", out_json_u64(r->lane_read), "added",
                                      out_json_u64(r->lane_added), "written",
                                      out_json_u64(r->lane_out)));
    if (o) {
        json_t *a = json_array();
        json_damage(o, r);
        for (size_t i = 0; i < r->refusals.n && i < SYNC_REFUSALS_MAX; i++) {
            const struct sync_refusal *f = &r->refusals.r[i];
            static const uint8_t unknown[AM_PK_LEN];
            char ah[2 * AM_PK_LEN + 1], line[300];
            out_hex(ah, f->author, AM_PK_LEN);
            syncstore_refusal_text(f, line, sizeof line);
            json_array_append_new(
                a, json_pack("{s:o,s:s,s:o,s:o}", "author",
                             memcmp(f->author, unknown, AM_PK_LEN) ? json_string(ah) : json_null(),
                             "reason", am_strerror(f->reason), "entries", out_json_u64(f->count),
                             "text", out_json_strz(line)));
        }
        json_object_set_new(o, "refusals", a);
        json_object_set_new(o, "refused_unlisted", out_json_u64(r->refusals.unlisted));
    }
    if (o &&
        json_object_update_new(
            o,
            json_pack("{s:o,s:o,s:o,s:b,s:{s:o,s:o,s:o,s:o,s:o},s:o,s:b,s:{s:o,s:o},s:o,"
                      "s:b,s:b,s:{s:o,s:o,s:o,s:o},s:b}",
                      "acknowledged", out_json_u64(r->acknowledged), "newer",
                      out_json_u64(r->newer), "foreign", out_json_u64(r->foreign), "readonly",
                      r->readonly_why == AM_EPERM, "exported", "entries", out_json_u64(r->exported),
                      "authors", out_json_u64(r->exported_authors), "evidence",
                      out_json_u64(r->evidence), "bytes_written", out_json_u64(r->written_bytes),
                      "new_segments", out_json_u64(r->new_segments), "to_export",
                      out_json_u64(r->to_export), "full", r->full, "unfit", "entries",
                      out_json_u64(r->unfit_entries), "authors", out_json_u64(r->unfit_authors),
                      "cut_notes", out_json_u64(r->cut_notes), "visit_written", r->visit_written,
                      "manifest_written", r->manifest_written, "stick", "entries",
                      out_json_u64(r->stick_entries), "authors", out_json_u64(r->stick_authors),
                      "logs", out_json_u64(r->stick_logs), "free_bytes",
                      r->free_bytes == UINT64_MAX ? json_null() : out_json_u64(r->free_bytes),
                      "safe_to_unplug", 1))) {
        json_decref(o);
        o = NULL;
    }
    out_json_put(stdout, o);
}

static int stick_sync_cmd(struct cli *c, const char *path, uint64_t max_bytes)
{
    struct stick_report r;
    struct prog p = {isatty(2), 0, -1, 0};
    struct node n;
    int rc;

    if (cli_open(c, &n, NULL))
        return 1;
    rc = stick_node_sync(&n, path, STICK_F_CREATE, max_bytes, on_progress, &p, &r);
    progress_end(&p);
    if (c->json) {
        json_sync(path, &n, &r, rc);
    } else if (rc != AM_OK) {
        char text[600];
        stick_node_error_text(rc, &r, path, text, sizeof text);
        cli_err("%s", text);
        if (r.location == STICK_LOC_OURS)
            fprintf(stderr, "aidmesh: nothing is being written to the stick any more: it can "
                            "be unplugged; run `aidmesh stick sync` again to finish\n");
    } else {
        print_sync(path, &n, &r);
    }
    node_close(&n);
    return rc != AM_OK ? 1 : refused_any(&r) ? STICK_EXIT_REFUSED : 0;
}

/* ---- status ------------------------------------------------------------------------------ */

struct nheads {
    struct sync_head *h;
    size_t n, cap;
};

static int add_head(void *ctx, const struct sync_head *h)
{
    struct nheads *v = ctx;
    if (AM_GROW(v->h, v->cap, v->n + 1, 64) != AM_OK)
        return AM_ENOMEM;
    v->h[v->n++] = *h;
    return 0;
}

static int cmp_author(const void *a, const void *b)
{
    return memcmp(a, b, AM_PK_LEN);
}

static void when_text(char buf[64], uint64_t ms, uint64_t now)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char day[32];
    uint64_t ago = now > ms ? (now - ms) / 1000 : 0;
    localtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y-%m-%d %H:%M", &tm);
    if (ago < 120)
        snprintf(buf, 64, "%s (just now)", day);
    else if (ago < 7200)
        snprintf(buf, 64, "%s (%llu min ago)", day, (unsigned long long)(ago / 60));
    else if (ago < 172800)
        snprintf(buf, 64, "%s (%llu h ago)", day, (unsigned long long)(ago / 3600));
    else
        snprintf(buf, 64, "%s (%llu days ago)", day, (unsigned long long)(ago / 86400));
}

static int stick_status_cmd(struct cli *c, const char *path, int force_scan)
{
    struct stick_view v;
    struct stick_report r;
    struct sync_store ss;
    struct nheads nh = {0};
    struct node n;
    uint64_t node_lacks = 0, stick_lacks = 0, now;
    uint8_t fp[SYNC_FP_LEN];
    char id[2 * AM_NETID_LEN + 1], fph[2 * SYNC_FP_LEN + 1], a[32], b[32], e[32];
    int rc;

    if (cli_open(c, &n, NULL))
        return 1;
    rc = stick_node_inspect(&n, path, force_scan, &v, &r);
    if (rc != AM_OK) {
        char text[600];
        stick_node_error_text(rc, &r, path, text, sizeof text);
        if (c->json)
            out_json_put(stdout, json_pack("{s:b,s:o,s:o}", "ok", 0, "path", out_json_strz(path),
                                           "error", out_json_strz(text)));
        else
            cli_err("%s", text);
        node_close(&n);
        return 1;
    }
    syncstore_init(&ss, n.store);
    if (ss.heads(ss.ctx, add_head, &nh) != AM_OK) {
        cli_err("cannot read the store");
        stick_view_free(&v);
        free(nh.h);
        node_close(&n);
        return 1;
    }
    sync_fingerprint(nh.h, nh.n, fp);
    out_hex(fph, fp, sizeof fp);
    for (size_t i = 0; i < v.n_authors; i++) {
        const struct sync_head *h =
            nh.n ? bsearch(v.authors[i].author, nh.h, nh.n, sizeof *nh.h, cmp_author) : NULL;
        uint64_t mine = h ? h->seq : 0;
        if (v.authors[i].seq > mine)
            node_lacks += v.authors[i].seq - mine;
    }
    for (size_t i = 0; i < nh.n; i++) {
        const struct stick_author *sa =
            v.n_authors
                ? bsearch(nh.h[i].author, v.authors, v.n_authors, sizeof *v.authors, cmp_author)
                : NULL;
        uint64_t s = sa ? sa->seq : 0;
        if (nh.h[i].seq > s)
            stick_lacks += nh.h[i].seq - s;
    }
    stick_node_netid_hex(n.netid, id);
    now = node_wall_ms();
    if (c->json) {
        json_t *authors = json_array(), *visits = json_array(), *o;
        for (size_t i = 0; i < v.n_authors; i++) {
            char ah[65];
            if (!v.authors[i].entries)
                continue;
            out_hex(ah, v.authors[i].author, AM_PK_LEN);
            json_array_append_new(authors, json_pack("{s:s,s:o,s:o}", "author", ah, "seq",
                                                     out_json_u64(v.authors[i].seq), "entries",
                                                     out_json_u64(v.authors[i].entries)));
        }
        for (size_t i = 0; i < v.n_visits; i++) {
            const struct stick_visit *s = &v.visits[i];
            uint64_t be, ba;
            char ah[65], ih[33], when[32];
            stick_visit_behind(&v, s, nh.h, nh.n, &be, &ba);
            out_hex(ah, s->author, AM_PK_LEN);
            out_hex(ih, s->install, AM_INSTALL_ID_LEN);
            out_iso_ms(when, s->time_ms);
            json_array_append_new(
                visits, json_pack("{s:o,s:s,s:s,s:s,s:o,s:b,s:o,s:o}", "name",
                                  out_json_strz(s->name), "author", ah, "install_id", ih, "left_at",
                                  when, "left_at_ms", out_json_u64(s->time_ms), "this_node",
                                  memcmp(s->author, n.pk, AM_PK_LEN) == 0, "behind_entries",
                                  out_json_u64(be), "behind_authors", out_json_u64(ba)));
        }
        o = json_pack("{s:b,s:o,s:s,s:I,s:o,s:o,s:o,s:o,s:b,s:o,s:{s:s,s:o,s:o},s:o,s:o}", "ok", 1,
                      "path", out_json_strz(path), "network_id", id, "segments",
                      (json_int_t)v.n_segs, "bytes", out_json_u64(v.bytes), "entries",
                      out_json_u64(v.entries), "authors", out_json_u64(r.stick_authors),
                      "free_bytes",
                      r.free_bytes == UINT64_MAX ? json_null() : out_json_u64(r.free_bytes),
                      "from_manifest", v.from_manifest, "generation", out_json_u64(v.generation),
                      "node", "fingerprint", fph, "lacks", out_json_u64(node_lacks), "stick_lacks",
                      out_json_u64(stick_lacks), "stick_authors", authors, "visits", visits);
        if (o) {
            json_damage(o, &r);
            json_object_set_new(o, "manifest_slots", json_integer(r.manifest_slots));
        }
        out_json_put(stdout, o);
    } else {
        size_text(b, v.bytes);
        out_count(e, v.entries);
        printf("stick %s (network %s)\n", path, id);
        printf("  carries:   %s entries from %llu author%s", e, (unsigned long long)r.stick_authors,
               r.stick_authors == 1 ? "" : "s");
        printf(" in %zu segment%s, %s", v.n_segs, v.n_segs == 1 ? "" : "s", b);
        if (r.free_bytes != UINT64_MAX) {
            size_text(a, r.free_bytes);
            printf("; %s free\n", a);
        } else {
            printf("; free space unknown (the volume does not say)\n");
        }
        if (v.from_manifest)
            printf("  read from: the manifest (generation %llu); `--scan` reads every segment\n",
                   (unsigned long long)v.generation);
        else
            printf("  read from: a scan of every segment\n");
        out_count(a, node_lacks);
        out_count(b, stick_lacks);
        printf("  this node: lacks %s entries the stick carries; the stick lacks %s of this "
               "node's\n",
               a, b);
        printf("  visits:%s\n", v.n_visits ? "" : "    none yet");
        for (size_t i = 0; i < v.n_visits; i++) {
            const struct stick_visit *s = &v.visits[i];
            uint64_t be, ba;
            char ah[65], when[64], nm[6 * AM_NAME_MAX + 1];
            size_t nmc;
            stick_visit_behind(&v, s, nh.h, nh.n, &be, &ba);
            out_hex(ah, s->author, AM_PK_LEN);
            when_text(when, s->time_ms, now);
            /* another site's name: escaped for the terminal, padded to 20 characters */
            if (s->name[0])
                out_text_esc(nm, sizeof nm, s->name, strlen(s->name), 0, &nmc);
            else
                nmc = (size_t)snprintf(nm, sizeof nm, "(no name)");
            printf("    %s%*s %.8s  left %s  ", nm, nmc < 20 ? (int)(20 - nmc) : 0, "", ah, when);
            if (memcmp(s->author, n.pk, AM_PK_LEN) == 0 && !be)
                printf("this node\n");
            else if (be) {
                out_count(a, be);
                printf("behind this node by %s entries from %llu author%s\n", a,
                       (unsigned long long)ba, ba == 1 ? "" : "s");
            } else {
                printf("up to date with this node\n");
            }
        }
        if (r.n_damage)
            print_damage(&r);
        else
            printf("  damage:    none\n");
    }
    stick_view_free(&v);
    free(nh.h);
    node_close(&n);
    return 0;
}

int cli_cmd_stick(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"max-mb", required_argument, NULL, OPT_MAX_MB},
                                         {"scan", no_argument, NULL, OPT_SCAN},
                                         {0, 0, 0, 0}};
    uint64_t max_bytes = 0;
    int opt, scan = 0;
    const char *sub, *path;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == CLI_OPT_HELP) {
            fputs(stick_help, stdout);
            return 0;
        }
        if (cli_common_opt(c, opt))
            continue;
        switch (opt) {
        case OPT_MAX_MB: {
            char *end;
            unsigned long long mb;
            errno = 0;
            mb = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg || optarg[0] == '-' || mb == 0 || mb > (1ull << 30)) {
                cli_err("stick: --max-mb takes a whole number of MiB, e.g. --max-mb 500");
                return 2;
            }
            max_bytes = mb << 20;
            break;
        }
        case OPT_SCAN:
            scan = 1;
            break;
        default:
            return cli_bad_option("stick", argv);
        }
    }
    if (optind + 2 != argc) {
        cli_err("stick: give sync or status and the stick's folder, e.g. `aidmesh stick sync "
                "/media/usb0` (see `aidmesh stick --help`)");
        return 2;
    }
    sub = argv[optind];
    path = argv[optind + 1];
    if (strcmp(sub, "sync") == 0) {
        if (scan) {
            cli_err("stick sync: --scan is for status (a sync always reads every segment)");
            return 2;
        }
        return stick_sync_cmd(c, path, max_bytes);
    }
    if (strcmp(sub, "status") == 0) {
        if (max_bytes) {
            cli_err("stick status: --max-mb is for sync");
            return 2;
        }
        return stick_status_cmd(c, path, scan);
    }
    cli_err("stick: unknown subcommand '%s': sync or status (see `aidmesh stick --help`)", sub);
    return 2;
}
