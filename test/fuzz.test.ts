// Seeded, bounded fuzz of parseEnv() over mutations of valid env files
// (issue 5). Properties:
//   1. parseEnv() only ever returns a Map or throws EnvSyntaxError (with a
//      line number inside the file and a one-line message without raw
//      control characters but TAB) — never another exception, never a hang;
//   2. every generated valid file is accepted with exactly the values it was
//      generated from, and sh agrees (C-ENV-8);
//   3. every mutated file that parseEnv() accepts means the same to sh.
// FUZZ_CASES (default 600) and FUZZ_SEED allow long runs outside CI:
//   FUZZ_CASES=200000 FUZZ_SEED=7 bun test test/fuzz.test.ts
import { afterAll, expect, test } from "bun:test";
import { EnvSyntaxError, MAX_ENV_BYTES, parseEnv } from "../src/runner.ts";
import { cleanupSh, sourceWithSh } from "./sh-oracle.ts";
import { prng, type Rng } from "./prng.ts";

const CASES = Number(process.env.FUZZ_CASES ?? 600);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const MUTANTS_PER_FILE = 4;
// About 1 ms per case (most of it sh); long runs get time in proportion.
const TIMEOUT_MS = Math.max(60_000, CASES * 20);


const UNQUOTED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-";
// Characters worth meeting inside quotes: blanks, sh metacharacters, quotes, non-ASCII.
const QUOTED_POOL = [...`${UNQUOTED} \t#;&|<>()[]{}*?!~^'"\\$\`\u00e9\u00fc\u4e2d\u{1f600}\u00a0\u202e\ufffd`];

/** A random valid file and the values it must parse to. */
function validFile(r: Rng): { text: string; expected: Map<string, string> } {
  const expected = new Map<string, string>();
  const lines: string[] = [];
  const nLines = 1 + r.int(8);
  for (let i = 0; i < nLines; i++) {
    const kind = r.int(10);
    if (kind === 0) { lines.push(""); continue; }
    if (kind === 1) { lines.push(`#${Array.from({ length: r.int(12) }, () => r.pick(QUOTED_POOL)).join("")}`); continue; }
    const key = r.int(15) === 0 ? r.pick(["__proto__", "constructor", "toString"]) : `${r.pick(["K", "k", "_K", "FUZZ_"])}${r.int(1000)}`;
    if (expected.has(key)) continue;
    const chars = (pool: readonly string[], n: number) => Array.from({ length: n }, () => r.pick(pool));
    const form = r.int(4);
    let raw: string;
    let value: string;
    if (form === 0) { raw = ""; value = ""; }
    else if (form === 1) { value = chars([...UNQUOTED], 1 + r.int(10)).join(""); raw = value; }
    else if (form === 2) {
      const cs = chars(QUOTED_POOL, r.int(12));
      value = cs.join("");
      raw = `"${cs.map((c) => ('"\\$`'.includes(c) ? `\\${c}` : c)).join("")}"`;
    } else {
      value = chars(QUOTED_POOL.filter((c) => c !== "'"), r.int(12)).join("");
      raw = `'${value}'`;
    }
    lines.push(`${key}=${raw}`);
    expected.set(key, value);
  }
  return { text: lines.join("\n") + (r.int(4) === 0 ? "" : "\n"), expected };
}

// Bytes that sit on the grammar's edges: blanks, CR, NUL, quotes, escapes, invalid UTF-8, BOM, C1.
const EDGE_BYTES = [0x20, 0x09, 0x0a, 0x0d, 0x00, 0x22, 0x27, 0x5c, 0x24, 0x60, 0x23, 0x3d, 0x7e, 0x2a, 0x7f, 0xff, 0xc3, 0xc2, 0x85, 0xef, 0xbb, 0xbf, 0xe2, 0x80, 0xae];

/** One to three random edits of the file's bytes. */
function mutate(r: Rng, input: Uint8Array, other: Uint8Array): Uint8Array {
  let b = Array.from(input);
  const lines = () => {
    const out: number[][] = [[]];
    for (const x of b) { out[out.length - 1]!.push(x); if (x === 0x0a) out.push([]); }
    return out;
  };
  for (let n = 1 + r.int(3); n > 0; n--) {
    const at = r.int(b.length + 1);
    const byte = r.int(3) === 0 ? r.int(256) : r.pick(EDGE_BYTES);
    switch (r.int(9)) {
      case 0: b.splice(at, 0, byte); break;
      case 1: if (b.length) b.splice(Math.min(at, b.length - 1), 1); break;
      case 2: if (b.length) b[Math.min(at, b.length - 1)] = byte; break;
      case 3: if (b.length) b[Math.min(at, b.length - 1)]! ^= 1 << r.int(8); break;
      case 4: { const ls = lines(); const i = r.int(ls.length); ls.splice(i, 0, [...ls[i]!]); b = ls.flat(); break; } // duplicate a line
      case 5: { const ls = lines(); const i = r.int(ls.length); const j = r.int(ls.length); [ls[i], ls[j]] = [ls[j]!, ls[i]!]; b = ls.flat(); break; }
      case 6: b = b.slice(0, at); break; // truncate
      case 7: { const from = r.int(other.length + 1); b.splice(at, 0, ...other.slice(from, from + 1 + r.int(16))); break; } // splice in another file
      default: b.splice(at, 0, ...Buffer.from(r.pick(["export ", " ", "\\", "\"", "'", "$(id)", "=", "#", "\r\n", "\ufeff", "\u0085"]))); break;
    }
  }
  return Uint8Array.from(b);
}

/** Property 1: a Map, or EnvSyntaxError within the file and on one clean line. */
function parseOrSyntaxError(bytes: Uint8Array): Map<string, string> | EnvSyntaxError {
  try {
    return parseEnv(bytes);
  } catch (e) {
    if (!(e instanceof EnvSyntaxError)) throw new Error(`parseEnv threw ${String(e)} for ${JSON.stringify(Buffer.from(bytes).toString("latin1"))}`);
    const nLines = Buffer.from(bytes).toString("latin1").split("\n").length;
    expect(e.line).toBeGreaterThanOrEqual(bytes.length > MAX_ENV_BYTES ? 0 : 1);
    expect(e.line).toBeLessThanOrEqual(nLines);
    expect(e.message).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/); // TAB is allowed inside quotes, so may be shown
    return e;
  }
}

const show = (bytes: Uint8Array) => JSON.stringify(Buffer.from(bytes).toString("latin1"));

afterAll(() => cleanupSh());

test(`C-ENV-8: fuzz (seed ${SEED}, ${CASES} mutants): parseEnv returns a result or EnvSyntaxError, and what it accepts sh reads the same`, () => {
  const r = prng(SEED);
  let accepted = 0;
  let rejected = 0;
  let bases = 0;
  let previous = new Uint8Array();
  for (let done = 0; done < CASES;) {
    const { text, expected } = validFile(r);
    const base = Buffer.from(text);
    bases++;
    // Property 2: the unmutated file.
    const parsed = parseOrSyntaxError(base);
    if (parsed instanceof EnvSyntaxError) throw new Error(`valid file refused (${parsed.line}: ${parsed.message}): ${show(base)}`);
    expect(parsed).toEqual(expected);
    const sh = sourceWithSh(base);
    if (sh === null || !mapsEqual(sh, parsed)) throw new Error(`sh disagrees on a valid file: ${show(base)}`);
    // Property 3: its mutants.
    for (let m = 0; m < MUTANTS_PER_FILE && done < CASES; m++, done++) {
      const bytes = mutate(r, base, previous);
      const result = parseOrSyntaxError(bytes);
      if (result instanceof EnvSyntaxError) { rejected++; continue; }
      accepted++;
      const shVars = sourceWithSh(bytes);
      if (shVars === null || !mapsEqual(shVars, result)) {
        throw new Error(`runner accepts a file sh reads differently: ${show(bytes)}\nrunner: ${JSON.stringify([...result])}\nsh: ${JSON.stringify(shVars && [...shVars])}`);
      }
    }
    previous = base;
  }
  console.log(`fuzz: seed ${SEED}, ${bases} valid files, ${CASES} mutants: ${accepted} accepted (sh agreed), ${rejected} refused with EnvSyntaxError`);
  // The mutations must exercise both sides, or the test proves little.
  expect(accepted).toBeGreaterThan(0);
  expect(rejected).toBeGreaterThan(0);
}, TIMEOUT_MS);

test("C-ENV-1: fuzz: files around the size limit and pure random bytes only ever give a result or EnvSyntaxError", () => {
  const r = prng(SEED + 1);
  for (let i = 0; i < Math.max(50, CASES / 10); i++) {
    const len = r.pick([0, 1, 2, 3, 100, MAX_ENV_BYTES - 1, MAX_ENV_BYTES, MAX_ENV_BYTES + 1]);
    const bytes = new Uint8Array(len);
    if (r.int(2)) for (let j = 0; j < len; j++) bytes[j] = r.int(256);
    else bytes.fill(r.pick([0x23, 0x0a, 0x41]));
    const result = parseOrSyntaxError(bytes);
    if (len > MAX_ENV_BYTES) expect(result).toBeInstanceOf(EnvSyntaxError);
  }
}, TIMEOUT_MS);

function mapsEqual(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
