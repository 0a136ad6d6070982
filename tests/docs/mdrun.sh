# shellcheck shell=bash disable=SC2016 # the page script is written with literal $
# tests/docs/mdrun.sh - runs the ```sh blocks of a markdown page, for
# tests/docs (every page) and tests/readme (the new-user walk).  Source it
# after tests/lib.sh.  The convention it enforces is written in
# tests/docs/CONVENTION.md; in short:
#
#   ```sh                                  runs (one bash per page, in order,
#                                          set -eo pipefail)
#   <!-- docs-test: skip: REASON -->       before a ```sh fence: SKIP REASON
#   <!-- docs-test: no-sanitizer: REASON --> before a ```sh fence: runs in
#                                          the release pass only (valgrind)
#   <!-- docs-test: walk -->               before a ```sh fence: only
#                                          tests/readme runs it
#   <!-- docs-test: expect -->             before a ```text fence right after
#                                          a ```sh block: lines its output
#                                          must contain, in order
#   <!-- docs-test: file NAME -->          before any other fence: the page
#                                          writes the block to NAME (relative
#                                          to its cwd then) when it gets there

# md_extract MD DIR: splits MD into DIR/N.sh (the Nth ```sh block),
# DIR/N.meta ("LINE<tab>MODE<tab>REASON", MODE run|skip|walk, or file
# with the file's name as REASON for a block to write to a file),
# DIR/N.expect (its expected output, when marked) and DIR/errors (one
# "LINE message" per misuse of a marker).
md_extract() {
    local md=$1 dir=$2
    mkdir -p "$dir"
    : >"$dir/errors"
    awk -v out="$dir" '
        function err(msg) { printf "%d %s\n", NR, msg >> (out "/errors") }
        function marker(s) { return s ~ /^<!-- *docs-test:/ }
        infence {
            if ($0 ~ /^```[ \t]*$/) { infence = 0; prev = $0; next }
            if (dest != "") print > dest
            next
        }
        /^```/ {
            info = substr($0, 4); sub(/[ \t]+$/, "", info)
            infence = 1; dest = ""
            if (info == "sh") {
                n++; mode = "run"; reason = ""
                if (prev ~ /^<!-- docs-test: skip: .*[^ ] *-->$/) {
                    mode = "skip"; reason = prev
                    sub(/^<!-- docs-test: skip: */, "", reason)
                    sub(/ *-->$/, "", reason)
                } else if (prev ~ /^<!-- docs-test: no-sanitizer: .*[^ ] *-->$/) {
                    mode = "nosan"; reason = prev
                    sub(/^<!-- docs-test: no-sanitizer: */, "", reason)
                    sub(/ *-->$/, "", reason)
                } else if (prev ~ /^<!-- docs-test: walk -->$/) {
                    mode = "walk"
                } else if (marker(prev)) {
                    err("unknown marker before a ```sh block: " prev)
                }
                dest = out "/" n ".sh"; printf "" > dest
                printf "%d\t%s\t%s\n", NR, mode, reason > (out "/" n ".meta")
                lastsh = n
            } else if (prev ~ /^<!-- docs-test: file [^ ]+ -->$/) {
                # A block the page writes to a file when it gets there.
                n++; path = prev
                sub(/^<!-- docs-test: file /, "", path); sub(/ -->$/, "", path)
                dest = out "/" n ".sh"; printf "" > dest
                printf "%d\tfile\t%s\n", NR, path > (out "/" n ".meta")
                lastsh = 0
            } else if (prev ~ /^<!-- docs-test: expect -->$/) {
                if (info != "text")
                    err("an expect marker must precede a ```text block")
                else if (!lastsh)
                    err("an expect block must follow a ```sh block with no other block between")
                else
                    { dest = out "/" lastsh ".expect"; printf "" > dest }
                lastsh = 0
            } else {
                if (marker(prev))
                    err("docs-test marker before a ```" info " block: " prev)
                lastsh = 0
            }
            prev = $0
            next
        }
        {
            if (marker(prev) && $0 !~ /^```/)
                err("a docs-test marker must be right before a fence: " prev)
            prev = $0
        }
        END { if (infence) err("unclosed fence at the end of the file") }
    ' "$md"
}

# md_blocks DIR: the block numbers extracted into DIR, in order.
md_blocks() {
    local f
    for f in "$1"/*.meta; do
        [ -e "$f" ] || continue
        basename "$f" .meta
    done | sort -n
}

# md_field DIR N FIELD(1 line, 2 mode, 3 reason)
md_field() { cut -f "$3" "$1/$2.meta"; }

# md_expect_check EXPECTFILE OUTFILE: succeeds when every non-blank line
# of EXPECTFILE occurs, in order, inside a line of OUTFILE (whitespace
# runs squeezed to one space).  Prints the first line not found.
md_expect_check() {
    awk '
        function norm(s) { gsub(/[ \t\r]+/, " ", s); sub(/^ /, "", s); sub(/ $/, "", s); return s }
        FNR == NR { s = norm($0); if (s != "") want[++n] = s; next }
        k <= n && index(norm($0), want[k]) { k++ }
        BEGIN { k = 1 }
        END { if (k <= n) { print want[k]; exit 1 } }
    ' "$1" "$2"
}

# md_run NAME MD DIR MODES WORK SECS: runs the blocks extracted into DIR
# whose mode is one of MODES (space-separated), with the file blocks,
# in one bash process, cwd WORK, with the caller's
# environment; reports one check per block (and per expect block), named
# "NAME block N (line L)".  Blocks of other modes are not reported here.
# The process runs in a session of its own, killed (whole group) when it
# ends or after SECS.  Returns 1 when a block failed.  When the array
# MD_ENV is set, the page runs under `env -i "${MD_ENV[@]}"` instead of
# the caller's environment.
md_run() {
    local name=$1 dir=$3 mode=$4 work=$5 secs=$6
    local script=$dir/page.sh marks=$dir/marks n line body pid end failed=0
    local ran=()
    {
        echo 'set -eo pipefail'
        echo 'exec </dev/null'
        # A user types sudo; the harness is root or the block needs none.
        echo 'sudo() { while [ "${1#-}" != "$1" ]; do shift; done; env -- "$@"; }'
        echo 'export -f sudo'
        printf 'cd %q\n' "$work"
        echo "trap 'printf \"error %s %s\\n\" \"\$?\" \"\$BASH_COMMAND\" >&9' ERR"
        for n in $(md_blocks "$dir"); do
            if [ "$(md_field "$dir" "$n" 2)" = file ]; then
                printf "cat >%q <<'__VRT_DOCS_EOF__'\n" "$(md_field "$dir" "$n" 3)"
                cat "$dir/$n.sh"
                echo '__VRT_DOCS_EOF__'
                continue
            fi
            case " $mode " in *" $(md_field "$dir" "$n" 2) "*) ;; *) continue ;; esac
            ran+=("$n")
            printf 'printf "begin %d %%s\\n" "$SECONDS" >&9\n' "$n"
            echo '{'
            cat "$dir/$n.sh"
            printf '\n} >%q 2>&1\n' "$dir/$n.out"
            printf 'printf "end %d %%s\\n" "$SECONDS" >&9\n' "$n"
        done
    } >"$script"
    [ "${#ran[@]}" -gt 0 ] || return 0
    : >"$marks"
    local envp=()
    [ -n "${MD_ENV+x}" ] && envp=(env -i "${MD_ENV[@]}")
    setsid "${envp[@]}" bash "$script" 9>>"$marks" </dev/null >"$dir/page.out" 2>&1 &
    pid=$!
    end=$((SECONDS + secs))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
        sleep 0.2
    done
    local timed_out=0
    kill -0 "$pid" 2>/dev/null && timed_out=1
    # The page's background processes (and the page itself on a timeout).
    kill -TERM -- "-$pid" 2>/dev/null
    for _ in $(seq 30); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    local first_fail=''
    for n in "${ran[@]}"; do
        line=$(md_field "$dir" "$n" 1)
        body="$name block $n (line $line)"
        if [ "${T_VERBOSE:-0}" = 1 ] && [ -f "$dir/$n.out" ]; then
            sed 's/^/    > /' "$dir/$n.out"
        fi
        if grep -q "^end $n " "$marks"; then
            t_pass "$body"
            t_note "$body took $(( $(sed -n "s/^end $n //p" "$marks") - $(sed -n "s/^begin $n //p" "$marks") )) s"
            if [ -f "$dir/$n.expect" ]; then
                local miss
                if miss=$(md_expect_check "$dir/$n.expect" "$dir/$n.out"); then
                    t_pass "$body prints what the page shows"
                else
                    t_fail "$body prints what the page shows" \
                        "no output line contains \"$miss\" (in order)" \
                        "$(tail -n 30 "$dir/$n.out")"
                    failed=1
                fi
            fi
        elif grep -q "^begin $n " "$marks"; then
            local why
            why=$(sed -n 's/^error \([0-9]*\) \(.*\)/exit status \1 from: \2/p' "$marks" | tail -n 1)
            [ "$timed_out" = 1 ] && why="timed out after ${secs}s"
            [ -n "$why" ] || why="the shell ended in this block"
            t_fail "$body" "$why" \
                "$(cat "$dir/$n.sh"; echo '--- output:'; tail -n 40 "$dir/$n.out" 2>/dev/null; tail -n 5 "$dir/page.out")"
            first_fail=$n
            failed=1
        else
            t_fail "$body" "not reached: block $first_fail failed"
            failed=1
        fi
    done
    return "$failed"
}

# md_snapshot DEST: copies the files git would commit from the working
# tree of $VRT_SRC_DIR (tracked files plus untracked ones not ignored, as
# they are on disk now) into DEST, so a page runs against exactly what a
# fresh clone of this tree would hold once committed.
md_snapshot() {
    local dest=$1
    mkdir -p "$dest"
    (cd "$VRT_SRC_DIR" &&
        { git ls-files -z --cached; git ls-files -z --others --exclude-standard; } |
        while IFS= read -r -d '' f; do
            [ -e "$f" ] || [ -L "$f" ] || continue   # deleted, not yet committed
            printf '%s\0' "$f"
        done | sort -zu | xargs -0 cp -p -P --parents -t "$dest")
}
