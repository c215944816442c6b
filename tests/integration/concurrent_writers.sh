#!/usr/bin/env bash
# concurrent_writers.sh: several processes write one store at once (as the CLI does
# while the daemon runs): two appenders of the same identity and an ingester of other
# authors. Every write lands, chains stay whole, verify is clean.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
H=$T/node
check "init" $A --home "$H" init --name busy
check "generate other authors' entries" "$AM_TESTTOOL" gen "$T/src" --authors 3 --entries 2000

"$AM_TESTTOOL" append "$H" --size 20 --batches 60 >"$T/a1.out" 2>&1 &
p1=$!
"$AM_TESTTOOL" append "$H" --size 20 --batches 60 >"$T/a2.out" 2>&1 &
p2=$!
"$AM_TESTTOOL" ingest "$H" "$T/src" --size 100 --from-start 1 >"$T/i.out" 2>&1 &
p3=$!
check "first appender succeeds" wait $p1
check "second appender succeeds" wait $p2
check "ingester succeeds" wait $p3
expect_out "every appended batch is there, whole" "^120 whole batches" \
    "$AM_TESTTOOL" check "$H" --size 20
expect_out "every entry is there" '"entries":8400' $A --home "$H" status --json
check "verify is clean" $A --home "$H" verify
finish
