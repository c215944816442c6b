/*
 * am_limits.h: every limit aidmesh applies to bytes it did not make itself.
 *
 * One place, each with its reason; PROTOCOL.md section "Limits" mirrors this table and
 * must change with it. A decoder checks a length against these before it looks inside.
 */
#ifndef AM_LIMITS_H
#define AM_LIMITS_H

/* Sizes of fixed fields (not limits, but used beside them). */
#define AM_PK_LEN         32 /* ed25519 public key = author id */
#define AM_SK_LEN         64 /* libsodium ed25519 secret key (seed || pk) */
#define AM_SEED_LEN       32 /* ed25519 seed, what the identity file stores */
#define AM_SIG_LEN        64 /* detached ed25519 signature */
#define AM_HASH_LEN       32 /* BLAKE2b-256: entry hash, prev link */
#define AM_NETKEY_LEN     32 /* network key (derived from the invite secret) */
#define AM_NETSECRET_LEN  16 /* invite secret: 128 bits, short enough to read over a radio */
#define AM_NETID_LEN      8  /* public network id shown to people: not secret */
#define AM_INSTALL_ID_LEN 16 /* random id of one store */

/* Whole encoded entry (body + signature). Relief ops are a few hundred bytes; 16 KiB
 * leaves room for a long note, and an entry with its framing always fits one Noise
 * transport message (65,535 bytes). */
#define AM_ENTRY_MAX 16384
/* Encoded op inside an entry: entry minus the fixed fields (~120 bytes). */
#define AM_OP_MAX (AM_ENTRY_MAX - 256)
/* Nesting depth of msgpack containers anywhere in an entry (the entry array is depth 1).
 * Ops are flat maps with at most one level of nested arrays/maps; 8 leaves headroom and
 * bounds recursion in every decoder. */
#define AM_MP_DEPTH_MAX 8
/* One msgpack str or bin inside an op: a note of a few paragraphs. */
#define AM_MP_STR_MAX 4096
/* Elements of one msgpack array or map (map: pairs). */
#define AM_MP_CONTAINER_MAX 256

/* Hybrid logical clock: stamps more than this far ahead of the local wall clock are
 * accepted and stored, but never pulled into the local clock (see hlc.h). */
#define AM_HLC_MAX_DRIFT_MS (10ULL * 60 * 1000)

/* Entries ingested in one write transaction. Bounds the store's own memory of a batch
 * (about 450 bytes per entry with the views' work: 30 MiB) and the time a writer holds
 * LMDB's write lock; the callers bound the bytes of the entries they pass (sync 8 MiB,
 * stick 16 MiB). Larger batches dirty fewer pages per entry: a page touched by several
 * objects of one batch is written once. */
#define AM_INGEST_BATCH_MAX 65536

/* The LMDB map starts at this size and doubles on MDB_MAP_FULL. */
#define AM_STORE_MAP_INITIAL (64ULL << 20)
/* A store never grows beyond this; 1 TiB of virtual address space is cheap on 64-bit. */
#define AM_STORE_MAP_MAX (1ULL << 40)

/* One discovery datagram: version 1 beacons are 100 bytes; 256 leaves room for a later
 * version while a datagram costs at most one short decrypt. */
#define AM_BEACON_MAX 256

/* Text a person types: a site slug, a node name. */
#define AM_NAME_MAX 64

#endif
