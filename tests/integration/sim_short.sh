#!/usr/bin/env bash
# sim_short.sh: aidmesh-sim with short contacts (issue 15, item 4). tools/sim/short.conf
# cuts every contact at 10% of its backlog for 4 hours, runs twice with one seed (the lane
# off: logs in order; then on) and must print the figure, meet the floor short.conf sets
# for the lane (the issue asks 90%: see the note in short.conf), beat log
# order by five times, and converge in both runs once contacts are whole again. A one-hop scenario (one hub and its members) checks the cut and the
# lane on their own, and the same scenario with the lane off must fail its requirement.
source "$(dirname "$0")/lib.sh"

SIM="$AM_BIN_DIR/aidmesh-sim"
CONF="$AM_SOURCE_DIR/tools/sim/short.conf"

"$SIM" --quiet "$CONF" >"$T/a.txt" && rc=0 || rc=$?
sed 's/^/    /' "$T/a.txt"
check "short scenario exits 0 (seed 15)" test "$rc" -eq 0
expect_out "the figure, with its log-order baseline" \
    "^critical open needs delivered at 10% cut: [0-9.]+% \(log order: [0-9.]+%\)$" cat "$T/a.txt"
x=$(sed -n 's/^critical open needs delivered at 10% cut: \([0-9]*\)\..*/\1/p' "$T/a.txt")
y=$(sed -n 's/.*(log order: \([0-9]*\)\..*/\1/p' "$T/a.txt")
floor=$(sed -n 's/^critical_delivered *\([0-9]*\)%.*/\1/p' "$CONF")
check "the floor of short.conf with the lane (got ${x:-none}%, floor ${floor:-none}%)" \
    test "${x:-0}" -ge "${floor:-100}"
check "the lane beats log order five times over (${x:-none}% against ${y:-none}%)" \
    test "${x:-0}" -ge $((5 * ${y:-100})) -a "${x:-0}" -gt 0
expect_out "contacts were cut" "short contacts +cut at 10% .*: [1-9][0-9]* contacts cut; lane on, [1-9]" cat "$T/a.txt"
expect_out "the lane run converged" "converged +yes" cat "$T/a.txt"
expect_out "the log-order run converged" "log-order run +converged$" cat "$T/a.txt"
expect_out "no entry missing" "entries missing +0 on the node that lacks most: ok" cat "$T/a.txt"
expect_out "one view fingerprint" "view fingerprints +1 distinct \(policy one\): ok" cat "$T/a.txt"
"$SIM" --quiet "$CONF" >"$T/b.txt" || true
check "same seed, same report byte for byte" cmp "$T/a.txt" "$T/b.txt"
"$SIM" --quiet --json "$CONF" >"$T/a.json" || true
expect_out "JSON holds both figures" '"critical_total":[1-9].*"baseline_critical_total":[1-9]' cat "$T/a.json"

# one hop: a hub and its members, no runner
cat >"$T/one.conf" <<'CONF'
name one-hop
seed 7
clusters 1
members 6
runners 0
entries 3000
write_until 2h
round 30m
until 2d
lan up 20m down 2m bw 1MB latency 5ms
cut 10% until 4h
lane both
critical_delivered 90%
CONF
"$SIM" --quiet "$T/one.conf" >"$T/one.txt" && rc=0 || rc=$?
sed 's/^/    /' "$T/one.txt"
check "one hop: passes" test "$rc" -eq 0
x=$(sed -n 's/^critical open needs delivered at 10% cut: \([0-9]*\)\..*/\1/p' "$T/one.txt")
y=$(sed -n 's/.*(log order: \([0-9]*\)\..*/\1/p' "$T/one.txt")
check "one hop: at least 90% with the lane (got ${x:-none}%)" test "${x:-0}" -ge 90
check "one hop: log order shows less than half (got ${y:-none}%)" test "${y:-100}" -lt 50
sed 's/^lane both$/lane off/' "$T/one.conf" >"$T/off.conf"
"$SIM" --quiet "$T/off.conf" >"$T/off.txt" && rc=0 || rc=$?
check "lane off: the 90% requirement fails (exit 1)" test "$rc" -eq 1
expect_out "lane off: said so" "critical required +90% on every hub: FAILED" cat "$T/off.txt"
refute "lane off: no baseline beside it" grep -q "log order:" "$T/off.txt"
expect_out "lane off: nothing taken into a lane" "lane off, 0 entries taken" cat "$T/off.txt"
expect_out "lane off: still converges" "converged +yes" cat "$T/off.txt"

printf 'clusters 1\ncut 10 until 4h\n' >"$T/bad.conf"
expect_out "a cut without a % sign is refused, line named" "bad.conf line 2: '10' is not a whole percentage" "$SIM" --quiet "$T/bad.conf"
printf 'clusters 1\nlane both\n' >"$T/bad2.conf"
expect_out "lane both wants a cut" "'lane both' wants a 'cut' line" "$SIM" --quiet "$T/bad2.conf"
printf 'clusters 1\ncut 10%% until 3d\nuntil 2d\n' >"$T/bad3.conf"
expect_out "the cut phase must end before until" "the cut phase must end before 'until'" "$SIM" --quiet "$T/bad3.conf"

finish
