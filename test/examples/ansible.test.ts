// plugins-examples/ansible: Debian's ansible-core behind three runner plugins,
// driven with real playbooks in a real container. Needs `bun run examples`
// (after `bun run image`).
import { afterAll, expect, test } from "bun:test";
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildArgs } from "../../scripts/examples.ts";
import { describeImage, engine, engineName, SDK_TAG } from "../image/engine.ts";
import { BASE_TAG, EXAMPLES_DIR, exampleTag, infoOf, lines, noPasswd, readOnly, requireImage, runExample, workspace, SLOW } from "./lib.ts";

const TAG = exampleTag("ansible");
const cleanup: string[] = [];
afterAll(() => { for (const dir of cleanup) rmSync(dir, { recursive: true, force: true }); });

/** A playbook on the local host: writes a file into /workspace and prints a fact. */
const SITE = `- name: runner example
  hosts: localhost
  connection: local
  gather_facts: true
  tasks:
    - name: write a file into the workspace
      ansible.builtin.copy:
        dest: /workspace/written-by-ansible.txt
        content: "distribution={{ ansible_facts['distribution'] }} {{ ansible_facts['distribution_release'] }}\\n"
        mode: "0644"
    - name: print a fact
      ansible.builtin.debug:
        msg: "fact python_version={{ ansible_facts['python_version'] }}"
`;

/** The same on a workspace nobody but root may write: it writes to /tmp and reports who ran it. */
const SITE_TMP = `- name: runner example, arbitrary uid
  hosts: localhost
  connection: local
  gather_facts: true
  tasks:
    - name: write a file into /tmp
      ansible.builtin.copy:
        dest: /tmp/written-by-ansible.txt
        content: "distribution={{ ansible_facts['distribution'] }} {{ ansible_facts['distribution_release'] }}"
        mode: "0644"
    - name: say who ran it, with which HOME
      ansible.builtin.debug:
        msg: "uid={{ lookup('pipe', 'id -u') }} home={{ lookup('env', 'HOME') }} {{ lookup('file', '/tmp/written-by-ansible.txt') }}"
`;

function site(): string {
  const dir = workspace("ansible");
  cleanup.push(dir);
  writeFileSync(join(dir, "site.yml"), SITE);
  return dir;
}

describeImage("example ansible (plugins-examples/ansible)", () => {
  test("C-IMAGE-6: a connection: local playbook mounted in /workspace writes a file and prints a fact, as uid 10001", async () => {
    const dir = site();
    const r = await runExample("ansible", ["ansible-playbook", "-i", "localhost,", "site.yml"],
      ["--init", "--network=none", "-v", `${dir}:/workspace`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/"msg": "fact python_version=3\.\d+\.\d+"/);
    expect(r.stdout).toMatch(/localhost +: ok=3 +changed=1 +unreachable=0 +failed=0/);
    const out = join(dir, "written-by-ansible.txt");
    expect(readFileSync(out, "utf8")).toBe("distribution=Debian bookworm\n");
    // Written by the image's non-root user (rootful podman, no user namespace: host uid = container uid).
    expect([statSync(out).uid, statSync(out).gid]).toEqual([10001, 10001]);
  }, SLOW);

  test("C-PLUGIN-3: the status of a failing play (2 for ansible) passes through runner and the wrapper unchanged", async () => {
    const dir = workspace("ansible-fail");
    cleanup.push(dir);
    writeFileSync(join(dir, "fail.yml"), "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - ansible.builtin.fail:\n        msg: deliberately\n");
    const args = ["-i", "localhost,", "fail.yml"];
    const viaRunner = await runExample("ansible", ["ansible-playbook", ...args], ["--network=none", "-v", `${dir}:/workspace`]);
    const direct = await runExample("ansible", args, ["--network=none", "-v", `${dir}:/workspace`, "--entrypoint", "/usr/bin/ansible-playbook"]);
    expect(direct.code).toBe(2);
    expect(viaRunner.code).toBe(direct.code);
    expect(viaRunner.stdout).toContain("deliberately");
  }, SLOW);

  test("C-PLUGIN-4: the plugins are thin wrappers that hand ansible its real argv[0]; ansible ad-hoc and ansible-galaxy run", async () => {
    const version = await runExample("ansible", ["ansible", "--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toContain("executable location = /usr/bin/ansible\n");
    const ping = await runExample("ansible", ["ansible", "-i", "localhost,", "-c", "local", "localhost", "-m", "ansible.builtin.ping"], ["--network=none"]);
    expect(ping.code).toBe(0);
    expect(ping.stdout).toMatch(/localhost \| SUCCESS => [\s\S]*"ping": "pong"/);
    const dir = workspace("galaxy");
    cleanup.push(dir);
    const galaxy = await runExample("ansible", ["ansible-galaxy", "role", "init", "demo"], ["--network=none", "-v", `${dir}:/workspace`]);
    expect(galaxy.code).toBe(0);
    expect(galaxy.stdout).toContain("Role demo was created successfully");
    expect(statSync(join(dir, "demo", "tasks", "main.yml")).uid).toBe(10001);
  }, SLOW);

  test("C-IMAGE-6: TOOL_ANSIBLE_CORE_VERSION in tools.env is the installed ansible-core", async () => {
    const [info, version] = await Promise.all([infoOf(TAG), runExample("ansible", ["ansible", "--version"])]);
    const installed = lines(version.stdout)[0]!.match(/^ansible \[core (.+)\]$/)?.[1];
    expect(installed).toBeDefined();
    expect(info.tools.TOOL_ANSIBLE_CORE_VERSION).toBe(installed!);
  }, SLOW);

  test("C-IMAGE-6: the build fails when TOOL_ANSIBLE_CORE_VERSION in image.manifest differs from the installed ansible-core", async () => {
    await Promise.all([requireImage(BASE_TAG), requireImage(SDK_TAG), requireImage(TAG)]);
    // The same context with one changed line: the apt-get layer comes from the cache.
    const ctx = mkdtempSync(join(tmpdir(), "runner-ansible-mismatch-"));
    cleanup.push(ctx);
    cpSync(join(EXAMPLES_DIR, "ansible"), ctx, { recursive: true });
    const manifest = join(ctx, "image.manifest");
    const original = readFileSync(manifest, "utf8");
    const changed = original.replace(/^TOOL_ANSIBLE_CORE_VERSION=.*$/m, "TOOL_ANSIBLE_CORE_VERSION=0.0.1");
    expect(changed).not.toBe(original);
    writeFileSync(manifest, changed);
    const r = await engine(["build", ...buildArgs("ansible", undefined, engineName()), "-f", join(ctx, "Containerfile"), ctx], { timeoutMs: 600_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/image\.manifest has TOOL_ANSIBLE_CORE_VERSION=0\.0\.1 but ansible-core '\d+\.\d+\.\d+' is installed/);
  }, 600_000);

  test("C-HOME-2 C-ROOT-3: any uid in group 0 without a passwd entry, a workspace it cannot write, a read-only root with a writable /tmp: the playbook runs with no -e HOME", async () => {
    // The workspace belongs to root and is 0755: the uid may read the playbook, not write there.
    const dir = mkdtempSync(join(tmpdir(), "runner-ansible-ro-"));
    cleanup.push(dir);
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "site.yml"), SITE_TMP);
    // podman writes a passwd entry for the uid (home: the WORKDIR, /workspace here) unless --passwd=false; docker never does.
    const passwd = engineName() === "podman" ? [noPasswd(), []] : [noPasswd()];
    for (const [uid, entry] of [["123456", passwd[0]!], ["1000680000", passwd.at(-1)!]] as const) {
      const k8s = ["--init", "--network=none", "--user", `${uid}:0`, ...entry, ...readOnly(), "--tmpfs", "/tmp", "-v", `${dir}:/workspace`];
      const r = await runExample("ansible", ["ansible-playbook", "-i", "localhost,", "site.yml"], k8s);
      expect({ uid, code: r.code, stderr: r.stderr }).toEqual({ uid, code: 0, stderr: "" });
      // HOME is the image's, read-only here: the plugin moved it to /tmp for ansible.
      expect(r.stdout).toContain(`"msg": "uid=${uid} home=/tmp distribution=Debian bookworm"`);
      expect(r.stdout).toMatch(/localhost +: ok=3 +changed=1 +unreachable=0 +failed=0/);
      // Writable root (no --read-only): HOME, the image's, is writable by group 0 (C-HOME-1) and stays.
      const rw = await runExample("ansible", ["ansible-playbook", "-i", "localhost,", "site.yml"], ["--network=none", "--user", `${uid}:0`, ...entry, "-v", `${dir}:/workspace`]);
      expect({ uid, code: rw.code }).toEqual({ uid, code: 0 });
      expect(rw.stdout).toContain(`"msg": "uid=${uid} home=/home/runner distribution=Debian bookworm"`);
    }
    expect(readdirSync(dir)).toEqual(["site.yml"]);
    // The control: ansible itself, without the plugin's fallback, cannot work with the read-only HOME.
    const direct = await runExample("ansible", ["-i", "localhost,", "site.yml"],
      ["--network=none", "--user", "123456:0", ...noPasswd(), ...readOnly(), "--tmpfs", "/tmp", "-v", `${dir}:/workspace`, "--entrypoint", "/usr/bin/ansible-playbook"]);
    expect(direct.code).not.toBe(0);
    expect(direct.stdout + direct.stderr).toContain("/home/runner/.ansible/tmp");
  }, SLOW);

  test("C-PLUGIN-3: stop with --init ends a long-running playbook at once (143); without --init, ansible as PID 1 ignores SIGTERM and is killed (137)", async () => {
    await requireImage(TAG);
    const dir = workspace("ansible-sleep");
    cleanup.push(dir);
    writeFileSync(join(dir, "sleep.yml"), "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: sleep 120\n");
    const attempt = async (init: string[], timeout: number) => {
      const started = await engine(["run", "-d", ...init, "--network=none", "-v", `${dir}:/workspace`, TAG, "ansible-playbook", "-i", "localhost,", "sleep.yml"]);
      expect(started.code).toBe(0);
      const id = started.stdout.trim();
      try {
        // Stop only once the playbook runs its task (the sleep child exists).
        for (let i = 0; i < 100; i++) {
          const logs = await engine(["logs", id]);
          if (logs.stdout.includes("TASK [ansible.builtin.command]")) break;
          await Bun.sleep(200);
        }
        await Bun.sleep(500);
        const t0 = performance.now();
        await engine(["stop", "-t", String(timeout), id]);
        const seconds = (performance.now() - t0) / 1000;
        const code = Number((await engine(["inspect", "--format", "{{.State.ExitCode}}", id])).stdout.trim());
        return { code, seconds };
      } finally {
        await engine(["rm", "-f", id]);
      }
    };
    const withInit = await attempt(["--init"], 20);
    expect(withInit.code).toBe(143);
    expect(withInit.seconds).toBeLessThan(10);
    const withoutInit = await attempt([], 2);
    expect(withoutInit.code).toBe(137);
    expect(withoutInit.seconds).toBeGreaterThanOrEqual(1.5);
  }, SLOW);
});
