// `bun run bench` works on this machine (issue 6): a short run of the real
// script must produce every row, the targets table and the strace evidence.
// The numbers themselves are docs/PERFORMANCE.md's business, not a test's.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, describeBinary } from "./harness.ts";

describeBinary("benchmark script", () => {
  test("bun run bench (5 runs) writes the side-by-side table, the targets and the dispatch's file calls", () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-bench-"));
    const out = join(dir, "results.md");
    try {
      const r = Bun.spawnSync([process.execPath, join(ROOT, "bench", "bench.ts"), "--runs", "5", "--rounds", "1", "--out", out], { stdout: "pipe", stderr: "pipe" });
      expect(r.exitCode).toBe(0);
      const md = readFileSync(out, "utf8");
      for (const row of ["direct execve of the plugin", "sh -c 'exec plugin'", "tini -s -- plugin", "dumb-init plugin", "Bun floor plugin", "runner true", "runner version", "runner info --json", "runner plugins (1000 entries)"]) {
        expect(md).toMatch(new RegExp(`^\\| ${row.replace(/[()*.+?|\\[\]]/g, "\\$&")} \\| \\d+\\.\\d+ \\|`, "m"));
      }
      expect(md).toContain("≤ 1.10 × floor");
      expect(md).toMatch(/0 getdents64 calls in `runner true`/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
