// Hostile environment and working directory (issue 5): BUN_OPTIONS in its
// forms, NODE_OPTIONS, an enormous environment, RUNNER_PLUGIN preset by the
// caller, variables that are not UTF-8, a hostile PATH, and a working
// directory full of files a compiled Bun program might autoload.
import { expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_ENV, VERSION, addPlugin, describeBinary, fixture, runnerBinary, type Fixture } from "../harness.ts";
import { BOUND_MS, addMarkerPlugin, markerPath, ranOnce, refused, timed, timedVia } from "./common.ts";

/** A preload module in the work folder that leaves a marker when Bun loads it. */
function preload(f: Fixture): { path: string; marker: string } {
  const path = join(f.work, "preload.js");
  const marker = markerPath(f, "preload");
  writeFileSync(path, `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x");\n`);
  chmodSync(path, 0o644);
  return { path, marker };
}

describeBinary("hostile environment: BUN_OPTIONS", () => {
  // Not listed: --cpu-prof/--heap-prof, which Bun acts on at exit, after runner's line (SECURITY.md).
  const values = ["--smol", " ", "--hot", "--watch", "--inspect", "-e 1", "--print 1", "--bogus-flag"];
  test(`C-BUNOPT-1: BUN_OPTIONS set to any of ${values.length} values refuses every command with 78 and runs no plugin`, async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    for (const value of values) {
      for (const args of [["tool", "a"], ["version"], ["help"], ["info"], ["check"]]) {
        const r = await timed(f, args, { env: { ...DEFAULT_ENV, BUN_OPTIONS: value } });
        refused(r, 78, /^runner: BUN_OPTIONS is set; it can inject code into the Bun runtime/, f);
      }
    }
  });

  test("C-BUNOPT-1: BUN_OPTIONS=--preload: runner refuses (78) and no plugin runs; the preload itself already ran (documented limit)", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    const pre = preload(f);
    const r = await timed(f, ["tool"], { env: { ...DEFAULT_ENV, BUN_OPTIONS: `--preload ${pre.path}` } });
    refused(r, 78, /BUN_OPTIONS is set/, f);
    // Bun loads the preload before runner's first line: SECURITY.md says so. If this
    // ever fails, Bun stopped honouring BUN_OPTIONS in compiled programs: update the docs.
    expect(existsSync(pre.marker)).toBe(true);
  });

  test("C-BUNOPT-1: BUN_OPTIONS=--version or --help is answered by Bun before runner (documented limit); no plugin runs", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    for (const value of ["--version", "--revision", "--help"]) {
      const r = await timed(f, ["tool"], { env: { ...DEFAULT_ENV, BUN_OPTIONS: value } });
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(/^runner /);
      expect(existsSync(markerPath(f))).toBe(false);
      expect(r.ms).toBeLessThan(BOUND_MS);
    }
  });

  test("C-BUNOPT-1: BUN_OPTIONS=--preload of a missing file fails inside Bun before runner (documented limit); no plugin runs", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    const r = await timed(f, ["tool"], { env: { ...DEFAULT_ENV, BUN_OPTIONS: "--preload /nonexistent.js" } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("/nonexistent.js");
    expect(existsSync(markerPath(f))).toBe(false);
    expect(r.ms).toBeLessThan(BOUND_MS);
  });

  test("C-BUNOPT-1: an empty BUN_OPTIONS is ignored", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    ranOnce(await timed(f, ["tool"], { env: { ...DEFAULT_ENV, BUN_OPTIONS: "" } }), f);
  });

  test("C-BUNOPT-1: NODE_OPTIONS=--require is not honoured by the compiled runner", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    const pre = preload(f);
    const r = await timed(f, ["tool"], { env: { ...DEFAULT_ENV, NODE_OPTIONS: `--require ${pre.path}` } });
    ranOnce(r, f);
    expect(existsSync(pre.marker)).toBe(false);
  });
});

describeBinary("hostile environment: size, presets, encodings", () => {
  test("C-PLUGIN-5: an enormous environment (about 1 MiB, 1,000 variables and one of 100 KiB) reaches the plugin unchanged", async () => {
    const f = fixture();
    addPlugin(f, "env0", "#!/bin/sh\nexec /usr/bin/env -0\n");
    const env: Record<string, string> = { ...DEFAULT_ENV, BIG: "b".repeat(100 * 1024) };
    for (let i = 0; i < 1000; i++) env[`V${i}`] = `${i}:${"\u00e9x ".repeat(300)}`;
    const r = await timed(f, ["env0"], { env });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const got = new Map(r.stdout.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    for (const [k, v] of Object.entries(env)) expect(got.get(k) === v).toBe(true);
    expect([got.get("RUNNER_PLUGIN"), got.get("RUNNER_VERSION")]).toEqual(["env0", VERSION]);
    expect(r.ms).toBeLessThan(BOUND_MS);
    const info = await timed(f, ["check"], { env });
    expect(info.code).toBe(0);
  });

  test("C-PLUGIN-5: RUNNER_PLUGIN and RUNNER_VERSION preset by the caller are replaced by runner's values", async () => {
    const f = fixture();
    addPlugin(f, "show", "#!/bin/sh\nprintf '%s|%s\\n' \"$RUNNER_PLUGIN\" \"$RUNNER_VERSION\"\n");
    const r = await timed(f, ["show"], { env: { ...DEFAULT_ENV, RUNNER_PLUGIN: "evil", RUNNER_VERSION: "9.9.9" } });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: `show|${VERSION}\n`, stderr: "" });
  });

  test("C-PLUGIN-9: an environment value that is not UTF-8 is refused with 78 naming the variable; the plugin does not run", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    for (const bytes of ["\\377", "a\\300\\257", "\\355\\240\\200"]) {
      const r = await timed(f, ["tool"], { prelude: `export BAD_VAR="$(printf '${bytes}')"` });
      refused(r, 78, /^runner: environment variable 'BAD_VAR' is not valid UTF-8/, f);
    }
  });

  test("C-PLUGIN-9: an environment variable whose name is not UTF-8 is refused with 78, the name shown without raw bytes", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    const wrapper = join(f.root, "env-wrapper");
    writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/env "$(printf 'B\\377D')=1" '${runnerBinary()}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const r = await timedVia(wrapper, f, ["tool"]);
    const line = refused(r, 78, /^runner: environment variable 'B\?D' is not valid UTF-8/, f);
    expect(line).not.toContain("\ufffd");
  });

  test("C-PLUGIN-9: core commands pass nothing on, so they still work with such a variable", async () => {
    const f = fixture();
    const r = await timed(f, ["version"], { prelude: `export BAD_VAR="$(printf '\\377')"` });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: `runner ${VERSION}\n`, stderr: "" });
  });

  test("C-ROOT-3: an empty environment (env -i) is fine: commands and plugins work", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    const v = await timed(f, ["version"], { env: {} });
    expect({ code: v.code, stderr: v.stderr }).toEqual({ code: 0, stderr: "" });
    ranOnce(await timed(f, ["tool"], { env: {} }), f);
  });
});

describeBinary("hostile environment: PATH and the working directory", () => {
  test("C-DISPATCH-3: a PATH full of look-alike commands is never searched", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool", 0o755, "plugin");
    const bin = join(f.work, "bin");
    mkdirSync(bin, { mode: 0o777 });
    for (const name of ["nosuch", "tool", "sh", "env", "version"]) {
      writeFileSync(join(bin, name), `#!/bin/sh\necho ran > '${markerPath(f, "path")}'\n`);
      chmodSync(join(bin, name), 0o777);
    }
    const env = { ...DEFAULT_ENV, PATH: bin };
    refused(await timed(f, ["nosuch"], { env }), 127, /^runner: unknown command 'nosuch'/, f, ["path", "plugin"]);
    const v = await timed(f, ["version"], { env });
    expect(v.stdout).toBe(`runner ${VERSION}\n`);
    ranOnce(await timed(f, ["tool"], { env }), f, "plugin");
    expect(existsSync(markerPath(f, "path"))).toBe(false);
  });

  test("C-HARDEN-1: a working directory with bunfig.toml (preload), .env (BUN_OPTIONS), package.json, tsconfig.json, node_modules and runner.d changes nothing", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool", 0o755, "plugin");
    const w = f.work;
    const evil = `require("node:fs").writeFileSync(${JSON.stringify(markerPath(f, "cwd"))}, "x");\n`;
    writeFileSync(join(w, "evil.js"), evil);
    writeFileSync(join(w, "bunfig.toml"), `preload = ["./evil.js"]\n[run]\npreload = ["./evil.js"]\n`);
    writeFileSync(join(w, ".env"), `BUN_OPTIONS=--preload ./evil.js\nRUNNER_PLUGIN=evil\n`);
    writeFileSync(join(w, "package.json"), JSON.stringify({ name: "evil", type: "commonjs", main: "evil.js", imports: { "#x": "./evil.js" } }));
    writeFileSync(join(w, "tsconfig.json"), JSON.stringify({ compilerOptions: { paths: { "node:fs": ["./evil.js"] } } }));
    mkdirSync(join(w, "node_modules", "node:fs"), { recursive: true });
    writeFileSync(join(w, "node_modules", "node:fs", "index.js"), evil);
    mkdirSync(join(w, "runner.d"));
    writeFileSync(join(w, "runner.d", "nosuch"), evil, { mode: 0o755 });
    for (const args of [["version"], ["info"], ["check"], ["plugins"]]) {
      const r = await timed(f, args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
    }
    refused(await timed(f, ["nosuch"]), 127, /unknown command 'nosuch'/, f, ["cwd"]);
    addPlugin(f, "show", "#!/bin/sh\nprintf '%s\\n' \"$RUNNER_PLUGIN\"\n");
    const show = await timed(f, ["show"]);
    expect(show.stdout).toBe("show\n");
    ranOnce(await timed(f, ["tool"]), f, "plugin");
    expect(existsSync(markerPath(f, "cwd"))).toBe(false);
  });
});
