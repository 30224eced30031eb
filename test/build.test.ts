// The build itself: reproducible output (C-HARDEN-2) and a runtime that is
// one file importing only node: built-ins (C-HARDEN-3).
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILD_FLAGS, HARDENING_FLAGS, build, buildWith, compile, verifyBuild } from "../scripts/build.ts";

const ROOT = join(import.meta.dir, "..");
const source = readFileSync(join(ROOT, "src", "runner.ts"), "utf8");
const sha256 = (path: string) => new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");

describe("build", () => {
  test("C-HARDEN-2: two builds of the same sources, in different folders, are byte-identical", () => {
    const a = mkdtempSync(join(tmpdir(), "runner-build-a-"));
    const b = mkdtempSync(join(tmpdir(), "runner-build-b-"));
    try {
      build(join(a, "runner"));
      build(join(b, "runner"));
      expect(sha256(join(a, "runner"))).toBe(sha256(join(b, "runner")));
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  }, 120_000);

  test("C-HARDEN-1: the build uses every no-autoload flag", () => {
    for (const flag of ["--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig", "--no-compile-autoload-tsconfig", "--no-compile-autoload-package-json"]) {
      expect(HARDENING_FLAGS).toContain(flag);
    }
  });

  test("C-HARDEN-4: dist/runner as built shows the effect of every build flag", () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-build-"));
    try {
      build(join(dir, "runner"));
      expect(verifyBuild(join(dir, "runner"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  // bun build accepts any flag: a misspelt one builds without the hardening.
  // Each case builds with one flag misspelt and expects the check to name
  // that flag. Not here: --no-compile-autoload-tsconfig and -package-json.
  // They are Bun's defaults, and runner loads no module at run time, so even
  // their opposites change nothing a test could see; the check still demands
  // (by strace) that runner never looks at either file.
  const cases: Array<[string, string[]]> = BUILD_FLAGS
    .filter((f) => f !== "--compile" && !/autoload-(tsconfig|package-json)/.test(f))
    .map((flag) => [flag, BUILD_FLAGS.map((f) => (f === flag ? f.replace(/^--/, "--x-") : f))]);
  for (const [flag, flags] of cases) {
    // The JIT policy shows only in the threads runner starts, which strace sees.
    const needsStrace = flag.startsWith("--compile-jit-policy");
    if (needsStrace && !existsSync("/usr/bin/strace")) console.warn(`\n!!! SKIPPED: the check of ${flag} needs /usr/bin/strace (scripts/setup.sh installs it)\n`);
    test.skipIf(needsStrace && !existsSync("/usr/bin/strace"))(`C-HARDEN-4: the build check catches ${flag} misspelt`, () => {
      const dir = mkdtempSync(join(tmpdir(), "runner-build-"));
      try {
        compile(join(dir, "runner"), flags);
        const problems = verifyBuild(join(dir, "runner"));
        expect(problems.some((p) => p.startsWith(`${flag}:`))).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  }

  test("C-HARDEN-4: the build fails, and leaves no binary, when a flag is misspelt", () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-build-"));
    try {
      const flags = BUILD_FLAGS.map((f) => (f === "--no-compile-autoload-bunfig" ? "--no-compile-autoload-bunfg" : f));
      expect(() => buildWith(join(dir, "runner"), flags)).toThrow(/--no-compile-autoload-bunfig: a bunfig.toml preload in the working directory ran/);
      expect(existsSync(join(dir, "runner"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test("C-HARDEN-3: src/runner.ts imports only node: built-ins statically, and bun:ffi lazily in one place", () => {
    const specifiers = [...source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)].map((m) => m[1]);
    expect(specifiers.length).toBeGreaterThan(0);
    for (const s of specifiers) expect(s).toStartWith("node:");
    expect([...source.matchAll(/\brequire\s*\(([^)]*)\)/g)].map((m) => m[1])).toEqual(['"bun:ffi"']);
    expect(/\bimport\s*\(/.test(source)).toBe(false);
  });

  test("C-HARDEN-3: the runtime never opens the build-time manifest nor imports the materializer", () => {
    expect(source.includes("image.manifest")).toBe(false);
    expect(/materialize\.ts|from "\.\//.test(source)).toBe(false);
  });

  test("C-PATH-1: the contract paths are compiled-in constants", () => {
    for (const p of ['"/etc/runner/image.env"', '"/etc/runner/runtime.env"', '"/etc/runner/tools.env"', '"/usr/local/lib/runner.d"']) {
      expect(source.includes(p)).toBe(true);
    }
    // The only variable runner reads by name is HOME, for `check` (C-CHECK-5).
    expect([...source.matchAll(/process\.env\.(\w+)/g)].map((m) => m[1])).toEqual(["HOME"]);
  });
});
