#!/usr/bin/env bash
# Standalone mode judged by the real kubectl: the manager serves the API
# (TLS, bearer token, generated kubeconfig) and kubectl must be able to do
# what it does against a real cluster.  No controller runs here
# (--no-controller): these checks are about the API server alone.
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl curl
SRC=$VRT_SRC_DIR
t_mktemp D
PORT=$(t_free_port)
t_bg MGR virtrigaud-manager --standalone --no-controller --data-dir "$D/data" \
    --port "$PORT" --sync normal --watch-history 50
if ! t_wait_port "$PORT" 20; then
    t_fail "manager starts" "no listener on $PORT" "$(cat "$MGR_LOG")"
    t_done
fi
t_pass "manager starts and listens"
export KUBECONFIG=$D/data/kubeconfig
k() { kubectl --request-timeout=20s "$@"; }
# curl reads the token from a header file (-H @FILE), so that a failing
# check, which prints its command line, does not print the token.
t_secret "$(cat "$D/data/token")"
printf 'Authorization: Bearer %s\n' "$(cat "$D/data/token")" >"$D/auth"

# --- discovery and authentication --------------------------------------
t_grep "api-resources lists every kind with short names" \
    'virtualmachines +vm +infra.virtrigaud.io/v1beta1 +true +VirtualMachine' \
    k api-resources
t_exec k api-resources --api-group=infra.virtrigaud.io -o name
n=$(printf '%s\n' "$T_OUT" | grep -c 'infra.virtrigaud.io')
t_eq "api-resources: ten virtrigaud kinds" 10 "$n"
t_grep "a request without the token is refused" '"code":401' \
    curl -sk "https://127.0.0.1:$PORT/api/v1/namespaces"
t_grep "the kubeconfig pins the generated CA (no --insecure needed)" \
    'default' k get namespaces

# --- apply every example --------------------------------------------------
for f in "$SRC"/examples/*.yaml; do
    t_run "apply $(basename "$f")" k apply -f "$f"
done

# --- get by full and short names with printer columns ----------------------
t_grep "get virtualmachines shows the printer columns" \
    '^NAME +PHASE +PROVIDER +CLASS +IMAGE +IPS +AGE' k get virtualmachines
t_grep "get by short name vm" '^NAME +PHASE' k get vm
t_grep "get vmclass shows CPU and memory" '^NAME +CPU +MEMORY' k get vmclass
for short in vm vmclass vmimg vmnet prov vmsnap vmclone vmset vmmig vmpp; do
    t_run "get by short name $short" k get "$short" -A
done

# --- patch, generation, status subresource, wait ----------------------------
VM=$(k get vm -o jsonpath='{.items[0].metadata.name}' 2>/dev/null)
if [ -z "$VM" ]; then
    t_fail "an example VirtualMachine exists" "kubectl get vm found none"
else
    gen1=$(k get vm "$VM" -o jsonpath='{.metadata.generation}')
    t_run "patch --type=merge spec" \
        k patch vm "$VM" --type=merge -p '{"spec":{"powerState":"Off"}}'
    gen2=$(k get vm "$VM" -o jsonpath='{.metadata.generation}')
    t_eq "a spec change bumps metadata.generation" "$((gen1 + 1))" "$gen2"
    t_run "patch --type=merge labels" \
        k patch vm "$VM" --type=merge -p '{"metadata":{"labels":{"tier":"web"}}}'
    gen3=$(k get vm "$VM" -o jsonpath='{.metadata.generation}')
    t_eq "a label change leaves generation alone" "$gen2" "$gen3"
    t_run "patch --type=json" \
        k patch vm "$VM" --type=json -p '[{"op":"add","path":"/metadata/annotations","value":{"a":"b"}}]'
    t_grep "label selector filters" "^$VM " k get vm -l tier=web --no-headers
    t_exec k get vm -l tier=nope --no-headers
    t_eq "label selector excludes" "" "$(printf '%s' "$T_OUT" | grep -v '^No resources')"
    t_run "status written through the main resource is ignored" \
        k patch vm "$VM" --type=merge -p '{"status":{"phase":"Running"}}'
    t_eq "status unchanged by a main-resource patch" "" \
        "$(k get vm "$VM" -o jsonpath='{.status.phase}')"

    # get -w must stream the change made below.
    # Default (Table) output: the server's Table watch path, EVENT column.
    t_bg WATCH kubectl get vm "$VM" -w --output-watch-events
    sleep 1
    t_run "patch --subresource=status" \
        k patch vm "$VM" --subresource=status --type=merge \
        -p '{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","reason":"Test","message":"set by test","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}'
    t_eq "status written through /status" Running \
        "$(k get vm "$VM" -o jsonpath='{.status.phase}')"
    t_run "wait --for=condition=Ready" \
        k wait --for=condition=Ready "vm/$VM" --timeout=10s
    sleep 1
    t_grep "get -w streams the change" 'MODIFIED' cat "$WATCH_LOG"
    t_stop "$WATCH"

    # Deletion waits on finalizers.
    t_run "add a finalizer" k patch vm "$VM" --type=merge \
        -p '{"metadata":{"finalizers":["test.virtrigaud.io/hold"]}}'
    t_run "delete --wait=false returns" k delete vm "$VM" --wait=false
    t_grep "the object stays, marked for deletion" '[0-9]{4}-' \
        k get vm "$VM" -o jsonpath='{.metadata.deletionTimestamp}'
    t_run "remove the finalizer" k patch vm "$VM" --type=merge \
        -p '{"metadata":{"finalizers":null}}'
    t_run_fails "then the object is gone" k get vm "$VM"
fi

# --- optimistic concurrency ----------------------------------------------
cat >"$D/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: occ, namespace: default}
data: {a: "1"}
EOF
k apply -f "$D/cm.yaml" >/dev/null 2>&1
RV=$(k get cm occ -o jsonpath='{.metadata.resourceVersion}')
k patch cm occ --type=merge -p '{"data":{"a":"2"}}' >/dev/null 2>&1
t_grep "a stale resourceVersion gets 409 Conflict" '"code":409' \
    curl -sk -X PUT -H @"$D/auth" \
    -H 'Content-Type: application/json' \
    --data "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"occ\",\"namespace\":\"default\",\"resourceVersion\":\"$RV\"},\"data\":{\"a\":\"3\"}}" \
    "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps/occ"

# --- validation ----------------------------------------------------------
cat >"$D/bad.yaml" <<'EOF'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: too-small, namespace: default}
spec:
  cpu: 0
  memory: 1Gi
EOF
t_run_fails "a schema violation is refused" k apply -f "$D/bad.yaml"
t_grep "the refusal names the field" 'spec\.cpu' k apply -f "$D/bad.yaml"
t_run_fails "nothing was stored" k get vmclass too-small
cat >"$D/unknown.yaml" <<'EOF'
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: typo, namespace: default}
spec:
  cpu: 1
  memory: 1Gi
  cpus: 4
EOF
t_grep "an unknown field is refused by strict validation, by name" \
    'unknown field "spec.cpus"' k apply -f "$D/unknown.yaml"
echo '{"apiVersion":"infra.virtrigaud.io/v1beta1","kind":"Nope","metadata":{"name":"x"}}' >"$D/nope.json"
t_grep "an unknown kind is a clear error" \
    "(no matches for kind|could not find the requested resource)" \
    k apply -f "$D/nope.json"
t_grep "malformed JSON gets a Status naming the problem" '"reason":"BadRequest"' \
    curl -sk -X POST -H @"$D/auth" \
    -H 'Content-Type: application/json' --data '{"apiVersion":' \
    "https://127.0.0.1:$PORT/apis/infra.virtrigaud.io/v1beta1/namespaces/default/vmclasses"

# --- kubectl's imperative commands send protobuf ----------------------------
t_run "kubectl create secret generic (a protobuf body)" \
    k create secret generic creds --from-literal=username=admin \
    --from-literal=password='pa ss+/='
t_grep "... and the Secret holds the bytes sent" '^pa ss\+/=$' \
    sh -c "kubectl get secret creds -o jsonpath='{.data.password}' | base64 -d"
t_run "kubectl create configmap with a binary file" \
    k create configmap files --from-literal=a=b --from-file=true.bin=/bin/true
t_grep "... and the binary file round-trips" '^same$' \
    sh -c "kubectl get configmap files -o jsonpath='{.binaryData.true\\.bin}' |
           base64 -d | cmp -s - /bin/true && echo same"
t_run "kubectl create namespace" k create namespace team-a
t_grep "a protobuf body of a kind not modelled is refused by name (415)" \
    'UnsupportedMediaType|"ServiceAccount"|not' \
    curl -sk -X POST -H @"$D/auth" \
    -H 'Content-Type: application/vnd.kubernetes.protobuf' \
    --data-binary @<(printf 'k8s\0\x0a\x14\x0a\x02v1\x12\x0eServiceAccount\x12\x00') \
    "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps"

# --- core/v1 Events are a view of events.k8s.io/v1 Events ------------------
cat >"$D/ev.yaml" <<'EOF'
apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: vm1.1}
eventTime: "2026-11-27T10:00:00.000001Z"
reportingController: virtrigaud.io/test
reportingInstance: t1
action: Reconcile
reason: Created
type: Normal
note: Created VM one.
regarding: {apiVersion: infra.virtrigaud.io/v1beta1, kind: VirtualMachine, name: vm1, namespace: default}
EOF
t_run "an events.k8s.io/v1 Event is created" k create -f "$D/ev.yaml"
t_grep "kubectl get events (core/v1) shows it, message and object renamed" \
    '^Created VM one\.\|vm1\|Created\|virtrigaud.io/test\|1$' \
    k get events vm1.1 -o 'jsonpath={.message}|{.involvedObject.name}|{.reason}|{.reportingComponent}|{.count}'
t_grep "... and a field selector on involvedObject finds it (as kubectl describe asks)" \
    '^vm1\.1$' k get events --field-selector involvedObject.name=vm1,involvedObject.kind=VirtualMachine \
    -o 'jsonpath={.items[*].metadata.name}'
cat >"$D/ev-core.yaml" <<'EOF'
apiVersion: v1
kind: Event
metadata: {name: vm1.2}
involvedObject: {kind: VirtualMachine, name: vm1, namespace: default}
reason: Stopped
message: Stopped by hand.
type: Normal
source: {component: kubectl-test}
count: 3
EOF
t_run "a core/v1 Event is created" k create -f "$D/ev-core.yaml"
t_grep "... and events.k8s.io/v1 reads it with its own field names" \
    '^Stopped by hand\.\|vm1\|kubectl-test\|3$' \
    k get events.events.k8s.io vm1.2 -o 'jsonpath={.note}|{.regarding.name}|{.deprecatedSource.component}|{.deprecatedCount}'
t_grep "kubectl get events prints the Last Seen, Type, Reason, Object, Message columns" \
    'LAST SEEN +TYPE +REASON +OBJECT +MESSAGE' k get events

# --- /scale: dryRun, a stale resourceVersion, generation --------------------
gen0=$(k get vmset web -o 'jsonpath={.metadata.generation}')
rep0=$(k get vmset web -o 'jsonpath={.spec.replicas}')
t_run "kubectl scale --dry-run=server answers" k scale vmset web --replicas=7 --dry-run=server
t_eq "... and changes nothing" "$rep0" "$(k get vmset web -o 'jsonpath={.spec.replicas}')"
t_eq "a Scale PUT with a stale resourceVersion is a conflict (409)" 409 \
    "$(curl -sk -o /dev/null -w '%{http_code}' -X PUT \
        -H @"$D/auth" -H 'Content-Type: application/json' \
        --data '{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","namespace":"default","resourceVersion":"1"},"spec":{"replicas":7}}' \
        "https://127.0.0.1:$PORT/apis/infra.virtrigaud.io/v1beta1/namespaces/default/vmsets/web/scale")"
t_eq "... and changes nothing" "$rep0" "$(k get vmset web -o 'jsonpath={.spec.replicas}')"
t_run "kubectl scale --replicas=5" k scale vmset web --replicas=5
t_eq "... which bumps metadata.generation (a spec change)" "$((gen0 + 1))" \
    "$(k get vmset web -o 'jsonpath={.metadata.generation}')"
t_run "kubectl scale to the same replicas again" k scale vmset web --replicas=5
t_eq "... leaves metadata.generation alone (no change)" "$((gen0 + 1))" \
    "$(k get vmset web -o 'jsonpath={.metadata.generation}')"
t_grep "a scale past the schema's maximum (1001 > 1000) is refused naming spec.replicas" \
    'spec\.replicas.*1000' k scale vmset web --replicas=1001
t_eq "... and changes nothing" 5 "$(k get vmset web -o 'jsonpath={.spec.replicas}')"

# --- server-side apply of an absent object: the URL names it --------------
ssa() { # ssa NAME BODY: apply-patch BODY to configmaps/NAME; prints the code
    curl -sk -o /dev/null -w '%{http_code}' -X PATCH \
        -H @"$D/auth" \
        -H 'Content-Type: application/apply-patch+yaml' --data "$2" \
        "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps/$1?fieldManager=t"
}
t_eq "apply to URL a with metadata.name b is refused (400)" 400 \
    "$(ssa ssa-a '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ssa-b"}}')"
t_run_fails "... and makes no ssa-b" k get configmap ssa-b
t_eq "apply without metadata.name creates the URL's object" 201 \
    "$(ssa ssa-c '{"apiVersion":"v1","kind":"ConfigMap","data":{"k":"v"}}')"
t_grep "... named ssa-c" '^v$' k get configmap ssa-c -o 'jsonpath={.data.k}'

# --- PUT without a resourceVersion ---------------------------------------
# kube-apiserver takes it for built-in kinds (last write wins) and refuses
# it for custom resources.  (kubectl replace fills one in itself, so curl.)
put() { # put PATH BODY: PUT BODY (JSON); prints the code, body in $D/put.out
    curl -sk -o "$D/put.out" -w '%{http_code}' -X PUT \
        -H @"$D/auth" \
        -H 'Content-Type: application/json' --data "$2" "https://127.0.0.1:$PORT$1"
}
k create configmap put-me --from-literal=a=1 >/dev/null
cm='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"put-me","namespace":"default"},"data":{"a":"2"}}'
t_eq "a PUT of a ConfigMap without a resourceVersion is taken (200)" 200 \
    "$(put /api/v1/namespaces/default/configmaps/put-me "$cm")"
t_grep "... and replaced its data" '^2$' k get configmap put-me -o 'jsonpath={.data.a}'
rv1=$(k get configmap put-me -o 'jsonpath={.metadata.resourceVersion}')
t_eq "the same PUT again (200)" 200 \
    "$(put /api/v1/namespaces/default/configmaps/put-me "$cm")"
t_eq "... writes nothing (same resourceVersion)" "$rv1" \
    "$(k get configmap put-me -o 'jsonpath={.metadata.resourceVersion}')"
t_eq "a PUT of a VMClass without one is refused (422)" 422 \
    "$(put /apis/infra.virtrigaud.io/v1beta1/namespaces/default/vmclasses/medium \
        '{"apiVersion":"infra.virtrigaud.io/v1beta1","kind":"VMClass","metadata":{"name":"medium","namespace":"default"},"spec":{"cpu":3,"memory":"1Gi"}}')"
t_grep "... naming metadata.resourceVersion" \
    'metadata\.resourceVersion.*must be specified for an update' cat "$D/put.out"
t_grep "... and the VMClass is unchanged" '^4$' k get vmclass medium -o 'jsonpath={.spec.cpu}'
k delete configmap put-me >/dev/null

# A Lease is built in but, as in kube-apiserver (leaseStrategy), takes no
# unconditional update: a blind PUT must not take over a leader election.
lease='{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"leader","namespace":"default"},"spec":{"holderIdentity":"HOLDER"}}'
curl -sk -o /dev/null -X POST -H @"$D/auth" -H 'Content-Type: application/json' \
    --data "${lease/HOLDER/a}" \
    "https://127.0.0.1:$PORT/apis/coordination.k8s.io/v1/namespaces/default/leases"
t_eq "a PUT of a Lease without a resourceVersion is refused (422)" 422 \
    "$(put /apis/coordination.k8s.io/v1/namespaces/default/leases/leader "${lease/HOLDER/b}")"
t_grep "... naming metadata.resourceVersion, and Lease.coordination.k8s.io" \
    'Lease\.coordination\.k8s\.io \\"leader\\" is invalid: metadata\.resourceVersion.*must be specified for an update' \
    cat "$D/put.out"
t_grep "... and the Lease keeps its holder" '^a$' \
    k get lease leader -o 'jsonpath={.spec.holderIdentity}'

# Unconditional PUTs racing each other: each is over whatever is stored
# when it writes, so none is the client's conflict (kube-apiserver retries
# an update that has no precondition).  8 writers x 25 PUTs.
k create configmap race --from-literal=w=0 >/dev/null
race_pids=()
for w in 1 2 3 4 5 6 7 8; do
    (
        for i in $(seq 1 25); do
            curl -sk -o /dev/null -w '%{http_code}\n' -X PUT -H @"$D/auth" \
                -H 'Content-Type: application/json' \
                --data "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"race\",\"namespace\":\"default\"},\"data\":{\"w\":\"$w-$i\"}}" \
                "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps/race"
        done >"$D/race.$w"
    ) &
    race_pids+=($!)
done
wait "${race_pids[@]}" # not a bare wait: the manager is a child too
t_eq "200 concurrent PUTs without a resourceVersion: every one 200" "200 200" \
    "$(cat "$D"/race.? | grep -c '^200$') $(cat "$D"/race.? | wc -l | tr -d ' ')"
# Messages name a core-group resource as kube-apiserver does: configmaps "x".
race_rv=$(k get configmap race -o 'jsonpath={.metadata.resourceVersion}')
t_eq "a PUT with a stale resourceVersion still gets 409" 409 \
    "$(put /api/v1/namespaces/default/configmaps/race \
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"race\",\"namespace\":\"default\",\"resourceVersion\":\"$((race_rv - 1))\"}}")"
t_grep "... as 'Operation cannot be fulfilled on configmaps \"race\"' (no dot)" \
    'Operation cannot be fulfilled on configmaps \\"race\\": the object has been modified' \
    cat "$D/put.out"
t_grep "a second create says 'configmaps \"race\" already exists'" \
    'configmaps \\"race\\" already exists' \
    curl -sk -X POST -H @"$D/auth" -H 'Content-Type: application/json' \
    --data '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"race"}}' \
    "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps"

# --- a malformed resourceVersion is refused, not taken as none ------------
# A resourceVersion is a positive decimal this server gave out; "-1" would
# have skipped the store's check (a CR losing optimistic concurrency),
# "abc" and "-5" were taken as no precondition at all.
vmc_rv=$(k get vmclass medium -o 'jsonpath={.metadata.resourceVersion}')
vmc() { # vmc RV: a VMClass medium body with cpu 3 and that resourceVersion
    printf '{"apiVersion":"infra.virtrigaud.io/v1beta1","kind":"VMClass","metadata":{"name":"medium","namespace":"default","resourceVersion":%s},"spec":{"cpu":3,"memory":"1Gi"}}' "$1"
}
t_eq "a VMClass PUT with resourceVersion \"-1\" is refused (400)" 400 \
    "$(put /apis/infra.virtrigaud.io/v1beta1/namespaces/default/vmclasses/medium "$(vmc '"-1"')")"
t_grep "... naming metadata.resourceVersion and the value" \
    'metadata\.resourceVersion: Invalid value: \\"-1\\"' cat "$D/put.out"
for bad in '"abc"' '"-5"' "\"+$vmc_rv\"" "\" $vmc_rv\"" "\"${vmc_rv}x\"" "$vmc_rv" '"99999999999999999999"'; do
    t_eq "... and so is $bad (400)" 400 \
        "$(put /apis/infra.virtrigaud.io/v1beta1/namespaces/default/vmclasses/medium "$(vmc "$bad")")"
done
t_grep "... and the VMClass is unchanged" '^4$' k get vmclass medium -o 'jsonpath={.spec.cpu}'
for bad in '"abc"' '"-5"'; do
    t_eq "a ConfigMap PUT with resourceVersion $bad is refused, not unconditional (400)" 400 \
        "$(put /api/v1/namespaces/default/configmaps/race \
            "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"race\",\"namespace\":\"default\",\"resourceVersion\":$bad},\"data\":{\"w\":\"bad\"}}")"
done
t_grep "... and the ConfigMap is unchanged" '^[1-8]-[0-9]+$' \
    k get configmap race -o 'jsonpath={.data.w}'
patch_cm() { # patch_cm TYPE BODY: PATCH configmaps/race; prints the code
    curl -sk -o "$D/patch.out" -w '%{http_code}' -X PATCH -H @"$D/auth" \
        -H "Content-Type: application/$1" --data "$2" \
        "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps/race"
}
t_eq "a merge patch with resourceVersion \"abc\" is refused (400)" 400 \
    "$(patch_cm merge-patch+json '{"metadata":{"resourceVersion":"abc"},"data":{"w":"bad"}}')"
t_eq "a JSON patch setting resourceVersion \"-1\" is refused (400)" 400 \
    "$(patch_cm json-patch+json '[{"op":"replace","path":"/metadata/resourceVersion","value":"-1"},{"op":"replace","path":"/data/w","value":"bad"}]')"
race_rv=$(k get configmap race -o 'jsonpath={.metadata.resourceVersion}')
t_eq "a JSON patch setting a stale resourceVersion is a precondition (409)" 409 \
    "$(patch_cm json-patch+json "[{\"op\":\"replace\",\"path\":\"/metadata/resourceVersion\",\"value\":\"$((race_rv - 1))\"},{\"op\":\"replace\",\"path\":\"/data/w\",\"value\":\"bad\"}]")"
t_grep "... and the ConfigMap is unchanged" '^[1-8]-[0-9]+$' \
    k get configmap race -o 'jsonpath={.data.w}'
t_eq "a Scale PUT with resourceVersion \"abc\" is refused (400)" 400 \
    "$(curl -sk -o "$D/scale.out" -w '%{http_code}' -X PUT \
        -H @"$D/auth" -H 'Content-Type: application/json' \
        --data '{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","namespace":"default","resourceVersion":"abc"},"spec":{"replicas":7}}' \
        "https://127.0.0.1:$PORT/apis/infra.virtrigaud.io/v1beta1/namespaces/default/vmsets/web/scale")"
t_grep "... naming metadata.resourceVersion" 'metadata\.resourceVersion: Invalid value: \\"abc\\"' \
    cat "$D/scale.out"
race_rv=$(k get configmap race -o 'jsonpath={.metadata.resourceVersion}')
t_eq "a delete precondition \"+RV\" does not match RV (409, as kube compares the text)" 409 \
    "$(curl -sk -o /dev/null -w '%{http_code}' -X DELETE -H @"$D/auth" \
        -H 'Content-Type: application/json' \
        --data "{\"preconditions\":{\"resourceVersion\":\"+$race_rv\"}}" \
        "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps/race")"
t_grep "... and the ConfigMap is still there" '^race$' \
    k get configmap race -o 'jsonpath={.metadata.name}'
k delete configmap race >/dev/null

# --- strategic merge patch: built-in kinds only ---------------------------
# As in kube-apiserver, a custom resource has no patch strategy: kubectl
# patch without --type=merge is refused with 415; a ConfigMap takes it.
k create configmap smp-me --from-literal=a=1 >/dev/null
t_run "kubectl patch (strategic) of a ConfigMap" k patch configmap smp-me -p '{"data":{"b":"2"}}'
t_grep "... merged" '^1 2$' k get configmap smp-me -o 'jsonpath={.data.a} {.data.b}'
t_grep "kubectl patch (strategic) of a VMClass is refused, naming the media types it takes" \
    'application/merge-patch\+json' k patch vmclass medium -p '{"spec":{"cpu":5}}'
t_grep "... and the VMClass is unchanged" '^4$' k get vmclass medium -o 'jsonpath={.spec.cpu}'
t_run "kubectl patch --type=merge of the VMClass works" \
    k patch vmclass medium --type=merge -p '{"metadata":{"labels":{"patched":"yes"}}}'
k delete configmap smp-me >/dev/null

# --- JSON that cannot be stored as sent -----------------------------------
# cJSON would turn 1e999 into infinity (stored as null) and cut a key or
# string at \u0000; kube-apiserver refuses both, and so do we.
post_cm() { # post_cm BODY: POST a ConfigMap; prints the code, body in $D/post.out
    curl -sk -o "$D/post.out" -w '%{http_code}' -X POST -H @"$D/auth" \
        -H 'Content-Type: application/json' --data "$1" \
        "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps"
}
t_eq "a body with a number beyond a double's range is refused (400)" 400 \
    "$(post_cm '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big","annotations":{"a":"b"}},"x":1e999}')"
t_grep "... saying so" 'beyond the range' cat "$D/post.out"
t_eq "a body with \\u0000 in a key is refused (400)" 400 \
    "$(post_cm '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nul"},"data":{"a\u0000b":"c"}}')"
t_grep "... saying so" 'NUL character' cat "$D/post.out"
t_run_fails "... and the first was not stored" k get configmap big
t_run_fails "... nor the second" k get configmap nul
t_eq "a body with 9007199254740993 (not a double) is refused (400)" 400 \
    "$(post_cm '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"int53"},"x":9007199254740993}')"
t_grep "... naming the byte and saying it cannot be stored exactly" \
    'integer at byte 70 cannot be stored exactly' cat "$D/post.out"
t_eq "... and so is -9223372036854775809 (beyond int64) (400)" 400 \
    "$(post_cm '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"int53"},"x":-9223372036854775809}')"
t_run_fails "... and neither was stored" k get configmap int53
t_eq "9007199254740992 (2^53) is taken (201)" 201 \
    "$(post_cm '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"int53"},"x":9007199254740992}')"
# (It is held exactly, but cJSON prints it as 9.00719925474099e+15: its
# printer keeps 15 digits when they come within DBL_EPSILON of the value.)
k delete configmap int53 >/dev/null
# YAML: a double-quoted \0 would end the C string ("a\0b" became "a").
t_eq "a YAML body with \\0 in a key and a value is refused (400)" 400 \
    "$(curl -sk -o "$D/post.out" -w '%{http_code}' -X POST -H @"$D/auth" \
        -H 'Content-Type: application/yaml' \
        --data-binary $'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ynul}\ndata: {"a\\0b": "x\\0y"}\n' \
        "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps")"
t_grep "... saying so" 'NUL character' cat "$D/post.out"
t_run_fails "... and nothing was stored" k get configmap ynul
# Protobuf (as kubectl create sends): a NUL in a string value.
pb_cm() { # pb_cm VALUE-BYTES: a protobuf ConfigMap pbnul with data k=VALUE (3 bytes)
    printf 'k8s\0\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x13\x0a\x07\x0a\x05pbnul\x12\x08\x0a\x01k\x12\x03'"$1"
}
t_eq "a protobuf ConfigMap with a NUL inside a data value is refused" 415 \
    "$(curl -sk -o "$D/post.out" -w '%{http_code}' -X POST -H @"$D/auth" \
        -H 'Content-Type: application/vnd.kubernetes.protobuf' \
        --data-binary @<(pb_cm 'a\0b') \
        "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps")"
t_grep "... saying the value holds a NUL byte" 'entry \\"k\\" holds a NUL byte' cat "$D/post.out"
t_run_fails "... and nothing was stored" k get configmap pbnul
t_eq "... while the same body with a-b is taken (201)" 201 \
    "$(curl -sk -o /dev/null -w '%{http_code}' -X POST -H @"$D/auth" \
        -H 'Content-Type: application/vnd.kubernetes.protobuf' \
        --data-binary @<(pb_cm 'a-b') \
        "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps")"
k delete configmap pbnul >/dev/null
# /scale bodies get the same check.
scale_patch() { # scale_patch BODY: merge-patch vmsets/web/scale; prints the code
    curl -sk -o "$D/scale.out" -w '%{http_code}' -X PATCH -H @"$D/auth" \
        -H 'Content-Type: application/merge-patch+json' --data "$1" \
        "https://127.0.0.1:$PORT/apis/infra.virtrigaud.io/v1beta1/namespaces/default/vmsets/web/scale"
}
rep1=$(k get vmset web -o 'jsonpath={.spec.replicas}')
t_eq "a /scale patch with \\u0000 in a key is refused (400)" 400 \
    "$(scale_patch '{"spec":{"replicas":4},"x\u0000":1}')"
t_grep "... saying so" 'NUL character' cat "$D/scale.out"
t_eq "... and changes nothing" "$rep1" "$(k get vmset web -o 'jsonpath={.spec.replicas}')"
t_eq "a /scale patch to replicas -1 is refused (422)" 422 \
    "$(scale_patch '{"spec":{"replicas":-1}}')"
t_grep "... with the value, as kube-apiserver says it" \
    'spec\.replicas: Invalid value: -1: must be greater than or equal to 0' cat "$D/scale.out"
t_eq "an escaped backslash before u0000 is text, not NUL (201)" 201 \
    "$(post_cm '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bs"},"data":{"a":"\\u0000"}}')"
t_grep "... stored as sent" '^\\u0000$' k get configmap bs -o 'jsonpath={.data.a}'
k delete configmap bs >/dev/null

# --- delete: dryRun and preconditions in DeleteOptions ---------------------
t_run "make ConfigMap keep-me" k create configmap keep-me --from-literal=a=1
t_run "kubectl delete --dry-run=server answers" k delete configmap keep-me --dry-run=server
t_grep "... and the ConfigMap is still there" '^keep-me$' \
    k get configmap keep-me -o 'jsonpath={.metadata.name}'
del() { # del BODY: DELETE keep-me with DeleteOptions BODY; prints the code
    curl -sk -o /dev/null -w '%{http_code}' -X DELETE \
        -H @"$D/auth" \
        -H 'Content-Type: application/json' --data "$1" \
        "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps/keep-me"
}
t_eq "a uid precondition that does not match: 409" 409 \
    "$(del '{"preconditions":{"uid":"not-its-uid"}}')"
t_eq "a resourceVersion precondition that is not a number: 409" 409 \
    "$(del '{"preconditions":{"resourceVersion":"abc"}}')"
t_eq "dryRun [All] in the body: 200, nothing deleted" 200 "$(del '{"dryRun":["All"]}')"
t_grep "... still there" '^keep-me$' k get configmap keep-me -o 'jsonpath={.metadata.name}'
uid=$(k get configmap keep-me -o 'jsonpath={.metadata.uid}')
t_eq "the matching uid precondition deletes it" 200 \
    "$(del "{\"preconditions\":{\"uid\":\"$uid\"}}")"
t_run_fails "... and it is gone" k get configmap keep-me

# --- watch with a selector: objects enter and leave the selection ---------
# kube-apiserver sends ADDED when a change brings an object into a
# selector's view and DELETED when a change takes it out; a cache fed by
# the watch must never keep an object it can no longer see change.
k create configmap sel-a --from-literal=k=1 >/dev/null
k label configmap sel-a app=x >/dev/null
k create configmap sel-b --from-literal=k=1 >/dev/null
k label configmap sel-b app=y >/dev/null
k create configmap sel-c --from-literal=k=1 >/dev/null
k label configmap sel-c app=x >/dev/null
sel_rv=$(k get configmap sel-c -o 'jsonpath={.metadata.resourceVersion}')
# sel-c leaves after that resourceVersion, before the watch starts: the
# watch learns its earlier state from the store's history.
k label configmap sel-c app=y --overwrite >/dev/null
sel_watch() { # sel_watch FILE [rv]: a 6 s selector watch in the background
    curl -sk -N -m 6 -H @"$D/auth" \
        "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps?watch=1&labelSelector=app%3Dx${2:+&resourceVersion=$2}" \
        >"$1" 2>/dev/null &
}
sel_watch "$D/w-from-rv" "$sel_rv"
W1=$!
sel_watch "$D/w-listed"
W2=$!
sleep 1
k label configmap sel-a app=y --overwrite >/dev/null   # leaves
k annotate configmap sel-a note=1 >/dev/null           # outside: nothing
k label configmap sel-b app=x --overwrite >/dev/null   # enters
k annotate configmap sel-b note=1 >/dev/null           # inside
k label configmap sel-a app=x --overwrite >/dev/null   # comes back
k delete configmap sel-b >/dev/null                    # deleted inside
wait "$W1" "$W2"
sel_events() { # the "TYPE name" of each event in FILE, on one line
    sed -nE 's/^\{"type":"([A-Z]+)".*"name":"(sel-[abc])".*/\1 \2/p' "$1" | tr '\n' ' '
}
t_eq "a selector watch from a resourceVersion: DELETED on leaving, ADDED on entering" \
    "DELETED sel-c DELETED sel-a ADDED sel-b MODIFIED sel-b ADDED sel-a DELETED sel-b " \
    "$(sel_events "$D/w-from-rv")"
t_eq "... and the same after an initial listing (no resourceVersion)" \
    "ADDED sel-a DELETED sel-a ADDED sel-b MODIFIED sel-b ADDED sel-a DELETED sel-b " \
    "$(sel_events "$D/w-listed")"
k delete configmap sel-a sel-c >/dev/null

# --- watch from a too-old resourceVersion gets 410 ------------------------
# The server keeps 50 events (--watch-history 50): push past that.
for i in $(seq 1 120); do
    echo "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"churn-$i\"}}"
done | while read -r body; do
    curl -sk -o /dev/null -X POST -H @"$D/auth" \
        -H 'Content-Type: application/json' --data "$body" \
        "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps"
done
t_grep "watch from a compacted resourceVersion answers 410 Expired" \
    '"code":410' curl -sk -m 5 -H @"$D/auth" \
    "https://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2"

t_stop "$MGR"
t_done
