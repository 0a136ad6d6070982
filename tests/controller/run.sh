#!/usr/bin/env bash
# The controller end to end: the real manager in standalone mode with the
# mock provider plugin, driven and judged by the real kubectl (and vrtg).
# Each scenario uses its own Provider and mock endpoint (mock://NAME), so
# the simulated hypervisors do not share VMs or fault settings.
#
#   BUILD=/tmp/build bash tests/controller/run.sh      (or via tests/run.sh)
#
# Mock options (faults, async, ...) go under Provider.spec.mock, the only
# place the Provider CRD accepts them.  Every wait is bounded (WAIT
# seconds, default 30).
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl
WAIT=${WAIT:-30}
MANAGER=$BUILD/bin/virtrigaud-manager
VRTG=$BUILD/bin/vrtg
for bin in "$MANAGER" "$VRTG" "$VRT_PLUGIN_DIR/mock.so"; do
    if [ ! -e "$bin" ]; then
        t_fail "build products exist" "\"$bin\" is missing; run make first"
        t_done
    fi
done

t_mktemp D
t_bg MGR "$MANAGER" --standalone --data-dir "$D/data" --port 0 \
    --sync normal --plugin-dir "$VRT_PLUGIN_DIR"
PORT=
for _ in $(seq 200); do
    PORT=$(sed -n 's/.*serving on port \([0-9][0-9]*\); kubeconfig: .*/\1/p' \
        "$MGR_LOG" | head -n 1)
    [ -n "$PORT" ] && break
    kill -0 "$MGR" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$PORT" ] || [ ! -s "$D/data/kubeconfig" ]; then
    t_fail "manager starts with the mock plugin" \
        "no \"serving on port N; kubeconfig: PATH\" line" "$(cat "$MGR_LOG")"
    t_done
fi
t_pass "manager starts and prints its port and kubeconfig"
t_grep "the mock plugin is loaded" 'Loaded provider plugin "mock"' \
    cat "$MGR_LOG"
export KUBECONFIG=$D/data/kubeconfig
t_secret "$(cat "$D/data/token" 2>/dev/null)"

# --- helpers -----------------------------------------------------------------

k() { kubectl --request-timeout=20s "$@"; }

# jp OBJ JSONPATH: one field, "" when absent or on error.
jp() { k get "$1" -o "jsonpath=$2" 2>/dev/null; }

# What to show when a check about OBJ fails: its status and the log's end.
diag() {
    echo "--- kubectl get $1 -o yaml (status) ---"
    k get "$1" -o yaml 2>&1 | sed -n '/^status:/,$p' | head -n 40
    echo "--- manager log (last 8 lines) ---"
    tail -n 8 "$MGR_LOG"
}

# manifest NAME: stdin to $D/NAME.yaml (t_run closes stdin, so kubectl
# reads files).
manifest() { cat >"$D/$1.yaml"; }
apply() { t_run "apply $1" k apply -f "$D/$1.yaml"; }

# t_wait_jp NAME OBJ JSONPATH REGEX [SECS]: PASS once the field matches the
# extended regular expression REGEX (anchor it yourself).
t_wait_jp() {
    local name=$1 obj=$2 path=$3 re=$4 secs=${5:-$WAIT} v='' gone=0
    local end=$((SECONDS + secs))
    while :; do
        v=$(jp "$obj" "$path")
        if printf '%s\n' "$v" | grep -Eq -- "$re"; then
            t_pass "$name"
            return 0
        fi
        # An object that is gone will not change any more.
        if [ -z "$v" ] && k get "$obj" 2>&1 | grep -q NotFound; then
            gone=$((gone + 1))
            if [ "$gone" -ge 4 ]; then
                t_fail "$name" "$obj does not exist (wanted $path to match /$re/)"
                return 1
            fi
        fi
        [ "$SECONDS" -ge "$end" ] && break
        sleep 0.5
    done
    t_fail "$name" "$obj $path is \"$v\", wanted /$re/ within ${secs}s" \
        "$(diag "$obj")"
    return 1
}

# t_ready NAME OBJ [SECS]: kubectl wait --for=condition=Ready, bounded
# twice.
t_ready() {
    local rc=0 secs=${3:-$WAIT}
    t_exec timeout $((secs + 10)) kubectl wait --for=condition=Ready "$2" \
        --timeout="${secs}s" || rc=$?
    if [ "$rc" -eq 0 ]; then
        t_pass "$1"
    else
        t_fail "$1" "not Ready within ${secs}s (exit $rc): $T_OUT" \
            "$(diag "$2")"
    fi
    return "$rc"
}

# Checks that depend on a dependency's change waking its VMs use this
# bound: well under the controller's 30 s requeue and resync periods, so
# they fail when the wake-up does not happen.
WAKE=15

# provider NAME [SPEC-EXTRA]: a mock Provider on endpoint mock://NAME.
provider() {
    manifest "provider-$1" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: $1
spec:
  type: mock
  endpoint: mock://$1
${2:-}
EOF
    apply "provider-$1"
}

# vm NAME PROVIDER CLASS: a VirtualMachine on image "img".
vm() {
    manifest "vm-$1" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: $1
spec:
  providerRef:
    name: $2
  classRef:
    name: $3
  imageRef:
    name: img
EOF
    apply "vm-$1"
}

# vmclass NAME CPU MEMORY
vmclass() {
    manifest "class-$1" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: $1
spec:
  cpu: $2
  memory: $3
EOF
    apply "class-$1"
}

# --- the happy path ------------------------------------------------------------

provider e2e
vmclass small 2 2Gi
manifest image <<'EOF'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: img
spec:
  source:
    http:
      url: http://images.invalid/debian-12.qcow2
EOF
apply image
vm web e2e small

t_ready "VM reaches Ready=True" vm/web
t_wait_jp "status.id is the provider's id" vm/web '{.status.id}' '^mock-[0-9]+$'
t_wait_jp "status.phase is Running" vm/web '{.status.phase}' '^Running$'
t_wait_jp "status.powerState is On" vm/web '{.status.powerState}' '^On$'
t_wait_jp "status.ips is not empty" vm/web '{.status.ips[0]}' \
    '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'
t_wait_jp "the finalizer is present" vm/web '{.metadata.finalizers[*]}' \
    '(^| )virtualmachine\.infra\.virtrigaud\.io/finalizer( |$)'
t_wait_jp "status.currentResources follows the class" vm/web \
    '{.status.currentResources.cpu}/{.status.currentResources.memoryMiB}' \
    '^2/2048$'
gen=$(jp vm/web '{.metadata.generation}')
t_wait_jp "status.observedGeneration equals metadata.generation ($gen)" \
    vm/web '{.status.observedGeneration}' "^${gen:-unknown}\$"
t_wait_jp "the Ready condition records the generation" vm/web \
    '{.status.conditions[?(@.type=="Ready")].observedGeneration}' \
    "^${gen:-unknown}\$"
WEB_ID=$(jp vm/web '{.status.id}')
t_grep "kubectl get vm shows phase and IP columns" \
    '^web +Running +e2e +small +img +[0-9.]+ ' k get vm web --no-headers

t_wait_jp "Provider status.healthy is true" provider/e2e \
    '{.status.healthy}' '^true$'
t_wait_jp "Provider Ready condition is True" provider/e2e \
    '{.status.conditions[?(@.type=="Ready")].status}' '^True$'
t_wait_jp "Provider reports capabilities" provider/e2e \
    '{.status.reportedCapabilities.supportsSnapshots}/{.status.reportedCapabilities.supportedExportFormats[*]}' \
    '^true/raw qcow2 vmdk$'
t_wait_jp "Provider reports the plugin version" provider/e2e \
    '{.status.version}' '^[0-9]+\.[0-9]+\.[0-9]+'

# --- power -----------------------------------------------------------------------

t_run "kubectl patch spec.powerState Off" \
    k patch vm web --type=merge -p '{"spec":{"powerState":"Off"}}'
t_wait_jp "status.powerState follows to Off" vm/web '{.status.powerState}' '^Off$'
t_wait_jp "status.phase is Stopped" vm/web '{.status.phase}' '^Stopped$'
t_wait_jp "a stopped VM has no IPs" vm/web '{.status.ips[*]}' '^$'
t_wait_jp "a VM stopped as specified stays Ready" vm/web \
    '{.status.conditions[?(@.type=="Ready")].status}' '^True$'
gen=$(jp vm/web '{.metadata.generation}')
t_wait_jp "observedGeneration catches up with the power change ($gen)" \
    vm/web '{.status.observedGeneration}' "^${gen:-unknown}\$"
t_run "kubectl patch spec.powerState On" \
    k patch vm web --type=merge -p '{"spec":{"powerState":"On"}}'
t_wait_jp "powered on again" vm/web '{.status.phase}/{.status.powerState}' \
    '^Running/On$'
t_eq "the VM kept its id across power changes" "$WEB_ID" \
    "$(jp vm/web '{.status.id}')"

# --- events.k8s.io/v1 Events tell the VM's story --------------------------------

# evreasons OBJNAME: the reasons of the Events regarding OBJNAME, in order.
evreasons() {
    k get events.events.k8s.io -o \
        "jsonpath={range .items[?(@.regarding.name==\"$1\")]}{.reason} {end}" \
        2>/dev/null
}
t_wait_jp_events() {
    local name=$1 obj=$2 re=$3 end=$((SECONDS + WAIT)) v=''
    while [ "$SECONDS" -lt "$end" ]; do
        v=$(evreasons "$obj")
        if printf '%s\n' "$v" | grep -Eq -- "$re"; then
            t_pass "$name"
            return 0
        fi
        sleep 0.5
    done
    t_fail "$name" "events regarding $obj: \"$v\", wanted /$re/"
}
t_wait_jp_events "Events: Created, then PoweredOff and PoweredOn for vm/web" web \
    '(^| )Created .*PoweredOff .*PoweredOn( |$)'
t_grep "an Event names the reporting controller, the object's kind and uid" \
    "^virtrigaud.io/manager VirtualMachine $(jp vm/web '{.metadata.uid}')\$" \
    k get events.events.k8s.io -o \
    'jsonpath={range .items[?(@.reason=="Created")]}{.reportingController} {.regarding.kind} {.regarding.uid}{"\n"}{end}'
t_grep "a Created Event's note names the provider id" \
    "^Created VM ${WEB_ID:-none} on Provider e2e\\.\$" \
    k get events.events.k8s.io -o \
    'jsonpath={range .items[?(@.regarding.name=="web")]}{.note}{"\n"}{end}'
t_grep "kubectl describe vm shows the VM's Events (read through core/v1)" \
    "Normal +Created +[0-9a-z]+ +virtrigaud.io/manager +Created VM ${WEB_ID:-none} on Provider e2e" \
    k describe vm web

# --- reconfigure when the class changes -------------------------------------------

vmclass resize 1 1Gi
vm grow e2e resize
t_ready "a second VM on the same provider is Ready" vm/grow
t_wait_jp "it starts with the class's 1 CPU" vm/grow \
    '{.status.currentResources.cpu}' '^1$'
t_run "kubectl patch the VMClass cpu" \
    k patch vmclass resize --type=merge -p '{"spec":{"cpu":3}}'
t_wait_jp "a VMClass cpu change reconfigures the VM" vm/grow \
    '{.status.currentResources.cpu}' '^3$' "$WAKE"
t_run "kubectl patch the VMClass memory" \
    k patch vmclass resize --type=merge -p '{"spec":{"memory":"1536Mi"}}'
t_wait_jp "a VMClass memory change reconfigures the VM" vm/grow \
    '{.status.currentResources.memoryMiB}' '^1536$' "$WAKE"
t_run "kubectl patch the VM's own resources" \
    k patch vm grow --type=merge -p '{"spec":{"resources":{"cpu":5}}}'
t_wait_jp "spec.resources.cpu overrides the class" vm/grow \
    '{.status.currentResources.cpu}/{.status.phase}' '^5/Running$'
t_wait_jp "Ready again after reconfiguring" vm/grow \
    '{.status.conditions[?(@.type=="Ready")].status}' '^True$'
# Settled objects are left alone: a reconcile that writes status every
# time would wake itself through the watch, forever.
rv1=$(jp vm/grow '{.metadata.resourceVersion}')
prv1=$(jp provider/e2e '{.metadata.resourceVersion}')
sleep 3
t_eq "a settled VM is not rewritten (resourceVersion)" "$rv1" \
    "$(jp vm/grow '{.metadata.resourceVersion}')"
t_eq "a settled Provider is not rewritten (resourceVersion)" "$prv1" \
    "$(jp provider/e2e '{.metadata.resourceVersion}')"

# --- a missing dependency ------------------------------------------------------------

vm orphan e2e later
t_wait_jp "missing VMClass: Ready=False, WaitingForDependencies" vm/orphan \
    '{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}' \
    '^False/WaitingForDependencies$'
t_wait_jp "the message names the missing VMClass" vm/orphan \
    '{.status.conditions[?(@.type=="Ready")].message}' '"later"'
t_wait_jp "and the phase is Pending without a provider id" vm/orphan \
    '{.status.phase}/{.status.id}' '^Pending/$'
vmclass later 1 1Gi
t_ready "creating the VMClass makes the VM Ready" vm/orphan "$WAKE"

# --- VMClass, VMImage and VMNetworkAttachment report their own status -----------

t_wait_jp "VMClass status.usedByVMs counts its VMs" vmclass/small \
    '{.status.usedByVMs}' '^1$'
t_wait_jp "a valid VMClass is Ready" vmclass/small \
    '{.status.conditions[?(@.type=="Ready")].status}' '^True$'
t_wait_jp "a valid VMImage is Ready and available on every Provider" vmimage/img \
    '{.status.phase}/{.status.ready}/{.status.availableOn[*]}' \
    '^Ready/true/(.* )?e2e( |$)'
manifest badimage <<'EOF'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: badimg
spec:
  source: {}
EOF
apply badimage
t_wait_jp "a VMImage with no source fails validation, naming the field" \
    vmimage/badimg \
    '{.status.phase}/{.status.conditions[?(@.type=="Ready")].reason}/{.status.message}' \
    '^Failed/ValidationFailed/spec\.source names no source'
t_wait_jp "and is available nowhere" vmimage/badimg \
    '{.status.ready}/{.status.availableOn[*]}' '^false/$'

# A VM on a network that does not exist yet waits for it; creating the
# VMNetworkAttachment lets it proceed, and the provider gets the NIC
# (checked in the mock's state file, which records the spec it was given).
NETSTATE=$D/net-state.json
provider netp "  mock:
    stateFile: $NETSTATE"
manifest vm-wired <<'EOF'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: wired
spec:
  providerRef:
    name: netp
  classRef:
    name: small
  imageRef:
    name: img
  networks:
    - name: eth0
      networkRef:
        name: lan
      macAddress: "52:54:00:aa:bb:01"
EOF
apply vm-wired
t_wait_jp "a missing VMNetworkAttachment: WaitingForDependencies naming it" \
    vm/wired \
    '{.status.conditions[?(@.type=="Ready")].reason}/{.status.conditions[?(@.type=="Ready")].message}' \
    '^WaitingForDependencies/.*"lan".*spec\.networks\[0\]\.networkRef'
manifest net-lan <<'EOF'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMNetworkAttachment
metadata:
  name: lan
spec:
  network:
    libvirt:
      networkName: default
EOF
apply net-lan
t_ready "creating the VMNetworkAttachment makes the VM Ready" vm/wired "$WAKE"
t_wait_jp "VMNetworkAttachment status.connectedVMs counts the VM" \
    vmnetworkattachment/lan '{.status.connectedVMs}/{.status.ready}' '^1/true$'
t_grep "the provider got the NIC with its MAC" \
    'macAddress\\":\\"52:54:00:aa:bb:01' cat "$NETSTATE"
t_run "kubectl delete vm wired" k delete vm wired --wait=true --timeout=30s
t_wait_jp "connectedVMs drops when the VM goes" vmnetworkattachment/lan \
    '{.status.connectedVMs}' '^0$' "$WAKE"

# --- cloud-init from inline and Secret sources, network-config from static IPs --

manifest ci-secret <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: ci-docs
stringData:
  user-data: |
    #!/bin/sh
    echo secret-part-4711
  meta-data: "local-hostname: from-secret"
EOF
apply ci-secret
manifest vm-ci <<'EOF'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: ci
spec:
  providerRef:
    name: netp
  classRef:
    name: small
  imageRef:
    name: img
  userData:
    cloudInit:
      inline: |
        #cloud-config
        runcmd: [echo inline-part-0815]
      secretRef:
        name: ci-docs
  metaData:
    cloudInit:
      inline: "instance-id: ci-1"
      secretRef:
        name: ci-docs
  networks:
    - name: eth0
      ipAddress: 10.1.2.3
      prefix: 26
      gateway: 10.1.2.1
      dns: "10.1.2.53,10.1.2.54"
EOF
apply vm-ci
t_ready "a VM with cloud-init from inline and Secret sources is Ready" vm/ci
ci_doc() { # ci_doc KEY: that document of VM "ci" in the mock's state file
    node -e 'const s=require(process.argv[1]);const v=s.vms.find(x=>x.name==="ci");
             process.stdout.write(v && v[process.argv[2]] || "")' "$NETSTATE" "$1"
}
t_grep "inline and Secret user-data become one MIME multipart archive" \
    '^Content-Type: multipart/mixed' ci_doc userData
t_grep "... with the inline part as text/cloud-config" \
    'inline-part-0815' ci_doc userData
t_grep "... and the Secret's script as text/x-shellscript" \
    'Content-Type: text/x-shellscript' ci_doc userData
t_grep "meta-data joins the inline text and the Secret's" \
    'instance-id: ci-1' ci_doc metaData
t_grep "... both of them" 'local-hostname: from-secret' ci_doc metaData
t_grep "network-config has the static address with its prefix" \
    '10\.1\.2\.3/26' ci_doc networkConfig
t_grep "... the default route via the gateway" 'via: "?10\.1\.2\.1' ci_doc networkConfig
t_grep "... and both DNS servers" '10\.1\.2\.54' ci_doc networkConfig
t_eq "the Secret's content is not in the manager's log" 0 \
    "$(grep -c 'secret-part-4711' "$MGR_LOG")"
manifest vm-nosecret <<'EOF'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: nosecret
spec:
  providerRef:
    name: netp
  classRef:
    name: small
  userData:
    cloudInit:
      secretRef:
        name: no-such-secret
EOF
apply vm-nosecret
t_wait_jp "a missing user-data Secret: WaitingForDependencies naming the field" \
    vm/nosecret \
    '{.status.conditions[?(@.type=="Ready")].reason}/{.status.conditions[?(@.type=="Ready")].message}' \
    '^WaitingForDependencies/spec\.userData\.cloudInit\.secretRef: .*no-such-secret'
t_eq "and nothing was created for it" "" "$(jp vm/nosecret '{.status.id}')"
k delete vm ci nosecret --wait=false >/dev/null 2>&1

# --- faults: a persistent INVALID on create ---------------------------------------

provider broken "  mock:
    faults:
      create:
        code: INVALID
        persistent: true"
t_wait_jp "the fault settings are stored in Provider.spec.mock" \
    provider/broken '{.spec.mock.faults.create.code}' '^INVALID$'
t_wait_jp "a Provider whose create fails is still healthy" provider/broken \
    '{.status.healthy}' '^true$'
vm doomed broken small
t_wait_jp "create fails with INVALID: Ready=False, ProviderError" vm/doomed \
    '{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}' \
    '^False/ProviderError$'
t_wait_jp "the message names the failed create and the code" vm/doomed \
    '{.status.conditions[?(@.type=="Ready")].message}' \
    '^Create failed: .*INVALID'
t_wait_jp "a non-retryable failure sets phase Failed" vm/doomed \
    '{.status.phase}/{.status.id}' '^Failed/$'
t_wait_jp_events "a Warning Event with reason ProviderError regards vm/doomed" \
    doomed '(^| )ProviderError( |$)'
t_grep "the Warning Event's note says what failed" '^Warning Create failed: ' \
    k get events.events.k8s.io -o \
    'jsonpath={range .items[?(@.regarding.name=="doomed")]}{.type} {.note}{"\n"}{end}'
t_eq "a repeated failure is not posted again and again" 1 \
    "$(evreasons doomed | tr ' ' '\n' | grep -c '^ProviderError$')"
rc=0
t_exec "$VRTG" --kubeconfig "$KUBECONFIG" vm wait doomed --timeout 60 || rc=$?
t_eq "vrtg vm wait on a Failed VM exits 1 at once with the reason" \
    "1 yes" "$rc $(grep -q 'failed: Create failed: .*INVALID' <<<"$T_OUT" && echo yes)"

# --- faults: one transient UNAVAILABLE on create ------------------------------------

provider flaky "  mock:
    faults:
      create:
        after: 0
        code: UNAVAILABLE"
vm retry flaky small
t_ready "a transient UNAVAILABLE on create: the VM still becomes Ready" vm/retry
t_wait_jp "... with an id from the retried create" vm/retry '{.status.id}' \
    '^mock-0*1$'
t_grep "... and the first create did fail (retried with backoff)" \
    'vm="default/retry" reason=ProviderError: Create failed: .*UNAVAILABLE' \
    cat "$MGR_LOG"

# --- an asynchronous provider: tasks are polled to the end ----------------------

provider tasks "  mock:
    async: true
    taskPolls: 2"
vm slow tasks small
t_ready "on an async provider the VM becomes Ready after its task" vm/slow
t_wait_jp "... Running with an id" vm/slow '{.status.phase}/{.status.id}' \
    '^Running/mock-[0-9]+$'
t_wait_jp "the finished task is cleared from status.lastTaskRef" vm/slow \
    '{.status.lastTaskRef}' '^$'
rv1=$(jp vm/slow '{.metadata.resourceVersion}')
sleep 3
t_eq "a settled VM on an async provider is not rewritten (resourceVersion)" \
    "$rv1" "$(jp vm/slow '{.metadata.resourceVersion}')"
t_run "stop it" k patch vm slow --type=merge -p '{"spec":{"powerState":"Off"}}'
t_wait_jp "the power task completes: Off and Stopped" vm/slow \
    '{.status.powerState}/{.status.phase}' '^Off/Stopped$'
rc=0
t_exec timeout $((WAIT + 10)) kubectl delete vm slow --timeout="${WAIT}s" || rc=$?
t_eq "delete through a destroy task completes" 0 "$rc"

# --- a VM that vanished from the provider is created again --------------------------

provider vanish
vm ghost vanish small
t_ready "a VM for the vanishing test is Ready" vm/ghost
GHOST_ID=$(jp vm/ghost '{.status.id}')
t_run "pretend the provider lost it (status.id of an unknown VM)" \
    k patch vm ghost --subresource=status --type=merge \
    -p '{"status":{"id":"mock-999999"}}'
t_wait_jp "the controller creates it again (status.id back to the provider's id)" \
    vm/ghost '{.status.id}' "^${GHOST_ID:-unknown}\$"
t_ready "and it is Ready again" vm/ghost
# Destroy of an id the provider does not know is NOTFOUND: gone already,
# so the finalizer goes.
rc=0
t_exec timeout $((WAIT + 10)) kubectl delete vm ghost --timeout="${WAIT}s" || rc=$?
t_eq "a VM whose provider VM is gone can still be deleted" 0 "$rc"

# --- one slow Provider cannot take every worker ---------------------------------

# The manager runs 4 workers.  A Provider limited to one call in flight,
# whose every call takes 4 s, gets 4 VMs at once; a VM on a fast Provider
# applied right after must not wait behind them.
provider slow "  connectionPooling:
    maxConnections: 1
  mock:
    latencyMs: 4000"
for i in 1 2 3 4; do vm "slow$i" slow small; done
sleep 0.3
t0=$SECONDS
vm quick e2e small
t_ready "a VM on a fast Provider is Ready while a slow one is busy" vm/quick 3
t_eq "and it took under 4 s (the slow Provider's call time)" 1 \
    "$(( SECONDS - t0 < 4 ))"
t_grep "the slow Provider's VMs are still provisioning meanwhile" \
    'Pending|Provisioning|^$' jp vm/slow4 '{.status.phase}'
for i in 1 2 3 4; do k delete vm "slow$i" --wait=false >/dev/null 2>&1; done
k patch provider slow --type=merge -p '{"spec":{"mock":{"latencyMs":0}}}' \
    >/dev/null 2>&1

# --- the circuit breaker ------------------------------------------------------------

# Every describe fails with UNAVAILABLE: after failureThreshold (2 here)
# failures the breaker opens, VMs say so, and no call is made during the
# cool-down; fixing the Provider's spec closes it.
provider flap "  healthCheck:
    failureThreshold: 2
  mock:
    faults:
      describe:
        code: UNAVAILABLE
        persistent: true"
vm fl1 flap small
t_wait_jp "the breaker opens: Ready=False, reason ProviderUnavailable" vm/fl1 \
    '{.status.conditions[?(@.type=="Ready")].reason}/{.status.conditions[?(@.type=="Ready")].message}' \
    '^ProviderUnavailable/.*circuit breaker open'
t_grep "the manager logs that the circuit opened" \
    'Circuit opened provider="default/flap" failures=2' cat "$MGR_LOG"
n1=$(grep -c 'vm="default/fl1" reason=ProviderError: Describe failed' "$MGR_LOG")
sleep 3
n2=$(grep -c 'vm="default/fl1" reason=ProviderError: Describe failed' "$MGR_LOG")
t_eq "no describe is attempted while the circuit is open (3 s of 5)" "$n1" "$n2"
t_run "fix the Provider (remove the fault)" \
    k patch provider flap --type=json \
    -p '[{"op":"remove","path":"/spec/mock/faults"}]'
t_ready "a fixed Provider closes the circuit and the VM becomes Ready" vm/fl1 "$WAKE"

# --- vrtg against the same server -----------------------------------------------

vrtg() { "$VRTG" --kubeconfig "$KUBECONFIG" "$@"; }
t_run "vrtg vm list exits 0" vrtg vm list
t_grep "vrtg vm list has a NAME column and the VMs" '^NAME ' vrtg vm list
t_grep "vrtg vm list lists web" '^web +Running' vrtg vm list
t_run "vrtg vm get exits 0" vrtg vm get web
t_grep "vrtg takes -o after the command (vm get web -o json)" '"name":[[:space:]]*"web"' \
    vrtg vm get web -o json
t_grep "vrtg vm get shows the VM under NAME" '^NAME ' vrtg vm get web
t_grep "vrtg vm get shows the VM's row" '^web ' vrtg vm get web
t_run "vrtg provider list exits 0" vrtg provider list
t_grep "vrtg provider list shows the healthy mock provider" \
    '^e2e +mock +true +mock://e2e' vrtg provider list
rc=0
t_exec vrtg vm get nope || rc=$?
t_eq "vrtg vm get nope exits 3 (not found)" 3 "$rc"
t_run "vrtg vm stop exits 0" vrtg vm stop web
t_wait_jp "vrtg vm stop sets spec.powerState Off" vm/web \
    '{.spec.powerState}' '^Off$'
t_wait_jp "and the controller stops the VM" vm/web \
    '{.status.powerState}/{.status.phase}' '^Off/Stopped$'

# --- delete: the finalizer holds until the provider destroyed the VM -------------

rc=0
t_exec timeout $((WAIT + 10)) kubectl delete vm web --timeout="${WAIT}s" || rc=$?
if [ "$rc" -eq 0 ]; then
    t_pass "kubectl delete vm returns once the VM is gone"
else
    t_fail "kubectl delete vm returns once the VM is gone" "exit $rc: $T_OUT" \
        "$(diag vm/web)"
fi
rc=0
t_exec k get vm web || rc=$?
if [ "$rc" -ne 0 ] && printf '%s' "$T_OUT" | grep -q NotFound; then
    t_pass "the VirtualMachine object is gone"
else
    t_fail "the VirtualMachine object is gone" "kubectl get vm web: $T_OUT"
fi
# The mock hands back the existing VM's id for a create with the same name
# and spec, so a new id proves the provider really destroyed the old one.
vm web e2e small
t_ready "a VM created again under the same name is Ready" vm/web
t_wait_jp "it has a new provider id (the old VM was destroyed)" vm/web \
    '{.status.id}' "^mock-[0-9]+\$"
new_id=$(jp vm/web '{.status.id}')
if [ -n "$WEB_ID" ] && [ -n "$new_id" ] && [ "$new_id" != "$WEB_ID" ]; then
    t_pass "the provider VM was destroyed on delete ($WEB_ID, now $new_id)"
else
    t_fail "the provider VM was destroyed on delete" \
        "old id \"$WEB_ID\", new id \"$new_id\""
fi

# --- force-delete when destroy fails for good ----------------------------------------

provider stuck "  mock:
    faults:
      destroy:
        code: UNAVAILABLE
        persistent: true"
vm sticky stuck small
t_ready "a VM on a provider whose destroy fails is Ready" vm/sticky
t_run "kubectl delete --wait=false" k delete vm sticky --wait=false
t_wait_jp "the failed destroy is reported (Deleting=False, ProviderError)" \
    vm/sticky \
    '{.status.conditions[?(@.type=="Deleting")].status}/{.status.conditions[?(@.type=="Deleting")].reason}' \
    '^False/ProviderError$'
sleep 2
held=0
t_wait_jp "the finalizer keeps the object while destroy fails" vm/sticky \
    '{.metadata.deletionTimestamp}|{.metadata.finalizers[*]}' \
    '^[0-9T:Z-]+\|.*virtualmachine\.infra\.virtrigaud\.io/finalizer' 1 && held=1
if [ "$held" = 1 ]; then
    t_run "annotate virtrigaud.io/force-delete=true" \
        k annotate vm sticky virtrigaud.io/force-delete=true
    rc=0
    t_exec timeout $((WAIT + 10)) kubectl wait --for=delete vm/sticky \
        --timeout="${WAIT}s" || rc=$?
    if [ "$rc" -eq 0 ]; then
        t_pass "force-delete releases the finalizer and the object goes"
    else
        t_fail "force-delete releases the finalizer and the object goes" \
            "exit $rc: $T_OUT" "$(diag vm/sticky)"
    fi
else
    # Gone without force: the annotation would prove nothing.
    t_fail "force-delete releases the finalizer and the object goes" \
        "not checked: the VM was not held by a failing destroy"
fi

# --- the manager survived all of it and stops cleanly ----------------------------------

if kill -0 "$MGR" 2>/dev/null; then
    t_pass "the manager is still running"
    kill -TERM "$MGR"
    rc=0
    for _ in $(seq 100); do
        kill -0 "$MGR" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$MGR" 2>/dev/null; then
        t_fail "the manager stops on SIGTERM within 10 s" "still running"
    else
        wait "$MGR" || rc=$?
        t_eq "the manager exits 0 on SIGTERM" 0 "$rc"
    fi
else
    rc=0
    wait "$MGR" || rc=$?
    t_fail "the manager is still running" "it exited with status $rc" \
        "$(tail -n 40 "$MGR_LOG")"
fi
if grep -Eq 'runtime error:|AddressSanitizer|LeakSanitizer|ThreadSanitizer' \
    "$MGR_LOG"; then
    t_fail "no sanitizer reports in the manager log" "see below" \
        "$(grep -E -A20 'runtime error:|Sanitizer' "$MGR_LOG")"
else
    t_pass "no sanitizer reports in the manager log"
fi

t_done
