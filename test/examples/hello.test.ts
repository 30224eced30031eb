// plugins-examples/hello: the smallest plugin (POSIX sh) in a real container.
// Needs `bun run examples` (after `bun run image`).
import { expect, test } from "bun:test";
import { describeImage, VERSION } from "../image/engine.ts";
import { lines, manifestOf, noPasswd, readOnly, runExample, SLOW } from "./lib.ts";

const PLUGIN_PATH = "/usr/local/lib/runner.d/hello";
/** The first line hello prints; the identity comes from the manifest the image was built from. */
function greeting(who: string): string {
  const m = manifestOf("hello");
  return `hello ${who}, from ${m.get("IMAGE_NAME")} ${m.get("IMAGE_VERSION")}`;
}

describeImage("example hello (plugins-examples/hello)", () => {
  test("C-IMAGE-6: the plugin reads the identity of its image through runner info --json", async () => {
    const r = await runExample("hello", ["hello"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]).toBe(greeting("world"));
  }, SLOW);

  test("C-PLUGIN-4: every argument reaches the plugin byte for byte, argv[0] is its path in runner.d", async () => {
    const args = ["a b", "", "x\ny", "*", "--help", "$HOME", "-e", "'\"\\", "héllo ✓"];
    const r = await runExample("hello", ["hello", ...args]);
    expect(r.code).toBe(0);
    const out = r.stdout.split("\n");
    expect(out.slice(2).join("\n")).toBe([
      `argv0=${PLUGIN_PATH}`,
      `argc=${args.length}`,
      ...args.map((a, i) => `arg${i + 1}=<${a}>`),
      "",
    ].join("\n"));
  }, SLOW);

  test("C-PLUGIN-3: the exit status of the plugin passes through unchanged, and it keeps the PID of runner", async () => {
    for (const status of [0, 1, 42, 255]) {
      const r = await runExample("hello", ["hello", "--exit", String(status), "x"]);
      expect(r.code).toBe(status);
      expect(lines(r.stdout)).toContain("arg1=<x>");
    }
    // No --init: runner is PID 1, and so is the plugin that replaced it (execve, not a child).
    const r = await runExample("hello", ["hello"]);
    expect(lines(r.stdout)[1]).toMatch(/ pid=1 /);
    // A usage error of the plugin is the plugin's status too, not runner's 64-by-accident.
    const bad = await runExample("hello", ["hello", "--exit", "many"]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toBe("hello: --exit needs a status from 0 to 255\n");
  }, SLOW);

  test("C-PLUGIN-5: the plugin gets the environment of the caller plus RUNNER_PLUGIN and RUNNER_VERSION, which the caller cannot override", async () => {
    const r = await runExample("hello", ["hello"], ["-e", "HELLO_NAME=CI", "-e", "RUNNER_PLUGIN=spoofed", "-e", "RUNNER_VERSION=9.9.9"]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).slice(0, 2)).toEqual([greeting("CI"), `plugin=hello runner=${VERSION} pid=1 uid=10001`]);
  }, SLOW);

  test("C-ROOT-3 C-IMAGE-5: an arbitrary uid with gid 0 on a read-only root file system runs the plugin (the Kubernetes setting of docs/CI.md)", async () => {
    const r = await runExample("hello", ["hello", "k8s"], [...readOnly(), ...noPasswd(), "--user", "123456:0"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[1]).toBe(`plugin=hello runner=${VERSION} pid=1 uid=123456`);
  }, SLOW);

  test("C-CHECK-2: with --init (docs/CI.md) the plugin is not PID 1, and check has no PID-1 warning", async () => {
    const r = await runExample("hello", ["hello"], ["--init"]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[1]).toMatch(/ pid=([2-9]|\d\d+) /);
    const check = await runExample("hello", ["check"], ["--init"]);
    expect(check.code).toBe(0);
    expect(check.stdout).not.toContain("pid1");
    const noInit = await runExample("hello", ["check"]);
    expect(noInit.stdout).toMatch(/^WARN {2}pid1: /m);
  }, SLOW);
});
