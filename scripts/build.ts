// Builds dist/runner: one executable, hardened against the working
// directory (no .env, bunfig.toml, tsconfig.json or package.json autoload),
// with the version from package.json and the sha256 of src/runner.ts compiled
// in (`runner version --json`). Deterministic: two builds
// of the same sources are byte-identical (test/build.test.ts checks it).
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..");
export const HARDENING_FLAGS = [
  "--compile", "--minify", "--bytecode",
  "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
  "--no-compile-autoload-tsconfig", "--no-compile-autoload-package-json",
];

/** `extra`: more `bun build` flags, e.g. scripts/cross.ts's --target and --compile-executable-path. */
export function build(outfile = join(ROOT, "dist", "runner"), extra: string[] = []): void {
  const { version } = JSON.parse(require("node:fs").readFileSync(join(ROOT, "package.json"), "utf8"));
  const source = join(ROOT, "src", "runner.ts");
  const sourceSha256 = new Bun.CryptoHasher("sha256").update(require("node:fs").readFileSync(source)).digest("hex");
  mkdirSync(join(outfile, ".."), { recursive: true });
  const r = Bun.spawnSync([process.execPath, "build", ...HARDENING_FLAGS,
    "--define", `RUNNER_BUILD_VERSION=${JSON.stringify(version)}`,
    "--define", `RUNNER_SOURCE_SHA256=${JSON.stringify(sourceSha256)}`, ...extra,
    source, "--outfile", outfile], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) throw new Error(`bun build failed with exit code ${r.exitCode}`);
}

if (import.meta.main) build(process.argv[2]);
