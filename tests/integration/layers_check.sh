#!/usr/bin/env bash
# layers_check.sh: tools/check-layers.sh, on a copy of the source tree (crdt/, transport/,
# node/, tools/, the exceptions list and the .md documents). It passes on the copy as it
# is; then one violation at a time is planted in a fresh copy, and the check must exit 1
# and print exactly that violation as FILE:LINE: rule, and no other one:
#   - crdt/ including "store.h" (node/store.h, resolved by name);
#   - transport/sync.c including <uv.h>, and the engine including transport/uv_*.h;
#   - a node/ file that is not node/store* including <lmdb.h>, or node/store_int.h;
#   - node/ including a tools/ header;
#   - a tools/ file including <lmdb.h> without saying "raw LMDB ceiling" (and with it: ok);
#   - a 1,501-line file (and a 1,500-line one: ok);
#   - a listed exception that grows past its LINES, or is back within the budget;
#   - a call of sprintf, or of gets (and none for fgets, snprintf, a name in a comment or a
#     string);
#   - a comment citing a document that does not exist, a PROTOCOL.md section number that
#     is not a heading (on one line, or after a line break), or a section name that no
#     heading holds (and none for the real documents, sections and names);
#   - a row of the table of limits (PROTOCOL.md §2) whose value is not the one of
#     crdt/am_limits.h, a row naming a constant the header does not define, and a limit
#     of the header with no row.
# Also: an #include inside a comment is not an include, and --help exits 0.
# Runs no aidmesh binary; each check is bounded by `timeout`.
AIDMESH=${AIDMESH:-unused} AM_TESTTOOL=${AM_TESTTOOL:-unused}
. "$(dirname "$0")/lib.sh"

SRC=${AM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CHECK=$SRC/tools/check-layers.sh
EXC=tools/check-layers.exceptions

mkdir -p "$T/clean"
cp -R "$SRC/crdt" "$SRC/transport" "$SRC/node" "$SRC/tools" "$T/clean/"
[ -f "$SRC/$EXC" ] && cp "$SRC/$EXC" "$T/clean/$EXC"
# the documents comments may cite (README.md, PROTOCOL.md, ...), where they are
(cd "$SRC" && find . \( -name .git -o -path './build*' \) -prune -o -type f -name '*.md' -print) |
    while IFS= read -r d; do
        mkdir -p "$T/clean/$(dirname "$d")" && cp "$SRC/$d" "$T/clean/$d"
    done
W=$T/work

run_check() {
    local rc=0
    timeout 60 bash "$CHECK" "$W" >"$T/out" 2>"$T/err" || rc=$?
    echo "$rc" >"$T/rc"
}
fresh() { rm -rf "$W" && cp -R "$T/clean" "$W"; }
# first_include FILE: the line number of its first #include
first_include() { grep -n -m1 '^[[:space:]]*#[[:space:]]*include' "$1" | cut -d: -f1; }
# replace_line FILE N TEXT: line N of FILE becomes TEXT (the line count does not change,
# so a file listed in the exceptions does not also grow)
replace_line() {
    awk -v n="$2" -v t="$3" 'NR == n { print t; next } { print }' "$1" >"$1.new" && mv "$1.new" "$1"
}
# The violations of the unmodified copy (none on a sound tree; the first check says so).
# The checks after it count only what a plant adds, so each still tells its own story
# while someone else's file is over a rule.
: >"$T/base"
base_rc=0
# new_lines: the violations of the last run that the unmodified copy does not have
new_lines() { sort "$T/out" | comm -13 "$T/base" -; }
# planted WHAT FILE:LINE REGEX: the check exits 1 and adds that one violation only
planted() {
    local what=$1 at=$2 re=$3
    run_check
    new_lines >"$T/new"
    if [ "$(cat "$T/rc")" = 1 ] && [ "$(wc -l <"$T/new")" -eq 1 ] &&
        grep -Eq -- "^$at: .*$re" "$T/new"; then
        ok "$what: $(cat "$T/new")"
    else
        not_ok "$what: wanted exit 1 and one new line '$at: ...$re', got exit $(cat "$T/rc"):"
        sed 's/^/    /' "$T/out" "$T/err"
    fi
}
# clean_check WHAT: the check adds no violation (and exits as on the unmodified copy)
clean_check() {
    local what=$1
    run_check
    new_lines >"$T/new"
    if [ "$(cat "$T/rc")" = "$base_rc" ] && [ ! -s "$T/new" ]; then ok "$what"; else
        not_ok "$what: wanted exit $base_rc and no new violation, got exit $(cat "$T/rc"):"
        sed 's/^/    /' "$T/out" "$T/err"
    fi
}
# a .c file of FOLDER whose name does not match the extended regex SKIP
pick_c() { ls "$W/$1"/*.c | sed "s|^$W/||" | grep -Ev -- "$2" | head -1; }

# --- the tree as it is -------------------------------------------------------------------
check "--help exits 0 and states the rules" bash -c "bash '$CHECK' --help | grep -q 'raw LMDB ceiling'"
refute "an unknown option is a usage error" bash "$CHECK" --frobnicate
fresh
run_check
sort "$T/out" >"$T/base"
base_rc=$(cat "$T/rc")
if [ "$base_rc" = 0 ] && [ ! -s "$T/base" ]; then ok "the unmodified copy passes"; else
    not_ok "the unmodified copy passes: got exit $base_rc:"
    sed 's/^/    /' "$T/out" "$T/err"
fi

# --- include rules -----------------------------------------------------------------------
fresh
f=$(pick_c crdt '^$')
n=$(first_include "$W/$f")
replace_line "$W/$f" "$n" '#include "store.h"'
planted "crdt includes node/store.h" "$f:$n" 'includes node/store\.h: crdt/ must not include from node/'

fresh
f=transport/sync.c
n=$(first_include "$W/$f")
replace_line "$W/$f" "$n" '#include <uv.h>'
planted "the transport engine includes uv.h" "$f:$n" 'includes uv\.h: the transport engine never includes uv\.h'

fresh
if ls "$W"/transport/uv_*.h >/dev/null 2>&1; then
    h=$(basename "$(ls "$W"/transport/uv_*.h | head -1)")
    n=$(first_include "$W/$f")
    replace_line "$W/$f" "$n" "#include \"$h\""
    planted "the transport engine includes a libuv adapter header" "$f:$n" "includes uv\\.h through transport/$h"
fi

fresh
f=$(pick_c node '/store')
n=$(first_include "$W/$f")
replace_line "$W/$f" "$n" '#include <lmdb.h>'
planted "a node/ file that is not the store includes lmdb.h" "$f:$n" 'includes lmdb\.h: only node/store\* includes lmdb\.h'

fresh
replace_line "$W/$f" "$n" '#include "store_int.h"'
planted "a node/ file that is not the store includes store_int.h" "$f:$n" 'includes lmdb\.h through node/store_int\.h'

fresh
h=$(basename "$(ls "$W"/tools/*.h | head -1)")
replace_line "$W/$f" "$n" "#  include \"$h\""
planted "node includes a tools/ header" "$f:$n" "includes tools/$h: node/ must not include from tools/"

fresh
t=$(grep -L 'lmdb\.h' "$W"/tools/*.c | head -1 | sed "s|^$W/||")
n=$(first_include "$W/$t")
replace_line "$W/$t" "$n" '#include <lmdb.h>'
planted "a tools/ file includes lmdb.h without saying why" "$t:$n" 'includes lmdb\.h: only node/store\*'
replace_line "$W/$t" "$n" '#include <lmdb.h> /* measures the raw LMDB ceiling */'
clean_check "a tools/ bench that says it measures the raw LMDB ceiling may include lmdb.h"

fresh
f=$(pick_c crdt '^$')
printf '/*\n#include <uv.h>\n */\n// #include "store.h"\nstatic const char *am_glob_ = "a/*b";\n' >>"$W/$f"
clean_check "includes inside comments and a \"/*\" inside a string are not includes"
printf '#include "daemon.h"\n' >>"$W/$f"
planted "an include after a string holding \"/*\" is still seen" "$f:$(wc -l <"$W/$f")" 'includes node/daemon\.h'

# --- bounded string calls ----------------------------------------------------------------
fresh
f=$(pick_c crdt '^$')
printf '%s\n' '/* strcpy(a, b) and gets(b) in a comment */' \
    'static const char *am_calls_ = "sprintf(s, \"%%d\", 1); strcat(";' \
    'static int am_calls_f_(char *b, FILE *f)' \
    '{ return fgets(b, 2, f) && snprintf(b, 2, "x") > 0; }' >>"$W/$f"
clean_check "fgets, snprintf, and banned names in a comment or a string are no calls"
printf '    sprintf(buf, "%%d", n);\n' >>"$W/$f"
planted "a call of sprintf" "$f:$(wc -l <"$W/$f")" 'uses sprintf, which writes without a bound'

fresh
t=$(pick_c tools '^$')
printf 'static char *am_line_(char *b) { return gets(b); }\n' >>"$W/$t"
planted "a call of gets" "$t:$(wc -l <"$W/$t")" 'uses gets, which writes without a bound'

# --- cited documents ---------------------------------------------------------------------
fresh
f=$(pick_c crdt '^$')
printf '%s\n' '/* PROTOCOL.md §10.2, §11.3; PROTOCOL.md sections 11.3, 11.7; README.md and' \
    ' * ../shared/DESIGN.md; (PROTOCOL.md' \
    ' * section 7.1); PROTOCOL.md "Clocks"; PROTOCOL.md 8.5, 16 bytes */' \
    'static const char *am_doc_ = "NOPE.md, PROTOCOL.md §99";' >>"$W/$f"
clean_check "real documents, sections and names, and a citation in a string, pass"
printf '/* the format: NOPE-PROTOCOL.md, section 2 */\n' >>"$W/$f"
planted "a comment citing a document that does not exist" "$f:$(wc -l <"$W/$f")" 'cites NOPE-PROTOCOL\.md, which is not a document of this project'

fresh
printf '/* the bytes: PROTOCOL.md §8.5, §99.1 */\n' >>"$W/$f"
planted "a PROTOCOL.md section that is not a heading" "$f:$(wc -l <"$W/$f")" 'cites PROTOCOL\.md section 99\.1, which is not a numbered heading'

fresh
printf '/* the bytes (PROTOCOL.md\n * section 99) */\n' >>"$W/$f"
planted "a PROTOCOL.md section that is not a heading, after a line break" "$f:$(wc -l <"$W/$f")" 'cites PROTOCOL\.md section 99,'

fresh
printf '/* the rules (PROTOCOL.md section "No Such Section") */\n' >>"$W/$f"
planted "a PROTOCOL.md section name that no heading holds" "$f:$(wc -l <"$W/$f")" 'cites PROTOCOL\.md "No Such Section", which names no heading'

# --- the table of limits (PROTOCOL.md §2 and crdt/am_limits.h) ----------------------------
# the first row of the table: its line, its constant and its exact value
row=$(awk '/^##[ \t]/ { in2 = ($0 ~ /^##[ \t]+2\.[ \t]+Limits/); next }
    in2 && match($0, /^\|[^|]*\| `AM_[A-Z0-9_]+` \|[^|`]*`[0-9]+`/) {
        split($0, c, "|"); name = c[3]; gsub(/[ `]/, "", name)
        match(c[4], /`[0-9]+`/); print FNR, name, substr(c[4], RSTART + 1, RLENGTH - 2); exit
    }' "$SRC/PROTOCOL.md")
if [ -n "$row" ]; then
    read -r n name val <<<"$row"
    fresh
    # the value cell (the fourth) says one more than the header
    awk -v n="$n" -v v="$val" 'BEGIN { FS = OFS = "|" }
        NR == n { sub("`" v "`", "`" (v + 1) "`", $4) } { print }' "$W/PROTOCOL.md" >"$W/p.new" &&
        mv "$W/p.new" "$W/PROTOCOL.md"
    planted "a §2 row whose value is not the header's" "PROTOCOL.md:$n" \
        "gives $name as $((val + 1)), but crdt/am_limits.h makes it $val"

    fresh
    awk -v n="$n" '{ print } NR == n { print "| planted | `AM_PLANTED_NONE` | `1` | none |" }' \
        "$W/PROTOCOL.md" >"$W/p.new" && mv "$W/p.new" "$W/PROTOCOL.md"
    planted "a §2 row naming a constant the header does not define" "PROTOCOL.md:$((n + 1))" \
        'names AM_PLANTED_NONE, which crdt/am_limits.h does not define'
else
    not_ok "PROTOCOL.md has no §2 table of limits with a row \`AM_...\` | \`N\`"
fi

fresh
n=$(grep -n '^#endif' "$W/crdt/am_limits.h" | tail -1 | cut -d: -f1)
replace_line "$W/crdt/am_limits.h" "$n" '#define AM_PLANTED_MAX (AM_ENTRY_MAX + 1u)
#endif'
planted "a limit of crdt/am_limits.h with no row in PROTOCOL.md §2" "crdt/am_limits.h:$n" \
    'AM_PLANTED_MAX is a limit with no row in the PROTOCOL.md §2 table'

# --- size budget -------------------------------------------------------------------------
fresh
seq 1 1500 | sed 's|^|// line |' >"$W/crdt/planted_size.c"
clean_check "a 1,500-line file is within the budget"
echo '// line 1501' >>"$W/crdt/planted_size.c"
planted "a 1,501-line file is over the budget" "crdt/planted_size.c:1501" 'has 1501 lines, over the budget of 1500'

fresh
first=$(grep -Ev '^[[:space:]]*(#|$)' "$W/$EXC" | head -1 || true)
if [ -n "$first" ]; then
    p=$(echo "$first" | awk '{print $1}')
    max=$(echo "$first" | awk '{print $2}')
    lines=$(wc -l <"$W/$p")
    seq "$lines" "$max" | sed 's|^|// grown |' >>"$W/$p" # now max + 1 lines
    planted "a listed file that grows past its exception" "$p:$((max + 1))" "past its exception of $max"
else
    ok "no file is listed in $EXC: nothing can grow past an exception"
fi

fresh
f=$(pick_c crdt '^$')
echo "$f 1600 planted: a file within the budget" >>"$W/$EXC"
planted "an exception for a file within the budget must go" "$EXC:$(wc -l <"$W/$EXC")" "$f has [0-9]+ lines, within the 1500-line budget: remove this line"

# the list can only shrink: with git, a new line or a raised LINES against HEAD is refused
if command -v git >/dev/null 2>&1; then
    fresh
    f=$(pick_c crdt '^$')
    seq 1 1501 | sed 's|^|// line |' >"$W/$f"
    echo "$f 1501 planted: committed" >>"$W/$EXC"
    git -C "$W" init -q && git -C "$W" add -A &&
        git -C "$W" -c user.name=t -c user.email=t@localhost -c commit.gpgsign=false commit -qm planted
    clean_check "a committed exception holds in a git work tree"
    sed -i "s|^$f 1501 |$f 1502 |" "$W/$EXC"
    planted "raising LINES above HEAD's is refused" "$EXC:$(wc -l <"$W/$EXC")" "raises the budget of $f from 1501 to 1502"
    sed -i "s|^$f 1502 |$f 1501 |" "$W/$EXC"
    g=$(pick_c node '^$')
    seq 1 1501 | sed 's|^|// line |' >"$W/$g"
    echo "$g 1501 planted: not committed" >>"$W/$EXC"
    planted "a line that HEAD does not list is refused" "$EXC:$(wc -l <"$W/$EXC")" "$g is not in the committed list"
fi

finish
