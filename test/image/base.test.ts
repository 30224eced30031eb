// runner-base in a real engine (C-IMAGE-1, -2, -3, -5). The image must have
// been built by `bun run image`; without it these tests fail and say so.
import { beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { formatEnv, materialize } from "../../src/materialize.ts";
import { BASE_TAG, ROOT, VERSION, describeImage, engine, inspectImage, noPasswd, readOnly, requireImage } from "./engine.ts";

// Each test starts containers; bun's default limit is 5 s (bunfig's is not applied).
setDefaultTimeout(120_000);

const P = "org.opencontainers.image";

/** The contract the build should have written: the repo's manifest, with this commit's facts. */
function expectedContract() {
  const git = (args: string[]) => Bun.spawnSync(["git", "-C", ROOT, ...args], { stdout: "pipe" }).stdout.toString().trim();
  return materialize(readFileSync(join(ROOT, "image.manifest")), {
    epoch: Number(git(["log", "-1", "--format=%ct"])),
    revision: git(["rev-parse", "HEAD"]),
  });
}

const run = (args: string[], timeoutMs = 60_000) => engine(["run", "--rm", ...args], { timeoutMs });

/** Every path under the given roots with owner, group, octal mode and type, as root sees them. */
async function tree(image: string, ...roots: string[]): Promise<Map<string, string>> {
  const r = await run(["--user", "0", "--entrypoint", "/usr/bin/find", image, ...roots, "-printf", "%p %U:%G %m %y\\n"]);
  if (r.code !== 0) throw new Error(`find failed: ${r.stderr}`);
  return new Map(r.stdout.trim().split("\n").map((l) => { const [p, ...rest] = l.split(" "); return [p!, rest.join(" ")]; }));
}

describeImage("runner-base image", () => {
  let meta: any;
  beforeAll(async () => {
    await requireImage(BASE_TAG).catch(() => {});
    meta = await inspectImage(BASE_TAG).catch(() => null);
  });
  const need = () => requireImage(BASE_TAG);

  test("C-IMAGE-2: USER is numeric and not root, ENTRYPOINT is runner, CMD is help, WORKDIR /workspace", async () => {
    await need();
    const c = meta.Config;
    expect(c.User).toMatch(/^[1-9][0-9]*:[1-9][0-9]*$/);
    expect(c.User).toBe("10001:10001");
    expect(c.Entrypoint).toEqual(["/usr/local/bin/runner"]);
    expect(c.Cmd).toEqual(["help"]);
    expect(c.WorkingDir).toBe("/workspace");
  });

  test("C-IMAGE-2: /workspace is owned by the user and group 0, mode 0775, and writable by both", async () => {
    await need();
    expect((await tree(BASE_TAG, "/workspace", "-maxdepth", "0")).get("/workspace")).toBe("10001:0 775 d");
    for (const user of ["10001:10001", "123456:0"]) {
      const r = await run(["--user", user, "--entrypoint", "/usr/bin/touch", BASE_TAG, "/workspace/probe"]);
      expect({ user, code: r.code, stderr: r.stderr }).toEqual({ user, code: 0, stderr: "" });
    }
    const other = await run(["--user", "123456:123456", "--entrypoint", "/usr/bin/touch", BASE_TAG, "/workspace/probe"]);
    expect(other.code).not.toBe(0);
  });

  test("C-IMAGE-2: the user runner exists as 10001:10001 with its home", async () => {
    await need();
    const r = await run(["--entrypoint", "/usr/bin/getent", BASE_TAG, "passwd", "runner"]);
    expect(r.stdout).toBe("runner:x:10001:10001::/home/runner:/usr/sbin/nologin\n");
  });

  test("C-HOME-1: HOME is set by the image to RUNNER_HOME, a folder owned by the user and group 0 with g=u (0770), and empty", async () => {
    await need();
    const home = expectedContract().runtime.get("RUNNER_HOME")!;
    expect(meta.Config.Env).toContain(`HOME=${home}`);
    const t = await tree(BASE_TAG, home);
    expect(Object.fromEntries(t)).toEqual({ [home]: "10001:0 770 d" });
  });

  test("C-HOME-1: any uid in group 0 without a passwd entry gets that HOME and can write it; so does the image's user", async () => {
    await need();
    const home = expectedContract().runtime.get("RUNNER_HOME")!;
    const probe = 'printf "%s %s " "$HOME" "$(id -u)"; touch "$HOME/probe" && echo writable';
    for (const user of [["10001:10001"], ["123456:0", ...noPasswd()], ["1000680000:0", ...noPasswd()]]) {
      const r = await run(["--user", ...user, "--entrypoint", "/bin/sh", BASE_TAG, "-c", probe]);
      expect({ user: user[0], code: r.code, stdout: r.stdout, stderr: r.stderr })
        .toEqual({ user: user[0], code: 0, stdout: `${home} ${user[0]!.split(":")[0]} writable\n`, stderr: "" });
    }
    // A uid outside group 0 gets the same HOME but may not write it: the g=u rule is what grants it.
    const other = await run(["--user", "123456:123456", ...noPasswd(), "--entrypoint", "/bin/sh", BASE_TAG, "-c", probe]);
    expect(other.code).not.toBe(0);
    // With a read-only root file system HOME is read-only too: tools must write to /tmp (C-HOME-2).
    const ro = await run(["--user", "123456:0", ...noPasswd(), ...readOnly(), "--entrypoint", "/bin/sh", BASE_TAG, "-c", probe]);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toContain("Read-only file system");
  });

  test("C-HOME-1 C-CHECK-5: runner check finds HOME writable for an arbitrary uid in group 0 (PASS), and says so when a read-only root makes it not (WARN)", async () => {
    await need();
    const homeLine = async (extra: string[]) => {
      const r = await run(["--user", "123456:0", ...noPasswd(), ...extra, BASE_TAG, "check", "--json"]);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout).checks.find((c: { id: string }) => c.id === "home");
    };
    expect(await homeLine([])).toMatchObject({ status: "PASS" });
    expect(await homeLine(readOnly())).toMatchObject({ status: "WARN" });
  });

  test("C-IMAGE-3: the OCI labels equal the manifest values, the commit, and the base it was built FROM", async () => {
    await need();
    const want = expectedContract().image;
    const labels = meta.Config.Labels;
    expect(labels[`${P}.title`]).toBe(want.get("IMAGE_NAME")!);
    expect(labels[`${P}.version`]).toBe(want.get("IMAGE_VERSION")!);
    expect(labels[`${P}.version`]).toBe(VERSION);
    expect(labels[`${P}.source`]).toBe(want.get("IMAGE_SOURCE")!);
    expect(labels[`${P}.description`]).toBe(want.get("IMAGE_DESCRIPTION")!);
    expect(labels[`${P}.licenses`]).toBe(want.get("IMAGE_LICENSES")!);
    expect({ revision: labels[`${P}.revision`], created: labels[`${P}.created`] })
      .toEqual({ revision: want.get("IMAGE_REVISION")!, created: want.get("IMAGE_CREATED")! });
    // base.name names an image whose layers are the bottom of runner-base's.
    const baseName = labels[`${P}.base.name`];
    expect(baseName).toMatch(/debian:bookworm-slim$/);
    const base = await inspectImage(baseName);
    const layers: string[] = base.RootFS.Layers;
    expect(layers.length).toBeGreaterThan(0);
    expect(meta.RootFS.Layers.slice(0, layers.length)).toEqual(layers);
  });

  test("C-IMAGE-5: the default command (help) exits 0 and prints the usage", async () => {
    await need();
    const r = await run([BASE_TAG]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toStartWith("usage: runner COMMAND [ARGS...]");
  });

  test("C-IMAGE-5: version prints the package version", async () => {
    await need();
    const r = await run([BASE_TAG, "version"]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: `runner ${VERSION}\n` });
  });

  test("C-IMAGE-5: info --json equals the manifest values plus IMAGE_CREATED and IMAGE_REVISION", async () => {
    await need();
    const c = expectedContract();
    const r = await run([BASE_TAG, "info", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      image: Object.fromEntries(c.image), runtime: Object.fromEntries(c.runtime), tools: {},
    });
    expect(Object.keys(JSON.parse(r.stdout).image).slice(-2)).toEqual(["IMAGE_CREATED", "IMAGE_REVISION"]);
  });

  test("C-IMAGE-5: /etc/runner holds exactly the canonical files the manifest materializes to", async () => {
    await need();
    const c = expectedContract();
    for (const kind of ["image", "runtime", "tools"] as const) {
      const r = await run(["--entrypoint", "/bin/cat", BASE_TAG, `/etc/runner/${kind}.env`]);
      expect({ kind, text: r.stdout }).toEqual({ kind, text: formatEnv(c[kind]) });
    }
  });

  test("C-IMAGE-5: --user 0 exits 77", async () => {
    await need();
    for (const args of [["version"], ["help"], []]) {
      const r = await run(["--user", "0", BASE_TAG, ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 77 });
      expect(r.stderr).toStartWith("runner: refusing to run as root");
    }
  });

  test("C-IMAGE-5: an arbitrary uid with gid 0 runs info, and check only WARNs (exit 0, no FAIL)", async () => {
    await need();
    const info = await run(["--user", "123456:0", BASE_TAG, "info", "--json"]);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout).runtime.RUNNER_UID).toBe("10001");
    const check = await run(["--user", "123456:0", BASE_TAG, "check", "--json"]);
    expect(check.code).toBe(0);
    const result = JSON.parse(check.stdout);
    expect(result.ok).toBe(true);
    const statuses = result.checks.map((c: { status: string }) => c.status);
    expect(statuses).not.toContain("FAIL");
    expect(result.checks.find((c: { id: string }) => c.id === "uid")).toMatchObject({ status: "WARN" });
  });

  test("C-IMAGE-5: a read-only root file system works (info, check, plugins)", async () => {
    await need();
    for (const args of [["info", "--json"], ["check"], ["plugins"], ["version"]]) {
      for (const user of ["10001:10001", "123456:0"]) {
        const r = await run([...readOnly(), "--user", user, BASE_TAG, ...args]);
        expect({ args, user, code: r.code, stderr: r.stderr }).toEqual({ args, user, code: 0, stderr: "" });
      }
    }
  });

  test("C-IMAGE-1: runner is 0:0 0555, /etc/runner 0:0 0555 with three 0:0 0444 files, runner.d 0:0 0755 and empty", async () => {
    await need();
    const t = await tree(BASE_TAG, "/usr/local/bin/runner", "/etc/runner", "/usr/local/lib/runner.d");
    expect(Object.fromEntries(t)).toEqual({
      "/usr/local/bin/runner": "0:0 555 f",
      "/etc/runner": "0:0 555 d",
      "/etc/runner/image.env": "0:0 444 f",
      "/etc/runner/runtime.env": "0:0 444 f",
      "/etc/runner/tools.env": "0:0 444 f",
      "/usr/local/lib/runner.d": "0:0 755 d",
    });
    const plugins = await run([BASE_TAG, "plugins", "--json"]);
    expect(JSON.parse(plugins.stdout)).toEqual({ plugins: [] });
  });

  test("C-IMAGE-1: the user cannot change the contract or add a plugin", async () => {
    await need();
    for (const target of ["/etc/runner/image.env", "/etc/runner/new.env", "/usr/local/lib/runner.d/x", "/usr/local/bin/runner"]) {
      const r = await run(["--entrypoint", "/usr/bin/touch", BASE_TAG, target]);
      expect({ target, denied: r.code !== 0 && /Permission denied|Read-only/.test(r.stderr) }).toEqual({ target, denied: true });
    }
  });

  test("C-IMAGE-1: no image.manifest, no bun, no sources anywhere in the image", async () => {
    await need();
    const r = await run(["--user", "0", "--entrypoint", "/usr/bin/find", BASE_TAG, "/", "-xdev",
      "(", "-name", "image.manifest", "-o", "-name", "bun", "-o", "-name", "bunx", "-o", "-name", "*.ts",
      "-o", "-name", "bunfig.toml", "-o", "-name", "package.json", "-o", "-name", "node_modules",
      "-o", "-name", "runner-materialize", "-o", "-path", "/src", ")", "-print"]);
    expect({ code: r.code, found: r.stdout, stderr: r.stderr }).toEqual({ code: 0, found: "", stderr: "" });
    // The probe itself works: it finds what is there.
    const control = await run(["--user", "0", "--entrypoint", "/usr/bin/find", BASE_TAG, "/", "-xdev", "-name", "runtime.env", "-print"]);
    expect(control.stdout).toBe("/etc/runner/runtime.env\n");
  });

  test("C-IMAGE-1: no setuid or setgid files in the image", async () => {
    await need();
    const r = await run(["--user", "0", "--entrypoint", "/usr/bin/find", BASE_TAG, "/", "-xdev", "-type", "f", "-perm", "/6000", "-print"]);
    expect({ code: r.code, found: r.stdout }).toEqual({ code: 0, found: "" });
  });
});
