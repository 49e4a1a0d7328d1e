# shellcheck shell=bash disable=SC2034  # the arrays are for the sourcing script
# Sourced by deploy/container/build.sh and smoke.sh. probe_podman IMAGE sets
# the arrays podman_run_opts and podman_build_opts to what `podman run` and
# `podman build` need on this host (both empty where podman's defaults work).
#
# Podman's defaults fail in some sandboxes (the freshet build VM among them):
# crun refuses a host with hybrid cgroups ("cgroups in hybrid mode not
# supported, drop all controllers from cgroupv2"), and without
# CAP_SYS_RESOURCE the default container rlimits (nofile 1048576) cannot be
# set ("setrlimit `RLIMIT_NOFILE`: Operation not permitted"). runc copes with
# hybrid cgroups; the rlimits are then capped at what this process may grant
# (podman itself runs with 32768 processes at most).
podman_run_opts=()
podman_build_opts=()

probe_podman() {  # IMAGE
  podman_run_opts=()
  podman_build_opts=()
  podman run --rm --entrypoint true "$1" >/dev/null 2>&1 && return 0
  local nofile
  nofile=$(ulimit -Hn)
  [[ $nofile == unlimited ]] && nofile=1048576
  local opts=(--runtime runc --ulimit "nofile=$nofile:$nofile" --ulimit nproc=32768:32768)
  if ! podman run --rm "${opts[@]}" --entrypoint true "$1"; then
    echo "cannot run a container from $1 with podman's defaults nor with ${opts[*]}" >&2
    return 1
  fi
  echo "podman's default runtime fails here; using ${opts[*]}" >&2
  podman_run_opts=("${opts[@]}")
  podman_build_opts=(--runtime runc)
}
