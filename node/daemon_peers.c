/*
 * daemon_peers.c: whom the daemon dials (static peers from flags and the config, peers
 * discovered on the local network), with backoff, and the live status `aidmesh peers`
 * reads (status.h). The bookkeeping of discovered peers (addresses per author, LRU, expiry, the
 * dial plan) is peer_addrs.c, the TCP dial itself transport/uv_dial.c; this file is their libuv
 * glue (PROTOCOL.md §8.5, §9.5). Must never:
 * dial this node itself, dial a peer it is connected to, keep more than PEER_ADDRS_TARGETS_MAX
 * discovered targets or PEER_ADDRS_DIALS_MAX dials to discovered addresses in flight, or let an
 * address that failed its handshake take the place of one that completed it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "daemon_int.h"
#include "uv_dial.h"

#define IMPOSTORS_SHOWN 64    /* rows of "impostors" in the status */
#define FULL_LOG_MS     60000 /* "the table is full" is logged at most this often */

/* ---- dialing ------------------------------------------------------------------------------ */

void daemon_schedule_retry(struct daemon *d, struct target *t, const char *why)
{
    uint32_t jitter;
    snprintf(t->last_error, sizeof t->last_error, "%s", why);
    if (t->backoff == 0)
        t->backoff = BACKOFF_MIN_MS;
    jitter = randombytes_uniform(t->backoff / 2 + 1);
    t->next_attempt = uv_now(&d->loop) + t->backoff * 3 / 4 + jitter;
    t->backoff = t->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : t->backoff * 2;
}

/* The dial of t at sa ended without a connection object (out of memory). */
static void dial_failed(struct daemon *d, struct target *t, const struct sockaddr *sa,
                        const char *why)
{
    if (t->discovered) {
        int i = peer_addrs_find(&t->disc, sa);
        if (i >= 0)
            peer_addrs_dial_done(&t->disc, (unsigned)i, PEER_ADDRS_FAILED, why, uv_now(&d->loop),
                                 randombytes_random());
        snprintf(t->last_error, sizeof t->last_error, "%s", why);
    } else {
        t->dialing = 0;
        daemon_schedule_retry(d, t, why);
    }
}

/* The address of t's dial is known: the connection that will carry it (uv_dial.h). */
static uv_tcp_t *on_dial_socket(struct uv_dial *dl, const struct sockaddr *sa)
{
    struct target *t = dl->data;
    struct daemon *d = t->d;
    struct conn *c;
    if (!t->discovered && d->stopping) { /* resolved after the daemon began to stop */
        t->dial = NULL;
        t->dialing = 0;
        uv_dial_cancel(dl);
        return NULL;
    }
    if (!(c = daemon_conn_new(d, 1)))
        return NULL; /* on_dialed: "out of memory" */
    c->target = t;
    c->dial = dl;
    memcpy(&c->dialed, sa,
           sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    daemon_sa_text(sa, c->addr, sizeof c->addr);
    return &c->tcp;
}

/* The dial of t ended: connected, or why not. A connection closing meanwhile cancelled it
 * (daemon_target_dial_ended), so one it made is still open here. */
static void on_dialed(struct uv_dial *dl, int status, const char *reason)
{
    struct target *t = dl->data;
    struct daemon *d = t->d;
    struct conn *c = dl->tcp ? dl->tcp->data : NULL;
    if (!t->discovered)
        t->dial = NULL;
    if (c) {
        c->dial = NULL;
        if (status < 0)
            daemon_conn_close(c, reason); /* e.g. "connection refused", "no answer in time" */
        else
            daemon_conn_start(c);
        return;
    }
    if (dl->addr.ss_family != AF_UNSPEC) { /* no connection object */
        dial_failed(d, t, (const struct sockaddr *)&dl->addr, reason);
        return;
    }
    t->dialing = 0; /* static: the name did not resolve */
    if (d->stopping)
        return;
    daemon_log(d, "peer %s:%s: cannot resolve the name (%s)", t->host, t->port,
               uv_strerror(status));
    daemon_schedule_retry(d, t, reason);
    if (d->once && !d->once_done) {
        d->once_done = 1;
        d->once_result->error = AM_ENOTFOUND;
        uv_stop(&d->loop);
    }
}

/* Dials a discovered address: a TCP connect that must complete within
 * PEER_ADDRS_DIAL_TIMEOUT_MS (an address that drops what it is sent, forged or gone, frees
 * its place among the dials in flight); once connected, the session's own timer rules. */
static void dial_addr(struct daemon *d, struct target *t, const struct sockaddr *sa)
{
    struct uv_dial *dl;
    int rc = uv_dial_sockaddr(&dl, &d->loop, sa, PEER_ADDRS_DIAL_TIMEOUT_MS, on_dial_socket,
                              on_dialed, t);
    if (rc != 0)
        dial_failed(d, t, sa, rc == UV_ENOMEM ? "out of memory" : uv_strerror(rc));
}

static int connected_to(struct daemon *d, const uint8_t *author)
{
    for (struct conn *c = d->conns; c; c = c->next)
        if (c->handshaken && !c->closing &&
            memcmp(sync_peer_author(&c->sess), author, AM_PK_LEN) == 0)
            return 1;
    return 0;
}

/* Dials a static target (discovered ones are dialed per address by the maintenance tick):
 * resolves its name, then connects to the first address, with no deadline of its own. */
void daemon_dial(struct daemon *d, struct target *t)
{
    int rc;
    if (t->discovered)
        return;
    t->dialing = 1;
    rc = uv_dial_name(&t->dial, &d->loop, t->host, t->port, 0, on_dial_socket, on_dialed, t);
    if (rc != 0) {
        t->dial = NULL;
        t->dialing = 0;
        if (rc != UV_ENOMEM) /* out of memory: tried again at the next tick */
            daemon_schedule_retry(d, t, "cannot resolve the name");
    }
}

void daemon_dials_cancel(struct daemon *d)
{
    for (struct target *t = d->targets; t; t = t->next)
        if (t->dial) {
            uv_dial_cancel(t->dial);
            t->dial = NULL;
            t->dialing = 0;
        }
}

void daemon_target_handshaken(struct conn *c)
{
    struct target *t = c->target;
    const uint8_t *who = sync_peer_author(&c->sess);
    if (!t->discovered) {
        t->backoff = BACKOFF_MIN_MS;
        t->last_error[0] = 0;
        /* remember who answers at this address: while that peer is connected (whoever
         * dialed), the address is not dialed again */
        memcpy(t->author, who, AM_PK_LEN);
        t->known = 1;
        snprintf(t->name, sizeof t->name, "%s", sync_peer_name(&c->sess));
        return;
    }
    {
        struct daemon *d = c->d;
        int i = peer_addrs_find(&t->disc, (const struct sockaddr *)&c->dialed);
        int proved = memcmp(who, t->author, AM_PK_LEN) == 0;
        char why[PEER_ADDRS_REASON_MAX];
        /* a member that answers at an address another author's beacons named is a
         * member all the same (the connection stays), but not where that author is */
        snprintf(why, sizeof why, "answered as member %.16s", c->peer_hex);
        if (i >= 0)
            peer_addrs_dial_done(&t->disc, (unsigned)i,
                                 proved ? PEER_ADDRS_PROVED : PEER_ADDRS_FAILED, why,
                                 uv_now(&d->loop), randombytes_random());
        if (proved)
            t->last_error[0] = 0;
        else
            snprintf(t->last_error, sizeof t->last_error, "%s: %s", c->addr, why);
        c->target = NULL; /* the target may now expire or be evicted */
    }
}

void daemon_target_dial_ended(struct conn *c, const char *why)
{
    struct daemon *d = c->d;
    struct target *t = c->target;
    c->target = NULL;
    if (c->dial) { /* closed while connecting (the daemon stops) */
        uv_dial_cancel(c->dial);
        c->dial = NULL;
        if (!t->discovered)
            t->dial = NULL;
    }
    if (!t->discovered) {
        t->dialing = 0;
        if (!d->stopping && !d->once)
            daemon_schedule_retry(d, t, why);
        return;
    }
    {
        int i = peer_addrs_find(&t->disc, (const struct sockaddr *)&c->dialed);
        if (i >= 0)
            peer_addrs_dial_done(&t->disc, (unsigned)i, PEER_ADDRS_FAILED, why, uv_now(&d->loop),
                                 randombytes_random());
        snprintf(t->last_error, sizeof t->last_error, "%s: %s", c->addr, why);
    }
}

/* ---- discovered targets ----------------------------------------------------------------- */

/* The discovered targets into t[] and their bookkeeping into p[] (at most cap); their
 * number. Each one's `connected` is brought up to date, and a connection it made to us
 * verifies the addresses of the host it came from (so the side that did not dial keeps
 * the real address first too). */
static size_t discovered(struct daemon *d, struct target **t, struct peer_addrs **p, size_t cap)
{
    size_t n = 0;
    for (struct target *x = d->targets; x && n < cap; x = x->next) {
        if (!x->discovered)
            continue;
        x->disc.connected = 0;
        for (struct conn *c = d->conns; c; c = c->next) {
            struct sockaddr_storage from;
            int len = sizeof from;
            if (!c->handshaken || c->closing ||
                memcmp(sync_peer_author(&c->sess), x->author, AM_PK_LEN) != 0)
                continue;
            x->disc.connected = 1;
            if (!c->outbound && uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&from, &len) == 0)
                peer_addrs_proved_host(&x->disc, (const struct sockaddr *)&from);
        }
        t[n] = x;
        p[n++] = &x->disc;
    }
    return n;
}

static void target_remove(struct daemon *d, struct target *t)
{
    struct target **pp = &d->targets;
    while (*pp && *pp != t)
        pp = &(*pp)->next;
    if (*pp)
        *pp = t->next;
    free(t);
}

void daemon_on_maintain(uv_timer_t *tm)
{
    struct daemon *d = tm->data;
    uint64_t now = uv_now(&d->loop);
    struct target *dt[PEER_ADDRS_TARGETS_MAX];
    struct peer_addrs *dp[PEER_ADDRS_TARGETS_MAX];
    struct peer_addrs_dial plan[PEER_ADDRS_DIALS_MAX];
    size_t n, k, w, in_flight = 0;

    if (d->stopping)
        return;
    for (struct target *t = d->targets; t; t = t->next) {
        if (t->discovered || t->dialing || t->self || now < t->next_attempt)
            continue;
        if (t->known && connected_to(d, t->author))
            continue;
        {
            /* a static peer already connected through this target stays as it is */
            int busy = 0;
            for (struct conn *c = d->conns; c; c = c->next)
                if (c->target == t)
                    busy = 1;
            if (busy)
                continue;
        }
        daemon_dial(d, t);
    }
    /* discovered: forget what expired (nothing refers to it: connections refer to a
     * discovered target only while dialing it), then dial what the plan says */
    n = discovered(d, dt, dp, PEER_ADDRS_TARGETS_MAX);
    for (size_t i = w = 0; i < n; i++) {
        if (peer_addrs_expire(dp[i], now)) {
            target_remove(d, dt[i]);
            continue;
        }
        in_flight += peer_addrs_dialing(dp[i]);
        dt[w] = dt[i];
        dp[w++] = dp[i];
    }
    n = w;
    k = peer_addrs_plan(dp, n, now, in_flight, plan, PEER_ADDRS_DIALS_MAX);
    for (size_t i = 0; i < k && !d->stopping; i++) {
        struct target *t = dt[plan[i].entry];
        struct sockaddr_storage sa = t->disc.a[plan[i].slot].sa;
        peer_addrs_dial_start(&t->disc, plan[i].slot);
        dial_addr(d, t, (const struct sockaddr *)&sa);
    }
}

struct target *daemon_target_add(struct daemon *d)
{
    struct target *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->d = d;
    t->backoff = BACKOFF_MIN_MS;
    t->next = d->targets;
    d->targets = t;
    return t;
}

/* Room for one more discovered target: when PEER_ADDRS_TARGETS_MAX are kept, the least
 * recently heard that is neither connected nor being dialed goes. 1: there was room, 2: one
 * went, 0: none may. */
static int make_room(struct daemon *d, uint64_t now)
{
    static uint64_t logged; /* one daemon per process */
    struct target *dt[PEER_ADDRS_TARGETS_MAX];
    struct peer_addrs *dp[PEER_ADDRS_TARGETS_MAX];
    size_t n = discovered(d, dt, dp, PEER_ADDRS_TARGETS_MAX), v;
    if (n < PEER_ADDRS_TARGETS_MAX)
        return 1;
    if (!logged || now - logged >= FULL_LOG_MS) {
        logged = now;
        daemon_log(d,
                   "discovery: over %d peers found on the local network: the least recently "
                   "heard are forgotten (if this network has fewer nodes, a member sends "
                   "forged beacons)",
                   PEER_ADDRS_TARGETS_MAX);
    }
    v = peer_addrs_victim(dp, n);
    if (v == n)
        return 0;
    target_remove(d, dt[v]);
    return 2;
}

void daemon_on_discovered(void *ctx, const uint8_t author[AM_PK_LEN], const struct sockaddr *addr,
                          uint16_t proto_version)
{
    struct daemon *d = ctx;
    struct target *t;
    uint64_t now = uv_now(&d->loop);
    (void)proto_version;
    if (memcmp(author, d->n->pk, AM_PK_LEN) == 0 || d->stopping)
        return; /* our identity: this node (or a clone of it): never dialed */
    for (t = d->targets; t; t = t->next)
        if (t->discovered && memcmp(t->author, author, AM_PK_LEN) == 0)
            break;
    if (!t) {
        char who[17], where[80];
        int room = make_room(d, now);
        if (!room || !(t = daemon_target_add(d)))
            return;
        t->discovered = 1;
        memcpy(t->author, author, AM_PK_LEN);
        /* both ends hear each other: the smaller author id dials first */
        peer_addrs_init(&t->disc, author, now,
                        memcmp(d->n->pk, author, AM_PK_LEN) > 0 ? now + DISCOVERED_DELAY_MS : now);
        daemon_short_id(author, who);
        daemon_sa_text(addr, where, sizeof where);
        if (room == 1) /* a full table said so once (make_room) */
            daemon_log(d, "peer %s found on the local network at %s", who, where);
    }
    peer_addrs_heard(&t->disc, addr, now);
}

/* ---- static peers added to the config while running ------------------------------------- */

/* Adds a static target for each config peer not known yet; it is dialed at the next
 * maintenance tick. Peers removed from the config stay until the next start. */
static void on_config_timer(uv_timer_t *tm)
{
    static char peers[DAEMON_MAX_PEERS][HOME_PEER_MAX];
    struct daemon *d = tm->data;
    int n = home_config_peers(d->n->home, peers, DAEMON_MAX_PEERS);
    for (int i = 0; i < n && !d->stopping; i++) {
        char host[256], port[8];
        struct target *t;
        if (daemon_split_hostport(peers[i], host, sizeof host, port, sizeof port) != AM_OK)
            continue; /* `aidmesh peers add` never writes such a line */
        for (t = d->targets; t; t = t->next)
            if (t->is_static && !strcasecmp(t->host, host) && !strcmp(t->port, port))
                break;
        if (t)
            continue;
        if (!(t = daemon_target_add(d)))
            return;
        memcpy(t->host, host, sizeof host);
        memcpy(t->port, port, sizeof port);
        t->is_static = 1;
        daemon_log(d, "static peer %s added to the config: dialing it", peers[i]);
    }
}

void daemon_on_home_changed(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct daemon *d = h->data;
    (void)events;
    if (status < 0 || d->stopping || !filename || strcmp(filename, "config") != 0)
        return;
    if (!uv_is_active((uv_handle_t *)&d->config_timer))
        uv_timer_start(&d->config_timer, on_config_timer, SCAN_DEBOUNCE_MS, 0);
}

/* ---- the live status (status.h) for the dashboard, `aidmesh peers` and doctor ---------------- */

/* Wall-clock ms of a loop time `at` (uv_now), now being `now` on the loop and `wall`. */
static uint64_t wall_of(uint64_t at, uint64_t now, uint64_t wall)
{
    return wall - (now - at < wall ? now - at : 0);
}

/* The discovered counts, and the addresses that claimed an author in beacons but never
 * completed a handshake as it (`aidmesh doctor` names them): those whose author was met
 * elsewhere first (a replay), at most IMPOSTORS_SHOWN. */
static void status_impostors(struct daemon *d, struct node_status *st)
{
    uint64_t now = uv_now(&d->loop), wall = node_wall_ms();
    size_t n = 0, dialing = 0;
    for (struct target *t = d->targets; t; t = t->next)
        if (t->discovered) {
            n++;
            dialing += peer_addrs_dialing(&t->disc);
        }
    st->discovered = n;
    st->discovered_max = PEER_ADDRS_TARGETS_MAX;
    st->dialing = dialing;
    st->dialing_max = PEER_ADDRS_DIALS_MAX;
    for (int pass = 1; pass >= 0; pass--)
        for (struct target *t = d->targets; t; t = t->next) {
            int elsewhere = 0;
            if (!t->discovered)
                continue;
            for (unsigned i = 0; i < t->disc.n; i++)
                elsewhere |= t->disc.a[i].verified;
            elsewhere = elsewhere || connected_to(d, t->author);
            if (elsewhere != pass)
                continue;
            for (unsigned i = 0; i < t->disc.n && st->n_impostors < IMPOSTORS_SHOWN; i++) {
                const struct peer_addrs_slot *s = &t->disc.a[i];
                struct status_impostor *im;
                if (s->verified || s->fails_total == 0 || !(im = status_add_impostor(st)))
                    continue;
                daemon_sa_text((const struct sockaddr *)&s->sa, im->address, sizeof im->address);
                sodium_bin2hex(im->author, sizeof im->author, t->author, AM_PK_LEN);
                snprintf(im->reason, sizeof im->reason, "%s", s->reason);
                im->count = s->fails_total;
                im->last_fail = wall_of(s->last_fail, now, wall);
                im->last_heard = wall_of(s->last_heard, now, wall);
                im->verified_elsewhere = elsewhere;
            }
        }
}

/* The name the peer with author `hex` gave last: in a connection now, else when it was
 * connected earlier in this run, else `fallback` (a static target's, nullable). */
static void name_of(struct daemon *d, const char *hex, const char *fallback, char *out, size_t cap)
{
    snprintf(out, cap, "%s", fallback ? fallback : "");
    if (!hex[0])
        return;
    for (struct conn *c = d->conns; c; c = c->next)
        if (c->handshaken && !c->closing && !strcmp(c->peer_hex, hex) &&
            sync_peer_name(&c->sess)[0]) {
            snprintf(out, cap, "%s", sync_peer_name(&c->sess));
            return;
        }
    for (size_t i = 0; i < d->n_gone; i++)
        if (!strcmp(d->gone[i].peer_hex, hex) && d->gone[i].name[0]) {
            snprintf(out, cap, "%s", d->gone[i].name);
            return;
        }
}

/* The known rows: every target, then the peers gone that no target names. */
static void status_known(struct daemon *d, struct node_status *st)
{
    char shown[DAEMON_GONE_MAX];
    memset(shown, 0, sizeof shown);
    for (struct target *t = d->targets; t; t = t->next) {
        struct status_peer *p = status_add_known(st);
        if (!p)
            break;
        if (t->discovered) {
            int b = peer_addrs_best(&t->disc);
            if (b >= 0)
                daemon_sa_text((struct sockaddr *)&t->disc.a[b].sa, p->address, sizeof p->address);
            else
                snprintf(p->address, sizeof p->address, "?");
            sodium_bin2hex(p->author, sizeof p->author, t->author, AM_PK_LEN);
        } else {
            snprintf(p->address, sizeof p->address, "%s:%s", t->host, t->port);
            if (t->known)
                sodium_bin2hex(p->author, sizeof p->author, t->author, AM_PK_LEN);
        }
        name_of(d, p->author, t->discovered ? NULL : t->name, p->name, sizeof p->name);
        snprintf(p->source, sizeof p->source, "%s", t->discovered ? "discovered" : "static");
        snprintf(p->last_error, sizeof p->last_error, "%s", t->last_error);
        p->self = t->self;
        for (size_t i = 0; p->author[0] && i < d->n_gone; i++)
            if (!strcmp(d->gone[i].peer_hex, p->author)) {
                p->last_seen = d->gone[i].last_seen; /* its row says when it was last seen */
                shown[i] = 1;
            }
    }
    for (size_t i = 0; i < d->n_gone; i++) {
        const struct gone *g = &d->gone[i];
        struct status_peer *p;
        if (shown[i] || !(p = status_add_known(st)))
            continue;
        snprintf(p->address, sizeof p->address, "%s", g->addr);
        snprintf(p->source, sizeof p->source, "was connected");
        snprintf(p->author, sizeof p->author, "%s", g->peer_hex);
        snprintf(p->name, sizeof p->name, "%s", g->name);
        snprintf(p->direction, sizeof p->direction, "%s", g->inbound ? "in" : "out");
        p->last_seen = g->last_seen;
        p->entries_in = g->entries_in;
        p->entries_out = g->entries_out;
    }
}

void daemon_write_status(struct daemon *d)
{
    struct node_status *st = &d->status;

    status_clear(st);
    st->pid = (long)getpid();
    st->port = d->port;
    snprintf(st->http, sizeof st->http, "%s", d->http_url);
    st->written = node_wall_ms();
    for (struct conn *c = d->conns; c; c = c->next) {
        const struct sync_stats *ss;
        struct status_peer *p;
        if (!c->handshaken || c->closing)
            continue;
        if (!(p = status_add_connected(st)))
            break;
        ss = sync_stats(&c->sess);
        snprintf(p->author, sizeof p->author, "%s", c->peer_hex);
        snprintf(p->name, sizeof p->name, "%s", sync_peer_name(&c->sess));
        snprintf(p->address, sizeof p->address, "%s", c->addr);
        snprintf(p->direction, sizeof p->direction, "%s", c->outbound ? "out" : "in");
        snprintf(p->state, sizeof p->state, "%s", c->in_sync ? "in sync" : "syncing");
        p->connected_at = c->connected_wall;
        p->last_seen = c->last_seen_wall;
        p->entries_in = ss->added + ss->forks; /* a branch's first entry too */
        p->entries_out = ss->entries_out;
        p->bytes_in = ss->bytes_in;
        p->bytes_out = ss->bytes_out;
    }
    status_known(d, st);
    status_impostors(d, st);
    if (d->snap_ok)
        status_snapshot_set(&d->snap, status_to_json(st));
}

void daemon_on_status_timer(uv_timer_t *t)
{
    daemon_write_status(t->data);
}
