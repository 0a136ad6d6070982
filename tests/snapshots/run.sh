#!/usr/bin/env bash
# VMSnapshot end to end on the mock provider, with kubectl: take, revert
# through spec.snapshot.revertToRef, retention (maxCount, maxAge,
# deleteOnVMDelete, pinned), schedules with history limits, capability
# gating, and a bad cron expression.  The mock's state file shows what
# the "hypervisor" holds, independent of our own status.
#
#   BUILD=/tmp/build bash tests/snapshots/run.sh      (or via tests/run.sh)
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl
t_need node
WAIT=${WAIT:-30}
t_mktemp D
t_start_manager MGR "$D/data" || t_done
t_pass "manager starts"
STATE=$D/mock-state.json

# Snapshot ids the mock holds for VM NAME.
mock_snaps() {
    node -e 'const s=require(process.argv[1]);const v=s.vms.find(x=>x.name===process.argv[2]);
             process.stdout.write(v ? v.snapshots.map(x=>x.id).join(" ") : "")' "$STATE" "$1" 2>/dev/null
}
snap() { # snap NAME VM [RETENTION-YAML] [EXTRA-SPEC-YAML]
    cat >"$D/snap-$1.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSnapshot
metadata: {name: $1}
spec:
  vmRef: {name: $2}
  retentionPolicy: {${3:-}}
${4:-}
YAML
    t_run "apply VMSnapshot $1" k apply -f "$D/snap-$1.yaml"
}

cat >"$D/base.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: sim}
spec:
  type: mock
  endpoint: mock://snaps
  mock: {stateFile: $STATE}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: plain}
spec:
  type: mock
  endpoint: mock://plain
  mock: {caps: [snapshots, listVms, gracefulShutdown]}
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
kind: VirtualMachine
metadata: {name: db}
spec:
  providerRef: {name: sim}
  classRef: {name: small}
  imageRef: {name: img}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: lean}
spec:
  providerRef: {name: plain}
  classRef: {name: small}
  imageRef: {name: img}
YAML
t_run "apply providers, class, image and two VMs" k apply -f "$D/base.yaml"
t_run "both VMs are Ready" timeout 40 kubectl wait --for=condition=Ready \
    vm/db vm/lean --timeout=30s

# --- take one -------------------------------------------------------------------
snap s1 db
t_wait_jp "s1 becomes Ready with a snapshot id" vmsnapshot/s1 \
    '{.status.phase}/{.status.snapshotID}' '^Ready/.+'
S1=$(jp vmsnapshot/s1 '{.status.snapshotID}')
t_grep "the mock holds s1's snapshot" "(^| )${S1:-none}( |$)" mock_snaps db
t_wait_jp "creationTime is set" vmsnapshot/s1 '{.status.creationTime}' '^20[0-9-]+T'
t_grep "s1 carries the snapshot finalizer" 'vmsnapshot.infra.virtrigaud.io/finalizer' \
    jp vmsnapshot/s1 '{.metadata.finalizers}'

# --- revert -----------------------------------------------------------------------
t_run "set spec.snapshot.revertToRef: s1" k patch vm db --type=merge \
    -p '{"spec":{"snapshot":{"revertToRef":{"name":"s1"}}}}'
t_wait_jp "status.provider.lastRevert records the revert" vm/db \
    '{.status.provider.lastRevert}' "^s1/${S1:-none}\$"
end=$((SECONDS + WAIT)); r=''
while [ "$SECONDS" -lt "$end" ]; do
    r=$(evreasons db)
    [[ $r == *"Reverted PoweredOn"* ]] && break
    sleep 0.3
done
t_grep "Events: Reverted, then PoweredOn (a disk-only revert leaves the VM off; spec says On)" \
    'Reverted PoweredOn' echo "$r"
t_wait_jp "the VM is Running again" vm/db '{.status.phase}' '^Running$'
sleep 2
t_eq "the revert is done once, not on every reconcile" 1 \
    "$(evreasons db | tr ' ' '\n' | grep -c '^Reverted$')"

# --- maxCount -----------------------------------------------------------------------
snap s2 db "maxCount: 2"
t_wait_jp "s2 Ready" vmsnapshot/s2 '{.status.phase}' '^Ready$'
sleep 1.1
snap s3 db "maxCount: 2"
t_wait_jp "s3 Ready" vmsnapshot/s3 '{.status.phase}' '^Ready$'
sleep 1.1
snap s4 db "maxCount: 2" "  metadata: {pinned: true}"
t_wait_jp "s4 (pinned) Ready" vmsnapshot/s4 '{.status.phase}' '^Ready$'
S2=$(k get vmsnapshot s2 -o 'jsonpath={.status.snapshotID}' 2>/dev/null)
t_wait_jp "maxCount 2: the oldest of s2..s4 (s2) is deleted" vmsnapshot \
    '{range .items[*]}{.metadata.name}{" "}{end}' '^s1 s3 s4 $'
t_grep "... and its provider snapshot with it" "^$S1 " mock_snaps db
t_eq "the mock holds s1, s3, s4 (3 snapshots)" 3 "$(mock_snaps db | wc -w)"

# --- maxAge -------------------------------------------------------------------------
snap s5 db "maxAge: 3s"
t_wait_jp "s5 shows its expiryTime" vmsnapshot/s5 '{.status.expiryTime}' '^20'
# s5 is newer than s3 and s4, so s3 (maxCount 2) is now one too many.
t_wait_jp "maxAge 3s: s5 is deleted once it expires (and s5 pushed s3 past maxCount)" \
    vmsnapshot '{range .items[*]}{.metadata.name}{" "}{end}' '^s1 s4 $' 15
t_eq "the mock holds s1 and s4 only" 2 "$(mock_snaps db | wc -w)"

# --- capability gating ----------------------------------------------------------------
snap mem lean "" "  snapshotConfig: {includeMemory: true}"
t_wait_jp "no memory-snapshot capability: Failed, Unsupported, naming includeMemory" \
    vmsnapshot/mem \
    '{.status.phase}/{.status.conditions[?(@.type=="Ready")].reason}/{.status.message}' \
    '^Failed/Unsupported/.*includeMemory'

# --- schedules -------------------------------------------------------------------------
cat >"$D/sched.yaml" <<'YAML'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSnapshot
metadata: {name: every2s}
spec:
  vmRef: {name: db}
  schedule:
    enabled: true
    cronSpec: "@every 2s"
    successfulJobsHistoryLimit: 2
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSnapshot
metadata: {name: badcron}
spec:
  vmRef: {name: db}
  schedule: {enabled: true, cronSpec: "61 * * * *"}
YAML
t_run "apply a schedule (@every 2s, keep 2) and one with a bad cron" k apply -f "$D/sched.yaml"
t_wait_jp "a bad cron expression: Failed naming the field" vmsnapshot/badcron \
    '{.status.phase}/{.status.message}' '^Failed/spec\.schedule\.cronSpec: .*minute'
t_wait_jp "the schedule reports its next run" vmsnapshot/every2s \
    '{.status.nextScheduleTime}' '^20'
sleep 9
kids=$(k get vmsnapshot -l virtrigaud.io/snapshot-schedule=every2s -o name | wc -l)
t_note "children after 9 s: $kids"
t_eq "the schedule fired and history is pruned to 2 (at most 1 more running)" 1 \
    "$(( kids >= 2 && kids <= 3 ))"
first=$(k get vmsnapshot -l virtrigaud.io/snapshot-schedule=every2s -o jsonpath='{.items[0].metadata.name}')
t_grep "children are owned by the schedule" '^VMSnapshot every2s$' \
    jp "vmsnapshot/$first" '{.metadata.ownerReferences[0].kind} {.metadata.ownerReferences[0].name}'
t_run "suspend the schedule" k patch vmsnapshot every2s --type=merge \
    -p '{"spec":{"schedule":{"suspend":true}}}'
sleep 1
n1=$(k get vmsnapshot -l virtrigaud.io/snapshot-schedule=every2s -o name | wc -l)
sleep 4
n2=$(k get vmsnapshot -l virtrigaud.io/snapshot-schedule=every2s -o name | wc -l)
t_eq "a suspended schedule creates nothing" "$n1" "$n2"

# --- delete: finalizer removes the provider snapshot; deleteOnVMDelete -----------------
n_before=$(mock_snaps db | wc -w)
t_run "kubectl delete vmsnapshot s1" k delete vmsnapshot s1 --timeout=20s
t_eq "deleting s1 deleted its provider snapshot" "$((n_before - 1)) no" \
    "$(mock_snaps db | wc -w) $(mock_snaps db | grep -qw "${S1:-none}" && echo yes || echo no)"
t_run "delete the schedule" k delete vmsnapshot every2s badcron --timeout=20s
t_run "kubectl delete vm db" k delete vm db --timeout=30s
t_wait_jp "deleteOnVMDelete: the VM's snapshots go with it" vmsnapshot \
    '{range .items[?(@.spec.vmRef.name=="db")]}{.metadata.name}{" "}{end}' '^$' 20
t_eq "the manager is still running" 0 "$(kill -0 "$MGR" 2>/dev/null; echo $?)"
t_done
