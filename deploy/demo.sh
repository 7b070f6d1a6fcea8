#!/usr/bin/env bash
# Installs dependencies, builds, and runs onshid in demo mode in the foreground: a managed private
# PostgreSQL under the demo directory, the APIs on loopback, a demo token with every scope.
# Ctrl-C stops the daemon (and its PostgreSQL). Run it again to reuse the same data.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

./deploy/build.sh onshid onshictl
build_dir=${ONSHID_BUILD_DIR:-build}

demo_dir=${ONSHID_DEMO_DIR:-/var/tmp/onshid-demo}
mkdir -p "$demo_dir"
chmod 755 "$demo_dir"
token_file="$demo_dir/demo-token"
if [[ ! -s $token_file ]]; then
  (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$token_file")
fi
token=$(cat "$token_file")
hash=$("$build_dir/tools/onshictl/onshictl" hash-token "$token")

grpc_port=${ONSHID_DEMO_GRPC_PORT:-50051}
rest_port=${ONSHID_DEMO_REST_PORT:-8080}
health_port=${ONSHID_DEMO_HEALTH_PORT:-9464}
config="$demo_dir/onshid.jsonc"
cat > "$config" <<JSON
// Written by deploy/demo.sh; edit deploy/onshid.example.jsonc for a real installation.
{
  "site_id": "demo-clinic",
  "state_dir": "$demo_dir/state",
  "grpc": {"listen": "127.0.0.1:$grpc_port"},
  "rest": {"listen": "127.0.0.1:$rest_port"},
  "health": {"listen": "127.0.0.1:$health_port"},
  "auth": {"tokens": [
    {"name": "demo", "sha256": "$hash", "scopes": ["read", "reception", "admin"]}
  ]}
}
JSON

cat <<TEXT

onshid demo: starting in the foreground (Ctrl-C to stop). Data: $demo_dir/state
Once it logs "ready", call it from another terminal:

  export ONSHID_TOKEN=$token
  $repo/$build_dir/tools/onshictl/onshictl --addr 127.0.0.1:$grpc_port status
  $repo/$build_dir/tools/onshictl/onshictl --addr 127.0.0.1:$grpc_port health
  curl -H "authorization: Bearer \$ONSHID_TOKEN" http://127.0.0.1:$rest_port/v1/status
  curl -H "authorization: Bearer \$ONSHID_TOKEN" -d '{"limit": 10}' http://127.0.0.1:$rest_port/v1/audit:search
  curl http://127.0.0.1:$health_port/readyz
  curl http://127.0.0.1:$health_port/metrics

TEXT
exec "$build_dir/daemon/onshid" --config "$config"
