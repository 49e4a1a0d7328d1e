#!/usr/bin/env bash
# Checks deploy/systemd/: the units load cleanly, the service is as hardened as
# measured, the timer fires when it should, and the service's ExecStart line,
# run as written, really refreshes a database.
#
# Usage: tests/deploy/check_systemd.sh FRESHET_BINARY      (e.g. build/freshet)
#
# 1. `systemd-analyze verify` of freshet-refresh@dev.{service,timer} against a
#    temporary root (--root=) holding the units, this host's own
#    /usr/lib/systemd/system (sysinit.target, network-online.target, ...) and
#    a copy of FRESHET_BINARY as /usr/bin/freshet, so the "is ExecStart
#    executable" check looks at the binary under test and nothing is written
#    outside the temporary directory. Any output at all fails: verify exits 0
#    on warnings such as an unknown key.
# 2. `systemd-analyze security --offline=yes`: the exposure score must not be
#    above MAX_EXPOSURE, and every item that still scores must be one of the
#    ACCEPTED_EXPOSURES below (each inherent to a network client).
# 3. The timer: OnCalendar normalises to "Sun *-*-* 02:00:00 UTC",
#    Persistent=true, a RandomizedDelaySec between 1 s and 1 h, WantedBy
#    timers.target. The service: Type=oneshot, every hardening setting of
#    required_settings as written, TimeoutStartSec between 1 h and 12 h,
#    --verify in ExecStart, no URL in the unit or the example config, every
#    ${CREDENTIALS_DIRECTORY}/NAME the example config reads is a
#    LoadCredential= of the unit.
# 4. The run: two throwaway PostgreSQL 15 clusters (deploy/lib/clusters.sh), a
#    source with two tables and a target with the same schema and stale rows.
#    The URLs go into the credential files at their install paths in the
#    temporary root; each LoadCredential= line is carried out (file copied to
#    $CREDENTIALS_DIRECTORY/ID); example.toml is installed as
#    /etc/freshet/dev.toml; then the ExecStart line, parsed from the unit with
#    %i, ${STATE_DIRECTORY} and ${CREDENTIALS_DIRECTORY} substituted and
#    /usr/bin/freshet, /etc/freshet/ mapped into the temporary root, runs with
#    only the environment systemd gives it, the unit's UMask=, no new
#    privileges, no capabilities, MemoryDenyWriteExecute (prctl PR_SET_MDWE)
#    and, when run as root, as the unprivileged user `nobody` (DynamicUser=).
#    The target's rows must then equal the source's (count and md5), and the
#    summary must be in $STATE_DIRECTORY with mode 0600. When this machine has
#    a non-loopback IPv4 address, the target is reached through it, so it
#    counts as remote and the run only succeeds because the config says
#    allow_writes = true; the same command with that line removed must be
#    refused (exit 5).
#
# Not modelled (needs systemd as PID 1): the seccomp filter, namespaces and
# mount restrictions of the sandbox.
#
# Environment: FRESHET_PG_BIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail

usage() {
  echo "usage: $0 FRESHET_BINARY" >&2
  exit 2
}
[[ $# -eq 1 ]] || usage
freshet_bin=$(realpath -e -- "$1") || usage
[[ -x $freshet_bin ]] || usage

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
units=$repo/deploy/systemd
service_file=$units/freshet-refresh@.service
timer_file=$units/freshet-refresh@.timer
example_config=$units/example.toml
instance=dev

# Measured on Debian bookworm's systemd 252 for the unit as committed: 1.1.
# The score is in tenths (security --threshold= takes 11 for 1.1). Any
# hardening line removed raises it or adds an item outside the accepted list.
max_exposure=11
# What still scores, and why it must:
#   PrivateNetwork=, IPAddressDeny=, RestrictAddressFamilies=~AF_(INET|INET6):
#     freshet connects to databases whose addresses the template cannot know;
#   RestrictAddressFamilies=~AF_UNIX: local socket targets, nss lookups;
#   RootDirectory=/RootImage=: the binary and its libraries are the host's;
#   DeviceAllow=: the read access to /dev/rtc that ProtectClock= itself adds.
accepted_exposures=(
  "PrivateNetwork="
  "IPAddressDeny="
  "RestrictAddressFamilies=~AF_(INET|INET6)"
  "RestrictAddressFamilies=~AF_UNIX"
  "RootDirectory=/RootImage="
  "DeviceAllow="
)
expected_calendar="Sun *-*-* 02:00:00 UTC"

failures=0
fail() {
  echo "check_systemd.sh: FAIL: $*" >&2
  failures=$((failures + 1))
}
die() {
  echo "check_systemd.sh: $*" >&2
  exit 1
}
note() { echo "check_systemd.sh: $*" >&2; }

for tool in systemd-analyze python3 psql setpriv; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/freshet-check-systemd-XXXXXX")
chmod 0711 "$work"  # the cluster servers run as postgres and must reach $work/clusters
CLUSTERS_DIR=$work/clusters
# shellcheck source=deploy/lib/clusters.sh
source "$repo/deploy/lib/clusters.sh"
cleanup() {
  stop_clusters
  rm -rf "$work"
}
trap cleanup EXIT

# unit_values FILE SECTION KEY: every value of KEY in [SECTION], one a line,
# with continuation lines joined; comments and blank lines skipped.
unit_values() {
  awk -v want_section="[$2]" -v want_key="$3" '
    function emit(line,   key, value) {
      if (section != want_section) return
      key = line; sub(/[ \t]*=.*/, "", key)
      if (key != want_key) return
      value = line; sub(/^[^=]*=[ \t]*/, "", value)
      print value
    }
    {
      line = $0
      if (pending != "") { line = pending " " line; pending = "" }
      if (line ~ /\\$/) { pending = substr(line, 1, length(line) - 1); next }
      if (line ~ /^[ \t]*([#;]|$)/) next
      if (line ~ /^\[.*\][ \t]*$/) { section = line; sub(/[ \t]*$/, "", section); next }
      emit(line)
    }' "$1"
}

# one_value FILE SECTION KEY: prints the single value of KEY; when there is
# not exactly one, prints what is wrong instead and returns 1 (the caller
# reports it: a fail inside $(...) would be lost with the subshell).
one_value() {
  local values count
  values=$(unit_values "$@")
  count=$(grep -c . <<<"$values" || true)
  if [[ $count -ne 1 ]]; then
    echo "$(basename "$1"): expected exactly one $3= in [$2], found $count"
    return 1
  fi
  printf '%s\n' "$values"
}

is_true() { [[ ${1,,} =~ ^(1|yes|y|true|t|on)$ ]]; }

# --- 1. systemd-analyze verify against a temporary root ----------------------
root=$work/root
mkdir -p "$root/usr/bin" "$root/usr/lib/systemd" "$root/etc/systemd/system"
cp "$freshet_bin" "$root/usr/bin/freshet"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$service_file" "$timer_file" "$units/freshet-serve.service" "$root/etc/systemd/system/"

verify_output=$(systemd-analyze verify --root="$root" --man=no \
  "freshet-refresh@$instance.service" "freshet-refresh@$instance.timer" \
  freshet-serve.service 2>&1) &&
  verify_status=0 || verify_status=$?
if [[ $verify_status -ne 0 || -n $verify_output ]]; then
  fail "systemd-analyze verify (exit $verify_status) printed:"$'\n'"$verify_output"
else
  note "ok: systemd-analyze verify freshet-refresh@$instance.service/.timer, freshet-serve.service: no warnings"
fi

# --- 2. systemd-analyze security --------------------------------------------
security_json=$(systemd-analyze security --offline=yes --root="$root" --no-pager \
  --json=short "freshet-refresh@$instance.service" 2>&1) ||
  fail "systemd-analyze security --offline=yes failed: $security_json"
security_text=$(systemd-analyze security --offline=yes --root="$root" --no-pager \
  "freshet-refresh@$instance.service" 2>&1 || true)
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$security_text")
if [[ -z $score ]]; then
  fail "systemd-analyze security printed no overall exposure level:"$'\n'"$security_text"
elif ! systemd-analyze security --offline=yes --root="$root" --no-pager \
  --threshold="$max_exposure" "freshet-refresh@$instance.service" >/dev/null 2>&1; then
  fail "freshet-refresh@.service: exposure $score is above the measured $((max_exposure / 10)).$((max_exposure % 10))"
else
  note "ok: systemd-analyze security: exposure $score (limit $((max_exposure / 10)).$((max_exposure % 10)))"
fi
unexpected=$(python3 -c '
import json, sys
accepted = set(sys.argv[1:])
for item in json.loads(sys.stdin.read()):
    exposure = item.get("exposure")
    if exposure and float(exposure) > 0 and item["name"] not in accepted:
        print("%s (%s): %s" % (item["name"], exposure, item["description"]))
' "${accepted_exposures[@]}" <<<"$security_json" 2>&1) ||
  fail "cannot read systemd-analyze security --json output: $unexpected"
[[ -z $unexpected ]] ||
  fail "freshet-refresh@.service: exposures beyond the accepted ones:"$'\n'"$unexpected"

# --- 3. the timer's and the service's fields --------------------------------
timer=$(basename "$timer_file")
if calendar=$(one_value "$timer_file" Timer OnCalendar); then
  normalized=$(systemd-analyze calendar "$calendar" 2>&1 |
    sed -n 's/^ *Normalized form: //p') || true
  if [[ $normalized != "$expected_calendar" ]]; then
    fail "$timer: OnCalendar=$calendar normalises to '$normalized', expected '$expected_calendar'"
  else
    note "ok: $timer: OnCalendar=$calendar (normalised: $normalized)"
  fi
else
  fail "$calendar"
fi
if persistent=$(one_value "$timer_file" Timer Persistent); then
  is_true "$persistent" || fail "$timer: Persistent=$persistent, expected true"
else
  fail "$persistent"
fi
if delay=$(one_value "$timer_file" Timer RandomizedDelaySec); then
  delay_us=$(systemd-analyze timespan "$delay" 2>/dev/null | sed -n 's/^ *μs: //p') || true
  if [[ ! $delay_us =~ ^[0-9]+$ ]]; then
    fail "$timer: RandomizedDelaySec=$delay is not a time span"
  elif ((delay_us < 1000000 || delay_us > 3600000000)); then
    fail "$timer: RandomizedDelaySec=$delay, expected between 1s and 1h"
  fi
else
  fail "$delay"
fi
wanted_by=$(unit_values "$timer_file" Install WantedBy)
grep -qxF timers.target <<<"$wanted_by" || fail "$timer: [Install] WantedBy=timers.target missing"
if [[ -n $(unit_values "$timer_file" Timer Unit) ]]; then
  fail "$timer: Unit= set; the timer must start the service of the same instance"
fi

service=$(basename "$service_file")
if type=$(one_value "$service_file" Service Type); then
  [[ $type == oneshot ]] || fail "$service: Type=$type, expected oneshot"
else
  fail "$type"
fi
for file in "$service_file" "$timer_file" "$example_config"; do
  if grep -nE '^[^#;]*(postgres(ql)?://|password)' "$file" >/dev/null; then
    fail "$(basename "$file"): a connection URL or password outside comments (secrets belong in credential files)"
  fi
done
# The hardening the README promises, each exactly as written. Some are
# implied by others (DynamicUser= implies ProtectSystem=strict, so
# `security` does not notice it missing); required explicitly all the same,
# so the unit says what it does and a later edit cannot drop one silently.
required_settings=(
  DynamicUser=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes
  NoNewPrivileges=yes "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"
  SystemCallFilter=@system-service SystemCallArchitectures=native CapabilityBoundingSet=
  MemoryDenyWriteExecute=yes LockPersonality=yes RestrictNamespaces=yes RestrictRealtime=yes
  RestrictSUIDSGID=yes ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes
  ProtectControlGroups=yes ProtectClock=yes ProtectHostname=yes UMask=0077
  StateDirectory=freshet Restart=no
)
for setting in "${required_settings[@]}"; do
  values=$(unit_values "$service_file" Service "${setting%%=*}")
  grep -qxF -- "${setting#*=}" <<<"$values" ||
    fail "$service: expected $setting in [Service], found: ${values:-nothing}"
done
if timeout=$(one_value "$service_file" Service TimeoutStartSec); then
  timeout_us=$(systemd-analyze timespan "$timeout" 2>/dev/null | sed -n 's/^ *μs: //p') || true
  if [[ ! $timeout_us =~ ^[0-9]+$ ]] || ((timeout_us < 3600000000 || timeout_us > 43200000000)); then
    fail "$service: TimeoutStartSec=$timeout, expected between 1h and 12h (oneshot units have no start timeout by default: a stuck run would hang forever)"
  fi
else
  fail "$timeout"
fi
exec_line=$(unit_values "$service_file" Service ExecStart)
[[ " $exec_line " == *" --verify "* ]] || fail "$service: ExecStart= lacks --verify"

declare -A credential_path=()
while IFS= read -r credential; do
  [[ -n $credential ]] || continue
  [[ $credential == *:/* ]] || { fail "$service: LoadCredential=$credential has no absolute path"; continue; }
  credential_path[${credential%%:*}]=${credential#*:}
done < <(unit_values "$service_file" Service LoadCredential)
# shellcheck disable=SC2016  # a literal ${CREDENTIALS_DIRECTORY} in the config
while IFS= read -r name; do
  [[ -n ${credential_path[$name]:-} ]] ||
    fail "example.toml reads \${CREDENTIALS_DIRECTORY}/$name, but $service has no LoadCredential=$name:..."
done < <(sed -n 's/^[^#]*url_file *= *"${CREDENTIALS_DIRECTORY}\/\([^"]*\)".*/\1/p' "$example_config")

# --- 4. run the ExecStart line ------------------------------------------------
exec_start=$(one_value "$service_file" Service ExecStart) || die "$exec_start"
for key in Environment EnvironmentFile ExecStartPre ExecStartPost User Group WorkingDirectory; do
  [[ -z $(unit_values "$service_file" Service "$key") ]] ||
    die "$service sets $key=, which this check does not model; extend it"
done
state_name=$(one_value "$service_file" Service StateDirectory) || die "$state_name"
umask_value=$(one_value "$service_file" Service UMask) || die "$umask_value"

exec_start=${exec_start#[-@:+!]}
exec_start=${exec_start#[-@:+!]}
[[ $exec_start != *[\"\'\\]* ]] || die "ExecStart= has quotes or escapes, which this check does not parse: $exec_start"
read -ra words <<<"$exec_start"
state_dir=$root/var/lib/$state_name
credentials_dir=$work/credentials
# shellcheck disable=SC2016  # the literal text systemd substitutes
state_var='${STATE_DIRECTORY}' credentials_var='${CREDENTIALS_DIRECTORY}'
command_line=()
for word in "${words[@]}"; do
  word=${word//%%/$'\x01'}
  word=${word//%i/$instance}
  [[ $word != *%* ]] || die "ExecStart= uses a specifier this check does not model: $word"
  word=${word//$'\x01'/%}
  word=${word//"$state_var"/$state_dir}
  word=${word//"$credentials_var"/$credentials_dir}
  [[ $word != *'$'* ]] || die "ExecStart= uses a variable this check does not model: $word"
  word=${word//\/etc\/freshet\//$root/etc/freshet/}
  command_line+=("$word")
done
[[ ${command_line[0]} == /usr/bin/freshet ]] ||
  die "ExecStart= runs ${words[0]}, expected /usr/bin/freshet"
command_line[0]=$root/usr/bin/freshet
note "ExecStart= as run: ${command_line[*]#"$root"}"

pg_bin=${FRESHET_PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x $pg_bin/initdb ]] || die "$pg_bin/initdb not found (set FRESHET_PG_BIN)"
mkdir -p "$CLUSTERS_DIR"
source_port=$(free_port 56432)
start_cluster source "$source_port"
remote_ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' |
  grep -v '^127\.' | head -n1 || true)
target_port=$(free_port $((source_port + 1)))
if [[ -n $remote_ip ]]; then
  start_cluster target "$target_port" -c "listen_addresses=127.0.0.1,$remote_ip"
  echo "host all all $remote_ip/32 trust" >>"$CLUSTERS_DIR/target/pg_hba.conf"
  psql -qAtX -h 127.0.0.1 -p "$target_port" -U postgres -c 'SELECT pg_reload_conf()' >/dev/null
  target_host=$remote_ip
else
  note "no non-loopback IPv4 address: the target is local, allow_writes is not exercised"
  start_cluster target "$target_port"
  target_host=127.0.0.1
fi
note "source: 127.0.0.1:$source_port; target: $target_host:$target_port"
source_url="postgres://postgres@127.0.0.1:$source_port/postgres"
target_url="postgres://postgres@$target_host:$target_port/postgres"

schema='
CREATE TABLE public.customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.orders (id bigint PRIMARY KEY,
  customer_id int NOT NULL REFERENCES public.customers, total numeric(10,2), placed date);'
psql -qX -v ON_ERROR_STOP=1 "$source_url" >/dev/null <<SQL
$schema
INSERT INTO public.customers SELECT i, 'customer ' || i FROM generate_series(1, 200) i;
INSERT INTO public.orders SELECT i, 1 + i % 200, (i * 7 % 1000) / 3.0,
  date '2026-01-01' + i % 300 FROM generate_series(1, 5000) i;
SQL
psql -qX -v ON_ERROR_STOP=1 "$target_url" >/dev/null <<SQL
$schema
INSERT INTO public.customers VALUES (1, 'stale'), (999, 'only in dev');
INSERT INTO public.orders VALUES (1, 999, 1.00, '2020-01-01');
SQL

# The credential files where the README installs them, then what
# LoadCredential= does with them.
install -d -m 0700 "$root/etc/freshet/credentials/$instance"
printf '%s\n' "$source_url" >"$root/etc/freshet/credentials/$instance/source-url"
printf '%s\n' "$target_url" >"$root/etc/freshet/credentials/$instance/target-url"
chmod 0600 "$root/etc/freshet/credentials/$instance/"*
install -m 0644 "$example_config" "$root/etc/freshet/$instance.toml"
mkdir -p "$credentials_dir" "$state_dir"
for name in "${!credential_path[@]}"; do
  path=${credential_path[$name]//%i/$instance}
  cp "$root$path" "$credentials_dir/$name" ||
    fail "LoadCredential=$name:${credential_path[$name]}: no such file in the installed layout"
done

# As systemd would run it: a fresh unprivileged user, only systemd's
# environment, the unit's umask, no capabilities, no new privileges, no
# writable-and-executable memory.
run_as=()
if [[ $(id -u) -eq 0 ]]; then
  chown -R nobody: "$credentials_dir" "$state_dir"
  chmod 0755 "$work" "$root" "$root/etc" "$root/var" "$root/var/lib"
  run_as=(--reuid=nobody --regid=nogroup --clear-groups --bounding-set=-all --inh-caps=-all)
fi
chmod 0500 "$credentials_dir"
chmod 0400 "$credentials_dir"/*
chmod 0750 "$state_dir"
run_unit_command() {  # CONFIG_FILE: run the command line with --config's file replaced
  local -a line=("${command_line[@]}")
  local i
  for i in "${!line[@]}"; do
    [[ ${line[i]} == "$root/etc/freshet/$instance.toml" ]] && line[i]=$1
  done
  (
    umask "$umask_value"
    exec env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
      CREDENTIALS_DIRECTORY="$credentials_dir" STATE_DIRECTORY="$state_dir" \
      setpriv --no-new-privs "${run_as[@]}" \
      python3 -c 'import ctypes, os, sys
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0):
    sys.exit("prctl(PR_SET_MDWE) failed: errno %d" % ctypes.get_errno())
os.execv(sys.argv[1], sys.argv[1:])' "${line[@]}"
  )
}

run_log=$work/run.log
if run_unit_command "$root/etc/freshet/$instance.toml" >"$run_log" 2>&1; then
  note "ok: the unit's command exited 0"
else
  status=$?
  fail "the unit's command exited $status; its output:"$'\n'"$(cat "$run_log")"
fi

table_digest() {  # URL TABLE: row count and md5 of the rows in key order
  psql -qAtX -v ON_ERROR_STOP=1 "$1" -c \
    "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM $2 t"
}
for table in public.customers public.orders; do
  expected=$(table_digest "$source_url" "$table")
  actual=$(table_digest "$target_url" "$table")
  if [[ $expected != "$actual" ]]; then
    fail "$table on the target: rows/md5 '$actual', expected the source's '$expected'"
  else
    note "ok: $table arrived: $actual"
  fi
done

summary=$state_dir/$instance-last-run.md
if [[ ! -s $summary ]]; then
  fail "no summary at \${STATE_DIRECTORY}/$instance-last-run.md"
else
  mode=$(stat -c %a "$summary")
  [[ $mode == 600 ]] || fail "summary mode $mode, expected 600 (UMask=$umask_value)"
  grep -q 'public.orders' "$summary" || fail "the summary does not name public.orders"
  grep -q '| equal |' "$summary" || fail "the summary shows no verification result (--verify)"
  grep -qF "$source_port" "$summary" || note "(the summary does not show the source's port)"
  if grep -qE 'postgres://|password' "$summary"; then fail "the summary shows a URL"; fi
  note "ok: summary written ($(wc -c <"$summary") bytes, mode $mode):"
  sed 's/^/    /' "$summary" >&2
fi

if [[ -n $remote_ip ]]; then
  no_writes=$work/no-allow-writes.toml
  grep -v '^allow_writes *=' "$example_config" >"$no_writes"
  chmod 0644 "$no_writes"
  refused_status=0
  run_unit_command "$no_writes" >"$run_log" 2>&1 || refused_status=$?
  if [[ $refused_status -ne 5 ]]; then
    fail "without allow_writes, the remote target ($target_host) was not refused: exit $refused_status, expected 5:"$'\n'"$(cat "$run_log")"
  else
    note "ok: without allow_writes = true the remote target is refused (exit 5)"
  fi
fi

if ((failures > 0)); then
  echo "check_systemd.sh: $failures check(s) failed" >&2
  exit 1
fi
echo "check_systemd.sh: all checks passed"
