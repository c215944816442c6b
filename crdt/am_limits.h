/*
 * am_limits.h: every limit aidmesh applies to bytes it did not make itself: entries and
 * ops, sync frames, handshake and sync messages, beacons, relief op fields, stick
 * segments, chunks and manifests, the control socket, the dashboard's requests, and the
 * files of a home. A decoder checks a length against these before it looks inside.
 *
 * One place, each with its reason. PROTOCOL.md §2 is the one table of them: every
 * #define below the "Limits" line has a row there naming it with its exact value, and
 * tools/check-layers.sh checks both ways. So a limit is an integer expression of numbers
 * (u, L suffixes allowed) and earlier AM_ names of this file only, and a change of one
 * changes its row. Older headers keep their old names as one-line aliases of these.
 *
 * Not here: operational tunables that do not bound outside bytes (timeouts, cache sizes,
 * connection caps, how large a writer makes its own segments and chunks).
 */
#ifndef AM_LIMITS_H
#define AM_LIMITS_H

/* Sizes of fixed fields (not limits, but used beside them; no row in §2). */
#define AM_PK_LEN         32 /* ed25519 public key = author id */
#define AM_SK_LEN         64 /* libsodium ed25519 secret key (seed || pk) */
#define AM_SEED_LEN       32 /* ed25519 seed, what the identity file stores */
#define AM_SIG_LEN        64 /* detached ed25519 signature */
#define AM_HASH_LEN       32 /* BLAKE2b-256: entry hash, prev link */
#define AM_NETKEY_LEN     32 /* network key (derived from the invite secret) */
#define AM_NETSECRET_LEN  16 /* invite secret: 128 bits, short enough to read over a radio */
#define AM_NETID_LEN      8  /* public network id shown to people: not secret */
#define AM_INSTALL_ID_LEN 16 /* random id of one store */

/* ==== Limits: each #define from here on has a row in PROTOCOL.md §2 ==== */

/* ---- Entries and the msgpack inside them (§3) ---- */

/* Whole encoded entry (body + signature). Relief ops are a few hundred bytes; 16 KiB
 * leaves room for a long note, and an entry with its framing always fits one Noise
 * transport message (65,535 bytes). */
#define AM_ENTRY_MAX 16384
/* Encoded op inside an entry: entry minus the fixed fields (~120 bytes). */
#define AM_OP_MAX (AM_ENTRY_MAX - 256)
/* Logs of one author: its root log and the child logs its branches start (§6). A cloned
 * machine makes two or three; more is a key signing many branches on purpose. A branch
 * beyond this is kept as evidence only, and the author's ops leave the views. */
#define AM_LOGS_PER_AUTHOR 8
/* Nesting depth of msgpack containers anywhere in an entry (the entry array is depth 1).
 * Ops are flat maps with at most one level of nested arrays/maps; 8 leaves headroom and
 * bounds recursion in every decoder. */
#define AM_MP_DEPTH_MAX 8
/* One msgpack str or bin inside an op: a note of a few paragraphs. */
#define AM_MP_STR_MAX 4096
/* Elements of one msgpack array or map (map: pairs). */
#define AM_MP_CONTAINER_MAX 256

/* ---- Clocks (§4) ---- */

/* An entry's stamp holds 48 bits of milliseconds (hlc.h); a larger one is malformed. */
#define AM_HLC_MS_MAX ((1ULL << 48) - 1)
/* Hybrid logical clock: stamps more than this far ahead of the local wall clock are
 * accepted and stored, but never pulled into the local clock (see hlc.h). */
#define AM_HLC_MAX_DRIFT_MS (10ULL * 60 * 1000)

/* ---- Store and home (§7) ---- */

/* Entries ingested in one write transaction. Bounds the store's own memory of a batch
 * (about 450 bytes per entry with the views' work: 30 MiB) and the time a writer holds
 * LMDB's write lock; the callers bound the bytes of the entries they pass (sync 8 MiB,
 * stick 16 MiB). Larger batches dirty fewer pages per entry: a page touched by several
 * objects of one batch is written once. */
#define AM_INGEST_BATCH_MAX 65536
/* Entries held in the priority lane (§6, "Lane"), out of their log's order until it
 * reaches them: each costs a signature check and up to 16 KiB (64 MiB at most); the
 * open critical and high needs of a district, with their stock, are a few hundred. */
#define AM_LANE_MAX 4096
/* The LMDB map starts at this size and doubles on MDB_MAP_FULL. */
#define AM_STORE_MAP_INITIAL (64ULL << 20)
/* A store never grows beyond this; 1 TiB of virtual address space is cheap on 64-bit. */
#define AM_STORE_MAP_MAX (1ULL << 40)
/* The store record file (store.id) read back: a record is under 100 bytes; a longer file
 * is not a record. */
#define AM_STORE_RECORD_MAX 256
/* A home path (--home, $AIDMESH_HOME) and every file name joined to it: Linux's PATH_MAX;
 * a longer one is refused. */
#define AM_HOME_PATH_MAX 4096
/* One line of DIR/config: the first 511 bytes are read, the rest of a longer line is
 * skipped. */
#define AM_HOME_CONFIG_LINE_MAX 512
/* One "peer = HOST:PORT" value of DIR/config, NUL included: a DNS name (253) and a port;
 * a longer one is skipped. */
#define AM_HOME_PEER_MAX 300

/* Text a person types: a site slug, a node name. */
#define AM_NAME_MAX 64

/* ---- Sync (§8) ---- */

/* Every Noise message, handshake or transport (Noise spec §3); a sync frame is a 2-byte
 * length and one such message. */
#define AM_NOISE_MSG_MAX 65535
/* A handshake message (the longest, message 2, is 130 bytes): until the handshake is done
 * a session holds a buffer of this size, not one of AM_NOISE_MSG_MAX. */
#define AM_SYNC_HS_MSG_MAX 256
/* Nesting of one sync message (§8.2): an array of arrays of entries at most. */
#define AM_SYNC_MSG_DEPTH_MAX 6
/* One str or bin of a sync message: an entry. */
#define AM_SYNC_MSG_STR_MAX AM_ENTRY_MAX
/* Elements of one array or pairs of one map of a sync message: the heads one HEADS
 * message carries. */
#define AM_SYNC_MSG_CONTAINER_MAX 1000
/* Output produced ahead for a peer: entry messages stop above this backlog, so a slow
 * peer costs at most this much memory. */
#define AM_SYNC_OUT_HIGH (256u * 1024)
/* Received entries stored in one transaction: fewer than a store takes at once
 * (AM_INGEST_BATCH_MAX), as the pages a batch dirties stay in memory until its commit and
 * a node receiving a million relief records stays within 64 MiB of its own. */
#define AM_SYNC_PENDING_MAX 16384
/* Lane entries (§8.4) one session offers, and hands to the store: each costs a signature
 * check (about 60 ms for all of them), so a peer gets at most this much work from the
 * lane; a LANE_OFFER of this many items (54 bytes each) fits one message (§8.2); the open
 * critical needs of a 20,000-entry backlog (about 400) fit with room. */
#define AM_SYNC_LANE_MAX 1000
/* ... and their bytes. */
#define AM_SYNC_PENDING_BYTES (8u << 20)

/* ---- Discovery (§9) ---- */

/* One discovery datagram: version 1 beacons are 100 bytes; 256 leaves room for a later
 * version while a datagram costs at most one short decrypt. */
#define AM_BEACON_MAX 256
/* Discovered authors kept: far above the nodes of one site; past it the least recently
 * heard goes (LRU). Forged beacons cannot make a node keep more (about 1 KiB each). */
#define AM_DISC_AUTHORS_MAX 256
/* Addresses kept per author: a node on a few interfaces (IPv4, IPv6 link-local, a second
 * link) plus room for replayed ones that cannot push the real ones out. */
#define AM_DISC_ADDRS_PER_AUTHOR 4

/* ---- Relief op fields (§10; lengths in bytes of UTF-8, not characters) ---- */

/* Site slug, item code, category, lot: short identifiers typed on a phone; all of a
 * cell's key fits 104 bytes. */
#define AM_RELIEF_SLUG_MAX 32
/* Base unit ("sachet", "bottle-5l", "g"). */
#define AM_RELIEF_UNIT_MAX 16
/* Notes on needs, deliveries, moves and counts: a short paragraph; a full note still fits
 * an op with 256 refs. */
#define AM_RELIEF_NOTE_MAX 1000
/* Quantities, in base units: 2^53 - 1, so every quantity (and every sum a spreadsheet or
 * a JSON reader makes of a few of them) is exact in a double as well. */
#define AM_RELIEF_QTY_MAX ((1LL << 53) - 1)
/* Dates are days since 1970-01-01 (UTC); 1 .. this (9999-12-31); 0 means "none". */
#define AM_RELIEF_DAY_MAX 2932896u
/* Latitude and longitude in micro-degrees (int32, never floats): about 11 cm. */
#define AM_RELIEF_LAT_MAX 90000000
#define AM_RELIEF_LON_MAX 180000000
/* Refs in one "sup" list or one "ctx" list: the msgpack container limit; 256 refs of 42
 * bytes plus everything else fit the op limit. */
#define AM_RELIEF_REFS_MAX AM_MP_CONTAINER_MAX
/* Audit moves listed in a cell's view (the total is always given): bounds the view
 * record whatever the number of moves. */
#define AM_RELIEF_AUDIT_MAX 32
/* Lines of one shipment op (ship.new, ship.dsp, ship.rcv): a truck's manifest; 64 lines
 * of the longest item, lot and need fit the op limit with room for a note. */
#define AM_RELIEF_LINES_MAX 64

/* ---- Stick (§11) ---- */

/* Readers look at no more of a segment file than this; bytes beyond are reported as
 * damage (writers close a segment at half of it). */
#define AM_STICK_SEGMENT_MAX (64u << 20)
/* Plaintext of one chunk; a longer length prefix is damage. Holds the largest visit
 * record (AM_STICK_VISIT_EXC_MAX exceptions: 655 KiB) with room to spare. */
#define AM_STICK_CHUNK_MAX (1u << 20)
/* A manifest slot (header + ciphertext). 16 MiB holds 64k authors and 4k sites. */
#define AM_STICK_MANIFEST_MAX (16u << 20)
/* Segment files looked at in one folder (FAT32 allows 65,536 entries per folder). */
#define AM_STICK_SEGMENTS_MAX 65536
/* Distinct authors one scan tracks (memory: about 100 bytes each). */
#define AM_STICK_AUTHORS_MAX (1u << 20)
/* Ranges of seqs (around holes) tracked per author in one scan; more holes are
 * forgotten: the stick then looks shorter, at worst an export writes entries again. */
#define AM_STICK_HOLES_MAX 4096
/* Sites kept in the visits table (the newest visit of each); later ones are not tracked. */
#define AM_STICK_SITES_MAX 4096
/* Authors listed in one visit record as differing from the stick (each 40 bytes). */
#define AM_STICK_VISIT_EXC_MAX 16384
/* Seqs kept over all visit snapshots of one scan; beyond, a site keeps its older one. */
#define AM_STICK_SNAP_SEQS_MAX (4u << 20)
/* Fork evidence entries of this node checked against the stick per sync. */
#define AM_STICK_FORK_TRACK_MAX 4096
/* Entries of LANE records one stick sync takes into the node's lane (and remembers, so an
 * export does not write them again); more are skipped: their logs carry them. */
#define AM_STICK_LANE_MAX 4096
/* Bytes of entries read from a stick waiting for one ingest call (with
 * AM_INGEST_BATCH_MAX entries at most). */
#define AM_STICK_BATCH_BYTES_MAX (16u << 20)

/* ---- Control socket (§8.5) and dashboard ---- */

/* A control request line, newline included: a request is `{"get":"status"}`. */
#define AM_STATUS_REQUEST_MAX 4096
/* An answer line the client reads (the status of a node, as JSON); a longer one is
 * refused. */
#define AM_STATUS_REPLY_MAX (1u << 20)
/* Rows of each list of a status answer the decoder keeps; more is AM_ELIMIT. */
#define AM_STATUS_ROWS_MAX 4096
/* HTTP headers the dashboard looks at; a request with more is refused (400). */
#define AM_HTTP_HEADERS_MAX 64

#endif
