#!/usr/bin/env bash
# wifi-direct.sh: sets up a Wi-Fi Direct (P2P) group on Linux so that laptops with no
# access point between them share one IP network, which is all aidmesh needs: a running
# `aidmesh run` sees the new interface appear and finds the other nodes on it (discovery
# beacons on IPv4 and IPv6 link-local; `aidmesh peers add` works too).
#
#   start IFACE   this laptop becomes the group owner: `wpa_cli -i IFACE p2p_group_add`,
#                 waits for the group interface (p2p-IFACE-N), gives it 192.168.47.1/24,
#                 prints the SSID and passphrase the other laptops join with
#   join IFACE    joins such a group as an ordinary Wi-Fi client (works on any laptop whose
#                 Wi-Fi wpa_supplicant manages, and on phones by hand), with a fixed address
#                 in 192.168.47.0/24
#   stop IFACE    undoes what start or join did on IFACE
#   status IFACE  what wpa_supplicant and the interfaces say now
#
# The group has no DHCP server: the group owner is always 192.168.47.1 and every other
# member takes its own address 192.168.47.2-254 (derived from its MAC unless --address
# says otherwise). Needs root, wpa_cli (package wpasupplicant) and ip (iproute2), and a
# wpa_supplicant with a control socket for IFACE (--start-supplicant starts one).
# --dry-run prints the commands instead of running them (needs neither root nor Wi-Fi).
# What start and join did is kept in /run/aidmesh-wifi-direct/, so stop undoes exactly that.
set -euo pipefail

PROG=${0##*/}
# fd 3: where --dry-run prints the commands (stdout, also from inside $(...))
exec 3>&1
SUBNET=192.168.47
GO_ADDR=$SUBNET.1/24
STATE_DIR=/run/aidmesh-wifi-direct
WAIT_S=30

usage() {
    cat <<EOF
usage: $PROG [--dry-run] start IFACE [--freq MHZ] [--name NAME] [--start-supplicant]
       $PROG [--dry-run] join IFACE --ssid SSID --passphrase PASS [--address A.B.C.D/24]
                         [--start-supplicant]
       $PROG [--dry-run] stop IFACE
       $PROG status IFACE

Sets up a Wi-Fi Direct group so laptops without an access point share one network;
aidmesh needs nothing more than the interface the group creates.

  start IFACE   become the group owner on the Wi-Fi interface IFACE (e.g. wlan0):
                creates the group (wpa_cli p2p_group_add), waits for its interface
                (p2p-IFACE-0), gives it $GO_ADDR and prints the SSID and passphrase
                the other laptops join with
  join IFACE    join a group as a Wi-Fi client with its SSID and passphrase, and take a
                fixed address in $SUBNET.0/24 (no DHCP in the group)
  stop IFACE    leave or remove the group and drop the address start/join added
  status IFACE  show what wpa_supplicant and the interfaces say now

  --freq MHZ          start: the channel, e.g. 2437 (channel 6, 2.4 GHz: best range);
                      default: wpa_supplicant chooses
  --name NAME         start: added to the SSID (DIRECT-xy-NAME), default aidmesh
  --ssid SSID         join: the SSID start printed (DIRECT-xy-aidmesh)
  --passphrase PASS   join: the passphrase start printed
  --address A/24      join: this laptop's address; default $SUBNET.N/24 with N taken
                      from the last byte of IFACE's MAC (2-254). The group owner
                      is always $SUBNET.1
  --start-supplicant  no wpa_supplicant runs for IFACE (or it has no control socket):
                      start one with a P2P-capable config in $STATE_DIR
  --dry-run           print the commands instead of running them

Needs root, wpa_cli (apt-get install wpasupplicant) and ip (iproute2). If NetworkManager
manages IFACE, first: nmcli device set IFACE managed no
EOF
}

die() {
    echo "$PROG: $*" >&2
    exit 1
}
usage_err() {
    echo "$PROG: $*" >&2
    echo "(see $PROG --help)" >&2
    exit 2
}

DRY=0
CMD=""
IFACE=""
FREQ=""
NAME=aidmesh
SSID=""
PASS=""
ADDR=""
START_SUPP=0
while [ $# -gt 0 ]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --dry-run | -n) DRY=1; shift ;;
        --start-supplicant) START_SUPP=1; shift ;;
        --freq | --name | --ssid | --passphrase | --address)
            [ $# -ge 2 ] || usage_err "$1 needs a value"
            case $1 in
                --freq) FREQ=$2 ;;
                --name) NAME=$2 ;;
                --ssid) SSID=$2 ;;
                --passphrase) PASS=$2 ;;
                --address) ADDR=$2 ;;
            esac
            shift 2
            ;;
        -*) usage_err "unknown option '$1'" ;;
        *)
            if [ -z "$CMD" ]; then
                CMD=$1
            elif [ -z "$IFACE" ]; then
                IFACE=$1
            else
                usage_err "unexpected argument '$1'"
            fi
            shift
            ;;
    esac
done

case $CMD in
    start | join | stop | status) ;;
    "") usage_err "say what to do: start, join, stop or status" ;;
    *) usage_err "unknown command '$CMD': use start, join, stop or status" ;;
esac
[ -n "$IFACE" ] || usage_err "$CMD needs the Wi-Fi interface, e.g. $PROG $CMD wlan0 (see: ip link)"
[[ $IFACE =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || usage_err "'$IFACE' is not an interface name"
if [ -n "$FREQ" ] && ! [[ $FREQ =~ ^[0-9]{4}$ ]]; then
    usage_err "--freq takes a frequency in MHz, e.g. 2437, not '$FREQ'"
fi
[[ $NAME =~ ^[A-Za-z0-9_-]{1,20}$ ]] || usage_err "--name may hold a-z, 0-9, '-' and '_' (1 to 20)"
if [ "$CMD" = join ]; then
    if [ -z "$SSID" ] || [ -z "$PASS" ]; then
        usage_err "join needs --ssid and --passphrase (printed by start on the group owner)"
    fi
    if [ ${#PASS} -lt 8 ] || [ ${#PASS} -gt 63 ]; then
        usage_err "a WPA passphrase has 8 to 63 characters"
    fi
    [[ $SSID != *\"* && $PASS != *\"* ]] || usage_err "the SSID and passphrase cannot contain '\"'"
    if [ -n "$ADDR" ]; then
        if ! [[ $ADDR =~ ^${SUBNET//./\\.}\.([0-9]{1,3})/24$ ]] || [ "${BASH_REMATCH[1]}" -lt 2 ] ||
            [ "${BASH_REMATCH[1]}" -gt 254 ]; then
            usage_err "--address takes $SUBNET.N/24 with N from 2 to 254 ($SUBNET.1 is the group owner), not '$ADDR'"
        fi
    fi
fi

# wifi_ifaces: the names of the Wi-Fi interfaces, on one line
wifi_ifaces() {
    local d out=""
    for d in /sys/class/net/*; do
        [ -d "$d/wireless" ] || [ -e "$d/phy80211" ] && out+="${d##*/} "
    done
    echo "${out:-none}"
}

# ---- checks --------------------------------------------------------------------------------
if [ "$DRY" -eq 0 ]; then
    command -v wpa_cli >/dev/null 2>&1 || die "wpa_cli is not installed: apt-get install wpasupplicant"
    command -v ip >/dev/null 2>&1 || die "ip is not installed: apt-get install iproute2"
    if [ "$CMD" != status ] && [ "$(id -u)" -ne 0 ]; then
        die "$CMD changes the network set-up and needs root: sudo $PROG $CMD $IFACE ..."
    fi
    [ -e "/sys/class/net/$IFACE" ] || die "no interface '$IFACE' here; the Wi-Fi interfaces are: $(wifi_ifaces)"
    [ -d "/sys/class/net/$IFACE/wireless" ] || [ -e "/sys/class/net/$IFACE/phy80211" ] ||
        die "'$IFACE' is not a Wi-Fi interface (see: iw dev)"
fi

# run COMMAND...: runs it, or prints it with --dry-run
run() {
    if [ "$DRY" -eq 1 ]; then
        echo "+ $*"
    else
        "$@"
    fi
}
# wpa IF ARGS...: a wpa_cli command that must answer OK (or a value); its answer on stdout
wpa() {
    local ifc=$1 out
    shift
    if [ "$DRY" -eq 1 ]; then
        echo "+ wpa_cli -i $ifc $*" >&3
        return 0
    fi
    out=$(wpa_cli -i "$ifc" "$@" 2>&1) || die "wpa_cli -i $ifc $* failed: $out"
    case $out in
        FAIL* | "UNKNOWN COMMAND"* | *"Failed to connect"*)
            die "wpa_supplicant refused \`wpa_cli -i $ifc $*\`: $out" ;;
    esac
    printf '%s\n' "$out"
}
now_s() { date +%s; }

# supplicant_ready: wpa_supplicant answers on IFACE's control socket
supplicant_ready() { [ "$(wpa_cli -i "$IFACE" ping 2>/dev/null)" = PONG ]; }

ensure_supplicant() {
    if [ "$DRY" -eq 0 ] && supplicant_ready; then
        return 0
    fi
    if [ "$START_SUPP" -eq 0 ]; then
        [ "$DRY" -eq 1 ] && { echo "+ wpa_cli -i $IFACE ping   # must answer PONG (else use --start-supplicant)"; return 0; }
        die "no wpa_supplicant answers for $IFACE (wpa_cli -i $IFACE ping). Start one with
    $PROG $CMD $IFACE --start-supplicant ...
or, if NetworkManager runs it without a control socket: nmcli device set $IFACE managed no, then --start-supplicant"
    fi
    local conf=$STATE_DIR/wpa-$IFACE.conf
    run mkdir -p "$STATE_DIR"
    if [ "$DRY" -eq 1 ]; then
        echo "+ write $conf: ctrl_interface=DIR=/run/wpa_supplicant, update_config=0, device_name=aidmesh-$(hostname -s 2>/dev/null || echo node), p2p_go_intent=15"
    else
        umask 077
        cat >"$conf" <<EOF
# written by $PROG: a wpa_supplicant for Wi-Fi Direct on $IFACE
ctrl_interface=DIR=/run/wpa_supplicant
update_config=0
device_name=aidmesh-$(hostname -s 2>/dev/null || echo node)
device_type=1-0050F204-1
p2p_go_intent=15
EOF
    fi
    run wpa_supplicant -B -i "$IFACE" -c "$conf" -P "$STATE_DIR/wpa-$IFACE.pid"
    [ "$DRY" -eq 1 ] && return 0
    local end=$(($(now_s) + WAIT_S))
    until supplicant_ready; do
        [ "$(now_s)" -lt "$end" ] || die "the wpa_supplicant started for $IFACE does not answer (see: journalctl -t wpa_supplicant)"
        sleep 0.2
    done
    echo "started wpa_supplicant for $IFACE (config $conf)"
}

# p2p_ifaces: the current group interfaces made from IFACE (p2p-IFACE-N; long names are cut)
p2p_ifaces() {
    local d
    for d in /sys/class/net/p2p-*; do
        [ -e "$d" ] && echo "${d##*/}"
    done
    return 0
}

save_state() { # save_state KEY VALUE
    [ "$DRY" -eq 1 ] && return 0
    mkdir -p "$STATE_DIR"
    echo "$2" >"$STATE_DIR/$IFACE.$1"
}
load_state() { cat "$STATE_DIR/$IFACE.$1" 2>/dev/null || true; }

# ---- start: this laptop is the group owner --------------------------------------------------
do_start() {
    ensure_supplicant
    local before group end ssid pass
    before=$( [ "$DRY" -eq 1 ] || p2p_ifaces)
    wpa "$IFACE" set p2p_ssid_postfix "-$NAME" >/dev/null
    if [ -n "$FREQ" ]; then
        wpa "$IFACE" p2p_group_add "freq=$FREQ" >/dev/null
    else
        wpa "$IFACE" p2p_group_add >/dev/null
    fi
    if [ "$DRY" -eq 1 ]; then
        group=p2p-$IFACE-0
        echo "+ (wait up to ${WAIT_S} s for the group interface to appear: $group)"
    else
        end=$(($(now_s) + WAIT_S))
        group=""
        while [ -z "$group" ]; do
            group=$(comm -13 <(echo "$before" | sort) <(p2p_ifaces | sort) | head -1)
            [ -n "$group" ] && break
            [ "$(now_s)" -lt "$end" ] || die "no group interface appeared within ${WAIT_S} s; does the Wi-Fi card support P2P GO? (iw list | grep -A8 'interface modes' should list P2P-GO)"
            sleep 0.2
        done
    fi
    save_state group "$group"
    run ip addr add "$GO_ADDR" dev "$group"
    save_state address "$GO_ADDR"
    run ip link set "$group" up
    if [ "$DRY" -eq 1 ]; then
        echo "+ wpa_cli -i $group status   # ssid=DIRECT-xy-$NAME"
        echo "+ wpa_cli -i $group p2p_get_passphrase"
        ssid="DIRECT-xy-$NAME"
        pass=PASSPHRASE
    else
        ssid=$(wpa "$group" status | sed -n 's/^ssid=//p')
        pass=$(wpa "$group" p2p_get_passphrase)
    fi
    cat <<EOF

Wi-Fi Direct group up: interface $group, this laptop is the group owner ($GO_ADDR)
  SSID:        $ssid
  passphrase:  $pass
Other laptops join with (each takes its own address; there is no DHCP here):
  sudo $PROG join WIFI-IFACE --ssid '$ssid' --passphrase '$pass'
Phones and laptops without this script: join the Wi-Fi network '$ssid' with that
passphrase, and set a manual IPv4 address $SUBNET.N, netmask 255.255.255.0 (N = 2..254).
A running \`aidmesh run\` finds the other nodes on $group by itself; check with
\`aidmesh peers\`. Where discovery fails: aidmesh peers add ${GO_ADDR%/*}:47470
Stop the group with: sudo $PROG stop $IFACE
EOF
}

# ---- join: an ordinary Wi-Fi client of the group ----------------------------------------------
do_join() {
    ensure_supplicant
    local id mac n end state
    if [ -z "$ADDR" ]; then
        mac=$(cat "/sys/class/net/$IFACE/address" 2>/dev/null || echo "00:00:00:00:00:00")
        n=$((16#${mac##*:} % 253 + 2))
        ADDR=$SUBNET.$n/24
    fi
    if [ "$DRY" -eq 1 ]; then
        echo "+ wpa_cli -i $IFACE add_network   # prints the new network's number ID"
        id=ID
    else
        id=$(wpa "$IFACE" add_network | tail -1)
        [[ $id =~ ^[0-9]+$ ]] || die "wpa_cli add_network answered '$id'"
    fi
    save_state network "$id"
    wpa "$IFACE" set_network "$id" ssid "\"$SSID\"" >/dev/null
    wpa "$IFACE" set_network "$id" psk "\"$PASS\"" >/dev/null
    wpa "$IFACE" set_network "$id" key_mgmt WPA-PSK >/dev/null
    wpa "$IFACE" set_network "$id" proto RSN >/dev/null
    wpa "$IFACE" set_network "$id" pairwise CCMP >/dev/null
    # select_network leaves any other Wi-Fi network of IFACE for the group's
    wpa "$IFACE" select_network "$id" >/dev/null
    if [ "$DRY" -eq 1 ]; then
        echo "+ (wait up to ${WAIT_S} s until wpa_cli -i $IFACE status says wpa_state=COMPLETED)"
    else
        end=$(($(now_s) + WAIT_S))
        while true; do
            state=$(wpa_cli -i "$IFACE" status 2>/dev/null | sed -n 's/^wpa_state=//p')
            [ "$state" = COMPLETED ] && break
            [ "$(now_s)" -lt "$end" ] || die "could not join '$SSID' within ${WAIT_S} s (state: ${state:-unknown}); check the SSID and passphrase, and that the group owner is in range"
            sleep 0.2
        done
    fi
    run ip addr add "$ADDR" dev "$IFACE"
    save_state address "$ADDR"
    cat <<EOF

Joined the Wi-Fi Direct group '$SSID' on $IFACE with address $ADDR
(the group owner is ${GO_ADDR%/*}). If another laptop of the group already has this
address, stop and join again with --address $SUBNET.N/24 (another N from 2 to 254).
A running \`aidmesh run\` finds the other nodes by itself; check with \`aidmesh peers\`.
Where discovery fails: aidmesh peers add ${GO_ADDR%/*}:47470
Leave the group with: sudo $PROG stop $IFACE
EOF
}

# ---- stop ---------------------------------------------------------------------------------------
do_stop() {
    local group addr id pid did=0
    if [ "$DRY" -eq 1 ]; then
        echo "+ ip addr del ADDRESS dev GROUP-OR-IFACE   # the address start/join added"
        echo "+ wpa_cli -i $IFACE p2p_group_remove p2p-$IFACE-0   # after start"
        echo "+ wpa_cli -i $IFACE remove_network ID   # after join"
        echo "+ wpa_cli -i $IFACE enable_network all"
        echo "+ kill \$(cat $STATE_DIR/wpa-$IFACE.pid)   # only a wpa_supplicant that --start-supplicant started"
        return 0
    fi
    group=$(load_state group)
    addr=$(load_state address)
    id=$(load_state network)
    if [ -n "$group" ]; then
        if [ -n "$addr" ]; then ip addr del "$addr" dev "$group" 2>/dev/null || true; fi
        wpa "$IFACE" p2p_group_remove "$group" >/dev/null || true
        echo "removed the Wi-Fi Direct group $group"
        did=1
    elif [ -n "$id" ]; then
        if [ -n "$addr" ]; then ip addr del "$addr" dev "$IFACE" 2>/dev/null || true; fi
        wpa "$IFACE" remove_network "$id" >/dev/null || true
        wpa "$IFACE" enable_network all >/dev/null || true
        echo "left the Wi-Fi Direct group on $IFACE (network $id removed, other networks enabled again)"
        did=1
    fi
    rm -f "$STATE_DIR/$IFACE.group" "$STATE_DIR/$IFACE.address" "$STATE_DIR/$IFACE.network"
    if [ -f "$STATE_DIR/wpa-$IFACE.pid" ]; then
        pid=$(cat "$STATE_DIR/wpa-$IFACE.pid")
        if [[ $pid =~ ^[0-9]+$ ]] && kill "$pid" 2>/dev/null; then
            echo "stopped the wpa_supplicant this script started for $IFACE"
        fi
        rm -f "$STATE_DIR/wpa-$IFACE.pid" "$STATE_DIR/wpa-$IFACE.conf"
        did=1
    fi
    [ "$did" -eq 1 ] || echo "nothing to stop on $IFACE: no group started or joined by $PROG"
}

do_status() {
    local g
    if [ "$DRY" -eq 1 ]; then
        echo "+ wpa_cli -i $IFACE status"
        echo "+ ip -brief addr show"
        return 0
    fi
    echo "== wpa_cli -i $IFACE status"
    wpa_cli -i "$IFACE" status 2>&1 || true
    for g in $(p2p_ifaces); do
        echo "== wpa_cli -i $g status"
        wpa_cli -i "$g" status 2>&1 || true
    done
    echo "== addresses"
    ip -brief addr show
}

case $CMD in
    start) do_start ;;
    join) do_join ;;
    stop) do_stop ;;
    status) do_status ;;
esac
