#!/bin/sh
# msgids.sh MSGEXEC POT OUT: writes OUT, a C file holding every msgid of POT (and the
# msgid_plural of those with plural forms) as node/i18n.h's i18n_msgids, for i18n_init to
# look up once. gettext's own msgexec reads the catalogue; each msgid is written byte by
# byte as octal escapes, so no text of the catalogue is ever parsed here or quoted wrong.
# Run by the build (po/po.cmake) whenever POT changes.
set -eu
msgexec=$1 pot=$2 out=$3
tmp=$out.tmp
{
    echo "/* generated from po/$(basename "$pot") by po/msgids.sh: do not edit */"
    echo '#include "i18n.h"'
    echo 'const struct i18n_msgid i18n_msgids[] = {'
    "$msgexec" -i "$pot" sh -c '
        # the header entry, and the second msgstr of a message with plural forms: skipped
        [ -n "$MSGEXEC_MSGID" ] || exit 0
        [ "${MSGEXEC_PLURAL_FORM:-0}" = 0 ] || exit 0
        lit() { printf "%s" "$1" | od -An -v -to1 | awk "BEGIN { printf \"\\\"\" }
            { for (i = 1; i <= NF; i++) printf \"\\\\%s\", \$i } END { printf \"\\\"\" }"; }
        printf "    {"
        lit "$MSGEXEC_MSGID"
        if [ -n "${MSGEXEC_MSGID_PLURAL:-}" ]; then printf ", "; lit "$MSGEXEC_MSGID_PLURAL"
        else printf ", NULL"; fi
        printf "},\n"' </dev/null
    echo '};'
    echo 'const size_t i18n_n_msgids = sizeof i18n_msgids / sizeof i18n_msgids[0];'
} >"$tmp"
mv "$tmp" "$out"
