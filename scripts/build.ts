// Builds dist/runner: one executable, hardened against the working
// directory (no .env, bunfig.toml, tsconfig.json or package.json autoload),
// with the version from package.json and the sha256 of src/runner.ts compiled
// in (`runner version --json`). Deterministic: two builds of the same
// sources are byte-identical (test/build.test.ts checks it).
//
// `bun build` silently accepts flags it does not know, so a misspelt
// hardening flag would build a binary without the hardening. The build
// therefore checks its own output and fails if a flag did not take effect
// (verifyBuild below): it reads the module embedded in the executable and
// runs the executable in a folder laid out to tempt it (C-HARDEN-1).
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..");
export const HARDENING_FLAGS = [
  "--compile", "--minify", "--bytecode",
  "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
  "--no-compile-autoload-tsconfig", "--no-compile-autoload-package-json",
];
/**
 * Flags that only make runner start faster and smaller (measured in
 * docs/PERFORMANCE.md, "Build flags"): an ES module loads with less work than
 * the CommonJS wrapper --bytecode defaults to, and a higher JIT threshold keeps
 * a process that lives a few milliseconds in the interpreter instead of
 * starting JIT threads it never profits from.
 */
export const PERFORMANCE_FLAGS = ["--format=esm", "--compile-jit-policy=8"];
/** What runner is built with; bench/bench.ts builds the Bun floor with the same. */
export const BUILD_FLAGS = [...HARDENING_FLAGS, ...PERFORMANCE_FLAGS];

export const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;

/** Runs `bun build` on src/runner.ts with exactly these flags (and the version --define). */
export function compile(outfile: string, flags: readonly string[], source = join(ROOT, "src", "runner.ts")): void {
  mkdirSync(join(outfile, ".."), { recursive: true });
  const sourceSha256 = new Bun.CryptoHasher("sha256").update(readFileSync(source)).digest("hex");
  const r = Bun.spawnSync([process.execPath, "build", ...flags,
    "--define", `RUNNER_BUILD_VERSION=${JSON.stringify(VERSION)}`,
    "--define", `RUNNER_SOURCE_SHA256=${JSON.stringify(sourceSha256)}`,
    source, "--outfile", outfile], { cwd: ROOT, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`bun build failed with exit code ${r.exitCode}: ${r.stderr.toString().trim().split("\n").pop()}`);
}

/** The bytes of an ELF64 (little-endian) section, or null. */
function elfSection(file: Uint8Array, name: string): Uint8Array | null {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (v.getUint32(0) !== 0x7f454c46 || file[4] !== 2 || file[5] !== 1) return null;
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const strtab = shoff + v.getUint16(0x3e, true) * shentsize;
  const namesAt = Number(v.getBigUint64(strtab + 24, true));
  const want = new TextEncoder().encode(`${name}\0`);
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    const at = namesAt + v.getUint32(h, true);
    if (want.every((b, k) => file[at + k] === b)) {
      const offset = Number(v.getBigUint64(h + 24, true));
      return file.subarray(offset, offset + Number(v.getBigUint64(h + 32, true)));
    }
  }
  return null;
}

/**
 * Why the executable does not show the effect of every flag it was built
 * with (empty: it does). Effects, not spellings: the module embedded in the
 * executable (.bun section) and what the executable does when run in a folder
 * holding a bunfig.toml with a preload, a .env, a tsconfig.json and a
 * package.json. `flags` says which effects to demand.
 */
export function verifyBuild(binary: string, flags: readonly string[] = BUILD_FLAGS): string[] {
  const problems: string[] = [];
  const has = (flag: string) => flags.includes(flag);
  const file = readFileSync(binary);
  const section = elfSection(file, ".bun");
  if (!section) return [`${binary}: no .bun section: not a Bun executable`];
  const text = Buffer.from(section).toString("latin1");
  const at = text.lastIndexOf("// @bun");
  if (at === -1) return [`${binary}: no embedded module in the .bun section`];
  const pragma = text.slice(at, text.indexOf("\n", at));
  // A cross-compiled executable (scripts/cross.ts) cannot run here: only the
  // embedded module is checked. The native build of the same sources and
  // flags, which the build stage makes first, is run.
  const ELF_MACHINE: Record<string, number> = { x64: 62, arm64: 183 };
  const foreign = new DataView(file.buffer, file.byteOffset).getUint16(0x12, true) !== ELF_MACHINE[process.arch];
  const module = text.slice(at);
  if (has("--bytecode") && !(pragma.includes("@bytecode") && section.length > 4 * module.length)) {
    problems.push(`--bytecode: the embedded module carries no bytecode (pragma '${pragma}', ${section.length} bytes)`);
  }
  if (has("--format=esm") && pragma.includes("@bun-cjs")) problems.push("--format=esm: the embedded module is CommonJS");
  if (has("--minify")) {
    // Internal function names survive only when the code was not minified.
    const internal = [...readFileSync(join(ROOT, "src", "runner.ts"), "utf8").matchAll(/^function (\w{6,})\(/gm)].map((m) => m[1]!);
    const kept = internal.filter((name) => module.includes(`function ${name}(`));
    if (internal.length === 0 || kept.length > 0) problems.push(`--minify: names kept in the embedded module: ${kept.join(", ") || "(no names to check)"}`);
  }
  if (module.includes("RUNNER_BUILD_VERSION") || !module.includes(JSON.stringify(VERSION))) {
    problems.push("--define RUNNER_BUILD_VERSION: the version is not compiled in");
  }
  if (module.includes("RUNNER_SOURCE_SHA256")) problems.push("--define RUNNER_SOURCE_SHA256: the source digest is not compiled in");

  if (foreign) return problems;
  // Run it where a careless runtime would pick up local files.
  const dir = mkdtempSync(join(tmpdir(), "runner-verify-"));
  try {
    chmodSync(dir, 0o777);
    const exe = join(dir, "runner");
    copyFileSync(binary, exe);
    chmodSync(exe, 0o755);
    writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./preload.js"]\n');
    writeFileSync(join(dir, "preload.js"), `require("node:fs").writeFileSync(${JSON.stringify(join(dir, "PRELOADED"))}, "x");\n`);
    // runner reads one variable by name, HOME (for `check`): a .env that was
    // loaded shows as this HOME in check's output.
    const marker = "/runner-verify-dotenv-was-loaded";
    writeFileSync(join(dir, ".env"), `HOME=${marker}\n`);
    writeFileSync(join(dir, "tsconfig.json"), "{}\n");
    writeFileSync(join(dir, "package.json"), "{}\n");
    // runner refuses root: run it as nobody where the build runs as root.
    const asUser = process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] : [];
    const r = Bun.spawnSync([...asUser, exe, "version"], { cwd: dir, env: { PATH: "/usr/bin:/bin" }, stdout: "pipe", stderr: "pipe" });
    const stdout = r.stdout.toString();
    const stderr = r.stderr.toString().trim();
    if (has("--no-compile-autoload-bunfig") && existsSync(join(dir, "PRELOADED"))) {
      problems.push("--no-compile-autoload-bunfig: a bunfig.toml preload in the working directory ran");
    }
    // `check` prints every line even without a contract (then it exits 78).
    // No HOME of ours: a variable already set would win over the .env.
    const check = Bun.spawnSync([...asUser, exe, "check"], { cwd: dir, env: { PATH: "/usr/bin:/bin" }, stdout: "pipe", stderr: "pipe" });
    if (has("--no-compile-autoload-dotenv") && check.stdout.toString().includes(marker)) {
      problems.push("--no-compile-autoload-dotenv: the .env of the working directory was loaded");
    }
    if (!/^(PASS|WARN) +home: /m.test(check.stdout.toString())) {
      problems.push(`\`runner check\` printed no home line (exit ${check.exitCode}): the .env check cannot see anything`);
    }
    if (stdout !== `runner ${VERSION}\n`) {
      problems.push(`\`runner version\` as a non-root user printed ${JSON.stringify(stdout)} (exit ${r.exitCode}${stderr ? `, ${stderr}` : ""}), not 'runner ${VERSION}'`);
    }
    // strace shows what the runtime opened and which threads it started;
    // setup.sh installs it. The container build stage has none: there the
    // checks above are all (its binary is built from the same flags).
    if (existsSync("/usr/bin/strace")) {
      const log = join(dir, "strace.log");
      const t = Bun.spawnSync(["/usr/bin/strace", "-f", "-qq", "-e", "trace=openat,open,statx,stat,newfstatat,clone,clone3", "-o", log, ...asUser, exe, "version"],
        { cwd: dir, env: { PATH: "/usr/bin:/bin" }, stdout: "ignore", stderr: "pipe" });
      if (!existsSync(log)) {
        problems.push(`strace could not run the executable (exit ${t.exitCode}: ${t.stderr.toString().trim()})`);
      } else {
        const lines = readFileSync(log, "utf8").split("\n");
        const opened = (name: string) => lines.some((l) => l.includes(`"${name}"`) || l.includes(`"${join(dir, name)}"`));
        for (const [flag, name] of [["--no-compile-autoload-dotenv", ".env"], ["--no-compile-autoload-bunfig", "bunfig.toml"],
          ["--no-compile-autoload-tsconfig", "tsconfig.json"], ["--no-compile-autoload-package-json", "package.json"]] as const) {
          if (has(flag) && opened(name)) problems.push(`${flag}: the executable looked at ${name} in the working directory`);
        }
        const policy = flags.find((f) => f.startsWith("--compile-jit-policy="));
        const threads = lines.filter((l) => /\bclone3?\(/.test(l)).length;
        // The default policy starts JIT threads even for `version` (1 or 2); a raised one starts none.
        if (policy && Number(policy.split("=")[1]) > 1 && threads > 0) {
          problems.push(`${policy}: the executable started ${threads} threads for \`version\` (none expected)`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}

/**
 * Compiles dist/runner (or outfile) and fails unless every flag took effect.
 * `extraFlags`: more `bun build` flags, e.g. scripts/cross.ts's --target and
 * --compile-executable-path.
 */
export function build(outfile = join(ROOT, "dist", "runner"), extraFlags: readonly string[] = []): void {
  buildWith(outfile, [...BUILD_FLAGS, ...extraFlags]);
}

/** Compiles with these flags; removes the output and throws unless every one of BUILD_FLAGS took effect. */
export function buildWith(outfile: string, flags: readonly string[]): void {
  compile(outfile, flags);
  const problems = verifyBuild(outfile, [...BUILD_FLAGS, ...flags]);
  if (problems.length) {
    rmSync(outfile, { force: true });
    throw new Error(`the build did not take effect, ${outfile} removed:\n  ${problems.join("\n  ")}`);
  }
}

if (import.meta.main) {
  try {
    build(process.argv[2]);
  } catch (e) {
    console.error(`build: ${(e as Error).message}`);
    process.exit(1);
  }
}
