#!/usr/bin/env bash
# make_run.sh: what `make run` does after building (tools/run-node.sh, run here directly so
# nothing is rebuilt), with a temp HOME: `aidmesh` is linked into ~/.local/bin and the line
# to add to PATH is printed when that folder is not on PATH (and not when it is); a file
# there that is not our link is never replaced; the options (make run ARGS="...") reach
# `aidmesh run`; the first screen says where the node listens, whether discovery is on, the
# dashboard's address, the node's name and how to rename it; the join hint names --name.
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
RUN=$SRC/tools/run-node.sh
BIN=$(readlink -f "$AIDMESH")
export HOME=$T/home
mkdir -p "$HOME"
unset AIDMESH_HOME AIDMESH_BIN_DIR
LINK=$HOME/.local/bin/aidmesh
NODE_HOME=$HOME/.local/share/aidmesh
NAME=$(hostname)

# the PATH without ~/.local/bin and /usr/local/bin, so that the link goes into the temp
# ~/.local/bin for root too (root's default is /usr/local/bin when that is on PATH)
NOPATH=
IFS=: read -ra parts <<<"$PATH"
for p in "${parts[@]}"; do
    case $p in
    /usr/local/bin | /usr/local/bin/ | */.local/bin | */.local/bin/) ;;
    *) NOPATH=${NOPATH:+$NOPATH:}$p ;;
    esac
done

# start_run LOG PATH ARGS...: run-node.sh in the background (it becomes the node); pid in $node
start_run() {
    local log=$1 path=$2
    shift 2
    PATH=$path bash "$RUN" "$AIDMESH" "$@" >"$log" 2>&1 &
    node=$!
}
alive() { kill -0 "$1" 2>/dev/null; }
gone() { ! alive "$1"; }
# stop PID: SIGTERM, then wait for it with a deadline (SIGKILL after it)
stop() {
    kill -TERM "$1" 2>/dev/null || true
    if ! wait_for 20 gone "$1"; then
        not_ok "the node stops within 20 s of SIGTERM"
        kill -KILL "$1" 2>/dev/null || true
    fi
    wait "$1" 2>/dev/null || true
}
tcp_open() { bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
has() { grep -qF -- "$2" "$1"; }

# ---- 1: first start, ~/.local/bin not on PATH ----
P=$(pick_port)
PH=$((P + 1))
start_run "$T/run1.log" "$NOPATH" --listen 127.0.0.1:$P --no-discovery --http 127.0.0.1:$PH
check "the node starts" wait_for 60 grep -q "running; stop with Ctrl-C" "$T/run1.log"
check "aidmesh is linked into ~/.local/bin" test -L "$LINK"
check "the link points at the built binary" test "$(readlink "$LINK")" = "$BIN"
check "the first screen says where the link is" has "$T/run1.log" "\`aidmesh\` is $LINK"
check "it says the folder is not on PATH" has "$T/run1.log" "$HOME/.local/bin is not on your PATH"
check "with the line for ~/.profile" has "$T/run1.log" "Add this line to ~/.profile"
check "which is exactly this" has "$T/run1.log" '    export PATH="$HOME/.local/bin:$PATH"'
check "it set up a node on first start" has "$T/run1.log" "== First start"
check "named after the hostname" has "$T/run1.log" "  name:        $NAME"
check "how to rename it" has "$T/run1.log" \
    "  rename it:   change the line \`name = $NAME\` in $NODE_HOME/config,"
check "the listen address passed through" has "$T/run1.log" "  listens on:  TCP 127.0.0.1:$P"
check "discovery off (--no-discovery)" has "$T/run1.log" "  discovery:   off"
check "the dashboard's address" has "$T/run1.log" "  dashboard:   http://127.0.0.1:$PH/"
check "the join hint names --name" has "$T/run1.log" \
    " aidmesh init --join CODE --name THEIR-NAME, then aidmesh run)"
check "init's own hint names --name too" has "$T/run1.log" \
    "they join with \`aidmesh init --join CODE --name THEIR-NAME\`"
check "the node logs where it listens" has "$T/run1.log" "listening on 127.0.0.1:$P"
check "and that discovery is off" has "$T/run1.log" "discovery off (--no-discovery)"
check "and the dashboard" has "$T/run1.log" "dashboard at http://127.0.0.1:$PH/"
check "the node listens on the port of ARGS" wait_for 10 tcp_open $P
check "the dashboard listens too" wait_for 10 tcp_open $PH
expect_out "with the line typed, \`aidmesh\` reaches the running node" '"running":true' \
    env PATH="$HOME/.local/bin:$NOPATH" aidmesh peers --json
stop $node
refute "the node has stopped" alive $node

# the rename the first screen describes
sed -i "s/^name = .*/name = clinic-7/" "$NODE_HOME/config"
expect_out "a changed name line renames the node" "^aidmesh node clinic-7$" \
    env PATH="$HOME/.local/bin:$NOPATH" aidmesh status

# ---- 2: ~/.local/bin on PATH: no advice; discovery on (loopback only) ----
P2=$((P + 2))
start_run "$T/run2.log" "$HOME/.local/bin:$NOPATH" --listen=127.0.0.1:$P2 --discovery-loopback \
    --discovery-port $((P + 3))
check "the node starts again" wait_for 60 grep -q "running; stop with Ctrl-C" "$T/run2.log"
check "the link is still ours" test "$(readlink "$LINK")" = "$BIN"
refute "no PATH advice when the folder is on PATH" has "$T/run2.log" "not on your PATH"
refute "no set-up the second time" has "$T/run2.log" "== First start"
check "the new name" has "$T/run2.log" "  name:        clinic-7"
check "--listen=ADDR passes through" has "$T/run2.log" "  listens on:  TCP 127.0.0.1:$P2"
check "discovery on" has "$T/run2.log" "  discovery:   on"
check "the node logs discovery on" has "$T/run2.log" "discovery on: beacons on UDP port $((P + 3))"
check "dashboard off, and how to turn it on" has "$T/run2.log" 'make run ARGS="--http 8080"'
check "the node listens on --listen=" wait_for 10 tcp_open $P2
stop $node

# ---- 3: a file there that is not our link is left alone ----
# run_quick LOG: run-node.sh with an option `aidmesh run` refuses, so it ends at once
run_quick() {
    local rc=0
    PATH="$HOME/.local/bin:$NOPATH" timeout -s KILL 60 bash "$RUN" "$AIDMESH" --no-such-option \
        >"$1" 2>&1 || rc=$?
    echo $rc
}
rm "$LINK"
echo "not aidmesh" >"$LINK"
rc=$(run_quick "$T/run3.log")
check "an unknown option reaches aidmesh run (usage error 2, got $rc)" test "$rc" = 2
check "a plain file in the link's place is kept" test "$(cat "$LINK")" = "not aidmesh"
check "and named" has "$T/run3.log" "$LINK exists and is not a link made by \`make run\`"
rm "$LINK"
ln -s /bin/sh "$LINK"
run_quick "$T/run4.log" >/dev/null
check "a link to another program is kept" test "$(readlink "$LINK")" = /bin/sh
rm "$LINK"
ln -s "$T/gone/aidmesh" "$LINK"
run_quick "$T/run5.log" >/dev/null
check "a link of ours to a build that is gone is replaced" test "$(readlink "$LINK")" = "$BIN"

# ---- a second laptop joins: make run JOIN=CODE NAME=... ----
field() { "$AIDMESH" --home "$1" status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
code=$("$AIDMESH" --home "$NODE_HOME" invite)
J=$T/joiner
PATH="$HOME/.local/bin:$NOPATH" JOIN="$code" NAME=medic-1 timeout -s KILL 60 \
    bash "$RUN" "$AIDMESH" --home "$J" --no-such-option >"$T/join.log" 2>&1 || true
check "JOIN=CODE joins that network on first start" test "$(field "$J" network_id)" = "$(field "$NODE_HOME" network_id)"
check "NAME= names the node" test "$(field "$J" name)" = medic-1
check "and the screen says it joined" has "$T/join.log" "joining the network of the invite code"
check "the join hint names make run JOIN=" has "$T/join.log" "make run JOIN=CODE NAME=THEIR-NAME"

# ---- the Makefile passes ARGS on ----
if command -v make >/dev/null; then
    expect_out "make run ARGS=... reaches run-node.sh" \
        'tools/run-node.sh build-release/aidmesh --http 8080$' make -s -n --no-print-directory -C "$SRC" run \
        ARGS="--http 8080"
    expect_out "make run JOIN=... NAME=... reach run-node.sh" \
        'JOIN="am1-x" NAME="medic-1" bash tools/run-node.sh' make -s -n --no-print-directory -C "$SRC" run \
        JOIN=am1-x NAME=medic-1
fi

finish
