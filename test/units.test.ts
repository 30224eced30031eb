// Unit tests of the pure parts besides the env parser: name and id rules,
// required contract keys, and the dispatch decision.
import { describe, expect, test } from "bun:test";
import {
  CORE_COMMANDS, bunEnvironmentProblem, contractProblems, decide, escapeText, isValidId, isValidPluginName, quoteWord, rawInputProblem, showBytes,
} from "../src/runner.ts";

const env = (text: string) => new Map(text.trim().split("\n").map((l) => l.split("=", 2) as [string, string]));

describe("C-PLUGIN-1: plugin names", () => {
  for (const ok of ["a", "0", "terraform", "ansible-playbook", "a_b", "x".repeat(64), "9lives"]) {
    test(`C-PLUGIN-1: '${ok.length > 10 ? `${ok.length} chars` : ok}' is valid`, () => expect(isValidPluginName(ok)).toBe(true));
  }
  for (const bad of ["", "x".repeat(65), "-a", "_a", "A", "aB", "a.b", ".", "..", "a/b", "a b", "é", "а" /* Cyrillic a */, "a\n", "a\0"]) {
    test(`C-PLUGIN-1: ${JSON.stringify(bad.length > 10 ? `${bad.length} chars` : bad)} is invalid`, () => expect(isValidPluginName(bad)).toBe(false));
  }
});

describe("C-CONTRACT-3: required keys and formats", () => {
  const image = "IMAGE_NAME=runner-base\nIMAGE_VERSION=9.8.7\nIMAGE_DOMAIN=base\nIMAGE_ROLE=base";
  const runtime = "RUNNER_USER=runner\nRUNNER_UID=10001\nRUNNER_GID=10001";
  test("C-CONTRACT-3: a valid image.env and runtime.env have no problems", () => {
    expect(contractProblems("image", env(image))).toEqual([]);
    expect(contractProblems("runtime", env(runtime))).toEqual([]);
  });
  test("C-CONTRACT-3: every missing key is named", () => {
    expect(contractProblems("image", new Map())).toEqual(["IMAGE_NAME", "IMAGE_VERSION", "IMAGE_DOMAIN", "IMAGE_ROLE"].map((k) => `missing required key ${k}`));
    expect(contractProblems("runtime", new Map())).toEqual(["RUNNER_USER", "RUNNER_UID", "RUNNER_GID"].map((k) => `missing required key ${k}`));
  });
  for (const v of ["0.2", "v0.2.0", "01.2.3", "1.2.3-", "1.2.3+", "1.2.3-a..b", ""]) {
    test(`C-CONTRACT-3: IMAGE_VERSION '${v}' is not semver`, () => {
      expect(contractProblems("image", env(image.replace("9.8.7", v)))).toEqual([`IMAGE_VERSION '${v}' is not a semantic version`]);
    });
  }
  for (const v of ["0.0.0", "1.2.3-rc.1", "1.2.3+build.5", "10.20.30-alpha-1+x.y"]) {
    test(`C-CONTRACT-3: IMAGE_VERSION '${v}' is semver`, () => expect(contractProblems("image", env(image.replace("9.8.7", v)))).toEqual([]));
  }
  for (const v of ["Runner", "-x", "a b", "", "ä"]) {
    test(`C-CONTRACT-3: IMAGE_NAME '${v}' is refused`, () => {
      expect(contractProblems("image", env(image.replace("runner-base", v)))).toEqual([`IMAGE_NAME '${v}' is not a name matching ^[a-z0-9][a-z0-9._-]*$`]);
    });
  }
  for (const v of ["0", "-1", "+5", "010", "1e3", "0x10", " 1", "2147483648", "99999999999", "1.0", ""]) {
    test(`C-CONTRACT-3: id '${v}' is refused`, () => expect(isValidId(v)).toBe(false));
  }
  for (const v of ["1", "10001", "2147483647"]) {
    test(`C-CONTRACT-3: id '${v}' is accepted`, () => expect(isValidId(v)).toBe(true));
  }
  test("C-CONTRACT-3: a bad RUNNER_USER and RUNNER_GID are both named", () => {
    expect(contractProblems("runtime", env(runtime.replace("runner", "Root User").replace("GID=10001", "GID=0")))).toEqual([
      "RUNNER_USER 'Root User' is not a user name",
      "RUNNER_GID '0' is not a decimal id from 1 to 2147483647",
    ]);
  });
  test("C-CONTRACT-3: other keys are allowed", () => {
    expect(contractProblems("image", env(`${image}\nIMAGE_DESCRIPTION=x\nFOO=bar`))).toEqual([]);
  });
});

describe("dispatch decision (pure)", () => {
  const none = () => false;
  const all = () => true;
  test("C-ARGS-1: no argument is a usage error", () => expect(decide([], all)).toEqual({ kind: "usage", message: "no command given" }));
  test("C-ARGS-2: -h, --help and --version map to core commands", () => {
    expect(decide(["-h"], all)).toEqual({ kind: "core", command: "help", args: [] });
    expect(decide(["--help", "info"], all)).toEqual({ kind: "core", command: "help", args: ["info"] });
    expect(decide(["--version"], all)).toEqual({ kind: "core", command: "version", args: [] });
  });
  test("C-ARGS-3: other options are usage errors", () => {
    for (const a of ["-v", "--json", "-", "--", "--help=x", "-hv"]) expect(decide([a], all).kind).toBe("usage");
  });
  test("C-DISPATCH-1: core commands win over plugins and never consult runner.d", () => {
    for (const c of CORE_COMMANDS) {
      const asked: string[] = [];
      expect(decide([c, "x"], (n) => { asked.push(n); return true; })).toEqual({ kind: "core", command: c, args: ["x"] });
      expect(asked).toEqual([]);
    }
  });
  test("C-DISPATCH-2: a valid name with an entry is a plugin, with its arguments untouched", () => {
    expect(decide(["terraform", "--help", "", "a b"], all)).toEqual({ kind: "plugin", name: "terraform", args: ["--help", "", "a b"] });
  });
  test("C-DISPATCH-3: a valid name without an entry is unknown", () => expect(decide(["terraform"], none)).toEqual({ kind: "unknown", name: "terraform" }));
  test("C-DISPATCH-3: an invalid name is unknown and runner.d is not consulted", () => {
    for (const n of ["Help", "../bin/sh", "/bin/sh", "sh -c id", "a".repeat(65)]) {
      let asked = false;
      expect(decide([n], () => { asked = true; return true; }).kind).toBe("unknown");
      expect(asked).toBe(false);
    }
  });
  test("C-DISPATCH-4: only the one name is looked up", () => {
    const asked: string[] = [];
    decide(["kubectl", "get", "pods"], (n) => { asked.push(n); return true; });
    expect(asked).toEqual(["kubectl"]);
  });
});

describe("C-OUT-5: escaping for people", () => {
  test("C-OUT-5: every Cc, Cf, Zl, Zp character is escaped, the backslash doubled, everything else kept", () => {
    for (const c of ["\u0000", "\u001b", "\u007f", "\u009b", "\u200b", "\u200e", "\u200f", "\u061c", "\u202a", "\u202e", "\u2066", "\u2069", "\ufeff", "\u2028", "\u2029", "\u00ad"]) {
      expect(escapeText(`a${c}b`)).toBe(`a\\u{${c.codePointAt(0)!.toString(16)}}b`);
      expect(quoteWord(c)).not.toContain(c);
    }
    expect(escapeText("a\\b")).toBe("a\\\\b");
    expect(escapeText("é✓日🙂 ~")).toBe("é✓日🙂 ~");
  });
  test("C-OUT-5: showBytes maps back to bytes: UTF-8 as text, other bytes as \\x{hh}", () => {
    expect(showBytes(Buffer.from([0x7a, 0xff]))).toBe("z\\x{ff}");
    expect(showBytes(Buffer.from("z\\x{ff}"))).toBe("z\\\\x{ff}");
    expect(showBytes(Buffer.from("a\u202eb"))).toBe("a\\u{202e}b");
  });
});

describe("C-BUNOPT-2, C-BUNOPT-3, C-PLUGIN-10: the raw environment", () => {
  const environ = (...entries: string[]) => Buffer.from(entries.map((e) => `${e}\0`).join(""));
  test("C-BUNOPT-2: any non-empty BUN_OPTIONS entry counts, wherever it is", () => {
    expect(bunEnvironmentProblem(environ("A=1", "BUN_OPTIONS=--smol", "BUN_OPTIONS="))).toMatch(/^BUN_OPTIONS is set/);
    expect(bunEnvironmentProblem(environ("BUN_OPTIONS=", "BUN_OPTIONS="))).toBeNull();
    expect(bunEnvironmentProblem(environ("XBUN_OPTIONS=1", "A=BUN_OPTIONS=1"))).toBeNull();
  });
  test("C-BUNOPT-3: any BUN_INSPECT* name, even empty or without '='", () => {
    for (const e of ["BUN_INSPECT=", "BUN_INSPECT=ws://0.0.0.0:6499/x?wait=1", "BUN_INSPECT_CONNECT_TO=x", "BUN_INSPECT"]) {
      expect(bunEnvironmentProblem(environ("A=1", e))).toMatch(/^BUN_INSPECT\w* is set; it opens a debugger/);
    }
  });
  test("C-PLUGIN-10: duplicates, entries without '=' and empty names are refused; a clean environment passes", () => {
    const cmd = Buffer.from("runner\0tool\0");
    expect(rawInputProblem(cmd, environ("A=1", "B=2", "A=1"))).toEqual([78, "environment variable 'A' is set more than once; runner cannot pass such an environment on unchanged"]);
    expect(rawInputProblem(cmd, environ("A=1", "NOEQ"))?.[1]).toMatch(/^environment entry 2 \('NOEQ'\) has no '='/);
    expect(rawInputProblem(cmd, environ("=x"))?.[1]).toMatch(/^environment entry 1 has an empty name/);
    expect(rawInputProblem(cmd, environ("A=", "B==", "C=a=b"))).toBeNull();
  });
});

describe("C-OUT-5: contract values in error messages", () => {
  test("C-OUT-5: a required key's invalid value is shown escaped, never raw", () => {
    const problems = contractProblems("image", new Map([["IMAGE_NAME", "a\u202eb\u001b[2J"], ["IMAGE_VERSION", "1.0.0"], ["IMAGE_DOMAIN", "d"], ["IMAGE_ROLE", "r"]]));
    expect(problems).toEqual(["IMAGE_NAME 'a\\u{202e}b\\u{1b}[2J' is not a name matching ^[a-z0-9][a-z0-9._-]*$"]);
  });
});
