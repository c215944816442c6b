# lib_netns.sh: network namespaces for the integration tests (sourced after lib.sh, not
# run). Set NSP, a prefix of namespace names unique to the test (e.g. amdoc$$), then call
# ns_start FIRST: it skips the test (exit 0, "SKIP: ...") unless this machine can make
# namespaces, makes ${NSP}FIRST, and removes every namespace made here on exit, after
# killing what still runs in them. A test with its own exit work sets NS_ON_EXIT to a
# command run first.

# probe_find: PROBE is the discovery probe, $AM_DISCOVERY_PROBE (ctest sets it) or else
# the one beside $AIDMESH; without it the test fails.
probe_find() {
    PROBE=${AM_DISCOVERY_PROBE:-$(dirname "$AIDMESH")/aidmesh-discovery-probe}
    [ -x "$PROBE" ] || { not_ok "the discovery probe $PROBE is not built"; finish; }
}

NSES=()
NS_ON_EXIT=${NS_ON_EXIT:-}

ns_cleanup() {
    local ns p
    [ -n "$NS_ON_EXIT" ] && { $NS_ON_EXIT || true; }
    for ns in "${NSES[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
}

ns_try_start() { # ns_try_start FIRST: make ${NSP}FIRST, or return 1 with NS_WHY set
    NS_WHY=
    trap 'ns_cleanup; am_cleanup' EXIT
    if [ "$(id -u)" != 0 ]; then
        NS_WHY="network namespaces need root"
        return 1
    fi
    if ! command -v ip >/dev/null 2>&1 || ! NS_WHY=$(ip netns add "$NSP$1" 2>&1); then
        NS_WHY="network namespaces not available: ${NS_WHY:-no ip command}"
        return 1
    fi
    NSES+=("$NSP$1")
}

ns_start() { # ns_start FIRST: skip unless namespaces work; make ${NSP}FIRST
    if ! ns_try_start "$1"; then
        echo "SKIP: $NS_WHY"
        exit 0
    fi
}

ns_add() { # ns_add NAME...: new namespaces with loopback up
    local ns
    for ns in "$@"; do
        ip netns add "$NSP$ns"
        NSES+=("$NSP$ns")
        ip -n "$NSP$ns" link set lo up
    done
}

in_ns() { # in_ns NS CMD...: run in namespace NS
    local ns=$1
    shift
    ip netns exec "$NSP$ns" "$@"
}

# veth NS1 IF1 NS2 IF2: a cable between two namespaces, both ends up, no address
veth() {
    ip -n "$NSP$1" link add "$2" type veth peer name "$4" netns "$NSP$3"
    ip -n "$NSP$1" link set "$2" up
    ip -n "$NSP$3" link set "$4" up
}
