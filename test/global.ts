// Preloaded by `bun test` (bunfig.toml [test] preload): hooks for the whole
// run. Bun emits no process "exit" event at the end of a test run, so a
// private docker daemon that the image tests started (test/image/engine.ts)
// is stopped here, by its pid, after the last test file.
import { afterAll } from "bun:test";
import { rmSync } from "node:fs";
import { stop } from "../scripts/dockerd.ts";

/** What the tests started or made for the whole run: a dockerd's folder (engine.ts), scratch folders (harness.ts). */
export const started: { dockerd: string | null; dirs?: string[] } = ((globalThis as any).__runnerTestsStarted ??= { dockerd: null });

afterAll(() => {
  // The binary tests' copy of runner and their fixtures (about 120 MB a run).
  for (const dir of started.dirs ?? []) rmSync(dir, { recursive: true, force: true });
  started.dirs = [];
  if (started.dockerd) {
    stop(started.dockerd);
    console.warn(`\nimage tests: stopped the private dockerd they started (${started.dockerd})`);
    started.dockerd = null;
  }
}, 60_000);
