#!/bin/sh
# tools/gen-man.sh BINDIR OUTDIR - writes a man page (section 1) for each
# virtrigaud binary from its own --help, so the page and the program never
# disagree.  `make man` runs it; `make install` installs the pages.
#
# The binaries are every tools/NAME/ whose C sources define main() (the
# Makefile builds each into BINDIR/NAME), so a new tool gets its page
# without editing this list.  `gen-man.sh --list` prints those names.
set -eu
tools=$(cd "$(dirname "$0")" && pwd)

# Every tools/NAME/ with a C file that defines main() at the start of a line.
list_binaries() {
    for d in "$tools"/*/; do
        d=${d%/}
        ls "$d"/*.c >/dev/null 2>&1 || continue
        grep -qE '^(int|static int)?[[:space:]]*main[[:space:]]*\(' "$d"/*.c &&
            basename "$d"
    done
    return 0
}

if [ "${1:-}" = --list ]; then
    list_binaries
    exit 0
fi
[ $# -eq 2 ] || { echo "usage: gen-man.sh BINDIR OUTDIR | gen-man.sh --list" >&2; exit 2; }
bindir=$1
out=$2
mkdir -p "$out"
date=$(date -u +%Y-%m-%d)
missing=''
for b in $(list_binaries); do
    if [ ! -x "$bindir/$b" ]; then
        echo "gen-man: $bindir/$b is missing (tools/$b/ has a main); build it first." >&2
        missing="$missing $b"
        continue
    fi
    help=$("$bindir/$b" --help 2>&1) || true
    summary=$(printf '%s\n' "$help" | awk 'NF && !/^[Uu]sage/ {print; exit}' |
              sed 's/^ *//; s/\\/\\\\/g')
    {
        printf '.TH %s 1 "%s" "virtrigaud" "virtrigaud manual"\n' \
            "$(echo "$b" | tr a-z A-Z)" "$date"
        printf '.SH NAME\n%s \\- %s\n' "$b" "$summary"
        printf '.SH DESCRIPTION\nThe text below is what \\fB%s --help\\fR prints.\n' "$b"
        printf '.PP\n.nf\n'
        # Escape roff: backslashes, and lines starting with . or '
        printf '%s\n' "$help" | sed 's/\\/\\e/g; s/^\([.'"'"']\)/\\\&\1/'
        printf '.fi\n'
        printf '.SH SEE ALSO\nThe documentation in docs/ of the virtrigaud sources.\n'
    } >"$out/$b.1"
done
echo "gen-man: wrote $(ls "$out"/*.1 2>/dev/null | wc -l) pages into $out"
[ -z "$missing" ] || exit 1
