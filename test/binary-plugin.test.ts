// The compiled dist/runner running plugins (test/harness.ts): the checks
// before execve, the exec itself, and what the plugin receives.
import { expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VERSION, addPlugin, describeBinary, fixture, oneLineError, run, runnerBinary } from "./harness.ts";

const MARK = (f: { work: string }) => join(f.work, "marker");
const markerPlugin = (f: { work: string }) => `#!/bin/sh\ntouch ${MARK(f)}\necho ran\n`;

describeBinary("plugin checks before execve", () => {
  const refusals: Array<[string, (f: ReturnType<typeof fixture>) => void, string]> = [
    ["not executable", (f) => addPlugin(f, "p", markerPlugin(f), 0o644), "plugin 'p' refused (not-executable): not executable by uid 10001"],
    ["executable only by root", (f) => addPlugin(f, "p", markerPlugin(f), 0o700), "plugin 'p' refused (not-executable): not executable by uid 10001"],
    ["group-writable", (f) => addPlugin(f, "p", markerPlugin(f), 0o775), "plugin 'p' refused (unsafe-permissions): file is writable by group or others (mode 775)"],
    ["world-writable", (f) => addPlugin(f, "p", markerPlugin(f), 0o757), "plugin 'p' refused (unsafe-permissions): file is writable by group or others (mode 757)"],
    ["owned by the user", (f) => chownSync(addPlugin(f, "p", markerPlugin(f)), 10001, 10001), "plugin 'p' refused (unsafe-permissions): file is owned by uid 10001, not root"],
    ["setuid", (f) => addPlugin(f, "p", markerPlugin(f), 0o4755), "plugin 'p' refused (unsafe-permissions): setuid or setgid bit set: plugins never run privileged"],
    ["setgid", (f) => addPlugin(f, "p", markerPlugin(f), 0o2755), "plugin 'p' refused (unsafe-permissions): setuid or setgid bit set: plugins never run privileged"],
    ["a directory", (f) => mkdirSync(join(f.plugins, "p")), "plugin 'p' refused (not-a-file): is a directory, not a regular file"],
    ["a FIFO", (f) => Bun.spawnSync(["mkfifo", join(f.plugins, "p")]), "plugin 'p' refused (not-a-file): is a FIFO, not a regular file"],
    ["a broken link", (f) => symlinkSync("/nonexistent/p", join(f.plugins, "p")), "plugin 'p' refused (broken-link): link cannot be resolved (ENOENT)"],
    ["a link loop", (f) => symlinkSync("p", join(f.plugins, "p")), "plugin 'p' refused (broken-link): link cannot be resolved (ELOOP)"],
    ["a link to a user-owned file", (f) => {
      const t = join(f.root, "target"); writeFileSync(t, markerPlugin(f)); chmodSync(t, 0o755); chownSync(t, 10001, 10001);
      symlinkSync(t, join(f.plugins, "p"));
    }, "plugin 'p' refused (unsafe-permissions): link target is owned by uid 10001, not root"],
    ["a link to a world-writable file", (f) => {
      const t = join(f.root, "target"); writeFileSync(t, markerPlugin(f)); chmodSync(t, 0o777);
      symlinkSync(t, join(f.plugins, "p"));
    }, "plugin 'p' refused (unsafe-permissions): link target is writable by group or others (mode 777)"],
    ["a link into a world-writable folder", (f) => {
      const d = join(f.root, "shared"); mkdirSync(d); chmodSync(d, 0o1777);
      const t = join(d, "target"); writeFileSync(t, markerPlugin(f)); chmodSync(t, 0o755);
      symlinkSync(t, join(f.plugins, "p"));
    }, "directory of link target"],
    ["in a group-writable runner.d", (f) => { addPlugin(f, "p", markerPlugin(f)); chmodSync(f.plugins, 0o775); }, "plugin 'p' refused (unsafe-permissions): plugin directory is writable by group or others (mode 775)"],
    ["in a user-owned runner.d", (f) => { addPlugin(f, "p", markerPlugin(f)); chownSync(f.plugins, 10001, 10001); }, "plugin 'p' refused (unsafe-permissions): plugin directory is owned by uid 10001, not root"],
  ];
  for (const [what, setup, message] of refusals) {
    test(`C-PLUGIN-2: a plugin ${what} is refused with 126 and nothing runs`, async () => {
      const f = fixture();
      setup(f);
      const started = Date.now();
      const r = await run(f, ["p", "arg"]);
      expect(r.code).toBe(126);
      expect(oneLineError(r.stderr)).toContain(message);
      expect(r.stdout).toBe("");
      expect(existsSync(MARK(f))).toBe(false);
      expect(Date.now() - started).toBeLessThan(5000);
    });
  }
  test("C-PLUGIN-2: a plain plugin under a world-writable parent of runner.d is refused, and check FAILs", async () => {
    const f = fixture();
    // A /usr/local/lib that anyone may write: whoever can could swap runner.d itself.
    const lib = join(f.root, "lib");
    mkdirSync(join(lib, "runner.d"), { recursive: true });
    chmodSync(lib, 0o777);
    chmodSync(join(lib, "runner.d"), 0o755);
    writeFileSync(join(lib, "runner.d", "p"), markerPlugin(f));
    chmodSync(join(lib, "runner.d", "p"), 0o755);
    const mounts: Array<[string, string]> = [[lib, "/usr/local/lib"]];
    const r = await run(f, ["p"], { mounts });
    expect(r.code).toBe(126);
    expect(oneLineError(r.stderr)).toBe("runner: plugin 'p' refused (unsafe-permissions): directory '/usr/local/lib' is writable by group or others (mode 777)");
    expect(existsSync(MARK(f))).toBe(false);
    const check = await run(f, ["check"], { mounts });
    expect(check.code).toBe(1);
    expect(check.stdout).toContain("FAIL  plugin-dir: directory '/usr/local/lib' is writable by group or others (mode 777)");
    chmodSync(lib, 0o755);
    expect((await run(f, ["p"], { mounts })).stdout).toBe("ran\n");
  });
  test("C-PLUGIN-2: a link to a root-owned tool in a root-owned folder runs", async () => {
    const f = fixture();
    symlinkSync("/bin/echo", join(f.plugins, "say"));
    const r = await run(f, ["say", "hi"]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "hi\n", ""]);
  });
  test("C-PLUGIN-1: a valid plugin name of 64 characters runs; 65 is unknown", async () => {
    const f = fixture();
    addPlugin(f, "a".repeat(64), "#!/bin/sh\necho long\n");
    addPlugin(f, "a".repeat(65), markerPlugin(f));
    expect((await run(f, ["a".repeat(64)])).stdout).toBe("long\n");
    expect((await run(f, ["a".repeat(65)])).code).toBe(127);
    expect(existsSync(MARK(f))).toBe(false);
  });
});

describeBinary("plugin execution", () => {
  test("C-PLUGIN-3: the plugin replaces runner: same PID", async () => {
    const f = fixture();
    addPlugin(f, "pid", "#!/bin/sh\necho $$\n");
    const r = await run(f, ["pid"]);
    expect(r.code).toBe(0);
    expect(Number(r.stdout.trim())).toBe(r.pid);
  });
  for (const status of [0, 1, 3, 64, 127, 255]) {
    test(`C-PLUGIN-3: exit status ${status} passes through`, async () => {
      const f = fixture();
      addPlugin(f, "exit", `#!/bin/sh\nexit ${status}\n`);
      const r = await run(f, ["exit"]);
      expect([r.code, r.stderr]).toEqual([status, ""]);
    });
  }
  test("C-PLUGIN-3: death by a signal is the plugin's own", async () => {
    const f = fixture();
    addPlugin(f, "die", "#!/bin/sh\nkill -TERM $$\nsleep 5\n");
    const r = await run(f, ["die"]);
    expect(r.signal).toBe("SIGTERM");
  });
  test("C-PLUGIN-3: stdin, stdout and stderr pass through", async () => {
    const f = fixture();
    addPlugin(f, "cat", "#!/bin/sh\ncat\necho to-stderr >&2\n");
    const input = "line 1\nline 2 ✓\n" + "x".repeat(200_000);
    const r = await run(f, ["cat"], { stdin: input });
    expect(r.stdout).toBe(input);
    expect(r.stderr).toBe("to-stderr\n");
  });
  test("C-PLUGIN-4: argv is the plugin path then every argument, byte for byte", async () => {
    const f = fixture();
    addPlugin(f, "argv", "#!/bin/sh\nprintf '%s\\0' \"$0\" \"$@\"\n");
    const args = ["a b", "", "line1\nline2", "*", "--help", "-h", "$HOME", "'\"\\", "--", "ünïcødé ✓", " ", "\t"];
    const r = await run(f, ["argv", ...args]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\0").slice(0, -1)).toEqual(["/usr/local/lib/runner.d/argv", ...args]);
  });
  test("C-PLUGIN-4: --help after the name belongs to the plugin", async () => {
    const f = fixture();
    addPlugin(f, "tool", "#!/bin/sh\necho \"tool help: $*\"\n");
    const r = await run(f, ["tool", "--help"]);
    expect(r.stdout).toBe("tool help: --help\n");
  });
  test("C-PLUGIN-5: the caller's environment plus RUNNER_PLUGIN and RUNNER_VERSION, runner's values winning", async () => {
    const f = fixture();
    addPlugin(f, "env", "#!/bin/sh\nexec /usr/bin/env -0\n");
    const env = { PATH: "/usr/bin:/bin", HOME: "/tmp", ODD: "a=b c\nd", EMPTY: "", RUNNER_PLUGIN: "forged", RUNNER_VERSION: "9.9.9" };
    const parse = (out: string) => Object.fromEntries(out.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    const got = parse((await run(f, ["env"], { env })).stdout);
    // What runner itself received: the harness's sh adds PWD and OLDPWD after its cd.
    const caller = parse((await run(f, [], { env, prelude: "exec /usr/bin/setpriv --reuid=10001 --regid=10001 --clear-groups -- /usr/bin/env -0" })).stdout);
    expect(caller.ODD).toBe(env.ODD);
    expect(caller.RUNNER_PLUGIN).toBe("forged");
    expect(got).toEqual({ ...caller, RUNNER_PLUGIN: "env", RUNNER_VERSION: VERSION });
  });
  test("C-PLUGIN-6: execve ENOENT (missing interpreter) → 127 naming the errno", async () => {
    const f = fixture();
    addPlugin(f, "nointerp", "#!/nonexistent/interpreter\n");
    const r = await run(f, ["nointerp"]);
    expect(r.code).toBe(127);
    expect(oneLineError(r.stderr)).toBe("runner: plugin 'nointerp': execve /usr/local/lib/runner.d/nointerp failed: ENOENT");
  });
  test("C-PLUGIN-6: execve EACCES (interpreter is a directory) → 126", async () => {
    const f = fixture();
    addPlugin(f, "dirinterp", "#!/tmp\n");
    const r = await run(f, ["dirinterp"]);
    expect(r.code).toBe(126);
    expect(oneLineError(r.stderr)).toBe("runner: plugin 'dirinterp': execve /usr/local/lib/runner.d/dirinterp failed: EACCES");
  });
  test("C-PLUGIN-6: execve ENOEXEC (no shebang, not a binary) → 126", async () => {
    const f = fixture();
    addPlugin(f, "garbage", "echo this has no shebang\n");
    const r = await run(f, ["garbage"]);
    expect(r.code).toBe(126);
    expect(oneLineError(r.stderr)).toBe("runner: plugin 'garbage': execve /usr/local/lib/runner.d/garbage failed: ENOEXEC");
  });
  test("C-PLUGIN-7: the plugin starts with a shell's dispositions and no blocked signal", async () => {
    const f = fixture();
    // grep itself is the plugin (a link), so no shell in between can reset what it inherits.
    symlinkSync("/usr/bin/grep", join(f.plugins, "sigs"));
    const args = ["-E", "^Sig(Ign|Blk):", "/proc/self/status"];
    const field = (out: string, name: string) => BigInt(`0x${new RegExp(`${name}:\\s*([0-9a-f]+)`).exec(out)![1]}`);
    const viaRunner = (await run(f, ["sigs", ...args])).stdout;
    // Baseline: the same program exec'd by setpriv, as a shell would start it.
    const viaShell = (await run(f, [], { prelude: `exec /usr/bin/setpriv --reuid=10001 --regid=10001 --clear-groups -- /usr/bin/grep ${args.map((a) => `'${a}'`).join(" ")}` })).stdout;
    expect(field(viaRunner, "SigIgn")).toBe(field(viaShell, "SigIgn"));
    expect(field(viaRunner, "SigIgn") & (1n << 12n)).toBe(0n); // SIGPIPE (13)
    expect(field(viaRunner, "SigIgn") & (1n << 24n)).toBe(0n); // SIGXFSZ (25)
    // The baseline's mask is that of whichever thread of the test process
    // spawned it (sometimes nearly all blocked); Bun clears the mask at start,
    // so the plugin's is checked absolutely.
    expect(field(viaRunner, "SigBlk")).toBe(0n);
  });
  test("C-PLUGIN-7: `yes | head -1` in a plugin ends quietly (SIGPIPE is default)", async () => {
    const f = fixture();
    addPlugin(f, "pipe", "#!/bin/sh\nyes | head -1\n");
    const r = await run(f, ["pipe"]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, "y\n", ""]);
  });
  test("C-PLUGIN-8: nothing but the plugin's output on stdout; no ExperimentalWarning on failure", async () => {
    const f = fixture();
    addPlugin(f, "quiet", "#!/bin/sh\nprintf x\n");
    addPlugin(f, "fails", "#!/nonexistent\n");
    const ok = await run(f, ["quiet"]);
    expect([ok.stdout, ok.stderr]).toEqual(["x", ""]);
    const bad = await run(f, ["fails"]);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).not.toContain("ExperimentalWarning");
    expect(bad.stderr.split("\n").filter(Boolean).length).toBe(1);
  });
  test("C-PLUGIN-9: an argument that is not UTF-8 → 64 naming its position, nothing runs", async () => {
    const f = fixture();
    addPlugin(f, "p", markerPlugin(f));
    const r = await run(f, ["p", "ok"], { rawShellArgs: `"$(printf 'a\\377b')"` });
    expect(r.code).toBe(64);
    expect(oneLineError(r.stderr)).toBe("runner: argument 3 is not valid UTF-8; runner cannot pass it on unchanged");
    expect(existsSync(MARK(f))).toBe(false);
  });
  test("C-PLUGIN-9: an environment variable that is not UTF-8 → 78 naming it, nothing runs", async () => {
    const f = fixture();
    addPlugin(f, "p", markerPlugin(f));
    const r = await run(f, ["p"], { prelude: `export BADVAR="$(printf 'x\\377')"` });
    expect(r.code).toBe(78);
    expect(oneLineError(r.stderr)).toBe("runner: environment variable 'BADVAR' is not valid UTF-8; runner cannot pass it on unchanged");
    expect(existsSync(MARK(f))).toBe(false);
  });
});

describeBinary("hardening of the executable", () => {
  test("C-HARDEN-1: .env, bunfig.toml preload, tsconfig.json and package.json in the working directory have no effect", async () => {
    const f = fixture();
    const evil = join(f.work, "evil.ts");
    writeFileSync(evil, `require("node:fs").writeFileSync(${JSON.stringify(MARK(f))}, "preloaded");\n`);
    writeFileSync(join(f.work, "bunfig.toml"), `preload = ["./evil.ts"]\n[run]\npreload = ["./evil.ts"]\n`);
    writeFileSync(join(f.work, ".env"), "BUN_OPTIONS=--smol\nRUNNER_INJECTED=1\n");
    writeFileSync(join(f.work, "tsconfig.json"), `{"compilerOptions":{"jsx":"react"}}\n`);
    writeFileSync(join(f.work, "package.json"), `{"name":"evil","type":"commonjs"}\n`);
    addPlugin(f, "env", "#!/bin/sh\nexec /usr/bin/env\n");
    const v = await run(f, ["version"]);
    expect([v.code, v.stdout, v.stderr]).toEqual([0, `runner ${VERSION}\n`, ""]);
    const e = await run(f, ["env"]);
    expect(e.code).toBe(0);
    expect(e.stdout).not.toContain("RUNNER_INJECTED");
    expect(existsSync(MARK(f))).toBe(false);
  });
});
