// Property test of the dispatch decision, decide(argv, hasEntry), over
// generated argv and runner.d states (issue 5): core commands first, a plugin
// second, failure third, never anything else; hasEntry is consulted only for
// a valid plugin name that is not a core command, and at most once.
// The expected decision is computed here independently of src/runner.ts
// (no shared regex, no shared helper). FUZZ_CASES scales the run.
import { expect, test } from "bun:test";
import { decide, type Decision } from "../src/runner.ts";
import { prng, type Rng } from "./prng.ts";

const CASES = Math.max(2_000, Number(process.env.FUZZ_CASES ?? 0));
const SEED = Number(process.env.FUZZ_SEED ?? 0xd15a);
const CORE = ["help", "version", "info", "plugins", "check"];


/** C-PLUGIN-1 written out by hand: [a-z0-9] then 0 to 63 of [a-z0-9_-]. */
function validName(s: string): boolean {
  if (s.length < 1 || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const alnum = (c >= "a" && c <= "z") || (c >= "0" && c <= "9");
    if (!alnum && (i === 0 || (c !== "_" && c !== "-"))) return false;
  }
  return true;
}

const ALPHABET = [..."abcxyz0189_-.ABZ /\\\n\t*?$'\"", "\u00e9", "\u0430", "\u04bb", "\uff48", "\u200b", "\ufffd", "\u{1f600}"];

/** A first argument from every region of the input space. */
function word(r: Rng): string {
  switch (r.int(12)) {
    case 0: return r.pick(CORE);
    case 1: return r.pick(["-h", "--help", "--version", "-", "--", "-x", "--json", "-help", "--Version", "-V"]);
    case 2: return r.pick(["", ".", "..", "/", "../x", "a/b", "HELP", "Help", "help ", " help", "help\n", "version\u200b"]);
    case 3: return `${r.pick([..."abcz019"])}${"a-_9".repeat(r.int(20)).slice(0, r.int(70))}`; // around the 64-character limit
    case 4: return "a".repeat(63 + r.int(3)); // exactly 63, 64, 65
    case 5: return `-${Array.from({ length: r.int(6) }, () => r.pick(ALPHABET)).join("")}`;
    default: return Array.from({ length: 1 + r.int(10) }, () => r.pick(ALPHABET)).join("");
  }
}

/** The decision the contract requires, step by step (docs/CONTRACT.md C-ARGS-*, C-DISPATCH-*). */
function expected(argv: string[], dir: Set<string>): Decision {
  if (argv.length === 0) return { kind: "usage", message: "" };
  const [first, ...rest] = argv as [string, ...string[]];
  if (first === "-h" || first === "--help") return { kind: "core", command: "help", args: rest };
  if (first === "--version") return { kind: "core", command: "version", args: rest };
  if (first.startsWith("-")) return { kind: "usage", message: "" };
  if (CORE.includes(first)) return { kind: "core", command: first, args: rest };
  if (validName(first) && dir.has(first)) return { kind: "plugin", name: first, args: rest };
  return { kind: "unknown", name: first };
}

test(`C-DISPATCH-1, C-DISPATCH-2, C-DISPATCH-3: decide() over ${CASES} generated argv and runner.d states (seed ${SEED}): core first, plugin second, failure third`, () => {
  const r = prng(SEED);
  const seen = { core: 0, plugin: 0, unknown: 0, usage: 0 };
  for (let i = 0; i < CASES; i++) {
    const argv = Array.from({ length: r.int(5) }, () => word(r));
    // runner.d holds a random mix, often including the name asked for and core names.
    const dir = new Set(Array.from({ length: r.int(6) }, () => word(r)));
    if (argv.length && r.int(2)) dir.add(argv[0]!);
    const frozen = Object.freeze([...argv]);
    const asked: string[] = [];
    const got = decide(frozen, (name) => { asked.push(name); return dir.has(name); });
    const want = expected(argv, dir);
    const ctx = JSON.stringify({ argv, dir: [...dir] });

    expect([got.kind, ctx]).toEqual([want.kind, ctx]);
    if (got.kind === "usage") expect(got.message).not.toBe("");
    else expect(got as Decision).toEqual(want);
    seen[got.kind]++;

    // hasEntry: only for a valid, non-core name, and at most once; never for options or core names.
    const first = argv[0];
    const mayAsk = first !== undefined && !first.startsWith("-") && !CORE.includes(first) && validName(first);
    expect([asked, ctx]).toEqual([mayAsk ? [first] : [], ctx]);
    // Pure: the same input gives the same decision, and argv is not modified.
    expect(decide(frozen, (n) => dir.has(n))).toEqual(got);
    expect(frozen).toEqual(argv);
  }
  // Every outcome must have been reached, or the generator proves little.
  expect(Object.values(seen).every((n) => n > CASES / 50)).toBe(true);
});

test("C-DISPATCH-1: a core name wins even when runner.d holds an entry of that name, and hasEntry is never asked", () => {
  for (const name of CORE) {
    const asked: string[] = [];
    const got = decide([name, "x"], (n) => { asked.push(n); return true; });
    expect(got).toEqual({ kind: "core", command: name, args: ["x"] });
    expect(asked).toEqual([]);
  }
});

test("C-DISPATCH-3: a hasEntry that throws is never reached for core, option or invalid names", () => {
  const boom = () => { throw new Error("hasEntry consulted"); };
  for (const argv of [["help"], ["--version"], ["-x"], ["Hello"], ["a/b"], [".."], ["a".repeat(65)], ["h\u0435llo"], []]) {
    expect(() => decide(argv, boom)).not.toThrow();
  }
});
