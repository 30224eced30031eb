// Cross-compiling runner and runner-materialize for another architecture
// (multi-platform images, docs/IMAGE.md). The build stage always runs on the
// build machine's platform (its `bun test` included); for another target the
// same Bun compiles with `--target=bun-linux-ARCH` and embeds that target's
// Bun runtime, which `bun build` would otherwise download from the npm
// registry into ~/.bun/install/cache/bun-linux-aarch64-vVERSION. The build
// has no network (C-IMAGE-4), so the runtime comes from the build context:
// cross/bun-linux-ARCH/ holds the npm package @oven/bun-linux-ARCH at the
// Bun version of package.json, unpacked by `bun run image` (provide()), and
// is passed with --compile-executable-path.
//
//   bun scripts/cross.ts provide ARCH         (host) fill cross/ for ARCH, print its folder
//   bun scripts/cross.ts build ARCH [DIR]     (build stage) replace DIR/runner and
//                                             DIR/runner-materialize by ARCH builds;
//                                             nothing to do for the build machine's own ARCH
// ARCH is an OCI architecture (amd64, arm64); an empty ARCH means the build
// machine's (an engine that does not set TARGETARCH). Errors: `cross: …`.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildMaterialize } from "./build-materialize.ts";
import { build, ROOT } from "./build.ts";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
/** The Bun pin: the cross runtime must be the same version as the compiler. */
export const BUN_VERSION: string = pkg.devDependencies.bun;

/** OCI architecture → Bun's --target suffix and the npm package's suffix. */
export const TARGETS: Record<string, { bun: string; npm: string }> = {
  amd64: { bun: "bun-linux-x64", npm: "bun-linux-x64" },
  arm64: { bun: "bun-linux-arm64", npm: "bun-linux-aarch64" },
};

export class CrossError extends Error {}

/** The build machine's architecture, as an OCI name. */
export const hostArch = (): string => (process.arch === "x64" ? "amd64" : process.arch);

function target(arch: string) {
  const t = TARGETS[arch];
  if (!t) throw new CrossError(`unsupported architecture '${arch}' (${Object.keys(TARGETS).join(", ")})`);
  return t;
}

/** Where the target's runtime sits, relative to a context root. */
export const runtimeDir = (root: string, arch: string): string => join(root, "cross", target(arch).npm);

/** The unpacked package's version, or null if it is not there. */
function unpackedVersion(dir: string): string | null {
  try {
    if (!existsSync(join(dir, "bin", "bun"))) return null;
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version ?? null;
  } catch {
    return null;
  }
}

/**
 * Puts @oven/bun-linux-ARCH@BUN_VERSION into cross/ (npm pack: the npm
 * registry or npm's cache; npm checks the tarball's integrity). Kept when
 * already there at the right version. Returns the directory.
 */
export function provide(arch: string, root = ROOT): string {
  const dir = runtimeDir(root, arch);
  if (unpackedVersion(dir) === BUN_VERSION) return dir;
  const name = `@oven/${target(arch).npm}@${BUN_VERSION}`;
  const tmp = mkdtempSync(join(tmpdir(), "runner-cross-"));
  try {
    const npm = Bun.which("npm");
    if (!npm) throw new CrossError(`npm is not on PATH: it fetches ${name}`);
    const r = Bun.spawnSync([npm, "pack", "--silent", "--pack-destination", tmp, name], { cwd: tmp, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const tgz = r.stdout.toString().trim().split("\n").pop() ?? "";
    if (r.exitCode !== 0 || !tgz) throw new CrossError(`npm pack ${name} failed: ${r.stderr.toString().trim().split("\n").pop() ?? `exit ${r.exitCode}`}`);
    const out = join(tmp, "out");
    mkdirSync(out);
    const t = Bun.spawnSync(["tar", "-xzf", join(tmp, tgz), "-C", out], { stdout: "pipe", stderr: "pipe" });
    if (t.exitCode !== 0) throw new CrossError(`cannot unpack ${tgz}: ${t.stderr.toString().trim()}`);
    const got = unpackedVersion(join(out, "package"));
    if (got !== BUN_VERSION) throw new CrossError(`${name} unpacked as version ${got ?? "(no bin/bun)"}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, ".."), { recursive: true });
    renameSync(join(out, "package"), dir);
    return dir;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `bun build` flags that make ARCH's executable with the runtime in `dir`. */
export function crossFlags(arch: string, dir: string): string[] {
  return [`--target=${target(arch).bun}`, `--compile-executable-path=${join(dir, "bin", "bun")}`];
}

/** In the build stage: rebuild runner and runner-materialize in `out` for ARCH. Returns what it did. */
export function crossBuild(arch: string, out = join(ROOT, "dist"), root = ROOT): string {
  if (arch === "" || arch === hostArch()) return `native ${hostArch()} build kept`;
  const dir = runtimeDir(root, arch);
  const got = unpackedVersion(dir);
  if (got !== BUN_VERSION) {
    throw new CrossError(`${dir} holds ${got ? `Bun ${got}` : "no Bun runtime"}, the build needs @oven/${target(arch).npm}@${BUN_VERSION}: build with 'bun run image' (it provides it), or run 'bun scripts/cross.ts provide ${arch}' first`);
  }
  const flags = crossFlags(arch, dir);
  build(join(out, "runner"), flags);
  buildMaterialize(join(out, "runner-materialize"), flags);
  return `runner and runner-materialize cross-compiled for ${arch} (${target(arch).bun}, Bun ${BUN_VERSION})`;
}

if (import.meta.main) {
  const [cmd, arch = "", out] = process.argv.slice(2);
  try {
    if (cmd === "provide") console.log(provide(arch));
    else if (cmd === "build") console.error(`cross: ${crossBuild(arch, out)}`);
    else throw new CrossError("usage: bun scripts/cross.ts provide ARCH | build ARCH [DIR]");
    process.exit(0);
  } catch (e) {
    console.error(`cross: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    process.exit(1);
  }
}
