// The doc-block machinery itself (test/docs/blocks.ts), on synthetic
// Markdown: markers, commands, claims, and statuses of commands run in one shell.
import { describe, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { blocksOf, commandsOf, runCommands } from "./blocks.ts";

const DOC = [
  "# Title", "",
  "<!-- run: one -->", "```sh", "echo a", "```", "",
  "Some prose.", "", "```bash", "echo unmarked", "```", "",
  "Why: not run here, no cluster.", "<!-- not run: no cluster -->", "", "```console", "$ kubectl get pods", "NAME READY", "```",
  "```yaml", "a: 1", "```",
  "- item", "  <!-- run: indented -->", "  ```sh", "  echo b \\", "    c", "  ```",
].join("\n");

describe("docs blocks (test/docs/blocks.ts)", () => {
  test("shell blocks only, each with its marker or null, its line, its text without the list indentation", () => {
    const blocks = blocksOf("x.md", DOC);
    expect(blocks.map((b) => [b.line, b.lang, b.marker])).toEqual([
      [4, "sh", { kind: "run", id: "one" }],
      [10, "bash", null],
      [17, "console", { kind: "not-run", reason: "no cluster" }],
      [26, "sh", { kind: "run", id: "indented" }],
    ]);
    expect(blocks[3]!.text).toBe("echo b \\\n  c\n");
    expect(blocks[2]!.prose).toContain("not run here");
  });

  test("commands: continuation lines join, # lines after a command are its claims, a trailing comment is kept, console output lines are claims", () => {
    expect(commandsOf({ lang: "sh", text: "a \\\n  b   # two\n# out 1\n# out 2\nc && \\\nd\n\n" })).toEqual([
      { text: "a \\\n  b   # two", claims: ["out 1", "out 2"], trailing: "two" },
      { text: "c && \\\nd", claims: [], trailing: null },
    ]);
    expect(commandsOf({ lang: "console", text: "$ kubectl get pods\nNAME READY\n" })).toEqual([
      { text: "kubectl get pods", claims: ["NAME READY"], trailing: null },
    ]);
  });

  test("runCommands: each command's status and output, in one shell where variables carry over; a failure does not stop the block", async () => {
    const r = await runCommands(commandsOf({ lang: "sh", text: "x=5\nfalse\necho \"$x\"; echo err >&2\nprintf 'no newline'\n(exit 7)\n" }),
      { cwd: tmpdir(), env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, timeoutMs: 10_000 });
    expect(r.map((c) => [c.code, c.stdout, c.stderr])).toEqual([[0, "", ""], [1, "", ""], [0, "5\n", "err\n"], [0, "no newline", ""], [7, "", ""]]);
  });
});
