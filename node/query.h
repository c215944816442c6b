/*
 * query.h: the read model of the relief views: what every screen shows (the hub dashboard,
 * the report, every CLI list and show command, the HXL export, the stick's order of
 * authors) comes from here as typed rows, filtered and sorted here and nowhere else.
 *
 * A struct query holds one store snapshot (store.h, "Read snapshots"): every row of every
 * call made through it shows the same moment, whatever writes land meanwhile. Rows point
 * into the snapshot and into arrays the query owns: they stay valid until query_close.
 * Hold a query for one page or one command, not longer.
 *
 * One order for needs everywhere (PROTOCOL.md §10.9, "Listing order"): priority (critical
 * first; a need whose priority has not arrived last), then needed-by day (soonest first,
 * none last), then age (the need.open's HLC, oldest first), then id.
 *
 * Never prints, never writes. Not shared between threads.
 */
#ifndef AM_QUERY_H
#define AM_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "relief.h"
#include "relief_node.h"
#include "store.h"

/* A lot is "expiring" when its expiry day is at most this many days after today. */
#define QUERY_EXPIRING_DAYS 30

struct query;

/* Opens a query on a snapshot of `s` taken now. now_ms (milliseconds since the epoch; 0:
 * the wall clock) is the query's clock: what "today", "late", "expired" and "expiring"
 * count from. Returns AM_OK, AM_ENOMEM, or a store error. */
int query_open(struct store *s, uint64_t now_ms, struct query **out);
/* Ends the snapshot and frees every row handed out (NULL: nothing). */
void query_close(struct query *q);
/* The query's day (days since the epoch) and clock. */
uint32_t query_today(const struct query *q);
uint64_t query_now_ms(const struct query *q);
/* The snapshot, for a reader that needs a store read this header does not offer. */
struct store_snap *query_snap(struct query *q);

/* ---- needs ---- */

struct query_need_filter {
    const char *site;      /* NULL: any site */
    const char *item;      /* NULL: any item */
    int status;            /* enum relief_status; 0: any */
    int priority;          /* enum relief_priority; 0: any */
    const uint8_t *author; /* NULL: any; else only needs whose need.open this author wrote */
    const char *text;      /* NULL or "": any; else a need whose note, site or item holds it
                              (ASCII letters match either case) */
};

struct query_need {
    struct relief_node_need v; /* the view; its text points into the snapshot */
    unsigned digits;           /* hex digits that tell it apart from every other need here */
    int pri;                   /* enum relief_priority; 0: its priority has not arrived */
    uint32_t by;               /* needed-by day; 0: none */
    int64_t q;                 /* quantity asked (0 until it arrives) */
    int conflict;              /* a field holds concurrent values (relief_node_need_conflict) */
    int late;                  /* open, and its needed-by day is before today */
    int forked;                /* an author of one of its ops is forked (query_forks) */
    /* Checks that catch slips (never refused, only flagged): */
    int over;    /* more was delivered than asked (delivered > q) */
    int by_past; /* its needed-by day was already past when it was set (the by register's
                    winner was written on a later day than the day it names) */
    int dup;     /* open, and another open need for the same site and item was opened less
                    than a day (by need.open HLC) before it: dup_of is that need's id */
    uint8_t dup_of[RELIEF_ID_LEN];
};

/* How close two open needs for one site and item must be opened to be flagged dup. */
#define QUERY_DUP_MS 86400000ULL

/* The needs that match f (NULL: every need), in the one order. *rows (owned by q) holds *n
 * rows. The dup flag compares each open need with every open need of its site and item,
 * whether or not f lists it. Returns AM_OK, AM_ENOMEM, AM_ECORRUPT, or a store error. */
int query_needs(struct query *q, const struct query_need_filter *f, const struct query_need **rows,
                size_t *n);

/* A page of needs: the first `limit` (at most QUERY_PAGE_MAX) of what query_needs would
 * return for f, the same rows in the same order, and *total, how many it would return.
 * With a status, and no text or author in f, only the rows returned are read (an index
 * gives the order, the site and the item of every need); otherwise as query_needs. */
#define QUERY_PAGE_MAX 10000
int query_needs_page(struct query *q, const struct query_need_filter *f, size_t limit,
                     const struct query_need **rows, size_t *n, size_t *total);

/* Need `id`. Returns AM_OK (*row owned by q), AM_ENOTFOUND, or an error. */
int query_need(struct query *q, const uint8_t id[static RELIEF_ID_LEN],
               const struct query_need **row);

/* The need whose hex id begins with `hex` (store_need_find's rules). */
int query_need_find(struct query *q, const char *hex, uint8_t id[static RELIEF_ID_LEN],
                    unsigned *matches);

/* The one order, for callers that merge rows of several queries: <0, 0, >0. */
int query_need_cmp(const struct query_need *a, const struct query_need *b);

/* ---- stock cells ---- */

enum {
    QUERY_CELL_OVERDRAWN = 1u << 0, /* more issued than was known to be there */
    QUERY_CELL_CONFLICT = 1u << 1,  /* counts taken without seeing each other */
    QUERY_CELL_EXPIRED = 1u << 2,   /* expiry day today or before */
    QUERY_CELL_EXPIRING = 1u << 3,  /* expiry within QUERY_EXPIRING_DAYS (not expired) */
    QUERY_CELL_CHECK = 1u << 4,     /* moves that a count may not have included (n_audit) */
    QUERY_CELL_SATURATED = 1u << 5, /* the value hit the quantity limit */
    QUERY_CELL_BELOW_MIN = 1u << 6, /* the site holds less of the item (every lot) than its
                                       minimum level (stock.min) */
};

struct query_cell_filter {
    const char *site; /* NULL: any */
    const char *item; /* NULL: any */
    unsigned flags;   /* 0: any; else only cells with at least one of these flags */
    int nonzero;      /* only cells whose stock is not 0, or that are overdrawn, hold a
                         count conflict or moves to check (an empty lot is left out) */
};

struct query_cell {
    struct relief_node_cell v; /* the view; pointers into the snapshot */
    unsigned flags;            /* QUERY_CELL_* */
    int64_t days_left;         /* expiry day minus today (when v.exp) */
    int forked;                /* an author of one of its ops is forked (query_forks) */
    int64_t held;              /* the site's stock of the item over all its lots */
    int64_t min;               /* the site's minimum level of the item; 0: none */
};

/* The cells that match f (NULL: every cell), by site, item, lot (each alphabetical), then
 * expiry. */
int query_cells(struct query *q, const struct query_cell_filter *f, const struct query_cell **rows,
                size_t *n);

/* First expiry, first out (PROTOCOL.md §10.11): the lots an outgoing movement of `qty` base
 * units of `item` at `site` takes from, as this node sees them. Lots with stock above 0, the
 * soonest expiry first, lots without expiry after them, then by lot code; for reason
 * RELIEF_R_EXPIRED only lots expired today or before, for any other reason only lots not
 * expired. out[0..*n) (at most cap) gets each lot's share; *short_by what no lot could give
 * (0 when the stock sufficed). Returns AM_OK or a store error. */
struct query_take {
    char lot[RELIEF_SLUG_MAX + 1];
    uint32_t exp;
    int64_t qty; /* taken from it */
    int64_t had; /* its stock before */
};
int query_fefo(struct query *q, const char *site, const char *item, int reason, int64_t qty,
               struct query_take *out, size_t cap, size_t *n, int64_t *short_by);

/* One cell. Returns AM_OK, AM_ENOTFOUND, or an error. */
int query_cell(struct query *q, const char *site, const char *item, const char *lot, uint32_t exp,
               const struct query_cell **row);

/* ---- minimum levels and totals (PROTOCOL.md 10.7, "stock.min") ---- */

/* One item at one site: what its cells hold together, and its minimum level. */
struct query_level {
    char site[RELIEF_SLUG_MAX + 1], item[RELIEF_SLUG_MAX + 1];
    int64_t held;               /* the sum of its cells' values, every lot (clamped to int64) */
    uint32_t n_cells;           /* its stock cells */
    int64_t min;                /* its minimum level; 0: none (never set, or set to 0) */
    struct relief_node_reg reg; /* the minimum's register (n_heads 0: never set) */
    int below;                  /* a minimum is set (min > 0) and held < min */
    int overdrawn;              /* one of its cells is overdrawn */
    int expiring;               /* a lot that holds stock expires within QUERY_EXPIRING_DAYS */
    int expired;                /* a lot that holds stock has expired (today or before) */
    int saturated;              /* a cell or the sum hit the quantity limit */
};

/* Every (site, item) that has stock cells or a minimum level, by site then item; site and
 * item (NULL: any) narrow it. *rows (owned by q) holds *n rows. Returns AM_OK, AM_ENOMEM,
 * AM_ECORRUPT, or a store error. */
int query_levels(struct query *q, const char *site, const char *item,
                 const struct query_level **rows, size_t *n);
/* One (site, item): AM_OK with *row (owned by q), AM_ENOTFOUND when it has neither cells nor
 * a minimum, or an error as above. */
int query_level(struct query *q, const char *site, const char *item,
                const struct query_level **row);

/* The (site, item) pairs of `site` and `item` (NULL: any) that hold less than their minimum
 * level, by site then item: query_levels' rows with `below`, read pair by pair from the
 * minimum levels (quick when few are set). Returns as query_levels. */
int query_below_min(struct query *q, const char *site, const char *item,
                    const struct query_level **rows, size_t *n);

/* One item across every site. */
struct query_total {
    char item[RELIEF_SLUG_MAX + 1];
    int64_t held;       /* the sum over its sites (clamped to int64) */
    uint32_t sites;     /* sites with stock cells or a minimum of it */
    uint32_t below_min; /* sites that hold less than their minimum */
    uint32_t overdrawn; /* sites with an overdrawn cell of it */
    uint32_t expiring;  /* sites with a lot of it that holds stock and expires within 30 days */
    uint32_t expired;   /* sites with a lot of it that holds stock and has expired */
    int saturated;
};

/* Every item that some site holds or keeps a minimum of (item: only that one), by code.
 * *rows (owned by q) holds *n rows. Returns as query_levels. */
int query_totals(struct query *q, const char *item, const struct query_total **rows, size_t *n);

/* ---- shipments (PROTOCOL.md 10.4, 10.8.6; node/query_ship.c) ---- */

/* A line of a shipment op, copied out. */
struct query_ship_line {
    char item[RELIEF_SLUG_MAX + 1];
    char lot[RELIEF_SLUG_MAX + 1]; /* "" no lot */
    uint32_t exp;                  /* 0 none */
    int64_t q;
    int has_need;
    uint8_t need[RELIEF_ID_LEN];
};

/* One op of a shipment as its view holds it: the creation, the dispatch and the receipt
 * that count, the first cancel. Text points into the snapshot; ln into q. */
struct query_ship_step {
    int present;
    struct relief_ref ref;
    uint64_t hlc;
    char site[RELIEF_SLUG_MAX + 1]; /* where it leaves (creation, dispatch), arrives (receipt) */
    uint32_t n;                     /* lines */
    const struct query_ship_line *ln;
    const char *note; /* the op's note ("" none): a receipt's reason for a shortfall */
    uint32_t note_len;
};

struct query_ship {
    uint8_t id[RELIEF_ID_LEN];
    unsigned digits; /* hex digits that tell it apart from every other shipment here */
    int status;      /* enum relief_ship_status (0: none of its ops is known: never) */
    char from[RELIEF_SLUG_MAX + 1], to[RELIEF_SLUG_MAX + 1]; /* "" until the creation arrives */
    const char *doc; /* its reference ("" none), into the snapshot */
    uint32_t doc_len;
    uint32_t by; /* needed-by day; 0 none */
    struct query_ship_step made, dsp, rcv, cxl;
    uint32_t n_dsp, n_rcv, n_cxl;   /* ops of each kind (n_rcv - 1 receipts are duplicates) */
    int64_t planned, sent, arrived; /* sums of the lines of the creation, dispatch, receipt */
    int64_t lost;                   /* received: sent - arrived (lost in transit) */
};

struct query_ship_filter {
    const char *site; /* NULL: any; else shipments from or to it */
    int status;       /* enum relief_ship_status; 0: any */
};

/* The shipments that match f (NULL: all), oldest creation first (by the HLC of its
 * ship.new, unknown as 0), then by id. *rows (owned by q) holds *n rows. Returns AM_OK,
 * AM_ENOMEM, AM_ECORRUPT, or a store error. */
int query_ships(struct query *q, const struct query_ship_filter *f, const struct query_ship **rows,
                size_t *n);
/* Shipment `id`: AM_OK (*row owned by q), AM_ENOTFOUND, or an error as above. */
int query_ship(struct query *q, const uint8_t id[static RELIEF_ID_LEN],
               const struct query_ship **row);
/* The shipment whose hex id begins with `hex` (1..32 digits, either case): AM_OK with id,
 * AM_ENOTFOUND, AM_EINVAL (not hex); *matches 0, 1 or 2 (two or more: type more). */
int query_ship_find(struct query *q, const char *hex, uint8_t id[static RELIEF_ID_LEN],
                    unsigned *matches);

/* What shipments do for one need, derived from their ops (PROTOCOL.md 10.8.6): committed
 * (lines of shipments created, not dispatched nor cancelled), in transit (dispatched, not
 * received nor cancelled), delivered (received), lost (dispatched minus received). */
struct query_need_ships {
    int64_t committed, in_transit, delivered, lost;
    uint32_t n_ships; /* shipments with a line for it */
};
/* Figures of need `id` (zeros when no shipment names it). AM_OK or an error as above. */
int query_need_ships(struct query *q, const uint8_t id[static RELIEF_ID_LEN],
                     struct query_need_ships *out);

/* For the read model's own files: q frees p at query_close (AM_OK, or AM_ENOMEM and p is
 * freed now); the slot where query_ship.c keeps what it read once. */
int query_keep(struct query *q, void *p);
void **query_ship_cache(struct query *q);

/* ---- packs of items (PROTOCOL.md 10.4, "item.pack"; node/query_pack.c) ---- */

/* A named pack of an item: `units` base units in one pack, the winner of its register. */
struct query_pack {
    char item[RELIEF_SLUG_MAX + 1], pack[RELIEF_SLUG_MAX + 1];
    int64_t units;              /* 0: removed */
    struct relief_node_reg reg; /* its register (text points into the snapshot) */
};

/* The packs of `item` (NULL: of every item), by item then pack name: the defined ones
 * (units above 0), and the removed ones too when `all`. *rows (owned by q) holds *n rows.
 * Returns AM_OK, AM_ENOMEM, AM_ECORRUPT, or a store error. */
int query_packs(struct query *q, const char *item, int all, const struct query_pack **rows,
                size_t *n);
/* Pack `pack` of `item`, defined or removed: AM_OK (*row owned by q), AM_ENOTFOUND, or an
 * error as above. */
int query_pack(struct query *q, const char *item, const char *pack, const struct query_pack **row);

/* `count` packs of `units` base units each, in base units, into *qty: AM_OK; AM_ELIMIT when
 * the product is over RELIEF_QTY_MAX (*over_int64, nullable, set when it does not even fit
 * an int64); AM_EINVAL for a negative count or units below 1. */
int query_pack_mul(int64_t count, int64_t units, int64_t *qty, int *over_int64);

/* How `qty` base units of `item` read in its packs (a display rule, PROTOCOL.md 10.9): the
 * largest defined pack that divides it exactly; else the largest one not above it, with
 * the rest in base units. AM_OK with *row, *count (at least 1) and *rest (0 when it
 * divides); AM_ENOTFOUND when qty is below 1 or no defined pack fits; or an error as
 * query_packs. */
int query_pack_split(struct query *q, const char *item, int64_t qty, const struct query_pack **row,
                     int64_t *count, int64_t *rest);

/* The slot where query_pack.c keeps what it read once. */
void **query_pack_cache(struct query *q);

/* ---- names of items per language (PROTOCOL.md 10.4, "item.name"; node/query_name.c) ---- */

/* An item's name in one language, the winner of its register. */
struct query_lname {
    char item[RELIEF_SLUG_MAX + 1], lang[RELIEF_LANG_MAX + 1];
    const char *name;           /* "" when removed (points into the snapshot, or static) */
    size_t len;                 /* of name */
    struct relief_node_reg reg; /* its register */
};

/* The names of `item` per language, by language: the set ones, and the removed ones too
 * when `all`. *rows (owned by q) holds *n rows. Returns AM_OK, AM_ENOMEM, AM_ECORRUPT, or
 * a store error. */
int query_lnames(struct query *q, const char *item, int all, const struct query_lname **rows,
                 size_t *n);
/* The name of `item` in `lang` ("en", "fr", ...): its name in that language when one is
 * set, else the item's own name, else its code. Never NULL; *len (nullable) its length;
 * the text lives as long as q. */
const char *query_item_name(struct query *q, const char *item, const char *lang, size_t *len);

/* The slot where query_name.c keeps what it read once. */
void **query_name_cache(struct query *q);

/* ---- sites and items ---- */

/* Every site (items: every item), in slug order; arrays owned by q, loaded once. */
int query_sites(struct query *q, const struct relief_node_site **rows, size_t *n);
int query_items(struct query *q, const struct relief_node_item **rows, size_t *n);
/* One of them by slug / code: NULL when this node has none (or cannot read them). */
const struct relief_node_site *query_site(struct query *q, const char *slug);
const struct relief_node_item *query_item(struct query *q, const char *code);
/* The text a register holds when its winner holds text, else "" (*len 0). */
const char *query_reg_text(const struct relief_node_reg *r, size_t *len);

/* ---- the store: entries, authors, forks, views ---- */

struct query_state {
    struct store_stats store;      /* entries, authors, fork evidence, forked authors, map */
    struct store_view_stats views; /* counts and fingerprint of the views */
};
int query_state(struct query *q, struct query_state *st);

/* The author whose hex id begins with `hex` (1..64 hex digits, either case), among the
 * authors this store holds entries of. *matches is 0, 1 or 2 (two or more); author is the
 * first match. Returns AM_OK, AM_ENOTFOUND, AM_EINVAL (not hex), or a store error. */
int query_author_find(struct query *q, const char *hex, uint8_t author[static AM_PK_LEN],
                      unsigned *matches);

/* The author of the entry a view ref names (views name ops by their log: a branch of a
 * forked key has a log id of its own, PROTOCOL.md 6); id itself when it is an author's.
 * id and author may be the same buffer. */
void query_author_of(struct query *q, const uint8_t id[static AM_PK_LEN],
                     uint8_t author[static AM_PK_LEN]);

/* 1 when fork evidence exists for `author` (its records are marked), else 0. */
int query_author_forked(struct query *q, const uint8_t author[static AM_PK_LEN]);

/* Forks (PROTOCOL.md §6), by author then seq: one row for each branch that parts from
 * another at `seq` (the author signed two different entries after one entry: `kept` is
 * the first entry of the sibling branch with the lowest log id, `other` this branch's),
 * and one for each entry kept as evidence only beyond AM_LOGS_PER_AUTHOR (`kept`: the
 * root log's entry at seq, if any). Every branch's entries are kept and count. Hashes and
 * stamps come from the entries themselves. */
struct query_fork {
    uint8_t author[AM_PK_LEN];
    uint64_t seq;                 /* the place both entries claim */
    uint64_t head_seq;            /* the author's longest branch here ends at this seq */
    uint8_t kept[AM_HASH_LEN];    /* hash of the entry the log keeps at seq */
    uint8_t other[AM_HASH_LEN];   /* hash of the evidence */
    uint64_t kept_hlc, other_hlc; /* their stamps (0 when one cannot be read) */
    int evidence_only;            /* `other` is kept as evidence only (beyond the bound) */
};
int query_forks(struct query *q, const struct query_fork **rows, size_t *n);

/* ---- successions (PROTOCOL.md 10.4, 10.9): a new key that took over from a forked one ---- */

struct query_successor {
    uint8_t old[AM_PK_LEN];    /* the key succeeded */
    uint8_t author[AM_PK_LEN]; /* the new key */
    uint64_t entry_seq;        /* the new key's entry that holds the succession */
    uint64_t hlc;              /* its stamp: when the key was rotated */
    uint64_t seq;              /* the old key's head seq on the node that rotated */
    uint8_t head[AM_HASH_LEN]; /* that head entry's hash: the branch the new key goes on from */
    int refused; /* 1: a second successor for that branch (an earlier row names the same
                    head): listed, but it does not count */
};

/* The valid successions of `old` (signed by both keys, `old` forked here), by (hlc, new
 * key, seq) ascending, refused ones included (flagged); the view lists at most
 * RELIEF_AUDIT_MAX of them, and *total (nullable) counts them all.
 * *rows (owned by q) holds *n rows; none is AM_OK with *n 0. Returns AM_OK, AM_ENOMEM,
 * AM_ECORRUPT, or a store error. */
int query_successors(struct query *q, const uint8_t old[static AM_PK_LEN],
                     const struct query_successor **rows, size_t *n, size_t *total);

/* The successions whose new key is `author` (which keys it took over from), in the order
 * of the old keys; refused ones are left out. Same returns as query_successors. */
int query_predecessors(struct query *q, const uint8_t author[static AM_PK_LEN],
                       const struct query_successor **rows, size_t *n);

/* Authors whose need.open opened an open need, each once, in the order of their first
 * need in the one order: the most needed authors first (the stick writes their entries
 * before the others'). *authors (owned by q) holds *n ids of AM_PK_LEN bytes. */
int query_need_authors(struct query *q, const uint8_t **authors, size_t *n);

#endif
