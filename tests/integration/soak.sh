#!/usr/bin/env bash
# soak.sh: a mesh of real `aidmesh run` daemons under chaos, then a check that nothing was
# lost. SOAK_NODES daemons (default 8), each in its own network namespace on one bridge
# (loopback with one port each when namespaces are not available: then no link is cut),
# each dialing the next two nodes of a ring (--peer, --no-discovery). For SOAK_SECONDS
# (default 30) a seeded random loop:
#   - writes needs (add, update, deliver, close) and stock moves (receive, issue, adjust,
#     count) through the CLI on a random node, whether its daemon runs or not; each write
#     that exits 0 is acknowledged and counted for its node's author (one entry each);
#     a few CLI writers are SIGKILLed after 1-80 ms (their entry may or may not be there);
#   - SIGKILLs a random running daemon (half of the kills as power cuts: link down, kill,
#     the node's sockets destroyed, link up, so its peers hold half-open connections),
#     restarts a random dead one;
#   - cuts a random link of the ring (an unreachable route each way, so dials fail at
#     once and open connections stall as on a lost radio link) and heals one.
# Then it stops writing, heals every link, restarts every daemon and waits (deadline
# SOAK_CONVERGE_SECONDS, default 90) until every node holds every acknowledged entry.
# Then one targeted check (namespaces only): a node that comes back after a power cut is
# synced with at once (its new entry reaches every node within 8 s), not refused while its
# peers keep their dead connections to it.
# Checked at the end: each writer's own store holds its acknowledged writes (plus at most
# the SIGKILLed ones, no refused one); each author's head is the same (seq and hash) on
# every node, with no gap, and equals the writer's own head; every need id returned by
# `need add` is listed everywhere; view fingerprints are equal; every daemon stops cleanly
# on SIGTERM; `aidmesh verify` is clean on every node; no sanitizer report in any daemon
# log or CLI output; no daemon died on its own; and the peak RSS (VmHWM) of every daemon
# is at most SOAK_RSS_MAX_MB (default 64, or 512 in a sanitizer build, whose shadow memory
# and quarantine count too).
# Seed: $SOAK_SEED (else $AM_SEED, else the clock), printed; the actions replay with the
# seed, their timing does not. AM_KEEP_LOGS=DIR keeps the logs.
# The long run: tools/soak.sh (same script, bigger knobs).
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
SEED=${SOAK_SEED:-${AM_SEED:-$(($(date +%s) % 100000))}}
RANDOM=$SEED
N=${SOAK_NODES:-8}
SECS=${SOAK_SECONDS:-30}
CONVERGE_SECS=${SOAK_CONVERGE_SECONDS:-90}
# (grep -c, not -q: -q would end the pipe early and pipefail would see ldd's SIGPIPE)
if [ "$(ldd "$A" 2>/dev/null | grep -Ec 'lib(asan|ubsan)')" -gt 0 ]; then SANITIZED=1; else SANITIZED=0; fi
if [ "$SANITIZED" = 1 ]; then RSS_MAX_MB=${SOAK_RSS_MAX_MB:-512}; else RSS_MAX_MB=${SOAK_RSS_MAX_MB:-64}; fi
echo "# seed $SEED (rerun with SOAK_SEED=$SEED); $N nodes, $SECS s of chaos, sanitized=$SANITIZED"
if [ "$N" -lt 5 ]; then
    not_ok "SOAK_NODES must be at least 5 (each node dials the next two of a ring)"
    finish || exit 1
fi

now_ms() { echo $(($(date +%s%N) / 1000000)); }
T0=$(now_ms)

# ---- network: namespaces on a bridge, else loopback ------------------------------------------
NSP=amsoak$$
. "$(dirname "$0")/lib_netns.sh"
keep_logs() {
    if [ -n "${AM_KEEP_LOGS:-}" ]; then mkdir -p "$AM_KEEP_LOGS" && cp "$T"/*.log "$AM_KEEP_LOGS"/ 2>/dev/null; fi
    return 0
}
NS_ON_EXIT=keep_logs
USE_NS=${SOAK_NETNS:-1}
if [ "$USE_NS" = 1 ] && ! ns_try_start br; then
    echo "# $NS_WHY: running on loopback, links are not cut"
    USE_NS=0
fi

PORT0=0
if [ "$USE_NS" = 1 ]; then
    ip -n "${NSP}br" link set lo up
    ip -n "${NSP}br" link add br0 type bridge
    ip -n "${NSP}br" link set br0 up
    for i in $(seq 0 $((N - 1))); do
        ns=$NSP$i
        ip netns add "$ns"
        NSES+=("$ns")
        ip -n "$ns" link set lo up
        ip -n "$ns" link add eth0 type veth peer name "p$i" netns "${NSP}br"
        ip -n "${NSP}br" link set "p$i" master br0
        ip -n "${NSP}br" link set "p$i" up
        ip -n "$ns" addr add "10.88.0.$((i + 1))/24" dev eth0
        ip -n "$ns" link set eth0 up
    done
    ok "$N network namespaces on a bridge"
else
    PORT0=$(pick_port) # below 50000: PORT0 + N is a port too
fi
ip_of() { echo "10.88.0.$(($1 + 1))"; }
addr_of() {
    if [ "$USE_NS" = 1 ]; then echo "$(ip_of "$1"):47470"; else echo "127.0.0.1:$((PORT0 + $1))"; fi
}
peers_of() { echo $(((${1} + 1) % N)) $(((${1} + 2) % N)); }
EDGES=() # "i j": i dials j
for i in $(seq 0 $((N - 1))); do for j in $(peers_of "$i"); do EDGES+=("$i $j"); done; done

# ---- nodes: one network, sites and items written on n0 --------------------------------------
home() { echo "$T/n$1"; }
check "init n0" "$A" --home "$(home 0)" init --name n0
code=$("$A" --home "$(home 0)" invite)
joined=0
for i in $(seq 1 $((N - 1))); do
    if "$A" --home "$(home "$i")" init --name "n$i" --join "$code" >"$T/init.out" 2>&1; then
        joined=$((joined + 1))
    else
        not_ok "init n$i (joins)"
        sed 's/^/    /' "$T/init.out"
    fi
done
check "n1..n$((N - 1)) joined n0's network" test $joined = $((N - 1))
declare -A SEQ MAYBE AUTH
for i in $(seq 0 $((N - 1))); do
    SEQ[$i]=0
    MAYBE[$i]=0
    AUTH[$i]=$("$A" --home "$(home "$i")" status --json | sed 's/.*"author":"\([0-9a-f]*\)".*/\1/')
done
SITES=(hub-north clinic-2 shelter-3 school-4)
ITEMS=(water-5l ors-sachet tarp-4x6 rice-25kg)
for s in "${SITES[@]}"; do
    "$A" --home "$(home 0)" site add "$s" --name "Site $s" >/dev/null && SEQ[0]=$((SEQ[0] + 1))
done
for it in "${ITEMS[@]}"; do
    "$A" --home "$(home 0)" item add "$it" --name "Item $it" --unit piece >/dev/null &&
        SEQ[0]=$((SEQ[0] + 1))
done
check "n0 defined ${#SITES[@]} sites and ${#ITEMS[@]} items" test "${SEQ[0]}" = 8

# ---- daemons -------------------------------------------------------------------------------
declare -A PID INC HWM
KILLS=0
RESTARTS=0
CRASHES=0
for i in $(seq 0 $((N - 1))); do PID[$i]=0; INC[$i]=0; HWM[$i]=0; done
hwm_kb() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null || true; }
note_hwm() { # note_hwm I: keeps the largest VmHWM seen of node I's daemons
    local h
    h=$(hwm_kb "${PID[$1]}")
    if [ -n "$h" ] && [ "$h" -gt "${HWM[$1]}" ]; then HWM[$1]=$h; fi
}
start_daemon() { # start_daemon I: a new incarnation, log in $T/nI.K.log (no wait)
    local i=$1 j args
    INC[$i]=$((INC[$i] + 1))
    args=(--listen "$(addr_of "$i")" --no-discovery)
    for j in $(peers_of "$i"); do args+=(--peer "$(addr_of "$j")"); done
    # not through a shell function: $! must be the daemon itself (ip netns exec execs it)
    if [ "$USE_NS" = 1 ]; then
        ip netns exec "$NSP$i" "$A" --home "$(home "$i")" run "${args[@]}" >"$T/n$i.${INC[$i]}.log" 2>&1 &
    else
        "$A" --home "$(home "$i")" run "${args[@]}" >"$T/n$i.${INC[$i]}.log" 2>&1 &
    fi
    PID[$i]=$!
}
log_of() { echo "$T/n$1.${INC[$1]}.log"; }
kill_daemon() { # kill_daemon I: SIGKILL
    local i=$1
    note_hwm "$i"
    kill -9 "${PID[$i]}" 2>/dev/null || true
    wait "${PID[$i]}" 2>/dev/null || true
    PID[$i]=0
    KILLS=$((KILLS + 1))
}
# reap_dead: a daemon that ended without being killed is a failure (a sanitizer abort, a
# crash, a fatal error): reported with its log, then counted as dead (restarted later).
reap_dead() {
    local i rc
    for i in $(seq 0 $((N - 1))); do
        [ "${PID[$i]}" != 0 ] || continue
        kill -0 "${PID[$i]}" 2>/dev/null && continue
        rc=0
        wait "${PID[$i]}" 2>/dev/null || rc=$?
        CRASHES=$((CRASHES + 1))
        not_ok "n$i's daemon (incarnation ${INC[$i]}) ended by itself with status $rc"
        tail -n 30 "$(log_of "$i")" | sed 's/^/    /'
        PID[$i]=0
    done
}
running_all() { # every daemon logged that it runs
    local i
    for i in $(seq 0 $((N - 1))); do grep -q "running;" "$(log_of "$i")" || return 1; done
}

# ---- links ---------------------------------------------------------------------------------
declare -A CUT
CUTS=0
cut_link() { # cut_link I J: no route between I and J, either way
    ip -n "$NSP$1" route add unreachable "$(ip_of "$2")/32"
    ip -n "$NSP$2" route add unreachable "$(ip_of "$1")/32"
    CUT["$1 $2"]=1
    CUTS=$((CUTS + 1))
}
heal_link() {
    ip -n "$NSP$1" route del unreachable "$(ip_of "$2")/32"
    ip -n "$NSP$2" route del unreachable "$(ip_of "$1")/32"
    unset "CUT[$1 $2]"
}
# power_off I: node I as in a power cut: its link goes down, its daemon is SIGKILLed and
# its kernel's sockets are destroyed (ss -K) before the link comes back, so no FIN or RST
# ever tells its peers: they hold half-open connections until they notice. Returns 1 when
# sockets were left (no ss -K in this kernel): then it was a plain SIGKILL.
POWER_OFFS=0
power_off() {
    local i=$1 left
    ip -n "$NSP$i" link set eth0 down
    kill_daemon "$i"
    ip netns exec "$NSP$i" ss -K -t state all >/dev/null 2>&1 || true
    left=$(ip netns exec "$NSP$i" ss -t -n state connected exclude time-wait 2>/dev/null | tail -n +2 | wc -l)
    ip -n "$NSP$i" link set eth0 up
    POWER_OFFS=$((POWER_OFFS + 1))
    [ "$left" = 0 ]
}

# ---- writes --------------------------------------------------------------------------------
ALL_NEEDS=()
WRITES=0
CLI_KILLS=0
WRITES_DEAD=0 # acknowledged while the node's daemon was not running
REFUSED=0
declare -A OPS
# pick WORD...: one of them at random, in $P (no subshell: a subshell would reseed RANDOM
# and the run would no longer replay from its seed)
pick() {
    local a=("$@")
    P=${a[RANDOM % ${#a[@]}]}
}
# write_random I [KILL_MS]: one random relief write through the CLI on node I. Exit 0
# counts as an acknowledged entry of node I's author. The only refusal expected is a need
# this node does not know yet (written elsewhere, not synced here yet); any other failure
# is one. With KILL_MS the CLI is SIGKILLed after that many ms if it has not ended: its
# entry may or may not be stored (counted in MAYBE).
write_random() {
    local i=$1 kill_ms=${2:-0} r kind out rc=0 id site item
    local cmd=("$A" --home "$(home "$i")")
    pick "${SITES[@]}"
    site=$P
    pick "${ITEMS[@]}"
    item=$P
    r=$((RANDOM % 100))
    if [ $r -lt 25 ] || [ ${#ALL_NEEDS[@]} -eq 0 ]; then
        kind=need.add
        pick critical high normal low
        cmd+=(need add --site "$site" --item "$item" --qty $((RANDOM % 500 + 1)) --priority "$P" --json)
    elif [ $r -lt 45 ]; then
        kind=need.other
        pick "${ALL_NEEDS[@]}"
        id=$P
        case $((RANDOM % 6)) in
        0) cmd+=(need update "${id:0:8}" --qty $((RANDOM % 500 + 1))) ;;
        1)
            pick fulfilled cancelled
            cmd+=(need close "$id" --reason "$P")
            ;;
        *) cmd+=(need deliver "$id" --qty $((RANDOM % 50 + 1))) ;;
        esac
    else
        kind=stock
        case $((RANDOM % 8)) in
        0 | 1 | 2) cmd+=(stock receive --site "$site" --item "$item" --qty $((RANDOM % 200 + 1))) ;;
        3 | 4) cmd+=(stock issue --site "$site" --item "$item" --qty $((RANDOM % 100 + 1)) --force) ;;
        5)
            pick found lost damaged expired
            cmd+=(stock adjust --site "$site" --item "$item" --qty $((RANDOM % 20 + 1)) --reason "$P" --force)
            ;;
        *) cmd+=(stock count --site "$site" --item "$item" --qty $((RANDOM % 300))) ;;
        esac
    fi
    if [ "$kill_ms" -gt 0 ]; then
        out=$(timeout -s KILL "$(printf '0.%03d' "$kill_ms")" "${cmd[@]}" 2>"$T/w.err") || rc=$?
    else
        out=$("${cmd[@]}" 2>"$T/w.err") || rc=$?
    fi
    cat "$T/w.err" >>"$T/cli.log"
    if [ "$kill_ms" -gt 0 ] && [ $rc -eq 137 ]; then
        MAYBE[$i]=$((MAYBE[$i] + 1))
        CLI_KILLS=$((CLI_KILLS + 1))
    elif [ $rc -eq 0 ]; then
        SEQ[$i]=$((SEQ[$i] + 1))
        WRITES=$((WRITES + 1))
        [ "${PID[$i]}" != 0 ] || WRITES_DEAD=$((WRITES_DEAD + 1))
        OPS[$kind]=$((${OPS[$kind]:-0} + 1))
        if [ $kind = need.add ]; then
            id=$(echo "$out" | sed -n 's/.*"id":"\([0-9a-f]\{32\}\)".*/\1/p')
            if [ ${#id} = 32 ]; then ALL_NEEDS+=("$id"); else not_ok "need add on n$i printed no id: $out"; fi
        fi
    elif [ $kind = need.other ] && grep -q "no need '" "$T/w.err"; then
        REFUSED=$((REFUSED + 1))
    else
        not_ok "write on n$i failed (exit $rc): ${cmd[*]:3}"
        sed 's/^/    /' "$T/w.err"
    fi
}

# ---- start, and a first convergence on n0's sites and items ----------------------------------
for i in $(seq 0 $((N - 1))); do start_daemon "$i"; done
check "all $N daemons run" wait_for 30 running_all
all_have() { # all_have N: every node's store holds exactly N entries
    local i
    for i in $(seq 0 $((N - 1))); do entries_eq "$(home "$i")" "$1" || return 1; done
}
counts() {
    local i
    for i in $(seq 0 $((N - 1))); do printf 'n%s=%s ' "$i" "$(entries "$(home "$i")")"; done
}
if wait_for 60 all_have 8; then ok "every node has n0's sites and items"; else
    not_ok "n0's sites and items did not reach every node in 60 s: $(counts)"
    for i in $(seq 0 $((N - 1))); do tail -n 8 "$(log_of "$i")" | sed "s/^/    n$i: /"; done
    finish
    exit 1
fi

# ---- chaos ---------------------------------------------------------------------------------
alive=() dead=() uncut=() cutl=()
refresh_sets() {
    local i e
    alive=() dead=() uncut=() cutl=()
    for i in $(seq 0 $((N - 1))); do
        if [ "${PID[$i]}" != 0 ]; then alive+=("$i"); else dead+=("$i"); fi
    done
    for e in "${EDGES[@]}"; do
        if [ -n "${CUT[$e]:-}" ]; then cutl+=("$e"); else uncut+=("$e"); fi
    done
}
t_chaos=$(now_ms)
end=$((t_chaos + SECS * 1000))
while [ "$(now_ms)" -lt $end ]; do
    reap_dead
    refresh_sets
    r=$((RANDOM % 100))
    # 76% writes, 2% writes whose CLI is SIGKILLed after 1-80 ms, 4% daemon SIGKILL, 8%
    # restart (so most daemons run most of the time, each killed every few seconds), 5%
    # cut, 5% heal
    if [ $r -lt 76 ]; then
        write_random $((RANDOM % N))
    elif [ $r -lt 78 ]; then
        write_random $((RANDOM % N)) $((RANDOM % 80 + 1))
    elif [ $r -lt 82 ]; then
        # keep at least two daemons up, so the mesh mostly works while it is shaken
        if [ ${#alive[@]} -gt 2 ]; then
            pick "${alive[@]}"
            if [ "$USE_NS" = 1 ] && [ $((RANDOM % 2)) = 0 ]; then
                power_off "$P" || true
            else
                kill_daemon "$P"
            fi
        fi
    elif [ $r -lt 90 ]; then
        if [ ${#dead[@]} -gt 0 ]; then
            pick "${dead[@]}"
            start_daemon "$P"
            RESTARTS=$((RESTARTS + 1))
        fi
    elif [ $r -lt 95 ]; then
        if [ "$USE_NS" = 1 ] && [ ${#uncut[@]} -gt 0 ]; then
            pick "${uncut[@]}"
            cut_link $P
        fi
    elif [ ${#cutl[@]} -gt 0 ]; then
        pick "${cutl[@]}"
        heal_link $P
    fi
done
t_calm=$(now_ms)
reap_dead
# What each writer's own store holds of its author (the CLI writes there directly): the
# acknowledged writes, plus any of the SIGKILLed ones that got stored. TOTAL: all of them.
own_head() {
    "$A" --home "$(home "$1")" log --author "${AUTH[$1]}" --json 2>/dev/null | tail -n 1 |
        sed -n 's/^{"author":"[0-9a-f]*","seq":\([0-9]*\),.*/\1/p'
}
declare -A OWN
TOTAL=0
ACKED=0
bad=""
for i in $(seq 0 $((N - 1))); do
    ACKED=$((ACKED + SEQ[$i]))
    OWN[$i]=$(own_head "$i")
    OWN[$i]=${OWN[$i]:-0}
    TOTAL=$((TOTAL + OWN[$i]))
    [ "${OWN[$i]}" -ge "${SEQ[$i]}" ] && [ "${OWN[$i]}" -le $((SEQ[$i] + MAYBE[$i])) ] ||
        bad="$bad n$i: ${SEQ[$i]} acknowledged + ${MAYBE[$i]} cut short, own head ${OWN[$i]};"
done
echo "# chaos: $((t_calm - t_chaos)) ms; $WRITES writes acknowledged (${OPS[need.add]:-0} need add," \
    "${OPS[need.other]:-0} need update/deliver/close, ${OPS[stock]:-0} stock; $WRITES_DEAD while" \
    "the node's daemon was down), $REFUSED refused (need not known there yet), $CLI_KILLS CLI" \
    "writes SIGKILLed ($((TOTAL - ACKED)) of them stored); $KILLS daemon SIGKILLs ($POWER_OFFS" \
    "as power cuts)," \
    "$RESTARTS restarts, $CUTS link cuts; $TOTAL entries in all"
if [ -z "$bad" ]; then ok "each writer's store holds its acknowledged writes, and no refused one"; else
    not_ok "a writer's own head is off:$bad"
fi
idle=""
for i in $(seq 1 $((N - 1))); do [ "${SEQ[$i]}" -gt 0 ] || idle="$idle n$i"; done
check "the chaos wrote on every node${idle:+ (not on$idle)}" test -z "$idle"
check "daemons were killed" test "$KILLS" -gt 0

# ---- calm: heal every link, start every dead daemon, wait ---------------------------------
refresh_sets
for e in "${cutl[@]}"; do heal_link $e; done
for i in "${dead[@]}"; do start_daemon "$i"; done
check "all daemons run again" wait_for 30 running_all
if wait_for "$CONVERGE_SECS" all_have "$TOTAL"; then
    ok "every node holds all $TOTAL entries written"
    echo "# convergence: $(($(now_ms) - t_calm)) ms after the writes stopped"
else
    not_ok "not every node holds $TOTAL entries after $CONVERGE_SECS s: $(counts)"
    for i in $(seq 0 $((N - 1))); do
        echo "    --- n$i peers"
        "$A" --home "$(home "$i")" peers 2>&1 | sed 's/^/    /'
        tail -n 12 "$(log_of "$i")" | sed "s/^/    n$i: /"
    done
fi

# ---- a node comes back after a power cut ---------------------------------------------------
# n0 and the two nodes that dial it restart cleanly, so that n0 is connected to its four
# neighbours (n1 and n2, which it dials; n(N-1) and n(N-2), which dial it) without waiting
# out a backoff. Each neighbour writes an entry, which it sends n0; once the mesh is quiet
# n0 loses power, so its neighbours' next PING, which would show them their connection is
# dead, is about 15 s away (PROTOCOL.md 8.2). n0 restarts and writes one entry: it must
# reach every node within 8 s, so n1 and n2 must take n0's new connections at once instead
# of keeping the dead ones (they used to refuse them as duplicates, one a second, until
# their PING failed).
write_one() { # write_one I: one stock receive on node I, acknowledged
    if "$A" --home "$(home "$1")" stock receive --site hub-north --item water-5l --qty 1 \
        >/dev/null 2>>"$T/cli.log"; then
        SEQ[$1]=$((SEQ[$1] + 1))
        OWN[$1]=$((OWN[$1] + 1))
        TOTAL=$((TOTAL + 1))
    else
        not_ok "a stock receive on n$1 failed"
    fi
}
restart_clean() { # restart_clean I: SIGTERM (it must stop cleanly), then start again
    local rc=0
    note_hwm "$1"
    kill -TERM "${PID[$1]}" 2>/dev/null || true
    wait "${PID[$1]}" || rc=$?
    if [ $rc -ne 0 ] || ! grep -q "stopped" "$(log_of "$1")"; then
        not_ok "n$1 stops cleanly on SIGTERM (exit $rc)"
        tail -n 20 "$(log_of "$1")" | sed 's/^/    /'
    fi
    start_daemon "$1"
}
NEIGH="1 2 $((N - 1)) $((N - 2))"
# linked0: n0 has an established connection with each of its four neighbours
linked0() {
    local j ips
    ips=" $(ip netns exec "${NSP}0" ss -tnH state established |
        awk '{ sub(":[0-9]+$", "", $4); print $4 }' | tr '\n' ' ') "
    for j in $NEIGH; do case $ips in *" $(ip_of "$j") "*) ;; *) return 1 ;; esac; done
}
# quiet: every node holds every entry and no TCP byte waits for an acknowledgement in any
# namespace (else a retransmission after the power cut would draw a RST from n0's kernel
# and show the dead connection at once, hiding what is checked)
quiet() {
    local j
    all_have "$TOTAL" || return 1
    for j in $(seq 0 $((N - 1))); do
        ip netns exec "$NSP$j" ss -tnH state established | awk '$2 != 0 { b = 1 } END { exit b }' ||
            return 1
    done
}
if [ "$USE_NS" = 1 ]; then
    for j in 0 $((N - 1)) $((N - 2)); do restart_clean "$j"; done
    check "n0 is connected to its four neighbours" wait_for 30 linked0
    for j in $NEIGH; do write_one "$j"; done
    check "the neighbours' entries reach every node, and the mesh is quiet" wait_for 20 quiet
    if power_off 0; then
        start_daemon 0
        write_one 0
        t0=$(now_ms)
        if wait_for 8 all_have "$TOTAL"; then
            ok "after a power cut, n0's first entry reached every node in $(($(now_ms) - t0)) ms"
        else
            not_ok "after a power cut, n0's first entry did not reach every node in 8 s: $(counts)"
            for j in 0 $NEIGH; do tail -n 6 "$(log_of "$j")" | sed "s/^/    n$j: /"; done
        fi
    else
        start_daemon 0
        write_one 0
        echo "# skip the power-cut check: this kernel cannot destroy sockets (ss -K)"
    fi
    check "all entries reach every node" wait_for "$CONVERGE_SECS" all_have "$TOTAL"
    echo "# duplicate connections resolved over the whole run:" \
        "$(cat "$T"/n*.log | grep -c "already connected; keeping one connection" || true)"
fi

# heads NODE: "author seq hash count" per author, from the node's whole log
heads() {
    "$A" --home "$(home "$1")" log --json |
        sed -n 's/^{"author":"\([0-9a-f]*\)","seq":\([0-9]*\),.*"hash":"\([0-9a-f]\{64\}\)","bytes".*/\1 \2 \3/p' |
        awk '{ h[$1] = $2 " " $3; c[$1]++ } END { for (a in h) print a, h[a], c[a] }' | sort
}
heads 0 >"$T/heads.0"
bad=""
for i in $(seq 0 $((N - 1))); do
    want=${OWN[$i]}
    got=$(awk -v a="${AUTH[$i]}" '$1 == a { print $2 "/" $4 }' "$T/heads.0")
    [ "$got" = "$want/$want" ] || bad="$bad n$i: its own head $want, n0 holds seq/count ${got:-none};"
done
if [ -z "$bad" ]; then ok "n0 holds each author's entries up to its writer's head, no gaps"; else
    not_ok "n0's heads differ from the writers' heads:$bad"
fi
check "n0 knows exactly the $N authors" test "$(wc -l <"$T/heads.0")" = "$N"
same=1
for i in $(seq 1 $((N - 1))); do
    heads "$i" >"$T/heads.$i"
    if ! cmp -s "$T/heads.0" "$T/heads.$i"; then
        same=0
        echo "    n$i's heads differ from n0's:"
        diff "$T/heads.0" "$T/heads.$i" | sed 's/^/    /' | head -20
    fi
done
check "every node holds the same head (seq and hash) of every author" test $same = 1
fps=$(for i in $(seq 0 $((N - 1))); do
    "$A" --home "$(home "$i")" status --json | sed 's/.*"view_fingerprint":"\([0-9a-f]*\)".*/\1/'
done | sort -u)
check "view fingerprints are equal on all $N nodes ($(echo "$fps" | head -1))" \
    test "$(echo "$fps" | wc -l)" = 1
printf '%s\n' "${ALL_NEEDS[@]}" | sort -u >"$T/needs.want"
missing=""
for i in $(seq 0 $((N - 1))); do
    "$A" --home "$(home "$i")" need list --status all --json | grep -o '"id":"[0-9a-f]*"' |
        sed 's/"id":"\(.*\)"/\1/' | sort -u >"$T/needs.$i"
    m=$(comm -23 "$T/needs.want" "$T/needs.$i" | wc -l)
    [ "$m" = 0 ] || missing="$missing n$i lacks $m;"
done
if [ -z "$missing" ]; then ok "every node lists all ${#ALL_NEEDS[@]} needs opened"; else
    not_ok "needs missing:$missing"
fi

# ---- stop, verify, logs, memory --------------------------------------------------------------
reap_dead
for i in $(seq 0 $((N - 1))); do
    [ "${PID[$i]}" != 0 ] || continue
    note_hwm "$i"
    rc=0
    kill -TERM "${PID[$i]}" 2>/dev/null || true
    wait "${PID[$i]}" || rc=$?
    PID[$i]=0
    if [ $rc -ne 0 ] || ! grep -q "stopped" "$(log_of "$i")"; then
        not_ok "n$i stops cleanly on SIGTERM (exit $rc)"
        tail -n 20 "$(log_of "$i")" | sed 's/^/    /'
    fi
done
ok "the daemons were stopped"
vbad=""
for i in $(seq 0 $((N - 1))); do
    "$A" --home "$(home "$i")" verify >"$T/verify.$i" 2>&1 || vbad="$vbad n$i"
done
if [ -z "$vbad" ]; then ok "verify is clean on all $N nodes"; else
    not_ok "verify fails on:$vbad"
    for i in $vbad; do sed "s/^/    $i: /" "$T/verify.${i#n}" | head -10; done
fi
SAN='ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|SUMMARY: .*Sanitizer'
if grep -El "$SAN" "$T"/n*.log "$T/cli.log" >"$T/san.files" 2>/dev/null; then
    not_ok "sanitizer reports in: $(xargs -n1 basename <"$T/san.files" | tr '\n' ' ')"
    grep -Eh -A12 "$SAN" $(cat "$T/san.files") | head -60 | sed 's/^/    /'
else
    ok "no sanitizer report in $(ls "$T"/n*.log | wc -l) daemon logs nor the CLI output"
fi
check "no daemon ended by itself" test "$CRASHES" = 0
rss_line="" rss_bad=""
for i in $(seq 0 $((N - 1))); do
    mb=$(((HWM[$i] + 1023) / 1024))
    rss_line="$rss_line n$i=${mb}MB"
    [ "${HWM[$i]}" -gt 0 ] && [ "$mb" -le "$RSS_MAX_MB" ] || rss_bad="$rss_bad n$i=${mb}MB"
done
echo "# peak RSS (VmHWM, largest incarnation):$rss_line"
if [ -z "$rss_bad" ]; then ok "every daemon's peak RSS is at most $RSS_MAX_MB MB"; else
    not_ok "peak RSS above $RSS_MAX_MB MB (or unknown):$rss_bad"
fi
echo "# soak: $(($(now_ms) - T0)) ms in all; seed $SEED"
finish
