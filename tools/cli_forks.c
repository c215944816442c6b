/*
 * cli_forks.c: `aidmesh forks`: the authors that signed two different entries for one
 * place in their log (PROTOCOL.md §6, "Forks"), with the evidence and what to do, read
 * through the read model (query.h).
 *
 * Never writes; never prints an id it did not read from the store.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "am_err.h"
#include "cli.h"
#include "cli_relief_int.h"
#include "entry.h"
#include "hlc.h"
#include "out.h"

static const char forks_help[] =
    "usage: aidmesh forks [--json] [--home DIR]\n"
    "\n"
    "Lists the nodes whose key signed two different records for one place in their log:\n"
    "the key is in use on two machines (a laptop image copied onto another, a restored\n"
    "backup). Both branches are kept and every record on them counts, on every node alike.\n"
    "For each, the place where the branches part, the first record of each (both signed\n"
    "by that key: the evidence), and what to do. Records from such a node are marked in\n"
    "`need list`, `need show`, `stock show` and on the dashboard. A key that signs more\n"
    "than 8 branches is abusive: further branches are kept as evidence only and none of\n"
    "its records count.\n"
    "\n"
    "What to do: on each machine that has the key, run `aidmesh identity rotate`: the\n"
    "node gets a new key and goes on writing under it, and its first record says which\n"
    "branch of the old key it continues (signed by both keys). Its records stay. Each\n"
    "forked node is listed with the keys that succeeded it (\"succeeded by\"). One key\n"
    "succeeds each branch: a later succession naming a branch that already has one is\n"
    "listed as refused and does not count. If the key is this node's own, this node\n"
    "refuses to write until it has rotated.\n";

static void stamp(char out[32], uint64_t hlc)
{
    if (hlc)
        out_iso_ms(out, hlc_ms(hlc));
    else
        snprintf(out, 32, "unreadable");
}

static json_t *succ_json(const struct query_successor *s)
{
    char a[65], h[65], t[32];
    entry_id_hex(s->author, a);
    out_hex(h, s->head, AM_HASH_LEN);
    stamp(t, s->hlc);
    return json_pack("{s:s,s:s,s:o,s:s,s:b}", "author", a, "rotated_at", t, "seq",
                     out_json_u64(s->seq), "head", h, "refused", s->refused);
}

/* The successors of `author` as a JSON array (empty when none or unreadable). */
static json_t *succs_json(struct query *q, const uint8_t *author)
{
    const struct query_successor *s;
    size_t n;
    json_t *arr = json_array();
    if (query_successors(q, author, &s, &n, NULL) == AM_OK)
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, succ_json(&s[i]));
    return arr;
}

/* "  succeeded by 1a2b... (rotated on DATE), going on from record S (head ...)" lines, and
 * a "refused" line for each second successor of a branch. Returns the successors that
 * count. */
static size_t print_succs(struct query *q, const uint8_t *author, const uint8_t *self)
{
    const struct query_successor *s;
    size_t n, total = 0, counted = 0;
    if (query_successors(q, author, &s, &n, &total) != AM_OK)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char a[65], h[65], t[32];
        const char *me = memcmp(s[i].author, self, AM_PK_LEN) ? "" : " (THIS NODE now)";
        entry_id_hex(s[i].author, a);
        out_hex(h, s[i].head, AM_HASH_LEN);
        stamp(t, s[i].hlc);
        if (s[i].refused) {
            printf("  refused: a second successor for that branch: %.16s%s (rotated on %s)\n"
                   "           names its record %llu (%.16s) too, which an earlier key took "
                   "over;\n"
                   "           it is not a successor (its own records still count)\n",
                   a, me, t, (unsigned long long)s[i].seq, h);
            continue;
        }
        printf("  succeeded by %.16s%s (rotated on %s), going on from its record %llu (%.16s)\n", a,
               me, t, (unsigned long long)s[i].seq, h);
        counted++;
    }
    if (total > n)
        printf("  ... and %zu more successions\n", total - n);
    return counted;
}

static json_t *fork_json(const struct query_fork *f, int mine)
{
    char a[65], k[65], o[65], tk[32], to[32];
    json_t *j = json_object();
    entry_id_hex(f->author, a);
    out_hex(k, f->kept, AM_HASH_LEN);
    out_hex(o, f->other, AM_HASH_LEN);
    stamp(tk, f->kept_hlc);
    stamp(to, f->other_hlc);
    json_object_set_new(j, "author", json_string(a));
    json_object_set_new(j, "this_node", json_boolean(mine));
    json_object_set_new(j, "seq", json_integer((json_int_t)f->seq));
    json_object_set_new(j, "head_seq", json_integer((json_int_t)f->head_seq));
    json_object_set_new(j, "kept", json_string(k));
    json_object_set_new(j, "kept_at", f->kept_hlc ? json_string(tk) : json_null());
    json_object_set_new(j, "evidence", json_string(o));
    json_object_set_new(j, "evidence_at", f->other_hlc ? json_string(to) : json_null());
    json_object_set_new(j, "evidence_only", json_boolean(f->evidence_only));
    return j;
}

int cli_cmd_forks(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0, 0, 0, 0}};
    const struct query_fork *rows;
    struct query *q = NULL;
    struct node n;
    size_t nr, authors = 0;
    int opt, rc = 1, mine_forked = 0;
    size_t unrotated = 0;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(forks_help, stdout);
            return 0;
        }
        if (!k)
            return cli_bad_option("forks", argv);
    }
    if (optind < argc)
        return cli_usage("forks", "unexpected argument '%s'", argv[optind]);
    if (cli_open(c, &n, NULL))
        return 1;
    if (!(q = cli_relief_query(&n, "forks")))
        goto out;
    if ((rc = query_forks(q, &rows, &nr)) != AM_OK) {
        cli_err("forks: cannot read the store: %s", am_strerror(rc));
        rc = 1;
        goto out;
    }
    for (size_t i = 0; i < nr; i++) {
        authors += i == 0 || memcmp(rows[i].author, rows[i - 1].author, AM_PK_LEN) != 0;
        mine_forked |= !memcmp(rows[i].author, n.pk, AM_PK_LEN);
    }
    if (c->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < nr; i++) {
            json_t *j = fork_json(&rows[i], !memcmp(rows[i].author, n.pk, AM_PK_LEN));
            json_object_set_new(j, "successors", succs_json(q, rows[i].author));
            json_array_append_new(arr, j);
        }
        rc = out_json_put(stdout, arr) == 0 ? 0 : 1;
        goto out;
    }
    if (!nr) {
        puts("no forks: every node's key signs one log");
        rc = 0;
        goto out;
    }
    for (size_t i = 0; i < nr; i++) {
        const struct query_fork *f = &rows[i];
        char a[65], k[65], o[65], tk[32], to[32];
        int last = i + 1 == nr || memcmp(f->author, rows[i + 1].author, AM_PK_LEN) != 0;
        int mine = !memcmp(f->author, n.pk, AM_PK_LEN);
        entry_id_hex(f->author, a);
        out_hex(k, f->kept, AM_HASH_LEN);
        out_hex(o, f->other, AM_HASH_LEN);
        stamp(tk, f->kept_hlc);
        stamp(to, f->other_hlc);
        if (i == 0 || memcmp(f->author, rows[i - 1].author, AM_PK_LEN) != 0)
            printf("node %.16s%s: forked; its longest branch here reaches record %llu\n", a,
                   mine ? " (THIS NODE)" : "", (unsigned long long)f->head_seq);
        if (f->evidence_only)
            printf("  record %llu: kept   %.16s (%s)\n"
                   "              other  %.16s (%s), kept as evidence only: the key signed\n"
                   "              more than 8 branches, so none of its records count\n",
                   (unsigned long long)f->seq, k, tk, o, to);
        else
            printf("  record %llu: one branch begins   %.16s (%s)\n"
                   "              another begins     %.16s (%s); both kept, both count\n",
                   (unsigned long long)f->seq, k, tk, o, to);
        if (last && print_succs(q, f->author, n.pk) == 0) {
            printf("  not succeeded yet: no machine with this key has run `aidmesh identity "
                   "rotate`\n");
            unrotated++;
        }
    }
    printf("%zu node%s signed two different records for one place: the key is in use on two "
           "machines.\n",
           authors, authors == 1 ? "" : "s");
    if (!unrotated)
        printf("Each has been succeeded by a new key. A machine that still has an old key "
               "refuses\nto write once it learns of the fork: run `aidmesh identity rotate` "
               "there too.\n");
    else if (mine_forked)
        printf("THIS NODE is one of them: it refuses to write under that key. Run `aidmesh "
               "identity\nrotate` to go on under a new key (its records stay).\n");
    else
        printf("Ask whoever runs %s to run `aidmesh identity rotate` on each machine with\n"
               "the key (their records stay).\n",
               authors == 1 ? "that node" : "those nodes");
    rc = 0;
out:
    query_close(q);
    node_close(&n);
    return rc;
}
