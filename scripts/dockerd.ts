// A private Docker daemon for builds and tests on machines without systemd
// (docs/IMAGE.md, "Docker"). It lives entirely under one folder of ours:
// data root, exec root, pid file and socket; it creates no bridge and no
// iptables chains (--bridge=none --iptables=false), so stopping it leaves
// nothing behind on the host. Containers get no network unless a build asks
// for the host's (--network=host), which is what the Debian-mirror builds need.
//
//   bun scripts/dockerd.ts start [DIR]   start (or reuse) the daemon; prints DOCKER_HOST=…
//   bun scripts/dockerd.ts stop [DIR]    stop it by its pid and wait until it is gone
//   bun scripts/dockerd.ts status [DIR]  exit 0 when it answers
//
// DIR defaults to .cache/dockerd in the repository. The client is Debian's
// /usr/bin/docker with DOCKER_BUILDKIT=1 (the legacy builder refuses
// `COPY --chmod`); see dockerEnv().
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = join(import.meta.dir, "..");
export const DEFAULT_DIR = join(ROOT, ".cache", "dockerd");

/** The docker client with BuildKit: Debian's (a static client on PATH may lack buildx). */
export function dockerClient(): string | null {
  if (existsSync("/usr/bin/docker")) return "/usr/bin/docker";
  return Bun.which("docker");
}

export class DockerdError extends Error {}

export type Daemon = { dir: string; host: string; pid: number; started: boolean };

const socketOf = (dir: string) => join(dir, "docker.sock");
const pidOf = (dir: string): number | null => {
  try { const n = Number(readFileSync(join(dir, "docker.pid"), "utf8").trim()); return Number.isInteger(n) && n > 0 ? n : null; } catch { return null; }
};
/** True while pid runs. A zombie counts as gone: a daemon started by this very process stays one until reaped. */
const alive = (pid: number) => {
  try { process.kill(pid, 0); } catch { return false; }
  try { return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0] !== "Z"; } catch { return false; }
};

/** The environment for a docker client talking to the daemon at host. */
export function dockerEnv(host: string, base: Record<string, string | undefined> = process.env): Record<string, string> {
  return { ...(base as Record<string, string>), DOCKER_HOST: host, DOCKER_BUILDKIT: "1" };
}

/** True when a daemon answers at host. */
export function answers(host: string): boolean {
  const client = dockerClient();
  if (!client) return false;
  const r = Bun.spawnSync([client, "version", "--format", "{{.Server.Version}}"], { env: dockerEnv(host), stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  return r.exitCode === 0;
}

/** Why no private daemon can be started here, or null. */
export function cannotStart(): string | null {
  if (process.getuid?.() !== 0) return "dockerd needs root";
  if (!Bun.which("dockerd") && !existsSync("/usr/sbin/dockerd")) return "dockerd is missing (apt-get install docker.io)";
  if (!dockerClient()) return "the docker client is missing (apt-get install docker.io)";
  return null;
}

/** Starts a daemon in dir, or reuses the one already answering there. Waits until it answers. */
export function start(dir = DEFAULT_DIR, timeoutMs = 60_000): Daemon {
  const host = `unix://${socketOf(dir)}`;
  const running = pidOf(dir);
  if (running !== null && alive(running) && answers(host)) return { dir, host, pid: running, started: false };
  const why = cannotStart();
  if (why) throw new DockerdError(why);
  mkdirSync(join(dir, "root"), { recursive: true });
  mkdirSync(join(dir, "exec"), { recursive: true });
  rmSync(socketOf(dir), { force: true });
  const dockerd = Bun.which("dockerd") ?? "/usr/sbin/dockerd";
  const log = Bun.file(join(dir, "dockerd.log"));
  const proc = Bun.spawn([dockerd, "--data-root", join(dir, "root"), "--exec-root", join(dir, "exec"),
    "--pidfile", join(dir, "docker.pid"), "-H", host, "--bridge=none", "--iptables=false", "--ip-masq=false"], {
    stdin: "ignore", stdout: log, stderr: log,
  });
  proc.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new DockerdError(`dockerd exited with status ${proc.exitCode}; see ${join(dir, "dockerd.log")}`);
    if (existsSync(socketOf(dir)) && answers(host)) return { dir, host, pid: proc.pid, started: true };
    Bun.sleepSync(200);
  }
  proc.kill("SIGTERM");
  throw new DockerdError(`dockerd did not answer within ${timeoutMs / 1000} s; see ${join(dir, "dockerd.log")}`);
}

/** Stops the daemon of dir by its pid (SIGTERM, then SIGKILL after 20 s) and waits for it to go. */
export function stop(dir = DEFAULT_DIR): boolean {
  const pid = pidOf(dir);
  if (pid === null || !alive(pid)) return false;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 200 && alive(pid); i++) Bun.sleepSync(100);
  if (alive(pid)) process.kill(pid, "SIGKILL");
  for (let i = 0; i < 50 && alive(pid); i++) Bun.sleepSync(100);
  rmSync(socketOf(dir), { force: true });
  unmountLeftovers(dir);
  return true;
}

/**
 * dockerd bind-mounts its data root onto itself (and overlay layers below
 * it); a daemon that did not finish its shutdown leaves them mounted. Unmount
 * whatever is still mounted under dir, deepest first.
 */
function unmountLeftovers(dir: string): void {
  let mounts: string[];
  try { mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? ""); } catch { return; }
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  for (const m of mounts.filter((m) => m === dir || m.startsWith(prefix)).sort((a, b) => b.length - a.length)) {
    Bun.spawnSync(["umount", m], { stdout: "ignore", stderr: "ignore" });
  }
}

if (import.meta.main) {
  const [verb, dirArg] = process.argv.slice(2);
  const dir = resolve(dirArg ?? DEFAULT_DIR); // DOCKER_HOST needs an absolute socket path
  let code = 0;
  try {
    if (verb === "start") {
      const d = start(dir);
      console.error(`dockerd: ${d.started ? "started" : "already running"}, pid ${d.pid}`);
      console.log(`DOCKER_HOST=${d.host}`);
    } else if (verb === "stop") {
      console.error(stop(dir) ? "dockerd: stopped" : "dockerd: not running");
    } else if (verb === "status") {
      code = answers(`unix://${socketOf(dir)}`) ? 0 : 1;
    } else {
      console.error("dockerd: usage: bun scripts/dockerd.ts start|stop|status [DIR]");
      code = 64;
    }
  } catch (e) {
    console.error(`dockerd: ${(e as Error).message.split("\n")[0]}`);
    code = 1;
  }
  process.exit(code);
}
