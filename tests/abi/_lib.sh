# shellcheck shell=bash
# tests/abi/_lib.sh - what the ABI suites in this folder share.  Sourced,
# never run: tests/run.sh skips files whose name starts with "_".
#
# Provides, on top of tests/lib.sh:
#   ABI_SRC            this folder
#   abi_make_var NAME  a variable of the top-level Makefile, as it is for
#                      this BUILD and SANITIZER (CORE_LIBS, SANFLAGS...)
#   abi_sub_make ARGS  make in the source tree, detached from any make that
#                      runs us (its jobserver is not ours)
#   abi_header_minor DIR  VRT_ABI_MINOR of DIR/virtrigaud/provider.h
#   PLUGIN_CC          how a third party builds a plugin (an array)

. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# shellcheck disable=SC2034 # used by the suites that source this
ABI_SRC=$VRT_SRC_DIR/tests/abi
CC=${CC:-cc}

abi_sub_make() {
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
        make -s --no-print-directory -C "$VRT_SRC_DIR" BUILD="$BUILD" \
        SANITIZER="${SANITIZER:-}" "$@"
}

abi_make_var() {
    # shellcheck disable=SC2016 # make expands it, not the shell
    abi_sub_make --eval 'vrt-abi-print-%: ; @printf "%s\n" "$($*)"' \
        "vrt-abi-print-$1"
}

abi_header_minor() {
    printf '#include <virtrigaud/provider.h>\nVRT_ABI_MINOR\n' |
        "$CC" -E -P -I"$1" -x c - | tail -n 1 | tr -d ' '
}

# Plugins are built as the docs tell third parties to: hidden visibility,
# no undefined symbols, and no sanitizer (an ASan host loads them fine).
# shellcheck disable=SC2034,SC2054 # used by the suites; -Wl, takes commas
PLUGIN_CC=("$CC" -std=c11 -pedantic -O2 -g -Wall -Wextra -Werror -shared
           -fPIC -fvisibility=hidden -pthread -Wl,--no-undefined)

# abi_exported SO: the dynamic symbols SO defines, space-separated.
abi_exported() {
    nm -D --defined-only "$1" | awk '{print $NF}' | sort | tr '\n' ' ' |
        sed 's/ $//'
}
