#!/usr/bin/env bash
# fefo_two_medics.sh: two medics issue from one cell of two lots at the same time, each on
# a node that cannot see the other, without naming a lot. Each node resolves its issue
# first-expiry-first against the lots it sees and records one movement per lot; after a
# stick carries both ways, both nodes show the same cells (same view fingerprint), the
# sooner lot overdrawn by what the two took from it together, and nothing lost.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
M1=$T/medic-1
M2=$T/medic-2
S=$T/stick
mkdir "$S"
fp() { "$A" --home "$1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["view_fingerprint"])'; }
cell() { # cell HOME LOT: the stock of that lot
    "$A" --home "$1" stock show --site clinic-2 --item ors --all --json |
        python3 -c 'import json,sys; print([c["stock"] for c in json.load(sys.stdin) if c["lot"] == sys.argv[1]][0])' "$2"
}

check "init medic 1" "$A" --home "$M1" init --name medic-1
code=$("$A" --home "$M1" invite)
check "init medic 2 (joins)" "$A" --home "$M2" init --name medic-2 --join "$code"
"$A" --home "$M1" site add clinic-2 --name "Clinic 2" >/dev/null
"$A" --home "$M1" item add ors --name "ORS sachet" --unit sachet >/dev/null
check "lot L1: 50, expires first" "$A" --home "$M1" stock receive --site clinic-2 --item ors --qty 50 --lot L1 --expiry 2039-01-01
check "lot L2: 100, expires later" "$A" --home "$M1" stock receive --site clinic-2 --item ors --qty 100 --lot L2 --expiry 2040-01-01
check "the stick carries them to medic 2" sh -c "'$A' --home '$M1' stick sync '$S' >/dev/null && '$A' --home '$M2' stick sync '$S' >/dev/null"
check "both see the same cells" test "$(fp "$M1")" = "$(fp "$M2")"

# at the same time, out of reach of each other: 60 each, no lot named
expect_out "medic 1 issues 60: all of L1, 10 of L2" "50 from lot L1" "$A" --home "$M1" stock issue --site clinic-2 --item ors --qty 60
expect_out "medic 2 issues 60: the same resolution on its own node" "50 from lot L1" "$A" --home "$M2" stock issue --site clinic-2 --item ors --qty 60
check "medic 1 alone: L1 at 0, L2 at 90" test "$(cell "$M1" L1) $(cell "$M1" L2)" = "0 90"

check "the stick carries both ways" sh -c "'$A' --home '$M2' stick sync '$S' >/dev/null && '$A' --home '$M1' stick sync '$S' >/dev/null && '$A' --home '$M2' stick sync '$S' >/dev/null"
check "both show the same views again" test "$(fp "$M1")" = "$(fp "$M2")"
check "L1 is overdrawn by what the two took from it together (50 + 50 of 50)" test "$(cell "$M1" L1)" = -50
check "L2 gave 10 to each" test "$(cell "$M2" L2)" = 80
expect_out "and stock show says so" "L1 .* -50 OVERDRAWN" "$A" --home "$M2" stock show --site clinic-2
check "nothing landed on a cell without lot" sh -c "! '$A' --home '$M1' stock show --all --json | grep -q '\"lot\":null'"

finish
