#!/usr/bin/env bash
# VMPlacementPolicy end to end on the mock provider (3 hosts), with
# kubectl: host anti-affinity spreads a VMSet's replicas over distinct
# hosts and refuses a fourth; excluded and preferred hosts; VM
# anti-affinity by label.  Where each VM landed is read from the mock's
# state file (the "hypervisor"), not only from our status.
#
#   BUILD=/tmp/build bash tests/placement/run.sh      (or via tests/run.sh)
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl
t_need node
WAIT=${WAIT:-30}
t_mktemp D
t_start_manager MGR "$D/data" || t_done
t_pass "manager starts"
STATE=$D/mock-state.json

# host_of VM: the host the mock put VM on.
host_of() {
    node -e 'const s=require(process.argv[1]);const v=s.vms.find(x=>x.name===process.argv[2]);
             process.stdout.write(v ? v.host : "")' "$STATE" "$1" 2>/dev/null
}

cat >"$D/base.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: sim}
spec:
  type: mock
  endpoint: mock://placement
  mock: {hosts: 3, stateFile: $STATE}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: small}
spec: {cpu: 1, memory: 1Gi}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: img}
spec:
  source:
    http: {url: "http://images.invalid/x.qcow2"}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMPlacementPolicy
metadata: {name: spread}
spec:
  antiAffinity:
    hostAntiAffinity: {enabled: true, maxVMsPerHost: 1, scope: strict}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSet
metadata: {name: db}
spec:
  replicas: 3
  selector:
    matchLabels: {app: db}
  updateStrategy:
    rollingUpdate: {podManagementPolicy: Parallel}
  template:
    metadata:
      labels: {app: db}
    spec:
      providerRef: {name: sim}
      classRef: {name: small}
      imageRef: {name: img}
      placementRef: {name: spread}
      # Without the policy every replica would land here: the mock
      # honours placement.host, so the test tells the policy's work apart
      # from the mock's own round robin.
      placement: {host: mock-host-1}
YAML
t_run "apply a 3-host provider, a spread policy and a VMSet of 3" k apply -f "$D/base.yaml"
t_wait_jp "3 replicas ready" vmset/db '{.status.readyReplicas}' '^3$'
hosts=$(for i in 0 1 2; do host_of "db-$i"; echo; done | sort -u | grep -c .)
t_eq "anti-affinity: the 3 replicas are on 3 distinct hosts (mock state)" 3 "$hosts"
t_eq "status.provider.host agrees with where the mock put db-0" "$(host_of db-0)" \
    "$(jp vm/db-0 '{.status.provider.host}')"
t_wait_jp "the policy lists its users" vmplacementpolicy/spread \
    '{.status.usedByVMs[*].name}' '^(db-[0-2] ){2}db-[0-2]$'

t_run "kubectl scale vmset/db --replicas=4" k scale vmset/db --replicas=4
t_wait_jp "a 4th replica has no host left: PlacementFailed naming the policy" vm/db-3 \
    '{.status.conditions[?(@.type=="Ready")].reason}/{.status.conditions[?(@.type=="Ready")].message}' \
    '^PlacementFailed/No host satisfies VMPlacementPolicy "spread"'
t_eq "and it was not created on the provider" "" "$(jp vm/db-3 '{.status.id}')"
t_run "kubectl scale vmset/db --replicas=3" k scale vmset/db --replicas=3
t_wait_jp "scaled back to 3" vmset/db '{.status.replicas}' '^3$'

# Excluded and preferred hosts, for single VMs.
cat >"$D/rules.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMPlacementPolicy
metadata: {name: pick}
spec:
  hard:
    excludedHosts: [mock-host-1]
  affinity:
    hostAffinity: {enabled: true, preferredHosts: [mock-host-3]}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: chosen, labels: {tier: front}}
spec:
  providerRef: {name: sim}
  classRef: {name: small}
  imageRef: {name: img}
  placementRef: {name: pick}
  placement: {host: mock-host-1}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMPlacementPolicy
metadata: {name: apart}
spec:
  hard:
    excludedHosts: [mock-host-1]
  antiAffinity:
    vmAntiAffinity:
      requiredDuringScheduling:
        - labelSelector:
            matchLabels: {tier: front}
          topologyKey: host
YAML
t_run "apply a policy with an excluded and a preferred host, and a VM on it" \
    k apply -f "$D/rules.yaml"
t_wait_jp "the VM is Ready" vm/chosen '{.status.phase}' '^Running$'
t_eq "it went to the preferred host" mock-host-3 "$(host_of chosen)"
cat >"$D/apart.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: other}
spec:
  providerRef: {name: sim}
  classRef: {name: small}
  imageRef: {name: img}
  placementRef: {name: apart}
  placement: {host: mock-host-1}
YAML
t_run "apply a VM that must stay apart from tier=front VMs, never on mock-host-1" \
    k apply -f "$D/apart.yaml"
t_wait_jp "that VM is Ready" vm/other '{.status.phase}' '^Running$'
t_eq "it went to the one host left (not host-1, not chosen's host-3)" mock-host-2 \
    "$(host_of other)"
t_eq "the manager is still running" 0 "$(kill -0 "$MGR" 2>/dev/null; echo $?)"
t_done
