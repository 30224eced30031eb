// `bun run bench` works on this machine (issues 6 and 12): a short run of the
// real script (2 copies, 1 round, 3 turns, 2 sizes) must produce every row,
// the listing fit, the targets table and the strace evidence, and must leave
// the tracked bench/results.md alone. The numbers themselves are
// docs/PERFORMANCE.md's business, not a test's.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, describeBinary } from "./harness.ts";

describeBinary("benchmark script", () => {
  test("bun run bench (short) writes the side-by-side table, the listing fit, the targets and the dispatch's file calls", () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-bench-"));
    const out = join(dir, "results.md");
    const tracked = readFileSync(join(ROOT, "bench", "results.md"), "utf8");
    try {
      const r = Bun.spawnSync([process.execPath, join(ROOT, "bench", "bench.ts"), "--copies", "2", "--rounds", "1", "--runs", "3",
        "--warmup", "1", "--rss-runs", "1", "--sizes", "10,100,1000", "--list-runs", "2", "--list-rounds", "1", "--out", out],
        { stdout: "pipe", stderr: "pipe" });
      expect(r.exitCode).toBe(0);
      const md = readFileSync(out, "utf8");
      for (const row of ["direct execve of the plugin", "sh -c 'exec plugin'", "tini -s -- plugin", "dumb-init plugin", "Bun floor plugin", "runner true", "runner version", "runner info --json", "runner plugins (1000 entries)"]) {
        expect(md).toMatch(new RegExp(`^\\| ${row.replace(/[()*.+?|\\[\]]/g, "\\$&")} \\| \\d+\\.\\d+ \\| \\d+\\.\\d+–\\d+\\.\\d+ \\|`, "m"));
      }
      expect(md).toContain("≤ 1.10 × floor");
      expect(md).toMatch(/^\| 1000 \| \d+\.\d+ \|/m);
      expect(md).toMatch(/Least squares: -?\d+\.\d+ ms \+ -?\d+\.\d+ µs × entries/);
      expect(md).toMatch(/0 getdents64 calls in `runner true`/);
      expect(JSON.parse(readFileSync(join(dir, "results.json"), "utf8")).targets.trueRatio).toBeGreaterThan(0);
      expect(readFileSync(join(ROOT, "bench", "results.md"), "utf8")).toBe(tracked);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
