/*
 * home.c: the data home and its key files (see home.h).
 * Must never print a secret, leave a secret in a buffer it does not wipe, follow a
 * symlink when it opens a key file, open a key that is not a plain file (a pipe would
 * block), or accept a home that other users can write to.
 */
#include "home.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "am_text.h"
#include "daemon.h" /* daemon_split_hostport, DAEMON_DEFAULT_PORT */

#define IDENTITY_FILE  "identity.key"
#define NETWORK_FILE   "network.key"
#define CONFIG_FILE    "config"
#define IDENTITY_MAGIC "aidmesh-identity-v1"
#define NETWORK_MAGIC  "aidmesh-network-v1"

int home_resolve(char out[static AM_HOME_PATH_MAX], const char *flag)
{
    const char *env = getenv("AIDMESH_HOME");
    const char *home = getenv("HOME");
    int n;

    if (flag && *flag)
        n = snprintf(out, AM_HOME_PATH_MAX, "%s", flag);
    else if (env && *env)
        n = snprintf(out, AM_HOME_PATH_MAX, "%s", env);
    else if (home && *home)
        n = snprintf(out, AM_HOME_PATH_MAX, "%s/.local/share/aidmesh", home);
    else
        return AM_EINVAL;
    if (n < 0 || n >= AM_HOME_PATH_MAX)
        return AM_EINVAL;
    return AM_OK;
}

int home_path(char out[static AM_HOME_PATH_MAX], const char *home, const char *name)
{
    int n = snprintf(out, AM_HOME_PATH_MAX, "%s/%s", home, name);
    return n < 0 || n >= AM_HOME_PATH_MAX ? AM_EINVAL : AM_OK;
}

int home_is_initialised(const char *home)
{
    char p[AM_HOME_PATH_MAX];
    struct stat st;
    return home_path(p, home, IDENTITY_FILE) == AM_OK && lstat(p, &st) == 0;
}

/* mkdir -p with mode 0700 for the last component (parents 0755). */
static int mkdirs(const char *path)
{
    char tmp[AM_HOME_PATH_MAX];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof tmp)
        return AM_EINVAL;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return AM_ESYS;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return AM_ESYS;
    return AM_OK;
}

static int fsync_dir_of(const char *path)
{
    char dir[AM_HOME_PATH_MAX];
    char *slash;
    int fd, rc = AM_OK;

    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return AM_ESYS;
    if (fsync(fd) != 0)
        rc = AM_ESYS;
    close(fd);
    return rc;
}

int home_write_secret_file(const char *path, const char *text, size_t len, int replace)
{
    char tmp[AM_HOME_PATH_MAX];
    struct stat st;
    int fd, rc = AM_ESYS, saved;

    if (!replace && lstat(path, &st) == 0)
        return AM_EEXIST;
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return AM_EINVAL;
    unlink(tmp); /* a leftover of a crashed write by the same pid number */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return AM_ESYS;
    if (fchmod(fd, 0600) != 0) /* whatever the umask said */
        goto out;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto out;
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto out;
    if (close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto out;
    rc = fsync_dir_of(path);
out:
    saved = errno;
    if (fd >= 0)
        close(fd);
    if (rc != AM_OK)
        unlink(tmp);
    errno = saved;
    return rc;
}

int home_read_secret_file(const char *path, char *out, size_t cap)
{
    struct stat st;
    ssize_t n;
    int fd;

    /* never opened unless a plain file: a pipe would wait for a writer, a device may do
     * anything; O_NONBLOCK and the fstat close the gap between the look and the open */
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return AM_EPERM;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? AM_ENOTFOUND : errno == ELOOP ? AM_EPERM : AM_ESYS;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return AM_ESYS;
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
        close(fd);
        return AM_EPERM;
    }
    n = read(fd, out, cap - 1);
    close(fd);
    if (n < 0)
        return AM_ESYS;
    out[n] = 0;
    return AM_OK;
}

void home_key_error_text(const char *path, char *buf, size_t cap)
{
    size_t pl = strlen(path);
    int network =
        pl >= strlen(NETWORK_FILE) && strcmp(path + pl - strlen(NETWORK_FILE), NETWORK_FILE) == 0;
    const char *fix = network ? "join the network again with `aidmesh init --force --join CODE`"
                              : "start over with `aidmesh init --force` (a new identity)";
    const char *what = NULL;
    struct stat st;

    if (lstat(path, &st) != 0) {
        snprintf(buf, cap, "cannot look at %s: %s", path, strerror(errno));
        return;
    }
    if (S_ISLNK(st.st_mode))
        what = "a symbolic link";
    else if (S_ISFIFO(st.st_mode))
        what = "a named pipe";
    else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        what = "a device";
    else if (S_ISDIR(st.st_mode))
        what = "a folder";
    else if (S_ISSOCK(st.st_mode))
        what = "a socket";
    if (what)
        snprintf(buf, cap,
                 "%s is %s, not a key file: aidmesh reads a key only from a plain file of mode "
                 "0600 in the home, never through a link. Remove it (`rm %s`%s) and put the "
                 "key file back from a backup, or %s",
                 path, what, path, S_ISLNK(st.st_mode) ? " removes only the link" : "", fix);
    else if (st.st_mode & 077)
        snprintf(buf, cap,
                 "%s can be read by other users (mode %04o); a key must be private: run "
                 "`chmod 600 %s`",
                 path, (unsigned)(st.st_mode & 07777), path);
    else
        snprintf(buf, cap, "%s cannot be used as a key file; restore it from a backup, or %s", path,
                 fix);
}

int home_check(const char *home)
{
    struct stat st;
    if (stat(home, &st) != 0)
        return errno == ENOENT ? AM_OK : AM_ESYS; /* no home yet: the key load says so */
    if (!S_ISDIR(st.st_mode))
        return AM_EINVAL;
    if ((st.st_mode & 022) || (st.st_uid != geteuid() && st.st_uid != 0))
        return AM_EPERM;
    return AM_OK;
}

void home_error_text(const char *home, int rc, char *buf, size_t cap)
{
    struct stat st;
    if (rc == AM_EPERM && stat(home, &st) == 0 && (st.st_mode & 022))
        snprintf(buf, cap,
                 "the data home %s can be changed by other users (mode %04o): anyone of them "
                 "could swap its keys or its store, so aidmesh refuses it. Run `chmod 700 %s`",
                 home, (unsigned)(st.st_mode & 07777), home);
    else if (rc == AM_EPERM && stat(home, &st) == 0)
        snprintf(buf, cap,
                 "the data home %s belongs to another user (uid %u), who could swap its keys "
                 "or its store, so aidmesh refuses it: run aidmesh as that user, or give the "
                 "home to this one (`chown -R %u %s`, then `chmod 700 %s`)",
                 home, (unsigned)st.st_uid, (unsigned)geteuid(), home, home);
    else if (rc == AM_EINVAL)
        snprintf(buf, cap, "the data home %s is not a folder: pass --home DIR with a folder", home);
    else
        snprintf(buf, cap, "cannot use the data home %s: %s", home,
                 rc == AM_ESYS ? strerror(errno) : am_strerror(rc));
}

/* "MAGIC\n<hex>\n" -> bytes. */
static int parse_key_text(const char *text, const char *magic, uint8_t *out, size_t n)
{
    size_t ml = strlen(magic), got = 0;
    const char *end;

    if (strncmp(text, magic, ml) != 0 || text[ml] != '\n')
        return AM_ECORRUPT;
    if (sodium_hex2bin(out, n, text + ml + 1, 2 * n, NULL, &got, &end) != 0 || got != n)
        return AM_ECORRUPT;
    if (*end != '\n' && *end != 0)
        return AM_ECORRUPT;
    return AM_OK;
}

static int write_key(const char *home, const char *name, const char *magic, const uint8_t *key,
                     size_t n, int replace)
{
    char path[AM_HOME_PATH_MAX];
    char text[160];
    char hex[2 * 64 + 1];
    int len, rc;

    if (home_path(path, home, name) != AM_OK || n > 64)
        return AM_EINVAL;
    sodium_bin2hex(hex, sizeof hex, key, n);
    len = snprintf(text, sizeof text, "%s\n%s\n", magic, hex);
    rc = home_write_secret_file(path, text, (size_t)len, replace);
    sodium_memzero(hex, sizeof hex);
    sodium_memzero(text, sizeof text);
    return rc;
}

static int read_key(const char *home, const char *name, const char *magic, uint8_t *key, size_t n)
{
    char path[AM_HOME_PATH_MAX];
    char text[256];
    int rc;

    if (home_path(path, home, name) != AM_OK)
        return AM_EINVAL;
    rc = home_read_secret_file(path, text, sizeof text);
    if (rc == AM_OK)
        rc = parse_key_text(text, magic, key, n);
    sodium_memzero(text, sizeof text);
    return rc;
}

/* Moves an existing file aside as "<file>.replaced-<time>". */
static int keep_aside(const char *home, const char *name, time_t now)
{
    char path[AM_HOME_PATH_MAX], aside[AM_HOME_PATH_MAX];
    struct stat st;

    if (home_path(path, home, name) != AM_OK)
        return AM_EINVAL;
    if (lstat(path, &st) != 0)
        return AM_OK;
    if (snprintf(aside, sizeof aside, "%s.replaced-%lld", path, (long long)now) >=
        (int)sizeof aside)
        return AM_EINVAL;
    return rename(path, aside) == 0 ? AM_OK : AM_ESYS;
}

int home_init(const char *home, const uint8_t seed[static AM_SEED_LEN],
              const uint8_t secret[static AM_NETSECRET_LEN], const char *name, int force)
{
    char path[AM_HOME_PATH_MAX];
    char conf[AM_NAME_MAX + 32];
    time_t now = time(NULL);
    int rc, len;

    if (name && (strlen(name) > AM_NAME_MAX || !am_text_ok(name, strlen(name), 0)))
        return AM_EINVAL; /* a node name is printable text (PROTOCOL.md §10.2) */
    if (home_is_initialised(home) && !force)
        return AM_EEXIST;
    rc = mkdirs(home);
    if (rc == AM_OK)
        rc = home_check(home); /* an existing folder others can write to is refused */
    if (rc != AM_OK)
        return rc;
    if (force) {
        if ((rc = keep_aside(home, IDENTITY_FILE, now)) != AM_OK ||
            (rc = keep_aside(home, NETWORK_FILE, now)) != AM_OK)
            return rc;
    }
    rc = write_key(home, NETWORK_FILE, NETWORK_MAGIC, secret, AM_NETSECRET_LEN, force);
    if (rc != AM_OK)
        return rc;
    if (name && *name) {
        len = snprintf(conf, sizeof conf, "name = %s\n", name);
        if (home_path(path, home, CONFIG_FILE) != AM_OK)
            return AM_EINVAL;
        /* config holds no secret, but the atomic writer is the one we have */
        rc = home_write_secret_file(path, conf, (size_t)len, 1);
        if (rc != AM_OK)
            return rc;
    }
    /* The identity goes last: its presence is what marks a home as initialised. */
    return write_key(home, IDENTITY_FILE, IDENTITY_MAGIC, seed, AM_SEED_LEN, force);
}

int home_identity_stage(const char *home, const uint8_t seed[static AM_SEED_LEN])
{
    return write_key(home, HOME_IDENTITY_NEW, IDENTITY_MAGIC, seed, AM_SEED_LEN, 0);
}

int home_identity_commit(const char *home, long long now, char *aside, size_t cap)
{
    char path[AM_HOME_PATH_MAX], next[AM_HOME_PATH_MAX], old[AM_HOME_PATH_MAX];
    int rc;

    if (home_path(path, home, IDENTITY_FILE) != AM_OK ||
        home_path(next, home, HOME_IDENTITY_NEW) != AM_OK ||
        snprintf(old, sizeof old, "%s.replaced-%lld", path, now) >= (int)sizeof old)
        return AM_EINVAL;
    if (aside && cap)
        snprintf(aside, cap, "%s", old);
    /* a second name for the old key first: identity.key never stops naming a key */
    if (link(path, old) != 0)
        return errno == EEXIST ? AM_EEXIST : AM_ESYS;
    if (rename(next, path) != 0) {
        int saved = errno;
        unlink(old); /* the old key is still identity.key */
        errno = saved;
        return AM_ESYS;
    }
    rc = fsync_dir_of(path);
    return rc;
}

void home_identity_unstage(const char *home)
{
    char next[AM_HOME_PATH_MAX];
    if (home_path(next, home, HOME_IDENTITY_NEW) == AM_OK)
        unlink(next);
}

int home_load_identity(const char *home, uint8_t sk[static AM_SK_LEN])
{
    uint8_t seed[AM_SEED_LEN];
    uint8_t pk[AM_PK_LEN];
    int rc = read_key(home, IDENTITY_FILE, IDENTITY_MAGIC, seed, sizeof seed);

    if (rc == AM_OK)
        crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

int home_load_network(const char *home, uint8_t secret[static AM_NETSECRET_LEN])
{
    return read_key(home, NETWORK_FILE, NETWORK_MAGIC, secret, AM_NETSECRET_LEN);
}

const char *home_config_line(char *line, const char *key)
{
    size_t kl = strlen(key);
    char *p = line, *v;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncmp(p, key, kl) != 0)
        return NULL;
    v = p + kl;
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v != '=')
        return NULL;
    v++;
    while (*v == ' ' || *v == '\t')
        v++;
    v[strcspn(v, "\r\n")] = 0;
    return v;
}

/* One line of f into line: its first cap - 1 bytes with its '\n' if they hold it,
 * NUL-terminated. The rest of a longer line is skipped: fgets would hand it back as a line
 * of its own, and a value's tail such as "peer = HOST:PORT" must not become a setting.
 * Returns 0 at the end of the file. */
static int config_read_line(FILE *f, char *line, size_t cap)
{
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF) {
        if (n + 1 < cap)
            line[n++] = (char)c;
        if (c == '\n')
            break;
    }
    line[n] = 0;
    return n > 0 || c != EOF;
}

int home_config_each(const char *home, const char *key, int (*cb)(void *ctx, const char *value),
                     void *ctx)
{
    char path[AM_HOME_PATH_MAX];
    char line[HOME_CONFIG_LINE_MAX];
    int stop = 0;
    FILE *f;

    if (home_path(path, home, CONFIG_FILE) != AM_OK)
        return AM_EINVAL;
    f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? AM_OK : AM_ESYS;
    while (!stop && config_read_line(f, line, sizeof line)) {
        const char *v = home_config_line(line, key);
        if (v)
            stop = cb(ctx, v);
    }
    fclose(f);
    return AM_OK;
}

struct config_get {
    char *out;
    size_t cap;
};

static int config_get_one(void *ctx, const char *value)
{
    struct config_get *g = ctx;
    snprintf(g->out, g->cap, "%s", value); /* the last line of a key wins */
    return 0;
}

int home_config_get(const char *home, const char *key, char *out, size_t cap)
{
    struct config_get g = {out, cap};
    out[0] = 0;
    return home_config_each(home, key, config_get_one, &g);
}

int home_config_set(const char *home, const char *key, const char *value)
{
    char path[AM_HOME_PATH_MAX], line[HOME_CONFIG_LINE_MAX];
    char *buf = NULL, *out = NULL;
    size_t len = 0, olen = 0, klen = strlen(key), vlen = value ? strlen(value) : 0;
    int rc = AM_ESYS;
    FILE *f;

    if (klen == 0 || strpbrk(key, " \t=\r\n") || (value && strpbrk(value, "\r\n")) ||
        klen + vlen + 5 >= HOME_CONFIG_LINE_MAX || home_path(path, home, CONFIG_FILE) != AM_OK)
        return AM_EINVAL;
    if (!(buf = malloc(HOME_CONFIG_MAX + 1)) || !(out = malloc(HOME_CONFIG_MAX + 1))) {
        rc = AM_ENOMEM;
        goto out;
    }
    if ((f = fopen(path, "r")) != NULL) {
        len = fread(buf, 1, HOME_CONFIG_MAX + 1, f);
        rc = ferror(f) ? AM_ESYS : AM_OK;
        fclose(f);
        if (rc != AM_OK)
            goto out;
    } else if (errno != ENOENT) {
        goto out;
    }
    if (len > HOME_CONFIG_MAX) {
        rc = AM_ELIMIT;
        goto out;
    }
    for (size_t at = 0; at < len;) { /* every line but the key's, as it was */
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t ll = nl ? (size_t)(nl - (buf + at)) + 1 : len - at;
        size_t cl = ll < sizeof line ? ll : sizeof line - 1;
        memcpy(line, buf + at, cl);
        line[cl] = 0;
        if (!home_config_line(line, key)) {
            memcpy(out + olen, buf + at, ll);
            olen += ll;
            if (!nl)
                out[olen++] = '\n';
        }
        at += ll;
    }
    if (value) {
        int n = snprintf(out + olen, HOME_CONFIG_MAX + 1 - olen, "%s = %s\n", key, value);
        if (n < 0 || (size_t)n >= HOME_CONFIG_MAX + 1 - olen) {
            rc = AM_ELIMIT;
            goto out;
        }
        olen += (size_t)n;
    }
    rc = home_write_secret_file(path, out, olen, 1);
out:
    free(buf);
    free(out);
    return rc;
}

int home_peer_normal(const char *in, char out[static HOME_PEER_MAX])
{
    char host[256], port[8];
    int n;
    if (daemon_split_hostport(in, host, sizeof host, port, sizeof port) != AM_OK)
        return AM_EINVAL;
    for (char *h = host; *h; h++)
        if (*h >= 'A' && *h <= 'Z')
            *h = (char)(*h - 'A' + 'a');
    n = snprintf(out, HOME_PEER_MAX, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
    return n > 0 && n < HOME_PEER_MAX ? AM_OK : AM_EINVAL;
}

struct config_peers {
    char (*out)[HOME_PEER_MAX];
    int n, max;
};

/* One "peer" value: normalised (kept as written when it does not parse: the daemon says
 * so), skipped when an earlier line names the same peer. */
static int config_peer_one(void *ctx, const char *value)
{
    struct config_peers *c = ctx;
    size_t len = strcspn(value, " \t");
    char raw[HOME_PEER_MAX], *out = c->out[c->n];
    if (len == 0 || len >= HOME_PEER_MAX)
        return 0;
    memcpy(raw, value, len);
    raw[len] = 0;
    if (home_peer_normal(raw, out) != AM_OK)
        memcpy(out, raw, len + 1);
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->out[i], out))
            return 0;
    c->n++;
    return c->n == c->max;
}

int home_config_peers(const char *home, char out[][HOME_PEER_MAX], int max)
{
    struct config_peers c = {out, 0, max};
    if (max <= 0)
        return 0;
    home_config_each(home, "peer", config_peer_one, &c);
    return c.n;
}

struct config_has {
    const char *peer;
    int found;
};

static int config_has_one(void *ctx, const char *value)
{
    struct config_has *h = ctx;
    size_t len = strcspn(value, " \t");
    char raw[HOME_PEER_MAX], norm[HOME_PEER_MAX];
    if (len == 0 || len >= HOME_PEER_MAX)
        return 0;
    memcpy(raw, value, len);
    raw[len] = 0;
    h->found = home_peer_normal(raw, norm) == AM_OK && !strcmp(norm, h->peer);
    return h->found;
}

int home_config_peer_add(const char *home, const char *hostport, char out[static HOME_PEER_MAX])
{
    char path[AM_HOME_PATH_MAX];
    struct config_has h = {out, 0};
    FILE *f;
    int rc;
    if (home_peer_normal(hostport, out) != AM_OK)
        return AM_EINVAL;
    if ((rc = home_config_each(home, "peer", config_has_one, &h)) != AM_OK)
        return rc;
    if (h.found)
        return AM_EEXIST;
    if (home_path(path, home, CONFIG_FILE) != AM_OK)
        return AM_EINVAL;
    if (!(f = fopen(path, "a")))
        return AM_ESYS;
    if (fprintf(f, "peer = %s\n", out) < 0) {
        int e = errno;
        fclose(f);
        errno = e;
        return AM_ESYS;
    }
    return fclose(f) == 0 ? AM_OK : AM_ESYS;
}

/* The process id written in a lock file: decimal digits and a line end, 1 to 2^31 - 1;
 * 0 for anything else (empty: its holder has not written it yet). */
static long lock_holder(int fd)
{
    char buf[24];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    long pid = 0;
    ssize_t i;

    if (n <= 0)
        return 0;
    for (i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
        pid = pid * 10 + (buf[i] - '0');
        if (pid > 2147483647L)
            return 0;
    }
    if (i == 0 || (i < n && !(buf[i] == '\n' && i + 1 == n)))
        return 0;
    return pid;
}

int home_open_lock_file(const char *path, int *fd)
{
    struct stat st;
    /* never O_TRUNC: a lock file may hold the id of the process that has the lock */
    int f = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
    *fd = -1;
    if (f < 0)
        return errno == ELOOP ? AM_EPERM : AM_ESYS;
    if (fstat(f, &st) != 0) {
        int e = errno;
        close(f);
        errno = e;
        return AM_ESYS;
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return AM_EPERM;
    }
    *fd = f;
    return AM_OK;
}

int home_lock_run(const char *home, int *fd, long *holder)
{
    char dir[AM_HOME_PATH_MAX], path[AM_HOME_PATH_MAX], text[24];
    int f, len, wrote, rc;

    *fd = -1;
    *holder = 0;
    if (home_path(dir, home, "run") != AM_OK || home_path(path, home, HOME_LOCK_FILE) != AM_OK)
        return AM_EINVAL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return AM_ESYS;
    if ((rc = home_open_lock_file(path, &f)) != AM_OK)
        return rc;
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            *holder = lock_holder(f);
        close(f);
        errno = e;
        return e == EWOULDBLOCK ? AM_EEXIST : AM_ESYS;
    }
    /* ours now; the id is for the sentence of the next `aidmesh run`, a best effort (a
     * full disk must not stop the node: the lock is what counts; the next one then says
     * it cannot read the id) */
    len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    wrote = ftruncate(f, 0) == 0 && pwrite(f, text, (size_t)len, 0) == len;
    (void)wrote;
    *fd = f;
    return AM_OK;
}

void home_unlock_run(int fd)
{
    if (fd >= 0)
        close(fd); /* the kernel drops the flock with the last descriptor of this open */
}
