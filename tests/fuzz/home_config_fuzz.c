/*
 * home_config_fuzz.c: libFuzzer target for the reader of the home's text settings
 * DIR/config (node/home.c: home_config_line, and home_config_each through
 * home_config_get and home_config_peers). A person edits that file by hand.
 *
 * The input is the file's bytes. Two parts:
 *  1. Line by line, in memory: each line of the input (up to '\n', cut to
 *     HOME_CONFIG_LINE_MAX - 1 bytes, NUL-terminated as fgets leaves it) goes through
 *     home_config_line for a few keys. A value must lie inside the line, be NUL-terminated
 *     there and hold no line end; a line that does not match must be left as it was.
 *  2. Through the file: the input is written to `config` in a temporary home (made and
 *     removed for each input) and read back with home_config_peers and home_config_get. Their
 *     answers must be what part 1's lines give: the peers (at most the max asked, each
 *     1..HOME_PEER_MAX-1 bytes without blanks) and the last `name` (cut to the buffer).
 *     A line of the file is one line, however long: its tail is never read as a line.
 *
 * Corpus (tests/fuzz/corpus/home_config/): a config as home_init writes it with peers
 * added, and hand-made edge cases (empty, no final line end, CRLF, blanks around '=',
 * keys that are prefixes of others, over-long lines and values, more peers than asked,
 * NUL bytes, binary junk).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "am_err.h"
#include "home.h"
#include "fuzz.h"

#define PEERS_ASKED 8
#define NAME_CAP    24

static char home[64], file[96];

/* A new temporary home holding `config` with the input. Made and removed for each input:
 * libFuzzer leaves with _Exit at -max_total_time, so an atexit() cleanup would not run. */
static void home_make(const uint8_t *data, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    int fd;
    snprintf(home, sizeof home, "%s/amfz-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    CHECK(mkdtemp(home) != NULL);
    snprintf(file, sizeof file, "%s/config", home);
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
    close(fd);
}

static void home_remove(void)
{
    CHECK(unlink(file) == 0 && rmdir(home) == 0);
}

/* Part 1's answers, the oracle of part 2. */
struct expect {
    char peers[PEERS_ASKED][HOME_PEER_MAX];
    int n_peers;
    char name[NAME_CAP];
};

static void check_line(const char *text, size_t n, struct expect *e)
{
    static const char *const keys[] = {"peer", "name", "listen", "pee", ""};
    char line[HOME_CONFIG_LINE_MAX], copy[HOME_CONFIG_LINE_MAX];
    size_t len;

    /* as home_config_each reads it: the first HOME_CONFIG_LINE_MAX - 1 bytes, then the
     * line end when there is room (it makes no difference to a value) */
    if (n > HOME_CONFIG_LINE_MAX - 1)
        n = HOME_CONFIG_LINE_MAX - 1;
    memcpy(line, text, n);
    if (n < HOME_CONFIG_LINE_MAX - 1)
        line[n++] = '\n';
    line[n] = 0;
    len = strlen(line);
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        const char *v;
        memcpy(copy, line, len + 1);
        v = home_config_line(copy, keys[k]);
        if (!v) {
            CHECK(memcmp(copy, line, len + 1) == 0);
            continue;
        }
        CHECK(v >= copy && v <= copy + len);
        CHECK(memchr(v, 0, (size_t)(copy + sizeof copy - v)) != NULL);
        CHECK(strpbrk(v, "\r\n") == NULL);
        CHECK(strncmp(v, line + (v - copy), strlen(v)) == 0);
        if (k == 0 && e->n_peers < PEERS_ASKED) {
            size_t pl = strcspn(v, " \t");
            if (pl > 0 && pl < HOME_PEER_MAX) {
                memcpy(e->peers[e->n_peers], v, pl);
                e->peers[e->n_peers][pl] = 0;
                e->n_peers++;
            }
        } else if (k == 1) {
            snprintf(e->name, sizeof e->name, "%s", v);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct expect e;
    static char peers[PEERS_ASKED + 1][HOME_PEER_MAX];
    char name[NAME_CAP];
    const char *text = (const char *)data;
    size_t at = 0;
    int n;

    memset(&e, 0, sizeof e);
    while (at < size) {
        const char *nl = memchr(text + at, '\n', size - at);
        size_t n_line = nl ? (size_t)(nl - (text + at)) : size - at;
        check_line(text + at, n_line, &e);
        at += n_line + (nl != NULL);
    }

    home_make(data, size);

    memset(peers, 'Z', sizeof peers);
    n = home_config_peers(home, peers, PEERS_ASKED);
    CHECK(n == e.n_peers);
    for (int i = 0; i < n; i++) {
        size_t pl = strnlen(peers[i], HOME_PEER_MAX);
        CHECK(pl > 0 && pl < HOME_PEER_MAX);
        CHECK(strpbrk(peers[i], " \t\r\n") == NULL);
        CHECK(strcmp(peers[i], e.peers[i]) == 0);
    }
    CHECK(peers[PEERS_ASKED][0] == 'Z'); /* nothing past max */
    CHECK(home_config_peers(home, peers, 0) == 0);

    memset(name, 'Z', sizeof name);
    CHECK(home_config_get(home, "name", name, sizeof name) == AM_OK);
    CHECK(memchr(name, 0, sizeof name) != NULL);
    CHECK(strcmp(name, e.name) == 0);
    home_remove();
    return 0;
}
