#!/usr/bin/env bash
# Builds our vcsim launcher (tests/vsphere/vcsim/main.go) offline against
# Debian's govmomi into $1 (default $BUILD/vcsim), reusing the Go build cache
# there; prints the binary's path.  Rebuilds only when main.go is newer.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${BUILD:?BUILD or an output directory is needed}/vcsim}
mkdir -p "$out/src" "$out/gocache"
bin=$out/vcsim
if [ ! -x "$bin" ] || [ "$here/vcsim/main.go" -nt "$bin" ]; then
    cp "$here/vcsim/main.go" "$out/src/main.go"
    (cd "$out/src" &&
        GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$out/gocache" \
        GOFLAGS= CGO_ENABLED=0 go build -o "$bin.tmp" . &&
        mv "$bin.tmp" "$bin")
fi
echo "$bin"
