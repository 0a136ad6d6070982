#!/usr/bin/env bash
# VMClone end to end on the mock provider, with kubectl: clone a VM, clone
# from a VMSnapshot, from a VMImage; the target VM is bound to the
# provider's clone without a second VM being made (the mock's state file
# is the judge); linked clones refused where unsupported; a target name
# already taken is refused.
#
#   BUILD=/tmp/build bash tests/clones/run.sh      (or via tests/run.sh)
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl
t_need node
WAIT=${WAIT:-30}
t_mktemp D
t_start_manager MGR "$D/data" || t_done
t_pass "manager starts"
STATE=$D/mock-state.json

# mock_vm NAME FIELD: a field of the mock's VMs named NAME, one per line.
mock_vm() {
    node -e 'const s=require(process.argv[1]);
             for (const v of s.vms.filter(x=>x.name===process.argv[2])) console.log(v[process.argv[3]]);' \
        "$STATE" "$1" "$2" 2>/dev/null
}

cat >"$D/base.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: sim}
spec:
  type: mock
  endpoint: mock://clones
  mock: {stateFile: $STATE}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: nolink}
spec:
  type: mock
  endpoint: mock://nolink
  mock: {caps: [clone, listVms, gracefulShutdown]}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: small}
spec: {cpu: 2, memory: 1Gi}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: img}
spec:
  source:
    http: {url: "http://images.invalid/x.qcow2"}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: src}
spec:
  providerRef: {name: sim}
  classRef: {name: small}
  imageRef: {name: img}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: src2}
spec:
  providerRef: {name: nolink}
  classRef: {name: small}
  imageRef: {name: img}
YAML
t_run "apply providers, class, image and two source VMs" k apply -f "$D/base.yaml"
t_run "the sources are Ready" timeout 40 kubectl wait --for=condition=Ready \
    vm/src vm/src2 --timeout=30s

clone() { # clone NAME SOURCE-YAML TARGET [OPTIONS-YAML]
    cat >"$D/clone-$1.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClone
metadata: {name: $1}
spec:
  source: {$2}
  target: {name: $3, labels: {made-by: test}${5:-}}
  options: {${4:-powerOn: true}}
YAML
    t_run "apply VMClone $1" k apply -f "$D/clone-$1.yaml"
}

# --- from a VM -----------------------------------------------------------------
clone c1 "vmRef: {name: src}" copy1
t_wait_jp "the clone becomes Ready with a target id" vmclone/c1 \
    '{.status.phase}/{.status.targetVMID}/{.status.targetRef.name}' '^Ready/mock-[0-9]+/copy1$'
TID=$(jp vmclone/c1 '{.status.targetVMID}')
t_wait_jp "the target VM is Running with the clone's id" vm/copy1 \
    '{.status.phase}/{.status.id}' "^Running/${TID:-none}\$"
t_grep "the target carries the clone's labels" '^test true c1$' \
    jp vm/copy1 '{.metadata.labels.made-by} {.metadata.labels.virtrigaud\.io/adopted} {.metadata.labels.virtrigaud\.io/clone}'
t_grep "the mock cloned from the source VM" "^$(jp vm/src '{.status.id}')\$" \
    mock_vm copy1 sourceId
sleep 3
t_eq "exactly one VM named copy1 exists on the provider (no double creation)" 1 \
    "$(mock_vm copy1 id | grep -c .)"
t_grep "the clone inherited the source's class (2 CPUs)" '^2$' \
    jp vm/copy1 '{.status.currentResources.cpu}'

# --- from a snapshot ------------------------------------------------------------------
cat >"$D/snap.yaml" <<'YAML'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSnapshot
metadata: {name: base}
spec:
  vmRef: {name: src}
YAML
t_run "snapshot the source" k apply -f "$D/snap.yaml"
clone c2 "snapshotRef: {name: base}" copy2 "powerOn: false"
t_wait_jp "a clone from a VMSnapshot becomes Ready" vmclone/c2 '{.status.phase}' '^Ready$'
t_wait_jp "its VM is Stopped (powerOn: false)" vm/copy2 '{.status.phase}' '^Stopped$'
t_eq "the mock has it once" 1 "$(mock_vm copy2 id | grep -c .)"

# --- from an image ----------------------------------------------------------------------
clone c3 "imageRef: {name: img}" fresh "powerOn: true" \
    ", providerRef: {name: sim}, classRef: {name: small}"
t_wait_jp "a clone from a VMImage makes a VM on that image" vm/fresh \
    '{.spec.imageRef.name}/{.status.phase}' '^img/Running$'

# --- refusals --------------------------------------------------------------------------
clone c4 "vmRef: {name: src2}" copy4 "type: LinkedClone"
t_wait_jp "a linked clone on a provider without linked clones: Failed, Unsupported" \
    vmclone/c4 '{.status.phase}/{.status.conditions[?(@.type=="Ready")].reason}/{.status.message}' \
    '^Failed/Unsupported/.*LinkedClone'
t_eq "and no VM object was made for it" "" "$(jp vm/copy4 '{.metadata.name}')"
clone c5 "vmRef: {name: src}" src2
t_wait_jp "a target name taken by another VM: Failed, TargetExists" vmclone/c5 \
    '{.status.phase}/{.status.conditions[?(@.type=="Ready")].reason}' '^Failed/TargetExists$'
t_grep "the existing VM was left alone" '^nolink$' jp vm/src2 '{.spec.providerRef.name}'

t_run "delete the clone's VM" k delete vm copy1 --timeout=30s
t_eq "the provider VM is gone" 0 "$(mock_vm copy1 id | grep -c .)"
t_eq "the manager is still running" 0 "$(kill -0 "$MGR" 2>/dev/null; echo $?)"
t_done
