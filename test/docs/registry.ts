// How each documentation block marked `<!-- run: ID -->` runs, and what its
// output must be (test/docs/blocks.ts explains the markers). To make a new
// block run: mark it in the doc, add its ID here. Each entry says
//   cwd      "repo" (the checkout, as the doc's reader in it) or "tmp" (a fresh
//            folder that `setup` fills, e.g. with the site.yml a block uses);
//   status   the exit status each command must have (default: all 0);
//   claims   true: the `#` lines after a command are what it prints (VERSION
//            is package.json's version, … matches anything);
//   check    anything else the doc claims about the results;
//   sameAs   the block is not commands but the text of a file (comments
//            aside) that the named test runs;
//   docker   the block runs on docker: the private daemon of
//            scripts/dockerd.ts (DOCKER_HOST, DOCKER_BUILDKIT=1, `docker` on PATH
//            is Debian's client, which has BuildKit) with runner-base and
//            runner-sdk copied into it; where docker cannot run the test is
//            skipped, loudly, with the reason.
// Every command runs in one bash process, with PATH starting with
// node_modules/.bin and, for podman, CONTAINERS_CONF=scripts/containers.conf
// (the README tells podman users on hosts like these to export it).
// A command that ends in `echo $?` with a trailing `# … N` comment is checked
// for N by itself.
import { expect } from "bun:test";
import { chmodSync, cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, type CommandResult } from "./blocks.ts";

export type Entry = {
  cwd?: "repo" | "tmp";
  setup?: (dir: string) => void;
  timeoutMs?: number;
  status?: Record<number, number>;
  claims?: boolean;
  check?: (r: CommandResult[]) => void;
  sameAs?: { file: string; ranBy: string };
  docker?: boolean;
};

const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;

/** A folder with the examples' site.yml, readable by every container uid. */
function withSite(dir: string): void {
  cpSync(join(ROOT, "plugins-examples", "ansible", "site.yml"), join(dir, "site.yml"));
  chmodSync(dir, 0o755);
}

/** A copy of plugins-examples/template, as a domain team's folder (git or not). */
function templateCopy(git: boolean) {
  return (dir: string): void => {
    cpSync(join(ROOT, "plugins-examples", "template"), dir, { recursive: true, verbatimSymlinks: true });
    if (!git) return;
    const run = (...args: string[]) => {
      const r = Bun.spawnSync(["git", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe",
        env: { ...process.env, GIT_AUTHOR_DATE: "2026-01-02T03:04:05Z", GIT_COMMITTER_DATE: "2026-01-02T03:04:05Z" } });
      if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
    };
    run("init", "-q");
    run("add", ".");
    run("-c", "user.name=Doc Test", "-c", "user.email=doc@test.invalid", "commit", "-qm", "template");
  };
}

const playbookRan = (r: CommandResult): void => {
  expect(r.stdout).toContain("PLAY RECAP");
  expect(r.stdout).toMatch(/localhost\s+: ok=2\s+changed=0\s+unreachable=0\s+failed=0/);
  expect(r.stdout).toContain('"msg": "Debian bookworm, Python 3.');
};

const lastLine = (s: string): string => s.trimEnd().split("\n").at(-1) ?? "";

export const REGISTRY: Record<string, Entry> = {
  // README.md
  "readme-demo": {
    cwd: "repo", timeoutMs: 1_500_000,
    check: ([demo]) => {
      expect(demo!.stderr).toContain("+ /usr/bin/podman run --rm --user 123456:0 --read-only");
      expect(demo!.stdout).toContain(`runner ${VERSION}\n`);
      expect(demo!.stdout).toContain("IMAGE_NAME=runner-base");
      expect(demo!.stdout).toMatch(/^PASS {2}plugin-dir: /m);
    },
  },
  "readme-podman-conf": {
    cwd: "repo",
    check: ([, version]) => expect(version!.stdout).toBe(`runner ${VERSION}\n`),
  },
  "readme-using": {
    cwd: "tmp", setup: withSite,
    check: ([help, info, check, play]) => {
      expect(help!.stdout).toStartWith("usage: runner COMMAND");
      expect(JSON.parse(info!.stdout).image.IMAGE_NAME).toBe("runner-base");
      expect(check!.stdout).toMatch(/^WARN {2}uid: uid 123456 differs from RUNNER_UID 10001/m);
      expect(check!.stdout).not.toContain("FAIL");
      playbookRan(play!);
    },
  },
  "readme-examples": {
    cwd: "tmp", setup: withSite,
    check: ([hello, play, kubectl, report, greet]) => {
      expect(hello!.stdout).toContain("arg1=<a b>\n");
      playbookRan(play!);
      expect(kubectl!.stdout).toStartWith("Client Version: ");
      expect(report!.stdout).toStartWith(`image:    runner-example-typescript ${VERSION}`);
      expect(greet!.stdout).toBe("hello, runner-example-template (from runner-example-template)\n");
    },
  },

  // docs/CI.md
  "ci-plain": {
    cwd: "tmp", setup: withSite,
    check: ([play, info, check, hello]) => {
      playbookRan(play!);
      expect(JSON.parse(info!.stdout).image.IMAGE_NAME).toBe("runner-example-ansible");
      expect(check!.stdout).not.toContain("FAIL");
      expect(lastLine(hello!.stdout)).toBe("42");
    },
  },

  // docs/IMAGE.md
  "image-openshift": {
    cwd: "tmp",
    check: ([hello, check]) => {
      expect(hello!.stdout).toContain("plugin=hello runner=");
      expect(hello!.stdout).toContain(" uid=1000680000\n");
      expect(check!.stdout).toMatch(/^WARN {2}uid: uid 1000680000 differs from RUNNER_UID 10001/m);
      expect(check!.stdout).not.toContain("FAIL");
    },
  },

  "image-layers": {
    cwd: "repo",
    check: ([layers]) => expect(layers!.stdout + layers!.stderr).toMatch(/runner-base/),
  },

  // docs/PLUGINS.md and the ansible README: the wrapper is the plugin file itself
  "plugins-wrapper": { sameAs: { file: "plugins-examples/ansible/ansible-playbook", ranBy: "test/examples/ansible.test.ts" } },
  "ansible-wrapper": { sameAs: { file: "plugins-examples/ansible/ansible-playbook", ranBy: "test/examples/ansible.test.ts" } },

  // plugins-examples/*/README.md
  "hello-build": { cwd: "repo", timeoutMs: 900_000 },
  "hello-run": { cwd: "tmp", claims: true },
  "ansible-build": { cwd: "repo", timeoutMs: 900_000 },
  "ansible-run": {
    cwd: "repo",
    check: ([, play, version, galaxy]) => {
      playbookRan(play!);
      expect(version!.stdout).toMatch(/^ansible \[core \d+\.\d+\.\d+\]\n/);
      expect(version!.stdout).toContain("executable location = /usr/bin/ansible\n");
      expect(galaxy!.stdout).toMatch(/^ansible-galaxy \[core \d+\.\d+\.\d+\]\n/);
    },
  },
  "kubectl-build": { cwd: "repo", timeoutMs: 900_000 },
  "kubectl-run": { cwd: "tmp", check: ([v]) => expect(v!.stdout).toMatch(/^Client Version: version\.Info\{Major:"1", Minor:"\d+"/) },
  "typescript-build": { cwd: "repo", timeoutMs: 900_000 },
  "typescript-run": {
    cwd: "tmp", claims: true,
    check: ([, json]) => expect(JSON.parse(json!.stdout).image.IMAGE_NAME).toBe("runner-example-typescript"),
  },
  "template-build": {
    cwd: "tmp", setup: templateCopy(false), timeoutMs: 900_000,
    check: ([, greet, check]) => {
      expect(greet!.stdout).toBe("hello, runner-example-template (from runner-example-template)\n");
      expect(check!.stdout).toContain("PASS  plugin:greet: ok\n");
    },
  },
  "template-docker": {
    cwd: "tmp", setup: templateCopy(false), timeoutMs: 900_000, docker: true,
    check: ([, check]) => {
      expect(check!.stdout).toContain("PASS  plugin:greet: ok\n");
    },
  },
  "template-build-ci": {
    cwd: "tmp", setup: templateCopy(true), timeoutMs: 900_000,
    check: (r) => {
      const info = r.at(-1)!.stdout;
      expect(info).toContain("IMAGE_NAME=runner-example-template\n");
      expect(info).toContain("IMAGE_BASE_NAME=runner-base\n");
      expect(info).toContain("IMAGE_CREATED=2026-01-02T03:04:05Z\n");
      expect(info).toMatch(/^\s*IMAGE_REVISION=[0-9a-f]{40}$/m);
      expect(info).toContain("TOOL_GREET_VERSION=1.0.0\n");
    },
  },
};
