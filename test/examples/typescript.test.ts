// plugins-examples/typescript: a plugin written in TypeScript, compiled with
// runner's hardening flags, reading the contract through `runner info --json`.
// Needs `bun run examples` (after `bun run image`); the checks of the sources
// sit in the same describeImage block because plugins-examples/ is not in the
// root Containerfile's build context, where `bun test` skips the image tests.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HARDENING_FLAGS } from "../../scripts/build.ts";
import { describeImage, VERSION } from "../image/engine.ts";
import { EXAMPLES_DIR, exampleTag, infoOf, lines, runExample, shellIn, SLOW } from "./lib.ts";

const DIR = join(EXAMPLES_DIR, "typescript");
const cleanup: string[] = [];
afterAll(() => { for (const dir of cleanup) rmSync(dir, { recursive: true, force: true }); });

describeImage("example typescript (plugins-examples/typescript)", () => {
  test("the Containerfile compiles the plugin with every flag of HARDENING_FLAGS in scripts/build.ts", () => {
    const containerfile = readFileSync(join(DIR, "Containerfile"), "utf8");
    // The RUN instruction that calls bun build, continuation lines joined.
    const run = containerfile.replace(/\\\n\s*/g, " ").split("\n").find((l) => /^RUN bun build /.test(l));
    expect(run).toBeDefined();
    const words = run!.split(/\s+/);
    for (const flag of HARDENING_FLAGS) expect(words).toContain(flag);
  }, SLOW);

  test("zero dependencies: the plugin sources import only node: built-ins (the Bun parser lists every import and require)", () => {
    const sources = readdirSync(join(DIR, "src")).filter((f) => f.endsWith(".ts"));
    expect(sources.length).toBeGreaterThan(0);
    const transpiler = new Bun.Transpiler({ loader: "ts" });
    for (const file of sources) {
      const imports = transpiler.scanImports(readFileSync(join(DIR, "src", file), "utf8"));
      expect(imports.length).toBeGreaterThan(0);
      for (const { path } of imports) expect(path).toStartWith("node:");
    }
  }, SLOW);

  test("C-IMAGE-6 C-PLUGIN-5: report --json shows the contract exactly as runner info --json, and what runner passed to the plugin", async () => {
    const tag = exampleTag("typescript");
    const [r, info] = await Promise.all([runExample("typescript", ["report", "--json"], ["-e", "RUNNER_PLUGIN=spoofed"]), infoOf(tag)]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect({ image: report.image, runtime: report.runtime, tools: report.tools }).toEqual(info);
    expect(report.self).toEqual({ plugin: "report", runnerVersion: VERSION, argv0: "/usr/local/lib/runner.d/report", uid: 10001, gid: 10001, pid: 1 });
  }, SLOW);

  test("C-IMAGE-6: report prints the image, its base and its tools", async () => {
    const [r, info] = await Promise.all([runExample("typescript", ["report"]), infoOf(exampleTag("typescript"))]);
    expect(r.code).toBe(0);
    const i = info.image;
    expect(lines(r.stdout).slice(0, 2)).toEqual([
      `image:    ${i.IMAGE_NAME} ${i.IMAGE_VERSION} (domain ${i.IMAGE_DOMAIN}, role ${i.IMAGE_ROLE})`,
      `base:     ${i.IMAGE_BASE_NAME} ${i.IMAGE_BASE_VERSION}`,
    ]);
    expect(lines(r.stdout).slice(-2)).toEqual(["tools:", ...Object.entries(info.tools).map(([k, v]) => `  ${k}=${v}`)]);
  }, SLOW);

  test("C-PLUGIN-3: the usage error of the plugin (64) passes through", async () => {
    const r = await runExample("typescript", ["report", "--yaml"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe("report: unexpected argument '--yaml' (usage: runner report [--json])\n");
    expect(r.stdout).toBe("");
  }, SLOW);

  test("a bunfig.toml preload in the working directory does nothing to the compiled plugin (the hardening flags at work)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-ts-hostile-"));
    cleanup.push(dir);
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
    writeFileSync(join(dir, "evil.ts"), 'console.log("PRELOADED"); process.exit(99);\n');
    // Control: the same source compiled without the flags runs the preload here.
    const soft = join(dir, "report-unhardened");
    const build = Bun.spawnSync([process.execPath, "build", "--compile", join(DIR, "src", "report.ts"), "--outfile", soft], { stdout: "pipe", stderr: "pipe" });
    expect(build.exitCode).toBe(0);
    const control = Bun.spawnSync([soft, "--json"], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    expect([control.exitCode, control.stdout.toString()]).toEqual([99, "PRELOADED\n"]);
    rmSync(soft);
    const r = await runExample("typescript", ["report", "--json"], ["-v", `${dir}:/workspace:ro`]);
    expect(r.stdout).not.toContain("PRELOADED");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).self.plugin).toBe("report");
  }, SLOW);

  test("C-IMAGE-1: the image holds the compiled plugin only: no Bun, no TypeScript sources", async () => {
    // As root, bypassing runner, so that find can read every folder.
    const r = await shellIn("typescript", "head -c 4 /usr/local/lib/runner.d/report | od -An -c | tr -d ' '; command -v bun || echo no-bun; command -v bunx || echo no-bunx; find / -xdev -name '*.ts' -print", ["--user", "0"]);
    expect(r.stderr).toBe("");
    expect(lines(r.stdout)).toEqual(["177ELF", "no-bun", "no-bunx"]);
  }, SLOW);
});
