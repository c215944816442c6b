#!/usr/bin/env bash
# packs.sh: named packs of items through the real binary (PROTOCOL.md 10.4 "item.pack"):
# `item pack add|remove|list` (text and --json, good and bad input, nothing written on bad
# input), quantities typed in packs in stock receive/issue/count/min, need add/deliver and
# import ("12 carton", "3x carton", "2 cartons"), stored in base units and shown in packs by
# stock show, need list and item list; an unknown pack, and packs x units past the limit and
# past int64, refused; a stick carries the packs and the stock to a second node, which shows
# the same; two nodes defining one pack at once see the same conflict, settled by a write
# that names both.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
H=$T/hub
C=$T/clinic
S=$T/stick
mkdir "$S"
am() { "$A" --home "$H" "$@"; }
cm() { "$A" --home "$C" "$@"; }
fp() { "$A" --home "$1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["view_fingerprint"])'; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
carry() { "$A" --home "$1" stick sync "$S" >/dev/null && "$A" --home "$2" stick sync "$S" >/dev/null; }

check "init" am init --name hub-north
code=$(am invite)
check "init clinic (joins)" cm init --name clinic-2 --join "$code"
am site add hub-north --name "Hub North" --kind hub >/dev/null
am item add ors --name "ORS sachet" --unit sachet >/dev/null
am item add tarp --name "Tarpaulin" --unit sheet >/dev/null

# ---- item pack add / list -------------------------------------------------------------------
expect_out "item pack add defines a carton of 50" "^pack carton of ors: 50 sachet$" \
    am item pack add ors carton --units 50
check "and a box of 10" am item pack add ors box --units 10
expect_out "item pack list shows both, by name" "^ors +box +10 sachet" am item pack list
expect_out "item pack list ITEM" "^ors +carton +50 sachet" am item pack list ors
check "item pack list --json" test "$(am item pack list ors --json | jq_py '[(p["pack"], p["units"]) for p in d]')" = "[('box', 10), ('carton', 50)]"
expect_out "item list shows the packs under the item" "^  packs: box = 10, carton = 50$" am item list
check "item list --json carries the packs" test "$(am item list --json | jq_py '[p["pack"] for p in d[0]["packs"]]')" = "['box', 'carton']"
expect_out "an item without packs says so" "no packs of tarp" am item pack list tarp

n=$(entries "$H")
expect_out "a pack name that is not a slug is refused" "pack name 'Big Box' must be 1 to 32 characters of a-z" \
    am item pack add ors "Big Box" --units 5
expect_out "zero units are refused" "--units takes the whole number of base units in one pack, 1 to 9007199254740991, not '0'" \
    am item pack add ors crate --units 0
expect_out "negative units are refused" "--units takes .* not '-3'" am item pack add ors crate --units -3
expect_out "units past the quantity limit are refused" "not '9007199254740992'" \
    am item pack add ors crate --units 9007199254740992
expect_out "--units is required" "--units is required" am item pack add ors crate
expect_out "a pack of an unknown item is refused, with a suggestion" "unknown item 'orz'; did you mean 'ors'" \
    am item pack add orz crate --units 5
expect_out "removing a pack that does not exist names the item's packs" \
    "item 'ors' has no pack 'crate'; its packs: box \\(10\\), carton \\(50\\)" am item pack remove ors crate
expect_out "an unknown subcommand" "add, remove or list" am item pack drop ors carton
check "nothing of that was written" test "$(entries "$H")" = "$n"

# ---- quantities in packs ----------------------------------------------------------------------
expect_out "stock receive --qty '12 carton' stores 600" "^received 600 \\(12 carton\\) ors at hub-north: stock now 600 \\(12 carton\\)" \
    am stock receive --site hub-north --item ors --qty "12 carton" --no-lot
expect_out "stock show shows 600 and 12 carton" "^hub-north +ors +- +- +600 \\(12 carton\\)$" am stock show
check "stock show --json: 600 in base units, and in packs" test "$(am stock show --json | jq_py 'd[0]["stock"], d[0]["in_packs"]["pack"], d[0]["in_packs"]["count"]')" = "600 carton 12"
check "stock issue --qty '3x carton'" am stock issue --site hub-north --item ors --qty "3x carton"
expect_out "450 left: 9 carton" "^hub-north +ors +- +- +450 \\(9 carton\\)$" am stock show
check "a plural and a spaced x: '2 cartons', '1 x box'" sh -c "'$A' --home '$H' stock issue --site hub-north --item ors --qty '2 cartons' >/dev/null && '$A' --home '$H' stock issue --site hub-north --item ors --qty '1 x box' >/dev/null"
expect_out "340 is 34 box (50 does not divide it)" "^hub-north +ors +- +- +340 \\(34 box\\)$" am stock show
check "a plain number is still base units" am stock receive --site hub-north --item ors --qty 5 --no-lot
expect_out "345: the largest pack that fits and the rest" "345 \\(6 carton \\+ 45\\)$" am stock show
check "stock count in packs" am stock count --site hub-north --item ors --qty "7 carton"
expect_out "the count is 350" "350 \\(7 carton\\)$" am stock show
expect_out "stock min in packs" "minimum of ors at hub-north: 500; 350 held in all lots — BELOW MIN" \
    am stock min --site hub-north --item ors --qty "10 carton"

n=$(entries "$H")
expect_out "an unknown pack is refused, naming the item's packs" \
    "stock issue: item 'ors' has no pack 'sack'; its packs: box \\(10\\), carton \\(50\\)" \
    am stock issue --site hub-north --item ors --qty "2 sack"
expect_out "a pack of an item that has none" "item 'tarp' has no packs: give the quantity in base units" \
    am stock receive --site hub-north --item tarp --qty "2 bale" --no-lot
check "a pack of a million" am item pack add ors pallet --units 1000000000000000
n=$(entries "$H")
expect_out "packs x units past the quantity limit are refused" \
    "10 x pallet \\(1000000000000000 units each\\) is over the limit of 9007199254740991 base units" \
    am stock receive --site hub-north --item ors --qty "10 pallet" --no-lot
expect_out "packs x units past int64 are refused" "is beyond a 64-bit integer" \
    am stock receive --site hub-north --item ors --qty "9007199254740991 pallet" --no-lot
expect_out "zero packs are refused where zero is not allowed" "1 or more" \
    am stock receive --site hub-north --item ors --qty "0 carton" --no-lot
expect_out "a pack name that is not a slug in --qty" "a pack name is a-z, 0-9 and '-'" \
    am stock issue --site hub-north --item ors --qty "2 big_box"
check "nothing of that was written" test "$(entries "$H")" = "$n"
check "item pack remove" am item pack remove ors pallet
expect_out "a removed pack is no longer listed" "^2 packs$" am item pack list ors
expect_out "and no longer accepted" "has no pack 'pallet'" am stock issue --site hub-north --item ors --qty "1 pallet"

# ---- needs --------------------------------------------------------------------------------
expect_out "need add --qty '4 carton'" "^opened need [0-9a-f]+: 200 \\(4 carton\\) ors at hub-north" \
    am need add --site hub-north --item ors --qty "4 carton"
id=$(am need list | awk 'NR == 2 {print $1}')
check "need list --json: stored in base units" test "$(am need list --json | jq_py 'd[0]["qty"]')" = 200
expect_out "need list shows the asked in base units and in packs" "0/200 \\(4 carton\\) open" am need list
check "need deliver --qty '2x box'" am need deliver "$id" --qty "2x box"
expect_out "need list: 20 delivered" "20/200 \\(4 carton\\) open" am need list
expect_out "need deliver of an unknown pack" "has no pack 'crate'" am need deliver "$id" --qty "1 crate"

# ---- import ----------------------------------------------------------------------------------
cat >"$T/stock.csv" <<'EOF'
#loc+code,#item+code,#item+lot,#date+expiry,#value+quantity
hub-north,ors,L9,2040-01-01,3 carton
EOF
check "import --hxl stock takes a quantity in packs" am import --hxl stock "$T/stock.csv"
expect_out "the imported lot holds 150" "^hub-north +ors +L9 +2040-01-01 +150 \\(3 carton\\)$" am stock show
cat >"$T/bad.csv" <<'EOF'
#loc+code,#item+code,#item+lot,#date+expiry,#value+quantity
hub-north,ors,L10,2040-01-01,2 carton
hub-north,ors,L11,2040-01-01,2 crate
EOF
n=$(entries "$H")
expect_out "import names the row with an unknown pack" "row 3, #value\\+quantity: item 'ors' has no pack 'crate'" \
    am import --hxl stock "$T/bad.csv"
check "and writes none of its rows" test "$(entries "$H")" = "$n"

# ---- a second node ---------------------------------------------------------------------------
check "a stick carries everything to the clinic" carry "$H" "$C"
check "both nodes show the same views" test "$(fp "$H")" = "$(fp "$C")"
expect_out "the clinic lists the packs" "^ors +carton +50 sachet" cm item pack list
check "the clinic shows the same stock, in packs" test "$(cm stock show)" = "$(am stock show)"
expect_out "and takes quantities in the same packs" "^received 100 \\(2 carton\\)" \
    cm stock receive --site hub-north --item ors --qty "2 carton" --no-lot

# ---- two nodes define one pack at once -------------------------------------------------------
check "the stick carries the clinic's receipt back" carry "$C" "$H"
check "hub: a case holds 24" am item pack add tarp case --units 24
check "clinic: a case holds 20, not having seen it" cm item pack add tarp case --units 20
check "the stick carries both ways" sh -c "'$A' --home '$C' stick sync '$S' >/dev/null && '$A' --home '$H' stick sync '$S' >/dev/null && '$A' --home '$C' stick sync '$S' >/dev/null"
check "both nodes show the same views" test "$(fp "$H")" = "$(fp "$C")"
expect_out "the conflict is flagged" "^tarp +case .* !$" am item pack list tarp
check "both nodes show the same winner" test "$(am item pack list tarp --json)" = "$(cm item pack list tarp --json)"
expect_out "a quantity in that pack warns and uses the winner" "has 2 definitions made at once; counted with" \
    am stock receive --site hub-north --item tarp --qty "1 case" --no-lot
expect_out "the clinic settles it, naming both" '"units":20' cm item pack add tarp case --units 20 --json
check "the settling write reaches the hub, and the hub's receipt the clinic" \
    sh -c "'$A' --home '$C' stick sync '$S' >/dev/null && '$A' --home '$H' stick sync '$S' >/dev/null && '$A' --home '$C' stick sync '$S' >/dev/null"
check "both agree again" test "$(fp "$H")" = "$(fp "$C")"
f=$(fp "$H")
check "reindex rebuilds the same views, packs included" am reindex
check "the same fingerprint after reindex" test "$(fp "$H")" = "$f"
check "verify finds nothing wrong" am verify
check "no conflict any more" test "$(am item pack list tarp --json | jq_py 'd[0]["conflict"], d[0]["units"]')" = "False 20"

finish
