#!/usr/bin/env bash
# status_socket.sh: the running node's control socket HOME/run/control.sock (node/status.h,
# PROTOCOL.md §8.5). `aidmesh peers --json` shows a live node's peers and no status file
# exists; the socket is owner-only (0600, in a 0700 run/); a request that is not JSON, or
# one over 4 KiB, gets an error line and the node keeps serving; ten clients that connect
# and say nothing are cut within the 2 s deadline while a fresh `aidmesh peers` is answered
# meanwhile; with no node (stopped, or killed leaving its socket) `peers` says none runs.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
SOCK=$T/hub/run/control.sock
check "init hub" $A --home "$T/hub" init --name hub
code=$($A --home "$T/hub" invite)
check "init clinic" $A --home "$T/clinic" init --name clinic --join "$code"
CA=$($A --home "$T/clinic" status --json | sed -n 's/.*"author":"\([0-9a-f]*\)".*/\1/p')
check "the clinic has an author id" test ${#CA} = 64

# raw REQUEST: sends REQUEST's bytes on the hub's socket as they are, prints the answer line
# (perl is in every Debian: perl-base is essential)
raw() {
    perl -MIO::Socket::UNIX -e '
        alarm 5;
        my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or die "connect: $!\n";
        print $s $ARGV[1];
        my $line = <$s>;
        print defined $line ? $line : "(closed)\n";' "$SOCK" "$1"
}
# idle N READY: opens N connections that send nothing, touches READY, then prints how many
# ms passed until the node had closed every one of them (at most 10 s)
idle() {
    perl -MIO::Socket::UNIX -MTime::HiRes=time -e '
        alarm 10;
        my ($path, $n, $ready) = @ARGV;
        my @s = map { IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path) or die "connect: $!\n" } 1 .. $n;
        my $t0 = time;
        open(my $f, ">", $ready) or die; close $f;
        for my $s (@s) { my $b; 1 while sysread($s, $b, 64) > 0; }
        printf "%d\n", (time - $t0) * 1000;' "$SOCK" "$1" "$2"
}

P=$(pick_port)
$A --home "$T/hub" run --listen 127.0.0.1:$P --no-discovery >"$T/hub.log" 2>&1 &
hub=$!
$A --home "$T/clinic" run --listen 127.0.0.1:$((P + 1)) --peer 127.0.0.1:$P --no-discovery \
    >"$T/clinic.log" 2>&1 &
clinic=$!
check "the hub listens" wait_for 10 grep -q "listening on" "$T/hub.log"
clinic_seen() { $A --home "$T/hub" peers --json | grep -q "\"connected\":\[{\"author\":\"$CA\""; }
check "peers --json shows the clinic connected to the live hub" wait_for 15 clinic_seen
expect_out "peers --json says it runs" '^\{"running":true,"status":\{"pid":[0-9]+,"port":'"$P"',' \
    $A --home "$T/hub" peers --json
expect_out "peers shows it in words" "^  ${CA:0:16} clinic +127\.0\.0\.1:[0-9]+ +(in sync|syncing)" \
    $A --home "$T/hub" peers
expect_out "status says the node runs, with its peer" "^  node: +running \(pid [0-9]+, port $P\), 1 peer connected" \
    $A --home "$T/hub" status
expect_out "status --json says so" '"daemon":\{"running":true,"pid":[0-9]+,"port":'"$P"',"connected":1\}\}$' \
    $A --home "$T/hub" status --json
check "and no status file exists" test ! -e "$T/hub/run/peers.json"
check "the socket is a socket" test -S "$SOCK"
check "the socket is mode 0600" test "$(stat -c %a "$SOCK")" = 600
check "run/ is mode 0700" test "$(stat -c %a "$T/hub/run")" = 700

# requests other than {"get":"status"}
expect_out "a request that is not JSON gets an error line" '^\{"error":"unknown request' raw $'hello\n'
expect_out "another question gets one too" '^\{"error":"unknown request' raw $'{"get":"keys"}\n'
expect_out "a duplicate key too" '^\{"error":"unknown request' raw $'{"get":"status","get":"status"}\n'
expect_out "a request over 4 KiB gets one" '^\{"error":"request over 4096 bytes' \
    raw "$(head -c 5000 /dev/zero | tr '\0' ' ')"
expect_out "the raw request gets the status" "^\{\"pid\":$hub," raw $'{"get":"status"}\n'
check "the node keeps serving" clinic_seen

# ten clients that connect and say nothing
rm -f "$T/ready"
idle 10 "$T/ready" >"$T/idle.out" 2>&1 &
idler=$!
check "ten idle clients connect" wait_for 5 test -e "$T/ready"
t0=$(date +%s%N)
expect_out "a fresh peers is answered while they wait" '"running":true' $A --home "$T/hub" peers --json
t1=$(date +%s%N)
check "at once (under 1 s)" test $(( (t1 - t0) / 1000000 )) -lt 1000
check "the idle clients are all cut" wait $idler
ms=$(cat "$T/idle.out")
echo "# the last idle client was cut after $ms ms"
check "within the 2 s deadline (and a margin)" test "$ms" -lt 3500
check "and the node still answers" clinic_seen

# stopped: the socket goes, and peers says no node is running
kill -TERM $hub
check "the hub stops" wait $hub
check "the socket is removed" test ! -e "$SOCK"
expect_out "peers says no node is running" \
    "^no aidmesh node is running for $T/hub: start one with \`aidmesh run\`$" $A --home "$T/hub" peers
check "and exits 0 as before" $A --home "$T/hub" peers
expect_out "peers --json says so" '^\{"running":false,"connected":\[\],"known":\[\]\}$' \
    $A --home "$T/hub" peers --json
expect_out "status says the node is not running" '^  node: +not running \(start it with `aidmesh run`\)$' \
    $A --home "$T/hub" status
expect_out "status --json says so" '"daemon":\{"running":false\}\}$' $A --home "$T/hub" status --json

# killed: its socket stays behind; peers still says no node runs, and a new node replaces it
$A --home "$T/hub" run --listen 127.0.0.1:$P --no-discovery >"$T/hub2.log" 2>&1 &
hub=$!
check "the hub runs again" wait_for 10 sh -c "$A --home '$T/hub' peers --json | grep -q '\"running\":true'"
kill -KILL $hub
wait $hub 2>/dev/null || true
check "a killed node leaves its socket" test -S "$SOCK"
expect_out "peers says no node is running" "^no aidmesh node is running for $T/hub" $A --home "$T/hub" peers
$A --home "$T/hub" run --listen 127.0.0.1:$P --no-discovery >"$T/hub3.log" 2>&1 &
hub=$!
check "a new node takes the stale socket over" \
    wait_for 10 sh -c "$A --home '$T/hub' peers --json | grep -q '\"running\":true'"
kill -TERM $hub $clinic
check "hub stops" wait $hub
check "clinic stops" wait $clinic
finish
