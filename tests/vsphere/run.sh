#!/usr/bin/env bash
# The vSphere provider against vcsim, the govmomi vCenter simulator (a fake:
# no real vCenter can run here), built from Debian's govmomi source by
# build-vcsim.sh with our own main (vcsim/main.go).
#
#   (a) vcts against vcsim over TLS verified with our own CA (ca.crt in the
#       secrets), every test passing (skips only where the plugin does not
#       claim the capability);
#   (b) wrong password, no CA, an unknown template, a missing datastore:
#       clear errors (a terminated session and the re-login are in (d));
#   (c) listing 1,000 VMs: bounded SOAP round trips, reported with the time;
#   (d) the manager + kubectl: a VirtualMachine cloned from a vcsim template
#       reaches Running with its cloud-init user-data in guestinfo; power
#       off, reconfigure, snapshot, a terminated session and delete act on
#       vcsim, each checked by reading vcsim through SOAP (soap.sh).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/soap.sh"

t_need go curl openssl kubectl
HERE=$(cd "$(dirname "$0")" && pwd)
START=$SECONDS
lap() { t_note "time: $1 at $((SECONDS - START)) s"; }

ASAN=0
ldd "$BUILD/bin/virtrigaud-manager" 2>/dev/null | grep -q libasan && ASAN=1

if ! t_exec "$HERE/build-vcsim.sh" "$BUILD/vcsim"; then
    t_fail "build vcsim" "build-vcsim.sh failed" "$T_OUT"
    t_done
fi
VCSIM=$(printf '%s\n' "$T_OUT" | tail -n 1)
t_pass "build vcsim from Debian's govmomi"
lap "vcsim built"

# --- a CA and a server certificate for 127.0.0.1 ---------------------------
t_mktemp D
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=vrt test CA" \
    -keyout "$D/ca.key" -out "$D/ca.crt" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$D/srv.key" -out "$D/srv.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$D/ext"
openssl x509 -req -in "$D/srv.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" \
    -CAcreateserial -days 2 -extfile "$D/ext" -out "$D/srv.crt" >/dev/null 2>&1
if [ ! -s "$D/srv.crt" ]; then
    t_fail "make a test CA" "openssl failed"
    t_done
fi

USER_=vrt-admin
PASS_="pw-$$-$RANDOM"
t_secret "$PASS_"
# start_vcsim VAR [ARGS...]: a vcsim on a free port; PORT of it in VAR_PORT.
start_vcsim() {
    local var=$1 port
    shift
    port=$(t_free_port)
    t_bg SIMPID "$VCSIM" -l "127.0.0.1:$port" -username "$USER_" \
        -password "$PASS_" -cert "$D/srv.crt" -key "$D/srv.key" "$@"
    printf -v "$var" '%s' "$SIMPID"
    printf -v "${var}_PORT" '%s' "$port"
    printf -v "${var}_LOG" '%s' "$SIMPID_LOG"
    for _ in $(seq 100); do
        grep -q "vcsim listening" "$SIMPID_LOG" && return 0
        kill -0 "$SIMPID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
if ! start_vcsim SIM; then
    t_fail "vcsim starts" "no \"vcsim listening\" line" "$(cat "$SIM_LOG")"
    t_done
fi
t_pass "vcsim starts on 127.0.0.1:$SIM_PORT"
URL=https://127.0.0.1:$SIM_PORT/sdk
SOAP_URL=$URL SOAP_JAR=$D/jar SOAP_CA=$D/ca.crt
if ! soap_login "$USER_" "$PASS_"; then
    t_fail "the SOAP helper logs in" "Login failed"
    t_done
fi
# A template: DC0_H0_VM1, powered off and marked.
TREF=$(soap_vm DC0_H0_VM1 2)
soap_vm_task PowerOffVM_Task "$TREF" >/dev/null
soap_call "<MarkAsTemplate xmlns=\"urn:vim25\"><_this type=\"VirtualMachine\">$TREF</_this></MarkAsTemplate>" >/dev/null
t_eq "DC0_H0_VM1 is a template" true "$(soap_vm DC0_H0_VM1 6)"

# json_str FILE: a file as a JSON string.
json_str() { awk 'BEGIN{printf "\""} {gsub(/\\/,"\\\\"); gsub(/"/,"\\\""); printf "%s\\n", $0} END{printf "\""}' "$1"; }
CA_JSON=$(json_str "$D/ca.crt")
# vcts_conf FILE PASSWORD CA TEMPLATE [EXTRA-SPEC]
vcts_conf() {
    local ca=""
    [ -n "$3" ] && ca=", \"ca.crt\": $3"
    cat >"$1" <<EOC
{"endpoint": "$URL",
 "secrets": {"username": "$USER_", "password": "$2"$ca},
 "vmSpec": {"cpu": 1, "memoryMiB": 256, "image": {"templateName": "$4"}${5:-}},
 "missingVmId": "00000000-0000-4000-8000-000000000000",
 "timeoutMs": 60000}
EOC
}

# --- (a) vcts ---------------------------------------------------------------------
vcts_conf "$D/vcts.json" "$PASS_" "$CA_JSON" DC0_H0_VM1
t_exec "$BUILD/bin/vcts" --config "$D/vcts.json" "$VRT_PLUGIN_DIR/vsphere.so"
vrc=$?
summary=$(printf '%s\n' "$T_OUT" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
if [ "$vrc" -eq 0 ] && [[ $summary =~ ^([0-9]+)\ passed,\ 0\ failed ]] &&
   [ "${BASH_REMATCH[1]}" -ge 30 ]; then
    t_pass "vcts against vcsim: $summary"
else
    t_fail "vcts against vcsim" "exit status $vrc, \"$summary\"" \
        "$(printf '%s\n' "$T_OUT" | grep -Ev '^PASS ')"
fi
bad_skips=$(printf '%s\n' "$T_OUT" | grep '^SKIP ' | grep -v 'not claimed' || true)
t_eq "vcts: no skip other than an unclaimed capability" "" "$bad_skips"
t_eq "vcts: no VM of vcts left in vcsim" "" "$(soap_vms | grep '^vcts-' || true)"
t_eq "vcts: the template is untouched" "true|1" \
    "$(soap_vm DC0_H0_VM1 6)|$(soap_vm DC0_H0_VM1 4)"
t_eq "vcts: the password appears in no output" "" \
    "$(printf '%s\n' "$T_OUT" | grep -F -- "$PASS_" || true)"
lap "vcts done"

# --- (b) errors ---------------------------------------------------------------------
vcts_conf "$D/badpw.json" "wrong-$PASS_" "$CA_JSON" DC0_H0_VM1
t_grep "a wrong password: validate fails naming the refused credentials" \
    'FAIL validate: .*refused the user name and password' \
    "$BUILD/bin/vcts" --config "$D/badpw.json" --filter validate "$VRT_PLUGIN_DIR/vsphere.so"
vcts_conf "$D/noca.json" "$PASS_" "" DC0_H0_VM1
t_grep "no CA: TLS verification fails with a clear message" \
    'FAIL validate: .*could not be verified.*ca\.crt' \
    "$BUILD/bin/vcts" --config "$D/noca.json" --filter validate "$VRT_PLUGIN_DIR/vsphere.so"
vcts_conf "$D/notmpl.json" "$PASS_" "$CA_JSON" no-such-template
t_grep "an unknown template: create fails naming it" \
    'FAIL lifecycle: .*template "no-such-template".*does not exist' \
    "$BUILD/bin/vcts" --config "$D/notmpl.json" --filter lifecycle "$VRT_PLUGIN_DIR/vsphere.so"
vcts_conf "$D/nods.json" "$PASS_" "$CA_JSON" DC0_H0_VM1 ', "placement": {"datastore": "no-such-ds"}'
t_grep "a missing datastore: create fails naming it" \
    'FAIL lifecycle: .*datastore "no-such-ds" does not exist' \
    "$BUILD/bin/vcts" --config "$D/nods.json" --filter lifecycle "$VRT_PLUGIN_DIR/vsphere.so"
lap "errors done"

# --- (c) 1,000 VMs --------------------------------------------------------------------
# VPX has two resource pools with VMs (the standalone host's and the
# cluster's): -vm 500 makes 1,000.
if start_vcsim BIG -vm 500; then
    sed "s/:$SIM_PORT/:$BIG_PORT/" "$D/vcts.json" >"$D/big.json"
    before=$(curl -s --cacert "$D/ca.crt" "https://127.0.0.1:$BIG_PORT/vrt-stats")
    t0=$(date +%s%N)
    t_exec env VRT_LOG_LEVEL=debug "$BUILD/bin/vcts" --config "$D/big.json" \
        --filter list-vms "$VRT_PLUGIN_DIR/vsphere.so"
    t1=$(date +%s%N)
    line=$(printf '%s\n' "$T_OUT" | grep -m1 'Listed the VMs' || true)
    t_note "1,000 VMs: $line (vcts list-vms test: $(((t1 - t0) / 1000000)) ms in all)"
    calls=$(printf '%s\n' "$line" | sed -n 's/.* in \([0-9]*\) SOAP calls.*/\1/p')
    if [ -n "$calls" ] && [ "$calls" -le 3 ]; then
        t_pass "listing 1,000 VMs takes $calls SOAP call(s)"
    else
        t_fail "listing 1,000 VMs takes at most 3 SOAP calls" "got \"$line\"" "$T_OUT"
    fi
    n=$(SOAP_URL=https://127.0.0.1:$BIG_PORT/sdk SOAP_JAR=$D/bigjar
        soap_login "$USER_" "$PASS_" && soap_vms | wc -l)
    t_eq "the big vcsim has 1,000 VMs" 1000 "$n"
    t_stop "$BIG"
else
    t_fail "a vcsim with 1,000 VMs starts" "" "$(cat "$BIG_LOG")"
fi
lap "1,000 VMs done"

# --- (d) the manager + kubectl ------------------------------------------------------------
t_bg MGR "$BUILD/bin/virtrigaud-manager" --standalone --data-dir "$D/data" \
    --port 0 --plugin-dir "$VRT_PLUGIN_DIR"
PORT=
for _ in $(seq 200); do
    PORT=$(sed -n 's/.*serving on port \([0-9][0-9]*\); kubeconfig: .*/\1/p' "$MGR_LOG" | head -n 1)
    [ -n "$PORT" ] && break
    kill -0 "$MGR" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$PORT" ] || [ ! -s "$D/data/kubeconfig" ]; then
    t_fail "manager starts" "no listener" "$(cat "$MGR_LOG")"
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
VM=vrtvs-$$
TOKEN="vrt-token-$$-$RANDOM"
cat >"$D/objects.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: vcsim-creds}
type: Opaque
stringData:
  username: $USER_
  password: $PASS_
  ca.crt: |
$(sed 's/^/    /' "$D/ca.crt")
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: vcsim}
spec:
  type: vsphere
  endpoint: $URL
  credentialSecretRef: {name: vcsim-creds}
  runtime: {mode: Remote, image: "virtrigaud/provider-vsphere:embedded"}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: small}
spec: {cpu: 1, memory: 512Mi}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: tmpl}
spec:
  source:
    vsphere: {templateName: DC0_H0_VM1}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: $VM}
spec:
  providerRef: {name: vcsim}
  classRef: {name: small}
  imageRef: {name: tmpl}
  powerState: "On"
  userData:
    cloudInit:
      inline: |
        #cloud-config $TOKEN
EOF
t_run "kubectl apply Secret, Provider, VMClass, VMImage, VirtualMachine" k apply -f "$D/objects.yaml"
t_run "the VirtualMachine becomes Ready" k wait --for=condition=Ready "vm/$VM" --timeout=90s
t_eq "status.phase is Running" Running "$(jp vm "$VM" '{.status.phase}')"
t_eq "vcsim: the clone is powered on" poweredOn "$(soap_vm "$VM" 3)"
t_eq "vcsim: it has 1 CPU and 512 MiB" "1|512" "$(soap_vm "$VM" 4)|$(soap_vm "$VM" 5)"
t_eq "status.id is the clone's instanceUuid" "$(soap_vm "$VM" 8)" "$(jp vm "$VM" '{.status.id}')"
UD=$(soap_extra "$(soap_vm "$VM" 2)" guestinfo.userdata)
t_grep "vcsim: guestinfo.userdata carries the cloud-init user-data" \
    "^#cloud-config $TOKEN" sh -c 'printf "%s" "$1" | base64 -d' sh "$UD"
t_eq "vcsim: its encoding is base64" base64 \
    "$(soap_extra "$(soap_vm "$VM" 2)" guestinfo.userdata.encoding)"
lap "VM Running"

vm_is() { [ "$(soap_vm "$VM" "$1")" = "$2" ]; }
t_run "patch powerState Off" k patch vm "$VM" --type=merge -p '{"spec":{"powerState":"Off"}}'
if wait_for 30 vm_is 3 poweredOff; then
    t_pass "vcsim: the VM is powered off"
else
    t_fail "vcsim: the VM is powered off" "got \"$(soap_vm "$VM" 3)\"" "$(tail -n 20 "$MGR_LOG")"
fi

t_run "patch the VMClass (cpu 2, memory 1Gi)" \
    k patch vmclass small --type=merge -p '{"spec":{"cpu":2,"memory":"1Gi"}}'
if wait_for 30 vm_is 4 2 && wait_for 10 vm_is 5 1024; then
    t_pass "vcsim: the VM has 2 CPUs and 1024 MiB"
else
    t_fail "vcsim: the VM has 2 CPUs and 1024 MiB" \
        "got $(soap_vm "$VM" 4) CPUs, $(soap_vm "$VM" 5) MiB" "$(tail -n 20 "$MGR_LOG")"
fi

cat >"$D/snap.yaml" <<EOS
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSnapshot
metadata: {name: $VM-snap}
spec:
  vmRef: {name: $VM}
  snapshotConfig: {name: before-change}
EOS
t_run "kubectl apply a VMSnapshot" k apply -f "$D/snap.yaml"
if t_exec k wait --for=condition=Ready "vmsnapshot/$VM-snap" --timeout=60s; then
    t_pass "the VMSnapshot becomes Ready"
else
    t_fail "the VMSnapshot becomes Ready" "status $(jp vmsnapshot "$VM-snap" '{.status}')" \
        "$(grep -i snap "$MGR_LOG" | tail -n 20)"
fi
t_eq "vcsim: the VM has one snapshot" 1 "$(soap_vm "$VM" 7)"
t_run "kubectl delete the VMSnapshot" k delete vmsnapshot "$VM-snap" --timeout=60s
if wait_for 30 vm_is 7 0; then
    t_pass "vcsim: the snapshot is gone"
else
    t_fail "vcsim: the snapshot is gone" "count $(soap_vm "$VM" 7)"
fi
lap "snapshot done"

# The plugin's session terminated behind its back: the next change must
# still reach vcsim (re-login).  Our own session is the helper's cookie.
mine=$(awk '$6 == "vmware_soap_session" {print $7}' "$D/jar" | tr -d '"' | tail -n 1)
soap_call '<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>SessionManager</type><pathSet>sessionList</pathSet></propSet><objectSet><obj type="SessionManager">SessionManager</obj></objectSet></specSet><options/></RetrievePropertiesEx>' |
    tr -d '\n' | grep -o '<key>[^<]*</key>' | sed 's/<[^>]*>//g' >"$D/sessions"
killed=0
for s in $(grep -vxF "$mine" "$D/sessions"); do
    soap_call "<TerminateSession xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><sessionId>$s</sessionId></TerminateSession>" |
        grep -q TerminateSessionResponse && killed=$((killed + 1))
done
t_note "terminated $killed session(s) other than the helper's"
t_run "patch powerState On after the plugin's session was terminated" \
    k patch vm "$VM" --type=merge -p '{"spec":{"powerState":"On"}}'
if wait_for 30 vm_is 3 poweredOn; then
    t_pass "vcsim: the VM is on again (the plugin logged in again)"
else
    t_fail "vcsim: the VM is on again" "got \"$(soap_vm "$VM" 3)\"" "$(tail -n 20 "$MGR_LOG")"
fi
t_grep "the manager log says the plugin logged in again" 'no longer valid; logging in again' cat "$MGR_LOG"

# A Provider whose Secret has the wrong password: a clear condition.
cat >"$D/bad.yaml" <<EOB
apiVersion: v1
kind: Secret
metadata: {name: vcsim-badpw}
type: Opaque
stringData: {username: $USER_, password: not-the-password}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: vcsim-badpw}
spec:
  type: vsphere
  endpoint: $URL
  credentialSecretRef: {name: vcsim-badpw}
  insecureSkipVerify: true
  runtime: {mode: Remote, image: "virtrigaud/provider-vsphere:embedded"}
EOB
t_run "kubectl apply a Provider with a wrong password" k apply -f "$D/bad.yaml"
prov_cond() { jp provider vcsim-badpw '{.status.conditions[?(@.type=="ProviderAvailable")].status} {.status.conditions[?(@.type=="ProviderAvailable")].message}'; }
prov_refused() { [[ $(prov_cond) == False\ *refused* ]]; }
if wait_for 40 prov_refused; then
    t_pass "wrong password: ProviderAvailable=False ($(prov_cond))"
else
    t_fail "wrong password: ProviderAvailable=False saying the login was refused" \
        "got \"$(prov_cond)\"" "$(tail -n 20 "$MGR_LOG")"
fi

# --- placement: anti-affinity spreads a VMSet over vcsim's hosts ------------
cat >"$D/spread.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMPlacementPolicy
metadata: {name: spread}
spec:
  antiAffinity:
    hostAntiAffinity: {enabled: true, maxVMsPerHost: 1, scope: strict}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSet
metadata: {name: spread}
spec:
  replicas: 3
  selector: {matchLabels: {app: spread}}
  updateStrategy:
    rollingUpdate: {podManagementPolicy: Parallel}
  template:
    metadata: {labels: {app: spread}}
    spec:
      providerRef: {name: vcsim}
      classRef: {name: small}
      imageRef: {name: tmpl}
      placementRef: {name: spread}
EOF
t_run "kubectl apply a host anti-affinity policy and a VMSet of 3 on vcsim" \
    k apply -f "$D/spread.yaml"
if wait_for 120 sh -c "[ \"\$(kubectl get vmset spread -o jsonpath='{.status.readyReplicas}')\" = 3 ]"; then
    t_pass "the 3 replicas are Ready"
else
    t_fail "the 3 replicas are Ready" "$(k get vmset spread -o yaml | sed -n '/^status:/,$p')" \
        "$(tail -n 20 "$MGR_LOG")"
fi
hosts=$(for i in 0 1 2; do soap_vm "spread-$i" 9; done | sort -u | grep -c .)
t_eq "vcsim: the replicas run on 3 distinct hosts (runtime.host)" 3 "$hosts"
t_run "delete the VMSet" k delete vmset spread --timeout=120s
if wait_for 120 sh -c "! kubectl get vm -o name | grep -q spread-"; then
    t_pass "its VMs are deleted"
else
    t_fail "its VMs are deleted" "$(k get vm)"
fi

t_run "kubectl delete vm" k delete vm "$VM" --timeout=60s
t_eq "vcsim: the VM is gone" "" "$(soap_vms | grep "^$VM|" || true)"
t_eq "the password appears nowhere in the manager log" "" "$(grep -F -- "$PASS_" "$MGR_LOG" || true)"
lap "deleted"

t_stop "$MGR"
if [ "$ASAN" = 1 ]; then
    t_eq "the manager's log has no sanitizer report" "" \
        "$(grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$MGR_LOG" | head -n 3)"
fi
t_note "total: $((SECONDS - START)) s"
t_done
