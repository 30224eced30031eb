// C-ENV-8: a file runner accepts means exactly what `sh`'s `.` makes of it.
// Seeded, bounded generation; DIFF_CASES raises the count for long runs.
import { afterAll, describe, expect, test } from "bun:test";
import { EnvSyntaxError, parseEnv } from "../src/runner.ts";
import { prng } from "./prng.ts";
import { cleanupSh, sourceWithSh } from "./sh-oracle.ts";

const CASES = Number(process.env.DIFF_CASES ?? 300);
const SEED = Number(process.env.DIFF_SEED ?? 20261126);


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
  return (): { text: string; expected: Map<string, string> } => {
    const lines: string[] = [];
    const expected = new Map<string, string>();
    const n = Math.floor(r() * 8);
    for (let i = 0; i < n; i++) {
      const kind = r();
      if (kind < 0.1) { lines.push(""); continue; }
      if (kind < 0.2) { lines.push(`#${str(WILD, 10)}`); continue; }
      const key = `K_${str("ABCxyz019_", 4)}${i}`;
      const [raw, v] = value();
      lines.push(`${key}=${raw}`);
      expected.set(key, v);
    }
    return { text: lines.join("\n") + (r() < 0.8 ? "\n" : ""), expected };
  };
}

const sorted = (m: Map<string, string>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

describe("C-ENV-8: runner and sh agree", () => {
  afterAll(cleanupSh);

  test(`C-ENV-8: ${CASES} generated files inside the grammar are accepted and mean what sh says (seed ${SEED})`, () => {
    const next = generator(SEED);
    for (let i = 0; i < CASES; i++) {
      const { text, expected } = next();
      const ours = parseEnv(new TextEncoder().encode(text));
      expect([...ours]).toEqual([...expected]);
      const sh = sourceWithSh(text);
      if (sh === null) throw new Error(`sh refused a file runner accepts: ${JSON.stringify(text)}`);
      expect(sorted(sh)).toEqual(sorted(ours));
    }
  });

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
  });

  test("C-ENV-8: hand-picked tricky files agree with sh", () => {
    const files = [
      `K='a"b'\n`, `K="a'b"\n`, `K="\\\\"\n`, `K="\\$(id)"\n`, `K='\\'\n`, `K=a=b=c\n`, `K=--x\n`, `K=@%+:,./\n`,
      `K="  spaced  "\n`, `K='#not a comment'\n`, `K="tab\there"\n`, `K=\n`, `K=''`, `K_1=1\nK_2="2"\nK_3='3'\n`,
    ];
    for (const text of files) {
      const ours = parseEnv(new TextEncoder().encode(text));
      expect(sorted(sourceWithSh(text)!)).toEqual(sorted(ours));
    }
  });
});
