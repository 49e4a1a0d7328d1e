#!/usr/bin/env bash
# Builds freshet and runs its whole test suite, unit and integration, on a
# Debian bookworm machine: installs missing build and test dependencies with
# apt, configures and builds into build/, then runs ctest. Integration tests
# start their own PostgreSQL 15 clusters; none is ever skipped, and a skipped
# test fails the run.
#
# Usage: tests/run.sh [extra ctest arguments, e.g. -j2 or -R CopyRelay]
# Environment: FRESHET_WORKLOAD (default: ../shared/workload beside the repo),
#              FRESHET_PG_BIN (default: /usr/lib/postgresql/15/bin).
set -euo pipefail

die() {
  echo "tests/run.sh: $*" >&2
  exit 1
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Absolute (a relative FRESHET_WORKLOAD is taken from the caller's directory),
# because ctest runs each test from its own build directory.
workload=${FRESHET_WORKLOAD:-$repo/../shared/workload}
[[ -x $workload/load.sh ]] ||
  die "reference workload not found at $workload (expected load.sh; set FRESHET_WORKLOAD)"
FRESHET_WORKLOAD=$(cd "$workload" && pwd)
export FRESHET_WORKLOAD
cd "$repo"

"$repo/deploy/install-deps.sh"

# What the integration tests need at run time: fail now, with a clear message,
# rather than in every test.
pg_bin=${FRESHET_PG_BIN:-/usr/lib/postgresql/15/bin}
for program in initdb pg_ctl postgres psql; do
  [[ -x $pg_bin/$program ]] || die "$pg_bin/$program not found (set FRESHET_PG_BIN)"
done
if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
  die "running as root, but the OS user 'postgres' that runs the test clusters does not exist"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFRESHET_BUILD_TESTS=ON
cmake --build build -j"$(nproc)"

log=$(mktemp "${TMPDIR:-/tmp}/freshet-ctest-XXXXXX")
trap 'rm -f "$log"' EXIT
ctest --test-dir build --output-on-failure --no-tests=error "$@" 2>&1 | tee "$log"
if grep -q '\*\*\*Skipped' "$log"; then
  die "some tests were skipped (see above); the suite must run every test"
fi
