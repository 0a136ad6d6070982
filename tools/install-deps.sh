#!/usr/bin/env bash
# tools/install-deps.sh - install what virtrigaud's build and tests need on
# Debian 12.  Idempotent: when every package is already installed it touches
# nothing (no apt-get update), so reruns cost a second.
#
#   sudo tools/install-deps.sh          install what is missing
#   tools/install-deps.sh --check       only report; exit 1 if anything lacks
#
# Node.js and npm are needed by the CRD validation tests.  A machine that
# already has both (for example Node 20 from another source) keeps them: we
# never ask apt for Debian's nodejs/npm then, which would downgrade or clash.
# Suites and plugins add their own packages in tests/*/debian-packages.txt
# and plugins/*/debian-packages.txt; suites validated with Node keep a
# package.json + package-lock.json in tests/DIR/ and get `npm ci` there.
set -euo pipefail

PACKAGES=(
    # toolchain
    build-essential pkg-config clang libclang-rt-14-dev
    # libraries the core, plugins and tests link
    libcjson-dev libcmocka-dev libvirt-dev libxml2-dev libyaml-dev
    libcurl4-openssl-dev libssl-dev libsqlite3-dev libarchive-dev libssh-dev
    libmicrohttpd-dev libgnutls28-dev zlib1g-dev
    # run-time tools the tests drive
    libvirt-clients qemu-utils valgrind ca-certificates
)

check_only=0
case "${1:-}" in
    --check) check_only=1 ;;
    "") ;;
    -h|--help)
        sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
        exit 0 ;;
    *)
        echo "install-deps: unknown argument \"$1\"; try --help." >&2
        exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1 || [ ! -r /etc/debian_version ]; then
    echo "install-deps: this script knows Debian 12 only (no dpkg here)." >&2
    echo "install-deps: install the equivalents of: ${PACKAGES[*]} nodejs npm" >&2
    exit 1
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    PACKAGES+=(nodejs npm)
fi
# kubectl is the judge of API compatibility; keep one that is there (any
# source), else take Debian's.
if ! command -v kubectl >/dev/null 2>&1; then
    PACKAGES+=(kubernetes-client)
fi

# A suite or plugin that needs more (a backend to test against) lists it in
# its own debian-packages.txt, one package per line, "#" for comments, so
# that this one list need not know every suite.
cd "$(dirname "$0")/.."
for list in tests/*/debian-packages.txt plugins/*/debian-packages.txt; do
    [ -f "$list" ] || continue
    while read -r pkg _; do
        case $pkg in ""|"#"*) continue ;; esac
        PACKAGES+=("$pkg")
    done <"$list"
done

# A package counts as present only when dpkg says "install ok installed";
# "deinstall" or half-configured states are repaired by apt.
missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done

# npm packages of the suites that validate with Node (tests/*/package.json
# with a package-lock.json): `npm ci` when node_modules is missing or older
# than the lock file.  Needs no root.
npm_dirs=()
for lock in tests/*/package-lock.json; do
    [ -f "$lock" ] || continue
    dir=$(dirname "$lock")
    stamp=$dir/node_modules/.package-lock.json
    if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
        npm_dirs+=("$dir")
    fi
done

if [ "${#missing[@]}" -eq 0 ] && [ "${#npm_dirs[@]}" -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages are installed."
    exit 0
fi

if [ "$check_only" -eq 1 ]; then
    [ "${#missing[@]}" -eq 0 ] ||
        echo "install-deps: missing packages: ${missing[*]}" >&2
    [ "${#npm_dirs[@]}" -eq 0 ] ||
        echo "install-deps: npm packages not installed in: ${npm_dirs[*]}" >&2
    exit 1
fi

if [ "${#missing[@]}" -ne 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: these packages are missing: ${missing[*]}" >&2
        echo "install-deps: installing them needs root; run:" >&2
        echo "    sudo $0" >&2
        echo "or: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"

    # apt can exit 0 yet leave a package unconfigured; say so rather than
    # let a later compile fail obscurely.
    still=()
    for pkg in "${missing[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || still+=("$pkg")
    done
    if [ "${#still[@]}" -ne 0 ]; then
        echo "install-deps: apt-get finished but these are not installed: ${still[*]}" >&2
        exit 1
    fi
fi

for dir in "${npm_dirs[@]}"; do
    echo "install-deps: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done
echo "install-deps: done."
