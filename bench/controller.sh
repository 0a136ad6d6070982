#!/usr/bin/env bash
# bench/controller.sh - how fast does the controller bring VirtualMachines
# to Ready, how fast does it carry out power / reconfigure / delete /
# create operations, and what does the manager cost in memory meanwhile?
# The measurement is virtrigaud-loadgen's (docs/loadgen.md); this script
# starts a fresh manager per run, feeds it, and samples its memory.
#
#   bench/controller.sh                   build into build-bench/, run, print
#   BUILD=/abs/build bench/controller.sh  reuse a build that has
#                                         bin/virtrigaud-manager,
#                                         bin/virtrigaud-loadgen and
#                                         plugins/mock.so (else make them)
#   KEEP=1 bench/controller.sh            keep the work directory
#
# Environment: VMS=10000 (VirtualMachines per run), SYNCS="normal full"
# (one run per --sync value), WORKERS=4 (--workers), CLIENTS=16 (loadgen
# --concurrency: requests in flight while creating and deleting, operations
# in flight during the mix), TIME_LIMIT=120 (loadgen --timeout: seconds
# each VM may take from apply to Ready, and each operation to be seen),
# DURATION=20 (seconds of mixed operations after all are Ready; 0 skips),
# MIX (loadgen --mix, default its own: create=10,power=50,reconfigure=30,
# delete=10), PERF=1 (record a perf profile of the first run into the work
# directory and print its top symbols; PERF_OPTS overrides the record
# options, default "-F 499 --call-graph dwarf,16384").
#
# Each run: a fresh manager (standalone, mock plugin, zero latency, sync
# calls) on 127.0.0.1 with a port the kernel picks; a Provider, VMClass and
# VMImage; then virtrigaud-loadgen: VMS VirtualMachines created over
# CLIENTS kept-alive TLS connections, one watch stamping each VM's first
# Ready=True (apply-to-Ready latency from the moment its POST was sent);
# then DURATION seconds of mixed operations; then every VM deleted.  VMs/s
# is the Ready VMs divided by the time from the first POST to the last
# Ready.  The manager's VmRSS is sampled every 200 ms (peak reported) and
# VmHWM read at the end.  Needs curl and node (Node.js, which crds/ and
# tests/crds need anyway) to read loadgen's JSON.
# Exit status: 0 when every run's loadgen exited 0 (all Ready, every
# operation observed, nothing left).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VMS=${VMS:-10000}
SYNCS=${SYNCS:-normal full}
WORKERS=${WORKERS:-4}
CLIENTS=${CLIENTS:-16}
TIME_LIMIT=${TIME_LIMIT:-120}
DURATION=${DURATION:-20}
MIX=${MIX:-}
PERF=${PERF:-0}

say() { printf '%s\n' "$*" >&2; }
die() { say "controller.sh: $*"; exit 1; }
command -v curl >/dev/null || die "curl is needed."
command -v node >/dev/null || die "node (Node.js) is needed."

# --- build -----------------------------------------------------------------
if [ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/virtrigaud-manager" ] &&
    [ -x "$BUILD/bin/virtrigaud-loadgen" ] && [ -e "$BUILD/plugins/mock.so" ]; then
    say "Reusing $BUILD."
else
    BUILD=${BUILD:-$ROOT/build-bench}
    case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
    say "Building the manager, the load generator and the mock plugin into $BUILD ..."
    mlog=$(mktemp "${TMPDIR:-/tmp}/ctlbench-make.XXXXXX")
    if ! make -C "$ROOT" -j"$(nproc 2>/dev/null || echo 2)" BUILD="$BUILD" \
        "$BUILD/bin/virtrigaud-manager" "$BUILD/bin/virtrigaud-loadgen" \
        "$BUILD/plugins/mock.so" \
        >"$mlog" 2>&1; then
        tail -n 30 "$mlog" >&2
        rm -f "$mlog"
        die "make failed."
    fi
    rm -f "$mlog"
fi
MANAGER=$BUILD/bin/virtrigaud-manager
LOADGEN=$BUILD/bin/virtrigaud-loadgen

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ctlbench.XXXXXX")
SERVER_PID=
SAMPLER_PID=
LOADGEN_PID=
FAILED=0

stop_pid() {
    local i
    [ -n "$1" ] || return 0
    for i in $(seq 1 100); do
        kill -0 "$1" 2>/dev/null || break
        [ $((i % 10)) = 1 ] && kill -TERM "$1" 2>/dev/null
        sleep 0.1
    done
    if kill -0 "$1" 2>/dev/null; then
        say "controller.sh: PID $1 ignored SIGTERM for 10 s; killing it."
        kill -KILL "$1" 2>/dev/null || true
    fi
    wait "$1" 2>/dev/null || true
}

cleanup() {
    stop_pid "$LOADGEN_PID"
    stop_pid "$SAMPLER_PID"
    stop_pid "$SERVER_PID"
    if [ "${KEEP:-0}" = 1 ]; then
        say "Work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- one run -------------------------------------------------------------------
# run SYNC: prints one table row; sets FAILED on problems.
run() {
    local sync=$1 dir=$WORK/$1 port='' base token
    mkdir -p "$dir"
    "$MANAGER" --standalone --data-dir "$dir/data" --port 0 --sync "$sync" \
        --workers "$WORKERS" --plugin-dir "$BUILD/plugins" \
        >"$dir/manager.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        port=$(sed -n 's/.*serving on port \([0-9][0-9]*\);.*/\1/p' \
            "$dir/manager.log" | head -n 1)
        [ -n "$port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$dir/manager.log" >&2; die "manager did not start."; }
    base=https://127.0.0.1:$port
    token=$(cat "$dir/data/token")
    local api=$base/apis/infra.virtrigaud.io/v1beta1/namespaces/default
    local hdr=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json'
               --cacert "$dir/data/tls.crt")
    post() { # post PLURAL BODY
        local code
        code=$(curl -sS -o "$dir/post.out" -w '%{http_code}' "${hdr[@]}" \
            -d "$2" "$api/$1")
        [ "$code" = 201 ] || { cat "$dir/post.out" >&2; die "POST $1 answered $code."; }
    }
    post providers '{"apiVersion":"infra.virtrigaud.io/v1beta1","kind":"Provider","metadata":{"name":"bench"},"spec":{"type":"mock","endpoint":"mock://bench"}}'
    post vmclasses '{"apiVersion":"infra.virtrigaud.io/v1beta1","kind":"VMClass","metadata":{"name":"small"},"spec":{"cpu":1,"memory":"512Mi"}}'
    post vmimages '{"apiVersion":"infra.virtrigaud.io/v1beta1","kind":"VMImage","metadata":{"name":"img"},"spec":{"source":{"http":{"url":"http://images.invalid/d.qcow2"}}}}'

    (   peak=0
        while kill -0 "$SERVER_PID" 2>/dev/null; do
            r=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' \
                "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
            [ "${r:-0}" -gt "$peak" ] && { peak=$r; echo "$peak" >"$dir/rss.peak"; }
            sleep 0.2
        done ) &
    SAMPLER_PID=$!
    local idle_rss
    idle_rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SERVER_PID/status")

    local perf_pid=''
    if [ "$PERF" = 1 ] && [ "$sync" = "${SYNCS%% *}" ] && command -v perf >/dev/null; then
        # shellcheck disable=SC2086  # PERF_OPTS is several words
        perf record ${PERF_OPTS:--F 499 --call-graph dwarf,16384} \
            -p "$SERVER_PID" -o "$dir/perf.data" \
            >"$dir/perf.log" 2>&1 &
        perf_pid=$!
    fi

    local t0 t1 lg_rc=0
    t0=$(date +%s.%N)
    "$LOADGEN" --kubeconfig "$dir/data/kubeconfig" --vms "$VMS" --class small \
        --provider bench --image img --concurrency "$CLIENTS" \
        --timeout "$TIME_LIMIT" --duration "$DURATION" ${MIX:+--mix "$MIX"} \
        --prefix bench -o json >"$dir/loadgen.json" 2>"$dir/loadgen.err" &
    LOADGEN_PID=$!
    wait "$LOADGEN_PID" || lg_rc=$?
    LOADGEN_PID=
    t1=$(date +%s.%N)
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        local st=0
        wait "$SERVER_PID" || st=$?
        say "  $sync: THE MANAGER DIED (exit status $st) during the run; its log ends:"
        tail -n 15 "$dir/manager.log" >&2
        SERVER_PID=
        stop_pid "$SAMPLER_PID"
        SAMPLER_PID=
        FAILED=1
        printf '| %-6s | %6s | manager died (exit status %s) |\n' "$sync" "$VMS" "$st"
        return 0
    fi
    local hwm rss_now
    hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
    rss_now=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
    stop_pid "$SERVER_PID"
    SERVER_PID=
    stop_pid "$SAMPLER_PID"
    SAMPLER_PID=

    if [ ! -s "$dir/loadgen.json" ]; then
        cat "$dir/loadgen.err" >&2
        FAILED=1
        printf '| %-6s | %6s | loadgen failed (exit status %s), no report |\n' "$sync" "$VMS" "$lg_rc"
        return 0
    fi
    # One line of figures from loadgen's JSON (latencies of the creates in
    # s, of the mix in ms).
    local row
    row=$(node -e '
        const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const c = j.create, m = j.mix.all, d = j.cleanup || {count: 0, seconds: 0, opsPerSecond: 0};
        const s = (x) => (x / 1000).toFixed(2);
        console.log([c.count, c.requestsSeconds.toFixed(2),
            (c.requestsSeconds > 0 ? c.count / c.requestsSeconds : 0).toFixed(0),
            c.seconds.toFixed(2), c.opsPerSecond.toFixed(0),
            s(c.latencyMs.p50), s(c.latencyMs.p90), s(c.latencyMs.p99), s(c.latencyMs.max),
            m.count, m.opsPerSecond.toFixed(0), m.latencyMs.p50.toFixed(0),
            m.latencyMs.p99.toFixed(0), d.seconds.toFixed(2), d.opsPerSecond.toFixed(0),
            j.errors.count, j.errors.conflictRetries].join(" "));' "$dir/loadgen.json")
    local ready post_s post_rate all_s rate p50 p90 p99 max mix_n mix_rate mix_p50 mix_p99
    local del_s del_rate errors retries
    read -r ready post_s post_rate all_s rate p50 p90 p99 max mix_n mix_rate mix_p50 \
        mix_p99 del_s del_rate errors retries <<<"$row"
    printf '| %-6s | %6s | %5s/%-5s | %6s | %6s | %11s | %5s | %5s | %5s | %5s | %5s | %7s | %5s | %6s | %6s | %12s | %5s | %12s | %12s | %9s |\n' \
        "$sync" "$VMS" "$ready" "$VMS" "$post_s" "$post_rate" "$all_s" "$rate" \
        "$p50" "$p90" "$p99" "$max" "$mix_n" "$mix_rate" "$mix_p50" "$mix_p99" \
        "$del_s" "$del_rate" "$((idle_rss / 1024))" \
        "$(($(cat "$dir/rss.peak" 2>/dev/null || echo 0) / 1024))" "$((hwm / 1024))"
    say "  $sync: loadgen exit status $lg_rc, $errors errors, $retries writes retried after 409; after the run RSS $((rss_now / 1024)) MiB; $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s wall"
    if [ "$lg_rc" != 0 ] || [ "$ready" != "$VMS" ]; then
        FAILED=1
        say "  $sync: $ready of $VMS Ready; loadgen's first errors:"
        node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
            for (const e of j.errors.first) console.error("    " + e);' "$dir/loadgen.json" || true
        grep -m 5 -E 'ERROR|WARN' "$dir/manager.log" >&2 || true
    fi
    if [ -e "$dir/perf.data" ]; then
        say "  perf profile of the $sync run (self time, top 25):"
        perf report -i "$dir/perf.data" --no-children --sort symbol \
            --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -n 25 >&2 || true
    fi
}

say "controller.sh: $VMS VMs per run, sync modes: $SYNCS, workers $WORKERS, loadgen concurrency $CLIENTS, mix ${DURATION}s, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)."
# create: POST s = until the server accepted every create; all Ready s =
# first POST to last Ready; p50..max = apply-to-Ready per VM.  mix: every
# operation kind together (loadgen's JSON in the work directory has each).
printf '| sync   | VMs    | Ready       | POST s | POST/s | all Ready s | VMs/s | p50 s | p90 s | p99 s | max s | mix ops | ops/s | p50 ms | p99 ms | delete all s | del/s | RSS idle MiB | RSS peak MiB | VmHWM MiB |\n'
printf '|--------|--------|-------------|--------|--------|-------------|-------|-------|-------|-------|-------|---------|-------|--------|--------|--------------|-------|--------------|--------------|-----------|\n'
for s in $SYNCS; do
    run "$s"
done
exit "$FAILED"
