#!/usr/bin/env bash
# run-node.sh: what `make run` does after building: put `aidmesh` on the user's PATH (a
# link to the built binary, see link_binary), set up a node with defaults on first start
# (identity + a new network in the default home, named after this machine, printing its
# invite code), show its status and what it will listen on, then run it (LAN discovery,
# sync with peers) until Ctrl-C.
#
#   run-node.sh PATH/TO/aidmesh [OPTIONS OF `aidmesh run`]...
#
# Every option goes to `aidmesh run` (`make run ARGS="--http 8080"`); --home DIR (or
# $AIDMESH_HOME) also picks the home of the set-up commands. On first start, $JOIN (an
# invite code: `make run JOIN=CODE`) joins that network instead of creating one, and
# $NAME names the node (default: the hostname). The link goes into
# $AIDMESH_BIN_DIR when set, else ~/.local/bin when that is on $PATH, else /usr/local/bin
# for root when that is on $PATH (it is on root's PATH on Debian, ~/.local/bin is not), else
# ~/.local/bin (with the line to add to ~/.profile). A file there that is not such a link
# (an installed aidmesh) is never replaced.
set -euo pipefail
AIDMESH=${1:?usage: run-node.sh PATH/TO/aidmesh [OPTIONS OF aidmesh run]...}
shift

# ---- the options: all for `aidmesh run`; a few are read here for the first screen ----
HOMEOPT=()
LISTEN=""
HTTP=""
DISCOVERY=on
PEERS=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    a=${args[i]}
    v=${args[i + 1]-}
    case $a in
    --help | -h)
        exec "$AIDMESH" run --help
        ;;
    --home) HOMEOPT=(--home "$v") ;;
    --home=*) HOMEOPT=(--home "${a#*=}") ;;
    --listen) LISTEN=$v ;;
    --listen=*) LISTEN=${a#*=} ;;
    --http) HTTP=$v ;;
    --http=*) HTTP=${a#*=} ;;
    --peer) PEERS+=("$v") ;;
    --peer=*) PEERS+=("${a#*=}") ;;
    --no-discovery) DISCOVERY=off ;;
    esac
    case $a in # the options that take a value: skip it
    --home | --listen | --http | --peer | --watch-sticks | --view-cache | --discovery-port | \
        --beacon-interval-ms) i=$((i + 1)) ;;
    esac
done

# ---- `aidmesh` on the PATH: a link to this build ----
# our_link FILE: FILE is a link that this script made (to a file named aidmesh in a CMake
# build folder, or to one that is gone, e.g. after `make clean`)
our_link() {
    local to
    [ -L "$1" ] || return 1
    to=$(readlink "$1")
    [ "${to##*/}" = aidmesh ] || return 1
    [ ! -e "$to" ] || [ -f "${to%/*}/CMakeCache.txt" ]
}
on_path() { case ":$PATH:" in *":$1:"* | *":$1/:"*) return 0 ;; esac; return 1; }

link_binary() {
    local bin dir link line profile found
    bin=$(readlink -f "$AIDMESH")
    if [ -n "${AIDMESH_BIN_DIR-}" ]; then
        dir=$AIDMESH_BIN_DIR
    elif [ -n "${HOME-}" ] && on_path "$HOME/.local/bin"; then
        dir=$HOME/.local/bin
    elif [ "$(id -u)" = 0 ] && on_path /usr/local/bin; then
        dir=/usr/local/bin
    else
        dir=${HOME:?no \$HOME: set AIDMESH_BIN_DIR to where the aidmesh link should go}/.local/bin
    fi
    dir=${dir%/}
    link=$dir/aidmesh
    echo "== The aidmesh command =="
    if [ -e "$link" ] || [ -L "$link" ]; then
        if ! our_link "$link"; then
            echo "$link exists and is not a link made by \`make run\` (an installed aidmesh?):"
            echo "left as it is. This build is $bin"
            found=$(command -v aidmesh 2>/dev/null || true)
            [ -n "$found" ] && echo "\`aidmesh\` runs $found"
            echo
            return 0
        fi
    fi
    if ! mkdir -p "$dir" 2>/dev/null || ! ln -sfn "$bin" "$link" 2>/dev/null; then
        echo "cannot make the link $link (set AIDMESH_BIN_DIR to a folder of yours);"
        echo "run this build as $bin"
        echo
        return 0
    fi
    echo "\`aidmesh\` is $link, a link to $bin (this build)"
    if ! on_path "$dir"; then
        case $dir in
        "${HOME:-/nonexistent}"/*) line="export PATH=\"\$HOME/${dir#"$HOME"/}:\$PATH\"" ;;
        *) line="export PATH=\"$dir:\$PATH\"" ;;
        esac
        # shellcheck disable=SC2088 # the file's name as the user types it
        profile="~/.profile"
        # shellcheck disable=SC2088
        [ -f "${HOME-}/.bash_profile" ] && profile="~/.bash_profile"
        echo "$dir is not on your PATH. Add this line to $profile (new terminals after your"
        echo "next login find aidmesh), and type it in this terminal to use aidmesh now:"
        echo
        echo "    $line"
    else
        found=$(command -v aidmesh 2>/dev/null || true)
        if [ -n "$found" ] && [ "$found" != "$link" ]; then
            echo "but \`aidmesh\` runs $found, which comes first on your PATH"
        fi
    fi
    echo
}
link_binary

# ---- the node ----
if ! "$AIDMESH" "${HOMEOPT[@]}" status >/dev/null 2>&1; then
    if [ -n "${JOIN:-}" ]; then
        echo "== First start: setting up this node (joining the network of the invite code) =="
        "$AIDMESH" "${HOMEOPT[@]}" init --join "$JOIN" --name "${NAME:-$(hostname 2>/dev/null || echo node)}"
    else
        echo "== First start: setting up this node (a new relief network) =="
        "$AIDMESH" "${HOMEOPT[@]}" init --name "${NAME:-$(hostname 2>/dev/null || echo node)}"
    fi
    echo
fi
echo "== Node status =="
status=$("$AIDMESH" "${HOMEOPT[@]}" status)
echo "$status"
echo
home=$(sed -n 's/^  home: *//p' <<<"$status" | head -n 1)
config=$home/config
# the name as the node uses it (status leaves out one that is not printable text)
name=$(sed -n '1s/^aidmesh node //p' <<<"$status")
case $name in "(no name"*) name="" ;; esac
if [ -z "$LISTEN" ] && [ -f "$config" ]; then # as `aidmesh run`: the last listen line
    LISTEN=$(sed -n 's/^[[:blank:]]*listen[[:blank:]]*=[[:blank:]]*//p' "$config" | tail -n 1 |
        tr -d '[:cntrl:]')
fi
LISTEN=${LISTEN%"${LISTEN##*[![:blank:]]}"}

echo "== This node =="
if [ -n "$LISTEN" ]; then
    echo "  listens on:  TCP $LISTEN (other nodes connect here)"
else
    echo "  listens on:  TCP port 47470 on every address of this machine ([::]:47470)"
fi
if [ "$DISCOVERY" = on ]; then
    echo "  discovery:   on (finds the nodes of its network on every local network; UDP 47471)"
else
    echo "  discovery:   off (--no-discovery): it only dials its static peers"
fi
for p in ${PEERS[@]+"${PEERS[@]}"}; do
    echo "  peer:        $p (dialled)"
done
if [ -n "$HTTP" ]; then
    case $HTTP in
    *:*) echo "  dashboard:   http://$HTTP/" ;;
    *) echo "  dashboard:   http://127.0.0.1:$HTTP/ (this machine only)" ;;
    esac
else
    echo "  dashboard:   off (make run ARGS=\"--http 8080\" serves it at http://127.0.0.1:8080/)"
fi
if [ -n "$name" ]; then
    echo "  name:        $name"
    echo "  rename it:   change the line \`name = $name\` in $config,"
    echo "               then start the node again (Ctrl-C, then \`make run\`)"
else
    echo "  name:        none; give it one with a line \`name = LABEL\` in $config,"
    echo "               then start the node again (Ctrl-C, then \`make run\`)"
fi
echo "  options:     make run ARGS=\"...\" passes them to \`aidmesh run\` (aidmesh run --help)"
echo
echo "Invite code of this network: $("$AIDMESH" "${HOMEOPT[@]}" invite)"
echo "(other laptops join with: make run JOIN=CODE NAME=THEIR-NAME, or"
echo " aidmesh init --join CODE --name THEIR-NAME, then aidmesh run)"
echo
if [ "$DISCOVERY" = on ]; then
    echo "== Running the node: it finds the other nodes of its network on this LAN =="
else
    echo "== Running the node =="
fi
exec "$AIDMESH" run "$@"
