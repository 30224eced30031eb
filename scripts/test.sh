#!/usr/bin/env bash
# The README's test command (`npm test`): sets up, type-checks, builds the
# binary, the base images, runner-base/runner-sdk and the example images,
# then runs every test (unit, binary, image, examples) in one `bun test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
step() { printf '\n=== %s (%ss)\n' "$1" "$SECONDS"; }

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
step bases;     bun run bases
step image;     bun run image
step examples;  bun run examples
step "bun test"
mkdir -p .cache
set +e
bun test --timeout 120000 2>&1 | tee .cache/test.log
status=${PIPESTATUS[0]}
set -e
# One closing line that any CI can read: "tests: N passed, N failed, N skipped".
count() { grep -E "^ +[0-9]+ $1\$" .cache/test.log | tail -1 | tr -dc 0-9; }
printf '\ntests: %s passed, %s failed, %s skipped\n' "$(count pass || echo 0)" "$(count fail || echo 0)" "$(count skip || echo 0)"
echo "total time: ${SECONDS}s"
exit "$status"
