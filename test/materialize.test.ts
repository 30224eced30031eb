// src/materialize.ts: image.manifest -> /etc/runner/{image,runtime,tools}.env
// (docs/CONTRACT.md, C-MANIFEST-1..4). Unit tests of the pure parts, the CLI
// (run with bun, as in the build stage), and a differential test against sh
// (test/sh-oracle.ts): whatever runner-materialize writes, runner's parser
// and sh read back as the same keys and values.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ADDED_KEYS, HEADER, MaterializeError, formatEnv, formatValue, materialize, ociLabels, parseEpoch,
  rfc3339, routeManifest,
} from "../src/materialize.ts";
import { KEY_PREFIX, parseEnv, type Contract, type EnvFile } from "../src/runner.ts";
import { cleanupSh, sourceWithSh } from "./sh-oracle.ts";
import { prng } from "./prng.ts";

const ROOT = join(import.meta.dir, "..");
const MATERIALIZE = join(ROOT, "src", "materialize.ts");
const enc = (s: string) => new TextEncoder().encode(s);
const env = (...pairs: Array<[string, string]>): EnvFile => new Map(pairs);

const BASE_MANIFEST = `IMAGE_NAME=runner-base
IMAGE_VERSION=9.8.7
IMAGE_DOMAIN=base
IMAGE_ROLE=base
RUNNER_USER=runner
RUNNER_UID=10001
RUNNER_GID=10001
`;
const DOMAIN_MANIFEST = `IMAGE_NAME=runner-ansible
IMAGE_VERSION=1.4.0
IMAGE_DOMAIN=config
IMAGE_ROLE=tool
TOOL_ANSIBLE=2.14.3
`;
const OPTS = { epoch: 1795676184, revision: "0123abc" };
const UNKNOWN_WARNING = "runner-materialize: warning: no revision given: IMAGE_REVISION=unknown (pass the commit, e.g. --build-arg IMAGE_REVISION=$(git rev-parse HEAD))\n";

/** The error materialize() throws, with its exit code and message. */
function failure(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof MaterializeError) return { code: e.exitCode, message: e.message };
    throw e;
  }
  throw new Error("expected a MaterializeError, nothing was thrown");
}

const tmp = mkdtempSync(join(tmpdir(), "runner-materialize-"));
afterAll(() => { rmSync(tmp, { recursive: true, force: true }); cleanupSh(); });

describe("routing", () => {
  test("C-MANIFEST-1: IMAGE_* go to image.env, RUNNER_* to runtime.env, TOOL_* to tools.env, in manifest order", () => {
    const c = routeManifest(env(["TOOL_B", "2"], ["IMAGE_X", "x"], ["RUNNER_Y", "y"], ["TOOL_A", "1"], ["IMAGE_W", "w"]));
    expect([...c.image]).toEqual([["IMAGE_X", "x"], ["IMAGE_W", "w"]]);
    expect([...c.runtime]).toEqual([["RUNNER_Y", "y"]]);
    expect([...c.tools]).toEqual([["TOOL_B", "2"], ["TOOL_A", "1"]]);
  });

  test("C-ENV-10: every key routed into a file is inside that file's runtime namespace, and every key outside all of them fails the build", () => {
    // Materialization and runner share KEY_PREFIX: what the build writes, runner reads.
    const keys = ["IMAGE_A", "RUNNER_B", "TOOL_C", "IMAGE__", "TOOL_1", "IMAGE_", "RUNNER_", "TOOL_", "OPTIND", "UID", "SHELLOPTS", "TOOLS_X", "image_x"];
    for (const key of keys) {
      const kind = (Object.keys(KEY_PREFIX) as Array<keyof typeof KEY_PREFIX>).find((k) => key.startsWith(KEY_PREFIX[k]) && key.length > KEY_PREFIX[k].length);
      let routed: Contract | null = null;
      try { routed = routeManifest(env([key, "1"])); } catch { routed = null; }
      expect({ key, routed: routed !== null }).toEqual({ key, routed: kind !== undefined });
      if (routed && kind) {
        expect(routed[kind].get(key)).toBe("1");
        expect(parseEnv(enc(formatEnv(routed[kind])), KEY_PREFIX[kind]).get(key)).toBe("1");
      }
    }
  });

  for (const key of ["NAME", "image_name", "IMAGE_", "TOOLS", "RUNNERX_UID", "_IMAGE_NAME", "PATH"]) {
    test(`C-MANIFEST-1: a key without a known prefix fails the build: ${key}`, () => {
      const f = failure(() => materialize(enc(`${BASE_MANIFEST}${key}=1\n`), OPTS));
      expect(f.code).toBe(65);
      expect(f.message).toBe(`image.manifest: key '${key}' has no known prefix (IMAGE_* -> image.env, RUNNER_* -> runtime.env, TOOL_* -> tools.env)`);
    });
  }

  test("C-MANIFEST-1: the manifest uses the env grammar of runner: a syntax error names the manifest and the line", () => {
    const cases: Array<[string, string]> = [
      ["IMAGE_DESCRIPTION=two words\n", "image.manifest:8: blank in unquoted value (quote the value)"],
      ["export TOOL_A=1\n", "image.manifest:8: 'export' is not allowed"],
      ['TOOL_A="$HOME"\n', "image.manifest:8: unescaped '$' inside double quotes"],
      ["IMAGE_NAME=again\n", "image.manifest:8: duplicate key 'IMAGE_NAME' (first set on line 1)"],
      ["TOOL_A=1\r\n", "image.manifest:8: carriage return (only LF line endings are allowed)"],
    ];
    for (const [line, message] of cases) {
      expect(failure(() => materialize(enc(`${BASE_MANIFEST}${line}`), OPTS))).toEqual({ code: 65, message });
    }
  });
});

describe("validation and added keys", () => {
  test("C-MANIFEST-2: every required key of C-CONTRACT-3 is required in the manifest", () => {
    const lines = BASE_MANIFEST.trimEnd().split("\n");
    for (const line of lines) {
      const key = line.split("=")[0]!;
      const f = failure(() => materialize(enc(lines.filter((l) => l !== line).join("\n")), OPTS));
      expect(f.code).toBe(65);
      expect(f.message).toContain(`missing required key ${key}`);
    }
  });

  test("C-MANIFEST-2: values are checked with the runtime rules (semver, names, ids)", () => {
    const cases: Array<[string, string, string]> = [
      ["IMAGE_VERSION=9.8.7", "IMAGE_VERSION=0.2", "IMAGE_VERSION '0.2' is not a semantic version"],
      ["IMAGE_NAME=runner-base", "IMAGE_NAME=Runner", "IMAGE_NAME 'Runner' is not a name matching ^[a-z0-9][a-z0-9._-]*$"],
      ["RUNNER_UID=10001", "RUNNER_UID=010001", "RUNNER_UID '010001' is not a decimal id from 1 to 2147483647"],
      ["RUNNER_GID=10001", "RUNNER_GID=0", "RUNNER_GID '0' is not a decimal id from 1 to 2147483647"],
      ["RUNNER_USER=runner", "RUNNER_USER=Runner", "RUNNER_USER 'Runner' is not a user name"],
    ];
    for (const [good, bad, message] of cases) {
      const f = failure(() => materialize(enc(BASE_MANIFEST.replace(good, bad)), OPTS));
      expect(f.code).toBe(65);
      expect(f.message).toEndWith(message);
    }
  });

  test("C-MANIFEST-2: IMAGE_CREATED is RFC 3339 UTC from SOURCE_DATE_EPOCH and IMAGE_REVISION the revision, appended", () => {
    const c = materialize(enc(BASE_MANIFEST), OPTS);
    expect([...c.image.keys()]).toEqual(["IMAGE_NAME", "IMAGE_VERSION", "IMAGE_DOMAIN", "IMAGE_ROLE", "IMAGE_CREATED", "IMAGE_REVISION"]);
    expect(c.image.get("IMAGE_CREATED")).toBe("2026-11-26T06:56:24Z");
    expect(c.image.get("IMAGE_REVISION")).toBe("0123abc");
    expect(rfc3339(0)).toBe("1970-01-01T00:00:00Z");
    expect(rfc3339(253402300799)).toBe("9999-12-31T23:59:59Z");
  });

  test("C-MANIFEST-2: SOURCE_DATE_EPOCH must be a non-negative integer (usage error 64)", () => {
    expect(parseEpoch("0")).toBe(0);
    expect(parseEpoch("1795676184")).toBe(1795676184);
    for (const bad of [undefined, "", "-1", "1.5", "01", " 1", "1 ", "0x10", "1e9", "253402300800", "abc"]) {
      expect(failure(() => parseEpoch(bad)).code).toBe(64);
    }
  });

  test("C-MANIFEST-2: the keys materialization adds may not be set in the manifest", () => {
    for (const key of ADDED_KEYS) {
      const f = failure(() => materialize(enc(`${BASE_MANIFEST}${key}=x\n`), OPTS));
      expect(f).toEqual({ code: 65, message: `image.manifest: key '${key}' is set by materialization and may not be in the manifest` });
    }
  });

  test("C-MANIFEST-2: a revision that is not a plain word is refused", () => {
    for (const bad of ["", "a b", "-x", "a\nb", "$(id)", "x".repeat(129)]) {
      expect(failure(() => materialize(enc(BASE_MANIFEST), { ...OPTS, revision: bad })).code).toBe(64);
    }
  });
});

describe("canonical output", () => {
  test("C-MANIFEST-3: a value is bare when safe, else single-quoted, else double-quoted with escapes", () => {
    expect(formatValue("")).toBe("");
    expect(formatValue("runner-base")).toBe("runner-base");
    expect(formatValue("https://x.example/a,b=c@d%e+f:g")).toBe("https://x.example/a,b=c@d%e+f:g");
    expect(formatValue("two words")).toBe("'two words'");
    expect(formatValue('say "$HOME" `x` \\n')).toBe(`'say "$HOME" \`x\` \\n'`);
    expect(formatValue("it's")).toBe(`"it's"`);
    expect(formatValue(`it's "$x" \`y\` \\`)).toBe(`"it's \\"\\$x\\" \\\`y\\\` \\\\"`);
    expect(formatValue("~root")).toBe("'~root'");
    expect(formatValue("#x")).toBe("'#x'");
  });

  test("C-MANIFEST-3: the unquoted character set is exactly the one the parser of runner accepts unquoted", () => {
    for (let c = 0x20; c < 0x7f; c++) {
      const ch = String.fromCharCode(c);
      let parserTakesIt = true;
      try { parseEnv(enc(`K=a${ch}b`)); } catch { parserTakesIt = false; }
      const bare = formatValue(`a${ch}b`) === `a${ch}b`;
      expect({ ch, bare }).toEqual({ ch, bare: parserTakesIt });
    }
  });

  test("C-MANIFEST-3: the files are byte-exact: one generated-file header, manifest order, quotes only where needed", () => {
    const c = materialize(enc(`${BASE_MANIFEST}IMAGE_DESCRIPTION='Base image, for "tools"'\nTOOL_X=1.0\nTOOL_Y=\n`), OPTS);
    expect(formatEnv(c.image)).toBe(`${HEADER}
IMAGE_NAME=runner-base
IMAGE_VERSION=9.8.7
IMAGE_DOMAIN=base
IMAGE_ROLE=base
IMAGE_DESCRIPTION='Base image, for "tools"'
IMAGE_CREATED=2026-11-26T06:56:24Z
IMAGE_REVISION=0123abc
`);
    expect(formatEnv(c.runtime)).toBe(`${HEADER}\nRUNNER_USER=runner\nRUNNER_UID=10001\nRUNNER_GID=10001\n`);
    expect(formatEnv(c.tools)).toBe(`${HEADER}\nTOOL_X=1.0\nTOOL_Y=\n`);
    expect(HEADER).toMatch(/^# Generated by runner-materialize .*do not edit\.$/);
    expect(HEADER).not.toContain("\n");
  });

  test("C-MANIFEST-3: the same manifest and inputs give the same bytes (no time, no environment)", () => {
    const text = `${BASE_MANIFEST}IMAGE_DESCRIPTION="it's"\nTOOL_A='a b'\n`;
    const a = materialize(enc(text), OPTS);
    const b = materialize(enc(text), OPTS);
    for (const k of ["image", "runtime", "tools"] as const) expect(formatEnv(a[k])).toBe(formatEnv(b[k]));
  });

  test("C-MANIFEST-3: differential: 400 generated manifests mean the same to the parser of runner and to sh", () => {
    // Values over an alphabet that exercises every quoting path: the safe set,
    // blanks, both quotes, sh's special characters, backslashes, non-ASCII.
    const alphabet = [..."aZ09_@%+=:,./-", " ", "\t", "'", '"', "\\", "$", "`", "#", "!", "*", "?", "~", "&", ";", "|", "<", ">", "(", ")", "{", "}", "[", "]", "é", "日", "😀"];
    const rand = prng(42).int; // seeded, so a failure reproduces
    for (let i = 0; i < 400; i++) {
      const values: Array<[string, string]> = [];
      for (let k = 0; k < 1 + rand(6); k++) {
        let v = "";
        for (let j = rand(12); j > 0; j--) v += alphabet[rand(alphabet.length)];
        values.push([`TOOL_V${k}`, v]);
      }
      const text = formatEnv(new Map(values));
      const expected = new Map(values);
      expect({ i, text, parsed: parseEnv(enc(text)) }).toEqual({ i, text, parsed: expected });
      expect({ i, text, sh: sourceWithSh(text) }).toEqual({ i, text, sh: expected });
    }
  });

  test("C-MANIFEST-3: the image.manifest of the repository materializes to files runner and sh read the same", () => {
    const c = materialize(readFileSync(join(ROOT, "image.manifest")), OPTS);
    for (const kind of ["image", "runtime", "tools"] as const) {
      const text = formatEnv(c[kind]);
      expect(parseEnv(enc(text))).toEqual(c[kind]);
      expect(sourceWithSh(text)).toEqual(c[kind]);
    }
    expect(c.image.get("IMAGE_NAME")).toBe("runner-base");
    expect(c.runtime.get("RUNNER_UID")).toBe("10001");
  });
});

describe("--base: additive materialization", () => {
  const base = (): Contract => {
    const c = materialize(enc(`${BASE_MANIFEST}RUNNER_HOME=/home/runner\nTOOL_JQ=1.6\n`), OPTS);
    return c;
  };

  test("C-MANIFEST-4: the identity of the base is kept as IMAGE_BASE_NAME / IMAGE_BASE_VERSION, the domain keeps its own", () => {
    const c = materialize(enc(DOMAIN_MANIFEST), { ...OPTS, base: base() });
    expect([...c.image]).toEqual([
      ["IMAGE_NAME", "runner-ansible"], ["IMAGE_VERSION", "1.4.0"], ["IMAGE_DOMAIN", "config"], ["IMAGE_ROLE", "tool"],
      ["IMAGE_BASE_NAME", "runner-base"], ["IMAGE_BASE_VERSION", "9.8.7"],
      ["IMAGE_CREATED", "2026-11-26T06:56:24Z"], ["IMAGE_REVISION", "0123abc"],
    ]);
  });

  test("C-MANIFEST-4: runtime keys are inherited; restating one unchanged is allowed, new ones are added", () => {
    const c = materialize(enc(`${DOMAIN_MANIFEST}RUNNER_UID=10001\nRUNNER_CACHE=/workspace/.cache\n`), { ...OPTS, base: base() });
    expect([...c.runtime]).toEqual([
      ["RUNNER_USER", "runner"], ["RUNNER_UID", "10001"], ["RUNNER_GID", "10001"], ["RUNNER_HOME", "/home/runner"],
      ["RUNNER_CACHE", "/workspace/.cache"],
    ]);
  });

  test("C-MANIFEST-4: changing an inherited runtime key fails the build", () => {
    const f = failure(() => materialize(enc(`${DOMAIN_MANIFEST}RUNNER_UID=0\n`), { ...OPTS, base: base() }));
    expect(f).toEqual({ code: 65, message: "image.manifest: RUNNER_UID is inherited from the base as '10001' and may not be changed to '0'" });
  });

  test("C-MANIFEST-4: base tools are kept, first, and the domain tools follow in manifest order", () => {
    const c = materialize(enc(`${DOMAIN_MANIFEST}TOOL_PYTHON=3.11\n`), { ...OPTS, base: base() });
    expect([...c.tools]).toEqual([["TOOL_JQ", "1.6"], ["TOOL_ANSIBLE", "2.14.3"], ["TOOL_PYTHON", "3.11"]]);
  });

  test("C-MANIFEST-4: redefining a base tool fails the build, even with the same value", () => {
    for (const value of ["1.7", "1.6"]) {
      const f = failure(() => materialize(enc(`${DOMAIN_MANIFEST}TOOL_JQ=${value}\n`), { ...OPTS, base: base() }));
      expect(f).toEqual({ code: 65, message: "image.manifest: TOOL_JQ is a tool of the base image (runner-base) and may not be redefined" });
    }
  });

  test("C-MANIFEST-4: the domain manifest still needs its own required IMAGE_* keys", () => {
    const f = failure(() => materialize(enc(DOMAIN_MANIFEST.replace("IMAGE_ROLE=tool\n", "")), { ...OPTS, base: base() }));
    expect(f.code).toBe(65);
    expect(f.message).toContain("missing required key IMAGE_ROLE");
  });
});

describe("runner-materialize command", () => {
  let n = 0;
  const cli = (args: string[], o: { epoch?: string | null; manifest?: string } = {}) => {
    const dir = join(tmp, `c${++n}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "image.manifest"), o.manifest ?? BASE_MANIFEST);
    const e: Record<string, string> = { PATH: "/usr/bin:/bin" };
    if (o.epoch !== null) e.SOURCE_DATE_EPOCH = o.epoch ?? "1795676184";
    const r = Bun.spawnSync([process.execPath, MATERIALIZE, ...args], { cwd: dir, env: e, stdout: "pipe", stderr: "pipe" });
    return { dir, code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  };
  const oneLine = (stderr: string) => {
    expect(stderr.endsWith("\n")).toBe(true);
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(stderr).toStartWith("runner-materialize: ");
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  test("C-MANIFEST-2: writes image.env, runtime.env and tools.env (0444) into --out (0555), revision default unknown", () => {
    const r = cli(["--out", "out", "image.manifest"]);
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 0, stderr: UNKNOWN_WARNING, stdout: "" });
    const out = join(r.dir, "out");
    expect(statSync(out).mode & 0o7777).toBe(0o555);
    for (const f of ["image.env", "runtime.env", "tools.env"]) expect(statSync(join(out, f)).mode & 0o7777).toBe(0o444);
    const image = parseEnv(readFileSync(join(out, "image.env")));
    expect(image.get("IMAGE_REVISION")).toBe("unknown");
    expect(image.get("IMAGE_CREATED")).toBe("2026-11-26T06:56:24Z");
    expect(readFileSync(join(out, "tools.env"), "utf8")).toBe(`${HEADER}\n`);
  });

  test("C-MANIFEST-2: an empty --revision (an unset build argument, no git checkout) is unknown with a warning, not a usage error", () => {
    for (const args of [["--revision", "", "--out", "out", "image.manifest"], ["--out", "out", "--revision", "unknown", "image.manifest"]]) {
      const r = cli(args);
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 0, stderr: UNKNOWN_WARNING, stdout: "" });
      expect(parseEnv(readFileSync(join(r.dir, "out", "image.env"))).get("IMAGE_REVISION")).toBe("unknown");
    }
    const missing = cli(["--out", "out", "image.manifest", "--revision"]);
    expect(missing.code).toBe(64);
    oneLine(missing.stderr);
    expect(missing.stderr).toStartWith("runner-materialize: --revision needs a value");
  });

  test("C-IMAGE-3: --label values equal to the materialized identity pass; a difference fails (65) naming the label, both values and the build argument", () => {
    const p = "org.opencontainers.image";
    const good = [`${p}.title=runner-base`, `${p}.version=9.8.7`, `${p}.revision=r1`, `${p}.created=2026-11-26T06:56:24Z`,
      `${p}.source=`, `${p}.description=`, `${p}.licenses=`, `${p}.base.name=localhost/anything:latest`];
    const ok = cli(["--out", "out", "--revision", "r1", ...good.flatMap((l) => ["--label", l]), "image.manifest"]);
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
    const cases: Array<[string[], number, string]> = [
      [["--label", `${p}.version=1.0.0`], 65, `runner-materialize: label ${p}.version is '1.0.0' but image.manifest has IMAGE_VERSION=9.8.7: set the build argument IMAGE_VERSION to '9.8.7' (ARG default or --build-arg)\n`],
      [["--label", `${p}.title=runner-base-x`], 65, `runner-materialize: label ${p}.title is 'runner-base-x' but image.manifest has IMAGE_NAME=runner-base: set the build argument IMAGE_NAME to 'runner-base' (ARG default or --build-arg)\n`],
      [["--label", `${p}.created=1970-01-01T00:00:00Z`], 65, `runner-materialize: label ${p}.created is '1970-01-01T00:00:00Z' but SOURCE_DATE_EPOCH=1795676184 is 2026-11-26T06:56:24Z: set the build argument IMAGE_CREATED to '2026-11-26T06:56:24Z' (ARG default or --build-arg)\n`],
      [["--label", `${p}.revision=`], 65, `runner-materialize: label ${p}.revision is '' but the revision is 'r1': set the build argument IMAGE_REVISION to 'r1' (ARG default or --build-arg)\n`],
      [["--label", "com.example.team=x"], 64, "runner-materialize: --label com.example.team: not a label runner-materialize can check"],
      [["--label", "=x"], 64, "runner-materialize: --label '=x' is not KEY=VALUE\n"],
    ];
    for (const [extra, code, text] of cases) {
      const r = cli(["--out", "out", "--revision", "r1", ...extra, "image.manifest"]);
      expect({ code: r.code, starts: r.stderr.startsWith(text) }).toEqual({ code, starts: true });
      oneLine(r.stderr);
      expect(existsSync(join(r.dir, "out"))).toBe(false);
    }
  });

  test("C-MANIFEST-4: --base DIR reads the files of the base and is additive; running it twice gives the same bytes", () => {
    const b = cli(["--out", "base", "--revision", "r1", "image.manifest"], { manifest: `${BASE_MANIFEST}TOOL_JQ=1.6\n` });
    expect(b.code).toBe(0);
    const runs = [1, 2].map(() => {
      const r = cli(["--base", join(b.dir, "base"), "--out", "out", "--revision", "r2", "image.manifest"], { manifest: DOMAIN_MANIFEST });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      return ["image.env", "runtime.env", "tools.env"].map((f) => readFileSync(join(r.dir, "out", f), "utf8"));
    });
    expect(runs[0]).toEqual(runs[1]!);
    const [image, runtime, tools] = runs[0]!.map((t) => parseEnv(enc(t)));
    expect(image!.get("IMAGE_BASE_NAME")).toBe("runner-base");
    expect(image!.get("IMAGE_REVISION")).toBe("r2");
    expect(runtime!.get("RUNNER_UID")).toBe("10001");
    expect([...tools!.keys()]).toEqual(["TOOL_JQ", "TOOL_ANSIBLE"]);
  });

  test("C-MANIFEST-4: a redefined base tool exits 65 with one line", () => {
    const b = cli(["--out", "base", "image.manifest"], { manifest: `${BASE_MANIFEST}TOOL_JQ=1.6\n` });
    const r = cli(["--base", join(b.dir, "base"), "--out", "out", "image.manifest"], { manifest: `${DOMAIN_MANIFEST}TOOL_JQ=1.7\n` });
    expect(r.code).toBe(65);
    oneLine(r.stderr);
    expect(r.stderr).toBe("runner-materialize: image.manifest: TOOL_JQ is a tool of the base image (runner-base) and may not be redefined\n");
  });

  test("C-MANIFEST-2: a bad manifest exits 65, a usage error 64, a missing input 66, each with one line", () => {
    const cases: Array<[ReturnType<typeof cli>, number, string]> = [
      [cli(["--out", "out", "image.manifest"], { manifest: "IMAGE_NAME=x\nOTHER=1\n" }), 65, "key 'OTHER' has no known prefix"],
      [cli(["--out", "out", "image.manifest"], { manifest: "IMAGE_NAME='x\n" }), 65, "image.manifest:1: unterminated single quote"],
      [cli(["image.manifest"]), 64, "--out DIR is required"],
      [cli(["--out", "out"]), 64, "expected one MANIFEST, got 0"],
      [cli(["--out", "out", "--frobnicate", "image.manifest"]), 64, "unknown option '--frobnicate'"],
      [cli(["--out", "out", "image.manifest"], { epoch: null }), 64, "SOURCE_DATE_EPOCH is not set"],
      [cli(["--out", "out", "image.manifest"], { epoch: "-5" }), 64, "SOURCE_DATE_EPOCH '-5' is not a non-negative integer"],
      [cli(["--out", "out", "--revision", "a b", "image.manifest"]), 64, "--revision 'a b' must match"],
      [cli(["--out", "out", "missing.manifest"]), 66, "missing.manifest: cannot read: ENOENT"],
      [cli(["--base", "/nonexistent", "--out", "out", "image.manifest"]), 66, "/nonexistent/image.env: cannot read: ENOENT"],
    ];
    for (const [r, code, text] of cases) {
      expect({ code: r.code, has: r.stderr.includes(text), stderr: r.stderr }).toEqual({ code, has: true, stderr: r.stderr });
      oneLine(r.stderr);
      expect(r.stdout).toBe("");
    }
  });

  test("C-MANIFEST-4: an invalid base contract is a data error naming the base file", () => {
    const b = cli(["--out", "base", "image.manifest"]);
    const bad = join(b.dir, "bad");
    mkdirSync(bad);
    writeFileSync(join(bad, "image.env"), "IMAGE_NAME=x\n");
    writeFileSync(join(bad, "runtime.env"), readFileSync(join(b.dir, "base", "runtime.env")));
    const r = cli(["--base", bad, "--out", "out", "image.manifest"], { manifest: DOMAIN_MANIFEST });
    expect(r.code).toBe(65);
    oneLine(r.stderr);
    expect(r.stderr).toStartWith(`runner-materialize: ${join(bad, "image.env")}: missing required key IMAGE_VERSION`);
  });

  test("C-MANIFEST-3: --out must be empty or hold only the contract files", () => {
    const r0 = cli(["--out", "out", "image.manifest"]);
    expect(r0.code).toBe(0);
    const dir = join(r0.dir, "out2");
    mkdirSync(dir);
    writeFileSync(join(dir, "image.manifest"), "");
    const r = Bun.spawnSync([process.execPath, MATERIALIZE, "--out", dir, join(r0.dir, "image.manifest")], { env: { SOURCE_DATE_EPOCH: "0" }, stderr: "pipe" });
    expect(r.exitCode).toBe(73);
    expect(r.stderr.toString()).toBe(`runner-materialize: ${dir}: holds 'image.manifest'; --out must be empty or hold only the contract files\n`);
  });
});

describe("labels", () => {
  test("C-MANIFEST-2: ociLabels maps the materialized identity to the OCI annotations in a fixed order", () => {
    const c = materialize(enc(`${BASE_MANIFEST}IMAGE_SOURCE=https://x.example/r\nIMAGE_DESCRIPTION='d e'\nIMAGE_LICENSES=Apache-2.0\n`), OPTS);
    expect(ociLabels(c.image, "docker.io/library/debian:bookworm-slim")).toEqual([
      ["org.opencontainers.image.title", "runner-base"],
      ["org.opencontainers.image.version", "9.8.7"],
      ["org.opencontainers.image.revision", "0123abc"],
      ["org.opencontainers.image.created", "2026-11-26T06:56:24Z"],
      ["org.opencontainers.image.source", "https://x.example/r"],
      ["org.opencontainers.image.description", "d e"],
      ["org.opencontainers.image.base.name", "docker.io/library/debian:bookworm-slim"],
      ["org.opencontainers.image.licenses", "Apache-2.0"],
    ]);
  });

  test("C-MANIFEST-1: src/runner.ts never imports materialize (the runtime never sees the manifest)", () => {
    const src = readFileSync(join(ROOT, "src", "runner.ts"), "utf8");
    expect(src).not.toMatch(/(from|import|require)\s*\(?\s*["'][^"']*materialize/);
    expect(src).not.toMatch(/["'`][^"'`\n]*image\.manifest["'`]/);
  });
});
