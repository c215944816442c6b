/*
 * home.h: the node's data home: where it is, and the key files in it.
 *
 * Layout (PROTOCOL.md section "Home"):
 *   DIR/identity.key   ed25519 seed of this node (0600)
 *   DIR/network.key    the network's invite secret (0600)
 *   DIR/config         text settings (name, listen address, static peers)
 *   DIR/store/         the LMDB environment
 *   DIR/run/           the running node's control socket and its lock (home_lock_run)
 * Key files are written atomically (temp file created 0600 with O_EXCL|O_NOFOLLOW,
 * written, fsynced, renamed, directory fsynced) and refused on read when group or others
 * may read them. Never prints; returns am_err.h codes and leaves the sentence to tools/.
 */
#ifndef AM_HOME_H
#define AM_HOME_H

#include <stddef.h>
#include <stdint.h>

#include "am_limits.h"

/* Picks the home: `flag` (from --home) if not NULL, else $AIDMESH_HOME, else
 * $HOME/.local/share/aidmesh. Returns AM_OK, or AM_EINVAL when no home can be named
 * (no $HOME) or the path is too long. */
int home_resolve(char out[static AM_HOME_PATH_MAX], const char *flag);

/* Joins home and a file name. Returns AM_OK or AM_EINVAL (too long). */
int home_path(char out[static AM_HOME_PATH_MAX], const char *home, const char *name);

/* 1 when DIR holds an identity, 0 otherwise. */
int home_is_initialised(const char *home);

/*
 * Creates the home (mode 0700) and writes a new identity from `seed` and the network
 * `secret` (both chosen by the caller), and the config with `name`. With force == 0 an
 * initialised home is refused with AM_EEXIST; with force != 0 the old key files are kept
 * beside the new ones as "<file>.replaced-<unix time>", never deleted.
 * Returns AM_OK, AM_EEXIST, AM_EPERM (an existing home others can write to: home_check),
 * AM_ESYS (errno set).
 */
int home_init(const char *home, const uint8_t seed[static AM_SEED_LEN],
              const uint8_t secret[static AM_NETSECRET_LEN], const char *name, int force);

/*
 * Key rotation (`aidmesh identity rotate`, PROTOCOL.md §6 "Forks"), in steps so that no
 * crash loses a key that has signed something, and no key file is ever deleted:
 *  - home_identity_stage writes `seed` as DIR/identity.key.new (0600, atomically).
 *    AM_EEXIST when that file is there already: an earlier rotation stopped between its
 *    steps (HOME_IDENTITY_NEW names it). AM_ESYS (errno set).
 *  - home_identity_commit keeps the current identity.key as
 *    "identity.key.replaced-<now>" (a second name of the same file: a hard link; its path
 *    into aside, cap bytes), then renames identity.key.new over identity.key (atomic) and
 *    syncs the folder. AM_OK, AM_EEXIST (that replaced- name is taken), AM_EINVAL (path
 *    too long), AM_ESYS (errno set; identity.key is then still the old key).
 *  - home_identity_unstage removes identity.key.new (a rotation that wrote nothing).
 */
#define HOME_IDENTITY_NEW "identity.key.new"
int home_identity_stage(const char *home, const uint8_t seed[static AM_SEED_LEN]);
int home_identity_commit(const char *home, long long now, char *aside, size_t cap);
void home_identity_unstage(const char *home);

/* Loads the identity as a libsodium secret key (seed || pk) into sk, which the caller
 * should have allocated with sodium_malloc. Returns AM_OK, AM_ENOTFOUND (not
 * initialised), AM_EPERM (file readable by group/others, or not a regular file),
 * AM_ECORRUPT (not a key file), AM_ESYS. */
int home_load_identity(const char *home, uint8_t sk[static AM_SK_LEN]);

/* Loads the network's invite secret. Errors as home_load_identity. */
int home_load_network(const char *home, uint8_t secret[static AM_NETSECRET_LEN]);

/* Calls cb with the value of every "key = value" line of DIR/config, in order, until cb
 * returns non-zero. Returns AM_OK (also when there is no config), AM_EINVAL, AM_ESYS. */
int home_config_each(const char *home, const char *key, int (*cb)(void *ctx, const char *value),
                     void *ctx);

/* The line parser of home_config_each, split out for tests/fuzz/config_fuzz.c: when the
 * NUL-terminated `line` (one line of the config, with or without its line end) is
 * "key = value" (blanks allowed around both), cuts the value at its line end (writing a NUL
 * into `line`) and returns it, a pointer into `line`; else returns NULL and leaves `line`
 * as it was. home_config_each reads the first HOME_CONFIG_LINE_MAX - 1 bytes of a line
 * and skips the rest of a longer one. */
#define HOME_CONFIG_LINE_MAX AM_HOME_CONFIG_LINE_MAX
const char *home_config_line(char *line, const char *key);

/* Reads `key` from DIR/config into out ("" when absent; the last line wins). Returns
 * AM_OK, AM_ESYS. */
int home_config_get(const char *home, const char *key, char *out, size_t cap);

/* Sets `key` in DIR/config: every "key = ..." line goes, the other lines stay as they are,
 * and "key = value" is appended (value NULL: the key only goes). The file is rewritten
 * whole and atomically (mode 0600). Returns AM_OK; AM_EINVAL (a key with a blank, '=' or a
 * line end, a value with a line end, a line over HOME_CONFIG_LINE_MAX); AM_ELIMIT (a config
 * over HOME_CONFIG_MAX bytes); AM_ENOMEM; AM_ESYS (errno set). */
#define HOME_CONFIG_MAX (64 * 1024)
int home_config_set(const char *home, const char *key, const char *value);

/* The "peer = HOST:PORT" lines of DIR/config, at most max of them, into out, each
 * normalised (home_peer_normal; a value that does not parse is kept as written) and each
 * peer once (`peer = HOST` and `peer = HOST:47470` are one). Returns how many (0 when
 * there is no config). */
#define HOME_PEER_MAX AM_HOME_PEER_MAX
int home_config_peers(const char *home, char out[][HOME_PEER_MAX], int max);

/* The one spelling of a static peer: "host:PORT" or "[v6]:PORT", the port 47470 when `in`
 * names none, the host in lower case (names and IPv6 addresses ignore case). Returns AM_OK,
 * or AM_EINVAL when `in` is not HOST, HOST:PORT or [V6]:PORT. */
int home_peer_normal(const char *in, char out[static HOME_PEER_MAX]);

/* Appends "peer = NORMAL" to DIR/config (`aidmesh peers add`), the normal form of
 * `hostport` going into out. Returns AM_OK; AM_EEXIST when a line already names that peer
 * (in any spelling home_peer_normal makes one: nothing is written); AM_EINVAL (not
 * HOST[:PORT]); AM_ESYS (errno set). */
int home_config_peer_add(const char *home, const char *hostport, char out[static HOME_PEER_MAX]);

/*
 * Key file primitives, exposed for tests: write `len` bytes of text atomically with mode
 * 0600 (AM_OK, AM_EEXIST when `path` exists and !replace, AM_ESYS); read at most cap-1
 * bytes into a NUL-terminated buffer, refusing a file others can read (AM_EPERM).
 */
int home_write_secret_file(const char *path, const char *text, size_t len, int replace);
int home_read_secret_file(const char *path, char *out, size_t cap);

/* A sentence for a key file at `path` that was refused (AM_EPERM): what it is (a link, a
 * pipe, a device, a folder, or readable by others) and what to do (PROTOCOL.md §7). Looks
 * at the file again (lstat only, never opens it). */
void home_key_error_text(const char *path, char *buf, size_t cap);

/*
 * Checks that the home, when it exists, is a folder that only its owner can change
 * (PROTOCOL.md §7): no write bit for group or others, owned by this user or root; anyone
 * else who can write there could swap its keys or its store. Follows a link to the home
 * (the operator named it). Returns AM_OK (also when there is no home yet), AM_EPERM,
 * AM_EINVAL (not a folder), AM_ESYS. home_init refuses such a home the same way.
 */
int home_check(const char *home);

/* A sentence for home_check's (or home_init's) `rc` about `home`, with the command to run
 * (e.g. `chmod 700 HOME`). */
void home_error_text(const char *home, int rc, char *buf, size_t cap);

/*
 * One `aidmesh run` per home (PROTOCOL.md §7). Opens HOME/run/daemon.lock (creating run/
 * 0700 and the file 0600; O_NOFOLLOW, O_CLOEXEC: never inherited) and takes an exclusive
 * flock on it without waiting. On success writes this process's id into it, sets *fd and
 * returns AM_OK: the lock lasts until home_unlock_run(*fd) or the process's end (the
 * kernel releases it when the process dies, however it dies, so a lock file left behind
 * never blocks). Returns AM_EEXIST when another process holds it, with *holder set to
 * the process id written in the file (0 when it cannot be read yet); AM_EPERM when the
 * lock file is a link or not a plain file; AM_EINVAL (path too long); AM_ESYS (errno
 * set). Only `aidmesh run` takes it: other commands write to the store beside the node.
 */
#define HOME_LOCK_FILE "run/daemon.lock"
int home_lock_run(const char *home, int *fd, long *holder);

/* Opens (creating it, mode 0600, never truncating) the lock file at `path` for flock: *fd
 * the caller's. AM_OK, AM_EPERM (a symbolic link, or not a plain file), AM_ESYS (errno
 * set). */
int home_open_lock_file(const char *path, int *fd);

/* Releases the lock of home_lock_run (closes fd; the file stays). fd < 0: nothing. */
void home_unlock_run(int fd);

#endif
