#!/bin/sh
# Builds the sfmcwatch binary with the release flags. The Makefile, the
# Dockerfile, packaging/release.sh and .ci/run all build through this one
# script, so the binary CI tests is the binary the image and the archives ship.
#
#   packaging/build.sh OUT            # host platform
#   GOOS=linux GOARCH=arm64 packaging/build.sh OUT
#
# VERSION, COMMIT and DATE default to git's view of the checkout (the
# Dockerfile passes them as build arguments: its context has no .git).
set -eu
out=${1:?usage: packaging/build.sh OUT}
cd "$(dirname "$0")/.."
if [ -z "${VERSION:-}" ]; then VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo dev); fi
if [ -z "${COMMIT:-}" ]; then COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown); fi
# The commit's date, not the wall clock: the same commit builds the same bytes.
if [ -z "${DATE:-}" ]; then DATE=$(git log -1 --format=%cI 2>/dev/null || echo unknown); fi
pkg=github.com/sfmcwatch/sfmcwatch/internal/cli
CGO_ENABLED=0 exec go build -buildvcs=false \
  -ldflags "-s -w -X $pkg.Version=$VERSION -X $pkg.Commit=$COMMIT -X $pkg.Date=$DATE" \
  -o "$out" ./cmd/sfmcwatch
