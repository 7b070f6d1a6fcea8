#!/usr/bin/env bash
# Installs dependencies, builds, and runs onshid in demo mode in the foreground: a managed private
# PostgreSQL under the demo directory, the APIs on loopback, a demo token with every scope.
# Ctrl-C stops the daemon (and its PostgreSQL). Run it again to reuse the same data.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

./deploy/build.sh onshid onshictl oqs-terminal-sim virtual-mynacard
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

# A private pcscd (socket-activated, so the system's pcscd is left alone) with vsmartcard's virtual
# reader, and a virtual マイナカード in it whose certificates come from a demo CA made here (its DN
# only looks like J-LIS's; it is trusted by this demo daemon alone).
pcsc_dir="$demo_dir/pcsc"
mkdir -p "$pcsc_dir/reader.conf.d"
vpcd_port=${ONSHID_DEMO_VPCD_PORT:-35983}
printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x%X\nLIBPATH      %s\nCHANNELID    0x%X\n' \
  "$vpcd_port" /usr/lib/pcsc/drivers/serial/libifdvpcd.so.0.8 "$vpcd_port" >"$pcsc_dir/reader.conf.d/vpcd"
pki="$demo_dir/pki"
if [[ ! -s $pki/card.pem ]]; then
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout "$pki/ca.key" -out "$pki/ca.pem" \
    -subj "/C=JP/O=JPKI/OU=JPKI for user authentication/OU=Japan Agency for Local Authority Information Systems" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$pki/card.key" -out "$pki/card.csr" \
    -subj "/C=JP/CN=demo-card" 2>/dev/null
  printf 'keyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid:always\nsubjectKeyIdentifier=hash\n' >"$pki/card.ext"
  openssl x509 -req -in "$pki/card.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 1500 -extfile "$pki/card.ext" -out "$pki/card.pem" 2>/dev/null
  head -c 32 /dev/urandom >"$pki/card-key-secret"
  chmod 600 "$pki"/*.key "$pki/card-key-secret"
fi
export PCSCLITE_CSOCK_NAME="$pcsc_dir/pcscd.comm"
rm -f "$PCSCLITE_CSOCK_NAME"
systemd-socket-activate -l "$PCSCLITE_CSOCK_NAME" /usr/sbin/pcscd --foreground \
  --config "$pcsc_dir/reader.conf.d" 2>>"$pcsc_dir/pcscd.log" &
pcscd_pid=$!
card="$build_dir/tools/virtual-mynacard/virtual-mynacard"
"$card" --port "$vpcd_port" --auth-cert "$pki/card.pem" --auth-key "$pki/card.key" \
  --state "$pcsc_dir/card.state" --log "$pcsc_dir/card.log" 2>>"$pcsc_dir/card.stderr" &
card_pid=$!
trap 'kill "$sim_pid" "$card_pid" "$pcscd_pid" 2>/dev/null || true' EXIT

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
  "readers": {"enabled": true, "trust_anchor_files": ["$pki/ca.pem"],
              "card_key_secret_file": "$pki/card-key-secret"},
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

A patient checks in at the desk "reception" and is sent to the (simulated) face reader; the face
result binds to that waiting check-in (watch the event stream):

  $repo/$build_dir/tools/onshictl/onshictl --addr 127.0.0.1:$grpc_port events --follow &
  $repo/$build_dir/tools/onshictl/onshictl --addr 127.0.0.1:$grpc_port checkin start \
      --desk reception --channel face --kana 'ｼﾝﾘｮｳ ﾀﾛｳ' --birth-date 1980-04-15
  $repo/$sim face --control-socket $sim_socket --person shaho-honnin --consent all
  $repo/$build_dir/tools/onshictl/onshictl --addr 127.0.0.1:$grpc_port checkin list   # → VERIFIED, BOUND
  $repo/$build_dir/tools/onshictl/onshictl --addr 127.0.0.1:$grpc_port result 1

The virtual マイナカード in the private reader (PIN 1234 unless changed; its log: $pcsc_dir/card.log):

  $repo/$build_dir/tools/onshictl/onshictl --addr 127.0.0.1:$grpc_port readers
  $repo/$build_dir/tools/onshictl/onshictl --addr 127.0.0.1:$grpc_port card inspect 'Virtual PCD 00 00'
  kill -USR1 $card_pid   # remove the card (kill -USR2 inserts it again)

A 資格確認書 query (people of the simulator: tools/oqs-terminal-sim/registry.json):

  $repo/$build_dir/tools/onshictl/onshictl --addr 127.0.0.1:$grpc_port query \\
      --insurer 06139992 --symbol 1234 --number 5678 --branch 00 --birth 1980-04-15

TEXT
# The scripts' own ONSHID_* variables (ONSHID_DEMO_*, ONSHID_BUILD_DIR, ...) are not daemon settings:
# the daemon refuses unknown ONSHID_* variables, so they are removed from its environment.
for v in $(compgen -e | grep '^ONSHID_' || true); do
  case $v in
    ONSHID_SITE_ID | ONSHID_STATE_DIR | ONSHID_LOG_LEVEL | ONSHID_GRPC_LISTEN | ONSHID_REST_LISTEN | \
      ONSHID_HEALTH_LISTEN | ONSHID_STORAGE_DSN | ONSHID_UPSTREAM_FOLDER | ONSHID_TOKEN) ;;
    *) unset "$v" ;;
  esac
done
"$build_dir/daemon/onshid" --config "$config"
