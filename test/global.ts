// Preloaded by `bun test` (bunfig.toml [test] preload): hooks for the whole
// run. Bun emits no process "exit" event at the end of a test run, so a
// private docker daemon that the image tests started (test/image/engine.ts)
// is stopped here, by its pid, after the last test file.
import { afterAll } from "bun:test";
import { stop } from "../scripts/dockerd.ts";

/** The folder of a dockerd the tests started themselves; engine.ts sets it. */
export const started: { dockerd: string | null } = ((globalThis as any).__runnerTestsStarted ??= { dockerd: null });

afterAll(() => {
  if (started.dockerd) {
    stop(started.dockerd);
    console.warn(`\nimage tests: stopped the private dockerd they started (${started.dockerd})`);
    started.dockerd = null;
  }
}, 60_000);
