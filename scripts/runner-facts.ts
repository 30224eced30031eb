// bun scripts/runner-facts.ts [BINARY] — the facts about a runner binary that
// its SBOM records (C-SBOM-2), as one JSON object on stdout:
//   version        package.json's version (compiled in by scripts/build.ts)
//   bun            the Bun that compiled it (this Bun: run it with the Bun that built BINARY)
//   source_sha256  sha256 of src/runner.ts
//   sha256         sha256 of BINARY (default dist/runner)
// The keys are those of `runner version --json` plus the binary's hash.
// Runs in the Containerfile's build stage, right after `bun run build`.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./build.ts";

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

export function runnerFacts(binary = join(ROOT, "dist", "runner")) {
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  return { version, bun: Bun.version, source_sha256: sha256(join(ROOT, "src", "runner.ts")), sha256: sha256(binary) };
}

if (import.meta.main) {
  try {
    console.log(JSON.stringify(runnerFacts(process.argv[2])));
  } catch (e) {
    console.error(`runner-facts: ${String((e as Error)?.message ?? e).split("\n")[0]}`);
    process.exit(1);
  }
}
