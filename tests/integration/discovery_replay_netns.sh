#!/usr/bin/env bash
# discovery_replay_netns.sh: discovery that a replay cannot steer and a forger cannot
# flood (PROTOCOL.md §9.5), with real `aidmesh run` daemons in network namespaces on one
# bridge, IPv4 only (needs root; prints SKIP otherwise). Checked:
#   1. a keyless outsider (aidmesh-discovery-probe --replay) replays every beacon it hears
#      from its own address, at once and every 50 ms, and hangs up on every TCP connection:
#      members a and b still meet within 15 s (each connected in the other's
#      `aidmesh peers --json`), each keeps the other's own address first, the member that
#      dialed lists the replaying address among the "impostors" of its status (`peers
#      --json`), and its `aidmesh doctor` names that address; b restarted meets a again within 15 s;
#   2. a key holder (--forge) sends 3 rounds of beacons for 5,000 random author ids from an
#      address whose firewall drops TCP (dials there hang): a's discovered targets stay at
#      most 256, its dials in flight at most 16 (its status, and SYN-SENT sockets in its
#      namespace), its RSS under 64 MiB; a new member c that starts during the flood meets
#      a, and 10 entries written on c reach a.
# Every wait is a condition with a deadline; every process is bounded by `timeout` and
# killed, and the namespaces deleted, on exit. Addresses are namespace-local only.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH

NSP=amrpl$$ # prefix of our namespaces
. "$(dirname "$0")/lib_netns.sh"
probe_find
keep_logs() { # AM_KEEP_LOGS=DIR keeps the daemons' logs for a look after the run
    if [ -n "${AM_KEEP_LOGS:-}" ]; then mkdir -p "$AM_KEEP_LOGS" && cp "$T"/*.log "$T"/*.out "$AM_KEEP_LOGS"/ 2>/dev/null; fi
    return 0
}
NS_ON_EXIT=keep_logs
ns_start br

MEET=15         # seconds two members have to meet
RSS_MAX_KB=65536
TARGETS_MAX=256 # PEER_ADDRS_TARGETS_MAX
DIALS_MAX=16    # PEER_ADDRS_DIALS_MAX
# a sanitizer build keeps freed memory aside (quarantine): keep that small, so that RSS
# measures what the daemon holds (ignored by builds without ASan)
DAEMON_ASAN="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"

declare -A PID
# start_node NAME NS: `aidmesh run` of home $T/NAME in namespace NS on 0.0.0.0:47470,
# beaconing every 500 ms; returns once it runs
start_node() {
    local name=$1 ns=$2
    # `ip netns exec` execs the daemon: $! is its pid (for /proc/PID/status)
    ASAN_OPTIONS=$DAEMON_ASAN ip netns exec "$NSP$ns" "$A" --home "$T/$name" run \
        --listen 0.0.0.0:47470 --beacon-interval-ms 500 >"$T/$name.log" 2>&1 &
    PID[$name]=$!
    check "$name runs (in namespace $ns)" wait_for 15 grep -q "running;" "$T/$name.log"
}
stop_node() { # stop_node NAME: SIGTERM, and wait until it is gone
    kill -TERM "${PID[$1]}" 2>/dev/null || true
    wait "${PID[$1]}" 2>/dev/null || true
}
author_of() { "$A" --home "$T/$1" status --json | sed 's/.*"author":"\([0-9a-f]*\)".*/\1/'; }
# sees NAME AUTHOR: NAME's node has AUTHOR connected now
sees() { "$A" --home "$T/$1" peers --json | grep -q "\"connected\":\[[^]]*\"author\":\"$2\""; }
met() { sees "$1" "$3" && sees "$2" "$4"; }
show_logs() {
    local x
    for x in "$@"; do
        echo "    --- $x.log (last 15 lines)"
        tail -n 15 "$T/$x.log" | sed 's/^/    /'
    done
}
# status NAME: NAME's node's live status, asked over its control socket (`peers --json`)
status() { "$A" --home "$T/$1" peers --json 2>/dev/null; }
# status_num KEY: the number KEY holds in the status text on stdin
status_num() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" | head -n 1; }
# status_has NAME TEXT: NAME's status holds TEXT (a regex)
status_has() { status "$1" | grep -q "$2"; }

# --- the link: a, b, c members; x a keyless outsider; f a key holder ------------------------------
ns_add a b c x f
ip -n "$NSP"br link add br0 type bridge
ip -n "$NSP"br link set br0 up
declare -A IP=([a]=10.49.0.1 [b]=10.49.0.2 [c]=10.49.0.3 [f]=10.49.0.8 [x]=10.49.0.9)
for n in a b c x f; do
    # IPv4 only: no link-local IPv6 path the replay would have to cover as well
    in_ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$NSP$n" link add eth0 type veth peer name "p$n" netns "$NSP"br
    ip -n "$NSP"br link set "p$n" master br0
    ip -n "$NSP"br link set "p$n" up
    ip -n "$NSP$n" link set eth0 up
    ip -n "$NSP$n" addr add "${IP[$n]}/24" dev eth0
done

check "init a (a new network)" $A --home "$T/a" init --name a
code=$($A --home "$T/a" invite)
check "init b (joins)" $A --home "$T/b" init --name b --join "$code"
check "init c (joins)" $A --home "$T/c" init --name c --join "$code"
AUTH_A=$(author_of a)
AUTH_B=$(author_of b)
AUTH_C=$(author_of c)

# --- 1. a replay from the outsider's address --------------------------------------------------
ip netns exec "$NSP"x timeout -k 3 120 "$PROBE" --replay --iface "${IP[x]}" --tcp-port 47470 --deadline 110 \
    >"$T/x.out" 2>"$T/x.err" &
PID[x]=$!
check "the replayer runs" wait_for 10 grep -q "^replay " "$T/x.out"
start_node a a
start_node b b
if wait_for $MEET met a b "$AUTH_B" "$AUTH_A"; then
    ok "replay: a and b meet within $MEET s"
else
    not_ok "replay: a and b meet within $MEET s"
    show_logs a b
fi
# failed dials to addresses heard in beacons are summed up every 10 s (PROTOCOL.md 8.5)
check "replay: the members dialed the replayer (its TCP connections were refused a handshake)" \
    wait_for 15 grep -Eq "dials to addresses heard in beacons failed before authenticating; most to ${IP[x]//./\\.}:47470" "$T/a.log" "$T/b.log"
check "replay: a keeps b's own address first" wait_for 5 \
    status_has a "\"address\":\"${IP[b]}:47470\",\"source\":\"discovered\",\"author\":\"$AUTH_B\""
check "replay: b keeps a's own address first" wait_for 5 \
    status_has b "\"address\":\"${IP[a]}:47470\",\"source\":\"discovered\",\"author\":\"$AUTH_A\""

# the member that dialed (it dialed the replayer too) names it in its status and in doctor
lists_replayer() { # lists_replayer NAME AUTHOR: NAME's status names the replayer as AUTHOR
    status_has "$1" "\"impostors\":\[.*{\"address\":\"${IP[x]}:47470\",\"author\":\"$2\",[^}]*\"verified_elsewhere\":true}"
}
one_lists() { lists_replayer a "$AUTH_B" || lists_replayer b "$AUTH_A"; }
if wait_for 10 one_lists; then
    ok "replay: the dialer's status lists the replaying address as an impostor"
else
    not_ok "replay: the dialer's status lists the replaying address as an impostor"
    { status a; status b; } | sed 's/^/    /'
fi
DIALER=a
DIALED=$AUTH_B
lists_replayer a "$AUTH_B" || { DIALER=b; DIALED=$AUTH_A; }
timeout -k 3 40 ip netns exec "$NSP$DIALER" "$A" --home "$T/$DIALER" doctor --listen-wait 1 \
    --connect-timeout 1 >"$T/doc.out" 2>&1 || true
if grep -Eq "^  warn +${IP[x]//./\\.}:47470 claims to be member ${DIALED:0:16} but failed the handshake [0-9]+ times? \(last: [^)]+\): a replay or an impostor on this network; members still reach each other at their verified addresses" "$T/doc.out"; then
    ok "replay: doctor on $DIALER names the replaying address"
else
    not_ok "replay: doctor on $DIALER names the replaying address"
    sed 's/^/    /' "$T/doc.out"
fi
# the replayer also sends DIALER's own beacons back: a replay, not a copied home
refute "replay: doctor does not take the replay of its own beacons for a copied home" \
    grep -q "a machine at ${IP[x]//./\\.} uses this node's identity" "$T/doc.out"
if grep -Eq "^  warn +a machine at ${IP[x]//./\\.} sends this node's own beacons again" "$T/doc.out"; then
    ok "replay: doctor names the replay of its own beacons as a replay"
fi

stop_node b
start_node b b
if wait_for $MEET met a b "$AUTH_B" "$AUTH_A"; then
    ok "replay: b restarted meets a again within $MEET s"
else
    not_ok "replay: b restarted meets a again within $MEET s"
    show_logs a b
fi
kill -TERM "${PID[x]}" 2>/dev/null || true
wait "${PID[x]}" 2>/dev/null || true
if grep -Eq "^replayed [1-9][0-9]* heard [1-9][0-9]* accepted [1-9]" "$T/x.out"; then
    ok "replay: the replayer replayed beacons and was dialed ($(tail -n 1 "$T/x.out"))"
else
    not_ok "replay: the replayer replayed beacons and was dialed"
    sed 's/^/    /' "$T/x.out" "$T/x.err"
fi
stop_node b

# --- 2. a key holder's flood of beacons for 5,000 random author ids -----------------------------
if command -v iptables >/dev/null && in_ns f iptables -A INPUT -p tcp --dport 47470 -j DROP; then
    ok "flood: the forger's address drops TCP (dials there hang)"
else
    echo "# iptables unavailable: dials to the forger are refused instead of hanging"
fi
ip netns exec "$NSP"f timeout -k 3 60 "$PROBE" --forge 5000 --home "$T/a" --iface "${IP[f]}" --rate 2000 \
    --rounds 3 >"$T/f.out" 2>"$T/f.err" &
PID[f]=$!
start_node c c
check "flood: a's pid is the daemon's" grep -qx aidmesh "/proc/${PID[a]}/comm"
max_syn=0 max_targets=0 max_rows=0 max_dialing=0 max_rss=0
sample() {
    local v st
    v=$(in_ns a ss -Htn state syn-sent 2>/dev/null | wc -l)
    [ "$v" -gt "$max_syn" ] && max_syn=$v
    st=$(status a)
    v=$(grep -o '"source":"discovered"' <<<"$st" | wc -l)
    [ "$v" -gt "$max_rows" ] && max_rows=$v
    v=$(status_num discovered <<<"$st")
    [ -n "$v" ] && [ "$v" -gt "$max_targets" ] && max_targets=$v
    v=$(status_num dialing <<<"$st")
    [ -n "$v" ] && [ "$v" -gt "$max_dialing" ] && max_dialing=$v
    v=$(awk '/^VmRSS:/ { print $2 }' "/proc/${PID[a]}/status" 2>/dev/null || echo 0)
    [ -n "$v" ] && [ "$v" -gt "$max_rss" ] && max_rss=$v
    return 0
}
end=$(($(date +%s) + 40))
while kill -0 "${PID[f]}" 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do
    sample
    sleep 0.2
done
wait "${PID[f]}" || true
end=$(($(date +%s) + 4)) # the dials it started go on a while
while [ "$(date +%s)" -lt "$end" ]; do
    sample
    sleep 0.2
done
if grep -Eq "^forged 5000 sent 1[0-9]{4} errors" "$T/f.out"; then
    ok "flood: $(cat "$T/f.out")"
else
    not_ok "flood: the forger sent its beacons"
    sed 's/^/    /' "$T/f.out" "$T/f.err"
fi
echo "# a during the flood: targets $max_targets (rows $max_rows), dialing $max_dialing, SYN-SENT $max_syn, RSS $max_rss kB"
if [ "$max_rows" -ge 200 ]; then ok "flood: a heard the forged beacons ($max_rows targets)"; else
    not_ok "flood: a heard the forged beacons (only $max_rows targets)"
    show_logs a
fi
if [ "$max_rows" -le $TARGETS_MAX ] && [ "$max_targets" -le $TARGETS_MAX ]; then
    ok "flood: a's discovered targets stay within $TARGETS_MAX"
else
    not_ok "flood: a's discovered targets stay within $TARGETS_MAX (rows $max_rows, counted $max_targets)"
fi
if [ "$max_dialing" -le $DIALS_MAX ] && [ "$max_syn" -le $DIALS_MAX ]; then
    ok "flood: a's dials in flight stay within $DIALS_MAX"
else
    not_ok "flood: a's dials in flight stay within $DIALS_MAX (status $max_dialing, SYN-SENT $max_syn)"
fi
if [ "$max_rss" -gt 0 ] && [ "$max_rss" -lt $RSS_MAX_KB ]; then
    ok "flood: a's RSS stays under $((RSS_MAX_KB / 1024)) MiB ($max_rss kB)"
else
    not_ok "flood: a's RSS stays under $((RSS_MAX_KB / 1024)) MiB ($max_rss kB)"
fi
check "flood: a logged that the table was full" grep -q "discovery: over $TARGETS_MAX peers found" "$T/a.log"
if wait_for 30 met a c "$AUTH_C" "$AUTH_A"; then ok "flood: the new member c meets a"; else
    not_ok "flood: the new member c meets a"
    show_logs a c
fi
before=$(entries "$T/a")
check "flood: 10 entries written on c" "$AM_TESTTOOL" append "$T/c" --size 10 --batches 1
same_count() { [ "$(entries "$T/a")" = "$(entries "$T/c")" ] && [ "$(entries "$T/a")" -ge $((before + 10)) ]; }
if wait_for 20 same_count; then ok "flood: c's entries reach a"; else
    not_ok "flood: c's entries reach a (a $(entries "$T/a"), c $(entries "$T/c"))"
    show_logs a c
fi
check "flood: a still runs" kill -0 "${PID[a]}"

stop_node c
stop_node a
finish
