#!/usr/bin/env bash
# Installs what freshet needs to build, test and run on Debian bookworm, with
# apt, skipping packages already installed. Used by tests/run.sh and
# deploy/quickstart.sh. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libpq-dev libssl-dev libzstd-dev zstd libxxhash-dev libboost-dev libfmt-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev libpg-query-dev libcli11-dev
  libtomlplusplus-dev nlohmann-json3-dev
  postgresql-15 postgresql-client-15
  pgbouncer help2man yamllint shellcheck mmdebstrap python3 python3-yaml
  bc time procps util-linux jq
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$package")
done
((${#missing[@]} == 0)) && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}); run as root or install sudo" >&2
  exit 1
fi
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
