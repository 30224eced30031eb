// Multi-platform builds (docs/IMAGE.md, C-MULTIARCH-1): what RUNNER_PLATFORMS
// asks for, the per-platform tags, and the manifest list that names them
// together. Shared by scripts/image.ts, scripts/examples.ts and the tests.
//
// RUNNER_PLATFORMS=linux/amd64,linux/arm64 builds every image once per
// platform, tagged TAG-ARCH (localhost/runner-base:VERSION-arm64), and makes
// TAG (and its :latest) a manifest list of them. Unset: the build machine's
// platform only, plain images, as before. Multi-platform needs podman
// (`podman manifest`); docker builds the build machine's platform only.
import { decode, enable, encode, hostArch, restore, type Change } from "./binfmt.ts";

export { hostArch };
export const SUPPORTED = ["linux/amd64", "linux/arm64"] as const;

export class PlatformError extends Error {}

export type Platforms = {
  /** OCI architectures to build, the build machine's first when it is asked for */
  arches: string[];
  /** true: per-platform tags and manifest lists; false: one plain image, as without RUNNER_PLATFORMS */
  multi: boolean;
};

/** Parses RUNNER_PLATFORMS (comma-separated, e.g. linux/amd64,linux/arm64). */
export function parsePlatforms(value: string | undefined, host = hostArch()): Platforms {
  const list = (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) return { arches: [host], multi: false };
  const arches: string[] = [];
  for (const p of list) {
    if (!(SUPPORTED as readonly string[]).includes(p)) throw new PlatformError(`RUNNER_PLATFORMS: unsupported platform '${p}' (${SUPPORTED.join(", ")})`);
    const arch = p.slice("linux/".length);
    if (!arches.includes(arch)) arches.push(arch);
  }
  arches.sort((a, b) => (a === host ? -1 : b === host ? 1 : 0));
  return { arches, multi: arches.length > 1 || arches[0] !== host };
}

/** RUNNER_PLATFORMS for this engine; multi-platform only with podman. */
export function targetPlatforms(engine: string): Platforms {
  const p = parsePlatforms(process.env.RUNNER_PLATFORMS);
  if (p.multi && !engine.endsWith("podman")) {
    throw new PlatformError(`RUNNER_PLATFORMS=${process.env.RUNNER_PLATFORMS}: multi-platform builds need podman (docker builds the build machine's platform only)`);
  }
  return p;
}

/** The tag of one platform's image: localhost/runner-base:1.2.3 → localhost/runner-base:1.2.3-arm64. */
export const archTag = (tag: string, arch: string): string => `${tag}-${arch}`;

type Env = Record<string, string>;
function run(engine: string, env: Env, args: string[]): { code: number; out: string } {
  const r = Bun.spawnSync([engine, ...args], { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  return { code: r.exitCode ?? 1, out: `${r.stdout.toString()}${r.stderr.toString()}`.trim() };
}

/** The architecture an image in the local store is for, or null. */
export function imageArch(engine: string, env: Env, ref: string): string | null {
  const r = run(engine, env, ["image", "inspect", "--format", "{{.Architecture}}", ref]);
  return r.code === 0 ? r.out : null;
}

/** The platforms ("linux/arm64") of a manifest list in the local store, or null when REF is none. */
export function listPlatforms(engine: string, env: Env, ref: string): string[] | null {
  const r = run(engine, env, ["manifest", "inspect", ref]);
  if (r.code !== 0) return null;
  try {
    const m = JSON.parse(r.out) as { manifests?: Array<{ platform?: { os?: string; architecture?: string } }> };
    return (m.manifests ?? []).map((x) => `${x.platform?.os}/${x.platform?.architecture}`);
  } catch {
    return null;
  }
}

/** Makes LIST (replacing an image or list of that name) a manifest list of MEMBERS (local images). */
export function manifestList(engine: string, env: Env, list: string, members: string[]): void {
  if (run(engine, env, ["manifest", "rm", list]).code !== 0) run(engine, env, ["untag", list, list]);
  const c = run(engine, env, ["manifest", "create", list]);
  if (c.code !== 0) throw new PlatformError(`${engine} manifest create ${list} failed: ${c.out.split("\n").pop()}`);
  for (const m of members) {
    const a = run(engine, env, ["manifest", "add", list, `containers-storage:${m}`]);
    if (a.code !== 0) throw new PlatformError(`${engine} manifest add ${list} ${m} failed: ${a.out.split("\n").pop()}`);
  }
}

/** Runs fn with every foreign architecture of ARCHES emulated (binfmt), then undoes what it turned on. */
export function withEmulation<T>(arches: string[], fn: () => T): T {
  const changes: Change[] = [];
  try {
    for (const arch of arches) if (arch !== hostArch()) changes.push(enable(arch));
    return fn();
  } finally {
    for (const c of changes.reverse()) restore(decode(encode(c)));
  }
}
