/*
 * stick_node.c: the stick format bound to this node (see stick_node.h). Must never: follow
 * a name the format does not make (it only opens names stick.c builds from a listing),
 * follow a symbolic link on a stick, open a name that is not a regular file as a file, or
 * print.
 */
#include "stick_node.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "am_err.h"
#include "query.h"
#include "store.h"
#include "syncstore.h"

/* ---- POSIX file operations ------------------------------------------------------------- */

/*
 * The stick's files are reached from a folder descriptor one name at a time, each opened
 * with O_NOFOLLOW (folders also with O_DIRECTORY), so a symbolic link on the stick is never
 * followed and no sync reads or writes outside it (PROTOCOL.md §11.1). With a root bound
 * (ctx is a struct stick_root, as stick_node_sync and stick_node_inspect do) the walk
 * starts at the root folder opened once; with ctx NULL (tests, the bench) at the folder
 * holding the last name, as named. A name that is there but is not a regular file (a link,
 * a pipe, a device, a folder) is never opened as a file: opening a pipe for reading waits
 * for a writer, and a device may do anything.
 */
struct stick_root {
    int fd;           /* the root folder (the root path itself may be a link: the operator
                         named it) */
    const char *path; /* as given: stick.c builds every path as root "/" names */
    size_t len;
    /* names of the format (segment or manifest slot) in a network folder that are not
     * regular files: added to the report as damage */
    char notfile[STICK_DAMAGE_MAX][STICK_NAME_LEN + 1];
    size_t n_notfile;
};

static int map_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return AM_ENOTFOUND;
    case EEXIST:
        return AM_EEXIST;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return AM_EFULL;
    case EROFS:
    case EACCES:
        return AM_EPERM;
    default:
        return AM_ESYS; /* ELOOP too: a link on the stick, errno kept for the sentence */
    }
}

/* Closes fd keeping errno. */
static void close_keep(int fd)
{
    int e = errno;
    if (fd >= 0)
        close(fd);
    errno = e;
}

/* Opens the sub-folder `name` of folder dfd, never following a link (then errno is ELOOP,
 * where Linux says ENOTDIR). Returns the descriptor or -1. */
static int sub_open(int dfd, const char *name)
{
    struct stat st;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ENOTDIR || errno == ELOOP) &&
        fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        errno = ELOOP;
    return fd;
}

/* Walks the folders named in [p, end) from folder `from` (not closed). Returns a new
 * descriptor of the last one, or an am_err.h code (AM_EINVAL for "." or ".." or a name
 * too long). */
static int walk(int from, const char *p, const char *end, int *out)
{
    int fd = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* its own offset */
    if (fd < 0)
        return map_errno(errno);
    while (p < end) {
        char comp[NAME_MAX + 1];
        size_t n;
        int next;
        while (p < end && *p == '/')
            p++;
        for (n = 0; p + n < end && p[n] != '/'; n++)
            ;
        if (n == 0)
            break;
        if (n > NAME_MAX || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            close(fd);
            return AM_EINVAL;
        }
        memcpy(comp, p, n);
        comp[n] = 0;
        next = sub_open(fd, comp);
        close_keep(fd);
        if (next < 0)
            return map_errno(errno);
        fd = next;
        p += n;
    }
    *out = fd;
    return AM_OK;
}

/* The part of `path` below the bound root, or NULL when it is not below it. */
static const char *below_root(const struct stick_root *rt, const char *path)
{
    if (strncmp(path, rt->path, rt->len) != 0 || (path[rt->len] != '/' && path[rt->len] != 0))
        return NULL;
    return path + rt->len;
}

/* Opens the folder `path`. */
static int dir_open(const struct stick_root *rt, const char *path, int *fd)
{
    const char *rest;
    if (!rt) {
        *fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return *fd < 0 ? map_errno(errno) : AM_OK;
    }
    if (!(rest = below_root(rt, path)))
        return AM_EINVAL;
    return walk(rt->fd, rest, rest + strlen(rest), fd);
}

/* Opens the folder holding the last name of `path` into *dfd, and copies that name. */
static int parent_open(const struct stick_root *rt, const char *path, int *dfd,
                       char leaf[static NAME_MAX + 1])
{
    const char *slash = strrchr(path, '/'), *rest;
    size_t n;
    if (!slash || !slash[1] || (n = strlen(slash + 1)) > NAME_MAX || strcmp(slash + 1, ".") == 0 ||
        strcmp(slash + 1, "..") == 0)
        return AM_EINVAL;
    memcpy(leaf, slash + 1, n + 1);
    if (!rt) {
        char dir[4096];
        size_t dl = slash == path ? 1 : (size_t)(slash - path);
        if (dl >= sizeof dir)
            return AM_EINVAL;
        memcpy(dir, path, dl);
        dir[dl] = 0;
        *dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return *dfd < 0 ? map_errno(errno) : AM_OK;
    }
    if (!(rest = below_root(rt, path)) || slash < rest)
        return AM_EINVAL;
    return walk(rt->fd, rest, slash, dfd);
}

static int px_open(void *ctx, const char *path, int mode, int *fd)
{
    char leaf[NAME_MAX + 1];
    struct stat st;
    int dfd, rc, flags = O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;

    *fd = -1;
    if ((rc = parent_open(ctx, path, &dfd, leaf)) != AM_OK)
        return rc;
    if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
        close(dfd);
        return AM_EEXIST; /* something that is not a file has the name: never opened */
    }
    if (mode == STICK_OPEN_READ)
        flags |= O_RDONLY;
    else if (mode == STICK_OPEN_WRITE)
        flags |= O_RDWR | O_CREAT;
    else
        flags |= O_RDWR | O_CREAT | O_EXCL;
    *fd = openat(dfd, leaf, flags, 0644);
    close_keep(dfd);
    if (*fd < 0)
        return errno == ELOOP ? AM_EEXIST : map_errno(errno);
    if (fstat(*fd, &st) != 0)
        rc = map_errno(errno);
    else if (!S_ISREG(st.st_mode))
        rc = AM_EEXIST; /* swapped since the look */
    if (rc != AM_OK) {
        close_keep(*fd);
        *fd = -1;
    }
    return rc;
}

static int px_read(void *ctx, int fd, uint64_t off, uint8_t *buf, size_t n, size_t *got)
{
    (void)ctx;
    *got = 0;
    while (*got < n) {
        ssize_t k = pread(fd, buf + *got, n - *got, (off_t)(off + *got));
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return map_errno(errno);
        }
        if (k == 0)
            break;
        *got += (size_t)k;
    }
    return AM_OK;
}

static int px_write(void *ctx, int fd, uint64_t off, const uint8_t *buf, size_t n)
{
    size_t done = 0;
    (void)ctx;
    while (done < n) {
        ssize_t k = pwrite(fd, buf + done, n - done, (off_t)(off + done));
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return errno == EPERM ? AM_EFULL : map_errno(errno);
        }
        if (k == 0)
            return AM_EFULL;
        done += (size_t)k;
    }
    return AM_OK;
}

static int px_fsync(void *ctx, int fd)
{
    (void)ctx;
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
        return map_errno(errno);
    return AM_OK;
}

static int px_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd) == 0 ? AM_OK : map_errno(errno);
}

static int px_size(void *ctx, int fd, uint64_t *size)
{
    struct stat st;
    (void)ctx;
    if (fstat(fd, &st) != 0)
        return map_errno(errno);
    *size = (uint64_t)st.st_size;
    return AM_OK;
}

static int px_truncate(void *ctx, int fd, uint64_t len)
{
    (void)ctx;
    return ftruncate(fd, (off_t)len) == 0 ? AM_OK : map_errno(errno);
}

/* A name of the format in a network folder: a segment or a manifest slot, any case. */
static int format_name(const char *name)
{
    size_t n = strlen(name);
    if (strcasecmp(name, STICK_MAN_SLOT_A) == 0 || strcasecmp(name, STICK_MAN_SLOT_B) == 0)
        return 1;
    if (n != STICK_NAME_LEN || (name[0] != 'S' && name[0] != 's') ||
        strcasecmp(name + 8, ".AMS") != 0)
        return 0;
    for (int i = 1; i < 8; i++)
        if (name[i] < '0' || name[i] > '9')
            return 0;
    return 1;
}

/* Notes `name` of a network folder that is not a regular file (once). */
static void note_notfile(struct stick_root *rt, const char *name)
{
    for (size_t i = 0; i < rt->n_notfile; i++)
        if (strcmp(rt->notfile[i], name) == 0)
            return;
    if (rt->n_notfile < STICK_DAMAGE_MAX)
        snprintf(rt->notfile[rt->n_notfile++], sizeof rt->notfile[0], "%s", name);
}

static int px_list(void *ctx, const char *path,
                   int (*cb)(void *cbctx, const char *name, int is_dir), void *cbctx)
{
    struct stick_root *rt = ctx;
    const char *rest = rt ? below_root(rt, path) : NULL;
    int fd, rc, depth = 0;
    struct dirent *de;
    DIR *d;

    if ((rc = dir_open(rt, path, &fd)) != AM_OK)
        return rc;
    if (!(d = fdopendir(fd))) {
        close_keep(fd);
        return map_errno(errno);
    }
    for (const char *p = rest; p && *p; p++) /* a network folder is root/AIDMESH/<id> */
        if (*p == '/' && p[1] && p[1] != '/')
            depth++;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        int type = de->d_type;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (type == DT_UNKNOWN) {
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue;
            type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
        }
        if (type != DT_REG && rt && depth == 2 && format_name(de->d_name))
            note_notfile(rt, de->d_name);
        if (type != DT_DIR && type != DT_REG)
            continue; /* links, pipes, devices: nothing of the format */
        if (cb(cbctx, de->d_name, type == DT_DIR))
            break;
    }
    closedir(d);
    return AM_OK;
}

static int px_mkdir(void *ctx, const char *path)
{
    char leaf[NAME_MAX + 1];
    int dfd, rc = parent_open(ctx, path, &dfd, leaf);
    if (rc != AM_OK)
        return rc;
    rc = mkdirat(dfd, leaf, 0755) == 0 ? AM_OK : map_errno(errno);
    close_keep(dfd);
    return rc;
}

static int px_fsync_dir(void *ctx, const char *path)
{
    int fd;
    if (dir_open(ctx, path, &fd) == AM_OK) {
        fsync(fd); /* not every file system flushes folders this way: best effort */
        close(fd);
    }
    return AM_OK;
}

static int px_space(void *ctx, const char *path, uint64_t *avail, uint64_t *unit)
{
    struct statvfs sv;
    int fd, rc = dir_open(ctx, path, &fd);
    if (rc != AM_OK)
        return rc;
    rc = fstatvfs(fd, &sv) == 0 ? AM_OK : map_errno(errno);
    close_keep(fd);
    if (rc != AM_OK)
        return rc;
    *unit = sv.f_bsize ? sv.f_bsize : 1;
    /* fusefat reports zero blocks: the volume does not say */
    *avail = sv.f_blocks == 0 ? UINT64_MAX : (uint64_t)sv.f_bavail * sv.f_frsize;
    return AM_OK;
}

static int px_remove(void *ctx, const char *path)
{
    char leaf[NAME_MAX + 1];
    int dfd, rc = parent_open(ctx, path, &dfd, leaf);
    if (rc != AM_OK)
        return rc;
    rc = unlinkat(dfd, leaf, 0) == 0 ? AM_OK : map_errno(errno);
    close_keep(dfd);
    return rc;
}

const struct stick_fops stick_fops_posix = {
    .ctx = NULL,
    .open = px_open,
    .read = px_read,
    .write = px_write,
    .fsync = px_fsync,
    .close = px_close,
    .size = px_size,
    .truncate = px_truncate,
    .list = px_list,
    .mkdir = px_mkdir,
    .fsync_dir = px_fsync_dir,
    .space = px_space,
    .remove = px_remove,
};

/* ---- the node ---------------------------------------------------------------------------- */

struct logs_ctx {
    int (*cb)(void *cbctx, const struct stick_log *l);
    void *cbctx;
};

static int each_log(void *vctx, const struct store_head *h)
{
    struct logs_ctx *x = vctx;
    struct stick_log l;
    memcpy(l.log, h->log, AM_PK_LEN);
    memcpy(l.author, h->author, AM_PK_LEN);
    memcpy(l.parent, h->parent, AM_PK_LEN);
    l.first_seq = h->first_seq;
    l.seq = h->seq;
    memcpy(l.hash, h->hash, AM_HASH_LEN);
    l.flags = h->flags & STORE_HEAD_FORKED ? STICK_LOG_FORKED : 0;
    return x->cb(x->cbctx, &l);
}

static int sl_each(void *ctx, int (*cb)(void *cbctx, const struct stick_log *l), void *cbctx)
{
    struct logs_ctx x = {cb, cbctx};
    return store_heads_each(ctx, each_log, &x);
}

static int sl_entries(void *ctx, const uint8_t log[AM_PK_LEN], uint64_t from_seq,
                      int (*cb)(void *cbctx, const uint8_t *raw, size_t len), void *cbctx)
{
    int rc = store_entries_each(ctx, log, from_seq, cb, cbctx);
    return rc > 0 ? AM_OK : rc; /* the callback stopped early */
}

void stick_node_logs_init(struct stick_logs *l, struct store *s)
{
    l->ctx = s;
    l->each = sl_each;
    l->entries = sl_entries;
}

static void node_cfg(struct stick_cfg *cfg, struct node *n, const char *root, uint8_t *install,
                     const struct stick_fops *fops)
{
    memset(cfg, 0, sizeof *cfg);
    store_install_id(n->store, install, NULL);
    cfg->fops = fops;
    cfg->root = root;
    cfg->netkey = n->netkey;
    cfg->install_id = install;
    cfg->author = n->pk;
    cfg->name = n->name;
    cfg->now_ms = node_wall_ms();
}

/* 16 hex digits: the name of a network folder (§11.1), any case. */
static int netid_name(const char *name)
{
    size_t i;
    for (i = 0; name[i]; i++)
        if (!isxdigit((unsigned char)name[i]))
            return 0;
    return i == 2 * AM_NETID_LEN;
}

/* The first folder of the layout that is a symbolic link: an AIDMESH (any case) in the
 * folder rootfd, or a network folder in one. Its path (root "/" names) goes into out.
 * Returns 1 when there is one. Looks only, follows nothing. */
static int layout_link(int rootfd, const char *root, char *out, size_t cap)
{
    int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), found = 0;
    struct dirent *de;
    DIR *d;
    if (fd < 0)
        return 0;
    if (!(d = fdopendir(fd))) {
        close(fd);
        return 0;
    }
    while (!found && (de = readdir(d)) != NULL) {
        struct stat st;
        struct dirent *se;
        DIR *sd;
        int sub;
        if (strcasecmp(de->d_name, STICK_DIR_NAME) != 0 ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            snprintf(out, cap, "%s/%s", root, de->d_name);
            found = 1;
            break;
        }
        if ((sub = sub_open(dirfd(d), de->d_name)) < 0)
            continue;
        if (!(sd = fdopendir(sub))) {
            close(sub);
            continue;
        }
        while (!found && (se = readdir(sd)) != NULL)
            if (netid_name(se->d_name) &&
                fstatat(dirfd(sd), se->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(st.st_mode)) {
                /* a path cut to cap still names the place */
                found = snprintf(out, cap, "%s/%s/%s", root, de->d_name, se->d_name) != 0;
            }
        closedir(sd);
    }
    closedir(d);
    return found;
}

/* Binds `root` for one sync or inspect: opens it and refuses a layout folder that is a
 * symbolic link (r says AM_ESYS with ELOOP; stick_node_error_text names the link). On
 * failure r is filled and the code returned. */
static int root_open(struct stick_root *rt, const char *root, struct stick_fops *fops,
                     struct stick_report *r)
{
    char link[512];
    memset(rt, 0, sizeof *rt);
    rt->path = root;
    rt->len = strlen(root);
    rt->fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *fops = stick_fops_posix;
    fops->ctx = rt;
    if (rt->fd >= 0 && !layout_link(rt->fd, root, link, sizeof link))
        return AM_OK;
    memset(r, 0, sizeof *r);
    if (rt->fd < 0) {
        r->error = map_errno(errno);
        r->sys_errno = errno;
    } else {
        close(rt->fd);
        rt->fd = -1;
        r->error = AM_ESYS;
        r->sys_errno = ELOOP;
    }
    return r->error;
}

/* Closes the root and adds the names of the format that were not regular files to the
 * report's damage (kind MANIFEST for a slot, BAD for a segment, code AM_EEXIST). */
static void root_close(struct stick_root *rt, struct stick_report *r)
{
    for (size_t i = 0; i < rt->n_notfile; i++) {
        if (r->n_damage < STICK_DAMAGE_MAX) {
            struct stick_damage *d = &r->damage[r->n_damage];
            memset(d, 0, sizeof *d);
            snprintf(d->file, sizeof d->file, "%s", rt->notfile[i]);
            d->kind = strcasecmp(d->file, STICK_MAN_SLOT_A) == 0 ||
                              strcasecmp(d->file, STICK_MAN_SLOT_B) == 0
                          ? STICK_DMG_MANIFEST
                          : STICK_DMG_BAD;
            d->code = AM_EEXIST;
        }
        r->n_damage++;
    }
    if (rt->fd >= 0)
        close(rt->fd);
    rt->fd = -1;
}

/* ---- sticks that came by (stick_node.h, STICK_NODE_VISITS_FILE) ------------------------- */

static void visit_record(const char *home, const char *root, const struct stick_report *r)
{
    char path[AM_HOME_PATH_MAX], line[STICK_NODE_VISIT_PATH_MAX + 160];
    size_t len, i;
    int fd;

    if (home_path(path, home, STICK_NODE_VISITS_FILE) != AM_OK)
        return;
    len = (size_t)snprintf(line, sizeof line, "%llu\t%llu\t%llu\t%llu\t%d\t%llu\t",
                           (unsigned long long)node_wall_ms(), (unsigned long long)r->added,
                           (unsigned long long)r->exported, (unsigned long long)r->stick_entries,
                           r->full ? 1 : 0, (unsigned long long)r->n_damage);
    for (i = 0; root[i] && i < STICK_NODE_VISIT_PATH_MAX - 1; i++)
        line[len++] = (unsigned char)root[i] < 0x20 || root[i] == 0x7f ? '?' : root[i];
    line[len++] = '\n';
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    if (write(fd, line, len) < 0) {
        /* best effort: the sync itself succeeded */
    }
    close(fd);
}

static int visit_parse(char *s, struct stick_node_visit *v)
{
    unsigned long long f[6];
    int full, used = 0;
    if (sscanf(s, "%llu\t%llu\t%llu\t%llu\t%d\t%llu\t%n", &f[0], &f[1], &f[2], &f[3], &full, &f[5],
               &used) != 6 ||
        used == 0)
        return 0;
    memset(v, 0, sizeof *v);
    v->at_ms = f[0];
    v->got = f[1];
    v->gave = f[2];
    v->carries = f[3];
    v->full = full != 0;
    v->damage = f[5];
    snprintf(v->path, sizeof v->path, "%s", s + used);
    return 1;
}

size_t stick_node_visits_parse(char *buf, size_t len, int cut, struct stick_node_visit *out,
                               size_t cap)
{
    /* newest last in the file: walk the lines backwards (each ends with '\n'; a line cut by
     * the 64 KiB window, the first when the file is longer, is skipped) */
    char *end = buf + len;
    size_t n = 0;
    while (end > buf && n < cap) {
        char *line = end - 1; /* the '\n' ending this line (else a torn line: skipped) */
        int whole = *line == '\n';
        *line = 0;
        while (line > buf && line[-1] != '\n')
            line--;
        if (whole && (line > buf || !cut) && visit_parse(line, &out[n]))
            n++;
        end = line;
    }
    return n;
}

int stick_node_visits(const char *home, struct stick_node_visit *out, size_t cap, size_t *n)
{
    enum { TAIL = 65536 };
    char path[AM_HOME_PATH_MAX], *buf;
    struct stat st;
    ssize_t got;
    off_t from;
    int fd;

    *n = 0;
    if (home_path(path, home, STICK_NODE_VISITS_FILE) != AM_OK)
        return AM_OK;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? AM_OK : AM_ESYS;
    buf = malloc(TAIL + 1);
    if (!buf || fstat(fd, &st) != 0) {
        free(buf);
        close(fd);
        return AM_ESYS;
    }
    from = st.st_size > TAIL ? st.st_size - TAIL : 0;
    got = pread(fd, buf, TAIL, from);
    close(fd);
    if (got < 0) {
        free(buf);
        return AM_ESYS;
    }
    buf[got] = 0;
    *n = stick_node_visits_parse(buf, (size_t)got, from > 0, out, cap);
    free(buf);
    return AM_OK;
}

/* The authors of this node's open needs, most needed first (query.h), copied out of a
 * query that is closed again before the sync writes: a malloc'd array of *n ids, or NULL
 * (then the export goes in turns only). */
static uint8_t *first_authors(struct store *s, size_t *n)
{
    struct query *q;
    const uint8_t *a;
    uint8_t *out = NULL;
    *n = 0;
    if (query_open(s, 0, &q) != AM_OK)
        return NULL;
    if (query_need_authors(q, &a, n) == AM_OK && *n) {
        if (*n > STICK_FIRST_AUTHORS_MAX)
            *n = STICK_FIRST_AUTHORS_MAX;
        if ((out = malloc(*n * AM_PK_LEN)))
            memcpy(out, a, *n * AM_PK_LEN);
        else
            *n = 0;
    } else {
        *n = 0;
    }
    query_close(q);
    return out;
}

int stick_node_sync(struct node *n, const char *root, unsigned flags, uint64_t max_bytes,
                    void (*progress)(void *ctx, int phase, uint64_t done, uint64_t total),
                    void *progress_ctx, struct stick_report *r)
{
    struct stick_cfg cfg;
    struct stick_root rt;
    struct stick_fops fops;
    struct sync_store ss;
    struct stick_logs logs;
    uint8_t install[AM_INSTALL_ID_LEN], *first;
    int rc = root_open(&rt, root, &fops, r);
    if (rc != AM_OK)
        return rc;
    node_cfg(&cfg, n, root, install, &fops);
    stick_node_logs_init(&logs, n->store);
    cfg.logs = &logs;
    cfg.flags = flags;
    cfg.max_bytes = max_bytes;
    cfg.progress = progress;
    cfg.progress_ctx = progress_ctx;
    first = first_authors(n->store, &cfg.n_first_authors);
    cfg.first_authors = first;
    syncstore_init(&ss, n->store);
    rc = stick_sync(&cfg, &ss, r);
    free(first);
    root_close(&rt, r);
    if (rc == AM_OK)
        visit_record(n->home, root, r);
    return rc;
}

int stick_node_inspect(struct node *n, const char *root, int force_scan, struct stick_view *v,
                       struct stick_report *r)
{
    struct stick_cfg cfg;
    struct stick_root rt;
    struct stick_fops fops;
    struct stick_report local;
    uint8_t install[AM_INSTALL_ID_LEN];
    int rc;
    memset(v, 0, sizeof *v);
    if (!r)
        r = &local;
    if ((rc = root_open(&rt, root, &fops, r)) != AM_OK)
        return rc;
    node_cfg(&cfg, n, root, install, &fops);
    rc = stick_inspect(&cfg, force_scan, v, r);
    root_close(&rt, r);
    return rc;
}

int stick_node_has_folder(const char *root)
{
    DIR *d = opendir(root);
    struct dirent *de;
    int found = 0;
    if (!d)
        return 0;
    while (!found && (de = readdir(d)) != NULL)
        found = strcasecmp(de->d_name, STICK_DIR_NAME) == 0;
    closedir(d);
    return found;
}

/* Which mount a folder is: the kernel's mount id where statx tells it (a stick unplugged
 * and plugged again between two looks gets a new one), else device and inode. */
static uint64_t mount_id(const char *path, const struct stat *st)
{
#ifdef STATX_MNT_ID
    struct statx sx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) == 0 &&
        (sx.stx_mask & STATX_MNT_ID))
        return sx.stx_mnt_id;
#else
    (void)path;
#endif
    return (uint64_t)st->st_dev << 32 ^ (uint64_t)st->st_ino;
}

static void mounts_below(const char *dir, dev_t parent_dev, int depth,
                         void (*cb)(void *ctx, const char *path, uint64_t id), void *ctx)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
            continue;
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (st.st_dev != parent_dev)
            cb(ctx, path, mount_id(path, &st));
        else if (depth < 2)
            mounts_below(path, st.st_dev, depth + 1, cb, ctx);
    }
    closedir(d);
}

int stick_node_mounts(const char *dir, void (*cb)(void *ctx, const char *path, uint64_t id),
                      void *ctx)
{
    struct stat st, up;
    char parent[4096];
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return AM_ENOTFOUND;
    /* the watched folder may itself be where sticks are mounted */
    if (snprintf(parent, sizeof parent, "%s/..", dir) < (int)sizeof parent &&
        stat(parent, &up) == 0 && up.st_dev != st.st_dev) {
        cb(ctx, dir, mount_id(dir, &st));
        return AM_OK;
    }
    mounts_below(dir, st.st_dev, 1, cb, ctx);
    return AM_OK;
}

/* ---- sentences --------------------------------------------------------------------------- */

void stick_node_netid_hex(const uint8_t id[static AM_NETID_LEN], char out[2 * AM_NETID_LEN + 1])
{
    for (int i = 0; i < AM_NETID_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static void count_text(char buf[32], uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
}

void stick_node_error_text(int rc, const struct stick_report *r, const char *root, char *buf,
                           size_t cap)
{
    char id[2 * AM_NETID_LEN + 1];
    if (rc == AM_EOTHERNET) {
        stick_node_netid_hex(r->other_netid, id);
        snprintf(buf, cap,
                 "this stick belongs to another relief network (id %s); nothing was imported "
                 "or written. Give it back to that network's runner",
                 id);
    } else if (rc == AM_ENOTFOUND && r->location == STICK_LOC_BLANK) {
        snprintf(buf, cap,
                 "%s holds no aidmesh folder yet: nothing was written. To start carrying this "
                 "network's records on it, run `aidmesh stick sync %s` once",
                 root, root);
    } else if (rc == AM_ENOTFOUND) {
        snprintf(buf, cap, "cannot open %s: no such folder (is the stick mounted?)", root);
    } else if (rc == AM_EPERM) {
        snprintf(buf, cap,
                 "cannot write to %s: the volume is read-only or not ours to write "
                 "(check the stick's lock switch, or how it is mounted)",
                 root);
    } else if (rc == AM_EFULL) {
        snprintf(buf, cap, "the stick %s is full", root);
    } else if (rc == AM_ESYS && r->sys_errno == ELOOP) {
        char link[512];
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0 && layout_link(fd, root, link, sizeof link))
            snprintf(buf, cap,
                     "%s is a symbolic link; a stick's folders must be real folders: aidmesh "
                     "follows no link on a stick, and nothing was read or written through it. "
                     "Remove the link (what it points to is left alone) and sync again",
                     link);
        else
            snprintf(buf, cap,
                     "a name on the stick at %s is a symbolic link; a stick holds only real "
                     "folders and files: nothing was read or written through it. Remove the "
                     "link and sync again",
                     root);
        if (fd >= 0)
            close(fd);
    } else if (rc == AM_ESYS) {
        snprintf(buf, cap, "cannot use the stick at %s: %s (was it pulled out?)", root,
                 strerror(r->sys_errno ? r->sys_errno : EIO));
    } else {
        snprintf(buf, cap, "stick sync with %s stopped: %s", root, am_strerror(rc));
    }
}

void stick_node_damage_text(const struct stick_damage *d, char *buf, size_t cap)
{
    char off[32], lost[32];
    count_text(off, d->offset);
    count_text(lost, d->lost);
    if (d->code == AM_EEXIST &&
        (d->kind == STICK_DMG_MANIFEST || d->kind == STICK_DMG_BAD)) { /* see root_close */
        snprintf(buf, cap,
                 "%s is not a regular file (a symbolic link, pipe, device or folder): it was "
                 "neither read nor written, the rest of the stick was used. Remove it; a "
                 "stick's files are plain files",
                 d->file);
        return;
    }
    switch (d->kind) {
    case STICK_DMG_CUT:
        snprintf(buf, cap,
                 "%s: cut short at byte %s (pulled out while being written?); %s bytes after it "
                 "could not be read; everything before it was imported",
                 d->file, off, lost);
        break;
    case STICK_DMG_BAD:
        snprintf(buf, cap,
                 "%s: damaged or tampered from byte %s (%s); the %s bytes from there on "
                 "were not imported, everything before it was",
                 d->file, off,
                 d->code == AM_EBADMAC && d->offset == 0 ? "its header names another network"
                 : d->code == AM_EBADMAC                 ? "fails authentication"
                 : d->code == AM_ELIMIT                  ? "a length over the limit"
                 : d->code == AM_ESYS                    ? "the stick failed to read it"
                 : d->code == AM_EVERSION ? "written by a newer aidmesh, or a damaged header: "
                                            "update aidmesh if others use a newer one"
                                          : "not in the stick format",
                 lost);
        break;
    case STICK_DMG_TRAIL:
        snprintf(buf, cap, "%s: %s bytes after its end (byte %s) were ignored", d->file, lost, off);
        break;
    case STICK_DMG_ENTRY:
        snprintf(buf, cap,
                 "%s: a record in the chunk at byte %s does not decode (%s); it was skipped, "
                 "the rest was imported",
                 d->file, off, am_strerror(d->code));
        break;
    case STICK_DMG_MANIFEST:
        snprintf(buf, cap,
                 "%s: this manifest slot %s; the other slot or a scan of the segments is "
                 "used, and the next sync rewrites it",
                 d->file,
                 d->code == AM_EVERSION ? "was written by a newer aidmesh"
                                        : "does not authenticate (a torn write?)");
        break;
    default:
        snprintf(buf, cap, "%s: damage at byte %s", d->file, off);
    }
}
