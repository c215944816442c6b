#!/usr/bin/env bash
# cli.sh: the foundation commands through the real binary, good and bad input.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
H1=$T/hub
H2=$T/clinic

check "init creates a node" $A --home "$H1" init --name hub-north
check "key files are private" test "$(stat -c %a "$H1/identity.key")" = 600
refute "a second init is refused" $A --home "$H1" init
expect_out "and says how to go on" "already set up.*--force" $A --home "$H1" init
expect_out "init --help explains --join" "--join CODE" $A init --help

code=$($A --home "$H1" invite)
check "invite prints a code" test -n "$code"
check "AIDMESH_HOME is honoured" env AIDMESH_HOME="$H1" $A status
netid1=$($A --home "$H1" status --json | sed 's/.*"network_id":"\([0-9a-f]*\)".*/\1/')

# Join with the code: same network, other identity.
check "init --join joins the network" $A --home "$H2" init --name clinic --join "$code"
netid2=$($A --home "$H2" status --json | sed 's/.*"network_id":"\([0-9a-f]*\)".*/\1/')
check "joined node has the same network id" test "$netid1" = "$netid2"
a1=$($A --home "$H1" status --json | sed 's/.*"author":"\([0-9a-f]*\)".*/\1/')
a2=$($A --home "$H2" status --json | sed 's/.*"author":"\([0-9a-f]*\)".*/\1/')
check "each node has its own identity" test "$a1" != "$a2"
i1=$($A --home "$H1" status --json | sed 's/.*"install_id":"\([0-9a-f]*\)".*/\1/')
i2=$($A --home "$H2" status --json | sed 's/.*"install_id":"\([0-9a-f]*\)".*/\1/')
check "each store has its own install id" test "$i1" != "$i2"
check "invite codes are read in upper case and any grouping" \
    $A --home "$T/upper" init --join "$(echo "$code" | tr a-z A-Z | tr -d -)"

# A typo in the invite code: named, and nothing set up.
typo=$(echo "$code" | sed 's/^\(am1-...\)\(.\)/\1\2/' | awk '{
    s=$0; c=substr(s,8,1); r=(c=="x")?"y":"x"; print substr(s,1,7) r substr(s,9) }')
expect_out "a typo in the invite code is reported with its place" "typo near group" \
    $A --home "$T/typo" init --join "$typo"
check "and nothing is written" test ! -e "$T/typo/identity.key"
expect_out "a code that is not one is reported" "not an invite code" \
    $A --home "$T/junk" init --join "hello"

# Key files others can read are refused.
chmod 644 "$H2/identity.key"
refute "a group/other-readable key is refused" $A --home "$H2" status
expect_out "with the fix in words" "chmod 600" $A --home "$H2" status
chmod 600 "$H2/identity.key"
check "and accepted once private" $A --home "$H2" status

# --force keeps the old keys beside the new ones.
check "init --force replaces the keys" $A --home "$H2" init --force --join "$code"
check "the old identity is kept" sh -c "ls '$H2' | grep -q 'identity.key.replaced-'"
a2b=$($A --home "$H2" status --json | sed 's/.*"author":"\([0-9a-f]*\)".*/\1/')
check "the new identity differs" test "$a2" != "$a2b"

# Entries: log, status counts, verify.
check "append entries" "$AM_TESTTOOL" append "$H1" --size 5 --batches 3
expect_out "status counts them" '"entries":15' $A --home "$H1" status --json
expect_out "log lists them" '"seq":15' $A --home "$H1" log --json
check "log --author takes a prefix" sh -c "$A --home '$H1' log --author ${a1:0:6} | grep -c . | grep -qx 15"
expect_out "log --limit" '^1$' sh -c "$A --home '$H1' log --limit 1 | wc -l"
expect_out "an unknown author is named" "no author 'abcdef'" $A --home "$H1" log --author abcdef
check "verify is clean" $A --home "$H1" verify
expect_out "verify --json says clean" '"clean":true' $A --home "$H1" verify --json
check "tamper with entry 7" "$AM_TESTTOOL" tamper "$H1" --seq 7
refute "verify finds the damage" $A --home "$H1" verify
expect_out "and names author and seq" "seq 7: bad signature" $A --home "$H1" verify

# Usage errors.
expect_out "unknown command" "unknown command 'frobnicate'" $A frobnicate
expect_out "unknown option named" "'--bogus'" $A status --bogus
expect_out "no home yet" "run \`aidmesh init\` first" $A --home "$T/nothing" status
expect_out "--help lists commands" "verify" $A --help
finish
