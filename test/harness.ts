// Runs the compiled dist/runner exactly as in an image: in a private mount
// namespace (unshare -m) where fixture folders are bind-mounted on
// /etc/runner and /usr/local/lib/runner.d, as a non-root uid (setpriv).
// Fixture files are created by the test process, which runs as root, so they
// are root-owned like in an image. Where these privileges are missing (for
// example `bun test` inside an unprivileged container build), the binary
// tests are skipped and say so loudly: see PRIVILEGED and describeBinary().
import { describe } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..");
export const DIST_RUNNER = join(ROOT, "dist", "runner");
export const VERSION: string = JSON.parse(require("node:fs").readFileSync(join(ROOT, "package.json"), "utf8")).version;
export const USER_UID = 10001;
export const USER_GID = 10001;

export const GOOD_IMAGE = "IMAGE_NAME=runner-test\nIMAGE_VERSION=9.8.7\nIMAGE_DOMAIN=test\nIMAGE_ROLE=test\n";
export const GOOD_RUNTIME = "RUNNER_USER=runner\nRUNNER_UID=10001\nRUNNER_GID=10001\n";

function probePrivileges(): string | null {
  if (process.getuid?.() !== 0) return "the tests do not run as root";
  for (const tool of ["/usr/bin/unshare", "/usr/bin/setpriv", "/bin/mount"]) {
    if (!existsSync(tool)) return `${tool} is missing`;
  }
  const r = Bun.spawnSync(["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/mount", "-t", "tmpfs", "tmpfs", "/mnt"]);
  if (r.exitCode !== 0) return `unshare -m cannot mount (${r.stderr.toString().trim() || `exit ${r.exitCode}`})`;
  if (!existsSync(DIST_RUNNER)) return `${DIST_RUNNER} is missing: run 'bun run build' first`;
  return null;
}

/** null when the binary tests can run here; otherwise why not. */
export const UNPRIVILEGED_REASON = probePrivileges();
export const PRIVILEGED = UNPRIVILEGED_REASON === null;

/**
 * describe() for tests of the compiled binary. Without the privileges it
 * needs, the block is skipped and the reason printed, never silently.
 */
export function describeBinary(name: string, fn: () => void): void {
  if (!PRIVILEGED) {
    console.warn(`\n!!! SKIPPED binary tests "${name}": ${UNPRIVILEGED_REASON}.\n!!! They need root, unshare -m and setpriv; run them on a machine or CI that has these.\n`);
    describe.skip(name, fn);
    return;
  }
  describe(name, fn);
}

let sharedDir: string | null = null;
/** A private copy of the binary in a root-owned 0755 folder that every uid can reach. */
function workDir(): string {
  if (sharedDir) return sharedDir;
  sharedDir = mkdtempSync(join(tmpdir(), "runner-test-"));
  chmodSync(sharedDir, 0o755);
  // Removed after the last test file by test/global.ts (bun test's preload).
  ((globalThis as any).__runnerTestsStarted ??= { dockerd: null }).dirs ??= [];
  (globalThis as any).__runnerTestsStarted.dirs.push(sharedDir);
  if (existsSync(DIST_RUNNER)) {
    copyFileSync(DIST_RUNNER, join(sharedDir, "runner"));
    chmodSync(join(sharedDir, "runner"), 0o755);
  }
  // The bind-mount targets must exist on the host; they stay empty there.
  for (const dir of ["/etc/runner", "/usr/local/lib/runner.d"]) {
    if (PRIVILEGED && !existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o755 });
  }
  return sharedDir;
}
export const runnerBinary = (): string => join(workDir(), "runner");

export type Fixture = {
  /** mounted on /etc/runner */
  etc: string;
  /** mounted on /usr/local/lib/runner.d */
  plugins: string;
  /** a folder the non-root user owns; the default working directory */
  work: string;
  root: string;
};

let counter = 0;
/**
 * A fresh fixture: a valid contract (image.env, runtime.env; no tools.env)
 * and an empty runner.d, everything root-owned with the image's modes.
 */
export function fixture(opts: { image?: string | null; runtime?: string | null; tools?: string | null } = {}): Fixture {
  const root = join(workDir(), `fx${++counter}`);
  const f: Fixture = { root, etc: join(root, "etc"), plugins: join(root, "plugins"), work: join(root, "work") };
  for (const d of [root, f.etc, f.plugins, f.work]) { mkdirSync(d, { recursive: true }); chmodSync(d, 0o755); }
  chmodSync(f.work, 0o777);
  const files = { "image.env": opts.image === undefined ? GOOD_IMAGE : opts.image, "runtime.env": opts.runtime === undefined ? GOOD_RUNTIME : opts.runtime, "tools.env": opts.tools ?? null };
  for (const [name, content] of Object.entries(files)) {
    if (content === null) continue;
    writeFileSync(join(f.etc, name), content);
    chmodSync(join(f.etc, name), 0o444);
  }
  return f;
}

/** Adds an executable, root-owned plugin (mode 0755 unless given). */
export function addPlugin(f: Fixture, name: string, script: string, mode = 0o755): string {
  const p = join(f.plugins, name);
  writeFileSync(p, script);
  chmodSync(p, mode);
  return p;
}

export type RunOptions = {
  uid?: number;
  gid?: number;
  /** effective uid, when it should differ from the real one */
  euid?: number;
  /** the whole environment runner receives */
  env?: Record<string, string>;
  stdin?: string | Uint8Array;
  cwd?: string;
  /** shell words appended after the arguments, for bytes a JS string cannot carry */
  rawShellArgs?: string;
  /** shell run (as root, inside the namespace) just before runner starts */
  prelude?: string;
  /** run in a new PID namespace too, so runner is PID 1 */
  pidNamespace?: boolean;
  /** set no_new_privs (setpriv --no-new-privs), as --security-opt no-new-privileges does */
  noNewPrivs?: boolean;
  /** extra bind mounts, applied after the defaults: [source, target] */
  mounts?: Array<[string, string]>;
  timeoutMs?: number;
};

export type RunResult = { code: number; stdout: string; stderr: string; signal: string | null; pid: number };

export const DEFAULT_ENV = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: "/tmp", LANG: "C.UTF-8" };

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The argv that runs runner in the namespace; the environment is the caller's business. */
export function namespaceCommand(f: Fixture, args: readonly string[], o: RunOptions = {}, binary = runnerBinary()): string[] {
  const uid = o.uid ?? USER_UID;
  const gid = o.gid ?? USER_GID;
  const mounts = [[f.etc, "/etc/runner"], [f.plugins, "/usr/local/lib/runner.d"], ...(o.mounts ?? [])]
    .map(([s, t]) => `/bin/mount --bind ${q(s!)} ${q(t!)} || exit 99`).join("\n");
  const ids = (o.euid !== undefined ? `--ruid=${uid} --euid=${o.euid}` : `--reuid=${uid}`) + (o.noNewPrivs ? " --no-new-privs" : "");
  const script = `${mounts}\ncd ${q(o.cwd ?? f.work)} || exit 99\n${o.prelude ?? ""}\nexec /usr/bin/setpriv ${ids} --regid=${gid} --clear-groups -- ${q(binary)} "$@" ${o.rawShellArgs ?? ""}`;
  const pid = o.pidNamespace ? ["--pid", "--fork", "--mount-proc"] : [];
  return ["/usr/bin/unshare", "-m", "--propagation", "private", ...pid, "--", "/bin/sh", "-c", script, "sh", ...args];
}

/** Runs runner in a fixture; the process's PID is runner's (and the plugin's, after execve). */
export async function run(f: Fixture, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  const proc = Bun.spawn(namespaceCommand(f, args, o), {
    env: o.env ?? DEFAULT_ENV,
    stdin: o.stdin === undefined ? "ignore" : new Blob([o.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    timeout: o.timeoutMs ?? 20_000,
    killSignal: "SIGKILL",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr, signal: proc.signalCode === null ? null : String(proc.signalCode), pid: proc.pid };
}

/** Asserts the error discipline of C-OUT-1: one line, prefixed, no trace. */
export function oneLineError(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l !== "");
  if (lines.length !== 1) throw new Error(`expected one stderr line, got ${lines.length}: ${JSON.stringify(stderr)}`);
  if (!lines[0]!.startsWith("runner: ")) throw new Error(`stderr line does not start with 'runner: ': ${lines[0]}`);
  if (/\bat .*:\d+|\n\s+at /.test(stderr)) throw new Error(`stack trace on stderr: ${stderr}`);
  return lines[0]!;
}
