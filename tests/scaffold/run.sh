#!/usr/bin/env bash
# tests/scaffold/run.sh - vrtg-provider, as a plugin author meets it:
# `make install` virtrigaud into a temporary prefix, `vrtg-provider init`
# a plugin there, build it untouched against the installed headers alone,
# and `vrtg-provider verify` it with zero failures.  Prints the time from
# init to a passing vcts.  Also: bad names and non-empty directories are
# refused, verify reports failures and load errors with the right exit
# status, and --help works on every subcommand.
set -u
. "$(dirname "$0")/../lib.sh"

t_need make cc pkg-config

t_mktemp TMP
PREFIX=$TMP/prefix
WORK=$TMP/work
mkdir -p "$WORK"

# --- install into a temporary prefix ------------------------------------
if t_exec make -C "$VRT_SRC_DIR" BUILD="$BUILD" SANITIZER="${SANITIZER:-}" \
        PREFIX="$PREFIX" install; then
    t_pass "make install PREFIX=<temp> succeeds"
else
    t_fail "make install PREFIX=<temp> succeeds" "make install failed" "$T_OUT"
    t_done
fi
VP=$PREFIX/bin/vrtg-provider
for f in bin/vrtg-provider bin/vcts include/virtrigaud/provider.h; do
    if [ -e "$PREFIX/$f" ]; then
        t_pass "install puts $f in the prefix"
    else
        t_fail "install puts $f in the prefix" "$PREFIX/$f is missing"
    fi
done

# --- help on every subcommand --------------------------------------------
t_grep "vrtg-provider --help lists init and verify" \
    '^  init NAME.*' "$VP" --help
t_grep "vrtg-provider init --help shows its usage" \
    '^Usage: vrtg-provider init NAME' "$VP" init --help
t_grep "vrtg-provider verify --help shows its usage" \
    '^Usage: vrtg-provider verify PLUGIN.so' "$VP" verify --help
t_run_fails "vrtg-provider with an unknown command fails" "$VP" frobnicate
rc=0; t_exec "$VP" init || rc=$?
t_eq "init without NAME is a usage error (exit 2)" 2 "$rc"

# --- init to a passing vcts, timed ----------------------------------------
cd "$WORK" || exit 1
start=$(date +%s%N)
if t_exec "$VP" init demo; then
    t_pass "init demo succeeds"
else
    t_fail "init demo succeeds" "init failed" "$T_OUT"
fi
for f in demo.c Makefile vcts.json README.md; do
    if [ -s "demo/$f" ]; then
        t_pass "init writes demo/$f"
    else
        t_fail "init writes demo/$f" "missing or empty"
    fi
done
t_grep "the Makefile points at the installed prefix" \
    "^VIRTRIGAUD_PREFIX \?= $PREFIX\$" cat demo/Makefile

# Built untouched: no VIRTRIGAUD_PREFIX on the command line, and a PATH
# without the build tree, so nothing but the installed files is used.
CLEANPATH=/usr/local/bin:/usr/bin:/bin
if t_exec env PATH="$CLEANPATH" make -C demo; then
    t_pass "make -C demo builds the scaffold untouched"
else
    t_fail "make -C demo builds the scaffold untouched" "make failed" "$T_OUT"
fi
if t_exec env PATH="$CLEANPATH" "$VP" verify demo/demo.so; then
    end=$(date +%s%N)
    t_pass "vrtg-provider verify demo/demo.so exits 0"
    ms=$(( (end - start) / 1000000 ))
    t_note "time from init to a passing vcts: $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
else
    t_fail "vrtg-provider verify demo/demo.so exits 0" "verify failed" "$T_OUT"
fi
report=$T_OUT
if printf '%s\n' "$report" | grep -Eq '^[1-9][0-9]* passed, 0 failed, [0-9]+ skipped$'; then
    t_pass "verify's report has passes and zero failures"
else
    t_fail "verify's report has passes and zero failures" "no such closing line" "$report"
fi
if printf '%s\n' "$report" | grep -Eq '^LIST_VMS +[1-9][0-9]* +0 +0 +ok$' &&
   printf '%s\n' "$report" | grep -Eq '^SNAPSHOTS +0 +0 +[1-9][0-9]* +skipped$'; then
    t_pass "verify groups verdicts by capability (LIST_VMS ok, SNAPSHOTS skipped)"
else
    t_fail "verify groups verdicts by capability (LIST_VMS ok, SNAPSHOTS skipped)" \
        "rows missing" "$report"
fi
t_run "verify takes a bare file name in the current directory" \
    bash -c 'cd demo && exec "$0" verify demo.so' "$VP"
t_run "make -C demo check (vcts with vcts.json) passes" \
    env PATH="$CLEANPATH" make -C demo check
# The report and vcts agree: the same counts as vcts's own closing line.
vcts_line=$(PATH="$CLEANPATH" "$PREFIX/bin/vcts" demo/demo.so 2>/dev/null | tail -n 1)
t_eq "verify's totals are vcts's totals" "$vcts_line" \
    "$(printf '%s\n' "$report" | grep -E '^[0-9]+ passed, ' | tail -n 1)"

t_run "make -C demo install PLUGINDIR=<temp> installs demo.so" \
    make -C demo install PLUGINDIR="$TMP/plugins"
if [ -x "$TMP/plugins/demo.so" ]; then
    t_pass "demo.so lands in PLUGINDIR"
else
    t_fail "demo.so lands in PLUGINDIR" "$TMP/plugins/demo.so missing"
fi

# The scaffold leaks nothing and touches no freed memory (a starting point
# should not teach mistakes).  valgrind cannot run a sanitizer build.
if [ -n "${SANITIZER:-}" ]; then
    t_skip "scaffold is clean under valgrind" "SANITIZER build"
elif ! command -v valgrind >/dev/null 2>&1; then
    t_fail "scaffold is clean under valgrind" "valgrind is not installed (tools/install-deps.sh)"
else
    t_run "scaffold is clean under valgrind (vcts, all tests)" \
        valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=9 "$PREFIX/bin/vcts" --config demo/vcts.json demo/demo.so
fi

# --- verify reports a failure, and a load error -----------------------------
mkdir broken
sed -e 's/^    if (flags != 0)$/    if (0)/' demo/demo.c >broken/broken.c
sed -i 's/"demo"/"broken"/' broken/broken.c
if cmp -s demo/demo.c broken/broken.c; then
    t_fail "a deliberately broken copy differs from the scaffold" "sed changed nothing"
fi
read -r -a cj_cflags <<<"$(pkg-config --cflags libcjson)"
read -r -a cj_libs <<<"$(pkg-config --libs libcjson)"
if t_exec cc -std=c11 -D_GNU_SOURCE -shared -fPIC -fvisibility=hidden \
        -I"$PREFIX/include" "${cj_cflags[@]}" \
        -o broken/broken.so broken/broken.c "${cj_libs[@]}" -lpthread; then
    chmod go-w broken/broken.so
    rc=0; t_exec "$VP" verify broken/broken.so || rc=$?
    t_eq "verify of a plugin that accepts unknown flags exits 1" 1 "$rc"
    if printf '%s\n' "$T_OUT" | grep -Eq '^  FAIL flags-rejected \[\(always tested\)\]: .+' &&
       printf '%s\n' "$T_OUT" | grep -q '^Result: FAIL'; then
        t_pass "verify names the failed test, its group and the reason"
    else
        t_fail "verify names the failed test, its group and the reason" "not in the report" "$T_OUT"
    fi
else
    t_fail "the deliberately broken copy builds" "cc failed" "$T_OUT"
fi
printf 'not an ELF file\n' >notaplugin.so
rc=0; t_exec "$VP" verify notaplugin.so || rc=$?
t_eq "verify of a file that is no plugin exits 2" 2 "$rc"
rc=0; t_exec "$VP" verify missing.so || rc=$?
t_eq "verify of a missing file exits 2" 2 "$rc"
t_grep "verify of a missing file says so" 'cannot read the plugin "missing.so"' \
    "$VP" verify missing.so
rc=0; t_exec "$VP" verify demo/demo.so --vcts /nonexistent/vcts || rc=$?
t_eq "verify with a vcts that does not exist exits 2" 2 "$rc"
cp "$VP" "$TMP/vp-alone"
rc=0; t_exec env PATH=/nonexistent "$TMP/vp-alone" verify demo/demo.so || rc=$?
t_eq "verify without vcts beside it or on PATH exits 2" 2 "$rc"
t_grep "and says where it looked" 'cannot find vcts next to vrtg-provider or on PATH' \
    env PATH=/nonexistent "$TMP/vp-alone" verify demo/demo.so

# --- names and directories that init refuses -------------------------------
# check_name NAME REGEX LABEL: init NAME exits 1, says REGEX, writes nothing.
check_name() {
    local name=$1 re=$2 label=$3 rc=0
    t_exec "$VP" init "$name" --dir "refused-$label" || rc=$?
    if [ "$rc" -eq 1 ] && printf '%s\n' "$T_OUT" | grep -Eq -- "$re" &&
       [ ! -e "refused-$label" ]; then
        t_pass "init refuses a name with $label"
    else
        t_fail "init refuses a name with $label" \
            "exit $rc, want 1 with /$re/ and no directory" "$T_OUT"
    fi
}
check_name Demo 'has an uppercase letter' "an uppercase letter"
check_name "$(printf 'a%.0s' $(seq 32))" 'is 32 characters long; the most is 31' "32 characters"
check_name ../evil 'contains a path character' "a path (../evil)"
check_name a/b 'contains a path character' "a slash"
check_name 'sp ace' "contains the character ' '" "a space"
check_name 1abc 'must start with a letter' "a leading digit"
rc=0; t_exec "$VP" init "" || rc=$?
t_eq "init refuses an empty name (exit 1)" 1 "$rc"
t_run "init accepts a 31-character name" "$VP" init "$(printf 'b%.0s' $(seq 31))" --dir longname

mkdir full && echo keep >full/notes.txt
rc=0; t_exec "$VP" init demo --dir full || rc=$?
if [ "$rc" -eq 1 ] && printf '%s\n' "$T_OUT" | grep -q 'already exists and is not empty' &&
   [ "$(ls full)" = notes.txt ] && [ "$(cat full/notes.txt)" = keep ]; then
    t_pass "init into a non-empty directory is refused and touches nothing"
else
    t_fail "init into a non-empty directory is refused and touches nothing" \
        "exit $rc; files: $(ls full | tr '\n' ' ')" "$T_OUT"
fi
rc=0; t_exec "$VP" init demo || rc=$?
t_eq "init demo a second time (demo/ now has files) exits 1" 1 "$rc"
touch afile
t_run_fails "init into a path that is a file is refused" "$VP" init demo --dir afile
mkdir empty
t_run "init into an existing empty directory works" "$VP" init demo --dir empty
if [ -s empty/demo.c ]; then t_pass "... and writes there"; else t_fail "... and writes there" "empty/demo.c missing"; fi

t_done
