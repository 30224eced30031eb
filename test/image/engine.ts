// The container engine for the image tests (test/image/, test/examples/).
// RUNNER_ENGINE picks podman or docker; otherwise podman, then docker, on PATH.
// With no engine the image tests FAIL with a clear message, unless
// RUNNER_SKIP_IMAGE_TESTS=1, which skips them with a loud notice (used by
// `bun test` inside the Containerfile's build stage, where no engine exists).
import { describe, test } from "bun:test";
import { BASE_TAG, ROOT, SDK_TAG, VERSION, engineEnv as engineEnvFor, findEngine } from "../../scripts/image.ts";

export { BASE_TAG, ROOT, SDK_TAG, VERSION };

/** The engine's path, or null when there is none (scripts/image.ts decides which). */
export const ENGINE: string | null = (() => { try { return findEngine(); } catch { return null; } })();
export const SKIP_IMAGE_TESTS = process.env.RUNNER_SKIP_IMAGE_TESTS === "1";

/** Environment for engine calls: on podman, the repo's containers.conf unless the caller set one. */
export function engineEnv(): Record<string, string> {
  return ENGINE ? engineEnvFor(ENGINE) : { ...(process.env as Record<string, string>) };
}

export type EngineResult = { code: number; stdout: string; stderr: string };

/** Runs `ENGINE ...args` and returns its status and output (never throws on non-zero). */
export async function engine(args: readonly string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<EngineResult> {
  if (!ENGINE) throw new Error("no container engine");
  const proc = Bun.spawn([ENGINE, ...args], {
    env: engineEnv(),
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 300_000,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/**
 * describe() for tests that need the engine. No engine: one failing test that
 * says what to install. RUNNER_SKIP_IMAGE_TESTS=1 skips them, loudly, in any case.
 */
export function describeImage(name: string, fn: () => void): void {
  if (SKIP_IMAGE_TESTS) {
    console.warn(`\n!!! SKIPPED image tests "${name}": RUNNER_SKIP_IMAGE_TESTS=1 is set.\n`);
    describe.skip(name, fn);
    return;
  }
  if (ENGINE) { describe(name, fn); return; }
  describe(name, () => {
    test("a container engine is available", () => {
      throw new Error("no container engine: install podman or docker (or set RUNNER_ENGINE), or set RUNNER_SKIP_IMAGE_TESTS=1 to skip the image tests");
    });
  });
}

const present = new Map<string, Promise<boolean>>();

/**
 * Throws when an image the tests need is not in the engine's store: the image
 * tests expect `bun run image` to have run, and fail (never skip) without it.
 */
export async function requireImage(tag: string, how = "bun run image"): Promise<void> {
  if (!present.has(tag)) present.set(tag, engine(["image", "inspect", tag]).then((r) => r.code === 0));
  if (!(await present.get(tag))) throw new Error(`${tag} is missing: run '${how}' first (the image tests test the built image)`);
}

/** `ENGINE image inspect` of one image, parsed (the first element of the array). */
export async function inspectImage(tag: string): Promise<any> {
  const r = await engine(["image", "inspect", tag]);
  if (r.code !== 0) throw new Error(`${tag}: image inspect failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout)[0];
}
