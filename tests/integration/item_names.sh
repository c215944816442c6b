#!/usr/bin/env bash
# item_names.sh: names of items per language through the real binary (PROTOCOL.md 10.4
# "item.name"): `item name ITEM --lang fr NAME`, `item names ITEM [--json]`, `--remove`;
# bad input refused with nothing written; the catalogue page served on the loopback shows
# the French name with ?lang=fr and the item's own name in English; a stick carries the
# names to a second node, which shows the same, and a removal too; two nodes naming one
# item at once see the same conflict, settled by a write that names both; reindex rebuilds
# the same views.
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
am item add ors --name "ORS sachet" --unit sachet >/dev/null
am item add tarp --name "Tarpaulin" --unit sheet >/dev/null

# ---- item name / names ----------------------------------------------------------------------
expect_out "item name sets the French name" "^ors in fr: Sachet de SRO$" \
    am item name ors --lang fr "Sachet de SRO"
check "and a Spanish one" am item name ors --lang es "Sobre de SRO"
expect_out "item names lists them with the item's own name" "^fr +Sachet de SRO$" am item names ors
check "item names --json" test "$(am item names ors --json | jq_py 'd["name"], d["names"]["fr"]["name"], d["names"]["es"]["name"]')" = "ORS sachet Sachet de SRO Sobre de SRO"
expect_out "an item without names says so" "no names per language" am item names tarp

n=$(entries "$H")
expect_out "a language the pages do not speak is refused" "--lang takes en, fr, es or ar" \
    am item name ors --lang de "ORS-Beutel"
expect_out "--lang is required" "--lang is required" am item name ors "Sachet"
expect_out "a name with a control character is refused" "must be printable text" \
    am item name ors --lang fr "$(printf 'a\tb')"
expect_out "a name over 64 bytes is refused" "refused" \
    am item name ors --lang fr "$(printf 'x%.0s' $(seq 65))"
expect_out "an empty name is refused (--remove removes)" "use --remove" am item name ors --lang fr ""
expect_out "an unknown item is refused, with a suggestion" "unknown item 'orz'; did you mean 'ors'" \
    am item name orz --lang fr "Sachet"
expect_out "removing a name that is not there" "has no name in ar" am item name ors --lang ar --remove
check "nothing of that was written" test "$(entries "$H")" = "$n"

# ---- the catalogue page in the page's language ------------------------------------------------
P=$(pick_port)
"$A" --home "$H" run --listen "127.0.0.1:$P" --no-discovery --http 127.0.0.1:0 >"$T/hub.log" 2>&1 &
HUB=$!
check "the hub serves its pages" wait_for 15 grep -q "dashboard at http://127.0.0.1:" "$T/hub.log"
URL=$(sed -n 's/.*dashboard at \(http:[^ ]*\)\/.*/\1/p' "$T/hub.log" | head -1)
curl -s --max-time 10 -o "$T/fr.html" "$URL/catalogue?lang=fr"
curl -s --max-time 10 -o "$T/en.html" "$URL/catalogue?lang=en"
curl -s --max-time 10 -o "$T/ar.html" "$URL/catalogue?lang=ar"
check "catalogue?lang=fr: the French name over the code" \
    grep -q '<tr class="item"><td><bdi>Sachet de SRO</bdi><br><small>ors</small>' "$T/fr.html"
check "catalogue?lang=en: the item's own name" \
    grep -q '<tr class="item"><td><bdi>ORS sachet</bdi><br><small>ors</small>' "$T/en.html"
check "catalogue?lang=ar: no Arabic name, the item's own name" \
    grep -q '<tr class="item"><td><bdi>ORS sachet</bdi><br><small>ors</small>' "$T/ar.html"
check "catalogue?lang=fr: an item without a French name keeps its own" \
    grep -q '<tr class="item"><td><bdi>Tarpaulin</bdi><br><small>tarp</small>' "$T/fr.html"
kill "$HUB" 2>/dev/null
wait "$HUB" 2>/dev/null

# ---- sync ----------------------------------------------------------------------------------------
check "a stick carries the names to the clinic" carry "$H" "$C"
check "the clinic shows the same names" test "$(cm item names ors --json)" = "$(am item names ors --json)"
check "the hub removes the Spanish name" am item name ors --lang es --remove
check "the removal travels too" carry "$H" "$C"
check "the clinic has no Spanish name left" test "$(cm item names ors --json | jq_py 'sorted(d["names"])')" = "['fr']"
check "both nodes hold the same views" test "$(fp "$H")" = "$(fp "$C")"

# ---- two nodes naming one item at once ----------------------------------------------------------
check "the hub names it in French" am item name ors --lang fr "Sachet SRO (hub)"
check "the clinic too, not having seen it" cm item name ors --lang fr "Sachet SRO (clinique)"
check "they meet" carry "$H" "$C"
check "... and again, so the hub sees the clinic's" carry "$C" "$H"
check "both see the conflict" test "$(am item names ors --json | jq_py 'd["names"]["fr"]["conflict"]')" = "True"
check "both show the same winner" test "$(am item names ors --json)" = "$(cm item names ors --json)"
expect_out "item names marks it" "^fr +Sachet SRO .* !$" am item names ors
check "a name written after seeing both settles it" am item name ors --lang fr "Sachet de SRO"
check "the clinic gets it" carry "$H" "$C"
check "no conflict any more, on both" test "$(cm item names ors --json | jq_py 'd["names"]["fr"]["conflict"], d["names"]["fr"]["name"]')" = "False Sachet de SRO"
f=$(fp "$H")
check "reindex rebuilds the same views, names included" am reindex
check "the same fingerprint after reindex" test "$(fp "$H")" = "$f"
check "verify finds nothing wrong" am verify

finish
