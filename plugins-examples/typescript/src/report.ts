/*
 * report — a runner plugin written in TypeScript: the template for teams that
 * write plugins in TypeScript. Compiled with `bun build --compile` and the same
 * hardening flags as runner itself (see ../Containerfile); no dependencies,
 * only `node:` built-ins.
 *
 *   runner report [--json]
 *
 * Reads the image contract the only supported way, through
 * `/usr/local/bin/runner info --json` (never /etc/runner/*.env directly, never
 * image.manifest, which is not in the image), and prints a report: the image
 * and its base, whom it runs as, the declared tools, and what runner told
 * this plugin (RUNNER_PLUGIN, RUNNER_VERSION, argv[0]).
 *
 * Exit codes: 0 success; 64 usage; 70 `runner info` printed something that
 * is not the contract's JSON; any other: `runner info` failed, and its own
 * status is passed on (78 for a broken contract, for example).
 */

import { spawnSync } from "node:child_process";
import { writeSync } from "node:fs";

const RUNNER = "/usr/local/bin/runner";
const EXIT = { OK: 0, USAGE: 64, SOFTWARE: 70 } as const;

const USAGE = `usage: runner report [--json]
Print this image's contract (from 'runner info --json') and what runner
passed to this plugin. --json prints the same as one JSON object.`;

type Section = Record<string, string>;
type Info = { image: Section; runtime: Section; tools: Section };

/** An error main() turns into `report: <message>` and the exit code. */
class ReportError extends Error {
  constructor(readonly exitCode: number, message: string) { super(message); }
}

function isSection(v: unknown): v is Section {
  return typeof v === "object" && v !== null && !Array.isArray(v) &&
    Object.values(v).every((x) => typeof x === "string");
}

/** The contract as runner parsed it. runner's stderr goes straight to ours. */
function readInfo(): Info {
  const r = spawnSync(RUNNER, ["info", "--json"], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (r.error) throw new ReportError(EXIT.SOFTWARE, `cannot run ${RUNNER}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`);
  if (r.status !== 0) {
    // runner already said why on stderr; keep its status (78: contract invalid, …).
    throw new ReportError(r.status ?? EXIT.SOFTWARE, `'runner info --json' failed (${r.signal ?? `exit ${r.status}`})`);
  }
  let data: unknown;
  try { data = JSON.parse(r.stdout); } catch { throw new ReportError(EXIT.SOFTWARE, "'runner info --json' printed invalid JSON"); }
  const d = data as Partial<Info>;
  if (!isSection(d.image) || !isSection(d.runtime) || !isSection(d.tools)) {
    throw new ReportError(EXIT.SOFTWARE, "'runner info --json' did not print {image, runtime, tools}");
  }
  return { image: d.image, runtime: d.runtime, tools: d.tools };
}

function report(info: Info, json: boolean): string {
  const self = {
    plugin: process.env.RUNNER_PLUGIN ?? "",
    runnerVersion: process.env.RUNNER_VERSION ?? "",
    argv0: process.argv0,
    uid: process.getuid?.() ?? -1,
    gid: process.getgid?.() ?? -1,
    pid: process.pid,
  };
  if (json) return JSON.stringify({ self, ...info }, null, 2);
  const { image: i, runtime: r, tools } = info;
  const base = i.IMAGE_BASE_NAME ? `${i.IMAGE_BASE_NAME} ${i.IMAGE_BASE_VERSION ?? "?"}` : "(none: this is a base image)";
  const toolLines = Object.entries(tools).map(([k, v]) => `  ${k}=${v}`);
  return [
    `image:    ${i.IMAGE_NAME} ${i.IMAGE_VERSION} (domain ${i.IMAGE_DOMAIN}, role ${i.IMAGE_ROLE})`,
    `base:     ${base}`,
    `built:    ${i.IMAGE_CREATED ?? "?"} from revision ${i.IMAGE_REVISION ?? "?"}`,
    `user:     ${r.RUNNER_USER} (uid ${r.RUNNER_UID}, gid ${r.RUNNER_GID}); this process: uid ${self.uid}, gid ${self.gid}`,
    `plugin:   ${self.plugin} (runner ${self.runnerVersion}, argv[0] ${self.argv0}, pid ${self.pid})`,
    `tools:${toolLines.length ? `\n${toolLines.join("\n")}` : "    (none)"}`,
  ].join("\n");
}

function out(text: string): void {
  const buf = Buffer.from(`${text}\n`);
  for (let off = 0; off < buf.length;) off += writeSync(1, buf, off);
}

function run(args: readonly string[]): number {
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) { out(USAGE); return EXIT.OK; }
  if (args.length > 1 || (args.length === 1 && args[0] !== "--json")) {
    throw new ReportError(EXIT.USAGE, `unexpected argument '${args.find((a) => a !== "--json") ?? args[1]}' (usage: runner report [--json])`);
  }
  out(report(readInfo(), args[0] === "--json"));
  return EXIT.OK;
}

function main(): never {
  let code: number;
  try {
    code = run(process.argv.slice(2));
  } catch (e) {
    code = e instanceof ReportError ? e.exitCode : EXIT.SOFTWARE;
    const msg = e instanceof Error ? e.message : String(e);
    try { writeSync(2, `report: ${msg.split("\n")[0]}\n`); } catch { /* nowhere to report it */ }
  }
  process.exit(code);
}

main();
