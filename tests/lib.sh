# shellcheck shell=bash
# tests/lib.sh - helpers for shell test suites.  Source it from bash:
#
#     #!/usr/bin/env bash
#     set -u
#     . "$(dirname "$0")/../lib.sh"      # adjust to where the suite lives
#     t_need qemu-img                     # skips the whole suite if absent
#     t_run "vcts loads mock" vcts ...    # PASS when the command exits 0
#     t_run_fails "refuses x" vcts ...    # PASS when it exits non-zero
#     t_grep "says why" "world-writable" vcts ...
#     t_done                              # closing line, exit status
#
# What tests/run.sh expects of a suite (tests/*/run.sh or tests/abi/*.sh):
#   - one line per check: "PASS name", "FAIL name: reason" or
#     "SKIP name: reason";
#   - last, the closing line "N passed, N failed, N skipped" (t_done);
#   - exit status 0 only when nothing failed.
# A suite that exits non-zero without reporting a failure is counted as
# crashed.  A skipped check is never counted as passed.  Debian packages a
# suite needs (a backend) go in tests/DIR/debian-packages.txt, one a line;
# tools/install-deps.sh installs them, so CI has them: prefer that to t_need.
#
# Environment (set by tests/run.sh, which `make check` calls):
#   BUILD                absolute build directory
#   VRT_SRC_DIR          the repository root
#   VRT_PLUGIN_DIR       $BUILD/plugins      (real providers)
#   VRT_TEST_PLUGIN_DIR  $BUILD/tests/plugins (deliberately broken ones)
#   PATH                 starts with $BUILD/bin
#   SANITIZER            as given to make, possibly empty
#   T_VERBOSE=1          print the output of every command, not only failures
#
# Background processes started with t_bg are killed by PID at exit, and
# t_mktemp directories are removed, whatever way the suite ends.  A suite
# that sets its own EXIT trap must call t_cleanup_ from it.

T_PASSED=0
T_FAILED=0
T_SKIPPED=0
T_PIDS=()
T_TMPDIRS=()
T_MOUNTS=()
T_SECRETS_TMP=$(mktemp "${TMPDIR:-/tmp}/vrt-secrets.XXXXXX")
T_TMPDIRS+=("$T_SECRETS_TMP")
T_OUT=""   # output of the last t_run* command

# A command that does not exist (a helper called before it is defined, a
# tool missing from debian-packages.txt) is a failure of the suite, even
# where its exit status is ignored.  bash runs this handler in a subshell,
# so the names go through a file that t_done reads.
T_NOTFOUND=$(mktemp "${TMPDIR:-/tmp}/vrt-notfound.XXXXXX")
T_TMPDIRS+=("$T_NOTFOUND")
command_not_found_handle() {
    printf '%s\n' "$1" >>"$T_NOTFOUND"
    echo "bash: $1: command not found (counted as a failure by t_done)" >&2
    return 127
}

# The repository root, when the suite runs outside tests/run.sh.
: "${VRT_SRC_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${BUILD:=$VRT_SRC_DIR/build}"
: "${VRT_PLUGIN_DIR:=$BUILD/plugins}"
: "${VRT_TEST_PLUGIN_DIR:=$BUILD/tests/plugins}"
export VRT_SRC_DIR BUILD VRT_PLUGIN_DIR VRT_TEST_PLUGIN_DIR

t_pass() { T_PASSED=$((T_PASSED + 1)); echo "PASS $1"; }

# t_fail NAME REASON [OUTPUT]: OUTPUT, when given, is shown indented.
t_fail() {
    T_FAILED=$((T_FAILED + 1))
    echo "FAIL $1: ${2:-failed}"
    if [ -n "${3:-}" ]; then
        # The start and the end: a command's error is usually its last line.
        printf '%s\n' "$3" | awk '{ l[NR] = $0 }
            END { for (i = 1; i <= NR; i++)
                      if (NR <= 60 || i <= 20 || i > NR - 40) print l[i]
                      else if (i == 21) print "... " NR - 60 " lines ..." }' |
            sed 's/^/    | /'
    fi
}

t_skip() { T_SKIPPED=$((T_SKIPPED + 1)); echo "SKIP $1: ${2:-skipped}"; }

t_note() { echo "# $*"; }

# --- credentials -------------------------------------------------------------
# t_secret VALUE...: credentials the suite hands to the system under test.
# None may show up anywhere the suite can see: t_no_secret_seen (call it
# while the manager still runs) checks the logs of every t_bg process and,
# through the API, every Event and every status of our kinds; t_done runs
# it once more at the end; tests/run.sh greps the suite's own output.  The
# values are never printed, only where they were found.
T_SECRETS=()
t_secret() {
    local v
    for v in "$@"; do
        if [ ${#v} -lt 8 ]; then
            echo "t_secret: a credential shorter than 8 characters cannot be" \
                 "searched for without false alarms; use a longer one" >&2
            continue
        fi
        T_SECRETS+=("$v")
        if [ -n "${VRT_SECRETS_FILE:-}" ]; then
            printf '%s\n' "$v" >>"$VRT_SECRETS_FILE"
        fi
    done
}

t_no_secret_seen() {
    local label=${1:-} f hits='' kc=${KUBECONFIG:-}
    [ ${#T_SECRETS[@]} -gt 0 ] || return 0
    printf '%s\n' "${T_SECRETS[@]}" >"$T_SECRETS_TMP"
    for f in "${T_TMPDIRS[@]}"; do
        [ "$f" != "$T_SECRETS_TMP" ] && [ -f "$f" ] &&
            grep -qF -f "$T_SECRETS_TMP" "$f" && hits+=" log:$f"
    done
    if [ -n "$kc" ] && [ -s "$kc" ]; then
        kubectl --request-timeout=5s get events.events.k8s.io -A -o json \
            2>/dev/null | grep -qF -f "$T_SECRETS_TMP" && hits+=" Events"
        kubectl --request-timeout=5s get \
            virtualmachines,providers,vmmigrations,vmsnapshots,vmclones,vmsets,vmimages,vmclasses,vmnetworkattachments \
            -A -o 'jsonpath={..status}' 2>/dev/null |
            grep -qF -f "$T_SECRETS_TMP" && hits+=" status"
    fi
    : >"$T_SECRETS_TMP"
    if [ -z "$hits" ]; then
        t_pass "no test credential in any log, Event or status${label:+ ($label)}"
    else
        t_fail "no test credential in any log, Event or status${label:+ ($label)}" \
            "a registered credential appears in:$hits"
    fi
}

# Prints the closing line and exits with the suite's status.
t_done() {
    if [ ${#T_SECRETS[@]} -gt 0 ]; then
        t_no_secret_seen "at the end"
    fi
    if [ -s "$T_NOTFOUND" ]; then
        t_fail "every command the suite runs exists" \
            "not found: $(sort -u "$T_NOTFOUND" | tr '\n' ' ')"
    fi
    echo "$T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
    [ "$T_FAILED" -eq 0 ] && exit 0
    exit 1
}

# t_need CMD...: when a command is missing, skips the whole suite (one SKIP
# line naming what is missing) and exits 0.  Use it for optional backends
# only; a tool the project installs itself should fail, not skip.
t_need() {
    local missing=()
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || missing+=("$c")
    done
    if [ "${#missing[@]}" -ne 0 ]; then
        t_skip "$(basename "$0")" "needs ${missing[*]}"
        t_done
    fi
}

# Runs a command with stdin closed; stores its combined output in T_OUT
# and returns its exit status.
t_exec() {
    local rc=0
    T_OUT=$("$@" </dev/null 2>&1) || rc=$?
    if [ "${T_VERBOSE:-0}" = 1 ]; then
        printf '%s\n' "$T_OUT" | sed 's/^/    > /'
    fi
    return "$rc"
}

# t_run NAME CMD...: PASS when CMD exits 0.
t_run() {
    local name=$1 rc=0
    shift
    t_exec "$@" || rc=$?
    if [ "$rc" -eq 0 ]; then
        t_pass "$name"
    else
        t_fail "$name" "exit status $rc from: $*" "$T_OUT"
    fi
}

# t_run_fails NAME CMD...: PASS when CMD exits non-zero but was not killed
# by a signal (a crash is never the expected failure).
t_run_fails() {
    local name=$1 rc=0
    shift
    t_exec "$@" || rc=$?
    if [ "$rc" -eq 0 ]; then
        t_fail "$name" "expected a failure, got exit status 0 from: $*" "$T_OUT"
    elif [ "$rc" -gt 128 ]; then
        t_fail "$name" "killed by signal $((rc - 128)) instead of failing cleanly: $*" "$T_OUT"
    else
        t_pass "$name"
    fi
}

# t_grep NAME REGEX CMD...: PASS when CMD's output matches the extended
# regular expression REGEX, whatever CMD's exit status (check that
# separately when it matters).
t_grep() {
    local name=$1 re=$2
    shift 2
    t_exec "$@" || true
    if printf '%s\n' "$T_OUT" | grep -Eq -- "$re"; then
        t_pass "$name"
    else
        t_fail "$name" "output does not match /$re/: $*" "$T_OUT"
    fi
}

# t_eq NAME EXPECTED ACTUAL
t_eq() {
    if [ "$2" = "$3" ]; then
        t_pass "$1"
    else
        t_fail "$1" "expected \"$2\", got \"$3\""
    fi
}

# t_mktemp VAR: makes a new directory, removed at exit, and stores its path
# in VAR.  (Not `d=$(...)`: a subshell could not register it for removal.)
t_mktemp() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/vrt-test.XXXXXX")
    T_TMPDIRS+=("$d")
    printf -v "$1" '%s' "$d"
}

# t_bg VAR CMD...: starts CMD in the background with stdin closed and its
# output in a log file; stores its PID in VAR (and the log path in
# VAR_LOG).  Killed at exit.
t_bg() {
    local var=$1 log
    shift
    log=$(mktemp "${TMPDIR:-/tmp}/vrt-bg.XXXXXX")
    "$@" </dev/null >"$log" 2>&1 &
    local pid=$!
    T_PIDS+=("$pid")
    printf -v "$var" '%s' "$pid"
    printf -v "${var}_LOG" '%s' "$log"
    T_TMPDIRS+=("$log")
}

# t_stop PID: TERM, then KILL after 5 s; waits for it.
t_stop() {
    local pid=$1 _
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# t_wait_port PORT [SECONDS]: waits until 127.0.0.1:PORT accepts a TCP
# connection.  Returns 1 on timeout.
t_wait_port() {
    local port=$1 secs=${2:-10} _
    for _ in $(seq $((secs * 10))); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# t_free_port: prints a loopback TCP port nobody listens on right now,
# below the kernel's ephemeral range (an outgoing connection of another
# test could take a port in that range before we listen on it).
t_free_port() {
    local p _ lo=32768
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    [ "$lo" -gt 12000 ] 2>/dev/null || lo=32768
    for _ in $(seq 100); do
        p=$((10000 + RANDOM % (lo - 10000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# t_start_manager VAR DATADIR [ARGS...]: starts a standalone manager (the
# mock and other built plugins, a port the kernel picks) in the background
# like t_bg, waits for its "serving on port N; kubeconfig: PATH" line, and
# exports KUBECONFIG.  Sets VAR (pid), VAR_LOG and VAR_PORT.  Returns 1
# (after a FAIL) if it does not come up.
t_start_manager() {
    local var=$1 data=$2 port='' _ pid log
    shift 2
    t_bg "$var" "$BUILD/bin/virtrigaud-manager" --standalone --data-dir "$data" \
        --port 0 --sync normal --plugin-dir "$VRT_PLUGIN_DIR" "$@"
    pid=${!var}
    log=$(eval echo "\$${var}_LOG")
    for _ in $(seq 200); do
        port=$(sed -n 's/.*serving on port \([0-9][0-9]*\); kubeconfig: .*/\1/p' \
            "$log" | head -n 1)
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ] || [ ! -s "$data/kubeconfig" ]; then
        t_fail "the manager starts" "no \"serving on port N\" line" "$(cat "$log")"
        return 1
    fi
    printf -v "${var}_PORT" '%s' "$port"
    export KUBECONFIG=$data/kubeconfig
    [ -s "$data/token" ] && t_secret "$(cat "$data/token")"
    [ -s "$data/token-readonly" ] && t_secret "$(cat "$data/token-readonly")"
    return 0
}

# --- kubectl helpers for the suites that drive a standalone manager -------
# (a suite may define its own after sourcing this file)

# k ARGS...: kubectl with a request timeout.
k() { kubectl --request-timeout=20s "$@"; }

# jp OBJ JSONPATH: one field of OBJ (e.g. vm/web), "" when absent.
jp() { k get "$1" -o "jsonpath=$2" 2>/dev/null; }

# t_wait_jp NAME OBJ JSONPATH REGEX [SECS]: PASS once the field matches the
# extended regular expression REGEX within SECS (default $WAIT, else 30);
# FAIL with the object's status and the manager log's end ($MGR_LOG).
t_wait_jp() {
    local name=$1 obj=$2 path=$3 re=$4 secs=${5:-${WAIT:-30}} v=''
    local end=$((SECONDS + secs))
    while :; do
        v=$(jp "$obj" "$path")
        if printf '%s\n' "$v" | grep -Eq -- "$re"; then
            t_pass "$name"
            return 0
        fi
        [ "$SECONDS" -ge "$end" ] && break
        sleep 0.3
    done
    t_fail "$name" "$obj $path is \"$v\", wanted /$re/ within ${secs}s" \
        "$(k get "$obj" -o yaml 2>&1 | sed -n '/^status:/,$p' | head -n 40
           [ -n "${MGR_LOG:-}" ] && tail -n 8 "$MGR_LOG")"
    return 1
}

# evreasons NAME: the reasons of the events.k8s.io Events regarding NAME,
# oldest first, space-separated.
evreasons() {
    k get events.events.k8s.io -o \
        "jsonpath={range .items[?(@.regarding.name==\"$1\")]}{.reason} {end}" 2>/dev/null
}

t_cleanup_() {
    local pid d
    for pid in "${T_PIDS[@]}"; do
        t_stop "$pid"
    done
    # Mounts a suite made (T_MOUNTS+=(DIR)) go before their directories.
    for d in "${T_MOUNTS[@]}"; do
        umount "$d" 2>/dev/null || umount -l "$d" 2>/dev/null
    done
    for d in "${T_TMPDIRS[@]}"; do
        rm -rf -- "$d"
    done
}
trap t_cleanup_ EXIT
