#!/usr/bin/env bash
# demo.sh: keeps the guided demo (tools/demo.sh, `make demo`) true. Runs it against the
# test build's binary, once with the stick it picks by itself (a FAT32 image when this
# machine allows it) and once with a folder stick; checks that it exits 0, prints the
# walkthrough's key lines with real CLI output, shows equal fingerprints, and leaves no
# temporary folder, mount or process behind; then stops a demo half-way (AM_DEMO_PAUSE=1
# holds it while the nodes run and the stick is plugged in) with SIGTERM and checks that it
# cleans up just the same and exits non-zero.
. "$(dirname "$0")/lib.sh"

: "${AM_SOURCE_DIR:?set AM_SOURCE_DIR to the source tree (ctest does)}"
DEMO=$AM_SOURCE_DIR/tools/demo.sh
mkdir -p "$T/tmp"

# nothing_left: the demo's temporary folders are gone and nothing runs or is mounted there
nothing_left() {
    [ -z "$(ls -A "$T/tmp")" ] &&
        ! grep -q " $T/tmp/" /proc/mounts &&
        ! pgrep -f -- "--home $T/tmp/" >/dev/null
}
# kill_leftovers: if a demo left a process behind, end it (by its pid) so the test ends
kill_leftovers() {
    local pid
    for pid in $(pgrep -f -- "--home $T/tmp/" || true); do kill -KILL "$pid" 2>/dev/null || true; done
}

# demo_run NAME ARGS...: runs the demo, its output in $T/NAME.out, its status in $T/NAME.rc
demo_run() {
    local name=$1 rc=0
    shift
    TMPDIR=$T/tmp bash "$DEMO" "$@" "$AIDMESH" >"$T/$name.out" 2>&1 || rc=$?
    echo "$rc" >"$T/$name.rc"
    sed 's/^/    # /' "$T/$name.out" | head -400
}
# fp_lines NAME: the three fingerprints the demo printed are equal and 32 hex digits
fp_lines() {
    [ "$(grep -Ec '^   (hub|clinic|warehouse) +[0-9]+ entries +view fingerprint [0-9a-f]{32}$' "$T/$1.out")" = 3 ] &&
        [ "$(grep -Eo 'view fingerprint [0-9a-f]{32}$' "$T/$1.out" | sort -u | wc -l)" = 1 ]
}

check "demo --help" bash "$DEMO" --help
expect_out "demo --help explains --stick" "--stick folder" bash "$DEMO" --help
expect_out "a bad --stick is a usage error" "--stick takes auto, fat32 or folder" bash "$DEMO" --stick usb "$AIDMESH"
expect_out "a missing binary is explained" "no aidmesh binary at" bash "$DEMO" "$T/nothing/aidmesh"

# ---- the demo as `make demo` runs it ------------------------------------------------------
demo_run auto
check "the demo exits 0" test "$(cat "$T/auto.rc")" = 0
check "it says which stick it uses" grep -Eq "^The USB stick is a (64 MiB FAT32 image|plain folder)" "$T/auto.out"
check "step: the hub records a need" grep -q "^4. The hub records a need: 200 water kits at Riverside shelter" "$T/auto.out"
check "  with the real CLI output" grep -Eq "^       opened need [0-9a-f]{6,}: 200 water-kit at riverside, critical" "$T/auto.out"
check "the clinic syncs once over TCP" grep -Eq "^       received 5 entries from 1 author, sent 4" "$T/auto.out"
check "the clinic's node connects to the hub" grep -q "in sync" "$T/auto.out"
check "a delivery at the hub reaches the clinic live" grep -Eq "^   \(reached the clinic in [0-9]+ ms\)" "$T/auto.out"
check "the stick is set up at the warehouse" grep -q "(set up now)" "$T/auto.out"
check "the stick sync says when to unplug" test "$(grep -c '^       safe to unplug' "$T/auto.out")" = 3
check "the stick brings the warehouse's 4 entries to the clinic" grep -q "imported 4 new entries" "$T/auto.out"
check "and the rest back to the warehouse" grep -q "imported 11 new entries" "$T/auto.out"
check "every node lists the warehouse's need" \
    test "$(grep -Ec '^       [0-9a-f]{6} +normal +warehouse-s.* +tarp +0/1000 +open' "$T/auto.out")" -ge 4
check "three equal fingerprints are printed" fp_lines auto
check "it ends with CONVERGED" grep -Eq "^CONVERGED: hub, clinic and warehouse hold the same records \([0-9.]+ s, stick: (fat32|folder)\)" "$T/auto.out"
check "nothing is left behind" nothing_left
if grep -q "stick: fat32" "$T/auto.out"; then
    ok "the FAT32 stick was used (root, /dev/fuse, mkfs.vfat and fusefat are here)"
else
    echo "# the FAT32 stick was not possible here: $(grep '^The USB stick' "$T/auto.out")"
fi

# ---- a folder stick ---------------------------------------------------------------------------
demo_run folder --stick folder
check "the demo with a folder stick exits 0" test "$(cat "$T/folder.rc")" = 0
check "  says so" grep -q "^The USB stick is a plain folder" "$T/folder.out"
check "  and converges" grep -q "^CONVERGED: .*stick: folder" "$T/folder.out"
check "  three equal fingerprints" fp_lines folder
check "  nothing is left behind" nothing_left

# ---- stopped half-way: still cleans up -----------------------------------------------------------
AM_DEMO_PAUSE=1 TMPDIR=$T/tmp bash "$DEMO" "$AIDMESH" >"$T/stopped.out" 2>&1 &
demo=$!
if wait_for 120 grep -q "paused for a test" "$T/stopped.out"; then
    kill -TERM "$demo"
    rc=0
    wait "$demo" || rc=$?
    check "a demo stopped with SIGTERM exits non-zero ($rc)" test "$rc" -ne 0
    check "  and leaves nothing behind (daemons stopped, stick unmounted, folder gone)" \
        wait_for 10 nothing_left
    refute "  and does not claim convergence" grep -q "^CONVERGED" "$T/stopped.out"
else
    not_ok "the demo did not reach its pause point within 120 s"
    sed 's/^/    # /' "$T/stopped.out"
fi
kill_leftovers
finish
