#!/usr/bin/env bash
# virtrigaud-loadgen end to end: a standalone manager on the mock plugin,
# the load generator against it, and kubectl as the judge of what the API
# server holds afterwards.
#
#   BUILD=/tmp/build bash tests/loadgen/run.sh      (or via tests/run.sh)
#
# Checks: the counts loadgen prints match the server's; its JSON parses
# and its percentiles are ordered; the mix really changed power state and
# CPU counts; cleanup (and Ctrl-C) leaves no VM, --keep keeps them; a
# timeout makes the exit status 1; usage errors name the option (exit 2);
# setup errors (unreachable server, missing class, leftovers) exit 3.
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl jq
LG=$BUILD/bin/virtrigaud-loadgen
for bin in "$BUILD/bin/virtrigaud-manager" "$LG" "$VRT_PLUGIN_DIR/mock.so"; do
    if [ ! -e "$bin" ]; then
        t_fail "build products exist" "\"$bin\" is missing; run make first"
        t_done
    fi
done
# Sanitizer builds are several times slower; operations get more time.
TIMEOUT=60
[ -n "${SANITIZER:-}" ] && TIMEOUT=180

# --- usage errors (no server needed) -----------------------------------------

# t_exit NAME WANT-STATUS REGEX CMD...: exit status and output.
t_exit() {
    local name=$1 want=$2 re=$3 rc=0
    shift 3
    t_exec "$@" || rc=$?
    if [ "$rc" != "$want" ]; then
        t_fail "$name" "exit status $rc, wanted $want: $*" "$T_OUT"
    elif ! printf '%s\n' "$T_OUT" | grep -Eq -- "$re"; then
        t_fail "$name" "output does not match /$re/: $*" "$T_OUT"
    else
        t_pass "$name"
    fi
}

t_exit "--help exits 0 and describes the tool" 0 'Usage: virtrigaud-loadgen' "$LG" --help
for opt in --vms --class --provider --image --kubeconfig --namespace --concurrency \
           --mix --duration --timeout --alt-class --prefix --output --keep; do
    t_grep "--help documents $opt" "$opt" "$LG" --help
done
t_exit "missing --class is a usage error naming --class" 2 'missing --class' \
    "$LG" --vms 5 --provider p
t_exit "missing --provider is a usage error naming --provider" 2 'missing --provider' \
    "$LG" --vms 5 --class c
t_exit "missing --vms is a usage error naming --vms" 2 'missing --vms' \
    "$LG" --class c --provider p
t_exit "a --mix weight that is not a number is refused, naming --mix" 2 \
    '--mix: "power=lots"' "$LG" --vms 5 --class c --provider p --mix power=lots
t_exit "an unknown --mix operation is refused, naming it" 2 \
    '--mix: unknown operation "migrate"' "$LG" --vms 5 --class c --provider p \
    --mix power=1,migrate=2
t_exit "an all-zero --mix is refused" 2 'weight 0' \
    "$LG" --vms 5 --class c --provider p --mix power=0
t_exit "--vms 0 is refused" 2 '--vms must be' "$LG" --vms 0 --class c --provider p
t_exit "a bad --prefix is refused" 2 '--prefix "Bad_P"' \
    "$LG" --vms 1 --class c --provider p --prefix Bad_P
t_exit "an unknown option is refused, naming it" 2 'unknown option "--frobnicate"' \
    "$LG" --vms 1 --class c --provider p --frobnicate

# --- the manager -----------------------------------------------------------------

t_mktemp D
t_start_manager MGR "$D/data" || t_done
t_pass "manager starts with the mock plugin"

# An API server nobody serves: the same kubeconfig on a free port.
FREE=$(t_free_port)
sed "s#https://127.0.0.1:$MGR_PORT#https://127.0.0.1:$FREE#" "$KUBECONFIG" >"$D/dead.kubeconfig"
t_exit "an unreachable API server is a clear setup error (exit 3)" 3 \
    "API server https://127.0.0.1:$FREE cannot be reached.*Is the manager running" \
    "$LG" --kubeconfig "$D/dead.kubeconfig" --vms 1 --class small --provider lg

cat >"$D/setup.yaml" <<'EOF'
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: lg
spec:
  type: mock
  endpoint: mock://lg
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: small
spec:
  cpu: 1
  memory: 512Mi
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: big
spec:
  cpu: 2
  memory: 1Gi
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: img
spec:
  source:
    http:
      url: http://images.invalid/disk.qcow2
EOF
t_run "apply the Provider, VMClasses and VMImage" kubectl --request-timeout=20s apply -f "$D/setup.yaml"

t_exit "a missing VMClass is a setup error naming it (exit 3)" 3 \
    'VMClass "nope" does not exist in namespace "default"' \
    "$LG" --vms 1 --class nope --provider lg
t_exit "a missing Provider is a setup error naming it (exit 3)" 3 \
    'Provider "nope" does not exist' "$LG" --vms 1 --class small --provider nope
t_exit "a missing VMImage is a setup error naming it (exit 3)" 3 \
    'VMImage "nope" does not exist' "$LG" --vms 1 --class small --provider lg --image nope

# count SELECTOR [JSONPATH-FILTER]: VMs the server holds.
count() {
    kubectl --request-timeout=20s get vm -l "loadgen.virtrigaud.io/run=$1" -o json |
        jq "[.items[] ${2:+| select($2)}] | length"
}

# --- a run that keeps its VMs: the JSON against the server -------------------

rc=0
"$LG" --vms 50 --class small --provider lg --image img --concurrency 8 \
    --mix create=20,power=40,reconfigure=30,delete=10 --duration 3 \
    --timeout "$TIMEOUT" --prefix keep --keep -o json >"$D/keep.json" 2>"$D/keep.err" || rc=$?
t_eq "loadgen --keep -o json exits 0" 0 "$rc"
[ "$rc" = 0 ] || t_note "$(cat "$D/keep.err"; head -c 3000 "$D/keep.json")"
if jq -e . "$D/keep.json" >/dev/null 2>&1; then
    t_pass "the JSON output parses"
else
    t_fail "the JSON output parses" "jq refused it" "$(head -c 2000 "$D/keep.json")"
fi
J() { jq -r "$1" "$D/keep.json" 2>/dev/null; }
t_eq "all 50 VMs were created and seen Ready" 50 "$(J .create.count)"
t_eq "no errors and no timeouts" "0 0 0" \
    "$(J '[.errors.count, ([.create, .mix.all] | map(.timeouts) | add), .create.errors] | join(" ")')"
ORDER='[.create, .mix.ops[], .mix.all] | map(select(.count > 0)) |
       all(.latencyMs | .p50 <= .p90 and .p90 <= .p99 and .p99 <= .max and .p50 > 0)'
t_eq "percentiles are ordered p50<=p90<=p99<=max for every operation" true "$(J "$ORDER")"
t_eq "the mix ran power, reconfigure, delete and create operations" true \
    "$(J '[.mix.ops.power, .mix.ops.reconfigure, .mix.ops.delete, .mix.ops.create] | all(.count > 0)')"
t_eq "throughput is reported for the create phase and the mix" true \
    "$(J '.create.opsPerSecond > 0 and .mix.all.opsPerSecond > 0 and .mix.seconds >= 3')"
t_eq "created - deleted = left in the report" true \
    "$(J '.vms.created - .vms.deleted == .vms.left')"
LEFT=$(J .vms.left)
t_eq "the VMs left match what the API server holds" "$LEFT" "$(count keep)"
t_eq "the Off VMs match the server's status.powerState" "$(J .vms.leftOff)" \
    "$(count keep '.status.powerState == "Off"')"
t_eq "the Ready VMs match the server's conditions" "$(J .vms.leftReady)" \
    "$(count keep '.status.conditions[]? | select(.type == "Ready") | .status == "True"')"
t_eq "--keep kept VMs (some powered off by the mix)" true \
    "$(J '.vms.left > 0 and .vms.leftOff > 0')"
# Every reconfigure was observed: the provider's CPU count is the one the
# spec asks for, on every VM the mix left.
t_eq "every kept VM's status.currentResources.cpu is its spec's" 0 \
    "$(count keep '(.spec.resources.cpu // 1) != .status.currentResources.cpu')"
t_eq "some kept VMs were reconfigured to 2 CPUs" true \
    "$(kubectl --request-timeout=20s get vm -l loadgen.virtrigaud.io/run=keep -o json |
       jq '[.items[] | select(.status.currentResources.cpu == 2)] | length > 0')"
t_exit "a second run with the same --prefix refuses (exit 3) and says how to clean" 3 \
    'earlier run with --prefix "keep".*kubectl delete vm' \
    "$LG" --vms 1 --class small --provider lg --prefix keep
# Not --wait: kubectl then GETs each of the 200-300 VMs at its client-side
# limit of 5 a second, which alone came close to a 60 s timeout.
t_run "delete the kept VMs" kubectl --request-timeout=60s delete vm \
    -l loadgen.virtrigaud.io/run=keep --wait=false
gone=0 end=$((SECONDS + 120))
while [ "$SECONDS" -lt "$end" ]; do
    [ "$(count keep)" = 0 ] && { gone=1; break; }
    sleep 1
done
t_eq "... and within 120 s every kept VM is gone (finalizers done)" 1 "$gone"

# --- a run that cleans up, with class changes, text output ----------------

t_exit "loadgen (text, --alt-class) exits 0" 0 \
    '^create +create +50 +0 +0 ' \
    "$LG" --vms 50 --class small --alt-class big --provider lg --concurrency 8 \
    --mix power=1,reconfigure=3 --duration 2 --timeout "$TIMEOUT" --prefix clean
t_grep "the text report has a row per mix operation and cleanup" \
    '^mix +reconfigure +[1-9].*' printf '%s\n' "$T_OUT"
t_grep "the text report counts the cleanup" '^cleanup +delete +50 +0 +0 ' \
    printf '%s\n' "$T_OUT"
t_grep "the text report says nothing is left" '0 left \(0 Off, 0 Ready\)' \
    printf '%s\n' "$T_OUT"
t_eq "cleanup leaves no VM on the server" 0 "$(count clean)"

# --- a timeout is a failure (exit 1) and still cleans up ----------------------

t_exit "operations not observed within --timeout make the exit status 1" 1 \
    'not observed within 0.001 s' \
    "$LG" --vms 3 --class small --provider lg --duration 0 --timeout 0.001 --prefix slow
t_eq "the timed-out run cleaned up" 0 "$(count slow)"

# --- Ctrl-C -------------------------------------------------------------------

"$LG" --vms 150 --class small --provider lg --concurrency 4 --duration 60 \
    --timeout "$TIMEOUT" --prefix intr >"$D/intr.out" 2>&1 </dev/null &
LGPID=$!
T_PIDS+=("$LGPID")
for _ in $(seq 100); do
    [ "$(count intr 2>/dev/null || echo 0)" -gt 0 ] && break
    sleep 0.2
done
sleep 0.5
kill -INT "$LGPID"
rc=0
wait "$LGPID" || rc=$?
t_eq "Ctrl-C (SIGINT) ends the run with exit status 130" 130 "$rc"
t_grep "Ctrl-C says it cleans up" 'interrupted; finishing and deleting' cat "$D/intr.out"
t_eq "after Ctrl-C no VM of the run is left" 0 "$(count intr)"
t_eq "no VM at all is left in the namespace" 0 \
    "$(kubectl --request-timeout=20s get vm -o json | jq '.items | length')"

t_done
