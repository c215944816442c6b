#!/usr/bin/env bash
# clone_converges.sh: a cloned laptop, met in different orders, converges (issue 14, item 5;
# PROTOCOL.md §6). A laptop's home is copied onto a second machine and both copies write
# needs and stock under one key. A third node meets the laptop over TCP and then the clone by
# stick; the hub meets them the other way round; then the two meet, and the clones meet
# them again. Every node ends with the same view fingerprint, the same needs and the same
# stock, with every need of both copies present (no branch hidden), and lists the author as
# forked. Both copies then refuse to write, rotate to new keys, write again, and after one
# more round every node agrees again and lists the old key as succeeded by two keys.
# Real processes on loopback only; the whole run is bounded (AM_CLONE_LIMIT, 120 s).
if [ -z "${AM_CLONE_BOUNDED:-}" ]; then
    AM_CLONE_BOUNDED=1 exec timeout -k 10 "${AM_CLONE_LIMIT:-120}" bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
# the bound's message goes to the test's own output (fd 3), even from inside a `check`
exec 3>&1
trap 'echo "not ok - the test ran past its ${AM_CLONE_LIMIT:-120} s bound" >&3; exit 124' TERM

A=$AIDMESH
L1=$T/laptop
L2=$T/clone
N=$T/node
H=$T/hub
ALL="$L1 $L2 $N $H"
SITE=clinic-2
ITEM=ors-20.5

# snap HOME: what must agree, one line each: the fingerprint, needs, stock totals, cells
cat >"$T/snap.py" <<'EOF'
import json, subprocess, sys
a, home = sys.argv[1], sys.argv[2]
def j(*args):
    return json.loads(subprocess.run([a, "--home", home, *args, "--json"], capture_output=True,
                                     text=True, check=True).stdout)
needs = sorted((n["id"], n["qty"], n["delivered"], n["status"], n["priority"], n["forked"],
                n["conflict"])
               for n in j("need", "list", "--status", "all"))
stock = sorted((s["item"], s["stock"], s["sites"]) for s in j("stock", "totals"))
cells = sorted((c["site"], c["item"], c["stock"], c["count_conflict"], c["to_check"], c["forked"])
               for c in j("stock", "show", "--all"))
print("fingerprint", j("status")["view_fingerprint"])
for row in [("need",) + n for n in needs] + [("total",) + t for t in stock] + [("cell",) + c for c in cells]:
    print(*row)
EOF
snap() { python3 "$T/snap.py" "$A" "$1"; }
# all_agree: every node's snapshot equals the laptop's (for wait_for)
all_agree() {
    local h ref
    ref=$(snap "$L1") || return 1
    for h in $ALL; do
        [ "$(snap "$h")" = "$ref" ] || return 1
    done
}
# pair_agree HOME HOME: the two snapshots are equal (for wait_for)
pair_agree() { [ "$(snap "$1")" = "$(snap "$2")" ]; }
# show_differences: each node's snapshot against the laptop's, as a diff
show_differences() {
    local h
    snap "$L1" >"$T/ref.snap" 2>&1 || true
    for h in $ALL; do
        snap "$h" >"$T/this.snap" 2>&1 || true
        if ! cmp -s "$T/ref.snap" "$T/this.snap"; then
            echo "    ${h##*/} differs from laptop:"
            diff "$T/ref.snap" "$T/this.snap" | sed 's/^/      /' || true
        fi
    done
}
expect_agree() {
    if wait_for 10 all_agree; then ok "$1"; else not_ok "$1"; show_differences; fi
}

# start HOME PORT VAR: runs `aidmesh run` on loopback, waits until it listens, sets VAR
# (each run logs to a file of its own, so an earlier run's "listening on" never counts)
RUNS=0
start() {
    RUNS=$((RUNS + 1))
    local log="$1.run$RUNS.log"
    "$A" --home "$1" run --listen "127.0.0.1:$2" --no-discovery >"$log" 2>&1 &
    printf -v "$3" %s $!
    if ! wait_for 15 grep -q "listening on" "$log"; then
        echo "    ${1##*/} did not listen on 127.0.0.1:$2:"
        sed 's/^/      /' "$log"
        return 1
    fi
}
stop() { kill -TERM "$1" && wait "$1"; }
# tcp HOME PORT: one sync over TCP, bounded
tcp() { "$A" --home "$1" sync --timeout 30 "127.0.0.1:$2"; }
# stick FROM TO DIR: FROM writes the stick, then TO syncs it (TO's report in $T/stick.out)
stick() {
    "$A" --home "$1" stick sync "$3" && "$A" --home "$2" stick sync "$3" >"$T/stick.out" &&
        cat "$T/stick.out"
}
need() { # need HOME QTY PRIORITY: records a need, keeps its short id
    "$A" --home "$1" need add --site $SITE --item $ITEM --qty "$2" --priority "$3" >"$T/need.out" &&
        sed -n 's/^opened need \([0-9a-f]*\):.*/\1/p' "$T/need.out" >>"$T/clone_needs"
}
json() { "$A" --home "$1" status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

# 1. one network: laptop, hub, node; a site and an item, known before the copy
check "init the laptop" "$A" --home "$L1" init --name field-1
code=$("$A" --home "$L1" invite)
check "init the hub (joins)" "$A" --home "$H" init --name hub --join "$code"
check "init the node (joins)" "$A" --home "$N" init --name node --join "$code"
check "the laptop defines the site" "$A" --home "$L1" site add $SITE --name "Clinic 2"
check "and the item" "$A" --home "$L1" item add $ITEM --name "ORS" --unit sachet
check "the laptop's first need" need "$L1" 5 normal
old=$(json "$L1" author)

# 2. the laptop is imaged onto a second machine; both write under one key
cp -a "$L1" "$L2"
: >"$T/clone_needs"
check "laptop: need 10" need "$L1" 10 high
check "laptop: need 11" need "$L1" 11 low
check "laptop: need 12" need "$L1" 12 critical
check "laptop: receive 100" "$A" --home "$L1" stock receive --site $SITE --item $ITEM --qty 100
check "laptop: issue 30" "$A" --home "$L1" stock issue --site $SITE --item $ITEM --qty 30
check "laptop: count 65" "$A" --home "$L1" stock count --site $SITE --item $ITEM --qty 65
check "laptop: receive 7 after the count" "$A" --home "$L1" stock receive --site $SITE --item $ITEM --qty 7
check "clone: need 20" need "$L2" 20 critical
check "clone: receive 40" "$A" --home "$L2" stock receive --site $SITE --item $ITEM --qty 40
check "clone: need 21" need "$L2" 21 normal
check "clone: issue 15" "$A" --home "$L2" stock issue --site $SITE --item $ITEM --qty 15
check "clone: need 22" need "$L2" 22 high
check "clone: receive 3" "$A" --home "$L2" stock receive --site $SITE --item $ITEM --qty 3
check "six needs written on the two copies" test "$(wc -l <"$T/clone_needs")" = 6
# each copy's last record under the old key, before the copies meet: its own branch's head
last_hash() {
    "$A" --home "$1" log --author "$old" --json | tail -n 1 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["hash"])'
}
head1=$(last_hash "$L1")
head2=$(last_hash "$L2")
check "the copies differ before they meet" \
    test "$(json "$L1" view_fingerprint)" != "$(json "$L2" view_fingerprint)"

PL=$(pick_port)
PC=$((PL + 1))
PN=$((PL + 2))
laptop_pid="" clone_pid="" node_pid="" # set by start
mkdir "$T/stick-n" "$T/stick-h"

# 3. the node meets the laptop over TCP, then the clone by stick
check "the laptop runs" start "$L1" $PL laptop_pid
check "node <- laptop over TCP" tcp "$N" $PL
check "the laptop stops" stop "$laptop_pid"
check "node <- clone by stick" stick "$L2" "$N" "$T/stick-n"
# the clone's branch is stored and counted as imported, not called evidence
expect_out "stick sync counts the branch's entries as imported" \
    "^imported [1-9][0-9]* new entr(y|ies) \(read" cat "$T/stick.out"
expect_out "and says 1 of them starts a branch, pointing to aidmesh forks" \
    "^1 of them starts a branch of a key in use on two machines .*see \`aidmesh forks\`" \
    cat "$T/stick.out"
refute "and does not call it fork evidence" grep -Eq "fork evidence|evidence only" "$T/stick.out"
expect_out "the stick carries the laptop's entries as one author's" \
    "^the stick now carries [0-9]+ entries from 1 author;" cat "$T/stick.out"
# the hub meets them the other way round: the clone over TCP, then the laptop by stick
check "the clone runs" start "$L2" $PC clone_pid
check "hub <- clone over TCP" tcp "$H" $PC
check "the clone stops" stop "$clone_pid"
check "hub <- laptop by stick" stick "$L1" "$H" "$T/stick-h"
expect_out "the hub's stick sync says 1 of the imported entries starts a branch" \
    "^1 of them starts a branch of a key in use on two machines" cat "$T/stick.out"
if wait_for 10 pair_agree "$N" "$H"; then
    ok "node and hub agree, having met the branches in opposite orders"
else
    not_ok "node and hub agree, having met the branches in opposite orders"
    diff <(snap "$N" 2>&1) <(snap "$H" 2>&1) | sed 's/^/    /' || true
fi
# node and hub meet; then both copies meet the node again, over TCP
check "the node runs" start "$N" $PN node_pid
check "hub <-> node over TCP" tcp "$H" $PN
check "laptop <-> node over TCP" tcp "$L1" $PN
cp "$T/last.out" "$T/tcp.out"
# the laptop meets the clone's branch here: stored, counted as received, said to start one
expect_out "the laptop's sync says 1 of the received entries starts a branch" \
    "^1 of them starts a branch of a key in use on two machines .*see \`aidmesh forks\`" \
    cat "$T/tcp.out"
expect_out "and counts them as received" "^received [1-9][0-9]* entr(y|ies) from" \
    cat "$T/tcp.out"
check "clone <-> node over TCP" tcp "$L2" $PN
check "the node stops" stop "$node_pid"

# 4. everyone met everyone: the same views, needs and stock everywhere
expect_agree "laptop, clone, node and hub show the same fingerprint, needs and stock"
# the words: both branches kept and counted, one author (in more logs), no old wording
expect_out "verify on the hub: 1 author signed two branches, every branch kept and counts" \
    "^note: 1 author signed two branches .*every branch is kept and counts: see \`aidmesh forks\`" \
    "$A" --home "$H" verify
expect_out "status on the hub: forks names 1 author, every branch kept" \
    "forks: +1 author signed two different entries" "$A" --home "$H" status
expect_out "status on the hub: the store's entries are from authors in more logs" \
    "store: +[0-9,]+ entries from [0-9]+ authors? in [0-9]+ logs," "$A" --home "$H" status
for h in $ALL; do
    refute "${h##*/}: no 'first branch is kept', 'fork evidence' or '1 authors' in verify, status, doctor" \
        sh -c '{ "$1" --home "$2" verify; "$1" --home "$2" status; "$1" --home "$2" doctor \
                 --no-network; } 2>&1 | grep -Eq "first branch|fork evidence|(^|[^0-9,])1 authors"' \
        _ "$A" "$h"
done
for h in $ALL; do
    check "${h##*/}: every need written on either copy is there" python3 - "$A" "$h" "$T/clone_needs" <<'EOF'
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "need", "list", "--status",
                                  "all", "--json"], capture_output=True, text=True, check=True).stdout)
ids = [r["id"] for r in rows]
want = open(sys.argv[3]).read().split()
missing = [w for w in want if not any(i.startswith(w) for i in ids)]
assert not missing, ("missing", missing, rows)
assert sorted(r["qty"] for r in rows) == [5, 10, 11, 12, 20, 21, 22], rows
EOF
done
# the stock: the laptop's count (65) erases what it saw; the clone's moves (+40 -15 +3) and
# the laptop's receipt after the count (+7) count on top: 65 + 28 + 7
check "the stock holds both copies' moves on top of the count" python3 - "$A" "$N" <<'EOF'
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "stock", "totals", "--json"],
                                 capture_output=True, text=True, check=True).stdout)
assert [r["stock"] for r in rows] == [100], rows
EOF
check "forks --json on the node lists the forked author, not as evidence only" \
    python3 - "$A" "$N" "$old" <<'EOF'
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "forks", "--json"],
                                 capture_output=True, text=True, check=True).stdout)
mine = [r for r in rows if r["author"] == sys.argv[3]]
assert len(mine) >= 1 and len(rows) == len(mine), rows
assert all(r["evidence_only"] is False and r["this_node"] is False for r in mine), rows
EOF
expect_out "and forks on the node says both branches count" "both kept, both count" "$A" --home "$N" forks

# 5. both copies refuse to write under the forked key, rotate, and go on
for h in "$L1" "$L2"; do
    expect_out "${h##*/} refuses to write, naming identity rotate" \
        "key is marked forked.*aidmesh identity rotate" \
        "$A" --home "$h" need add --site $SITE --item $ITEM --qty 1
    refute "${h##*/}: with a failing exit" "$A" --home "$h" need add --site $SITE --item $ITEM --qty 1
    check "${h##*/} rotates" "$A" --home "$h" identity rotate
done
new1=$(json "$L1" author)
new2=$(json "$L2" author)
check "to two new keys" sh -c "test '$new1' != '$old' && test '$new2' != '$old' && test '$new1' != '$new2'"
check "laptop: need 30 under its new key" need "$L1" 30 normal
check "clone: need 31 under its new key" need "$L2" 31 normal
check "the node runs again" start "$N" $PN node_pid
for h in "$L1" "$L2" "$H" "$L1"; do # the laptop again, for the clone's new need
    check "${h##*/} <-> node over TCP" tcp "$h" $PN
done
check "the node stops" stop "$node_pid"
check "the needs written under the new keys reached the hub" python3 - "$A" "$H" <<'EOF'
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "need", "list", "--status",
                                  "all", "--json"], capture_output=True, text=True, check=True).stdout)
assert {30, 31} <= {r["qty"] for r in rows}, rows
EOF
expect_agree "after the rotations every node shows the same fingerprint, needs and stock"
for h in $ALL; do
    check "${h##*/}: forks --json: the old key succeeded by both new keys, each on its own branch" \
        python3 - "$A" "$h" "$old" "$new1" "$new2" "$head1" "$head2" <<'EOF'
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "forks", "--json"],
                                 capture_output=True, text=True, check=True).stdout)
mine = [r for r in rows if r["author"] == sys.argv[3]]
assert mine, rows
succ = {s["author"]: s for s in mine[-1]["successors"]}
assert sorted(succ) == sorted(sys.argv[4:6]), succ
# each new key goes on from its own copy's branch: the last record that copy wrote
for new, head in ((sys.argv[4], sys.argv[6]), (sys.argv[5], sys.argv[7])):
    assert succ[new]["head"] == head, ("names another branch's record", new[:16], head[:16], succ)
    assert not succ[new].get("refused", False), ("refused", new[:16], succ)
EOF
    expect_out "${h##*/}: forks says succeeded by the laptop's new key" "succeeded by ${new1:0:16}" \
        "$A" --home "$h" forks
    expect_out "${h##*/}: and by the clone's" "succeeded by ${new2:0:16}" "$A" --home "$h" forks
done
for h in $ALL; do
    check "${h##*/}: verify" "$A" --home "$h" verify
done

finish
