/*
 * bench_util.c: what the benchmark's files share (bench_util.h): a monotonic clock,
 * spawning, running and stopping aidmesh processes, free loopback ports, reading a
 * process's memory from /proc, setting up a node home, removing a temporary tree.
 *
 * Never measures a figure or adds a row; never leaves a child it started unwaited
 * (bench_stop_pid waits, SIGKILL after BENCH_STOP_S).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "bench_parts.h"
#include "bench_report.h"
#include "bench_util.h"
#include "cli.h"

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_fail(const char *what, int rc)
{
    fprintf(stderr, "aidmesh-bench: %s: %s\n", what, am_strerror(rc));
}

int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "aidmesh-bench: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

void bench_rm_tree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The aidmesh binary beside this one, or 0 if there is none. */
int bench_find_aidmesh(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash;

    if (k <= 0)
        return 0;
    self[k] = 0;
    if (!(slash = strrchr(self, '/')))
        return 0;
    *slash = 0;
    if ((size_t)snprintf(out, cap, "%s/aidmesh", self) >= cap)
        return 0;
    return access(out, X_OK) == 0;
}

/* In a child: stdin from /dev/null, stdout to out_fd (or `log`, or /dev/null), stderr to
 * `log` (or /dev/null). */
static void child_stdio(int out_fd, const char *log)
{
    int nul = open("/dev/null", O_RDWR);
    int lf = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0600) : -1;
    if (lf < 0)
        lf = nul;
    dup2(nul, 0);
    dup2(out_fd >= 0 ? out_fd : lf, 1);
    dup2(lf, 2);
}

/* Starts argv (argv[0] the binary's path). Returns its pid or -1. */
pid_t bench_spawn(char *const argv[], int out_fd, const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        child_stdio(out_fd, log);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Runs argv to completion; its stdout goes to out (NUL-terminated, cut at cap) or to
 * `log`. Returns its exit status, or -1 when it could not run or was killed. */
int bench_run_cmd(char *const argv[], char *out, size_t cap, const char *log)
{
    int pfd[2] = {-1, -1}, st;
    size_t len = 0;
    pid_t pid;

    if (out && pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    pid = bench_spawn(argv, out ? pfd[1] : -1, log);
    if (out) {
        close(pfd[1]);
        for (;;) {
            char junk[512];
            ssize_t r = len + 1 < cap ? read(pfd[0], out + len, cap - 1 - len)
                                      : read(pfd[0], junk, sizeof junk);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            if (len + 1 < cap)
                len += (size_t)r;
        }
        close(pfd[0]);
        out[len] = 0;
    }
    if (pid < 0)
        return -1;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void bench_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* `k` free TCP ports on 127.0.0.1 (held together while chosen, so they differ). */
int bench_free_ports(uint16_t *ports, int k)
{
    int fds[BENCH_NODES_MAX], rc = AM_OK, i;

    for (i = 0; i < k; i++) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if ((fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
            bind(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &sl) != 0) {
            rc = AM_ESYS;
            if (fds[i] >= 0)
                i++;
            break;
        }
        ports[i] = ntohs(sa.sin_port);
    }
    while (i-- > 0)
        close(fds[i]);
    return rc;
}

/* Prints the last bytes of a daemon's log to stderr (on failure). */
void bench_show_log(const char *path)
{
    char buf[2048];
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f)
        return;
    if (fseek(f, -(long)(sizeof buf - 1), SEEK_END) != 0)
        rewind(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fprintf(stderr, "aidmesh-bench: --- end of %s ---\n%s", path, buf);
    fclose(f);
}

/* Starts argv with posix_spawn (vfork-like: its cost does not grow with this process's
 * memory), stdin from /dev/null, stdout and stderr appended to `log` (or /dev/null).
 * Returns the pid or -1. */
pid_t bench_spawn_fast(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    int rc;

    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(&fa, 1, log ? log : "/dev/null",
                                              O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (rc == 0)
        rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

/* SIGTERM, then SIGKILL after BENCH_STOP_S; waits for it. Returns 0 if it exited with
 * status 0, else -1 (and shows the end of its log: a sanitizer's report, a crash). */
int bench_stop_pid(pid_t pid, const char *what, const char *log)
{
    double t = bench_now_s();
    int st = 0;

    if (pid <= 0)
        return 0;
    kill(pid, SIGTERM);
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (bench_now_s() - t > BENCH_STOP_S) {
            fprintf(stderr, "aidmesh-bench: %s ignored SIGTERM: killing it\n", what);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        bench_sleep_ms(2);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    fprintf(stderr, "aidmesh-bench: %s did not stop cleanly\n", what);
    if (log)
        bench_show_log(log);
    return -1;
}

int bench_proc_mem_read(pid_t pid, struct proc_mem *m)
{
    char path[64], line[256];
    FILE *f;
    int got = 0;

    memset(m, 0, sizeof *m);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f)) {
        static const char *const key[] = {"VmHWM:", "VmRSS:", "RssAnon:", "RssFile:", "RssShmem:"};
        double *dst[] = {&m->hwm, &m->rss, &m->anon, &m->file, &m->shmem};
        for (int i = 0; i < 5; i++) {
            size_t kl = strlen(key[i]);
            if (strncmp(line, key[i], kl) == 0) {
                *dst[i] = strtod(line + kl, NULL) / 1024.0; /* kB */
                got++;
            }
        }
    }
    fclose(f);
    return got == 5 ? 0 : -1;
}

double bench_owned(const struct proc_mem *m)
{
    return m->anon + m->shmem;
}

/* `aidmesh init` of a home (joining `code` when non-empty). */
int bench_home_setup(const char *bin, const char *home, const char *name, const char *code,
                     const char *log)
{
    char *init0[] = {(char *)bin, "--home", (char *)home, "init", "--name", (char *)name, NULL};
    char *initj[] = {(char *)bin,  "--home", (char *)home, "init", "--name",
                     (char *)name, "--join", (char *)code, NULL};
    if (bench_run_cmd(code && *code ? initj : init0, NULL, 0, log) != 0) {
        fprintf(stderr, "aidmesh-bench: aidmesh init of %s failed\n", home);
        bench_show_log(log);
        return AM_ESYS;
    }
    return AM_OK;
}

/* A blocking TCP connection to 127.0.0.1:port, or -1 (refused: nobody listens yet). */
int bench_connect_local(uint16_t port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}
