#!/usr/bin/env bash
# Checks deploy/systemd/onshid.service with systemd-analyze verify (pointing ExecStart at the
# freshly built binary, since /usr/sbin/onshid is not installed on a build machine), and that the
# properties the operations guide relies on are present.
set -euo pipefail
unit_src=$1
binary=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/sbin/onshid|$binary|" "$unit_src" > "$tmp/onshid.service"
out=$(systemd-analyze verify "$tmp/onshid.service" 2>&1) || { echo "$out"; exit 1; }
if [[ -n "$out" ]]; then echo "systemd-analyze verify reported:"; echo "$out"; exit 1; fi
for key in Type=notify WatchdogSec= User=onshid ProtectSystem=strict NoNewPrivileges=yes \
           PrivateTmp=yes StateDirectory=onshid ExecReload=; do
  grep -q "^$key" "$unit_src" || { echo "missing $key in $unit_src"; exit 1; }
done
echo "onshid.service verified"
