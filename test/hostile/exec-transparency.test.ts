// Exec transparency and privilege (issue 11): what a plugin receives is what
// a plain `exec` would have given it — descriptors, environment — and never
// more privilege than its caller. Each numbered finding of the issue has a
// case here that failed with the 0.2 runner and passes now.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_ENV, PRIVILEGED, VERSION, addPlugin, describeBinary, fixture, runnerBinary, type Fixture } from "../harness.ts";
import { BOUND_MS, addMarkerPlugin, markerPath, ranOnce, refused, timed, timedVia } from "./common.ts";
import { existsSync } from "node:fs";

// ------------------------------------------------------------------ helpers

// Small C programs, compiled once per run into a private folder (cc is
// installed by scripts/setup.sh). A missing compiler fails these tests loudly.
const C_RAWEXEC = `
/* rawexec ENTRY... -- PROG ARGS...: execve with exactly these environment
   entries, duplicates and entries without '=' included (env(1) cannot). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int i = 1;
  while (i < argc && strcmp(argv[i], "--") != 0) i++;
  if (i >= argc - 1) { fprintf(stderr, "rawexec: usage\\n"); return 99; }
  argv[i] = NULL;
  execve(argv[i + 1], argv + i + 1, argv + 1);
  perror("rawexec: execve");
  return 99;
}`;
const C_BECOMEROOT = `
/* Tries to become uid 0 and prints what it is: with cap_setuid from a file
   capability, setuid(0) succeeds. */
#include <stdio.h>
#include <unistd.h>
int main(void) {
  int r = setuid(0);
  printf("setuid=%d uid=%d euid=%d\\n", r, (int)getuid(), (int)geteuid());
  return 0;
}`;

let tools = "";
function compile(name: string, source: string): string {
  const src = join(tools, `${name}.c`);
  writeFileSync(src, source);
  const out = join(tools, name);
  const r = Bun.spawnSync(["cc", "-O2", "-o", out, src], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cc ${name}.c failed (is cc installed? scripts/setup.sh installs gcc): ${r.stderr.toString()}`);
  chmodSync(out, 0o755);
  return out;
}

/** A root-owned 0755 shell script every uid can run (the harness runs it in the namespace in runner's place). */
function wrapper(name: string, body: string): string {
  const p = join(tools, name);
  writeFileSync(p, body);
  chmodSync(p, 0o755);
  return p;
}

/** A plugin that lists its descriptors: number → link target, without ls's own listing descriptor. */
const LSFD = "#!/bin/sh\nexec /bin/ls -l /proc/self/fd\n";
function fdTable(stdout: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of stdout.split("\n")) {
    const hit = / (\d+) -> (.*)$/.exec(line);
    if (hit && !/^\/proc\/\d+\/fd$/.test(hit[2]!)) m.set(Number(hit[1]), hit[2]!);
  }
  return m;
}

let rawexec = "";
let becomeRoot = "";
beforeAll(() => {
  // Only the binary tests use the helpers: where they are skipped (the
  // Containerfile's build stage: no privileges, and no cc) compile nothing.
  if (!PRIVILEGED) return;
  tools = mkdtempSync(join(tmpdir(), "runner-exec-tools-"));
  chmodSync(tools, 0o755);
  rawexec = compile("rawexec", C_RAWEXEC);
  becomeRoot = compile("become-root", C_BECOMEROOT);
});
afterAll(() => { if (tools) rmSync(tools, { recursive: true, force: true }); });

/** A root-owned file to pass as a descriptor. */
function dataFile(f: Fixture, name: string, content: string): string {
  const p = join(f.root, name);
  writeFileSync(p, content);
  chmodSync(p, 0o644);
  return p;
}

// ------------------------------------------------- 1. descriptors pass through

describeBinary("issue 11.1: the caller's descriptors reach the plugin", () => {
  test("C-PLUGIN-11: `runner cat <(…)` (bash process substitution) reads /dev/fd/63, as `exec cat` would", async () => {
    const f = fixture();
    addPlugin(f, "catfile", "#!/bin/sh\nexec cat \"$1\"\n");
    const via = wrapper("procsub.sh", `#!/bin/bash\nexec ${runnerBinary()} "$@" <(echo from-process-substitution)\n`);
    const r = await timedVia(via, f, ["catfile"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "from-process-substitution\n", stderr: "" });
  });

  test("C-PLUGIN-11: `3<file` reaches the plugin as descriptor 3 on the same file, readable", async () => {
    const f = fixture();
    const file = dataFile(f, "three.txt", "three\n");
    addPlugin(f, "lsfd", LSFD);
    addPlugin(f, "read3", "#!/bin/sh\nexec cat <&3\n");
    const fds = fdTable((await timed(f, ["lsfd"], { prelude: `exec 3<'${file}'` })).stdout);
    expect(fds.get(3)).toBe(file);
    const r = await timed(f, ["read3"], { prelude: `exec 3<'${file}'` });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "three\n", stderr: "" });
  });

  test("C-PLUGIN-11: LISTEN_FDS-style 3, 4, 5 arrive under the same numbers, and nothing else above 2", async () => {
    const f = fixture();
    const files = ["a", "b", "c"].map((n) => dataFile(f, `${n}.txt`, n));
    addPlugin(f, "lsfd", LSFD);
    const r = await timed(f, ["lsfd"], { prelude: `exec 3<'${files[0]}' 4<'${files[1]}' 5<'${files[2]}'` });
    expect(r.code).toBe(0);
    const fds = fdTable(r.stdout);
    expect([...fds.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    expect([fds.get(3), fds.get(4), fds.get(5)]).toEqual(files);
    // The libc execve path gives the plugin the dispositions and mask process.execve would (C-PLUGIN-7).
    addPlugin(f, "sigs", "#!/bin/sh\nexec grep -E '^Sig(Ign|Blk)' /proc/self/status\n");
    const sigs = await timed(f, ["sigs"], { prelude: `exec 3<'${files[0]}' 4<'${files[1]}' 5<'${files[2]}'` });
    expect(sigs.stdout).toBe("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
  });

  test("C-PLUGIN-11: a gap (3 and 9) keeps both numbers; Bun's descriptors, created in the gap, do not leak", async () => {
    const f = fixture();
    const [a, b] = [dataFile(f, "a.txt", "a"), dataFile(f, "b.txt", "b")];
    addPlugin(f, "lsfd", LSFD);
    const r = await timed(f, ["lsfd"], { prelude: `exec 3<'${a}' 9<'${b}'` });
    const fds = fdTable(r.stdout);
    expect([...fds.keys()].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 9]);
    expect([fds.get(3), fds.get(9)]).toEqual([a, b]);
  });

  test("C-PLUGIN-11: a socket (one end of a socketpair) is passed on and still carries data", async () => {
    const f = fixture();
    addPlugin(f, "readsock", "#!/bin/sh\nread line <&5 && echo \"got $line\"\nexec /bin/ls -l /proc/self/fd\n");
    // perl: $^F = 1000 keeps the socketpair without close-on-exec, at 5 and 6 here.
    const via = wrapper("socket.pl", `#!/usr/bin/perl
use Socket; use POSIX ();
$^F = 1000;
POSIX::dup2(0, 3); POSIX::dup2(0, 4); # fill 3 and 4 so the pair lands on 5 and 6
socketpair(my $s, my $t, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
die "unexpected fds" unless fileno($t) == 5 || fileno($s) == 5;
my $w = fileno($s) == 5 ? $t : $s;
syswrite($w, "hello over a socket\\n");
exec { "${runnerBinary()}" } "${runnerBinary()}", @ARGV;
die "exec: $!";
`);
    const r = await timedVia(via, f, ["readsock"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toStartWith("got hello over a socket\n");
    const fds = fdTable(r.stdout);
    expect(fds.get(5)).toMatch(/^socket:\[\d+\]$/);
    expect([...fds.keys()].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  test("C-PLUGIN-11: Bun's own eventpoll and eventfd never reach the plugin, with or without caller descriptors", async () => {
    const f = fixture();
    const file = dataFile(f, "x.txt", "x");
    addPlugin(f, "lsfd", LSFD);
    for (const prelude of ["", `exec 3<'${file}'`, `exec 7<'${file}'`]) {
      const r = await timed(f, ["lsfd"], { prelude });
      expect(r.code).toBe(0);
      const targets = [...fdTable(r.stdout).values()];
      expect(targets.filter((t) => t.startsWith("anon_inode:") || t.startsWith("pipe:"))).toEqual([]);
    }
  });

  test("C-PLUGIN-11: core commands are unaffected by extra descriptors", async () => {
    const f = fixture();
    const file = dataFile(f, "x.txt", "x");
    const r = await timed(f, ["version"], { prelude: `exec 3<'${file}' 9<'${file}'` });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  });
});

// ------------------------------------------ 2. file capabilities never run

describeBinary("issue 11.2: a plugin with file capabilities never runs privileged", () => {
  function capPlugin(f: Fixture, name: string, caps = "cap_setuid,cap_setgid+ep"): string {
    const p = join(f.plugins, name);
    copyFileSync(becomeRoot, p);
    chmodSync(p, 0o755);
    const r = Bun.spawnSync(["setcap", caps, p], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`setcap failed (libcap2-bin, scripts/setup.sh): ${r.stderr.toString()}`);
    return p;
  }

  test("C-PLUGIN-12: control — the same program without capabilities runs and stays uid 10001", async () => {
    const f = fixture();
    const p = join(f.plugins, "plain");
    copyFileSync(becomeRoot, p);
    chmodSync(p, 0o755);
    const r = await timed(f, ["plain"]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "setuid=-1 uid=10001 euid=10001\n" });
  });

  test("C-PLUGIN-12: dispatch does not read capabilities (documented limit): without no_new_privs a cap_setuid plugin gets uid 0, and `check` FAILs it", async () => {
    const f = fixture();
    capPlugin(f, "esc");
    // What SECURITY.md says happens on a platform that does not set no_new_privs.
    const r = await timed(f, ["esc"]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "setuid=0 uid=0 euid=0\n" });
    const check = await timed(f, ["check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^FAIL  plugin:esc: unsafe-permissions: file capabilities set/m);
    expect(check.stdout).toMatch(/^WARN  no-new-privs: /m);
  });

  test("C-PLUGIN-12: a link to a file with capabilities is unsafe-permissions too (the capabilities of the final target)", async () => {
    const f = fixture();
    const dir = join(f.root, "bin");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const target = join(dir, "esc-real");
    copyFileSync(becomeRoot, target);
    chmodSync(target, 0o755);
    expect(Bun.spawnSync(["setcap", "cap_setuid+ep", target]).exitCode).toBe(0);
    symlinkSync(target, join(f.plugins, "esclink"));
    const list = await timed(f, ["plugins", "--json"]);
    expect(JSON.parse(list.stdout).plugins[0]).toMatchObject({ name: "esclink", status: "unsafe-permissions" });
  });

  test("C-PLUGIN-12: `plugins` and `check` report a plugin with capabilities as unsafe-permissions / FAIL", async () => {
    const f = fixture();
    capPlugin(f, "esc", "cap_net_raw+ep");
    const list = await timed(f, ["plugins", "--json"]);
    expect(JSON.parse(list.stdout).plugins).toEqual([{ name: "esc", path: "/usr/local/lib/runner.d/esc", status: "unsafe-permissions", reason: "file capabilities set (security.capability): plugins never run privileged" }]);
    const check = await timed(f, ["check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^FAIL  plugin:esc: unsafe-permissions: file capabilities set/m);
  });

  test("C-PLUGIN-12: under no_new_privs (the recommended setting) the kernel ignores file capabilities: the plugin stays uid 10001; `plugins` still says unsafe-permissions", async () => {
    const f = fixture();
    capPlugin(f, "esc");
    const list = await timed(f, ["plugins", "--json"], { noNewPrivs: true });
    expect(JSON.parse(list.stdout).plugins[0].status).toBe("unsafe-permissions");
    const r = await timed(f, ["esc"], { noNewPrivs: true });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "setuid=-1 uid=10001 euid=10001\n" });
  });

  test("C-CHECK-6: `check` reports no_new_privs: WARN with the advice when unset, PASS when set", async () => {
    const f = fixture();
    const off = await timed(f, ["check"]);
    expect(off.stdout).toMatch(/^WARN  no-new-privs: no_new_privs is not set: run with --security-opt no-new-privileges \(docker, podman\) or allowPrivilegeEscalation: false \(Kubernetes\)$/m);
    const on = await timed(f, ["check", "--json"], { noNewPrivs: true });
    expect(JSON.parse(on.stdout).checks).toContainEqual(expect.objectContaining({ id: "no-new-privs", status: "PASS" }));
    expect(on.code).toBe(0);
  });
});

// ------------------------------------------------- 3. the raw environment

describeBinary("issue 11.3: the raw environment decides", () => {
  const viaRaw = (name: string, entries: string[]) =>
    wrapper(name, `#!/bin/sh\nexec ${rawexec} ${entries.map((e) => `'${e}'`).join(" ")} -- ${runnerBinary()} "$@"\n`);

  test("C-BUNOPT-2: two BUN_OPTIONS entries, a non-empty first and an empty last, are refused (78) for every command", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    const via = viaRaw("bunopt-dup.sh", ["BUN_OPTIONS=--smol", "PATH=/usr/bin:/bin", "BUN_OPTIONS="]);
    for (const args of [["tool"], ["version"], ["help"]]) {
      refused(await timedVia(via, f, args), 78, /^runner: BUN_OPTIONS is set; it can inject code into the Bun runtime/, f);
    }
  });

  test("C-BUNOPT-2: an empty BUN_OPTIONS given twice is still ignored", async () => {
    const f = fixture();
    const r = await timedVia(viaRaw("bunopt-empty.sh", ["BUN_OPTIONS=", "BUN_OPTIONS="]), f, ["version"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  });

  for (const name of ["BUN_INSPECT", "BUN_INSPECT_CONNECT_TO", "BUN_INSPECT_NOTIFY", "BUN_INSPECT_PRELOAD"]) {
    test(`C-BUNOPT-3: ${name} set (a loopback address) is refused with 78 naming it, for every command; no plugin runs`, async () => {
      const f = fixture();
      addMarkerPlugin(f, "tool");
      for (const args of [["tool"], ["version"]]) {
        // Port 0: a listener Bun may open lands on a free loopback port (Bun acts before runner's first line).
        const r = await timed(f, args, { env: { ...DEFAULT_ENV, [name]: "ws://127.0.0.1:0/runner-test" } });
        refused(r, 78, new RegExp(`^runner: ${name} is set; it opens a debugger`), f);
      }
    });
  }

  test("C-PLUGIN-10: a name given twice in the raw environment is refused (78) before a plugin runs; core commands still work", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    const via = viaRaw("dup.sh", ["PATH=/usr/bin:/bin", "FOO=first", "FOO=second"]);
    refused(await timedVia(via, f, ["tool"]), 78, /^runner: environment variable 'FOO' is set more than once; runner cannot pass such an environment on unchanged$/, f);
    const v = await timedVia(via, f, ["version"]);
    expect({ code: v.code, stderr: v.stderr }).toEqual({ code: 0, stderr: "" });
  });

  test("C-PLUGIN-10: an entry without '=' and an entry with an empty name are refused (78); the plugin does not run", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    refused(await timedVia(viaRaw("noeq.sh", ["PATH=/usr/bin:/bin", "JUSTANAME"]), f, ["tool"]), 78, /^runner: environment entry 2 \('JUSTANAME'\) has no '='/, f);
    refused(await timedVia(viaRaw("emptyname.sh", ["=value", "PATH=/usr/bin:/bin"]), f, ["tool"]), 78, /^runner: environment entry 1 has an empty name/, f);
  });

  test("C-PLUGIN-10: control — a well-formed raw environment reaches the plugin exactly, in order, via rawexec", async () => {
    const f = fixture();
    symlinkSync("/usr/bin/env", join(f.plugins, "env")); // not a shell: a shell would reorder its environment
    const r = await timedVia(viaRaw("ok.sh", ["PATH=/usr/bin:/bin", "A=1", "RUNNER_PLUGIN=caller", "B= x "]), f, ["env"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout.trimEnd().split("\n")).toEqual(["PATH=/usr/bin:/bin", "A=1", "RUNNER_PLUGIN=env", "B= x ", `RUNNER_VERSION=${VERSION}`]);
  });
});

// --------------------------------------------- 4. human output is escaped

describeBinary("issue 11.4: human output never carries raw control or bidi characters", () => {
  const RAW = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
  const rawIn = (s: string) => s.replace(/\n/g, "").match(RAW)?.[0];

  test("C-OUT-5: a runner.d name with a newline and terminal escapes cannot forge a `check` line nor reach the terminal", async () => {
    const f = fixture();
    addPlugin(f, "ok", "#!/bin/sh\n");
    const evil = "evil\nPASS  plugin:evil: ok\u001b]0;owned\u0007\u001b[2J";
    writeFileSync(join(f.plugins, evil), "#!/bin/sh\n");
    chmodSync(join(f.plugins, evil), 0o755);
    const check = await timed(f, ["check"]);
    expect(check.stdout.split("\n").filter((l) => l.startsWith("PASS  plugin:"))).toEqual(["PASS  plugin:ok: ok"]);
    expect(rawIn(check.stdout)).toBeUndefined();
    expect(check.stdout).toContain("FAIL  plugin:evil\\u{a}PASS  plugin:evil: ok\\u{1b}]0;owned\\u{7}\\u{1b}[2J: invalid-name");
    const list = await timed(f, ["plugins"]);
    expect(rawIn(list.stdout)).toBeUndefined();
    expect(list.stdout.split("\n").length).toBe(3);
  });

  test("C-OUT-5: `plugins` escapes the C1 CSI (U+009B), bidi controls (U+202E, U+2066) and invisible format characters (U+200B, U+200E, U+200F, U+061C, U+FEFF)", async () => {
    const f = fixture();
    const names = ["a\u009b31m", "b\u202etxt.exe", "c\u2066x", "d\u200bx", "e\u200ex", "f\u200fx", "g\u061cx", "h\ufeffx", "i\u2028x"];
    for (const n of names) { writeFileSync(join(f.plugins, n), ""); chmodSync(join(f.plugins, n), 0o755); }
    for (const args of [["plugins"], ["check"]]) {
      const r = await timed(f, args);
      expect(rawIn(r.stdout)).toBeUndefined();
    }
    const r = await timed(f, ["plugins"]);
    for (const esc of ["a\\u{9b}31m", "b\\u{202e}txt.exe", "c\\u{2066}x", "d\\u{200b}x", "e\\u{200e}x", "f\\u{200f}x", "g\\u{61c}x", "h\\u{feff}x", "i\\u{2028}x"]) {
      expect(r.stdout).toContain(`'${esc}'`);
    }
  });

  test("C-OUT-1: an unknown command with U+200B, U+200E, U+200F, U+061C and U+202E is shown escaped", async () => {
    const f = fixture();
    const r = await timed(f, ["x\u200b\u200e\u200f\u061c\u202ey"]);
    const line = refused(r, 127, /^runner: unknown command /);
    expect(line).toContain("'x\\u{200b}\\u{200e}\\u{200f}\\u{61c}\\u{202e}y'");
  });

  test("C-PLUGINS-3: names that are not UTF-8 keep their bytes (name_bytes) and stay distinct; entries are sorted by raw bytes", async () => {
    const f = fixture();
    // \xff and \xfe both decode to U+FFFD; U+FF5E (EF BD 9E) sorts before U+1F600 (F0 9F 98 80) by bytes, after it by UTF-16.
    const make = `cd '${f.plugins}' && : > "$(printf 'z\\377')" && : > "$(printf 'z\\376')" && : > "$(printf '\\357\\275\\236')" && : > "$(printf '\\360\\237\\230\\200')"`;
    expect(Bun.spawnSync(["/bin/sh", "-c", make]).exitCode).toBe(0);
    const r = await timed(f, ["plugins", "--json"]);
    expect(r.code).toBe(0);
    const entries = JSON.parse(r.stdout).plugins as Array<Record<string, string>>;
    expect(entries.map((e) => e.name)).toEqual(["z\ufffd", "z\ufffd", "\uff5e", "\u{1f600}"]);
    expect(entries.map((e) => e.name_bytes)).toEqual(["7afe", "7aff", undefined, undefined]);
    expect(entries.every((e) => e.status === "invalid-name")).toBe(true);
    const human = await timed(f, ["plugins"]);
    expect(human.stdout).toContain("'z\\x{fe}'");
    expect(human.stdout).toContain("'z\\x{ff}'");
  });
});

// ------------------------------------------- 5. each file its own namespace

describeBinary("issue 11.5: contract keys live in their file's namespace", () => {
  const cases: Array<[file: "image" | "runtime" | "tools", content: string, key: string, prefix: string]> = [
    ["tools", "OPTIND=x\n", "OPTIND", "TOOL_"],
    ["runtime", "RUNNER_USER=runner\nRUNNER_UID=10001\nRUNNER_GID=10001\nUID=1\n", "UID", "RUNNER_"],
    ["tools", "TOOL_A=1\nSHELLOPTS=x\n", "SHELLOPTS", "TOOL_"],
    ["image", "IMAGE_NAME=runner-test\nIMAGE_VERSION=9.8.7\nIMAGE_DOMAIN=test\nIMAGE_ROLE=test\nTOOL_X=1\n", "TOOL_X", "IMAGE_"],
    ["tools", "TOOL_=1\n", "TOOL_", "TOOL_"],
  ];
  for (const [file, content, key, prefix] of cases) {
    test(`C-ENV-10: ${key} in ${file}.env is refused (78) with one line naming file:line; no plugin runs`, async () => {
      const f = fixture({ [file]: content });
      addMarkerPlugin(f, "tool");
      const line = content.split("\n").findIndex((l) => l.startsWith(`${key}=`)) + 1;
      const message = new RegExp(`^runner: /etc/runner/${file}\\.env:${line}: key '${key}' is outside this file's namespace: its keys are ${prefix}\\*$`);
      refused(await timed(f, ["tool"]), 78, message, f);
      refused(await timed(f, ["info"]), 78, message, f);
    });
  }
});

// ------------------------------------------------------------- 6. smaller

describeBinary("issue 11.6: smaller findings", () => {
  test("C-DISPATCH-5: an unsearchable runner.d (0700 root) makes `runner NAME` exit 78 saying why, not 127", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    chmodSync(f.plugins, 0o700);
    try {
      refused(await timed(f, ["tool"]), 78, /^runner: \/usr\/local\/lib\/runner\.d: cannot look up 'tool': EACCES \(runner\.d must be searchable by the caller\)$/, f);
      refused(await timed(f, ["plugins"]), 78, /cannot list: EACCES/, f);
    } finally {
      chmodSync(f.plugins, 0o755);
    }
  });

  test("C-DISPATCH-5: control — with runner.d searchable the same plugin runs", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    ranOnce(await timed(f, ["tool"]), f);
    expect(existsSync(markerPath(f))).toBe(true);
    expect(BOUND_MS).toBeGreaterThan(0);
  });
});
