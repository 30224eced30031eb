// Hostile runner.d (issue 5): a huge folder, link tricks, special files with
// plugin names, hostile names, privileged plugins, an unsafe runner.d.
// Each case: documented exit code, one `runner: ` line, nothing run, bounded time.
import { beforeAll, expect, test } from "bun:test";
import {
  chmodSync, chownSync, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { USER_GID, USER_UID, addPlugin, describeBinary, fixture, type Fixture, type RunOptions } from "../harness.ts";
import { BOUND_MS, addMarkerPlugin, markerPath, ranOnce, refused, timed, timedVia } from "./common.ts";

const PLUGIN_DIR = "/usr/local/lib/runner.d";

/** Runs `runner plugins --json` and returns name → status. */
async function statuses(f: Fixture, o: RunOptions = {}): Promise<Map<string, string>> {
  const r = await timed(f, ["plugins", "--json"], o);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  const list = JSON.parse(r.stdout).plugins as Array<{ name: string; status: string }>;
  return new Map(list.map((p) => [p.name, p.status]));
}

describeBinary("hostile runner.d: 10,000 entries", () => {
  const N = 10_000;
  let f: Fixture;
  beforeAll(() => {
    f = fixture();
    // One root-owned script, hard-linked 9,999 times: 10,000 `ok` entries.
    const first = addPlugin(f, "p00000", "#!/bin/sh\necho \"p $RUNNER_PLUGIN $*\"\n");
    for (let i = 1; i < N; i++) linkSync(first, join(f.plugins, `p${String(i).padStart(5, "0")}`));
  });

  test("C-PLUGINS-1: `plugins --json` lists all 10,000 entries, sorted, all ok, within the bound", async () => {
    const t0 = performance.now();
    const s = await statuses(f);
    const ms = performance.now() - t0;
    expect(s.size).toBe(N);
    const names = [...s.keys()];
    expect(names).toEqual([...names].sort());
    expect(names[0]).toBe("p00000");
    expect(names[N - 1]).toBe("p09999");
    expect([...s.values()].every((v) => v === "ok")).toBe(true);
    expect(ms).toBeLessThan(BOUND_MS);
  });

  test("C-CHECK-1: `check` prints one PASS per plugin for 10,000 entries and exits 0, within the bound", async () => {
    const r = await timed(f, ["check"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const pluginLines = r.stdout.split("\n").filter((l) => /^\S+\s+plugin:p\d{5}: /.test(l));
    expect(pluginLines.length).toBe(N);
    expect(pluginLines.every((l) => l.startsWith("PASS"))).toBe(true);
    expect(r.ms).toBeLessThan(BOUND_MS);
  });

  test("C-DISPATCH-4: with 10,000 entries and runner.d not readable (0711), one name still dispatches; listing fails", async () => {
    chmodSync(f.plugins, 0o711);
    try {
      const r = await timed(f, ["p04321", "x y"]);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "p p04321 x y\n", stderr: "" });
      expect(r.ms).toBeLessThan(1_000);
      const miss = await timed(f, ["p99999"]);
      refused(miss, 127, /unknown command 'p99999'/);
      // The control: listing really is impossible here, so dispatch cannot have listed.
      const list = await timed(f, ["plugins"]);
      refused(list, 78, /runner\.d: cannot list: EACCES/);
    } finally {
      chmodSync(f.plugins, 0o755);
    }
  });
});

describeBinary("hostile runner.d: dispatch never lists or opens the folder", () => {
  test.skipIf(!existsSync("/usr/bin/strace"))("C-DISPATCH-4: strace shows no getdents64 and no open of runner.d for dispatch or `help NAME`", async () => {
    const f = fixture();
    copyFileSync("/bin/true", join(f.plugins, "hello")); // an ELF: no interpreter opens the file after execve
    chmodSync(join(f.plugins, "hello"), 0o755);
    for (let i = 0; i < 50; i++) addPlugin(f, `other${i}`, "#!/bin/sh\n");
    const trace = join(f.work, "trace");
    const wrapper = join(f.root, "strace-runner");
    writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/strace -f -qq -e trace=openat,open,getdents64 -o '${trace}' "$(dirname "$0")/../runner" "$@"\n`);
    chmodSync(wrapper, 0o755);
    for (const args of [["hello"], ["help", "hello"]]) {
      const r = await timedVia(wrapper, f, args);
      expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0, stderr: "" });
      const lines = readFileSync(trace, "utf8").split("\n");
      expect(lines.some((l) => l.includes("/proc/self/") || l.includes("openat"))).toBe(true); // strace saw runner's opens
      expect(lines.filter((l) => l.includes("runner.d"))).toEqual([]);
      expect(lines.filter((l) => l.includes("getdents64"))).toEqual([]);
    }
  });
});

describeBinary("hostile runner.d: links", () => {
  /**
   * A root-owned 0755 folder mounted on /mnt inside the namespace, so that link
   * targets there sit on a path only root can change (unlike /tmp, which is
   * world-writable). `tools/tool` in it is a root-owned 0755 marker plugin.
   */
  function outside(f: Fixture, toolMode = 0o755): { host: string; o: RunOptions } {
    const host = join(f.root, "outside");
    mkdirSync(join(host, "tools"), { recursive: true, mode: 0o755 });
    addMarkerPlugin({ ...f, plugins: join(host, "tools") }, "tool", toolMode);
    return { host, o: { mounts: [[host, "/mnt"]] } };
  }

  test("C-PLUGIN-2: a link to itself is broken-link, 126, and does not hang", async () => {
    const f = fixture();
    symlinkSync("loop", join(f.plugins, "loop"));
    refused(await timed(f, ["loop"]), 126, /plugin 'loop' refused \(broken-link\).*ELOOP/, f);
    expect((await statuses(f)).get("loop")).toBe("broken-link");
  });

  test("C-PLUGIN-2: a two-link cycle is broken-link, 126", async () => {
    const f = fixture();
    symlinkSync("ping", join(f.plugins, "pong"));
    symlinkSync("pong", join(f.plugins, "ping"));
    refused(await timed(f, ["ping"]), 126, /broken-link/, f);
    const s = await statuses(f);
    expect([s.get("ping"), s.get("pong")]).toEqual(["broken-link", "broken-link"]);
  });

  test("C-PLUGIN-2: a chain of 41 links (more than the kernel follows) is broken-link, 126", async () => {
    const f = fixture();
    const { o } = outside(f);
    for (let i = 0; i < 41; i++) symlinkSync(i === 40 ? "/mnt/tools/tool" : `c${i + 1}`, join(f.plugins, `c${i}`));
    refused(await timed(f, ["c0"], o), 126, /broken-link.*ELOOP/, f);
    ranOnce(await timed(f, ["c2"], o), f); // 39 links: fine
  });

  test("C-PLUGIN-2: a dangling link is broken-link, 126", async () => {
    const f = fixture();
    symlinkSync("/nonexistent/tool", join(f.plugins, "gone"));
    refused(await timed(f, ["gone"]), 126, /broken-link.*ENOENT/, f);
  });

  test("C-PLUGIN-2: a link to a directory is not-a-file, 126", async () => {
    const f = fixture();
    symlinkSync("/usr/bin", join(f.plugins, "bindir"));
    refused(await timed(f, ["bindir"]), 126, /not-a-file.*directory/, f);
  });

  test("C-PLUGIN-2: control — a link leaving runner.d to a root-owned 0755 file on a root-only path runs", async () => {
    const f = fixture();
    const { o } = outside(f);
    symlinkSync("/mnt/tools/tool", join(f.plugins, "tool"));
    ranOnce(await timed(f, ["tool"], o), f);
    expect((await statuses(f, o)).get("tool")).toBe("ok");
  });

  test("C-PLUGIN-2: a link to a root-owned file writable by others (0777) is refused, 126", async () => {
    const f = fixture();
    const { o } = outside(f, 0o777);
    symlinkSync("/mnt/tools/tool", join(f.plugins, "tool"));
    refused(await timed(f, ["tool"], o), 126, /unsafe-permissions.*link target is writable by group or others \(mode 777\)/, f);
  });

  test("C-PLUGIN-2: a link to a file owned by the user is refused, 126", async () => {
    const f = fixture();
    const { host, o } = outside(f);
    chownSync(join(host, "tools", "tool"), USER_UID, USER_GID);
    symlinkSync("/mnt/tools/tool", join(f.plugins, "tool"));
    refused(await timed(f, ["tool"], o), 126, /unsafe-permissions.*link target is owned by uid 10001/, f);
  });

  for (const [what, change, reason] of [
    ["the user owns", (d: string) => chownSync(d, USER_UID, USER_GID), /directory of link target '\/mnt\/tools' is owned by uid 10001/],
    ["is group-writable (0775)", (d: string) => chmodSync(d, 0o775), /directory of link target '\/mnt\/tools' is writable by group or others \(mode 775\)/],
    ["is sticky and world-writable (1777)", (d: string) => chmodSync(d, 0o1777), /directory of link target '\/mnt\/tools' is writable by group or others \(mode 1777\)/],
  ] as const) {
    test(`C-PLUGIN-2: a link to a root-owned file in a folder that ${what} is refused, 126`, async () => {
      const f = fixture();
      const { host, o } = outside(f);
      change(join(host, "tools"));
      symlinkSync("/mnt/tools/tool", join(f.plugins, "tool"));
      refused(await timed(f, ["tool"], o), 126, reason, f);
    });
  }

  test("C-PLUGIN-2: a link to a root-owned file under /tmp (world-writable, sticky) is refused, 126", async () => {
    const f = fixture();
    const dir = join(f.root, "tools");
    mkdirSync(dir, { mode: 0o755 });
    addMarkerPlugin({ ...f, plugins: dir }, "tool");
    symlinkSync(join(dir, "tool"), join(f.plugins, "tool"));
    refused(await timed(f, ["tool"]), 126, /directory of link target '\/tmp' is writable by group or others/, f);
  });

  test("C-PLUGIN-2: a relative link that climbs out of runner.d to an unsafe file is refused, 126", async () => {
    const f = fixture();
    const { o } = outside(f, 0o777);
    // runner.d is /usr/local/lib/runner.d inside the namespace: climb to / and come down again.
    symlinkSync("../../../../mnt/tools/tool", join(f.plugins, "climb"));
    refused(await timed(f, ["climb"], o), 126, /unsafe-permissions.*mode 777/, f);
  });

  test("C-PLUGIN-2: a link through a link that sits in a user-writable folder is refused (it could be swapped before execve), 126", async () => {
    const f = fixture();
    const { host, o } = outside(f);
    mkdirSync(join(host, "userdir"), { mode: 0o755 });
    chownSync(join(host, "userdir"), USER_UID, USER_GID);
    // The hop lives in the user's folder: the user can re-point it at will.
    symlinkSync("/mnt/tools/tool", join(host, "userdir", "hop"));
    symlinkSync("/mnt/userdir/hop", join(f.plugins, "tool"));
    refused(await timed(f, ["tool"], o), 126, /unsafe-permissions.*directory of link target '\/mnt\/userdir' is owned by uid 10001/, f);
    expect((await statuses(f, o)).get("tool")).toBe("unsafe-permissions");
  });

  test("C-PLUGIN-2: a link whose target sits below a folder the user owns is refused, even if its own folder is root's, 126", async () => {
    const f = fixture();
    const { host, o } = outside(f);
    const sub = join(host, "userdir", "sub");
    mkdirSync(sub, { recursive: true, mode: 0o755 });
    chownSync(join(host, "userdir"), USER_UID, USER_GID); // the user can rename `sub` away and put another one in its place
    addMarkerPlugin({ ...f, plugins: sub }, "tool");
    symlinkSync("/mnt/userdir/sub/tool", join(f.plugins, "tool"));
    refused(await timed(f, ["tool"], o), 126, /unsafe-permissions.*directory of link target '\/mnt\/userdir' is owned by uid 10001/, f);
  });

  test("C-PLUGIN-2: a link to a setuid root file is refused, 126", async () => {
    const f = fixture();
    const { o } = outside(f, 0o4755);
    symlinkSync("/mnt/tools/tool", join(f.plugins, "tool"));
    refused(await timed(f, ["tool"], o), 126, /unsafe-permissions.*setuid or setgid/, f);
  });
});

describeBinary("hostile runner.d: special files with plugin names", () => {
  // Each has mode 0755 so that only the type check can refuse it; opening a
  // FIFO without a writer, or /dev/zero, for reading would block or never end.
  const cases: Array<[string, (p: string) => void, RegExp]> = [
    ["a FIFO", (p) => { expect(Bun.spawnSync(["mkfifo", "-m", "0755", p]).exitCode).toBe(0); }, /not-a-file.*FIFO/],
    ["a socket", (p) => {
      const r = Bun.spawnSync(["perl", "-MSocket", "-e", "socket(S,PF_UNIX,SOCK_STREAM,0) or die; bind(S, pack_sockaddr_un($ARGV[0])) or die", p]);
      expect(r.exitCode).toBe(0);
      chmodSync(p, 0o755);
    }, /not-a-file.*socket/],
    ["a directory", (p) => { mkdirSync(p, { mode: 0o755 }); }, /not-a-file.*directory/],
    ["a device node (like /dev/zero)", (p) => { expect(Bun.spawnSync(["mknod", "-m", "0755", p, "c", "1", "5"]).exitCode).toBe(0); }, /not-a-file.*device/],
  ];
  for (const [what, make, reason] of cases) {
    test(`C-PLUGIN-2: ${what} named like a plugin is never opened, is not-a-file, 126, in bounded time`, async () => {
      const f = fixture();
      make(join(f.plugins, "special"));
      refused(await timed(f, ["special", "arg"]), 126, reason, f);
      expect((await statuses(f)).get("special")).toBe("not-a-file");
      const help = await timed(f, ["help", "special"]);
      refused(help, 64, /help: unknown command 'special'/);
      const check = await timed(f, ["check"]);
      expect(check.code).toBe(1);
      expect(check.stdout).toMatch(/FAIL\s+plugin:special: not-a-file/);
      expect(check.ms).toBeLessThan(BOUND_MS);
    });
  }
});

describeBinary("hostile runner.d: names", () => {
  test("C-PLUGIN-1: a 64-character name runs; a 65-character name is invalid-name and 127", async () => {
    const f = fixture();
    const n64 = `a${"b".repeat(63)}`;
    const n65 = `a${"b".repeat(64)}`;
    addMarkerPlugin(f, n64, 0o755, "n64");
    addMarkerPlugin(f, n65, 0o755, "n65");
    const ok = await timed(f, [n64]);
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
    expect(existsSync(markerPath(f, "n64"))).toBe(true);
    refused(await timed(f, [n65]), 127, /unknown command/, f, ["n65"]);
    const s = await statuses(f);
    expect([s.get(n64), s.get(n65)]).toEqual(["ok", "invalid-name"]);
  });

  // [argument, file in runner.d (or null), expected exit, message]
  const hostile: Array<[string, string, string | null, number, RegExp]> = [
    ["`.` (runner.d itself)", ".", null, 127, /unknown command '\.'/],
    ["`..` (the folder above runner.d)", "..", null, 127, /unknown command '\.\.'/],
    ["a path with `/`", "sub/tool", "sub", 127, /unknown command 'sub\/tool'/],
    ["a path climbing out with `../`", "../../../../bin/sh", null, 127, /unknown command/],
    ["an absolute path", "/bin/sh", null, 127, /unknown command '\/bin\/sh'/],
    ["upper case", "Hello", "Hello", 127, /unknown command 'Hello'/],
    ["a space", "he llo", "he llo", 127, /unknown command 'he llo'/],
    ["a trailing newline", "hello\n", "hello\n", 127, /unknown command/],
    ["a leading `-`", "-x", "-x", 64, /unknown option '-x'/],
    ["a lone `-`", "-", "-", 64, /unknown option '-'/],
    ["a Cyrillic look-alike letter (һello)", "\u04bbello", "\u04bbello", 127, /unknown command/],
    ["a Cyrillic look-alike o (hellо)", "hell\u043e", "hell\u043e", 127, /unknown command/],
    ["fullwidth letters (ｈｅｌｌｏ)", "\uff48\uff45\uff4c\uff4c\uff4f", "\uff48\uff45\uff4c\uff4c\uff4f", 127, /unknown command/],
    ["a zero-width space (hello\\u200b)", "hello\u200b", "hello\u200b", 127, /unknown command/],
    ["a leading underscore", "_hello", "_hello", 127, /unknown command '_hello'/],
    ["a dot inside", "hel.lo", "hel.lo", 127, /unknown command 'hel\.lo'/],
  ];
  for (const [what, arg, file, code, message] of hostile) {
    test(`C-PLUGIN-1: a name with ${what} never runs anything (${code})`, async () => {
      const f = fixture();
      addMarkerPlugin(f, "hello", 0o755, "hello"); // the look-alikes must not reach it either
      if (file === "sub") {
        mkdirSync(join(f.plugins, "sub"), { mode: 0o755 });
        addMarkerPlugin(f, "sub/tool");
      } else if (file !== null) {
        addMarkerPlugin(f, file);
      }
      refused(await timed(f, [arg]), code, message, f, ["ran", "hello"]);
      if (file !== null && file !== "sub") expect((await statuses(f)).get(file)).toBe("invalid-name");
    });
  }

  test("C-DISPATCH-1: a plugin file named like a core command never runs", async () => {
    const f = fixture();
    for (const core of ["help", "version", "info", "plugins", "check"]) addMarkerPlugin(f, core);
    const r = await timed(f, ["version"]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^runner \S+\n$/) });
    expect(existsSync(markerPath(f))).toBe(false);
    expect((await statuses(f)).get("version")).toBe("shadowed-by-core");
  });
});

describeBinary("hostile runner.d: privileged plugins and an unsafe runner.d", () => {
  for (const [what, mode] of [["setuid", 0o4755], ["setgid", 0o2755], ["setuid and setgid", 0o6755]] as const) {
    test(`C-PLUGIN-2: a ${what} plugin is refused with 126`, async () => {
      const f = fixture();
      addMarkerPlugin(f, "priv", mode);
      refused(await timed(f, ["priv"]), 126, /plugin 'priv' refused \(unsafe-permissions\).*setuid or setgid/, f);
      expect((await statuses(f)).get("priv")).toBe("unsafe-permissions");
    });
  }

  for (const [what, mode] of [["group-writable (0775)", 0o775], ["world-writable (0777)", 0o777], ["sticky and world-writable (1777)", 0o1777]] as const) {
    test(`C-PLUGIN-2: a ${what} runner.d refuses every plugin with 126`, async () => {
      const f = fixture();
      addMarkerPlugin(f, "tool");
      chmodSync(f.plugins, mode);
      refused(await timed(f, ["tool"]), 126, /unsafe-permissions.*writable by group or others/, f);
      const check = await timed(f, ["check"]);
      expect(check.code).toBe(1);
      expect(check.stdout).toMatch(/FAIL\s+plugin-dir: /);
    });
  }

  test("C-PLUGIN-2: a runner.d owned by the user refuses every plugin with 126", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    chownSync(f.plugins, USER_UID, USER_GID);
    refused(await timed(f, ["tool"]), 126, /unsafe-permissions.*owned by uid 10001/, f);
  });

  test("C-PLUGIN-2: a plugin owned by the user is refused with 126", async () => {
    const f = fixture();
    chownSync(addMarkerPlugin(f, "tool"), USER_UID, USER_GID);
    refused(await timed(f, ["tool"]), 126, /unsafe-permissions.*owned by uid 10001/, f);
  });

  test("C-PLUGIN-2: a plugin without an execute bit for the caller is refused with 126 (not-executable)", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool", 0o744);
    refused(await timed(f, ["tool"]), 126, /not-executable/, f);
  });

  test(`C-PLUGIN-2: runner.d itself is ${PLUGIN_DIR}: a runner.d in the working directory is ignored`, async () => {
    const f = fixture();
    mkdirSync(join(f.work, "runner.d"), { mode: 0o755 });
    addMarkerPlugin({ ...f, plugins: join(f.work, "runner.d") }, "tool");
    refused(await timed(f, ["tool"]), 127, /unknown command 'tool'/, f);
  });
});
