#!/usr/bin/env bash
# VMMigration end to end between two mock providers, with kubectl: the
# disk is exported (raw), converted by the pipeline to qcow2, imported,
# exported back and verified, and a VM on the target boots the imported
# disk.  qemu-img is the oracle for the staged files (compare, check) and
# sha256sum for the content hash.  Also: retries after a failed export,
# clean-up of staging and of the migration's snapshot, refusals (no
# import capability, s3 staging without spec.storage.s3).
#
#   BUILD=/tmp/build bash tests/migration/run.sh      (or via tests/run.sh)
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl
t_need qemu-img
t_need sha256sum
WAIT=${WAIT:-40}
t_mktemp D
t_start_manager MGR "$D/data" --staging-dir "$D/staging" || t_done
t_pass "manager starts"

cat >"$D/base.yaml" <<'YAML'
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: old}
spec:
  type: mock
  endpoint: mock://mig-old
  mock: {diskSizeBytes: 33554432}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: new}
spec:
  type: mock
  endpoint: mock://mig-new
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: readonly}
spec:
  type: mock
  endpoint: mock://mig-ro
  mock: {caps: [diskExport, listVms, gracefulShutdown]}
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
metadata: {name: app}
spec:
  providerRef: {name: old}
  classRef: {name: small}
  imageRef: {name: img}
YAML
t_run "apply two providers, a read-only one, and a VM on the old one" k apply -f "$D/base.yaml"
t_run "the VM is Ready" timeout 40 kubectl wait --for=condition=Ready vm/app --timeout=30s

mig() { # mig NAME TARGET-NAME TARGET-PROVIDER [OPTIONS] [STORAGE]
    cat >"$D/mig-$1.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: $1}
spec:
  source: {vmRef: {name: app}}
  target: {name: $2, providerRef: {name: $3}, powerOn: true}
  options: {${4:-diskFormat: qcow2}}
  storage: {type: ${5:-pvc}}
YAML
    t_run "apply VMMigration $1" k apply -f "$D/mig-$1.yaml"
}

mig m1 app-moved new "diskFormat: qcow2, cleanupPolicy: Never"
t_wait_jp "the migration reaches Ready" vmmigration/m1 '{.status.phase}' '^Ready$' 60
t_grep "it went through every phase, in order (events)" \
    'Validating Snapshotting Exporting Converting Importing Creating Validating-Target Ready' \
    evreasons m1
src=$(jp vmmigration/m1 '{.status.diskInfo.sourceChecksum}')
dst=$(jp vmmigration/m1 '{.status.diskInfo.targetChecksum}')
t_eq "the disk read back from the target has the source's content SHA-256" "$src" "$dst"
t_grep "validationResults.checksumMatch is true" '^true$' \
    jp vmmigration/m1 '{.status.validationResults.checksumMatch}'
STAGE=$D/staging/default_m1
t_eq "the content SHA-256 is sha256sum of the exported raw disk" \
    "$(sha256sum "$STAGE/export.raw" | cut -d' ' -f1)" "$src"
t_run "qemu-img check: the converted qcow2 is clean" qemu-img check -q "$STAGE/import.qcow2"
t_run "qemu-img compare: the qcow2 holds the exported disk" \
    qemu-img compare -q -f raw -F qcow2 "$STAGE/export.raw" "$STAGE/import.qcow2"
t_grep "progress ended at 100%" '^100$' jp vmmigration/m1 '{.status.progress.percentage}'
t_wait_jp "the target VM boots the imported disk and runs" vm/app-moved \
    '{.status.phase}/{.spec.importedDisk.diskID}' "^Running/$(jp vmmigration/m1 '{.status.importID}')\$"
t_grep "the target VM is on the new provider" '^new$' jp vm/app-moved '{.spec.providerRef.name}'
t_grep "cleanupPolicy Never kept the staging files" '^false$|^$' \
    jp vmmigration/m1 '{.status.storageInfo.cleanedUp}'

# A migration deleted and made again under the same name starts from an
# empty staging directory: the leftovers (kept by cleanupPolicy Never) are
# not resumed into the new export.
t_run "delete VMMigration m1 (its staging stays: cleanupPolicy Never)" \
    k delete vmmigration m1 --wait=true
t_eq "its exported disk is still in staging" 33554432 \
    "$(stat -c %s "$STAGE/export.raw" 2>/dev/null || echo 0)"
# Leave what an interrupted export of other content would: 1 MiB of noise.
head -c 1048576 /dev/urandom >"$STAGE/export.raw"
mig m1 app-moved-again new "diskFormat: qcow2, cleanupPolicy: Never"
t_wait_jp "the new m1 reaches Ready" vmmigration/m1 '{.status.phase}' '^Ready$' 60
t_eq "its export started over: the staged disk is one disk long" 33554432 \
    "$(stat -c %s "$STAGE/export.raw" 2>/dev/null || echo 0)"
t_eq "and its content SHA-256 is the source disk's, as the first m1 had it" \
    "$src" "$(jp vmmigration/m1 '{.status.diskInfo.sourceChecksum}')"

# A failed export is retried; the default cleanup removes staging.
cat >"$D/flaky.yaml" <<'YAML'
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: old}
spec:
  type: mock
  endpoint: mock://mig-old
  mock:
    diskSizeBytes: 33554432
    faults:
      disk_export_open: {code: UNAVAILABLE}
YAML
t_run "make the source's next export fail once" k apply -f "$D/flaky.yaml"
cat >"$D/mig-m2.yaml" <<'YAML'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: m2}
spec:
  source: {vmRef: {name: app}}
  target: {name: app-again, providerRef: {name: new}}
  options:
    retryPolicy: {maxRetries: 2, retryDelay: 1s, backoffMultiplier: 1}
  storage: {type: pvc}
YAML
t_run "apply VMMigration m2 (retryDelay 1s)" k apply -f "$D/mig-m2.yaml"
t_wait_jp "after one retry the migration is Ready" vmmigration/m2 \
    '{.status.phase}/{.status.retryCount}' '^Ready/1$' 60
t_grep "a Retrying event names the failed export" 'Retrying' evreasons m2
t_wait_jp "the default cleanupPolicy (OnSuccess) removed staging" vmmigration/m2 \
    '{.status.storageInfo.cleanedUp}' '^true$'
t_eq "the staging directory is gone" no "$([ -e "$D/staging/default_m2" ] && echo yes || echo no)"
t_grep "the migration's own snapshot was deleted" '^$' jp vmmigration/m2 '{.status.snapshotID}'

# Refusals.
mig m3 nowhere readonly
t_wait_jp "a target that cannot import: Failed, saying so" vmmigration/m3 \
    '{.status.phase}/{.status.message}' '^Failed/The target provider cannot import disks\.$'
mig m4 nowhere2 new "" s3
t_wait_jp "s3 staging without spec.storage.s3: Failed, naming it" vmmigration/m4 \
    '{.status.phase}/{.status.message}' '^Failed/spec\.storage\.s3 is required when spec\.storage\.type is s3\.$'
# powerOffBeforeMigration: the source is shut down through its own spec,
# then exported as it is, without a snapshot, and stays off.
cat >"$D/off.yaml" <<'YAML'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: app-off}
spec:
  providerRef: {name: old}
  classRef: {name: small}
  imageRef: {name: img}
  powerState: "On"
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: m5}
spec:
  source: {vmRef: {name: app-off}, powerOffBeforeMigration: true}
  target: {name: app-off-moved, providerRef: {name: new}}
  storage: {type: pvc}
YAML
t_run "a running VM" k apply -f <(sed -n '1,/^---$/p' "$D/off.yaml" | sed '$d')
t_wait_jp "... is Running" vm/app-off '{.status.phase}' '^Running$'
t_run "migrate it with powerOffBeforeMigration" k apply -f "$D/off.yaml"
t_wait_jp "the migration is Ready" vmmigration/m5 '{.status.phase}' '^Ready$' 60
t_grep "the source's spec was set to Off" '^Off$' jp vm/app-off '{.spec.powerState}'
t_grep "and the source is off" '^Off$' jp vm/app-off '{.status.powerState}'
t_grep "a PoweringOffSource event says why" 'PoweringOffSource' evreasons m5
t_eq "no snapshot was taken of the stopped source" 0 \
    "$(evreasons m5 | grep -c Snapshotting)"
t_grep "the disk read back matches the source" '^true$' \
    jp vmmigration/m5 '{.status.validationResults.checksumMatch}'

# --- the same from vrtg -------------------------------------------------------------
vrtg() { "$BUILD/bin/vrtg" --kubeconfig "$KUBECONFIG" "$@"; }
t_grep "vrtg migrate --follow ends with the migrated VM and its checksum" \
    '^migrated: virtualmachine/app-cli \(content SHA-256 [0-9a-f]{64}\)$' \
    vrtg migrate app --to new --name app-cli --format qcow2 --follow --timeout 60
t_grep "... after drawing the phases and 100%" 'Ready +\[#{25}\] 100%' \
    vrtg migrate app --to new --name app-cli2 --follow --timeout 60
t_grep "vrtg vm events lists the target VM's events" '^[0-9T:.Z-]+ +Normal +Created ' \
    vrtg vm events app-cli
t_grep "vrtg vm describe shows the provider id and conditions" '^Provider id: mock-' \
    vrtg vm describe app-cli
t_grep "vrtg provider capabilities says what the target can import" \
    '^  supportsDiskImport +yes$' vrtg provider capabilities new
t_grep "vrtg snapshot create makes a VMSnapshot" '^vmsnapshot/cli-snap created$' \
    vrtg snapshot create app-cli --name cli-snap
t_wait_jp "... which becomes Ready" vmsnapshot/cli-snap '{.status.phase}' '^Ready$'
t_grep "vrtg snapshot list shows it" '^cli-snap +app-cli +Ready ' vrtg snapshot list app-cli
t_run "vrtg snapshot revert" vrtg snapshot revert app-cli cli-snap
t_wait_jp "... reverts the VM" vm/app-cli '{.status.provider.lastRevert}' '^cli-snap/'
t_grep "vrtg clone makes a VMClone" '^vmclone/clone-app-copy created$' \
    vrtg clone app-cli app-copy --power-on
t_wait_jp "... and the clone runs" vm/app-copy '{.status.phase}' '^Running$'
t_grep "vrtg vm create makes a VirtualMachine from flags" '^virtualmachine/flagvm created$' \
    vrtg vm create flagvm --provider new --class small --image img
t_wait_jp "... which runs" vm/flagvm '{.status.phase}' '^Running$'
t_grep "vrtg vm console prints its console URL" '^vnc://' vrtg vm console flagvm
rc=0; vrtg vm create nope --class small 2>/dev/null || rc=$?
t_eq "vrtg vm create without --provider is a usage error (exit 2)" 2 "$rc"
rc=0; vrtg migrate app 2>/dev/null || rc=$?
t_eq "vrtg migrate without --to is a usage error (exit 2)" 2 "$rc"
rc=0; vrtg vm describe no-such-vm 2>/dev/null || rc=$?
t_eq "vrtg vm describe of a missing VM exits 3" 3 "$rc"
t_grep "vrtg completion bash defines the completion" '^complete -F _vrtg vrtg$' \
    vrtg completion bash

t_eq "the manager is still running" 0 "$(kill -0 "$MGR" 2>/dev/null; echo $?)"
t_stop "$MGR"

# --- kill -9 in the middle of the export, then restart: it resumes ---------------
# A second manager on its own store; the source provider keeps its VMs
# and snapshots in a state file, so they outlive the kill like a real
# hypervisor's would.  A 512 MiB disk leaves time to kill mid-copy.
t_start_manager M2 "$D/data2" --staging-dir "$D/staging2" || t_done
cat >"$D/crash.yaml" <<YAML
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: old}
spec:
  type: mock
  endpoint: mock://crash-old
  mock: {diskSizeBytes: 536870912, stateFile: $D/crash-old.json}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: new}
spec:
  type: mock
  endpoint: mock://crash-new
  mock: {importMaxBytes: 1073741824}
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
metadata: {name: app}
spec:
  providerRef: {name: old}
  classRef: {name: small}
  imageRef: {name: img}
YAML
t_run "a fresh manager with a 512 MiB source disk" k apply -f "$D/crash.yaml"
t_run "its VM is Ready" timeout 40 kubectl wait --for=condition=Ready vm/app --timeout=30s
cat >"$D/mig-big.yaml" <<'YAML'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: big}
spec:
  source: {vmRef: {name: app}}
  target: {name: app-big, providerRef: {name: new}}
  options: {diskFormat: raw, cleanupPolicy: Never}
  storage: {type: pvc}
YAML
t_run "apply a migration of it" k apply -f "$D/mig-big.yaml"
killed=0 end=$((SECONDS + 60))
while [ "$SECONDS" -lt "$end" ]; do
    part=$(stat -c %s "$D/staging2/default_big/export.raw" 2>/dev/null || echo 0)
    if [ "$part" -gt 0 ] && [ "$part" -lt 536870912 ]; then
        kill -9 "$M2" && killed=1
        break
    fi
    sleep 0.05
done
wait "$M2" 2>/dev/null
part=$(stat -c %s "$D/staging2/default_big/export.raw" 2>/dev/null || echo 0)
t_eq "the manager was killed with the export part-way ($part of 536870912 bytes)" \
    1 "$(( killed == 1 && part > 0 && part < 536870912 ))"
t_start_manager M3 "$D/data2" --staging-dir "$D/staging2" || t_done
t_wait_jp "after the restart the migration completes" vmmigration/big '{.status.phase}' '^Ready$' 90
t_grep "the export resumed at a byte offset instead of starting over" \
    'Resuming the export vmmigration="default/big" at byte [1-9]' cat "$M3_LOG"
t_eq "the content SHA-256 is that of the whole exported disk" \
    "$(sha256sum "$D/staging2/default_big/export.raw" | cut -d' ' -f1)" \
    "$(jp vmmigration/big '{.status.diskInfo.sourceChecksum}')"
t_eq "and the disk read back from the target matches it" \
    "$(jp vmmigration/big '{.status.diskInfo.sourceChecksum}')" \
    "$(jp vmmigration/big '{.status.diskInfo.targetChecksum}')"
t_stop "$M3"

# --- --migration-digest sha256-tree --------------------------------------------------
rc=0; "$BUILD/bin/virtrigaud-manager" --standalone --data-dir "$D/nope" \
    --migration-digest md5 >/dev/null 2>&1 || rc=$?
t_eq "--migration-digest md5 is a usage error (exit 2)" 2 "$rc"
t_start_manager M4 "$D/data4" --staging-dir "$D/staging4" \
    --migration-digest sha256-tree || t_done
t_run "a manager with --migration-digest sha256-tree, the same VM" k apply -f "$D/base.yaml"
t_run "... Ready" timeout 40 kubectl wait --for=condition=Ready vm/app --timeout=30s
mig tree app-tree new "diskFormat: qcow2, cleanupPolicy: Never"
t_wait_jp "the migration reaches Ready" vmmigration/tree '{.status.phase}' '^Ready$' 60
tsum=$(jp vmmigration/tree '{.status.diskInfo.sourceChecksum}')
t_grep "its checksums are marked as tree digests" '^sha256-tree:[0-9a-f]{64}$' echo "$tsum"
# The tree digest by its definition, with coreutils (bench/README.md).
want=$(split -b 1M --filter='sha256sum | cut -c1-64' "$D/staging4/default_tree/export.raw" |
    tr -d '\n' | tr a-f A-F | basenc --base16 -d | sha256sum | cut -d' ' -f1)
t_eq "it is the tree digest of the exported disk, by coreutils" "sha256-tree:$want" "$tsum"
t_eq "the disk read back from the target has the same one" "$tsum" \
    "$(jp vmmigration/tree '{.status.diskInfo.targetChecksum}')"
t_grep "checksumMatch is true" '^true$' \
    jp vmmigration/tree '{.status.validationResults.checksumMatch}'
t_done
