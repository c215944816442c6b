#!/usr/bin/env bash
# one_daemon.sh: one `aidmesh run` per home. A second run on the same home refuses at once,
# naming the first's pid (exit 3); the other commands still write beside the running node;
# the lock is the kernel's (flock on HOME/run/daemon.lock): after kill -9 a new run starts,
# and a lock file left behind with a dead pid in it never blocks.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
H=$T/hub
LOCK=$H/run/daemon.lock
check "init" $A --home "$H" init --name hub
expect_out "run --help documents the refusal's exit status" "3 when another node" $A run --help

P=$(pick_port)
# start_node LOG PORT: a node on loopback in the background; its pid in $node
start_node() {
    $A --home "$H" run --listen 127.0.0.1:$2 --no-discovery >"$1" 2>&1 &
    node=$!
}
# lock_holds PID: the lock file names PID
lock_holds() { [ "$(cat "$LOCK" 2>/dev/null)" = "$1" ]; }
# second_run LOG: another run on the same home, on another port, killed after 20 s if it
# does not refuse; prints its exit status and how long it took (ms)
second_run() {
    local t0 t1 rc=0
    t0=$(date +%s%N)
    timeout -s KILL 20 $A --home "$H" run --listen 127.0.0.1:$((P + 5)) --no-discovery \
        >"$1" 2>&1 || rc=$?
    t1=$(date +%s%N)
    echo "$rc $(( (t1 - t0) / 1000000 ))"
}

start_node "$T/first.log" "$P"
first=$node
check "the first node listens" wait_for 15 grep -q "listening on" "$T/first.log"
check "its pid is in the lock file" wait_for 5 lock_holds $first
check "the lock file is 0600" test "$(stat -c %a "$LOCK")" = 600

read -r rc ms < <(second_run "$T/second.log")
check "a second run on the same home exits 3 (got $rc)" test "$rc" = 3
check "at once (${ms} ms)" test "$ms" -lt 5000
expect_out "naming the first's pid" "another node is already running on $H \(pid $first\)" \
    cat "$T/second.log"
expect_out "and how to stop it" "kill $first" cat "$T/second.log"
check "the first node still runs" kill -0 $first
check "the lock file still names the first" lock_holds $first
expect_out "and still answers on its control socket" '"running":true' $A --home "$H" peers --json

# the lock descriptor: held once by the node, close-on-exec (O_CLOEXEC is 02000000)
fds=0
cloexec=1
for f in /proc/$first/fd/*; do
    [ "$(readlink "$f" 2>/dev/null)" = "$LOCK" ] || continue
    fds=$((fds + 1))
    flags=$(awk '/^flags:/ {print $2}' "/proc/$first/fdinfo/${f##*/}")
    [ $(( 8#$flags & 8#2000000 )) -ne 0 ] || cloexec=0
done
check "the node holds the lock file open once (got $fds)" test "$fds" = 1
check "and not for the programs it would start (close-on-exec)" test "$cloexec" = 1

# the other commands write beside the running node
check "site add works while the node runs" $A --home "$H" site add hub-north --name "Hub North" --kind hub
check "and another" $A --home "$H" site add clinic-2 --name "Clinic 2" --kind clinic
expect_out "status reads the store" '"entries":2' $A --home "$H" status --json
check "the first node still runs after them" kill -0 $first
check "and still holds the lock" lock_holds $first

# kill -9: no clean stop, the kernel drops the lock
kill -9 $first
wait $first 2>/dev/null || true
check "the lock file stays behind with the dead pid" lock_holds $first
start_node "$T/third.log" "$P"
third=$node
check "a new run starts after kill -9" wait_for 15 grep -q "listening on" "$T/third.log"
check "and writes its own pid" wait_for 5 lock_holds $third
read -r rc ms < <(second_run "$T/fourth.log")
check "and holds the lock in turn (exit $rc)" test "$rc" = 3
expect_out "naming its own pid" "\(pid $third\)" cat "$T/fourth.log"
kill -TERM $third
check "it stops cleanly on SIGTERM" wait $third

# a stale lock file: a pid no process has, or bytes that are no pid, never block
for stale in "4194303" "not a pid" ""; do
    printf '%s\n' "$stale" >"$LOCK"
    start_node "$T/stale.log" "$P"
    check "a lock file holding '$stale' does not block" wait_for 15 grep -q "listening on" "$T/stale.log"
    check "the node writes its pid over it" wait_for 5 lock_holds $node
    kill -TERM $node
    check "and stops" wait $node
done

# a holder that has not written its pid yet: still refused, said so
if command -v flock >/dev/null; then
    : >"$LOCK"
    # one process (the subshell becomes the sleep) holds the lock, so killing it frees it
    (exec 9<>"$LOCK" && flock -n 9 && exec sleep 30) >/dev/null 2>&1 &
    holder=$!
    wait_for 5 sh -c "! flock -n '$LOCK' true"
    read -r rc ms < <(second_run "$T/nopid.log")
    check "a lock held without a pid refuses too (exit $rc)" test "$rc" = 3
    expect_out "and says the pid is not written yet" "has not written its pid" cat "$T/nopid.log"
    kill $holder
    wait $holder 2>/dev/null || true
fi

# a link in the lock file's place is not followed
rm -f "$LOCK"
ln -s "$T/elsewhere" "$LOCK"
read -r rc ms < <(second_run "$T/link.log")
check "a link as the lock file is refused (exit $rc)" test "$rc" = 1
expect_out "and explained" "is a link or not a plain file" cat "$T/link.log"
check "nothing was created through it" test ! -e "$T/elsewhere"

finish
