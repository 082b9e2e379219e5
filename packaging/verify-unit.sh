#!/bin/sh
# Lints packaging/sfmcwatch.service with systemd-analyze verify (skipped with a
# message where systemd-analyze is missing). ExecStart must name an existing
# binary, so the unit is checked with its path pointed at BIN.
#   packaging/verify-unit.sh BIN
set -eu
bin=$(realpath "${1:?usage: packaging/verify-unit.sh BIN}")
cd "$(dirname "$0")"
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze not installed: unit not verified"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/local/bin/sfmcwatch|$bin|g" sfmcwatch.service > "$tmp/sfmcwatch.service"
# verify prints warnings about the host (no running systemd in a container,
# missing network-online.target); only lines about our unit fail the check.
out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$tmp/sfmcwatch.service" 2>&1 || true)
echo "$out" | sed 's/^/  /'
if echo "$out" | grep -E "sfmcwatch\.service" | grep -vE "Failed to (connect|create)|bus|Unit network-online" | grep -q .; then
  echo "systemd-analyze verify: problems in sfmcwatch.service"
  exit 1
fi
echo "systemd unit ok"
