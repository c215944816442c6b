#!/usr/bin/env bash
# run-node.sh: what `make run` does after building: set up a node with defaults on first
# start (identity + a new network in the default home, printing its invite code), show
# its status, then run it (LAN discovery, sync with peers) until Ctrl-C.
# Pass --home DIR (or set AIDMESH_HOME) to use another home.
set -euo pipefail
AIDMESH=${1:?usage: run-node.sh PATH/TO/aidmesh [--home DIR]}
shift
if ! "$AIDMESH" "$@" status >/dev/null 2>&1; then
    echo "== First start: setting up this node (a new relief network) =="
    "$AIDMESH" "$@" init --name "$(hostname 2>/dev/null || echo node)"
    echo
fi
echo "== Node status =="
"$AIDMESH" "$@" status
echo
echo "Invite code of this network: $("$AIDMESH" "$@" invite)"
echo "(other laptops join with: aidmesh init --join CODE, then aidmesh run)"
echo
echo "== Running the node: it finds the other nodes of its network on this LAN =="
exec "$AIDMESH" "$@" run
