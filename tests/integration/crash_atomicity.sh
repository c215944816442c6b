#!/usr/bin/env bash
# crash_atomicity.sh: writers killed with SIGKILL at random points, many times; after
# each kill `aidmesh verify` is clean and every batch is whole or absent. Covers local
# appends and ingest of other authors' entries. Seed: $AM_SEED (printed).
. "$(dirname "$0")/lib.sh"

SEED=${AM_SEED:-$(( $(date +%s) % 100000 ))}
echo "# seed $SEED (rerun with AM_SEED=$SEED)"
RANDOM=$SEED
ROUNDS=${AM_CRASH_ROUNDS:-25}
A=$AIDMESH
H=$T/node
check "init" $A --home "$H" init --name writer

# Random kill delays come from `timeout`, so the writer is cut wherever it happens to be.
kill_after() { printf '0.%03d' $(( (RANDOM % 300) + 10 )); }

bad=0
cut=0
most=0 # the most entries seen after a round (a store is reset every third round)
for i in $(seq "$ROUNDS"); do
    # every third round starts from an empty store, so the store stays small
    [ $((i % 3)) -eq 0 ] && rm -rf "$H/store" "$H/store.id" # the record too: a deliberate reset
    rc=0
    timeout -s KILL "$(kill_after)" "$AM_TESTTOOL" append "$H" --size 50 --batches 300 >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 137 ] && cut=$((cut + 1))
    if ! $A --home "$H" verify >"$T/v.out" 2>&1; then bad=1; cat "$T/v.out"; break; fi
    if ! "$AM_TESTTOOL" check "$H" --size 50 >"$T/c.out" 2>&1; then bad=1; cat "$T/c.out"; break; fi
    n=$($A --home "$H" status --json | sed 's/.*"entries":\([0-9]*\).*/\1/')
    [ "${n:-0}" -gt "$most" ] && most=$n
done
echo "# append: $cut of $ROUNDS writers killed mid-run; at most $most entries after a round"
check "append: verify clean and batches whole after every SIGKILL" test "$bad" = 0
check "append: the writer made progress" test "$most" -gt 0
check "append: most writers were cut, not finished" test "$cut" -gt $((ROUNDS / 2))

# Ingest: a source store of 6 authors, copied in batches of 120 entries.
check "generate a source store" "$AM_TESTTOOL" gen "$T/src" --authors 6 --entries 4000
total=24000
D=$T/dest
check "init destination" $A --home "$D" init --name dest
bad=0
cut=0
for i in $(seq "$ROUNDS"); do
    rm -rf "$D/store" "$D/store.id" # each round ingests from empty and is cut somewhere
    rc=0
    timeout -s KILL "$(kill_after)" "$AM_TESTTOOL" ingest "$D" "$T/src" --size 120 >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 137 ] && cut=$((cut + 1))
    if ! $A --home "$D" verify >"$T/v.out" 2>&1; then bad=1; cat "$T/v.out"; break; fi
    if ! "$AM_TESTTOOL" check-ingest "$D" --size 120 --total $total >"$T/c.out" 2>&1; then bad=1; cat "$T/c.out"; break; fi
done
m=$($A --home "$D" status --json | sed 's/.*"entries":\([0-9]*\).*/\1/')
echo "# ingest: $cut of $ROUNDS ingests killed mid-run"
check "ingest: verify clean and batches whole after every SIGKILL" test "$bad" = 0
check "ingest: most ingests were cut, not finished" test "$cut" -gt $((ROUNDS / 2))
check "ingest: finishing the copy completes it" "$AM_TESTTOOL" ingest "$D" "$T/src" --size 120
expect_out "ingest: every entry arrived" "\"entries\":$total" $A --home "$D" status --json
check "ingest: verify clean at the end" $A --home "$D" verify
finish
