/*
 * cli_report.c: `aidmesh report --html FILE`: the dashboard page (node/dashboard.h) as one
 * static HTML file, to print or to carry on a stick. Reads the node; writes only FILE
 * (through a temporary file beside it, fsynced, then renamed over it).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "am_err.h"
#include "cli.h"
#include "dashboard.h"

enum { OPT_HOME = CLI_OPT_HOME, OPT_HELP = CLI_OPT_HELP, OPT_HTML = 5000 };

static const char report_help[] =
    "usage: aidmesh report --html FILE [--home DIR]\n"
    "\n"
    "Writes the hub dashboard as one HTML file that needs nothing else: the open needs,\n"
    "critical first, the stock of every site with overdrawn, count-conflicting, expired\n"
    "and expiring lots highlighted, the peers the running node last saw, and the sticks\n"
    "that came by. Open it in any browser, print it, or carry it on a stick. It is the\n"
    "page `aidmesh run --http ADDR:PORT` serves, as of now (it does not update itself).\n"
    "\n"
    "  --html FILE  where to write it; '-' writes to standard output\n";

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* FILE through FILE.tmp-PID: a reader never sees half a page. Returns 0 or an errno. */
static int write_file(const char *path, const char *page, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    int fd, e = 0;
    if (!tmp)
        return ENOMEM;
    snprintf(tmp, plen + 32, "%s.tmp-%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        e = errno;
        free(tmp);
        return e;
    }
    if (write_all(fd, page, len) != 0 || fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e)
        unlink(tmp);
    free(tmp);
    return e;
}

int cli_cmd_report(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"home", required_argument, NULL, OPT_HOME},
                                         {"help", no_argument, NULL, OPT_HELP},
                                         {"html", required_argument, NULL, OPT_HTML},
                                         {0, 0, 0, 0}};
    const char *cmd = "report", *file = NULL;
    struct dashboard_opts o;
    struct node n;
    char *page = NULL;
    size_t len = 0;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int k = cli_common_opt(c, opt);
        if (k == OPT_HELP) {
            fputs(report_help, stdout);
            return 0;
        }
        if (k)
            continue;
        if (opt == OPT_HTML)
            file = optarg;
        else
            return cli_bad_option(cmd, argv);
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!file || !*file)
        return cli_usage(cmd, "%s", "say where to write the page: --html FILE (or --html -)");
    if (cli_open(c, &n, NULL))
        return 1;
    memset(&o, 0, sizeof o); /* now, and no reloading: a still snapshot */
    rc = dashboard_render(&n, &o, &page, &len);
    node_close(&n);
    if (rc != AM_OK) {
        cli_err("%s: cannot make the page: %s%s", cmd, am_strerror(rc),
                rc == AM_ECORRUPT ? "; run `aidmesh reindex`" : "");
        return 1;
    }
    if (strcmp(file, "-") == 0) {
        rc = write_all(STDOUT_FILENO, page, len) == 0 ? 0 : errno;
    } else {
        rc = write_file(file, page, len);
        if (rc == 0)
            printf("wrote the dashboard to %s (%zu bytes): open it in a browser, print it, or "
                   "copy it to a stick\n",
                   file, len);
    }
    free(page);
    if (rc != 0) {
        cli_err("%s: cannot write %s: %s%s", cmd, file, strerror(rc),
                rc == ENOENT ? " (does its folder exist?)" : "");
        return 1;
    }
    return 0;
}
