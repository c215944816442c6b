#!/usr/bin/env bash
# read_model.sh: every screen lists the same needs in the same order, because all of them
# read the one read model (node/query.h): `need list` (text and --json), the hub dashboard
# page (`report --html`, the page the daemon serves), and the HXL export. Needs come from
# two nodes (the second one's by stick), with priorities, needed-by dates and ages that
# exercise every key of the order; the order itself is checked against its definition
# (priority, then needed-by, none last, then age) with the values each need shows.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
H=$T/hub
C=$T/clinic
am() { "$A" --home "$H" "$@"; }
ac() { "$A" --home "$C" "$@"; }

check "init the hub" am init --name hub-north
code=$(am invite)
check "init the clinic (joins)" ac init --name clinic-2 --join "$code"
for h in "$H" "$C"; do
    "$A" --home "$h" site add hub-north --name "Hub North" >/dev/null 2>&1 || true
    "$A" --home "$h" site add clinic-2 --name "Clinic 2" >/dev/null 2>&1 || true
    "$A" --home "$h" item add ors-20.5 --name "ORS sachet" --unit sachet >/dev/null 2>&1 || true
    "$A" --home "$h" item add water-5l --name "Water 5 l" --unit bottle >/dev/null 2>&1 || true
done

# needs written in an order unlike the one they list in; same priorities with different
# dates, same dates with different ages
add() { local who=$1; shift; "$A" --home "$who" need add "$@" >/dev/null; }
add "$H" --site hub-north --item ors-20.5 --qty 10 --priority low
add "$H" --site hub-north --item water-5l --qty 20 --priority critical --by 2031-03-01
add "$H" --site clinic-2 --item ors-20.5 --qty 30 --priority high
add "$H" --site hub-north --item ors-20.5 --qty 40 --priority critical
add "$H" --site clinic-2 --item water-5l --qty 50 --priority critical --by 2030-01-01 --note "for the ward"
add "$C" --site clinic-2 --item ors-20.5 --qty 60 --priority high --by 2030-06-01
add "$C" --site clinic-2 --item water-5l --qty 70 --priority critical --by 2031-03-01
add "$C" --site hub-north --item water-5l --qty 80 --priority normal
add "$H" --site hub-north --item water-5l --qty 90 --priority high --by 2030-06-01
add "$C" --site clinic-2 --item ors-20.5 --qty 100 --priority critical
mkdir "$T/stick" # a folder stands in for a mounted stick
check "the clinic writes a stick" ac stick sync "$T/stick"
check "the hub reads it" am stick sync "$T/stick"

# the ids of the open needs, in the order each screen shows them
am need list --json >"$T/list.json"
python3 - "$T/list.json" >"$T/list.ids" <<'EOF'
import json, sys
for n in json.load(open(sys.argv[1])):
    print(n["id"])
EOF
check "need list --json lists the 10 needs" test "$(wc -l <"$T/list.ids")" = 10
am need list | awk 'NR > 1 && NF > 5 && $1 ~ /^[0-9a-f]+$/ {print $1}' >"$T/text.ids"
check "need list (text) shows them in the same order" \
    python3 -c 'import sys; a=open(sys.argv[1]).read().split(); b=open(sys.argv[2]).read().split(); sys.exit(not (len(a)==len(b) and all(x.startswith(y) for x,y in zip(a,b))))' \
    "$T/list.ids" "$T/text.ids"
check "report --html writes the dashboard page" am report --html "$T/page.html"
grep -o 'data-need="[0-9a-f]*"' "$T/page.html" | sed 's/data-need="\(.*\)"/\1/' >"$T/page.ids"
check "the dashboard lists the same needs in the same order" cmp "$T/list.ids" "$T/page.ids"
am export --hxl needs | tail -n +3 | cut -d, -f1 >"$T/hxl.ids"
check "the HXL export lists the same needs in the same order" cmp "$T/list.ids" "$T/hxl.ids"

# the order is the documented one, judged from what each need shows
check "the order is priority, then needed-by (none last), then age" python3 - "$T/list.json" "$H" "$A" <<'EOF'
import json, subprocess, sys
rows = json.load(open(sys.argv[1]))
rank = {"critical": 1, "high": 2, "normal": 3, "low": 4}
def opened_at(i):
    out = subprocess.run([sys.argv[3], "--home", sys.argv[2], "need", "show", i, "--json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["opened_at"]
keys = [(rank[r["priority"]], r["needed_by"] or "9999-99-99", opened_at(r["id"])) for r in rows]
bad = [i for i in range(1, len(keys)) if keys[i - 1] > keys[i]]
if bad:
    print("out of order at", bad, keys)
    sys.exit(1)
# every key mattered: two needs share a priority, two share a priority and a date
assert len({k[0] for k in keys}) < len(keys)
assert len({(k[0], k[1]) for k in keys}) < len(keys)
EOF

# filters are the read model's too: the hub and the clinic agree on each one
for args in "--site clinic-2" "--item water-5l" "--priority critical" "--status all" "--text WARD"; do
    # shellcheck disable=SC2086
    am need list $args --json >"$T/f.hub"
    # shellcheck disable=SC2086
    check "need list $args: the same at the clinic once it has read the stick" \
        sh -c "'$A' --home '$C' stick sync '$T/stick' >/dev/null && '$A' --home '$C' need list $args --json | cmp - '$T/f.hub'"
done
expect_out "need list --text finds a note in any case" '"note":"for the ward"' am need list --text WARD --json
expect_out "need list --author me: the hub's own needs" "^6 open needs opened by" am need list --author me
clinic_id=$(ac status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["author"])' 2>/dev/null || true)
if [ -n "$clinic_id" ]; then
    expect_out "need list --author ID: the clinic's" "^4 open needs opened by" am need list --author "${clinic_id:0:10}"
fi
expect_out "need list --author with a bad id says so" "is not an author id" am need list --author xyz
expect_out "need list --author of nobody says so" "names no author" am need list --author 00000000

finish
