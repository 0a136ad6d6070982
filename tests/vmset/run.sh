#!/usr/bin/env bash
# VMSet end to end: the real manager in standalone mode with the mock
# provider, driven by the real kubectl.  Scale up with `kubectl scale`,
# scale down, a template change rolled out with maxUnavailable respected
# at every sampled moment, partition, OnDelete, and deleting the set.
#
#   BUILD=/tmp/build bash tests/vmset/run.sh      (or via tests/run.sh)
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl
t_need node
WAIT=${WAIT:-40}
t_mktemp D
t_start_manager MGR "$D/data" || t_done
t_pass "manager starts"

# The set's VMs as "name revision ready deleting" lines, from one list.
members() {
    k get vm -l "virtrigaud.io/vmset=$1" -o json 2>/dev/null | node -e '
        let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
          for (const v of JSON.parse(s).items) {
            const r = (v.status?.conditions ?? []).find(c => c.type === "Ready");
            console.log(v.metadata.name, v.metadata.labels["virtrigaud.io/vmset-revision"],
                        r?.status === "True" ? "ready" : "notready",
                        v.metadata.deletionTimestamp ? "deleting" : "live");
          }});'
}

# Slow VMs make a rollout last long enough to watch: every mock call takes
# 150 ms, so a replacement takes about a second.
cat >"$D/base.yaml" <<'YAML'
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: sim}
spec:
  type: mock
  endpoint: mock://vmset
  mock: {latencyMs: 150}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: small}
spec: {cpu: 1, memory: 1Gi}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: big}
spec: {cpu: 2, memory: 2Gi}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: img}
spec:
  source:
    http: {url: "http://images.invalid/x.qcow2"}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSet
metadata: {name: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      providerRef: {name: sim}
      classRef: {name: small}
      imageRef: {name: img}
YAML
t_run "apply Provider, classes, image and a VMSet of 2" k apply -f "$D/base.yaml"
t_wait_jp "2 replicas become ready" vmset/web \
    '{.status.readyReplicas}/{.status.replicas}' '^2/2$'
t_grep "the VMs are named by ordinal" '^web-0 web-1 $' \
    jp vm '{range .items[*]}{.metadata.name}{" "}{end}' 
t_grep "each VM is owned by the set" '^VMSet web true$' \
    jp vm/web-0 '{.metadata.ownerReferences[0].kind} {.metadata.ownerReferences[0].name} {.metadata.ownerReferences[0].controller}'
t_grep "each VM has the template's labels" '^web$' jp vm/web-1 '{.metadata.labels.app}'
t_wait_jp "status.selector serves the scale subresource" vmset/web \
    '{.status.selector}' '^app=web$'

t_run "kubectl scale vmset/web --replicas=5" k scale vmset/web --replicas=5
t_wait_jp "5 replicas become ready" vmset/web \
    '{.status.readyReplicas}/{.status.availableReplicas}/{.status.replicas}' '^5/5/5$'
t_grep "kubectl get --subresource=scale reports 5" '^5/5$' \
    jp vmset/web '{.spec.replicas}/{.status.replicas}'
rev1=$(jp vmset/web '{.status.updateRevision}')

# A template change rolls out; sample the set while it does.
t_run "change the template (class small -> big)" k patch vmset web --type=merge \
    -p '{"spec":{"template":{"spec":{"classRef":{"name":"big"}}}}}'
worst=0 samples=0 done_at=0 end=$((SECONDS + 90))
while [ "$SECONDS" -lt "$end" ]; do
    m=$(members web)
    samples=$((samples + 1))
    avail=$(printf '%s\n' "$m" | awk '$3 == "ready" && $4 == "live"' | wc -l)
    unavail=$((5 - avail))
    [ "$unavail" -gt "$worst" ] && worst=$unavail
    rev2=$(jp vmset/web '{.status.updateRevision}')
    upd=$(printf '%s\n' "$m" | awk -v r="$rev2" '$2 == r && $3 == "ready" && $4 == "live"' | wc -l)
    if [ "$upd" -eq 5 ]; then done_at=$SECONDS; break; fi
    sleep 0.2
done
t_eq "the rollout finished (5 VMs at the new revision, ready)" 1 "$((done_at > 0))"
t_eq "the update revision changed" 1 "$([ -n "$rev2" ] && [ "$rev2" != "$rev1" ] && echo 1 || echo 0)"
t_note "sampled $samples times; at most $worst VM(s) unavailable"
t_eq "maxUnavailable=1 held at every sample (worst seen: $worst)" 1 "$((worst <= 1))"
t_eq "... and the rollout did replace VMs one by one (someone was unavailable)" 1 "$((worst >= 1))"
t_wait_jp "status: updatedReplicas 5, currentRevision = updateRevision" vmset/web \
    '{.status.updatedReplicas}/{.status.currentRevision}' "^5/${rev2:-none}\$"
t_wait_jp "the VMSet is Ready" vmset/web \
    '{.status.conditions[?(@.type=="Ready")].status}' '^True$'
t_grep "the new VMs run the new class (2 CPUs)" '^2$' \
    jp vm/web-0 '{.status.currentResources.cpu}'

# partition: only ordinals >= 3 are updated.
t_run "set partition 3 and change the template back" k patch vmset web --type=merge \
    -p '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":3}},"template":{"spec":{"classRef":{"name":"small"}}}}}'
t_wait_jp "with partition 3, two VMs are updated" vmset/web \
    '{.status.updatedReplicas}/{.status.readyReplicas}' '^2/5$' 60
t_grep "... web-3 and web-4 run the small class" '^1 1$' \
    jp vm '{.items[?(@.metadata.name=="web-3")].status.currentResources.cpu} {.items[?(@.metadata.name=="web-4")].status.currentResources.cpu}'
t_grep "... web-0 keeps the big class" '^2$' jp vm/web-0 '{.status.currentResources.cpu}'

# Scale down: the highest ordinals go.
t_run "kubectl scale vmset/web --replicas=2" k scale vmset/web --replicas=2
t_wait_jp "scaled down to 2" vmset/web '{.status.replicas}' '^2$'
t_wait_jp "web-2..4 are gone, web-0 and web-1 stay" vm \
    '{range .items[*]}{.metadata.name}{" "}{end}' '^web-0 web-1 $'

# OnDelete: a template change touches nothing until a VM is deleted.
t_run "switch to OnDelete and change the template (a new label)" k patch vmset web --type=merge \
    -p '{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":{"partition":0}},"template":{"metadata":{"labels":{"tier":"front"}}}}}'
sleep 3
t_grep "OnDelete: no VM was replaced" '^0$' jp vmset/web '{.status.updatedReplicas}'
t_run "delete web-1 by hand" k delete vm web-1 --wait=true --timeout=30s
t_wait_jp "OnDelete: the deleted VM comes back at the new revision" vmset/web \
    '{.status.updatedReplicas}/{.status.readyReplicas}' '^1/2$'
t_grep "... with the new label" '^front$' jp vm/web-1 '{.metadata.labels.tier}'

# Deleting the set deletes its VMs (no garbage collector in standalone).
t_run "delete the VMSet" k delete vmset web --wait=true --timeout=30s
t_wait_jp "its VMs are deleted with it" vm '{.items[*].metadata.name}' '^$' 60

# A selector that does not select the template's VMs makes nothing.
cat >"$D/bad.yaml" <<'YAML'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSet
metadata: {name: odd}
spec:
  replicas: 2
  selector:
    matchLabels: {app: odd}
  template:
    metadata:
      labels: {app: even}
    spec:
      providerRef: {name: sim}
      classRef: {name: small}
      imageRef: {name: img}
YAML
t_run "apply a VMSet whose selector does not match its template" k apply -f "$D/bad.yaml"
t_wait_jp "it says which label does not match" vmset/odd \
    '{.status.conditions[?(@.type=="Ready")].reason}/{.status.conditions[?(@.type=="Ready")].message}' \
    '^InvalidSelector/spec\.selector\.matchLabels\.app does not match'
t_grep "and no VM was made for it" '^$' jp vm '{.items[?(@.metadata.labels.virtrigaud\.io/vmset=="odd")].metadata.name}'
t_eq "the manager is still running" 0 "$(kill -0 "$MGR" 2>/dev/null; echo $?)"
t_done
