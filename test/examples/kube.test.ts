// docs/CI.md's Kubernetes manifests, run unchanged with `podman kube play`
// (the one consumer of Kubernetes YAML available offline): the ansible
// example runs a playbook from a ConfigMap in a Pod with the restricted Pod
// Security Standard settings and an arbitrary uid in group 0. The YAML is
// extracted from docs/CI.md (the blocks marked <!-- run: kube-… -->), so the
// document is what runs. podman only: docker has no Kubernetes player.
// Needs `bun run examples` (after `bun run image`).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeImage, engine } from "../image/engine.ts";
import { docBlock, exampleTag, requireImage, SLOW, alias } from "./lib.ts";

const DOC = "docs/CI.md";
/** The image the manifest names; the test tags the local example so (nothing is pulled). */
const DOC_IMAGE = "registry.example.com/runner-example-ansible:latest";
/** Removes that name again (set once the name is given, per engine variant). */
let unalias: (() => Promise<unknown>) | undefined;
const KUBE_NETWORK = "podman-default-kube-network";

describeImage("Kubernetes manifests of docs/CI.md (podman kube play)", () => {
  const dir = mkdtempSync(join(tmpdir(), "runner-kube-"));
  const configmap = join(dir, "playbook-configmap.yaml");
  const pod = join(dir, "playbook-pod.yaml");
  const rootPod = join(dir, "root-pod.yaml");
  /** What existed before, so that cleaning up removes only what kube play added. */
  let before = { network: false, images: new Set<string>(), volumes: new Set<string>() };
  const volumes = async () => new Set(lines((await engine(["volume", "ls", "-q"])).stdout));
  const images = async () => new Set(lines((await engine(["images", "--format", "{{.Repository}}:{{.Tag}}"])).stdout));

  beforeAll(async () => {
    writeFileSync(configmap, docBlock(DOC, "kube-configmap"));
    writeFileSync(pod, docBlock(DOC, "kube-pod"));
    before = { network: (await engine(["network", "exists", KUBE_NETWORK])).code === 0, images: await images(), volumes: await volumes() };
  });

  afterAll(async () => {
    for (const file of [pod, rootPod]) await engine(["kube", "down", file]);
    await unalias?.();
    unalias = undefined;
    // kube play builds a pause image for the pods' infra containers; the default kube network is not used here (--network none).
    for (const image of await images()) if (!before.images.has(image) && /podman-pause/.test(image)) await engine(["rmi", "-f", image]);
    if (!before.network) await engine(["network", "rm", "-f", KUBE_NETWORK]);
    // kube down leaves the ConfigMap's volume (named like the ConfigMap) behind.
    const added = [...await volumes()].filter((v) => !before.volumes.has(v));
    if (added.length) await engine(["volume", "rm", "-f", ...added]);
    rmSync(dir, { recursive: true, force: true });
  });

  async function play(file: string): Promise<{ code: number; logs: string; inspect: any }> {
    await requireImage(exampleTag("ansible"));
    unalias ??= await alias(DOC_IMAGE, "ansible");
    const r = await engine(["kube", "play", "--network", "none", "--configmap", configmap, file]);
    if (r.code !== 0) throw new Error(`podman kube play failed: ${r.stderr.trim()}`);
    const name = "playbook-ansible"; // kube play names a container POD-CONTAINER
    await engine(["wait", name], { timeoutMs: 120_000 });
    const inspect = JSON.parse((await engine(["container", "inspect", name])).stdout)[0];
    const logs = await engine(["logs", name]);
    await engine(["kube", "down", file]);
    return { code: inspect.State.ExitCode, logs: logs.stdout + logs.stderr, inspect };
  }

  test("C-HOME-2 C-ROOT-3: the Pod runs the ConfigMap's playbook as uid 1000680000, gid 0, no capabilities, no new privileges, seccomp, read-only root, no HOME set", async () => {
    const r = await play(pod);
    expect({ code: r.code, logs: r.logs }).toMatchObject({ code: 0 });
    expect(r.logs).toMatch(/localhost +: ok=2 +changed=0 +unreachable=0 +failed=0/);
    // What the process itself saw (/proc/self/status of the playbook's command).
    // shareProcessNamespace: the pod's infra container (its init) is PID 1, not the plugin.
    expect(r.logs).toMatch(/"uid=1000680000 gid=0 pid1=(\S+)"/);
    expect(r.logs.match(/pid1=(\S+)"/)![1]).not.toMatch(/ansible|python|runner/);
    expect(r.logs).toContain('"CapEff:\\t0000000000000000"');
    expect(r.logs).toContain('"NoNewPrivs:\\t1"');
    expect(r.logs).toContain('"Seccomp:\\t2"');
    expect(r.inspect.HostConfig.ReadonlyRootfs).toBe(true);
    expect(r.inspect.Config.User).toBe("1000680000:0");
    // The ConfigMap is the workspace, read-only; HOME is the image's (nobody set it).
    const ws = r.inspect.Mounts.find((m: { Destination: string }) => m.Destination === "/workspace");
    expect(ws?.RW).toBe(false);
    expect(r.inspect.Config.Env).toContain("HOME=/home/runner");
  }, SLOW);

  test("C-ROOT-1: podman kube play does not enforce runAsNonRoot (docs/CI.md says so): with runAsUser 0 it starts the container, and runner refuses root itself (77)", async () => {
    const text = docBlock(DOC, "kube-pod");
    expect(text).toContain("runAsNonRoot: true");
    const asRoot = text.replace(/runAsUser: \d+/, "runAsUser: 0");
    expect(asRoot).not.toBe(text);
    writeFileSync(rootPod, asRoot);
    const r = await play(rootPod);
    expect(r.code).toBe(77);
    expect(r.logs).toContain("runner: refusing to run as root");
  }, SLOW);
}, { only: "podman" });

function lines(s: string): string[] {
  return s.split("\n").filter(Boolean);
}
