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
