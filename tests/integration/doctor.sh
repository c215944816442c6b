#!/usr/bin/env bash
# doctor.sh: `aidmesh doctor` on the home only (--no-network: nothing is sent or opened, so
# this runs anywhere, without root or namespaces). Checked:
#   - a healthy home: every line ok, exit 0, --json says ok;
#   - a key file others can read: FAIL naming the file and the chmod to run, exit 1; fixed,
#     exit 0 again;
#   - a missing home, a missing network key: FAIL with what to run;
#   - a damaged record: the full check and the quick check (latest entry of each author)
#     find what each should;
#   - a config line that is not HOST:PORT: a warning, exit 0;
#   - usage errors exit 2.
# The network checks run in namespaces: doctor_netns.sh.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
H=$T/hub

check "set up a node" $A --home "$H" init --name hub
check "write 5 entries" "$AM_TESTTOOL" append "$H" --size 5 --batches 1

# --- healthy ------------------------------------------------------------------------------
check "healthy home: exit 0" $A --home "$H" doctor --no-network
$A --home "$H" doctor --no-network >"$T/ok.out" 2>&1 || true
if grep -Eq '^  (warn|FAIL)' "$T/ok.out"; then
    # a nearly full disk on the test machine is the one warning that is not ours
    if grep -E '^  (warn|FAIL)' "$T/ok.out" | grep -vq 'disk space'; then
        not_ok "healthy home: every line ok"
        sed 's/^/    /' "$T/ok.out"
    else ok "healthy home: every line ok (but the disk)"; fi
else
    ok "healthy home: every line ok"
fi
expect_out "healthy home: keys private, a network key" \
    'network.key: private \(0600\), network id [0-9a-f]{16}$' cat "$T/ok.out"
refute "  the founding node is not called joined" grep -q "(joined)" "$T/ok.out"
expect_out "healthy home: every signature checked" \
    'ok +integrity: every chain and signature checked \(5 entries\)' cat "$T/ok.out"
expect_out "healthy home: free disk and map use" 'ok +disk: .* free of' cat "$T/ok.out"
expect_out "healthy home: the summary line" '^0 failed' cat "$T/ok.out"
expect_out "--json: ok, and a check list" '^\{"ok":true,"failed":0,.*"checks":\[\{"section":"home"' \
    $A --home "$H" doctor --no-network --json
expect_out "--json: no network checks with --no-network" '"verdict":"not_checked"' \
    $A --home "$H" doctor --no-network --json

# --- key permissions -------------------------------------------------------------------------
chmod 644 "$H/network.key"
refute "a network key others can read: exit 1" $A --home "$H" doctor --no-network
expect_out "it names the file and the chmod to run" \
    "FAIL +$H/network.key can be read by other users \(mode 0644\).*run \`chmod 600 $H/network.key\`" \
    $A --home "$H" doctor --no-network
expect_out "--json says it failed" '"ok":false,"failed":1,.*"check":"network.key","status":"fail"' \
    $A --home "$H" doctor --no-network --json
expect_out "the other checks still run" 'ok +identity.key: private' $A --home "$H" doctor --no-network
chmod 600 "$H/network.key"
chmod 640 "$H/identity.key"
expect_out "an identity key the group can read: FAIL with the chmod" \
    "FAIL +$H/identity.key can be read by other users \(mode 0640\).*chmod 600" \
    $A --home "$H" doctor --no-network
chmod 600 "$H/identity.key"
check "fixed: exit 0 again" $A --home "$H" doctor --no-network

# --- no home, no network key -----------------------------------------------------------------
refute "no home: exit 1" $A --home "$T/nothing" doctor --no-network
expect_out "no home: says to run init" "FAIL +no aidmesh node in $T/nothing: set one up with \`aidmesh init\`" \
    $A --home "$T/nothing" doctor --no-network
check "a second node" $A --home "$T/half" init --name half
mv "$T/half/network.key" "$T/half/network.key.away"
expect_out "no network key: says how to join" 'FAIL +.*network.key is missing.*init --force --join CODE' \
    $A --home "$T/half" doctor --no-network
refute "no network key: exit 1" $A --home "$T/half" doctor --no-network

# --- damaged records -------------------------------------------------------------------------
check "copy the healthy home" cp -a "$H" "$T/dmg"
check "damage entry 3 (not the latest)" "$AM_TESTTOOL" tamper "$T/dmg" --seq 3
refute "full check: exit 1" $A --home "$T/dmg" doctor --no-network
expect_out "full check: names the damage and \`aidmesh verify\`" \
    'FAIL +the store holds [0-9]+ damaged records? \(first: author [0-9a-f]{16} seq 3: .*\): run `aidmesh verify`' $A --home "$T/dmg" doctor --no-network
check "quick check (latest entries only) does not look at entry 3" \
    $A --home "$T/dmg" doctor --no-network --quick
expect_out "and says it was quick" 'ok +integrity: the latest entry of 1 author checked' \
    $A --home "$T/dmg" doctor --no-network --quick
check "damage entry 5 (the latest)" "$AM_TESTTOOL" tamper "$T/dmg" --seq 5
expect_out "quick check: finds a damaged latest entry" \
    "FAIL +1 of 1 latest entries \(one per author, and one per branch of a forked author\) is damaged \(first: author [0-9a-f]{16} seq 5: " \
    $A --home "$T/dmg" doctor --no-network --quick

# --- config ----------------------------------------------------------------------------------
check "copy the healthy home again" cp -a "$H" "$T/cfg"
echo "peer = 10.0.0.1:99999" >>"$T/cfg/config"
expect_out "a bad peer line: a warning" 'warn +1 `peer =` line\(s\) of .*config are not HOST:PORT' \
    $A --home "$T/cfg" doctor --no-network
check "a warning alone: exit 0" $A --home "$T/cfg" doctor --no-network

# --- usage -----------------------------------------------------------------------------------
expect_out "--help explains the checks" 'multicast blocked, client isolation' $A doctor --help
for bad in "--listen-wait x" "--listen-wait -1" "--connect-timeout 0" "--peer nohostport:" \
    "--bogus" "extra"; do
    rc=0
    # shellcheck disable=SC2086
    $A --home "$H" doctor --no-network $bad >/dev/null 2>&1 || rc=$?
    if [ $rc -eq 2 ]; then ok "usage error exits 2: $bad"; else not_ok "usage error exits 2: $bad (got $rc)"; fi
done
expect_out "the command list names doctor" '^  doctor ' $A --help

finish
