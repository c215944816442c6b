#!/usr/bin/env bash
# refusals.sh: refusals are never silent (issue 21, item 3). A node whose latest entry
# carries a forged signature (aidmesh-testtool tamper) hands it on; whoever receives it,
# by `aidmesh sync`, by a running node, or by `aidmesh stick sync`, says how many entries
# it refused, from which author (short id) and why, and `sync` / `stick sync` exit 4
# (their --help and the man page say so). A clean sync and a clean stick sync exit 0.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
check "init the forger's node" $A --home "$T/bad" init --name bad
code=$($A --home "$T/bad" invite)
check "init a clean node" $A --home "$T/good" init --name good --join "$code"
check "init a receiver" $A --home "$T/rx" init --name rx --join "$code"
check "init a daemon receiver" $A --home "$T/drx" init --name drx --join "$code"
check "init a stick reader" $A --home "$T/srx" init --name srx --join "$code"
check "the forger writes 5 entries" "$AM_TESTTOOL" append "$T/bad" --size 5 --batches 1
check "its latest entry gets a forged signature" "$AM_TESTTOOL" tamper "$T/bad" --seq 5
check "the clean node writes 3 entries" "$AM_TESTTOOL" append "$T/good" --size 3 --batches 1
bad_id=$($A --home "$T/bad" status --json | sed 's/.*"author":"\([0-9a-f]*\)".*/\1/')
short=${bad_id:0:16}

# ---- help and man page promise the code ---------------------------------------------------------
expect_out "sync --help documents exit status 4" "4 when the sync ran but this" $A sync --help
expect_out "stick --help documents exit status 4" "2 on a usage error, 4 when the sync ran" $A stick --help
check "the man page's EXIT STATUS names 4" grep -q "^4 from" "$(dirname "$0")/../../docs/aidmesh.1"

# ---- aidmesh sync --------------------------------------------------------------------------------
P=$(pick_port)
$A --home "$T/bad" run --listen 127.0.0.1:$P --no-discovery >"$T/bad.log" 2>&1 &
check "the forger's node listens" wait_for 10 grep -q "listening on" "$T/bad.log"
rc=0
$A --home "$T/rx" sync 127.0.0.1:$P >"$T/sync.out" 2>&1 || rc=$?
check "sync exits 4 when it refused entries (got $rc)" test "$rc" -eq 4
check "  names the count, the author and the reason" \
    grep -q "^  1 entry from author $short: bad signature" "$T/sync.out"
check "  and keeps what verified" test "$(entries "$T/rx")" = 4
rc=0
$A --home "$T/rx" sync --json 127.0.0.1:$P >"$T/sync.json" 2>&1 || rc=$?
check "sync --json exits 4 too (got $rc)" test "$rc" -eq 4
check "  with the refusal listed" \
    grep -q "\"refusals\":\[{\"author\":\"$bad_id\",\"reason\":\"bad signature\",\"entries\":1" "$T/sync.json"
sed 's/^/    /' "$T/sync.out"

# ---- the daemon's log ----------------------------------------------------------------------------
PD=$((P + 1))
$A --home "$T/drx" run --listen 127.0.0.1:$PD --no-discovery >"$T/drx.log" 2>&1 &
check "the receiving node listens" wait_for 10 grep -q "listening on" "$T/drx.log"
$A --home "$T/bad" sync 127.0.0.1:$PD >/dev/null 2>&1 || true
check "its log says whose entry it refused and why" \
    wait_for 10 grep -q "peer [0-9a-f]*: refused 1 entry from author $short: bad signature" "$T/drx.log"
check "  and counts it in the session's summary" grep -q "; refused 1" "$T/drx.log"
grep refused "$T/drx.log" | sed 's/^/    /'

# ---- a clean sync exits 0 ------------------------------------------------------------------------
PG=$((P + 2))
$A --home "$T/good" run --listen 127.0.0.1:$PG --no-discovery >"$T/good.log" 2>&1 &
check "the clean node listens" wait_for 10 grep -q "listening on" "$T/good.log"
check "a clean sync exits 0" $A --home "$T/srx" sync 127.0.0.1:$PG
cp "$T/last.out" "$T/clean.out"
refute "  and says nothing of refusals" grep -q refused "$T/clean.out"

# ---- aidmesh stick sync --------------------------------------------------------------------------
mkdir -p "$T/stick"
check "a clean stick sync exits 0" $A --home "$T/srx" stick sync "$T/stick"
check "the forger tops up the stick" $A --home "$T/bad" stick sync "$T/stick"
rc=0
$A --home "$T/srx" stick sync "$T/stick" >"$T/stick.out" 2>&1 || rc=$?
check "stick sync exits 4 when it refused entries (got $rc)" test "$rc" -eq 4
check "  names the count, the author and the reason" \
    grep -q "^  1 entry from author $short: bad signature" "$T/stick.out"
check "  and still says it is safe to unplug" grep -q "safe to unplug" "$T/stick.out"
rc=0
$A --home "$T/srx" stick sync --json "$T/stick" >"$T/stick.json" 2>&1 || rc=$?
check "stick sync --json exits 4 too (got $rc)" test "$rc" -eq 4
check "  with the refusal listed" grep -q "\"reason\":\"bad signature\",\"entries\":1" "$T/stick.json"
sed 's/^/    /' "$T/stick.out"

finish
