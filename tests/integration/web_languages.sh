#!/usr/bin/env bash
# web_languages.sh: the phone pages in their four languages, in a real browser at phone
# size (360x640). A hub with needs and a lot of 10,316 serves its web app on the loopback;
# headless Chromium loads /needs and /stock in Arabic (the DOM says dir="rtl"), in French,
# and the new-need form in Spanish, and a screenshot of each is saved (into
# $AM_ARTIFACTS_DIR when set, as web-LANG-PAGE.png); a need's page and the stock form of
# an item, with their forms, are right to left in Arabic too, with Arabic labels, numbers
# and dates. Numbers are grouped the language's
# way (10,316; 10 316 with a narrow no-break space; 10.316; 10٬316), counts take the
# language's plural forms (Arabic: one, two, few); ?lang= sets the lang cookie
# (SameSite=Strict); the cookie beats Accept-Language, which is weighed by q and beats
# English; a language not shipped, or a hostile header, gets English; a refused form says
# why in the page's language.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/lib_chrome.sh"

A=$AIDMESH
H=$T/hub
am() { "$A" --home "$H" "$@"; }

check "init hub" am init --name hub-north
check "a site" am site add hub-north --name "Hub North" --kind hub
check "a site" am site add clinic-2 --name "Clinic 2" --kind clinic
check "an item" am item add water-5l --name "Water 5 l" --unit bottle --category wash
check "a critical need" am need add --site hub-north --item water-5l --qty 200 --priority critical
check "a high need" am need add --site clinic-2 --item water-5l --qty 60 --priority high
check "a lot of 10,316" am stock receive --site hub-north --item water-5l --qty 10316 --lot BIG1

P=$(pick_port)
"$A" --home "$H" run --listen 127.0.0.1:$P --no-discovery --http 127.0.0.1:0 >"$T/hub.log" 2>&1 &
check "the hub serves its pages" wait_for 15 grep -q "dashboard at http://127.0.0.1:" "$T/hub.log"
URL=$(sed -n 's/.*dashboard at \(http:[^ ]*\)\/.*/\1/p' "$T/hub.log" | head -1)
refute "the catalogues were found" grep -q "no catalogue" "$T/hub.log"

# page NAME PATH: Chromium at phone size (DOM, screenshot)
page() {
    local name=$1 path=$2
    chrome --dump-dom --window-size=360,640 "$URL$path" >"$T/$name.dom"
    chrome --screenshot="$T/$name.png" --window-size=360,640 --hide-scrollbars "$URL$path" >/dev/null
    check "$name: a phone-size screenshot" test -s "$T/$name.png"
    if [ -n "${AM_ARTIFACTS_DIR:-}" ]; then
        mkdir -p "$AM_ARTIFACTS_DIR" && cp "$T/$name.png" "$AM_ARTIFACTS_DIR/web-$name.png" &&
            echo "# screenshot: $AM_ARTIFACTS_DIR/web-$name.png"
    fi
}

page ar-needs '/needs?lang=ar'
check "ar-needs: right to left in the DOM" grep -q '<html lang="ar" dir="rtl">' "$T/ar-needs.dom"
check "ar-needs: Arabic words" grep -q '<a href="/needs">الاحتياجات</a>' "$T/ar-needs.dom"
check "ar-needs: the two open needs, a dual" grep -q '<p>احتياجان</p>' "$T/ar-needs.dom"
check "ar-needs: the switcher" grep -q '<a href="/needs?lang=fr" lang="fr" hreflang="fr">Français</a>' "$T/ar-needs.dom"
page ar-stock '/stock?lang=ar'
check "ar-stock: 10٬316 (Western digits, the Arabic separator)" grep -q '<td class="n">10٬316' "$T/ar-stock.dom"
NID=$(am need list --priority critical --json | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | head -1)
page ar-need "/needs/$NID?lang=ar"
check "ar-need: right to left in the DOM" grep -q '<html lang="ar" dir="rtl">' "$T/ar-need.dom"
check "ar-need: Arabic labels" grep -q '<th>الحالة</th><td id="v-status">مفتوح</td>' "$T/ar-need.dom"
check "ar-need: the asked quantity" grep -q '<td id="v-qty">200</td>' "$T/ar-need.dom"
check "ar-need: names keep their direction" grep -q '<h1><bdi>water-5l</bdi> في <bdi>hub-north</bdi></h1>' "$T/ar-need.dom"
check "ar-need: an Arabic form" grep -q '<button type="submit">سجّل التسليم</button>' "$T/ar-need.dom"
page ar-stockform '/stock/update?site=hub-north&item=water-5l&lang=ar'
check "ar-stockform: right to left in the DOM" grep -q '<html lang="ar" dir="rtl">' "$T/ar-stockform.dom"
check "ar-stockform: one lot, in Arabic words" grep -q '<p>دفعة واحدة فيها مخزون هنا</p>' "$T/ar-stockform.dom"
check "ar-stockform: 10٬316 in the lot's row" grep -q '<td class="n">10٬316' "$T/ar-stockform.dom"
check "ar-stockform: Arabic forms" grep -q '<button type="submit">سجّل الاستلام</button>' "$T/ar-stockform.dom"
check "fr: the stock form in French" sh -c "curl -s '$URL/stock/update?site=hub-north&item=water-5l&lang=fr' | grep -q '<h2 id=\"receive\">Réception</h2>'"
check "es: a need's page in Spanish" sh -c "curl -s '$URL/needs/$NID?lang=es' | grep -q '<th>Estado</th><td id=\"v-status\">abierta</td>'"
page fr-needs '/needs?lang=fr'
check "fr-needs: French" grep -q '<html lang="fr" dir="ltr">' "$T/fr-needs.dom"
check "fr-needs: French words" grep -q '<option value="critical">critique</option>' "$T/fr-needs.dom"
check "fr-needs: a French count" grep -q '<p>2 besoins</p>' "$T/fr-needs.dom"
page fr-stock '/stock?lang=fr'
check "fr-stock: 10 316 (a narrow no-break space)" grep -q $'<td class="n">10\u202f316' "$T/fr-stock.dom"
page es-new '/needs/new?lang=es'
check "es-new: Spanish labels" grep -q '<label for="qty">Cantidad (unidades básicas)</label>' "$T/es-new.dom"
page ar-pair '/pair?lang=ar'
check "ar-pair: right to left" grep -q '<html lang="ar" dir="rtl">' "$T/ar-pair.dom"
check "en-stock: 10,316" sh -c "curl -s '$URL/stock' | grep -q '<td class=\"n\">10,316'"
check "es-stock: 10.316" sh -c "curl -s '$URL/stock?lang=es' | grep -q '<td class=\"n\">10.316'"

# lang_of ARGS...: the lang attribute of /needs fetched with curl ARGS
lang_of() { curl -s --max-time 10 "$@" "$URL/needs" | sed -n 's/.*<html lang="\([a-z]*\)".*/\1/p'; }
check "?lang= keeps the choice in a cookie" sh -c "curl -s -D- -o /dev/null '$URL/needs?lang=ar' | tr -d '\r' | grep -qx 'Set-Cookie: lang=ar; Path=/; Max-Age=31536000; SameSite=Strict; HttpOnly'"
check "Accept-Language chooses" test "$(lang_of -H 'Accept-Language: es-MX,es;q=0.9,en;q=0.5')" = es
check "... by its q-values" test "$(lang_of -H 'Accept-Language: fr;q=0.4, ar;q=0.8')" = ar
check "the cookie beats Accept-Language" test "$(lang_of -H 'Cookie: lang=fr' -H 'Accept-Language: es')" = fr
check "a language not shipped: English" test "$(lang_of -H 'Accept-Language: de-CH, de;q=0.9')" = en
check "a hostile Accept-Language: English" \
    test "$(lang_of -H "Accept-Language: $(head -c 3000 /dev/zero | tr '\0' ',')fr")" = en

# a refused form says why in the page's language, and keeps what was typed
code=$(curl -s --max-time 10 -o "$T/refused.html" -w '%{http_code}' -H "Origin: $URL" \
    -H 'Cookie: lang=fr' --data "site=hub-north&item=water-5l&qty=-3&priority=high&note=n1" \
    "$URL/needs")
check "refused: a bad quantity is 422" test "$code" = 422
check "refused: why, in French" grep -q 'La quantité doit être un nombre entier de 1 à' "$T/refused.html"
check "refused: the typed quantity is kept" grep -q 'name="qty" [^>]*value="-3"' "$T/refused.html"
finish
