#!/usr/bin/env bash
# demo.sh: a guided demo of aidmesh on one machine, with no network beyond loopback.
#
# Three nodes (a hub, a clinic and a warehouse), each with its own home in a temporary
# folder, record needs and stock; the hub and the clinic sync over TCP (a one-shot sync,
# then live, both daemons running); a runner carries a USB stick from the warehouse to
# the clinic and back (a FAT32 image mounted with fusefat when that is possible here,
# else a plain folder). Every step prints what a person would type and what aidmesh
# answers. At the end the needs list, the stock table and the view fingerprints of the
# three nodes are compared.
#
# Exit status: 0 only if every node converged to the same records; 1 otherwise; 2 on a
# usage error. It never touches the default home (~/.local/share/aidmesh), binds only
# 127.0.0.1, waits with deadlines (no fixed sleeps for sync), and on every exit path
# stops the nodes it started, unmounts the stick and removes its temporary folder.
#
# Usage: tools/demo.sh [--stick auto|fat32|folder] [--keep] [PATH/TO/aidmesh]
#   (the binary also comes from $AIDMESH; `make demo` builds it and passes it)
set -euo pipefail

usage() {
    cat <<'EOF'
usage: tools/demo.sh [--stick auto|fat32|folder] [--keep] [PATH/TO/aidmesh]

Runs three aidmesh nodes (hub, clinic, warehouse) on this machine, on 127.0.0.1 only,
and walks through recording needs and stock, syncing over TCP and carrying a USB stick.
Exits 0 only if all three nodes end up with the same records.

  --stick auto    a FAT32 image mounted with fusefat when running as root with
                  mkfs.vfat, fusefat and /dev/fuse; else a folder (default)
  --stick fat32   insist on the FAT32 image (fails if it cannot be mounted)
  --stick folder  a plain folder stands in for the stick
  --keep          keep the temporary folder (homes, logs) and print where it is

The binary is PATH/TO/aidmesh, else $AIDMESH, else ./build-release/aidmesh.
EOF
}

STICK_MODE=auto
KEEP=0
BIN=${AIDMESH:-}
ARGS=("$@")
while [ $# -gt 0 ]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --stick)
            [ $# -ge 2 ] || { echo "demo.sh: --stick needs auto, fat32 or folder" >&2; exit 2; }
            STICK_MODE=$2
            shift 2
            ;;
        --keep) KEEP=1; shift ;;
        -*) echo "demo.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
        *) BIN=$1; shift ;;
    esac
done
case $STICK_MODE in
    auto | fat32 | folder) ;;
    *) echo "demo.sh: --stick takes auto, fat32 or folder, not '$STICK_MODE'" >&2; exit 2 ;;
esac
[ -n "$BIN" ] || BIN=build-release/aidmesh
if [ ! -x "$BIN" ]; then
    echo "demo.sh: no aidmesh binary at '$BIN'; build it with \`make release\` or run \`make demo\`" >&2
    exit 2
fi
AIDMESH=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# A FAT32 stick is mounted in a mount namespace of the demo's own. Otherwise a program that
# copies the mount table meanwhile (ip netns exec, unshare: tests running beside the demo)
# keeps the stick mounted after the demo unmounts it, and fusefat never finishes. The
# namespace also takes every mount with it when the demo ends, however it ends.
if [ "$STICK_MODE" != folder ] && [ "${AM_DEMO_MOUNT_NS:-}" != 1 ] && [ "$(id -u)" -eq 0 ] &&
    command -v unshare >/dev/null 2>&1 && unshare -m --propagation private true 2>/dev/null; then
    AM_DEMO_MOUNT_NS=1 exec unshare -m --propagation private bash "$0" "${ARGS[@]}"
fi

# ---- bookkeeping, cleanup ------------------------------------------------------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/aidmesh-demo-XXXXXX")
declare -A NODE_PID=() NODE_PORT=()
MOUNTS=()
FUSE_PIDS=()
T0=$(date +%s%N)

cleanup() {
    local rc=$? name pid m
    trap - EXIT INT TERM
    for name in "${!NODE_PID[@]}"; do
        pid=${NODE_PID[$name]}
        kill -TERM "$pid" 2>/dev/null || true
    done
    for name in "${!NODE_PID[@]}"; do
        pid=${NODE_PID[$name]}
        wait_pid_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for m in "${MOUNTS[@]}"; do
        # a fusefat that died leaves a mount that mountpoint(1) cannot stat: check the table
        if mountpoint -q "$m" 2>/dev/null || grep -qsF " $m " /proc/mounts; then
            fusermount -u "$m" 2>/dev/null || fusermount -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        fi
    done
    for pid in "${FUSE_PIDS[@]}"; do
        wait_pid_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "$KEEP" -eq 1 ]; then
        echo "(kept the demo folder: $T)"
    else
        cd / && rm -rf "$T"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# any command that stops the demo (set -e) says which one
set -E
trap 'echo "DEMO FAILED: line $LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_pid_gone PID SECONDS: true once the process has exited, false at the deadline
wait_pid_gone() {
    local pid=$1 end=$(($(now_ms) + $2 * 1000))
    while kill -0 "$pid" 2>/dev/null; do
        [ "$(now_ms)" -lt "$end" ] || return 1
        sleep 0.05
    done
}

# wait_until SECONDS command...: runs the command until it succeeds or the deadline passes
wait_until() {
    local end=$(($(now_ms) + $1 * 1000))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -lt "$end" ] || return 1
        sleep 0.05
    done
}

fail() {
    echo
    echo "DEMO FAILED: $*" >&2
    local f
    for f in "$T"/*.log; do
        [ -e "$f" ] || continue
        echo "--- last lines of $(basename "$f")" >&2
        tail -5 "$f" | sed 's/^/    /' >&2
    done
    exit 1
}

# ---- printing ------------------------------------------------------------------------------
STEP=0
step() {
    STEP=$((STEP + 1))
    echo
    echo "$STEP. $*"
}
say() { echo "   $*"; }

# shown ARGS...: the arguments as a person would type them
shown() {
    local a out=""
    for a in "$@"; do
        case $a in
            *[[:space:]\"\$\`\'\\]* | "") out+=" \"${a//\"/\\\"}\"" ;;
            *) out+=" $a" ;;
        esac
    done
    printf '%s' "${out# }"
}

# on NODE ARGS...: prints "[node] $ aidmesh ARGS" and runs it with that node's home,
# showing its output indented. The output stays in $T/out; returns its exit status.
on() {
    local node=$1 rc=0
    shift
    echo "   [$node] \$ aidmesh $(shown "$@")"
    "$AIDMESH" --home "$T/$node" "$@" >"$T/out" 2>&1 || rc=$?
    sed 's/^/       /' "$T/out"
    return "$rc"
}
# quiet NODE ARGS...: runs aidmesh for the checks, printing nothing
quiet() {
    local node=$1
    shift
    "$AIDMESH" --home "$T/$node" "$@"
}
# must NODE ARGS...: like `on`, and the demo fails if the command fails
must() { on "$@" || fail "\`aidmesh $(shown "${@:2}")\` failed on the $1"; }

# json_str KEY: the first string value of "KEY":"..." in stdin
json_str() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -1; }
fingerprint() { quiet "$1" status --json | json_str view_fingerprint; }
entries() { quiet "$1" status --json | sed -n 's/.*"entries":\([0-9]*\).*/\1/p'; }

# same_views A B: the two nodes show the same fingerprint, needs and stock
same_views() {
    [ "$(fingerprint "$1")" = "$(fingerprint "$2")" ] &&
        [ "$(quiet "$1" need list --status all --json)" = "$(quiet "$2" need list --status all --json)" ] &&
        [ "$(quiet "$1" stock show --json)" = "$(quiet "$2" stock show --json)" ]
}

# test_pause: for tests/integration/demo.sh only: with AM_DEMO_PAUSE=1, wait here (at most
# 60 s) while three nodes run and the stick is plugged in, so a test can stop the demo
# with SIGTERM and check that it cleans up
test_pause() {
    [ "${AM_DEMO_PAUSE:-0}" = 1 ] || return 0
    say "(paused for a test: nodes running, stick plugged in)"
    local end=$(($(now_ms) + 60000))
    while [ "$(now_ms)" -lt "$end" ]; do sleep 0.1; done
}

# ---- nodes ---------------------------------------------------------------------------------
# free_port: a TCP port on 127.0.0.1 that nothing answers on right now
free_port() {
    local i p
    for i in $(seq 50); do
        p=$((20000 + (RANDOM * 3 + i) % 40000))
        if ! (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# start_node NODE [run options...]: runs `aidmesh run` for the node on a free loopback
# port (another port if that one was taken meanwhile); sets NODE_PID and NODE_PORT.
start_node() {
    local node=$1 attempt port pid log=$T/$1.log
    shift
    for attempt in 1 2 3 4 5; do
        port=$(free_port) || fail "no free TCP port on 127.0.0.1"
        "$AIDMESH" --home "$T/$node" run --listen "127.0.0.1:$port" --no-discovery "$@" >"$log" 2>&1 &
        pid=$!
        if wait_until 30 grep -q "listening on" "$log"; then
            NODE_PID[$node]=$pid
            NODE_PORT[$node]=$port
            return 0
        fi
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        grep -q "address already in use" "$log" || break
        echo "   (port $port was taken meanwhile; trying another, attempt $attempt)"
    done
    fail "the $node node did not start (see its log above)"
}

stop_node() {
    local node=$1 pid=${NODE_PID[$1]}
    kill -TERM "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 10 || { kill -KILL "$pid" 2>/dev/null || true; }
    wait "$pid" 2>/dev/null || true
    unset "NODE_PID[$node]"
}

# show_log NODE PATTERN: the node's log lines matching PATTERN, as the operator sees them
show_log() {
    echo "   [$1] (log of \`aidmesh run\`)"
    grep -E -- "$2" "$T/$1.log" | sed 's/^/       /' || true
}

# ---- the stick -----------------------------------------------------------------------------
STICK_KIND=folder
STICK_IMG=$T/stick.img
if [ "$STICK_MODE" != folder ]; then
    why=""
    if [ "$(id -u)" -ne 0 ]; then
        why="not running as root"
    elif [ ! -c /dev/fuse ]; then
        why="no /dev/fuse here"
    else
        for tool in mkfs.vfat fusefat fusermount mountpoint; do
            command -v "$tool" >/dev/null 2>&1 || { why="$tool is not installed (apt-get install dosfstools fusefat)"; break; }
        done
    fi
    if [ -z "$why" ]; then
        truncate -s 64M "$STICK_IMG"
        if mkfs.vfat -F 32 -n AIDSTICK "$STICK_IMG" >/dev/null 2>&1; then
            STICK_KIND=fat32
        else
            why="mkfs.vfat could not make an image"
        fi
    fi
    if [ "$STICK_KIND" = folder ]; then
        [ "$STICK_MODE" = fat32 ] && { echo "demo.sh: --stick fat32: $why" >&2; exit 1; }
        STICK_WHY=$why
    fi
fi

# plug DIR: the stick appears at DIR (a FAT32 image is mounted there with fusefat; a
# folder stick is moved there, as the same stick is carried to another laptop)
STICK_AT=""
plug() {
    local dir=$1
    mkdir -p "$dir"
    if [ "$STICK_KIND" = fat32 ]; then
        fusefat -f -s -o rw+ "$STICK_IMG" "$dir" >"$T/fusefat.err" 2>&1 &
        FUSE_PIDS+=("$!")
        MOUNTS+=("$dir")
        wait_until 20 mountpoint -q "$dir" || {
            [ "$STICK_MODE" = auto ] || fail "fusefat could not mount the stick image"
            return 1
        }
    elif [ -n "$STICK_AT" ] && [ "$STICK_AT" != "$dir" ]; then
        rmdir "$dir"
        mv "$STICK_AT" "$dir"
    fi
    STICK_AT=$dir
}
# unplug: a FAT32 image is unmounted and fusefat waited for, so every byte is in the image
unplug() {
    local dir=$STICK_AT i pid
    [ "$STICK_KIND" = fat32 ] || return 0
    for i in $(seq 20); do
        fusermount -u "$dir" 2>/dev/null && break
        sleep 0.2
    done
    mountpoint -q "$dir" && fail "could not unmount the stick at $dir"
    for pid in "${FUSE_PIDS[@]}"; do
        wait_pid_gone "$pid" 30 || fail "fusefat did not finish writing the stick image within 30 s"
    done
    FUSE_PIDS=()
}

# probe that fusefat can really mount here (a container may refuse FUSE)
if [ "$STICK_KIND" = fat32 ]; then
    if plug "$T/probe"; then
        unplug
        STICK_AT=""
    else
        STICK_KIND=folder
        STICK_WHY="fusefat cannot mount here (FUSE not permitted?)"
        [ "$STICK_MODE" = fat32 ] && fail "--stick fat32: $STICK_WHY"
    fi
fi

# =============================================================================================
cd "$T"
echo "aidmesh guided demo: a hub, a clinic and a warehouse on this one machine."
echo "Each node has its own data home (here: --home hub, --home clinic, --home warehouse in"
echo "$T; on a real laptop you leave --home out). Nodes talk only over 127.0.0.1."
if [ "$STICK_KIND" = fat32 ]; then
    echo "The USB stick is a 64 MiB FAT32 image (mkfs.vfat), mounted with fusefat like a real stick."
else
    echo "The USB stick is a plain folder${STICK_WHY:+ (no FAT32 image: ${STICK_WHY})}."
fi

step "The hub coordinator sets up the first node: a new relief network"
must hub init --name hub-central
CODE=$(quiet hub invite)

step "The clinic and the warehouse join with the invite code (read out over the radio)"
must clinic init --name clinic-east --join "$CODE"
must warehouse init --name warehouse-south --join "$CODE"

step "The hub records its sites and the water kits it stocks"
must hub site add hub-central --name "Central hub" --kind hub
must hub site add riverside --name "Riverside shelter" --kind shelter
must hub item add water-kit --name "Family water kit" --unit kit --category wash
must hub stock receive --site hub-central --item water-kit --qty 150

step "The hub records a need: 200 water kits at Riverside shelter"
must hub need add --site riverside --item water-kit --qty 200 --priority critical --note "families at the school"
NEED_WATER=$(sed -n 's/^opened need \([0-9a-f]*\):.*/\1/p' "$T/out")
[ -n "$NEED_WATER" ] || fail "need add printed no need id"

step "The clinic, on its own laptop, records its site, ORS stock and a need"
must clinic site add clinic-east --name "East clinic" --kind clinic
must clinic item add ors --name "ORS sachet 20.5 g" --unit sachet --category health
must clinic stock count --site clinic-east --item ors --qty 40
must clinic need add --site clinic-east --item ors --qty 500 --priority high --by 2030-01-31

step "The warehouse, far away and off the network, records its tarpaulins and a need"
must warehouse site add warehouse-south --name "South warehouse" --kind warehouse
must warehouse item add tarp --name "Tarpaulin 4x6 m" --unit piece --category shelter
must warehouse stock receive --site warehouse-south --item tarp --qty 300 --lot T-0425
must warehouse need add --site warehouse-south --item tarp --qty 1000 --priority normal --note "for the next wave"

step "Each node sees only its own records so far"
must hub need list
must clinic need list
must warehouse need list

step "The hub and the warehouse start their nodes (\`aidmesh run\`)"
start_node hub
start_node warehouse
say "(in the demo each node listens on 127.0.0.1 only: hub on port ${NODE_PORT[hub]}, warehouse on ${NODE_PORT[warehouse]})"
show_log hub "listening on|running"

step "The clinic's laptop joins the hub's Wi-Fi and syncs once over TCP"
must clinic sync "127.0.0.1:${NODE_PORT[hub]}"
must clinic need list

step "The clinic starts its node too, with the hub as a peer: from now on they sync live"
start_node clinic --peer "127.0.0.1:${NODE_PORT[hub]}"
wait_until 30 grep -q "in sync" "$T/clinic.log" || fail "the clinic did not connect to the hub"
show_log clinic "listening on|in sync"
must clinic peers

step "At the hub, 150 water kits leave for Riverside shelter; the clinic sees it within seconds"
must hub stock issue --site hub-central --item water-kit --qty 150 --reason transfer-out
must hub need deliver "$NEED_WATER" --qty 150 --note "truck 3"
t1=$(now_ms)
wait_until 30 same_views hub clinic || fail "the hub's delivery did not reach the clinic within 30 s"
say "(reached the clinic in $(($(now_ms) - t1)) ms)"
must clinic need list

step "A runner plugs the USB stick into the warehouse laptop and syncs it"
if [ "$STICK_KIND" = fat32 ]; then
    say "(the stick is new: mkfs.vfat made it FAT32; aidmesh sets it up on the first sync)"
fi
plug "$T/usb-warehouse"
must warehouse stick sync usb-warehouse
unplug

step "The runner carries the stick to the clinic and syncs it there"
plug "$T/usb-clinic"
must clinic stick sync usb-clinic
test_pause
say "The clinic's node passes the warehouse's records on to the hub by itself:"
wait_until 30 same_views hub clinic || fail "the warehouse's records did not reach the hub within 30 s"
must hub need list
must clinic stick status usb-clinic
unplug

step "The runner brings the stick back to the warehouse"
plug "$T/usb-warehouse"
must warehouse stick sync usb-warehouse
unplug

step "Every node now shows the same needs list and stock table"
for node in hub clinic warehouse; do
    must "$node" need list --status all
done
for node in hub clinic warehouse; do
    must "$node" stock show
done

step "Checking: the same view fingerprint, needs and stock on all three nodes"
ok=1
wait_until 30 same_views hub clinic || ok=0
same_views hub warehouse || ok=0
for node in hub clinic warehouse; do
    printf '   %-10s %3s entries   view fingerprint %s\n' "$node" "$(entries "$node")" "$(fingerprint "$node")"
done
for node in hub clinic warehouse; do
    quiet "$node" verify >/dev/null 2>&1 || { ok=0; say "aidmesh verify found a problem on the $node"; }
done
[ "$ok" -eq 1 ] || fail "the nodes did not converge"
say "needs (need list --json), stock (stock show --json) and fingerprints are equal."
if [ "$STICK_KIND" = fat32 ] && command -v fsck.vfat >/dev/null 2>&1; then
    fsck.vfat -n "$STICK_IMG" >"$T/fsck.out" 2>&1 || { cat "$T/fsck.out"; fail "the stick's FAT32 file system has errors"; }
    say "The stick's FAT32 file system is clean (fsck.vfat -n)."
fi

step "The nodes stop (Ctrl-C or \`systemctl stop aidmesh\` on a real laptop)"
for node in clinic hub warehouse; do stop_node "$node"; done
show_log hub "stopped"
secs=$((($(date +%s%N) - T0) / 1000000))
echo
echo "CONVERGED: hub, clinic and warehouse hold the same records ($(printf '%d.%01d' $((secs / 1000)) $((secs % 1000 / 100))) s, stick: $STICK_KIND)."
