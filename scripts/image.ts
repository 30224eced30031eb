// bun run image: builds localhost/runner-base:VERSION and
// localhost/runner-sdk:VERSION from the Containerfile (docs/IMAGE.md).
//
// Environment:
//   RUNNER_ENGINE      podman or docker (default: podman, then docker, on PATH)
//   RUNNER_BUN_IMAGE   the build stage's base   (default docker.io/oven/bun:BUN_VERSION)
//   RUNNER_BASE_IMAGE  the runtime's base        (default docker.io/library/debian:bookworm-slim)
//   CONTAINERS_CONF    for podman, default scripts/containers.conf
//   RUNNER_NO_CACHE=1  build without any layer cache (--no-cache): shows that
//                      the image is reproducible (C-IMAGE-10)
//   RUNNER_PLATFORMS   e.g. linux/amd64,linux/arm64 (podman only): one image per
//                      platform, TAG-ARCH, and TAG a manifest list of them
//                      (scripts/multiarch.ts); default: the build machine's only
// When RUNNER_BUN_IMAGE / RUNNER_BASE_IMAGE are unset and a public default is
// not in the local store but the image `bun run bases` makes is, that one is
// used (and named): on a machine without a registry `bun run bases && bun
// run image` just works. SOURCE_DATE_EPOCH is the commit time and
// IMAGE_REVISION the commit (git), the OCI labels come from image.manifest.
// Every build runs with --network=none (C-IMAGE-4). With podman the image's
// creation time and every file time in its layers are SOURCE_DATE_EPOCH
// (--timestamp), so two builds of a commit give the same image ID and digest
// (C-IMAGE-10). Each image's SBOM is copied to .cache/sbom/NAME.cdx.json
// (C-SBOM-1). Errors are one line.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { materialize, ociLabels, parseEpoch } from "../src/materialize.ts";
import { provide } from "./cross.ts";
import { archTag, hostArch, imageArch, manifestList, targetPlatforms, withEmulation } from "./multiarch.ts";

export const ROOT = join(import.meta.dir, "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
export const VERSION: string = pkg.version;
export const BUN_VERSION: string = pkg.devDependencies.bun;
export const BASE_TAG = `localhost/runner-base:${VERSION}`;
export const SDK_TAG = `localhost/runner-sdk:${VERSION}`;
/** The same images under :latest, so that docs and domain Containerfiles need no version. */
export const latestOf = (tag: string): string => tag.replace(/:[^:/]+$/, ":latest");

export const PUBLIC_BUN_IMAGE = `docker.io/oven/bun:${BUN_VERSION}`;
export const PUBLIC_BASE_IMAGE = "docker.io/library/debian:bookworm-slim";
export const LOCAL_BUN_IMAGE = `localhost/runner-bases/bun:${BUN_VERSION}`;
export const LOCAL_BASE_IMAGE = "localhost/runner-bases/debian:bookworm-slim";
/** Where every image of the project carries its SBOM (src/sbom.ts), and where builds leave copies. */
export const SBOM_PATH = "/usr/share/runner/sbom.cdx.json";
export const SBOM_DIR = join(ROOT, ".cache", "sbom");

/** A failure the script reports as one line. */
export class ImageError extends Error {}

export function findEngine(): string {
  const wanted = process.env.RUNNER_ENGINE;
  for (const name of wanted ? [wanted] : ["podman", "docker"]) {
    const path = Bun.which(name);
    if (path) return path;
  }
  throw new ImageError(wanted ? `RUNNER_ENGINE=${wanted} is not on PATH` : "no container engine: install podman or docker (or set RUNNER_ENGINE)");
}

/** The engine's environment: on podman, scripts/containers.conf unless the caller set CONTAINERS_CONF. */
export function engineEnv(engine: string): Record<string, string> {
  const env = { ...process.env } as Record<string, string>;
  const conf = join(ROOT, "scripts", "containers.conf");
  if (engine.endsWith("podman") && !env.CONTAINERS_CONF && existsSync(conf)) env.CONTAINERS_CONF = conf;
  return env;
}

export function imageExists(engine: string, ref: string): boolean {
  return Bun.spawnSync([engine, "image", "inspect", ref], { env: engineEnv(engine), stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

function git(args: string[]): string {
  const r = Bun.spawnSync(["git", "-C", ROOT, ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) {
    throw new ImageError(`${ROOT} is not a git checkout with a commit ('git ${args.join(" ")}' failed): the image's SOURCE_DATE_EPOCH and revision come from the commit`);
  }
  return r.stdout.toString().trim();
}

export type Base = { ref: string; why: string };

/** The base image for one role: the variable if set, else the public default, else the local `bases` image. */
export function chooseBase(engine: string, variable: string, publicRef: string, localRef: string): Base {
  const set = process.env[variable];
  if (set) return { ref: set, why: `from ${variable}` };
  if (imageExists(engine, publicRef)) return { ref: publicRef, why: "public default, present locally" };
  if (imageExists(engine, localRef)) return { ref: localRef, why: `${publicRef} is not present locally; using the image 'bun run bases' made` };
  return { ref: publicRef, why: `public default, to be pulled (air-gapped? run 'bun run bases' or set ${variable})` };
}

export type Plan = {
  engine: string;
  bunImage: Base;
  baseImage: Base;
  epoch: string;
  revision: string;
  /** the materialized image.env and runtime.env of runner-base, as the build will write them */
  image: Map<string, string>;
  runtime: Map<string, string>;
  dirty: boolean;
  /** the `.base.name` label when it differs from baseImage (a platform's image of a multi-platform base names the list) */
  baseName?: string;
};

/** Everything a build needs, decided before the engine runs. */
export function plan(): Plan {
  const engine = findEngine();
  const revision = git(["rev-parse", "HEAD"]);
  const epoch = git(["log", "-1", "--format=%ct"]);
  const dirty = git(["status", "--porcelain", "--untracked-files=no"]) !== "";
  const manifestPath = join(ROOT, "image.manifest");
  const c = materialize(readFileSync(manifestPath), { epoch: parseEpoch(epoch), revision });
  if (c.image.get("IMAGE_VERSION") !== VERSION) {
    throw new ImageError(`image.manifest has IMAGE_VERSION=${c.image.get("IMAGE_VERSION")} but package.json has version ${VERSION}`);
  }
  return {
    engine, epoch, revision, dirty, image: c.image, runtime: c.runtime,
    bunImage: chooseBase(engine, "RUNNER_BUN_IMAGE", PUBLIC_BUN_IMAGE, LOCAL_BUN_IMAGE),
    baseImage: chooseBase(engine, "RUNNER_BASE_IMAGE", PUBLIC_BASE_IMAGE, LOCAL_BASE_IMAGE),
  };
}

/** The labels of runner-base, or of runner-sdk (its own title and description). */
export function labels(p: Plan, target: "runtime" | "sdk"): Array<[string, string]> {
  const image = new Map(p.image);
  if (target === "sdk") {
    image.set("IMAGE_NAME", "runner-sdk");
    image.set("IMAGE_DESCRIPTION", "Build tools for domain images on runner-base: runner-materialize and the base contract");
  }
  return ociLabels(image, p.baseName ?? p.baseImage.ref);
}

export const isPodman = (engine: string): boolean => /podman$/.test(engine);

/**
 * Flags that make an engine stamp SOURCE_DATE_EPOCH instead of the wall
 * clock (C-IMAGE-10). podman/buildah: --timestamp, which sets the image's
 * creation time and every file time in the layers it writes. docker: the
 * SOURCE_DATE_EPOCH build argument (always passed) is all there is; BuildKit
 * uses it from v0.11 (docker 23) and rewrites file times only from v0.13
 * with buildx (docker 25+, --output type=docker,rewrite-timestamp=true).
 */
export function timestampArgs(engine: string, epoch: string): string[] {
  return isPodman(engine) ? ["--timestamp", epoch] : [];
}

/** Build without any layer cache when RUNNER_NO_CACHE=1. */
export function cacheArgs(env: Record<string, string | undefined> = process.env): string[] {
  return env.RUNNER_NO_CACHE === "1" ? ["--no-cache"] : [];
}

/** `ENGINE build` arguments (without the engine) for one target, tagged `tags` (default: TAG and its :latest). */
export function buildArgs(p: Plan, target: "runtime" | "sdk", tag: string, extra: string[] = [], tags = [tag, latestOf(tag)]): string[] {
  const arg = (k: string, v: string) => ["--build-arg", `${k}=${v}`];
  return [
    "build", "--network=none", ...timestampArgs(p.engine, p.epoch), "-f", join(ROOT, "Containerfile"), "--target", target,
    ...arg("BUN_IMAGE", p.bunImage.ref), ...arg("BASE_IMAGE", p.baseImage.ref),
    ...arg("SOURCE_DATE_EPOCH", p.epoch), ...arg("IMAGE_REVISION", p.revision),
    ...arg("RUNNER_UID", p.runtime.get("RUNNER_UID")!), ...arg("RUNNER_GID", p.runtime.get("RUNNER_GID")!),
    ...arg("RUNNER_WORKDIR", p.runtime.get("RUNNER_WORKDIR") ?? "/workspace"),
    ...labels(p, target).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    ...extra, ...tags.flatMap((t) => ["-t", t]), ROOT,
  ];
}

/** Reads one file out of an image (create, cp, rm: works the same on podman and docker). */
export function extractFile(engine: string, image: string, path: string): Uint8Array {
  const env = engineEnv(engine);
  if (!imageExists(engine, image)) throw new ImageError(`no image ${image} in ${engine}'s store (nothing is pulled)`);
  const created = Bun.spawnSync([engine, "create", "--pull=never", image], { env, stdout: "pipe", stderr: "pipe" });
  if (created.exitCode !== 0) throw new ImageError(`cannot create a container of ${image}: ${created.stderr.toString().trim().split("\n").pop()}`);
  const id = created.stdout.toString().trim();
  const dir = mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "runner-extract-"));
  try {
    const out = join(dir, "file");
    const cp = Bun.spawnSync([engine, "cp", `${id}:${path}`, out], { env, stdout: "pipe", stderr: "pipe" });
    if (cp.exitCode !== 0) throw new ImageError(`${image} has no ${path}`);
    return readFileSync(out);
  } finally {
    Bun.spawnSync([engine, "rm", "-f", id], { env, stdout: "ignore", stderr: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Copies an image's SBOM to .cache/sbom/NAME.cdx.json; returns that path. */
export function saveSbom(engine: string, image: string, name: string): string {
  mkdirSync(SBOM_DIR, { recursive: true });
  const path = join(SBOM_DIR, `${name}.cdx.json`);
  writeFileSync(path, extractFile(engine, image, SBOM_PATH));
  return path;
}

function main(): number {
  const p = plan();
  const say = (s: string) => console.error(`image: ${s}`);
  say(`engine ${p.engine}`);
  say(`build stage FROM ${p.bunImage.ref} (${p.bunImage.why})`);
  say(`runtime FROM ${p.baseImage.ref} (${p.baseImage.why})`);
  say(`revision ${p.revision}, SOURCE_DATE_EPOCH ${p.epoch} (${p.image.get("IMAGE_CREATED")})`);
  if (p.dirty) say("warning: the working tree has uncommitted changes; the image names the commit HEAD all the same");
  if (cacheArgs().length) say("RUNNER_NO_CACHE=1: building without any layer cache");
  if (!isPodman(p.engine)) {
    say("warning: with docker only the files are reproducible: the image ID and digest change from build to build unless the engine rewrites layer timestamps (docker 25+ with buildx; see docs/IMAGE.md)");
  }
  const { arches, multi } = targetPlatforms(p.engine);
  const build = (tag: string, args: string[]) => {
    say(`building ${tag}`);
    const started = performance.now();
    const r = Bun.spawnSync([p.engine, ...args], { env: engineEnv(p.engine), stdout: "inherit", stderr: "inherit", stdin: "ignore" });
    if (r.exitCode !== 0) throw new ImageError(`${p.engine} build of ${tag} failed (exit ${r.exitCode}); see the output above`);
    const id = Bun.spawnSync([p.engine, "image", "inspect", "--format", "{{.Id}}", tag], { env: engineEnv(p.engine), stdout: "pipe" }).stdout.toString().trim();
    say(`built ${tag} in ${((performance.now() - started) / 1000).toFixed(1)} s, image ID ${id}`);
  };
  const targets = [["runtime", BASE_TAG, "runner-base"], ["sdk", SDK_TAG, "runner-sdk"]] as const;
  if (!multi) {
    for (const [target, tag, name] of targets) {
      build(tag, buildArgs(p, target, tag, cacheArgs()));
      say(`SBOM of ${tag}: ${saveSbom(p.engine, tag, name)}`);
    }
    return 0;
  }
  // Multi-platform (RUNNER_PLATFORMS): the compile stage runs here, on the
  // build machine's platform; another platform gets cross-compiled binaries
  // (scripts/cross.ts puts its Bun runtime into the context) in a runtime
  // stage FROM that platform's base, whose RUN steps run under qemu.
  const bunImage = hostImage(p.engine, p.bunImage.ref);
  say(`platforms ${arches.map((a) => `linux/${a}`).join(", ")} (RUNNER_PLATFORMS); compile stage on linux/${hostArch()}, FROM ${bunImage.ref} (${bunImage.why})`);
  for (const arch of arches) if (arch !== hostArch()) say(`cross-compiling for ${arch} with ${provide(arch)}`);
  withEmulation(arches, () => {
    for (const [target, tag, name] of targets) {
      const members: string[] = [];
      for (const arch of arches) {
        const q = { ...p, bunImage, baseImage: platformBase(p, arch), baseName: p.baseImage.ref };
        const own = archTag(tag, arch);
        build(own, buildArgs(q, target, own, ["--platform", `linux/${arch}`, ...cacheArgs()], [own]));
        const got = imageArch(p.engine, engineEnv(p.engine), own);
        if (got !== arch) throw new ImageError(`${own} was built for '${got}', not ${arch} (is ${q.baseImage.ref} a ${arch} image or a list holding one?)`);
        // The build machine's SBOM under the image's name, as without RUNNER_PLATFORMS; others as NAME-ARCH.
        say(`SBOM of ${own}: ${saveSbom(p.engine, own, arch === hostArch() ? name : `${name}-${arch}`)}`);
        members.push(own);
      }
      for (const list of [tag, latestOf(tag)]) manifestList(p.engine, engineEnv(p.engine), list, members);
      say(`${tag} and ${latestOf(tag)}: manifest lists of ${members.join(", ")}`);
    }
  });
  return 0;
}

/**
 * The build stage's image for the build machine's platform, by image ID.
 * `FROM --platform=$BUILDPLATFORM` keeps the compile stage on the build
 * machine with BuildKit and newer buildah, but buildah 1.28 (Debian 12)
 * ignores it and takes the target platform's image of a name; an image ID
 * is used as it is. Pulled first when it is not in the local store.
 */
export function hostImage(engine: string, ref: string): Base {
  const env = engineEnv(engine);
  const id = () => {
    const r = Bun.spawnSync([engine, "image", "inspect", "--format", "{{.Id}} {{.Architecture}}", ref], { env, stdout: "pipe", stderr: "ignore" });
    return r.exitCode === 0 ? r.stdout.toString().trim().split(" ") : null;
  };
  let got = id();
  if (!got) {
    const r = Bun.spawnSync([engine, "pull", "--platform", `linux/${hostArch()}`, ref], { env, stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) throw new ImageError(`cannot pull ${ref}: ${r.stderr.toString().trim().split("\n").pop()}`);
    got = id();
  }
  if (!got || got[1] !== hostArch()) throw new ImageError(`${ref} has no linux/${hostArch()} image for the compile stage`);
  return { ref: got[0]!, why: `the linux/${hostArch()} image of ${ref}` };
}

/**
 * The runtime base for one platform: the local one `bun run bases` made for
 * that platform (…:bookworm-slim-ARCH), when the local base is in use; else
 * the chosen reference, from which the engine takes the platform's image.
 */
export function platformBase(p: Plan, arch: string): Base {
  if (p.baseImage.ref !== LOCAL_BASE_IMAGE) return p.baseImage;
  const ref = archTag(LOCAL_BASE_IMAGE, arch);
  if (!imageExists(p.engine, ref)) {
    throw new ImageError(`${ref} is missing: run 'RUNNER_PLATFORMS=${process.env.RUNNER_PLATFORMS ?? ""} bun run bases' first`);
  }
  return { ref, why: `the ${arch} image of 'bun run bases'` };
}

if (import.meta.main) {
  let code: number;
  try {
    code = main();
  } catch (e) {
    console.error(`image: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    code = 1;
  }
  process.exit(code);
}
