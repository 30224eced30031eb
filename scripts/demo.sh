#!/usr/bin/env bash
# The README's build-and-run command (`npm run demo`): sets up, builds
# runner-base (from local base images when no registry is reachable) and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
bash scripts/setup.sh
bun run build
bun run bases
bun run image
engine=${RUNNER_ENGINE:-$(command -v podman || command -v docker)}
if [[ "$engine" == *podman && -z "${CONTAINERS_CONF:-}" ]]; then export CONTAINERS_CONF="$PWD/scripts/containers.conf"; fi
image="localhost/runner-base:$(node -p 'require("./package.json").version')"
set -x
"$engine" run --rm "$image"
"$engine" run --rm "$image" version
"$engine" run --rm "$image" info
"$engine" run --rm --user 123456:0 --read-only "$image" check
