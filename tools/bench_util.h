/*
 * bench_util.h: what the benchmark's files share to run aidmesh processes and watch them
 * (defined in bench_util.c): a monotonic clock, spawning and stopping daemons, reading a
 * process's memory, setting up a node home, removing a temporary tree.
 */
#ifndef AM_BENCH_UTIL_H
#define AM_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_NODES_MAX 32  /* daemons of the propagation figure; free ports at once */
#define BENCH_STOP_S    5.0 /* SIGTERM, then this long before SIGKILL */

/* Memory of a process from /proc/PID/status, in MiB. */
struct proc_mem {
    double hwm, rss, anon, file, shmem;
};

double bench_now_s(void); /* monotonic seconds */
void bench_sleep_ms(unsigned ms);
/* The aidmesh binary beside this one (out, cap bytes); 0 if there is none. */
int bench_find_aidmesh(char *out, size_t cap);
/* Runs argv to completion, stdout into out (cap bytes, NUL-terminated) or `log`.
 * Returns the exit status, or -1 when it could not run or was killed. */
int bench_run_cmd(char *const argv[], char *out, size_t cap, const char *log);
/* k free TCP ports on 127.0.0.1 (k at most BENCH_NODES_MAX). Returns AM_OK or AM_ESYS. */
int bench_free_ports(uint16_t *ports, int k);
/* Starts argv (argv[0] the binary's path) with fork and execv: stdin from /dev/null,
 * stdout to out_fd (or `log`, or /dev/null), stderr to `log` (or /dev/null). Returns its
 * pid or -1. */
pid_t bench_spawn(char *const argv[], int out_fd, const char *log);
/* Prints the end of a log file to stderr. */
void bench_show_log(const char *path);
/* Starts argv (stdout and stderr appended to log, or /dev/null). The pid, or -1. */
pid_t bench_spawn_fast(char *const argv[], const char *log);
/* SIGTERM, then SIGKILL after 5 s; waits. 0 if it exited with status 0, else -1. */
int bench_stop_pid(pid_t pid, const char *what, const char *log);
int bench_proc_mem_read(pid_t pid, struct proc_mem *m); /* 0 or -1 */
double bench_owned(const struct proc_mem *m);           /* anonymous + shared, MiB */
/* `aidmesh init` of `home` (joining invite `code` when non-empty). AM_OK or AM_ESYS. */
/* A blocking TCP connection to 127.0.0.1:port, or -1 (refused: nobody listens yet). */
int bench_connect_local(uint16_t port);
int bench_home_setup(const char *bin, const char *home, const char *name, const char *code,
                     const char *log);

/* "aidmesh-bench: what: <am_strerror(rc)>" on stderr. */
void bench_fail(const char *what, int rc);
/* qsort comparison of two doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);
/* Removes path and everything below it (not following links); says on stderr what it
 * could not remove. */
void bench_rm_tree(const char *path);

#endif
