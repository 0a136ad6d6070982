#!/usr/bin/env bash
# bench/controller.sh - how fast does the controller bring VirtualMachines
# to Ready, and what does the manager cost in memory while it does?
#
#   bench/controller.sh                   build into build-bench/, run, print
#   BUILD=/abs/build bench/controller.sh  reuse a build that has
#                                         bin/virtrigaud-manager and
#                                         plugins/mock.so (else make them)
#   KEEP=1 bench/controller.sh            keep the work directory
#
# Environment: VMS=10000 (VirtualMachines per run), SYNCS="normal full"
# (one run per --sync value), WORKERS=4 (--workers), CLIENTS=16 (parallel
# POST connections), TIME_LIMIT=120 (seconds a run may take to all-Ready),
# PERF=1 (record a perf profile of the first run into the work directory
# and print its top symbols; PERF_OPTS overrides the record options,
# default "-F 499 --call-graph dwarf,16384").
#
# Each run: a fresh manager (standalone, mock plugin, zero latency, sync
# calls) on 127.0.0.1 with a port the kernel picks; a Provider, VMClass and
# VMImage; then VMS VirtualMachines POSTed in bulk by curl --parallel over
# CLIENTS kept-alive TLS connections.  A watch (bench node script) stamps
# each VM when its ADDED event arrives and when it first shows Ready=True;
# the difference is the apply-to-Ready latency.  Throughput is VMS divided
# by the time from the first POST to the last Ready.  The manager's VmRSS
# is sampled every 200 ms (peak reported) and VmHWM read at the end.
# Needs curl and node (Node.js, which crds/ and tests/crds need anyway).
# Exit status: 0 when every run reached all-Ready without failed requests.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VMS=${VMS:-10000}
SYNCS=${SYNCS:-normal full}
WORKERS=${WORKERS:-4}
CLIENTS=${CLIENTS:-16}
TIME_LIMIT=${TIME_LIMIT:-120}
PERF=${PERF:-0}

say() { printf '%s\n' "$*" >&2; }
die() { say "controller.sh: $*"; exit 1; }
command -v curl >/dev/null || die "curl is needed."
command -v node >/dev/null || die "node (Node.js) is needed."

# --- build -----------------------------------------------------------------
if [ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/virtrigaud-manager" ] &&
    [ -e "$BUILD/plugins/mock.so" ]; then
    say "Reusing $BUILD."
else
    BUILD=${BUILD:-$ROOT/build-bench}
    case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
    say "Building the manager and the mock plugin into $BUILD ..."
    mlog=$(mktemp "${TMPDIR:-/tmp}/ctlbench-make.XXXXXX")
    if ! make -C "$ROOT" -j"$(nproc 2>/dev/null || echo 2)" BUILD="$BUILD" \
        "$BUILD/bin/virtrigaud-manager" "$BUILD/plugins/mock.so" \
        >"$mlog" 2>&1; then
        tail -n 30 "$mlog" >&2
        rm -f "$mlog"
        die "make failed."
    fi
    rm -f "$mlog"
fi
MANAGER=$BUILD/bin/virtrigaud-manager

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ctlbench.XXXXXX")
SERVER_PID=
SAMPLER_PID=
WATCH_PID=
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
    stop_pid "$WATCH_PID"
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

# --- the watcher (node) --------------------------------------------------------
# argv: base token-file cacert N time-limit-s out.json
# Prints {"ready":K,"added":A,"firstAddedMs":..,"lastReadyMs":..,"p50":..,
# "p99":..,"max":..} (ms, from the watcher's clock) when all N are Ready
# or the time limit passes.
cat >"$WORK/watch.mjs" <<'EOF'
import https from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
const [base, tokenFile, cacert, nText, limitText, outFile] =
    process.argv.slice(2);
const n = Number(nText);
const token = readFileSync(tokenFile, 'utf8').trim();
const added = new Map(), ready = new Map();
const t0 = performance.now();
let buf = '', done = false;
const finish = () => {
    if (done) return;
    done = true;
    const lat = [];
    for (const [name, t] of ready)
        if (added.has(name)) lat.push(t - added.get(name));
    lat.sort((a, b) => a - b);
    const pct = (p) => lat.length ? lat[Math.max(0, Math.ceil(p * lat.length) - 1)] : 0;
    writeFileSync(outFile, JSON.stringify({
        ready: ready.size, added: added.size,
        firstAddedMs: Math.min(...added.values()) - t0,
        lastReadyMs: ready.size ? Math.max(...ready.values()) - t0 : 0,
        p50: pct(0.5), p99: pct(0.99), max: pct(1),
    }));
    process.exit(0);
};
setTimeout(finish, Number(limitText) * 1000);
const onEvent = (ev) => {
    const o = ev.object || {}, name = o.metadata && o.metadata.name;
    if (!name) return;
    const now = performance.now();
    if (!added.has(name)) added.set(name, now);
    const conds = (o.status && o.status.conditions) || [];
    if (!ready.has(name) &&
        conds.some((c) => c.type === 'Ready' && c.status === 'True'))
        ready.set(name, now);
    if (ready.size >= n) finish();
};
const url = new URL(base +
    '/apis/infra.virtrigaud.io/v1beta1/namespaces/default/virtualmachines' +
    '?watch=1&allowWatchBookmarks=false');
const req = https.request(url, {
    ca: readFileSync(cacert), headers: { Authorization: `Bearer ${token}` },
}, (res) => {
    if (res.statusCode !== 200) {
        console.error(`watch answered ${res.statusCode}`);
        process.exit(2);
    }
    writeFileSync(outFile + '.started', '1');
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line.trim()) onEvent(JSON.parse(line));
        }
    });
    res.on('end', () => { console.error('watch ended early'); finish(); });
});
req.on('error', (e) => { console.error(`watch: ${e.message}`); process.exit(2); });
req.end();
EOF

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

    # The bulk: one curl, CLIENTS parallel kept-alive connections.
    local i cfg=$dir/curl.cfg
    for ((i = 1; i <= VMS; i++)); do
        printf 'url = "%s/virtualmachines"\n' "$api"
        printf 'header = "Authorization: Bearer %s"\n' "$token"
        printf 'header = "Content-Type: application/json"\n'
        printf 'cacert = "%s"\n' "$dir/data/tls.crt"
        printf 'output = "/dev/null"\n'
        printf 'write-out = "%%{http_code}\\n"\n'
        printf 'data = "{\\"apiVersion\\":\\"infra.virtrigaud.io/v1beta1\\",\\"kind\\":\\"VirtualMachine\\",\\"metadata\\":{\\"name\\":\\"vm-%06d\\"},\\"spec\\":{\\"providerRef\\":{\\"name\\":\\"bench\\"},\\"classRef\\":{\\"name\\":\\"small\\"},\\"imageRef\\":{\\"name\\":\\"img\\"}}}"\n' "$i"
        [ "$i" -lt "$VMS" ] && printf 'next\n'
    done >"$cfg"

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

    node "$WORK/watch.mjs" "$base" "$dir/data/token" "$dir/data/tls.crt" \
        "$VMS" "$TIME_LIMIT" "$dir/watch.json" 2>"$dir/watch.err" &
    WATCH_PID=$!
    for _ in $(seq 1 100); do
        [ -e "$dir/watch.json.started" ] && break
        sleep 0.05
    done
    [ -e "$dir/watch.json.started" ] || { cat "$dir/watch.err" >&2; die "the watch did not start."; }

    local perf_pid=''
    if [ "$PERF" = 1 ] && [ "$sync" = "${SYNCS%% *}" ] && command -v perf >/dev/null; then
        # shellcheck disable=SC2086  # PERF_OPTS is several words
        perf record ${PERF_OPTS:--F 499 --call-graph dwarf,16384} \
            -p "$SERVER_PID" -o "$dir/perf.data" \
            >"$dir/perf.log" 2>&1 &
        perf_pid=$!
    fi

    local t0 t1 t2 codes bad
    t0=$(date +%s.%N)
    curl -sS --parallel --parallel-immediate --parallel-max "$CLIENTS" \
        -K "$cfg" >"$dir/codes" 2>"$dir/curl.err" || true
    t1=$(date +%s.%N)
    codes=$(sort "$dir/codes" | uniq -c | awk '{printf "%s x%s ", $2, $1}')
    bad=$(( VMS - $(grep -c '^201$' "$dir/codes" || true) ))
    wait "$WATCH_PID" || true
    WATCH_PID=
    t2=$(date +%s.%N)
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

    [ -s "$dir/watch.json" ] || { cat "$dir/watch.err" >&2; die "the watch wrote nothing."; }
    local w ready p50 p99 max last first
    w=$(cat "$dir/watch.json")
    ready=$(node -e 'const w=JSON.parse(process.argv[1]);console.log(w.ready)' "$w")
    read -r p50 p99 max first last < <(node -e '
        const w = JSON.parse(process.argv[1]);
        console.log([w.p50, w.p99, w.max, w.firstAddedMs, w.lastReadyMs]
            .map((x) => (x / 1000).toFixed(2)).join(" "));' "$w")
    local post_s total_s rate post_rate
    post_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    # First POST to last Ready: the watcher started just before t0.
    total_s=$(awk -v l="$last" -v f="$first" 'BEGIN {printf "%.2f", l - f}')
    rate=$(awk -v n="$ready" -v s="$total_s" 'BEGIN {printf "%.0f", (s > 0 ? n / s : 0)}')
    post_rate=$(awk -v n="$VMS" -v s="$post_s" 'BEGIN {printf "%.0f", (s > 0 ? n / s : 0)}')
    printf '| %-6s | %6s | %5s/%-5s | %7s | %6s | %11s | %5s | %5s | %5s | %12s | %12s | %9s |\n' \
        "$sync" "$VMS" "$ready" "$VMS" "$post_s" "$post_rate" "$total_s" "$rate" \
        "$p50" "$p99" "$((idle_rss / 1024))" "$(($(cat "$dir/rss.peak" 2>/dev/null || echo 0) / 1024))" \
        "$((hwm / 1024))"
    say "  $sync: POST status counts: $codes; after all-Ready RSS $((rss_now / 1024)) MiB; $(awk -v a="$t0" -v b="$t2" 'BEGIN {printf "%.1f", b - a}') s wall"
    if [ "$bad" != 0 ] || [ "$ready" != "$VMS" ]; then
        FAILED=1
        say "  $sync: $bad POSTs failed, $ready of $VMS Ready within ${TIME_LIMIT}s."
        grep -m 5 -E 'ERROR|WARN' "$dir/manager.log" >&2 || true
    fi
    if [ -e "$dir/perf.data" ]; then
        say "  perf profile of the $sync run (self time, top 25):"
        perf report -i "$dir/perf.data" --no-children --sort symbol \
            --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -n 25 >&2 || true
    fi
}

say "controller.sh: $VMS VMs per run, sync modes: $SYNCS, workers $WORKERS, $CLIENTS POST connections, $(nproc) CPUs."
printf '| sync   | VMs    | Ready       | POST s  | POST/s | all Ready s | VMs/s | p50 s | p99 s | RSS idle MiB | RSS peak MiB | VmHWM MiB |\n'
printf '|--------|--------|-------------|---------|--------|-------------|-------|-------|-------|--------------|--------------|-----------|\n'
for s in $SYNCS; do
    run "$s"
done
exit "$FAILED"
