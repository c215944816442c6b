#!/usr/bin/env bash
# run-node.sh: what `make run` does after building: set up a node with defaults on first
# start (identity + a new network in the default home, printing its invite code), then
# show its status. Pass AIDMESH_HOME or --home to use another home.
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
echo
echo "This build has the node's identity, network and signed log store; the network"
echo "daemon (aidmesh run: LAN discovery and live sync) is not in it yet, so make run"
echo "stops here. Try: $AIDMESH --help"
