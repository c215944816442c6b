#!/usr/bin/env bash
# need_before_open.sh: PROTOCOL.md §10.9, "A need before its need.open". A delivery and an
# update of a need whose need.open has not reached this node (forged with aidmesh-testtool
# append-op, as another path could bring them first): the CLI shows it as the spec says
# (`?` for site and item and a line that says why, "not known here yet", null site/item
# and opened false in --json), it matches no --site filter, and it is listed after every
# need with a priority.
. "$(dirname "$0")/lib.sh"

A=$AIDMESH
TT=$AM_TESTTOOL
H=$T/hub
am() { "$A" --home "$H" "$@"; }

# msgpack: fixstr of ASCII text, as hex
mpstr() {
    local h
    h=$(printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n')
    printf '%02x%s' $((0xa0 + ${#h} / 2)) "$h"
}
ID=5eed0000000000000000000000000001
need_ref() { printf '%s%s' "$(mpstr need)" "c410$ID"; }

check "init hub" am init --name hub
check "site" am site add hub-north --name "Hub North" --kind hub
check "item" am item add ors --name ORS --unit sachet
check "an opened need of low priority" am need add --site hub-north --item ors --qty 5 --priority low
check "a delivery to a need not opened here" \
    "$TT" append-op "$H" "83$(mpstr t)$(mpstr need.dlv)$(need_ref)$(mpstr q)03"
check "an update of its note" \
    "$TT" append-op "$H" "83$(mpstr t)$(mpstr need.upd)$(need_ref)$(mpstr note)$(mpstr 'from the road')"

expect_out "need list: ? for its site and item, - for its priority, 3/0 delivered" \
    "^5eed[0-9a-f]* +- +\? +\? +3/0 +open" am need list
check "need list: it comes after the need of low priority" \
    sh -c "'$A' --home '$H' need list | grep -E '^[0-9a-f]{6,} ' | tail -1 | grep -q '^5eed'"
expect_out "need list --json: null site and item, not opened, qty 0" \
    "\"id\":\"$ID\",\"short\":\"[0-9a-f]*\",\"site\":null,\"item\":null,\"qty\":0,\"delivered\":3,\"priority\":null,\"status\":\"open\",\"derived\":false" \
    am need list --json
expect_out "need list --json: opened false" '"note":"from the road","opened":false' am need list --json
expect_out "need show: not known here yet" "site, item: not known here yet" am need show 5eed
refute "need show: no opened line" sh -c "'$A' --home '$H' need show 5eed | grep -q 'opened:'"
expect_out "need list: a line says why" "^\? the need.open of 1 need has not reached this node yet" \
    am need list
refute "need list --site: it matches no site" \
    sh -c "'$A' --home '$H' need list --site hub-north | grep -q '^5eed'"

finish
