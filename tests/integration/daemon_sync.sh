#!/usr/bin/env bash
# daemon_sync.sh: real daemons on loopback: one-shot sync, live sync between running
# nodes with a static peer, entries written by another process reaching the peer
# promptly, peers listing, wrong network, unreachable peer, clean stop on SIGTERM.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
check "init hub" $A --home "$T/hub" init --name hub
code=$($A --home "$T/hub" invite)
check "init clinic (joins)" $A --home "$T/clinic" init --name clinic --join "$code"
check "init outsider (own network)" $A --home "$T/out" init --name outsider
check "hub has records" "$AM_TESTTOOL" append "$T/hub" --size 100 --batches 3
check "clinic has records" "$AM_TESTTOOL" append "$T/clinic" --size 7 --batches 1

PH=$(pick_port)
PC=$((PH + 1))
$A --home "$T/hub" run --listen 127.0.0.1:$PH --no-discovery >"$T/hub.log" 2>&1 &
hub=$!
check "hub listens" wait_for 10 grep -q "listening on" "$T/hub.log"

# one-shot sync
expect_out "sync prints a summary" "^received 300 entries from 1 author, sent 7$" \
    $A --home "$T/clinic" sync 127.0.0.1:$PH
check "both hold everything" test "$(entries "$T/clinic")" = 307
check "a second sync moves nothing" sh -c "$A --home '$T/clinic' sync 127.0.0.1:$PH | grep -q 'received 0 entries'"
expect_out "sync --json" '"ok":true' $A --home "$T/clinic" sync --json 127.0.0.1:$PH
check "a sync that works prints its summary line only" \
    test "$($A --home "$T/clinic" sync 127.0.0.1:$PH 2>&1 | wc -l)" = 1
expect_out "--verbose shows the connection's events" "peer [0-9a-f]+ at 127\.0\.0\.1:$PH: connected" \
    $A --home "$T/clinic" sync --verbose 127.0.0.1:$PH

# failures
expect_out "--view-cache takes a number of MiB" "run: --view-cache takes a number of MiB" \
    $A --home "$T/clinic" run --view-cache lots
refute "another network is refused" $A --home "$T/out" sync --timeout 5 127.0.0.1:$PH
expect_out "with a hint" "another relief network" $A --home "$T/out" sync --timeout 5 127.0.0.1:$PH
check "the outsider got nothing" test "$(entries "$T/out")" = 0
refute "an unreachable port fails" $A --home "$T/clinic" sync --timeout 5 127.0.0.1:$((PH + 7))
expect_out "and a failed sync shows the connection's events" "connection to 127\.0\.0\.1:$((PH + 7)): closed" \
    $A --home "$T/clinic" sync --timeout 5 127.0.0.1:$((PH + 7))
expect_out "and says nothing answered there" "failed: nothing answered there \(is the node running" \
    $A --home "$T/clinic" sync --timeout 5 127.0.0.1:$((PH + 7))
expect_out "a bad address is explained" "is not HOST:PORT" $A --home "$T/clinic" sync nowhere:99999

# live: the clinic runs too; a static peer added to its config while it runs is dialed
$A --home "$T/clinic" run --listen 127.0.0.1:$PC --no-discovery >"$T/clinic.log" 2>&1 &
clinic=$!
check "the clinic listens" wait_for 10 grep -q "listening on" "$T/clinic.log"
expect_out "peers add says the running node dials it" "dials it within a second" \
    $A --home "$T/clinic" peers add 127.0.0.1:$PH
check "the running clinic reads the config" wait_for 5 grep -q "static peer 127.0.0.1:$PH added to the config" "$T/clinic.log"
check "and connects to the hub" wait_for 15 grep -q "in sync" "$T/clinic.log"
expect_out "peers shows the hub" "in sync" $A --home "$T/clinic" peers
expect_out "peers --json" '"running":true' $A --home "$T/clinic" peers --json

# entries written by another process while both run reach the other node promptly
before=$(entries "$T/hub")
t0=$(date +%s%N)
check "write 5 entries at the clinic" "$AM_TESTTOOL" append "$T/clinic" --size 5 --batches 1
check "they reach the hub within 5 s" \
    wait_for 5 entries_eq "$T/hub" $((before + 5))
t1=$(date +%s%N)
echo "# live propagation: $(( (t1 - t0) / 1000000 )) ms (write + detect + sync)"
check "and the other way" "$AM_TESTTOOL" append "$T/hub" --size 3 --batches 1
check "hub -> clinic" wait_for 5 entries_eq "$T/clinic" $((before + 8))

# the hub stops: the clinic notices and keeps trying (backoff); the hub comes back
kill -TERM $hub
check "the hub stops cleanly on SIGTERM" wait $hub
check "and says so" grep -q "stopped" "$T/hub.log"
check "the clinic notices" wait_for 10 grep -q "disconnected" "$T/clinic.log"
check "write while the hub is away" "$AM_TESTTOOL" append "$T/clinic" --size 4 --batches 1
$A --home "$T/hub" run --listen 127.0.0.1:$PH --no-discovery >"$T/hub2.log" 2>&1 &
hub=$!
check "after the hub returns, the clinic reconnects and the entry arrives" \
    wait_for 20 entries_eq "$T/hub" $((before + 12))
kill -TERM $hub $clinic
check "hub stops" wait $hub
check "clinic stops" wait $clinic
check "verify hub" $A --home "$T/hub" verify
check "verify clinic" $A --home "$T/clinic" verify
finish
