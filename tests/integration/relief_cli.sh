#!/usr/bin/env bash
# relief_cli.sh: the relief data commands through the real binary: site, item, need,
# stock, export, reindex, status, verify; good and bad input (each bad input is refused
# with a sentence that says what to do, and writes nothing); then two nodes that sync
# and show the same view fingerprint and the same `need list --json`.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
H=$T/hub
C=$T/clinic
am() { "$A" --home "$H" "$@"; }
# json_field NAME: the first value of "NAME":... in stdin (strings without quotes)
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -1; }
entries_now() { entries "$H"; }

check "init" "$A" --home "$H" init --name hub-north
code=$("$A" --home "$H" invite)

# ---- sites --------------------------------------------------------------------------
check "site add" am site add hub-north --name "Hub North" --kind hub --lat 12.5 --lon -4.25
check "site add, slug folded to lower case" am site add Clinic-2 --name "Clinic 2" --kind clinic
check "site add without a kind" am site add shelter-3 --name "Town hall"
expect_out "site list shows them" "hub-north +hub +Hub North +12.500000,-4.250000" am site list
expect_out "site list counts" "^3 sites" am site list
expect_out "site list --json" '"slug":"clinic-2","name":"Clinic 2","kind":"clinic"' am site list --json
check "site update renames" am site update shelter-3 --name "Town hall annex" --kind shelter
expect_out "and the list shows the new name" "shelter-3 +shelter +Town hall annex" am site list
check "site update --no-location" am site update hub-north --no-location
expect_out "the location is cleared" '"slug":"hub-north".*"lat":null' am site list --json
n=$(entries_now)
expect_out "site add of a known slug says to update" "already exists; change it with .aidmesh site update hub-north" \
    am site add hub-north --name X
expect_out "site add without --name" "--name is required" am site add depot-1
expect_out "a bad slug is explained" "may hold only a-z, 0-9 and '-'" am site add "hub north" --name X
expect_out "a too long slug" "1 to 32 characters" am site add "$(printf 'a%.0s' $(seq 40))" --name X
expect_out "a bad kind gets a suggestion" "did you mean 'clinic'" am site add depot-1 --name D --kind clinc
expect_out "--lat without --lon" "give --lat and --lon together" am site add depot-1 --name D --lat 1
expect_out "latitude out of range" "between -90 and 90" am site add depot-1 --name D --lat 91 --lon 0
expect_out "a name with a control character is refused, naming it and its place" \
    "refused: site: \"name\" .* must be printable text: character 2 \\(byte 2\\) is U\\+0009 TAB" \
    am site add depot-1 --name "$(printf 'a\tb')"
expect_out "site update of an unknown site suggests" "unknown site 'hub-nort'; did you mean 'hub-north'" \
    am site update hub-nort --name X
expect_out "site update with nothing to change" "nothing to change" am site update hub-north
expect_out "unknown subcommand" "unknown subcommand 'remove'" am site remove hub-north
check "nothing of that was written" test "$(entries_now)" = "$n"

# ---- items --------------------------------------------------------------------------
check "item add" am item add ORS-20.5 --name "ORS sachet 20.5 g" --unit sachet --category health
check "item add water" am item add water-5l --name "Water 5 l" --unit bottle --category wash
expect_out "item list" "ors-20.5 +sachet +health +ORS sachet 20.5 g" am item list
expect_out "item list --json" '"code":"water-5l","name":"Water 5 l","unit":"bottle","category":"wash"' \
    am item list --json
check "item update" am item update water-5l --unit bottle-5l
expect_out "item update shows" '"code":"water-5l".*"unit":"bottle-5l"' am item list --json
n=$(entries_now)
expect_out "item add without --unit" "--name and --unit are required" am item add tarp --name Tarp
expect_out "a bad item code" "may hold only a-z, 0-9" am item add "tarp/4x6" --name T --unit piece
expect_out "a unit too long is refused" "refused" am item add tarp --name T --unit "$(printf 'u%.0s' $(seq 20))"
expect_out "item add of a known code" "already exists" am item add water-5l --name W --unit b
check "nothing of that was written" test "$(entries_now)" = "$n"

# ---- needs --------------------------------------------------------------------------
out=$(am need add --site hub-north --item water-5l --qty 200 --priority critical --by 2026-02-01 --note "school shelter" --json)
check "need add (critical)" test -n "$out"
N1=$(echo "$out" | json_field id)
check "need add returns the id" test ${#N1} = 32
out=$(am need add --site hub-north --item ors-20.5 --qty 50 --json)
N2=$(echo "$out" | json_field id)
out=$(am need add --site clinic-2 --item ors-20.5 --qty 30 --priority low --json)
N3=$(echo "$out" | json_field id)
check "need add prints a short id" sh -c "'$A' --home '$H' need add --site clinic-2 --item water-5l --qty 5 --priority high | grep -Eq '^opened need [0-9a-f]{6,}: 5 water-5l at clinic-2, high'"
expect_out "need list: critical first" "^ID +PRIORITY +SITE +ITEM +DELIVERED/QTY +STATUS +NEEDED BY" am need list
check "need list orders critical, high, normal, low" \
    sh -c "'$A' --home '$H' need list | awk 'NR>1 && NF>5 && \$1 ~ /^[0-9a-f]+\$/ {print \$2}' | tr '\n' ' ' | grep -qx 'critical high normal low '"
expect_out "need list --site" "4 open needs|2 open needs at hub-north" am need list --site hub-north
check "need list fits 80 columns" sh -c "'$A' --home '$H' need list | awk 'length > 80 {exit 1}'"
expect_out "need list --priority" "^1 open need, critical first|1 open need" am need list --priority critical
expect_out "need list --json" "\"id\":\"$N1\",\"short\":\"${N1:0:6}" am need list --json
expect_out "need show by a prefix" "quantity: +200 \\(delivered 0" am need show "${N1:0:6}"
expect_out "need show --json" "\"id\":\"$N1\".*\"priority\":\"critical\".*\"needed_by\":\"2026-02-01\"" \
    am need show "${N1:0:8}" --json
check "need deliver" am need deliver "${N1:0:6}" --qty 150
expect_out "delivered so far" "delivered 150 in 1 delivery" am need show "${N1:0:6}"
expect_out "need deliver to fulfilled" "350 of 200 now, fulfilled|delivered 200; 350 of 200" am need deliver "${N1:0:6}" --qty 200
expect_out "a fulfilled need leaves the open list" "^3 open needs" am need list
expect_out "and shows as fulfilled" "fulfilled" am need list --status fulfilled
check "need update" am need update "${N2:0:6}" --qty 60 --priority high --by 2026-01-20 --note "for the clinic"
expect_out "update shows" "\"qty\":60.*\"priority\":\"high\".*\"needed_by\":\"2026-01-20\".*\"note\":\"for the clinic\"" \
    am need show "${N2:0:6}" --json
check "need update --by none clears the date" am need update "${N2:0:6}" --by none
expect_out "the date is cleared" '"needed_by":null' am need show "${N2:0:6}" --json
check "need close --reason cancelled" am need close "${N3:0:6}" --reason cancelled --note "sent by MSF"
expect_out "closed needs are listed by status" "cancelled" am need list --status cancelled
expect_out "--status all lists all" "^4 needs" am need list --status all
expect_out "a delivery to a cancelled need is recorded anyway" "recorded anyway" am need deliver "${N3:0:6}" --qty 1
n=$(entries_now)
expect_out "need add at an unknown site suggests" "unknown site 'hub-nrth'; did you mean 'hub-north'\\? see .aidmesh site list." \
    am need add --site hub-nrth --item ors-20.5 --qty 5
expect_out "need add of an unknown item suggests" "unknown item 'ors-20'; did you mean 'ors-20.5'" \
    am need add --site hub-north --item ors-20 --qty 5
expect_out "an unknown item far from any" "unknown item 'blanket'; see .aidmesh item list." \
    am need add --site hub-north --item blanket --qty 5
expect_out "need add without --qty" "--site, --item and --qty are required" am need add --site hub-north --item ors-20.5
expect_out "a negative quantity" "whole number of base units \\(1 or more\\)" am need add --site hub-north --item ors-20.5 --qty -5
expect_out "a zero quantity" "1 or more" am need add --site hub-north --item ors-20.5 --qty 0
expect_out "a fractional quantity" "whole number" am need add --site hub-north --item ors-20.5 --qty 2.5
expect_out "a quantity over the limit" "up to 9007199254740991" am need add --site hub-north --item ors-20.5 --qty 9007199254740992
expect_out "a bad date" "YYYY-MM-DD" am need add --site hub-north --item ors-20.5 --qty 5 --by 2026-02-30
expect_out "a bad priority suggests" "did you mean 'critical'" am need add --site hub-north --item ors-20.5 --qty 5 --priority critcal
expect_out "a note too long is refused" "refused" am need add --site hub-north --item ors-20.5 --qty 5 --note "$(head -c 1200 /dev/zero | tr '\0' x)"
expect_out "an unknown need id" "no need 'abcdef' here" am need show abcdef
expect_out "a need id that is not hex" "is not a need id" am need show hello
expect_out "a need id too short" "at least 4" am need show ab
expect_out "need close with a bad reason" "--reason takes one of|did you mean" am need close "${N2:0:6}" --reason done
expect_out "need close without --reason" "--reason fulfilled or --reason cancelled is required" am need close "${N2:0:6}"
expect_out "need deliver without --qty" "--qty is required" am need deliver "${N2:0:6}"
expect_out "need update with nothing" "nothing to change" am need update "${N2:0:6}"
expect_out "need list --status bogus" "--status takes one of|did you mean" am need list --status bogus
expect_out "need list at an unknown site" "unknown site 'nowhere'" am need list --site nowhere
check "nothing of that was written" test "$(entries_now)" = "$n"
check "need add --force writes with an unknown site" am need add --site depot-9 --item ors-20.5 --qty 5 --force
expect_out "and need list shows needs of a site not defined here" "1 open need at depot-9" am need list --site depot-9

# ---- stock --------------------------------------------------------------------------
check "stock receive" am stock receive --site hub-north --item ors-20.5 --qty 500 --lot L2405 --expiry 2021-06-30
expect_out "stock issue prints the new stock" "stock now 488" \
    am stock issue --site hub-north --item ors-20.5 --qty 12 --lot L2405 --expiry 2021-06-30
n=$(entries_now)
expect_out "issue more than this node sees is refused, saying so" "sees only 0 water-5l to issue at hub-north.*--force" \
    am stock issue --site hub-north --item water-5l --qty 12
check "and writes nothing" test "$(entries_now)" = "$n"
expect_out "with --force it is recorded: overdrawn" "12 from no lot .*-12 left — OVERDRAWN" \
    am stock issue --site hub-north --item water-5l --qty 12 --force
check "stock adjust with a reason" am stock adjust --site hub-north --item ors-20.5 --qty 8 --reason damaged --lot L2405 --expiry 2021-06-30
expect_out "stock count sets the quantity" "counted 470 ors-20.5 at hub-north.*stock now 470" \
    am stock count --site hub-north --item ors-20.5 --qty 470 --lot L2405 --expiry 2021-06-30
check "stock receive without a lot" am stock receive --site clinic-2 --item ors-20.5 --qty 40 --reason transfer-in
expect_out "stock show" "hub-north +ors-20.5 +L2405 +2021-06-30 +470" am stock show
expect_out "stock show flags overdrawn" "hub-north +water-5l +- +- +-12 OVERDRAWN" am stock show --site hub-north
expect_out "stock show --item across sites" "clinic-2 +ors-20.5 +- +- +40" am stock show --item ors-20.5
expect_out "stock show explains its flags" "^OVERDRAWN +more was issued" am stock show
check "stock show fits 80 columns" sh -c "'$A' --home '$H' stock show | awk 'length > 80 {exit 1}'"

# ---- lots without typing lots: first expiry first out ----------------------------------
check "receive lot K2 (expires later)" am stock receive --site clinic-2 --item water-5l --qty 500 --lot K2 --expiry 2040-01-01
check "receive lot K1 (expires sooner)" am stock receive --site clinic-2 --item water-5l --qty 50 --lot K1 --expiry 2039-06-01
am stock issue --site clinic-2 --item water-5l --qty 120 >"$T/fefo.out" 2>&1 || true
check "an issue without a lot takes the sooner lot first" grep -Eq "^  50 from lot K1 .*: 0 left" "$T/fefo.out"
check "then the next, splitting the quantity" grep -Eq "^  70 from lot K2 .*: 430 left" "$T/fefo.out"
check "the split is one movement per lot, none on a cell without lot" python3 -c '
import json, subprocess, sys
cells = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "stock", "show", "--site", "clinic-2",
                                   "--item", "water-5l", "--all", "--json"], capture_output=True, text=True, check=True).stdout)
by = {c["lot"]: c for c in cells}
assert by["K1"]["stock"] == 0 and by["K2"]["stock"] == 430, by
assert all(c["lot"] is not None for c in cells), cells
' "$A" "$H"
expect_out "a cell at 0 leaves the default listing" "^1 cell" am stock show --site clinic-2 --item water-5l
expect_out "stock show --all keeps it" "^2 cells" am stock show --site clinic-2 --item water-5l --all
n=$(entries_now)
expect_out "an issue beyond what this node sees is refused, naming the lots" "sees only 430 water-5l to issue at clinic-2 \\(lots: K2\\)" \
    am stock issue --site clinic-2 --item water-5l --qty 431
expect_out "a receipt without a lot where lots are kept asks for one" "kept by lot \\(K2\\).*--no-lot" \
    am stock receive --site clinic-2 --item water-5l --qty 5
check "neither wrote anything" test "$(entries_now)" = "$n"
check "--no-lot records it without a lot" am stock receive --site clinic-2 --item water-5l --qty 5 --no-lot
n=$(entries_now)
expect_out "--force past what is seen: the rest on the cell without lot" "10 from no lot .*-5 left — OVERDRAWN" \
    am stock issue --site clinic-2 --item water-5l --qty 440 --force
check "as one movement per cell: two entries (K2, no lot)" test "$(entries_now)" = "$((n + 2))"
expect_out "--no-lot with --lot is a usage error" "say opposite things" \
    am stock receive --site clinic-2 --item water-5l --qty 5 --no-lot --lot K3
expect_out "stock show --json" '"site":"hub-north","item":"ors-20.5","lot":"L2405","expiry":"2021-06-30","stock":470' am stock show --json
expect_out "an expired lot is flagged" "EXPIRED" am stock show --site hub-north --item ors-20.5
n=$(entries_now)
expect_out "receive with an issuing reason" "takes stock out: use .aidmesh stock issue." \
    am stock receive --site hub-north --item ors-20.5 --qty 5 --reason lost
expect_out "adjust without a reason" "--reason is required" am stock adjust --site hub-north --item ors-20.5 --qty 5
expect_out "count with a reason" "a count has no --reason" am stock count --site hub-north --item ors-20.5 --qty 5 --reason lost
expect_out "a bad lot" "lot 'L 1' must be" am stock receive --site hub-north --item ors-20.5 --qty 5 --lot "L 1"
expect_out "a bad expiry" "--expiry takes a date" am stock receive --site hub-north --item ors-20.5 --qty 5 --expiry 01/02/2026
expect_out "stock at an unknown site suggests" "unknown site 'clinic-3'; did you mean 'clinic-2'" \
    am stock receive --site clinic-3 --item ors-20.5 --qty 5
expect_out "stock show of an unknown item" "unknown item" am stock show --item nothing
expect_out "stock unknown subcommand" "unknown subcommand 'move'" am stock move --site hub-north
check "nothing of that was written" test "$(entries_now)" = "$n"

# ---- export -------------------------------------------------------------------------
am export --hxl needs --all >"$T/needs.csv"
check "export --hxl needs: header row" sh -c "head -1 '$T/needs.csv' | grep -q '^Need ID,Site code,Site name'"
check "export --hxl needs: HXL row" sh -c "sed -n 2p '$T/needs.csv' | grep -q '^#meta+id,#loc+code,#loc+name,#loc+type,#adm1+name,#org+name,#geo+lat,#geo+lon,#item+code,#item+name,#item+type,#item+num+needed'"
check "export rows quote nothing needlessly" grep -q "^$N2,hub-north,Hub North,hub,,,,,ors-20.5,ORS sachet 20.5 g,health,60,0,sachet,high,,open," "$T/needs.csv"
check "export needs: every need (and the one at an undefined site)" test "$(tail -n +3 "$T/needs.csv" | wc -l)" = 5
check "export without --all: open needs only" test "$(am export --hxl needs | tail -n +3 | wc -l)" = 3
am export --hxl stock --org "Red Cross" --adm1 North >"$T/stock.csv"
check "export --hxl stock" sh -c "sed -n 2p '$T/stock.csv' | grep -q '#item+lot,#date+expiry,#item+num+stock,#item+unit,#status+stock,#date+reported'"
check "export stock: --org and --adm1 fill their columns" grep -q "^hub-north,Hub North,hub,North,Red Cross,,,ors-20.5,.*,L2405,2021-06-30,470,sachet," "$T/stock.csv"
check "notes with commas and quotes are quoted" sh -c "'$A' --home '$H' need update ${N2:0:6} --note 'ask for \"Amina\", door 2' >/dev/null && '$A' --home '$H' export --hxl needs | grep -q '\"ask for \"\"Amina\"\", door 2\"'"
expect_out "export without --hxl" "say what to export" am export
expect_out "export --hxl other" "--hxl takes sites, items, needs or stock" am export --hxl bogus

# ---- status, verify, reindex -----------------------------------------------------------
fp=$(am status --json | json_field view_fingerprint)
check "status --json has the view fingerprint" test ${#fp} = 32
expect_out "status shows the views" "view fingerprint: $fp" am status
check "reindex" am reindex
expect_out "reindex --json" "\"view_fingerprint\":\"$fp\"" am reindex --json
check "the fingerprint is unchanged by reindex" test "$(am status --json | json_field view_fingerprint)" = "$fp"
check "verify is clean (views match their fingerprint)" am verify
"$AM_TESTTOOL" append "$H" --size 2 --batches 1 >/dev/null
expect_out "entries whose op is not a relief op are reported, not damage" "2 entries carry an invalid op" am verify
check "and verify still passes" am verify
expect_out "status counts invalid ops" '"invalid_ops":2' am status --json
expect_out "reindex reports them" "2 entries carry an invalid op" am reindex
expect_out "--help lists the relief commands" "need +record and follow needs" "$A" --help
for c in site item need stock export reindex; do
    expect_out "$c --help" "usage: aidmesh $c" "$A" $c --help
done

# ---- two nodes: write on one, sync, same views -------------------------------------------
check "init the clinic (joins)" "$A" --home "$C" init --name clinic-2 --join "$code"
check "the clinic writes too" "$A" --home "$C" stock receive --site clinic-2 --item ors-20.5 --qty 7 --force
check "the hub listens" run_listening "$H" "$T/hub.log" --no-discovery
hub=$DAEMON_PID
grep -q "listening on" "$T/hub.log" || sed 's/^/    /' "$T/hub.log"
expect_out "one-shot sync" "received [0-9]+ entries" "$A" --home "$C" sync 127.0.0.1:$P
# the hub's daemon ingests the clinic's entry; wait until both hold the same entries
check "both hold the same entries" wait_for 10 sh -c "[ \"\$('$A' --home '$C' status --json | sed 's/.*\"entries\":\([0-9]*\).*/\1/')\" = \"\$('$A' --home '$H' status --json | sed 's/.*\"entries\":\([0-9]*\).*/\1/')\" ]"
fh=$(am status --json | json_field view_fingerprint)
fc=$("$A" --home "$C" status --json | json_field view_fingerprint)
check "both show the same view fingerprint" test "$fh" = "$fc"
check "and the same need list --json" test "$(am need list --status all --json)" = "$("$A" --home "$C" need list --status all --json)"
check "and the same stock" test "$(am stock show --json)" = "$("$A" --home "$C" stock show --json)"
expect_out "the clinic's receipt is at the hub" "clinic-2 +ors-20.5 +- +- +47" am stock show --site clinic-2
check "the clinic can act on a need opened at the hub" "$A" --home "$C" need deliver "${N2:0:8}" --qty 10
check "which reaches the hub" "$A" --home "$C" sync 127.0.0.1:$P
check "the delivery shows at the hub" wait_for 10 sh -c "'$A' --home '$H' need show ${N2:0:8} --json | grep -q '\"delivered\":10'"
kill -TERM $hub
check "the hub stops" wait $hub

# ---- long codes are shown whole in the tables ----------------------------------------
check "a site with a long code" am site add warehouse-south-district --name "South depot"
check "a need there" am need add --site warehouse-south-district --item water-5l --qty 3
check "stock there" am stock receive --site warehouse-south-district --item water-5l --qty 9
expect_out "need list shows the whole site code" "^[0-9a-f]+ +normal +warehouse-south-district +water-5l " \
    am need list --site warehouse-south-district
expect_out "stock show shows the whole site code" "^warehouse-south-district +water-5l +- +- +9$" \
    am stock show --site warehouse-south-district
expect_out "and aligns the header to it" "^SITE {21}ITEM " am stock show --site warehouse-south-district
finish
