#!/bin/sh
# update.sh [OUT.pot]: extracts the web app's sentences from the sources into
# po/aidmesh-web.pot (or OUT.pot) with xgettext, and, when writing po/aidmesh-web.pot,
# merges it into every po/LANG.po with msgmerge (new sentences arrive untranslated, for
# a translator to fill in). The build's po-update target runs it;
# tests/integration/po_catalogues.sh runs it into a scratch file to check that the
# committed template is current.
# The sentences are the string arguments of i18n_s (2nd), i18n_n (2nd and 3rd) and
# I18N_NOOP in node/*.c (node/i18n.h).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC"
out=${1:-po/aidmesh-web.pot}
files=$(grep -l -E 'i18n_(s|n)\(|I18N_NOOP\(' node/*.c | sort)
xgettext --language=C --from-code=UTF-8 --keyword= --keyword=i18n_s:2 --keyword=i18n_n:2,3 \
    --keyword=I18N_NOOP --flag=i18n_s:2:pass-c-format --flag=i18n_n:2:pass-c-format \
    --flag=i18n_n:3:pass-c-format --add-comments=TRANSLATORS: --package-name=aidmesh \
    --msgid-bugs-address= --sort-by-file --add-location=file -o "$out" $files
# the sentences are ASCII, the translations UTF-8: say so, for msgexec and msgmerge
sed -i 's/charset=CHARSET/charset=UTF-8/' "$out"
if [ "$out" = po/aidmesh-web.pot ]; then
    for po in po/*.po; do
        [ -e "$po" ] || continue
        msgmerge --quiet --update --backup=none --no-fuzzy-matching "$po" "$out"
    done
fi
