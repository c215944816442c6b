#!/usr/bin/env bash
# web_tls.sh: the web app is off until the coordinator turns it on, and then serves HTTPS
# with the node's own certificate authority. A hub (10.202.0.1 on a namespace's Wi-Fi-like
# link) runs with nothing in its config: nothing but the sync port listens. After
# `aidmesh web on --https` a "phone" (10.202.0.2, curl in another namespace) downloads the
# authority from the plain-HTTP port, finds the fingerprint `aidmesh web ca` shows, and with
# it opens the HTTPS pages (by address and by NAME.local) and pairs (a Secure cookie);
# without it curl refuses the certificate; plain HTTP on the HTTPS port gets nothing; a form
# posted with a plain-HTTP Origin is refused. `aidmesh web off` and a restart: nothing
# listens for the web again; `--http` wins over the config.
. "$(dirname "$0")/lib.sh"
NSP=amtls$$
. "$(dirname "$0")/lib_netns.sh"

A=$AIDMESH
H=$T/hub
am() { "$A" --home "$H" "$@"; }
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -1; }

ns_start hub
ns_add phone
veth hub eh phone ep
ip -n "${NSP}hub" link set lo up
ip -n "${NSP}hub" addr add 10.202.0.1/24 dev eh
ip -n "${NSP}phone" addr add 10.202.0.2/24 dev ep

check "init hub" am init --name hub-north
check "a site to show" am site add hub-north --name "Hub North" --kind hub

NODE=
start_hub() { # start_hub LOG ARGS...: the hub in its namespace, until it says it runs
    local log=$1
    shift
    # ip netns exec execs the node: $! is its pid
    ip netns exec "${NSP}hub" "$A" --home "$H" run --listen 10.202.0.1:47470 --no-discovery "$@" \
        >"$log" 2>&1 &
    NODE=$!
    wait_for 15 grep -q "running; stop with" "$log" || { cat "$log"; return 1; }
}
stop_hub() {
    kill "$NODE" 2>/dev/null || true
    wait "$NODE" 2>/dev/null || true
    NODE=
}
# the TCP ports the hub's namespace listens on, one "ADDR:PORT" a line
listening() { in_ns hub ss -ltnH | awk '{print $4}' | sort; }

# ---- off by default ----------------------------------------------------------------------
expect_out "web is off in a new home" "web app: off" am web
check "a hub with nothing in its config starts" start_hub "$T/off.log"
check "... and listens on the sync port only" test "$(listening)" = "10.202.0.1:47470"
stop_hub

# ---- on, over HTTPS ----------------------------------------------------------------------
check "web on --https" in_ns hub "$A" --home "$H" web on --https
check "... writes the config" grep -qx "web = https" "$H/config"
for f in web-ca.key web-ca.crt web-tls.key web-tls.crt; do
    check "... $f is made, mode 0600" test "$(stat -c %a "$H/$f")" = 600
done
FPR=$(in_ns hub "$A" --home "$H" web ca --json | json_field sha256)
check "web ca gives the authority's fingerprint" test "${#FPR}" = 95
expect_out "web ca names the page phones open" "http://10.202.0.1:8080/" in_ns hub "$A" --home "$H" web ca
check "the hub starts with the web app on" start_hub "$T/hub.log"
check "... serving HTTPS" grep -q "dashboard at https://0.0.0.0:8443/" "$T/hub.log"
check "... and the authority on plain HTTP" grep -q "certificate authority at http://0.0.0.0:8080/ca.crt" "$T/hub.log"
W=10.202.0.1:8443
# curl from the phone: phone ARGS... -> the status code (body in $T/body, headers in $T/hdr)
phone() {
    in_ns phone curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' --max-time 10 "$@"
}
check "the phone downloads the authority over plain HTTP" \
    test "$(phone http://10.202.0.1:8080/ca.crt)" = 200
check "... as a CA certificate to install" grep -qi '^content-type: application/x-x509-ca-cert' "$T/hdr"
cp "$T/body" "$T/ca.der"
GOT=$(openssl x509 -inform der -in "$T/ca.der" -noout -fingerprint -sha256 | sed 's/.*=//')
check "... whose fingerprint is the one the coordinator's screen shows" test "$GOT" = "$FPR"
openssl x509 -inform der -in "$T/ca.der" -out "$T/ca.pem"
check "the download page shows the fingerprint too" test "$(phone http://10.202.0.1:8080/)" = 200
check "... on the page" grep -q "$FPR" "$T/body"
check "nothing but the certificate is served there" test "$(phone http://10.202.0.1:8080/pair)" = 404

check "with the authority the phone opens the HTTPS pairing page" \
    test "$(phone --cacert "$T/ca.pem" "https://$W/pair")" = 200
check "... also by the node's name on mDNS (hub-north.local)" \
    test "$(phone --cacert "$T/ca.pem" --resolve hub-north.local:8443:10.202.0.1 https://hub-north.local:8443/pair)" = 200
in_ns phone curl -s -o /dev/null --max-time 10 "https://$W/pair" && rc=0 || rc=$?
check "without it curl refuses the certificate (exit 60, not verified)" test "$rc" = 60
check "plain HTTP on the HTTPS port gets no page" \
    test "$(phone "http://$W/pair" || true)" != 200

code=$(am web pair --name nurse-phone --json | json_field code)
check "web pair gives a code" test -n "$code"
pair() { # pair CODE ORIGIN
    phone --cacert "$T/ca.pem" -H "Origin: $2" --data-urlencode "code=$1" "https://$W/pair"
}
check "a form posted from a plain-HTTP origin is refused on HTTPS" \
    test "$(pair "$code" "http://$W")" = 403
check "the code pairs the phone over HTTPS" test "$(pair "$code" "https://$W")" = 303
check "... with an HttpOnly cookie" grep -Eqi '^set-cookie: am_dev=[A-Za-z0-9_-]{43};.*HttpOnly' "$T/hdr"
check "... that is Secure (never sent over plain HTTP)" grep -Eqi '^set-cookie: am_dev=.*; Secure' "$T/hdr"
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(am_dev=[A-Za-z0-9_-]*\).*/\1/p' "$T/hdr" | head -1)
check "the paired phone sees the page over HTTPS" \
    test "$(phone --cacert "$T/ca.pem" -H "Cookie: $cookie" "https://$W/")" = 200
check "... a page of the node, not the pairing form" grep -q "hub-north" "$T/body"
expect_out "web shows what the node serves" "serving https://0.0.0.0:8443/" am web
refute "no token or code in the hub's log" grep -Eq "$code|${cookie#am_dev=}" "$T/hub.log"
stop_hub

# ---- a new address: a new server certificate, the same authority --------------------------
ip -n "${NSP}hub" addr add 10.202.0.9/24 dev eh
check "the hub restarts" start_hub "$T/hub2.log"
check "... and makes its server certificate again for the new address" \
    grep -q "made the web app's server certificate for .*10.202.0.9" "$T/hub2.log"
check "the phone's installed authority still vouches for it" \
    test "$(phone --cacert "$T/ca.pem" "https://10.202.0.9:8443/pair")" = 200
stop_hub

# ---- off again -----------------------------------------------------------------------------
check "web off" am web off
expect_out "... says so" "web app: off" am web
check "the hub restarts" start_hub "$T/off2.log"
check "... listening on no web port" test "$(listening)" = "10.202.0.1:47470"
stop_hub

# ---- --http wins over the config -----------------------------------------------------------
check "web on --https again" am web on --https
check "the hub starts with --http on the loopback" start_hub "$T/flag.log" --http 127.0.0.1:8081
check "... serving plain HTTP there, as the flag says" grep -q "dashboard at http://127.0.0.1:8081/" "$T/flag.log"
check "... and nothing off the loopback for the web" \
    test "$(listening | tr '\n' ' ')" = "10.202.0.1:47470 127.0.0.1:8081 "
stop_hub
finish
