// A domain image derived from runner-base with the template of
// plugins-examples/template (test/image/fixtures/derived/Containerfile follows
// it; test/examples/template.test.ts checks that): C-IMAGE-6 and
// C-IMAGE-7. beforeAll builds it (network-less) from runner-base and
// runner-sdk, which `bun run image` must have built.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { BASE_TAG, currentEngine, ROOT, SDK_TAG, describeImage, engine, inspectImage, requireImage } from "./engine.ts";
import { duplicates, readLayers } from "../../scripts/layers.ts";
import { SBOM_PATH } from "../../scripts/image.ts";
import { PROP, componentSha256, runnerComponent } from "../../src/sbom.ts";

// Each test starts containers; bun's default limit is 5 s (bunfig's is not applied).
setDefaultTimeout(120_000);

const FIXTURES = join(import.meta.dir, "fixtures");
const TEMPLATE = join(FIXTURES, "derived", "Containerfile");
const DERIVED = "localhost/runner-test/derived:latest";
const REDEFINE = "localhost/runner-test/redefine-tool:latest";
const EPOCH = "1700000000";

function build(tag: string, context: string, base: string) {
  return engine(["build", "--network=none", "-f", TEMPLATE,
    "--build-arg", `RUNNER_BASE=${base}`, "--build-arg", `RUNNER_SDK=${SDK_TAG}`,
    "--build-arg", `SOURCE_DATE_EPOCH=${EPOCH}`, "--build-arg", "IMAGE_CREATED=2023-11-14T22:13:20Z", "--build-arg", "IMAGE_REVISION=fixture-rev",
    "-t", tag, context], { timeoutMs: 600_000 });
}

const run = (args: string[], timeoutMs = 60_000) => engine(["run", "--rm", ...args], { timeoutMs });

describeImage("derived domain image", () => {
  let built: { code: number; stderr: string } | null = null;
  let redefine: { code: number; stdout: string; stderr: string } | null = null;

  beforeAll(async () => {
    try {
      await requireImage(BASE_TAG);
      await requireImage(SDK_TAG);
    } catch {
      return; // each test reports the missing image
    }
    built = await build(DERIVED, join(FIXTURES, "derived"), BASE_TAG);
    if (built.code === 0) redefine = await build(REDEFINE, join(FIXTURES, "redefine-tool"), DERIVED);
  }, 900_000);

  afterAll(async () => {
    await engine(["rmi", "-f", DERIVED, REDEFINE]).catch(() => {});
  });

  async function need(): Promise<void> {
    await requireImage(BASE_TAG);
    await requireImage(SDK_TAG);
    if (!built || built.code !== 0) throw new Error(`building the derived fixture failed: ${built?.stderr.trim().split("\n").pop()}`);
  }

  test("C-IMAGE-6: the sdk has runner-materialize, runs it without bun, and carries the base contract", async () => {
    await requireImage(SDK_TAG);
    const noBun = await run(["--entrypoint", "/bin/sh", SDK_TAG, "-c", "command -v bun || echo no-bun; runner-materialize; echo status=$?"]);
    expect(noBun.stdout).toBe("no-bun\nstatus=64\n");
    expect(noBun.stderr).toStartWith("runner-materialize: --out DIR is required");
    const contract = await run(["--entrypoint", "/bin/cat", SDK_TAG, "/etc/runner/image.env"]);
    const base = await run(["--entrypoint", "/bin/cat", BASE_TAG, "/etc/runner/image.env"]);
    expect(contract.code).toBe(0);
    expect(contract.stdout).toBe(base.stdout);
  });

  test("C-IMAGE-6: the derived image builds network-less with the documented template", async () => {
    await need();
    expect(built!.code).toBe(0);
  });

  test("C-IMAGE-6: the plugin runs as PID 1 with every argument byte for byte", async () => {
    await need();
    const args = ["a b", "", "*", "--help", "line1\nline2", "$HOME", "é"];
    const r = await run([DERIVED, "fixture-args", ...args]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toBe(`pid=1 argv0=/usr/local/lib/runner.d/fixture-args argc=${args.length} plugin=fixture-args\n${args.map((a) => `[${a}]\n`).join("")}`);
  });

  test("C-IMAGE-6: the exit status of the plugin is the exit status of the container", async () => {
    await need();
    for (const status of ["0", "3", "42", "125"]) {
      const r = await run(["-e", `FIXTURE_EXIT=${status}`, DERIVED, "fixture-args"]);
      expect({ status, code: r.code }).toEqual({ status, code: Number(status) });
    }
  });

  test("C-IMAGE-6: info shows the domain identity, IMAGE_BASE_*, the inherited runtime and the domain tool", async () => {
    await need();
    const r = await run([DERIVED, "info", "--json"]);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    const base = JSON.parse((await run([BASE_TAG, "info", "--json"])).stdout);
    expect(info.image).toEqual({
      IMAGE_NAME: "runner-fixture", IMAGE_VERSION: "1.0.0-test", IMAGE_DOMAIN: "testing", IMAGE_ROLE: "fixture",
      IMAGE_DESCRIPTION: "A derived image for the image tests",
      IMAGE_BASE_NAME: base.image.IMAGE_NAME, IMAGE_BASE_VERSION: base.image.IMAGE_VERSION,
      IMAGE_CREATED: "2023-11-14T22:13:20Z", IMAGE_REVISION: "fixture-rev",
    });
    expect(info.image.IMAGE_BASE_NAME).toBe("runner-base");
    expect(info.runtime).toEqual(base.runtime);
    expect(info.tools).toEqual({ ...base.tools, TOOL_FIXTURE: "1.0" });
  });

  test("C-IMAGE-6: the derived image keeps the contract modes, its plugins are ok, and check passes", async () => {
    await need();
    const t = await run(["--user", "0", "--entrypoint", "/usr/bin/find", DERIVED, "/etc/runner", "/usr/local/lib/runner.d", "-printf", "%p %U:%G %m\\n"]);
    expect(t.stdout.trim().split("\n").sort()).toEqual([
      "/etc/runner 0:0 555", "/etc/runner/image.env 0:0 444", "/etc/runner/runtime.env 0:0 444", "/etc/runner/tools.env 0:0 444",
      "/usr/local/lib/runner.d 0:0 755", "/usr/local/lib/runner.d/fixture-args 0:0 755", "/usr/local/lib/runner.d/fixture-term 0:0 755",
    ]);
    const plugins = JSON.parse((await run([DERIVED, "plugins", "--json"])).stdout);
    expect(plugins.plugins.map((p: { name: string; status: string }) => `${p.name}:${p.status}`)).toEqual(["fixture-args:ok", "fixture-term:ok"]);
    const check = await run([DERIVED, "check", "--json"]);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).checks.filter((c: { status: string }) => c.status === "FAIL")).toEqual([]);
    const meta = await inspectImage(DERIVED);
    expect(meta.Config.User).toBe("10001:10001");
    expect(meta.Config.Entrypoint).toEqual(["/usr/local/bin/runner"]);
  });

  test("C-IMAGE-6: a manifest that redefines a base tool fails the build at materialization", async () => {
    await need();
    expect(redefine).not.toBeNull();
    expect(redefine!.code).not.toBe(0);
    const output = redefine!.stdout + redefine!.stderr;
    expect(output).toContain("runner-materialize: image.manifest: TOOL_FIXTURE is a tool of the base image (runner-fixture) and may not be redefined");
    expect((await engine(["image", "inspect", REDEFINE])).code).not.toBe(0);
  });

  test("C-IMAGE-9: the template stores no file twice: modes set at COPY, contract files equal to the base's not copied again", async () => {
    await need();
    const below = (await inspectImage(BASE_TAG)).Config.Labels["org.opencontainers.image.base.name"];
    const found = duplicates(readLayers(DERIVED, currentEngine(), false), readLayers(below, currentEngine(), false).length);
    expect(found.map((d) => d.path)).toEqual([]);
  });

  test("C-SBOM-1: the template's image carries its own SBOM: its tools, runner-base's runner (same hash), its packages", async () => {
    await need();
    const r = await run(["--entrypoint", "/bin/cat", DERIVED, SBOM_PATH]);
    expect(r.code).toBe(0);
    const bom = JSON.parse(r.stdout);
    expect(bom.metadata.component.name).toBe("runner-fixture");
    expect(bom.metadata.component.properties).toContainEqual({ name: `${PROP.tool}TOOL_FIXTURE`, value: "1.0" });
    const base = JSON.parse((await run(["--entrypoint", "/bin/cat", BASE_TAG, SBOM_PATH])).stdout);
    expect(componentSha256(runnerComponent(bom))).toBe(componentSha256(runnerComponent(base)));
    expect(bom.components.filter((c: any) => c.purl?.startsWith("pkg:deb/")).length)
      .toBe(base.components.filter((c: any) => c.purl?.startsWith("pkg:deb/")).length);
  });

  test("C-IMAGE-7: stop delivers SIGTERM to the plugin itself (PID 1) and the container ends with its status, well before the timeout", async () => {
    await need();
    const name = `runner-test-term-${process.pid}`;
    const started = await engine(["run", "-d", "--name", name, DERIVED, "fixture-term"]);
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: "" });
    try {
      let logs = "";
      for (let i = 0; i < 100 && !logs.includes("ready"); i++) {
        await Bun.sleep(100);
        logs = (await engine(["logs", name])).stdout;
      }
      expect(logs).toBe("ready pid=1\n");
      const t0 = performance.now();
      const stop = await engine(["stop", "-t", "30", name]);
      const seconds = (performance.now() - t0) / 1000;
      expect(stop.code).toBe(0);
      expect(seconds).toBeLessThan(10);
      const state = await engine(["inspect", "--format", "{{.State.ExitCode}}", name]);
      expect(state.stdout.trim()).toBe("42");
      expect((await engine(["logs", name])).stdout).toBe("ready pid=1\nTERM received by pid 1\n");
    } finally {
      await engine(["rm", "-f", name]);
    }
  });
});
