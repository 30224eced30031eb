// docs/CI.md's .gitlab-ci.yml, run unchanged by gitlab-ci-local (a pinned
// devDependency that runs a real pipeline the way GitLab Runner's docker
// executor does) on podman and on docker. The YAML is extracted from
// docs/CI.md (the block marked <!-- run: gitlab-ci -->). Needs `bun run
// examples` (after `bun run image`) and `bun run bases` (the helper image).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOCAL_BASE_IMAGE, enginePath } from "../../scripts/image.ts";
import { describeImage, engine, engineEnv, engineName, ROOT } from "../image/engine.ts";
import { docBlock, exampleTag, requireImage, SLOW, alias } from "./lib.ts";

const GCL = join(ROOT, "node_modules", ".bin", "gitlab-ci-local");
/** The image the pipeline names; the test tags the local example so (nothing is pulled). */
const DOC_IMAGE = "registry.example.com/runner-example-ansible:latest";
/** Removes that name again (set once the name is given, per engine variant). */
let unalias: (() => Promise<unknown>) | undefined;

/** The site.yml of the pipeline: who runs it, and a file written into the checkout. */
const SITE = `- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        dest: "{{ playbook_dir }}/written-by-ansible.txt"
        content: "written\\n"
    - ansible.builtin.debug:
        msg: "uid={{ lookup('pipe', 'id -u') }} dir={{ playbook_dir }}"
`;

/** A job whose plugin fails: the pipeline must fail with the plugin's status. */
const FAILING = `hello:
  image:
    name: ${exampleTag("hello")}
    entrypoint: [""]
  script:
    - runner hello --exit 3
    - echo "not reached"
`;

function git(dir: string, ...args: string[]): void {
  const r = Bun.spawnSync(["git", "-c", "user.name=Test", "-c", "user.email=test@test.invalid", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
}

describeImage("GitLab CI pipeline of docs/CI.md (gitlab-ci-local)", () => {
  const dir = mkdtempSync(join(tmpdir(), "runner-gitlab-"));
  let before = { containers: new Set<string>(), volumes: new Set<string>() };
  const ids = async (args: string[]) => new Set((await engine(args)).stdout.split("\n").filter(Boolean));
  const snapshot = async () => ({ containers: await ids(["ps", "-aq", "--no-trunc"]), volumes: await ids(["volume", "ls", "-q"]) });

  beforeAll(async () => {
    writeFileSync(join(dir, ".gitlab-ci.yml"), docBlock("docs/CI.md", "gitlab-ci"));
    writeFileSync(join(dir, "failing.yml"), FAILING);
    writeFileSync(join(dir, "site.yml"), SITE);
    writeFileSync(join(dir, ".gitignore"), ".gitlab-ci-local/\n");
    git(dir, "init", "-q");
    git(dir, "add", ".");
    git(dir, "commit", "-qm", "pipeline");
    before = await snapshot();
  });

  afterAll(async () => {
    // gitlab-ci-local leaves containers and gcl-* volumes behind (on podman even with --cleanup, and after failures).
    const after = await snapshot();
    const containers = [...after.containers].filter((c) => !before.containers.has(c));
    const volumes = [...after.volumes].filter((v) => !before.volumes.has(v) && v.startsWith("gcl-"));
    if (containers.length) await engine(["rm", "-f", ...containers]);
    if (volumes.length) await engine(["volume", "rm", "-f", ...volumes]);
    await unalias?.();
    unalias = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** gitlab-ci-local on the current engine, with the flags docs/CI.md lists. */
  async function pipeline(extra: string[], flags = ["--no-umask"]) {
    await requireImage(exampleTag("ansible"));
    await requireImage(exampleTag("hello"));
    await requireImage(LOCAL_BASE_IMAGE);
    unalias ??= await alias(DOC_IMAGE, "ansible");
    const proc = Bun.spawn([process.execPath, GCL, "--container-executable", enginePath(engineName())!,
      "--helper-image", LOCAL_BASE_IMAGE, "--pull-policy", "if-not-present", "--cleanup", ...flags, ...extra], {
      cwd: dir, env: { ...engineEnv(), NO_COLOR: "1", FORCE_COLOR: "0" }, stdout: "pipe", stderr: "pipe", timeout: 300_000,
    });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, out: (stdout + stderr).replace(/\x1b\[[0-9;]*m/g, "") };
  }

  test("C-PLUGIN-3 C-HOME-1: the pipeline passes: runner check and the playbook run as uid 10001 and write into the checkout", async () => {
    const r = await pipeline([]);
    expect({ code: r.code, tail: r.out.slice(-600) }).toMatchObject({ code: 0 });
    expect(r.out).toContain("$ runner check");
    expect(r.out).not.toMatch(/\bFAIL /);
    expect(r.out).toMatch(/"msg": "uid=10001 dir=\/builds\/[^"]+"/);
    expect(r.out).toMatch(/localhost +: ok=2 +changed=1 +unreachable=0 +failed=0/);
    expect(r.out).toMatch(/PASS +ansible/);
  }, SLOW);

  test("C-PLUGIN-3: a job whose plugin exits 3 fails the pipeline: the job fails with status 3 and its later lines do not run", async () => {
    const r = await pipeline(["--file", "failing.yml"]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/hello finished in [\d.]+ m?s +FAIL 3/);
    expect(r.out).toMatch(/FAIL +hello/);
    expect(r.out).not.toContain("not reached");
  }, SLOW);

  test("C-ROOT-1: without --no-umask gitlab-ci-local runs the job as uid 0, and runner refuses it (77): why docs/CI.md lists the flag", async () => {
    const r = await pipeline([], []);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("runner: refusing to run as root");
    expect(r.out).toMatch(/ansible finished in [\d.]+ m?s +FAIL 77/);
  }, SLOW);
});

test("gitlab-ci-local is a devDependency pinned exactly", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  expect(pkg.devDependencies["gitlab-ci-local"]).toMatch(/^\d+\.\d+\.\d+$/);
});
