#!/usr/bin/env bash
# The documentation is real.  Three parts:
#
#  1. Manifests: every ```yaml block of README.md and docs/**/*.md that is a
#     whole virtrigaud object (apiVersion infra.virtrigaud.io/...) is sent
#     to a standalone manager with `kubectl apply --dry-run=server`, so the
#     API server validates it against the CRDs; every examples/*.yaml is
#     applied for real.
#  2. Commands: every ```sh block of README.md and docs/**/*.md runs, page
#     by page, under the convention of tests/docs/CONVENTION.md (one bash
#     per page, in order, set -eo pipefail, a fresh copy of the tree as
#     cwd, $BUILD/bin first in PATH, a scratch HOME, KUBECONFIG naming a
#     standalone manager of the page's own).  Blocks marked "walk" are the
#     README's new-user walk, run by tests/readme; blocks marked "skip" are
#     reported as skipped with their reason.
#  3. Man pages: one per binary of tools/ (tools/gen-man.sh --list), made
#     from --help; each renders without warnings and lists every option.
#
#   BUILD=/tmp/build bash tests/docs/run.sh            (or via tests/run.sh)
#   BUILD=/tmp/build bash tests/docs/run.sh docs/x.md  only part 2, only x.md
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/mdrun.sh"

export PATH=$BUILD/bin:$PATH   # as tests/run.sh does, when run alone
t_need kubectl
t_need node
t_mktemp D
cd "$VRT_SRC_DIR" || exit 2

# Seconds each page may take in all (several minutes of commands on a page
# would make it a test suite of its own).
PAGE_SECS=${PAGE_SECS:-180}
[ -n "${SANITIZER:-}" ] && PAGE_SECS=$((PAGE_SECS * 2))

if [ $# -gt 0 ]; then
    PAGES=("$@")
    ONLY_PAGES=1
else
    mapfile -t PAGES < <(printf '%s\n' README.md; find docs -name '*.md' | sort)
    ONLY_PAGES=0
fi

# --- 1. manifests -----------------------------------------------------------
if [ "$ONLY_PAGES" = 0 ]; then
    t_start_manager MGR "$D/data" --no-controller || t_done
    t_pass "manager starts"
    mkdir -p "$D/blocks"
    for md in "${PAGES[@]}"; do
        awk -v out="$D/blocks/$(echo "$md" | tr '/' '_')" '
            /^```yaml/ { n++; f = out "-" n ".yaml"; on = 1; next }
            /^```/ { on = 0; next }
            on { print > f }' "$md"
    done
    n=0
    for f in "$D"/blocks/*.yaml; do
        [ -e "$f" ] || continue
        grep -q '^apiVersion: infra\.virtrigaud\.io/' "$f" || continue
        n=$((n + 1))
        name=$(basename "$f" .yaml | sed 's/_/\//g; s/-\([0-9]*\)$/ yaml block \1/')
        t_run "$name is a valid object (kubectl apply --dry-run=server)" \
            kubectl --request-timeout=20s apply --dry-run=server -f "$f"
    done
    t_eq "the docs hold at least one example per kind (10 kinds)" 1 "$(( n >= 10 ))"
    # The examples/ directory, applied for real (not dry run): every file
    # creates its objects.
    for f in examples/*.yaml; do
        t_run "examples/$(basename "$f") applies" kubectl --request-timeout=20s apply -f "$f"
    done
    t_stop "$MGR"
fi

# --- 2. commands ----------------------------------------------------------------
# One snapshot of the tree (what a commit of it would hold), copied per page.
md_snapshot "$D/tree"
# Older than anything in $BUILD, so that `make`, `make install` and `make
# man` on a page use the build under test and never rebuild it (the build
# itself is tests/readme's business, in a copy of its own).
find "$D/tree" -exec touch -h -d '2000-01-01 00:00:00' {} +
ln -s "$BUILD" "$D/tree/build"
RUNS=0 SKIPS=0 WALKS=0 i=0
MODES="run nosan"
[ -n "${SANITIZER:-}" ] && MODES=run
for md in "${PAGES[@]}"; do
    i=$((i + 1))
    x=$D/x/$i
    md_extract "$md" "$x"
    while read -r l msg; do
        t_fail "$md line $l: the docs-test markers are well formed" "$msg"
    done <"$x/errors"
    nrun=0
    for n in $(md_blocks "$x"); do
        case $(md_field "$x" "$n" 2) in
            run) nrun=$((nrun + 1)) ;;
            nosan) if [ -n "${SANITIZER:-}" ]; then
                       SKIPS=$((SKIPS + 1))
                       t_skip "$md block $n (line $(md_field "$x" "$n" 1))" \
                           "runs in the release pass only: $(md_field "$x" "$n" 3)"
                   else
                       nrun=$((nrun + 1))
                   fi ;;
            skip) SKIPS=$((SKIPS + 1))
                  t_skip "$md block $n (line $(md_field "$x" "$n" 1))" "$(md_field "$x" "$n" 3)" ;;
            walk) WALKS=$((WALKS + 1))
                  t_skip "$md block $n (line $(md_field "$x" "$n" 1))" \
                      "the new-user walk: run by tests/readme (root, libvirtd, QEMU)" ;;
        esac
    done
    [ "$nrun" -gt 0 ] || continue
    RUNS=$((RUNS + nrun))
    cp -a "$D/tree" "$D/w$i"
    mkdir -p "$D/home$i"
    export HOME=$D/home$i XDG_CONFIG_HOME=$D/home$i/.config \
        XDG_DATA_HOME=$D/home$i/.local/share XDG_CACHE_HOME=$D/home$i/.cache
    if ! t_start_manager PMGR "$D/data$i"; then
        t_fail "$md: its manager starts" "see above"
        continue
    fi
    md_run "$md" "$md" "$x" "$MODES" "$D/w$i" "$PAGE_SECS" ||
        t_note "$md: the manager's log ends: $(tail -n 3 "$PMGR_LOG" | cut -c1-200 | tr '\n' '|')"
    t_stop "$PMGR"
done
t_note "commands: $RUNS blocks run, $SKIPS skipped, $WALKS in the walk (tests/readme)"

# --- 3. man pages -----------------------------------------------------------------
if [ "$ONLY_PAGES" = 0 ]; then
    # Every tools/ binary: a tool whose source exists but whose binary is
    # missing fails here (gen-man.sh says which).
    t_run "make man writes a page for every binary" make -s -C "$VRT_SRC_DIR" BUILD="$BUILD" man
    mapfile -t BINS < <(sh tools/gen-man.sh --list)
    t_eq "gen-man.sh finds the five first binaries among ${#BINS[@]}" 5 \
        "$(printf '%s\n' "${BINS[@]}" | grep -cxE 'virtrigaud-manager|vrtg|vcts|vrtg-provider|virtrigaud-disk')"
    for b in "${BINS[@]}"; do
        page=$BUILD/man/$b.1
        if [ ! -x "$BUILD/bin/$b" ]; then
            t_fail "man $b" "tools/$b/ has a main() but $BUILD/bin/$b is not built"
            continue
        fi
        t_grep "man $b: the NAME section names it" "^$b" \
            sh -c "MANWIDTH=100 man -l '$page' 2>&1 | sed -n '/^NAME/,/^DESC/p' | sed 's/^ *//'"
        warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1 | head -n 3)
        t_eq "man $b renders without groff warnings" "" "$warn"
        missing=$("$BUILD/bin/$b" --help 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u |
            while read -r o; do MANWIDTH=200 man -l "$page" 2>/dev/null | grep -qF -- "$o" || echo "$o"; done)
        t_eq "man $b lists every option of its --help" "" "$missing"
    done
fi
t_done
