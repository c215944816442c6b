/*
 * dashboard.h: the hub's screen. One self-contained HTML document (inline CSS, no script,
 * nothing fetched from anywhere): the open needs by priority and site, the stock of every
 * site with overdrawn, count-conflicting, expired and expiring cells highlighted, the
 * peers of the running node and when each was last seen, and the sticks that came by.
 * `aidmesh run --http` serves it (http.h); `aidmesh report --html FILE` writes it to a
 * file that can be printed or carried.
 *
 * Reads only: the relief views and counts through the store (short read transactions,
 * opened by the calling thread), the daemon's live status (status.h: its snapshot when the
 * daemon serves the page, else asked over <home>/run/control.sock), and
 * <home>/sticks.log (stick_node.h). Every stored or received string is HTML-escaped: site
 * names, notes, addresses and paths are untrusted. Must never write anything, print, or
 * touch the daemon's loop: it may run on any thread (the HTTP server's), as the store may.
 *
 * Machine-readable rows, for tests and scripts (attribute order fixed, values escaped):
 *   <tr class="need ..." data-need=ID32 data-site data-item data-qty data-delivered
 *       data-priority data-by=YYYY-MM-DD|"">
 *   <tr class="cell ..." data-site data-item data-lot data-expiry data-stock
 *       data-overdrawn data-conflict data-expired data-expiring (true|false)>
 *   <tr class="peer ..." data-peer=AUTHOR64|"" data-address data-state data-last-seen=MS|"">
 *   <tr class="stick" data-path data-at=MS data-got data-gave>
 * The same as `need list --json` (open needs) and `stock show --json` show.
 */
#ifndef AM_DASHBOARD_H
#define AM_DASHBOARD_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"
#include "status.h"

/* The served page reloads itself this often. */
#define DASHBOARD_REFRESH_S 10
/* Stick visits listed, newest first; peers taken from the live status. */
#define DASHBOARD_STICKS_MAX 20
#define DASHBOARD_PEERS_MAX  128

struct dashboard_opts {
    uint64_t now_ms; /* the page's clock: what "expiring" and "ago" count from; 0: now */
    int refresh_s;   /* > 0: the page reloads itself every refresh_s seconds (served);
                        0: a still snapshot (a report) */
    struct status_snapshot *status; /* the daemon's live status (served by it); NULL: ask
                                       the running node over its control socket */
};

/* One peer of the daemon's live status. Every string is NUL-terminated and cut to fit (a
 * cut value is still shown). */
struct dashboard_peer {
    char author[65], name[AM_NAME_MAX + 1], address[300], state[16], direction[8], source[16],
        last_error[100];
    uint64_t last_seen, connected_at, entries_in, entries_out;
    int connected, self;
};

struct dashboard_peers {
    int present, alive;
    uint64_t written;
    struct dashboard_peer v[DASHBOARD_PEERS_MAX];
    size_t n; /* at most DASHBOARD_PEERS_MAX; peers past it are read and dropped */
};

/*
 * Renders the page of node `n` (opened; only its store, identity, name and home are used)
 * into a malloc'd buffer: on AM_OK *out (NUL-terminated, the caller frees) holds *len bytes.
 * Returns AM_OK, AM_ENOMEM, or a store error (AM_ECORRUPT: a view does not parse; the
 * sentence is the caller's: "run `aidmesh reindex`").
 */
int dashboard_render(struct node *n, const struct dashboard_opts *o, char **out, size_t *len);

#endif
