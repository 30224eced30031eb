// scripts/examples.ts (`bun run examples`) fails early, in one line, when
// what it builds on is missing. A stand-in engine (a shell script that logs
// its arguments) plays podman, so these tests need no engine and run
// everywhere, the Containerfile's build stage included.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, VERSION } from "../image/engine.ts";

const dir = mkdtempSync(join(tmpdir(), "runner-examples-script-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fake `podman` whose `image inspect` succeeds only for the references given. */
function fakeEngine(name: string, present: string[]): string {
  const path = join(dir, name, "podman");
  mkdirSync(join(dir, name));
  const cases = present.map((ref) => `  *" ${ref}") exit 0 ;;`).join("\n");
  writeFileSync(path, `#!/bin/sh\necho "$*" >> "${path}.calls"\ncase "$*" in\n${cases}\nesac\nexit 1\n`);
  chmodSync(path, 0o755);
  return path;
}

function examples(args: string[], engine: string) {
  const r = Bun.spawnSync([process.execPath, join(ROOT, "scripts", "examples.ts"), ...args], {
    cwd: ROOT, env: { ...process.env, RUNNER_ENGINE: engine }, stdout: "pipe", stderr: "pipe",
  });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const BASE = `localhost/runner-base:${VERSION}`;
const SDK = `localhost/runner-sdk:${VERSION}`;

describe("bun run examples (scripts/examples.ts)", () => {
  test("without runner-base it stops before building anything: one line, exit 1, run bun run image first", () => {
    const engine = fakeEngine("none", []);
    const r = examples([], engine);
    expect(r).toEqual({ code: 1, stdout: "", stderr: `examples: ${BASE} is missing: run 'bun run image' first\n` });
    expect(readFileSync(`${engine}.calls`, "utf8")).not.toContain("build");
  });

  test("with runner-base but without runner-sdk it names the sdk", () => {
    const engine = fakeEngine("base-only", [BASE]);
    const r = examples(["hello"], engine);
    expect(r).toEqual({ code: 1, stdout: "", stderr: `examples: ${SDK} is missing: run 'bun run image' first\n` });
    expect(readFileSync(`${engine}.calls`, "utf8")).not.toContain("build");
  });

  test("an unknown example is a usage error (64) naming the known ones", () => {
    const r = examples(["terraform"], fakeEngine("usage", [BASE, SDK]));
    expect(r).toEqual({ code: 64, stdout: "", stderr: "examples: unknown example 'terraform' (known: hello, ansible, kubectl, typescript, template)\n" });
  });

  test("an engine that is not there is named in one line", () => {
    const r = examples([], join(dir, "no-such-engine"));
    expect(r).toEqual({ code: 1, stdout: "", stderr: `examples: RUNNER_ENGINE=${join(dir, "no-such-engine")} is not on PATH\n` });
  });
});
