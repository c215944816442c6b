#!/usr/bin/env bash
# flood.sh: a keyless outsider floods a hub's sync port with connections that send the
# preamble and never authenticate (aidmesh-flood), under a low file descriptor limit and
# with the dashboard on. During and after the flood a member still syncs and the
# dashboard answers; the hub stays within its memory, stops spinning once the flood ends,
# logs one summary line per interval instead of a line per connection, and SIGTERM stops
# it within a second (PROTOCOL.md 8.5).
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
FLOOD=${AM_BIN_DIR:?}/aidmesh-flood
check "init hub" $A --home "$T/hub" init --name hub
code=$($A --home "$T/hub" invite)
check "init clinic (joins)" $A --home "$T/clinic" init --name clinic --join "$code"
check "hub has records" "$AM_TESTTOOL" append "$T/hub" --size 50 --batches 2

PH=$(pick_port)
PW=$((PH + 1))
# 256 descriptors, soft and hard (bash sets both): the hub cannot raise it (the old hub wedged at 1,024)
(ulimit -n 256 &&
    exec $A --home "$T/hub" run --listen 127.0.0.1:$PH --no-discovery --http 127.0.0.1:$PW) \
    >"$T/hub.log" 2>&1 &
hub=$!
check "hub listens" wait_for 10 grep -q "listening on" "$T/hub.log"
check "hub serves the dashboard" wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$PW/"
expect_out "hub logs its descriptor budget and caps" "file descriptors: 256; at most [0-9]+ sync connections" \
    cat "$T/hub.log"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

t0=$(date +%s%N)
check "unflooded: the clinic syncs" $A --home "$T/clinic" sync --timeout 10 127.0.0.1:$PH
unflooded_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# unflooded sync: $unflooded_ms ms"
rss0=$(rss_kib $hub)

# 1,500 connections (more than the descriptor limit) from 16 addresses, held 12 s,
# reopened whenever the hub closes them
"$FLOOD" --port $PH --conns 1500 --sources 16 --seconds 12 >"$T/flood.json" 2>"$T/flood.err" &
flood=$!
check "the flood is on" wait_for 10 sh -c "ss -Htn state established '( dport = :$PH )' | wc -l | awk '\$1 > 50 {ok=1} END {exit !ok}'"
# the dashboard polled all along, as the hub screen does (its thread takes descriptors too)
(end=$(($(date +%s) + 11)); while [ "$(date +%s)" -lt $end ]; do
    curl -s -m 2 -o /dev/null "http://127.0.0.1:$PW/" || true; sleep 0.05; done) &
poller=$!

for i in 1 2 3 4 5; do
    check "flooded: dashboard request $i answers" curl -sf -m 5 -o /dev/null "http://127.0.0.1:$PW/"
done
check "flooded: the hub gets a record" "$AM_TESTTOOL" append "$T/hub" --size 5 --batches 1
for i in 1 2 3; do
    t0=$(date +%s%N)
    check "flooded: the clinic syncs ($i)" $A --home "$T/clinic" sync --timeout 10 127.0.0.1:$PH
    echo "# flooded sync $i: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
done
check "the clinic has everything" test "$(entries "$T/clinic")" = 105
rss1=$(rss_kib $hub)
echo "# hub RSS: $rss0 KiB before, $rss1 KiB during the flood"
check "the hub's memory grew by less than 16 MiB during the flood" test $((rss1 - rss0)) -lt 16384
check "the hub held fewer sync connections than its descriptor limit" \
    sh -c "test \$(ss -Htn state established '( sport = :$PH )' | wc -l) -lt 256"

wait $flood
wait $poller
echo "# flood: $(cat "$T/flood.json")"
check "the hub closed flood connections (so the flood reopened them)" \
    grep -Eq '"closed":[1-9]' "$T/flood.json"

# the flood is over: the hub idles (no accept loop spinning) and still serves
c0=$(cpu_ticks $hub)
sleep 2
c1=$(cpu_ticks $hub)
echo "# hub CPU after the flood: $((c1 - c0)) ticks in 2 s"
check "after the flood the hub idles (under 0.5 s of CPU in 2 s)" test $((c1 - c0)) -lt 50
check "after the flood: the dashboard answers" curl -sf -m 5 -o /dev/null "http://127.0.0.1:$PW/"
check "after the flood: the clinic syncs" $A --home "$T/clinic" sync --timeout 10 127.0.0.1:$PH
check "one summary line per interval, not a line per connection" \
    wait_for 15 grep -Eq "incoming connections closed before authenticating \([0-9]+ failed" "$T/hub.log"
lines=$(wc -l <"$T/hub.log")
echo "# hub log: $lines lines"
check "the hub's log stays short (under 100 lines)" test "$lines" -lt 100

t0=$(date +%s%N)
kill -TERM $hub
check "SIGTERM stops the hub cleanly" wait $hub
stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# stopped in $stop_ms ms"
check "within a second" test $stop_ms -lt 1000
check "no sanitizer report" sh -c "! grep -q 'Sanitizer' '$T/hub.log'"
finish
