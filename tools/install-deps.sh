#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages aidmesh needs, only those missing.
# Uses apt-get as root, or through sudo; says clearly what to do when neither works.
# Usage: tools/install-deps.sh [extra package...]
set -euo pipefail

PKGS=(
    build-essential cmake pkg-config    # compiler, make, build system
    libsodium-dev                       # all cryptography
    libuv1-dev                          # event loop, TCP, UDP, timers
    libmsgpack-dev                      # msgpack-c (C API, msgpack.h)
    liblmdb-dev                         # storage
    libmicrohttpd-dev                   # the dashboard page of `aidmesh run --http`
    libjansson-dev                      # JSON: the node's status over its control socket
    libqrencode-dev                     # the QR code of the web app's address (`aidmesh web pair`)
    libgnutls28-dev                     # the web app's HTTPS certificates (`aidmesh web on --https`)
    libcsv-dev                          # CSV cells of `aidmesh import --hxl`
    gettext                             # msgfmt: the web app's language catalogues (po/)
    libcriterion-dev                    # unit tests
    iproute2 iptables                   # tests: network namespaces, packet loss
    curl                                # tests: requests to the dashboard page
    python3-websocket                   # tests: Chromium driven over the DevTools protocol (tests/integration/cdp.py)
    dosfstools fusefat                  # tests: a real FAT32 stick image, mounted with FUSE
)
PKGS+=("$@")

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "aidmesh: installing missing packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
    SUDO=(sudo)
else
    echo "aidmesh: cannot install packages: not root, and sudo is not available here." >&2
    echo "Ask an administrator to run:" >&2
    echo "    apt-get install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${SUDO[@]}" apt-get install -y -q "${missing[@]}" >/tmp/aidmesh-apt.log 2>&1; then
    # the package lists may be missing or old on a fresh machine
    "${SUDO[@]}" apt-get update -q >>/tmp/aidmesh-apt.log 2>&1 || true
    if ! "${SUDO[@]}" apt-get install -y -q "${missing[@]}" >>/tmp/aidmesh-apt.log 2>&1; then
        tail -20 /tmp/aidmesh-apt.log >&2
        echo "aidmesh: apt-get could not install: ${missing[*]} (full log: /tmp/aidmesh-apt.log)" >&2
        echo "Check that this machine reaches a Debian package mirror, then run make again." >&2
        exit 1
    fi
fi
echo "aidmesh: packages installed"
