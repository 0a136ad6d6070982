#!/usr/bin/env bash
# tests/deploy/run.sh - offline checks of deploy/: the kustomize overlays
# and the Helm chart render, validate against Kubernetes schemas and agree
# with crds/ (validate.mjs); yamllint passes; the Deployments' args are
# flags the real manager accepts, and the manager started with them (in
# cluster mode, against a standalone API server standing in for a
# cluster) takes its Lease and answers the probes' paths; the requests it
# makes are all allowed by the rendered RBAC; the Dockerfile is
# multi-stage, Debian 12 slim, non-root, and installs every library the
# binaries and plugins link.
#
# Not checked here (no docker, no helm, no cluster on the test machines):
# building the image, `helm template` itself (the chart is rendered by our
# own renderer of the template subset it uses, tests/deploy/lib), and
# applying the manifests to a real cluster.
#
# DOCKERFILE=path checks another Dockerfile (to see the checks fail).
set -u
. "$(dirname "$0")/../lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
MANAGER=$BUILD/bin/virtrigaud-manager
t_mktemp OUT

for tool in node kubectl yamllint curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        t_fail "$tool is installed" "missing; run tools/install-deps.sh"
        t_done
    fi
done
if [ ! -f "$HERE/node_modules/.package-lock.json" ] ||
   [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
    if ! (cd "$HERE" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) >"$OUT/npm.log" 2>&1; then
        t_fail "npm packages of tests/deploy install" "npm ci failed" "$(cat "$OUT/npm.log")"
        t_done
    fi
fi

# relay NODE-OUTPUT: counts validate.mjs's verdict lines as this suite's.
relay() {
    local line
    while IFS= read -r line; do
        case $line in
            "PASS "*) t_pass "${line#PASS }" ;;
            "FAIL "*) name=${line#FAIL }; t_fail "${name%%: *}" "${name#*: }" ;;
            "SKIP "*) name=${line#SKIP }; t_skip "${name%%: *}" "${name#*: }" ;;
            "    | "*|"# "*) echo "$line" ;;
        esac
    done
}

# --- renders, schemas, CRDs, wiring, values --------------------------------
rc=0
node "$HERE/validate.mjs" "$OUT" >"$OUT/validate.log" 2>&1 || rc=$?
relay <"$OUT/validate.log"
if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$OUT/validate.log"; then
    t_fail "validate.mjs runs" "exit $rc without a verdict" "$(tail -n 20 "$OUT/validate.log")"
fi

# --- yamllint --------------------------------------------------------------
# Sources (not the chart's templates, which are templates, not YAML) and
# the chart's renders.
mapfile -t sources < <(cd "$VRT_SRC_DIR" && find deploy -name '*.yaml' \
    ! -path 'deploy/helm/virtrigaud/templates/*' ! -path '*/crds/*' | sort)
t_run "yamllint passes on deploy/ (${#sources[@]} files)" \
    bash -c 'cd "$1" && shift && yamllint -s -c "$0" "$@"' "$HERE/yamllint.yaml" "$VRT_SRC_DIR" "${sources[@]}"
mapfile -t renders < <(ls "$OUT"/helm-*.yaml 2>/dev/null)
if [ "${#renders[@]}" -gt 0 ]; then
    t_run "yamllint passes on the chart's renders (${#renders[@]})" \
        yamllint -s -c "$HERE/yamllint.yaml" "${renders[@]}"
else
    t_fail "yamllint passes on the chart's renders" "no renders were written"
fi
# A lint that cannot fail proves nothing: a duplicated key must be caught.
printf 'a: 1\na: 2\n' >"$OUT/dup.yaml"
t_run_fails "yamllint (our config) rejects a duplicated key" \
    yamllint -s -c "$HERE/yamllint.yaml" "$OUT/dup.yaml"

# --- the Dockerfile ----------------------------------------------------------
DF=${DOCKERFILE:-$VRT_SRC_DIR/deploy/Dockerfile}
froms=$(grep -cE '^FROM ' "$DF")
if [ "$froms" -ge 2 ] && ! grep -E '^FROM ' "$DF" | grep -vqE '^FROM debian:12-slim( AS [a-z]+)?$'; then
    t_pass "Dockerfile: multi-stage ($froms stages), every stage debian:12-slim"
else
    t_fail "Dockerfile: multi-stage, every stage debian:12-slim" "$(grep -E '^FROM ' "$DF" | tr '\n' ';')"
fi
last_user=$(awk '/^FROM /{u=""} /^USER /{u=$2} END{print u}' "$DF")
if [[ "$last_user" =~ ^[1-9][0-9]*(:[1-9][0-9]*)?$ ]]; then
    t_pass "Dockerfile: the final stage runs as a numeric non-root user ($last_user)"
else
    t_fail "Dockerfile: the final stage runs as a numeric non-root user" "USER is \"$last_user\""
fi
if grep -q 'COPY --from=build /out/usr/lib/virtrigaud/' "$DF"; then
    t_pass "Dockerfile: the plugins are copied into the image"
else
    t_fail "Dockerfile: the plugins are copied into the image" "no COPY of lib/virtrigaud"
fi
if grep -E 'apt-get install' "$DF" | grep -vq -- '--no-install-recommends' ||
   [ "$(grep -c 'rm -rf /var/lib/apt/lists' "$DF")" -lt 2 ] ||
   grep -qE '^(ADD|RUN .*(curl|wget) )' "$DF"; then
    t_fail "Dockerfile: apt without recommends, lists removed, nothing downloaded" "see $DF"
else
    t_pass "Dockerfile: apt without recommends, lists removed, nothing downloaded"
fi
if grep -q 'ENTRYPOINT \["/usr/bin/virtrigaud-manager"\]' "$DF"; then
    t_pass "Dockerfile: the entrypoint is the manager"
else
    t_fail "Dockerfile: the entrypoint is the manager" "no such ENTRYPOINT"
fi
# The runtime stage's packages, with their dependencies, provide every
# library that the manager, the tools and the plugins load here.
runtime_pkgs=$(awk '/^FROM /{n++} n==2' "$DF" | sed -n '/apt-get install/,/rm -rf/p' |
    tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
    grep -vE '^(apt-get|install|rm|rf|y|no-install-recommends)$' | sort -u)
build_pkgs=$(awk '/^FROM /{n++} n==1' "$DF" | sed -n '/apt-get install/,/rm -rf/p' |
    tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
    grep -vE '^(apt-get|install|rm|rf|y|no-install-recommends)$' | sort -u)
missing_apt=()
for p in $runtime_pkgs $build_pkgs; do
    apt-cache show "$p" >/dev/null 2>&1 || missing_apt+=("$p")
done
if [ "${#missing_apt[@]}" -eq 0 ]; then
    t_pass "Dockerfile: every package it installs exists in Debian 12"
else
    t_fail "Dockerfile: every package it installs exists in Debian 12" "unknown: ${missing_apt[*]}"
fi
# The build stage's packages provide every pkg-config module that the
# Makefile and the module.mk files ask for (and cmocka: `make` builds the
# unit tests too).
# shellcheck disable=SC2016
pc_names=$(cd "$VRT_SRC_DIR" && { sed -n 's/^CORE_PKGS *?*:*= *//p' Makefile;
    cat tools/*/module.mk plugins/*/module.mk 2>/dev/null | sed -n 's/^[A-Za-z0-9_-]*_PKGS *:*= *//p';
    echo cmocka; } | tr ' ' '\n' | grep -E '^[a-z]' | sort -u)
build_closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances $build_pkgs 2>/dev/null |
    grep -E '^[a-z0-9]' | sed 's/:.*//' | sort -u)
unbuilt=()
for pc in $pc_names; do
    dir=$(pkg-config --variable=pcfiledir "$pc" 2>/dev/null)
    pkg=$(dpkg -S "$dir/$pc.pc" 2>/dev/null || dpkg -S "${dir#/usr}/$pc.pc" 2>/dev/null)
    pkg=${pkg%%:*}
    case " $(echo $build_closure) " in
        *" ${pkg:-none} "*) ;;
        *) unbuilt+=("$pc(${pkg:-not installed here})") ;;
    esac
done
if [ "${#unbuilt[@]}" -eq 0 ]; then
    t_pass "Dockerfile: the build stage provides every pkg-config module the build uses ($(echo $pc_names | wc -w))"
else
    t_fail "Dockerfile: the build stage provides every pkg-config module the build uses" \
        "missing: ${unbuilt[*]}"
fi
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances $runtime_pkgs 2>/dev/null |
    grep -E '^[a-z0-9]' | sed 's/:.*//' | sort -u)
# Present in debian:12-slim without asking (Essential: yes, and apt's own).
closure="$closure libc6 libgcc-s1 libstdc++6 zlib1g libzstd1 liblz4-1 libgnutls30 libssl3"
unprovided=()
for f in "$BUILD"/bin/* "$BUILD"/plugins/*.so; do
    [ -f "$f" ] || continue
    for lib in $(ldd "$f" 2>/dev/null | awk '/=> \//{print $3}'); do
        real=$(readlink -f "$lib")
        pkg=$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || dpkg -S "/usr$real" 2>/dev/null)
        pkg=${pkg%%:*}
        [ -n "$pkg" ] || continue
        case " $(echo $closure) " in
            *" $pkg "*) ;;
            *) case " ${unprovided[*]-} " in *" $pkg "*) ;; *) unprovided+=("$pkg") ;; esac ;;
        esac
    done
done
if [ -n "${SANITIZER:-}" ]; then
    t_skip "Dockerfile: runtime packages provide every linked library" "SANITIZER build links sanitizer runtimes"
elif [ "${#unprovided[@]}" -eq 0 ]; then
    t_pass "Dockerfile: runtime packages provide every linked library"
else
    t_fail "Dockerfile: runtime packages provide every linked library" \
        "not provided: ${unprovided[*]}"
fi

# --- the Deployments' args against the real manager ---------------------------
if [ ! -x "$MANAGER" ]; then
    t_fail "the manager binary exists" "$MANAGER is missing; run make"
    t_done
fi
help=$("$MANAGER" --help 2>&1)
for f in "$OUT"/args-*.txt; do
    [ -f "$f" ] || continue
    label=$(basename "$f" .txt); label=${label#args-}
    unknown=()
    while IFS= read -r a; do
        flag=${a%%=*}
        printf '%s\n' "$help" | grep -qE -- "(^|[ ,])${flag}([ =[]|$)" || unknown+=("$flag")
    done <"$f"
    if [ "${#unknown[@]}" -eq 0 ]; then
        t_pass "$label: every arg is a flag in virtrigaud-manager --help"
    else
        t_fail "$label: every arg is a flag in virtrigaud-manager --help" "unknown: ${unknown[*]}"
    fi
done

# A standalone API server plays the cluster; -v makes it log every request.
t_bg API "$MANAGER" --standalone --no-controller --data-dir "$OUT/api" --port 0 \
    --sync normal -v
for _ in $(seq 200); do
    grep -q 'serving on port' "$API_LOG" && [ -s "$OUT/api/kubeconfig" ] && break
    kill -0 "$API" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q 'serving on port' "$API_LOG"; then
    t_fail "the standalone API server starts" "no \"serving on port\" line" "$(tail -n 20 "$API_LOG")"
    t_done
fi
export KUBECONFIG=$OUT/api/kubeconfig
k() { kubectl --request-timeout=10s "$@"; }

# Something for the manager to do: a Provider with credentials (a Secret
# read), and a VM (finalizer and status patches, events).
cat >"$OUT/objects.yaml" <<'EOF'
apiVersion: v1
kind: Secret
metadata: {name: mock-creds, namespace: default}
stringData: {username: deploy-test, password: not-a-real-secret}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: deploytest, namespace: default}
spec:
  type: mock
  endpoint: mock://deploytest
  credentialSecretRef: {name: mock-creds}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: small, namespace: default}
spec: {cpu: 1, memory: 1Gi}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: img, namespace: default}
spec:
  source:
    libvirt: {path: disk.qcow2, storagePool: default, format: qcow2}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: vm-1, namespace: default}
spec:
  providerRef: {name: deploytest}
  classRef: {name: small}
  imageRef: {name: img}
  powerState: "On"
EOF
t_run "test objects apply to the standalone API server" k apply -f "$OUT/objects.yaml"

# run_as_deployment LABEL ARGSFILE: starts the manager with the Deployment's
# args (the pod's env and a free port substituted), checks the probes'
# paths, the Lease and the VM, then replays its requests against RBAC.
run_as_deployment() {
    local label=$1 file=$2 port args=() a mark
    port=$(t_free_port)
    while IFS= read -r a; do
        a=${a//\$(POD_NAMESPACE)/virtrigaud-system}
        case $a in
            --plugin-dir=*) a=--plugin-dir=$VRT_PLUGIN_DIR ;;
            --metrics-addr=:*) a=--metrics-addr=127.0.0.1:$port ;;
        esac
        args+=("$a")
    done <"$file"
    mark=$(wc -l <"$API_LOG")
    t_bg MGR "$MANAGER" --kubeconfig "$KUBECONFIG" "${args[@]}"
    if t_wait_port "$port" 15; then
        t_pass "$label: the manager runs with these args and serves its metrics port"
    else
        t_fail "$label: the manager runs with these args and serves its metrics port" \
            "nothing on port $port" "$(tail -n 20 "$MGR_LOG")"
        t_stop "$MGR"
        return
    fi
    local path code
    for path in /healthz /readyz /metrics; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port$path")
        t_eq "$label: GET $path on the probe port answers 200" 200 "$code"
    done
    local holder="" end=$((SECONDS + 30))
    while [ "$SECONDS" -lt "$end" ]; do
        holder=$(k -n virtrigaud-system get lease virtrigaud-manager \
            -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null)
        [ -n "$holder" ] && break
        sleep 0.2
    done
    if [ -n "$holder" ]; then
        t_pass "$label: the manager holds the Lease virtrigaud-system/virtrigaud-manager"
    else
        t_fail "$label: the manager holds the Lease virtrigaud-system/virtrigaud-manager" \
            "no holder" "$(tail -n 20 "$MGR_LOG")"
    fi
    local phase="" end2=$((SECONDS + 40))
    while [ "$SECONDS" -lt "$end2" ]; do
        phase=$(k get vm vm-1 -o 'jsonpath={.status.powerState}' 2>/dev/null)
        [ "$phase" = On ] && break
        sleep 0.3
    done
    t_eq "$label: the manager reconciles the VM to On" On "$phase"
    t_stop "$MGR"
    tail -n +"$((mark + 1))" "$API_LOG" >"$OUT/requests-$label.log"
    # Not a pipeline into relay: relay must run in this shell to count.
    relay < <(node "$HERE/validate.mjs" rbac "$OUT/requests-$label.log" "$3" 2>&1 |
        sed "s/^\(PASS\|FAIL\|SKIP\) /\1 $label: /")
}

if [ -f "$OUT/args-overlay-default.txt" ]; then
    run_as_deployment overlay-default "$OUT/args-overlay-default.txt" "$OUT/kustomize-default.yaml"
else
    t_fail "the default overlay's args were extracted" "no args file"
fi
if [ -f "$OUT/args-chart-default.txt" ]; then
    k -n virtrigaud-system delete lease virtrigaud-manager >/dev/null 2>&1
    run_as_deployment chart-default "$OUT/args-chart-default.txt" "$OUT/helm-chart-default.yaml"
else
    t_fail "the chart's args were extracted" "no args file"
fi

t_done
