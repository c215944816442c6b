#!/usr/bin/env bash
# web_pair.sh: only paired phones see the node's pages off the loopback. A hub serves
# its web pages on a namespace's Wi-Fi-like link (10.201.0.1); two "phones" (10.201.0.2
# and .3, curl in another namespace) try it: unpaired, the page is 401 and /pair is
# the form; five wrong codes lock an address out (429, even with a right code), not the
# other; a code from `aidmesh web pair` lets the other phone in once (303, an HttpOnly,
# SameSite=Strict cookie), and is used up; a form posted by another site's page (Origin)
# and a request naming another host (DNS rebinding) are refused; `aidmesh web devices`
# lists the phone and `aidmesh web revoke` shuts it out at its next request. A need added
# from a phone paired to write is signed by the phone's own key: `need show` names the
# phone's author id (as `web devices` lists it), and so does a second node after a sync;
# once revoked, that phone writes nothing more and stays listed with its author id. On the
# loopback the hub screen needs no pairing.
. "$(dirname "$0")/lib.sh"
NSP=amweb$$
. "$(dirname "$0")/lib_netns.sh"

A=$AIDMESH
H=$T/hub
am() { "$A" --home "$H" "$@"; }
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -1; }

ns_start hub
ns_add phone
veth hub eh phone ep
ip -n "${NSP}hub" addr add 10.201.0.1/24 dev eh
ip -n "${NSP}phone" addr add 10.201.0.2/24 dev ep
ip -n "${NSP}phone" addr add 10.201.0.3/24 dev ep

check "init hub" am init --name hub-north
check "a site to show" am site add hub-north --name "Hub North" --kind hub
check "an item" am item add water-5l --name "Water 5 l" --unit bottle --category wash
check "a need to show" am need add --site hub-north --item water-5l --qty 200 --priority critical
check "a lot to show" am stock receive --site hub-north --item water-5l --qty 40 --lot L7
W=10.201.0.1:8080
in_ns hub "$A" --home "$H" run --listen 10.201.0.1:47470 --no-discovery --http $W \
    >"$T/hub.log" 2>&1 &
check "the hub serves its pages on the link" wait_for 15 grep -q "dashboard at http://10.201.0.1:8080" "$T/hub.log"

# curl from a phone: phone ADDR ARGS... -> the status code (body in $T/body, headers in $T/hdr)
phone() {
    local from=$1
    shift
    in_ns phone curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' --interface "$from" \
        --max-time 10 "$@"
}
# pair ADDR CODE [ORIGIN]: posts the pairing form as the page does
pair() {
    phone "$1" -H "Origin: ${3:-http://$W}" --data-urlencode "code=$2" "http://$W/pair"
}

check "an unpaired phone gets 401" test "$(phone 10.201.0.2 "http://$W/")" = 401
check "... and a link to pair" grep -q 'href="/pair"' "$T/body"
check "the pairing form is served" test "$(phone 10.201.0.2 "http://$W/pair")" = 200
check "... a form that posts to itself" grep -q 'form method="post" action="/pair"' "$T/body"
check "... and its page may post only to itself (CSP)" grep -qi "form-action 'self'" "$T/hdr"
check "a request naming another host is refused (DNS rebinding)" \
    test "$(phone 10.201.0.2 -H 'Host: evil.example:8080' "http://$W/pair")" = 403

code=$(am web pair --name "nurse-phone" --json | json_field code)
check "web pair gives a code" test -n "$code"
expect_out "web pair names the page the phones open (from the running node)" \
    "open http://$W/pair and type the code" am web pair --name spare
for i in 1 2 3 4 5; do
    check "wrong code $i from .2 is refused" test "$(pair 10.201.0.2 ZZZZ-ZZZ$i)" = 403
done
check "... then .2 is locked out, even with a right code" test "$(pair 10.201.0.2 "$code")" = 429
check "... and told when to try again" grep -qi '^retry-after: [0-9]' "$T/hdr"
check "a form posted by another site's page is refused" \
    test "$(pair 10.201.0.3 "$code" http://evil.example)" = 403
check "the right code from .3 pairs it" test "$(pair 10.201.0.3 "$code")" = 303
check "... with an HttpOnly, SameSite=Strict cookie" \
    grep -Eqi '^set-cookie: am_dev=[A-Za-z0-9_-]{43};.*HttpOnly' "$T/hdr"
grep -qi 'SameSite=Strict' "$T/hdr" && ok "... SameSite=Strict" || not_ok "... SameSite=Strict"
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(am_dev=[A-Za-z0-9_-]*\).*/\1/p' "$T/hdr" | head -1)
check "the paired phone sees the page" test "$(phone 10.201.0.3 -H "Cookie: $cookie" "http://$W/")" = 200
check "... the dashboard, with the hub's need" grep -q "Water 5 l" "$T/body"
check "the code is used up" test "$(pair 10.201.0.3 "$code")" = 403
check "a made-up cookie is refused" \
    test "$(phone 10.201.0.3 -H "Cookie: am_dev=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "http://$W/")" = 401
# ---- the phone pages: needs, and adding one ------------------------------------------------
check "the read-only phone sees the needs page" \
    test "$(phone 10.201.0.3 -H "Cookie: $cookie" "http://$W/needs")" = 200
check "... with the hub's need" grep -q 'class="need".*water-5l' "$T/body"
check "... and a filter that finds nothing" \
    test "$(phone 10.201.0.3 -H "Cookie: $cookie" "http://$W/needs?priority=low")" = 200
check "... shows no row" grep -q '>0 needs<' "$T/body"
check "the read-only phone sees the stock page" \
    test "$(phone 10.201.0.3 -H "Cookie: $cookie" "http://$W/stock?site=hub-north")" = 200
check "... with the hub's lot" grep -q '<tr class="cell"><td><a href="/stock/update?site=hub-north&amp;item=water-5l">water-5l</a><br><small>hub-north</small></td><td>L7</td>' "$T/body"
check "an unpaired phone gets no stock page" test "$(phone 10.201.0.2 "http://$W/stock")" = 401
check "a read-only phone gets no form to add a need" \
    test "$(phone 10.201.0.3 -H "Cookie: $cookie" "http://$W/needs/new")" = 403
check "... and cannot post one" test "$(phone 10.201.0.3 -H "Cookie: $cookie" \
    -H "Origin: http://$W" --data "site=hub-north&item=water-5l&qty=5" "http://$W/needs")" = 403
check "an unpaired phone cannot post a need" test "$(phone 10.201.0.3 -H "Origin: http://$W" \
    --data "site=hub-north&item=water-5l&qty=5" "http://$W/needs")" = 401
code2=$(am web pair --write --name store-phone --json | json_field code)
check "a phone paired to write" test "$(pair 10.201.0.3 "$code2")" = 303
wcookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(am_dev=[A-Za-z0-9_-]*\).*/\1/p' "$T/hdr" | head -1)
check "... gets the form" test "$(phone 10.201.0.3 -H "Cookie: $wcookie" "http://$W/needs/new")" = 200
csrf=$(sed -n 's/.*name="csrf" value="\([A-Za-z0-9_-]*\)".*/\1/p' "$T/body" | head -1)
nonce=$(sed -n 's/.*name="nonce" value="\([A-Za-z0-9_-]*\)".*/\1/p' "$T/body" | head -1)
check "... which carries its token and a one-time id" test -n "$csrf" -a -n "$nonce"
post_need() { # post_need FIELDS...: the form as the phone's page posts it
    phone 10.201.0.3 -H "Cookie: $wcookie" -H "Origin: http://$W" "$@" "http://$W/needs"
}
check "a need without the form's token is refused" \
    test "$(post_need --data "site=hub-north&item=water-5l&qty=5&nonce=x1")" = 403
check "a quantity that is not a number gives the form back" \
    test "$(post_need --data "site=hub-north&item=water-5l&qty=-5&nonce=x2&csrf=$csrf")" = 422
check "... saying why, with what was typed" grep -q 'whole number' "$T/body"
check "an unknown item gives the form back" \
    test "$(post_need --data "site=hub-north&item=no-such&qty=5&nonce=x3&csrf=$csrf")" = 422
check "a need from the phone is stored" test "$(post_need --data \
    "site=hub-north&item=water-5l&qty=50&priority=high&note=from+the+store&nonce=$nonce&csrf=$csrf")" = 303
check "a second tap stores nothing twice" test "$(post_need --data \
    "site=hub-north&item=water-5l&qty=50&priority=high&note=from+the+store&nonce=$nonce&csrf=$csrf")" = 303
check "the node has the two needs, no more" \
    test "$(am need list --json | grep -o '"id":' | wc -l)" = 2
expect_out "... the phone's one as typed" '"qty":50,"delivered":0,"priority":"high"' \
    am need list --priority high --json
expect_out "... with its note" '"note":"from the store"' am need list --priority high --json

# ---- who entered it: each phone signs with its own key ------------------------------------
pauthor=$(am web devices --json | python3 -c 'import json,sys; print([d["author"] for d in json.load(sys.stdin)["devices"] if d["name"] == "store-phone"][0])')
check "web devices names the writing phone's author id" test "${#pauthor}" = 64
expect_out "... and lists its first 16 digits" "${pauthor:0:16}  store-phone" am web devices
pneed=$(am need list --priority high --json | json_field id)
check "need show names the phone as the author of its need" \
    test "$(am need show "$pneed" --json | json_field opened_by)" = "$pauthor"
hneed=$(am need list --priority critical --json | json_field id)
check "... and the node as the author of its own" \
    test -n "$(am need show "$hneed" --json | json_field opened_by)" -a \
    "$(am need show "$hneed" --json | json_field opened_by)" != "$pauthor"
check "a second node joins the network" "$A" --home "$T/clinic" init --name clinic --join "$(am invite)"
check "... and syncs with the hub over the link" in_ns phone "$A" --home "$T/clinic" sync 10.201.0.1:47470
check "... where the phone's need names the same author" \
    test "$("$A" --home "$T/clinic" need show "$pneed" --json | json_field opened_by)" = "$pauthor"
check "... and its entries verify" "$A" --home "$T/clinic" verify

expect_out "web devices lists the phone" "nurse-phone" am web devices
id=$(am web devices --json | sed -n 's/.*"id":"\([0-9a-f]*\)","role":"read".*/\1/p' | head -1)
check "web revoke removes it" am web revoke "${id:0:6}"
check "... and it is refused at its next request" \
    test "$(phone 10.201.0.3 -H "Cookie: $cookie" "http://$W/")" = 401
wid=$(am web devices --json | sed -n 's/.*"id":"\([0-9a-f]*\)","role":"write".*/\1/p' | head -1)
n0=$(entries "$H")
check "revoking the writing phone" am web revoke "${wid:0:6}"
check "... it can write nothing more" test "$(post_need --data \
    "site=hub-north&item=water-5l&qty=9&nonce=x9&csrf=$csrf")" = 401
check "... nothing was written" test "$(entries "$H")" = "$n0"
expect_out "... its author id stays listed, revoked" "revoked +- +${pauthor:0:16}  store-phone" \
    am web devices
refute "no token or code in the hub's log" grep -Eq "$code|${cookie#am_dev=}" "$T/hub.log"

# the hub screen on the loopback needs no pairing
P=$(pick_port)
"$A" --home "$T/screen" init --name screen >/dev/null
"$A" --home "$T/screen" run --listen 127.0.0.1:$P --no-discovery --http 127.0.0.1:0 >"$T/screen.log" 2>&1 &
check "a loopback dashboard starts" wait_for 15 grep -q "dashboard at http://127.0.0.1:" "$T/screen.log"
URL=$(sed -n 's/.*dashboard at \(http:[^ ]*\).*/\1/p' "$T/screen.log" | head -1)
check "... and serves its page without pairing" \
    test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL")" = 200
finish
