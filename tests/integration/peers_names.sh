#!/usr/bin/env bash
# peers_names.sh: peers by name (issue 21 item 5; PROTOCOL.md §8.1, §8.5). Two daemons on
# loopback learn each other's name in the handshake: `aidmesh peers` (text and --json, a
# "name" field) and the dashboard (served, and `report --html`) show it beside the short
# id. A peer that dialed in is not kept with its ephemeral source port once it is gone:
# only its host, marked as having dialed. `peers add HOST` and `peers add HOST:47470` are
# one static peer, and a peer named both by `run --peer` and in the config is one target.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
check "init hub" $A --home "$T/hub" init --name "hub"
code=$($A --home "$T/hub" invite)
check "init clinic" $A --home "$T/clinic" init --name "clinic north" --join "$code"
HA=$($A --home "$T/hub" status --json | sed -n 's/.*"author":"\([0-9a-f]*\)".*/\1/p')
CA=$($A --home "$T/clinic" status --json | sed -n 's/.*"author":"\([0-9a-f]*\)".*/\1/p')
check "both have author ids" test ${#HA} = 64 -a ${#CA} = 64

check "the hub listens" run_listening "$T/hub" "$T/hub.log" --no-discovery --http 127.0.0.1:0
check "the hub serves its dashboard" wait_for 10 grep -q "dashboard at http://127.0.0.1:" "$T/hub.log"
HP=$(sed -n 's#.*dashboard at http://127.0.0.1:\([0-9]*\)/.*#\1#p' "$T/hub.log" | head -1)
# the hub named twice, in the config and by a flag: one static peer
check "the clinic keeps the hub as a static peer" $A --home "$T/clinic" peers add 127.0.0.1:$P
$A --home "$T/clinic" run --listen 127.0.0.1:$((P + 1)) --peer 127.0.0.1:$P --no-discovery \
    >"$T/clinic.log" 2>&1 &
clinic=$!

# ---- names, both ways ----------------------------------------------------------------------
clinic_named() {
    $A --home "$T/hub" peers --json | grep -q "\"connected\":\[{\"author\":\"$CA\",\"name\":\"clinic north\""
}
check "hub: peers --json names the clinic it is connected to" wait_for 15 clinic_named
hub_named() {
    $A --home "$T/clinic" peers --json >"$T/c.json" &&
        grep -q "\"connected\":\[{\"author\":\"$HA\",\"name\":\"hub\"" "$T/c.json" &&
        grep -q "\"known\":\[{\"address\":\"127.0.0.1:$P\",\"source\":\"static\",\"author\":\"$HA\",\"name\":\"hub\"" "$T/c.json"
}
check "clinic: the hub named, connected and as its static peer" wait_for 15 hub_named
check "one static row for the hub named twice" test "$(grep -o '"source":"static"' "$T/c.json" | wc -l)" = 1
expect_out "hub: peers in words shows the short id and the name" \
    "^  ${CA:0:16} clinic north +127\.0\.0\.1:[0-9]+ +(in sync|syncing)" $A --home "$T/hub" peers
expect_out "clinic: the static peer's row names it too" \
    "^  ${HA:0:16} hub +127\.0\.0\.1:$P +static" $A --home "$T/clinic" peers

# the page the dashboard serves, and the same page as a file
get_page() {
    exec 3<>"/dev/tcp/127.0.0.1/$HP"
    printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$HP" >&3
    cat <&3 >"$T/page.html"
    exec 3<&-
    grep -q "data-peer=\"$CA\" data-name=\"clinic north\"" "$T/page.html"
}
check "the served dashboard names the clinic" wait_for 10 get_page
check "in a column of its own" grep -q '<td class="name">clinic north</td>' "$T/page.html"
check "report --html names it too" $A --home "$T/hub" report --html "$T/report.html"
check "report: the clinic's row has its name" \
    grep -q "data-peer=\"$CA\" data-name=\"clinic north\"" "$T/report.html"

# ---- an inbound connection's port is not a peer to dial ----------------------------------------
EPH=$($A --home "$T/hub" peers --json |
    sed -n 's/.*"connected":\[{"author":"'"$CA"'"[^}]*"address":"127\.0\.0\.1:\([0-9]*\)","direction":"in".*/\1/p')
check "the clinic dialed the hub from a port of its own" test -n "$EPH" -a "$EPH" != $((P + 1))
kill -TERM $clinic
wait $clinic || true
gone_row() {
    $A --home "$T/hub" peers --json >"$T/h.json" &&
        grep -q "\"source\":\"was connected\",\"author\":\"$CA\"" "$T/h.json"
}
check "the hub lists the clinic as was connected" wait_for 15 gone_row
check "by its host alone, as having dialed, with its name" grep -q \
    "{\"address\":\"127.0.0.1\",\"source\":\"was connected\",\"author\":\"$CA\",\"name\":\"clinic north\",[^}]*\"direction\":\"in\"" \
    "$T/h.json"
no_eph() { [ -n "$EPH" ] && ! grep -q "\"known\":.*\"address\":\"[^\"]*:$EPH\"" "$T/h.json"; }
check "no known peer holds the ephemeral port" no_eph
expect_out "peers in words says it dialed" \
    "^  ${CA:0:16} clinic north +127\.0\.0\.1 +was connected \(it dialed this node\)" \
    $A --home "$T/hub" peers

# ---- HOST and HOST:47470 are one static peer ---------------------------------------------------
peer_lines() { grep -c '^peer = ' "$T/clinic/config" || true; }
before=$(peer_lines)
expect_out "peers add HOST stores HOST:47470" "^added static peer 10\.9\.8\.7:47470;" \
    $A --home "$T/clinic" peers add 10.9.8.7
expect_out "peers add HOST:47470 again adds nothing and says so" \
    "^static peer 10\.9\.8\.7:47470 is already in the config \(a HOST alone means HOST:47470\): nothing added" \
    $A --home "$T/clinic" peers add 10.9.8.7:47470
check "the second add exits 0" $A --home "$T/clinic" peers add 10.9.8.7:47470
check "one line for the two spellings" test "$(peer_lines)" = $((before + 1))
check "written as HOST:47470" grep -qx 'peer = 10\.9\.8\.7:47470' "$T/clinic/config"
check "a host name is added" $A --home "$T/clinic" peers add relief-hub.local
expect_out "the name in capitals is the same peer" "already in the config" \
    $A --home "$T/clinic" peers add Relief-Hub.LOCAL:47470
check "two lines for the two peers" test "$(peer_lines)" = $((before + 2))
expect_out "another port is another peer" "^added static peer 10\.9\.8\.7:47471;" \
    $A --home "$T/clinic" peers add 10.9.8.7:47471
expect_out "IPv6 with and without the port is one peer" "already in the config" \
    sh -c "$A --home '$T/clinic' peers add '[fd00::1]' && $A --home '$T/clinic' peers add '[FD00::1]:47470'"
expect_out "a bad port is refused" "is not HOST or HOST:PORT" $A --home "$T/clinic" peers add 10.9.8.7:0
finish
