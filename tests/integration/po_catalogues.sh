#!/usr/bin/env bash
# po_catalogues.sh: the web app's catalogues (po/) are whole. The committed template
# po/aidmesh-web.pot holds exactly the sentences the sources mark (xgettext run again by
# po/update.sh into a scratch file); every sentence of it has a translation, not fuzzy, in
# en, fr, es and ar (msgcmp); each .po compiles with msgfmt --check (format directives
# agree with the msgid's, the plural header is sound) and its statistics count no
# untranslated or fuzzy message; the build's .mo files are there for each language.
. "$(dirname "$0")/lib.sh"

S=${AM_SOURCE_DIR:?set AM_SOURCE_DIR to the source tree (ctest does)}
if ! command -v msgcmp >/dev/null || ! command -v xgettext >/dev/null; then
    echo "skip: gettext's tools are not installed (apt-get install gettext; make deps does)"
    exit 0
fi

check "xgettext extracts the sentences" sh "$S/po/update.sh" "$T/fresh.pot"
check "every sentence the sources mark is in po/aidmesh-web.pot (else: sh po/update.sh)" \
    msgcmp --use-untranslated "$S/po/aidmesh-web.pot" "$T/fresh.pot"
check "po/aidmesh-web.pot holds no sentence the sources dropped (else: sh po/update.sh)" \
    msgcmp --use-untranslated "$T/fresh.pot" "$S/po/aidmesh-web.pot"
for l in en fr es ar; do
    po=$S/po/$l.po
    check "$l: every sentence of the template is translated" msgcmp "$po" "$S/po/aidmesh-web.pot"
    check "$l: msgfmt --check" msgfmt --check --statistics -o "$T/$l.mo" "$po"
    stats=$(msgfmt --statistics -o /dev/null "$po" 2>&1)
    refute "$l: nothing untranslated or fuzzy ($stats)" grep -Eq 'untranslated|fuzzy' <<<"$stats"
    if [ -n "${AM_BIN_DIR:-}" ]; then
        check "$l: the build's catalogue" test -s "$AM_BIN_DIR/locale/$l/LC_MESSAGES/aidmesh-web.mo"
    fi
done
finish
