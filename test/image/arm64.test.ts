// The arm64 images of a multi-platform build (C-MULTIARCH-1, C-MULTIARCH-2), run under qemu on
// an amd64 build machine: they must behave like the build machine's images.
//
// Runs when RUNNER_PLATFORMS names linux/arm64 (scripts/test.sh sets it) and
// the images were built with it (`RUNNER_PLATFORMS=linux/amd64,linux/arm64
// bun run bases && … bun run image && … bun run examples`); missing images
// fail. Skipped, loudly and with the reason, when RUNNER_SKIP_ARM64=1, when
// RUNNER_PLATFORMS does not name linux/arm64, or when arm64 binaries cannot
// be made to run (binfmt_misc cannot be registered: not root, no
// qemu-user-static). The qemu registration this file makes is undone at the end.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { enable, restore, type Change } from "../../scripts/binfmt.ts";
import { BUN_VERSION, crossFlags, provide } from "../../scripts/cross.ts";
import { build } from "../../scripts/build.ts";
import { exampleTag, MULTI_PLATFORM_EXAMPLES } from "../../scripts/examples.ts";
import { archTag, hostArch, parsePlatforms } from "../../scripts/multiarch.ts";
import { BASE_TAG, SDK_TAG, VERSION, SKIP_IMAGE_TESTS, describeImage, engine, requireImage } from "./engine.ts";

// Every container start goes through qemu (~2x slower); builds take longer.
setDefaultTimeout(180_000);

const ARCH = "arm64";
const HOST = hostArch();

/** Why these tests cannot run here, or null when they can (and binfmt is registered now). */
let change: Change | null = null;
function skipReason(): string | null {
  if (SKIP_IMAGE_TESTS) return null; // describeImage skips (and says so) itself
  if (process.env.RUNNER_SKIP_ARM64 === "1") return "RUNNER_SKIP_ARM64=1 is set";
  let wanted: string[];
  try {
    wanted = parsePlatforms(process.env.RUNNER_PLATFORMS).arches;
  } catch (e) {
    return (e as Error).message;
  }
  if (!wanted.includes(ARCH)) return `RUNNER_PLATFORMS (${process.env.RUNNER_PLATFORMS ?? "unset"}) does not name linux/${ARCH}; scripts/test.sh sets it`;
  try {
    change = enable(ARCH);
  } catch (e) {
    return `cannot run ${ARCH} binaries here: ${(e as Error).message}`;
  }
  return null;
}
const reason = skipReason();
afterAll(() => { if (change) restore(change); });

const own = (tag: string) => archTag(tag, ARCH);
const host = (tag: string) => archTag(tag, HOST);
/** `run --rm` with --platform of the image's architecture (else podman warns on stderr that it differs from the host's). */
const run = (image: string, args: string[], engineArgs: string[] = []) => {
  const arch = image.endsWith(`-${ARCH}`) ? ARCH : HOST;
  return engine(["run", "--rm", "--platform", `linux/${arch}`, ...engineArgs, image, ...args], { timeoutMs: 120_000 });
};

/** The ELF e_machine of a file in an image, as od prints it ("b7 00": aarch64, "3e 00": x86-64). */
async function elfMachine(image: string, path: string): Promise<string> {
  const r = await run(image, ["-c", `od -An -tx1 -j18 -N2 ${path}`], ["--entrypoint", "/bin/sh"]);
  if (r.code !== 0) throw new Error(`od in ${image} failed: ${r.stderr}`);
  return r.stdout.trim();
}

const body = () => {
  test("C-MULTIARCH-1: runner-base, runner-sdk, hello, kubectl and typescript are manifest lists of linux/amd64 and linux/arm64", async () => {
    for (const tag of [BASE_TAG, SDK_TAG, ...[...MULTI_PLATFORM_EXAMPLES].map(exampleTag)]) {
      await requireImage(own(tag), "RUNNER_PLATFORMS=linux/amd64,linux/arm64 bun run image (and … bun run examples)");
      for (const list of [tag, tag.replace(/:[^:/]+$/, ":latest")]) {
        const r = await engine(["manifest", "inspect", list]);
        expect({ list, code: r.code }).toEqual({ list, code: 0 });
        const platforms = (JSON.parse(r.stdout).manifests as Array<{ platform: { os: string; architecture: string } }>)
          .map((m) => `${m.platform.os}/${m.platform.architecture}`).sort();
        expect({ list, platforms }).toEqual({ list, platforms: ["linux/amd64", "linux/arm64"] });
      }
      const arch = await engine(["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", own(tag)]);
      expect({ tag: own(tag), arch: arch.stdout.trim() }).toEqual({ tag: own(tag), arch: `linux/${ARCH}` });
      // Same configuration and labels (the base named by its multi-platform tag) as the build machine's image.
      const [a, b] = await Promise.all([own(tag), host(tag)].map(async (t) => JSON.parse((await engine(["image", "inspect", t])).stdout)[0].Config));
      expect({ tag, labels: a.Labels, user: a.User, entrypoint: a.Entrypoint, cmd: a.Cmd, workdir: a.WorkingDir })
        .toEqual({ tag, labels: b.Labels, user: b.User, entrypoint: b.Entrypoint, cmd: b.Cmd, workdir: b.WorkingDir });
    }
  });

  test("C-MULTIARCH-2: the arm64 image runs aarch64 code: uname -m, and runner and runner-materialize are aarch64 executables", async () => {
    await requireImage(own(BASE_TAG));
    const u = await run(own(BASE_TAG), ["-m"], ["--entrypoint", "uname"]);
    expect({ code: u.code, out: u.stdout.trim() }).toEqual({ code: 0, out: "aarch64" });
    // Through the manifest list too: the engine picks the arm64 image for --platform.
    const l = await engine(["run", "--rm", "--platform", `linux/${ARCH}`, "--entrypoint", "uname", BASE_TAG, "-m"]);
    expect({ code: l.code, out: l.stdout.trim() }).toEqual({ code: 0, out: "aarch64" });
    expect(await elfMachine(own(BASE_TAG), "/usr/local/bin/runner")).toBe("b7 00");
    expect(await elfMachine(own(SDK_TAG), "/usr/local/bin/runner-materialize")).toBe("b7 00");
    expect(await elfMachine(host(BASE_TAG), "/usr/local/bin/runner")).not.toBe("b7 00");
  });

  test("C-MULTIARCH-2: the arm64 image holds the same files with the same owners and modes, and the same contract bytes", async () => {
    await requireImage(own(BASE_TAG));
    const script = "find /etc/runner /usr/local/bin /usr/local/lib/runner.d /workspace /home -printf '%p %U:%G %m %y\\n' | sort; sha256sum /etc/runner/*; find / -xdev -type f -perm /6000 | wc -l";
    const [a, b] = await Promise.all([own(BASE_TAG), host(BASE_TAG)].map((t) => run(t, ["-c", script], ["--user", "0", "--entrypoint", "/bin/sh"])));
    expect({ code: a!.code, err: a!.stderr }).toEqual({ code: 0, err: "" });
    expect(a!.stdout).toBe(b!.stdout);
    expect(a!.stdout).toContain("/usr/local/bin/runner 0:0 555 f");
  });

  test("C-MULTIARCH-2: the arm64 image's SBOM names its own runner (SHA-256 of the aarch64 binary) and arm64 Debian packages", async () => {
    await requireImage(own(BASE_TAG));
    const r = await run(own(BASE_TAG), ["-c", "sha256sum /usr/local/bin/runner; cat /usr/share/runner/sbom.cdx.json"], ["--entrypoint", "/bin/sh"]);
    expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
    const nl = r.stdout.indexOf("\n");
    const sha = r.stdout.slice(0, nl).split(" ")[0];
    const bom = JSON.parse(r.stdout.slice(nl + 1)) as { components: Array<{ name: string; purl?: string; hashes?: Array<{ alg: string; content: string }> }> };
    expect(bom.components.find((c) => c.name === "runner")?.hashes).toEqual([{ alg: "SHA-256", content: sha! }]);
    const arches = new Set(bom.components.flatMap((c) => (c.purl ? [/[?&]arch=([a-z0-9]+)/.exec(c.purl)?.[1]] : [])));
    expect([...arches].sort()).toEqual(["all", ARCH]);
  });

  test("C-MULTIARCH-2: version, info --json and help print the same on arm64 as on the build machine's platform", async () => {
    await requireImage(own(BASE_TAG));
    const v = await run(own(BASE_TAG), ["version"]);
    expect({ code: v.code, out: v.stdout, err: v.stderr }).toEqual({ code: 0, out: `runner ${VERSION}\n`, err: "" });
    for (const args of [["info", "--json"], ["help"], ["plugins", "--json"]]) {
      const [a, b] = await Promise.all([run(own(BASE_TAG), args), run(host(BASE_TAG), args)]);
      expect({ args, code: a.code, out: a.stdout, err: a.stderr }).toEqual({ args, code: b.code, out: b.stdout, err: b.stderr });
      expect(a.code).toBe(0);
    }
    const info = JSON.parse((await run(own(BASE_TAG), ["info", "--json"])).stdout);
    expect(info.image.IMAGE_VERSION).toBe(VERSION);
  });

  test("C-MULTIARCH-2: check passes as an arbitrary UID of group 0, read-only, as on the build machine's platform", async () => {
    await requireImage(own(BASE_TAG));
    const flags = ["--user", "123456:0", "--read-only"];
    const [a, b] = await Promise.all([run(own(BASE_TAG), ["check"], flags), run(host(BASE_TAG), ["check"], flags)]);
    expect({ code: a.code, err: a.stderr }).toEqual({ code: 0, err: "" });
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toContain("PASS");
  });

  test("C-MULTIARCH-2: root is refused on arm64 with exit 77 and one line, as on the build machine's platform", async () => {
    await requireImage(own(BASE_TAG));
    const [a, b] = await Promise.all([run(own(BASE_TAG), ["version"], ["--user", "0"]), run(host(BASE_TAG), ["version"], ["--user", "0"])]);
    expect({ code: a.code, out: a.stdout }).toEqual({ code: 77, out: "" });
    expect(a.stderr).toMatch(/^runner: [^\n]+\n$/);
    expect(a.stderr).toBe(b.stderr);
  });

  test("C-MULTIARCH-2: a plugin's arguments and exit status pass through on arm64 (hello --exit 3; the typescript plugin)", async () => {
    await requireImage(own(exampleTag("hello")), "RUNNER_PLATFORMS=linux/amd64,linux/arm64 bun run examples");
    const fixed = ["--exit", "3", "a b"];
    const [a, b] = await Promise.all([run(own(exampleTag("hello")), ["hello", ...fixed]), run(host(exampleTag("hello")), ["hello", ...fixed])]);
    expect({ code: a.code, err: a.stderr }).toEqual({ code: 3, err: "" });
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toContain("arg1=<a b>");
    await requireImage(own(exampleTag("typescript")), "RUNNER_PLATFORMS=linux/amd64,linux/arm64 bun run examples");
    expect(await elfMachine(own(exampleTag("typescript")), "/usr/local/lib/runner.d/report")).toBe("b7 00");
    const [r, s] = await Promise.all([run(own(exampleTag("typescript")), ["report", "--json"]), run(host(exampleTag("typescript")), ["report", "--json"])]);
    expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
    expect(r.stdout).toBe(s.stdout);
  });

  test("C-MULTIARCH-2: a plugin runs arm64 code: kubectl through runner reports linux/arm64, the same version as on the build machine's platform", async () => {
    await requireImage(own(exampleTag("kubectl")), "RUNNER_PLATFORMS=linux/amd64,linux/arm64 bun run examples");
    const args = ["kubectl", "version", "--client", "-o", "json"];
    const [a, b] = await Promise.all([run(own(exampleTag("kubectl")), args), run(host(exampleTag("kubectl")), args)]);
    expect({ code: a.code, err: a.stderr }).toEqual({ code: 0, err: "" });
    const [ca, cb] = [JSON.parse(a.stdout).clientVersion, JSON.parse(b.stdout).clientVersion];
    expect(ca.platform).toBe(`linux/${ARCH}`);
    expect(cb.platform).toBe(`linux/${HOST}`);
    expect(ca.gitVersion).toBe(cb.gitVersion);
  });

  test("C-MULTIARCH-1: the cross-compiled runner is deterministic (two builds byte-identical) and an aarch64 executable", () => {
    const dir = provide(ARCH);
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version).toBe(BUN_VERSION);
    const tmp = mkdtempSync(join(tmpdir(), "runner-cross-"));
    try {
      // Same file name in two folders: bun embeds the executable's name.
      build(join(tmp, "a", "runner"), crossFlags(ARCH, dir));
      build(join(tmp, "b", "runner"), crossFlags(ARCH, dir));
      const a = readFileSync(join(tmp, "a", "runner"));
      const b = readFileSync(join(tmp, "b", "runner"));
      expect(a.equals(b)).toBe(true);
      expect([a[18], a[19]]).toEqual([0xb7, 0x00]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
};

if (reason) {
  console.warn(`\n!!! SKIPPED arm64 image tests: ${reason}.\n`);
  describe.skip("arm64 images under qemu", body);
} else {
  describeImage("arm64 images under qemu", body);
}
