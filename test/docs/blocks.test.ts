// Docs that run as written (issue 13). Every shell block of README.md,
// docs/*.md and plugins-examples/*/README.md is either run here (marked
// `<!-- run: ID -->`, ID in test/docs/registry.ts) or marked
// `<!-- not run: REASON -->` with the reason also visible to the reader.
// The first test fails on any block that is neither; the others run each
// marked block's commands as written, on the engine they name, and check
// the statuses and the output the doc claims. The count of blocks run, per
// file, is printed at the end.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { latestOf } from "../../scripts/image.ts";
import { docker, dockerAvailable, loadIntoDocker, stopDocker } from "../examples/docker.ts";
import { BASE_TAG, describeImage, SDK_TAG, SKIP_IMAGE_TESTS } from "../image/engine.ts";
import { allBlocks, commandsOf, docFiles, ROOT, runCommands, where, type CommandResult } from "./blocks.ts";
import { REGISTRY } from "./registry.ts";

const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
// Inside the Containerfile's build stage (RUNNER_SKIP_IMAGE_TESTS=1) README.md
// and plugins-examples/ are not in the context: everything here is skipped, loudly.
const blocks = SKIP_IMAGE_TESTS ? [] : allBlocks();
const ran = new Map<string, number>();
const dirs: string[] = [];

let usedDocker = false;
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (usedDocker) stopDocker();
  if (SKIP_IMAGE_TESTS) return;
  const lines = docFiles().map((file) => {
    const mine = blocks.filter((b) => b.file === file);
    const run = mine.filter((b) => b.marker?.kind === "run").length;
    return `  ${file}: ${ran.get(file) ?? 0} of ${run} marked blocks ran (${mine.length} shell blocks, ${mine.length - run} marked not run)`;
  });
  const total = [...ran.values()].reduce((a, b) => a + b, 0);
  console.log(`\ndocs: shell blocks run as written, per file (${total} in all):\n${lines.join("\n")}\n`);
});

describeImage("docs: every shell block is run or says why not", () => {
  test("each block has a marker; run IDs are registered once and used; not-run reasons are visible", () => {
    const problems: string[] = [];
    const used = new Map<string, string>();
    for (const b of blocks) {
      if (!b.marker) { problems.push(`${where(b)}: a \`\`\`${b.lang} block with neither <!-- run: ID --> nor <!-- not run: REASON --> on the line before it`); continue; }
      if (b.marker.kind === "run") {
        if (!REGISTRY[b.marker.id]) problems.push(`${where(b)}: run ID '${b.marker.id}' is not in test/docs/registry.ts`);
        if (used.has(b.marker.id)) problems.push(`${where(b)}: run ID '${b.marker.id}' is also used at ${used.get(b.marker.id)}`);
        used.set(b.marker.id, where(b));
      } else {
        if (b.marker.reason.length < 10) problems.push(`${where(b)}: the not-run reason '${b.marker.reason}' says nothing`);
        const visible = /not run here/i.test(b.text.split("\n")[0]!) || /not run here/i.test(b.prose);
        if (!visible) problems.push(`${where(b)}: not run, but neither its first line nor the prose above it says "not run here" (the marker is invisible once rendered)`);
      }
    }
    for (const id of Object.keys(REGISTRY)) if (!used.has(id)) problems.push(`test/docs/registry.ts: '${id}' marks no block`);
    // A block runs on the engine it names: docker commands on docker, podman commands on podman.
    for (const b of blocks) {
      const entry = b.marker?.kind === "run" ? REGISTRY[b.marker.id] : undefined;
      if (!entry || entry.sameAs) continue;
      const engines = new Set(commandsOf(b).flatMap((c) => [...c.text.matchAll(/(?:^|[;&|]\s*|\w+=\S+\s+)(docker|podman) /gm)].map((m) => m[1]!)));
      if (engines.has("docker") && !entry.docker) problems.push(`${where(b)}: runs docker commands, but '${b.marker!.kind === "run" ? b.marker!.id : ""}' is not a docker entry`);
      if (engines.has("podman") && entry.docker) problems.push(`${where(b)}: runs podman commands in a docker entry`);
    }
    expect(problems).toEqual([]);
  });

  test("the blocks that are a file's text are that file, comments aside, and a test runs that file", () => {
    const code = (t: string) => t.split("\n").filter((l) => l.trim() !== "" && !/^\s*#(?!!)/.test(l));
    for (const b of blocks) {
      const same = b.marker?.kind === "run" ? REGISTRY[b.marker.id]?.sameAs : undefined;
      if (!same) continue;
      expect({ block: where(b), lines: code(b.text) }).toEqual({ block: where(b), lines: code(readFileSync(join(ROOT, same.file), "utf8")) });
      expect(readFileSync(join(ROOT, same.ranBy), "utf8")).toContain(same.file.split("/").pop()!);
      ran.set(b.file, (ran.get(b.file) ?? 0) + 1);
    }
  });

  test("every ```yaml block that starts with '# site.yml' is plugins-examples/ansible/site.yml", () => {
    const site = readFileSync(join(ROOT, "plugins-examples", "ansible", "site.yml"), "utf8");
    let found = 0;
    for (const file of docFiles()) {
      for (const m of readFileSync(join(ROOT, file), "utf8").matchAll(/^```yaml\n(# site\.yml\n[\s\S]*?)^```/gm)) {
        expect({ file, text: m[1] }).toEqual({ file, text: site });
        found++;
      }
    }
    expect(found).toBeGreaterThanOrEqual(2);
  });

  test(".containerignore and .dockerignore are the same (docs/IMAGE.md says both engines leave the same files out)", () => {
    expect(readFileSync(join(ROOT, ".dockerignore"), "utf8")).toBe(readFileSync(join(ROOT, ".containerignore"), "utf8"));
  });
}, { only: "podman" }); // static: once; it needs no engine variant

/** Claim lines (the `#` lines after a command) against its stdout: VERSION is the package version, … anything. */
function checkClaims(r: CommandResult): void {
  if (!r.claims.length) return;
  const pattern = (claim: string) => new RegExp(`^${claim.split("…").map((part) =>
    part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\bVERSION\b/g, VERSION.replace(/\./g, "\\."))).join(".*")}$`);
  const out = r.stdout.replace(/\n$/, "").split("\n");
  expect({ command: r.text, lines: out.length }).toEqual({ command: r.text, lines: r.claims.length });
  r.claims.forEach((claim, i) => expect({ claim, line: out[i] }).toEqual({ claim, line: out[i]!.match(pattern(claim)) ? out[i] : `(does not match) ${claim}` }));
}

/** `…; echo $?   # … N`: the doc claims the status N, which echo prints last. */
function checkEchoStatus(r: CommandResult): void {
  const claimed = r.trailing?.match(/(\d+)$/);
  if (!/;\s*echo \$\?(\s+#.*)?$/.test(r.text) || !claimed) return;
  expect({ command: r.text, last: r.stdout.trimEnd().split("\n").at(-1) }).toEqual({ command: r.text, last: claimed[1] });
}

describeImage("docs: the shell blocks run as written", () => {
  const env = (): Record<string, string> => {
    const e = { ...process.env, PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH}` } as Record<string, string>;
    e.CONTAINERS_CONF ??= join(ROOT, "scripts", "containers.conf");
    return e;
  };
  for (const b of blocks) {
    if (b.marker?.kind !== "run") continue;
    const id = b.marker.id;
    const entry = REGISTRY[id];
    if (!entry || entry.sameAs) continue;
    const noDocker = entry.docker ? dockerAvailable() : null;
    if (noDocker) console.warn(`\n!!! SKIPPED ${where(b)} (${id}): it runs on docker, and docker cannot run here: ${noDocker}\n`);
    test.skipIf(noDocker !== null)(`${where(b)} (${id}) runs as written${entry.docker ? " (docker)" : ""}`, async () => {
      const commands = commandsOf(b);
      expect(commands.length).toBeGreaterThan(0);
      let cwd = ROOT;
      if (entry.cwd === "tmp") {
        cwd = mkdtempSync(join(tmpdir(), `runner-doc-${id}-`));
        dirs.push(cwd);
      }
      entry.setup?.(cwd);
      let e = env();
      if (entry.docker) {
        usedDocker = true;
        await loadIntoDocker([latestOf(BASE_TAG), latestOf(SDK_TAG)]);
        const bin = mkdtempSync(join(tmpdir(), "runner-doc-bin-"));
        dirs.push(bin);
        symlinkSync(docker().client, join(bin, "docker"));
        e = { ...e, ...docker().env, PATH: `${bin}:${e.PATH}` };
      }
      const results = await runCommands(commands, { cwd, env: e, timeoutMs: entry.timeoutMs ?? 300_000 });
      results.forEach((r, i) => {
        const want = entry.status?.[i] ?? 0;
        expect({ command: r.text, code: r.code, stderr: r.code === want ? "" : r.stderr.slice(-1500) }).toEqual({ command: r.text, code: want, stderr: "" });
        checkEchoStatus(r);
        if (entry.claims) checkClaims(r);
      });
      entry.check?.(results);
      ran.set(b.file, (ran.get(b.file) ?? 0) + 1);
    }, (entry.timeoutMs ?? 300_000) + 60_000);
  }
  // Each block names its own engine (docker blocks run on the private daemon
  // through test/examples/docker.ts), so the blocks run once, not per variant.
}, { only: "podman" });

