#!/bin/sh
# Release archives and checksums for every platform sfmcwatch ships on.
#
#   packaging/release.sh                 # VERSION from git describe, all targets
#   packaging/release.sh --snapshot      # host platform only (what CI runs)
#   TARGETS="linux/arm64 darwin/arm64" packaging/release.sh
#
# Writes dist/sfmcwatch_<version>_<os>_<arch>.tar.gz (.zip for windows), each
# holding the binary, LICENSE, README.md, docs/ and the example config, and
# dist/checksums.txt (sha256). Every binary is built by packaging/build.sh
# (static, CGO_ENABLED=0, version/commit/date stamped).
set -eu
cd "$(dirname "$0")/.."
all="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"
targets=${TARGETS:-$all}
if [ "${1:-}" = "--snapshot" ]; then
  targets=${TARGETS:-"$(go env GOOS)/$(go env GOARCH)"}
fi
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
DATE=${DATE:-$(git log -1 --format=%cI 2>/dev/null || echo unknown)}
export VERSION COMMIT DATE
rm -rf dist && mkdir -p dist
for t in $targets; do
  os=${t%/*} arch=${t#*/}
  name="sfmcwatch_${VERSION}_${os}_${arch}"
  dir="dist/$name"
  mkdir -p "$dir/docs" "$dir/examples"
  exe=sfmcwatch
  [ "$os" = windows ] && exe=sfmcwatch.exe
  echo "build $t"
  GOOS=$os GOARCH=$arch packaging/build.sh "$dir/$exe"
  cp LICENSE README.md "$dir/"
  cp docs/*.md "$dir/docs/"
  cp examples/sfmcwatch.yaml "$dir/examples/"
  cp packaging/sfmcwatch.service "$dir/"
  if [ "$os" = windows ]; then
    (cd dist && python3 -c 'import sys, zipfile, os
name = sys.argv[1]
with zipfile.ZipFile(name + ".zip", "w", zipfile.ZIP_DEFLATED) as z:
    for root, _, files in os.walk(name):
        for f in sorted(files):
            z.write(os.path.join(root, f))' "$name")
  else
    tar -C dist -czf "dist/$name.tar.gz" --owner=0 --group=0 "$name"
  fi
  rm -rf "$dir"
done
(cd dist && sha256sum sfmcwatch_* > checksums.txt)
cat dist/checksums.txt
