#!/usr/bin/env bash
# discovery_netns.sh: multicast discovery between real processes in network namespaces
# (needs root). Each probe (aidmesh-discovery-probe) runs uv_discovery in its own
# namespace and prints the peers it finds. Checked:
#   - two nodes on one host find each other over loopback, sharing the UDP port;
#   - over a link with only IPv6 link-local addresses (no IPv4 at all), default timing;
#   - over a link with IPv4 addresses only (IPv6 switched off in the probes);
#   - over a link made after the probes started (a Wi-Fi Direct group forming);
#   - on a bridge with four nodes: a node of another network is never reported (and is
#     counted as "other network"), nor is a member whose clock is two days off (counted
#     as "stale"); no probe ever reports itself, and each sees its own beacons come back.
# Waits are on process exit, each bounded (timeout + the probe's own deadline); the
# namespaces are removed on exit. Addresses are namespace-local or loopback only.
. "$(dirname "$0")/lib.sh"

NSP=amdisc$$ # prefix of our namespaces
. "$(dirname "$0")/lib_netns.sh"
probe_find
ns_start probe

KEY1=$(printf '4b%.0s' {1..32}) # two networks
KEY2=$(printf 'e7%.0s' {1..32})
AUTH_A=$(printf 'aa%.0s' {1..32})
AUTH_B=$(printf 'bb%.0s' {1..32})
AUTH_C=$(printf 'cc%.0s' {1..32})
AUTH_D=$(printf 'dd%.0s' {1..32})
LIMIT=40    # hard limit per probe (timeout), beyond its own --deadline
DEADLINE=25 # a probe gives up after this
FAST=(--interval 400 --rescan 500)

declare -A PID FDS CAT
# start_probe NAME NS ARGS...: runs a probe in namespace NS; returns once it runs
# (its "self" line was read). Its output goes to $T/NAME.out.
start_probe() {
    local name=$1 ns=$NSP$2 fd first
    shift 2
    mkfifo "$T/$name.fifo"
    ip netns exec "$ns" timeout -k 3 "$LIMIT" "$PROBE" --deadline "$DEADLINE" "$@" \
        >"$T/$name.fifo" 2>"$T/$name.err" &
    PID[$name]=$!
    exec {fd}<"$T/$name.fifo"
    FDS[$name]=$fd
    if ! read -r -t 15 -u "$fd" first; then
        not_ok "probe $name did not start: $(cat "$T/$name.err")"
        first=""
    fi
    printf '%s\n' "$first" >"$T/$name.out"
    cat <&"$fd" >>"$T/$name.out" &
    CAT[$name]=$!
}
# wait_probe NAME: waits for the probe to end; its exit code
wait_probe() {
    local rc=0 fd=${FDS[$1]}
    wait "${PID[$1]}" || rc=$?
    wait "${CAT[$1]}" || true
    exec {fd}<&-
    return $rc
}
# expect_found NAME: the probe met its goal
expect_found() {
    local rc=0
    wait_probe "$1" || rc=$?
    if [ $rc -eq 0 ]; then
        ok "$2"
    else
        not_ok "$2 (probe $1 exit $rc)"
        sed 's/^/    /' "$T/$1.out" "$T/$1.err"
    fi
}
peers_of() { awk '$1 == "peer" { print $2 }' "$T/$1.out" | sort -u | tr '\n' ' '; }
stat_of() { sed -n "s/^stats .*[ ]$2=\([0-9-]*\).*/\1/p" "$T/$1.out"; }
# expect_peers NAME "AUTHOR..." what: the distinct authors the probe reported are exactly these
expect_peers() {
    local got want
    got=$(peers_of "$1")
    want=$(printf '%s\n' $2 | sed '/^$/d' | sort -u | tr '\n' ' ')
    if [ "$got" = "$want" ]; then ok "$3"; else
        not_ok "$3: reported '$got', expected '$want'"
        sed 's/^/    /' "$T/$1.out"
    fi
}
# expect_line NAME REGEX what
expect_line() {
    if grep -Eq -- "$2" "$T/$1.out"; then ok "$3"; else
        not_ok "$3: no /$2/ in"
        sed 's/^/    /' "$T/$1.out"
    fi
}
# expect_stat NAME FIELD MIN what
expect_stat() {
    local v
    v=$(stat_of "$1" "$2")
    if [ -n "$v" ] && [ "$v" -ge "$3" ]; then ok "$4 ($2=$v)"; else
        not_ok "$4: $2='$v', expected >= $3"
        sed 's/^/    /' "$T/$1.out"
    fi
}
never_self() { # never_self NAME AUTHOR
    if grep -q "^peer $2 " "$T/$1.out"; then not_ok "$1 reported itself"; else ok "$1 never reports itself"; fi
}
link_local_of() { # link_local_of NS IF: the interface's IPv6 link-local address
    ip -n "$NSP$1" -6 addr show dev "$2" scope link | awk '$1 == "inet6" { sub("/.*", "", $2); print $2; exit }'
}

# --- 1. two nodes on one host: loopback, one shared UDP port --------------------------
ns_add host
mkdir "$T/b1"
start_probe l1 host --netkey "$KEY1" --author "$AUTH_A" --port 47480 --loopback --no-ipv6 \
    "${FAST[@]}" --peers 1 --own 1 --barrier "$T/b1" --group 2
start_probe l2 host --netkey "$KEY1" --author "$AUTH_B" --port 47481 --loopback --no-ipv6 \
    "${FAST[@]}" --peers 1 --own 1 --barrier "$T/b1" --group 2
expect_found l1 "loopback: first node finds the second"
expect_found l2 "loopback: second node finds the first"
expect_line l1 "^peer $AUTH_B 127\\.0\\.0\\.1 47481\$" "loopback: address and announced TCP port of the second"
expect_line l2 "^peer $AUTH_A 127\\.0\\.0\\.1 47480\$" "loopback: address and announced TCP port of the first"
never_self l1 "$AUTH_A"
never_self l2 "$AUTH_B"

# --- 2. IPv6 link-local only, production timing -----------------------------------------
ns_add a2 b2
veth a2 eth0 b2 eth0
if [ -z "$(ip -n "$NSP"a2 -4 addr show dev eth0)" ] && [ -z "$(ip -n "$NSP"b2 -4 addr show dev eth0)" ]; then
    ok "link-local: no IPv4 address on the link"
else
    not_ok "link-local: the link has an IPv4 address"
fi
mkdir "$T/b2"
start_probe v6a a2 --netkey "$KEY1" --author "$AUTH_A" --peers 1 --own 1 --barrier "$T/b2" --group 2
start_probe v6b b2 --netkey "$KEY1" --author "$AUTH_B" --peers 1 --own 1 --barrier "$T/b2" --group 2
expect_found v6a "link-local: a finds b"
expect_found v6b "link-local: b finds a"
LLA=$(link_local_of a2 eth0)
LLB=$(link_local_of b2 eth0)
expect_line v6a "^peer $AUTH_B ${LLB//./\\.}%eth0 47470\$" "link-local: a dials b at $LLB%eth0, port 47470"
expect_line v6b "^peer $AUTH_A ${LLA//./\\.}%eth0 47470\$" "link-local: b dials a at $LLA%eth0, port 47470"
expect_peers v6a "$AUTH_B" "link-local: a reports b only"
never_self v6a "$AUTH_A"
never_self v6b "$AUTH_B"

# --- 3. IPv4 only ----------------------------------------------------------------------
ns_add a3 b3
veth a3 eth0 b3 eth0
ip -n "$NSP"a3 addr add 10.47.0.1/24 dev eth0
ip -n "$NSP"b3 addr add 10.47.0.2/24 dev eth0
mkdir "$T/b3"
start_probe v4a a3 --netkey "$KEY1" --author "$AUTH_A" --no-ipv6 "${FAST[@]}" --peers 1 --own 1 \
    --barrier "$T/b3" --group 2
start_probe v4b b3 --netkey "$KEY1" --author "$AUTH_B" --no-ipv6 "${FAST[@]}" --peers 1 --own 1 \
    --barrier "$T/b3" --group 2
expect_found v4a "IPv4: a finds b"
expect_found v4b "IPv4: b finds a"
expect_line v4a "^peer $AUTH_B 10\\.47\\.0\\.2 47470\$" "IPv4: a dials b at 10.47.0.2"
expect_line v4b "^peer $AUTH_A 10\\.47\\.0\\.1 47470\$" "IPv4: b dials a at 10.47.0.1"
never_self v4a "$AUTH_A"
never_self v4b "$AUTH_B"

# --- 4. a link that appears after start ------------------------------------------------
ns_add a4 b4
mkdir "$T/b4"
start_probe lta a4 --netkey "$KEY1" --author "$AUTH_A" "${FAST[@]}" --peers 1 --barrier "$T/b4" --group 2
start_probe ltb b4 --netkey "$KEY1" --author "$AUTH_B" "${FAST[@]}" --peers 1 --barrier "$T/b4" --group 2
expect_line lta "^self $AUTH_A 47470 ifaces4=0 ifaces6=0 " "late link: a started with no interface to beacon on"
veth a4 p2p-wlan0-0 b4 p2p-wlan0-0 # the group forms now
expect_found lta "late link: a finds b on the new interface"
expect_found ltb "late link: b finds a on the new interface"
expect_line lta "^peer $AUTH_B fe80:.*%p2p-wlan0-0 47470\$" "late link: over the new interface"
never_self lta "$AUTH_A"

# --- 5. four nodes on a bridge: another network, a wrong clock -------------------------
ns_add br a5 b5 c5 d5
ip -n "$NSP"br link add br0 type bridge
ip -n "$NSP"br link set br0 up
for n in a5 b5 c5 d5; do
    veth "$n" eth0 br "p$n"
    ip -n "$NSP"br link set "p$n" master br0
done
mkdir "$T/b5"
start_probe na a5 --netkey "$KEY1" --author "$AUTH_A" "${FAST[@]}" --peers 1 --others 1 --stale 1 \
    --own 1 --barrier "$T/b5" --group 4
start_probe nb b5 --netkey "$KEY1" --author "$AUTH_B" "${FAST[@]}" --peers 1 --others 1 --stale 1 \
    --own 1 --barrier "$T/b5" --group 4
start_probe nc c5 --netkey "$KEY2" --author "$AUTH_C" "${FAST[@]}" --peers 0 --others 3 --own 1 \
    --barrier "$T/b5" --group 4
start_probe nd d5 --netkey "$KEY1" --author "$AUTH_D" "${FAST[@]}" --clock-offset 2880 --peers 0 \
    --stale 2 --own 1 --barrier "$T/b5" --group 4
expect_found na "bridge: a finds b and sees the other network and the wrong clock"
expect_found nb "bridge: b finds a and sees the other network and the wrong clock"
expect_found nc "bridge: the node of the other network sees only other-network beacons"
expect_found nd "bridge: the node two days ahead sees only stale beacons"
expect_peers na "$AUTH_B" "bridge: a reports b only (not the other network, not the stale clock)"
expect_peers nb "$AUTH_A" "bridge: b reports a only"
expect_peers nc "" "bridge: the other network's node reports nobody"
expect_peers nd "" "bridge: the node with the wrong clock reports nobody"
expect_stat na other_network 1 "bridge: a counts beacons of another network"
expect_stat nb other_network 1 "bridge: b counts beacons of another network"
expect_stat nc other_network 3 "bridge: c counts the others' beacons as another network"
expect_stat na stale 1 "bridge: a counts the stale beacons"
expect_stat nd stale 2 "bridge: d counts the others' beacons as stale"
expect_stat na own 1 "bridge: a sees its own beacons come back and drops them"
expect_line na "^stats .* last_stale_skew_min=(2879|288[01])$" "bridge: a sees d's clock two days ahead"
for n in na:$AUTH_A nb:$AUTH_B nc:$AUTH_C nd:$AUTH_D; do never_self "${n%%:*}" "${n#*:}"; done

finish
