/*
 * sync.h: the sync engine (PROTOCOL.md section "Sync"), I/O-free.
 *
 * One session is one connection with one peer, over any ordered byte stream (TCP, a pipe,
 * a memory buffer in a test). The caller allocates the session, feeds it the bytes it
 * receives (sync_feed), sends the bytes it produces (sync_output / sync_output_done),
 * calls sync_tick at sync_next_deadline, and tells it about new local entries
 * (sync_notify). The session reaches the store only through struct sync_store.
 * Never includes uv.h, never touches a socket, a file or a clock, never prints.
 *
 * What a session does: a clear preamble (versions), a Noise_XXpsk0 handshake keyed by
 * the network key, carrying author ids (or short hints of ids the peer knows), install
 * tags and a 16-byte fingerprint of each
 * side's version vector. Equal fingerprints: in sync, nothing more is sent. Otherwise
 * range reconciliation over log-id prefixes finds the logs whose heads differ (a log id
 * is an author id for an author that never forked: PROTOCOL.md 6), and each side streams
 * what the other lacks, logs interleaved, in bounded messages (first, when the store
 * has a lane, it offers its most needed entries (LANE_OFFER) and sends those the peer
 * wants (LANE_WANT) out of their logs' order in a bounded LANE, so a contact cut short
 * still carries them); the receiver ingests message by message, so an
 * interrupted sync resumes on reconnection.
 * Afterwards the session stays live: entries the peer lacks are pushed as they appear.
 */
#ifndef AM_SYNC_H
#define AM_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"
#include "noise.h"

#define SYNC_VERSION_MAJOR   3
#define SYNC_VERSION_MINOR   0
#define SYNC_PREAMBLE_LEN    8
#define SYNC_FP_LEN          16 /* version-vector fingerprint in the handshake */
#define SYNC_INSTALL_TAG_LEN 8  /* the first bytes of the install id, in the handshake */
#define SYNC_RANGE_FP_LEN    8
#define SYNC_HEAD_HASH_LEN   8  /* prefix of a head hash in HEADS messages */
#define SYNC_LEAF_MAX        16 /* a range with at most this many authors is sent as heads */
#define SYNC_HEADS_PER_MSG   AM_SYNC_MSG_CONTAINER_MAX
#define SYNC_OUT_HIGH        AM_SYNC_OUT_HIGH /* stop producing entry messages above this backlog */
#define SYNC_TURN            256 /* entries of one author before the next author's turn */
/* Received entries stored in one transaction, and their bytes (am_limits.h). */
#define SYNC_PENDING_MAX          AM_SYNC_PENDING_MAX
#define SYNC_PENDING_BYTES        AM_SYNC_PENDING_BYTES
#define SYNC_HANDSHAKE_TIMEOUT_MS 10000 /* the whole handshake, from the connection's start */
/* A handshake message is at most this long (am_limits.h). */
#define SYNC_HS_MSG_MAX      AM_SYNC_HS_MSG_MAX
#define SYNC_OUT_FIRST       512 /* the output buffer's first size; it doubles as needed */
#define SYNC_HS_NOTES_MAX    64  /* heads that moved during a handshake, noted one by one */
#define SYNC_PING_MS         15000
#define SYNC_IDLE_TIMEOUT_MS 45000 /* nothing received for this long: the peer is gone */
/* Lane entries (LANE, PROTOCOL.md 8.4) a session sends at most, and hands to its store at
 * most of what it receives: bounds the receiver's signature checks per session. */
#define SYNC_LANE_MAX AM_SYNC_LANE_MAX
/* A LANE message carries at most this many bytes of entries (one larger entry goes alone):
 * a contact cut short keeps the whole messages it carried. */
#define SYNC_LANE_MSG_BYTES 2048
/* The lane is offered first (LANE_OFFER, LANE_WANT: PROTOCOL.md 8.4): the sender keeps
 * copies of the entries it offered until the peer's WANT, at most SYNC_LANE_MAX of them and
 * this many bytes in all (beyond: it offers fewer), and streams no log meanwhile, for at
 * most SYNC_LANE_WANT_MS on the session clock (a peer that never answers: the logs go on,
 * the copies are dropped). */
#define SYNC_LANE_OFFER_BYTES (256u << 10)
#define SYNC_LANE_WANT_MS     2000

/* Flags of a sync_head. Only SYNC_HEAD_EVIDENCE goes on the wire (HEADS) and into the
 * fingerprint; the others tell the engine how the store's logs lie. */
#define SYNC_HEAD_EVIDENCE 1u /* root log only: the store holds fork evidence of this author */
#define SYNC_HEAD_FORKED   2u /* the author's entries form more than one log */
#define SYNC_HEAD_SPLIT    4u /* this log ended at a fork: its entries go on in child logs */

/* One log's head, as the engine sees it: one row of HEADS (PROTOCOL.md 8.2). */
struct sync_head {
    uint8_t author[AM_PK_LEN]; /* the row's id: the log id (an author id names its root log) */
    uint64_t seq;              /* seq of the log's last entry */
    uint8_t hash[AM_HASH_LEN];
    uint32_t flags;     /* SYNC_HEAD_* */
    uint64_t first_seq; /* seq of the log's first entry (0 or 1: a root log) */
};

/* Which authors' entries were refused and why: the first SYNC_REFUSALS_MAX (author,
 * reason) pairs met, each with its count; refusals of further pairs are only counted
 * (`unlisted`), so a flood of forged authors cannot grow it. */
#define SYNC_REFUSALS_MAX 8
struct sync_refusal {
    uint8_t author[AM_PK_LEN]; /* all zero: entries that do not decode (author unknown) */
    int reason;                /* am_err.h: AM_EBADSIG, AM_EUNLINKED, AM_EGAP, AM_EMALFORMED... */
    uint64_t count;
};
struct sync_refusals {
    size_t n;
    struct sync_refusal r[SYNC_REFUSALS_MAX];
    uint64_t unlisted; /* refused entries of pairs beyond the list */
};

struct sync_ingest_result {
    uint64_t added, duplicate, refused;
    uint64_t forks;  /* stored, each the first entry of a branch (a child log): not in added */
    uint64_t capped; /* kept as evidence only (a branch beyond AM_LOGS_PER_AUTHOR) */
    struct sync_refusals refusals; /* the refused, by author and reason (a store may leave it
                                      empty: then only `refused` counts them) */
};

/* Adds `count` refusals of (author, reason) to l (author NULL: unknown). Never fails: past
 * SYNC_REFUSALS_MAX pairs they are counted in l->unlisted. */
void sync_refusals_add(struct sync_refusals *l, const uint8_t *author, int reason, uint64_t count);
/* Adds every refusal of `from` to `into`. */
void sync_refusals_merge(struct sync_refusals *into, const struct sync_refusals *from);

/*
 * The store, as the engine needs it. Every function returns AM_OK or an am_err.h code;
 * `raw` pointers passed to callbacks are valid only during the call.
 */
struct sync_store {
    void *ctx;
    /* Calls cb for every log's head in log-id order (an author that never forked: one
     * log, whose id is the author id). */
    int (*heads)(void *ctx, int (*cb)(void *cbctx, const struct sync_head *h), void *cbctx);
    /* The head of one log (an author id names the author's root log; AM_ENOTFOUND if none). */
    int (*head)(void *ctx, const uint8_t author[AM_PK_LEN], struct sync_head *h);
    /* Calls cb for entries of log `author` from from_seq on, in order, until cb returns
     * non-zero or the log ends. The receiver's ingest places entries by their links, so a
     * log sent from its first entry lands as the same log there. */
    int (*entries)(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t from_seq,
                   int (*cb)(void *cbctx, const uint8_t *raw, size_t len), void *cbctx);
    /* Calls cb for every piece of fork evidence of `author` (entries kept as evidence
     * only: the first of a branch beyond AM_LOGS_PER_AUTHOR). */
    int (*forks)(void *ctx, const uint8_t author[AM_PK_LEN],
                 int (*cb)(void *cbctx, const uint8_t *raw, size_t len), void *cbctx);
    /* Ingests a batch in one transaction (store_ingest semantics). */
    int (*ingest)(void *ctx, const uint8_t *const *raw, const size_t *lens, size_t n,
                  struct sync_ingest_result *res);
    /* Optional (NULL: none). Calls cb for every author id beginning with the hint_len
     * bytes of `hint` that the store remembers as a peer met before. */
    int (*peers)(void *ctx, const uint8_t *hint, size_t hint_len,
                 int (*cb)(void *cbctx, const uint8_t author[AM_PK_LEN]), void *cbctx);
    /* Optional: remember `author` as a peer met (learnt in full from an IDENT). */
    int (*peer_met)(void *ctx, const uint8_t author[AM_PK_LEN]);
    /* Optional (NULL: no lane, PROTOCOL.md 8.4). The priority lane's candidates, most
     * needed first: calls cb for each entry (log id, seq, its bytes as stored) until cb
     * returns non-zero. The engine sends those the peer lacks, at most SYNC_LANE_MAX. */
    int (*lane)(void *ctx,
                int (*cb)(void *cbctx, const uint8_t log[AM_PK_LEN], uint64_t seq,
                          const uint8_t *raw, size_t len),
                void *cbctx);
    /* Optional (NULL: LANE is ignored). Takes n entries received out of their logs' order
     * into the lane (store_lane_ingest semantics: each checked by its own signature);
     * *added: those taken. An error closes the session. */
    int (*lane_ingest)(void *ctx, const uint8_t *const *raw, const size_t *lens, size_t n,
                       uint64_t *added);
    /* Optional (NULL: a LANE_OFFER is wanted whole, when lane_ingest is set). Whether the
     * store holds, in a log or in its lane, the entry at (log, seq) whose hash begins with
     * hash8: 1 yes, 0 no, < 0 a store error (taken as no). */
    int (*has)(void *ctx, const uint8_t log[AM_PK_LEN], uint64_t seq,
               const uint8_t hash8[SYNC_HEAD_HASH_LEN]);
};

struct sync_config {
    int initiator;                  /* the side that connected */
    const uint8_t *netkey;          /* AM_NETKEY_LEN: the Noise PSK */
    const uint8_t *sk;              /* ed25519 secret key (seed || pk) */
    const uint8_t *install_id;      /* AM_INSTALL_ID_LEN */
    const struct sync_store *store; /* must outlive the session */
    uint64_t now_ms;                /* the caller's monotonic clock */
    /* Called after received entries advanced log `author` (an author id, or a child
     * log's id) to `seq` in the store (so the caller can tell its other sessions).
     * Nullable. */
    void (*on_new)(void *ctx, const uint8_t author[AM_PK_LEN], uint64_t seq);
    void *on_new_ctx;
    /* Nullable. The rank of an author whose entries the other side lacks: those of rank 1
     * go out first, then rank 2, ..., then (rank 0) every other author in turns. The node
     * ranks the authors of its most needed open needs (query.h), so a contact cut short
     * carries them first. Called on the caller's thread, from sync_feed / sync_output. */
    uint32_t (*author_rank)(void *ctx, const uint8_t author[AM_PK_LEN]);
    void *rank_ctx;
    const uint8_t *ephemeral; /* tests only: fixed Noise ephemeral, or NULL */
    /* This node's name, sent after HELLO's fixed fields (PROTOCOL.md 8.1): NUL-terminated
     * text of at most AM_NAME_MAX bytes (longer is cut); NULL or "": none. Read during
     * sync_init only. */
    const char *name;
};

/* State flags of sync_state(). */
#define SYNC_WANT_WRITE 1u /* sync_output() has bytes */
#define SYNC_HANDSHAKEN 2u /* the handshake is done: peer identity known */
#define SYNC_IN_SYNC    4u /* initial sync done both ways (END sent and received) */
#define SYNC_CLOSED     8u /* finished: see sync_error(); close the connection */

struct sync_stats {
    uint64_t bytes_in, bytes_out;
    uint64_t entries_in, entries_out;          /* entries received (new or not) and sent */
    uint64_t added, duplicate, forks, refused; /* what ingest did with those received */
    uint64_t capped;                           /* of those, kept as evidence only */
    struct sync_refusals refusals;             /* the refused, by author and reason */
    uint64_t authors_in;                       /* authors of which something new arrived */
    uint64_t summary_out;                      /* bytes of reconciliation messages sent */
    /* The lane (LANE messages): entries sent, received, and of those received the ones the
     * store took (lane entries never count in entries_in / entries_out). */
    uint64_t lane_out, lane_in, lane_added;
};

struct sync_peer_vv; /* the peer's version vector, as this session knows it */
struct pending;      /* received entries not stored yet */
struct sync_jobs;    /* what remains to send */
struct sync_lane;    /* the entries of our LANE_OFFER, until its WANT */

/* Caller-allocated; treat the fields as private. */
struct sync_session {
    struct sync_config cfg;
    unsigned state;
    int error;      /* am_err.h code that closed the session, 0 while fine */
    int peer_error; /* the code the peer said it closed with (BYE), 0 if none */
    int phase;
    struct noise_hs hs;
    struct noise_cipher tx, rx;
    uint8_t x_sk[32]; /* our X25519 static (from the ed25519 key) */
    uint8_t peer_author[AM_PK_LEN];
    uint8_t peer_x[32]; /* the peer's Noise static key (X25519 form of its author id) */
    uint8_t peer_install[AM_INSTALL_ID_LEN]; /* the first SYNC_INSTALL_TAG_LEN bytes */
    int peer_known; /* peer_author is known (from HELLO, a resolved hint, or IDENT) */
    int who_sent;
    uint8_t peer_fp[SYNC_FP_LEN], our_fp[SYNC_FP_LEN];
    uint8_t peer_major, peer_minor;
    char our_name[AM_NAME_MAX + 1];  /* cfg.name, cut to AM_NAME_MAX bytes */
    char peer_name[AM_NAME_MAX + 1]; /* the name its HELLO carried; "" when none */
    /* our heads, sorted by author, with their per-author fingerprint terms */
    struct sync_head *mine;
    uint8_t (*terms)[AM_HASH_LEN];
    size_t n_mine, cap_mine;
    struct sync_peer_vv *peer;
    struct sync_peer_vv *seen; /* authors of which something new arrived */
    struct pending *pend;
    struct sync_jobs *jobs;
    int heads_ready; /* mine, terms and our_fp are read (after the first authentic message) */
    /* authors whose head moved during the handshake (sync_notify), at most
     * SYNC_HS_NOTES_MAX; hs_notes_all: more than that, compare every head */
    uint8_t (*hs_notes)[AM_PK_LEN];
    size_t n_hs_notes;
    int hs_notes_all;
    /* input: bytes of an unfinished frame */
    uint8_t *in;
    size_t in_len, in_cap;
    /* output: framed bytes waiting to be sent */
    uint8_t *out;
    size_t out_len, out_cap, out_sent;
    /* reconciliation */
    unsigned awaiting;   /* requests sent that expect a RESULT (initiator) */
    int recon_sent_done; /* initiator: RECONCILED sent */
    int recon_done;      /* both: reconciliation finished for this side */
    int end_sent, end_received;
    uint64_t now, last_rx, last_tx, hs_deadline;
    struct sync_stats stats;
    uint32_t lane_taken; /* received lane entries handed to the store (<= SYNC_LANE_MAX) */
    /* Our LANE_OFFER: its items awaiting the peer's WANT (0: none), the copies of their
     * entries (NULL once the wait ran out: no log streams while they are held), and when
     * the wait runs out; whether the peer's offer came (one per session). */
    uint32_t lane_offered;
    struct sync_lane *lane_copies;
    uint64_t lane_deadline;
    int lane_offer_in;
    /* HEADS of the range being received: where the merge walk over `mine` stands */
    int range_open;
    unsigned range_bits;
    uint8_t range_prefix[AM_PK_LEN];
    size_t range_cursor, range_end;
    uint8_t *msg;   /* a message being built */
    uint8_t *plain; /* the message received, decrypted */
};

/* Sets up a session; the preamble (and, for the initiator, the first handshake message)
 * is ready in sync_output() at once. Until the peer's first handshake message
 * authenticates (it holds the network key), the session holds a few hundred bytes and
 * has not touched the store: the heads are read then. Returns AM_OK, AM_ENOMEM or
 * AM_EINVAL. Call sync_free() afterwards in every case. */
int sync_init(struct sync_session *s, const struct sync_config *cfg);
void sync_free(struct sync_session *s); /* wipes secrets; NULL-safe on a zeroed session */

/*
 * Feeds n received bytes. Returns AM_OK (all consumed; more may be fed), or the code that
 * closed the session (then SYNC_CLOSED is set, and sync_output() may still hold a BYE to
 * send before closing). Received entries wait in a bounded batch (SYNC_PENDING_MAX
 * entries, SYNC_PENDING_BYTES) and are stored when it is full, before any other message
 * is handled, at sync_tick, and by sync_flush: call sync_flush once the bytes available
 * now have been fed, so everything read at once is stored in one transaction.
 */
int sync_feed(struct sync_session *s, const uint8_t *in, size_t n);

/* Stores the received entries still waiting. Returns AM_OK or the store's error (which
 * also closes the session). */
int sync_flush(struct sync_session *s);

/* The bytes to send now (may be empty). Valid until the next call into the session. */
const uint8_t *sync_output(struct sync_session *s, size_t *n);
/* n bytes of what sync_output() returned were sent. */
void sync_output_done(struct sync_session *s, size_t n);

unsigned sync_state(const struct sync_session *s);
int sync_error(const struct sync_session *s);

/* When sync_tick() must be called next (in the caller's clock), and the tick itself. */
uint64_t sync_next_deadline(const struct sync_session *s);
void sync_tick(struct sync_session *s, uint64_t now_ms);
/* Only moves the session's clock to now_ms (before sync_feed, say): unlike sync_tick it
 * stores nothing, so the entries of several reads can wait for one sync_flush. */
void sync_clock(struct sync_session *s, uint64_t now_ms);

/* New entries of log `author` (an author id: its root log) up to `seq` are in the store (written
 * locally or received from another peer): send them if the peer lacks them. */
void sync_notify(struct sync_session *s, const uint8_t author[AM_PK_LEN], uint64_t seq);

/* Ends the session politely (a BYE message, then SYNC_CLOSED once it is sent). */
void sync_close(struct sync_session *s, int code);

/* The peer's author id, and the first SYNC_INSTALL_TAG_LEN bytes of its install id (the
 * rest zero): valid once SYNC_HANDSHAKEN is set. */
const uint8_t *sync_peer_author(const struct sync_session *s);
const uint8_t *sync_peer_install(const struct sync_session *s);
/* The name the peer's HELLO carried (text as am_text.h checks it, at most AM_NAME_MAX
 * bytes), "" when it sent none (an older node) or one that breaks those rules: valid once
 * SYNC_HANDSHAKEN is set. The name is the peer's claim, authenticated as its own words by
 * the handshake, not checked against anything. */
const char *sync_peer_name(const struct sync_session *s);

/* The HELLO's fixed fields: versions (2), author hint (8), install tag, fingerprint. */
#define SYNC_HELLO_LEN (2 + 8 + SYNC_INSTALL_TAG_LEN + SYNC_FP_LEN)
/* The node name a HELLO of n bytes (p, decrypted, n >= SYNC_HELLO_LEN) carries after its
 * fixed fields (PROTOCOL.md 8.1): a length byte and 1 to AM_NAME_MAX bytes of text
 * (am_text.h) that fit in the HELLO. Into out (NUL-terminated; "" when there is none or
 * it is not such text: a cosmetic claim, ignored rather than refused). Returns its length.
 * Reads nothing beyond p[n - 1]. */
size_t sync_hello_name(const uint8_t *p, size_t n, char out[static AM_NAME_MAX + 1]);

const struct sync_stats *sync_stats(const struct sync_session *s);
/* The protocol version the peer's preamble named (0.0 until it arrived): also set when
 * the session closed with AM_EVERSION, so the caller can name both versions. */
void sync_peer_version(const struct sync_session *s, unsigned *major, unsigned *minor);

/* For fuzz targets only: moves a fresh session straight to the live phase (transport keys
 * of zeros, no handshake) and hands it one decrypted message, as a peer would after the
 * handshake. Returns what handling that message returned. */
int sync_debug_message(struct sync_session *s, const uint8_t *msg, size_t n);

/* The 16-byte fingerprint of a version vector given as heads sorted by author. */
void sync_fingerprint(const struct sync_head *heads, size_t n, uint8_t fp[static SYNC_FP_LEN]);

#endif
