// The dispatch path's fast paths agree with the rules they stand in for
// (issue 12). runner checks names, ids and versions by character codes and
// parses the usual contract file with a loop over character codes, because a
// first RegExp or the general parser's first run costs more than the whole
// check (docs/PERFORMANCE.md). Each fast path is compared here with the rule
// itself over seeded random input built to sit on the rules' edges:
//   - isValidPluginName, isIdentityName, isUserName, isValidId, isSemver
//     against the regular expressions of docs/CONTRACT.md;
//   - isValidUtf8 (a lossy decode, the strict one only after a U+FFFD)
//     against the strict decoder, over random bytes;
//   - environmentShapeOk (the environment as text) against rawInputProblem
//     (its bytes): "nothing to refuse" exactly when rawInputProblem finds nothing;
//   - parseEnvFast against parseEnv: wherever the fast parser answers, the
//     answer is parseEnv's (same keys, same order, same values); where parseEnv
//     refuses a file, the fast parser must not answer; and it does answer for
//     the plain files that images carry (else it would be dead code).
// FASTPATH_CASES (default 20000) and FASTPATH_SEED allow long runs.
import { describe, expect, test } from "bun:test";
import {
  environmentShapeOk, isIdentityName, isSemver, isUserName, isValidId, isValidUtf8, rawInputProblem, isValidPluginName, KEY_PREFIX, parseEnv, parseEnvFast,
  PLUGIN_NAME_RULE, SEMVER,
} from "../src/runner.ts";
import { prng, type Rng } from "./prng.ts";

const CASES = Number(process.env.FASTPATH_CASES ?? 20000);
const SEED = Number(process.env.FASTPATH_SEED ?? 0xfa57);

/** A random string over an alphabet, length 0..max, often near the rules' edges. */
function word(r: Rng, alphabet: string, max: number): string {
  const n = r.int(4) === 0 ? r.int(3) : r.int(max + 1);
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[r.int(alphabet.length)];
  return s;
}

/** Mostly version-shaped strings: numbers (some with leading zeros), dots, pre-release and build parts. */
function versionish(r: Rng): string {
  if (r.int(4) === 0) return word(r, "0123456789..-+aZ", 14);
  const num = () => (r.int(6) === 0 ? "0" + word(r, "0123456789", 2) : String(r.int(r.int(2) ? 10 : 100000)));
  let v = [num(), num(), num()].slice(0, r.int(8) === 0 ? 2 + r.int(2) : 3).join(".");
  if (r.int(8) === 0) v += `.${num()}`;
  if (r.int(3) === 0) v += `-${word(r, "0123456789azAZ-.", 6)}`;
  if (r.int(4) === 0) v += `+${word(r, "0123456789azAZ-.", 6)}`;
  return v;
}

describe("fast checks agree with their rules", () => {
  const cases: Array<[string, (v: string) => boolean, RegExp | ((v: string) => boolean), string, number, ((r: Rng) => string)?]> = [
    ["isValidPluginName", isValidPluginName, new RegExp(PLUGIN_NAME_RULE), "az09_-A.\u00e9/ ", 70],
    ["isIdentityName", isIdentityName, /^[a-z0-9][a-z0-9._-]*$/, "az09._-A/ \u00e9", 12],
    ["isUserName", isUserName, /^[a-z_][a-z0-9_-]{0,31}$/, "az_09-A.", 36],
    ["isValidId", isValidId, (v) => /^[1-9][0-9]{0,9}$/.test(v) && Number(v) <= 2147483647, "0123456789-+ a", 12],
    ["isSemver", isSemver, SEMVER, "", 0, versionish],
  ];
  for (const [name, fast, rule, alphabet, max, generate] of cases) {
    test(`${name} equals its rule over ${CASES} random strings (seed ${SEED})`, () => {
      const r = prng(SEED);
      const check = typeof rule === "function" ? rule : (v: string) => rule.test(v);
      let accepted = 0;
      for (let i = 0; i < CASES; i++) {
        const v = generate ? generate(r) : word(r, alphabet, max);
        const want = check(v);
        if (fast(v) !== want) throw new Error(`${name}(${JSON.stringify(v)}) is ${fast(v)}, the rule says ${want}`);
        if (want) accepted++;
      }
      expect(accepted).toBeGreaterThan(CASES / 100); // the generator reaches both answers
    });
  }
  test(`isValidUtf8 equals a fatal TextDecoder over ${CASES} random byte strings (seed ${SEED})`, () => {
    const r = prng(SEED + 2);
    const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    // Bytes that make and break UTF-8: ASCII, NUL, continuation bytes, lead
    // bytes of every length, overlong and surrogate encodings, EF BF BD (U+FFFD).
    const pool = [0x41, 0x00, 0x3d, 0x80, 0xbf, 0xc0, 0xc2, 0xc3, 0xdf, 0xe0, 0xed, 0xef, 0xbd, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f];
    let valid = 0;
    for (let i = 0; i < CASES; i++) {
      const n = r.int(12);
      const bytes = Buffer.alloc(n);
      for (let k = 0; k < n; k++) bytes[k] = r.int(4) === 0 ? r.int(256) : pool[r.int(pool.length)]!;
      if (r.int(10) === 0) bytes.set([0xef, 0xbf, 0xbd].slice(0, Math.min(3, n)), 0);
      let want = true;
      try { strict.decode(bytes); } catch { want = false; }
      if (isValidUtf8(bytes) !== want) throw new Error(`isValidUtf8(${bytes.toString("hex")}) is ${!want}, the decoder says ${want}`);
      if (want) valid++;
    }
    expect(valid).toBeGreaterThan(CASES / 20);
    expect(valid).toBeLessThan(CASES - CASES / 20);
  });

  test("edge values", () => {
    for (const v of ["0.0.0", "1.2.3", "10.20.30", "1.2.3-rc.1", "1.2.3+b.5", "1.2.3-rc.1+b"]) expect(isSemver(v)).toBe(true);
    for (const v of ["", "1", "1.2", "01.2.3", "1.02.3", "1.2.03", "1.2.3.4", "1..3", ".1.2", "1.2.3-", "v1.2.3"]) expect(isSemver(v)).toBe(false);
    expect(isValidId("2147483647")).toBe(true);
    expect(isValidId("2147483648")).toBe(false);
    expect(isValidPluginName("a".repeat(64))).toBe(true);
    expect(isValidPluginName("a".repeat(65))).toBe(false);
  });
});

// Lines that are valid for the fast parser, lines only parseEnv accepts, and
// broken ones; mixed at random into files.
const KEY_CHARS = "ABCXYZ_abz019";
const BARE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-";
const ODD = " \t#'\"\\$`\r\0\u0001\u007f\u0085\u00e9\ufeff\u202e\n=";
function line(r: Rng, prefix: string): string {
  const key = () => (r.int(5) === 0 ? word(r, KEY_CHARS, 6) : prefix + word(r, KEY_CHARS, 6));
  switch (r.int(12)) {
    case 0: return "";
    case 1: return `#${word(r, BARE + " \t'\"", 20)}`;
    case 2: return `${key()}=${word(r, BARE, 12)}`;
    case 3: return `${key()}='${word(r, BARE + " \t#$\"`\\", 12)}'`;
    case 4: return `${key()}="${word(r, BARE + " '\\$`", 12)}"`;
    case 5: return `${key()}=${word(r, BARE + ODD, 8)}`;
    case 6: return `${key()}='${word(r, BARE + ODD, 8)}'${r.int(3) === 0 ? word(r, ODD, 2) : ""}`;
    case 7: return `${word(r, ODD + KEY_CHARS, 3)}${key()}=${word(r, BARE, 4)}`;
    case 8: return `#${word(r, ODD + BARE, 10)}`;
    case 9: return `${prefix}A=x`; // a likely duplicate
    case 10: return `export ${key()}=1`;
    default: return `${key()}${word(r, "= \t", 2)}${word(r, BARE, 5)}`;
  }
}

describe("parseEnvFast agrees with parseEnv", () => {
  test(`over ${CASES} random files (seed ${SEED})`, () => {
    const r = prng(SEED + 1);
    const prefixes = [undefined, KEY_PREFIX.image, KEY_PREFIX.runtime, KEY_PREFIX.tools] as const;
    let answered = 0, refused = 0;
    for (let i = 0; i < CASES; i++) {
      const prefix = prefixes[r.int(prefixes.length)];
      const lines: string[] = [];
      for (let n = r.int(6); n >= 0; n--) lines.push(line(r, prefix ?? "K_"));
      const text = lines.join("\n") + (r.int(3) ? "\n" : "");
      const bytes = Buffer.from(text, "utf8");
      let exact: Map<string, string> | null = null;
      try { exact = parseEnv(bytes, prefix); } catch { refused++; }
      // The fast parser sees the bytes as UTF-8 text, as readContractFile
      // reads them, and as latin1 (one char per byte): it must answer alike.
      const fast = parseEnvFast(bytes.toString("utf8"), prefix);
      const fastLatin1 = parseEnvFast(bytes.toString("latin1"), prefix);
      expect(fastLatin1 === null ? null : [...fastLatin1]).toEqual(fast === null ? null : [...fast]);
      if (fast === null) continue;
      answered++;
      if (exact === null) throw new Error(`parseEnvFast accepted what parseEnv refuses: ${JSON.stringify(text)} (prefix ${prefix})`);
      expect([...fast]).toEqual([...exact]);
    }
    // Both kinds of file were met, and the fast path is not dead code.
    expect(refused).toBeGreaterThan(CASES / 10);
    expect(answered).toBeGreaterThan(CASES / 20);
  });

  test("answers for the files an image carries", () => {
    const image = "# generated\nIMAGE_NAME=runner-base\nIMAGE_VERSION=9.8.7\nIMAGE_DOMAIN=platform\nIMAGE_ROLE=base\nIMAGE_CREATED=2026-11-29T12:00:00Z\nIMAGE_TITLE='runner base image'\n";
    expect(parseEnvFast(image, KEY_PREFIX.image)).toEqual(parseEnv(Buffer.from(image), KEY_PREFIX.image));
    expect(parseEnvFast(image, KEY_PREFIX.image)).not.toBeNull();
  });
});

describe("environmentShapeOk agrees with rawInputProblem", () => {
  test(`over ${CASES} random environments (seed ${SEED})`, () => {
    const r = prng(SEED + 3);
    const names = ["A", "B", "PATH", "HOME", "_", "é", "K1", "x"];
    const values = ["", "1", "a=b", "/bin", "é", "\ufffd", "x y"];
    let ok = 0;
    for (let i = 0; i < CASES; i++) {
      const entries: string[] = [];
      for (let n = r.int(6); n > 0; n--) {
        const form = r.int(10);
        if (form === 0) entries.push(names[r.int(names.length)]!); // no '='
        else if (form === 1) entries.push(`=${values[r.int(values.length)]}`); // empty name
        else entries.push(`${names[r.int(names.length)]}=${values[r.int(values.length)]}`);
      }
      const text = entries.map((e) => `${e}\0`).join("");
      const exact = rawInputProblem(Buffer.from("runner\0"), Buffer.from(text, "utf8")) === null;
      if (environmentShapeOk(text) !== exact) throw new Error(`environmentShapeOk(${JSON.stringify(text)}) is ${!exact}, rawInputProblem says ${exact}`);
      if (exact) ok++;
    }
    expect(ok).toBeGreaterThan(CASES / 20);
    expect(ok).toBeLessThan(CASES - CASES / 20);
  });
});
