// bun run examples [NAME...]
//
// Builds the example domain images of plugins-examples/ (all five, or the
// NAMEs given) on top of runner-base, and tags them
// localhost/runner-example-NAME:VERSION and :latest. Run `bun run image`
// first: the examples are built FROM runner-base and materialize their
// manifests with runner-sdk, and this script refuses to start without both.
// `template` is the domain-image template (plugins-examples/template/README.md);
// the other four follow it.
//
// Build arguments: RUNNER_BASE and RUNNER_SDK (the local tags of
// `bun run image`), BUN_IMAGE for the typescript example (chosen like
// scripts/image.ts does: $RUNNER_BUN_IMAGE, else the public default when it is
// in the local store, else localhost/runner-bases/bun:BUN_VERSION from
// `bun run bases` when it exists), SOURCE_DATE_EPOCH, IMAGE_CREATED (the same
// instant in RFC 3339) and IMAGE_REVISION from the commit (or from the
// environment when set). The OCI labels are the Containerfile's own (the
// template's LABEL, checked against image.manifest in the build): no
// --label here, so the examples' tests test what a plain build gives.
// hello, typescript and template build with --network=none; ansible and
// kubectl need Debian's mirror for apt-get (on docker with --network=host: a
// daemon without a bridge, like scripts/dockerd.ts's, has no other way out).
//
// RUNNER_PLATFORMS=linux/amd64,linux/arm64 (podman; scripts/multiarch.ts)
// builds hello, kubectl and typescript once per platform (TAG-ARCH, TAG a
// manifest list of them, FROM runner-base's image of that platform, RUN steps
// of a foreign one under qemu); ansible, whose apt-get under qemu takes about
// 5 minutes, stays on the build machine's platform (docs/IMAGE.md).
//
// Engine: RUNNER_ENGINE, else podman, else docker; for podman,
// CONTAINERS_CONF defaults to scripts/containers.conf (scripts/image.ts).
// Each build's log goes to .cache/examples/NAME.log, each image's SBOM to
// .cache/sbom/runner-example-NAME.cdx.json. Errors are one line
// starting "examples: "; the exit status is 1 on any failure, 64 on usage.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BASE_TAG, LOCAL_BUN_IMAGE, PUBLIC_BUN_IMAGE, ROOT, SDK_TAG, VERSION, engineEnv, findEngine, isDocker, latestOf, saveSbom, timestampArgs } from "./image.ts";
import { checkRevision, rfc3339 } from "../src/materialize.ts";
import { archTag, hostArch, imageArch, manifestList, targetPlatforms, withEmulation } from "./multiarch.ts";

export const EXAMPLES = ["hello", "ansible", "kubectl", "typescript", "template"] as const;
export type ExampleName = (typeof EXAMPLES)[number];
export const EXAMPLES_DIR = join(ROOT, "plugins-examples");
export const LOG_DIR = join(ROOT, ".cache", "examples");

/** Examples whose Containerfile installs from Debian's mirror; the others build offline. */
const NEEDS_NETWORK: ReadonlySet<string> = new Set(["ansible", "kubectl"]);
/**
 * Examples built for every platform of RUNNER_PLATFORMS; the others for the
 * build machine's only: ansible's apt-get under qemu took 285 s against 36-53 s
 * natively (kubectl's: 43 s), too slow for CI.
 */
export const MULTI_PLATFORM_EXAMPLES: ReadonlySet<string> = new Set(["hello", "kubectl", "typescript"]);

export const exampleTag = (name: string): string => `localhost/runner-example-${name}:${VERSION}`;

export class ExamplesError extends Error {
  constructor(readonly exitCode: number, message: string) { super(message); }
}

function requireEngine(): string {
  try { return findEngine(); } catch (e) { throw new ExamplesError(1, (e as Error).message); }
}

/** Runs the engine, output captured; never throws on a non-zero status. */
function engineSync(args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const engine = requireEngine();
  const r = Bun.spawnSync([engine, ...args], { env: engineEnv(engine), stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export function imageExists(ref: string): boolean {
  return engineSync(["image", "inspect", "--format", "{{.Id}}", ref]).code === 0;
}

function git(args: readonly string[]): string | null {
  const r = Bun.spawnSync(["git", ...args], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : null;
}

/** SOURCE_DATE_EPOCH and IMAGE_REVISION: from the environment when set, else from the last commit. */
export function buildFacts(): { epoch: string; revision: string } {
  const epoch = process.env.SOURCE_DATE_EPOCH || git(["log", "-1", "--format=%ct"]);
  const revision = process.env.IMAGE_REVISION || git(["rev-parse", "HEAD"]);
  if (!epoch || !revision) {
    throw new ExamplesError(1, "cannot read the commit (not a git checkout?): set SOURCE_DATE_EPOCH and IMAGE_REVISION");
  }
  if (!/^(0|[1-9][0-9]{0,11})$/.test(epoch)) throw new ExamplesError(1, `SOURCE_DATE_EPOCH '${epoch}' is not a number of seconds`);
  checkRevision(revision);
  return { epoch, revision };
}

/**
 * The Bun image for the typescript example's build stage, chosen as
 * scripts/image.ts chooses it: $RUNNER_BUN_IMAGE; else the public default if
 * it is in the local store; else the one `bun run bases` makes, if present;
 * else null (the Containerfile's public default, pulled by the engine).
 */
export function bunImage(): string | null {
  if (process.env.RUNNER_BUN_IMAGE) return process.env.RUNNER_BUN_IMAGE;
  if (imageExists(PUBLIC_BUN_IMAGE)) return null;
  return imageExists(LOCAL_BUN_IMAGE) ? LOCAL_BUN_IMAGE : null;
}

/**
 * Everything but the context: the arguments `ENGINE build` gets for one
 * example; with `arch` (multi-platform builds), for that platform, FROM
 * runner-base's and runner-sdk's images of that platform.
 */
export function buildArgs(name: string, arch?: string, engine = requireEngine()): string[] {
  const { epoch, revision } = buildFacts();
  const args = [
    "--build-arg", `RUNNER_BASE=${arch ? archTag(BASE_TAG, arch) : BASE_TAG}`,
    "--build-arg", `RUNNER_SDK=${arch ? archTag(SDK_TAG, arch) : SDK_TAG}`,
    "--build-arg", `SOURCE_DATE_EPOCH=${epoch}`,
    "--build-arg", `IMAGE_CREATED=${rfc3339(Number(epoch))}`,
    "--build-arg", `IMAGE_REVISION=${revision}`,
  ];
  // The typescript example's BUN_IMAGE has no default (the pin is package.json's).
  if (name === "typescript") args.push("--build-arg", `BUN_IMAGE=${bunImage() ?? PUBLIC_BUN_IMAGE}`);
  // A platform's build is FROM runner-base's image of that platform; its
  // base.name label names runner-base as users know it (the multi-platform
  // tag), like the build machine's image (the other labels are the
  // Containerfile's own; base.name is not one runner-materialize checks).
  if (arch) args.push("--label", `org.opencontainers.image.base.name=${BASE_TAG}`);
  // Debian's mirror: podman's default network reaches it; a docker daemon
  // may have no bridge (scripts/dockerd.ts runs with --bridge=none), so on
  // docker these builds use the host's network.
  if (!NEEDS_NETWORK.has(name)) args.push("--network=none");
  else if (isDocker(engine)) args.push("--network=host");
  // Image creation and file times from SOURCE_DATE_EPOCH, as for runner-base (podman).
  args.push(...timestampArgs(engine, epoch));
  if (arch) args.push("--platform", `linux/${arch}`);
  return args;
}

/** Fails unless runner-base and runner-sdk are there to build on. */
export function requireBases(): void {
  requireEngine();
  for (const ref of [BASE_TAG, SDK_TAG]) {
    if (!imageExists(ref)) throw new ExamplesError(1, `${ref} is missing: run 'bun run image' first`);
  }
}

/**
 * Builds one example and tags it; returns the seconds it took. With `arch`,
 * for that platform only, tagged TAG-ARCH (the caller makes the list).
 */
export function buildExample(name: string, arch?: string): number {
  const started = performance.now();
  const context = join(EXAMPLES_DIR, name);
  const log = join(LOG_DIR, arch ? `${name}-${arch}.log` : `${name}.log`);
  mkdirSync(LOG_DIR, { recursive: true });
  const own = arch ? archTag(exampleTag(name), arch) : exampleTag(name);
  const tags = arch ? [own] : [own, latestOf(own)];
  const r = engineSync(["build", ...buildArgs(name, arch), ...tags.flatMap((t) => ["-t", t]), "-f", join(context, "Containerfile"), context]);
  writeFileSync(log, `${r.stdout}${r.stderr}`);
  if (r.code !== 0) {
    const last = r.stderr.trim().split("\n").filter(Boolean).pop() ?? `exit ${r.code}`;
    throw new ExamplesError(1, `building ${own} failed: ${last} (log: ${log})`);
  }
  if (arch && imageArch(requireEngine(), engineEnv(requireEngine()), own) !== arch) throw new ExamplesError(1, `${own} is not an ${arch} image`);
  // The build leaves a copy of the image's SBOM on the host (C-SBOM-1); another
  // platform's as runner-example-NAME-ARCH.
  const sbomName = arch && arch !== hostArch() ? `runner-example-${name}-${arch}` : `runner-example-${name}`;
  try { saveSbom(requireEngine(), own, sbomName); } catch (e) {
    throw new ExamplesError(1, `${own}: ${(e as Error).message}`);
  }
  return (performance.now() - started) / 1000;
}

/** Multi-platform: one image per platform of `arches`, then the tag and its :latest as their manifest list. */
export function buildExampleMulti(name: string, arches: string[]): void {
  const engine = requireEngine();
  const members: string[] = [];
  for (const arch of arches) {
    const seconds = buildExample(name, arch);
    const own = archTag(exampleTag(name), arch);
    members.push(own);
    console.error(`examples: built ${own} in ${seconds.toFixed(1)} s`);
  }
  for (const list of [exampleTag(name), latestOf(exampleTag(name))]) manifestList(engine, engineEnv(engine), list, members);
  console.error(`examples: ${exampleTag(name)}: manifest list of ${members.join(", ")}`);
}

function main(argv: readonly string[]): number {
  if (argv.some((a) => a === "-h" || a === "--help")) {
    console.log(`usage: bun run examples [NAME...]   (NAME: ${EXAMPLES.join(", ")})`);
    return 0;
  }
  const unknown = argv.find((a) => !(EXAMPLES as readonly string[]).includes(a));
  if (unknown !== undefined) throw new ExamplesError(64, `unknown example '${unknown}' (known: ${EXAMPLES.join(", ")})`);
  const names = argv.length ? argv : EXAMPLES;
  requireBases();
  const { arches, multi } = targetPlatforms(requireEngine());
  const total = performance.now();
  withEmulation(multi ? arches : [], () => {
    for (const name of names) {
      if (multi && MULTI_PLATFORM_EXAMPLES.has(name)) {
        buildExampleMulti(name, arches);
        continue;
      }
      // Host only: FROM runner-base's image of this platform (in a
      // multi-platform build, TAG is a list; name the member explicitly).
      const seconds = buildExample(name, multi ? hostArch() : undefined);
      if (multi) {
        const engine = requireEngine();
        for (const t of [exampleTag(name), latestOf(exampleTag(name))]) manifestList(engine, engineEnv(engine), t, [archTag(exampleTag(name), hostArch())]);
      }
      console.error(`examples: built ${exampleTag(name)} in ${seconds.toFixed(1)} s${multi ? ` (linux/${hostArch()} only)` : ""}`);
    }
  });
  console.error(`examples: ${names.length} image(s) in ${((performance.now() - total) / 1000).toFixed(1)} s`);
  return 0;
}

if (import.meta.main) {
  let code: number;
  try {
    code = main(process.argv.slice(2));
  } catch (e) {
    code = e instanceof ExamplesError ? e.exitCode : 1;
    console.error(`examples: ${String((e as Error)?.message ?? e).split("\n")[0]}`);
  }
  process.exit(code);
}
