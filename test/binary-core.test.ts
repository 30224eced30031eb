// The compiled dist/runner as in an image (test/harness.ts): root refusal,
// BUN_OPTIONS, arguments, core commands, contract files, output discipline.
import { expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  GOOD_IMAGE, GOOD_RUNTIME, VERSION, addPlugin, describeBinary, fixture, oneLineError, run, runnerBinary,
} from "./harness.ts";

const CORE = ["help", "version", "info", "plugins", "check"];
/** A plugin that leaves a marker, so a test can prove it did NOT run. */
const MARKER_PLUGIN = (marker: string) => `#!/bin/sh\ntouch ${marker}\necho ran\n`;
const exists = (p: string) => Bun.file(p).size > 0 || require("node:fs").existsSync(p);

describeBinary("root refusal", () => {
  for (const args of [[], ...CORE.map((c) => [c]), ["hello"], ["--help"], ["nope"]]) {
    test(`C-ROOT-1: real and effective uid 0 → 77 for ${JSON.stringify(args)}`, async () => {
      const f = fixture();
      addPlugin(f, "hello", MARKER_PLUGIN(join(f.work, "marker")));
      const r = await run(f, args, { uid: 0, gid: 0 });
      expect(r.code).toBe(77);
      expect(oneLineError(r.stderr)).toStartWith("runner: refusing to run as root");
      expect(r.stdout).toBe("");
      expect(exists(join(f.work, "marker"))).toBe(false);
    });
  }
  test("C-ROOT-2: only the effective uid 0 → 77", async () => {
    const r = await run(fixture(), ["version"], { uid: 10001, euid: 0 });
    expect(r.code).toBe(77);
    expect(oneLineError(r.stderr)).toStartWith("runner: refusing to run as root");
  });
  test("C-ROOT-2: only the real uid 0 → 77", async () => {
    const r = await run(fixture(), ["version"], { uid: 0, euid: 10001 });
    expect(r.code).toBe(77);
  });
  test("C-ROOT-3: an arbitrary uid with gid 0 and no passwd entry works", async () => {
    const f = fixture();
    const r = await run(f, ["info", "--json"], { uid: 123456, gid: 0 });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).image.IMAGE_NAME).toBe("runner-test");
    const v = await run(f, ["version"], { uid: 2147483646, gid: 0 });
    expect(v.stdout).toBe(`runner ${VERSION}\n`);
  });
});

describeBinary("BUN_OPTIONS", () => {
  test("C-BUNOPT-1: BUN_OPTIONS set → 78 before any command, even version", async () => {
    for (const args of [["version"], ["help"], ["hello"]]) {
      const f = fixture();
      addPlugin(f, "hello", MARKER_PLUGIN(join(f.work, "marker")));
      const r = await run(f, args, { env: { PATH: "/usr/bin:/bin", BUN_OPTIONS: "--smol" } });
      expect(r.code).toBe(78);
      expect(oneLineError(r.stderr)).toContain("BUN_OPTIONS is set; it can inject code into the Bun runtime");
      expect(r.stdout).toBe("");
      expect(exists(join(f.work, "marker"))).toBe(false);
    }
  });
  test("C-BUNOPT-1: root is refused before BUN_OPTIONS", async () => {
    const r = await run(fixture(), ["version"], { uid: 0, gid: 0, env: { BUN_OPTIONS: "--smol" } });
    expect(r.code).toBe(77);
  });
  test("C-BUNOPT-1: an empty BUN_OPTIONS is ignored", async () => {
    const r = await run(fixture(), ["version"], { env: { BUN_OPTIONS: "" } });
    expect(r.code).toBe(0);
  });
});

describeBinary("arguments", () => {
  test("C-ARGS-1: no argument → usage on stderr, 64", async () => {
    const r = await run(fixture(), []);
    expect(r.code).toBe(64);
    expect(r.stdout).toBe("");
    expect(r.stderr).toStartWith("usage: runner COMMAND");
    expect(r.stderr.trimEnd().split("\n").at(-1)).toBe("runner: no command given");
  });
  test("C-ARGS-2: -h and --help print the help, --version the version", async () => {
    const f = fixture();
    for (const a of ["-h", "--help"]) {
      const r = await run(f, [a]);
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith("usage: runner COMMAND");
    }
    expect((await run(f, ["--version"])).stdout).toBe(`runner ${VERSION}\n`);
  });
  for (const a of ["-v", "--json", "--", "-", "--verbose"]) {
    test(`C-ARGS-3: '${a}' as first argument → 64`, async () => {
      const r = await run(fixture(), [a, "version"]);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain(`runner: unknown option '${a}'`);
      expect(r.stdout).toBe("");
    });
  }
  for (const args of [["version", "x"], ["info", "--yaml"], ["info", "--json", "--json"], ["plugins", "x"], ["check", "-v"], ["help", "a", "b"], ["--version", "x"]]) {
    test(`C-ARGS-4: ${JSON.stringify(args)} → 64`, async () => {
      const r = await run(fixture(), args);
      expect(r.code).toBe(64);
      expect(oneLineError(r.stderr)).toStartWith("runner: ");
      expect(r.stdout).toBe("");
    });
  }
});

describeBinary("dispatch order", () => {
  for (const core of CORE) {
    test(`C-DISPATCH-1: a plugin file named '${core}' never runs`, async () => {
      const f = fixture();
      addPlugin(f, core, MARKER_PLUGIN(join(f.work, "marker")));
      const r = await run(f, [core]);
      expect(r.stdout).not.toContain("ran");
      expect(exists(join(f.work, "marker"))).toBe(false);
      const list = JSON.parse((await run(f, ["plugins", "--json"])).stdout);
      expect(list.plugins).toEqual([{ name: core, path: `/usr/local/lib/runner.d/${core}`, status: "shadowed-by-core", reason: `'${core}' is a core command; this file never runs` }]);
    });
  }
  test("C-DISPATCH-3: an unknown command → 127 with the core commands, no PATH lookup", async () => {
    const f = fixture();
    for (const cmd of ["sh", "ls", "true", "/bin/sh", "../../../bin/sh", "Hello", "hel", "nope"]) {
      const r = await run(f, [cmd, "-c", "touch /tmp/x"]);
      expect(r.code).toBe(127);
      expect(oneLineError(r.stderr)).toBe(`runner: unknown command '${cmd}'; core commands: help, version, info, plugins, check; plugins: see 'runner plugins'`);
      expect(r.stdout).toBe("");
    }
  });
  test("C-DISPATCH-3: no prefix match or suggestion runs anything", async () => {
    const f = fixture();
    addPlugin(f, "hello", MARKER_PLUGIN(join(f.work, "marker")));
    for (const cmd of ["hell", "hello2", "HELLO", "hello "]) {
      expect((await run(f, [cmd])).code).toBe(127);
    }
    expect(exists(join(f.work, "marker"))).toBe(false);
  });
  test("C-DISPATCH-4: a runner.d that may be searched but not read still dispatches", async () => {
    const f = fixture();
    addPlugin(f, "hello", "#!/bin/sh\necho hello-ran\n");
    chmodSync(f.plugins, 0o711);
    const r = await run(f, ["hello"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("hello-ran\n");
    // Listing it is impossible for this uid: proof that dispatch did not list.
    expect((await run(f, ["plugins"])).code).toBe(78);
  });
});

describeBinary("core commands", () => {
  test("C-HELP-1: help lists core commands and the ok plugins only", async () => {
    const f = fixture();
    addPlugin(f, "terraform", "#!/bin/sh\n");
    addPlugin(f, "broken", "#!/bin/sh\n", 0o644);
    const r = await run(f, ["help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    for (const c of CORE) expect(r.stdout).toContain(`\n  ${c}`);
    expect(r.stdout).toEndWith("Plugins (see 'runner plugins' for every entry and its status):\n  terraform\n");
  });
  test("C-HELP-1: help with no plugins says so", async () => {
    expect((await run(fixture(), ["help"])).stdout).toEndWith("status):\n  (none)\n");
  });
  test("C-HELP-2: help COMMAND for a core command, a plugin, and an unknown name", async () => {
    const f = fixture();
    addPlugin(f, "terraform", MARKER_PLUGIN(join(f.work, "marker")));
    const info = await run(f, ["help", "info"]);
    expect(info.code).toBe(0);
    expect(info.stdout).toStartWith("usage: runner info [--json]\n");
    const plugin = await run(f, ["help", "terraform"]);
    expect(plugin.code).toBe(0);
    expect(plugin.stdout).toBe("'terraform' is a plugin; its help is its own: runner terraform --help\n");
    expect(exists(join(f.work, "marker"))).toBe(false);
    const unknown = await run(f, ["help", "nope"]);
    expect(unknown.code).toBe(64);
    expect(oneLineError(unknown.stderr)).toBe("runner: help: unknown command 'nope'");
  });
  test("C-VERSION-1: version prints 'runner <package.json version>'", async () => {
    const r = await run(fixture(), ["version"]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, `runner ${VERSION}\n`, ""]);
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
  test("C-VERSION-2: version --json gives version, the Bun compiled in, and the sha256 of src/runner.ts; plain version stays one line", async () => {
    const r = await run(fixture(), ["version", "--json"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const facts = JSON.parse(r.stdout);
    expect(Object.keys(facts)).toEqual(["version", "bun", "source_sha256"]);
    const pkg = JSON.parse(require("node:fs").readFileSync(join(import.meta.dir, "..", "package.json"), "utf8"));
    const source = require("node:fs").readFileSync(join(import.meta.dir, "..", "src", "runner.ts"));
    // dist/runner must have been built from this source by scripts/build.ts.
    expect(facts).toEqual({ version: VERSION, bun: pkg.devDependencies.bun, source_sha256: new Bun.CryptoHasher("sha256").update(source).digest("hex") });
    // The runtime's own Bun.version is the one the build ran with (the pinned bun).
    expect(facts.bun).toBe(Bun.version);
    const plain = await run(fixture(), ["version"]);
    expect(plain.stdout).toBe(`runner ${VERSION}\n`);
    for (const args of [["version", "--yaml"], ["version", "--json", "x"]]) {
      const bad = await run(fixture(), args);
      expect(bad.code).toBe(64);
      oneLineError(bad.stderr);
    }
  });
  test("C-HELP-3: help lists every exit code of the contract", async () => {
    const r = await run(fixture(), ["help"]);
    expect(r.code).toBe(0);
    const section = r.stdout.slice(r.stdout.indexOf("Exit codes:"));
    for (const code of ["0", "1", "64", "70", "74", "77", "78", "126", "127"]) expect(section).toMatch(new RegExp(`(^|\\s)${code}\\s+\\S`, "m"));
    expect(section).toContain("the plugin's own status");
  });
  test("C-CONTRACT-1: the order: argument errors (64) and unknown commands (127) come before the contract (78)", async () => {
    const f = fixture({ image: null, runtime: null });
    const cases: Array<[string[], number]> = [[["nosuch"], 127], [["info", "x"], 64], [["check", "--yaml"], 64], [["info"], 78], [["plugins"], 78]];
    for (const [args, code] of cases) {
      const r = await run(f, args);
      expect({ args, code: r.code }).toEqual({ args, code });
    }
  });
  test("C-CHECK-5: HOME unset, missing, or not writable is a WARN naming the problem; a writable HOME PASSes", async () => {
    const f = fixture();
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PATH: "/usr/bin:/bin" }, /^WARN  home: HOME is not set: /m],
      [{ PATH: "/usr/bin:/bin", HOME: "/nonexistent" }, /^WARN  home: HOME '\/nonexistent' is not a writable directory \(ENOENT\)/m],
      [{ PATH: "/usr/bin:/bin", HOME: "/" }, /^WARN  home: HOME '\/' is not a writable directory \(EACCES\)/m],
      [{ PATH: "/usr/bin:/bin", HOME: "/tmp" }, /^PASS  home: HOME '\/tmp' is a writable directory$/m],
    ];
    for (const [env, line] of cases) {
      const r = await run(f, ["check"], { env });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(line);
    }
  });
  test("C-INFO-1: info --json has every key in file order; tools is {} when absent", async () => {
    const f = fixture({ image: `IMAGE_ROLE=base\nIMAGE_NAME=img\n# c\nIMAGE_VERSION=1.0.0\nIMAGE_DOMAIN=d\nIMAGE_EXTRA='a b'\n` });
    const r = await run(f, ["info", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(JSON.stringify({
      image: { IMAGE_ROLE: "base", IMAGE_NAME: "img", IMAGE_VERSION: "1.0.0", IMAGE_DOMAIN: "d", IMAGE_EXTRA: "a b" },
      runtime: { RUNNER_USER: "runner", RUNNER_UID: "10001", RUNNER_GID: "10001" },
      tools: {},
    }, null, 2) + "\n");
  });
  test("C-INFO-1: info --json includes tools.env when present", async () => {
    const f = fixture({ tools: "TOOL_B=2\nTOOL_A=\"x\\$y\"\n" });
    const r = await run(f, ["info", "--json"]);
    expect(Object.entries(JSON.parse(r.stdout).tools)).toEqual([["TOOL_B", "2"], ["TOOL_A", "x$y"]]);
  });
  test("C-INFO-2: info prints KEY=value lines per section", async () => {
    const r = await run(fixture({ tools: "TOOL_X=1\n" }), ["info"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("image:\n  IMAGE_NAME=runner-test\n  IMAGE_VERSION=9.8.7\n  IMAGE_DOMAIN=test\n  IMAGE_ROLE=test\n"
      + "runtime:\n  RUNNER_USER=runner\n  RUNNER_UID=10001\n  RUNNER_GID=10001\ntools:\n  TOOL_X=1\n");
  });
  test("C-PLUGINS-1: every status, with a reason for all but ok; exit 0", async () => {
    const f = fixture();
    addPlugin(f, "good", "#!/bin/sh\n");
    addPlugin(f, "noexec", "#!/bin/sh\n", 0o644);
    addPlugin(f, "groupw", "#!/bin/sh\n", 0o775);
    addPlugin(f, "setuid", "#!/bin/sh\n", 0o4755);
    chownSync(addPlugin(f, "userowned", "#!/bin/sh\n"), 10001, 10001);
    addPlugin(f, "check", "#!/bin/sh\n");
    addPlugin(f, "Bad.Name", "#!/bin/sh\n");
    symlinkSync("/nonexistent/x", join(f.plugins, "dangling"));
    symlinkSync("loop", join(f.plugins, "loop"));
    mkdirSync(join(f.plugins, "adir"));
    Bun.spawnSync(["mkfifo", join(f.plugins, "afifo")]);
    const r = await run(f, ["plugins", "--json"]);
    expect(r.code).toBe(0);
    const status = Object.fromEntries(JSON.parse(r.stdout).plugins.map((p: { name: string; status: string }) => [p.name, p.status]));
    expect(status).toEqual({
      "Bad.Name": "invalid-name", adir: "not-a-file", afifo: "not-a-file", check: "shadowed-by-core", dangling: "broken-link",
      good: "ok", groupw: "unsafe-permissions", loop: "broken-link", noexec: "not-executable", setuid: "unsafe-permissions",
      userowned: "unsafe-permissions",
    });
    for (const p of JSON.parse(r.stdout).plugins) expect(p.status === "ok" ? p.reason === "" : p.reason.length > 0).toBe(true);
    const human = await run(f, ["plugins"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^good +ok$/m);
    expect(human.stdout).toMatch(/noexec +not-executable +not executable by uid 10001/);
  });
  test("C-PLUGINS-1: an empty or missing runner.d lists nothing", async () => {
    expect((await run(fixture(), ["plugins"])).stdout).toBe("no plugins in /usr/local/lib/runner.d/\n");
    const f = fixture();
    const lib = join(f.root, "lib");
    mkdirSync(lib);
    const r = await run(f, ["plugins", "--json"], { mounts: [[lib, "/usr/local/lib"]] });
    expect([r.code, r.stdout]).toEqual([0, '{\n  "plugins": []\n}\n']);
  });
  test("C-PLUGINS-2: --json is sorted by name in byte order, with name, path, status, reason", async () => {
    const f = fixture();
    for (const n of ["zeta", "alpha", "Mid", "b_2", "b-1"]) addPlugin(f, n, "#!/bin/sh\n");
    const r = await run(f, ["plugins", "--json"]);
    const list = JSON.parse(r.stdout).plugins;
    expect(list.map((p: { name: string }) => p.name)).toEqual(["Mid", "alpha", "b-1", "b_2", "zeta"]);
    expect(Object.keys(list[1])).toEqual(["name", "path", "status", "reason"]);
    expect(list[1]).toEqual({ name: "alpha", path: "/usr/local/lib/runner.d/alpha", status: "ok", reason: "" });
  });
  test("C-CHECK-1: all PASS → exit 0; a bad plugin → FAIL, exit 1", async () => {
    const f = fixture({ tools: "TOOL_X=1\n" });
    addPlugin(f, "good", "#!/bin/sh\n");
    // no_new_privs set and a writable HOME (DEFAULT_ENV: /tmp), as in a hardened container.
    const ok = await run(f, ["check"], { noNewPrivs: true });
    expect(ok.code).toBe(0);
    const lines = ok.stdout.trimEnd().split("\n");
    expect(lines.every((l) => l.startsWith("PASS  "))).toBe(true);
    expect(lines.map((l) => l.split(":")[0]!.slice(6))).toEqual(["not-root", "contract-dir", "contract-image", "contract-runtime", "contract-tools", "uid", "home", "no-new-privs", "plugin-dir", "plugin"]);
    addPlugin(f, "bad", "#!/bin/sh\n", 0o777);
    const bad = await run(f, ["check"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("FAIL  plugin:bad: unsafe-permissions: file is writable by group or others (mode 777)\n");
  });
  test("C-CHECK-1: a group-writable runner.d FAILs", async () => {
    const f = fixture();
    chmodSync(f.plugins, 0o775);
    const r = await run(f, ["check"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("FAIL  plugin-dir: plugin directory is writable by group or others (mode 775)");
  });
  test("C-CHECK-2: a uid other than RUNNER_UID is a WARN, not a FAIL", async () => {
    const r = await run(fixture(), ["check"], { uid: 123456, gid: 0 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("WARN  uid: uid 123456 differs from RUNNER_UID 10001");
    expect(r.stdout).not.toContain("FAIL");
  });
  test("C-CHECK-2: running as PID 1 is a WARN advising --init", async () => {
    const r = await run(fixture(), ["check", "--json"], { pidNamespace: true });
    expect(r.code).toBe(0);
    const checks = JSON.parse(r.stdout).checks;
    expect(checks.find((c: { id: string }) => c.id === "pid1")).toEqual({ id: "pid1", status: "WARN", message: "running as PID 1: nothing reaps orphans; run the container with --init" });
  });
  test("C-CHECK-3: an invalid contract still prints every line, then exits 78", async () => {
    const r = await run(fixture({ image: "IMAGE_NAME=x\n" }), ["check"]);
    expect(r.code).toBe(78);
    expect(r.stdout).toContain("FAIL  contract-image: /etc/runner/image.env: missing required key IMAGE_VERSION; missing required key IMAGE_DOMAIN; missing required key IMAGE_ROLE\n");
    expect(r.stdout).toContain("PASS  contract-runtime:");
    expect(r.stdout).toContain("PASS  plugin-dir:");
  });
  test("C-CHECK-4: check --json shape", async () => {
    const r = await run(fixture(), ["check", "--json"], { uid: 123456, gid: 0 });
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(["ok", "checks"]);
    expect(doc.ok).toBe(true);
    for (const c of doc.checks) {
      expect(Object.keys(c)).toEqual(["id", "status", "message"]);
      expect(["PASS", "WARN", "FAIL"]).toContain(c.status);
    }
    expect(doc.checks.find((c: { id: string }) => c.id === "uid").status).toBe("WARN");
  });
});

describeBinary("contract files", () => {
  const needsContract = [["info"], ["plugins"], ["hello"]];
  for (const args of needsContract) {
    test(`C-CONTRACT-1: a missing image.env → 78 naming the file, for ${args[0]}`, async () => {
      const f = fixture({ image: null });
      addPlugin(f, "hello", MARKER_PLUGIN(join(f.work, "marker")));
      const r = await run(f, args);
      expect(r.code).toBe(78);
      expect(oneLineError(r.stderr)).toBe("runner: /etc/runner/image.env: cannot open: missing");
      expect(r.stdout).toBe("");
      expect(exists(join(f.work, "marker"))).toBe(false);
    });
  }
  test("C-CONTRACT-1: a syntax error names the file and the line", async () => {
    const r = await run(fixture({ runtime: `${GOOD_RUNTIME}\n# x\nRUNNER_HOME="/home/$USER"\n` }), ["info"]);
    expect(r.code).toBe(78);
    expect(oneLineError(r.stderr)).toBe("runner: /etc/runner/runtime.env:6: unescaped '$' inside double quotes");
  });
  test("C-CONTRACT-1: an unreadable contract file → 78, permission denied", async () => {
    const f = fixture();
    chmodSync(join(f.etc, "image.env"), 0o000);
    const r = await run(f, ["info"]);
    expect(r.code).toBe(78);
    expect(oneLineError(r.stderr)).toBe("runner: /etc/runner/image.env: cannot open: permission denied");
  });
  const unsafe: Array<[string, (f: ReturnType<typeof fixture>) => void, string]> = [
    ["group-writable", (f) => chmodSync(join(f.etc, "image.env"), 0o664), "runner: /etc/runner/image.env: file is writable by group or others (mode 664)"],
    ["world-writable", (f) => chmodSync(join(f.etc, "runtime.env"), 0o646), "runner: /etc/runner/runtime.env: file is writable by group or others (mode 646)"],
    ["owned by the user", (f) => chownSync(join(f.etc, "image.env"), 10001, 10001), "runner: /etc/runner/image.env: file is owned by uid 10001, not root"],
    ["a symbolic link", (f) => { writeFileSync(join(f.root, "real.env"), GOOD_IMAGE); rmSync(join(f.etc, "image.env")); symlinkSync(join(f.root, "real.env"), join(f.etc, "image.env")); }, "runner: /etc/runner/image.env: cannot open: is a symbolic link"],
    ["a directory", (f) => { rmSync(join(f.etc, "image.env")); mkdirSync(join(f.etc, "image.env")); }, "runner: /etc/runner/image.env: is a directory, not a regular file"],
    ["a FIFO", (f) => { rmSync(join(f.etc, "image.env")); Bun.spawnSync(["mkfifo", join(f.etc, "image.env")]); }, "runner: /etc/runner/image.env: is a FIFO, not a regular file"],
    ["in a writable /etc/runner", (f) => chmodSync(f.etc, 0o777), "runner: /etc/runner: directory is writable by group or others (mode 777)"],
    ["in a user-owned /etc/runner", (f) => chownSync(f.etc, 10001, 0), "runner: /etc/runner: directory is owned by uid 10001, not root"],
  ];
  for (const [what, setup, message] of unsafe) {
    test(`C-CONTRACT-2: a contract file ${what} → 78`, async () => {
      const f = fixture();
      setup(f);
      const started = Date.now();
      const r = await run(f, ["info"]);
      expect(r.code).toBe(78);
      expect(oneLineError(r.stderr)).toBe(message);
      expect(Date.now() - started).toBeLessThan(5000);
    });
  }
  test("C-CONTRACT-3: a missing required key → 78 naming key and file", async () => {
    const r = await run(fixture({ runtime: "RUNNER_USER=runner\nRUNNER_UID=10001\n" }), ["info"]);
    expect(r.code).toBe(78);
    expect(oneLineError(r.stderr)).toBe("runner: /etc/runner/runtime.env: missing required key RUNNER_GID");
  });
  test("C-CONTRACT-3: a malformed required value → 78", async () => {
    const r = await run(fixture({ runtime: GOOD_RUNTIME.replace("RUNNER_UID=10001", "RUNNER_UID=0") }), ["info"]);
    expect(oneLineError(r.stderr)).toBe("runner: /etc/runner/runtime.env: RUNNER_UID '0' is not a decimal id from 1 to 2147483647");
  });
  test("C-CONTRACT-4: an invalid tools.env → 78; absent is fine", async () => {
    const r = await run(fixture({ tools: "TOOL_X=a b\n" }), ["info"]);
    expect(r.code).toBe(78);
    expect(oneLineError(r.stderr)).toBe("runner: /etc/runner/tools.env:1: blank in unquoted value (quote the value)");
    expect((await run(fixture({ tools: null }), ["info"])).code).toBe(0);
  });
  test("C-CONTRACT-5: help and version work with no contract at all", async () => {
    const f = fixture({ image: null, runtime: null });
    expect((await run(f, ["version"])).code).toBe(0);
    expect((await run(f, ["help"])).code).toBe(0);
    const empty = join(f.root, "etc-without-runner");
    mkdirSync(empty);
    const r = await run(f, ["help"], { mounts: [[empty, "/etc"]] });
    expect(r.code).toBe(0);
  });
  test("C-PATH-1: the working directory, HOME and the environment do not move the contract", async () => {
    const f = fixture();
    mkdirSync(join(f.work, "etc", "runner"), { recursive: true });
    writeFileSync(join(f.work, "etc", "runner", "image.env"), GOOD_IMAGE.replace("runner-test", "evil"));
    writeFileSync(join(f.work, "image.manifest"), GOOD_IMAGE.replace("runner-test", "evil"));
    const r = await run(f, ["info", "--json"], { env: { PATH: "/usr/bin:/bin", HOME: f.work, IMAGE_NAME: "evil", RUNNER_CONTRACT_DIR: join(f.work, "etc", "runner"), PWD: f.work } });
    expect(JSON.parse(r.stdout).image.IMAGE_NAME).toBe("runner-test");
  });
});

describeBinary("output discipline", () => {
  test("C-OUT-1: an internal failure (unreadable /proc/self/cmdline) → 70 with one line, no trace", async () => {
    const f = fixture();
    addPlugin(f, "hello", "#!/bin/sh\necho ran\n");
    const locked = join(f.root, "locked");
    writeFileSync(locked, "");
    chmodSync(locked, 0o000);
    // sh, setpriv and runner are one process (exec), so $$ is runner's PID.
    const r = await run(f, ["hello"], { prelude: `/bin/mount --bind '${locked}' /proc/$$/cmdline || exit 99` });
    expect(r.code).toBe(70);
    expect(oneLineError(r.stderr)).toBe("runner: cannot read /proc/self/cmdline: EACCES");
    expect(r.stdout).toBe("");
  });
  test("C-OUT-2: a reader that goes away is not an error", async () => {
    const f = fixture();
    const bin = runnerBinary();
    // `true` exits at once; runner writes after that and gets EPIPE.
    const prelude = `{ sleep 0.3; /usr/bin/setpriv --reuid=10001 --regid=10001 --clear-groups -- '${bin}' help; echo "rc=$?" >&2; } | true; exit 0`;
    const r = await run(f, [], { prelude });
    expect(r.stderr).toBe("rc=0\n");
  });
  test("C-OUT-2: an unwritable stdout (ENOSPC) → 74, one line", async () => {
    const r = await run(fixture(), ["version"], { prelude: "exec >/dev/full" });
    expect(r.code).toBe(74);
    expect(oneLineError(r.stderr)).toBe("runner: cannot write to standard output: ENOSPC");
  });
  test("C-OUT-3: --json outputs parse and keep their key order across runs", async () => {
    const f = fixture({ tools: "TOOL_Z=1\nTOOL_A=2\n" });
    addPlugin(f, "x", "#!/bin/sh\n");
    for (const cmd of ["info", "plugins", "check"]) {
      const a = await run(f, [cmd, "--json"]);
      const b = await run(f, [cmd, "--json"]);
      expect(a.stdout).toBe(b.stdout);
      expect(JSON.stringify(JSON.parse(a.stdout), null, 2) + "\n").toBe(a.stdout);
    }
  });
});
