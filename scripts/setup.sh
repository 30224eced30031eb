#!/usr/bin/env bash
# Installs what the build, the tests and the benchmark need on a Debian or
# Ubuntu machine that has only Node.js and npm: the container engine and
# base-image tools (Debian packages), then the pinned dev tools (npm ci).
# Idempotent: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# libcap2-bin (setcap), gcc and libc6-dev (small C helpers: a raw execve, a
# setuid(0) probe) are for test/hostile/exec-transparency.test.ts; perl (with
# Time::HiRes) runs the timing loop of `bun run bench` (bench/pairs.pl).
PACKAGES=(podman buildah runc catatonit debootstrap uidmap fuse-overlayfs util-linux hyperfine tini dumb-init strace time perl
  docker.io rsync qemu-user-static binfmt-support libcap2-bin skopeo gcc libc6-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
node_modules/.bin/bun --version >/dev/null
