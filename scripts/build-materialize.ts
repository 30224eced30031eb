// Builds dist/runner-materialize: src/materialize.ts compiled with runner's
// own HARDENING_FLAGS (scripts/build.ts), so the sdk image needs no Bun at
// run time. Used by the Containerfile's build stage; `bun scripts/build-materialize.ts [OUT]`.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { HARDENING_FLAGS, ROOT } from "./build.ts";

/**
 * @cyclonedx/cyclonedx-library's optional peers (XML, validation, purl and
 * SPDX helpers): the sbom subcommand writes JSON from its own models and uses
 * none of them, so they stay out of the executable; the library loads them
 * lazily, only for the features that need them.
 */
export const OPTIONAL_PEERS = ["xmlbuilder2", "libxmljs2", "ajv", "ajv-formats", "ajv-formats-draft2019", "packageurl-js", "spdx-expression-parse"];

/** `extra`: more `bun build` flags, e.g. scripts/cross.ts's --target and --compile-executable-path. */
export function buildMaterialize(outfile = join(ROOT, "dist", "runner-materialize"), extra: string[] = []): void {
  mkdirSync(join(outfile, ".."), { recursive: true });
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  // The version is recorded as the SBOM generator's (runner-materialize sbom).
  const r = Bun.spawnSync([process.execPath, "build", ...HARDENING_FLAGS, ...OPTIONAL_PEERS.flatMap((p) => ["--external", p]),
    "--define", `RUNNER_BUILD_VERSION=${JSON.stringify(version)}`, ...extra, join(ROOT, "src", "materialize.ts"), "--outfile", outfile],
    { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) {
    console.error(`build-materialize: bun build failed with exit code ${r.exitCode}`);
    process.exit(1);
  }
}

if (import.meta.main) buildMaterialize(process.argv[2]);
