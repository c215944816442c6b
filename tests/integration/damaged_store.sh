#!/usr/bin/env bash
# damaged_store.sh: a damaged store is explained, never crashed on, never silently replaced
# (PROTOCOL.md §7, "Damaged stores" and "Store record"). On a store with records:
#   (a) data.mdb cut to half: status, verify, doctor and run each exit non-zero with "cut
#       short", die by no signal, and leave the file as it was;
#   (b) bytes XORed at seeded random offsets inside the data pages (several seeds): no
#       command dies by a signal or a sanitizer report; a flip in a meta page, or in the
#       bytes of records, makes verify (and doctor) exit non-zero;
#   (c) data.mdb emptied (zero length), then removed: the node says the store was emptied
#       or replaced (never "clean", never a new empty store), deletes nothing in the home,
#       and `aidmesh init --force` starts over.
# Seed: $AM_SEED (printed). Corruption is always an XOR of bytes.
. "$(dirname "$0")/lib.sh"

SEED=${AM_SEED:-$(( $(date +%s) % 100000 ))}
echo "# seed $SEED (rerun with AM_SEED=$SEED)"
RANDOM=$SEED
ROUNDS=${AM_DAMAGE_ROUNDS:-16}
FLIPS=${AM_DAMAGE_FLIPS:-24}
A=$AIDMESH
# ASan lets a program install its own SIGSEGV/SIGBUS handler (the store's guard around a
# scan); say so in case the environment turned it off. strict_memcmp=0: LMDB (a system
# library, not instrumented) compares keys with memcmp on pages this test damaged; by
# default ASan reports every byte memcmp was allowed to read, although the comparison stops
# at the first differing byte. It still reports a byte that is actually read out of bounds
# (seed 75264 was reported in strict mode only, on this code and on the code before it).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allow_user_segv_handler=1:strict_memcmp=0"

# runs CMD... (bounded by a timeout) into $T/last.out; sets RC
run_cmd() {
    RC=0
    timeout 30 "$@" >"$T/last.out" 2>&1 || RC=$?
}
sanitizer_report() { grep -Eq 'Sanitizer|runtime error:' "$T/last.out"; }
# survives "what" CMD...: no death by a signal (exit < 128, no timeout) and no sanitizer report
survives() {
    local what=$1
    shift
    run_cmd "$@"
    if [ "$RC" -lt 124 ] && ! sanitizer_report; then ok "$what (exit $RC)"; else
        not_ok "$what: exit $RC"; sed 's/^/    /' "$T/last.out" | head -30; fi
}
# explains "what" REGEX CMD...: exits 1..123 (not a signal), says REGEX, no sanitizer report
explains() {
    local what=$1 re=$2
    shift 2
    run_cmd "$@"
    if [ "$RC" -ge 1 ] && [ "$RC" -lt 124 ] && grep -Eq -- "$re" "$T/last.out" && ! sanitizer_report
    then ok "$what"; else not_ok "$what: exit $RC, want /$re/ in:"; sed 's/^/    /' "$T/last.out" | head -30; fi
}
# xor_byte FILE OFFSET MASK: XORs one byte of FILE in place
xor_byte() {
    local f=$1 off=$2 mask=$3 b
    b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
    printf "\\$(printf '%03o' $(( b ^ mask )))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
fresh_copy() { rm -rf "$2"; cp -a "$1" "$2"; }
the_commands() { # the commands every damaged home is tried with
    local h=$1
    CMDS=("$A --home $h status" "$A --home $h verify" "$A --home $h doctor --no-network")
}

# A store with records: sites, items, needs, stock, and entries of a second kind.
H=$T/hub
check "init" $A --home "$H" init --name hub
check "a site" $A --home "$H" site add hub-north --name "Hub North" --kind hub
for i in 1 2 3; do
    check "item $i" $A --home "$H" item add item-$i --name "Item $i" --unit piece --category health
    check "need $i" $A --home "$H" need add --site hub-north --item item-$i --qty $((i * 7)) \
        --priority high --note "marker-$i-zqxj"
    check "stock $i" $A --home "$H" stock receive --site hub-north --item item-$i --qty $((i * 11))
done
check "more entries" "$AM_TESTTOOL" append "$H" --size 20 --batches 10
check "the healthy store verifies clean" $A --home "$H" verify
check "the store record was written beside it" grep -q '^install_id = ' "$H/store.id"
PSIZE=$(getconf PAGESIZE)
SIZE=$(stat -c %s "$H/store/data.mdb")
echo "# data.mdb: $SIZE bytes, pages of $PSIZE"

# ---- (a) cut short ------------------------------------------------------------------------
C=$T/cut
fresh_copy "$H" "$C"
truncate -s $(( SIZE / 2 )) "$C/store/data.mdb"
sum=$(md5sum <"$C/store/data.mdb")
the_commands "$C"
for cmd in "${CMDS[@]}" "$A --home $C run --listen 127.0.0.1:0 --no-discovery"; do
    explains "cut short: '${cmd#"$A --home $C "}' explains and exits" \
        "cut short.*restore .* from a backup" $cmd
done
check "cut short: the file is left as it was" test "$(md5sum <"$C/store/data.mdb")" = "$sum"

# ---- (b) flipped bytes ----------------------------------------------------------------------
# In a meta page: the magic of page 0 or of page 1.
for page in 0 1; do
    F=$T/meta$page
    fresh_copy "$H" "$F"
    xor_byte "$F/store/data.mdb" $(( page * PSIZE + 16 + RANDOM % 4 )) $(( 1 + RANDOM % 255 ))
    the_commands "$F"
    for cmd in "${CMDS[@]}"; do
        explains "meta page $page flipped: '${cmd#"$A --home $F "}' explains" \
            "damaged: its header \(LMDB meta page $page\)" $cmd
    done
done
# In the records: a byte in each copy of a note (the entry that carries it, and its view).
F=$T/rec
fresh_copy "$H" "$F"
for off in $(grep -oba "marker-2-zqxj" "$F/store/data.mdb" | cut -d: -f1); do
    xor_byte "$F/store/data.mdb" $(( off + 3 )) $(( 1 + RANDOM % 255 ))
done
explains "a flipped record: verify reports it" "PROBLEMS FOUND|bad signature|do not match" \
    $A --home "$F" verify
explains "a flipped record: doctor fails" "FAIL" $A --home "$F" doctor --no-network
# Anywhere in the data pages, seeded: whatever is hit, no command dies.
bad_verify=0
for round in $(seq "$ROUNDS"); do
    F=$T/flip
    fresh_copy "$H" "$F"
    offs=""
    for _ in $(seq "$FLIPS"); do
        off=$(( 2 * PSIZE + ( (RANDOM << 15 | RANDOM) % (SIZE - 2 * PSIZE) ) ))
        offs="$offs $off"
        xor_byte "$F/store/data.mdb" "$off" $(( 1 + RANDOM % 255 ))
    done
    echo "# round $round: XORed bytes at$offs"
    the_commands "$F"
    for cmd in "${CMDS[@]}"; do
        survives "round $round: '${cmd#"$A --home $F "}' dies by no signal" $cmd
        case $cmd in *verify) [ "$RC" -ne 0 ] && bad_verify=$((bad_verify + 1)) ;; esac
    done
done
echo "# verify found damage in $bad_verify of $ROUNDS rounds (a flip in free space is harmless)"

# ---- (c) emptied, then removed --------------------------------------------------------------
E=$T/wiped
fresh_copy "$H" "$E"
: >"$E/store/data.mdb"
ls -A "$E" | sort >"$T/before"
the_commands "$E"
for cmd in "${CMDS[@]}"; do
    explains "emptied: '${cmd#"$A --home $E "}' says the store was emptied" \
        "store was emptied or replaced.*is empty" $cmd
done
check "emptied: data.mdb is still empty (no new store made in its place)" \
    test ! -s "$E/store/data.mdb"
rm "$E/store/data.mdb"
for cmd in "${CMDS[@]}" "$A --home $E run --listen 127.0.0.1:0 --no-discovery"; do
    explains "removed: '${cmd#"$A --home $E "}' says the store was emptied" \
        "store was emptied or replaced.*is missing" $cmd
done
check "removed: no new store was made in its place" test ! -e "$E/store/data.mdb"
ls -A "$E" | sort >"$T/after"
check "nothing else in the home was deleted" diff "$T/before" "$T/after"

# Another install's data.mdb in this home.
O=$T/other
check "another node" $A --home "$O" init --name other
fresh_copy "$H" "$T/swap"
cp "$O/store/data.mdb" "$T/swap/store/data.mdb"
explains "replaced: status says whose store it is" "store was replaced.*another install" \
    $A --home "$T/swap" status

# Starting over is still possible, and a fresh home still initialises.
code=$($A --home "$H" invite)
check "init --force starts over on the wiped home" $A --home "$E" init --force --join "$code"
check "and the new store verifies clean" $A --home "$E" verify
check "the old record is kept beside the new one" sh -c "ls '$E' | grep -q 'store.id.replaced-'"
check "a restored copy of the store is accepted" sh -c \
    "cp '$H/store/data.mdb' '$T/x.mdb' && rm '$H/store/data.mdb' && cp '$T/x.mdb' '$H/store/data.mdb' && $A --home '$H' verify"
finish
