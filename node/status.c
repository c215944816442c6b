/*
 * status.c: the node's live status, its JSON form (jansson), the snapshot the dashboard
 * reads, and the control socket HOME/run/control.sock with its client (see status.h;
 * PROTOCOL.md §7, §8.5).
 *
 * What it must never do: decode a byte from the socket other than through jansson with a
 * length cap (status_from_json, the request parser); let a control client hold a slot past
 * STATUS_DEADLINE_MS or serve more than STATUS_CLIENTS_MAX at once; block the loop; print.
 */
#include "status.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "am_err.h"
#include "home.h"

/* ---- the structure ------------------------------------------------------------------------- */

void status_init(struct node_status *s)
{
    memset(s, 0, sizeof *s);
}

void status_free(struct node_status *s)
{
    if (!s)
        return;
    free(s->connected);
    free(s->known);
    free(s->impostors);
    status_init(s);
}

void status_clear(struct node_status *s)
{
    s->pid = 0;
    s->port = 0;
    s->written = 0;
    s->n_connected = s->n_known = s->n_impostors = 0;
    s->discovered = s->discovered_max = s->dialing = s->dialing_max = 0;
}

/* One more zeroed row of `size` bytes in *v (n used of cap); NULL on ENOMEM or the cap. */
static void *row_add(void **v, size_t *n, size_t *cap, size_t size)
{
    char *row;
    if (*n >= STATUS_ROWS_MAX)
        return NULL;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *nv;
        if (nc > STATUS_ROWS_MAX)
            nc = STATUS_ROWS_MAX;
        nv = realloc(*v, nc * size);
        if (!nv)
            return NULL;
        *v = nv;
        *cap = nc;
    }
    row = (char *)*v + *n * size;
    memset(row, 0, size);
    (*n)++;
    return row;
}

struct status_peer *status_add_connected(struct node_status *s)
{
    return row_add((void **)&s->connected, &s->n_connected, &s->cap_connected,
                   sizeof *s->connected);
}

struct status_peer *status_add_known(struct node_status *s)
{
    return row_add((void **)&s->known, &s->n_known, &s->cap_known, sizeof *s->known);
}

struct status_impostor *status_add_impostor(struct node_status *s)
{
    return row_add((void **)&s->impostors, &s->n_impostors, &s->cap_impostors,
                   sizeof *s->impostors);
}

/* ---- encoding ------------------------------------------------------------------------------ */

/* A JSON string of s. jansson takes UTF-8 only: a value that is not (a host name typed in
 * another encoding, a value cut inside a character) is sent with '?' for each byte past
 * ASCII rather than dropped. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    if (!j) {
        char *c = strdup(s);
        if (!c)
            return NULL;
        for (char *p = c; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        j = json_string(c);
        free(c);
    }
    return j;
}

static json_t *jnum(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)v);
}

/* Sets o[k] = v (stolen); returns 0, or -1 (v NULL: out of memory). */
static int put(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new(o, k, v) == 0 ? 0 : -1;
}

static json_t *connected_row(const struct status_peer *p)
{
    json_t *o = json_object();
    if (!o || put(o, "author", jstr(p->author)) || put(o, "name", jstr(p->name)) ||
        put(o, "address", jstr(p->address)) || put(o, "direction", jstr(p->direction)) ||
        put(o, "state", jstr(p->state)) || put(o, "connected_at", jnum(p->connected_at)) ||
        put(o, "last_seen", jnum(p->last_seen)) || put(o, "entries_in", jnum(p->entries_in)) ||
        put(o, "entries_out", jnum(p->entries_out)) || put(o, "bytes_in", jnum(p->bytes_in)) ||
        put(o, "bytes_out", jnum(p->bytes_out))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *known_row(const struct status_peer *p)
{
    json_t *o = json_object();
    if (!o || put(o, "address", jstr(p->address)) || put(o, "source", jstr(p->source)) ||
        put(o, "author", jstr(p->author)) || put(o, "name", jstr(p->name)) ||
        put(o, "last_error", jstr(p->last_error)) || put(o, "self", json_boolean(p->self)) ||
        put(o, "last_seen", jnum(p->last_seen)))
        goto fail;
    if (!strcmp(p->source, "was connected") &&
        (put(o, "direction", jstr(p->direction)) || put(o, "entries_in", jnum(p->entries_in)) ||
         put(o, "entries_out", jnum(p->entries_out))))
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

static json_t *impostor_row(const struct status_impostor *im)
{
    json_t *o = json_object();
    if (!o || put(o, "address", jstr(im->address)) || put(o, "author", jstr(im->author)) ||
        put(o, "reason", jstr(im->reason)) || put(o, "count", jnum(im->count)) ||
        put(o, "last_fail", jnum(im->last_fail)) || put(o, "last_heard", jnum(im->last_heard)) ||
        put(o, "verified_elsewhere", json_boolean(im->verified_elsewhere))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *status_object(const struct node_status *s)
{
    json_t *o = json_object(), *a;
    if (!o || put(o, "pid", json_integer(s->pid)) || put(o, "port", json_integer(s->port)) ||
        put(o, "http", s->http[0] ? jstr(s->http) : json_null()) ||
        put(o, "written", jnum(s->written)))
        goto fail;
    if (put(o, "connected", a = json_array()))
        goto fail;
    for (size_t i = 0; i < s->n_connected; i++)
        if (json_array_append_new(a, connected_row(&s->connected[i])) != 0)
            goto fail;
    if (put(o, "known", a = json_array()))
        goto fail;
    for (size_t i = 0; i < s->n_known; i++)
        if (json_array_append_new(a, known_row(&s->known[i])) != 0)
            goto fail;
    if (put(o, "discovered", jnum(s->discovered)) ||
        put(o, "discovered_max", jnum(s->discovered_max)) || put(o, "dialing", jnum(s->dialing)) ||
        put(o, "dialing_max", jnum(s->dialing_max)) || put(o, "impostors", a = json_array()))
        goto fail;
    for (size_t i = 0; i < s->n_impostors; i++)
        if (json_array_append_new(a, impostor_row(&s->impostors[i])) != 0)
            goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

static char *dump(json_t *o)
{
    char *out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return out;
}

char *status_to_json(const struct node_status *s)
{
    return dump(status_object(s));
}

char *status_peers_json(const struct node_status *s)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (s) {
        if (put(o, "running", json_true()) || put(o, "status", status_object(s)))
            goto fail;
    } else if (put(o, "running", json_false()) || put(o, "connected", json_array()) ||
               put(o, "known", json_array())) {
        goto fail;
    }
    return dump(o);
fail:
    json_decref(o);
    return NULL;
}

/* ---- decoding (bytes from another process) ------------------------------------------------ */

/* A field's result: the first error ends the object's decoding. */
#define TRY(x)                                                                                     \
    do {                                                                                           \
        int try_rc_ = (x);                                                                         \
        if (try_rc_ != AM_OK)                                                                      \
            return try_rc_;                                                                        \
    } while (0)

/* o[k] as a string into out; absent: "". AM_EMALFORMED when not a string, AM_ELIMIT when
 * longer than cap - 1 bytes (jansson refuses "\u0000" in strings: no NUL inside). */
static int get_str(const json_t *o, const char *k, char *out, size_t cap)
{
    const json_t *v = json_object_get(o, k);
    size_t n;
    out[0] = 0;
    if (!v)
        return AM_OK;
    if (!json_is_string(v))
        return AM_EMALFORMED;
    n = json_string_length(v);
    if (n > cap - 1)
        return AM_ELIMIT;
    memcpy(out, json_string_value(v), n);
    out[n] = 0;
    return AM_OK;
}

/* o[k] as an integer from 0 to max; absent: 0. */
static int get_u64(const json_t *o, const char *k, uint64_t max, uint64_t *out)
{
    const json_t *v = json_object_get(o, k);
    *out = 0;
    if (!v)
        return AM_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return AM_EMALFORMED;
    if ((uint64_t)json_integer_value(v) > max)
        return AM_ELIMIT;
    *out = (uint64_t)json_integer_value(v);
    return AM_OK;
}

static int get_bool(const json_t *o, const char *k, int *out)
{
    const json_t *v = json_object_get(o, k);
    *out = 0;
    if (!v)
        return AM_OK;
    if (!json_is_boolean(v))
        return AM_EMALFORMED;
    *out = json_is_true(v);
    return AM_OK;
}

/* The rows of o[k] (absent: none) through one(row object) each. */
static int get_rows(const json_t *o, const char *k, struct node_status *s,
                    int (*one)(const json_t *row, struct node_status *s))
{
    const json_t *a = json_object_get(o, k), *row;
    size_t i;
    if (!a)
        return AM_OK;
    if (!json_is_array(a))
        return AM_EMALFORMED;
    if (json_array_size(a) > STATUS_ROWS_MAX)
        return AM_ELIMIT;
    json_array_foreach(a, i, row)
    {
        if (!json_is_object(row))
            return AM_EMALFORMED;
        TRY(one(row, s));
    }
    return AM_OK;
}

static int peer_fields(const json_t *o, struct status_peer *p)
{
    TRY(get_str(o, "author", p->author, sizeof p->author));
    TRY(get_str(o, "name", p->name, sizeof p->name));
    TRY(get_str(o, "address", p->address, sizeof p->address));
    TRY(get_str(o, "direction", p->direction, sizeof p->direction));
    TRY(get_str(o, "state", p->state, sizeof p->state));
    TRY(get_str(o, "source", p->source, sizeof p->source));
    TRY(get_str(o, "last_error", p->last_error, sizeof p->last_error));
    TRY(get_u64(o, "connected_at", INT64_MAX, &p->connected_at));
    TRY(get_u64(o, "last_seen", INT64_MAX, &p->last_seen));
    TRY(get_u64(o, "entries_in", INT64_MAX, &p->entries_in));
    TRY(get_u64(o, "entries_out", INT64_MAX, &p->entries_out));
    TRY(get_u64(o, "bytes_in", INT64_MAX, &p->bytes_in));
    TRY(get_u64(o, "bytes_out", INT64_MAX, &p->bytes_out));
    return get_bool(o, "self", &p->self);
}

static int one_connected(const json_t *row, struct node_status *s)
{
    struct status_peer *p = status_add_connected(s);
    return p ? peer_fields(row, p) : AM_ENOMEM;
}

static int one_known(const json_t *row, struct node_status *s)
{
    struct status_peer *p = status_add_known(s);
    return p ? peer_fields(row, p) : AM_ENOMEM;
}

static int one_impostor(const json_t *row, struct node_status *s)
{
    struct status_impostor *im = status_add_impostor(s);
    if (!im)
        return AM_ENOMEM;
    TRY(get_str(row, "address", im->address, sizeof im->address));
    TRY(get_str(row, "author", im->author, sizeof im->author));
    TRY(get_str(row, "reason", im->reason, sizeof im->reason));
    TRY(get_u64(row, "count", INT64_MAX, &im->count));
    TRY(get_u64(row, "last_fail", INT64_MAX, &im->last_fail));
    TRY(get_u64(row, "last_heard", INT64_MAX, &im->last_heard));
    return get_bool(row, "verified_elsewhere", &im->verified_elsewhere);
}

/* The top-level fields of the status object o into s. */
static int status_fields(const json_t *o, struct node_status *s)
{
    uint64_t pid, port;
    TRY(get_u64(o, "pid", INT32_MAX, &pid));
    TRY(get_u64(o, "port", 65535, &port));
    s->pid = (long)pid;
    s->port = (uint16_t)port;
    if (!json_is_null(json_object_get(o, "http")))
        TRY(get_str(o, "http", s->http, sizeof s->http));
    TRY(get_u64(o, "written", INT64_MAX, &s->written));
    TRY(get_u64(o, "discovered", INT64_MAX, &s->discovered));
    TRY(get_u64(o, "discovered_max", INT64_MAX, &s->discovered_max));
    TRY(get_u64(o, "dialing", INT64_MAX, &s->dialing));
    TRY(get_u64(o, "dialing_max", INT64_MAX, &s->dialing_max));
    TRY(get_rows(o, "connected", s, one_connected));
    TRY(get_rows(o, "known", s, one_known));
    return get_rows(o, "impostors", s, one_impostor);
}

int status_from_json(const char *text, size_t len, struct node_status *s, char *err, size_t cap)
{
    json_error_t je;
    json_t *root;
    int rc = AM_EMALFORMED;

    status_free(s);
    if (err && cap)
        err[0] = 0;
    if (len > STATUS_REPLY_MAX)
        return AM_ELIMIT;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return json_error_code(&je) == json_error_out_of_memory ? AM_ENOMEM : AM_EMALFORMED;
    if (!json_is_object(root))
        goto out;
    if (json_object_get(root, "error")) {
        char why[200];
        if ((rc = get_str(root, "error", why, sizeof why)) != AM_OK)
            goto out;
        if (err && cap)
            snprintf(err, cap, "%s", why);
        rc = AM_EPEER;
        goto out;
    }
    rc = status_fields(root, s);
out:
    json_decref(root);
    return rc;
}

/* ---- the snapshot -------------------------------------------------------------------------- */

int status_snapshot_init(struct status_snapshot *sn)
{
    sn->json = NULL;
    return pthread_mutex_init(&sn->mu, NULL) == 0 ? AM_OK : AM_ESYS;
}

void status_snapshot_destroy(struct status_snapshot *sn)
{
    pthread_mutex_destroy(&sn->mu);
    free(sn->json);
    sn->json = NULL;
}

void status_snapshot_set(struct status_snapshot *sn, char *json)
{
    char *old;
    if (!json)
        return;
    pthread_mutex_lock(&sn->mu);
    old = sn->json;
    sn->json = json;
    pthread_mutex_unlock(&sn->mu);
    free(old);
}

char *status_snapshot_copy(struct status_snapshot *sn)
{
    char *c = NULL;
    pthread_mutex_lock(&sn->mu);
    if (sn->json)
        c = strdup(sn->json);
    pthread_mutex_unlock(&sn->mu);
    return c;
}

/* ---- the control socket -------------------------------------------------------------------- */

struct status_client {
    struct status_server *sv;
    uv_pipe_t pipe;
    uv_timer_t timer;
    uv_write_t wreq;
    uv_buf_t out;
    int slot;
    int pending; /* handles whose close callback has not run */
    int answered;
    uint64_t since; /* loop time it was accepted */
    size_t len;
    char buf[STATUS_REQUEST_MAX];
};

/* HOME/run/control.sock into out (a sockaddr_un path). AM_EINVAL when it does not fit. */
static int socket_path(const char *home, char *out, size_t cap)
{
    char p[AM_HOME_PATH_MAX];
    int rc = home_path(p, home, STATUS_SOCKET);
    if (rc != AM_OK)
        return rc;
    if (strlen(p) >= cap)
        return AM_EINVAL;
    memcpy(out, p, strlen(p) + 1);
    return AM_OK;
}

static void client_freed(uv_handle_t *h)
{
    struct status_client *c = h->data;
    if (--c->pending > 0)
        return;
    free(c->out.base);
    free(c);
}

static void client_close(struct status_client *c)
{
    if (c->slot < 0)
        return; /* closing already */
    c->sv->clients[c->slot] = NULL;
    c->slot = -1;
    c->pending = 2;
    uv_close((uv_handle_t *)&c->pipe, client_freed);
    uv_close((uv_handle_t *)&c->timer, client_freed);
}

static void on_deadline(uv_timer_t *t)
{
    client_close(t->data);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    client_close(req->data); /* one answer, then close */
}

/* Sends `line` (malloc'd, taken; NULL: out of memory) plus a newline, then closes. */
static void client_answer(struct status_client *c, char *line)
{
    size_t n;
    char *b;
    c->answered = 1;
    uv_read_stop((uv_stream_t *)&c->pipe);
    if (!line) {
        client_close(c);
        return;
    }
    n = strlen(line);
    b = realloc(line, n + 2);
    if (!b) {
        free(line);
        client_close(c);
        return;
    }
    b[n] = '\n';
    b[n + 1] = 0;
    c->out = uv_buf_init(b, (unsigned)(n + 1));
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->pipe, &c->out, 1, on_written) != 0)
        client_close(c);
}

static char *error_line(const char *why)
{
    json_t *o = json_object();
    if (o && put(o, "error", json_string(why)) != 0) {
        json_decref(o);
        return NULL;
    }
    return dump(o);
}

/* The request in c->buf[0..len): {"get":"status"} and nothing else. */
static void client_request(struct status_client *c, size_t len)
{
    struct status_server *sv = c->sv;
    json_error_t je;
    json_t *req = json_loadb(c->buf, len, JSON_REJECT_DUPLICATES, &je);
    const json_t *get = req ? json_object_get(req, "get") : NULL;
    char *json;

    if (!req || !json_is_object(req) || json_object_size(req) != 1 || !json_is_string(get) ||
        strcmp(json_string_value(get), "status") != 0) {
        json_decref(req);
        client_answer(
            c,
            error_line("unknown request: send one line {\"get\":\"status\"} (PROTOCOL.md §8.5)"));
        return;
    }
    json_decref(req);
    if (sv->refresh)
        sv->refresh(sv->ctx);
    json = sv->snap ? status_snapshot_copy(sv->snap) : NULL;
    client_answer(c, json ? json : error_line("the status is not ready yet: ask again"));
}

static void on_client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct status_client *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - c->len));
}

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct status_client *c = s->data;
    char *nl;
    (void)buf;
    if (c->answered || c->slot < 0)
        return;
    if (nread < 0) {
        if (nread == UV_EOF && c->len > 0)
            client_request(c, c->len); /* a request without its newline */
        else
            client_close(c);
        return;
    }
    c->len += (size_t)nread;
    nl = memchr(c->buf, '\n', c->len);
    if (nl) {
        client_request(c, (size_t)(nl - c->buf));
        return;
    }
    if (c->len == sizeof c->buf)
        client_answer(c, error_line("request over 4096 bytes: send one line "
                                    "{\"get\":\"status\"}"));
}

static void refused_closed(uv_handle_t *h)
{
    free(h);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct status_server *sv = server->data;
    struct status_client *c;
    int slot = -1;

    if (status < 0)
        return;
    for (int i = 0; i < STATUS_CLIENTS_MAX; i++)
        if (!sv->clients[i]) {
            slot = i;
            break;
        }
    if (slot < 0) { /* full: the oldest that has not asked yet makes room, as http.c does */
        struct status_client *old = NULL;
        for (int i = 0; i < STATUS_CLIENTS_MAX; i++)
            if (!sv->clients[i]->answered && (!old || sv->clients[i]->since < old->since))
                old = sv->clients[i];
        if (old) {
            slot = old->slot;
            sv->evicted++;
            client_close(old);
        }
    }
    if (slot < 0) { /* every slot is sending an answer: close the newcomer at once */
        uv_pipe_t *p = malloc(sizeof *p);
        sv->refused++;
        if (!p || uv_pipe_init(sv->loop, p, 0) != 0) {
            free(p);
            return;
        }
        uv_accept(server, (uv_stream_t *)p);
        uv_close((uv_handle_t *)p, refused_closed);
        return;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->sv = sv;
    c->slot = slot;
    c->since = uv_now(sv->loop);
    uv_pipe_init(sv->loop, &c->pipe, 0);
    uv_timer_init(sv->loop, &c->timer);
    c->pipe.data = c->timer.data = c;
    sv->clients[slot] = c;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 ||
        uv_read_start((uv_stream_t *)&c->pipe, on_client_alloc, on_client_read) != 0) {
        client_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_deadline, STATUS_DEADLINE_MS, 0);
}

/* Does a node answer on the socket at path? 1 yes, 0 no (nothing listens, or no file). */
static int socket_alive(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
    if (fd < 0)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

int status_server_start(struct status_server *sv, uv_loop_t *loop, const char *home,
                        struct status_snapshot *snap, void (*refresh)(void *ctx), void *ctx,
                        char *err, size_t cap)
{
    char dir[AM_HOME_PATH_MAX];
    struct stat st;
    mode_t old;
    int rc;

    memset(sv, 0, sizeof *sv);
    sv->loop = loop;
    sv->snap = snap;
    sv->refresh = refresh;
    sv->ctx = ctx;
    if (socket_path(home, sv->path, sizeof sv->path) != AM_OK) {
        snprintf(err, cap,
                 "the control socket %s/%s is longer than a unix socket path may be (%zu "
                 "bytes): use a shorter --home for `aidmesh peers` and `doctor` to reach this node",
                 home, STATUS_SOCKET, sizeof sv->path - 1);
        return AM_EINVAL;
    }
    if (home_path(dir, home, "run") != AM_OK)
        return AM_EINVAL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, cap, "cannot create %s: %s", dir, strerror(errno));
        return AM_ESYS;
    }
    if (lstat(sv->path, &st) == 0) {
        if (socket_alive(sv->path)) {
            snprintf(err, cap,
                     "another aidmesh node already answers on %s: one `aidmesh run` per home",
                     sv->path);
            return AM_EEXIST;
        }
        unlink(sv->path); /* left by a node that is gone */
    }
    if (uv_pipe_init(loop, &sv->pipe, 0) != 0)
        return AM_ESYS;
    sv->pipe.data = sv;
    old = umask(0177); /* created 0600: no moment where others may connect */
    rc = uv_pipe_bind(&sv->pipe, sv->path);
    umask(old);
    if (rc == 0 && chmod(sv->path, 0600) != 0)
        rc = uv_translate_sys_error(errno);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&sv->pipe, STATUS_CLIENTS_MAX * 2, on_connection);
    if (rc != 0) {
        snprintf(err, cap, "cannot listen on %s: %s", sv->path, uv_strerror(rc));
        uv_close((uv_handle_t *)&sv->pipe, NULL);
        unlink(sv->path);
        return AM_ESYS;
    }
    sv->listening = 1;
    return AM_OK;
}

void status_server_stop(struct status_server *sv)
{
    if (!sv->listening)
        return;
    sv->listening = 0;
    for (int i = 0; i < STATUS_CLIENTS_MAX; i++)
        if (sv->clients[i])
            client_close(sv->clients[i]);
    if (!uv_is_closing((uv_handle_t *)&sv->pipe))
        uv_close((uv_handle_t *)&sv->pipe, NULL);
    unlink(sv->path);
}

/* ---- the client ---------------------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until `end`; returns 1 ready, 0 timed out, -1 error (errno). */
static int wait_fd(int fd, short events, uint64_t end)
{
    for (;;) {
        struct pollfd p = {fd, events, 0};
        uint64_t now = mono_ms();
        int r;
        if (now >= end)
            return 0;
        r = poll(&p, 1, (int)(end - now));
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 ? -1 : r > 0;
    }
}

int status_ask(const char *home, uint32_t timeout_ms, struct node_status *s, char *err, size_t cap)
{
    static const char req[] = "{\"get\":\"status\"}\n";
    struct sockaddr_un sa;
    uint64_t end = mono_ms() + (timeout_ms ? timeout_ms : STATUS_DEADLINE_MS);
    size_t sent = 0, len = 0;
    char *buf = NULL, *nl = NULL;
    int fd, rc, e;

    status_free(s);
    if (err && cap)
        err[0] = 0;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if ((rc = socket_path(home, sa.sun_path, sizeof sa.sun_path)) != AM_OK)
        return rc;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return AM_ESYS;
    /* a unix socket connects at once, or says EAGAIN while its backlog is full */
    while (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (errno == ENOENT || errno == ECONNREFUSED) {
            rc = AM_ENOTFOUND;
            goto out;
        }
        if (errno != EAGAIN && errno != EINTR) {
            rc = AM_ESYS;
            goto out;
        }
        if (mono_ms() >= end) {
            rc = AM_ETIMEOUT;
            goto out;
        }
        poll(NULL, 0, 10);
    }
    while (sent < sizeof req - 1) {
        ssize_t w = send(fd, req + sent, sizeof req - 1 - sent, MSG_NOSIGNAL);
        if (w > 0) {
            sent += (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            rc = errno == EPIPE || errno == ECONNRESET ? AM_EPEER : AM_ESYS;
            goto out;
        }
        if ((rc = wait_fd(fd, POLLOUT, end)) <= 0) {
            rc = rc == 0 ? AM_ETIMEOUT : AM_ESYS;
            goto out;
        }
    }
    buf = malloc(STATUS_REPLY_MAX + 1);
    if (!buf) {
        rc = AM_ENOMEM;
        goto out;
    }
    while (!nl) {
        ssize_t r;
        if (len > STATUS_REPLY_MAX) {
            rc = AM_ELIMIT;
            goto out;
        }
        r = recv(fd, buf + len, STATUS_REPLY_MAX + 1 - len, 0);
        if (r > 0) {
            nl = memchr(buf + len, '\n', (size_t)r);
            len += (size_t)r;
            continue;
        }
        if (r == 0) { /* closed before a whole line */
            rc = len ? AM_EMALFORMED : AM_EPEER;
            if (!len && err && cap)
                snprintf(err, cap, "the node closed the control socket without an answer");
            goto out;
        }
        if (errno != EAGAIN && errno != EINTR) {
            rc = AM_ESYS;
            goto out;
        }
        if ((rc = wait_fd(fd, POLLIN, end)) <= 0) {
            rc = rc == 0 ? AM_ETIMEOUT : AM_ESYS;
            goto out;
        }
    }
    rc = status_from_json(buf, (size_t)(nl - buf), s, err, cap);
out:
    e = errno; /* the caller reads it after AM_ENOTFOUND and AM_ESYS */
    free(buf);
    close(fd);
    errno = e;
    return rc;
}
