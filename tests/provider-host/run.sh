#!/usr/bin/env bash
# virtrigaud-provider-host end to end: the host serving mock.so and
# crashy.so (tests/plugins/crashy.c: the mock that segfaults in create
# when the VM name contains "crash") over a Unix socket and over TCP with
# mutual TLS 1.3, judged by vcts through the manager's remote transport,
# by the real openssl CLI (certificates, s_client) and by a standalone
# manager driven with kubectl.
#
#   BUILD=/tmp/build bash tests/provider-host/run.sh   (or via tests/run.sh)
#
# start_host and t_bg set NAME_LOG, NAME_PORT and NAME_ADDR indirectly.
# shellcheck disable=SC2153
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/provider-host/certs.sh
. "$(dirname "$0")/certs.sh"

t_need kubectl openssl
WAIT=${WAIT:-40}
HOST=$BUILD/bin/virtrigaud-provider-host
VCTS=$BUILD/bin/vcts
MOCK=$VRT_PLUGIN_DIR/mock.so
CRASHY_SO=$VRT_TEST_PLUGIN_DIR/crashy.so
for f in "$HOST" "$VCTS" "$MOCK" "$CRASHY_SO" "$BUILD/bin/virtrigaud-manager"; do
    if [ ! -e "$f" ]; then
        t_fail "build products exist" "\"$f\" is missing; run make first"
        t_done
    fi
done

t_mktemp D
C=$D/certs
mkdir -p "$C"
echo '{"endpoint":"mock://ph-vcts"}' >"$D/vcts.json"

# --- certificates (openssl CLI) -----------------------------------------------
SAN_MGR=DNS:virtrigaud-manager
if ca_new "$C/ca" "virtrigaud test CA" && ca_new "$C/ca2" "another CA" &&
    cert_new "$C/ca" "$C/server" localhost "DNS:localhost,IP:127.0.0.1" &&
    cert_new "$C/ca" "$C/client" virtrigaud-manager "$SAN_MGR" &&
    cert_new "$C/ca2" "$C/other" virtrigaud-manager "$SAN_MGR" &&
    cert_new "$C/ca" "$C/expired" virtrigaud-manager "$SAN_MGR" \
        -startdate 20200101000000Z -enddate 20200102000000Z &&
    cert_new "$C/ca" "$C/revoked" virtrigaud-manager "$SAN_MGR" &&
    cert_revoke "$C/ca" "$C/revoked.crt" "$C/crl.pem"; then
    t_pass "test certificates are made with the openssl CLI"
else
    t_fail "test certificates are made with the openssl CLI" "openssl failed"
    t_done
fi
t_grep "the expired client certificate is really past its end date" \
    'notAfter=Jan  2 00:00:00 2020' openssl x509 -in "$C/expired.crt" -noout -enddate
t_grep "the CRL lists the revoked client certificate" \
    "Serial Number: $(cert_serial "$C/revoked.crt")" \
    openssl crl -in "$C/crl.pem" -noout -text

# start_host VAR ARGS...: starts the host like t_bg, waits for its "serving
# plugin" line; sets VAR_ADDR (the address it printed, e.g.
# tcp:127.0.0.1:PORT) and VAR_PORT for TCP.
start_host() {
    local var=$1 line='' _ pid log
    shift
    t_bg "$var" "$HOST" "$@"
    pid=${!var}
    log=$(eval echo "\$${var}_LOG")
    for _ in $(seq 100); do
        line=$(sed -n 's/.*serving plugin .* on \([^ ]*\) (.*/\1/p' "$log" | head -n 1)
        [ -n "$line" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$line" ]; then
        t_fail "the provider host starts: $*" "no \"serving plugin\" line" "$(cat "$log")"
        return 1
    fi
    printf -v "${var}_ADDR" '%s' "$line"
    printf -v "${var}_PORT" '%s' "${line##*:}"
    return 0
}

# vcts_pass NAME ARGS...: vcts (ARGS select the target) runs, nothing
# fails, and as many tests pass as against mock.so loaded in process.
LOCAL_PASSED=
vcts_pass() {
    local name=$1 rc=0 n
    shift
    t_exec timeout 120 "$VCTS" --config "$D/vcts.json" "$@" || rc=$?
    n=$(printf '%s\n' "$T_OUT" | sed -n 's/^\([0-9]*\) passed, 0 failed, .*/\1/p')
    if [ "$rc" -eq 0 ] && [ -n "$n" ] && [ "$n" = "$LOCAL_PASSED" ]; then
        t_pass "$name ($n passed)"
    else
        t_fail "$name" "exit $rc, $n passed (in process: $LOCAL_PASSED)" \
            "$(printf '%s\n' "$T_OUT" | grep -v '^PASS' | tail -n 20)"
    fi
}

# --- usage and refusals to start ------------------------------------------------
t_exec "$HOST" --help
absent=
for opt in --plugin --listen --cert --key --ca --crl --allowed-san --insecure \
    --credentials-dir --skip-plugin-perms --help --version SIGHUP "protocol version 1"; do
    printf '%s\n' "$T_OUT" | grep -q -- "$opt" || absent="$absent $opt"
done
if [ -z "$absent" ]; then
    t_pass "--help describes every option, reloads and the protocol version"
else
    t_fail "--help describes every option" "missing:$absent" "$T_OUT"
fi
t_run_fails "no certificates and no --insecure: the host refuses to start" \
    "$HOST" --plugin "$MOCK" --listen "unix:$D/refuse.sock"
t_grep "... and says what is missing and how to run plaintext anyway" \
    'mutual TLS needs --cert, --key and --ca .*--insecure' \
    "$HOST" --plugin "$MOCK" --listen "unix:$D/refuse.sock"
t_run_fails "--insecure together with certificates is refused" \
    "$HOST" --plugin "$MOCK" --listen "unix:$D/refuse.sock" --insecure \
    --cert "$C/server.crt" --key "$C/server.key" --ca "$C/ca/ca.crt"
t_grep "an unreadable --cert is refused naming the file" \
    'certificate file \(--cert\) ".*nope.crt" cannot be used' \
    "$HOST" --plugin "$MOCK" --listen "unix:$D/refuse.sock" \
    --cert "$D/nope.crt" --key "$C/server.key" --ca "$C/ca/ca.crt"
t_grep "a plugin that cannot load stops the host with the loader's reason" \
    'cannot load plugin .*cannot be read' \
    "$HOST" --plugin "$D/nope.so" --listen "unix:$D/refuse.sock" --insecure

# --- (1) plaintext over a Unix socket, explicitly insecure -------------------------
t_exec timeout 120 "$VCTS" --config "$D/vcts.json" "$MOCK"
LOCAL_PASSED=$(printf '%s\n' "$T_OUT" | sed -n 's/^\([0-9]*\) passed, 0 failed, .*/\1/p')
if [ -n "$LOCAL_PASSED" ]; then
    t_pass "vcts passes against mock.so in process ($LOCAL_PASSED passed)"
else
    t_fail "vcts passes against mock.so in process" "" "$T_OUT"
fi

if start_host PLAIN --plugin "$MOCK" --listen "unix:$D/plain.sock" --insecure; then
    t_grep "--insecure warns loudly" 'WARNING: --insecure: serving WITHOUT TLS' \
        cat "$PLAIN_LOG"
    vcts_pass "vcts passes through the remote transport over a Unix socket" \
        --remote "unix://$D/plain.sock" --insecure
    t_run_fails "the transport refuses plaintext unix:// without the insecure flag" \
        "$VCTS" --config "$D/vcts.json" --filter open --remote "unix://$D/plain.sock" \
        --ca "$C/ca/ca.crt"
    # The caller's deadline travels with the call: a 3 s call with 600 ms
    # left ends with TIMEOUT at about 600 ms, not 3 s later.
    echo '{"endpoint":"mock://ph-slow","config":{"latencyMs":3000},"timeoutMs":600}' \
        >"$D/slow.json"
    t0=$(date +%s%N)
    t_exec timeout 60 "$VCTS" --config "$D/slow.json" --filter validate \
        --remote "unix://$D/plain.sock" --insecure
    ms=$((($(date +%s%N) - t0) / 1000000))
    if [ "$T_OUT" != "${T_OUT/TIMEOUT/}" ] || [ "$T_OUT" != "${T_OUT/deadline/}" ]; then
        if [ "$ms" -lt 2500 ]; then
            t_pass "a call's deadline crosses the wire: TIMEOUT after ${ms} ms"
        else
            t_fail "a call's deadline crosses the wire" "took ${ms} ms" "$T_OUT"
        fi
    else
        t_fail "a call's deadline crosses the wire" "no TIMEOUT reported" "$T_OUT"
    fi
    t_stop "$PLAIN"
fi

# readyz_code PORT [SECONDS]: waits (default 20 s) until the host's
# /readyz answers 200; prints the last code.
readyz_code() {
    local code='' end=$((SECONDS + ${2:-20}))
    while [ "$SECONDS" -lt "$end" ]; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
            "http://127.0.0.1:$1/readyz")
        [ "$code" = 200 ] && break
        sleep 0.2
    done
    echo "$code"
}

# Probes (--metrics-addr): /healthz while the host answers, /readyz 503
# while no worker runs the plugin.  Killing the worker again and again
# makes the supervisor pause before each restart (a crash loop), which
# leaves a window to see the 503 in.
HEALTH_PORT=$(t_free_port)
if start_host PROBE --plugin "$MOCK" --listen "unix:$D/probe.sock" --insecure \
    --metrics-addr "127.0.0.1:$HEALTH_PORT"; then
    probe() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$HEALTH_PORT$1"; }
    t_eq "GET /healthz answers 200" 200 "$(probe /healthz)"
    t_eq "GET /readyz answers 200 with the worker up" 200 "$(probe /readyz)"
    t_grep "GET /metrics serves the text format" '^# (HELP|TYPE) ' \
        curl -s --max-time 5 "http://127.0.0.1:$HEALTH_PORT/metrics"
    seen='' end=$((SECONDS + 15))
    while [ -z "$seen" ] && [ "$SECONDS" -lt "$end" ]; do
        w=$(pgrep -P "$PROBE" | head -n 1)
        [ -n "$w" ] && kill -9 "$w" 2>/dev/null
        for _ in 1 2 3 4 5; do
            body=$(curl -s --max-time 5 "http://127.0.0.1:$HEALTH_PORT/readyz")
            case $body in "not ready: the plugin's worker is restarting"*) seen=$body; break ;; esac
            sleep 0.05
        done
    done
    t_eq "GET /readyz says not ready while the worker restarts" \
        "not ready: the plugin's worker is restarting" "$seen"
    t_eq "... and ready again once it runs" 200 "$(readyz_code "$HEALTH_PORT")"
    t_eq "the host itself stayed up" 0 "$(kill -0 "$PROBE" 2>/dev/null; echo $?)"
    t_stop "$PROBE"
fi
# An upgrade replaces the host's binary under a running host: a worker
# that dies afterwards must still be restarted (from the running image).
cp "$HOST" "$D/host-copy"
HOST_ORIG=$HOST HOST=$D/host-copy
HEALTH_PORT=$(t_free_port)
if start_host UPG --plugin "$MOCK" --listen "unix:$D/upg.sock" --insecure \
    --metrics-addr "127.0.0.1:$HEALTH_PORT"; then
    rm -f "$D/host-copy" && cp "$HOST_ORIG" "$D/host-copy"
    kill -9 "$(pgrep -P "$UPG" | head -n 1)" 2>/dev/null
    sleep 1.5
    t_eq "after its binary was replaced, a killed worker is restarted (readyz)" 200 \
        "$(readyz_code "$HEALTH_PORT" 15)"
    t_grep "... and serves calls" '^[1-9][0-9]* passed, 0 failed' \
        "$VCTS" --config "$D/vcts.json" --filter lifecycle --remote "unix://$D/upg.sock" --insecure
    t_stop "$UPG"
fi
HOST=$HOST_ORIG
t_run_fails "a bad --metrics-addr is refused at start" \
    "$HOST" --plugin "$MOCK" --listen "unix:$D/bad.sock" --insecure --metrics-addr nowhere

# The host's own credentials (--credentials-dir, a mounted Secret's
# layout): the plugin reads them there, the manager sends none.
mkdir -p "$D/creds"
printf 'host-own-%s' "$RANDOM" >"$D/creds/password"
echo '{"endpoint":"mock://ph-own","config":{"requireSecret":"password"}}' >"$D/own.json"
echo '{"endpoint":"mock://ph-own","config":{"requireSecret":"token"}}' >"$D/own-missing.json"
if start_host OWN --plugin "$MOCK" --listen "unix:$D/own.sock" --insecure \
    --credentials-dir "$D/creds"; then
    t_grep "--credentials-dir: the plugin reads its credential from the host's directory" \
        '^PASS validate$' "$VCTS" --config "$D/own.json" --filter validate \
        --remote "unix://$D/own.sock" --insecure
    t_grep "--credentials-dir: a key the directory lacks is reported" \
        'no value for key "token"' "$VCTS" --config "$D/own-missing.json" \
        --filter validate --remote "unix://$D/own.sock" --insecure
    t_stop "$OWN"
fi

# A client that speaks another protocol version is refused, clearly.
if start_host PLTCP --plugin "$MOCK" --listen tcp:127.0.0.1:0 --insecure; then
    hello='{"op":"hello","proto":99}'
    printf -v lenbyte '\\x%02x' "${#hello}"
    reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$PLTCP_PORT" &&
        printf "\\x00\\x00\\x00${lenbyte}J%s" "$hello" >&3 &&
        timeout 5 cat <&3) 2>/dev/null | tr -d '\000-\010')
    if printf '%s' "$reply" | grep -q 'speaks protocol version 1; the client asked for version 99'; then
        t_pass "a hello with protocol version 99 is refused naming both versions"
    else
        t_fail "a hello with protocol version 99 is refused naming both versions" \
            "reply: $reply"
    fi
    t_stop "$PLTCP"
fi

# --- (2) mutual TLS 1.3 over TCP ---------------------------------------------------
tls_args=(--cert "$C/client.crt" --key "$C/client.key" --ca "$C/ca/ca.crt")
if start_host TLS --plugin "$MOCK" --listen tcp:127.0.0.1:0 \
    --cert "$C/server.crt" --key "$C/server.key" --ca "$C/ca/ca.crt" \
    --crl "$C/crl.pem"; then
    URL=tls://127.0.0.1:$TLS_PORT
    vcts_pass "vcts passes through the remote transport over mutual TLS" \
        --remote "$URL" "${tls_args[@]}"
    t_grep "the host logs the accepted client's certificate serial" \
        "Accepted connection from 127.0.0.1:[0-9]+ client_serial=$(cert_serial "$C/client.crt")" \
        cat "$TLS_LOG"
    # The plugin's secret_get is answered by the client over the wire; a
    # 300-byte value also takes the "buffer too small, ask again" path.
    SECRET=ph-$(printf 'S%.0s' $(seq 300))
    printf '{"endpoint":"mock://ph-sec","config":{"requireSecret":"password"},"secrets":{"password":"%s"}}\n' \
        "$SECRET" >"$D/secret.json"
    echo '{"endpoint":"mock://ph-sec","config":{"requireSecret":"password"},"secrets":{"user":"x"}}' \
        >"$D/nosecret.json"
    t_grep "the plugin behind the host reads a credential through the client" \
        '^PASS validate$' "$VCTS" --config "$D/secret.json" --filter validate \
        --remote "$URL" "${tls_args[@]}"
    t_grep "... and a missing credential key is reported by the plugin" \
        'no value for key "password"' "$VCTS" --config "$D/nosecret.json" \
        --filter validate --remote "$URL" "${tls_args[@]}"
    if grep -qF "$SECRET" "$TLS_LOG"; then
        t_fail "the credential's value is not in the host's log" "found"
    else
        t_pass "the credential's value is not in the host's log"
    fi
    t_exec openssl s_client -connect "127.0.0.1:$TLS_PORT" -tls1_2 \
        -cert "$C/client.crt" -key "$C/client.key" -CAfile "$C/ca/ca.crt" </dev/null
    if printf '%s\n' "$T_OUT" | grep -q 'alert protocol version' &&
        ! printf '%s\n' "$T_OUT" | grep -Eq 'Cipher is [A-Z]'; then
        t_pass "TLS 1.2 is refused (TLS 1.3 minimum)"
    else
        t_fail "TLS 1.2 is refused (TLS 1.3 minimum)" "no protocol-version alert" "$T_OUT"
    fi

    # refuse CASE CERT REGEX-IN-HOST-LOG
    refuse() {
        local before
        before=$(wc -l <"$TLS_LOG")
        t_exec timeout 30 "$VCTS" --config "$D/vcts.json" --filter open \
            --remote "$URL" --cert "$C/$2.crt" --key "$C/$2.key" --ca "$C/ca/ca.crt"
        if [ "$T_OUT" != "${T_OUT/did not accept our client certificate/}" ]; then
            t_pass "$1: the client is refused and says its certificate was not accepted"
        else
            t_fail "$1: the client is refused" "vcts said otherwise" "$T_OUT"
        fi
        # The host may log just after the client gave up: allow it 3 s.
        for _ in $(seq 30); do
            tail -n "+$((before + 1))" "$TLS_LOG" | grep -Eq "Refused connection .*$3" && break
            sleep 0.1
        done
        t_grep "$1: the host logs why" "Refused connection .*$3" \
            tail -n "+$((before + 1))" "$TLS_LOG"
    }
    refuse "a client certificate from another CA" other "unable to get local issuer certificate"
    refuse "an expired client certificate" expired "certificate has expired"
    refuse "a revoked client certificate (--crl)" revoked "certificate revoked"

    t_exec timeout 30 "$VCTS" --config "$D/vcts.json" --filter open \
        --remote "tcp://127.0.0.1:$TLS_PORT" --insecure
    if [ "$T_OUT" != "${T_OUT/does it serve TLS/}" ]; then
        t_pass "a plaintext client is refused by the TLS host"
    else
        t_fail "a plaintext client is refused by the TLS host" "" "$T_OUT"
    fi
    for _ in $(seq 30); do
        tail -n 3 "$TLS_LOG" | grep -q 'Refused connection .*TLS handshake failed' && break
        sleep 0.1
    done
    t_grep "... and the host logs a failed handshake" \
        'Refused connection .*TLS handshake failed' tail -n 3 "$TLS_LOG"
    t_grep "the client refuses a host whose certificate another CA signed" \
        "host's certificate is not trusted" \
        "$VCTS" --config "$D/vcts.json" --filter open --remote "$URL" \
        --cert "$C/client.crt" --key "$C/client.key" --ca "$C/ca2/ca.crt"
    t_grep "the client refuses a host whose certificate names someone else" \
        'not trusted \(hostname mismatch\)' \
        "$VCTS" --config "$D/vcts.json" --filter open --remote "$URL" \
        --server-name provider.example "${tls_args[@]}"

    # --- (5) certificates reload without a restart ------------------------------
    served_serial() {
        openssl s_client -connect "127.0.0.1:$TLS_PORT" -cert "$C/client.crt" \
            -key "$C/client.key" -CAfile "$C/ca/ca.crt" </dev/null 2>/dev/null |
            openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//'
    }
    t_eq "s_client sees the first server certificate" \
        "$(cert_serial "$C/server.crt")" "$(served_serial)"
    cert_new "$C/ca" "$C/server2" localhost "DNS:localhost,IP:127.0.0.1"
    cp "$C/server2.key" "$C/server.key.new" && cp "$C/server2.crt" "$C/server.crt.new" &&
        mv "$C/server.key.new" "$C/server.key" && mv "$C/server.crt.new" "$C/server.crt"
    kill -HUP "$TLS"
    sleep 0.5
    t_eq "after the files are replaced and SIGHUP, a new connection sees the new serial" \
        "$(cert_serial "$C/server2.crt")" "$(served_serial)"
    cert_new "$C/ca" "$C/server3" localhost "DNS:localhost,IP:127.0.0.1"
    cp "$C/server3.key" "$C/server.key.new" && cp "$C/server3.crt" "$C/server.crt.new" &&
        mv "$C/server.key.new" "$C/server.key" && mv "$C/server.crt.new" "$C/server.crt"
    s=
    for _ in $(seq 30); do
        s=$(served_serial)
        [ "$s" = "$(cert_serial "$C/server3.crt")" ] && break
        sleep 0.2
    done
    t_eq "replaced files alone (no signal) are picked up too" \
        "$(cert_serial "$C/server3.crt")" "$s"
    if kill -0 "$TLS" 2>/dev/null; then
        t_pass "the host kept running through both reloads (pid $TLS)"
    else
        t_fail "the host kept running through both reloads" "it exited" "$(tail "$TLS_LOG")"
    fi
    t_grep "vcts still passes after the reloads" '^[1-9][0-9]* passed, 0 failed' \
        "$VCTS" --config "$D/vcts.json" --filter lifecycle --remote "$URL" "${tls_args[@]}"
    # A client that starts a TLS record and then sends a byte every 2 s
    # (each read is quick, the handshake never ends) is cut off after the
    # 10 s handshake limit, not served forever.
    t0=$SECONDS
    timeout 40 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "\x16\x03\x01\x02\x00" >&3
        (while sleep 2; do printf x >&3 2>/dev/null || exit; done) &
        cat <&3 >/dev/null
        kill $! 2>/dev/null' _ "$TLS_PORT"
    took=$((SECONDS - t0))
    t_eq "a trickling handshake is cut off after about 10 s (took ${took} s)" 1 \
        "$((took >= 8 && took <= 20))"
    t_stop "$TLS"
fi

# A SAN allow-list refuses a certificate from the right CA with other names.
if start_host SAN --plugin "$MOCK" --listen tcp:127.0.0.1:0 \
    --cert "$C/server.crt" --key "$C/server.key" --ca "$C/ca/ca.crt" \
    --allowed-san some-other-manager; then
    t_run_fails "--allowed-san refuses a client without an allowed name" \
        "$VCTS" --config "$D/vcts.json" --filter open \
        --remote "tls://127.0.0.1:$SAN_PORT" "${tls_args[@]}"
    t_grep "... and logs the certificate it refused" \
        'has none of the --allowed-san names' cat "$SAN_LOG"
    t_stop "$SAN"
fi

# --- (3, 4) the manager through the annotation; a crashing plugin ---------------
if ! start_host CRASHY --plugin "$CRASHY_SO" --listen tcp:127.0.0.1:0 \
    --cert "$C/server.crt" --key "$C/server.key" --ca "$C/ca/ca.crt"; then
    t_done
fi
t_start_manager MGR "$D/data" || t_done
CRASHY_URL=tls://127.0.0.1:$CRASHY_PORT

t_run "a Secret holds the manager's client certificate (tls.crt, tls.key, ca.crt)" \
    k create secret generic ph-tls --from-file=tls.crt="$C/client.crt" \
    --from-file=tls.key="$C/client.key" --from-file=ca.crt="$C/ca/ca.crt"
cat >"$D/objects.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: crashy
  annotations:
    virtrigaud.io/provider-host: $CRASHY_URL
spec:
  type: crashy
  endpoint: mock://ph-crashy
  mock:
    stateFile: $D/mock-state.json
  runtime:
    image: virtrigaud/provider-crashy:test
    service:
      tls:
        enabled: true
        secretRef:
          name: ph-tls
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: notls
  annotations:
    virtrigaud.io/provider-host: $CRASHY_URL
spec:
  type: crashy
  endpoint: mock://ph-notls
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: small
spec:
  cpu: 1
  memory: 512Mi
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: img
spec:
  source:
    http:
      url: http://images.invalid/debian-12.qcow2
EOF
t_run "apply the annotated Providers, a class and an image" k apply -f "$D/objects.yaml"

# vm NAME: a VirtualMachine on the crashy Provider.
vm() {
    cat >"$D/vm-$1.yaml" <<EOF
apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: $1
spec:
  providerRef:
    name: crashy
  classRef:
    name: small
  imageRef:
    name: img
EOF
    t_run "apply VM $1" k apply -f "$D/vm-$1.yaml"
}
ready='{.status.conditions[?(@.type=="Ready")].status}'

t_wait_jp "the annotated Provider is Ready through the provider host" \
    provider/crashy "$ready" '^True$'
t_grep "the manager connected through the remote transport" \
    "Connected provider=\"default/crashy\" type=\"crashy\" .*via=\"$CRASHY_URL\"" \
    cat "$MGR_LOG"
t_wait_jp "a Provider annotated without spec.runtime.service.tls is not Ready, and says why" \
    provider/notls '{.status.conditions[?(@.type=="Ready")].message}' \
    'spec\.runtime\.service\.tls'

vm good-one
t_wait_jp "a VM on the remote plugin becomes Ready" vm/good-one "$ready" '^True$'
t_wait_jp "... with the plugin's id" vm/good-one '{.status.id}' '^mock-[0-9]+$'

host_pid=$CRASHY
vm crash-me
t_wait_jp "the VM whose create crashed the plugin is Ready=False, naming the crash" \
    vm/crash-me '{.status.conditions[?(@.type=="Ready")].message}' \
    'crashed \(signal 11\) during create; restarted'
t_wait_jp "... and its Ready status is False" vm/crash-me "$ready" '^False$'
t_grep "the host's log shows the worker died of signal 11 and was restarted" \
    'Worker pid=[0-9]+ ended \(signal 11\); restarting' cat "$CRASHY_LOG"
# The supervisor restarts the worker after a short pause: wait for it.
for _ in $(seq 100); do
    grep -qE 'Worker started pid=[0-9]+ generation=[2-9]' "$CRASHY_LOG" && break
    sleep 0.1
done
t_grep "... and a new worker generation started" \
    'Worker started pid=[0-9]+ generation=[2-9]' cat "$CRASHY_LOG"
if kill -0 "$MGR" 2>/dev/null; then
    t_pass "the manager keeps running"
else
    t_fail "the manager keeps running" "it exited" "$(tail -n 20 "$MGR_LOG")"
fi
if kill -0 "$host_pid" 2>/dev/null; then
    t_pass "the provider host's supervisor keeps running (pid $host_pid)"
else
    t_fail "the provider host's supervisor keeps running" "" "$(tail "$CRASHY_LOG")"
fi
vm good-two
t_wait_jp "the next VM on the same Provider becomes Ready after the crash" \
    vm/good-two "$ready" '^True$'
t_wait_jp "the VM made before the crash is still Ready" vm/good-one "$ready" '^True$'
t_run "delete the VMs" k delete vm good-one good-two crash-me --wait=true --timeout=60s

# The host goes away and comes back on the same address: the manager's
# transport reports it unreachable meanwhile, then reconnects by itself.
t_stop "$CRASHY"
vm while-down
t_wait_jp "with the provider host down, a VM says the host cannot be reached" \
    vm/while-down '{.status.conditions[?(@.type=="Ready")].message}' \
    'Cannot reach the provider host'
first_log=$CRASHY_LOG
if start_host CRASHY --plugin "$CRASHY_SO" --listen "tcp:127.0.0.1:$CRASHY_PORT" \
    --cert "$C/server.crt" --key "$C/server.key" --ca "$C/ca/ca.crt"; then
    t_wait_jp "after the host is back, the same VM becomes Ready (reconnected)" \
        vm/while-down "$ready" '^True$' 90
fi
t_run "delete the last VM" k delete vm while-down --wait=true --timeout=60s

# Nothing the suite produced shows the private key.
key_line=$(sed -n 2p "$C/client.key")
if grep -qF -- "$key_line" "$MGR_LOG" "$CRASHY_LOG" "$first_log"; then
    t_fail "no log line carries the client's private key" "found in a log"
else
    t_pass "no log line carries the client's private key"
fi
for log in "$MGR_LOG" "$CRASHY_LOG" "$first_log"; do
    if grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$log"; then
        t_fail "no sanitizer report in $(basename "$log")" "" "$(grep -A5 Sanitizer "$log")"
    fi
done
t_done
