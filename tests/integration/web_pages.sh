#!/usr/bin/env bash
# web_pages.sh: the phone pages in a real browser at phone size. A hub with sites, items,
# needs of every priority (one with markup in its note), and lots (one expiring, one
# overdrawn) serves its web app on the loopback; headless Chromium loads /pair, /needs,
# a filtered /needs, /needs/new, /stock and /catalogue in a 360x640 window, and a
# screenshot of each is saved (into $AM_ARTIFACTS_DIR when set); then a need's page, the
# page that records stock of an item at a site, the choice of both, and a refused form
# (saved from its POST). Each page: under 100 kB, a viewport for phones, no script, the
# rows the node holds; markup typed into a filter or a form is shown, never run.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/lib_chrome.sh"

A=$AIDMESH
H=$T/hub
am() { "$A" --home "$H" "$@"; }

check "init hub" am init --name hub-north
check "a site" am site add hub-north --name "Hub North" --kind hub
check "a site" am site add clinic-2 --name "Clinic 2" --kind clinic
check "an item" am item add water-5l --name "Water 5 l" --unit bottle --category wash
check "an item" am item add ors-20.5 --name "ORS sachet" --unit sachet --category health
check "a critical need" am need add --site hub-north --item water-5l --qty 200 --priority critical
check "a high need" am need add --site clinic-2 --item ors-20.5 --qty 60 --priority high
check "a low need" am need add --site clinic-2 --item water-5l --qty 5 --priority low
soon=$(date -u -d '+10 days' +%F)
check "an expiring lot" am stock receive --site hub-north --item ors-20.5 --qty 500 --lot L2405 --expiry "$soon"
check "an overdrawn cell" am stock issue --site clinic-2 --item water-5l --qty 12 --force

P=$(pick_port)
"$A" --home "$H" run --listen 127.0.0.1:$P --no-discovery --http 127.0.0.1:0 >"$T/hub.log" 2>&1 &
check "the hub serves its pages" wait_for 15 grep -q "dashboard at http://127.0.0.1:" "$T/hub.log"
URL=$(sed -n 's/.*dashboard at \(http:[^ ]*\)\/.*/\1/p' "$T/hub.log" | head -1)

# page NAME PATH: curl it (size, no script), then Chromium at phone size (DOM, screenshot)
page() {
    local name=$1 path=$2 size
    curl -s --max-time 10 -o "$T/$name.html" "$URL$path"
    size=$(wc -c <"$T/$name.html")
    check "$name: under 100 kB ($size B)" test "$size" -lt 102400
    check "$name: a viewport for phones" grep -q 'name="viewport" content="width=device-width' "$T/$name.html"
    refute "$name: no script in the page" grep -qi '<script' "$T/$name.html"
    chrome --dump-dom --window-size=360,640 "$URL$path" >"$T/$name.dom"
    chrome --screenshot="$T/$name.png" --window-size=360,640 --hide-scrollbars "$URL$path" >/dev/null
    check "$name: a phone-size screenshot" test -s "$T/$name.png"
    if [ -n "${AM_ARTIFACTS_DIR:-}" ]; then
        mkdir -p "$AM_ARTIFACTS_DIR" && cp "$T/$name.png" "$AM_ARTIFACTS_DIR/web-$name.png" &&
            echo "# screenshot: $AM_ARTIFACTS_DIR/web-$name.png"
    fi
}

page pair /pair
check "pair: the form" grep -q '<form method="post" action="/pair">' "$T/pair.dom"
page needs /needs
check "needs: the three open needs, critical first" \
    test "$(grep -o 'class="need"' "$T/needs.dom" | wc -l)" = 3
check "needs: critical first" sh -c "grep -o 'class=\"p[0-9]\">[a-z]*' '$T/needs.dom' | head -1 | grep -q critical"
page search '/needs?q=%22%3E%3Cscript%3Edocument.title%3D%22owned%22%3C%2Fscript%3E'
refute "search: typed markup is shown, never run" grep -qi '<script' "$T/search.dom"
check "search: ... it stays the filter's text" grep -q 'name="q" placeholder="search" value="&quot;&gt;&lt;script&gt;' "$T/search.html"
page critical "/needs?priority=critical"
check "critical: one need" test "$(grep -o 'class="need"' "$T/critical.dom" | wc -l)" = 1
page new /needs/new
check "new: the form with the catalogue" grep -q '<option value="ors-20.5">' "$T/new.dom"
check "new: a one-time id" grep -q 'name="nonce" value="[A-Za-z0-9_-]\{22\}"' "$T/new.dom"
page stock /stock
check "stock: the expiring lot" grep -q 'L2405<br><small>exp. [0-9]* [A-Z][a-z]* [0-9]*</small></td><td class="n">500<br><small class="p1">expiring' "$T/stock.dom"
check "stock: the overdrawn cell" grep -q 'water-5l</a><br><small>clinic-2</small></td><td>-</td><td class="n">-12<br><small class="p1">overdrawn' "$T/stock.dom"
# the pages that change records: a need's page, recording stock, and the choice of both
ID=$(am need list --priority critical --json | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | head -1)
check "needs: each row links to its need's page" grep -q "href=\"/needs/$ID\"" "$T/needs.dom"
page need "/needs/$ID"
check "need: its site and item" grep -q '<td id="v-site">hub-north</td>' "$T/need.dom"
check "need: deliver, priority, fulfil and cancel" \
    test "$(grep -o 'class="f" method="post"' "$T/need.dom" | wc -l)" = 4
page record "/stock/update?site=hub-north&item=ors-20.5"
check "record: the lot" grep -q '<tr class="lot"><td>L2405</td>' "$T/record.dom"
check "record: receive, issue and count" \
    test "$(grep -o 'class="f" method="post"' "$T/record.dom" | wc -l)" = 3
page catalogue /catalogue
check "catalogue: the sites, names over codes, with their kind" \
    grep -q '<tr class="site"><td><bdi>Clinic 2</bdi><br><small>clinic-2</small></td><td>clinic</td>' "$T/catalogue.dom"
check "catalogue: the items with unit and category" \
    grep -q '<tr class="item"><td><bdi>ORS sachet</bdi><br><small>ors-20.5</small></td><td><bdi>sachet</bdi><br><small><bdi>health</bdi></small>' "$T/catalogue.dom"
check "catalogue: every page links to it" grep -q 'href="/catalogue"' "$T/needs.dom"
page choose /stock/update
check "choose: the sites" grep -q '<option value="clinic-2">' "$T/choose.dom"
# a refused form as the phone gets it (a POST: saved, then shown from the file); the
# sentence stands right above the form sent, which the form's action scrolls to (#issue)
head=$(sed -n 's/.*name="op" value="issue"><input type="hidden" name="head" value="\([0-9a-f]*\)".*/\1/p' "$T/record.html" | head -1)
code=$(curl -s --max-time 10 -o "$T/refused.html" -w '%{http_code}' -H "Origin: $URL" \
    --data "op=issue&site=hub-north&item=ors-20.5&qty=-3&note=%3Cb%3Ebold%3C%2Fb%3E&head=$head&nonce=n1" \
    "$URL/stock/update")
check "refused: a bad quantity is 422" test "$code" = 422
check "refused: the sentence is right above the issue form" sh -c \
    "grep -A1 '<h2 id=\"issue\">Issue</h2>' '$T/refused.html' | grep -q '<p class=\"msg\" id=\"refused\">The quantity must be'"
check "refused: the form's action scrolls there" grep -q 'action="/stock/update#issue"' "$T/refused.html"
check "refused: the typed note is kept, as text" grep -q 'value="&lt;b&gt;bold&lt;/b&gt;"' "$T/refused.html"
chrome --screenshot="$T/refused.png" --window-size=360,640 --hide-scrollbars "file://$T/refused.html" >/dev/null
check "refused: a phone-size screenshot" test -s "$T/refused.png"
if [ -n "${AM_ARTIFACTS_DIR:-}" ]; then
    cp "$T/refused.png" "$AM_ARTIFACTS_DIR/web-refused.png" && echo "# screenshot: $AM_ARTIFACTS_DIR/web-refused.png"
fi
finish
