#!/usr/bin/env bash
# No secret in any log line: the manager runs at debug level while a
# provider reads a password from its Secret and clients use the bearer
# token; neither value may appear in the manager's output, and a refused
# request must not echo the token it carried.
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl curl
t_mktemp D
PORT=$(t_free_port)
t_bg MGR env VRT_LOG_LEVEL=debug virtrigaud-manager --standalone \
    --data-dir "$D/data" --port "$PORT" --plugin-dir "$VRT_PLUGIN_DIR" --sync normal
t_wait_port "$PORT" 20 || { t_fail "manager starts" "no listener" "$(cat "$MGR_LOG")"; t_done; }
export KUBECONFIG=$D/data/kubeconfig
PASSWORD="pw-$RANDOM$RANDOM-do-not-log"
TOKEN=$(cat "$D/data/token")
t_secret "$PASSWORD" "$TOKEN"

cat >"$D/objs.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata: {name: lab-creds}
type: Opaque
stringData: {password: "$PASSWORD", username: admin}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: lab}
spec:
  type: mock
  endpoint: mock://secrets-test
  credentialSecretRef: {name: lab-creds}
  mock: {requireSecret: password}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: c1}
spec: {cpu: 1, memory: 512Mi}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: img}
spec:
  source:
    http: {url: "https://images.invalid/disk.qcow2"}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: s1}
spec:
  providerRef: {name: lab}
  classRef: {name: c1}
  imageRef: {name: img}
YAML
t_run "apply a provider whose plugin reads a password" kubectl apply -f "$D/objs.yaml"
t_run "the VM becomes Ready (the plugin got the password)" \
    kubectl wait --for=condition=Ready vm/s1 --timeout=30s
t_grep "the provider validated with the secret" '"healthy": ?true' \
    kubectl get provider lab -o json
t_grep "a wrong token is refused" '"code":401' \
    curl -sk -H "Authorization: Bearer wrong-$PASSWORD" \
    "https://127.0.0.1:$PORT/api/v1/namespaces"

# A Secret in another namespace is refused, even when it exists there.
kubectl create namespace other >/dev/null 2>&1
kubectl -n other create secret generic lab-creds --from-literal=password="$PASSWORD" >/dev/null 2>&1
cat >"$D/xns.yaml" <<'YAML'
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: xns}
spec:
  type: mock
  endpoint: mock://secrets-xns
  credentialSecretRef: {name: lab-creds, namespace: other}
  mock: {requireSecret: password}
YAML
t_run "apply a Provider whose Secret reference points at another namespace" \
    kubectl apply -f "$D/xns.yaml"
t_wait_jp "it is refused, naming both namespaces" provider/xns \
    '{.status.conditions[?(@.type=="Ready")].message}' \
    'own namespace "default", not "other"'

# The read-only token (DATA_DIR/kubeconfig-readonly): reads, never writes.
RO=$D/data/kubeconfig-readonly
RO_TOKEN=$(cat "$D/data/token-readonly")
t_secret "$RO_TOKEN"
t_eq "a read-only token and kubeconfig exist, distinct from the admin's" 1 \
    "$([ -s "$RO" ] && [ ${#RO_TOKEN} -ge 32 ] && [ "$RO_TOKEN" != "$TOKEN" ] && echo 1)"
t_grep "the read-only token can list VMs" '^s1$' \
    kubectl --kubeconfig "$RO" get vm -o 'jsonpath={.items[*].metadata.name}'
t_grep "... and watch them" 's1' \
    timeout 5 kubectl --kubeconfig "$RO" get vm --watch --request-timeout=3s
cat >"$D/ro-vm.yaml" <<'YAML'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: sneaky}
spec: {cpu: 1, memory: 512Mi}
YAML
rc=0; out=$(kubectl --kubeconfig "$RO" create -f "$D/ro-vm.yaml" 2>&1) || rc=$?
t_eq "the read-only token cannot create (kubectl fails)" 1 "$(( rc != 0 ))"
t_grep "... with Forbidden and what to use instead" 'Forbidden|forbidden' echo "$out"
t_eq "... and nothing was created" "" "$(kubectl get vmclass sneaky -o name 2>/dev/null)"
rc=0; kubectl --kubeconfig "$RO" delete vm s1 --wait=false >/dev/null 2>&1 || rc=$?
t_eq "the read-only token cannot delete" 1 "$(( rc != 0 ))"
t_grep "... and the VM is still there" '^s1$' kubectl get vm s1 -o 'jsonpath={.metadata.name}'
t_grep "writes are audited with the user, method, path and status" \
    'audit: user="admin" method=POST path="/api/v1/namespaces/default/secrets" status=201' \
    cat "$MGR_LOG"
t_grep "refused writes of the viewer are audited too" \
    'audit: refused user="viewer" method=DELETE path=".*/virtualmachines/s1" status=403' \
    cat "$MGR_LOG"

sleep 1
t_stop "$MGR"
if grep -qF -- "$RO_TOKEN" "$MGR_LOG"; then
    t_fail "the read-only token never appears in the manager's log" "found"
else
    t_pass "the read-only token never appears in the manager's log"
fi
if grep -qF -- "$PASSWORD" "$MGR_LOG"; then
    t_fail "the password never appears in the manager's log" \
        "found in: $(grep -F -- "$PASSWORD" "$MGR_LOG" | head -3)"
else
    t_pass "the password never appears in the manager's log ($(wc -l <"$MGR_LOG") lines at debug level)"
fi
if grep -qF -- "$TOKEN" "$MGR_LOG"; then
    t_fail "the bearer token never appears in the manager's log" "found"
else
    t_pass "the bearer token never appears in the manager's log"
fi
t_done
