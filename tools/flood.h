/*
 * flood.h: an outsider's connection flood against a node's sync port, for the benchmark
 * and the tests (aidmesh-flood). It holds up to `conns` TCP connections to host:port, each
 * from one of `sources` loopback addresses (127.0.0.2, 127.0.0.3, ...), sends what a
 * client without the network key can (the clear preamble, or nothing), and never
 * authenticates. A connection the node closes is opened again while the flood lasts.
 * Only loopback: it refuses any other target.
 */
#ifndef AM_FLOOD_H
#define AM_FLOOD_H

#include <stdint.h>

#define FLOOD_CONNS_MAX 20000

struct flood_opts {
    uint16_t port;        /* on 127.0.0.1 */
    unsigned conns;       /* connections held at once, at most FLOOD_CONNS_MAX */
    unsigned sources;     /* distinct source addresses, 1..250 */
    uint32_t duration_ms; /* then every connection is closed and flood_run returns */
    int send_preamble;    /* 1: the 8-byte preamble after connecting; 0: nothing */
    int reconnect;        /* 1: a connection the node closed is opened again */
};

struct flood_stats {
    uint64_t attempts;  /* connects started */
    uint64_t connected; /* connects that succeeded */
    uint64_t failed;    /* connects refused or timed out */
    uint64_t closed;    /* connected, then closed by the node */
    uint64_t open_max;  /* the most held open at once */
    uint64_t open_end;  /* open when the flood ended */
};

/* Runs the flood. Returns 0, or -1 with a message on stderr (bad options, no loop). */
int flood_run(const struct flood_opts *o, struct flood_stats *st);

#endif
