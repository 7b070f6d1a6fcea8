#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and running the onshid demo need.
# Idempotent: packages already present are left alone; safe to run on every build.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  # RPC, API definitions
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  golang-github-gogo-googleapis-dev
  # I/O, HTTP, TLS
  libboost-dev libboost-system-dev libssl-dev openssl
  # data
  nlohmann-json3-dev libpqxx-dev postgresql postgresql-contrib libpugixml-dev
  # logging, service integration
  libspdlog-dev libfmt-dev libsystemd-dev systemd
  # card readers (later issues) and QR codes (roadmap)
  libpcsclite-dev pcscd pcsc-tools vsmartcard-vpcd libqrencode-dev
  # tests
  catch2 procps curl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

# The unprivileged system user that runs the daemon under systemd and the managed PostgreSQL when
# the daemon is started as root (storage.managed.run_as).
ensure_user() {
  if ! getent passwd onshid >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
      echo "install-deps: system user 'onshid' is missing; run as root to create it" >&2
      return 1
    fi
    useradd --system --home-dir /var/lib/onshid --no-create-home --shell /usr/sbin/nologin onshid
    echo "install-deps: created system user onshid"
  fi
}

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  ensure_user
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or with sudo) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
ensure_user
