#!/usr/bin/env bash
# soak.sh: on-demand long runs, not part of ctest.
#
#   tools/soak.sh soak [BUILD_DIR]    the chaos soak of tests/integration/soak.sh, long:
#                                     SOAK_SECONDS (default 900) of chaos on SOAK_NODES
#                                     (default 12) daemons; SOAK_SEED replays the actions
#   tools/soak.sh rss-1m [BUILD_DIR]  memory with a big log: RSS_ENTRIES (default 1,000,000)
#                                     entries of RSS_AUTHORS authors (default 1) in node
#                                     `full`, whose daemon then syncs them to an empty node
#                                     `empty` over loopback; prints each daemon's VmHWM and
#                                     its peak anonymous memory (RssAnon, sampled every
#                                     50 ms) and file-backed memory (RssFile: LMDB's map,
#                                     given back under memory pressure), before the sync,
#                                     during it and after it. Fails above RSS_MAX_MB
#                                     (default 64) of anonymous memory per daemon.
#
# BUILD_DIR defaults to build-soak (soak: an ASan+UBSan build finds more) and
# build-soak-rel (rss-1m: measure a Release build; a sanitizer's shadow memory and
# quarantine would dominate). Uses the integration helpers (tests/integration/lib.sh):
# a private temp folder removed on exit, deadline waits. AM_KEEP_LOGS=DIR keeps the logs.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}
case $mode in
soak) dflt=$here/build-soak ;;
rss-1m) dflt=$here/build-soak-rel ;;
*)
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
B=${2:-$dflt}
export AIDMESH=${AIDMESH:-$B/aidmesh}
export AM_TESTTOOL=${AM_TESTTOOL:-$B/aidmesh-testtool}
for f in "$AIDMESH" "$AM_TESTTOOL"; do
    [ -x "$f" ] || {
        echo "soak.sh: $f is not built; build with: cmake --build $B --target aidmesh aidmesh-testtool" >&2
        exit 2
    }
done

if [ "$mode" = soak ]; then
    export SOAK_SECONDS=${SOAK_SECONDS:-900} SOAK_NODES=${SOAK_NODES:-12}
    export SOAK_CONVERGE_SECONDS=${SOAK_CONVERGE_SECONDS:-240}
    exec bash "$here/tests/integration/soak.sh"
fi

# ---- rss-1m --------------------------------------------------------------------------------
. "$here/tests/integration/lib.sh"
keep_logs() {
    if [ -n "${AM_KEEP_LOGS:-}" ]; then mkdir -p "$AM_KEEP_LOGS" && cp "$T"/*.log "$AM_KEEP_LOGS"/ 2>/dev/null; fi
    return 0
}
trap 'keep_logs; am_cleanup' EXIT
A=$AIDMESH
NE=${RSS_ENTRIES:-1000000}
NA=${RSS_AUTHORS:-1}
MAX_MB=${RSS_MAX_MB:-64}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
if [ "$(ldd "$A" 2>/dev/null | grep -Ec 'lib(asan|ubsan)')" -gt 0 ]; then
    echo "# note: $A is a sanitizer build: its RSS includes shadow memory and quarantine"
fi

check "init full" "$A" --home "$T/full" init --name full
code=$("$A" --home "$T/full" invite)
check "init empty (joins)" "$A" --home "$T/empty" init --name empty --join "$code"
t0=$(now_ms)
if [ "$NA" = 1 ]; then
    [ $((NE % 1000)) = 0 ] || { not_ok "RSS_ENTRIES must be a multiple of 1000 with one author"; finish; }
    check "full: $NE entries of its own author" "$AM_TESTTOOL" append "$T/full" --size 1000 --batches $((NE / 1000))
else
    check "a source store: $NA authors x $((NE / NA)) entries" \
        "$AM_TESTTOOL" gen "$T/src" --authors "$NA" --entries $((NE / NA))
    NE=$((NA * (NE / NA)))
    check "full: ingest them" "$AM_TESTTOOL" ingest "$T/full" "$T/src" --size 4096
    rm -rf "$T/src"
fi
echo "# loading $NE entries took $(($(now_ms) - t0)) ms; store $(du -sh "$T/full/store" | cut -f1)"
check "full holds $NE entries" entries_eq "$T/full" "$NE"

P=$(pick_port)
declare -A PID PEAK_ANON PEAK_FILE
"$A" --home "$T/full" run --listen 127.0.0.1:$P --no-discovery >"$T/full.log" 2>&1 &
PID[full]=$!
check "full runs" wait_for 60 grep -q "running;" "$T/full.log"

kb() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status" 2>/dev/null || echo 0; }
sample() { # sample NAME: keeps the peaks of RssAnon and RssFile
    local a f p=${PID[$1]}
    a=$(kb "$p" RssAnon)
    f=$(kb "$p" RssFile)
    [ "${a:-0}" -le "${PEAK_ANON[$1]:-0}" ] || PEAK_ANON[$1]=$a
    [ "${f:-0}" -le "${PEAK_FILE[$1]:-0}" ] || PEAK_FILE[$1]=$f
}
mb() { echo $((($1 + 1023) / 1024)); }
report() { # report NAME WHEN
    local p=${PID[$1]}
    echo "# $2: $1: VmRSS $(mb "$(kb "$p" VmRSS)") MB (anon $(mb "$(kb "$p" RssAnon)")," \
        "file $(mb "$(kb "$p" RssFile)")), VmHWM $(mb "$(kb "$p" VmHWM)") MB;" \
        "peaks sampled: anon $(mb "${PEAK_ANON[$1]:-0}") MB, file $(mb "${PEAK_FILE[$1]:-0}") MB"
}
sample full
report full "idle, before the sync"

"$A" --home "$T/empty" run --listen 127.0.0.1:$((P + 1)) --peer 127.0.0.1:$P --no-discovery \
    >"$T/empty.log" 2>&1 &
PID[empty]=$!
t0=$(now_ms)
deadline=$((t0 + ${RSS_SYNC_SECONDS:-900} * 1000))
done_=0
while [ "$(now_ms)" -lt $deadline ]; do
    sample full
    sample empty
    if grep -q "in sync" "$T/empty.log" && entries_eq "$T/empty" "$NE"; then
        done_=1
        break
    fi
    sleep 0.05
done
ms=$(($(now_ms) - t0))
if [ $done_ = 1 ]; then ok "empty received all $NE entries in $ms ms"; else
    not_ok "empty holds $(entries "$T/empty") of $NE after $ms ms"
    tail -n 20 "$T/empty.log" | sed 's/^/    /'
fi
report full "after the sync"
report empty "after the sync"
# the live path with a big log: entries written at full reach empty
check "full writes 1000 more while both run" "$AM_TESTTOOL" append "$T/full" --size 1000 --batches 1
check "they reach empty" wait_for 60 entries_eq "$T/empty" $((NE + 1000))
sample full
sample empty
report full "after a live push"
report empty "after a live push"
for n in full empty; do
    check "$n: peak anonymous memory $(mb "${PEAK_ANON[$n]:-0}") MB <= $MAX_MB MB" \
        test "$(mb "${PEAK_ANON[$n]:-0}")" -le "$MAX_MB"
done
for n in full empty; do
    kill -TERM "${PID[$n]}"
    check "$n stops cleanly" wait "${PID[$n]}"
done
finish
