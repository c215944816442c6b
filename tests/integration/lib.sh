# lib.sh: shared helpers of the integration tests (sourced, not run).
# Every test gets a private temp folder, removed on exit, and a deadline for waits.
set -euo pipefail

: "${AIDMESH:?set AIDMESH to the aidmesh binary (ctest does)}"
: "${AM_TESTTOOL:?set AM_TESTTOOL to the aidmesh-testtool binary (ctest does)}"

T=$(mktemp -d "${TMPDIR:-/tmp}/amit-XXXXXX")
am_cleanup() {
    local pids
    pids=$(jobs -p)
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap am_cleanup EXIT

PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
# check "description" command...: passes when the command exits 0
check() {
    local what=$1
    shift
    if "$@" >"$T/last.out" 2>&1; then ok "$what"; else not_ok "$what"; sed 's/^/    /' "$T/last.out"; fi
}
# refute "description" command...: passes when the command exits non-zero
refute() {
    local what=$1
    shift
    if "$@" >"$T/last.out" 2>&1; then not_ok "$what (it succeeded)"; sed 's/^/    /' "$T/last.out"; else ok "$what"; fi
}
# expect_out "description" "regex" command...: output matches (any exit code)
expect_out() {
    local what=$1 re=$2
    shift 2
    "$@" >"$T/last.out" 2>&1 || true
    if grep -Eq -- "$re" "$T/last.out"; then ok "$what"; else not_ok "$what: no /$re/ in:"; sed 's/^/    /' "$T/last.out"; fi
}
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# wait_for SECONDS command...: runs the command until it succeeds or the deadline passes
# (a condition with a deadline, polled every 50 ms). Returns its last status.
wait_for() {
    local secs=$1
    shift
    local end=$(( $(date +%s%N) / 1000000 + secs * 1000 ))
    while true; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        [ $(( $(date +%s%N) / 1000000 )) -ge $end ] && return 1
        sleep 0.05
    done
}

# a free-looking TCP port on loopback for this test run
pick_port() { echo $(( 20000 + (RANDOM * 7 + $$) % 30000 )); }
# run_listening HOME LOG [ARGS...]: starts `aidmesh run --listen 127.0.0.1:PORT ARGS...` in
# the background on a port picked at random, and on another when that one was taken
# meanwhile (tests run in parallel); sets P (the port) and DAEMON_PID. Returns 0 once the
# daemon says it listens, 1 otherwise (its log tells why).
run_listening() {
    local home=$1 log=$2
    shift 2
    for _ in 1 2 3 4 5; do
        P=$(pick_port)
        "$AIDMESH" --home "$home" run --listen "127.0.0.1:$P" "$@" >"$log" 2>&1 &
        DAEMON_PID=$!
        wait_for 10 sh -c "grep -q 'listening on' '$log' || ! kill -0 $DAEMON_PID 2>/dev/null" ||
            true
        grep -q "listening on" "$log" && return 0
        grep -q "in use" "$log" || return 1
    done
    return 1
}

# entries NODE_HOME: the entry count of a node's store
entries() { "$AIDMESH" --home "$1" status --json | sed 's/.*"entries":\([0-9]*\).*/\1/'; }
# entries_eq NODE_HOME N: the node's store holds exactly N entries (for wait_for)
entries_eq() { [ "$(entries "$1")" = "$2" ]; }
