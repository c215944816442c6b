/*
 * store.c: the LMDB store (see store.h; byte layouts in PROTOCOL.md section "Store").
 *
 * Must never: hold a write transaction while verifying signatures, trust a plan made
 * outside the write transaction without re-checking the heads inside it, drop an entry
 * without counting it, or leave a batch half-written.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "am_grow.h"
#include "hlc.h"
#include "home.h"
#include "store_int.h"
#include "store_views.h"

#define KEY_LEN      STORE_KEY_LEN
#define HEAD_VAL_LEN HEAD_ROOT_LEN
#define FORK_KEY_LEN (AM_PK_LEN + 8 + AM_HASH_LEN)

/* ---- encoding helpers ---------------------------------------------------------------- */

static void entry_key(uint8_t key[KEY_LEN], const uint8_t *author, uint64_t seq)
{
    memcpy(key, author, AM_PK_LEN);
    store_be64_put(key + AM_PK_LEN, seq);
}

/* A head record: a root log's is seq || hash || hlc || flags; a child log's adds its
 * author, parent log id and first seq (PROTOCOL.md 7). */
void store_head_encode(uint8_t v[HEAD_CHILD_LEN], size_t *len, const struct store_head *h)
{
    store_be64_put(v, h->seq);
    memcpy(v + 8, h->hash, AM_HASH_LEN);
    store_be64_put(v + 8 + AM_HASH_LEN, h->hlc);
    v[48] = (uint8_t)(h->flags >> 24);
    v[49] = (uint8_t)(h->flags >> 16);
    v[50] = (uint8_t)(h->flags >> 8);
    v[51] = (uint8_t)h->flags;
    *len = HEAD_ROOT_LEN;
    if (memcmp(h->log, h->author, AM_PK_LEN) != 0) {
        memcpy(v + HEAD_ROOT_LEN, h->author, AM_PK_LEN);
        memcpy(v + HEAD_ROOT_LEN + AM_PK_LEN, h->parent, AM_PK_LEN);
        store_be64_put(v + HEAD_ROOT_LEN + 2 * AM_PK_LEN, h->first_seq);
        *len = HEAD_CHILD_LEN;
    }
}

int store_head_decode(struct store_head *h, const uint8_t *log, const MDB_val *v)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size != HEAD_ROOT_LEN && v->mv_size != HEAD_CHILD_LEN)
        return AM_ECORRUPT;
    memcpy(h->log, log, AM_PK_LEN);
    h->seq = store_be64_get(p);
    memcpy(h->hash, p + 8, AM_HASH_LEN);
    h->hlc = store_be64_get(p + 8 + AM_HASH_LEN);
    h->flags = (uint32_t)p[48] << 24 | (uint32_t)p[49] << 16 | (uint32_t)p[50] << 8 | p[51];
    if (v->mv_size == HEAD_ROOT_LEN) {
        memcpy(h->author, log, AM_PK_LEN);
        memset(h->parent, 0, AM_PK_LEN);
        h->first_seq = 1;
    } else {
        memcpy(h->author, p + HEAD_ROOT_LEN, AM_PK_LEN);
        memcpy(h->parent, p + HEAD_ROOT_LEN + AM_PK_LEN, AM_PK_LEN);
        h->first_seq = store_be64_get(p + HEAD_ROOT_LEN + 2 * AM_PK_LEN);
        if (h->first_seq < 1 || h->seq + 1 < h->first_seq)
            return AM_ECORRUPT;
    }
    return AM_OK;
}

int store_mdb_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return AM_OK;
    case MDB_NOTFOUND:
        return AM_ENOTFOUND;
    case MDB_MAP_FULL:
    case ENOSPC:
        return AM_EFULL;
    case ENOMEM:
        return AM_ENOMEM;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return AM_ECORRUPT;
    default:
        if (rc > 0)
            errno = rc;
        return AM_ESYS;
    }
}

/* ---- transactions ---------------------------------------------------------------------- */

/* Begins a transaction, adopting a map that another process has grown meanwhile. */
int store_txn_begin(struct store *s, unsigned flags, MDB_txn **txn)
{
    int rc;
    if (s->faulted) /* a guarded scan faulted: nothing more is read (store_guarded) */
        return MDB_CORRUPTED;
    rc = mdb_txn_begin(s->env, NULL, flags, txn);
    if (rc == MDB_MAP_RESIZED) {
        mdb_env_set_mapsize(s->env, 0);
        rc = mdb_txn_begin(s->env, NULL, flags, txn);
    }
    return rc;
}

/* Doubles the map, up to map_max. Call with no transaction open in this process. */
int store_grow_map(struct store *s)
{
    MDB_envinfo info;
    uint64_t next;

    mdb_env_info(s->env, &info);
    if (info.me_mapsize >= s->map_max)
        return AM_EFULL;
    next = (uint64_t)info.me_mapsize * 2;
    if (next > s->map_max)
        next = s->map_max;
    return mdb_env_set_mapsize(s->env, (size_t)next) == 0 ? AM_OK : AM_EFULL;
}

int store_meta_get(MDB_txn *txn, struct store *s, const char *name, MDB_val *v)
{
    MDB_val k = {strlen(name), (void *)name};
    return mdb_get(txn, s->meta, &k, v);
}

int store_meta_put(MDB_txn *txn, struct store *s, const char *name, const void *p, size_t n)
{
    MDB_val k = {strlen(name), (void *)name};
    MDB_val v = {n, (void *)p};
    return mdb_put(txn, s->meta, &k, &v, 0);
}

/* ---- open / close ------------------------------------------------------------------------ */

/* Reads or creates format, install id and the inode check (a store copied to a new file
 * gets a new install id and remembers the old one). */
static int setup_meta(struct store *s, MDB_txn *txn, const char *dir)
{
    char path[4096];
    struct stat st;
    uint8_t ino[8];
    MDB_val v;
    int rc;

    rc = store_meta_get(txn, s, "format", &v);
    if (rc == MDB_NOTFOUND) {
        uint8_t f = STORE_FORMAT;
        if (s->read_only)
            return AM_ENOTFOUND; /* never set up (a first open cut short): no store yet */
        if ((rc = store_meta_put(txn, s, "format", &f, 1)) != 0)
            return store_mdb_err(rc);
    } else if (rc != 0) {
        return store_mdb_err(rc);
    } else if (v.mv_size != 1 || (*(uint8_t *)v.mv_data != STORE_FORMAT &&
                                  *(uint8_t *)v.mv_data != STORE_FORMAT_CHAINS)) {
        return AM_ECORRUPT;
    } else if (*(uint8_t *)v.mv_data == STORE_FORMAT_CHAINS && !s->read_only) {
        /* a store of one chain per author reads as it is (PROTOCOL.md 7); once this build
         * writes it, it may hold logs an older build cannot read, so it says so */
        uint8_t f = STORE_FORMAT;
        if ((rc = store_meta_put(txn, s, "format", &f, 1)) != 0)
            return store_mdb_err(rc);
    }

    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (stat(path, &st) != 0)
        return AM_ESYS;
    store_be64_put(ino, (uint64_t)st.st_ino);

    memset(s->copied_from, 0, sizeof s->copied_from);
    rc = store_meta_get(txn, s, "copied_from", &v);
    if (rc == 0 && v.mv_size == AM_INSTALL_ID_LEN)
        memcpy(s->copied_from, v.mv_data, AM_INSTALL_ID_LEN);

    rc = store_meta_get(txn, s, "install_id", &v);
    if (rc == 0 && v.mv_size == AM_INSTALL_ID_LEN) {
        MDB_val iv;
        memcpy(s->install_id, v.mv_data, AM_INSTALL_ID_LEN);
        if (store_meta_get(txn, s, "inode", &iv) == 0 && iv.mv_size == 8 &&
            memcmp(iv.mv_data, ino, 8) == 0)
            return AM_OK;
        /* A copy: this file is not the one the id was made for (read-only: said, not
         * written; the next writer records it) */
        memcpy(s->copied_from, s->install_id, AM_INSTALL_ID_LEN);
        if (s->read_only)
            return AM_OK;
        if ((rc = store_meta_put(txn, s, "copied_from", s->copied_from, AM_INSTALL_ID_LEN)) != 0)
            return store_mdb_err(rc);
    } else if (rc != MDB_NOTFOUND && rc != 0) {
        return store_mdb_err(rc);
    } else if (s->read_only) {
        return AM_ENOTFOUND;
    }
    randombytes_buf(s->install_id, AM_INSTALL_ID_LEN);
    if ((rc = store_meta_put(txn, s, "install_id", s->install_id, AM_INSTALL_ID_LEN)) != 0 ||
        (rc = store_meta_put(txn, s, "inode", ino, 8)) != 0)
        return store_mdb_err(rc);
    return AM_OK;
}

/* ---- opening the environment -------------------------------------------------------------- */

struct open_ctx {
    struct store *s;
    const char *dir;
    int have_record;
    uint8_t record_id[AM_INSTALL_ID_LEN];
    uint64_t record_entries;
    struct store_damage *damage;
    int stale;
};

/* Opens the databases and sets up the meta records, in one transaction (run guarded). */
static int open_dbs(void *ctx)
{
    struct open_ctx *c = ctx;
    struct store *s = c->s;
    MDB_txn *txn = NULL;
    unsigned dbflags;
    int rc;

    for (int attempt = 0; attempt < 2; attempt++) {
        rc = store_txn_begin(s, s->read_only ? MDB_RDONLY : 0, &txn);
        if (rc != 0)
            return store_mdb_err(rc);
        dbflags = s->read_only ? 0 : MDB_CREATE;
        if ((rc = mdb_dbi_open(txn, "entries", dbflags, &s->entries)) != 0 ||
            (rc = mdb_dbi_open(txn, "heads", dbflags, &s->heads)) != 0 ||
            (rc = mdb_dbi_open(txn, "forks", dbflags, &s->forks)) != 0 ||
            (rc = mdb_dbi_open(txn, "meta", dbflags, &s->meta)) != 0 ||
            (rc = lane_open_db(s, txn, dbflags)) != 0 ||
            (rc = views_open_dbs(s, txn, dbflags)) != 0) {
            mdb_txn_abort(txn);
            if (rc == MDB_NOTFOUND && s->read_only && !c->have_record)
                return AM_ENOTFOUND; /* never set up (a first open cut short) */
            if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
                c->damage->kind = STORE_DAMAGE_FORMAT;
            return rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE ? AM_ECORRUPT : store_mdb_err(rc);
        }
        /* a store made before logs (read-only: none yet, so no author is forked) */
        rc = mdb_dbi_open(txn, "logs", dbflags, &s->logs);
        s->has_logs = rc == 0;
        if (rc != 0 && rc != MDB_NOTFOUND) {
            mdb_txn_abort(txn);
            return store_mdb_err(rc);
        }
        rc = setup_meta(s, txn, c->dir);
        /* The record names the install this home's store is: a data.mdb of another one
         * (copied in from another node or another home) is refused before anything is
         * written to it. A copy of this very store (a restore, a moved home) has the
         * recorded id as its install id or, once noticed, as copied_from. */
        if (rc == AM_OK && c->have_record &&
            memcmp(c->record_id, s->install_id, AM_INSTALL_ID_LEN) != 0 &&
            memcmp(c->record_id, s->copied_from, AM_INSTALL_ID_LEN) != 0) {
            c->damage->kind = STORE_DAMAGE_REPLACED;
            c->damage->had_entries = c->record_entries;
            memcpy(c->damage->had_id, c->record_id, AM_INSTALL_ID_LEN);
            memcpy(c->damage->found_id, s->install_id, AM_INSTALL_ID_LEN);
            rc = AM_ECORRUPT;
        } else if (rc == AM_ECORRUPT || (rc == AM_ENOTFOUND && c->have_record)) {
            c->damage->kind = STORE_DAMAGE_FORMAT;
            rc = AM_ECORRUPT;
        }
        if (rc != AM_OK) {
            mdb_txn_abort(txn);
            return rc;
        }
        c->stale = views_current(s, txn) != 1;
        s->wants_write = s->read_only && c->stale;
        c->stale = c->stale && !s->read_only;
        rc = mdb_txn_commit(txn); /* also read-only: an aborted txn would close its new dbis */
        if (rc == MDB_MAP_FULL && attempt == 0 && store_grow_map(s) == AM_OK)
            continue;
        return store_mdb_err(rc);
    }
    return AM_EFULL;
}

/* One piece of evidence a store of an earlier version kept (§7 `forks`). */
struct old_ev {
    uint8_t key[FORK_KEY_LEN];
    uint8_t *raw;
    size_t len;
};

struct old_evs {
    struct old_ev *v;
    size_t n, cap;
};

static int old_ev_add(void *ctx, const uint8_t *author, uint64_t seq, const uint8_t *raw,
                      size_t len)
{
    struct old_evs *a = ctx;
    struct old_ev *e;
    struct entry d;
    if (AM_GROW(a->v, a->cap, a->n + 1, 16) != AM_OK)
        return AM_ENOMEM;
    e = &a->v[a->n];
    if (!(e->raw = malloc(len ? len : 1)))
        return AM_ENOMEM;
    memcpy(e->raw, raw, len);
    e->len = len;
    entry_key(e->key, author, seq);
    if (entry_decode(&d, raw, len) == AM_OK)
        entry_hash(&d, e->key + KEY_LEN);
    else
        memset(e->key + KEY_LEN, 0, AM_HASH_LEN);
    a->n++;
    return 0;
}

/* What an open may have to write after open_dbs (run guarded): stale views rebuilt; and
 * a store of an earlier version kept one entry of each other branch as evidence only
 * (PROTOCOL.md 6): once, each is ingested again: where its parent is stored it now starts
 * a branch and leaves the evidence; the rest stays evidence. Nothing is dropped. */
static int open_upgrade(void *ctx)
{
    struct store *s = ((struct open_ctx *)ctx)->s;
    struct old_evs a = {NULL, 0, 0};
    MDB_txn *txn;
    MDB_val v;
    int rc, done;

    if (((struct open_ctx *)ctx)->stale && (rc = views_ensure(s)) != AM_OK)
        return rc;
    if ((rc = store_txn_begin(s, MDB_RDONLY, &txn)) != 0)
        return store_mdb_err(rc);
    done = store_meta_get(txn, s, "logs_placed", &v) == 0;
    mdb_txn_abort(txn);
    if (done || (s->read_only && (s->wants_write = 1)))
        return AM_OK;
    if ((rc = store_forks_each(s, old_ev_add, &a)) != AM_OK)
        goto out;
    for (size_t i = 0; i < a.n; i++) {
        struct store_ingest_stats st;
        const uint8_t *raw = a.v[i].raw;
        if ((rc = store_ingest(s, &raw, &a.v[i].len, 1, 0, &st)) != AM_OK)
            goto out;
        if (st.added + st.forks == 1) {
            MDB_val k = {FORK_KEY_LEN, a.v[i].key};
            if ((rc = store_txn_begin(s, 0, &txn)) != 0) {
                rc = store_mdb_err(rc);
                goto out;
            }
            rc = mdb_del(txn, s->forks, &k, NULL);
            rc = rc == 0 || rc == MDB_NOTFOUND ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
            if (rc != 0) {
                rc = store_mdb_err(rc);
                goto out;
            }
        }
    }
    if ((rc = store_txn_begin(s, 0, &txn)) != 0) {
        rc = store_mdb_err(rc);
        goto out;
    }
    rc = store_meta_put(txn, s, "logs_placed", "", 0);
    rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    rc = store_mdb_err(rc);
out:
    for (size_t i = 0; i < a.n; i++)
        free(a.v[i].raw);
    free(a.v);
    return rc;
}

int store_open(struct store **out, const char *dir, const struct store_opts *opts)
{
    struct store *s;
    struct store_damage spare, *damage = opts && opts->damage ? opts->damage : &spare;
    struct open_ctx c = {.dir = dir, .damage = damage};
    char path[4096];
    enum data_state state;
    uint64_t entries = 0, had_entries = 0;
    int rc, dead;

    *out = NULL;
    memset(damage, 0, sizeof *damage);
    /* Before anything is created or mapped: the record, and the file against it. */
    if (opts && opts->record) {
        rc = store_record_read(opts->record, c.record_id, &had_entries);
        if (rc != AM_OK && rc != AM_ENOTFOUND && rc != AM_ECORRUPT)
            return rc;
        c.have_record = rc == AM_OK;
    }
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path)
        return AM_EINVAL;
    c.record_entries = had_entries;
    if ((rc = store_check_data_file(path, &state, damage)) != AM_OK)
        return rc;
    if (c.have_record && state != DATA_PRESENT) {
        damage->kind = state == DATA_EMPTY ? STORE_DAMAGE_EMPTY : STORE_DAMAGE_MISSING;
        damage->had_entries = had_entries;
        memcpy(damage->had_id, c.record_id, AM_INSTALL_ID_LEN);
        return AM_ECORRUPT;
    }

    if (opts && opts->read_only && state != DATA_PRESENT)
        return AM_ENOTFOUND; /* read-only: nothing is made */
    s = calloc(1, sizeof *s);
    if (!s)
        return AM_ENOMEM;
    c.s = s;
    s->read_only = opts && opts->read_only;
    s->map_max = opts && opts->map_max ? opts->map_max : AM_STORE_MAP_MAX;
    s->cache_max = !opts || !opts->view_cache                 ? STORE_VIEW_CACHE_DEFAULT
                   : opts->view_cache == STORE_VIEW_CACHE_OFF ? 0
                                                              : opts->view_cache;
    if (opts && opts->record && !(s->record = strdup(opts->record))) {
        free(s);
        return AM_ENOMEM;
    }
    if (!s->read_only && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        free(s->record);
        free(s);
        return AM_ESYS;
    }
    if (pthread_mutex_init(&s->cache_lock, NULL) != 0) {
        free(s->record);
        free(s);
        return AM_ENOMEM;
    }
    if ((rc = mdb_env_create(&s->env)) != 0) {
        pthread_mutex_destroy(&s->cache_lock);
        free(s->record);
        free(s);
        return store_mdb_err(rc);
    }
    mdb_env_set_assert(s->env, store_guard_assert); /* a page LMDB finds broken: damage */
    mdb_env_set_maxdbs(s->env, 16);
    mdb_env_set_mapsize(
        s->env, (size_t)(opts && opts->map_initial ? opts->map_initial : AM_STORE_MAP_INITIAL));
    /* NOTLS: read transactions are not tied to threads, so one thread may nest them. */
    rc = mdb_env_open(s->env, dir, MDB_NOTLS | (s->read_only ? MDB_RDONLY : 0), 0600);
    if (rc != 0) {
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
            damage->kind = STORE_DAMAGE_HEADER;
        rc = rc == ENOENT ? AM_ENOTFOUND : store_mdb_err(rc);
        goto fail;
    }
    mdb_reader_check(s->env, &dead); /* clear slots of readers that died */

    if ((rc = store_guarded(s, open_dbs, &c, damage)) != AM_OK)
        goto fail;
    /* stale views rebuilt, old evidence placed: guarded, the store may be damaged */
    if ((rc = store_guarded(s, open_upgrade, &c, damage)) != AM_OK)
        goto fail;
    /* Record which store this is when the record lacks it (first open, a copy noticed);
     * the count alone is refreshed at close, so an open costs no write and no fsync. A
     * record that cannot be written is not worth refusing the store for: close retries. */
    s->record_entries = had_entries;
    if (s->record && !s->read_only &&
        (!c.have_record || memcmp(c.record_id, s->install_id, AM_INSTALL_ID_LEN) != 0)) {
        if ((rc = store_entry_count(s, &entries)) != AM_OK)
            goto fail;
        if (store_record_write(s->record, s->install_id, entries) == AM_OK)
            s->record_entries = entries;
    }
    *out = s;
    return AM_OK;
fail:
    views_cache_free(s); /* what a rebuild at open loaded before it failed */
    logs_ctx_free(s->logs_ctx);
    if (s->faulted)
        store_guard_abandon(s->env);
    else
        mdb_env_close(s->env);
    pthread_mutex_destroy(&s->cache_lock);
    free(s->record);
    free(s);
    return rc;
}

void store_close(struct store *s)
{
    uint64_t n;

    if (!s)
        return;
    if (s->record && !s->read_only && !s->faulted && store_entry_count(s, &n) == AM_OK &&
        n != s->record_entries)
        store_record_write(s->record, s->install_id, n);
    views_cache_free(s);
    logs_ctx_free(s->logs_ctx);
    if (s->faulted)
        store_guard_abandon(s->env);
    else
        mdb_env_close(s->env);
    pthread_mutex_destroy(&s->cache_lock);
    free(s->record);
    free(s);
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Every record the store keeps is at most AM_ENTRY_MAX bytes (entries, evidence) or of a
 * fixed size (keys, heads). A longer one is damage (a flipped size in its page), refused
 * before anyone reads it: read as long as it claims, it would run off the end of the
 * file. */
static int rec_ok(const MDB_val *v)
{
    return v->mv_size <= AM_ENTRY_MAX;
}

int store_head_read(MDB_txn *txn, struct store *s, const uint8_t *log, struct store_head *h)
{
    MDB_val k = {AM_PK_LEN, (void *)log}, v;
    int rc = mdb_get(txn, s->heads, &k, &v);
    if (rc != 0)
        return store_mdb_err(rc);
    return store_head_decode(h, log, &v);
}

int store_head_get(struct store *s, const uint8_t author[static AM_PK_LEN], struct store_head *h)
{
    MDB_txn *txn;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);
    if (rc != 0)
        return store_mdb_err(rc);
    rc = store_head_read(txn, s, author, h);
    mdb_txn_abort(txn);
    return rc;
}

/* ---- peers met ------------------------------------------------------------------------ */

#define PEER_KEY_PREFIX "peer/"
#define PEER_KEY_PLEN   (sizeof PEER_KEY_PREFIX - 1)

int store_peer_note(struct store *s, const uint8_t author[static AM_PK_LEN])
{
    uint8_t key[PEER_KEY_PLEN + AM_PK_LEN];
    MDB_val k = {sizeof key, key}, v = {0, ""};
    MDB_txn *txn;
    int rc;

    if (s->read_only)
        return AM_OK;
    memcpy(key, PEER_KEY_PREFIX, PEER_KEY_PLEN);
    memcpy(key + PEER_KEY_PLEN, author, AM_PK_LEN);
    if ((rc = store_txn_begin(s, MDB_RDONLY, &txn)) != 0)
        return store_mdb_err(rc);
    rc = mdb_get(txn, s->meta, &k, &v);
    mdb_txn_abort(txn);
    if (rc == 0)
        return AM_OK; /* known already: no write */
    if ((rc = store_txn_begin(s, 0, &txn)) != 0)
        return store_mdb_err(rc);
    v.mv_size = 0;
    rc = mdb_put(txn, s->meta, &k, &v, 0);
    if (rc == 0)
        return store_mdb_err(mdb_txn_commit(txn));
    mdb_txn_abort(txn);
    return store_mdb_err(rc);
}

int store_peers_each(struct store *s, const uint8_t *prefix, size_t plen,
                     int (*cb)(void *ctx, const uint8_t author[AM_PK_LEN]), void *ctx)
{
    uint8_t key[PEER_KEY_PLEN + AM_PK_LEN];
    MDB_val k, v;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc, op = MDB_SET_RANGE, stop = 0;

    if (plen > AM_PK_LEN)
        return AM_EINVAL;
    memcpy(key, PEER_KEY_PREFIX, PEER_KEY_PLEN);
    memcpy(key + PEER_KEY_PLEN, prefix, plen);
    if ((rc = store_txn_begin(s, MDB_RDONLY, &txn)) != 0)
        return store_mdb_err(rc);
    if ((rc = mdb_cursor_open(txn, s->meta, &cur)) != 0) {
        mdb_txn_abort(txn);
        return store_mdb_err(rc);
    }
    k.mv_size = PEER_KEY_PLEN + plen;
    k.mv_data = key;
    while (!stop && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        op = MDB_NEXT;
        if (k.mv_size < PEER_KEY_PLEN + plen || memcmp(k.mv_data, key, PEER_KEY_PLEN + plen) != 0)
            break;
        if (k.mv_size == PEER_KEY_PLEN + AM_PK_LEN)
            stop = cb(ctx, (const uint8_t *)k.mv_data + PEER_KEY_PLEN);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc == 0 || rc == MDB_NOTFOUND ? (stop > 0 ? stop : AM_OK) : store_mdb_err(rc);
}

int store_heads_each(struct store *s, int (*cb)(void *ctx, const struct store_head *h), void *ctx)
{
    struct store_snap sn = {s, NULL};
    int rc = store_txn_begin(s, MDB_RDONLY, &sn.txn);
    if (rc != 0)
        return store_mdb_err(rc);
    rc = store_snap_heads_each(&sn, cb, ctx);
    mdb_txn_abort(sn.txn);
    return rc;
}

int store_snap_heads_each(struct store_snap *sn, int (*cb)(void *ctx, const struct store_head *h),
                          void *ctx)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, op = MDB_FIRST, stop = 0;

    if ((rc = mdb_cursor_open(sn->txn, sn->s->heads, &cur)) != 0)
        return store_mdb_err(rc);
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        struct store_head h;
        op = MDB_NEXT;
        if (k.mv_size != AM_PK_LEN || !rec_ok(&v) ||
            store_head_decode(&h, k.mv_data, &v) != AM_OK) {
            rc = AM_ECORRUPT;
            break;
        }
        if ((stop = cb(ctx, &h)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return stop ? stop : rc == MDB_NOTFOUND ? AM_OK : rc == AM_ECORRUPT ? rc : store_mdb_err(rc);
}

int store_entries_each(struct store *s, const uint8_t *author, uint64_t from_seq,
                       int (*cb)(void *ctx, const uint8_t *raw, size_t len), void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    uint8_t key[KEY_LEN];
    MDB_val k, v;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn), op, stop = 0;

    if (rc != 0)
        return store_mdb_err(rc);
    if ((rc = mdb_cursor_open(txn, s->entries, &cur)) != 0) {
        mdb_txn_abort(txn);
        return store_mdb_err(rc);
    }
    if (author) {
        entry_key(key, author, from_seq);
        k.mv_size = KEY_LEN;
        k.mv_data = key;
        op = MDB_SET_RANGE;
    } else {
        op = MDB_FIRST;
    }
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        op = MDB_NEXT;
        if (k.mv_size != KEY_LEN || !rec_ok(&v)) {
            rc = AM_ECORRUPT;
            break;
        }
        if (author && memcmp(k.mv_data, author, AM_PK_LEN) != 0)
            break;
        if (!author && store_be64_get((uint8_t *)k.mv_data + AM_PK_LEN) < from_seq)
            continue;
        if ((stop = cb(ctx, v.mv_data, v.mv_size)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return stop ? stop : rc == MDB_NOTFOUND ? AM_OK : rc == AM_ECORRUPT ? rc : store_mdb_err(rc);
}

int store_entry_get(struct store *s, const uint8_t author[static AM_PK_LEN], uint64_t seq,
                    uint8_t *buf, size_t cap, size_t *len)
{
    MDB_txn *txn;
    uint8_t key[KEY_LEN];
    MDB_val k = {KEY_LEN, key}, v;
    int rc = store_txn_begin(s, MDB_RDONLY, &txn);

    if (rc != 0)
        return store_mdb_err(rc);
    entry_key(key, author, seq);
    rc = mdb_get(txn, s->entries, &k, &v);
    if (rc == 0) {
        *len = v.mv_size;
        if (!rec_ok(&v))
            rc = AM_ECORRUPT;
        else if (v.mv_size > cap)
            rc = AM_ELIMIT;
        else
            memcpy(buf, v.mv_data, v.mv_size);
    } else {
        rc = store_mdb_err(rc);
    }
    mdb_txn_abort(txn);
    return rc;
}

int store_forks_each(struct store *s,
                     int (*cb)(void *ctx, const uint8_t *author, uint64_t seq, const uint8_t *raw,
                               size_t len),
                     void *ctx)
{
    struct store_snap sn = {s, NULL};
    int rc = store_txn_begin(s, MDB_RDONLY, &sn.txn);
    if (rc != 0)
        return store_mdb_err(rc);
    rc = store_snap_forks_each(&sn, cb, ctx);
    mdb_txn_abort(sn.txn);
    return rc;
}

int store_snap_forks_each(struct store_snap *sn,
                          int (*cb)(void *ctx, const uint8_t *author, uint64_t seq,
                                    const uint8_t *raw, size_t len),
                          void *ctx)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc, op = MDB_FIRST, stop = 0;

    if ((rc = mdb_cursor_open(sn->txn, sn->s->forks, &cur)) != 0)
        return store_mdb_err(rc);
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        const uint8_t *kp = k.mv_data;
        op = MDB_NEXT;
        if (k.mv_size != FORK_KEY_LEN || !rec_ok(&v)) {
            rc = AM_ECORRUPT;
            break;
        }
        if ((stop = cb(ctx, kp, store_be64_get(kp + AM_PK_LEN), v.mv_data, v.mv_size)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return stop ? stop : rc == MDB_NOTFOUND ? AM_OK : rc == AM_ECORRUPT ? rc : store_mdb_err(rc);
}

int store_snap_entry(struct store_snap *sn, const uint8_t author[static AM_PK_LEN], uint64_t seq,
                     const uint8_t **raw, size_t *len)
{
    uint8_t key[KEY_LEN];
    MDB_val k = {KEY_LEN, key}, v;
    int rc;
    entry_key(key, author, seq);
    if ((rc = mdb_get(sn->txn, sn->s->entries, &k, &v)) != 0)
        return store_mdb_err(rc);
    if (!rec_ok(&v))
        return AM_ECORRUPT;
    *raw = v.mv_data;
    *len = v.mv_size;
    return AM_OK;
}

int store_snap_head(struct store_snap *sn, const uint8_t log[static AM_PK_LEN],
                    struct store_head *h)
{
    return store_head_read(sn->txn, sn->s, log, h);
}

void store_snap_log_author(struct store_snap *sn, const uint8_t log[static AM_PK_LEN],
                           uint8_t author[static AM_PK_LEN])
{
    struct store_head h;
    if (store_head_read(sn->txn, sn->s, log, &h) == AM_OK)
        memmove(author, h.author, AM_PK_LEN);
    else if (author != log)
        memmove(author, log, AM_PK_LEN);
}

/* Authors, forked and abusive ones, counted at their root logs. */
static int count_authors(void *ctx, const struct store_head *h)
{
    struct store_stats *st = ctx;
    if (memcmp(h->log, h->author, AM_PK_LEN) != 0)
        return 0;
    st->authors++;
    if (h->flags & STORE_HEAD_FORKED)
        st->forked++;
    if (h->flags & STORE_HEAD_ABUSIVE)
        st->abusive++;
    return 0;
}

struct stats_ctx {
    struct store *s;
    struct store_stats *st;
};

int store_snap_stats(struct store_snap *sn, struct store_stats *st)
{
    struct store *s = sn->s;
    MDB_stat ms;
    MDB_envinfo info;

    memset(st, 0, sizeof *st);
    if (mdb_stat(sn->txn, s->entries, &ms) == 0)
        st->entries = ms.ms_entries;
    if (mdb_stat(sn->txn, s->heads, &ms) == 0)
        st->logs = ms.ms_entries;
    if (mdb_stat(sn->txn, s->forks, &ms) == 0)
        st->forks = ms.ms_entries;
    lane_stat(sn->txn, s, st);
    mdb_env_info(s->env, &info);
    mdb_env_stat(s->env, &ms);
    st->map_size = info.me_mapsize;
    st->map_used = (uint64_t)(info.me_last_pgno + 1) * ms.ms_psize;
    return store_snap_heads_each(sn, count_authors, st);
}

static int stats_scan(void *ctx)
{
    struct stats_ctx *c = ctx;
    struct store_snap sn = {c->s, NULL};
    int rc = store_txn_begin(c->s, MDB_RDONLY, &sn.txn);

    if (rc != 0)
        return store_mdb_err(rc);
    rc = store_snap_stats(&sn, c->st);
    mdb_txn_abort(sn.txn);
    return rc;
}

/* Guarded (store_guarded): it walks every head, and `status`, the dashboard and doctor
 * call it first on a store that may be damaged. */
int store_stats(struct store *s, struct store_stats *st)
{
    struct stats_ctx c = {s, st};
    memset(st, 0, sizeof *st);
    return store_guarded(s, stats_scan, &c, NULL);
}

/* ---- ingest -------------------------------------------------------------------------------- */

struct group {
    size_t lo, hi; /* items[lo..hi) share one author, sorted by seq */
    int has_head;
    struct store_head head; /* as seen when planning */
    struct logs_plan *lp;   /* the author's entries fork: planned by store_logs.c */
};

#define PLAN_LOGS 1 /* plan_group: the group needs the logs' planning (store_logs.c) */

static int item_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = memcmp(x->e.author, y->e.author, AM_PK_LEN);
    if (c)
        return c;
    if (x->e.seq != y->e.seq)
        return x->e.seq < y->e.seq ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int same_bytes(const struct entry *a, const uint8_t *raw, size_t len)
{
    return a->raw_len == len && memcmp(a->raw, raw, len) == 0;
}

/* Plans one author's items against its head, read in `txn`. Marks run members; leaves
 * the tip signature check to the caller (done with no transaction open). Returns
 * PLAN_LOGS, before any signature is checked, when the author's entries fork (its logs
 * are more than one, or an item parts from what is stored or from another item). */
static int plan_group(struct store *s, MDB_txn *txn, struct item *items, struct group *g)
{
    uint64_t exp_seq;
    uint8_t exp_prev[AM_HASH_LEN];
    enum verdict broken = V_PENDING;
    size_t first_of_seq = g->lo;
    int rc;

    rc = store_head_read(txn, s, items[g->lo].e.author, &g->head);
    if (rc != AM_OK && rc != AM_ENOTFOUND)
        return rc;
    g->has_head = rc == AM_OK;
    if (!g->has_head)
        memset(&g->head, 0, sizeof g->head);
    if (g->head.flags & (STORE_HEAD_FORKED | STORE_HEAD_SPLIT))
        return PLAN_LOGS;
    exp_seq = g->head.seq + 1;
    memcpy(exp_prev, g->head.hash, AM_HASH_LEN);

    for (size_t i = g->lo; i < g->hi; i++) {
        struct item *it = &items[i];
        it->verdict = V_PENDING;
        it->check = CHK_NONE;
        it->in_run = 0;
        if (i == g->lo || it->e.seq != items[i - 1].e.seq)
            first_of_seq = i;

        if (it->e.seq <= g->head.seq) {
            /* A position the store already holds: the same bytes, or fork evidence. */
            uint8_t key[KEY_LEN];
            MDB_val k = {KEY_LEN, key}, v;
            entry_key(key, it->e.author, it->e.seq);
            rc = mdb_get(txn, s->entries, &k, &v);
            if (rc != 0)
                return rc == MDB_NOTFOUND ? AM_ECORRUPT : store_mdb_err(rc);
            if (!same_bytes(&it->e, v.mv_data, v.mv_size))
                return PLAN_LOGS; /* another branch */
            it->verdict = V_DUP;
            continue;
        }
        if (broken != V_PENDING) {
            it->verdict = broken;
            continue;
        }
        if (first_of_seq != i) {
            /* A second copy of a seq this batch already carries. */
            if (!same_bytes(&it->e, items[first_of_seq].e.raw, items[first_of_seq].e.raw_len))
                return PLAN_LOGS; /* two branches in one batch */
            it->verdict = V_DUP;
            continue;
        }
        if (it->e.seq == exp_seq && memcmp(it->e.prev, exp_prev, AM_HASH_LEN) == 0) {
            it->in_run = 1;
            exp_seq++;
            memcpy(exp_prev, it->hash, AM_HASH_LEN);
        } else if (it->e.seq == exp_seq) {
            return PLAN_LOGS; /* it parts from a stored entry, or links to nothing here */
        } else {
            it->verdict = V_GAP;
            broken = V_GAP;
        }
    }
    return AM_OK;
}

/* Verify the tip, hash the chain: the run's members are linked by hashes to the head, so
 * one good signature on the last member authenticates them all. If the tip is bad, a
 * prefix whose last signature is good is kept, found by bisection: the longest such prefix
 * when the run's signatures are good up to some member and bad after it. An author that
 * signs after a bad signature of its own may see a different prefix kept for another
 * batching of the same entries; only that author can cause it, and what is kept is
 * always authenticated by a good signature. */
static void settle_group(struct item *items, const struct group *g, size_t *run)
{
    size_t nrun = 0, good = 0;

    for (size_t i = g->lo; i < g->hi; i++)
        if (items[i].in_run)
            run[nrun++] = i;
    if (nrun > 0) {
        if (item_sig_ok(&items[run[nrun - 1]])) {
            good = nrun;
        } else {
            size_t lo = 0, hi = nrun - 1; /* answer in [lo, hi]: members kept */
            while (lo < hi) {
                size_t mid = lo + (hi - lo + 1) / 2;
                if (item_sig_ok(&items[run[mid - 1]]))
                    lo = mid;
                else
                    hi = mid - 1;
            }
            good = lo;
        }
    }
    for (size_t j = 0; j < nrun; j++)
        items[run[j]].verdict = j < good ? V_NEW : V_BADSIG;
}

#define REPLAN 1

/* The write transaction of an ingest: re-check every head, then store. *resplit: a log
 * was split or an author became abusive (the views are rebuilt). */
static int ingest_write(struct store *s, MDB_txn *txn, struct item *items, size_t n,
                        struct group *groups, size_t ng, uint64_t wall_ms, uint64_t *fork_dups,
                        int *resplit)
{
    struct hlc clk = {0};
    MDB_val v;
    int rc, seen_changed = 0;

    *fork_dups = 0;
    *resplit = 0;
    if (store_meta_get(txn, s, "hlc_seen", &v) == 0 && v.mv_size == 8)
        clk.last = store_be64_get(v.mv_data);

    for (size_t gi = 0; gi < ng; gi++) {
        struct group *g = &groups[gi];
        struct store_head now, h;
        const uint8_t *author = items[g->lo].e.author;
        int changed = 0, have_now;

        if (g->lp) {
            rc = logs_write_group(s, txn, g->lp, items, &clk, wall_ms, &seen_changed, resplit,
                                  fork_dups);
            if (rc != 0)
                return rc;
            continue;
        }

        rc = store_head_read(txn, s, author, &now);
        if (rc != AM_OK && rc != AM_ENOTFOUND)
            return rc;
        have_now = rc == AM_OK;
        if (have_now != g->has_head ||
            (have_now && (now.seq != g->head.seq || memcmp(now.hash, g->head.hash, AM_HASH_LEN))))
            return REPLAN; /* another process wrote this author meanwhile */
        h = g->head;
        memcpy(h.author, author, AM_PK_LEN);

        for (size_t i = g->lo; i < g->hi; i++) {
            struct item *it = &items[i];
            uint8_t key[FORK_KEY_LEN];
            MDB_val k, val = {it->e.raw_len, (void *)it->e.raw};

            if (it->verdict == V_NEW) {
                entry_key(key, author, it->e.seq);
                k.mv_size = KEY_LEN;
                k.mv_data = key;
                if ((rc = mdb_put(txn, s->entries, &k, &val, MDB_NOOVERWRITE)) != 0)
                    return rc == MDB_KEYEXIST ? REPLAN : rc;
                h.seq = it->e.seq;
                memcpy(h.hash, it->hash, AM_HASH_LEN);
                h.hlc = it->e.hlc;
                changed = 1;
                if (hlc_observe(&clk, it->e.hlc, wall_ms) == 0)
                    seen_changed = 1;
            }
        }
        if (changed) {
            uint8_t hv[HEAD_CHILD_LEN];
            MDB_val k = {AM_PK_LEN, (void *)author}, val = {HEAD_VAL_LEN, hv};
            memcpy(h.log, author, AM_PK_LEN);
            store_head_encode(hv, &val.mv_size, &h);
            if ((rc = mdb_put(txn, s->heads, &k, &val, 0)) != 0)
                return rc;
        }
    }
    if (seen_changed) {
        uint8_t b[8];
        store_be64_put(b, clk.last);
        if ((rc = store_meta_put(txn, s, "hlc_seen", b, 8)) != 0)
            return rc;
    }
    return lane_settle(s, txn, items, n, resplit); /* entries the lane held (store_lane.c) */
}

/* The views' part of an ingest's write transaction: the new entries' ops. */
static int ingest_views(struct store *s, MDB_txn *txn, const struct item *items,
                        const struct group *groups, size_t ng, struct views_entry *ve,
                        uint64_t *invalid)
{
    size_t k = 0;
    for (size_t gi = 0; gi < ng; gi++)
        for (size_t i = groups[gi].lo; i < groups[gi].hi; i++) {
            const struct item *it = &items[i];
            if (it->verdict != V_NEW && it->verdict != V_FORK)
                continue;
            ve[k].log = groups[gi].lp ? logs_plan_log_id(groups[gi].lp, it) : it->e.author;
            ve[k].author = it->e.author;
            ve[k].seq = it->e.seq;
            ve[k].hlc = it->e.hlc;
            ve[k].hash = it->hash;
            ve[k].op = it->e.op;
            ve[k].op_len = it->e.op_len;
            k++;
        }
    return views_update(s, txn, ve, k, invalid);
}

/* Names author (NULL: unknown) among the refused of st, for reason err (bounded). */
static void note_refused(struct store_ingest_stats *st, const uint8_t *author, int err)
{
    static const uint8_t unknown[AM_PK_LEN];
    const uint8_t *a = author ? author : unknown;
    for (size_t i = 0; i < st->n_refused_by; i++)
        if (st->refused_by[i].reason == err && !memcmp(st->refused_by[i].author, a, AM_PK_LEN)) {
            st->refused_by[i].count++;
            return;
        }
    if (st->n_refused_by == STORE_REFUSED_BY_MAX)
        return;
    memcpy(st->refused_by[st->n_refused_by].author, a, AM_PK_LEN);
    st->refused_by[st->n_refused_by].reason = err;
    st->refused_by[st->n_refused_by].count = 1;
    st->n_refused_by++;
}

static void count_verdicts(const struct item *items, size_t n, uint64_t wall_ms,
                           struct store_ingest_stats *st)
{
    uint64_t bound = hlc_pack(wall_ms + AM_HLC_MAX_DRIFT_MS, 0xffff);
    for (size_t i = 0; i < n; i++) {
        const struct item *it = &items[i];
        int err = 0;
        switch (it->verdict) {
        case V_NEW:
            st->added++;
            st->future += it->e.hlc > bound;
            break;
        case V_DUP:
            st->duplicate++;
            break;
        case V_FORK:
            st->forks++;
            break;
        case V_CAPPED:
            st->capped++;
            break;
        case V_GAP:
            st->gap++;
            err = AM_EGAP;
            break;
        case V_UNLINKED:
            st->unlinked++;
            err = AM_EUNLINKED;
            break;
        default:
            st->badsig++;
            err = AM_EBADSIG;
            break;
        }
        if (err)
            note_refused(st, it->e.author, err);
        if (err && (!st->first_error || it->idx < st->first_error_index)) {
            st->first_error = err;
            st->first_error_index = it->idx;
        }
    }
}

/* How a write attempt of ingest or append ended. */
enum { TXN_DONE, TXN_RETRY };

/*
 * Ends a write transaction whose work returned wrc (0: commit it, else abort it), closes
 * the views' part of it, and says what the caller's attempt loop does next: TXN_RETRY
 * (the plan went stale, or the map was full and has grown; at most once), or TXN_DONE
 * with the outcome in *rc.
 */
static int txn_finish(struct store *s, MDB_txn *txn, int wrc, int viewed, int locked, int *grown,
                      int *rc)
{
    if (wrc == 0)
        wrc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (viewed)
        views_txn_end(s, wrc == 0);
    if (wrc == REPLAN && !locked)
        return TXN_RETRY;
    if (wrc == MDB_MAP_FULL && !*grown) {
        *grown = 1;
        *rc = store_grow_map(s);
        return *rc == AM_OK ? TXN_RETRY : TXN_DONE;
    }
    if (wrc == 0)
        *rc = AM_OK;
    else
        *rc = wrc == REPLAN ? AM_ESTATE : wrc < 0 && wrc > -100 ? wrc : store_mdb_err(wrc);
    return TXN_DONE;
}

int store_ingest(struct store *s, const uint8_t *const *entries, const size_t *lens, size_t n,
                 uint64_t wall_ms, struct store_ingest_stats *st)
{
    struct item *items = NULL;
    struct group *groups = NULL;
    struct views_entry *ve = NULL;
    size_t *run = NULL;
    size_t ni = 0, ng = 0;
    int rc = AM_OK, grown = 0;

    memset(st, 0, sizeof *st);
    if (s->read_only)
        return AM_ESTATE;
    if (n > AM_INGEST_BATCH_MAX)
        return AM_ELIMIT;
    if (n == 0)
        return AM_OK;
    items = malloc(n * sizeof *items);
    groups = malloc(n * sizeof *groups);
    run = malloc(n * sizeof *run);
    ve = malloc(n * sizeof *ve);
    if (!items || !groups || !run || !ve) {
        rc = AM_ENOMEM;
        goto out;
    }

    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[ni];
        int drc = entry_decode(&it->e, entries[i], lens[i]);
        if (drc != AM_OK) {
            st->malformed++;
            note_refused(st, NULL, drc);
            if (!st->first_error) {
                st->first_error = drc;
                st->first_error_index = i;
            }
            continue;
        }
        entry_hash(&it->e, it->hash);
        it->idx = i;
        it->sig = -1;
        it->verdict = V_PENDING;
        it->check = CHK_NONE;
        it->in_run = 0;
        ni++;
    }
    qsort(items, ni, sizeof *items, item_cmp);
    for (size_t i = 0; i < ni; i++) {
        if (i == 0 || memcmp(items[i].e.author, items[i - 1].e.author, AM_PK_LEN) != 0) {
            groups[ng].lo = i;
            groups[ng].lp = NULL;
            ng++;
        }
        groups[ng - 1].hi = i + 1;
    }

    for (int attempt = 0;; attempt++) {
        /* Optimistic first: plan in a read transaction, verify with none open, write in
         * one and re-check the heads there. Another process writing the same authors can
         * invalidate that plan; after two misses, plan and verify inside the write
         * transaction, which holds LMDB's writer lock and so always makes progress. */
        int locked = attempt >= 2;
        MDB_txn *txn;
        uint64_t fork_dups, invalid = 0;
        int wrc, viewed = 0, resplit = 0;

        if ((rc = store_txn_begin(s, locked ? 0 : MDB_RDONLY, &txn)) != 0) {
            rc = store_mdb_err(rc);
            goto out;
        }
        for (size_t gi = 0; gi < ng && rc == AM_OK; gi++) {
            struct group *g = &groups[gi];
            logs_plan_free(g->lp);
            g->lp = NULL;
            rc = plan_group(s, txn, items, g);
            if (rc == PLAN_LOGS) /* the author's entries fork: every branch is kept */
                rc = logs_plan_group(s, txn, items, g->lo, g->hi, &g->lp);
        }
        if (rc != AM_OK) {
            mdb_txn_abort(txn);
            goto out;
        }
        if (!locked)
            mdb_txn_abort(txn);
        for (size_t gi = 0; gi < ng; gi++)
            if (!groups[gi].lp)
                settle_group(items, &groups[gi], run);

        if (!locked && (rc = store_txn_begin(s, 0, &txn)) != 0) {
            rc = store_mdb_err(rc);
            goto out;
        }
        wrc = ingest_write(s, txn, items, ni, groups, ng, wall_ms, &fork_dups, &resplit);
        if (wrc == 0) {
            viewed = 1;
            /* a split renames stored entries: the views are made again from all of them */
            wrc = resplit ? views_rebuild_in(s, txn, &invalid)
                          : ingest_views(s, txn, items, groups, ng, ve, &invalid);
        }
        if (txn_finish(s, txn, wrc, viewed, locked, &grown, &rc) == TXN_RETRY)
            continue;
        if (rc != AM_OK)
            goto out;
        count_verdicts(items, ni, wall_ms, st);
        st->invalid_ops = invalid;
        st->capped -= fork_dups;
        st->duplicate += fork_dups;
        rc = AM_OK;
        goto out;
    }
out:
    for (size_t gi = 0; groups && gi < ng; gi++)
        logs_plan_free(groups[gi].lp);
    free(items);
    free(groups);
    free(run);
    free(ve);
    return rc;
}

/* ---- local append -------------------------------------------------------------------------- */

#define SELF_HEAD_PREFIX "self/"
#define SELF_HEAD_PLEN   (sizeof SELF_HEAD_PREFIX - 1)

int store_self_head(struct store *s, const uint8_t author[static AM_PK_LEN], uint64_t *seq,
                    uint8_t hash[static AM_HASH_LEN])
{
    uint8_t name[SELF_HEAD_PLEN + AM_PK_LEN];
    MDB_val k = {sizeof name, name}, v;
    MDB_txn *txn;
    int rc;

    memcpy(name, SELF_HEAD_PREFIX, SELF_HEAD_PLEN);
    memcpy(name + SELF_HEAD_PLEN, author, AM_PK_LEN);
    if ((rc = store_txn_begin(s, MDB_RDONLY, &txn)) != 0)
        return store_mdb_err(rc);
    rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == 0 && v.mv_size == 8 + AM_HASH_LEN) {
        *seq = store_be64_get(v.mv_data);
        memcpy(hash, (const uint8_t *)v.mv_data + 8, AM_HASH_LEN);
        rc = AM_OK;
    } else {
        rc = rc == 0 ? AM_ECORRUPT : store_mdb_err(rc);
    }
    mdb_txn_abort(txn);
    return rc;
}

/* The views' part of an append's write transaction: the n entries built in buf. */
static int append_views(struct store *s, MDB_txn *txn, const uint8_t *author, const uint8_t *buf,
                        const size_t *offs, size_t n, struct views_entry *ve, uint8_t *hashes)
{
    for (size_t i = 0; i < n; i++) {
        struct entry e;
        if (entry_decode(&e, buf + offs[i], offs[i + 1] - offs[i]) != AM_OK)
            return AM_EINVAL; /* entry_build made it: cannot happen */
        entry_hash(&e, hashes + i * AM_HASH_LEN);
        ve[i].log = author;
        ve[i].author = author;
        ve[i].seq = e.seq;
        ve[i].hlc = e.hlc;
        ve[i].hash = hashes + i * AM_HASH_LEN;
        ve[i].op = e.op;
        ve[i].op_len = e.op_len;
    }
    return views_update(s, txn, ve, n, NULL);
}

int store_append(struct store *s, const uint8_t sk[static AM_SK_LEN], const uint8_t *const *ops,
                 const size_t *op_lens, size_t n, uint64_t wall_ms, struct store_head *head)
{
    const uint8_t *author = sk + AM_SEED_LEN;
    uint8_t *buf = NULL, *hashes = NULL;
    struct views_entry *ve = NULL;
    size_t *offs = NULL, total = 0;
    int rc = AM_OK, grown = 0;

    if (s->read_only)
        return AM_ESTATE;
    if (n > AM_INGEST_BATCH_MAX)
        return AM_ELIMIT;
    if (n == 0)
        return AM_OK;
    for (size_t i = 0; i < n; i++) {
        if (op_lens[i] > AM_OP_MAX)
            return AM_ELIMIT;
        total += op_lens[i] + 256;
    }
    buf = malloc(total);
    offs = malloc((n + 1) * sizeof *offs);
    ve = malloc(n * sizeof *ve);
    hashes = malloc(n * AM_HASH_LEN);
    if (!buf || !offs || !ve || !hashes) {
        rc = AM_ENOMEM;
        goto out;
    }

    for (int attempt = 0;; attempt++) {
        /* Optimistic first: read the head, sign with no transaction open, then write if
         * the head has not moved. Two writers of one identity (the CLI twice) can keep
         * moving it; after two misses, sign inside the write transaction, which holds
         * LMDB's writer lock and so always makes progress. */
        int locked = attempt >= 2;
        struct store_head h, now;
        struct hlc clk = {0};
        MDB_txn *txn;
        MDB_val v;
        int has, has_now, wrc = 0, viewed = 0;

        if ((rc = store_txn_begin(s, locked ? 0 : MDB_RDONLY, &txn)) != 0) {
            rc = store_mdb_err(rc);
            goto out;
        }
        rc = store_head_read(txn, s, author, &h);
        if (store_meta_get(txn, s, "hlc_seen", &v) == 0 && v.mv_size == 8)
            clk.last = store_be64_get(v.mv_data);
        if (!locked || (rc != AM_OK && rc != AM_ENOTFOUND))
            mdb_txn_abort(txn);
        if (rc != AM_OK && rc != AM_ENOTFOUND)
            goto out;
        has = rc == AM_OK;
        if (!has) {
            memset(&h, 0, sizeof h);
            memcpy(h.author, author, AM_PK_LEN);
        }
        if (h.flags & (STORE_HEAD_FORKED | STORE_HEAD_SPLIT)) {
            if (locked)
                mdb_txn_abort(txn);
            rc = AM_EFORK;
            goto out;
        }
        if (h.hlc > clk.last)
            clk.last = h.hlc;
        now = h;
        offs[0] = 0;
        for (size_t i = 0; i < n; i++) {
            size_t len;
            struct entry e;
            rc = entry_build(buf + offs[i], total - offs[i], &len, sk, now.seq + 1, now.hash,
                             hlc_tick(&clk, wall_ms), ops[i], op_lens[i]);
            if (rc != AM_OK) {
                if (locked)
                    mdb_txn_abort(txn);
                goto out;
            }
            offs[i + 1] = offs[i] + len;
            entry_decode(&e, buf + offs[i], len);
            entry_hash(&e, now.hash);
            now.seq++;
            now.hlc = e.hlc;
        }

        if (!locked && (rc = store_txn_begin(s, 0, &txn)) != 0) {
            rc = store_mdb_err(rc);
            goto out;
        }
        {
            struct store_head cur;
            int hrc = store_head_read(txn, s, author, &cur);
            has_now = hrc == AM_OK;
            if (hrc != AM_OK && hrc != AM_ENOTFOUND)
                wrc = EIO;
            else if (has_now != has || (has && (cur.seq != h.seq || cur.flags != h.flags ||
                                                memcmp(cur.hash, h.hash, AM_HASH_LEN))))
                wrc = REPLAN;
        }
        for (size_t i = 0; i < n && wrc == 0; i++) {
            uint8_t key[KEY_LEN];
            MDB_val k = {KEY_LEN, key}, val = {offs[i + 1] - offs[i], buf + offs[i]};
            entry_key(key, author, h.seq + 1 + i);
            wrc = mdb_put(txn, s->entries, &k, &val, MDB_NOOVERWRITE);
            if (wrc == MDB_KEYEXIST)
                wrc = REPLAN;
        }
        if (wrc == 0) {
            uint8_t hv[HEAD_CHILD_LEN];
            MDB_val k = {AM_PK_LEN, (void *)author}, val = {HEAD_VAL_LEN, hv};
            memcpy(now.log, author, AM_PK_LEN);
            store_head_encode(hv, &val.mv_size, &now);
            wrc = mdb_put(txn, s->heads, &k, &val, 0);
        }
        if (wrc == 0) {
            /* what this store itself wrote last under the key: its own branch, should the
             * key turn out to be in use on another machine too (store_self_head) */
            uint8_t name[SELF_HEAD_PLEN + AM_PK_LEN], sv[8 + AM_HASH_LEN];
            memcpy(name, SELF_HEAD_PREFIX, SELF_HEAD_PLEN);
            memcpy(name + SELF_HEAD_PLEN, author, AM_PK_LEN);
            store_be64_put(sv, now.seq);
            memcpy(sv + 8, now.hash, AM_HASH_LEN);
            MDB_val k = {sizeof name, name}, val = {sizeof sv, sv};
            wrc = mdb_put(txn, s->meta, &k, &val, 0);
        }
        if (wrc == 0) {
            viewed = 1;
            wrc = append_views(s, txn, author, buf, offs, n, ve, hashes);
        }
        if (txn_finish(s, txn, wrc, viewed, locked, &grown, &rc) == TXN_RETRY)
            continue;
        if (rc != AM_OK)
            goto out;
        if (head)
            *head = now;
        rc = AM_OK;
        goto out;
    }
out:
    free(buf);
    free(offs);
    free(ve);
    free(hashes);
    return rc;
}

int store_debug_put_raw(struct store *s, const uint8_t author[static AM_PK_LEN], uint64_t seq,
                        const uint8_t *raw, size_t len)
{
    uint8_t key[KEY_LEN];
    MDB_val k = {KEY_LEN, key}, v = {len, (void *)raw};
    MDB_txn *txn;
    int rc = store_txn_begin(s, 0, &txn);

    if (rc != 0)
        return store_mdb_err(rc);
    entry_key(key, author, seq);
    rc = mdb_put(txn, s->entries, &k, &v, 0);
    if (rc == 0)
        return store_mdb_err(mdb_txn_commit(txn));
    mdb_txn_abort(txn);
    return store_mdb_err(rc);
}
