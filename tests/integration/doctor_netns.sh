#!/usr/bin/env bash
# doctor_netns.sh: `aidmesh doctor` on real links, in network namespaces (needs root and
# `ip netns`; prints SKIP otherwise). Three namespaces a, b, c are cabled to a bridge in a
# fourth (IPv4 10.48.0.1-3/24 plus the kernel's IPv6 link-local addresses). Node A runs
# `aidmesh run` in a; doctor runs in b. Checked:
#   1. multicast allowed: doctor hears A (address, port, interface), sees its own beacons
#      come back on eth0, says discovery works, exit 0; with b's own node running too, the
#      node and its port are ok on loopback and on the LAN address;
#   2. multicast dropped by b's firewall (iptables/ip6tables INPUT), A added with `peers
#      add`: the verdict is "multicast is blocked" with the `peers add` advice, and eth0 says
#      our own beacons do not come back; without a static peer: "this machine's firewall";
#      dropping only other hosts' multicast (as a Wi-Fi with client isolation does): own
#      beacons come back, the verdict still names the block and client isolation;
#   3. a node of another network (its own invite) beaconing in c: named, with its address
#      and the invite-code advice; a home of a third network hears only strangers: verdict
#      "other network";
#   4. a clock two days off: named with the difference;
#   5. a namespace with nothing but loopback: "on no local network".
# Every doctor run is bounded (--listen-wait, and `timeout`); daemons are killed and the
# namespaces deleted on exit (trap). Addresses are namespace-local only.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
NSP=amdoc$$ # prefix of our namespaces
. "$(dirname "$0")/lib_netns.sh"
ns_start br

declare -A PID
# start_node NAME NS ARGS...: `aidmesh run` of home $T/NAME in namespace NS, beaconing every
# 500 ms; returns once it runs
start_node() {
    local name=$1 ns=$2
    shift 2
    in_ns "$ns" "$A" --home "$T/$name" run --beacon-interval-ms 500 "$@" >"$T/$name.log" 2>&1 &
    PID[$name]=$!
    check "$name runs (in namespace $ns)" wait_for 15 grep -q "running;" "$T/$name.log"
}
# doctor NS HOME ARGS...: doctor of home $T/HOME in namespace NS, human output in
# $T/doc.out and JSON in $T/doc.json, each run bounded; its exit code in $DOC_RC
doctor() {
    local ns=$1 home=$2
    shift 2
    DOC_RC=0
    timeout -k 3 30 ip netns exec "$NSP$ns" "$A" --home "$T/$home" doctor --listen-wait 2.5 \
        --connect-timeout 2 "$@" >"$T/doc.out" 2>&1 || DOC_RC=$?
    timeout -k 3 30 ip netns exec "$NSP$ns" "$A" --home "$T/$home" doctor --listen-wait 2.5 \
        --connect-timeout 2 --json "$@" >"$T/doc.json" 2>&1 || true
}
# saw WHAT REGEX [FILE]: the last doctor output matches
saw() {
    local f=${3:-$T/doc.out}
    if grep -Eq -- "$2" "$f"; then ok "$1"; else
        not_ok "$1: no /$2/ in"
        sed 's/^/    /' "$f"
    fi
}
# status_of CHECK: the status of the first check of that id in the last JSON
status_of() { grep -o "\"check\":\"$1\",\"status\":\"[a-z]*\"" "$T/doc.json" | head -n 1 | sed 's/.*"status":"\([a-z]*\)"/\1/'; }
expect_status() { # expect_status CHECK STATUS what
    local got
    got=$(status_of "$1")
    if [ "$got" = "$2" ]; then ok "$3"; else
        not_ok "$3: check '$1' is '$got', expected '$2'"
        sed 's/^/    /' "$T/doc.out"
    fi
}
expect_rc() { # expect_rc N what
    if [ "$DOC_RC" -eq "$1" ]; then ok "$2"; else
        not_ok "$2: exit $DOC_RC, expected $1"
        sed 's/^/    /' "$T/doc.out"
    fi
}
drop_multicast() { # drop_multicast NS [EXCEPT4 EXCEPT6]: the namespace's firewall drops it
    local ns=$1
    if [ $# -ge 3 ]; then
        in_ns "$ns" iptables -A INPUT -d 239.0.0.0/8 ! -s "$2" -j DROP
        in_ns "$ns" ip6tables -A INPUT -p udp -d ff00::/8 ! -s "$3" -j DROP
    else
        in_ns "$ns" iptables -A INPUT -d 239.0.0.0/8 -j DROP
        in_ns "$ns" ip6tables -A INPUT -p udp -d ff00::/8 -j DROP
    fi
}
allow_multicast() { in_ns "$1" iptables -F INPUT && in_ns "$1" ip6tables -F INPUT; }
link_local_of() { # link_local_of NS IF
    ip -n "$NSP$1" -6 addr show dev "$2" scope link | awk '$1 == "inet6" { sub("/.*", "", $2); print $2; exit }'
}
author_of() { "$A" --home "$T/$1" status --json | sed 's/.*"author":"\([0-9a-f]*\)".*/\1/'; }

# --- the link ---------------------------------------------------------------------------------
ns_add a b c
ip -n "$NSP"br link add br0 type bridge
ip -n "$NSP"br link set br0 up
i=1
for n in a b c; do
    ip -n "$NSP$n" link add eth0 type veth peer name "p$n" netns "$NSP"br
    ip -n "$NSP"br link set "p$n" master br0
    ip -n "$NSP"br link set "p$n" up
    ip -n "$NSP$n" link set eth0 up
    ip -n "$NSP$n" addr add "10.48.0.$i/24" dev eth0
    i=$((i + 1))
done
check "b's link has its IPv6 link-local address" \
    wait_for 10 sh -c "ip -n '${NSP}b' -6 addr show dev eth0 scope link | grep -q fe80"
# wait for duplicate address detection to end, so that IPv6 beacons can be sent
check "b's link-local address is no longer tentative" \
    wait_for 10 sh -c "! ip -n '${NSP}b' -6 addr show dev eth0 | grep -q tentative"
LLB=$(link_local_of b eth0)

check "init a (a new network)" $A --home "$T/a" init --name a
code=$($A --home "$T/a" invite)
check "init b (joins a's network)" $A --home "$T/b" init --name b --join "$code"
check "init b2 (joins too, never runs)" $A --home "$T/b2" init --name b2 --join "$code"
check "init c (a network of its own)" $A --home "$T/c" init --name c
check "init d (a third network)" $A --home "$T/d" init --name d
AUTH_A=$(author_of a)

# --- 1. multicast allowed ---------------------------------------------------------------------
start_node a a
doctor b b
expect_rc 0 "allowed: exit 0 (nothing failed)"
saw "allowed: A is heard, with its address, interface and port" \
    "^  ok +node ${AUTH_A:0:16} of this network heard at 10\\.48\\.0\\.1.* \\(on eth0\\), TCP port 47470"
saw "allowed: our own beacons go out and come back on eth0, both families" \
    '^  ok +eth0: up, multicast; 10\.48\.0\.2/24 .*our beacons go out and come back \(IPv4, IPv6\)'
saw "allowed: b's node not running yet: said so" '^  warn +the node is not running: start it with `aidmesh run`'
saw "allowed: the verdict says discovery works" '^  ok +discovery works: 1 node of this network heard'
saw "allowed: --json verdict ok" '"verdict":"ok"' "$T/doc.json"
saw "allowed: --json lists A as a member, with its author and port" \
    "\\{\"kind\":\"member\",\"address\":\"10\\.48\\.0\\.1\",\"interface\":\"eth0\",\"local\":false,\"count\":[0-9]+,\"author\":\"$AUTH_A\",\"tcp_port\":47470" \
    "$T/doc.json"

start_node b b
check "b's node answers on its control socket" \
    wait_for 10 sh -c "'$A' --home '$T/b' peers --json | grep -q '\"running\":true'"
doctor b b
expect_rc 0 "both running: exit 0"
expect_status daemon ok "both running: b's node is running"
saw "both running: the port answers on loopback and on the LAN address" \
    '^  ok +TCP port 47470 accepts connections on 127\.0\.0\.1, 10\.48\.0\.2, fe80::'
saw "both running: b's own node is heard beaconing" "^  ok +this node's running daemon beacons too"
expect_status verdict ok "both running: verdict ok"
saw "both running: nothing failed" '^0 failed'

# --- 2. multicast dropped by b's firewall -----------------------------------------------------
drop_multicast b
check "static peer A added to b's config" $A --home "$T/b" peers add 10.48.0.1:47470
doctor b b
expect_rc 0 "blocked: warnings only, exit 0"
saw "blocked: the static peer answers" '^  ok +static peer 10\.48\.0\.1:47470 answers on TCP'
saw "blocked: the verdict names the block and gives the peers add advice" \
    '^  warn +multicast is blocked: static peer 10\.48\.0\.1:47470 answers on TCP, but no beacon arrives.*aidmesh peers add HOST:PORT'
saw "blocked: it blames this machine's firewall (own beacons lost)" "this machine's firewall drops multicast"
saw "blocked: eth0 says our beacons leave but do not come back" \
    '^  warn +eth0: .*our beacons leave but do not come back \(IPv4, IPv6\): a firewall on this machine drops multicast'
saw "blocked: --json verdict" '"verdict":"multicast_blocked"' "$T/doc.json"
if grep -q '"kind":"member"' "$T/doc.json"; then not_ok "blocked: no member heard"; else ok "blocked: no member heard"; fi

doctor b b2
saw "blocked, no static peer: our own beacons do not come back, firewall named" \
    '^  warn +no beacons from other nodes, and our own do not come back: a firewall on this machine drops multicast.*aidmesh peers add HOST:PORT'
saw "blocked, no static peer: --json verdict" '"verdict":"local_firewall"' "$T/doc.json"
allow_multicast b

# A Wi-Fi with client isolation: other hosts' multicast never arrives, our own loops back.
drop_multicast b 10.48.0.2 "$LLB"
doctor b b
saw "isolated: our own beacons come back" '^  ok +eth0: up, multicast; .*come back \(IPv4, IPv6\)'
saw "isolated: the verdict names the block, client isolation and peers add" \
    '^  warn +multicast is blocked: .*the Wi-Fi isolates clients.*aidmesh peers add HOST:PORT'
allow_multicast b

# --- 3. a node of another network -------------------------------------------------------------
start_node c c
doctor b b
saw "other network: named with its address and the invite-code advice" \
    '^  warn +a node of another aidmesh network beacons on eth0 from (.*, )?10\.48\.0\.3.*same invite code'
saw "other network: A still heard" "^  ok +node ${AUTH_A:0:16} of this network heard"
saw "other network: --json lists it" '\{"kind":"other_network","address":"10\.48\.0\.3","interface":"eth0"' "$T/doc.json"
expect_rc 0 "other network: warnings only, exit 0"
doctor b d
saw "third network: only strangers heard: verdict names the invite codes" \
    '^  warn +no node of this network heard, but a node of another aidmesh network beacons here.*network ids'
saw "third network: --json verdict" '"verdict":"other_network"' "$T/doc.json"

# --- 4. a clock far off -----------------------------------------------------------------------
doctor b b --clock-offset 2880
saw "clock: A's clock is named two days off" \
    "^  warn +node ${AUTH_A:0:16} at [^ ]+: its clock is 2 days behind ours"

# --- 5. no network at all ---------------------------------------------------------------------
ns_add e
doctor e b2
saw "no network: the verdict says so" '^  warn +this machine is on no local network'
saw "no network: --json verdict" '"verdict":"no_network"' "$T/doc.json"

for n in a b c; do kill -TERM "${PID[$n]}" 2>/dev/null || true; done
for n in a b c; do wait "${PID[$n]}" 2>/dev/null || true; done
finish
