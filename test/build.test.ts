// The build itself: reproducible output (C-HARDEN-2) and a runtime that is
// one file importing only node: built-ins (C-HARDEN-3).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HARDENING_FLAGS, build } from "../scripts/build.ts";

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
