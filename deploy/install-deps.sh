#!/usr/bin/env bash
# Installs what freshet needs to build, test and run on Debian bookworm, with
# apt, skipping packages already installed. Used by tests/run.sh and
# deploy/quickstart.sh. Needs root (or sudo) only when something is missing.
#
# Usage: deploy/install-deps.sh [--build-only | --only PACKAGE...]
#   --build-only  only what `cmake --build --target freshet` needs with
#                 -DFRESHET_BUILD_TESTS=OFF -DFRESHET_BUILD_BENCH=OFF (no
#                 PostgreSQL server, test libraries or tools); used by the
#                 container image's build stage (deploy/container/Containerfile).
#   --only P...   just these packages (deploy/container/build.sh's podman).
set -euo pipefail

# Enough to build the freshet binary (a Release build without tests/bench).
build_packages=(
  build-essential cmake pkg-config
  libpq-dev libssl-dev libzstd-dev libxxhash-dev libboost1.81-dev libfmt-dev libspdlog-dev
  libsqlite3-dev libsqlitecpp-dev libhowardhinnant-date-dev tzdata
  libpg-query-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
)
# Everything else the tests, benchmarks, demo and packaging checks use.
other_packages=(
  git zstd
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql-15 postgresql-client-15
  pgbouncer help2man yamllint shellcheck mmdebstrap python3 python3-yaml
  chromium chromium-driver python3-selenium python3-prometheus-client python3-jsonschema
  bc time procps util-linux jq openssl
)

case ${1:-} in
  "") packages=("${build_packages[@]}" "${other_packages[@]}") ;;
  --build-only) packages=("${build_packages[@]}") ;;
  --only) packages=("${@:2}") ;;
  *)
    echo "usage: $0 [--build-only | --only PACKAGE...]" >&2
    exit 2
    ;;
esac

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
