#!/usr/bin/env bash
# Builds the freshet container image (deploy/container/Containerfile) with
# podman on Debian bookworm, without needing a container registry: the Debian
# base image is made locally with mmdebstrap (minbase, docs/man/locales left
# out like debian:bookworm-slim) and imported as localhost/debian:bookworm-slim.
# Installs podman, runc and mmdebstrap with apt when missing (root or sudo).
#
# Usage: deploy/container/build.sh [NAME [TAG]]
#   NAME  image name (default localhost/freshet), TAG (default: the version
#   from CMakeLists.txt). Prints the image size and runs `--version` in it.
# Environment:
#   BASE=local|registry  local (default): mmdebstrap base; registry: the
#                        Containerfile's default docker.io Debian images
#   REBUILD_BASE=1       remake the local base even if it exists
#   JOBS=N               compile jobs inside the build (default: nproc)
#   WITH_PG_SERVER=1     include postgresql-15 for `migrate shadow` without
#                        --shadow-url (a much larger image)
#   MIRROR               Debian mirror for the local base
#                        (default http://deb.debian.org/debian)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
version=$(sed -n 's/^project(freshet VERSION \([^ )]*\).*/\1/p' "$repo/CMakeLists.txt")
name=${1:-localhost/freshet}
tag=${2:-${version:-dev}}
image=$name:$tag
base_mode=${BASE:-local}
local_base=localhost/debian:bookworm-slim
mirror=${MIRROR:-http://deb.debian.org/debian}

case $base_mode in
  local) packages=(podman runc mmdebstrap) ;;
  registry) packages=(podman runc) ;;
  *)
    echo "build.sh: BASE must be local or registry, not '$base_mode'" >&2
    exit 2
    ;;
esac

"$repo/deploy/install-deps.sh" --only "${packages[@]}"

build_args=()
if [[ $base_mode == local ]]; then
  if [[ ${REBUILD_BASE:-0} == 1 ]] || ! podman image exists "$local_base"; then
    echo "build.sh: making $local_base with mmdebstrap" >&2
    # Through a file, so that a failed mmdebstrap imports no partial base.
    base_tar=$(mktemp "${TMPDIR:-/tmp}/freshet-base-XXXXXX.tar")
    trap 'rm -f "$base_tar"' EXIT
    # The merged-usr hook avoids the usrmerge package (and the perl it pulls
    # in); the dpkg path excludes are what makes debian:*-slim slim, and they
    # stay in the image (/etc/dpkg/dpkg.cfg.d) for later apt installs.
    mmdebstrap --variant=minbase --mode=auto \
      --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      bookworm "$base_tar" \
      "deb $mirror bookworm main" \
      "deb $mirror bookworm-updates main" \
      "deb ${mirror%/debian}/debian-security bookworm-security main"
    podman import --change 'CMD ["bash"]' "$base_tar" "$local_base" >/dev/null
    rm -f "$base_tar"
  fi
  build_args+=(--build-arg "BUILD_IMAGE=$local_base" --build-arg "BASE_IMAGE=$local_base")
  probe_image=$local_base
else
  probe_image=docker.io/library/debian:bookworm-slim
fi

# shellcheck source=deploy/container/podman-opts.sh
source "$repo/deploy/container/podman-opts.sh"
probe_podman "$probe_image"

revision=$(git -C "$repo" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
[[ -n ${JOBS:-} ]] && build_args+=(--build-arg "JOBS=$JOBS")
[[ -n ${WITH_PG_SERVER:-} ]] && build_args+=(--build-arg "WITH_PG_SERVER=$WITH_PG_SERVER")
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
build_args+=(
  --build-arg "FRESHET_GIT_REVISION=$revision"
  --build-arg "FRESHET_VERSION=${version:-unknown}"
  --build-arg "CREATED=$created"
  # Buildah 1.28 reuses a cached LABEL layer even when the ARG in it changed,
  # so the changing labels are also set directly (applied after the cache).
  --label "org.opencontainers.image.revision=$revision"
  --label "org.opencontainers.image.version=${version:-unknown}"
  --label "org.opencontainers.image.created=$created"
)

start=$(date +%s)
podman build "${podman_build_opts[@]}" "${build_args[@]}" \
  -f "$repo/deploy/container/Containerfile" -t "$image" "$repo"
seconds=$(($(date +%s) - start))

size=$(podman image inspect --format '{{.Size}}' "$image")
echo "build.sh: built $image in ${seconds}s, $((size / 1000000)) MB ($size bytes)"
podman run --rm "${podman_run_opts[@]}" "$image" --version
if ((${#podman_run_opts[@]} > 0)); then
  echo "build.sh: run it here with: podman run --rm ${podman_run_opts[*]} $image ..."
fi
