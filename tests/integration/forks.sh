#!/usr/bin/env bash
# forks.sh: a cloned laptop (one home copied onto a second machine) writes on both copies;
# a hub that meets both by stick lists the forked node with its evidence (`aidmesh forks`,
# text and --json), marks the records it wrote in `need list`, `need show`, `stock show`
# and on the dashboard, and `status` points to `aidmesh forks`. A node with no fork says so.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
L1=$T/laptop
L2=$T/clone
H=$T/hub
S=$T/stick
mkdir "$S"

check "init the laptop" "$A" --home "$L1" init --name field-1
code=$("$A" --home "$L1" invite)
check "init the hub (joins)" "$A" --home "$H" init --name hub --join "$code"
for h in "$L1" "$H"; do
    "$A" --home "$h" site add clinic-2 --name "Clinic 2" >/dev/null
    "$A" --home "$h" item add ors-20.5 --name "ORS" --unit sachet >/dev/null
done
expect_out "forks on a node with none" "^no forks" "$A" --home "$H" forks
check "forks --json on a node with none is an empty list" \
    sh -c "test \"\$('$A' --home '$H' forks --json)\" = '[]'"

# the laptop is imaged onto a second machine; both go on writing under one key
cp -a "$L1" "$L2"
check "the laptop records a need" "$A" --home "$L1" need add --site clinic-2 --item ors-20.5 --qty 10 --priority high
check "the clone records another" "$A" --home "$L2" need add --site clinic-2 --item ors-20.5 --qty 20 --priority critical
check "the clone records stock" "$A" --home "$L2" stock receive --site clinic-2 --item ors-20.5 --qty 5
check "the hub's own need" "$A" --home "$H" need add --site clinic-2 --item ors-20.5 --qty 7 --priority low

check "the laptop writes the stick" "$A" --home "$L1" stick sync "$S"
check "the clone syncs it" "$A" --home "$L2" stick sync "$S"
check "the hub syncs it" "$A" --home "$H" stick sync "$S"

author=$("$A" --home "$L1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["author"])')
expect_out "forks names the node and the place" "^node ${author:0:16}: forked; its longest branch here reaches record" "$A" --home "$H" forks
expect_out "with both branches, both counting" "both kept, both count" "$A" --home "$H" forks
expect_out "and what to do" "aidmesh identity rotate" "$A" --home "$H" forks
check "forks --json: the author, the place and two different hashes" python3 - "$A" "$H" "$author" <<'EOF'
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "forks", "--json"],
                                 capture_output=True, text=True, check=True).stdout)
assert len(rows) >= 1, rows
r = rows[0]
assert r["author"] == sys.argv[3], r
assert r["this_node"] is False
assert r["kept"] != r["evidence"] and len(r["kept"]) == 64 and len(r["evidence"]) == 64, r
assert r["seq"] <= r["head_seq"] + 1, r
EOF
expect_out "status points to aidmesh forks" "aidmesh forks" "$A" --home "$H" status
expect_out "need list marks the forked node's needs" "\\* written in part by a node whose key is in use on two machines" \
    "$A" --home "$H" need list --status all
check "need list --json: forked on its needs, not on the hub's own" python3 - "$A" "$H" <<'EOF'
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "need", "list", "--status", "all", "--json"],
                                 capture_output=True, text=True, check=True).stdout)
by_qty = {r["qty"]: r for r in rows}
assert by_qty[7]["forked"] is False, by_qty[7]
assert 10 in by_qty and 20 in by_qty, rows  # both branches' needs: nothing hidden
assert by_qty[10]["forked"] and by_qty[20]["forked"], rows
EOF
fid=$("$A" --home "$H" need list --status all --json | python3 -c 'import json,sys; print([r["id"] for r in json.load(sys.stdin) if r["forked"]][0])')
expect_out "need show says so" "forked: +a node that wrote to this need" "$A" --home "$H" need show "$fid"
hid=$("$A" --home "$H" need list --json | python3 -c 'import json,sys; print([r["id"] for r in json.load(sys.stdin) if r["qty"] == 7][0])')
refute "need show of the hub's own need does not" sh -c "'$A' --home '$H' need show '$hid' | grep -q forked"
check "report --html writes the page" "$A" --home "$H" report --html "$T/page.html"
check "the dashboard marks the forked node's need" grep -q 'class="need pri-[a-z]*[a-z ]* forked"' "$T/page.html"
check "and shows the chip" grep -q "FORKED NODE" "$T/page.html"

# the clone itself: its own key is forked, so it refuses to write and says what to do
expect_out "forks on the clone names this node" "THIS NODE" "$A" --home "$L2" forks
expect_out "the clone refuses to write" "key is marked forked.*aidmesh identity rotate" \
    "$A" --home "$L2" need add --site clinic-2 --item ors-20.5 --qty 1
expect_out "forks --help says what it is" "in use on two machines" "$A" forks --help

finish
