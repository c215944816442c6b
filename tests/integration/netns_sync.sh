#!/usr/bin/env bash
# netns_sync.sh: real `aidmesh run` daemons in network namespaces (needs root; prints SKIP
# otherwise). Checked:
#   1. discovery with no address configured: three nodes on a bridge whose links carry only
#      IPv6 link-local addresses, default listen and discovery, no --peer: they converge;
#   2. partition and heal: one node's link goes down, both sides write, each side syncs
#      within itself only; the link comes back and everyone converges; verify is clean;
#   3. a node of another network on the same link, which even dials a member: nothing is
#      synced either way and the members log nothing but its failed connections;
#   4. 10% random packet loss (iptables statistic, in every node's namespace, both ways):
#      3,000 entries written on one node while it syncs reach the others;
#   5. 50 ms each way through a user-space relay (aidmesh-relay), static peers only: the
#      nodes converge, and the propagation time of one entry is printed;
#   6. a link made after the daemons started: they discover each other on it and converge.
# Every wait is a condition with a deadline. Daemons are killed and namespaces deleted on
# exit. Addresses are namespace-local only. Packet loss is kernel-random (no seed).
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
# The relay of part 5: $AM_RELAY (ctest sets it), else next to $AIDMESH, else part 5 is
# skipped.
if [ -n "${AM_RELAY:-}" ]; then
    RELAY=$AM_RELAY
else
    RELAY=$(dirname "$AIDMESH")/aidmesh-relay
    [ -x "$RELAY" ] || RELAY=""
fi

NSP=amsync$$ # prefix of our namespaces
. "$(dirname "$0")/lib_netns.sh"
keep_logs() { # AM_KEEP_LOGS=DIR keeps the daemons' logs for a look after the run
    if [ -n "${AM_KEEP_LOGS:-}" ]; then mkdir -p "$AM_KEEP_LOGS" && cp "$T"/*.log "$AM_KEEP_LOGS"/ 2>/dev/null; fi
    return 0
}
NS_ON_EXIT=keep_logs
ns_start br

link_local_of() { # link_local_of NS IF: the interface's IPv6 link-local address
    ip -n "$NSP$1" -6 addr show dev "$2" scope link | awk '$1 == "inet6" { sub("/.*", "", $2); print $2; exit }'
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

declare -A PID
# start_node NAME NS ARGS...: runs `aidmesh run ARGS` for home $T/NAME in namespace NS,
# log in $T/NAME.log; returns once it runs
start_node() {
    local name=$1 ns=$2
    shift 2
    ip netns exec "$NSP$ns" "$A" --home "$T/$name" run "$@" >"$T/$name.log" 2>&1 &
    PID[$name]=$!
    check "$name runs (in namespace $ns)" wait_for 15 grep -q "running;" "$T/$name.log"
}
# stop_node NAME: SIGTERM; it must stop cleanly
stop_node() {
    local rc=0
    kill -TERM "${PID[$1]}" 2>/dev/null || true
    wait "${PID[$1]}" || rc=$?
    if [ $rc -eq 0 ] && grep -q "stopped" "$T/$1.log"; then ok "$1 stops cleanly"; else
        not_ok "$1 stops cleanly (exit $rc)"
        tail -n 20 "$T/$1.log" | sed 's/^/    /'
    fi
}
append() { "$AM_TESTTOOL" append "$T/$1" --size "$2" --batches "${3:-1}"; }
# all_eq N NAME...: every one of these nodes holds exactly N entries
all_eq() {
    local n=$1 x
    shift
    for x in "$@"; do entries_eq "$T/$x" "$n" || return 1; done
}
counts() { # counts NAME...: "name=N ..." for messages
    local x
    for x in "$@"; do printf '%s=%s ' "$x" "$(entries "$T/$x")"; done
}
show_logs() {
    local x
    for x in "$@"; do
        echo "    --- $x.log (last 25 lines)"
        tail -n 25 "$T/$x.log" | sed 's/^/    /'
    done
}
# converge WHAT SECS N NAME...: all these nodes reach N entries within SECS; prints the time
converge() {
    local what=$1 secs=$2 n=$3 t0 t1
    shift 3
    t0=$(now_ms)
    if wait_for "$secs" all_eq "$n" "$@"; then
        t1=$(now_ms)
        ok "$what ($n entries each)"
        echo "# $what: $((t1 - t0)) ms"
    else
        not_ok "$what: not all at $n after ${secs} s: $(counts "$@")"
        show_logs "$@"
    fi
}

# --- 1. discovery with no address configured ---------------------------------------------
# Three nodes, each in its own namespace, cabled to a bridge in a fourth. Nothing is
# configured on the links: the kernel gives each an IPv6 link-local address, that is all.
# For the loss test below, the links carry real packets: MTU 1280 (IPv6's minimum) and no
# segmentation offload (gso_max_segs 1; veth would else pass 64 KiB super-packets, and
# iptables would see and drop a few dozen of those instead of hundreds of packets).
ns_add a b c
ip -n "$NSP"br link add br0 type bridge
ip -n "$NSP"br link set br0 up
# bridge_port NODE: cables the node's namespace to the bridge (eth0 there, pNODE here)
bridge_port() {
    ip -n "$NSP$1" link add eth0 mtu 1280 gso_max_segs 1 type veth \
        peer name "p$1" mtu 1280 gso_max_segs 1 netns "$NSP"br
    ip -n "$NSP"br link set "p$1" master br0
    ip -n "$NSP"br link set "p$1" up
    ip -n "$NSP$1" link set eth0 up
}
for n in a b c; do bridge_port "$n"; done
no_v4=1
for n in a b c; do [ -z "$(ip -n "$NSP$n" -4 addr show dev eth0)" ] || no_v4=0; done
check "discovery: no IPv4 address on any node's link" test $no_v4 = 1
check "init a (a new network)" $A --home "$T/a" init --name a
code=$($A --home "$T/a" invite)
check "init b (joins)" $A --home "$T/b" init --name b --join "$code"
check "init c (joins)" $A --home "$T/c" init --name c --join "$code"
check "a writes 50 entries" append a 50
check "b writes 30 entries" append b 30
check "c writes 20 entries" append c 20
t_start=$(now_ms)
for n in a b c; do start_node "$n" "$n"; done
converge "discovery: three nodes converge with no --peer and no address" 30 100 a b c
echo "# discovery: $(($(now_ms) - t_start)) ms from the start of the daemons"
LLA=$(link_local_of a eth0)
# b and c may dial a before a hears their first beacons: wait for a to hear both
check "discovery: a found b and c at link-local addresses" wait_for 10 \
    sh -c "test \$(grep -c 'found on the local network at \[fe80:' '$T/a.log') -ge 2"
check "discovery: a knows two discovered peers" wait_for 10 \
    sh -c "$A --home '$T/a' peers --json | grep -o '\"source\":\"discovered\"' | wc -l | grep -qx 2"
check "discovery: a is connected to both (one connection each)" \
    wait_for 10 sh -c "$A --home '$T/a' peers --json | grep -o '\"direction\"' | wc -l | grep -qx 2"
check "live: a writes 10 more" append a 10
converge "live: a's new entries reach b and c" 15 110 a b c

# --- 2. partition and heal -----------------------------------------------------------------
ip -n "$NSP"c link set eth0 down
check "partition: c writes 15 while cut off" append c 15
check "partition: a writes 20" append a 20
check "partition: b writes 5" append b 5
converge "partition: a and b sync with each other" 30 135 a b
check "partition: c holds its own entries only" entries_eq "$T/c" 125
check "partition: c's entries did not reach a" entries_eq "$T/a" 135
ip -n "$NSP"c link set eth0 up
converge "heal: everyone converges after the link comes back" 60 150 a b c
for n in a b c; do check "heal: verify $n is clean" $A --home "$T/$n" verify; done

# --- 3. a node of another network on the same link --------------------------------------
# It runs discovery like the others and also dials a directly; nothing may be synced.
ns_add o
bridge_port o
check "outsider: init its own network" $A --home "$T/o" init --name outsider
check "outsider: writes 7 entries" append o 7
declare -A LOGLEN
for n in a b c; do LOGLEN[$n]=$(wc -l <"$T/$n.log"); done
start_node o o --peer "[$LLA%eth0]:47470"
LLO=""
check "outsider: its link has a link-local address" \
    wait_for 10 sh -c "ip -n '${NSP}o' -6 addr show dev eth0 scope link | grep -q fe80"
LLO=$(link_local_of o eth0)
check "outsider: it dials a and fails" \
    wait_for 30 grep -Eq "connection to \[fe80:.*\]:47470: closed" "$T/o.log"
# connections that never authenticate are summed up in one line per 10 s (PROTOCOL.md 8.5)
check "outsider: a saw its connection attempt fail" \
    wait_for 15 grep -Eq "closed before authenticating \([1-9][0-9]* failed .*most from ${LLO}(%eth0)?;" "$T/a.log"
check "outsider: a writes 5 while the outsider is around" append a 5
converge "outsider: the members still sync among themselves" 15 155 a b c
check "outsider: holds only its own 7 entries" entries_eq "$T/o" 7
check "outsider: is connected to nobody" \
    sh -c "$A --home '$T/o' peers --json | grep -q '\"connected\":\[\]'"
OID=$($A --home "$T/o" status --json | sed 's/.*"author":"\([0-9a-f]*\)".*/\1/')
for n in a b c; do
    tail -n +"$((LOGLEN[$n] + 1))" "$T/$n.log" >"$T/$n.tail"
    # allowed: failed connections (from the outsider; also as the summary of dials that
    # failed before authenticating), and the members' own sync and
    # discovery lines (a member may hear another's beacon only now; never the outsider's:
    # its author is refuted below)
    grep -Ev "closed before authenticating \([0-9]+ failed|dials to addresses heard in beacons failed before authenticating|: connected \((we|it) dialed\)$|: in sync \(|already connected; keeping one connection|found on the local network at" \
        "$T/$n.tail" >"$T/$n.odd" || true
    if [ -s "$T/$n.odd" ]; then
        not_ok "outsider: $n's log says only that connections failed"
        sed 's/^/    /' "$T/$n.odd"
    else
        ok "outsider: $n's log says only that connections failed ($(grep -c "closed" "$T/$n.tail") failed)"
    fi
    refute "outsider: $n never heard of the outsider's author" grep -q "${OID:0:16}" "$T/$n.log"
done

# --- 4. 10% packet loss -----------------------------------------------------------------
# One rule in each node's namespace drops 10% of what it receives: every link loses 10%
# each way. The outsider's namespace gets it too.
for n in a b c o; do
    for t in iptables ip6tables; do
        ip netns exec "$NSP$n" $t -A INPUT -m statistic --mode random --probability 0.1 -j DROP
    done
done
echo "# loss: kernel-random 10% drop (iptables statistic), no seed"
t0=$(now_ms)
check "loss: a writes 3000 entries (120 batches of 25) while syncing" append a 25 120
echo "# loss: writing took $(($(now_ms) - t0)) ms"
converge "loss: b and c converge under 10% loss" 90 3155 a b c
echo "# loss: $(($(now_ms) - t0)) ms from the first write to convergence"
dropped() { ip netns exec "$NSP$1" ip6tables -L INPUT -v -x -n | awk '$3 == "DROP" { s += $1 } END { print s + 0 }'; }
for n in a b c; do
    d=$(dropped $n)
    check "loss: packets were dropped in $n ($d)" test "$d" -gt 0
done
check "loss: the outsider still holds only its own 7" entries_eq "$T/o" 7
for n in a b c o; do
    for t in iptables ip6tables; do ip netns exec "$NSP$n" $t -F INPUT; done
done
for n in a b c; do check "loss: verify $n is clean" $A --home "$T/$n" verify; done
for n in a b c o; do stop_node $n; done

# --- 5. 50 ms each way through a relay ---------------------------------------------------
# ra -- rr -- rb with IPv4, no forwarding in rr: ra and rb reach each other only through
# the two relays in rr (one per direction of dialing).
if [ -z "$RELAY" ]; then
    echo "# SKIP part 5: aidmesh-relay is not built (AM_RELAY unset, none next to $AIDMESH)"
elif [ ! -x "$RELAY" ]; then
    not_ok "relay: $RELAY is not an executable"
else
    ns_add ra rr rb
    veth ra eth0 rr eth0
    veth rr eth1 rb eth0
    ip -n "$NSP"ra addr add 10.47.1.1/24 dev eth0
    ip -n "$NSP"rr addr add 10.47.1.2/24 dev eth0
    ip -n "$NSP"rr addr add 10.47.2.2/24 dev eth1
    ip -n "$NSP"rb addr add 10.47.2.1/24 dev eth0
    check "relay: init ra" $A --home "$T/ra" init --name ra
    code=$($A --home "$T/ra" invite)
    check "relay: init rb (joins)" $A --home "$T/rb" init --name rb --join "$code"
    check "relay: ra writes 40" append ra 40
    check "relay: rb writes 25" append rb 25
    refute "relay: ra cannot reach rb directly" \
        ip netns exec "$NSP"ra $A --home "$T/ra" sync --timeout 3 10.47.2.1:47470
    ip netns exec "$NSP"rr "$RELAY" --listen 10.47.1.2:47490 --target 10.47.2.1:47470 --delay 50 \
        >"$T/relay1.log" 2>&1 &
    R1=$!
    ip netns exec "$NSP"rr "$RELAY" --listen 10.47.2.2:47490 --target 10.47.1.1:47470 --delay 50 \
        >"$T/relay2.log" 2>&1 &
    R2=$!
    check "relay: both relays listen" wait_for 10 \
        sh -c "grep -q 'relay listening' '$T/relay1.log' && grep -q 'relay listening' '$T/relay2.log'"
    start_node ra ra --listen 10.47.1.1:47470 --peer 10.47.1.2:47490 --no-discovery
    start_node rb rb --listen 10.47.2.1:47470 --peer 10.47.2.2:47490 --no-discovery
    converge "relay: the two nodes converge through 50 ms each way" 30 65 ra rb
    check "relay: one connection stays" wait_for 10 \
        sh -c "$A --home '$T/ra' peers --json | grep -o '\"direction\"' | wc -l | grep -qx 1"
    for dir in "ra rb" "rb ra"; do
        set -- $dir
        before=$(entries "$T/$2")
        t0=$(now_ms)
        append "$1" 1
        if wait_for 15 entries_eq "$T/$2" $((before + 1)); then
            ms=$(($(now_ms) - t0))
            echo "# relay: one entry written at $1 appeared at $2 after $ms ms (write + detect + 50 ms link + ingest + poll)"
            check "relay: $1 -> $2 took at least the link's 50 ms ($ms ms)" test "$ms" -ge 50
        else
            not_ok "relay: one entry from $1 did not reach $2 in 15 s: $(counts ra rb)"
            show_logs ra rb
        fi
    done
    stop_node ra
    stop_node rb
    kill -TERM $R1 $R2
    check "relay: the relays stop cleanly" wait $R1 $R2
    sed 's/^/# /' "$T/relay1.log" | grep "relay stats"
    sed 's/^/# /' "$T/relay2.log" | grep "relay stats"
    check "relay: bytes went both ways through a relay" \
        grep -Eq "relay stats: connections=[1-9][0-9]* bytes_up=[1-9][0-9]* bytes_down=[1-9]" \
        "$T/relay1.log" "$T/relay2.log"
    for n in ra rb; do check "relay: verify $n is clean" $A --home "$T/$n" verify; done
fi

# --- 6. a link made after start -------------------------------------------------------------
ns_add e f
check "late link: init e" $A --home "$T/e" init --name e
code=$($A --home "$T/e" invite)
check "late link: init f (joins)" $A --home "$T/f" init --name f --join "$code"
check "late link: e writes 12" append e 12
check "late link: f writes 8" append f 8
start_node e e
start_node f f
check "late link: e has nobody yet" entries_eq "$T/e" 12
check "late link: e is connected to nobody" \
    sh -c "$A --home '$T/e' peers --json | grep -q '\"connected\":\[\]'"
veth e p2p-wlan0-0 f p2p-wlan0-0 # the Wi-Fi Direct group forms now
converge "late link: e and f discover each other on the new link and converge" 30 20 e f
LLE=$(link_local_of e p2p-wlan0-0)
LLF=$(link_local_of f p2p-wlan0-0)
check "late link: e met f at f's address on the new link ($LLF)" \
    grep -Eq "\[$LLF(%p2p-wlan0-0)?\]:[0-9]+" "$T/e.log"
check "late link: f met e at e's address on the new link ($LLE)" \
    grep -Eq "\[$LLE(%p2p-wlan0-0)?\]:[0-9]+" "$T/f.log"
stop_node e
stop_node f

finish
