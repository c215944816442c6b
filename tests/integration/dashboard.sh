#!/usr/bin/env bash
# dashboard.sh: the hub dashboard. A hub with needs and stock (an overdrawn cell, an
# expiring lot, an expired lot, a count conflict made by two nodes counting offline,
# hostile text in a site name and a note), a stick that came by, and a clinic connected
# to it. `aidmesh run --http` serves the page; headless Chromium loads it (nothing else:
# no network), its rows are checked against `need list --json`, `stock show --json` and
# `peers --json`, and a screenshot is saved. `aidmesh report --html FILE`, loaded the same
# way, holds the same rows. Also: only GET/HEAD, a taken port and a bad address are
# explained.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/lib_chrome.sh"

A=$AIDMESH
H=$T/hub
C=$T/clinic
am() { "$A" --home "$H" "$@"; }
# json_field NAME: the first value of "NAME":... in stdin (strings without quotes)
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -1; }

check "init hub" "$A" --home "$H" init --name hub-north
code=$(am invite)
check "init clinic (joins)" "$A" --home "$C" init --name clinic-2 --join "$code"

# ---- records -----------------------------------------------------------------------------
check "site with markup in its name" am site add hub-north --name 'Hub <b>North</b> & "co"' --kind hub
check "site" am site add clinic-2 --name "Clinic 2" --kind clinic
check "item" am item add ors-20.5 --name "ORS sachet 20.5 g" --unit sachet --category health
check "item" am item add water-5l --name "Water 5 l" --unit bottle --category wash
check "item" am item add blanket --name "Blanket" --unit piece --category shelter
check "need critical, with a script in its note" \
    am need add --site hub-north --item water-5l --qty 200 --priority critical --by 2026-02-01 \
    --note '<script>document.title="owned"</script> & more'
check "need high" am need add --site clinic-2 --item ors-20.5 --qty 60 --priority high
check "need low" am need add --site clinic-2 --item blanket --qty 30 --priority low --note "for the night"
N4=$(am need add --site hub-north --item blanket --qty 5 --json | json_field id)
check "a fulfilled need (not on the page)" am need deliver "${N4:0:8}" --qty 5
soon=$(date -u -d '+10 days' +%F)
check "an expiring lot" am stock receive --site hub-north --item ors-20.5 --qty 500 --lot L2405 --expiry "$soon"
check "an expired lot" am stock receive --site hub-north --item ors-20.5 --qty 40 --lot L2101 --expiry 2021-06-30
check "an overdrawn cell" am stock issue --site hub-north --item water-5l --qty 12 --force
check "a plain cell" am stock receive --site clinic-2 --item blanket --qty 100
mkdir -p "$T/stick"
check "a stick comes by" am stick sync "$T/stick"

# ---- the hub runs with the dashboard ------------------------------------------------------
P=$(pick_port)
"$A" --home "$H" run --listen 127.0.0.1:$P --no-discovery --http 127.0.0.1:0 >"$T/hub.log" 2>&1 &
hub=$!
check "the hub logs where the dashboard is" wait_for 15 grep -q "dashboard at http://127.0.0.1:" "$T/hub.log"
URL=$(sed -n 's/.*dashboard at \(http:[^ ]*\).*/\1/p' "$T/hub.log" | head -1)
HP=$(echo "$URL" | sed 's#http://127.0.0.1:\([0-9]*\)/#\1#')
echo "# dashboard: $URL"

# a count conflict: both nodes count the blankets at clinic-2 without seeing each other
check "the clinic syncs once" "$A" --home "$C" sync 127.0.0.1:$P
check "the hub counts" am stock count --site clinic-2 --item blanket --qty 97
check "the clinic counts offline" "$A" --home "$C" stock count --site clinic-2 --item blanket --qty 95
check "the clinic syncs again" "$A" --home "$C" sync 127.0.0.1:$P
check "the hub sees the count conflict" \
    wait_for 10 sh -c "'$A' --home '$H' stock show --json | grep -q '\"count_conflict\":true'"

# the clinic runs and dials the hub: a connected peer
"$A" --home "$C" run --listen 127.0.0.1:$((P + 1)) --no-discovery --peer 127.0.0.1:$P >"$T/clinic.log" 2>&1 &
clinic=$!
CA=$("$A" --home "$C" status --json | json_field author)
check "the hub's status file shows the clinic connected" \
    wait_for 15 sh -c "'$A' --home '$H' peers --json | grep -q '\"connected\":\\[{\"author\":\"$CA\"'"

# ---- load the page in Chromium -------------------------------------------------------------
# the status file is rewritten every 2 s: load until the page shows the clinic's row
dom_has_clinic() {
    chrome --dump-dom "$URL" >"$T/dom.html" && grep -q "data-peer=\"$CA\"" "$T/dom.html"
}
check "Chromium loads the page and it lists the clinic" wait_for 60 dom_has_clinic
check "the page has needs and stock" grep -q 'id="needs"' "$T/dom.html"
chrome --screenshot="$T/dashboard.png" --window-size=1280,1024 --hide-scrollbars "$URL" >/dev/null
check "a screenshot was saved" test -s "$T/dashboard.png"
if [ -n "${AM_ARTIFACTS_DIR:-}" ]; then
    mkdir -p "$AM_ARTIFACTS_DIR" && cp "$T/dashboard.png" "$AM_ARTIFACTS_DIR/dashboard.png" &&
        echo "# screenshot: $AM_ARTIFACTS_DIR/dashboard.png"
fi

# ---- the rows against the CLI's JSON ---------------------------------------------------------
# rows_needs FILE: one line per need row: id site item qty delivered priority by
rows_needs() {
    grep -o '<tr class="need[^>]*>' "$1" |
        sed 's/.* data-need="\([^"]*\)" data-site="\([^"]*\)" data-item="\([^"]*\)" data-qty="\([^"]*\)" data-delivered="\([^"]*\)" data-priority="\([^"]*\)" data-by="\([^"]*\)".*/\1 \2 \3 \4 \5 \6 \7/'
}
# rows_cells FILE: site item lot expiry stock overdrawn conflict expired expiring
rows_cells() {
    grep -o '<tr class="cell[^>]*>' "$1" |
        sed 's/.* data-site="\([^"]*\)" data-item="\([^"]*\)" data-lot="\([^"]*\)" data-expiry="\([^"]*\)" data-stock="\([^"]*\)" data-overdrawn="\([^"]*\)" data-conflict="\([^"]*\)" data-expired="\([^"]*\)" data-expiring="\([^"]*\)".*/\1 \2 \3 \4 \5 \6 \7 \8 \9/'
}
rows_sticks() {
    grep -o '<tr class="stick"[^>]*>' "$1" |
        sed 's/.* data-path="\([^"]*\)" data-at="\([^"]*\)" data-got="\([^"]*\)" data-gave="\([^"]*\)".*/\1 \2 \3 \4/'
}
# jf NAME: a field of one JSON record on stdin: strings unquoted, null as ""
jf() { sed -n "s/.*\"$1\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" | head -1 | sed 's/^"//; s/"$//; s/^null$//'; }
json_needs() {
    am need list --json | sed 's/^\[//; s/\]$//; s/},{"id"/}\n{"id"/g' | while read -r rec; do
        [ -n "$rec" ] || continue
        echo "$(echo "$rec" | jf id) $(echo "$rec" | jf site) $(echo "$rec" | jf item)" \
            "$(echo "$rec" | jf qty) $(echo "$rec" | jf delivered) $(echo "$rec" | jf priority)" \
            "$(echo "$rec" | jf needed_by)"
    done
}
json_cells() {
    am stock show --json | sed 's/^\[//; s/\]$//; s/},{"site"/}\n{"site"/g' | while read -r rec; do
        [ -n "$rec" ] || continue
        echo "$(echo "$rec" | jf site) $(echo "$rec" | jf item) $(echo "$rec" | jf lot)" \
            "$(echo "$rec" | jf expiry) $(echo "$rec" | jf stock) $(echo "$rec" | jf overdrawn)" \
            "$(echo "$rec" | jf count_conflict) $(echo "$rec" | jf expired) $(echo "$rec" | jf expiring)"
    done
}
rows_needs "$T/dom.html" >"$T/page.needs"
json_needs >"$T/cli.needs"
check "the page lists the 3 open needs" test "$(wc -l <"$T/page.needs")" = 3
check "the same needs as need list --json (open ones), field by field" \
    diff <(sort "$T/page.needs") <(sort "$T/cli.needs")
check "critical first, then high, then low" \
    test "$(awk '{print $6}' "$T/page.needs" | tr '\n' ' ')" = "critical high low "
check "the fulfilled need is not on the page" sh -c "! grep -q 'data-need=\"$N4\"' '$T/dom.html'"
rows_cells "$T/dom.html" >"$T/page.cells"
json_cells >"$T/cli.cells"
check "the page lists the 4 stock cells" test "$(wc -l <"$T/page.cells")" = 4
check "the same cells as stock show --json, in the same order, flags included" \
    diff "$T/page.cells" "$T/cli.cells"
check "the overdrawn cell is highlighted" \
    grep -Eq '<tr class="cell overdrawn" data-site="hub-north" data-item="water-5l".*OVERDRAWN' "$T/dom.html"
check "the count conflict is highlighted" \
    grep -Eq '<tr class="cell conflict" data-site="clinic-2" data-item="blanket".*2 COUNTS' "$T/dom.html"
check "the expiring lot is highlighted" \
    grep -Eq '<tr class="cell expiring"[^>]*data-lot="L2405".*EXPIRES IN 10 D' "$T/dom.html"
check "the expired lot is highlighted" \
    grep -Eq '<tr class="cell expired"[^>]*data-lot="L2101".*EXPIRED' "$T/dom.html"
check "stock is grouped by site" \
    test "$(grep -o '<h3 id="stock-[a-z0-9-]*"' "$T/dom.html" | tr '\n' ' ')" = '<h3 id="stock-clinic-2" <h3 id="stock-hub-north" '

# stored text is text, never markup
check "no script element on the page" sh -c "! grep -qi '<script' '$T/dom.html'"
check "the note's markup is shown as text" grep -q '&lt;script&gt;document.title="owned"&lt;/script&gt; &amp; more' "$T/dom.html"
check "the site name's markup is shown as text" grep -q 'Hub &lt;b&gt;North&lt;/b&gt; &amp; "co"' "$T/dom.html"
check "the title was not changed by the note" grep -q '<title>aidmesh — hub-north</title>' "$T/dom.html"

# peers and sticks
page_peers=$(grep -o '<tr class="peer connected" data-peer="[0-9a-f]*"' "$T/dom.html" | sed 's/.*data-peer="//; s/"$//' | sort | tr '\n' ' ')
json_peers=$(am peers --json | sed 's/"known".*//' | grep -o '{"author":"[0-9a-f]*"' | sed 's/.*:"//; s/"$//' | sort | tr '\n' ' ')
check "the connected peers are those of peers --json" test "$page_peers" = "$json_peers"
check "with when each was last seen" grep -Eq "data-peer=\"$CA\"[^>]*data-last-seen=\"[0-9]{13}\"" "$T/dom.html"
check "the stick that came by is listed" grep -q "<tr class=\"stick\" data-path=\"$T/stick\"" "$T/dom.html"
check "the served page reloads itself" grep -q '<meta http-equiv="refresh" content="10">' "$T/dom.html"
check "and fetches nothing: no src or external link" sh -c "! grep -Eqi '(src=|<link|url\\(|@import)' '$T/dom.html'"

# ---- report --html: the same page as a file ----------------------------------------------
check "report --html writes a file" am report --html "$T/report.html"
chrome --dump-dom "file://$T/report.html" >"$T/report.dom"
check "Chromium loads the report" grep -q 'id="stock"' "$T/report.dom"
check "the report has the same needs as the served page" diff <(rows_needs "$T/report.dom") "$T/page.needs"
check "the same cells" diff <(rows_cells "$T/report.dom") "$T/page.cells"
check "the same sticks" diff <(rows_sticks "$T/report.dom") <(rows_sticks "$T/dom.html")
check "the same peers" test "$(grep -o '<tr class="peer connected" data-peer="[0-9a-f]*"' "$T/report.dom" | sed 's/.*data-peer="//; s/"$//' | sort | tr '\n' ' ')" = "$page_peers"
check "the report does not reload itself" sh -c "! grep -q 'http-equiv=\"refresh\"' '$T/report.html'"
check "report --html - writes to stdout" sh -c "'$A' --home '$H' report --html - | grep -q '</html>'"
expect_out "report without --html says what to give" "--html FILE" am report
expect_out "report into a missing folder" "does its folder exist" am report --html "$T/nowhere/r.html"

# ---- HTTP: read-only, and clear errors ---------------------------------------------------------
# http_status METHOD PATH [HOST]: the status line's code, with bash's /dev/tcp (no curl needed)
http_status() {
    local host=${3:-127.0.0.1:$HP}
    exec 3<>"/dev/tcp/127.0.0.1/$HP"
    printf '%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$1" "$2" "$host" >&3
    head -1 <&3 | cut -d' ' -f2
    exec 3<&-
}
check "GET / is 200" test "$(http_status GET /)" = 200
check "HEAD / is 200" test "$(http_status HEAD /)" = 200
check "POST is refused with 405" test "$(http_status POST /)" = 405
check "PUT is refused with 405" test "$(http_status PUT /)" = 405
check "DELETE is refused with 405" test "$(http_status DELETE /)" = 405
check "another path is 404" test "$(http_status GET /etc/passwd)" = 404
check "a page asking for another host name (DNS rebinding) is refused" \
    test "$(http_status GET / evil.example)" = 403
# a home of its own: a second `run` on the clinic's home is refused by its lock first
"$A" --home "$T/spare" init --name spare >/dev/null
expect_out "a taken port is explained" "the port is taken.*pick another port" \
    "$A" --home "$T/spare" run --listen 127.0.0.1:$((P + 2)) --no-discovery --http 127.0.0.1:$P
expect_out "a name instead of an address is explained" "not an address to serve the dashboard on.*127.0.0.1:8080" \
    "$A" --home "$T/spare" run --listen 127.0.0.1:$((P + 2)) --no-discovery --http localhost:8080
expect_out "run --help mentions --http" "--http ADDR:PORT" "$A" run --help

# ---- a peer that left: shown with when it was last seen ----------------------------------
kill -TERM $clinic
check "the clinic stops" wait $clinic
dom_clinic_gone() {
    chrome --dump-dom "$URL" >"$T/gone.html" &&
        grep -Eq "<tr class=\"peer known\" data-peer=\"$CA\" [^>]*data-state=\"not connected\" data-last-seen=\"[1-9][0-9]*\">" "$T/gone.html"
}
check "the page lists the clinic as not connected, with when it was last seen" wait_for 30 dom_clinic_gone
check "and peers says when it was last seen" \
    sh -c "'$A' --home '$H' peers | grep -Eq '${CA:0:16} .*was connected.*last seen [0-9]{2}:[0-9]{2}:[0-9]{2}'"

# ---- stopped: the report says so -----------------------------------------------------------
kill -TERM $hub
check "the hub stops cleanly" wait $hub; tail -30 "$T/hub.log"
check "and the server with it" sh -c "! (exec 3<>/dev/tcp/127.0.0.1/$HP) 2>/dev/null"
check "report after the stop" am report --html "$T/after.html"
check "says the node is not running" grep -q "The node is not running" "$T/after.html"
check "and still has the stock" test "$(rows_cells "$T/after.html" | wc -l)" = 4

finish
