#!/usr/bin/env bash
# check-layers.sh: checks the include rules of the layers (tools -> node -> transport ->
# crdt; see STYLE.md "Shape"), the per-file size budget, the ban on unbounded string
# calls, and that every document a comment cites exists (with its PROTOCOL.md sections),
# over the .c and .h files of crdt/, transport/, node/ and tools/; and that the table of
# limits in PROTOCOL.md §2 and crdt/am_limits.h agree. Reads files only;
# never changes one.
# Needs bash, coreutils, findutils, sed and a POSIX awk; git only for the optional ratchet.
set -u
export LC_ALL=C

BUDGET=1500
EXCEPTIONS=tools/check-layers.exceptions
# Documents outside the project that comments may cite (as ../shared/NAME or NAME).
SHARED_DOCS="DESIGN.md STYLE.md NOTES.md"

usage() {
    cat <<EOF
usage: check-layers.sh [ROOT]
       check-layers.sh --help

Checks the source tree at ROOT (default: the folder above this script) and prints each
violation as FILE:LINE: rule on stdout (nothing else: a summary goes to stderr). Exit
status: 0 when every rule holds, 1 when any is broken, 2 on a usage error.

Include rules (a quoted include is resolved first in the including file's folder, then
by name in crdt/, transport/, node/ and tools/: "store.h" from tools/ is node/store.h;
an angle include is resolved by name the same way, else it is a system header):
  - a layer includes only its own folder and the ones below it:
    crdt/ nothing from transport/, node/, tools/; transport/ nothing from node/, tools/;
    node/ nothing from tools/;
  - crdt/ includes no uv.h, lmdb.h or microhttpd.h;
  - the transport engine (transport/ except the libuv adapters transport/uv_*.c/.h)
    includes no uv.h and no lmdb.h; no file in transport/ includes microhttpd.h;
  - lmdb.h is included only by node/store* files, and by a tools/ bench that measures
    the raw LMDB ceiling and says so in a comment containing "raw LMDB ceiling";
  - a library header reached through a project header counts as included: a file that
    includes node/store_int.h includes lmdb.h, one that includes transport/uv_discovery.h
    includes uv.h;
  - no two folders hold a header of the same name (quoted includes resolve by name).

Size budget: no .c or .h file over $BUDGET lines, except those listed in
$EXCEPTIONS, one per line:
    PATH  LINES  REASON...
LINES is the most that file may have. The list can only shrink: a listed file that grows
past its LINES, or that is back within the budget, or that no longer exists, is a
violation; when ROOT is a git work tree whose HEAD holds the list, a path that HEAD does
not list, or LINES above HEAD's, is one too.

Bounded string calls: no code (comments and strings aside) uses strcpy, strcat,
sprintf, vsprintf or gets; use snprintf (checking the result where a cut value would be
wrong), a length-checked memcpy, or fgets.

Cited documents: a FILE.md that a comment names exists under ROOT (its path taken from
ROOT or from the citing file's folder; build*/ folders do not count), or is one of the
documents beside the project in ../shared/ ($SHARED_DOCS). A PROTOCOL.md
section that a comment cites by number ("PROTOCOL.md 7.1", "PROTOCOL.md §8.5, §9.5",
"PROTOCOL.md sections 11.3, 11.7", also across a line break of the comment) is a
numbered heading of ROOT/PROTOCOL.md; one cited by name ('PROTOCOL.md section "Stick"',
'PROTOCOL.md "Clocks"') is part of a heading or of a paragraph's bold lead-in
(**Store record.**), ignoring case.

Limits: crdt/am_limits.h and the table of PROTOCOL.md section 2 ("## 2. Limits") agree.
Every #define AM_* of the header below its line starting "/* ==== Limits" is a limit:
an integer expression of decimal numbers (u and L suffixes allowed), + - * / << >> and
parentheses, and AM_ names defined above it. Every limit has exactly one row of the
table whose "constant" column is its name in backticks, and the first number in
backticks in that row's "value" column (\`16384\` in "\`16384\` bytes (16 KiB)") is its
value; every row names such a limit.
EOF
}

case "${1:-}" in
-h | --help)
    usage
    exit 0
    ;;
-*)
    echo "check-layers.sh: unknown option '$1'; see check-layers.sh --help" >&2
    exit 2
    ;;
esac
if [ $# -gt 1 ]; then
    echo "check-layers.sh: expected at most one ROOT folder, got $#; see --help" >&2
    exit 2
fi
root=${1:-$(dirname "$0")/..}
if ! cd "$root" 2>/dev/null; then
    echo "check-layers.sh: cannot enter the source folder '$root'; give the project root" >&2
    exit 2
fi
for d in crdt transport node tools; do
    if [ ! -d "$d" ]; then
        echo "check-layers.sh: '$root' has no $d/ folder; give the project root" >&2
        exit 2
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/check-layers-XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

find crdt transport node tools -type f \( -name '*.c' -o -name '*.h' \) | sort >"$work/files"
if [ ! -s "$work/files" ]; then
    echo "check-layers.sh: no .c or .h file under '$root'; give the project root" >&2
    exit 2
fi
: >"$work/exceptions"
if [ -f "$EXCEPTIONS" ]; then cat "$EXCEPTIONS" >"$work/exceptions" || exit 2; fi
# The committed list, for the ratchet: only when ROOT is itself the top of a git work tree.
: >"$work/committed"
have_committed=0
if command -v git >/dev/null 2>&1 &&
    top=$(git rev-parse --show-toplevel 2>/dev/null) && [ "$top" -ef . ] &&
    git show "HEAD:$EXCEPTIONS" >"$work/committed" 2>/dev/null; then
    have_committed=1
fi

# The documents of the project, and the numbered headings and the names (headings and
# bold lead-ins) of PROTOCOL.md, for the citations in comments.
find . \( -name .git -o -path './build*' \) -prune -o -type f -name '*.md' -print |
    sed 's|^\./||' | sort >"$work/docs"
: >"$work/sections"
: >"$work/names"
if [ -f PROTOCOL.md ]; then
    awk -v names="$work/names" '
        /^[ \t]*```/ { fence = !fence; next }
        fence { next }
        /^#+[ \t]/ {
            h = $0; sub(/^#+[ \t]+/, "", h)
            print tolower(h) > names
            if (match(h, /^[0-9]+(\.[0-9]+)*\.?([ \t]|$)/)) {
                n = substr(h, 1, RLENGTH); sub(/[ \t]+$/, "", n); sub(/\.$/, "", n)
                print n
            }
            next
        }
        /^\*\*[^*]+\*\*/ { h = substr($0, 3); sub(/\*\*.*/, "", h); print tolower(h) > names }
    ' PROTOCOL.md >"$work/sections" || exit 2
fi

mapfile -t files <"$work/files"
awk -v list="$work/files" -v exc="$work/exceptions" \
    -v excname="$EXCEPTIONS" -v committed="$work/committed" -v have_committed="$have_committed" \
    -v budget="$BUDGET" -v docs="$work/docs" -v sections="$work/sections" \
    -v names="$work/names" -v shared_docs="$SHARED_DOCS" '
function layer_of(p) { return substr(p, 1, index(p, "/") - 1) }
function dir_of(p,   i) {
    for (i = length(p); i > 0 && substr(p, i, 1) != "/"; i--) ;
    return substr(p, 1, i - 1)
}
function base_of(p,   i) {
    for (i = length(p); i > 0 && substr(p, i, 1) != "/"; i--) ;
    return substr(p, i + 1)
}
# a/b/../c/./d -> a/c/d; "" when it climbs above the root
function norm(p,   n, parts, out, k, i) {
    n = split(p, parts, "/")
    k = 0
    for (i = 1; i <= n; i++) {
        if (parts[i] == "" || parts[i] == ".") continue
        if (parts[i] == "..") { if (k == 0) return ""; k--; continue }
        out[++k] = parts[i]
    }
    p = ""
    for (i = 1; i <= k; i++) p = p (i > 1 ? "/" : "") out[i]
    return p
}
# The project file an include names, or "" for a system header.
function resolve(file, name, quoted,   c, i) {
    if (quoted) {
        c = norm(dir_of(file) "/" name)
        if (c != "" && (c in exists)) return c
    }
    for (i = 1; i <= nlayers; i++) {
        c = norm(layers[i] "/" name)
        if (c != "" && (c in exists)) return c
    }
    return ""
}
function engine(p) { return layer_of(p) == "transport" && base_of(p) !~ /^uv_/ }
function store_file(p) { return p ~ /^node\/store[^\/]*$/ }
function violation(file, line, msg) { print file ":" line ": " msg }
# Is doc, as a comment of file names it, a document of the project (or of ../shared)?
function doc_ok(file, doc,   c, b) {
    b = base_of(doc)
    if (doc ~ /^(\.\.\/)+shared\/[^\/]+$/ || doc == b) if (b in shared) return 1
    c = norm(doc)
    if (c != "" && (c in isdoc)) return 1
    c = norm(dir_of(file) "/" doc)
    return c != "" && (c in isdoc)
}
# The section numbers and names cited in s, the text after "PROTOCOL.md" in a comment of
# file at line ln. Returns 1 when s holds nothing yet but may go on on the next line.
function check_sections(file, ln, s,   i, list, sect, num, cont, name, m) {
    i = 1; cont = 0
    if (match(s, /^[ \t]*(\(|,)?[ \t]*[Ss]ections?[ \t]*/)) { list = 1; i = RLENGTH + 1 }
    else if (match(s, /^[ \t]*/)) i = RLENGTH + 1
    if (substr(s, i, 1) == "\"") {
        name = substr(s, i + 1); m = index(name, "\"")
        if (m == 0) return 0
        name = tolower(substr(name, 1, m - 1))
        for (m = 1; m <= nnames; m++) if (index(pnames[m], name)) return 0
        violation(file, ln, "cites PROTOCOL.md \"" substr(s, i + 1, length(name)) "\", which names no heading of PROTOCOL.md: cite the section that holds the text, by its number")
        return 0
    }
    if (substr(s, i) ~ /^[ \t]*$/) return 1
    while (1) {
        sect = 0
        if (substr(s, i, 2) == "\302\247") { sect = 1; i += 2 }
        if (!match(substr(s, i), /^[0-9]+(\.[0-9]+)*/)) break
        num = substr(s, i, RLENGTH)
        if (cont && !sect && !list && num !~ /\./) break
        i += RLENGTH
        if (!(num in issect))
            violation(file, ln, "cites PROTOCOL.md section " num ", which is not a numbered heading of PROTOCOL.md (sections 1 to " maxsect "): cite the section that holds the text")
        if (!match(substr(s, i), /^[ \t]*(,|and|&|-|\342\200\223|\342\200\224|to)[ \t]*/)) break
        i += RLENGTH; cont = 1
    }
    return 0
}
# The documents cited in the comment text t of file at line ln.
function check_docs(file, ln, t,   tok, rest) {
    while (match(t, /[A-Za-z0-9_.\/:~$-]*[A-Za-z0-9_-]\.md([^A-Za-z0-9_]|$)/)) {
        tok = substr(t, RSTART, RLENGTH)
        rest = substr(t, RSTART + RLENGTH)
        if (tok !~ /\.md$/) { rest = substr(tok, length(tok)) rest; tok = substr(tok, 1, length(tok) - 1) }
        t = rest
        while (substr(tok, 1, 2) == "./") tok = substr(tok, 3)
        if (index(tok, "://") || tok ~ /[$~]/) continue # a URL or a path template
        if (!doc_ok(file, tok)) {
            violation(file, ln, "cites " tok ", which is not a document of this project: cite the one that holds the text (" doclist ")")
            continue
        }
        # "PROTOCOL.md" last on a line of a comment that goes on: its section may be next
        if (base_of(tok) == "PROTOCOL.md" && have_protocol && check_sections(file, ln, rest) &&
            (incomment || slashes)) { carry = 1; carry_text = rest }
    }
}
# The unbounded string calls in code (strings and comments already taken out).
function check_calls(file, ln, t,   w) {
    while (match(t, /(^|[^A-Za-z0-9_])(strcpy|strcat|sprintf|vsprintf|gets)([^A-Za-z0-9_]|$)/)) {
        w = substr(t, RSTART, RLENGTH); t = substr(t, RSTART + RLENGTH - 1)
        gsub(/[^A-Za-z]/, "", w)
        violation(file, ln, "uses " w ", which writes without a bound: use snprintf (check its result where a cut value would be wrong), a length-checked memcpy, or fgets")
    }
}
# Is library header lib allowed in file p (directly when direct, else through a header)?
function lib_ok(p, lib, direct,   l) {
    l = layer_of(p)
    if (l == "crdt") return 0
    if (lib == "microhttpd.h" && l == "transport") return 0
    if (lib == "uv.h" && engine(p)) return 0
    if (lib == "lmdb.h") {
        if (store_file(p)) return 1
        if (l == "tools" && direct && (p in declares_ceiling)) return 1
        return 0
    }
    return 1
}
function lib_rule(p, lib) {
    if (lib == "lmdb.h") {
        if (layer_of(p) == "tools")
            return "only node/store* includes lmdb.h (a tools/ bench that measures the raw LMDB ceiling may include it directly, and must say so in a comment containing \"raw LMDB ceiling\")"
        return "only node/store* includes lmdb.h"
    }
    if (layer_of(p) == "crdt") return "crdt/ is pure logic: no uv.h, lmdb.h or microhttpd.h"
    if (lib == "uv.h") return "the transport engine never includes uv.h (libuv lives in transport/uv_*.c/.h)"
    return "transport/ never includes microhttpd.h"
}
BEGIN {
    nlayers = split("crdt transport node tools", layers, " ")
    for (i = 1; i <= nlayers; i++) rank[layers[i]] = i
    libs["uv.h"] = 1; libs["lmdb.h"] = 1; libs["microhttpd.h"] = 1
    nshared = split(shared_docs, shl, " ")
    for (i = 1; i <= nshared; i++) shared[shl[i]] = 1
    doclist = ""
    while ((getline p < docs) > 0) {
        isdoc[p] = 1
        if (p !~ /\//) doclist = doclist (doclist == "" ? "" : ", ") p
    }
    close(docs)
    doclist = doclist (doclist == "" ? "" : ", ") "../shared/" shl[1]
    for (i = 2; i <= nshared; i++) doclist = doclist ", " shl[i]
    have_protocol = ("PROTOCOL.md" in isdoc)
    maxsect = 0
    while ((getline p < sections) > 0) { issect[p] = 1; if (p + 0 > maxsect) maxsect = p + 0 }
    close(sections)
    nnames = 0
    while ((getline p < names) > 0) pnames[++nnames] = p
    close(names)
    while ((getline p < list) > 0) {
        exists[p] = 1
        if (p ~ /\.h$/) {
            rel = substr(p, length(layer_of(p)) + 2)
            if (rel in header_at)
                dup[++ndup] = p SUBSEP header_at[rel]
            else
                header_at[rel] = p
        }
    }
    close(list)
    ninc = 0
}
FNR == 1 { incomment = 0; carry = 0 }
{ nlines[FILENAME] = FNR }
{
    # Split the line into code and comment text (strings and character constants skipped).
    line = $0; code = ""; bare = ""; comment = ""; slashes = 0; n = length(line); i = 1
    while (i <= n) {
        c = substr(line, i, 1)
        if (incomment) {
            if (substr(line, i, 2) == "*/") { incomment = 0; i += 2; comment = comment " "; continue }
            comment = comment c; i++; continue
        }
        if (substr(line, i, 2) == "/*") { incomment = 1; i += 2; code = code " "; bare = bare " "; continue }
        if (substr(line, i, 2) == "//") { comment = comment " " substr(line, i + 2); slashes = 1; break }
        if ((c == "\"" || c == "\047") && code !~ /^[ \t]*#[ \t]*include/) {
            q = c; code = code c; bare = bare c; i++
            while (i <= n) {
                c = substr(line, i, 1); code = code c; i++
                if (c == "\\") { code = code substr(line, i, 1); i++; continue }
                if (c == q) break
            }
            bare = bare q
            continue
        }
        code = code c; bare = bare c; i++
    }
    check_calls(FILENAME, FNR, bare)
    if (carry) {
        t = comment; sub(/^[ \t]*\*?[ \t]*/, "", t)
        carry = 0
        if (t != "") check_sections(FILENAME, FNR, carry_text " " t)
    }
    if (comment != "") check_docs(FILENAME, FNR, comment)
    if (comment != "") {
        t = tolower(comment); gsub(/[ \t]+/, " ", t)
        if (index(t, "raw lmdb ceiling")) declares_ceiling[FILENAME] = 1
    }
    if (code !~ /^[ \t]*#[ \t]*include[ \t]*[<"]/) next
    sub(/^[ \t]*#[ \t]*include[ \t]*/, "", code)
    quoted = substr(code, 1, 1) == "\""
    close_ch = quoted ? "\"" : ">"
    rest = substr(code, 2)
    j = index(rest, close_ch)
    if (j == 0) next
    name = substr(rest, 1, j - 1)
    ninc++
    inc_from[ninc] = FILENAME; inc_line[ninc] = FNR
    target = resolve(FILENAME, name, quoted)
    inc_to[ninc] = target
    inc_lib[ninc] = (target == "" && (name in libs)) ? name : ""
    if (target != "") edges[FILENAME] = edges[FILENAME] SUBSEP target
    else if (name in libs) direct_lib[FILENAME, name] = 1
}
END {
    # Library headers each project header reaches through its own includes (a fixpoint).
    for (h in exists) for (l in libs) if ((h, l) in direct_lib) reach[h, l] = h
    do {
        changed = 0
        for (h in edges) {
            m = split(substr(edges[h], 2), tos, SUBSEP)
            for (k = 1; k <= m; k++) for (l in libs)
                if (((tos[k], l) in reach) && !((h, l) in reach)) { reach[h, l] = reach[tos[k], l]; changed = 1 }
        }
    } while (changed)

    for (k = 1; k <= ninc; k++) {
        f = inc_from[k]; ln = inc_line[k]; t = inc_to[k]
        if (inc_lib[k] != "") {
            if (!lib_ok(f, inc_lib[k], 1)) violation(f, ln, "includes " inc_lib[k] ": " lib_rule(f, inc_lib[k]))
            continue
        }
        if (t == "") continue
        if (rank[layer_of(t)] > rank[layer_of(f)]) {
            violation(f, ln, "includes " t ": " layer_of(f) "/ must not include from " layer_of(t) "/ (dependencies only point downward: tools -> node -> transport -> crdt)")
            continue
        }
        for (l in libs) {
            if (!((t, l) in reach) || lib_ok(f, l, 0)) continue
            via = reach[t, l] == t ? t : t " (through " reach[t, l] ")"
            violation(f, ln, "includes " l " through " via ": " lib_rule(f, l))
        }
    }
    for (k = 1; k <= ndup; k++) {
        split(dup[k], pr, SUBSEP)
        violation(pr[1], 1, "has the same name as " pr[2] ": quoted includes resolve by name across folders, rename one of them")
    }

    # Size budget and its exceptions.
    if (have_committed) {
        while ((getline row < committed) > 0) {
            if (row ~ /^[ \t]*(#|$)/) continue
            sub(/^[ \t]+/, "", row); split(row, fs, /[ \t]+/)
            old_max[fs[1]] = fs[2] + 0
        }
        close(committed)
    }
    rn = 0
    while ((getline row < exc) > 0) {
        rn++
        if (row ~ /^[ \t]*(#|$)/) continue
        r = row; sub(/^[ \t]+/, "", r)
        nf = split(r, fs, /[ \t]+/)
        p = fs[1]; mx = fs[2]
        if (nf < 3 || mx !~ /^[0-9]+$/) {
            violation(excname, rn, "expected \"PATH LINES REASON\" (the reason may not be empty), got \"" row "\"")
            continue
        }
        mx += 0
        if (p in allowed) { violation(excname, rn, p " is listed twice: keep one line"); continue }
        allowed[p] = mx
        if (!(p in exists)) {
            violation(excname, rn, p " does not exist (or is not a .c/.h file of crdt/, transport/, node/, tools/): remove this line")
            continue
        }
        if (have_committed && !(p in old_max))
            violation(excname, rn, p " is not in the committed list: the exceptions can only shrink, split the file instead")
        else if (have_committed && mx > old_max[p])
            violation(excname, rn, "raises the budget of " p " from " old_max[p] " to " mx " lines: the exceptions can only shrink")
        if (nlines[p] <= budget)
            violation(excname, rn, p " has " nlines[p] " lines, within the " budget "-line budget: remove this line")
        else if (nlines[p] < mx)
            printf "check-layers.sh: note: %s has %d lines, below its exception of %d: lower LINES in %s line %d\n", p, nlines[p], mx, excname, rn > "/dev/stderr"
    }
    close(exc)
    for (p in nlines) {
        if (nlines[p] <= budget) continue
        if (!(p in allowed))
            violation(p, budget + 1, "has " nlines[p] " lines, over the budget of " budget ": split it by responsibility")
        else if (nlines[p] > allowed[p])
            violation(p, allowed[p] + 1, "has " nlines[p] " lines, past its exception of " allowed[p] " in " excname ": split it (the exceptions can only shrink)")
    }
}' "${files[@]}" >"$work/out"
rc=$?
if [ $rc -ne 0 ]; then
    echo "check-layers.sh: awk failed (status $rc) while reading '$root'" >&2
    exit 2
fi

# The one table of limits: every row of PROTOCOL.md §2 names a limit of crdt/am_limits.h
# with its exact value, and every limit there has a row.
LIMITS_H=crdt/am_limits.h
# limits_header: "LINE<TAB>NAME<TAB>EXPR<TAB>KIND" for each valued #define AM_* of the header
# (KIND: "limit" below its "==== Limits" line, "size" above); "LINE<TAB>-" without one.
limits_header() {
    awk '
        function strip(t) {
            while (match(t, /\/\*([^*]|\*+[^*\/])*\*+\//)) t = substr(t, 1, RSTART - 1) " " substr(t, RSTART + RLENGTH)
            sub(/\/\*.*/, "", t); sub(/\/\/.*/, "", t)
            return t
        }
        /^\/\*[ \t]*====[ \t]*Limits/ { limits = 1; marker = 1 }
        {
            t = $0; ln = FNR
            while (t ~ /\\$/ && (getline nx) > 0) { sub(/\\$/, " ", t); t = t nx }
            t = strip(t)
            if (!match(t, /^[ \t]*#[ \t]*define[ \t]+AM_[A-Z0-9_]+[ \t]+[^ \t]/)) next
            sub(/^[ \t]*#[ \t]*define[ \t]+/, "", t)
            name = t; sub(/[ \t].*/, "", name)
            expr = substr(t, length(name) + 1); gsub(/^[ \t]+|[ \t]+$/, "", expr)
            print ln "\t" name "\t" expr "\t" (limits ? "limit" : "size")
        }
        END { if (!marker) print "1\t-" }
    ' "$LIMITS_H"
}
# limits_rows: "LINE<TAB>NAME<TAB>VALUE" for each row of the §2 table ("" for a name or
# value the row lacks); "0<TAB>-" when PROTOCOL.md has no "## 2. Limits" table.
limits_rows() {
    awk '
        /^##[ \t]/ { in2 = ($0 ~ /^##[ \t]+2\.[ \t]+Limits/); if (in2) seen = 1; next }
        !in2 || $0 !~ /^\|/ { next }
        $0 ~ /^\|[-| :]+$/ { next }
        {
            n = split($0, c, "|")
            if (c[3] ~ /^[ \t]*constant[ \t]*$/) { header = 1; next }
            name = c[3]; gsub(/^[ \t]+|[ \t]+$/, "", name)
            if (name ~ /^`AM_[A-Z0-9_]+`$/) name = substr(name, 2, length(name) - 2); else name = ""
            value = ""
            if (match(c[4], /`[0-9]+`/)) value = substr(c[4], RSTART + 1, RLENGTH - 2)
            print FNR "\t" name "\t" value
            rows++
        }
        END { if (!seen || !header) print "0\t-" }
    ' PROTOCOL.md
}
check_limits() {
    local ln name expr kind e v
    local -A val=() at=() isl=() rowat=()
    while IFS=$'\t' read -r ln name expr kind; do
        if [ "$name" = - ]; then
            echo "$LIMITS_H:$ln: has no line starting '/* ==== Limits': put it above the first limit (the fixed sizes stay above it)"
            continue
        fi
        at[$name]=$ln
        [ "$kind" = limit ] && isl[$name]=1
        # numbers lose their u/l suffixes; only numbers, operators and AM_ names may remain
        e=$(printf '%s' "$expr" | sed -E 's/\b([0-9]+)([uU]?[lL]{0,2}|[lL]{1,2}[uU]?)\b/\1/g')
        if ! printf '%s' "$e" | grep -Eq '^[A-Z0-9_ ()+*/<>-]+$' ||
            printf '%s' "$e" | grep -Eo '[A-Za-z_][A-Za-z0-9_]*' | grep -Eqv '^AM_[A-Z0-9_]+$'; then
            [ "$kind" = limit ] && echo "$LIMITS_H:$ln: $name is '$expr', which is not an integer expression of numbers and AM_ names: write it so (PROTOCOL.md §2 states its value)"
            continue
        fi
        for v in $(printf '%s' "$e" | grep -Eo 'AM_[A-Z0-9_]+'); do
            if [ -z "${val[$v]+x}" ]; then
                echo "$LIMITS_H:$ln: $name uses $v, which is not defined above it in $LIMITS_H: define $v first"
                continue 2
            fi
            e=$(printf '%s' "$e" | sed -E "s/\\b$v\\b/(${val[$v]})/g")
        done
        if ! v=$( (echo $((e))) 2>/dev/null); then
            echo "$LIMITS_H:$ln: $name is '$expr', which does not evaluate: write it as an integer expression"
            continue
        fi
        val[$name]=$v
    done < <(limits_header)
    while IFS=$'\t' read -r ln name v; do
        if [ "$name" = - ]; then
            echo "PROTOCOL.md:1: has no table under '## 2. Limits' with a 'constant' column: it is the one table of the limits of $LIMITS_H"
            continue
        fi
        if [ -z "$name" ]; then
            echo "PROTOCOL.md:$ln: a row of the §2 table names no constant: write one \`AM_...\` name of $LIMITS_H in its constant column"
            continue
        fi
        if [ -n "${rowat[$name]+x}" ]; then
            echo "PROTOCOL.md:$ln: a second row of the §2 table for $name (the first is line ${rowat[$name]}): keep one"
            continue
        fi
        rowat[$name]=$ln
        if [ -z "${at[$name]+x}" ]; then
            echo "PROTOCOL.md:$ln: the §2 table names $name, which $LIMITS_H does not define: define it there, or correct the name"
        elif [ -z "${isl[$name]+x}" ]; then
            echo "PROTOCOL.md:$ln: the §2 table names $name, which $LIMITS_H lists among the fixed sizes above its Limits line: move it below, or drop the row"
        elif [ -z "$v" ]; then
            echo "PROTOCOL.md:$ln: the §2 row of $name has no exact value: begin its value column's numbers with \`${val[$name]:-N}\` (digits in backticks)"
        elif [ -n "${val[$name]+x}" ] && [ "$v" != "${val[$name]}" ]; then
            echo "PROTOCOL.md:$ln: the §2 table gives $name as $v, but $LIMITS_H makes it ${val[$name]}: change the one that is wrong"
        fi
    done < <(limits_rows)
    for name in "${!isl[@]}"; do
        [ -n "${rowat[$name]+x}" ] ||
            echo "$LIMITS_H:${at[$name]}: $name is a limit with no row in the PROTOCOL.md §2 table: add one (constant, exact value, why)"
    done
}
if [ -f "$LIMITS_H" ]; then
    if [ -f PROTOCOL.md ]; then
        check_limits >>"$work/out"
    else
        echo "$LIMITS_H:1: its limits have no table: PROTOCOL.md is missing" >>"$work/out"
    fi
fi
sort -t: -k1,1 -k2,2n "$work/out" | uniq >"$work/sorted"
if [ -s "$work/sorted" ]; then
    cat "$work/sorted"
    echo "check-layers.sh: $(wc -l <"$work/sorted") violation(s) in $(wc -l <"$work/files") files under $PWD" >&2
    exit 1
fi
echo "check-layers.sh: $(wc -l <"$work/files") files under $PWD: layer rules, size budget, bounded string calls, cited documents and the table of limits hold" >&2
exit 0
