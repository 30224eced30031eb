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
# With RUNNER_PLATFORMS=linux/amd64,linux/arm64 (podman only) both images are
# built for each platform and the build machine's, tagged TAG-ARCH
# (…:bookworm-slim-arm64, …/bun:VERSION-arm64), and TAG becomes a manifest
# list of them. A foreign Debian: `debootstrap --foreign`, then the second
# stage in a chroot under qemu (binfmt registered for the time of the build,
# scripts/binfmt.ts); a foreign Bun: the npm package @oven/bun-linux-aarch64
# at the same version (scripts/cross.ts, which the cross-compiler uses too).
# Environment: RUNNER_ENGINE (podman or docker; default podman, then docker),
# RUNNER_PLATFORMS (default: the build machine's platform),
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

# --------------------------------------------------------------- platforms
case "$(uname -m)" in
  x86_64) HOST_ARCH=amd64 ;;
  aarch64) HOST_ARCH=arm64 ;;
  *) die "unsupported build machine architecture $(uname -m)" ;;
esac
ARCHES=()
IFS=',' read -r -a wanted <<<"${RUNNER_PLATFORMS:-linux/$HOST_ARCH}"
for p in "${wanted[@]}"; do
  case "$p" in
    linux/amd64|linux/arm64) a=${p#linux/} ;;
    *) die "RUNNER_PLATFORMS: unsupported platform '$p' (linux/amd64, linux/arm64)" ;;
  esac
  [[ " ${ARCHES[*]} " == *" $a "* ]] || ARCHES+=("$a")
done
MULTI=0
if [ "${#ARCHES[@]}" -gt 1 ] || [ "${ARCHES[0]}" != "$HOST_ARCH" ]; then
  MULTI=1
  [ "$(basename "$ENGINE")" = podman ] || die "RUNNER_PLATFORMS=${RUNNER_PLATFORMS}: multi-platform builds need podman (docker builds the build machine's platform only)"
fi

# ------------------------------------------------------------ bun version
BUN_VERSION=$(sed -n 's/^ *"bun": *"\([^"]*\)".*/\1/p' "$ROOT/package.json" | head -n1)
[ -n "$BUN_VERSION" ] || die "no bun version in package.json devDependencies"
BUN_TAG="localhost/runner-bases/bun:$BUN_VERSION"
BUN_BIN="$ROOT/node_modules/@oven/bun-linux-x64/bin/bun"
[ -x "$BUN_BIN" ] || BUN_BIN=$(readlink -f "$ROOT/node_modules/.bin/bun" 2>/dev/null || true)

work=$(mktemp -d /var/tmp/runner-bases.XXXXXX)
binfmt_token=""
cleanup() {
  rm -rf "$work"
  [ -z "$binfmt_token" ] || bun "$ROOT/scripts/binfmt.ts" restore "$binfmt_token" || true
}
trap cleanup EXIT

# emulate ARCH: make ARCH binaries run (qemu via binfmt_misc) until exit.
emulate() {
  local token
  token=$(bun "$ROOT/scripts/binfmt.ts" enable "$1") || die "cannot run $1 binaries (see the line above)"
  binfmt_token="$binfmt_token${binfmt_token:+,}$token"
}

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

# build_debian ARCH TAG
build_debian() {
  local arch=$1 tag=$2
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install -y debootstrap"
  [ "$(id -u)" = 0 ] || die "debootstrap needs root"
  local url rootfs="$work/rootfs-$arch"
  url=$(mirror)
  if [ "$arch" = "$HOST_ARCH" ]; then
    echo "bases: debootstrap --variant=minbase $SUITE from $url" >&2
    if ! debootstrap --variant=minbase "$SUITE" "$rootfs" "$url" >"$work/debootstrap.log" 2>&1; then
      die "debootstrap failed; last line: $(tail -n1 "$work/debootstrap.log")"
    fi
  else
    # A foreign architecture: unpack on the host, then run the second stage
    # (the packages' maintainer scripts) in a chroot, under qemu via binfmt.
    emulate "$arch"
    echo "bases: debootstrap --arch=$arch --foreign --variant=minbase $SUITE from $url, second stage under qemu (minutes)" >&2
    if ! debootstrap --arch="$arch" --foreign --variant=minbase "$SUITE" "$rootfs" "$url" >"$work/debootstrap.log" 2>&1; then
      die "debootstrap --foreign ($arch) failed; last line: $(tail -n1 "$work/debootstrap.log")"
    fi
    if ! chroot "$rootfs" /debootstrap/debootstrap --second-stage >"$work/debootstrap2.log" 2>&1; then
      die "debootstrap --second-stage ($arch, under qemu) failed; last line: $(tail -n1 "$work/debootstrap2.log")"
    fi
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
  "$ENGINE" rmi -f "$tag" >/dev/null 2>&1 || true
  local platform=()
  [ "$MULTI" = 0 ] || platform=(--os linux --arch "$arch")
  tar --numeric-owner -C "$rootfs" -c . | "$ENGINE" import "${platform[@]}" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$tag" >"$work/import.log" 2>&1 \
    || die "$ENGINE import of $tag failed; last line: $(tail -n1 "$work/import.log")"
  rm -rf "$rootfs"
}

# manifest_list LIST IMAGE... : LIST becomes a manifest list of the images.
manifest_list() {
  local list=$1; shift
  "$ENGINE" manifest rm "$list" >/dev/null 2>&1 || "$ENGINE" untag "$list" "$list" >/dev/null 2>&1 || true
  "$ENGINE" manifest create "$list" >"$work/manifest.log" 2>&1 \
    || die "$ENGINE manifest create $list failed; last line: $(tail -n1 "$work/manifest.log")"
  local image
  for image in "$@"; do
    "$ENGINE" manifest add "$list" "containers-storage:$image" >>"$work/manifest.log" 2>&1 \
      || die "$ENGINE manifest add $list $image failed; last line: $(tail -n1 "$work/manifest.log")"
  done
}

# ------------------------------------------------------------- Bun build image
# build_bun ARCH FROM TAG: FROM plus the bun binary of the npm package for
# ARCH (node_modules for the build machine's; @oven/bun-linux-aarch64 … from
# scripts/cross.ts for another, the same package the cross-compiler embeds).
build_bun() {
  local arch=$1 from=$2 tag=$3 bin=$BUN_BIN dir
  if [ "$arch" != "$HOST_ARCH" ]; then
    emulate "$arch"
    dir=$(bun "$ROOT/scripts/cross.ts" provide "$arch") || die "cannot get the $arch Bun runtime (see the line above)"
    bin="$dir/bin/bun"
  fi
  [ -n "$bin" ] && [ -x "$bin" ] || die "the bun binary of the npm package is missing: run 'npm ci' first"
  if [ "$arch" = "$HOST_ARCH" ]; then
    local got
    got=$("$bin" --version) || die "$bin does not run"
    [ "$got" = "$BUN_VERSION" ] || die "node_modules has bun $got, package.json wants $BUN_VERSION: run 'npm ci'"
  fi  # a foreign one: cross.ts checked the package's version; the build runs it (qemu)
  local ctx="$work/bun-$arch"
  mkdir -p "$ctx"
  cp "$bin" "$ctx/bun"
  # Like docker.io/oven/bun: bun and bunx in /usr/local/bin, runs as root.
  # The mode is set by COPY: a RUN chmod would store bun (~100 MB) twice.
  cat >"$ctx/Containerfile" <<CF
FROM $from
COPY --chown=0:0 --chmod=0755 bun /usr/local/bin/bun
RUN ln -s bun /usr/local/bin/bunx && test "\$(bun --version)" = "$BUN_VERSION"
WORKDIR /home/bun/app
CMD ["/usr/local/bin/bun"]
CF
  local platform=()
  [ "$MULTI" = 0 ] || platform=(--platform "linux/$arch")
  "$ENGINE" rmi -f "$tag" >/dev/null 2>&1 || true
  "$ENGINE" build "${platform[@]}" --network=none -q -t "$tag" -f "$ctx/Containerfile" "$ctx" >"$work/bun-build.log" 2>&1 \
    || die "building $tag failed; last line: $(tail -n1 "$work/bun-build.log")"
}

if [ "$MULTI" = 0 ]; then
  if [ "$force" = 1 ] || ! exists "$DEBIAN_TAG"; then
    build_debian "$HOST_ARCH" "$DEBIAN_TAG"
    echo "bases: built $DEBIAN_TAG" >&2
    force=1  # the Bun image sits on it: rebuild it too
  else
    echo "bases: $DEBIAN_TAG exists (use --force to rebuild)" >&2
  fi
  if [ "$force" = 1 ] || ! exists "$BUN_TAG"; then
    build_bun "$HOST_ARCH" "$DEBIAN_TAG" "$BUN_TAG"
    echo "bases: built $BUN_TAG" >&2
  else
    echo "bases: $BUN_TAG exists (use --force to rebuild)" >&2
  fi
  exit 0
fi

# Multi-platform: one image per platform (TAG-ARCH), TAG their manifest list.
# The build machine's platform is always in: the Containerfile's compile stage
# runs on it (FROM --platform=$BUILDPLATFORM).
all=("$HOST_ARCH")
for arch in "${ARCHES[@]}"; do [ "$arch" = "$HOST_ARCH" ] || all+=("$arch"); done
for base in "$DEBIAN_TAG" "$BUN_TAG"; do
  built=0
  members=()
  for arch in "${all[@]}"; do
    members+=("$base-$arch")
    if [ "$force" = 1 ] || ! exists "$base-$arch"; then
      started=$SECONDS
      if [ "$base" = "$DEBIAN_TAG" ]; then build_debian "$arch" "$base-$arch"; else build_bun "$arch" "$DEBIAN_TAG-$arch" "$base-$arch"; fi
      echo "bases: built $base-$arch in $((SECONDS - started)) s" >&2
      built=1
    else
      echo "bases: $base-$arch exists (use --force to rebuild)" >&2
    fi
  done
  if [ "$built" = 1 ] || ! "$ENGINE" manifest inspect "$base" >/dev/null 2>&1; then
    manifest_list "$base" "${members[@]}"
    echo "bases: $base is a manifest list of ${members[*]}" >&2
  fi
  [ "$built" = 0 ] || force=1  # the Bun images sit on the Debian ones: rebuild them too
done
