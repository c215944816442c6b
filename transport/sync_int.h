/*
 * sync_int.h: what the sync engine's files share (sync.c: sessions, reconciliation,
 * streaming; sync_hs.c: the preamble's Noise handshake, HELLO, WHO and IDENT; sync_lane.c:
 * the priority lane, LANE). Not a public interface: only transport/sync*.c include it.
 */
#ifndef AM_SYNC_INT_H
#define AM_SYNC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mp.h"
#include "sync.h"

/* ---- wire constants ----------------------------------------------------------------------- */

#define PREAMBLE_MAGIC "AMSY"
#define PROLOGUE_LABEL "aidmesh sync v"
#define NOISE_NAME     "Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b"
/* HELLO (msg2, msg3 payload): major and minor version (authenticated, unlike the
 * preamble's), author hint (the first bytes of the author id), install tag, fingerprint;
 * then, optional, the node's name: its length (1 byte) and its bytes. */
#define HELLO_HINT_LEN 8
#define HELLO_LEN      SYNC_HELLO_LEN
#define HELLO_MAX      (HELLO_LEN + 1 + AM_NAME_MAX)

enum msg_type {
    T_REQ = 1,
    T_RESULT = 2,
    T_HEADS = 3,
    T_RECONCILED = 4,
    T_ENTRIES = 5,
    T_END = 6,
    T_PING = 7,
    T_BYE = 8,
    T_WHO = 9,         /* "your HELLO named you by a hint I cannot resolve: send IDENT" */
    T_IDENT = 10,      /* the sender's author id in full */
    T_LANE = 11,       /* entries out of their logs' order, most needed first (PROTOCOL.md 8.4) */
    T_LANE_OFFER = 12, /* the lane entries the sender would send: (log, seq, hash8) each */
    T_LANE_WANT = 13,  /* the answer to LANE_OFFER: a bitmap of the items the receiver lacks */
};

enum phase { P_PREAMBLE, P_HANDSHAKE, P_LIVE, P_CLOSED };

/* A range of author ids: those beginning with the first `bits` bits of `prefix`. */
struct range {
    unsigned bits; /* a multiple of 4, at most 256 */
    uint8_t prefix[AM_PK_LEN];
};

/* A msgpack-c writer into s->msg, bounded by NOISE_MAX_PAYLOAD. */
struct mbuf {
    uint8_t *p;
    size_t len;
    int over;
};

/* sync.c */
void sync_fail(struct sync_session *s, int code); /* closes the session with code */
void sync_out_raw(struct sync_session *s, const uint8_t *p, size_t n);
/* Encrypts and frames s->msg[0..n); summary: count it as reconciliation bytes. */
void sync_send_msg(struct sync_session *s, size_t n, int summary);
void sync_send_simple(struct sync_session *s, int type);
void sync_send_req(struct sync_session *s, const struct range *rs, size_t n);
void sync_check_in_sync(struct sync_session *s);
int sync_mbuf_write(void *data, const char *buf, size_t len);
int sync_pv_set(struct sync_peer_vv *pv, const uint8_t *author, uint64_t seq);
uint64_t sync_pv_get(const struct sync_peer_vv *pv, const uint8_t *author); /* 0: none */
/* sync_pv_set, noting the first bytes of the hash of the entry at seq (NULL: unknown) */
int sync_pv_set_held(struct sync_peer_vv *pv, const uint8_t *author, uint64_t seq,
                     const uint8_t *hash8);
/* Whether the peer is known to hold the entry at seq whose hash begins with hash8, in
 * any log (a log split since: its head moved to a child log). */
int sync_pv_holds(const struct sync_peer_vv *pv, uint64_t seq, const uint8_t *hash8);
/* `mine`, our heads by row id: where `author` is or would go (*found then 0); put a head
 * (replacing the row of its id); re-read one row from the store (out nullable). */
size_t sync_mine_find(const struct sync_session *s, const uint8_t *author, int *found);
int sync_mine_put(struct sync_session *s, const struct sync_head *h);
int sync_mine_refresh(struct sync_session *s, const uint8_t *author, struct sync_head *out);
/* The peer lacks what we hold of log mine->author beyond peer_seq: queue it (from the
 * log's first entry at the earliest) and count it as on its way. */
void sync_lacks(struct sync_session *s, const struct sync_head *mine, uint64_t peer_seq);
void sync_range_child(const struct range *r, unsigned nibble, struct range *c);
int sync_heads_load(struct sync_session *s);
int sync_live_alloc(struct sync_session *s);
/* Once the peer's vector is set at the handshake's end: takes in the heads that moved
 * during the handshake (sync_notify noted them) and sends them if reconciliation is done. */
void sync_hs_notes_apply(struct sync_session *s);
/* Whether log `log`'s entry at `seq` is among what reconciliation found the peer lacks and
 * this session has still to send (a range job covers it); log NULL: whether any is. */
int sync_jobs_cover(const struct sync_session *s, const uint8_t *log, uint64_t seq);

/* sync_lane.c */
/* Once reconciliation is over and before any log streams: offers the store's lane
 * candidates that the peer lacks (LANE_OFFER, at most SYNC_LANE_MAX), keeping copies; the
 * logs wait for the WANT (s->lane_copies). Never fails the session (the logs bring
 * everything anyway). */
void sync_lane_send(struct sync_session *s);
/* LANE, LANE_OFFER or LANE_WANT received (after its type; `type` says which): decoded
 * strictly. LANE: at most what remains of SYNC_LANE_MAX goes to the store's lane_ingest.
 * LANE_OFFER: answered by a WANT. LANE_WANT: the wanted entries go in LANE messages, then
 * the logs. AM_OK, AM_EMALFORMED, AM_ENOMEM or the store's error. */
int sync_lane_message(struct sync_session *s, int type, struct mp_cur *c);
/* The earlier of `d` and the end of the wait for our offer's WANT. */
uint64_t sync_lane_deadline(const struct sync_session *s, uint64_t d);
/* At a tick: the WANT did not come in time: the copies go, the logs stream. */
void sync_lane_tick(struct sync_session *s, uint64_t now_ms);
void sync_lane_free(struct sync_session *s);

/* sync_logs.c */
/* Whether our entry at `seq` of log h->author is the one whose hash begins with hash8:
 * 1 yes, 0 no (another branch, or no entry of ours there), or an error (< 0). */
int sync_entry_matches(struct sync_session *s, const struct sync_head *h, uint64_t seq,
                       const uint8_t hash8[SYNC_HEAD_HASH_LEN]);
/* Re-reads every head after received entries of a forked author were stored (they may
 * have split a log and started child logs): rows that moved are taken in, told to
 * cfg.on_new, and sent on if reconciliation is done. A row whose head the peer just sent
 * us (one of the n entries raw/lens) is credited to the peer. */
int sync_heads_rescan(struct sync_session *s, const uint8_t *const *raw, const size_t *lens,
                      size_t n);

/* sync_hs.c */
void sync_send_hs(struct sync_session *s, const uint8_t *payload, size_t plen);
/* Handles one handshake message (without its length prefix): AM_OK or the closing code. */
int sync_hs_message(struct sync_session *s, const uint8_t *m, size_t n);
void sync_send_ident(struct sync_session *s);
int sync_on_ident(struct sync_session *s, struct mp_cur *c);

#endif
