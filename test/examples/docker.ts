// Docker for the tests that build or run an image on docker as well
// (test/docs/blocks.test.ts): the private
// daemon of scripts/dockerd.ts (own data root and socket, no bridge, no
// iptables), started here when none answers and stopped by its pid by the
// test that started it; runner-base and runner-sdk copied into it from the
// engine that built them (`podman save | docker load`).
// Where docker cannot run (not root, docker.io missing) dockerAvailable()
// says why, and the tests skip their docker part with that reason, loudly.
import { join } from "node:path";
import { cannotStart, DEFAULT_DIR, dockerClient, dockerEnv, start, stop, answers, type Daemon } from "../../scripts/dockerd.ts";
import { engineEnv as engineEnvFor } from "../../scripts/image.ts";

const DIR = process.env.RUNNER_DOCKERD_DIR || DEFAULT_DIR;
const HOST = `unix://${join(DIR, "docker.sock")}`;

/** null when docker can be used here, else the reason it cannot. */
export function dockerAvailable(): string | null {
  if (answers(HOST)) return null;
  return cannotStart();
}

let daemon: Daemon | null = null;

/** The daemon (started if needed); its client and environment. */
export function docker(): { client: string; env: Record<string, string> } {
  daemon ??= start(DIR);
  return { client: dockerClient()!, env: dockerEnv(daemon.host) };
}

/** Stops the daemon if this process started it (by its pid, scripts/dockerd.ts). */
export function stopDocker(): void {
  if (daemon?.started) stop(daemon.dir);
  daemon = null;
}

/** Runs the docker client; never throws on a non-zero status. */
export async function dockerRun(args: readonly string[], opts: { cwd?: string; timeoutMs?: number } = {}) {
  const { client, env } = docker();
  const p = Bun.spawn([client, ...args], { cwd: opts.cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: opts.timeoutMs ?? 600_000 });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

/**
 * Copies images from podman (which built them) into the docker daemon under
 * the same names, unless docker has them already (scripts/test.sh builds
 * every image on docker too: those are kept).
 */
export async function loadIntoDocker(refs: readonly string[]): Promise<void> {
  const podman = Bun.which("podman");
  if (!podman) return;
  const { client, env } = docker();
  for (const ref of refs) {
    if (Bun.spawnSync([client, "image", "inspect", ref], { env, stdout: "ignore", stderr: "ignore" }).exitCode === 0) continue;
    const save = Bun.spawn([podman, "save", ref], { env: engineEnvFor(podman), stdout: "pipe", stderr: "pipe" });
    const load = Bun.spawn([client, "load"], { env, stdin: save.stdout, stdout: "pipe", stderr: "pipe" });
    const [saved, loaded, err] = await Promise.all([save.exited, load.exited, new Response(load.stderr).text()]);
    if (saved !== 0 || loaded !== 0) throw new Error(`copying ${ref} into docker failed (save ${saved}, load ${loaded}): ${err.trim()}`);
  }
}
