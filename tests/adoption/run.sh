#!/usr/bin/env bash
# Adoption end to end on the mock provider, with kubectl: VMs that exist
# on the hypervisor but that no VirtualMachine manages are found, filtered,
# and turned into VirtualMachines without being touched (the mock's state
# file before and after is the judge).
#
#   BUILD=/tmp/build bash tests/adoption/run.sh      (or via tests/run.sh)
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl
t_need node
WAIT=${WAIT:-30}
t_mktemp D
t_start_manager MGR "$D/data" || t_done
t_pass "manager starts"
STATE=$D/mock-state.json

# The mock's VMs as "name id power cpus memoryMiB" lines, sorted.
mock_vms() {
    node -e 'const s=require(process.argv[1]);
             for (const v of s.vms) console.log(v.name, v.id, v.power, v.cpus, v.memoryMiB);' \
        "$STATE" 2>/dev/null | sort
}

cat >"$D/base.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: hv}
spec:
  type: mock
  endpoint: mock://adoption
  mock: {stateFile: $STATE}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: odd}
spec: {cpu: 3, memory: 1536Mi}
YAML
t_run "apply a provider and a class" k apply -f "$D/base.yaml"
for n in legacy-web-1 legacy-web-2 legacy-db; do
    cat >"$D/$n.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: $n}
spec:
  providerRef: {name: hv}
  classRef: {name: odd}
  powerState: "$([ "$n" = legacy-web-2 ] && echo Off || echo On)"
YAML
    k apply -f "$D/$n.yaml" >/dev/null
done
t_run "three VMs exist on the hypervisor" timeout 40 kubectl wait --for=condition=Ready \
    vm/legacy-web-1 vm/legacy-web-2 vm/legacy-db --timeout=30s
# Orphan them: drop the finalizer, delete the objects; the VMs stay.
for n in legacy-web-1 legacy-web-2 legacy-db; do
    k patch vm "$n" --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null
    k delete vm "$n" --wait=true --timeout=20s >/dev/null
done
sleep 1
before=$(mock_vms)
t_eq "now nothing manages them, and the mock still has 3 VMs" "0 3" \
    "$(k get vm -o name | grep -c . ) $(printf '%s\n' "$before" | grep -c .)"

t_run "annotate the Provider: adopt VMs named ^legacy-web" k annotate provider hv \
    virtrigaud.io/adopt-vms=true 'virtrigaud.io/adopt-filter={"namePattern":"^legacy-web"}'
t_wait_jp "two VirtualMachines are adopted" provider/hv \
    '{.status.adoption.adoptedVMs}/{.status.adoption.discoveredVMs}' '^2/3$'
t_wait_jp "legacy-web-1 is Running with its old id" vm/legacy-web-1 \
    '{.status.phase}/{.status.id}' "^Running/$(printf '%s\n' "$before" | awk '$1=="legacy-web-1"{print $2}')\$"
t_wait_jp "legacy-web-2 (powered off) is adopted as Off and Stopped" vm/legacy-web-2 \
    '{.spec.powerState}/{.status.phase}' '^Off/Stopped$'
t_grep "adopted VMs carry the adopted label" '^true$' \
    jp vm/legacy-web-1 '{.metadata.labels.virtrigaud\.io/adopted}'
t_grep "... and a class matching what they have (3 CPUs, 1536 MiB)" '^adopted-3c-1536mi$' \
    jp vm/legacy-web-1 '{.spec.classRef.name}'
t_eq "legacy-db did not match the filter and was not adopted" "" \
    "$(jp vm/legacy-db '{.metadata.name}')"
sleep 3
t_eq "the hypervisor's VMs are untouched (same ids, power, CPUs, memory; none added)" \
    "$before" "$(mock_vms)"
t_run "a second discovery adopts nothing twice (re-annotate to trigger it)" \
    k annotate --overwrite provider hv 'virtrigaud.io/adopt-filter={"namePattern":"^legacy"}'
t_wait_jp "widening the filter adopts legacy-db too, and only it" provider/hv \
    '{.status.adoption.adoptedVMs}' '^3$'
t_eq "three VirtualMachines, one per hypervisor VM" 3 "$(k get vm -o name | grep -c .)"
t_run "a bad filter is reported" k annotate --overwrite provider hv \
    'virtrigaud.io/adopt-filter={"namePattern":"(["}'
t_wait_jp "... naming the bad pattern" provider/hv '{.status.adoption.message}' \
    'namePattern .* is not a valid regular expression'
t_eq "the manager is still running" 0 "$(kill -0 "$MGR" 2>/dev/null; echo $?)"
t_done
