#!/usr/bin/env bash
# run-fuzz.sh: builds the libFuzzer targets of tests/fuzz/ with clang (ASan + UBSan) and
# runs each one for a while over a copy of its committed corpus.
#
# Usage: tests/fuzz/run-fuzz.sh [NAME...]     (NAME: entry, ... ; default: every target)
# Environment:
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_CC       the clang to use (default: clang, else clang-14)
#   FUZZ_BUILD    build directory (default: build-fuzz, under the source tree)
#   FUZZ_WERROR   ON (default) or OFF, passed as -DAM_WERROR; OFF only to get past a
#                 clang-only warning in a file you do not own
#   FUZZ_ARGS     extra libFuzzer flags (e.g. "-jobs=2 -workers=2")
#
# Each target fuzzes $FUZZ_BUILD/corpus/<name>/, seeded from tests/fuzz/corpus/<name>/
# and kept between runs; the committed corpus is only read, never written. Crash inputs go
# to $FUZZ_BUILD/artifacts/<name>/ and logs to $FUZZ_BUILD/logs/<name>.log; replay a crash
# with the plain build: build/<name>_fuzz_replay FILE. Exits 1 when any target crashed,
# leaked, timed out or failed to build, 0 when all ran clean.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
case $build in /*) ;; *) build=$src/$build ;; esac
werror=${FUZZ_WERROR:-ON}
cc=${FUZZ_CC:-}
if [[ -z $cc ]]; then
    if command -v clang >/dev/null 2>&1; then cc=clang
    elif command -v clang-14 >/dev/null 2>&1; then cc=clang-14
    else echo "run-fuzz: clang not found (install clang and libclang-rt-dev, or set FUZZ_CC)" >&2; exit 2
    fi
fi
read -r -a extra <<<"${FUZZ_ARGS:-}"

# The targets: tests/fuzz/<name>_fuzz.c, or the names given.
names=()
if (($# > 0)); then
    names=("$@")
else
    for f in "$src"/tests/fuzz/*_fuzz.c; do
        [[ -e $f ]] || continue
        b=$(basename "$f" .c)
        names+=("${b%_fuzz}")
    done
fi
if ((${#names[@]} == 0)); then
    echo "run-fuzz: no tests/fuzz/*_fuzz.c targets" >&2
    exit 2
fi

mkdir -p "$build/logs" "$build/corpus" "$build/artifacts"
echo "run-fuzz: configuring $build with $cc (AM_FUZZ=ON, AM_SANITIZE=ON, AM_WERROR=$werror)"
# tests.cmake adds -fsanitize=fuzzer to the fuzz target's own file only; without coverage
# instrumentation in the libraries (crdt/ ...) libFuzzer would be blind to the decoders it
# is meant to explore, so every file gets -fsanitize=fuzzer-no-link here.
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc" -DAM_FUZZ=ON -DAM_SANITIZE=ON \
    -DAM_WERROR="$werror" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >"$build/logs/configure.log" 2>&1 || {
    cat "$build/logs/configure.log" >&2
    echo "run-fuzz: cmake configure failed" >&2
    exit 1
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
summary=()
for name in "${names[@]}"; do
    target=${name}_fuzz
    seeds=$src/tests/fuzz/corpus/$name
    corpus=$build/corpus/$name
    arts=$build/artifacts/$name
    log=$build/logs/$name.log

    echo "run-fuzz: building $target"
    if ! cmake --build "$build" --target "$target" -j2 >"$build/logs/$name.build.log" 2>&1; then
        cat "$build/logs/$name.build.log" >&2
        summary+=("$(printf '%-12s BUILD FAILED (see %s)' "$name" "$build/logs/$name.build.log")")
        failed=1
        continue
    fi
    mkdir -p "$corpus" "$arts"
    if [[ -d $seeds ]]; then
        cp -rp "$seeds"/. "$corpus"/
    else
        echo "run-fuzz: warning: no seed corpus $seeds" >&2
    fi
    before=$(find "$corpus" -type f | wc -l)
    rm -f "$arts"/crash-* "$arts"/leak-* "$arts"/timeout-* "$arts"/oom-*

    echo "run-fuzz: running $target for ${seconds}s over $corpus ($before inputs)"
    rc=0
    (cd "$build" && "./$target" -max_total_time="$seconds" -max_len=20000 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$arts/" \
        ${extra[@]+"${extra[@]}"} "$corpus") >"$log" 2>&1 || rc=$?

    after=$(find "$corpus" -type f | wc -l)
    runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
    found=$(find "$arts" -type f | wc -l)
    if ((rc != 0 || found > 0)); then
        failed=1
        summary+=("$(printf '%-12s FAILED (exit %d, %d artifact(s) in %s; log %s)' \
            "$name" "$rc" "$found" "$arts" "$log")")
        echo "run-fuzz: $target failed; the end of its log:" >&2
        tail -40 "$log" >&2
    else
        summary+=("$(printf '%-12s ok: %s runs in %ss, %s, corpus %d -> %d' \
            "$name" "${runs:-?}" "$seconds" "${cov:-cov: ?}" "$before" "$after")")
    fi
done

echo
echo "run-fuzz summary (${seconds}s per target, build $build):"
for line in "${summary[@]}"; do
    echo "  $line"
done
exit "$failed"
