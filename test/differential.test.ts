// C-ENV-8: a file runner accepts means exactly what `sh`'s `.` makes of it,
// for dash, `bash --posix` and bash alike (test/sh-oracle.ts fails on any
// disagreement between them). C-ENV-10: keys in a file's namespace.
// Seeded, bounded generation; DIFF_CASES raises the count for long runs.
import { afterAll, describe, expect, test } from "bun:test";
import { EnvSyntaxError, KEY_PREFIX, parseEnv } from "../src/runner.ts";
import { prng } from "./prng.ts";
import { SHELLS, cleanupSh, sourceWith, sourceWithEveryShell as sourceWithSh } from "./sh-oracle.ts";

const CASES = Number(process.env.DIFF_CASES ?? 300);
const SEED = Number(process.env.DIFF_SEED ?? 20261126);
// Three shells per case, a few ms each: the timeout grows with DIFF_CASES.
const TIMEOUT_MS = 30_000 + CASES * 60;
const PREFIXES = Object.values(KEY_PREFIX);


const SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-";
// Characters sh would interpret outside quotes, plus non-ASCII and TAB.
const WILD = ` \t#$\`\\"'*?[]{}()<>|&;!~^é✓日🙂${SAFE}`;

function generator(seed: number) {
  const r = prng(seed).next;
  const pick = (s: string) => { const cs = [...s]; return cs[Math.floor(r() * cs.length)]!; };
  const str = (alphabet: string, max: number) => Array.from({ length: Math.floor(r() * (max + 1)) }, () => pick(alphabet)).join("");
  const value = (): [string, string] => {
    const form = Math.floor(r() * 4);
    if (form === 0) return ["", ""];
    if (form === 1) { const v = str(SAFE, 12) || "x"; return [v, v]; }
    if (form === 2) { const v = str(WILD.replace(/'/g, ""), 12); return [`'${v}'`, v]; }
    const v = str(WILD, 12);
    return [`"${v.replace(/["\\$`]/g, (c) => `\\${c}`)}"`, v];
  };
  /** A file inside the grammar and the variables it must define. */
  return (): { text: string; expected: Map<string, string>; prefix: string } => {
    const lines: string[] = [];
    const expected = new Map<string, string>();
    const prefix = PREFIXES[Math.floor(r() * PREFIXES.length)]!;
    const n = Math.floor(r() * 8);
    for (let i = 0; i < n; i++) {
      const kind = r();
      if (kind < 0.1) { lines.push(""); continue; }
      if (kind < 0.2) { lines.push(`#${str(WILD, 10)}`); continue; }
      const key = `${prefix}${str("ABCxyz019_", 4)}${i}`;
      const [raw, v] = value();
      lines.push(`${key}=${raw}`);
      expected.set(key, v);
    }
    return { text: lines.join("\n") + (r() < 0.8 ? "\n" : ""), expected, prefix };
  };
}

const sorted = (m: Map<string, string>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

describe("C-ENV-8: runner and sh agree", () => {
  afterAll(cleanupSh);

  test(`C-ENV-8: ${CASES} generated files inside the grammar are accepted and mean what sh says (seed ${SEED})`, () => {
    const next = generator(SEED);
    for (let i = 0; i < CASES; i++) {
      const { text, expected, prefix } = next();
      const ours = parseEnv(new TextEncoder().encode(text), prefix);
      expect([...ours]).toEqual([...expected]);
      const sh = sourceWithSh(text);
      if (sh === null) throw new Error(`sh refused a file runner accepts: ${JSON.stringify(text)}`);
      expect(sorted(sh)).toEqual(sorted(ours));
    }
  }, TIMEOUT_MS);

  test(`C-ENV-8: of ${CASES} random near-grammar files, every one runner accepts means the same to sh`, () => {
    const r = prng(SEED + 1).next;
    // Tokens that are valid alone, invalid alone, or valid only in some company.
    const tokens = ["a", "1", "=", "-", "'x y'", '"a\\$b"', "''", '""', "'", '"', "\\", "$", "`", " ", "\t", "#", "é", "*", "~"];
    const pick = () => tokens[Math.floor(r() * tokens.length)]!;
    let accepted = 0;
    for (let i = 0; i < CASES; i++) {
      const lines = Array.from({ length: 1 + Math.floor(r() * 3) }, (_, j) =>
        r() < 0.1 ? `#${pick()}` : `K_${j}=${Array.from({ length: Math.floor(r() * 3) }, pick).join("")}`);
      const text = lines.join("\n") + "\n";
      let ours: Map<string, string>;
      try {
        ours = parseEnv(new TextEncoder().encode(text));
      } catch (e) {
        if (!(e instanceof EnvSyntaxError)) throw e;
        continue;
      }
      accepted++;
      const sh = sourceWithSh(text);
      if (sh === null) throw new Error(`sh refused a file runner accepts: ${JSON.stringify(text)}`);
      expect(sorted(sh)).toEqual(sorted(ours));
    }
    // The generator must exercise acceptance, or this test proves nothing.
    expect(accepted).toBeGreaterThan(CASES / 20);
  }, TIMEOUT_MS);

  test("C-ENV-8: hand-picked tricky files agree with sh", () => {
    const files = [
      `K='a"b'\n`, `K="a'b"\n`, `K="\\\\"\n`, `K="\\$(id)"\n`, `K='\\'\n`, `K=a=b=c\n`, `K=--x\n`, `K=@%+:,./\n`,
      `K="  spaced  "\n`, `K='#not a comment'\n`, `K="tab\there"\n`, `K=\n`, `K=''`, `K_1=1\nK_2="2"\nK_3='3'\n`,
    ];
    for (const text of files) {
      const ours = parseEnv(new TextEncoder().encode(text));
      expect(sorted(sourceWithSh(text)!)).toEqual(sorted(ours));
    }
  }, TIMEOUT_MS);
});

describe("C-ENV-10: each contract file's namespace rules out the shells' special names", () => {
  afterAll(cleanupSh);
  // Special, read-only or behaviour-changing names in dash, bash --posix or bash.
  const SPECIAL = ["OPTIND", "OPTARG", "UID", "EUID", "PPID", "SHELLOPTS", "BASHOPTS", "BASH_ENV", "ENV", "IFS", "PATH", "PS1", "PS4",
    "HOME", "CDPATH", "LINENO", "RANDOM", "SECONDS", "GROUPS", "BASH_ARGV0", "HISTFILE", "POSIXLY_CORRECT", "SHELL", "_"];

  test("C-ENV-10: OPTIND=x, UID=1 and SHELLOPTS=x really break sourcing in at least one shell (why the namespaces exist)", () => {
    for (const text of ["OPTIND=x\n", "UID=1\n", "SHELLOPTS=x\n"]) {
      const refusedBy = Object.keys(SHELLS).filter((name) => sourceWith(name, text) === null);
      expect({ text, refusedBy: refusedBy.length > 0 }).toEqual({ text, refusedBy: true });
    }
  });

  test(`C-ENV-10: ${SPECIAL.length} special names are outside every file's namespace`, () => {
    for (const name of SPECIAL) {
      for (const prefix of PREFIXES) {
        expect(() => parseEnv(new TextEncoder().encode(`${name}=1\n`), prefix)).toThrow(/outside this file's namespace/);
      }
    }
  });

  test("C-ENV-10: the same names behind a prefix mean the same to dash, bash --posix and bash", () => {
    for (const name of SPECIAL) {
      for (const prefix of PREFIXES) {
        const text = `${prefix}${name}=1\n`;
        const ours = parseEnv(new TextEncoder().encode(text), prefix);
        expect(sorted(sourceWithSh(text)!)).toEqual(sorted(ours));
      }
    }
  }, TIMEOUT_MS);
});
