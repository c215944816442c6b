#!/usr/bin/env bash
# guidance.sh: messages that say what to do (issue 21, item 4), through the real binary:
#  - a node that has not synced yet (no entry of another node, no site or item of that
#    kind), asked about an unknown site or item, says to sync
#    first instead of suggesting to define it; once synced, the usual sentence returns;
#  - `need show` of a conflict names each value, who wrote it and which one is shown;
#  - `site list` explains its `!`;
#  - a stick sync with nothing to do says "nothing to exchange".
# (doctor.sh checks that doctor does not call a founding node "joined"; stick_fat32.sh
# that a full stick never says "0 entries ... did not fit".)
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
S=$T/stick
mkdir -p "$S"
check "init the hub" $A --home "$T/hub" init --name hub
code=$($A --home "$T/hub" invite)
check "init a medic (joins)" $A --home "$T/med" init --name medic --join "$code"
check "the hub defines a site" $A --home "$T/hub" site add riverside --name "Riverside" --kind shelter
check "and an item" $A --home "$T/hub" item add ors --name "ORS sachet" --unit sachet

# ---- a node that has not synced yet ---------------------------------------------------------------
not_synced="unknown site 'riverside': this node has not synced yet: \`aidmesh sync HUB:47470\` or \`aidmesh stick sync PATH\` first"
refute "the new medic cannot add a need for a site it does not know" \
    $A --home "$T/med" need add --site riverside --item ors --qty 5
expect_out "  and is told to sync first" "$not_synced" \
    $A --home "$T/med" need add --site riverside --item ors --qty 5
refute "  not to define the site" grep -q "site add" "$T/last.out"
expect_out "the same for stock" "this node has not synced yet" \
    $A --home "$T/med" stock receive --site riverside --item ors --qty 5
check "the medic defines a site of its own" $A --home "$T/med" site add clinic-9 --name "Clinic 9"
expect_out "an item it does not know: sync first too" \
    "unknown item 'ors': this node has not synced yet" \
    $A --home "$T/med" stock receive --site clinic-9 --item ors --qty 5
check "the hub tops up a stick" $A --home "$T/hub" stick sync "$S"
check "the medic syncs it" $A --home "$T/med" stick sync "$S"
check "now the medic adds the need" $A --home "$T/med" need add --site riverside --item ors --qty 5
expect_out "once synced, an unknown site gets the usual sentence" \
    "unknown site 'lakeside'; see \`aidmesh site list\`, or define it" \
    $A --home "$T/med" need add --site lakeside --item ors --qty 5
refute "  not the sync-first one" grep -q "not synced yet" "$T/last.out"

# ---- a conflict in need show ----------------------------------------------------------------------
check "the hub gets the need" $A --home "$T/med" stick sync "$S"
check "  (its stick sync)" $A --home "$T/hub" stick sync "$S"
id=$($A --home "$T/hub" need list --json | sed 's/.*"short":"\([0-9a-f]*\)".*/\1/')
check "the need is known at both ($id)" $A --home "$T/med" need show "$id"
check "the hub changes its quantity" $A --home "$T/hub" need update "$id" --qty 9
check "the medic too, not having seen that" $A --home "$T/med" need update "$id" --qty 11
check "the hub changes the site's name" $A --home "$T/hub" site update riverside --name "Riverside camp"
check "the medic too" $A --home "$T/med" site update riverside --name "Riverside school"
check "sync: the hub writes the stick" $A --home "$T/hub" stick sync "$S"
check "sync: the medic reads it" $A --home "$T/med" stick sync "$S"
hub_id=$($A --home "$T/hub" status --json | sed 's/.*"author":"\([0-9a-f]*\)".*/\1/')
med_id=$($A --home "$T/med" status --json | sed 's/.*"author":"\([0-9a-f]*\)".*/\1/')
$A --home "$T/med" need show "$id" >"$T/show.out" 2>&1
check "need show names the conflict" grep -Eq "conflict: +the quantity was changed on 2 nodes at once" "$T/show.out"
check "  the hub's value and who wrote it" grep -Eq "^ +9  by ${hub_id:0:16} \(entry [0-9]+\)" "$T/show.out"
check "  the medic's value and who wrote it" grep -Eq "^ +11  by ${med_id:0:16} \(entry [0-9]+\)" "$T/show.out"
check "  which one is shown" test "$(grep -c '<- shown' "$T/show.out")" = 1
shown=$(sed -n 's/^  quantity: *\([0-9]*\).*/\1/p' "$T/show.out")
check "  the one marked shown is the quantity shown ($shown)" grep -Eq "^ +$shown  by .*<- shown" "$T/show.out"
sed 's/^/    /' "$T/show.out"

# ---- site list explains its ! ---------------------------------------------------------------------
$A --home "$T/med" site list >"$T/sites.out" 2>&1
check "site list marks the conflict" grep -q "!" "$T/sites.out"
check "  and explains the mark" grep -q "^! two nodes changed a field at once" "$T/sites.out"

# ---- nothing to exchange --------------------------------------------------------------------------
check "the hub syncs once more" $A --home "$T/hub" stick sync "$S"
expect_out "a stick sync with nothing to do says so" "^nothing to exchange: " \
    $A --home "$T/hub" stick sync "$S"

finish
