/* home_test.c: the node's home (node/home.c) in temp dirs: key files written and read back,
 * and every refusal of PROTOCOL.md §7: a key others can read, a key that is a FIFO or a
 * link, a home that group or others can write to. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "am_err.h"
#include "home.h"
#include "testutil.h"

static char *dir;
static char home[AM_HOME_PATH_MAX];
static uint8_t seed[AM_SEED_LEN], secret[AM_NETSECRET_LEN];

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    dir = tu_tmpdir();
    cr_assert_eq(home_path(home, dir, "home"), AM_OK);
    randombytes_buf(seed, sizeof seed);
    randombytes_buf(secret, sizeof secret);
}

static void teardown(void)
{
    tu_rmrf(dir);
    free(dir);
}

TestSuite(home, .init = setup, .fini = teardown, .timeout = 60);

static void key_path(char out[static AM_HOME_PATH_MAX], const char *name)
{
    cr_assert_eq(home_path(out, home, name), AM_OK);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0, "%s", path);
    return st.st_mode & 07777;
}

Test(home, init_writes_owner_only_keys_that_load_back)
{
    uint8_t sk[AM_SK_LEN], pk[AM_PK_LEN], want[AM_SK_LEN], got[AM_NETSECRET_LEN];
    char path[AM_HOME_PATH_MAX], name[64];

    cr_assert_not(home_is_initialised(home));
    cr_assert_eq(home_init(home, seed, secret, "depot-3", 0), AM_OK);
    cr_assert(home_is_initialised(home));
    cr_assert_eq(mode_of(home), 0700, "home mode %o", (unsigned)mode_of(home));
    key_path(path, "identity.key");
    cr_assert_eq(mode_of(path), 0600);
    key_path(path, "network.key");
    cr_assert_eq(mode_of(path), 0600);

    cr_assert_eq(home_load_identity(home, sk), AM_OK);
    crypto_sign_seed_keypair(pk, want, seed);
    cr_assert_eq(memcmp(sk, want, AM_SK_LEN), 0, "the identity is the seed given");
    cr_assert_eq(home_load_network(home, got), AM_OK);
    cr_assert_eq(memcmp(got, secret, sizeof got), 0);
    cr_assert_eq(home_config_get(home, "name", name, sizeof name), AM_OK);
    cr_assert_str_eq(name, "depot-3");

    /* a second init without force is refused and changes nothing */
    randombytes_buf(seed, sizeof seed);
    cr_assert_eq(home_init(home, seed, secret, "other", 0), AM_EEXIST);
    cr_assert_eq(home_load_identity(home, sk), AM_OK);
    cr_assert_eq(memcmp(sk, want, AM_SK_LEN), 0);
}

Test(home, force_keeps_the_old_keys_aside)
{
    uint8_t other[AM_SEED_LEN], sk[AM_SK_LEN], pk[AM_PK_LEN], want[AM_SK_LEN];
    char path[AM_HOME_PATH_MAX];
    int aside = 0;
    DIR *ls;

    cr_assert_eq(home_init(home, seed, secret, NULL, 0), AM_OK);
    randombytes_buf(other, sizeof other);
    cr_assert_eq(home_init(home, other, secret, NULL, 1), AM_OK);
    cr_assert_eq(home_load_identity(home, sk), AM_OK);
    crypto_sign_seed_keypair(pk, want, other);
    cr_assert_eq(memcmp(sk, want, AM_SK_LEN), 0, "the new identity is in place");
    /* the old identity.key is beside it, never deleted, and still the old key */
    ls = opendir(home);
    cr_assert(ls);
    for (struct dirent *de; (de = readdir(ls));) {
        char text[256];
        if (strncmp(de->d_name, "identity.key.replaced-", 22) != 0)
            continue;
        aside++;
        cr_assert_eq(home_path(path, home, de->d_name), AM_OK);
        cr_assert_eq(home_read_secret_file(path, text, sizeof text), AM_OK);
        cr_assert_eq(mode_of(path), 0600);
    }
    closedir(ls);
    cr_assert_eq(aside, 1);
}

Test(home, secret_file_round_trip_and_no_overwrite)
{
    char path[AM_HOME_PATH_MAX], out[64];
    cr_assert_eq(home_path(path, dir, "k"), AM_OK);
    cr_assert_eq(home_write_secret_file(path, "first\n", 6, 0), AM_OK);
    cr_assert_eq(mode_of(path), 0600);
    cr_assert_eq(home_write_secret_file(path, "second\n", 7, 0), AM_EEXIST);
    cr_assert_eq(home_read_secret_file(path, out, sizeof out), AM_OK);
    cr_assert_str_eq(out, "first\n");
    cr_assert_eq(home_write_secret_file(path, "second\n", 7, 1), AM_OK);
    cr_assert_eq(home_read_secret_file(path, out, sizeof out), AM_OK);
    cr_assert_str_eq(out, "second\n");
    /* a read is bounded by the buffer */
    cr_assert_eq(home_read_secret_file(path, out, 4), AM_OK);
    cr_assert_str_eq(out, "sec");
    cr_assert_eq(home_path(path, dir, "absent"), AM_OK);
    cr_assert_eq(home_read_secret_file(path, out, sizeof out), AM_ENOTFOUND);
}

Test(home, a_key_others_can_read_is_refused)
{
    char path[AM_HOME_PATH_MAX], text[512];
    uint8_t sk[AM_SK_LEN], got[AM_NETSECRET_LEN];
    static const mode_t bad[] = {0640, 0604, 0660, 0644, 0610, 0601};

    cr_assert_eq(home_init(home, seed, secret, NULL, 0), AM_OK);
    key_path(path, "identity.key");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(chmod(path, bad[i]), 0);
        cr_assert_eq(home_load_identity(home, sk), AM_EPERM, "mode %o", (unsigned)bad[i]);
    }
    home_key_error_text(path, text, sizeof text);
    cr_assert(strstr(text, path), "the sentence names the file: %s", text);
    cr_assert(strstr(text, "chmod 600"), "and the fix: %s", text);
    cr_assert_eq(chmod(path, 0400), 0, "owner-only read is fine");
    cr_assert_eq(home_load_identity(home, sk), AM_OK);

    key_path(path, "network.key");
    cr_assert_eq(chmod(path, 0644), 0);
    cr_assert_eq(home_load_network(home, got), AM_EPERM);
}

Test(home, a_fifo_key_is_refused_without_waiting_for_a_writer)
{
    char path[AM_HOME_PATH_MAX], text[512];
    uint8_t sk[AM_SK_LEN];

    cr_assert_eq(home_init(home, seed, secret, NULL, 0), AM_OK);
    key_path(path, "identity.key");
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(mkfifo(path, 0600), 0);
    /* an open would block forever: the test's timeout would catch it */
    cr_assert_eq(home_load_identity(home, sk), AM_EPERM);
    home_key_error_text(path, text, sizeof text);
    cr_assert(strstr(text, "pipe"), "%s", text);
}

Test(home, a_symlinked_key_is_refused_even_to_a_good_key)
{
    char path[AM_HOME_PATH_MAX], real[AM_HOME_PATH_MAX], text[512];
    uint8_t sk[AM_SK_LEN];

    cr_assert_eq(home_init(home, seed, secret, NULL, 0), AM_OK);
    key_path(path, "identity.key");
    cr_assert_eq(home_path(real, dir, "elsewhere.key"), AM_OK);
    cr_assert_eq(rename(path, real), 0);
    cr_assert_eq(mode_of(real), 0600, "the target itself is a good key file");
    cr_assert_eq(symlink(real, path), 0);
    cr_assert_eq(home_load_identity(home, sk), AM_EPERM);
    home_key_error_text(path, text, sizeof text);
    cr_assert(strstr(text, "link"), "%s", text);
    /* a link to a folder, or to nowhere, is refused the same way */
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(symlink(dir, path), 0);
    cr_assert_eq(home_load_identity(home, sk), AM_EPERM);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(symlink("/nonexistent/aidmesh.key", path), 0);
    cr_assert_eq(home_load_identity(home, sk), AM_EPERM);
    /* a folder where the key should be */
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(mkdir(path, 0700), 0);
    cr_assert_eq(home_load_identity(home, sk), AM_EPERM);
}

Test(home, a_key_file_that_is_not_a_key_is_corrupt)
{
    char path[AM_HOME_PATH_MAX];
    uint8_t sk[AM_SK_LEN];
    cr_assert_eq(home_init(home, seed, secret, NULL, 0), AM_OK);
    key_path(path, "identity.key");
    cr_assert_eq(home_write_secret_file(path, "hello\n", 6, 1), AM_OK);
    cr_assert_eq(home_load_identity(home, sk), AM_ECORRUPT);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(home_load_identity(home, sk), AM_ENOTFOUND);
    cr_assert_not(home_is_initialised(home));
}

Test(home, a_home_group_or_others_can_write_to_is_refused)
{
    static const mode_t bad[] = {0720, 0702, 0770, 0777, 0722};
    char text[512];

    cr_assert_eq(home_check(home), AM_OK, "no home yet is fine");
    cr_assert_eq(home_init(home, seed, secret, NULL, 0), AM_OK);
    cr_assert_eq(home_check(home), AM_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(chmod(home, bad[i]), 0);
        cr_assert_eq(home_check(home), AM_EPERM, "mode %o", (unsigned)bad[i]);
        cr_assert_eq(home_init(home, seed, secret, NULL, 1), AM_EPERM, "init refuses it too");
    }
    home_error_text(home, AM_EPERM, text, sizeof text);
    cr_assert(strstr(text, home) && strstr(text, "chmod 700"), "%s", text);
    cr_assert_eq(chmod(home, 0750), 0, "group may read and enter, not write");
    cr_assert_eq(home_check(home), AM_OK);
}

Test(home, a_file_where_the_home_should_be_is_not_a_home)
{
    char path[AM_HOME_PATH_MAX];
    int fd;
    cr_assert_eq(home_path(path, dir, "plainfile"), AM_OK);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0700);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(home_check(path), AM_EINVAL);
}

Test(home, a_static_peer_has_one_spelling_and_is_kept_once)
{
    static const struct {
        const char *in, *out;
    } norm[] = {
        {"10.0.0.7", "10.0.0.7:47470"},         {"10.0.0.7:47470", "10.0.0.7:47470"},
        {"10.0.0.7:0047470", "10.0.0.7:47470"}, {"Hub.LOCAL", "hub.local:47470"},
        {"[FD00::1]", "[fd00::1]:47470"},       {"[fd00::1]:9", "[fd00::1]:9"},
    };
    static const char *bad[] = {"", ":47470", "h:0", "h:65536", "fd00::1", "[fd00::1", "h:x"};
    char out[HOME_PEER_MAX], path[AM_HOME_PATH_MAX], peers[8][HOME_PEER_MAX];
    FILE *f;
    for (size_t i = 0; i < sizeof norm / sizeof norm[0]; i++) {
        cr_assert_eq(home_peer_normal(norm[i].in, out), AM_OK, "%s", norm[i].in);
        cr_expect_str_eq(out, norm[i].out, "%s", norm[i].in);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(home_peer_normal(bad[i], out), AM_EINVAL, "'%s'", bad[i]);

    cr_assert_eq(home_init(home, seed, secret, "n", 0), AM_OK);
    cr_assert_eq(home_config_peer_add(home, "10.0.0.7", out), AM_OK);
    cr_expect_str_eq(out, "10.0.0.7:47470");
    cr_expect_eq(home_config_peer_add(home, "10.0.0.7:47470", out), AM_EEXIST);
    cr_expect_eq(home_config_peer_add(home, "nohost:", out), AM_EINVAL);
    /* lines written by hand in other spellings: listed once, in the one spelling */
    cr_assert_eq(home_path(path, home, "config"), AM_OK);
    f = fopen(path, "a");
    cr_assert(f);
    fputs("peer = 10.0.0.7\npeer=10.0.0.7:47470 \npeer = HUB.local\npeer = hub.local:47470\n"
          "peer = 10.0.0.8:x\n",
          f);
    fclose(f);
    cr_expect_eq(home_config_peer_add(home, "hub.LOCAL", out), AM_EEXIST);
    cr_assert_eq(home_config_peers(home, peers, 8), 3);
    cr_expect_str_eq(peers[0], "10.0.0.7:47470");
    cr_expect_str_eq(peers[1], "hub.local:47470");
    cr_expect_str_eq(peers[2], "10.0.0.8:x", "a value that does not parse is kept as written");
}
