// Shared helpers for the example-image tests (test/examples/*.test.ts).
// They need the images `bun run examples` builds (after `bun run image`);
// a missing image fails its tests with a message that says so. Every test
// file is wrapped in describeImage() (test/image/engine.ts): each test runs
// once per engine (podman, docker), no engine fails clearly,
// RUNNER_SKIP_IMAGE_TESTS=1 skips loudly.
import { chmodSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "../../src/runner.ts";
import { exampleTag, EXAMPLES_DIR } from "../../scripts/examples.ts";
import { BASE_TAG, engine, engineName, noPasswd, readOnly, type EngineResult } from "../image/engine.ts";

export { BASE_TAG, engine, engineName, exampleTag, EXAMPLES_DIR, noPasswd, readOnly };
export type { EngineResult };

const present = new Map<string, Promise<void>>();

/** Resolves when the image exists on the current variant's engine; otherwise throws, saying how to build it. */
export function requireImage(tag: string): Promise<void> {
  const key = `${engineName()} ${tag}`;
  let p = present.get(key);
  if (!p) {
    const on = engineName() === "docker" ? "RUNNER_ENGINE=docker " : "";
    p = engine(["image", "inspect", "--format", "{{.Id}}", tag]).then((r) => {
      if (r.code !== 0) {
        const how = tag === BASE_TAG ? `${on}bun run image` : `${on}bun run examples' (after '${on}bun run image')`;
        throw new Error(`${tag} is missing on ${engineName()}: run '${how} first`);
      }
    });
    present.set(key, p);
  }
  return p;
}

/** `ENGINE run --rm [engineArgs] IMAGE args...` for an example image, after checking it exists. */
export async function runExample(name: string, args: readonly string[], engineArgs: readonly string[] = [],
  opts: { timeoutMs?: number } = {}): Promise<EngineResult> {
  const tag = exampleTag(name);
  await requireImage(tag);
  return engine(["run", "--rm", ...engineArgs, tag, ...args], opts);
}

/** A shell command in an example image, bypassing runner (to inspect files). */
export async function shellIn(name: string, script: string, engineArgs: readonly string[] = []): Promise<EngineResult> {
  return runExample(name, ["-c", script], ["--entrypoint", "/bin/sh", ...engineArgs]);
}

export type Info = { image: Record<string, string>; runtime: Record<string, string>; tools: Record<string, string> };

/** `runner info --json` in an image; throws with runner's stderr when it fails. */
export async function infoOf(tag: string): Promise<Info> {
  await requireImage(tag);
  const r = await engine(["run", "--rm", tag, "info", "--json"]);
  if (r.code !== 0) throw new Error(`runner info --json in ${tag} exited ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Info;
}

/** An example's image.manifest, parsed with runner's own parser. */
export function manifestOf(name: string): Map<string, string> {
  return parseEnv(readFileSync(join(EXAMPLES_DIR, name, "image.manifest")));
}

/** A fresh directory to mount on /workspace, writable by any container uid. */
export function workspace(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `runner-${prefix}-`));
  chmodSync(dir, 0o777);
  return dir;
}

/** Lines of output, without the final empty one. */
export const lines = (s: string): string[] => s.replace(/\n$/, "").split("\n");

/** Per-test timeout: containers start in about a second, but the machine is shared. */
export const SLOW = 180_000;

/**
 * The fenced block of a document that follows the line `<!-- run: ID -->`
 * (docs/CI.md's manifests and pipelines): the tests run exactly what the
 * document shows, so the document cannot drift from what was run.
 */
export function docBlock(doc: string, id: string): string {
  const text = readFileSync(join(import.meta.dir, "..", "..", doc), "utf8");
  const m = text.match(new RegExp(`^<!-- run: ${id.replace(/[-]/g, "\\-")} -->\\n(\`{3,})[\\w-]*\\n([\\s\\S]*?)\\n\\1$`, "m"));
  if (!m) throw new Error(`${doc} has no fenced block marked <!-- run: ${id} -->`);
  return `${m[2]}\n`;
}

/**
 * Gives an example image a second name, e.g. the registry name a document
 * uses; returns a function that removes that name again and nothing else.
 * The name goes on the image itself (its ID): with multi-platform builds the
 * example's tag is a manifest list, and removing a list's second name with
 * podman removes the list's image too.
 */
export async function alias(name: string, example: string): Promise<() => Promise<EngineResult>> {
  const id = (await engine(["image", "inspect", "--format", "{{.Id}}", exampleTag(example)])).stdout.trim();
  const r = await engine(["tag", id, name]);
  if (r.code !== 0) throw new Error(`tag ${exampleTag(example)} as ${name}: ${r.stderr.trim()}`);
  return () => engine(["rmi", name]);
}
