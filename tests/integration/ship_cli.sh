#!/usr/bin/env bash
# ship_cli.sh: shipments through the real binary: `ship create` (lines, lots, needs, --ref,
# --by), `ship dispatch` (first expiry first, the hub's cells move), `ship receive` (a
# shortfall with its reason, the clinic's cells move), `ship cancel`, `ship list` (filters,
# --json), `ship show` (text, --json), the need's committed / in transit / delivered in
# `need show` and `need list --json`, every refusal (nothing written), and a shipment
# received at two nodes at once, carried by a stick: both nodes show one receipt, the stock
# moved once, the same views.
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
stick() { "$A" --home "$1" stick sync "$S" >/dev/null; }

check "init" am init --name hub-north
code=$(am invite)
check "init clinic (joins)" cm init --name clinic-2 --join "$code"
am site add hub-north --name "Hub North" --kind hub >/dev/null
am site add clinic-2 --name "Clinic 2" --kind clinic >/dev/null
am item add ors --name "ORS sachet" --unit sachet >/dev/null
am item add water-kit --name "Water kit" --unit kit >/dev/null
check "lot L1 of 30" am stock receive --site hub-north --item ors --qty 30 --lot L1 --expiry 2039-01-01
check "lot L2 of 20" am stock receive --site hub-north --item ors --qty 20 --lot L2 --expiry 2040-01-01
check "10 water kits" am stock receive --site hub-north --item water-kit --qty 10 --no-lot
am need add --site clinic-2 --item ors --qty 100 --priority high >/dev/null
need=$(am need list --json | jq_py 'd[0]["id"]')

# ---- create ---------------------------------------------------------------------------------
expect_out "ship create: two lines, one for the need" "shipment [0-9a-f]{32}: created" \
    am ship create --from hub-north --to clinic-2 --item ors --qty 40 --need "${need:0:8}" \
    --item water-kit --qty 4 --ref "WB-0042" --by 2039-06-01
sid=$(am ship list --json | jq_py 'd[0]["id"]')
expect_out "ship list shows it created" "^${sid:0:6} +created +hub-north +clinic-2 +44 +0 +0  WB-0042" am ship list
expect_out "need show: committed" "shipments:  1: committed 40, in transit 0, delivered 0" am need show "${need:0:8}"
check "need list --json: committed 40" test "$(am need list --json | jq_py 'd[0]["committed"]')" = 40

# ---- bad input: nothing written ---------------------------------------------------------------
n=$(entries "$H")
expect_out "a shipment to its own site" "--from and --to are both 'hub-north'" \
    am ship create --from hub-north --to hub-north --item ors --qty 1
expect_out "a negative quantity" "whole number" am ship create --from hub-north --to clinic-2 --item ors --qty -4
expect_out "an overflowing quantity" "up to 9007199254740991" \
    am ship create --from hub-north --to clinic-2 --item ors --qty 99999999999999999999
expect_out "--qty before --item" "--qty belongs to a line: give --item first" \
    am ship create --from hub-north --to clinic-2 --qty 4 --item ors
expect_out "a line without --qty" "line 1 \\(ors\\) has no --qty" am ship create --from hub-north --to clinic-2 --item ors
expect_out "an unknown lot" "hub-north holds no lot L9 of ors" \
    am ship create --from hub-north --to clinic-2 --item ors --qty 4 --lot L9
expect_out "an unknown site gets a suggestion" "unknown site 'clinic-3'" \
    am ship create --from hub-north --to clinic-3 --item ors --qty 4
expect_out "a need of another item" "asks for ors, not water-kit" \
    am ship create --from hub-north --to clinic-2 --item water-kit --qty 4 --need "${need:0:8}"
expect_out "an unknown shipment" "no shipment 'abcdef' here" am ship dispatch abcdef
expect_out "a shipment id that is not hex" "is not a shipment id" am ship show xyz
expect_out "receive before dispatch" "has not been dispatched" am ship receive "${sid:0:8}"
expect_out "an unknown subcommand" "create, dispatch, receive, cancel, list or show" am ship send
expect_out "a bad status" "--status" am ship list --status lost
check "nothing of that was written" test "$(entries "$H")" = "$n"

# ---- dispatch: first expiry first; the hub's cells move ----------------------------------------
expect_out "ship dispatch: L1 first, then L2" "2. 10 ors \\(lot L2, expires 2040-01-01\\)" am ship dispatch "${sid:0:8}"
expect_out "the hub holds 10 of L2" "^hub-north +ors +L2 +2040-01-01 +10" am stock show --site hub-north
check "L1 is empty at the hub (left out)" sh -c "! '$A' --home '$H' stock show --site hub-north | grep -q ' L1 '"
expect_out "need show: in transit" "committed 0, in transit 40, delivered 0" am need show "${need:0:8}"
n=$(entries "$H")
expect_out "dispatch twice" "was dispatched already" am ship dispatch "${sid:0:8}"
expect_out "cancel after dispatch" "has left hub-north already: it cannot be cancelled" am ship cancel "${sid:0:8}"
expect_out "receive more than dispatched" "a receipt takes at most what was dispatched" \
    am ship receive "${sid:0:8}" --qty 31 --qty 10 --qty 4
expect_out "a quantity per line" "left in 3 lines" am ship receive "${sid:0:8}" --qty 30
expect_out "a shortfall needs its reason" "give the reason \\(it is recorded as lost in transit\\): --reason TEXT" \
    am ship receive "${sid:0:8}" --qty 30 --qty 5 --qty 4
check "nothing of that was written" test "$(entries "$H")" = "$n"

# ---- two people at the clinic receive it at once -----------------------------------------------
check "the stick carries the dispatch to the clinic" sh -c "'$A' --home '$H' stick sync '$S' >/dev/null && '$A' --home '$C' stick sync '$S' >/dev/null"
expect_out "the clinic receives it, 5 of L2 lost" "sent 44, arrived 39, lost in transit 5" \
    cm ship receive "${sid:0:8}" --qty 30 --qty 5 --qty 4 --reason "a box fell off"
expect_out "the hub receives it too, not having seen that" "sent 44, arrived 44, lost in transit 0" \
    am ship receive "${sid:0:8}"
check "the stick carries both ways" sh -c "'$A' --home '$C' stick sync '$S' >/dev/null && '$A' --home '$H' stick sync '$S' >/dev/null && '$A' --home '$C' stick sync '$S' >/dev/null"
check "both nodes show the same views" test "$(fp "$H")" = "$(fp "$C")"
check "both show two receipts, one counted" test "$(am ship show "${sid:0:8}" --json | jq_py 'd["receipts"], d["duplicate_receipts"]')" = "2 1"
check "the same receipt counts on both" test "$(am ship show "${sid:0:8}" --json | jq_py 'd["arrived"]')" = "$(cm ship show "${sid:0:8}" --json | jq_py 'd["arrived"]')"
expect_out "ship show names the duplicate" "1 more receipt recorded elsewhere at the same time: duplicate, they move nothing" \
    cm ship show "${sid:0:8}"
arrived=$(cm ship show "${sid:0:8}" --json | jq_py 'd["arrived"]')
l2=$(cm stock show --site clinic-2 --json | jq_py 'sum(r["stock"] for r in d if r["item"] == "ors")')
check "the clinic's ors went in once: $l2 = $arrived - 4 water kits" test "$l2" = "$((arrived - 4))"
expect_out "need show: delivered" "in transit 0, delivered $((arrived - 4))" am need show "${need:0:8}"
check "need list --json: delivered_total" test "$(am need list --json | jq_py 'd[0]["delivered_total"]')" = "$((arrived - 4))"
expect_out "ship list --status received" "^${sid:0:6} +received" am ship list --status received
expect_out "ship list --site of another site: none" "no shipments match" am ship list --site depot-9

# ---- cancel --------------------------------------------------------------------------------------
am ship create --from hub-north --to clinic-2 --item water-kit --qty 2 --json >"$T/c.json"
cid=$(jq_py 'd["id"]' <"$T/c.json")
expect_out "ship cancel" "shipment ${cid}: cancelled" am ship cancel "${cid:0:8}" --note "no truck"
expect_out "cancel twice" "is cancelled: it cannot be cancelled" am ship cancel "${cid:0:8}"
expect_out "dispatch a cancelled one" "is cancelled: it cannot be dispatched" am ship dispatch "${cid:0:8}"
check "ship list --json: two shipments" test "$(am ship list --json | jq_py 'len(d)')" = 2
check "ship list --status cancelled --json: one" test "$(am ship list --status cancelled --json | jq_py 'len(d)')" = 1

# ---- too little stock: refused, then forced -------------------------------------------------------
am ship create --from hub-north --to clinic-2 --item water-kit --qty 50 --json >"$T/d.json"
did=$(jq_py 'd["id"]' <"$T/d.json")
n=$(entries "$H")
expect_out "too little stock is refused" "this node sees 6 water-kit at hub-north to dispatch, not 50" am ship dispatch "${did:0:8}"
check "nothing written" test "$(entries "$H")" = "$n"
check "--force dispatches it anyway" am ship dispatch "${did:0:8}" --force
expect_out "the cell shows OVERDRAWN" "^hub-north +water-kit .* -44 OVERDRAWN" am stock show --site hub-north
expect_out "ship help names every subcommand" "aidmesh ship receive  ID \\[--qty N ...\\]" am ship --help

finish
