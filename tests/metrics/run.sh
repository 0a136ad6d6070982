#!/usr/bin/env bash
# Prometheus metrics end to end: a standalone manager (with leader
# election on, so the leader gauge means something) does some work with
# the mock provider, one create failing by fault injection; then GET
# /metrics must pass `promtool check metrics` and carry the series and
# values that work implies.
#
#   BUILD=/tmp/build bash tests/metrics/run.sh      (or via tests/run.sh)
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl curl
WAIT=${WAIT:-30}
MANAGER=$BUILD/bin/virtrigaud-manager
for bin in "$MANAGER" "$VRT_PLUGIN_DIR/mock.so"; do
    if [ ! -e "$bin" ]; then
        t_fail "build products exist" "\"$bin\" is missing; run make first"
        t_done
    fi
done

t_mktemp D
t_bg MGR "$MANAGER" --standalone --data-dir "$D/data" --port 0 \
    --sync normal --plugin-dir "$VRT_PLUGIN_DIR" --leader-elect \
    --leader-elect-lease-seconds 4
PORT=
for _ in $(seq 200); do
    PORT=$(sed -n 's/.*serving on port \([0-9][0-9]*\);.*/\1/p' "$MGR_LOG" |
        head -n 1)
    [ -n "$PORT" ] && break
    kill -0 "$MGR" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$PORT" ]; then
    t_fail "the manager starts" "no \"serving on port\" line" "$(cat "$MGR_LOG")"
    t_done
fi
export KUBECONFIG=$D/data/kubeconfig
t_secret "$(cat "$D/data/token" 2>/dev/null)"
k() { kubectl --request-timeout=10s "$@"; }

cat >"$D/objs.yaml" <<'EOF2'
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: p
spec:
  type: mock
  endpoint: mock://metrics
  mock:
    faults:
      create: {after: 0, code: UNAVAILABLE}
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
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: m1
spec:
  providerRef:
    name: p
  classRef:
    name: small
  imageRef:
    name: img
EOF2
t_run "apply a provider whose first create fails, and a VM" \
    k apply -f "$D/objs.yaml"
t_run "the VM gets Ready after the retry" timeout $((WAIT + 10)) \
    kubectl wait --for=condition=Ready vm/m1 --timeout="${WAIT}s"
t_grep "a missing object answers 404" 'NotFound|not found' \
    k get vm no-such-vm
if ! kill -0 "$MGR" 2>/dev/null; then
    t_fail "the manager is still running" "it exited" "$(grep -A 40 "ERROR: AddressSanitizer" "$MGR_LOG" || tail -n 40 "$MGR_LOG")"
    t_done
fi

# /metrics sits behind the API token like every other path.
t_grep "/metrics refuses a caller without the token" '^401$' \
    curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT/metrics"
t_run "GET /metrics with the token" k get --raw /metrics
M=$T_OUT
printf '%s\n' "$M" >"$D/metrics.txt"

if command -v promtool >/dev/null 2>&1; then
    t_run "promtool check metrics accepts the exposition" \
        sh -c 'promtool check metrics <"$1"' sh "$D/metrics.txt"
else
    t_skip "promtool check metrics" "promtool is not installed (Debian \
package prometheus, see tests/metrics/debian-packages.txt)"
fi

# val SERIES: the value of one sample line (exact series text), or "".
val() {
    awk -v s="$1" '$1 == s { print $2 }' "$D/metrics.txt"
}
# t_cmp NAME SERIES OP NUMBER: awk compares the sample with NUMBER.
t_cmp() {
    local v
    v=$(val "$2")
    if [ -n "$v" ] && awk -v v="$v" -v n="$4" "BEGIN { exit !(v $3 n) }"; then
        t_pass "$1 ($2 = $v)"
    else
        t_fail "$1" "$2 is \"${v:-absent}\", wanted $3 $4" \
            "$(grep -F "${2%%\{*}" "$D/metrics.txt")"
    fi
}

t_cmp "VM reconciles succeeded" \
    'virtrigaud_reconcile_total{kind="vm",outcome="success"}' '>=' 1
t_cmp "the failed create counts as a failed reconcile" \
    'virtrigaud_reconcile_total{kind="vm",outcome="error"}' '>=' 1
t_cmp "Provider reconciles are counted" \
    'virtrigaud_reconcile_total{kind="provider",outcome="success"}' '>=' 1
ok=$(val 'virtrigaud_reconcile_total{kind="vm",outcome="success"}')
er=$(val 'virtrigaud_reconcile_total{kind="vm",outcome="error"}')
t_cmp "the duration histogram counts every VM reconcile" \
    'virtrigaud_reconcile_duration_seconds_count{kind="vm"}' '==' \
    "$(( ${ok:-0} + ${er:-0} ))"
t_cmp "the +Inf bucket equals the count" \
    'virtrigaud_reconcile_duration_seconds_bucket{kind="vm",le="+Inf"}' '==' \
    "$(val 'virtrigaud_reconcile_duration_seconds_count{kind="vm"}')"
t_cmp "reconcile time is positive" \
    'virtrigaud_reconcile_duration_seconds_sum{kind="vm"}' '>' 0
t_cmp "the injected create failure is counted with its code" \
    'virtrigaud_provider_calls_total{provider="mock",method="create",code="UNAVAILABLE"}' \
    '==' 1
t_cmp "the successful create is counted" \
    'virtrigaud_provider_calls_total{provider="mock",method="create",code="OK"}' \
    '==' 1
t_cmp "API writes are counted" \
    'virtrigaud_apiserver_requests_total{verb="POST",code="201"}' '>=' 4
t_cmp "the 404 is counted" \
    'virtrigaud_apiserver_requests_total{verb="GET",code="404"}' '>=' 1
t_cmp "the refused request is counted" \
    'virtrigaud_apiserver_requests_total{verb="GET",code="401"}' '>=' 1
t_cmp "the work queue depth is reported" 'virtrigaud_workqueue_depth' '>=' 0
t_cmp "this manager leads" 'virtrigaud_leader' '==' 1
t_cmp "resident memory is plausible" \
    'virtrigaud_process_resident_memory_bytes' '>' 1000000
t_stop "$MGR"
if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error' "$MGR_LOG"; then
    t_fail "the manager stops without sanitizer reports" "see its log" \
        "$(grep -E -A 20 'ERROR: (Address|Leak)Sanitizer|runtime error' "$MGR_LOG")"
else
    t_pass "the manager stops without sanitizer reports"
fi
t_done
