// The container engines for the image tests (test/image/, test/examples/).
//
// Every describeImage() block runs once per engine, as a named variant:
// "[podman] runner-base image > C-IMAGE-5: …" and "[docker] runner-base image
// > C-IMAGE-5: …". Inside a block (its hooks, its tests, and the block's own
// body while it declares them), engine(), engineName(), currentEngine(),
// engineEnv(), readOnly() and noPasswd() speak to that variant's engine, so a
// test written once runs on both. RUNNER_ENGINES (comma-separated, default "podman,docker") picks the
// variants; an engine that is missing FAILS its variant with a message that
// says what to install (never a silent skip). RUNNER_SKIP_IMAGE_TESTS=1 skips
// every variant with a loud notice (used by `bun test` inside the
// Containerfile's build stage, where no engine exists).
//
// docker: the client is Debian's /usr/bin/docker with BuildKit; the daemon is
// the one DOCKER_HOST names, else the private one of scripts/dockerd.ts
// (.cache/dockerd). When none answers, the first docker variant starts that
// private daemon, and test/global.ts (preloaded by bunfig.toml) stops it, by
// its pid, after the last test file.
// scripts/test.sh starts it itself before building, so the tests reuse it.
import { beforeAll, describe, test } from "bun:test";
import { BASE_TAG, ROOT, SDK_TAG, VERSION, engineEnv as engineEnvFor, enginePath } from "../../scripts/image.ts";
import { DEFAULT_DIR as DOCKERD_DIR, answers, start as startDockerd } from "../../scripts/dockerd.ts";

export { BASE_TAG, ROOT, SDK_TAG, VERSION };

export type EngineName = "podman" | "docker";
const KNOWN: readonly EngineName[] = ["podman", "docker"];

/** The variants to run: RUNNER_ENGINES, default both. */
export const ENGINES: readonly string[] = (process.env.RUNNER_ENGINES ?? "podman,docker").split(",").map((s) => s.trim()).filter(Boolean);
export const SKIP_IMAGE_TESTS = process.env.RUNNER_SKIP_IMAGE_TESTS === "1";

type Variant = { name: EngineName; path: string };
/** The engine of the describeImage block whose tests are running. */
let current: Variant | null = null;

/** The path of the current variant's engine (e.g. /usr/bin/podman, /usr/bin/docker). */
export function currentEngine(): string {
  if (!current) throw new Error("currentEngine() outside a describeImage block");
  return current.path;
}

/** The name of the current variant's engine ("podman" or "docker"). */
export function engineName(): EngineName {
  if (!current) throw new Error("engineName() outside a describeImage block");
  return current.name;
}

/** Environment for engine calls: podman's containers.conf, docker's BuildKit and DOCKER_HOST. */
export function engineEnv(): Record<string, string> {
  if (!current) throw new Error("engineEnv() outside a describeImage block");
  return engineEnvFor(current.path);
}

/**
 * `--read-only` with nothing writable. podman mounts tmpfs on /tmp, /var/tmp
 * and /run with --read-only unless --read-only-tmpfs=false; docker never does.
 */
export function readOnly(): string[] {
  return engineName() === "podman" ? ["--read-only", "--read-only-tmpfs=false"] : ["--read-only"];
}

/**
 * No passwd entry for an arbitrary --user. podman adds one unless
 * --passwd=false; docker never adds one.
 */
export function noPasswd(): string[] {
  return engineName() === "podman" ? ["--passwd=false"] : [];
}

export type EngineResult = { code: number; stdout: string; stderr: string };

/** Runs `ENGINE ...args` on the current variant's engine (never throws on non-zero). */
export async function engine(args: readonly string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<EngineResult> {
  if (!current) throw new Error("engine() outside a describeImage block");
  const proc = Bun.spawn([current.path, ...args], {
    env: engineEnvFor(current.path),
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 300_000,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Why docker cannot serve the tests, or null once a daemon answers (started here if needed). */
let dockerReady: string | null | undefined;
function ensureDocker(path: string): string | null {
  if (dockerReady !== undefined) return dockerReady;
  const host = engineEnvFor(path).DOCKER_HOST!;
  if (answers(host)) return (dockerReady = null);
  if (process.env.DOCKER_HOST) return (dockerReady = `no docker daemon answers at DOCKER_HOST=${process.env.DOCKER_HOST}`);
  try {
    const d = startDockerd(DOCKERD_DIR);
    if (d.started) {
      console.warn(`\nimage tests: started a private dockerd (pid ${d.pid}, ${DOCKERD_DIR}); it is stopped when the tests end\n`);
      // test/global.ts (preloaded) stops it after the last test file.
      (globalThis as any).__runnerTestsStarted ??= { dockerd: null };
      (globalThis as any).__runnerTestsStarted.dockerd = DOCKERD_DIR;
    }
    return (dockerReady = null);
  } catch (e) {
    return (dockerReady = `cannot start a private dockerd: ${(e as Error).message}`);
  }
}

/**
 * describe() for tests that need an engine: one block per engine of
 * RUNNER_ENGINES, named "[ENGINE] name" (only: a tool that exists for one
 * engine alone, such as `podman kube play`). A missing engine is one failing
 * test that says what to install; RUNNER_SKIP_IMAGE_TESTS=1 skips them all, loudly.
 */
export function describeImage(name: string, fn: () => void, opts: { only?: EngineName } = {}): void {
  for (const wanted of ENGINES.filter((e) => !opts.only || e === opts.only)) {
    const label = `[${wanted}] ${name}`;
    if (SKIP_IMAGE_TESTS) {
      console.warn(`\n!!! SKIPPED image tests "${label}": RUNNER_SKIP_IMAGE_TESTS=1 is set.\n`);
      // The block's body still runs to declare its (skipped) tests, and may ask its engine.
      describe.skip(label, () => {
        current = { name: wanted as EngineName, path: enginePath(wanted) ?? wanted };
        try { fn(); } finally { current = null; }
      });
      continue;
    }
    if (!(KNOWN as readonly string[]).includes(wanted)) {
      describe(label, () => {
        test("the engine is known", () => { throw new Error(`RUNNER_ENGINES names '${wanted}': only podman and docker are supported`); });
      });
      continue;
    }
    const path = enginePath(wanted);
    const variant: Variant | null = path ? { name: wanted as EngineName, path } : null;
    describe(label, () => {
      let why: string | null = variant ? null : `${wanted} is not installed (apt-get install ${wanted === "docker" ? "docker.io" : "podman"}), or leave it out of RUNNER_ENGINES=${ENGINES.join(",")}`;
      // First hook of the block: every later hook and test of it runs on this engine.
      beforeAll(() => {
        current = variant;
        if (!why && variant!.name === "docker") why = ensureDocker(variant!.path);
      });
      if (!variant) {
        test(`${wanted} is available`, () => { throw new Error(why!); });
        return;
      }
      test(`${wanted} answers`, () => { if (why) throw new Error(why); });
      // Collection time too: a block may ask its engine while declaring its tests.
      current = variant;
      try { fn(); } finally { current = null; }
    });
  }
}

const present = new Map<string, Promise<boolean>>();

/**
 * Throws when an image the tests need is not in the current engine's store:
 * the image tests expect `bun run image` to have run, and fail (never skip) without it.
 */
export async function requireImage(tag: string, how = "bun run image"): Promise<void> {
  const key = `${engineName()} ${tag}`;
  if (!present.has(key)) present.set(key, engine(["image", "inspect", tag]).then((r) => r.code === 0));
  if (!(await present.get(key))) {
    const env = engineName() === "docker" ? "RUNNER_ENGINE=docker " : "";
    throw new Error(`${tag} is missing on ${engineName()}: run '${env}${how}' first (the image tests test the built image)`);
  }
}

/** `ENGINE image inspect` of one image, parsed (the first element of the array). */
export async function inspectImage(tag: string): Promise<any> {
  const r = await engine(["image", "inspect", tag]);
  if (r.code !== 0) throw new Error(`${tag}: image inspect failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout)[0];
}
