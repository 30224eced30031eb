// Builds dist/runner-materialize: src/materialize.ts compiled with runner's
// own HARDENING_FLAGS (scripts/build.ts), so the sdk image needs no Bun at
// run time. Used by the Containerfile's build stage; `bun scripts/build-materialize.ts [OUT]`.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { HARDENING_FLAGS, ROOT } from "./build.ts";

export function buildMaterialize(outfile = join(ROOT, "dist", "runner-materialize"), extra: string[] = []): void {
  mkdirSync(join(outfile, ".."), { recursive: true });
  const r = Bun.spawnSync([process.execPath, "build", ...HARDENING_FLAGS, ...extra, join(ROOT, "src", "materialize.ts"), "--outfile", outfile],
    { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) {
    console.error(`build-materialize: bun build failed with exit code ${r.exitCode}`);
    process.exit(1);
  }
}

if (import.meta.main) buildMaterialize(process.argv[2]);
