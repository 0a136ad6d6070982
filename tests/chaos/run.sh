#!/usr/bin/env bash
# Chaos: the manager (which is also the API server in standalone mode)
# killed with SIGKILL at random points while VMs are created, powered off
# and deleted; a provider host killed while VMs are created through it;
# hypervisor endpoints that hang, reset the connection or
# answer garbage; the disk under the store filling up.  What must hold:
# nothing acknowledged is lost, no VM is made twice or left orphaned, the
# manager never dies of what a hypervisor does, and every failure is
# visible in a condition and in the metrics.
#
#   BUILD=/tmp/build bash tests/chaos/run.sh      (or via tests/run.sh)
#
# The hypervisor is the mock plugin with a state file (it outlives the
# manager like a real one) and, for the misbehaving endpoints, a small
# Node server posing as a Proxmox VE API (chaos-server.mjs; a fake, there
# is no real PVE here).  The disk-full part mounts a tmpfs, so it runs as
# root only and is skipped otherwise.
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl
t_need node
t_mktemp D
STATE=$D/mock-state.json
N=${N:-40}
HERE=$(cd "$(dirname "$0")" && pwd)

LOGS=()
start() {
    t_start_manager MGR "$D/data" "$@" || t_done
    LOGS+=("$MGR_LOG")
}

# kill_at_random: SIGKILL to the manager 0.0-1.9 s from now.
kill_at_random() {
    sleep "$((RANDOM % 2)).$((RANDOM % 10))"
    kill -KILL "$MGR" 2>/dev/null
    wait "$MGR" 2>/dev/null
}

# ---------------------------------------------------------------------------
# 1. SIGKILL under a mixed load.
start --call-timeout 5
t_pass "manager starts"
cat >"$D/base.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: chaos}
spec:
  type: mock
  endpoint: mock://chaos
  mock: {stateFile: $STATE}
EOF
cat >"$D/common.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: small}
spec: {cpu: 1, memory: 512Mi}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: img}
spec: {source: {http: {url: "http://images.invalid/debian-12.qcow2"}}}
EOF
vm_yaml() { # vm_yaml NAME POWER
    printf -- '---\napiVersion: infra.virtrigaud.io/v1beta1\nkind: VirtualMachine\nmetadata: {name: %s}\nspec: {providerRef: {name: chaos}, classRef: {name: small}, imageRef: {name: img}, powerState: "%s"}\n' "$1" "$2"
}
for i in $(seq -w 1 "$N"); do vm_yaml "c-$i" On; done >"$D/vms.yaml"
t_run "apply the mock Provider with a state file, class and image" \
    k apply -f "$D/base.yaml" -f "$D/common.yaml"

# Round 1: the creates, killed at a random point.
k apply -f "$D/vms.yaml" >/dev/null 2>&1 &
APPLY=$!
kill_at_random
wait "$APPLY" 2>/dev/null
start --call-timeout 5
t_run "after a kill during the creates, the manager restarts and the apply completes" \
    k apply -f "$D/vms.yaml"

# Round 2: a quarter powered off and a quarter deleted, killed again.
q=$((N / 4))
off=() gone=()
for i in $(seq 1 "$q"); do off+=("c-$(printf '%02d' "$i")"); done
for i in $(seq $((q + 1)) $((2 * q))); do gone+=("c-$(printf '%02d' "$i")"); done
{
    for v in "${off[@]}"; do vm_yaml "$v" Off; done >"$D/off.yaml"
    k apply -f "$D/off.yaml" >/dev/null 2>&1
    k delete virtualmachine --wait=false "${gone[@]}" >/dev/null 2>&1
} &
LOAD=$!
kill_at_random
wait "$LOAD" 2>/dev/null
start --call-timeout 5
t_run "after a kill during power-offs and deletes, the power-offs apply" k apply -f "$D/off.yaml"
t_run "... and the deletes are accepted (or already done)" \
    k delete virtualmachine --ignore-not-found --wait=false "${gone[@]}"

# Round 3: one more kill while it converges, then a clean start.
kill_at_random
start --call-timeout 5
want=$((N - q))
end=$((SECONDS + 90))
while :; do
    total=$(k get virtualmachines -o name 2>/dev/null | wc -l)
    ready=$(k get virtualmachines -o \
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
        2>/dev/null | grep -c '^True$')
    [ "$total" -eq "$want" ] && [ "$ready" -eq "$want" ] && break
    [ "$SECONDS" -ge "$end" ] && break
    sleep 1
done
t_eq "after three kills, $want VirtualMachines remain and all are Ready" \
    "$want $want" "$total $ready"

k get virtualmachines -o json >"$D/vms.json" 2>/dev/null
while IFS= read -r line; do
    case $line in
    PASS\ *) t_pass "${line#PASS }" ;;
    FAIL\ *) name=${line#FAIL }; t_fail "${name%%: *}" "${name#*: }" ;;
    esac
done < <(node "$HERE/judge.mjs" "$D/vms.json" "$STATE" "${off[*]}" "${gone[*]}" 2>&1 ||
    echo "FAIL the judgement runs: node exited non-zero")
t_stop "$MGR"

# ---------------------------------------------------------------------------
# 2. Hypervisor endpoints that hang, reset or answer garbage.
rm -rf "$D/data"
start --call-timeout 3
t_secret "chaos-secret-do-not-log-7f3a"
for mode in hang reset garbage; do
    port=$(t_free_port)
    t_bg "SRV_$mode" node "$HERE/chaos-server.mjs" "$mode" "$port"
    t_wait_port "$port" 10 || t_fail "the $mode server listens" "$(eval cat "\$SRV_${mode}_LOG")"
    cat <<EOF
---
apiVersion: v1
kind: Secret
metadata: {name: pve-$mode}
type: Opaque
stringData: {tokenId: "root@pam!chaos", tokenSecret: "chaos-secret-do-not-log-7f3a"}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: pve-$mode}
spec:
  type: proxmox
  endpoint: http://127.0.0.1:$port
  credentialSecretRef: {name: pve-$mode}
  runtime: {mode: Remote, image: "virtrigaud/provider-proxmox:embedded"}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: vm-$mode}
spec: {providerRef: {name: pve-$mode}, classRef: {name: small}, imageRef: {name: img}}
EOF
done >"$D/bad.yaml"
t_run "apply Providers on misbehaving endpoints" k apply -f "$D/common.yaml" -f "$D/bad.yaml"

# ready_msg VM: "status|message" of its Ready condition.
ready_msg() {
    jp "virtualmachine/$1" '{.status.conditions[?(@.type=="Ready")].status}|{.status.conditions[?(@.type=="Ready")].message}'
}
declare -A expect=([hang]='tim' [reset]='reset|closed|empty|Recv|receive' [garbage]='JSON|json|parse')
for mode in hang reset garbage; do
    end=$((SECONDS + 40))
    msg=''
    while [ "$SECONDS" -lt "$end" ]; do
        msg=$(ready_msg "vm-$mode")
        case $msg in False\|?*) break ;; esac
        sleep 1
    done
    if [[ $msg == False\|* ]] && grep -qE "${expect[$mode]}" <<<"$msg"; then
        t_pass "an endpoint that ${mode}s: the VM is Ready=False saying so (${msg#False|})"
    else
        t_fail "an endpoint that ${mode}s: the VM is Ready=False saying so" \
            "Ready is \"$msg\"; expected /${expect[$mode]}/"
    fi
done
t_run "the manager survives all three endpoints" kill -0 "$MGR"
t_no_secret_seen "misbehaving endpoints"
t_run "... and still serves the API" k get providers
metrics=$(k get --raw /metrics 2>/dev/null)
failed=$(grep '^virtrigaud_provider_calls_total{' <<<"$metrics" |
    grep -v 'code="OK"' | awk '{s += $2} END {print s + 0}')
t_eq "failed provider calls are counted in virtrigaud_provider_calls_total" \
    1 "$(( failed >= 3 ))"
for mode in hang reset garbage; do eval t_stop "\$SRV_$mode"; done
t_stop "$MGR"

# ---------------------------------------------------------------------------
# 3. The disk holding the store fills up.
if [ "$(id -u)" -ne 0 ]; then
    t_skip "a full disk under the store" "needs root to mount a tmpfs"
else
    FULL=$D/full
    mkdir -p "$FULL"
    if ! mount -t tmpfs -o size=6m tmpfs "$FULL"; then
        t_fail "mount a 6 MiB tmpfs for the store" "mount failed"
    else
        T_MOUNTS+=("$FULL")
        start_full() { t_start_manager MGR "$FULL/data" --no-controller || t_done; LOGS+=("$MGR_LOG"); }
        start_full
        # Leave about 300 KiB free, then write 8 KiB objects until refused.
        avail=$(df --output=avail -k "$FULL" | tail -n 1)
        dd if=/dev/zero of="$FULL/filler" bs=1k count=$((avail - 300)) status=none 2>/dev/null
        sync
        big=$(head -c 6000 /dev/urandom | base64 -w0)
        acked=()
        refused=''
        for i in $(seq 1 200); do
            if out=$(k create configmap "fill-$i" --from-literal="blob=$big" 2>&1); then
                acked+=("fill-$i")
            else
                refused=$out
                break
            fi
        done
        t_note "${#acked[@]} objects written before the disk was full"
        t_grep "a write to a full disk is refused saying the disk is full" \
            "full" echo "$refused"
        t_run "the manager is still running with its disk full" kill -0 "$MGR"
        t_run "reads still work with the disk full" k get configmap "${acked[0]:-none}"
        rm -f "$FULL/filler"
        t_run "with space freed, writes work again (no restart)" \
            k create configmap after-full --from-literal=a=b
        t_stop "$MGR"
        start_full
        missing=0
        for c in "${acked[@]}" after-full; do
            k get configmap "$c" >/dev/null 2>&1 || missing=$((missing + 1))
        done
        t_eq "after a restart, every acknowledged write is there" 0 "$missing"
        t_stop "$MGR"
    fi
fi

# ---------------------------------------------------------------------------
# 4. SIGKILL of a provider host (the plugin out of process) while VMs are
#    created through it, then a restart on the same socket.
PHOST=$BUILD/bin/virtrigaud-provider-host
PSTATE=$D/ph-state.json
start_phost() {
    rm -f "$D/ph.sock"
    t_bg PH "$PHOST" --plugin "$VRT_PLUGIN_DIR/mock.so" --listen "unix:$D/ph.sock" --insecure
    for _ in $(seq 100); do [ -S "$D/ph.sock" ] && return 0; sleep 0.1; done
    t_fail "the provider host starts" "no socket" "$(cat "$PH_LOG")"
    return 1
}
rm -rf "$D/data"
start --call-timeout 5
if start_phost; then
    cat >"$D/ph.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: chaos
  annotations: {virtrigaud.io/provider-host: "unix://$D/ph.sock"}
spec:
  type: mock
  endpoint: mock://chaos-host
  mock: {stateFile: $PSTATE}
  runtime:
    image: virtrigaud/provider-mock:test
    service: {tls: {enabled: false}}
EOF
    t_run "apply a Provider served by a provider host" k apply -f "$D/ph.yaml" -f "$D/common.yaml"
    for i in $(seq -w 1 20); do vm_yaml "h-$i" On; done >"$D/hvms.yaml"
    k apply -f "$D/hvms.yaml" >/dev/null 2>&1 &
    APPLY=$!
    sleep "$((RANDOM % 2)).$((RANDOM % 10))"
    kill -KILL "$PH" 2>/dev/null
    wait "$PH" 2>/dev/null
    wait "$APPLY"
    sleep 2
    t_run "the manager survives its provider host's SIGKILL" kill -0 "$MGR"
    start_phost
    t_run "after the host restarts, the VMs apply" k apply -f "$D/hvms.yaml"
    end=$((SECONDS + 90))
    while :; do
        ready=$(k get virtualmachines -o \
            'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
            2>/dev/null | grep -c '^True$')
        [ "$ready" -eq 20 ] || [ "$SECONDS" -ge "$end" ] && break
        sleep 1
    done
    t_eq "all 20 VMs are Ready through the restarted host" 20 "$ready"
    k get virtualmachines -o json >"$D/hvms.json" 2>/dev/null
    while IFS= read -r line; do
        case $line in
        PASS\ *) t_pass "provider host: ${line#PASS }" ;;
        FAIL\ *) name=${line#FAIL }; t_fail "provider host: ${name%%: *}" "${name#*: }" ;;
        esac
    done < <(node "$HERE/judge.mjs" "$D/hvms.json" "$PSTATE" "" "" 2>&1 ||
        echo "FAIL the judgement runs: node exited non-zero")
    t_stop "$PH"
fi
t_stop "$MGR"

# ---------------------------------------------------------------------------
# Secrets never reach a log; no sanitizer report in any run.
leaks=$(cat "${LOGS[@]}" | grep -c 'chaos-secret-do-not-log' || true)
t_eq "no manager log line holds the Provider token secret" 0 "$leaks"
san=$(cat "${LOGS[@]}" | grep -cE 'ERROR: AddressSanitizer|runtime error:' || true)
t_eq "no sanitizer report in any manager run" 0 "$san"
t_done
