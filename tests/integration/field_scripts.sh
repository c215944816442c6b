#!/usr/bin/env bash
# field_scripts.sh: the scripts and files a field deployment uses, outside the C code:
#  - tools/wifi-direct.sh: --help, and --dry-run of start, join and stop print the wpa_cli
#    and ip commands they would run (there is no Wi-Fi hardware in a test: the real runs
#    are not tested here); usage errors are exit 2 with a sentence;
#  - tools/install.sh (make install) with DESTDIR: the files land where expected, with the
#    binary's real path in the unit; the unit passes `systemd-analyze verify` where that
#    tool exists; uninstall removes them again;
#  - docs/aidmesh.1: a section for every command `aidmesh --help` lists, and every option
#    of every command's --help; it renders without warnings where groff exists;
#  - shellcheck on the scripts, where shellcheck exists.
. "$(dirname "$0")/lib.sh"

: "${AM_SOURCE_DIR:?set AM_SOURCE_DIR to the source tree (ctest does)}"
: "${AM_BIN_DIR:?set AM_BIN_DIR to the build folder (ctest does)}"
S=$AM_SOURCE_DIR
WD=$S/tools/wifi-direct.sh
# runto FILE COMMAND...: runs the command, its output in FILE, its exit status in RC
runto() {
    local f=$1
    shift
    RC=0
    "$@" >"$f" 2>&1 || RC=$?
}

# ---- wifi-direct.sh -----------------------------------------------------------------------------
check "wifi-direct.sh --help" bash "$WD" --help
expect_out "  names start, join and stop" "start IFACE.*" bash "$WD" --help
expect_out "  documents the fixed subnet (no DHCP)" "192\.168\.47\.1/24" bash "$WD" --help
runto "$T/start.out" bash "$WD" --dry-run start wlan0
check "--dry-run start wlan0 exits 0 (no root, no Wi-Fi needed)" test "$RC" = 0
check "  checks wpa_supplicant answers" grep -qx '+ wpa_cli -i wlan0 ping.*' "$T/start.out"
check "  creates the group with wpa_cli p2p_group_add" grep -qx '+ wpa_cli -i wlan0 p2p_group_add' "$T/start.out"
check "  waits for the group interface" grep -q 'wait up to [0-9]* s for the group interface.*p2p-wlan0-0' "$T/start.out"
check "  gives it the group owner's address" grep -qx '+ ip addr add 192.168.47.1/24 dev p2p-wlan0-0' "$T/start.out"
check "  reads the SSID" grep -q '^+ wpa_cli -i p2p-wlan0-0 status' "$T/start.out"
check "  and the passphrase" grep -qx '+ wpa_cli -i p2p-wlan0-0 p2p_get_passphrase' "$T/start.out"
check "  and says how others join" grep -q "join WIFI-IFACE --ssid" "$T/start.out"
check "  in order: group, then address" \
    test "$(grep -n 'p2p_group_add' "$T/start.out" | cut -d: -f1)" -lt "$(grep -n 'ip addr add' "$T/start.out" | cut -d: -f1)"
expect_out "--dry-run start --freq 2437" '^\+ wpa_cli -i wlan0 p2p_group_add freq=2437$' bash "$WD" --dry-run start wlan0 --freq 2437
expect_out "--dry-run start --start-supplicant starts one" '^\+ wpa_supplicant -B -i wlan0 -c /run/aidmesh-wifi-direct/wpa-wlan0.conf' \
    bash "$WD" --dry-run start wlan0 --start-supplicant
runto "$T/join.out" bash "$WD" --dry-run join wlan0 --ssid DIRECT-ab-aidmesh --passphrase 'k3y-of-the-day' --address 192.168.47.23/24
check "--dry-run join exits 0" test "$RC" = 0
check "  adds a network" grep -qx '+ wpa_cli -i wlan0 add_network.*' "$T/join.out"
check "  with the SSID" grep -qx '+ wpa_cli -i wlan0 set_network ID ssid "DIRECT-ab-aidmesh"' "$T/join.out"
check "  and the passphrase" grep -qx '+ wpa_cli -i wlan0 set_network ID psk "k3y-of-the-day"' "$T/join.out"
check "  selects it" grep -qx '+ wpa_cli -i wlan0 select_network ID' "$T/join.out"
check "  takes the given address" grep -qx '+ ip addr add 192.168.47.23/24 dev wlan0' "$T/join.out"
expect_out "--dry-run stop removes the group" '^\+ wpa_cli -i wlan0 p2p_group_remove p2p-wlan0-0' bash "$WD" --dry-run stop wlan0
expect_out "a command without an interface is explained" "start needs the Wi-Fi interface" bash "$WD" --dry-run start
refute "  (exit status non-zero)" bash "$WD" --dry-run start
expect_out "an unknown command" "unknown command 'up'" bash "$WD" --dry-run up wlan0
expect_out "a bad --freq" "--freq takes a frequency in MHz" bash "$WD" --dry-run start wlan0 --freq 6
expect_out "join without a passphrase" "join needs --ssid and --passphrase" bash "$WD" --dry-run join wlan0 --ssid X
expect_out "a passphrase too short" "8 to 63 characters" bash "$WD" --dry-run join wlan0 --ssid X --passphrase short
expect_out "the group owner's address is not for joiners" "N from 2 to 254" \
    bash "$WD" --dry-run join wlan0 --ssid X --passphrase 12345678 --address 192.168.47.1/24
if ! command -v wpa_cli >/dev/null 2>&1; then
    expect_out "without wpa_cli, a real start says what to install" "wpa_cli is not installed: apt-get install wpasupplicant" \
        bash "$WD" start wlan0
fi

# ---- install.sh -----------------------------------------------------------------------------------
D=$T/root
runto "$T/install.out" env PREFIX=/usr/local DESTDIR="$D" bash "$S/tools/install.sh" --build "$AM_BIN_DIR"
check "install.sh with DESTDIR exits 0" test "$RC" = 0
sed 's/^/    # /' "$T/install.out" | head -8
check "  the binary" test -x "$D/usr/local/bin/aidmesh"
check "  runs" "$D/usr/local/bin/aidmesh" --help
check "  the Wi-Fi Direct helper" test -x "$D/usr/local/bin/aidmesh-wifi-direct"
check "  the unit" test -f "$D/usr/local/lib/systemd/system/aidmesh.service"
check "  the man page" test -f "$D/usr/local/share/man/man1/aidmesh.1"
check "  the user guide" test -f "$D/usr/local/share/doc/aidmesh/README.md"
check "  nothing outside PREFIX" test "$(ls -A "$D")" = usr -a "$(ls -A "$D/usr")" = local
# shellcheck disable=SC2016 # $AIDMESH_OPTS is expanded by systemd, not here
check "  the unit runs the installed binary as aidmesh in /var/lib/aidmesh" \
    grep -qx 'ExecStart=/usr/local/bin/aidmesh --home /var/lib/aidmesh run $AIDMESH_OPTS' "$D/usr/local/lib/systemd/system/aidmesh.service"
for key in User=aidmesh StateDirectory=aidmesh NoNewPrivileges=yes ProtectSystem=strict \
    ReadWritePaths=/var/lib/aidmesh PrivateTmp=yes Restart=on-failure \
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK"; do
    check "  unit: $key" grep -qx "$key" "$D/usr/local/lib/systemd/system/aidmesh.service"
done
check "  says nothing was started" grep -q "Nothing was started" "$T/install.out"
check "  says how to create the user" grep -q "useradd --system .* aidmesh" "$T/install.out"
check "  how to set up the node as that user" \
    grep -q "runuser -u aidmesh -- /usr/local/bin/aidmesh --home /var/lib/aidmesh init --name" "$T/install.out"
check "  and how to start it" grep -q "systemctl enable --now aidmesh" "$T/install.out"
if command -v systemd-analyze >/dev/null 2>&1; then
    # verify needs ExecStart to exist: a copy of the installed unit naming the DESTDIR binary
    mkdir -p "$T/verify"
    sed "s|/usr/local/bin/aidmesh|$D/usr/local/bin/aidmesh|" "$D/usr/local/lib/systemd/system/aidmesh.service" >"$T/verify/aidmesh.service"
    check "the unit passes systemd-analyze verify (with its man page)" \
        env MANPATH="$D/usr/local/share/man" systemd-analyze verify "$T/verify/aidmesh.service"
    check "the source unit passes it too (man page check off)" \
        sh -c "sed 's|/usr/local/bin/aidmesh|$D/usr/local/bin/aidmesh|' '$S/tools/aidmesh.service' >'$T/verify/src.service' && systemd-analyze verify --man=no '$T/verify/src.service'"
else
    echo "# SKIP systemd-analyze verify: systemd-analyze is not installed here"
fi
runto "$T/opt.out" env PREFIX=/opt/aidmesh DESTDIR="$T/opt" bash "$S/tools/install.sh" --build "$AM_BIN_DIR"
check "install with PREFIX=/opt/aidmesh" test -x "$T/opt/opt/aidmesh/bin/aidmesh"
check "  the unit names that binary" grep -q '^ExecStart=/opt/aidmesh/bin/aidmesh ' "$T/opt/opt/aidmesh/lib/systemd/system/aidmesh.service"
check "  and says how to link the unit" grep -q "systemctl link /opt/aidmesh/lib/systemd/system/aidmesh.service" "$T/opt.out"
expect_out "install.sh without a build says what to do" "no built aidmesh in" \
    env DESTDIR="$T/none" bash "$S/tools/install.sh" --build "$T/nothing"
expect_out "a relative PREFIX is refused" "PREFIX must be an absolute path" env PREFIX=usr DESTDIR="$T/none" bash "$S/tools/install.sh"
runto "$T/uninstall.out" env PREFIX=/usr/local DESTDIR="$D" bash "$S/tools/install.sh" --uninstall
check "uninstall exits 0" test "$RC" = 0
check "  removes every file it installed" test -z "$(find "$D" -type f)"
check "  and leaves the data home alone (says so)" grep -q "/var/lib/aidmesh" "$T/uninstall.out"

# ---- the man page ---------------------------------------------------------------------------------
MAN=$S/docs/aidmesh.1
cmds=$("$AIDMESH" --help | awk '/^Commands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on=0}')
check "aidmesh --help lists commands ($(echo "$cmds" | wc -w))" test "$(echo "$cmds" | wc -w)" -ge 15
for c in $cmds; do
    check "man page: a section for '$c'" grep -q "^\\.SS \"aidmesh $c" "$MAN"
    # every --option the command's --help names (--help, --home and --json are global)
    for o in $("$AIDMESH" "$c" --help 2>&1 | grep -Eo -- '--[a-z][a-z0-9-]*' | sort -u); do
        case $o in --help | --home | --json) continue ;; esac
        # roff spells every '-' of an option '\-'
        check "man page: '$c $o'" grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$MAN"
    done
done
if command -v groff >/dev/null 2>&1; then
    runto "$T/groff.out" groff -man -Tutf8 -ww -z "$MAN"
    check "the man page renders without warnings" test ! -s "$T/groff.out"
    sed 's/^/    # /' "$T/groff.out"
fi

# ---- shellcheck -----------------------------------------------------------------------------------
if command -v shellcheck >/dev/null 2>&1; then
    for f in tools/demo.sh tools/install.sh tools/wifi-direct.sh tests/integration/demo.sh tests/integration/field_scripts.sh; do
        check "shellcheck $f" shellcheck -x -P "$S/tests/integration" "$S/$f"
    done
else
    echo "# SKIP shellcheck: not installed here"
fi
finish
