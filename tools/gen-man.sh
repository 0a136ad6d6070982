#!/bin/sh
# tools/gen-man.sh BINDIR OUTDIR - writes a man page (section 1) for each
# virtrigaud binary from its own --help, so the page and the program never
# disagree.  `make man` runs it; `make install` installs the pages.
set -eu
bindir=$1
out=$2
mkdir -p "$out"
date=$(date -u +%Y-%m-%d)
for b in virtrigaud-manager vrtg vcts vrtg-provider virtrigaud-disk; do
    [ -x "$bindir/$b" ] || { echo "gen-man: $bindir/$b is missing" >&2; exit 1; }
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
echo "gen-man: wrote $(ls "$out"/*.1 | wc -l) pages into $out"
