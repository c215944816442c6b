#!/usr/bin/env bash
# sim.sh: aidmesh-sim on the small scenario: it converges, every node ends with one view
# fingerprint and no entry missing (the cloned laptop's branches included), garbage peers
# are refused without loss, and one seed gives the same report twice, byte for byte (text
# and JSON); the clone scenario passes with both halves rotated; bad scenario files are
# refused with the line named. (tests/unit/sim_test.c runs clone.conf and clones.conf.)
source "$(dirname "$0")/lib.sh"

SIM="$AM_BIN_DIR/aidmesh-sim"
CONF="$AM_SOURCE_DIR/tools/sim/small.conf"
# the stores go to /dev/shm when there is one (sim.h): no disk syncs, and removed at exit

check "aidmesh-sim --help" "$SIM" --help

run() { "$SIM" --quiet "$@" "$CONF"; }
check "small scenario passes (seed 42)" run
run >"$T/a.txt" || true
run >"$T/b.txt" || true
check "same seed, same report byte for byte" cmp "$T/a.txt" "$T/b.txt"
sed 's/^/    /' "$T/a.txt"
expect_out "every node converged" "converged +yes" cat "$T/a.txt"
expect_out "within 3 contact rounds" "converged +yes, at .*: [0-2]\.[0-9]{3} contact rounds|: 3\.000 contact" cat "$T/a.txt"
expect_out "one view fingerprint on every node" "view fingerprints +1 distinct \(policy one\): ok" cat "$T/a.txt"
expect_out "no entry missing on any node" "entries missing +0 on the node that lacks most: ok" cat "$T/a.txt"
expect_out "garbage refused, nothing lost" "garbage contacts +2, 2 closed .* 0 entries lost" cat "$T/a.txt"
expect_out "the clone's fork is seen" "1 forked" cat "$T/a.txt"
expect_out "crashes happened" "crashes, rotations +2," cat "$T/a.txt"
expect_out "fork evidence reached every node" "fork evidence +on every node \(required\)" cat "$T/a.txt"
"$SIM" --quiet "$AM_SOURCE_DIR/tools/sim/clone.conf" >"$T/clone.txt" && rc=0 || rc=$?
check "the clone scenario exits 0" test "$rc" -eq 0
expect_out "the clone scenario passes, evidence required" "result +PASS" cat "$T/clone.txt"
expect_out "clone: one view fingerprint" "view fingerprints +1 distinct \(policy one\): ok" cat "$T/clone.txt"
expect_out "clone: no entry missing" "entries missing +0 on" cat "$T/clone.txt"
expect_out "clone: both halves rotated" "crashes, rotations +0, 2 \(0 re-keys" cat "$T/clone.txt"

run --json >"$T/a.json" || true
expect_out "JSON says ok" '"converged":true,.*"fingerprints_ok":true,.*"ok":true' cat "$T/a.json"
expect_out "JSON: one fingerprint, nothing missing" '"fingerprints":1,.*"entries_missing":0' cat "$T/a.json"

run --seed 1234 >"$T/c.txt" || true
expect_out "another seed prints its seed" "seed 1234" cat "$T/c.txt"
refute "another seed gives another run" cmp -s "$T/a.txt" "$T/c.txt"
expect_out "another seed converges too" "result +PASS" cat "$T/c.txt"

printf 'clusters 2\nmembers 1\ncrash m5.0 at 1m for 1m\n' >"$T/bad.conf"
expect_out "a bad node name names its line" "bad.conf line 3: no member 'm5.0'" "$SIM" --quiet "$T/bad.conf"
refute "a bad scenario exits non-zero" "$SIM" --quiet "$T/bad.conf"
"$SIM" --quiet "$T/bad.conf" >/dev/null 2>&1 && rc=0 || rc=$?
check "a bad scenario exits 2" test "$rc" -eq 2
refute "a missing scenario exits non-zero" "$SIM" --quiet "$T/nothing.conf"

finish
