/*
 * cli_doctor.c: `aidmesh doctor`: checks the home (keys, permissions, store health, disk and
 * map space, clock), the network interfaces, whether beacons go out and come back on each,
 * who else beacons on the local networks, whether the listen port and static peers answer,
 * and says in plain words why peers are silent (PROTOCOL.md §9.3: "what doctor needs").
 *
 * Each check is one line: ok / warn / FAIL and a sentence that names the value and what to
 * do. --json gives one document for scripts. Exit 0 when nothing failed, 1 otherwise, 2 on
 * usage errors. Every wait is bounded (--listen-wait, --connect-timeout).
 * What it must never do: write to the home or the store (the store is opened read-only),
 * print a secret, or wait without a deadline.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "am_err.h"
#include "beacon.h"
#include "cli.h"
#include "daemon.h"
#include "doctor.h"
#include "entry.h"
#include "invite.h"
#include "out.h"
#include "status.h"
#include "verify.h"

enum {
    OPT_LISTEN_WAIT = 3000,
    OPT_CONNECT_TIMEOUT,
    OPT_PEER,
    OPT_NO_NETWORK,
    OPT_FULL,
    OPT_QUICK,
    OPT_DISC_PORT,
    OPT_CLOCK_OFFSET,
    OPT_DISC_LOOPBACK
};

#define DOC_MAX_CHECKS    192
#define DOC_MSG_MAX       1280          /* a damaged store's advice names the paths twice */
#define DOC_VERIFY_MAX    20000         /* entries verified in full by default (about 1 s) */
#define DOC_DISK_FAIL     (16ULL << 20) /* below this, writes fail soon */
#define DOC_DISK_WARN     (256ULL << 20)
#define DOC_SKEW_WARN_MIN 10           /* AM_HLC_MAX_DRIFT_MS in minutes */
#define DOC_CLOCK_SANE    1704067200LL /* 2024-01-01: a clock before it is wrong */
#define DOC_MAX_PEERS     DAEMON_MAX_PEERS

enum { D_OK, D_WARN, D_FAIL };

struct dcheck {
    const char *section;
    char id[48];
    int st;
    char msg[DOC_MSG_MAX];
};

struct doc {
    struct dcheck checks[DOC_MAX_CHECKS];
    size_t n;
    unsigned fails, warns;
    /* facts */
    int have_keys;
    uint8_t pk[AM_PK_LEN];
    uint8_t *netkey; /* sodium_malloc'd */
    uint8_t netid[AM_NETID_LEN];
    struct doctor_iface ifs[DOCTOR_MAX_IFACES];
    int n_ifs;
    unsigned more_ifs;
    int probed;
    struct doctor_probe probe;
    struct doctor_daemon daemon;
    uint16_t port;
    char peers[DOC_MAX_PEERS][300];
    size_t n_peers;
    struct doctor_tcp peer_tcp[DOC_MAX_PEERS];
    const char *verdict; /* a short code for scripts */
};

static void add(struct doc *d, const char *section, const char *id, int st, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add(struct doc *d, const char *section, const char *id, int st, const char *fmt, ...)
{
    struct dcheck *c;
    va_list ap;

    if (st == D_FAIL)
        d->fails++;
    else if (st == D_WARN)
        d->warns++;
    if (d->n == DOC_MAX_CHECKS)
        return; /* counted above; the list is long enough to act on */
    c = &d->checks[d->n++];
    c->section = section;
    snprintf(c->id, sizeof c->id, "%s", id);
    c->st = st;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
}

static void mib(char out[32], uint64_t bytes)
{
    if (bytes >= (10ULL << 30))
        snprintf(out, 32, "%.0f GiB", (double)bytes / (double)(1ULL << 30));
    else if (bytes >= (1ULL << 30))
        snprintf(out, 32, "%.1f GiB", (double)bytes / (double)(1ULL << 30));
    else if (bytes >= (1ULL << 20))
        snprintf(out, 32, "%.1f MiB", (double)bytes / (double)(1ULL << 20));
    else
        snprintf(out, 32, "%llu KiB", (unsigned long long)(bytes >> 10));
}

static void skew_text(char out[48], int64_t min)
{
    int64_t a = min < 0 ? -min : min;
    const char *dir = min < 0 ? "behind" : "ahead of";
    if (a >= 2 * 24 * 60)
        snprintf(out, 48, "%lld days %s", (long long)(a / (24 * 60)), dir);
    else if (a >= 120)
        snprintf(out, 48, "%lld hours %s", (long long)(a / 60), dir);
    else
        snprintf(out, 48, "%lld minutes %s", (long long)a, dir);
}

/* ---- home --------------------------------------------------------------------------------- */

/* Checks a key file; returns 1 when it may be loaded. */
static int check_key_file(struct doc *d, const char *home, const char *name, const char *what)
{
    char path[AM_HOME_PATH_MAX];
    struct doctor_file f;

    home_path(path, home, name);
    doctor_file_stat(path, &f);
    if (!f.exists) {
        if (f.stat_errno)
            add(d, "home", name, D_FAIL, "%s cannot be looked at: %s", path,
                strerror(f.stat_errno));
        else if (strcmp(name, "identity.key") == 0)
            add(d, "home", name, D_FAIL,
                "%s is missing: this home has no identity; set it up with `aidmesh init` "
                "(or `aidmesh init --join CODE` to join a network), or pass --home DIR",
                path);
        else
            add(d, "home", name, D_FAIL,
                "%s is missing: this node belongs to no network; join one with `aidmesh init "
                "--force --join CODE` (the code comes from `aidmesh invite` on a node of it)",
                path);
        return 0;
    }
    if (!f.regular) {
        add(d, "home", name, D_FAIL,
            "%s is not a plain file (a symlink or a folder?): aidmesh refuses it; put the real "
            "key file there",
            path);
        return 0;
    }
    if (f.mode & 077) {
        add(d, "home", name, D_FAIL,
            "%s can be read by other users (mode %04o): %s must be private; run `chmod 600 %s`",
            path, f.mode, what, path);
        return 0;
    }
    if (!f.owned)
        add(d, "home", name, D_WARN,
            "%s belongs to another user: run aidmesh as the user who owns the home, or "
            "`chown` it",
            path);
    return 1;
}

/* verify_problem_fn: keeps the first problem in words (ctx: char[200]). */
static void first_problem(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t seq,
                          const char *what)
{
    char *first = ctx, hex[65];
    if (first[0])
        return;
    entry_id_hex(author, hex);
    snprintf(first, 200, "author %.16s seq %llu: %s", hex, (unsigned long long)seq, what);
}

static void check_home(struct doc *d, struct cli *c, int full, struct store_stats *st_out)
{
    char path[AM_HOME_PATH_MAX], store_dir[AM_HOME_PATH_MAX], hex[65], netid[2 * AM_NETID_LEN + 1];
    char record[AM_HOME_PATH_MAX], text[DOC_MSG_MAX];
    struct doctor_file hf, rf;
    struct store_damage damage;
    struct store_opts so;
    struct store *s = NULL;
    struct store_stats st;
    struct doctor_disk disk;
    const char *disk_at;
    int rc, id_ok, net_ok;

    memset(st_out, 0, sizeof *st_out);
    doctor_file_stat(c->home, &hf);
    if (!hf.exists) {
        add(d, "home", "home", D_FAIL,
            "no aidmesh node in %s: set one up with `aidmesh init`, or pass --home DIR "
            "(or set AIDMESH_HOME)",
            c->home);
        return;
    }
    if (hf.mode & 022)
        add(d, "home", "home", D_WARN,
            "%s can be changed by other users (mode %04o): run `chmod 700 %s`", c->home, hf.mode,
            c->home);
    else
        add(d, "home", "home", D_OK, "home %s", c->home);

    /* keys, each checked and loaded before the next, so its lines stay together */
    id_ok = check_key_file(d, c->home, "identity.key", "the identity key");
    if (id_ok) {
        uint8_t *sk = sodium_malloc(AM_SK_LEN);
        rc = sk ? home_load_identity(c->home, sk) : AM_ENOMEM;
        home_path(path, c->home, "identity.key");
        if (rc == AM_OK) {
            memcpy(d->pk, sk + AM_SEED_LEN, AM_PK_LEN);
            entry_id_hex(d->pk, hex);
            add(d, "home", "identity.key", D_OK, "identity.key: private (0600), author id %.16s",
                hex);
        } else if (rc == AM_ECORRUPT) {
            add(d, "home", "identity.key", D_FAIL,
                "%s is not an aidmesh key file: restore it from a backup, or start over with "
                "`aidmesh init --force`",
                path);
            id_ok = 0;
        } else {
            add(d, "home", "identity.key", D_FAIL, "cannot read %s: %s", path,
                rc == AM_ESYS ? strerror(errno) : am_strerror(rc));
            id_ok = 0;
        }
        sodium_free(sk);
    }
    net_ok = check_key_file(d, c->home, "network.key", "the network key");
    if (net_ok) {
        uint8_t secret[AM_NETSECRET_LEN];
        rc = home_load_network(c->home, secret);
        home_path(path, c->home, "network.key");
        if (rc == AM_OK) {
            invite_network_key(secret, d->netkey);
            invite_network_id(d->netkey, d->netid);
            out_hex(netid, d->netid, AM_NETID_LEN);
            add(d, "home", "network.key", D_OK, "network.key: private (0600), network id %s",
                netid);
        } else if (rc == AM_ECORRUPT) {
            add(d, "home", "network.key", D_FAIL,
                "%s is not an aidmesh key file: join the network again with `aidmesh init "
                "--force --join CODE`",
                path);
            net_ok = 0;
        } else {
            add(d, "home", "network.key", D_FAIL, "cannot read %s: %s", path,
                rc == AM_ESYS ? strerror(errno) : am_strerror(rc));
            net_ok = 0;
        }
        sodium_memzero(secret, sizeof secret);
    }
    d->have_keys = id_ok && net_ok;

    /* config */
    {
        unsigned bad = 0;
        d->n_peers = doctor_config_peers(c->home, d->peers, DOC_MAX_PEERS, &bad);
        if (bad)
            add(d, "home", "config", D_WARN,
                "%u `peer =` line(s) of %s/config are not HOST:PORT (e.g. peer = "
                "192.168.1.20:47470): the node ignores them; fix or remove them",
                bad, c->home);
    }

    /* store */
    /* Opened as `status` opens it: read-only, so a damaged store is not written to; to
     * write only when the store wants an upgrade (store_wants_write). A missing store is
     * not created. */
    home_path(store_dir, c->home, "store");
    home_path(record, c->home, STORE_RECORD_FILE);
    home_path(path, c->home, "store/data.mdb");
    doctor_file_stat(path, &hf);
    doctor_file_stat(record, &rf);
    memset(&so, 0, sizeof so);
    so.view_cache = STORE_VIEW_CACHE_OFF;
    so.record = record;  /* a store emptied, removed or swapped is named (PROTOCOL.md §7) */
    so.damage = &damage; /* store_open refuses those before it creates anything */
    so.read_only = 1;
    rc = hf.exists || rf.exists ? store_open(&s, store_dir, &so) : AM_ENOTFOUND;
    if (rc == AM_OK && store_wants_write(s)) {
        store_close(s);
        so.read_only = 0;
        rc = store_open(&s, store_dir, &so);
    }
    if (rc == AM_ENOTFOUND) {
        add(d, "home", "store", D_WARN,
            "no store in %s yet: `aidmesh status` (or any command that writes) creates it",
            store_dir);
    } else if (rc == AM_ECORRUPT) {
        store_damage_text(&damage, store_dir, record, text, sizeof text);
        add(d, "home", "store", D_FAIL, "%s", text);
    } else if (rc != AM_OK) {
        add(d, "home", "store", D_FAIL, "cannot open the store in %s: %s", store_dir,
            rc == AM_ESYS ? strerror(errno) : am_strerror(rc));
    } else if ((rc = store_stats(s, &st)) != AM_OK) {
        add(d, "home", "store", D_FAIL, "cannot read the store in %s: %s", store_dir,
            am_strerror(rc));
    } else {
        char e[32], a[32], used[32], size[32];
        struct store_view_stats vs;
        uint8_t iid[AM_INSTALL_ID_LEN], from[AM_INSTALL_ID_LEN];

        *st_out = st;
        out_count(e, st.entries);
        out_count(a, st.authors);
        add(d, "home", "store", D_OK, "store opens: %s entr%s from %s author%s", e,
            st.entries == 1 ? "y" : "ies", a, st.authors == 1 ? "" : "s");

        /* integrity: everything on small stores, every head on big ones */
        if (full > 0 || (full == 0 && st.entries <= DOC_VERIFY_MAX)) {
            struct verify_report r;
            char first[200] = "";
            rc = verify_store(s, first_problem, first, &r);
            if (rc == AM_ECORRUPT) {
                store_damage_text(&r.damage, store_dir, NULL, text, sizeof text);
                add(d, "home", "integrity", D_FAIL, "%s", text);
            } else if (rc != AM_OK)
                add(d, "home", "integrity", D_FAIL,
                    "the store check stopped: %s; run `aidmesh "
                    "verify`",
                    am_strerror(rc));
            else if (r.problems)
                add(d, "home", "integrity", D_FAIL,
                    "the store holds %llu damaged record%s (first: %s): run `aidmesh verify` "
                    "to list them",
                    (unsigned long long)r.problems, r.problems == 1 ? "" : "s", first);
            else
                add(d, "home", "integrity", D_OK,
                    "integrity: every chain and signature checked (%s entries)", e);
        } else {
            struct doctor_heads h;
            rc = doctor_check_heads(s, &h);
            if (rc == AM_ECORRUPT) {
                store_damage_text(&h.damage, store_dir, NULL, text, sizeof text);
                add(d, "home", "integrity", D_FAIL, "%s", text);
            } else if (rc != AM_OK)
                add(d, "home", "integrity", D_FAIL,
                    "the store check stopped: %s; run `aidmesh "
                    "verify`",
                    am_strerror(rc));
            else if (h.problems)
                add(d, "home", "integrity", D_FAIL,
                    "%llu of %llu latest entries (one per author, and one per branch of a forked "
                    "author) %s damaged (first: %s): run `aidmesh verify` for the full list",
                    (unsigned long long)h.problems, (unsigned long long)h.heads,
                    h.problems == 1 ? "is" : "are", h.first);
            else
                add(d, "home", "integrity", D_OK,
                    "integrity: the latest entry of %s author%s%s checked (a quick check: "
                    "`aidmesh verify` or `doctor --full` checks all %s entries)",
                    a, st.authors == 1 ? "" : "s",
                    st.logs > st.authors ? ", and of each branch of a forked one," : "", e);
        }
        if (id_ok) {
            struct store_head me;
            if (store_head_get(s, d->pk, &me) == AM_OK && (me.flags & STORE_HEAD_FORKED))
                add(d, "home", "fork", D_FAIL,
                    "this node's identity signed two different records for one place in its "
                    "log (the home was copied to another machine?): both branches are kept and "
                    "count, but it writes nothing more under this key; run `aidmesh identity "
                    "rotate` on each copy to go on under a new key (see `aidmesh forks`)");
        }
        if (st.forked)
            add(d, "home", "forks", D_WARN,
                "%llu author%s signed two branches (one identity used on two machines): every "
                "branch is kept and counts; see `aidmesh forks`",
                (unsigned long long)st.forked, st.forked == 1 ? "" : "s");
        if (st.abusive)
            add(d, "home", "abusive", D_WARN,
                "%llu author%s signed more than %d branches: the further ones are kept as "
                "evidence only and %s records no longer count; see `aidmesh forks`",
                (unsigned long long)st.abusive, st.abusive == 1 ? "" : "s", AM_LOGS_PER_AUTHOR,
                st.abusive == 1 ? "its" : "their");
        store_install_id(s, iid, from);
        if (!sodium_is_zero(from, sizeof from))
            add(d, "home", "copied", D_WARN,
                "this store was copied from another install: if the original still runs with "
                "the same identity, give this copy a new one with `aidmesh init --force`");
        if (store_view_stats(s, &vs) == AM_OK && !vs.current)
            add(d, "home", "views", D_WARN,
                "the relief views are of an older format: run `aidmesh reindex` (or any command "
                "that writes)");
        mib(used, st.map_used);
        mib(size, st.map_size);
        add(d, "home", "map", D_OK,
            "store size %s of a %s map%s (the map doubles when full, up to 1 TiB)", used, size,
            st.map_size && st.map_used * 10 > st.map_size * 9 ? ", nearly full: it grows at the "
                                                                "next write"
                                                              : "");
    }
    disk_at = s || rc == AM_ECORRUPT ? store_dir : c->home;
    store_close(s);

    /* disk */
    if (doctor_disk(disk_at, &disk) != AM_OK && doctor_disk(c->home, &disk) != AM_OK) {
        add(d, "home", "disk", D_WARN, "cannot tell the free disk space of %s: %s", c->home,
            strerror(errno));
    } else {
        char fr[32], tot[32];
        mib(fr, disk.free_bytes);
        mib(tot, disk.total_bytes);
        if (disk.free_bytes < DOC_DISK_FAIL)
            add(d, "home", "disk", D_FAIL,
                "the disk holding %s is full (%s free of %s): new records cannot be stored; "
                "free some space",
                c->home, fr, tot);
        else if (disk.free_bytes < DOC_DISK_WARN || disk.free_bytes < st_out->map_used)
            add(d, "home", "disk", D_WARN,
                "little disk space left for %s (%s free of %s): free some space before the "
                "store grows",
                c->home, fr, tot);
        else
            add(d, "home", "disk", D_OK, "disk: %s free of %s", fr, tot);
        if (disk.risky_fs)
            add(d, "home", "filesystem", D_WARN,
                "the store is on a %s file system: LMDB must not live on removable or network "
                "media; move the home to the internal disk (--home DIR)",
                disk.risky_fs);
    }

    /* clock */
    {
        time_t now = time(NULL);
        char when[32];
        out_iso_ms(when, (uint64_t)now * 1000);
        if ((long long)now < DOC_CLOCK_SANE)
            add(d, "home", "clock", D_WARN,
                "this machine's clock says %s: set the date (a dead clock battery?); records "
                "still sync, but their times will look wrong",
                when);
        else
            add(d, "home", "clock", D_OK, "clock: %s (UTC)", when);
    }
}

/* ---- network ------------------------------------------------------------------------------ */

static int iface_usable(const struct doctor_iface *f)
{
    return f->up && f->running && !f->loopback && f->multicast && (f->n4 || f->has_ll6);
}

static void addrs_text(const struct doctor_iface *f, char *out, size_t cap)
{
    size_t l = 0;
    out[0] = 0;
    for (unsigned k = 0; k < f->n4 && l < cap; k++) {
        char a[DOCTOR_ADDR_MAX];
        doctor_addr4_text(&f->a4[k], a);
        l += (size_t)snprintf(out + l, cap - l, "%s%s/%u", l ? " " : "", a, f->plen4[k]);
    }
    for (unsigned k = 0; k < f->n6 && l < cap; k++) {
        char a[DOCTOR_ADDR_MAX];
        doctor_addr6_text(&f->a6[k], 0, a);
        l += (size_t)snprintf(out + l, cap - l, "%s%s/%u", l ? " " : "", a, f->plen6[k]);
    }
}

static void report_ifaces(struct doc *d, uint16_t udp_port)
{
    char idle[512] = "";
    size_t il = 0;
    int usable = 0;

    for (int i = 0; i < d->n_ifs; i++) {
        const struct doctor_iface *f = &d->ifs[i];
        char addrs[400], id[64];

        snprintf(id, sizeof id, "iface:%s", f->name);
        addrs_text(f, addrs, sizeof addrs);
        if (f->loopback) {
            if (!f->up)
                add(d, "network", id, D_WARN,
                    "%s (loopback) is down: local connections fail; run `ip link set %s up`",
                    f->name, f->name);
            continue;
        }
        if (!f->up || !f->running) {
            if (il < sizeof idle)
                il += (size_t)snprintf(idle + il, sizeof idle - il, "%s%s (%s)", il ? ", " : "",
                                       f->name, !f->up ? "down" : "no link");
            continue;
        }
        if (!f->multicast) {
            add(d, "network", id, D_WARN,
                "%s: up (%s) but cannot do multicast: discovery does not work on it; use static "
                "peers (`aidmesh peers add HOST:PORT`)",
                f->name, addrs[0] ? addrs : "no address");
            continue;
        }
        if (!f->n4 && !f->has_ll6) {
            add(d, "network", id, D_WARN,
                "%s: up but has no address yet (no IPv4, no IPv6 link-local): wait a moment, or "
                "check that IPv6 is not switched off",
                f->name);
            continue;
        }
        usable++;
        if (!d->probed) {
            add(d, "network", id, D_OK, "%s: up, multicast; %s", f->name, addrs);
            continue;
        }
        {
            /* per family: sent? back? */
            char fams_back[32] = "", fams_lost[32] = "", fams_err[160] = "";
            size_t lb = 0, ll = 0, le = 0;
            for (int v6 = 0; v6 <= 1; v6++) {
                const char *fam = v6 ? "IPv6" : "IPv4";
                if (!f->probed[v6])
                    continue;
                if (f->back[v6])
                    lb += (size_t)snprintf(fams_back + lb, sizeof fams_back - lb, "%s%s",
                                           lb ? ", " : "", fam);
                else if (f->sent[v6])
                    ll += (size_t)snprintf(fams_lost + ll, sizeof fams_lost - ll, "%s%s",
                                           ll ? ", " : "", fam);
                else
                    le += (size_t)snprintf(
                        fams_err + le, sizeof fams_err - le, "%s%s: %s", le ? "; " : "", fam,
                        f->send_errno[v6] ? strerror(f->send_errno[v6]) : "not sent");
            }
            if (!fams_lost[0] && !fams_err[0])
                add(d, "network", id, D_OK,
                    "%s: up, multicast; %s; our beacons go out and come back (%s)", f->name, addrs,
                    fams_back);
            else if (fams_lost[0])
                add(d, "network", id, D_WARN,
                    "%s: %s; our beacons leave but do not come back (%s)%s%s: a firewall on this "
                    "machine drops multicast; allow UDP port %u to %s and %s (iptables/nftables "
                    "INPUT), or use static peers",
                    f->name, addrs, fams_lost, fams_err[0] ? "; cannot send: " : "", fams_err,
                    udp_port, BEACON_GROUP4, BEACON_GROUP6);
            else
                add(d, "network", id, D_WARN, "%s: %s; beacons cannot be sent (%s)%s%s%s", f->name,
                    addrs, fams_err, fams_back[0] ? "; they come back on " : "", fams_back,
                    strstr(fams_err, "IPv6") ? " (a new link's IPv6 address needs a second or "
                                               "two: run doctor again)"
                                             : "");
        }
    }
    if (idle[0])
        add(d, "network", "iface:idle", usable ? D_OK : D_WARN, "not in use: %s%s", idle,
            usable ? "" : ": connect to the hub's Wi-Fi or plug in a cable");
    if (d->more_ifs)
        add(d, "network", "iface:more", D_WARN, "%u more interfaces were not checked", d->more_ifs);
    if (!usable)
        add(d, "network", "iface", D_WARN,
            "no network interface is up besides loopback: this machine is on no local network; "
            "join the hub's Wi-Fi or plug in a cable");
}

static int local_tcp_targets(struct doc *d, struct doctor_tcp *t, size_t cap)
{
    size_t n = 0;
    char port[8];

    snprintf(port, sizeof port, "%u", d->port);
    for (int i = 0; i < d->n_ifs && n < cap; i++) {
        const struct doctor_iface *f = &d->ifs[i];
        if (!f->up)
            continue;
        if (f->loopback) {
            if (f->n4 && n < cap) {
                snprintf(t[n].host, sizeof t[n].host, "127.0.0.1");
                snprintf(t[n].port, sizeof t[n].port, "%s", port);
                n++;
            }
            continue;
        }
        if (!f->running)
            continue;
        if (f->n4 && n < cap) {
            doctor_addr4_text(&f->a4[0], t[n].host);
            snprintf(t[n].port, sizeof t[n].port, "%s", port);
            n++;
        }
        if (f->has_ll6 && n < cap) {
            doctor_addr6_text(&f->a6[0], f->ifindex, t[n].host);
            snprintf(t[n].port, sizeof t[n].port, "%s", port);
            n++;
        }
    }
    return (int)n;
}

static void check_daemon_port(struct doc *d, struct cli *c, uint32_t connect_ms)
{
    struct doctor_tcp t[DOCTOR_MAX_TCP];
    char okl[600] = "", badl[600] = "";
    size_t lo = 0, lb = 0;
    int n, running, any_ok = 0;

    (void)c;
    memset(t, 0, sizeof t);
    running = d->daemon.alive || d->daemon.hung;
    if (d->daemon.alive)
        add(d, "network", "daemon", D_OK,
            "node running (pid %ld), listening on TCP port %u, %u peer%s connected", d->daemon.pid,
            d->daemon.port ? d->daemon.port : d->port, d->daemon.connected,
            d->daemon.connected == 1 ? "" : "s");
    else if (d->daemon.hung)
        add(d, "network", "daemon", D_WARN,
            "the running node did not answer on its control socket (%s) within %d s: it may "
            "hang; restart `aidmesh run`",
            STATUS_SOCKET, STATUS_DEADLINE_MS / 1000);
    else if (d->daemon.present)
        add(d, "network", "daemon", D_WARN,
            "the node is not running (it stopped without cleaning up: nothing answers on %s): "
            "start it with `aidmesh run`",
            STATUS_SOCKET);
    else
        add(d, "network", "daemon", D_WARN,
            "the node is not running: start it with `aidmesh run` (until then nothing syncs)");

    n = local_tcp_targets(d, t, DOCTOR_MAX_TCP);
    doctor_tcp_try(t, (size_t)n, connect_ms);
    for (int i = 0; i < n; i++) {
        if (t[i].result == 0) {
            any_ok = 1;
            lo += (size_t)snprintf(okl + lo, lo < sizeof okl ? sizeof okl - lo : 0, "%s%s",
                                   lo ? ", " : "", t[i].addr);
        } else {
            lb += (size_t)snprintf(badl + lb, lb < sizeof badl ? sizeof badl - lb : 0, "%s%s (%s)",
                                   lb ? ", " : "", t[i].addr,
                                   t[i].result > 0 ? strerror(t[i].result) : "no address");
        }
    }
    if (running) {
        if (!any_ok)
            add(d, "network", "port", D_FAIL,
                "the running node does not accept connections on TCP port %u (%s): restart "
                "`aidmesh run`, and check its log",
                d->port, badl[0] ? badl : "nothing to try");
        else if (badl[0])
            add(d, "network", "port", D_WARN,
                "TCP port %u accepts connections on %s, but not on %s: other nodes can reach "
                "this one only at the first; check --listen (or `listen =` in the config)",
                d->port, okl, badl);
        else
            add(d, "network", "port", D_OK, "TCP port %u accepts connections on %s", d->port, okl);
    } else if (any_ok) {
        add(d, "network", "port", D_WARN,
            "another program already listens on TCP port %u (on %s): `aidmesh run` cannot use "
            "it; stop that program, or pick another port with --listen 0.0.0.0:PORT",
            d->port, okl);
    } else {
        add(d, "network", "port", D_OK, "TCP port %u is free for `aidmesh run`", d->port);
    }
}

static void check_static_peers(struct doc *d, uint32_t connect_ms)
{
    if (d->n_peers == 0)
        return;
    memset(d->peer_tcp, 0, sizeof d->peer_tcp);
    for (size_t i = 0; i < d->n_peers; i++)
        daemon_split_hostport(d->peers[i], d->peer_tcp[i].host, sizeof d->peer_tcp[i].host,
                              d->peer_tcp[i].port, sizeof d->peer_tcp[i].port);
    doctor_tcp_try(d->peer_tcp, d->n_peers, connect_ms);
    for (size_t i = 0; i < d->n_peers; i++) {
        const struct doctor_tcp *t = &d->peer_tcp[i];
        if (t->result == 0)
            add(d, "peers", "static", D_OK, "static peer %s answers on TCP", d->peers[i]);
        else if (t->result < 0)
            add(d, "peers", "static", D_WARN,
                "static peer %s: the name cannot be resolved here; use its IP address",
                d->peers[i]);
        else
            add(d, "peers", "static", D_WARN,
                "static peer %s does not answer (%s): is aidmesh running there, and is the "
                "address right? (`aidmesh status` there; its address: `ip addr`)",
                d->peers[i], t->result == ETIMEDOUT ? "no answer in time" : strerror(t->result));
    }
}

/* Addresses whose beacons claim a member's id but whose handshake failed, as the running
 * node recorded them (PROTOCOL.md §9.5), one line per address heard in the last 2 minutes. */
static void report_impostors(struct doc *d)
{
    const struct doctor_impostor *im = d->daemon.impostors;
    size_t n = d->daemon.alive ? d->daemon.n_impostors : 0;
    uint64_t now = (uint64_t)time(NULL) * 1000;
    for (size_t i = 0; i < n; i++) {
        uint64_t count = 0;
        size_t members = 0, j;
        int elsewhere = 0;
        for (j = 0; j < i && strcmp(im[j].address, im[i].address) != 0; j++)
            ;
        if (j < i || now - im[i].last_heard_ms > 120000)
            continue; /* the address was named above, or it stopped claiming */
        for (j = i; j < n; j++)
            if (!strcmp(im[j].address, im[i].address)) {
                count += im[j].count;
                members++;
                elsewhere |= im[j].verified_elsewhere;
            }
        if (elsewhere)
            add(d, "peers", "impostor", D_WARN,
                "%s claims to be member %.16s%s but failed the handshake %llu time%s (last: %s): "
                "a replay or an impostor on this network; members still reach each other at "
                "their verified addresses",
                im[i].address, im[i].author, members > 1 ? " and others" : "",
                (unsigned long long)count, count == 1 ? "" : "s", im[i].reason);
        else
            add(d, "peers", "impostor", D_WARN,
                "%s claims to be member %.16s%s but never completed a handshake (%llu tries; "
                "last: %s): a replay or an impostor on this network, or a member whose port is "
                "blocked there (run `aidmesh doctor` on it)",
                im[i].address, im[i].author, members > 1 ? " and others" : "",
                (unsigned long long)count, im[i].reason);
    }
}

static int peer_ok(const struct doc *d)
{
    for (size_t i = 0; i < d->n_peers; i++)
        if (d->peer_tcp[i].result == 0)
            return (int)i + 1;
    return 0;
}

/* 1 when a member beacon came from the host of static peer i. */
static int peer_beacons(const struct doc *d, size_t i)
{
    for (size_t k = 0; k < d->probe.n_seen; k++) {
        const struct doctor_seen *s = &d->probe.seen[k];
        if (s->kind == DOCTOR_SEEN_MEMBER && strcmp(s->addr, d->peer_tcp[i].addr) == 0)
            return 1;
    }
    return 0;
}

/* Whether remote self-beacon s carries the instance of a beacon this machine's own daemon
 * sent (heard from a local address): a replay of it, not another process with the id. */
static int replays_local(const struct doctor_probe *p, const struct doctor_seen *s)
{
    for (size_t k = 0; k < p->n_seen; k++) {
        const struct doctor_seen *o = &p->seen[k];
        if (o->kind == DOCTOR_SEEN_SELF && o->local &&
            memcmp(o->instance, s->instance, BEACON_INSTANCE_LEN) == 0)
            return 1;
    }
    return 0;
}

static void report_beacons(struct doc *d, uint16_t udp_port)
{
    const struct doctor_probe *p = &d->probe;
    unsigned members = 0, others = 0, self_heard = 0, any_sent = 0, any_back = 0, usable = 0;
    int pk;
    uint8_t done[DOCTOR_MAX_SEEN] = {0};

    for (int i = 0; i < d->n_ifs; i++) {
        usable += iface_usable(&d->ifs[i]) != 0;
        for (int v6 = 0; v6 <= 1; v6++) {
            any_sent += d->ifs[i].sent[v6] != 0;
            any_back += d->ifs[i].back[v6] != 0;
        }
    }
    for (int v6 = 0; v6 <= 1; v6++)
        if (p->sock_errno[v6])
            add(d, "peers", "socket",
                p->sock_errno[v6 ^ 1] || p->sock_disabled[v6 ^ 1] ? D_FAIL : D_WARN,
                "cannot listen for %s beacons on UDP port %u: %s%s", v6 ? "IPv6" : "IPv4", udp_port,
                strerror(p->sock_errno[v6]),
                p->sock_errno[v6] == EADDRINUSE ? " (another program holds the port)" : "");

    /* nodes of this network, one line per author */
    for (size_t i = 0; i < p->n_seen; i++) {
        const struct doctor_seen *s = &p->seen[i];
        char addrs[400], hex[65], sk[48];
        size_t l = 0;
        int64_t worst = 0;

        if (done[i] || s->kind != DOCTOR_SEEN_MEMBER)
            continue;
        members++;
        addrs[0] = 0;
        for (size_t k = i; k < p->n_seen; k++) {
            const struct doctor_seen *o = &p->seen[k];
            if (o->kind != DOCTOR_SEEN_MEMBER || memcmp(o->author, s->author, AM_PK_LEN) != 0)
                continue;
            done[k] = 1;
            if (l < sizeof addrs)
                l += (size_t)snprintf(addrs + l, sizeof addrs - l, "%s%s", l ? ", " : "", o->addr);
            if ((o->skew_min < 0 ? -o->skew_min : o->skew_min) > (worst < 0 ? -worst : worst))
                worst = o->skew_min;
        }
        entry_id_hex(s->author, hex);
        add(d, "peers", "member", D_OK,
            "node %.16s of this network heard at %s (%s%s), TCP port %u", hex, addrs,
            s->ifname[0] ? "on " : "", s->ifname[0] ? s->ifname : "interface unknown", s->tcp_port);
        if ((worst < 0 ? -worst : worst) > DOC_SKEW_WARN_MIN) {
            skew_text(sk, worst);
            add(d, "peers", "clock", D_WARN,
                "node %.16s at %s: its clock is %s ours: one of the two clocks is wrong; set "
                "the date on the wrong one (records still sync, but their times will look "
                "odd)",
                hex, s->addr, sk);
        }
    }
    for (size_t i = 0; i < p->n_seen; i++) {
        const struct doctor_seen *s = &p->seen[i];
        if (s->kind == DOCTOR_SEEN_SELF) {
            if (s->local) {
                if (!self_heard++)
                    add(d, "peers", "self", D_OK,
                        "this node's running daemon beacons too (heard from %s)", s->addr);
            } else if (replays_local(p, s)) {
                /* the very beacons of this machine's daemon (same process instance), sent
                 * again from elsewhere: recorded and replayed, not a copy of the home */
                add(d, "peers", "replay", D_WARN,
                    "a machine at %s sends this node's own beacons again (a recording, "
                    "replayed): it cannot complete a handshake, so it learns and changes "
                    "nothing; other members dial it, fail, and keep reaching this node at its "
                    "own address",
                    s->addr);
            } else {
                add(d, "peers", "clone", D_WARN,
                    "a machine at %s uses this node's identity (a copied home?): give the copy "
                    "its own identity with `aidmesh init --force` there",
                    s->addr);
            }
        } else if (s->kind == DOCTOR_SEEN_OTHER_NETWORK && !done[i]) {
            /* one line per interface: a machine's IPv4 and IPv6 beacons look alike */
            char addrs[400];
            size_t l = 0;
            addrs[0] = 0;
            for (size_t k = i; k < p->n_seen; k++) {
                const struct doctor_seen *o = &p->seen[k];
                if (o->kind != DOCTOR_SEEN_OTHER_NETWORK || strcmp(o->ifname, s->ifname) != 0)
                    continue;
                done[k] = 1;
                others++;
                if (l < sizeof addrs)
                    l += (size_t)snprintf(addrs + l, sizeof addrs - l, "%s%s", l ? ", " : "",
                                          o->addr);
            }
            add(d, "peers", "other_network", D_WARN,
                "a node of another aidmesh network beacons%s%s from %s: if it should sync with "
                "this one, check that both used the same invite code (`aidmesh status` shows "
                "the network id on each; join with `aidmesh init --force --join CODE`)",
                s->ifname[0] ? " on " : "", s->ifname, addrs);
        } else if (s->kind == DOCTOR_SEEN_OTHER_VERSION) {
            add(d, "peers", "other_version", D_WARN,
                "a node of another aidmesh version is at %s: its beacons cannot be read here; "
                "update both to the same version",
                s->addr);
        }
    }
    if (p->seen_dropped)
        add(d, "peers", "more", D_OK, "%u more senders were heard (not listed)", p->seen_dropped);
    if (p->undecodable)
        add(d, "peers", "noise", D_WARN,
            "%u datagrams on UDP port %u are not aidmesh beacons: another program uses the port",
            p->undecodable, udp_port);
    if (d->daemon.alive && !self_heard && any_back)
        add(d, "peers", "self", D_WARN,
            "the running node's own beacons were not heard here: is it running with "
            "--no-discovery?");

    /* static peers that answer but never beacon here */
    if (members)
        for (size_t i = 0; i < d->n_peers; i++)
            if (d->peer_tcp[i].result == 0 && !peer_beacons(d, i))
                add(d, "peers", "static_silent", D_OK,
                    "static peer %s answers on TCP but no beacon came from it: it is on another "
                    "subnet, or multicast does not reach here from it; the static peer covers it",
                    d->peers[i]);

    /* the verdict */
    pk = peer_ok(d);
    if (members) {
        d->verdict = "ok";
        add(d, "verdict", "verdict", D_OK, "discovery works: %u node%s of this network heard%s",
            members, members == 1 ? "" : "s",
            d->daemon.alive ? "" : "; start `aidmesh run` to sync with them");
    } else if (!usable) {
        d->verdict = "no_network";
        add(d, "verdict", "verdict", D_WARN,
            "this machine is on no local network: join the hub's Wi-Fi or plug in a cable");
    } else if (pk) {
        d->verdict = "multicast_blocked";
        add(d, "verdict", "verdict", D_WARN,
            "multicast is blocked: static peer %s answers on TCP, but no beacon arrives from any "
            "node (%s) -> discovery cannot work here; keep the static peers, on every laptop: "
            "aidmesh peers add HOST:PORT",
            d->peers[pk - 1],
            any_sent && !any_back ? "this machine's firewall drops multicast: even our own "
                                    "beacons do not come back"
                                  : "the Wi-Fi isolates clients, or a firewall drops multicast");
    } else if (others) {
        d->verdict = "other_network";
        add(d, "verdict", "verdict", D_WARN,
            "no node of this network heard, but a node of another aidmesh network beacons "
            "here: the nodes were set up with different invite codes; run `aidmesh status` on "
            "both and compare the network ids");
    } else if (any_sent && !any_back) {
        d->verdict = "local_firewall";
        add(d, "verdict", "verdict", D_WARN,
            "no beacons from other nodes, and our own do not come back: a firewall on this "
            "machine drops multicast; allow UDP port %u, or add a static peer: aidmesh peers "
            "add HOST:PORT",
            udp_port);
    } else {
        d->verdict = "nobody_heard";
        add(d, "verdict", "verdict", D_WARN,
            "no beacons from other nodes: multicast may be blocked or the Wi-Fi isolates "
            "clients (or no other node runs here) -> add a static peer: aidmesh peers add "
            "HOST:PORT (e.g. the hub's address, port %u)",
            DAEMON_DEFAULT_PORT);
    }
}

/* ---- output ------------------------------------------------------------------------------- */

static void print_human(const struct doc *d, const struct cli *c)
{
    const char *sec = NULL;
    printf("aidmesh doctor: %s\n", c->home);
    for (size_t i = 0; i < d->n; i++) {
        const struct dcheck *k = &d->checks[i];
        if (!sec || strcmp(sec, k->section) != 0) {
            sec = k->section;
            printf("%s\n", sec);
        }
        printf("  %-4s  %s\n", k->st == D_OK ? "ok" : k->st == D_WARN ? "warn" : "FAIL", k->msg);
    }
    printf("%u failed, %u warning%s\n", d->fails, d->warns, d->warns == 1 ? "" : "s");
}

static void print_json(const struct doc *d, const struct cli *c)
{
    static const char *const kinds[] = {"", "member", "self", "other_network", "other_version"};
    json_t *checks = json_array(), *ifs = json_array(), *heard = json_array();
    for (size_t i = 0; i < d->n; i++) {
        const struct dcheck *k = &d->checks[i];
        json_array_append_new(checks,
                              json_pack("{s:o,s:o,s:s,s:o}", "section", out_json_strz(k->section),
                                        "check", out_json_strz(k->id), "status",
                                        k->st == D_OK     ? "ok"
                                        : k->st == D_WARN ? "warn"
                                                          : "fail",
                                        "message", out_json_strz(k->msg)));
    }
    for (int i = 0; i < d->n_ifs; i++) {
        const struct doctor_iface *f = &d->ifs[i];
        char addrs[400];
        addrs_text(f, addrs, sizeof addrs);
        json_array_append_new(
            ifs, json_pack("{s:o,s:o,s:b,s:b,s:b,s:b,s:[I,I],s:[I,I],s:I}", "name",
                           out_json_strz(f->name), "addresses", out_json_strz(addrs), "up", f->up,
                           "running", f->running, "multicast", f->multicast, "loopback",
                           f->loopback, "beacons_sent", (json_int_t)f->sent[0],
                           (json_int_t)f->sent[1], "beacons_back", (json_int_t)f->back[0],
                           (json_int_t)f->back[1], "heard", (json_int_t)f->heard));
    }
    for (size_t i = 0; d->probed && i < d->probe.n_seen; i++) {
        const struct doctor_seen *s = &d->probe.seen[i];
        json_t *o = json_pack("{s:s,s:o,s:o,s:b,s:I}", "kind", kinds[s->kind], "address",
                              out_json_strz(s->addr), "interface", out_json_strz(s->ifname),
                              "local", s->local, "count", (json_int_t)s->count);
        if (o && (s->kind == DOCTOR_SEEN_MEMBER || s->kind == DOCTOR_SEEN_SELF)) {
            char hex[65];
            entry_id_hex(s->author, hex);
            json_object_set_new(o, "author", json_string(hex));
            json_object_set_new(o, "tcp_port", json_integer(s->tcp_port));
            json_object_set_new(o, "clock_skew_min", json_integer((json_int_t)s->skew_min));
        }
        json_array_append_new(heard, o);
    }
    out_json_put(stdout, json_pack("{s:b,s:I,s:I,s:o,s:s,s:o,s:o,s:o}", "ok", !d->fails, "failed",
                                   (json_int_t)d->fails, "warnings", (json_int_t)d->warns, "home",
                                   out_json_strz(c->home), "verdict",
                                   d->verdict ? d->verdict : "not_checked", "checks", checks,
                                   "interfaces", ifs, "heard", heard));
}

/* ---- the command -------------------------------------------------------------------------- */

static const char doctor_help[] =
    "usage: aidmesh doctor [--listen-wait SECONDS] [--connect-timeout SECONDS]\n"
    "                      [--peer HOST:PORT]... [--no-network] [--full] [--json] [--home DIR]\n"
    "\n"
    "Checks this node and says what to fix, one line per check (ok, warn, FAIL):\n"
    "  home     key files present and private (0600), a network key, the store opens and\n"
    "           its records check out, free disk space, map use, the clock\n"
    "  network  each interface (up, multicast, addresses) and whether our discovery beacons\n"
    "           go out and come back on it; whether the node runs and its TCP port answers\n"
    "  peers    who beacons here: nodes of this network, of another network (another invite\n"
    "           code), a clock far off; whether static peers answer; and, when no node is\n"
    "           heard, the likely cause (multicast blocked, client isolation on the Wi-Fi)\n"
    "\n"
    "  --listen-wait SECONDS     listen for beacons this long (default 5; nodes beacon\n"
    "                            every 2 s)\n"
    "  --connect-timeout SECONDS wait this long for TCP answers (default 2)\n"
    "  --peer HOST:PORT          also try this node (besides the config's static peers)\n"
    "  --no-network              check the home only; send and open nothing\n"
    "  --full                    check every entry's signature, however big the store\n"
    "                            (by default only stores up to 20,000 entries; bigger\n"
    "                            ones get the quick check)\n"
    "  --quick                   check only each author's latest entry (fast)\n"
    "  --json                    one JSON document (checks, interfaces, nodes heard, verdict)\n"
    "\n"
    "Exit status: 0 when nothing failed (warnings allowed), 1 when a check failed.\n";

static int parse_secs(const char *s, double *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || v < 0 || v > 600)
        return -1;
    *out = v;
    return 0;
}

int cli_cmd_doctor(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS,
        {"listen-wait", required_argument, NULL, OPT_LISTEN_WAIT},
        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
        {"peer", required_argument, NULL, OPT_PEER},
        {"no-network", no_argument, NULL, OPT_NO_NETWORK},
        {"full", no_argument, NULL, OPT_FULL},
        {"quick", no_argument, NULL, OPT_QUICK},
        {"discovery-port", required_argument, NULL, OPT_DISC_PORT},   /* tests */
        {"clock-offset", required_argument, NULL, OPT_CLOCK_OFFSET},  /* tests */
        {"discovery-loopback", no_argument, NULL, OPT_DISC_LOOPBACK}, /* tests */
        {0, 0, 0, 0}};
    const char *extra[DOC_MAX_PEERS];
    size_t n_extra = 0;
    double listen_s = 5, connect_s = 2;
    int no_net = 0, full = 0, loopback = 0, opt, rc;
    long udp_port = BEACON_UDP_PORT, clock_off = 0;
    struct store_stats st;
    struct doc *d;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        char h[256], p[8];
        if (k == CLI_OPT_HELP) {
            fputs(doctor_help, stdout);
            return 0;
        }
        if (k)
            continue;
        switch (opt) {
        case OPT_LISTEN_WAIT:
            if (parse_secs(optarg, &listen_s))
                return cli_usage("doctor", "--listen-wait takes seconds from 0 to 600, not '%s'",
                                 optarg);
            break;
        case OPT_CONNECT_TIMEOUT:
            if (parse_secs(optarg, &connect_s) || connect_s == 0)
                return cli_usage("doctor",
                                 "--connect-timeout takes seconds above 0, up to 600, not '%s'",
                                 optarg);
            break;
        case OPT_PEER:
            if (daemon_split_hostport(optarg, h, sizeof h, p, sizeof p) != AM_OK)
                return cli_usage("doctor", "'%s' is not HOST:PORT (e.g. 192.168.1.20:47470)",
                                 optarg);
            if (n_extra == DOC_MAX_PEERS)
                return cli_usage("doctor", "at most %d --peer options", DOC_MAX_PEERS);
            extra[n_extra++] = optarg;
            break;
        case OPT_NO_NETWORK:
            no_net = 1;
            break;
        case OPT_FULL:
            full = 1;
            break;
        case OPT_QUICK:
            full = -1;
            break;
        case OPT_DISC_PORT:
            udp_port = strtol(optarg, NULL, 10);
            if (udp_port <= 0 || udp_port > 65535)
                return cli_usage("doctor", "--discovery-port takes 1..65535");
            break;
        case OPT_CLOCK_OFFSET:
            clock_off = strtol(optarg, NULL, 10);
            if (clock_off < -1000000L || clock_off > 1000000L)
                return cli_usage("doctor", "--clock-offset takes minutes");
            break;
        case OPT_DISC_LOOPBACK:
            loopback = 1;
            break;
        default:
            return cli_bad_option("doctor", argv);
        }
    }
    if (optind < argc)
        return cli_usage("doctor", "unexpected argument '%s'", argv[optind]);
    if (cli_resolve_home(c))
        return 1;

    d = calloc(1, sizeof *d);
    if (!d || !(d->netkey = sodium_malloc(AM_NETKEY_LEN))) {
        free(d);
        cli_err("doctor: out of memory");
        return 1;
    }
    check_home(d, c, full, &st);
    for (size_t i = 0; i < n_extra && d->n_peers < DOC_MAX_PEERS; i++)
        snprintf(d->peers[d->n_peers++], sizeof d->peers[0], "%s", extra[i]);

    if (!no_net) {
        char listen_cfg[300], h[256], p[8];
        d->n_ifs = doctor_ifaces(d->ifs, DOCTOR_MAX_IFACES, &d->more_ifs);
        if (d->n_ifs < 0) {
            add(d, "network", "iface", D_WARN, "cannot list the network interfaces: %s",
                strerror(errno));
            d->n_ifs = 0;
        }
        /* the port: the running node's, else the configured one, else the default */
        doctor_daemon_status(c->home, &d->daemon);
        d->port = DAEMON_DEFAULT_PORT;
        home_config_get(c->home, "listen", listen_cfg, sizeof listen_cfg);
        if (listen_cfg[0] && daemon_split_hostport(listen_cfg, h, sizeof h, p, sizeof p) == AM_OK)
            d->port = (uint16_t)strtoul(p, NULL, 10);
        if (d->daemon.alive && d->daemon.port)
            d->port = d->daemon.port;
        if (d->port == 0)
            d->port = DAEMON_DEFAULT_PORT;

        if (d->have_keys && listen_s == 0) {
            add(d, "network", "probe", D_OK, "beacons not checked (--listen-wait 0)");
        } else if (d->have_keys) {
            struct doctor_probe_cfg pc;
            memset(&pc, 0, sizeof pc);
            pc.netkey = d->netkey;
            pc.author = d->pk;
            pc.tcp_port = d->port;
            pc.udp_port = (uint16_t)udp_port;
            pc.listen_ms = (uint32_t)(listen_s * 1000);
            pc.clock_offset_min = (int32_t)clock_off;
            pc.loopback = loopback;
            rc = doctor_probe_beacons(&pc, d->ifs, (size_t)d->n_ifs, &d->probe);
            d->probed = rc == AM_OK;
            if (rc != AM_OK)
                add(d, "network", "probe", D_WARN, "cannot probe for beacons: %s", am_strerror(rc));
        }
        report_ifaces(d, (uint16_t)udp_port);
        check_daemon_port(d, c, (uint32_t)(connect_s * 1000));
        check_static_peers(d, (uint32_t)(connect_s * 1000));
        report_impostors(d);
        if (d->probed)
            report_beacons(d, (uint16_t)udp_port);
        else if (!d->have_keys)
            add(d, "peers", "beacons", D_WARN,
                "beacons not checked: the key files must be fixed first (see above)");
    }

    if (c->json)
        print_json(d, c);
    else
        print_human(d, c);
    rc = d->fails ? 1 : 0;
    sodium_free(d->netkey);
    free(d);
    return rc;
}
