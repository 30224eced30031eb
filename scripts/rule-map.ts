// Builds the rule → test map of docs/TESTING.md from the test names
// themselves, so the map cannot drift from the tests. A test cites a rule by
// starting its name with the rule ID ("C-ENV-4: …").
//   bun scripts/rule-map.ts          print the map
//   bun scripts/rule-map.ts --write  rewrite the map in docs/TESTING.md
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dir, "..");
const BEGIN = "<!-- map:begin -->";
const END = "<!-- map:end -->";

/** Every rule ID defined in docs/CONTRACT.md (a bold "**C-X-N**"), in document order. */
export function contractRules(): string[] {
  const text = readFileSync(join(ROOT, "docs", "CONTRACT.md"), "utf8");
  return [...new Set([...text.matchAll(/\*\*(C-[A-Z]+-\d+)\*\*/g)].map((m) => m[1]!))];
}

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return testFiles(p);
    return name.endsWith(".test.ts") ? [p] : [];
  });
}

/** rule ID → "file: test name" for every test whose name cites it. */
export function citations(): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const file of testFiles(join(ROOT, "test")).sort()) {
    const src = readFileSync(file, "utf8");
    // The name runs to its own closing quote (a name in "…" may hold ' and `);
    // interpolations in a template literal are shown as "…".
    for (const m of src.matchAll(/\btest(?:\.\w+)?\(\s*([`"'])((?:C-[A-Z]+-\d+[,/ ]*)+):?((?:\\.|\$\{[^}]*\}|(?!\1)[^\\\n])*)\1/g)) {
      const name = m[3]!.replace(/\$\{[^}]*\}/g, "…").replace(/\\(.)/g, "$1").trim() || "(name computed at run time)";
      for (const id of m[2]!.match(/C-[A-Z]+-\d+/g)!) {
        const list = map.get(id) ?? [];
        const cite = `\`${relative(ROOT, file)}\`: ${name}`;
        if (!list.includes(cite)) list.push(cite);
        map.set(id, list);
      }
    }
  }
  return map;
}

export function renderMap(): string {
  const cites = citations();
  const rows = contractRules().map((id) => {
    const list = cites.get(id) ?? [];
    const shown = list.slice(0, 4).join("<br>") + (list.length > 4 ? `<br>… and ${list.length - 4} more` : "");
    return `| ${id} | ${list.length} | ${shown || "**NO TEST**"} |`;
  });
  return [BEGIN, "| rule | tests | where (first four) |", "|---|---|---|", ...rows, END].join("\n");
}

export function currentMap(): string {
  const doc = readFileSync(join(ROOT, "docs", "TESTING.md"), "utf8");
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  return a === -1 || b === -1 ? "" : doc.slice(a, b + END.length);
}

if (import.meta.main) {
  const map = renderMap();
  if (process.argv[2] === "--write") {
    const path = join(ROOT, "docs", "TESTING.md");
    const doc = readFileSync(path, "utf8");
    const old = currentMap();
    if (!old) { console.error("rule-map: docs/TESTING.md has no map markers"); process.exit(1); }
    writeFileSync(path, doc.replace(old, () => map)); // a function: the map may hold "$'"
  } else {
    console.log(map);
  }
}
