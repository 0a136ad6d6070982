#!/usr/bin/env bash
# bench/apiserver.sh - how fast is the standalone API server, and what does
# it cost in memory, at 10,000 objects?
#
#   bench/apiserver.sh                 build into build-bench/, run, print
#   BUILD=/abs/build bench/apiserver.sh    reuse a build that has
#                                      bin/virtrigaud-manager (else make it)
#   KEEP=1 bench/apiserver.sh          keep the work directory (stores, logs)
#
# Sizes (environment): OBJECTS=10000 CLIENTS=8 LIST_RUNS=20 GETS=2000
# WATCHERS=50 WATCH_WRITES=30 NORMAL_CREATES=2000 SQLITE_FULL=2000
# SQLITE_NORMAL=10000 TIME_LIMIT=60 (seconds per phase).
#
# What it does, in under a minute on 2 cores:
#   1. before each create phase, its raw SQLite baseline: one transaction
#      per object (object row + event row, the store's tables and pragmas),
#      same synchronous setting, from as many threads as the phase has
#      clients, sharing one connection behind a mutex as the store's
#      writers do;
#   2. server A, --sync full (the default): VmRSS idle; OBJECTS/2 creates
#      from one client, OBJECTS/2 from CLIENTS clients; VmRSS loaded;
#      GET /healthz, GET one object, LIST the whole collection; VmRSS;
#      the same reads as bare SQLite queries on A's store file; watch
#      fan-out with 1 and then WATCHERS watchers; VmRSS after the watches;
#   3. server B, --sync normal: the same two create phases, smaller,
#      so that the price of durability shows.
# Every server listens on 127.0.0.1 on a port the kernel picks, and is
# stopped by its PID.  The load generator is bench/apiserver_load.c (libcurl,
# one kept-alive TLS connection per client thread), built here.
# Exit status: 0 when every phase ran without a failed request.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OBJECTS=${OBJECTS:-10000}
CLIENTS=${CLIENTS:-8}
LIST_RUNS=${LIST_RUNS:-20}
GETS=${GETS:-2000}
WATCHERS=${WATCHERS:-50}
WATCH_WRITES=${WATCH_WRITES:-30}
NORMAL_CREATES=${NORMAL_CREATES:-2000}
SQLITE_FULL=${SQLITE_FULL:-2000}
SQLITE_NORMAL=${SQLITE_NORMAL:-10000}
TIME_LIMIT=${TIME_LIMIT:-60}
T0=$SECONDS

say() { printf '%s\n' "$*" >&2; }
die() { say "apiserver.sh: $*"; exit 1; }

# --- build -----------------------------------------------------------------
if [ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/virtrigaud-manager" ]; then
    say "Reusing $BUILD/bin/virtrigaud-manager."
else
    BUILD=${BUILD:-$ROOT/build-bench}
    case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
    say "Building virtrigaud-manager into $BUILD ..."
    mlog=$(mktemp "${TMPDIR:-/tmp}/apibench-make.XXXXXX")
    if ! make -C "$ROOT" -j"$(nproc 2>/dev/null || echo 2)" BUILD="$BUILD" \
        "$BUILD/bin/virtrigaud-manager" >"$mlog" 2>&1; then
        tail -n 30 "$mlog" >&2
        rm -f "$mlog"
        die "make failed."
    fi
    rm -f "$mlog"
fi
MANAGER=$BUILD/bin/virtrigaud-manager
LOAD=$BUILD/bench/apiserver_load
if [ ! -x "$LOAD" ] || [ "$ROOT/bench/apiserver_load.c" -nt "$LOAD" ]; then
    mkdir -p "$BUILD/bench"
    # shellcheck disable=SC2046  # pkg-config prints several words
    cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow -Wformat=2 \
        -Wstrict-prototypes -Wmissing-prototypes -Werror \
        $(pkg-config --cflags libcurl sqlite3) \
        "$ROOT/bench/apiserver_load.c" -o "$LOAD" \
        $(pkg-config --libs libcurl sqlite3) -lpthread -lm ||
        die "cannot build bench/apiserver_load.c (libcurl4-openssl-dev and libsqlite3-dev are needed)."
fi

# --- servers ----------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/apibench.XXXXXX")
SERVER_PID=
FAILED=0
# stop_pid PID: SIGTERM, up to 10 s to exit, then SIGKILL.  A signal sent
# in the instant after the fork can be lost before the manager installs
# its handler, so TERM is repeated while waiting.
stop_pid() {
    local i
    for i in $(seq 1 100); do
        kill -0 "$1" 2>/dev/null || break
        [ $((i % 10)) = 1 ] && kill -TERM "$1" 2>/dev/null
        sleep 0.1
    done
    if kill -0 "$1" 2>/dev/null; then
        say "apiserver.sh: PID $1 ignored SIGTERM for 10 s; killing it."
        kill -KILL "$1" 2>/dev/null || true
    fi
    wait "$1" 2>/dev/null || true
}

cleanup() {
    if [ -n "$SERVER_PID" ]; then
        stop_pid "$SERVER_PID"
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        say "Work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME ARGS...: sets SERVER_PID, DATA, ARGS (for the load tool).
start_server() {
    local name=$1 port=""
    shift
    DATA=$WORK/$name
    : >"$WORK/$name.log"
    "$MANAGER" --standalone --no-controller --data-dir "$DATA" --port 0 "$@" \
        >"$WORK/$name.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        port=$(sed -n 's/^virtrigaud-manager: serving on port \([0-9]*\);.*/\1/p' \
            "$WORK/$name.log")
        [ -n "$port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        cat "$WORK/$name.log" >&2
        die "server $name did not start."
    fi
    ARGS=(--base "https://127.0.0.1:$port" --token-file "$DATA/token"
          --cacert "$DATA/tls.crt" --time-limit "$TIME_LIMIT")
}

stop_server() {
    stop_pid "$SERVER_PID"
    SERVER_PID=
}

# mem LABEL: "VmRSS VmHWM" of the server, in MiB.
declare -A MEM
mem() {
    MEM[$1]=$(awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2}
                   END {printf "%.1f %.1f", r / 1024, h / 1024}' \
        "/proc/$SERVER_PID/status")
}

# run KEY MODE ARGS...: runs the load tool, keeps its key=value line in
# R[KEY]; a failed phase is reported and remembered, and the run goes on.
declare -A R
run() {
    local key=$1 out
    shift
    say "  $key ..."
    if out=$("$LOAD" "$@" 2>"$WORK/$key.err"); then
        :
    else
        FAILED=1
        say "  FAILED: $key"
        sed 's/^/    | /' "$WORK/$key.err" >&2
    fi
    R[$key]=" $out"
}

# v KEY FIELD: one value from a phase's line ("-" when absent).
v() {
    local x
    x=$(sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"${R[$1]:-}")
    printf '%s' "${x:--}"
}

# ratio A B: A/B to two significant places, "-" when either is missing.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "-" || b == "-" || b + 0 == 0) { print "-"; exit }
        r = a / b; printf (r >= 10 ? "%.0fx" : r >= 1 ? "%.1fx" : "%.2fx"), r }'
}

HALF=$((OBJECTS / 2))
LOAD_AVG=$(cut -d' ' -f1-3 /proc/loadavg)
say "Work directory: $WORK"

# raw SYNC THREADS COUNT: the raw SQLite baseline for a create phase, run
# just before it: this VM's fsync cost drifts from minute to minute, and
# a baseline taken at another time would compare different disks.
raw() {
    run "sq_$1$2" sqlite-insert --db "$WORK/raw.db" --sync "$1" --clients "$2" \
        --count "$3" --time-limit "$TIME_LIMIT"
    rm -f "$WORK"/raw.db*
}

say "Server A (--sync full):"
start_server a --sync full
sleep 0.5
mem idle
raw full 1 "$SQLITE_FULL"
run c_seq create "${ARGS[@]}" --prefix bench --start 0 --count "$HALF"
raw full "$CLIENTS" "$SQLITE_FULL"
run c_par create "${ARGS[@]}" --prefix bench --start "$HALF" \
    --count "$((OBJECTS - HALF))" --clients "$CLIENTS"
mem loaded
run health health "${ARGS[@]}" --count "$GETS"
run get get "${ARGS[@]}" --prefix bench --name-count "$OBJECTS" --count "$GETS"
run list list "${ARGS[@]}" --runs "$LIST_RUNS"
mem listed
# The same rows straight from A's store file, while A idles (WAL lets a
# second process read beside it).
run sq_get sqlite-get --db "$DATA/store.db" --prefix bench \
    --name-count "$OBJECTS" --count "$GETS" --time-limit "$TIME_LIMIT"
run sq_list sqlite-list --db "$DATA/store.db" --runs "$LIST_RUNS" \
    --time-limit "$TIME_LIMIT"
run w1 watch "${ARGS[@]}" --prefix watch1 --watchers 1 --writes "$WATCH_WRITES"
run wn watch "${ARGS[@]}" --prefix watchn --watchers "$WATCHERS" \
    --writes "$WATCH_WRITES"
mem watched
stop_server

say "Server B (--sync normal):"
start_server b --sync normal
raw normal 1 "$SQLITE_NORMAL"
run n_seq create "${ARGS[@]}" --prefix bench --start 0 --count "$NORMAL_CREATES"
raw normal "$CLIENTS" "$SQLITE_NORMAL"
run n_par create "${ARGS[@]}" --prefix bench --start "$NORMAL_CREATES" \
    --count "$NORMAL_CREATES" --clients "$CLIENTS"
stop_server

# --- the table ---------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
fs=$(df -PT "$WORK" | awk 'NR == 2 {print $2}')
printf '\nvirtrigaud standalone API server, %s objects (VMClass, ~%s bytes as stored)\n' \
    "$OBJECTS" "$(v c_seq bytes_per_req)"
printf '%s; %s, %s cores; Linux %s; store on %s; HTTPS + bearer token on 127.0.0.1\n' \
    "$(date -u +%Y-%m-%d)" "${cpu:-unknown CPU}" "$(nproc)" "$(uname -r)" "$fs"
printf 'load average before / after: %s / %s (anything well above 0 means other work shared the cores)\n\n' \
    "$LOAD_AVG" "$(cut -d' ' -f1-3 /proc/loadavg)"

row() { printf '  %-44s %9s %9s %9s  %s\n' "$@"; }
printf 'Creates (POST -> 201)                          rate/s   p50 ms    p99 ms  compared with\n'
row "1 client,  --sync full    (0 -> $HALF)" "$(v c_seq rate)" "$(v c_seq p50_ms)" \
    "$(v c_seq p99_ms)" "$(ratio "$(v c_seq rate)" "$(v sq_full1 rate)") of raw SQLite FULL, 1 thread"
row "$CLIENTS clients, --sync full    ($HALF -> $OBJECTS)" "$(v c_par rate)" \
    "$(v c_par p50_ms)" "$(v c_par p99_ms)" \
    "$(ratio "$(v c_par rate)" "$(v "sq_full$CLIENTS" rate)") of raw SQLite FULL, $CLIENTS threads"
row "1 client,  --sync normal  (0 -> $NORMAL_CREATES)" "$(v n_seq rate)" \
    "$(v n_seq p50_ms)" "$(v n_seq p99_ms)" \
    "$(ratio "$(v n_seq rate)" "$(v sq_normal1 rate)") of raw SQLite NORMAL, 1 thread"
row "$CLIENTS clients, --sync normal  ($NORMAL_CREATES -> $((2 * NORMAL_CREATES)))" \
    "$(v n_par rate)" "$(v n_par p50_ms)" "$(v n_par p99_ms)" \
    "$(ratio "$(v n_par rate)" "$(v "sq_normal$CLIENTS" rate)") of raw SQLite NORMAL, $CLIENTS threads"
for c in 1 "$CLIENTS"; do
    for m in full normal; do
        M=${m^^}
        row "raw SQLite $M, $c thread(s), $(v "sq_$m$c" ok) txns" \
            "$(v "sq_$m$c" rate)" "$(v "sq_$m$c" p50_ms)" "$(v "sq_$m$c" p99_ms)" \
            "$([ "$m" = full ] && echo "the durability floor")"
    done
done
printf '  server --sync full / --sync normal: %s (1 client), %s (%s clients)\n\n' \
    "$(ratio "$(v c_seq rate)" "$(v n_seq rate)")" \
    "$(ratio "$(v c_par rate)" "$(v n_par rate)")" "$CLIENTS"

printf 'Reads at %s objects                          p50 ms    p99 ms    max ms  compared with\n' \
    "$OBJECTS"
row "GET /healthz (HTTP + TLS, no store)  x$(v health ok)" "$(v health p50_ms)" \
    "$(v health p99_ms)" "$(v health max_ms)" "the floor of a request"
row "GET one object (random)              x$(v get ok)" "$(v get p50_ms)" \
    "$(v get p99_ms)" "$(v get max_ms)" \
    "$(ratio "$(v get p50_ms)" "$(v health p50_ms)") of /healthz, $(ratio "$(v get p50_ms)" "$(v sq_get p50_ms)") of SQLite"
row "  SQLite: SELECT one row             x$(v sq_get ok)" "$(v sq_get p50_ms)" \
    "$(v sq_get p99_ms)" "$(v sq_get max_ms)" ""
row "LIST $(v list items) items, $(awk -v b="$(v list bytes_per_req)" 'BEGIN {if (b == "-") print "-"; else printf "%.1f MB", b / 1e6}')       x$(v list ok)" \
    "$(v list p50_ms)" "$(v list p99_ms)" "$(v list max_ms)" \
    "$(ratio "$(v list p50_ms)" "$(v sq_list p50_ms)") of SQLite"
row "  SQLite: SELECT the same $(v sq_list rows) rows  x$(v sq_list ok)" \
    "$(v sq_list p50_ms)" "$(v sq_list p99_ms)" "$(v sq_list max_ms)" ""
echo

printf 'Watch fan-out: a create, then its ADDED event at every watcher (one write in flight)\n'
printf '                                     from the 201, ms       from the POST, ms     compared with\n'
printf '                                   p50     p99     max     p50     p99     max\n'
wrow() {
    printf '  %-28s %7s %7s %7s %7s %7s %7s  %s\n' "$1" "$(v "$2" p50_ms)" \
        "$(v "$2" p99_ms)" "$(v "$2" max_ms)" "$(v "$2" from_send_p50_ms)" \
        "$(v "$2" from_send_p99_ms)" "$(v "$2" from_send_max_ms)" "$3"
}
wrow "1 watcher,  $(v w1 events) events" w1 \
    "before the 201: $(v w1 before_201); missing: $(v w1 missing)"
wrow "$WATCHERS watchers, $(v wn events) events" wn \
    "$(ratio "$(v wn from_send_p50_ms)" "$(v w1 from_send_p50_ms)") of 1 watcher (from the POST); before the 201: $(v wn before_201); missing: $(v wn missing)"
printf '  (an event that reaches a watcher before its 201 reaches the writer counts as 0 from the 201)\n\n'

printf 'Server memory, MiB                             VmRSS     VmHWM\n'
for k in idle loaded listed watched; do
    case $k in
        idle) l="idle (fresh store)" ;;
        loaded) l="after $OBJECTS creates" ;;
        listed) l="after the GET and LIST runs" ;;
        watched) l="after the watch tests (watches closed)" ;;
    esac
    # shellcheck disable=SC2086  # two words: RSS and HWM
    printf '  %-44s %9s %9s\n' "$l" ${MEM[$k]:-- -}
done
printf '\nTotal %ds.' "$((SECONDS - T0))"
if [ "$FAILED" = 1 ]; then
    printf ' Some phases FAILED (above); their figures are missing or partial.\n'
    exit 1
fi
printf '\n'
