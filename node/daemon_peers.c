/*
 * daemon_peers.c: whom the daemon dials (static peers from flags and the config, peers
 * discovered on the local network), with backoff, and the status file `aidmesh peers`
 * reads. Must never: dial this node itself, dial a peer it is connected to, or keep an
 * unbounded number of targets.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "daemon_int.h"

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

static void on_connect(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        daemon_conn_close(c, uv_strerror(status));
        return;
    }
    daemon_conn_start(c);
}

static void dial_addr(struct daemon *d, struct target *t, const struct sockaddr *sa)
{
    struct conn *c = daemon_conn_new(d, 1);
    int rc;
    if (!c) {
        t->dialing = 0;
        daemon_schedule_retry(d, t, "out of memory");
        return;
    }
    c->target = t;
    daemon_sa_text(sa, c->addr, sizeof c->addr);
    c->creq.data = c;
    if ((rc = uv_tcp_connect(&c->creq, &c->tcp, sa, on_connect)) != 0)
        daemon_conn_close(c, uv_strerror(rc)); /* e.g. "no route to host" */
}

struct resolve {
    uv_getaddrinfo_t req;
    struct daemon *d;
    struct target *t;
};

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct resolve *r = req->data;
    struct daemon *d = r->d;
    struct target *t = r->t;
    if (d->stopping) {
        t->dialing = 0;
    } else if (status < 0 || !res) {
        t->dialing = 0;
        daemon_log(d, "peer %s:%s: cannot resolve the name (%s)", t->host, t->port,
                   uv_strerror(status));
        daemon_schedule_retry(d, t, "cannot resolve the name");
        if (d->once && !d->once_done) {
            d->once_done = 1;
            d->once_result->error = AM_ENOTFOUND;
            uv_stop(&d->loop);
        }
    } else {
        dial_addr(d, t, res->ai_addr);
    }
    uv_freeaddrinfo(res);
    free(r);
}

static int connected_to(struct daemon *d, const uint8_t *author)
{
    for (struct conn *c = d->conns; c; c = c->next)
        if (c->handshaken && !c->closing &&
            memcmp(sync_peer_author(&c->sess), author, AM_PK_LEN) == 0)
            return 1;
    return 0;
}

void daemon_dial(struct daemon *d, struct target *t)
{
    struct resolve *r;
    struct addrinfo hints;
    t->dialing = 1;
    if (t->discovered) {
        dial_addr(d, t, (struct sockaddr *)&t->sa);
        return;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        t->dialing = 0;
        return;
    }
    r->d = d;
    r->t = t;
    r->req.data = r;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (uv_getaddrinfo(&d->loop, &r->req, on_resolved, t->host, t->port, &hints) != 0) {
        free(r);
        t->dialing = 0;
        daemon_schedule_retry(d, t, "cannot resolve the name");
    }
}

void daemon_on_maintain(uv_timer_t *tm)
{
    struct daemon *d = tm->data;
    uint64_t now = uv_now(&d->loop);
    if (d->stopping)
        return;
    for (struct target *t = d->targets; t; t = t->next) {
        if (t->dialing || t->self || now < t->next_attempt)
            continue;
        if ((t->discovered || t->known) && connected_to(d, t->author))
            continue;
        if (!t->discovered) {
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
}

struct target *daemon_target_add(struct daemon *d)
{
    struct target *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->backoff = BACKOFF_MIN_MS;
    t->next = d->targets;
    d->targets = t;
    return t;
}

void daemon_on_discovered(void *ctx, const uint8_t author[AM_PK_LEN], const struct sockaddr *addr,
                          uint16_t proto_version)
{
    struct daemon *d = ctx;
    struct target *t;
    char who[17], where[80];
    (void)proto_version;
    if (memcmp(author, d->n->pk, AM_PK_LEN) == 0)
        return; /* our identity: this node (or a clone of it): never dialed */
    for (t = d->targets; t; t = t->next)
        if (t->discovered && memcmp(t->author, author, AM_PK_LEN) == 0)
            break;
    if (!t) {
        t = daemon_target_add(d);
        if (!t)
            return;
        t->discovered = 1;
        memcpy(t->author, author, AM_PK_LEN);
        daemon_short_id(author, who);
        daemon_sa_text(addr, where, sizeof where);
        daemon_log(d, "peer %s found on the local network at %s", who, where);
        /* both ends hear each other: the smaller author id dials first */
        if (memcmp(d->n->pk, author, AM_PK_LEN) > 0)
            t->next_attempt = uv_now(&d->loop) + DISCOVERED_DELAY_MS;
    }
    memcpy(&t->sa, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    snprintf(t->host, sizeof t->host, "%s", "");
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
            if (t->is_static && !strcmp(t->host, host) && !strcmp(t->port, port))
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

/* ---- status file for `aidmesh peers` -------------------------------------------------------- */

void daemon_write_status(struct daemon *d)
{
    char path[AM_HOME_PATH_MAX + 16], tmp[AM_HOME_PATH_MAX + 32], dir[AM_HOME_PATH_MAX];
    FILE *f;
    int first = 1;
    char shown[DAEMON_GONE_MAX];

    if (home_path(dir, d->n->home, "run") != AM_OK)
        return;
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/peers.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "{\"pid\":%ld,\"port\":%u,\"written\":%llu,\"connected\":[", (long)getpid(), d->port,
            (unsigned long long)node_wall_ms());
    for (struct conn *c = d->conns; c; c = c->next) {
        const struct sync_stats *st;
        if (!c->handshaken || c->closing)
            continue;
        st = sync_stats(&c->sess);
        fprintf(f,
                "%s{\"author\":\"%s\",\"address\":\"%s\",\"direction\":\"%s\",\"state\":\"%s\","
                "\"connected_at\":%llu,\"last_seen\":%llu,\"entries_in\":%llu,"
                "\"entries_out\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu}",
                first ? "" : ",", c->peer_hex, c->addr, c->outbound ? "out" : "in",
                c->in_sync ? "in sync" : "syncing", (unsigned long long)c->connected_wall,
                (unsigned long long)c->last_seen_wall, (unsigned long long)st->added,
                (unsigned long long)st->entries_out, (unsigned long long)st->bytes_in,
                (unsigned long long)st->bytes_out);
        first = 0;
    }
    fprintf(f, "],\"known\":[");
    first = 1;
    for (size_t i = 0; i < d->n_gone; i++)
        shown[i] = 0;
    for (struct target *t = d->targets; t; t = t->next) {
        char addr[300], who[65] = "";
        uint64_t seen = 0;
        if (t->discovered) {
            daemon_sa_text((struct sockaddr *)&t->sa, addr, sizeof addr);
            sodium_bin2hex(who, sizeof who, t->author, AM_PK_LEN);
        } else {
            snprintf(addr, sizeof addr, "%s:%s", t->host, t->port);
            if (t->known)
                sodium_bin2hex(who, sizeof who, t->author, AM_PK_LEN);
        }
        for (size_t i = 0; who[0] && i < d->n_gone; i++)
            if (!strcmp(d->gone[i].peer_hex, who)) {
                seen = d->gone[i].last_seen; /* its row says when it was last seen */
                shown[i] = 1;
            }
        fprintf(f, "%s{\"address\":\"%s\",\"source\":\"%s\",\"author\":\"%s\",\"last_error\":\"",
                first ? "" : ",", addr, t->discovered ? "discovered" : "static", who);
        for (const char *p = t->last_error; *p; p++)
            if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
                fputc(*p, f);
        fprintf(f, "\",\"self\":%s,\"last_seen\":%llu}", t->self ? "true" : "false",
                (unsigned long long)seen);
        first = 0;
    }
    for (size_t i = 0; i < d->n_gone; i++) {
        const struct gone *g = &d->gone[i];
        if (shown[i])
            continue;
        fprintf(f,
                "%s{\"address\":\"%s\",\"source\":\"was connected\",\"author\":\"%s\","
                "\"last_error\":\"\",\"self\":false,\"last_seen\":%llu,\"entries_in\":%llu,"
                "\"entries_out\":%llu}",
                first ? "" : ",", g->addr, g->peer_hex, (unsigned long long)g->last_seen,
                (unsigned long long)g->entries_in, (unsigned long long)g->entries_out);
        first = 0;
    }
    fprintf(f, "]}\n");
    if (fclose(f) == 0)
        rename(tmp, path);
}

void daemon_on_status_timer(uv_timer_t *t)
{
    daemon_write_status(t->data);
}
