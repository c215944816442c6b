/*
 * doctor.c: facts for `aidmesh doctor` (see doctor.h): files, disk, the running daemon's
 * status (asked over its control socket), interfaces, a bounded beacon probe, TCP reachability.
 *
 * What it must never do: print; wait without a deadline; use a received byte before
 * beacon_sniff()/beacon_decode() (length first) accepted it; send anything but beacons to
 * the discovery groups (hop limit 1) and TCP connection attempts; keep the beacon key past
 * the call (sodium_malloc'd, freed with a wipe).
 */
#include "doctor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "am_err.h"
#include "beacon.h"
#include "daemon.h"
#include "entry.h"
#include "home.h"
#include "status.h"
#include "sync.h"

#define RBUF      512 /* over BEACON_MAX: longer datagrams are seen whole and counted */
#define DRAIN_MAX 64  /* datagrams read per socket per wake-up */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- files and disk ------------------------------------------------------------------------ */

void doctor_file_stat(const char *path, struct doctor_file *f)
{
    struct stat st;

    memset(f, 0, sizeof *f);
    if (lstat(path, &st) != 0) {
        f->stat_errno = errno == ENOENT ? 0 : errno;
        return;
    }
    f->exists = 1;
    f->regular = S_ISREG(st.st_mode);
    f->mode = (unsigned)(st.st_mode & 07777);
    f->owned = st.st_uid == geteuid();
}

int doctor_disk(const char *path, struct doctor_disk *d)
{
    struct statvfs v;
    struct statfs s;

    memset(d, 0, sizeof *d);
    if (statvfs(path, &v) != 0)
        return AM_ESYS;
    d->free_bytes = (uint64_t)v.f_bavail * v.f_frsize;
    d->total_bytes = (uint64_t)v.f_blocks * v.f_frsize;
    if (statfs(path, &s) == 0) {
        /* magic numbers of linux/magic.h (and fs/exfat) */
        switch ((unsigned long)s.f_type) {
        case 0x4d44UL:
            d->risky_fs = "FAT";
            break;
        case 0x2011BAB0UL:
            d->risky_fs = "exFAT";
            break;
        case 0x6969UL:
            d->risky_fs = "NFS";
            break;
        case 0xFF534D42UL:
        case 0xFE534D42UL:
        case 0x517BUL:
            d->risky_fs = "SMB";
            break;
        case 0x65735546UL:
            d->risky_fs = "FUSE";
            break;
        default:
            break;
        }
    }
    return AM_OK;
}

/* ---- the daemon of this home --------------------------------------------------------------- */

void doctor_daemon_status(const char *home, struct doctor_daemon *d)
{
    char path[AM_HOME_PATH_MAX];
    struct node_status st;
    struct stat sb;
    int rc;

    memset(d, 0, sizeof *d);
    if (home_path(path, home, STATUS_SOCKET) != AM_OK)
        return;
    d->present = lstat(path, &sb) == 0;
    status_init(&st);
    rc = status_ask(home, 0, &st, NULL, 0);
    d->hung = rc == AM_ETIMEOUT;
    if (rc == AM_OK) {
        d->alive = 1;
        d->pid = st.pid;
        d->port = st.port;
        d->written_ms = st.written;
        d->connected = st.n_connected > UINT_MAX ? UINT_MAX : (unsigned)st.n_connected;
        for (size_t i = 0; i < st.n_impostors && d->n_impostors < DOCTOR_IMPOSTORS_MAX; i++) {
            const struct status_impostor *s = &st.impostors[i];
            struct doctor_impostor *im = &d->impostors[d->n_impostors++];
            snprintf(im->address, sizeof im->address, "%s", s->address);
            snprintf(im->author, sizeof im->author, "%s", s->author);
            snprintf(im->reason, sizeof im->reason, "%s", s->reason);
            im->count = s->count;
            im->last_fail_ms = s->last_fail;
            im->last_heard_ms = s->last_heard;
            im->verified_elsewhere = s->verified_elsewhere;
        }
    }
    status_free(&st);
}

struct doctor_peers {
    char (*out)[300];
    size_t n, max;
    unsigned *bad;
};

static int doctor_peer_one(void *ctx, const char *value)
{
    struct doctor_peers *c = ctx;
    char h[256], p[8];
    size_t len = strcspn(value, " \t");
    if (len == 0 || len >= 300) {
        (*c->bad)++;
        return 0;
    }
    {
        char v[300];
        memcpy(v, value, len);
        v[len] = 0;
        if (daemon_split_hostport(v, h, sizeof h, p, sizeof p) != AM_OK) {
            (*c->bad)++;
            return 0;
        }
        if (c->n < c->max)
            memcpy(c->out[c->n++], v, len + 1);
    }
    return 0;
}

size_t doctor_config_peers(const char *home, char (*out)[300], size_t max, unsigned *bad)
{
    struct doctor_peers c = {out, 0, max, bad};
    *bad = 0;
    home_config_each(home, "peer", doctor_peer_one, &c);
    return c.n;
}

/* ---- store -------------------------------------------------------------------------------- */

struct heads_ctx {
    struct store *s;
    struct doctor_heads *h;
    uint8_t *buf;
};

static void heads_problem(struct doctor_heads *h, const uint8_t *author, uint64_t seq,
                          const char *what)
{
    char hex[65];
    if (h->problems++ == 0) {
        entry_id_hex(author, hex);
        snprintf(h->first, sizeof h->first, "author %.16s seq %llu: %s", hex,
                 (unsigned long long)seq, what);
    }
}

static int head_cb(void *ctx, const struct store_head *hd)
{
    struct heads_ctx *c = ctx;
    struct entry e;
    uint8_t hash[AM_HASH_LEN];
    size_t len = 0;
    int rc;

    c->h->heads++;
    if (hd->seq < hd->first_seq)
        return 0; /* a root log split at seq 1 holds no entry (PROTOCOL.md 6) */
    rc = store_entry_get(c->s, hd->log, hd->seq, c->buf, AM_ENTRY_MAX, &len);
    if (rc == AM_ENOTFOUND) {
        heads_problem(c->h, hd->author, hd->seq, "the head names an entry that is missing");
        return 0;
    }
    if (rc != AM_OK) {
        heads_problem(c->h, hd->author, hd->seq, "the head's entry cannot be read");
        return 0;
    }
    if (entry_decode(&e, c->buf, len) != AM_OK) {
        heads_problem(c->h, hd->author, hd->seq, "the head's entry does not decode");
        return 0;
    }
    entry_hash(&e, hash);
    if (sodium_memcmp(hash, hd->hash, AM_HASH_LEN) != 0 ||
        memcmp(e.author, hd->author, AM_PK_LEN) != 0 || e.seq != hd->seq)
        heads_problem(c->h, hd->author, hd->seq, "the head record does not match its entry");
    else if (entry_verify(&e) != AM_OK)
        heads_problem(c->h, hd->author, hd->seq, "the head's entry has a bad signature");
    return 0;
}

static int heads_scan(void *ctx)
{
    struct heads_ctx *c = ctx;
    return store_heads_each(c->s, head_cb, c);
}

int doctor_check_heads(struct store *s, struct doctor_heads *h)
{
    struct heads_ctx c = {s, h, NULL};
    int rc;

    memset(h, 0, sizeof *h);
    c.buf = malloc(AM_ENTRY_MAX);
    if (!c.buf)
        return AM_ENOMEM;
    /* a damaged page may make LMDB fault: reported as damage, not a crash (store.h) */
    rc = store_guarded(s, heads_scan, &c, &h->damage);
    if (rc == AM_ECORRUPT && h->damage.kind == STORE_DAMAGE_NONE)
        h->damage.kind = STORE_DAMAGE_PAGES;
    free(c.buf);
    return rc < 0 ? rc : AM_OK;
}

/* ---- interfaces --------------------------------------------------------------------------- */

static unsigned prefix_len(const struct sockaddr *mask, int v6)
{
    const uint8_t *p;
    size_t n;
    unsigned bits = 0;

    if (!mask)
        return v6 ? 128 : 32;
    if (v6) {
        p = ((const struct sockaddr_in6 *)mask)->sin6_addr.s6_addr;
        n = 16;
    } else {
        p = (const uint8_t *)&((const struct sockaddr_in *)mask)->sin_addr.s_addr;
        n = 4;
    }
    for (size_t i = 0; i < n; i++)
        for (int b = 7; b >= 0; b--)
            bits += (p[i] >> b) & 1u;
    return bits;
}

int doctor_ifaces(struct doctor_iface *out, size_t cap, unsigned *more)
{
    struct ifaddrs *all, *a;
    size_t n = 0;

    *more = 0;
    if (getifaddrs(&all) != 0)
        return -1;
    for (a = all; a; a = a->ifa_next) {
        char name[IF_NAMESIZE];
        struct doctor_iface *f = NULL;
        size_t i;

        if (!a->ifa_name || strlen(a->ifa_name) >= sizeof name)
            continue;
        memcpy(name, a->ifa_name, strlen(a->ifa_name) + 1);
        name[strcspn(name, ":")] = 0; /* an IPv4 alias label "eth0:1" is eth0 */
        for (i = 0; i < n; i++)
            if (strcmp(out[i].name, name) == 0)
                f = &out[i];
        if (!f) {
            unsigned idx = if_nametoindex(name);
            if (idx == 0)
                continue; /* vanished since the listing */
            if (n == cap) {
                (*more)++;
                continue;
            }
            f = &out[n++];
            memset(f, 0, sizeof *f);
            memcpy(f->name, name, strlen(name) + 1);
            f->ifindex = idx;
        }
        f->up |= (a->ifa_flags & IFF_UP) != 0;
        f->running |= (a->ifa_flags & IFF_RUNNING) != 0;
        f->multicast |= (a->ifa_flags & IFF_MULTICAST) != 0;
        f->loopback |= (a->ifa_flags & IFF_LOOPBACK) != 0;
        if (!a->ifa_addr)
            continue;
        if (a->ifa_addr->sa_family == AF_INET && f->n4 < DOCTOR_MAX_ADDRS) {
            f->a4[f->n4] = ((const struct sockaddr_in *)a->ifa_addr)->sin_addr;
            f->plen4[f->n4++] = (uint8_t)prefix_len(a->ifa_netmask, 0);
        } else if (a->ifa_addr->sa_family == AF_INET6 && f->n6 < DOCTOR_MAX_ADDRS) {
            const struct in6_addr *ip = &((const struct sockaddr_in6 *)a->ifa_addr)->sin6_addr;
            uint8_t pl = (uint8_t)prefix_len(a->ifa_netmask, 1);
            if (IN6_IS_ADDR_LINKLOCAL(ip) && !f->has_ll6) {
                memmove(&f->a6[1], &f->a6[0], f->n6 * sizeof f->a6[0]);
                memmove(&f->plen6[1], &f->plen6[0], f->n6);
                f->a6[0] = *ip;
                f->plen6[0] = pl;
                f->has_ll6 = 1;
            } else {
                f->a6[f->n6] = *ip;
                f->plen6[f->n6] = pl;
            }
            f->n6++;
        }
    }
    freeifaddrs(all);
    return (int)n;
}

void doctor_addr4_text(const struct in_addr *a, char out[static DOCTOR_ADDR_MAX])
{
    if (!inet_ntop(AF_INET, a, out, DOCTOR_ADDR_MAX))
        snprintf(out, DOCTOR_ADDR_MAX, "?");
}

void doctor_addr6_text(const struct in6_addr *a, unsigned ifindex, char out[static DOCTOR_ADDR_MAX])
{
    char name[IF_NAMESIZE];
    size_t l;

    if (!inet_ntop(AF_INET6, a, out, DOCTOR_ADDR_MAX)) {
        snprintf(out, DOCTOR_ADDR_MAX, "?");
        return;
    }
    l = strlen(out);
    if (IN6_IS_ADDR_LINKLOCAL(a) && ifindex != 0 && if_indextoname(ifindex, name))
        snprintf(out + l, DOCTOR_ADDR_MAX - l, "%%%s", name);
}

/* ---- beacon probe ------------------------------------------------------------------------- */

struct probe {
    const struct doctor_probe_cfg *cfg;
    struct doctor_iface *ifs;
    size_t n;
    struct doctor_probe *out;
    int fd[2];
    uint8_t *key; /* beacon key, sodium_malloc'd */
    uint8_t inst[DOCTOR_MAX_IFACES][2][BEACON_INSTANCE_LEN];
    struct in_addr group4;
    struct in6_addr group6;
    uint16_t port;
};

static int64_t probe_now_min(const struct probe *p)
{
    return (int64_t)time(NULL) / 60 + p->cfg->clock_offset_min;
}

static int open_sock(int v6, uint16_t port)
{
    int one = 1, fd;
    struct sockaddr_storage any;
    socklen_t alen;

    fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&any, 0, sizeof any);
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&any;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_any;
        s6->sin6_port = htons(port);
        alen = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&any;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_ANY);
        s4->sin_port = htons(port);
        alen = sizeof *s4;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
        bind(fd, (struct sockaddr *)&any, alen) != 0)
        goto fail;
    if (v6) {
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) != 0 ||
            setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &one, sizeof one) != 0 ||
            setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &one, sizeof one) != 0)
            goto fail;
    } else {
        unsigned char loop = 1, ttl = 1;
        if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) != 0 ||
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0 ||
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0)
            goto fail;
    }
    return fd;
fail:
    one = errno;
    close(fd);
    return -one;
}

/* 1 when beacons go out on this interface and family. */
static int probe_wanted(const struct probe *p, const struct doctor_iface *f, int v6)
{
    if (p->fd[v6] < 0 || !f->up || !f->running)
        return 0;
    if (f->loopback)
        return !v6 && p->cfg->loopback && f->n4 > 0;
    if (!f->multicast)
        return 0;
    return v6 ? f->has_ll6 : f->n4 > 0;
}

static int join(struct probe *p, const struct doctor_iface *f, int v6)
{
    if (v6) {
        struct ipv6_mreq mr;
        memset(&mr, 0, sizeof mr);
        mr.ipv6mr_multiaddr = p->group6;
        mr.ipv6mr_interface = f->ifindex;
        return setsockopt(p->fd[1], IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof mr) == 0 ? 0 : errno;
    } else {
        struct ip_mreqn mr;
        memset(&mr, 0, sizeof mr);
        mr.imr_multiaddr = p->group4;
        mr.imr_ifindex = (int)f->ifindex;
        return setsockopt(p->fd[0], IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) == 0 ? 0 : errno;
    }
}

static void send_one(struct probe *p, size_t i, int v6)
{
    struct doctor_iface *f = &p->ifs[i];
    uint8_t nonce[BEACON_NONCE_LEN], dg[BEACON_LEN];
    struct beacon b;
    size_t len = 0;
    int64_t m = probe_now_min(p);
    ssize_t w;

    memset(&b, 0, sizeof b);
    memcpy(b.author, p->cfg->author, AM_PK_LEN);
    memcpy(b.instance, p->inst[i][v6], BEACON_INSTANCE_LEN);
    b.tcp_port = p->cfg->tcp_port;
    b.proto_version = (SYNC_VERSION_MAJOR << 8) | SYNC_VERSION_MINOR;
    b.minutes = m < 0 ? 0 : m > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)m;
    randombytes_buf(nonce, sizeof nonce);
    if (beacon_encode(p->key, &b, nonce, dg, sizeof dg, &len) != AM_OK)
        return;
    if (v6) {
        struct sockaddr_in6 dst;
        int idx = (int)f->ifindex;
        memset(&dst, 0, sizeof dst);
        dst.sin6_family = AF_INET6;
        dst.sin6_addr = p->group6;
        dst.sin6_port = htons(p->port);
        dst.sin6_scope_id = f->ifindex;
        if (setsockopt(p->fd[1], IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) != 0) {
            f->send_errno[1] = errno;
            return;
        }
        w = sendto(p->fd[1], dg, len, MSG_DONTWAIT, (struct sockaddr *)&dst, sizeof dst);
    } else {
        struct sockaddr_in dst;
        struct ip_mreqn mr;
        memset(&mr, 0, sizeof mr);
        mr.imr_ifindex = (int)f->ifindex;
        memset(&dst, 0, sizeof dst);
        dst.sin_family = AF_INET;
        dst.sin_addr = p->group4;
        dst.sin_port = htons(p->port);
        if (setsockopt(p->fd[0], IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) != 0) {
            f->send_errno[0] = errno;
            return;
        }
        w = sendto(p->fd[0], dg, len, MSG_DONTWAIT, (struct sockaddr *)&dst, sizeof dst);
    }
    if (w == (ssize_t)len) {
        f->sent[v6]++;
        f->send_errno[v6] = 0;
    } else {
        f->send_errno[v6] = w < 0 ? errno : EMSGSIZE;
    }
}

static int is_local(const struct probe *p, const struct sockaddr *sa)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct doctor_iface *f = &p->ifs[i];
        if (sa->sa_family == AF_INET) {
            const struct in_addr *a = &((const struct sockaddr_in *)sa)->sin_addr;
            for (unsigned k = 0; k < f->n4; k++)
                if (f->a4[k].s_addr == a->s_addr)
                    return 1;
        } else {
            const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
            for (unsigned k = 0; k < f->n6; k++)
                if (memcmp(&f->a6[k], a, sizeof *a) == 0)
                    return 1;
        }
    }
    return 0;
}

static void heard_on(struct probe *p, unsigned ifindex)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->ifs[i].ifindex == ifindex)
            p->ifs[i].heard++;
}

static void note_seen(struct probe *p, int kind, const struct sockaddr *sa, unsigned ifindex,
                      const struct beacon *b, int64_t skew)
{
    struct doctor_probe *o = p->out;
    struct doctor_seen *s;
    char addr[DOCTOR_ADDR_MAX];
    int authentic = kind == DOCTOR_SEEN_MEMBER || kind == DOCTOR_SEEN_SELF;

    heard_on(p, ifindex);
    if (sa->sa_family == AF_INET) {
        doctor_addr4_text(&((const struct sockaddr_in *)sa)->sin_addr, addr);
    } else {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        doctor_addr6_text(&s6->sin6_addr, s6->sin6_scope_id ? s6->sin6_scope_id : ifindex, addr);
    }
    for (size_t i = 0; i < o->n_seen; i++) {
        s = &o->seen[i];
        if (s->kind == kind && strcmp(s->addr, addr) == 0 &&
            (!authentic || memcmp(s->author, b->author, AM_PK_LEN) == 0)) {
            s->count++;
            if (authentic) {
                s->skew_min = skew;
                s->tcp_port = b->tcp_port;
                memcpy(s->instance, b->instance, BEACON_INSTANCE_LEN);
            }
            return;
        }
    }
    if (o->n_seen == DOCTOR_MAX_SEEN) {
        o->seen_dropped++;
        return;
    }
    s = &o->seen[o->n_seen++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    memcpy(s->addr, addr, sizeof addr);
    if (ifindex == 0 || !if_indextoname(ifindex, s->ifname))
        s->ifname[0] = 0;
    s->local = is_local(p, sa);
    s->count = 1;
    if (authentic) {
        memcpy(s->author, b->author, AM_PK_LEN);
        s->tcp_port = b->tcp_port;
        s->proto_version = b->proto_version;
        s->skew_min = skew;
        memcpy(s->instance, b->instance, BEACON_INSTANCE_LEN);
    }
}

static void on_datagram(struct probe *p, const uint8_t *buf, size_t len, int truncated,
                        const struct sockaddr *sa, unsigned ifindex)
{
    struct beacon b;
    int64_t now = probe_now_min(p);
    int rc;

    p->out->received++;
    if (truncated) {
        p->out->undecodable++;
        return;
    }
    rc = beacon_sniff(buf, len);
    if (rc == AM_EVERSION) {
        note_seen(p, DOCTOR_SEEN_OTHER_VERSION, sa, ifindex, NULL, 0);
        return;
    }
    if (rc != AM_OK) {
        p->out->undecodable++;
        return;
    }
    /* any clock: the skew is what we want to know */
    rc = beacon_decode(p->key, buf, len, now < 0 ? 0 : (uint64_t)now, UINT32_MAX, &b);
    if (rc == AM_EBADMAC) {
        note_seen(p, DOCTOR_SEEN_OTHER_NETWORK, sa, ifindex, NULL, 0);
        return;
    }
    if (rc != AM_OK) {
        p->out->undecodable++;
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        for (int v6 = 0; v6 <= 1; v6++) {
            if (p->ifs[i].probed[v6] && beacon_is_own(&b, p->inst[i][v6])) {
                p->ifs[i].back[v6]++;
                return;
            }
        }
    }
    note_seen(
        p, memcmp(b.author, p->cfg->author, AM_PK_LEN) == 0 ? DOCTOR_SEEN_SELF : DOCTOR_SEEN_MEMBER,
        sa, ifindex, &b, (int64_t)b.minutes - now);
}

static void drain(struct probe *p, int v6)
{
    uint8_t buf[RBUF];
    union {
        struct cmsghdr align;
        uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
    } ctl;
    struct sockaddr_storage from;

    for (int k = 0; k < DRAIN_MAX; k++) {
        struct iovec iov = {buf, sizeof buf};
        struct msghdr mh;
        struct cmsghdr *c;
        unsigned ifindex = 0;
        ssize_t r;

        memset(&mh, 0, sizeof mh);
        mh.msg_name = &from;
        mh.msg_namelen = sizeof from;
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.b;
        mh.msg_controllen = sizeof ctl.b;
        r = recvmsg(p->fd[v6], &mh, MSG_DONTWAIT);
        if (r < 0)
            return; /* EAGAIN: nothing more now; anything else: try at the next wake-up */
        if (mh.msg_namelen < (v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) ||
            from.ss_family != (v6 ? AF_INET6 : AF_INET))
            continue;
        for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (!v6 && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof pi);
                ifindex = (unsigned)pi.ipi_ifindex;
            } else if (v6 && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                struct in6_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof pi);
                ifindex = pi.ipi6_ifindex;
            }
        }
        on_datagram(p, buf, (size_t)r, (mh.msg_flags & MSG_TRUNC) != 0,
                    (const struct sockaddr *)&from, ifindex);
    }
}

int doctor_probe_beacons(const struct doctor_probe_cfg *cfg, struct doctor_iface *ifs, size_t n,
                         struct doctor_probe *out)
{
    struct probe p;
    uint64_t now, end, next;
    uint32_t resend;

    if (!cfg || !cfg->netkey || !cfg->author || cfg->tcp_port == 0 || !out || (n && !ifs) ||
        n > DOCTOR_MAX_IFACES)
        return AM_EINVAL;
    memset(out, 0, sizeof *out);
    memset(&p, 0, sizeof p);
    p.cfg = cfg;
    p.ifs = ifs;
    p.n = n;
    p.out = out;
    p.port = cfg->udp_port ? cfg->udp_port : BEACON_UDP_PORT;
    inet_pton(AF_INET, BEACON_GROUP4, &p.group4);
    inet_pton(AF_INET6, BEACON_GROUP6, &p.group6);
    p.key = sodium_malloc(BEACON_KEY_LEN);
    if (!p.key)
        return AM_ENOMEM;
    beacon_key(cfg->netkey, p.key);
    randombytes_buf(p.inst, sizeof p.inst);
    for (size_t i = 0; i < n; i++) {
        memset(ifs[i].probed, 0, sizeof ifs[i].probed);
        memset(ifs[i].sent, 0, sizeof ifs[i].sent);
        memset(ifs[i].send_errno, 0, sizeof ifs[i].send_errno);
        memset(ifs[i].back, 0, sizeof ifs[i].back);
        ifs[i].heard = 0;
    }
    for (int v6 = 0; v6 <= 1; v6++) {
        p.fd[v6] = -1;
        if (v6 ? cfg->no_ipv6 : cfg->no_ipv4) {
            out->sock_disabled[v6] = 1;
            continue;
        }
        p.fd[v6] = open_sock(v6, p.port);
        if (p.fd[v6] < 0) {
            out->sock_errno[v6] = -p.fd[v6];
            p.fd[v6] = -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (int v6 = 0; v6 <= 1; v6++) {
            int e;
            if (!probe_wanted(&p, &ifs[i], v6))
                continue;
            ifs[i].probed[v6] = 1;
            e = join(&p, &ifs[i], v6);
            if (e != 0 && e != EADDRINUSE)
                ifs[i].send_errno[v6] = e; /* still send: the loop may show it works */
        }
    }

    resend = cfg->resend_ms ? cfg->resend_ms : DOCTOR_RESEND_MS;
    now = mono_ms();
    end = now + cfg->listen_ms;
    next = now;
    for (;;) {
        struct pollfd pf[2];
        nfds_t k = 0;
        int wait;

        now = mono_ms();
        if (now >= end)
            break;
        if (now >= next) {
            for (size_t i = 0; i < n; i++)
                for (int v6 = 0; v6 <= 1; v6++)
                    if (ifs[i].probed[v6])
                        send_one(&p, i, v6);
            next = now + resend;
        }
        wait = (int)((next < end ? next : end) - now);
        for (int v6 = 0; v6 <= 1; v6++) {
            if (p.fd[v6] >= 0) {
                pf[k].fd = p.fd[v6];
                pf[k].events = POLLIN;
                pf[k].revents = 0;
                k++;
            }
        }
        if (k == 0)
            break; /* no socket: nothing to listen on */
        if (poll(pf, k, wait) < 0 && errno != EINTR)
            break;
        for (nfds_t j = 0; j < k; j++)
            if (pf[j].revents & POLLIN)
                drain(&p, pf[j].fd == p.fd[1]);
    }
    for (int v6 = 0; v6 <= 1; v6++)
        if (p.fd[v6] >= 0)
            close(p.fd[v6]); /* drops the memberships */
    sodium_free(p.key);
    return AM_OK;
}

/* ---- TCP ---------------------------------------------------------------------------------- */

void doctor_tcp_try(struct doctor_tcp *t, size_t n, uint32_t timeout_ms)
{
    int fds[DOCTOR_MAX_TCP];
    uint64_t end = mono_ms() + timeout_ms;
    size_t pending = 0;

    for (size_t i = DOCTOR_MAX_TCP; i < n; i++)
        t[i].result = EMFILE;
    if (n > DOCTOR_MAX_TCP)
        n = DOCTOR_MAX_TCP;
    for (size_t i = 0; i < n; i++) {
        struct addrinfo hints, *res = NULL;
        int fd;

        fds[i] = -1;
        t[i].result = -1;
        snprintf(t[i].addr, sizeof t[i].addr, "%.*s", (int)sizeof t[i].addr - 1, t[i].host);
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        if (getaddrinfo(t[i].host, t[i].port, &hints, &res) != 0 || !res)
            continue;
        if (res->ai_family == AF_INET)
            doctor_addr4_text(&((struct sockaddr_in *)res->ai_addr)->sin_addr, t[i].addr);
        else if (res->ai_family == AF_INET6)
            doctor_addr6_text(&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr,
                              ((struct sockaddr_in6 *)res->ai_addr)->sin6_scope_id, t[i].addr);
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            t[i].result = errno;
        } else if (connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
            t[i].result = 0;
            close(fd);
        } else if (errno == EINPROGRESS) {
            fds[i] = fd;
            t[i].result = ETIMEDOUT;
            pending++;
        } else {
            t[i].result = errno;
            close(fd);
        }
        freeaddrinfo(res);
    }
    while (pending > 0) {
        struct pollfd pf[DOCTOR_MAX_TCP];
        size_t who[DOCTOR_MAX_TCP], k = 0;
        uint64_t now = mono_ms();
        int r;

        if (now >= end)
            break;
        for (size_t i = 0; i < n; i++) {
            if (fds[i] < 0)
                continue;
            pf[k].fd = fds[i];
            pf[k].events = POLLOUT;
            pf[k].revents = 0;
            who[k++] = i;
        }
        r = poll(pf, k, (int)(end - now));
        if (r < 0 && errno != EINTR)
            break;
        for (size_t j = 0; j < k; j++) {
            int err = 0;
            socklen_t el = sizeof err;
            size_t i = who[j];
            if (!pf[j].revents)
                continue;
            if (getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &el) != 0)
                err = errno;
            t[i].result = err;
            close(fds[i]);
            fds[i] = -1;
            pending--;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]); /* still pending at the deadline: ETIMEDOUT stays */
}
