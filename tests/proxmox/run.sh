#!/usr/bin/env bash
# tests/proxmox/run.sh - the Proxmox VE provider against the PVE API
# SIMULATOR in tests/pve-sim (no Proxmox VE server can run here; the
# simulator's routes, parameters and answers are checked against the
# official API schema of the npm package proxmox-api).
#
#   (a) the simulator behaves as PVE: parameter checks, auth (401/403),
#       sshkeys encoding, config lock timeouts;
#   (b) vcts against build/plugins/proxmox.so with token auth and the CA
#       from the Secret; ticket auth; TLS verification; no secret logged;
#       storage lock contention retried with backoff;
#   (c) end to end: the standalone manager + kubectl (Provider type
#       proxmox, VMClass, VMImage, VMNetworkAttachment, VirtualMachine with
#       cloud-init, reconfigure, power, VMSnapshot, delete), checked by
#       reading the simulator's state over its API; a VMID reused by
#       someone else's VM is never stopped or destroyed;
#   (d) every route and answer the simulator served matched the schema.
set -u
. "$(dirname "$0")/../lib.sh"

SIM=$VRT_SRC_DIR/tests/pve-sim
t_need node openssl kubectl
if ! [ -f "$SIM/node_modules/proxmox-api/src/model.ts" ]; then
    t_fail "the PVE API schema is installed" \
        "run tools/install-deps.sh (npm ci in tests/pve-sim)"
    t_done
fi

VRT_ENV=()
if ldd "$BUILD/bin/vcts" 2>/dev/null | grep -q libasan; then
    VRT_ENV=(env "VRT_NO_DLCLOSE=1")
fi
vrt() { "${VRT_ENV[@]}" "$@"; }

t_mktemp D
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/key.pem" -out "$D/cert.pem" \
    -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
TOKEN_ID='root@pam!vrt'
TOKEN_SECRET="sim-$$-$RANDOM-secret"
RO_TOKEN="audit@pve!ro=ro-$$-secret"
PASSWORD="pw-$$-$RANDOM"
t_secret "$TOKEN_SECRET" "$PASSWORD"

# start_sim VAR PORTVAR ARGS...: one simulator on a free loopback port.
start_sim() {
    local var=$1 portvar=$2 port
    shift 2
    port=$(t_free_port)
    t_bg "$var" node "$SIM/server.js" --port "$port" --cert "$D/cert.pem" --key "$D/key.pem" \
        --token "$TOKEN_ID=$TOKEN_SECRET" --readonly-token "$RO_TOKEN" \
        --user "vrt@pve:$PASSWORD" --template 9000:ubuntu-tmpl "$@"
    printf -v "$portvar" '%s' "$port"
    t_wait_port "$port" 20
}
if ! start_sim SIMPID PORT --trace "$D/trace" --task-ms 100 --clone-ms 300; then
    t_fail "the simulator starts" "no listener" "$(cat "$SIMPID_LOG")"
    t_done
fi
t_pass "the simulator starts on loopback"
URL=https://127.0.0.1:$PORT

# pve [--port P] [--token T] METHOD PATH k=v...: prints {"status":N,"data":...}
pve() {
    local p=$PORT t="$TOKEN_ID=$TOKEN_SECRET"
    [ "$1" = --port ] && { p=$2; shift 2; }
    [ "$1" = --token ] && { t=$2; shift 2; }
    node "$SIM/pvectl.js" "https://127.0.0.1:$p" "$t" "$D/cert.pem" "$@"
}
# jq-less field access: js EXPR reads JSON on stdin as `r`.
js() { node -e "let s='';process.stdin.on('data',c=>s+=c).on('end',()=>{const r=JSON.parse(s);const v=($1);console.log(typeof v==='object'?JSON.stringify(v):v)})"; }

# --- (a) the simulator ------------------------------------------------------------
out=$(pve POST /nodes/pve1/qemu vmid=500 name=x cores=1 bogus=1)
t_eq "the simulator refuses an unknown parameter with 400" \
    "400 property is not defined in schema and the schema does not allow additional properties" \
    "$(printf '%s' "$out" | js 'r.status+" "+(r.errors||{}).bogus')"
out=$(pve POST /nodes/pve1/qemu vmid=500 name=x cores=two)
t_eq "the simulator refuses a wrong type with 400" "400 type check ('integer') failed - got 'two'" \
    "$(printf '%s' "$out" | js 'r.status+" "+(r.errors||{}).cores')"
t_eq "the refused VM was not created" 500 "$(pve GET /nodes/pve1/qemu/500/config | js 'r.status')"
t_eq "a bad token secret gets 401" 401 "$(pve --token "$TOKEN_ID=wrong" GET /nodes | js 'r.status')"
t_eq "a read-only token may read" 200 "$(pve --token "$RO_TOKEN" GET /nodes | js 'r.status')"
t_eq "a read-only token gets 403 on a write" 403 \
    "$(pve --token "$RO_TOKEN" POST /nodes/pve1/qemu/9000/status/start | js 'r.status')"
t_eq "a ticket login with a wrong password gets 401" "401 authentication failure" \
    "$(pve --token "ticket:vrt@pve:wrong" GET /nodes | js 'r.status+" "+r.reason')"
t_eq "a ticket may read without the CSRF token" 200 \
    "$(pve --token "ticket-nocsrf:vrt@pve:$PASSWORD" GET /nodes | js 'r.status')"
t_eq "a ticket write without CSRFPreventionToken gets 401" "401 Permission denied - invalid csrf token" \
    "$(pve --token "ticket-nocsrf:vrt@pve:$PASSWORD" POST /nodes/pve1/qemu/9000/status/start | js 'r.status+" "+r.reason')"
t_eq "a missing VM is PVE's 500 \"does not exist\"" \
    "500 Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist" \
    "$(pve GET /nodes/pve1/qemu/4242/status/current | js 'r.status+" "+r.reason')"
out=$(pve PUT /nodes/pve1/qemu/9000/config 'sshkeys=ssh-ed25519 AAAAC3Nz+a/b user@host')
t_eq "sshkeys not URL-encoded is refused (400 invalid urlencoded string)" "400 yes" \
    "$(printf '%s' "$out" | js 'r.status+" "+(/invalid urlencoded string/.test((r.errors||{}).sshkeys)?"yes":"no")')"
out=$(pve PUT /nodes/pve1/qemu/9000/config 'sshkeys=not%20a%20key')
t_eq "sshkeys that are no public keys are refused (500)" "500 SSH public key validation error" \
    "$(printf '%s' "$out" | js 'r.status+" "+r.reason')"

t_eq "the node's VM list has the template" "9000 ubuntu-tmpl 1" \
    "$(pve GET /nodes/pve1/qemu | js 'r.data.filter(v=>v.vmid===9000).map(v=>v.vmid+" "+v.name+" "+v.template).join()')"
t_eq "a blank VM is created (task)" 200 "$(pve POST /nodes/pve1/qemu vmid=600 name=base cores=1 memory=512 scsi0=local-lvm:2 | js 'r.status')"
sleep 0.5
t_eq "a synchronous config change (PUT) answers null" "200 null" \
    "$(pve PUT /nodes/pve1/qemu/600/config 'sshkeys=ssh-ed25519%20AAAAC3Nz%2Ba%2Fb%20user%40host' | js 'r.status+" "+r.data')"
t_eq "the VM becomes a template" 200 "$(pve POST /nodes/pve1/qemu/600/template | js 'r.status')"
sleep 0.3
t_eq "the template's disk is a base volume" "local-lvm:base-600-disk-0,size=2G" \
    "$(pve GET /nodes/pve1/qemu/600/config | js 'r.data.scsi0')"
t_eq "a template cannot be started" "Error" \
    "$(u=$(pve POST /nodes/pve1/qemu/600/status/start | js 'r.data'); sleep 0.4; pve GET "/nodes/pve1/tasks/$u/status" | js '/^you can.t start a vm if it.s a template/.test(r.data.exitstatus)?"Error":r.data.exitstatus')"
pve DELETE /nodes/pve1/qemu/600 >/dev/null; sleep 0.3

# A config lock held by a slow clone: a second change times out as on PVE.
if start_sim SLOWPID SLOWPORT --task-ms 100 --clone-ms 2500 --lock-wait-ms 300 --alloc-ms 400; then
    upid=$(pve --port "$SLOWPORT" POST /nodes/pve1/qemu/9000/clone newid=700 name=c full=1 | js 'r.data')
    sleep 0.2
    out=$(pve --port "$SLOWPORT" PUT /nodes/pve1/qemu/700/config cores=2)
    t_eq "a change during a clone fails: can't lock file ... got timeout" \
        "500 can't lock file '/var/lock/qemu-server/lock-700.conf' - got timeout" \
        "$(printf '%s' "$out" | js 'r.status+" "+r.reason')"
    for _ in $(seq 50); do
        st=$(pve --port "$SLOWPORT" GET "/nodes/pve1/tasks/$upid/status" | js 'r.data.status+" "+r.data.exitstatus')
        [ "${st%% *}" = stopped ] && break
        sleep 0.2
    done
    t_eq "the clone task ends with exit status OK" "stopped OK" "$st"
else
    t_fail "a second simulator starts" "no listener" "$(cat "$SLOWPID_LOG")"
fi

# --- (b) vcts -------------------------------------------------------------------------
cajson=$(node -e 'console.log(JSON.stringify(require("fs").readFileSync(process.argv[1],"utf8")))' "$D/cert.pem")
vmspec='{"cpu":1,"memoryMiB":512,"disks":[{"name":"root","sizeGiB":4}],"networks":[{"name":"n0","bridge":"vmbr0"}]}'
cat >"$D/vcts.json" <<EOF
{"endpoint": "$URL", "config": {},
 "secrets": {"tokenId": "$TOKEN_ID", "tokenSecret": "$TOKEN_SECRET", "ca.crt": $cajson},
 "vmSpec": $vmspec, "missingVmId": "999999-0000000000000000", "timeoutMs": 60000}
EOF
t_run "vcts passes against the simulator (token auth, CA from the Secret)" \
    vrt "$BUILD/bin/vcts" --config "$D/vcts.json" "$VRT_PLUGIN_DIR/proxmox.so"
t_grep "vcts: zero failures" '^[0-9]+ passed, 0 failed' printf '%s\n' "$T_OUT"
bad_skips=$(printf '%s\n' "$T_OUT" | grep '^SKIP ' | grep -v 'not claimed' | grep -v '"disk_info"' || true)
t_eq "vcts: no skip but unclaimed capabilities and disk_info" "" "$bad_skips"

cat >"$D/vcts-ticket.json" <<EOF
{"endpoint": "$URL/api2/json", "config": {},
 "secrets": {"username": "vrt@pve", "password": "$PASSWORD", "ca.crt": $cajson},
 "vmSpec": $vmspec, "missingVmId": "999999-0000000000000000"}
EOF
t_run "vcts lifecycle and snapshots with ticket + CSRFPreventionToken auth" \
    vrt "$BUILD/bin/vcts" --config "$D/vcts-ticket.json" --filter snapshot-revert "$VRT_PLUGIN_DIR/proxmox.so"
t_run "vcts lifecycle with ticket auth" \
    vrt "$BUILD/bin/vcts" --config "$D/vcts-ticket.json" --filter lifecycle "$VRT_PLUGIN_DIR/proxmox.so"

cat >"$D/vcts-noca.json" <<EOF
{"endpoint": "$URL", "secrets": {"tokenId": "$TOKEN_ID", "tokenSecret": "$TOKEN_SECRET"}}
EOF
t_grep "TLS is verified by default: a self-signed server is refused without ca.crt" \
    '^FAIL validate: .*(certificate|SSL)' vrt "$BUILD/bin/vcts" --config "$D/vcts-noca.json" --filter validate "$VRT_PLUGIN_DIR/proxmox.so"
cat >"$D/vcts-insecure.json" <<EOF
{"endpoint": "$URL", "config": {"insecureSkipVerify": true},
 "secrets": {"tokenId": "$TOKEN_ID", "tokenSecret": "$TOKEN_SECRET"}}
EOF
t_run "insecureSkipVerify turns verification off explicitly" \
    vrt "$BUILD/bin/vcts" --config "$D/vcts-insecure.json" --filter validate "$VRT_PLUGIN_DIR/proxmox.so"
cat >"$D/vcts-badtoken.json" <<EOF
{"endpoint": "$URL", "secrets": {"tokenId": "$TOKEN_ID", "tokenSecret": "wrong-$TOKEN_SECRET", "ca.crt": $cajson}}
EOF
t_grep "a refused token fails validate with PVE's 401" '^FAIL validate: .*HTTP 401' \
    vrt "$BUILD/bin/vcts" --config "$D/vcts-badtoken.json" --filter validate "$VRT_PLUGIN_DIR/proxmox.so"

cat >"$D/vcts-userinfo.json" <<EOF
{"endpoint": "https://root:hunter2@127.0.0.1:$PORT", "secrets": {"tokenId": "$TOKEN_ID", "tokenSecret": "$TOKEN_SECRET"}}
EOF
t_grep "an endpoint with credentials in it is refused" '^FAIL open: .*must not carry credentials' \
    vrt "$BUILD/bin/vcts" --config "$D/vcts-userinfo.json" --filter open "$VRT_PLUGIN_DIR/proxmox.so"
# (vcts itself echoes the endpoint it was given; the plugin's part must not)
t_eq "... and the plugin's message does not repeat the password" 0 \
    "$(printf '%s\n' "$T_OUT" | grep '^FAIL open' | sed 's/.*failed with INVALID://' | grep -c hunter2 || true)"

t_exec env VRT_LOG_LEVEL=debug "${VRT_ENV[@]}" "$BUILD/bin/vcts" -v --config "$D/vcts-ticket.json" \
    --filter lifecycle "$VRT_PLUGIN_DIR/proxmox.so" || true
leaks=$(printf '%s\n' "$T_OUT" | grep -cF -e "$TOKEN_SECRET" -e "$PASSWORD" || true)
t_eq "no secret in the plugin's debug log" 0 "$leaks"

# Storage lock contention: allocations take 400 ms under a 300 ms lock wait,
# so parallel creates fail on PVE's storage lock until retried.
cat >"$D/vcts-slow.json" <<EOF
{"endpoint": "https://127.0.0.1:$SLOWPORT", "config": {},
 "secrets": {"tokenId": "$TOKEN_ID", "tokenSecret": "$TOKEN_SECRET", "ca.crt": $cajson},
 "vmSpec": $vmspec, "timeoutMs": 120000}
EOF
t_run "parallel creates on a contended storage lock succeed (retried with backoff)" \
    env VRT_LOG_LEVEL=info "${VRT_ENV[@]}" "$BUILD/bin/vcts" --config "$D/vcts-slow.json" --filter concurrency "$VRT_PLUGIN_DIR/proxmox.so"
t_grep "the plugin met and retried a storage lock timeout" \
    "pve-storage-local-lvm' - got timeout.*retrying" printf '%s\n' "$T_OUT"

# --- (c) the manager + kubectl -----------------------------------------------------------
MPORT=$(t_free_port)
t_bg MGR "${VRT_ENV[@]}" "$BUILD/bin/virtrigaud-manager" --standalone --data-dir "$D/data" \
    --port "$MPORT" --plugin-dir "$VRT_PLUGIN_DIR"
for _ in $(seq 100); do [ -s "$D/data/kubeconfig" ] && break; sleep 0.1; done
if ! t_wait_port "$MPORT" 20 || ! [ -s "$D/data/kubeconfig" ]; then
    t_fail "manager starts" "no listener on $MPORT" "$(cat "$MGR_LOG")"
    t_done
fi
t_pass "manager starts"
export KUBECONFIG=$D/data/kubeconfig
k() { kubectl --request-timeout=20s "$@"; }
jp() { k get "$1" "$2" -o "jsonpath=$3" 2>/dev/null; }
wait_for() {
    local secs=$1 end
    shift
    end=$((SECONDS + secs))
    while [ "$SECONDS" -lt "$end" ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    return 1
}
b64() { printf '%s' "$1" | base64 -w0; }
# Keys with spaces, '+' and '/', as PVE must receive them double-encoded.
KEY1='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG+x/y+z0 alice@example with spaces'
KEY2='ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ+/+= bob+ops@example'
cat >"$D/objects.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: pve-creds}
type: Opaque
data:
  tokenId: $(b64 "$TOKEN_ID")
  tokenSecret: $(b64 "$TOKEN_SECRET")
  ca.crt: $(base64 -w0 "$D/cert.pem")
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: pve}
spec:
  type: proxmox
  endpoint: $URL
  credentialSecretRef: {name: pve-creds}
  runtime: {mode: Remote, image: "virtrigaud/provider-proxmox:embedded"}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: small}
spec: {cpu: 1, memory: 1Gi, firmware: BIOS}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: ubuntu}
spec:
  source:
    proxmox: {templateID: 9000, storage: local-lvm, fullClone: true}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMNetworkAttachment
metadata: {name: lan}
spec:
  network:
    type: bridged
    proxmox: {bridge: vmbr0, vlanTag: 42, firewall: true}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: web}
spec:
  providerRef: {name: pve}
  classRef: {name: small}
  imageRef: {name: ubuntu}
  networks:
  - {name: lan, networkRef: {name: lan}, ipAddress: 192.168.50.10, prefix: 24, gateway: 192.168.50.1}
  disks:
  - {name: root, sizeGiB: 12}
  powerState: "On"
  userData:
    cloudInit:
      inline: |
        #cloud-config
        users:
        - name: alice
          ssh_authorized_keys:
          - $KEY1
          - $KEY2
EOF
t_run "kubectl apply Secret, Provider, VMClass, VMImage, VMNetworkAttachment, VirtualMachine" \
    k apply -f "$D/objects.yaml"
t_run "the VirtualMachine becomes Ready" k wait --for=condition=Ready vm/web --timeout=90s
ID=$(jp vm web '{.status.id}')
VMID=${ID%%-*}
t_grep "status.id is VMID-MARKER" '^[0-9]+-[0-9a-f]{16}$' echo "$ID"
conf=$(pve GET "/nodes/pve1/qemu/$VMID/config")
t_eq "simulator: the VM is named web" web "$(printf '%s' "$conf" | js 'r.data.name')"
t_eq "simulator: ciuser is alice" alice "$(printf '%s' "$conf" | js 'r.data.ciuser')"
t_eq "simulator: sshkeys decode to both keys exactly (spaces and + kept)" \
    "$KEY1|$KEY2" "$(printf '%s' "$conf" | js 'decodeURIComponent(r.data.sshkeys).split("\n").join("|")')"
t_grep "simulator: net0 has the bridge, VLAN tag and firewall" \
    '^virtio=[0-9A-F:]+,bridge=vmbr0,tag=42,firewall=1$' sh -c "printf '%s' '$conf' | node -e \"let s='';process.stdin.on('data',c=>s+=c).on('end',()=>console.log(JSON.parse(s).data.net0))\""
t_eq "simulator: ipconfig0 is the static address" "ip=192.168.50.10/24,gw=192.168.50.1" \
    "$(printf '%s' "$conf" | js 'r.data.ipconfig0')"
t_eq "simulator: boot order names the cloned disk" "order=scsi0" "$(printf '%s' "$conf" | js 'r.data.boot')"
t_grep "simulator: the boot disk was grown to 12 GiB" 'size=12G' sh -c "printf '%s' '$conf' | node -e \"let s='';process.stdin.on('data',c=>s+=c).on('end',()=>console.log(JSON.parse(s).data.scsi0))\""
t_eq "simulator: the VM is running" running \
    "$(pve GET "/nodes/pve1/qemu/$VMID/status/current" | js 'r.data.status')"
has_ip() { jp vm web '{.status.ips}' | grep -q 192.168.50.10; }
if wait_for 30 has_ip; then t_pass "status.ips has the guest agent's address"
else t_fail "status.ips has the guest agent's address" "got $(jp vm web '{.status.ips}')"; fi
t_grep "status.consoleURL is a noVNC URL" "^$URL/\\?console=kvm&novnc=1&vmid=$VMID" jp vm web '{.status.consoleURL}'

t_run "patch the VMClass to 2 CPUs and 2Gi" k patch vmclass small --type=merge -p '{"spec":{"cpu":2,"memory":"2Gi"}}'
cores_are() { [ "$(pve GET "/nodes/pve1/qemu/$VMID/config" | js 'r.data.cores+"/"+r.data.memory')" = "$1" ]; }
if wait_for 60 cores_are 2/2048; then t_pass "simulator: cores 2, memory 2048 after reconfigure"
else t_fail "simulator: cores 2, memory 2048 after reconfigure" "$(pve GET "/nodes/pve1/qemu/$VMID/config")"; fi

cat >"$D/snap.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSnapshot
metadata: {name: web-snap}
spec:
  vmRef: {name: web}
  snapshotConfig: {name: before-upgrade, description: "a test snapshot", includeMemory: true}
EOF
t_run "kubectl apply a VMSnapshot with memory" k apply -f "$D/snap.yaml"
snap_ready() { [ "$(jp vmsnap web-snap '{.status.phase}')" = Ready ]; }
if wait_for 60 snap_ready; then t_pass "the VMSnapshot becomes Ready"
else t_fail "the VMSnapshot becomes Ready" "$(k get vmsnap web-snap -o yaml 2>&1 | tail -20)"; fi
SID=$(jp vmsnap web-snap '{.status.snapshotID}')
t_eq "simulator: the snapshot exists with vmstate" "$SID 1" \
    "$(pve GET "/nodes/pve1/qemu/$VMID/snapshot" | js 'r.data.filter(s=>s.name==="'"$SID"'").map(s=>s.name+" "+s.vmstate).join()')"

t_run "kubectl delete the VMSnapshot" k delete vmsnap web-snap --timeout=60s
snap_gone() { [ -z "$(pve GET "/nodes/pve1/qemu/$VMID/snapshot" | js 'r.data.filter(s=>s.name==="'"$SID"'").map(s=>s.name).join()')" ]; }
if wait_for 30 snap_gone; then t_pass "simulator: the snapshot is deleted"
else t_fail "simulator: the snapshot is deleted" "$(pve GET "/nodes/pve1/qemu/$VMID/snapshot")"; fi

t_run "patch powerState Off" k patch vm web --type=merge -p '{"spec":{"powerState":"Off"}}'
is_stopped() { [ "$(pve GET "/nodes/pve1/qemu/$VMID/status/current" | js 'r.data.status')" = stopped ]; }
if wait_for 60 is_stopped; then t_pass "simulator: the VM is stopped"
else t_fail "simulator: the VM is stopped" "$(tail -n 20 "$MGR_LOG")"; fi

# A stale VMID: the VM "other" vanishes from PVE behind our back and its
# VMID is given to somebody else's VM, which must survive everything.
cat >"$D/other.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: other}
spec:
  providerRef: {name: pve}
  classRef: {name: small}
  imageRef: {name: ubuntu}
  tags: [sim-ignore-acpi]
  powerState: "On"
EOF
t_run "kubectl apply a second VirtualMachine" k apply -f "$D/other.yaml"
t_run "the second VirtualMachine becomes Ready" k wait --for=condition=Ready vm/other --timeout=90s
OID=$(jp vm other '{.status.id}')
OVMID=${OID%%-*}
# Its guest ignores ACPI (a simulator tag): a graceful shutdown ends with
# the forced stop at the grace period's end.
off_start=$SECONDS
t_run "patch the second VirtualMachine OffGraceful with a 3 s grace period" k patch vm other --type=merge \
    -p '{"spec":{"powerState":"OffGraceful","lifecycle":{"gracefulShutdownTimeout":"3s"}}}'
other_stopped() { [ "$(pve GET "/nodes/pve1/qemu/$OVMID/status/current" | js 'r.data.status')" = stopped ]; }
if wait_for 60 other_stopped && [ $((SECONDS - off_start)) -ge 3 ]; then
    t_pass "a guest that ignores ACPI is stopped at the grace period's end ($((SECONDS - off_start)) s)"
else
    t_fail "a guest that ignores ACPI is stopped at the grace period's end" \
        "after $((SECONDS - off_start)) s: $(pve GET "/nodes/pve1/qemu/$OVMID/status/current")"
fi
# The manager is stopped meanwhile, or it would recreate the vanished VM
# under the same (lowest free) VMID before the stranger takes it.
t_stop "$MGR"
pve DELETE "/nodes/pve1/qemu/$OVMID" purge=1 >/dev/null
for _ in $(seq 30); do [ "$(pve GET "/nodes/pve1/qemu/$OVMID/config" | js 'r.status')" = 500 ] && break; sleep 0.2; done
t_eq "the second VM's VMID is free again" "$OVMID" "$(pve GET /cluster/nextid vmid="$OVMID" | js 'r.data')"
t_eq "someone else creates a VM with that VMID" 200 \
    "$(pve POST /nodes/pve1/qemu vmid="$OVMID" name=not-ours cores=1 memory=512 description=somebody-elses start=1 | js 'r.status')"
for _ in $(seq 30); do [ "$(pve GET "/nodes/pve1/qemu/$OVMID/status/current" | js 'r.data.status')" = running ] && break; sleep 0.2; done
t_bg MGR "${VRT_ENV[@]}" "$BUILD/bin/virtrigaud-manager" --standalone --data-dir "$D/data" \
    --port "$MPORT" --plugin-dir "$VRT_PLUGIN_DIR"
if t_wait_port "$MPORT" 20; then t_pass "the manager restarts"
else t_fail "the manager restarts" "no listener on $MPORT" "$(cat "$MGR_LOG")"; fi
# It finds that the VMID names another VM: ours is gone, so it makes a new one.
new_id() { id=$(jp vm other '{.status.id}'); [ -n "$id" ] && [ "$id" != "$OID" ]; }
if wait_for 60 new_id; then t_pass "the manager replaced the vanished VM under a new id ($(jp vm other '{.status.id}'))"
else t_fail "the manager replaced the vanished VM under a new id" "status.id is $(jp vm other '{.status.id}')" "$(tail -n 20 "$MGR_LOG")"; fi
t_run "patch the second VirtualMachine's powerState Off" k patch vm other --type=merge -p '{"spec":{"powerState":"Off"}}'
sleep 3
t_eq "the stranger's VM with the reused VMID is still running" "not-ours running" \
    "$(pve GET "/nodes/pve1/qemu/$OVMID/status/current" | js 'r.data.name+" "+r.data.status')"
t_run "kubectl delete the second VirtualMachine" k delete vm other --timeout=60s
t_eq "the stranger's VM with the reused VMID still exists and runs" "not-ours running" \
    "$(pve GET "/nodes/pve1/qemu/$OVMID/status/current" | js 'r.data.name+" "+r.data.status')"
t_grep "the manager logged that the VMID names another VM" "now names a VM that virtrigaud did not create" cat "$MGR_LOG"

t_run "kubectl delete vm web" k delete vm web --timeout=60s
t_eq "simulator: the VM is gone (purged)" 500 "$(pve GET "/nodes/pve1/qemu/$VMID/config" | js 'r.status')"
t_eq "simulator: only the template and the stranger's VM are left" \
    "$(printf '%s\n' 9000:ubuntu-tmpl "$OVMID:not-ours" | sort | paste -sd' ')" \
    "$(pve GET /cluster/resources type=vm | js 'r.data.sort((a,b)=>b.vmid<a.vmid?1:-1).map(v=>v.vmid+":"+v.name).sort().join(" ")')"
t_stop "$MGR"

# --- (d) the schema --------------------------------------------------------------------
t_run "every simulator route, parameter and answer matches the PVE API schema" \
    node "$SIM/schema-check.js" "$D/trace"
t_done
