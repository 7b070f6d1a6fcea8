#!/usr/bin/env bash
# Installs dependencies, builds, and runs onshid in demo mode in the foreground: a managed private
# PostgreSQL under the demo directory, the APIs on loopback, a demo token with every scope.
# Ctrl-C stops the daemon (and its PostgreSQL). Run it again to reuse the same data.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

./deploy/build.sh onshid onshictl oqs-terminal-sim
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
# The terminal simulator plays the 資格確認端末: it answers queries written to its req/ folder and
# writes face-reader check-ins into face/ on command.
oqs_dir="$demo_dir/oqs"
sim_socket="$demo_dir/sim.sock"
institution_code=1312345678
mkdir -p "$oqs_dir"
sim="$build_dir/tools/oqs-terminal-sim/oqs-terminal-sim"
"$sim" serve --folder "$oqs_dir" --control-socket "$sim_socket" --latency-ms 300 \
  --institution-code "$institution_code" --registry tools/oqs-terminal-sim/registry.json \
  --state-file "$demo_dir/sim-state.json" 2>>"$demo_dir/sim.log" &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true' EXIT

config="$demo_dir/onshid.jsonc"
cat > "$config" <<JSON
// Written by deploy/demo.sh; edit deploy/onshid.example.jsonc for a real installation.
{
  "site_id": "demo-clinic",
  "state_dir": "$demo_dir/state",
  "grpc": {"listen": "127.0.0.1:$grpc_port"},
  "rest": {"listen": "127.0.0.1:$rest_port"},
  "health": {"listen": "127.0.0.1:$health_port"},
  "upstream": {"folder": "$oqs_dir", "medical_institution_code": "$institution_code"},
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

A face check-in at the (simulated) face reader, seen on the event stream:

  $repo/$build_dir/tools/onshictl/onshictl --addr 127.0.0.1:$grpc_port events &
  $repo/$sim face --control-socket $sim_socket --person shaho-honnin --consent all
  $repo/$build_dir/tools/onshictl/onshictl --addr 127.0.0.1:$grpc_port result 1

A 資格確認書 query (people of the simulator: tools/oqs-terminal-sim/registry.json):

  $repo/$build_dir/tools/onshictl/onshictl --addr 127.0.0.1:$grpc_port query \\
      --insurer 06139992 --symbol 1234 --number 5678 --branch 00 --birth 1980-04-15

TEXT
"$build_dir/daemon/onshid" --config "$config"
