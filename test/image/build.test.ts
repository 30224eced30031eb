// Building runner-base: network-less from base images given as build
// arguments (C-IMAGE-4), and reproducible (C-IMAGE-8). beforeAll rebuilds
// the image from scratch (--no-cache, --network=none) with exactly the
// arguments `bun run image` uses, to a test tag; the tests compare it with
// the image `bun run image` built.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildArgs, plan, PUBLIC_BASE_IMAGE, PUBLIC_BUN_IMAGE, type Plan } from "../../scripts/image.ts";
import { BASE_TAG, ROOT, describeImage, engine, inspectImage, requireImage } from "./engine.ts";

// Each test starts containers; bun's default limit is 5 s (bunfig's is not applied).
setDefaultTimeout(120_000);

const REBUILD = "localhost/runner-test/base-rebuild:latest";
const CONTRACT = ["/etc/runner/image.env", "/etc/runner/runtime.env", "/etc/runner/tools.env"];

/** sha256 and size of each file, read inside the image. */
async function digests(image: string, files: string[]): Promise<string[]> {
  const r = await engine(["run", "--rm", "--entrypoint", "/usr/bin/sha256sum", image, ...files]);
  if (r.code !== 0) throw new Error(`sha256sum in ${image} failed: ${r.stderr.trim()}`);
  const sizes = await engine(["run", "--rm", "--entrypoint", "/usr/bin/stat", image, "-c", "%s %n", ...files]);
  return [...r.stdout.trim().split("\n"), ...sizes.stdout.trim().split("\n")];
}

describeImage("building runner-base", () => {
  let p: Plan | null = null;
  let rebuild: { code: number; stdout: string; stderr: string; seconds: number } | null = null;

  beforeAll(async () => {
    try { await requireImage(BASE_TAG); } catch { return; }
    p = plan();
    const t0 = performance.now();
    const r = await engine(buildArgs(p, "runtime", REBUILD, ["--no-cache"]), { timeoutMs: 900_000 });
    rebuild = { ...r, seconds: (performance.now() - t0) / 1000 };
  }, 900_000);

  afterAll(async () => {
    await engine(["rmi", "-f", REBUILD]).catch(() => {});
  });

  async function need(): Promise<void> {
    await requireImage(BASE_TAG);
    if (!rebuild || rebuild.code !== 0) {
      throw new Error(`the network-less rebuild failed: ${rebuild?.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    }
  }

  test("C-IMAGE-4: every stage starts FROM a build argument with a public default; nothing is installed from a registry", () => {
    const text = readFileSync(join(ROOT, "Containerfile"), "utf8");
    const lines = text.split("\n").filter((l) => !l.startsWith("#"));
    expect(lines).toContain(`ARG BUN_IMAGE=${PUBLIC_BUN_IMAGE}`);
    expect(lines).toContain(`ARG BASE_IMAGE=${PUBLIC_BASE_IMAGE}`);
    // FROM [--platform=…] IMAGE [AS NAME]: a build argument, or an earlier stage (compile → build, C-MULTIARCH-1).
    const froms = lines.filter((l) => /^FROM /.test(l)).map((l) => l.split(/\s+/).slice(1).filter((w) => !w.startsWith("--platform="))[0]);
    expect(froms).toEqual(["${BUN_IMAGE}", "compile", "${BASE_IMAGE}", "${BASE_IMAGE}"]);
    const run = lines.join("\n");
    expect(run).not.toMatch(/\b(apt-get|apt|dpkg -i|npm|bun (add|install|i)|pip|curl|wget)\b/);
  });

  test("C-IMAGE-4: bun run image builds with --network=none and passes the bases as BUN_IMAGE/BASE_IMAGE", async () => {
    await need();
    const args = buildArgs(p!, "runtime", REBUILD);
    expect(args).toContain("--network=none");
    expect(args).toContain(`BUN_IMAGE=${p!.bunImage.ref}`);
    expect(args).toContain(`BASE_IMAGE=${p!.baseImage.ref}`);
  });

  test("C-IMAGE-4: a build from scratch (--no-cache) with no network succeeds, from the given base", async () => {
    await need();
    expect(rebuild!.code).toBe(0);
    // It really ran the build stage without the cache: the tests ran in it.
    expect(rebuild!.stdout + rebuild!.stderr).toMatch(/Ran \d+ tests across \d+ files/);
    const meta = await inspectImage(REBUILD);
    expect(meta.Config.Labels["org.opencontainers.image.base.name"]).toBe(p!.baseImage.ref);
    const base = await inspectImage(p!.baseImage.ref);
    expect(meta.RootFS.Layers.slice(0, base.RootFS.Layers.length)).toEqual(base.RootFS.Layers);
  });

  test("C-IMAGE-8: two builds of the same commit give identical /etc/runner/* bytes", async () => {
    await need();
    const a = await digests(BASE_TAG, CONTRACT);
    const b = await digests(REBUILD, CONTRACT);
    expect(a).toHaveLength(6);
    expect(b).toEqual(a);
  });

  test("C-IMAGE-8: two builds of the same commit give an identical runner binary", async () => {
    await need();
    const a = await digests(BASE_TAG, ["/usr/local/bin/runner"]);
    const b = await digests(REBUILD, ["/usr/local/bin/runner"]);
    expect(a[0]).toMatch(/^[0-9a-f]{64}  \/usr\/local\/bin\/runner$/);
    expect(b).toEqual(a);
  });
});
