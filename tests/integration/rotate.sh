#!/usr/bin/env bash
# rotate.sh: the cloned node goes on (issue 14, item 4; PROTOCOL.md §6 "Forks", 10.4
# "succession"). A home copied onto a second machine writes on both copies; when the copies
# meet by stick the clone sees its own key forked and refuses to write, pointing to
# `aidmesh identity rotate`; it rotates and writes again. A hub that syncs the stick lists
# the forked key as succeeded by the clone's new key and shows the clone's new records. The
# original rotates too: the hub lists both successors. Bad input: a succession signed by one
# key only, or naming its own author, is recorded invalid and not listed; a rotation of a
# key that is not forked is refused without --force, and with it counts nowhere until the
# old key is seen forked.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
L1=$T/laptop
L2=$T/clone
H=$T/hub
S=$T/stick
mkdir "$S"

json() { # json HOME ARGS... -- PYTHON-EXPR on the parsed output `j`
    local home=$1
    shift
    local args=()
    while [ "$1" != "--" ]; do
        args+=("$1")
        shift
    done
    shift
    "$A" --home "$home" "${args[@]}" --json | python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"
}

check "init the laptop" "$A" --home "$L1" init --name field-1
code=$("$A" --home "$L1" invite)
check "init the hub (joins)" "$A" --home "$H" init --name hub --join "$code"
for h in "$L1" "$H"; do
    "$A" --home "$h" site add clinic-2 --name "Clinic 2" >/dev/null
    "$A" --home "$h" item add ors-20.5 --name "ORS" --unit sachet >/dev/null
done
old=$(json "$L1" status -- 'j["author"]')

expect_out "rotating a key that is not forked is refused" "not marked forked.*--force" \
    "$A" --home "$H" identity rotate
refute "with exit 1" "$A" --home "$H" identity rotate
expect_out "identity with no subcommand shows its usage" "identity rotate" "$A" identity
expect_out "identity --help says what rotate does" "succession" "$A" identity --help

# the laptop is imaged onto a second machine; both go on writing under one key
cp -a "$L1" "$L2"
check "the laptop records a need" "$A" --home "$L1" need add --site clinic-2 --item ors-20.5 --qty 10 --priority high
check "the clone records another" "$A" --home "$L2" need add --site clinic-2 --item ors-20.5 --qty 20 --priority critical

check "the laptop writes the stick" "$A" --home "$L1" stick sync "$S"
check "the clone syncs it" "$A" --home "$L2" stick sync "$S"
expect_out "the clone refuses to write, saying to rotate" "key is marked forked.*aidmesh identity rotate" \
    "$A" --home "$L2" need add --site clinic-2 --item ors-20.5 --qty 30 --priority low
refute "with exit 1" "$A" --home "$L2" need add --site clinic-2 --item ors-20.5 --qty 30 --priority low

# the clone rotates and goes on
expect_out "the clone rotates" "was in use on two machines; its new key is" "$A" --home "$L2" identity rotate
new2=$(json "$L2" status -- 'j["author"]')
check "its key changed" test "$new2" != "$old"
check "the old key file is kept" sh -c "ls '$L2'/identity.key.replaced-* >/dev/null"
check "and no staged key is left" test ! -e "$L2/identity.key.new"
check "the node name stays" test "$(json "$L2" status -- 'j["name"]')" = "field-1"
check "the network stays" test "$(json "$L2" status -- 'j["network_id"]')" = "$(json "$L1" status -- 'j["network_id"]')"
check "the clone writes again" "$A" --home "$L2" need add --site clinic-2 --item ors-20.5 --qty 33 --priority normal
expect_out "status shows the previous key" "previous key: ${old:0:16}, succeeded by this one" "$A" --home "$L2" status
check "status --json too" test "$(json "$L2" status -- 'j["previous_authors"][0]["author"]')" = "$old"
expect_out "the clone's forks marks its new key" "succeeded by ${new2:0:16} \\(THIS NODE now\\)" "$A" --home "$L2" forks

check "the clone writes the stick" "$A" --home "$L2" stick sync "$S"
check "the hub syncs it" "$A" --home "$H" stick sync "$S"
expect_out "the hub lists the author as succeeded by the clone's new key" \
    "succeeded by ${new2:0:16} \\(rotated on [0-9-]+T" "$A" --home "$H" forks
check "forks --json: one successor, the clone's new key" python3 - "$A" "$H" "$old" "$new2" <<'EOF'
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "forks", "--json"],
                                 capture_output=True, text=True, check=True).stdout)
mine = [r for r in rows if r["author"] == sys.argv[3]]
assert mine, rows
succ = mine[-1]["successors"]
assert [s["author"] for s in succ] == [sys.argv[4]], succ
assert len(succ[0]["head"]) == 64 and succ[0]["seq"] >= 1, succ
EOF
check "the clone's new record is at the hub" python3 - "$A" "$H" "$new2" <<'EOF'
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "need", "list", "--status", "all", "--json"],
                                 capture_output=True, text=True, check=True).stdout)
assert any(r["qty"] == 33 for r in rows), rows
EOF

# the original meets the fork too, and rotates to its own successor
check "the laptop syncs the stick" "$A" --home "$L1" stick sync "$S"
expect_out "the laptop now refuses to write" "aidmesh identity rotate" \
    "$A" --home "$L1" need add --site clinic-2 --item ors-20.5 --qty 11 --priority low
check "the laptop rotates" "$A" --home "$L1" identity rotate
new1=$(json "$L1" status -- 'j["author"]')
check "to a key of its own" sh -c "test '$new1' != '$old' && test '$new1' != '$new2'"
check "the laptop writes again" "$A" --home "$L1" need add --site clinic-2 --item ors-20.5 --qty 44 --priority low
check "the laptop writes the stick" "$A" --home "$L1" stick sync "$S"
check "the hub syncs it" "$A" --home "$H" stick sync "$S"
check "forks --json at the hub lists both successors, each on its own branch" python3 - "$A" "$H" "$old" "$new1" "$new2" <<'EOF'
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "forks", "--json"],
                                 capture_output=True, text=True, check=True).stdout)
succ = [r for r in rows if r["author"] == sys.argv[3]][-1]["successors"]
assert sorted(s["author"] for s in succ) == sorted(sys.argv[4:6]), succ
assert succ[0]["head"] != succ[1]["head"], succ
EOF
expect_out "and says every forked key has a successor" "Each has been succeeded" "$A" --home "$H" forks
check "both new records are at the hub" python3 - "$A" "$H" <<'EOF'
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "need", "list", "--status", "all", "--json"],
                                 capture_output=True, text=True, check=True).stdout)
q = {r["qty"] for r in rows}
assert {33, 44} <= q, q
EOF

# bad input: successions that are not signed by both keys, forged around the CLI
hub=$(json "$H" status -- 'j["author"]')
forge() { # forge OLD_HEX OSIG_KIND: the hex of a succession op {t, old, seq, head, osig}
    python3 - "$1" "$2" <<'EOF'
import sys
old = bytes.fromhex(sys.argv[1])
osig = bytes(64) if sys.argv[2] == "zero" else bytes(range(64))
def s(x): return bytes([0xa0 | len(x)]) + x.encode()
op = (b"\x85" + s("t") + s("succession") + s("old") + b"\xc4\x20" + old + s("seq") + b"\x01" +
      s("head") + b"\xc4\x20" + bytes(32) + s("osig") + b"\xc4\x40" + osig)
print(op.hex())
EOF
}
check "the hub forges a succession that only its own key signs" "$AM_TESTTOOL" append-op "$H" "$(forge "$old" zero)"
check "and one that names itself as the old key" "$AM_TESTTOOL" append-op "$H" "$(forge "$hub" other)"
expect_out "verify records the first as invalid, naming osig" "\"osig\" is not a signature by the old key" \
    "$A" --home "$H" verify
expect_out "and the second" "a key cannot succeed itself" "$A" --home "$H" verify
check "neither is listed as a successor" python3 - "$A" "$H" "$old" "$hub" <<'EOF'
import json, subprocess, sys
rows = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "forks", "--json"],
                                 capture_output=True, text=True, check=True).stdout)
succ = [r for r in rows if r["author"] == sys.argv[3]][-1]["successors"]
assert len(succ) == 2 and sys.argv[4] not in [s["author"] for s in succ], succ
st = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "status", "--json"],
                               capture_output=True, text=True, check=True).stdout)
assert st["invalid_ops"] == 2 and st["previous_authors"] == [], st
EOF
fp=$(json "$H" status -- 'j["view_fingerprint"]')
check "reindex gives the same views" "$A" --home "$H" reindex
check "(same fingerprint)" test "$(json "$H" status -- 'j["view_fingerprint"]')" = "$fp"

# rotation for another reason (a key that may have been copied): --force. The old key is
# not forked, so the succession counts nowhere (this node included) until a fork of it is
# seen: the command says so, and verify lists the record with that reason.
expect_out "the hub rotates with --force, saying the succession counts only once the old key is forked" \
    "the old key is not forked, so no node, this one included, shows the new key" \
    "$A" --home "$H" identity rotate --force
hub2=$(json "$H" status -- 'j["author"]')
check "its key changed" test "$hub2" != "$hub"
check "and its status shows no previous key yet" python3 - "$A" "$H" <<'EOF'
import json, subprocess, sys
st = json.loads(subprocess.run([sys.argv[1], "--home", sys.argv[2], "status", "--json"],
                               capture_output=True, text=True, check=True).stdout)
assert st["previous_authors"] == [] and st["invalid_ops"] == 3, st
EOF
expect_out "verify says why it does not count" "succession: the old key ${hub:0:16} is not forked here" \
    "$A" --home "$H" verify
check "and it writes under the new key" "$A" --home "$H" need add --site clinic-2 --item ors-20.5 --qty 5 --priority low
fp=$(json "$H" status -- 'j["view_fingerprint"]')
check "reindex gives the same views" "$A" --home "$H" reindex
check "(same fingerprint)" test "$(json "$H" status -- 'j["view_fingerprint"]')" = "$fp"

finish
