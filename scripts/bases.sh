#!/usr/bin/env bash
# bun run bases [--force]
#
# Builds the two base images that the Containerfile needs, without any
# container registry (air-gapped CI, and build machines that have none):
#   localhost/runner-bases/debian:bookworm-slim  debootstrap (minbase) from the
#                                                Debian mirror apt already uses
#   localhost/runner-bases/bun:BUN_VERSION       that image plus the bun binary
#                                                of the npm package (npm ci first)
# An image that already exists is kept unless --force is given.
# Environment: RUNNER_ENGINE (podman or docker; default podman, then docker),
# RUNNER_DEBIAN_MIRROR (default: the first bookworm URI in apt's sources),
# CONTAINERS_CONF (default for podman: scripts/containers.conf).
# Needs root (debootstrap), debootstrap and the engine. Errors are one line.
set -euo pipefail

die() { echo "bases: $*" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITE=bookworm
DEBIAN_TAG=localhost/runner-bases/debian:bookworm-slim

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    *) die "unknown argument '$arg' (usage: bun run bases [--force])" ;;
  esac
done

# ------------------------------------------------------------------ engine
if [ -n "${RUNNER_ENGINE:-}" ]; then
  ENGINE=$(command -v "$RUNNER_ENGINE" || true)
  [ -n "$ENGINE" ] || die "RUNNER_ENGINE=$RUNNER_ENGINE is not on PATH"
else
  ENGINE=$(command -v podman || command -v docker || true)
  [ -n "$ENGINE" ] || die "no container engine: install podman or docker (or set RUNNER_ENGINE)"
fi
if [ "$(basename "$ENGINE")" = podman ] && [ -z "${CONTAINERS_CONF:-}" ]; then
  export CONTAINERS_CONF="$ROOT/scripts/containers.conf"
fi
exists() { "$ENGINE" image inspect "$1" >/dev/null 2>&1; }
# docker's legacy builder refuses COPY --chmod (below): use BuildKit.
[ "$(basename "$ENGINE")" = docker ] && export DOCKER_BUILDKIT=1

# ------------------------------------------------------------ bun version
BUN_VERSION=$(sed -n 's/^ *"bun": *"\([^"]*\)".*/\1/p' "$ROOT/package.json" | head -n1)
[ -n "$BUN_VERSION" ] || die "no bun version in package.json devDependencies"
BUN_TAG="localhost/runner-bases/bun:$BUN_VERSION"
BUN_BIN="$ROOT/node_modules/@oven/bun-linux-x64/bin/bun"
[ -x "$BUN_BIN" ] || BUN_BIN=$(readlink -f "$ROOT/node_modules/.bin/bun" 2>/dev/null || true)

work=$(mktemp -d /var/tmp/runner-bases.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# --------------------------------------------------------- Debian (minbase)
mirror() {
  if [ -n "${RUNNER_DEBIAN_MIRROR:-}" ]; then echo "$RUNNER_DEBIAN_MIRROR"; return; fi
  local uri=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    # deb822: the first URIs: of a stanza whose Suites: holds the suite itself.
    uri=$(awk -v suite="$SUITE" '
      /^[ \t]*$/ { if (u != "" && s) { print u; exit } u = ""; s = 0; next }
      tolower($1) == "uris:" { u = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) s = 1 }
      END { if (u != "" && s) print u }' /etc/apt/sources.list.d/debian.sources | head -n1)
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1) == suite) { print $i; exit } } }' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "cannot find a Debian mirror for $SUITE in apt's sources; set RUNNER_DEBIAN_MIRROR"
  echo "$uri"
}

build_debian() {
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install -y debootstrap"
  [ "$(id -u)" = 0 ] || die "debootstrap needs root"
  local url rootfs="$work/rootfs"
  url=$(mirror)
  echo "bases: debootstrap --variant=minbase $SUITE from $url" >&2
  if ! debootstrap --variant=minbase "$SUITE" "$rootfs" "$url" >"$work/debootstrap.log" 2>&1; then
    die "debootstrap failed; last line: $(tail -n1 "$work/debootstrap.log")"
  fi
  # Slim it like debian:*-slim: no docs, man pages or locales, no apt caches.
  mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/debootstrap
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  "$ENGINE" rmi -f "$DEBIAN_TAG" >/dev/null 2>&1 || true
  tar --numeric-owner -C "$rootfs" -c . | "$ENGINE" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$DEBIAN_TAG" >"$work/import.log" 2>&1 \
    || die "$ENGINE import of $DEBIAN_TAG failed; last line: $(tail -n1 "$work/import.log")"
  rm -rf "$rootfs"
}

# ------------------------------------------------------------- Bun build image
build_bun() {
  [ -n "$BUN_BIN" ] && [ -x "$BUN_BIN" ] || die "the bun binary of the npm package is missing: run 'npm ci' first"
  local got
  got=$("$BUN_BIN" --version) || die "$BUN_BIN does not run"
  [ "$got" = "$BUN_VERSION" ] || die "node_modules has bun $got, package.json wants $BUN_VERSION: run 'npm ci'"
  local ctx="$work/bun"
  mkdir -p "$ctx"
  cp "$BUN_BIN" "$ctx/bun"
  # Like docker.io/oven/bun: bun and bunx in /usr/local/bin, runs as root.
  # The mode is set by COPY: a RUN chmod would store bun (~100 MB) twice.
  cat >"$ctx/Containerfile" <<CF
FROM $DEBIAN_TAG
COPY --chown=0:0 --chmod=0755 bun /usr/local/bin/bun
RUN ln -s bun /usr/local/bin/bunx && bun --version
WORKDIR /home/bun/app
CMD ["/usr/local/bin/bun"]
CF
  "$ENGINE" rmi -f "$BUN_TAG" >/dev/null 2>&1 || true
  "$ENGINE" build --network=none -q -t "$BUN_TAG" -f "$ctx/Containerfile" "$ctx" >"$work/bun-build.log" 2>&1 \
    || die "building $BUN_TAG failed; last line: $(tail -n1 "$work/bun-build.log")"
}

if [ "$force" = 1 ] || ! exists "$DEBIAN_TAG"; then
  build_debian
  echo "bases: built $DEBIAN_TAG" >&2
  force=1  # the Bun image sits on it: rebuild it too
else
  echo "bases: $DEBIAN_TAG exists (use --force to rebuild)" >&2
fi
if [ "$force" = 1 ] || ! exists "$BUN_TAG"; then
  build_bun
  echo "bases: built $BUN_TAG" >&2
else
  echo "bases: $BUN_TAG exists (use --force to rebuild)" >&2
fi
