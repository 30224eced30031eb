// The shell blocks of the documentation, and how to run one as written.
//
// Every fenced block whose info string is sh, bash, console or shell, in
// README.md, docs/*.md and plugins-examples/*/README.md, carries a marker on
// the line right before its opening fence (docs/TESTING.md, "Docs that run"):
//
//   <!-- run: ID -->            run by a test: ID is registered in
//                               test/docs/registry.ts, which says where and
//                               how it runs and what its output must be
//   <!-- not run: REASON -->    not run here; REASON says why, and the
//                               reader sees it too: the words "not run here"
//                               appear in the block's first line or in the
//                               prose right above it
//
// test/docs/blocks.test.ts fails on a block with neither marker, an ID that
// is not registered (or registered twice, or registered but used nowhere),
// and a not-run block whose reason the reader cannot see.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");

export const SHELL_LANGS: ReadonlySet<string> = new Set(["sh", "bash", "console", "shell"]);

export type Marker = { kind: "run"; id: string } | { kind: "not-run"; reason: string } | null;

export type Block = {
  /** path relative to the repository */
  file: string;
  /** 1-based line of the opening fence */
  line: number;
  lang: string;
  /** the block's text, indentation of the fence removed, ending with a newline */
  text: string;
  marker: Marker;
  /** the prose between the previous block or heading and this block, and the paragraph after it (for the visible reason) */
  prose: string;
};

/** README.md, docs/*.md and plugins-examples/*\/README.md, sorted. */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => join("docs", f));
  const examples = readdirSync(join(ROOT, "plugins-examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory()).map((d) => d.name).sort()
    .map((d) => join("plugins-examples", d, "README.md"))
    .filter((f) => { try { readFileSync(join(ROOT, f)); return true; } catch { return false; } });
  return ["README.md", ...docs, ...examples];
}

const MARKER = /^\s*<!--\s*(run|not run):\s*(.*?)\s*-->\s*$/;

/** Every fenced block of one Markdown file; shell blocks get their marker. */
export function blocksOf(file: string, source = readFileSync(join(ROOT, file), "utf8")): Block[] {
  const lines = source.split("\n");
  const blocks: Block[] = [];
  let proseStart = 0;
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i]!.match(/^(\s*)(`{3,}|~{3,})\s*([\w-]*)\s*$/);
    if (!open) {
      if (/^#{1,6}\s/.test(lines[i]!)) proseStart = i + 1;
      continue;
    }
    const [, indent, fence, lang] = open;
    let end = i + 1;
    while (end < lines.length && !(lines[end]!.trim().startsWith(fence!) && lines[end]!.trim().replace(/[`~]/g, "") === "")) end++;
    const body = lines.slice(i + 1, end).map((l) => (l.startsWith(indent!) ? l.slice(indent!.length) : l.trimStart()));
    if (SHELL_LANGS.has(lang!)) {
      let prev = i - 1;
      while (prev >= 0 && lines[prev]!.trim() === "") prev--;
      const m = prev >= 0 ? lines[prev]!.match(MARKER) : null;
      const marker: Marker = !m ? null : m[1] === "run" ? { kind: "run", id: m[2]! } : { kind: "not-run", reason: m[2]! };
      blocks.push({
        file, line: i + 1, lang: lang!, text: body.length ? `${body.join("\n")}\n` : "",
        marker, prose: `${lines.slice(proseStart, i).join("\n")}\n${paragraphAfter(lines, end + 1)}`.replace(/\s+/g, " "),
      });
    }
    i = end;
    proseStart = end + 1;
  }
  return blocks;
}

/** The first paragraph from line index `from` on (blank lines before it skipped). */
function paragraphAfter(lines: readonly string[], from: number): string {
  let i = from;
  while (i < lines.length && lines[i]!.trim() === "") i++;
  const start = i;
  while (i < lines.length && lines[i]!.trim() !== "" && !/^\s*(```|~~~|#{1,6}\s)/.test(lines[i]!)) i++;
  return lines.slice(start, i).join("\n");
}

export function allBlocks(): Block[] {
  return docFiles().flatMap((f) => blocksOf(f));
}

/** The one block marked `<!-- run: ID -->` (for tests elsewhere that run a block themselves). */
export function docBlock(id: string): Block {
  const found = allBlocks().filter((b) => b.marker?.kind === "run" && b.marker.id === id);
  if (found.length !== 1) throw new Error(`docs: ${found.length} blocks are marked <!-- run: ${id} --> (want exactly one)`);
  return found[0]!;
}

export const where = (b: Block): string => `${b.file}:${b.line}`;

// ------------------------------------------------------------ commands

/** One command of a block, with the comment lines that follow it (what the doc says it prints). */
export type Command = { text: string; claims: string[]; trailing: string | null };

/**
 * Splits a block into commands: a line ending in `\`, `|`, `&&` or `||`
 * continues on the next one; `#` lines after a command are its claims; a
 * `  # text` at the end of a command's last line is its trailing comment.
 * A console block's commands are its `$ ` lines; other lines are output.
 */
export function commandsOf(block: Pick<Block, "text" | "lang">): Command[] {
  const out: Command[] = [];
  const lines = block.text.replace(/\n$/, "").split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (block.lang === "console") {
      if (!line.startsWith("$ ")) { out.at(-1)?.claims.push(line); continue; }
      line = line.slice(2);
    } else if (line.trim() === "" ) {
      continue;
    } else if (line.trimStart().startsWith("#")) {
      out.at(-1)?.claims.push(line.trimStart().replace(/^#\s?/, ""));
      continue;
    }
    let text = line;
    while (/(\\|\||&&)\s*$/.test(text) && i + 1 < lines.length) text += `\n${lines[++i]!}`;
    const t = text.match(/\s{2,}#\s+(.*)$/);
    out.push({ text, claims: [], trailing: t ? t[1]! : null });
  }
  return out;
}

export type CommandResult = Command & { code: number; stdout: string; stderr: string };

/**
 * Runs a block's commands as written, one after the other in one bash
 * process (so `cd`, variables and `export` carry over, as in a terminal),
 * and returns each command's status and output. No `set -e`: a failing
 * command does not stop the block; the checks look at every status.
 */
export async function runCommands(commands: readonly Command[], o: { cwd: string; env: Record<string, string>; timeoutMs: number }): Promise<CommandResult[]> {
  // Records between commands: \x1e N \x1e on both streams before command N,
  // \x1f N STATUS \x1f on stdout after it.
  const script = commands.map((c, n) =>
    `printf '\\036%d\\036' ${n}; printf '\\036%d\\036' ${n} >&2\n${c.text}\n__s=$?; printf '\\037%d %d\\037' ${n} "$__s"\n`).join("");
  const proc = Bun.spawn(["bash", "--noprofile", "--norc", "-c", script], {
    cwd: o.cwd, env: o.env, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: o.timeoutMs,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const part = (text: string, n: number): string => {
    const start = text.indexOf(`\x1e${n}\x1e`);
    if (start === -1) return "";
    const from = start + `\x1e${n}\x1e`.length;
    const ends = [text.indexOf(`\x1f${n} `, from), text.indexOf(`\x1e${n + 1}\x1e`, from)].filter((x) => x !== -1);
    return text.slice(from, ends.length ? Math.min(...ends) : undefined);
  };
  return commands.map((c, n) => {
    const status = stdout.match(new RegExp(`\\x1f${n} (\\d+)\\x1f`));
    return { ...c, code: status ? Number(status[1]) : code === 0 ? -1 : code, stdout: part(stdout, n), stderr: part(stderr, n) };
  });
}

export const rel = (p: string): string => relative(ROOT, p);
