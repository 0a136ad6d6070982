#!/usr/bin/env bash
# The manifests in the documentation are real: every ```yaml block in
# README.md and docs/ that is a whole virtrigaud object (apiVersion
# infra.virtrigaud.io/...) is sent to a standalone manager with
# `kubectl apply --dry-run=server`, so the API server validates it against
# the CRDs exactly as it would the real thing.  Fragments (no apiVersion)
# and other kinds (kustomize files) are not objects and are not counted.
#
#   BUILD=/tmp/build bash tests/docs/run.sh      (or via tests/run.sh)
set -u
. "$(dirname "$0")/../lib.sh"

t_need kubectl
t_need node
t_mktemp D
t_start_manager MGR "$D/data" --no-controller || t_done
t_pass "manager starts"

cd "$VRT_SRC_DIR" || exit 2
# Splits the yaml blocks of a markdown file into $D/blocks/FILE-N.yaml.
mkdir -p "$D/blocks"
for md in README.md docs/*.md docs/kinds/*.md docs/providers/*.md; do
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
    name=$(basename "$f" .yaml | sed 's/_/\//g; s/-\([0-9]*\)$/ block \1/')
    t_run "$name is a valid object (kubectl apply --dry-run=server)" \
        kubectl --request-timeout=20s apply --dry-run=server -f "$f"
done
t_eq "the docs hold at least one example per kind (10 kinds)" 1 "$(( n >= 10 ))"

# Man pages: one per binary, made from --help; each renders without
# warnings and documents every option its --help lists.
t_run "make man writes the pages" make -s -C "$VRT_SRC_DIR" BUILD="$BUILD" man
for b in virtrigaud-manager vrtg vcts vrtg-provider virtrigaud-disk; do
    page=$BUILD/man/$b.1
    t_grep "man $b: the NAME section names it" "^$b" \
        sh -c "MANWIDTH=100 man -l '$page' 2>&1 | sed -n '/^NAME/,/^DESC/p' | sed 's/^ *//'"
    warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1 | head -n 3)
    t_eq "man $b renders without groff warnings" "" "$warn"
    missing=$("$BUILD/bin/$b" --help 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u |
        while read -r o; do MANWIDTH=200 man -l "$page" 2>/dev/null | grep -qF -- "$o" || echo "$o"; done)
    t_eq "man $b lists every option of its --help" "" "$missing"
done

# The examples/ directory, applied for real (not dry run): every file
# creates its objects.
for f in examples/*.yaml; do
    t_run "examples/$(basename "$f") applies" kubectl --request-timeout=20s apply -f "$f"
done
t_done
