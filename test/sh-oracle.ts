// What a POSIX shell's `.` makes of an env file: the oracle for C-ENV-8.
// `env -i` gives sh an empty environment, `set -a` exports every assignment,
// and `env -0` prints the result NUL-separated, so values keep every byte.
// The variables sh itself exports (PWD, …) are removed by diffing against an
// empty file sourced the same way.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const SH = "/bin/sh";

function source(path: string): { ok: boolean; vars: Map<string, string> } {
  const r = Bun.spawnSync(["/usr/bin/env", "-i", SH, "-c", 'set -a; . "$1" || exit 3; env -0', "sh", path], { stdout: "pipe", stderr: "pipe" });
  const vars = new Map<string, string>();
  for (const kv of r.stdout.toString("utf8").split("\0")) {
    if (kv === "") continue;
    const eq = kv.indexOf("=");
    vars.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return { ok: r.exitCode === 0 && r.stderr.length === 0, vars };
}

let dir: string | null = null;
let baseline: Map<string, string> | null = null;

/** The variables sourcing `bytes` with sh sets, or null when sh reports an error. */
export function sourceWithSh(bytes: Uint8Array | string): Map<string, string> | null {
  dir ??= mkdtempSync(join(tmpdir(), "runner-sh-"));
  const empty = join(dir, "empty.env");
  if (!baseline) { writeFileSync(empty, ""); baseline = source(empty).vars; }
  const file = join(dir, "case.env");
  writeFileSync(file, bytes);
  const { ok, vars } = source(file);
  if (!ok) return null;
  for (const [k, v] of baseline) if (vars.get(k) === v) vars.delete(k);
  return vars;
}

export function cleanupSh(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
}
