#!/usr/bin/env bash
# Crash safety of the controller: 200 VirtualMachines applied in a burst,
# the manager killed with SIGKILL twice while it creates them, restarted on
# the same data directory each time.  The mock provider keeps its VMs in a
# state file (spec.mock.stateFile), so the simulated hypervisor outlives
# the manager the way a real one would.  At the end there must be exactly
# one mock VM per VirtualMachine: no duplicate from a crash between create
# and the status write, no orphan, no loss, and every VM Ready with a
# status.id that names the mock VM of the same name.
#
#   BUILD=/tmp/build bash tests/crash/run.sh      (or via tests/run.sh)
#
# Needs kubectl and node (for reading JSON; tests/crds needs it too).
# Knobs: N (VMs, default 200), WAIT (seconds for all Ready, default 120).
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl
t_need node
N=${N:-200}
WAIT=${WAIT:-120}
MANAGER=$BUILD/bin/virtrigaud-manager
for bin in "$MANAGER" "$VRT_PLUGIN_DIR/mock.so"; do
    if [ ! -e "$bin" ]; then
        t_fail "build products exist" "\"$bin\" is missing; run make first"
        t_done
    fi
done

t_mktemp D
STATE=$D/mock-state.json
export KUBECONFIG=$D/data/kubeconfig
t_secret "$(cat "$D/data/token" 2>/dev/null)"
k() { kubectl --request-timeout=30s "$@"; }

# start_manager: starts it on $D/data, sets MGR; 1 when it does not come up.
LOGS=()
start_manager() {
    local port='' _
    rm -f "$D/data/kubeconfig"
    t_bg MGR "$MANAGER" --standalone --data-dir "$D/data" --port 0 \
        --sync normal --plugin-dir "$VRT_PLUGIN_DIR"
    LOGS+=("$MGR_LOG")
    for _ in $(seq 300); do
        port=$(sed -n 's/.*serving on port \([0-9][0-9]*\); kubeconfig: .*/\1/p' \
            "$MGR_LOG" | head -n 1)
        [ -n "$port" ] && [ -s "$D/data/kubeconfig" ] && return 0
        kill -0 "$MGR" 2>/dev/null || break
        sleep 0.1
    done
    t_fail "manager starts" "no \"serving on port\" line" "$(tail -n 20 "$MGR_LOG")"
    return 1
}

# mock_vms: how many VMs the mock's state file holds right now.
mock_vms() {
    if [ -s "$STATE" ]; then
        grep -o '"seq":' "$STATE" | wc -l
    else
        echo 0
    fi
}

# crash_after SECS: SIGKILL to the manager after SECS; waits for it.
crash_after() {
    sleep "$1"
    if ! kill -0 "$MGR" 2>/dev/null; then
        t_fail "manager still running before the crash" "$(tail -n 20 "$MGR_LOG")"
        return 1
    fi
    kill -KILL "$MGR"
    wait "$MGR" 2>/dev/null
    t_note "killed the manager (SIGKILL) ${1}s later, with $(mock_vms) of $N VMs on the mock"
}

# wait_mock_more N: until the mock holds more than N VMs (bounded, 30 s).
wait_mock_more() {
    local end=$((SECONDS + 30))
    while [ "$(mock_vms)" -le "$1" ] && [ "$SECONDS" -lt "$end" ]; do
        sleep 0.05
    done
}

# random_delay: 0.0 to 0.9 seconds (200 creates take about 1 s).
random_delay() { printf '0.%d\n' $((RANDOM % 10)); }

start_manager || t_done
t_pass "manager starts"

cat >"$D/base.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: crash
spec:
  type: mock
  endpoint: mock://crash
  mock:
    stateFile: $STATE
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
kind: VMImage
metadata:
  name: img
spec:
  source:
    http:
      url: http://images.invalid/debian-12.qcow2
EOF
for i in $(seq -w 1 "$N"); do
    cat <<EOF
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: vm-$i
spec:
  providerRef:
    name: crash
  classRef:
    name: small
  imageRef:
    name: img
EOF
done >"$D/vms.yaml"

t_run "apply the Provider (with stateFile), class and image" \
    k apply -f "$D/base.yaml"
t_grep "the API server keeps spec.mock.stateFile" "^$STATE\$" \
    k get provider crash -o 'jsonpath={.spec.mock.stateFile}'
if [ "$T_FAILED" -gt 0 ]; then
    # Pruned by the Provider CRD: the rest would only test an amnesiac mock.
    t_note "the Provider CRD must declare spec.mock.stateFile (crds/src/provider.mjs)"
    t_done
fi

# Burst 1: apply all VMs; once the controller has begun creating them,
# crash at a random point.
k apply -f "$D/vms.yaml" >"$D/apply1.log" 2>&1 &
APPLY=$!
wait_mock_more 0
crash_after "$(random_delay)"
wait "$APPLY" 2>/dev/null
t_note "the first apply acknowledged $(grep -c -E ' (created|unchanged|configured)$' "$D/apply1.log") of $N+3 objects"

# Restart, apply again (the rest of the burst), crash again once the
# controller makes progress.
start_manager || t_done
t_pass "manager restarts after the first crash"
before=$(mock_vms)
k apply -f "$D/vms.yaml" >"$D/apply2.log" 2>&1 &
APPLY=$!
wait_mock_more "$before"
crash_after "$(random_delay)"
wait "$APPLY" 2>/dev/null

start_manager || t_done
t_pass "manager restarts after the second crash"
t_run "apply the burst once more (all $N must exist)" k apply -f "$D/vms.yaml"

# Wait, bounded, for every VM to be Ready.
ready=0
end=$((SECONDS + WAIT))
while :; do
    ready=$(k get virtualmachines -o \
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
        2>/dev/null | grep -c '^True$')
    [ "$ready" -ge "$N" ] && break
    [ "$SECONDS" -ge "$end" ] && break
    sleep 1
done
if [ "$ready" -ge "$N" ]; then
    t_pass "all $N VirtualMachines are Ready within ${WAIT}s of the last restart"
else
    t_fail "all $N VirtualMachines are Ready within ${WAIT}s" \
        "only $ready are Ready" "$(tail -n 20 "$MGR_LOG")"
fi

# The judgement: the VM objects against the mock's state file.
k get virtualmachines -o json >"$D/vms.json" 2>"$D/get.err" ||
    t_fail "list VirtualMachines" "$(cat "$D/get.err")"
cat >"$D/check.mjs" <<'EOF'
// argv: vms.json state.json N; prints one "PASS x" / "FAIL x: why" per check.
import { readFileSync } from 'node:fs';
const [vmsPath, statePath, nText] = process.argv.slice(2);
const n = Number(nText);
const out = (ok, name, why) =>
    console.log(ok ? `PASS ${name}` : `FAIL ${name}: ${why}`);
let objs = [], state = { vms: [] };
try { objs = JSON.parse(readFileSync(vmsPath, 'utf8')).items; }
catch (e) { out(false, 'VirtualMachine list is JSON', e.message); }
try { state = JSON.parse(readFileSync(statePath, 'utf8')); }
catch (e) { out(false, 'the mock state file is JSON', e.message); }
const mock = state.vms || [];
out(objs.length === n, `exactly ${n} VirtualMachine objects`,
    `found ${objs.length}`);
out(mock.length === n, `exactly ${n} VMs on the mock (no duplicates, no loss)`,
    `found ${mock.length}`);
const byName = new Map(), dupNames = [];
for (const m of mock) {
    if (byName.has(m.name)) dupNames.push(m.name);
    byName.set(m.name, m);
}
out(dupNames.length === 0, 'no VM name twice on the mock',
    `duplicated: ${dupNames.slice(0, 5).join(', ')}`);
const ids = new Set(mock.map((m) => m.id));
out(ids.size === mock.length, 'mock VM ids are unique', 'an id repeats');
const bad = [], notReady = [], notOn = [];
const names = new Set();
for (const o of objs) {
    const name = o.metadata.name, st = o.status || {};
    names.add(name);
    const m = byName.get(name);
    if (!m || st.id !== m.id)
        bad.push(`${name}: status.id=${st.id} mock=${m ? m.id : 'none'}`);
    const r = (st.conditions || []).find((c) => c.type === 'Ready');
    if (!r || r.status !== 'True') notReady.push(name);
    if (m && m.power !== 1) notOn.push(name);
}
out(bad.length === 0, 'every status.id names the mock VM of the same name',
    `${bad.length} mismatched, e.g. ${bad.slice(0, 3).join('; ')}`);
out(notReady.length === 0, 'every VirtualMachine has Ready=True',
    `${notReady.length} not Ready, e.g. ${notReady.slice(0, 5).join(', ')}`);
const orphans = mock.filter((m) => !names.has(m.name)).map((m) => m.id);
out(orphans.length === 0, 'no orphaned mock VM',
    `${orphans.length} orphans, e.g. ${orphans.slice(0, 5).join(', ')}`);
out(notOn.length === 0, 'every mock VM is powered on',
    `${notOn.length} not on, e.g. ${notOn.slice(0, 5).join(', ')}`);
EOF
# How often a crash fell between the mock's create and the status write:
# the controller then calls create again and the mock answers with the
# existing VM (it logs "Created VM" only for new ones).  Random, so noted.
asked=$(cat "${LOGS[@]}" | grep -c 'Created VM vm="' || true)
made=$(cat "${LOGS[@]}" | grep -c 'Created VM vm_id=' || true)
t_note "the controller asked for $asked creates, the mock made $made VMs: $((asked - made)) repeated after a crash"
if [ -s "$STATE" ]; then
    t_pass "the mock wrote its state file"
else
    t_fail "the mock wrote its state file" "$STATE is missing or empty"
fi
while IFS= read -r line; do
    case $line in
    PASS\ *) t_pass "${line#PASS }" ;;
    FAIL\ *)
        name=${line#FAIL }
        t_fail "${name%%: *}" "${name#*: }"
        ;;
    esac
done < <(node "$D/check.mjs" "$D/vms.json" "$STATE" "$N" 2>&1 ||
    echo "FAIL the JSON check runs: node exited non-zero")

# The last manager stops cleanly; no run may have a sanitizer report (the
# killed ones could not print leaks, but memory errors print at once).
t_stop "$MGR"
if grep -Eq 'runtime error:|AddressSanitizer|LeakSanitizer|ThreadSanitizer' \
    "${LOGS[@]}"; then
    t_fail "no sanitizer reports in the manager logs" "see below" \
        "$(grep -h -E -A20 'runtime error:|Sanitizer' "${LOGS[@]}" | head -n 60)"
else
    t_pass "no sanitizer reports in the manager logs"
fi
t_done
