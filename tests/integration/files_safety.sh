#!/usr/bin/env bash
# files_safety.sh: files that cannot be swapped, and a dashboard that trickling cannot
# block (issue 20, item 5). Plain folders stand in for sticks.
#  - a stick whose AIDMESH folder, or whose network folder, is a symbolic link: the sync is
#    refused with a sentence naming the link, and nothing is written where it points;
#  - a manifest slot that is a pipe or a link, and a pipe named like a segment: the sync
#    still succeeds (another node imports from the stick) and reports each as damage;
#  - a key file that is a pipe: the command fails at once (not waiting for a writer) with
#    advice; a key that is a link: refused, saying so; a home others can write to
#    (chmod 777): refused with the chmod to run, by the commands and by `init`;
#  - the dashboard: two Host headers get 400; 32 connections from 127.0.0.2..5 trickling
#    one header byte a second do not keep a fresh client from the page, and each of them
#    is cut off by the whole-request deadline (10 s), not kept alive by its bytes.
# The whole test is bounded (every wait has a deadline; the tricklers are killed on exit).
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
H=$T/hub
am() { "$A" --home "$H" "$@"; }
# json_field NAME: the first value of "NAME":... in stdin (strings without quotes)
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -1; }
# empty DIR: DIR holds nothing
empty() { [ -z "$(find "$1" -mindepth 1 -print -quit)" ]; }

check "init hub" "$A" --home "$H" init --name hub
check "the home made by init is 0700" test "$(stat -c %a "$H")" = 700
check "append entries" "$AM_TESTTOOL" append "$H" --size 5 --batches 2
N=$("$A" --home "$H" status --json | json_field entries)
ID=$("$A" --home "$H" status --json | json_field network_id | tr a-f A-F)
CODE=$(am invite)
echo "# $N entries, network $ID"

# ---- stick folders that are links ----------------------------------------------------------
S=$T/stick-top
mkdir -p "$S" "$T/outside-top"
ln -s "$T/outside-top" "$S/AIDMESH"
refute "a stick whose AIDMESH folder is a link is refused" am stick sync "$S"
expect_out "... saying the folder is a link" \
    "AIDMESH is a symbolic link; a stick's folders must be real folders" am stick sync "$S"
check "... and nothing was written where the link points" empty "$T/outside-top"
expect_out "stick status says the same" "AIDMESH is a symbolic link" am stick status "$S"

S=$T/stick-net
mkdir -p "$S/AIDMESH" "$T/outside-net"
ln -s "$T/outside-net" "$S/AIDMESH/$ID"
refute "a stick whose network folder is a link is refused" am stick sync "$S"
expect_out "... naming the network folder" \
    "AIDMESH/$ID is a symbolic link; a stick's folders must be real folders" am stick sync "$S"
check "... and nothing was written where the link points" empty "$T/outside-net"

# ---- manifest slots and segments that are not files ----------------------------------------
S=$T/stick
mkdir -p "$S" "$T/outside-slot"
check "a plain stick syncs" am stick sync "$S"
D=$S/AIDMESH/$ID
check "it holds slot A" test -f "$D/MANIFA.AMM"
# the next manifest write goes to slot B: make it a pipe, and a pipe named like a segment
mkfifo "$D/MANIFB.AMM" "$D/S0000099.AMS"
check "more entries" "$AM_TESTTOOL" append "$H" --size 5 --batches 1
check "a sync with a pipe as slot B and as a segment succeeds (no wait on the pipes)" \
    timeout 20 "$A" --home "$H" stick sync "$S"
expect_out "... and reports slot B as damage" "MANIFB.AMM is not a regular file" \
    timeout 20 "$A" --home "$H" stick sync "$S"
expect_out "... and the pipe named as a segment" "S0000099.AMS is not a regular file" \
    timeout 20 "$A" --home "$H" stick sync "$S"
check "slot B is still a pipe (never replaced, never written)" test -p "$D/MANIFB.AMM"
rm "$D/MANIFB.AMM"
ln -s "$T/outside-slot/MANIFB.AMM" "$D/MANIFB.AMM"
check "more entries" "$AM_TESTTOOL" append "$H" --size 5 --batches 1
check "a sync with a link as slot B succeeds" timeout 20 "$A" --home "$H" stick sync "$S"
expect_out "... reporting it" "MANIFB.AMM is not a regular file" \
    timeout 20 "$A" --home "$H" stick sync "$S"
check "... and nothing was written where it points" empty "$T/outside-slot"
N=$("$A" --home "$H" status --json | json_field entries)
check "another node joins" "$A" --home "$T/site" init --name site --join "$CODE"
check "... and imports everything from that stick" \
    timeout 20 "$A" --home "$T/site" stick sync "$S"
check "... all $N entries" entries_eq "$T/site" "$N"

# ---- key files and the home ----------------------------------------------------------------
K=$T/keys
check "init a node" "$A" --home "$K" init --name keys
mv "$K/identity.key" "$T/identity.key.saved"
mkfifo -m 600 "$K/identity.key"
start=$(date +%s)
"$A" --home "$K" status >"$T/fifo.out" 2>&1 &
st=$!
check "a pipe as the identity key: the command ends at once" wait_for 10 sh -c "! kill -0 $st"
kill -9 $st 2>/dev/null || true
wait $st && rc=0 || rc=$?
check "... failing (exit $rc)" test "$rc" -ne 0
check "... within 10 s" test $(($(date +%s) - start)) -le 10
check "... saying it is a pipe, and what to do" \
    grep -q "identity.key is a named pipe, not a key file.*restore\|identity.key is a named pipe, not a key file.*backup" "$T/fifo.out"
rm "$K/identity.key"
ln -s "$T/identity.key.saved" "$K/identity.key"
refute "a link as the identity key is refused" "$A" --home "$K" status
expect_out "... saying it is a link" "identity.key is a symbolic link, not a key file" \
    "$A" --home "$K" status
rm "$K/identity.key"
mv "$T/identity.key.saved" "$K/identity.key"
check "the key file back: the node works" "$A" --home "$K" status
chmod 777 "$K"
refute "a home others can write to (0777) is refused" "$A" --home "$K" status
expect_out "... with the chmod to run" "can be changed by other users \(mode 0777\).*chmod 700 $K" \
    "$A" --home "$K" status
chmod 700 "$K"
check "after chmod 700 the node works" "$A" --home "$K" status
mkdir -m 777 "$T/open"
chmod 777 "$T/open" # whatever the umask said
refute "init into a folder others can write to is refused" "$A" --home "$T/open" init
expect_out "... with the chmod to run" "chmod 700 $T/open" "$A" --home "$T/open" init

# ---- the dashboard ---------------------------------------------------------------------------
P=$(pick_port)
"$A" --home "$H" run --listen 127.0.0.1:$P --no-discovery --http 127.0.0.1:0 >"$T/hub.log" 2>&1 &
hub=$!
check "the hub serves the dashboard" wait_for 15 grep -q "dashboard at http://127.0.0.1:" "$T/hub.log"
URL=$(sed -n 's/.*dashboard at \(http:[^ ]*\).*/\1/p' "$T/hub.log" | head -1)
HP=$(echo "$URL" | sed 's#http://127.0.0.1:\([0-9]*\)/#\1#')
echo "# dashboard: $URL"
check "the page is served" test "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL")" = 200

# raw REQUEST: the status code of the answer to REQUEST sent as is (bash /dev/tcp)
raw() {
    local line
    exec 3<>"/dev/tcp/127.0.0.1/$HP"
    printf '%b' "$1" >&3
    IFS= read -r -t 5 line <&3 || line=
    exec 3<&-
    echo "$line" | cut -d' ' -f2
}
check "one Host of ours: 200" \
    test "$(raw "GET / HTTP/1.1\r\nHost: 127.0.0.1:$HP\r\nConnection: close\r\n\r\n")" = 200
check "two Host headers (ours first): 400" \
    test "$(raw "GET / HTTP/1.1\r\nHost: 127.0.0.1:$HP\r\nHost: evil.example\r\nConnection: close\r\n\r\n")" = 400
check "two Host headers, both ours: 400" \
    test "$(raw "GET / HTTP/1.1\r\nHost: 127.0.0.1:$HP\r\nhost: localhost:$HP\r\nConnection: close\r\n\r\n")" = 400
check "a foreign Host: 403" \
    test "$(raw "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")" = 403

# 32 tricklers, 8 from each of 127.0.0.2..5: a request line, then one header byte a second.
# curl's telnet:// sends stdin as is, from the address --interface names.
t0=$(date +%s%N)
for a in 2 3 4 5; do
    for i in 1 2 3 4 5 6 7 8; do
        { printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nX-Slow: ' "$HP"
          for _ in $(seq 60); do printf a || break; sleep 1; done; } 2>/dev/null |
            { curl -s -m 40 --interface "127.0.0.$a" "telnet://127.0.0.1:$HP" >/dev/null 2>&1
              date +%s%N >"$T/trickle.$a.$i.end"; } &
    done
done
# held_count: trickling connections the server holds open now
held_count() { ss -Htn state established "( sport = :$HP )" | grep -c ' 127\.0\.0\.[2-5]:' || true; }
check "the tricklers are connected" wait_for 5 sh -c "[ \$(ss -Htn state established '( sport = :$HP )' | grep -c ' 127\.0\.0\.[2-5]:') -ge 8 ]"
echo "# connections held from 127.0.0.2..5: $(held_count)"
f0=$(date +%s%N)
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL" || true)
f1=$(date +%s%N)
check "while they trickle, a fresh client gets the page (got $code in $(((f1 - f0) / 1000000)) ms)" \
    test "$code" = 200
check "... from another loopback address too" \
    test "$(curl -s -m 5 -o /dev/null -w '%{http_code}' --interface 127.0.0.9 "$URL")" = 200
all_ended() { [ "$(ls "$T"/trickle.*.end 2>/dev/null | wc -l)" -eq 32 ]; }
check "every trickler is cut off" wait_for 25 all_ended
last=0
for f in "$T"/trickle.*.end; do
    [ -f "$f" ] || continue
    e=$(cat "$f")
    [ "$e" -gt "$last" ] && last=$e
done
secs=$(((last - t0) / 1000000000))
echo "# the last trickler was cut after $secs s"
check "... by the deadline (10 s), not kept alive by its bytes (last after $secs s)" \
    test "$secs" -le 14
check "the page is still served" test "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL")" = 200
kill -TERM $hub
check "the hub stops on SIGTERM" wait_for 5 sh -c "! kill -0 $hub"

finish
