/*
 * stick_node.h: the stick format (transport/stick.h) bound to this node: the POSIX file
 * operations, the node's store, identity and clock, and the sentences the CLI and the
 * daemon show people about a stick sync. Prints nothing itself: sentences are written into
 * caller buffers.
 */
#ifndef AM_STICK_NODE_H
#define AM_STICK_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"
#include "stick.h"

/* File operations on a mounted volume (or any folder) with POSIX calls. ENOSPC, EDQUOT and
 * EFBIG are AM_EFULL; so is EPERM from a write (fusefat answers a full volume with a short
 * write and then EPERM); EROFS and EACCES are AM_EPERM. ctx is unused. */
extern const struct stick_fops stick_fops_posix;

/* Syncs the node with the stick at `root` (stick_sync with this node's store, keys,
 * install id, author, name and wall clock). `progress` may be NULL. Returns stick_sync's
 * code; `r` is always filled. */
int stick_node_sync(struct node *n, const char *root, unsigned flags, uint64_t max_bytes,
                    void (*progress)(void *ctx, int phase, uint64_t done, uint64_t total),
                    void *progress_ctx, struct stick_report *r);

/* The node's logs for stick_cfg.logs (every branch of a forked author travels): the logs
 * and entries of store `s`, which must outlive the sync. */
struct store;
void stick_node_logs_init(struct stick_logs *l, struct store *s);

/* stick_inspect for this node's network. */
int stick_node_inspect(struct node *n, const char *root, int force_scan, struct stick_view *v,
                       struct stick_report *r);

/* 1 when `root` holds an AIDMESH folder (any case, any network), else 0. */
int stick_node_has_folder(const char *root);

/* Calls cb for every mounted volume at or below `dir`: `dir` itself, its sub-folders and
 * theirs (/media/usb0, /media/USER/LABEL), each one that is a mount point (another device
 * than its parent folder). `id` tells this mount from an earlier one at the same place (the
 * kernel's mount id where statx gives it). Returns AM_OK or AM_ENOTFOUND (no such folder). */
int stick_node_mounts(const char *dir, void (*cb)(void *ctx, const char *path, uint64_t id),
                      void *ctx);

/* A sentence for a failed stick sync or inspect (rc != AM_OK): what happened and what to
 * do, naming `root`. */
void stick_node_error_text(int rc, const struct stick_report *r, const char *root, char *buf,
                           size_t cap);

/* A sentence for one damage finding, e.g. "S0000004.AMS: cut short at byte 1,234 (pulled
 * out while being written?); 512 bytes after it could not be read". */
void stick_node_damage_text(const struct stick_damage *d, char *buf, size_t cap);

/*
 * Sticks that came by. Every stick_node_sync that returns AM_OK appends one line to
 * <home>/sticks.log (created 0600), so the dashboard can say which sticks visited this
 * node and when. Text, one visit a line, fields separated by tabs: unix time in ms,
 * entries got, entries gave, entries on the stick afterwards, full (0 or 1), damage
 * findings, the path it was mounted at (tabs and control characters written as '?'; at
 * most STICK_NODE_VISIT_PATH_MAX - 1 bytes). One write(2) with O_APPEND per visit, so
 * two syncs at once do not mix their lines; about 60 bytes plus the path per visit.
 * Failing to write it never fails the sync. Nothing else reads or trusts it.
 */
#define STICK_NODE_VISITS_FILE    "sticks.log"
#define STICK_NODE_VISIT_PATH_MAX 256

struct stick_node_visit {
    uint64_t at_ms, got, gave, carries, damage;
    int full;
    char path[STICK_NODE_VISIT_PATH_MAX];
};

/* The newest visits recorded in `home` (at most cap; from the last 64 KiB of the file),
 * newest first, into out[0..*n). Lines that do not parse are skipped. Returns AM_OK (also
 * when no stick came yet: *n = 0) or AM_ESYS. */
int stick_node_visits(const char *home, struct stick_node_visit *out, size_t cap, size_t *n);

/* The parse of stick_node_visits, split from the file read (and fuzzed by
 * tests/fuzz/visits_fuzz.c): the newest visits among the `len` bytes at `buf` (a tail of
 * the file; `buf` need not be NUL-terminated and is changed: line ends are overwritten),
 * at most cap, newest first, into out[0..return). With `cut` != 0 the first line is taken
 * for one torn by the window and skipped. Lines that do not parse are skipped. */
size_t stick_node_visits_parse(char *buf, size_t len, int cut, struct stick_node_visit *out,
                               size_t cap);

/* The network id as 16 lowercase hex digits. */
void stick_node_netid_hex(const uint8_t id[static AM_NETID_LEN], char out[2 * AM_NETID_LEN + 1]);

#endif
