// bun run verify [--json] IMAGE — the auditor's command (docs/IMAGE.md,
// "Verifying an image"; C-VERIFY-1..3).
//
// Takes /usr/local/bin/runner, /etc/runner/image.env and the SBOM out of
// IMAGE, rebuilds runner from this checkout's src/runner.ts with the Bun
// pinned in package.json and the flags of scripts/build.ts, and compares:
//   binary   sha256 of the image's runner = sha256 of the rebuild
//   sbom     the SBOM's runner component records that same sha256, the
//            sha256 of this checkout's src/runner.ts, and the pinned Bun
// It reports both sums, the image's IMAGE_REVISION and the checkout's commit
// (and whether the checkout has uncommitted changes).
//
// Exit codes: 0 everything matches; 1 a mismatch (the image's runner was not
// built from this source with these flags, or its SBOM disagrees);
// 64 usage; 69 the image or a file in it cannot be read (no engine, no such
// image, no SBOM); 70 internal error; 78 this checkout cannot rebuild
// (the Bun running this is not the pinned one). Errors are one line
// `verify: …`; --json prints one JSON object on stdout (also on a mismatch).
// Environment: RUNNER_ENGINE (podman or docker), as for `bun run image`.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./build.ts";
import { BUN_VERSION, SBOM_PATH, extractFile, findEngine } from "./image.ts";
import { parseEnv } from "../src/runner.ts";
import { componentSha256, PROP, runnerComponent } from "../src/sbom.ts";

export const EXIT = { MATCH: 0, MISMATCH: 1, USAGE: 64, UNAVAILABLE: 69, SOFTWARE: 70, CONFIG: 78 } as const;
export const USAGE = "usage: bun run verify [--json] IMAGE";
const HELP = `${USAGE}

Rebuilds runner from this checkout's src/runner.ts (Bun ${BUN_VERSION}, the
flags of scripts/build.ts) and compares it with IMAGE's /usr/local/bin/runner;
checks the hashes the image's SBOM (${SBOM_PATH}) records.

  --json      one JSON object on stdout
  -h, --help  this help

exit: 0 match, 1 mismatch, 64 usage, 69 image unreadable, 70 internal error,
      78 cannot rebuild here (wrong Bun)`;

export class VerifyError extends Error {
  constructor(readonly exitCode: number, message: string) { super(message); }
}

export type Check = { name: string; ok: boolean; image: string | null; expected: string };
export type Report = {
  ok: boolean;
  image: string;
  image_revision: string | null;
  checkout_commit: string | null;
  checkout_dirty: boolean;
  image_sha256: string;
  rebuilt_sha256: string;
  source_sha256: string;
  bun: string;
  checks: Check[];
};

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function git(args: string[]): string | null {
  const r = Bun.spawnSync(["git", "-C", ROOT, ...args], { stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : null;
}

function fromImage(engine: string, image: string, path: string): Uint8Array {
  try { return extractFile(engine, image, path); } catch (e) { throw new VerifyError(EXIT.UNAVAILABLE, (e as Error).message); }
}

/** Everything verify finds out, without printing. */
export function verify(image: string): Report {
  if (Bun.version !== BUN_VERSION) {
    throw new VerifyError(EXIT.CONFIG, `this is Bun ${Bun.version}, package.json pins ${BUN_VERSION}: run it with the pinned one (npm ci; node_modules/.bin/bun)`);
  }
  let engine: string;
  try { engine = findEngine(); } catch (e) { throw new VerifyError(EXIT.UNAVAILABLE, (e as Error).message); }
  const binary = fromImage(engine, image, "/usr/local/bin/runner");
  const imageEnv = parseEnv(fromImage(engine, image, "/etc/runner/image.env"));
  const sbomBytes = fromImage(engine, image, SBOM_PATH);
  let sbom: unknown;
  try { sbom = JSON.parse(new TextDecoder().decode(sbomBytes)); } catch { throw new VerifyError(EXIT.UNAVAILABLE, `${image}: ${SBOM_PATH} is not JSON`); }

  const dir = mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "runner-verify-"));
  let rebuilt: string;
  try {
    const out = join(dir, "runner");
    // Exactly `bun run build`: scripts/build.ts, with this (pinned) Bun.
    const r = Bun.spawnSync([process.execPath, join(ROOT, "scripts", "build.ts"), out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new VerifyError(EXIT.SOFTWARE, `rebuilding runner failed: ${r.stderr.toString().trim().split("\n").pop()}`);
    rebuilt = sha256(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const source = sha256(readFileSync(join(ROOT, "src", "runner.ts")));
  const inImage = sha256(binary);
  const c = runnerComponent(sbom);
  const prop = (n: string): string | null => (c?.properties ?? []).find((p: any) => p.name === n)?.value ?? null;
  const checks: Check[] = [
    { name: "binary", ok: inImage === rebuilt, image: inImage, expected: rebuilt },
    { name: "sbom.runner.sha256", ok: componentSha256(c) === inImage, image: componentSha256(c) ?? null, expected: inImage },
    { name: "sbom.runner.source_sha256", ok: prop(PROP.sourceSha256) === source, image: prop(PROP.sourceSha256), expected: source },
    { name: "sbom.runner.bun", ok: prop(PROP.bun) === BUN_VERSION, image: prop(PROP.bun), expected: BUN_VERSION },
  ];
  return {
    ok: checks.every((k) => k.ok),
    image,
    image_revision: imageEnv.get("IMAGE_REVISION") ?? null,
    checkout_commit: git(["rev-parse", "HEAD"]),
    checkout_dirty: (git(["status", "--porcelain", "--untracked-files=no"]) ?? "") !== "",
    image_sha256: inImage,
    rebuilt_sha256: rebuilt,
    source_sha256: source,
    bun: BUN_VERSION,
    checks,
  };
}

export function parseArgs(argv: readonly string[]): { json: boolean; image: string } | "help" {
  let json = false;
  const rest: string[] = [];
  for (const a of argv) {
    if (a === "-h" || a === "--help") return "help";
    if (a === "--json") json = true;
    else if (a.startsWith("-")) throw new VerifyError(EXIT.USAGE, `unknown option '${a}' (${USAGE})`);
    else rest.push(a);
  }
  if (rest.length !== 1) throw new VerifyError(EXIT.USAGE, `expected one IMAGE, got ${rest.length} (${USAGE})`);
  return { json, image: rest[0]! };
}

function human(r: Report): string {
  const lines = [
    `verify: ${r.ok ? "MATCH" : "MISMATCH"}: ${r.image}`,
    `  image's runner   sha256 ${r.image_sha256}`,
    `  rebuilt runner   sha256 ${r.rebuilt_sha256}  (src/runner.ts sha256 ${r.source_sha256}, Bun ${r.bun})`,
    `  image revision   ${r.image_revision ?? "(none)"}`,
    `  checkout commit  ${r.checkout_commit ?? "(not a git checkout)"}${r.checkout_dirty ? " with uncommitted changes" : ""}`,
  ];
  for (const k of r.checks) lines.push(`  ${k.ok ? "ok      " : "MISMATCH"} ${k.name}${k.ok ? "" : `: image has ${k.image ?? "(nothing)"}, expected ${k.expected}`}`);
  return lines.join("\n");
}

function main(argv: readonly string[]): number {
  const args = parseArgs(argv);
  if (args === "help") { console.log(HELP); return EXIT.MATCH; }
  const r = verify(args.image);
  if (args.json) console.log(JSON.stringify(r, null, 2));
  else console.log(human(r));
  if (!r.ok) {
    const failed = r.checks.filter((k) => !k.ok).map((k) => k.name).join(", ");
    console.error(`verify: ${args.image} does not match this checkout (${failed})`);
  }
  return r.ok ? EXIT.MATCH : EXIT.MISMATCH;
}

if (import.meta.main) {
  let code: number;
  try {
    code = main(process.argv.slice(2));
  } catch (e) {
    code = e instanceof VerifyError ? e.exitCode : EXIT.SOFTWARE;
    console.error(`verify: ${e instanceof VerifyError ? "" : "internal error: "}${String((e as Error)?.message ?? e).split("\n")[0]}`);
  }
  process.exit(code);
}
