// The release is named in one place: package.json (version, and the Bun pin
// in devDependencies). Scripts, tests and docs read it from there; the few
// files that must state it (the contract's and the architecture's titles, the
// changelog) are checked against it here.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dir, "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const VERSION: string = pkg.version;
const BUN_PIN: string = pkg.devDependencies.bun;

// Files allowed to hold the literal strings, and why:
const ALLOWED = new Set([
  "package.json", "package-lock.json", // the one source
  "CHANGELOG.md", // history names every release
  "bench/results.md", // a recorded run says what it measured
]);
// image.manifest files are build-time data that the build checks against
// package.json (scripts/image.ts, scripts/examples.ts); they are not prose.
const isManifest = (rel: string) => rel.endsWith("image.manifest");
// A domain image's Containerfile restates its manifest's IMAGE_VERSION for the
// OCI label (plugins-examples/template); the build fails when the two differ
// (runner-materialize --label, C-IMAGE-3), so that line is manifest data too.
const restatesManifest = (rel: string, line: string) => rel.endsWith("Containerfile") && /^ARG IMAGE_VERSION=/.test(line);

/** Every text file of the source tree (works without .git, as in the image build). */
function sourceFiles(): string[] {
  const out: string[] = [];
  // Generated and git-ignored: dependencies, builds, caches, and in cross/
  // the aarch64 Bun runtime that scripts/cross.ts unpacks (cross/README.md is kept).
  const skip = new Set(["node_modules", "dist", ".git", ".cache"]);
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (skip.has(name) || (dir.endsWith("/cross") && name.startsWith("bun-linux-"))) continue;
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && st.size < 1_000_000 && /\.(ts|md|sh|json|ya?ml|toml|conf)$|Containerfile$|\/run$|\.manifest$/.test(p)) out.push(p);
    }
  };
  walk(ROOT);
  return out.map((p) => relative(ROOT, p)).sort();
}

const literal = (v: string) => new RegExp(`(?<![0-9.])${v.replace(/\./g, "\\.")}(?![0-9])`);

describe("release", () => {
  test("package.json names a semantic version and an exact Bun pin", () => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(BUN_PIN).toMatch(/^\d+\.\d+\.\d+$/);
  });

  // The Containerfile's build stage copies docs/ but not CHANGELOG.md; there
  // (RUNNER_SKIP_IMAGE_TESTS=1) this one test is skipped, loudly.
  const noChangelog = !existsSync(join(ROOT, "CHANGELOG.md"));
  if (noChangelog) console.warn("\n!!! SKIPPED the CHANGELOG.md release check: CHANGELOG.md is not here (the image's build stage does not copy it)\n");
  test.skipIf(noChangelog)("CHANGELOG.md's first release heading is package.json's version", () => {
    const first = readFileSync(join(ROOT, "CHANGELOG.md"), "utf8").split("\n").find((l) => l.startsWith("## "));
    expect(first).toMatch(new RegExp(`^## ${VERSION.replace(/\./g, "\\.")}( |$)`));
  });

  test("docs/CONTRACT.md and docs/ARCHITECTURE.md are titled with package.json's version", () => {
    for (const doc of ["docs/CONTRACT.md", "docs/ARCHITECTURE.md"]) {
      const title = readFileSync(join(ROOT, doc), "utf8").split("\n")[0]!;
      expect(`${doc}: ${title}`).toContain(`(v${VERSION})`);
    }
  });

  test("no script, test or doc hard-codes the version or the Bun pin", () => {
    const offenders: string[] = [];
    for (const rel of sourceFiles()) {
      if (ALLOWED.has(rel) || isManifest(rel)) continue;
      const lines = readFileSync(join(ROOT, rel), "utf8").split("\n");
      lines.forEach((line, i) => {
        // The two titles checked above are the only places a doc states the version.
        if (i === 0 && (rel === "docs/CONTRACT.md" || rel === "docs/ARCHITECTURE.md")) return;
        if (restatesManifest(rel, line)) return;
        if (literal(VERSION).test(line)) offenders.push(`${rel}:${i + 1}: version ${VERSION}: ${line.trim()}`);
        if (literal(BUN_PIN).test(line)) offenders.push(`${rel}:${i + 1}: Bun pin ${BUN_PIN}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  test("the walk sees the tree (it is not vacuous)", () => {
    const files = sourceFiles();
    expect(files).toContain("src/runner.ts");
    expect(files).toContain("docs/CONTRACT.md");
    expect(existsSync(join(ROOT, "package.json"))).toBe(true);
  });
});
