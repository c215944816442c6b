#!/usr/bin/env bash
# install.sh: what `make install` and `make uninstall` do. Copies the built aidmesh binary,
# the Wi-Fi Direct helper, the systemd unit and the man page into place; starts nothing,
# creates no user and touches no data home. At the end it prints what to do next.
#
#   tools/install.sh [--build DIR] [--uninstall]
#   environment: PREFIX (default /usr/local), DESTDIR (default empty: the live system),
#                SYSTEMD_UNIT_DIR (default $PREFIX/lib/systemd/system)
#
# Where the files go (all below $DESTDIR):
#   $PREFIX/bin/aidmesh                      the program
#   $PREFIX/bin/aidmesh-wifi-direct          tools/wifi-direct.sh
#   $SYSTEMD_UNIT_DIR/aidmesh.service        tools/aidmesh.service, ExecStart set to the above
#   $PREFIX/share/man/man1/aidmesh.1         docs/aidmesh.1
#   $PREFIX/share/doc/aidmesh/README.md      the user guide
#   $PREFIX/share/locale/LANG/LC_MESSAGES/aidmesh-web.mo   the web app's languages (po/)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-release
UNINSTALL=0
while [ $# -gt 0 ]; do
    case $1 in
        --build)
            [ $# -ge 2 ] || { echo "install.sh: --build needs a folder" >&2; exit 2; }
            BUILD=$2
            shift 2
            ;;
        --uninstall) UNINSTALL=1; shift ;;
        -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
case $PREFIX in
    /*) ;;
    *) echo "install.sh: PREFIX must be an absolute path, not '$PREFIX'" >&2; exit 2 ;;
esac
PREFIX=${PREFIX%/}
UNITDIR=${SYSTEMD_UNIT_DIR:-$PREFIX/lib/systemd/system}

BIN_DIR=$DESTDIR$PREFIX/bin
MAN_DIR=$DESTDIR$PREFIX/share/man/man1
DOC_DIR=$DESTDIR$PREFIX/share/doc/aidmesh
UNIT_DIR=$DESTDIR$UNITDIR
LOCALE_DIR=$DESTDIR$PREFIX/share/locale
LANGS=(en fr es ar)
FILES=(
    "$BIN_DIR/aidmesh"
    "$BIN_DIR/aidmesh-wifi-direct"
    "$UNIT_DIR/aidmesh.service"
    "$MAN_DIR/aidmesh.1"
    "$DOC_DIR/README.md"
)
for l in "${LANGS[@]}"; do FILES+=("$LOCALE_DIR/$l/LC_MESSAGES/aidmesh-web.mo"); done

if [ "$UNINSTALL" -eq 1 ]; then
    for f in "${FILES[@]}"; do
        if [ -e "$f" ]; then
            rm -f "$f"
            echo "removed $f"
        fi
    done
    rmdir "$DOC_DIR" 2>/dev/null || true
    echo
    echo "The data home (/var/lib/aidmesh) and the user aidmesh are left as they are: they"
    echo "hold this node's identity and records. If the service was enabled, first run:"
    echo "    systemctl disable --now aidmesh && systemctl daemon-reload"
    exit 0
fi

if [ ! -x "$BUILD/aidmesh" ]; then
    echo "install.sh: no built aidmesh in $BUILD; run \`make install\` (it builds first)" >&2
    echo "or pass --build DIR" >&2
    exit 1
fi

install -d "$BIN_DIR" "$MAN_DIR" "$DOC_DIR" "$UNIT_DIR"
install -m 0755 "$BUILD/aidmesh" "$BIN_DIR/aidmesh"
install -m 0755 "$SRC/tools/wifi-direct.sh" "$BIN_DIR/aidmesh-wifi-direct"
install -m 0644 "$SRC/docs/aidmesh.1" "$MAN_DIR/aidmesh.1"
install -m 0644 "$SRC/README.md" "$DOC_DIR/README.md"
# the aidmesh binary finds them at BINDIR/../share/locale (node/i18n.c)
for l in "${LANGS[@]}"; do
    install -D -m 0644 "$BUILD/locale/$l/LC_MESSAGES/aidmesh-web.mo" "$LOCALE_DIR/$l/LC_MESSAGES/aidmesh-web.mo"
done
# the unit names the installed binary, wherever PREFIX put it
sed "s|/usr/local/bin/aidmesh|$PREFIX/bin/aidmesh|g" "$SRC/tools/aidmesh.service" >"$UNIT_DIR/aidmesh.service.tmp"
chmod 0644 "$UNIT_DIR/aidmesh.service.tmp"
mv "$UNIT_DIR/aidmesh.service.tmp" "$UNIT_DIR/aidmesh.service"
for f in "${FILES[@]}"; do echo "installed $f"; done

case $UNITDIR in
    /etc/systemd/system | /usr/local/lib/systemd/system | /usr/lib/systemd/system | /lib/systemd/system) UNIT_HINT="" ;;
    *) UNIT_HINT=$'\n'"     (systemd does not look in $UNITDIR: first run  systemctl link $UNITDIR/aidmesh.service)" ;;
esac

AM=$PREFIX/bin/aidmesh
cat <<EOF

Nothing was started. To run aidmesh as a service on this machine (as root):

  1. a user for the node (no login, no password):
       useradd --system --home-dir /var/lib/aidmesh --shell /usr/sbin/nologin aidmesh
  2. its data home, readable only by it:
       install -d -o aidmesh -g aidmesh -m 0700 /var/lib/aidmesh
  3. set the node up as that user, with a name people recognise. A new network:
       runuser -u aidmesh -- $AM --home /var/lib/aidmesh init --name hub-north
     or join the network of another node (its invite code from \`aidmesh invite\`):
       runuser -u aidmesh -- $AM --home /var/lib/aidmesh init --name hub-north --join CODE
  4. start it now and at every boot:
       systemctl daemon-reload
       systemctl enable --now aidmesh$UNIT_HINT
  5. check it:  systemctl status aidmesh;  journalctl -u aidmesh -f

Record and look at needs and stock as that user, e.g.
       runuser -u aidmesh -- $AM --home /var/lib/aidmesh need list
Options for \`aidmesh run\` (--peer HOST:PORT, --watch-sticks /media, ...) go in
/etc/default/aidmesh as AIDMESH_OPTS="..."; then  systemctl restart aidmesh.
Manual: man aidmesh.
EOF
