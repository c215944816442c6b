#!/usr/bin/env bash
# stick_fat32.sh: the sneakernet on a real FAT32 file system (mkfs.vfat on an image file,
# mounted with fusefat), with real aidmesh processes and no network at all:
#  - a runner carries one stick A -> B -> C -> A -> B -> C; the visits table tells A that B
#    is behind; in the end all three hold the same records (same fingerprint);
#  - replaying a stick changes nothing; the file system stays clean (fsck);
#  - nothing readable on the raw image: no site name, no op text, no author id;
#  - another network's node is refused and writes nothing;
#  - a segment cut short on the stick: its prefix imports, the next sync leaves it clean;
#  - a small stick fills up: clear message, the stick stays valid, a bigger one takes all;
#  - aidmesh run --watch-sticks: a stick mounted below the watched folder is synced with
#    no command, a blank one is left alone unless the operator opted in.
# Needs root (or a user allowed to use FUSE), /dev/fuse, mkfs.vfat and fusefat
# (tools/install-deps.sh installs dosfstools and fusefat); says SKIP only if FUSE is
# impossible here. Every mount is undone on exit.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
MOUNTS=()
stick_cleanup() {
    local m
    for m in "${MOUNTS[@]}"; do
        mountpoint -q "$m" 2>/dev/null && { fusermount -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
    done
    am_cleanup
}
trap stick_cleanup EXIT

skip() { echo "SKIP: $*"; exit 0; }
for tool in mkfs.vfat fusefat fusermount mountpoint strings fsck.vfat; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed (tools/install-deps.sh installs dosfstools and fusefat)"
done
[ -c /dev/fuse ] || skip "no /dev/fuse here (a container without FUSE?)"

# mkimg IMAGE MIB [mkfs options]: a fresh FAT32 image
mkimg() {
    local img=$1 mib=$2
    shift 2
    rm -f "$img"
    truncate -s "${mib}M" "$img"
    mkfs.vfat -F 32 -n AIDSTICK "$@" "$img" >/dev/null 2>&1
}
# plug IMAGE DIR: mount like a stick being plugged in. fusefat runs in the foreground as a
# job of this script, so unplug can wait for it to finish writing the image.
declare -A FUSE_PID
plug() {
    mkdir -p "$2"
    fusefat -f -o rw+ "$1" "$2" >/dev/null 2>&1 &
    FUSE_PID[$2]=$!
    MOUNTS+=("$2")
    wait_for 10 mountpoint -q "$2"
}
# unplug DIR: unmount, then wait until its fusefat has written everything and exited
unplug() {
    local i pid=${FUSE_PID[$1]:-}
    for i in 1 2 3 4 5 6 7 8 9 10; do
        fusermount -u "$1" 2>>"$T/unplug.err" && break
        sleep 0.3
    done
    if mountpoint -q "$1"; then
        echo "# unplug $1 failed: $(tail -1 "$T/unplug.err")"
        umount -l "$1"
    fi
    if [ -n "$pid" ]; then
        for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        wait "$pid" 2>/dev/null || true
        unset "FUSE_PID[$1]"
    fi
}
# fp HOME STICK: the node's fingerprint (from stick status --json)
fp() { "$A" --home "$1" stick status "$2" --json | sed 's/.*"fingerprint":"\([0-9a-f]*\)".*/\1/'; }
# stick_files DIR: name, size and hash of every file on the stick, one per line
stick_files() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }

mkimg "$T/probe.img" 8 || skip "mkfs.vfat cannot make an image here"
plug "$T/probe.img" "$T/probe" || skip "fusefat cannot mount here (FUSE not permitted?)"
unplug "$T/probe"

# ---- three sites with their own records, and an outsider ---------------------------------
check "init hub" $A --home "$T/A" init --name hub-kakuma-north
code=$($A --home "$T/A" invite)
check "init clinic (joins)" $A --home "$T/B" init --name clinic-zebra-17 --join "$code"
check "init shelter (joins)" $A --home "$T/C" init --name shelter-lotus-9 --join "$code"
check "init outsider (own network)" $A --home "$T/O" init --name outsider-quartz
check "hub records" "$AM_TESTTOOL" append "$T/A" --size 50 --batches 4
check "clinic records" "$AM_TESTTOOL" append "$T/B" --size 30 --batches 3
check "shelter records" "$AM_TESTTOOL" append "$T/C" --size 20 --batches 2
check "outsider records" "$AM_TESTTOOL" append "$T/O" --size 5 --batches 1

mkimg "$T/stick.img" 64
S=$T/mnt
# ---- the runner: A -> B -> C -> A ---------------------------------------------------------
visit() { # visit HOME: plug, sync, unplug
    plug "$T/stick.img" "$S" || return 1
    "$A" --home "$1" stick sync "$S" >"$T/visit.out" 2>&1
    local rc=$?
    cat "$T/visit.out" >>"$T/visits.log"
    unplug "$S"
    [ $rc -eq 0 ] && grep -q "safe to unplug" "$T/visit.out"
}
check "visit 1: hub sets the stick up" visit "$T/A"
check "  and says it set it up" grep -q "(set up now)" "$T/visit.out"
check "visit 2: clinic" visit "$T/B"
check "  got the hub's 200" grep -q "imported 200 new entries" "$T/visit.out"
check "visit 3: shelter" visit "$T/C"
check "  got 290" grep -q "imported 290 new entries" "$T/visit.out"
check "visit 4: hub again" visit "$T/A"
check "  got 130" grep -q "imported 130 new entries" "$T/visit.out"
check "hub and shelter now hold the same" test "$(entries "$T/A")" = 330 -a "$(entries "$T/C")" = 330
plug "$T/stick.img" "$S"
expect_out "status at the hub: the clinic is behind by the shelter's 40" \
    "clinic-zebra-17 .* behind this node by 40 entries from 1 author" \
    $A --home "$T/A" stick status "$S"
expect_out "status --json" '"behind_entries":40' $A --home "$T/A" stick status "$S" --json
expect_out "status --scan agrees" "clinic-zebra-17 .* behind this node by 40 entries" \
    $A --home "$T/A" stick status "$S" --scan
# ---- replay changes nothing ----------------------------------------------------------------
stick_files "$S" >"$T/before.sum"
expect_out "replaying the stick at the hub moves nothing" "nothing to exchange" \
    $A --home "$T/A" stick sync "$S"
stick_files "$S" >"$T/after.sum"
check "  and does not change a byte on it" cmp -s "$T/before.sum" "$T/after.sum"
# ---- another network -------------------------------------------------------------------------
refute "the outsider's sync is refused" $A --home "$T/O" stick sync "$S"
expect_out "  saying why" "belongs to another relief network \(id [0-9a-f]{16}\)" \
    $A --home "$T/O" stick sync "$S"
stick_files "$S" >"$T/after2.sum"
check "  nothing written" cmp -s "$T/before.sum" "$T/after2.sum"
check "  nothing imported" test "$(entries "$T/O")" = 5
unplug "$S"
# ---- the second round: everyone converges -------------------------------------------------
check "visit 5: clinic" visit "$T/B"
check "visit 6: shelter" visit "$T/C"
plug "$T/stick.img" "$S" # not inside $(...): unplug must know its fusefat to wait for it
fa=$(fp "$T/A" "$S")
fb=$(fp "$T/B" "$S")
fc=$(fp "$T/C" "$S")
unplug "$S"
check "all three sites hold the same records (fingerprint $fa)" test -n "$fa" -a "$fa" = "$fb" -a "$fb" = "$fc"
check "each holds 330 entries" test "$(entries "$T/B")" = 330
for h in A B C; do check "verify $h" $A --home "$T/$h" verify; done
check "the FAT32 file system is clean" fsck.vfat -n "$T/stick.img"

# ---- nothing in clear on the raw image ---------------------------------------------------------
strings -n 6 "$T/stick.img" >"$T/strings.txt"
for word in hub-kakuma-north clinic-zebra-17 shelter-lotus-9 pppppppppp; do
    refute "no '$word' on the raw image" grep -q -- "$word" "$T/strings.txt"
done
od -An -v -tx1 "$T/stick.img" | tr -d ' \n' >"$T/image.hex"
for h in A B C; do
    author=$($A --home "$T/$h" status --json | sed 's/.*"author":"\([0-9a-f]*\)".*/\1/')
    refute "no author id of $h in hex" grep -qi -- "${author:0:16}" "$T/strings.txt"
    refute "no author id of $h in binary" grep -q -- "${author:0:24}" "$T/image.hex"
done

# ---- a segment cut short (the stick pulled mid-write) ------------------------------------------
check "clinic writes more" "$AM_TESTTOOL" append "$T/B" --size 100 --batches 10
check "visit 7: clinic" visit "$T/B"
plug "$T/stick.img" "$S"
last=$(ls "$S"/AIDMESH/*/S*.AMS | sort | tail -1)
size=$(stat -c %s "$last")
check "cut the newest segment in half (a yanked write)" truncate -s $((size / 2)) "$last"
check "init a new site" $A --home "$T/D" init --name depot-4 --join "$code"
expect_out "the new site imports the prefix and reports the cut" "cut short at byte" \
    $A --home "$T/D" stick sync "$S"
d1=$(entries "$T/D")
check "  the valid prefix was imported ($d1 of 1,330)" test "$d1" -gt 330 -a "$d1" -lt 1330
expect_out "the clinic's next sync refills it" "exported [0-9,]+ entries" $A --home "$T/B" stick sync "$S"
expect_out "the stick is clean again" "damage: +none" $A --home "$T/D" stick status "$S" --scan
check "the new site gets the rest" $A --home "$T/D" stick sync "$S"
check "  all 1,330" test "$(entries "$T/D")" = 1330
unplug "$S"
check "the file system is still clean" fsck.vfat -n "$T/stick.img"

# ---- a small stick fills up; a bigger one takes everything ------------------------------------------
check "the depot writes a lot" "$AM_TESTTOOL" append "$T/D" --size 1000 --batches 12
mkimg "$T/small.img" 3 -s 1 -S 512
plug "$T/small.img" "$T/small"
$A --home "$T/D" stick sync "$T/small" >"$T/full.out" 2>&1
check "a sync on a full stick succeeds" test $? -eq 0
check "  says it is full and how much did not fit" \
    grep -Eq "the stick is full: [0-9,]+ entries from [0-9]+ authors? did not fit" "$T/full.out"
check "  and that it is safe to unplug" grep -q "safe to unplug" "$T/full.out"
sed 's/^/    /' "$T/full.out"
unplug "$T/small"
check "the small stick's file system is clean" fsck.vfat -n "$T/small.img"
plug "$T/small.img" "$T/small"
check "init a reader" $A --home "$T/E" init --name reader-5 --join "$code"
expect_out "the full stick is valid: a reader imports it with no damage" "damage: +none" \
    $A --home "$T/E" stick status "$T/small" --scan
# the last free bytes taken by another file: every record fits (the reader has nothing
# to give), but not the note of its visit
dd if=/dev/zero of="$T/small/filler" bs=4096 2>/dev/null || true
dd if=/dev/zero of="$T/small/filler2" bs=512 2>/dev/null || true
check "  reader syncs it" sh -c "'$A' --home '$T/E' stick sync '$T/small' >'$T/reader.out' 2>&1"
check "  says the stick is full though every record fit" \
    grep -q "the stick is full: every record fit, but not the note of this visit" "$T/reader.out"
refute "  never that 0 entries did not fit" grep -Eq "[^0-9,]0 entries .*did not fit" "$T/reader.out"
sed 's/^/    /' "$T/reader.out"
rm -f "$T/small/filler" "$T/small/filler2"
e1=$(entries "$T/E")
check "  and gets part of it ($e1 entries)" test "$e1" -gt 1330 -a "$e1" -lt 13330
expect_out "a second sync on the full stick stays clean" "safe to unplug" \
    $A --home "$T/D" stick sync "$T/small"
expect_out "  (still no damage)" "damage: +none" $A --home "$T/E" stick status "$T/small" --scan
unplug "$T/small"
mkimg "$T/big.img" 64
plug "$T/big.img" "$T/big"
$A --home "$T/D" stick sync "$T/big" >"$T/big.out" 2>&1
check "a bigger stick takes everything" grep -q "exported 13,330 entries" "$T/big.out"
refute "  without filling up" grep -q "is full" "$T/big.out"
check "  the reader gets the rest from it" $A --home "$T/E" stick sync "$T/big"
check "  all 13,330" test "$(entries "$T/E")" = 13330
unplug "$T/big"

# ---- watch mode ---------------------------------------------------------------------------------
check "the clinic writes 9 more" "$AM_TESTTOOL" append "$T/B" --size 9 --batches 1
check "visit: clinic" visit "$T/B"
mkdir -p "$T/media/usb0" "$T/media/usb1"
P=$(pick_port)
$A --home "$T/C" run --listen 127.0.0.1:$P --no-discovery --watch-sticks "$T/media" >"$T/watch.log" 2>&1 &
runner=$!
check "the node watches the folder" wait_for 10 grep -q "watching $T/media for sticks" "$T/watch.log"
before=$(entries "$T/C")
check "a stick is mounted below it" plug "$T/stick.img" "$T/media/usb0"
check "  and synced with no command" \
    wait_for 20 grep -Eq "stick $T/media/usb0 synced: got [0-9]+, gave [0-9]+, safe to unplug" "$T/watch.log"
check "  bringing the clinic's new records" test "$(entries "$T/C")" -gt "$before"
mkimg "$T/blank.img" 64
check "a blank stick is mounted" plug "$T/blank.img" "$T/media/usb1"
check "  and left alone (no opt-in)" wait_for 20 grep -q "stick at $T/media/usb1: no aidmesh folder on it" "$T/watch.log"
check "  nothing was written on it" test -z "$(ls -A "$T/media/usb1" | grep -vx AIDSTICK)"
unplug "$T/media/usb0"
sleep 1
check "plugged in again" plug "$T/stick.img" "$T/media/usb0"
check "  synced again" wait_for 20 sh -c "test \$(grep -c 'stick $T/media/usb0 synced' '$T/watch.log') -ge 2"
kill -TERM $runner
check "the node stops cleanly" wait $runner
unplug "$T/media/usb0"
unplug "$T/media/usb1"
$A --home "$T/C" run --listen 127.0.0.1:$P --no-discovery --watch-sticks "$T/media" --init-blank-sticks >"$T/watch2.log" 2>&1 &
runner=$!
check "with --init-blank-sticks, a blank stick mounted below the folder" plug "$T/blank.img" "$T/media/usb1"
check "  is set up and synced" wait_for 20 grep -Eq "stick $T/media/usb1 synced: got 0, gave [0-9]+, safe to unplug" "$T/watch2.log"
kill -TERM $runner
check "the node stops cleanly" wait $runner
unplug "$T/media/usb1"
check "the blank stick's file system is clean" fsck.vfat -n "$T/blank.img"

# ---- a segment of another network in this network's folder (plain folders) ---------------------
PS=$T/plain-stick
OS=$T/outsider-stick
mkdir -p "$PS" "$OS"
check "the hub syncs a plain folder" $A --home "$T/A" stick sync "$PS"
check "the outsider syncs its own" $A --home "$T/O" stick sync "$OS"
foreign=$(ls "$OS"/AIDMESH/*/S*.AMS | head -1)
ours=$(ls -d "$PS"/AIDMESH/*/)
cp "$foreign" "${ours}S0000900.AMS"
rc=0
$A --home "$T/A" stick sync "$PS" >"$T/foreign.out" 2>&1 || rc=$?
check "the hub's sync with it runs to the end" grep -q "safe to unplug" "$T/foreign.out"
check "  and exits 4: it refused a segment of another network (got $rc)" test "$rc" -eq 4
check "  saying so" grep -q "^  1 segment file of another network (left in place)" "$T/foreign.out"
check "  naming the file as another network's" \
    grep -q "S0000900.AMS: .*its header names another network" "$T/foreign.out"
check "  and saying it was left in place, untouched" grep -q \
    "note: 1 segment file in this network's folder names another network (or has a damaged network id): left in place untouched; only this network's segments are read" \
    "$T/foreign.out"
refute "  never that it was cut back" grep -q "cut back" "$T/foreign.out"
check "  and it was not: the same bytes" cmp -s "$foreign" "${ours}S0000900.AMS"
$A --home "$T/B" stick sync "$PS" >"$T/foreign2.out" 2>&1 || true
check "the clinic's sync from that stick succeeds" grep -q "safe to unplug" "$T/foreign2.out"
check "  and says the same" grep -q "left in place untouched" "$T/foreign2.out"
refute "  never that it was cut short or cut back" grep -Eq "cut short|cut back" "$T/foreign2.out"
check "  still the same bytes" cmp -s "$foreign" "${ours}S0000900.AMS"
sed 's/^/    # /' "$T/foreign.out" "$T/foreign2.out"

sed 's/^/    # /' "$T/watch.log" | grep -i stick || true
finish
