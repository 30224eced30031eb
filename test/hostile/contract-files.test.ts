// Hostile contract files (issue 5): sizes, encodings, every grammar error of
// issue 2 with its line number, duplicate keys, special files in place of a
// contract file, modes and owners. Each case: exit 78 naming the file (and
// line), one `runner: ` line, no plugin run, bounded time.
import { expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GOOD_IMAGE, GOOD_RUNTIME, USER_GID, USER_UID, describeBinary, fixture, type Fixture } from "../harness.ts";
import { BOUND_MS, addMarkerPlugin, refused, timed } from "./common.ts";

const IMAGE = "/etc/runner/image.env";
const MAX = 64 * 1024;

/** A fixture with a marker plugin and the given file contents (bytes allowed). */
function hostileFixture(files: { image?: Uint8Array | string; runtime?: Uint8Array | string; tools?: Uint8Array | string }): Fixture {
  const f = fixture();
  for (const [name, content] of Object.entries(files)) {
    if (content === undefined) continue;
    const p = join(f.etc, `${name}.env`);
    rmSync(p, { force: true });
    writeFileSync(p, content);
    chmodSync(p, 0o444);
  }
  addMarkerPlugin(f, "tool");
  return f;
}

/**
 * Every command that needs the contract refuses with 78 and the same line:
 * info and plugin dispatch (the plugin must not run), plugins, and check
 * (which prints its lines first, C-CHECK-3).
 */
async function refusedEverywhere(f: Fixture, message: RegExp): Promise<string> {
  const line = refused(await timed(f, ["info", "--json"]), 78, message, f);
  expect(refused(await timed(f, ["tool", "arg"]), 78, message, f)).toBe(line);
  expect(refused(await timed(f, ["plugins"]), 78, message, f)).toBe(line);
  const check = await timed(f, ["check"]);
  expect(check.code).toBe(78);
  expect(check.stdout).toMatch(/^FAIL /m);
  expect(check.ms).toBeLessThan(BOUND_MS);
  return line;
}

const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))));

describeBinary("hostile contract files: sizes and encodings", () => {
  test("C-CONTRACT-3: an empty image.env is refused naming the missing keys, 78", async () => {
    await refusedEverywhere(hostileFixture({ image: "" }), /^runner: \/etc\/runner\/image\.env: missing required key IMAGE_NAME/);
  });

  test("C-CONTRACT-3: an empty runtime.env is refused, 78", async () => {
    await refusedEverywhere(hostileFixture({ runtime: "" }), /^runner: \/etc\/runner\/runtime\.env: missing required key RUNNER_USER/);
  });

  test("C-CONTRACT-4: an empty tools.env is valid (no required keys)", async () => {
    const r = await timed(hostileFixture({ tools: "" }), ["info", "--json"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(r.stdout).tools).toEqual({});
  });

  test("C-ENV-1: a contract file of exactly 64 KiB is accepted; 64 KiB + 1 is refused, 78", async () => {
    const pad = (total: number) => {
      const comment = `#${"x".repeat(total - GOOD_IMAGE.length - 2)}\n`;
      return GOOD_IMAGE + comment;
    };
    expect(Buffer.byteLength(pad(MAX))).toBe(MAX);
    const ok = await timed(hostileFixture({ image: pad(MAX) }), ["info", "--json"]);
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(ok.stdout).image.IMAGE_NAME).toBe("runner-test");
    await refusedEverywhere(hostileFixture({ image: pad(MAX + 1) }), /^runner: \/etc\/runner\/image\.env: larger than 65536 bytes$/);
  });

  test("C-ENV-1: a contract file far larger than 64 KiB (8 MiB) is refused in bounded time, 78", async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, "#");
    const f = hostileFixture({ image: big });
    await refusedEverywhere(f, /image\.env: larger than 65536 bytes$/);
  });

  test("C-ENV-1: 64 KiB of distinct keys (about 5,000 lines) parses within the bound", async () => {
    let text = GOOD_IMAGE;
    for (let i = 0; Buffer.byteLength(text) < MAX - 20; i++) text += `IMAGE_K${i}=v\n`;
    const r = await timed(hostileFixture({ image: text }), ["info", "--json"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(Object.keys(JSON.parse(r.stdout).image).length).toBe(text.split("\n").length - 1);
    expect(r.ms).toBeLessThan(BOUND_MS);
  });

  test("C-ENV-1: binary garbage is refused naming the file and a line, 78", async () => {
    // A fixed pseudo-random buffer (xorshift32, seed 5): the same bytes every run.
    const buf = Buffer.alloc(4096);
    let s = 5;
    for (let i = 0; i < buf.length; i++) { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; buf[i] = s & 0xff; }
    await refusedEverywhere(hostileFixture({ image: buf }), /^runner: \/etc\/runner\/image\.env:\d+: /);
  });

  const encodings: Array<[string, Uint8Array, RegExp]> = [
    ["a lone 0xFF byte", bytes(GOOD_IMAGE, "X=a", [0xff], "\n"), /image\.env:5: invalid UTF-8$/],
    ["a truncated sequence", bytes(GOOD_IMAGE, "#", [0xe2, 0x82], "\n"), /image\.env:5: invalid UTF-8$/],
    ["an overlong encoding of '/'", bytes(GOOD_IMAGE, "X='", [0xc0, 0xaf], "'\n"), /image\.env:5: invalid UTF-8$/],
    ["an encoded surrogate", bytes(GOOD_IMAGE, "X='", [0xed, 0xa0, 0x80], "'\n"), /image\.env:5: invalid UTF-8$/],
    ["a byte order mark", bytes([0xef, 0xbb, 0xbf], GOOD_IMAGE), /image\.env:1: byte order mark is not allowed$/],
    ["CRLF line endings", bytes(GOOD_IMAGE.replace(/\n/g, "\r\n")), /image\.env:1: carriage return/],
    ["a lone CR", bytes("IMAGE_NAME=a\rIMAGE_ROLE=b\n"), /image\.env:1: carriage return/],
    ["a NUL byte", bytes(GOOD_IMAGE, "X=a", [0], "b\n"), /image\.env:5: NUL byte$/],
    ["a NUL byte in a comment", bytes(GOOD_IMAGE, "#", [0], "\n"), /image\.env:5: NUL byte$/],
  ];
  for (const [what, content, message] of encodings) {
    test(`C-ENV-1: image.env with ${what} is refused with its line, 78`, async () => {
      await refusedEverywhere(hostileFixture({ image: content }), message);
    });
  }
});

describeBinary("hostile contract files: every grammar error, with its line number", () => {
  // The bad line is line 6 of image.env: four valid lines and a comment first.
  const prefix = `${GOOD_IMAGE}# a comment\n`;
  /** Puts `line` on line 6 of image.env and expects `runner: /etc/runner/image.env:6: message`, 78. */
  async function grammarError(line: string, message: string): Promise<void> {
    const escaped = message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const got = refused(await timed(hostileFixture({ image: `${prefix}${line}\n` }), ["info"]), 78, new RegExp(`^runner: ${IMAGE}:6: ${escaped}$`));
    expect(got).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/); // the message never carries the raw control character
  }

  const C_ENV_1: Array<[string, string, string]> = [
    ["a control character (U+0001)", "X='a\u0001'", "control character U+0001"],
    ["an escape character (U+001B)", "X='\u001b[2J'", "control character U+001B"],
    ["DEL (U+007F)", "X='a\u007f'", "control character U+007F"],
    ["a C1 control (U+0085)", "X='a\u0085'", "control character U+0085"],
    ["a C1 CSI (U+009B)", "X='\u009b2J'", "control character U+009B"],
  ];
  for (const [what, line, message] of C_ENV_1) {
    test(`C-ENV-1: image.env with ${what} is refused as 'image.env:6: …', 78`, () => grammarError(line, message));
  }

  const C_ENV_2: Array<[string, string, string]> = [
    ["a leading blank", " X=1", "leading blank"],
    ["a leading blank before a comment", " # c", "leading blank"],
    ["a key starting with a digit", "1X=1", "key must start with a letter or '_', not '1'"],
    ["an empty key", "=1", "key must start with a letter or '_', not '='"],
    ["a line without '='", "X", "expected '=' after 'X'"],
    ["export", "export X=1", "'export' is not allowed"],
    ["a blank before '='", "X =1", "blank between key and '='"],
    ["a blank after '='", "X= 1", "blank in unquoted value (quote the value)"],
    ["a '-' in a key", "X-Y=1", "character '-' is not allowed in a key"],
    ["a trailing comment", "X=1 #c", "blank in unquoted value (quote the value)"],
    ["a trailing blank after a quoted value", 'X="1" ', "unexpected ' ' after the closing quote"],
  ];
  for (const [what, line, message] of C_ENV_2) {
    test(`C-ENV-2: image.env with ${what} is refused as 'image.env:6: …', 78`, () => grammarError(line, message));
  }

  const C_ENV_3: Array<[string, string, string]> = [
    ["a blank in an unquoted value", "X=a b", "blank in unquoted value (quote the value)"],
    ["a tab in an unquoted value", "X=a\tb", "blank in unquoted value (quote the value)"],
    ["a quote inside an unquoted value", "X=a'b", "quote inside an unquoted value"],
    ["'$' in an unquoted value", "X=$HOME", "character '$' is not allowed in an unquoted value (quote the value)"],
    ["'~' in an unquoted value", "X=~/x", "character '~' is not allowed in an unquoted value (quote the value)"],
    ["'*' in an unquoted value", "X=*", "character '*' is not allowed in an unquoted value (quote the value)"],
    ["a backslash in an unquoted value", "X=a\\", "character '\\' is not allowed in an unquoted value (quote the value)"],
    ["a command substitution", "X=$(id)", "character '$' is not allowed in an unquoted value (quote the value)"],
  ];
  for (const [what, line, message] of C_ENV_3) {
    test(`C-ENV-3: image.env with ${what} is refused as 'image.env:6: …', 78`, () => grammarError(line, message));
  }

  const C_ENV_4: Array<[string, string, string]> = [
    ["an unterminated double quote", 'X="abc', "unterminated double quote"],
    ["an escaped closing double quote", 'X="abc\\"', "unterminated double quote"],
    ["an unescaped '$' in double quotes", 'X="a$b"', "unescaped '$' inside double quotes"],
    ["an unescaped backtick in double quotes", 'X="a`id`"', "unescaped '`' inside double quotes"],
    ["the escape \\n", 'X="a\\nb"', "invalid escape '\\n' (only \\\" \\\\ \\$ \\` are allowed)"],
    ["a backslash at the end of the line", 'X="a\\', "invalid escape '\\' (only \\\" \\\\ \\$ \\` are allowed)"],
  ];
  for (const [what, line, message] of C_ENV_4) {
    test(`C-ENV-4: image.env with ${what} is refused as 'image.env:6: …', 78`, () => grammarError(line, message));
  }

  const C_ENV_5: Array<[string, string, string]> = [
    ["an unterminated single quote", "X='abc", "unterminated single quote"],
    ["two double-quoted strings", 'X="a""b"', "only one quoted string per value"],
    ["a single then a double quote", "X='a'\"b\"", "only one quoted string per value"],
    ["text after a single-quoted string", "X='a'b", "unexpected 'b' after the closing quote"],
    ["a multi-line double-quoted value", 'X="a\nb"', "unterminated double quote"],
    ["a line continuation", "X=a\\\nb", "character '\\' is not allowed in an unquoted value (quote the value)"],
  ];
  for (const [what, line, message] of C_ENV_5) {
    test(`C-ENV-5: image.env with ${what} is refused as 'image.env:6: …', 78`, () => grammarError(line, message));
  }

  const C_ENV_6: Array<[string, string, string]> = [
    ["a duplicate key", "IMAGE_NAME=other", "duplicate key 'IMAGE_NAME' (first set on line 1)"],
  ];
  for (const [what, line, message] of C_ENV_6) {
    test(`C-ENV-6: image.env with ${what} is refused as 'image.env:6: …', 78`, () => grammarError(line, message));
  }

  test("C-ENV-7: a grammar error in runtime.env and in tools.env names that file and line, and blocks a plugin, 78", async () => {
    await refusedEverywhere(hostileFixture({ runtime: `${GOOD_RUNTIME}\nX=a b\n` }), /^runner: \/etc\/runner\/runtime\.env:5: blank in unquoted value/);
    await refusedEverywhere(hostileFixture({ tools: "TOOL_A=1\nTOOL_A=2\n" }), /^runner: \/etc\/runner\/tools\.env:2: duplicate key 'TOOL_A' \(first set on line 1\)$/);
  });

  test("C-CONTRACT-5: help and version still work with every contract file broken", async () => {
    const f = hostileFixture({ image: "garbage here\n", runtime: "\u0000", tools: "'" });
    const v = await timed(f, ["version"]);
    expect({ code: v.code, stderr: v.stderr }).toEqual({ code: 0, stderr: "" });
    const h = await timed(f, ["help"]);
    expect({ code: h.code, stderr: h.stderr }).toEqual({ code: 0, stderr: "" });
  });

  test("C-ENV-9: a key named __proto__ never reaches `info`: it is outside image.env's namespace (C-ENV-10), 78", async () => {
    // The parser treats such keys as plain data (test/env-parser.test.ts); in a
    // contract file every key carries its file's prefix, so they cannot occur.
    await refusedEverywhere(hostileFixture({ image: `${GOOD_IMAGE}__proto__=polluted\n` }), /^runner: \/etc\/runner\/image\.env:5: key '__proto__' is outside this file's namespace: its keys are IMAGE_\*$/);
  });

  test("C-ENV-9: prefixed keys that end like Object's properties are plain keys in `info --json`", async () => {
    const r = await timed(hostileFixture({ image: `${GOOD_IMAGE}IMAGE___proto__=polluted\nIMAGE_constructor=x\n` }), ["info", "--json"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(Object.keys(JSON.parse(r.stdout).image)).toEqual(["IMAGE_NAME", "IMAGE_VERSION", "IMAGE_DOMAIN", "IMAGE_ROLE", "IMAGE___proto__", "IMAGE_constructor"]);
  });
});

describeBinary("hostile contract files: types, modes and owners", () => {
  const kinds: Array<[string, (p: string) => void, RegExp]> = [
    ["a directory", (p) => { mkdirSync(p, { mode: 0o755 }); }, /image\.env: is a directory, not a regular file$/],
    ["a FIFO (no writer: a blocking open would hang)", (p) => { expect(Bun.spawnSync(["mkfifo", "-m", "0444", p]).exitCode).toBe(0); }, /image\.env: is a FIFO, not a regular file$/],
    ["a device node (like /dev/zero: reading never ends)", (p) => { expect(Bun.spawnSync(["mknod", "-m", "0444", p, "c", "1", "5"]).exitCode).toBe(0); }, /image\.env: (is a device, not a regular file|cannot open: permission denied)$/],
    ["a symbolic link to a valid root-owned file", (p) => { writeFileSync(`${p}.real`, GOOD_IMAGE, { mode: 0o444 }); symlinkSync(`${p}.real`, p); }, /image\.env: cannot open: is a symbolic link$/],
    ["a symbolic link to /dev/zero", (p) => { symlinkSync("/dev/zero", p); }, /image\.env: cannot open: is a symbolic link$/],
    ["unreadable (mode 000)", (p) => { writeFileSync(p, GOOD_IMAGE); chmodSync(p, 0o000); }, /image\.env: cannot open: permission denied$/],
    ["owned by the user", (p) => { writeFileSync(p, GOOD_IMAGE); chmodSync(p, 0o444); chownSync(p, USER_UID, USER_GID); }, /image\.env: file is owned by uid 10001, not root$/],
    ["group-writable (0664)", (p) => { writeFileSync(p, GOOD_IMAGE); chmodSync(p, 0o664); }, /image\.env: file is writable by group or others \(mode 664\)$/],
    ["world-writable (0666)", (p) => { writeFileSync(p, GOOD_IMAGE); chmodSync(p, 0o666); }, /image\.env: file is writable by group or others \(mode 666\)$/],
    ["missing", () => {}, /image\.env: cannot open: missing$/],
  ];
  for (const [what, make, message] of kinds) {
    test(`C-CONTRACT-2: image.env that is ${what} is refused in bounded time, 78`, async () => {
      const f = fixture();
      addMarkerPlugin(f, "tool");
      const p = join(f.etc, "image.env");
      rmSync(p, { force: true });
      make(p);
      await refusedEverywhere(f, message);
    });
  }

  test("C-CONTRACT-2: tools.env that is a FIFO is refused in bounded time, 78", async () => {
    const f = fixture();
    addMarkerPlugin(f, "tool");
    expect(Bun.spawnSync(["mkfifo", "-m", "0444", join(f.etc, "tools.env")]).exitCode).toBe(0);
    await refusedEverywhere(f, /tools\.env: is a FIFO, not a regular file$/);
  });

  for (const [what, change, message] of [
    ["group-writable (0775)", (d: string) => chmodSync(d, 0o775), /\/etc\/runner: directory is writable by group or others \(mode 775\)$/],
    ["owned by the user", (d: string) => chownSync(d, USER_UID, USER_GID), /\/etc\/runner: directory is owned by uid 10001, not root$/],
  ] as const) {
    test(`C-CONTRACT-2: an /etc/runner that is ${what} is refused, 78`, async () => {
      const f = fixture();
      addMarkerPlugin(f, "tool");
      change(f.etc);
      await refusedEverywhere(f, message);
    });
  }
});
