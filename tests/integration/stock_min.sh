#!/usr/bin/env bash
# stock_min.sh: minimum levels and totals, and the checks that catch slips, through the real
# binary: `stock min` (good and bad input, nothing written on bad input), BELOW-MIN in
# `stock show` (text and --json), `stock totals` (text, --json, --item, an unknown item),
# the dashboard's totals table and below-minimum tile (`report --html`), two nodes that set
# a minimum at once (the same views on both after a stick, settled by a third write that
# names both; the conflict itself is checked in query_test and stock_min_test), and the
# need warnings and marks: over, by-past, dup (written anyway).
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
H=$T/hub
C=$T/clinic
S=$T/stick
mkdir "$S"
am() { "$A" --home "$H" "$@"; }
cm() { "$A" --home "$C" "$@"; }
fp() { "$A" --home "$1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["view_fingerprint"])'; }
# jq_py EXPR: evaluates EXPR on the JSON in stdin (as `d`)
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

check "init" am init --name hub-north
code=$(am invite)
check "init clinic (joins)" cm init --name clinic-2 --join "$code"
am site add hub-north --name "Hub North" --kind hub >/dev/null
am site add clinic-2 --name "Clinic 2" --kind clinic >/dev/null
am item add ors --name "ORS sachet" --unit sachet >/dev/null
am item add water-kit --name "Water kit" --unit kit >/dev/null
check "lot L1 of 30" am stock receive --site hub-north --item ors --qty 30 --lot L1 --expiry 2039-01-01
check "lot L2 of 20" am stock receive --site hub-north --item ors --qty 20 --lot L2 --expiry 2040-01-01

# ---- stock min ----------------------------------------------------------------------------
expect_out "stock min sets a minimum and says the site is below it" \
    "minimum of ors at hub-north: 60; 50 held in all lots — BELOW MIN" \
    am stock min --site hub-north --item ors --qty 60
expect_out "stock show flags every lot of it BELOW-MIN" "L1 .* 30 BELOW-MIN" am stock show --site hub-north
expect_out "and lists the site and item under the table" "BELOW MIN  ors at hub-north: 50 held in all lots, minimum 60" \
    am stock show
check "stock show --json carries below_min, the minimum and the site's stock" \
    sh -c "'$A' --home '$H' stock show --json | grep -q '\"below_min\":true,\"minimum\":60,\"site_stock\":50'"
expect_out "stock min --json" '"minimum":60,"stock":50,"below_min":true,"conflict":false' \
    am stock min --site hub-north --item ors --qty 60 --json
expect_out "a minimum where nothing is stocked yet" "minimum of water-kit at clinic-2: 10; 0 held in all lots — BELOW MIN" \
    am stock min --site clinic-2 --item water-kit --qty 10
expect_out "stock show of a site with no stock still names it" "BELOW MIN  water-kit at clinic-2: 0 held" \
    am stock show --site clinic-2
check "receiving enough clears the flag" am stock receive --site hub-north --item ors --qty 15 --lot L3 --expiry 2041-01-01
check "no BELOW-MIN at hub-north now" sh -c "! '$A' --home '$H' stock show --site hub-north | grep -q BELOW"

n=$(entries "$H")
expect_out "a negative minimum is refused" "--qty takes a whole number of base units \\(0 or more\\)" \
    am stock min --site hub-north --item ors --qty -5
expect_out "an overflowing minimum is refused" "up to 9007199254740991" \
    am stock min --site hub-north --item ors --qty 99999999999999999999
expect_out "a minimum that is not a number" "whole number" am stock min --site hub-north --item ors --qty ten
expect_out "an unknown site gets a suggestion" "unknown site 'hub-nort'; did you mean 'hub-north'" \
    am stock min --site hub-nort --item ors --qty 5
expect_out "an unknown item gets a suggestion" "unknown item 'orz'; did you mean 'ors'" \
    am stock min --site hub-north --item orz --qty 5
expect_out "--qty is required" "--site, --item and --qty are required" am stock min --site hub-north --item ors
expect_out "an unknown option" "unrecognized option|unknown option" am stock min --site hub-north --item ors --qty 5 --lot L1
expect_out "an unknown stock subcommand names min and totals" "show, min or totals" am stock minimum
check "nothing of that was written" test "$(entries "$H")" = "$n"
check "--force writes for a site not defined here" am stock min --site depot-9 --item ors --qty 5 --force

# ---- stock totals -------------------------------------------------------------------------
check "clinic stock: 3 issued without any (overdrawn)" am stock issue --site clinic-2 --item ors --qty 3 --force
expect_out "stock totals: one row per item" "^ors +62 +3 +1 +1 +0 +0" am stock totals
expect_out "water-kit: held nowhere, below minimum at one site" "^water-kit +0 +1 +1 +0" am stock totals
check "stock totals --json" sh -c "test \"\$('$A' --home '$H' stock totals --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[0][\"item\"], d[0][\"stock\"], d[0][\"sites\"], d[0][\"below_min\"], d[0][\"overdrawn\"])')\" = 'ors 62 3 1 1'"
check "stock totals --item narrows to one" test "$(am stock totals --item water-kit --json | jq_py 'len(d)')" = 1
expect_out "stock totals --item of an unknown item suggests" "unknown item 'water-kt'; did you mean 'water-kit'" \
    am stock totals --item water-kt
expect_out "stock totals with a stray argument" "unexpected argument" am stock totals ors

# ---- the dashboard --------------------------------------------------------------------------
check "hub-north's minimum of ors goes up to 70 (65 held)" am stock min --site hub-north --item ors --qty 70
check "report --html" am report --html "$T/report.html"
check "the report has a below-minimum tile counting 3 pairs" grep -q '<b>3</b><span>below minimum</span>' "$T/report.html"
check "the report has the totals table" grep -q '<section id="totals">' "$T/report.html"
check "with a row for ors" grep -q 'class="total" data-item="ors" data-held="62" data-sites="3" data-below-min="2"' "$T/report.html"
check "and a BELOW MIN chip on a cell" grep -q 'BELOW MIN</span>' "$T/report.html"

# ---- two nodes set a minimum at once ----------------------------------------------------------
check "the stick carries the hub's records to the clinic" sh -c "'$A' --home '$H' stick sync '$S' >/dev/null && '$A' --home '$C' stick sync '$S' >/dev/null"
check "hub sets 100" am stock min --site hub-north --item water-kit --qty 100
check "clinic sets 40, not having seen it" cm stock min --site hub-north --item water-kit --qty 40
check "the stick carries both ways" sh -c "'$A' --home '$C' stick sync '$S' >/dev/null && '$A' --home '$H' stick sync '$S' >/dev/null && '$A' --home '$C' stick sync '$S' >/dev/null"
check "both nodes show the same views" test "$(fp "$H")" = "$(fp "$C")"
expect_out "the clinic sets it again, naming both heads: settled" '"minimum":80,.*"conflict":false' \
    cm stock min --site hub-north --item water-kit --qty 80 --json
check "the third write, naming both, reaches the hub" sh -c "'$A' --home '$C' stick sync '$S' >/dev/null && '$A' --home '$H' stick sync '$S' >/dev/null"
check "both agree again" test "$(fp "$H")" = "$(fp "$C")"
expect_out "and the hub shows 80" '"minimum":80' am stock min --site hub-north --item water-kit --qty 80 --json

# ---- needs: slips are flagged, never refused --------------------------------------------------
expect_out "a needed-by date in the past is written, with a warning" \
    "warning: the needed-by date 2020-01-01 is already past" \
    am need add --site clinic-2 --item ors --qty 10 --by 2020-01-01
check "it was written" test "$(am need list --json | jq_py 'len(d)')" = 1
id1=$(am need list --json | jq_py 'd[0]["id"]')
expect_out "need list marks it by-past (<)" "LATE< +2020-01-01" am need list
expect_out "and explains the mark" "^< the needed-by date was already past" am need list
expect_out "a second open need for the same site and item, the same day: a warning" \
    "warning: need ${id1:0:6}[0-9a-f]* for ors at clinic-2 was opened less than a day before" \
    am need add --site clinic-2 --item ors --qty 10
expect_out "need add --json carries the warning" '"warnings":\["dup"\]' \
    am need add --site clinic-2 --item ors --qty 12 --json
check "need list --json: dup and dup_of" sh -c "'$A' --home '$H' need list --json | grep -q '\"dup\":true,\"dup_of\":\"$id1\"'"
expect_out "need list marks the dup (=) and explains it" "^= another open need for the same site" am need list
check "need list still fits 80 columns" sh -c "'$A' --home '$H' need list | awk 'length > 80 {exit 1}'"
expect_out "delivering more than asked is written, with a warning" "warning: 15 delivered of 10 asked \\(5 more than asked\\)" \
    am need deliver "$id1" --qty 15
expect_out "need list --status all marks it over (+)" "15/10 fulfilled\\+ +2020-01-01" am need list --status all
check "need show --json: over" sh -c "'$A' --home '$H' need show $id1 --json | grep -q '\"over\":true,\"by_past\":true'"
expect_out "need show says so" "OVER: 5 more delivered than asked" am need show "$id1"

finish
