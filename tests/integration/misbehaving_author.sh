#!/usr/bin/env bash
# misbehaving_author.sh: PROTOCOL.md §6, "verify the tip, hash the chain". An author signs a
# run whose middle entry has a bad signature and whose tip is valid (aidmesh-testtool
# bad-run): every node accepts the run, through a stick and through a sync, and on every
# node `aidmesh verify` exits 0 and names the author as misbehaving (a line of its own, and
# "misbehaving" in --json), while a store whose bytes were damaged still fails verify.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
TT=$AM_TESTTOOL
H=$T/hub
C=$T/clinic
D=$T/depot
check "init hub" "$A" --home "$H" init --name hub
code=$("$A" --home "$H" invite)
check "init clinic (joins)" "$A" --home "$C" init --name clinic --join "$code"
check "init depot (joins)" "$A" --home "$D" init --name depot --join "$code"

author=$("$TT" bad-run "$H" --entries 5 --bad 3)
check "the hub ingests a run with a bad signature at seq 3 and a valid tip" \
    test "${#author}" = 64
short=${author:0:16}
# holds NODE: the node holds the whole run, seq 1 to 5
holds() { test "$("$A" --home "$1" log --author "$author" --json | wc -l)" = 5; }
check "the hub holds all 5 entries" holds "$H"

# verify_misbehaving LABEL NODE: exit 0, the author on a line of its own, and in --json
verify_misbehaving() {
    check "$1: verify exits 0" "$A" --home "$2" verify
    expect_out "$1: verify names the author as misbehaving" \
        "^  author $short misbehaving: seq 3 has a bad signature, and a later entry of this author signs over it" \
        "$A" --home "$2" verify
    expect_out "$1: verify says the store is clean" "^verified .*: clean$" "$A" --home "$2" verify
    expect_out "$1: verify --json lists the author under misbehaving" \
        "\"misbehaving\":\[\{\"author\":\"$author\",\"first_seq\":3,\"bad_signatures\":1\}\]" \
        "$A" --home "$2" verify --json
    expect_out "$1: verify --json says clean" '"clean":true' "$A" --home "$2" verify --json
    expect_out "$1: verify --json lists no problem" '"problems":\[\]' "$A" --home "$2" verify --json
}
verify_misbehaving hub "$H"

# ---- through a stick ---------------------------------------------------------------------
mkdir -p "$T/stick"
check "the hub syncs a stick" "$A" --home "$H" stick sync "$T/stick"
check "the clinic syncs it" "$A" --home "$C" stick sync "$T/stick"
check "the clinic holds the whole run" holds "$C"
verify_misbehaving clinic "$C"

# ---- through a sync ----------------------------------------------------------------------
PH=$(pick_port)
"$A" --home "$H" run --listen 127.0.0.1:$PH --no-discovery >"$T/hub.log" 2>&1 &
check "hub listens" wait_for 10 grep -q "listening on" "$T/hub.log"
check "the depot syncs with the hub" "$A" --home "$D" sync 127.0.0.1:$PH
check "the depot holds the whole run" holds "$D"
verify_misbehaving depot "$D"

# ---- damage is still damage --------------------------------------------------------------
check "the depot writes two entries" "$TT" append "$D" --size 2 --batches 1
check "verify is still clean" "$A" --home "$D" verify
check "flip a signature bit of the depot's seq 1" "$TT" tamper "$D" --seq 1
refute "verify fails on the damaged store" "$A" --home "$D" verify
expect_out "and names the damage" "seq 1: bad signature" "$A" --home "$D" verify
expect_out "and what it broke" "seq 2: prev hash does not link" "$A" --home "$D" verify
expect_out "the misbehaving author is still named apart" "^  author $short misbehaving" \
    "$A" --home "$D" verify
expect_out "verify --json says not clean" '"clean":false' "$A" --home "$D" verify --json

finish
