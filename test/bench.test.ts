// `bun run bench` works on this machine (issue 6): a short run of the real
// script must produce every row, the targets table and the strace evidence.
// The numbers themselves are docs/PERFORMANCE.md's business, not a test's.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, describeBinary } from "./harness.ts";

describeBinary("benchmark script", () => {
  test("bun run bench --update cannot be combined with --out (usage, 64, one line)", () => {
    const r = Bun.spawnSync([process.execPath, join(ROOT, "bench", "bench.ts"), "--update", "--out", "/nonexistent/x.md"], { stdout: "pipe", stderr: "pipe" });
    expect({ code: r.exitCode, stderr: r.stderr.toString() }).toEqual({ code: 64, stderr: "bench: --update writes bench/results.md; it cannot be combined with --out\n" });
  });

  test("bun run bench (5 runs) writes the side-by-side table, the targets and the dispatch's file calls to .cache/bench/results.md, not the tracked bench/results.md", () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-bench-"));
    const out = join(ROOT, ".cache", "bench", "results.md");
    const tracked = readFileSync(join(ROOT, "bench", "results.md"), "utf8");
    rmSync(out, { force: true });
    try {
      const r = Bun.spawnSync([process.execPath, join(ROOT, "bench", "bench.ts"), "--runs", "5", "--rounds", "1"], { stdout: "pipe", stderr: "pipe" });
      expect(r.exitCode).toBe(0);
      expect(readFileSync(join(ROOT, "bench", "results.md"), "utf8")).toBe(tracked);
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
