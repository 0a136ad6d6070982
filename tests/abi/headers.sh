#!/usr/bin/env bash
# tests/abi/headers.sh - the public headers stand alone.
#
# Every installed header (abi/virtrigaud/*.h) compiles as the only include
# of a file: C11 -pedantic with gcc and clang, C++11 -pedantic with g++ and
# clang++, each also with -DVRT_ABI_TARGET_MINOR=0, and under the strict
# warnings a plugin author may well use.  Its macros work from C and C++;
# targeting minor 0 gives the 1.0 vtable; targeting a minor newer than the
# header is a compile error.  The core's own headers (include/vrt/*.h)
# stand alone in C11 too.
set -u
. "$(dirname "$0")/_lib.sh"

t_mktemp T
cd "$VRT_SRC_DIR" || exit 2

CFLAGS_STD=(-std=c11 -pedantic -Wall -Wextra -Werror)
CXXFLAGS_STD=(-std=c++11 -pedantic -Wall -Wextra -Werror)
# What a careful plugin author might add; the header must not trip them.
STRICT=(-Wshadow -Wconversion -Wsign-conversion -Wundef -Wcast-qual
        -Wstrict-prototypes -Wmissing-prototypes -Wredundant-decls
        -Wformat=2 -Wold-style-definition)
STRICT_CXX=(-Wshadow -Wconversion -Wsign-conversion -Wundef -Wcast-qual
            -Wredundant-decls)
# The header alone is clean even of C++'s cast warnings; its macros are C
# (casts, a null pointer in VRT_HAS_MEMBER) and would trip these where a
# C++ file expands them, so only the header itself is held to them.
STRICT_CXX_DECL=("${STRICT_CXX[@]}" -Wold-style-cast
                 -Wzero-as-null-pointer-constant -Wuseless-cast)

have() { command -v "$1" >/dev/null 2>&1; }

# check NAME LANG(c|c++) COMPILER FLAGS... -- SOURCE
compile() {
    local name=$1 lang=$2 cc=$3
    shift 3
    if ! have "$cc"; then
        t_skip "$name" "$cc is not installed"
        return
    fi
    t_run "$name" "$cc" -x "$lang" "$@" -c -o /dev/null
}

headers=(abi/virtrigaud/*.h)
if [ ! -e "${headers[0]}" ]; then
    t_fail "public headers exist" "no abi/virtrigaud/*.h"
    t_done
fi

# --- each public header, alone ---------------------------------------------
for h in "${headers[@]}"; do
    inc=virtrigaud/$(basename "$h")
    src=$T/$(basename "$h" .h).inc
    printf '#include <%s>\n' "$inc" >"$src"
    twice=$T/$(basename "$h" .h).twice
    printf '#include <%s>\n#include <%s>\n' "$inc" "$inc" >"$twice"

    for minor in "" 0; do
        def=()
        tag=""
        if [ -n "$minor" ]; then
            def=(-DVRT_ABI_TARGET_MINOR="$minor")
            tag=" (target minor $minor)"
        fi
        compile "gcc c11 $inc$tag" c gcc "${CFLAGS_STD[@]}" "${def[@]}" -Iabi "$src"
        compile "clang c11 $inc$tag" c clang "${CFLAGS_STD[@]}" "${def[@]}" -Iabi "$src"
        compile "g++ c++11 $inc$tag" c++ g++ "${CXXFLAGS_STD[@]}" "${def[@]}" -Iabi "$src"
        compile "clang++ c++11 $inc$tag" c++ clang++ "${CXXFLAGS_STD[@]}" "${def[@]}" -Iabi "$src"
    done
    compile "gcc c11 strict warnings $inc" c gcc "${CFLAGS_STD[@]}" "${STRICT[@]}" -Iabi "$src"
    compile "g++ c++11 strict warnings $inc" c++ g++ "${CXXFLAGS_STD[@]}" "${STRICT_CXX_DECL[@]}" -Iabi "$src"
    compile "gcc c11 included twice $inc" c gcc "${CFLAGS_STD[@]}" -Iabi "$twice"
done

# --- the macros, used from C and C++ ------------------------------------------
# VRT_HAS_MEMBER, VRT_ERROR_INIT and the version macros expand to code in
# the user's file, so they must be warning-free there too.
cat >"$T/use.c" <<'EOF'
#include <virtrigaud/provider.h>

#ifdef __cplusplus
#define SA static_assert
#else
#define SA _Static_assert
#endif

SA(VRT_ABI_MAJOR_OF(VRT_ABI_MAKE(1, 7)) == 1, "major of");
SA(VRT_ABI_MINOR_OF(VRT_ABI_MAKE(1, 7)) == 7, "minor of");
SA(VRT_ABI_VERSION == VRT_ABI_MAKE(VRT_ABI_MAJOR, VRT_ABI_TARGET_MINOR),
   "version");
SA(VRT_PROVIDER_SIZE_1_0 <= sizeof(vrt_provider), "1.0 size");
SA(VRT_ERROR_MESSAGE_MAX == sizeof(((vrt_error *)0)->message), "message");

int use_header(const vrt_provider *vt, const vrt_caps *caps);
int use_header(const vrt_provider *vt, const vrt_caps *caps)
{
    vrt_error err = VRT_ERROR_INIT;
    int n = 0;
    if (VRT_HAS_MEMBER(vt, vrt_provider, task_status) && vt->task_status)
        n++;
    if (VRT_HAS_MEMBER(caps, vrt_caps, caps) && (caps->caps & VRT_CAP_LIST_VMS))
        n++;
    if (VRT_ABI_MAJOR_OF(vt->abi) == VRT_ABI_MAJOR &&
        VRT_ABI_MINOR_OF(vt->abi) <= VRT_ABI_MINOR)
        n++;
    return n + err.code + (int)sizeof(VRT_PROVIDER_ENTRY_SYMBOL);
}
EOF
for minor in "" 0; do
    def=()
    tag=""
    [ -n "$minor" ] && def=(-DVRT_ABI_TARGET_MINOR="$minor") && tag=" (target minor $minor)"
    compile "macros expand cleanly in C$tag" c gcc "${CFLAGS_STD[@]}" "${STRICT[@]}" "${def[@]}" -Iabi "$T/use.c"
    compile "macros expand cleanly in C++$tag" c++ g++ "${CXXFLAGS_STD[@]}" "${STRICT_CXX[@]}" "${def[@]}" -Iabi "$T/use.c"
    compile "macros expand cleanly with clang$tag" c clang "${CFLAGS_STD[@]}" "${def[@]}" -Iabi "$T/use.c"
done

# --- targeting an older or a newer minor --------------------------------------
cat >"$T/minor0.c" <<'EOF'
#include <virtrigaud/provider.h>
_Static_assert(VRT_ABI_TARGET_MINOR == 0, "target");
_Static_assert(VRT_ABI_VERSION == VRT_ABI_MAKE(1, 0), "1.0 version");
_Static_assert(sizeof(vrt_provider) == VRT_PROVIDER_SIZE_1_0,
               "the 1.0 vtable is exactly VRT_PROVIDER_SIZE_1_0");
_Static_assert(sizeof(vrt_provider) ==
                   offsetof(vrt_provider, stream_abort) + sizeof(void *),
               "the 1.0 vtable ends with stream_abort");
EOF
compile "target minor 0 gives the 1.0 vtable" c gcc "${CFLAGS_STD[@]}" -DVRT_ABI_TARGET_MINOR=0 -Iabi "$T/minor0.c"

# A 1.0 build must not see 1.1 members: using one is a compile error.
cat >"$T/minor0_console.c" <<'EOF'
#include <virtrigaud/provider.h>
int f(const vrt_provider *vt);
int f(const vrt_provider *vt) { return vt->console != 0; }
EOF
t_run_fails "target minor 0 hides the 1.1 members" \
    gcc "${CFLAGS_STD[@]}" -DVRT_ABI_TARGET_MINOR=0 -Iabi -c -o /dev/null "$T/minor0_console.c"
t_run "the same use compiles for the current minor" \
    gcc "${CFLAGS_STD[@]}" -Iabi -c -o /dev/null "$T/minor0_console.c"

minor=$(abi_header_minor abi)
if [[ $minor =~ ^[0-9]+$ ]]; then
    rc=0
    t_exec gcc "${CFLAGS_STD[@]}" -DVRT_ABI_TARGET_MINOR=$((minor + 1)) -Iabi \
        -c -o /dev/null "$T/use.c" || rc=$?
    if [ "$rc" -ne 0 ] && grep -q "newer than this header" <<<"$T_OUT"; then
        t_pass "target minor $((minor + 1)) (newer than the header) is refused"
    else
        t_fail "target minor $((minor + 1)) (newer than the header) is refused" \
            "exit status $rc, or no \"newer than this header\" message" "$T_OUT"
    fi
else
    t_fail "VRT_ABI_MINOR is a number" "preprocessing gave \"$minor\""
fi

# --- the core's own headers ---------------------------------------------------
core_pkgs=$(abi_make_var CORE_PKGS)
# shellcheck disable=SC2086 # a list of flags
pc_cflags=$(pkg-config --cflags $core_pkgs 2>/dev/null)
for h in include/vrt/*.h; do
    [ -e "$h" ] || continue
    inc=vrt/$(basename "$h")
    src=$T/core_$(basename "$h" .h).inc
    printf '#include <%s>\n' "$inc" >"$src"
    # shellcheck disable=SC2086
    compile "gcc c11 $inc" c gcc -std=c11 -D_GNU_SOURCE -pedantic -Wall -Wextra -Werror -Iabi -Iinclude $pc_cflags "$src"
    # shellcheck disable=SC2086
    compile "clang c11 $inc" c clang -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iabi -Iinclude $pc_cflags "$src"
done

t_done
