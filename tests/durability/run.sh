#!/usr/bin/env bash
# kill -9 of the standalone API server during a write burst loses no
# acknowledged write: every create answered 201 before the kill is there
# after a restart, with --sync full (the default) and with --sync normal
# (WAL without fsync per commit survives a process crash too).
set -u
. "$(dirname "$0")/../lib.sh"

t_need curl
t_mktemp D

start_server() { # DATA PORT SYNC -> sets SRV
    t_bg SRV virtrigaud-manager --standalone --no-controller --data-dir "$1" \
        --port "$2" --sync "$3"
    t_wait_port "$2" 20
}

post() { # PORT TOKEN NAME -> HTTP status
    curl -sk -o /dev/null -w '%{http_code}' -X POST \
        -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
        --data "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$3\"},\"data\":{\"k\":\"$3\"}}" \
        "https://127.0.0.1:$1/api/v1/namespaces/default/configmaps"
}

for sync in full normal; do
    for round in 1 2 3; do
        name="kill -9 round $round, --sync $sync"
        data=$D/$sync-$round
        port=$(t_free_port)
        if ! start_server "$data" "$port" "$sync"; then
            t_fail "$name" "server did not start" "$(cat "$SRV_LOG")"
            continue
        fi
        token=$(cat "$data/token")
        acked=$D/acked-$sync-$round
        : >"$acked"
        # Four writers in the background; the kill lands at a random moment.
        writers=()
        for w in 1 2 3 4; do
            (
                i=0
                while :; do
                    i=$((i + 1))
                    code=$(post "$port" "$token" "w$w$round-$i")
                    [ "$code" = 201 ] && echo "w$w$round-$i" >>"$acked"
                done
            ) &
            writers+=($!)
        done
        sleep "1.$((RANDOM % 9))"
        kill -9 "$SRV"
        wait "$SRV" 2>/dev/null
        kill "${writers[@]}" 2>/dev/null
        wait "${writers[@]}" 2>/dev/null
        n=$(wc -l <"$acked")
        if [ "$n" -lt 5 ]; then
            t_fail "$name" "only $n writes were acknowledged before the kill"
            continue
        fi
        start_server "$data" "$port" "$sync" || { t_fail "$name" "no restart"; continue; }
        have=$(curl -sk -H "Authorization: Bearer $token" \
            "https://127.0.0.1:$port/api/v1/namespaces/default/configmaps" |
            grep -o '"name":"w[0-9]*-[0-9]*"' | sed 's/"name":"//; s/"//' | sort)
        missing=$(sort "$acked" | comm -23 - <(printf '%s\n' "$have"))
        if [ -z "$missing" ]; then
            t_pass "$name: all $n acknowledged writes survived"
        else
            t_fail "$name" "acknowledged but lost: $(echo "$missing" | head -5 | tr '\n' ' ')"
        fi
        t_stop "$SRV"
    done
done
t_done
