#!/usr/bin/env bash
# Watches with a label selector against a standalone manager, beyond the
# basic enter/leave checks of tests/standalone:
#   - an object that left the selection after the client's list, whose
#     earlier state the store's history (--watch-history 50) no longer
#     holds, is still sent as DELETED;
#   - many selector watches at once, each looking up earlier states, do
#     not starve the store's readers (they used to deadlock the server:
#     every read and write hung).
set -u
. "$(dirname "$0")/../lib.sh"
t_need curl
t_need kubectl
t_mktemp D
t_start_manager MGR "$D/data" --no-controller --watch-history 50 || t_done
t_pass "manager starts"
printf 'Authorization: Bearer %s\n' "$(cat "$D/data/token")" >"$D/auth"
API="https://127.0.0.1:$MGR_PORT/api/v1/namespaces/default/configmaps"
# watch FILE SECONDS RV: a selector (app=x) watch from RV into FILE
watch_x() {
    curl -sk -N -m "$2" -H @"$D/auth" "$API?watch=1&labelSelector=app%3Dx&resourceVersion=$3" \
        >"$1" 2>/dev/null
}
# list_rv: the resourceVersion of a list of the app=x ConfigMaps (kubectl
# -o jsonpath shows its own List wrapper, which has none)
list_rv() {
    curl -sk -H @"$D/auth" "$API?labelSelector=app%3Dx" |
        grep -o '"resourceVersion":"[0-9]*"' | head -n 1 | tr -dc 0-9
}
# configmaps N PREFIX LABEL: N ConfigMaps PREFIX-1.. labelled app=LABEL (YAML)
configmaps() {
    for i in $(seq 1 "$1"); do
        printf -- '---\n{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s-%s","labels":{"app":"%s"}}}\n' \
            "$2" "$i" "$3"
    done
}

# --- history compacted between the client's list and its watch -----------
k create configmap sel-e >/dev/null
k label configmap sel-e app=x >/dev/null
configmaps 130 pad y >"$D/pad.yaml"
t_run "130 unrelated writes push sel-e's events out of the history" k create -f "$D/pad.yaml"
rv=$(list_rv)
t_grep "the client's list (app=x) holds sel-e" '^sel-e$' \
    k get configmaps -l app=x -o 'jsonpath={.items[*].metadata.name}'
k label configmap sel-e app=y --overwrite >/dev/null
watch_x "$D/w-gap" 3 "$rv"
t_grep "a watch from the list's resourceVersion sends DELETED for sel-e" \
    '^\{"type":"DELETED".*"name":"sel-e"' cat "$D/w-gap"

# --- many selector watches at once ----------------------------------------
# A manager with the default history (10,000 events), so that the earlier
# states are there to look up.
t_stop "$MGR"
t_start_manager MGR2 "$D/data2" --no-controller || t_done
printf 'Authorization: Bearer %s\n' "$(cat "$D/data2/token")" >"$D/auth"
API="https://127.0.0.1:$MGR2_PORT/api/v1/namespaces/default/configmaps"
k create configmap sel-e >/dev/null
configmaps 300 many x >"$D/many.yaml"
t_run "300 ConfigMaps labelled app=x" k create -f "$D/many.yaml"
from=$(list_rv)
t_run "all 300 relabelled to app=z after that resourceVersion" \
    k label configmaps -l app=x app=z --overwrite
pids=()
for i in $(seq 1 20); do
    watch_x "$D/many-$i" 8 "$from" &
    pids+=($!)
done
sleep 1
t0=$SECONDS
t_grep "while 20 watches look up earlier states, a GET is answered" '^sel-e$' \
    k --request-timeout=5s get configmap sel-e -o 'jsonpath={.metadata.name}'
t_run "... and a write too" k --request-timeout=5s annotate configmap sel-e during=watches
t_note "the GET and the write took $((SECONDS - t0)) s"
wait "${pids[@]}"
short=0
for i in $(seq 1 20); do
    n=$(grep -c '^{"type":"DELETED"' "$D/many-$i")
    [ "$n" -eq 300 ] || short=$((short + 1))
done
t_eq "every watch sent all 300 DELETED events (the objects left app=x)" 0 "$short"

t_stop "$MGR2"
t_done
