#!/usr/bin/env bash
# tests/crds/run.sh - offline validation of crds/, examples/ and the
# negative cases in tests/crds/bad/ (see validate.mjs for the list of
# checks).  Installs the pinned npm packages into tests/crds/node_modules
# (npm ci, from package-lock.json) when they are missing or stale, then runs
# validate.mjs.  Prints one line per check and closes with
# "N passed, N failed"; exits non-zero when anything failed.
#
#   tests/crds/run.sh            (also run by tests/run.sh / make check)
#   node crds/src/gen.mjs        regenerates crds/*.yaml and the docs tables
set -u
cd "$(dirname "$0")" || exit 2

broken() {
    echo "FAIL crds: $1"
    [ -n "${2:-}" ] && sed 's/^/    | /' "$2" | tail -n 20
    echo "0 passed, 1 failed"
    exit 1
}

command -v node >/dev/null 2>&1 ||
    broken "node is not installed (tools/install-deps.sh installs it)"
command -v npm >/dev/null 2>&1 ||
    broken "npm is not installed (tools/install-deps.sh installs it)"

# npm ci writes node_modules/.package-lock.json; reinstall when the
# committed lock file is newer than the installed tree.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    log=$(mktemp)
    if ! npm ci --prefer-offline --no-audit --no-fund --loglevel=error \
            >"$log" 2>&1; then
        trap 'rm -f "$log"' EXIT
        broken "npm ci failed (needs the npm registry or a warm npm cache)" \
               "$log"
    fi
    rm -f "$log"
fi

exec node validate.mjs
