// Shared helpers of the hostile-input suite (test/hostile/*.test.ts).
// Every hostile case asserts the same discipline (issue 5): the documented
// exit code, one `runner: ` line on stderr, no stack trace, nothing executed,
// and a bounded time. `refused()` checks all of it at once.
import { expect } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  DEFAULT_ENV, addPlugin, namespaceCommand, oneLineError, run,
  type Fixture, type RunOptions, type RunResult,
} from "../harness.ts";

/** A hostile case must end well within this (the harness kills at timeoutMs). */
export const BOUND_MS = 5_000;

export type Timed = RunResult & { ms: number };

/** run() with its wall-clock duration; the harness timeout is raised so a hang shows as a failed bound, not a kill. */
export async function timed(f: Fixture, args: readonly string[], o: RunOptions = {}): Promise<Timed> {
  const t0 = performance.now();
  const r = await run(f, args, { timeoutMs: 15_000, ...o });
  return { ...r, ms: performance.now() - t0 };
}

/**
 * Runs `binary` (for example a wrapper script that execs runner under env or
 * strace) in the fixture's namespace, as the harness's run() does.
 */
export async function timedVia(binary: string, f: Fixture, args: readonly string[], o: RunOptions = {}): Promise<Timed> {
  const t0 = performance.now();
  const proc = Bun.spawn(namespaceCommand(f, args, o, binary), {
    env: o.env ?? DEFAULT_ENV, stdin: "ignore", stdout: "pipe", stderr: "pipe",
    timeout: o.timeoutMs ?? 15_000, killSignal: "SIGKILL",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr, signal: proc.signalCode === null ? null : String(proc.signalCode), pid: proc.pid, ms: performance.now() - t0 };
}

/** The file a marker plugin writes when (wrongly) run; the work folder is writable by the test uid. */
export const markerPath = (f: Fixture, tag = "ran"): string => join(f.work, `marker-${tag}`);

/** A script that leaves a marker in the fixture's work folder if it ever runs. */
export const markerScript = (f: Fixture, tag = "ran"): string => `#!/bin/sh\necho ran > '${markerPath(f, tag)}'\n`;

/** Adds a plugin (or any file content) that would write a marker if it ran. */
export function addMarkerPlugin(f: Fixture, name: string, mode = 0o755, tag = "ran"): string {
  return addPlugin(f, name, markerScript(f, tag), mode);
}

/**
 * The hostile-case discipline: exit code, one `runner: ` line (no trace)
 * matching `message`, nothing on stdout, no marker, within BOUND_MS.
 * Returns the error line for further checks.
 */
export function refused(r: Timed, code: number, message: RegExp, f?: Fixture, tags: string[] = ["ran"]): string {
  expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toMatchObject({ code, signal: null });
  const line = oneLineError(r.stderr);
  expect(line).toMatch(message);
  expect(r.stdout).toBe("");
  expect(r.ms).toBeLessThan(BOUND_MS);
  if (f) for (const tag of tags) expect(existsSync(markerPath(f, tag))).toBe(false);
  return line;
}

/** The plugin ran (the positive control of a hostile case). */
export function ranOnce(r: Timed, f: Fixture, tag = "ran"): void {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(existsSync(markerPath(f, tag))).toBe(true);
  expect(r.ms).toBeLessThan(BOUND_MS);
}
