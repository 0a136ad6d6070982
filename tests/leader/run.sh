#!/usr/bin/env bash
# Leader election end to end: manager A serves the API only (standalone,
# --no-controller); B, C and D are controller processes that reach A
# through its kubeconfig and elect a leader on the Lease
# virtrigaud-system/virtrigaud-manager with a 4 s lease.  Only the holder
# reconciles; a holder killed with SIGKILL is replaced within the lease
# duration plus a retry period; one stopped cleanly releases the Lease
# so that its successor takes over at once.
#
# Each controller has its own mock hypervisor (mock state is per process),
# so the checks look at reconcile activity in each process's log and at
# the Lease's holder, not at shared VM state.
#
#   BUILD=/tmp/build bash tests/leader/run.sh      (or via tests/run.sh)
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl curl
WAIT=${WAIT:-30}
LEASE=4
MANAGER=$BUILD/bin/virtrigaud-manager
for bin in "$MANAGER" "$VRT_PLUGIN_DIR/mock.so"; do
    if [ ! -e "$bin" ]; then
        t_fail "build products exist" "\"$bin\" is missing; run make first"
        t_done
    fi
done

t_mktemp D
t_bg API "$MANAGER" --standalone --no-controller --data-dir "$D/data" \
    --port 0 --sync normal
for _ in $(seq 200); do
    grep -q 'serving on port' "$API_LOG" && [ -s "$D/data/kubeconfig" ] && break
    kill -0 "$API" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q 'serving on port' "$API_LOG"; then
    t_fail "the API server starts" "no \"serving on port\" line" "$(cat "$API_LOG")"
    t_done
fi
export KUBECONFIG=$D/data/kubeconfig
t_secret "$(cat "$D/data/token" 2>/dev/null)"
k() { kubectl --request-timeout=10s "$@"; }
holder() {
    k -n virtrigaud-system get lease virtrigaud-manager \
        -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null
}
# controller VAR: starts a controller process (its PID in VAR), serving
# /metrics on a free port (in VAR_MPORT).
controller() {
    local port
    port=$(t_free_port)
    printf -v "$1_MPORT" '%s' "$port"
    t_bg "$1" "$MANAGER" --kubeconfig "$KUBECONFIG" \
        --plugin-dir "$VRT_PLUGIN_DIR" --leader-elect \
        --leader-elect-lease-seconds "$LEASE" --metrics-addr "127.0.0.1:$port"
}
# leader_gauge PORT: virtrigaud_leader as served on PORT.
leader_gauge() {
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
        awk '$1 == "virtrigaud_leader" { print $2 }'
}
# wait_holder PID SECS: waits until the Lease names PID's process.
wait_holder() {
    local end=$((SECONDS + $2))
    while [ "$SECONDS" -lt "$end" ]; do
        holder | grep -q "_$1-" && return 0
        sleep 0.1
    done
    return 1
}
now_ms() { date +%s%3N; }

controller B
if wait_holder "$B" "$WAIT"; then
    t_pass "the first controller acquires the Lease"
else
    t_fail "the first controller acquires the Lease" "holder is \"$(holder)\"" \
        "$(tail -n 20 "$B_LOG")"
fi
t_grep "the Lease records the lease duration" "^$LEASE\$" \
    k -n virtrigaud-system get lease virtrigaud-manager \
    -o 'jsonpath={.spec.leaseDurationSeconds}'
controller C
sleep $((LEASE + 2)) # longer than a lease: C must not take a live Lease
if holder | grep -q "_$B-"; then
    t_pass "a second candidate does not take a Lease that is being renewed"
else
    t_fail "a second candidate does not take a Lease that is being renewed" \
        "holder is \"$(holder)\"" "$(tail -n 20 "$C_LOG")"
fi

t_eq "the leader's virtrigaud_leader gauge is 1" 1 "$(leader_gauge "$B_MPORT")"
t_eq "the standby's virtrigaud_leader gauge is 0" 0 "$(leader_gauge "$C_MPORT")"

cat >"$D/objs.yaml" <<'EOF2'
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: p
spec:
  type: mock
  endpoint: mock://leader
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: small
spec:
  cpu: 1
  memory: 1Gi
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: img
spec:
  source:
    http:
      url: http://images.invalid/debian-12.qcow2
EOF2
vm() {
    cat >"$D/vm-$1.yaml" <<EOF2
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: $1
spec:
  providerRef:
    name: p
  classRef:
    name: small
  imageRef:
    name: img
EOF2
    t_run "apply vm $1" k apply -f "$D/vm-$1.yaml"
}
t_run "apply provider, class and image" k apply -f "$D/objs.yaml"
vm one
t_run "the leader makes vm/one Ready" timeout $((WAIT + 10)) \
    kubectl wait --for=condition=Ready vm/one --timeout="${WAIT}s"
t_grep "the leader logs the create" 'Created VM vm="default/one"' cat "$B_LOG"
if grep -Eq 'Created VM|Controller started' "$C_LOG"; then
    t_fail "the standby reconciles nothing" "C's log shows reconciles" \
        "$(cat "$C_LOG")"
else
    t_pass "the standby reconciles nothing"
fi

# --- the leader cannot renew: it must stop reconciling ----------------------
# With the API server frozen, no renewal succeeds; past the renew deadline
# (2/3 of the lease) the leader stops its controller on its own clock.
kill -STOP "$API"
sleep $((LEASE * 2 / 3 + 2))
t_grep "a leader that cannot renew stops its controller" \
    'Not the leader any more: stopping the controller' cat "$B_LOG"
t_eq "its virtrigaud_leader gauge drops to 0" 0 "$(leader_gauge "$B_MPORT")"
kill -CONT "$API"
# Either candidate may win now; find out which.
LEAD= STBY=
end=$((SECONDS + LEASE * 3))
while [ -z "$LEAD" ] && [ "$SECONDS" -lt "$end" ]; do
    h=$(holder)
    case $h in
    *_"$B"-*) LEAD=$B STBY=$C STBY_LOG=$C_LOG STBY_MPORT=$C_MPORT ;;
    *_"$C"-*) LEAD=$C STBY=$B STBY_LOG=$B_LOG STBY_MPORT=$B_MPORT ;;
    *) sleep 0.2 ;;
    esac
done
if [ -n "$LEAD" ]; then
    t_pass "a leader is elected again once the API server is back"
else
    t_fail "a leader is elected again once the API server is back" \
        "holder is \"$(holder)\"" "$(tail -n 20 "$B_LOG")"
    t_done
fi

# --- the leader dies -----------------------------------------------------
exec 3>&2 2>/dev/null # bash would report the "Killed" job
kill -KILL "$LEAD"
t0=$(now_ms)
wait "$LEAD"
exec 2>&3 3>&-
if wait_holder "$STBY" $((LEASE * 3)); then
    ms=$(($(now_ms) - t0))
    t_note "handover after SIGKILL took ${ms} ms (lease ${LEASE} s)"
    # A lease, a retry period (2/15 of it) and slack for kubectl polling.
    if [ "$ms" -le $((LEASE * 1000 + 3000)) ]; then
        t_pass "the standby takes over within lease + retry (${ms} ms)"
    else
        t_fail "the standby takes over within lease + retry" "took ${ms} ms"
    fi
else
    t_fail "the standby takes over after SIGKILL" "holder is \"$(holder)\"" \
        "$(tail -n 20 "$STBY_LOG")"
fi
t_grep "the Lease counts the transition" '^[1-9][0-9]*$' \
    k -n virtrigaud-system get lease virtrigaud-manager \
    -o 'jsonpath={.spec.leaseTransitions}'
t_eq "the new leader's virtrigaud_leader gauge is 1" 1 \
    "$(leader_gauge "$STBY_MPORT")"
vm two
t_run "the new leader makes vm/two Ready" timeout $((WAIT + 10)) \
    kubectl wait --for=condition=Ready vm/two --timeout="${WAIT}s"
t_grep "the new leader logs the create" 'Created VM vm="default/two"' \
    cat "$STBY_LOG"

# --- clean shutdown releases the Lease ------------------------------------
controller E
sleep 1
t_stop "$STBY"
t0=$(now_ms) # the release is its last act: time the takeover from here
t_grep "the leader releases the Lease on SIGTERM" 'Released the Lease' \
    cat "$STBY_LOG"
if wait_holder "$E" $((LEASE * 3)); then
    ms=$(($(now_ms) - t0))
    t_note "handover after a clean stop took ${ms} ms"
    # Without the release E would wait out a whole lease from C's last
    # renewal; with it, one retry period (533 ms) plus polling.
    if [ "$ms" -lt $((LEASE * 1000 / 2)) ]; then
        t_pass "a released Lease is taken at once (${ms} ms)"
    else
        t_fail "a released Lease is taken at once" "took ${ms} ms"
    fi
else
    t_fail "the standby takes a released Lease" "holder is \"$(holder)\"" \
        "$(tail -n 20 "$E_LOG")"
fi
t_stop "$E"
t_stop "$API"
bad=$(grep -E -l 'ERROR: (Address|Leak)Sanitizer|runtime error' \
    "$API_LOG" "$B_LOG" "$C_LOG" "$E_LOG")
if [ -n "$bad" ]; then
    t_fail "no sanitizer reports in any manager's log" "in $bad" \
        "$(grep -h -E -A 20 'ERROR: (Address|Leak)Sanitizer|runtime error' $bad)"
else
    t_pass "no sanitizer reports in any manager's log"
fi
t_done
