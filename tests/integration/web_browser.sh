#!/usr/bin/env bash
# web_browser.sh: the web app in a real browser held like a phone. Headless Chromium is
# driven through the DevTools protocol (cdp.py: a 360x640 mobile viewport) on a Wi-Fi-like
# bridge (10.205.0.0/24, network namespaces): a hub serves its web app there (`aidmesh web
# on`), a laptop syncs with the hub, a phone and a visitor each have a browser. The visitor
# types wrong pairing codes until it is locked out (429, then even a right code is refused
# and the page says when to try again); the phone types the code from `aidmesh web pair`
# into the pairing form, adds a need through the form (the laptop has it after its next
# sync), issues and counts stock through the stock forms (`aidmesh stock show` on the hub
# agrees); a form on another site's page that posts to the hub is refused (403, nothing
# written); the hub reached by another name (DNS rebinding) is refused; the Arabic pages
# are laid out right to left; a revoked phone is refused at its next reload. A screenshot
# of every page visited is saved (web-browser-*.png, in $AM_ARTIFACTS_DIR when set).
. "$(dirname "$0")/lib.sh"
NSP=ambr$$
. "$(dirname "$0")/lib_netns.sh"

A=$AIDMESH
H=$T/hub
L=$T/laptop
CDP=$(cd "$(dirname "$0")" && pwd)/cdp.py
PY=/usr/bin/python3 # Debian's, which python3-websocket is installed for
am() { "$A" --home "$H" "$@"; }
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -1; }

ns_start hub
[ -x /usr/bin/chromium ] || { not_ok "chromium is not installed (tools/install-deps.sh chromium)"; finish; }
"$PY" -c 'import websocket' 2>/dev/null ||
    { not_ok "python3-websocket is not installed (tools/install-deps.sh installs it)"; finish; }

# a Wi-Fi-like bridge in the hub's namespace, and a cable to it from each other machine
ns_add phone visitor laptop
ip -n "${NSP}hub" link add br0 type bridge
ip -n "${NSP}hub" addr add 10.205.0.1/24 dev br0
ip -n "${NSP}hub" link set br0 up
i=2
for m in phone visitor laptop; do
    ip -n "${NSP}$m" link add eth0 type veth peer name "v$m" netns "${NSP}hub"
    ip -n "${NSP}hub" link set "v$m" master br0 up
    ip -n "${NSP}$m" addr add "10.205.0.$i/24" dev eth0
    ip -n "${NSP}$m" link set eth0 up
    i=$((i + 1))
done
W=http://10.205.0.1:8080

check "init hub" am init --name hub-north
check "a site" am site add clinic-2 --name "Clinic 2" --kind clinic
check "an item" am item add ors --name "ORS sachet" --unit sachet --category health
check "a lot of 100" am stock receive --site clinic-2 --item ors --qty 100 --lot L1 --expiry 2040-01-01
check "init laptop (joins the hub's network)" "$A" --home "$L" init --name laptop --join "$(am invite)"
check "the web app is turned on for the Wi-Fi" am web on --listen 10.205.0.1:8080
in_ns hub "$A" --home "$H" run --listen 10.205.0.1:47470 --no-discovery >"$T/hub.log" 2>&1 &
check "the hub serves its web app on the Wi-Fi" wait_for 15 grep -q "dashboard at $W" "$T/hub.log"
in_ns laptop "$A" --home "$L" run --listen 10.205.0.4:47470 --no-discovery \
    --peer 10.205.0.1:47470 >"$T/laptop.log" 2>&1 &
check "the laptop syncs with the hub" wait_for 20 grep -q "in sync" "$T/laptop.log"

# another site on the Wi-Fi (the phone's own address, port 8000): a page with a form that
# posts a need to the hub
mkdir "$T/site"
cat >"$T/site/offer.html" <<EOF
<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width"></head><body>
<h1>Win a prize</h1><form method="post" action="$W/needs"><input type="hidden" name="site"
value="clinic-2"><input type="hidden" name="item" value="ors"><input type="hidden" name="qty"
value="999"><input type="hidden" name="note" value="posted by another site">
<button id="claim" type="submit">Claim</button></form></body></html>
EOF
in_ns phone timeout 300 "$PY" -m http.server 8000 --bind 10.205.0.2 --directory "$T/site" \
    >"$T/site.log" 2>&1 &
check "another site serves a page on the Wi-Fi" \
    wait_for 15 in_ns phone curl -sf --max-time 2 -o /dev/null http://10.205.0.2:8000/offer.html

# ---- the browsers ------------------------------------------------------------------------
SHOTS=${AM_ARTIFACTS_DIR:-$T/shots}
mkdir -p "$SHOTS"
declare -A B_IN B_OUT
# browser NAME NS [CHROMIUM OPTION...]: a phone's Chromium in namespace NS, driven by
# cdp.py through two pipes (opened read-write: no open ever blocks); bounded by timeout
browser() {
    local name=$1 ns=$2 o fdi fdo args=()
    shift 2
    for o in "$@"; do args+=(--chrome-arg "$o"); done
    mkfifo "$T/$name.in" "$T/$name.out"
    exec {fdi}<>"$T/$name.in" {fdo}<>"$T/$name.out"
    B_IN[$name]=$fdi
    B_OUT[$name]=$fdo
    in_ns "$ns" timeout 600 "$PY" "$CDP" --shots "$SHOTS" --prefix "web-browser-$name-" \
        --log "$T/$name-chromium.log" "${args[@]}" <"$T/$name.in" >"$T/$name.out" 2>"$T/$name-cdp.log" &
    R=
    read -r -t 60 -u "$fdo" R && [ "$R" = "ok ready" ] && return 0
    echo "${R:-no answer within 60 s}"
    cat "$T/$name-cdp.log" "$T/$name-chromium.log" 2>/dev/null | tail -20
    return 1
}
# b NAME COMMAND [FIELD...]: one command of cdp.py; its answer in $R (shown); fails unless ok
b() {
    local name=$1 IFS=$'\t'
    shift
    printf '%s\n' "$*" >&"${B_IN[$name]}"
    R=
    read -r -t 60 -u "${B_OUT[$name]}" R || R="err no answer from the browser within 60 s"
    echo "$R"
    [ "${R%% *}" = ok ]
}
# go NAME SHOT STATUSES COMMAND [FIELD...]: a command that loads a page (open, reload,
# submit); the page's statuses must be STATUSES; a screenshot SHOT of it is saved
go() {
    local name=$1 shot=$2 want=$3 got
    shift 3
    b "$name" "$@" || return 1
    got=$(echo "$R" | cut -d' ' -f2)
    b "$name" shot "$shot" || return 1
    echo "# screenshot: ${R#ok }"
    b "$name" eval "[document.documentElement.scrollWidth, innerWidth]" >/dev/null &&
        echo "$shot: ${R#ok } (page, viewport; CSS pixels)" >>"$T/widths"
    [ "$got" = "$want" ] || { echo "statuses $got, not $want"; return 1; }
}
# js NAME EXPRESSION JSON: the expression's value in the page is JSON
js() {
    b "$1" eval "$2" && [ "$R" = "ok $3" ]
}
# text NAME WORDS: the page's visible text has WORDS
text() {
    b "$1" eval "document.body.innerText.includes($(printf '%s' "$2" | "$PY" -c 'import json,sys; print(json.dumps(sys.stdin.read()))'))" &&
        [ "$R" = "ok true" ]
}
# fits NAME: the page is no wider than the phone (a wider one makes a phone zoom out)
fits() { js "$1" "document.documentElement.scrollWidth <= 360" true; }
stock_of() { # stock_of LOT: its stock at clinic-2 as the hub shows it
    am stock show --site clinic-2 --item ors --all --json |
        "$PY" -c 'import json,sys; print([c["stock"] for c in json.load(sys.stdin) if c["lot"] == sys.argv[1]][0])' "$1"
}
entries_now() { entries "$H"; }

# the phone resolves hub.example.net to the hub, as a DNS rebinding attack would have it
check "the phone's browser starts (360x640, mobile)" browser phone phone \
    "--host-resolver-rules=MAP hub.example.net 10.205.0.1"
check "the visitor's browser starts" browser visitor visitor
[ "$FAILED" = 0 ] || finish # nothing below means anything without them

# ---- pairing: the lock-out, then the phone -----------------------------------------------
code=$(am web pair --write --name field-phone --json | json_field code)
check "web pair gives a code" test -n "$code"
check "visitor: the pairing page" go visitor pair 200 open "$W/pair"
check "... laid out for a phone (360 CSS pixels wide)" js visitor innerWidth 360
check "... and no wider" fits visitor
for i in 1 2 3 4 5; do
    check "visitor: wrong code $i typed" b visitor type '#code' "ZZZZ-ZZZ$i"
    check "... is refused (403)" go visitor "wrong-code-$i" 403 submit '#code'
    [ $i = 1 ] && check "... by the pairing page: the hub took the form a browser sends (its Origin)" \
        js visitor "document.querySelector('#code') !== null" true
done
check "... saying so" text visitor "That code is wrong"
check "visitor: the right code typed after five wrong ones" b visitor type '#code' "$code"
check "... is refused: locked out (429)" go visitor locked 429 submit '#code'
check "... the page says when to try again" text visitor "Try again in 10 minutes"
retry_after() { # retry_after MIN MAX: the last answer's Retry-After, in seconds
    b visitor header retry-after && [[ ${R#ok } =~ ^[0-9]+$ ]] && [ "${R#ok }" -ge "$1" ] &&
        [ "${R#ok }" -le "$2" ]
}
check "... and so does the answer (Retry-After, at most 600 s)" retry_after 540 600

check "phone: unpaired, the app says so (401)" go phone unpaired 401 open "$W/"
check "... with a link to pair" js phone "document.querySelector('a[href=\"/pair\"]') !== null" true
check "phone: the pairing page" go phone pair 200 open "$W/pair"
check "phone: the code typed (lower case, as a person might)" \
    b phone type '#code' "$(echo "$code" | tr '[:upper:]' '[:lower:]')"
check "... pairs it: 303 to the app, which answers 200" go phone paired 303,200 submit '#code'
check "... the code was not used up by the locked-out visitor's try" js phone "location.pathname" '"/needs"'
check "... its cookie is out of the page's scripts' reach (HttpOnly)" \
    js phone "document.cookie.includes('am_dev')" false
check "visitor: still locked out" b visitor type '#code' "$code"
check "... (429)" go visitor still-locked 429 submit '#code'

# ---- a need, typed on the phone, reaches the laptop --------------------------------------
check "phone: the form to add a need" go phone need-form 200 open "$W/needs/new"
check "... no wider than the phone" fits phone
check "... its site" b phone choose '#site' clinic-2
check "... its item" b phone choose '#item' ors
check "... its quantity" b phone type '#qty' 25
check "... its priority" b phone choose '#priority' high
check "... its note" b phone type '#note' "typed on a phone"
check "... filled in" b phone shot need-filled
check "... added: 303, then the page answers 200" go phone need-added 303,200 submit '#qty'
check "... the needs, no wider than the phone" fits phone
expect_out "the hub has the need as typed" '"qty":25,"delivered":0,"priority":"high"' \
    am need list --site clinic-2 --json
expect_out "... with its note" '"note":"typed on a phone"' am need list --site clinic-2 --json
laptop_has_need() { "$A" --home "$L" need list --json | grep -q '"note":"typed on a phone"'; }
check "the laptop has it after the next sync" wait_for 30 laptop_has_need

# ---- stock: issue, then count, through the stock forms -----------------------------------
check "phone: the stock of ors at clinic-2" go phone stock-form 200 open "$W/stock/update?site=clinic-2&item=ors"
check "... no wider than the phone" fits phone
check "... an issue of 30" b phone type '#i-qty' 30
check "... from lot L1" b phone choose '#i-lot' L1
check "... is recorded (200)" go phone stock-issued 200 submit '#i-qty'
check "... the page says so" text phone "L1"
check "the hub has 70 in lot L1" test "$(stock_of L1)" = 70
check "phone: a count of 64 in lot L1, on the page the issue answered" b phone type '#c-qty' 64
check "... its lot" b phone choose '#c-lot' L1
check "... is recorded (200)" go phone stock-counted 200 submit '#c-qty'
check "the hub has 64 in lot L1" test "$(stock_of L1)" = 64

# ---- refusals: another site's form, another name for the hub -----------------------------
n0=$(entries_now)
check "phone: another site's page" go phone other-site 200 open "http://10.205.0.2:8000/offer.html"
check "... whose form posts to the hub is refused (403)" go phone other-site-refused 403 submit '#claim'
check "... saying why" text phone "takes forms only from its own pages"
check "... nothing written" test "$(entries_now)" = "$n0"
refute "... no such need" sh -c "'$A' --home '$H' need list --json | grep -q 'posted by another site'"
check "phone: the hub by another name (DNS rebinding) is refused (403)" \
    go phone wrong-host 403 open "http://hub.example.net:8080/needs"
check "... saying why" text phone "answers only to its own addresses"

# ---- Arabic: right to left ---------------------------------------------------------------
check "phone: the needs in Arabic" go phone ar-needs 200 open "$W/needs?lang=ar"
check "... the document is right to left" js phone "document.dir" '"rtl"'
check "... and so is a table cell" \
    js phone "getComputedStyle(document.querySelector('tr.need td')).direction" '"rtl"'
check "... which aligns to its start: the right" \
    js phone "['start', 'right'].includes(getComputedStyle(document.querySelector('tr.need td')).textAlign)" true
check "... the first column stands at the right of the second" js phone \
    "(() => { const c = document.querySelectorAll('tr.need td'); return c[0].getBoundingClientRect().left > c[1].getBoundingClientRect().left; })()" true
check "... its text hugs the cell's right edge" js phone \
    "(() => { const c = document.querySelector('tr.need td'), r = document.createRange(); r.selectNodeContents(c); const t = r.getBoundingClientRect(), b = c.getBoundingClientRect(); return b.right - t.right < 12 && t.left - b.left > 0; })()" true
check "... no wider than the phone" fits phone
check "phone: the stock forms in Arabic" go phone ar-stock-form 200 open "$W/stock/update?site=clinic-2&item=ors&lang=ar"
check "... right to left" js phone "document.dir" '"rtl"'
check "... no wider than the phone" fits phone
check "... every Arabic letter shown (none turned into '?')" \
    js phone "document.body.innerText.includes('?')" false
check "phone: back to English" go phone needs 200 open "$W/needs?lang=en"
check "... left to right" js phone "document.dir" '"ltr"'

# ---- a revoked phone ---------------------------------------------------------------------
id=$(am web devices --json | "$PY" -c 'import json,sys; print([d["id"] for d in json.load(sys.stdin)["devices"] if d["name"] == "field-phone"][0])')
check "web revoke removes the phone" am web revoke "$id"
check "phone: at its next reload it is refused (401)" go phone revoked 401 reload
check "... the page says it is not paired, with a link to pair" \
    js phone "document.querySelector('a[href=\"/pair\"]') !== null" true

# ---- the browsers end, and everything they started ---------------------------------------
chromium_in() { # chromium_in NS: a Chromium process still runs in namespace NS
    local p
    for p in $(ip netns pids "${NSP}$1"); do
        grep -q chrom "/proc/$p/comm" 2>/dev/null && return 0
    done
    return 1
}
check "phone: the browser closes" b phone quit
check "visitor: the browser closes" b visitor quit
check "... no Chromium is left in the phone's namespace" wait_for 10 eval '! chromium_in phone'
check "... nor in the visitor's" wait_for 10 eval '! chromium_in visitor'
refute "no token or code in the hub's log" grep -Eq "$code" "$T/hub.log"
sed 's/^/# width of /' "$T/widths"
finish
