/*
 * branches_test.c: a cloned laptop never splits the network (PROTOCOL.md §6, issue 14).
 * Seeded random histories of signed relief ops (needs opened, updated with the "sup" the
 * writer saw, delivered; stock moves; counts with the "ctx" the writer saw) whose authors are
 * sometimes cloned: the chain parts (at seq 1 too) into 2 or 3 branches, which may part again.
 * The same entries reach several fresh stores in different orders and batches (branch by
 * branch, reversed, random, partitioned, copied from another store; repeats, entries too
 * early). Every store must hold every entry, the same logs (the design's, with its ids), the
 * same views applying every op of every branch, and reindex must equal them. An author past
 * AM_LOGS_PER_AUTHOR branches leaves the views; no fork is today's byte for byte. Seeds are
 * printed: rerun with AM_TEST_SEED=... (AM_SEED is read too).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "am_err.h"
#include "entry.h"
#include "hlc.h"
#include "relief.h"
#include "relief_node.h"
#include "store.h"
#include "testutil.h"

#define WALL    1767225600000ULL /* 2026-01-01: the stores' wall clock */
#define MAXAUTH 8
#define MAXTIPS 64
#define NCELLS  4
#define NSTORES 5
/* PROTOCOL.md 6: child log id = BLAKE2b-256(label || author || hash of its first entry),
 * the label without a NUL byte (PROTOCOL.md 1); only log_ids_* pins these bytes. */
#define LOG_LABEL     "aidmesh log v1"
#define LOG_LABEL_LEN 14

static const char *const cell_site[NCELLS] = {"hub-north", "hub-north", "clinic-2", "clinic-2"};
static const char *const cell_item[NCELLS] = {"ors-20.5", "water-5l", "ors-20.5", "water-5l"};

/* ---- a history: a tree of signed entries per author ---- */

struct bnode {
    uint8_t *raw;
    size_t len;
    uint8_t hash[AM_HASH_LEN];
    int author;
    uint64_t seq, hlc;
    long parent;   /* the node of its prev entry; -1 at seq 1 */
    long kid, sib; /* first child, next sibling (h_tree) */
    int type;      /* relief type of its op */
    long need;     /* need ops: the node of the need.open (its own index for a need.open) */
    int cell;      /* stock ops: the cell; else -1 */
    int writes_q;  /* need.open, or need.upd that writes q */
};

/* A writer: one machine holding an author's key. A clone starts as a copy of another. */
struct btip {
    int author;
    long last;              /* the node of its last entry; -1 before its first */
    int main;               /* it writes the author's main path (what others see) */
    uint64_t clock;         /* seconds after the history's start */
    uint64_t seen[MAXAUTH]; /* entries of each other author's main path it has seen */
};

struct bauthor {
    uint8_t pk[AM_PK_LEN], sk[AM_SK_LEN];
    long *main; /* nodes of its main path, by seq */
    size_t nmain, capmain;
    long root_kid; /* its first seq-1 node, then by sib (h_tree) */
    int logs;      /* logs its tree makes so far */
    int clones;    /* clone events left */
    int hidden;    /* no other writer ever sees its entries */
};

struct bhist {
    int nauth;
    struct bauthor au[MAXAUTH];
    struct bnode *nodes;
    size_t n, cap;
    struct btip tips[MAXTIPS];
    int ntips;
    unsigned seq1_forks, nested_forks; /* what the history exercised */
};

static uint64_t rnd(uint64_t *st, uint64_t n)
{
    return n ? tu_rand(st) % n : 0;
}

static struct relief_str S(const char *s) {
    struct relief_str r = {s, (uint32_t)strlen(s)};
    return r;
}

#define HAS(op, k) ((op)->has |= RELIEF_HAS(RELIEF_K_##k))

/* Room for element n of array p (cap elements so far). */
#define GROW(p, n, cap)                                                                            \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? 2 * (cap) : 64;                                                        \
            (p) = realloc((p), (cap) * sizeof *(p));                                               \
            cr_assert(p);                                                                          \
        }                                                                                          \
    } while (0)

/* The seed of one test: $AM_TEST_SEED (or $AM_SEED) as given, else from the clock, the
 * process and the test's name. Printed. */
static uint64_t
test_seed(const char *name)
{
    const char *env = getenv("AM_TEST_SEED");
    uint64_t seed;
    if (!env || !*env)
        env = getenv("AM_SEED");
    if (env && *env) {
        seed = strtoull(env, NULL, 0);
    } else {
        seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
        for (const char *p = name; *p; p++)
            seed = seed * 1099511628211ULL ^ (uint8_t)*p;
    }
    if (seed == 0)
        seed = 1;
    fprintf(stderr, "%s: seed %llu (rerun with AM_TEST_SEED=%llu)\n", name,
            (unsigned long long)seed, (unsigned long long)seed);
    return seed;
}

static void h_init(struct bhist *h, int nauth, uint64_t *st)
{
    memset(h, 0, sizeof *h);
    cr_assert(nauth <= MAXAUTH);
    h->nauth = nauth;
    for (int a = 0; a < nauth; a++) {
        uint8_t seed[AM_SEED_LEN];
        for (size_t i = 0; i < sizeof seed; i++)
            seed[i] = (uint8_t)tu_rand(st);
        crypto_sign_seed_keypair(h->au[a].pk, h->au[a].sk, seed);
        h->au[a].logs = 1;
        h->au[a].root_kid = -1;
        h->tips[h->ntips++] = (struct btip){.author = a, .last = -1, .main = 1};
    }
}

static void h_free(struct bhist *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->nodes[i].raw);
    free(h->nodes);
    for (int a = 0; a < h->nauth; a++)
        free(h->au[a].main);
}

/* Signs `op` as tip ti's next entry. */
static long h_push(struct bhist *h, int ti, const struct relief_op *op, long need, int cell)
{
    struct btip *t = &h->tips[ti];
    struct bauthor *au = &h->au[t->author];
    static const uint8_t zero[AM_HASH_LEN];
    uint8_t opb[AM_OP_MAX];
    size_t ol;
    char err[RELIEF_ERR_MAX] = "";
    struct bnode *nd;
    const struct bnode *par;
    struct entry e;

    cr_assert_eq(relief_op_encode(op, opb, sizeof opb, &ol, err, sizeof err), AM_OK, "%s", err);
    GROW(h->nodes, h->n, h->cap);
    par = t->last >= 0 ? &h->nodes[t->last] : NULL;
    nd = &h->nodes[h->n];
    memset(nd, 0, sizeof *nd);
    nd->author = t->author;
    nd->seq = par ? par->seq + 1 : 1;
    nd->parent = t->last;
    nd->kid = nd->sib = -1;
    nd->hlc = hlc_pack(WALL - 86400000ULL + t->clock * 1000, 0);
    nd->raw = malloc(AM_ENTRY_MAX);
    cr_assert(nd->raw);
    cr_assert_eq(entry_build(nd->raw, AM_ENTRY_MAX, &nd->len, au->sk, nd->seq,
                             par ? par->hash : zero, nd->hlc, opb, ol),
                 AM_OK);
    nd->raw = realloc(nd->raw, nd->len);
    cr_assert(nd->raw);
    cr_assert(entry_decode(&e, nd->raw, nd->len) == AM_OK && entry_verify(&e) == AM_OK);
    entry_hash(&e, nd->hash);
    nd->type = op->type;
    nd->need = op->type == RELIEF_T_NEED_OPEN ? (long)h->n : need;
    nd->cell = cell;
    nd->writes_q = op->type == RELIEF_T_NEED_OPEN ||
                   (op->type == RELIEF_T_NEED_UPD && (op->has & RELIEF_HAS(RELIEF_K_Q)));
    t->last = (long)h->n;
    if (t->main) {
        GROW(au->main, au->nmain, au->capmain);
        au->main[au->nmain++] = t->last;
    }
    return (long)h->n++;
}

/* The nodes tip t has seen: its own ancestry, and the seen prefix of the others' main paths.
 * The ref (author, seq) of each names it as a writer would. */
static size_t h_seen(const struct bhist *h, const struct btip *t, long *out)
{
    size_t n = 0;
    for (long i = t->last; i >= 0; i = h->nodes[i].parent)
        out[n++] = i;
    for (int b = 0; b < h->nauth; b++)
        if (b != t->author)
            for (uint64_t i = 0; i < t->seen[b]; i++)
                out[n++] = h->au[b].main[i];
    return n;
}

static void ref_of(const struct bhist *h, long node, struct relief_ref *r)
{
    memcpy(r->author, h->au[h->nodes[node].author].pk, AM_PK_LEN);
    r->seq = h->nodes[node].seq;
}

/* One entry by tip ti: a new need, an update or delivery of a need it has seen, a stock move,
 * or a count naming what it has seen. */
static void h_write(struct bhist *h, int ti, uint64_t *st)
{
    struct btip *t = &h->tips[ti];
    struct relief_op op;
    struct relief_ref refs[RELIEF_REFS_MAX];
    long *seen = malloc(2 * (h->n + 1) * sizeof *seen), *cand, need = -1;
    size_t ns, nc = 0;
    unsigned r = (unsigned)rnd(st, 100);
    int cell = -1;

    cr_assert(seen);
    ns = h_seen(h, t, seen);
    cand = seen + ns;
    for (size_t i = 0; i < ns; i++)
        if (h->nodes[seen[i]].type == RELIEF_T_NEED_OPEN)
            cand[nc++] = seen[i];
    t->clock += 1 + rnd(st, 3);
    memset(&op, 0, sizeof op);
    if (r < 20) {
        op.type = RELIEF_T_NEED_OPEN;
        op.site = S(cell_site[rnd(st, NCELLS)]);
        op.item = S(cell_item[rnd(st, NCELLS)]);
        op.q = 1 + (int64_t)rnd(st, 40);
        op.pri = 1 + (int)rnd(st, 4);
        HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
    } else if (r < 50 && nc) {
        need = cand[rnd(st, nc)];
        relief_need_id(h->nodes[need].hash, op.need);
        HAS(&op, NEED);
        if (r < 38) {
            uint32_t n = 0;
            int all = rnd(st, 10) < 7;
            op.type = RELIEF_T_NEED_UPD;
            do {
                if (rnd(st, 2))
                    op.q = 1 + (int64_t)rnd(st, 40), HAS(&op, Q);
                if (rnd(st, 2))
                    op.pri = 1 + (int)rnd(st, 4), HAS(&op, PRI);
            } while (!(op.has & (RELIEF_HAS(RELIEF_K_Q) | RELIEF_HAS(RELIEF_K_PRI))));
            for (size_t i = 0; i < ns && n < RELIEF_REFS_MAX; i++) {
                const struct bnode *x = &h->nodes[seen[i]];
                if (x->need == need &&
                    (x->type == RELIEF_T_NEED_OPEN || x->type == RELIEF_T_NEED_UPD) &&
                    (all || rnd(st, 2)))
                    ref_of(h, seen[i], &refs[n++]);
            }
            relief_refs_sort(refs, &n);
            if (n) {
                op.sup.n = n;
                op.sup.arr = refs;
                HAS(&op, SUP);
            }
        } else {
            op.type = RELIEF_T_NEED_DLV;
            op.q = 1 + (int64_t)rnd(st, 15);
            HAS(&op, Q);
        }
    } else {
        cell = (int)rnd(st, NCELLS);
        op.site = S(cell_site[cell]);
        op.item = S(cell_item[cell]);
        HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q);
        if (r < 88) {
            op.type = RELIEF_T_STOCK_MOVE;
            op.q = 1 + (int64_t)rnd(st, 30);
            op.reason = 1 + (int)rnd(st, 8);
            HAS(&op, R);
        } else {
            uint32_t n = 0;
            op.type = RELIEF_T_STOCK_COUNT;
            op.q = (int64_t)rnd(st, 100);
            for (int b = 0; b < h->nauth; b++)
                if (b != t->author && t->seen[b]) {
                    memcpy(refs[n].author, h->au[b].pk, AM_PK_LEN);
                    refs[n++].seq = t->seen[b];
                }
            relief_ctx_normalize(refs, &n);
            op.ctx.n = n;
            op.ctx.arr = refs;
            HAS(&op, CTX);
        }
    }
    h_push(h, ti, &op, need, cell);
    free(seen);
}

/* Tip ti's machine is copied: a new tip with its key, its last entry and what it has seen. */
static int h_copy_tip(struct bhist *h, int ti)
{
    cr_assert(h->ntips < MAXTIPS);
    h->tips[h->ntips] = h->tips[ti];
    h->tips[h->ntips].main = 0;
    return h->ntips++;
}

/* Tip ti is cloned into k machines that each write one entry at once: a fork of k branches
 * after its last entry (before its first: k different entries at seq 1). Each clone's clock
 * is set apart, so the k entries differ. */
static void h_clone(struct bhist *h, int ti, int k, uint64_t *st)
{
    int idx[3] = {ti, -1, -1};
    cr_assert(k >= 2 && k <= 3);
    if (h->tips[ti].last < 0)
        h->seq1_forks++;
    else if (h->au[h->tips[ti].author].logs > 1)
        h->nested_forks++;
    for (int j = 1; j < k; j++)
        idx[j] = h_copy_tip(h, ti);
    for (int j = 0; j < k; j++) {
        h->tips[idx[j]].clock += 4 * (uint64_t)j;
        h_write(h, idx[j], st);
    }
    h->au[h->tips[ti].author].logs += k;
}

/* Gossip: tip ti learns more of the others' main paths. */
static void h_gossip(struct bhist *h, int ti, uint64_t *st)
{
    struct btip *t = &h->tips[ti];
    for (int b = 0; b < h->nauth; b++)
        if (b != t->author && !h->au[b].hidden)
            t->seen[b] += rnd(st, h->au[b].nmain - t->seen[b] + 1);
}

/* A history of about `target` entries by nauth authors, each cloned with probability
 * clone_pct percent (one or two clone events, so at most 7 logs). Author `abuser` (-1: none)
 * is hidden and left without entries here (h_abuse writes them). */
static void h_gen(struct bhist *h, int nauth, size_t target, unsigned clone_pct, int abuser,
                  uint64_t *st)
{
    h_init(h, nauth, st);
    for (int a = 0; a < nauth; a++)
        if (a != abuser && rnd(st, 100) < clone_pct)
            h->au[a].clones = 1 + (int)rnd(st, 2);
    if (abuser >= 0)
        h->au[abuser].hidden = 1;
    for (int a = 0; a < nauth; a++)
        if (h->au[a].clones && rnd(st, 3) == 0) {
            h_clone(h, a, 2 + (rnd(st, 3) == 0), st);
            h->au[a].clones--;
        }
    while (h->n < target) {
        int ti = (int)rnd(st, (uint64_t)h->ntips);
        int a = h->tips[ti].author, k = 2 + (rnd(st, 4) == 0);
        struct bauthor *au = &h->au[a];
        if (a == abuser)
            continue;
        if (au->clones && rnd(st, 100) < 4 && au->logs + k <= AM_LOGS_PER_AUTHOR &&
            h->ntips + k - 1 <= MAXTIPS) {
            h_clone(h, ti, k, st);
            au->clones--;
            continue;
        }
        if (rnd(st, 100) < 30)
            h_gossip(h, ti, st);
        h_write(h, ti, st);
    }
    for (int ti = 0; ti < h->ntips; ti++)
        if (h->tips[ti].last < 0 && h->tips[ti].author != abuser)
            h_write(h, ti, st);
}

/* Author x signs `branches` branches: three different entries at seq 1, then branches that
 * part from the ends of others, each going on for a few entries. */
static void h_abuse(struct bhist *h, int x, int branches, uint64_t *st)
{
    int tips[MAXTIPS], nt = 0;
    h_clone(h, x, 3, st);
    for (int ti = 0; ti < h->ntips; ti++)
        if (h->tips[ti].author == x)
            tips[nt++] = ti;
    while (nt < branches) {
        int ti = tips[rnd(st, (uint64_t)nt)];
        for (uint64_t i = rnd(st, 3); i > 0; i--)
            h_write(h, ti, st);
        h_clone(h, ti, 2, st);
        tips[nt++] = h->ntips - 1;
    }
    for (int i = 0; i < nt; i++)
        for (uint64_t j = 1 + rnd(st, 2); j > 0; j--)
            h_write(h, tips[i], st);
}

/* Children lists, once the history is written: kid/sib of every node, root_kid of every
 * author (ascending by index). */
static void h_tree(struct bhist *h)
{
    for (size_t j = h->n; j-- > 0;) {
        struct bnode *nd = &h->nodes[j];
        long *head = nd->parent >= 0 ? &h->nodes[nd->parent].kid : &h->au[nd->author].root_kid;
        nd->sib = *head;
        *head = (long)j;
    }
}

/* ---- the logs the design names for a history (PROTOCOL.md §6) ---- */

struct mlog {
    int author;
    long first, last; /* nodes; -1 for an empty root log (the author parted at seq 1) */
    long parent;      /* index of the parent log; -1 for a root log */
    uint32_t flags;
    uint8_t id[AM_PK_LEN];
};

struct model {
    struct mlog *l;
    size_t n, cap;
    unsigned forked; /* authors with more than one log */
};

static long m_add(struct model *m)
{
    GROW(m->l, m->n, m->cap);
    memset(&m->l[m->n], 0, sizeof m->l[m->n]);
    return (long)m->n++;
}

static void log_id(const uint8_t author[static AM_PK_LEN], const uint8_t first[static AM_HASH_LEN],
                   uint8_t out[static AM_PK_LEN])
{
    uint8_t msg[LOG_LABEL_LEN + AM_PK_LEN + AM_HASH_LEN];
    memcpy(msg, LOG_LABEL, LOG_LABEL_LEN);
    memcpy(msg + LOG_LABEL_LEN, author, AM_PK_LEN);
    memcpy(msg + LOG_LABEL_LEN + AM_PK_LEN, first, AM_HASH_LEN);
    crypto_generichash(out, AM_PK_LEN, msg, sizeof msg, NULL, 0);
}

/* A log of author a: the root log (parent -1; first -1 when it parted at seq 1, so it is
 * empty) or a child of log `parent`, from node `first` on while there is one way on; then
 * the child logs where it parts. */
static void m_log(const struct bhist *h, struct model *m, int a, long parent, long first)
{
    long li = m_add(m), cur = first, kids;
    m->l[li].author = a;
    m->l[li].parent = parent;
    m->l[li].first = first;
    if (parent < 0)
        memcpy(m->l[li].id, h->au[a].pk, AM_PK_LEN);
    else
        log_id(h->au[a].pk, h->nodes[first].hash, m->l[li].id);
    while (cur >= 0 && h->nodes[cur].kid >= 0 && h->nodes[h->nodes[cur].kid].sib < 0)
        cur = h->nodes[cur].kid;
    m->l[li].last = cur;
    kids = cur >= 0 ? h->nodes[cur].kid : h->au[a].root_kid;
    if (kids >= 0)
        m->l[li].flags |= STORE_HEAD_SPLIT;
    for (long c = kids; c >= 0; c = h->nodes[c].sib)
        m_log(h, m, a, li, c);
}

/* The logs of a history (h_tree must have run). */
static void m_build(const struct bhist *h, struct model *m)
{
    memset(m, 0, sizeof *m);
    for (int a = 0; a < h->nauth; a++) {
        long r = h->au[a].root_kid;
        size_t from = m->n;
        if (r < 0)
            continue;
        m_log(h, m, a, -1, h->nodes[r].sib < 0 ? r : -1);
        if (m->n - from > 1) {
            m->forked++;
            for (size_t i = from; i < m->n; i++)
                m->l[i].flags |= STORE_HEAD_FORKED;
        }
    }
}

/* ---- stores and deliveries ---- */

struct tstore {
    const char *name;
    char *dir;
    struct store *s;
    struct store_ingest_stats tot; /* sums over every ingest (of the counts checked) */
};

static void ts_open(struct tstore *t, const char *name)
{
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dir = tu_tmpdir();
    cr_assert_eq(store_open(&t->s, t->dir, NULL), AM_OK);
}

static void ts_close(struct tstore *t)
{
    store_close(t->s);
    tu_rmrf(t->dir);
    free(t->dir);
}

/* One store_ingest: every entry lands in exactly one count. */
static void ts_ingest(struct tstore *t, const uint8_t **p, const size_t *l, size_t n)
{
    struct store_ingest_stats is = {0};
    uint64_t sum;
    cr_assert_eq(store_ingest(t->s, p, l, n, WALL, &is), AM_OK, "%s: store_ingest failed", t->name);
    sum = is.added + is.duplicate + is.forks + is.capped + is.gap + is.unlinked + is.badsig +
          is.malformed;
    cr_assert_eq(sum, n, "%s: an ingest of %zu entries counted %llu of them", t->name, n,
                 (unsigned long long)sum);
    t->tot.added += is.added;
    t->tot.forks += is.forks;
    t->tot.capped += is.capped;
    t->tot.badsig += is.badsig;
    t->tot.malformed += is.malformed;
    t->tot.invalid_ops += is.invalid_ops;
}

/* Author by author, branch by branch (depth first); rev: authors and branches the other way
 * round, so the branch one store met first is the one the other met last. */
static void keys_branches(const struct bhist *h, int rev, uint64_t *key)
{
    long *stack = malloc((h->n + 1) * sizeof *stack), kids[64];
    size_t sp = 0;
    uint64_t next = 0;
    cr_assert(stack);
    for (int ai = 0; ai < h->nauth; ai++) {
        int a = rev ? h->nauth - 1 - ai : ai;
        long first = h->au[a].root_kid;
        for (;;) {
            size_t nk = 0;
            for (long c = first; c >= 0; c = h->nodes[c].sib) {
                cr_assert(nk < 64);
                kids[nk++] = c;
            }
            /* pushed so that the first to visit is on top */
            for (size_t i = 0; i < nk; i++)
                stack[sp++] = rev ? kids[i] : kids[nk - 1 - i];
            if (!sp)
                break;
            sp--;
            key[stack[sp]] = next++;
            first = h->nodes[stack[sp]].kid;
        }
    }
    free(stack);
}

/* A partition: the branches of a random half of the leaves (with their ancestry) first, in a
 * random order, then the rest. */
static void keys_partition(const struct bhist *h, uint64_t *st, uint64_t *key)
{
    char *first = calloc(h->n + 1, 1);
    cr_assert(first);
    for (size_t i = 0; i < h->n; i++)
        if (h->nodes[i].kid < 0 && rnd(st, 2))
            for (long x = (long)i; x >= 0 && !first[x]; x = h->nodes[x].parent)
                first[x] = 1;
    for (size_t i = 0; i < h->n; i++)
        key[i] = (first[i] ? 0 : 1ULL << 40) + rnd(st, 1ULL << 32);
    free(first);
}

enum { ORD_BRANCHES, ORD_REVERSED, ORD_RANDOM, ORD_PARTITION };

/* Every node once, each after its parent (so none is refused), the next one always the ready
 * node of least key: branch by branch, reversed, at random, or partitioned. */
static void order(const struct bhist *h, int how, uint64_t *st, long *out)
{
    uint64_t *key = malloc((h->n + 1) * sizeof *key);
    char *done = calloc(h->n + 1, 1);
    cr_assert(key && done);
    if (how == ORD_BRANCHES || how == ORD_REVERSED)
        keys_branches(h, how == ORD_REVERSED, key);
    else if (how == ORD_PARTITION)
        keys_partition(h, st, key);
    else
        for (size_t i = 0; i < h->n; i++)
            key[i] = tu_rand(st);
    for (size_t k = 0; k < h->n; k++) {
        long best = -1;
        for (size_t i = 0; i < h->n; i++) {
            long par = h->nodes[i].parent;
            if (!done[i] && (par < 0 || done[par]) && (best < 0 || key[i] < key[best]))
                best = (long)i;
        }
        out[k] = best;
        done[best] = 1;
    }
    free(key);
    free(done);
}

/* Delivers nodes ord[0..n) in batches of 1..40. mess: repeats of delivered entries, entries
 * that come too early (refused, delivered again in their turn), shuffled batches. */
static void deliver(struct tstore *t, const struct bhist *h, const long *ord, size_t n, int mess,
                    uint64_t *st)
{
    const uint8_t *p[64];
    size_t l[64], i = 0;
    while (i < n) {
        size_t want = 1 + (size_t)rnd(st, 40), b = 0;
        while (b < want && i < n) {
            unsigned r = mess ? (unsigned)rnd(st, 25) : 99;
            long x;
            if (r == 0 && i > 0)
                x = ord[rnd(st, i)];
            else if (r == 1 && i + 1 < n)
                x = ord[i + 1 + rnd(st, n - i - 1)];
            else
                x = ord[i++];
            p[b] = h->nodes[x].raw;
            l[b++] = h->nodes[x].len;
        }
        for (size_t k = b; mess && k > 1; k--) {
            size_t j = (size_t)rnd(st, k);
            const uint8_t *tp = p[k - 1];
            size_t tl = l[k - 1];
            p[k - 1] = p[j], l[k - 1] = l[j];
            p[j] = tp, l[j] = tl;
        }
        ts_ingest(t, p, l, b);
    }
}

/* ---- what a store holds ---- */

struct hlist {
    uint8_t (*v)[AM_HASH_LEN];
    size_t n, cap;
};

static void hl_push(struct hlist *hl, const uint8_t hash[static AM_HASH_LEN])
{
    GROW(hl->v, hl->n, hl->cap);
    memcpy(hl->v[hl->n++], hash, AM_HASH_LEN);
}

static int hl_add_raw(void *ctx, const uint8_t *raw, size_t len)
{
    struct entry e;
    uint8_t hash[AM_HASH_LEN];
    cr_assert_eq(entry_decode(&e, raw, len), AM_OK, "a stored entry does not decode");
    entry_hash(&e, hash);
    hl_push(ctx, hash);
    return 0;
}

static int hash_cmp(const void *a, const void *b)
{
    return memcmp(a, b, AM_HASH_LEN);
}

/* The hashes of every entry of every log of the store, sorted. */
static void stored_hashes(struct store *s, struct hlist *hl)
{
    memset(hl, 0, sizeof *hl);
    cr_assert_eq(store_entries_each(s, NULL, 0, hl_add_raw, hl), AM_OK);
    if (hl->n)
        qsort(hl->v, hl->n, AM_HASH_LEN, hash_cmp);
}

static int hl_has(const struct hlist *hl, const uint8_t hash[static AM_HASH_LEN])
{
    return hl->n && bsearch(hash, hl->v, hl->n, AM_HASH_LEN, hash_cmp) != NULL;
}

/* Delivers again (in shuffled batches) the entries of authors other than `skip` that the store
 * does not hold, until it holds them all or `rounds` rounds are done. */
static void repair(struct tstore *t, const struct bhist *h, int skip, int rounds, uint64_t *st)
{
    long *miss = malloc((h->n + 1) * sizeof *miss);
    cr_assert(miss);
    for (int r = 0; r < rounds; r++) {
        struct hlist hl;
        size_t n = 0;
        stored_hashes(t->s, &hl);
        for (size_t i = 0; i < h->n; i++)
            if (h->nodes[i].author != skip && !hl_has(&hl, h->nodes[i].hash))
                miss[n++] = (long)i;
        free(hl.v);
        if (!n)
            break;
        deliver(t, h, miss, n, 1, st);
    }
    free(miss);
}

struct copy {
    uint8_t **raw;
    size_t *len, n, cap, cap2;
};

static int copy_add(void *ctx, const uint8_t *raw, size_t len)
{
    struct copy *c = ctx;
    GROW(c->len, c->n, c->cap2);
    GROW(c->raw, c->n, c->cap);
    c->raw[c->n] = tu_dup_exact(raw, len);
    c->len[c->n++] = len;
    return 0;
}

/* Store t gets the entries of store `from` as a peer would send them, log by log in log-id
 * order (a child log may come before its parent), in batches of 1..40. */
static void deliver_copy(struct tstore *t, struct store *from, uint64_t *st)
{
    struct copy c;
    size_t i = 0;
    memset(&c, 0, sizeof c);
    cr_assert_eq(store_entries_each(from, NULL, 0, copy_add, &c), AM_OK);
    while (i < c.n) {
        size_t b = 1 + (size_t)rnd(st, 40);
        if (b > c.n - i)
            b = c.n - i;
        ts_ingest(t, (const uint8_t **)c.raw + i, c.len + i, b);
        i += b;
    }
    for (i = 0; i < c.n; i++)
        free(c.raw[i]);
    free(c.raw);
    free(c.len);
}

struct rows {
    struct store_head *r;
    size_t n, cap;
};

static int rows_add(void *ctx, const struct store_head *hd)
{
    struct rows *rw = ctx;
    GROW(rw->r, rw->n, rw->cap);
    rw->r[rw->n++] = *hd;
    return 0;
}

static void rows_get(struct store *s, struct rows *rw)
{
    memset(rw, 0, sizeof *rw);
    cr_assert_eq(store_heads_each(s, rows_add, rw), AM_OK);
}

static int head_same(const struct store_head *a, const struct store_head *b)
{
    return !memcmp(a->author, b->author, AM_PK_LEN) && !memcmp(a->log, b->log, AM_PK_LEN) &&
           !memcmp(a->parent, b->parent, AM_PK_LEN) && a->first_seq == b->first_seq &&
           a->seq == b->seq && !memcmp(a->hash, b->hash, AM_HASH_LEN) && a->hlc == b->hlc &&
           a->flags == b->flags;
}

/* Rows of two stores, in log-id order (only those of authors other than `skip`). */
static int rows_equal(const struct rows *a, const struct rows *b, const uint8_t *skip)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a->n && skip && !memcmp(a->r[i].author, skip, AM_PK_LEN))
            i++;
        while (j < b->n && skip && !memcmp(b->r[j].author, skip, AM_PK_LEN))
            j++;
        if (i == a->n || j == b->n)
            return i == a->n && j == b->n;
        if (!head_same(&a->r[i], &b->r[j]))
            return 0;
        i++, j++;
    }
}

/* ---- checks ---- */

#define CHK_ENTRIES 1u /* every entry of every branch stored, each counted once */
#define CHK_LOGS    2u /* the same logs everywhere, the ones the design names */
#define CHK_VIEWS   4u /* identical views, every op of every branch applied */
#define CHK_REINDEX 8u /* reindex equals the live views */

struct run {
    const char *name;
    uint64_t seed;
    int iter;
};

/* Every failure names the test, the store, and the seed and history to run again. */
#define WHERE            "%s, store '%s' (AM_TEST_SEED=%llu, history %d): "
#define WHERE_ARGS(r, t) (r)->name, (t)->name, (unsigned long long)(r)->seed, (r)->iter
#define ULL(x)           ((unsigned long long)(x))

/* Every entry of the history (of authors other than `skip`) is in the store's logs; with
 * skip < 0, nothing else is, and each was counted added or fork exactly once. */
static void check_entries(const struct run *rn, struct tstore *t, const struct bhist *h, int skip)
{
    struct hlist hl;
    size_t want = 0, missing = 0;
    long first = -1;
    stored_hashes(t->s, &hl);
    for (size_t i = 0; i < h->n; i++)
        if (h->nodes[i].author != skip) {
            want++;
            if (!hl_has(&hl, h->nodes[i].hash) && missing++ == 0)
                first = (long)i;
        }
    cr_assert_eq(missing, 0, WHERE "lacks %zu of the %zu entries (the first: author %d seq %llu)",
                 WHERE_ARGS(rn, t), missing, want, first >= 0 ? h->nodes[first].author : -1,
                 first >= 0 ? ULL(h->nodes[first].seq) : 0ULL);
    if (skip < 0) {
        cr_assert_eq(hl.n, h->n, WHERE "lists %zu entries of %zu", WHERE_ARGS(rn, t), hl.n, h->n);
        cr_assert_eq(t->tot.added + t->tot.forks, h->n,
                     WHERE "counted %llu added and %llu forks for %zu entries", WHERE_ARGS(rn, t),
                     ULL(t->tot.added), ULL(t->tot.forks), h->n);
        cr_assert_eq(t->tot.capped + t->tot.badsig + t->tot.malformed + t->tot.invalid_ops, 0,
                     WHERE "capped %llu, badsig %llu, malformed %llu, invalid ops %llu",
                     WHERE_ARGS(rn, t), ULL(t->tot.capped), ULL(t->tot.badsig),
                     ULL(t->tot.malformed), ULL(t->tot.invalid_ops));
    }
    free(hl.v);
}

/* The store's logs are those of the model, matched by their first entry (a root log by its
 * id, the author's), whatever bytes the ids are; each log's entries are its chain. */
static void check_logs_model(const struct run *rn, struct tstore *t, const struct bhist *h,
                             const struct model *m, const struct rows *rw)
{
    static const uint8_t zero[AM_PK_LEN];
    long *match = malloc((m->n + 1) * sizeof *match);
    uint8_t *buf = malloc(AM_ENTRY_MAX);
    cr_assert(match && buf);
    for (size_t i = 0; i < m->n; i++)
        match[i] = -1;
    cr_assert_eq(rw->n, m->n, WHERE "has %zu logs, the entries make %zu", WHERE_ARGS(rn, t), rw->n,
                 m->n);
    for (size_t ri = 0; ri < rw->n; ri++) {
        const struct store_head *hd = &rw->r[ri];
        long mi = -1;
        if (!memcmp(hd->log, hd->author, AM_PK_LEN)) {
            for (size_t i = 0; i < m->n; i++)
                if (m->l[i].parent < 0 && !memcmp(h->au[m->l[i].author].pk, hd->author, AM_PK_LEN))
                    mi = (long)i;
        } else if (hd->seq >= hd->first_seq) {
            struct entry e;
            uint8_t hash[AM_HASH_LEN];
            size_t len;
            cr_assert_eq(store_entry_get(t->s, hd->log, hd->first_seq, buf, AM_ENTRY_MAX, &len),
                         AM_OK, WHERE "a log's first entry is missing", WHERE_ARGS(rn, t));
            cr_assert_eq(entry_decode(&e, buf, len), AM_OK);
            entry_hash(&e, hash);
            for (size_t i = 0; i < m->n; i++)
                if (m->l[i].first >= 0 && !memcmp(h->nodes[m->l[i].first].hash, hash, AM_HASH_LEN))
                    mi = (long)i;
        }
        cr_assert(mi >= 0 && match[mi] < 0,
                  WHERE "log %zu (seq %llu..%llu) is none of the design's, or one of them twice",
                  WHERE_ARGS(rn, t), ri, ULL(hd->first_seq), ULL(hd->seq));
        match[mi] = (long)ri;
    }
    for (size_t i = 0; i < m->n; i++) {
        const struct mlog *ml = &m->l[i];
        const struct store_head *hd = &rw->r[match[i]];
        uint64_t fs = ml->first >= 0 ? h->nodes[ml->first].seq : 1;
        uint64_t ls = ml->last >= 0 ? h->nodes[ml->last].seq : 0;
        struct hlist got;
        size_t k;
        cr_assert(!memcmp(hd->author, h->au[ml->author].pk, AM_PK_LEN));
        cr_assert(
            !memcmp(hd->parent, ml->parent >= 0 ? rw->r[match[ml->parent]].log : zero, AM_PK_LEN),
            WHERE "a log names another parent than the log it parts from", WHERE_ARGS(rn, t));
        cr_assert(hd->first_seq == fs && hd->seq == ls,
                  WHERE "a log holds seq %llu..%llu, the design %llu..%llu", WHERE_ARGS(rn, t),
                  ULL(hd->first_seq), ULL(hd->seq), ULL(fs), ULL(ls));
        if (ml->last >= 0) {
            cr_assert(!memcmp(hd->hash, h->nodes[ml->last].hash, AM_HASH_LEN));
            cr_assert_eq(hd->hlc, h->nodes[ml->last].hlc);
        } else {
            cr_assert(!memcmp(hd->hash, zero, AM_HASH_LEN));
        }
        cr_assert_eq(hd->flags, ml->flags, WHERE "a log (seq %llu..%llu) has flags %u, not %u",
                     WHERE_ARGS(rn, t), ULL(fs), ULL(ls), hd->flags, ml->flags);
        /* the log's entries are its chain, in seq order */
        memset(&got, 0, sizeof got);
        cr_assert_eq(store_entries_each(t->s, hd->log, 0, hl_add_raw, &got), AM_OK);
        cr_assert_eq(got.n, ls + 1 - fs, WHERE "a log lists %zu entries for seq %llu..%llu",
                     WHERE_ARGS(rn, t), got.n, ULL(fs), ULL(ls));
        k = got.n;
        for (long x = ml->last; k > 0 && x >= 0; x = h->nodes[x].parent)
            cr_assert(!memcmp(got.v[--k], h->nodes[x].hash, AM_HASH_LEN),
                      WHERE "a log holds another entry at seq %llu", WHERE_ARGS(rn, t),
                      ULL(h->nodes[x].seq));
        free(got.v);
    }
    free(match);
    free(buf);
}

static void need_key(const struct bhist *h, long open, struct relief_key *k)
{
    memset(k, 0, sizeof *k);
    k->kind = RELIEF_OBJ_NEED;
    relief_need_id(h->nodes[open].hash, k->need);
}

static void cell_key(int c, struct relief_key *k)
{
    memset(k, 0, sizeof *k);
    k->kind = RELIEF_OBJ_CELL;
    snprintf(k->site, sizeof k->site, "%s", cell_site[c]);
    snprintf(k->item, sizeof k->item, "%s", cell_item[c]);
}

/* Every op of every branch (of authors other than `skip`) is applied: one need per need.open
 * with all its deliveries and q writes, every move and count in its cell. */
static void check_applied(const struct run *rn, struct tstore *t, const struct bhist *h, int skip)
{
    struct store_view_stats vs;
    uint32_t moves[NCELLS] = {0}, counts[NCELLS] = {0};
    uint64_t needs = 0, cells = 0;
    cr_assert_eq(store_view_stats(t->s, &vs), AM_OK);
    cr_assert(vs.current);
    for (size_t i = 0; i < h->n; i++) {
        const struct bnode *nd = &h->nodes[i];
        if (nd->author == skip)
            continue;
        needs += nd->type == RELIEF_T_NEED_OPEN;
        moves[nd->cell < 0 ? 0 : nd->cell] += nd->type == RELIEF_T_STOCK_MOVE;
        counts[nd->cell < 0 ? 0 : nd->cell] += nd->type == RELIEF_T_STOCK_COUNT;
    }
    cr_assert_eq(vs.needs, needs, WHERE "views %llu needs, the branches opened %llu",
                 WHERE_ARGS(rn, t), ULL(vs.needs), ULL(needs));
    cr_assert_eq(vs.invalid, 0);
    for (size_t i = 0; i < h->n; i++) {
        struct relief_key k;
        struct relief_node_need nv;
        uint8_t *v;
        size_t vl;
        uint32_t dlv = 0, qw = 0;
        if (h->nodes[i].type != RELIEF_T_NEED_OPEN || h->nodes[i].author == skip)
            continue;
        for (size_t j = 0; j < h->n; j++)
            if (h->nodes[j].need == (long)i && h->nodes[j].author != skip) {
                dlv += h->nodes[j].type == RELIEF_T_NEED_DLV;
                qw += (uint32_t)h->nodes[j].writes_q;
            }
        need_key(h, (long)i, &k);
        cr_assert_eq(relief_node_view(t->s, &k, &v, &vl), AM_OK);
        cr_assert_eq(relief_node_need_parse(v, vl, &nv), AM_OK);
        cr_assert(nv.opened && nv.n_deliveries == dlv && nv.q.n_writes == qw,
                  WHERE "a need (opened %d) has %u deliveries and %u q writes, not %u and %u",
                  WHERE_ARGS(rn, t), nv.opened, nv.n_deliveries, nv.q.n_writes, dlv, qw);
        free(v);
    }
    for (int c = 0; c < NCELLS; c++) {
        struct relief_key k;
        struct relief_node_cell cv;
        uint8_t *v;
        size_t vl;
        int rc;
        cell_key(c, &k);
        rc = relief_node_view(t->s, &k, &v, &vl);
        if (!moves[c] && !counts[c]) {
            cr_assert_eq(rc, AM_ENOTFOUND);
            continue;
        }
        cells++;
        cr_assert_eq(rc, AM_OK);
        cr_assert_eq(relief_node_cell_parse(v, vl, &cv), AM_OK);
        cr_assert(cv.n_moves == moves[c] && cv.n_counts == counts[c],
                  WHERE "cell %d has %u moves and %u counts, not %u and %u", WHERE_ARGS(rn, t), c,
                  cv.n_moves, cv.n_counts, moves[c], counts[c]);
        free(v);
    }
    cr_assert_eq(vs.cells, cells);
}

/* The views of t equal the reference's, byte for byte, and so do the fingerprints (also the
 * one recomputed from every view). */
static void check_same_views(const struct run *rn, struct tstore *t, struct tstore *ref)
{
    uint8_t d[AM_HASH_LEN], dref[AM_HASH_LEN], fp[STORE_VIEW_FP_LEN];
    struct store_view_stats vs, vref;
    cr_assert_eq(store_views_digest(t->s, d), AM_OK);
    cr_assert_eq(store_views_digest(ref->s, dref), AM_OK);
    cr_assert(!memcmp(d, dref, AM_HASH_LEN), WHERE "views differ from those of store '%s'",
              WHERE_ARGS(rn, t), ref->name);
    cr_assert_eq(store_view_stats(t->s, &vs), AM_OK);
    cr_assert_eq(store_view_stats(ref->s, &vref), AM_OK);
    cr_assert(!memcmp(vs.fingerprint, vref.fingerprint, STORE_VIEW_FP_LEN),
              WHERE "the fingerprint differs from that of store '%s'", WHERE_ARGS(rn, t),
              ref->name);
    cr_assert_eq(store_view_fingerprint_scan(t->s, fp), AM_OK);
    cr_assert(!memcmp(fp, vs.fingerprint, STORE_VIEW_FP_LEN));
}

static void check_reindex(const struct run *rn, struct tstore *t, uint64_t entries)
{
    uint8_t before[AM_HASH_LEN], after[AM_HASH_LEN];
    struct store_reindex_stats rs;
    cr_assert_eq(store_views_digest(t->s, before), AM_OK);
    cr_assert_eq(store_reindex(t->s, &rs), AM_OK);
    cr_assert_eq(store_views_digest(t->s, after), AM_OK);
    cr_assert(!memcmp(before, after, AM_HASH_LEN), WHERE "reindex gives other views than live",
              WHERE_ARGS(rn, t));
    if (entries)
        cr_assert_eq(rs.entries, entries);
    cr_assert_eq(rs.invalid + rs.undecodable, 0);
}

static const char *const store_names[NSTORES] = {"branch by branch", "branches reversed", "random",
                                                 "partitioned", "copied"};

/* Delivers h to the NSTORES stores of ts (opened here) in their ways, then re-delivers what
 * each lacks (a few rounds). */
static void deliver_all(struct tstore *ts, const struct bhist *h, uint64_t *st)
{
    long *ord = malloc((h->n + 1) * sizeof *ord);
    cr_assert(ord);
    /* stores 0..3: ORD_BRANCHES (in plain batches), ORD_REVERSED, ORD_RANDOM, ORD_PARTITION */
    for (int k = 0; k < 4; k++) {
        ts_open(&ts[k], store_names[k]);
        order(h, k, st, ord);
        deliver(&ts[k], h, ord, h->n, k > 0, st);
        repair(&ts[k], h, -1, 4, st);
    }
    ts_open(&ts[4], store_names[4]);
    deliver_copy(&ts[4], ts[2].s, st);
    repair(&ts[4], h, -1, 4, st);
    free(ord);
}

static void run_property(const char *name, int iters, unsigned clone_pct, unsigned checks)
{
    struct run rn = {name, test_seed(name), 0};
    uint64_t st = rn.seed;
    unsigned forked = 0, seq1 = 0, nested = 0, logs = 0;
    size_t entries = 0;

    for (rn.iter = 0; rn.iter < iters; rn.iter++) {
        struct bhist h;
        struct model m;
        struct tstore ts[NSTORES];
        struct rows rw0;
        int nauth = 3 + (int)rnd(&st, 4);

        h_gen(&h, nauth, 40 + (size_t)rnd(&st, 200), clone_pct, -1, &st);
        h_tree(&h);
        m_build(&h, &m);
        forked += m.forked;
        seq1 += h.seq1_forks;
        nested += h.nested_forks;
        logs += (unsigned)m.n;
        entries += h.n;
        deliver_all(ts, &h, &st);
        rows_get(ts[0].s, &rw0);

        for (int k = 0; k < NSTORES; k++) {
            struct tstore *t = &ts[k];
            if (checks & CHK_ENTRIES)
                check_entries(&rn, t, &h, -1);
            if (checks & CHK_LOGS) {
                struct rows rw;
                struct store_stats ss;
                rows_get(t->s, &rw);
                cr_assert(rows_equal(&rw, &rw0, NULL),
                          WHERE "has other logs (%zu) than store '%s' (%zu)", WHERE_ARGS(&rn, t),
                          rw.n, ts[0].name, rw0.n);
                check_logs_model(&rn, t, &h, &m, &rw);
                cr_assert_eq(store_stats(t->s, &ss), AM_OK);
                cr_assert(ss.authors == (uint64_t)nauth && ss.logs == m.n && ss.entries == h.n &&
                              ss.forks == 0 && ss.forked == m.forked && ss.abusive == 0,
                          WHERE "counts %llu authors, %llu logs, %llu entries, %llu evidence, "
                                "%llu forked, %llu abusive, not %d, %zu, %zu, 0, %u, 0",
                          WHERE_ARGS(&rn, t), ULL(ss.authors), ULL(ss.logs), ULL(ss.entries),
                          ULL(ss.forks), ULL(ss.forked), ULL(ss.abusive), nauth, m.n, h.n,
                          m.forked);
                free(rw.r);
            }
            if (checks & CHK_VIEWS) {
                if (k > 0)
                    check_same_views(&rn, t, &ts[0]);
                check_applied(&rn, t, &h, -1);
            }
        }
        if (checks & CHK_REINDEX) {
            check_reindex(&rn, &ts[2], h.n);
            check_reindex(&rn, &ts[4], h.n);
            check_same_views(&rn, &ts[2], &ts[4]);
        }
        free(rw0.r);
        for (int k = 0; k < NSTORES; k++)
            ts_close(&ts[k]);
        free(m.l);
        h_free(&h);
    }
    cr_log_info("%s: %d histories, %zu entries, %u logs, %u forked authors, %u forks at seq 1, "
                "%u branches parting again",
                name, iters, entries, logs, forked, seq1, nested);
    if (clone_pct)
        cr_assert(forked && seq1 && nested,
                  "%s: the histories never forked (%u), at seq 1 (%u) or again (%u); "
                  "AM_TEST_SEED=%llu",
                  name, forked, seq1, nested, ULL(rn.seed));
    else
        cr_assert_eq(forked, 0);
}

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
}

TestSuite(branches, .init = setup, .timeout = 300);

Test(branches, every_store_keeps_every_entry_of_every_branch)
{
    run_property("branches.entries", 20, 60, CHK_ENTRIES);
}

Test(branches, every_store_makes_the_same_logs_the_design_names)
{
    run_property("branches.logs", 20, 60, CHK_LOGS);
}

Test(branches, views_are_identical_and_apply_every_branch)
{
    run_property("branches.views", 20, 60, CHK_VIEWS);
}

Test(branches, reindex_equals_live_views)
{
    run_property("branches.reindex", 10, 60, CHK_REINDEX);
}

/* Without a fork: one log per author, its root log, named by the author, with no parent and
 * no flags (the model has nothing else to match), and everything else as above: today's. */
Test(branches, history_without_forks_is_todays)
{
    run_property("branches.nofork", 10, 0, CHK_ENTRIES | CHK_LOGS | CHK_VIEWS | CHK_REINDEX);
}

/* ---- an author past the cap ---- */

/* Rows of author pk; *with_flags: those carrying all of `flags`. */
static int count_rows_of(const struct rows *rw, const uint8_t pk[static AM_PK_LEN], uint32_t flags,
                         size_t *with_flags)
{
    int n = 0;
    *with_flags = 0;
    for (size_t i = 0; i < rw->n; i++)
        if (!memcmp(rw->r[i].author, pk, AM_PK_LEN)) {
            n++;
            *with_flags += (rw->r[i].flags & flags) == flags;
        }
    return n;
}

/* An author that signs 12 branches (three at seq 1, the rest parting later): every store keeps
 * at most AM_LOGS_PER_AUTHOR logs of it, all marked abusive, the same ones whatever the
 * arrival, and its ops leave the views: they equal those of a store that never got its
 * entries. The others never see its entries. */
Test(branches, author_past_the_cap_leaves_the_views_everywhere)
{
    struct run rn = {"branches.cap", test_seed("branches.cap"), 0};
    uint64_t st = rn.seed, capped = 0;

    for (rn.iter = 0; rn.iter < 6; rn.iter++) {
        struct bhist h;
        struct tstore ts[4], *only = &ts[3];
        struct rows rw0, rwo;
        int nauth = 3 + (int)rnd(&st, 3), x = nauth - 1;
        long *ord, *others;
        size_t nothers = 0;

        h_gen(&h, nauth, 40 + (size_t)rnd(&st, 120), 40, x, &st);
        h_abuse(&h, x, 12, &st);
        h_tree(&h);
        ord = malloc((h.n + 1) * sizeof *ord);
        others = malloc((h.n + 1) * sizeof *others);
        cr_assert(ord && others);
        ts_open(&ts[0], "branch by branch");
        ts_open(&ts[1], "branches reversed");
        ts_open(&ts[2], "random");
        ts_open(only, "without the abusive author");
        /* ORD_BRANCHES, ORD_REVERSED, ORD_RANDOM; then everything again, twice, at random */
        for (int k = 0; k < 3; k++)
            for (int again = 0; again < 3; again++) {
                order(&h, again ? ORD_RANDOM : k, &st, ord);
                deliver(&ts[k], &h, ord, h.n, k > 0 || again, &st);
            }
        order(&h, ORD_BRANCHES, &st, ord);
        for (size_t i = 0; i < h.n; i++)
            if (h.nodes[ord[i]].author != x)
                others[nothers++] = ord[i];
        deliver(only, &h, others, nothers, 0, &st);
        repair(only, &h, x, 4, &st);
        check_applied(&rn, only, &h, x);
        rows_get(ts[0].s, &rw0);
        rows_get(only->s, &rwo);

        for (int k = 0; k < 3; k++) {
            struct tstore *t = &ts[k];
            struct rows rw;
            struct store_stats ss;
            size_t flagged;
            int nx;
            check_entries(&rn, t, &h, x);
            rows_get(t->s, &rw);
            nx = count_rows_of(&rw, h.au[x].pk, STORE_HEAD_ABUSIVE | STORE_HEAD_FORKED, &flagged);
            cr_assert(nx >= 1 && nx <= AM_LOGS_PER_AUTHOR && flagged == (size_t)nx,
                      WHERE "keeps %d logs of an author with 12 branches, %zu marked abusive",
                      WHERE_ARGS(&rn, t), nx, flagged);
            for (int a = 0; a < x; a++) {
                count_rows_of(&rw, h.au[a].pk, STORE_HEAD_ABUSIVE, &flagged);
                cr_assert_eq(flagged, 0, WHERE "an author within the cap is marked abusive",
                             WHERE_ARGS(&rn, t));
            }
            cr_assert(rows_equal(&rw, &rwo, h.au[x].pk),
                      WHERE "the other authors' logs differ from those of store '%s'",
                      WHERE_ARGS(&rn, t), only->name);
            /* Which branches a node keeps past the cap depends on what reached it first
             * (PROTOCOL.md 6); what must not is the views, which leave the author out. */
            cr_assert_eq(store_stats(t->s, &ss), AM_OK);
            cr_assert_eq(ss.abusive, 1, WHERE "counts %llu abusive authors", WHERE_ARGS(&rn, t),
                         ULL(ss.abusive));
            check_same_views(&rn, t, only);
            capped += t->tot.capped;
            free(rw.r);
        }
        check_applied(&rn, &ts[0], &h, x);
        check_reindex(&rn, &ts[1], 0);
        check_same_views(&rn, &ts[1], only);
        free(rw0.r);
        free(rwo.r);
        for (int k = 0; k < 4; k++)
            ts_close(&ts[k]);
        free(ord);
        free(others);
        h_free(&h);
    }
    cr_assert(capped > 0, "%s: no store counted a capped branch; AM_TEST_SEED=%llu", rn.name,
              ULL(rn.seed));
}

/* ---- small fixed histories ---- */

/* Delivers the given nodes, one batch each. */
static void deliver_nodes(struct tstore *t, const struct bhist *h, const long *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ts_ingest(t, (const uint8_t **)&h->nodes[nodes[i]].raw, &h->nodes[nodes[i]].len, 1);
}

/* A and B fork: A's chain parts after seq 3 into X and Y (4..5), X parts again after seq 5
 * into two logs of one entry; B parts at seq 1. The logs are the design's, with its ids: A's
 * root log keeps 1..3, the children are named by BLAKE2b("aidmesh log v1" || author ||
 * first entry's hash); B's root log is empty. Until the second branch arrives the first one
 * stays in the root log; then it moves. */
Test(branches, log_ids_and_splits_follow_the_design)
{
    uint64_t st = 42;
    struct bhist h;
    struct model m;
    struct tstore t1, t2;
    struct rows r1, r2;
    struct store_head hd;
    struct run rn = {"branches.log_ids", 42, 0};
    long *ord, a4x = -1;
    int ty, tx2, tb2;
    uint8_t buf[AM_ENTRY_MAX];
    size_t len;

    h_init(&h, 2, &st);
    for (int i = 0; i < 3; i++)
        h_write(&h, 0, &st);
    ty = h_copy_tip(&h, 0);
    h.tips[ty].clock += 10;
    a4x = (long)h.n;
    h_write(&h, 0, &st);
    h_write(&h, 0, &st);
    h_write(&h, ty, &st);
    h_write(&h, ty, &st);
    tx2 = h_copy_tip(&h, 0);
    h.tips[tx2].clock += 10;
    h_write(&h, 0, &st);
    h_write(&h, tx2, &st);
    tb2 = h_copy_tip(&h, 1);
    h.tips[tb2].clock += 10;
    h_write(&h, 1, &st);
    h_write(&h, 1, &st);
    h_write(&h, tb2, &st);
    h_tree(&h);
    m_build(&h, &m);
    cr_assert_eq(m.n, 8);
    cr_assert_eq(m.forked, 2);

    /* A's main path (root log 1..6) before any other branch: one log, as today */
    ts_open(&t1, "main path first");
    ord = malloc((h.n + 1) * sizeof *ord);
    cr_assert(ord);
    deliver_nodes(&t1, &h, h.au[0].main, h.au[0].nmain);
    cr_assert_eq(store_head_get(t1.s, h.au[0].pk, &hd), AM_OK);
    cr_assert(hd.seq == 6 && hd.first_seq == 1 && hd.flags == 0 &&
              !memcmp(hd.log, h.au[0].pk, AM_PK_LEN));
    cr_assert_eq(store_entry_get(t1.s, h.au[0].pk, 4, buf, sizeof buf, &len), AM_OK);

    /* then everything */
    order(&h, ORD_BRANCHES, &st, ord);
    deliver_nodes(&t1, &h, ord, h.n);
    for (size_t i = 0; i < m.n; i++) {
        const struct mlog *ml = &m.l[i];
        char hex[65];
        entry_id_hex(ml->id, hex);
        cr_assert_eq(store_head_get(t1.s, ml->id, &hd), AM_OK,
                     "no log %s (author %d, first seq %llu): the ids are not BLAKE2b-256(\"%s\" "
                     "|| parent || first hash)",
                     hex, ml->author,
                     ml->first >= 0 ? (unsigned long long)h.nodes[ml->first].seq : 1ULL, LOG_LABEL);
        cr_assert(ml->parent < 0 || !memcmp(hd.parent, m.l[ml->parent].id, AM_PK_LEN));
    }
    rows_get(t1.s, &r1);
    check_logs_model(&rn, &t1, &h, &m, &r1);
    /* A's entry at seq 4 moved from the root log into X's */
    cr_assert_eq(store_entry_get(t1.s, h.au[0].pk, 4, buf, sizeof buf, &len), AM_ENOTFOUND);
    for (size_t i = 0; i < m.n; i++)
        if (m.l[i].first == a4x) {
            cr_assert_eq(store_entry_get(t1.s, m.l[i].id, 4, buf, sizeof buf, &len), AM_OK);
            cr_assert(len == h.nodes[a4x].len && !memcmp(buf, h.nodes[a4x].raw, len));
        }
    /* B's root log is empty: first seq 1, seq 0, no hash */
    cr_assert_eq(store_head_get(t1.s, h.au[1].pk, &hd), AM_OK);
    cr_assert(hd.first_seq == 1 && hd.seq == 0 &&
              hd.flags == (STORE_HEAD_FORKED | STORE_HEAD_SPLIT));

    /* the other way round: the same logs */
    ts_open(&t2, "branches reversed");
    order(&h, ORD_REVERSED, &st, ord);
    deliver_nodes(&t2, &h, ord, h.n);
    rows_get(t2.s, &r2);
    cr_assert(rows_equal(&r1, &r2, NULL));
    check_same_views(&rn, &t2, &t1);
    check_applied(&rn, &t2, &h, -1);

    free(r1.r);
    free(r2.r);
    ts_close(&t1);
    ts_close(&t2);
    free(ord);
    free(m.l);
    h_free(&h);
}

/* Tip ti writes need.upd q on the need opened at node `open`, superseding (author, seq). */
static long upd_q(struct bhist *h, int ti, long open, int64_t q, int author, uint64_t seq)
{
    struct relief_op op;
    struct relief_ref ref;
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_UPD;
    relief_need_id(h->nodes[open].hash, op.need);
    op.q = q;
    memcpy(ref.author, h->au[author].pk, AM_PK_LEN);
    ref.seq = seq;
    op.sup.n = 1;
    op.sup.arr = &ref;
    HAS(&op, NEED), HAS(&op, Q), HAS(&op, SUP);
    h->tips[ti].clock += 2;
    return h_push(h, ti, &op, open, -1);
}

/* The id of the log whose first entry has `hash`. */
static void log_starting_with(struct store *s, const uint8_t hash[static AM_HASH_LEN],
                              uint8_t id[static AM_PK_LEN])
{
    struct rows rw;
    uint8_t buf[AM_ENTRY_MAX];
    int found = 0;
    rows_get(s, &rw);
    for (size_t i = 0; i < rw.n && !found; i++) {
        struct entry e;
        uint8_t hh[AM_HASH_LEN];
        size_t len;
        if (rw.r[i].seq < rw.r[i].first_seq ||
            store_entry_get(s, rw.r[i].log, rw.r[i].first_seq, buf, sizeof buf, &len) != AM_OK)
            continue;
        cr_assert_eq(entry_decode(&e, buf, len), AM_OK);
        entry_hash(&e, hh);
        if (!memcmp(hh, hash, AM_HASH_LEN)) {
            memcpy(id, rw.r[i].log, AM_PK_LEN);
            found = 1;
        }
    }
    free(rw.r);
    cr_assert(found, "no log starts with the entry");
}

static void need_q(struct store *s, const struct bhist *h, long open, struct relief_node_need *nv,
                   uint8_t **v)
{
    struct relief_key k;
    size_t vl;
    need_key(h, open, &k);
    cr_assert_eq(relief_node_view(s, &k, v, &vl), AM_OK);
    cr_assert_eq(relief_node_need_parse(*v, vl, nv), AM_OK);
}

/*
 * PROTOCOL.md §10.8.5. A opens a need (seq 1) and sets q (2), then parts: X sets q at 3 and 4
 * (superseding its own 3), Y sets q at 3 (superseding 2). C saw X up to 4 and supersedes
 * (A, 4). Rule 1: A's refs follow A's own branch, so X's (A, 3) is X's entry, not Y's. Rule
 * 2: C's (A, 4) lies past the split of A's root log (1..2), so it resolves to (A, 2): X's 4
 * and Y's 3 stay heads beside C's write. A store that has not met Y yet sees C's write
 * alone.
 */
Test(branches, refs_resolve_along_own_branch_and_before_a_split)
{
    uint64_t st = 7;
    struct bhist h;
    struct relief_op op;
    struct tstore t1, t2;
    struct relief_node_need nv;
    struct relief_ref got[8], want[3];
    struct run rn = {"branches.refs", 7, 0};
    uint32_t n = 0, nw = 3;
    uint8_t *v;
    long a1, a2, a3x, a4x, a3y, c1;
    int ty;

    h_init(&h, 2, &st);
    memset(&op, 0, sizeof op);
    op.type = RELIEF_T_NEED_OPEN;
    op.site = S("hub-north");
    op.item = S("ors-20.5");
    op.q = 10;
    op.pri = RELIEF_PRI_NORMAL;
    HAS(&op, SITE), HAS(&op, ITEM), HAS(&op, Q), HAS(&op, PRI);
    a1 = h_push(&h, 0, &op, -1, -1);
    a2 = upd_q(&h, 0, a1, 20, 0, 1);
    ty = h_copy_tip(&h, 0);
    h.tips[ty].clock += 10;
    a3x = upd_q(&h, 0, a1, 30, 0, 2);
    a4x = upd_q(&h, 0, a1, 40, 0, 3);
    a3y = upd_q(&h, ty, a1, 31, 0, 2);
    c1 = upd_q(&h, 1, a1, 50, 0, 4);

    ts_open(&t1, "X then Y");
    deliver_nodes(&t1, &h, (long[]){a1, a2, a3x, a4x, c1}, 5);
    need_q(t1.s, &h, a1, &nv, &v);
    cr_assert(nv.q.n_writes == 5 && nv.q.n_heads == 1, "before Y: %u writes, %u heads",
              nv.q.n_writes, nv.q.n_heads);
    cr_assert(!memcmp(nv.q.win_ref.author, h.au[1].pk, AM_PK_LEN) && nv.q.win_ref.seq == 1);
    free(v);

    deliver_nodes(&t1, &h, &a3y, 1);
    need_q(t1.s, &h, a1, &nv, &v);
    cr_assert(nv.q.n_writes == 6 && nv.q.n_heads == 3,
              "after Y: %u writes, %u heads (want 6 and 3: C's, X's seq 4, Y's seq 3)",
              nv.q.n_writes, nv.q.n_heads);
    cr_assert_eq(relief_node_reg_refs(&nv.q, got, 8, &n), AM_OK);
    relief_refs_sort(got, &n);
    memcpy(want[0].author, h.au[1].pk, AM_PK_LEN);
    want[0].seq = 1;
    log_starting_with(t1.s, h.nodes[a3x].hash, want[1].author);
    want[1].seq = 4;
    log_starting_with(t1.s, h.nodes[a3y].hash, want[2].author);
    want[2].seq = 3;
    relief_refs_sort(want, &nw);
    cr_assert_eq(n, 3);
    for (uint32_t i = 0; i < 3; i++)
        cr_assert(!memcmp(got[i].author, want[i].author, AM_PK_LEN) && got[i].seq == want[i].seq,
                  "the heads are not named by (log id, seq)");
    free(v);

    /* C's write first, Y before X: the same views */
    ts_open(&t2, "C first, Y then X");
    deliver_nodes(&t2, &h, (long[]){c1, a1, a2, a3y, a3x, a4x}, 6);
    check_same_views(&rn, &t2, &t1);
    check_reindex(&rn, &t2, 6);
    check_same_views(&rn, &t2, &t1);

    ts_close(&t1);
    ts_close(&t2);
    h_free(&h);
}
