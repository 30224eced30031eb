// What a POSIX shell's `.` makes of an env file: the oracle for C-ENV-8.
// `env -i` gives the shell an empty environment, `set -a` exports every
// assignment, and `env -0` prints the result NUL-separated, so values keep
// every byte. The variables the shell itself exports (PWD, SHLVL, …) are
// removed by diffing against an empty file sourced the same way.
// Three shells: dash (Debian's /bin/sh), `bash --posix` and plain bash (the
// /bin/sh of RHEL, UBI and Fedora based images): runner's promise must hold
// for each of them.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const SHELLS: Readonly<Record<string, readonly string[]>> = {
  dash: ["/bin/dash"],
  "bash --posix": ["/bin/bash", "--posix"],
  bash: ["/bin/bash"],
};

function source(shell: readonly string[], path: string): { ok: boolean; vars: Map<string, string> } {
  const r = Bun.spawnSync(["/usr/bin/env", "-i", ...shell, "-c", 'set -a; . "$1" || exit 3; env -0', "sh", path], { stdout: "pipe", stderr: "pipe" });
  const vars = new Map<string, string>();
  for (const kv of r.stdout.toString("utf8").split("\0")) {
    if (kv === "") continue;
    const eq = kv.indexOf("=");
    vars.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return { ok: r.exitCode === 0 && r.stderr.length === 0, vars };
}

let dir: string | null = null;
const baselines = new Map<string, Map<string, string>>();

/** The variables sourcing `bytes` with one shell sets, or null when it reports an error. */
export function sourceWith(name: keyof typeof SHELLS, bytes: Uint8Array | string): Map<string, string> | null {
  const shell = SHELLS[name]!;
  dir ??= mkdtempSync(join(tmpdir(), "runner-sh-"));
  let baseline = baselines.get(name);
  if (!baseline) {
    const empty = join(dir, "empty.env");
    writeFileSync(empty, "");
    baselines.set(name, baseline = source(shell, empty).vars);
  }
  const file = join(dir, "case.env");
  writeFileSync(file, bytes);
  const { ok, vars } = source(shell, file);
  if (!ok) return null;
  for (const [k, v] of baseline) if (vars.get(k) === v) vars.delete(k);
  // bash sets `_` to the last argument of the last command; it is no key of the file.
  vars.delete("_");
  return vars;
}

/** What dash makes of the file (kept for callers that need one shell). */
export function sourceWithSh(bytes: Uint8Array | string): Map<string, string> | null {
  return sourceWith("dash", bytes);
}

/**
 * What every shell makes of the file: the shared result, or an error naming
 * the shells that disagree (one refused, or their variables differ).
 */
export function sourceWithEveryShell(bytes: Uint8Array | string): Map<string, string> | null {
  const results = Object.keys(SHELLS).map((name) => [name, sourceWith(name, bytes)] as const);
  const key = (m: Map<string, string> | null) => (m === null ? "refused" : JSON.stringify([...m].sort(([a], [b]) => (a < b ? -1 : 1))));
  const first = key(results[0]![1]);
  for (const [name, vars] of results.slice(1)) {
    if (key(vars) !== first) {
      throw new Error(`shells disagree on ${JSON.stringify(typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("latin1"))}: ${results.map(([n, v]) => `${n}: ${key(v)}`).join("; ")}`);
    }
  }
  return results[0]![1];
}

export function cleanupSh(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
  baselines.clear();
}
