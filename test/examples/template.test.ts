// plugins-examples/template: a domain image folder that stands alone (issue 13).
//
// 1. Every example's Containerfile (and the image tests' derived fixture)
//    holds the template's shared blocks, byte for byte and in order, and
//    restates its manifest's identity in the ARGs the labels use.
// 2. Copied to an empty directory that is not a git checkout, the template
//    builds with exactly `ENGINE build -t NAME .` against runner-base and
//    runner-sdk under their default tags (:latest), on each engine this
//    machine has; the result shows the template's identity, its own labels,
//    passes `check` and runs its plugin. A label that disagrees with the
//    manifest fails the build.
// Needs `bun run image` (runner-base and runner-sdk) for part 2.
import { afterAll, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "../../src/runner.ts";
import { EXAMPLES, EXAMPLES_DIR } from "../../scripts/examples.ts";
import { latestOf } from "../../scripts/image.ts";
import { BASE_TAG, ROOT, SDK_TAG, SKIP_IMAGE_TESTS, currentEngine, describeImage, engine, engineEnv, engineName, requireImage } from "../image/engine.ts";

const TEMPLATE = join(EXAMPLES_DIR, "template");
const TAG = "localhost/runner-test/template-standalone:latest";
const BAD = "localhost/runner-test/template-bad-label:latest";
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Blocks = Array<{ name: string; text: string }>;

/** The `# >>> template: NAME` … `# <<< template: NAME` blocks of a Containerfile, in order. */
export function templateBlocks(text: string, file: string): Blocks {
  const out: Blocks = [];
  const re = /^# >>> template: (.+)\n([\s\S]*?)^# <<< template: (.+)\n/gm;
  for (const m of text.matchAll(re)) {
    if (m[1] !== m[3]) throw new Error(`${file}: block '${m[1]}' ends as '${m[3]}'`);
    out.push({ name: m[1]!, text: m[0] });
  }
  const opened = (text.match(/^# >>> template: /gm) ?? []).length;
  if (opened !== out.length) throw new Error(`${file}: ${opened} blocks opened, ${out.length} closed`);
  return out;
}

/** `ARG NAME=default` of the global scope (before the first FROM), quotes removed. */
function globalArgs(text: string): Map<string, string> {
  const head = text.slice(0, text.search(/^FROM /m));
  return new Map([...head.matchAll(/^ARG ([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.replace(/^"(.*)"$/, "$1")]));
}

const FOLLOWERS = [
  ...EXAMPLES.filter((n) => n !== "template").map((n) => join("plugins-examples", n, "Containerfile")),
  join("test", "image", "fixtures", "derived", "Containerfile"),
];

// Static, but plugins-examples/ is not in the Containerfile's build context:
// describeImage skips it there (RUNNER_SKIP_IMAGE_TESTS=1), loudly. Static
// checks need no engine variant: they run once, in podman's block.
describeImage("the domain-image template (plugins-examples/template)", () => {
  const template = SKIP_IMAGE_TESTS ? "" : readFileSync(join(TEMPLATE, "Containerfile"), "utf8");
  const shared = templateBlocks(template, "template");

  test("C-IMAGE-6: the template folder is complete: Containerfile, image.manifest, one plugin, README.md", () => {
    expect(readdirSync(TEMPLATE).sort()).toEqual(["Containerfile", "Dockerfile", "README.md", "greet", "image.manifest"]);
    // docker (20.10 here) reads only `Dockerfile`; podman prefers `Containerfile`: one file, two names.
    expect(readlinkSync(join(TEMPLATE, "Dockerfile"))).toBe("Containerfile");
    expect(shared.map((b) => b.name)).toEqual([
      "build facts and the contract stage", "the final stage begins", "the contract", "SBOM, labels and the user",
    ]);
    // Every default is a build argument: the bases, the build facts.
    const args = globalArgs(template);
    expect(Object.fromEntries(["RUNNER_BASE", "RUNNER_SDK", "SOURCE_DATE_EPOCH", "IMAGE_CREATED", "IMAGE_REVISION"].map((k) => [k, args.get(k)]))).toEqual({
      RUNNER_BASE: latestOf(BASE_TAG), RUNNER_SDK: latestOf(SDK_TAG),
      SOURCE_DATE_EPOCH: "0", IMAGE_CREATED: "1970-01-01T00:00:00Z", IMAGE_REVISION: "unknown",
    });
    expect(template).not.toMatch(/^# syntax=/m); // a syntax image would be pulled: no registry here
  });

  for (const file of FOLLOWERS) {
    test(`C-IMAGE-6: ${file} holds the template's shared blocks byte for byte, in order, and restates its manifest's identity`, () => {
      const text = readFileSync(join(ROOT, file), "utf8");
      expect(templateBlocks(text, file)).toEqual(shared);
      const manifest = parseEnv(readFileSync(join(ROOT, file, "..", "image.manifest")));
      const args = globalArgs(text);
      for (const key of ["IMAGE_NAME", "IMAGE_VERSION", "IMAGE_DESCRIPTION", "IMAGE_SOURCE", "IMAGE_LICENSES"]) {
        expect({ key, arg: args.get(key) }).toEqual({ key, arg: manifest.get(key) ?? "" });
      }
    });
  }
}, { only: "podman" });

describeImage("the template builds alone, with a plain build (plugins-examples/template)", () => {
  const manifest = SKIP_IMAGE_TESTS ? new Map<string, string>() : parseEnv(readFileSync(join(TEMPLATE, "image.manifest")));

  /** A copy of the template in a fresh directory that is not inside any git checkout. */
  function copy(): string {
    const dir = mkdtempSync(join(tmpdir(), "runner-template-"));
    dirs.push(dir);
    cpSync(TEMPLATE, dir, { recursive: true, verbatimSymlinks: true });
    expect(readlinkSync(join(dir, "Dockerfile"))).toBe("Containerfile");
    return dir;
  }

  type Run = (args: readonly string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

  /** What a plain build of the template must give, asked through `run` (podman or docker). */
  async function expectTemplateImage(run: Run, log: string): Promise<void> {
    // (The version check ran unless its layer came from the cache; a mismatch fails the build either way.)
    void log;
    const base = JSON.parse((await run(["run", "--rm", latestOf(BASE_TAG), "info", "--json"])).stdout);
    const info = await run(["run", "--rm", TAG, "info", "--json"]);
    expect(info.code).toBe(0);
    const own = Object.fromEntries([...manifest].filter(([k]) => k.startsWith("IMAGE_")));
    expect(JSON.parse(info.stdout)).toEqual({
      image: { ...own, IMAGE_BASE_NAME: "runner-base", IMAGE_BASE_VERSION: base.image.IMAGE_VERSION, IMAGE_CREATED: "1970-01-01T00:00:00Z", IMAGE_REVISION: "unknown" },
      runtime: base.runtime,
      tools: { ...base.tools, TOOL_GREET_VERSION: manifest.get("TOOL_GREET_VERSION") },
    });
    const labels = JSON.parse((await run(["image", "inspect", "--format", "{{json .Config.Labels}}", TAG])).stdout);
    const p = "org.opencontainers.image";
    expect(Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith(p)))).toEqual({
      [`${p}.title`]: manifest.get("IMAGE_NAME"), [`${p}.version`]: manifest.get("IMAGE_VERSION"),
      [`${p}.revision`]: "unknown", [`${p}.created`]: "1970-01-01T00:00:00Z",
      [`${p}.source`]: manifest.get("IMAGE_SOURCE"), [`${p}.description`]: manifest.get("IMAGE_DESCRIPTION"),
      [`${p}.licenses`]: manifest.get("IMAGE_LICENSES"), [`${p}.base.name`]: latestOf(BASE_TAG),
    });
    const check = await run(["run", "--rm", "--init", TAG, "check"]);
    expect(check.stdout).toContain("PASS  plugin:greet: ok");
    expect(check.stdout).not.toContain("FAIL");
    expect(check.code).toBe(0);
    const greet = await run(["run", "--rm", TAG, "greet", "a b"]);
    expect(greet).toEqual({ code: 0, stdout: `hello, a b (from ${manifest.get("IMAGE_NAME")})\n`, stderr: "" });
  }

  // docker: the test's private daemon has no bridge network (scripts/dockerd.ts);
  // the template installs nothing, so --network=none suits any docker host.
  const network = () => (engineName() === "docker" ? ["--network=none"] : []);
  afterAll(async () => { await engine(["rmi", "-f", TAG, BAD]).catch(() => {}); });

  test("C-IMAGE-6 C-IMAGE-3 C-MANIFEST-2: copied where there is no git, `build -t NAME .` gives its identity, its own labels, a passing check", async () => {
    await requireImage(latestOf(BASE_TAG));
    await requireImage(latestOf(SDK_TAG));
    const dir = copy();
    expect(Bun.spawnSync(["git", "rev-parse", "--git-dir"], { cwd: dir, stdout: "pipe", stderr: "pipe" }).exitCode).not.toBe(0);
    const built = Bun.spawnSync([currentEngine(), "build", ...network(), "-t", TAG, "."], { cwd: dir, env: engineEnv(), stdout: "pipe", stderr: "pipe" });
    const log = built.stdout.toString() + built.stderr.toString();
    expect({ code: built.exitCode, tail: built.exitCode === 0 ? "" : log.slice(-2000) }).toEqual({ code: 0, tail: "" });
    // The warning comes from the materialize step, unless the engine reused that step from its cache.
    const cached = engineName() === "docker" ? log.includes(" CACHED") : /: RUN runner-materialize [^\n]*\n--> Using cache /.test(log);
    if (!cached) expect(log).toContain("runner-materialize: warning: no revision given: IMAGE_REVISION=unknown");
    await expectTemplateImage((args) => engine(args), log);
  }, 900_000);

  test("C-IMAGE-3: a label build argument that disagrees with image.manifest fails the build, naming the label and the fix", async () => {
    await requireImage(latestOf(SDK_TAG));
    const dir = copy();
    const file = join(dir, "image.manifest");
    writeFileSync(file, readFileSync(file, "utf8").replace(/^IMAGE_VERSION=.*$/m, "IMAGE_VERSION=1.1.0"));
    const r = await engine(["build", ...network(), "-t", BAD, dir], { timeoutMs: 600_000 });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("runner-materialize: label org.opencontainers.image.version is '1.0.0' but image.manifest has IMAGE_VERSION=1.1.0: set the build argument IMAGE_VERSION to '1.1.0' (ARG default or --build-arg)");
    expect((await engine(["image", "inspect", BAD])).code).not.toBe(0);
  }, 600_000);
});
