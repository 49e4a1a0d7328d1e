#!/usr/bin/env bash
# The Debian package on a clean bookworm: builds freshet_VERSION_amd64.deb
# from the build tree with CPack, makes a fresh bookworm root with mmdebstrap
# (apt variant: nothing but Debian's essential packages and apt), installs the
# .deb there with apt (which must pull every library it needs from Debian),
# then checks, inside that root, `freshet --version`, the man page, the bash
# completion, the docs, and a real `freshet sync --verify` between two
# PostgreSQL clusters running on this machine.
#
# Usage: tests/deploy/check_package.sh BUILD_DIR     (as root; needs network
# access to the Debian mirror in /etc/apt/sources*, like apt itself)
set -euo pipefail

build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fail() {
  echo "check_package: FAIL: $*" >&2
  exit 1
}
[[ $(id -u) -eq 0 ]] || fail "must run as root (chroot, mmdebstrap --mode=root)"

CLUSTERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/freshet-package-XXXXXX")
root=$CLUSTERS_DIR/root
# shellcheck source=deploy/lib/clusters.sh
source "$repo/deploy/lib/clusters.sh"
cleanup() {
  stop_clusters  # also removes CLUSTERS_DIR, the root with it
}
trap cleanup EXIT

echo "== cpack"
(cd "$CLUSTERS_DIR" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$CLUSTERS_DIR/pkg" >/dev/null)
deb=$(ls "$CLUSTERS_DIR"/pkg/freshet_*_amd64.deb)
version=$(dpkg-deb -f "$deb" Version)
[[ $(basename "$deb") == "freshet_${version}_amd64.deb" ]] || fail "package file name $(basename "$deb")"
echo "$(basename "$deb"): $(du -k "$deb" | cut -f1) KiB; Depends: $(dpkg-deb -f "$deb" Depends)"

echo "== mmdebstrap bookworm (apt variant)"
mirror=$(awk '/^URIs:/ { print $2; exit } /^deb / { print $2; exit }' \
  /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)
mmdebstrap --quiet --variant=apt --mode=root bookworm "$root" "${mirror:-http://deb.debian.org/debian}"
chroot "$root" sh -c 'command -v freshet' && fail "freshet is in the fresh root before the install"

echo "== apt-get install ./$(basename "$deb")"
cp "$deb" "$root/tmp/"
chroot "$root" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends /tmp/$(basename "$deb")" >"$CLUSTERS_DIR/install.log" 2>&1 ||
  { cat "$CLUSTERS_DIR/install.log"; fail "apt-get install of the .deb failed"; }
in_root() { chroot "$root" "$@"; }

echo "== what it installed"
version_line=$(in_root freshet --version)
[[ $version_line =~ ^freshet\ $version\ \(git\ [0-9a-z.-]+\)$ ]] || fail "freshet --version: $version_line"
if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
  [[ $version_line == *"$(git -C "$repo" rev-parse --short=12 HEAD)"* ]] ||
    fail "freshet --version names another revision than HEAD: $version_line"
fi
echo "$version_line"
in_root sh -c 'ldd /usr/bin/freshet | grep "not found"' && fail "libraries missing"
in_root sh -c 'zcat /usr/share/man/man1/freshet.1.gz' | grep -q '^\.SS "freshet snapshot restore"' ||
  fail "the man page lacks the subcommands"
in_root sh -c 'zcat /usr/share/man/man1/freshet.1.gz' | grep -q -- '--allow-remote-target' ||
  fail "the man page lacks the options"
# shellcheck disable=SC2016 # expanded by the bash inside the root
completion=$(in_root bash -c 'source /usr/share/bash-completion/completions/freshet
  COMP_WORDS=(freshet snapshot restore --targets ""); COMP_CWORD=4; _freshet; echo "${COMPREPLY[*]}"
  COMP_WORDS=(freshet mig); COMP_CWORD=1; _freshet; echo "${COMPREPLY[*]}"')
[[ $completion == $'auto together in-turn\nmigrate' ]] || fail "bash completion gave: $completion"
for file in README.md copyright; do
  [[ -s $root/usr/share/doc/freshet/$file ]] || fail "/usr/share/doc/freshet/$file missing"
done
[[ -s $root/lib/systemd/system/freshet-refresh@.timer ]] || fail "systemd timer not installed"

echo "== freshet sync --verify from inside the root, between two clusters on this machine"
prod_port=$(free_port 56432)
start_cluster prod "$prod_port" -c fsync=off
dev_port=$(free_port $((prod_port + 1)))
start_cluster dev "$dev_port" -c fsync=off
prod=postgresql://postgres@127.0.0.1:$prod_port/postgres
dev=postgresql://postgres@127.0.0.1:$dev_port/postgres
psql_q() { "$PG_BIN/psql" "$1" -X -q -A -t -v ON_ERROR_STOP=1 -c "$2"; }
schema="CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2));"
psql_q "$prod" "$schema INSERT INTO items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 20000) g"
psql_q "$dev" "$schema INSERT INTO items VALUES (1, 'stale', 0)"
in_root freshet sync --from "$prod" --to "$dev" --verify ||
  fail "freshet sync from the installed package failed"
digest="SELECT md5(string_agg(i::text, ',' ORDER BY id)) FROM items i"
[[ $(psql_q "$dev" "$digest") == "$(psql_q "$prod" "$digest")" ]] || fail "rows differ after the sync"

echo "== apt-get remove"
in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq freshet' >/dev/null
[[ -e $root/usr/bin/freshet ]] && fail "/usr/bin/freshet left behind by apt-get remove"
echo "check_package: OK"
