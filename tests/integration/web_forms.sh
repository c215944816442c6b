#!/usr/bin/env bash
# web_forms.sh: recording stock and updating needs from a phone. A hub serves its web app
# on a namespace's Wi-Fi-like link (10.202.0.1); a phone (curl in another namespace,
# 10.202.0.2) paired to write receives, issues (no lot named: first expiry first out,
# across two lots, checked against `aidmesh stock show --json`) and counts stock, and
# delivers part of a need, changes its priority, fulfils one and cancels another. A form
# sent twice (the same one-time id) writes once; a form opened before the record changed
# (a write from elsewhere meanwhile) is refused with the record as it is now, nothing
# written, the form kept as typed; bad quantities, an oversized note, an unknown lot,
# site or need, and an issue of more than the node sees get a sentence above the kept
# form and write nothing. A phone paired to read sees the pages without forms and gets
# 403 on every POST; an unpaired one 401; a form without the phone's token 403.
. "$(dirname "$0")/lib.sh"
NSP=amwf$$
. "$(dirname "$0")/lib_netns.sh"

A=$AIDMESH
H=$T/hub
am() { "$A" --home "$H" "$@"; }
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -1; }

ns_start hub
ns_add phone
veth hub eh phone ep
ip -n "${NSP}hub" addr add 10.202.0.1/24 dev eh
ip -n "${NSP}phone" addr add 10.202.0.2/24 dev ep

check "init hub" am init --name hub-north
check "a site" am site add clinic-2 --name "Clinic 2" --kind clinic
check "an item" am item add ors --name "ORS sachet" --unit sachet --category health
check "lot L1: 50, expires first" am stock receive --site clinic-2 --item ors --qty 50 --lot L1 --expiry 2039-01-01
check "lot L2: 100, expires later" am stock receive --site clinic-2 --item ors --qty 100 --lot L2 --expiry 2040-01-01
check "a need to deliver to" am need add --site clinic-2 --item ors --qty 200 --priority normal
N1=$(am need list --json | json_field id)
check "a need to cancel" am need add --site clinic-2 --item ors --qty 5 --priority low
N2=$(am need list --priority low --json | json_field id)
W=10.202.0.1:8080
in_ns hub "$A" --home "$H" run --listen 10.202.0.1:47470 --no-discovery --http $W \
    >"$T/hub.log" 2>&1 &
check "the hub serves its pages on the link" wait_for 15 grep -q "dashboard at http://$W" "$T/hub.log"

# phone ARGS...: curl from the phone -> the status code (body in $T/body, headers in $T/hdr)
phone() {
    in_ns phone curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' --max-time 10 "$@"
}
pair() { # pair [--write] NAME: pairs the phone; prints its cookie
    local code
    code=$(am web pair "$@" --json | json_field code)
    phone -H "Origin: http://$W" --data-urlencode "code=$code" "http://$W/pair" >/dev/null
    sed -n 's/^[Ss]et-[Cc]ookie: \(am_dev=[A-Za-z0-9_-]*\).*/\1/p' "$T/hdr" | head -1
}
wck=$(pair --write --name store-phone)
rck=$(pair --name nurse-phone)
check "a phone paired to write, and one to read" test -n "$wck" -a -n "$rck" -a "$wck" != "$rck"

get() { phone -H "Cookie: $wck" "http://$W$1"; } # get PATH, as the writing phone
# form OP: the head, the one-time id and the token of form OP in the page in $T/body
form() {
    HEAD=$(sed -n "s/.*name=\"op\" value=\"$1\"><input type=\"hidden\" name=\"head\" value=\"\([0-9a-f]*\)\".*/\1/p" "$T/body" | head -1)
    NONCE=$(sed -n "s/.*name=\"op\" value=\"$1\"><input type=\"hidden\" name=\"head\" value=\"[0-9a-f]*\"><input type=\"hidden\" name=\"nonce\" value=\"\([A-Za-z0-9_-]*\)\".*/\1/p" "$T/body" | head -1)
    CSRF=$(sed -n 's/.*name="csrf" value="\([A-Za-z0-9_-]*\)".*/\1/p' "$T/body" | head -1)
    [ -n "$HEAD" ] && [ -n "$NONCE" ] && [ -n "$CSRF" ]
}
# post PATH FIELDS [COOKIE]: the form as the phone's page posts it
post() {
    phone -H "Cookie: ${3:-$wck}" -H "Origin: http://$W" --data "$2" "http://$W$1"
}
stock_of() { # stock_of LOT: its stock at clinic-2 as the node shows it
    am stock show --site clinic-2 --item ors --all --json |
        python3 -c 'import json,sys; print([c["stock"] for c in json.load(sys.stdin) if c["lot"] == sys.argv[1]][0])' "$1"
}
need_of() { # need_of ID FIELD: a field of a need (JSON)
    am need show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}
entries_now() { entries "$H"; }
S=/stock/update
SI="site=clinic-2&item=ors"

# ---- stock ------------------------------------------------------------------------------
check "the stock page of an item at a site" test "$(get "$S?$SI")" = 200
check "... lists its two lots" test "$(grep -o '<tr class="lot">' "$T/body" | wc -l)" = 2
check "... with a receive, an issue and a count form" sh -c "grep -q 'value=\"receive\"' '$T/body' && grep -q 'value=\"issue\"' '$T/body' && grep -q 'value=\"count\"' '$T/body'"
check "... each with its state, one-time id and token" form issue
OLDHEAD=$HEAD
ISSUE_NONCE=$NONCE
form count && COUNT_NONCE=$NONCE
check "... the stock page is under 100 kB" test "$(wc -c <"$T/body")" -lt 102400
check "the stock page without a site and an item asks for them" test "$(get "$S")" = 200
check "... with the sites to choose from" grep -q '<option value="clinic-2">' "$T/body"
check "an unknown site gets a sentence" test "$(get "$S?site=nowhere&item=ors")" = 404
check "... naming it" grep -q "knows no site &#39;nowhere&#39;\|knows no site 'nowhere'" "$T/body"

n0=$(entries_now)
check "an issue with no lot from the phone is written" \
    test "$(post $S "op=issue&$SI&qty=60&lot=&note=clinic+morning&head=$OLDHEAD&nonce=$ISSUE_NONCE&csrf=$CSRF")" = 200
check "... first expiry first out: all of L1, 10 of L2" \
    grep -q 'first expiry first out: 50 from lot L1 (0 left), 10 from lot L2 (90 left)' "$T/body"
check "... the node shows L1 at 0, L2 at 90" test "$(stock_of L1) $(stock_of L2)" = "0 90"
check "... as two movements in one entry each (one append)" test "$(( $(entries_now) - n0 ))" = 2
n1=$(entries_now)
check "the same form sent again (a double tap) answers" \
    test "$(post $S "op=issue&$SI&qty=60&lot=&head=$OLDHEAD&nonce=$ISSUE_NONCE&csrf=$CSRF")" = 200
check "... that it was recorded already" grep -q 'Recorded already' "$T/body"
check "... and writes nothing twice" test "$(entries_now) $(stock_of L2)" = "$n1 90"
check "a count on the page opened before the issue is refused (stale)" \
    test "$(post $S "op=count&$SI&lot=L2&qty=77&head=$OLDHEAD&nonce=$COUNT_NONCE&csrf=$CSRF")" = 409
check "... saying the stock changed, with what it is now" \
    sh -c "grep -q 'changed since you opened this page' '$T/body' && grep -q '<td class=\"n\">90' '$T/body'"
check "... the form kept as typed" grep -q 'id="c-qty" name="qty" [^>]* value="77"' "$T/body"
check "... nothing written" test "$(entries_now) $(stock_of L2)" = "$n1 90"

check "the page again" test "$(get "$S?$SI")" = 200
form receive
check "a receipt of a new lot" \
    test "$(post $S "op=receive&$SI&qty=40&lot=L3&expiry=2041-01-01&note=&head=$HEAD&nonce=$NONCE&csrf=$CSRF")" = 200
check "... says what the lot holds now" grep -q 'Received 40 ors at clinic-2 (lot L3, expires 1 Jan 2041): stock now 40' "$T/body"
check "... the node shows it" test "$(stock_of L3)" = 40
form receive
check "a receipt without a lot where the site keeps lots is refused" \
    test "$(post $S "op=receive&$SI&qty=5&lot=&head=$HEAD&nonce=$NONCE&csrf=$CSRF")" = 422
check "... asking for the lot" grep -q 'is kept by lot (L2, L3)' "$T/body"
form count
check "a count of lot L2" \
    test "$(post $S "op=count&$SI&lot=L2&qty=85&head=$HEAD&nonce=$NONCE&csrf=$CSRF")" = 200
check "... replaces what the node had" test "$(stock_of L2)" = 85
check "... and says so" grep -q 'Counted 85 ors at clinic-2 (lot L2, expires 1 Jan 2040): stock now 85' "$T/body"

form issue
n2=$(entries_now)
bad_issue() { # bad_issue STATUS WHAT FIELDS: refused with STATUS, nothing written
    check "$2 is refused ($1)" test "$(post $S "op=issue&$SI&$3&head=$HEAD&nonce=$NONCE&csrf=$CSRF")" = "$1"
    check "... with a sentence above the form" grep -q 'class="msg" id="refused"' "$T/body"
}
bad_issue 422 "a negative quantity" "qty=-5"
check "... the form kept as typed" grep -q 'id="i-qty" name="qty" [^>]* value="-5"' "$T/body"
check "... saying what to type" grep -q 'whole number of base units' "$T/body"
bad_issue 422 "a quantity that is not a number" "qty=ten"
bad_issue 422 "a quantity that overflows" "qty=99999999999999999999"
bad_issue 422 "a quantity over the limit" "qty=9007199254740992"
bad_issue 422 "a quantity of 0" "qty=0"
bad_issue 422 "an unknown lot" "qty=1&lot=L9"
check "... naming it" grep -q 'No lot L9 of ors at clinic-2' "$T/body"
bad_issue 422 "a lot that is not a lot" "qty=1&lot=%3Cb%3E"
bad_issue 422 "more than the node sees" "qty=1000"
check "... saying what it sees, and no way to force it" \
    sh -c "grep -q 'This node sees only 125 ors to issue at clinic-2 (lots: L2, L3)' '$T/body' && ! grep -q -- '--force' '$T/body'"
long=$(head -c 1500 /dev/zero | tr '\0' x)
bad_issue 422 "an oversized note" "qty=1&note=$long"
check "... saying which rule" grep -q 'longer than it may be' "$T/body"
check "an unknown site is refused (404)" \
    test "$(post $S "op=issue&site=nowhere&item=ors&qty=1&head=$HEAD&nonce=$NONCE&csrf=$CSRF")" = 404
check "... naming it" grep -q "knows no site &#39;nowhere&#39;\|knows no site 'nowhere'" "$T/body"
check "a field sent twice is refused" \
    test "$(post $S "op=issue&$SI&qty=1&qty=2&head=$HEAD&nonce=$NONCE&csrf=$CSRF")" = 422
check "none of them wrote anything" test "$(entries_now)" = "$n2"

# ---- needs ------------------------------------------------------------------------------
check "the needs list" test "$(get /needs)" = 200
check "... links each need to its page" grep -q "href=\"/needs/$N1\"" "$T/body"
check "a need's page" test "$(get "/needs/$N1")" = 200
check "... shows the need" sh -c "grep -q '<td id=\"v-qty\">200</td>' '$T/body' && grep -q '<td id=\"v-status\">open</td>' '$T/body'"
check "... its forms" form deliver
DLV_HEAD=$HEAD
DLV_NONCE=$NONCE
form priority && PRI_NONCE=$NONCE
check "... under 100 kB" test "$(wc -c <"$T/body")" -lt 102400
check "a need's page by the first digits of its id" test "$(get "/needs/${N1:0:6}")" = 200
check "an unknown need" test "$(get /needs/ffffffff)" = 404
check "... says so" grep -q 'No need has that id' "$T/body"
check "a delivery from the phone" \
    test "$(post "/needs/$N1" "op=deliver&qty=30&head=$DLV_HEAD&nonce=$DLV_NONCE&csrf=$CSRF")" = 200
check "... says what the need is now" grep -q 'Recorded a delivery of 30: 30 of 200 delivered now, open' "$T/body"
check "... the node has it" test "$(need_of "$N1" delivered)" = 30
n3=$(entries_now)
check "the same delivery sent again (a double tap)" \
    test "$(post "/needs/$N1" "op=deliver&qty=30&head=$DLV_HEAD&nonce=$DLV_NONCE&csrf=$CSRF")" = 200
check "... is recorded once" test "$(entries_now) $(need_of "$N1" delivered)" = "$n3 30"
check "... and says so" grep -q 'Recorded already' "$T/body"
check "the page again" test "$(get "/needs/$N1")" = 200
form deliver
check "a change from elsewhere meanwhile (the priority)" am need update "${N1:0:8}" --priority critical
n4=$(entries_now)
check "a delivery on the page opened before is refused (stale)" \
    test "$(post "/needs/$N1" "op=deliver&qty=7&head=$HEAD&nonce=$NONCE&csrf=$CSRF")" = 409
check "... saying it changed, with what it is now" \
    sh -c "grep -q 'This need changed since you opened it' '$T/body' && grep -q '<td id=\"v-priority\" class=\"p1\">critical</td>' '$T/body'"
check "... the form kept as typed" grep -q 'id="d-qty" name="qty" [^>]* value="7"' "$T/body"
check "... nothing written" test "$(entries_now) $(need_of "$N1" delivered)" = "$n4 30"
form priority
check "a change of priority" \
    test "$(post "/needs/$N1" "op=priority&priority=high&head=$HEAD&nonce=$NONCE&csrf=$CSRF")" = 200
check "... the node has it" test "$(need_of "$N1" priority)" = high
form deliver
bad_dlv() { # bad_dlv WHAT FIELDS (with the form's state unless FIELDS name one)
    local hd="&head=$HEAD"
    case $2 in *head=*) hd= ;; esac
    check "$1 is refused" test "$(post "/needs/$N1" "$2$hd&nonce=$NONCE&csrf=$CSRF")" = 422
    check "... with a sentence above the form" grep -q 'class="msg" id="refused"' "$T/body"
}
n5=$(entries_now)
bad_dlv "a negative delivery" "op=deliver&qty=-3"
bad_dlv "a delivery that is not a number" "op=deliver&qty=3x"
bad_dlv "a delivery that overflows" "op=deliver&qty=184467440737095516160"
bad_dlv "an unknown priority" "op=priority&priority=urgent"
bad_dlv "an unknown change" "op=reopen"
bad_dlv "a form without its state" "op=deliver&qty=3&head=zz"
check "none of them wrote anything" test "$(entries_now) $(need_of "$N1" delivered)" = "$n5 30"
form fulfil
check "fulfil from the phone" \
    test "$(post "/needs/$N1" "op=fulfil&head=$HEAD&nonce=$NONCE&csrf=$CSRF")" = 200
check "... the node has it fulfilled" test "$(need_of "$N1" status)" = fulfilled
check "the other need's page" test "$(get "/needs/$N2")" = 200
form cancel
check "cancel from the phone" \
    test "$(post "/needs/$N2" "op=cancel&head=$HEAD&nonce=$NONCE&csrf=$CSRF")" = 200
check "... the node has it cancelled" test "$(need_of "$N2" status)" = cancelled

# ---- who may post -----------------------------------------------------------------------
check "the page again" test "$(get "$S?$SI")" = 200
form issue
n6=$(entries_now)
check "a form without the phone's token is refused" \
    test "$(post $S "op=issue&$SI&qty=1&head=$HEAD&nonce=$NONCE")" = 403
check "a form posted by another site's page is refused" \
    test "$(phone -H "Cookie: $wck" -H "Origin: http://evil.example" --data "op=issue&$SI&qty=1&head=$HEAD&nonce=$NONCE&csrf=$CSRF" "http://$W$S")" = 403
check "the read-only phone sees a need's page" test "$(phone -H "Cookie: $rck" "http://$W/needs/$N2")" = 200
refute "... without forms" grep -q '<form class="f" method="post"' "$T/body"
check "... and the stock page without forms" test "$(phone -H "Cookie: $rck" "http://$W$S?$SI")" = 200
refute "... none" grep -q '<form class="f" method="post"' "$T/body"
check "the read-only phone cannot issue (403)" \
    test "$(post $S "op=issue&$SI&qty=1&head=$HEAD&nonce=$NONCE&csrf=$CSRF" "$rck")" = 403
check "... nor deliver (403)" \
    test "$(post "/needs/$N2" "op=deliver&qty=1&head=$HEAD&nonce=$NONCE&csrf=$CSRF" "$rck")" = 403
check "an unpaired phone cannot post (401)" \
    test "$(phone -H "Origin: http://$W" --data "op=issue&$SI&qty=1" "http://$W$S")" = 401
check "... nor see a need's page (401)" test "$(phone "http://$W/needs/$N2")" = 401
check "nothing was written by any of them" test "$(entries_now)" = "$n6"
refute "no token in the hub's log" grep -Eq "${wck#am_dev=}|${rck#am_dev=}|$CSRF" "$T/hub.log"
finish
