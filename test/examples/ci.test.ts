// The ways docs/CI.md runs the images, reproduced with the engine here:
// GitLab's docker executor (entrypoint overridden, the job script run by a
// shell), GitHub Actions container jobs (a `tail -f /dev/null` container and
// steps run with `exec`), and Kubernetes' restricted settings (arbitrary
// uid, gid 0, read-only root, no passwd entry), on podman and docker.
// GitHub Actions cannot run here (no runner works offline): this is its
// engine-level equivalent. GitLab CI and Kubernetes YAML also run for real:
// gitlab.test.ts (gitlab-ci-local) and kube.test.ts (podman kube play).
// Needs `bun run examples` (after `bun run image`).
import { expect, test } from "bun:test";
import { describeImage, engine } from "../image/engine.ts";
import { exampleTag, lines, noPasswd, readOnly, requireImage, runExample, SLOW } from "./lib.ts";

const HELLO = exampleTag("hello");

describeImage("CI recipes of docs/CI.md", () => {
  test("C-PLUGIN-3: GitLab docker executor: with an empty entrypoint a shell runs the job script, runner commands work and statuses pass through", async () => {
    // What GitLab does with `image: {entrypoint: [""]}`: no entrypoint, its shell runs the script lines.
    const script = "set -e; runner check; runner hello gitlab; echo \"shell pid=$$ uid=$(id -u) pwd=$PWD\"; runner hello --exit 3 || echo \"status=$?\"";
    const r = await runExample("hello", ["sh", "-c", script], ["--entrypoint", ""]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out).toContain("argv0=/usr/local/lib/runner.d/hello");
    expect(out).toContain("arg1=<gitlab>");
    // The shell, not runner, is the main process: what the override gives up.
    expect(out).toContain("shell pid=1 uid=10001 pwd=/workspace");
    expect(out.at(-1)).toBe("status=3");
    expect(r.stdout).not.toContain("FAIL");
  }, SLOW);

  test("C-ROOT-3 C-CHECK-2: GitHub Actions container job: entrypoint tail -f /dev/null, steps by exec as the uid of the GitHub runner; check only WARNs", async () => {
    await requireImage(HELLO);
    // GitHub starts job containers with `--entrypoint tail IMAGE -f /dev/null`
    // and runs each step with `docker exec CONTAINER sh -e FILE`; `options: --user 1001:0`
    // matches the uid that owns the runner's workspace.
    const started = await engine(["run", "-d", "--entrypoint", "tail", "--user", "1001:0", HELLO, "-f", "/dev/null"]);
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    try {
      const step = await engine(["exec", id, "sh", "-e", "-c", "runner hello github"]);
      expect(step.code).toBe(0);
      expect(lines(step.stdout)[1]).toMatch(/^plugin=hello runner=\S+ pid=\d+ uid=1001$/);
      const failing = await engine(["exec", id, "sh", "-e", "-c", "runner hello --exit 3"]);
      expect(failing.code).toBe(3);
      const check = await engine(["exec", id, "runner", "check"]);
      expect(check.code).toBe(0);
      expect(check.stdout).toMatch(/^WARN {2}uid: uid 1001 differs from RUNNER_UID 10001/m);
    } finally {
      await engine(["kill", id]);
      await engine(["rm", "-f", id]);
    }
  }, SLOW);

  test("C-IMAGE-5: Kubernetes restricted pod settings (arbitrary uid, gid 0, read-only root, no passwd entry): kubectl and check run", async () => {
    const k8s = ["--user", "1000680000:0", ...readOnly(), ...noPasswd(), "--network=none"];
    const version = await runExample("kubectl", ["kubectl", "version", "--client", "--short"], k8s);
    expect(version.stderr).toBe("");
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^Client Version: v\d+\.\d+\.\d+\n$/);
    const check = await runExample("kubectl", ["check"], ["--init", ...k8s]);
    expect(check.code).toBe(0);
    expect(check.stdout).not.toContain("FAIL");
    expect(check.stdout).toMatch(/^WARN {2}uid: uid 1000680000 differs from RUNNER_UID 10001/m);
  }, SLOW);
});
