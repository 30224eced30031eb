#!/usr/bin/env bash
# The README's test command (`npm test`): sets up, type-checks, builds the
# binary, then on each engine (podman and docker) the base images,
# runner-base/runner-sdk and the example images, then runs every test (unit,
# binary, image, examples; the image and example tests once per engine) in
# one `bun test`.
#
# docker: a private daemon (scripts/dockerd.ts: its own data root and socket
# in .cache/dockerd, no bridge, no iptables) is started here, by pid, unless
# DOCKER_HOST names one that answers, and stopped when this script ends,
# whatever the outcome (trap). RUNNER_ENGINES=podman (or docker) limits the
# run to one engine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
step() { printf '\n=== %s (%ss)\n' "$1" "$SECONDS"; }
ENGINES=${RUNNER_ENGINES:-podman,docker}

# Multi-platform (docs/IMAGE.md): on an amd64 machine with podman the images
# are also built for linux/arm64 and tested under qemu (test/image/arm64.test.ts).
# RUNNER_SKIP_ARM64=1 opts out; a RUNNER_PLATFORMS already set is kept.
if [ -z "${RUNNER_PLATFORMS+x}" ] && [ "${RUNNER_SKIP_ARM64:-}" != 1 ] \
   && [ "$(uname -m)" = x86_64 ] && [ "${RUNNER_ENGINE:-podman}" = podman ]; then
  export RUNNER_PLATFORMS=linux/amd64,linux/arm64
fi
echo "platforms: ${RUNNER_PLATFORMS:-host only}"

step setup;     bash scripts/setup.sh
step typecheck; bun run typecheck
step build;     bun run build

dockerd_dir="$PWD/.cache/dockerd"
started_dockerd=0
stop_dockerd() {
  if [ "$started_dockerd" = 1 ]; then
    bun scripts/dockerd.ts stop "$dockerd_dir" || true
  fi
}
trap stop_dockerd EXIT
if [[ ",$ENGINES," == *,docker,* ]]; then
  if [ -n "${DOCKER_HOST:-}" ] && /usr/bin/docker version >/dev/null 2>&1; then
    echo "test: using the docker daemon at DOCKER_HOST=$DOCKER_HOST"
  else
    step dockerd
    bun scripts/dockerd.ts status "$dockerd_dir" || started_dockerd=1
    export "$(bun scripts/dockerd.ts start "$dockerd_dir")"   # DOCKER_HOST=unix://…/docker.sock
  fi
fi

declare -A seconds=()
IFS=, read -ra engines <<<"$ENGINES"
for engine in "${engines[@]}"; do
  t0=$SECONDS
  # Multi-platform builds are podman's (RUNNER_PLATFORMS); docker builds the build machine's platform.
  if [ "$engine" = podman ]; then on=(env RUNNER_ENGINE=podman); else on=(env -u RUNNER_PLATFORMS RUNNER_ENGINE="$engine"); fi
  step "bases ($engine)";    "${on[@]}" bun run bases
  step "image ($engine)";    "${on[@]}" bun run image
  step "examples ($engine)"; "${on[@]}" bun run examples
  seconds[$engine]=$((SECONDS - t0))
done

step "bun test"
mkdir -p .cache
set +e
RUNNER_ENGINES=$ENGINES bun test --timeout 120000 2>&1 | tee .cache/test.log
status=${PIPESTATUS[0]}
set -e
# One closing line that any CI can read: "tests: N passed, N failed, N skipped".
count() { grep -E "^ +[0-9]+ $1\$" .cache/test.log | tail -1 | tr -dc 0-9; }
printf '\ntests: %s passed, %s failed, %s skipped\n' "$(count pass || echo 0)" "$(count fail || echo 0)" "$(count skip || echo 0)"
for engine in "${engines[@]}"; do echo "images built on $engine in ${seconds[$engine]}s"; done
echo "total time: ${SECONDS}s"
exit "$status"
