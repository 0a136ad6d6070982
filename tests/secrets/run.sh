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
sleep 1
t_stop "$MGR"
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
