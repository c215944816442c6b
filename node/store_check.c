/*
 * store_check.c: what the store does about a damaged or swapped data file (PROTOCOL.md 7,
 * "Store record" and "Damaged stores"): the check of data.mdb against its meta pages
 * before LMDB maps it, the store record beside the store (store.id), the fault guard
 * around scans (store_guarded) and the sentences that say what happened.
 * Must never: map or write a file it found damaged, replace a store it found emptied or
 * swapped, or leave its fault handler installed outside a guarded call.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "home.h"
#include "store_int.h"

/* LeakSanitizer is told not to count what a guarded call allocates (see store_guarded). */
#if defined(__SANITIZE_ADDRESS__)
#define AM_HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AM_HAVE_LSAN 1
#endif
#endif
#ifdef AM_HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#define AM_LSAN_DISABLE() __lsan_disable()
#define AM_LSAN_ENABLE()  __lsan_enable()
#else
#define AM_LSAN_DISABLE() ((void)0)
#define AM_LSAN_ENABLE()  ((void)0)
#endif

/* ---- checks before LMDB maps the file (PROTOCOL.md §7, "Damaged stores") ---------------- */

/*
 * LMDB's data file begins with two meta pages (page 0 and page 1); the one with the larger
 * transaction id is current. Each is a page header (MDB_page: pgno, pad, flags, lower,
 * upper) followed by MDB_meta: magic, version, fixed-map address, map size, the free-space
 * and main MDB_db records (the page size sits in the first one's md_pad field), the last
 * page used and the transaction id (liblmdb mdb.c, MDB_meta). Fields are native-endian,
 * page numbers and sizes are size_t, the address a pointer: the offsets below follow from
 * those sizes. LMDB itself refuses a file whose meta pages are bad (MDB_INVALID), but it
 * never compares the file's length with the last page, so a file cut short is mapped and
 * the first read past its end is a SIGBUS.
 */
#define LMDB_MAGIC        0xBEEFC0DEu
#define LMDB_DATA_VERSION 1u
#define LMDB_P_META       0x08u
#define LMDB_P_INVALID    ((uint64_t)(size_t) ~(size_t)0)
#define META_HDR          (sizeof(size_t) + 2 + 2 + 4)     /* PAGEHDRSZ */
#define META_DB_LEN       (4 + 2 + 2 + 5 * sizeof(size_t)) /* MDB_db */
#define META_DBS          (META_HDR + 8 + sizeof(void *) + sizeof(size_t))
#define META_LAST_PG      (META_DBS + 2 * META_DB_LEN)
#define META_TXNID        (META_LAST_PG + sizeof(size_t))
#define META_LEN          (META_TXNID + sizeof(size_t))
#define META_ROOT(dbi)    (META_DBS + (dbi)*META_DB_LEN + 8 + 4 * sizeof(size_t))

struct meta_page {
    uint64_t psize, last_pg, txnid;
};

static uint64_t meta_word(const uint8_t *p)
{
    size_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t meta_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Reads meta page `page` at `off`; 1 when it is a valid LMDB meta page, else 0. */
#define SHORT_SLACK_PAGES 8 /* a file this many pages short may still be whole */

static int meta_read(int fd, uint64_t off, struct meta_page *m)
{
    uint8_t b[META_LEN];
    uint16_t flags;
    ssize_t n = pread(fd, b, sizeof b, (off_t)off);
    uint64_t root0, root1;

    if (n != (ssize_t)sizeof b)
        return 0;
    memcpy(&flags, b + sizeof(size_t) + 2, 2);
    if (!(flags & LMDB_P_META) || meta_u32(b + META_HDR) != LMDB_MAGIC ||
        meta_u32(b + META_HDR + 4) != LMDB_DATA_VERSION)
        return 0;
    m->psize = meta_u32(b + META_DBS);
    m->last_pg = meta_word(b + META_LAST_PG);
    m->txnid = meta_word(b + META_TXNID);
    /* LMDB pages are 512 B .. 64 KiB, a power of two; both roots inside the used pages */
    if (m->psize < 512 || m->psize > 65536 || (m->psize & (m->psize - 1)) != 0 || m->last_pg < 1 ||
        m->last_pg >= UINT64_MAX / m->psize - 1)
        return 0;
    root0 = meta_word(b + META_ROOT(0));
    root1 = meta_word(b + META_ROOT(1));
    if ((root0 != LMDB_P_INVALID && root0 > m->last_pg) ||
        (root1 != LMDB_P_INVALID && root1 > m->last_pg))
        return 0;
    return 1;
}

/* Checks data.mdb at `path` against its meta pages without mapping it. Returns AM_OK
 * (*state says whether there is a file with contents), AM_ECORRUPT (*d says why), AM_ESYS. */
int store_check_data_file(const char *path, enum data_state *state, struct store_damage *d)
{
    struct meta_page m0, m1, *m;
    struct stat st;
    int fd, ok0, ok1;
    uint64_t need;

    fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            return AM_ESYS;
        *state = DATA_MISSING;
        return AM_OK;
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        return AM_ESYS;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        d->kind = STORE_DAMAGE_NOTFILE;
        return AM_ECORRUPT;
    }
    d->size = (uint64_t)st.st_size;
    if (st.st_size == 0) {
        close(fd);
        *state = DATA_EMPTY;
        return AM_OK;
    }
    *state = DATA_PRESENT;
    ok0 = meta_read(fd, 0, &m0);
    ok1 = ok0 && meta_read(fd, m0.psize, &m1) && m1.psize == m0.psize;
    close(fd);
    if (!ok0 || !ok1) {
        /* LMDB needs both meta pages valid; name the first bad one */
        d->kind = STORE_DAMAGE_HEADER;
        d->page = ok0 ? 1 : 0;
        return AM_ECORRUPT;
    }
    m = m1.txnid > m0.txnid ? &m1 : &m0;
    /* A healthy file can end a few pages before last_pg: pages allocated and freed within
     * one transaction ("loose" pages) go to the free list unwritten, and LMDB never reads a
     * free page from the file (it builds a reused page in memory). So a file is cut short
     * only when it lacks more than SHORT_SLACK_PAGES; a cut that small would be caught by
     * the guarded scans of verify and doctor. */
    need = (m->last_pg + 1) * m->psize;
    if (d->size + SHORT_SLACK_PAGES * m->psize < need) {
        d->kind = STORE_DAMAGE_SHORT;
        d->need = need;
        return AM_ECORRUPT;
    }
    return AM_OK;
}

/* ---- the store record (PROTOCOL.md §7, "Store record") ------------------------------------ */

#define RECORD_MAGIC "aidmesh-store-v1\n"
#define RECORD_MAX   STORE_RECORD_MAX /* a record is under 100 bytes; more is not a record */

/* The record's text for id and entries into out (cap bytes, at least RECORD_MAX); its
 * length. */
static size_t record_text(char *out, size_t cap, const uint8_t id[static AM_INSTALL_ID_LEN],
                          uint64_t entries)
{
    char hex[2 * AM_INSTALL_ID_LEN + 1];
    int n;
    sodium_bin2hex(hex, sizeof hex, id, AM_INSTALL_ID_LEN);
    n = snprintf(out, cap, RECORD_MAGIC "install_id = %s\nentries = %llu\n", hex,
                 (unsigned long long)entries);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int store_wants_write(const struct store *s)
{
    return s->wants_write;
}

/* which install this store is, and the one it was copied from (store.h) */
void store_install_id(const struct store *s, uint8_t id[static AM_INSTALL_ID_LEN],
                      uint8_t copied_from[AM_INSTALL_ID_LEN])
{
    memcpy(id, s->install_id, AM_INSTALL_ID_LEN);
    if (copied_from)
        memcpy(copied_from, s->copied_from, AM_INSTALL_ID_LEN);
}

/* Reads the record at `path`. Returns AM_OK, AM_ENOTFOUND (none), AM_ECORRUPT (not a
 * record: treated as none, and rewritten), AM_EPERM, AM_ESYS. */
int store_record_read(const char *path, uint8_t id[static AM_INSTALL_ID_LEN], uint64_t *entries)
{
    char buf[RECORD_MAX + 1];
    int rc = home_read_secret_file(path, buf, sizeof buf);

    if (rc != AM_OK)
        return rc;
    return store_record_parse(buf, strlen(buf), id, entries);
}

int store_record_parse(const char *text, size_t len, uint8_t id[static AM_INSTALL_ID_LEN],
                       uint64_t *entries)
{
    char buf[RECORD_MAX + 1], hex[2 * AM_INSTALL_ID_LEN + 1], tail;
    unsigned long long n;
    size_t idlen;

    if (len > RECORD_MAX || memchr(text, 0, len))
        return AM_ECORRUPT;
    memcpy(buf, text, len);
    buf[len] = 0;
    if (strncmp(buf, RECORD_MAGIC, strlen(RECORD_MAGIC)) != 0 ||
        sscanf(buf + strlen(RECORD_MAGIC), "install_id = %32[0-9a-f]\nentries = %19llu%c", hex, &n,
               &tail) != 3 ||
        tail != '\n' ||
        sodium_hex2bin(id, AM_INSTALL_ID_LEN, hex, strlen(hex), NULL, &idlen, NULL) != 0 ||
        idlen != AM_INSTALL_ID_LEN)
        return AM_ECORRUPT;
    /* exactly the text store_record_write makes of these values, nothing before or after */
    {
        char canon[RECORD_MAX];
        if (record_text(canon, sizeof canon, id, n) != len || memcmp(canon, buf, len) != 0)
            return AM_ECORRUPT;
    }
    *entries = n;
    return AM_OK;
}

/* Writes the record atomically (temp file, fsync, rename, directory fsync). */
int store_record_write(const char *path, const uint8_t id[static AM_INSTALL_ID_LEN],
                       uint64_t entries)
{
    char text[RECORD_MAX];
    return home_write_secret_file(path, text, record_text(text, sizeof text, id, entries), 1);
}

int store_record_set_aside(const char *record)
{
    char to[4096];
    struct stat st;

    if (lstat(record, &st) != 0)
        return errno == ENOENT ? AM_OK : AM_ESYS;
    if (snprintf(to, sizeof to, "%s.replaced-%lld", record, (long long)time(NULL)) >=
        (int)sizeof to)
        return AM_ESYS;
    return rename(record, to) == 0 ? AM_OK : AM_ESYS;
}

int store_entry_count(struct store *s, uint64_t *n)
{
    MDB_txn *txn;
    MDB_stat ms;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);

    if (rc != 0)
        return store_mdb_err(rc);
    rc = mdb_stat(txn, s->entries, &ms);
    mdb_txn_abort(txn);
    if (rc != 0)
        return store_mdb_err(rc);
    *n = ms.ms_entries;
    return AM_OK;
}

/* ---- the fault guard (store_guarded) ------------------------------------------------------
 *
 * The last resort, not the first line: the open-time checks above catch a file cut short,
 * and the read functions check that every value lies inside the map. What is left is
 * LMDB walking a page whose bytes were flipped (a node offset, a flag, a page number),
 * which it cannot detect (no checksums) and which may fault inside LMDB, inside the map or
 * at a wild address (a flag can make it use a NULL sub-cursor). While a guarded call
 * runs, any SIGBUS/SIGSEGV of the calling thread is taken as the store's damage: the
 * handler jumps back to store_guarded (siglongjmp; the fault is synchronous, so no lock of
 * this thread is half-taken except LMDB's own read state, which is abandoned with the
 * store). A fault in another thread, or outside a guarded call, goes to the handler that
 * was installed before (under ASan, its report). The handlers are installed only while at
 * least one guarded call runs, and restored after.
 */

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned guard_users;
static struct sigaction guard_old_bus, guard_old_segv;
static _Thread_local sigjmp_buf *guard_jmp;
static _Thread_local void *volatile guard_addr;

/* LMDB's assertion hook (mdb_env_set_assert): a check inside LMDB that failed on a page
 * that does not hold together. Inside a guarded call it ends the call like a fault (the
 * store is damaged; the address is unknown); elsewhere it returns and LMDB aborts, as it
 * would without the hook. */
void store_guard_assert(MDB_env *env, const char *msg)
{
    (void)env;
    (void)msg;
    if (guard_jmp) {
        guard_addr = NULL;
        siglongjmp(*guard_jmp, 1);
    }
}

static void guard_handler(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *old = sig == SIGBUS ? &guard_old_bus : &guard_old_segv;

    if (guard_jmp) {
        guard_addr = si->si_addr;
        siglongjmp(*guard_jmp, 1);
    }
    if (old->sa_flags & SA_SIGINFO) {
        old->sa_sigaction(sig, si, uc);
        return;
    }
    if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL); /* returning re-runs the access, which now ends the process */
}

static int guard_enter(void)
{
    struct sigaction sa;
    int rc = AM_OK;

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = guard_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    pthread_mutex_lock(&guard_lock);
    if (guard_users == 0 && (sigaction(SIGBUS, &sa, &guard_old_bus) != 0 ||
                             sigaction(SIGSEGV, &sa, &guard_old_segv) != 0))
        rc = AM_ESYS;
    if (rc == AM_OK)
        guard_users++;
    pthread_mutex_unlock(&guard_lock);
    return rc;
}

static void guard_leave(void)
{
    pthread_mutex_lock(&guard_lock);
    if (--guard_users == 0) {
        sigaction(SIGBUS, &guard_old_bus, NULL);
        sigaction(SIGSEGV, &guard_old_segv, NULL);
    }
    pthread_mutex_unlock(&guard_lock);
}

/* The environments of stores whose guarded call faulted. They are never closed: the
 * abandoned transaction may be a write transaction holding LMDB's writer lock, a robust
 * mutex in lock.mdb that the kernel marks "owner died" when this process exits, so the
 * next writer recovers it; unmapping lock.mdb before that (mdb_env_close) would leave it
 * locked for good. Kept here, they stay reachable until exit. */
#define GUARD_ABANDONED_MAX 8
static MDB_env *guard_abandoned[GUARD_ABANDONED_MAX];
static unsigned guard_n_abandoned;

void store_guard_abandon(MDB_env *env)
{
    pthread_mutex_lock(&guard_lock);
    if (guard_n_abandoned < GUARD_ABANDONED_MAX)
        guard_abandoned[guard_n_abandoned++] = env;
    pthread_mutex_unlock(&guard_lock);
}

/* The byte of data.mdb mapped at `addr`, from the kernel's list of this process's mappings
 * (Linux /proc/self/maps: "start-end perms offset dev inode path"), matched by the file's
 * inode; UINT64_MAX when it is not in the file's mapping or the list cannot be read.
 * Called after the jump out of the handler, never inside it. */
static uint64_t fault_offset(struct store *s, uintptr_t addr)
{
    struct stat st;
    char line[4096 + 128];
    uint64_t off = UINT64_MAX;
    mdb_filehandle_t fd;
    FILE *f;

    if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) != 0 ||
        !(f = fopen("/proc/self/maps", "re")))
        return UINT64_MAX;
    while (off == UINT64_MAX && fgets(line, sizeof line, f)) {
        unsigned long long lo, hi, foff, ino;
        if (sscanf(line, "%llx-%llx %*s %llx %*s %llu", &lo, &hi, &foff, &ino) == 4 &&
            ino == (unsigned long long)st.st_ino && addr >= lo && addr < hi)
            off = foff + (addr - lo);
    }
    fclose(f);
    return off;
}

int store_guarded(struct store *s, int (*fn)(void *ctx), void *ctx, struct store_damage *damage)
{
    sigjmp_buf jb;
    MDB_stat est;
    volatile int rc;

    if (s->faulted)
        return AM_ECORRUPT;
    if (guard_jmp) /* nested: the outer call catches */
        return fn(ctx);
    mdb_env_stat(s->env, &est);
    if ((rc = guard_enter()) != AM_OK)
        return rc;
    /* A fault abandons the frames of fn, and what they allocated (LMDB's read transaction
     * and cursors among it) can never be freed: tell LeakSanitizer not to count what a
     * guarded call allocates. */
    AM_LSAN_DISABLE();
    if (sigsetjmp(jb, 1) == 0) {
        guard_jmp = &jb;
        rc = fn(ctx);
    } else {
        s->faulted = 1;
        if (damage) {
            memset(damage, 0, sizeof *damage);
            if (!guard_addr) { /* LMDB's own check failed (store_guard_assert) */
                damage->kind = STORE_DAMAGE_PAGES;
            } else {
                damage->kind = STORE_DAMAGE_FAULT;
                damage->offset = fault_offset(s, (uintptr_t)guard_addr);
                damage->page = damage->offset != UINT64_MAX ? damage->offset / est.ms_psize : 0;
            }
        }
        rc = AM_ECORRUPT;
    }
    guard_jmp = NULL;
    AM_LSAN_ENABLE();
    guard_leave();
    return rc;
}

/* ---- damage in words -------------------------------------------------------------------- */

void store_damage_text(const struct store_damage *d, const char *dir, const char *record, char *buf,
                       size_t cap)
{
    char had[2 * AM_INSTALL_ID_LEN + 1], found[2 * AM_INSTALL_ID_LEN + 1], what[400];
    const char *rec = record ? record : "the store record";
    /* what to do when the file itself is damaged: nothing in it can be trusted */
    char fix[600];

    snprintf(fix, sizeof fix,
             "restore %s from a backup, or keep the damaged file and start again: `mv %s "
             "%s.damaged`, then `aidmesh init --force --join INVITE` (an invite code from "
             "another node of your network; the other nodes send every record again)",
             dir, dir, dir);
    sodium_bin2hex(had, sizeof had, d->had_id, AM_INSTALL_ID_LEN);
    sodium_bin2hex(found, sizeof found, d->found_id, AM_INSTALL_ID_LEN);
    switch (d->kind) {
    case STORE_DAMAGE_SHORT:
        snprintf(what, sizeof what,
                 "the store file %s/data.mdb is %llu bytes but its records need %llu: it was "
                 "cut short (a full disk, or a copy that did not finish)",
                 dir, (unsigned long long)d->size, (unsigned long long)d->need);
        break;
    case STORE_DAMAGE_HEADER:
        snprintf(what, sizeof what,
                 "the store file %s/data.mdb is damaged: its header (LMDB meta page %llu) is "
                 "not readable, so nothing in it can be found",
                 dir, (unsigned long long)d->page);
        break;
    case STORE_DAMAGE_NOTFILE:
        snprintf(what, sizeof what,
                 "%s/data.mdb is not a plain file (a folder, a device or a pipe), so it is not "
                 "a store",
                 dir);
        break;
    case STORE_DAMAGE_FORMAT:
        snprintf(buf, cap,
                 "the store in %s is not an aidmesh store of a format this build reads (made by "
                 "a newer aidmesh, or damaged): update aidmesh, or move it aside (`mv %s "
                 "%s.damaged`) and start again with `aidmesh init --force --join INVITE`",
                 dir, dir, dir);
        return;
    case STORE_DAMAGE_EMPTY:
    case STORE_DAMAGE_MISSING:
        snprintf(buf, cap,
                 "this node's store was emptied or replaced: %s/data.mdb %s, but %s says it "
                 "held %llu entries (install id %s). Nothing was created in its place. If the "
                 "file was moved, put it back, or restore it from a backup; to start again "
                 "with an empty store, run `aidmesh init --force --join INVITE` (a new "
                 "identity, so this node never signs over its own lost records; the other "
                 "nodes send every record again)",
                 dir, d->kind == STORE_DAMAGE_EMPTY ? "is empty (zero bytes)" : "is missing", rec,
                 (unsigned long long)d->had_entries, had);
        return;
    case STORE_DAMAGE_REPLACED:
        snprintf(buf, cap,
                 "this node's store was replaced: %s/data.mdb belongs to another install "
                 "(install id %s), not to the one %s names (install id %s). Nothing was "
                 "written to it. Put this node's own data.mdb back, or restore it from a "
                 "backup; to start again with this file or an empty store, run `aidmesh init "
                 "--force --join INVITE` (a new identity)",
                 dir, found, rec, had);
        return;
    case STORE_DAMAGE_FAULT:
        if (d->offset != UINT64_MAX)
            snprintf(what, sizeof what,
                     "the store file %s/data.mdb is damaged at byte %llu (page %llu): reading "
                     "it failed there",
                     dir, (unsigned long long)d->offset, (unsigned long long)d->page);
        else
            snprintf(what, sizeof what,
                     "the store file %s/data.mdb is damaged: LMDB followed a damaged page and "
                     "the read failed",
                     dir);
        break;
    case STORE_DAMAGE_NONE: /* a store call said AM_ECORRUPT without saying where */
    case STORE_DAMAGE_PAGES:
        snprintf(what, sizeof what,
                 "the store file %s/data.mdb is damaged: a page or record inside it does not "
                 "hold together (a size, offset or page number out of place)",
                 dir);
        break;
    }
    snprintf(buf, cap, "%s. Nothing was changed; %s", what, fix);
}
