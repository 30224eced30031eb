// `bun run verify IMAGE` (scripts/verify.ts), the auditor's command
// (C-VERIFY-1..3): runner-base built from this checkout matches; a derived
// image whose runner was compiled from other source is refused, with both
// sums; usage and unreadable images get one-line errors and their codes.
// Needs `bun run image` (from this checkout).
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HARDENING_FLAGS } from "../../scripts/build.ts";
import { BASE_TAG, ROOT, describeImage, engine, requireImage } from "./engine.ts";

setDefaultTimeout(300_000);

const OTHER = "localhost/runner-test/other-runner:latest";
const VERIFY = join(ROOT, "scripts", "verify.ts");

function verify(args: string[]) {
  const r = Bun.spawnSync([process.execPath, VERIFY, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: process.env as Record<string, string> });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test("C-VERIFY-3: --help exits 0; a usage error exits 64 with one line `verify: …`", () => {
  const help = verify(["--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toStartWith("usage: bun run verify [--json] IMAGE");
  for (const args of [[], ["--bogus", "x"], ["a", "b"]]) {
    const r = verify(args);
    expect({ args, code: r.code, lines: r.stderr.split("\n").length, prefix: r.stderr.startsWith("verify: ") }).toEqual({ args, code: 64, lines: 2, prefix: true });
  }
});

describeImage("bun run verify", () => {
  let dir = "";
  let other: { code: number; stderr: string } | null = null;

  beforeAll(async () => {
    try { await requireImage(BASE_TAG); } catch { return; }
    // runner from other source: the same file with one string changed, compiled with the same flags.
    dir = mkdtempSync(join(tmpdir(), "runner-verify-test-"));
    const source = readFileSync(join(ROOT, "src", "runner.ts"), "utf8").replace("usage: runner COMMAND", "usage: runnr COMMAND");
    writeFileSync(join(dir, "runner.ts"), source);
    const b = Bun.spawnSync([process.execPath, "build", ...HARDENING_FLAGS, join(dir, "runner.ts"), "--outfile", join(dir, "runner")], { stdout: "pipe", stderr: "pipe" });
    if (b.exitCode !== 0) throw new Error(`compiling the other runner failed: ${b.stderr}`);
    writeFileSync(join(dir, "Containerfile"), `FROM ${BASE_TAG}\nUSER 0\nCOPY --chown=0:0 --chmod=0555 runner /usr/local/bin/runner\nUSER 10001:10001\n`);
    other = await engine(["build", "--network=none", "-t", OTHER, "-f", join(dir, "Containerfile"), dir], { timeoutMs: 600_000 });
  }, 600_000);

  afterAll(async () => {
    await engine(["rmi", "-f", OTHER]).catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("C-VERIFY-1: runner-base built from this checkout matches: exit 0, both sums equal, the SBOM's hashes agree", async () => {
    await requireImage(BASE_TAG);
    const r = verify(["--json", BASE_TAG]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.image_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.rebuilt_sha256).toBe(report.image_sha256);
    expect(report.checks.map((c: any) => [c.name, c.ok])).toEqual([
      ["binary", true], ["sbom.runner.sha256", true], ["sbom.runner.source_sha256", true], ["sbom.runner.bun", true],
    ]);
    const rev = (await engine(["image", "inspect", "--format", '{{index .Config.Labels "org.opencontainers.image.revision"}}', BASE_TAG])).stdout.trim();
    expect(report.image_revision).toBe(rev);
    expect(report.checkout_commit).toMatch(/^[0-9a-f]{40}$/);
    const human = verify([BASE_TAG]);
    expect(human.code).toBe(0);
    expect(human.stdout).toStartWith(`verify: MATCH: ${BASE_TAG}\n`);
    expect(human.stdout).toContain(`image's runner   sha256 ${report.image_sha256}`);
    expect(human.stdout).toContain(`image revision   ${rev}`);
  });

  test("C-VERIFY-2: an image whose runner was built from other source is refused: exit 1, both sums, and the SBOM no longer matches the binary", async () => {
    expect(other?.code).toBe(0);
    const r = verify(["--json", OTHER]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`verify: ${OTHER} does not match this checkout (binary, sbom.runner.sha256)\n`);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.image_sha256).not.toBe(report.rebuilt_sha256);
    const base = JSON.parse(verify(["--json", BASE_TAG]).stdout);
    expect(report.rebuilt_sha256).toBe(base.rebuilt_sha256);
    const human = verify([OTHER]);
    expect(human.code).toBe(1);
    expect(human.stdout).toStartWith(`verify: MISMATCH: ${OTHER}\n`);
    expect(human.stdout).toContain(`MISMATCH binary: image has ${report.image_sha256}, expected ${report.rebuilt_sha256}`);
  });

  test("C-VERIFY-3: an image that is not in the store exits 69 with one line, and nothing is pulled", async () => {
    const r = verify(["localhost/runner-test/does-not-exist:latest"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 69, stderr: "verify: no image localhost/runner-test/does-not-exist:latest in " + r.stderr.slice(r.stderr.indexOf(" in ") + 4) });
    expect(r.stderr).toEndWith("'s store (nothing is pulled)\n");
  });
});
