// Hostile arguments and standard streams (issue 5): many and huge arguments
// passed byte for byte, bytes that are not UTF-8 refused rather than mangled,
// stdin/stdout/stderr closed, stdout full, a reader that went away, and
// no descriptor of runner's leaking into a plugin.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { addPlugin, describeBinary, fixture, oneLineError, type Fixture } from "../harness.ts";
import { BOUND_MS, addMarkerPlugin, markerPath, refused, timed } from "./common.ts";

/** A plugin that prints each of its arguments followed by NUL. */
const ECHO0 = "#!/bin/sh\nprintf '%s\\0' \"$@\"\n";
const nul = (args: string[]) => args.map((a) => `${a}\0`).join("");

describeBinary("hostile arguments: count and size", () => {
  test("C-PLUGIN-4: 10,000 arguments reach the plugin byte for byte, in order", async () => {
    const f = fixture();
    addPlugin(f, "echo0", ECHO0);
    const odd = ["", " ", "a b", "*", "$(id)", "`id`", "--help", "-h", "\n", "tab\there", "\u00e9\u4e2d\u{1f600}", "\ufffd", "\u202eevil", "'\"\\"];
    const args = Array.from({ length: 10_000 }, (_, i) => (i % 50 === 0 ? odd[(i / 50) % odd.length]! : `arg${i}`));
    const r = await timed(f, ["echo0", ...args]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout === nul(args)).toBe(true);
    expect(r.ms).toBeLessThan(BOUND_MS);
  });

  test("C-PLUGIN-4: a 100 KiB argument, and about 1 MiB of arguments in all, reach the plugin byte for byte", async () => {
    const f = fixture();
    addPlugin(f, "echo0", ECHO0);
    // Linux caps one argument at 128 KiB (MAX_ARG_STRLEN); stay below it.
    const big = (c: string) => c.repeat(100 * 1024);
    const args = [big("a"), "", big("\u00e9").slice(0, 50 * 1024), ...Array.from({ length: 9 }, (_, i) => big(String(i)))];
    expect(args.reduce((n, a) => n + Buffer.byteLength(a), 0)).toBeGreaterThan(1_000_000);
    const r = await timed(f, ["echo0", ...args]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout.length).toBe(nul(args).length);
    expect(r.stdout === nul(args)).toBe(true);
  });
});

describeBinary("hostile arguments: bytes that are not UTF-8", () => {
  const bad: Array<[string, string]> = [
    ["a lone 0xFF", "a\\377b"],
    ["a truncated sequence", "\\342\\202"],
    ["an overlong '/'", "\\300\\257"],
    ["an encoded surrogate", "\\355\\240\\200"],
    ["a code point above U+10FFFF", "\\364\\220\\200\\200"],
  ];
  for (const [what, printf] of bad) {
    test(`C-PLUGIN-9: an argument with ${what} is refused with 64 naming its position; the plugin does not run`, async () => {
      const f = fixture();
      addMarkerPlugin(f, "tool");
      const r = await timed(f, ["tool", "ok"], { rawShellArgs: `"$(printf '${printf}')"` });
      refused(r, 64, /^runner: argument 3 is not valid UTF-8/, f);
    });
  }

  test("C-PLUGIN-9: a genuine U+FFFD (valid UTF-8) is passed on byte for byte", async () => {
    const f = fixture();
    addPlugin(f, "echo0", ECHO0);
    const r = await timed(f, ["echo0", "\ufffd", "x\ufffdy"]);
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 0, stderr: "", stdout: nul(["\ufffd", "x\ufffdy"]) });
  });

  test("C-DISPATCH-3: a command name that is not UTF-8 is unknown (127) and runs nothing", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    // "to\xffol": Bun sees "to\ufffdol", not a valid plugin name.
    refused(await timed(f, [], { rawShellArgs: `"$(printf 'to\\377ol')"` }), 127, /^runner: unknown command /, f);
  });

  test("C-ARGS-4: bytes that are not UTF-8 after a core command are a usage error (64)", async () => {
    const f = fixture();
    for (const cmd of ["version", "help", "info"]) {
      const r = await timed(f, [cmd], { rawShellArgs: `"$(printf '\\377')"` });
      refused(r, 64, new RegExp(`^runner: ${cmd}: (unexpected argument|unknown command)`));
    }
  });
});

describeBinary("hostile streams", () => {
  /** A plugin that writes what its fds 0-2 are to the file named by its argument. */
  const FDS = "#!/bin/sh\na=$(readlink /proc/$$/fd/0) b=$(readlink /proc/$$/fd/1) c=$(readlink /proc/$$/fd/2)\nprintf '0=%s\\n1=%s\\n2=%s\\n' \"$a\" \"$b\" \"$c\" >\"$1\"\n";

  // The Bun runtime opens /dev/null on a closed fd 0, 1 or 2 before runner's
  // first line (as glibc does for setuid programs): runner and plugins see
  // /dev/null there, never one of runner's own files.
  test("C-OUT-4: with stdout closed, `version` exits 0 and writes nothing anywhere", async () => {
    const f = fixture();
    const r = await timed(f, ["version"], { prelude: "exec 1>&-" });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("C-OUT-4: with stdout closed, an error still exits with its code and one line on stderr", async () => {
    const f = fixture();
    refused(await timed(f, ["nosuch"], { prelude: "exec 1>&-" }), 127, /^runner: unknown command 'nosuch'/);
  });

  test("C-OUT-4: with stderr closed, an error exits with its code and nothing reaches stdout", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool", 0o644);
    for (const [args, code] of [[["nosuch"], 127], [["tool"], 126], [["-x"], 64]] as const) {
      const r = await timed(f, args, { prelude: "exec 2>&-" });
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code, stdout: "", stderr: "" });
      expect(existsSync(markerPath(f))).toBe(false);
    }
  });

  test("C-OUT-4: with stdin, stdout and stderr closed, a plugin finds /dev/null on each, not a file of runner's", async () => {
    const f = fixture();
    addPlugin(f, "fds", FDS);
    const log = join(f.work, "fds.log");
    const r = await timed(f, ["fds", log], { prelude: "exec 0<&- 1>&- 2>&-" });
    expect(r.code).toBe(0);
    expect(readFileSync(log, "utf8")).toBe("0=/dev/null\n1=/dev/null\n2=/dev/null\n");
  });

  test("C-OUT-4: with stdin closed, a plugin that reads stdin gets end-of-file at once", async () => {
    const f = fixture();
    addPlugin(f, "cat", "#!/bin/sh\nexec cat\n");
    const r = await timed(f, ["cat"], { prelude: "exec 0<&-" });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(r.ms).toBeLessThan(BOUND_MS);
  });

  test("C-PLUGIN-3: a plugin inherits fds 0, 1 and 2 and no other descriptor of runner's", async () => {
    const f = fixture();
    addPlugin(f, "lsfd", "#!/bin/sh\nexec /bin/ls /proc/self/fd\n"); // ls itself holds one fd on the listing
    const r = await timed(f, ["lsfd"]);
    expect(r.code).toBe(0);
    const fds = r.stdout.trim().split(/\s+/).map(Number).sort((a, b) => a - b);
    expect(fds.slice(0, 3)).toEqual([0, 1, 2]);
    expect(fds.length).toBe(4);
  });

  test("C-OUT-2: stdout on /dev/full exits 74 with one line", async () => {
    const f = fixture();
    const r = await timed(f, ["help"], { prelude: "exec 1>/dev/full" });
    expect(r.code).toBe(74);
    expect(oneLineError(r.stderr)).toMatch(/^runner: cannot write to standard output: ENOSPC$/);
  });

  test("C-OUT-2: a reader that went away before the first write: exit 0, nothing on stderr, no SIGPIPE death", async () => {
    const f = fixture();
    const p = join(f.work, "fifo");
    // The background reader opens the FIFO and exits; `wait` makes sure it is gone before runner writes.
    // The control: a write from the shell must fail now (else exit 97), so runner's first write meets EPIPE.
    const prelude = `mkfifo '${p}' || exit 98\n( exec 3<'${p}' ) &\nexec >'${p}'\nwait\ntrap '' PIPE\nprintf x 2>/dev/null && exit 97\ntrap - PIPE`;
    for (const args of [["help"], ["version"], ["plugins"]]) {
      const r = await timed(f, args, { prelude });
      expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: "" });
      expect(r.ms).toBeLessThan(BOUND_MS);
      Bun.spawnSync(["rm", "-f", p]);
    }
  });

  /**
   * stdout is a FIFO that is already full (filled until EAGAIN) and whose
   * reader starts one second later: runner must wait, then deliver every byte.
   * keepNonBlocking leaves O_NONBLOCK on the shared file description, as a
   * caller with a non-blocking pipe would.
   */
  async function fullPipe(f: Fixture, keepNonBlocking: boolean) {
    const p = join(f.work, "fifo");
    const outFile = join(f.work, "out");
    const filled = join(f.work, "filled");
    const fill = `use Fcntl; my $f = fcntl(STDOUT, F_GETFL, 0); fcntl(STDOUT, F_SETFL, $f | O_NONBLOCK) or die; my $n = 0; while (defined(my $w = syswrite(STDOUT, "x" x 4096))) { $n += $w } fcntl(STDOUT, F_SETFL, $f) unless $ENV{KEEP}; print STDERR $n;`;
    const prelude = [
      `mkfifo '${p}' || exit 98`,
      `exec 3<>'${p}'`, // read-write: the open does not block and the pipe always has a writer
      `KEEP=${keepNonBlocking ? 1 : ""} perl -e '${fill}' >&3 2>'${filled}' || exit 98`,
      `( sleep 1; exec cat '${p}' ) >'${outFile}' 3>&- &`,
      "exec 1>&3 3>&-",
    ].join("\n");
    const r = await timed(f, ["help"], { prelude });
    const n = Number(readFileSync(filled, "utf8"));
    return { r, n, out: readFileSync(outFile, "latin1") };
  }

  test("C-OUT-2: stdout a full pipe: runner waits for the reader and delivers everything, exit 0", async () => {
    const f = fixture();
    const { r, n, out } = await fullPipe(f, false);
    expect(n).toBeGreaterThanOrEqual(4096);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(out.slice(0, n)).toBe("x".repeat(n));
    expect(out.slice(n)).toMatch(/^usage: runner COMMAND/);
    expect(out.endsWith("\n")).toBe(true);
    expect(r.ms).toBeGreaterThan(900);
    expect(r.ms).toBeLessThan(BOUND_MS);
  });

  test("C-OUT-2: stdout a full non-blocking pipe (EAGAIN): runner waits and delivers everything, exit 0", async () => {
    const f = fixture();
    const { r, n, out } = await fullPipe(f, true);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(out.slice(0, n)).toBe("x".repeat(n));
    expect(out.slice(n)).toMatch(/^usage: runner COMMAND[^]*\n$/);
    expect(r.ms).toBeGreaterThan(900);
    expect(r.ms).toBeLessThan(BOUND_MS);
  });
});
