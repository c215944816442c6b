/*
 * cli_identity.c: `aidmesh identity rotate`: this node goes on under a new key after its
 * own key was found in use on two machines (PROTOCOL.md §6 "Forks", 10.4 "succession").
 * Parses its options, calls node_rotate_identity and says what happened and what to do.
 *
 * Never deletes a key file and never prints a secret.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "am_err.h"
#include "cli.h"
#include "entry.h"
#include "out.h"
#include "status.h"

enum { OPT_HELP = CLI_OPT_HELP, OPT_FORCE = 4100 };

static const char identity_help[] =
    "usage: aidmesh identity rotate [--force] [--json] [--home DIR]\n"
    "\n"
    "rotate   give this node a new key and go on writing under it. Use it when this\n"
    "         node's key is marked forked: the key is in use on two machines (a laptop\n"
    "         image copied onto another, a restored backup), so this node refuses to\n"
    "         write (`aidmesh forks` shows it). The first record of the new key is a\n"
    "         succession, signed by both keys, naming the last record of the old key\n"
    "         here: every node then shows that the new key took over from the old one\n"
    "         on this branch. Both machines may rotate: each gets its own new key, naming\n"
    "         its own branch. The node name and network stay; the old\n"
    "         key file is kept beside the new one as identity.key.replaced-TIME.\n"
    "         A running node (`aidmesh run`) greets peers with the old key until it is\n"
    "         restarted.\n"
    "\n"
    "  --force  rotate even though the key is not marked forked (rotation is harmless:\n"
    "           e.g. a key that may have been copied). Nodes show the succession only\n"
    "           once they see the old key forked; the new key's records count at once.\n";

static void print_json(const struct node_rotation *r, int running)
{
    char oldh[65], newh[65], head[65];
    entry_id_hex(r->old_pk, oldh);
    entry_id_hex(r->new_pk, newh);
    out_hex(head, r->head, AM_HASH_LEN);
    out_json_put(stdout, json_pack("{s:s,s:s,s:o,s:s,s:b,s:o,s:b}", "old_author", oldh,
                                   "new_author", newh, "old_seq", out_json_u64(r->seq), "old_head",
                                   head, "was_forked", r->was_forked, "old_key_file",
                                   out_json_strz(r->aside), "restart_node", running));
}

static int rotate(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS, {"force", no_argument, NULL, OPT_FORCE}, {0, 0, 0, 0}};
    struct node_rotation r;
    struct node_status ns;
    struct node n;
    char oldh[65], newh[65], path[AM_HOME_PATH_MAX], derr[64];
    int opt, rc, force = 0, running;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(identity_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt == OPT_FORCE)
            force = 1;
        else
            return cli_bad_option("identity rotate", argv);
    }
    if (optind < argc)
        return cli_usage("identity", "unexpected argument '%s'", argv[optind]);
    if (cli_open(c, &n, NULL))
        return 1;
    rc = node_rotate_identity(&n, force, &r);
    entry_id_hex(r.old_pk, oldh);
    entry_id_hex(r.new_pk, newh);
    home_path(path, c->home, HOME_IDENTITY_NEW);
    node_close(&n);
    switch (rc) {
    case AM_OK:
        break;
    case AM_ESTATE:
        cli_err("identity rotate: this node's key %.16s is not marked forked (no other machine "
                "is known to use it), so it needs no new key; to rotate it anyway, add --force",
                oldh);
        return 1;
    case AM_ENOTFOUND:
        cli_err("identity rotate: this node's key %.16s has written nothing yet, so there is "
                "nothing to take over; give the node a new identity with `aidmesh init --force` "
                "instead",
                oldh);
        return 1;
    case AM_EEXIST:
        if (r.written)
            break;
        cli_err("identity rotate: %s is there already: an earlier rotation stopped half-way. "
                "If `aidmesh log` shows a succession record by another key, move that file over "
                "identity.key to finish it; otherwise delete it and rotate again",
                path);
        return 1;
    case AM_EFULL:
        cli_err("identity rotate: the disk is full; free some space and try again (nothing was "
                "written)");
        return 1;
    default:
        if (!r.written) {
            cli_err("identity rotate: cannot rotate: %s (nothing was written)", am_strerror(rc));
            return 1;
        }
        break;
    }
    if (rc != AM_OK) { /* the succession is stored, the key file swap failed */
        cli_err("identity rotate: the succession by the new key %.16s is written, but the new "
                "key could not replace identity.key (%s): the new key is in %s; move it over "
                "identity.key to finish, and keep the old one",
                newh, am_strerror(rc), path);
        return 1;
    }
    status_init(&ns);
    running = status_ask(c->home, 1000, &ns, derr, sizeof derr) == AM_OK;
    status_free(&ns);
    if (c->json) {
        print_json(&r, running);
        return 0;
    }
    printf("this node's key %.16s was %s; its new key is %.16s (full: %s).\n"
           "The new key's first record names record %llu of the old key as where it goes on:\n"
           "%s"
           "Records are written under the new key from now on; the old key file is kept as\n"
           "%s.\n",
           oldh, r.was_forked ? "in use on two machines" : "rotated on request (--force)", newh,
           newh, (unsigned long long)r.seq,
           r.was_forked
               ? "every node that receives it shows the old key succeeded by the new one.\n"
               : "the old key is not forked, so no node, this one included, shows the "
                 "new key as\nits successor until it sees the old key sign two "
                 "branches (a key in use on two\nmachines); until then `aidmesh verify` "
                 "lists that record as not counted.\n",
           r.aside);
    if (running)
        printf("A node is running on this home: restart it (stop it, then `aidmesh run`) so it "
               "greets\npeers with the new key.\n");
    return 0;
}

int cli_cmd_identity(struct cli *c, int argc, char **argv)
{
    if (cli_subcommand_help(argc, argv, identity_help))
        return argc < 2 ? 2 : 0;
    optind = 1;
    if (strcmp(argv[1], "rotate") == 0)
        return rotate(c, argc - 1, argv + 1);
    return cli_usage("identity", "unknown subcommand '%s'", argv[1]);
}
