#!/usr/bin/env bash
# Measures how fast onshid becomes ready and how much memory it holds when idle, against a baseline
# measured in the same run: the bare PostgreSQL server the managed mode starts.
#
#   bench/startup.sh [build-dir]      (run as root after ./deploy/test.sh or ./deploy/demo.sh built it)
#
# Prints milliseconds, ratios against the baseline, and the daemon's idle RSS (daemon process only,
# not its PostgreSQL). Nothing here is asserted: the numbers are for people to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
onshid=$build/daemon/onshid
ctl=$build/tools/onshictl/onshictl
[[ -x $onshid ]] || { echo "build first: ./deploy/test.sh" >&2; exit 1; }

work=$(mktemp -d /tmp/onshid-bench-XXXXXX)
chmod 755 "$work"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
runas=onshid
getent passwd onshid >/dev/null || runas=postgres
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

now_ms() { date +%s%3N; }
wait_ready() {  # port
  until curl -fs "http://127.0.0.1:$1/readyz" >/dev/null 2>&1; do sleep 0.01; done
}

# Baseline: initdb + start, then a warm start, of a bare PostgreSQL on a Unix socket.
mkdir -p "$work/pg/run" && chown -R "$runas" "$work/pg"
t0=$(now_ms)
runuser -u "$runas" -- "$bindir/initdb" -D "$work/pg/data" -U onshid -A trust -E UTF8 --locale=C >/dev/null
runuser -u "$runas" -- "$bindir/pg_ctl" -D "$work/pg/data" -w -l "$work/pg/log" \
  -o "-c listen_addresses= -c unix_socket_directories=$work/pg/run" start >/dev/null
pg_cold=$(( $(now_ms) - t0 ))
runuser -u "$runas" -- "$bindir/pg_ctl" -D "$work/pg/data" -w -m fast stop >/dev/null
t0=$(now_ms)
runuser -u "$runas" -- "$bindir/pg_ctl" -D "$work/pg/data" -w -l "$work/pg/log" \
  -o "-c listen_addresses= -c unix_socket_directories=$work/pg/run" start >/dev/null
pg_warm=$(( $(now_ms) - t0 ))
runuser -u "$runas" -- "$bindir/pg_ctl" -D "$work/pg/data" -w -m fast stop >/dev/null

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
gp=$(port); rp=$(port); hp=$(port)
token=bench-token
cat > "$work/onshid.jsonc" <<JSON
{"state_dir": "$work/state", "log": {"level": "warn"},
 "grpc": {"listen": "127.0.0.1:$gp"}, "rest": {"listen": "127.0.0.1:$rp"}, "health": {"listen": "127.0.0.1:$hp"},
 "auth": {"tokens": [{"name": "bench", "sha256": "$($ctl hash-token $token)", "scopes": ["read"]}]}}
JSON

# Sets pid and elapsed (ms until /readyz answered 200).
run_daemon() {
  local t0
  t0=$(now_ms)
  "$onshid" --config "$work/onshid.jsonc" 2>>"$work/daemon.log" &
  pid=$!
  wait_ready "$hp"
  elapsed=$(( $(now_ms) - t0 ))
}
run_daemon; d_cold=$elapsed
kill -TERM "$pid"; wait "$pid"
run_daemon; d_warm=$elapsed
# Idle: let it settle, then read the daemon's own resident set.
curl -fs -H "authorization: Bearer $token" "http://127.0.0.1:$rp/v1/status" >/dev/null
sleep 2
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
threads=$(awk '/^Threads/ {print $2}' "/proc/$pid/status")

# Request cost: 200 REST GetStatus calls (auth, in-process gRPC, JSON) vs 200 /healthz (HTTP only).
t0=$(now_ms); for _ in $(seq 200); do curl -fs "http://127.0.0.1:$hp/healthz" >/dev/null; done
base_req=$(( $(now_ms) - t0 ))
t0=$(now_ms); for _ in $(seq 200); do curl -fs -H "authorization: Bearer $token" "http://127.0.0.1:$rp/v1/status" >/dev/null; done
rest_req=$(( $(now_ms) - t0 ))
kill -TERM "$pid"; wait "$pid"

ratio() { python3 -c "print(f'{$1/max($2,1):.2f}')"; }
printf '%-44s %8s %10s\n' measurement ms "x baseline"
printf '%-44s %8d %10s\n' "baseline: bare PostgreSQL initdb+start" "$pg_cold" 1.00
printf '%-44s %8d %10s\n' "onshid cold start (initdb, migrate, ready)" "$d_cold" "$(ratio "$d_cold" "$pg_cold")"
printf '%-44s %8d %10s\n' "baseline: bare PostgreSQL warm start" "$pg_warm" 1.00
printf '%-44s %8d %10s\n' "onshid warm start (ready)" "$d_warm" "$(ratio "$d_warm" "$pg_warm")"
printf '%-44s %8d %10s\n' "baseline: 200 x GET /healthz (curl)" "$base_req" 1.00
printf '%-44s %8d %10s\n' "200 x REST GET /v1/status (curl)" "$rest_req" "$(ratio "$rest_req" "$base_req")"
echo "onshid idle RSS (daemon only): $((rss_kb / 1024)) MiB ($rss_kb kB), $threads threads"
